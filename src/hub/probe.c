/* probe: liveness and utilisation history.
 *
 * Every probe interval, one round GETs /v1/version on every device at once
 * (hub_regd_get_many: one curl multi handle, a timeout per device), so a
 * slow or dead device costs the round at most the timeout and never delays
 * the others; the timeout is shorter than the interval (checked at start).
 * A device that answers is Online (last-seen now), one that does not is
 * Offline with the reason; a device not yet probed is Unknown. A device
 * that comes Online gets its info read (/v1/system/info).
 *
 * Every sample interval, /v1/system/stats of each Online device gives its
 * CPU (from the busy/total deltas since the last reading), memory and
 * disk, and the stats of its running containers their CPU and memory;
 * these go to the store's history, which is pruned to the retention.
 */
#include "hub.h"
#include "regd_client.h"
#include "util.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct round
{
  json_t *devices; /* hub_store_device_targets' rows */
  struct hub_target *t;
  size_t n;
};

static void
round_free (struct round *r)
{
  json_decref (r->devices);
  free (r->t);
}

/* Targets of the devices, those whose URL is unusable left out. */
static int
round_load (struct hub *h, json_t *devices, struct round *r)
{
  r->devices = devices;
  r->n = 0;
  r->t = calloc (json_array_size (devices) + 1, sizeof *r->t);
  if (r->t == NULL || devices == NULL)
    return -1;
  size_t i;
  json_t *d;
  json_array_foreach (devices, i, d)
  {
    _cleanup_error_ struct reg_error *err = NULL;
    if (hub_target_init (&r->t[r->n], d, &err) == 0)
      r->n++;
  }
  return 0;
}

static json_t *
device_of (struct round *r, int64_t id)
{
  size_t i;
  json_t *d;
  json_array_foreach (r->devices, i,
                      d) if (json_integer_value (json_object_get (d, "Id")) == id) return d;
  return NULL;
}

/* Read the info of the devices just found Online (or never read). */
static void
read_info (struct hub *h, struct hub_multi *m, struct round *r, json_t *results)
{
  struct hub_target *t = calloc (r->n + 1, sizeof *t);
  json_t **res = calloc (r->n + 1, sizeof *res);
  size_t k = 0;
  for (size_t i = 0; t && res && i < r->n; i++)
    {
      json_t *row = json_array_get (results, i);
      json_t *d = device_of (r, r->t[i].id);
      const char *was = json_string_value (json_object_get (d, "State"));
      if (strcmp (json_string_value (json_object_get (row, "State")), "online") != 0)
        continue;
      if (was && strcmp (was, "online") == 0 && json_integer_value (json_object_get (d, "HasInfo")))
        continue;
      t[k] = r->t[i];
      res[k++] = row;
    }
  json_t **replies = calloc (k + 1, sizeof *replies);
  char **errors = calloc (k + 1, sizeof *errors);
  if (k > 0 && replies && errors)
    {
      hub_regd_get_many (m, t, k, "/v1/system/info", h->cfg.probe_timeout, replies, errors);
      for (size_t i = 0; i < k; i++)
        {
          if (replies[i])
            json_object_set_new (res[i], "Info", replies[i]);
          free (errors[i]);
        }
    }
  free (replies);
  free (errors);
  free (t);
  free (res);
}

static void
probe_round (struct hub *h, struct hub_multi *m, struct round *r)
{
  json_t **replies = calloc (r->n + 1, sizeof *replies);
  char **errors = calloc (r->n + 1, sizeof *errors);
  if (replies == NULL || errors == NULL)
    goto out;
  hub_regd_get_many (m, r->t, r->n, "/v1/version", h->cfg.probe_timeout, replies, errors);
  json_t *results = json_array ();
  int64_t now = hub_now ();
  for (size_t i = 0; i < r->n; i++)
    {
      json_t *row = json_pack ("{s:I}", "Id", (json_int_t)r->t[i].id);
      if (replies[i])
        {
          json_object_set_new (row, "State", json_string ("online"));
          json_object_set_new (row, "LastSeen", json_integer (now));
        }
      else
        {
          json_object_set_new (row, "State", json_string ("offline"));
          json_object_set_new (row, "Error", json_string (errors[i]));
        }
      json_array_append_new (results, row);
      json_decref (replies[i]);
      free (errors[i]);
    }
  read_info (h, m, r, results);
  size_t online = 0;
  for (size_t i = 0; i < r->n; i++)
    online += strcmp (json_string_value (json_object_get (json_array_get (results, i), "State")),
                      "online")
              == 0;
  pthread_mutex_lock (&h->wake_lock);
  h->round_devices = r->n;
  h->round_online = online;
  pthread_mutex_unlock (&h->wake_lock);
  _cleanup_error_ struct reg_error *err = NULL;
  if (hub_store_device_states (h->store, results, &err) < 0)
    fprintf (stderr, "reg-hub: probe: %s\n", err->msg);
  json_decref (results);
out:
  free (replies);
  free (errors);
}

/* ---- utilisation ---- */

/* Previous cumulative readings: "d<id>" -> [busy, total], "c<id>/<cid>" ->
 * [cpu ns, time]. */
static json_t *previous;

static double
delta_pct (const char *key, double a, double b, double scale)
{
  json_t *p = json_object_get (previous, key);
  double pct = -1;
  if (json_is_array (p))
    {
      double da = a - json_number_value (json_array_get (p, 0));
      double db = b - json_number_value (json_array_get (p, 1));
      if (db > 0 && da >= 0)
        pct = da / db * scale;
    }
  json_object_set_new (previous, key, json_pack ("[f, f]", a, b));
  return pct;
}

static double
num (json_t *o, const char *k)
{
  return json_number_value (json_object_get (o, k));
}

static void
sample_containers (struct hub *h, struct hub_multi *m, struct round *r, size_t *online, size_t k,
                   json_t *out, int64_t now)
{
  json_t **lists = calloc (k + 1, sizeof *lists);
  char **errors = calloc (k + 1, sizeof *errors);
  struct hub_target *t = calloc (k + 1, sizeof *t);
  for (size_t i = 0; t && i < k; i++)
    t[i] = r->t[online[i]];
  if (lists && errors && t)
    hub_regd_get_many (m, t, k, "/v1/containers", h->cfg.probe_timeout, lists, errors);
  /* Then the stats of every running container, all at once. */
  size_t total = 0;
  for (size_t i = 0; lists && i < k; i++)
    total += json_array_size (lists[i]);
  struct hub_target *ct = calloc (total + 1, sizeof *ct);
  char **paths = calloc (total + 1, sizeof *paths);
  json_t **who = calloc (total + 1, sizeof *who);
  json_t **stats = calloc (total + 1, sizeof *stats);
  char **serr = calloc (total + 1, sizeof *serr);
  size_t c = 0;
  for (size_t i = 0; ct && paths && who && lists && i < k; i++)
    {
      size_t j;
      json_t *ctr;
      json_array_foreach (lists[i], j, ctr)
      {
        const char *id = json_string_value (json_object_get (ctr, "Id"));
        if (id == NULL || asprintf (&paths[c], "/v1/containers/%s/stats", id) < 0)
          continue;
        ct[c] = t[i];
        who[c++] = ctr;
      }
    }
  if (c > 0 && stats && serr)
    hub_regd_get_each (m, ct, c, (const char *const *)paths, h->cfg.probe_timeout, stats, serr);
  for (size_t i = 0; i < c; i++)
    {
      if (stats && stats[i])
        {
          const char *id = json_string_value (json_object_get (who[i], "Id"));
          char key[128];
          snprintf (key, sizeof key, "c%lld/%s", (long long)ct[i].id, id);
          double cpu
              = delta_pct (key, num (stats[i], "CpuNs") / 1e9, num (stats[i], "ReadTime"), 100.0);
          if (cpu >= 0)
            json_array_append_new (
                out, json_pack ("{s:I, s:I, s:s, s:s?, s:f, s:I}", "Device", (json_int_t)ct[i].id,
                                "T", (json_int_t)now, "Container", id, "Name",
                                json_string_value (json_object_get (who[i], "Name")), "Cpu", cpu,
                                "Mem", (json_int_t)num (stats[i], "Memory")));
          json_decref (stats[i]);
        }
      if (serr)
        free (serr[i]);
      free (paths[i]);
    }
  for (size_t i = 0; lists && i < k; i++)
    {
      json_decref (lists[i]);
      free (errors ? errors[i] : NULL);
    }
  free (lists);
  free (errors);
  free (t);
  free (ct);
  free (paths);
  free (who);
  free (stats);
  free (serr);
}

static void
sample_round (struct hub *h, struct hub_multi *m, struct round *r)
{
  size_t *online = calloc (r->n + 1, sizeof *online), k = 0;
  json_t **replies = calloc (r->n + 1, sizeof *replies);
  char **errors = calloc (r->n + 1, sizeof *errors);
  struct hub_target *t = calloc (r->n + 1, sizeof *t);
  if (!online || !replies || !errors || !t)
    goto out;
  json_t *fresh = hub_store_device_targets (h->store);
  for (size_t i = 0; i < r->n; i++)
    {
      size_t j;
      json_t *d;
      json_array_foreach (
          fresh, j,
          d) if (json_integer_value (json_object_get (d, "Id")) == r->t[i].id
                 && strcmp (json_string_value (json_object_get (d, "State")), "online") == 0)
      {
        online[k] = i;
        t[k++] = r->t[i];
      }
    }
  json_decref (fresh);
  hub_regd_get_many (m, t, k, "/v1/system/stats", h->cfg.probe_timeout, replies, errors);
  json_t *dev_samples = json_array (), *ctr_samples = json_array ();
  int64_t now = hub_now ();
  for (size_t i = 0; i < k; i++)
    {
      if (replies[i])
        {
          char key[32];
          snprintf (key, sizeof key, "d%lld", (long long)t[i].id);
          double cpu = delta_pct (key, num (replies[i], "CpuBusyNs"),
                                  num (replies[i], "CpuTotalNs"), 100.0);
          double mt = num (replies[i], "MemTotal"), dt = num (replies[i], "DiskTotal");
          if (cpu >= 0)
            json_array_append_new (dev_samples,
                                   json_pack ("{s:I, s:I, s:f, s:I, s:I, s:I, s:I}", "Device",
                                              (json_int_t)t[i].id, "T", (json_int_t)now, "Cpu", cpu,
                                              "MemUsed",
                                              (json_int_t)(mt - num (replies[i], "MemAvailable")),
                                              "MemTotal", (json_int_t)mt, "DiskUsed",
                                              (json_int_t)(dt - num (replies[i], "DiskFree")),
                                              "DiskTotal", (json_int_t)dt));
        }
      json_decref (replies[i]);
      free (errors[i]);
    }
  sample_containers (h, m, r, online, k, ctr_samples, now);
  _cleanup_error_ struct reg_error *err = NULL;
  if (hub_store_samples_add (h->store, dev_samples, ctr_samples, &err) < 0)
    fprintf (stderr, "reg-hub: history: %s\n", err->msg);
  hub_store_samples_prune (h->store, now - (int64_t)h->cfg.retention);
  json_decref (dev_samples);
  json_decref (ctr_samples);
out:
  free (online);
  free (replies);
  free (errors);
  free (t);
}

static void *
prober (void *arg)
{
  struct hub *h = arg;
  struct hub_multi *m = hub_multi_new ();
  previous = json_object ();
  double next_sample = 0;
  while (!h->stopping && m)
    {
      double start = hub_mono ();
      struct round r = { 0 };
      if (round_load (h, hub_store_device_targets (h->store), &r) == 0)
        {
          int64_t at = hub_now ();
          probe_round (h, m, &r);
          pthread_mutex_lock (&h->wake_lock);
          h->round_at = at;
          h->round_seconds = hub_mono () - start;
          pthread_mutex_unlock (&h->wake_lock);
          if (hub_mono () >= next_sample)
            {
              sample_round (h, m, &r);
              next_sample = start + h->cfg.sample_interval;
            }
        }
      round_free (&r);
      /* A round allocates per device and frees it all: give it back. */
      malloc_trim (0);
      /* Sleep what is left of the interval, or until told to stop. */
      double left = h->cfg.probe_interval / 1000.0 - (hub_mono () - start);
      if (left <= 0)
        continue;
      struct timespec until;
      clock_gettime (CLOCK_REALTIME, &until);
      double end = (double)until.tv_sec + (double)until.tv_nsec / 1e9 + left;
      until.tv_sec = (time_t)end;
      until.tv_nsec = (long)((end - (double)until.tv_sec) * 1e9);
      pthread_mutex_lock (&h->wake_lock);
      if (!h->stopping)
        pthread_cond_timedwait (&h->wake, &h->wake_lock, &until);
      pthread_mutex_unlock (&h->wake_lock);
    }
  hub_multi_free (m);
  json_decref (previous);
  return NULL;
}

json_t *
hub_probe_status (struct hub *h)
{
  pthread_mutex_lock (&h->wake_lock);
  json_t *j = json_pack ("{s:I, s:f, s:I, s:I, s:f, s:f}", "Started", (json_int_t)h->round_at,
                         "Seconds", h->round_seconds, "Devices", (json_int_t)h->round_devices,
                         "Online", (json_int_t)h->round_online, "Interval",
                         h->cfg.probe_interval / 1000.0, "Timeout", h->cfg.probe_timeout / 1000.0);
  pthread_mutex_unlock (&h->wake_lock);
  return j;
}

int
hub_probe_start (struct hub *h, struct reg_error **err)
{
  pthread_mutex_init (&h->wake_lock, NULL);
  pthread_cond_init (&h->wake, NULL);
  if (pthread_create (&h->prober, NULL, prober, h) != 0)
    return reg_error_set (err, EAGAIN, "reg-hub: cannot start the prober thread");
  h->prober_started = true;
  return 0;
}

void
hub_probe_stop (struct hub *h)
{
  if (!h->prober_started)
    return;
  pthread_mutex_lock (&h->wake_lock);
  h->stopping = true;
  pthread_cond_signal (&h->wake);
  pthread_mutex_unlock (&h->wake_lock);
  pthread_join (h->prober, NULL);
  h->prober_started = false;
}

int
hub_probe_one (struct hub *h, json_t *dev, bool *online, struct reg_error **err)
{
  struct hub_target t;
  *online = false;
  if (hub_target_init (&t, dev, err) < 0)
    return -1;
  json_t *reply = NULL;
  _cleanup_error_ struct reg_error *perr = NULL;
  long status = hub_regd_call (&t, "GET", "/v1/version", NULL, h->cfg.probe_timeout, &reply, &perr);
  json_decref (reply);
  reply = NULL;
  if (status < 0 && (perr->code == EPROTO || perr->code == EACCES))
    {
      *err = reg_steal (&perr);
      return -1;
    }
  *online = status == 200;
  if (t.id <= 0)
    return 0; /* not registered yet */
  json_t *row
      = json_pack ("{s:I, s:s}", "Id", (json_int_t)t.id, "State", *online ? "online" : "offline");
  if (*online)
    {
      json_object_set_new (row, "LastSeen", json_integer (hub_now ()));
      _cleanup_error_ struct reg_error *ierr = NULL;
      if (hub_regd_call (&t, "GET", "/v1/system/info", NULL, h->cfg.probe_timeout, &reply, &ierr)
              == 200
          && reply)
        json_object_set_new (row, "Info", reply);
      else
        json_decref (reply);
    }
  else
    json_object_set_new (row, "Error", json_string (perr ? perr->msg : "unexpected reply"));
  json_t *rows = json_pack ("[o]", row);
  _cleanup_error_ struct reg_error *serr = NULL;
  hub_store_device_states (h->store, rows, &serr);
  json_decref (rows);
  return 0;
}
