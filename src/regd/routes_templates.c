/* /v1/templates: list, create from host paths, add a RET file, inspect,
 * remove. */
#include "recipe.h"
#include "server.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static enum MHD_Result
list (struct regd *d, struct request *r)
{
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *out = NULL;
  return reg_engine_template_list (d->engine, &out, &err) < 0
             ? regd_reply_error (r, err)
             : regd_reply_json (r, MHD_HTTP_OK, out);
}

/* "Trace": {"Cmd": [...], "Timeout"?, "StopSignal"?, "Answer"?, "Send"?} */
static int
trace_from_json (json_t *tj, struct reg_trace_options *t, char ***cmd, struct reg_error **err)
{
  static const char *const keys[] = { "Cmd", "Timeout", "StopSignal", "Answer", "Send", NULL };
  const char *what = "create template: Trace";
  json_t *timeout = json_is_object (tj) ? json_object_get (tj, "Timeout") : NULL;
  if (!json_is_object (tj))
    return reg_error_set (err, EINVAL, "%s must be an object", what);
  if (regd_json_only_keys (tj, keys, what, err) < 0
      || regd_json_strv (tj, "Cmd", what, cmd, err) < 0
      || regd_json_string (tj, "StopSignal", what, &t->stop_signal, err) < 0
      || regd_json_string (tj, "Answer", what, &t->answer, err) < 0
      || regd_json_string (tj, "Send", what, &t->send, err) < 0)
    return -1;
  if (timeout
      && (!json_is_integer (timeout) || json_integer_value (timeout) < 1
          || json_integer_value (timeout) > 3600))
    return reg_error_set (err, EINVAL, "%s: Timeout must be 1 to 3600 (seconds)", what);
  t->timeout_s = timeout ? (int)json_integer_value (timeout) : 0;
  t->argv = *cmd;
  return reg_trace_check (t, err);
}

static int
create_from_paths (struct regd *d, json_t *body, bool replace, struct reg_template **t,
                   char ***warnings, struct reg_error **err)
{
  static const char *const keys[]
      = { "Name",       "Version", "Paths",  "Entrypoint", "Requires",         "Env", "Force",
          "StopSignal", "Users",   "Groups", "Trace",      "AllowSecretFiles", NULL };
  const char *what = "create template";
  struct reg_import_options o = { .warnings = warnings };
  const char *sig = NULL;
  json_t *allow = json_object_get (body, "AllowSecretFiles");
  if (allow && !json_is_boolean (allow))
    return reg_error_set (err, EINVAL, "%s: \"AllowSecretFiles\" must be a boolean", what);
  o.allow_secret_files = json_is_true (allow);
  _cleanup_strv_ char **paths = NULL, **requires = NULL, **env = NULL, **users = NULL,
                      **groups = NULL;
  if (regd_json_only_keys (body, keys, what, err) < 0
      || regd_json_string (body, "Name", what, &o.name, err) < 0
      || regd_json_string (body, "Version", what, &o.version, err) < 0
      || regd_json_string (body, "Entrypoint", what, &o.entrypoint, err) < 0
      || regd_json_strv (body, "Paths", what, &paths, err) < 0
      || regd_json_strv (body, "Requires", what, &requires, err) < 0
      || regd_json_strv (body, "Env", what, &env, err) < 0
      || regd_json_string (body, "StopSignal", what, &sig, err) < 0
      || regd_json_strv (body, "Users", what, &users, err) < 0
      || regd_json_strv (body, "Groups", what, &groups, err) < 0)
    return -1;
  if (o.name == NULL || o.version == NULL)
    return reg_error_set (err, EINVAL, "%s: NAME@VERSION is required", what);
  if (sig && (o.stop_signal = reg_util_signal_number (sig)) <= 0)
    return reg_error_set (err, EINVAL,
                          "template %s@%s: stop signal \"%s\" is not a signal (SIGTERM, SIGQUIT, "
                          "15, ...)",
                          o.name, o.version, sig);
  for (size_t i = 0; env && env[i]; i++)
    if (strchr (env[i], '=') == NULL || env[i][0] == '=')
      return reg_error_set (err, EINVAL, "template %s@%s: env entry \"%s\" is not KEY=VALUE",
                            o.name, o.version, env[i]);
  o.paths = paths;
  o.requires = requires;
  o.env = env;
  o.users = users;
  o.groups = groups;
  _cleanup_strv_ char **cmd = NULL;
  struct reg_trace_options trace = { 0 };
  json_t *tj = json_object_get (body, "Trace");
  if (tj && trace_from_json (tj, &trace, &cmd, err) < 0)
    return -1;
  if (tj)
    o.trace = &trace;
  return reg_engine_template_create (d->engine, &o, replace, t, err);
}

/* {"Recipe": text, "Origin"?: file name for errors, "Force"?} */
static int
create_from_recipe (struct regd *d, json_t *body, bool replace, struct reg_template **t,
                    struct reg_error **err)
{
  static const char *const keys[] = { "Recipe", "Origin", "Force", NULL };
  const char *text = NULL, *origin = NULL;
  if (regd_json_only_keys (body, keys, "create template", err) < 0
      || regd_json_string (body, "Recipe", "create template", &text, err) < 0
      || regd_json_string (body, "Origin", "create template", &origin, err) < 0)
    return -1;
  struct reg_recipe *rc = NULL;
  if (reg_recipe_parse (text, json_string_length (json_object_get (body, "Recipe")), origin, &rc,
                        err)
      < 0)
    return -1;
  struct reg_import_options o;
  reg_recipe_options (rc, &o);
  int ret = reg_engine_template_create (d->engine, &o, replace, t, err);
  reg_recipe_free (rc);
  return ret;
}

static enum MHD_Result
create (struct regd *d, struct request *r)
{
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *body = regd_body_object (r, "create template", &err);
  if (body == NULL)
    return regd_reply_error (r, err);
  struct reg_template *t = NULL;
  _cleanup_strv_ char **warnings = NULL;
  json_t *ret_text = json_object_get (body, "Ret");
  json_t *force = json_object_get (body, "Force");
  int ret = 0;
  if (force && !json_is_boolean (force))
    ret = reg_error_set (&err, EINVAL, "create template: \"Force\" must be a boolean");
  bool replace = json_is_true (force);
  size_t keys = json_object_size (body) - (force ? 1 : 0);
  if (ret == 0 && ret_text != NULL && keys == 1 && json_is_string (ret_text))
    ret = reg_engine_template_add (d->engine, json_string_value (ret_text),
                                   json_string_length (ret_text), replace, &t, &err);
  else if (ret == 0 && json_object_get (body, "Recipe"))
    ret = create_from_recipe (d, body, replace, &t, &err);
  else if (ret == 0)
    ret = create_from_paths (d, body, replace, &t, &warnings, &err);
  json_decref (body);
  if (ret < 0)
    return regd_reply_error (r, err);
  _cleanup_free_ char *ref = NULL;
  if (asprintf (&ref, "%s@%s", t->name, t->version) < 0)
    ref = NULL;
  json_t *reply = reg_engine_template_summary (ref ? ref : "", t);
  reg_template_free (t);
  if (warnings)
    {
      json_t *w = json_array ();
      for (size_t i = 0; warnings[i]; i++)
        json_array_append_new (w, json_string (warnings[i]));
      json_object_set_new (reply, "Warnings", w);
    }
  return regd_reply_json (r, MHD_HTTP_CREATED, reply);
}

static enum MHD_Result
inspect (struct regd *d, struct request *r, const char *ref)
{
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *out = NULL;
  return reg_engine_template_inspect (d->engine, ref, &out, &err) < 0
             ? regd_reply_error (r, err)
             : regd_reply_json (r, MHD_HTTP_OK, out);
}

enum MHD_Result
regd_route_templates (struct regd *d, struct request *r, const char *arg)
{
  _cleanup_error_ struct reg_error *err = NULL;
  if (arg == NULL && strcmp (r->method, "GET") == 0)
    return list (d, r);
  if (arg == NULL && strcmp (r->method, "POST") == 0)
    return create (d, r);
  if (arg != NULL && strcmp (r->method, "POST") == 0
      && (strcmp (arg, "push") == 0 || strcmp (arg, "pull") == 0 || strcmp (arg, "load") == 0
          || strcmp (arg, "tags") == 0))
    return regd_route_registry (d, r, arg);
  if (arg != NULL && strcmp (r->method, "GET") == 0)
    return inspect (d, r, arg);
  if (arg != NULL && strcmp (r->method, "DELETE") == 0)
    {
      if (reg_engine_template_remove (d->engine, arg, &err) < 0)
        return regd_reply_error (r, err);
      return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
    }
  return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s /v1/templates/%s", r->method,
                             arg ? arg : "");
}
