/* Unit tests of template resolution (closure) and environment generation:
 * recursive requires, conflicts, cycles, digest stability, hard links to the
 * store, atomic and race-safe generation. */
#include "closure.h"
#include "envgen.h"
#include "root.h"
#include "store.h"
#include "template.h"
#include "util.h"

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

struct fixture
{
  char root[64];
  struct reg_store *store;
  char obj_a[65], obj_b[65], obj_c[65];
};

static void
add_ret (struct fixture *f, const char *text)
{
  struct reg_template *t = NULL;
  struct reg_error *err = NULL;
  if (reg_template_parse (text, strlen (text), "test", &t, &err) < 0
      || reg_template_save (f->root, f->store, t, &err) < 0)
    fail_msg ("add_ret: %s", err ? err->msg : "?");
  reg_template_free (t);
}

/* Write a RET file behind the repository's back (to build a cycle that
 * reg_template_save would refuse). */
static void
write_ret (struct fixture *f, const char *name, const char *version, const char *text)
{
  char dir[256], path[300];
  snprintf (dir, sizeof dir, "%s/templates/%s", f->root, name);
  assert_int_equal (reg_util_mkdir_p (dir, 0700, NULL), 0);
  snprintf (path, sizeof path, "%s/%s.ret", dir, version);
  assert_int_equal (reg_util_write_atomic (path, text, strlen (text), 0644, NULL), 0);
}

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  strcpy (f->root, "/tmp/reg-test-closure-XXXXXX");
  assert_non_null (mkdtemp (f->root));
  struct reg_error *err = NULL;
  assert_int_equal (reg_store_open (f->root, &f->store, &err), 0);
  assert_int_equal (reg_store_put_bytes (f->store, "libc", 4, false, f->obj_a, NULL, &err), 0);
  assert_int_equal (reg_store_put_bytes (f->store, "prog", 4, true, f->obj_b, NULL, &err), 0);
  assert_int_equal (reg_store_put_bytes (f->store, "other", 5, false, f->obj_c, NULL, &err), 0);
  char text[2048];
  snprintf (text, sizeof text,
            "name: base\nversion: \"1\"\nenv: {LANG: C, MODE: base}\n"
            "files:\n  /bin/sh: -> dash\n  /bin/dash: sha256:%s+x\n  /tmp/empty: dir\n"
            "libs:\n  libc@6: {path: /usr/lib/libc.so.6, object: sha256:%s}\n",
            f->obj_b, f->obj_a);
  add_ret (f, text);
  snprintf (text, sizeof text,
            "name: app\nversion: \"2\"\nrequires: [base@1]\nentrypoint: [/bin/app]\n"
            "env: {MODE: app}\nfiles:\n  /bin/app: sha256:%s+x\n"
            "libs:\n  libc@6: {path: /usr/lib/libc.so.6, object: sha256:%s}\n",
            f->obj_b, f->obj_a);
  add_ret (f, text);
  snprintf (text, sizeof text,
            "name: clash\nversion: \"1\"\nfiles:\n  /usr/lib/libc.so.6: sha256:%s\n", f->obj_c);
  add_ret (f, text);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  reg_store_free (f->store);
  assert_int_equal (reg_util_rm_rf (f->root, NULL), 0);
  free (f);
  return 0;
}

static const struct reg_entry *
find (const struct reg_closure *c, const char *path)
{
  for (size_t i = 0; i < c->n_entries; i++)
    if (strcmp (c->entries[i].path, path) == 0)
      return &c->entries[i];
  return NULL;
}

static const char *
env_get (const struct reg_closure *c, const char *key)
{
  size_t n = strlen (key);
  for (size_t i = 0; c->env && c->env[i]; i++)
    if (strncmp (c->env[i], key, n) == 0 && c->env[i][n] == '=')
      return c->env[i] + n + 1;
  return NULL;
}

static void
test_resolve_requires (void **state)
{
  struct fixture *f = *state;
  char *refs[] = { "app@2", NULL };
  struct reg_closure *c = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_closure_resolve (f->root, refs, &c, &err), 0);
  assert_non_null (find (c, "/bin/app"));
  assert_non_null (find (c, "/bin/dash"));
  assert_non_null (find (c, "/usr/lib/libc.so.6"));
  assert_int_equal (find (c, "/bin/sh")->kind, REG_ENTRY_SYMLINK);
  assert_string_equal (c->templates[0], "base@1");
  assert_string_equal (c->templates[1], "app@2");
  assert_string_equal (c->entrypoint[0], "/bin/app");
  assert_string_equal (env_get (c, "MODE"), "app"); /* later overrides */
  assert_string_equal (env_get (c, "LANG"), "C");
  for (size_t i = 1; i < c->n_entries; i++)
    assert_true (strcmp (c->entries[i - 1].path, c->entries[i].path) < 0);
  /* Naming base explicitly too gives the same file set, so the same digest. */
  char *refs2[] = { "base@1", "app@2", NULL };
  struct reg_closure *c2 = NULL;
  assert_int_equal (reg_closure_resolve (f->root, refs2, &c2, &err), 0);
  assert_string_equal (c->digest, c2->digest);
  assert_true (reg_util_is_sha256_hex (c->digest));
  /* A different set, a different digest. */
  char *refs3[] = { "base@1", NULL };
  struct reg_closure *c3 = NULL;
  assert_int_equal (reg_closure_resolve (f->root, refs3, &c3, &err), 0);
  assert_string_not_equal (c->digest, c3->digest);
  reg_closure_free (c);
  reg_closure_free (c2);
  reg_closure_free (c3);
}

static void
test_conflict_names_both (void **state)
{
  struct fixture *f = *state;
  char *refs[] = { "base@1", "clash@1", NULL };
  struct reg_closure *c = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_closure_resolve (f->root, refs, &c, &err), -1);
  assert_null (c);
  assert_non_null (strstr (err->msg, "base@1"));
  assert_non_null (strstr (err->msg, "clash@1"));
  assert_non_null (strstr (err->msg, "/usr/lib/libc.so.6"));
  reg_error_free (err);
}

static void
test_missing_and_cycle (void **state)
{
  struct fixture *f = *state;
  char *refs[] = { "nothere@1", NULL };
  struct reg_closure *c = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_closure_resolve (f->root, refs, &c, &err), -1);
  assert_int_equal (err->code, ENOENT);
  assert_non_null (strstr (err->msg, "nothere@1"));
  reg_error_free (err);
  err = NULL;
  write_ret (f, "x", "1", "name: x\nversion: \"1\"\nrequires: [y@1]\n");
  write_ret (f, "y", "1", "name: y\nversion: \"1\"\nrequires: [x@1]\n");
  char *cyc[] = { "x@1", NULL };
  assert_int_equal (reg_closure_resolve (f->root, cyc, &c, &err), -1);
  assert_non_null (strstr (err->msg, "cyclic requires"));
  assert_non_null (strstr (err->msg, "x@1"));
  assert_non_null (strstr (err->msg, "y@1"));
  reg_error_free (err);
}

static void
test_generate_hard_links (void **state)
{
  struct fixture *f = *state;
  char *refs[] = { "app@2", NULL };
  struct reg_closure *c = NULL;
  struct reg_error *err = NULL;
  char *path = NULL, *again = NULL;
  assert_int_equal (reg_closure_resolve (f->root, refs, &c, &err), 0);
  assert_int_equal (reg_envgen_generate (f->store, c, &path, &err), 0);
  char *want = reg_root_env (f->root, c->digest);
  assert_string_equal (path, want);
  char p[512];
  struct stat in_env, in_store;
  snprintf (p, sizeof p, "%s/usr/lib/libc.so.6", path);
  assert_int_equal (stat (p, &in_env), 0);
  char *obj = reg_store_object_path (f->store, f->obj_a, false);
  assert_int_equal (stat (obj, &in_store), 0);
  assert_int_equal (in_env.st_ino, in_store.st_ino);
  assert_int_equal (in_env.st_mode & 07777, 0444);
  snprintf (p, sizeof p, "%s/bin/app", path);
  assert_int_equal (stat (p, &in_env), 0);
  assert_int_equal (in_env.st_mode & 07777, 0555);
  char target[64] = "";
  snprintf (p, sizeof p, "%s/bin/sh", path);
  assert_int_equal (readlink (p, target, sizeof target - 1), 4);
  assert_string_equal (target, "dash");
  const char *skeleton[]
      = { "proc", "dev", "sys", "tmp", "app", "etc", "root", "run", "tmp/empty" };
  for (size_t i = 0; i < sizeof skeleton / sizeof skeleton[0]; i++)
    {
      snprintf (p, sizeof p, "%s/%s", path, skeleton[i]);
      assert_int_equal (stat (p, &in_env), 0);
      assert_true (S_ISDIR (in_env.st_mode));
    }
  /* Generating again finds the existing environment. */
  assert_int_equal (reg_envgen_generate (f->store, c, &again, &err), 0);
  assert_string_equal (path, again);
  free (path);
  free (again);
  free (want);
  free (obj);
  reg_closure_free (c);
}

static void
test_generate_missing_object_leaves_nothing (void **state)
{
  struct fixture *f = *state;
  char *refs[] = { "app@2", NULL };
  struct reg_closure *c = NULL;
  struct reg_error *err = NULL;
  char *path = NULL;
  assert_int_equal (reg_closure_resolve (f->root, refs, &c, &err), 0);
  /* The object vanished from the store after the template was saved. */
  assert_int_equal (reg_store_unput (f->store, f->obj_b, true), 0);
  assert_int_equal (reg_envgen_generate (f->store, c, &path, &err), -1);
  assert_non_null (strstr (err->msg, f->obj_b));
  reg_error_free (err);
  char envs[128];
  snprintf (envs, sizeof envs, "%s/envs", f->root);
  DIR *d = opendir (envs);
  struct dirent *e;
  while ((e = readdir (d)))
    assert_true (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0);
  closedir (d);
  reg_closure_free (c);
}

static void
test_generate_race (void **state)
{
  struct fixture *f = *state;
  char *refs[] = { "app@2", NULL };
  struct reg_closure *c = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_closure_resolve (f->root, refs, &c, &err), 0);
  pid_t kids[6];
  for (int i = 0; i < 6; i++)
    {
      kids[i] = fork ();
      assert_true (kids[i] >= 0);
      if (kids[i] == 0)
        {
          char *path = NULL;
          _exit (reg_envgen_generate (f->store, c, &path, NULL) == 0 ? 0 : 1);
        }
    }
  for (int i = 0; i < 6; i++)
    {
      int status;
      assert_int_equal (waitpid (kids[i], &status, 0), kids[i]);
      assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    }
  char envs[128];
  snprintf (envs, sizeof envs, "%s/envs", f->root);
  DIR *d = opendir (envs);
  struct dirent *e;
  int n = 0;
  while ((e = readdir (d)))
    if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
      {
        assert_string_equal (e->d_name, c->digest); /* no .gen-* leftovers */
        n++;
      }
  closedir (d);
  assert_int_equal (n, 1);
  reg_closure_free (c);
}

static int
env_count (struct fixture *f)
{
  char envs[128];
  snprintf (envs, sizeof envs, "%s/envs", f->root);
  DIR *d = opendir (envs);
  struct dirent *e;
  int n = 0;
  while ((e = readdir (d)))
    n += e->d_name[0] != '.'; /* no .gen-* leftovers either */
  rewinddir (d);
  while ((e = readdir (d)))
    assert_true (strncmp (e->d_name, ".gen-", 5) != 0);
  closedir (d);
  return n;
}

/* app@2 over the closure of base@1 (envgen.h): its own entry in the
 * layer, libc (the base's too) not; the base a full environment; root.h
 * reads the form and gives the overlay's lower layers. */
static void
test_generate_layered (void **state)
{
  struct fixture *f = *state;
  char *refs[] = { "app@2", NULL }, *base_refs[] = { "base@1", NULL };
  struct reg_closure *c = NULL, *b = NULL;
  struct reg_error *err = NULL;
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  _cleanup_free_ char *path = NULL, *again = NULL;
  assert_int_equal (reg_closure_resolve (f->root, refs, &c, &err), 0);
  assert_int_equal (reg_closure_resolve (f->root, base_refs, &b, &err), 0);
  assert_int_equal (reg_envgen_generate_layered (f->store, c, b, &lock, &path, &err), 0);
  _cleanup_free_ char *want = reg_root_env (f->root, c->digest);
  assert_string_equal (path, want);
  _cleanup_free_ char *base = reg_root_env_base (f->root, c->digest);
  assert_non_null (base);
  assert_string_equal (base, b->digest);
  assert_null (reg_root_env_base (f->root, b->digest));
  _cleanup_free_ char *lower = reg_root_env_lowerdir (f->root, c->digest), *expect = NULL;
  assert_true (
      asprintf (&expect, "%s/envs/%s/layer:%s/envs/%s", f->root, c->digest, f->root, b->digest)
      > 0);
  assert_string_equal (lower, expect);
  char p[512];
  struct stat st;
  snprintf (p, sizeof p, "%s/layer/bin/app", path);
  assert_int_equal (stat (p, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0555);
  snprintf (p, sizeof p, "%s/layer/usr", path);
  assert_int_equal (stat (p, &st), -1); /* libc is the base's */
  snprintf (p, sizeof p, "%s/proc", path);
  assert_int_equal (stat (p, &st), -1);
  snprintf (p, sizeof p, "%s/envs/%s/proc", f->root, b->digest);
  assert_int_equal (stat (p, &st), 0);
  assert_int_equal (env_count (f), 2);
  /* Again: the same environment. */
  assert_int_equal (reg_envgen_generate_layered (f->store, c, b, &lock, &again, &err), 0);
  assert_string_equal (again, path);
  assert_int_equal (env_count (f), 2);
  reg_closure_free (c);
  reg_closure_free (b);
}

/* Where the trees would not merge (a file below the base's symlink
 * /bin/sh), the full generation runs, and fails as it would alone. */
static void
test_generate_layered_no_merge (void **state)
{
  struct fixture *f = *state;
  char text[512];
  snprintf (text, sizeof text,
            "name: odd\nversion: \"1\"\nrequires: [base@1]\nfiles:\n  /bin/sh/x: sha256:%s\n",
            f->obj_c);
  add_ret (f, text);
  char *refs[] = { "odd@1", NULL }, *base_refs[] = { "base@1", NULL };
  struct reg_closure *c = NULL, *b = NULL;
  struct reg_error *err = NULL;
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  char *path = NULL;
  assert_int_equal (reg_closure_resolve (f->root, refs, &c, &err), 0);
  assert_int_equal (reg_closure_resolve (f->root, base_refs, &b, &err), 0);
  assert_int_equal (reg_envgen_generate_layered (f->store, c, b, &lock, &path, &err), -1);
  assert_non_null (strstr (err->msg, "/bin/sh: needed as a directory for /bin/sh/x"));
  reg_error_free (err);
  assert_null (path);
  assert_int_equal (env_count (f), 1); /* the base's, kept */
  reg_closure_free (c);
  reg_closure_free (b);
}

/* Six generations of one layered environment at once: one layer, one
 * base, no leftovers. */
static void
test_generate_layered_race (void **state)
{
  struct fixture *f = *state;
  char *refs[] = { "app@2", NULL }, *base_refs[] = { "base@1", NULL };
  struct reg_closure *c = NULL, *b = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_closure_resolve (f->root, refs, &c, &err), 0);
  assert_int_equal (reg_closure_resolve (f->root, base_refs, &b, &err), 0);
  pid_t kids[6];
  for (int i = 0; i < 6; i++)
    {
      kids[i] = fork ();
      assert_true (kids[i] >= 0);
      if (kids[i] == 0)
        {
          pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
          char *path = NULL;
          _exit (reg_envgen_generate_layered (f->store, c, b, &lock, &path, NULL) == 0 ? 0 : 1);
        }
    }
  for (int i = 0; i < 6; i++)
    {
      int status;
      assert_int_equal (waitpid (kids[i], &status, 0), kids[i]);
      assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    }
  assert_int_equal (env_count (f), 2);
  _cleanup_free_ char *base = reg_root_env_base (f->root, c->digest);
  assert_non_null (base);
  reg_closure_free (c);
  reg_closure_free (b);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_resolve_requires, setup, teardown),
    cmocka_unit_test_setup_teardown (test_conflict_names_both, setup, teardown),
    cmocka_unit_test_setup_teardown (test_missing_and_cycle, setup, teardown),
    cmocka_unit_test_setup_teardown (test_generate_hard_links, setup, teardown),
    cmocka_unit_test_setup_teardown (test_generate_missing_object_leaves_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown (test_generate_race, setup, teardown),
    cmocka_unit_test_setup_teardown (test_generate_layered, setup, teardown),
    cmocka_unit_test_setup_teardown (test_generate_layered_no_merge, setup, teardown),
    cmocka_unit_test_setup_teardown (test_generate_layered_race, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
