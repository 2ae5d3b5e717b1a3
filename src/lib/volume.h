/* volume: named volumes, directories that outlive containers.
 *
 * A volume NAME is <root>/volumes/NAME/ holding volume.json ({"Name",
 * "CreatedAt"}) and _data/, the directory containers bind. A volume appears
 * whole or not at all: it is built as volumes/.new-NAME-XXXXXX and renamed
 * into place; removal renames it to volumes/.removing-NAME-XXXXXX first, so
 * a crash never leaves a half volume under its name (reg_volume_sweep takes
 * both kinds away).
 *
 * This module knows nothing of containers: whether a volume is in use is
 * the engine's question (engine.h), asked under the engine lock. */
#ifndef REG_VOLUME_H
#define REG_VOLUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct json_t;

/* Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64 characters. */
bool reg_volume_name_ok (const char *name);

/* <root>/volumes/NAME/_data; allocated. */
char *reg_volume_data_path (const char *root, const char *name);

/* Create NAME. An existing volume is EEXIST unless exist_ok (then 0, and
 * *created, when given, says whether this call made it). */
int reg_volume_create (const char *root, const char *name, bool exist_ok, bool *created,
                       struct reg_error **err);
/* {"Name", "Driver": "local", "Mountpoint", "CreatedAt", "Scope": "local"};
 * ENOENT when there is no such volume. */
int reg_volume_inspect (const char *root, const char *name, struct json_t **out,
                        struct reg_error **err);
/* Names of every volume, sorted (allocated strv). */
int reg_volume_list (const char *root, char ***names, struct reg_error **err);
/* Remove NAME and its data (the caller checked it is unused). *bytes, when
 * given, gets the space its files took. */
int reg_volume_remove (const char *root, const char *name, uint64_t *bytes, struct reg_error **err);
/* Docker's initialisation of a volume from its image: when NAME's data
 * directory is empty, copy the trees of the directories src[0..n_src-1]
 * into it, each over the ones before (a later entry replaces an earlier
 * file or symlink; directories merge: the two trees of a layered
 * environment, base first), what naming them in messages; modes, owners,
 * mtimes and security.capability kept, root's 0444/0555 files (the
 * store's fold of 0644/0755) given the owner's write bit, hard links never
 * kept, and the data directory given the last source's owner and mode.
 * *copied says whether it copied (a volume with anything in it is left
 * alone). A failed copy leaves the data directory empty again. */
int reg_volume_fill (const char *root, const char *name, const int *src, size_t n_src,
                     const char *what, bool *copied, struct reg_error **err);
/* Take away volumes/.new-* and .removing-* left by a crash. */
int reg_volume_sweep (const char *root, struct reg_error **err);

#endif
