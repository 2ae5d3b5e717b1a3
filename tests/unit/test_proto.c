/* Unit tests of the wire formats (proto.h): status lines written by the
 * no-allocation writer and read back with jansson, start results, hello
 * lines, and frames fed to the incremental reader in every split. */
#include "proto.h"
#include "util.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* Whatever a writer put into a pipe, read back as one status. */
static void
read_back (int fd[2], struct reg_status *st)
{
  struct reg_error *err = NULL;
  close (fd[1]);
  if (reg_proto_status_read (fd[0], st, &err) < 0)
    fail_msg ("read back: %s", err->msg);
  close (fd[0]);
}

static void
test_status_roundtrip (void **state)
{
  int fd[2];
  struct reg_status st;
  assert_int_equal (pipe (fd), 0);
  assert_int_equal (reg_proto_status_started (fd[1], 4242), 0);
  read_back (fd, &st);
  assert_int_equal (st.kind, REG_STATUS_STARTED);
  assert_int_equal (st.pid, 4242);

  assert_int_equal (pipe (fd), 0);
  assert_int_equal (reg_proto_status_exit (fd[1], 137), 0);
  read_back (fd, &st);
  assert_int_equal (st.kind, REG_STATUS_EXIT);
  assert_int_equal (st.exit_code, 137);

  /* Quotes, backslashes, control bytes, UTF-8 and a byte that is not. */
  struct reg_start_result r = { 0 };
  reg_proto_result_set (&r, 127, ENOENT, "exec \"/bin/n\\o\"\t\x01 caf\xc3\xa9 \xff");
  assert_int_equal (pipe (fd), 0);
  assert_int_equal (reg_proto_status_error (fd[1], &r), 0);
  read_back (fd, &st);
  assert_int_equal (st.kind, REG_STATUS_ERROR);
  assert_int_equal (st.result.exit_code, 127);
  assert_int_equal (st.result.errnum, ENOENT);
  assert_string_equal (st.result.message,
                       "exec \"/bin/n\\o\"\t\x01 caf\xc3\xa9 ?: No such file or directory");

  assert_int_equal (pipe (fd), 0);
  assert_int_equal (reg_proto_status_ok (fd[1], "d:/a\nm:/a/b c\nl:/x\n"), 0);
  read_back (fd, &st);
  assert_int_equal (st.kind, REG_STATUS_OK);
  assert_non_null (st.made);
  assert_string_equal (st.made[0], "d:/a");
  assert_string_equal (st.made[1], "m:/a/b c");
  assert_string_equal (st.made[2], "l:/x");
  assert_null (st.made[3]);
  reg_proto_status_clear (&st);

  assert_int_equal (pipe (fd), 0);
  assert_int_equal (reg_proto_status_ok (fd[1], NULL), 0);
  read_back (fd, &st);
  assert_int_equal (st.kind, REG_STATUS_OK);
  assert_null (st.made);
}

/* A message longer than the writer's buffer crosses several writes. */
static void
test_status_long_message (void **state)
{
  struct reg_start_result r = { 0 };
  char big[REG_START_MESSAGE_MAX + 100];
  memset (big, '"', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  reg_proto_result_set (&r, 125, 0, "%s", big);
  assert_int_equal (strlen (r.message), REG_START_MESSAGE_MAX - 1);
  int fd[2];
  struct reg_status st;
  assert_int_equal (pipe (fd), 0);
  assert_int_equal (reg_proto_status_error (fd[1], &r), 0);
  read_back (fd, &st);
  assert_string_equal (st.result.message, r.message);
}

/* Only a start result says what a start failure was: 127 is "not found"
 * only when the process that failed said so; ENOENT before the clone is a
 * set-up failure (125) that keeps its cause. */
static void
test_start_result (void **state)
{
  struct reg_error *e = NULL;
  struct reg_start_result r = { 0 };
  reg_error_set (&e, ENOENT, "container abc: open log: No such file or directory");
  reg_proto_result_of_error (&r, 125, e);
  assert_int_equal (r.exit_code, 125);
  assert_int_equal (r.errnum, ENOENT);
  assert_string_equal (r.message, e->msg);
  reg_error_free (e);
  e = NULL;
  reg_proto_result_prefix (&r, "container %s", "0123");
  assert_string_equal (r.message,
                       "container 0123: container abc: open log: No such file or directory");
  assert_int_equal (reg_proto_result_error (&r, &e), -1);
  assert_int_equal (e->code, ENOENT);
  reg_error_free (e);
  e = NULL;
  reg_proto_result_set (&r, 125, 0, "no cause");
  reg_proto_result_error (&r, &e);
  assert_int_equal (e->code, EIO);
  reg_error_free (e);
}

static void
status_bad (const char *line)
{
  struct reg_status st;
  struct reg_error *err = NULL;
  if (reg_proto_status_parse (line, strlen (line), &st, &err) == 0)
    fail_msg ("accepted: %s", line);
  assert_int_equal (err->code, EPROTO);
  assert_non_null (strstr (err->msg, "not a status line"));
  reg_error_free (err);
}

static void
test_status_bad (void **state)
{
  status_bad ("");
  status_bad ("ok 123");
  status_bad ("started 12");               /* the old text protocol */
  status_bad ("{\"status\":\"started\"}"); /* no pid */
  status_bad ("{\"status\":\"started\",\"pid\":0}");
  status_bad ("{\"status\":\"started\",\"pid\":\"1\"}");
  status_bad ("{\"status\":\"exit\",\"exit_code\":256}");
  status_bad ("{\"status\":\"exit\",\"exit_code\":-1}");
  status_bad ("{\"status\":\"error\",\"exit_code\":127,\"errno\":2}"); /* no message */
  status_bad ("{\"status\":\"error\",\"exit_code\":127,\"errno\":99999,\"message\":\"x\"}");
  status_bad ("{\"status\":\"ok\",\"made\":[\"d:/a\"]}");
  status_bad ("{\"status\":\"later\"}");
  status_bad ("{\"status\":\"exit\",\"exit_code\":1,\"exit_code\":2}"); /* duplicate */
  status_bad ("[\"started\", 1]");
  status_bad ("{\"status\":\"exit\",\"exit_code\":0} trailing");
}

/* The writer went away before a whole line: EPIPE, not a status. */
static void
test_status_read_eof (void **state)
{
  int fd[2];
  struct reg_status st;
  struct reg_error *err = NULL;
  assert_int_equal (pipe (fd), 0);
  assert_int_equal (write (fd[1], "{\"status\"", 9), 9);
  close (fd[1]);
  assert_int_equal (reg_proto_status_read (fd[0], &st, &err), -1);
  assert_int_equal (err->code, EPIPE);
  reg_error_free (err);
  close (fd[0]);
}

static void
hello_is (const struct reg_hello *h)
{
  char line[REG_HELLO_MAX];
  struct reg_hello got;
  struct reg_error *err = NULL;
  int n = reg_proto_hello_format (h, line, sizeof line);
  assert_true (n > 0);
  assert_int_equal (line[n - 1], '\n');
  if (reg_proto_hello_parse (line, (size_t)n, &got, &err) < 0)
    fail_msg ("%s: %s", line, err->msg);
  assert_int_equal (got.kind, h->kind);
  assert_int_equal (got.keep, h->keep);
  assert_int_equal (got.rows, h->rows);
  assert_int_equal (got.cols, h->cols);
}

static void
hello_bad (const char *line)
{
  struct reg_hello h;
  struct reg_error *err = NULL;
  if (reg_proto_hello_parse (line, strlen (line), &h, &err) == 0)
    fail_msg ("accepted: %s", line);
  assert_int_equal (err->code, EPROTO);
  reg_error_free (err);
}

static void
test_hello (void **state)
{
  hello_is (&(struct reg_hello){ .kind = REG_HELLO_STDIN });
  hello_is (&(struct reg_hello){ .kind = REG_HELLO_STDIN, .keep = true });
  hello_is (&(struct reg_hello){ .kind = REG_HELLO_ATTACH });
  hello_is (&(struct reg_hello){ .kind = REG_HELLO_RESIZE, .rows = 33, .cols = 101 });
  char small[8];
  assert_int_equal (
      reg_proto_hello_format (&(struct reg_hello){ .kind = REG_HELLO_ATTACH }, small, sizeof small),
      -1);
  hello_bad ("stdin");
  hello_bad ("resize 24 80");
  hello_bad ("{\"hello\":\"resize\",\"rows\":0,\"cols\":80}");
  hello_bad ("{\"hello\":\"resize\",\"rows\":24,\"cols\":65536}");
  hello_bad ("{\"hello\":\"resize\",\"rows\":24}");
  hello_bad ("{\"hello\":\"stdin\",\"keep\":1}");
  hello_bad ("{\"hello\":\"exec\"}");
  hello_bad ("{}");
}

/* What the reader delivered. */
struct seen
{
  char out[256], err[256];
  size_t n_out, n_err;
  int exit_code, frames;
};

static int
on_frame (void *data, int stream, const unsigned char *p, size_t len, int exit_code)
{
  struct seen *s = data;
  s->frames++;
  if (stream == REG_FRAME_STDOUT)
    memcpy (s->out + s->n_out, p, len), s->n_out += len;
  else if (stream == REG_FRAME_STDERR)
    memcpy (s->err + s->n_err, p, len), s->n_err += len;
  else if (stream == REG_FRAME_EXIT)
    s->exit_code = exit_code;
  return 0;
}

/* The frame f (its size in *len, set by the call that made it). */
static size_t
append_frame (unsigned char *buf, size_t at, unsigned char *f, const size_t *len)
{
  assert_non_null (f);
  memcpy (buf + at, f, *len);
  free (f);
  return at + *len;
}

/* Frames made by the writers, fed back in every split of the stream. */
static void
test_frames_roundtrip (void **state)
{
  unsigned char stream[512];
  size_t n = 0, len = 0;
  n = append_frame (stream, n, reg_proto_frame_new (REG_FRAME_STDOUT, "hello ", 6, &len), &len);
  n = append_frame (stream, n, reg_proto_frame_new (REG_FRAME_STDERR, "oops", 4, &len), &len);
  n = append_frame (stream, n, reg_proto_frame_new (REG_FRAME_STDOUT, "", 0, &len), &len);
  n = append_frame (stream, n, reg_proto_frame_new (REG_FRAME_STDOUT, "world", 5, &len), &len);
  n = append_frame (stream, n, reg_proto_frame_new_exit (-3, &len), &len);
  for (size_t cut = 0; cut <= n; cut++)
    {
      struct seen s = { .exit_code = 0 };
      struct reg_frame_reader r = { 0 };
      assert_int_equal (reg_proto_frame_feed (&r, stream, cut, on_frame, &s), 0);
      assert_int_equal (reg_proto_frame_feed (&r, stream + cut, n - cut, on_frame, &s), 0);
      assert_int_equal (s.frames, 5);
      assert_int_equal (s.n_out, 11);
      assert_memory_equal (s.out, "hello world", 11);
      assert_memory_equal (s.err, "oops", 4);
      assert_int_equal (s.exit_code, -3);
      assert_int_equal (r.len, 0);
      reg_proto_frame_reader_clear (&r);
    }
  /* reg_proto_frame_write to a pipe is the same bytes. */
  int fd[2];
  assert_int_equal (pipe (fd), 0);
  assert_int_equal (reg_proto_frame_write (fd[1], REG_FRAME_STDERR, "oops", 4), 0);
  assert_int_equal (reg_proto_frame_write_exit (fd[1], 42), 0);
  close (fd[1]);
  unsigned char got[64];
  assert_int_equal (read (fd[0], got, sizeof got), 8 + 4 + 8 + 4);
  close (fd[0]);
  assert_memory_equal (got, stream + 8 + 6, 12);
  assert_memory_equal (got + 12, "\3\0\0\0\0\0\0\4\0\0\0\x2a", 12);
}

static void
test_frames_bad (void **state)
{
  struct seen s = { 0 };
  struct reg_frame_reader r = { 0 };
  /* An exit frame must carry 4 bytes. */
  errno = 0;
  assert_int_equal (reg_proto_frame_feed (&r, "\3\0\0\0\0\0\0\2ab", 10, on_frame, &s), -1);
  assert_int_equal (errno, EPROTO);
  reg_proto_frame_reader_clear (&r);
  /* A length over the bound is refused, nothing delivered. */
  errno = 0;
  assert_int_equal (reg_proto_frame_feed (&r, "\1\0\0\0\x7f\0\0\0", 8, on_frame, &s), -1);
  assert_int_equal (errno, EPROTO);
  assert_int_equal (s.frames, 0);
  reg_proto_frame_reader_clear (&r);
  /* An unknown stream is passed on (the caller ignores it). */
  assert_int_equal (reg_proto_frame_feed (&r, "\7\0\0\0\0\0\0\1z", 9, on_frame, &s), 0);
  assert_int_equal (s.frames, 1);
  reg_proto_frame_reader_clear (&r);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_status_roundtrip), cmocka_unit_test (test_status_long_message),
    cmocka_unit_test (test_start_result),     cmocka_unit_test (test_status_bad),
    cmocka_unit_test (test_status_read_eof),  cmocka_unit_test (test_hello),
    cmocka_unit_test (test_frames_roundtrip), cmocka_unit_test (test_frames_bad),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
