/* Unit tests of reg_volume_fill (volume.h): a volume initialised from a
 * directory as Docker initialises one from its image, on a real engine
 * root in a temporary directory. Owners other than the caller's need root
 * (the suite runs as root; a non-root run checks modes only). */
#include "util.h"
#include "volume.h"

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

struct fixture
{
  char dir[64];
  char root[96], src[96];
};

static void
put (const char *dir, const char *name, const char *text, mode_t mode)
{
  char p[256];
  snprintf (p, sizeof p, "%s/%s", dir, name);
  int fd = open (p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true (fd >= 0);
  assert_int_equal (reg_util_write_all (fd, text, strlen (text)), 0);
  assert_int_equal (fchmod (fd, mode), 0);
  close (fd);
}

/* The source: what an environment holds at a volume's path. Two files of
 * one content are one inode there (hard links), as in an environment. */
static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  strcpy (f->dir, "/tmp/reg-fill-XXXXXX");
  assert_non_null (mkdtemp (f->dir));
  snprintf (f->root, sizeof f->root, "%s/root", f->dir);
  snprintf (f->src, sizeof f->src, "%s/src", f->dir);
  assert_int_equal (mkdir (f->root, 0755), 0);
  assert_int_equal (mkdir (f->src, 0750), 0);
  put (f->src, "a", "same\n", 0444);
  char a[128], b[128], sub[128];
  snprintf (a, sizeof a, "%s/a", f->src);
  snprintf (b, sizeof b, "%s/b", f->src);
  assert_int_equal (link (a, b), 0);
  put (f->src, "run", "#!/bin/sh\n", 0555);
  put (f->src, "secret", "s\n", 0640);
  snprintf (sub, sizeof sub, "%s/sub", f->src);
  assert_int_equal (mkdir (sub, 0700), 0);
  put (sub, "x", "x\n", 0644);
  snprintf (a, sizeof a, "%s/link", f->src);
  assert_int_equal (symlink ("a", a), 0);
  if (geteuid () == 0)
    {
      snprintf (a, sizeof a, "%s/secret", f->src);
      assert_int_equal (chown (a, 33, 33), 0);
      assert_int_equal (chown (sub, 1000, 1000), 0);
      assert_int_equal (chown (f->src, 33, 0), 0);
    }
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  reg_util_rm_rf (f->dir, NULL);
  free (f);
  return 0;
}

static void
stat_in (const struct fixture *f, const char *vol, const char *name, struct stat *st)
{
  char p[256];
  snprintf (p, sizeof p, "%s/volumes/%s/_data%s%s", f->root, vol, *name ? "/" : "", name);
  assert_int_equal (lstat (p, st), 0);
}

static int
open_src (const struct fixture *f)
{
  int fd = open (f->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (fd >= 0);
  return fd;
}

static void
test_fill_keeps_modes_owners_no_links (void **state)
{
  struct fixture *f = *state;
  assert_int_equal (reg_volume_create (f->root, "v", false, NULL, NULL), 0);
  int src = open_src (f);
  bool copied = false;
  assert_int_equal (reg_volume_fill (f->root, "v", &src, 1, "/data", &copied, NULL), 0);
  close (src);
  assert_true (copied);
  struct stat a, b, st;
  stat_in (f, "v", "a", &a);
  stat_in (f, "v", "b", &b);
  assert_int_not_equal (a.st_ino, b.st_ino); /* never one writable file */
  if (geteuid () == 0)
    assert_int_equal (a.st_mode & 07777, 0644); /* the store's 0444 gets u+w back */
  stat_in (f, "v", "run", &st);
  if (geteuid () == 0)
    assert_int_equal (st.st_mode & 07777, 0755);
  stat_in (f, "v", "secret", &st);
  assert_int_equal (st.st_mode & 07777, 0640);
  stat_in (f, "v", "sub", &st);
  assert_true (S_ISDIR (st.st_mode));
  assert_int_equal (st.st_mode & 07777, 0700);
  stat_in (f, "v", "link", &st);
  assert_true (S_ISLNK (st.st_mode));
  stat_in (f, "v", "", &st); /* the volume's root takes the source's */
  assert_int_equal (st.st_mode & 07777, 0750);
  if (geteuid () == 0)
    {
      assert_int_equal (st.st_uid, 33);
      stat_in (f, "v", "secret", &st);
      assert_int_equal (st.st_uid, 33);
      stat_in (f, "v", "sub", &st);
      assert_int_equal (st.st_uid, 1000);
    }
}

/* Docker's rule: a volume with anything in it is left as it is. */
static void
test_fill_leaves_a_used_volume (void **state)
{
  struct fixture *f = *state;
  assert_int_equal (reg_volume_create (f->root, "used", false, NULL, NULL), 0);
  char data[160];
  snprintf (data, sizeof data, "%s/volumes/used/_data", f->root);
  put (data, "mine", "mine\n", 0644);
  int src = open_src (f);
  bool copied = true;
  assert_int_equal (reg_volume_fill (f->root, "used", &src, 1, "/data", &copied, NULL), 0);
  close (src);
  assert_false (copied);
  struct stat st;
  char p[200];
  snprintf (p, sizeof p, "%s/a", data);
  assert_int_equal (lstat (p, &st), -1);
  assert_int_equal (errno, ENOENT);
}

/* A copy that fails (here: a tree deeper than the bound) leaves the
 * volume empty again, and says which. */
static void
test_fill_failure_empties_again (void **state)
{
  struct fixture *f = *state;
  char p[160];
  snprintf (p, sizeof p, "%s/zdeep", f->src);
  int dfd = open (f->src, O_RDONLY | O_DIRECTORY);
  assert_true (dfd >= 0);
  for (int i = 0; i < 300; i++)
    {
      assert_int_equal (mkdirat (dfd, "d", 0755), 0);
      int sub = openat (dfd, "d", O_RDONLY | O_DIRECTORY);
      assert_true (sub >= 0);
      close (dfd);
      dfd = sub;
    }
  close (dfd);
  assert_int_equal (reg_volume_create (f->root, "bad", false, NULL, NULL), 0);
  int src = open_src (f);
  bool copied = true;
  struct reg_error *err = NULL;
  assert_int_equal (reg_volume_fill (f->root, "bad", &src, 1, "/data", &copied, &err), -1);
  close (src);
  assert_false (copied);
  assert_non_null (strstr (err->msg, "volume bad: copy the image's files"));
  assert_non_null (strstr (err->msg, "deeper than"));
  reg_error_free (err);
  snprintf (p, sizeof p, "%s/volumes/bad/_data", f->root);
  int fd = open (p, O_RDONLY | O_DIRECTORY);
  assert_true (fd >= 0);
  close (fd);
  char a[200];
  snprintf (a, sizeof a, "%s/a", p);
  assert_int_equal (access (a, F_OK), -1);
  snprintf (a, sizeof a, "%s/zdeep", p);
  assert_int_equal (access (a, F_OK), -1);
}

static void
test_fill_unknown_volume (void **state)
{
  struct fixture *f = *state;
  int src = open_src (f);
  bool copied = true;
  struct reg_error *err = NULL;
  assert_int_equal (reg_volume_fill (f->root, "nosuch", &src, 1, "/data", &copied, &err), -1);
  close (src);
  assert_false (copied);
  assert_non_null (strstr (err->msg, "volume nosuch"));
  reg_error_free (err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_fill_keeps_modes_owners_no_links, setup, teardown),
    cmocka_unit_test_setup_teardown (test_fill_leaves_a_used_volume, setup, teardown),
    cmocka_unit_test_setup_teardown (test_fill_failure_empties_again, setup, teardown),
    cmocka_unit_test_setup_teardown (test_fill_unknown_volume, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
