/* elfdeps: the shared-library closure of ELF files, as the dynamic loader would
 * find it, using libelf (no hand-written ELF parsing).
 *
 * For every ELF file added, it follows PT_INTERP and DT_NEEDED recursively.
 * A DT_NEEDED name is searched like ld.so does: a name with '/' is a path;
 * else DT_RPATH of the object (only when it has no DT_RUNPATH) and of the
 * executable that loaded it, DT_RUNPATH of the object, /etc/ld.so.cache,
 * then the default directories. $ORIGIN, $LIB and $PLATFORM are expanded.
 * Candidates of another ELF class or machine are skipped, as ld.so does.
 * glibc's libc.so.6 also brings libgcc_s.so.1 when it is found the same way:
 * glibc dlopen()s it in pthread_exit and pthread_cancel and aborts without it
 * ("libgcc_s.so.1 must be installed for pthread_exit to work"); where it is
 * absent, that is not an error.
 *
 * Each library is reported once, by soname, as name@soversion
 * ("libc.so.6" -> "libc@6", "libpython3.11.so.1.0" -> "libpython3.11@1.0"),
 * with the host file to import (symlinks resolved) and the container path to
 * place it at: the canonical directory where it was found plus the soname,
 * or, for the interpreter, the PT_INTERP path verbatim.
 *
 * `sysroot` ("" for the host) prefixes every host path it opens, so tests can
 * run against a fake tree. Never executes anything.
 */
#ifndef REG_ELFDEPS_H
#define REG_ELFDEPS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct reg_elf_dep
{
  char *name;           /* "libc@6" */
  char *host_path;      /* real file to import, without the sysroot prefix */
  char *container_path; /* where it goes in the container */
  bool exec;            /* host file has an execute bit */
};

struct reg_elf_resolver;

int reg_elfdeps_resolver_new (const char *sysroot, struct reg_elf_resolver **out,
                              struct reg_error **err);
void reg_elfdeps_resolver_free (struct reg_elf_resolver *r);

/* Is the file at path (sysroot-relative) an ELF file? */
bool reg_elfdeps_is_elf (struct reg_elf_resolver *r, const char *path);

/* Add an ELF file to analyse. Non-ELF files are ignored (returns 0).
 * A DT_NEEDED that cannot be found is an error naming the file and the lib. */
int reg_elfdeps_add (struct reg_elf_resolver *r, const char *host_path, struct reg_error **err);

/* The closure of everything added so far, sorted by name. The array and its
 * strings belong to the resolver. */
const struct reg_elf_dep *reg_elfdeps_closure (struct reg_elf_resolver *r, size_t *n);

/* "libc.so.6" -> "libc@6"; allocated. */
char *reg_elfdeps_soname_to_lib (const char *soname);

#endif
