/* Unit tests of reg-hub's pure logic: password hashes (format, verify,
 * rehash on more iterations, damaged hashes refused), secrets, login
 * throttling, and what a device registration accepts (names, tcp:// URLs,
 * PEM CAs, tokens). */
#include "auth.h"
#include "regd_client.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void
test_hash_verify (void **state)
{
  struct reg_error *err = NULL;
  char *h = hub_auth_hash ("correct horse", HUB_PBKDF2_MIN_ITERATIONS, &err);
  assert_non_null (h);
  assert_int_equal (strncmp (h, "pbkdf2-sha256$600000$", 21), 0);
  assert_true (hub_auth_verify ("correct horse", h));
  assert_false (hub_auth_verify ("correct horsE", h));
  assert_false (hub_auth_verify ("", h));
  assert_false (hub_auth_needs_rehash (h, HUB_PBKDF2_MIN_ITERATIONS));
  assert_true (hub_auth_needs_rehash (h, 700000));
  /* Two hashes of one password differ (salt). */
  char *h2 = hub_auth_hash ("correct horse", HUB_PBKDF2_MIN_ITERATIONS, &err);
  assert_string_not_equal (h, h2);
  free (h);
  free (h2);
}

static void
test_hash_damaged (void **state)
{
  const char *bad[] = { "",
                        "plain",
                        "pbkdf2-sha256$",
                        "pbkdf2-sha256$0$AAAA$AAAA",
                        "pbkdf2-sha256$600000$notbase64$AAAA",
                        "md5$1$x$y",
                        "pbkdf2-sha256$600000$AAAAAAAAAAAAAAAAAAAAAA==$short",
                        NULL };
  for (int i = 0; bad[i]; i++)
    {
      assert_false (hub_auth_verify ("x", bad[i]));
      assert_true (hub_auth_needs_rehash (bad[i], HUB_PBKDF2_MIN_ITERATIONS));
    }
}

static void
test_secrets (void **state)
{
  char a[64], b[64], ka[65], kb[65];
  struct reg_error *err = NULL;
  assert_int_equal (hub_auth_secret ("rht_", a, &err), 0);
  assert_int_equal (hub_auth_secret ("rht_", b, &err), 0);
  assert_int_equal (strncmp (a, "rht_", 4), 0);
  assert_int_equal (strlen (a), 4 + 43);
  assert_null (strpbrk (a, "+/="));
  assert_string_not_equal (a, b);
  hub_auth_key (a, ka);
  hub_auth_key (b, kb);
  assert_int_equal (strlen (ka), 64);
  assert_string_not_equal (ka, kb);
  assert_true (hub_auth_equal (a, a));
  assert_false (hub_auth_equal (a, b));
  assert_false (hub_auth_equal ("abc", "abcd"));
}

static void
test_throttle (void **state)
{
  int64_t t = 1000000;
  for (int i = 0; i < HUB_AUTH_FREE_FAILURES; i++)
    {
      assert_int_equal (hub_auth_throttle_wait ("alice", "192.0.2.1", t), 0);
      hub_auth_throttle_fail ("alice", "192.0.2.1", t);
    }
  assert_int_equal (hub_auth_throttle_wait ("alice", "192.0.2.1", t), 5);
  assert_int_equal (hub_auth_throttle_wait ("alice", "192.0.2.1", t + 5), 0);
  hub_auth_throttle_fail ("alice", "192.0.2.1", t + 5);
  assert_int_equal (hub_auth_throttle_wait ("alice", "192.0.2.1", t + 5), 10);
  /* Another user from the same address is not held up (yet). */
  assert_int_equal (hub_auth_throttle_wait ("bob", "192.0.2.1", t + 5), 0);
  /* A success clears the name's count; the window forgets old failures. */
  hub_auth_throttle_ok ("alice", "192.0.2.1");
  assert_int_equal (hub_auth_throttle_wait ("alice", "192.0.2.9", t + 6), 0);
  hub_auth_throttle_fail ("carol", "192.0.2.2", t);
  for (int i = 0; i < 10; i++)
    hub_auth_throttle_fail ("carol", "192.0.2.2", t);
  assert_true (hub_auth_throttle_wait ("carol", "192.0.2.3", t) > 0);
  assert_int_equal (hub_auth_throttle_wait ("carol", "192.0.2.3", t + 901), 0);
}

static void
expect_url (const char *url, const char *base)
{
  char out[300];
  struct reg_error *err = NULL;
  if (hub_device_url_parse (url, out, sizeof out, &err) < 0)
    fail_msg ("%s: %s", url, err->msg);
  assert_string_equal (out, base);
}

/* Called after the check (not as its argument: the order in which
 * arguments are evaluated is unspecified). */
static void
expect_bad (int rc, struct reg_error *err, const char *want)
{
  assert_int_equal (rc, -1);
  assert_int_equal (err->code, EINVAL);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("'%s' lacks '%s'", err->msg, want);
  reg_error_free (err);
}

static void
test_device_input (void **state)
{
  expect_url ("tcp://192.0.2.10:7443", "https://192.0.2.10:7443");
  expect_url ("tcp://device.example:1", "https://device.example:1");
  expect_url ("tcp://[2001:db8::1]:7443", "https://[2001:db8::1]:7443");
  char out[300];
  int rc;
  struct reg_error *err = NULL;
  const char *bad[] = { "http://192.0.2.10:7443",
                        "tcp://192.0.2.10",
                        "tcp://:7443",
                        "tcp://a b:1",
                        "tcp://h:0",
                        "tcp://h:65536",
                        "tcp://h:80x",
                        "tcp://h/x:1",
                        "tcp://[zz]:1",
                        "",
                        NULL };
  for (int i = 0; bad[i]; i++)
    {
      err = NULL;
      rc = hub_device_url_parse (bad[i], out, sizeof out, &err);
      if (rc == 0)
        fail_msg ("accepted %s", bad[i]);
      expect_bad (rc, err, "device URL");
    }
  err = NULL;
  rc = hub_device_name_check ("a/b", &err);
  expect_bad (rc, err, "only letters");
  err = NULL;
  rc = hub_device_name_check ("", &err);
  expect_bad (rc, err, "1 to 64");
  assert_int_equal (hub_device_name_check ("edge-01.site_a", &err), 0);
  err = NULL;
  rc = hub_device_token_check ("short", &err);
  expect_bad (rc, err, "16 to 4096");
  err = NULL;
  rc = hub_device_token_check ("0123456789abcdef ghi", &err);
  expect_bad (rc, err, "no spaces");
  assert_int_equal (hub_device_token_check ("0123456789abcdef", &err), 0);
  err = NULL;
  rc = hub_device_ca_check ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", &err);
  expect_bad (rc, err, "not a PEM certificate");
  err = NULL;
  rc = hub_device_ca_check ("", &err);
  expect_bad (rc, err, "required");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_hash_verify),  cmocka_unit_test (test_hash_damaged),
    cmocka_unit_test (test_secrets),      cmocka_unit_test (test_throttle),
    cmocka_unit_test (test_device_input),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
