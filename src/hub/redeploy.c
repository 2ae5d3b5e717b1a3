/* redeploy: recreate a deployed container that stays unhealthy (redeploy.h). */
#include "redeploy.h"
#include "deploy.h"
#include "hub.h"
#include "regd_client.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CALL_TIMEOUT_MS 10000
#define MAX_DEPLOYMENTS 50 /* the newest ones are looked at */
#define ACTOR "reg-hub"

static void
set_target (struct hub *h, int64_t deployment, int64_t device, json_t *fields)
{
  hub_store_deployment_target_update (h->store, deployment, device, fields, NULL);
  json_decref (fields);
}

/* Is the container unhealthy now? Then *why says how. */
static bool
unhealthy (struct hub_target *t, const char *name, char **why)
{
  char path[300];
  snprintf (path, sizeof path, "/v1/containers/%s", name);
  json_t *c = NULL;
  _cleanup_error_ struct reg_error *err = NULL;
  long status = hub_regd_call (t, "GET", path, NULL, CALL_TIMEOUT_MS, &c, &err);
  json_t *state = json_object_get (c, "State"), *hs = json_object_get (state, "Health");
  bool bad = status == 200 && hub_str (state, "Status")
             && strcmp (hub_str (state, "Status"), "running") == 0 && hub_str (hs, "Status")
             && strcmp (hub_str (hs, "Status"), "unhealthy") == 0;
  if (bad)
    {
      json_t *log = json_object_get (hs, "Log");
      const char *out = hub_str (json_array_get (log, json_array_size (log) - 1), "Output");
      if (asprintf (why, "unhealthy after %d failed checks: %.300s",
                    (int)json_integer_value (json_object_get (hs, "FailingStreak")), out ? out : "")
          < 0)
        *why = NULL;
    }
  json_decref (c);
  return bad;
}

/* One attempt: recreate, record, audit. */
static void
redeploy (struct hub *h, json_t *d, json_t *target, json_t *dev, const char *why)
{
  json_t *spec = json_object_get (d, "Spec"), *policy = json_object_get (spec, "Redeploy");
  int64_t id = json_integer_value (json_object_get (d, "Id")),
          device = json_integer_value (json_object_get (target, "Device")),
          done = json_integer_value (json_object_get (target, "Redeploys")),
          attempts = json_integer_value (json_object_get (policy, "Attempts"));
  const char *tmpl = hub_str (d, "Template");
  _cleanup_free_ char *gave_up = NULL;
  if (done >= attempts)
    {
      if (asprintf (&gave_up, "gave up after %lld redeploys: %s", (long long)done,
                    why ? why : "unhealthy")
          < 0)
        return;
      set_target (h, id, device, json_pack ("{s:s, s:s}", "State", "unhealthy", "Error", gave_up));
      hub_store_audit (h->store, ACTOR, device, "redeploy", tmpl, gave_up);
      return;
    }
  set_target (h, id, device,
              json_pack ("{s:s, s:I, s:s?}", "State", "redeploying", "Redeploys",
                         (json_int_t)(done + 1), "Error", why));
  _cleanup_error_ struct reg_error *err = NULL;
  int rc = hub_deploy_recreate (h, spec, tmpl, dev, &err);
  const char *msg = rc == 0 ? "ok" : err && err->msg ? err->msg : "failed";
  if (rc == 0)
    set_target (h, id, device, json_pack ("{s:s, s:n}", "State", "healthy", "Error"));
  else if (done + 1 >= attempts
           && asprintf (&gave_up, "gave up after %lld redeploys: %s", (long long)(done + 1), msg)
                  >= 0)
    set_target (h, id, device, json_pack ("{s:s, s:s}", "State", "unhealthy", "Error", gave_up));
  else
    set_target (h, id, device, json_pack ("{s:s}", "Error", msg));
  hub_store_audit (h->store, ACTOR, device, "redeploy", tmpl, msg);
}

/* Seconds since the epoch: the unhealthy time is kept in the database,
 * across hub restarts (a monotonic clock restarts with the host). */
static double
wall_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A watched target: redeploy it when it has been unhealthy `After`
 * seconds, or when the last attempt failed. Since when it is unhealthy is
 * the target's UnhealthySince, written when a round first sees it so and
 * cleared when it is not, or is redeployed. */
static void
check_target (struct hub *h, json_t *d, json_t *target)
{
  json_t *spec = json_object_get (d, "Spec");
  double after = json_number_value (json_object_get (json_object_get (spec, "Redeploy"), "After"));
  int64_t id = json_integer_value (json_object_get (d, "Id")),
          device = json_integer_value (json_object_get (target, "Device"));
  json_t *since = json_object_get (target, "UnhealthySince");
  json_t *dev = hub_store_device_get (h->store, device, 1);
  struct hub_target t;
  if (dev == NULL || hub_target_init (&t, dev, NULL) < 0)
    {
      json_decref (dev);
      return;
    }
  _cleanup_free_ char *why = NULL;
  bool act = strcmp (hub_str (target, "State"), "redeploying") == 0;
  if (act && hub_str (target, "Error"))
    why = strdup (hub_str (target, "Error"));
  else if (!act && unhealthy (&t, hub_str (spec, "Name"), &why))
    {
      double now = wall_now ();
      if (!json_is_number (since))
        set_target (h, id, device, json_pack ("{s:f}", "UnhealthySince", now));
      act = json_is_number (since) && now - json_number_value (since) >= after;
    }
  else if (json_is_number (since))
    set_target (h, id, device, json_pack ("{s:n}", "UnhealthySince"));
  if (act && !h->stopping)
    {
      redeploy (h, d, target, dev, why);
      set_target (h, id, device, json_pack ("{s:n}", "UnhealthySince"));
    }
  json_decref (dev);
}

static bool
state_is (json_t *target, const char *const *states)
{
  const char *s = hub_str (target, "State");
  for (size_t i = 0; s && states[i]; i++)
    if (strcmp (s, states[i]) == 0)
      return true;
  return false;
}

/* The newest deployments first: each (device, container name) belongs to
 * the newest one that put (or is putting) it there. */
static void
round_once (struct hub *h)
{
  static const char *const passed[] = { "skipped", "rolled back", "failed", NULL };
  static const char *const watched[] = { "healthy", "redeploying", NULL };
  json_t *list = hub_store_deployment_list (h->store, NULL, MAX_DEPLOYMENTS);
  json_t *claimed = json_object ();
  size_t i, k;
  json_t *row, *target;
  json_array_foreach (list, i, row)
  {
    json_t *d
        = hub_store_deployment_get (h->store, json_integer_value (json_object_get (row, "Id")));
    json_t *spec = json_object_get (d, "Spec");
    json_array_foreach (json_object_get (d, "Devices"), k, target)
    {
      char key[200];
      snprintf (key, sizeof key, "%lld/%s",
                (long long)json_integer_value (json_object_get (target, "Device")),
                hub_str (spec, "Name") ? hub_str (spec, "Name") : "");
      if (h->stopping || state_is (target, passed) || json_object_get (claimed, key))
        continue;
      json_object_set_new (claimed, key, json_true ());
      if (json_object_get (spec, "Redeploy") && state_is (target, watched))
        check_target (h, d, target);
    }
    json_decref (d);
  }
  json_decref (claimed);
  json_decref (list);
}

static void *
redeploy_main (void *p)
{
  struct hub *h = p;
  while (!h->stopping)
    {
      round_once (h);
      struct timespec until;
      clock_gettime (CLOCK_REALTIME, &until);
      until.tv_sec += h->cfg.probe_interval / 1000;
      until.tv_nsec += (long)(h->cfg.probe_interval % 1000) * 1000000;
      if (until.tv_nsec >= 1000000000)
        {
          until.tv_sec++;
          until.tv_nsec -= 1000000000;
        }
      pthread_mutex_lock (&h->wake_lock);
      if (!h->stopping)
        pthread_cond_timedwait (&h->wake, &h->wake_lock, &until);
      pthread_mutex_unlock (&h->wake_lock);
    }
  return NULL;
}

int
hub_redeploy_start (struct hub *h, struct reg_error **err)
{
  int rc = pthread_create (&h->redeployer, NULL, redeploy_main, h);
  if (rc != 0)
    return reg_error_sys (err, rc, "reg-hub: start the redeploy thread");
  h->redeployer_started = true;
  return 0;
}

void
hub_redeploy_stop (struct hub *h)
{
  pthread_mutex_lock (&h->wake_lock);
  h->stopping = true;
  pthread_cond_broadcast (&h->wake);
  pthread_mutex_unlock (&h->wake_lock);
  if (h->redeployer_started)
    pthread_join (h->redeployer, NULL);
  h->redeployer_started = false;
}
