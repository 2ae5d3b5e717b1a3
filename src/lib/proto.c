/* proto: see proto.h. */
#include "proto.h"
#include "util.h"

#include <errno.h>
#include <sys/uio.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- UTF-8 (jansson takes only valid UTF-8) ---- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid:
 * the rules jansson checks (no overlong forms, no surrogates, <= U+10FFFF). */
static size_t
utf8_len (const unsigned char *s, size_t n)
{
  unsigned char c = s[0];
  size_t len = c < 0x80                 ? 1
               : c >= 0xC2 && c <= 0xDF ? 2
               : c >= 0xE0 && c <= 0xEF ? 3
               : c >= 0xF0 && c <= 0xF4 ? 4
                                        : 0;
  if (len == 0 || len > n)
    return 0;
  for (size_t i = 1; i < len; i++)
    if ((s[i] & 0xC0) != 0x80)
      return 0;
  if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90)
      || (c == 0xF4 && s[1] > 0x8F))
    return 0;
  return len;
}

/* In place: every byte that is not part of valid UTF-8 becomes '?'. */
static void
utf8_sanitize (char *s)
{
  size_t n = strlen (s);
  for (size_t i = 0; i < n;)
    {
      size_t len = utf8_len ((const unsigned char *)s + i, n - i);
      if (len == 0)
        {
          s[i++] = '?';
          continue;
        }
      i += len;
    }
}

/* ---- start results ---- */

/* text after dst[at], as much as fits; always terminated. */
static void
append (char *dst, size_t size, size_t at, const char *text)
{
  size_t n = strnlen (text, size);
  if (at + n >= size)
    n = size - at - 1;
  memcpy (dst + at, text, n);
  dst[at + n] = '\0';
}

void
reg_proto_result_set (struct reg_start_result *r, int exit_code, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (r->message, sizeof r->message, fmt, ap);
  va_end (ap);
  if (n < 0)
    r->message[0] = '\0', n = 0;
  if (errnum && (size_t)n < sizeof r->message)
    snprintf (r->message + n, sizeof r->message - (size_t)n, ": %s", reg_util_errdesc (errnum));
  utf8_sanitize (r->message);
  r->exit_code = exit_code;
  r->errnum = errnum;
}

void
reg_proto_result_prefix (struct reg_start_result *r, const char *fmt, ...)
{
  char msg[REG_START_MESSAGE_MAX];
  memcpy (msg, r->message, sizeof msg);
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (r->message, sizeof r->message, fmt, ap);
  va_end (ap);
  if (n < 0)
    n = 0, r->message[0] = '\0';
  size_t at = (size_t)n < sizeof r->message ? (size_t)n : sizeof r->message - 1;
  append (r->message, sizeof r->message, at, ": ");
  append (r->message, sizeof r->message, strlen (r->message), msg);
  utf8_sanitize (r->message);
}

void
reg_proto_result_of_error (struct reg_start_result *r, int exit_code, const struct reg_error *e)
{
  reg_proto_result_set (r, exit_code, 0, "%s", e && e->msg ? e->msg : "unknown error");
  r->errnum = e ? e->code : EIO;
}

int
reg_proto_result_error (const struct reg_start_result *r, struct reg_error **err)
{
  return reg_error_set (err, r->errnum ? r->errnum : EIO, "%s", r->message);
}

/* ---- status lines: the writer (no allocation) ---- */

struct out
{
  int fd;
  bool failed;
  size_t len;
  char buf[512];
};

static void
out_flush (struct out *o)
{
  if (!o->failed && o->len && reg_util_write_all (o->fd, o->buf, o->len) < 0)
    o->failed = true;
  o->len = 0;
}

static void
out_bytes (struct out *o, const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      if (o->len == sizeof o->buf)
        out_flush (o);
      o->buf[o->len++] = s[i];
    }
}

static void
out_text (struct out *o, const char *s)
{
  out_bytes (o, s, strlen (s));
}

static void
out_int (struct out *o, long long v)
{
  char num[32];
  int n = snprintf (num, sizeof num, "%lld", v);
  out_bytes (o, num, (size_t)n);
}

/* A JSON string: quoted, escaped, invalid UTF-8 as '?'. */
static void
out_string (struct out *o, const char *s)
{
  static const char hex[] = "0123456789abcdef";
  size_t n = strlen (s);
  out_bytes (o, "\"", 1);
  for (size_t i = 0; i < n;)
    {
      unsigned char c = (unsigned char)s[i];
      size_t len = utf8_len ((const unsigned char *)s + i, n - i);
      if (c == '"' || c == '\\')
        out_bytes (o, (const char[]){ '\\', (char)c }, 2);
      else if (c == '\n')
        out_bytes (o, "\\n", 2);
      else if (c < 0x20 || c == 0x7f)
        out_bytes (o, (const char[]){ '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] }, 6);
      else if (len == 0)
        out_bytes (o, "?", 1);
      else
        out_bytes (o, s + i, len);
      i += len ? len : 1;
    }
  out_bytes (o, "\"", 1);
}

static int
out_end (struct out *o)
{
  out_bytes (o, "}\n", 2);
  out_flush (o);
  return o->failed ? -1 : 0;
}

int
reg_proto_status_started (int fd, int pid)
{
  struct out o = { .fd = fd };
  out_text (&o, "{\"status\":\"started\",\"pid\":");
  out_int (&o, pid);
  return out_end (&o);
}

int
reg_proto_status_exit (int fd, int exit_code)
{
  struct out o = { .fd = fd };
  out_text (&o, "{\"status\":\"exit\",\"exit_code\":");
  out_int (&o, exit_code);
  return out_end (&o);
}

int
reg_proto_status_error (int fd, const struct reg_start_result *r)
{
  struct out o = { .fd = fd };
  out_text (&o, "{\"status\":\"error\",\"exit_code\":");
  out_int (&o, r->exit_code);
  out_text (&o, ",\"errno\":");
  out_int (&o, r->errnum);
  out_text (&o, ",\"message\":");
  out_string (&o, r->message);
  return out_end (&o);
}

int
reg_proto_status_ok (int fd, const char *made)
{
  struct out o = { .fd = fd };
  out_text (&o, "{\"status\":\"ok\"");
  if (made)
    {
      out_text (&o, ",\"made\":");
      out_string (&o, made);
    }
  return out_end (&o);
}

/* ---- status lines: the reader ---- */

/* An integer member in [lo, hi]; false when absent or out of range. */
static bool
int_in (json_t *j, const char *key, json_int_t lo, json_int_t hi, int *out)
{
  json_t *v = json_object_get (j, key);
  if (!json_is_integer (v) || json_integer_value (v) < lo || json_integer_value (v) > hi)
    return false;
  *out = (int)json_integer_value (v);
  return true;
}

static char **
split_lines (const char *text)
{
  size_t n = 0;
  for (const char *p = text; *p; p++)
    n += *p == '\n';
  char **v = calloc (n + 2, sizeof *v);
  size_t k = 0;
  for (const char *p = text; v && *p;)
    {
      size_t len = strcspn (p, "\n");
      if (len && (v[k++] = strndup (p, len)) == NULL)
        {
          reg_strv_free (v);
          return NULL;
        }
      p += len + (p[len] == '\n');
    }
  return v;
}

static bool
parse_kind (json_t *j, struct reg_status *s)
{
  const char *status = json_string_value (json_object_get (j, "status"));
  if (status == NULL)
    return false;
  if (strcmp (status, "started") == 0)
    {
      s->kind = REG_STATUS_STARTED;
      return int_in (j, "pid", 1, INT32_MAX, &s->pid);
    }
  if (strcmp (status, "exit") == 0)
    {
      s->kind = REG_STATUS_EXIT;
      return int_in (j, "exit_code", 0, 255, &s->exit_code);
    }
  if (strcmp (status, "error") == 0)
    {
      const char *msg = json_string_value (json_object_get (j, "message"));
      s->kind = REG_STATUS_ERROR;
      if (msg == NULL || !int_in (j, "exit_code", 0, 255, &s->result.exit_code)
          || !int_in (j, "errno", 0, 4095, &s->result.errnum))
        return false;
      reg_proto_result_set (&s->result, s->result.exit_code, 0, "%s", msg);
      s->result.errnum = (int)json_integer_value (json_object_get (j, "errno"));
      return true;
    }
  if (strcmp (status, "ok") == 0)
    {
      json_t *made = json_object_get (j, "made");
      s->kind = REG_STATUS_OK;
      if (made && !json_is_string (made))
        return false;
      return made == NULL || (s->made = split_lines (json_string_value (made))) != NULL;
    }
  return false;
}

int
reg_proto_status_parse (const char *line, size_t len, struct reg_status *out,
                        struct reg_error **err)
{
  memset (out, 0, sizeof *out);
  json_t *j = json_loadb (line, len, JSON_REJECT_DUPLICATES, NULL);
  bool ok = json_is_object (j) && parse_kind (j, out);
  json_decref (j);
  if (ok)
    return 0;
  reg_proto_status_clear (out);
  return reg_error_set (err, EPROTO, "not a status line: \"%.*s\"", (int)(len > 120 ? 120 : len),
                        line);
}

int
reg_proto_status_read (int fd, struct reg_status *out, struct reg_error **err)
{
  /* A start result's message, escaped at worst six bytes a byte, fits. */
  size_t cap = 8 * REG_START_MESSAGE_MAX, got = 0;
  _cleanup_free_ char *line = malloc (cap);
  memset (out, 0, sizeof *out);
  if (line == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  while (got < cap)
    {
      ssize_t n = read (fd, line + got, 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      if (line[got++] == '\n')
        return reg_proto_status_parse (line, got, out, err);
    }
  if (got == cap)
    return reg_error_set (err, EPROTO, "a status line over %zu bytes", cap);
  return reg_error_set (err, EPIPE, "no status: the writer went away");
}

void
reg_proto_status_clear (struct reg_status *s)
{
  reg_strv_free (s->made);
  s->made = NULL;
}

/* ---- hello lines ---- */

int
reg_proto_hello_format (const struct reg_hello *h, char *buf, size_t size)
{
  int n = -1;
  switch (h->kind)
    {
    case REG_HELLO_STDIN:
      n = snprintf (buf, size, "{\"hello\":\"stdin\"%s}\n", h->keep ? ",\"keep\":true" : "");
      break;
    case REG_HELLO_RESIZE:
      n = snprintf (buf, size, "{\"hello\":\"resize\",\"rows\":%u,\"cols\":%u}\n", h->rows,
                    h->cols);
      break;
    case REG_HELLO_ATTACH:
      n = snprintf (buf, size, "{\"hello\":\"attach\"}\n");
      break;
    }
  return n < 0 || (size_t)n >= size ? -1 : n;
}

int
reg_proto_hello_parse (const char *line, size_t len, struct reg_hello *out, struct reg_error **err)
{
  memset (out, 0, sizeof *out);
  json_t *j = json_loadb (line, len, JSON_REJECT_DUPLICATES, NULL);
  const char *hello = json_string_value (json_object_get (j, "hello"));
  json_t *keep = json_object_get (j, "keep");
  int rows = 0, cols = 0;
  bool ok = false;
  if (hello && strcmp (hello, "stdin") == 0 && (keep == NULL || json_is_boolean (keep)))
    {
      out->kind = REG_HELLO_STDIN;
      out->keep = json_is_true (keep);
      ok = true;
    }
  else if (hello && strcmp (hello, "attach") == 0)
    {
      out->kind = REG_HELLO_ATTACH;
      ok = true;
    }
  else if (hello && strcmp (hello, "resize") == 0 && int_in (j, "rows", 1, 65535, &rows)
           && int_in (j, "cols", 1, 65535, &cols))
    {
      out->kind = REG_HELLO_RESIZE;
      out->rows = (unsigned short)rows;
      out->cols = (unsigned short)cols;
      ok = true;
    }
  json_decref (j);
  if (ok)
    return 0;
  return reg_error_set (err, EPROTO, "not a hello line: \"%.*s\"", (int)(len > 120 ? 120 : len),
                        line);
}

/* ---- frames ---- */

void
reg_proto_frame_header (unsigned char hdr[REG_FRAME_HEADER], int stream, size_t len)
{
  hdr[0] = (unsigned char)stream;
  hdr[1] = hdr[2] = hdr[3] = 0;
  hdr[4] = (unsigned char)(len >> 24);
  hdr[5] = (unsigned char)(len >> 16);
  hdr[6] = (unsigned char)(len >> 8);
  hdr[7] = (unsigned char)len;
}

void
reg_proto_frame_exit_payload (unsigned char p[4], int code)
{
  uint32_t u = (uint32_t)code;
  p[0] = (unsigned char)(u >> 24);
  p[1] = (unsigned char)(u >> 16);
  p[2] = (unsigned char)(u >> 8);
  p[3] = (unsigned char)u;
}

/* Every byte of iov[0..n), in as few writes as the descriptor takes. */
static int
writev_all (int fd, struct iovec *iov, int n)
{
  while (n > 0)
    {
      ssize_t w = writev (fd, iov, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -1;
      for (; n > 0 && (size_t)w >= iov->iov_len; iov++, n--)
        w -= (ssize_t)iov->iov_len;
      if (n > 0)
        {
          iov->iov_base = (char *)iov->iov_base + w;
          iov->iov_len -= (size_t)w;
        }
    }
  return 0;
}

int
reg_proto_frame_write (int fd, int stream, const void *data, size_t len)
{
  /* One write: a reader (regd's stream, a client) wakes once per frame,
   * not for its header and then its payload. */
  unsigned char hdr[REG_FRAME_HEADER];
  reg_proto_frame_header (hdr, stream, len);
  struct iovec iov[2] = { { hdr, sizeof hdr }, { (void *)data, len } };
  return writev_all (fd, iov, len ? 2 : 1);
}

int
reg_proto_frame_write_exit (int fd, int exit_code)
{
  unsigned char p[4];
  reg_proto_frame_exit_payload (p, exit_code);
  return reg_proto_frame_write (fd, REG_FRAME_EXIT, p, sizeof p);
}

unsigned char *
reg_proto_frame_new (int stream, const void *data, size_t len, size_t *size)
{
  unsigned char *f = malloc (REG_FRAME_HEADER + len);
  if (f == NULL)
    return NULL;
  reg_proto_frame_header (f, stream, len);
  if (len)
    memcpy (f + REG_FRAME_HEADER, data, len);
  *size = REG_FRAME_HEADER + len;
  return f;
}

unsigned char *
reg_proto_frame_new_exit (int exit_code, size_t *size)
{
  unsigned char p[4];
  reg_proto_frame_exit_payload (p, exit_code);
  return reg_proto_frame_new (REG_FRAME_EXIT, p, sizeof p, size);
}

static int
deliver (struct reg_frame_reader *r, size_t *off, reg_frame_fn fn, void *data)
{
  while (r->len - *off >= REG_FRAME_HEADER)
    {
      const unsigned char *h = r->buf + *off;
      size_t len = ((size_t)h[4] << 24) | ((size_t)h[5] << 16) | ((size_t)h[6] << 8) | h[7];
      if (len > REG_FRAME_MAX || (h[0] == REG_FRAME_EXIT && len != 4))
        {
          errno = EPROTO;
          return -1;
        }
      if (r->len - *off - REG_FRAME_HEADER < len)
        return 0;
      const unsigned char *p = h + REG_FRAME_HEADER;
      int code = h[0] == REG_FRAME_EXIT ? (int)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16)
                                                | ((uint32_t)p[2] << 8) | p[3])
                                        : -1;
      *off += REG_FRAME_HEADER + len;
      int rc = fn (data, h[0], p, len, code);
      if (rc < 0)
        return rc;
    }
  return 0;
}

int
reg_proto_frame_feed (struct reg_frame_reader *r, const void *bytes, size_t n, reg_frame_fn fn,
                      void *data)
{
  if (n == 0)
    return 0;
  if (r->len + n > r->cap)
    {
      size_t cap = (r->len + n) * 2;
      unsigned char *nb = realloc (r->buf, cap);
      if (nb == NULL)
        {
          errno = ENOMEM;
          return -1;
        }
      r->buf = nb;
      r->cap = cap;
    }
  memcpy (r->buf + r->len, bytes, n);
  r->len += n;
  size_t off = 0;
  int rc = deliver (r, &off, fn, data);
  memmove (r->buf, r->buf + off, r->len - off);
  r->len -= off;
  return rc;
}

void
reg_proto_frame_reader_clear (struct reg_frame_reader *r)
{
  free (r->buf);
  *r = (struct reg_frame_reader){ 0 };
}
