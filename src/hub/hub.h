/* reg-hub: fleet management for regd devices — a web UI and a JSON REST API
 * (/api/v1, docs/hub-api.md) over HTTPS (libmicrohttpd), data in the store
 * module (SQLite), devices driven through regd's remote API only
 * (regd_client). The hub owns no container logic.
 *
 * Threads: libmicrohttpd's pool of HUB_HTTP_THREADS serves every
 * connection (TLS, static files, the registry, reads of the database); a
 * request that may wait — a call to a device, a password hash, an upload's
 * check — runs on a thread of its own while its connection is suspended
 * (http.c); event streams wait for their source without a thread (sse.h);
 * the prober runs liveness rounds and samples utilisation (probe.c); each
 * log or terminal stream has one thread driving its regd transfers
 * (api_stream.c).
 */
#ifndef REG_HUB_H
#define REG_HUB_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

#define HUB_API "/api/v1"
#define HUB_MAX_BODY (1 << 20)
#define HUB_VERSION "0.1.0"
#define HUB_HTTP_THREADS 2     /* libmicrohttpd's pool */
#define HUB_HTTP_STOP_WAIT_S 5 /* for requests to devices at a stop */
/* libmicrohttpd's memory per connection (its default: 32 kB): request
 * headers and the read buffer. 8 kB holds the UI's and the API's headers
 * many times over (bodies are read in pieces); each open connection cost
 * 44 kB with the default, 20 kB with this, measured with 200 idle browser
 * connections (docs/benchmarks.md, reg-hub). */
#define HUB_HTTP_CONN_MEMORY (8 * 1024)

struct hub_config
{
  const char *data_dir, *listen, *tls_cert, *tls_key, *web_dir, *vendor_dir;
  unsigned iterations;      /* PBKDF2 */
  unsigned session_ttl;     /* s */
  unsigned probe_interval;  /* ms */
  unsigned probe_timeout;   /* ms */
  unsigned sample_interval; /* s */
  unsigned retention;       /* s of history kept */
  unsigned max_connections;
  /* Deployments (deploy.h, apps.h) */
  const char *registry;         /* HOST[:PORT]/PREFIX, or NULL: the embedded one */
  const char *registry_address; /* HOST:PORT where devices reach the embedded one */
  bool registry_insecure;       /* plain HTTP (test registries only) */
  const char *registry_user;    /* push credentials, or NULL */
  char *registry_password;      /* read from --registry-password-file */
  int64_t deploy_max_size;      /* an upload, and what it expands to */
  size_t deploy_max_entries;    /* entries in an uploaded archive */
};

struct reg_engine;
struct hub_upload;

struct hub
{
  struct hub_config cfg;
  struct hub_store *store;
  struct hub_registry *registry; /* the embedded registry (registry.h) */
  struct MHD_Daemon *httpd;
  char *cert_pem, *key_pem;
  pthread_t prober;
  bool prober_started;
  pthread_t redeployer; /* redeploy.h */
  bool redeployer_started;
  volatile bool stopping;
  pthread_mutex_t wake_lock;
  pthread_cond_t wake;
  /* The last liveness round, under wake_lock: when it started (epoch s),
   * how long it took, how many devices it probed and found Online. */
  int64_t round_at;
  double round_seconds;
  size_t round_devices, round_online;
  /* Deployments: the hub's engine root (apps.h), serialised writes to it,
   * the directory of uploads and temporary files, running pipelines
   * (under wake_lock; hub_deploy_wait). */
  struct reg_engine *engine;
  pthread_mutex_t engine_lock;
  char *deploy_dir;
  unsigned deploys_running;
  pthread_cond_t deploys_done;
};

struct hub_req
{
  struct hub *hub;
  struct MHD_Connection *conn;
  const char *method, *url;
  char *body;
  size_t body_len;
  bool too_big;
  json_t *user; /* {"Id", "Name", "Role", "Csrf"?}: who is asking */
  bool by_cookie;
  char session_key[65];
  char addr[64];
  char *set_cookie;          /* a Set-Cookie header for the reply */
  struct hub_upload *upload; /* a multipart body being received (upload.h) */
  /* Served off the pool (http.c): the reply, queued when the connection
   * is resumed, and what the handler returned. */
  bool off_pool;
  struct MHD_Response *reply;
  unsigned reply_status;
  enum MHD_Result off_pool_ret;
};

/* Replies (j is stolen). Errors are {"message": "..."}; an error's code
 * maps to the status: EINVAL 400, EACCES/EPERM 403, ENOENT 404,
 * EEXIST/EBUSY 409, ETIMEDOUT/ECONNREFUSED/EPROTO/EIO from a device 502. */
enum MHD_Result hub_reply_json (struct hub_req *r, unsigned status, json_t *j);
enum MHD_Result hub_reply_error (struct hub_req *r, const struct reg_error *err);
enum MHD_Result hub_reply_message (struct hub_req *r, unsigned status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
enum MHD_Result hub_reply_empty (struct hub_req *r, unsigned status);
/* Queue resp with the hub's headers (resp is consumed). */
enum MHD_Result hub_queue (struct hub_req *r, unsigned status, struct MHD_Response *resp);
/* A response of JSON, with the hub's headers (resp is consumed). */
enum MHD_Result hub_queue_json (struct hub_req *r, unsigned status, struct MHD_Response *resp);
/* JSON already rendered (copied). */
enum MHD_Result hub_reply_text (struct hub_req *r, unsigned status, const char *json, size_t len);
/* The body as a JSON object whose keys are all in `allowed` (NULL-ended). */
json_t *hub_body (struct hub_req *r, const char *const *allowed, struct reg_error **err);
const char *hub_query (struct hub_req *r, const char *key);
int hub_client_fd (struct hub_req *r);
bool hub_is_admin (const struct hub_req *r);
int64_t hub_user_id (const struct hub_req *r);
const char *hub_user_name (const struct hub_req *r);
int64_t hub_now (void);
/* Seconds on the monotonic clock, for intervals and deadlines. */
double hub_mono (void);
/* o[k] when it is a string, else NULL (borrowed from o). */
const char *hub_str (json_t *o, const char *k);
/* Audit an action by the requester. */
void hub_audit (struct hub_req *r, int64_t device, const char *action, const char *target,
                const char *result);

/* Route groups: parts[] are the path segments after /api/v1/. */
enum MHD_Result hub_api_login (struct hub_req *r);
enum MHD_Result hub_api_auth (struct hub_req *r, char **parts, size_t n);
enum MHD_Result hub_api_devices (struct hub_req *r, char **parts, size_t n);
enum MHD_Result hub_api_containers (struct hub_req *r, json_t *dev, char **parts, size_t n);
enum MHD_Result hub_api_logs (struct hub_req *r, json_t *dev, const char *container);
enum MHD_Result hub_api_terminal_new (struct hub_req *r, json_t *dev, const char *container);
enum MHD_Result hub_api_terminals (struct hub_req *r, char **parts, size_t n);
/* /apps/NAME/deployments (POST: the multipart upload, upload.h), /deployments... */
enum MHD_Result hub_api_deploy (struct hub_req *r, char **parts, size_t n);

/* Who may see device `id`: its owner and admins. The row (with secrets
 * when asked) or NULL after replying 404. */
json_t *hub_device_for (struct hub_req *r, int64_t id, bool secrets);

/* A reply of server-sent events read from fd (closed when done; sse.c). */
enum MHD_Result hub_reply_events (struct hub_req *r, int fd);

int hub_http_start (struct hub *h, struct reg_error **err);
/* Ends event streams, waits (HUB_HTTP_STOP_WAIT_S at most) for requests
 * off the pool, and stops the daemon. */
void hub_http_stop (struct hub *h);
int hub_tls_ensure (struct hub *h, struct reg_error **err);
int hub_probe_start (struct hub *h, struct reg_error **err);
void hub_probe_stop (struct hub *h);
/* {"Started", "Seconds", "Devices", "Online", "Interval", "Timeout"} of the
 * last round. */
json_t *hub_probe_status (struct hub *h);
/* Probe one device now (after add or edit): its row with secrets. Fills
 * err and returns -1 when it answered wrongly (TLS or token refused);
 * returns 0 and sets *online otherwise. */
int hub_probe_one (struct hub *h, json_t *dev, bool *online, struct reg_error **err);

#endif
