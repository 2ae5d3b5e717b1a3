/* imgexport: a template as a regular OCI image (`reg push --as-image`,
 * docs/images.md), for Docker, Podman and every other OCI runtime.
 *
 * Owns the image's layers and its config. The image's file system is the
 * template's generated environment (envgen.h: its closure, the template
 * and what it requires, with the skeleton directories, /etc/passwd and
 * /etc/group, and directory modes and owners), file by file with each
 * object's mode and mtime: what a reg container of the template sees is
 * what Docker's sees. It comes as one layer per template of the closure,
 * in resolution order (each after what it requires): layer i is what the
 * environment of the first i+1 templates adds to that of the first i
 * (changed and new entries, every directory, whiteouts for what is gone),
 * so two images on one base template share the base's layers in a
 * registry and in Docker. Packing is reproducible (entries sorted, owners
 * numeric, directory and symlink times 0, no gzip timestamp), so pushing
 * the same template again gives the same digests and uploads nothing.
 *
 * The config carries the run defaults a template has: the entrypoint as
 * Cmd (a command given to `docker run` replaces the whole argv, as a
 * command given to `reg run` does), Env with reg's default PATH and HOME
 * (what a reg container gets), ExposedPorts from every template of the
 * closure, StopSignal, and the label org.reg.template = name@version.
 */
#ifndef REG_IMGEXPORT_H
#define REG_IMGEXPORT_H

#include <stdint.h>

#include "error.h"
#include "store.h"

struct reg_imgexport_layer
{
  char hex[65];      /* sha256 of the layer blob (tar+gzip) */
  char diff_hex[65]; /* sha256 of the uncompressed tar: the config's diff_id */
  int64_t size;
  char *path;     /* in the staging directory */
  char *template; /* name@version: the template whose files it adds */
};

struct reg_imgexport
{
  struct reg_imgexport_layer *layers; /* one per template, resolution order */
  size_t n_layers;
  char config_hex[65];
  int64_t config_size;
  char *config_path; /* in the staging directory */
  char *manifest;    /* the OCI image manifest, compact JSON */
};

/* Build the image of template `tmpl` (name@version) into dir (staging). */
int reg_imgexport_build (const char *root, const struct reg_store *store, const char *tmpl,
                         const char *dir, struct reg_imgexport *x, struct reg_error **err);
void reg_imgexport_clear (struct reg_imgexport *x);

#endif
