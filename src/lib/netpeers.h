/* netpeers: name resolution on a user network, through /etc/hosts.
 *
 * Every container holding an address on a user network (its own, or one
 * connected to it) has a line in the /etc/hosts of every other one:
 * "IP NAME ALIAS... HOSTNAME SHORTID", at its address on that network. The
 * files are rewritten in place (the container sees its bind-mounted file
 * change; a rename would leave it the old inode) whenever a member comes
 * (regd, at its start) or goes (its monitor, when it stops for good), so
 * containers started later are found by name, as with Docker's embedded
 * DNS. glibc reads /etc/hosts at every lookup; docs/networking.md says
 * where this differs from a DNS server. The default bridge has no name
 * resolution (as in Docker).
 *
 * Linked into reg-monitor: it needs only container state and etcfiles.
 */
#ifndef REG_NETPEERS_H
#define REG_NETPEERS_H

#include "container.h"
#include "etcfiles.h"

/* The /etc/hosts fields of c's spec (hostname: 13 bytes for the short id). */
void reg_netpeers_spec (const struct reg_container *c, char hostname[13], struct reg_etc_spec *s);

/* Rewrite the /etc/hosts of every member of `network` (a container is a
 * member of its own network and of those connected to it; its peers are
 * the members of all of them). */
void reg_netpeers_refresh (const char *root, const char *network);
/* The same, and the file of container `id`, which just left `network`. */
void reg_netpeers_refresh_left (const char *root, const char *network, const char *id);

#endif
