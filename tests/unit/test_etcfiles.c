/* Unit tests of the /etc files: hosts content, resolv.conf filtering
 * (loopback resolvers, upstream, defaults, --dns, --dns-search), and the
 * checks of --hostname, --dns, --dns-search and --add-host. */
#include "etcfiles.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void
has (const char *text, const char *want)
{
  if (strstr (text, want) == NULL)
    fail_msg ("\"%s\" lacks \"%s\"", text, want);
}

static void
lacks (const char *text, const char *unwanted)
{
  if (strstr (text, unwanted) != NULL)
    fail_msg ("\"%s\" has \"%s\"", text, unwanted);
}

static void
test_hosts (void **state)
{
  char *extra[] = { "db:10.0.0.5", "v6:fd00::1", NULL };
  char *peers[] = { "10.88.0.3\tweb", NULL };
  struct reg_etc_spec s = { .hostname = "0123456789ab",
                            .id = ID,
                            .name = "api",
                            .extra_hosts = extra,
                            .peers = peers,
                            .address = "10.88.0.2" };
  char *t = reg_etcfiles_hosts (&s);
  has (t, "127.0.0.1\tlocalhost\n");
  has (t, "::1\tlocalhost");
  has (t, "10.0.0.5\tdb\n");
  has (t, "fd00::1\tv6\n");
  /* The hostname is the short id already: not repeated. */
  has (t, "10.88.0.2\t0123456789ab api\n");
  has (t, "10.88.0.3\tweb\n");
  free (t);
  s.hostname = "web.local";
  s.address = NULL;
  s.name = NULL;
  t = reg_etcfiles_hosts (&s);
  has (t, "127.0.1.1\tweb.local 0123456789ab\n");
  free (t);
}

static void
test_resolv_loopback_replaced (void **state)
{
  struct reg_etc_spec s = { .hostname = "h" };
  const char *host = "# systemd\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n";
  const char *up = "nameserver 192.0.2.53\nnameserver ::1\nnameserver 2001:db8::53\n";
  char *t = reg_etcfiles_resolv (&s, host, up);
  lacks (t, "127.0.0.53");
  lacks (t, "::1");
  has (t, "nameserver 192.0.2.53\nnameserver 2001:db8::53\n");
  has (t, "options edns0 trust-ad\n");
  has (t, "search lan\n");
  free (t);
  /* No upstream either: the public defaults. */
  t = reg_etcfiles_resolv (&s, host, NULL);
  has (t, "nameserver 8.8.8.8\n");
  free (t);
  /* On the host network the loopback resolver is reachable: kept. */
  s.keep_loopback_dns = true;
  t = reg_etcfiles_resolv (&s, host, up);
  has (t, "nameserver 127.0.0.53\n");
  lacks (t, "192.0.2.53");
  free (t);
}

static void
test_resolv_options (void **state)
{
  char *dns[] = { "9.9.9.9", NULL }, *search[] = { "a.example", "b.example", NULL };
  struct reg_etc_spec s = { .hostname = "h", .dns = dns, .dns_search = search };
  const char *host = "nameserver 10.0.0.1\ndomain old.example\n";
  char *t = reg_etcfiles_resolv (&s, host, NULL);
  has (t, "nameserver 9.9.9.9\n");
  lacks (t, "10.0.0.1");
  has (t, "search a.example b.example\n");
  lacks (t, "old.example");
  free (t);
  char *none[] = { ".", NULL };
  s.dns_search = none;
  s.dns = NULL;
  t = reg_etcfiles_resolv (&s, host, NULL);
  has (t, "nameserver 10.0.0.1\n");
  lacks (t, "search");
  free (t);
  /* The last search or domain line wins; a server's trailing comment goes. */
  s.dns_search = NULL;
  t = reg_etcfiles_resolv (&s, "search x\nnameserver 10.0.0.9 # lan\ndomain y\n", NULL);
  has (t, "nameserver 10.0.0.9\n");
  has (t, "search y\n");
  free (t);
}

static void
check_bad (const char *hostname, char **dns, char **search, char **extra, const char *want)
{
  struct reg_error *err = NULL;
  assert_int_equal (reg_etcfiles_check (hostname, dns, search, extra, &err), -1);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("\"%s\" lacks \"%s\"", err->msg, want);
  reg_error_free (err);
}

static void
test_checks (void **state)
{
  assert_true (reg_etcfiles_hostname_ok ("web-1.example"));
  assert_true (reg_etcfiles_hostname_ok ("a"));
  assert_false (reg_etcfiles_hostname_ok (""));
  assert_false (reg_etcfiles_hostname_ok ("-a"));
  assert_false (reg_etcfiles_hostname_ok ("a-"));
  assert_false (reg_etcfiles_hostname_ok ("a..b"));
  assert_false (reg_etcfiles_hostname_ok ("a_b"));
  assert_false (reg_etcfiles_hostname_ok ("a b"));
  char long_name[70];
  memset (long_name, 'a', 64);
  long_name[64] = '\0';
  assert_false (reg_etcfiles_hostname_ok (long_name));
  char *dns[] = { "1.1.1.1", "2606:4700::1111", NULL };
  char *extra[] = { "db:10.0.0.1", "v6:::1", NULL };
  assert_int_equal (reg_etcfiles_check ("ok", dns, NULL, extra, NULL), 0);
  char *bad_dns[] = { "1.2.3", NULL }, *bad_search[] = { "a b", NULL };
  char *no_ip[] = { "db", NULL }, *bad_ip[] = { "db:10.0.0.300", NULL };
  char *bad_name[] = { "d b:10.0.0.1", NULL };
  check_bad ("x_y", NULL, NULL, NULL, "hostname \"x_y\"");
  check_bad (NULL, bad_dns, NULL, NULL, "dns server \"1.2.3\"");
  check_bad (NULL, NULL, bad_search, NULL, "dns search domain \"a b\"");
  check_bad (NULL, NULL, NULL, no_ip, "add-host \"db\": want NAME:IP");
  check_bad (NULL, NULL, NULL, bad_ip, "add-host \"db:10.0.0.300\"");
  check_bad (NULL, NULL, NULL, bad_name, "add-host \"d b:10.0.0.1\"");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_hosts),
    cmocka_unit_test (test_resolv_loopback_replaced),
    cmocka_unit_test (test_resolv_options),
    cmocka_unit_test (test_checks),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
