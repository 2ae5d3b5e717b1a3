#include "rtnl.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* if_nametoindex without net/if.h (which clashes with linux/if.h). */
extern unsigned int if_nametoindex (const char *name);

struct nl
{
  struct mnl_socket *sock;
  unsigned portid, seq;
};

static int
nl_open (struct nl *nl, struct reg_error **err)
{
  nl->sock = mnl_socket_open2 (NETLINK_ROUTE, SOCK_CLOEXEC);
  if (nl->sock == NULL || mnl_socket_bind (nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
    {
      int e = errno;
      if (nl->sock)
        mnl_socket_close (nl->sock);
      nl->sock = NULL;
      return reg_error_sys (err, e, "rtnetlink socket");
    }
  nl->portid = mnl_socket_get_portid (nl->sock);
  nl->seq = (unsigned)time (NULL);
  return 0;
}

static void
nl_close (struct nl *nl)
{
  if (nl->sock)
    mnl_socket_close (nl->sock);
  nl->sock = NULL;
}

static struct nlmsghdr *
nl_msg (struct nl *nl, char *buf, int type, int flags)
{
  struct nlmsghdr *h = mnl_nlmsg_put_header (buf);
  h->nlmsg_type = (uint16_t)type;
  h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
  h->nlmsg_seq = ++nl->seq;
  return h;
}

/* Send and wait for the acknowledgement; -1 with errno from the kernel. */
static int
nl_talk (struct nl *nl, struct nlmsghdr *h, mnl_cb_t cb, void *data)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  if (mnl_socket_sendto (nl->sock, h, h->nlmsg_len) < 0)
    return -1;
  unsigned seq = h->nlmsg_seq;
  for (;;)
    {
      ssize_t n = mnl_socket_recvfrom (nl->sock, buf, sizeof buf);
      if (n < 0)
        return -1;
      int r = mnl_cb_run (buf, (size_t)n, seq, nl->portid, cb, data);
      if (r <= MNL_CB_STOP)
        return r < 0 ? -1 : 0;
    }
}

static int
link_up (struct nl *nl, unsigned index)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = nl_msg (nl, buf, RTM_NEWLINK, 0);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header (h, sizeof *ifm);
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = (int)index;
  ifm->ifi_flags = IFF_UP;
  ifm->ifi_change = IFF_UP;
  return nl_talk (nl, h, NULL, NULL);
}

static int
addr_add (struct nl *nl, unsigned index, struct in_addr a, int prefix)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = nl_msg (nl, buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header (h, sizeof *ifa);
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = (unsigned char)prefix;
  ifa->ifa_index = index;
  mnl_attr_put (h, IFA_LOCAL, sizeof a, &a);
  mnl_attr_put (h, IFA_ADDRESS, sizeof a, &a);
  struct in_addr brd = { a.s_addr | htonl (prefix ? (1u << (32 - prefix)) - 1 : ~0u) };
  mnl_attr_put (h, IFA_BROADCAST, sizeof brd, &brd);
  return nl_talk (nl, h, NULL, NULL);
}

static int
route_default (struct nl *nl, unsigned index, struct in_addr gw)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = nl_msg (nl, buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  struct rtmsg *rt = mnl_nlmsg_put_extra_header (h, sizeof *rt);
  rt->rtm_family = AF_INET;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_BOOT;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  mnl_attr_put (h, RTA_GATEWAY, sizeof gw, &gw);
  mnl_attr_put_u32 (h, RTA_OIF, index);
  return nl_talk (nl, h, NULL, NULL);
}

int
reg_rtnl_bridge_ensure (const char *name, struct in_addr gw, int prefix, struct reg_error **err)
{
  struct nl nl = { 0 };
  if (nl_open (&nl, err) < 0)
    return -1;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = nl_msg (&nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header (h, sizeof *ifm);
  ifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz (h, IFLA_IFNAME, name);
  struct nlattr *info = mnl_attr_nest_start (h, IFLA_LINKINFO);
  mnl_attr_put_strz (h, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end (h, info);
  int ret = 0;
  const char *step = "create";
  if (nl_talk (&nl, h, NULL, NULL) < 0 && errno != EEXIST)
    ret = -1;
  unsigned index = ret == 0 ? if_nametoindex (name) : 0;
  if (ret == 0 && index == 0)
    ret = -1, step = "find";
  if (ret == 0 && addr_add (&nl, index, gw, prefix) < 0 && errno != EEXIST)
    ret = -1, step = "add the gateway address to";
  if (ret == 0 && link_up (&nl, index) < 0)
    ret = -1, step = "bring up";
  int e = errno;
  nl_close (&nl);
  if (ret < 0)
    return reg_error_sys (err, e, "bridge %s: %s it", name, step);
  return 0;
}

int
reg_rtnl_link_delete (const char *name, struct reg_error **err)
{
  unsigned index = if_nametoindex (name);
  if (index == 0)
    return 0;
  struct nl nl = { 0 };
  if (nl_open (&nl, err) < 0)
    return -1;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = nl_msg (&nl, buf, RTM_DELLINK, 0);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header (h, sizeof *ifm);
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = (int)index;
  int ret = nl_talk (&nl, h, NULL, NULL);
  int e = errno;
  nl_close (&nl);
  if (ret < 0 && e != ENODEV)
    return reg_error_sys (err, e, "delete link %s", name);
  return 0;
}

/* ---- network namespaces, from threads of their own ---- */

struct ns_job
{
  int netns_fd; /* in: the namespace to join, or -1 for a new one */
  int out_fd;   /* out: the new namespace's fd */
  const struct reg_rtnl_endpoint *ep;
  int err;
  const char *step;
};

static void *
netns_new_thread (void *arg)
{
  struct ns_job *j = arg;
  if (unshare (CLONE_NEWNET) < 0)
    j->err = errno, j->step = "unshare";
  else if ((j->out_fd = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
    j->err = errno, j->step = "open";
  return NULL;
}

static int
run_thread (void *(*fn) (void *), struct ns_job *j)
{
  pthread_t t;
  int r = pthread_create (&t, NULL, fn, j);
  if (r != 0)
    {
      j->err = r;
      j->step = "start a thread for";
      return -1;
    }
  pthread_join (t, NULL);
  return j->err ? -1 : 0;
}

int
reg_rtnl_netns_new (int *fd, struct reg_error **err)
{
  struct ns_job j = { -1, -1, NULL, 0, "" };
  if (run_thread (netns_new_thread, &j) < 0)
    return reg_error_sys (err, j.err, "network namespace: %s", j.step);
  *fd = j.out_fd;
  return 0;
}

/* No IPv6 on the container's end: reg's networks are IPv4, and each
 * interface that comes up with IPv6 sends its router and neighbour
 * solicitations and MLD reports (about six packets), which the bridge
 * floods to every other container: O(n) work per start, the storm's growth
 * (docs/benchmarks.md, issue 15's fourth round; Docker does the same on
 * IPv4-only networks). Called in the namespace (this thread's /proc/sys/net
 * is its), before the interface is up. Without IPv6 in the kernel there is
 * nothing to do. */
static int
ipv6_off (const char *ifname)
{
  char path[96];
  snprintf (path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : -1;
  int ret = write (fd, "1", 1) == 1 ? 0 : -1;
  close (fd);
  return ret;
}

/* Inside the namespace: lo up, eth0's address, eth0 up (IPv4 only),
 * default route. */
static void *
configure_thread (void *arg)
{
  struct ns_job *j = arg;
  const struct reg_rtnl_endpoint *ep = j->ep;
  struct nl nl = { 0 };
  if (setns (j->netns_fd, CLONE_NEWNET) < 0)
    {
      j->err = errno, j->step = "join the namespace";
      return NULL;
    }
  if (nl_open (&nl, NULL) < 0)
    {
      j->err = errno, j->step = "open rtnetlink in the namespace";
      return NULL;
    }
  unsigned lo = if_nametoindex ("lo"), eth = if_nametoindex (ep->ifname ? ep->ifname : "eth0");
  if (lo == 0 || eth == 0)
    j->err = ENODEV, j->step = "find lo and the interface";
  else if (link_up (&nl, lo) < 0)
    j->err = errno, j->step = "bring up lo";
  else if (ipv6_off (ep->ifname ? ep->ifname : "eth0") < 0)
    j->err = errno, j->step = "turn IPv6 off on the interface";
  else if (addr_add (&nl, eth, ep->addr, ep->prefix) < 0)
    j->err = errno, j->step = "add the interface's address";
  else if (link_up (&nl, eth) < 0)
    j->err = errno, j->step = "bring up the interface";
  else if (ep->ifname == NULL && route_default (&nl, eth, ep->gw) < 0)
    j->err = errno, j->step = "add the default route";
  nl_close (&nl);
  return NULL;
}

static int
veth_create (struct nl *nl, const struct reg_rtnl_endpoint *ep, unsigned master)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = nl_msg (nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header (h, sizeof *ifm);
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_flags = IFF_UP;
  ifm->ifi_change = IFF_UP;
  mnl_attr_put_strz (h, IFLA_IFNAME, ep->host_name);
  mnl_attr_put_u32 (h, IFLA_MASTER, master);
  struct nlattr *info = mnl_attr_nest_start (h, IFLA_LINKINFO);
  mnl_attr_put_strz (h, IFLA_INFO_KIND, "veth");
  struct nlattr *data = mnl_attr_nest_start (h, IFLA_INFO_DATA);
  struct nlattr *peer = mnl_attr_nest_start (h, VETH_INFO_PEER);
  struct ifinfomsg *pm = mnl_nlmsg_put_extra_header (h, sizeof *pm);
  pm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz (h, IFLA_IFNAME, ep->ifname ? ep->ifname : "eth0");
  mnl_attr_put_u32 (h, IFLA_NET_NS_FD, (uint32_t)ep->netns_fd);
  mnl_attr_put (h, IFLA_ADDRESS, 6, ep->mac);
  mnl_attr_nest_end (h, peer);
  mnl_attr_nest_end (h, data);
  mnl_attr_nest_end (h, info);
  return nl_talk (nl, h, NULL, NULL);
}

int
reg_rtnl_endpoint_create (const struct reg_rtnl_endpoint *ep, struct reg_error **err)
{
  unsigned master = if_nametoindex (ep->bridge);
  if (master == 0)
    return reg_error_sys (err, errno, "bridge %s", ep->bridge);
  struct nl nl = { 0 };
  if (nl_open (&nl, err) < 0)
    return -1;
  int ret = veth_create (&nl, ep, master);
  int e = errno;
  nl_close (&nl);
  if (ret < 0)
    return reg_error_sys (err, e, "veth %s on bridge %s", ep->host_name, ep->bridge);
  struct ns_job j = { ep->netns_fd, -1, ep, 0, "" };
  if (run_thread (configure_thread, &j) < 0)
    {
      char a[INET_ADDRSTRLEN];
      inet_ntop (AF_INET, &ep->addr, a, sizeof a);
      reg_rtnl_link_delete (ep->host_name, NULL);
      return reg_error_sys (err, j.err, "container network %s/%d: %s", a, ep->prefix, j.step);
    }
  return 0;
}

/* ---- the host's routes ---- */

bool
reg_rtnl_parse_cidr (const char *s, struct in_addr *net, int *prefix)
{
  const char *slash = s ? strchr (s, '/') : NULL;
  char ip[INET_ADDRSTRLEN];
  if (slash == NULL || (size_t)(slash - s) >= sizeof ip)
    return false;
  snprintf (ip, sizeof ip, "%.*s", (int)(slash - s), s);
  char *end = NULL;
  long p = strtol (slash + 1, &end, 10);
  if (inet_pton (AF_INET, ip, net) != 1 || end == slash + 1 || *end || p < 0 || p > 32)
    return false;
  uint32_t mask = p ? ~0u << (32 - p) : 0;
  if ((ntohl (net->s_addr) & ~mask) != 0)
    return false;
  *prefix = (int)p;
  return true;
}

struct route_scan
{
  uint32_t net, mask;
  unsigned own_index;
  char *what;
  bool found;
};

static int
route_attr (const struct nlattr *a, void *data)
{
  const struct nlattr **tb = data;
  int type = mnl_attr_get_type (a);
  if (type <= RTA_MAX)
    tb[type] = a;
  return MNL_CB_OK;
}

static int
route_cb (const struct nlmsghdr *h, void *data)
{
  struct route_scan *s = data;
  const struct rtmsg *rt = mnl_nlmsg_get_payload (h);
  const struct nlattr *tb[RTA_MAX + 1] = { 0 };
  if (rt->rtm_family != AF_INET || rt->rtm_table != RT_TABLE_MAIN || rt->rtm_dst_len == 0)
    return MNL_CB_OK;
  mnl_attr_parse (h, sizeof *rt, route_attr, tb);
  if (tb[RTA_DST] == NULL)
    return MNL_CB_OK;
  unsigned oif = tb[RTA_OIF] ? mnl_attr_get_u32 (tb[RTA_OIF]) : 0;
  if (oif && oif == s->own_index)
    return MNL_CB_OK;
  uint32_t dst = ntohl (*(const uint32_t *)mnl_attr_get_payload (tb[RTA_DST]));
  uint32_t mask = ~0u << (32 - rt->rtm_dst_len);
  uint32_t common = mask & s->mask; /* the shorter prefix's mask */
  if ((dst & common) != (s->net & common) || s->found)
    return MNL_CB_OK;
  s->found = true;
  struct in_addr a = { htonl (dst) };
  char ip[INET_ADDRSTRLEN], dev[32] = "";
  inet_ntop (AF_INET, &a, ip, sizeof ip);
  if (oif)
    snprintf (dev, sizeof dev, " (interface %u)", oif);
  snprintf (s->what, 128, "%s/%d%s", ip, rt->rtm_dst_len, dev);
  return MNL_CB_OK;
}

int
reg_rtnl_subnet_in_use (struct in_addr subnet, int prefix, const char *own_dev, char what[128],
                        struct reg_error **err)
{
  struct nl nl = { 0 };
  if (nl_open (&nl, err) < 0)
    return -1;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = mnl_nlmsg_put_header (buf);
  h->nlmsg_type = RTM_GETROUTE;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  h->nlmsg_seq = ++nl.seq;
  struct rtmsg *rt = mnl_nlmsg_put_extra_header (h, sizeof *rt);
  rt->rtm_family = AF_INET;
  struct route_scan s = { ntohl (subnet.s_addr), prefix ? ~0u << (32 - prefix) : 0,
                          own_dev ? if_nametoindex (own_dev) : 0, what, false };
  what[0] = '\0';
  int ret = nl_talk (&nl, h, route_cb, &s);
  int e = errno;
  nl_close (&nl);
  if (ret < 0)
    return reg_error_sys (err, e, "list the host's routes");
  return s.found;
}
