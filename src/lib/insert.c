/* insert: see insert.h. */
#include "insert.h"
#include "proto.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The helper is forked from regd, which has threads: between fork and
 * _exit it makes system calls only (a lock another thread held at the fork,
 * malloc's or the sanitizer's, would be held forever). Everything that
 * allocates happens before the fork: object paths, the fd array, and this
 * log of what was made, sized for the worst case. */
struct made_log
{
  char *text;
  size_t len, cap;
  int journal; /* or -1: each step is also appended here, as it is made */
};

static void
note (struct made_log *log, char kind, const char *path)
{
  int n = snprintf (log->text + log->len, log->cap - log->len, "%c:%s\n", kind, path);
  if (n > 0 && (size_t)n < log->cap - log->len)
    {
      if (log->journal >= 0 && write (log->journal, log->text + log->len, (size_t)n) < 0)
        log->journal = -1; /* the undo in this run still has the memory log */
      log->len += (size_t)n;
    }
}

/* Open the directory `dir` (container-absolute) component by component,
 * never following a symlink; with create, missing ones are made and noted
 * in `made` as "d:PATH". */
static int
open_dir_nofollow (const char *dir, bool create, struct made_log *made)
{
  int fd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  char path[4096];
  snprintf (path, sizeof path, "%s", dir);
  char so_far[4096] = "";
  char *save = NULL;
  for (char *c = strtok_r (path, "/", &save); fd >= 0 && c; c = strtok_r (NULL, "/", &save))
    {
      strncat (so_far, "/", sizeof so_far - strlen (so_far) - 1);
      strncat (so_far, c, sizeof so_far - strlen (so_far) - 1);
      int next = openat (fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0 && errno == ENOENT && create)
        {
          if (mkdirat (fd, c, 0755) == 0 && made)
            note (made, 'd', so_far);
          next = openat (fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
      close (fd);
      fd = next;
    }
  return fd;
}

static void
split (const char *path, char *dir, size_t size, const char **base)
{
  snprintf (dir, size, "%s", path);
  char *slash = strrchr (dir, '/');
  *base = path + (slash - dir) + 1;
  if (slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
}

/* Undo one "k:PATH" line. */
static void
undo_one (const char *line)
{
  const char *path = line + 2;
  char dir[4096];
  const char *base;
  split (path, dir, sizeof dir, &base);
  int dfd = open_dir_nofollow (dir, false, NULL);
  if (dfd < 0)
    return;
  if (line[0] == 'm')
    {
      /* The mount first (never following a final symlink), then the
       * placeholder under it. */
      umount2 (path, MNT_DETACH | UMOUNT_NOFOLLOW);
      unlinkat (dfd, base, 0);
    }
  else if (line[0] == 'l')
    unlinkat (dfd, base, 0);
  else if (line[0] == 'd')
    unlinkat (dfd, base, AT_REMOVEDIR); /* only if empty */
  close (dfd);
}

static void
undo_all (char *text)
{
  /* Lines in reverse. */
  for (char *end = text + strlen (text); end > text;)
    {
      char *nl = end - 1;
      *nl = '\0';
      char *start = nl;
      while (start > text && start[-1] != '\n')
        start--;
      if (start[0] && start[1] == ':')
        undo_one (start);
      end = start;
    }
}

static int
enter_mounts (pid_t target)
{
  int pidfd = (int)syscall (SYS_pidfd_open, target, 0);
  if (pidfd < 0)
    return -1;
  int r = setns (pidfd, CLONE_NEWNS);
  close (pidfd);
  return r;
}

/* Has regd died (PR_SET_PDEATHSIG's SIGTERM, blocked so that it waits for
 * the end of the current step)? */
static bool
regd_gone (void)
{
  sigset_t pending;
  return sigpending (&pending) == 0 && sigismember (&pending, SIGTERM);
}

/* The helper failed: an error status line (proto.h; no start, so exit
 * code 0) to the parent, then exit. */
static _Noreturn void
helper_error (int out, const char *why)
{
  struct reg_start_result r = { 0 };
  reg_proto_result_set (&r, 0, 0, "%s", why);
  reg_proto_status_error (out, &r);
  _exit (1);
}

static _Noreturn void
apply_child (pid_t target, const struct reg_entry *e, size_t n, char *const *objs, int *trees,
             struct made_log *made, int out)
{
  struct rlimit rl = { n + 64, n + 64 };
  setrlimit (RLIMIT_NOFILE, &rl);
  const char *fail = NULL;
  char why[1200] = "";
  for (size_t i = 0; i < n && !fail; i++)
    {
      trees[i] = -1;
      if (e[i].kind != REG_ENTRY_FILE && e[i].kind != REG_ENTRY_EXEC)
        continue;
      trees[i] = open_tree (AT_FDCWD, objs[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
      struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
      if (trees[i] < 0 || mount_setattr (trees[i], "", AT_EMPTY_PATH, &ro, sizeof ro) < 0)
        {
          snprintf (why, sizeof why, "%s: object %.16s: %s", e[i].path, e[i].value,
                    reg_util_errdesc (errno));
          fail = why;
        }
    }
  if (!fail && enter_mounts (target) < 0)
    {
      snprintf (why, sizeof why, "enter the container's mount namespace: %s",
                reg_util_errdesc (errno));
      fail = why;
    }
  for (size_t i = 0; !fail && i < n; i++)
    {
      char dir[4096];
      const char *base;
      if (regd_gone ())
        _exit (1);
      if (e[i].kind == REG_ENTRY_DIR)
        {
          int d = open_dir_nofollow (e[i].path, true, made);
          if (d < 0)
            {
              snprintf (why, sizeof why, "%s: %s", e[i].path, reg_util_errdesc (errno));
              fail = why;
            }
          else
            close (d);
          continue;
        }
      split (e[i].path, dir, sizeof dir, &base);
      int d = open_dir_nofollow (dir, true, made);
      int ok = d >= 0;
      if (ok && e[i].kind == REG_ENTRY_SYMLINK)
        {
          ok = symlinkat (e[i].value, d, base) == 0;
          if (ok)
            note (made, 'l', e[i].path);
        }
      else if (ok)
        {
          int f = openat (d, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                          e[i].kind == REG_ENTRY_EXEC ? 0555 : 0444);
          ok = f >= 0;
          if (ok)
            {
              close (f);
              note (made, 'm', e[i].path);
              ok = move_mount (trees[i], "", d, base, MOVE_MOUNT_F_EMPTY_PATH) == 0;
            }
        }
      if (!ok)
        {
          snprintf (why, sizeof why, "%s: %s", e[i].path,
                    errno == EEXIST ? "something is already there" : reg_util_errdesc (errno));
          fail = why;
        }
      if (d >= 0)
        close (d);
    }
  if (fail)
    {
      undo_all (made->text);
      helper_error (out, fail);
    }
  if (reg_proto_status_ok (out, made->len ? made->text : NULL) < 0)
    _exit (1);
  _exit (0);
}

/* The worst case of what apply_child notes: every entry and every
 * directory above it. */
static size_t
log_size (const struct reg_entry *e, size_t n)
{
  size_t size = 1;
  for (size_t i = 0; i < n; i++)
    for (const char *c = e[i].path; *c; c++)
      if (*c == '/')
        size += (size_t)(c - e[i].path) + 4;
  for (size_t i = 0; i < n; i++)
    size += strlen (e[i].path) + 4;
  return size;
}

static int
run_helper (const struct reg_store *store, pid_t target, const struct reg_entry *e, size_t n,
            char *const *made_in, int journal_fd, char ***made, struct reg_error **err)
{
  /* All allocation before the fork. */
  struct made_log log = { NULL, 0, 0, journal_fd };
  pid_t parent = getpid ();
  char **objs = NULL;
  _cleanup_free_ int *trees = NULL;
  int ret = 0;
  if (made_in)
    {
      log.cap = 1;
      for (size_t i = 0; made_in[i]; i++)
        log.cap += strlen (made_in[i]) + 1;
      log.text = calloc (log.cap, 1);
      for (size_t i = 0; log.text && made_in[i]; i++)
        log.len += (size_t)sprintf (log.text + log.len, "%s\n", made_in[i]);
    }
  else
    {
      log.cap = log_size (e, n);
      log.text = calloc (log.cap, 1);
      objs = calloc (n + 1, sizeof *objs);
      trees = calloc (n ? n : 1, sizeof *trees);
      for (size_t i = 0; store && objs && i < n && ret == 0; i++)
        if (e[i].kind == REG_ENTRY_FILE || e[i].kind == REG_ENTRY_EXEC)
          if ((objs[i] = reg_store_object_path (store, e[i].value, e[i].kind == REG_ENTRY_EXEC))
              == NULL)
            ret = -1;
      if (objs == NULL || trees == NULL)
        ret = -1;
    }
  int p[2] = { -1, -1 };
  if (log.text == NULL || ret < 0)
    ret = reg_error_set (err, ENOMEM, "install: out of memory");
  else if (pipe2 (p, O_CLOEXEC) < 0)
    ret = reg_error_sys (err, errno, "install: pipe");
  pid_t pid = ret == 0 ? fork () : -1;
  if (ret == 0 && pid < 0)
    ret = reg_error_sys (err, errno, "install: fork");
  if (pid == 0)
    {
      /* regd killed: stop, but only between two steps, each one made and
       * journaled; the journal tells the next regd what was made. */
      sigset_t term;
      sigemptyset (&term);
      sigaddset (&term, SIGTERM);
      sigprocmask (SIG_BLOCK, &term, NULL);
      prctl (PR_SET_PDEATHSIG, SIGTERM);
      if (getppid () != parent)
        _exit (1);
      close (p[0]);
      if (!made_in)
        apply_child (target, e, n, objs, trees, &log, p[1]);
      /* Uninstall: undo the recorded steps. */
      if (enter_mounts (target) < 0)
        {
          char why[256];
          snprintf (why, sizeof why, "enter the container's mount namespace: %s",
                    reg_util_errdesc (errno));
          helper_error (p[1], why);
        }
      undo_all (log.text);
      if (reg_proto_status_ok (p[1], NULL) < 0)
        _exit (1);
      _exit (0);
    }
  free (log.text);
  for (size_t i = 0; objs && i < n; i++)
    free (objs[i]);
  free (objs);
  if (p[1] >= 0)
    close (p[1]);
  if (ret < 0)
    {
      if (p[0] >= 0)
        close (p[0]);
      return ret;
    }
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&text, &len);
  char buf[8192];
  ssize_t got;
  while (f && ((got = read (p[0], buf, sizeof buf)) > 0 || (got < 0 && errno == EINTR)))
    if (got > 0)
      fwrite (buf, 1, (size_t)got, f);
  close (p[0]);
  if (f)
    fclose (f);
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  struct reg_status st;
  struct reg_error *bad = NULL;
  if (text == NULL || reg_proto_status_parse (text, len, &st, &bad) < 0)
    ret = reg_error_set (err, EIO, "the helper failed%s%s", bad ? ": " : "", bad ? bad->msg : "");
  else if (st.kind != REG_STATUS_OK)
    ret = reg_error_set (err, EIO, "%s", st.result.message);
  else if (made)
    {
      *made = st.made ? st.made : calloc (1, sizeof (char *));
      st.made = NULL;
      if (*made == NULL)
        ret = reg_error_set (err, ENOMEM, "out of memory");
    }
  if (text)
    reg_proto_status_clear (&st);
  reg_error_free (bad);
  free (text);
  return ret;
}

int
reg_insert_apply (const struct reg_store *store, pid_t target, const struct reg_entry *entries,
                  size_t n, int journal_fd, char ***made, struct reg_error **err)
{
  *made = NULL;
  return run_helper (store, target, entries, n, NULL, journal_fd, made, err);
}

int
reg_insert_remove (pid_t target, char *const *made, struct reg_error **err)
{
  if (made == NULL || made[0] == NULL)
    return 0;
  return run_helper (NULL, target, NULL, 0, made, -1, NULL, err);
}
