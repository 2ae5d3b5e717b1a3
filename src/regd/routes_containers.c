/* /v1/containers: create, list, inspect, start (optionally attached),
 * stop, remove, logs. */
#include "monitor.h"
#include "project.h"
#include "server.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void
free_mounts (struct reg_mount *m, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (m[i].source);
      free (m[i].target);
    }
  free (m);
}

static int
parse_mounts (json_t *body, struct reg_mount **out, size_t *n, struct reg_error **err)
{
  json_t *a = json_object_get (body, "Mounts");
  *out = NULL;
  *n = 0;
  if (a == NULL || json_is_null (a))
    return 0;
  if (!json_is_array (a))
    return reg_error_set (err, EINVAL, "create container: field \"Mounts\" must be an array");
  size_t count = json_array_size (a);
  struct reg_mount *m = calloc (count + 1, sizeof *m);
  if (m == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; i < count; i++)
    {
      json_t *o = json_array_get (a, i);
      const char *src = json_string_value (json_object_get (o, "Source"));
      const char *dst = json_string_value (json_object_get (o, "Destination"));
      if (!json_is_object (o) || src == NULL || dst == NULL)
        {
          free_mounts (m, i);
          return reg_error_set (err, EINVAL,
                                "create container: each mount needs string Source and Destination");
        }
      m[i].source = strdup (src);
      m[i].target = strdup (dst);
      m[i].readonly = json_is_true (json_object_get (o, "ReadOnly"));
    }
  *out = m;
  *n = count;
  return 0;
}

/* "Limits": {"Memory": bytes, ...} with Docker's HostConfig names. */
static int parse_limits_object (json_t *o, const char *what, struct reg_limits *l,
                                struct reg_error **err);

static int
parse_limits (json_t *body, struct reg_limits *l, struct reg_error **err)
{
  json_t *o = json_object_get (body, "Limits");
  if (o == NULL || json_is_null (o))
    return 0;
  if (!json_is_object (o))
    return reg_error_set (err, EINVAL, "create container: \"Limits\" must be an object");
  return parse_limits_object (o, "create container: Limits", l, err);
}

/* Only the keys present change *l. */
static int
parse_limits_object (json_t *o, const char *what, struct reg_limits *l, struct reg_error **err)
{
  static const struct
  {
    const char *key;
    size_t offset;
  } ints[] = {
    { "Memory", offsetof (struct reg_limits, memory) },
    { "MemoryReservation", offsetof (struct reg_limits, memory_reservation) },
    { "MemorySwap", offsetof (struct reg_limits, memory_swap) },
    { "NanoCpus", offsetof (struct reg_limits, nano_cpus) },
    { "CpuShares", offsetof (struct reg_limits, cpu_shares) },
    { "PidsLimit", offsetof (struct reg_limits, pids_limit) },
    { "BlkioWeight", offsetof (struct reg_limits, blkio_weight) },
  };
  static const char *const keys[]
      = { "Memory",     "MemoryReservation", "MemorySwap",  "NanoCpus", "CpuShares",
          "CpusetCpus", "PidsLimit",         "BlkioWeight", NULL };
  if (regd_json_only_keys (o, keys, what, err) < 0)
    return -1;
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
    {
      json_t *v = json_object_get (o, ints[i].key);
      if (v == NULL || json_is_null (v))
        continue;
      if (!json_is_integer (v))
        return reg_error_set (err, EINVAL, "%s: %s must be an integer", what, ints[i].key);
      *(int64_t *)((char *)l + ints[i].offset) = json_integer_value (v);
    }
  const char *cpus = NULL;
  int ret = regd_json_string (o, "CpusetCpus", what, &cpus, err);
  if (cpus)
    l->cpuset_cpus = (char *)cpus; /* borrowed from the body, copied by the engine */
  return ret;
}

static enum MHD_Result
create (struct regd *d, struct request *r)
{
  static const char *const keys[]
      = { "Name",          "Templates",  "Cmd",         "Env",       "WorkingDir",
          "Project",       "Mounts",     "AutoRemove",  "Limits",    "LogMaxSize",
          "RestartPolicy", "Ports",      "ProjectFile", "OpenStdin", "Tty",
          "ConsoleSize",   "Privileged", "SecurityOpt", NULL };
  const char *what = "create container";
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *body = regd_body_object (r, what, &err);
  if (body == NULL)
    return regd_reply_error (r, err);
  struct reg_create_options o = { 0 };
  _cleanup_strv_ char **templates = NULL, **cmd = NULL, **env = NULL;
  struct reg_mount *mounts = NULL;
  int ret = regd_json_only_keys (body, keys, what, &err);
  if (ret == 0)
    ret = regd_json_strv (body, "Templates", what, &templates, &err);
  if (ret == 0)
    ret = regd_json_strv (body, "Cmd", what, &cmd, &err);
  if (ret == 0)
    ret = regd_json_strv (body, "Env", what, &env, &err);
  if (ret == 0)
    ret = regd_json_string (body, "Name", what, &o.name, &err);
  if (ret == 0)
    ret = regd_json_string (body, "WorkingDir", what, &o.workdir, &err);
  if (ret == 0)
    ret = regd_json_string (body, "Project", what, &o.project, &err);
  if (ret == 0)
    ret = parse_mounts (body, &mounts, &o.n_mounts, &err);
  /* reg.yaml: its values first, the request's own fields override them. */
  struct reg_project *proj = NULL;
  json_t *pf = json_object_get (body, "ProjectFile");
  _cleanup_strv_ char **merged_env = NULL;
  if (ret == 0 && pf && !json_is_null (pf))
    {
      _cleanup_free_ char *origin = NULL;
      if (!json_is_string (pf) || o.project == NULL)
        ret = reg_error_set (&err, EINVAL, "%s: ProjectFile must be a string, with Project", what);
      else if (asprintf (&origin, "%s/reg.yaml", o.project) < 0)
        ret = reg_error_set (&err, ENOMEM, "out of memory");
      else
        ret = reg_project_parse (json_string_value (pf), json_string_length (pf), origin, &proj,
                                 &err);
      if (ret == 0)
        {
          o.limits = proj->limits;
          o.restart = proj->restart;
          if (o.workdir == NULL)
            o.workdir = proj->workdir;
          if (reg_strv_len (templates) == 0)
            {
              reg_strv_free (templates);
              templates = reg_strv_dup (proj->templates);
            }
          if (reg_strv_len (cmd) == 0 && proj->command)
            {
              reg_strv_free (cmd);
              cmd = reg_strv_dup (proj->command);
            }
          size_t ne = reg_strv_len (proj->env), nu = reg_strv_len (env);
          merged_env = calloc (ne + nu + 1, sizeof (char *));
          for (size_t i = 0; merged_env && i < ne + nu; i++)
            merged_env[i] = strdup (i < ne ? proj->env[i] : env[i - ne]);
          reg_strv_free (env);
          env = reg_steal (&merged_env);
        }
    }
  if (ret == 0)
    ret = parse_limits (body, &o.limits, &err);
  _cleanup_strv_ char **ports = NULL;
  if (ret == 0)
    ret = regd_json_strv (body, "Ports", what, &ports, &err);
  o.ports = reg_strv_len (ports) == 0 && proj ? proj->ports : ports;
  json_t *rp = json_object_get (body, "RestartPolicy");
  if (ret == 0 && rp && !json_is_null (rp))
    {
      const char *name = json_string_value (json_object_get (rp, "Name"));
      json_t *max = json_object_get (rp, "MaximumRetryCount");
      if (!json_is_object (rp) || (max && !json_is_integer (max)))
        ret = reg_error_set (&err, EINVAL, "%s: RestartPolicy must be {Name, MaximumRetryCount}",
                             what);
      else
        ret = reg_restart_parse (name, &o.restart, &err);
      if (ret == 0 && max)
        {
          if (o.restart.mode != REG_RESTART_ON_FAILURE && json_integer_value (max) != 0)
            ret = reg_error_set (
                &err, EINVAL, "%s: MaximumRetryCount only goes with the on-failure policy", what);
          else if (json_integer_value (max) < 0 || json_integer_value (max) > 1000000)
            ret = reg_error_set (&err, EINVAL, "%s: MaximumRetryCount out of range", what);
          else if (json_integer_value (max) > 0)
            o.restart.max_retries = (int)json_integer_value (max);
        }
    }
  json_t *lms = json_object_get (body, "LogMaxSize");
  if (ret == 0 && lms && !json_is_null (lms))
    {
      if (!json_is_integer (lms))
        ret = reg_error_set (&err, EINVAL, "%s: LogMaxSize must be an integer", what);
      else
        o.log_max_size = json_integer_value (lms);
    }
  for (size_t i = 0; ret == 0 && env && env[i]; i++)
    if (strchr (env[i], '=') == NULL || env[i][0] == '=')
      ret = reg_error_set (&err, EINVAL, "%s: environment entry \"%s\" is not KEY=VALUE", what,
                           env[i]);
  struct reg_container *c = NULL;
  if (ret == 0)
    {
      o.templates = templates;
      o.cmd = cmd;
      o.env = env;
      o.mounts = mounts;
      o.auto_remove = json_is_true (json_object_get (body, "AutoRemove"));
      o.open_stdin = json_is_true (json_object_get (body, "OpenStdin"));
      o.tty = json_is_true (json_object_get (body, "Tty"));
      o.privileged = json_is_true (json_object_get (body, "Privileged"));
      json_t *so = json_object_get (body, "SecurityOpt");
      for (size_t i = 0; ret == 0 && i < json_array_size (so); i++)
        {
          const char *v = json_string_value (json_array_get (so, i));
          if (v && strcmp (v, "seccomp=unconfined") == 0)
            o.seccomp_unconfined = true;
          else
            ret = reg_error_set (&err, EINVAL,
                                 "%s: security option \"%s\" is not supported (only "
                                 "seccomp=unconfined for now)",
                                 what, v ? v : "");
        }
      json_t *cs = json_object_get (body, "ConsoleSize");
      json_int_t rows = json_integer_value (json_array_get (cs, 0));
      json_int_t cols = json_integer_value (json_array_get (cs, 1));
      if (rows > 0 && rows < 10000 && cols > 0 && cols < 10000)
        {
          o.rows = (unsigned short)rows;
          o.cols = (unsigned short)cols;
        }
      if (ret == 0)
        ret = reg_engine_container_create (d->engine, &o, &c, &err);
    }
  free_mounts (mounts, o.n_mounts);
  reg_project_free (proj);
  json_decref (body);
  if (ret < 0)
    return regd_reply_error (r, err);
  json_t *reply = json_pack ("{s:s, s:s}", "Id", c->id, "State", reg_state_name (c->state));
  reg_container_free (c);
  return regd_reply_json (r, MHD_HTTP_CREATED, reply);
}

static enum MHD_Result
list (struct regd *d, struct request *r)
{
  const char *all = regd_query (r, "all");
  bool show_all = all && (strcmp (all, "1") == 0 || strcmp (all, "true") == 0);
  _cleanup_error_ struct reg_error *err = NULL;
  _cleanup_strv_ char **ids = NULL;
  if (reg_container_list (d->engine->root, &ids, &err) < 0)
    return regd_reply_error (r, err);
  json_t *arr = json_array ();
  for (size_t i = 0; ids[i]; i++)
    {
      struct reg_container *c = NULL;
      if (reg_engine_container_get (d->engine, ids[i], &c, NULL) < 0)
        continue; /* removed meanwhile */
      if (show_all || reg_state_live (c->state))
        json_array_append_new (arr, reg_container_to_json (c));
      reg_container_free (c);
    }
  return regd_reply_json (r, MHD_HTTP_OK, arr);
}

static enum MHD_Result
inspect (struct regd *d, struct request *r, const char *ref)
{
  _cleanup_error_ struct reg_error *err = NULL;
  struct reg_container *c = NULL;
  if (reg_engine_container_get (d->engine, ref, &c, &err) < 0)
    return regd_reply_error (r, err);
  json_t *j = reg_container_to_json (c);
  reg_container_free (c);
  return regd_reply_json (r, MHD_HTTP_OK, j);
}

static enum MHD_Result
start (struct regd *d, struct request *r, const char *ref)
{
  const char *attach = regd_query (r, "attach");
  bool attached = attach && strcmp (attach, "1") == 0;
  int p[2] = { -1, -1 };
  _cleanup_error_ struct reg_error *err = NULL;
  if (attached && pipe2 (p, O_CLOEXEC) < 0)
    {
      reg_error_sys (&err, errno, "container %s: attach pipe", ref);
      return regd_reply_error (r, err);
    }
  int exit_code = 0;
  int ret = reg_engine_container_start (d->engine, ref, p[1], &exit_code, &err);
  if (p[1] >= 0)
    close (p[1]);
  if (ret < 0)
    {
      if (p[0] >= 0)
        close (p[0]);
      json_t *j = json_pack ("{s:s, s:i}", "message", err->msg, "ExitCode", exit_code);
      unsigned status = err->code == ENOENT && exit_code != 127 ? MHD_HTTP_NOT_FOUND
                        : err->code == EBUSY                    ? MHD_HTTP_CONFLICT
                        : exit_code >= 125                      ? MHD_HTTP_BAD_REQUEST
                                                                : MHD_HTTP_INTERNAL_SERVER_ERROR;
      return regd_reply_json (r, status, j);
    }
  if (attached)
    return regd_reply_stream (r, MHD_HTTP_OK, p[0]);
  return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
}

static enum MHD_Result
stop (struct regd *d, struct request *r, const char *ref)
{
  const char *t = regd_query (r, "t");
  char *end = NULL;
  long timeout = t ? strtol (t, &end, 10) : 10;
  _cleanup_error_ struct reg_error *err = NULL;
  if (t && (*t == '\0' || *end != '\0' || timeout < 0 || timeout > 86400))
    return regd_reply_message (r, MHD_HTTP_BAD_REQUEST,
                               "stop %s: timeout \"%s\" is not a number of seconds (0-86400)", ref,
                               t);
  if (reg_engine_container_stop (d->engine, ref, (int)timeout, &err) < 0)
    return regd_reply_error (r, err);
  return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
}

static enum MHD_Result
remove_container (struct regd *d, struct request *r, const char *ref)
{
  const char *force = regd_query (r, "force");
  _cleanup_error_ struct reg_error *err = NULL;
  if (reg_engine_container_remove (d->engine, ref, force && strcmp (force, "1") == 0, &err) < 0)
    return regd_reply_error (r, err);
  return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
}

static enum MHD_Result
kill_container (struct regd *d, struct request *r, const char *ref)
{
  const char *sig = regd_query (r, "signal");
  int signum = sig ? reg_signal_number (sig) : SIGKILL;
  _cleanup_error_ struct reg_error *err = NULL;
  if (signum <= 0)
    return regd_reply_message (r, MHD_HTTP_BAD_REQUEST, "kill %s: unknown signal \"%s\"", ref, sig);
  if (reg_engine_container_kill (d->engine, ref, signum, &err) < 0)
    return regd_reply_error (r, err);
  return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
}

/* POST /install?template=NAME@VERSION and /uninstall?template=... */
static enum MHD_Result
install (struct regd *d, struct request *r, const char *ref, bool uninstall)
{
  const char *tmpl = regd_query (r, "template");
  _cleanup_error_ struct reg_error *err = NULL;
  if (tmpl == NULL || *tmpl == '\0')
    return regd_reply_message (r, MHD_HTTP_BAD_REQUEST,
                               "%s %s: which template? (?template=NAME@VERSION)",
                               uninstall ? "uninstall" : "install", ref);
  if (reg_engine_container_install (d->engine, ref, tmpl, uninstall, &err) < 0)
    return regd_reply_error (r, err);
  return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
}

static enum MHD_Result
stats (struct regd *d, struct request *r, const char *ref)
{
  _cleanup_error_ struct reg_error *err = NULL;
  struct reg_cgroup_stats s;
  if (reg_engine_container_stats (d->engine, ref, &s, &err) < 0)
    return regd_reply_error (r, err);
  char now[40];
  reg_util_now_rfc3339 (now);
  return regd_reply_json (
      r, MHD_HTTP_OK,
      json_pack ("{s:s, s:f, s:I, s:I, s:I, s:I, s:I, s:I}", "Read", now, "ReadTime",
                 reg_util_now (), "CpuNs", (json_int_t)s.cpu_ns, "Memory", (json_int_t)s.memory,
                 "MemoryLimit", (json_int_t)s.memory_limit, "Pids", (json_int_t)s.pids, "BlkioRead",
                 (json_int_t)s.blk_read, "BlkioWrite", (json_int_t)s.blk_write));
}

/* POST /update: Docker's update body, the Limits keys at the top level. */
static enum MHD_Result
update (struct regd *d, struct request *r, const char *ref)
{
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *body = regd_body_object (r, "update", &err);
  if (body == NULL)
    return regd_reply_error (r, err);
  struct reg_container *c = NULL;
  int ret = reg_engine_container_get (d->engine, ref, &c, &err);
  struct reg_limits l = { 0 };
  if (ret == 0)
    {
      l = c->limits;
      ret = parse_limits_object (body, "update", &l, &err);
    }
  if (ret == 0)
    ret = reg_engine_container_update (d->engine, c->id, &l, &err);
  reg_container_free (c); /* owned l.cpuset_cpus unless the body replaced it */
  json_decref (body);
  if (ret < 0)
    return regd_reply_error (r, err);
  return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
}

static enum MHD_Result
top (struct regd *d, struct request *r, const char *ref)
{
  _cleanup_error_ struct reg_error *err = NULL;
  pid_t *pids = NULL;
  size_t n = 0;
  if (reg_engine_container_pids (d->engine, ref, &pids, &n, &err) < 0)
    return regd_reply_error (r, err);
  json_t *procs = json_array ();
  long hz = sysconf (_SC_CLK_TCK);
  for (size_t i = 0; i < n; i++)
    {
      char path[64];
      _cleanup_free_ char *stat = NULL, *cmd = NULL;
      size_t cmd_len = 0;
      snprintf (path, sizeof path, "/proc/%d/stat", (int)pids[i]);
      if (reg_util_read_file (path, 65536, &stat, NULL, NULL) < 0)
        continue; /* exited meanwhile */
      snprintf (path, sizeof path, "/proc/%d/cmdline", (int)pids[i]);
      reg_util_read_file (path, 65536, &cmd, &cmd_len, NULL);
      for (size_t k = 0; cmd && k + 1 < cmd_len; k++)
        if (cmd[k] == '\0')
          cmd[k] = ' ';
      /* Fields after the ")" that ends the command name. */
      const char *rp = strrchr (stat, ')');
      char st = '?';
      int ppid = 0;
      unsigned long long ut = 0, stt = 0;
      if (rp)
        sscanf (rp + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &st, &ppid, &ut,
                &stt);
      unsigned long long secs = hz > 0 ? (ut + stt) / (unsigned long long)hz : 0;
      char time_s[32], state_s[2] = { st, 0 };
      snprintf (time_s, sizeof time_s, "%02llu:%02llu:%02llu", secs / 3600, secs / 60 % 60,
                secs % 60);
      json_array_append_new (procs, json_pack ("[i, i, s, s, s]", (int)pids[i], ppid, state_s,
                                               time_s, cmd && *cmd ? cmd : ""));
    }
  free (pids);
  return regd_reply_json (r, MHD_HTTP_OK,
                          json_pack ("{s:[s, s, s, s, s], s:o}", "Titles", "PID", "PPID", "STATE",
                                     "TIME", "COMMAND", "Processes", procs));
}

static enum MHD_Result
pause_container (struct regd *d, struct request *r, const char *ref, bool pause)
{
  _cleanup_error_ struct reg_error *err = NULL;
  if (reg_engine_container_pause (d->engine, ref, pause, &err) < 0)
    return regd_reply_error (r, err);
  return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
}

static enum MHD_Result
wait_container (struct regd *d, struct request *r, const char *ref)
{
  _cleanup_error_ struct reg_error *err = NULL;
  int code = 0;
  if (reg_engine_container_wait (d->engine, ref, &code, &err) < 0)
    return regd_reply_error (r, err);
  return regd_reply_json (r, MHD_HTTP_OK, json_pack ("{s:i}", "StatusCode", code));
}

/* A connection to the container's monitor input socket, the command line
 * already sent; -2 when there is no such container, -1 when it takes no
 * input (not -i/--tty, or not running). Waits a little for a starting one. */
static int
monitor_input (struct regd *d, const char *ref, const char *line)
{
  struct reg_container *c = NULL;
  if (reg_engine_container_get (d->engine, ref, &c, NULL) < 0)
    return -2;
  bool takes = c->open_stdin || c->tty;
  _cleanup_free_ char *dir = reg_container_dir (d->engine->root, c->id);
  reg_container_free (c);
  /* Through a directory fd: the full path may be longer than sun_path. */
  _cleanup_close_ int dfd = dir ? open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (!takes || dfd < 0)
    return -1;
  snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/attach.sock", dfd);
  for (int i = 0; i < 500; i++)
    {
      int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd >= 0 && connect (fd, (struct sockaddr *)&addr, sizeof addr) == 0)
        {
          size_t n = strlen (line);
          if (write (fd, line, n) == (ssize_t)n)
            return fd;
        }
      if (fd >= 0)
        close (fd);
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  return -1;
}

int
regd_container_stdin_fd (struct regd *d, const char *ref)
{
  return monitor_input (d, ref, "stdin\n");
}

static enum MHD_Result
resize (struct regd *d, struct request *r, const char *ref)
{
  const char *h = regd_query (r, "h"), *w = regd_query (r, "w");
  int rows = h ? atoi (h) : 0, cols = w ? atoi (w) : 0;
  if (rows <= 0 || cols <= 0 || rows > 10000 || cols > 10000)
    return regd_reply_message (r, MHD_HTTP_BAD_REQUEST, "resize %s: want h=ROWS&w=COLS", ref);
  char line[64];
  snprintf (line, sizeof line, "resize %d %d\n", rows, cols);
  int fd = monitor_input (d, ref, line);
  if (fd == -2)
    return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "container %s: not found", ref);
  if (fd < 0)
    return regd_reply_message (r, MHD_HTTP_CONFLICT, "container %s: has no terminal", ref);
  close (fd);
  return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
}

enum MHD_Result regd_reply_logs (struct regd *d, struct request *r, const char *ref);

enum MHD_Result
regd_route_containers (struct regd *d, struct request *r, const char *arg, const char *action)
{
  const char *m = r->method;
  if (arg == NULL && strcmp (m, "GET") == 0)
    return list (d, r);
  if (arg == NULL && strcmp (m, "POST") == 0)
    return create (d, r);
  if (arg != NULL && action == NULL && strcmp (m, "GET") == 0)
    return inspect (d, r, arg);
  if (arg != NULL && action == NULL && strcmp (m, "DELETE") == 0)
    return remove_container (d, r, arg);
  if (arg != NULL && action != NULL && strcmp (m, "POST") == 0 && strcmp (action, "start") == 0)
    return start (d, r, arg);
  if (arg != NULL && action != NULL && strcmp (m, "POST") == 0 && strcmp (action, "stop") == 0)
    return stop (d, r, arg);
  if (arg != NULL && action != NULL && strcmp (m, "POST") == 0 && strcmp (action, "kill") == 0)
    return kill_container (d, r, arg);
  if (arg != NULL && action != NULL && strcmp (m, "POST") == 0 && strcmp (action, "install") == 0)
    return install (d, r, arg, false);
  if (arg != NULL && action != NULL && strcmp (m, "POST") == 0 && strcmp (action, "uninstall") == 0)
    return install (d, r, arg, true);
  if (arg != NULL && action != NULL && strcmp (m, "POST") == 0 && strcmp (action, "resize") == 0)
    return resize (d, r, arg);
  if (arg != NULL && action != NULL && strcmp (m, "POST") == 0 && strcmp (action, "stdin") == 0)
    {
      if (r->sink_fd == -2)
        return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "container %s: not found", arg);
      if (r->sink_fd == -1)
        return regd_reply_message (
            r, MHD_HTTP_CONFLICT,
            "container %s: takes no input (run it with -i), or is not running", arg);
      return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
    }
  if (arg != NULL && action != NULL && strcmp (m, "POST") == 0 && strcmp (action, "exec") == 0)
    return regd_exec_create (d, r, arg);
  if (arg != NULL && action != NULL && strcmp (m, "GET") == 0 && strcmp (action, "stats") == 0)
    return stats (d, r, arg);
  if (arg != NULL && action != NULL && strcmp (m, "GET") == 0 && strcmp (action, "top") == 0)
    return top (d, r, arg);
  if (arg != NULL && action != NULL && strcmp (m, "POST") == 0 && strcmp (action, "update") == 0)
    return update (d, r, arg);
  if (arg != NULL && action != NULL && strcmp (m, "POST") == 0 && strcmp (action, "pause") == 0)
    return pause_container (d, r, arg, true);
  if (arg != NULL && action != NULL && strcmp (m, "POST") == 0 && strcmp (action, "unpause") == 0)
    return pause_container (d, r, arg, false);
  if (arg != NULL && action != NULL && strcmp (m, "POST") == 0 && strcmp (action, "wait") == 0)
    return wait_container (d, r, arg);
  if (arg != NULL && action != NULL && strcmp (m, "GET") == 0 && strcmp (action, "logs") == 0)
    return regd_reply_logs (d, r, arg);
  return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s /v1/containers/%s%s%s", m,
                             arg ? arg : "", action ? "/" : "", action ? action : "");
}
