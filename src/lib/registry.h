/* registry: a client of the OCI Distribution API v2 (libcurl).
 *
 * Owns the conversation with one registry host: HTTPS (plain HTTP only when
 * `insecure`) verified with the system CAs plus the host's own CAs from
 * CERTS_DIR/HOST[:PORT]/ *.crt (Docker's certs.d layout), authentication by following the
 * WWW-Authenticate challenge of a 401 (anonymous, Basic with the given credentials, or Bearer
 * tokens fetched from the challenge's realm for its service and scope, with the credentials when
 * there are any), blob HEAD/GET, upload by POST + PUT, cross-repository mount (`?mount=&from=`),
 * manifests and tags/list.
 *
 * It never trusts what it gets: a downloaded blob is hashed while it
 * arrives and must match its digest and its declared size, or the call
 * fails naming the blob; bodies are bounded. Thread-safe: each call uses its
 * own curl handle; the token is shared under a mutex.
 */
#ifndef REG_REGISTRY_H
#define REG_REGISTRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct reg_registry
{
  char *host;
  char *base; /* "https://HOST" */
  char *user, *password;
  pthread_mutex_t lock;
  char *token;               /* bearer token from the last challenge */
  bool basic;                /* the registry asked for Basic */
  struct stack_st_X509 *cas; /* extra CAs for this host, or NULL */
};

/* Progress of one transfer: bytes so far of total (0: unknown). */
typedef void (*reg_registry_progress_fn) (void *data, int64_t now, int64_t total);

/* certs_dir: where HOST[:PORT]/ *.crt are looked up (NULL: none); a CA file
 * that cannot be read or holds no certificate fails the open. */
int reg_registry_open (const char *host, bool insecure, const char *certs_dir, const char *user,
                       const char *password, struct reg_registry **out, struct reg_error **err);
void reg_registry_free (struct reg_registry *r);
/* Trust the CA certificates in pem (one or more PEM certificates) for this
 * registry too, as a certs.d file would: what a remote client of regd
 * sends ("Ca" in a pull or push), since it cannot write <root>/certs.d.
 * EINVAL when pem holds no certificate. */
int reg_registry_add_ca_pem (struct reg_registry *r, const char *pem, struct reg_error **err);

int reg_registry_blob_exists (struct reg_registry *r, const char *repo, const char *hex,
                              bool *exists, struct reg_error **err);
/* Download into fd; fails unless the content is `size` bytes hashing to hex. */
int reg_registry_blob_get (struct reg_registry *r, const char *repo, const char *hex, int64_t size,
                           int fd, reg_registry_progress_fn progress, void *data,
                           struct reg_error **err);
/* Mount blob hex from repository `from`; *mounted false when the registry
 * declined (the blob then has to be uploaded). */
int reg_registry_blob_mount (struct reg_registry *r, const char *repo, const char *hex,
                             const char *from, bool *mounted, struct reg_error **err);
int reg_registry_blob_put (struct reg_registry *r, const char *repo, const char *hex,
                           const char *path, reg_registry_progress_fn progress, void *data,
                           struct reg_error **err);
int reg_registry_manifest_put (struct reg_registry *r, const char *repo, const char *tag,
                               const char *text, size_t len, struct reg_error **err);
/* The manifest and its media type (Content-Type); ENOENT when unknown. */
int reg_registry_manifest_get (struct reg_registry *r, const char *repo, const char *tag,
                               char **text, size_t *len, char **media_type, struct reg_error **err);
int reg_registry_tags (struct reg_registry *r, const char *repo, char ***tags,
                       struct reg_error **err);

#endif
