/* Unit tests of reg-hub's uploaded apps (src/hub/appfiles.h): archives
 * built here with libarchive — a good one read into a real store, and
 * hostile ones (path escapes, absolute names, symlinks out, hard links,
 * devices, duplicates, the size and entry bounds, garbage), each refused
 * naming the entry, with the objects the call added taken back out of
 * the store. */
#include "appfiles.h"
#include "store.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
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
  char path[96];
  struct reg_store *store;
};

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  strcpy (f->dir, "/tmp/reg-test-appfiles-XXXXXX");
  assert_non_null (mkdtemp (f->dir));
  assert_int_equal (reg_store_open (f->dir, &f->store, NULL), 0);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  reg_store_free (f->store);
  assert_int_equal (reg_util_rm_rf (f->dir, NULL), 0);
  free (f);
  return 0;
}

/* One archive entry: type 'f' file (data), 'l' symlink (data = target),
 * 'h' hard link (data = target), 'd' directory, 'c' character device. */
struct member
{
  char type;
  const char *name;
  const char *data;
  int perm;
};

static void
make (struct fixture *f, const char *name, bool zip, const struct member *m, size_t n)
{
  snprintf (f->path, sizeof f->path, "%s/%s", f->dir, name);
  struct archive *a = archive_write_new ();
  if (zip)
    archive_write_set_format_zip (a);
  else
    {
      archive_write_set_format_pax_restricted (a);
      archive_write_add_filter_gzip (a);
    }
  assert_int_equal (archive_write_open_filename (a, f->path), ARCHIVE_OK);
  for (size_t i = 0; i < n; i++)
    {
      struct archive_entry *e = archive_entry_new ();
      archive_entry_set_pathname (e, m[i].name);
      archive_entry_set_perm (e, m[i].perm ? m[i].perm : 0644);
      size_t len = m[i].type == 'f' && m[i].data ? strlen (m[i].data) : 0;
      switch (m[i].type)
        {
        case 'f':
          archive_entry_set_filetype (e, AE_IFREG);
          break;
        case 'l':
          archive_entry_set_filetype (e, AE_IFLNK);
          archive_entry_set_symlink (e, m[i].data);
          break;
        case 'h':
          archive_entry_set_filetype (e, AE_IFREG);
          archive_entry_set_hardlink (e, m[i].data);
          break;
        case 'd':
          archive_entry_set_filetype (e, AE_IFDIR);
          break;
        default:
          archive_entry_set_filetype (e, AE_IFCHR);
        }
      archive_entry_set_size (e, (la_int64_t)len);
      assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
      if (len)
        assert_int_equal (archive_write_data (a, m[i].data, len), (la_ssize_t)len);
      archive_entry_free (e);
    }
  archive_write_close (a);
  archive_write_free (a);
}

static size_t
objects (struct fixture *f)
{
  struct reg_store_stats st;
  assert_int_equal (reg_store_stats (f->store, &st, NULL), 0);
  return (size_t)st.objects;
}

/* Refused with a message containing `want`, nothing left in the store. */
static void
refused (struct fixture *f, const char *upload, const char *want, int code)
{
  const struct hub_app_limits l = { 1 << 20, 100 };
  struct hub_app_files out;
  char **added = NULL;
  struct reg_error *err = NULL;
  size_t before = objects (f);
  assert_int_equal (hub_appfiles_read (f->store, f->path, upload, &l, f->dir, &out, &added, &err),
                    -1);
  assert_non_null (err);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("%s: \"%s\" lacks \"%s\"", upload, err->msg, want);
  assert_int_equal (err->code, code);
  assert_null (added);
  assert_int_equal (out.n, 0);
  assert_int_equal (objects (f), before);
  reg_error_free (err);
}

static void
test_good_archive (void **state)
{
  struct fixture *f = *state;
  const struct member m[] = { { 'd', "./", NULL, 0755 },
                              { 'f', "./app.py", "print('hi')\n", 0644 },
                              { 'd', "./static", NULL, 0755 },
                              { 'f', "./static/run.sh", "#!/bin/sh\n", 0755 },
                              { 'l', "./static/current", "run.sh", 0 },
                              { 'l', "./up", "static/../app.py", 0 } };
  make (f, "app.tar.gz", false, m, 6);
  const struct hub_app_limits l = { 1 << 20, 100 };
  struct hub_app_files out;
  char **added = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (
      hub_appfiles_read (f->store, f->path, "app.tar.gz", &l, f->dir, &out, &added, &err), 0);
  assert_int_equal (out.n, 5);
  assert_int_equal (out.files, 2);
  assert_int_equal (out.bytes, 22);
  assert_string_equal (out.entries[0].path, "/app/app.py");
  assert_int_equal (out.entries[0].kind, REG_ENTRY_FILE);
  assert_int_equal (out.entries[1].kind, REG_ENTRY_DIR);
  assert_string_equal (out.entries[2].path, "/app/static/run.sh");
  assert_int_equal (out.entries[2].kind, REG_ENTRY_EXEC);
  assert_true (reg_store_has (f->store, out.entries[2].value, true));
  assert_int_equal (out.entries[3].kind, REG_ENTRY_SYMLINK);
  assert_string_equal (out.entries[3].value, "run.sh");
  assert_int_equal (reg_strv_len (added), 2);
  reg_strv_free (added);
  hub_appfiles_free (&out);
  /* Only checking (no store): the same answer, nothing stored. */
  assert_int_equal (hub_appfiles_read (NULL, f->path, "app.tar.gz", &l, f->dir, &out, NULL, &err),
                    0);
  assert_int_equal (out.n, 5);
  hub_appfiles_free (&out);
}

static void
test_zip_and_single_file (void **state)
{
  struct fixture *f = *state;
  const struct member m[] = { { 'f', "main.js", "console.log(1)\n", 0644 } };
  make (f, "app.zip", true, m, 1);
  const struct hub_app_limits l = { 1 << 20, 100 };
  struct hub_app_files out;
  struct reg_error *err = NULL;
  assert_int_equal (hub_appfiles_read (NULL, f->path, "app.zip", &l, f->dir, &out, NULL, &err), 0);
  assert_string_equal (out.entries[0].path, "/app/main.js");
  hub_appfiles_free (&out);
  /* Any other name: the file itself, under its name. */
  assert_int_equal (hub_appfiles_read (NULL, f->path, "server.jar", &l, f->dir, &out, NULL, &err),
                    0);
  assert_int_equal (out.n, 1);
  assert_string_equal (out.entries[0].path, "/app/server.jar");
  hub_appfiles_free (&out);
  assert_string_equal (hub_appfiles_kind ("A.TGZ"), "tar.gz");
  assert_string_equal (hub_appfiles_kind ("x.tar"), "tar");
  assert_string_equal (hub_appfiles_kind ("tar.gz"), "file");
}

static void
test_hostile (void **state)
{
  struct fixture *f = *state;
  const struct
  {
    struct member m;
    const char *want;
  } cases[] = {
    { { 'f', "../../etc/evil", "x", 0 }, "not a relative path inside the app" },
    { { 'f', "/etc/evil", "x", 0 }, "not a relative path inside the app" },
    { { 'f', "a/./b", "x", 0 }, "not a relative path inside the app" },
    { { 'f', "a//b", "x", 0 }, "not a relative path inside the app" },
    { { 'l', "conf", "../../../etc/shadow", 0 }, "points out of the app" },
    { { 'l', "deep/conf", "../../x", 0 }, "points out of the app" },
    { { 'l', "conf", "/etc/shadow", 0 }, "points out of the app" },
    { { 'h', "h", "app.py", 0 }, "hard links are not accepted" },
    { { 'c', "dev", NULL, 0 }, "only files, directories and symlinks" },
    { { 'f', "app.py", "again", 0 }, "entry app.py given twice" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      /* A good file first, new to the store: what it added must go again. */
      char good[64];
      snprintf (good, sizeof good, "fresh content %zu", i);
      const struct member m[] = { { 'f', "app.py", good, 0 }, cases[i].m };
      make (f, "bad.tar.gz", false, m, 2);
      refused (f, "bad.tar.gz", cases[i].want, EINVAL);
    }
}

static void
test_bounds (void **state)
{
  struct fixture *f = *state;
  /* A zip bomb: 4 MiB of zeros, a few kB compressed; the bound is 1 MiB. */
  char *zeros = calloc (1, (4 << 20) + 1);
  memset (zeros, 'z', 4 << 20);
  const struct member bomb[] = { { 'f', "app.py", "small", 0 }, { 'f', "big", zeros, 0 } };
  make (f, "bomb.zip", true, bomb, 2);
  free (zeros);
  refused (f, "bomb.zip", "expands to more than 1048576 bytes", EFBIG);
  /* More entries than allowed. */
  struct member many[101];
  char names[101][16];
  for (int i = 0; i < 101; i++)
    {
      snprintf (names[i], sizeof names[i], "f%d", i);
      many[i] = (struct member){ 'f', names[i], "x", 0 };
    }
  make (f, "many.tar.gz", false, many, 101);
  refused (f, "many.tar.gz", "more than 100 entries", EFBIG);
  /* Garbage named as an archive; an empty archive. */
  snprintf (f->path, sizeof f->path, "%s/garbage.tar.gz", f->dir);
  assert_int_equal (reg_util_write_atomic (f->path, "not gzip at all", 15, 0600, NULL), 0);
  refused (f, "garbage.tar.gz", "garbage.tar.gz", EINVAL);
  make (f, "empty.tar.gz", false, NULL, 0);
  refused (f, "empty.tar.gz", "holds no file", EINVAL);
  /* Client file names that are not base names. */
  refused (f, "../x.tar.gz", "not a plain base name", EINVAL);
  refused (f, "", "not a plain base name", EINVAL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_good_archive, setup, teardown),
    cmocka_unit_test_setup_teardown (test_zip_and_single_file, setup, teardown),
    cmocka_unit_test_setup_teardown (test_hostile, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bounds, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
