/* network: a container's network mode, from the create options to what
 * the runtime needs at start.
 *
 * Modes (--network, reg.yaml `network:`):
 *   host          the host's network namespace (the default for now);
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
 * At every start regd writes the container's /etc files (etcfiles.h) into
 * containers/<id>/, which the runtime binds over /etc/{hosts,hostname,
 * resolv.conf}.
 */
#ifndef REG_NETWORK_H
#define REG_NETWORK_H

#include <string.h>

#include "container.h"
#include "error.h"

struct reg_net_config
{
  const char *resolv_conf;     /* the host's; default /etc/resolv.conf */
  const char *resolv_upstream; /* default /run/systemd/resolve/resolv.conf */
};

struct reg_create_options;

/* Check the network options of a create request (with the other
 * containers under root); *mode is the mode to record (allocated). */
int reg_network_resolve (const char *root, const struct reg_create_options *o, char **mode,
                         struct reg_error **err);

/* Before a start: a container: mode needs its container running; the /etc
 * files are written. */
int reg_network_prepare (const char *root, const struct reg_net_config *cfg,
                         const struct reg_container *c, struct reg_error **err);

/* "container:<id>" -> the id (a pointer into mode), else NULL. Inline:
 * reg-monitor uses it without linking this module. */
static inline const char *
reg_network_joined (const char *mode)
{
  return mode && strncmp (mode, "container:", 10) == 0 ? mode + 10 : NULL;
}

#endif
