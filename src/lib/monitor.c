#include "monitor.h"
#include "volume.h"
#include "events.h"
#include "logfile.h"
#include "envgen.h"
#include "netpeers.h"
#include "netrelease.h"
#include "network.h"
#include "proto.h"
#include "root.h"
#include "runtime.h"
#include "timing.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES (16 * 1024)
#define CHUNK (64 * 1024)

/* fds the monitor keeps after fork; everything else of regd is closed. */
enum
{
  FD_STATUS = 3,
  FD_ATTACH = 4,
  FD_NETNS = 5, /* a bridged container's network namespace (network.h) */
};

struct stream
{
  int fd;
  int frame;
  const char *name;
  char line[LINE_MAX_BYTES];
  size_t len;
};

/* A connection to attach.sock (protocol in monitor.h). */
enum client_kind
{
  CLIENT_FREE,
  CLIENT_LINE,   /* its first line is still coming */
  CLIENT_STDIN,  /* input for the container */
  CLIENT_ATTACH, /* takes output frames */
};

struct client
{
  int fd;
  enum client_kind kind;
  bool keep; /* "stdin keep": its end does not close the container's input */
  char line[REG_HELLO_MAX];
  size_t len;
};

struct monitor
{
  const char *root;
  const struct reg_container *c;
  struct reg_logfile *log;
  int attach_fd; /* the attached start's frames (regd's pipe), or -1 */
  pid_t pid;
  struct reg_cgroup *cg;
  int listen_fd; /* containers/<id>/attach.sock */
  struct client clients[REG_MONITOR_CLIENTS];
  int input_fd;             /* where input goes: the stdin pipe or the terminal */
  int term_fd;              /* the terminal's other side, for resize */
  char *init_path;          /* --init: reg-init on the host */
  int netns_fd;             /* bridged: its network namespace, held for its life */
  int mntns_fd;             /* --rm: its mount namespace, held past the exit frame */
  struct reg_cgroup *ahead; /* the spare's cgroups made ahead, till the first start */
};

static void
drop_client (struct client *cl)
{
  close (cl->fd);
  cl->fd = -1;
  cl->kind = CLIENT_FREE;
}

/* To the attached start and to every `reg attach`. A client that went away
 * is dropped; the container keeps running and logging. */
static void
send_frame (struct monitor *m, int stream, const void *data, size_t len)
{
  if (m->attach_fd >= 0 && reg_proto_frame_write (m->attach_fd, stream, data, len) < 0)
    {
      close (m->attach_fd);
      m->attach_fd = -1;
    }
  for (size_t i = 0; i < REG_MONITOR_CLIENTS; i++)
    if (m->clients[i].kind == CLIENT_ATTACH
        && reg_proto_frame_write (m->clients[i].fd, stream, data, len) < 0)
      drop_client (&m->clients[i]);
}

/* One record per line, batched per read (logfile.h). */
static void
log_line (struct monitor *m, struct stream *s, bool partial)
{
  reg_logfile_line (m->log, s->name, s->line, s->len, partial);
  s->len = 0;
}

static void
log_chunk (struct monitor *m, struct stream *s, const char *buf, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      if (buf[i] == '\n')
        {
          log_line (m, s, false);
          continue;
        }
      s->line[s->len++] = buf[i];
      if (s->len == sizeof s->line)
        log_line (m, s, true);
    }
}

/* Returns false at end of stream. */
static bool
pump (struct monitor *m, struct stream *s)
{
  char buf[CHUNK];
  ssize_t n = read (s->fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true; /* (EIO from a terminal whose last user left ends it, below) */
  reg_logfile_begin (m->log);
  if (n <= 0)
    {
      if (s->len > 0)
        log_line (m, s, true);
      reg_logfile_flush (m->log);
      close (s->fd);
      s->fd = -1;
      return false;
    }
  send_frame (m, s->frame, buf, (size_t)n);
  log_chunk (m, s, buf, (size_t)n);
  reg_logfile_flush (m->log);
  return true;
}

/* A new connection takes a free slot; with none free it is closed. */
static void
accept_client (struct monitor *m)
{
  int fd = accept4 (m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0)
    return;
  for (size_t i = 0; i < REG_MONITOR_CLIENTS; i++)
    if (m->clients[i].kind == CLIENT_FREE)
      {
        m->clients[i] = (struct client){ .fd = fd, .kind = CLIENT_LINE };
        return;
      }
  close (fd);
}

static void
end_client (struct monitor *m, struct client *cl)
{
  /* The end of a stdin stream is the container's end of file (a terminal
   * has no end of file: it stays), unless it was "stdin keep" (reg attach,
   * which may come back). */
  if (cl->kind == CLIENT_STDIN && !cl->keep && m->term_fd < 0 && m->input_fd >= 0)
    {
      close (m->input_fd);
      m->input_fd = -1;
    }
  drop_client (cl);
}

/* The hello line says what the connection is for (proto.h); false to
 * drop it. */
static bool
client_line (struct monitor *m, struct client *cl)
{
  struct reg_hello h;
  struct reg_error *e = NULL;
  if (reg_proto_hello_parse (cl->line, cl->len, &h, &e) < 0)
    {
      reg_error_free (e);
      return false;
    }
  switch (h.kind)
    {
    case REG_HELLO_STDIN:
      cl->kind = CLIENT_STDIN;
      cl->keep = h.keep;
      return true;
    case REG_HELLO_ATTACH:
      cl->kind = CLIENT_ATTACH;
      return true;
    case REG_HELLO_RESIZE:
      if (m->term_fd >= 0)
        {
          struct winsize ws = { .ws_row = h.rows, .ws_col = h.cols };
          ioctl (m->term_fd, TIOCSWINSZ, &ws);
        }
      return false; /* done: the monitor closes it */
    }
  return false;
}

static void
pump_client (struct monitor *m, struct client *cl)
{
  char buf[CHUNK];
  ssize_t n = read (cl->fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0)
    {
      end_client (m, cl);
      return;
    }
  size_t off = 0;
  if (cl->kind == CLIENT_LINE)
    {
      while (off < (size_t)n && cl->len < sizeof cl->line - 1 && buf[off] != '\n')
        cl->line[cl->len++] = buf[off++];
      if (off == (size_t)n)
        return; /* more of the line to come */
      off++;
      cl->line[cl->len] = '\0';
      if (!client_line (m, cl))
        {
          drop_client (cl);
          return;
        }
    }
  if (cl->kind != CLIENT_STDIN)
    return; /* an attach client sends nothing after its line */
  if (m->input_fd >= 0 && reg_util_write_all (m->input_fd, buf + off, (size_t)n - off) < 0)
    {
      close (m->input_fd); /* the container closed its input */
      m->input_fd = -1;
    }
}

/* containers/<id>/attach.sock: input, resize and reg attach. */
static int
listen_input (const char *root, const char *id)
{
  /* Through a directory fd: the full path may be longer than sun_path. */
  _cleanup_free_ char *dir = reg_root_container (root, id);
  _cleanup_close_ int dfd = dir ? open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (dfd < 0)
    return -1;
  snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/attach.sock", dfd);
  const char *path = addr.sun_path;
  unlink (path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind (fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen (fd, 4) < 0)
    {
      if (fd >= 0)
        close (fd);
      return -1;
    }
  chmod (path, 0600);
  return fd;
}

static void
pump_until_eof (struct monitor *m, struct stream *out, struct stream *err)
{
  while (out->fd >= 0 || err->fd >= 0)
    {
      struct pollfd p[3 + REG_MONITOR_CLIENTS]
          = { { out->fd, POLLIN, 0 }, { err->fd, POLLIN, 0 }, { m->listen_fd, POLLIN, 0 } };
      for (size_t i = 0; i < REG_MONITOR_CLIENTS; i++)
        p[3 + i] = (struct pollfd){ m->clients[i].kind == CLIENT_FREE ? -1 : m->clients[i].fd,
                                    POLLIN, 0 };
      if (poll (p, 3 + REG_MONITOR_CLIENTS, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (p[0].revents && out->fd >= 0)
        pump (m, out);
      if (p[1].revents && err->fd >= 0)
        pump (m, err);
      for (size_t i = 0; i < REG_MONITOR_CLIENTS; i++)
        if (p[3 + i].revents && m->clients[i].kind != CLIENT_FREE)
          pump_client (m, &m->clients[i]);
      if (p[2].revents && m->listen_fd >= 0)
        accept_client (m);
    }
  if (m->term_fd >= 0)
    m->term_fd = -1; /* closed with the output stream */
  if (m->input_fd >= 0)
    close (m->input_fd);
  m->input_fd = -1;
}

struct running_update
{
  pid_t pid;
};

static int
mark_running (struct reg_container *c, void *data, struct reg_error **err)
{
  const struct running_update *u = data;
  c->state = REG_STATE_RUNNING;
  c->pid = u->pid;
  c->monitor_pid = getpid ();
  c->monitor_start = reg_util_proc_starttime (c->monitor_pid);
  c->exit_code = -1;
  free (c->error);
  c->error = NULL;
  reg_strv_free (c->inserted);
  c->inserted = NULL;
  reg_util_now_rfc3339 (c->started);
  c->finished[0] = '\0';
  reg_health_state_reset (&c->health, reg_health_enabled (&c->healthcheck));
  return 0;
}

struct exit_update
{
  int code;
  const char *error;
  bool oom_killed;
  bool restart; /* out: the policy restarts it */
  double ran_s; /* how long this run lasted */
};

static int
mark_stopped (struct reg_container *c, void *data, struct reg_error **err)
{
  struct exit_update *u = data;
  /* The restart policy decides, unless a user stopped it. */
  const struct reg_restart *p = &c->restart;
  u->restart = u->error == NULL && !c->stop_requested && reg_state_live (c->state)
               && (p->mode == REG_RESTART_ALWAYS || p->mode == REG_RESTART_UNLESS_STOPPED
                   || (p->mode == REG_RESTART_ON_FAILURE && u->code != 0
                       && (p->max_retries == 0 || c->restart_count < p->max_retries)));
  /* A start that failed ends the same way: a generated container whose
   * command was not found has exited (127), as in Docker. */
  if (reg_state_live (c->state) || u->error != NULL)
    c->state = u->restart ? REG_STATE_RESTARTING : REG_STATE_STOPPED;
  if (u->restart)
    c->restart_count++;
  c->pid = 0;
  if (!u->restart)
    {
      c->monitor_pid = 0;
      c->monitor_start = 0;
    }
  c->exit_code = u->code;
  c->oom_killed = u->oom_killed;
  free (c->error);
  c->error = u->error ? strdup (u->error) : NULL;
  reg_util_now_rfc3339 (c->finished);
  return 0;
}

static int
exit_code_of (int status)
{
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return 255;
}

/* What the runtime needs of the container's network mode (network.h). */
struct net_spec
{
  int netns_fd; /* container:ID: a pidfd of that container's first process */
  bool new_netns;
  char hostname[65];
  char *etc[3]; /* hosts, hostname, resolv.conf: whose directory they are in */
};

static int
net_spec_of (const char *root, const struct reg_container *c, int netns_fd, struct net_spec *n,
             struct reg_error **e)
{
  if (reg_network_on_bridge (c->network_mode)
      && (netns_fd < 0 || (n->netns_fd = fcntl (netns_fd, F_DUPFD_CLOEXEC, 3)) < 0))
    return reg_error_set (e, EIO, "no network namespace from regd for the bridge");
  const char *joined = reg_network_joined (c->network_mode);
  const char *owner = joined ? joined : c->id;
  snprintf (n->hostname, sizeof n->hostname, "%s", c->hostname ? c->hostname : "");
  if (c->hostname == NULL)
    snprintf (n->hostname, sizeof n->hostname, "%.12s", c->id);
  if (joined)
    {
      struct reg_container *t = NULL;
      if (reg_container_load (root, joined, &t, NULL) < 0 || !reg_state_live (t->state)
          || (n->netns_fd = (int)syscall (SYS_pidfd_open, t->pid, 0)) < 0)
        {
          reg_container_free (t);
          return reg_error_set (e, EBUSY,
                                "cannot join the network of container %.12s: it is not "
                                "running",
                                joined);
        }
      snprintf (n->hostname, sizeof n->hostname, "%s", t->hostname ? t->hostname : "");
      if (t->hostname == NULL)
        snprintf (n->hostname, sizeof n->hostname, "%.12s", t->id);
      reg_container_free (t);
    }
  n->new_netns = strcmp (c->network_mode, "none") == 0;
  static const char *const names[3] = { "hosts", "hostname", "resolv.conf" };
  for (size_t i = 0; i < 3; i++)
    if ((n->etc[i] = reg_root_container_file (root, owner, names[i])) == NULL)
      return reg_error_set (e, ENOMEM, "out of memory");
  return 0;
}

/* The command; with --init, reg-init (next to this program, unless
 * REG_INIT says where) runs it as its child. */
static char **
init_argv (struct monitor *m, const struct reg_container *c, struct reg_error **e)
{
  size_t n = reg_strv_len (c->argv), k = 0;
  char **argv = calloc (n + 3, sizeof *argv);
  if (argv == NULL)
    {
      reg_error_set (e, ENOMEM, "out of memory");
      return NULL;
    }
  if (c->init && m->init_path == NULL)
    m->init_path = reg_util_sibling_program ("REG_INIT", "reg-init");
  if (c->init && (m->init_path == NULL || access (m->init_path, X_OK) < 0))
    {
      reg_error_set (e, EINVAL, "--init: no reg-init program at %s (install it next to %s)",
                     m->init_path ? m->init_path : "?", "reg-monitor");
      free (argv);
      return NULL;
    }
  if (c->init)
    {
      argv[k++] = strdup (REG_INIT_PATH);
      argv[k++] = strdup ("--");
    }
  for (size_t i = 0; i < n; i++)
    argv[k++] = strdup (c->argv[i]);
  for (size_t i = 0; i < k; i++)
    if (argv[i] == NULL)
      {
        reg_strv_free (argv);
        reg_error_set (e, ENOMEM, "out of memory");
        return NULL;
      }
  return argv;
}

/* The container's first process; a failure is either in *e (before the
 * runtime was called) or in *res (the runtime's start result). */
static int
spawn (struct monitor *m, struct stream *out, struct stream *err, struct reg_start_result *res,
       struct reg_error **e)
{
  const struct reg_container *c = m->c;
  int po[2], pe[2];
  if (pipe2 (po, O_CLOEXEC) < 0 || pipe2 (pe, O_CLOEXEC) < 0)
    return reg_error_sys (e, errno, "container %.12s: pipe", c->id);
  _cleanup_free_ char *lower = reg_root_env_lowerdir (m->root, c->closure);
  _cleanup_free_ char *upper = reg_container_layer_file (m->root, c, "upper");
  _cleanup_free_ char *work = reg_container_layer_file (m->root, c, "work");
  _cleanup_free_ char *merged = reg_root_container_file (m->root, c->id, "merged");
  struct net_spec net = { -1, false, "", { NULL, NULL, NULL } };
  if (net_spec_of (m->root, c, m->netns_fd, &net, e) < 0)
    {
      close (po[0]), close (po[1]), close (pe[0]), close (pe[1]);
      if (net.netns_fd >= 0)
        close (net.netns_fd);
      for (size_t i = 0; i < 3; i++)
        free (net.etc[i]);
      return -1;
    }
  _cleanup_close_ int netns = net.netns_fd;
  _cleanup_free_ char *hosts = net.etc[0], *hostname_file = net.etc[1], *resolv = net.etc[2];
  _cleanup_close_ int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  _cleanup_strv_ char **argv = init_argv (m, c, e);
  if (argv == NULL)
    {
      close (po[0]), close (po[1]), close (pe[0]), close (pe[1]);
      return -1;
    }
  /* Live installs left placeholders in the upper layer; the files now come
   * from the environment (the closure includes them). */
  for (size_t i = 0; c->inserted && c->inserted[i]; i++)
    {
      const char *tab = strchr (c->inserted[i], '\t');
      char *one[2] = { (char *)(tab ? tab + 1 : c->inserted[i]), NULL };
      reg_container_layer_clean (upper, one);
    }
  int in[2] = { -1, -1 }, tty[2] = { -1, -1 };
  if ((c->tty && socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, tty) < 0)
      || (c->open_stdin && !c->tty && pipe2 (in, O_CLOEXEC) < 0))
    {
      close (po[0]), close (po[1]), close (pe[0]), close (pe[1]);
      return reg_error_sys (e, errno, "container %.12s: stdin", c->id);
    }
  reg_timing_mark (c->id, "monitor.prepared");
  /* The monitor's own work for the container (its log) under the same
   * CPU limit (cgroup.h). */
  struct reg_cgroup *ahead = m->ahead;
  m->ahead = NULL; /* taken or removed by the create */
  if (reg_cgroup_create_from (REG_CGROUP_FS, c->id, &c->limits, ahead, &m->cg, e) < 0
      || reg_cgroup_monitor_join (m->cg, &c->limits, e) < 0)
    {
      close (po[0]), close (po[1]), close (pe[0]), close (pe[1]);
      return -1;
    }
  _cleanup_strv_ char **procs = reg_cgroup_procs_paths (m->cg);
  if (procs == NULL)
    {
      close (po[0]), close (po[1]), close (pe[0]), close (pe[1]);
      return reg_error_set (e, ENOMEM, "out of memory");
    }
  struct reg_runtime_spec spec = {
    .lower = lower,
    .upper = upper,
    .work = work,
    .merged = merged,
    .volatile_upper = c->auto_remove,
    .argv = argv,
    .env = c->env,
    .workdir = c->workdir,
    .hostname = net.hostname,
    .netns_fd = netns,
    .new_netns = net.new_netns,
    .etc_files = { hosts, hostname_file, resolv },
    .project = c->project,
    .mounts = c->mounts,
    .n_mounts = c->n_mounts,
    .stdin_fd = in[0] >= 0 ? in[0] : null,
    .stdout_fd = po[1],
    .stderr_fd = pe[1],
    .cgroup_procs = procs,
    .tty_sock = tty[1],
    .security = &c->security,
    .rows = c->rows,
    .cols = c->cols,
    .ulimits = c->ulimits,
    .n_ulimits = c->n_ulimits,
    .init = c->init ? m->init_path : NULL,
  };
  reg_timing_mark (c->id, "monitor.cgroups");
  int ret = reg_runtime_spawn (&spec, &m->pid, res);
  reg_timing_mark (c->id, "monitor.child.execd");
  close (po[1]);
  close (pe[1]);
  if (in[0] >= 0)
    close (in[0]);
  if (tty[1] >= 0)
    close (tty[1]);
  out->fd = po[0];
  err->fd = pe[0];
  m->input_fd = in[1];
  if (ret == 0 && tty[0] >= 0)
    {
      /* All output comes through the terminal: the pipes stay silent. */
      int term = reg_util_recv_fd (tty[0]);
      if (term >= 0)
        {
          close (po[0]);
          out->fd = term;
          m->term_fd = term;
          m->input_fd = fcntl (term, F_DUPFD_CLOEXEC, 3);
        }
    }
  if (tty[0] >= 0)
    close (tty[0]);
  return ret;
}

static bool
stop_requested (const char *root, const char *id)
{
  struct reg_container *c = NULL;
  if (reg_container_load (root, id, &c, NULL) < 0)
    return true; /* removed */
  bool stop = c->stop_requested;
  reg_container_free (c);
  return stop;
}

/* Sleep the back-off in 50 ms steps; false when a stop was requested. */
static bool
wait_backoff (const char *root, const char *id, int ms)
{
  for (int waited = 0; waited < ms; waited += 50)
    {
      if (stop_requested (root, id))
        return false;
      struct timespec ts = { 0, 50 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  return !stop_requested (root, id);
}

/* Start container `c` (the first time, or again for the restart policy
 * with its current state: its limits may have been updated meanwhile); on
 * failure *res says why, its message naming the container. */
static int
start_container (struct monitor *m, const struct reg_container *c, struct stream *out,
                 struct stream *err, struct reg_start_result *res)
{
  const struct reg_container *orig = m->c;
  struct reg_error *e = NULL;
  m->c = c;
  int ret = spawn (m, out, err, res, &e);
  m->c = orig;
  if (ret < 0 && e != NULL)
    reg_proto_result_of_error (res, 125, e);
  if (ret < 0)
    reg_proto_result_prefix (res, "container %.12s", c->id);
  reg_error_free (e);
  return ret;
}

/* Stopped for good: give back its published ports and its address (its
 * veth goes with the namespace when we exit). */
static void
release_network (const char *root, const char *id)
{
  struct reg_container *now = NULL;
  if (reg_container_load (root, id, &now, NULL) == 0)
    reg_netrelease_recorded (root, now);
  reg_container_free (now);
}

/* "oom" when the kernel's OOM killer ended it, then "die" with its code. */
static void
exit_events (const char *root, const struct reg_container *c, const struct exit_update *u)
{
  char code[16];
  snprintf (code, sizeof code, "%d", u->code);
  if (u->oom_killed)
    reg_events_container (root, c, "oom", NULL, NULL);
  reg_events_container (root, c, "die", "exitCode", code);
}

/* --rm: the anonymous volumes of its templates' `volumes` go with it, as
 * with Docker (a named volume stays). Best effort: a leftover is what
 * `reg volume prune` takes. */
static void
remove_anonymous_volumes (const char *root, const struct reg_container *c)
{
  for (size_t i = 0; i < c->n_mounts; i++)
    if (c->mounts[i].anonymous && c->mounts[i].volume)
      reg_volume_remove (root, c->mounts[i].volume, NULL, NULL);
}

/* The exit frame, then the end of every stream: the attached client
 * returns. */
static void
send_exit (struct monitor *m, int exit_code)
{
  unsigned char code[4];
  reg_proto_frame_exit_payload (code, exit_code);
  send_frame (m, REG_FRAME_EXIT, code, 4);
  for (size_t i = 0; i < REG_MONITOR_CLIENTS; i++)
    if (m->clients[i].kind != CLIENT_FREE)
      drop_client (&m->clients[i]);
  if (m->attach_fd >= 0)
    close (m->attach_fd);
  m->attach_fd = -1;
}

/* --rm, once its process has been reaped: first the container goes for
 * every client (its directory renamed, its name freed: `reg ps -a` no
 * longer lists it) and its "die" and "destroy" events are logged; then the
 * attached client gets the exit code and the end of the stream, and
 * returns; only then does the monitor let its mounts go (the namespace it
 * held, hold_mounts), remove its cgroups, give its network back and remove
 * its files. No "stopped" state is written: nobody can read it once the
 * directory is renamed. If the monitor dies after the rename, regd's start
 * sweeps the directory, removes the cgroups of its id and frees every
 * address no running container holds (network.h), so nothing is left
 * untracked (docs/reliability.md). */
static _Noreturn void
remove_exited (struct monitor *m, const struct reg_container *c, const struct exit_update *u)
{
  _cleanup_free_ char *grave = NULL;
  struct reg_container *last = NULL;
  bool retired = reg_container_retire (m->root, c->id, &grave, &last, NULL) == 0;
  exit_events (m->root, c, u);
  if (retired)
    reg_events_container (m->root, c, "destroy", NULL, NULL);
  reg_timing_mark (c->id, "monitor.retired");
  send_exit (m, u->code);
  reg_timing_mark (c->id, "monitor.exit.sent");
  if (m->mntns_fd >= 0)
    close (m->mntns_fd); /* its mounts are torn down here, in the monitor */
  reg_timing_mark (c->id, "monitor.mounts.released");
  reg_cgroup_destroy (m->cg);
  reg_timing_mark (c->id, "monitor.cgroups.removed");
  if (last && last->net.ip[0])
    {
      reg_netrelease (m->root, c->id, &last->net);
      reg_netpeers_refresh (m->root, last->net.network);
      for (size_t i = 0; i < last->net.n_links; i++)
        reg_netpeers_refresh (m->root, last->net.links[i].network);
    }
  reg_container_free (last);
  reg_timing_mark (c->id, "monitor.network.released");
  if (grave)
    {
      reg_util_rm_rf (grave, NULL);
      remove_anonymous_volumes (m->root, c);
    }
  reg_timing_mark (c->id, "monitor.done");
  _exit (0);
}

/* --rm: the container's mount namespace, held by the monitor so that the
 * container's last process does not tear its mounts down (1.2 ms quiet
 * when the overlay was not volatile) between closing its output and being
 * reaped; the monitor lets it go once the client has the exit code. Only
 * for --rm: a stopped container's next start mounts its upper directory
 * again, which must not still be in use. -1 when it cannot be had (the
 * container is already gone): nothing is held. */
static int
hold_mounts (pid_t pid)
{
  char ns[64];
  snprintf (ns, sizeof ns, "/proc/%d/ns/mnt", (int)pid);
  return open (ns, O_RDONLY | O_CLOEXEC);
}

static _Noreturn void
monitor_main (const char *root, const struct reg_container *c, bool attach,
              struct reg_cgroup *ahead)
{
  struct monitor m = { .root = root,
                       .c = c,
                       .ahead = ahead,
                       .attach_fd = attach ? FD_ATTACH : -1,
                       .listen_fd = listen_input (root, c->id),
                       .input_fd = -1,
                       .term_fd = -1,
                       .netns_fd = -1,
                       .mntns_fd = -1 };
  for (size_t i = 0; i < REG_MONITOR_CLIENTS; i++)
    m.clients[i].fd = -1;
  if (reg_network_on_bridge (c->network_mode) && fcntl (FD_NETNS, F_GETFD) >= 0)
    {
      m.netns_fd = FD_NETNS;
      fcntl (FD_NETNS, F_SETFD, FD_CLOEXEC);
    }
  char name[16];
  snprintf (name, sizeof name, "reg-mon-%.7s", c->id);
  prctl (PR_SET_NAME, name);
  static struct reg_logfile log; /* its batch buffer is large */
  m.log = &log;
  static struct stream out = { -1, REG_FRAME_STDOUT, "stdout", "", 0 };
  static struct stream err = { -1, REG_FRAME_STDERR, "stderr", "", 0 };
  struct reg_error *e = NULL;
  struct reg_start_result res = { 0 };
  int started = reg_logfile_open (&log, root, c->id, c->log_max_size, 0, &e);
  if (started < 0)
    {
      reg_proto_result_of_error (&res, 125, e);
      reg_proto_result_prefix (&res, "container %.12s", c->id);
    }
  else
    started = start_container (&m, c, &out, &err, &res);
  reg_cgroup_destroy (m.ahead); /* not taken: the start failed before its cgroups */
  reg_cgroup_free (m.ahead);
  m.ahead = NULL;
  reg_error_free (e);
  e = NULL;
  if (started < 0)
    {
      struct exit_update u = { res.exit_code, res.message, false, false, 0 };
      reg_cgroup_destroy (m.cg);
      reg_container_update (root, c->id, mark_stopped, &u, NULL);
      release_network (root, c->id);
      reg_proto_status_error (FD_STATUS, &res);
      if (c->auto_remove && reg_container_destroy (root, c->id, NULL) == 0)
        {
          reg_events_container (root, c, "destroy", NULL, NULL);
          remove_anonymous_volumes (root, c);
        }
      _exit (1);
    }
  if (c->auto_remove)
    m.mntns_fd = hold_mounts (m.pid);
  /* regd learns that it runs, then that its state says so (monitor.h). */
  reg_proto_status_started (FD_STATUS, m.pid);
  reg_timing_mark (c->id, "monitor.running");
  struct running_update ru = { m.pid };
  if (reg_container_update_unsynced (root, c->id, mark_running, &ru, &e) < 0)
    {
      /* Not recorded, so nothing would find it: it does not stay. */
      kill (m.pid, SIGKILL);
      reg_proto_result_of_error (&res, 125, e);
      reg_proto_status_error (FD_STATUS, &res);
      reg_error_free (e);
    }
  else
    {
      reg_proto_status_ok (FD_STATUS, NULL);
      /* The monitor logs "start", not regd: it alone sees the exit, so
       * only it can put "start" before "die" for a process that exits at
       * once (regd's line, written after its reply, could come after). */
      reg_events_container (root, c, "start", NULL, NULL);
    }
  close (FD_STATUS);
  reg_timing_mark (c->id, "monitor.saved");

  struct exit_update u;
  for (int backoff_ms = 100;;)
    {
      double began = reg_util_now ();
      pump_until_eof (&m, &out, &err);
      reg_timing_mark (c->id, "monitor.output.ended");
      int status = 0;
      while (waitpid (m.pid, &status, 0) < 0 && errno == EINTR)
        ;
      reg_timing_mark (c->id, "monitor.exited");
      u = (struct exit_update){ exit_code_of (status), NULL, reg_cgroup_oom_killed (m.cg), false,
                                reg_util_now () - began };
      if (c->auto_remove)
        remove_exited (&m, c, &u); /* no restart policy with --rm (refused at create) */
      reg_cgroup_destroy (m.cg);
      reg_cgroup_free (m.cg);
      m.cg = NULL;
      reg_timing_mark (c->id, "monitor.cgroups.removed");
      reg_container_update (root, c->id, mark_stopped, &u, NULL);
      exit_events (root, c, &u);
      reg_timing_mark (c->id, "monitor.stopped.saved");
      if (!u.restart)
        break;
      /* Back-off: 100 ms doubling up to a minute; a run of 10 s or more
       * starts the series again. A stop request ends the wait. */
      backoff_ms = u.ran_s >= 10 ? 100 : backoff_ms;
      if (!wait_backoff (root, c->id, backoff_ms))
        break;
      backoff_ms = backoff_ms * 2 > 60000 ? 60000 : backoff_ms * 2;
      struct reg_container *now = NULL;
      if (reg_container_load (root, c->id, &now, NULL) < 0)
        break;
      int sr = start_container (&m, now, &out, &err, &res);
      if (sr == 0)
        {
          struct running_update rr = { m.pid };
          reg_container_update_unsynced (root, c->id, mark_running, &rr, NULL);
          reg_events_container (root, c, "start", "restartPolicy",
                                reg_container_restart_name (c->restart.mode));
          /* A stop that came while it was being started again. */
          if (stop_requested (root, c->id))
            kill (m.pid, SIGKILL);
        }
      else
        {
          struct exit_update fu = { res.exit_code, res.message, false, false, 0 };
          reg_container_update (root, c->id, mark_stopped, &fu, NULL);
          exit_events (root, c, &fu);
          u.code = fu.code;
        }
      reg_container_free (now);
      if (sr < 0)
        break;
    }
  release_network (root, c->id);
  reg_timing_mark (c->id, "monitor.network.released");
  send_exit (&m, u.code);
  reg_timing_mark (c->id, "monitor.exit.sent");
  _exit (0);
}

/* regd starts the monitor with posix_spawn (vfork-style: regd's memory is
 * not copied, a fork of it cost ~1-2 ms of copy-on-write faults on the
 * start path): a new session, default signal mask and SIGCHLD, the status
 * pipe as fd 3, the attach socket (if any) as fd 4, /dev/null as 0-2,
 * nothing else. A small program of its own rather than a copy of regd: a
 * forked regd kept ~620 kB PSS per container (regd's heap and thread
 * stacks); reg-monitor keeps well under 256 kB (docs/benchmarks.md). */
static int
spawn_monitor (const char *monitor_path, const char *root, const struct reg_container *c,
               int status_fd, int attach_fd, int netns_fd, pid_t *pid)
{
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init (&fa);
  reg_util_spawnattr_init (&attr, POSIX_SPAWN_SETSID); /* the monitor waits for its child */
  /* Move all three out of the way first, above every source, so no dup2
   * clobbers another's source (a fixed 100 did when one of them was 100:
   * regd holds many descriptors, and the pool's namespaces are opened
   * ahead, so a 1000-container storm met it: "join the network
   * namespace: Invalid argument"). */
  int tmp = status_fd > 99 ? status_fd : 99;
  tmp = attach_fd > tmp ? attach_fd : tmp;
  tmp = (netns_fd > tmp ? netns_fd : tmp) + 1;
  posix_spawn_file_actions_adddup2 (&fa, status_fd, tmp);
  if (attach_fd >= 0)
    posix_spawn_file_actions_adddup2 (&fa, attach_fd, tmp + 1);
  if (netns_fd >= 0)
    posix_spawn_file_actions_adddup2 (&fa, netns_fd, tmp + 2);
  posix_spawn_file_actions_adddup2 (&fa, tmp, FD_STATUS);
  if (attach_fd >= 0)
    posix_spawn_file_actions_adddup2 (&fa, tmp + 1, FD_ATTACH);
  if (netns_fd >= 0)
    posix_spawn_file_actions_adddup2 (&fa, tmp + 2, FD_NETNS);
  for (int fd = 0; fd < 3; fd++)
    posix_spawn_file_actions_addopen (&fa, fd, "/dev/null", O_RDWR, 0);
  posix_spawn_file_actions_addclosefrom_np (&fa, netns_fd >= 0    ? FD_NETNS + 1
                                                 : attach_fd >= 0 ? FD_ATTACH + 1
                                                                  : FD_STATUS + 1);
  char attach[2] = { attach_fd >= 0 ? '1' : '0', '\0' };
  char *argv[] = { (char *)"reg-monitor", (char *)root, (char *)c->id, attach, NULL };
  extern char **environ;
  int r = posix_spawn (pid, monitor_path, &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&attr);
  return r;
}

int
reg_monitor_main (int argc, char **argv)
{
  bool spare = argc == 5 && strcmp (argv[1], "--spare") == 0;
  if ((argc != 4 && !spare) || fcntl (FD_STATUS, F_GETFD) < 0)
    {
      fprintf (stderr, "reg-monitor: started by regd, not by hand\n");
      return 2;
    }
  const char *root = spare ? argv[2] : argv[1];
  char id[65];
  bool attach = false;
  struct reg_cgroup *ahead = NULL;
  if (spare && reg_monitor_spare_wait (argv, id, &attach, &ahead) < 0)
    return 0; /* regd did not need this spare */
  if (!spare)
    {
      snprintf (id, sizeof id, "%s", argv[2]);
      attach = strcmp (argv[3], "1") == 0;
    }
  reg_timing_init ();
  reg_timing_mark (id, "monitor.main");
  signal (SIGPIPE, SIG_IGN); /* a closed log reader must not kill us */
  /* The container is cloned from us and execs: it must not inherit these. */
  fcntl (FD_STATUS, F_SETFD, FD_CLOEXEC);
  fcntl (FD_ATTACH, F_SETFD, FD_CLOEXEC);
  struct reg_container *c = NULL;
  struct reg_error *e = NULL;
  if (reg_container_load (root, id, &c, &e) < 0)
    {
      struct reg_start_result res = { 0 };
      reg_proto_result_of_error (&res, 125, e);
      reg_proto_status_error (FD_STATUS, &res);
      reg_cgroup_destroy (ahead);
      reg_cgroup_free (ahead);
      return 125;
    }
  monitor_main (root, c, attach, ahead);
}

int
reg_monitor_start (const char *root, const struct reg_container *c, int attach_fd, int netns_fd,
                   struct reg_start_result *result, int *saving_fd)
{
  /* Next to regd, unless REG_MONITOR says where; resolved before the spawn. */
  _cleanup_free_ char *monitor_path = reg_util_sibling_program ("REG_MONITOR", "reg-monitor");
  if (monitor_path == NULL)
    {
      reg_proto_result_set (result, 125, ENOMEM, "container %.12s: the monitor", c->id);
      return -1;
    }
  int status[2];
  if (pipe2 (status, O_CLOEXEC) < 0)
    {
      reg_proto_result_set (result, 125, errno, "container %.12s: pipe", c->id);
      return -1;
    }
  pid_t pid;
  reg_timing_mark (c->id, "regd.monitor.spawn");
  int r = 0;
  if (reg_monitor_spare_take (root, c->id, attach_fd >= 0, status[1], attach_fd, netns_fd, &pid)
      < 0)
    r = spawn_monitor (monitor_path, root, c, status[1], attach_fd, netns_fd, &pid);
  close (status[1]);
  if (r != 0)
    {
      close (status[0]);
      reg_proto_result_set (result, 125, r, "container %.12s: cannot run the monitor %s", c->id,
                            monitor_path);
      return -1;
    }
  /* The next start's monitor, while this one sets its container up. */
  reg_monitor_spare_kick (monitor_path, root);
  struct reg_status st;
  struct reg_error *e = NULL;
  int ret = reg_proto_status_read (status[0], &st, &e);
  if (ret == 0 && st.kind == REG_STATUS_STARTED)
    {
      if (saving_fd == NULL)
        return reg_monitor_start_saved (status[0], c->id, result);
      *saving_fd = status[0];
      return 0;
    }
  close (status[0]);
  if (ret == 0 && st.kind == REG_STATUS_ERROR)
    *result = st.result;
  else
    reg_proto_result_set (result, 125, EIO, "container %.12s: monitor died before starting it (%s)",
                          c->id, e ? e->msg : "an unexpected status");
  reg_proto_status_clear (&st);
  reg_error_free (e);
  return -1;
}

int
reg_monitor_start_saved (int saving_fd, const char *id, struct reg_start_result *result)
{
  struct reg_status st;
  struct reg_error *e = NULL;
  int ret = reg_proto_status_read (saving_fd, &st, &e);
  close (saving_fd);
  if (ret == 0 && st.kind == REG_STATUS_OK)
    {
      reg_proto_status_clear (&st);
      return 0;
    }
  if (ret == 0 && st.kind == REG_STATUS_ERROR)
    *result = st.result;
  else
    reg_proto_result_set (result, 125, EIO,
                          "container %.12s: monitor died before recording it running (%s)", id,
                          e ? e->msg : "an unexpected status");
  reg_proto_status_clear (&st);
  reg_error_free (e);
  return -1;
}
