/* recipe: strict parsing of template recipes into import options. */
#include "recipe.h"
#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct reg_recipe *
parse_ok (const char *text)
{
  struct reg_recipe *r = NULL;
  struct reg_error *err = NULL;
  if (reg_recipe_parse (text, strlen (text), "r.yaml", &r, &err) < 0)
    fail_msg ("parse failed: %s", err->msg);
  return r;
}

static void
parse_bad (const char *text, const char *want)
{
  struct reg_recipe *r = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_recipe_parse (text, strlen (text), "r.yaml", &r, &err), -1);
  assert_null (r);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("\"%s\" lacks \"%s\"", err->msg, want);
  reg_error_free (err);
}

static void
test_good (void **state)
{
  (void)state;
  struct reg_recipe *r
      = parse_ok ("name: nginx\nversion: 1.22\npaths: [/usr/sbin/nginx, /etc/nginx]\n"
                  "exclude: ['*.bak']\ndirs: [/var/log/nginx, '/var/lib/x 0700 www-data']\n"
                  "users: [www-data]\ngroups: [adm]\nrequires: [base@1]\n"
                  "entrypoint: [/usr/sbin/nginx, -g, 'daemon off;']\nenv: {A: '1', B: x}\n"
                  "expose: [80, 53/udp]\n");
  struct reg_import_options o;
  reg_recipe_options (r, &o);
  assert_string_equal (o.name, "nginx");
  assert_string_equal (o.version, "1.22");
  assert_string_equal (o.paths[1], "/etc/nginx");
  assert_string_equal (o.entrypoint, "/usr/sbin/nginx");
  assert_string_equal (o.argv[2], "daemon off;");
  assert_string_equal (o.env[0], "A=1");
  assert_string_equal (o.expose[0], "80/tcp");
  assert_string_equal (o.expose[1], "53/udp");
  assert_string_equal (o.dirs[1], "/var/lib/x 0700 www-data");
  assert_string_equal (o.users[0], "www-data");
  assert_string_equal (o.exclude[0], "*.bak");
  reg_recipe_free (r);
  /* trace: paths may be left out. */
  r = parse_ok (
      "name: r\nversion: '7'\nstop_signal: SIGQUIT\ntrace:\n  command: [/usr/bin/redis-server]"
      "\n  timeout: 5\n  answer: '127.0.0.1:6379'\n  send: \"PING\\r\\n\"\n");
  reg_recipe_options (r, &o);
  assert_null (o.paths);
  assert_non_null (o.trace);
  assert_int_equal (o.trace->timeout_s, 5);
  assert_string_equal (o.trace->argv[0], "/usr/bin/redis-server");
  assert_string_equal (o.trace->answer, "127.0.0.1:6379");
  assert_string_equal (o.trace->send, "PING\r\n");
  assert_int_equal (o.stop_signal, 3);
  reg_recipe_free (r);
}

static void
test_bad (void **state)
{
  (void)state;
  parse_bad ("name: a\nversion: '1'\npaths: [/x]\nfoo: 1\n",
             "recipe r.yaml: unknown key \"foo\" (known: name, version, paths,");
  parse_bad ("name: a\nversion: '1'\n", "\"paths\" must name at least one");
  parse_bad ("version: '1'\npaths: [/x]\n", "recipe r.yaml: missing \"name\"");
  parse_bad ("name: a\nversion: '1'\npaths: [/x/../y]\n",
             "paths: \"/x/../y\" is not an absolute, normalized host path");
  parse_bad ("name: a\nversion: '1'\npaths: [x]\n", "paths: \"x\" is not an absolute");
  parse_bad ("name: a\nversion: '1'\npaths: /x\n", "\"paths\" must be a list of strings");
  parse_bad ("name: a\nversion: '1'\npaths: [/x]\npaths: [/y]\n", "duplicate key \"paths\"");
  parse_bad ("name: a\nversion: '1'\npaths: [/x]\nexpose: [0]\n", "expose: \"0/tcp\" is not");
  parse_bad ("name: a\nversion: '1'\npaths: [/x]\nexpose: [80/sctp]\n", "expose: \"80/sctp\"");
  parse_bad ("name: a\nversion: '1'\npaths: [/x]\nentrypoint: [run]\n",
             "\"entrypoint\" must be a list starting with an absolute program path");
  parse_bad ("name: a\nversion: '1'\npaths: [/x]\nexclude: [x*]\n",
             "exclude: \"x*\" must start with '/' or '*'");
  parse_bad ("name: a\nversion: '1'\npaths: [/x]\nenv: [A=1]\n",
             "\"env\" must be a mapping of NAME to value");
  parse_bad ("name: [a\n", "recipe r.yaml: YAML error at line");
  parse_bad ("- a\n", "recipe r.yaml: top level must be a mapping");
  parse_bad ("name: a\nversion: '1'\nstop_signal: NOPE\npaths: [/x]\n",
             "stop_signal \"NOPE\" is not a signal");
  parse_bad ("name: a\nversion: '1'\ntrace: {cmd: [x]}\n",
             "trace: unknown key \"cmd\" (known: command, timeout, stop_signal, answer, send)");
  parse_bad ("name: a\nversion: '1'\ntrace: {timeout: 5}\n",
             "trace: \"command\" must be a non-empty list");
  parse_bad ("name: a\nversion: '1'\ntrace: {command: [x], timeout: 0}\n",
             "trace: timeout \"0\" must be 1 to 3600");
  parse_bad ("name: a\nversion: '1'\ntrace: {command: [x], send: PING}\n",
             "trace: a request to send needs an answer address");
  parse_bad ("name: a\nversion: '1'\ntrace: {command: [x], answer: 'localhost'}\n",
             "trace: answer address \"localhost\" is not HOST:PORT");
  parse_bad ("name: &x a\nversion: *x\npaths: [/x]\n", "YAML aliases are not allowed");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_good),
    cmocka_unit_test (test_bad),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
