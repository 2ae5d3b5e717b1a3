/* layer: OCI and Docker image layers applied, in order, into a tree of
 * template entries (docs/images.md).
 *
 * A tree maps clean container paths to what a RET file can say: a regular
 * file (a content digest, executable or not), a symlink, a directory with
 * its mode and owner. Applying a layer (tar, gzip or zstd, libarchive) adds
 * and replaces entries as the OCI image spec says: ".wh.NAME" removes NAME
 * and everything below it from the layers underneath, ".wh..wh..opq" empties
 * its directory of what the layers underneath put there, a hard link gives
 * its target's content, a directory over a directory keeps the children.
 * Regular files are hashed as they are read and written to `objects_dir` as
 * "<64 hex>", the staged content the store takes later: nothing enters the
 * store here.
 *
 * A layer is hostile input. Refused, naming the entry: device nodes, FIFOs
 * and sockets; ".." components; a path through a symlink or a regular file
 * of the tree (a symlink chain out of the root is then impossible: the tree
 * is never a real directory, and symlinks resolve inside the container); a
 * hard link to nothing or to a non-file; a symlink target that is empty,
 * multi-line or over 4095 bytes; a whiteout of the root; more entries or
 * bytes than the limits. A regular file keeps its mode (set-ID and sticky
 * bits included), numeric owner and security.capability: when they are not
 * the default ones its value is a store variant name "HEX+MODE-UID-GID[-CAP]"
 * (store.h, RET format 4), else HEX as before; directories keep mode and
 * owner ("MODE UID:GID"). What a template cannot carry is reported, not
 * silently kept: the owners of symlinks and every other extended attribute
 * (SELinux labels are the host's policy, trusted.* belongs to overlayfs and
 * the host, user.* has no place in an object's name) are counted in
 * `dropped`.
 * Entries at or below /proc, /dev and /sys are the container's own mounts
 * (Docker's too) and are not recorded: directories silently, anything else
 * (a debootstrap tree's /dev/null, /dev/stdin -> /proc/self/fd/0) counted
 * in `dropped.hidden`; a device node anywhere else is refused.
 */
#ifndef REG_LAYER_H
#define REG_LAYER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "error.h"
#include "template.h"

struct reg_layer_tree;

struct reg_layer_dropped
{
  size_t owners; /* non-root owners of symlinks */
  size_t xattrs; /* entries with extended attributes other than a file's security.capability */
  size_t hidden; /* entries below /proc, /dev, /sys: the container's own mounts hide them */
  char example[256];
};

int reg_layer_tree_new (struct reg_layer_tree **out, struct reg_error **err);
void reg_layer_tree_free (struct reg_layer_tree *t);

/* Apply the layer archive at path; limits bound this layer's entries and
 * bytes. On failure the tree is unusable (the caller discards it) and the
 * object files this call wrote may remain in objects_dir (staging). With
 * `ops`, *ops gets the layer's entries as applied, a JSON list that
 * reg_layer_replay applies again without the archive: a layer already
 * imported, whose objects are in the store, need not be fetched again. */
int reg_layer_apply (struct reg_layer_tree *t, const char *path, const char *objects_dir,
                     const struct reg_bundle_limits *limits, json_t **ops, struct reg_error **err);
/* Apply a recorded layer (checked as strictly as a tar: clean paths, known
 * kinds, content digests well-formed). Its objects are not staged: they are
 * the store's. */
int reg_layer_replay (struct reg_layer_tree *t, json_t *ops, struct reg_error **err);

/* The tree as `files` entries, sorted by path: files and executables (value
 * the digest hex), symlinks, and every directory ("dir" when it is root's
 * 0755, else "MODE UID:GID"); *format2 tells whether any needs format 2. */
int reg_layer_tree_entries (const struct reg_layer_tree *t, struct reg_entry **files, size_t *n,
                            bool *format2, struct reg_error **err);
/* A regular file's template value (into *out, allocated): HEX when mode,
 * owner and cap (revision-2 security.capability as hex, or NULL) are the
 * default ones, else the variant name HEX+MODE-UID-GID[-CAP]. -1 when the
 * owner or cap is malformed (or out of memory). A recorded layer's
 * presence check (transfer.c) names its objects through it too. */
int reg_layer_file_value (const char *hex, unsigned mode, unsigned uid, unsigned gid,
                          const char *cap, char **out);
const struct reg_layer_dropped *reg_layer_tree_dropped (const struct reg_layer_tree *t);
size_t reg_layer_tree_size (const struct reg_layer_tree *t);

#endif
