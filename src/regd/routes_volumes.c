/* /v1/volumes: list (GET), create (POST {"Name"}), inspect (GET /NAME),
 * remove (DELETE /NAME: 409 while a container mounts it), prune (POST
 * /prune: every volume no container mounts). */
#include "server.h"
#include "util.h"

#include <errno.h>
#include <string.h>

static enum MHD_Result
create (struct regd *d, struct request *r)
{
  static const char *const keys[] = { "Name", NULL };
  _cleanup_error_ struct reg_error *err = NULL;
  const char *name = NULL;
  json_t *body = r->body_len ? regd_body_object (r, "create volume", &err) : json_object ();
  json_t *out = NULL;
  if (body == NULL || regd_json_only_keys (body, keys, "create volume", &err) < 0
      || regd_json_string (body, "Name", "create volume", &name, &err) < 0
      || reg_engine_volume_create (d->engine, name, &out, &err) < 0)
    {
      json_decref (body);
      return regd_reply_error (r, err);
    }
  json_decref (body);
  return regd_reply_json (r, MHD_HTTP_CREATED, out);
}

enum MHD_Result
regd_route_volumes (struct regd *d, struct request *r, const char *name)
{
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *out = NULL;
  bool get = strcmp (r->method, "GET") == 0, post = strcmp (r->method, "POST") == 0;
  if (name == NULL && get)
    return reg_engine_volume_list (d->engine, &out, &err) < 0
               ? regd_reply_error (r, err)
               : regd_reply_json (r, MHD_HTTP_OK, out);
  if (name == NULL && post)
    return create (d, r);
  if (name && post && strcmp (name, "prune") == 0)
    return reg_engine_volume_prune (d->engine, &out, &err) < 0
               ? regd_reply_error (r, err)
               : regd_reply_json (r, MHD_HTTP_OK, out);
  if (name && get)
    return reg_engine_volume_inspect (d->engine, name, &out, &err) < 0
               ? regd_reply_error (r, err)
               : regd_reply_json (r, MHD_HTTP_OK, out);
  if (name && strcmp (r->method, "DELETE") == 0)
    {
      if (reg_engine_volume_remove (d->engine, name, &err) < 0)
        return regd_reply_error (r, err);
      return regd_reply_json (r, MHD_HTTP_OK, json_pack ("{s:s}", "Removed", name));
    }
  return regd_reply_message (r, MHD_HTTP_METHOD_NOT_ALLOWED, "no such route: %s /v1/volumes%s%s",
                             r->method, name ? "/" : "", name ? name : "");
}
