/* deploy: the deployment pipeline (deploy.h). */
#include "deploy.h"
#include "apps.h"
#include "container.h"
#include "health.h"
#include "hub.h"
#include "regd_client.h"
#include "template.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CALL_TIMEOUT_MS 60000
#define PULL_TIMEOUT_MS (15 * 60000)
#define POLL_MS 250
#define POLL_FAST_MS 20 /* the first FAST_S seconds of a wait: most apps are up by then */
#define POLL_FAST_S 2.0

/* ---- the config ---- */

static int
check_strings (json_t *spec, const char *key, bool required, struct reg_error **err)
{
  json_t *v = json_object_get (spec, key);
  if (v == NULL && !required)
    return 0;
  if (!json_is_array (v) || (required && json_array_size (v) == 0) || json_array_size (v) > 256)
    return reg_error_set (err, EINVAL, "deploy: %s must be a list of strings%s (at most 256)", key,
                          required ? ", not empty" : "");
  size_t i;
  json_t *s;
  json_array_foreach (v, i, s)
  {
    if (!json_is_string (s) || json_string_length (s) == 0 || json_string_length (s) > 4096)
      return reg_error_set (err, EINVAL, "deploy: %s[%zu] must be a string of 1-4096 bytes", key,
                            i);
  }
  return 0;
}

static int
check_bases (json_t *spec, struct reg_error **err)
{
  if (check_strings (spec, "Bases", false, err) < 0)
    return -1;
  size_t i;
  json_t *b;
  json_array_foreach (json_object_get (spec, "Bases"), i, b)
  {
    _cleanup_free_ char *name = NULL, *version = NULL;
    if (reg_template_split_ref (json_string_value (b), &name, &version, NULL) < 0
        || !reg_template_name_ok (name) || !reg_template_version_ok (version))
      return reg_error_set (err, EINVAL, "deploy: base \"%s\" is not name@version",
                            json_string_value (b));
  }
  return 0;
}

static int
seconds_ns (json_t *h, const char *key, int64_t *ns, struct reg_error **err)
{
  json_t *v = json_object_get (h, key);
  *ns = 0;
  if (v == NULL)
    return 0;
  if (json_is_string (v))
    {
      _cleanup_free_ char *what = NULL;
      if (asprintf (&what, "deploy: Health.%s", key) < 0)
        return reg_error_set (err, ENOMEM, "out of memory");
      return reg_health_duration_parse (what, json_string_value (v), ns, err);
    }
  if (!json_is_number (v) || json_number_value (v) < 0.001 || json_number_value (v) > 86400)
    return reg_error_set (err, EINVAL,
                          "deploy: Health.%s must be seconds (0.001-86400) or a duration "
                          "(\"2s\")",
                          key);
  *ns = (int64_t)llround (json_number_value (v) * 1e9);
  return 0;
}

/* {"Http": "/path", "Port": N, "Status"?: N} | {"Tcp": PORT} | {"Cmd": "shell command"},
 * with "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries":
 * Docker's Healthcheck for regd. */
static json_t *
health_check (json_t *h, struct reg_error **err)
{
  static const char *const keys[]
      = { "Http",    "Port",        "Status",        "Cmd",     "Tcp", "Interval",
          "Timeout", "StartPeriod", "StartInterval", "Retries", NULL };
  const char *key;
  json_t *v;
  if (!json_is_object (h))
    return reg_error_set (err, EINVAL, "deploy: Health must be an object"), NULL;
  json_object_foreach (h, key, v)
  {
    bool known = false;
    for (size_t i = 0; keys[i]; i++)
      known = known || strcmp (key, keys[i]) == 0;
    if (!known)
      return reg_error_set (err, EINVAL, "deploy: Health: unknown field \"%s\"", key), NULL;
  }
  json_t *test = NULL;
  json_t *port = json_object_get (h, "Port"), *status = json_object_get (h, "Status");
  int n
      = !!json_object_get (h, "Http") + !!json_object_get (h, "Cmd") + !!json_object_get (h, "Tcp");
  if (n != 1)
    return reg_error_set (err, EINVAL, "deploy: Health needs one of Http (with Port), Tcp or Cmd"),
           NULL;
  if (hub_str (h, "Http"))
    {
      const char *path = hub_str (h, "Http");
      if (path[0] != '/' || strlen (path) > 2000 || strpbrk (path, " \r\n\t"))
        return reg_error_set (err, EINVAL, "deploy: Health.Http must be a path (\"/healthz\")"),
               NULL;
      json_int_t p = json_integer_value (port), s = status ? json_integer_value (status) : 0;
      if (!json_is_integer (port) || p < 1 || p > 65535)
        return reg_error_set (err, EINVAL, "deploy: Health.Port must be a port (1-65535)"), NULL;
      if (status && (!json_is_integer (status) || s < 100 || s > 599))
        return reg_error_set (err, EINVAL, "deploy: Health.Status must be an HTTP status"), NULL;
      char ps[16], ss[16];
      snprintf (ps, sizeof ps, "%d", (int)p);
      snprintf (ss, sizeof ss, "%d", (int)s);
      test = json_pack ("[s, s, s, s]", "HTTP-GET", path, ps, ss);
    }
  else if (json_object_get (h, "Tcp"))
    {
      json_t *tcp = json_object_get (h, "Tcp");
      if (!json_is_integer (tcp) || json_integer_value (tcp) < 1
          || json_integer_value (tcp) > 65535)
        return reg_error_set (err, EINVAL, "deploy: Health.Tcp must be a port (1-65535)"), NULL;
      char ps[16];
      snprintf (ps, sizeof ps, "%d", (int)json_integer_value (tcp));
      test = json_pack ("[s, s]", "TCP-CONNECT", ps);
    }
  else if (hub_str (h, "Cmd"))
    test = json_pack ("[s, s]", "CMD-SHELL", hub_str (h, "Cmd"));
  else
    return reg_error_set (err, EINVAL, "deploy: Health.Http and Health.Cmd are strings"), NULL;
  int64_t interval, timeout, start, start_interval;
  json_t *retries = json_object_get (h, "Retries");
  if (seconds_ns (h, "Interval", &interval, err) < 0 || seconds_ns (h, "Timeout", &timeout, err) < 0
      || seconds_ns (h, "StartPeriod", &start, err) < 0
      || seconds_ns (h, "StartInterval", &start_interval, err) < 0
      || (retries
          && (!json_is_integer (retries) || json_integer_value (retries) < 1
              || json_integer_value (retries) > 100)
          && reg_error_set (err, EINVAL, "deploy: Health.Retries must be 1-100") < 0))
    {
      json_decref (test);
      return NULL;
    }
  json_t *check
      = json_pack ("{s:o, s:I, s:I, s:I, s:I}", "Test", test, "Interval", (json_int_t)interval,
                   "Timeout", (json_int_t)timeout, "StartPeriod", (json_int_t)start, "Retries",
                   (json_int_t)(retries ? json_integer_value (retries) : 0));
  if (check && start_interval > 0)
    json_object_set_new (check, "StartInterval", json_integer (start_interval));
  return check;
}

static int
check_limits (json_t *spec, struct reg_error **err)
{
  json_t *mem = json_object_get (spec, "Memory"), *cpus = json_object_get (spec, "Cpus");
  int64_t bytes = 0;
  if (mem && json_is_string (mem) && !reg_util_parse_size (json_string_value (mem), &bytes))
    return reg_error_set (err, EINVAL, "deploy: Memory \"%s\" is not a size (256m, 1g)",
                          json_string_value (mem));
  if (mem && json_is_integer (mem))
    bytes = json_integer_value (mem);
  if (mem && (bytes < 4 * 1024 * 1024 || !(json_is_string (mem) || json_is_integer (mem))))
    return reg_error_set (err, EINVAL, "deploy: Memory must be a size of at least 4m");
  if (mem)
    json_object_set_new (spec, "Memory", json_integer (bytes));
  if (cpus
      && (!json_is_number (cpus) || json_number_value (cpus) < 0.01
          || json_number_value (cpus) > 1024))
    return reg_error_set (err, EINVAL, "deploy: Cpus must be a number of CPUs (0.01-1024)");
  const char *restart = hub_str (spec, "Restart");
  struct reg_restart rp;
  if (json_object_get (spec, "Restart")
      && (restart == NULL || reg_container_restart_parse (restart, &rp, err) < 0))
    return restart ? reg_error_prefix (err, "deploy: Restart")
                   : reg_error_set (err, EINVAL, "deploy: Restart must be a string");
  return 0;
}

static int
check_numbers (json_t *spec, struct reg_error **err)
{
  static const struct
  {
    const char *key;
    json_int_t min, max, def;
  } nums[] = { { "Parallel", 1, 1000, 1 }, { "Timeout", 1, 3600, HUB_DEPLOY_TIMEOUT_S } };
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
    {
      json_t *v = json_object_get (spec, nums[i].key);
      if (v
          && (!json_is_integer (v) || json_integer_value (v) < nums[i].min
              || json_integer_value (v) > nums[i].max))
        return reg_error_set (err, EINVAL, "deploy: %s must be an integer %lld-%lld", nums[i].key,
                              (long long)nums[i].min, (long long)nums[i].max);
      if (v == NULL)
        json_object_set_new (spec, nums[i].key, json_integer (nums[i].def));
    }
  return 0;
}

/* {"After"?: seconds or a duration (default 0), "Attempts"?: 1-10 (default 3)},
 * only with a health check; rewritten as {"After": seconds, "Attempts": n}. */
static int
check_redeploy (json_t *spec, struct reg_error **err)
{
  json_t *r = json_object_get (spec, "Redeploy");
  if (r == NULL)
    return 0;
  if (!json_is_object (r))
    return reg_error_set (err, EINVAL, "deploy: Redeploy must be {\"After\", \"Attempts\"}");
  if (json_object_get (spec, "Health") == NULL)
    return reg_error_set (err, EINVAL,
                          "deploy: Redeploy needs a Health check (it acts on an unhealthy one)");
  const char *key;
  json_t *v;
  json_object_foreach (r, key, v)
  {
    if (strcmp (key, "After") != 0 && strcmp (key, "Attempts") != 0)
      return reg_error_set (err, EINVAL, "deploy: unknown field \"Redeploy.%s\"", key);
  }
  json_t *after = json_object_get (r, "After"), *attempts = json_object_get (r, "Attempts");
  int64_t ns = 0;
  if (json_is_string (after)
      && reg_health_duration_parse ("deploy: Redeploy.After", json_string_value (after), &ns, err)
             < 0)
    return -1;
  if (after && !json_is_string (after)
      && (!json_is_number (after) || json_number_value (after) < 0
          || json_number_value (after) > 86400))
    return reg_error_set (
        err, EINVAL, "deploy: Redeploy.After must be seconds (0-86400) or a duration (\"30s\")");
  if (after && !json_is_string (after))
    ns = (int64_t)llround (json_number_value (after) * 1e9);
  if (ns > (int64_t)86400 * 1000000000)
    return reg_error_set (err, EINVAL, "deploy: Redeploy.After must be at most 24h");
  if (attempts
      && (!json_is_integer (attempts) || json_integer_value (attempts) < 1
          || json_integer_value (attempts) > 10))
    return reg_error_set (err, EINVAL, "deploy: Redeploy.Attempts must be an integer 1-10");
  json_object_set_new (spec, "Redeploy",
                       json_pack ("{s:f, s:I}", "After", (double)ns / 1e9, "Attempts",
                                  attempts ? json_integer_value (attempts) : (json_int_t)3));
  return 0;
}

/* "Keep": versions of the app left on each device (1-1000), or absent:
 * all of them. */
static int
check_keep (json_t *spec, struct reg_error **err)
{
  json_t *k = json_object_get (spec, "Keep");
  if (k && (!json_is_integer (k) || json_integer_value (k) < 1 || json_integer_value (k) > 1000))
    return reg_error_set (err, EINVAL,
                          "deploy: Keep must be an integer 1-1000 (versions kept on each device)");
  return 0;
}

static bool
name_ok (const char *name)
{
  size_t n = name ? strlen (name) : 0;
  if (n == 0 || n > 100
      || !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!strchr ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", name[i]))
      return false;
  return true;
}

/* Devices by name or id, or a group, among those `owner` sees. */
static json_t *
targets (struct hub *h, json_t *spec, int64_t owner, struct reg_error **err)
{
  json_t *devs = json_object_get (spec, "Devices");
  const char *group = hub_str (spec, "Group");
  if ((devs == NULL) == (json_object_get (spec, "Group") == NULL))
    return reg_error_set (err, EINVAL, "deploy: give Devices (names or ids) or a Group"), NULL;
  if (devs && (!json_is_array (devs) || json_array_size (devs) == 0))
    return reg_error_set (err, EINVAL, "deploy: Devices must be a list of names or ids"), NULL;
  if (devs == NULL && (group == NULL || group[0] == '\0'))
    return reg_error_set (err, EINVAL, "deploy: Group must be a name"), NULL;
  json_t *all = hub_store_device_list (h->store, owner, 0), *out = json_array ();
  size_t i;
  json_t *d;
  json_array_foreach (all, i, d)
  {
    if (group && json_equal (json_object_get (d, "Group"), json_object_get (spec, "Group")))
      json_array_append_new (out, json_pack ("{s:O, s:O}", "Id", json_object_get (d, "Id"), "Name",
                                             json_object_get (d, "Name")));
  }
  size_t j;
  json_t *want;
  json_array_foreach (devs, j, want)
  {
    json_t *found = NULL;
    json_array_foreach (all, i, d)
    {
      if (json_equal (want, json_object_get (d, "Id"))
          || json_equal (want, json_object_get (d, "Name")))
        found = d;
    }
    json_t *dup = NULL;
    size_t k;
    json_array_foreach (out, k, dup)
    {
      if (found && json_equal (json_object_get (dup, "Id"), json_object_get (found, "Id")))
        break;
    }
    if (found == NULL || k < json_array_size (out))
      {
        _cleanup_free_ char *w = json_dumps (want, JSON_ENCODE_ANY);
        reg_error_set (err, found ? EINVAL : ENOENT,
                       found ? "deploy: device %s listed twice" : "deploy: no device %s",
                       w ? w : "?");
        json_decref (all);
        json_decref (out);
        return NULL;
      }
    json_array_append_new (out, json_pack ("{s:O, s:O}", "Id", json_object_get (found, "Id"),
                                           "Name", json_object_get (found, "Name")));
  }
  json_decref (all);
  if (json_array_size (out) == 0)
    {
      json_decref (out);
      return reg_error_set (err, ENOENT, "deploy: group \"%s\" has no devices", group), NULL;
    }
  return out;
}

static int
check_fields (json_t *spec, const char *app, struct reg_error **err)
{
  static const char *const keys[]
      = { "Version", "Devices",  "Group",   "Bases",    "Cmd",  "Env",
          "Ports",   "Network",  "Restart", "Memory",   "Cpus", "Health",
          "Name",    "Parallel", "Timeout", "Redeploy", "Keep", NULL };
  const char *key;
  json_t *v;
  json_object_foreach (spec, key, v)
  {
    bool known = false;
    for (size_t i = 0; keys[i]; i++)
      known = known || strcmp (key, keys[i]) == 0;
    if (!known)
      return reg_error_set (err, EINVAL, "deploy: unknown field \"%s\"", key);
  }
  if (!reg_template_name_ok (app))
    return reg_error_set (err, EINVAL,
                          "deploy: app name \"%.64s\" must be [a-z0-9][a-z0-9._-]{0,127}", app);
  json_t *version = json_object_get (spec, "Version");
  if (version
      && (!json_is_string (version) || !reg_template_version_ok (json_string_value (version))))
    return reg_error_set (err, EINVAL, "deploy: Version must be [A-Za-z0-9][A-Za-z0-9._+-]{0,127}");
  if (json_object_get (spec, "Name") && !name_ok (hub_str (spec, "Name")))
    return reg_error_set (err, EINVAL,
                          "deploy: Name must be a container name ([a-z0-9][a-zA-Z0-9_.-], at most "
                          "100)");
  json_t *net = json_object_get (spec, "Network");
  if (net && (!json_is_string (net) || !name_ok (json_string_value (net))))
    return reg_error_set (err, EINVAL, "deploy: Network must be bridge, host, none or a network");
  if (check_strings (spec, "Cmd", true, err) < 0 || check_strings (spec, "Env", false, err) < 0
      || check_strings (spec, "Ports", false, err) < 0 || check_bases (spec, err) < 0
      || check_limits (spec, err) < 0 || check_numbers (spec, err) < 0
      || check_redeploy (spec, err) < 0 || check_keep (spec, err) < 0)
    return -1;
  size_t i;
  json_array_foreach (json_object_get (spec, "Env"), i, v)
  {
    if (strchr (json_string_value (v), '=') == NULL || json_string_value (v)[0] == '=')
      return reg_error_set (err, EINVAL, "deploy: Env[%zu] must be KEY=VALUE", i);
  }
  return 0;
}

json_t *
hub_deploy_check (struct hub *h, const char *app, const char *config, int64_t owner,
                  struct reg_error **err)
{
  json_error_t je;
  json_t *spec = config ? json_loads (config, JSON_REJECT_DUPLICATES, &je) : NULL;
  if (config == NULL)
    return reg_error_set (err, EINVAL,
                          "deploy: no \"config\" part (the deployment's JSON: curl -F "
                          "config=@deploy.json)"),
           NULL;
  if (!json_is_object (spec))
    {
      json_decref (spec);
      return reg_error_set (err, EINVAL, "deploy: config is not a JSON object (%s)",
                            spec ? "another type" : je.text),
             NULL;
    }
  json_t *health = NULL, *t = NULL;
  if (check_fields (spec, app, err) < 0
      || (json_object_get (spec, "Health")
          && (health = health_check (json_object_get (spec, "Health"), err)) == NULL)
      || (t = targets (h, spec, owner, err)) == NULL)
    {
      json_decref (health);
      json_decref (spec);
      return NULL;
    }
  if (health)
    json_object_set_new (spec, "Healthcheck", health);
  json_object_set_new (spec, "App", json_string (app));
  json_object_set_new (spec, "Targets", t);
  if (!json_object_get (spec, "Name"))
    json_object_set_new (spec, "Name", json_string (app));
  if (!json_object_get (spec, "Version"))
    {
      char v[32];
      snprintf (v, sizeof v, "%lld", (long long)hub_store_deployment_next_version (h->store, app));
      json_object_set_new (spec, "Version", json_string (v));
    }
  return spec;
}

json_t *
hub_deploy_create_body (json_t *spec, const char *tmpl, const char *name)
{
  json_t *b = json_pack ("{s:[s], s:s, s:O, s:s}", "Templates", tmpl, "Name", name, "Cmd",
                         json_object_get (spec, "Cmd"), "WorkingDir", HUB_APP_ROOT);
  static const char *const copy[][2] = { { "Env", "Env" },
                                         { "Ports", "Ports" },
                                         { "Network", "NetworkMode" },
                                         { "Healthcheck", "Healthcheck" } };
  for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++)
    if (json_object_get (spec, copy[i][0]))
      json_object_set (b, copy[i][1], json_object_get (spec, copy[i][0]));
  json_t *limits = json_object ();
  if (json_object_get (spec, "Memory"))
    json_object_set (limits, "Memory", json_object_get (spec, "Memory"));
  if (json_object_get (spec, "Cpus"))
    json_object_set_new (limits, "NanoCpus",
                         json_integer ((json_int_t)llround (
                             json_number_value (json_object_get (spec, "Cpus")) * 1e9)));
  if (json_object_size (limits))
    json_object_set (b, "Limits", limits);
  json_decref (limits);
  struct reg_restart rp;
  if (hub_str (spec, "Restart")
      && reg_container_restart_parse (hub_str (spec, "Restart"), &rp, NULL) == 0)
    json_object_set_new (b, "RestartPolicy",
                         json_pack ("{s:s, s:i}", "Name", reg_container_restart_name (rp.mode),
                                    "MaximumRetryCount", rp.max_retries));
  return b;
}

/* ---- the pipeline ---- */

struct run
{
  struct hub *h;
  int64_t id;
  json_t *spec;
  char *upload, *filename, *user;
  char tmpl[300];
};

struct device_job
{
  struct run *run;
  json_t *dev; /* its row, with secrets */
  int64_t dev_id;
  struct hub_target t;
  bool ok;
  bool redeploy; /* hub_deploy_recreate: the deployment's record is not touched */
  pthread_t thread;
};

static void
set_deployment (struct run *r, json_t *fields)
{
  hub_store_deployment_update (r->h->store, r->id, fields, NULL);
  json_decref (fields);
}

static void
set_target (struct device_job *j, json_t *fields)
{
  if (!j->redeploy)
    hub_store_deployment_target_update (j->run->h->store, j->run->id, j->dev_id, fields, NULL);
  json_decref (fields);
}

static void
skip_target (struct run *r, json_t *target, const char *why)
{
  json_t *fields = json_pack ("{s:s, s:s}", "State", "skipped", "Error", why);
  hub_store_deployment_target_update (
      r->h->store, r->id, json_integer_value (json_object_get (target, "Id")), fields, NULL);
  json_decref (fields);
}

static long
call (struct device_job *j, const char *method, const char *path, json_t *body, long timeout_ms,
      json_t **reply, struct reg_error **err)
{
  json_t *got = NULL;
  long status = hub_regd_call (&j->t, method, path, body, timeout_ms, &got, err);
  if (status >= 300)
    {
      hub_regd_fail (&j->t, CURLE_OK, status, got, err);
      status = -1;
    }
  if (reply && status >= 0)
    *reply = got;
  else
    json_decref (got);
  return status;
}

/* 1: the device has container `name`, 0: not, -1: error. */
static int
has_container (struct device_job *j, const char *name, struct reg_error **err)
{
  char path[300];
  snprintf (path, sizeof path, "/v1/containers/%s", name);
  json_t *reply = NULL;
  long status = hub_regd_call (&j->t, "GET", path, NULL, CALL_TIMEOUT_MS, &reply, err);
  json_t *n = json_object_get (reply, "Name");
  bool exact = json_is_string (n) && strcmp (json_string_value (n), name) == 0;
  json_decref (reply);
  if (status < 0)
    return -1;
  return status == 200 && exact ? 1 : 0;
}

static int
container_op (struct device_job *j, const char *name, const char *op, const char *query,
              struct reg_error **err)
{
  char path[400];
  if (strcmp (op, "remove") == 0)
    snprintf (path, sizeof path, "/v1/containers/%s?force=1", name);
  else
    snprintf (path, sizeof path, "/v1/containers/%s/%s%s", name, op, query ? query : "");
  return call (j, strcmp (op, "remove") == 0 ? "DELETE" : "POST", path, NULL, CALL_TIMEOUT_MS, NULL,
               err)
                 < 0
             ? -1
             : 0;
}

static int
rename_container (struct device_job *j, const char *from, const char *to, struct reg_error **err)
{
  char q[200];
  snprintf (q, sizeof q, "?name=%s", to);
  return container_op (j, from, "rename", q, err);
}

static int
pull (struct device_job *j, struct reg_error **err)
{
  double t0 = hub_mono ();
  set_target (j, json_pack ("{s:s}", "State", "pulling"));
  json_t *body = hub_apps_pull_body (j->run->h, j->run->tmpl, j->dev, err), *reply = NULL;
  long status
      = body ? call (j, "POST", "/v1/templates/pull", body, PULL_TIMEOUT_MS, &reply, err) : -1;
  json_decref (body);
  json_t *result = json_object_get (reply, "Result");
  if (status >= 0 && !json_is_object (result))
    reg_error_set (err, EIO, "device %s: pull %s: %s", j->t.name, j->run->tmpl,
                   hub_str (reply, "Error") ? hub_str (reply, "Error") : "no result");
  else if (status >= 0)
    set_target (j, json_pack ("{s:f, s:I}", "PullSeconds", hub_mono () - t0, "PullBytes",
                              json_integer_value (json_object_get (result, "Bytes"))));
  int ret = status >= 0 && json_is_object (result) ? 0 : -1;
  json_decref (reply);
  return ret;
}

/* Until the container is healthy (or running, without a check): 0; -1
 * with the reason when it stopped, turned unhealthy or the time ran out. */
static int
wait_healthy (struct device_job *j, const char *id, struct reg_error **err)
{
  bool check = json_object_get (j->run->spec, "Healthcheck") != NULL;
  double deadline
      = hub_mono () + (double)json_integer_value (json_object_get (j->run->spec, "Timeout"));
  char path[300];
  snprintf (path, sizeof path, "/v1/containers/%s", id);
  const char *health = "starting";
  double t0 = hub_mono ();
  while (!j->run->h->stopping)
    {
      json_t *c = NULL;
      if (call (j, "GET", path, NULL, CALL_TIMEOUT_MS, &c, err) < 0)
        return -1;
      json_t *state = json_object_get (c, "State");
      const char *status = hub_str (state, "Status");
      json_t *hs = json_object_get (state, "Health");
      health = hub_str (hs, "Status") ? hub_str (hs, "Status") : "starting";
      int ret = 1;
      if (status == NULL || (strcmp (status, "running") != 0 && strcmp (status, "restarting") != 0))
        ret = reg_error_set (err, EIO, "device %s: %s %s, exit code %d", j->t.name, j->run->tmpl,
                             status ? status : "gone",
                             (int)json_integer_value (json_object_get (state, "ExitCode")));
      else if (!check || strcmp (health, "healthy") == 0)
        ret = 0;
      else if (strcmp (health, "unhealthy") == 0)
        {
          json_t *log = json_object_get (hs, "Log");
          json_t *last = json_array_get (log, json_array_size (log) - 1);
          ret = reg_error_set (err, EIO, "device %s: %s unhealthy after %d failed checks: %.300s",
                               j->t.name, j->run->tmpl,
                               (int)json_integer_value (json_object_get (hs, "FailingStreak")),
                               hub_str (last, "Output") ? hub_str (last, "Output") : "");
        }
      json_decref (c);
      if (ret <= 0)
        return ret;
      if (hub_mono () > deadline)
        return reg_error_set (
            err, ETIMEDOUT, "device %s: %s not healthy within %lld s (%s)", j->t.name, j->run->tmpl,
            (long long)json_integer_value (json_object_get (j->run->spec, "Timeout")), health);
      usleep ((hub_mono () - t0 < POLL_FAST_S ? POLL_FAST_MS : POLL_MS) * 1000);
    }
  return reg_error_set (err, EINTR, "the hub is stopping");
}

/* Create, start and wait for `name`; its id in *id. */
static int
start_new (struct device_job *j, const char *name, char **id, struct reg_error **err)
{
  double t0 = hub_mono ();
  set_target (j, json_pack ("{s:s, s:s}", "State", "starting", "Container", name));
  json_t *body = hub_deploy_create_body (j->run->spec, j->run->tmpl, name), *created = NULL;
  long status = call (j, "POST", "/v1/containers", body, CALL_TIMEOUT_MS, &created, err);
  json_decref (body);
  if (status < 0)
    return -1;
  *id = hub_str (created, "Id") ? strdup (hub_str (created, "Id")) : NULL;
  json_decref (created);
  if (*id == NULL)
    return reg_error_set (err, EIO, "device %s: create gave no id", j->t.name);
  double t1 = hub_mono ();
  set_target (j, json_pack ("{s:f}", "CreateSeconds", t1 - t0));
  if (container_op (j, *id, "start", NULL, err) < 0)
    return -1;
  double t2 = hub_mono ();
  set_target (j, json_pack ("{s:f, s:s}", "StartSeconds", t2 - t1, "State", "checking"));
  if (wait_healthy (j, *id, err) < 0)
    return -1;
  set_target (j, json_pack ("{s:f}", "HealthySeconds", hub_mono () - t2));
  return 0;
}

/* What a stopped hub may have left: a "-next" (removed), a "-old" without
 * the app (put back). *old: the device runs (or ran) the app. */
static int
recover (struct device_job *j, const char *name, const char *next, const char *kept, bool *old,
         struct reg_error **err)
{
  int has;
  if ((has = has_container (j, next, err)) < 0
      || (has && container_op (j, next, "remove", NULL, err) < 0))
    return -1;
  int cur = has_container (j, name, err), prev = cur < 0 ? -1 : has_container (j, kept, err);
  if (cur < 0 || prev < 0)
    return -1;
  if (!cur && prev && rename_container (j, kept, name, err) < 0)
    return -1;
  if (cur && prev && container_op (j, kept, "remove", NULL, err) < 0)
    return -1;
  *old = cur || prev;
  return 0;
}

/* The old version back, after the new one failed. */
static void
roll_back (struct device_job *j, const char *mode, const char *new_name, const char *name,
           const char *kept)
{
  _cleanup_error_ struct reg_error *e = NULL;
  container_op (j, new_name, "remove", NULL, &e);
  if (strcmp (mode, "replace") == 0 && rename_container (j, kept, name, &e) == 0)
    container_op (j, name, "start", NULL, &e);
}

/* The app's versions this hub deployed, newest first, each with whether
 * it ran on the device (its target there got healthy). */
static json_t *
versions_of (struct device_job *j)
{
  static const char *const ran[] = { "healthy", "unhealthy", "redeploying", NULL };
  struct hub_store *store = j->run->h->store;
  json_t *list = hub_store_deployment_list (store, hub_str (j->run->spec, "App"), 1000);
  json_t *out = json_array (), *row, *t;
  size_t i, k;
  json_array_foreach (list, i, row)
  {
    json_t *d = hub_store_deployment_get (store, json_integer_value (json_object_get (row, "Id")));
    bool good = false;
    json_array_foreach (json_object_get (d, "Devices"), k, t)
    {
      if (json_integer_value (json_object_get (t, "Device")) != j->dev_id || !hub_str (t, "State"))
        continue;
      for (size_t q = 0; ran[q]; q++)
        good = good || strcmp (hub_str (t, "State"), ran[q]) == 0;
    }
    if (hub_str (d, "Template"))
      json_array_append_new (
          out, json_pack ("{s:s, s:b}", "Template", hub_str (d, "Template"), "Ran", good));
    json_decref (d);
  }
  json_decref (list);
  return out;
}

static bool
has_template (json_t *templates, const char *tmpl)
{
  size_t i;
  json_t *t;
  json_array_foreach (templates, i, t)
  {
    if (hub_str (t, "Ref") && strcmp (hub_str (t, "Ref"), tmpl) == 0)
      return true;
  }
  return false;
}

/* After a prune of templates: the objects no template names any more. */
static void
prune_data (struct device_job *j)
{
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *rep = NULL, *body = json_pack ("{s:b}", "Data", 1);
  char result[120];
  if (call (j, "POST", "/v1/system/prune", body, PULL_TIMEOUT_MS, &rep, &err) < 0)
    snprintf (result, sizeof result, "%s", err->msg);
  else
    snprintf (result, sizeof result, "ok: %lld objects, %lld bytes",
              (long long)json_integer_value (json_object_get (rep, "Objects")),
              (long long)json_integer_value (json_object_get (rep, "Bytes")));
  hub_store_audit (j->run->h->store, j->run->user, j->dev_id, "prune", "data", result);
  json_decref (body);
  json_decref (rep);
}

/* "Keep": N — on the device, the new version and the N-1 newest earlier
 * ones that ran there stay; every other version of the app this hub
 * deployed (older ones, failed ones) is removed unless a container uses
 * it, and then the objects no template names any more. Best effort: a
 * failure is audited, never the deployment's. */
static void
prune_versions (struct device_job *j)
{
  json_t *keep_j = json_object_get (j->run->spec, "Keep");
  if (keep_j == NULL)
    return;
  int64_t keep = json_integer_value (keep_j) - 1; /* besides the new one */
  json_t *templates = NULL, *versions = NULL, *v;
  _cleanup_error_ struct reg_error *err = NULL;
  if (call (j, "GET", "/v1/templates", NULL, CALL_TIMEOUT_MS, &templates, &err) < 0)
    {
      hub_store_audit (j->run->h->store, j->run->user, j->dev_id, "prune", j->run->tmpl, err->msg);
      return;
    }
  versions = versions_of (j);
  size_t removed = 0, i;
  json_array_foreach (versions, i, v)
  {
    const char *tmpl = hub_str (v, "Template");
    if (strcmp (tmpl, j->run->tmpl) == 0 || !has_template (templates, tmpl))
      continue;
    if (json_is_true (json_object_get (v, "Ran")) && keep > 0)
      {
        keep--;
        continue;
      }
    char path[400];
    snprintf (path, sizeof path, "/v1/templates/%s", tmpl);
    _cleanup_error_ struct reg_error *e = NULL;
    int rc = call (j, "DELETE", path, NULL, CALL_TIMEOUT_MS, NULL, &e) < 0 ? -1 : 0;
    removed += rc == 0;
    hub_store_audit (j->run->h->store, j->run->user, j->dev_id, "prune", tmpl,
                     rc == 0 ? "ok" : e->msg);
  }
  if (removed > 0)
    prune_data (j);
  json_decref (templates);
  json_decref (versions);
}

static int
device_deploy (struct device_job *j, struct reg_error **err)
{
  const char *name = hub_str (j->run->spec, "Name");
  char next[160], kept[160];
  snprintf (next, sizeof next, "%s-next", name);
  snprintf (kept, sizeof kept, "%s-old", name);
  bool old = false;
  if (j->run->h->stopping)
    return reg_error_set (err, EINTR, "device %s: the hub stopped before it", j->t.name);
  if (pull (j, err) < 0 || recover (j, name, next, kept, &old, err) < 0)
    return -1;
  /* Next to the old one only where their ports cannot clash: nothing
   * published, and a network namespace of its own (with the device's,
   * --network host, the app's own ports are the device's). */
  const char *net = hub_str (j->run->spec, "Network");
  bool clash = json_array_size (json_object_get (j->run->spec, "Ports")) > 0
               || (net && strcmp (net, "host") == 0);
  const char *mode = !old ? "new" : clash ? "replace" : "side-by-side";
  set_target (j, json_pack ("{s:s}", "Mode", mode));
  if (strcmp (mode, "replace") == 0
      && (container_op (j, name, "stop", "?t=10", err) < 0
          || rename_container (j, name, kept, err) < 0))
    return -1;
  const char *new_name = strcmp (mode, "side-by-side") == 0 ? next : name;
  _cleanup_free_ char *id = NULL;
  if (start_new (j, new_name, &id, err) < 0)
    {
      roll_back (j, mode, new_name, name, kept);
      return -1;
    }
  _cleanup_error_ struct reg_error *e = NULL;
  if (strcmp (mode, "side-by-side") == 0)
    {
      if (container_op (j, name, "stop", "?t=10", err) < 0
          || container_op (j, name, "remove", NULL, err) < 0
          || rename_container (j, next, name, err) < 0)
        return -1;
    }
  else if (strcmp (mode, "replace") == 0)
    container_op (j, kept, "remove", NULL, &e); /* the new one runs: not a failure */
  set_target (j, json_pack ("{s:s, s:s}", "State", "healthy", "Container", name));
  prune_versions (j);
  return 0;
}

int
hub_deploy_recreate (struct hub *h, json_t *spec, const char *tmpl, json_t *dev,
                     struct reg_error **err)
{
  struct run r = { .h = h, .spec = spec };
  snprintf (r.tmpl, sizeof r.tmpl, "%s", tmpl);
  struct device_job j = { .run = &r,
                          .dev = dev,
                          .dev_id = json_integer_value (json_object_get (dev, "Id")),
                          .redeploy = true };
  const char *name = hub_str (spec, "Name");
  _cleanup_free_ char *id = NULL;
  _cleanup_error_ struct reg_error *ignored = NULL;
  if (hub_target_init (&j.t, dev, err) < 0)
    return -1;
  int has = has_container (&j, name, err);
  int ret = has < 0 ? -1 : 0;
  if (has > 0)
    {
      container_op (&j, name, "stop", "?t=10", &ignored); /* it may have stopped already */
      ret = container_op (&j, name, "remove", NULL, err);
    }
  if (ret == 0)
    ret = start_new (&j, name, &id, err);
  return ret;
}

static void *
device_main (void *p)
{
  struct device_job *j = p;
  _cleanup_error_ struct reg_error *err = NULL;
  bool had_old = false;
  if (hub_target_init (&j->t, j->dev, &err) == 0 && device_deploy (j, &err) == 0)
    j->ok = true;
  else
    {
      json_t *row = hub_store_deployment_get (j->run->h->store, j->run->id);
      json_t *d;
      size_t i;
      json_array_foreach (json_object_get (row, "Devices"), i, d)
      {
        if (json_integer_value (json_object_get (d, "Device")) == j->dev_id)
          had_old = hub_str (d, "Mode") && strcmp (hub_str (d, "Mode"), "new") != 0;
      }
      json_decref (row);
      set_target (j, json_pack ("{s:s, s:s}", "State", had_old ? "rolled back" : "failed", "Error",
                                err && err->msg ? err->msg : "failed"));
    }
  hub_store_audit (j->run->h->store, j->run->user, j->dev_id, "deploy", j->run->tmpl,
                   j->ok             ? "ok"
                   : err && err->msg ? err->msg
                                     : "failed");
  return NULL;
}

/* The devices, Parallel at a time; stops after the first batch with a
 * failure. Returns the number that failed (and names the first). */
static size_t
deploy_devices (struct run *r, char **first_error)
{
  json_t *targets = json_object_get (r->spec, "Targets");
  size_t n = json_array_size (targets),
         batch = (size_t)json_integer_value (json_object_get (r->spec, "Parallel"));
  size_t failed = 0, i = 0;
  for (; i < n && failed == 0 && !r->h->stopping; i += batch)
    {
      struct device_job jobs[batch < n - i ? batch : n - i];
      size_t m = sizeof jobs / sizeof jobs[0];
      for (size_t k = 0; k < m; k++)
        {
          int64_t id = json_integer_value (json_object_get (json_array_get (targets, i + k), "Id"));
          jobs[k] = (struct device_job){ .run = r,
                                         .dev_id = id,
                                         .dev = hub_store_device_get (r->h->store, id, 1) };
          if (jobs[k].dev == NULL)
            jobs[k].dev = json_pack ("{s:I, s:s}", "Id", (json_int_t)id, "Name", "(removed)");
          if (pthread_create (&jobs[k].thread, NULL, device_main, &jobs[k]) != 0)
            device_main (&jobs[k]), jobs[k].thread = 0;
        }
      for (size_t k = 0; k < m; k++)
        {
          if (jobs[k].thread)
            pthread_join (jobs[k].thread, NULL);
          if (!jobs[k].ok)
            failed++;
          json_decref (jobs[k].dev);
        }
    }
  for (; i < n; i++)
    skip_target (r, json_array_get (targets, i), "an earlier device failed");
  if (failed)
    {
      json_t *row = hub_store_deployment_get (r->h->store, r->id);
      json_t *d;
      size_t k;
      json_array_foreach (json_object_get (row, "Devices"), k, d)
      {
        if (*first_error == NULL && hub_str (d, "Error")
            && strcmp (hub_str (d, "State"), "skipped") != 0)
          *first_error = strdup (hub_str (d, "Error"));
      }
      json_decref (row);
    }
  return failed;
}

static char **
bases_of (json_t *spec)
{
  json_t *b = json_object_get (spec, "Bases");
  char **v = calloc (json_array_size (b) + 1, sizeof *v);
  for (size_t i = 0; v && i < json_array_size (b); i++)
    v[i] = strdup (json_string_value (json_array_get (b, i)));
  return v;
}

static int
make_and_push (struct run *r, struct reg_error **err)
{
  struct hub *h = r->h;
  double t0 = hub_mono ();
  set_deployment (r, json_pack ("{s:s}", "State", "making"));
  _cleanup_strv_ char **bases = bases_of (r->spec);
  int64_t bytes = 0;
  char digest[65];
  struct hub_app_files files = { 0 };
  if (hub_apps_bases (h, bases, &bytes, err) < 0
      || hub_apps_make (h, json_string_value (json_object_get (r->spec, "App")),
                        hub_str (r->spec, "Version"), bases, r->upload, r->filename, &files, digest,
                        err)
             < 0)
    return -1;
  set_deployment (r, json_pack ("{s:s, s:I, s:I, s:f, s:s}", "Digest", digest, "Files",
                                (json_int_t)files.files, "AppBytes", (json_int_t)files.bytes,
                                "MakeSeconds", hub_mono () - t0, "State", "pushing"));
  hub_appfiles_free (&files);
  double t1 = hub_mono ();
  if (hub_apps_publish (h, r->tmpl, &bytes, err) < 0)
    return -1;
  set_deployment (r, json_pack ("{s:f, s:I, s:s}", "PushSeconds", hub_mono () - t1, "PushBytes",
                                (json_int_t)bytes, "State", "deploying"));
  return 0;
}

static void *
run_main (void *p)
{
  struct run *r = p;
  _cleanup_error_ struct reg_error *err = NULL;
  _cleanup_free_ char *first = NULL;
  size_t failed = 0;
  if (make_and_push (r, &err) == 0)
    failed = deploy_devices (r, &first);
  size_t n = json_array_size (json_object_get (r->spec, "Targets"));
  _cleanup_free_ char *why = NULL;
  if (err)
    why = strdup (err->msg);
  else if (failed
           && asprintf (&why, "%zu of %zu devices failed (the rest were not updated): %s", failed,
                        n, first ? first : "?")
                  < 0)
    why = NULL;
  set_deployment (r, json_pack ("{s:s, s:s?, s:I}", "State", err || failed ? "failed" : "succeeded",
                                "Error", why, "Finished", (json_int_t)time (NULL)));
  if (err)
    {
      json_t *targets = json_object_get (r->spec, "Targets"), *t;
      size_t i;
      json_array_foreach (targets, i, t)
      {
        skip_target (r, t, "the deployment failed before");
      }
    }
  hub_store_audit (r->h->store, r->user, 0, "deploy", r->tmpl, why ? why : "ok");
  unlink (r->upload);
  struct hub *h = r->h;
  json_decref (r->spec);
  free (r->upload);
  free (r->filename);
  free (r->user);
  free (r);
  pthread_mutex_lock (&h->wake_lock);
  h->deploys_running--;
  pthread_cond_broadcast (&h->deploys_done);
  pthread_mutex_unlock (&h->wake_lock);
  return NULL;
}

int
hub_deploy_start (struct hub *h, int64_t id, json_t *spec, char *upload, const char *filename,
                  const char *user, struct reg_error **err)
{
  struct run *r = calloc (1, sizeof *r);
  if (r == NULL)
    {
      unlink (upload);
      free (upload);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  *r = (struct run){ .h = h,
                     .id = id,
                     .spec = json_incref (spec),
                     .upload = upload,
                     .filename = strdup (filename),
                     .user = strdup (user) };
  snprintf (r->tmpl, sizeof r->tmpl, "%s@%s", json_string_value (json_object_get (spec, "App")),
            hub_str (spec, "Version"));
  pthread_mutex_lock (&h->wake_lock);
  h->deploys_running++;
  pthread_mutex_unlock (&h->wake_lock);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create (&t, &attr, run_main, r);
  pthread_attr_destroy (&attr);
  if (rc != 0) /* no thread to spare: the request waits for it instead */
    run_main (r);
  return 0;
}

void
hub_deploy_wait (struct hub *h)
{
  struct timespec until;
  clock_gettime (CLOCK_REALTIME, &until);
  until.tv_sec += 30; /* a pull in flight is not waited for longer */
  pthread_mutex_lock (&h->wake_lock);
  while (h->deploys_running > 0)
    if (pthread_cond_timedwait (&h->deploys_done, &h->wake_lock, &until) == ETIMEDOUT)
      break;
  pthread_mutex_unlock (&h->wake_lock);
}
