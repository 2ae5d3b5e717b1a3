/* reg-trace: run a command once in a sandbox that sees the host's files
 * read-only, and print every path it opened, executed or looked up.
 *
 *   reg-trace [--timeout S] [--stop-signal SIG] [--answer HOST:PORT [--send TEXT]] -- CMD...
 *
 * regd runs it for `reg template create --trace` (trace.h, docs/trace.md).
 * Output, one line per path, each once: "r PATH" (opened for reading,
 * executed, or looked up by stat/access/readlink) or "w PATH" (opened for
 * writing or created), then "= ok" when the run succeeded. Exit 0 when the run did what was asked
 * (without
 * --answer: the command exited 0 within the time limit; with it: the
 * command answered on HOST:PORT, and was then stopped); else 1 and one line
 * on stderr saying why.
 *
 * Sandbox: a new PID and mount namespace; the root is an overlay of the
 * host's root filesystem (lower) and a tmpfs (upper), so the command reads
 * the host's files and its writes go nowhere; /proc is its own, /dev and
 * /sys are the host's, read-only. The host network is kept, so a server can
 * be asked on loopback.
 *
 * Mechanism: a seccomp filter with SECCOMP_RET_USER_NOTIF on the path
 * system calls (open, openat, openat2, execve, execveat, stat, lstat,
 * newfstatat, statx, access, faccessat, faccessat2, readlink, readlinkat,
 * chdir; mkdir and mkdirat count as writes),
 * inherited by every process and thread the command starts. For each call
 * the tracer reads the path from the caller's memory (/proc/PID/mem),
 * resolves a relative one against its directory fd or cwd, and lets the call
 * go on unchanged (SECCOMP_USER_NOTIF_FLAG_CONTINUE). Why this and not
 * fanotify or ptrace: docs/trace.md.
 *
 * A program of its own (like reg-monitor): the child sets up namespaces and
 * the filter after fork, which a multi-threaded regd must not do.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/seccomp.h>
#include <netdb.h>
#include <poll.h>
#include <sched.h>
#include <search.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STOP_GRACE_S 5
#define PROBE_EVERY_MS 200

struct opts
{
  int timeout_s, stop_signal;
  const char *answer, *send;
  char **argv;
};

static void __attribute__ ((noreturn, format (printf, 1, 2))) die (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fputs ("reg-trace: ", stderr);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
  exit (1);
}

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the sandboxed child ---- */

static void
child_fail (int sock, const char *what)
{
  dprintf (2, "reg-trace: sandbox: %s: %s\n", what, strerror (errno));
  close (sock);
  _exit (126);
}

/* Root: overlay of / and a tmpfs; own /proc; the host's /dev and /sys. */
static void
enter_sandbox (int sock)
{
  if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    child_fail (sock, "new mount namespace");
  /* /tmp of this namespace only: it holds the layers. */
  if (mount ("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0
      || mkdir ("/tmp/upper", 0755) < 0 || mkdir ("/tmp/work", 0700) < 0
      || mkdir ("/tmp/root", 0755) < 0)
    child_fail (sock, "tmpfs for the writable layer");
  if (mount ("overlay", "/tmp/root", "overlay", 0,
             "lowerdir=/,upperdir=/tmp/upper,workdir=/tmp/work")
      < 0)
    child_fail (sock, "overlay of the host root");
  if (mount ("proc", "/tmp/root/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    child_fail (sock, "mount /proc");
  const char *binds[] = { "/dev", "/sys" };
  for (size_t i = 0; i < 2; i++)
    {
      char to[64];
      snprintf (to, sizeof to, "/tmp/root%s", binds[i]);
      if (mount (binds[i], to, NULL, MS_BIND | MS_REC, NULL) < 0
          || mount (NULL, to, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0)
        child_fail (sock, binds[i]);
    }
  /* pivot_root, so that every path the kernel shows the tracer
   * (/proc/PID/cwd, /proc/PID/fd/N) is the path in the sandbox. */
  if (chdir ("/tmp/root") < 0 || syscall (SYS_pivot_root, ".", ".") < 0
      || umount2 (".", MNT_DETACH) < 0 || chdir ("/") < 0)
    child_fail (sock, "pivot_root");
}

static const int traced_calls[]
    = { SCMP_SYS (open),     SCMP_SYS (openat),     SCMP_SYS (openat2),   SCMP_SYS (execve),
        SCMP_SYS (execveat), SCMP_SYS (stat),       SCMP_SYS (lstat),     SCMP_SYS (newfstatat),
        SCMP_SYS (statx),    SCMP_SYS (access),     SCMP_SYS (faccessat), SCMP_SYS (faccessat2),
        SCMP_SYS (readlink), SCMP_SYS (readlinkat), SCMP_SYS (chdir),     SCMP_SYS (mkdir),
        SCMP_SYS (mkdirat) };

static volatile pid_t command_pid;

static void
forward (int sig)
{
  if (command_pid > 0)
    kill (command_pid, sig);
}

static void __attribute__ ((noreturn)) run_child (int sock, char **argv)
{
  enter_sandbox (sock);
  scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
  if (ctx == NULL)
    child_fail (sock, "seccomp_init");
  /* root already: no_new_privs would only change what a set-ID program does. */
  seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0);
  for (size_t i = 0; i < sizeof traced_calls / sizeof traced_calls[0]; i++)
    if (traced_calls[i] >= 0 && seccomp_rule_add (ctx, SCMP_ACT_NOTIFY, traced_calls[i], 0) < 0)
      child_fail (sock, "seccomp rule");
  if (seccomp_load (ctx) < 0)
    child_fail (sock, "load the seccomp filter");
  int fd = seccomp_notify_fd (ctx);
  if (fd < 0)
    child_fail (sock, "seccomp_notify_fd");
  reg_util_send_fd (sock, fd);
  close (fd);
  close (sock);
  /* This process stays PID 1 and passes signals on: the namespace's init
   * ignores the ones it has no handler for, which the command may not have. */
  pid_t cmd = fork ();
  if (cmd == 0)
    {
      execvp (argv[0], argv);
      dprintf (2, "reg-trace: %s: %s\n", argv[0], strerror (errno));
      _exit (127);
    }
  if (cmd < 0)
    _exit (126);
  command_pid = cmd;
  struct sigaction sa = { .sa_handler = forward };
  const int sigs[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2 };
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaction (sigs[i], &sa, NULL);
  int status;
  while (waitpid (cmd, &status, 0) < 0)
    if (errno != EINTR)
      _exit (126);
  _exit (WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status));
}

/* ---- the tracer ---- */

struct tracer
{
  void *seen; /* tsearch of printed lines (kept to the end: static) */
  unsigned long events;
};

static struct tracer tracer;

static void
emit (struct tracer *t, char kind, const char *path)
{
  if (strchr (path, '\n'))
    return;
  char *line = NULL;
  if (asprintf (&line, "%c %s", kind, path) < 0)
    return;
  char **found = tsearch (line, &t->seen, (int (*) (const void *, const void *))strcmp);
  if (found == NULL || *found != line)
    {
      free (line);
      return;
    }
  printf ("%s\n", line);
}

/* A NUL-terminated string at `addr` in process `pid`. */
static bool
read_string (pid_t pid, unsigned long addr, char *out, size_t size)
{
  char mem[64];
  snprintf (mem, sizeof mem, "/proc/%d/mem", (int)pid);
  int fd = open (mem, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t n = pread (fd, out, size - 1, (off_t)addr);
  close (fd);
  if (n <= 0)
    return false;
  out[n] = '\0';
  return memchr (out, '\0', (size_t)n) != NULL || (size_t)n < size - 1;
}

/* The directory a relative path starts from: the cwd or a directory fd. */
static bool
base_dir (pid_t pid, int dirfd, char *out, size_t size)
{
  char link[64];
  if (dirfd == AT_FDCWD)
    snprintf (link, sizeof link, "/proc/%d/cwd", (int)pid);
  else
    snprintf (link, sizeof link, "/proc/%d/fd/%d", (int)pid, dirfd);
  ssize_t n = readlink (link, out, size - 1);
  if (n <= 0)
    return false;
  out[n] = '\0';
  return out[0] == '/';
}

/* Which argument holds the path (and the dirfd, -1 if none); false for a
 * call without one. */
static bool
path_args (int nr, int *path_arg, int *dirfd_arg)
{
  *dirfd_arg = -1;
  *path_arg = 0;
  if (nr == SCMP_SYS (openat) || nr == SCMP_SYS (openat2) || nr == SCMP_SYS (execveat)
      || nr == SCMP_SYS (newfstatat) || nr == SCMP_SYS (statx) || nr == SCMP_SYS (faccessat)
      || nr == SCMP_SYS (faccessat2) || nr == SCMP_SYS (readlinkat) || nr == SCMP_SYS (mkdirat))
    {
      *dirfd_arg = 0;
      *path_arg = 1;
    }
  return true;
}

static char
access_kind (const struct seccomp_data *d)
{
  unsigned long flags = 0;
  if (d->nr == SCMP_SYS (open))
    flags = d->args[1];
  else if (d->nr == SCMP_SYS (openat))
    flags = d->args[2];
  else if (d->nr == SCMP_SYS (openat2))
    return 'r'; /* struct open_how: read as a look-up */
  else if (d->nr == SCMP_SYS (mkdir) || d->nr == SCMP_SYS (mkdirat))
    return 'w';
  return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) ? 'w' : 'r';
}

static void
record (struct tracer *t, const struct seccomp_notif *req)
{
  int path_arg, dirfd_arg;
  char path[4096], base[4096], full[8200];
  if (!path_args (req->data.nr, &path_arg, &dirfd_arg)
      || !read_string (req->pid, req->data.args[path_arg], path, sizeof path) || path[0] == '\0')
    return;
  if (path[0] == '/')
    snprintf (full, sizeof full, "%s", path);
  else
    {
      int dirfd = dirfd_arg >= 0 ? (int)req->data.args[dirfd_arg] : AT_FDCWD;
      if (!base_dir (req->pid, dirfd, base, sizeof base))
        return;
      snprintf (full, sizeof full, "%s/%s", strcmp (base, "/") == 0 ? "" : base, path);
    }
  t->events++;
  emit (t, access_kind (&req->data), full);
}

static int
serve_one (struct tracer *t, int notify_fd)
{
  struct seccomp_notif *req = NULL;
  struct seccomp_notif_resp *resp = NULL;
  if (seccomp_notify_alloc (&req, &resp) < 0)
    return -1;
  int ret = seccomp_notify_receive (notify_fd, req);
  if (ret == 0)
    {
      record (t, req);
      resp->id = req->id;
      resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      resp->error = 0;
      resp->val = 0;
      seccomp_notify_respond (notify_fd, resp); /* ENOENT: the caller died meanwhile */
    }
  seccomp_notify_free (req, resp);
  return 0;
}

/* ---- asking the server ---- */

struct probe
{
  const char *answer, *send;
  struct addrinfo *addr;
  int fd;
  double next;
  bool answered;
};

static void
probe_init (struct probe *p, const char *answer, const char *send)
{
  memset (p, 0, sizeof *p);
  p->answer = answer;
  p->send = send;
  p->fd = -1;
  if (answer == NULL)
    return;
  char host[256];
  const char *colon = strrchr (answer, ':');
  if (colon == NULL || colon == answer || (size_t)(colon - answer) >= sizeof host)
    die ("--answer %s: want HOST:PORT", answer);
  snprintf (host, sizeof host, "%.*s", (int)(colon - answer), answer);
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
  int r = getaddrinfo (host, colon + 1, &hints, &p->addr);
  if (r != 0)
    die ("--answer %s: %s", answer, gai_strerror (r));
}

/* Try to connect (at most every PROBE_EVERY_MS); once connected, send. */
static void
probe_step (struct probe *p)
{
  if (p->answer == NULL || p->fd >= 0 || p->answered || now () < p->next)
    return;
  p->next = now () + PROBE_EVERY_MS / 1000.0;
  int fd = socket (p->addr->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return;
  if (connect (fd, p->addr->ai_addr, p->addr->ai_addrlen) < 0)
    {
      close (fd);
      return;
    }
  if (p->send && *p->send && reg_util_write_all (fd, p->send, strlen (p->send)) < 0)
    {
      close (fd);
      return;
    }
  p->fd = fd;
}

static void
probe_read (struct probe *p)
{
  char buf[512];
  ssize_t n = read (p->fd, buf, sizeof buf);
  if (n > 0)
    p->answered = true;
  close (p->fd);
  p->fd = -1;
}

/* ---- the run ---- */

static int
wait_child (pid_t child, int *status, bool block)
{
  pid_t r;
  do
    r = waitpid (child, status, block ? 0 : WNOHANG);
  while (r < 0 && errno == EINTR);
  return r == child;
}

/* Serve notifications until the child exits, the server answers, or the
 * time is up; then stop it. 0 and the child's status, or dies. */
static int
trace_loop (struct tracer *t, const struct opts *o, pid_t child, int notify_fd)
{
  struct probe p;
  probe_init (&p, o->answer, o->send);
  double deadline = now () + o->timeout_s, stop_at = 0;
  int status = 0;
  bool exited = false, stopping = false;
  while (!exited)
    {
      struct pollfd fds[2] = { { notify_fd, POLLIN, 0 }, { p.fd, POLLIN, 0 } };
      int n = poll (fds, p.fd >= 0 ? 2 : 1, 50);
      if (n > 0 && (fds[0].revents & POLLIN))
        serve_one (t, notify_fd);
      if (n > 0 && p.fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
        probe_read (&p);
      exited = wait_child (child, &status, false);
      if (exited)
        break;
      probe_step (&p);
      if (!stopping && (p.answered || now () > deadline))
        {
          stopping = true;
          stop_at = now () + STOP_GRACE_S;
          kill (child, p.answered ? o->stop_signal : SIGKILL);
        }
      if (stopping && now () > stop_at)
        kill (child, SIGKILL);
    }
  if (p.addr)
    freeaddrinfo (p.addr);
  if (p.answer && !p.answered)
    {
      if (now () > deadline)
        die ("%s did not answer on %s within %d s", o->argv[0], o->answer, o->timeout_s);
      die ("%s exited (%s %d) before answering on %s", o->argv[0],
           WIFSIGNALED (status) ? "signal" : "status",
           WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status), o->answer);
    }
  if (p.answer == NULL && stopping)
    die ("%s did not finish within %d s (a server? give --answer HOST:PORT)", o->argv[0],
         o->timeout_s);
  /* (PID 1 exits 128+N when the command was killed by signal N.) */
  if (p.answer == NULL && !(WIFEXITED (status) && WEXITSTATUS (status) == 0))
    die ("%s failed (%s %d)", o->argv[0], WIFSIGNALED (status) ? "signal" : "exit status",
         WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status));
  return 0;
}

static void
parse_opts (int argc, char **argv, struct opts *o)
{
  static const struct option longopts[] = { { "timeout", required_argument, NULL, 't' },
                                            { "stop-signal", required_argument, NULL, 's' },
                                            { "answer", required_argument, NULL, 'a' },
                                            { "send", required_argument, NULL, 'd' },
                                            { NULL, 0, NULL, 0 } };
  *o = (struct opts){ .timeout_s = 10, .stop_signal = SIGTERM };
  int c;
  while ((c = getopt_long (argc, argv, "+", longopts, NULL)) != -1)
    switch (c)
      {
      case 't':
        o->timeout_s = atoi (optarg);
        if (o->timeout_s < 1 || o->timeout_s > 3600)
          die ("--timeout %s: want 1 to 3600 seconds", optarg);
        break;
      case 's':
        if ((o->stop_signal = reg_util_signal_number (optarg)) <= 0)
          die ("--stop-signal %s: not a signal", optarg);
        break;
      case 'a':
        o->answer = optarg;
        break;
      case 'd':
        o->send = optarg;
        break;
      default:
        die ("usage: reg-trace [--timeout S] [--stop-signal SIG] [--answer HOST:PORT [--send "
             "TEXT]] -- CMD...");
      }
  if (optind >= argc)
    die ("no command to trace");
  o->argv = argv + optind;
}

int
main (int argc, char **argv)
{
  struct opts o;
  parse_opts (argc, argv, &o);
  /* waitpid must see the command (an inherited SIG_IGN would reap it). */
  signal (SIGCHLD, SIG_DFL);
  int sv[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    die ("socketpair: %s", strerror (errno));
  /* The command is PID 1 of its own namespace: killing it ends every
   * process it started. clone, as fork would be, but into a new PID
   * namespace (unshare would stop this process from making threads, which
   * the sanitizers need). */
  fflush (stdout);
  pid_t child = (pid_t)syscall (SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);
  if (child < 0)
    die ("new PID namespace: %s", strerror (errno));
  if (child == 0)
    {
      close (sv[0]);
      /* Its output is not the path list: to stderr, with ours. */
      dup2 (2, 1);
      run_child (sv[1], o.argv);
    }
  close (sv[1]);
  int notify_fd = reg_util_recv_fd (sv[0]);
  close (sv[0]);
  int status = 0;
  if (notify_fd < 0)
    {
      wait_child (child, &status, true);
      die ("the sandbox could not be set up (exit status %d)", WEXITSTATUS (status));
    }
  double start = now ();
  trace_loop (&tracer, &o, child, notify_fd);
  fprintf (stderr, "reg-trace: %lu path calls in %.2f s\n", tracer.events, now () - start);
  /* The verdict on stdout too: regd ignores SIGCHLD, so it cannot wait
   * for our exit status. */
  printf ("= ok\n");
  return fflush (stdout) == 0 ? 0 : 1;
}
