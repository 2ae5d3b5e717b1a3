#include "client.h"
#include "http.h"
#include "proto.h"
#include "tls.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The largest reply body kept whole (JSON replies, error replies). */
#define CLIENT_MAX_REPLY ((size_t)256 << 20)

struct reg_client
{
  char *address; /* the socket's path, or "HOST:PORT" for tcp:// */
  bool tls;
  char *ca_file; /* tcp://: the CA that signed regd's certificate */
  char *auth;    /* tcp://: "Authorization: Bearer TOKEN" */
};

/* One connection: the UNIX socket, or TLS through libcurl. */
struct conn
{
  int fd;
  struct reg_tls *tls;
};

struct buffer
{
  char *data;
  size_t len;
};

/* One request on its own connection, its reply parsed as it arrives. */
struct request
{
  struct reg_client *c;
  struct conn k;
  struct reg_http_response *resp;
  int send_errno; /* sending failed: regd may still have replied, and closed */
  bool received;  /* any byte of a reply */
  bool failed;
};

struct reg_client *
client_open (const char *host, const char *ca_file, const char *token)
{
  bool tcp = strncmp (host, "tcp://", 6) == 0 && host[6] != '\0';
  if (!tcp && (strncmp (host, "unix://", 7) != 0 || host[7] != '/'))
    {
      fprintf (stderr, "reg: host \"%s\" is not supported: use unix:///PATH or tcp://HOST:PORT\n",
               host);
      return NULL;
    }
  if (tcp && (token == NULL || *token == '\0'))
    {
      fprintf (stderr, "reg: %s needs a token: --token T or REG_TOKEN\n", host);
      return NULL;
    }
  struct reg_client *c = calloc (1, sizeof *c);
  bool ok = c != NULL;
  if (ok && tcp)
    ok = (c->address = strdup (host + 6)) != NULL
         && asprintf (&c->auth, "Authorization: Bearer %s", token) > 0
         && (ca_file == NULL || (c->ca_file = strdup (ca_file)) != NULL);
  else if (ok)
    ok = (c->address = strdup (host + 7)) != NULL;
  if (ok && tcp)
    c->tls = true;
  if (!ok)
    {
      fprintf (stderr, "reg: out of memory\n");
      client_close (c);
      return NULL;
    }
  return c;
}

void
client_close (struct reg_client *c)
{
  if (c == NULL)
    return;
  free (c->address);
  free (c->ca_file);
  free (c->auth);
  free (c);
}

char *
client_escape (struct reg_client *c, const char *segment)
{
  return reg_http_escape (segment);
}

/* ---- connections ---- */

static int
unix_connect (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof addr.sun_path)
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  strcpy (addr.sun_path, path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (connect (fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    {
      int e = errno;
      close (fd);
      errno = e;
      return -1;
    }
  return fd;
}

static int
conn_open (struct reg_client *c, struct conn *k)
{
  k->fd = -1;
  k->tls = NULL;
  if (!c->tls)
    {
      k->fd = unix_connect (c->address);
      if (k->fd >= 0)
        return 0;
      fprintf (stderr,
               "reg: cannot reach regd at %s (%s). Is regd running? Start it as root with "
               "`regd &` (or `regd --root DIR --socket PATH &`), or point reg at it with "
               "-H unix:///PATH or REG_HOST.\n",
               c->address, strerror (errno));
      return -1;
    }
  char *err = NULL;
  k->tls = reg_tls_connect (c->address, c->ca_file, &err);
  if (k->tls == NULL)
    {
      fprintf (stderr, "reg: %s\n", err ? err : "out of memory");
      free (err);
      return -1;
    }
  k->fd = reg_tls_fd (k->tls);
  return 0;
}

static void
conn_close (struct conn *k)
{
  if (k->tls)
    reg_tls_close (k->tls); /* closes its socket */
  else if (k->fd >= 0)
    close (k->fd);
  k->tls = NULL;
  k->fd = -1;
}

/* What has arrived, without waiting: > 0, 0 at the end, -1 with errno
 * (EAGAIN: nothing now). */
static ssize_t
conn_recv (struct conn *k, void *buf, size_t len)
{
  if (k->tls)
    return reg_tls_recv (k->tls, buf, len);
  ssize_t n;
  do
    n = recv (k->fd, buf, len, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  return n;
}

static int
conn_wait (struct conn *k, short events)
{
  struct pollfd p = { .fd = k->fd, .events = events };
  int n;
  do
    n = poll (&p, 1, -1);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -1 : 0;
}

static int
conn_send_all (struct conn *k, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = k->tls ? reg_tls_send (k->tls, p, len) : send (k->fd, p, len, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN && conn_wait (k, POLLOUT) == 0)
        continue;
      if (n <= 0)
        return -1;
      p += n;
      len -= (size_t)n;
    }
  return 0;
}

/* ---- requests ---- */

static void
report (struct request *q, const char *what)
{
  /* Without a reply, what went wrong first is the sending. */
  if (q->send_errno && !q->received)
    what = strerror (q->send_errno);
  if (!q->failed)
    fprintf (stderr, "reg: request to regd at %s%s failed: %s\n", q->c->tls ? "tcp://" : "",
             q->c->address, what);
  q->failed = true;
}

/* Connect and send the head and the body (chunks follow when body_len is
 * REG_HTTP_CHUNKED). -1 after reporting. */
static int
request_open (struct request *q, struct reg_client *c, const char *method, const char *path,
              const char *content_type, const char *body, size_t body_len, reg_http_body_fn fn,
              void *data)
{
  *q = (struct request){ .c = c, .k = { .fd = -1 } };
  q->resp = reg_http_response_new (fn, data);
  const char *headers[3] = { content_type, c->auth, NULL };
  if (content_type == NULL)
    headers[0] = c->auth, headers[1] = NULL;
  size_t head_len = 0;
  char *head = reg_http_request_head (method, path, c->tls ? c->address : "regd", headers, body_len,
                                      &head_len);
  int ret = -1;
  if (q->resp == NULL || head == NULL)
    {
      fprintf (stderr, "reg: request %s %s: %s\n", method, path,
               errno == EINVAL ? "not a valid request" : strerror (errno));
      q->failed = true;
    }
  else if (conn_open (c, &q->k) < 0)
    q->failed = true;
  else
    {
      if (conn_send_all (&q->k, head, head_len) < 0
          || (body_len != REG_HTTP_CHUNKED && body_len > 0
              && conn_send_all (&q->k, body, body_len) < 0))
        q->send_errno = errno;
      ret = 0;
    }
  free (head);
  return ret;
}

/* Take in what has arrived: 1 when the reply is complete, 0 when more is to
 * come, -1 after a failure (reported). */
static int
request_pump (struct request *q)
{
  if (q->failed)
    return -1;
  char buf[64 * 1024];
  for (;;)
    {
      if (reg_http_response_done (q->resp))
        return 1;
      ssize_t n = conn_recv (&q->k, buf, sizeof buf);
      if (n < 0 && errno == EAGAIN)
        return 0;
      if (n < 0)
        {
          report (q, strerror (errno));
          return -1;
        }
      char *err = NULL;
      q->received |= n > 0;
      if (reg_http_response_feed (q->resp, buf, (size_t)n, &err) < 0)
        {
          report (q, err ? err : "out of memory");
          free (err);
          return -1;
        }
    }
}

/* Until the reply is complete: its status, or -1. */
static long
request_wait (struct request *q)
{
  int r;
  while ((r = request_pump (q)) == 0)
    if (conn_wait (&q->k, POLLIN) < 0)
      {
        report (q, strerror (errno));
        return -1;
      }
  return r < 0 ? -1 : reg_http_response_status (q->resp);
}

static void
request_close (struct request *q)
{
  conn_close (&q->k);
  reg_http_response_free (q->resp);
  q->resp = NULL;
}

/* ---- reply bodies ---- */

static int
collect (struct buffer *b, const char *at, size_t len)
{
  if (b->len + len > CLIENT_MAX_REPLY)
    return -1;
  char *nd = realloc (b->data, b->len + len + 1);
  if (nd == NULL)
    return -1;
  memcpy (nd + b->len, at, len);
  b->data = nd;
  b->len += len;
  b->data[b->len] = '\0';
  return 0;
}

static int
on_collect (void *data, int status, const char *at, size_t len)
{
  return collect (data, at, len);
}

static json_t *
parse_reply (const struct buffer *b)
{
  return b->len ? json_loadb (b->data, b->len, 0, NULL) : NULL;
}

static char *
dump (json_t *body, size_t *len)
{
  char *text = body ? json_dumps (body, JSON_COMPACT) : NULL;
  *len = text ? strlen (text) : 0;
  return text;
}

static long
exchange_raw (struct reg_client *c, const char *method, const char *path, const char *content_type,
              const char *body, size_t len, reg_http_body_fn fn, void *data)
{
  struct request q;
  long status = request_open (&q, c, method, path, content_type, body, len, fn, data) < 0
                    ? -1
                    : request_wait (&q);
  request_close (&q);
  return status;
}

static long
exchange (struct reg_client *c, const char *method, const char *path, json_t *body,
          reg_http_body_fn fn, void *data)
{
  size_t len = 0;
  char *text = dump (body, &len);
  long status = exchange_raw (c, method, path, text ? "Content-Type: application/json" : NULL, text,
                              len, fn, data);
  free (text);
  return status;
}

long
client_post_data (struct reg_client *c, const char *path, const char *content_type,
                  const void *data, size_t len, json_t **reply)
{
  _cleanup_free_ char *header = NULL;
  if (asprintf (&header, "Content-Type: %s", content_type) < 0)
    {
      fprintf (stderr, "reg: out of memory\n");
      return -1;
    }
  struct buffer b = { 0 };
  long status = exchange_raw (c, "POST", path, header, data, len, on_collect, &b);
  if (reply)
    *reply = status >= 0 ? parse_reply (&b) : NULL;
  free (b.data);
  return status;
}

long
client_call (struct reg_client *c, const char *method, const char *path, json_t *body,
             json_t **reply)
{
  struct buffer b = { 0 };
  long status = exchange (c, method, path, body, on_collect, &b);
  if (reply)
    *reply = status >= 0 ? parse_reply (&b) : NULL;
  free (b.data);
  return status;
}

/* ---- attach frames ---- */

struct frames
{
  struct buffer body; /* error replies */
  struct reg_frame_reader reader;
  int *exit_code;
  client_id_fn on_id; /* run in one request: the id frame */
  void *id_data;
};

/* stdout and stderr frames to ours; the exit frame's code kept. */
static int
on_frame (void *data, int stream, const unsigned char *payload, size_t len, int exit_code)
{
  struct frames *s = data;
  if (stream == REG_FRAME_STDOUT || stream == REG_FRAME_STDERR)
    reg_util_write_all (stream, payload, len);
  else if (stream == REG_FRAME_EXIT)
    *s->exit_code = exit_code;
  else if (stream == REG_FRAME_ID && s->on_id && len == 64)
    {
      char id[65];
      memcpy (id, payload, 64);
      id[64] = '\0';
      s->on_id (s->id_data, id);
    }
  return 0;
}

static int
on_frames (void *data, int status, const char *at, size_t len)
{
  struct frames *s = data;
  if (status != 200)
    return collect (&s->body, at, len);
  return reg_proto_frame_feed (&s->reader, at, len, on_frame, s);
}

long
client_stream (struct reg_client *c, const char *method, const char *path, json_t *body,
               int *exit_code, json_t **reply)
{
  struct frames s = { .exit_code = exit_code };
  *exit_code = -1;
  long status = exchange (c, method, path, body, on_frames, &s);
  if (reply)
    *reply = status >= 0 ? parse_reply (&s.body) : NULL;
  free (s.body.data);
  reg_proto_frame_reader_clear (&s.reader);
  return status;
}

long
client_run_stream (struct reg_client *c, const char *path, json_t *body, int *exit_code,
                   client_id_fn on_id, void *id_data, json_t **reply)
{
  struct frames s = { .exit_code = exit_code, .on_id = on_id, .id_data = id_data };
  *exit_code = -1;
  long status = exchange (c, "POST", path, body, on_frames, &s);
  if (reply)
    *reply = status >= 0 ? parse_reply (&s.body) : NULL;
  free (s.body.data);
  reg_proto_frame_reader_clear (&s.reader);
  return status;
}

/* ---- JSON lines ---- */

struct lines
{
  struct buffer buf;
  client_line_fn fn;
  void *data;
};

static int
on_lines (void *data, int status, const char *at, size_t len)
{
  struct lines *s = data;
  if (collect (&s->buf, at, len) < 0)
    return -1;
  if (status != 200)
    return 0;
  char *nl;
  size_t off = 0;
  while ((nl = memchr (s->buf.data + off, '\n', s->buf.len - off)) != NULL)
    {
      json_t *j = json_loadb (s->buf.data + off, nl - (s->buf.data + off), 0, NULL);
      if (j)
        s->fn (s->data, j);
      json_decref (j);
      off = nl - s->buf.data + 1;
    }
  memmove (s->buf.data, s->buf.data + off, s->buf.len - off);
  s->buf.len -= off;
  return 0;
}

long
client_lines (struct reg_client *c, const char *path, json_t *body, client_line_fn fn, void *data,
              json_t **reply)
{
  struct lines s = { .fn = fn, .data = data };
  long status = exchange (c, "POST", path, body, on_lines, &s);
  if (reply)
    *reply = status >= 0 && status != 200 ? parse_reply (&s.buf) : NULL;
  free (s.buf.data);
  return status;
}

int
client_fail (const char *context, long status, json_t *reply)
{
  if (status < 0)
    return 1; /* transport failure, already reported */
  const char *msg = json_string_value (json_object_get (reply, "message"));
  if (msg == NULL)
    fprintf (stderr, "reg: %s%sunexpected reply from regd (HTTP %ld)\n", context ? context : "",
             context ? ": " : "", status);
  else
    fprintf (stderr, "reg: %s%s%s\n", context ? context : "", context ? ": " : "", msg);
  return 1;
}

/* ---- concurrent requests (reg exec, run -i) ---- */

struct client_stream
{
  struct request q;
  struct frames frames;
};

static int
on_discard (void *data, int status, const char *at, size_t len)
{
  return 0;
}

struct client_stream *
client_stream_new (struct reg_client *c, const char *method, const char *path, json_t *body,
                   int *exit_code)
{
  struct client_stream *s = calloc (1, sizeof *s);
  if (s == NULL)
    {
      fprintf (stderr, "reg: out of memory\n");
      return NULL;
    }
  s->frames.exit_code = exit_code;
  *exit_code = -1;
  size_t len = 0;
  char *text = dump (body, &len);
  int r = request_open (&s->q, c, method, path, text ? "Content-Type: application/json" : NULL,
                        text, len, on_frames, &s->frames);
  free (text);
  if (r < 0)
    {
      client_stream_finish (s, NULL);
      return NULL;
    }
  return s;
}

struct client_stream *
client_upload_new (struct reg_client *c, const char *path)
{
  struct client_stream *s = calloc (1, sizeof *s);
  if (s == NULL)
    {
      fprintf (stderr, "reg: out of memory\n");
      return NULL;
    }
  if (request_open (&s->q, c, "POST", path, "Content-Type: application/octet-stream", NULL,
                    REG_HTTP_CHUNKED, on_discard, NULL)
      < 0)
    {
      client_stream_finish (s, NULL);
      return NULL;
    }
  return s;
}

int
client_stream_fd (const struct client_stream *s)
{
  return s->q.k.fd;
}

int
client_stream_pump (struct client_stream *s)
{
  return request_pump (&s->q);
}

int
client_upload_send (struct client_stream *s, const void *buf, size_t len)
{
  size_t n = 0;
  char *chunk = reg_http_chunk (buf, len, &n);
  int r = chunk ? conn_send_all (&s->q.k, chunk, n) : -1;
  if (r < 0)
    report (&s->q, chunk ? strerror (errno) : "out of memory");
  free (chunk);
  return r;
}

long
client_stream_finish (struct client_stream *s, json_t **reply)
{
  long status = -1;
  if (!s->q.failed && s->q.resp && reg_http_response_done (s->q.resp))
    status = reg_http_response_status (s->q.resp);
  if (reply)
    *reply = status >= 0 ? parse_reply (&s->frames.body) : NULL;
  request_close (&s->q);
  free (s->frames.body.data);
  reg_proto_frame_reader_clear (&s->frames.reader);
  free (s);
  return status;
}
