/* Unit tests of detach keys: Docker's spelling (every error), and the
 * input filter that holds back a partial sequence. */
#include "detach.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void
keys_are (const char *spec, const char *want, size_t n)
{
  struct reg_detach d;
  struct reg_error *err = NULL;
  if (reg_detach_parse (spec, &d, &err) < 0)
    fail_msg ("%s: %s", spec, err->msg);
  assert_int_equal (d.n_keys, n);
  assert_memory_equal (d.keys, want, n);
}

static void
keys_bad (const char *spec, const char *want)
{
  struct reg_detach d;
  struct reg_error *err = NULL;
  if (reg_detach_parse (spec, &d, &err) == 0)
    fail_msg ("accepted: %s", spec);
  assert_int_equal (err->code, EINVAL);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("for %s\ngot  \"%s\"\nwant \"%s\"", spec, err->msg, want);
  reg_error_free (err);
}

static void
test_parse (void **state)
{
  keys_are (REG_DETACH_DEFAULT, "\x10\x11", 2);
  keys_are ("ctrl-a,d",
            "\x01"
            "d",
            2);
  keys_are ("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", "\x00\x1b\x1c\x1d\x1e\x1f", 6);
  keys_are ("ctrl-z", "\x1a", 1);
  keys_are ("x,y,z", "xyz", 3);
  keys_bad ("ctrl-pp", "detach keys \"ctrl-pp\": \"ctrl-pp\" is not a key (a single character, or "
                       "ctrl-a .. ctrl-z, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_)");
  keys_bad ("", "detach keys \"\": \"\" is not a key");
  keys_bad ("ctrl-p,", "detach keys \"ctrl-p,\": \"\" is not a key");
  keys_bad ("ctrl-p,,ctrl-q", "\"\" is not a key");
  keys_bad ("ctrl-1", "\"ctrl-1\" is not a key");
  keys_bad ("ctrl-P", "\"ctrl-P\" is not a key");
  keys_bad ("ctrl-", "\"ctrl-\" is not a key");
  keys_bad ("ab", "\"ab\" is not a key");
  keys_bad ("a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a", "more than 16 keys");
}

/* Feed `in` in pieces of `step` bytes; what comes out, and where it stopped. */
static size_t
feed (const char *spec, const char *in, size_t n, size_t step, char *out, bool *detached)
{
  struct reg_detach d;
  assert_int_equal (reg_detach_parse (spec, &d, NULL), 0);
  size_t total = 0;
  *detached = false;
  for (size_t off = 0; off < n && !*detached; off += step)
    {
      size_t len = n - off < step ? n - off : step, got = 0;
      unsigned char buf[64];
      *detached = reg_detach_feed (&d, (const unsigned char *)in + off, len, buf, &got);
      memcpy (out + total, buf, got);
      total += got;
    }
  return total;
}

static void
test_feed (void **state)
{
  char out[128];
  bool det;
  for (size_t step = 1; step <= 8; step++)
    {
      /* Plain input passes; the sequence detaches, what came before it goes. */
      size_t n = feed (REG_DETACH_DEFAULT, "ls\n\x10\x11more", 10, step, out, &det);
      assert_true (det);
      assert_int_equal (n, 3);
      assert_memory_equal (out, "ls\n", 3);
      /* A lone Ctrl-P reaches the program, with what follows it. */
      n = feed (REG_DETACH_DEFAULT,
                "a\x10"
                "b\x10\x10"
                "c",
                6, step, out, &det);
      assert_false (det);
      assert_int_equal (n, 6);
      assert_memory_equal (out,
                           "a\x10"
                           "b\x10\x10"
                           "c",
                           6);
      /* A held-back key at a piece's end, then the rest of the sequence. */
      n = feed (REG_DETACH_DEFAULT, "\x10\x10\x11", 3, step, out, &det);
      assert_true (det);
      assert_int_equal (n, 1);
      assert_memory_equal (out, "\x10", 1);
    }
  size_t n = feed ("ctrl-z",
                   "ab\x1a"
                   "c",
                   4, 4, out, &det);
  assert_true (det);
  assert_int_equal (n, 2);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse),
    cmocka_unit_test (test_feed),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
