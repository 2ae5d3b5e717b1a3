/* volume: a new (empty) volume initialised with what an image has at its
 * mount point (volume.h, reg_volume_fill), as Docker copies it.
 *
 * The source is a generated environment (or the two trees of a layered
 * one, copied base first): a tree reg made and verified, in
 * which every file of one content is one inode. So the copy never keeps
 * hard links (two unrelated files of the same content must stay two files
 * once writable), walks with *at() calls and O_NOFOLLOW only, and bounds
 * its depth. */
#include "volume.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define FILL_MAX_DEPTH 256
#define CAP_XATTR "security.capability"

/* The store folds the owner's write bit of root's world-readable files
 * (0644 and 0444 are one object, 0444): a copy meant to be written gets it
 * back, as the image's 0644 files have it. Other modes are the image's own. */
static mode_t
copy_mode (const struct stat *st)
{
  mode_t mode = st->st_mode & 07777;
  if (S_ISREG (st->st_mode) && st->st_uid == 0 && st->st_gid == 0 && (mode == 0444 || mode == 0555))
    mode |= 0200;
  return mode;
}

/* Owner, mode (after the owner: chown clears set-ID bits), the file
 * capability and the mtime of st onto fd. */
static int
set_attrs (int src, int fd, const struct stat *st, const char *path, struct reg_error **err)
{
  if (fchown (fd, st->st_uid, st->st_gid) < 0 || fchmod (fd, copy_mode (st)) < 0)
    return reg_error_sys (err, errno, "%s: set owner and mode", path);
  unsigned char cap[64];
  ssize_t n = S_ISREG (st->st_mode) ? fgetxattr (src, CAP_XATTR, cap, sizeof cap) : -1;
  if (n > 0 && fsetxattr (fd, CAP_XATTR, cap, (size_t)n, 0) < 0)
    return reg_error_sys (err, errno, "%s: set %s", path, CAP_XATTR);
  struct timespec t[2] = { st->st_atim, st->st_mtim };
  if (futimens (fd, t) < 0)
    return reg_error_sys (err, errno, "%s: set times", path);
  return 0;
}

static int
copy_bytes (int in, int out, const char *path, struct reg_error **err)
{
  for (;;)
    {
      ssize_t n = copy_file_range (in, NULL, out, NULL, 1 << 20, 0);
      if (n == 0)
        return 0;
      if (n > 0)
        continue;
      if (errno == EINTR)
        continue;
      if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return reg_error_sys (err, errno, "%s: copy", path);
      break; /* another filesystem: plain reads and writes */
    }
  char buf[65536];
  ssize_t n;
  while ((n = read (in, buf, sizeof buf)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 || reg_util_write_all (out, buf, (size_t)n) < 0)
        return reg_error_sys (err, errno, "%s: copy", path);
    }
  return 0;
}

static int
copy_file (int src_dir, int dst_dir, const char *name, const struct stat *st, const char *path,
           struct reg_error **err)
{
  _cleanup_close_ int in = openat (src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0)
    return reg_error_sys (err, errno, "%s: open", path);
  if (unlinkat (dst_dir, name, 0) < 0 && errno != ENOENT) /* a lower source's */
    return reg_error_sys (err, errno, "%s: replace", path);
  _cleanup_close_ int out
      = openat (dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0)
    return reg_error_sys (err, errno, "%s: create", path);
  if (copy_bytes (in, out, path, err) < 0)
    return -1;
  return set_attrs (in, out, st, path, err);
}

static int
copy_symlink (int src_dir, int dst_dir, const char *name, const struct stat *st, const char *path,
              struct reg_error **err)
{
  char target[PATH_MAX];
  ssize_t n = readlinkat (src_dir, name, target, sizeof target - 1);
  if (n < 0)
    return reg_error_sys (err, errno, "%s: readlink", path);
  target[n] = '\0';
  if (unlinkat (dst_dir, name, 0) < 0 && errno != ENOENT)
    return reg_error_sys (err, errno, "%s: replace", path);
  if (symlinkat (target, dst_dir, name) < 0
      || fchownat (dst_dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    return reg_error_sys (err, errno, "%s: symlink", path);
  return 0;
}

static int copy_tree (int src, int dst, const char *path, unsigned depth, struct reg_error **err);

static int
copy_dir (int src_dir, int dst_dir, const char *name, const struct stat *st, const char *path,
          unsigned depth, struct reg_error **err)
{
  struct stat have;
  if (mkdirat (dst_dir, name, 0700) < 0
      && !(errno == EEXIST && fstatat (dst_dir, name, &have, AT_SYMLINK_NOFOLLOW) == 0
           && S_ISDIR (have.st_mode)))
    return reg_error_sys (err, errno, "%s: mkdir", path);
  _cleanup_close_ int in = openat (src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_close_ int out = openat (dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0 || out < 0)
    return reg_error_sys (err, errno, "%s: open", path);
  if (copy_tree (in, out, path, depth + 1, err) < 0)
    return -1;
  return set_attrs (in, out, st, path, err);
}

/* Every entry of the directory src into dst; path names src in messages. */
static int
copy_tree (int src, int dst, const char *path, unsigned depth, struct reg_error **err)
{
  if (depth > FILL_MAX_DEPTH)
    return reg_error_set (err, ELOOP, "%s: deeper than %d directories", path, FILL_MAX_DEPTH);
  int fd = dup (src);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  if (d == NULL)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      return reg_error_sys (err, e, "%s: read directory", path);
    }
  int ret = 0;
  struct dirent *de;
  while (ret == 0 && (errno = 0, de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      _cleanup_free_ char *sub = NULL;
      struct stat st;
      if (asprintf (&sub, "%s/%s", strcmp (path, "/") ? path : "", de->d_name) < 0)
        ret = reg_error_set (err, ENOMEM, "out of memory");
      else if (fstatat (src, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        ret = reg_error_sys (err, errno, "%s: stat", sub);
      else if (S_ISDIR (st.st_mode))
        ret = copy_dir (src, dst, de->d_name, &st, sub, depth, err);
      else if (S_ISREG (st.st_mode))
        ret = copy_file (src, dst, de->d_name, &st, sub, err);
      else if (S_ISLNK (st.st_mode))
        ret = copy_symlink (src, dst, de->d_name, &st, sub, err);
      /* nothing else is in an environment */
    }
  if (ret == 0 && errno != 0)
    ret = reg_error_sys (err, errno, "%s: read directory", path);
  closedir (d);
  return ret;
}

/* Whether the directory fd has no entry; -1 with errno on failure. */
static int
dir_empty (int fd)
{
  int dfd = dup (fd);
  DIR *d = dfd >= 0 ? fdopendir (dfd) : NULL;
  if (d == NULL)
    {
      if (dfd >= 0)
        close (dfd);
      return -1;
    }
  struct dirent *de;
  int empty = 1;
  while ((de = readdir (d)) != NULL && empty)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      empty = 0;
  closedir (d);
  return empty;
}

/* Take back a failed copy: every entry of data goes. */
static void
empty_again (const char *data)
{
  DIR *d = opendir (data);
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    {
      _cleanup_free_ char *p = NULL;
      if (strcmp (de->d_name, ".") && strcmp (de->d_name, "..")
          && asprintf (&p, "%s/%s", data, de->d_name) >= 0)
        reg_util_rm_rf (p, NULL);
    }
  if (d)
    closedir (d);
}

int
reg_volume_fill (const char *root, const char *name, const int *src, size_t n_src, const char *what,
                 bool *copied, struct reg_error **err)
{
  *copied = false;
  _cleanup_free_ char *data = reg_volume_data_path (root, name);
  if (data == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  _cleanup_close_ int dst = open (data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dst < 0)
    return reg_error_sys (err, errno, "volume %s: open %s", name, data);
  int empty = dir_empty (dst);
  if (empty < 0)
    return reg_error_sys (err, errno, "volume %s: read %s", name, data);
  if (!empty)
    return 0; /* Docker copies into an empty volume only */
  int ret = 0;
  for (size_t i = 0; ret == 0 && i < n_src; i++)
    {
      struct stat st;
      if (fstat (src[i], &st) < 0)
        ret = reg_error_sys (err, errno, "%s: stat", what);
      else if (copy_tree (src[i], dst, what, 0, err) < 0
               || set_attrs (src[i], dst, &st, what, err) < 0)
        ret = -1;
    }
  if (ret < 0)
    {
      empty_again (data);
      return reg_error_prefix (err, "volume %s: copy the image's files", name);
    }
  *copied = n_src > 0;
  return 0;
}
