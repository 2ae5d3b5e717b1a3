/* Unit tests of RET files: parsing and every validation message, canonical
 * form and digest, and the template repository (save, load, list, remove)
 * against a temporary root with a real store. */
#include "store.h"
#include "template.h"
#include "util.h"

#include <errno.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEAD "name: a\nversion: \"1\"\n"

static const char good[] = "name: py\n"
                           "version: 3.11.2\n"
                           "requires: [base@1]\n"
                           "entrypoint: [/usr/bin/python3, -u]\n"
                           "env: {ZED: z, LANG: C.UTF-8, A1: one, A: a}\n"
                           "files:\n"
                           "  /usr/bin/python3: -> python3.11\n"
                           "  /usr/bin/python3.11: sha256:" HEX_A "+x\n"
                           "  /usr/lib/python3.11/os.py: sha256:" HEX_B "\n"
                           "  /usr/lib/python3.11/empty: dir\n"
                           "libs:\n"
                           "  libc@6: {path: /usr/lib/libc.so.6, object: 'sha256:" HEX_A "'}\n";

/* The canonical form of `good`, byte for byte. */
static const char good_canonical[]
    = "name: py\n"
      "version: '3.11.2'\n"
      "requires: [base@1]\n"
      "entrypoint: [/usr/bin/python3, -u]\n"
      "env:\n"
      "  A: a\n"
      "  A1: one\n"
      "  LANG: C.UTF-8\n"
      "  ZED: z\n"
      "files:\n"
      "  /usr/bin/python3: -> python3.11\n"
      "  /usr/bin/python3.11: sha256:" HEX_A "+x\n"
      "  /usr/lib/python3.11/empty: dir\n"
      "  /usr/lib/python3.11/os.py: sha256:" HEX_B "\n"
      "libs:\n"
      "  libc@6: {object: 'sha256:" HEX_A "', path: /usr/lib/libc.so.6}\n";

static struct reg_template *
parse_ok (const char *text)
{
  struct reg_template *t = NULL;
  struct reg_error *err = NULL;
  if (reg_template_parse (text, strlen (text), "test", &t, &err) < 0)
    fail_msg ("parse failed: %s\n%s", err->msg, text);
  return t;
}

/* Parse must fail with exactly `want` and code `code`. */
static void
parse_bad_len (const char *text, size_t len, int code, const char *want)
{
  struct reg_template *t = NULL;
  struct reg_error *err = NULL;
  if (reg_template_parse (text, len, "test", &t, &err) == 0)
    fail_msg ("accepted: %s", text);
  assert_null (t);
  assert_non_null (err);
  if (strcmp (err->msg, want) != 0)
    fail_msg ("for input\n%s\ngot  \"%s\"\nwant \"%s\"", text, err->msg, want);
  assert_int_equal (err->code, code);
  reg_error_free (err);
}

static void
parse_bad (const char *text, const char *want)
{
  parse_bad_len (text, strlen (text), EINVAL, want);
}

static void
assert_strv_equal (char *const *a, char *const *b)
{
  assert_int_equal (reg_strv_len (a), reg_strv_len (b));
  for (size_t i = 0; a && a[i]; i++)
    assert_string_equal (a[i], b[i]);
}

static void
assert_entry_equal (const struct reg_entry *a, const struct reg_entry *b)
{
  assert_string_equal (a->path, b->path);
  assert_int_equal (a->kind, b->kind);
  if (a->value == NULL || b->value == NULL)
    assert_ptr_equal (a->value, b->value);
  else
    assert_string_equal (a->value, b->value);
}

static void
assert_template_equal (const struct reg_template *a, const struct reg_template *b)
{
  assert_string_equal (a->name, b->name);
  assert_string_equal (a->version, b->version);
  assert_strv_equal (a->requires, b->requires);
  assert_strv_equal (a->entrypoint, b->entrypoint);
  assert_int_equal (a->stop_signal, b->stop_signal);
  assert_strv_equal (a->env, b->env);
  assert_strv_equal (a->users, b->users);
  assert_strv_equal (a->groups, b->groups);
  assert_int_equal (a->n_files, b->n_files);
  for (size_t i = 0; i < a->n_files; i++)
    assert_entry_equal (&a->files[i], &b->files[i]);
  assert_int_equal (a->n_libs, b->n_libs);
  for (size_t i = 0; i < a->n_libs; i++)
    {
      assert_string_equal (a->libs[i].name, b->libs[i].name);
      assert_entry_equal (&a->libs[i].entry, &b->libs[i].entry);
    }
}

static void
digest_of (const struct reg_template *t, char out[65])
{
  struct reg_error *err = NULL;
  if (reg_template_digest (t, out, &err) < 0)
    fail_msg ("digest: %s", err->msg);
}

/* ---- parsing ---- */

static void
test_parse_good (void **state)
{
  struct reg_template *t = parse_ok (good);
  assert_string_equal (t->name, "py");
  assert_string_equal (t->version, "3.11.2");
  assert_string_equal (t->requires[0], "base@1");
  assert_null (t->requires[1]);
  assert_string_equal (t->entrypoint[0], "/usr/bin/python3");
  assert_string_equal (t->entrypoint[1], "-u");
  assert_null (t->entrypoint[2]);
  /* Sorted by key: "A" before "A1" (plain strcmp of "A=a", "A1=one" would
   * not). */
  assert_string_equal (t->env[0], "A=a");
  assert_string_equal (t->env[1], "A1=one");
  assert_string_equal (t->env[2], "LANG=C.UTF-8");
  assert_string_equal (t->env[3], "ZED=z");
  assert_null (t->env[4]);
  assert_int_equal (t->n_files, 4);
  assert_string_equal (t->files[0].path, "/usr/bin/python3"); /* sorted */
  assert_int_equal (t->files[0].kind, REG_ENTRY_SYMLINK);
  assert_string_equal (t->files[0].value, "python3.11");
  assert_string_equal (t->files[1].path, "/usr/bin/python3.11");
  assert_int_equal (t->files[1].kind, REG_ENTRY_EXEC);
  assert_string_equal (t->files[1].value, HEX_A);
  assert_string_equal (t->files[2].path, "/usr/lib/python3.11/empty");
  assert_int_equal (t->files[2].kind, REG_ENTRY_DIR);
  assert_null (t->files[2].value);
  assert_int_equal (t->files[3].kind, REG_ENTRY_FILE);
  assert_string_equal (t->files[3].value, HEX_B);
  assert_int_equal (t->n_libs, 1);
  assert_string_equal (t->libs[0].name, "libc@6");
  assert_string_equal (t->libs[0].entry.path, "/usr/lib/libc.so.6");
  assert_int_equal (t->libs[0].entry.kind, REG_ENTRY_FILE);
  assert_string_equal (t->libs[0].entry.value, HEX_A);
  reg_template_free (t);
}

/* A stop signal in any spelling is kept as its number and written back as
 * SIGNAME, after the entrypoint; a file without one has none. */
static void
test_stop_signal (void **state)
{
  static const char *const spellings[] = { "quit", "SIGQUIT", "3", "QUIT" };
  for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++)
    {
      char text[256];
      snprintf (text, sizeof text, HEAD "format: '2'\nentrypoint: [/bin/sh]\nstop-signal: %s\n",
                spellings[i]);
      struct reg_template *t = parse_ok (text);
      assert_int_equal (t->stop_signal, SIGQUIT);
      char *out = reg_template_serialize (t);
      assert_string_equal (out, "name: a\nversion: '1'\nformat: '2'\nentrypoint: [/bin/sh]\n"
                                "stop-signal: SIGQUIT\n");
      struct reg_template *back = parse_ok (out);
      assert_template_equal (t, back);
      free (out);
      reg_template_free (back);
      reg_template_free (t);
    }
  struct reg_template *t = parse_ok (HEAD "format: '2'\nstop-signal: RTMIN+2\n");
  assert_int_equal (t->stop_signal, SIGRTMIN + 2);
  char *out = reg_template_serialize (t);
  assert_non_null (strstr (out, "stop-signal: SIGRTMIN+2\n"));
  free (out);
  reg_template_free (t);
  t = parse_ok (HEAD);
  assert_int_equal (t->stop_signal, 0);
  out = reg_template_serialize (t);
  assert_null (strstr (out, "stop-signal"));
  free (out);
  reg_template_free (t);
}

static void
test_parse_minimal (void **state)
{
  /* Every scalar is text: "version: 1" is the string "1". */
  struct reg_template *t = parse_ok ("name: a\nversion: 1\n");
  assert_string_equal (t->version, "1");
  assert_non_null (t->requires);
  assert_null (t->requires[0]);
  assert_non_null (t->env);
  assert_null (t->env[0]);
  assert_null (t->entrypoint);
  assert_int_equal (t->n_files, 0);
  assert_int_equal (t->n_libs, 0);
  reg_template_free (t);
  t = parse_ok ("name: a\nversion: 3.10\nenv: {A: true, B: , C: null}\n");
  assert_string_equal (t->version, "3.10");
  assert_string_equal (t->env[0], "A=true");
  assert_string_equal (t->env[1], "B=");
  assert_string_equal (t->env[2], "C=null");
  reg_template_free (t);
  /* Next to the skeleton: its directories as directories, files below /tmp
   * and /app (not mounted over), names that only start like it. */
  t = parse_ok ("name: a\nversion: 1\nfiles:\n  /tmp: dir\n  /app/main.py: sha256:" HEX_A
                "\n  /tmp/x: sha256:" HEX_A "\n  /procs: sha256:" HEX_A "\n  /devices/x: dir\n");
  assert_int_equal (t->n_files, 5);
  reg_template_free (t);
}

/* Each fault gives its exact message. */
static void
test_bad_inputs (void **state)
{
  parse_bad (HEAD "foo: bar\n", "template a@1: unknown field \"foo\"");
  parse_bad ("version: \"1\"\n", "RET file test: missing \"name\"");
  parse_bad ("name: a\n", "RET file test: missing \"version\"");
  parse_bad ("name: [a]\nversion: \"1\"\n", "RET file test: \"name\" must be a string");
  parse_bad ("name: A\nversion: \"1\"\n",
             "RET file test: invalid name \"A\" (lower-case letters, digits, '.', '_', '-'; at "
             "most 128; starts with a letter or digit)");
  parse_bad ("name: a\nversion: \"1 2\"\n",
             "RET file test: invalid version \"1 2\" (letters, digits, '.', '_', '+', '-'; at "
             "most 128; starts with a letter or digit)");
  parse_bad ("name: a\nname: b\nversion: \"1\"\n", "template a@1: duplicate key \"name\"");
  parse_bad (HEAD "files: {/x: dir}\nfiles: {/y: dir}\n", "template a@1: duplicate key \"files\"");
  parse_bad (HEAD "[x]: y\n", "template a@1: keys must be strings");
  /* Paths. */
  const char *why = " is not absolute and normalized (no \"..\", \".\", \"//\" or trailing \"/\")";
  const char *paths[] = { "/x/../y", "etc/passwd", "/x/", "/x//y", "/x/./y", "/..", "/", NULL };
  for (size_t i = 0; paths[i]; i++)
    {
      char text[256], want[256];
      snprintf (text, sizeof text, HEAD "files:\n  '%s': dir\n", paths[i]);
      snprintf (want, sizeof want, "template a@1: files: path \"%s\"%s", paths[i], why);
      parse_bad (text, want);
    }
  /* Entries. */
  parse_bad (HEAD "files:\n  /bin/sh: sha256:zz\n",
             "template a@1: files \"/bin/sh\": malformed object digest \"sha256:zz\" (want "
             "sha256:<64 hex>[+x])");
  parse_bad (HEAD "files:\n  /bin/sh: sha256:" HEX_A "+y\n",
             "template a@1: files \"/bin/sh\": malformed object digest \"sha256:" HEX_A
             "+y\" (want sha256:<64 hex>[+x])");
  parse_bad (HEAD "files:\n  /bin/sh: sha256:" HEX_A "A\n",
             "template a@1: files \"/bin/sh\": malformed object digest \"sha256:" HEX_A
             "A\" (want sha256:<64 hex>[+x])");
  parse_bad (HEAD
             "files:\n  /bin/sh: sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
             "AAAAAAAAA\n",
             "template a@1: files \"/bin/sh\": malformed object digest "
             "\"sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\" (want "
             "sha256:<64 hex>[+x])");
  parse_bad (HEAD "files:\n  /bin/sh: what\n",
             "template a@1: files \"/bin/sh\": value \"what\" is not sha256:<hex>[+x], \"-> "
             "TARGET\" or \"dir\"");
  parse_bad (HEAD "files:\n  /bin/sh: '-> '\n",
             "template a@1: files \"/bin/sh\": symlink target is empty, multi-line or longer "
             "than 4095 bytes");
  parse_bad (HEAD "files:\n  /bin/sh: [dir]\n",
             "template a@1: files \"/bin/sh\": value must be a string");
  parse_bad (HEAD "files: [/x]\n",
             "template a@1: \"files\" must be a mapping of container path to entry");
  parse_bad (HEAD "files:\n  /x: dir\n  /x: dir\n", "template a@1: files: duplicate key \"/x\"");
  /* One destination twice, also across files and libs. */
  parse_bad (HEAD "files:\n  /usr/bin/python3: dir\nlibs:\n  libpy@1: {path: /usr/bin/python3, "
                  "object: sha256:" HEX_A "}\n",
             "template a@1: two entries for \"/usr/bin/python3\"");
  parse_bad (HEAD "libs:\n  libx@1: {path: /lib/x, object: sha256:" HEX_A
                  "}\n  liby@1: {path: /lib/x, object: sha256:" HEX_B "}\n",
             "template a@1: two entries for \"/lib/x\"");
  parse_bad (HEAD "files:\n  /opt: -> /host\n  /opt/x: sha256:" HEX_A "\n",
             "template a@1: \"/opt/x\" is inside \"/opt\", which is not a directory");
  /* The container skeleton: its directories stay directories, and nothing
   * goes below the mount points that would hide it. */
  parse_bad (HEAD "files:\n  /tmp: sha256:" HEX_A "\n",
             "template a@1: \"/tmp\" is a directory in every container, so it cannot be a file "
             "or symlink");
  parse_bad (HEAD "files:\n  /app: -> /etc\n",
             "template a@1: \"/app\" is a directory in every container, so it cannot be a file "
             "or symlink");
  parse_bad (HEAD "libs:\n  libx@1: {path: /etc, object: sha256:" HEX_A "}\n",
             "template a@1: \"/etc\" is a directory in every container, so it cannot be a file "
             "or symlink");
  parse_bad (HEAD "files:\n  /proc/x: sha256:" HEX_A "\n",
             "template a@1: \"/proc/x\" would be hidden: the container mounts its own "
             "filesystem there");
  parse_bad (HEAD "files:\n  /dev/sub: dir\n",
             "template a@1: \"/dev/sub\" would be hidden: the container mounts its own "
             "filesystem there");
  /* Libs. */
  parse_bad (HEAD "libs:\n  libx@1: {path: /lib/x}\n",
             "template a@1: lib libx@1: missing \"object\"");
  parse_bad (HEAD "libs:\n  libx@1: {object: sha256:" HEX_A "}\n",
             "template a@1: lib libx@1: missing \"path\"");
  parse_bad (HEAD "libs:\n  libx@1: {path: /lib/x, object: sha256:" HEX_A ", extra: 1}\n",
             "template a@1: lib libx@1: unknown field \"extra\"");
  parse_bad (HEAD "libs:\n  libx@1: {path: /lib/x, path: /lib/y, object: sha256:" HEX_A "}\n",
             "template a@1: lib libx@1: duplicate key \"path\"");
  parse_bad (HEAD "libs:\n  libx@1: {path: lib/x, object: sha256:" HEX_A "}\n",
             "template a@1: lib libx@1: path \"lib/x\" is not absolute and normalized (no "
             "\"..\", \".\", \"//\" or trailing \"/\")");
  parse_bad (HEAD "libs:\n  libx@1: {path: /lib/x, object: sha256:1}\n",
             "template a@1: lib libx@1: malformed object digest \"sha256:1\" (want sha256:<64 "
             "hex>[+x])");
  parse_bad (HEAD "libs:\n  libx@1: {path: /lib/x, object: dir}\n",
             "template a@1: lib libx@1: malformed object digest \"dir\" (want sha256:<64 "
             "hex>[+x])");
  parse_bad (HEAD "libs:\n  nover: {path: /lib/x, object: sha256:" HEX_A "}\n",
             "template a@1: libs: \"nover\" is not name@soversion");
  parse_bad (HEAD "libs:\n  libx@1: /lib/x\n",
             "template a@1: lib libx@1: must be a mapping {path, object}");
  /* requires. */
  parse_bad (HEAD "requires: [nope]\n", "template a@1: requires: \"nope\" is not name@version");
  parse_bad (HEAD "requires: [B@1]\n", "template a@1: requires: \"B@1\" is not name@version");
  parse_bad (HEAD "requires: [b@1, b@1]\n", "template a@1: requires: b@1 listed twice");
  parse_bad (HEAD "requires: b@1\n", "template a@1: \"requires\" must be a list of strings");
  parse_bad (HEAD "requires: [[b@1]]\n", "template a@1: \"requires\" must be a list of strings");
  /* stop-signal. */
  parse_bad (HEAD "stop-signal: SIGTERM\n",
             "template a@1: \"users\", \"groups\", \"expose\", \"stop-signal\" and \"dir MODE\" "
             "need format: '2' (an older engine would refuse them)");
  parse_bad (HEAD "stop-signal: SIGNOPE\n",
             "template a@1: \"stop-signal\": \"SIGNOPE\" is not a signal (SIGTERM, SIGQUIT, "
             "SIGINT, ...)");
  parse_bad (HEAD "stop-signal: 0\n",
             "template a@1: \"stop-signal\": \"0\" is not a signal (SIGTERM, SIGQUIT, SIGINT, "
             "...)");
  parse_bad (HEAD "stop-signal: [TERM]\n", "template a@1: \"stop-signal\" must be a signal name");
  /* entrypoint. */
  const char *ep = "template a@1: \"entrypoint\" must be a non-empty list of strings";
  parse_bad (HEAD "entrypoint: []\n", ep);
  parse_bad (HEAD "entrypoint: /bin/sh\n", ep);
  parse_bad (HEAD "entrypoint: {a: b}\n", ep);
  parse_bad (HEAD "entrypoint: [/bin/sh, [x]]\n",
             "template a@1: \"entrypoint\" must be a list of strings");
  parse_bad (HEAD "entrypoint: ['']\n",
             "template a@1: \"entrypoint\": the program (first element) is empty");
  /* env. */
  const char *keys[] = { "1X", "A-B", "A B", "A=B", "", NULL };
  for (size_t i = 0; keys[i]; i++)
    {
      char text[128], want[160];
      snprintf (text, sizeof text, HEAD "env: {'%s': y}\n", keys[i]);
      snprintf (want, sizeof want,
                "template a@1: env: \"%s\" is not a variable name ([A-Za-z_][A-Za-z0-9_]*)",
                keys[i]);
      parse_bad (text, want);
    }
  parse_bad (HEAD "env: {A: [x]}\n", "template a@1: env A: value must be a string");
  parse_bad (HEAD "env: [x]\n", "template a@1: \"env\" must be a mapping of NAME to value");
  parse_bad (HEAD "env: {A: x, A: y}\n", "template a@1: env: duplicate key \"A\"");
}

static void
test_bad_yaml (void **state)
{
  parse_bad ("name: [a\n", "RET file test: YAML error at line 2, column 1: did not find expected "
                           "',' or ']' while parsing a flow sequence");
  parse_bad ("name: a\n  version: 1\n", "RET file test: YAML error at line 2, column 10: mapping "
                                        "values are not allowed in this context");
  parse_bad ("- a\n- b\n", "RET file test: top level must be a mapping");
  parse_bad ("just text\n", "RET file test: top level must be a mapping");
  parse_bad ("", "RET file test: empty");
  parse_bad ("# only a comment\n", "RET file test: empty");
  parse_bad (HEAD "---\nname: b\n", "RET file test: more than one YAML document");
  parse_bad (HEAD "env: {A: &x v, B: *x}\n",
             "RET file test: line 3, column 19: YAML aliases are not allowed");
  parse_bad (HEAD "env: {A: !!int 1}\n",
             "RET file test: line 3, column 10: YAML tags are not allowed");
  parse_bad (HEAD "files: !!set {/x: dir}\n",
             "RET file test: line 3, column 8: YAML tags are not allowed");
  parse_bad (HEAD "env: {A: \"x\\0y\"}\n",
             "RET file test: line 3, column 10: a string contains a NUL character");
  parse_bad_len (HEAD "\0", sizeof HEAD, EINVAL, "RET file test: contains a NUL byte");
  parse_bad ("name: \xff\n", "RET file test: YAML error at byte 6: invalid leading UTF-8 octet");
  char deep[64] = HEAD "x: ";
  for (int i = 0; i < 17; i++)
    strcat (deep, "[");
  parse_bad (deep, "RET file test: line 3, column 19: nested deeper than 16 levels");
  /* Over the size limit. */
  size_t big = (16u << 20) + 1;
  char *text = malloc (big);
  assert_non_null (text);
  memset (text, '#', big);
  parse_bad_len (text, big, EFBIG, "RET file test: larger than 16777216 bytes");
  free (text);
}

/* libyaml alone takes minutes on deeply nested input (its scanner is
 * quadratic in the depth); the depth limit stops it early. */
static void
test_deep_nesting_is_cheap (void **state)
{
  size_t n = 8u << 20;
  char *text = malloc (n);
  assert_non_null (text);
  memset (text, '[', n);
  struct timespec a, b;
  clock_gettime (CLOCK_MONOTONIC, &a);
  parse_bad_len (text, n, EINVAL, "RET file test: line 1, column 17: nested deeper than 16 levels");
  clock_gettime (CLOCK_MONOTONIC, &b);
  free (text);
  double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  if (s > 2.0)
    fail_msg ("rejecting 8 MiB of '[' took %.2f s", s);
}

static void
test_names (void **state)
{
  char long_name[140];
  memset (long_name, 'a', 128);
  long_name[128] = '\0';
  assert_true (reg_template_name_ok (long_name));
  assert_true (reg_template_version_ok (long_name));
  strcat (long_name, "a");
  assert_false (reg_template_name_ok (long_name));
  assert_false (reg_template_version_ok (long_name));
  assert_true (reg_template_name_ok ("python"));
  assert_true (reg_template_name_ok ("node-js_1.x"));
  assert_true (reg_template_name_ok ("0ad"));
  assert_false (reg_template_name_ok ("Python"));
  assert_false (reg_template_name_ok ("-x"));
  assert_false (reg_template_name_ok (".x"));
  assert_false (reg_template_name_ok (""));
  assert_false (reg_template_name_ok (NULL));
  assert_false (reg_template_name_ok ("a/b"));
  assert_false (reg_template_name_ok ("a@b"));
  assert_false (reg_template_name_ok ("caf\xc3\xa9"));
  assert_true (reg_template_version_ok ("3.11.2+deb12u1"));
  assert_true (reg_template_version_ok ("RC1"));
  assert_false (reg_template_version_ok ("1 2"));
  assert_false (reg_template_version_ok ("../1"));
  assert_false (reg_template_version_ok ("+1"));
  assert_false (reg_template_version_ok ("1/2"));
  char *n = NULL, *v = NULL;
  assert_int_equal (reg_template_split_ref ("python@3.11", &n, &v, NULL), 0);
  assert_string_equal (n, "python");
  assert_string_equal (v, "3.11");
  free (n);
  free (v);
  const char *bad[] = { "python", "@1", "a@", "a@b@c", "A@1", NULL };
  for (size_t i = 0; bad[i]; i++)
    {
      struct reg_error *err = NULL;
      assert_int_equal (reg_template_split_ref (bad[i], &n, &v, &err), -1);
      assert_null (n);
      assert_null (v);
      assert_int_equal (err->code, EINVAL);
      char want[64];
      snprintf (want, sizeof want, "\"%s\" is not NAME@VERSION", bad[i]);
      assert_non_null (strstr (err->msg, want));
      reg_error_free (err);
    }
}

/* ---- canonical form and digest ---- */

static void
test_serialize_exact (void **state)
{
  struct reg_template *t = parse_ok (good);
  char *text = reg_template_serialize (t);
  assert_non_null (text);
  assert_string_equal (text, good_canonical);
  free (text);
  reg_template_free (t);
}

/* Format 2: accounts, sorted by name, written after env with format: '2';
 * a format-1 file keeps its exact bytes (no format key). */
/* Format 3: the run defaults of image configs, canonical and checked. */
static void
test_format3_defaults (void **state)
{
  (void)state;
  const char *in = "name: a\nversion: '1'\nformat: '3'\nlabels: {z: '1', a: x}\nuser: app:staff\n"
                   "healthcheck: {test: [CMD-SHELL, 'true'], interval: 1m30s, retries: '2'}\n"
                   "workdir: /srv\nvolumes: [/data, /cache]\n";
  struct reg_template *t = parse_ok (in);
  assert_string_equal (t->workdir, "/srv");
  assert_string_equal (t->labels[0], "a=x");
  assert_int_equal (t->healthcheck.interval, 90000000000LL);
  char *text = reg_template_serialize (t);
  assert_string_equal (text, "name: a\nversion: '1'\nformat: '3'\nworkdir: /srv\nuser: app:staff\n"
                             "volumes: [/data, /cache]\nlabels:\n  a: x\n  z: '1'\n"
                             "healthcheck:\n  interval: '90s'\n  retries: '2'\n"
                             "  test: [CMD-SHELL, 'true']\n");
  struct reg_template *again = parse_ok (text);
  char *text2 = reg_template_serialize (again);
  assert_string_equal (text, text2);
  free (text);
  free (text2);
  reg_template_free (again);
  reg_template_free (t);
  const char *need = "template a@1: \"workdir\", \"user\", \"volumes\", \"labels\" and "
                     "\"healthcheck\" need format: '3' (an older engine would refuse them)";
  parse_bad ("name: a\nversion: '1'\nworkdir: /srv\n", need);
  parse_bad ("name: a\nversion: '1'\nformat: '2'\nlabels: {a: b}\n", need);
  parse_bad ("name: a\nversion: '1'\nformat: '3'\nworkdir: srv\n",
             "template a@1: workdir: \"srv\" is not absolute and normalized");
  parse_bad ("name: a\nversion: '1'\nformat: '3'\nuser: 'a b'\n",
             "template a@1: user: \"a b\" is not NAME[:GROUP] (letters, digits, '_', '.', '-', "
             "'$'; names or numbers)");
  parse_bad ("name: a\nversion: '1'\nformat: '3'\nvolumes: [/proc/x]\n",
             "template a@1: volumes: \"/proc/x\" is not an absolute, normalized path outside "
             "/proc, /dev and /sys");
  parse_bad ("name: a\nversion: '1'\nformat: '3'\nvolumes: [/d, /d]\n",
             "template a@1: volumes: /d listed twice");
  parse_bad ("name: a\nversion: '1'\nformat: '3'\nlabels: {'a=b': c}\n",
             "template a@1: labels: \"a=b\" is not a label key (1-256 printable bytes, no '=')");
  parse_bad ("name: a\nversion: '1'\nformat: '3'\nhealthcheck: {interval: 1s}\n",
             "template a@1: healthcheck: missing \"test\"");
  parse_bad ("name: a\nversion: '1'\nformat: '3'\nhealthcheck: {test: [NONE], every: 1s}\n",
             "template a@1: healthcheck: unknown field \"every\" (test, interval, timeout, "
             "start-period, retries)");
  parse_bad ("name: a\nversion: '1'\nformat: '3'\nhealthcheck: {test: [NONE], retries: x}\n",
             "template a@1: healthcheck: retries \"x\" is not a number of 0 to 1000000");
}

static void
test_format2_accounts (void **state)
{
  struct reg_template *t
      = parse_ok ("name: a\nversion: '1'\nformat: 2\ngroups: ['www-data:x:33:', 'adm:x:4:syslog']\n"
                  "users: ['www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin']\n");
  char *text = reg_template_serialize (t);
  assert_string_equal (text, "name: a\nversion: '1'\nformat: '2'\n"
                             "users: ['www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin']\n"
                             "groups: ['adm:x:4:syslog', 'www-data:x:33:']\n");
  struct reg_template *back = parse_ok (text);
  assert_template_equal (t, back);
  free (text);
  reg_template_free (back);
  reg_template_free (t);
  t = parse_ok ("name: a\nversion: '1'\nformat: '1'\n");
  text = reg_template_serialize (t);
  assert_string_equal (text, "name: a\nversion: '1'\n");
  free (text);
  reg_template_free (t);
  parse_bad (
      "name: a\nversion: '1'\nusers: ['a:x:1:1:::']\n",
      "template a@1: \"users\", \"groups\", \"expose\", \"stop-signal\" and \"dir MODE\" need "
      "format: '2' (an older engine would refuse them)");
  parse_bad (
      "name: a\nversion: '1'\nformat: '1'\ngroups: ['a:x:1:']\n",
      "template a@1: \"users\", \"groups\", \"expose\", \"stop-signal\" and \"dir MODE\" need "
      "format: '2' (an older engine would refuse them)");
  parse_bad ("name: a\nversion: '1'\nformat: '5'\n",
             "template a@1: format \"5\": this engine reads formats 1, 2, 3 and 4");
  parse_bad ("name: a\nversion: '1'\nformat: '2'\ngroups: ['a:x:1']\n",
             "template a@1: groups: \"a:x:1\" is not a group(5) line "
             "(name:password:gid:member,...)");
  parse_bad ("name: a\nversion: '1'\nformat: '2'\nusers: ['a:x:1:1:::', 'a:x:2:2:::']\n",
             "template a@1: account \"a\" listed twice");
}

static void
test_round_trip (void **state)
{
  /* Values that need quoting or escaping in YAML, and values another YAML
   * reader would take for numbers, booleans or null. */
  const char *tricky
      = "name: a\nversion: '1.0'\n"
        "entrypoint: [/bin/sh, -c, 'echo \"a, b\"; ls [x]', '', ' lead', '- dash', '#', 'it''s']\n"
        "env:\n  NL: \"line1\\nline2\"\n  TAB: \"a\\tb\"\n  E: ''\n  T: 'true'\n  N: '~'\n"
        "  U: \"\\u00fcn\\u00efc\\u00f6de\"\n  C: 'a: b # c'\n  Q: '\"dq\" and ''sq'''\n"
        "  NUM: '0x1F'\n  F: '.inf'\n  Y: 'y'\n"
        "files:\n  /usr/lib/x y: '-> ../odd target: here'\n  '/usr/lib/#hash': dir\n"
        "  /usr/lib/\xc3\xbc: sha256:" HEX_A "\n  /bin/yes: '-> no'\n";
  const char *inputs[] = { good, good_canonical, tricky, NULL };
  for (size_t i = 0; inputs[i]; i++)
    {
      struct reg_template *t = parse_ok (inputs[i]);
      char *once = reg_template_serialize (t);
      assert_non_null (once);
      assert_true (once[strlen (once) - 1] == '\n');
      struct reg_template *t2 = parse_ok (once);
      assert_template_equal (t, t2);
      char *twice = reg_template_serialize (t2);
      assert_string_equal (once, twice);
      free (once);
      free (twice);
      reg_template_free (t);
      reg_template_free (t2);
    }
  /* The tricky values survive exactly. */
  struct reg_template *t = parse_ok (tricky);
  assert_string_equal (t->entrypoint[2], "echo \"a, b\"; ls [x]");
  assert_string_equal (t->entrypoint[7], "it's");
  assert_string_equal (t->env[4], "NL=line1\nline2");
  assert_string_equal (t->env[8], "TAB=a\tb");
  assert_string_equal (t->env[9], "U=\303\274n\303\257c\303\266de");
  char *text = reg_template_serialize (t);
  /* Scalars a YAML 1.1 reader would not read as strings are quoted. */
  assert_non_null (strstr (text, "version: '1.0'\n"));
  assert_non_null (strstr (text, "  T: 'true'\n"));
  assert_non_null (strstr (text, "  'N': '~'\n"));
  assert_non_null (strstr (text, "  E: ''\n"));
  assert_non_null (strstr (text, "  'Y': 'y'\n"));
  assert_non_null (strstr (text, "  NUM: '0x1F'\n"));
  free (text);
  reg_template_free (t);
}

/* Format 4: a file with its own mode, owner and capability is the store
 * variant HEX+MODE-UID-GID[-CAP]; set-ID directories. Read strictly. */
static void
test_format4_attributes (void **state)
{
  (void)state;
#define H "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CAP "0100000200200000000000000000000000000000"
  const char *in = "name: a\nversion: '1'\nformat: '4'\nfiles:\n"
                   "  /bin/ping: sha256:" H " 0755 0:0 cap=" CAP "\n"
                   "  /bin/su: sha256:" H " 4755 0:0\n"
                   "  /home/u/f: sha256:" H " 0600 1000:1000\n"
                   "  /var/mail: dir 2775 0:8\n";
  struct reg_template *t = parse_ok (in);
  assert_int_equal (t->files[0].kind, REG_ENTRY_EXEC);
  assert_string_equal (t->files[0].value, H "+0755-0-0-" CAP);
  assert_string_equal (t->files[1].value, H "+4755-0-0");
  assert_int_equal (t->files[2].kind, REG_ENTRY_FILE);
  assert_string_equal (t->files[2].value, H "+0600-1000-1000");
  char *text = reg_template_serialize (t);
  assert_string_equal (text, in);
  free (text);
  reg_template_free (t);
  const char *need = "template a@1: files with a mode, owner or capability (sha256:<hex> MODE "
                     "UID:GID) and set-ID directories need format: '4' (an older engine would "
                     "refuse them)";
  parse_bad ("name: a\nversion: '1'\nformat: '3'\nfiles: {/s: 'sha256:" H " 4755 0:0'}\n", need);
  parse_bad ("name: a\nversion: '1'\nformat: '3'\nfiles: {/d: 'dir 4755'}\n", need);
  static const char *const bad[] = {
    " 0644 0:0",               /* the default attributes: sha256:HEX */
    " 0755 0:0",               /* the same, executable: sha256:HEX+x */
    " 644 0:0",                /* three digits */
    " 0644 1000",              /* no group */
    " 0644 01:0",              /* leading zero */
    " 0644 4294967295:0",      /* out of range */
    " 0644 a:0",               /* a name */
    " 0755 0:0 cap=ff",        /* short */
    " 0755 0:0 cap=" CAP " x", /* trailing */
    " 0755 0:0 cap=0100000300200000000000000000000000000000", /* revision 3 */
    "  4755 0:0",                                             /* two spaces */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      char *doc = NULL, *want = NULL;
      assert_true (asprintf (&doc,
                             "name: a\nversion: '1'\nformat: '4'\nfiles: {/f: 'sha256:%s%s'}\n", H,
                             bad[i])
                   > 0);
      assert_true (asprintf (&want,
                             "template a@1: files \"/f\": \"sha256:%s%s\" is not sha256:<hex> "
                             "MODE UID:GID [cap=<40 hex>]",
                             H, bad[i])
                   > 0);
      struct reg_template *t2 = NULL;
      struct reg_error *err = NULL;
      if (reg_template_parse (doc, strlen (doc), "test", &t2, &err) == 0)
        fail_msg ("accepted: %s", doc);
      if (strncmp (err->msg, want, strlen (want)) != 0)
        fail_msg ("got \"%s\"\nwant \"%s…\"", err->msg, want);
      reg_error_free (err);
      free (doc);
      free (want);
    }
#undef H
#undef CAP
}

static void
test_digest (void **state)
{
  struct reg_template *t = parse_ok (good);
  char d1[65], d2[65];
  digest_of (t, d1);
  digest_of (t, d2);
  assert_string_equal (d1, d2);
  assert_true (reg_util_is_sha256_hex (d1));
  /* It is the SHA-256 of the canonical text. */
  unsigned char md[32];
  char hex[65];
  assert_int_equal (
      EVP_Digest (good_canonical, strlen (good_canonical), md, NULL, EVP_sha256 (), NULL), 1);
  reg_util_hex (md, 32, hex);
  assert_string_equal (d1, hex);
  /* The same content in another layout has the same digest. */
  const char *other
      = "libs:\n  libc@6:\n    object: sha256:" HEX_A "\n    path: /usr/lib/libc.so.6\n"
        "files:\n  /usr/lib/python3.11/empty: dir\n"
        "  /usr/lib/python3.11/os.py: \"sha256:" HEX_B "\"\n"
        "  /usr/bin/python3.11: sha256:" HEX_A "+x\n"
        "  /usr/bin/python3: '-> python3.11'\n"
        "env:\n  ZED: z\n  A1: one\n  LANG: C.UTF-8\n  A: a\n"
        "entrypoint:\n  - /usr/bin/python3\n  - -u\n"
        "requires:\n  - base@1\n"
        "version: \"3.11.2\"\nname: py # comment\n";
  struct reg_template *t2 = parse_ok (other);
  digest_of (t2, d2);
  assert_string_equal (d1, d2);
  reg_template_free (t2);
  reg_template_free (t);
}

/* Any change to any field changes the digest. */
static void
test_digest_changes (void **state)
{
  static const struct
  {
    const char *from, *to;
  } edits[] = {
    { "name: py", "name: pz" },
    { "version: 3.11.2", "version: 3.11.3" },
    { "requires: [base@1]", "requires: [base@2]" },
    { "requires: [base@1]", "requires: [base@1, other@1]" },
    { "requires: [base@1]\n", "" },
    { "entrypoint: [/usr/bin/python3, -u]", "entrypoint: [/usr/bin/python3]" },
    { "entrypoint: [/usr/bin/python3, -u]", "entrypoint: [/usr/bin/python3, -v]" },
    { "entrypoint: [/usr/bin/python3, -u]\n", "" },
    { "ZED: z", "ZED: y" },
    { "ZED: z", "ZEE: z" },
    { "env: {ZED: z, LANG: C.UTF-8, A1: one, A: a}\n", "" },
    { "/usr/bin/python3: -> python3.11", "/usr/bin/python3: -> python3.12" },
    { "/usr/bin/python3: -> python3.11", "/usr/bin/python4: -> python3.11" },
    { "/usr/bin/python3: -> python3.11", "/usr/bin/python3: dir" },
    { HEX_A "+x\n", HEX_A "\n" },
    { HEX_A "+x\n", HEX_B "+x\n" },
    { "  /usr/lib/python3.11/empty: dir\n", "" },
    { "libc@6", "libc@7" },
    { "/usr/lib/libc.so.6", "/usr/lib/libc.so.7" },
    { "object: 'sha256:" HEX_A "'", "object: 'sha256:" HEX_B "'" },
    { "object: 'sha256:" HEX_A "'", "object: 'sha256:" HEX_A "+x'" },
  };
  size_t n = sizeof edits / sizeof edits[0];
  char digests[sizeof edits / sizeof edits[0] + 1][65];
  struct reg_template *t = parse_ok (good);
  digest_of (t, digests[n]);
  reg_template_free (t);
  for (size_t i = 0; i < n; i++)
    {
      char text[2048];
      const char *at = strstr (good, edits[i].from);
      assert_non_null (at);
      snprintf (text, sizeof text, "%.*s%s%s", (int)(at - good), good, edits[i].to,
                at + strlen (edits[i].from));
      t = parse_ok (text);
      digest_of (t, digests[i]);
      reg_template_free (t);
      for (size_t j = 0; j < i; j++)
        if (strcmp (digests[i], digests[j]) == 0)
          fail_msg ("edits %zu and %zu give one digest", i, j);
      if (strcmp (digests[i], digests[n]) == 0)
        fail_msg ("edit %zu (%s -> %s) leaves the digest unchanged", i, edits[i].from, edits[i].to);
    }
}

/* A template built in memory, in no order: normalize sorts it, and the
 * serialization is canonical even before. */
static struct reg_template *
unsorted_template (void)
{
  struct reg_template *t = calloc (1, sizeof *t);
  t->name = strdup ("py");
  t->version = strdup ("3.11.2");
  char *req[] = { "base@1", NULL };
  char *ep[] = { "/usr/bin/python3", "-u", NULL };
  char *env[] = { "ZED=z", "A1=one", "LANG=C.UTF-8", "A=a", NULL };
  t->requires = reg_strv_dup (req);
  t->entrypoint = reg_strv_dup (ep);
  t->env = reg_strv_dup (env);
  t->n_files = 4;
  t->files = calloc (4, sizeof *t->files);
  t->files[0]
      = (struct reg_entry){ strdup ("/usr/lib/python3.11/os.py"), REG_ENTRY_FILE, strdup (HEX_B) };
  t->files[1] = (struct reg_entry){ strdup ("/usr/lib/python3.11/empty"), REG_ENTRY_DIR, NULL };
  t->files[2]
      = (struct reg_entry){ strdup ("/usr/bin/python3.11"), REG_ENTRY_EXEC, strdup (HEX_A) };
  t->files[3]
      = (struct reg_entry){ strdup ("/usr/bin/python3"), REG_ENTRY_SYMLINK, strdup ("python3.11") };
  t->n_libs = 1;
  t->libs = calloc (1, sizeof *t->libs);
  t->libs[0].name = strdup ("libc@6");
  t->libs[0].entry
      = (struct reg_entry){ strdup ("/usr/lib/libc.so.6"), REG_ENTRY_FILE, strdup (HEX_A) };
  return t;
}

static void
test_normalize (void **state)
{
  struct reg_template *t = unsorted_template ();
  char *text = reg_template_serialize (t);
  assert_string_equal (text, good_canonical);
  free (text);
  struct reg_error *err = NULL;
  assert_int_equal (reg_template_normalize (t, &err), 0);
  struct reg_template *parsed = parse_ok (good);
  assert_template_equal (t, parsed);
  reg_template_free (parsed);
  /* Two entries for one destination, across files and libs. */
  free (t->libs[0].entry.path);
  t->libs[0].entry.path = strdup ("/usr/bin/python3.11");
  assert_int_equal (reg_template_normalize (t, &err), -1);
  assert_int_equal (err->code, EINVAL);
  assert_string_equal (err->msg, "template py@3.11.2: two entries for \"/usr/bin/python3.11\"");
  reg_error_free (err);
  err = NULL;
  reg_template_free (t);
  /* Two entries in files. */
  t = unsorted_template ();
  free (t->files[1].path);
  t->files[1].path = strdup ("/usr/bin/python3");
  assert_int_equal (reg_template_normalize (t, &err), -1);
  assert_string_equal (err->msg, "template py@3.11.2: two entries for \"/usr/bin/python3\"");
  reg_error_free (err);
  err = NULL;
  reg_template_free (t);
  /* One env variable twice. */
  t = unsorted_template ();
  free (t->env[0]);
  t->env[0] = strdup ("A=other");
  assert_int_equal (reg_template_normalize (t, &err), -1);
  assert_string_equal (err->msg, "template py@3.11.2: env \"A\" set twice");
  reg_error_free (err);
  reg_template_free (t);
}

/* ---- repository ---- */

struct repo
{
  char root[64];
  struct reg_store *store;
  char obj[65];  /* a plain object */
  char exec[65]; /* an object stored only as its executable variant */
};

static int
repo_setup (void **state)
{
  struct repo *r = calloc (1, sizeof *r);
  strcpy (r->root, "/tmp/reg-test-template-XXXXXX");
  assert_non_null (mkdtemp (r->root));
  struct reg_error *err = NULL;
  if (reg_store_open (r->root, &r->store, &err) < 0
      || reg_store_put_bytes (r->store, "content", 7, false, r->obj, NULL, &err) < 0
      || reg_store_put_bytes (r->store, "#!/bin/sh\n", 10, true, r->exec, NULL, &err) < 0)
    fail_msg ("store: %s", err->msg);
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
    fail_msg ("parse: %s", (*err)->msg);
  int ret = reg_template_save (r->root, r->store, t, err);
  reg_template_free (t);
  return ret;
}

static void
save_ok (struct repo *r, const char *text)
{
  struct reg_error *err = NULL;
  if (save_text (r, text, &err) < 0)
    fail_msg ("save: %s", err->msg);
}

/* The save must fail with `code` and exactly `want`. */
static void
save_bad (struct repo *r, const char *text, int code, const char *want)
{
  struct reg_error *err = NULL;
  if (save_text (r, text, &err) == 0)
    fail_msg ("saved: %s", text);
  if (strcmp (err->msg, want) != 0)
    fail_msg ("got  \"%s\"\nwant \"%s\"", err->msg, want);
  assert_int_equal (err->code, code);
  reg_error_free (err);
}

static char *
listing (struct repo *r)
{
  char **refs = NULL;
  assert_int_equal (reg_template_list (r->root, &refs, NULL), 0);
  assert_non_null (refs);
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&out, &len);
  for (size_t i = 0; refs[i]; i++)
    fprintf (f, "%s ", refs[i]);
  fclose (f);
  reg_strv_free (refs);
  return out;
}

/* Everything under <root>/templates: path, mode, content. */
static FILE *snap_out;
static size_t snap_skip;

static int
snap_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  fprintf (snap_out, "%s %o\n", path + snap_skip, (unsigned)st->st_mode);
  if (flag == FTW_F)
    {
      char *text = NULL;
      size_t len = 0;
      assert_int_equal (reg_util_read_file (path, 1 << 24, &text, &len, NULL), 0);
      fprintf (snap_out, "%s\n", text);
      free (text);
    }
  return 0;
}

static char *
snapshot (struct repo *r)
{
  char dir[128];
  snprintf (dir, sizeof dir, "%s/templates", r->root);
  char *out = NULL;
  size_t len = 0;
  snap_out = open_memstream (&out, &len);
  snap_skip = strlen (r->root);
  if (access (dir, F_OK) == 0)
    assert_int_equal (nftw (dir, snap_one, 16, FTW_PHYS), 0);
  else
    fprintf (snap_out, "no templates directory\n");
  fclose (snap_out);
  return out;
}

static void
test_repo_empty (void **state)
{
  struct repo *r = *state;
  char **refs = NULL;
  assert_int_equal (reg_template_list (r->root, &refs, NULL), 0);
  assert_non_null (refs);
  assert_null (refs[0]);
  reg_strv_free (refs);
}

static void
test_repo_save_load_list_remove (void **state)
{
  struct repo *r = *state;
  char text[1024];
  snprintf (text, sizeof text,
            "name: base\nversion: \"1\"\nenv: {B: b, A: a}\nfiles:\n  /sh: sha256:%s+x\n"
            "  /f: sha256:%s\n  /d: dir\n  /l: -> f\n"
            "libs:\n  libc@6: {path: /lib/libc.so.6, object: 'sha256:%s'}\n",
            r->exec, r->obj, r->obj);
  save_ok (r, text);
  save_ok (r, "name: app\nversion: \"2\"\nrequires: [base@1]\n");
  save_ok (r, "name: app\nversion: \"10\"\n");
  char *l = listing (r);
  assert_string_equal (l, "app@10 app@2 base@1 ");
  free (l);
  /* Stored in canonical form; directories root-only. */
  char path[256];
  snprintf (path, sizeof path, "%s/templates/base/1.ret", r->root);
  char *stored = NULL;
  size_t len = 0;
  assert_int_equal (reg_util_read_file (path, 1 << 20, &stored, &len, NULL), 0);
  struct reg_template *orig = parse_ok (text);
  char *canonical = reg_template_serialize (orig);
  assert_string_equal (stored, canonical);
  free (stored);
  free (canonical);
  struct stat st;
  snprintf (path, sizeof path, "%s/templates/base", r->root);
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0700);
  snprintf (path, sizeof path, "%s/templates", r->root);
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0700);
  /* Load gives back the same template. */
  struct reg_template *t = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_template_load (r->root, "base@1", &t, &err), 0);
  assert_template_equal (orig, t);
  reg_template_free (t);
  reg_template_free (orig);
  assert_int_equal (reg_template_load (r->root, "nothere@1", &t, &err), -1);
  assert_null (t);
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
  /* Another version of the name stays, and so does its directory. */
  snprintf (path, sizeof path, "%s/templates/app", r->root);
  assert_int_equal (access (path, F_OK), 0);
  assert_int_equal (reg_template_remove (r->root, "base@1", &err), 0);
  assert_int_equal (reg_template_remove (r->root, "base@1", &err), -1);
  assert_int_equal (err->code, ENOENT);
  assert_string_equal (err->msg, "template base@1: not found");
  reg_error_free (err);
  err = NULL;
  l = listing (r);
  assert_string_equal (l, "app@10 ");
  free (l);
  snprintf (path, sizeof path, "%s/templates/base", r->root);
  assert_int_equal (access (path, F_OK), -1); /* empty name directory removed */
  assert_int_equal (reg_template_remove (r->root, "app@10", &err), 0);
  l = listing (r);
  assert_string_equal (l, "");
  free (l);
}

static void
test_repo_save_replaces (void **state)
{
  struct repo *r = *state;
  save_ok (r, "name: a\nversion: \"1\"\nenv: {X: old}\n");
  save_ok (r, "name: a\nversion: \"1\"\nenv: {X: new}\n");
  struct reg_template *t = NULL;
  assert_int_equal (reg_template_load (r->root, "a@1", &t, NULL), 0);
  assert_string_equal (t->env[0], "X=new");
  reg_template_free (t);
  char *l = listing (r);
  assert_string_equal (l, "a@1 ");
  free (l);
}

static void
test_repo_missing_objects (void **state)
{
  struct repo *r = *state;
  char *before = snapshot (r);
  assert_non_null (strstr (before, "no templates directory"));
  char text[512], want[512];
  /* An object that is not in the store at all. */
  save_bad (r, HEAD "files:\n  /bin/sh: sha256:" HEX_A "\n", ENOENT,
            "template a@1: file \"/bin/sh\": object sha256:" HEX_A " not in store");
  /* In the store, but only as the other variant. */
  snprintf (text, sizeof text, HEAD "files:\n  /x: sha256:%s+x\n", r->obj);
  snprintf (want, sizeof want, "template a@1: file \"/x\": object sha256:%s+x not in store",
            r->obj);
  save_bad (r, text, ENOENT, want);
  snprintf (text, sizeof text, HEAD "files:\n  /x: sha256:%s\n", r->exec);
  snprintf (want, sizeof want, "template a@1: file \"/x\": object sha256:%s not in store", r->exec);
  save_bad (r, text, ENOENT, want);
  snprintf (text, sizeof text,
            HEAD "files:\n  /x: sha256:%s\nlibs:\n  libz@1: {path: /lib/libz.so.1, object: "
                 "'sha256:" HEX_B "+x'}\n",
            r->obj);
  save_bad (r, text, ENOENT, "template a@1: lib libz@1: object sha256:" HEX_B "+x not in store");
  char *after = snapshot (r);
  assert_string_equal (before, after);
  free (before);
  free (after);
  /* The same checks through reg_template_check_objects. */
  snprintf (text, sizeof text,
            HEAD "files:\n  /x: sha256:%s\n  /y: sha256:%s+x\n  /l: -> x\n"
                 "  /d: dir\n",
            r->obj, r->exec);
  struct reg_template *t = parse_ok (text);
  assert_int_equal (reg_template_check_objects (t, r->store, NULL), 0);
  t->files[3].kind = REG_ENTRY_FILE; /* /y, now the plain variant */
  struct reg_error *err = NULL;
  assert_int_equal (reg_template_check_objects (t, r->store, &err), -1);
  snprintf (want, sizeof want, "template a@1: file \"/y\": object sha256:%s not in store", r->exec);
  assert_string_equal (err->msg, want);
  assert_int_equal (err->code, ENOENT);
  reg_error_free (err);
  reg_template_free (t);
}

static void
test_repo_missing_requires (void **state)
{
  struct repo *r = *state;
  save_ok (r, "name: b\nversion: \"2\"\n");
  char *before = snapshot (r);
  save_bad (r, HEAD "requires: [b@2, c@3]\n", ENOENT,
            "template a@1: requires c@3, which is not installed");
  char *after = snapshot (r);
  assert_string_equal (before, after);
  free (after);
  free (before);
  /* Through another template (its requirement removed behind our back). */
  save_ok (r, "name: c\nversion: \"3\"\n");
  save_ok (r, "name: b\nversion: \"2\"\nrequires: [c@3]\n");
  char path[256];
  snprintf (path, sizeof path, "%s/templates/c/3.ret", r->root);
  assert_int_equal (unlink (path), 0);
  save_bad (r, HEAD "requires: [b@2]\n", ENOENT,
            "template a@1: requires b@2, which requires c@3, which is not installed");
}

static void
test_repo_cycles (void **state)
{
  struct repo *r = *state;
  char *before = snapshot (r);
  save_bad (r, HEAD "requires: [a@1]\n", EINVAL, "template a@1: cyclic requires: a@1 -> a@1");
  char *after = snapshot (r);
  assert_string_equal (before, after); /* not even the templates directory */
  free (before);
  free (after);
  /* a@1 -> b@2 -> a@1: a@1 saved first, b@2 requiring it, then a@1
   * re-saved requiring b@2. */
  save_ok (r, HEAD);
  save_ok (r, "name: b\nversion: \"2\"\nrequires: [a@1]\n");
  before = snapshot (r);
  save_bad (r, HEAD "requires: [b@2]\n", EINVAL,
            "template a@1: cyclic requires: a@1 -> b@2 -> a@1");
  /* A longer one, through a template that is reached twice. */
  save_ok (r, "name: c\nversion: \"3\"\nrequires: [b@2]\n");
  free (before);
  before = snapshot (r);
  save_bad (r, HEAD "requires: [b@2, c@3]\n", EINVAL,
            "template a@1: cyclic requires: a@1 -> b@2 -> a@1");
  save_bad (r, HEAD "requires: [c@3]\n", EINVAL,
            "template a@1: cyclic requires: a@1 -> c@3 -> b@2 -> a@1");
  after = snapshot (r);
  assert_string_equal (before, after); /* a@1 unchanged on disk */
  free (before);
  free (after);
}

static void
test_repo_failed_write_leaves_nothing (void **state)
{
  struct repo *r = *state;
  save_ok (r, HEAD);
  /* templates/zz is a file, so templates/zz/1.ret cannot be written. */
  char path[256];
  snprintf (path, sizeof path, "%s/templates/zz", r->root);
  assert_int_equal (reg_util_write_atomic (path, "x", 1, 0600, NULL), 0);
  char *before = snapshot (r);
  struct reg_error *err = NULL;
  assert_int_equal (save_text (r, "name: zz\nversion: \"1\"\n", &err), -1);
  assert_non_null (strstr (err->msg, "template zz@1: write "));
  reg_error_free (err);
  char *after = snapshot (r);
  assert_string_equal (before, after);
  free (before);
  free (after);
}

/* A write that fails after save made the directories takes them back:
 * with a file size limit of 0 every write fails (EFBIG), even for root. */
static void
test_repo_failed_write_removes_new_dirs (void **state)
{
  struct repo *r = *state;
  char *before = snapshot (r); /* no templates directory yet */
  struct rlimit old, none = { 0, 0 };
  assert_int_equal (getrlimit (RLIMIT_FSIZE, &old), 0);
  none.rlim_max = old.rlim_max;
  void (*old_handler) (int) = signal (SIGXFSZ, SIG_IGN);
  assert_int_equal (setrlimit (RLIMIT_FSIZE, &none), 0);
  struct reg_error *err = NULL;
  int ret = save_text (r, HEAD, &err);
  assert_int_equal (setrlimit (RLIMIT_FSIZE, &old), 0);
  signal (SIGXFSZ, old_handler);
  assert_int_equal (ret, -1);
  assert_int_equal (err->code, EFBIG);
  assert_non_null (strstr (err->msg, "template a@1: write "));
  reg_error_free (err);
  char *after = snapshot (r);
  assert_string_equal (before, after);
  free (before);
  free (after);
}

/* A template built in memory gets the parser's checks when saved. */
static void
test_repo_save_validates (void **state)
{
  struct repo *r = *state;
  char *before = snapshot (r);
  struct reg_template *t = unsorted_template ();
  free (t->files[0].path);
  t->files[0].path = strdup ("/usr/lib/../os.py");
  struct reg_error *err = NULL;
  assert_int_equal (reg_template_save (r->root, r->store, t, &err), -1);
  assert_int_equal (err->code, EINVAL);
  assert_string_equal (err->msg,
                       "template py@3.11.2: files: path \"/usr/lib/../os.py\" is not absolute and "
                       "normalized (no \"..\", \".\", \"//\" or trailing \"/\")");
  reg_error_free (err);
  err = NULL;
  reg_template_free (t);
  t = unsorted_template ();
  free (t->env[1]);
  t->env[1] = strdup ("NOVALUE");
  assert_int_equal (reg_template_save (r->root, r->store, t, &err), -1);
  assert_int_equal (err->code, EINVAL);
  assert_string_equal (err->msg, "template py@3.11.2: cannot be serialized (a field is missing, "
                                 "not valid or not UTF-8)");
  reg_error_free (err);
  err = NULL;
  reg_template_free (t);
  /* A file name that is not UTF-8 cannot be written as YAML. */
  t = unsorted_template ();
  free (t->files[0].path);
  t->files[0].path = strdup ("/usr/lib/\xff");
  assert_int_equal (reg_template_save (r->root, r->store, t, &err), -1);
  assert_int_equal (err->code, EINVAL);
  assert_string_equal (err->msg, "template py@3.11.2: cannot be serialized (a field is missing, "
                                 "not valid or not UTF-8)");
  reg_error_free (err);
  reg_template_free (t);
  char *after = snapshot (r);
  assert_string_equal (before, after);
  free (before);
  free (after);
}

static void
write_raw (struct repo *r, const char *name, const char *version, const char *text)
{
  char dir[256], path[300];
  snprintf (dir, sizeof dir, "%s/templates/%s", r->root, name);
  assert_int_equal (reg_util_mkdir_p (dir, 0700, NULL), 0);
  snprintf (path, sizeof path, "%s/%s.ret", dir, version);
  assert_int_equal (reg_util_write_atomic (path, text, strlen (text), 0644, NULL), 0);
}

static void
load_bad (struct repo *r, const char *ref, const char *want)
{
  struct reg_template *t = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_template_load (r->root, ref, &t, &err), -1);
  assert_null (t);
  if (strcmp (err->msg, want) != 0)
    fail_msg ("got  \"%s\"\nwant \"%s\"", err->msg, want);
  reg_error_free (err);
}

static void
test_load_checks (void **state)
{
  struct repo *r = *state;
  char want[512];
  write_raw (r, "x", "1", "name: y\nversion: \"1\"\n");
  snprintf (want, sizeof want, "template x@1: %s/templates/x/1.ret names y@1", r->root);
  load_bad (r, "x@1", want);
  write_raw (r, "x", "2", "name: x\nversion: \"2\"\nfoo: 1\n");
  load_bad (r, "x@2", "template x@2: unknown field \"foo\"");
  write_raw (r, "x", "3", "name: [x\n");
  snprintf (want, sizeof want,
            "template x@3: RET file %s/templates/x/3.ret: YAML error at line 2, column 1: did not "
            "find expected ',' or ']' while parsing a flow sequence",
            r->root);
  load_bad (r, "x@3", want);
  load_bad (r, "x", "template x: \"x\" is not NAME@VERSION");
  /* Listed, and removable although damaged. */
  char *l = listing (r);
  assert_string_equal (l, "x@1 x@2 x@3 ");
  free (l);
  assert_int_equal (reg_template_remove (r->root, "x@3", NULL), 0);
  assert_int_equal (reg_template_remove (r->root, "x@1", NULL), 0);
  l = listing (r);
  assert_string_equal (l, "x@2 ");
  free (l);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse_good),
    cmocka_unit_test (test_parse_minimal),
    cmocka_unit_test (test_stop_signal),
    cmocka_unit_test (test_bad_inputs),
    cmocka_unit_test (test_bad_yaml),
    cmocka_unit_test (test_deep_nesting_is_cheap),
    cmocka_unit_test (test_names),
    cmocka_unit_test (test_serialize_exact),
    cmocka_unit_test (test_round_trip),
    cmocka_unit_test (test_format2_accounts),
    cmocka_unit_test (test_format3_defaults),
    cmocka_unit_test (test_format4_attributes),
    cmocka_unit_test (test_digest),
    cmocka_unit_test (test_digest_changes),
    cmocka_unit_test (test_normalize),
    cmocka_unit_test_setup_teardown (test_repo_empty, repo_setup, repo_teardown),
    cmocka_unit_test_setup_teardown (test_repo_save_load_list_remove, repo_setup, repo_teardown),
    cmocka_unit_test_setup_teardown (test_repo_save_replaces, repo_setup, repo_teardown),
    cmocka_unit_test_setup_teardown (test_repo_missing_objects, repo_setup, repo_teardown),
    cmocka_unit_test_setup_teardown (test_repo_missing_requires, repo_setup, repo_teardown),
    cmocka_unit_test_setup_teardown (test_repo_cycles, repo_setup, repo_teardown),
    cmocka_unit_test_setup_teardown (test_repo_failed_write_leaves_nothing, repo_setup,
                                     repo_teardown),
    cmocka_unit_test_setup_teardown (test_repo_failed_write_removes_new_dirs, repo_setup,
                                     repo_teardown),
    cmocka_unit_test_setup_teardown (test_repo_save_validates, repo_setup, repo_teardown),
    cmocka_unit_test_setup_teardown (test_load_checks, repo_setup, repo_teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
