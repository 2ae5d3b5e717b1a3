/* image: regular OCI and Docker images as reg sees them (docs/images.md).
 *
 * Owns the reading of an image's index (or manifest list), manifest and
 * config, and the mapping of the config to a template's run defaults and of
 * a reference to a template name. The layers themselves are layer.h's; the
 * transport is transfer.c's. Everything here is untrusted input: sizes and
 * counts are bounded, digests checked for form, and a config field that a
 * template cannot honour yet is refused naming the field rather than
 * dropped.
 */
#ifndef REG_IMAGE_H
#define REG_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "oci.h"
#include "template.h"

#define REG_IMAGE_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define REG_IMAGE_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define REG_IMAGE_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define REG_IMAGE_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

enum reg_image_kind
{
  REG_IMAGE_TEMPLATE, /* a reg template artifact (oci.h) */
  REG_IMAGE_MANIFEST, /* an image manifest (OCI or Docker schema 2) */
  REG_IMAGE_INDEX,    /* an OCI index or a Docker manifest list */
};

/* What a manifest document is; EINVAL for anything else (schema 1 too). */
int reg_image_kind (const char *text, size_t len, const char *what, enum reg_image_kind *kind,
                    struct reg_error **err);

/* A platform an index entry is chosen for: GOARCH ("amd64", "arm64",
 * "arm", ...) and, for arm, the variant ("v7"; arm64 "v8"; else ""). */
struct reg_image_platform
{
  const char *arch, *variant;
};
/* This machine's (the arm variant from uname: armv7l is v7). */
void reg_image_host_platform (struct reg_image_platform *p);

/* From an index, the manifest for linux on platform p: its digest hex.
 * arm's variants as containerd matches them: an entry of variant vK runs
 * on a vN machine when K <= N (no variant is v7), the highest such K
 * wins; arm64 takes no variant or v8; other architectures' variants are
 * not read (the first entry of the architecture wins). ENOENT naming the
 * platforms there are. */
int reg_image_index_select_for (const char *text, size_t len, const char *what,
                                const struct reg_image_platform *p, char hex[65],
                                struct reg_error **err);
/* The same for this machine. */
int reg_image_index_select (const char *text, size_t len, const char *what, char hex[65],
                            struct reg_error **err);

/* An image manifest: config (an image config) and layers (tar, gzip, zstd). */
int reg_image_manifest_parse (const char *text, size_t len, const char *what,
                              struct reg_oci_manifest **out, struct reg_error **err);

/* Fill t's run defaults from the image config JSON: Entrypoint + Cmd as
 * the entrypoint, Env, ExposedPorts (expose, format 2), StopSignal; and
 * WorkingDir, User (not root), Volumes, Labels and Healthcheck (format 3);
 * check os linux and this architecture; OnBuild refused when set.
 * *n_diff_ids: rootfs.diff_ids. */
int reg_image_config_apply (const char *text, size_t len, const char *what, struct reg_template *t,
                            size_t *n_diff_ids, struct reg_error **err);

/* The template an image reference becomes: name = the repository path with
 * '/' as '.', version = the tag, or "sha256-<hex>" for a digest reference. */
int reg_image_template_ref (const struct reg_oci_ref *ref, char **name, char **version,
                            struct reg_error **err);

/* GOARCH of this machine ("amd64", "arm64", ...). */
const char *reg_image_host_arch (void);

#endif
