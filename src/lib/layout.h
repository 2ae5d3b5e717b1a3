/* layout: an OCI image-layout directory (oci-layout, index.json,
 * blobs/sha256/<hex>) as the embedded registry: no server, and a directory
 * on a USB stick or NFS share carries templates between machines.
 *
 * Default <root>/layout; `--layout DIR` chooses another. Tags are index.json
 * entries annotated org.opencontainers.image.ref.name = "REPO:TAG", so one
 * layout holds many repositories and skopeo's oci: transport reads them.
 * Every write is atomic (temp file + rename); index.json updates are
 * serialised with a lock file, so concurrent engines sharing a layout do not
 * lose tags. Blobs are verified against their digest when read.
 */
#ifndef REG_LAYOUT_H
#define REG_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct reg_layout
{
  char *dir;
  char *blobs; /* DIR/blobs/sha256 */
};

/* Open (creating it when absent) the layout at dir. */
int reg_layout_open (const char *dir, struct reg_layout **out, struct reg_error **err);
void reg_layout_free (struct reg_layout *l);

bool reg_layout_has_blob (const struct reg_layout *l, const char *hex);
char *reg_layout_blob_path (const struct reg_layout *l, const char *hex);
/* Copy src into the layout as blob hex (the caller verified the digest). */
int reg_layout_put_blob (const struct reg_layout *l, const char *hex, const char *src,
                         struct reg_error **err);
/* Store the manifest and tag it REPO:TAG in index.json (replacing). */
int reg_layout_put_manifest (const struct reg_layout *l, const char *repo, const char *tag,
                             const char *text, size_t len, struct reg_error **err);
/* The manifest tagged REPO:TAG, verified against its digest; ENOENT when absent. */
int reg_layout_get_manifest (const struct reg_layout *l, const char *repo, const char *tag,
                             char **text, size_t *len, struct reg_error **err);
/* Tags of REPO, sorted. */
int reg_layout_tags (const struct reg_layout *l, const char *repo, char ***tags,
                     struct reg_error **err);

#endif
