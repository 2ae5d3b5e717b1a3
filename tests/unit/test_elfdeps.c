/* Unit tests of the ELF dependency closure: soname naming, the host's own
 * programs, RUNPATH with $ORIGIN and a missing library in a fake sysroot
 * (built with the C compiler at test time), hostile files. */
#include "elfdeps.h"
#include "util.h"

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

static const struct reg_elf_dep *
find (struct reg_elf_resolver *r, const char *name)
{
  size_t n = 0;
  const struct reg_elf_dep *d = reg_elf_deps (r, &n);
  for (size_t i = 0; i < n; i++)
    if (strcmp (d[i].name, name) == 0)
      return &d[i];
  return NULL;
}

static void
test_soname_to_lib (void **state)
{
  const char *cases[][2] = {
    { "libc.so.6", "libc@6" },
    { "libpython3.11.so.1.0", "libpython3.11@1.0" },
    { "ld-linux-x86-64.so.2", "ld-linux-x86-64@2" },
    { "libstdc++.so.6", "libstdc++@6" },
    { "libfoo.so", "libfoo@" },
    { "/lib/libz.so.1", "libz@1" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      char *got = reg_elf_soname_to_lib (cases[i][0]);
      assert_string_equal (got, cases[i][1]);
      free (got);
    }
}

static void
test_host_program (void **state)
{
  struct reg_elf_resolver *r = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_elf_resolver_new ("", &r, &err), 0);
  assert_true (reg_elf_is_elf (r, "/bin/ls"));
  assert_false (reg_elf_is_elf (r, "/etc/passwd"));
  assert_int_equal (reg_elf_add (r, "/bin/ls", &err), 0);
  const struct reg_elf_dep *libc = find (r, "libc@6");
  assert_non_null (libc);
  assert_int_equal (access (libc->host_path, R_OK), 0);
  assert_non_null (strstr (libc->container_path, "/libc.so.6"));
  const struct reg_elf_dep *ld = find (r, "ld-linux-x86-64@2");
  assert_non_null (ld);
  assert_string_equal (ld->container_path, "/lib64/ld-linux-x86-64.so.2");
  assert_true (ld->host_path[0] == '/');
  /* Sorted, each name once. */
  size_t n = 0;
  const struct reg_elf_dep *d = reg_elf_deps (r, &n);
  for (size_t i = 1; i < n; i++)
    assert_true (strcmp (d[i - 1].name, d[i].name) < 0);
  /* Adding again changes nothing. */
  assert_int_equal (reg_elf_add (r, "/bin/ls", &err), 0);
  size_t n2 = 0;
  reg_elf_deps (r, &n2);
  assert_int_equal (n, n2);
  reg_elf_resolver_free (r);
}

static void
test_non_elf_and_hostile (void **state)
{
  char dir[] = "/tmp/reg-test-elf-XXXXXX";
  assert_non_null (mkdtemp (dir));
  char path[128];
  struct reg_elf_resolver *r = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_elf_resolver_new ("", &r, &err), 0);
  /* A text file: ignored. */
  snprintf (path, sizeof path, "%s/text", dir);
  FILE *f = fopen (path, "w");
  fputs ("#!/bin/sh\n", f);
  fclose (f);
  assert_int_equal (reg_elf_add (r, path, &err), 0);
  /* A truncated ELF (the first 100 bytes of /bin/ls): a clear error, no crash. */
  snprintf (path, sizeof path, "%s/truncated", dir);
  FILE *in = fopen ("/bin/ls", "r");
  char buf[100];
  assert_int_equal (fread (buf, 1, sizeof buf, in), sizeof buf);
  fclose (in);
  f = fopen (path, "w");
  fwrite (buf, 1, sizeof buf, f);
  fclose (f);
  int ret = reg_elf_add (r, path, &err);
  if (ret < 0)
    {
      assert_non_null (strstr (err->msg, path));
      reg_error_free (err);
      err = NULL;
    }
  /* Garbage after a valid ELF magic. */
  snprintf (path, sizeof path, "%s/garbage", dir);
  f = fopen (path, "w");
  fputs ("\177ELF", f);
  for (int i = 0; i < 4096; i++)
    fputc ((i * 7919) & 0xff, f);
  fclose (f);
  ret = reg_elf_add (r, path, &err);
  if (ret < 0)
    {
      assert_non_null (strstr (err->msg, path));
      reg_error_free (err);
      err = NULL;
    }
  size_t n = 99;
  reg_elf_deps (r, &n);
  assert_int_equal (n, 0);
  reg_elf_resolver_free (r);
  assert_int_equal (reg_util_rm_rf (dir, NULL), 0);
}

/* A fake sysroot: /opt/app/bin/prog needs libdep.so.1 found through
 * RUNPATH $ORIGIN/../lib, which needs libc; a second program needs a
 * library that exists nowhere. Also a corrupt ld.so.cache. */
static int
build_sysroot (char *root)
{
  char cmd[4096];
  snprintf (cmd, sizeof cmd,
            "set -e; cd %s; mkdir -p src opt/app/bin opt/app/lib etc lib64 "
            "usr/lib/x86_64-linux-gnu;"
            "echo 'int dep (void) { return 42; }' > src/dep.c;"
            "echo 'int dep (void); int main (void) { return dep () - 42; }' > src/prog.c;"
            "echo 'int gone (void); int main (void) { return gone (); }' > src/bad.c;"
            "echo 'int gone (void) { return 0; }' > src/gone.c;"
            "cc -shared -fPIC -Wl,-soname,libdep.so.1 -o opt/app/lib/libdep.so.1 src/dep.c;"
            "cc -shared -fPIC -Wl,-soname,libgone.so.3 -o src/libgone.so.3 src/gone.c;"
            "cc -o opt/app/bin/prog src/prog.c -Lopt/app/lib -l:libdep.so.1 "
            "-Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib';"
            "cc -o opt/app/bin/bad src/bad.c -Lsrc -l:libgone.so.3;"
            "cp -L /lib64/ld-linux-x86-64.so.2 lib64/;"
            "cp -L /usr/lib/x86_64-linux-gnu/libc.so.6 usr/lib/x86_64-linux-gnu/;"
            "head -c 300 /etc/ld.so.cache > etc/ld.so.cache; printf 'junk' >> etc/ld.so.cache",
            root);
  return system (cmd);
}

static void
test_runpath_origin_and_missing (void **state)
{
  if (access ("/usr/bin/cc", X_OK) != 0)
    skip ();
  char root[] = "/tmp/reg-test-sysroot-XXXXXX";
  assert_non_null (mkdtemp (root));
  assert_int_equal (build_sysroot (root), 0);
  struct reg_elf_resolver *r = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_elf_resolver_new (root, &r, &err), 0);
  assert_int_equal (reg_elf_add (r, "/opt/app/bin/prog", &err), 0);
  const struct reg_elf_dep *dep = find (r, "libdep@1");
  assert_non_null (dep);
  assert_string_equal (dep->host_path, "/opt/app/lib/libdep.so.1");
  assert_string_equal (dep->container_path, "/opt/app/lib/libdep.so.1");
  const struct reg_elf_dep *libc = find (r, "libc@6");
  assert_non_null (libc);
  assert_string_equal (libc->host_path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
  assert_non_null (find (r, "ld-linux-x86-64@2"));
  /* libgone.so.3 is not in the sysroot: the error names file and library. */
  assert_int_equal (reg_elf_add (r, "/opt/app/bin/bad", &err), -1);
  assert_int_equal (err->code, ENOENT);
  assert_non_null (strstr (err->msg, "/opt/app/bin/bad"));
  assert_non_null (strstr (err->msg, "needs libgone.so.3"));
  reg_error_free (err);
  reg_elf_resolver_free (r);
  assert_int_equal (reg_util_rm_rf (root, NULL), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_soname_to_lib),
    cmocka_unit_test (test_host_program),
    cmocka_unit_test (test_non_elf_and_hostile),
    cmocka_unit_test (test_runpath_origin_and_missing),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
