/* reg: the client of regd. `reg [-H unix:///PATH] COMMAND ...` */
#include "cli.h"
#include "timing.h"
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef REG_VERSION
#define REG_VERSION "0.1.0"
#endif

static const struct
{
  const char *name;
  reg_command_fn fn;
  const char *help;
} commands[] = {
  { "run", cmd_run, "run a container from templates" },
  { "generate", cmd_generate, "create a container without starting it" },
  { "start", cmd_start, "start generated or stopped containers" },
  { "restart", cmd_restart, "stop and start containers" },
  { "kill", cmd_kill, "send a signal to containers" },
  { "pause", cmd_pause, "freeze every process of containers" },
  { "unpause", cmd_unpause, "thaw paused containers" },
  { "exec", cmd_exec, "run a command in a running container" },
  { "attach", cmd_attach, "attach to a running container's input and output" },
  { "install", cmd_install, "add a template's files to a container, even running" },
  { "uninstall", cmd_uninstall, "take an installed template's files away" },
  { "update", cmd_update, "change the resource limits of containers" },
  { "stats", cmd_stats, "CPU, memory, PIDs and block I/O of running containers" },
  { "top", cmd_top, "the processes of a container" },
  { "wait", cmd_wait, "wait for containers to stop; print exit codes" },
  { "ps", cmd_ps, "list containers" },
  { "logs", cmd_logs, "show a container's output" },
  { "stop", cmd_stop, "stop a running container" },
  { "rm", cmd_rm, "remove containers" },
  { "inspect", cmd_inspect, "show a container's record as JSON" },
  { "port", cmd_port, "list a container's published ports" },
  { "template", cmd_template, "create, list, inspect and remove templates" },
  { "push", cmd_push, "upload a template to an OCI registry or layout" },
  { "pull", cmd_pull, "download a template and what it requires" },
  { "image", cmd_image, "load images from a docker save or OCI archive" },
  { "login", cmd_login, "store credentials for a registry" },
  { "logout", cmd_logout, "remove the credentials of a registry" },
  { "rename", cmd_rename, "give a container a new name" },
  { "events", cmd_events, "the lifecycle of containers, templates and volumes, as it happens" },
  { "cp", cmd_cp, "copy files between a container and the host" },
  { "diff", cmd_diff, "the files a container added, changed or deleted" },
  { "volume", cmd_volume, "create, list, inspect, remove and prune named volumes" },
  { "network", cmd_network, "create, list, inspect and remove user networks; connect containers" },
  { "store", cmd_store, "verify the content-addressed store" },
  { "system", cmd_system, "engine-wide information (df) and clean-up (prune)" },
  { "container", cmd_container, "remove stopped containers (prune)" },
  { "version", cmd_version, "client and daemon versions" },
};

static void
usage (FILE *out)
{
  fprintf (out, "usage: reg [-H unix:///PATH | -H tcp://HOST:PORT --tls-ca FILE --token T] COMMAND "
                "[ARGS...]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf (out, "  %-10s %s\n", commands[i].name, commands[i].help);
  fprintf (out, "  %-10s %s\n", "help", "reg help COMMAND: its options (as COMMAND --help)");
  fprintf (out, "\nREG_HOST sets the daemon address (default " REG_DEFAULT_HOST
                "); REG_TLS_CA and REG_TOKEN the TLS CA and token.\n");
}

static const struct cli_spec *const *const spec_lists[]
    = { cli_specs_container, cli_specs_logs,   cli_specs_events,   cli_specs_ps,
        cli_specs_system,    cli_specs_volume, cli_specs_registry, cli_specs_cp,
        cli_specs_stats,     cli_specs_exec,   cli_specs_attach,   cli_specs_port,
        cli_specs_template,  cli_specs_run,    cli_specs_network,  NULL };

/* reg help [COMMAND [SUBCOMMAND]]: the help each command's option table
 * generates (the same as COMMAND --help). */
static int
help (int argc, char **argv)
{
  if (argc < 2)
    {
      usage (stdout);
      return 0;
    }
  char name[128] = "";
  for (int i = 1; i < argc; i++)
    snprintf (name + strlen (name), sizeof name - strlen (name), "%s%s", i > 1 ? " " : "", argv[i]);
  const struct cli_spec *group[64];
  size_t n = 0, len = strlen (name);
  for (size_t l = 0; spec_lists[l]; l++)
    for (size_t k = 0; spec_lists[l][k]; k++)
      {
        const struct cli_spec *spec = spec_lists[l][k];
        if (strcmp (spec->name, name) == 0)
          {
            cli_help (spec, stdout);
            return 0;
          }
        if (strncmp (spec->name, name, len) == 0 && spec->name[len] == ' ' && n < 63)
          group[n++] = spec;
      }
  if (n > 0)
    {
      group[n] = NULL;
      cli_group_help (name, group, stdout);
      return 0;
    }
  fprintf (stderr, "reg help: no command \"%s\" (reg help lists them)\n", name);
  return 2;
}

static const char *client_host, *client_ca, *client_token;

struct reg_client *
cli_client_open_again (void)
{
  return client_open (client_host, client_ca, client_token);
}

void
cli_print_json (json_t *j)
{
  char *text = json_dumps (j, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  if (text)
    puts (text);
  free (text);
}

int
cli_each_named (struct reg_client *c, const char *kind, const char *collection, bool remove,
                int first, int argc, char **argv)
{
  int ret = 0;
  json_t *all = json_array ();
  char what[64];
  snprintf (what, sizeof what, "%s %s", kind, remove ? "rm" : "inspect");
  for (int i = first; i < argc; i++)
    {
      char *name = client_escape (c, argv[i]);
      char path[512];
      snprintf (path, sizeof path, "/v1/%s/%s", collection, name ? name : "");
      free (name);
      json_t *reply = NULL;
      long status = client_call (c, remove ? "DELETE" : "GET", path, NULL, &reply);
      if (status == 200 && remove)
        printf ("%s\n", argv[i]);
      else if (status == 200)
        json_array_append (all, reply);
      else
        ret = client_fail (what, status, reply);
      json_decref (reply);
      if (status < 0)
        break;
    }
  if (!remove)
    cli_print_json (all);
  json_decref (all);
  return ret;
}

const char *
cli_s (long long n)
{
  return n == 1 ? "" : "s";
}

void
cli_age (const char *rfc3339, char *out, size_t size)
{
  struct tm tm = { 0 };
  if (rfc3339 == NULL || strptime (rfc3339, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
    {
      snprintf (out, size, "-");
      return;
    }
  double s = difftime (time (NULL), timegm (&tm));
  int n = s < 60      ? (int)s
          : s < 3600  ? (int)(s / 60)
          : s < 86400 ? (int)(s / 3600)
                      : (int)(s / 86400);
  const char *unit = s < 60 ? "second" : s < 3600 ? "minute" : s < 86400 ? "hour" : "day";
  snprintf (out, size, "%d %s%s", n, unit, cli_s (n));
}

int
main (int argc, char **argv)
{
  reg_timing_init ();
  reg_timing_mark (NULL, "client.main");
  const char *host = getenv ("REG_HOST");
  const char *ca_file = getenv ("REG_TLS_CA"), *token = getenv ("REG_TOKEN");
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++)
    {
      if ((strcmp (argv[i], "-H") == 0 || strcmp (argv[i], "--host") == 0) && i + 1 < argc)
        host = argv[++i];
      else if (strncmp (argv[i], "--host=", 7) == 0)
        host = argv[i] + 7;
      else if (strcmp (argv[i], "--tls-ca") == 0 && i + 1 < argc)
        ca_file = argv[++i];
      else if (strcmp (argv[i], "--token") == 0 && i + 1 < argc)
        token = argv[++i];
      else if (strcmp (argv[i], "-h") == 0 || strcmp (argv[i], "--help") == 0)
        {
          usage (stdout);
          return 0;
        }
      else
        {
          fprintf (stderr, "reg: unknown option %s\n", argv[i]);
          usage (stderr);
          return 2;
        }
    }
  if (i < argc && strcmp (argv[i], "help") == 0)
    return help (argc - i, argv + i);
  if (i == argc)
    {
      usage (stderr);
      return 2;
    }
  for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
    if (strcmp (argv[i], commands[k].name) == 0)
      {
        client_host = host && *host ? host : REG_DEFAULT_HOST;
        client_ca = ca_file;
        client_token = token;
        struct reg_client *c = client_open (client_host, client_ca, client_token);
        if (c == NULL)
          return 1;
        int ret = commands[k].fn (c, argc - i, argv + i);
        client_close (c);
        return ret;
      }
  fprintf (stderr, "reg: unknown command \"%s\"\n", argv[i]);
  usage (stderr);
  return 2;
}
