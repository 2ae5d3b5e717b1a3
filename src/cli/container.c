/* reg start, stop, restart, kill, wait, rm, inspect, container prune: commands on existing
 * containers, each taking one or more ID|NAME (an id may be abbreviated to a
 * unique prefix). */
#include "cli.h"
#include "format.h"
#include "options.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Apply one request per container argument; the exit status is 1 when any
 * failed, and each failure is reported with the container it concerns. */
static int
each (struct reg_client *c, const char *what, const char *method, const char *suffix, int first,
      int argc, char **argv)
{
  int ret = 0;
  for (int i = first; i < argc; i++)
    {
      char *ref = client_escape (c, argv[i]);
      char path[512];
      snprintf (path, sizeof path, "/v1/containers/%s%s", ref ? ref : "", suffix);
      free (ref);
      json_t *reply = NULL;
      long status = client_call (c, method, path, NULL, &reply);
      if (status >= 200 && status <= 299)
        printf ("%s\n", argv[i]);
      else
        ret = client_fail (what, status, reply);
      json_decref (reply);
      if (status < 0)
        break;
    }
  return ret;
}

static const struct cli_option stop_options[] = {
  { "time", 't', "SECONDS",
    "wait this long after the stop signal, then SIGKILL (default: the container's "
    "--stop-timeout, else 10)" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec stop_spec
    = CLI_SPEC ("stop", "CONTAINER...",
                "Stop running containers: their stop signal, then "
                "SIGKILL at the deadline. A stopped one is left as it is.",
                stop_options);
static const struct cli_option restart_options[] = {
  { "time", 't', "SECONDS", "as reg stop -t" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec restart_spec = CLI_SPEC (
    "restart", "CONTAINER...", "Stop (when running) and start containers.", restart_options);
static const struct cli_option rm_options[] = {
  { "force", 'f', NULL, "kill a running container first" },
  { "volumes", 'v', NULL,
    "also remove its anonymous volumes (those its image's VOLUME made; named ones stay)" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec rm_spec = CLI_SPEC (
    "rm", "CONTAINER...", "Remove containers (their upper layer and logs).", rm_options);
static const struct cli_option inspect_options[] = {
  { "format", 'f', "TEMPLATE",
    "print each container through a Go template: {{.State.Status}}, {{json .Config}} "
    "(docs/cli.md)" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec inspect_spec
    = CLI_SPEC ("inspect", "CONTAINER...", "Show containers' records as JSON.", inspect_options);
static const struct cli_option start_options[] = {
  { "attach", 'a', NULL,
    "stream its output and exit with its status; signals are passed to it (one container)" },
  { "interactive", 'i', NULL, "attached, with our input (a container made with -i)" },
  { "detach-keys", 'k' + 256, "KEYS", "the keys that detach (default ctrl-p,ctrl-q)" },
  { "sig-proxy", 'y' + 256, "=BOOL",
    "pass the signals reg gets to the container (default true; false: a signal ends only reg)" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec start_spec
    = CLI_SPEC ("start", "CONTAINER...", "Start generated or stopped containers.", start_options);
static const struct cli_option kill_options[] = {
  { "signal", 's', "SIGNAL", "the signal, by name or number (default KILL)" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec kill_spec
    = CLI_SPEC ("kill", "CONTAINER...", "Send a signal to running containers.", kill_options);
static const struct cli_spec wait_spec = CLI_SPEC (
    "wait", "CONTAINER...", "Wait for containers to stop; print their exit codes.", NULL);
static const struct cli_spec pause_spec = CLI_SPEC (
    "pause", "CONTAINER...", "Freeze every process of containers (cgroup freezer).", NULL);
static const struct cli_spec unpause_spec
    = CLI_SPEC ("unpause", "CONTAINER...", "Thaw paused containers.", NULL);
static const struct cli_spec install_spec
    = CLI_SPEC ("install", "CONTAINER NAME@VERSION",
                "Add a template's files to a container, even a "
                "running one.",
                NULL);
static const struct cli_spec uninstall_spec = CLI_SPEC (
    "uninstall", "CONTAINER NAME@VERSION", "Take an installed template's files away.", NULL);
static const struct cli_spec rename_spec
    = CLI_SPEC ("rename", "CONTAINER NEW-NAME", "Give a container a new name (any state).", NULL);
static const struct cli_spec container_prune_spec
    = CLI_SPEC ("container prune", NULL, "Remove every stopped container.", NULL);

const struct cli_spec *const cli_specs_container[] = {
  &start_spec,           &restart_spec, &stop_spec,    &kill_spec,    &wait_spec,      &rm_spec,
  &inspect_spec,         &pause_spec,   &unpause_spec, &install_spec, &uninstall_spec, &rename_spec,
  &container_prune_spec, NULL
};

/* Loop over a spec's options with a handler per key: 0 to go on, else
 * the exit status. */
#define PARSE_OPTIONS(spec, key, arg)                                                              \
  for (int key; (key = cli_next (&(spec), argc, argv, &(arg))) != -1;)                             \
    if (key == CLI_HELP)                                                                           \
      return 0;                                                                                    \
    else if (key == '?')                                                                           \
      return 2;                                                                                    \
    else

int
cmd_stop (struct reg_client *c, int argc, char **argv)
{
  char suffix[64] = "/stop";
  const char *arg;
  PARSE_OPTIONS (stop_spec, key, arg)
  {
    char *end;
    long t = strtol (arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || t < 0)
      return cli_usage_error (&stop_spec, "-t %s: want seconds, 0 or more", arg);
    snprintf (suffix, sizeof suffix, "/stop?t=%ld", t);
  }
  int first = cli_args (&stop_spec, argc, argv, 1, -1);
  return first <= 0 ? -first : each (c, "stop", "POST", suffix, first, argc, argv);
}

int
cmd_rm (struct reg_client *c, int argc, char **argv)
{
  bool force = false, volumes = false;
  const char *arg;
  PARSE_OPTIONS (rm_spec, key, arg)
  {
    if (key == 'f')
      force = true;
    else
      volumes = true;
  }
  int first = cli_args (&rm_spec, argc, argv, 1, -1);
  const char *query = force && volumes ? "?force=1&v=1"
                      : force          ? "?force=1"
                      : volumes        ? "?v=1"
                                       : "";
  return first <= 0 ? -first : each (c, "rm", "DELETE", query, first, argc, argv);
}

/* Docker's Config, for templates written for it ({{json .Config}}): the
 * record's own fields under that name. */
static void
add_config (json_t *ct)
{
  static const char *const keys[]
      = { "Cmd", "Env", "WorkingDir", "Tty", "OpenStdin", "User", "Templates", "Labels" };
  if (json_object_get (ct, "Config"))
    return;
  json_t *config = json_object ();
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (json_object_get (ct, keys[i]))
      json_object_set (config, keys[i], json_object_get (ct, keys[i]));
  json_object_set_new (ct, "Config", config);
}

/* One container's record through the -f template, or into `all`. */
static int
inspect_one (struct reg_client *c, const char *name, const struct reg_format *f, json_t *all)
{
  if (name[0] == '\0')
    {
      fprintf (stderr, "reg: inspect: an empty name is no container\n");
      return 1;
    }
  char *ref = client_escape (c, name);
  char path[512];
  snprintf (path, sizeof path, "/v1/containers/%s", ref ? ref : "");
  free (ref);
  json_t *reply = NULL;
  long status = client_call (c, "GET", path, NULL, &reply);
  int ret = status < 0 ? -1 : 0;
  _cleanup_error_ struct reg_error *err = NULL;
  if (status != 200)
    ret = ret < 0 ? -1 : client_fail ("inspect", status, reply);
  else if (f == NULL)
    json_array_append (all, reply);
  else
    {
      add_config (reply);
      if (reg_format_render (f, reply, stdout, &err) < 0)
        ret = fprintf (stderr, "\nreg: inspect %s: %s\n", name, err->msg) > 0;
      else
        putchar ('\n');
    }
  json_decref (reply);
  return ret;
}

int
cmd_inspect (struct reg_client *c, int argc, char **argv)
{
  const char *format = NULL, *arg;
  PARSE_OPTIONS (inspect_spec, key, arg) format = arg;
  int first = cli_args (&inspect_spec, argc, argv, 1, -1);
  if (first <= 0)
    return -first;
  struct reg_format *f = NULL;
  _cleanup_error_ struct reg_error *err = NULL;
  if (format && reg_format_parse (format, &f, &err) < 0)
    {
      fprintf (stderr, "reg: inspect: %s\n", err->msg);
      return 1;
    }
  json_t *all = json_array ();
  int ret = 0;
  for (int i = first; i < argc; i++)
    {
      int r = inspect_one (c, argv[i], f, all);
      ret = r ? 1 : ret;
      if (r < 0)
        break;
    }
  if (f == NULL && json_array_size (all) > 0)
    cli_print_json (all);
  json_decref (all);
  reg_format_free (f);
  return ret;
}

int
cmd_rename (struct reg_client *c, int argc, char **argv)
{
  int first = cli_args (&rename_spec, argc, argv, 2, 2);
  if (first <= 0)
    return -first;
  if (argv[first][0] == '\0')
    return cli_usage_error (&rename_spec, "an empty name is no container");
  _cleanup_free_ char *ref = client_escape (c, argv[first]),
                      *name = client_escape (c, argv[first + 1]);
  char path[1024];
  snprintf (path, sizeof path, "/v1/containers/%s/rename?name=%s", ref ? ref : "",
            name ? name : "");
  json_t *reply = NULL;
  long status = client_call (c, "POST", path, NULL, &reply);
  int ret = status == 204 ? 0 : client_fail ("rename", status, reply);
  json_decref (reply);
  return ret;
}

int
cmd_start (struct reg_client *c, int argc, char **argv)
{
  bool attach = false, interactive = false, proxy = true;
  const char *keys = NULL, *arg;
  PARSE_OPTIONS (start_spec, key, arg)
  {
    if (key == 'y' + 256 && cli_sig_proxy_option ("start", arg, &proxy) < 0)
      return 2;
    attach = attach || key == 'a';
    interactive = interactive || key == 'i';
    keys = key == 'k' + 256 ? arg : keys;
  }
  int first = cli_args (&start_spec, argc, argv, 1, attach || interactive ? 1 : -1);
  if (first <= 0)
    return -first;
  if (interactive)
    return cli_start_interactive (c, argv[first], keys, proxy);
  if (!attach)
    return each (c, "start", "POST", "/start", first, argc, argv);
  char *ref = client_escape (c, argv[first]);
  char path[512];
  snprintf (path, sizeof path, "/v1/containers/%s/start?attach=1", ref ? ref : "");
  free (ref);
  json_t *reply = NULL;
  int exit_code = -1;
  if (proxy)
    cli_sigproxy_start (c, argv[first]);
  long status = client_stream (c, "POST", path, NULL, &exit_code, &reply);
  if (status != 200)
    {
      json_t *code = json_object_get (reply, "ExitCode");
      int rc = json_is_integer (code) && json_integer_value (code) >= 125
                   ? (int)json_integer_value (code)
                   : 125; /* attached, as run: 125 when reg or regd failed */
      client_fail ("start", status, reply);
      json_decref (reply);
      return rc;
    }
  json_decref (reply);
  return exit_code < 0 ? 125 : exit_code;
}

int
cmd_restart (struct reg_client *c, int argc, char **argv)
{
  long t = -1; /* the container's --stop-timeout, else 10 s */
  const char *arg;
  PARSE_OPTIONS (restart_spec, key, arg)
  {
    char *end;
    t = strtol (arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || t < 0)
      return cli_usage_error (&restart_spec, "-t %s: want seconds, 0 or more", arg);
  }
  int first = cli_args (&restart_spec, argc, argv, 1, -1);
  if (first <= 0)
    return -first;
  int ret = 0;
  for (int i = first; i < argc; i++)
    {
      char *ref = client_escape (c, argv[i]);
      char path[512];
      if (t >= 0)
        snprintf (path, sizeof path, "/v1/containers/%s/stop?t=%ld", ref ? ref : "", t);
      else
        snprintf (path, sizeof path, "/v1/containers/%s/stop", ref ? ref : "");
      json_t *reply = NULL;
      long status = client_call (c, "POST", path, NULL, &reply);
      /* 409: it was not running; restart then just starts it. */
      if (status != 204 && status != 409)
        {
          ret = client_fail ("restart", status, reply);
          json_decref (reply);
          free (ref);
          if (status < 0)
            break;
          continue;
        }
      json_decref (reply);
      reply = NULL;
      snprintf (path, sizeof path, "/v1/containers/%s/start", ref ? ref : "");
      free (ref);
      status = client_call (c, "POST", path, NULL, &reply);
      if (status == 204)
        printf ("%s\n", argv[i]);
      else
        ret = client_fail ("restart", status, reply);
      json_decref (reply);
    }
  return ret;
}

int
cmd_kill (struct reg_client *c, int argc, char **argv)
{
  char suffix[128] = "/kill";
  const char *arg;
  PARSE_OPTIONS (kill_spec, key, arg)
  {
    _cleanup_free_ char *sig = client_escape (c, arg);
    snprintf (suffix, sizeof suffix, "/kill?signal=%s", sig ? sig : "");
  }
  int first = cli_args (&kill_spec, argc, argv, 1, -1);
  return first <= 0 ? -first : each (c, "kill", "POST", suffix, first, argc, argv);
}

int
cmd_wait (struct reg_client *c, int argc, char **argv)
{
  int first = cli_args (&wait_spec, argc, argv, 1, -1);
  if (first <= 0)
    return -first;
  int ret = 0;
  for (int i = first; i < argc; i++)
    {
      char *ref = client_escape (c, argv[i]);
      char path[512];
      snprintf (path, sizeof path, "/v1/containers/%s/wait", ref ? ref : "");
      free (ref);
      json_t *reply = NULL;
      long status = client_call (c, "POST", path, NULL, &reply);
      if (status == 200)
        printf ("%lld\n", (long long)json_integer_value (json_object_get (reply, "StatusCode")));
      else
        ret = client_fail ("wait", status, reply);
      json_decref (reply);
      if (status < 0)
        break;
    }
  return ret;
}

int
cmd_pause (struct reg_client *c, int argc, char **argv)
{
  int first = cli_args (&pause_spec, argc, argv, 1, -1);
  return first <= 0 ? -first : each (c, "pause", "POST", "/pause", first, argc, argv);
}

int
cmd_unpause (struct reg_client *c, int argc, char **argv)
{
  int first = cli_args (&unpause_spec, argc, argv, 1, -1);
  return first <= 0 ? -first : each (c, "unpause", "POST", "/unpause", first, argc, argv);
}

static int
install_cmd (struct reg_client *c, int argc, char **argv, bool uninstall)
{
  const char *verb = uninstall ? "uninstall" : "install";
  int first = cli_args (uninstall ? &uninstall_spec : &install_spec, argc, argv, 2, 2);
  if (first <= 0)
    return -first;
  char *ref = client_escape (c, argv[first]), *tmpl = client_escape (c, argv[first + 1]);
  char path[512];
  snprintf (path, sizeof path, "/v1/containers/%s/%s?template=%s", ref ? ref : "", verb,
            tmpl ? tmpl : "");
  free (ref);
  free (tmpl);
  json_t *reply = NULL;
  long status = client_call (c, "POST", path, NULL, &reply);
  int ret = status == 204 ? 0 : client_fail (verb, status, reply);
  json_decref (reply);
  return ret;
}

int
cmd_install (struct reg_client *c, int argc, char **argv)
{
  return install_cmd (c, argc, argv, false);
}

int
cmd_uninstall (struct reg_client *c, int argc, char **argv)
{
  return install_cmd (c, argc, argv, true);
}

int
cmd_container (struct reg_client *c, int argc, char **argv)
{
  static const struct cli_spec *const group[] = { &container_prune_spec, NULL };
  int status = 0;
  if (cli_group ("container", group, argc, argv, &status) == NULL)
    return status;
  int first = cli_args (&container_prune_spec, argc - 1, argv + 1, 0, 0);
  return first <= 0 ? -first : cli_prune (c, true, false, false);
}
