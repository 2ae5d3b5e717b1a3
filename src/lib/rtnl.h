/* rtnl: the few rtnetlink requests container networking needs, over
 * libmnl: a bridge with its gateway address, a veth pair whose container
 * end is made directly inside a network namespace, that end's address and
 * default route, and a look at the host's routes (so a bridge subnet never
 * shadows one).
 *
 * Requests inside a network namespace go through a netlink socket opened
 * by a short-lived thread that joined the namespace (a socket stays in the
 * namespace it was made in); regd's other threads are never moved.
 * Every error names the object and the cause. Addresses are IPv4 in
 * network byte order.
 */
#ifndef REG_RTNL_H
#define REG_RTNL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* The bridge `name` exists, is up and has gw/prefix (made if missing). */
int reg_rtnl_bridge_ensure (const char *name, struct in_addr gw, int prefix,
                            struct reg_error **err);
/* Delete a link by name; 0 when it is gone (or was never there). */
int reg_rtnl_link_delete (const char *name, struct reg_error **err);

/* A new network namespace (an fd of it), made by a thread of its own. */
int reg_rtnl_netns_new (int *fd, struct reg_error **err);

/* A veth pair: `host_name` on the host, enslaved to `bridge` and up; its
 * peer is made inside netns_fd as eth0 with `mac`, IPv6 off, then given
 * addr/prefix, brought up with lo, and a default route via gw. With `ifname` (a
 * network connected later: eth1, ...) the peer has that name and no
 * default route. */
struct reg_rtnl_endpoint
{
  const char *bridge;
  const char *host_name; /* at most 15 bytes */
  int netns_fd;
  struct in_addr addr, gw;
  int prefix;
  unsigned char mac[6];
  const char *ifname; /* NULL: eth0, with the default route */
};
int reg_rtnl_endpoint_create (const struct reg_rtnl_endpoint *ep, struct reg_error **err);

/* Is subnet/prefix overlapping an IPv4 route of the main table (other
 * than the default route and routes through `own_dev`)? *what describes
 * the route found ("192.0.2.0/24 dev eth0"). 1 yes, 0 no, -1 error. */
int reg_rtnl_subnet_in_use (struct in_addr subnet, int prefix, const char *own_dev, char what[128],
                            struct reg_error **err);

/* "10.88.0.0/16" -> network address (host bits must be 0) and prefix. */
bool reg_rtnl_parse_cidr (const char *s, struct in_addr *net, int *prefix);

#endif
