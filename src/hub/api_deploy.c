/* /api/v1/apps... and /api/v1/deployments...: deploying apps (deploy.h).
 * A deployment's upload is checked as hostile input before anything is
 * recorded, so a refused one leaves nothing behind; the pipeline then runs
 * on its own thread and its progress is read with GET. */
#include "apps.h"
#include "appfiles.h"
#include "deploy.h"
#include "hub.h"
#include "upload.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum MHD_Result
refuse (struct hub_req *r, const char *app, struct reg_error *err)
{
  hub_upload_discard (r->upload);
  hub_audit (r, 0, "deploy", app, err->msg);
  return hub_reply_error (r, err);
}

static enum MHD_Result
deploy_new (struct hub_req *r, const char *app)
{
  struct hub *h = r->hub;
  _cleanup_error_ struct reg_error *err = NULL;
  struct hub_upload *u = r->upload;
  if (u == NULL) /* upload_begin replied already, or this is not multipart */
    return hub_reply_message (r, MHD_HTTP_BAD_REQUEST, "deploy: a multipart/form-data body");
  if (hub_upload_finish (u, &err) < 0)
    return refuse (r, app, err);
  if (u->filename == NULL)
    {
      reg_error_set (&err, EINVAL, "deploy: no \"file\" part (the app: curl -F file=@app.tar.gz)");
      return refuse (r, app, err);
    }
  json_t *spec = hub_deploy_check (
      h, app, json_string_value (json_object_get (u->fields, "config")), 0, &err);
  struct hub_app_limits l = { h->cfg.deploy_max_size, h->cfg.deploy_max_entries };
  struct hub_app_files files = { 0 };
  if (spec == NULL
      || hub_appfiles_read (NULL, u->path, u->filename, &l, h->deploy_dir, &files, NULL, &err) < 0)
    {
      json_decref (spec);
      return refuse (r, app, err);
    }
  hub_appfiles_free (&files);
  _cleanup_free_ char *tmpl = NULL;
  if (asprintf (&tmpl, "%s@%s", app, json_string_value (json_object_get (spec, "Version"))) < 0)
    tmpl = NULL;
  json_t *row = json_pack ("{s:s, s:O, s:s, s:s, s:O, s:s?}", "App", app, "Version",
                           json_object_get (spec, "Version"), "User", hub_user_name (r), "State",
                           "pending", "Spec", spec, "Template", tmpl);
  int64_t id = 0;
  int rc = hub_store_deployment_add (h->store, row, json_object_get (spec, "Targets"), &id, &err);
  json_decref (row);
  if (rc < 0)
    {
      json_decref (spec);
      return refuse (r, app, err);
    }
  char *upload = hub_upload_take (u);
  hub_deploy_start (h, id, spec, upload, u->filename, hub_user_name (r), &err);
  char url[64];
  snprintf (url, sizeof url, HUB_API "/deployments/%lld", (long long)id);
  json_t *reply
      = json_pack ("{s:I, s:s, s:O, s:s, s:s}", "Id", (json_int_t)id, "App", app, "Version",
                   json_object_get (spec, "Version"), "Template", tmpl, "Url", url);
  json_decref (spec);
  return hub_reply_json (r, MHD_HTTP_ACCEPTED, reply);
}

/* A viewer sees the deployments whose every target is one of its devices. */
static bool
visible (struct hub_req *r, json_t *d, json_t *mine)
{
  if (hub_is_admin (r))
    return true;
  json_t *spec = json_object_get (d, "Spec");
  json_t *t;
  size_t i;
  json_array_foreach (json_object_get (spec, "Targets"), i, t)
  {
    bool found = false;
    json_t *m;
    size_t k;
    json_array_foreach (mine, k, m)
    {
      found = found || json_equal (json_object_get (m, "Id"), json_object_get (t, "Id"));
    }
    if (!found)
      return false;
  }
  return true;
}

static enum MHD_Result
deploy_list (struct hub_req *r, const char *app)
{
  const char *limit = hub_query (r, "limit");
  int n = limit ? atoi (limit) : 100;
  if (n < 1 || n > 1000)
    return hub_reply_message (r, MHD_HTTP_BAD_REQUEST, "limit: 1-1000");
  json_t *all = hub_store_deployment_list (r->hub->store, app, n), *out = json_array ();
  json_t *mine = hub_store_device_list (r->hub->store, hub_user_id (r), 0);
  json_t *d;
  size_t i;
  json_array_foreach (all, i, d)
  {
    if (visible (r, d, mine))
      json_array_append (out, d);
  }
  json_decref (all);
  json_decref (mine);
  return hub_reply_json (r, MHD_HTTP_OK, out);
}

static enum MHD_Result
deploy_get (struct hub_req *r, const char *ids)
{
  char *end = NULL;
  long long id = strtoll (ids, &end, 10);
  json_t *d = *end == '\0' && id > 0 ? hub_store_deployment_get (r->hub->store, id) : NULL;
  json_t *mine = hub_store_device_list (r->hub->store, hub_user_id (r), 0);
  if (d && !visible (r, d, mine))
    {
      json_decref (d);
      d = NULL;
    }
  json_decref (mine);
  if (d == NULL)
    return hub_reply_message (r, MHD_HTTP_NOT_FOUND, "no deployment %.32s", ids);
  return hub_reply_json (r, MHD_HTTP_OK, d);
}

/* {"Templates": the hub's templates (bases and apps)} */
static enum MHD_Result
apps_info (struct hub_req *r)
{
  return hub_reply_json (r, MHD_HTTP_OK,
                         json_pack ("{s:o, s:s?}", "Templates", hub_apps_templates (r->hub),
                                    "Registry", r->hub->cfg.registry));
}

enum MHD_Result
hub_api_deploy (struct hub_req *r, char **parts, size_t n)
{
  bool get = strcmp (r->method, "GET") == 0;
  if (strcmp (parts[0], "apps") == 0)
    {
      if (n == 1 && get)
        return apps_info (r);
      if (n == 3 && strcmp (parts[2], "deployments") == 0 && strcmp (r->method, "POST") == 0)
        return deploy_new (r, parts[1]);
      if (n == 3 && strcmp (parts[2], "deployments") == 0 && get)
        return deploy_list (r, parts[1]);
    }
  else if (n == 1 && get)
    return deploy_list (r, hub_query (r, "app"));
  else if (n == 2 && get)
    return deploy_get (r, parts[1]);
  return hub_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s %s", r->method, r->url);
}
