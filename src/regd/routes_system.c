/* /v1/version, /v1/system/df, /v1/store/verify */
#include "server.h"
#include "util.h"

#include <string.h>

#ifndef REG_VERSION
#define REG_VERSION "0.1.0"
#endif

static void
note_corrupt (const char *path, const char *actual, void *data)
{
  json_array_append_new (data, json_pack ("{s:s, s:s}", "Object", path, "Actual", actual));
}

static enum MHD_Result
verify (struct regd *d, struct request *r)
{
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *corrupt = json_array ();
  uint64_t checked = 0;
  if (reg_store_verify (d->engine->store, note_corrupt, corrupt, &checked, &err) < 0)
    {
      json_decref (corrupt);
      return regd_reply_error (r, err);
    }
  return regd_reply_json (
      r, MHD_HTTP_OK, json_pack ("{s:I, s:o}", "Checked", (json_int_t)checked, "Corrupt", corrupt));
}

static enum MHD_Result
df (struct regd *d, struct request *r)
{
  _cleanup_error_ struct reg_error *err = NULL;
  struct reg_df s;
  if (reg_engine_df (d->engine, &s, &err) < 0)
    return regd_reply_error (r, err);
  return regd_reply_json (
      r, MHD_HTTP_OK,
      json_pack ("{s:I, s:I, s:I, s:I, s:I, s:I}", "Objects", (json_int_t)s.store.objects,
                 "UniqueBytes", (json_int_t)s.store.bytes, "Templates", (json_int_t)s.templates,
                 "Environments", (json_int_t)s.envs, "Containers", (json_int_t)s.containers,
                 "Running", (json_int_t)s.running));
}

enum MHD_Result
regd_route_system (struct regd *d, struct request *r, const char *what)
{
  bool get = strcmp (r->method, "GET") == 0;
  if (strcmp (what, "version") == 0 && get)
    return regd_reply_json (r, MHD_HTTP_OK,
                            json_pack ("{s:s, s:s, s:s}", "Version", REG_VERSION, "ApiVersion",
                                       REGD_API_VERSION, "Root", d->engine->root));
  if (strcmp (what, "df") == 0 && get)
    return df (d, r);
  if (strcmp (what, "verify") == 0 && strcmp (r->method, "POST") == 0)
    return verify (d, r);
  return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s %s", r->method, what);
}
