/* nft: reg's own nftables table, through libnftables.
 *
 * reg keeps its rules in its own table (`table ip <bridge>`: named after
 * its bridge, so two regds with two bridges never meet); other tables
 * (Docker's, the host firewall's) are left as they are, but for the
 * accept rules netdocker.h puts in Docker's DOCKER-USER chain.
 *
 * libnftables is loaded with dlopen the first time it is needed, not
 * linked: reg-monitor, one per container, uses it only to remove a
 * container's published ports when it stops, and linking it (with
 * libnftnl, libgmp, libxtables...) would cost every monitor its
 * relocations whether or not it publishes anything. Calls are serialised
 * (one context at a time).
 */
#ifndef REG_NFT_H
#define REG_NFT_H

#include "error.h"

/* Run nft commands (one batch: all or nothing). *output (when wanted) is
 * the JSON output, allocated. Errors carry libnftables' message. */
int reg_nft_run (const char *cmds, char **output, struct reg_error **err);

#endif
