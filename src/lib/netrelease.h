/* netrelease: give back what a bridged container held while it ran — its
 * published ports (its chain and map entries in reg's nft table) and its
 * addresses (the allocation files under the engine root: its own, and
 * those of the networks connected to it). Its veth pair needs
 * nothing: it lives in the container's network namespace and goes with it.
 *
 * Linked into reg-monitor (which releases when its container stops for
 * good) and regd (rm of a container whose monitor was killed, and the
 * reconciliation at start), so it holds only what both need. Safe to call
 * twice: what is already gone is skipped.
 */
#ifndef REG_NETRELEASE_H
#define REG_NETRELEASE_H

#include "container.h"

/* <root>/networks/<bridge>/<ip>: the allocation file of an address. */
char *reg_netrelease_ip_file (const char *root, const char *bridge, const char *ip);

/* reg's nft table of a bridge: the default bridge's name, which a user
 * network's bridge ("<default>-<n>") starts with. */
void reg_netrelease_table (const char *bridge, char table[16]);

/* nft commands that remove c's published ports (NULL: none to remove). */
char *reg_netrelease_unpublish_cmds (const char *id, const struct reg_net_state *n);

/* Remove an address's allocation file if it is still container id's. */
void reg_netrelease_ip (const char *root, const char *id, const char *bridge, const char *ip);

/* Release c->net, its links' addresses too (then the caller clears it in
 * the state). The links' veths go with the namespace. */
void reg_netrelease (const char *root, const char *id, const struct reg_net_state *n);
/* What c's state records it holds, released and cleared in its state; its
 * network's peers forget it. Nothing when it holds no address. */
void reg_netrelease_recorded (const char *root, const struct reg_container *c);
/* Is clearing the record after the release wasted work? For a stopped
 * --rm container on the default bridge with no published ports and no
 * network connected to it (whose peers read its record): its state
 * is removed right after, no peer reads it (the default bridge has no
 * name resolution), and if its monitor dies before, releasing again is
 * harmless (the address file goes only while it names this container).
 * A state update there was 1-1.5 ms of a `run --rm` on a busy machine. */
bool reg_netrelease_record_unneeded (const struct reg_container *c);

#endif
