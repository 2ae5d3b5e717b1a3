/* copy: files into and out of a container's tree as tar archives (reg cp),
 * and the changes of its upper layer (reg diff).
 *
 * Every path inside the container is resolved with openat2 below the
 * container's root fd (RESOLVE_BENEATH, no magic links): a path whose ".."
 * or whose symlink (absolute, or climbing above the root) would leave the
 * tree is refused with EXDEV and a message saying so, never followed onto
 * the host. Below that point the walk and the extraction use *at() calls
 * with O_NOFOLLOW only: a symlink inside a copied tree is copied as a
 * symlink, and an archive entry is never written through one. */
#ifndef REG_COPY_H
#define REG_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Where `path` (absolute, in the container) is: its parent directory
 * (*parent_fd, O_PATH) and its last component (*name, allocated; "." for
 * "/"). The last component itself is not followed (cp copies a symlink as
 * a symlink). ENOENT when the parent or the entry does not exist. */
int reg_copy_resolve (int root_fd, const char *path, int *parent_fd, char **name,
                      struct reg_error **err);

/* Write parent_fd/name and everything below it as a tar archive whose top
 * entry is `top`, through fn (which returns -1 to stop). /proc and /sys
 * contents are not descended into. */
typedef int (*reg_copy_write_fn) (void *data, const void *buf, size_t len);
int reg_copy_tar (int parent_fd, const char *name, const char *top, reg_copy_write_fn fn,
                  void *data, struct reg_error **err);

/* Extract the tar archive buf/len into `path` of the tree (Docker's rule:
 * into path when it is a directory, else into its parent with the
 * archive's top entry renamed to path's last component). An entry that is
 * absolute or has ".." is refused, and so is one whose parent is a
 * symlink. Files are created owned by root, with the archive's mode bits
 * (no set-ID) and mtime. */
int reg_copy_untar (int root_fd, const char *path, const void *buf, size_t len,
                    struct reg_error **err);
/* The same into the directory dest_fd, renaming the top entry to
 * rename_to unless NULL (reg cp's client side, on the host). */
int reg_copy_untar_at (int dest_fd, const char *rename_to, const void *buf, size_t len,
                       struct reg_error **err);

/* The changes in an overlay upper directory against its lower one, as
 * Docker's diff: {"Path", "Kind": 0 changed, 1 added, 2 deleted}, sorted
 * by path; `hide` lists paths to leave out (mount points the runtime made). */
struct json_t;
int reg_copy_changes (const char *upper, const char *lower, char *const *hide, struct json_t **out,
                      struct reg_error **err);

#endif
