/* Unit tests of the network parsers: every -p form (and the bad ones), the
 * bridge subnet's CIDR, and the nft commands that take a container's
 * published ports away. */
#include "netrelease.h"
#include "network.h"
#include "rtnl.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void
port (const char *spec, const char *ip, unsigned host, unsigned ctr, bool udp)
{
  struct reg_port_binding b;
  if (!reg_network_port_parse (spec, &b))
    fail_msg ("refused: %s", spec);
  assert_string_equal (b.host_ip, ip);
  assert_int_equal (b.host_port, host);
  assert_int_equal (b.container_port, ctr);
  assert_int_equal (b.udp, udp);
}

static void
test_ports (void **state)
{
  port ("80", "", 0, 80, false);
  port ("53/udp", "", 0, 53, true);
  port ("8080:80", "", 8080, 80, false);
  port ("8080:80/tcp", "", 8080, 80, false);
  port ("127.0.0.1:8080:80", "127.0.0.1", 8080, 80, false);
  port ("127.0.0.1::80/udp", "127.0.0.1", 0, 80, true);
  port ("0.0.0.0:1:65535", "", 1, 65535, false);
  static const char *const bad[] = { "",
                                     "abc",
                                     "0",
                                     "65536",
                                     "1:2:3:4",
                                     "80/sctp",
                                     ":80",
                                     "8080:",
                                     "80/",
                                     "256.1.1.1:80:80",
                                     "127.0.0.1:x:80",
                                     "::1:80:80",
                                     "-1:80",
                                     "8080:0",
                                     "123456:80",
                                     "a:80:80",
                                     "80 ",
                                     NULL };
  struct reg_port_binding b;
  for (size_t i = 0; bad[i]; i++)
    if (reg_network_port_parse (bad[i], &b))
      fail_msg ("accepted: \"%s\"", bad[i]);
}

static void
test_cidr (void **state)
{
  struct in_addr a;
  int p = 0;
  assert_true (reg_rtnl_parse_cidr ("10.88.0.0/16", &a, &p));
  assert_int_equal (p, 16);
  assert_int_equal (ntohl (a.s_addr), 0x0a580000);
  assert_false (reg_rtnl_parse_cidr ("10.88.0.1/16", &a, &p)); /* host bits */
  assert_false (reg_rtnl_parse_cidr ("10.88.0.0", &a, &p));
  assert_false (reg_rtnl_parse_cidr ("10.88.0.0/33", &a, &p));
  assert_false (reg_rtnl_parse_cidr ("10.88.0.0/", &a, &p));
  assert_false (reg_rtnl_parse_cidr ("fd00::/64", &a, &p));
}

static void
test_unpublish (void **state)
{
  struct reg_port_binding ports[3]
      = { { "", 8080, 80, false }, { "127.0.0.1", 8080, 80, false }, { "", 53, 53, true } };
  struct reg_net_state n
      = { "bridge", "reg0", "10.88.0.2", "10.88.0.1", "", 16, ports, 3, NULL, 0 };
  const char *id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  char *cmds = reg_netrelease_unpublish_cmds (id, &n);
  assert_string_equal (cmds, "delete element ip reg0 publish { tcp . 8080 }\n"
                             "delete element ip reg0 publish { udp . 53 }\n"
                             "flush chain ip reg0 c_0123456789ab\n"
                             "delete chain ip reg0 c_0123456789ab\n");
  free (cmds);
  n.n_ports = 0;
  assert_null (reg_netrelease_unpublish_cmds (id, &n));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ports),
    cmocka_unit_test (test_cidr),
    cmocka_unit_test (test_unpublish),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
