/* runtime: the steps from a generated environment to a running process.
 *
 * reg_runtime_spawn clones a child in new mount, PID, IPC and UTS namespaces
 * (and a new network namespace for --network none) and, in the child, reads
 * top to bottom:
 *   join the container's cgroups (so everything after is accounted)
 *   join the network namespace it is given (container:ID), or bring up
 *     `lo` in its new one
 *   make every mount private
 *   mount OverlayFS: lower = the shared env, upper/work = the container's
 *   mount a fresh /proc, a minimal /dev (null zero full random urandom tty,
 *     devpts at /dev/pts, tmpfs at /dev/shm)
 *   bind the project at /app and every -v mount (a host path or a
 *     volume's directory) and mount every tmpfs (never following symlinks
 *     inside the container tree), then the /etc files (etcfiles.h)
 *   set the hostname, pivot_root into the merged root, detach the old root
 *   chdir to the working directory, exec the command with its environment
 * The overlay and every other mount live only in the container's mount
 * namespace: they vanish with it, nothing to clean on the host.
 *
 * A setup or exec failure is reported back over a close-on-exec pipe as a
 * start result (proto.h: a status line), so the caller gets
 * {127, ENOENT, "exec /bin/nope: No such file or directory"} rather than a
 * silent exit 127: 127 only when execve said ENOENT, 126 for its other
 * errors, 125 for every step before it (with that step's own errno).
 */
#ifndef REG_RUNTIME_H
#define REG_RUNTIME_H

#include <stdbool.h>
#include <sys/types.h>

#include "container.h"
#include "error.h"
#include "proto.h"
#include "security.h"
#include "ulimit.h"

struct reg_runtime_spec
{
  const char *lower, *upper, *work, *merged;
  /* The upper layer is thrown away after the container (--rm): the
   * overlay is mounted volatile, so its unmount does not sync the upper
   * filesystem (docs/benchmarks.md, issue 15's fourth round). */
  bool volatile_upper;
  char *const *argv;
  char *const *env;
  const char *workdir;
  const char *hostname;
  const char *project; /* bound at /app when not NULL */
  const struct reg_mount *mounts;
  size_t n_mounts;
  int stdin_fd, stdout_fd, stderr_fd;
  char *const *cgroup_procs; /* files to write "0" into first: join the cgroups */
  /* A terminal instead of stdin/out/err: allocated from the container's
   * /dev/pts after pivot_root, its other side sent over tty_sock. */
  int tty_sock; /* -1: no terminal */
  unsigned short rows, cols;
  const struct reg_security *security;
  /* Network: -1 and false is the caller's network namespace (host). */
  int netns_fd;   /* a namespace to join (an nsfd or a pidfd), or -1 */
  bool new_netns; /* a namespace of its own with only lo */
  /* Host files bound over /etc/hosts, /etc/hostname, /etc/resolv.conf;
   * NULL: none. */
  const char *etc_files[3];
  const struct reg_ulimit *ulimits; /* set before the confinement */
  size_t n_ulimits;
  /* --init: the host path of reg-init, bound read-only at REG_INIT_PATH
   * (argv then starts with REG_INIT_PATH); NULL: none. */
  const char *init;
};

/* Where --init's program is in the container; it runs the command as its
 * child (see src/init/main.c). */
#define REG_INIT_PATH "/.reg-init"

/* Unless privileged, after pivot_root and right before exec (for `reg
 * exec` too), the steps of security.h: masked and read-only /proc paths,
 * read-only /sys, capabilities, --user, no_new_privs, seccomp. With
 * --read-only the root mount (only it: /proc, /dev and binds keep their
 * own flags) is made read-only after the binds are in place. */

/* On success *pid is the container's init in the caller's PID namespace;
 * on failure *result says why (a failure before the clone is 125 with its
 * own cause). */
int reg_runtime_spawn (const struct reg_runtime_spec *spec, pid_t *pid,
                       struct reg_start_result *result);

/* reg exec: a new process in a running container. A helper process is
 * forked (it must be single-threaded to enter a mount namespace); it joins
 * the container's cgroups, then its mount, PID, IPC and UTS namespaces
 * through a pidfd of the container's first process, and forks the command
 * there, with the container's root and environment. regd has threads, so
 * between that fork and the command's exec only system calls are made: the
 * confinement (capabilities, seccomp BPF) is prepared before the fork
 * (reg_security_prepare); a bad profile is an error returned here.
 *
 * Without a tty the command gets stdin/stdout/stderr_fd. With a tty the
 * helper opens a pseudo-terminal from the container's own /dev/pts, gives
 * the command the terminal side as its controlling terminal, and sends the
 * other side to the caller over control_fd (SCM_RIGHTS).
 *
 * The helper reports over control_fd, one status line (proto.h) each:
 * started (the command's host PID, valid until the helper reports its
 * exit), or error (a start result: 125 setup, 126 cannot execute, 127 not
 * found), and at the end exit (128+signal when killed). */
struct reg_exec_spec
{
  pid_t target; /* the container's first process, host PID */
  char *const *cgroup_procs;
  char *const *argv;
  char *const *env;
  const char *workdir;
  bool tty;
  unsigned short rows, cols;          /* the terminal's first size, when known */
  int stdin_fd, stdout_fd, stderr_fd; /* without a tty */
  int control_fd;
  const struct reg_security *security;
  const struct reg_ulimit *ulimits;
  size_t n_ulimits;
};

int reg_runtime_exec (const struct reg_exec_spec *spec, pid_t *helper, struct reg_error **err);
/* Default dispositions for every signal and an empty signal mask: what a
 * container's process (and every exec) starts with. System calls only. */
void reg_runtime_reset_signals (void);

#endif
