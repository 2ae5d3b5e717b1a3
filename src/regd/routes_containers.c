/* /v1/containers: create, list, inspect, start (optionally attached),
 * stop, remove, logs. */
#include "monitor.h"
#include "request.h"
#include "root.h"
#include "server.h"
#include "timing.h"
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

static enum MHD_Result
create (struct regd *d, struct request *r)
{
  _cleanup_error_ struct reg_error *err = NULL;
  struct reg_create_request *req = NULL;
  struct reg_container *c = NULL;
  reg_timing_mark (NULL, "regd.create");
  if (reg_request_create_parse (r->body, r->body_len, &req, &err) < 0
      || reg_engine_container_create (d->engine, &req->o, &c, &err) < 0)
    {
      reg_request_create_free (req);
      return regd_reply_error (r, err);
    }
  reg_request_create_free (req);
  json_t *reply
      = json_pack ("{s:s, s:s}", "Id", c->id, "State", reg_container_state_name (c->state));
  reg_timing_mark (c->id, "regd.created");
  reg_container_free (c);
  return regd_reply_json (r, MHD_HTTP_CREATED, reply);
}

static enum MHD_Result
list (struct regd *d, struct request *r)
{
  const char *all = regd_query (r, "all");
  bool show_all = all && (strcmp (all, "1") == 0 || strcmp (all, "true") == 0);
  const char *size_q = regd_query (r, "size");
  bool size = size_q && (strcmp (size_q, "1") == 0 || strcmp (size_q, "true") == 0);
  _cleanup_error_ struct reg_error *err = NULL;
  _cleanup_strv_ char **ids = NULL;
  if (reg_container_list (d->engine->root, &ids, &err) < 0)
    return regd_reply_error (r, err);
  json_t *arr = json_array ();
  for (size_t i = 0; ids[i]; i++)
    {
      struct reg_container *c = NULL;
      struct reg_error *get_err = NULL;
      if (reg_engine_container_get (d->engine, ids[i], &c, &get_err) < 0)
        {
          /* Removed meanwhile, or damaged: listed as dead, so rm -f can find it. */
          if (get_err->code == EBADMSG && show_all)
            json_array_append_new (arr, json_pack ("{s:s, s:{s:s, s:s}}", "Id", ids[i], "State",
                                                   "Status", "dead", "Error", get_err->msg));
          reg_error_free (get_err);
          continue;
        }
      if (show_all || reg_state_live (c->state))
        {
          json_t *j = reg_container_to_json (c);
          _cleanup_free_ char *upper
              = size ? reg_container_layer_file (d->engine->root, c, "upper") : NULL;
          if (upper) /* ps -s: what the container wrote */
            json_object_set_new (j, "SizeRw",
                                 json_integer ((json_int_t)reg_util_disk_usage (upper)));
          json_array_append_new (arr, j);
        }
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
  reg_timing_mark (ref, "regd.start");
  int ret = reg_engine_container_start (d->engine, ref, p[1], &exit_code, &err);
  reg_timing_mark (ref, "regd.started");
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
  long timeout = t ? strtol (t, &end, 10) : -1; /* -1: the container's own */
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
  int signum = sig ? reg_util_signal_number (sig) : SIGKILL;
  _cleanup_error_ struct reg_error *err = NULL;
  if (signum <= 0)
    return regd_reply_message (r, MHD_HTTP_BAD_REQUEST, "kill %s: unknown signal \"%s\"", ref, sig);
  if (reg_engine_container_kill (d->engine, ref, signum, &err) < 0)
    return regd_reply_error (r, err);
  return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
}

/* POST /rename?name=NEW */
static enum MHD_Result
rename_container (struct regd *d, struct request *r, const char *ref)
{
  const char *name = regd_query (r, "name");
  _cleanup_error_ struct reg_error *err = NULL;
  if (reg_engine_container_rename (d->engine, ref, name, &err) < 0)
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
      ret = reg_limit_from_json (body, "update", &l, &err);
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

/* A connection to the container's monitor socket (monitor.h), the first
 * line already sent; -2 when there is no such container, -1 when its
 * monitor does not answer, or it takes no input when `input` (not
 * -i/--tty). Waits a little for a starting one (run -i sends its input
 * while the start is under way). */
static int
monitor_connect (struct regd *d, const char *ref, const char *line, bool input)
{
  struct reg_container *c = NULL;
  if (reg_engine_container_get (d->engine, ref, &c, NULL) < 0)
    return -2;
  bool ok = !input || c->open_stdin || c->tty;
  _cleanup_free_ char *dir = reg_root_container (d->engine->root, c->id);
  reg_container_free (c);
  /* Through a directory fd: the full path may be longer than sun_path. */
  _cleanup_close_ int dfd = dir ? open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (!ok || dfd < 0)
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
regd_container_stdin_fd (struct regd *d, const char *ref, bool keep)
{
  return monitor_connect (d, ref, keep ? "stdin keep\n" : "stdin\n", true);
}

/* POST /attach: the container's output (and exit) frames from now on. */
static enum MHD_Result
attach (struct regd *d, struct request *r, const char *ref)
{
  _cleanup_error_ struct reg_error *err = NULL;
  struct reg_container *c = NULL;
  if (reg_engine_container_get (d->engine, ref, &c, &err) < 0)
    return regd_reply_error (r, err);
  bool live = reg_state_live (c->state);
  char id[13];
  snprintf (id, sizeof id, "%.12s", c->id);
  const char *state = reg_container_state_name (c->state);
  reg_container_free (c);
  if (!live)
    return regd_reply_message (r, MHD_HTTP_CONFLICT, "container %s: cannot attach: it is %s", id,
                               state);
  int fd = monitor_connect (d, id, "attach\n", false);
  if (fd < 0)
    return regd_reply_message (r, MHD_HTTP_CONFLICT,
                               "container %s: cannot attach: its monitor does not answer (it has "
                               "just exited, or was started by an older reg-monitor)",
                               id);
  return regd_reply_stream (r, MHD_HTTP_OK, fd);
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
  int fd = monitor_connect (d, ref, line, true);
  if (fd == -2)
    return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "container %s: not found", ref);
  if (fd < 0)
    return regd_reply_message (r, MHD_HTTP_CONFLICT, "container %s: has no terminal", ref);
  close (fd);
  return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
}

enum MHD_Result regd_reply_logs (struct regd *d, struct request *r, const char *ref);

static enum MHD_Result
install_route (struct regd *d, struct request *r, const char *ref)
{
  return install (d, r, ref, false);
}

static enum MHD_Result
uninstall_route (struct regd *d, struct request *r, const char *ref)
{
  return install (d, r, ref, true);
}

static enum MHD_Result
pause_route (struct regd *d, struct request *r, const char *ref)
{
  return pause_container (d, r, ref, true);
}

static enum MHD_Result
unpause_route (struct regd *d, struct request *r, const char *ref)
{
  return pause_container (d, r, ref, false);
}

/* The input itself went to the container's input stream as the body
 * arrived (server.c opened the sink); this is the reply when it ended. */
static enum MHD_Result
stdin_route (struct regd *d, struct request *r, const char *ref)
{
  if (r->sink_fd == -2)
    return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "container %s: not found", ref);
  if (r->sink_fd == -1)
    return regd_reply_message (r, MHD_HTTP_CONFLICT,
                               "container %s: takes no input (run it with -i), or is not running",
                               ref);
  return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
}

/* /v1/containers/ID[/ACTION]: one row per route. */
static const struct
{
  const char *method, *action; /* action NULL: /v1/containers/ID itself */
  enum MHD_Result (*handler) (struct regd *d, struct request *r, const char *ref);
} container_routes[] = {
  { "GET", NULL, inspect },
  { "DELETE", NULL, remove_container },
  { "POST", "start", start },
  { "POST", "stop", stop },
  { "POST", "kill", kill_container },
  { "POST", "install", install_route },
  { "POST", "uninstall", uninstall_route },
  { "POST", "resize", resize },
  { "POST", "attach", attach },
  { "POST", "stdin", stdin_route },
  { "POST", "exec", regd_exec_create },
  { "GET", "stats", stats },
  { "GET", "top", top },
  { "POST", "update", update },
  { "POST", "pause", pause_route },
  { "POST", "unpause", unpause_route },
  { "POST", "wait", wait_container },
  { "GET", "logs", regd_reply_logs },
  { "GET", "archive", regd_container_archive },
  { "POST", "archive", regd_container_archive },
  { "POST", "rename", rename_container },
  { "GET", "changes", regd_container_changes },
};

enum MHD_Result
regd_route_containers (struct regd *d, struct request *r, const char *arg, const char *action)
{
  const char *m = r->method;
  if (arg == NULL && strcmp (m, "GET") == 0)
    return list (d, r);
  if (arg == NULL && strcmp (m, "POST") == 0)
    return create (d, r);
  for (size_t i = 0; arg && i < sizeof container_routes / sizeof *container_routes; i++)
    if (strcmp (m, container_routes[i].method) == 0
        && (action == NULL
                ? container_routes[i].action == NULL
                : container_routes[i].action && strcmp (action, container_routes[i].action) == 0))
      return container_routes[i].handler (d, r, arg);
  return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s /v1/containers/%s%s%s", m,
                             arg ? arg : "", action ? "/" : "", action ? action : "");
}
