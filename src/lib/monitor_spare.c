/* The spare monitor (monitor.h): one reg-monitor that regd starts ahead,
 * already exec'd and loaded, waiting on a socket for the container it will
 * supervise. regd's side (take, fill) and the spare's side (wait). */
#include "cgroup.h"
#include "monitor.h"
#include "security.h"
#include "timing.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The fds a monitor gets (monitor.c), and the spare's socket before. */
enum
{
  FD_SPARE = 3,
  FD_STATUS = 3,
  FD_ATTACH = 4,
  FD_NETNS = 5,
};

#define SPARE_ID_BLANK "................................................................"

/* ---- regd's side: one slot ---- */

static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static int slot_fd = -1; /* regd's end of the spare's socket; -1: no spare */
static pid_t slot_pid;
static char *slot_root;

int
reg_monitor_spare_take (const char *root, const char *id, bool attach, int status_fd, int attach_fd,
                        int netns_fd, pid_t *pid)
{
  pthread_mutex_lock (&slot_lock);
  int sock = -1;
  if (slot_fd >= 0 && slot_root && strcmp (slot_root, root) == 0)
    {
      sock = slot_fd;
      *pid = slot_pid;
      slot_fd = -1;
    }
  pthread_mutex_unlock (&slot_lock);
  if (sock < 0)
    return -1;
  char line[80];
  int n
      = snprintf (line, sizeof line, "%s %c %c", id, attach ? '1' : '0', netns_fd >= 0 ? '1' : '0');
  int fds[3] = { status_fd, -1, -1 }, n_fds = 1;
  if (attach)
    fds[n_fds++] = attach_fd;
  if (netns_fd >= 0)
    fds[n_fds++] = netns_fd;
  int sent = reg_util_send_fds (sock, line, (size_t)n, fds, n_fds);
  /* Closing our end is the spare's end of file only after the message. */
  close (sock);
  return sent; /* -1: a spare that died; the caller spawns one */
}

void
reg_monitor_spare_fill (const char *monitor_path, const char *root)
{
  pthread_mutex_lock (&slot_lock);
  bool full = slot_fd >= 0;
  pthread_mutex_unlock (&slot_lock);
  if (full)
    return;
  int sv[2];
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init (&fa);
  reg_util_spawnattr_init (&attr, POSIX_SPAWN_SETSID);
  posix_spawn_file_actions_adddup2 (&fa, sv[1], FD_SPARE);
  for (int fd = 0; fd < 3; fd++)
    posix_spawn_file_actions_addopen (&fa, fd, "/dev/null", O_RDWR, 0);
  posix_spawn_file_actions_addclosefrom_np (&fa, FD_SPARE + 1);
  /* Its last two arguments are overwritten with the container's id and
   * attach flag when it gets one, so `ps` says which container it runs. */
  char *argv[] = { (char *)"reg-monitor",  (char *)"--spare", (char *)root,
                   (char *)SPARE_ID_BLANK, (char *)"-",       NULL };
  extern char **environ;
  pid_t pid;
  int r = posix_spawn (&pid, monitor_path, &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&attr);
  close (sv[1]);
  if (r != 0)
    {
      close (sv[0]);
      return;
    }
  pthread_mutex_lock (&slot_lock);
  if (slot_fd < 0 && (slot_root == NULL || strcmp (slot_root, root) == 0))
    {
      if (slot_root == NULL)
        slot_root = strdup (root);
      slot_fd = sv[0];
      slot_pid = pid;
      sv[0] = -1;
    }
  pthread_mutex_unlock (&slot_lock);
  if (sv[0] >= 0)
    close (sv[0]); /* another start filled it meanwhile: this one exits */
}

/* ---- regd's side: the filler ---- */

/* One thread of regd's makes the spares, so no start waits for a spawn
 * (about 0.5 ms quiet, 2 ms at load 10: it held up regd's reading of the
 * monitor's status line, docs/benchmarks.md). Kicks while it spawns fold
 * into one more round; the slot's own check keeps one spare. */
static pthread_mutex_t filler_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t filler_wake = PTHREAD_COND_INITIALIZER;
static bool filler_wanted, filler_running;
static char *filler_path, *filler_root;

static void *
filler (void *arg)
{
  pthread_mutex_lock (&filler_lock);
  for (;;)
    {
      while (!filler_wanted)
        pthread_cond_wait (&filler_wake, &filler_lock);
      filler_wanted = false;
      pthread_mutex_unlock (&filler_lock);
      reg_monitor_spare_fill (filler_path, filler_root);
      pthread_mutex_lock (&filler_lock);
    }
  return NULL;
}

static bool
filler_start (void)
{
  return reg_util_thread_detached (filler, NULL) == 0;
}

void
reg_monitor_spare_kick (const char *monitor_path, const char *root)
{
  pthread_mutex_lock (&filler_lock);
  if (filler_path == NULL)
    {
      filler_path = strdup (monitor_path);
      filler_root = strdup (root);
    }
  bool same = filler_path && filler_root && strcmp (filler_path, monitor_path) == 0
              && strcmp (filler_root, root) == 0;
  if (same && !filler_running)
    filler_running = filler_start ();
  if (same && filler_running)
    {
      filler_wanted = true;
      pthread_cond_signal (&filler_wake);
    }
  pthread_mutex_unlock (&filler_lock);
  if (!same || !filler_running)
    reg_monitor_spare_fill (monitor_path, root);
}

/* ---- the spare's side ---- */

/* Move the received descriptors to where a monitor has them (monitor.c):
 * the status pipe at 3, the attach fd at 4, the namespace at 5. Each goes
 * above every target first, so no dup2 overwrites another's source. */
static int
place (int *fds, int n_fds, bool attach, bool netns)
{
  int high[3];
  for (int i = 0; i < n_fds; i++)
    {
      high[i] = fcntl (fds[i], F_DUPFD_CLOEXEC, 64);
      close (fds[i]);
      if (high[i] < 0)
        return -1;
    }
  close (FD_SPARE);
  int i = 0;
  if (dup2 (high[i++], FD_STATUS) < 0 || (attach && dup2 (high[i++], FD_ATTACH) < 0)
      || (netns && dup2 (high[i++], FD_NETNS) < 0))
    return -1;
  for (i = 0; i < n_fds; i++)
    close (high[i]);
  return 0;
}

static bool
id_ok (const char *id)
{
  size_t n = strspn (id, "0123456789abcdef");
  return n == 64 && id[n] == '\0';
}

static void
drop_ahead (struct reg_cgroup **ahead)
{
  reg_cgroup_destroy (*ahead);
  reg_cgroup_free (*ahead);
  *ahead = NULL;
}

int
reg_monitor_spare_wait (char **argv, char id[65], bool *attach, struct reg_cgroup **ahead)
{
  prctl (PR_SET_NAME, "reg-mon-spare");
  /* Work that does not depend on the container, done while idle; what
   * fails here is done again, as without a spare, after the message. */
  reg_security_warm ();
  if (reg_cgroup_ahead (REG_CGROUP_FS, ahead, NULL) < 0)
    *ahead = NULL;
  char line[80];
  int fds[REG_UTIL_MAX_FDS], n_fds;
  ssize_t n = reg_util_recv_fds (FD_SPARE, line, sizeof line - 1, fds, &n_fds);
  if (n <= 0)
    {
      drop_ahead (ahead);
      return -1; /* regd closed the socket (it ended, or has one spare too many) */
    }
  line[n] = '\0';
  char a = 0, ns = 0;
  if (sscanf (line, "%64s %c %c", id, &a, &ns) != 3 || !id_ok (id) || (a != '0' && a != '1')
      || (ns != '0' && ns != '1') || n_fds != 1 + (a == '1') + (ns == '1'))
    {
      drop_ahead (ahead);
      return -1;
    }
  *attach = a == '1';
  if (strlen (argv[3]) == 64 && strlen (argv[4]) == 1)
    {
      memcpy (argv[3], id, 64);
      argv[4][0] = a;
    }
  return place (fds, n_fds, *attach, ns == '1');
}
