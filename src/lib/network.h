/* network: a container's network mode, from the create options to what
 * the runtime needs at start, and the default bridge.
 *
 * Modes (--network, reg.yaml `network:`):
 *   bridge        (the default) a network namespace of its own on regd's
 *                 bridge (below);
 *   host          the host's network namespace;
 *   none          a network namespace of its own with only `lo`, up;
 *   container:REF another container's network namespace (a sidecar): the
 *                 reference is resolved to that container's id at create,
 *                 and at start it must be running. The sidecar shares that
 *                 container's /etc/hosts, /etc/hostname and
 *                 /etc/resolv.conf (and its hostname), as in Docker, so
 *                 --hostname, --dns, --dns-search, --add-host and -p
 *                 conflict with it and are refused.
 * -p with host or none is refused: there is nothing to publish.
 *
 * The bridge (regd --bridge NAME, default reg0; --bridge-subnet CIDR, else
 * the one recorded under the root, else the first of 10.88.0.0/16 ...
 * that no host route overlaps) is made at the first bridged start, with
 * the subnet's first address as the gateway, net.ipv4.ip_forward on and
 * route_localnet on the bridge (127.0.0.1 reaches published ports). reg's
 * nft table, `table ip NAME`, holds the masquerade for outbound traffic
 * and one chain per container with published ports, reached through the
 * `publish` verdict map keyed by protocol and host port.
 *
 * A bridged start (regd, under the container's operation lock): choose the host ports
 * (-p CONTAINERPORT: a free one from the kernel) and check each is free
 * on the host, allocate an address (a file <root>/networks/<bridge>/<ip>
 * holding the container id, made with O_EXCL: crash-safe, no index to
 * repair), make a network namespace and a veth pair into it (eth0 with the
 * address, lo, the default route), add the published ports, record it
 * all in the state (NetworkSettings). On the default bridge the namespace,
 * veth and address come from a pool made ahead (netpool.h, regd
 * --netns-pool) when it has one; the address file then names the
 * container instead of the pool. The namespace's fd goes to the
 * monitor, which holds it for the container's life: when the monitor and
 * the container are gone, the kernel removes the namespace and the veth
 * with it, whoever died. The monitor releases the ports and the address
 * when the container stops for good (netrelease.h); regd releases them
 * for a container whose monitor was killed, and at its start rebuilds its
 * nft table from the running containers and frees every address no
 * running container holds (after a crash or a reboot).
 *
 * At every start regd writes the container's /etc files (etcfiles.h) into
 * containers/<id>/, which the runtime binds over /etc/{hosts,hostname,
 * resolv.conf}.
 */
#ifndef REG_NETWORK_H
#define REG_NETWORK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "container.h"
#include "error.h"

struct reg_net_config
{
  const char *resolv_conf;     /* the host's; default /etc/resolv.conf */
  const char *resolv_upstream; /* default /run/systemd/resolve/resolv.conf */
  const char *bridge;          /* default reg0 */
  const char *subnet;          /* --bridge-subnet, or NULL */
  unsigned pool_size;          /* --netns-pool: namespaces made ahead (netpool.h); 0 none */
  /* Set by reg_network_init. */
  struct in_addr net, gw;
  int prefix;
  bool ready;               /* the bridge and the table exist */
  unsigned next_host;       /* where the next address search starts */
  long docker_checked;      /* when Docker's DOCKER-USER was last synced (netdocker.h) */
  struct reg_netpool *pool; /* the default bridge's, when pool_size > 0 */
  const char *root;         /* for the pool's thread */
};

/* regd start: check the bridge name and subnet (a collision with a host
 * route is an error naming the route), record the subnet, and reconcile:
 * free the addresses no running container holds, and rebuild the nft
 * table (when the bridge exists) from the running containers. */
int reg_network_init (const char *root, struct reg_net_config *cfg, struct reg_error **err);
/* regd's end: the pool's namespaces and addresses given back. */
void reg_network_fini (struct reg_net_config *cfg);

/* "80", "8080:80", "127.0.0.1:8080:80", "127.0.0.1::80", each with an
 * optional /tcp or /udp. */
bool reg_network_port_parse (const char *spec, struct reg_port_binding *b);

struct reg_create_options;

/* Check the network options of a create request (with the other
 * containers under root); *mode is the mode to record (allocated). */
int reg_network_resolve (const char *root, const struct reg_net_config *cfg,
                         const struct reg_create_options *o, char **mode, struct reg_error **err);

/* Before a start: a container: mode needs its container running; a
 * bridged one gets its place on the bridge (*netns_fd: its namespace, for
 * the monitor; else -1); the /etc files are written. On failure nothing is
 * left. */
int reg_network_prepare (const char *root, struct reg_net_config *cfg, const char *id,
                         int *netns_fd, struct reg_error **err);

/* Is a container of this mode on a bridge (the default one or a user
 * network's)? */
static inline bool
reg_network_on_bridge (const char *mode)
{
  return mode && strcmp (mode, "host") != 0 && strcmp (mode, "none") != 0
         && strncmp (mode, "container:", 10) != 0;
}

/* User networks (netstore.h): create, with the default bridge's subnet
 * taken; remove, refused (EBUSY) while a container is on it. */
struct reg_netstore_net;
int reg_network_create (const char *root, const struct reg_net_config *cfg, const char *name,
                        const char *subnet, struct reg_netstore_net *out, struct reg_error **err);
int reg_network_remove (const char *root, const struct reg_net_config *cfg, const char *name,
                        struct reg_error **err);

/* `reg network connect`: a running bridged container (the caller holds
 * its operation lock and the engine's) gets an interface on `network`'s
 * bridge too (eth1, ...: an address of that network, no default route),
 * recorded in its state as a link; the members' /etc/hosts name it, with
 * `aliases`. EINVAL for a container without a network of its own (host,
 * none, container:), EEXIST when it is on that network already, ENOENT for
 * an unknown network. Nothing is left on failure. The link lasts while the
 * container runs: it is given back with its other addresses when it stops
 * for good (netrelease.h). */
int reg_network_connect (const char *root, struct reg_net_config *cfg, const char *network,
                         const struct reg_container *c, char *const *aliases,
                         struct reg_error **err);
/* `reg network disconnect`: the link's veth removed, its address given
 * back, the members' /etc/hosts rewritten. ENOENT when not connected;
 * EINVAL for the network of its --network. */
int reg_network_disconnect (const char *root, const char *network, const struct reg_container *c,
                            struct reg_error **err);

/* "container:<id>" -> the id (a pointer into mode), else NULL. Inline:
 * reg-monitor uses it without linking this module. */
static inline const char *
reg_network_joined (const char *mode)
{
  return mode && strncmp (mode, "container:", 10) == 0 ? mode + 10 : NULL;
}

#endif
