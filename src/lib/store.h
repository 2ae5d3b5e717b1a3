/* store: the content-addressed object store.
 *
 * Owns <root>/store/objects/sha256/<aa>/<62 hex>[.x]. An object is a file's
 * content keyed by its SHA-256, in root-only (0700) directories. Objects are
 * immutable. Writes are atomic (a temp name in store/tmp, then rename);
 * putting the same content twice stores it once and returns the same digest.
 * The store never deletes an object on its own: reg_store_unput (the undo
 * of a failed import) and garbage collection (gc.h, through the engine's
 * prune, which unlinks what no template names) are the only deletions.
 *
 * An object is one of two things:
 *   - a copy: written by the store in 64 KB pieces (so its page cache is in
 *     small folios: a process that maps it maps what it touches, as for
 *     any other file; store.c), fsync'ed, mode 0444 (0555 for the ".x"
 *     executable variant: hard links share one inode and so one mode),
 *     with the modification time of the file it was first made from
 *     (reg_store_put_file). Python validates a .pyc by its source's mtime
 *     and size: with the copy's own time, every container recompiled every
 *     module it imported and wrote new .pyc files into its upper layer.
 *     Identical contents with different times share the first one's (an
 *     empty __init__.py of another package then recompiles: nothing);
 *   - the host's own file, hard-linked (reg_store_put_file, only when
 *     `link_host` is set: regd --link-host-files): when the file is on the
 *     store's filesystem, owned by root, writable by nobody else, readable
 *     by all, not set-ID, and its execute bits match the variant (all three
 *     or none). Then a container's libc is the very inode the host's
 *     processes map: one copy on disk and in the page cache for the host and
 *     every container. The file is linked through the descriptor that was
 *     hashed (linkat AT_EMPTY_PATH), and only if it did not change while it
 *     was hashed, so the object is what was hashed. Package managers replace
 *     files by rename, which leaves the object intact; an in-place write to
 *     such a host file (cp onto it) changes the object too, which `reg store
 *     verify` reports. Off by default: sharing an inode with the host also
 *     shares its kernel locks, and a fork bomb in a container convoys on
 *     libc's i_mmap lock (docs/security.md), which would then stall the
 *     host's own process starts, not only other containers'.
 *
 * Hard links from envs/ into the store need one filesystem: reg_store_open
 * checks that <root>/envs and the store share st_dev.
 */
#ifndef REG_STORE_H
#define REG_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct reg_store
{
  char *root;        /* the engine root, e.g. /var/lib/reg */
  char *objects_dir; /* <root>/store/objects/sha256 */
  char *tmp_dir;     /* <root>/store/tmp */
  dev_t dev;         /* the store's filesystem */
  bool link_host;    /* hard-link qualifying host files (see above) */
};

int reg_store_open (const char *root, struct reg_store **out, struct reg_error **err);
void reg_store_free (struct reg_store *store);

/* Import the regular file at host_path: hard-linked when link_host is set
 * and it qualifies (see above), else copied. `exec` selects the executable variant. *created (may
 * be NULL) tells whether this call added the object, so a failed import can take back exactly what
 * it added (reg_store_unput). */
int reg_store_put_file (struct reg_store *store, const char *host_path, bool exec, char digest[65],
                        bool *created, struct reg_error **err);
int reg_store_put_bytes (struct reg_store *store, const void *data, size_t len, bool exec,
                         char digest[65], bool *created, struct reg_error **err);
/* Remove an object this process just added and nothing references yet: the
 * undo of a failed import. The caller guarantees no template names it
 * (imports are serialised by the engine). The only deletion in the store. */
int reg_store_unput (struct reg_store *store, const char *digest, bool exec);

/* Path of an object (allocated); does not check it exists. */
char *reg_store_object_path (const struct reg_store *store, const char *digest, bool exec);
bool reg_store_has (const struct reg_store *store, const char *digest, bool exec);

/* SHA-256 of a file's content, hex. */
int reg_store_hash_file (const char *path, char digest[65], struct reg_error **err);

struct reg_store_stats
{
  uint64_t objects;
  uint64_t bytes; /* unique bytes: each object counted once */
};
int reg_store_stats (const struct reg_store *store, struct reg_store_stats *out,
                     struct reg_error **err);

/* Call fn for every object file: its path, digest (from its name), variant
 * and lstat. A non-zero return stops the walk and is returned. */
struct stat;
typedef int (*reg_store_object_fn) (const char *path, const char *digest, bool exec,
                                    const struct stat *st, void *data, struct reg_error **err);
int reg_store_walk (const struct reg_store *store, reg_store_object_fn fn, void *data,
                    struct reg_error **err);

/* Re-hash every object; call `corrupt` for each whose content does not match
 * its name. Returns the number of corrupt objects (>= 0) or -1 on error. */
typedef void (*reg_store_corrupt_fn) (const char *object_path, const char *actual_digest,
                                      void *data);
int reg_store_verify (const struct reg_store *store, reg_store_corrupt_fn corrupt, void *data,
                      uint64_t *checked, struct reg_error **err);

#endif
