#include "runtime.h"
#include "proto.h"
#include "timing.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

/* The child reports its first failure here and exits. */
struct child
{
  const struct reg_runtime_spec *spec;
  int report_fd;
  int userns_fd;                      /* --userns=private: the namespace to join last; else -1 */
  const struct reg_confinement *conf; /* prepared before the fork */
};

/* What exec_command needs: argv and env (shared by run and exec). */
struct command
{
  char *const *argv;
  char *const *env;
};

/* The start result (proto.h) to whoever waits for the start, then exit. */
static _Noreturn void
child_fail (struct child *ch, int code, int errnum, const char *fmt, const char *arg)
{
  struct reg_start_result r = { 0 };
  reg_proto_result_set (&r, code, errnum, fmt, arg);
  reg_proto_status_error (ch->report_fd, &r);
  _exit (code);
}

static void
must_mount (struct child *ch, const char *src, const char *target, const char *type,
            unsigned long flags, const char *data)
{
  if (mount (src, target, type, flags, data) < 0)
    child_fail (ch, 125, errno, "mount %s", target);
}

static void
make_dev (struct child *ch)
{
  static const struct
  {
    const char *name;
    unsigned maj, min;
  } nodes[] = {
    { "null", 1, 3 },   { "zero", 1, 5 },    { "full", 1, 7 },
    { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
  };
  must_mount (ch, "tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_STRICTATIME,
              "mode=755,size=65536k");
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++)
    {
      char path[32];
      snprintf (path, sizeof path, "dev/%s", nodes[i].name);
      if (mknod (path, S_IFCHR | 0666, makedev (nodes[i].maj, nodes[i].min)) < 0
          || chmod (path, 0666) < 0)
        child_fail (ch, 125, errno, "mknod /%s", path);
    }
  if (mkdir ("dev/pts", 0755) < 0 || mkdir ("dev/shm", 01777) < 0)
    child_fail (ch, 125, errno, "mkdir %s", "/dev/pts");
  must_mount (ch, "devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620,gid=5");
  must_mount (ch, "shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=1777,size=65536k");
  static const char *const links[][2] = {
    { "pts/ptmx", "dev/ptmx" },          { "/proc/self/fd", "dev/fd" },
    { "/proc/self/fd/0", "dev/stdin" },  { "/proc/self/fd/1", "dev/stdout" },
    { "/proc/self/fd/2", "dev/stderr" },
  };
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
    if (symlink (links[i][0], links[i][1]) < 0)
      child_fail (ch, 125, errno, "symlink /%s", links[i][1]);
}

/* Open (creating as needed) the mount target `path` below the current
 * directory (the merged root) without following any symlink, so a link
 * planted in the container tree cannot redirect a bind mount onto the host.
 * Returns an O_PATH fd of the target. */
static int
open_target (struct child *ch, const char *path, bool is_dir)
{
  char buf[4096];
  if (snprintf (buf, sizeof buf, "%s", path + 1) >= (int)sizeof buf)
    child_fail (ch, 125, 0, "mount target %s: path too long", path);
  int dfd = open (".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  char *part = buf;
  for (;;)
    {
      char *slash = strchr (part, '/');
      bool last = slash == NULL;
      if (slash)
        *slash = '\0';
      if (!last || is_dir)
        {
          if (mkdirat (dfd, part, 0755) < 0 && errno != EEXIST)
            child_fail (ch, 125, errno, "mount target %s", path);
        }
      else
        {
          int f = openat (dfd, part, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
          if (f < 0 && errno != EISDIR)
            child_fail (ch, 125, errno, "mount target %s", path);
          if (f >= 0)
            close (f);
        }
      int next = openat (dfd, part,
                         O_PATH | O_NOFOLLOW | O_CLOEXEC | (last && !is_dir ? 0 : O_DIRECTORY));
      if (next < 0)
        child_fail (ch, 125, errno == ENOTDIR || errno == ELOOP ? ENOTDIR : errno,
                    "mount target %s (a symlink or file is in the way)", path);
      close (dfd);
      dfd = next;
      if (last)
        return dfd;
      part = slash + 1;
    }
}

static void
bind_mount (struct child *ch, const char *source, const char *target, bool readonly)
{
  struct stat st;
  if (stat (source, &st) < 0)
    child_fail (ch, 125, errno, "bind %s", source);
  int fd = open_target (ch, target, S_ISDIR (st.st_mode));
  /* A detached copy of the source tree, made read-only as a whole
   * (recursively, which a legacy MS_REMOUNT cannot do) before it is
   * attached, at the target fd: no path is looked up again. */
  int tree = open_tree (AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (tree < 0)
    child_fail (ch, 125, errno, "bind %s", source);
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
  if (readonly && mount_setattr (tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
    child_fail (ch, 125, errno, "bind %s: make read-only", source);
  if (move_mount (tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    child_fail (ch, 125, errno, "bind mount on %s", target);
  close (tree);
  close (fd);
}

/* A new tmpfs, configured and attached at the target fd (fsopen/fsmount:
 * no path is looked up again). nosuid and nodev always, as Docker's. */
static void
tmpfs_mount (struct child *ch, const struct reg_mount *m)
{
  int fd = open_target (ch, m->target, true);
  int fs = fsopen ("tmpfs", FSOPEN_CLOEXEC);
  if (fs < 0)
    child_fail (ch, 125, errno, "tmpfs on %s", m->target);
  char size[32], mode[16];
  snprintf (size, sizeof size, "%lld", (long long)m->tmpfs_size);
  snprintf (mode, sizeof mode, "%o", m->tmpfs_mode ? m->tmpfs_mode : 01777);
  if ((m->tmpfs_size > 0 && fsconfig (fs, FSCONFIG_SET_STRING, "size", size, 0) < 0)
      || fsconfig (fs, FSCONFIG_SET_STRING, "mode", mode, 0) < 0
      || fsconfig (fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    child_fail (ch, 125, errno, "tmpfs on %s: bad size or mode", m->target);
  unsigned attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (m->readonly ? MOUNT_ATTR_RDONLY : 0)
                   | (m->noexec ? MOUNT_ATTR_NOEXEC : 0);
  int mnt = fsmount (fs, FSMOUNT_CLOEXEC, attrs);
  if (mnt < 0)
    child_fail (ch, 125, errno, "tmpfs on %s", m->target);
  if (move_mount (mnt, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    child_fail (ch, 125, errno, "tmpfs mount on %s", m->target);
  close (mnt);
  close (fs);
  close (fd);
}

static void
build_root (struct child *ch)
{
  const struct reg_runtime_spec *s = ch->spec;
  must_mount (ch, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  const char *what = "";
  /* Each lower layer (a layered environment has two, envgen.h). */
  char lowers[4096];
  if (snprintf (lowers, sizeof lowers, "%s", s->lower) >= (int)sizeof lowers)
    child_fail (ch, 125, 0, "lower layers too long for %s", s->merged);
  for (char *dir = lowers, *end; ch->userns_fd >= 0 && dir; dir = end ? end + 1 : NULL)
    {
      if ((end = strchr (dir, ':')) != NULL)
        *end = '\0';
      if (reg_security_idmap (ch->userns_fd, dir, &what) < 0)
        child_fail (ch, 125, errno, "%s", what);
    }
  char opts[8192];
  if (snprintf (opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s%s", s->lower, s->upper,
                s->work, s->volatile_upper ? ",volatile" : "")
      >= (int)sizeof opts)
    child_fail (ch, 125, 0, "overlay options too long for %s", s->merged);
  /* A kernel before 5.10 knows no "volatile": the same mount without it. */
  bool mounted = s->volatile_upper && mount ("overlay", s->merged, "overlay", 0, opts) == 0;
  if (!mounted && s->volatile_upper)
    opts[strlen (opts) - strlen (",volatile")] = '\0';
  if (!mounted)
    must_mount (ch, "overlay", s->merged, "overlay", 0, opts);
  reg_timing_mark (NULL, "child.overlay");
  if (chdir (s->merged) < 0)
    child_fail (ch, 125, errno, "chdir %s", s->merged);
  must_mount (ch, "proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  if (!s->security->privileged)
    must_mount (ch, "sysfs", "sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  reg_timing_mark (NULL, "child.proc.sys");
  make_dev (ch);
  reg_timing_mark (NULL, "child.dev");
  if (s->project)
    bind_mount (ch, s->project, "/app", false);
  for (size_t i = 0; i < s->n_mounts; i++)
    if (s->mounts[i].type == REG_MOUNT_TMPFS)
      tmpfs_mount (ch, &s->mounts[i]);
    else
      bind_mount (ch, s->mounts[i].source, s->mounts[i].target, s->mounts[i].readonly);
  static const char *const etc[3] = { "/etc/hosts", "/etc/hostname", "/etc/resolv.conf" };
  for (size_t i = 0; i < 3; i++)
    if (s->etc_files[i])
      bind_mount (ch, s->etc_files[i], etc[i], false);
  if (s->init)
    bind_mount (ch, s->init, REG_INIT_PATH, true);
}

/* The network namespace: the one given (a sidecar's), or a new one whose
 * loopback is brought up (an ioctl: no allocation, no netlink library). */
static void
setup_network (struct child *ch)
{
  const struct reg_runtime_spec *s = ch->spec;
  if (s->netns_fd >= 0 && setns (s->netns_fd, CLONE_NEWNET) < 0)
    child_fail (ch, 125, errno, "join the network namespace%s", "");
  if (!s->new_netns)
    return;
  int sock = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr = { 0 };
  memcpy (ifr.ifr_name, "lo", 3);
  if (sock < 0 || ioctl (sock, SIOCGIFFLAGS, &ifr) < 0)
    child_fail (ch, 125, errno, "bring up lo%s", "");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl (sock, SIOCSIFFLAGS, &ifr) < 0)
    child_fail (ch, 125, errno, "bring up lo%s", "");
  close (sock);
}

static void
enter_root (struct child *ch)
{
  /* pivot_root(".", ".") stacks the old root under the new one; detaching
   * it leaves only the container's tree (no temporary directory needed). */
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    child_fail (ch, 125, errno, "pivot_root into %s", ch->spec->merged);
  if (umount2 (".", MNT_DETACH) < 0)
    child_fail (ch, 125, errno, "detach old root%s", "");
  if (chdir ("/") < 0)
    child_fail (ch, 125, errno, "chdir %s", "/");
}

static const char *
env_get (char *const *env, const char *key)
{
  size_t n = strlen (key);
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp (env[i], key, n) == 0 && env[i][n] == '=')
      return env[i] + n + 1;
  return NULL;
}

/* execvpe searches the caller's PATH; the container's PATH is in its env. */
static _Noreturn void
exec_command (struct child *ch, const struct command *s)
{
  const char *cmd = s->argv[0];
  if (strchr (cmd, '/'))
    {
      execve (cmd, s->argv, s->env);
      child_fail (ch, errno == ENOENT ? 127 : 126, errno, "exec %s", cmd);
    }
  const char *path = env_get (s->env, "PATH");
  int first_err = ENOENT;
  for (const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin"; *p;)
    {
      size_t len = strcspn (p, ":");
      char full[4096];
      if (snprintf (full, sizeof full, "%.*s/%s", (int)len, p, cmd) < (int)sizeof full)
        {
          execve (full, s->argv, s->env);
          if (errno != ENOENT && errno != ENOTDIR)
            first_err = errno;
        }
      p += len;
      if (*p == ':')
        p++;
    }
  child_fail (ch, first_err == ENOENT ? 127 : 126, first_err, "exec %s (searched PATH)", cmd);
}

/* Every signal's disposition back to the default and an empty mask, as a
 * program expects to start (and as Docker starts it): ignored signals stay
 * ignored across exec, and the monitor (SIGPIPE) and whatever started regd
 * (nohup, a shell's `&`: SIGHUP, SIGINT, SIGQUIT, ...) ignore some. Raw
 * system calls: glibc refuses its two internal real-time signals, which
 * can be inherited ignored too; and this runs where nothing may allocate.
 * An all-zero kernel sigaction is SIG_DFL, no flags, an empty mask, on
 * every layout of that struct. */
void
reg_runtime_reset_signals (void)
{
  const unsigned long none[4] = { 0, 0, 0, 0 };
  for (int sig = 1; sig < 65; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      syscall (SYS_rt_sigaction, sig, none, NULL, 8);
  syscall (SYS_rt_sigprocmask, SIG_SETMASK, none, NULL, 8);
}

/* --ulimit, then the security.h steps, last before exec; a failure names
 * the step. */
static void
confine (struct child *ch, const struct reg_ulimit *ulimits, size_t n_ulimits)
{
  const struct reg_ulimit *bad = NULL;
  if (reg_ulimit_apply (ulimits, n_ulimits, &bad) < 0)
    child_fail (ch, 125, errno, "ulimit %s", reg_ulimit_name (bad->resource));
  const char *what = "";
  if (ch->userns_fd >= 0 && reg_security_userns_enter (ch->userns_fd, &what) < 0)
    child_fail (ch, 125, errno, "%s", what);
  if (reg_security_apply (ch->conf, &what) < 0)
    child_fail (ch, 125, errno, "%s", what);
}

/* The container's controlling terminal, from its own devpts. */
static void
setup_tty (struct child *ch)
{
  const struct reg_runtime_spec *s = ch->spec;
  int master = open ("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  int unlock = 0, term = -1;
  if (master < 0 || ioctl (master, TIOCSPTLCK, &unlock) < 0
      || (term = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY)) < 0
      || reg_util_send_fd (s->tty_sock, master) < 0)
    child_fail (ch, 125, errno, "allocate a terminal%s", "");
  close (master);
  struct winsize ws = { .ws_row = s->rows, .ws_col = s->cols };
  if (s->rows && s->cols)
    ioctl (term, TIOCSWINSZ, &ws);
  if (setsid () < 0 || ioctl (term, TIOCSCTTY, 0) < 0 || dup2 (term, 0) < 0 || dup2 (term, 1) < 0
      || dup2 (term, 2) < 0)
    child_fail (ch, 125, errno, "set up the terminal%s", "");
  close (term);
}

static _Noreturn void
child_main (struct child *ch)
{
  const struct reg_runtime_spec *s = ch->spec;
  reg_timing_mark (NULL, "child.start");
  for (size_t i = 0; s->cgroup_procs && s->cgroup_procs[i]; i++)
    {
      int fd = open (s->cgroup_procs[i], O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write (fd, "0", 1) != 1)
        child_fail (ch, 125, errno, "join cgroup %s", s->cgroup_procs[i]);
      close (fd);
    }
  reg_timing_mark (NULL, "child.cgroups.joined");
  setup_network (ch);
  reg_timing_mark (NULL, "child.network");
  build_root (ch);
  reg_timing_mark (NULL, "child.binds");
  if (s->hostname && sethostname (s->hostname, strlen (s->hostname)) < 0)
    child_fail (ch, 125, errno, "sethostname %s", s->hostname);
  enter_root (ch);
  if (s->security->read_only)
    {
      struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
      if (mount_setattr (AT_FDCWD, "/", 0, &ro, sizeof ro) < 0)
        child_fail (ch, 125, errno, "make the root filesystem read-only%s", "");
    }
  if (!s->security->privileged)
    reg_security_confine_mounts ();
  const char *wd = s->workdir && *s->workdir ? s->workdir : "/";
  if (chdir (wd) < 0)
    child_fail (ch, 125, errno, "working directory %s", wd);
  if (s->tty_sock >= 0)
    setup_tty (ch);
  else if (dup2 (s->stdin_fd, 0) < 0 || dup2 (s->stdout_fd, 1) < 0 || dup2 (s->stderr_fd, 2) < 0)
    child_fail (ch, 125, errno, "set up stdio%s", "");
  reg_timing_mark (NULL, "child.root.ready");
  confine (ch, s->ulimits, s->n_ulimits);
  reg_runtime_reset_signals ();
  reg_timing_mark (NULL, "child.exec");
  struct command cmd = { s->argv, s->env };
  exec_command (ch, &cmd);
}

/* The child's report: nothing (it reached execve) or its start result. */
static int
read_report (int fd, pid_t child, struct reg_start_result *result)
{
  struct reg_status st;
  struct reg_error *e = NULL;
  int ret = reg_proto_status_read (fd, &st, &e);
  reg_error_free (e);
  if (ret < 0)
    return 0; /* no line: execve closed the pipe */
  while (waitpid (child, NULL, 0) < 0 && errno == EINTR)
    ;
  if (st.kind == REG_STATUS_ERROR)
    *result = st.result;
  else
    reg_proto_result_set (result, 125, 0, "spawn: the child reported \"%s\", not a start result",
                          st.kind == REG_STATUS_OK ? "ok" : "?");
  reg_proto_status_clear (&st);
  return -1;
}

int
reg_runtime_spawn (const struct reg_runtime_spec *spec, pid_t *pid, struct reg_start_result *result)
{
  int report[2], userns = -1;
  struct reg_error *err = NULL;
  _cleanup_confinement_ struct reg_confinement conf = { 0 };
  if (reg_security_prepare (spec->security, &conf, &err) < 0
      || (spec->security->userns && reg_security_userns_create (spec->security, &userns, &err) < 0))
    {
      reg_proto_result_of_error (result, 125, err);
      reg_error_free (err);
      return -1;
    }
  if (pipe2 (report, O_CLOEXEC) < 0)
    {
      reg_proto_result_set (result, 125, errno, "spawn: pipe");
      if (userns >= 0)
        close (userns);
      return -1;
    }
  reg_timing_mark (NULL, "monitor.confinement.prepared");
  const unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD
                              | (spec->new_netns ? CLONE_NEWNET : 0);
  pid_t child = (pid_t)syscall (SYS_clone, flags, NULL, NULL, NULL, NULL);
  if (child < 0)
    {
      reg_proto_result_set (result, 125, errno, "spawn: clone namespaces");
      close (report[0]);
      close (report[1]);
      if (userns >= 0)
        close (userns);
      return -1;
    }
  if (child == 0)
    {
      close (report[0]);
      struct child ch = { spec, report[1], userns, &conf };
      child_main (&ch);
    }
  close (report[1]);
  if (userns >= 0)
    close (userns);
  int ret = read_report (report[0], child, result);
  close (report[0]);
  if (ret == 0)
    *pid = child;
  return ret;
}

/* The exec helper's setup failed: "WHAT[ ARG]: <errno text>", 125. */
static _Noreturn void
helper_fail (int control_fd, const char *what, const char *arg)
{
  struct reg_start_result r = { 0 };
  reg_proto_result_set (&r, 125, errno, "%s%s%s", what, arg ? " " : "", arg ? arg : "");
  reg_proto_status_error (control_fd, &r);
  _exit (125);
}

/* Forked from regd, which has threads: system calls only from here on
 * (see reg_confinement in security.h). */
static _Noreturn void
exec_helper (const struct reg_exec_spec *s, const struct reg_confinement *conf)
{
  char msg[8 * REG_START_MESSAGE_MAX];
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  signal (SIGCHLD, SIG_DFL);  /* regd ignores it; we wait for the command */
  reg_util_nofile_restore (); /* regd's raised file limit is its own */
  signal (SIGPIPE, SIG_DFL);
  /* Keep only our four fds: regd's other ends of these pipes must not stay
   * open here (the command would never see the end of its input). */
  int keep[4] = { s->stdin_fd, s->stdout_fd, s->stderr_fd, s->control_fd };
  for (int fd = 3; fd < 1024; fd++)
    {
      bool kept = false;
      for (int k = 0; k < 4; k++)
        kept = kept || keep[k] == fd;
      if (!kept)
        close (fd);
    }
  for (size_t i = 0; s->cgroup_procs && s->cgroup_procs[i]; i++)
    {
      int fd = open (s->cgroup_procs[i], O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write (fd, "0", 1) != 1)
        helper_fail (s->control_fd, "join cgroup", s->cgroup_procs[i]);
      close (fd);
    }
  int userns = -1;
  if (s->security->userns)
    {
      char path[64];
      snprintf (path, sizeof path, "/proc/%d/ns/user", (int)s->target);
      if ((userns = open (path, O_RDONLY | O_CLOEXEC)) < 0)
        helper_fail (s->control_fd, "open the container's user namespace", NULL);
    }
  int pidfd = (int)syscall (SYS_pidfd_open, s->target, 0);
  if (pidfd < 0
      || setns (pidfd, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) < 0)
    helper_fail (s->control_fd, "enter the container's namespaces", NULL);
  close (pidfd);
  int term = -1;
  if (s->tty)
    {
      /* From the container's devpts, so the terminal exists inside it. */
      int master = open ("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
      int unlock = 0;
      if (master < 0 || ioctl (master, TIOCSPTLCK, &unlock) < 0
          || (term = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY)) < 0
          || reg_util_send_fd (s->control_fd, master) < 0)
        helper_fail (s->control_fd, "allocate a terminal", NULL);
      close (master);
      struct winsize ws = { .ws_row = s->rows, .ws_col = s->cols };
      if (s->rows && s->cols)
        ioctl (term, TIOCSWINSZ, &ws);
    }
  int report[2];
  if (pipe2 (report, O_CLOEXEC) < 0)
    helper_fail (s->control_fd, "pipe", NULL);
  pid_t pid = fork ();
  if (pid < 0)
    helper_fail (s->control_fd, "fork in the container", NULL);
  if (pid == 0)
    {
      close (report[0]);
      struct child ch = { NULL, report[1], userns, conf };
      setsid ();
      if (term >= 0)
        {
          if (ioctl (term, TIOCSCTTY, 0) < 0 || dup2 (term, 0) < 0 || dup2 (term, 1) < 0
              || dup2 (term, 2) < 0)
            child_fail (&ch, 125, errno, "set up the terminal%s", "");
        }
      else if (dup2 (s->stdin_fd, 0) < 0 || dup2 (s->stdout_fd, 1) < 0
               || dup2 (s->stderr_fd, 2) < 0)
        child_fail (&ch, 125, errno, "set up stdio%s", "");
      const char *wd = s->workdir && *s->workdir ? s->workdir : "/";
      if (chdir (wd) < 0)
        child_fail (&ch, 125, errno, "working directory %s", wd);
      confine (&ch, s->ulimits, s->n_ulimits);
      reg_runtime_reset_signals ();
      struct command cmd = { s->argv, s->env };
      exec_command (&ch, &cmd);
    }
  close (report[1]);
  if (term >= 0)
    close (term);
  /* The child's start result (a status line), passed on as it is; none
   * when execve closed the pipe. */
  size_t got = 0;
  for (ssize_t n; got < sizeof msg;)
    if ((n = read (report[0], msg + got, sizeof msg - got)) > 0)
      got += (size_t)n;
    else if (n == 0 || errno != EINTR)
      break;
  int status = 0;
  if (got > 0)
    {
      while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
      reg_util_write_all (s->control_fd, msg, got);
      _exit (125);
    }
  reg_proto_status_started (s->control_fd, (int)pid); /* host PID: unreaped till "exit" */
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  reg_proto_status_exit (s->control_fd,
                         WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status));
  _exit (0);
}

int
reg_runtime_exec (const struct reg_exec_spec *spec, pid_t *helper, struct reg_error **err)
{
  _cleanup_confinement_ struct reg_confinement conf = { 0 };
  if (reg_security_prepare (spec->security, &conf, err) < 0)
    return -1;
  pid_t pid = fork ();
  if (pid < 0)
    return reg_error_sys (err, errno, "exec: fork");
  if (pid == 0)
    exec_helper (spec, &conf);
  *helper = pid;
  return 0;
}
