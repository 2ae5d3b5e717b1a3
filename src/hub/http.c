/* http: reg-hub's HTTPS server — request bodies (bounded), who is asking
 * (session cookie or API token), CSRF, static files and dispatch. */
#include "auth.h"
#include "hub.h"
#include "json.h"
#include "registry.h"
#include "sse.h"
#include "upload.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define COOKIE "reghub_session"

int64_t
hub_now (void)
{
  return (int64_t)time (NULL);
}

double
hub_mono (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *
hub_str (json_t *o, const char *k)
{
  return json_string_value (json_object_get (o, k));
}

static void
headers (struct hub_req *r, struct MHD_Response *resp)
{
  MHD_add_response_header (resp, "Cache-Control", "no-store");
  MHD_add_response_header (resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header (resp, "X-Frame-Options", "DENY");
  MHD_add_response_header (resp, "Referrer-Policy", "no-referrer");
  MHD_add_response_header (resp, "Strict-Transport-Security", "max-age=31536000");
  MHD_add_response_header (resp, "Content-Security-Policy",
                           "default-src 'self'; script-src 'self' blob:; style-src 'self' "
                           "'unsafe-inline'; img-src 'self' "
                           "data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  if (r->set_cookie)
    MHD_add_response_header (resp, "Set-Cookie", r->set_cookie);
}

enum MHD_Result
hub_queue (struct hub_req *r, unsigned status, struct MHD_Response *resp)
{
  if (resp == NULL)
    return MHD_NO;
  headers (r, resp);
  if (r->off_pool) /* kept for the pool thread that resumes the connection */
    {
      if (r->reply != NULL) /* as libmicrohttpd refuses a second reply */
        {
          MHD_destroy_response (resp);
          return MHD_NO;
        }
      r->reply = resp;
      r->reply_status = status;
      return MHD_YES;
    }
  enum MHD_Result ret = MHD_queue_response (r->conn, status, resp);
  MHD_destroy_response (resp);
  return ret;
}

enum MHD_Result
hub_reply_json (struct hub_req *r, unsigned status, json_t *j)
{
  char *text = j ? json_dumps (j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  json_decref (j);
  if (text == NULL)
    return MHD_NO;
  struct MHD_Response *resp
      = MHD_create_response_from_buffer (strlen (text), text, MHD_RESPMEM_MUST_FREE);
  MHD_add_response_header (resp, "Content-Type", "application/json");
  return hub_queue (r, status, resp);
}

enum MHD_Result
hub_queue_json (struct hub_req *r, unsigned status, struct MHD_Response *resp)
{
  if (resp)
    MHD_add_response_header (resp, "Content-Type", "application/json");
  return hub_queue (r, status, resp);
}

enum MHD_Result
hub_reply_text (struct hub_req *r, unsigned status, const char *json, size_t len)
{
  struct MHD_Response *resp
      = MHD_create_response_from_buffer (len, (void *)json, MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header (resp, "Content-Type", "application/json");
  return hub_queue (r, status, resp);
}

enum MHD_Result
hub_reply_empty (struct hub_req *r, unsigned status)
{
  return hub_queue (r, status,
                    MHD_create_response_from_buffer (0, (void *)"", MHD_RESPMEM_PERSISTENT));
}

static unsigned
http_status (int code)
{
  switch (code)
    {
    case EINVAL:
    case ENAMETOOLONG:
      return MHD_HTTP_BAD_REQUEST;
    case EACCES:
    case EPERM:
      return MHD_HTTP_FORBIDDEN;
    case ENOENT:
      return MHD_HTTP_NOT_FOUND;
    case EEXIST:
    case EBUSY:
      return MHD_HTTP_CONFLICT;
    case EFBIG:
      return MHD_HTTP_CONTENT_TOO_LARGE;
    case ETIMEDOUT:
    case ECONNREFUSED:
    case EPROTO:
    case EIO:
      return MHD_HTTP_BAD_GATEWAY;
    default:
      return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

enum MHD_Result
hub_reply_error (struct hub_req *r, const struct reg_error *err)
{
  const char *msg = err && err->msg ? err->msg : "internal error";
  return hub_reply_json (r, http_status (err ? err->code : EIO),
                         json_pack ("{s:s}", "message", msg));
}

enum MHD_Result
hub_reply_message (struct hub_req *r, unsigned status, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  _cleanup_free_ char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  return hub_reply_json (r, status, json_pack ("{s:s}", "message", msg ? msg : "error"));
}

json_t *
hub_body (struct hub_req *r, const char *const *allowed, struct reg_error **err)
{
  json_t *o = reg_json_object_parse (r->body, r->body_len, "request body", err);
  if (o == NULL)
    return NULL;
  const char *key;
  json_t *v;
  json_object_foreach (o, key, v)
  {
    bool known = false;
    for (size_t i = 0; allowed && allowed[i]; i++)
      known = known || strcmp (key, allowed[i]) == 0;
    if (!known)
      {
        reg_error_set (err, EINVAL, "request body: unknown field \"%s\"", key);
        json_decref (o);
        return NULL;
      }
  }
  return o;
}

const char *
hub_query (struct hub_req *r, const char *key)
{
  return MHD_lookup_connection_value (r->conn, MHD_GET_ARGUMENT_KIND, key);
}

int
hub_client_fd (struct hub_req *r)
{
  const union MHD_ConnectionInfo *ci
      = MHD_get_connection_info (r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  return ci ? ci->connect_fd : -1;
}

bool
hub_is_admin (const struct hub_req *r)
{
  const char *role = json_string_value (json_object_get (r->user, "Role"));
  return role && strcmp (role, "admin") == 0;
}

int64_t
hub_user_id (const struct hub_req *r)
{
  return json_integer_value (json_object_get (r->user, "Id"));
}

const char *
hub_user_name (const struct hub_req *r)
{
  const char *n = json_string_value (json_object_get (r->user, "Name"));
  return n ? n : "-";
}

void
hub_audit (struct hub_req *r, int64_t device, const char *action, const char *target,
           const char *result)
{
  hub_store_audit (r->hub->store, hub_user_name (r), device, action, target, result);
}

/* ---- static files ---- */

static const char *
content_type (const char *path)
{
  static const char *const types[][2] = { { ".html", "text/html; charset=utf-8" },
                                          { ".js", "text/javascript; charset=utf-8" },
                                          { ".mjs", "text/javascript; charset=utf-8" },
                                          { ".css", "text/css; charset=utf-8" },
                                          { ".png", "image/png" },
                                          { ".svg", "image/svg+xml" },
                                          { ".map", "application/json" },
                                          { ".ico", "image/x-icon" } };
  const char *dot = strrchr (path, '.');
  for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
    if (strcmp (dot, types[i][0]) == 0)
      return types[i][1];
  return "application/octet-stream";
}

/* Only the libraries the UI uses are served: Debian's, under /vendor/. */
static const char *const vendor_libs[][2] = {
  { "bootstrap5/", NULL },
  { "chart.js/", NULL },
  { "xterm/", NULL },
  /* Debian 12's libjs-xterm ships a browser file that only require()s the
   * CommonJS modules of node-xterm (same source package): the UI loads
   * those (web/js/cjs.js). */
  { "xterm-lib/", "/usr/share/nodejs/xterm/lib" },
};

static enum MHD_Result
serve_file (struct hub_req *r, const char *url)
{
  char rel[PATH_MAX];
  const char *root = r->hub->cfg.web_dir;
  bool vendor = strncmp (url, "/vendor/", 8) == 0;
  if (vendor)
    {
      url += 7;
      root = NULL;
      for (size_t i = 0; i < sizeof vendor_libs / sizeof vendor_libs[0]; i++)
        if (strncmp (url + 1, vendor_libs[i][0], strlen (vendor_libs[i][0])) == 0)
          {
            root = vendor_libs[i][1] ? vendor_libs[i][1] : r->hub->cfg.vendor_dir;
            if (vendor_libs[i][1])
              url += strlen (vendor_libs[i][0]);
          }
      if (root == NULL)
        return hub_reply_message (r, MHD_HTTP_NOT_FOUND, "not found: %s", url);
    }
  if (strcmp (url, "/") == 0)
    url = "/index.html";
  snprintf (rel, sizeof rel, "%s", url + 1);
  if (!reg_util_path_is_clean (url) || strstr (url, "/.") != NULL)
    return hub_reply_message (r, MHD_HTTP_NOT_FOUND, "not found: %s", url);
  int dir = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int fd = dir < 0 ? -1 : openat (dir, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (dir >= 0)
    close (dir);
  struct stat st;
  if (fd < 0 && errno == ELOOP)
    {
      /* Debian's libjs packages link some files elsewhere under
       * /usr/share: follow those, only for the vendor tree. */
      _cleanup_free_ char *full = NULL;
      char *real
          = vendor && asprintf (&full, "%s/%s", root, rel) > 0 ? realpath (full, NULL) : NULL;
      if (real && strncmp (real, "/usr/share/", 11) == 0)
        fd = open (real, O_RDONLY | O_CLOEXEC);
      free (real);
    }
  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      if (fd >= 0)
        close (fd);
      return hub_reply_message (r, MHD_HTTP_NOT_FOUND, "not found: %s", url);
    }
  struct MHD_Response *resp = MHD_create_response_from_fd ((uint64_t)st.st_size, fd);
  MHD_add_response_header (resp, "Content-Type", content_type (rel));
  return hub_queue (r, MHD_HTTP_OK, resp);
}

/* ---- who is asking ---- */

static const char *
cookie_secret (struct hub_req *r)
{
  return MHD_lookup_connection_value (r->conn, MHD_COOKIE_KIND, COOKIE);
}

static void
authenticate (struct hub_req *r)
{
  struct hub *h = r->hub;
  const char *auth = MHD_lookup_connection_value (r->conn, MHD_HEADER_KIND, "Authorization");
  char key[65];
  if (auth && strncmp (auth, "Bearer ", 7) == 0)
    {
      hub_auth_key (auth + 7, key);
      r->user = hub_store_token_get (h->store, key, hub_now ());
      return;
    }
  const char *secret = cookie_secret (r);
  if (secret == NULL)
    return;
  hub_auth_key (secret, key);
  r->user = hub_store_session_get (h->store, key, hub_now ());
  if (r->user)
    {
      r->by_cookie = true;
      snprintf (r->session_key, sizeof r->session_key, "%s", key);
    }
}

static bool
state_changing (const char *method)
{
  return strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0;
}

static bool
csrf_ok (struct hub_req *r)
{
  if (!r->by_cookie || !state_changing (r->method))
    return true;
  const char *sent = MHD_lookup_connection_value (r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
  const char *want = json_string_value (json_object_get (r->user, "Csrf"));
  return sent && want && hub_auth_equal (sent, want);
}

/* ---- dispatch ---- */

/* The path's segments after /api/v1/ (at most 8), in buf. */
static size_t
api_parts (const char *url, char *buf, size_t size, char *parts[8])
{
  snprintf (buf, size, "%s", url + strlen (HUB_API "/"));
  size_t n = 0;
  char *save = NULL;
  for (char *tok = strtok_r (buf, "/", &save); tok && n < 8; tok = strtok_r (NULL, "/", &save))
    parts[n++] = tok;
  return n;
}

/* A request whose asker is known and allowed (or a login). */
static enum MHD_Result
api_route (struct hub_req *r)
{
  char path[1024];
  char *parts[8] = { NULL };
  size_t n = api_parts (r->url, path, sizeof path, parts);
  if (strcmp (parts[0], "login") == 0 && n == 1)
    return hub_api_login (r);
  if (strcmp (parts[0], "devices") == 0)
    return hub_api_devices (r, parts, n);
  if (strcmp (parts[0], "terminals") == 0)
    return hub_api_terminals (r, parts, n);
  if (strcmp (parts[0], "apps") == 0 || strcmp (parts[0], "deployments") == 0)
    return hub_api_deploy (r, parts, n);
  return hub_api_auth (r, parts, n);
}

/* libmicrohttpd's pool has a few threads for every connection, so a
 * request that may wait runs on a thread of its own while its connection
 * is suspended: all that calls a device (an answer may take the call's
 * whole timeout), hashes a password (PBKDF2) or checks an upload. The
 * pool serves static files, the registry and what the hub's database
 * answers (the dashboard's polls); event streams wait in sse.c. */
static bool
served_in_pool (const char *method, char **parts, size_t n)
{
  bool read = strcmp (method, "GET") == 0 || strcmp (method, "HEAD") == 0;
  if (strcmp (parts[0], "devices") == 0) /* the list, a row, its history */
    return read && (n <= 2 || (n == 3 && strcmp (parts[2], "history") == 0));
  if (strcmp (parts[0], "terminals") == 0) /* output: a stream; input: a pipe write */
    return n == 3 && (strcmp (parts[2], "output") == 0 || strcmp (parts[2], "input") == 0);
  if (strcmp (parts[0], "login") == 0 || strcmp (parts[0], "users") == 0
      || strcmp (parts[0], "apps") == 0 || strcmp (parts[0], "deployments") == 0)
    return read;
  return true; /* session, logout, tokens, audit, probe, version */
}

static struct
{
  pthread_mutex_t lock;
  pthread_cond_t done;
  unsigned running;
} off_pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };

static void *
off_pool_main (void *arg)
{
  struct hub_req *r = arg;
  struct MHD_Connection *conn = r->conn;
  r->off_pool_ret = api_route (r);
  /* r is the pool's again from here (its reply is queued there, and it
   * may be freed at once). */
  pthread_mutex_lock (&off_pool.lock);
  MHD_resume_connection (conn);
  off_pool.running--;
  pthread_cond_broadcast (&off_pool.done);
  pthread_mutex_unlock (&off_pool.lock);
  return NULL;
}

static enum MHD_Result
run_off_pool (struct hub_req *r)
{
  r->off_pool = true;
  MHD_suspend_connection (r->conn);
  pthread_mutex_lock (&off_pool.lock);
  off_pool.running++;
  pthread_mutex_unlock (&off_pool.lock);
  pthread_t tid;
  pthread_attr_t attr;
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize (&attr, 512 * 1024);
  if (pthread_create (&tid, &attr, off_pool_main, r) != 0)
    off_pool_main (r); /* no thread to be had: served here, slowly */
  pthread_attr_destroy (&attr);
  return MHD_YES;
}

/* The connection is back from run_off_pool: its reply, queued here. */
static enum MHD_Result
off_pool_reply (struct hub_req *r)
{
  struct MHD_Response *resp = r->reply;
  r->reply = NULL;
  if (resp == NULL)
    return MHD_NO; /* no reply: the connection is closed */
  enum MHD_Result ret = MHD_queue_response (r->conn, r->reply_status, resp);
  MHD_destroy_response (resp);
  return r->off_pool_ret == MHD_YES ? ret : MHD_NO;
}

static enum MHD_Result
api (struct hub_req *r)
{
  char path[1024];
  char *parts[8] = { NULL };
  size_t n = api_parts (r->url, path, sizeof path, parts);
  if (n == 0)
    return hub_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s %s", r->method, r->url);
  bool login = strcmp (parts[0], "login") == 0 && n == 1;
  if (!login && r->user == NULL)
    authenticate (r);
  if (!login && r->user == NULL)
    return hub_reply_message (r, MHD_HTTP_UNAUTHORIZED,
                              "not logged in (or the session expired): log in again, or send "
                              "\"Authorization: Bearer TOKEN\"");
  if (!login && !csrf_ok (r))
    return hub_reply_message (r, MHD_HTTP_FORBIDDEN,
                              "CSRF token missing or wrong: send the session's token in "
                              "X-CSRF-Token");
  return served_in_pool (r->method, parts, n) ? api_route (r) : run_off_pool (r);
}

/* The embedded registry's routes (registry.h): /v2 and below. */
static bool
registry_url (const char *url)
{
  return strncmp (url, "/v2", 3) == 0 && (url[3] == '\0' || url[3] == '/');
}

static enum MHD_Result
dispatch (struct hub_req *r)
{
  if (registry_url (r->url))
    return hub_registry_serve (r);
  if (r->too_big)
    return hub_reply_message (r, MHD_HTTP_CONTENT_TOO_LARGE, "request body over %d bytes",
                              HUB_MAX_BODY);
  if (strncmp (r->url, HUB_API "/", strlen (HUB_API "/")) == 0)
    return api (r);
  if (strcmp (r->method, "GET") != 0 && strcmp (r->method, "HEAD") != 0)
    return hub_reply_message (r, MHD_HTTP_METHOD_NOT_ALLOWED, "%s %s: only GET", r->method, r->url);
  return serve_file (r, r->url);
}

/* POST /api/v1/apps/NAME/deployments takes a multipart upload, streamed
 * to a file: who is asking is checked before any of the body is read. */
static bool
upload_route (const char *method, const char *url)
{
  const char *prefix = HUB_API "/apps/", *suffix = "/deployments";
  size_t n = strlen (url);
  return strcmp (method, "POST") == 0 && strncmp (url, prefix, strlen (prefix)) == 0
         && n > strlen (prefix) + strlen (suffix)
         && strcmp (url + n - strlen (suffix), suffix) == 0;
}

static enum MHD_Result
upload_begin (struct hub_req *r)
{
  authenticate (r);
  if (r->user == NULL)
    return hub_reply_message (r, MHD_HTTP_UNAUTHORIZED,
                              "not logged in: send \"Authorization: Bearer TOKEN\" (an API "
                              "token) or log in");
  if (!csrf_ok (r))
    return hub_reply_message (r, MHD_HTTP_FORBIDDEN,
                              "CSRF token missing or wrong: send the session's token in "
                              "X-CSRF-Token");
  if (!hub_is_admin (r))
    return hub_reply_message (r, MHD_HTTP_FORBIDDEN, "deploy: a viewer cannot deploy");
  _cleanup_error_ struct reg_error *err = NULL;
  r->upload = hub_upload_new (r->conn, r->hub->deploy_dir, r->hub->cfg.deploy_max_size, &err);
  if (r->upload == NULL)
    return hub_reply_error (r, err);
  return MHD_YES;
}

static void
client_addr (struct hub_req *r)
{
  const union MHD_ConnectionInfo *ci
      = MHD_get_connection_info (r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  snprintf (r->addr, sizeof r->addr, "?");
  if (ci && ci->client_addr)
    getnameinfo (ci->client_addr,
                 ci->client_addr->sa_family == AF_INET6 ? sizeof (struct sockaddr_in6)
                                                        : sizeof (struct sockaddr_in),
                 r->addr, sizeof r->addr, NULL, 0, NI_NUMERICHOST);
}

static enum MHD_Result
on_request (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
            const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
  struct hub_req *r = *con_cls;
  if (r == NULL)
    {
      r = calloc (1, sizeof *r);
      if (r == NULL)
        return MHD_NO;
      r->hub = cls;
      r->conn = conn;
      r->method = method;
      r->url = url;
      client_addr (r);
      *con_cls = r;
      return upload_route (method, url) ? upload_begin (r) : MHD_YES;
    }
  if (r->off_pool)
    return off_pool_reply (r);
  if (r->upload && *upload_data_size > 0)
    {
      size_t n = *upload_data_size;
      *upload_data_size = 0;
      hub_upload_feed (r->upload, upload_data, n);
      return MHD_YES;
    }
  if (*upload_data_size > 0)
    {
      size_t n = *upload_data_size;
      *upload_data_size = 0;
      if (registry_url (r->url)) /* read-only: bodies are never used */
        return MHD_YES;
      if (r->too_big || r->body_len + n > HUB_MAX_BODY)
        {
          r->too_big = true; /* the rest is read and dropped */
          return MHD_YES;
        }
      char *nb = realloc (r->body, r->body_len + n + 1);
      if (nb == NULL)
        return MHD_NO;
      memcpy (nb + r->body_len, upload_data, n);
      r->body = nb;
      r->body_len += n;
      r->body[r->body_len] = '\0';
      return MHD_YES;
    }
  return dispatch (r);
}

static void
on_completed (void *cls, struct MHD_Connection *conn, void **con_cls,
              enum MHD_RequestTerminationCode toe)
{
  struct hub_req *r = *con_cls;
  if (r == NULL)
    return;
  if (r->reply)
    MHD_destroy_response (r->reply);
  json_decref (r->user);
  hub_upload_free (r->upload);
  free (r->body);
  free (r->set_cookie);
  free (r);
  *con_cls = NULL;
}

/* A closed connection leaves its TLS session's and request's memory free
 * in the middle of the heap, where glibc keeps it until a trim: give it
 * back, at most once a second (a trim walks the free lists; a burst of
 * new connections — each one a TLS handshake — would otherwise grow the
 * heap by megabytes until the prober's next round trims it). */
static void
on_connection (void *cls, struct MHD_Connection *conn, void **socket_context,
               enum MHD_ConnectionNotificationCode code)
{
  static _Atomic int64_t last_trim_ms;
  if (code != MHD_CONNECTION_NOTIFY_CLOSED)
    return;
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  int64_t last = last_trim_ms;
  if (now - last >= 1000 && atomic_compare_exchange_strong (&last_trim_ms, &last, now))
    malloc_trim (0);
}

int
hub_http_start (struct hub *h, struct reg_error **err)
{
  _cleanup_free_ char *host = strdup (h->cfg.listen);
  char *colon = host ? strrchr (host, ':') : NULL;
  if (colon == NULL)
    // cppcheck-suppress memleak ; host has a cleanup attribute
    return reg_error_set (err, EINVAL, "reg-hub --listen %s: want ADDR:PORT", h->cfg.listen);
  *colon = '\0';
  char *addr = host;
  if (addr[0] == '[' && addr[strlen (addr) - 1] == ']')
    {
      addr[strlen (addr) - 1] = '\0';
      addr++;
    }
  struct addrinfo hints
      = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM };
  struct addrinfo *ai = NULL;
  if (getaddrinfo (addr, colon + 1, &hints, &ai) != 0 || ai == NULL)
    return reg_error_set (err, EINVAL, "reg-hub --listen %s: not a numeric ADDR:PORT",
                          h->cfg.listen);
  if (hub_sse_start (err) < 0)
    {
      freeaddrinfo (ai);
      return -1;
    }
  h->httpd = MHD_start_daemon (
      MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_TLS
          | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
      0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_HTTPS_MEM_CERT,
      h->cert_pem, MHD_OPTION_HTTPS_MEM_KEY, h->key_pem, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
      h, MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_CONNECTION_LIMIT,
      h->cfg.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
      MHD_OPTION_THREAD_POOL_SIZE, (unsigned)HUB_HTTP_THREADS, MHD_OPTION_THREAD_STACK_SIZE,
      (size_t)(512 * 1024), MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HUB_HTTP_CONN_MEMORY,
      MHD_OPTION_END);
  freeaddrinfo (ai);
  if (h->httpd == NULL)
    return reg_error_set (err, EIO,
                          "reg-hub --listen %s: cannot serve HTTPS there (address in use, or a "
                          "bad certificate or key)",
                          h->cfg.listen);
  return 0;
}

void
hub_http_stop (struct hub *h)
{
  hub_sse_stop ();
  /* Requests off the pool end within their calls' timeouts; the daemon
   * cannot stop while one holds its connection suspended. */
  struct timespec until;
  clock_gettime (CLOCK_REALTIME, &until);
  until.tv_sec += HUB_HTTP_STOP_WAIT_S;
  pthread_mutex_lock (&off_pool.lock);
  while (off_pool.running > 0
         && pthread_cond_timedwait (&off_pool.done, &off_pool.lock, &until) == 0)
    ;
  unsigned left = off_pool.running;
  pthread_mutex_unlock (&off_pool.lock);
  if (left > 0)
    {
      fprintf (stderr, "reg-hub: %u requests to devices still running: not waiting for them\n",
               left);
      return;
    }
  MHD_stop_daemon (h->httpd);
  h->httpd = NULL;
}
