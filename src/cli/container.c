/* reg start, stop, restart, kill, wait, rm, inspect, container prune: commands on existing
 * containers, each taking one or more ID|NAME (an id may be abbreviated to a
 * unique prefix). */
#include "cli.h"
#include "format.h"
#include "util.h"

#include <getopt.h>
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

int
cmd_stop (struct reg_client *c, int argc, char **argv)
{
  static const struct option opts[]
      = { { "time", required_argument, NULL, 't' }, { NULL, 0, NULL, 0 } };
  char suffix[64] = "/stop";
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "t:", opts, NULL)) != -1)
    {
      char *end;
      long t = opt == 't' ? strtol (optarg, &end, 10) : -1;
      if (opt != 't' || *optarg == '\0' || *end != '\0' || t < 0)
        {
          fprintf (stderr, "usage: reg stop [-t SECONDS] ID|NAME...\n");
          return 2;
        }
      snprintf (suffix, sizeof suffix, "/stop?t=%ld", t);
    }
  if (optind == argc)
    {
      fprintf (stderr, "usage: reg stop [-t SECONDS] ID|NAME...\n");
      return 2;
    }
  return each (c, "stop", "POST", suffix, optind, argc, argv);
}

int
cmd_rm (struct reg_client *c, int argc, char **argv)
{
  static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
  bool force = false;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "f", opts, NULL)) != -1)
    {
      if (opt != 'f')
        {
          fprintf (stderr, "usage: reg rm [-f] ID|NAME...\n");
          return 2;
        }
      force = true;
    }
  if (optind == argc)
    {
      fprintf (stderr, "usage: reg rm [-f] ID|NAME...\n");
      return 2;
    }
  return each (c, "rm", "DELETE", force ? "?force=1" : "", optind, argc, argv);
}

/* Docker's Config, for templates written for it ({{json .Config}}): the
 * record's own fields under that name. */
static void
add_config (json_t *ct)
{
  static const char *const keys[]
      = { "Cmd", "Env", "WorkingDir", "Tty", "OpenStdin", "User", "Templates" };
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
  static const struct option opts[]
      = { { "format", required_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
  const char *format = NULL;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "f:", opts, NULL)) != -1)
    if (opt == 'f')
      format = optarg;
    else
      optind = argc + 1; /* usage */
  if (optind >= argc)
    {
      fprintf (stderr, "usage: reg inspect [-f TEMPLATE] ID|NAME...\n");
      return 2;
    }
  struct reg_format *f = NULL;
  _cleanup_error_ struct reg_error *err = NULL;
  if (format && reg_format_parse (format, &f, &err) < 0)
    {
      fprintf (stderr, "reg: inspect: %s\n", err->msg);
      return 1;
    }
  json_t *all = json_array ();
  int ret = 0;
  for (int i = optind; i < argc; i++)
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
  if (argc != 3 || argv[1][0] == '-' || argv[1][0] == '\0')
    {
      fprintf (stderr, "usage: reg rename CONTAINER NEW-NAME\n");
      return 2;
    }
  _cleanup_free_ char *ref = client_escape (c, argv[1]), *name = client_escape (c, argv[2]);
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
  static const struct option opts[] = { { "attach", no_argument, NULL, 'a' },
                                        { "interactive", no_argument, NULL, 'i' },
                                        { "detach-keys", required_argument, NULL, 'k' },
                                        { "sig-proxy", optional_argument, NULL, 'y' },
                                        { NULL, 0, NULL, 0 } };
  bool attach = false, interactive = false, proxy = true;
  const char *keys = NULL;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "ai", opts, NULL)) != -1)
    {
      if ((opt != 'a' && opt != 'i' && opt != 'k' && opt != 'y')
          || (opt == 'y' && cli_sig_proxy_option ("start", optarg, &proxy) < 0))
        {
          fprintf (
              stderr,
              "usage: reg start [-a] [-i] [--detach-keys KEYS] [--sig-proxy=false] ID|NAME...\n");
          return 2;
        }
      attach = attach || opt == 'a';
      interactive = interactive || opt == 'i';
      keys = opt == 'k' ? optarg : keys;
    }
  if (optind == argc || ((attach || interactive) && argc - optind != 1))
    {
      fprintf (stderr, "usage: reg start [-a] [-i] [--detach-keys KEYS] [--sig-proxy=false] "
                       "ID|NAME...  (-a and -i "
                       "take one container)\n");
      return 2;
    }
  if (interactive)
    return cli_start_interactive (c, argv[optind], keys, proxy);
  if (!attach)
    return each (c, "start", "POST", "/start", optind, argc, argv);
  char *ref = client_escape (c, argv[optind]);
  char path[512];
  snprintf (path, sizeof path, "/v1/containers/%s/start?attach=1", ref ? ref : "");
  free (ref);
  json_t *reply = NULL;
  int exit_code = -1;
  if (proxy)
    cli_sigproxy_start (c, argv[optind]);
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
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt (argc, argv, "t:")) != -1)
    {
      char *end;
      t = opt == 't' ? strtol (optarg, &end, 10) : -1;
      if (opt != 't' || *optarg == '\0' || *end != '\0' || t < 0)
        {
          fprintf (stderr, "usage: reg restart [-t SECONDS] ID|NAME...\n");
          return 2;
        }
    }
  if (optind == argc)
    {
      fprintf (stderr, "usage: reg restart [-t SECONDS] ID|NAME...\n");
      return 2;
    }
  int ret = 0;
  for (int i = optind; i < argc; i++)
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
  static const struct option opts[]
      = { { "signal", required_argument, NULL, 's' }, { NULL, 0, NULL, 0 } };
  char suffix[128] = "/kill";
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "s:", opts, NULL)) != -1)
    {
      char *sig = opt == 's' ? client_escape (c, optarg) : NULL;
      if (sig == NULL)
        {
          fprintf (stderr, "usage: reg kill [-s SIGNAL] ID|NAME...\n");
          return 2;
        }
      snprintf (suffix, sizeof suffix, "/kill?signal=%s", sig);
      free (sig);
    }
  if (optind == argc)
    {
      fprintf (stderr, "usage: reg kill [-s SIGNAL] ID|NAME...\n");
      return 2;
    }
  return each (c, "kill", "POST", suffix, optind, argc, argv);
}

int
cmd_wait (struct reg_client *c, int argc, char **argv)
{
  if (argc < 2 || argv[1][0] == '-')
    {
      fprintf (stderr, "usage: reg wait ID|NAME...\n");
      return 2;
    }
  int ret = 0;
  for (int i = 1; i < argc; i++)
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
  if (argc < 2 || argv[1][0] == '-')
    {
      fprintf (stderr, "usage: reg pause ID|NAME...\n");
      return 2;
    }
  return each (c, "pause", "POST", "/pause", 1, argc, argv);
}

int
cmd_unpause (struct reg_client *c, int argc, char **argv)
{
  if (argc < 2 || argv[1][0] == '-')
    {
      fprintf (stderr, "usage: reg unpause ID|NAME...\n");
      return 2;
    }
  return each (c, "unpause", "POST", "/unpause", 1, argc, argv);
}

static int
install_cmd (struct reg_client *c, int argc, char **argv, bool uninstall)
{
  const char *verb = uninstall ? "uninstall" : "install";
  if (argc != 3 || argv[1][0] == '-')
    {
      fprintf (stderr, "usage: reg %s ID|NAME NAME@VERSION\n", verb);
      return 2;
    }
  char *ref = client_escape (c, argv[1]), *tmpl = client_escape (c, argv[2]);
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
  if (argc != 2 || strcmp (argv[1], "prune") != 0)
    {
      fprintf (stderr, "usage: reg container prune\n");
      return 2;
    }
  return cli_prune (c, true, false, false);
}
