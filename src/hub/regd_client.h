/* regd_client: how reg-hub talks to a device — regd's remote API over TLS
 * with the device's bearer token, through libcurl. The server certificate
 * is verified against the CA registered with the device (given to curl as
 * a blob: no temporary files), and only https is ever spoken.
 *
 * hub_regd_get_many() runs one GET on many devices at once on a curl multi
 * handle, each with its own timeout, so one slow device never delays
 * another; its connections are kept for the next round.
 */
#ifndef REG_HUB_REGD_CLIENT_H
#define REG_HUB_REGD_CLIENT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct hub_target
{
  int64_t id;
  char name[128];
  char base[300];    /* https://HOST:PORT */
  const char *ca;    /* PEM, borrowed from the device row */
  const char *token; /* borrowed too: a round holds one target per device */
};

/* Validation of what a user registers. */
int hub_device_url_parse (const char *url, char *base, size_t size, struct reg_error **err);
int hub_device_ca_check (const char *pem, struct reg_error **err);
int hub_device_token_check (const char *token, struct reg_error **err);
int hub_device_name_check (const char *name, struct reg_error **err);

/* From a device row with secrets (borrowed: `dev` must outlive `t`). */
int hub_target_init (struct hub_target *t, json_t *dev, struct reg_error **err);

/* A configured easy handle for one request (URL, CA, token, https only). */
CURL *hub_target_easy (const struct hub_target *t, const char *method, const char *path,
                       struct curl_slist **headers);

/* One JSON request. Returns the HTTP status (reply parsed into *reply when
 * JSON; of a reply of JSON lines, the last line), or -1 with err naming the device and the cause.
 */
long hub_regd_call (const struct hub_target *t, const char *method, const char *path, json_t *body,
                    long timeout_ms, json_t **reply, struct reg_error **err);

/* The transport failure or non-2xx reply as an error naming the device. */
int hub_regd_fail (const struct hub_target *t, CURLcode rc, long status, json_t *reply,
                   struct reg_error **err);

/* GET `path` on n devices at once. replies[i]: the parsed 200 reply, or
 * NULL and errors[i] an allocated message. */
struct hub_multi;
struct hub_multi *hub_multi_new (void);
void hub_multi_free (struct hub_multi *m);
void hub_regd_get_many (struct hub_multi *m, struct hub_target *t, size_t n, const char *path,
                        long timeout_ms, json_t **replies, char **errors);
/* The same with a path per target. */
void hub_regd_get_each (struct hub_multi *m, struct hub_target *t, size_t n,
                        const char *const *paths, long timeout_ms, json_t **replies, char **errors);

#endif
