/* appfiles: an uploaded application read as hostile input (appfiles.h).
 * Nothing is ever extracted to a directory: each regular file's content is
 * streamed into one temporary file and from there into the store, so an
 * entry's name never becomes a host path. */
#include "appfiles.h"
#include "import.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool
ends_with (const char *s, const char *suffix)
{
  size_t n = strlen (s), m = strlen (suffix);
  return n > m && strcasecmp (s + n - m, suffix) == 0;
}

const char *
hub_appfiles_kind (const char *filename)
{
  if (ends_with (filename, ".tar.gz") || ends_with (filename, ".tgz"))
    return "tar.gz";
  if (ends_with (filename, ".tar"))
    return "tar";
  if (ends_with (filename, ".zip"))
    return "zip";
  return "file";
}

int
hub_appfiles_name_check (const char *filename, struct reg_error **err)
{
  size_t n = filename ? strlen (filename) : 0;
  bool ok = n > 0 && n <= 255 && strcmp (filename, ".") != 0 && strcmp (filename, "..") != 0;
  for (size_t i = 0; ok && i < n; i++)
    ok = filename[i] != '/' && (unsigned char)filename[i] >= 0x20 && filename[i] != 0x7f;
  if (!ok)
    return reg_error_set (err, EINVAL,
                          "upload: file name \"%.64s\" is not a plain base name (1-255 bytes, no "
                          "\"/\" or control characters)",
                          filename ? filename : "");
  return 0;
}

void
hub_appfiles_free (struct hub_app_files *f)
{
  for (size_t i = 0; i < f->n; i++)
    {
      free (f->entries[i].path);
      free (f->entries[i].value);
    }
  free (f->entries);
  memset (f, 0, sizeof *f);
}

/* "./a/b" -> "/app/a/b"; NULL when absolute, with "..", "." (but a
 * leading "./"), empty components or too long. A trailing "/" (a
 * directory) is dropped. */
static char *
container_path (const char *name)
{
  while (strncmp (name, "./", 2) == 0)
    name += 2;
  size_t n = strlen (name);
  while (n > 0 && name[n - 1] == '/')
    n--;
  if (n == 0 || n > 4000 || name[0] == '/')
    return NULL;
  char *p = NULL;
  if (asprintf (&p, HUB_APP_ROOT "/%.*s", (int)n, name) < 0)
    return NULL;
  if (!reg_util_path_is_clean (p) || strstr (p, "/../") || strstr (p, "/./") || ends_with (p, "/..")
      || ends_with (p, "/."))
    {
      free (p);
      return NULL;
    }
  return p;
}

/* Does `target`, relative to the directory of `path` (under /app), stay
 * inside /app? Lexically, component by component. */
static bool
link_stays_inside (const char *path, const char *target)
{
  if (target[0] == '/' || target[0] == '\0')
    return false;
  int depth = -1; /* components of path below /app, without its last */
  for (const char *p = path + strlen (HUB_APP_ROOT); *p; p++)
    if (*p == '/')
      depth++;
  const char *c = target;
  while (*c)
    {
      size_t len = strcspn (c, "/");
      if (len == 2 && strncmp (c, "..", 2) == 0)
        {
          if (--depth < 0)
            return false;
        }
      else if (len > 0 && !(len == 1 && c[0] == '.'))
        depth++;
      c += len;
      while (*c == '/')
        c++;
    }
  return true;
}

struct reader
{
  struct reg_store *store;
  const struct hub_app_limits *l;
  const char *tmpdir, *upload;
  struct hub_app_files *out;
  char ***added;
  int64_t expanded;
};

static int
push_entry (struct reader *r, char *path, enum reg_entry_kind kind, char *value,
            struct reg_error **err)
{
  for (size_t i = 0; i < r->out->n; i++)
    if (strcmp (r->out->entries[i].path, path) == 0)
      {
        reg_error_set (err, EINVAL, "upload %s: entry %s given twice", r->upload,
                       path + strlen (HUB_APP_ROOT "/"));
        free (path);
        free (value);
        return -1;
      }
  struct reg_entry *ne = realloc (r->out->entries, (r->out->n + 1) * sizeof *ne);
  if (ne == NULL)
    {
      free (path);
      free (value);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  r->out->entries = ne;
  ne[r->out->n++] = (struct reg_entry){ .path = path, .kind = kind, .value = value };
  return 0;
}

static int
too_big (struct reader *r, struct reg_error **err)
{
  return reg_error_set (err, EFBIG,
                        "upload %s: expands to more than %lld bytes (the hub's "
                        "--deploy-max-size): refused",
                        r->upload, (long long)r->l->max_bytes);
}

static int
note_added (char ***added, const char *hex, bool exec)
{
  size_t n = reg_strv_len (*added);
  char **nv = realloc (*added, (n + 2) * sizeof *nv);
  if (nv == NULL)
    return -1;
  *added = nv;
  nv[n + 1] = NULL;
  return asprintf (&nv[n], "%s%s", hex, exec ? "+x" : "") < 0 ? (nv[n] = NULL, -1) : 0;
}

/* The content of the current entry into the store (or only counted). */
static int
read_content (struct reader *r, struct archive *a, const char *path, bool exec, char **digest,
              struct reg_error **err)
{
  _cleanup_free_ char *tmp = NULL;
  _cleanup_close_ int fd = -1;
  if (r->store)
    {
      if (asprintf (&tmp, "%s/appfile-XXXXXX", r->tmpdir) < 0)
        return reg_error_set (err, ENOMEM, "out of memory");
      if ((fd = mkostemp (tmp, O_CLOEXEC)) < 0)
        return reg_error_sys (err, errno, "upload %s: temporary file in %s", r->upload, r->tmpdir);
    }
  char buf[65536];
  la_ssize_t got;
  int ret = 0;
  while (ret == 0 && (got = archive_read_data (a, buf, sizeof buf)) > 0)
    {
      r->expanded += got;
      if (r->expanded > r->l->max_bytes)
        ret = too_big (r, err);
      else if (fd >= 0 && reg_util_write_all (fd, buf, (size_t)got) < 0)
        ret = reg_error_sys (err, errno, "upload %s: write %s", r->upload, tmp);
    }
  if (ret == 0 && got < 0)
    ret = reg_error_set (err, EINVAL, "upload %s: entry %s: %s", r->upload,
                         path + strlen (HUB_APP_ROOT "/"), archive_error_string (a));
  char hex[65] = "";
  bool created = false;
  if (ret == 0 && r->store && reg_store_put_file (r->store, tmp, exec, hex, &created, err) < 0)
    ret = -1;
  if (ret == 0 && created && note_added (r->added, hex, exec) < 0)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  if (tmp)
    unlink (tmp);
  if (ret == 0 && (*digest = strdup (r->store ? hex : "-")) == NULL)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  return ret;
}

static int
read_entry (struct reader *r, struct archive *a, struct archive_entry *e, struct reg_error **err)
{
  const char *name = archive_entry_pathname (e);
  if (name && archive_entry_filetype (e) == AE_IFDIR
      && (strcmp (name, ".") == 0 || strcmp (name, "./") == 0))
    return 0; /* the app's own directory */
  char *path = name ? container_path (name) : NULL;
  if (path == NULL)
    return reg_error_set (err, EINVAL,
                          "upload %s: entry \"%.200s\": not a relative path inside the app (no "
                          "absolute paths, no \"..\")",
                          r->upload, name ? name : "");
  const char *rel = path + strlen (HUB_APP_ROOT "/");
  if (archive_entry_hardlink (e) != NULL)
    {
      reg_error_set (err, EINVAL, "upload %s: entry %s: hard links are not accepted", r->upload,
                     rel);
      free (path);
      return -1;
    }
  mode_t type = archive_entry_filetype (e);
  int ret = 0;
  if (type == AE_IFDIR)
    return push_entry (r, path, REG_ENTRY_DIR, NULL, err);
  if (type == AE_IFLNK)
    {
      const char *target = archive_entry_symlink (e);
      if (target == NULL || strlen (target) > 4095 || strchr (target, '\n')
          || !link_stays_inside (path, target))
        ret = reg_error_set (err, EINVAL,
                             "upload %s: symlink %s -> %.200s points out of the app: refused",
                             r->upload, rel, target ? target : "");
      else
        return push_entry (r, path, REG_ENTRY_SYMLINK, strdup (target), err);
    }
  else if (type != AE_IFREG)
    ret = reg_error_set (err, EINVAL,
                         "upload %s: entry %s: only files, directories and symlinks are "
                         "accepted",
                         r->upload, rel);
  else if (archive_entry_size_is_set (e) && archive_entry_size (e) > r->l->max_bytes - r->expanded)
    ret = too_big (r, err);
  else
    {
      bool exec = (archive_entry_perm (e) & 0111) != 0;
      char *digest = NULL;
      if (read_content (r, a, path, exec, &digest, err) < 0)
        ret = -1;
      else
        {
          r->out->files++;
          return push_entry (r, path, exec ? REG_ENTRY_EXEC : REG_ENTRY_FILE, digest, err);
        }
    }
  free (path);
  return ret;
}

static int
read_archive (struct reader *r, const char *path, const char *kind, struct reg_error **err)
{
  struct archive *a = archive_read_new ();
  if (a == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (strcmp (kind, "zip") == 0)
    archive_read_support_format_zip (a);
  else
    {
      archive_read_support_format_tar (a);
      archive_read_support_filter_gzip (a);
    }
  int ret = 0;
  if (archive_read_open_filename (a, path, 65536) != ARCHIVE_OK)
    ret = reg_error_set (err, EINVAL, "upload %s: not a %s archive: %s", r->upload, kind,
                         archive_error_string (a));
  struct archive_entry *e;
  size_t count = 0;
  while (ret == 0)
    {
      int rc = archive_read_next_header (a, &e);
      if (rc == ARCHIVE_EOF)
        break;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
        ret = reg_error_set (err, EINVAL, "upload %s: broken %s archive: %s", r->upload, kind,
                             archive_error_string (a));
      else if (++count > r->l->max_entries)
        ret = reg_error_set (err, EFBIG, "upload %s: more than %zu entries: refused", r->upload,
                             r->l->max_entries);
      else
        ret = read_entry (r, a, e, err);
    }
  archive_read_free (a);
  if (ret == 0 && r->out->files == 0)
    ret = reg_error_set (err, EINVAL, "upload %s: the archive holds no file", r->upload);
  return ret;
}

/* A single file: /app/NAME, its content as it is. */
static int
read_single (struct reader *r, const char *path, const char *filename, struct reg_error **err)
{
  struct archive *a = archive_read_new ();
  if (a == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  archive_read_support_format_raw (a);
  archive_read_support_filter_none (a);
  int ret = 0;
  struct archive_entry *e;
  if (archive_read_open_filename (a, path, 65536) != ARCHIVE_OK
      || archive_read_next_header (a, &e) != ARCHIVE_OK)
    ret = reg_error_set (err, EINVAL, "upload %s: cannot read it: %s", r->upload,
                         archive_error_string (a));
  _cleanup_free_ char *cpath = NULL;
  if (ret == 0 && asprintf (&cpath, HUB_APP_ROOT "/%s", filename) < 0)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  char *digest = NULL;
  if (ret == 0 && read_content (r, a, cpath, false, &digest, err) < 0)
    ret = -1;
  archive_read_free (a);
  if (ret < 0)
    return -1;
  r->out->files = 1;
  char *p = cpath;
  cpath = NULL;
  return push_entry (r, p, REG_ENTRY_FILE, digest, err);
}

int
hub_appfiles_read (struct reg_store *store, const char *path, const char *filename,
                   const struct hub_app_limits *l, const char *tmpdir, struct hub_app_files *out,
                   char ***added, struct reg_error **err)
{
  memset (out, 0, sizeof *out);
  if (hub_appfiles_name_check (filename, err) < 0)
    return -1;
  struct stat st;
  if (stat (path, &st) < 0)
    return reg_error_sys (err, errno, "upload %s", filename);
  struct reader r = {
    .store = store, .l = l, .tmpdir = tmpdir, .upload = filename, .out = out, .added = added
  };
  int ret = 0;
  if (st.st_size > l->max_bytes)
    ret = too_big (&r, err);
  else
    {
      const char *kind = hub_appfiles_kind (filename);
      ret = strcmp (kind, "file") == 0 ? read_single (&r, path, filename, err)
                                       : read_archive (&r, path, kind, err);
    }
  out->bytes = r.expanded;
  if (ret < 0)
    {
      hub_appfiles_free (out);
      if (store && added && *added)
        {
          reg_import_undo (store, *added);
          *added = NULL;
        }
    }
  return ret;
}
