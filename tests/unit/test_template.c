/* Unit tests of RET files: parsing, validation messages, canonical form and
 * digest, and the template repository (save, load, list, remove). */
#include "store.h"
#include "template.h"
#include "util.h"

#include <dirent.h>
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

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const char good[] = "name: py\n"
                           "version: 3.11.2\n"
                           "requires: [base@1]\n"
                           "entrypoint: [/usr/bin/python3, -u]\n"
                           "env: {ZED: z, LANG: C.UTF-8}\n"
                           "files:\n"
                           "  /usr/bin/python3: -> python3.11\n"
                           "  /usr/bin/python3.11: sha256:" HEX_A "+x\n"
                           "  /usr/lib/python3.11/os.py: sha256:" HEX_B "\n"
                           "  /usr/lib/python3.11/empty: dir\n"
                           "libs:\n"
                           "  libc@6: {path: /usr/lib/libc.so.6, object: 'sha256:" HEX_A "'}\n";

static struct reg_template *
parse_ok (const char *text)
{
  struct reg_template *t = NULL;
  struct reg_error *err = NULL;
  if (reg_template_parse (text, strlen (text), "test", &t, &err) < 0)
    fail_msg ("parse failed: %s", err->msg);
  return t;
}

/* Parse must fail with a message containing `want`. */
static void
parse_bad (const char *text, const char *want)
{
  struct reg_template *t = NULL;
  struct reg_error *err = NULL;
  int r = reg_template_parse (text, strlen (text), "test", &t, &err);
  if (r == 0)
    fail_msg ("accepted: %s", text);
  assert_null (t);
  assert_non_null (err);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("message \"%s\" lacks \"%s\"", err->msg, want);
  reg_error_free (err);
}

static void
test_parse_good (void **state)
{
  struct reg_template *t = parse_ok (good);
  assert_string_equal (t->name, "py");
  assert_string_equal (t->version, "3.11.2");
  assert_string_equal (t->requires[0], "base@1");
  assert_null (t->requires[1]);
  assert_string_equal (t->entrypoint[1], "-u");
  assert_string_equal (t->env[0], "LANG=C.UTF-8"); /* sorted */
  assert_string_equal (t->env[1], "ZED=z");
  assert_int_equal (t->n_files, 4);
  assert_string_equal (t->files[0].path, "/usr/bin/python3"); /* sorted */
  assert_int_equal (t->files[0].kind, REG_ENTRY_SYMLINK);
  assert_string_equal (t->files[0].value, "python3.11");
  assert_int_equal (t->files[1].kind, REG_ENTRY_EXEC);
  assert_string_equal (t->files[1].value, HEX_A);
  assert_int_equal (t->files[2].kind, REG_ENTRY_DIR);
  assert_int_equal (t->files[3].kind, REG_ENTRY_FILE);
  assert_int_equal (t->n_libs, 1);
  assert_string_equal (t->libs[0].name, "libc@6");
  assert_string_equal (t->libs[0].entry.path, "/usr/lib/libc.so.6");
  reg_template_free (t);
}

static void
test_round_trip_canonical (void **state)
{
  struct reg_template *t = parse_ok (good);
  char *once = reg_template_serialize (t);
  assert_non_null (once);
  assert_true (once[strlen (once) - 1] == '\n');
  struct reg_template *t2 = parse_ok (once);
  char *twice = reg_template_serialize (t2);
  assert_string_equal (once, twice);
  /* The same content in another layout has the same digest. */
  const char *other
      = "libs:\n  libc@6:\n    object: sha256:" HEX_A "\n    path: /usr/lib/libc.so.6\n"
        "files:\n  /usr/lib/python3.11/empty: dir\n"
        "  /usr/lib/python3.11/os.py: \"sha256:" HEX_B "\"\n"
        "  /usr/bin/python3.11: sha256:" HEX_A "+x\n"
        "  /usr/bin/python3: '-> python3.11'\n"
        "env:\n  LANG: C.UTF-8\n  ZED: z\n"
        "entrypoint:\n  - /usr/bin/python3\n  - -u\n"
        "requires:\n  - base@1\n"
        "version: \"3.11.2\"\nname: py\n";
  struct reg_template *t3 = parse_ok (other);
  char d1[65], d3[65];
  assert_int_equal (reg_template_digest (t, d1, NULL), 0);
  assert_int_equal (reg_template_digest (t3, d3, NULL), 0);
  assert_string_equal (d1, d3);
  assert_true (reg_util_is_sha256_hex (d1));
  /* Any change changes it. */
  free (t3->files[0].value);
  t3->files[0].value = strdup ("python3.12");
  assert_int_equal (reg_template_digest (t3, d3, NULL), 0);
  assert_string_not_equal (d1, d3);
  free (once);
  free (twice);
  reg_template_free (t);
  reg_template_free (t2);
  reg_template_free (t3);
}

static void
test_bad_inputs (void **state)
{
  parse_bad ("name: a\nversion: \"1\"\nfoo: bar\n", "template a@1: unknown field \"foo\"");
  parse_bad ("version: \"1\"\n", "RET file test: missing \"name\"");
  parse_bad ("name: a\n", "RET file test: missing \"version\"");
  parse_bad ("name: A\nversion: \"1\"\n", "invalid name \"A\"");
  parse_bad ("name: a\nversion: \"1 2\"\n", "invalid version");
  parse_bad ("name: a\nname: b\nversion: \"1\"\n", "duplicate key \"name\"");
  parse_bad ("name: a\nversion: \"1\"\nfiles:\n  /x/../y: dir\n",
             "template a@1: files: path \"/x/../y\" is not absolute and normalized");
  parse_bad ("name: a\nversion: \"1\"\nfiles:\n  etc/passwd: dir\n", "\"etc/passwd\"");
  parse_bad ("name: a\nversion: \"1\"\nfiles:\n  /x/: dir\n", "\"/x/\"");
  parse_bad ("name: a\nversion: \"1\"\nfiles:\n  /x//y: dir\n", "\"/x//y\"");
  parse_bad ("name: a\nversion: \"1\"\nfiles:\n  /bin/sh: sha256:zz\n",
             "template a@1: files \"/bin/sh\": malformed object digest \"sha256:zz\"");
  parse_bad ("name: a\nversion: \"1\"\nfiles:\n  /bin/sh: what\n", "is not sha256");
  parse_bad ("name: a\nversion: \"1\"\nfiles:\n  /lib/x: dir\nlibs:\n  libx@1: {path: /lib/x, "
             "object: sha256:" HEX_A "}\n",
             "template a@1: two entries for \"/lib/x\"");
  parse_bad ("name: a\nversion: \"1\"\nfiles:\n  /etc: -> /host\n  /etc/x: sha256:" HEX_A "\n",
             "\"/etc/x\" is inside \"/etc\", which is not a directory");
  parse_bad ("name: a\nversion: \"1\"\nlibs:\n  libx@1: {path: /lib/x}\n", "missing \"object\"");
  parse_bad ("name: a\nversion: \"1\"\nlibs:\n  libx@1: {path: /lib/x, object: sha256:" HEX_A
             ", extra: 1}\n",
             "lib libx@1: unknown field \"extra\"");
  parse_bad ("name: a\nversion: \"1\"\nlibs:\n  nover: {path: /lib/x, object: sha256:" HEX_A "}\n",
             "is not name@soversion");
  parse_bad ("name: a\nversion: \"1\"\nrequires: [nope]\n", "\"nope\" is not name@version");
  parse_bad ("name: a\nversion: \"1\"\nrequires: [b@1, b@1]\n", "b@1 listed twice");
  parse_bad ("name: a\nversion: \"1\"\nentrypoint: []\n", "non-empty");
  parse_bad ("name: a\nversion: \"1\"\nenv: {1X: y}\n", "not a variable name");
  parse_bad ("name: a\nversion: \"1\"\nenv: [x]\n", "\"env\" must be a mapping");
  parse_bad ("name: [a\n", "YAML error at line");
  parse_bad ("- a\n- b\n", "top level must be a mapping");
  parse_bad ("", "empty");
  parse_bad ("name: a\nversion: \"1\"\n---\nname: b\n", "more than one YAML document");
}

static void
test_names (void **state)
{
  assert_true (reg_template_name_ok ("python"));
  assert_true (reg_template_name_ok ("node-js_1.x"));
  assert_false (reg_template_name_ok ("Python"));
  assert_false (reg_template_name_ok ("-x"));
  assert_false (reg_template_name_ok (""));
  assert_false (reg_template_name_ok ("a/b"));
  assert_true (reg_template_version_ok ("3.11.2+deb12u1"));
  assert_false (reg_template_version_ok ("1 2"));
  assert_false (reg_template_version_ok ("../1"));
  char *n = NULL, *v = NULL;
  assert_int_equal (reg_template_split_ref ("python@3.11", &n, &v, NULL), 0);
  assert_string_equal (n, "python");
  assert_string_equal (v, "3.11");
  free (n);
  free (v);
  struct reg_error *err = NULL;
  assert_int_equal (reg_template_split_ref ("python", &n, &v, &err), -1);
  assert_non_null (strstr (err->msg, "\"python\" is not NAME@VERSION"));
  reg_error_free (err);
}

/* ---- repository ---- */

struct repo
{
  char root[64];
  struct reg_store *store;
  char obj[65];
};

static int
repo_setup (void **state)
{
  struct repo *r = calloc (1, sizeof *r);
  strcpy (r->root, "/tmp/reg-test-template-XXXXXX");
  assert_non_null (mkdtemp (r->root));
  assert_int_equal (reg_store_open (r->root, &r->store, NULL), 0);
  assert_int_equal (reg_store_put_bytes (r->store, "content", 7, false, r->obj, NULL, NULL), 0);
  *state = r;
  return 0;
}

static int
repo_teardown (void **state)
{
  struct repo *r = *state;
  reg_store_free (r->store);
  assert_int_equal (reg_util_rm_rf (r->root, NULL), 0);
  free (r);
  return 0;
}

static int
save_text (struct repo *r, const char *text, struct reg_error **err)
{
  struct reg_template *t = NULL;
  if (reg_template_parse (text, strlen (text), "test", &t, err) < 0)
    return -1;
  int ret = reg_template_save (r->root, r->store, t, err);
  reg_template_free (t);
  return ret;
}

static char *
listing (struct repo *r)
{
  char **refs = NULL;
  assert_int_equal (reg_template_list (r->root, &refs, NULL), 0);
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&out, &len);
  for (size_t i = 0; refs[i]; i++)
    fprintf (f, "%s ", refs[i]);
  fclose (f);
  reg_strv_free (refs);
  return out;
}

static void
test_repo_save_load_list_remove (void **state)
{
  struct repo *r = *state;
  char text[512];
  char *l = listing (r);
  assert_string_equal (l, "");
  free (l);
  snprintf (text, sizeof text, "name: base\nversion: \"1\"\nfiles:\n  /f: sha256:%s\n", r->obj);
  struct reg_error *err = NULL;
  assert_int_equal (save_text (r, text, &err), 0);
  assert_int_equal (save_text (r, "name: app\nversion: \"2\"\nrequires: [base@1]\n", &err), 0);
  assert_int_equal (save_text (r, "name: app\nversion: \"10\"\n", &err), 0);
  l = listing (r);
  assert_string_equal (l, "app@10 app@2 base@1 ");
  free (l);
  struct reg_template *t = NULL;
  assert_int_equal (reg_template_load (r->root, "base@1", &t, &err), 0);
  assert_string_equal (t->files[0].value, r->obj);
  reg_template_free (t);
  assert_int_equal (reg_template_load (r->root, "nothere@1", &t, &err), -1);
  assert_int_equal (err->code, ENOENT);
  assert_string_equal (err->msg, "template nothere@1: not found");
  reg_error_free (err);
  err = NULL;
  /* Refused while required. */
  assert_int_equal (reg_template_remove (r->root, "base@1", &err), -1);
  assert_int_equal (err->code, EBUSY);
  assert_string_equal (err->msg, "template base@1: required by app@2");
  reg_error_free (err);
  err = NULL;
  assert_int_equal (reg_template_remove (r->root, "app@2", &err), 0);
  assert_int_equal (reg_template_remove (r->root, "base@1", &err), 0);
  assert_int_equal (reg_template_remove (r->root, "base@1", &err), -1);
  assert_int_equal (err->code, ENOENT);
  reg_error_free (err);
  l = listing (r);
  assert_string_equal (l, "app@10 ");
  free (l);
  char dir[128];
  snprintf (dir, sizeof dir, "%s/templates/base", r->root);
  assert_int_equal (access (dir, F_OK), -1); /* empty name directory removed */
}

static void
test_repo_refuses_bad_saves (void **state)
{
  struct repo *r = *state;
  struct reg_error *err = NULL;
  assert_int_equal (save_text (r, "name: b\nversion: \"1\"\n", &err), 0);
  char *before = listing (r);
  /* Missing object. */
  assert_int_equal (
      save_text (r, "name: a\nversion: \"1\"\nfiles:\n  /x: sha256:" HEX_A "+x\n", &err), -1);
  assert_int_equal (err->code, ENOENT);
  assert_string_equal (err->msg,
                       "template a@1: file \"/x\": object sha256:" HEX_A "+x not in store");
  reg_error_free (err);
  err = NULL;
  /* Missing requirement. */
  assert_int_equal (save_text (r, "name: a\nversion: \"1\"\nrequires: [zz@9]\n", &err), -1);
  assert_string_equal (err->msg, "template a@1: requires zz@9, which is not installed");
  reg_error_free (err);
  err = NULL;
  /* Self cycle. */
  assert_int_equal (save_text (r, "name: a\nversion: \"1\"\nrequires: [a@1]\n", &err), -1);
  assert_string_equal (err->msg, "template a@1: cyclic requires: a@1 -> a@1");
  reg_error_free (err);
  err = NULL;
  /* Two-step cycle: c@1 -> b@1, then b@1 re-saved requiring c@1. */
  assert_int_equal (save_text (r, "name: c\nversion: \"1\"\nrequires: [b@1]\n", &err), 0);
  free (before);
  before = listing (r);
  assert_int_equal (save_text (r, "name: b\nversion: \"1\"\nrequires: [c@1]\n", &err), -1);
  assert_string_equal (err->msg, "template b@1: cyclic requires: b@1 -> c@1 -> b@1");
  reg_error_free (err);
  err = NULL;
  char *after = listing (r);
  assert_string_equal (before, after);
  /* b@1 is unchanged on disk. */
  struct reg_template *t = NULL;
  assert_int_equal (reg_template_load (r->root, "b@1", &t, NULL), 0);
  assert_null (t->requires[0]);
  reg_template_free (t);
  /* Nothing left behind in the templates directory. */
  char dir[128];
  snprintf (dir, sizeof dir, "%s/templates/a", r->root);
  assert_int_equal (access (dir, F_OK), -1);
  free (before);
  free (after);
}

static void
test_load_checks_name (void **state)
{
  struct repo *r = *state;
  char dir[128], path[160];
  snprintf (dir, sizeof dir, "%s/templates/x", r->root);
  assert_int_equal (reg_util_mkdir_p (dir, 0755, NULL), 0);
  snprintf (path, sizeof path, "%s/1.ret", dir);
  const char *text = "name: y\nversion: \"1\"\n";
  assert_int_equal (reg_util_write_atomic (path, text, strlen (text), 0644, NULL), 0);
  struct reg_template *t = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_template_load (r->root, "x@1", &t, &err), -1);
  assert_non_null (strstr (err->msg, "names y@1"));
  reg_error_free (err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse_good),
    cmocka_unit_test (test_round_trip_canonical),
    cmocka_unit_test (test_bad_inputs),
    cmocka_unit_test (test_names),
    cmocka_unit_test_setup_teardown (test_repo_save_load_list_remove, repo_setup, repo_teardown),
    cmocka_unit_test_setup_teardown (test_repo_refuses_bad_saves, repo_setup, repo_teardown),
    cmocka_unit_test_setup_teardown (test_load_checks_name, repo_setup, repo_teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
