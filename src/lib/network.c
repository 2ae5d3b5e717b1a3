#include "network.h"
#include "engine.h"
#include "etcfiles.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Options a sidecar takes from the container it joins. */
static int
check_joined (const struct reg_create_options *o, const char *mode, struct reg_error **err)
{
  const char *what = o->hostname                         ? "--hostname"
                     : reg_strv_len (o->dns) > 0         ? "--dns"
                     : reg_strv_len (o->dns_search) > 0  ? "--dns-search"
                     : reg_strv_len (o->extra_hosts) > 0 ? "--add-host"
                     : reg_strv_len (o->ports) > 0       ? "-p"
                                                         : NULL;
  if (what)
    return reg_error_set (err, EINVAL,
                          "conflicting options: %s and --network %s (the container shares that "
                          "network namespace and its /etc files)",
                          what, mode);
  return 0;
}

int
reg_network_resolve (const char *root, const struct reg_create_options *o, char **mode,
                     struct reg_error **err)
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
  if (m && strcmp (m, "host") != 0 && strcmp (m, "none") != 0)
    return reg_error_set (err, ENOENT,
                          "network \"%s\": no such network (use host, none or container:ID)", m);
  if (m && reg_strv_len (o->ports) > 0)
    return reg_error_set (err, EINVAL, "-p %s: ports cannot be published with --network %s (%s)",
                          o->ports[0], m,
                          strcmp (m, "host") == 0 ? "the container uses the host's ports already"
                                                  : "it has no network");
  *mode = strdup (m ? m : "host");
  return *mode ? 0 : reg_error_set (err, ENOMEM, "out of memory");
}

int
reg_network_prepare (const char *root, const struct reg_net_config *cfg,
                     const struct reg_container *c, struct reg_error **err)
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
    .keep_loopback_dns = strcmp (c->network_mode, "host") == 0,
    .host_resolv = cfg->resolv_conf ? cfg->resolv_conf : "/etc/resolv.conf",
    .upstream_resolv
    = cfg->resolv_upstream ? cfg->resolv_upstream : "/run/systemd/resolve/resolv.conf",
  };
  _cleanup_free_ char *dir = reg_container_dir (root, c->id);
  if (dir == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_etcfiles_write (dir, &spec, err) < 0)
    return reg_error_prefix (err, "container %.12s", c->id);
  return 0;
}
