#include "trace.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define STDERR_TAIL 1500
#define OUTPUT_MAX (64 << 20)

extern char **environ;

void
reg_trace_result_clear (struct reg_trace_result *r)
{
  reg_strv_free (r->read);
  reg_strv_free (r->written);
  memset (r, 0, sizeof *r);
}

int
reg_trace_check (const struct reg_trace_options *o, struct reg_error **err)
{
  if (o->argv == NULL || o->argv[0] == NULL || o->argv[0][0] == '\0')
    return reg_error_set (err, EINVAL, "trace: no command given (--trace -- CMD [ARGS])");
  if (o->timeout_s < 0 || o->timeout_s > 3600)
    return reg_error_set (err, EINVAL, "trace: time limit %d s: want 1 to 3600", o->timeout_s);
  if (o->stop_signal && reg_util_signal_number (o->stop_signal) <= 0)
    return reg_error_set (err, EINVAL, "trace: stop signal \"%s\" is not a signal", o->stop_signal);
  if (o->answer)
    {
      const char *colon = strrchr (o->answer, ':');
      char *end = NULL;
      long port = colon ? strtol (colon + 1, &end, 10) : 0;
      if (colon == NULL || colon == o->answer || end == colon + 1 || *end || port < 1
          || port > 65535)
        return reg_error_set (err, EINVAL, "trace: answer address \"%s\" is not HOST:PORT",
                              o->answer);
    }
  if (o->send && o->answer == NULL)
    return reg_error_set (err, EINVAL, "trace: a request to send needs an answer address");
  return 0;
}

/* reg-trace next to the running program (regd), unless REG_TRACE says. */
static char *
find_helper (void)
{
  const char *env = getenv ("REG_TRACE");
  if (env && *env)
    return strdup (env);
  char self[4096];
  ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return strdup ("/usr/local/bin/reg-trace");
  self[n] = '\0';
  char *slash = strrchr (self, '/'), *path = NULL;
  if (slash == NULL || asprintf (&path, "%.*s/reg-trace", (int)(slash - self), self) < 0)
    return NULL;
  return path;
}

static char **
helper_argv (const char *helper, const struct reg_trace_options *o, char timeout[16])
{
  size_t n = reg_strv_len (o->argv);
  char **v = calloc (n + 12, sizeof *v);
  if (v == NULL)
    return NULL;
  size_t k = 0;
  snprintf (timeout, 16, "%d", o->timeout_s ? o->timeout_s : 10);
  v[k++] = (char *)helper;
  v[k++] = (char *)"--timeout";
  v[k++] = timeout;
  if (o->stop_signal)
    {
      v[k++] = (char *)"--stop-signal";
      v[k++] = (char *)o->stop_signal;
    }
  if (o->answer)
    {
      v[k++] = (char *)"--answer";
      v[k++] = (char *)o->answer;
    }
  if (o->send)
    {
      v[k++] = (char *)"--send";
      v[k++] = (char *)o->send;
    }
  v[k++] = (char *)"--";
  for (size_t i = 0; i < n; i++)
    v[k++] = o->argv[i];
  return v;
}

/* Read stdout (all of it) and stderr (its tail) until both close. */
static int
collect (int out_fd, int err_fd, FILE *out, char *tail, size_t *tail_len)
{
  struct pollfd p[2] = { { out_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
  size_t total = 0;
  char buf[65536];
  while (p[0].fd >= 0 || p[1].fd >= 0)
    {
      if (poll (p, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      for (int i = 0; i < 2; i++)
        {
          if (p[i].fd < 0 || p[i].revents == 0)
            continue;
          ssize_t n = read (p[i].fd, buf, sizeof buf);
          if (n <= 0)
            {
              p[i].fd = -1;
              continue;
            }
          if (i == 0 && (total += (size_t)n) <= OUTPUT_MAX)
            fwrite (buf, 1, (size_t)n, out);
          if (i == 1)
            {
              /* Keep the last STDERR_TAIL bytes. */
              size_t keep = (size_t)n >= STDERR_TAIL ? 0 : STDERR_TAIL - (size_t)n;
              if (*tail_len > keep)
                {
                  memmove (tail, tail + *tail_len - keep, keep);
                  *tail_len = keep;
                }
              size_t take = (size_t)n > STDERR_TAIL ? STDERR_TAIL : (size_t)n;
              memcpy (tail + *tail_len, buf + n - take, take);
              *tail_len += take;
            }
        }
    }
  return 0;
}

static int
parse_output (char *text, struct reg_trace_result *r)
{
  size_t nr = 0, nw = 0;
  r->read = calloc (1, sizeof (char *));
  r->written = calloc (1, sizeof (char *));
  if (r->read == NULL || r->written == NULL)
    return -1;
  for (char *save = NULL, *line = strtok_r (text, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save))
    {
      if ((line[0] != 'r' && line[0] != 'w') || line[1] != ' ' || line[2] != '/')
        continue;
      char ***v = line[0] == 'r' ? &r->read : &r->written;
      size_t *n = line[0] == 'r' ? &nr : &nw;
      char **grown = realloc (*v, (*n + 2) * sizeof (char *));
      if (grown == NULL)
        return -1;
      *v = grown;
      if ((grown[*n] = strdup (line + 2)) == NULL)
        return -1;
      grown[++*n] = NULL;
    }
  return 0;
}

/* The reason reg-trace gave: its last "reg-trace: " line, with what the
 * command printed before it. */
static void
failure_text (char *tail, size_t len, char *reason, size_t size)
{
  tail[len] = '\0';
  char *last = NULL;
  for (char *p = strstr (tail, "reg-trace: "); p; p = strstr (p + 1, "reg-trace: "))
    last = p;
  snprintf (reason, size, "%s", last ? last + strlen ("reg-trace: ") : "reg-trace failed");
  reason[strcspn (reason, "\n")] = '\0';
  if (last)
    *last = '\0';
  /* The command's own last words, on one line. */
  char *cmd = tail;
  size_t n = strlen (cmd);
  while (n > 0 && (cmd[n - 1] == '\n' || cmd[n - 1] == ' '))
    cmd[--n] = '\0';
  char *from = strrchr (cmd, '\n');
  from = from ? from + 1 : cmd;
  if (*from)
    {
      size_t used = strlen (reason);
      snprintf (reason + used, size - used, " (its output ended: %.300s)", from);
    }
}

/* As reg-monitor is spawned: regd's blocked signals and its ignored
 * SIGCHLD (which would make waitpid never see the traced command) are
 * not passed on. */
static int
spawn_helper (char **argv, int out[2], int errp[2], pid_t *pid)
{
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  if (posix_spawn_file_actions_init (&fa) != 0)
    return ENOMEM;
  reg_util_spawnattr_init (&attr, 0);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, out[1], 1);
  posix_spawn_file_actions_adddup2 (&fa, errp[1], 2);
  int r = posix_spawn (pid, argv[0], &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&attr);
  return r;
}

int
reg_trace_run (const struct reg_trace_options *o, struct reg_trace_result *out,
               struct reg_error **err)
{
  memset (out, 0, sizeof *out);
  if (reg_trace_check (o, err) < 0)
    return -1;
  _cleanup_free_ char *helper = find_helper ();
  char timeout[16];
  _cleanup_free_ char **argv = helper ? helper_argv (helper, o, timeout) : NULL;
  int pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
  if (argv == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (pipe2 (pout, O_CLOEXEC) < 0 || pipe2 (perr, O_CLOEXEC) < 0)
    {
      int e = errno;
      close (pout[0]);
      close (pout[1]);
      return reg_error_sys (err, e, "trace: pipe");
    }
  double start = reg_util_now ();
  pid_t pid = 0;
  int r = spawn_helper (argv, pout, perr, &pid);
  close (pout[1]);
  close (perr[1]);
  char *text = NULL, tail[STDERR_TAIL + 1];
  size_t len = 0, tail_len = 0;
  FILE *mem = open_memstream (&text, &len);
  if (r == 0 && mem)
    collect (pout[0], perr[0], mem, tail, &tail_len);
  close (pout[0]);
  close (perr[0]);
  if (mem)
    fclose (mem);
  _cleanup_free_ char *owned = text;
  int status = 0;
  if (r == 0)
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
      ;
  out->seconds = reg_util_now () - start;
  if (r != 0)
    return reg_error_sys (err, r, "trace: cannot run %s", helper);
  if (mem == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  /* Its verdict is its last line (regd reaps children on its own, so the
   * exit status may be gone). */
  size_t tl = text ? strlen (text) : 0;
  bool ok = tl >= 5 && strcmp (text + tl - 5, "= ok\n") == 0;
  if (!ok)
    {
      char reason[2048];
      failure_text (tail, tail_len, reason, sizeof reason);
      return reg_error_set (err, EINVAL, "trace: %s", reason);
    }
  if (parse_output (text ? text : (char *)"", out) < 0)
    {
      reg_trace_result_clear (out);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  return 0;
}
