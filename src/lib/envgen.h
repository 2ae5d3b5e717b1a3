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
 *
 * Layered environments. A closure made of one template and the closure of
 * what it requires (an app on its base) can instead be generated as a
 * small tree of the app's own entries over the base's full environment:
 * envs/<digest>/layer, and envs/<digest>/base -> ../<base digest> (root.h
 * reads which form an environment has; the runtime mounts layer:base as
 * the overlay's lower layers). The merged view is the full environment's:
 * the layer holds every entry of the closure that the base's closure lacks
 * (or has otherwise), /etc/passwd and /etc/group when the accounts differ,
 * and each directory on the way with the base's mode and owner (a
 * directory in an upper layer hides the attributes of the one below).
 * Where the two trees would not merge into the full one (a file of the
 * layer where the base has a directory, a directory where it has a file
 * or a symlink), the full environment is generated instead. A new app
 * version then costs a tree of its own files, not of its whole closure.
 *
 * Garbage collection keeps the base of every used layered environment
 * (gc.h reads the link). A generation's rename into place and its check
 * that the base is still there are made under `lock`, the lock a prune
 * holds while it decides which environments are unused: a base pruned
 * before is generated again, one pruned after cannot be.
 */
#ifndef REG_ENVGEN_H
#define REG_ENVGEN_H

#include <pthread.h>
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

/* The environment of `c` layered over the full environment of `base` (the
 * closure of what c's one template requires), generated as needed; the
 * full environment of `c` when they would not merge, or when an
 * environment of base or of c already exists in another form (an
 * existing envs/<digest> is used as it is, whichever form). Path in
 * *out_path. */
int reg_envgen_generate_layered (const struct reg_store *store, const struct reg_closure *c,
                                 const struct reg_closure *base, pthread_mutex_t *lock,
                                 char **out_path, struct reg_error **err);

/* A private full tree of `c` under envs/.gen-*, for a reader that walks
 * the files (an image export) when envs/<digest> is layered; the caller
 * removes it (reg_util_rm_rf). */
int reg_envgen_build_private (const struct reg_store *store, const struct reg_closure *c,
                              char **out_path, struct reg_error **err);

#endif
