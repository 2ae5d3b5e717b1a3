/* Unit tests of the ELF dependency closure: soname naming, the host's own
 * programs, fake sysroots (built with the C compiler at test time, skipped
 * without one) for RUNPATH/RPATH/$ORIGIN, ld.so.cache in both layouts and
 * missing libraries, and hostile input: corrupt caches, truncated ELF files,
 * debug-info files, FIFOs. x86-64 hosts only (skipped elsewhere). */
#include "elfdeps.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <elf.h>

#define HOST_LD "/lib64/ld-linux-x86-64.so.2"
#define HOST_LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"

/* ---- fixture: a temporary directory, removed even when a test fails ---- */

struct fixture
{
  char dir[64];
  struct reg_elf_resolver *r;
};

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  if (f == NULL)
    return -1;
  strcpy (f->dir, "/tmp/reg-test-elf-XXXXXX");
  if (mkdtemp (f->dir) == NULL)
    {
      free (f);
      return -1;
    }
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  reg_elfdeps_resolver_free (f->r);
  int ret = reg_util_rm_rf (f->dir, NULL);
  free (f);
  return ret;
}

/* ---- helpers ---- */

static bool
host_is_x86_64 (void)
{
  return access (HOST_LD, R_OK) == 0 && access (HOST_LIBC, R_OK) == 0;
}

static bool
have_cc (void)
{
  return host_is_x86_64 () && access ("/usr/bin/cc", X_OK) == 0;
}

/* Run a shell script in `dir`; its exit status. */
static int
sh (const char *dir, const char *script)
{
  char *cmd = NULL;
  assert_true (asprintf (&cmd, "set -e; cd '%s'; %s", dir, script) > 0);
  int ret = system (cmd);
  free (cmd);
  return ret;
}

static void
write_file (const char *dir, const char *name, const void *data, size_t len)
{
  char path[PATH_MAX];
  snprintf (path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen (path, "w");
  assert_non_null (f);
  assert_int_equal (fwrite (data, 1, len, f), len);
  assert_int_equal (fclose (f), 0);
}

static struct reg_elf_resolver *
resolver (struct fixture *f, const char *sysroot)
{
  reg_elfdeps_resolver_free (f->r);
  f->r = NULL;
  struct reg_error *err = NULL;
  if (reg_elfdeps_resolver_new (sysroot, &f->r, &err) < 0)
    fail_msg ("%s", err->msg);
  return f->r;
}

static void
add_ok (struct reg_elf_resolver *r, const char *path)
{
  struct reg_error *err = NULL;
  if (reg_elfdeps_add (r, path, &err) < 0)
    fail_msg ("reg_elfdeps_add %s: %s", path, err->msg);
}

/* The error of a failing reg_elfdeps_add; the caller frees it. */
static struct reg_error *
add_fails (struct reg_elf_resolver *r, const char *path)
{
  struct reg_error *err = NULL;
  assert_int_equal (reg_elfdeps_add (r, path, &err), -1);
  assert_non_null (err);
  return err;
}

static const struct reg_elf_dep *
dep (struct reg_elf_resolver *r, const char *name)
{
  size_t n = 0;
  const struct reg_elf_dep *d = reg_elfdeps_closure (r, &n);
  for (size_t i = 0; i < n; i++)
    if (strcmp (d[i].name, name) == 0)
      return &d[i];
  return NULL;
}

static size_t
n_deps (struct reg_elf_resolver *r)
{
  size_t n = 99;
  reg_elfdeps_closure (r, &n);
  return n;
}

static void
assert_dep (struct reg_elf_resolver *r, const char *name, const char *host_path,
            const char *container_path)
{
  const struct reg_elf_dep *d = dep (r, name);
  if (d == NULL)
    fail_msg ("no dep %s", name);
  assert_string_equal (d->host_path, host_path);
  assert_string_equal (d->container_path, container_path);
}

/* A sysroot with the host's loader and libc where Debian keeps them, as
 * regular files (copies: the host's are reached through symlinks). */
static void
base_sysroot (const char *root)
{
  assert_int_equal (sh (root, "mkdir -p etc lib64 usr/lib/x86_64-linux-gnu usr/bin;"
                              "cp -L " HOST_LD " lib64/;"
                              "cp -L " HOST_LIBC " usr/lib/x86_64-linux-gnu/;"
                              "cp -L /usr/bin/true usr/bin/true"),
                    0);
}

/* ---- naming ---- */

static void
test_soname_to_lib (void **state)
{
  const char *cases[][2] = {
    { "libc.so.6", "libc@6" },
    { "libpython3.11.so.1.0", "libpython3.11@1.0" },
    { "ld-linux-x86-64.so.2", "ld-linux-x86-64@2" },
    { "libstdc++.so.6", "libstdc++@6" },
    { "libLLVM.so.22.1-rust-1.95.0-stable", "libLLVM@22.1-rust-1.95.0-stable" },
    { "libfoo.so", "libfoo@" }, /* no version: empty after '@' */
    { "libfoo", "libfoo@" },
    { "/lib/libz.so.1", "libz@1" },
    { "$ORIGIN/../lib/libo.so.1", "libo@1" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      char *got = reg_elfdeps_soname_to_lib (cases[i][0]);
      assert_non_null (got);
      assert_string_equal (got, cases[i][1]);
      free (got);
    }
}

/* ---- the host ---- */

static void
test_host_program (void **state)
{
  struct fixture *f = *state;
  if (!host_is_x86_64 ())
    skip ();
  struct reg_elf_resolver *r = resolver (f, "");
  assert_true (reg_elfdeps_is_elf (r, "/bin/ls"));
  assert_false (reg_elfdeps_is_elf (r, "/etc/passwd"));
  add_ok (r, "/bin/ls");
  /* libc: the real file; placed in the canonical directory where it was
   * found, under the DT_NEEDED name. */
  const struct reg_elf_dep *libc = dep (r, "libc@6");
  assert_non_null (libc);
  char real[PATH_MAX], dir[PATH_MAX];
  assert_non_null (realpath (libc->container_path, real));
  assert_string_equal (libc->host_path, real);
  size_t len = strlen (libc->container_path);
  assert_true (len > 10 && strcmp (libc->container_path + len - 10, "/libc.so.6") == 0);
  snprintf (dir, sizeof dir, "%.*s", (int)(len - 10), libc->container_path);
  assert_non_null (realpath (dir, real));
  assert_string_equal (dir, real);
  /* The interpreter: at its PT_INTERP path, imported from its real file. */
  assert_non_null (realpath (HOST_LD, real));
  assert_dep (r, "ld-linux-x86-64@2", real, HOST_LD);
  assert_true (dep (r, "ld-linux-x86-64@2")->exec);
  /* Sorted, each name once; adding again changes nothing. */
  size_t n = 0;
  const struct reg_elf_dep *d = reg_elfdeps_closure (r, &n);
  for (size_t i = 1; i < n; i++)
    assert_true (strcmp (d[i - 1].name, d[i].name) < 0);
  add_ok (r, "/bin/ls");
  assert_int_equal (n_deps (r), n);
  /* glibc's dlopen()ed unwinder comes with libc, though no DT_NEEDED names it. */
  if (access ("/lib/x86_64-linux-gnu/libgcc_s.so.1", R_OK) == 0)
    {
      const struct reg_elf_dep *gcc = dep (r, "libgcc_s@1");
      assert_non_null (gcc);
      assert_non_null (realpath ("/lib/x86_64-linux-gnu/libgcc_s.so.1", real));
      assert_string_equal (gcc->host_path, real);
    }
  if (access ("/usr/bin/python3.11", X_OK) == 0)
    {
      add_ok (r, "/usr/bin/python3.11");
      assert_non_null (dep (r, "libc@6"));
      assert_non_null (dep (r, "libm@6"));
    }
}

/* A library needing the loader by DT_NEEDED, added before any program: the
 * loader must still end up at the programs' PT_INTERP path. */
static void
test_interp_wins_over_needed (void **state)
{
  struct fixture *f = *state;
  if (!have_cc ())
    skip ();
  assert_int_equal (sh (f->dir, "echo 'int first (void) { return 1; }' > first.c;"
                                "cc -shared -fPIC -nostdlib -o libfirst.so first.c "
                                "-Wl,--no-as-needed " HOST_LD),
                    0);
  struct reg_elf_resolver *r = resolver (f, "");
  char path[PATH_MAX], real[PATH_MAX];
  snprintf (path, sizeof path, "%s/libfirst.so", f->dir);
  add_ok (r, path);
  const struct reg_elf_dep *ld = dep (r, "ld-linux-x86-64@2");
  assert_non_null (ld);
  assert_string_not_equal (ld->container_path, HOST_LD); /* found as a DT_NEEDED */
  add_ok (r, "/bin/ls");
  assert_non_null (realpath (HOST_LD, real));
  assert_dep (r, "ld-linux-x86-64@2", real, HOST_LD);
}

/* ---- search order, in fake sysroots ---- */

/* /opt/app/bin/prog needs libdep.so.1 through RUNPATH $ORIGIN/../lib, and
 * libc through the default directories; /opt/app/bin/bad needs a library
 * that is nowhere. */
static void
test_runpath_origin_and_missing (void **state)
{
  struct fixture *f = *state;
  if (!have_cc ())
    skip ();
  base_sysroot (f->dir);
  assert_int_equal (
      sh (f->dir, "mkdir -p src opt/app/bin opt/app/lib;"
                  "echo 'int dep (void) { return 42; }' > src/dep.c;"
                  "echo 'int dep (void); int main (void) { return dep () - 42; }' > src/prog.c;"
                  "echo 'int gone (void); int main (void) { return gone (); }' > src/bad.c;"
                  "echo 'int gone (void) { return 0; }' > src/gone.c;"
                  "cc -shared -fPIC -Wl,-soname,libdep.so.1 -o opt/app/lib/libdep.so.1 src/dep.c;"
                  "cc -shared -fPIC -Wl,-soname,libgone.so.3 -o src/libgone.so.3 src/gone.c;"
                  "cc -o opt/app/bin/prog src/prog.c -Lopt/app/lib -l:libdep.so.1 "
                  "-Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib';"
                  "cc -o opt/app/bin/bad src/bad.c -Lsrc -l:libgone.so.3"),
      0);
  struct reg_elf_resolver *r = resolver (f, f->dir);
  add_ok (r, "/opt/app/bin/prog");
  assert_dep (r, "libdep@1", "/opt/app/lib/libdep.so.1", "/opt/app/lib/libdep.so.1");
  assert_dep (r, "libc@6", "/usr/lib/x86_64-linux-gnu/libc.so.6",
              "/usr/lib/x86_64-linux-gnu/libc.so.6");
  assert_dep (r, "ld-linux-x86-64@2", HOST_LD, HOST_LD);
  assert_int_equal (n_deps (r), 3);
  struct reg_error *err = add_fails (r, "/opt/app/bin/bad");
  assert_int_equal (err->code, ENOENT);
  assert_string_equal (err->msg, "/opt/app/bin/bad: needs libgone.so.3, not found in "
                                 "RPATH/RUNPATH, ld.so.cache or the default paths");
  reg_error_free (err);
}

/* DT_RPATH applies to the libraries an object loads, DT_RUNPATH only to the
 * object itself: libmid needs libleaf, which only the program's path has. */
static void
test_rpath_chain_and_runpath_scope (void **state)
{
  struct fixture *f = *state;
  if (!have_cc ())
    skip ();
  base_sysroot (f->dir);
  assert_int_equal (
      sh (f->dir,
          "mkdir -p src opt/app/bin opt/app/lib opt/app/leaf;"
          "echo 'int leaf (void) { return 0; }' > src/leaf.c;"
          "echo 'int leaf (void); int mid (void) { return leaf (); }' > src/mid.c;"
          "echo 'int mid (void); int main (void) { return mid (); }' > src/prog.c;"
          "cc -shared -fPIC -Wl,-soname,libleaf.so.1 -o opt/app/leaf/libleaf.so.1 src/leaf.c;"
          "cc -shared -fPIC -Wl,-soname,libmid.so.1 -o opt/app/lib/libmid.so.1 src/mid.c "
          "-Lopt/app/leaf -l:libleaf.so.1;"
          "cc -o opt/app/bin/rpath src/prog.c -Lopt/app/lib -l:libmid.so.1 "
          "-Wl,-rpath-link,opt/app/leaf "
          "-Wl,--disable-new-dtags,-rpath,'$ORIGIN/../lib:${ORIGIN}/../leaf';"
          "cc -o opt/app/bin/runpath src/prog.c -Lopt/app/lib -l:libmid.so.1 "
          "-Wl,-rpath-link,opt/app/leaf "
          "-Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib:${ORIGIN}/../leaf'"),
      0);
  struct reg_elf_resolver *r = resolver (f, f->dir);
  add_ok (r, "/opt/app/bin/rpath");
  assert_dep (r, "libmid@1", "/opt/app/lib/libmid.so.1", "/opt/app/lib/libmid.so.1");
  assert_dep (r, "libleaf@1", "/opt/app/leaf/libleaf.so.1", "/opt/app/leaf/libleaf.so.1");
  r = resolver (f, f->dir);
  struct reg_error *err = add_fails (r, "/opt/app/bin/runpath");
  assert_int_equal (err->code, ENOENT);
  assert_non_null (strstr (err->msg, "/opt/app/lib/libmid.so.1: needs libleaf.so.1, not found"));
  reg_error_free (err);
}

/* A DT_NEEDED with $ORIGIN and '/' (a library whose soname is such a path,
 * as some bundled Pythons have) is a path relative to the object. */
static void
test_needed_with_origin (void **state)
{
  struct fixture *f = *state;
  if (!have_cc ())
    skip ();
  base_sysroot (f->dir);
  assert_int_equal (sh (f->dir, "mkdir -p src opt/o/bin opt/o/lib;"
                                "echo 'int o (void) { return 0; }' > src/o.c;"
                                "echo 'int o (void); int main (void) { return o (); }' > src/p.c;"
                                "cc -shared -fPIC -Wl,-soname,'$ORIGIN/../lib/libo.so.1' "
                                "-o opt/o/lib/libo.so.1 src/o.c;"
                                "cc -o opt/o/bin/p src/p.c opt/o/lib/libo.so.1"),
                    0);
  struct reg_elf_resolver *r = resolver (f, f->dir);
  add_ok (r, "/opt/o/bin/p");
  assert_dep (r, "libo@1", "/opt/o/lib/libo.so.1", "/opt/o/lib/libo.so.1");
}

/* Skipped: a 32-bit libc earlier in the default directories. */
static void
test_other_class_is_skipped (void **state)
{
  struct fixture *f = *state;
  if (!host_is_x86_64 () || access ("/usr/lib32/libc.so.6", R_OK) != 0)
    skip ();
  base_sysroot (f->dir);
  assert_int_equal (sh (f->dir, "mkdir -p lib/x86_64-linux-gnu;"
                                "cp -L /usr/lib32/libc.so.6 lib/x86_64-linux-gnu/"),
                    0);
  struct reg_elf_resolver *r = resolver (f, f->dir);
  add_ok (r, "/usr/bin/true");
  assert_dep (r, "libc@6", "/usr/lib/x86_64-linux-gnu/libc.so.6",
              "/usr/lib/x86_64-linux-gnu/libc.so.6");
}

/* ---- ld.so.cache ---- */

struct cache_lib
{
  int32_t flags;
  const char *key, *value;
  uint64_t hwcap;
};

/* A glibc cache: the new format alone, or after an old-format table. */
static size_t
make_cache (unsigned char *buf, size_t cap, bool old_layout, const struct cache_lib *libs,
            uint32_t n)
{
  memset (buf, 0, cap);
  size_t base = 0;
  if (old_layout)
    {
      memcpy (buf, "ld.so-1.7.0", 12);
      uint32_t one = 1;
      memcpy (buf + 12, &one, 4);
      base = (16 + 12 + 7) & ~(size_t)7; /* one empty old entry, 8-aligned */
    }
  unsigned char *h = buf + base;
  memcpy (h, "glibc-ld.so.cache1.1", 20);
  memcpy (h + 20, &n, 4);
  size_t strings = 48 + (size_t)n * 24, at = strings;
  for (uint32_t i = 0; i < n; i++)
    {
      unsigned char *e = h + 48 + (size_t)i * 24;
      uint32_t key = (uint32_t)at;
      at += (size_t)sprintf ((char *)h + at, "%s", libs[i].key) + 1;
      uint32_t value = (uint32_t)at;
      at += (size_t)sprintf ((char *)h + at, "%s", libs[i].value) + 1;
      memcpy (e, &libs[i].flags, 4);
      memcpy (e + 4, &key, 4);
      memcpy (e + 8, &value, 4);
      memcpy (e + 16, &libs[i].hwcap, 8);
    }
  uint32_t len_strings = (uint32_t)(at - strings);
  memcpy (h + 24, &len_strings, 4);
  assert_true (base + at <= cap);
  return base + at;
}

/* libcached.so.2 is found only through the cache; entries of another
 * machine and glibc-hwcaps entries lose to the baseline x86-64 one. */
static void
test_ld_so_cache (void **state)
{
  struct fixture *f = *state;
  if (!have_cc ())
    skip ();
  base_sysroot (f->dir);
  assert_int_equal (
      sh (f->dir,
          "mkdir -p src opt/cached opt/wrong opt/hwcap;"
          "echo 'int c (void) { return 0; }' > src/c.c;"
          "echo 'int c (void); int main (void) { return c (); }' > src/p.c;"
          "cc -shared -fPIC -Wl,-soname,libcached.so.2 -o opt/cached/libcached.so.2 src/c.c;"
          "cp opt/cached/libcached.so.2 opt/wrong/; cp opt/cached/libcached.so.2 opt/hwcap/;"
          "cc -o usr/bin/p src/p.c opt/cached/libcached.so.2"),
      0);
  const struct cache_lib libs[] = {
    { 0x0003, "libcached.so.2", "/opt/wrong/libcached.so.2", 0 }, /* i386 */
    { 0x0303, "libcached.so.2", "/opt/hwcap/libcached.so.2", 1ULL << 62 },
    { 0x0303, "libother.so.1", "/opt/wrong/libother.so.1", 0 },
    { 0x0303, "libcached.so.2", "/opt/cached/libcached.so.2", 0 },
  };
  /* Without a cache, not found. */
  struct reg_elf_resolver *r = resolver (f, f->dir);
  struct reg_error *err = add_fails (r, "/usr/bin/p");
  assert_non_null (strstr (err->msg, "needs libcached.so.2"));
  reg_error_free (err);
  for (int old_layout = 0; old_layout < 2; old_layout++)
    {
      unsigned char buf[4096];
      size_t len = make_cache (buf, sizeof buf, old_layout, libs, 4);
      write_file (f->dir, "etc/ld.so.cache", buf, len);
      r = resolver (f, f->dir);
      add_ok (r, "/usr/bin/p");
      assert_dep (r, "libcached@2", "/opt/cached/libcached.so.2", "/opt/cached/libcached.so.2");
    }
}

/* A corrupt cache is as good as none: no crash, no read out of bounds (the
 * sanitizer build checks), the default directories still work. */
static void
test_corrupt_cache (void **state)
{
  struct fixture *f = *state;
  if (!host_is_x86_64 ())
    skip ();
  base_sysroot (f->dir);
  const struct cache_lib libs[] = {
    { 0x0303, "libc.so.6", "/nowhere/libc.so.6", 0 },
    { 0x0303, "libc.so.6", "/nowhere/libc.so.6", 0 },
  };
  unsigned char good[1024];
  size_t good_len = make_cache (good, sizeof good, false, libs, 2);
  for (int variant = 0; variant < 10; variant++)
    {
      unsigned char buf[1024];
      size_t len = good_len;
      memcpy (buf, good, sizeof buf);
      uint32_t v32;
      switch (variant)
        {
        case 0: /* string offsets past the end */
          v32 = 0xfffffff0;
          memcpy (buf + 48 + 4, &v32, 4);
          memcpy (buf + 48 + 24 + 8, &v32, 4);
          break;
        case 1: /* the last string without its NUL */
          len--;
          break;
        case 2: /* more entries than the file holds */
          v32 = 0xffffffff;
          memcpy (buf + 20, &v32, 4);
          break;
        case 3: /* header cut short */
          len = 40;
          break;
        case 4: /* old table claiming 2^32-1 entries */
          memcpy (buf, "ld.so-1.7.0", 12);
          v32 = 0xffffffff;
          memcpy (buf + 12, &v32, 4);
          break;
        case 5: /* old table, new header out of the file */
          len = make_cache (buf, sizeof buf, true, libs, 2);
          v32 = 80;
          memcpy (buf + 12, &v32, 4);
          break;
        case 6: /* a real cache, cut, with junk */
          {
            FILE *in = fopen ("/etc/ld.so.cache", "r");
            len = in ? fread (buf, 1, 300, in) : 0;
            if (in)
              fclose (in);
            memcpy (buf + len, "junk", 4);
            len += 4;
          }
          break;
        case 7: /* empty */
          len = 0;
          break;
        default:
          break;
        }
      char path[PATH_MAX];
      snprintf (path, sizeof path, "%s/etc/ld.so.cache", f->dir);
      assert_int_equal (reg_util_rm_rf (path, NULL), 0);
      if (variant == 8)
        assert_int_equal (mkdir (path, 0755), 0);
      else if (variant == 9)
        assert_int_equal (mkfifo (path, 0644), 0); /* must not block */
      else
        write_file (f->dir, "etc/ld.so.cache", buf, len);
      struct reg_elf_resolver *r = resolver (f, f->dir);
      add_ok (r, "/usr/bin/true");
      assert_dep (r, "libc@6", "/usr/lib/x86_64-linux-gnu/libc.so.6",
                  "/usr/lib/x86_64-linux-gnu/libc.so.6");
    }
}

/* ---- what is not a loadable ELF file ---- */

/* Text, empty files, directories, FIFOs, relocatable objects: ignored,
 * reg_elfdeps_add returns 0. A symlink is read through. */
static void
test_non_elf_inputs (void **state)
{
  struct fixture *f = *state;
  if (!host_is_x86_64 ())
    skip ();
  write_file (f->dir, "text", "#!/bin/sh\n", 10);
  write_file (f->dir, "empty", "", 0);
  write_file (f->dir, "magic-only", "\177ELF", 4);
  assert_int_equal (sh (f->dir, "mkdir dir; mkfifo fifo; ln -s /bin/ls link; "
                                "if [ -x /usr/bin/cc ]; then echo 'int x;' > x.c; "
                                "cc -c -o x.o x.c; fi"),
                    0);
  struct reg_elf_resolver *r = resolver (f, "");
  const char *names[] = { "text", "empty", "dir", "fifo", "x.o", "magic-only" };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    {
      char path[PATH_MAX];
      snprintf (path, sizeof path, "%s/%s", f->dir, names[i]);
      struct reg_error *err = NULL;
      assert_int_equal (reg_elfdeps_add (r, path, &err), 0);
      assert_null (err);
      /* An object file is ELF, just nothing the loader reads. */
      assert_int_equal (reg_elfdeps_is_elf (r, path), strcmp (names[i], "x.o") == 0);
    }
  assert_int_equal (n_deps (r), 0);
  char link[PATH_MAX];
  snprintf (link, sizeof link, "%s/link", f->dir);
  assert_true (reg_elfdeps_is_elf (r, link));
  add_ok (r, link);
  assert_non_null (dep (r, "libc@6"));
}

/* A truncated ELF file is an error that names the file; the loader could
 * not load it either. */
static void
test_truncated_elf_is_an_error (void **state)
{
  struct fixture *f = *state;
  if (!host_is_x86_64 ())
    skip ();
  struct stat st;
  assert_int_equal (stat ("/bin/ls", &st), 0);
  size_t size = (size_t)st.st_size;
  const size_t cuts[] = { 100, 1000, size / 2, size - 1 };
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
    {
      char cmd[128], path[PATH_MAX], want[PATH_MAX + 64];
      snprintf (cmd, sizeof cmd, "head -c %zu /bin/ls > ls-cut", cuts[i]);
      assert_int_equal (sh (f->dir, cmd), 0);
      snprintf (path, sizeof path, "%s/ls-cut", f->dir);
      snprintf (want, sizeof want, "%s: truncated ELF file (%zu bytes)", path, cuts[i]);
      struct reg_elf_resolver *r = resolver (f, "");
      struct reg_error *err = add_fails (r, path);
      assert_int_equal (err->code, EINVAL);
      assert_string_equal (err->msg, want);
      reg_error_free (err);
      assert_int_equal (n_deps (r), 0);
    }
}

/* Garbage after the ELF magic: no crash; an error names the file. */
static void
test_garbage_elf (void **state)
{
  struct fixture *f = *state;
  unsigned char buf[4096];
  for (int seed = 1; seed <= 3; seed++)
    {
      memcpy (buf, "\177ELF", 4);
      for (size_t i = 4; i < sizeof buf; i++)
        buf[i] = (unsigned char)((i * 7919u * (unsigned)seed) >> 3);
      if (seed > 1)
        {
          /* A plausible ELF64 little-endian ET_DYN header over garbage. */
          buf[EI_CLASS] = ELFCLASS64;
          buf[EI_DATA] = ELFDATA2LSB;
          buf[EI_VERSION] = EV_CURRENT;
          buf[16] = ET_DYN;
          buf[17] = 0;
        }
      write_file (f->dir, "garbage", buf, sizeof buf);
      char path[PATH_MAX];
      snprintf (path, sizeof path, "%s/garbage", f->dir);
      struct reg_elf_resolver *r = resolver (f, "");
      struct reg_error *err = NULL;
      if (reg_elfdeps_add (r, path, &err) < 0)
        {
          assert_non_null (strstr (err->msg, path));
          reg_error_free (err);
        }
      assert_int_equal (n_deps (r), 0);
    }
}

/* A separate debug-info file (/usr/lib/debug) keeps the program headers of
 * the original but has no loadable content: ignored. */
static void
test_debuginfo_is_ignored (void **state)
{
  struct fixture *f = *state;
  if (!host_is_x86_64 () || access ("/usr/bin/objcopy", X_OK) != 0)
    skip ();
  assert_int_equal (sh (f->dir, "objcopy --only-keep-debug /bin/ls ls.debug"), 0);
  char path[PATH_MAX];
  snprintf (path, sizeof path, "%s/ls.debug", f->dir);
  struct reg_elf_resolver *r = resolver (f, "");
  add_ok (r, path);
  assert_int_equal (n_deps (r), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown (fn, setup, teardown)

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_soname_to_lib),
    T (test_host_program),
    T (test_interp_wins_over_needed),
    T (test_runpath_origin_and_missing),
    T (test_rpath_chain_and_runpath_scope),
    T (test_needed_with_origin),
    T (test_other_class_is_skipped),
    T (test_ld_so_cache),
    T (test_corrupt_cache),
    T (test_non_elf_inputs),
    T (test_truncated_elf_is_an_error),
    T (test_garbage_elf),
    T (test_debuginfo_is_ignored),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
