#include "http.h"

#include <errno.h>
#include <http_parser.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reg_http_response
{
  http_parser parser;
  reg_http_body_fn fn;
  void *data;
  int status; /* the final reply's, once its headers are complete */
  bool done;
  bool refused; /* fn refused the body */
  char *error;  /* sticky */
};

/* ---- the request ---- */

static bool
is_token (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (*s < 'A' || *s > 'Z')
      return false;
  return true;
}

/* Printable ASCII without spaces: what a request target may hold once
 * percent-encoded, and a Host. */
static bool
is_visible (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
      return false;
  return true;
}

/* "Name: value" on one line: a name of visible bytes without ':', a value
 * of visible bytes, spaces and tabs. */
static bool
is_header_line (const char *h)
{
  const char *colon = strchr (h, ':');
  if (colon == NULL || colon == h || colon[1] != ' ')
    return false;
  for (const char *p = h; p < colon; p++)
    if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
      return false;
  for (const char *p = colon + 1; *p; p++)
    if (((unsigned char)*p < 0x20 && *p != '\t') || (unsigned char)*p == 0x7f)
      return false;
  return true;
}

char *
reg_http_request_head (const char *method, const char *path, const char *host,
                       const char *const *headers, size_t body_len, size_t *len)
{
  if (!is_token (method) || path[0] != '/' || !is_visible (path) || !is_visible (host))
    {
      errno = EINVAL;
      return NULL;
    }
  for (size_t i = 0; headers && headers[i]; i++)
    if (!is_header_line (headers[i]))
      {
        errno = EINVAL;
        return NULL;
      }
  char *out = NULL;
  size_t size = 0;
  FILE *f = open_memstream (&out, &size);
  if (f == NULL)
    return NULL;
  fprintf (f, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, host);
  for (size_t i = 0; headers && headers[i]; i++)
    fprintf (f, "%s\r\n", headers[i]);
  fputs ("Connection: close\r\n", f);
  if (body_len == REG_HTTP_CHUNKED)
    fputs ("Transfer-Encoding: chunked\r\n", f);
  else if (body_len > 0)
    fprintf (f, "Content-Length: %zu\r\n", body_len);
  fputs ("\r\n", f);
  if (fclose (f) != 0)
    {
      free (out);
      errno = ENOMEM;
      return NULL;
    }
  *len = size;
  return out;
}

char *
reg_http_chunk (const void *data, size_t len, size_t *out_len)
{
  char head[32];
  int n = snprintf (head, sizeof head, "%zx\r\n", len);
  size_t total = (size_t)n + len + 2;
  char *out = malloc (total);
  if (out == NULL)
    return NULL;
  memcpy (out, head, (size_t)n);
  if (len > 0)
    memcpy (out + n, data, len);
  memcpy (out + n + len, "\r\n", 2);
  *out_len = total;
  return out;
}

char *
reg_http_escape (const char *segment)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen (segment);
  char *out = malloc (3 * n + 1), *o = out;
  if (out == NULL)
    return NULL;
  for (const unsigned char *p = (const unsigned char *)segment; *p; p++)
    if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
        || *p == '-' || *p == '.' || *p == '_' || *p == '~')
      *o++ = (char)*p;
    else
      {
        *o++ = '%';
        *o++ = hex[*p >> 4];
        *o++ = hex[*p & 15];
      }
  *o = '\0';
  return out;
}

/* ---- the response ---- */

static int
on_message_begin (http_parser *p)
{
  struct reg_http_response *r = p->data;
  return r->done ? -1 : 0; /* one reply per connection: nothing after it */
}

static int
on_headers_complete (http_parser *p)
{
  struct reg_http_response *r = p->data;
  if (p->status_code >= 200)
    r->status = p->status_code;
  return 0;
}

static int
on_body (http_parser *p, const char *at, size_t len)
{
  struct reg_http_response *r = p->data;
  if (r->status == 0 || r->fn == NULL)
    return 0; /* an interim reply's body: not ours */
  if (r->fn (r->data, r->status, at, len) < 0)
    {
      r->refused = true;
      return -1;
    }
  return 0;
}

static int
on_message_complete (http_parser *p)
{
  struct reg_http_response *r = p->data;
  if (r->status != 0)
    r->done = true; /* else an interim 1xx reply: the final one follows */
  return 0;
}

static const http_parser_settings settings = {
  .on_message_begin = on_message_begin,
  .on_headers_complete = on_headers_complete,
  .on_body = on_body,
  .on_message_complete = on_message_complete,
};

struct reg_http_response *
reg_http_response_new (reg_http_body_fn fn, void *data)
{
  struct reg_http_response *r = calloc (1, sizeof *r);
  if (r == NULL)
    return NULL;
  http_parser_init (&r->parser, HTTP_RESPONSE);
  r->parser.data = r;
  r->fn = fn;
  r->data = data;
  return r;
}

void
reg_http_response_free (struct reg_http_response *r)
{
  if (r == NULL)
    return;
  free (r->error);
  free (r);
}

static int
fail (struct reg_http_response *r, char **err, const char *fmt, const char *arg)
{
  if (r->error == NULL && asprintf (&r->error, fmt, arg) < 0)
    r->error = NULL;
  *err = strdup (r->error ? r->error : "out of memory");
  return -1;
}

int
reg_http_response_feed (struct reg_http_response *r, const char *buf, size_t len, char **err)
{
  *err = NULL;
  if (r->error)
    return fail (r, err, "%s", r->error);
  if (len == 0 && r->done)
    return 0;
  if (len > 0 && r->done)
    return fail (r, err, "%s", "malformed reply from regd: data after the reply");
  size_t used = http_parser_execute (&r->parser, &settings, buf, len);
  if (r->refused)
    return fail (r, err, "%s", "the reply from regd is too large");
  enum http_errno e = HTTP_PARSER_ERRNO (&r->parser);
  if (e == HPE_INVALID_EOF_STATE)
    return fail (r, err, "%s", "regd closed the connection before its reply was complete");
  if (e == HPE_CB_message_begin)
    return fail (r, err, "%s", "malformed reply from regd: data after the reply");
  if (e != HPE_OK)
    return fail (r, err, "malformed reply from regd: %s", http_errno_description (e));
  if (r->parser.upgrade)
    return fail (r, err, "%s", "regd switched protocols (HTTP 101), which reg does not speak");
  if (used != len)
    return fail (r, err, "%s", "malformed reply from regd: data after the reply");
  if (len == 0 && !r->done)
    return fail (r, err, "%s", "regd closed the connection before its reply was complete");
  return 0;
}

int
reg_http_response_status (const struct reg_http_response *r)
{
  return r->status;
}

bool
reg_http_response_done (const struct reg_http_response *r)
{
  return r->done;
}
