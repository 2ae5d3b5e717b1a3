/* reg run/generate's health options (--health-cmd, --health-http, --health-tcp,
 * --health-interval, --health-timeout, --health-retries,
 * --health-start-period, --no-healthcheck) into the create body's
 * Healthcheck (Docker's field names, durations in nanoseconds; health.h).
 * Every value is checked here so a bad one is refused before anything is
 * sent; regd checks them again. */
#include "cli.h"
#include "health.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *
healthcheck (json_t *body)
{
  json_t *h = json_object_get (body, "Healthcheck");
  if (h == NULL)
    {
      h = json_object ();
      json_object_set_new (body, "Healthcheck", h);
    }
  return h;
}

static int
fail (const char *cmd, const char *opt, const char *msg)
{
  fprintf (stderr, "reg %s: %s: %s\n", cmd, opt, msg);
  return 125;
}

/* PATH[:PORT][=STATUS]: PORT 80 by default, STATUS 0 (any 2xx or 3xx). */
static int
http_test (const char *cmd, const char *arg, json_t *h)
{
  _cleanup_free_ char *path = strdup (arg);
  if (path == NULL)
    return fail (cmd, "--health-http", "out of memory");
  const char *port = "80", *status = "0";
  char *eq = strchr (path, '=');
  if (eq)
    *eq = '\0', status = eq + 1;
  char *colon = strrchr (path, ':');
  if (colon)
    *colon = '\0', port = colon + 1;
  json_t *t = json_pack ("[s, s, s, s]", "HTTP-GET", path, port, status);
  char *const test[] = { "HTTP-GET", path, (char *)port, (char *)status, NULL };
  struct reg_healthcheck check = { .test = (char **)test };
  _cleanup_error_ struct reg_error *err = NULL;
  if (reg_health_check_valid (&check, &err) < 0)
    {
      json_decref (t);
      fprintf (stderr, "reg %s: --health-http %s: %s (want /PATH[:PORT][=STATUS])\n", cmd, arg,
               err->msg);
      return 125;
    }
  json_object_set_new (h, "Test", t);
  return 0;
}

int
cli_health_option (const char *cmd, json_t *body, int opt, const char *arg)
{
  static const char *const keys[] = { "Interval", "Timeout", "StartPeriod", "StartInterval" };
  static const char *const names[] = { "--health-interval", "--health-timeout",
                                       "--health-start-period", "--health-start-interval" };
  if (opt == CLI_OPT_NO_HEALTHCHECK)
    {
      json_object_set_new (body, "NoHealthcheck", json_true ()); /* checked in finish */
      return 0;
    }
  json_t *h = healthcheck (body);
  if (opt == CLI_OPT_HEALTH_CMD)
    {
      if (*arg == '\0')
        return fail (cmd, "--health-cmd", "empty command");
      json_object_set_new (h, "Test", json_pack ("[s, s]", "CMD-SHELL", arg));
      return 0;
    }
  if (opt == CLI_OPT_HEALTH_HTTP)
    return http_test (cmd, arg, h);
  if (opt == CLI_OPT_HEALTH_TCP)
    {
      char *const test[] = { "TCP-CONNECT", (char *)arg, NULL };
      struct reg_healthcheck check = { .test = (char **)test };
      _cleanup_error_ struct reg_error *err = NULL;
      if (reg_health_check_valid (&check, &err) < 0)
        return fail (cmd, "--health-tcp", "want a port 1-65535");
      json_object_set_new (h, "Test", json_pack ("[s, s]", "TCP-CONNECT", arg));
      return 0;
    }
  if (opt == CLI_OPT_HEALTH_RETRIES)
    {
      char *end;
      long n = strtol (arg, &end, 10);
      if (*arg == '\0' || *end || n < 0 || n > 1000000)
        return fail (cmd, "--health-retries", "want a count 0-1000000 (0: the default, 3)");
      json_object_set_new (h, "Retries", json_integer (n));
      return 0;
    }
  int i = opt - CLI_OPT_HEALTH_INTERVAL;
  int64_t ns = 0;
  _cleanup_error_ struct reg_error *err = NULL;
  if (reg_health_duration_parse (names[i], arg, &ns, &err) < 0)
    return fprintf (stderr, "reg %s: %s\n", cmd, err->msg), 125;
  if (i != 2 && ns != 0 && ns < REG_HEALTH_MIN_NS)
    return fail (cmd, names[i], "must be at least 1ms (0: the default)");
  json_object_set_new (h, keys[i], json_integer (ns));
  return 0;
}

int
cli_health_finish (const char *cmd, json_t *body)
{
  bool none = json_object_get (body, "NoHealthcheck") != NULL;
  json_t *h = json_object_get (body, "Healthcheck");
  json_object_del (body, "NoHealthcheck");
  if (none && h)
    return fail (cmd, "--no-healthcheck", "conflicts with the other --health-* options");
  if (none)
    {
      json_object_set_new (body, "Healthcheck", json_pack ("{s:[s]}", "Test", "NONE"));
      return 0;
    }
  if (h && json_object_get (h, "Test") == NULL)
    return fail (cmd, "--health-*",
                 "give the check with --health-cmd, --health-http or --health-tcp");
  return 0;
}
