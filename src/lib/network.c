#include "network.h"
#include "engine.h"
#include "etcfiles.h"
#include "netdocker.h"
#include "netpeers.h"
#include "netpool.h"
#include "netrelease.h"
#include "netstore.h"
#include "nft.h"
#include "root.h"
#include "rtnl.h"
#include "util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int bridge_attach (const char *root, struct reg_net_config *cfg, struct reg_container *c,
                          int *netns_fd, struct reg_error **err);
static void bridge_detach (const char *root, const char *id, int *netns_fd);

/* ---- -p ---- */

static bool
port_number (const char *s, size_t n, bool zero_ok, unsigned short *out)
{
  if (n == 0 && zero_ok)
    {
      *out = 0;
      return true;
    }
  if (n == 0 || n > 5 || strspn (s, "0123456789") < n)
    return false;
  long v = strtol (s, NULL, 10);
  *out = (unsigned short)v;
  return v >= 1 && v <= 65535;
}

bool
reg_network_port_parse (const char *spec, struct reg_port_binding *b)
{
  memset (b, 0, sizeof *b);
  const char *proto = strchr (spec, '/');
  if (proto && strcmp (proto, "/tcp") != 0 && strcmp (proto, "/udp") != 0)
    return false;
  b->udp = proto && strcmp (proto, "/udp") == 0;
  size_t len = proto ? (size_t)(proto - spec) : strlen (spec);
  const char *last = memrchr (spec, ':', len);
  if (last == NULL)
    return port_number (spec, len, false, &b->container_port);
  if (!port_number (last + 1, len - (size_t)(last - spec) - 1, false, &b->container_port))
    return false;
  const char *first = memchr (spec, ':', (size_t)(last - spec));
  const char *host = first ? first + 1 : spec;
  if (first)
    {
      struct in_addr a;
      if ((size_t)(first - spec) >= sizeof b->host_ip)
        return false;
      snprintf (b->host_ip, sizeof b->host_ip, "%.*s", (int)(first - spec), spec);
      if (inet_pton (AF_INET, b->host_ip, &a) != 1)
        return false;
      if (a.s_addr == htonl (INADDR_ANY))
        b->host_ip[0] = '\0';
    }
  /* "IP::80" leaves the host port to the kernel; "8080:" alone is no form. */
  return port_number (host, (size_t)(last - host), first != NULL, &b->host_port);
}

/* Options a sidecar takes from the container it joins. */
static int
check_joined (const struct reg_create_options *o, const char *mode, struct reg_error **err)
{
  const char *what = o->hostname                         ? "--hostname"
                     : reg_strv_len (o->dns) > 0         ? "--dns"
                     : reg_strv_len (o->dns_search) > 0  ? "--dns-search"
                     : reg_strv_len (o->extra_hosts) > 0 ? "--add-host"
                     : reg_strv_len (o->ports) > 0       ? "-p"
                     : reg_strv_len (o->aliases) > 0     ? "--network-alias"
                                                         : NULL;
  if (what)
    return reg_error_set (err, EINVAL,
                          "conflicting options: %s and --network %s (the container shares that "
                          "network namespace and its /etc files)",
                          what, mode);
  return 0;
}

static int claim_port (struct reg_port_binding *p, struct reg_error **err);
static const char *bridge_name (const struct reg_net_config *cfg);

/* A host port another container publishes already (reg's table). */
static int
check_published (const struct reg_net_config *cfg, const struct reg_port_binding *b,
                 struct reg_error **err)
{
  char cmd[128];
  snprintf (cmd, sizeof cmd, "get element ip %s publish { %s . %u }\n", bridge_name (cfg),
            b->udp ? "udp" : "tcp", b->host_port);
  if (!cfg->ready || reg_nft_run (cmd, NULL, NULL) < 0)
    return 0; /* no table yet, or no such element */
  return reg_error_set (err, EBUSY, "port %u/%s: already published by another container",
                        b->host_port, b->udp ? "udp" : "tcp");
}

/* Before anything is made: every fixed host port must be free. */
static int
check_ports (const struct reg_net_config *cfg, char *const *ports, struct reg_error **err)
{
  for (size_t i = 0; ports && ports[i]; i++)
    {
      struct reg_port_binding b;
      if (!reg_network_port_parse (ports[i], &b))
        return reg_error_set (err, EINVAL,
                              "create container: port \"%s\" is not "
                              "[IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp]",
                              ports[i]);
      if (b.host_port && (claim_port (&b, err) < 0 || check_published (cfg, &b, err) < 0))
        return reg_error_prefix (err, "create container: -p %s", ports[i]);
    }
  return 0;
}

int
reg_network_resolve (const char *root, const struct reg_net_config *cfg,
                     const struct reg_create_options *o, char **mode, struct reg_error **err)
{
  const char *m = o->network_mode && *o->network_mode ? o->network_mode : NULL;
  if (reg_etcfiles_check (o->hostname, o->dns, o->dns_search, o->extra_hosts, err) < 0)
    return reg_error_prefix (err, "create container");
  const char *ref = reg_network_joined (m);
  if (ref)
    {
      char id[65];
      if (check_joined (o, m, err) < 0)
        return -1;
      if (*ref == '\0' || reg_container_find (root, ref, id, NULL) < 0)
        return reg_error_set (err, ENOENT, "network %s: no such container", m);
      return asprintf (mode, "container:%s", id) < 0 ? reg_error_set (err, ENOMEM, "out of memory")
                                                     : 0;
    }
  bool builtin = m == NULL || strcmp (m, "host") == 0 || strcmp (m, "none") == 0
                 || strcmp (m, "bridge") == 0;
  struct reg_netstore_net user;
  if (!builtin && reg_netstore_get (root, m, &user, err) < 0)
    return -1;
  if (builtin && reg_strv_len (o->aliases) > 0)
    return reg_error_set (err, EINVAL,
                          "--network-alias %s: aliases exist only on a user network (reg network "
                          "create), not on --network %s",
                          o->aliases[0], m ? m : "bridge");
  for (size_t i = 0; o->aliases && o->aliases[i]; i++)
    if (!reg_etcfiles_hostname_ok (o->aliases[i]))
      return reg_error_set (err, EINVAL, "--network-alias \"%s\": not a host name (RFC 1123)",
                            o->aliases[i]);
  for (size_t i = 0; o->ports && o->ports[i]; i++)
    {
      struct reg_port_binding b;
      if (!reg_network_port_parse (o->ports[i], &b))
        return reg_error_set (err, EINVAL,
                              "create container: port \"%s\" is not "
                              "[IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp]",
                              o->ports[i]);
    }
  if (m == NULL)
    m = "bridge"; /* the default, as in Docker and Podman */
  bool own_stack = strcmp (m, "host") == 0 || strcmp (m, "none") == 0;
  if (!own_stack && check_ports (cfg, o->ports, err) < 0)
    return -1;
  if (own_stack && reg_strv_len (o->ports) > 0)
    return reg_error_set (err, EINVAL, "-p %s: ports cannot be published with --network %s (%s)",
                          o->ports[0], m,
                          strcmp (m, "host") == 0 ? "the container uses the host's ports already"
                                                  : "it has no network");
  *mode = strdup (m);
  return *mode ? 0 : reg_error_set (err, ENOMEM, "out of memory");
}

static int write_etc (const char *root, const struct reg_net_config *cfg,
                      const struct reg_container *c, struct reg_error **err);

int
reg_network_prepare (const char *root, struct reg_net_config *cfg, const char *id, int *netns_fd,
                     struct reg_error **err)
{
  *netns_fd = -1;
  struct reg_container *c = NULL;
  if (reg_container_load (root, id, &c, err) < 0)
    return -1;
  int ret = 0;
  if (reg_network_on_bridge (c->network_mode))
    {
      ret = bridge_attach (root, cfg, c, netns_fd, err);
      reg_container_free (c);
      c = NULL;
      if (ret == 0 && (ret = reg_container_load (root, id, &c, err)) < 0)
        bridge_detach (root, id, netns_fd);
    }
  if (ret == 0 && (ret = write_etc (root, cfg, c, err)) < 0 && *netns_fd >= 0)
    bridge_detach (root, id, netns_fd);
  if (ret == 0 && *netns_fd >= 0)
    reg_netpeers_refresh (root, c->net.network); /* it, and every other member */
  reg_container_free (c);
  return ret;
}

static int
write_etc (const char *root, const struct reg_net_config *cfg, const struct reg_container *c,
           struct reg_error **err)
{
  const char *joined = reg_network_joined (c->network_mode);
  if (joined)
    {
      struct reg_container *t = NULL;
      if (reg_container_load (root, joined, &t, NULL) < 0)
        return reg_error_set (err, ENOENT,
                              "container %.12s: cannot join the network of container %.12s: it "
                              "was removed",
                              c->id, joined);
      bool live = reg_state_live (t->state) && reg_container_monitor_alive (t);
      reg_container_free (t);
      if (!live)
        return reg_error_set (err, EBUSY,
                              "container %.12s: cannot join the network of container %.12s: it "
                              "is not running",
                              c->id, joined);
      return 0; /* its files are the joined container's */
    }
  char hostname[13];
  snprintf (hostname, sizeof hostname, "%.12s", c->id);
  struct reg_etc_spec spec = {
    .hostname = c->hostname ? c->hostname : hostname,
    .id = c->id,
    .name = c->name,
    .extra_hosts = c->extra_hosts,
    .dns = c->dns,
    .dns_search = c->dns_search,
    .address = c->net.ip[0] ? c->net.ip : NULL,
    .aliases = c->aliases,
    .keep_loopback_dns = strcmp (c->network_mode, "host") == 0,
    .host_resolv = cfg->resolv_conf ? cfg->resolv_conf : "/etc/resolv.conf",
    .upstream_resolv
    = cfg->resolv_upstream ? cfg->resolv_upstream : "/run/systemd/resolve/resolv.conf",
  };
  _cleanup_free_ char *dir = reg_root_container (root, c->id);
  if (dir == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_etcfiles_write (dir, &spec, err) < 0)
    return reg_error_prefix (err, "container %.12s", c->id);
  return 0;
}

/* ---- the bridge ---- */

static const char *
bridge_name (const struct reg_net_config *cfg)
{
  return cfg->bridge ? cfg->bridge : "reg0";
}

/* Also an nft table name: letters, digits and '_', a letter first. */
static bool
bridge_name_ok (const char *s)
{
  size_t n = strlen (s);
  if (n == 0 || n > 15 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
    return false;
  return strspn (s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

static char *
cidr_text (struct in_addr net, int prefix)
{
  char ip[INET_ADDRSTRLEN], *out = NULL;
  inet_ntop (AF_INET, &net, ip, sizeof ip);
  return asprintf (&out, "%s/%d", ip, prefix) < 0 ? NULL : out;
}

static char *
subnet_text (const struct reg_net_config *cfg)
{
  return cidr_text (cfg->net, cfg->prefix);
}

/* A network's bridge: the default one (regd's options) or a user
 * network's (its record, netstore.h). */
struct netdef
{
  char name[REG_NETWORK_NAME_MAX + 1];
  char bridge[16];
  struct in_addr net, gw;
  int prefix;
};

static int
netdef_of (const char *root, const struct reg_net_config *cfg, const char *name, struct netdef *d,
           struct reg_error **err)
{
  memset (d, 0, sizeof *d);
  if (strcmp (name, "bridge") == 0)
    {
      snprintf (d->name, sizeof d->name, "bridge");
      snprintf (d->bridge, sizeof d->bridge, "%s", bridge_name (cfg));
      d->net = cfg->net, d->gw = cfg->gw, d->prefix = cfg->prefix;
      return 0;
    }
  struct reg_netstore_net n;
  if (reg_netstore_get (root, name, &n, err) < 0)
    return -1;
  snprintf (d->name, sizeof d->name, "%s", n.name);
  snprintf (d->bridge, sizeof d->bridge, "%s", n.bridge);
  d->net = n.net, d->gw = n.gw, d->prefix = n.prefix;
  return 0;
}

/* A network's members of the table's sets. */
static void
net_elements (FILE *f, const char *table, const struct netdef *d)
{
  _cleanup_free_ char *sub = cidr_text (d->net, d->prefix);
  fprintf (f,
           "add element ip %s subnets { %s }\n"
           "add element ip %s bridges { \"%s\" }\n"
           "add element ip %s samenet { \"%s\" . \"%s\" }\n",
           table, sub ? sub : "", table, d->bridge, table, d->bridge, d->bridge);
}

/* The table, made again from nothing in one batch (all or nothing). Every
 * network is an element of its sets: its subnet, its bridge, and the pair
 * (bridge . bridge) that may forward to itself; traffic between two of
 * reg's bridges is dropped unless it was DNATed (a published port). */
static char *
base_cmds (const struct reg_net_config *cfg)
{
  const char *b = bridge_name (cfg);
  char *out = NULL;
  if (asprintf (&out,
                "add table ip %s\n"
                "delete table ip %s\n"
                "add table ip %s\n"
                "add set ip %s subnets { type ipv4_addr; flags interval; }\n"
                "add set ip %s bridges { type ifname; }\n"
                "add set ip %s samenet { type ifname . ifname; }\n"
                "add map ip %s publish { type inet_proto . inet_service : verdict; }\n"
                "add chain ip %s prerouting { type nat hook prerouting priority dstnat; }\n"
                "add rule ip %s prerouting fib daddr type local meta l4proto . th dport vmap "
                "@publish\n"
                "add chain ip %s output { type nat hook output priority -100; }\n"
                "add rule ip %s output fib daddr type local meta l4proto . th dport vmap @publish\n"
                "add chain ip %s postrouting { type nat hook postrouting priority srcnat; }\n"
                "add rule ip %s postrouting ip saddr @subnets oifname != @bridges masquerade\n"
                "add rule ip %s postrouting oifname @bridges ip saddr 127.0.0.0/8 masquerade\n"
                "add rule ip %s postrouting oifname @bridges ip saddr @subnets ct status dnat "
                "masquerade\n"
                "add chain ip %s forward { type filter hook forward priority filter; }\n"
                "add rule ip %s forward ct status dnat accept\n"
                "add rule ip %s forward iifname @bridges oifname @bridges iifname . oifname != "
                "@samenet drop\n",
                b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b)
      < 0)
    return NULL;
  return out;
}

/* Published ports of container `id` at address `ip`. */
static void
publish_cmds (FILE *f, const char *bridge, const char *id, const struct reg_net_state *n)
{
  if (n->n_ports == 0)
    return;
  fprintf (f, "add chain ip %s c_%.12s\n", bridge, id);
  for (size_t i = 0; i < n->n_ports; i++)
    {
      const struct reg_port_binding *p = &n->ports[i];
      const char *proto = p->udp ? "udp" : "tcp";
      fprintf (f, "add rule ip %s c_%.12s ", bridge, id);
      if (p->host_ip[0])
        fprintf (f, "ip daddr %s ", p->host_ip);
      fprintf (f, "%s dport %u dnat to %s:%u\n", proto, p->host_port, n->ip, p->container_port);
      bool seen = false;
      for (size_t k = 0; k < i; k++)
        seen = seen || (n->ports[k].host_port == p->host_port && n->ports[k].udp == p->udp);
      if (!seen)
        fprintf (f, "create element ip %s publish { %s . %u : jump c_%.12s }\n", bridge, proto,
                 p->host_port, id);
    }
}

static int
write_sysctl (const char *path, struct reg_error **err)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, "1", 1) != 1)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      return reg_error_sys (err, e, "set %s", path);
    }
  close (fd);
  return 0;
}

/* Docker may have started (or restarted) since: its DOCKER-USER chain is
 * checked again when a network's container starts, at most every 10 s
 * (a libnftables listing: not on every start's path). */
static void
docker_recheck (struct reg_net_config *cfg, const char *bridge)
{
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  if (cfg->docker_checked && now.tv_sec - cfg->docker_checked < 10)
    return;
  cfg->docker_checked = now.tv_sec;
  reg_netdocker_sync (bridge, true);
}

/* The table (once per regd), and the network's bridge with its sets'
 * elements (when the bridge is missing: the first start on it). */
static int
ensure_ready (struct reg_net_config *cfg, const struct netdef *d, struct reg_error **err)
{
  const char *t = bridge_name (cfg);
  if (!cfg->ready)
    {
      char probe[128];
      snprintf (probe, sizeof probe, "list table ip %s\n", t);
      _cleanup_free_ char *cmds = base_cmds (cfg);
      if (cmds == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      /* Kept when it exists: containers may be publishing. */
      if (reg_nft_run (probe, NULL, NULL) < 0 && reg_nft_run (cmds, NULL, err) < 0)
        return reg_error_prefix (err, "make table ip %s", t);
      cfg->ready = true;
    }
  if (if_nametoindex (d->bridge) != 0)
    {
      docker_recheck (cfg, d->bridge);
      return 0;
    }
  char localnet[128];
  snprintf (localnet, sizeof localnet, "/proc/sys/net/ipv4/conf/%s/route_localnet", d->bridge);
  if (reg_rtnl_bridge_ensure (d->bridge, d->gw, d->prefix, err) < 0
      || write_sysctl ("/proc/sys/net/ipv4/ip_forward", err) < 0
      || write_sysctl (localnet, err) < 0)
    return reg_error_prefix (err, "network %s", d->name);
  char *cmds = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&cmds, &len);
  if (f == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  net_elements (f, t, d);
  fclose (f);
  int ret = reg_nft_run (cmds, NULL, err);
  free (cmds);
  if (ret < 0)
    return reg_error_prefix (err, "network %s: table ip %s", d->name, t);
  reg_netdocker_sync (d->bridge, true);
  return 0;
}

/* ---- addresses: one file per allocated address ---- */

static int
ipam_alloc (const char *root, struct reg_net_config *cfg, const struct netdef *d, const char *id,
            struct in_addr *out, struct reg_error **err)
{
  const char *b = d->bridge;
  _cleanup_free_ char *dir = reg_root_path (root, REG_ROOT_ADDRESSES, b, NULL);
  if (dir == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_util_mkdir_p (dir, 0700, err) < 0)
    return -1;
  uint32_t size = 1u << (32 - d->prefix), count = size - 3; /* not net, gateway, broadcast */
  for (uint32_t k = 0; k < count; k++)
    {
      uint32_t host = 2 + (cfg->next_host + k) % count;
      struct in_addr a = { htonl (ntohl (d->net.s_addr) + host) };
      char ip[INET_ADDRSTRLEN];
      inet_ntop (AF_INET, &a, ip, sizeof ip);
      _cleanup_free_ char *path = reg_netrelease_ip_file (root, b, ip);
      if (path == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0 && errno == EEXIST)
        continue;
      if (fd < 0 || reg_util_write_all (fd, id, 64) < 0)
        {
          int e = errno;
          if (fd >= 0)
            close (fd), unlink (path);
          return reg_error_sys (err, e, "allocate an address: %s", path);
        }
      close (fd);
      cfg->next_host = (host - 2 + 1) % count;
      *out = a;
      return 0;
    }
  _cleanup_free_ char *sub = cidr_text (d->net, d->prefix);
  return reg_error_set (err, ENOSPC, "network %s: no free address left in %s", d->name,
                        sub ? sub : "");
}

/* ---- host ports ---- */

/* A host port must be free on the host (nothing listens on it); -p
 * CONTAINERPORT takes a free one from the kernel. */
static int
claim_port (struct reg_port_binding *p, struct reg_error **err)
{
  int fd = socket (AF_INET, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (p->host_port) };
  if (p->host_ip[0])
    inet_pton (AF_INET, p->host_ip, &a.sin_addr);
  socklen_t len = sizeof a;
  int ret = 0;
  if (fd < 0 || bind (fd, (struct sockaddr *)&a, sizeof a) < 0)
    {
      int e = errno;
      const char *proto = p->udp ? "udp" : "tcp";
      const char *ip = p->host_ip[0] ? p->host_ip : "0.0.0.0";
      if (e == EADDRINUSE)
        ret = reg_error_set (err, EBUSY, "port %s:%u/%s: already in use on the host", ip,
                             p->host_port, proto);
      else if (e == EADDRNOTAVAIL)
        ret = reg_error_set (err, EINVAL, "port %s:%u/%s: %s is not an address of this host", ip,
                             p->host_port, proto, ip);
      else
        ret = reg_error_sys (err, e, "port %s:%u/%s", ip, p->host_port, proto);
    }
  else if (p->host_port == 0 && getsockname (fd, (struct sockaddr *)&a, &len) == 0)
    p->host_port = ntohs (a.sin_port);
  if (fd >= 0)
    close (fd);
  return ret;
}

static int
resolve_ports (const struct reg_container *c, struct reg_net_state *n, struct reg_error **err)
{
  size_t count = reg_strv_len (c->ports);
  if (count == 0)
    return 0;
  if ((n->ports = calloc (count, sizeof *n->ports)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; i < count; i++, n->n_ports++)
    {
      if (!reg_network_port_parse (c->ports[i], &n->ports[i]))
        return reg_error_set (err, EINVAL, "port \"%s\" is not valid", c->ports[i]);
      for (size_t k = 0; k < i; k++)
        if (n->ports[k].host_port && n->ports[k].host_port == n->ports[i].host_port
            && n->ports[k].udp == n->ports[i].udp)
          return reg_error_set (err, EINVAL, "port \"%s\": host port %u is published twice",
                                c->ports[i], n->ports[i].host_port);
      if (claim_port (&n->ports[i], err) < 0)
        return -1;
    }
  return 0;
}

/* ---- attach and detach ---- */

static int
set_net (struct reg_container *c, void *data, struct reg_error **err)
{
  const struct reg_net_state *n = data;
  reg_container_net_clear (&c->net);
  c->net = *n;
  if (n->n_ports && (c->net.ports = calloc (n->n_ports, sizeof *n->ports)) == NULL)
    {
      memset (&c->net, 0, sizeof c->net);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  if (n->n_ports)
    memcpy (c->net.ports, n->ports, n->n_ports * sizeof *n->ports);
  return 0;
}

static int
clear_net (struct reg_container *c, void *data, struct reg_error **err)
{
  reg_container_net_clear (&c->net);
  return 0;
}

static void
bridge_detach (const char *root, const char *id, int *netns_fd)
{
  struct reg_container *c = NULL;
  if (reg_container_load (root, id, &c, NULL) == 0)
    {
      reg_netrelease (root, id, &c->net);
      reg_container_update (root, id, clear_net, NULL, NULL);
      reg_container_free (c);
    }
  if (*netns_fd >= 0)
    close (*netns_fd);
  *netns_fd = -1; /* the veth goes with the namespace */
}

static void
fill_state (const struct netdef *d, struct in_addr a, struct reg_net_state *n)
{
  snprintf (n->network, sizeof n->network, "%s", d->name);
  snprintf (n->bridge, sizeof n->bridge, "%s", d->bridge);
  inet_ntop (AF_INET, &a, n->ip, sizeof n->ip);
  inet_ntop (AF_INET, &d->gw, n->gateway, sizeof n->gateway);
  n->prefix = d->prefix;
  const unsigned char *b = (const unsigned char *)&a.s_addr;
  snprintf (n->mac, sizeof n->mac, "02:42:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3]);
}

/* ---- the pool of namespaces made ahead (netpool.h) ---- */

static void
mac_of (struct in_addr a, unsigned char mac[6])
{
  const unsigned char *b = (const unsigned char *)&a.s_addr;
  unsigned char m[6] = { 0x02, 0x42, b[0], b[1], b[2], b[3] }; /* as Docker's */
  memcpy (mac, m, sizeof m);
}

static void
pool_unlink_address (const struct reg_net_config *cfg, struct in_addr a)
{
  char ip[INET_ADDRSTRLEN];
  inet_ntop (AF_INET, &a, ip, sizeof ip);
  _cleanup_free_ char *path = reg_netrelease_ip_file (cfg->root, bridge_name (cfg), ip);
  if (path)
    unlink (path);
}

static void
pool_discard (void *ctx, struct reg_netpool_entry *e)
{
  pool_unlink_address (ctx, e->addr);
  close (e->netns_fd); /* the veth goes with the namespace */
}

/* One namespace on the default bridge, addressed, its address held by the
 * pool (REG_NETPOOL_OWNER). The host end is rvp<12 hex>: no container id
 * is known yet. */
static int
pool_make (void *ctx, struct reg_netpool_entry *out, struct reg_error **err)
{
  struct reg_net_config *cfg = ctx;
  struct netdef d;
  unsigned char rnd[6] = { 0 };
  if (netdef_of (cfg->root, cfg, "bridge", &d, err) < 0)
    return -1;
  unsigned index = if_nametoindex (d.bridge);
  if (index == 0)
    return reg_error_sys (err, errno, "bridge %s", d.bridge);
  struct in_addr addr;
  if (ipam_alloc (cfg->root, cfg, &d, REG_NETPOOL_OWNER, &addr, err) < 0)
    return -1;
  if (getrandom (rnd, sizeof rnd, 0) < 0)
    memcpy (rnd, &addr.s_addr, 4);
  char host_name[16];
  snprintf (host_name, sizeof host_name, "rvp%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
            rnd[3], rnd[4], rnd[5]);
  struct reg_rtnl_endpoint ep = { d.bridge, host_name, -1, addr, d.gw, d.prefix, { 0 }, NULL };
  mac_of (addr, ep.mac);
  struct reg_netpool_entry e = { -1, addr, index };
  if (reg_rtnl_netns_new (&e.netns_fd, err) == 0)
    {
      ep.netns_fd = e.netns_fd;
      if (reg_rtnl_endpoint_create (&ep, err) == 0)
        {
          *out = e;
          return 0;
        }
    }
  if (e.netns_fd >= 0)
    close (e.netns_fd);
  pool_unlink_address (cfg, addr);
  return reg_error_prefix (err, "network bridge: %s", host_name);
}

static const struct reg_netpool_ops pool_ops = { pool_make, pool_discard };

/* An entry of the pool for container `id`: its address file now names the
 * container. False when the pool has none (or the bridge was made again
 * since: its entries are on the old one, and all go). */
static bool
pool_claim (struct reg_net_config *cfg, const struct netdef *d, const char *id, bool wait,
            struct in_addr *addr, int *netns_fd)
{
  struct reg_netpool_entry e;
  if (cfg->pool == NULL || strcmp (d->name, "bridge") != 0)
    return false;
  while (reg_netpool_take (cfg->pool, wait, &e))
    {
      if (e.bridge_index != if_nametoindex (d->bridge))
        {
          pool_discard (cfg, &e);
          reg_netpool_drain (cfg->pool);
          return false;
        }
      char ip[INET_ADDRSTRLEN];
      inet_ntop (AF_INET, &e.addr, ip, sizeof ip);
      _cleanup_free_ char *path = reg_netrelease_ip_file (cfg->root, d->bridge, ip);
      _cleanup_close_ int fd = path ? open (path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
      if (fd >= 0 && pwrite (fd, id, 64, 0) == 64)
        {
          *addr = e.addr;
          *netns_fd = e.netns_fd;
          return true;
        }
      pool_discard (cfg, &e);
    }
  return false;
}

/* The container's address, and its namespace when it comes from the pool
 * (*netns_fd >= 0). With no free address left, an entry the pool is
 * making may hold the last one: it is waited for. */
static int
bridge_place (const char *root, struct reg_net_config *cfg, const struct netdef *d, const char *id,
              struct in_addr *addr, int *netns_fd, struct reg_error **err)
{
  if (pool_claim (cfg, d, id, false, addr, netns_fd))
    return 0;
  if (ipam_alloc (root, cfg, d, id, addr, err) == 0)
    return 0;
  if ((*err)->code != ENOSPC || !pool_claim (cfg, d, id, true, addr, netns_fd))
    return -1;
  reg_error_free (*err);
  *err = NULL;
  return 0;
}

static int
bridge_attach (const char *root, struct reg_net_config *cfg, struct reg_container *c, int *netns_fd,
               struct reg_error **err)
{
  struct reg_net_state n = { 0 };
  struct in_addr addr = { 0 };
  struct netdef d;
  if (netdef_of (root, cfg, c->network_mode, &d, err) < 0 || resolve_ports (c, &n, err) < 0
      || ensure_ready (cfg, &d, err) < 0
      || bridge_place (root, cfg, &d, c->id, &addr, netns_fd, err) < 0)
    {
      free (n.ports);
      return reg_error_prefix (err, "container %.12s", c->id);
    }
  bool pooled = *netns_fd >= 0;
  if (strcmp (d.name, "bridge") == 0)
    reg_netpool_kick (cfg->pool); /* one more, made while this one starts */
  fill_state (&d, addr, &n);
  /* Recorded first: whatever fails next, release finds it. */
  int ret = reg_container_update (root, c->id, set_net, &n, err);
  struct reg_rtnl_endpoint ep = { d.bridge, NULL, -1, addr, d.gw, d.prefix, { 0 }, NULL };
  char host_name[16];
  unsigned short rnd = 0;
  if (getrandom (&rnd, sizeof rnd, 0) < 0)
    rnd = (unsigned short)getpid ();
  snprintf (host_name, sizeof host_name, "rv%.6s%04x", c->id, rnd);
  ep.host_name = host_name;
  sscanf (n.mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &ep.mac[0], &ep.mac[1], &ep.mac[2], &ep.mac[3],
          &ep.mac[4], &ep.mac[5]);
  if (ret == 0 && !pooled)
    ret = reg_rtnl_netns_new (netns_fd, err);
  if (ret == 0 && !pooled)
    {
      ep.netns_fd = *netns_fd;
      ret = reg_rtnl_endpoint_create (&ep, err);
    }
  char *cmds = NULL;
  size_t len = 0;
  FILE *f = ret == 0 && n.n_ports ? open_memstream (&cmds, &len) : NULL;
  if (f)
    {
      publish_cmds (f, bridge_name (cfg), c->id, &n);
      fclose (f);
      if (reg_nft_run (cmds, NULL, err) < 0)
        {
          if ((*err)->code == EEXIST)
            {
              reg_error_free (*err);
              *err = NULL;
              reg_error_set (err, EBUSY,
                             "a host port of -p is already published by another "
                             "container");
            }
          ret = reg_error_prefix (err, "publish ports");
          /* The failed batch made nothing: only the address to give back. */
          struct reg_net_state bare = n;
          bare.n_ports = 0;
          _cleanup_free_ char *ip_file = reg_netrelease_ip_file (root, bare.bridge, bare.ip);
          if (ip_file)
            unlink (ip_file);
          reg_container_update (root, c->id, clear_net, NULL, NULL);
          close (*netns_fd);
          *netns_fd = -1;
          free (cmds);
          free (n.ports);
          return reg_error_prefix (err, "container %.12s", c->id);
        }
    }
  free (cmds);
  free (n.ports);
  if (ret < 0)
    {
      bridge_detach (root, c->id, netns_fd);
      return reg_error_prefix (err, "container %.12s", c->id);
    }
  return 0;
}

/* ---- regd start ---- */

static int
choose_subnet (const char *root, struct reg_net_config *cfg, struct reg_error **err)
{
  const char *b = bridge_name (cfg);
  _cleanup_free_ char *record = reg_root_path (root, REG_ROOT_SUBNET, b, NULL), *text = NULL;
  if (record == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  const char *want = cfg->subnet;
  if (want == NULL && reg_util_read_file (record, 64, &text, NULL, NULL) == 0)
    {
      text[strcspn (text, "\n")] = '\0';
      want = text;
    }
  char what[128];
  if (want)
    {
      if (!reg_rtnl_parse_cidr (want, &cfg->net, &cfg->prefix) || cfg->prefix < 8
          || cfg->prefix > 28)
        return reg_error_set (err, EINVAL,
                              "bridge subnet \"%s\": want an IPv4 network A.B.C.D/N with N from 8 "
                              "to 28 and no host bits set",
                              want);
      int used = reg_rtnl_subnet_in_use (cfg->net, cfg->prefix, b, what, err);
      if (used < 0)
        return -1;
      if (used)
        return reg_error_set (err, EEXIST,
                              "bridge subnet %s overlaps the host's route to %s: choose another "
                              "with --bridge-subnet",
                              want, what);
    }
  else
    {
      bool found = false;
      for (int i = 0; !found && i < 24; i++)
        {
          char cand[32];
          snprintf (cand, sizeof cand, i < 12 ? "10.%d.0.0/16" : "172.%d.0.0/16",
                    i < 12 ? 88 + i : 16 + (i - 12));
          reg_rtnl_parse_cidr (cand, &cfg->net, &cfg->prefix);
          int used = reg_rtnl_subnet_in_use (cfg->net, cfg->prefix, b, what, err);
          if (used < 0)
            return -1;
          found = !used;
        }
      if (!found)
        return reg_error_set (err, EEXIST,
                              "bridge %s: every default subnet overlaps a host route: choose one "
                              "with --bridge-subnet",
                              b);
    }
  cfg->gw.s_addr = htonl (ntohl (cfg->net.s_addr) + 1);
  _cleanup_free_ char *sub = subnet_text (cfg);
  _cleanup_free_ char *dir = reg_root_path (root, REG_ROOT_NETWORKS, NULL, NULL);
  if (sub == NULL || dir == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_util_mkdir_p (dir, 0700, err) < 0
      || reg_util_write_atomic (record, sub, strlen (sub), 0600, err) < 0)
    return -1;
  return 0;
}

static bool
running_on (const char *root, const char *id, struct reg_container **out)
{
  struct reg_container *c = NULL;
  if (reg_container_load (root, id, &c, NULL) < 0)
    return false;
  if (reg_state_live (c->state) && reg_container_monitor_alive (c) && c->net.ip[0])
    {
      *out = c;
      return true;
    }
  reg_container_free (c);
  return false;
}

static bool
holds_link (const struct reg_container *c, const char *ip)
{
  for (size_t i = 0; i < c->net.n_links; i++)
    if (strcmp (c->net.links[i].ip, ip) == 0)
      return true;
  return false;
}

static int
clear_stale_net (struct reg_container *c, void *data, struct reg_error **err)
{
  if (!reg_state_live (c->state) && strcmp (c->net.ip, (const char *)data) == 0)
    reg_container_net_clear (&c->net);
  return 0;
}

/* One IPAM directory: free what no running container holds; collect the
 * published ports of those that do. */
static void
reconcile_dir (const char *root, const char *table, const char *dir, FILE *f)
{
  DIR *d = opendir (dir);
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      char owner[65] = "";
      int fd = openat (dirfd (d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      ssize_t got = fd >= 0 ? read (fd, owner, 64) : -1;
      if (fd >= 0)
        close (fd);
      struct reg_container *c = NULL;
      if (got == 64 && running_on (root, owner, &c) && strcmp (c->net.ip, de->d_name) == 0)
        publish_cmds (f, table, c->id, &c->net);
      else if (c && holds_link (c, de->d_name))
        ; /* an address of a network connected to it */
      else
        {
          unlinkat (dirfd (d), de->d_name, 0);
          /* Its state may still name the address (regd died mid-start). */
          if (got == 64 && c == NULL)
            reg_container_update (root, owner, clear_stale_net, de->d_name, NULL);
        }
      reg_container_free (c);
    }
  if (d)
    closedir (d);
}

/* Every network: its addresses, and (when its bridge exists) its
 * elements; the table rebuilt in one batch. */
static int
reconcile (const char *root, struct reg_net_config *cfg, struct reg_error **err)
{
  const char *b = bridge_name (cfg);
  _cleanup_free_ char *cmds = NULL, *base = base_cmds (cfg);
  _cleanup_strv_ char **names = NULL;
  size_t len = 0;
  FILE *f = base ? open_memstream (&cmds, &len) : NULL;
  if (f == NULL || reg_netstore_list (root, &names, NULL) < 0)
    {
      if (f)
        fclose (f);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  fputs (base, f);
  for (size_t i = 0; i == 0 || names[i - 1]; i++)
    {
      struct netdef d;
      if (netdef_of (root, cfg, i == 0 ? "bridge" : names[i - 1], &d, NULL) < 0)
        continue;
      _cleanup_free_ char *dir = reg_root_path (root, REG_ROOT_ADDRESSES, d.bridge, NULL);
      if (dir == NULL)
        continue;
      reconcile_dir (root, b, dir, f);
      if (if_nametoindex (d.bridge) != 0)
        {
          net_elements (f, b, &d);
          reg_netdocker_sync (d.bridge, true);
        }
    }
  fclose (f);
  /* The table only where the bridge exists: a regd that never made one
   * (or a reboot that took it) has nothing to rebuild. */
  if (if_nametoindex (b) == 0)
    return 0;
  if (reg_nft_run (cmds, NULL, err) < 0)
    return reg_error_prefix (err, "bridge %s: rebuild table ip %s", b, b);
  cfg->ready = true;
  return 0;
}

int
reg_network_create (const char *root, const struct reg_net_config *cfg, const char *name,
                    const char *subnet, struct reg_netstore_net *out, struct reg_error **err)
{
  return reg_netstore_create (root, name, subnet, bridge_name (cfg), cfg->net, cfg->prefix, out,
                              err);
}

int
reg_network_remove (const char *root, const struct reg_net_config *cfg, const char *name,
                    struct reg_error **err)
{
  struct netdef d;
  _cleanup_strv_ char **ids = NULL;
  if (netdef_of (root, cfg, name, &d, err) < 0 || reg_container_list (root, &ids, err) < 0)
    return -1;
  for (size_t i = 0; ids[i]; i++)
    {
      struct reg_container *c = NULL;
      if (reg_container_load (root, ids[i], &c, NULL) < 0)
        continue;
      bool busy
          = (strcmp (c->network_mode, name) == 0
             && (c->net.ip[0] || (reg_state_live (c->state) && reg_container_monitor_alive (c))))
            || reg_container_net_link (&c->net, name) != NULL;
      char id[13];
      snprintf (id, sizeof id, "%.12s", c->id);
      reg_container_free (c);
      if (busy)
        return reg_error_set (err, EBUSY, "network %s: in use by container %s (stop it first)",
                              name, id);
    }
  char *cmds = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&cmds, &len);
  if (f)
    {
      _cleanup_free_ char *sub = cidr_text (d.net, d.prefix);
      const char *t = bridge_name (cfg);
      fprintf (f,
               "delete element ip %s subnets { %s }\ndelete element ip %s bridges { \"%s\" }\n"
               "delete element ip %s samenet { \"%s\" . \"%s\" }\n",
               t, sub ? sub : "", t, d.bridge, t, d.bridge, d.bridge);
      fclose (f);
      reg_nft_run (cmds, NULL, NULL); /* not there when its bridge never was */
      free (cmds);
    }
  reg_netdocker_sync (d.bridge, false);
  return reg_netstore_remove (root, name, err);
}

int
reg_network_init (const char *root, struct reg_net_config *cfg, struct reg_error **err)
{
  const char *b = bridge_name (cfg);
  if (!bridge_name_ok (b))
    return reg_error_set (err, EINVAL,
                          "bridge name \"%s\": use at most 15 letters, digits and '_', starting "
                          "with a letter",
                          b);
  if (choose_subnet (root, cfg, err) < 0 || reconcile (root, cfg, err) < 0)
    return -1;
  reg_netdocker_check_forward (b);
  cfg->root = root;
  if (cfg->pool_size > 0 && (cfg->pool = reg_netpool_new (cfg->pool_size, &pool_ops, cfg)) == NULL)
    return reg_error_set (err, ENOMEM, "network namespace pool of %u: out of memory",
                          cfg->pool_size);
  return 0;
}

void
reg_network_fini (struct reg_net_config *cfg)
{
  reg_netpool_free (cfg->pool);
  cfg->pool = NULL;
}

/* ---- connect and disconnect a running container ---- */

static int
add_link (struct reg_container *c, void *data, struct reg_error **err)
{
  const struct reg_net_link *l = data;
  struct reg_net_link *grown = realloc (c->net.links, (c->net.n_links + 1) * sizeof *grown);
  if (grown == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  c->net.links = grown;
  grown[c->net.n_links] = *l;
  grown[c->net.n_links].aliases = reg_strv_dup (l->aliases);
  if (grown[c->net.n_links].aliases == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  c->net.n_links++;
  return 0;
}

static int
drop_link (struct reg_container *c, void *data, struct reg_error **err)
{
  struct reg_net_link *l = reg_container_net_link (&c->net, data);
  if (l == NULL)
    return 0;
  reg_strv_free (l->aliases);
  size_t i = (size_t)(l - c->net.links);
  memmove (l, l + 1, (c->net.n_links - i - 1) * sizeof *l);
  c->net.n_links--;
  return 0;
}

/* What connect refuses before anything is made. */
static int
connect_check (const struct reg_container *c, const struct netdef *d, char *const *aliases,
               struct reg_error **err)
{
  if (!reg_network_on_bridge (c->network_mode))
    return reg_error_set (err, EINVAL,
                          "container %.12s runs with --network %s: it has no network of its own "
                          "to connect to %s",
                          c->id, c->network_mode, d->name);
  if (c->net.ip[0] == '\0')
    return reg_error_set (err, EBUSY, "container %.12s is not running", c->id);
  if (strcmp (c->net.network, d->name) == 0 || reg_container_net_link (&c->net, d->name))
    return reg_error_set (err, EEXIST, "container %.12s is already connected to network %s", c->id,
                          d->name);
  if (strcmp (d->name, "bridge") == 0 && reg_strv_len (aliases) > 0)
    return reg_error_set (
        err, EINVAL, "--alias %s: aliases exist only on a user network, not on bridge", aliases[0]);
  for (size_t i = 0; aliases && aliases[i]; i++)
    if (!reg_etcfiles_hostname_ok (aliases[i]))
      return reg_error_set (err, EINVAL, "--alias \"%s\": not a host name (RFC 1123)", aliases[i]);
  return 0;
}

/* The first of eth1, eth2, ... no link of c uses. */
static void
link_ifname (const struct reg_container *c, char out[16])
{
  for (int k = 1;; k++)
    {
      snprintf (out, 16, "eth%d", k);
      bool used = false;
      for (size_t i = 0; i < c->net.n_links; i++)
        used = used || strcmp (c->net.links[i].ifname, out) == 0;
      if (!used)
        return;
    }
}

static int
open_netns (const struct reg_container *c, struct reg_error **err)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/ns/net", (int)c->pid);
  int fd = c->pid > 0 ? open (path, O_RDONLY | O_CLOEXEC) : -1;
  if (fd < 0)
    return reg_error_sys (err, c->pid > 0 ? errno : ESRCH, "container %.12s: its network namespace",
                          c->id);
  return fd;
}

int
reg_network_connect (const char *root, struct reg_net_config *cfg, const char *network,
                     const struct reg_container *c, char *const *aliases, struct reg_error **err)
{
  struct netdef d;
  if (netdef_of (root, cfg, network, &d, err) < 0 || connect_check (c, &d, aliases, err) < 0
      || ensure_ready (cfg, &d, err) < 0)
    return -1;
  struct in_addr addr;
  if (ipam_alloc (root, cfg, &d, c->id, &addr, err) < 0)
    return -1;
  struct reg_net_state n = { 0 };
  fill_state (&d, addr, &n);
  struct reg_net_link l = { .prefix = n.prefix, .aliases = (char **)aliases };
  snprintf (l.network, sizeof l.network, "%s", n.network);
  snprintf (l.bridge, sizeof l.bridge, "%s", n.bridge);
  memcpy (l.ip, n.ip, sizeof l.ip);
  memcpy (l.gateway, n.gateway, sizeof l.gateway);
  memcpy (l.mac, n.mac, sizeof l.mac);
  link_ifname (c, l.ifname);
  unsigned short rnd = 0;
  if (getrandom (&rnd, sizeof rnd, 0) < 0)
    rnd = (unsigned short)getpid ();
  snprintf (l.host_if, sizeof l.host_if, "rv%.6s%04x", c->id, rnd);
  struct reg_rtnl_endpoint ep = { d.bridge, l.host_if, -1, addr, d.gw, d.prefix, { 0 }, l.ifname };
  sscanf (l.mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &ep.mac[0], &ep.mac[1], &ep.mac[2], &ep.mac[3],
          &ep.mac[4], &ep.mac[5]);
  int ret = (ep.netns_fd = open_netns (c, err)) < 0 ? -1 : reg_rtnl_endpoint_create (&ep, err);
  if (ep.netns_fd >= 0)
    close (ep.netns_fd);
  /* Recorded once made: a crash before leaves an address no state names,
   * which regd's next start frees. */
  if (ret == 0 && (ret = reg_container_update (root, c->id, add_link, &l, err)) < 0)
    reg_rtnl_link_delete (l.host_if, NULL);
  if (ret < 0)
    {
      reg_netrelease_ip (root, c->id, l.bridge, l.ip);
      return reg_error_prefix (err, "connect container %.12s to network %s", c->id, d.name);
    }
  reg_netpeers_refresh (root, d.name); /* it, and every other member */
  return 0;
}

int
reg_network_disconnect (const char *root, const char *network, const struct reg_container *c,
                        struct reg_error **err)
{
  if (!reg_network_on_bridge (c->network_mode) || c->net.ip[0] == '\0')
    return reg_error_set (err, ENOENT, "container %.12s is not connected to network %s", c->id,
                          network);
  if (strcmp (c->net.network, network) == 0)
    return reg_error_set (err, EINVAL,
                          "container %.12s: network %s is its --network, which it keeps while it "
                          "runs (only networks connected to it can be disconnected)",
                          c->id, network);
  const struct reg_net_link *l = reg_container_net_link (&c->net, network);
  if (l == NULL)
    return reg_error_set (err, ENOENT, "container %.12s is not connected to network %s", c->id,
                          network);
  if (reg_rtnl_link_delete (l->host_if, err) < 0)
    return reg_error_prefix (err, "disconnect container %.12s from network %s", c->id, network);
  reg_netrelease_ip (root, c->id, l->bridge, l->ip);
  reg_container_update (root, c->id, drop_link, (void *)network, NULL);
  reg_netpeers_refresh_left (root, network, c->id);
  return 0;
}
