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
 * Object names and variants. One content can be several objects, because
 * hard links share one inode and so one mode, owner and set of extended
 * attributes. An object is named by its digest and its variant:
 *   "HEX"                  <aa>/<62 hex>        0444, root's
 *   "HEX+x"                <aa>/<62 hex>.x      0555, root's (executable)
 *   "HEX+MODE-UID-GID[-CAP]"  <aa>/<62 hex>.MODE-UID-GID[-CAP]  (RET format 4)
 *                          exactly that mode (four octal digits, set-ID and
 *                          sticky bits included), numeric owner, and CAP,
 *                          the security.capability attribute (a VFS_CAP
 *                          revision-2 value, 40 lower-case hex digits), or
 *                          no such attribute. Only files whose attributes
 *                          are not the default (root's, no set-ID bits, no
 *                          capability, read bits for all and execute bits
 *                          for all or none) are attribute variants: sharing
 *                          one inode per content holds for nearly all files.
 * A template entry's value (template.h) is HEX or such a variant name; the
 * functions below taking `digest` take either, and `exec` only matters for
 * a bare HEX. Verification checks a variant's mode, owner and attribute
 * against its name as it checks content against the digest.
 *
 * Hard links from envs/ into the store need one filesystem: reg_store_open
 * checks that <root>/envs and the store share st_dev.
 */
#ifndef REG_STORE_H
#define REG_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
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

/* Path of an object (allocated); does not check it exists. digest is HEX
 * (exec chooses the variant) or a variant name "HEX+..." (exec ignored). */
char *reg_store_object_path (const struct reg_store *store, const char *digest, bool exec);
bool reg_store_has (const struct reg_store *store, const char *digest, bool exec);

/* The attributes of a variant "MODE-UID-GID[-CAP]". */
struct reg_store_attrs
{
  unsigned mode; /* 07777 bits */
  unsigned uid, gid;
  bool has_cap;
  unsigned char cap[20]; /* security.capability, VFS_CAP revision 2 */
};
#define REG_STORE_CAP_SIZE 20
/* Parse "MODE-UID-GID[-CAP]"; false when malformed or when the attributes
 * are the default ones (those have no variant of their own: see above). */
bool reg_store_attrs_parse (const char *attrs, struct reg_store_attrs *out);
/* The variant name's suffix for `a` ("4755-0-0"), or NULL (allocation
 * failed, or a's attributes are the default ones: no variant). */
char *reg_store_attrs_format (const struct reg_store_attrs *a);
/* Split an object name into its digest and variant ("", "x" or the
 * attributes); false when it is no well-formed name. */
bool reg_store_name_split (const char *name, char hex[65], const char **variant);
/* The object name of a template entry's value: the value itself when it
 * names a variant, else HEX or HEX+x. Allocated. */
char *reg_store_name (const char *value, bool exec);
/* Make the object `name` from the file at src_path (a staged copy, another
 * variant of the same content): its content must hash to the name's
 * digest; the object gets the variant's mode, owner and capability, and
 * src_path's mtime. *created as for reg_store_put_file. */
int reg_store_put_named (struct reg_store *store, const char *src_path, const char *name,
                         bool *created, struct reg_error **err);

/* With link_host (regd --link-host-files) only: make the object `name`
 * (HEX or HEX+x; an attribute variant never) the host's own file at
 * host_path, under the same rules as reg_store_put_file's link (on the
 * store's filesystem, root's, writable by nobody else, readable by all,
 * not set-ID, execute bits matching; linked through the descriptor that
 * was hashed, only if unchanged while hashed) and only when it has the
 * size and the mtime (seconds) of `want` (the image's file: Python checks
 * a .pyc against its source's mtime, so another time would make every
 * container recompile) and its content hashes to the name's digest. An
 * image's file that is byte for byte the host's file at the same path then
 * costs no bytes and shares the host's page cache. 1 when the object is
 * there (linked, or already present), 0 when the host file does not
 * qualify (the caller stores its own copy), -1 on error. */
int reg_store_put_host (struct reg_store *store, const char *host_path, const char *name,
                        const struct stat *want, bool *created, struct reg_error **err);

/* SHA-256 of a file's content, hex. */
int reg_store_hash_file (const char *path, char digest[65], struct reg_error **err);

struct reg_store_stats
{
  uint64_t objects;
  uint64_t bytes; /* unique bytes: each object counted once */
};
int reg_store_stats (const struct reg_store *store, struct reg_store_stats *out,
                     struct reg_error **err);

/* Call fn for every object file: its path, object name ("HEX", "HEX+x",
 * "HEX+MODE-UID-GID[-CAP]", from its file name) and lstat. A non-zero
 * return stops the walk and is returned. */
struct stat;
typedef int (*reg_store_object_fn) (const char *path, const char *name, const struct stat *st,
                                    void *data, struct reg_error **err);
int reg_store_walk (const struct reg_store *store, reg_store_object_fn fn, void *data,
                    struct reg_error **err);

/* Re-hash every object; call `corrupt` for each whose content does not match
 * its name, or (a variant) whose mode, owner or capability does not. Returns the number of corrupt
 * objects (>= 0) or -1 on error. */
typedef void (*reg_store_corrupt_fn) (const char *object_path, const char *actual_digest,
                                      void *data);
int reg_store_verify (const struct reg_store *store, reg_store_corrupt_fn corrupt, void *data,
                      uint64_t *checked, struct reg_error **err);

#endif
