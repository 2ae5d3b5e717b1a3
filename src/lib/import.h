/* import: create a template from host files (`reg template create`).
 *
 * Every PATH is imported at the same path in the container: regular files
 * into the store (the exec variant when any x bit is set), symlinks as
 * symlinks plus the regular file they point at, directories recursively
 * (files, symlinks, empty directories; never following a symlink). Then the
 * ELF dependency closure of every imported ELF file — executables and the
 * modules inside imported directories alike — is added as `libs`.
 *
 * The result is validated and saved like any RET file; on failure nothing is
 * saved (objects already put stay in the store, unreferenced, for a later
 * prune). The same inputs give the same template digest.
 */
#ifndef REG_IMPORT_H
#define REG_IMPORT_H

#include "error.h"
#include "store.h"
#include "template.h"

struct reg_import_options
{
  const char *name;
  const char *version;
  char *const *paths;    /* absolute host paths */
  char *const *requires; /* "name@version", may be NULL */
  char *const *env;      /* "KEY=VALUE", may be NULL */
  const char *entrypoint; /* container path, optional */
};

int reg_import_template (struct reg_store *store, const struct reg_import_options *opts,
                         struct reg_template **out, struct reg_error **err);

#endif
