/* imgarchive: image archives for `reg image load -i FILE` (docs/images.md).
 *
 * Owns turning an archive into an OCI image layout that the pull of
 * transfer.c imports like any other: a `docker save` archive (manifest.json
 * with Config, RepoTags and Layers; the legacy form with <id>/layer.tar and
 * <hex>.json, and the form Docker 25+ writes, an OCI layout whose blobs
 * manifest.json names) or an OCI archive (a tar of an OCI image layout,
 * as `skopeo copy … oci-archive:` or `podman save --format oci-archive`
 * write it). A manifest.json wins when both are there.
 *
 * The archive is hostile input, unpacked with libarchive into `dir` (an
 * empty directory on the store's file system): only regular files and
 * directories are written, under clean relative names, bounded in size
 * and count; symlinks and hard links between members (Docker's legacy form
 * links a layer.tar that two images share) become hard links to a regular
 * file of the archive, or are refused; devices, FIFOs and duplicates are
 * refused naming the entry. A docker-save layer must hash to the config's
 * diff_id for it (or to the blob name it has), and a config to its name:
 * nothing unverified reaches the layout.
 *
 * Naming: a RepoTag without a registry host is Docker Hub's, as Docker
 * reads it ("python:3.11" is docker.io/library/python:3.11), so it becomes
 * the template library.python@3.11, the same as a `reg pull` of that
 * reference; an OCI archive's image is named by the annotation
 * io.containerd.image.name or org.opencontainers.image.ref.name (when that
 * is REPO:TAG, not only a tag).
 */
#ifndef REG_IMGARCHIVE_H
#define REG_IMGARCHIVE_H

#include "error.h"

/* Unpack `archive` into `dir` as an OCI layout; *refs gets "REPO:TAG" (no
 * host) for each image, tagged so in dir's index.json (NULL-terminated). */
int reg_imgarchive_unpack (const char *archive, const char *dir, char ***refs,
                           struct reg_error **err);

#endif
