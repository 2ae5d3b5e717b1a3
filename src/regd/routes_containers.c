/* /v1/containers: create, list, inspect, start (optionally attached),
 * stop, remove, logs. */
#include "proto.h"
#include "request.h"
#include "root.h"
#include "server.h"
#include "timing.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool
query_on (struct request *r, const char *key)
{
  const char *v = regd_query (r, key);
  return v && strcmp (v, "1") == 0;
}

struct settle
{
  struct reg_start_pending *pending;
  char id[65];
};

static void
settle_now (struct settle *st)
{
  struct reg_start_result res = { 0 };
  if (reg_engine_start_settle (st->pending, &res) == 0)
    regd_health_kick (st->id);
  else
    fprintf (stderr, "regd: %s\n", res.message);
  free (st);
}

static void *
settle_thread (void *arg)
{
  settle_now (arg);
  return NULL;
}

/* Settle a run's start (engine.h) once its monitor has saved the running
 * state, in a thread of its own: the reply and its stream go on
 * meanwhile, and no client that stops reading can keep the container's
 * operation lock held. In this thread when none can be made. */
static void
settle_later (struct reg_start_pending *pending, const char *id)
{
  struct settle *st = malloc (sizeof *st);
  if (st == NULL)
    {
      struct reg_start_result res = { 0 };
      reg_engine_start_settle (pending, &res);
      return;
    }
  st->pending = pending;
  snprintf (st->id, sizeof st->id, "%s", id);
  if (reg_util_thread_detached (settle_thread, st) != 0)
    settle_now (st);
}

/* POST /v1/containers?start=1[&attach=1]: reg run in one request (one
 * round trip less): created and started, and with attach its frames, the
 * first one the new id (REG_FRAME_ID); else 201 {Id}. */
static enum MHD_Result
run (struct regd *d, struct request *r)
{
  _cleanup_error_ struct reg_error *err = NULL;
  struct reg_create_request *req = NULL;
  reg_timing_mark (NULL, "regd.create");
  if (reg_request_create_parse (r->body, r->body_len, &req, &err) < 0)
    return regd_reply_error (r, err);
  bool attached = query_on (r, "attach");
  int p[2] = { -1, -1 };
  if (attached && pipe2 (p, O_CLOEXEC) < 0)
    {
      reg_request_create_free (req);
      reg_error_sys (&err, errno, "run: attach pipe");
      return regd_reply_error (r, err);
    }
  struct reg_start_result res = { 0 };
  struct reg_container *c = NULL;
  /* Attached, the stream need not wait for the running state's write:
   * a thread of its own settles the start (settle_later). */
  struct reg_start_pending *pending = NULL;
  int ret = reg_engine_container_run_pending (d->engine, &req->o, p[1], &c, &res,
                                              attached ? &pending : NULL);
  reg_request_create_free (req);
  if (p[1] >= 0)
    close (p[1]);
  if (ret < 0)
    {
      if (p[0] >= 0)
        close (p[0]);
      return regd_reply_start_result (r, &res);
    }
  reg_timing_mark (c->id, "regd.started");
  if (pending)
    settle_later (pending, c->id);
  else
    regd_health_kick (c->id);
  if (attached)
    {
      reg_container_free (c);
      return regd_reply_stream (r, MHD_HTTP_OK, p[0]);
    }
  json_t *reply = json_pack ("{s:s}", "Id", c->id);
  reg_container_free (c);
  return regd_reply_json (r, MHD_HTTP_CREATED, reply);
}

static enum MHD_Result
create (struct regd *d, struct request *r)
{
  if (query_on (r, "start"))
    return run (d, r);
  if (query_on (r, "attach"))
    return regd_reply_message (r, MHD_HTTP_BAD_REQUEST,
                               "create: attach=1 needs start=1 (run in one request)");
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
  json_t *arr = NULL;
  if (reg_engine_container_list (d->engine, show_all, size, &arr, &err) < 0)
    return regd_reply_error (r, err);
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
  bool attached = query_on (r, "attach");
  int p[2] = { -1, -1 };
  _cleanup_error_ struct reg_error *err = NULL;
  if (attached && pipe2 (p, O_CLOEXEC) < 0)
    {
      reg_error_sys (&err, errno, "container %s: attach pipe", ref);
      return regd_reply_error (r, err);
    }
  struct reg_start_result res = { 0 };
  reg_timing_mark (ref, "regd.start");
  int ret = reg_engine_container_start (d->engine, ref, p[1], &res);
  reg_timing_mark (ref, "regd.started");
  if (p[1] >= 0)
    close (p[1]);
  if (ret < 0)
    {
      if (p[0] >= 0)
        close (p[0]);
      return regd_reply_start_result (r, &res);
    }
  regd_health_kick (ref);
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
  const char *force = regd_query (r, "force"), *v = regd_query (r, "v");
  _cleanup_error_ struct reg_error *err = NULL;
  if (reg_engine_container_remove (d->engine, ref, force && strcmp (force, "1") == 0,
                                   v && strcmp (v, "1") == 0, &err)
      < 0)
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
  struct reg_process *p = NULL;
  size_t n = 0;
  if (reg_engine_container_top (d->engine, ref, &p, &n, &err) < 0)
    return regd_reply_error (r, err);
  json_t *procs = json_array ();
  for (size_t i = 0; i < n; i++)
    {
      unsigned long long secs = p[i].cpu_s;
      char time_s[32], state_s[2] = { p[i].state, 0 };
      snprintf (time_s, sizeof time_s, "%02llu:%02llu:%02llu", secs / 3600, secs / 60 % 60,
                secs % 60);
      json_array_append_new (procs, json_pack ("[i, i, s, s, s]", (int)p[i].pid, (int)p[i].ppid,
                                               state_s, time_s, p[i].command));
    }
  reg_engine_processes_free (p, n);
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

/* POST /attach: the container's output (and exit) frames from now on. */
static enum MHD_Result
attach (struct regd *d, struct request *r, const char *ref)
{
  _cleanup_error_ struct reg_error *err = NULL;
  int fd = -1;
  if (reg_engine_container_attach (d->engine, ref, &fd, &err) < 0)
    return regd_reply_error (r, err);
  return regd_reply_stream (r, MHD_HTTP_OK, fd);
}

static enum MHD_Result
resize (struct regd *d, struct request *r, const char *ref)
{
  const char *h = regd_query (r, "h"), *w = regd_query (r, "w");
  int rows = h ? atoi (h) : 0, cols = w ? atoi (w) : 0;
  _cleanup_error_ struct reg_error *err = NULL;
  if (rows <= 0 || cols <= 0 || rows > 10000 || cols > 10000)
    return regd_reply_message (r, MHD_HTTP_BAD_REQUEST, "resize %s: want h=ROWS&w=COLS", ref);
  if (reg_engine_container_resize (d->engine, ref, (unsigned short)rows, (unsigned short)cols, &err)
      < 0)
    return regd_reply_error (r, err);
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

/* POST /stdin: the body went to the container's input as it arrived
 * (stdin_open connected it to its monitor); this is the reply when it
 * ended. */
static enum MHD_Result
stdin_route (struct regd *d, struct request *r, const char *ref)
{
  if (r->sink_err)
    return regd_reply_error (r, r->sink_err);
  return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
}

/* ?keep=1: the end of this input does not close the container's (reg
 * attach, which may detach and come back). */
static void
stdin_open (struct regd *d, struct request *r, const char *ref)
{
  const char *keep = regd_query (r, "keep");
  reg_engine_container_input (d->engine, ref, keep && strcmp (keep, "1") == 0, &r->sink_fd,
                              &r->sink_err);
}

/* /v1/containers/ID[/ACTION]: one row per route. */
const struct regd_route regd_container_routes[] = {
  { "GET", NULL, inspect, NULL, NULL },
  { "DELETE", NULL, remove_container, NULL, NULL },
  { "POST", "start", start, NULL, NULL },
  { "POST", "stop", stop, NULL, NULL },
  { "POST", "kill", kill_container, NULL, NULL },
  { "POST", "install", install_route, NULL, NULL },
  { "POST", "uninstall", uninstall_route, NULL, NULL },
  { "POST", "resize", resize, NULL, NULL },
  { "POST", "attach", attach, NULL, NULL },
  { "POST", "stdin", stdin_route, stdin_open, NULL },
  { "POST", "exec", regd_exec_create, NULL, NULL },
  { "GET", "stats", stats, NULL, NULL },
  { "GET", "top", top, NULL, NULL },
  { "POST", "update", update, NULL, NULL },
  { "POST", "pause", pause_route, NULL, NULL },
  { "POST", "unpause", unpause_route, NULL, NULL },
  { "POST", "wait", wait_container, NULL, NULL },
  { "GET", "logs", regd_reply_logs, NULL, NULL },
  { "GET", "archive", regd_container_archive, NULL, NULL },
  { "POST", "archive", regd_container_archive, NULL, NULL },
  { "POST", "rename", rename_container, NULL, NULL },
  { "GET", "changes", regd_container_changes, NULL, NULL },
};
const size_t regd_container_routes_n = sizeof regd_container_routes / sizeof *regd_container_routes;

enum MHD_Result
regd_route_containers (struct regd *d, struct request *r, const char *arg, const char *action)
{
  const char *m = r->method;
  if (arg == NULL && strcmp (m, "GET") == 0)
    return list (d, r);
  if (arg == NULL && strcmp (m, "POST") == 0)
    return create (d, r);
  const struct regd_route *row
      = arg ? regd_route_find (regd_container_routes, regd_container_routes_n, m, action) : NULL;
  if (row)
    return row->handler (d, r, arg);
  return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s /v1/containers/%s%s%s", m,
                             arg ? arg : "", action ? "/" : "", action ? action : "");
}
