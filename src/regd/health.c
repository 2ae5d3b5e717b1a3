/* health: regd runs the containers' health checks (health.h).
 *
 * A watcher thread looks at the containers every HEALTH_SCAN_MS, and at
 * once at a container whose start asks it to (regd_health_kick: a
 * deployment waiting for "healthy" does not wait for the next scan); each
 * running container with a check gets a thread of its own that sleeps its
 * interval, runs the check, and records the result through the engine
 * (reg_engine_container_health_record: the state file's read-modify-write,
 * so the monitor's writes and ours never cross, and the results survive
 * regd: a new regd finds the running containers and resumes their
 * checks). The thread ends when its container
 * is no longer live; a later start gets a new one.
 *
 * Why regd and not the monitor: a command check is a `reg exec` (the
 * runtime's exec helper, entering the container's namespaces and cgroup
 * with its confinement), which the monitor does not link and should not
 * (it stays small, one per container); an HTTP check uses libcurl, also
 * regd's. The cost: no checks while regd is down (the status stays as it
 * was; the next regd goes on).
 *
 * A command check's output (stdout and stderr) is kept up to 4 KiB. One
 * that outlives the timeout is killed (its process group, by the PID the
 * exec helper reports) and recorded as ExitCode -1, as Docker does. An
 * HTTP check is a GET from a regd thread that has entered the container's
 * network namespace (setns is per thread for CLONE_NEWNET), so it works on
 * the bridge, with --network host or none, and for a container that shares
 * another's namespace, without publishing the port. */
#include "proto.h"
#include "server.h"
#include "events.h"
#include "health.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HEALTH_SCAN_MS 1000
#define HEALTH_TICK_MS 100 /* how often a waiting thread looks at `stopping` */

struct watched
{
  char id[65];
  struct watched *next;
};

static pthread_mutex_t watched_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watched_gone = PTHREAD_COND_INITIALIZER;
static struct watched *watched;
static atomic_bool stopping; /* regd_health_stop: every thread ends */
static pthread_mutex_t kick_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kick_cond = PTHREAD_COND_INITIALIZER;
static bool kicked; /* a container started: look now */
/* What the kicks named since the watcher last looked: those containers
 * only, so a storm of starts costs one state load each, not a scan of
 * every container each (which was O(n) per start: docs/benchmarks.md,
 * the storm); kick_all when a kick named none or there were too many. */
#define KICKS_MAX 64
static char kicks[KICKS_MAX][65];
static size_t n_kicks;
static bool kick_all;
static pthread_t watcher;
static bool watcher_running;

static int64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
sleep_ms (int ms)
{
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
  nanosleep (&ts, NULL);
}

struct output
{
  char buf[REG_HEALTH_OUTPUT_MAX + 1];
  size_t len;
};

static void
output_add (struct output *o, const char *data, size_t n)
{
  if (n > REG_HEALTH_OUTPUT_MAX - o->len)
    n = REG_HEALTH_OUTPUT_MAX - o->len;
  memcpy (o->buf + o->len, data, n);
  o->len += n;
  o->buf[o->len] = '\0';
}

/* One status line (proto.h) from the exec helper, waiting until
 * deadline; -1 on timeout. A helper that went away is an error status. */
static int
read_control (int fd, struct reg_status *st, int64_t deadline)
{
  for (;;)
    {
      int64_t left = deadline - now_ns ();
      struct pollfd p = { fd, POLLIN, 0 };
      if (left <= 0 || stopping)
        return -1;
      int n = poll (&p, 1,
                    (int)(left / 1000000 + 1) > HEALTH_TICK_MS ? HEALTH_TICK_MS
                                                               : (int)(left / 1000000 + 1));
      if (n > 0)
        break;
    }
  struct reg_error *e = NULL;
  if (reg_proto_status_read (fd, st, &e) < 0)
    {
      st->kind = REG_STATUS_ERROR;
      reg_proto_result_set (&st->result, 125, 0, "the exec helper: %s", e->msg);
    }
  reg_error_free (e);
  return 0;
}

/* Read the command's output until it closes it, or the deadline. */
static bool
drain_output (int fd, struct output *out, int64_t deadline)
{
  char data[4096];
  for (;;)
    {
      int64_t left = deadline - now_ns ();
      if (left <= 0 || stopping)
        return false;
      struct pollfd p = { fd, POLLIN, 0 };
      int ms = (int)(left / 1000000 + 1);
      if (poll (&p, 1, ms > HEALTH_TICK_MS ? HEALTH_TICK_MS : ms) <= 0)
        continue;
      ssize_t n = read (fd, data, sizeof data);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return true;
      output_add (out, data, (size_t)n);
    }
}

/* Kill a timed-out command: its process group (it is a session leader),
 * while the helper has not reaped it (the PID is then still its). */
static void
kill_command (pid_t helper, pid_t pid)
{
  int pidfd = pid > 0 ? (int)syscall (SYS_pidfd_open, pid, 0) : -1;
  if (pidfd >= 0)
    {
      kill (-pid, SIGKILL);
      syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
      close (pidfd);
    }
  kill (helper, SIGKILL);
}

struct exec_fds
{
  int fd[5]; /* the output pipe, the control socketpair, /dev/null */
};
#define OUT_R 0
#define OUT_W 1
#define CTL_R 2
#define CTL_W 3
#define DEV_NULL 4

static int
start_exec (const struct reg_container *c, char *const *argv, struct exec_fds *f, pid_t *helper,
            struct reg_error **err)
{
  if (pipe2 (&f->fd[OUT_R], O_CLOEXEC) < 0
      || socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, &f->fd[CTL_R]) < 0
      || (f->fd[DEV_NULL] = open ("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
    return reg_error_sys (err, errno, "pipes");
  struct reg_exec_spec spec = {
    .argv = argv,
    .env = c->env,
    .workdir = c->workdir ? c->workdir : "/",
    .stdin_fd = f->fd[DEV_NULL],
    .stdout_fd = f->fd[OUT_W],
    .stderr_fd = f->fd[OUT_W],
    .control_fd = f->fd[CTL_W],
  };
  int ret = reg_engine_exec_spawn (c, &spec, helper, err);
  close (f->fd[OUT_W]);
  close (f->fd[CTL_W]);
  close (f->fd[DEV_NULL]);
  f->fd[OUT_W] = f->fd[CTL_W] = f->fd[DEV_NULL] = -1;
  return ret;
}

/* A CMD or CMD-SHELL check. */
static void
check_command (const struct reg_container *c, int64_t timeout, struct reg_health_result *r,
               struct output *out)
{
  char *shell[] = { "/bin/sh", "-c", c->healthcheck.test[1], NULL };
  char *const *argv = strcmp (c->healthcheck.test[0], "CMD") == 0 ? c->healthcheck.test + 1 : shell;
  struct exec_fds f = { { -1, -1, -1, -1, -1 } };
  _cleanup_error_ struct reg_error *err = NULL;
  pid_t helper = -1, pid = 0;
  int64_t deadline = now_ns () + timeout;
  struct reg_status st = { .kind = REG_STATUS_ERROR };
  r->exit_code = -1;
  if (start_exec (c, argv, &f, &helper, &err) < 0)
    output_add (out, err->msg, strlen (err->msg));
  else if (read_control (f.fd[CTL_R], &st, deadline) < 0)
    kill (helper, SIGKILL), output_add (out, "health check exceeded its timeout", 33);
  else if (st.kind != REG_STATUS_STARTED)
    output_add (out, st.result.message, strlen (st.result.message));
  else if (pid = st.pid, !drain_output (f.fd[OUT_R], out, deadline)
                             || read_control (f.fd[CTL_R], &st, deadline) < 0)
    {
      kill_command (helper, pid);
      char msg[96];
      snprintf (msg, sizeof msg, "Health check exceeded timeout (%lld ms)",
                (long long)(timeout / 1000000));
      out->len = 0;
      output_add (out, msg, strlen (msg));
    }
  else if (st.kind == REG_STATUS_EXIT)
    r->exit_code = st.exit_code;
  reg_proto_status_clear (&st);
  for (int i = 0; i < 5; i++)
    if (f.fd[i] >= 0)
      close (f.fd[i]);
}

static size_t
curl_write (char *data, size_t size, size_t n, void *cls)
{
  output_add (cls, data, size * n);
  return size * n;
}

/* libcurl's progress callback: a regd that stops ends the GET. */
static int
curl_progress (void *cls, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
               curl_off_t ulnow)
{
  return stopping ? 1 : 0;
}

/* An HTTP-GET check, from this thread moved into the container's network
 * namespace. */
static void get_in_netns (const struct reg_container *c, int64_t timeout,
                          struct reg_health_result *r, struct output *out);

/* The thread goes back to regd's namespace afterwards: it must not keep
 * the container's alive once the container is gone. */
static void
check_http (const struct reg_container *c, int64_t timeout, struct reg_health_result *r,
            struct output *out)
{
  int own = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (own < 0)
    {
      r->exit_code = -1;
      output_add (out, "open regd's network namespace failed", 36);
      return;
    }
  get_in_netns (c, timeout, r, out);
  if (setns (own, CLONE_NEWNET) < 0)
    fprintf (stderr, "regd: health of %.12s: back to regd's network namespace: %s\n", c->id,
             strerror (errno));
  close (own);
}

static void
get_in_netns (const struct reg_container *c, int64_t timeout, struct reg_health_result *r,
              struct output *out)
{
  char *const *t = c->healthcheck.test;
  char path[64], url[4200], msg[512] = "";
  long want = t[1] && t[2] ? strtol (t[3], NULL, 10) : 0, got = 0;
  r->exit_code = 1;
  snprintf (path, sizeof path, "/proc/%d/ns/net", (int)c->pid);
  int ns = open (path, O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns (ns, CLONE_NEWNET) < 0)
    {
      snprintf (msg, sizeof msg, "enter the network namespace of %d: %s", (int)c->pid,
                strerror (errno));
      if (ns >= 0)
        close (ns);
      r->exit_code = -1;
      output_add (out, msg, strlen (msg));
      return;
    }
  close (ns);
  bool tcp = strcmp (t[0], "TCP-CONNECT") == 0;
  if (tcp)
    snprintf (url, sizeof url, "http://127.0.0.1:%s/", t[1]);
  else
    snprintf (url, sizeof url, "http://127.0.0.1:%s%s", t[2], t[1]);
  CURL *h = curl_easy_init ();
  char errbuf[CURL_ERROR_SIZE] = "";
  struct output body = { .len = 0 };
  if (h == NULL)
    return output_add (out, "curl: cannot start", 18);
  curl_easy_setopt (h, CURLOPT_URL, url);
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_PROXY, "");
  curl_easy_setopt (h, CURLOPT_TIMEOUT_MS, (long)(timeout / 1000000 > 0 ? timeout / 1000000 : 1));
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, curl_write);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt (h, CURLOPT_XFERINFOFUNCTION, curl_progress);
  if (tcp) /* the connection only: libcurl connects and stops there */
    curl_easy_setopt (h, CURLOPT_CONNECT_ONLY, 1L);
  CURLcode rc = curl_easy_perform (h);
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &got);
  curl_easy_cleanup (h);
  if (rc == CURLE_OPERATION_TIMEDOUT)
    r->exit_code = -1;
  if (rc != CURLE_OK)
    snprintf (msg, sizeof msg, "%s %.200s: %.200s\n", tcp ? "connect" : "GET", url,
              *errbuf ? errbuf : curl_easy_strerror (rc));
  else if (tcp)
    {
      r->exit_code = 0;
      snprintf (msg, sizeof msg, "connect 127.0.0.1:%.8s: accepted\n", t[1]);
    }
  else
    {
      bool ok = want ? got == want : got >= 200 && got < 400;
      r->exit_code = ok ? 0 : 1;
      snprintf (msg, sizeof msg, "GET %.200s: HTTP %ld%s\n", url, got,
                ok     ? ""
                : want ? " (want that status)"
                       : " (want 2xx or 3xx)");
    }
  output_add (out, msg, strlen (msg));
  output_add (out, body.buf, body.len);
}

/* Run the check once and record it. Returns the status it leaves as far
 * as the next check's time goes (health.h, reg_health_next_wait): healthy
 * after a pass, else what it was. */
static enum reg_health_status
check_once (struct regd *d, const struct reg_container *c)
{
  struct reg_health_result r = { .exit_code = -1 };
  struct output out = { .len = 0 };
  int64_t timeout = reg_health_timeout (&c->healthcheck);
  reg_util_now_rfc3339 (r.start);
  if (strcmp (c->healthcheck.test[0], "HTTP-GET") == 0
      || strcmp (c->healthcheck.test[0], "TCP-CONNECT") == 0)
    check_http (c, timeout, &r, &out);
  else
    check_command (c, timeout, &r, &out);
  reg_util_now_rfc3339 (r.end);
  if (stopping)
    return c->health.status; /* cut short by regd's stop: not the container's fault */
  r.output = out.buf;
  _cleanup_error_ struct reg_error *err = NULL;
  if (reg_engine_container_health_record (d->engine, c->id, c->started, &r, &err) < 0)
    fprintf (stderr, "regd: health of %.12s: %s\n", c->id, err->msg);
  return r.exit_code == 0 ? REG_HEALTH_HEALTHY : c->health.status;
}

struct job
{
  struct regd *d;
  char id[65];
};

static void
unwatch (const char *id)
{
  pthread_mutex_lock (&watched_lock);
  for (struct watched **p = &watched; *p; p = &(*p)->next)
    if (strcmp ((*p)->id, id) == 0)
      {
        struct watched *w = *p;
        *p = w->next;
        free (w);
        break;
      }
  pthread_cond_broadcast (&watched_gone);
  pthread_mutex_unlock (&watched_lock);
}

/* How long the run has been going (ns). */
static int64_t
run_age (const struct reg_container *c)
{
  return (int64_t)((reg_util_now () - reg_util_rfc3339_time (c->started)) * 1e9);
}

/* When the first check of a run is due (monotonic): an interval (or the
 * start interval, health.h) after the container started, which may be
 * before this thread (a regd restart). */
static int64_t
first_check (const struct reg_container *c)
{
  int64_t wait = reg_health_next_wait (&c->healthcheck, 0, REG_HEALTH_STARTING) - run_age (c);
  return now_ns () + (wait > 0 ? wait : 0);
}

/* One container's checks, while it is live. Its state is read only when a
 * check is due: in between the thread only sleeps. */
static void *
check_thread (void *arg)
{
  struct job *j = arg;
  char started[40] = "";
  int64_t next = 0;
  while (!stopping)
    {
      int64_t wait = (next - now_ns ()) / 1000000;
      if (wait > 0)
        {
          sleep_ms (wait > HEALTH_TICK_MS ? HEALTH_TICK_MS : (int)wait);
          continue;
        }
      struct reg_container *c = NULL;
      if (reg_engine_container_get (j->d->engine, j->id, &c, NULL) < 0 || !reg_state_live (c->state)
          || !reg_health_enabled (&c->healthcheck))
        {
          reg_container_free (c);
          break;
        }
      if (strcmp (started, c->started) != 0) /* a new run */
        {
          snprintf (started, sizeof started, "%s", c->started);
          next = first_check (c);
        }
      else
        {
          enum reg_health_status status = c->health.status;
          if (c->state == REG_STATE_RUNNING) /* not while paused or restarting */
            status = check_once (j->d, c);
          next = now_ns () + reg_health_next_wait (&c->healthcheck, run_age (c), status);
        }
      reg_container_free (c);
    }
  unwatch (j->id);
  free (j);
  return NULL;
}

static bool
is_watched (const char *id)
{
  bool found = false;
  for (struct watched *w = watched; w && !found; w = w->next)
    found = strcmp (w->id, id) == 0;
  return found;
}

static void
watch (struct regd *d, const char *id)
{
  struct watched *w = calloc (1, sizeof *w);
  struct job *j = calloc (1, sizeof *j);
  pthread_t th;
  if (w == NULL || j == NULL)
    goto fail;
  snprintf (w->id, sizeof w->id, "%s", id);
  snprintf (j->id, sizeof j->id, "%s", id);
  j->d = d;
  pthread_mutex_lock (&watched_lock);
  w->next = watched;
  watched = w;
  pthread_mutex_unlock (&watched_lock);
  if (pthread_create (&th, NULL, check_thread, j) == 0)
    {
      pthread_detach (th);
      return;
    }
  unwatch (id);
  w = NULL;
fail:
  free (w);
  free (j);
}

static bool
watched_now (const char *id)
{
  pthread_mutex_lock (&watched_lock);
  bool known = is_watched (id);
  pthread_mutex_unlock (&watched_lock);
  return known;
}

/* ref (an id, or a start's name or id prefix), when it runs with a check
 * the watcher has no thread for: watch it. *no_check: it has none (which
 * never changes: a check is set at create). */
static void
consider (struct regd *d, const char *ref, bool *no_check)
{
  struct reg_container *c = NULL;
  if (reg_engine_container_get (d->engine, ref, &c, NULL) == 0)
    {
      *no_check = !reg_health_enabled (&c->healthcheck);
      if (c->state == REG_STATE_RUNNING && !*no_check && !watched_now (c->id))
        watch (d, c->id);
    }
  reg_container_free (c);
}

static int
id_cmp (const void *a, const void *b)
{
  return strcmp (a, b);
}

/* The ids of containers without a check, as of the last scan (a tsearch
 * tree): the scan every HEALTH_SCAN_MS loads only the others, so 1,000
 * running containers without checks cost a directory listing a second,
 * not 1,000 state files. Rebuilt at each scan from the ids listed then,
 * so removed containers leave it. */
static void *no_check_ids;
static char **no_check_strv; /* the strings no_check_ids points into */

static void
no_op_free (void *p)
{
  (void)p;
}

static void
scan (struct regd *d)
{
  _cleanup_strv_ char **ids = NULL;
  if (reg_engine_container_ids (d->engine, &ids, NULL) < 0)
    return;
  void *next = NULL;
  for (size_t i = 0; ids && ids[i] && !stopping; i++)
    {
      bool no_check = tfind (ids[i], &no_check_ids, id_cmp) != NULL;
      if (!no_check && !watched_now (ids[i]))
        consider (d, ids[i], &no_check);
      if (no_check)
        tsearch (ids[i], &next, id_cmp);
    }
  /* The new tree points into ids: keep ids, drop the old tree's. */
  tdestroy (no_check_ids, no_op_free);
  reg_strv_free (no_check_strv);
  no_check_ids = next;
  no_check_strv = ids;
  ids = NULL;
}

/* Until the scan is due (`due`, monotonic ns), a kick comes, or regd stops
 * (which kicks). The containers kicked meanwhile go to kicked_ids (at most
 * KICKS_MAX, *n of them); true when every container is to be looked at
 * (the scan is due, or a kick asked for all). */
static bool
wait_scan (int64_t due, char kicked_ids[][65], size_t *n)
{
  struct timespec ts = { (time_t)(due / 1000000000), (long)(due % 1000000000) };
  pthread_mutex_lock (&kick_lock);
  bool timed_out = false;
  while (!kicked && !stopping && !timed_out)
    timed_out = pthread_cond_timedwait (&kick_cond, &kick_lock, &ts) == ETIMEDOUT;
  bool all = timed_out || kick_all;
  *n = n_kicks;
  memcpy (kicked_ids, kicks, n_kicks * sizeof kicks[0]);
  kicked = kick_all = false;
  n_kicks = 0;
  pthread_mutex_unlock (&kick_lock);
  return all;
}

static void *
watcher_thread (void *arg)
{
  static char ids[KICKS_MAX][65];
  bool all = true;
  int64_t due = 0;
  while (!stopping)
    {
      size_t n = 0;
      if (all)
        {
          scan (arg);
          due = now_ns () + (int64_t)HEALTH_SCAN_MS * 1000000;
        }
      all = wait_scan (due, ids, &n);
      for (size_t i = 0; !all && i < n && !stopping; i++)
        {
          bool no_check = false;
          consider (arg, ids[i], &no_check);
        }
    }
  return NULL;
}

void
regd_health_kick (const char *id)
{
  pthread_mutex_lock (&kick_lock);
  if (id == NULL || n_kicks == KICKS_MAX || strlen (id) >= sizeof kicks[0])
    kick_all = true;
  else
    snprintf (kicks[n_kicks++], sizeof kicks[0], "%s", id);
  kicked = true;
  pthread_cond_signal (&kick_cond);
  pthread_mutex_unlock (&kick_lock);
}

int
regd_health_start (struct regd *d, struct reg_error **err)
{
  curl_global_init (CURL_GLOBAL_DEFAULT);
  pthread_condattr_t ca;
  pthread_condattr_init (&ca);
  pthread_condattr_setclock (&ca, CLOCK_MONOTONIC);
  pthread_cond_init (&kick_cond, &ca);
  pthread_condattr_destroy (&ca);
  int e = pthread_create (&watcher, NULL, watcher_thread, d);
  if (e != 0)
    return reg_error_sys (err, e, "health checks: cannot start a thread");
  watcher_running = true;
  return 0;
}

void
regd_health_stop (void)
{
  stopping = true;
  regd_health_kick (NULL); /* the watcher waits on the kick */
  if (watcher_running)
    pthread_join (watcher, NULL);
  watcher_running = false;
  tdestroy (no_check_ids, no_op_free);
  no_check_ids = NULL;
  reg_strv_free (no_check_strv);
  no_check_strv = NULL;
  pthread_mutex_lock (&watched_lock);
  while (watched)
    pthread_cond_wait (&watched_gone, &watched_lock);
  pthread_mutex_unlock (&watched_lock);
}
