/* netpool: network namespaces for the default bridge, prepared ahead.
 *
 * Making a bridged container's place on the bridge is a network namespace
 * (a loopback device registered under the kernel's rtnl lock) and a veth
 * pair (two more devices, each registration and, later, unregistration
 * under the same lock with RCU grace periods): 2-25 ms on the start path,
 * most of it waiting for the lock that the teardown of the previous
 * container's namespace holds. A pool keeps a few namespaces made ahead,
 * each with its veth on the bridge, its address, lo and eth0 up and its
 * default route, so a start only takes one (docs/networking.md has the
 * measurements).
 *
 * What it promises:
 *  - a taken entry is the caller's: its namespace fd and its address; no
 *    one else holds either;
 *  - it refills in the background, in one thread of its own, started at
 *    the first kick (the first bridged start: the bridge exists from then
 *    on) and re-armed by every kick; a failed refill is reported on
 *    stderr and waits for the next kick, so a full subnet does not spin;
 *  - entries are never reused: a container's namespace dies with it (the
 *    kernel takes its veth away, off the start path);
 *  - crash-safe by construction: an entry's namespace lives only through
 *    the pool's fd (O_CLOEXEC, so no monitor inherits one), and its
 *    address file names REG_NETPOOL_OWNER, which no container id can be.
 *    When regd dies, the kernel removes the namespaces and their veths,
 *    and regd's next start frees the addresses like every other one no
 *    running container holds (network.c, reconcile).
 *
 * The pool knows nothing of addresses or links: network.c gives it the
 * functions that make and discard one entry.
 */
#ifndef REG_NETPOOL_H
#define REG_NETPOOL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* What a pool entry's address file holds instead of a container id: 64
 * bytes, as a container id, but not hexadecimal. */
#define REG_NETPOOL_OWNER "netpool-netpool-netpool-netpool-netpool-netpool-netpool-netpool-"

#define REG_NETPOOL_DEFAULT_SIZE 2
#define REG_NETPOOL_MAX_SIZE 64

struct reg_netpool_entry
{
  int netns_fd;
  struct in_addr addr;
  unsigned bridge_index; /* the bridge's ifindex when the veth was put on it */
};

struct reg_netpool_ops
{
  /* Make one entry (its address allocated to REG_NETPOOL_OWNER). */
  int (*make) (void *ctx, struct reg_netpool_entry *out, struct reg_error **err);
  /* Give one back: close its fd, free its address. */
  void (*discard) (void *ctx, struct reg_netpool_entry *e);
};

struct reg_netpool;

/* A pool of at most `size` entries (1..REG_NETPOOL_MAX_SIZE); nothing is
 * made before the first kick. */
struct reg_netpool *reg_netpool_new (size_t size, const struct reg_netpool_ops *ops, void *ctx);

/* Ask for a refill (and start the thread the first time). */
void reg_netpool_kick (struct reg_netpool *p);

/* Take an entry; false when there is none. With wait_building, an entry
 * being made is waited for first (the caller found no free address: the
 * one being made may hold the last). */
bool reg_netpool_take (struct reg_netpool *p, bool wait_building, struct reg_netpool_entry *out);

/* Give every entry back (after a change of the bridge). */
void reg_netpool_drain (struct reg_netpool *p);

/* How many entries are ready. */
size_t reg_netpool_ready (struct reg_netpool *p);

/* Stop the thread and give every entry back. */
void reg_netpool_free (struct reg_netpool *p);

#endif
