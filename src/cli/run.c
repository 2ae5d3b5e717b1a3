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
#include "options.h"
#include "timing.h"
#include "detach.h"
#include "limit.h"
#include "ulimit.h"
#include "util.h"

#include <errno.h>
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

/* The resource-limit options of run, generate and update (limit_option). */
#define LIMIT_OPTIONS                                                                              \
  { "memory", 'm', "SIZE", "memory limit (512m, 1g)" },                                            \
      { "memory-reservation", 'M' + 256, "SIZE", "soft memory limit" },                            \
      { "memory-swap", 'S' + 256, "SIZE|-1", "memory plus swap; -1: unlimited swap" },             \
      { "cpus", 'C' + 256, "N", "CPUs (1.5)" },                                                    \
      { "cpu-shares", 's' + 256, "N", "relative CPU weight" },                                     \
      { "cpuset-cpus", 'U' + 256, "LIST", "the CPUs it may use (0-2,4)" },                         \
      { "pids-limit", 'E' + 256, "N|-1", "most processes at once (default 512; -1: unlimited)" },  \
  {                                                                                                \
    "blkio-weight", 'B' + 256, "N", "relative block I/O weight (10-1000)"                          \
  }

static const struct cli_option run_options[] = {
  { "template", 't', "NAME@VERSION", "a template of the container (repeatable; none: ./reg.yaml)" },
  { "detach", 'd', NULL, "run in the background; print the id" },
  { "rm", 'R' + 256, NULL, "remove the container when it exits" },
  { "name", 'n', "NAME", "the container's name" },
  { "command", 'c', "\"CMD ARGS\"", "the command as one string (else after --)" },
  { "env", 'e', "KEY[=VALUE]", "a variable (KEY alone: reg's own value; repeatable)" },
  { "env-file", 1001, "FILE", "variables from FILE, Docker's format (docs/cli.md)" },
  { "workdir", 'w', "DIR", "the working directory" },
  { "project", 'J' + 256, "DIR", "a project directory, bound at /app (its reg.yaml: defaults)" },
  { "volume", 'v', "SRC:DST[:ro]", "a host path or a named volume (repeatable; docs/storage.md)" },
  { "mount", 'K' + 256, "type=...,source=...,target=...",
    "bind, volume or tmpfs, Docker's keys (repeatable)" },
  { "tmpfs", 'F' + 256, "PATH[:OPTS]", "a tmpfs (size=, mode=, ro, exec; repeatable)" },
  { "interactive", 'i', NULL, "pass reg's input to the container" },
  { "tty", 'T' + 256, NULL, "a terminal (-t is --template)" },
  { "detach-keys", 'k' + 256, "KEYS", "the keys that detach (default ctrl-p,ctrl-q)" },
  { "sig-proxy", 'y' + 256, "=BOOL",
    "pass the signals reg gets to the container (default true; false: a signal ends only reg)" },
  { "publish", 'p', "[IP:]HOST:CTR[/udp]", "publish a port (repeatable)" },
  { "publish-all", 'P', NULL,
    "publish the ports reg.yaml and the templates expose, each on a free host port" },
  { "network", 'W' + 256, "MODE", "bridge (default), host, none, NAME or container:REF" },
  { "net", 'W' + 256, "MODE", "as --network" },
  { "network-alias", 'b' + 256, "NAME", "another name on its user network (repeatable)" },
  { "hostname", 'h', "NAME", "the container's host name" },
  { "dns", 'Z' + 256, "IP", "a resolver for /etc/resolv.conf (repeatable)" },
  { "dns-search", 'Q' + 256, "DOMAIN", "a search domain (repeatable)" },
  { "add-host", 'a' + 256, "NAME:IP", "a line of /etc/hosts (repeatable)" },
  { "restart", 'r' + 256, "POLICY", "no, on-failure[:N], always, unless-stopped" },
  { "privileged", 'X' + 256, NULL, "every capability, no seccomp filter, /sys writable" },
  { "security-opt", 'Y' + 256, "OPT",
    "seccomp=unconfined|PROFILE.json, no-new-privileges (repeatable)" },
  { "cap-add", 'A' + 256, "CAP", "add a capability (repeatable)" },
  { "cap-drop", 'D' + 256, "CAP", "drop a capability, or ALL (repeatable)" },
  { "read-only", 'O' + 256, NULL, "a read-only root (mounts keep their own flags)" },
  { "user", 'u', "USER[:GROUP]", "run as this user (a name from its templates, or UID[:GID])" },
  { "group-add", 'g' + 512, "GROUP", "an extra supplementary group (name or GID; repeatable)" },
  { "userns", 'N' + 256, "private|host", "a private user namespace" },
  { "init", 'I' + 256, NULL, "a minimal init as PID 1 (reaps, passes signals)" },
  { "stop-signal", 'g' + 256, "SIGNAL", "the signal reg stop sends" },
  { "stop-timeout", 'G' + 256, "SECONDS", "how long reg stop waits before SIGKILL" },
  { "ulimit", 'l' + 256, "NAME=SOFT[:HARD]", "a resource limit of its processes (repeatable)" },
  { "storage-opt", 1002, "size=SIZE", "its writable layer on a tmpfs of that size" },
  { "log-max-size", 'L' + 256, "SIZE", "rotate its log at this size (default 10m)" },
  CLI_HEALTH_OPTIONS,
  LIMIT_OPTIONS,
  { NULL, 0, NULL, NULL },
};

#define RUN_MORE                                                                                   \
  "The command comes after --, or as -c \"CMD ARGS\"; without one, the templates' entrypoint.\n"   \
  "Exit status: the command's; 125 when reg or regd failed, 126 when the command cannot be\n"      \
  "executed, 127 when it is not found (as docker run)."

static const struct cli_spec run_spec = { .name = "run",
                                          .args = "[-t NAME@VERSION]... [-- CMD [ARGS...]]",
                                          .summary = "Run a container from templates.",
                                          .options = run_options,
                                          .stop_at_args = true,
                                          .more = RUN_MORE };
static const struct cli_spec generate_spec
    = { .name = "generate",
        .args = "[-t NAME@VERSION]... [-- CMD [ARGS...]]",
        .summary = "Create a container without starting it (its environment generated); print "
                   "its id.",
        .options = run_options,
        .stop_at_args = true,
        .more = "Takes run's options; reg start runs it later." };
static const struct cli_option update_options[] = { LIMIT_OPTIONS, { NULL, 0, NULL, NULL } };
static const struct cli_spec update_spec = CLI_SPEC (
    "update", "CONTAINER...",
    "Change the resource limits of containers; a running one gets them at once.", update_options);
const struct cli_spec *const cli_specs_run[] = { &run_spec, &generate_spec, &update_spec, NULL };

static const struct cli_spec *run_or_generate_spec;

static int
usage_error (const char *msg, const char *arg)
{
  cli_usage_error (run_or_generate_spec, "%s%s%s", msg, arg ? ": " : "", arg ? arg : "");
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

/* One resource-limit option into body.Limits; false on a bad value. The
 * option's name is the limit's in the limits table (limit.h), which
 * parses it as reg.yaml's and regd's readers do. */
static bool
limit_option (json_t *limits, int opt, const char *arg)
{
  const struct reg_limit_def *d = NULL;
  for (const struct cli_option *o = update_options; d == NULL && o->name; o++)
    if (o->key == opt)
      d = reg_limit_by_name (o->name);
  struct reg_limits l = { 0 };
  bool ok = d && reg_limit_parse (d, arg, &l, NULL) == 0 && reg_limit_to_json (d, &l, limits) == 0;
  free (l.cpuset_cpus);
  return ok;
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
    case 'I' + 256:
      json_object_set_new (body, "Init", json_true ());
      return 0;
    case 'g' + 256:
      if (reg_util_signal_number (arg) <= 0)
        return usage_error ("unknown signal for --stop-signal (SIGTERM, SIGQUIT, 15, ...)", arg);
      json_object_set_new (body, "StopSignal", json_string (arg));
      return 0;
    case 'G' + 256:
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

/* `reg run` and `reg generate` in two steps: the options become the
 * create body (Docker's field names) and a plan of how to run it
 * (run_request), then the container is created, and with run started and
 * attached (run_create_start). */
struct run_plan
{
  bool start; /* run; generate only creates */
  bool detach, auto_remove, interactive, tty, proxy;
  const char *detach_keys;
  struct reg_detach keys;
};

/* The parts of the body the options add to, and the -c command. */
struct run_body
{
  json_t *body, *templates, *env, *mounts, *limits, *ports;
  const char *command;
};

static void
env_option (json_t *env, const char *arg)
{
  if (strchr (arg, '=') != NULL)
    {
      json_array_append_new (env, json_string (arg));
      return;
    }
  /* -e KEY passes the client's value through, as docker run does. */
  const char *v = getenv (arg);
  char *kv = NULL;
  if (v && asprintf (&kv, "%s=%s", arg, v) > 0)
    json_array_append_new (env, json_string (kv));
  free (kv);
}

static int
mount_option (json_t *mounts, int opt, const char *arg)
{
  char *why = NULL;
  json_t *m = opt == 'v'         ? cli_mount_volume (arg, &why)
              : opt == 'K' + 256 ? cli_mount_option (arg, &why)
                                 : cli_mount_tmpfs (arg, &why);
  int ret = m == NULL ? usage_error (why ? why : "out of memory", NULL) : 0;
  if (m)
    json_array_append_new (mounts, m);
  free (why);
  return ret;
}

/* An option that sets a body field to its argument, or to true. */
static bool
field_option (json_t *body, int opt, const char *arg)
{
  static const struct
  {
    int opt;
    const char *field;
    bool flag; /* true, not the argument */
  } fields[] = {
    { 'n', "Name", false },
    { 'w', "WorkingDir", false },
    { 'W' + 256, "NetworkMode", false },
    { 'P', "PublishAllPorts", true },
    { 'h', "Hostname", false },
    { 'X' + 256, "Privileged", true },
    { 'O' + 256, "ReadonlyRootfs", true },
    { 'u', "User", false },
    { 'N' + 256, "UsernsMode", false },
  };
  static const struct
  {
    int opt;
    const char *field;
  } lists[] = {
    { 'Z' + 256, "Dns" },        { 'Q' + 256, "DnsSearch" },
    { 'a' + 256, "ExtraHosts" }, { 'b' + 256, "NetworkAliases" },
    { 'A' + 256, "CapAdd" },     { 'D' + 256, "CapDrop" },
    { 'g' + 512, "GroupAdd" },
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    if (fields[i].opt == opt)
      {
        json_object_set_new (body, fields[i].field,
                             fields[i].flag ? json_true () : json_string (arg));
        return true;
      }
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
    if (lists[i].opt == opt)
      {
        append_string (body, lists[i].field, arg);
        return true;
      }
  return false;
}

/* One option into the body or the plan: 0, or the exit status. */
static int
run_option (struct run_body *b, struct run_plan *p, int opt, const char *arg)
{
  if (field_option (b->body, opt, arg))
    return 0;
  switch (opt)
    {
    case 'd':
      p->detach = true;
      return 0;
    case 'R' + 256:
      p->auto_remove = true;
      return 0;
    case 'i':
      p->interactive = true;
      return 0;
    case 'T' + 256:
      p->tty = true;
      return 0;
    case 'k' + 256:
      p->detach_keys = arg;
      return 0;
    case 'y' + 256:
      return cli_sig_proxy_option ("run", arg, &p->proxy) < 0 ? 125 : 0;
    case 't':
      json_array_append_new (b->templates, json_string (arg));
      return 0;
    case 'c':
      b->command = arg;
      return 0;
    case 'e':
      env_option (b->env, arg);
      return 0;
    case 1001:
      return cli_env_file (arg, b->env) < 0 ? 125 : 0;
    case 'p':
      json_array_append_new (b->ports, json_string (arg));
      return 0;
    case 'r' + 256:
      json_object_set_new (b->body, "RestartPolicy", json_pack ("{s:s}", "Name", arg));
      return 0;
    case 'Y' + 256:
      return security_opt (b->body, arg);
    case 'I' + 256:
    case 'g' + 256:
    case 'G' + 256:
    case 'l' + 256:
    case 1002:
      return process_option (b->body, opt, arg);
    case 'J' + 256:
      {
        char abs[PATH_MAX];
        json_object_set_new (b->body, "Project", json_string (realpath (arg, abs) ? abs : arg));
        return 0;
      }
    case 'v':
    case 'K' + 256:
    case 'F' + 256:
      return mount_option (b->mounts, opt, arg);
    case 'm':
    case 'M' + 256:
    case 'S' + 256:
    case 'C' + 256:
    case 's' + 256:
    case 'U' + 256:
    case 'E' + 256:
    case 'B' + 256:
      return limit_option (b->limits, opt, arg) ? 0 : usage_error ("bad resource limit", arg);
    case 'L' + 256:
      {
        int64_t size = 0;
        if (!reg_util_parse_size (arg, &size))
          return usage_error ("bad --log-max-size", arg);
        json_object_set_new (b->body, "LogMaxSize", json_integer (size));
        return 0;
      }
    case CLI_OPT_HEALTH_INTERVAL ... CLI_OPT_NO_HEALTHCHECK:
      return cli_health_option (p->start ? "run" : "generate", b->body, opt, arg);
    default:
      return 125; /* said by cli_next */
    }
}

/* -t IMAGE-REF: the template made from the image, pulled when missing. */
static int
resolve_images (struct reg_client *c, json_t *templates)
{
  for (size_t k = 0; k < json_array_size (templates); k++)
    {
      const char *t = json_string_value (json_array_get (templates, k));
      char *name = NULL;
      if (!cli_is_image_ref (t))
        continue;
      int failed = cli_pull_image (c, t, &name) != 0;
      if (!failed)
        json_array_set_new (templates, k, json_string (name));
      free (name);
      if (failed)
        return 125;
    }
  return 0;
}

/* No -t: the project file of the project directory (--project, else the
 * current directory), which is then bound at /app. */
static int
project_file (json_t *body)
{
  const char *dir = json_string_value (json_object_get (body, "Project"));
  char cwd[PATH_MAX];
  if (dir == NULL && getcwd (cwd, sizeof cwd))
    dir = cwd;
  char *text = NULL;
  int r = dir ? read_project_file (dir, &text) : -1, ret = 0;
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
  return ret;
}

/* The command: -c "CMD ARGS", or the arguments after the options. */
static int
command_of (json_t *body, const char *command, int argc, char **argv)
{
  json_t *cmd = json_array ();
  json_object_set_new (body, "Cmd", cmd);
  if (command && optind < argc)
    return usage_error ("give the command either with -c or after --, not both", NULL);
  if (command && (split_command (command, cmd) < 0 || json_array_size (cmd) == 0))
    return usage_error ("cannot split the -c command (unbalanced quote or empty)", command);
  for (int i = optind; i < argc; i++)
    json_array_append_new (cmd, json_string (argv[i]));
  return 0;
}

/* The plan's parts of the body. The monitor removes an --rm container once
 * it has exited, before it closes the attach stream: when an attached `reg
 * run --rm` returns, the container is gone, and it goes even if this
 * client dies. */
static void
plan_into_body (json_t *body, const struct run_plan *p)
{
  if (json_string_length (json_object_get (body, "Name")) == 0)
    json_object_del (body, "Name");
  json_object_set_new (body, "AutoRemove", json_boolean (p->auto_remove));
  json_object_set_new (body, "OpenStdin", json_boolean (p->interactive));
  json_object_set_new (body, "Tty", json_boolean (p->tty));
  struct winsize ws;
  if (p->tty && ioctl (0, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
    json_object_set_new (body, "ConsoleSize", json_pack ("[i, i]", ws.ws_row, ws.ws_col));
}

/* The options into the create body (*out) and the plan: 0, -1 after
 * --help, or the exit status of a usage error. */
static int
run_request (struct reg_client *c, int argc, char **argv, struct run_plan *p, json_t **out)
{
  struct run_body b = { .body = json_object () };
  json_object_set_new (b.body, "Templates", b.templates = json_array ());
  json_object_set_new (b.body, "Env", b.env = json_array ());
  json_object_set_new (b.body, "Mounts", b.mounts = json_array ());
  json_object_set_new (b.body, "Limits", b.limits = json_object ());
  json_object_set_new (b.body, "Ports", b.ports = json_array ());
  int ret = 0, opt;
  const char *arg;
  run_or_generate_spec = p->start ? &run_spec : &generate_spec;
  while (ret == 0 && (opt = cli_next (run_or_generate_spec, argc, argv, &arg)) != -1)
    ret = opt == CLI_HELP ? -1 : run_option (&b, p, opt, arg);
  if (ret == 0)
    ret = resolve_images (c, b.templates);
  if (ret == 0 && json_array_size (b.templates) == 0)
    ret = project_file (b.body);
  if (ret == 0)
    ret = cli_health_finish (p->start ? "run" : "generate", b.body);
  if (ret == 0 && cli_detach_keys ("run", p->detach_keys, &p->keys) < 0)
    ret = 125;
  if (ret == 0)
    ret = command_of (b.body, b.command, argc, argv);
  if (ret != 0)
    {
      json_decref (b.body);
      return ret;
    }
  plan_into_body (b.body, p);
  *out = b.body;
  return 0;
}

/* POST /v1/containers: the new id in id[65], or the exit status. */
static int
create_container (struct reg_client *c, json_t *body, char id[65])
{
  json_t *reply = NULL;
  reg_timing_mark (NULL, "client.create");
  long status = client_call (c, "POST", "/v1/containers", body, &reply);
  if (status != 201)
    {
      client_fail (NULL, status, reply);
      json_decref (reply);
      return 125;
    }
  snprintf (id, 65, "%s", json_string_value (json_object_get (reply, "Id")));
  json_decref (reply);
  reg_timing_mark (id, "client.created");
  return 0;
}

/* -i / --tty: input and terminal size go with the output stream; Ctrl-P
 * Ctrl-Q (--detach-keys) leaves it running, in a terminal. */
static int
start_interactive (struct reg_client *c, const char *id, const struct run_plan *p)
{
  char path[256], input[256], size[256];
  snprintf (path, sizeof path, "/v1/containers/%s/start?attach=1", id);
  snprintf (input, sizeof input, "/v1/containers/%s/stdin", id);
  snprintf (size, sizeof size, "/v1/containers/%s/resize", id);
  struct reg_detach keys = p->keys;
  int rc = cli_attach (c, path, p->interactive ? input : NULL, size, p->tty,
                       p->tty && p->interactive ? &keys : NULL);
  if (rc >= 125 && p->auto_remove)
    remove_quietly (c, id);
  return rc;
}

/* Start, and unless detached follow the output to the exit frame: the
 * command's exit status, or 125 (126, 127) when the start failed. */
static int
start_attached (struct reg_client *c, const char *id, const struct run_plan *p)
{
  char path[256];
  snprintf (path, sizeof path, "/v1/containers/%s/start%s", id, p->detach ? "" : "?attach=1");
  int exit_code = -1;
  json_t *reply = NULL;
  long status = p->detach ? client_call (c, "POST", path, NULL, &reply)
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
      if (p->auto_remove)
        remove_quietly (c, id);
      return rc;
    }
  json_decref (reply);
  if (p->detach)
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

/* The exit status of a run whose start (or create) failed: its start
 * result's, else 125, after saying why. */
static int
run_failed (long status, json_t *reply)
{
  json_t *code = json_object_get (reply, "ExitCode");
  int rc = json_is_integer (code) && json_integer_value (code) >= 125
               ? (int)json_integer_value (code)
               : 125;
  client_fail (NULL, status, reply);
  return rc;
}

struct run_seen
{
  struct reg_client *c;
  const struct run_plan *p;
  char id[65];
};

/* The id frame, first in the stream: signals go to this container now. */
static void
on_run_id (void *data, const char *id)
{
  struct run_seen *seen = data;
  snprintf (seen->id, sizeof seen->id, "%s", id);
  reg_timing_mark (id, "client.created");
  if (seen->p->proxy)
    cli_sigproxy_arm (seen->c, id);
}

/* run without -i or --tty in one request (create, start and, unless -d,
 * attach: POST /v1/containers?start=1[&attach=1]): one round trip to regd
 * less than create then start. regd removes a --rm container whose start
 * failed. */
static int
run_one_request (struct reg_client *c, json_t *body, const struct run_plan *p)
{
  json_t *reply = NULL;
  reg_timing_mark (NULL, "client.create");
  if (p->detach)
    {
      long status = client_call (c, "POST", "/v1/containers?start=1", body, &reply);
      int rc = status == 201 ? 0 : run_failed (status, reply);
      if (rc == 0)
        printf ("%s\n", json_string_value (json_object_get (reply, "Id")));
      json_decref (reply);
      return rc;
    }
  struct run_seen seen = { c, p, "" };
  if (p->proxy)
    cli_sigproxy_block ();
  int exit_code = -1;
  long status = client_run_stream (c, "/v1/containers?start=1&attach=1", body, &exit_code,
                                   on_run_id, &seen, &reply);
  reg_timing_mark (seen.id[0] ? seen.id : NULL, "client.stream.ended");
  int rc = status >= 200 && status <= 299 ? exit_code : run_failed (status, reply);
  json_decref (reply);
  if (rc < 0)
    {
      fprintf (stderr,
               "reg: lost the connection to container %.12s before it exited; it may "
               "still be running (see `reg ps`)\n",
               seen.id);
      return 125;
    }
  return rc;
}

/* Create the container; with run, start it and attach. */
static int
run_create_start (struct reg_client *c, json_t *body, const struct run_plan *p)
{
  if (p->start && !p->interactive && !p->tty)
    return run_one_request (c, body, p);
  char id[65];
  int ret = create_container (c, body, id);
  if (ret != 0)
    return ret;
  if (!p->start)
    {
      printf ("%s\n", id);
      return 0;
    }
  if (!p->detach && p->proxy)
    cli_sigproxy_start (c, id);
  if (!p->detach && (p->interactive || p->tty))
    return start_interactive (c, id, p);
  return start_attached (c, id, p);
}

/* run = create + start; generate = create only (Docker's `create`). */
static int
run_or_generate (struct reg_client *c, int argc, char **argv, bool start)
{
  struct run_plan plan = { .start = start, .proxy = true };
  json_t *body = NULL;
  int ret = run_request (c, argc, argv, &plan, &body);
  if (ret != 0)
    return ret < 0 ? 0 : ret; /* --help: 0 */
  ret = run_create_start (c, body, &plan);
  json_decref (body);
  return ret;
}

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

/* reg update [limit options] ID|NAME...: change the limits of containers;
 * a running one gets them at once. */
int
cmd_update (struct reg_client *c, int argc, char **argv)
{
  json_t *body = json_object ();
  int opt, ret = 0;
  const char *arg;
  while (ret == 0 && (opt = cli_next (&update_spec, argc, argv, &arg)) != -1)
    if (opt == CLI_HELP)
      ret = -1;
    else if (opt == '?')
      ret = 2;
    else if (!limit_option (body, opt, arg))
      ret = cli_usage_error (&update_spec, "bad value for a limit: %s", arg);
  int first = ret == 0 ? cli_args (&update_spec, argc, argv, 1, -1) : 0;
  if (ret == 0 && first <= 0)
    ret = first == 0 ? -1 : 2;
  if (ret == 0 && json_object_size (body) == 0)
    ret = cli_usage_error (&update_spec, "give at least one limit");
  if (ret < 0)
    {
      json_decref (body);
      return 0; /* --help */
    }
  for (int i = first; ret != 2 && i < argc; i++)
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
