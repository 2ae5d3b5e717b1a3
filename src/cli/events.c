/* reg events [--since WHEN] [--until WHEN] [--filter KEY=VALUE]... [--format json]
 *
 * The engine's lifecycle as it happens (events.h): one line per event,
 * "TIME TYPE ACTION ID (attributes)" as Docker prints it, or the API's
 * JSON line with --format json. WHEN: RFC 3339, seconds since the epoch,
 * or a duration ago (10m). Filters: type, container, event, template,
 * volume; values of one key are alternatives, keys all apply. Runs until
 * --until, or until interrupted. */
#include "cli.h"
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
print_event (void *data, json_t *e)
{
  const char *error = json_string_value (json_object_get (e, "error"));
  if (error)
    {
      fprintf (stderr, "reg events: %s\n", error);
      return;
    }
  if (*(bool *)data)
    {
      char *text = json_dumps (e, JSON_COMPACT | JSON_PRESERVE_ORDER);
      if (text)
        printf ("%s\n", text);
      free (text);
      fflush (stdout);
      return;
    }
  json_int_t nano = json_integer_value (json_object_get (e, "timeNano"));
  time_t secs = (time_t)(nano / 1000000000);
  struct tm tm;
  char when[40] = "";
  if (gmtime_r (&secs, &tm))
    strftime (when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  json_t *actor = json_object_get (e, "Actor");
  printf ("%s.%09lldZ %s %s %s", when, (long long)(nano % 1000000000),
          json_string_value (json_object_get (e, "Type")),
          json_string_value (json_object_get (e, "Action")),
          json_string_value (json_object_get (actor, "ID")));
  json_t *attrs = json_object_get (actor, "Attributes");
  const char *k;
  json_t *v;
  bool first = true;
  json_object_foreach (attrs, k, v)
  {
    printf ("%s%s=%s", first ? " (" : ", ", k, json_string_value (v) ? json_string_value (v) : "");
    first = false;
  }
  printf ("%s\n", first ? "" : ")");
  fflush (stdout);
}

static const struct cli_option events_options[] = {
  { "since", 'S' + 256, "WHEN",
    "past events from WHEN on first (RFC 3339, epoch seconds, or 30s/10m/2h ago)" },
  { "until", 'U' + 256, "WHEN", "end the stream at WHEN" },
  { "filter", 'f', "KEY=VALUE",
    "type=container|template|volume, container=ID|NAME, event=ACTION, template=REF, "
    "volume=NAME (repeatable)" },
  { "format", 'F' + 256, "json", "the API's JSON lines instead of human lines" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec events_spec = CLI_SPEC (
    "events", NULL, "The lifecycle of containers, templates and volumes, as it happens.",
    events_options);
const struct cli_spec *const cli_specs_events[] = { &events_spec, NULL };

static int
usage (const char *why, const char *arg)
{
  return cli_usage_error (&events_spec, "%s%s%s", why, arg ? ": " : "", arg ? arg : "");
}

/* --filter type=container -> filters["type"] += "container". */
static bool
add_filter (json_t *filters, const char *kv)
{
  const char *eq = strchr (kv, '=');
  if (eq == NULL || eq == kv || eq[1] == '\0')
    return false;
  char key[64];
  snprintf (key, sizeof key, "%.*s", (int)(eq - kv), kv);
  json_t *values = json_object_get (filters, key);
  if (values == NULL)
    json_object_set_new (filters, key, values = json_array ());
  json_array_append_new (values, json_string (eq + 1));
  return true;
}

static void
add_query (struct reg_client *c, char *path, size_t size, const char *key, const char *value)
{
  char *v = client_escape (c, value);
  size_t n = strlen (path);
  snprintf (path + n, size - n, "%s%s=%s", strchr (path, '?') ? "&" : "?", key, v ? v : "");
  free (v);
}

int
cmd_events (struct reg_client *c, int argc, char **argv)
{
  char path[4096] = "/v1/events";
  json_t *filters = json_object ();
  bool as_json = false;
  int opt, ret = 0;
  const char *arg;
  while (ret == 0 && (opt = cli_next (&events_spec, argc, argv, &arg)) != -1)
    switch (opt)
      {
      case 'S' + 256:
      case 'U' + 256:
        add_query (c, path, sizeof path, opt == 'S' + 256 ? "since" : "until", arg);
        break;
      case 'f':
        if (!add_filter (filters, arg))
          ret = usage ("--filter wants KEY=VALUE", arg);
        break;
      case 'F' + 256:
        if (strcmp (arg, "json") == 0 || strcmp (arg, "{{json .}}") == 0)
          as_json = true;
        else
          ret = usage ("--format: reg events knows json (or {{json .}})", arg);
        break;
      case CLI_HELP:
        json_decref (filters);
        return 0;
      default:
        ret = 2;
      }
  if (ret == 0)
    {
      int first = cli_args (&events_spec, argc, argv, 0, 0);
      ret = first < 0 ? -first : 0;
    }
  if (ret == 0 && json_object_size (filters) > 0)
    {
      char *text = json_dumps (filters, JSON_COMPACT);
      add_query (c, path, sizeof path, "filters", text ? text : "{}");
      free (text);
    }
  json_decref (filters);
  if (ret != 0)
    return ret;
  json_t *reply = NULL;
  long status = client_lines (c, path, NULL, print_event, &as_json, &reply);
  if (status != 200)
    ret = client_fail ("events", status, reply);
  json_decref (reply);
  return ret;
}
