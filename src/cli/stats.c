/* reg stats [--no-stream] [ID|NAME...] and reg top ID|NAME: resource use
 * from the containers' cgroups, and their processes. CPU % is the CPU time
 * used between two samples over the wall time between them (100% = one
 * CPU), as docker stats shows it. */
#include "cli.h"
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct sample
{
  char id[65];
  char name[64];
  json_t *a, *b; /* two readings */
};

static json_t *
read_stats (struct reg_client *c, const char *id)
{
  char path[256];
  snprintf (path, sizeof path, "/v1/containers/%s/stats", id);
  json_t *reply = NULL;
  long status = client_call (c, "GET", path, NULL, &reply);
  if (status == 200)
    return reply;
  client_fail ("stats", status, reply);
  json_decref (reply);
  return NULL;
}

static void
human (double bytes, char *out, size_t size)
{
  const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
  int u = 0;
  while (bytes >= 1024 && u < 4)
    {
      bytes /= 1024;
      u++;
    }
  snprintf (out, size, u ? "%.2f%s" : "%.0f%s", bytes, units[u]);
}

static double
num (json_t *o, const char *key)
{
  return json_number_value (json_object_get (o, key));
}

static void
print_table (struct sample *s, size_t n)
{
  printf ("%-12s  %-16s  %7s  %-22s  %6s  %5s  %s\n", "CONTAINER ID", "NAME", "CPU %",
          "MEM USAGE / LIMIT", "MEM %", "PIDS", "BLOCK I/O");
  for (size_t i = 0; i < n; i++)
    {
      if (s[i].a == NULL || s[i].b == NULL)
        continue;
      double dt = num (s[i].b, "ReadTime") - num (s[i].a, "ReadTime");
      double cpu = dt > 0 ? (num (s[i].b, "CpuNs") - num (s[i].a, "CpuNs")) / 1e9 / dt * 100 : 0;
      double mem = num (s[i].b, "Memory"), limit = num (s[i].b, "MemoryLimit");
      char used[32], lim[32], rd[32], wr[32], memcol[80];
      human (mem, used, sizeof used);
      if (limit > 0)
        human (limit, lim, sizeof lim);
      else
        snprintf (lim, sizeof lim, "-");
      human (num (s[i].b, "BlkioRead"), rd, sizeof rd);
      human (num (s[i].b, "BlkioWrite"), wr, sizeof wr);
      snprintf (memcol, sizeof memcol, "%s / %s", used, lim);
      char pct[16];
      if (limit > 0)
        snprintf (pct, sizeof pct, "%.2f%%", mem / limit * 100);
      else
        snprintf (pct, sizeof pct, "-");
      printf ("%-12.12s  %-16s  %6.2f%%  %-22s  %6s  %5.0f  %s / %s\n", s[i].id, s[i].name, cpu,
              memcol, pct, num (s[i].b, "Pids"), rd, wr);
    }
  fflush (stdout);
}

static bool
live (const char *state)
{
  static const char *const states[] = { "running", "paused", "restarting", "inserting" };
  for (size_t i = 0; state && i < sizeof states / sizeof states[0]; i++)
    if (strcmp (state, states[i]) == 0)
      return true;
  return false;
}

static const struct cli_option stats_options[] = {
  { "no-stream", 'n' + 256, NULL, "one reading, then exit" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec stats_spec
    = CLI_SPEC ("stats", "[CONTAINER...]",
                "CPU, memory, PIDs and block I/O of running containers (all of them by default).",
                stats_options);
static const struct cli_spec top_spec
    = CLI_SPEC ("top", "CONTAINER", "The processes of a running container.", NULL);
const struct cli_spec *const cli_specs_stats[] = { &stats_spec, &top_spec, NULL };

int
cmd_stats (struct reg_client *c, int argc, char **argv)
{
  bool stream = true;
  const char *arg;
  for (int key; (key = cli_next (&stats_spec, argc, argv, &arg)) != -1;)
    if (key == CLI_HELP || key == '?')
      return key == CLI_HELP ? 0 : 2;
    else
      stream = false;
  int optind = cli_args (&stats_spec, argc, argv, 0, -1);
  if (optind <= 0)
    return -optind;
  /* Which containers: those named, else every running one. */
  json_t *list = NULL;
  long status = client_call (c, "GET", "/v1/containers", NULL, &list);
  if (status != 200)
    {
      int r = client_fail ("stats", status, list);
      json_decref (list);
      return r;
    }
  size_t cap = optind < argc ? (size_t)(argc - optind) : json_array_size (list);
  struct sample *s = calloc (cap ? cap : 1, sizeof *s);
  size_t n = 0;
  int ret = 0;
  if (optind < argc)
    for (int i = optind; i < argc; i++)
      {
        char *ref = client_escape (c, argv[i]);
        char path[512];
        snprintf (path, sizeof path, "/v1/containers/%s", ref ? ref : "");
        free (ref);
        json_t *ct = NULL;
        long st = client_call (c, "GET", path, NULL, &ct);
        const char *state
            = json_string_value (json_object_get (json_object_get (ct, "State"), "Status"));
        if (st == 200 && !live (state))
          {
            fprintf (stderr, "reg: stats: container %s is %s: only a running container has stats\n",
                     argv[i], state ? state : "not running");
            ret = 1;
          }
        else if (st == 200)
          {
            snprintf (s[n].id, sizeof s[n].id, "%s",
                      json_string_value (json_object_get (ct, "Id")));
            const char *name = json_string_value (json_object_get (ct, "Name"));
            snprintf (s[n].name, sizeof s[n].name, "%s", name ? name : "");
            n++;
          }
        else
          ret = client_fail ("stats", st, ct);
        json_decref (ct);
      }
  else
    for (size_t i = 0; i < json_array_size (list); i++)
      {
        json_t *ct = json_array_get (list, i);
        snprintf (s[n].id, sizeof s[n].id, "%s", json_string_value (json_object_get (ct, "Id")));
        const char *name = json_string_value (json_object_get (ct, "Name"));
        snprintf (s[n].name, sizeof s[n].name, "%s", name ? name : "");
        n++;
      }
  json_decref (list);
  for (size_t i = 0; i < n; i++)
    if ((s[i].b = read_stats (c, s[i].id)) == NULL)
      ret = 1;
  if (n == 0 && ret != 0)
    stream = false; /* nothing to show: say why (above) and exit 1 */
  do
    {
      struct timespec ts = { stream ? 1 : 0, stream ? 0 : 500 * 1000 * 1000 };
      nanosleep (&ts, NULL);
      for (size_t i = 0; i < n; i++)
        {
          json_decref (s[i].a);
          s[i].a = s[i].b;
          s[i].b = s[i].a ? read_stats (c, s[i].id) : NULL;
          if (s[i].a && s[i].b == NULL)
            ret = 1;
        }
      if (stream && isatty (1))
        fputs ("\033[H\033[J", stdout);
      if (n > 0 || ret == 0)
        print_table (s, n);
    }
  while (stream);
  for (size_t i = 0; i < n; i++)
    {
      json_decref (s[i].a);
      json_decref (s[i].b);
    }
  free (s);
  return ret;
}

int
cmd_top (struct reg_client *c, int argc, char **argv)
{
  int first = cli_args (&top_spec, argc, argv, 1, 1);
  if (first <= 0)
    return -first;
  char *ref = client_escape (c, argv[first]);
  char path[512];
  snprintf (path, sizeof path, "/v1/containers/%s/top", ref ? ref : "");
  free (ref);
  json_t *reply = NULL;
  long status = client_call (c, "GET", path, NULL, &reply);
  if (status != 200)
    {
      int r = client_fail ("top", status, reply);
      json_decref (reply);
      return r;
    }
  printf ("%-8s  %-8s  %-5s  %-8s  %s\n", "PID", "PPID", "STATE", "TIME", "COMMAND");
  json_t *procs = json_object_get (reply, "Processes");
  for (size_t i = 0; i < json_array_size (procs); i++)
    {
      json_t *p = json_array_get (procs, i);
      printf ("%-8lld  %-8lld  %-5s  %-8s  %s\n",
              (long long)json_integer_value (json_array_get (p, 0)),
              (long long)json_integer_value (json_array_get (p, 1)),
              json_string_value (json_array_get (p, 2)), json_string_value (json_array_get (p, 3)),
              json_string_value (json_array_get (p, 4)));
    }
  json_decref (reply);
  return 0;
}
