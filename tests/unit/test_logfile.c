/* Unit tests of a container's log as the monitor writes it (logfile.h):
 * records that are valid JSON lines, one write per batch, rotation at the
 * per-container cap, and the global cap over all containers' logs (drop,
 * then resume, each said in the log). On a temporary root. */
#include "logfile.h"
#include "proto.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static char root[64];

static int
setup (void **state)
{
  snprintf (root, sizeof root, "/tmp/reg-test-logfile.XXXXXX");
  assert_non_null (mkdtemp (root));
  char dir[256];
  snprintf (dir, sizeof dir, "%s/containers/%s", root, ID_A);
  assert_int_equal (reg_util_mkdir_p (dir, 0700, NULL), 0);
  snprintf (dir, sizeof dir, "%s/containers/%s", root, ID_B);
  assert_int_equal (reg_util_mkdir_p (dir, 0700, NULL), 0);
  return 0;
}

static int
teardown (void **state)
{
  reg_util_rm_rf (root, NULL);
  return 0;
}

static char *
slurp (const char *id, const char *name, size_t *len)
{
  char path[512];
  snprintf (path, sizeof path, "%s/containers/%s/%s", root, id, name);
  char *text = NULL;
  if (reg_util_read_file (path, 64 << 20, &text, len, NULL) < 0)
    return NULL;
  return text;
}

static off_t
size_of (const char *id, const char *name)
{
  char path[512];
  struct stat st;
  snprintf (path, sizeof path, "%s/containers/%s/%s", root, id, name);
  return stat (path, &st) == 0 ? st.st_size : -1;
}

/* Each line of the log parses as a record; returns how many, and checks
 * the first one's fields. */
static size_t
check_records (const char *text, const char *first_stream, const char *first_line)
{
  size_t n = 0;
  for (const char *p = text; *p;)
    {
      const char *nl = strchr (p, '\n');
      assert_non_null (nl);
      json_error_t je;
      json_t *j = json_loadb (p, (size_t)(nl - p), 0, &je);
      if (j == NULL)
        fail_msg ("record %zu is not JSON: %.*s (%s)", n, (int)(nl - p), p, je.text);
      assert_true (json_is_string (json_object_get (j, "t")));
      if (n == 0 && first_stream)
        {
          assert_string_equal (json_string_value (json_object_get (j, "stream")), first_stream);
          assert_string_equal (json_string_value (json_object_get (j, "line")), first_line);
        }
      json_decref (j);
      n++;
      p = nl + 1;
    }
  return n;
}

static void
test_records (void **state)
{
  struct reg_logfile *l = malloc (sizeof *l);
  assert_non_null (l);
  assert_int_equal (reg_logfile_open (l, root, ID_A, 0, 0, NULL), 0);
  reg_logfile_begin (l);
  reg_logfile_line (l, "stdout", "hello \"x\"", 9, false);
  reg_logfile_line (l, "stderr", "bad \xff utf8", 10, false);
  reg_logfile_line (l, "stdout", "no newline", 10, true);
  /* Nothing is written before the flush: one write per batch. */
  assert_int_equal (size_of (ID_A, "log.jsonl"), 0);
  reg_logfile_flush (l);
  reg_logfile_close (l);
  free (l);
  size_t len = 0;
  char *text = slurp (ID_A, "log.jsonl", &len);
  assert_non_null (text);
  assert_int_equal (check_records (text, "stdout", "hello \"x\""), 3);
  assert_non_null (strstr (text, "\"line\":\"bad ? utf8\""));
  assert_non_null (strstr (text, "\"partial\":true"));
  /* Only the partial record has the field. */
  assert_null (strstr (strstr (text, "\"partial\":true") + 1, "\"partial\""));
  free (text);
}

static void
test_rotation (void **state)
{
  struct reg_logfile *l = malloc (sizeof *l);
  assert_non_null (l);
  assert_int_equal (reg_logfile_open (l, root, ID_A, 4096, 0, NULL), 0);
  char line[100];
  memset (line, 'x', sizeof line);
  for (int batch = 0; batch < 8; batch++)
    {
      reg_logfile_begin (l);
      for (int i = 0; i < 50; i++)
        reg_logfile_line (l, "stdout", line, sizeof line, false);
      reg_logfile_flush (l);
    }
  reg_logfile_close (l);
  free (l);
  /* A batch (50 records, ~8 kB) larger than the cap is split at it: both
   * files stay within the cap. */
  assert_true (size_of (ID_A, "log.jsonl") > 0);
  assert_true (size_of (ID_A, "log.jsonl") <= 4096);
  assert_true (size_of (ID_A, "log.jsonl.1") > 4096 - 2000);
  assert_true (size_of (ID_A, "log.jsonl.1") <= 4096);
  size_t len = 0;
  char *text = slurp (ID_A, "log.jsonl.1", &len);
  check_records (text, NULL, NULL);
  free (text);
}

static void
fill (const char *id, const char *name, size_t bytes)
{
  char path[512];
  snprintf (path, sizeof path, "%s/containers/%s/%s", root, id, name);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  assert_true (fd >= 0);
  assert_int_equal (ftruncate (fd, (off_t)bytes), 0);
  close (fd);
}

static void
write_mib (struct reg_logfile *l, int mib)
{
  char line[1000];
  memset (line, 'y', sizeof line);
  for (int batch = 0; batch < mib * 16; batch++)
    {
      reg_logfile_begin (l);
      for (int i = 0; i < 64; i++)
        reg_logfile_line (l, "stdout", line, sizeof line, false);
      reg_logfile_flush (l);
    }
}

static void
test_global_cap (void **state)
{
  /* B already holds 2 MiB; the cap for all is 3 MiB. */
  fill (ID_B, "log.jsonl", 2 << 20);
  fill (ID_A, "log.jsonl.1", 512 << 10);
  char containers[256];
  snprintf (containers, sizeof containers, "%s/containers", root);
  struct reg_logfile *l = malloc (sizeof *l);
  assert_non_null (l);
  assert_int_equal (reg_logfile_open (l, root, ID_A, 0, 3 << 20, NULL), 0);
  write_mib (l, 4);
  /* Over the cap: A's own rotated log went first, then its output was
   * dropped; the total stays within a check (1 MiB) and a batch of it. */
  assert_int_equal (size_of (ID_A, "log.jsonl.1"), -1);
  int64_t total = reg_logfile_total (containers);
  assert_true (total <= (3 << 20) + REG_LOG_CHECK_BYTES + REG_LOG_BATCH);
  assert_true (l->dropping);
  /* B is removed: A logs again at the next check, and says how much was
   * lost. */
  fill (ID_B, "log.jsonl", 0);
  write_mib (l, 1);
  assert_false (l->dropping);
  reg_logfile_close (l);
  free (l);
  size_t len = 0;
  char *text = slurp (ID_A, "log.jsonl", &len);
  assert_non_null (text);
  check_records (text, NULL, NULL);
  const char *drop = strstr (text, "reg: output dropped from here");
  const char *again = strstr (text, "reg: output logged again; ");
  assert_non_null (drop);
  assert_non_null (again);
  assert_true (drop < again);
  assert_non_null (strstr (again, "bytes were dropped (global cap 3145728 bytes)"));
  free (text);
}

/* The stopped container of the reader tests: following ends at once. */
static bool
never_live (void *data, const char *id)
{
  (*(int *)data)++;
  return false;
}

/* Everything the reader gives, frames decoded back to "1:text" lines. */
struct decoded
{
  char text[4096];
  size_t len;
};

static int
on_frame (void *data, int stream, const unsigned char *p, size_t len, int code)
{
  struct decoded *d = data;
  d->len += (size_t)snprintf (d->text + d->len, sizeof d->text - d->len, "%d:%.*s", stream,
                              (int)len, (const char *)p);
  return 0;
}

static void
read_all (const struct reg_logfile_query *q, struct decoded *d, int *live_calls)
{
  struct reg_logfile_reader *r = NULL;
  struct reg_error *err = NULL;
  if (reg_logfile_reader_open (root, ID_A, q, never_live, live_calls, &r, &err) < 0)
    fail_msg ("open: %s", err->msg);
  struct reg_frame_reader fr = { 0 };
  char buf[7]; /* small: frames cross reads */
  ssize_t n;
  *d = (struct decoded){ .len = 0 };
  while ((n = reg_logfile_reader_read (r, buf, sizeof buf, -1)) > 0)
    assert_int_equal (reg_proto_frame_feed (&fr, buf, (size_t)n, on_frame, d), 0);
  assert_int_equal (n, 0);
  assert_int_equal (fr.len, 0);
  reg_proto_frame_reader_clear (&fr);
  reg_logfile_reader_close (r);
}

/* What the monitor writes, read back as reg logs streams it: the rotated
 * part first, --tail, a partial line, --timestamps, and follow of a
 * container that has stopped. */
static void
test_reader (void **state)
{
  struct reg_logfile l;
  struct decoded d;
  int live_calls = 0;
  assert_int_equal (reg_logfile_open (&l, root, ID_A, 0, 0, NULL), 0);
  reg_logfile_begin (&l);
  reg_logfile_line (&l, "stdout", "one", 3, false);
  reg_logfile_flush (&l);
  reg_logfile_close (&l);
  char from[512], to[512];
  snprintf (from, sizeof from, "%s/containers/%s/log.jsonl", root, ID_A);
  snprintf (to, sizeof to, "%s/containers/%s/log.jsonl.1", root, ID_A);
  assert_int_equal (rename (from, to), 0); /* as a rotation leaves it */
  assert_int_equal (reg_logfile_open (&l, root, ID_A, 0, 0, NULL), 0);
  reg_logfile_begin (&l);
  reg_logfile_line (&l, "stderr", "two", 3, false);
  reg_logfile_line (&l, "stdout", "thr", 3, true);
  reg_logfile_flush (&l);
  reg_logfile_close (&l);
  read_all (&(struct reg_logfile_query){ .tail = -1 }, &d, &live_calls);
  assert_string_equal (d.text, "1:one\n2:two\n1:thr");
  read_all (&(struct reg_logfile_query){ .tail = 2 }, &d, &live_calls);
  assert_string_equal (d.text, "2:two\n1:thr");
  read_all (&(struct reg_logfile_query){ .tail = 0 }, &d, &live_calls);
  assert_string_equal (d.text, "");
  assert_int_equal (live_calls, 0);
  /* Follow: only the current file, then the end once it is not live. */
  read_all (&(struct reg_logfile_query){ .tail = -1, .follow = true }, &d, &live_calls);
  assert_string_equal (d.text, "2:two\n1:thr");
  assert_int_equal (live_calls, 1);
  read_all (&(struct reg_logfile_query){ .tail = 1, .timestamps = true }, &d, &live_calls);
  assert_int_equal (d.text[0], '1');
  assert_non_null (strstr (d.text, "Z thr"));
  /* Every record is older than a time to come. */
  read_all (&(struct reg_logfile_query){ .tail = -1, .since = reg_util_now () + 60 }, &d,
            &live_calls);
  assert_string_equal (d.text, "");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_records, setup, teardown),
    cmocka_unit_test_setup_teardown (test_rotation, setup, teardown),
    cmocka_unit_test_setup_teardown (test_global_cap, setup, teardown),
    cmocka_unit_test_setup_teardown (test_reader, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
