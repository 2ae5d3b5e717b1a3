/* engine_exec: reg exec, a new process in a running container, as
 * sessions (engine.h). A session is made by reg_engine_exec_create, started
 * once by reg_engine_exec_start, fed by reg_engine_exec_input and resized
 * by reg_engine_exec_resize; it ends when its process has exited and its
 * frames are written, or when the reader of its frames goes away (its
 * helper is killed then).
 *
 * Sessions live in this process's memory (one registry for the process:
 * regd has one engine): an exec does not outlive regd. Each started
 * session has a thread that turns the process's output into frames
 * (proto.h) on a pipe whose read end the caller streams. */
#include "cgroup.h"
#include "engine.h"
#include "proto.h"
#include "runtime.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define INPUT_WAIT_MS 5000 /* input may come while its start is under way */

struct exec_session
{
  char id[65];
  char container[65];
  char **argv, **env;
  char *workdir;
  bool tty, stdin_open;
  unsigned short rows, cols;
  bool started; /* claimed by a start */
  bool running; /* the helper reported "started": input may flow */
  pid_t helper;
  int in_w;         /* our end of the process's stdin (pipe, or the terminal) */
  int out_r, err_r; /* its stdout and stderr (pipes), or the terminal */
  int control;      /* the helper's status lines */
  int frames_w;     /* the frames' pipe */
  struct exec_session *next;
};

static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static struct exec_session *sessions;

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

static void
session_free (struct exec_session *s)
{
  reg_strv_free (s->argv);
  reg_strv_free (s->env);
  free (s->workdir);
  if (s->out_r == s->in_w)
    s->in_w = -1; /* a terminal: one fd both ways */
  close_fd (&s->in_w);
  close_fd (&s->out_r);
  close_fd (&s->err_r);
  close_fd (&s->control);
  close_fd (&s->frames_w);
  free (s);
}

static void
session_unlink (struct exec_session *s)
{
  pthread_mutex_lock (&sessions_lock);
  for (struct exec_session **p = &sessions; *p; p = &(*p)->next)
    if (*p == s)
      {
        *p = s->next;
        break;
      }
  pthread_mutex_unlock (&sessions_lock);
}

/* By full id, or a unique-looking prefix of 12 or more; the lock held. */
static struct exec_session *
session_find (const char *id)
{
  size_t n = strlen (id);
  for (struct exec_session *s = sessions; s; s = s->next)
    if (strcmp (s->id, id) == 0 || (n >= 12 && strncmp (s->id, id, n) == 0))
      return s;
  return NULL;
}

static int
check_options (const struct reg_exec_options *o, struct reg_error **err)
{
  if (reg_strv_len (o->cmd) == 0)
    return reg_error_set (err, EINVAL, "exec: no command given");
  for (size_t i = 0; o->env && o->env[i]; i++)
    if (strchr (o->env[i], '=') == NULL || o->env[i][0] == '=')
      return reg_error_set (err, EINVAL, "exec: environment entry \"%s\" is not KEY=VALUE",
                            o->env[i]);
  return 0;
}

/* The container's environment, then the exec's own (and TERM with a tty). */
static char **
session_env (const struct reg_container *c, const struct reg_exec_options *o)
{
  size_t nc = reg_strv_len (c->env), ne = reg_strv_len (o->env);
  char **env = calloc (nc + ne + 2, sizeof (char *));
  for (size_t i = 0; env && i < nc + ne; i++)
    if ((env[i] = strdup (i < nc ? c->env[i] : o->env[i - nc])) == NULL)
      {
        reg_strv_free (env);
        return NULL;
      }
  if (env && o->tty && (env[nc + ne] = strdup ("TERM=xterm")) == NULL)
    {
      reg_strv_free (env);
      return NULL;
    }
  return env;
}

int
reg_engine_exec_create (struct reg_engine *e, const char *ref, const struct reg_exec_options *o,
                        char id[65], struct reg_error **err)
{
  struct reg_container *c = NULL;
  if (check_options (o, err) < 0 || reg_engine_container_get (e, ref, &c, err) < 0)
    return -1;
  int ret = 0;
  struct exec_session *s = NULL;
  if (c->state != REG_STATE_RUNNING)
    ret = reg_error_set (err, EBUSY, "container %.12s: cannot exec: it is %s", c->id,
                         reg_container_state_name (c->state));
  else if ((s = calloc (1, sizeof *s)) == NULL)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  if (s)
    {
      s->in_w = s->out_r = s->err_r = s->control = s->frames_w = -1;
      snprintf (s->container, sizeof s->container, "%s", c->id);
      s->tty = o->tty;
      s->stdin_open = o->open_stdin;
      s->rows = o->rows;
      s->cols = o->cols;
      s->argv = reg_strv_dup (o->cmd);
      s->env = session_env (c, o);
      s->workdir = strdup (o->workdir ? o->workdir : c->workdir ? c->workdir : "/");
      if (s->argv == NULL || s->env == NULL || s->workdir == NULL)
        ret = reg_error_set (err, ENOMEM, "out of memory");
      else
        ret = reg_util_random_id (s->id, err);
    }
  reg_container_free (c);
  if (ret < 0)
    {
      if (s)
        session_free (s);
      return -1;
    }
  memcpy (id, s->id, 65);
  pthread_mutex_lock (&sessions_lock);
  s->next = sessions;
  sessions = s;
  pthread_mutex_unlock (&sessions_lock);
  return 0;
}

/* One chunk of output as a frame; false when the reader has gone. */
static bool
pump_one (struct exec_session *s, int *fd, int stream)
{
  char data[32768];
  ssize_t got = read (*fd, data, sizeof data);
  if (got < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (got <= 0) /* EOF, or EIO on a terminal whose last user is gone */
    {
      pthread_mutex_lock (&sessions_lock);
      if (s->tty && fd == &s->out_r)
        s->in_w = -1; /* the same fd: closed once, here */
      close_fd (fd);
      pthread_mutex_unlock (&sessions_lock);
      return true;
    }
  return reg_proto_frame_write (s->frames_w, stream, data, (size_t)got) == 0;
}

/* The session's thread: output as frames until both streams end, then the
 * exit frame; the helper is killed when the frames' reader goes away. */
static void *
pump (void *arg)
{
  struct exec_session *s = arg;
  bool reader = true;
  while (reader && (s->out_r >= 0 || s->err_r >= 0))
    {
      /* A pipe's write end reports POLLERR once its reader is gone. */
      struct pollfd p[3]
          = { { s->out_r, POLLIN, 0 }, { s->err_r, POLLIN, 0 }, { s->frames_w, 0, 0 } };
      if (poll (p, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (p[2].revents & (POLLERR | POLLHUP))
        reader = false;
      if (reader && p[0].revents && s->out_r >= 0)
        reader = pump_one (s, &s->out_r, REG_FRAME_STDOUT);
      if (reader && p[1].revents && s->err_r >= 0)
        reader = pump_one (s, &s->err_r, REG_FRAME_STDERR);
    }
  if (reader)
    {
      struct reg_status st;
      int code = 255; /* the helper died without saying */
      if (reg_proto_status_read (s->control, &st, NULL) == 0 && st.kind == REG_STATUS_EXIT)
        code = st.exit_code;
      reg_proto_status_clear (&st);
      reg_proto_frame_write_exit (s->frames_w, code);
    }
  else
    kill (s->helper, SIGKILL);
  session_unlink (s);
  session_free (s);
  return NULL;
}

/* Claim a session for its one start. */
static struct exec_session *
session_claim (const char *eid)
{
  struct exec_session *s = NULL;
  pthread_mutex_lock (&sessions_lock);
  for (struct exec_session *it = sessions; it; it = it->next)
    if (strcmp (it->id, eid) == 0 && !it->started)
      s = it;
  if (s)
    s->started = true;
  pthread_mutex_unlock (&sessions_lock);
  return s;
}

int
reg_engine_exec_spawn (const struct reg_container *c, struct reg_exec_spec *spec, pid_t *helper,
                       struct reg_error **err)
{
  struct reg_cgroup *cg = NULL;
  _cleanup_strv_ char **procs = NULL;
  if (c->state != REG_STATE_RUNNING)
    return reg_error_set (err, EBUSY, "container %.12s: cannot exec: it is %s", c->id,
                          reg_container_state_name (c->state));
  if (reg_cgroup_open (REG_CGROUP_FS, c->id, &cg, err) < 0)
    return -1;
  procs = reg_cgroup_procs_paths (cg);
  reg_cgroup_free (cg);
  if (procs == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  spec->target = c->pid;
  spec->cgroup_procs = procs;
  spec->security = &c->security;
  spec->ulimits = c->ulimits;
  spec->n_ulimits = c->n_ulimits;
  int ret = reg_runtime_exec (spec, helper, err);
  spec->cgroup_procs = NULL;
  return ret;
}

/* Fork the helper with the session's pipes; ours are kept in the session. */
static int
spawn_helper (struct reg_engine *e, struct exec_session *s, int ctl[2], struct reg_error **err)
{
  struct reg_container *c = NULL;
  int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
  int ret = reg_engine_container_get (e, s->container, &c, err);
  if (ret == 0
      && (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0
          || (!s->tty
              && (pipe2 (in, O_CLOEXEC) < 0 || pipe2 (out, O_CLOEXEC) < 0
                  || pipe2 (errp, O_CLOEXEC) < 0))))
    ret = reg_error_sys (err, errno, "exec %.12s: pipes", s->id);
  if (ret == 0)
    {
      struct reg_exec_spec spec = {
        .argv = s->argv,
        .env = s->env,
        .workdir = s->workdir,
        .tty = s->tty,
        .rows = s->rows,
        .cols = s->cols,
        .stdin_fd = in[0],
        .stdout_fd = out[1],
        .stderr_fd = errp[1],
        .control_fd = ctl[1],
      };
      ret = reg_engine_exec_spawn (c, &spec, &s->helper, err);
    }
  /* The helper has its ends; ours stay. */
  close_fd (&in[0]);
  close_fd (&out[1]);
  close_fd (&errp[1]);
  close_fd (&ctl[1]);
  reg_container_free (c);
  pthread_mutex_lock (&sessions_lock);
  s->in_w = in[1];
  s->out_r = out[0];
  s->err_r = errp[0];
  pthread_mutex_unlock (&sessions_lock);
  return ret;
}

/* The helper's first word: started, or the start result. */
static int
await_started (struct exec_session *s, int ctl, struct reg_start_result *res)
{
  int term = s->tty ? reg_util_recv_fd (ctl) : -1;
  struct reg_status st = { .kind = REG_STATUS_ERROR };
  struct reg_error *read_err = NULL;
  if (reg_proto_status_read (ctl, &st, &read_err) < 0)
    reg_proto_result_set (&st.result, 125, 0, "exec %.12s: the helper died (%s)", s->id,
                          read_err->msg);
  reg_error_free (read_err);
  reg_proto_status_clear (&st);
  pthread_mutex_lock (&sessions_lock);
  if (term >= 0)
    s->out_r = s->in_w = term; /* one fd both ways */
  s->control = ctl;
  s->running = st.kind == REG_STATUS_STARTED; /* from now on input may flow */
  if (s->running && !s->stdin_open && !s->tty)
    close_fd (&s->in_w); /* no input: the process sees end of file */
  pthread_mutex_unlock (&sessions_lock);
  if (st.kind == REG_STATUS_STARTED)
    return 0;
  *res = st.result;
  return -1;
}

int
reg_engine_exec_start (struct reg_engine *e, const char *eid, int *frames_fd,
                       struct reg_start_result *res)
{
  struct exec_session *s = session_claim (eid);
  if (s == NULL)
    {
      reg_proto_result_set (res, 0, 0, "exec %.12s: no such exec, or already started", eid);
      res->errnum = ENOENT;
      return -1;
    }
  struct reg_error *err = NULL;
  int ctl[2] = { -1, -1 }, frames[2] = { -1, -1 };
  int ret = pipe2 (frames, O_CLOEXEC) < 0 ? reg_error_sys (&err, errno, "exec %.12s: pipe", s->id)
                                          : spawn_helper (e, s, ctl, &err);
  if (ret < 0) /* refused before the helper ran */
    {
      reg_proto_result_of_error (res, 0, err);
      close_fd (&ctl[0]);
    }
  reg_error_free (err);
  if (ret == 0 && (ret = await_started (s, ctl[0], res)) == 0)
    {
      s->frames_w = frames[1];
      pthread_t t;
      pthread_attr_t attr;
      pthread_attr_init (&attr);
      pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
      ret = pthread_create (&t, &attr, pump, s);
      pthread_attr_destroy (&attr);
      if (ret == 0)
        {
          *frames_fd = frames[0];
          return 0;
        }
      reg_proto_result_set (res, 125, ret, "exec %.12s: thread", s->id);
      kill (s->helper, SIGKILL);
      ret = -1;
    }
  close_fd (&frames[0]);
  if (s->frames_w != frames[1])
    close_fd (&frames[1]);
  session_unlink (s);
  session_free (s);
  return ret;
}

int
reg_engine_exec_input (struct reg_engine *e, const char *eid, int *fd, struct reg_error **err)
{
  *fd = -1;
  for (int waited = 0; waited < INPUT_WAIT_MS; waited += 10)
    {
      pthread_mutex_lock (&sessions_lock);
      struct exec_session *s = session_find (eid);
      bool running = s && s->running, open = running && s->in_w >= 0;
      if (open)
        *fd = fcntl (s->in_w, F_DUPFD_CLOEXEC, 3);
      pthread_mutex_unlock (&sessions_lock);
      if (s == NULL)
        return reg_error_set (err, ENOENT, "exec %.12s: no such exec", eid);
      if (open && *fd < 0)
        return reg_error_sys (err, errno, "exec %.12s: input", eid);
      if (running)
        return open ? 0 : reg_error_set (err, EBUSY, "exec %.12s: input is closed", eid);
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  return reg_error_set (err, EBUSY, "exec %.12s: input is closed (it did not start)", eid);
}

void
reg_engine_exec_input_done (struct reg_engine *e, const char *eid)
{
  pthread_mutex_lock (&sessions_lock);
  struct exec_session *s = session_find (eid);
  if (s && !s->tty)
    close_fd (&s->in_w); /* with the caller's copy gone, the process sees end of file */
  pthread_mutex_unlock (&sessions_lock);
}

int
reg_engine_exec_resize (struct reg_engine *e, const char *eid, unsigned short rows,
                        unsigned short cols, struct reg_error **err)
{
  pthread_mutex_lock (&sessions_lock);
  struct exec_session *s = session_find (eid);
  int fd = s && s->tty && s->running && s->out_r >= 0 ? fcntl (s->out_r, F_DUPFD_CLOEXEC, 3) : -1;
  pthread_mutex_unlock (&sessions_lock);
  if (s == NULL)
    return reg_error_set (err, ENOENT, "exec %.12s: no such exec", eid);
  if (fd < 0)
    return reg_error_set (err, EBUSY, "exec %.12s: has no terminal (not started, or no -t)", eid);
  struct winsize ws = { .ws_row = rows, .ws_col = cols };
  int ok = ioctl (fd, TIOCSWINSZ, &ws);
  int saved = errno;
  close (fd);
  if (ok < 0)
    return reg_error_sys (err, saved, "resize exec %.12s", eid);
  return 0;
}
