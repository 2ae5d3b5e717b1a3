/* envgen: runtime environment generation. Materialises a closure as a tree
 * of hard links to store objects under <root>/envs/<closure-digest>/, once;
 * every container with that closure shares it read-only as its OverlayFS
 * lower layer.
 *
 * Atomic and race-safe: the tree is built in envs/.gen-<digest>-XXXXXX and
 * renamed into place; when two generators race, the loser's rename fails
 * (the target exists and is not empty), it removes its copy and uses the
 * winner's. An existing envs/<digest> is trusted: it only ever appears by
 * rename of a complete tree.
 *
 * Every environment also has the skeleton directories a container needs as
 * mount points: /proc /dev /sys /tmp /app /etc /root /run, and /etc/passwd
 * and /etc/group made from the closure's accounts (accounts.h) unless a
 * template provides them. A template
 * cannot put anything else at those paths, nor anything below the mount
 * points that cover what is there (/proc, /dev, /sys): reg_envgen_skeleton_clash
 * says why, and templates are refused on it when they are made or added, so
 * generation never meets such a clash.
 */
#ifndef REG_ENVGEN_H
#define REG_ENVGEN_H

#include <stdbool.h>

#include "closure.h"
#include "error.h"
#include "store.h"

/* Why an entry at `path` (a directory entry when is_dir) cannot be in an
 * environment, or NULL when it can. A static string. */
const char *reg_envgen_skeleton_clash (const char *path, bool is_dir);

/* Path of the generated environment (allocated) in *out_path. */
int reg_envgen_generate (const struct reg_store *store, const struct reg_closure *c,
                         char **out_path, struct reg_error **err);

#endif
