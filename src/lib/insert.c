/* insert: see insert.h. */
#include "insert.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Open the directory `dir` (container-absolute) component by component,
 * never following a symlink; with create, missing ones are made and noted
 * in `made` as "d:PATH". */
static int
open_dir_nofollow (const char *dir, bool create, FILE *made)
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
            fprintf (made, "d:%s\n", so_far);
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

static _Noreturn void
apply_child (const struct reg_store *store, pid_t target, const struct reg_entry *e, size_t n,
             int out)
{
  char *log = NULL;
  size_t log_len = 0;
  FILE *made = open_memstream (&log, &log_len);
  struct rlimit rl = { n + 64, n + 64 };
  setrlimit (RLIMIT_NOFILE, &rl);
  int *trees = calloc (n ? n : 1, sizeof *trees);
  const char *fail = NULL;
  char why[1200] = "";
  for (size_t i = 0; trees && i < n && !fail; i++)
    {
      trees[i] = -1;
      if (e[i].kind != REG_ENTRY_FILE && e[i].kind != REG_ENTRY_EXEC)
        continue;
      char *obj = reg_store_object_path (store, e[i].value, e[i].kind == REG_ENTRY_EXEC);
      trees[i] = obj ? open_tree (AT_FDCWD, obj, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC) : -1;
      struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
      if (trees[i] < 0 || mount_setattr (trees[i], "", AT_EMPTY_PATH, &ro, sizeof ro) < 0)
        {
          snprintf (why, sizeof why, "%s: object %.16s: %s", e[i].path, e[i].value,
                    strerror (errno));
          fail = why;
        }
      free (obj);
    }
  if (!fail && enter_mounts (target) < 0)
    {
      snprintf (why, sizeof why, "enter the container's mount namespace: %s", strerror (errno));
      fail = why;
    }
  for (size_t i = 0; !fail && i < n; i++)
    {
      char dir[4096];
      const char *base;
      if (e[i].kind == REG_ENTRY_DIR)
        {
          int d = open_dir_nofollow (e[i].path, true, made);
          if (d < 0)
            {
              snprintf (why, sizeof why, "%s: %s", e[i].path, strerror (errno));
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
            fprintf (made, "l:%s\n", e[i].path);
        }
      else if (ok)
        {
          int f = openat (d, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                          e[i].kind == REG_ENTRY_EXEC ? 0555 : 0444);
          ok = f >= 0;
          if (ok)
            {
              close (f);
              fprintf (made, "m:%s\n", e[i].path);
              ok = move_mount (trees[i], "", d, base, MOVE_MOUNT_F_EMPTY_PATH) == 0;
            }
        }
      if (!ok)
        {
          snprintf (why, sizeof why, "%s: %s", e[i].path,
                    errno == EEXIST ? "something is already there" : strerror (errno));
          fail = why;
        }
      if (d >= 0)
        close (d);
    }
  fclose (made);
  if (fail)
    {
      if (log)
        undo_all (log);
      dprintf (out, "error %s\n", fail);
      _exit (1);
    }
  if (write (out, "ok\n", 3) < 0 || (log_len && write (out, log, log_len) < 0))
    _exit (1);
  _exit (0);
}

static int
run_helper (const struct reg_store *store, pid_t target, const struct reg_entry *e, size_t n,
            char *const *made_in, char ***made, struct reg_error **err)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return reg_error_sys (err, errno, "install: pipe");
  pid_t pid = fork ();
  if (pid < 0)
    {
      close (p[0]);
      close (p[1]);
      return reg_error_sys (err, errno, "install: fork");
    }
  if (pid == 0)
    {
      close (p[0]);
      if (made_in)
        {
          /* Uninstall: undo the recorded steps. */
          size_t len = 0;
          for (size_t i = 0; made_in[i]; i++)
            len += strlen (made_in[i]) + 1;
          char *text = calloc (len + 1, 1);
          for (size_t i = 0; text && made_in[i]; i++)
            strcat (strcat (text, made_in[i]), "\n");
          if (text == NULL || enter_mounts (target) < 0)
            {
              dprintf (p[1], "error enter the container's mount namespace: %s\n", strerror (errno));
              _exit (1);
            }
          undo_all (text);
          if (write (p[1], "ok\n", 3) < 0)
            _exit (1);
          _exit (0);
        }
      apply_child (store, target, e, n, p[1]);
    }
  close (p[1]);
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
  int ret = 0;
  if (text == NULL || strncmp (text, "ok\n", 3) != 0)
    {
      char *msg = text && strncmp (text, "error ", 6) == 0 ? text + 6 : NULL;
      if (msg)
        msg[strcspn (msg, "\n")] = '\0';
      ret = reg_error_set (err, EIO, "%s", msg ? msg : "the helper failed");
    }
  else if (made)
    {
      size_t count = 0;
      for (char *c = text + 3; *c; c++)
        count += *c == '\n';
      char **v = calloc (count + 1, sizeof *v);
      size_t k = 0;
      char *save = NULL;
      for (char *line = v ? strtok_r (text + 3, "\n", &save) : NULL; line;
           line = strtok_r (NULL, "\n", &save))
        v[k++] = strdup (line);
      *made = v;
      if (v == NULL)
        ret = reg_error_set (err, ENOMEM, "out of memory");
    }
  free (text);
  return ret;
}

int
reg_insert_apply (const struct reg_store *store, pid_t target, const struct reg_entry *entries,
                  size_t n, char ***made, struct reg_error **err)
{
  *made = NULL;
  return run_helper (store, target, entries, n, NULL, made, err);
}

int
reg_insert_remove (pid_t target, char *const *made, struct reg_error **err)
{
  if (made == NULL || made[0] == NULL)
    return 0;
  return run_helper (NULL, target, NULL, 0, made, NULL, err);
}
