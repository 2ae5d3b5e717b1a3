/* /v1/version, /v1/system/df, /v1/system/info, /v1/system/stats, /v1/system/prune,
 * /v1/store/verify */
#include "server.h"
#include "hostinfo.h"
#include "util.h"

#include <errno.h>
#include <string.h>

#ifndef REG_VERSION
#define REG_VERSION "0.1.0"
#endif

static void
note_corrupt (const char *path, const char *actual, void *data)
{
  json_array_append_new (data, json_pack ("{s:s, s:s}", "Object", path, "Actual", actual));
}

static void
note_unreferenced (const char *path, void *data)
{
  json_array_append_new (json_object_get (data, "Unreferenced"), json_string (path));
}

static void
note_corrupt_in (const char *path, const char *actual, void *data)
{
  note_corrupt (path, actual, json_object_get (data, "Corrupt"));
}

static enum MHD_Result
verify (struct regd *d, struct request *r)
{
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *reply = json_pack ("{s:[], s:[]}", "Corrupt", "Unreferenced");
  uint64_t checked = 0, unreferenced = 0;
  if (reg_engine_store_verify (d->engine, note_corrupt_in, note_unreferenced, reply, &checked,
                               &unreferenced, &err)
      < 0)
    {
      json_decref (reply);
      return regd_reply_error (r, err);
    }
  json_object_set_new (reply, "Checked", json_integer ((json_int_t)checked));
  return regd_reply_json (r, MHD_HTTP_OK, reply);
}

static enum MHD_Result
df (struct regd *d, struct request *r)
{
  _cleanup_error_ struct reg_error *err = NULL;
  struct reg_df s;
  if (reg_engine_df (d->engine, &s, &err) < 0)
    return regd_reply_error (r, err);
  json_t *j = json_pack ("{s:I, s:I, s:I, s:I, s:I, s:I}", "Objects", (json_int_t)s.store.objects,
                         "UniqueBytes", (json_int_t)s.store.bytes, "Templates",
                         (json_int_t)s.templates, "Environments", (json_int_t)s.envs, "Containers",
                         (json_int_t)s.containers, "Running", (json_int_t)s.running);
  json_t *rec = json_pack (
      "{s:I, s:I, s:I, s:I, s:I}", "Objects", (json_int_t)s.unreferenced_objects, "Bytes",
      (json_int_t)s.reclaimable_bytes, "Environments", (json_int_t)s.unused_envs, "Containers",
      (json_int_t)s.stopped, "Templates", (json_int_t)s.unused_templates);
  json_object_set_new (j, "Reclaimable", rec);
  return regd_reply_json (r, MHD_HTTP_OK, j);
}

static json_t *
strv_json (char **v)
{
  json_t *a = json_array ();
  for (size_t i = 0; v && v[i]; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}

static int
bool_key (json_t *body, const char *key, bool *out, struct reg_error **err)
{
  json_t *v = json_object_get (body, key);
  if (v && !json_is_boolean (v))
    return reg_error_set (err, EINVAL, "prune: \"%s\" must be a boolean", key);
  *out = json_is_true (v);
  return 0;
}

static enum MHD_Result
prune (struct regd *d, struct request *r)
{
  static const char *const keys[] = { "Containers", "Templates", "Data", NULL };
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *body = regd_body_object (r, "prune", &err);
  if (body == NULL)
    return regd_reply_error (r, err);
  struct reg_prune_options o = { 0 };
  int ret = regd_json_only_keys (body, keys, "prune", &err) < 0
                    || bool_key (body, "Containers", &o.containers, &err) < 0
                    || bool_key (body, "Templates", &o.templates, &err) < 0
                    || bool_key (body, "Data", &o.data, &err) < 0
                ? -1
                : 0;
  json_decref (body);
  struct reg_prune_report rep = { 0 };
  if (ret == 0)
    ret = reg_engine_prune (d->engine, &o, &rep, &err);
  if (ret < 0)
    {
      reg_engine_prune_report_clear (&rep);
      return regd_reply_error (r, err);
    }
  json_t *j
      = json_pack ("{s:o, s:o, s:I, s:I, s:I}", "Containers", strv_json (rep.containers),
                   "Templates", strv_json (rep.templates), "Environments", (json_int_t)rep.envs,
                   "Objects", (json_int_t)rep.objects, "Bytes", (json_int_t)rep.bytes);
  reg_engine_prune_report_clear (&rep);
  return regd_reply_json (r, MHD_HTTP_OK, j);
}

/* The whole device, for remote management (reg-hub): what it is ... */
static enum MHD_Result
info (struct regd *d, struct request *r)
{
  _cleanup_error_ struct reg_error *err = NULL;
  struct reg_hostinfo h;
  if (reg_engine_host_info (d->engine, &h, &err) < 0)
    return regd_reply_error (r, err);
  return regd_reply_json (r, MHD_HTTP_OK,
                          json_pack ("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "Arch", h.arch,
                                     "OS", h.os, "Kernel", h.kernel, "Hostname", h.hostname, "CPUs",
                                     (json_int_t)h.cpus, "MemTotal", (json_int_t)h.mem_total,
                                     "DiskTotal", (json_int_t)h.disk_total, "Version",
                                     REG_VERSION));
}

/* ... and how busy it is. */
static enum MHD_Result
host_stats (struct regd *d, struct request *r)
{
  _cleanup_error_ struct reg_error *err = NULL;
  struct reg_hoststats s;
  if (reg_engine_host_stats (d->engine, &s, &err) < 0)
    return regd_reply_error (r, err);
  return regd_reply_json (
      r, MHD_HTTP_OK,
      json_pack ("{s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f}", "Read", reg_util_now (),
                 "CpuBusyNs", (json_int_t)s.cpu_busy_ns, "CpuTotalNs", (json_int_t)s.cpu_total_ns,
                 "MemTotal", (json_int_t)s.mem_total, "MemAvailable", (json_int_t)s.mem_available,
                 "DiskTotal", (json_int_t)s.disk_total, "DiskFree", (json_int_t)s.disk_free,
                 "Load1", s.load1, "Uptime", s.uptime));
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
  if (strcmp (what, "info") == 0 && get)
    return info (d, r);
  if (strcmp (what, "stats") == 0 && get)
    return host_stats (d, r);
  if (strcmp (what, "verify") == 0 && strcmp (r->method, "POST") == 0)
    return verify (d, r);
  if (strcmp (what, "prune") == 0 && strcmp (r->method, "POST") == 0)
    return prune (d, r);
  return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s %s", r->method, what);
}
