/* Unit tests of health.h: Docker's durations, the Healthcheck JSON (every
 * refusal), the status machine (retries, start period, the log of 5) and
 * the state's JSON both ways. */
#include "health.h"
#include "request.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void
duration_ok (const char *s, int64_t want)
{
  int64_t ns = -7;
  struct reg_error *err = NULL;
  if (reg_health_duration_parse ("d", s, &ns, &err) < 0)
    fail_msg ("%s: %s", s, err->msg);
  assert_int_equal (ns, want);
}

static void
duration_bad (const char *s)
{
  int64_t ns = 0;
  struct reg_error *err = NULL;
  if (reg_health_duration_parse ("--health-interval", s, &ns, &err) == 0)
    fail_msg ("accepted: %s", s);
  assert_int_equal (err->code, EINVAL);
  assert_non_null (strstr (err->msg, "--health-interval: "));
  reg_error_free (err);
}

static void
test_durations (void **state)
{
  duration_ok ("0", 0);
  duration_ok ("1s", 1000000000LL);
  duration_ok ("500ms", 500000000LL);
  duration_ok ("1m30s", 90000000000LL);
  duration_ok ("1.5h", 5400000000000LL);
  duration_ok ("250us", 250000LL);
  duration_ok ("10ns", 10);
  duration_bad ("");
  duration_bad ("10");
  duration_bad ("5parsecs");
  duration_bad ("-1s");
  duration_bad ("1s ");
  duration_bad ("s");
  duration_bad ("1e400h");
}

static int
parse (const char *json, struct reg_healthcheck *h, struct reg_error **err)
{
  json_t *j = json_loads (json, 0, NULL);
  assert_non_null (j);
  memset (h, 0, sizeof *h);
  int r = reg_health_check_from_json (j, "create container", true, h, err);
  json_decref (j);
  return r;
}

static void
check_bad (const char *json, const char *want)
{
  struct reg_healthcheck h;
  struct reg_error *err = NULL;
  if (parse (json, &h, &err) == 0)
    fail_msg ("accepted: %s", json);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("for %s\ngot  \"%s\"\nwant \"%s\"", json, err->msg, want);
  reg_error_free (err);
  reg_health_check_clear (&h);
}

static void
test_healthcheck_json (void **state)
{
  struct reg_healthcheck h;
  struct reg_error *err = NULL;
  assert_int_equal (parse ("{\"Test\": [\"CMD-SHELL\", \"true\"], \"Interval\": 1000000, "
                           "\"Timeout\": 2000000000, \"Retries\": 2, \"StartPeriod\": 5}",
                           &h, &err),
                    0);
  assert_true (reg_health_enabled (&h));
  assert_int_equal (reg_health_interval (&h), 1000000);
  assert_int_equal (reg_health_timeout (&h), 2000000000LL);
  assert_int_equal (reg_health_retries (&h), 2);
  json_t *back = reg_health_check_to_json (&h);
  assert_int_equal (json_integer_value (json_object_get (back, "StartPeriod")), 5);
  assert_string_equal (json_string_value (json_array_get (json_object_get (back, "Test"), 1)),
                       "true");
  json_decref (back);
  reg_health_check_clear (&h);
  assert_int_equal (parse ("{\"Test\": [\"NONE\"]}", &h, &err), 0);
  assert_false (reg_health_enabled (&h));
  reg_health_check_clear (&h);
  assert_int_equal (parse ("{\"Test\": [\"HTTP-GET\", \"/a\", \"8080\", \"0\"]}", &h, &err), 0);
  assert_int_equal (reg_health_interval (&h), REG_HEALTH_INTERVAL_NS);
  assert_int_equal (reg_health_retries (&h), REG_HEALTH_RETRIES);
  reg_health_check_clear (&h);
  check_bad ("{\"Test\": [\"CMD\"]}", "health check: CMD needs a command");
  check_bad ("{\"Test\": [\"CMD-SHELL\", \"a\", \"b\"]}", "CMD-SHELL needs a command");
  check_bad ("{\"Test\": [\"NONE\", \"x\"]}", "NONE takes no arguments");
  check_bad ("{\"Test\": [\"X\"]}",
             "test \"X\" is not CMD-SHELL, CMD, HTTP-GET, TCP-CONNECT or NONE");
  assert_int_equal (parse ("{\"Test\": [\"TCP-CONNECT\", \"5432\"]}", &h, &err), 0);
  assert_true (reg_health_enabled (&h));
  reg_health_check_clear (&h);
  check_bad ("{\"Test\": [\"TCP-CONNECT\"]}", "TCP-CONNECT wants");
  check_bad ("{\"Test\": [\"TCP-CONNECT\", \"80\", \"x\"]}", "TCP-CONNECT wants");
  check_bad ("{\"Test\": [\"TCP-CONNECT\", \"65536\"]}", "PORT 1-65535");
  check_bad ("{\"Test\": [\"TCP-CONNECT\", \"8o\"]}", "PORT 1-65535");
  check_bad ("{\"Test\": []}", "Healthcheck.Test must be a non-empty array of strings");
  check_bad ("{\"Test\": [1]}", "Healthcheck.Test must be an array of strings");
  check_bad ("{\"Test\": [\"HTTP-GET\", \"a\", \"80\", \"0\"]}", "HTTP-GET wants");
  check_bad ("{\"Test\": [\"HTTP-GET\", \"/a\", \"0\", \"0\"]}", "PORT 1-65535");
  check_bad ("{\"Test\": [\"HTTP-GET\", \"/a\", \"80\", \"99\"]}", "HTTP status \"99\"");
  check_bad ("{\"Test\": [\"CMD\", \"true\"], \"Retries\": -1}", "retries must not be negative");
  check_bad ("{\"Test\": [\"CMD\", \"true\"], \"Interval\": 5}", "interval must be at least 1ms");
  check_bad ("{\"Test\": [\"CMD\", \"true\"], \"Timeout\": -5}", "timeout must be at least 1ms");
  check_bad ("{\"Test\": [\"CMD\", \"true\"], \"StartPeriod\": -1}", "start period must not");
  check_bad ("{\"Test\": [\"CMD\", \"true\"], \"Interval\": \"1s\"}",
             "Healthcheck.Interval must be an integer");
  check_bad ("{\"Test\": [\"CMD\", \"true\"], \"Every\": 1}",
             "unknown field \"Healthcheck.Every\"");
}

/* A state file's check, which a newer version may have written: its
 * unknown fields are skipped, the rest read. */
static void
test_lenient_state (void **state)
{
  struct reg_healthcheck h = { 0 };
  json_t *j = json_loads ("{\"Test\": [\"CMD\", \"true\"], \"Every\": 1, \"Retries\": 4}", 0, NULL);
  assert_int_equal (reg_health_check_from_json (j, "state", false, &h, NULL), 0);
  assert_string_equal (h.test[1], "true");
  assert_int_equal (h.retries, 4);
  reg_health_check_clear (&h);
  json_decref (j);
}

/* The start interval: between checks while starting inside the start
 * period, the interval otherwise (and when none is set). */
static void
test_start_interval (void **state)
{
  struct reg_healthcheck h;
  struct reg_error *err = NULL;
  const int64_t s = 1000000000LL;
  assert_int_equal (parse ("{\"Test\": [\"CMD\", \"true\"], \"Interval\": 30000000000, "
                           "\"StartPeriod\": 10000000000, \"StartInterval\": 50000000}",
                           &h, &err),
                    0);
  assert_int_equal (reg_health_next_wait (&h, 0, REG_HEALTH_STARTING), 50000000);
  assert_int_equal (reg_health_next_wait (&h, 9 * s, REG_HEALTH_STARTING), 50000000);
  assert_int_equal (reg_health_next_wait (&h, 10 * s, REG_HEALTH_STARTING), 30 * s);
  assert_int_equal (reg_health_next_wait (&h, 1 * s, REG_HEALTH_HEALTHY), 30 * s);
  assert_int_equal (reg_health_next_wait (&h, 1 * s, REG_HEALTH_UNHEALTHY), 30 * s);
  json_t *back = reg_health_check_to_json (&h);
  assert_int_equal (json_integer_value (json_object_get (back, "StartInterval")), 50000000);
  json_decref (back);
  reg_health_check_clear (&h);
  /* None set: the interval, and no StartInterval in the JSON. */
  assert_int_equal (
      parse ("{\"Test\": [\"CMD\", \"true\"], \"StartPeriod\": 10000000000}", &h, &err), 0);
  assert_int_equal (reg_health_next_wait (&h, 0, REG_HEALTH_STARTING), REG_HEALTH_INTERVAL_NS);
  back = reg_health_check_to_json (&h);
  assert_null (json_object_get (back, "StartInterval"));
  json_decref (back);
  reg_health_check_clear (&h);
  check_bad ("{\"Test\": [\"CMD\", \"true\"], \"StartInterval\": 5}",
             "start interval must be at least 1ms");
}

static void
record (struct reg_health_state *s, int code, bool counted, int retries, bool changes)
{
  struct reg_health_result r = { "a", "b", code, "out" };
  assert_int_equal (reg_health_state_record (s, &r, counted, retries), changes);
}

static void
test_status_machine (void **state)
{
  struct reg_health_state s = { 0 };
  reg_health_state_reset (&s, true);
  assert_int_equal (s.status, REG_HEALTH_STARTING);
  record (&s, 1, false, 2, false); /* in the start period: not counted */
  assert_int_equal (s.failing_streak, 0);
  record (&s, 1, true, 2, false);
  assert_int_equal (s.failing_streak, 1);
  record (&s, 1, true, 2, true);
  assert_int_equal (s.status, REG_HEALTH_UNHEALTHY);
  assert_int_equal (s.failing_streak, 2);
  record (&s, 0, true, 2, true);
  assert_int_equal (s.status, REG_HEALTH_HEALTHY);
  assert_int_equal (s.failing_streak, 0);
  record (&s, -1, true, 2, false);
  record (&s, 0, true, 2, false);
  assert_int_equal (s.n_log, REG_HEALTH_LOG_MAX);
  assert_int_equal (s.log[REG_HEALTH_LOG_MAX - 1].exit_code, 0);
  assert_int_equal (s.log[REG_HEALTH_LOG_MAX - 2].exit_code, -1);
  json_t *j = reg_health_state_to_json (&s);
  assert_string_equal (json_string_value (json_object_get (j, "Status")), "healthy");
  assert_int_equal (json_array_size (json_object_get (j, "Log")), REG_HEALTH_LOG_MAX);
  struct reg_health_state back = { 0 };
  reg_health_state_from_json (j, &back);
  assert_int_equal (back.status, REG_HEALTH_HEALTHY);
  assert_int_equal (back.n_log, REG_HEALTH_LOG_MAX);
  assert_string_equal (back.log[0].output, "out");
  json_decref (j);
  reg_health_state_clear (&back);
  reg_health_state_reset (&s, false);
  assert_null (reg_health_state_to_json (&s));
}

static void
test_output_truncated (void **state)
{
  char *big = malloc (REG_HEALTH_OUTPUT_MAX * 2);
  memset (big, 'x', REG_HEALTH_OUTPUT_MAX * 2 - 1);
  big[REG_HEALTH_OUTPUT_MAX * 2 - 1] = '\0';
  struct reg_health_state s = { 0 };
  struct reg_health_result r = { "a", "b", 0, big };
  reg_health_state_record (&s, &r, true, 3);
  assert_int_equal (strlen (s.log[0].output), REG_HEALTH_OUTPUT_MAX);
  reg_health_state_clear (&s);
  free (big);
}

static void
test_request_field (void **state)
{
  const char *body = "{\"Templates\": [\"a@1\"], \"Healthcheck\": {\"Test\": [\"CMD\", \"true\"], "
                     "\"Retries\": 4}}";
  struct reg_create_request *r = NULL;
  struct reg_error *err = NULL;
  if (reg_request_create_parse (body, strlen (body), &r, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (r->o.healthcheck.retries, 4);
  assert_string_equal (r->o.healthcheck.test[1], "true");
  reg_request_create_free (r);
  body = "{\"Templates\": [\"a@1\"], \"Healthcheck\": {\"Test\": [\"CMD\"]}}";
  assert_int_equal (reg_request_create_parse (body, strlen (body), &r, &err), -1);
  assert_string_equal (err->msg, "create container: health check: CMD needs a command");
  reg_error_free (err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_durations),      cmocka_unit_test (test_healthcheck_json),
    cmocka_unit_test (test_start_interval), cmocka_unit_test (test_lenient_state),
    cmocka_unit_test (test_status_machine), cmocka_unit_test (test_output_truncated),
    cmocka_unit_test (test_request_field),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
