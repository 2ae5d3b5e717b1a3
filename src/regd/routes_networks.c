/* /v1/networks: list (GET), create (POST {"Name", "Subnet"?}), inspect
 * (GET /NAME), remove (DELETE /NAME: 409 while a container is on it),
 * connect and disconnect a running container (POST /NAME/connect
 * {"Container", "EndpointConfig"?: {"Aliases"?: [...]}}, POST
 * /NAME/disconnect {"Container"}: Docker's bodies).
 * Each is one engine call (engine_network.c). */
#include "engine.h"
#include "server.h"
#include "util.h"

#include <errno.h>
#include <string.h>

static enum MHD_Result
create (struct regd *d, struct request *r)
{
  static const char *const keys[] = { "Name", "Subnet", NULL };
  _cleanup_error_ struct reg_error *err = NULL;
  const char *name = NULL, *subnet = NULL;
  json_t *body = regd_body_object (r, "create network", &err), *out = NULL;
  int ret = -1;
  if (body && regd_json_only_keys (body, keys, "create network", &err) == 0
      && regd_json_string (body, "Name", "create network", &name, &err) == 0
      && regd_json_string (body, "Subnet", "create network", &subnet, &err) == 0)
    ret = reg_engine_network_create (d->engine, name, subnet, &out, &err);
  json_decref (body);
  if (ret < 0)
    return regd_reply_error (r, err);
  return regd_reply_json (r, MHD_HTTP_CREATED, out);
}

enum MHD_Result
regd_route_networks (struct regd *d, struct request *r, const char *name)
{
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *out = NULL;
  bool get = strcmp (r->method, "GET") == 0;
  if (name == NULL && get)
    return reg_engine_network_list (d->engine, &out, &err) < 0
               ? regd_reply_error (r, err)
               : regd_reply_json (r, MHD_HTTP_OK, out);
  if (name == NULL && strcmp (r->method, "POST") == 0)
    return create (d, r);
  if (name && get)
    return reg_engine_network_inspect (d->engine, name, &out, &err) < 0
               ? regd_reply_error (r, err)
               : regd_reply_json (r, MHD_HTTP_OK, out);
  if (name && strcmp (r->method, "DELETE") == 0)
    return reg_engine_network_remove (d->engine, name, &err) < 0
               ? regd_reply_error (r, err)
               : regd_reply_json (r, MHD_HTTP_OK, json_pack ("{s:s}", "Removed", name));
  return regd_reply_message (r, MHD_HTTP_METHOD_NOT_ALLOWED, "no such route: %s /v1/networks%s%s",
                             r->method, name ? "/" : "", name ? name : "");
}

enum MHD_Result
regd_route_network_link (struct regd *d, struct request *r, const char *name, const char *action)
{
  static const char *const keys[] = { "Container", "EndpointConfig", NULL };
  static const char *const endpoint_keys[] = { "Aliases", NULL };
  bool connect = strcmp (action, "connect") == 0;
  if (!connect && strcmp (action, "disconnect") != 0)
    return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: POST /v1/networks/%s/%s",
                               name, action);
  const char *what = connect ? "network connect" : "network disconnect";
  _cleanup_error_ struct reg_error *err = NULL;
  _cleanup_strv_ char **aliases = NULL;
  const char *container = NULL;
  json_t *body = regd_body_object (r, what, &err);
  json_t *ep = body ? json_object_get (body, "EndpointConfig") : NULL;
  int ret = -1;
  if (body && regd_json_only_keys (body, keys, what, &err) == 0
      && regd_json_string (body, "Container", what, &container, &err) == 0
      && (ep == NULL || json_is_null (ep)
          || regd_json_only_keys (ep, endpoint_keys, what, &err) == 0)
      && (ep == NULL || regd_json_strv (ep, "Aliases", what, &aliases, &err) == 0))
    {
      if (container == NULL || *container == '\0')
        ret = reg_error_set (&err, EINVAL, "%s: \"Container\" is required", what);
      else if (!connect && reg_strv_len (aliases) > 0)
        ret = reg_error_set (&err, EINVAL, "%s: aliases are for connect", what);
      else if (connect)
        ret = reg_engine_network_connect (d->engine, name, container, aliases, &err);
      else
        ret = reg_engine_network_disconnect (d->engine, name, container, &err);
    }
  json_t *reply
      = ret == 0 ? json_pack ("{s:s, s:s}", "Network", name, "Container", container) : NULL;
  json_decref (body);
  if (ret < 0)
    return regd_reply_error (r, err);
  return regd_reply_json (r, MHD_HTTP_OK, reply);
}
