/* Unit tests of reg.yaml parsing: every key, overrides of forms (string
 * command), and each malformed input with the message naming file and key. */
#include "project.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct reg_project *
ok (const char *text)
{
  struct reg_project *p = NULL;
  struct reg_error *err = NULL;
  if (reg_project_parse (text, strlen (text), "/srv/app/reg.yaml", &p, &err) < 0)
    fail_msg ("rejected: %s", err->msg);
  return p;
}

static void
bad (const char *text, const char *want)
{
  struct reg_project *p = NULL;
  struct reg_error *err = NULL;
  if (reg_project_parse (text, strlen (text), "/srv/app/reg.yaml", &p, &err) == 0)
    fail_msg ("accepted: %s", text);
  assert_null (p);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("\"%s\" lacks \"%s\"", err->msg, want);
  assert_non_null (strstr (err->msg, "/srv/app/reg.yaml"));
  reg_error_free (err);
}

static void
test_full (void **state)
{
  struct reg_project *p = ok ("templates: [python@3.11, tools@1]\n"
                              "command: [/usr/bin/python3.11, app.py]\n"
                              "env: {GREETING: hello, MODE: prod}\n"
                              "workdir: /app/src\n"
                              "ports: [\"8080:80\", \"127.0.0.1:53:53/udp\"]\n"
                              "limits: {memory: 256m, memory_reservation: 128m, memory_swap: -1,\n"
                              "         cpus: 1.5, cpu_shares: 512, cpuset_cpus: \"0-1\",\n"
                              "         pids_limit: 100, blkio_weight: 500}\n"
                              "restart: on-failure:3\n"
                              "network: none\n"
                              "expose: [80, \"53/udp\"]\n");
  assert_string_equal (p->network, "none");
  assert_string_equal (p->expose[0], "80");
  assert_string_equal (p->expose[1], "53/udp");
  assert_string_equal (p->templates[1], "tools@1");
  assert_string_equal (p->command[1], "app.py");
  assert_string_equal (p->env[0], "GREETING=hello");
  assert_string_equal (p->workdir, "/app/src");
  assert_string_equal (p->ports[1], "127.0.0.1:53:53/udp");
  assert_int_equal (p->limits.memory, 256 << 20);
  assert_int_equal (p->limits.memory_reservation, 128 << 20);
  assert_int_equal (p->limits.memory_swap, -1);
  assert_int_equal (p->limits.nano_cpus, 1500000000);
  assert_int_equal (p->limits.cpu_shares, 512);
  assert_string_equal (p->limits.cpuset_cpus, "0-1");
  assert_int_equal (p->limits.pids_limit, 100);
  assert_int_equal (p->limits.blkio_weight, 500);
  assert_int_equal (p->restart.mode, REG_RESTART_ON_FAILURE);
  assert_int_equal (p->restart.max_retries, 3);
  reg_project_free (p);
}

static void
test_minimal_and_string_command (void **state)
{
  struct reg_project *p = ok ("templates: [base@1]\ncommand: /bin/sh -c  'x'\n");
  assert_null (p->workdir);
  assert_null (p->env);
  assert_string_equal (p->command[0], "/bin/sh");
  assert_string_equal (p->command[1], "-c");
  assert_int_equal (p->restart.mode, REG_RESTART_NO);
  reg_project_free (p);
}

static void
test_bad (void **state)
{
  bad ("templates: [a@1]\nimage: debian\n", "unknown field \"image\"");
  bad ("command: [x]\n", "templates: missing");
  bad ("templates: []\n", "must not be empty");
  bad ("templates: a@1\n", "must be a list of strings");
  bad ("templates: [a@1]\nenv: [X]\n", "env: must be a mapping");
  bad ("templates: [a@1]\nnetwork: [x]\n", "network: must be a string");
  bad ("templates: [a@1]\nnetwork: \"\"\n", "network: must not be empty");
  bad ("templates: [a@1]\nenv: {1X: y}\n", "variable name");
  bad ("templates: [a@1]\nworkdir: app\n", "workdir: must be an absolute path");
  bad ("templates: [a@1]\nlimits: {memory: 12XB}\n", "memory: bad value \"12XB\"");
  bad ("templates: [a@1]\nlimits: {cpus: -1}\n", "cpus: bad value \"-1\"");
  /* Found by fuzz_project: a huge value was cast to int64 (UB) before the
   * range check refused it. */
  bad ("templates: [a@1]\nlimits: {cpus: 1.11111e+125}\n", "cpus: bad value");
  /* Found by fuzz_project: a second cpuset_cpus leaked the first. */
  bad ("templates: [a@1]\nlimits: {cpuset_cpus: '0', cpuset_cpus: '1'}\n",
       "\"cpuset_cpus\" given twice");
  bad ("templates: [a@1]\nlimits: {swap: 1g}\n", "unknown limit \"swap\"");
  bad ("templates: [a@1]\nlimits: {memory: 1k}\n", "below the minimum");
  bad ("templates: [a@1]\nrestart: sometimes\n", "restart policy \"sometimes\"");
  bad ("templates: [a@1]\ntemplates: [b@1]\n", "given twice");
  bad ("templates: [a@1\n", "YAML error at line");
  bad ("- a\n", "top level must be a mapping");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_full),
    cmocka_unit_test (test_minimal_and_string_command),
    cmocka_unit_test (test_bad),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
