/* imgexport: a template as a regular OCI image (`reg push --as-image`,
 * docs/images.md), for Docker, Podman and every other OCI runtime.
 *
 * Owns the image's one layer and its config. The layer is the template's
 * generated environment (envgen.h: its closure, the template and what it
 * requires, with the skeleton directories, /etc/passwd and /etc/group, and
 * directory modes and owners) packed as a tar+gzip, file by file with each
 * object's mode and mtime: what a reg container of the template sees is
 * what Docker's sees. Packing is reproducible (entries sorted, owners
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

struct reg_imgexport
{
  char layer_hex[65]; /* sha256 of the layer blob (tar+gzip) */
  char diff_hex[65];  /* sha256 of the uncompressed tar: the config's diff_id */
  char config_hex[65];
  int64_t layer_size, config_size;
  char *layer_path, *config_path; /* in the staging directory */
  char *manifest;                 /* the OCI image manifest, compact JSON */
};

/* Build the image of template `tmpl` (name@version) into dir (staging). */
int reg_imgexport_build (const char *root, const struct reg_store *store, const char *tmpl,
                         const char *dir, struct reg_imgexport *x, struct reg_error **err);
void reg_imgexport_clear (struct reg_imgexport *x);

#endif
