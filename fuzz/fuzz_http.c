/* libFuzzer target: the client's HTTP (src/cli/http.c), on what regd — or
 * whatever listens on the socket — sends back. The input is fed as a reply
 * in two pieces split where its first byte says, then the end of the
 * connection; the body handed on can never be longer than the input, and
 * a complete reply has a final status. The rest of the input, as a path
 * and as chunk data, must give a request head that is one request line
 * and a chunk that a chunked reply gives back unchanged. */
#include "http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sink
{
  size_t len;
  int status;
};

static int
on_body (void *data, int status, const char *at, size_t len)
{
  struct sink *s = data;
  if (status < 200 || status > 999)
    abort ();
  s->len += len;
  return 0;
}

static void
reply (const uint8_t *data, size_t size)
{
  size_t split = size ? data[0] % (size + 1) : 0;
  struct sink s = { 0 };
  struct reg_http_response *r = reg_http_response_new (on_body, &s);
  char *err = NULL;
  int ret = split ? reg_http_response_feed (r, (const char *)data, split, &err) : 0;
  if (ret == 0)
    ret = reg_http_response_feed (r, (const char *)data + split, size - split, &err);
  if (ret == 0 && size - split > 0)
    ret = reg_http_response_feed (r, "", 0, &err);
  if ((ret < 0) != (err != NULL))
    abort ();
  free (err);
  if (s.len > size)
    abort ();
  if (ret == 0 && reg_http_response_done (r) && reg_http_response_status (r) < 200)
    abort ();
  reg_http_response_free (r);
}

static int
collect (void *data, int status, const char *at, size_t len)
{
  struct sink *s = data;
  char *buf = (char *)(s + 1);
  memcpy (buf + s->len, at, len);
  s->len += len;
  return 0;
}

/* A chunk of the input, read back through a chunked reply. */
static void
chunk_roundtrip (const uint8_t *data, size_t size)
{
  static const char head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  size_t n = 0, end = 0;
  char *chunk = reg_http_chunk (data, size, &n);
  char *last = reg_http_chunk (NULL, 0, &end);
  struct sink *s = calloc (1, sizeof *s + size + 1);
  struct reg_http_response *r = reg_http_response_new (collect, s);
  char *err = NULL;
  if (reg_http_response_feed (r, head, strlen (head), &err) < 0
      || reg_http_response_feed (r, chunk, n, &err) < 0
      || (size > 0 && reg_http_response_feed (r, last, end, &err) < 0)
      || !reg_http_response_done (r) || s->len != size || (size && memcmp (s + 1, data, size) != 0))
    abort ();
  reg_http_response_free (r);
  free (s);
  free (chunk);
  free (last);
}

/* The input as a path: refused, or one request line ending in CRLF. */
static void
request_line (const uint8_t *data, size_t size)
{
  char *path = strndup ((const char *)data, size);
  size_t len = 0;
  char *head = path ? reg_http_request_head ("GET", path, "regd", NULL, 0, &len) : NULL;
  if (head)
    {
      const char *eol = strstr (head, "\r\n");
      if (eol == NULL
          || (size_t)(eol - head) != strlen ("GET ") + strlen (path) + strlen (" HTTP/1.1")
          || memchr (path, '\r', strlen (path)) || memchr (path, '\n', strlen (path)))
        abort ();
    }
  free (head);
  free (path);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  reply (data, size);
  chunk_roundtrip (data, size);
  request_line (data, size);
  return 0;
}
