#include "health.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int
reg_health_duration_parse (const char *what, const char *s, int64_t *ns, struct reg_error **err)
{
  static const struct
  {
    const char *unit;
    double ns;
  } units[]
      = { { "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 } };
  double total = 0;
  const char *p = s;
  if (s == NULL || *s == '\0')
    return reg_error_set (err, EINVAL, "%s: empty duration (want e.g. 500ms, 1s, 1m30s)", what);
  if (strcmp (s, "0") == 0)
    return *ns = 0, 0;
  while (*p)
    {
      char *end;
      if (!(*p >= '0' && *p <= '9') && *p != '.')
        break;
      double v = strtod (p, &end);
      size_t len = strspn (end, "abcdefghijklmnopqrstuvwxyz");
      size_t i = 0;
      while (i < sizeof units / sizeof units[0]
             && !(strlen (units[i].unit) == len && strncmp (end, units[i].unit, len) == 0))
        i++;
      if (end == p || i == sizeof units / sizeof units[0])
        return reg_error_set (err, EINVAL,
                              "%s: \"%s\" is not a duration (want e.g. 500ms, 1s, 1m30s)", what, s);
      total += v * units[i].ns;
      p = end + len;
    }
  if (*p || !isfinite (total) || total > 9e18)
    return reg_error_set (err, EINVAL, "%s: \"%s\" is not a duration (want e.g. 500ms, 1s, 1m30s)",
                          what, s);
  *ns = (int64_t)total;
  return 0;
}

bool
reg_health_enabled (const struct reg_healthcheck *h)
{
  return h->test && h->test[0] && strcmp (h->test[0], "NONE") != 0;
}

int64_t
reg_health_interval (const struct reg_healthcheck *h)
{
  return h->interval > 0 ? h->interval : REG_HEALTH_INTERVAL_NS;
}

int64_t
reg_health_next_wait (const struct reg_healthcheck *h, int64_t since, enum reg_health_status status)
{
  if (h->start_interval > 0 && status == REG_HEALTH_STARTING && since < h->start_period)
    return h->start_interval;
  return reg_health_interval (h);
}

int64_t
reg_health_timeout (const struct reg_healthcheck *h)
{
  return h->timeout > 0 ? h->timeout : REG_HEALTH_TIMEOUT_NS;
}

int
reg_health_retries (const struct reg_healthcheck *h)
{
  return h->retries > 0 ? h->retries : REG_HEALTH_RETRIES;
}

static int
check_http (char *const *t, struct reg_error **err)
{
  char *end;
  long port = t[1] && t[2] ? strtol (t[2], &end, 10) : 0;
  if (reg_strv_len (t) != 4 || t[1][0] != '/' || strpbrk (t[1], " \r\n") || *end || port < 1
      || port > 65535)
    return reg_error_set (err, EINVAL,
                          "health check: HTTP-GET wants [\"HTTP-GET\", \"/PATH\", \"PORT\", "
                          "\"STATUS\"] with PORT 1-65535");
  long status = strtol (t[3], &end, 10);
  if (*end || t[3][0] == '\0' || (status != 0 && (status < 100 || status > 599)))
    return reg_error_set (
        err, EINVAL, "health check: HTTP status \"%s\" is not 100-599 (or 0: any 2xx/3xx)", t[3]);
  return 0;
}

static int
check_tcp (char *const *t, struct reg_error **err)
{
  char *end = NULL;
  long port = t[1] ? strtol (t[1], &end, 10) : 0;
  if (reg_strv_len (t) != 2 || t[1][0] == '\0' || *end || port < 1 || port > 65535)
    return reg_error_set (err, EINVAL,
                          "health check: TCP-CONNECT wants [\"TCP-CONNECT\", \"PORT\"] with PORT "
                          "1-65535");
  return 0;
}

int
reg_health_check_valid (const struct reg_healthcheck *h, struct reg_error **err)
{
  char *const *t = h->test;
  size_t n = reg_strv_len (t);
  if (n == 0)
    return 0;
  if (strcmp (t[0], "NONE") == 0 && n != 1)
    return reg_error_set (err, EINVAL, "health check: NONE takes no arguments");
  if ((strcmp (t[0], "CMD-SHELL") == 0 && (n != 2 || t[1][0] == '\0'))
      || (strcmp (t[0], "CMD") == 0 && (n < 2 || t[1][0] == '\0')))
    return reg_error_set (err, EINVAL, "health check: %s needs a command", t[0]);
  if (strcmp (t[0], "HTTP-GET") == 0 && check_http (t, err) < 0)
    return -1;
  if (strcmp (t[0], "TCP-CONNECT") == 0 && check_tcp (t, err) < 0)
    return -1;
  if (strcmp (t[0], "NONE") && strcmp (t[0], "CMD-SHELL") && strcmp (t[0], "CMD")
      && strcmp (t[0], "HTTP-GET") && strcmp (t[0], "TCP-CONNECT"))
    return reg_error_set (
        err, EINVAL,
        "health check: test \"%s\" is not CMD-SHELL, CMD, HTTP-GET, TCP-CONNECT or NONE", t[0]);
  const struct
  {
    const char *name;
    int64_t v;
  } d[] = { { "interval", h->interval },
            { "timeout", h->timeout },
            { "start interval", h->start_interval } };
  for (size_t i = 0; i < 3; i++)
    if (d[i].v < 0 || (d[i].v > 0 && d[i].v < REG_HEALTH_MIN_NS))
      return reg_error_set (err, EINVAL, "health check: %s must be at least 1ms (0: the default)",
                            d[i].name);
  if (h->start_period < 0)
    return reg_error_set (err, EINVAL, "health check: start period must not be negative");
  if (h->retries < 0)
    return reg_error_set (err, EINVAL, "health check: retries must not be negative (0: %d)",
                          REG_HEALTH_RETRIES);
  return 0;
}

const char *
reg_health_status_name (enum reg_health_status s)
{
  switch (s)
    {
    case REG_HEALTH_STARTING:
      return "starting";
    case REG_HEALTH_HEALTHY:
      return "healthy";
    case REG_HEALTH_UNHEALTHY:
      return "unhealthy";
    default:
      return "none";
    }
}

json_t *
reg_health_check_to_json (const struct reg_healthcheck *h)
{
  if (h->test == NULL)
    return NULL;
  json_t *t = json_array ();
  for (size_t i = 0; h->test[i]; i++)
    json_array_append_new (t, json_string (h->test[i]));
  json_t *j = json_pack ("{s:o, s:I, s:I, s:i, s:I}", "Test", t, "Interval",
                         (json_int_t)h->interval, "Timeout", (json_int_t)h->timeout, "Retries",
                         h->retries, "StartPeriod", (json_int_t)h->start_period);
  if (j && h->start_interval > 0) /* only when set: what older readers know stays as it was */
    json_object_set_new (j, "StartInterval", json_integer (h->start_interval));
  return j;
}

static int
test_from_json (json_t *t, const char *what, char ***out, struct reg_error **err)
{
  if (!json_is_array (t) || json_array_size (t) == 0)
    return reg_error_set (err, EINVAL, "%s: Healthcheck.Test must be a non-empty array of strings",
                          what);
  char **v = calloc (json_array_size (t) + 1, sizeof (char *));
  if (v == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  *out = v;
  for (size_t i = 0; i < json_array_size (t); i++)
    {
      const char *s = json_string_value (json_array_get (t, i));
      if (s == NULL)
        return reg_error_set (err, EINVAL, "%s: Healthcheck.Test must be an array of strings",
                              what);
      if ((v[i] = strdup (s)) == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
    }
  return 0;
}

int
reg_health_check_from_json (json_t *j, const char *what, bool strict, struct reg_healthcheck *h,
                            struct reg_error **err)
{
  static const char *const ints[]
      = { "Interval", "Timeout", "Retries", "StartPeriod", "StartInterval" };
  int64_t *dst[] = { &h->interval, &h->timeout, NULL, &h->start_period, &h->start_interval };
  const char *key;
  json_t *v;
  if (!json_is_object (j))
    return reg_error_set (err, EINVAL, "%s: Healthcheck must be an object", what);
  json_object_foreach (j, key, v)
  {
    size_t i = 0;
    while (i < 5 && strcmp (key, ints[i]) != 0)
      i++;
    if (i == 5 && strcmp (key, "Test") != 0 && !strict)
      continue;
    if (i == 5 && strcmp (key, "Test") != 0)
      return reg_error_set (err, EINVAL, "%s: unknown field \"Healthcheck.%s\"", what, key);
    if (i == 5)
      continue;
    if (!json_is_integer (v) && !json_is_null (v))
      return reg_error_set (err, EINVAL, "%s: Healthcheck.%s must be an integer", what, key);
    json_int_t n = json_integer_value (v);
    if (dst[i])
      *dst[i] = n;
    else
      h->retries = n < -1 ? -1 : n > 1000000 ? 1000000 : (int)n;
  }
  json_t *t = json_object_get (j, "Test");
  if (t && !json_is_null (t) && test_from_json (t, what, &h->test, err) < 0)
    return -1;
  if (reg_health_check_valid (h, err) < 0)
    return reg_error_prefix (err, "%s", what);
  return 0;
}

int
reg_health_check_copy (struct reg_healthcheck *dst, const struct reg_healthcheck *src)
{
  *dst = *src;
  dst->test = NULL;
  if (src->test && (dst->test = reg_strv_dup (src->test)) == NULL)
    return -1;
  return 0;
}

void
reg_health_check_clear (struct reg_healthcheck *h)
{
  reg_strv_free (h->test);
  memset (h, 0, sizeof *h);
}

json_t *
reg_health_state_to_json (const struct reg_health_state *s)
{
  if (s->status == REG_HEALTH_NONE)
    return NULL;
  json_t *log = json_array ();
  for (int i = 0; i < s->n_log; i++)
    {
      const struct reg_health_result *r = &s->log[i];
      json_array_append_new (log, json_pack ("{s:s, s:s, s:i, s:s}", "Start", r->start, "End",
                                             r->end, "ExitCode", r->exit_code, "Output",
                                             r->output ? r->output : ""));
    }
  return json_pack ("{s:s, s:i, s:o}", "Status", reg_health_status_name (s->status),
                    "FailingStreak", s->failing_streak, "Log", log);
}

static void
copy_string (json_t *o, const char *key, char *dst, size_t size)
{
  const char *v = json_string_value (json_object_get (o, key));
  snprintf (dst, size, "%s", v ? v : "");
}

void
reg_health_state_from_json (json_t *j, struct reg_health_state *s)
{
  const char *st = json_string_value (json_object_get (j, "Status"));
  s->status = REG_HEALTH_NONE;
  for (int i = REG_HEALTH_STARTING; st && i <= REG_HEALTH_UNHEALTHY; i++)
    if (strcmp (st, reg_health_status_name (i)) == 0)
      s->status = i;
  s->failing_streak = (int)json_integer_value (json_object_get (j, "FailingStreak"));
  json_t *log = json_object_get (j, "Log");
  for (size_t i = 0; i < json_array_size (log) && s->n_log < REG_HEALTH_LOG_MAX; i++)
    {
      json_t *o = json_array_get (log, i);
      struct reg_health_result *r = &s->log[s->n_log++];
      copy_string (o, "Start", r->start, sizeof r->start);
      copy_string (o, "End", r->end, sizeof r->end);
      r->exit_code = (int)json_integer_value (json_object_get (o, "ExitCode"));
      const char *out = json_string_value (json_object_get (o, "Output"));
      r->output = strdup (out ? out : "");
    }
}

void
reg_health_state_clear (struct reg_health_state *s)
{
  for (int i = 0; i < s->n_log; i++)
    free (s->log[i].output);
  memset (s, 0, sizeof *s);
}

void
reg_health_state_reset (struct reg_health_state *s, bool enabled)
{
  reg_health_state_clear (s);
  s->status = enabled ? REG_HEALTH_STARTING : REG_HEALTH_NONE;
}

bool
reg_health_state_record (struct reg_health_state *s, const struct reg_health_result *r,
                         bool counted, int retries)
{
  if (s->n_log == REG_HEALTH_LOG_MAX)
    {
      free (s->log[0].output);
      memmove (&s->log[0], &s->log[1], (REG_HEALTH_LOG_MAX - 1) * sizeof s->log[0]);
      s->n_log--;
    }
  struct reg_health_result *dst = &s->log[s->n_log++];
  *dst = *r;
  dst->output = strndup (r->output ? r->output : "", REG_HEALTH_OUTPUT_MAX);
  enum reg_health_status before = s->status;
  if (r->exit_code == 0)
    {
      s->failing_streak = 0;
      s->status = REG_HEALTH_HEALTHY;
    }
  else if (counted)
    {
      s->failing_streak++;
      if (s->failing_streak >= retries)
        s->status = REG_HEALTH_UNHEALTHY;
    }
  return s->status != before;
}
