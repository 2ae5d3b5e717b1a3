/* /api/v1/devices/{id}/containers... and /templates...: a device's
 * containers and templates, through regd's API. Every change is audited
 * with its result; viewers can read, never change. */
#include "hub.h"
#include "regd_client.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ACTION_TIMEOUT_MS 60000

/* Container ids and names, template refs: nothing that changes a path. */
static bool
valid_ref (const char *ref)
{
  size_t n = strlen (ref);
  if (n == 0 || n > 200 || strcmp (ref, ".") == 0 || strcmp (ref, "..") == 0)
    return false;
  for (const char *p = ref; *p; p++)
    if (!isalnum ((unsigned char)*p) && !strchr ("._-@:+", *p))
      return false;
  return true;
}

/* One call to the device, its reply relayed: a regd error keeps its
 * status and message (prefixed with the device). */
static enum MHD_Result
relay (struct hub_req *r, json_t *dev, const char *method, const char *path, json_t *body,
       const char *action, const char *target)
{
  _cleanup_error_ struct reg_error *err = NULL;
  struct hub_target t;
  json_t *reply = NULL;
  int64_t id = json_integer_value (json_object_get (dev, "Id"));
  if (hub_target_init (&t, dev, &err) < 0)
    return hub_reply_error (r, err);
  long status = hub_regd_call (&t, method, path, body, ACTION_TIMEOUT_MS, &reply, &err);
  if (status < 0)
    {
      if (action)
        hub_audit (r, id, action, target, err->msg);
      return hub_reply_error (r, err);
    }
  if (action)
    hub_audit (r, id, action, target,
               status < 300                 ? "ok"
               : hub_str (reply, "message") ? hub_str (reply, "message")
                                            : "failed");
  if (status >= 300)
    {
      const char *msg = hub_str (reply, "message");
      json_t *e = json_pack ("{s:s+++}", "message", "device ", t.name, ": ",
                             msg ? msg : "request failed");
      json_decref (reply);
      return hub_reply_json (r, (unsigned)status, e);
    }
  if (reply == NULL)
    return hub_reply_empty (r, (unsigned)status);
  return hub_reply_json (r, (unsigned)status, reply);
}

static long
call (json_t *dev, const char *method, const char *path, json_t *body, json_t **reply,
      struct reg_error **err)
{
  struct hub_target t;
  if (hub_target_init (&t, dev, err) < 0)
    return -1;
  long status = hub_regd_call (&t, method, path, body, ACTION_TIMEOUT_MS, reply, err);
  if (status >= 300)
    {
      hub_regd_fail (&t, CURLE_OK, status, *reply, err);
      return -1;
    }
  return status;
}

/* POST containers {Templates, Cmd?, Name?, Env?}: create and start. */
static enum MHD_Result
run (struct hub_req *r, json_t *dev)
{
  static const char *const keys[] = { "Templates", "Cmd", "Name", "Env", "Tty", NULL };
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *body = hub_body (r, keys, &err);
  if (body == NULL)
    return hub_reply_error (r, err);
  int64_t id = json_integer_value (json_object_get (dev, "Id"));
  const char *name = hub_str (body, "Name") ? hub_str (body, "Name") : "(unnamed)";
  json_t *created = NULL, *started = NULL;
  enum MHD_Result ret;
  if (!json_is_array (json_object_get (body, "Templates"))
      || json_array_size (json_object_get (body, "Templates")) == 0)
    ret = hub_reply_message (r, MHD_HTTP_BAD_REQUEST, "run: Templates (a list) is required");
  else if (call (dev, "POST", "/v1/containers", body, &created, &err) < 0)
    {
      hub_audit (r, id, "container run", name, err->msg);
      ret = hub_reply_error (r, err);
    }
  else
    {
      char path[256];
      snprintf (path, sizeof path, "/v1/containers/%s/start", hub_str (created, "Id"));
      if (call (dev, "POST", path, NULL, &started, &err) < 0)
        {
          hub_audit (r, id, "container run", name, err->msg);
          ret = hub_reply_error (r, err);
        }
      else
        {
          hub_audit (r, id, "container run", name, "ok");
          ret = hub_reply_json (r, MHD_HTTP_CREATED, json_incref (created));
        }
    }
  json_decref (created);
  json_decref (started);
  json_decref (body);
  return ret;
}

/* ?t=SECONDS for stop and restart (regd's default 10 when absent). */
static int
stop_wait (struct hub_req *r)
{
  const char *t = hub_query (r, "t");
  char *end = NULL;
  long v = t ? strtol (t, &end, 10) : 10;
  return t && (*end != '\0' || v < 0 || v > 300) ? -1 : (int)v;
}

static enum MHD_Result
restart (struct hub_req *r, json_t *dev, const char *ref)
{
  _cleanup_error_ struct reg_error *err = NULL;
  char path[512];
  json_t *reply = NULL;
  int64_t id = json_integer_value (json_object_get (dev, "Id"));
  snprintf (path, sizeof path, "/v1/containers/%s", ref);
  long status = call (dev, "GET", path, NULL, &reply, &err);
  const char *state = status > 0 ? hub_str (json_object_get (reply, "State"), "Status") : NULL;
  if (status > 0 && state && strcmp (state, "running") == 0)
    {
      json_decref (reply);
      reply = NULL;
      snprintf (path, sizeof path, "/v1/containers/%s/stop?t=%d", ref, stop_wait (r));
      status = call (dev, "POST", path, NULL, &reply, &err);
    }
  if (status > 0)
    {
      json_decref (reply);
      reply = NULL;
      snprintf (path, sizeof path, "/v1/containers/%s/start", ref);
      status = call (dev, "POST", path, NULL, &reply, &err);
    }
  json_decref (reply);
  hub_audit (r, id, "container restart", ref, status > 0 ? "ok" : err->msg);
  return status > 0 ? hub_reply_empty (r, MHD_HTTP_NO_CONTENT) : hub_reply_error (r, err);
}

static enum MHD_Result
container (struct hub_req *r, json_t *dev, const char *ref, const char *action)
{
  char path[512], what[64];
  bool get = strcmp (r->method, "GET") == 0, post = strcmp (r->method, "POST") == 0;
  if (action == NULL && get)
    {
      snprintf (path, sizeof path, "/v1/containers/%s", ref);
      return relay (r, dev, "GET", path, NULL, NULL, NULL);
    }
  if (action && get && strcmp (action, "stats") == 0)
    {
      snprintf (path, sizeof path, "/v1/containers/%s/stats", ref);
      return relay (r, dev, "GET", path, NULL, NULL, NULL);
    }
  if (action && get && strcmp (action, "top") == 0)
    {
      snprintf (path, sizeof path, "/v1/containers/%s/top", ref);
      return relay (r, dev, "GET", path, NULL, NULL, NULL);
    }
  if (action && get && strcmp (action, "logs") == 0)
    return hub_api_logs (r, dev, ref);
  if (!hub_is_admin (r) && !get)
    return hub_reply_message (r, MHD_HTTP_FORBIDDEN, "container %s: a viewer can change nothing",
                              ref);
  if (action == NULL && strcmp (r->method, "DELETE") == 0)
    {
      const char *force = hub_query (r, "force");
      snprintf (path, sizeof path, "/v1/containers/%s%s", ref,
                force && strcmp (force, "1") == 0 ? "?force=1" : "");
      return relay (r, dev, "DELETE", path, NULL, "container remove", ref);
    }
  if (action && post && strcmp (action, "terminal") == 0)
    return hub_api_terminal_new (r, dev, ref);
  if (action && post && stop_wait (r) < 0)
    return hub_reply_message (r, MHD_HTTP_BAD_REQUEST, "container %s: t is 0 to 300 seconds", ref);
  if (action && post && strcmp (action, "restart") == 0)
    return restart (r, dev, ref);
  if (action && post && strcmp (action, "stop") == 0)
    {
      snprintf (path, sizeof path, "/v1/containers/%s/stop?t=%d", ref, stop_wait (r));
      return relay (r, dev, "POST", path, NULL, "container stop", ref);
    }
  static const char *const simple[] = { "start", "pause", "unpause", NULL };
  for (size_t i = 0; action && post && simple[i]; i++)
    if (strcmp (action, simple[i]) == 0)
      {
        snprintf (path, sizeof path, "/v1/containers/%s/%s", ref, action);
        snprintf (what, sizeof what, "container %s", action);
        return relay (r, dev, "POST", path, NULL, what, ref);
      }
  return hub_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s %s", r->method, r->url);
}

enum MHD_Result
hub_api_containers (struct hub_req *r, json_t *dev, char **parts, size_t n)
{
  bool get = strcmp (r->method, "GET") == 0;
  if (n >= 2 && !valid_ref (parts[1]))
    return hub_reply_message (r, MHD_HTTP_BAD_REQUEST, "\"%s\": not a container or template name",
                              parts[1]);
  if (strcmp (parts[0], "templates") == 0)
    {
      char path[512];
      if (n == 1 && get)
        return relay (r, dev, "GET", "/v1/templates", NULL, NULL, NULL);
      if (n == 2 && strcmp (r->method, "DELETE") == 0)
        {
          if (!hub_is_admin (r))
            return hub_reply_message (r, MHD_HTTP_FORBIDDEN,
                                      "template %s: a viewer can change nothing", parts[1]);
          snprintf (path, sizeof path, "/v1/templates/%s", parts[1]);
          return relay (r, dev, "DELETE", path, NULL, "template remove", parts[1]);
        }
      return hub_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s %s", r->method, r->url);
    }
  if (n == 1 && get)
    return relay (r, dev, "GET", "/v1/containers?all=1", NULL, NULL, NULL);
  if (n == 1 && strcmp (r->method, "POST") == 0)
    {
      if (!hub_is_admin (r))
        return hub_reply_message (r, MHD_HTTP_FORBIDDEN, "run: a viewer can change nothing");
      return run (r, dev);
    }
  if (n == 2 || n == 3)
    return container (r, dev, parts[1], n == 3 ? parts[2] : NULL);
  return hub_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s %s", r->method, r->url);
}
