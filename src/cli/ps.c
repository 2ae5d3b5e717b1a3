/* reg ps [-a] [-q] [-n N] [-l] [-s] [--filter KEY=VALUE]... [--format TEMPLATE]:
 * list containers, newest first (running ones, or all with -a, -n or -l).
 *
 * Filters (Docker's): status=generated|created|running|paused|restarting|
 * stopped|exited, name=SUBSTRING, id=PREFIX, template=NAME@VERSION (or
 * ancestor=), exited=CODE; values of one key are alternatives, keys all
 * apply. --format is a template (format.h) over one row per container:
 * .ID .Names .Templates .Command .CreatedAt .RunningFor .Status .State
 * .Ports .Mounts .Size; "table TEMPLATE" prints a header first. */
#include "cli.h"
#include "options.h"
#include "format.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
join (json_t *arr, const char *sep, char *out, size_t size)
{
  size_t n = 0;
  out[0] = '\0';
  size_t i;
  json_t *v;
  for (i = 0; i < json_array_size (arr) && (v = json_array_get (arr, i)) != NULL; i++)
    {
      const char *s = json_string_value (v);
      int w = snprintf (out + n, size - n, "%s%s", i ? sep : "", s ? s : "");
      if (w < 0 || (size_t)w >= size - n)
        {
          if (size > 4)
            strcpy (out + size - 4, "...");
          return;
        }
      n += (size_t)w;
    }
}

static void
human_size (double bytes, char *out, size_t size)
{
  const char *units[] = { "B", "kB", "MB", "GB", "TB" };
  int u = 0;
  while (bytes >= 1000 && u < 4)
    bytes /= 1000, u++;
  snprintf (out, size, u ? "%.1f%s" : "%.0f%s", bytes, units[u]);
}

static void
status_text (json_t *ct, char *out, size_t size)
{
  json_t *st = json_object_get (ct, "State");
  const char *state = json_string_value (json_object_get (st, "Status"));
  char since[32];
  if (state && strcmp (state, "running") == 0)
    {
      cli_age (json_string_value (json_object_get (st, "StartedAt")), since, sizeof since);
      /* Docker's health suffix: (healthy), (unhealthy), (health: starting). */
      const char *h
          = json_string_value (json_object_get (json_object_get (st, "Health"), "Status"));
      snprintf (out, size, "running %s%s%s%s", since, h ? " (" : "",
                h && strcmp (h, "starting") == 0 ? "health: " : "", h ? h : "");
      if (h)
        snprintf (out + strlen (out), size - strlen (out), ")");
    }
  else if (state && strcmp (state, "stopped") == 0)
    snprintf (out, size, "exited (%d)", (int)json_integer_value (json_object_get (st, "ExitCode")));
  else
    snprintf (out, size, "%s", state ? state : "?");
}

/* The row a --format template sees. */
static json_t *
row_of (json_t *ct)
{
  const char *id = json_string_value (json_object_get (ct, "Id")) ?: "";
  const char *name = json_string_value (json_object_get (ct, "Name"));
  char templates[4096], command[4096], status[64], age[32], size[32] = "";
  join (json_object_get (ct, "Templates"), ",", templates, sizeof templates);
  join (json_object_get (ct, "Cmd"), " ", command, sizeof command);
  status_text (ct, status, sizeof status);
  cli_age (json_string_value (json_object_get (ct, "Created")), age, sizeof age);
  char ports[256];
  cli_ports_summary (ct, ports, sizeof ports);
  json_t *sz = json_object_get (ct, "SizeRw");
  if (sz)
    human_size ((double)json_integer_value (sz), size, sizeof size);
  json_t *mounts = json_array ();
  for (size_t i = 0; i < json_array_size (json_object_get (ct, "Mounts")); i++)
    json_array_append (mounts, json_object_get (json_array_get (json_object_get (ct, "Mounts"), i),
                                                "Destination"));
  strcat (age, " ago");
  return json_pack ("{s:s%, s:s, s:s, s:s, s:s?, s:s, s:s, s:s?, s:s, s:o, s:s}", "ID", id,
                    (size_t)(strlen (id) > 12 ? 12 : strlen (id)), "Names", name ? name : "",
                    "Templates", templates, "Command", command, "CreatedAt",
                    json_string_value (json_object_get (ct, "Created")), "RunningFor", age,
                    "Status", status, "State",
                    json_string_value (json_object_get (json_object_get (ct, "State"), "Status")),
                    "Ports", ports, "Mounts", mounts, "Size", size);
}

static const char *const filter_keys[]
    = { "status", "name", "id", "template", "ancestor", "exited", NULL };

/* Docker's status words, and ours. */
static bool
status_is (const char *state, const char *want)
{
  if (strcmp (want, "exited") == 0)
    want = "stopped";
  else if (strcmp (want, "created") == 0)
    want = "generated";
  return state && strcmp (state, want) == 0;
}

static bool
one_matches (json_t *ct, const char *key, const char *v)
{
  json_t *st = json_object_get (ct, "State");
  const char *state = json_string_value (json_object_get (st, "Status"));
  const char *name = json_string_value (json_object_get (ct, "Name"));
  const char *id = json_string_value (json_object_get (ct, "Id")) ?: "";
  if (strcmp (key, "status") == 0)
    return status_is (state, v);
  if (strcmp (key, "name") == 0)
    return name && strstr (name, v);
  if (strcmp (key, "id") == 0)
    return strncmp (id, v, strlen (v)) == 0;
  if (strcmp (key, "exited") == 0)
    return status_is (state, "stopped")
           && json_integer_value (json_object_get (st, "ExitCode")) == strtol (v, NULL, 10);
  json_t *t;
  size_t i;
  json_array_foreach (json_object_get (ct, "Templates"), i, t)
  {
    if (strcmp (json_string_value (t) ?: "", v) == 0)
      return true;
  }
  return false;
}

/* filters: {"key": ["v", ...]}: any value of a key, every key. */
static bool
matches (json_t *ct, json_t *filters)
{
  const char *key;
  json_t *values;
  json_object_foreach (filters, key, values)
  {
    bool any = false;
    for (size_t i = 0; !any && i < json_array_size (values); i++)
      any = one_matches (ct, key, json_string_value (json_array_get (values, i)));
    if (!any)
      return false;
  }
  return true;
}

static int
add_filter (json_t *filters, const char *kv)
{
  const char *eq = strchr (kv, '=');
  char key[32];
  snprintf (key, sizeof key, "%.*s", eq ? (int)(eq - kv) : 0, kv);
  if (eq == NULL || eq[1] == '\0' || !reg_strv_contains (filter_keys, key))
    {
      fprintf (stderr,
               "reg ps: bad filter \"%s\": want KEY=VALUE with KEY one of status, name, id, "
               "template (or ancestor), exited\n",
               kv);
      return -1;
    }
  static const char *const states[]
      = { "generated", "created", "running", "paused",     "restarting",
          "inserting", "stopped", "exited",  "generating", NULL };
  if (strcmp (key, "status") == 0 && !reg_strv_contains (states, eq + 1))
    {
      fprintf (stderr, "reg ps: bad filter \"%s\": no such status\n", kv);
      return -1;
    }
  json_t *values = json_object_get (filters, key);
  if (values == NULL)
    json_object_set_new (filters, key, values = json_array ());
  json_array_append_new (values, json_string (eq + 1));
  return 0;
}

static int
compare_created (const void *a, const void *b)
{
  const char *x = json_string_value (json_object_get (*(json_t *const *)a, "Created")) ?: "";
  const char *y = json_string_value (json_object_get (*(json_t *const *)b, "Created")) ?: "";
  return strcmp (y, x); /* newest first */
}

struct ps_options
{
  bool all, quiet, size;
  long last; /* -n N, -l: the N newest, in any state; 0: no limit */
  const char *format;
  json_t *filters;
};

static const struct cli_option ps_options[] = {
  { "all", 'a', NULL, "stopped and generated containers too" },
  { "quiet", 'q', NULL, "ids only" },
  { "last", 'n', "N", "the N newest containers, in any state" },
  { "latest", 'l', NULL, "the newest container, in any state" },
  { "size", 's', NULL, "what each container wrote (its upper layer)" },
  { "filter", 'f', "KEY=VALUE",
    "status=, name=, id=, template= (or ancestor=), exited= (repeatable; docs/cli.md)" },
  { "format", 'F' + 256, "TEMPLATE",
    "a Go template per row ({{.ID}} {{.Names}} {{.Status}} ...); \"table TEMPLATE\" adds a "
    "header" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec ps_spec
    = CLI_SPEC ("ps", NULL, "List containers, newest first.", ps_options);
const struct cli_spec *const cli_specs_ps[] = { &ps_spec, NULL };

/* 0, 1 after --help, -1 after an error (reported). */
static int
parse_options (int argc, char **argv, struct ps_options *o)
{
  int opt;
  const char *val;
  while ((opt = cli_next (&ps_spec, argc, argv, &val)) != -1)
    {
      char *end = NULL;
      switch (opt)
        {
        case 'a':
          o->all = true;
          break;
        case 'q':
          o->quiet = true;
          break;
        case 'n':
          o->last = strtol (val, &end, 10);
          if (end == val || *end || o->last < 1)
            {
              fprintf (stderr, "reg ps: -n %s: want a count of 1 or more\n", val);
              return -1;
            }
          break;
        case 'l':
          o->last = 1;
          break;
        case 's':
          o->size = true;
          break;
        case 'f':
          if (add_filter (o->filters, val) < 0)
            return -1;
          break;
        case 'F' + 256:
          o->format = val;
          break;
        case CLI_HELP:
          return 1;
        default:
          return -1;
        }
    }
  int first = cli_args (&ps_spec, argc, argv, 0, 0);
  return first < 0 ? -1 : 0;
}

static void
print_default (json_t *row, bool size, bool header)
{
  if (header)
    {
      printf ("%-12s  %-16s  %-24s  %-28s  %-16s  %-16s  %s%s\n", "CONTAINER ID", "NAME",
              "TEMPLATES", "COMMAND", "STATUS", "CREATED", "PORTS", size ? "  SIZE" : "");
      return;
    }
  char templates[25], command[29];
  snprintf (templates, sizeof templates, "%s",
            json_string_value (json_object_get (row, "Templates")));
  snprintf (command, sizeof command, "%s", json_string_value (json_object_get (row, "Command")));
  printf ("%-12s  %-16s  %-24s  %-28s  %-16s  %-16s  %s%s%s\n",
          json_string_value (json_object_get (row, "ID")),
          json_string_value (json_object_get (row, "Names")), templates, command,
          json_string_value (json_object_get (row, "Status")),
          json_string_value (json_object_get (row, "RunningFor")),
          json_string_value (json_object_get (row, "Ports")), size ? "  " : "",
          size ? json_string_value (json_object_get (row, "Size")) : "");
}

/* "table T": a header (T over the column names), then T per row. */
static int
print_rows (json_t *list, const struct ps_options *o)
{
  const char *tmpl = o->format;
  bool table = tmpl && strncmp (tmpl, "table", 5) == 0 && (tmpl[5] == ' ' || tmpl[5] == '\0');
  if (table)
    tmpl = tmpl[5] ? tmpl + 6 : NULL;
  struct reg_format *f = NULL;
  _cleanup_error_ struct reg_error *err = NULL;
  if (tmpl && reg_format_parse (tmpl, &f, &err) < 0)
    {
      fprintf (stderr, "reg ps: %s\n", err->msg);
      return 1;
    }
  int ret = 0;
  if (f && table)
    {
      json_t *head = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID",
                                "CONTAINER ID", "Names", "NAMES", "Templates", "TEMPLATES",
                                "Command", "COMMAND", "CreatedAt", "CREATED AT", "RunningFor",
                                "CREATED", "Status", "STATUS", "State", "STATE", "Ports", "PORTS",
                                "Mounts", "MOUNTS", "Size", "SIZE");
      ret = reg_format_render (f, head, stdout, &err) < 0 ? 1 : (putchar ('\n'), 0);
      json_decref (head);
    }
  else if (f == NULL && !o->quiet)
    print_default (NULL, o->size, true);
  for (size_t i = 0; ret == 0 && i < json_array_size (list); i++)
    {
      json_t *row = row_of (json_array_get (list, i));
      if (o->quiet)
        printf ("%s\n", json_string_value (json_object_get (row, "ID")));
      else if (f == NULL)
        print_default (row, o->size, false);
      else if (reg_format_render (f, row, stdout, &err) < 0)
        ret = 1;
      else
        putchar ('\n');
      json_decref (row);
    }
  if (ret)
    fprintf (stderr, "\nreg ps: %s\n", err ? err->msg : "format failed");
  reg_format_free (f);
  return ret;
}

int
cmd_ps (struct reg_client *c, int argc, char **argv)
{
  struct ps_options o = { .filters = json_object () };
  int p = parse_options (argc, argv, &o);
  if (p != 0)
    {
      json_decref (o.filters);
      return p > 0 ? 0 : 2;
    }
  char path[64];
  /* Filters and -n/-l look at every container, as Docker's. */
  bool all = o.all || o.last || json_object_size (o.filters);
  snprintf (path, sizeof path, "/v1/containers?all=%d%s", all, o.size ? "&size=1" : "");
  json_t *reply = NULL;
  long status = client_call (c, "GET", path, NULL, &reply);
  if (status != 200 || !json_is_array (reply))
    {
      int r = client_fail ("ps", status, reply);
      json_decref (reply);
      json_decref (o.filters);
      return r;
    }
  size_t n = json_array_size (reply);
  json_t **v = calloc (n ? n : 1, sizeof *v);
  for (size_t i = 0; v && i < n; i++)
    v[i] = json_array_get (reply, i);
  if (v)
    qsort (v, n, sizeof *v, compare_created);
  json_t *list = json_array ();
  for (size_t i = 0; v && i < n && (!o.last || (long)json_array_size (list) < o.last); i++)
    if (matches (v[i], o.filters))
      json_array_append (list, v[i]);
  free (v);
  int ret = print_rows (list, &o);
  json_decref (list);
  json_decref (reply);
  json_decref (o.filters);
  return ret;
}
