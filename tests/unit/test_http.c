/* Unit tests of the client's HTTP (src/cli/http.c): request heads byte
 * for byte and every refusal; chunks; path escaping; replies with
 * Content-Length, chunked and close-delimited bodies fed whole and one
 * byte at a time, interim 1xx replies, and every malformed or unwanted
 * reply (bad status line, truncation, data after the reply, upgrade,
 * a body refused as too large). */
#include "http.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- requests ---- */

static void
expect_head (const char *method, const char *path, const char *const *headers, size_t body_len,
             const char *want)
{
  size_t len = 0;
  char *head = reg_http_request_head (method, path, "regd", headers, body_len, &len);
  assert_non_null (head);
  assert_int_equal (len, strlen (want));
  assert_memory_equal (head, want, len);
  free (head);
}

static void
request_heads (void **state)
{
  expect_head ("GET", "/v1/version", NULL, 0,
               "GET /v1/version HTTP/1.1\r\nHost: regd\r\nConnection: close\r\n\r\n");
  const char *json[] = { "Content-Type: application/json", NULL };
  expect_head ("POST", "/v1/containers", json, 17,
               "POST /v1/containers HTTP/1.1\r\nHost: regd\r\nContent-Type: application/json\r\n"
               "Connection: close\r\nContent-Length: 17\r\n\r\n");
  const char *two[]
      = { "Content-Type: application/octet-stream", "Authorization: Bearer t0k", NULL };
  expect_head ("POST", "/v1/exec/ab/stdin?x=1%20", two, REG_HTTP_CHUNKED,
               "POST /v1/exec/ab/stdin?x=1%20 HTTP/1.1\r\nHost: regd\r\n"
               "Content-Type: application/octet-stream\r\nAuthorization: Bearer t0k\r\n"
               "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n");
}

static void
expect_refused (const char *method, const char *path, const char *host, const char *header)
{
  const char *headers[] = { header, NULL };
  size_t len = 0;
  errno = 0;
  assert_null (reg_http_request_head (method, path, host, headers, 0, &len));
  assert_int_equal (errno, EINVAL);
}

static void
request_refusals (void **state)
{
  expect_refused ("get", "/v1/version", "regd", NULL);
  expect_refused ("", "/v1/version", "regd", NULL);
  expect_refused ("G ET", "/v1/version", "regd", NULL);
  expect_refused ("GET", "v1/version", "regd", NULL);
  expect_refused ("GET", "", "regd", NULL);
  expect_refused ("GET", "/v1/a b", "regd", NULL);
  expect_refused ("GET", "/v1/a\r\nX: y", "regd", NULL);
  expect_refused ("GET", "/v1/\xc3\xa9", "regd", NULL);
  expect_refused ("GET", "/v1/version", "re gd", NULL);
  expect_refused ("GET", "/v1/version", "", NULL);
  expect_refused ("GET", "/v1/version", "regd", "X: a\r\nY: b");
  expect_refused ("GET", "/v1/version", "regd", "X: a\n");
  expect_refused ("GET", "/v1/version", "regd", "no colon");
  expect_refused ("GET", "/v1/version", "regd", ": empty name");
  expect_refused ("GET", "/v1/version", "regd", "X:no space");
  expect_refused ("GET", "/v1/version", "regd", "X Y: spaced name");
}

static void
chunks (void **state)
{
  size_t n = 0;
  char *c = reg_http_chunk ("hello", 5, &n);
  assert_int_equal (n, 10);
  assert_memory_equal (c, "5\r\nhello\r\n", n);
  free (c);
  char big[255];
  memset (big, 'x', sizeof big);
  c = reg_http_chunk (big, sizeof big, &n);
  assert_int_equal (n, 4 + 255 + 2);
  assert_memory_equal (c, "ff\r\n", 4);
  assert_memory_equal (c + 4 + 255, "\r\n", 2);
  free (c);
  c = reg_http_chunk (NULL, 0, &n);
  assert_int_equal (n, 5);
  assert_memory_equal (c, "0\r\n\r\n", 5);
  free (c);
}

static void
escape (void **state)
{
  char *e = reg_http_escape ("python@3.11");
  assert_string_equal (e, "python%403.11");
  free (e);
  e = reg_http_escape ("a b/c?d&e=f%");
  assert_string_equal (e, "a%20b%2Fc%3Fd%26e%3Df%25");
  free (e);
  e = reg_http_escape ("AZaz09-._~");
  assert_string_equal (e, "AZaz09-._~");
  free (e);
  e = reg_http_escape ("\xc3\xa9\r\n");
  assert_string_equal (e, "%C3%A9%0D%0A");
  free (e);
  e = reg_http_escape ("");
  assert_string_equal (e, "");
  free (e);
}

/* ---- replies ---- */

struct sink
{
  char body[4096];
  size_t len;
  int status;
  size_t limit; /* refuse a body longer than this (0: no limit) */
};

static int
on_body (void *data, int status, const char *at, size_t len)
{
  struct sink *s = data;
  if ((s->limit && s->len + len > s->limit) || s->len + len > sizeof s->body)
    return -1;
  memcpy (s->body + s->len, at, len);
  s->len += len;
  s->status = status;
  return 0;
}

/* Feed `text` whole or one byte at a time, then the end of the connection
 * when eof. Returns the first error (allocated) or NULL. */
static char *
feed (struct reg_http_response *r, const char *text, size_t len, bool bytewise, bool eof)
{
  char *err = NULL;
  for (size_t off = 0; off < len;)
    {
      size_t n = bytewise ? 1 : len - off;
      if (reg_http_response_feed (r, text + off, n, &err) < 0)
        return err;
      off += n;
    }
  if (eof && reg_http_response_feed (r, "", 0, &err) < 0)
    return err;
  return NULL;
}

static void
expect_reply (const char *text, bool eof, int status, const char *body)
{
  for (int bytewise = 0; bytewise < 2; bytewise++)
    {
      struct sink s = { 0 };
      struct reg_http_response *r = reg_http_response_new (on_body, &s);
      char *err = feed (r, text, strlen (text), bytewise, eof);
      if (err)
        fail_msg ("%s: %s", text, err);
      assert_true (reg_http_response_done (r));
      assert_int_equal (reg_http_response_status (r), status);
      assert_int_equal (s.len, strlen (body));
      assert_memory_equal (s.body, body, s.len);
      if (s.len)
        assert_int_equal (s.status, status);
      reg_http_response_free (r);
    }
}

static void
replies (void **state)
{
  expect_reply ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, 200, "hello");
  expect_reply ("HTTP/1.1 404 Not Found\r\ncontent-length: 21\r\nContent-Type: application/json"
                "\r\n\r\n{\"message\":\"no such\"}",
                false, 404, "{\"message\":\"no such\"}");
  expect_reply ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                "3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
                false, 200, "abc0123456789abcdef");
  /* chunk extensions and trailers */
  expect_reply ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                "2;x=y\r\nab\r\n0\r\nX-Trailer: 1\r\n\r\n",
                false, 200, "ab");
  /* close-delimited: the end of the connection ends the body */
  expect_reply ("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", true, 200,
                "until the end");
  expect_reply ("HTTP/1.0 200 OK\r\n\r\nold", true, 200, "old");
  expect_reply ("HTTP/1.1 204 No Content\r\n\r\n", false, 204, "");
  expect_reply ("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", true, 201, "");
  /* an interim reply is skipped; its status is never the reply's */
  expect_reply ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                false, 200, "ok");
}

static void
status_before_body (void **state)
{
  struct sink s = { 0 };
  struct reg_http_response *r = reg_http_response_new (on_body, &s);
  char *err = NULL;
  const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n";
  assert_int_equal (reg_http_response_feed (r, head, strlen (head), &err), 0);
  assert_int_equal (reg_http_response_status (r), 0);
  assert_int_equal (reg_http_response_feed (r, "\r\n4\r\nab", 7, &err), 0);
  assert_int_equal (reg_http_response_status (r), 200);
  assert_false (reg_http_response_done (r));
  assert_int_equal (s.len, 2); /* a chunk's data is handed on as it comes */
  assert_int_equal (reg_http_response_feed (r, "cd\r\n0\r\n\r\n", 9, &err), 0);
  assert_true (reg_http_response_done (r));
  assert_memory_equal (s.body, "abcd", 4);
  reg_http_response_free (r);
}

static void
expect_bad_reply (const char *text, bool eof, size_t limit, const char *want)
{
  for (int bytewise = 0; bytewise < 2; bytewise++)
    {
      struct sink s = { .limit = limit };
      struct reg_http_response *r = reg_http_response_new (on_body, &s);
      char *err = feed (r, text, strlen (text), bytewise, eof);
      if (err == NULL)
        fail_msg ("accepted: %s", text);
      if (strstr (err, want) == NULL)
        fail_msg ("%s: error \"%s\" lacks \"%s\"", text, err, want);
      free (err);
      /* sticky: the next call fails the same way */
      assert_int_equal (reg_http_response_feed (r, "x", 1, &err), -1);
      assert_non_null (strstr (err, want));
      free (err);
      reg_http_response_free (r);
    }
}

static void
bad_replies (void **state)
{
  expect_bad_reply ("HTTP/1.1 2x0 OK\r\n\r\n", false, 0, "malformed reply from regd");
  expect_bad_reply ("SSH-2.0-OpenSSH_9.2\r\n", false, 0, "malformed reply from regd");
  expect_bad_reply ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", true, 0,
                    "before its reply was complete");
  expect_bad_reply ("HTTP/1.1 200 OK\r\nContent-Len", true, 0, "before its reply was complete");
  expect_bad_reply ("", true, 0, "before its reply was complete");
  expect_bad_reply ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, 0,
                    "malformed reply from regd");
  expect_bad_reply ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", true, 0,
                    "before its reply was complete");
  expect_bad_reply ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", false, 0,
                    "malformed reply from regd");
  expect_bad_reply ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n", false,
                    0, "data after the reply");
  expect_bad_reply ("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                    "\r\nraw",
                    false, 0, "switched protocols");
  expect_bad_reply ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", false, 4,
                    "too large");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (request_heads), cmocka_unit_test (request_refusals),
    cmocka_unit_test (chunks),        cmocka_unit_test (escape),
    cmocka_unit_test (replies),       cmocka_unit_test (status_before_body),
    cmocka_unit_test (bad_replies),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
