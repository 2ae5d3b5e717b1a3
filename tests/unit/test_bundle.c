/* Unit tests of the files blob: a reproducible pack/unpack round trip
 * through a real store, and unpacking of hostile archives built here with
 * libarchive — path escapes, links, devices, FIFOs, directories, names not
 * of the form sha256/<64 hex>[+x], content not matching its name,
 * duplicates, the size and entry bounds, truncated and garbage archives.
 * Each is refused with a message naming the entry, and nothing is left in
 * the destination directory. */
#include "bundle.h"
#include "store.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

struct fixture
{
  char dir[64];
  char archive[96];
  char dest[96];
};

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  strcpy (f->dir, "/tmp/reg-test-bundle-XXXXXX");
  assert_non_null (mkdtemp (f->dir));
  snprintf (f->archive, sizeof f->archive, "%s/blob", f->dir);
  snprintf (f->dest, sizeof f->dest, "%s/out", f->dir);
  assert_int_equal (mkdir (f->dest, 0700), 0);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  assert_int_equal (reg_util_rm_rf (f->dir, NULL), 0);
  free (f);
  return 0;
}

static void
sha256_hex (const char *data, size_t len, char hex[65])
{
  unsigned char raw[32];
  EVP_Digest (data, len, raw, NULL, EVP_sha256 (), NULL);
  reg_util_hex (raw, 32, hex);
}

/* "sha256/<digest of data>" plus suffix. */
static char *
object_entry (const char *data, const char *suffix)
{
  char hex[65];
  sha256_hex (data, strlen (data), hex);
  char *name = NULL;
  assert_true (asprintf (&name, "sha256/%s%s", hex, suffix) > 0);
  return name;
}

struct entry
{
  const char *name;
  unsigned type; /* AE_IFREG when 0 */
  const char *data;
  const char *symlink, *hardlink;
  long long mtime; /* set when not 0 */
};

enum compression
{
  PLAIN,
  GZIP
};

static void
write_archive (const char *path, enum compression c, const struct entry *entries, size_t n)
{
  struct archive *a = archive_write_new ();
  assert_int_equal (archive_write_set_format_pax_restricted (a), ARCHIVE_OK);
  if (c == GZIP)
    assert_int_equal (archive_write_add_filter_gzip (a), ARCHIVE_OK);
  assert_int_equal (archive_write_open_filename (a, path), ARCHIVE_OK);
  for (size_t i = 0; i < n; i++)
    {
      const struct entry *en = &entries[i];
      struct archive_entry *e = archive_entry_new ();
      archive_entry_set_pathname (e, en->name);
      archive_entry_set_filetype (e, en->type ? en->type : AE_IFREG);
      archive_entry_set_perm (e, 0644);
      if (en->type == AE_IFCHR || en->type == AE_IFBLK)
        archive_entry_set_rdev (e, makedev (1, 3));
      if (en->symlink)
        archive_entry_set_symlink (e, en->symlink);
      if (en->hardlink)
        archive_entry_set_hardlink (e, en->hardlink);
      size_t len = en->data ? strlen (en->data) : 0;
      archive_entry_set_size (e, len);
      if (en->mtime)
        archive_entry_set_mtime (e, (time_t)en->mtime, 0);
      assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
      if (len)
        assert_int_equal (archive_write_data (a, en->data, len), (la_ssize_t)len);
      archive_entry_free (e);
    }
  assert_int_equal (archive_write_close (a), ARCHIVE_OK);
  archive_write_free (a);
}

static int
count_files (const char *dir)
{
  DIR *d = opendir (dir);
  assert_non_null (d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir (d)))
    if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
      n++;
  closedir (d);
  return n;
}

static const struct reg_bundle_limits defaults = REG_BUNDLE_LIMITS_DEFAULT;

/* Unpacking f->archive fails with `code`, a message holding `name` and
 * `want`, and leaves the destination empty. */
static void
expect_refused (struct fixture *f, const struct reg_bundle_limits *limits, int code,
                const char *name, const char *want)
{
  char **objects = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_bundle_unpack (f->archive, f->dest, limits, &objects, &err), -1);
  assert_null (objects);
  assert_non_null (err);
  if (strstr (err->msg, name) == NULL || strstr (err->msg, want) == NULL)
    fail_msg ("message \"%s\" lacks the entry \"%s\" or \"%s\"", err->msg, name, want);
  assert_int_equal (err->code, code);
  reg_error_free (err);
  assert_int_equal (count_files (f->dest), 0);
}

static void
test_pack_unpack_round_trip (void **state)
{
  struct fixture *f = *state;
  char storedir[96];
  snprintf (storedir, sizeof storedir, "%s/store", f->dir);
  struct reg_store *store = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_store_open (storedir, &store, &err), 0);
  char d1[65], d2[65];
  bool created;
  assert_int_equal (reg_store_put_bytes (store, "data one\n", 9, false, d1, &created, &err), 0);
  assert_int_equal (reg_store_put_bytes (store, "#!/bin/sh\n", 10, true, d2, &created, &err), 0);
  /* The object's mtime travels (Python's .pyc check, bundle.h). */
  char *obj1 = reg_store_object_path (store, d1, false);
  struct timespec t[2] = { { 0, UTIME_OMIT }, { 1745849508, 0 } };
  assert_int_equal (utimensat (AT_FDCWD, obj1, t, 0), 0);
  free (obj1);
  char x2[67];
  snprintf (x2, sizeof x2, "%s+x", d2);
  char *objects[] = { strcmp (d1, x2) < 0 ? d1 : x2, strcmp (d1, x2) < 0 ? x2 : d1, NULL };
  assert_int_equal (reg_bundle_pack (store, objects, f->archive, &err), 0);
  /* Reproducible: packing again gives the same bytes. */
  char again[112];
  snprintf (again, sizeof again, "%s/blob2", f->dir);
  assert_int_equal (reg_bundle_pack (store, objects, again, &err), 0);
  char *a = NULL, *b = NULL;
  size_t alen, blen;
  assert_int_equal (reg_util_read_file (f->archive, 1 << 20, &a, &alen, NULL), 0);
  assert_int_equal (reg_util_read_file (again, 1 << 20, &b, &blen, NULL), 0);
  assert_int_equal (alen, blen);
  assert_memory_equal (a, b, alen);
  free (a);
  free (b);
  char **got = NULL;
  assert_int_equal (reg_bundle_unpack (f->archive, f->dest, &defaults, &got, &err), 0);
  assert_string_equal (got[0], objects[0]);
  assert_string_equal (got[1], objects[1]);
  assert_null (got[2]);
  reg_strv_free (got);
  char path[200];
  snprintf (path, sizeof path, "%s/%s", f->dest, d1);
  char *content = NULL;
  size_t len;
  assert_int_equal (reg_util_read_file (path, 1 << 20, &content, &len, NULL), 0);
  assert_int_equal (len, 9);
  assert_memory_equal (content, "data one\n", 9);
  free (content);
  struct stat st;
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mtim.tv_sec, 1745849508);
  /* A malformed object name is refused on pack too. */
  char *bad[] = { "sha256:x", NULL };
  assert_int_equal (reg_bundle_pack (store, bad, again, &err), -1);
  assert_non_null (strstr (err->msg, "malformed object name \"sha256:x\""));
  reg_error_free (err);
  reg_store_free (store);
}

/* An entry's time is taken only when it is sane (1970 to 2106). */
static void
test_entry_times (void **state)
{
  struct fixture *f = *state;
  char *good = object_entry ("good\n", ""), *neg = object_entry ("negative\n", "");
  char *huge = object_entry ("huge\n", "");
  struct entry entries[] = {
    { good, 0, "good\n", NULL, NULL, 1600000000 },
    { neg, 0, "negative\n", NULL, NULL, -5 },
    { huge, 0, "huge\n", NULL, NULL, 1LL << 40 },
  };
  write_archive (f->archive, GZIP, entries, 3);
  char **got = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_bundle_unpack (f->archive, f->dest, &defaults, &got, &err), 0);
  reg_strv_free (got);
  time_t now = time (NULL);
  const char *names[] = { good, neg, huge };
  for (int i = 0; i < 3; i++)
    {
      char path[200];
      struct stat st;
      snprintf (path, sizeof path, "%s/%s", f->dest, names[i] + 7);
      assert_int_equal (stat (path, &st), 0);
      if (i == 0)
        assert_int_equal (st.st_mtim.tv_sec, 1600000000);
      else
        assert_true (st.st_mtim.tv_sec >= now - 60);
    }
  free (good);
  free (neg);
  free (huge);
}

static void
test_path_escapes (void **state)
{
  struct fixture *f = *state;
  const char *names[] = { "../x",        "sha256/../../etc/passwd",
                          "/etc/passwd", "/sha256/x",
                          "./sha256/aa", "sha256/",
                          "x",           "sha256/" };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    {
      struct entry e = { .name = names[i], .data = "evil" };
      write_archive (f->archive, GZIP, &e, 1);
      expect_refused (f, &defaults, EINVAL, names[i], "not an object name");
    }
  /* An absolute path ending in a valid object name. */
  char *obj = object_entry ("evil", "");
  char *abs = NULL;
  assert_true (asprintf (&abs, "/%s", obj) > 0);
  struct entry e = { .name = abs, .data = "evil" };
  write_archive (f->archive, GZIP, &e, 1);
  expect_refused (f, &defaults, EINVAL, abs,
                  "not an object name (want sha256/<64 hex>[+x or +MODE-UID-GID[-CAP]])");
  free (abs);
  free (obj);
}

static void
test_bad_object_names (void **state)
{
  struct fixture *f = *state;
  char *good = object_entry ("content", "");
  char upper[100], short_[100], suffix[100], sha512[100];
  snprintf (upper, sizeof upper, "%s", good);
  for (char *p = upper + 7; *p; p++)
    if (*p >= 'a' && *p <= 'f')
      *p -= 32;
  snprintf (short_, sizeof short_, "%.70s", good);
  snprintf (suffix, sizeof suffix, "%s+w", good);
  snprintf (sha512, sizeof sha512, "sha512/%s", good + 7);
  const char *names[] = { upper, short_, suffix, sha512 };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    {
      struct entry e = { .name = names[i], .data = "content" };
      write_archive (f->archive, PLAIN, &e, 1);
      expect_refused (f, &defaults, EINVAL, names[i], "not an object name");
    }
  free (good);
}

static void
test_links_devices_fifos_dirs (void **state)
{
  struct fixture *f = *state;
  char *name = object_entry ("target", "");
  struct entry cases[] = {
    { .name = name, .type = AE_IFLNK, .symlink = "/etc/shadow" },
    { .name = name, .type = AE_IFLNK, .symlink = "../../../../root" },
    { .name = name, .hardlink = "/etc/shadow" },
    { .name = name, .type = AE_IFCHR },
    { .name = name, .type = AE_IFBLK },
    { .name = name, .type = AE_IFIFO },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      write_archive (f->archive, GZIP, &cases[i], 1);
      expect_refused (f, &defaults, EINVAL, name, "not a regular file");
    }
  /* A directory: its name gets a trailing slash, which no object has. */
  struct entry dir = { .name = name, .type = AE_IFDIR };
  write_archive (f->archive, GZIP, &dir, 1);
  expect_refused (f, &defaults, EINVAL, name, "not an object name");
  /* A hard link to an entry of the same archive: the first is fine, the link is not. */
  struct entry pair[] = { { .name = name, .data = "target" }, { .name = name, .hardlink = name } };
  write_archive (f->archive, GZIP, pair, 2);
  expect_refused (f, &defaults, EINVAL, name, "not a regular file");
  free (name);
}

static void
test_content_not_its_name (void **state)
{
  struct fixture *f = *state;
  char *name = object_entry ("what the name says", "+x");
  struct entry e = { .name = name, .data = "something else" };
  write_archive (f->archive, GZIP, &e, 1);
  char other[65];
  sha256_hex ("something else", 14, other);
  char want[120];
  snprintf (want, sizeof want, "content has digest sha256:%s, not its name", other);
  expect_refused (f, &defaults, EINVAL, name + 7, want);
  free (name);
}

static void
test_duplicates (void **state)
{
  struct fixture *f = *state;
  char *name = object_entry ("twice", "");
  struct entry e[] = { { .name = name, .data = "twice" }, { .name = name, .data = "twice" } };
  write_archive (f->archive, PLAIN, e, 2);
  expect_refused (f, &defaults, EEXIST, name + 7, "(duplicate)");
  free (name);
}

static void
test_size_and_entry_bounds (void **state)
{
  struct fixture *f = *state;
  /* Over the bound per entry: refused by its header, before reading. */
  const char *big = "0123456789abcdef0123";
  char *name = object_entry (big, "");
  struct entry e = { .name = name, .data = big };
  write_archive (f->archive, GZIP, &e, 1);
  struct reg_bundle_limits limits = { 19, 1000, 10 };
  expect_refused (f, &limits, EFBIG, name + 7, "20 bytes is over the 19 byte bound per entry");
  /* Over the total: the second entry crosses it; the first goes too. */
  char *second = object_entry ("01234567890123456789x", "");
  struct entry two[]
      = { { .name = name, .data = big }, { .name = second, .data = "01234567890123456789x" } };
  write_archive (f->archive, GZIP, two, 2);
  limits = (struct reg_bundle_limits){ 100, 30, 10 };
  expect_refused (f, &limits, EFBIG, second + 7, "over the size bound");
  /* Too many entries: the one over the bound is named, all go. */
  char *third = object_entry ("third", "");
  struct entry three[] = { { .name = name, .data = big },
                           { .name = second, .data = "01234567890123456789x" },
                           { .name = third, .data = "third" } };
  write_archive (f->archive, GZIP, three, 3);
  limits = (struct reg_bundle_limits){ 100, 1000, 2 };
  expect_refused (f, &limits, EFBIG, third, "over the bound of 2 entries");
  /* The same archive within the bounds unpacks. */
  limits.max_entries = 3;
  char **got = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_bundle_unpack (f->archive, f->dest, &limits, &got, &err), 0);
  assert_int_equal (count_files (f->dest), 3);
  reg_strv_free (got);
  free (name);
  free (second);
  free (third);
}

static void
truncate_to (const char *path, double fraction)
{
  struct stat st;
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (truncate (path, (off_t)(st.st_size * fraction)), 0);
}

static void
test_truncated_and_garbage (void **state)
{
  struct fixture *f = *state;
  /* Content that does not compress away, so a cut lands inside the data. */
  size_t size = 400000;
  char *data = malloc (size + 1);
  unsigned x = 12345;
  for (size_t i = 0; i < size; i++)
    {
      x = x * 1103515245 + 12345;
      data[i] = 'a' + (x >> 16) % 26;
    }
  data[size] = '\0';
  char *name = object_entry (data, "");
  struct entry e = { .name = name, .data = data };
  write_archive (f->archive, PLAIN, &e, 1);
  truncate_to (f->archive, 0.5);
  expect_refused (f, &defaults, EIO, name + 7, "runcated");
  write_archive (f->archive, GZIP, &e, 1);
  truncate_to (f->archive, 0.5);
  expect_refused (f, &defaults, EIO, name + 7, "truncated gzip input");
  /* Cut right after the gzip header: nothing to name but the archive. */
  write_archive (f->archive, GZIP, &e, 1);
  assert_int_equal (truncate (f->archive, 20), 0);
  expect_refused (f, &defaults, EINVAL, f->archive, "malformed or truncated");
  /* Cut inside the header: no entry to name, the archive is refused. */
  write_archive (f->archive, PLAIN, &e, 1);
  assert_int_equal (truncate (f->archive, 300), 0);
  expect_refused (f, &defaults, EINVAL, f->archive, "malformed or truncated");
  FILE *fp = fopen (f->archive, "w");
  fputs ("this is not a tar archive at all, not even gzip", fp);
  fclose (fp);
  char **got = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_bundle_unpack (f->archive, f->dest, &defaults, &got, &err), -1);
  assert_non_null (err);
  reg_error_free (err);
  assert_int_equal (count_files (f->dest), 0);
  free (name);
  free (data);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_pack_unpack_round_trip, setup, teardown),
    cmocka_unit_test_setup_teardown (test_entry_times, setup, teardown),
    cmocka_unit_test_setup_teardown (test_path_escapes, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_object_names, setup, teardown),
    cmocka_unit_test_setup_teardown (test_links_devices_fifos_dirs, setup, teardown),
    cmocka_unit_test_setup_teardown (test_content_not_its_name, setup, teardown),
    cmocka_unit_test_setup_teardown (test_duplicates, setup, teardown),
    cmocka_unit_test_setup_teardown (test_size_and_entry_bounds, setup, teardown),
    cmocka_unit_test_setup_teardown (test_truncated_and_garbage, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
