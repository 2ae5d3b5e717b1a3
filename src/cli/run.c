/* reg run: create a container from templates and start it, attached (output
 * streamed, reg exits with the container's exit code) or detached (-d, the
 * id is printed and output goes to `reg logs`).
 *
 *   reg run [-d] [--rm] [--name NAME] -t NAME@VERSION [-t ...] [-e K=V]
 *           [-w DIR] [--project DIR] [-v HOST|VOLUME:CTR[:ro]] [--mount ...]
 *           [--tmpfs PATH[:OPTS]] [-c "CMD"] [-- CMD ARGS...]
 *           [--network MODE] [--hostname NAME] [--dns IP] [--dns-search DOMAIN]
 *           [--add-host NAME:IP]
 *
 * Exit status: the container's, or 125 when reg or regd failed, 126 when the
 * command cannot be run, 127 when it was not found (as docker run).
 *
 * reg generate takes the same options and only creates the container (its
 * environment generated, state "generated"), printing its id; `reg start`
 * runs it later. */
#include "cli.h"
#include "timing.h"
#include "detach.h"
#include "ulimit.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Split a -c command line into words: blanks separate words, '...' keeps
 * everything literally, "..." keeps everything but \" and \\, and a
 * backslash outside quotes escapes the next character. No expansion of any
 * kind: the container may have no shell, so reg does not pretend to be one. */
static int
split_command (const char *s, json_t *out)
{
  size_t cap = strlen (s) + 1;
  char *word = malloc (cap);
  if (word == NULL)
    return -1;
  size_t n = 0;
  bool in_word = false;
  for (const char *p = s;; p++)
    {
      if (*p == '\0' || *p == ' ' || *p == '\t' || *p == '\n')
        {
          if (in_word)
            {
              json_array_append_new (out, json_stringn (word, n));
              n = 0;
              in_word = false;
            }
          if (*p == '\0')
            break;
          continue;
        }
      in_word = true;
      if (*p == '\'')
        {
          const char *end = strchr (p + 1, '\'');
          if (end == NULL)
            {
              free (word);
              return -1;
            }
          memcpy (word + n, p + 1, (size_t)(end - p - 1));
          n += (size_t)(end - p - 1);
          p = end;
        }
      else if (*p == '"')
        {
          for (p++; *p != '"'; p++)
            {
              if (*p == '\0')
                {
                  free (word);
                  return -1;
                }
              if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                p++;
              word[n++] = *p;
            }
        }
      else if (*p == '\\' && p[1] != '\0')
        word[n++] = *++p;
      else
        word[n++] = *p;
    }
  free (word);
  return 0;
}

static int
usage_error (const char *msg, const char *arg)
{
  fprintf (stderr, "reg run: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
  fprintf (stderr, "usage: reg run [-d] [--rm] [--name NAME] -t NAME@VERSION [-t ...] "
                   "[-e KEY=VALUE] [-w DIR] [--project DIR] [-v HOST|VOLUME:CONTAINER[:ro]] "
                   "[--mount type=bind|volume|tmpfs,source=S,target=T[,readonly]] "
                   "[--tmpfs PATH[:size=SIZE,mode=OCTAL]] "
                   "[-c \"CMD\"] [-i] [--tty] [--privileged] [--cap-add CAP] [--cap-drop CAP] "
                   "[--security-opt seccomp=unconfined|FILE.json] [--read-only] [-u UID[:GID]] "
                   "[--userns private] [--init] [--stop-signal SIG] [--stop-timeout SECONDS] "
                   "[--ulimit NAME=SOFT[:HARD]] [--storage-opt size=SIZE] [--detach-keys KEYS] "
                   "[--sig-proxy=false] "
                   "[-p [IP:]HOST:CTR] [-P] [--network bridge|host|none|NAME|container:ID] "
                   "[--network-alias NAME] "
                   "[--hostname NAME] [--dns IP] [--dns-search DOMAIN] [--add-host NAME:IP] "
                   "[--restart POLICY] [--health-cmd CMD | --health-http /PATH[:PORT][=STATUS]] "
                   "[--health-interval D] [--health-timeout D] [--health-retries N] "
                   "[--health-start-period D] [--no-healthcheck] "
                   "[--log-max-size SIZE] [-m "
                   "SIZE] [--memory-reservation SIZE] [--memory-swap SIZE|-1] [--cpus N] "
                   "[--cpu-shares N] [--cpuset-cpus LIST] [--pids-limit N|-1] [--blkio-weight N] "
                   "[-- CMD ARGS...]\n");
  return 125;
}

static void
append_string (json_t *body, const char *key, const char *value)
{
  if (json_object_get (body, key) == NULL)
    json_object_set_new (body, key, json_array ());
  json_array_append_new (json_object_get (body, key), json_string (value));
}

/* seccomp=FILE: the profile's text travels, as with docker run (regd may
 * not see the client's files). */
static int
security_opt (json_t *body, const char *opt)
{
  const char *file = strncmp (opt, "seccomp=", 8) == 0 ? opt + 8 : NULL;
  if (file == NULL || strcmp (file, "unconfined") == 0)
    {
      append_string (body, "SecurityOpt", opt);
      return 0;
    }
  char *text = NULL, *word = NULL;
  size_t len = 0;
  _cleanup_error_ struct reg_error *err = NULL;
  if (reg_util_read_file (file, 1 << 20, &text, &len, &err) < 0)
    {
      fprintf (stderr, "reg run: --security-opt seccomp=%s: %s\n", file, err->msg);
      return 125;
    }
  if (asprintf (&word, "seccomp=%s", text) > 0)
    append_string (body, "SecurityOpt", word);
  free (word);
  free (text);
  return 0;
}

static void
append_ulimit (json_t *body, const struct reg_ulimit *u)
{
  if (json_object_get (body, "Ulimits") == NULL)
    json_object_set_new (body, "Ulimits", json_array ());
  json_array_append_new (json_object_get (body, "Ulimits"),
                         json_pack ("{s:s, s:I, s:I}", "Name", reg_ulimit_name (u->resource),
                                    "Soft", (json_int_t)u->soft, "Hard", (json_int_t)u->hard));
}

/* The resource-limit options of run, generate and update (limit_option). */
// clang-format off
#define LIMIT_OPTIONS                                          \
  { "memory", required_argument, NULL, 'm' },                  \
  { "memory-reservation", required_argument, NULL, 'M' },      \
  { "memory-swap", required_argument, NULL, 'S' },             \
  { "cpus", required_argument, NULL, 'C' },                    \
  { "cpu-shares", required_argument, NULL, 's' },              \
  { "cpuset-cpus", required_argument, NULL, 'U' },             \
  { "pids-limit", required_argument, NULL, 'E' },              \
  { "blkio-weight", required_argument, NULL, 'B' }
// clang-format on

/* A size, or "-1" when allowed. */
static bool
parse_size (const char *s, bool allow_unlimited, json_int_t *out)
{
  if (allow_unlimited && strcmp (s, "-1") == 0)
    {
      *out = -1;
      return true;
    }
  int64_t v = 0;
  if (!reg_util_parse_size (s, &v))
    return false;
  *out = v;
  return true;
}

static bool
parse_int (const char *s, json_int_t min, json_int_t *out)
{
  char *end = NULL;
  errno = 0;
  long long v = strtoll (s, &end, 10);
  if (errno || end == s || *end != '\0' || v < min)
    return false;
  *out = v;
  return true;
}

/* One resource-limit option into body.Limits; false on a bad value. */
static bool
limit_option (json_t *limits, int opt, const char *arg)
{
  json_int_t v = 0;
  switch (opt)
    {
    case 'm':
      return parse_size (arg, false, &v)
             && !json_object_set_new (limits, "Memory", json_integer (v));
    case 'M':
      return parse_size (arg, false, &v)
             && !json_object_set_new (limits, "MemoryReservation", json_integer (v));
    case 'S':
      return parse_size (arg, true, &v)
             && !json_object_set_new (limits, "MemorySwap", json_integer (v));
    case 'C':
      {
        char *end = NULL;
        double cpus = strtod (arg, &end);
        if (end == arg || *end != '\0' || cpus <= 0 || cpus > 1e6)
          return false;
        return !json_object_set_new (limits, "NanoCpus", json_integer ((json_int_t)(cpus * 1e9)));
      }
    case 's':
      return parse_int (arg, 0, &v) && !json_object_set_new (limits, "CpuShares", json_integer (v));
    case 'U':
      return !json_object_set_new (limits, "CpusetCpus", json_string (arg));
    case 'E':
      return parse_int (arg, -1, &v) && v != 0
             && !json_object_set_new (limits, "PidsLimit", json_integer (v));
    case 'B':
      return parse_int (arg, 0, &v)
             && !json_object_set_new (limits, "BlkioWeight", json_integer (v));
    default:
      return false;
    }
}

/* --init, --stop-signal, --stop-timeout and --ulimit into the body (regd
 * checks the signal and the ulimit; they are parsed here for a clear
 * message before anything is sent). */
static int
process_option (json_t *body, int opt, const char *arg)
{
  json_int_t v = 0;
  switch (opt)
    {
    case 'I':
      json_object_set_new (body, "Init", json_true ());
      return 0;
    case 'g':
      if (reg_signal_number (arg) <= 0)
        return usage_error ("unknown signal for --stop-signal (SIGTERM, SIGQUIT, 15, ...)", arg);
      json_object_set_new (body, "StopSignal", json_string (arg));
      return 0;
    case 'G':
      if (!parse_int (arg, 0, &v) || v > 86400)
        return usage_error ("--stop-timeout wants 0-86400 seconds", arg);
      json_object_set_new (body, "StopTimeout", json_integer (v));
      return 0;
    case 1002:
      {
        /* --storage-opt KEY=VALUE: regd checks the key and the value. */
        const char *eq = strchr (arg, '=');
        if (eq == NULL || eq == arg)
          return usage_error ("--storage-opt wants KEY=VALUE (size=64m)", arg);
        json_t *so = json_object_get (body, "StorageOpt");
        if (so == NULL)
          json_object_set_new (body, "StorageOpt", so = json_object ());
        char key[64];
        snprintf (key, sizeof key, "%.*s", (int)(eq - arg), arg);
        json_object_set_new (so, key, json_string (eq + 1));
        return 0;
      }
    default:
      {
        struct reg_ulimit u;
        _cleanup_error_ struct reg_error *err = NULL;
        if (reg_ulimit_parse (arg, &u, &err) < 0)
          return usage_error (err->msg, NULL);
        append_ulimit (body, &u);
        return 0;
      }
    }
}

/* DIR/reg.yaml into *text: 0, -1 when there is none, -2 when unreadable
 * (reported). */
static int
read_project_file (const char *dir, char **text)
{
  char path[PATH_MAX + 16];
  snprintf (path, sizeof path, "%s/reg.yaml", dir);
  FILE *f = fopen (path, "re");
  if (f == NULL)
    return -1;
  size_t len = 0;
  FILE *mem = open_memstream (text, &len);
  char buf[65536];
  size_t n;
  while (mem && (n = fread (buf, 1, sizeof buf, f)) > 0 && len < (1 << 20))
    fwrite (buf, 1, n, mem);
  bool failed = ferror (f) || mem == NULL;
  fclose (f);
  if (mem)
    fclose (mem);
  if (failed || *text == NULL)
    {
      fprintf (stderr, "reg: cannot read %s\n", path);
      return -2;
    }
  return 0;
}

static int
remove_quietly (struct reg_client *c, const char *id)
{
  char path[256];
  snprintf (path, sizeof path, "/v1/containers/%s?force=1", id);
  return (int)client_call (c, "DELETE", path, NULL, NULL);
}

/* run = create + start; generate = create only (Docker's `create`). */
static int run_or_generate (struct reg_client *c, int argc, char **argv, bool start);

int
cmd_run (struct reg_client *c, int argc, char **argv)
{
  return run_or_generate (c, argc, argv, true);
}

int
cmd_generate (struct reg_client *c, int argc, char **argv)
{
  return run_or_generate (c, argc, argv, false);
}

static int
run_or_generate (struct reg_client *c, int argc, char **argv, bool start)
{
  static const struct option opts[] = {
    { "detach", no_argument, NULL, 'd' },
    LIMIT_OPTIONS,
    { "log-max-size", required_argument, NULL, 'L' },
    { "rm", no_argument, NULL, 'R' },
    { "name", required_argument, NULL, 'n' },
    { "template", required_argument, NULL, 't' },
    { "command", required_argument, NULL, 'c' },
    { "env", required_argument, NULL, 'e' },
    { "workdir", required_argument, NULL, 'w' },
    { "project", required_argument, NULL, 'J' },
    { "publish", required_argument, NULL, 'p' },
    { "publish-all", no_argument, NULL, 'P' },
    { "interactive", no_argument, NULL, 'i' },
    { "tty", no_argument, NULL, 'T' },
    { "privileged", no_argument, NULL, 'X' },
    { "security-opt", required_argument, NULL, 'Y' },
    { "cap-add", required_argument, NULL, 'A' },
    { "cap-drop", required_argument, NULL, 'D' },
    { "read-only", no_argument, NULL, 'O' },
    { "user", required_argument, NULL, 'u' },
    { "userns", required_argument, NULL, 'N' },
    { "restart", required_argument, NULL, 'r' },
    { "volume", required_argument, NULL, 'v' },
    { "network", required_argument, NULL, 'W' },
    { "net", required_argument, NULL, 'W' },
    { "hostname", required_argument, NULL, 'H' },
    { "dns", required_argument, NULL, 'Z' },
    { "dns-search", required_argument, NULL, 'Q' },
    { "add-host", required_argument, NULL, 'a' },
    { "network-alias", required_argument, NULL, 'b' },
    { "mount", required_argument, NULL, 'K' },
    { "tmpfs", required_argument, NULL, 'F' },
    { "init", no_argument, NULL, 'I' },
    { "stop-signal", required_argument, NULL, 'g' },
    { "stop-timeout", required_argument, NULL, 'G' },
    { "ulimit", required_argument, NULL, 'l' },
    { "storage-opt", required_argument, NULL, 1002 },
    { "detach-keys", required_argument, NULL, 'k' },
    { "env-file", required_argument, NULL, 1001 },
    { "sig-proxy", optional_argument, NULL, 'y' },
    CLI_HEALTH_OPTIONS,
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  bool detach = false, auto_remove = false, interactive = false, tty = false, proxy = true;
  const char *command = NULL, *detach_keys = NULL;
  json_t *body = json_object ();
  json_t *templates = json_array (), *env = json_array (), *mounts = json_array ();
  json_object_set_new (body, "Templates", templates);
  json_object_set_new (body, "Env", env);
  json_object_set_new (body, "Mounts", mounts);
  json_t *limits = json_object ();
  json_object_set_new (body, "Limits", limits);
  json_t *ports = json_array ();
  json_object_set_new (body, "Ports", ports);
  int ret = 0, opt;
  optind = 1;
  opterr = 0;
  while (ret == 0 && (opt = getopt_long (argc, argv, "+dn:t:c:e:w:v:hm:p:Piu:", opts, NULL)) != -1)
    switch (opt)
      {
      case 'd':
        detach = true;
        break;
      case 'R':
        auto_remove = true;
        break;
      case 'n':
        json_object_set_new (body, "Name", json_string (optarg));
        break;
      case 't':
        json_array_append_new (templates, json_string (optarg));
        break;
      case 'c':
        command = optarg;
        break;
      case 'e':
        if (strchr (optarg, '=') == NULL)
          {
            /* -e KEY passes the client's value through, as docker run does. */
            const char *v = getenv (optarg);
            if (v == NULL)
              break;
            char *kv = NULL;
            if (asprintf (&kv, "%s=%s", optarg, v) > 0)
              json_array_append_new (env, json_string (kv));
            free (kv);
          }
        else
          json_array_append_new (env, json_string (optarg));
        break;
      case 1001:
        if (cli_env_file (optarg, env) < 0)
          ret = 125;
        break;
      case 'w':
        json_object_set_new (body, "WorkingDir", json_string (optarg));
        break;
      case 'p':
        json_array_append_new (ports, json_string (optarg));
        break;
      case 'r':
        json_object_set_new (body, "RestartPolicy", json_pack ("{s:s}", "Name", optarg));
        break;
      case 'W':
        json_object_set_new (body, "NetworkMode", json_string (optarg));
        break;
      case 'P':
        json_object_set_new (body, "PublishAllPorts", json_true ());
        break;
      case 'H':
        json_object_set_new (body, "Hostname", json_string (optarg));
        break;
      case 'Z':
        append_string (body, "Dns", optarg);
        break;
      case 'Q':
        append_string (body, "DnsSearch", optarg);
        break;
      case 'a':
        append_string (body, "ExtraHosts", optarg);
        break;
      case 'b':
        append_string (body, "NetworkAliases", optarg);
        break;
      case 'i':
        interactive = true;
        break;
      case 'k':
        detach_keys = optarg;
        break;
      case 'y':
        if (cli_sig_proxy_option ("run", optarg, &proxy) < 0)
          ret = 125;
        break;
      case 'T':
        tty = true;
        break;
      case 'X':
        json_object_set_new (body, "Privileged", json_true ());
        break;
      case 'Y':
        ret = security_opt (body, optarg);
        break;
      case 'A':
      case 'D':
        append_string (body, opt == 'A' ? "CapAdd" : "CapDrop", optarg);
        break;
      case 'O':
        json_object_set_new (body, "ReadonlyRootfs", json_true ());
        break;
      case 'u':
        json_object_set_new (body, "User", json_string (optarg));
        break;
      case 'N':
        json_object_set_new (body, "UsernsMode", json_string (optarg));
        break;
      case 'I':
      case 'g':
      case 'G':
      case 'l':
      case 1002:
        ret = process_option (body, opt, optarg);
        break;
      case 'J':
        {
          char abs[PATH_MAX];
          json_object_set_new (body, "Project",
                               json_string (realpath (optarg, abs) ? abs : optarg));
          break;
        }
      case 'v':
      case 'K':
      case 'F':
        {
          char *why = NULL;
          json_t *m = opt == 'v'   ? cli_mount_volume (optarg, &why)
                      : opt == 'K' ? cli_mount_option (optarg, &why)
                                   : cli_mount_tmpfs (optarg, &why);
          if (m == NULL)
            ret = usage_error (why ? why : "out of memory", NULL);
          else
            json_array_append_new (mounts, m);
          free (why);
          break;
        }
      case 'm':
      case 'M':
      case 'S':
      case 'C':
      case 's':
      case 'U':
      case 'E':
      case 'B':
        if (!limit_option (limits, opt, optarg))
          ret = usage_error ("bad resource limit", argv[optind - 1]);
        break;
      case 'L':
        {
          json_int_t size = 0;
          if (!parse_size (optarg, false, &size))
            ret = usage_error ("bad --log-max-size", optarg);
          else
            json_object_set_new (body, "LogMaxSize", json_integer (size));
          break;
        }
      case CLI_OPT_HEALTH_INTERVAL ... CLI_OPT_NO_HEALTHCHECK:
        ret = cli_health_option (start ? "run" : "generate", body, opt, optarg);
        break;
      case 'h':
        usage_error ("help", NULL);
        json_decref (body);
        return 0;
      default:
        ret = usage_error ("unknown or incomplete option", argv[optind - 1]);
      }
  /* -t IMAGE-REF: the template made from the image, pulled when missing. */
  for (size_t k = 0; ret == 0 && k < json_array_size (templates); k++)
    {
      const char *t = json_string_value (json_array_get (templates, k));
      char *name = NULL;
      if (!cli_is_image_ref (t))
        continue;
      if (cli_pull_image (c, t, &name) != 0)
        ret = 125;
      else
        json_array_set_new (templates, k, json_string (name));
      free (name);
    }
  /* No -t: the project file of the project directory (--project, else the
   * current directory), which is then bound at /app. */
  if (ret == 0 && json_array_size (templates) == 0)
    {
      const char *dir = json_string_value (json_object_get (body, "Project"));
      char cwd[PATH_MAX];
      if (dir == NULL && getcwd (cwd, sizeof cwd))
        dir = cwd;
      char *text = NULL;
      int r = dir ? read_project_file (dir, &text) : -1;
      if (r == 0)
        {
          json_object_set_new (body, "ProjectFile", json_string (text));
          if (json_object_get (body, "Project") == NULL)
            json_object_set_new (body, "Project", json_string (dir));
        }
      else if (r == -1)
        ret = usage_error ("no template given (-t NAME@VERSION) and no reg.yaml here", dir);
      else
        ret = 125;
      free (text);
    }
  if (ret == 0)
    ret = cli_health_finish (start ? "run" : "generate", body);
  struct reg_detach keys;
  if (ret == 0 && cli_detach_keys ("run", detach_keys, &keys) < 0)
    ret = 125;
  json_t *cmd = json_array ();
  json_object_set_new (body, "Cmd", cmd);
  if (ret == 0 && command && optind < argc)
    ret = usage_error ("give the command either with -c or after --, not both", NULL);
  if (ret == 0 && command && (split_command (command, cmd) < 0 || json_array_size (cmd) == 0))
    ret = usage_error ("cannot split the -c command (unbalanced quote or empty)", command);
  for (int i = optind; ret == 0 && i < argc; i++)
    json_array_append_new (cmd, json_string (argv[i]));
  if (ret == 0 && json_string_length (json_object_get (body, "Name")) == 0)
    json_object_del (body, "Name");
  if (ret != 0)
    {
      json_decref (body);
      return ret;
    }
  /* The monitor removes an --rm container once it has exited, before it
   * closes the attach stream: when an attached `reg run --rm` returns, the
   * container is gone, and it goes even if this client dies. */
  json_object_set_new (body, "AutoRemove", json_boolean (auto_remove));
  json_object_set_new (body, "OpenStdin", json_boolean (interactive));
  json_object_set_new (body, "Tty", json_boolean (tty));
  struct winsize ws;
  if (tty && ioctl (0, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
    json_object_set_new (body, "ConsoleSize", json_pack ("[i, i]", ws.ws_row, ws.ws_col));

  json_t *reply = NULL;
  reg_timing_mark (NULL, "client.create");
  long status = client_call (c, "POST", "/v1/containers", body, &reply);
  json_decref (body);
  if (status != 201)
    {
      client_fail (NULL, status, reply);
      json_decref (reply);
      return 125;
    }
  char id[65];
  snprintf (id, sizeof id, "%s", json_string_value (json_object_get (reply, "Id")));
  json_decref (reply);
  reg_timing_mark (id, "client.created");
  if (!start)
    {
      printf ("%s\n", id);
      return 0;
    }

  char path[256];
  if (!detach && proxy)
    cli_sigproxy_start (c, id);
  if (!detach && (interactive || tty))
    {
      char input[256], size[256];
      snprintf (path, sizeof path, "/v1/containers/%s/start?attach=1", id);
      snprintf (input, sizeof input, "/v1/containers/%s/stdin", id);
      snprintf (size, sizeof size, "/v1/containers/%s/resize", id);
      /* Ctrl-P Ctrl-Q (--detach-keys) leaves it running, in a terminal. */
      int rc = cli_attach (c, path, interactive ? input : NULL, size, tty,
                           tty && interactive ? &keys : NULL);
      if (rc >= 125 && auto_remove)
        remove_quietly (c, id);
      return rc;
    }
  snprintf (path, sizeof path, "/v1/containers/%s/start%s", id, detach ? "" : "?attach=1");
  int exit_code = -1;
  reply = NULL;
  status = detach ? client_call (c, "POST", path, NULL, &reply)
                  : client_stream (c, "POST", path, NULL, &exit_code, &reply);
  reg_timing_mark (id, "client.stream.ended");
  if (status < 200 || status > 299)
    {
      json_t *code = json_object_get (reply, "ExitCode");
      int rc = json_is_integer (code) && json_integer_value (code) >= 125
                   ? (int)json_integer_value (code)
                   : 125;
      client_fail (NULL, status, reply);
      json_decref (reply);
      if (auto_remove)
        remove_quietly (c, id);
      return rc;
    }
  json_decref (reply);
  if (detach)
    {
      printf ("%s\n", id);
      return 0;
    }
  if (exit_code < 0)
    {
      fprintf (stderr,
               "reg: lost the connection to container %.12s before it exited; it may "
               "still be running (see `reg ps`)\n",
               id);
      return 125;
    }
  return exit_code;
}

/* reg update [limit options] ID|NAME...: change the limits of containers;
 * a running one gets them at once. */
int
cmd_update (struct reg_client *c, int argc, char **argv)
{
  static const struct option opts[] = {
    LIMIT_OPTIONS,
    { NULL, 0, NULL, 0 },
  };
  json_t *body = json_object ();
  int opt, ret = 0;
  optind = 1;
  opterr = 0;
  while (ret == 0 && (opt = getopt_long (argc, argv, "m:", opts, NULL)) != -1)
    if (opt == '?' || !limit_option (body, opt, optarg))
      {
        fprintf (stderr, "reg update: bad option or value: %s\n", argv[optind - 1]);
        ret = 2;
      }
  if (ret == 0 && (optind == argc || json_object_size (body) == 0))
    {
      fprintf (stderr, "usage: reg update [--memory SIZE] [--memory-reservation SIZE] "
                       "[--memory-swap SIZE|-1] [--cpus N] [--cpu-shares N] [--cpuset-cpus LIST] "
                       "[--pids-limit N|-1] [--blkio-weight N] ID|NAME...\n");
      ret = 2;
    }
  for (int i = optind; ret != 2 && i < argc; i++)
    {
      char *ref = client_escape (c, argv[i]);
      char path[512];
      snprintf (path, sizeof path, "/v1/containers/%s/update", ref ? ref : "");
      free (ref);
      json_t *reply = NULL;
      long status = client_call (c, "POST", path, body, &reply);
      if (status == 204)
        printf ("%s\n", argv[i]);
      else
        ret = client_fail ("update", status, reply);
      json_decref (reply);
      if (status < 0)
        break;
    }
  json_decref (body);
  return ret;
}
