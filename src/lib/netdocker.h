/* netdocker: reg's bridges on a host where Docker runs.
 *
 * Docker sets the iptables FORWARD policy to DROP (table `ip filter`,
 * chain FORWARD) when it turns on IP forwarding itself. A packet is
 * dropped when any base chain on its hook drops it, so no accept in reg's
 * own table can let containers on reg's bridges through: they would reach
 * nothing beyond the host, and published ports would not answer other
 * hosts. Docker documents one place for other rules to go, its DOCKER-USER
 * chain, which its FORWARD chain jumps to first and which Docker itself
 * never flushes. So, and only there:
 *
 *   when table ip filter has a DOCKER-USER chain and its FORWARD chain's
 *   policy is drop, regd inserts, for each of its bridges, three rules
 *   commented "reg <bridge>":
 *     iifname BRIDGE accept                                  (outbound)
 *     oifname BRIDGE ct state established,related accept     (replies)
 *     oifname BRIDGE ct status dnat accept                   (published ports)
 *   and removes them (found by the comment) when the bridge goes
 *   (`reg network rm`). Syncing deletes the bridge's old rules and inserts
 *   new ones in one batch, so it is idempotent and a Docker that was
 *   restarted (its chain made again) is caught up.
 *
 * Nothing else of Docker's is read or written; on a host without Docker
 * (no such chain) these are no-ops. A FORWARD policy of DROP without a
 * DOCKER-USER chain (another firewall) gets a warning naming the cause.
 * Isolation between reg's networks stays in reg's own table (its forward
 * chain drops first whatever is accepted here).
 */
#ifndef REG_NETDOCKER_H
#define REG_NETDOCKER_H

#include <stdbool.h>

/* Make DOCKER-USER accept bridge's traffic (present, and only where the
 * FORWARD policy drops) or forget it. Returns 1 when Docker's chain is
 * there, 0 when it is not, -1 when the change failed (the reason on
 * stderr: never fatal). */
int reg_netdocker_sync (const char *bridge, bool present);

/* regd's start: when the FORWARD policy drops and there is no DOCKER-USER
 * chain to add to, a warning on stderr. */
void reg_netdocker_check_forward (const char *bridge);

#endif
