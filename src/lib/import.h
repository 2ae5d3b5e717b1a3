/* import: create a template from host files (`reg template create`).
 *
 * Every PATH is imported at the same path in the container: regular files
 * into the store (the exec variant when any x bit is set), symlinks as
 * symlinks plus the regular file they point at, directories recursively
 * (files, symlinks, empty directories; never following a symlink). Then the
 * ELF dependency closure of every imported ELF file — executables and the
 * modules inside imported directories alike — is added as `libs`.
 *
 * A path met while walking `paths` that matches an `exclude` pattern is left
 * out (a directory with everything below it); an excluded path named
 * directly is an error. `dirs` are added as empty directories.
 * Traced paths (`traced`) are taken as found: one the host lacks is
 * skipped, and so are pseudo-filesystems (/proc, /sys, /dev), what the
 * engine makes itself (the skeleton, /etc/passwd and /etc/group, /etc/hosts,
 * /etc/hostname, /etc/resolv.conf), the loader's cache and preload list
 * (the ELF closure places every library) and excluded paths.
 * Accounts named with `users` and `groups` are copied from the host's
 * passwd and group files (accounts.h). Every named path and account is
 * checked to exist before anything is stored. On any
 * failure the objects this import added are taken out of the store again,
 * so a failed import changes nothing. On success *added lists them ("hex"
 * or "hex+x"), so the caller can undo the import with reg_import_undo when
 * saving the template fails. Imports must be serialised (the engine's
 * import lock): the undo relies on no other template naming a new object.
 * The same inputs give the same template digest.
 *
 * Secrets: store objects are 0444 and every container of the template, as
 * any user, reads them. A well-known secret file (/etc/shadow, SSH host and
 * user keys, /etc/ssl/private, .netrc, cloud credentials, ...: see
 * import.c) is refused unless allow_secret_files. A file other users of the
 * host may not read (no read bit for others) is imported with a warning,
 * appended to *warnings when given.
 */
#ifndef REG_IMPORT_H
#define REG_IMPORT_H

#include <stdbool.h>

#include "error.h"
#include "store.h"
#include "template.h"
#include "trace.h"

struct reg_import_options
{
  const char *name;
  const char *version;
  char *const *paths;     /* absolute host paths */
  char *const *requires;  /* "name@version", may be NULL */
  char *const *env;       /* "KEY=VALUE", may be NULL */
  const char *entrypoint; /* container path, optional */
  int stop_signal;        /* 0: none */
  char *const *users;  /* host account names, may be NULL: their passwd lines and primary groups */
  char *const *groups; /* host group names, may be NULL */
  const char *passwd_file, *group_file; /* where to look them up; NULL: /etc/passwd, /etc/group */
  char *const *argv;    /* the whole entrypoint (argv[0] == entrypoint), may be NULL */
  char *const *exclude; /* fnmatch patterns ('*' matches '/' too): host paths left out */
  char *const *dirs;    /* empty directories to add (container paths) */
  char *const *expose;  /* "PORT/tcp|udp", recorded in the template */
  /* From a trace (trace.h): host paths the command used, imported when they
   * exist as files or symlinks to files (directories as empty directories),
   * and paths it wrote, whose directories are added. No need for `paths`. */
  char *const *traced, *const *traced_written;
  /* Set: the engine runs this trace first and fills traced/traced_written
   * (reg_engine_template_create); the import never runs anything. */
  const struct reg_trace_options *trace;
  bool allow_secret_files;
  char ***warnings; /* where to append warnings (a strv); NULL: none kept */
};

int reg_import_template (struct reg_store *store, const struct reg_import_options *opts,
                         struct reg_template **out, char ***added, struct reg_error **err);
/* Remove the objects listed in `added` from the store, and free the list. */
void reg_import_undo (struct reg_store *store, char **added);

#endif
