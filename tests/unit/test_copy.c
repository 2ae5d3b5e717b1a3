/* Unit tests of copy: path resolution below a container root (escapes
 * through ".." and symlinks refused), a tar round trip with a symlink
 * kept as one, crafted archives refused, and upper-layer changes. */
#include "copy.h"
#include "util.h"

#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

static char root[64];

static void
put (const char *rel, const char *text)
{
  char p[256];
  snprintf (p, sizeof p, "%s/%s", root, rel);
  FILE *f = fopen (p, "w");
  assert_non_null (f);
  fputs (text, f);
  fclose (f);
}

static void
dir (const char *rel)
{
  char p[256];
  snprintf (p, sizeof p, "%s/%s", root, rel);
  assert_int_equal (mkdir (p, 0755), 0);
}

static void
link_ (const char *target, const char *rel)
{
  char p[256];
  snprintf (p, sizeof p, "%s/%s", root, rel);
  assert_int_equal (symlink (target, p), 0);
}

static int
setup (void **state)
{
  snprintf (root, sizeof root, "/tmp/reg-copytest-XXXXXX");
  assert_non_null (mkdtemp (root));
  dir ("c");
  dir ("c/d");
  put ("c/d/f", "hello");
  link_ ("f", "c/d/l");
  link_ ("../../../../../../etc", "c/esc");
  link_ ("/etc", "c/abs");
  link_ ("d", "c/ok");
  return 0;
}

static int
teardown (void **state)
{
  reg_util_rm_rf (root, NULL);
  return 0;
}

static int
container_root (void)
{
  char p[128];
  snprintf (p, sizeof p, "%s/c", root);
  int fd = open (p, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true (fd >= 0);
  return fd;
}

static void
test_resolve (void **state)
{
  int rfd = container_root (), parent = -1;
  char *name = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_copy_resolve (rfd, "/ok/f", &parent, &name, &err), 0);
  assert_string_equal (name, "f");
  close (parent);
  free (name);
  static const char *const escapes[]
      = { "/../etc/passwd", "/esc/passwd", "/abs/passwd", "/d/../../x" };
  for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++)
    {
      assert_int_equal (reg_copy_resolve (rfd, escapes[i], &parent, &name, &err), -1);
      assert_non_null (strstr (err->msg, "escapes the container's root"));
      reg_error_free (err);
      err = NULL;
    }
  assert_int_equal (reg_copy_resolve (rfd, "/nope", &parent, &name, &err), -1);
  assert_non_null (strstr (err->msg, "no such file or directory in the container: /nope"));
  reg_error_free (err);
  err = NULL;
  assert_int_equal (reg_copy_resolve (rfd, "relative", &parent, &name, &err), -1);
  reg_error_free (err);
  close (rfd);
}

static int
append (void *data, const void *buf, size_t len)
{
  FILE *f = data;
  return fwrite (buf, 1, len, f) == len ? 0 : -1;
}

static void
test_round_trip (void **state)
{
  int rfd = container_root (), parent = -1;
  char *name = NULL, *tar = NULL;
  size_t len = 0;
  struct reg_error *err = NULL;
  assert_int_equal (reg_copy_resolve (rfd, "/d", &parent, &name, &err), 0);
  FILE *mem = open_memstream (&tar, &len);
  assert_int_equal (reg_copy_tar (parent, name, "d", append, mem, &err), 0);
  fclose (mem);
  /* Into a new name: the top entry renamed. */
  assert_int_equal (reg_copy_untar (rfd, "/copy", tar, len, &err), 0);
  char p[256], target[64] = "";
  snprintf (p, sizeof p, "%s/c/copy/l", root);
  assert_true (readlink (p, target, sizeof target - 1) > 0);
  assert_string_equal (target, "f");
  snprintf (p, sizeof p, "%s/c/copy/f", root);
  struct stat st;
  assert_int_equal (stat (p, &st), 0);
  assert_int_equal (st.st_size, 5);
  /* Through a symlink that leaves the tree: refused, nothing written. */
  assert_int_equal (reg_copy_untar (rfd, "/esc/", tar, len, &err), -1);
  assert_non_null (strstr (err->msg, "escapes"));
  reg_error_free (err);
  err = NULL;
  /* Not an archive. */
  assert_int_equal (reg_copy_untar (rfd, "/d", "garbage", 7, &err), -1);
  reg_error_free (err);
  free (tar);
  free (name);
  close (parent);
  close (rfd);
}

static void
test_changes (void **state)
{
  dir ("lower");
  dir ("lower/etc");
  put ("lower/etc/a", "a");
  put ("lower/etc/gone", "g");
  dir ("upper");
  dir ("upper/etc");
  put ("upper/etc/a", "changed");
  put ("upper/etc/new", "n");
  dir ("upper/proc");
  char p[256];
  snprintf (p, sizeof p, "%s/upper/etc/gone", root);
  assert_int_equal (mknod (p, S_IFCHR | 0, makedev (0, 0)), 0); /* a whiteout */
  char up[128], low[128];
  snprintf (up, sizeof up, "%s/upper", root);
  snprintf (low, sizeof low, "%s/lower", root);
  char *hide[] = { "/proc", NULL };
  json_t *out = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_copy_changes (up, low, hide, &out, &err), 0);
  char *text = json_dumps (out, JSON_COMPACT);
  assert_string_equal (text,
                       "[{\"Path\":\"/etc\",\"Kind\":0},{\"Path\":\"/etc/a\",\"Kind\":0},"
                       "{\"Path\":\"/etc/gone\",\"Kind\":2},{\"Path\":\"/etc/new\",\"Kind\":1}]");
  free (text);
  json_decref (out);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_resolve, setup, teardown),
    cmocka_unit_test_setup_teardown (test_round_trip, setup, teardown),
    cmocka_unit_test_setup_teardown (test_changes, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
