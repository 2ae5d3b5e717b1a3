/* Unit tests of the content-addressed store: dedup, immutability, atomic
 * writes leaving no temp files, the executable variant, verify, unput, and
 * which host files are hard-linked rather than copied. */
#include "store.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

struct fixture
{
  char dir[64];
  struct reg_store *store;
};

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  strcpy (f->dir, "/tmp/reg-test-store-XXXXXX");
  assert_non_null (mkdtemp (f->dir));
  struct reg_error *err = NULL;
  assert_int_equal (reg_store_open (f->dir, &f->store, &err), 0);
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

static int
count_entries (const char *dir)
{
  DIR *d = opendir (dir);
  if (d == NULL)
    return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir (d)))
    if (e->d_name[0] != '.')
      n++;
  closedir (d);
  return n;
}

static void
write_file (const char *path, const char *text)
{
  FILE *fp = fopen (path, "w");
  assert_non_null (fp);
  fputs (text, fp);
  fclose (fp);
}

static void
test_put_bytes_digest_and_dedup (void **state)
{
  struct fixture *f = *state;
  char d1[65], d2[65];
  bool created = false;
  struct reg_error *err = NULL;
  assert_int_equal (reg_store_put_bytes (f->store, "abc", 3, false, d1, &created, &err), 0);
  assert_true (created);
  /* SHA-256("abc") */
  assert_string_equal (d1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_int_equal (reg_store_put_bytes (f->store, "abc", 3, false, d2, &created, &err), 0);
  assert_false (created);
  assert_string_equal (d1, d2);
  struct reg_store_stats st;
  assert_int_equal (reg_store_stats (f->store, &st, &err), 0);
  assert_int_equal (st.objects, 1);
  assert_int_equal (st.bytes, 3);
  assert_int_equal (count_entries (f->store->tmp_dir), 0);
}

static void
collect_corrupt (const char *path, const char *actual, void *data)
{
  int *n = data;
  (*n)++;
  assert_non_null (strstr (path, "store/objects/sha256/"));
  assert_true (reg_util_is_sha256_hex (actual)
               || strcmp (actual, "mode, owner or capability differ from its name") == 0);
}

static ino_t
inode_of (const char *path)
{
  struct stat st;
  assert_int_equal (stat (path, &st), 0);
  return st.st_ino;
}

static void
test_put_file_modes_and_variants (void **state)
{
  struct fixture *f = *state; /* link_host off: the default */
  char src[128], d[65], dx[65];
  snprintf (src, sizeof src, "%s/input", f->dir);
  write_file (src, "#!/bin/sh\necho hi\n");
  struct reg_error *err = NULL;
  assert_int_equal (reg_store_put_file (f->store, src, false, d, NULL, &err), 0);
  assert_int_equal (reg_store_put_file (f->store, src, true, dx, NULL, &err), 0);
  assert_string_equal (d, dx);
  assert_true (reg_store_has (f->store, d, false));
  assert_true (reg_store_has (f->store, d, true));
  char *p = reg_store_object_path (f->store, d, false);
  char *px = reg_store_object_path (f->store, d, true);
  struct stat st, stx;
  assert_int_equal (stat (p, &st), 0);
  assert_int_equal (stat (px, &stx), 0);
  assert_int_equal (st.st_mode & 07777, 0444);
  assert_int_equal (stx.st_mode & 07777, 0555);
  assert_true (st.st_ino != stx.st_ino);
  assert_true (st.st_ino != inode_of (src));
  /* Layout: objects/sha256/<aa>/<62 hex> */
  char want[256];
  snprintf (want, sizeof want, "%s/store/objects/sha256/%.2s/%s", f->dir, d, d + 2);
  assert_string_equal (p, want);
  /* Root-only directories. */
  char store_dir[128];
  snprintf (store_dir, sizeof store_dir, "%s/store", f->dir);
  assert_int_equal (stat (store_dir, &st), 0);
  assert_int_equal (st.st_mode & 0077, 0);
  free (p);
  free (px);
}

/* A copy keeps the mtime of the file it was first made from (Python's .pyc
 * check); the same content from a file with another time keeps the first. */
static void
test_put_file_keeps_mtime (void **state)
{
  struct fixture *f = *state;
  char src[128], other[128], d[65], d2[65];
  snprintf (src, sizeof src, "%s/mod.py", f->dir);
  snprintf (other, sizeof other, "%s/copy.py", f->dir);
  write_file (src, "x = 1\n");
  write_file (other, "x = 1\n");
  struct timespec t1[2] = { { 0, UTIME_OMIT }, { 1745849508, 123456789 } };
  struct timespec t2[2] = { { 0, UTIME_OMIT }, { 1600000000, 0 } };
  assert_int_equal (utimensat (AT_FDCWD, src, t1, 0), 0);
  assert_int_equal (utimensat (AT_FDCWD, other, t2, 0), 0);
  struct reg_error *err = NULL;
  assert_int_equal (reg_store_put_file (f->store, src, false, d, NULL, &err), 0);
  assert_int_equal (reg_store_put_file (f->store, other, false, d2, NULL, &err), 0);
  assert_string_equal (d, d2);
  char *p = reg_store_object_path (f->store, d, false);
  struct stat st;
  assert_int_equal (stat (p, &st), 0);
  assert_true (st.st_ino != inode_of (src)); /* a copy */
  assert_int_equal (st.st_mtim.tv_sec, 1745849508);
  assert_int_equal (st.st_mtim.tv_nsec, 123456789);
  free (p);
}

/* Put src (given mode) as variant exec; is the object src's own inode? */
static bool
put_links (struct fixture *f, const char *name, const char *text, mode_t mode, bool exec)
{
  char src[128], d[65];
  snprintf (src, sizeof src, "%s/%s", f->dir, name);
  write_file (src, text);
  assert_int_equal (chmod (src, mode), 0);
  struct reg_error *err = NULL;
  bool created = false;
  assert_int_equal (reg_store_put_file (f->store, src, exec, d, &created, &err), 0);
  assert_true (created);
  char *p = reg_store_object_path (f->store, d, exec);
  bool linked = inode_of (p) == inode_of (src);
  free (p);
  assert_int_equal (count_entries (f->store->tmp_dir), 0);
  return linked;
}

static void
test_put_file_links_host_files (void **state)
{
  struct fixture *f = *state;
  if (geteuid () != 0)
    skip (); /* only root-owned files are linked */
  f->store->link_host = true;
  /* Root-owned, read-only to others, execute bits matching the variant. */
  assert_true (put_links (f, "lib", "a library", 0644, false));
  assert_true (put_links (f, "bin", "a program", 0755, true));
  assert_true (put_links (f, "ro", "read-only", 0444, false));
  /* Anything else is copied. */
  assert_false (put_links (f, "gw", "group-writable", 0664, false));
  assert_false (put_links (f, "ow", "other-writable", 0646, false));
  assert_false (put_links (f, "private", "not readable by all", 0600, false));
  assert_false (put_links (f, "suid", "set-user-ID", 04755, true));
  assert_false (put_links (f, "sgid", "set-group-ID", 02755, true));
  assert_false (put_links (f, "xmismatch", "exec variant of a 0644 file", 0644, true));
  assert_false (put_links (f, "ymismatch", "plain variant of a 0755 file", 0755, false));
  assert_false (put_links (f, "partialx", "execute for the owner only", 0744, true));
  f->store->link_host = false;
  assert_false (put_links (f, "default", "link_host off", 0644, false));
}

static void
test_linked_object_dedup_unput_verify (void **state)
{
  struct fixture *f = *state;
  if (geteuid () != 0)
    skip ();
  f->store->link_host = true;
  char src[128], d1[65], d2[65];
  snprintf (src, sizeof src, "%s/lib", f->dir);
  write_file (src, "shared bytes");
  struct reg_error *err = NULL;
  bool created = false;
  assert_int_equal (reg_store_put_file (f->store, src, false, d1, &created, &err), 0);
  assert_true (created);
  /* The same content again, from a copy or the same file: stored once. */
  assert_int_equal (reg_store_put_bytes (f->store, "shared bytes", 12, false, d2, &created, &err),
                    0);
  assert_false (created);
  assert_string_equal (d1, d2);
  assert_int_equal (reg_store_put_file (f->store, src, false, d2, &created, &err), 0);
  assert_false (created);
  uint64_t checked = 0;
  int n = 0;
  assert_int_equal (reg_store_verify (f->store, collect_corrupt, &n, &checked, &err), 0);
  assert_int_equal (checked, 1);
  /* The host changing its file in place is corruption verify reports. */
  write_file (src, "changed in place");
  assert_int_equal (reg_store_verify (f->store, collect_corrupt, &n, &checked, &err), 1);
  /* Taking the object back leaves the host's file alone. */
  assert_int_equal (reg_store_unput (f->store, d1, false), 0);
  assert_false (reg_store_has (f->store, d1, false));
  struct stat st;
  assert_int_equal (stat (src, &st), 0);
  assert_int_equal (st.st_nlink, 1);
}

static void
test_put_missing_and_non_regular (void **state)
{
  struct fixture *f = *state;
  char d[65];
  struct reg_error *err = NULL;
  assert_int_equal (reg_store_put_file (f->store, "/no/such/file", false, d, NULL, &err), -1);
  assert_non_null (err);
  assert_int_equal (err->code, ENOENT);
  assert_non_null (strstr (err->msg, "/no/such/file"));
  reg_error_free (err);
  err = NULL;
  assert_int_equal (reg_store_put_file (f->store, "/tmp", false, d, NULL, &err), -1);
  assert_non_null (strstr (err->msg, "/tmp"));
  reg_error_free (err);
  assert_int_equal (count_entries (f->store->tmp_dir), 0);
}

static void
test_verify_detects_corruption (void **state)
{
  struct fixture *f = *state;
  char d1[65], d2[65];
  struct reg_error *err = NULL;
  assert_int_equal (reg_store_put_bytes (f->store, "one", 3, false, d1, NULL, &err), 0);
  assert_int_equal (reg_store_put_bytes (f->store, "two", 3, true, d2, NULL, &err), 0);
  int n = 0;
  uint64_t checked = 0;
  assert_int_equal (reg_store_verify (f->store, collect_corrupt, &n, &checked, &err), 0);
  assert_int_equal (n, 0);
  assert_int_equal (checked, 2);
  char *p = reg_store_object_path (f->store, d2, true);
  assert_int_equal (chmod (p, 0644), 0);
  write_file (p, "tampered");
  assert_int_equal (reg_store_verify (f->store, collect_corrupt, &n, &checked, &err), 1);
  assert_int_equal (n, 1);
  free (p);
}

static int
collect_name (const char *path, const char *name, const struct stat *st, void *data,
              struct reg_error **err)
{
  char *list = data;
  strcat (list, name + 64);
  strcat (list, ";");
  return 0;
}

/* Attribute variants (store.h): made from a staged copy with the name's
 * mode, owner and capability, one inode per name, walked by name, and
 * verified for their attributes as for their content. */
static void
test_attribute_variants (void **state)
{
  struct fixture *f = *state;
  char src[128], hex[65];
  snprintf (src, sizeof src, "%s/staged", f->dir);
  write_file (src, "ping");
  struct reg_error *err = NULL;
  assert_int_equal (reg_store_hash_file (src, hex, &err), 0);
  char suid[128], cap[256], owned[128], bad[128];
  snprintf (suid, sizeof suid, "%s+4755-0-0", hex);
  snprintf (cap, sizeof cap, "%s+0755-0-0-0100000200200000000000000000000000000000", hex);
  snprintf (owned, sizeof owned, "%s+0600-1000-1001", hex);
  bool created = false;
  assert_int_equal (reg_store_put_named (f->store, src, suid, &created, &err), 0);
  assert_true (created);
  assert_int_equal (reg_store_put_named (f->store, src, suid, &created, &err), 0);
  assert_false (created);
  assert_int_equal (reg_store_put_named (f->store, src, cap, &created, &err), 0);
  assert_int_equal (reg_store_put_named (f->store, src, owned, &created, &err), 0);
  assert_true (reg_store_has (f->store, suid, false));
  assert_false (reg_store_has (f->store, hex, false));
  struct stat st;
  char *p = reg_store_object_path (f->store, suid, false);
  assert_int_equal (stat (p, &st), 0);
  assert_int_equal (st.st_mode & 07777, 04755);
  assert_non_null (strstr (p, ".4755-0-0"));
  free (p);
  p = reg_store_object_path (f->store, owned, false);
  assert_int_equal (stat (p, &st), 0);
  assert_int_equal (st.st_uid, 1000);
  assert_int_equal (st.st_gid, 1001);
  assert_int_equal (st.st_mode & 07777, 0600);
  free (p);
  p = reg_store_object_path (f->store, cap, false);
  unsigned char v[64];
  assert_int_equal (getxattr (p, "security.capability", v, sizeof v), 20);
  assert_int_equal (v[3], 2);
  assert_int_equal (v[5], 0x20);
  free (p);
  /* Content that is not the name's, and names that are no variant. */
  snprintf (bad, sizeof bad, "%s+4755-0-0",
            "0000000000000000000000000000000000000000000000000000000000000000");
  assert_int_equal (reg_store_put_named (f->store, src, bad, &created, &err), -1);
  assert_int_equal (err->code, EIO);
  reg_error_free (err);
  err = NULL;
  const char *no[] = { "+0644-0-0", "+0755-0-0", "+4755-0", "+4755-0-0-ff", "+x1", "+" };
  for (size_t i = 0; i < sizeof no / sizeof *no; i++)
    {
      char name[128], h[65];
      const char *variant;
      snprintf (name, sizeof name, "%s%s", hex, no[i]);
      assert_false (reg_store_name_split (name, h, &variant));
    }
  char list[1024] = "";
  assert_int_equal (reg_store_walk (f->store, collect_name, list, &err), 0);
  assert_non_null (strstr (list, "+4755-0-0;"));
  assert_non_null (strstr (list, "+0600-1000-1001;"));
  assert_non_null (strstr (list, "+0755-0-0-0100000200200000000000000000000000000000;"));
  int n = 0;
  uint64_t checked = 0;
  assert_int_equal (reg_store_verify (f->store, collect_corrupt, &n, &checked, &err), 0);
  assert_int_equal (checked, 3);
  /* A variant whose attributes changed is reported as its content would be. */
  p = reg_store_object_path (f->store, suid, false);
  assert_int_equal (chmod (p, 0755), 0);
  free (p);
  p = reg_store_object_path (f->store, cap, false);
  assert_int_equal (removexattr (p, "security.capability"), 0);
  free (p);
  assert_int_equal (reg_store_verify (f->store, collect_corrupt, &n, &checked, &err), 2);
  /* unput by name */
  assert_int_equal (reg_store_unput (f->store, owned, false), 0);
  assert_false (reg_store_has (f->store, owned, false));
}

static void
test_unput_takes_back (void **state)
{
  struct fixture *f = *state;
  char d[65];
  bool created;
  struct reg_error *err = NULL;
  assert_int_equal (reg_store_put_bytes (f->store, "temp", 4, false, d, &created, &err), 0);
  assert_true (created);
  assert_int_equal (reg_store_unput (f->store, d, false), 0);
  assert_false (reg_store_has (f->store, d, false));
  struct reg_store_stats st;
  assert_int_equal (reg_store_stats (f->store, &st, &err), 0);
  assert_int_equal (st.objects, 0);
}

static void
test_hash_file (void **state)
{
  struct fixture *f = *state;
  char src[128], d[65];
  snprintf (src, sizeof src, "%s/empty", f->dir);
  write_file (src, "");
  assert_int_equal (reg_store_hash_file (src, d, NULL), 0);
  assert_string_equal (d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_put_bytes_digest_and_dedup, setup, teardown),
    cmocka_unit_test_setup_teardown (test_put_file_modes_and_variants, setup, teardown),
    cmocka_unit_test_setup_teardown (test_put_file_keeps_mtime, setup, teardown),
    cmocka_unit_test_setup_teardown (test_put_file_links_host_files, setup, teardown),
    cmocka_unit_test_setup_teardown (test_linked_object_dedup_unput_verify, setup, teardown),
    cmocka_unit_test_setup_teardown (test_put_missing_and_non_regular, setup, teardown),
    cmocka_unit_test_setup_teardown (test_verify_detects_corruption, setup, teardown),
    cmocka_unit_test_setup_teardown (test_unput_takes_back, setup, teardown),
    cmocka_unit_test_setup_teardown (test_attribute_variants, setup, teardown),
    cmocka_unit_test_setup_teardown (test_hash_file, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
