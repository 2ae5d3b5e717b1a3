/* Unit tests of --ulimit's parser (every error message), of signal names
 * both ways (--stop-signal, the RET file's stop-signal), and of the create
 * request's process fields (StopSignal, StopTimeout, Init, Ulimits). */
#include "request.h"
#include "ulimit.h"
#include "util.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

static void
ulimit_ok (const char *spec, int resource, int64_t soft, int64_t hard)
{
  struct reg_ulimit u;
  struct reg_error *err = NULL;
  if (reg_ulimit_parse (spec, &u, &err) < 0)
    fail_msg ("%s: %s", spec, err->msg);
  assert_int_equal (u.resource, resource);
  assert_int_equal (u.soft, soft);
  assert_int_equal (u.hard, hard);
}

static void
ulimit_bad (const char *spec, const char *want)
{
  struct reg_ulimit u;
  struct reg_error *err = NULL;
  if (reg_ulimit_parse (spec, &u, &err) == 0)
    fail_msg ("accepted: %s", spec);
  assert_int_equal (err->code, EINVAL);
  if (strcmp (err->msg, want) != 0)
    fail_msg ("for %s\ngot  \"%s\"\nwant \"%s\"", spec, err->msg, want);
  reg_error_free (err);
}

static void
test_ulimit_parse (void **state)
{
  ulimit_ok ("nofile=1024:2048", RLIMIT_NOFILE, 1024, 2048);
  ulimit_ok ("nofile=1024", RLIMIT_NOFILE, 1024, 1024);
  ulimit_ok ("core=-1", RLIMIT_CORE, -1, -1);
  ulimit_ok ("core=0:unlimited", RLIMIT_CORE, 0, -1);
  ulimit_ok ("nproc=unlimited:-1", RLIMIT_NPROC, -1, -1);
  ulimit_ok ("memlock=65536:65536", RLIMIT_MEMLOCK, 65536, 65536);
  ulimit_ok ("stack=8388608", RLIMIT_STACK, 8388608, 8388608);
  ulimit_ok ("rtprio=0", RLIMIT_RTPRIO, 0, 0);
  const char *names = " (core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, "
                      "rss, rtprio, rttime, sigpending, stack)";
  char want[512];
  snprintf (want, sizeof want, "ulimit \"nofle=1\": unknown limit \"nofle\"%s", names);
  ulimit_bad ("nofle=1", want);
  snprintf (want, sizeof want,
            "ulimit \"averyveryverylongname=1\": unknown limit "
            "\"averyveryverylongname\"%s",
            names);
  ulimit_bad ("averyveryverylongname=1", want);
  ulimit_bad ("nofile", "ulimit \"nofile\": want NAME=SOFT[:HARD] (e.g. nofile=1024:2048)");
  ulimit_bad ("=1", "ulimit \"=1\": want NAME=SOFT[:HARD] (e.g. nofile=1024:2048)");
  const char *num = "values must be whole numbers, -1 or \"unlimited\"";
  snprintf (want, sizeof want, "ulimit \"nofile=lots\": %s", num);
  ulimit_bad ("nofile=lots", want);
  snprintf (want, sizeof want, "ulimit \"nofile=\": %s", num);
  ulimit_bad ("nofile=", want);
  snprintf (want, sizeof want, "ulimit \"nofile=1:\": %s", num);
  ulimit_bad ("nofile=1:", want);
  snprintf (want, sizeof want, "ulimit \"nofile=-2\": %s", num);
  ulimit_bad ("nofile=-2", want);
  snprintf (want, sizeof want, "ulimit \"nofile=1:2:3\": %s", num);
  ulimit_bad ("nofile=1:2:3", want);
  snprintf (want, sizeof want, "ulimit \"nofile=1234567890123456789\": %s", num);
  ulimit_bad ("nofile=1234567890123456789", want);
  ulimit_bad ("nofile=10:5", "ulimit \"nofile=10:5\": the soft limit is above the hard limit");
  ulimit_bad ("nofile=-1:5", "ulimit \"nofile=-1:5\": the soft limit is above the hard limit");
  assert_string_equal (reg_ulimit_name (RLIMIT_NOFILE), "nofile");
  assert_int_equal (reg_ulimit_resource ("sigpending"), RLIMIT_SIGPENDING);
  assert_int_equal (reg_ulimit_resource ("as"), -1); /* not one of Docker's names */
}

static void
test_signal_names (void **state)
{
  char buf[REG_SIGNAL_NAME_MAX];
  for (int sig = 1; sig <= SIGRTMAX; sig++)
    {
      if (sig > SIGSYS && sig < SIGRTMIN)
        continue; /* glibc's own */
      assert_int_equal (reg_util_signal_number (reg_util_signal_name (sig, buf)), sig);
    }
  assert_string_equal (reg_util_signal_name (SIGTERM, buf), "SIGTERM");
  assert_string_equal (reg_util_signal_name (SIGRTMIN + 3, buf), "SIGRTMIN+3");
  assert_int_equal (reg_util_signal_number ("term"), SIGTERM);
  assert_int_equal (reg_util_signal_number ("SIGRTMAX-1"), SIGRTMAX - 1);
  assert_int_equal (reg_util_signal_number ("RTMIN"), SIGRTMIN);
  assert_int_equal (reg_util_signal_number ("RTMIN+99"), 0);
  assert_int_equal (reg_util_signal_number ("RTMIN-1"), 0);
  assert_int_equal (reg_util_signal_number ("RTMIN+"), 0);
  assert_int_equal (reg_util_signal_number ("SIGNOPE"), 0);
  assert_int_equal (reg_util_signal_number ("0"), 0);
  assert_int_equal (reg_util_signal_number (""), 0);
}

static void
request_bad (const char *body, const char *want)
{
  struct reg_create_request *r = NULL;
  struct reg_error *err = NULL;
  if (reg_request_create_parse (body, strlen (body), &r, &err) == 0)
    fail_msg ("accepted: %s", body);
  assert_null (r);
  assert_int_equal (err->code, EINVAL);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("for %s\ngot  \"%s\"\nwant \"%s\"", body, err->msg, want);
  reg_error_free (err);
}

static void
test_request_process (void **state)
{
  const char *body = "{\"Templates\": [\"a@1\"], \"StopSignal\": \"quit\", \"StopTimeout\": 0, "
                     "\"Init\": true, \"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 10, "
                     "\"Hard\": -1}, {\"Name\": \"core\", \"Soft\": 0, \"Hard\": 0}]}";
  struct reg_create_request *r = NULL;
  assert_int_equal (reg_request_create_parse (body, strlen (body), &r, NULL), 0);
  assert_int_equal (r->o.stop_signal, SIGQUIT);
  assert_int_equal (r->o.stop_timeout, 0);
  assert_true (r->o.init);
  assert_int_equal (r->o.n_ulimits, 2);
  assert_int_equal (r->o.ulimits[0].resource, RLIMIT_NOFILE);
  assert_int_equal (r->o.ulimits[0].hard, -1);
  assert_int_equal (r->o.ulimits[1].resource, RLIMIT_CORE);
  reg_request_create_free (r);
  /* Absent: the defaults. */
  body = "{\"Templates\": [\"a@1\"], \"StopTimeout\": null}";
  assert_int_equal (reg_request_create_parse (body, strlen (body), &r, NULL), 0);
  assert_int_equal (r->o.stop_signal, 0);
  assert_int_equal (r->o.stop_timeout, -1);
  assert_false (r->o.init);
  assert_int_equal (r->o.n_ulimits, 0);
  reg_request_create_free (r);
  request_bad ("{\"StopSignal\": \"NOPE\"}", "stop signal \"NOPE\" is not a signal");
  request_bad ("{\"StopSignal\": 15}", "\"StopSignal\" must be a string");
  request_bad ("{\"StopTimeout\": -1}", "StopTimeout must be 0-86400 seconds");
  request_bad ("{\"StopTimeout\": 86401}", "StopTimeout must be 0-86400 seconds");
  request_bad ("{\"StopTimeout\": \"10\"}", "StopTimeout must be 0-86400 seconds");
  request_bad ("{\"Init\": 1}", "Init must be true or false");
  request_bad ("{\"Ulimits\": {}}", "\"Ulimits\" must be an array of at most 16");
  request_bad ("{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 1}]}",
               "each ulimit needs a string Name and integer Soft and Hard");
  request_bad ("{\"Ulimits\": [{\"Name\": \"nofle\", \"Soft\": 1, \"Hard\": 1}]}",
               "unknown limit \"nofle\"");
  request_bad ("{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 2, \"Hard\": 1}]}",
               "the soft limit is above the hard limit");
  request_bad ("{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": -5, \"Hard\": 1}]}",
               "values must be whole numbers");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ulimit_parse),
    cmocka_unit_test (test_signal_names),
    cmocka_unit_test (test_request_process),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
