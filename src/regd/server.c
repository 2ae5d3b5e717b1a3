#include "server.h"

#include <netdb.h>
#include <openssl/crypto.h>
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned
http_status (int code)
{
  switch (code)
    {
    case EINVAL:
    case ELOOP:
    case ENAMETOOLONG:
    case EFBIG:
    case ENOTDIR:
      return MHD_HTTP_BAD_REQUEST;
    case ENOENT:
      return MHD_HTTP_NOT_FOUND;
    case EEXIST:
    case EBUSY:
      return MHD_HTTP_CONFLICT;
    default:
      return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

enum MHD_Result
regd_reply_json (struct request *r, unsigned status, json_t *j)
{
  char *text = j ? json_dumps (j, JSON_COMPACT) : NULL;
  json_decref (j);
  if (text == NULL)
    return MHD_NO;
  struct MHD_Response *resp
      = MHD_create_response_from_buffer (strlen (text), text, MHD_RESPMEM_MUST_FREE);
  MHD_add_response_header (resp, "Content-Type", "application/json");
  enum MHD_Result ret = MHD_queue_response (r->conn, status, resp);
  MHD_destroy_response (resp);
  return ret;
}

enum MHD_Result
regd_reply_error (struct request *r, const struct reg_error *err)
{
  const char *msg = err && err->msg ? err->msg : "internal error";
  return regd_reply_json (r, http_status (err ? err->code : EIO),
                          json_pack ("{s:s}", "message", msg));
}

enum MHD_Result
regd_reply_start_result (struct request *r, const struct reg_start_result *res)
{
  unsigned status = res->exit_code != 0 ? MHD_HTTP_BAD_REQUEST : http_status (res->errnum);
  return regd_reply_json (
      r, status, json_pack ("{s:s, s:i}", "message", res->message, "ExitCode", res->exit_code));
}

enum MHD_Result
regd_reply_message (struct request *r, unsigned status, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  _cleanup_free_ char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  return regd_reply_json (r, status, json_pack ("{s:s}", "message", msg ? msg : "error"));
}

json_t *
regd_body_object (struct request *r, const char *what, struct reg_error **err)
{
  return reg_json_object_parse (r->body, r->body_len, what, err);
}

const char *
regd_query (struct request *r, const char *key)
{
  return MHD_lookup_connection_value (r->conn, MHD_GET_ARGUMENT_KIND, key);
}

int
regd_client_fd (struct request *r)
{
  const union MHD_ConnectionInfo *ci
      = MHD_get_connection_info (r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  return ci ? ci->connect_fd : -1;
}

/* ---- streaming ---- */

struct pipe_stream
{
  int fd;
  int client_fd;
};

static ssize_t
pipe_reader (void *cls, uint64_t pos, char *buf, size_t max)
{
  struct pipe_stream *s = cls;
  for (;;)
    {
      struct pollfd p[2] = { { s->fd, POLLIN, 0 }, { s->client_fd, POLLRDHUP, 0 } };
      int n = poll (p, s->client_fd >= 0 ? 2 : 1, -1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 || (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)))
        return MHD_CONTENT_READER_END_WITH_ERROR;
      ssize_t got = read (s->fd, buf, max);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
      return got;
    }
}

static void
pipe_free (void *cls)
{
  struct pipe_stream *s = cls;
  close (s->fd);
  free (s);
}

static enum MHD_Result reply_pipe (struct request *r, unsigned status, int fd, const char *type);

enum MHD_Result
regd_reply_stream (struct request *r, unsigned status, int fd)
{
  return reply_pipe (r, status, fd, "application/vnd.reg.stream");
}

enum MHD_Result
regd_reply_lines (struct request *r, int fd)
{
  return reply_pipe (r, MHD_HTTP_OK, fd, "application/x-ndjson");
}

static enum MHD_Result
reply_pipe (struct request *r, unsigned status, int fd, const char *type)
{
  struct pipe_stream *s = malloc (sizeof *s);
  if (s == NULL)
    {
      close (fd);
      return MHD_NO;
    }
  s->fd = fd;
  s->client_fd = regd_client_fd (r);
  struct MHD_Response *resp
      = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 64 * 1024, pipe_reader, s, pipe_free);
  MHD_add_response_header (resp, "Content-Type", type);
  enum MHD_Result ret = MHD_queue_response (r->conn, status, resp);
  MHD_destroy_response (resp);
  return ret;
}

/* ---- dispatch ---- */

const struct regd_route *
regd_route_find (const struct regd_route *table, size_t n, const char *method, const char *action)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (method, table[i].method) == 0
        && (action == NULL ? table[i].action == NULL
                           : table[i].action && strcmp (action, table[i].action) == 0))
      return &table[i];
  return NULL;
}

static const char api_prefix[] = "/" REGD_API_VERSION "/";

/* An empty segment is an empty name ("reg inspect ''"), never "all". */
static bool
empty_segment (const char *url)
{
  size_t ulen = strlen (url);
  return strstr (url, "//") || (ulen > strlen (api_prefix) && url[ulen - 1] == '/');
}

/* The segments after /v1/ into parts (pointing into path); how many (at
 * most 4: more than 3 is no route). */
static size_t
split_path (const char *url, char *path, size_t size, char *parts[4])
{
  snprintf (path, size, "%s", url + strlen (api_prefix));
  char *save = NULL;
  size_t n = 0;
  for (char *tok = strtok_r (path, "/", &save); tok && n < 4; tok = strtok_r (NULL, "/", &save))
    parts[n++] = tok;
  return n;
}

/* The row of a route whose body streams (it has a sink), found as
 * dispatch will find it; its id or ref into arg. */
static const struct regd_route *
sink_route (const char *method, const char *url, char *arg, size_t size)
{
  char path[1024];
  char *parts[4] = { NULL, NULL, NULL, NULL };
  if (strncmp (url, api_prefix, strlen (api_prefix)) != 0 || empty_segment (url)
      || split_path (url, path, sizeof path, parts) != 3)
    return NULL;
  const struct regd_route *row = NULL;
  if (strcmp (parts[0], "containers") == 0)
    row = regd_route_find (regd_container_routes, regd_container_routes_n, method, parts[2]);
  else if (strcmp (parts[0], "exec") == 0)
    row = regd_route_find (regd_exec_routes, regd_exec_routes_n, method, parts[2]);
  if (row == NULL || row->sink_open == NULL)
    return NULL;
  snprintf (arg, size, "%s", parts[1]);
  return row;
}

static enum MHD_Result
dispatch (struct regd *d, struct request *r, const char *url)
{
  if (r->too_big)
    return regd_reply_message (r, MHD_HTTP_CONTENT_TOO_LARGE, "request body over %d bytes",
                               REGD_MAX_BODY);
  if (strncmp (url, api_prefix, strlen (api_prefix)) != 0)
    return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "no such API: %s (this regd serves /%s)", url,
                               REGD_API_VERSION);
  if (empty_segment (url))
    return regd_reply_message (r, MHD_HTTP_BAD_REQUEST, "%s %s: an empty name or id in the path",
                               r->method, url);
  char path[1024];
  char *parts[4] = { NULL, NULL, NULL, NULL };
  size_t n = split_path (url, path, sizeof path, parts);
  if (n == 0 || n > 3)
    return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s %s", r->method, url);
  if (strcmp (parts[0], "containers") == 0)
    return regd_route_containers (d, r, parts[1], parts[2]);
  if (strcmp (parts[0], "exec") == 0)
    return regd_route_exec (d, r, parts[1], parts[2]);
  if (strcmp (parts[0], "events") == 0 && n == 1)
    return regd_route_events (d, r);
  if (strcmp (parts[0], "networks") == 0 && n <= 2)
    return regd_route_networks (d, r, parts[1]);
  if (strcmp (parts[0], "networks") == 0 && strcmp (r->method, "POST") == 0)
    return regd_route_network_link (d, r, parts[1], parts[2]);
  if (strcmp (parts[0], "volumes") == 0 && n <= 2)
    return regd_route_volumes (d, r, parts[1]);
  if (strcmp (parts[0], "templates") == 0 && n <= 2)
    return regd_route_templates (d, r, parts[1]);
  if ((strcmp (parts[0], "system") == 0 || strcmp (parts[0], "store") == 0
       || strcmp (parts[0], "version") == 0)
      && n <= 2)
    return regd_route_system (d, r, n == 2 ? parts[1] : parts[0]);
  return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s %s", r->method, url);
}

/* Constant-time check of "Authorization: Bearer TOKEN". */
static bool
token_ok (struct regd *d, struct MHD_Connection *conn)
{
  const char *h = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, "Authorization");
  if (h == NULL || strncmp (h, "Bearer ", 7) != 0)
    return false;
  size_t a = strlen (h + 7), b = strlen (d->token);
  return a == b && CRYPTO_memcmp (h + 7, d->token, b) == 0;
}

static enum MHD_Result
on_request_common (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                   const char *upload_data, size_t *upload_data_size, void **con_cls, bool tls)
{
  struct regd *d = cls;
  struct request *r = *con_cls;
  if (r == NULL)
    {
      r = calloc (1, sizeof *r);
      if (r == NULL)
        return MHD_NO;
      r->conn = conn;
      r->method = method;
      r->sink_fd = -1;
      if (tls)
        regd_tls_headers_done (d, conn);
      if (tls && !token_ok (d, conn))
        {
          /* Answered now, before any of the body is read: libmicrohttpd
           * then closes the connection instead of taking the body in. */
          r->denied = true;
          *con_cls = r;
          return regd_reply_message (r, MHD_HTTP_UNAUTHORIZED,
                                     "unauthorized: this regd wants \"Authorization: Bearer "
                                     "TOKEN\" (reg --token T, or REG_TOKEN)");
        }
      if (tls)
        {
          /* Trusted from here: a wait or a log stream may be idle for long. */
          r->tls_authed = true;
          MHD_set_connection_option (conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
        }
      /* A route whose body streams (input) opens its sink now, before
       * the body (its table row says so). */
      r->sink_route = sink_route (method, url, r->sink_arg, sizeof r->sink_arg);
      if (r->sink_route)
        {
          r->streaming = true;
          r->sink_route->sink_open (d, r, r->sink_arg);
        }
      *con_cls = r;
      return MHD_YES;
    }
  if (r->denied)
    {
      *upload_data_size = 0; /* not reached: the reply is queued, the body never read */
      return MHD_NO;
    }
  if (*upload_data_size > 0 && r->streaming)
    {
      const char *data = upload_data;
      size_t left = *upload_data_size;
      *upload_data_size = 0;
      while (r->sink_fd >= 0 && left > 0)
        {
          ssize_t w = write (r->sink_fd, data, left);
          if (w < 0 && errno == EINTR)
            continue;
          if (w <= 0)
            break; /* the process is gone: drop the rest */
          data += w;
          left -= (size_t)w;
        }
      return MHD_YES;
    }
  if (*upload_data_size > 0)
    {
      size_t n = *upload_data_size;
      *upload_data_size = 0;
      if (r->too_big || r->body_len + n > REGD_MAX_BODY)
        {
          r->too_big = true;
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
  return dispatch (cls, r, url);
}

static enum MHD_Result
on_request (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
            const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
  return on_request_common (cls, conn, url, method, upload_data, upload_data_size, con_cls, false);
}

static enum MHD_Result
on_request_tls (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                const char *version, const char *upload_data, size_t *upload_data_size,
                void **con_cls)
{
  return on_request_common (cls, conn, url, method, upload_data, upload_data_size, con_cls, true);
}

static void
on_completed (void *cls, struct MHD_Connection *conn, void **con_cls,
              enum MHD_RequestTerminationCode toe)
{
  struct request *r = *con_cls;
  if (r == NULL)
    return;
  if (r->tls_authed)
    {
      /* Idle again between requests: the timeout applies once more. */
      const struct regd *d = cls;
      MHD_set_connection_option (conn, MHD_CONNECTION_OPTION_TIMEOUT, d->tls_timeout_s);
    }
  if (r->sink_fd >= 0)
    close (r->sink_fd);
  if (r->sink_route && r->sink_route->sink_done)
    r->sink_route->sink_done (cls, r, r->sink_arg);
  reg_error_free (r->sink_err);
  free (r->body);
  free (r);
  *con_cls = NULL;
}

int
regd_start (struct regd *d, int listen_fd, struct reg_error **err)
{
  /* poll, not select: a descriptor above FD_SETSIZE is served too. */
  d->httpd = MHD_start_daemon (
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
      NULL, on_request, d, MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_NOTIFY_COMPLETED,
      on_completed, d, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0, MHD_OPTION_END);
  if (d->httpd == NULL)
    return reg_error_set (err, EIO, "regd: cannot start the HTTP server on the API socket");
  return 0;
}

int
regd_start_tls (struct regd *d, const struct regd_tls_options *o, struct reg_error **err)
{
  char *cert = NULL, *key = NULL;
  _cleanup_free_ char *token = NULL;
  if (reg_util_read_file (o->cert_file, 1 << 20, &cert, NULL, err) < 0
      || reg_util_read_file (o->key_file, 1 << 20, &key, NULL, err) < 0
      || reg_util_read_file (o->token_file, 4096, &token, NULL, err) < 0)
    {
      free (cert);
      free (key);
      return reg_error_prefix (err, "regd --tls-listen");
    }
  d->tls_cert = cert;
  d->tls_key = key;
  token[strcspn (token, "\r\n")] = '\0';
  if (strlen (token) < 16)
    return reg_error_set (err, EINVAL,
                          "regd --tls-listen: the token in %s is shorter than 16 characters",
                          o->token_file);
  /* ADDR:PORT, IPv4 or [IPv6]. */
  _cleanup_free_ char *host = strdup (o->listen);
  char *colon = host ? strrchr (host, ':') : NULL;
  if (colon == NULL)
    // cppcheck-suppress memleak ; host has a cleanup attribute
    return reg_error_set (err, EINVAL, "regd --tls-listen %s: want ADDR:PORT", o->listen);
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
    return reg_error_set (err, EINVAL, "regd --tls-listen %s: not a numeric ADDR:PORT", o->listen);
  d->token = reg_steal (&token);

  unsigned max_conn = o->max_connections ? o->max_connections : REGD_TLS_MAX_CONNECTIONS;
  unsigned per_client = o->max_per_client ? o->max_per_client : REGD_TLS_MAX_PER_CLIENT;
  d->tls_timeout_s = o->timeout_s ? o->timeout_s : REGD_TLS_TIMEOUT_S;
  if (regd_tls_watchdog_start (d, err) < 0)
    {
      freeaddrinfo (ai);
      return -1;
    }
  d->tls = MHD_start_daemon (
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_TLS
          | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
      0, NULL, NULL, on_request_tls, d, MHD_OPTION_EXTERNAL_LOGGER, regd_tls_log, d,
      MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY,
      key, MHD_OPTION_NOTIFY_COMPLETED, on_completed, d, MHD_OPTION_NOTIFY_CONNECTION,
      regd_tls_on_connection, d, MHD_OPTION_CONNECTION_LIMIT, max_conn,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_client, MHD_OPTION_CONNECTION_TIMEOUT,
      d->tls_timeout_s, MHD_OPTION_END);
  freeaddrinfo (ai);
  if (d->tls == NULL)
    return reg_error_set (err, EIO,
                          "regd --tls-listen %s: cannot serve TLS there (address in use, or a bad "
                          "certificate or key)",
                          o->listen);
  return 0;
}
