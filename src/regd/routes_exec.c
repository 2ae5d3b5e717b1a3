/* /v1/containers/{id}/exec and /v1/exec/{eid}/...: a new process in a
 * running container (reg exec).
 *
 *   POST /v1/containers/{id}/exec  {Cmd, Env?, WorkingDir?, Tty?, AttachStdin?}
 *        -> 201 {"Id": exec id}
 *   POST /v1/exec/{eid}/start      -> 200 frame stream (stdout, stderr, exit),
 *        or an error with ExitCode 125/126/127 when it cannot start
 *   POST /v1/exec/{eid}/stdin      the request body, streamed as it comes, is
 *        the process's input; its end closes the input
 *   POST /v1/exec/{eid}/resize?h=ROWS&w=COLS   the terminal's size (Tty)
 *
 * Sessions live in regd's memory: an exec does not outlive regd (its
 * process is killed with the stream when the client goes away). */
#include "runtime.h"
#include "server.h"
#include "monitor.h"
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

struct session
{
  char id[65];
  char container[65];
  char **argv, **env;
  char *workdir;
  bool tty, stdin_open;
  unsigned short rows, cols;
  bool started;
  pid_t helper;
  int in_w;         /* our end of the process's stdin (pipe, or the terminal) */
  int out_r, err_r; /* its stdout and stderr (pipes), or the terminal */
  int control;      /* helper's reports */
  int client_fd;
  unsigned char *frame;
  size_t frame_len, frame_off;
  bool done;
  struct session *next;
};

static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static struct session *sessions;

static void
session_free (struct session *s)
{
  reg_strv_free (s->argv);
  reg_strv_free (s->env);
  free (s->workdir);
  free (s->frame);
  for (int *fd = &s->in_w; fd <= &s->control; fd++)
    if (*fd >= 0)
      close (*fd);
  free (s);
}

static void
session_unlink (struct session *s)
{
  pthread_mutex_lock (&sessions_lock);
  for (struct session **p = &sessions; *p; p = &(*p)->next)
    if (*p == s)
      {
        *p = s->next;
        break;
      }
  pthread_mutex_unlock (&sessions_lock);
}

/* Find a session; *fd_out (if asked) gets a dup of its input or terminal. */
static bool
session_find (const char *id, bool want_terminal, int *fd_out)
{
  bool found = false;
  pthread_mutex_lock (&sessions_lock);
  for (struct session *s = sessions; s; s = s->next)
    if (strcmp (s->id, id) == 0 || (strlen (id) >= 12 && strncmp (s->id, id, strlen (id)) == 0))
      {
        found = true;
        int fd = want_terminal ? (s->tty ? s->out_r : -1) : s->in_w;
        if (fd_out)
          *fd_out = fd >= 0 && s->started ? fcntl (fd, F_DUPFD_CLOEXEC, 3) : -1;
        break;
      }
  pthread_mutex_unlock (&sessions_lock);
  return found;
}

enum MHD_Result
regd_exec_create (struct regd *d, struct request *r, const char *ref)
{
  static const char *const keys[]
      = { "Cmd",          "Env",          "WorkingDir",  "Tty", "AttachStdin",
          "AttachStdout", "AttachStderr", "ConsoleSize", NULL };
  const char *what = "exec";
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *body = regd_body_object (r, what, &err);
  if (body == NULL)
    return regd_reply_error (r, err);
  _cleanup_strv_ char **cmd = NULL, **env = NULL;
  const char *workdir = NULL;
  struct reg_container *c = NULL;
  int ret = regd_json_only_keys (body, keys, what, &err);
  if (ret == 0)
    ret = regd_json_strv (body, "Cmd", what, &cmd, &err);
  if (ret == 0)
    ret = regd_json_strv (body, "Env", what, &env, &err);
  if (ret == 0)
    ret = regd_json_string (body, "WorkingDir", what, &workdir, &err);
  if (ret == 0 && reg_strv_len (cmd) == 0)
    ret = reg_error_set (&err, EINVAL, "exec: no command given");
  for (size_t i = 0; ret == 0 && env && env[i]; i++)
    if (strchr (env[i], '=') == NULL || env[i][0] == '=')
      ret = reg_error_set (&err, EINVAL, "exec: environment entry \"%s\" is not KEY=VALUE", env[i]);
  if (ret == 0)
    ret = reg_engine_container_get (d->engine, ref, &c, &err);
  if (ret == 0 && c->state != REG_STATE_RUNNING)
    ret = reg_error_set (&err, EBUSY, "container %.12s: cannot exec: it is %s", c->id,
                         reg_container_state_name (c->state));
  struct session *s = ret == 0 ? calloc (1, sizeof *s) : NULL;
  if (ret == 0 && s == NULL)
    ret = reg_error_set (&err, ENOMEM, "out of memory");
  if (ret == 0)
    {
      s->in_w = s->out_r = s->err_r = s->control = s->client_fd = -1;
      snprintf (s->container, sizeof s->container, "%s", c->id);
      s->tty = json_is_true (json_object_get (body, "Tty"));
      s->stdin_open = json_is_true (json_object_get (body, "AttachStdin"));
      json_t *size = json_object_get (body, "ConsoleSize"); /* [rows, cols] */
      json_int_t rows = json_integer_value (json_array_get (size, 0));
      json_int_t cols = json_integer_value (json_array_get (size, 1));
      if (rows > 0 && rows < 10000 && cols > 0 && cols < 10000)
        {
          s->rows = (unsigned short)rows;
          s->cols = (unsigned short)cols;
        }
      s->argv = reg_steal (&cmd);
      /* The container's environment, then the exec's own. */
      size_t nc = reg_strv_len (c->env), ne = reg_strv_len (env);
      s->env = calloc (nc + ne + 2, sizeof (char *));
      for (size_t i = 0; s->env && i < nc + ne; i++)
        s->env[i] = strdup (i < nc ? c->env[i] : env[i - nc]);
      if (s->tty && s->env)
        s->env[nc + ne] = strdup ("TERM=xterm");
      s->workdir = strdup (workdir ? workdir : c->workdir ? c->workdir : "/");
      if (reg_util_random_id (s->id, &err) < 0 || s->env == NULL || s->workdir == NULL)
        ret = -1;
    }
  reg_container_free (c);
  json_decref (body);
  if (ret < 0)
    {
      if (s)
        session_free (s);
      return regd_reply_error (r, err);
    }
  pthread_mutex_lock (&sessions_lock);
  s->next = sessions;
  sessions = s;
  pthread_mutex_unlock (&sessions_lock);
  return regd_reply_json (r, MHD_HTTP_CREATED, json_pack ("{s:s}", "Id", s->id));
}

/* One line from the helper: "started PID", "error CODE MSG", "exit CODE". */
static int
read_line (int fd, char *buf, size_t size)
{
  size_t got = 0;
  while (got < size - 1)
    {
      ssize_t n = read (fd, buf + got, 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      if (buf[got] == '\n')
        break;
      got++;
    }
  buf[got] = '\0';
  return (int)got;
}

static void
set_frame (struct session *s, int stream, const void *data, size_t len)
{
  free (s->frame);
  s->frame = malloc (8 + len);
  s->frame_len = s->frame ? 8 + len : 0;
  s->frame_off = 0;
  if (s->frame)
    {
      reg_frame_header (s->frame, stream, (unsigned)len);
      memcpy (s->frame + 8, data, len);
    }
}

static ssize_t
exec_reader (void *cls, uint64_t pos, char *buf, size_t max)
{
  struct session *s = cls;
  while (s->frame_off == s->frame_len)
    {
      if (s->done)
        return MHD_CONTENT_READER_END_OF_STREAM;
      if (s->out_r < 0 && s->err_r < 0)
        {
          char line[256];
          read_line (s->control, line, sizeof line);
          int code = 255;
          sscanf (line, "exit %d", &code);
          unsigned char c[4] = { (unsigned char)(code >> 24), (unsigned char)(code >> 16),
                                 (unsigned char)(code >> 8), (unsigned char)code };
          set_frame (s, REG_FRAME_EXIT, c, 4);
          s->done = true;
          continue;
        }
      struct pollfd p[3]
          = { { s->out_r, POLLIN, 0 }, { s->err_r, POLLIN, 0 }, { s->client_fd, POLLRDHUP, 0 } };
      int n = poll (p, 3, -1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 || (p[2].revents & (POLLRDHUP | POLLHUP | POLLERR)))
        {
          kill (s->helper, SIGKILL);
          return MHD_CONTENT_READER_END_WITH_ERROR;
        }
      for (int i = 0; i < 2; i++)
        {
          int *fd = i == 0 ? &s->out_r : &s->err_r;
          if (*fd < 0 || !p[i].revents)
            continue;
          char data[32768];
          ssize_t got = read (*fd, data, sizeof data);
          if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
          if (got <= 0) /* EOF, or EIO on a terminal whose last user is gone */
            {
              if (s->tty && fd == &s->out_r)
                s->in_w = -1; /* the same fd: closed once, below */
              close (*fd);
              *fd = -1;
              continue;
            }
          set_frame (s, i == 0 ? REG_FRAME_STDOUT : REG_FRAME_STDERR, data, (size_t)got);
          break;
        }
    }
  size_t n = s->frame_len - s->frame_off;
  if (n > max)
    n = max;
  memcpy (buf, s->frame + s->frame_off, n);
  s->frame_off += n;
  return (ssize_t)n;
}

static void
exec_done (void *cls)
{
  struct session *s = cls;
  session_unlink (s);
  session_free (s);
}

enum MHD_Result
regd_exec_start (struct regd *d, struct request *r, const char *eid)
{
  _cleanup_error_ struct reg_error *err = NULL;
  struct session *s = NULL;
  pthread_mutex_lock (&sessions_lock);
  for (struct session *it = sessions; it; it = it->next)
    if (strcmp (it->id, eid) == 0 && !it->started)
      s = it;
  if (s)
    s->started = true; /* claimed: one start per exec */
  pthread_mutex_unlock (&sessions_lock);
  if (s == NULL)
    return regd_reply_message (r, MHD_HTTP_NOT_FOUND,
                               "exec %.12s: no such exec, or already started", eid);
  struct reg_container *c = NULL;
  struct reg_cgroup *cg = NULL;
  _cleanup_strv_ char **procs = NULL;
  int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 }, ctl[2] = { -1, -1 };
  int ret = reg_engine_container_get (d->engine, s->container, &c, &err);
  if (ret == 0 && c->state != REG_STATE_RUNNING)
    ret = reg_error_set (&err, EBUSY, "container %.12s: cannot exec: it is %s", c->id,
                         reg_container_state_name (c->state));
  if (ret == 0 && reg_cgroup_open (REG_CGROUP_FS, c->id, &cg, &err) == 0)
    procs = reg_cgroup_procs_paths (cg);
  if (ret == 0
      && (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0
          || (!s->tty
              && (pipe2 (in, O_CLOEXEC) < 0 || pipe2 (out, O_CLOEXEC) < 0
                  || pipe2 (errp, O_CLOEXEC) < 0))))
    ret = reg_error_sys (&err, errno, "exec %.12s: pipes", s->id);
  if (ret == 0)
    {
      struct reg_exec_spec spec = {
        .target = c->pid,
        .cgroup_procs = procs,
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
        .security = &c->security,
        .ulimits = c->ulimits,
        .n_ulimits = c->n_ulimits,
      };
      ret = reg_runtime_exec (&spec, &s->helper, &err);
    }
  /* The helper has its ends; ours stay. */
  int theirs[] = { in[0], out[1], errp[1], ctl[1] };
  for (size_t i = 0; i < sizeof theirs / sizeof theirs[0]; i++)
    if (theirs[i] >= 0)
      close (theirs[i]);
  reg_cgroup_free (cg);
  reg_container_free (c);
  pthread_mutex_lock (&sessions_lock);
  s->in_w = in[1];
  s->out_r = out[0];
  s->err_r = errp[0];
  pthread_mutex_unlock (&sessions_lock);
  char line[1200] = "";
  int term = -1;
  if (ret == 0 && s->tty)
    term = reg_util_recv_fd (ctl[0]);
  if (ret == 0)
    read_line (ctl[0], line, sizeof line);
  pthread_mutex_lock (&sessions_lock);
  if (term >= 0)
    s->out_r = s->in_w = term; /* one fd both ways */
  s->control = ctl[0];         /* from now on input may flow */
  pthread_mutex_unlock (&sessions_lock);
  int code = 125, off = 0;
  if (ret == 0 && strncmp (line, "started ", 8) != 0)
    {
      if (sscanf (line, "error %d %n", &code, &off) < 1 || off == 0)
        snprintf (line, sizeof line, "error 125 exec %.12s: the helper died", s->id), off = 10;
      ret = reg_error_set (&err,
                           code == 127   ? ENOENT
                           : code == 126 ? EACCES
                                         : EINVAL,
                           "%s", line + off);
    }
  if (ret < 0)
    {
      json_t *j = json_pack ("{s:s, s:i}", "message", err->msg, "ExitCode", code);
      session_unlink (s);
      session_free (s);
      return regd_reply_json (
          r, code == 127 || code == 126 ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR, j);
    }
  if (!s->stdin_open && !s->tty && s->in_w >= 0)
    {
      close (s->in_w); /* no input: the process sees end of file */
      s->in_w = -1;
    }
  s->client_fd = regd_client_fd (r);
  struct MHD_Response *resp
      = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 32 * 1024, exec_reader, s, exec_done);
  MHD_add_response_header (resp, "Content-Type", "application/vnd.reg.stream");
  enum MHD_Result mr = MHD_queue_response (r->conn, MHD_HTTP_OK, resp);
  MHD_destroy_response (resp);
  return mr;
}

/* The body of POST /exec/{eid}/stdin is written to the process as it comes
 * (server.c calls this before reading the body). */
int
regd_exec_stdin_fd (const char *eid)
{
  /* The client may send its input while the start is still under way. */
  for (int i = 0; i < 500; i++)
    {
      int fd = -1;
      bool started = false;
      pthread_mutex_lock (&sessions_lock);
      struct session *s = sessions;
      while (s && strcmp (s->id, eid) != 0)
        s = s->next;
      if (s == NULL)
        {
          pthread_mutex_unlock (&sessions_lock);
          return -2;
        }
      started = s->started && (s->control >= 0);
      if (started && s->in_w >= 0)
        fd = fcntl (s->in_w, F_DUPFD_CLOEXEC, 3);
      pthread_mutex_unlock (&sessions_lock);
      if (started)
        return fd;
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  return -1;
}

void
regd_exec_stdin_done (const char *eid)
{
  pthread_mutex_lock (&sessions_lock);
  for (struct session *s = sessions; s; s = s->next)
    if (strcmp (s->id, eid) == 0 && !s->tty && s->in_w >= 0)
      {
        close (s->in_w); /* with the client's copy gone, the process sees end of file */
        s->in_w = -1;
      }
  pthread_mutex_unlock (&sessions_lock);
}

enum MHD_Result
regd_exec_resize (struct regd *d, struct request *r, const char *eid)
{
  const char *h = regd_query (r, "h"), *w = regd_query (r, "w");
  int rows = h ? atoi (h) : 0, cols = w ? atoi (w) : 0;
  if (rows <= 0 || cols <= 0 || rows > 10000 || cols > 10000)
    return regd_reply_message (r, MHD_HTTP_BAD_REQUEST, "resize %.12s: want h=ROWS&w=COLS", eid);
  int fd = -1;
  if (!session_find (eid, true, &fd))
    return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "exec %.12s: no such exec", eid);
  if (fd < 0)
    return regd_reply_message (r, MHD_HTTP_CONFLICT,
                               "exec %.12s: has no terminal (not started, or no -t)", eid);
  struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
  int ok = ioctl (fd, TIOCSWINSZ, &ws);
  close (fd);
  if (ok < 0)
    return regd_reply_message (r, MHD_HTTP_INTERNAL_SERVER_ERROR, "resize %.12s: %s", eid,
                               strerror (errno));
  return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
}

enum MHD_Result
regd_route_exec (struct regd *d, struct request *r, const char *eid, const char *action)
{
  if (eid && action && strcmp (r->method, "POST") == 0 && strcmp (action, "start") == 0)
    return regd_exec_start (d, r, eid);
  if (eid && action && strcmp (r->method, "POST") == 0 && strcmp (action, "resize") == 0)
    return regd_exec_resize (d, r, eid);
  if (eid && action && strcmp (r->method, "POST") == 0 && strcmp (action, "stdin") == 0)
    {
      if (r->sink_fd == -2)
        return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "exec %.12s: no such exec", eid);
      if (r->sink_fd == -1)
        return regd_reply_message (r, MHD_HTTP_CONFLICT, "exec %.12s: input is closed", eid);
      return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
    }
  return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s /v1/exec/%s/%s", r->method,
                             eid ? eid : "", action ? action : "");
}
