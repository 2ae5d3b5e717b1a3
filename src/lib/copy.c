#include "copy.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

/* ---- resolving a container path ---- */

static int
beneath (int root_fd, const char *rel, int flags, unsigned long long resolve)
{
  struct open_how how = { .flags = (unsigned long long)(flags | O_CLOEXEC),
                          .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | resolve };
  return (int)syscall (SYS_openat2, root_fd, *rel ? rel : ".", &how, sizeof how);
}

static int
path_error (struct reg_error **err, int errnum, const char *path)
{
  if (errnum == EXDEV)
    return reg_error_set (err, EINVAL,
                          "path %s escapes the container's root (through \"..\" or a symlink that "
                          "leaves the tree or is absolute): refused",
                          path);
  if (errnum == ENOENT)
    return reg_error_set (err, ENOENT, "no such file or directory in the container: %s", path);
  return reg_error_sys (err, errnum, "path %s in the container", path);
}

/* "/a/b/" -> dir "a", base "b" (both allocated); "/" -> "", ".". */
static int
split_path (const char *path, char **dir, char **base, struct reg_error **err)
{
  if (path == NULL || path[0] != '/' || strlen (path) >= 4096)
    return reg_error_set (err, EINVAL, "container path \"%s\": want an absolute path",
                          path ? path : "");
  _cleanup_free_ char *p = strdup (path + 1);
  if (p == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  size_t n = strlen (p);
  while (n > 0 && p[n - 1] == '/')
    p[--n] = '\0';
  char *slash = strrchr (p, '/');
  *dir = slash ? strndup (p, (size_t)(slash - p)) : strdup ("");
  *base = strdup (slash ? slash + 1 : n ? p : ".");
  if (*dir == NULL || *base == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (strcmp (*base, "..") == 0 || (strcmp (*base, ".") == 0 && n > 0))
    return reg_error_set (err, EINVAL, "container path %s: name a file, not \".\" or \"..\"", path);
  return 0;
}

int
reg_copy_resolve (int root_fd, const char *path, int *parent_fd, char **name,
                  struct reg_error **err)
{
  _cleanup_free_ char *dir = NULL, *base = NULL;
  if (split_path (path, &dir, &base, err) < 0)
    return -1;
  /* The whole path first: an escape anywhere on it is refused as one. */
  _cleanup_free_ char *rel = NULL;
  if (asprintf (&rel, "%s%s%s", dir, *dir ? "/" : "", base) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  int fd = beneath (root_fd, rel, O_PATH | O_NOFOLLOW, 0);
  if (fd < 0)
    return path_error (err, errno, path);
  close (fd);
  *parent_fd = beneath (root_fd, dir, O_PATH | O_DIRECTORY, 0);
  if (*parent_fd < 0)
    return path_error (err, errno, path);
  *name = reg_steal (&base);
  return 0;
}

/* ---- writing a tree as tar ---- */

struct tar_out
{
  reg_copy_write_fn fn;
  void *data;
};

static la_ssize_t
tar_write_cb (struct archive *a, void *client, const void *buf, size_t len)
{
  struct tar_out *o = client;
  return o->fn (o->data, buf, len) < 0 ? -1 : (la_ssize_t)len;
}

static int
tar_fail (struct archive *a, struct reg_error **err, const char *what)
{
  return reg_error_set (err, EIO, "archive %s: %s", what,
                        archive_error_string (a) ? archive_error_string (a) : "write failed");
}

static int add_tree (struct archive *a, int dir_fd, const char *name, const char *apath,
                     struct reg_error **err);

static int
add_children (struct archive *a, int fd, const char *apath, struct reg_error **err)
{
  struct statfs sfs;
  if (fstatfs (fd, &sfs) == 0 && (sfs.f_type == PROC_SUPER_MAGIC || sfs.f_type == SYSFS_MAGIC))
    {
      close (fd);
      return 0; /* kernel views, not files */
    }
  DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return reg_error_sys (err, errno, "read directory %s", apath);
    }
  int ret = 0;
  for (struct dirent *de; ret == 0 && (de = readdir (d)) != NULL;)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      _cleanup_free_ char *child = NULL;
      if (asprintf (&child, "%s/%s", apath, de->d_name) < 0)
        ret = reg_error_set (err, ENOMEM, "out of memory");
      else
        ret = add_tree (a, dirfd (d), de->d_name, child, err);
    }
  closedir (d);
  return ret;
}

static int
add_file_data (struct archive *a, int dir_fd, const char *name, const char *apath,
               struct reg_error **err)
{
  _cleanup_close_ int fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return reg_error_sys (err, errno, "read %s", apath);
  char buf[65536];
  ssize_t n;
  while ((n = read (fd, buf, sizeof buf)) > 0)
    if (archive_write_data (a, buf, (size_t)n) < 0)
      return tar_fail (a, err, apath);
  return n < 0 ? reg_error_sys (err, errno, "read %s", apath) : 0;
}

static int
add_tree (struct archive *a, int dir_fd, const char *name, const char *apath,
          struct reg_error **err)
{
  struct stat st;
  if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : reg_error_sys (err, errno, "stat %s", apath);
  struct archive_entry *e = archive_entry_new ();
  if (e == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  archive_entry_copy_stat (e, &st);
  archive_entry_set_pathname (e, apath);
  if (S_ISLNK (st.st_mode))
    {
      char target[4096];
      ssize_t n = readlinkat (dir_fd, name, target, sizeof target - 1);
      target[n > 0 ? n : 0] = '\0';
      archive_entry_set_symlink (e, target);
    }
  if (!S_ISREG (st.st_mode))
    archive_entry_set_size (e, 0);
  int ret = archive_write_header (a, e) < ARCHIVE_WARN ? tar_fail (a, err, apath) : 0;
  archive_entry_free (e);
  if (ret == 0 && S_ISREG (st.st_mode))
    ret = add_file_data (a, dir_fd, name, apath, err);
  if (ret == 0 && S_ISDIR (st.st_mode))
    {
      int fd = openat (dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      ret = fd < 0 ? reg_error_sys (err, errno, "open directory %s", apath)
                   : add_children (a, fd, apath, err);
    }
  return ret;
}

int
reg_copy_tar (int parent_fd, const char *name, const char *top, reg_copy_write_fn fn, void *data,
              struct reg_error **err)
{
  struct tar_out o = { fn, data };
  struct archive *a = archive_write_new ();
  if (a == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  int ret = 0;
  if (archive_write_set_format_pax_restricted (a) != ARCHIVE_OK
      || archive_write_set_bytes_in_last_block (a, 1) != ARCHIVE_OK
      || archive_write_open (a, &o, NULL, tar_write_cb, NULL) != ARCHIVE_OK)
    ret = tar_fail (a, err, top);
  if (ret == 0)
    ret = add_tree (a, parent_fd, name, top, err);
  if (archive_write_close (a) != ARCHIVE_OK && ret == 0)
    ret = tar_fail (a, err, top);
  archive_write_free (a);
  return ret;
}

/* ---- extracting an archive ---- */

/* Clean an entry's name ("./a//b/" -> "a/b"), renaming its first component
 * when asked; NULL (with *err) when it is absolute or has "..". */
static char *
entry_name (const char *raw, const char *rename_to, struct reg_error **err)
{
  while (raw[0] == '.' && raw[1] == '/')
    raw += 2;
  if (raw[0] == '/')
    return reg_error_set (err, EINVAL, "archive entry %s: absolute names are refused", raw), NULL;
  _cleanup_free_ char *copy = strdup (raw);
  char *out = calloc (1, strlen (raw) + (rename_to ? strlen (rename_to) : 0) + 2);
  if (copy == NULL || out == NULL)
    {
      free (out);
      return reg_error_set (err, ENOMEM, "out of memory"), NULL;
    }
  char *save = NULL;
  bool first = true;
  for (char *c = strtok_r (copy, "/", &save); c; c = strtok_r (NULL, "/", &save))
    {
      if (strcmp (c, ".") == 0)
        continue;
      if (strcmp (c, "..") == 0)
        {
          free (out);
          return reg_error_set (err, EINVAL, "archive entry %s: \"..\" is refused", raw), NULL;
        }
      strcat (*out ? strcat (out, "/") : out, first && rename_to ? rename_to : c);
      first = false;
    }
  return out;
}

/* Replace whatever non-directory is at dir_fd/name. */
static void
clear_slot (int dir_fd, const char *name)
{
  struct stat st;
  if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR (st.st_mode))
    unlinkat (dir_fd, name, 0);
}

static int
extract_file (struct archive *a, int dir_fd, const char *base, const char *name, mode_t mode,
              time_t mtime, struct reg_error **err)
{
  clear_slot (dir_fd, base);
  _cleanup_close_ int fd
      = openat (dir_fd, base, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return reg_error_sys (err, errno, "create %s", name);
  const void *buf;
  size_t len;
  la_int64_t off;
  int r;
  while ((r = archive_read_data_block (a, &buf, &len, &off)) == ARCHIVE_OK)
    if (pwrite (fd, buf, len, off) != (ssize_t)len)
      return reg_error_sys (err, errno, "write %s", name);
  if (r != ARCHIVE_EOF)
    return reg_error_set (err, EINVAL, "archive entry %s: %s", name, archive_error_string (a));
  struct timespec t[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = mtime } };
  if (fchmod (fd, mode & 01777) < 0 || futimens (fd, t) < 0)
    return reg_error_sys (err, errno, "set mode of %s", name);
  return 0;
}

static int
extract_entry (struct archive *a, struct archive_entry *e, int dest_fd, const char *name,
               struct reg_error **err)
{
  _cleanup_free_ char *dir = strdup (name);
  if (dir == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  char *slash = strrchr (dir, '/');
  const char *base = slash ? slash + 1 : name;
  if (slash)
    *slash = '\0';
  /* The parent: already there, a real directory, reached without a symlink. */
  _cleanup_close_ int parent
      = slash ? beneath (dest_fd, dir, O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS) : dup (dest_fd);
  if (parent < 0)
    return errno == ELOOP || errno == ENOTDIR || errno == EXDEV
               ? reg_error_set (err, EINVAL,
                                "archive entry %s: its directory is a symlink or not a directory: "
                                "refused",
                                name)
               : reg_error_sys (err, errno, "archive entry %s", name);
  mode_t mode = archive_entry_mode (e);
  if (archive_entry_hardlink (e))
    return reg_error_set (err, EINVAL, "archive entry %s: hard links are not supported", name);
  switch (mode & S_IFMT)
    {
    case S_IFDIR:
      if (mkdirat (parent, base, mode & 01777) < 0 && errno != EEXIST)
        return reg_error_sys (err, errno, "mkdir %s", name);
      return 0;
    case S_IFREG:
      return extract_file (a, parent, base, name, mode, archive_entry_mtime (e), err);
    case S_IFLNK:
      clear_slot (parent, base);
      if (symlinkat (archive_entry_symlink (e), parent, base) < 0)
        return reg_error_sys (err, errno, "symlink %s", name);
      return 0;
    default:
      return reg_error_set (
          err, EINVAL, "archive entry %s: only files, directories and symlinks are copied", name);
    }
}

/* Where an archive goes: into path when it is a directory, else into its
 * parent under path's last name (*rename_to). */
static int
open_destination (int root_fd, const char *path, int *dest_fd, char **rename_to,
                  struct reg_error **err)
{
  _cleanup_free_ char *dir = NULL, *base = NULL, *rel = NULL;
  if (split_path (path, &dir, &base, err) < 0
      || asprintf (&rel, "%s%s%s", dir, *dir ? "/" : "", strcmp (base, ".") ? base : "") < 0)
    return -1;
  *dest_fd = beneath (root_fd, rel, O_PATH | O_DIRECTORY, 0);
  if (*dest_fd >= 0)
    return 0;
  if (errno != ENOENT && errno != ENOTDIR)
    return path_error (err, errno, path);
  *dest_fd = beneath (root_fd, dir, O_PATH | O_DIRECTORY, 0);
  if (*dest_fd < 0)
    return path_error (err, errno, path);
  *rename_to = reg_steal (&base);
  return 0;
}

int
reg_copy_untar_at (int dest, const char *rename_to, const void *buf, size_t len,
                   struct reg_error **err)
{
  struct archive *a = archive_read_new ();
  if (a == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  archive_read_support_format_tar (a);
  int ret = 0;
  if (archive_read_open_memory (a, buf, len) != ARCHIVE_OK)
    ret = reg_error_set (err, EINVAL, "not a tar archive: %s", archive_error_string (a));
  struct archive_entry *e;
  int r = ARCHIVE_OK;
  while (ret == 0 && (r = archive_read_next_header (a, &e)) == ARCHIVE_OK)
    {
      _cleanup_free_ char *name = entry_name (archive_entry_pathname (e), rename_to, err);
      if (name == NULL)
        ret = -1;
      else if (*name)
        ret = extract_entry (a, e, dest, name, err);
    }
  if (ret == 0 && r != ARCHIVE_EOF)
    ret = reg_error_set (err, EINVAL, "bad tar archive: %s", archive_error_string (a));
  archive_read_free (a);
  return ret;
}

int
reg_copy_untar (int root_fd, const char *path, const void *buf, size_t len, struct reg_error **err)
{
  _cleanup_close_ int dest = -1;
  _cleanup_free_ char *rename_to = NULL;
  if (open_destination (root_fd, path, &dest, &rename_to, err) < 0)
    return -1;
  if (reg_copy_untar_at (dest, rename_to, buf, len, err) < 0)
    return reg_error_prefix (err, "copy into %s", path);
  return 0;
}

/* ---- changes of an upper layer ---- */

struct change
{
  char *path;
  int kind;
};

struct changes
{
  struct change *v;
  size_t n, cap;
  char *const *hide;
};

enum
{
  CHANGED = 0,
  ADDED = 1,
  DELETED = 2,
};

static int
add_change (struct changes *c, const char *path, int kind)
{
  if (c->n == c->cap)
    {
      size_t cap = c->cap ? c->cap * 2 : 64;
      struct change *v = realloc (c->v, cap * sizeof *v);
      if (v == NULL)
        return -1;
      c->v = v;
      c->cap = cap;
    }
  if ((c->v[c->n].path = strdup (path)) == NULL)
    return -1;
  c->v[c->n++].kind = kind;
  return 0;
}

static bool
is_whiteout (const struct stat *st)
{
  return S_ISCHR (st->st_mode) && st->st_rdev == 0;
}

static int walk_upper (struct changes *c, int upper, int lower, const char *prefix);

static int
walk_dir (struct changes *c, int upper_dir, int lower_dir, const char *name, const char *path,
          bool lower_is_dir)
{
  int ufd = openat (upper_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (ufd < 0)
    return 0;
  char opaque[4] = "";
  bool is_opaque
      = fgetxattr (ufd, "trusted.overlay.opaque", opaque, sizeof opaque) > 0 && opaque[0] == 'y';
  int lfd = lower_is_dir && !is_opaque
                ? openat (lower_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                : -1;
  int ret = walk_upper (c, ufd, lfd, path);
  if (lfd >= 0)
    close (lfd);
  return ret;
}

static bool
hidden (struct changes *c, const char *path)
{
  for (size_t i = 0; c->hide && c->hide[i]; i++)
    if (strcmp (c->hide[i], path) == 0)
      return true;
  return false;
}

/* Takes upper (closed here); lower is the caller's (-1: none). */
static int
walk_upper (struct changes *c, int upper, int lower, const char *prefix)
{
  DIR *d = fdopendir (upper);
  if (d == NULL)
    {
      close (upper);
      return 0;
    }
  int ret = 0;
  for (struct dirent *de; ret == 0 && (de = readdir (d)) != NULL;)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      _cleanup_free_ char *path = NULL;
      struct stat st, lst;
      if (asprintf (&path, "%s/%s", prefix, de->d_name) < 0)
        {
          ret = -1;
          break;
        }
      if (hidden (c, path) || fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      bool in_lower = lower >= 0 && fstatat (lower, de->d_name, &lst, AT_SYMLINK_NOFOLLOW) == 0;
      if (is_whiteout (&st))
        ret = in_lower ? add_change (c, path, DELETED) : 0;
      else
        ret = add_change (c, path, in_lower ? CHANGED : ADDED);
      if (ret == 0 && S_ISDIR (st.st_mode))
        ret = walk_dir (c, dirfd (d), lower, de->d_name, path, in_lower && S_ISDIR (lst.st_mode));
    }
  closedir (d);
  return ret;
}

static int
compare_changes (const void *a, const void *b)
{
  return strcmp (((const struct change *)a)->path, ((const struct change *)b)->path);
}

int
reg_copy_changes (const char *upper, const char *lower, char *const *hide, json_t **out,
                  struct reg_error **err)
{
  struct changes c = { .hide = hide };
  int ufd = open (upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (ufd < 0)
    return reg_error_sys (err, errno, "changes: open %s", upper);
  int lfd = open (lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int ret = walk_upper (&c, ufd, lfd, "");
  if (lfd >= 0)
    close (lfd);
  json_t *a = ret == 0 ? json_array () : NULL;
  if (c.n)
    qsort (c.v, c.n, sizeof *c.v, compare_changes);
  for (size_t i = 0; i < c.n; i++)
    {
      if (a)
        json_array_append_new (a,
                               json_pack ("{s:s, s:i}", "Path", c.v[i].path, "Kind", c.v[i].kind));
      free (c.v[i].path);
    }
  free (c.v);
  if (a == NULL)
    return reg_error_set (err, ENOMEM, "changes of %s: out of memory", upper);
  *out = a;
  return 0;
}
