#include "client.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct reg_client
{
  CURL *curl;
  char *socket_path; /* unix:// */
  char *base;        /* "http://regd" or "https://HOST:PORT" */
  char *ca_file;     /* tcp://: the CA that signed regd's certificate */
  char *auth;        /* tcp://: "Authorization: Bearer TOKEN" */
};

struct buffer
{
  char *data;
  size_t len;
};

struct stream_state
{
  struct reg_client *c;
  CURL *h;
  struct buffer body;   /* error replies */
  unsigned char *frame; /* partial frame */
  size_t frame_len, frame_cap;
  int *exit_code;
  long status;
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
  bool ok = c && (c->curl = curl_easy_init ()) != NULL;
  if (ok && tcp)
    ok = asprintf (&c->base, "https://%s", host + 6) > 0
         && asprintf (&c->auth, "Authorization: Bearer %s", token) > 0
         && (ca_file == NULL || (c->ca_file = strdup (ca_file)) != NULL)
         && (c->socket_path = strdup (host)) != NULL;
  else if (ok)
    ok = (c->base = strdup ("http://regd")) != NULL && (c->socket_path = strdup (host + 7)) != NULL;
  if (!ok)
    {
      fprintf (stderr, "reg: out of memory\n");
      client_close (c);
      return NULL;
    }
  return c;
}

/* Where and how: the UNIX socket, or TLS with the CA and the token. */
static struct curl_slist *
connect_opts (struct reg_client *c, CURL *h, const char *path, struct curl_slist *headers)
{
  char url[2048];
  snprintf (url, sizeof url, "%s%s", c->base, path);
  curl_easy_setopt (h, CURLOPT_URL, url);
  if (c->auth == NULL)
    {
      curl_easy_setopt (h, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
      return headers;
    }
  curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "https"); /* never plain text */
  if (c->ca_file)
    curl_easy_setopt (h, CURLOPT_CAINFO, c->ca_file);
  return curl_slist_append (headers, c->auth);
}

void
client_close (struct reg_client *c)
{
  if (c == NULL)
    return;
  if (c->curl)
    curl_easy_cleanup (c->curl);
  free (c->socket_path);
  free (c->base);
  free (c->ca_file);
  free (c->auth);
  free (c);
}

char *
client_escape (struct reg_client *c, const char *segment)
{
  char *e = curl_easy_escape (c->curl, segment, 0);
  char *out = e ? strdup (e) : NULL;
  curl_free (e);
  return out;
}

static size_t
discard (char *ptr, size_t size, size_t n, void *data)
{
  return size * n;
}

static size_t
collect (char *ptr, size_t size, size_t n, void *data)
{
  struct buffer *b = data;
  size_t len = size * n;
  char *nd = realloc (b->data, b->len + len + 1);
  if (nd == NULL)
    return 0;
  memcpy (nd + b->len, ptr, len);
  b->data = nd;
  b->len += len;
  b->data[b->len] = '\0';
  return len;
}

static int
report_transport (struct reg_client *c, CURLcode rc)
{
  long os_errno = 0;
  curl_easy_getinfo (c->curl, CURLINFO_OS_ERRNO, &os_errno);
  if (rc == CURLE_COULDNT_CONNECT && c->auth)
    fprintf (stderr, "reg: cannot reach regd at %s (%s). Is it started with --tls-listen?\n",
             c->socket_path, os_errno ? strerror ((int)os_errno) : "connection refused");
  else if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR
           || rc == CURLE_SSL_CACERT_BADFILE)
    fprintf (stderr, "reg: TLS with %s failed: %s (is --tls-ca the CA of regd's certificate?)\n",
             c->socket_path, curl_easy_strerror (rc));
  else if (rc == CURLE_COULDNT_CONNECT)
    fprintf (stderr,
             "reg: cannot reach regd at %s (%s). Is regd running? Start it as root with "
             "`regd &` (or `regd --root DIR --socket PATH &`), or point reg at it with "
             "-H unix:///PATH or REG_HOST.\n",
             c->socket_path, os_errno ? strerror ((int)os_errno) : "connection refused");
  else
    fprintf (stderr, "reg: request to regd at %s failed: %s\n", c->socket_path,
             curl_easy_strerror (rc));
  return -1;
}

static struct curl_slist *
prepare_on (struct reg_client *c, CURL *h, const char *method, const char *path, json_t *body,
            char **body_text)
{
  curl_easy_reset (h);
  curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  struct curl_slist *headers = curl_slist_append (NULL, "Content-Type: application/json");
  headers = curl_slist_append (headers, "Expect:"); /* no 100-continue round trip */
  headers = connect_opts (c, h, path, headers);
  curl_easy_setopt (h, CURLOPT_HTTPHEADER, headers);
  *body_text = body ? json_dumps (body, JSON_COMPACT) : NULL;
  if (*body_text)
    {
      curl_easy_setopt (h, CURLOPT_POSTFIELDS, *body_text);
      curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE, (long)strlen (*body_text));
    }
  return headers;
}

static struct curl_slist *
prepare (struct reg_client *c, const char *method, const char *path, json_t *body, char **body_text)
{
  return prepare_on (c, c->curl, method, path, body, body_text);
}

static json_t *
parse_reply (const struct buffer *b)
{
  return b->len ? json_loadb (b->data, b->len, 0, NULL) : NULL;
}

/* Run the prepared request on c->curl, handing the response body to
 * write_fn. Returns the HTTP status, or -1 after reporting a transport
 * failure. */
static long
perform (struct reg_client *c, curl_write_callback write_fn, void *write_data)
{
  curl_easy_setopt (c->curl, CURLOPT_WRITEFUNCTION, write_fn);
  curl_easy_setopt (c->curl, CURLOPT_WRITEDATA, write_data);
  CURLcode rc = curl_easy_perform (c->curl);
  if (rc != CURLE_OK)
    return report_transport (c, rc);
  long status = -1;
  curl_easy_getinfo (c->curl, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

long
client_call (struct reg_client *c, const char *method, const char *path, json_t *body,
             json_t **reply)
{
  char *body_text = NULL;
  struct curl_slist *headers = prepare (c, method, path, body, &body_text);
  struct buffer b = { 0 };
  long status = perform (c, collect, &b);
  if (reply)
    *reply = status >= 0 ? parse_reply (&b) : NULL;
  free (b.data);
  free (body_text);
  curl_slist_free_all (headers);
  return status;
}

/* Deliver every complete frame in s->frame; keep the incomplete tail. */
static void
drain_frames (struct stream_state *s)
{
  size_t off = 0;
  while (s->frame_len - off >= 8)
    {
      const unsigned char *h = s->frame + off;
      size_t len = ((size_t)h[4] << 24) | ((size_t)h[5] << 16) | ((size_t)h[6] << 8) | h[7];
      if (s->frame_len - off - 8 < len)
        break;
      const unsigned char *p = h + 8;
      if (h[0] == 1 || h[0] == 2)
        reg_util_write_all (h[0], p, len);
      else if (h[0] == 3 && len == 4)
        *s->exit_code
            = (int)(((unsigned)p[0] << 24) | ((unsigned)p[1] << 16) | ((unsigned)p[2] << 8) | p[3]);
      off += 8 + len;
    }
  memmove (s->frame, s->frame + off, s->frame_len - off);
  s->frame_len -= off;
}

static size_t
on_stream (char *ptr, size_t size, size_t n, void *data)
{
  struct stream_state *s = data;
  size_t len = size * n;
  if (s->status == 0)
    curl_easy_getinfo (s->h, CURLINFO_RESPONSE_CODE, &s->status);
  if (s->status != 200)
    return collect (ptr, size, n, &s->body);
  if (s->frame_len + len > s->frame_cap)
    {
      size_t cap = (s->frame_len + len) * 2;
      unsigned char *nf = realloc (s->frame, cap);
      if (nf == NULL)
        return 0;
      s->frame = nf;
      s->frame_cap = cap;
    }
  memcpy (s->frame + s->frame_len, ptr, len);
  s->frame_len += len;
  drain_frames (s);
  return len;
}

long
client_stream (struct reg_client *c, const char *method, const char *path, json_t *body,
               int *exit_code, json_t **reply)
{
  char *body_text = NULL;
  struct curl_slist *headers = prepare (c, method, path, body, &body_text);
  struct stream_state s = { .c = c, .h = c->curl, .exit_code = exit_code };
  *exit_code = -1;
  long status = perform (c, on_stream, &s);
  if (reply)
    *reply = status >= 0 ? parse_reply (&s.body) : NULL;
  free (s.body.data);
  free (s.frame);
  free (body_text);
  curl_slist_free_all (headers);
  return status;
}

struct lines_state
{
  CURL *h;
  long status;
  struct buffer buf;
  client_line_fn fn;
  void *data;
};

static size_t
on_lines (char *ptr, size_t size, size_t n, void *data)
{
  struct lines_state *s = data;
  if (s->status == 0)
    curl_easy_getinfo (s->h, CURLINFO_RESPONSE_CODE, &s->status);
  if (collect (ptr, size, n, &s->buf) != size * n)
    return 0;
  if (s->status != 200)
    return size * n;
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
  return size * n;
}

long
client_lines (struct reg_client *c, const char *path, json_t *body, client_line_fn fn, void *data,
              json_t **reply)
{
  char *body_text = NULL;
  struct curl_slist *headers = prepare (c, "POST", path, body, &body_text);
  struct lines_state s = { .h = c->curl, .fn = fn, .data = data };
  long status = perform (c, on_lines, &s);
  if (reply)
    *reply = status >= 0 && status != 200 ? parse_reply (&s.buf) : NULL;
  free (s.buf.data);
  free (body_text);
  curl_slist_free_all (headers);
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

/* ---- concurrent streams (reg exec) ---- */

struct client_stream
{
  struct stream_state st;
  struct curl_slist *headers;
  char *body_text;
};

struct client_stream *
client_stream_new (struct reg_client *c, const char *method, const char *path, json_t *body,
                   int *exit_code)
{
  struct client_stream *s = calloc (1, sizeof *s);
  CURL *h = s ? curl_easy_init () : NULL;
  if (h == NULL)
    {
      free (s);
      return NULL;
    }
  s->st.c = c;
  s->st.h = h;
  s->st.exit_code = exit_code;
  *exit_code = -1;
  s->headers = prepare_on (c, h, method, path, body, &s->body_text);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, on_stream);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, &s->st);
  return s;
}

CURL *
client_stream_easy (struct client_stream *s)
{
  return s->st.h;
}

long
client_stream_finish (struct client_stream *s, CURLcode rc, json_t **reply)
{
  long status = -1;
  if (rc != CURLE_OK)
    report_transport (s->st.c, rc);
  else
    curl_easy_getinfo (s->st.h, CURLINFO_RESPONSE_CODE, &status);
  if (reply)
    *reply = rc == CURLE_OK ? parse_reply (&s->st.body) : NULL;
  curl_easy_cleanup (s->st.h);
  free (s->st.body.data);
  free (s->st.frame);
  free (s->body_text);
  curl_slist_free_all (s->headers);
  free (s);
  return status;
}

CURL *
client_upload_new (struct reg_client *c, const char *path, curl_read_callback fn, void *data,
                   struct curl_slist **headers)
{
  CURL *h = curl_easy_init ();
  if (h == NULL)
    return NULL;
  curl_easy_setopt (h, CURLOPT_POST, 1L);
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_READFUNCTION, fn);
  curl_easy_setopt (h, CURLOPT_READDATA, data);
  /* Chunked: the input is sent as it is typed, without a known length. */
  *headers = curl_slist_append (NULL, "Transfer-Encoding: chunked");
  *headers = curl_slist_append (*headers, "Expect:");
  *headers = connect_opts (c, h, path, *headers);
  curl_easy_setopt (h, CURLOPT_HTTPHEADER, *headers);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, discard);
  return h;
}
