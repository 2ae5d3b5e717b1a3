/* reg-init: the container's PID 1 with --init (what tini is to Docker).
 *
 *   /.reg-init -- CMD [ARGS...]
 *
 * A process that is PID 1 of its namespace gets no signal it has no handler
 * for, so a plain `sleep` or a Python program ignores `reg stop`'s SIGTERM
 * and is killed 10 s later; and orphans re-parented to PID 1 stay zombies
 * unless PID 1 reaps them. reg-init runs CMD as its only child and:
 *   - forwards every signal it gets (all but SIGCHLD and the synchronous
 *     ones) to the child, which is not PID 1 and so has the usual defaults;
 *   - reaps every child, the orphans of the container included;
 *   - exits when CMD exits, with its exit code, or 128+N when a signal N
 *     killed it (143 for SIGTERM), as a shell and tini report it.
 * With a terminal, the child gets its own process group, in the foreground.
 *
 * Static, so it runs in any container whatever its libc (bound read-only
 * from the host by the runtime). Signals are taken with sigwaitinfo on a
 * blocked set, so nothing runs in a handler.
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Signals the kernel sends for a fault of this very process: never blocked. */
static const int synchronous[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT };

static void
blockable (sigset_t *set)
{
  sigfillset (set);
  for (size_t i = 0; i < sizeof synchronous / sizeof synchronous[0]; i++)
    sigdelset (set, synchronous[i]);
}

static _Noreturn void
run_child (char **argv, const sigset_t *old)
{
  setpgid (0, 0);
  if (isatty (0))
    {
      /* Take the terminal's foreground; a background group would be
       * stopped by SIGTTOU for it. */
      signal (SIGTTOU, SIG_IGN);
      tcsetpgrp (0, getpgrp ());
      signal (SIGTTOU, SIG_DFL);
    }
  sigprocmask (SIG_SETMASK, old, NULL);
  execvp (argv[0], argv);
  int e = errno;
  fprintf (stderr, "reg-init: exec %s: %s\n", argv[0], strerror (e));
  _exit (e == ENOENT ? 127 : 126);
}

/* Reap every child that has exited; the main child's status in *status. */
static bool
reap (pid_t child, int *status)
{
  bool child_done = false;
  for (;;)
    {
      int st;
      pid_t p = waitpid (-1, &st, WNOHANG);
      if (p <= 0)
        return child_done;
      if (p == child)
        {
          *status = st;
          child_done = true;
        }
    }
}

int
main (int argc, char **argv)
{
  if (argc < 3 || strcmp (argv[1], "--") != 0)
    {
      fprintf (stderr, "usage: reg-init -- CMD [ARGS...] (reg run --init starts it)\n");
      return 125;
    }
  sigset_t set, old;
  blockable (&set);
  sigprocmask (SIG_SETMASK, &set, &old);
  pid_t child = fork ();
  if (child < 0)
    {
      perror ("reg-init: fork");
      return 125;
    }
  if (child == 0)
    run_child (argv + 2, &old);
  int status = 0;
  for (;;)
    {
      siginfo_t info;
      int sig = sigwaitinfo (&set, &info);
      if (sig < 0)
        continue; /* EINTR */
      if (sig != SIGCHLD)
        {
          kill (child, sig);
          continue;
        }
      if (reap (child, &status))
        break;
    }
  /* The rest of the container goes with PID 1; reap what has ended. */
  reap (child, &status);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return WEXITSTATUS (status);
}
