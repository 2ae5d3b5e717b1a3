/* netstore: user networks (`reg network create`), one record each:
 * <root>/networks/<name>.json {"Name", "Id", "Subnet", "Gateway",
 * "Bridge", "Created"}, written atomically.
 *
 * A user network is a bridge of its own, "<default bridge>-<n>" (so every
 * bridge of a regd starts with its table's name), with a subnet that
 * overlaps no host route and no other network of this regd. Its bridge is
 * made at the first start on it (network.h) and removed with the record.
 * Containers on one network reach each other by name and alias; across
 * networks they cannot reach each other (network.h).
 */
#ifndef REG_NETSTORE_H
#define REG_NETSTORE_H

#include <netinet/in.h>
#include <stdbool.h>

#include "error.h"

#define REG_NETWORK_NAME_MAX 63

struct reg_netstore_net
{
  char name[REG_NETWORK_NAME_MAX + 1];
  char id[65];
  char bridge[16];
  struct in_addr net, gw;
  int prefix;
  char created[40];
};

/* A name: letters, digits, '_', '.', '-', a letter or digit first, at most
 * 63 bytes; not a mode's name (bridge, host, none, default). */
bool reg_netstore_name_ok (const char *name);

int reg_netstore_get (const char *root, const char *name, struct reg_netstore_net *out,
                      struct reg_error **err);
/* Names of every user network (allocated strv). */
int reg_netstore_list (const char *root, char ***names, struct reg_error **err);

/* Create `name` (subnet NULL: the first free /24 of 10.89.0.0/16).
 * default_bridge/default_net/prefix: regd's bridge, whose subnet is
 * taken too. EEXIST for a name or a subnet in use, EINVAL for bad input. */
int reg_netstore_create (const char *root, const char *name, const char *subnet,
                         const char *default_bridge, struct in_addr default_net, int default_prefix,
                         struct reg_netstore_net *out, struct reg_error **err);
/* Remove the record and its bridge (the caller checked it is unused). */
int reg_netstore_remove (const char *root, const char *name, struct reg_error **err);

/* The record as JSON (Docker's names where they exist). */
struct json_t;
struct json_t *reg_netstore_to_json (const struct reg_netstore_net *n);

#endif
