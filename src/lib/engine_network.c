/* engine: user networks (engine.h), as JSON in Docker's shape for regd's
 * /v1/networks. "bridge" is the default network, described from the
 * engine's network configuration; it is neither created nor removed.
 * Create and remove hold the engine lock, the lock a container's creation
 * holds, so a network is not removed while a container starts on it. */
#include "engine.h"
#include "network.h"
#include "netstore.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static json_t *
default_network (const struct reg_engine *e)
{
  const struct reg_net_config *cfg = &e->net;
  struct reg_netstore_net n = { .net = cfg->net, .gw = cfg->gw, .prefix = cfg->prefix };
  snprintf (n.name, sizeof n.name, "bridge");
  snprintf (n.bridge, sizeof n.bridge, "%s", cfg->bridge ? cfg->bridge : "reg0");
  return reg_netstore_to_json (&n);
}

int
reg_engine_network_list (struct reg_engine *e, json_t **out, struct reg_error **err)
{
  _cleanup_strv_ char **names = NULL;
  if (reg_netstore_list (e->root, &names, err) < 0)
    return -1;
  *out = json_array ();
  json_array_append_new (*out, default_network (e));
  for (size_t i = 0; names[i]; i++)
    {
      struct reg_netstore_net n;
      if (reg_netstore_get (e->root, names[i], &n, NULL) == 0) /* (removed meanwhile) */
        json_array_append_new (*out, reg_netstore_to_json (&n));
    }
  return 0;
}

int
reg_engine_network_inspect (struct reg_engine *e, const char *name, json_t **out,
                            struct reg_error **err)
{
  struct reg_netstore_net n;
  if (strcmp (name, "bridge") == 0)
    {
      *out = default_network (e);
      return 0;
    }
  if (reg_netstore_get (e->root, name, &n, err) < 0)
    return -1;
  *out = reg_netstore_to_json (&n);
  return 0;
}

int
reg_engine_network_create (struct reg_engine *e, const char *name, const char *subnet, json_t **out,
                           struct reg_error **err)
{
  struct reg_netstore_net n;
  pthread_mutex_lock (&e->lock);
  int ret = reg_network_create (e->root, &e->net, name ? name : "", subnet, &n, err);
  pthread_mutex_unlock (&e->lock);
  if (ret == 0)
    *out = reg_netstore_to_json (&n);
  return ret;
}

int
reg_engine_network_remove (struct reg_engine *e, const char *name, struct reg_error **err)
{
  if (strcmp (name, "bridge") == 0)
    return reg_error_set (err, EINVAL, "network bridge: the default network cannot be removed");
  pthread_mutex_lock (&e->lock);
  int ret = reg_network_remove (e->root, &e->net, name, err);
  pthread_mutex_unlock (&e->lock);
  return ret;
}
