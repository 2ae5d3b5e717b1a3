#include "bundle.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
add_object (struct archive *a, const struct reg_store *store, const char *name,
            struct reg_error **err)
{
  char hex[65];
  const char *variant;
  if (!reg_store_name_split (name, hex, &variant))
    return reg_error_set (err, EINVAL, "bundle: malformed object name \"%s\"", name);
  bool exec = strcmp (variant, "x") == 0;
  _cleanup_free_ char *path = reg_store_object_path (store, name, false);
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    return reg_error_sys (err, errno, "bundle: object %s", name);
  struct archive_entry *e = archive_entry_new ();
  char entry_name[256];
  snprintf (entry_name, sizeof entry_name, "sha256/%s", name);
  archive_entry_set_pathname (e, entry_name);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, exec ? 0555 : 0444);
  archive_entry_set_size (e, st.st_size);
  archive_entry_set_mtime (e, st.st_mtim.tv_sec, 0); /* bundle.h: Python's .pyc check */
  int ret = archive_write_header (a, e) == ARCHIVE_OK ? 0 : -1;
  archive_entry_free (e);
  if (ret < 0)
    return reg_error_set (err, EIO, "bundle: object %s: %s", name, archive_error_string (a));
  char buf[65536];
  ssize_t got;
  while ((got = read (fd, buf, sizeof buf)) > 0)
    if (archive_write_data (a, buf, got) != got)
      return reg_error_set (err, EIO, "bundle: object %s: %s", name, archive_error_string (a));
  if (got < 0)
    return reg_error_sys (err, errno, "bundle: read object %s", name);
  return 0;
}

int
reg_bundle_pack (const struct reg_store *store, char *const *objects, const char *out_path,
                 struct reg_error **err)
{
  struct archive *a = archive_write_new ();
  if (a == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  int ret = 0;
  if (archive_write_set_format_pax_restricted (a) != ARCHIVE_OK
      || archive_write_add_filter_gzip (a) != ARCHIVE_OK
      || archive_write_set_filter_option (a, "gzip", "timestamp", NULL) != ARCHIVE_OK
      || archive_write_open_filename (a, out_path) != ARCHIVE_OK)
    ret = reg_error_set (err, EIO, "bundle %s: %s", out_path, archive_error_string (a));
  for (size_t i = 0; ret == 0 && objects && objects[i]; i++)
    ret = add_object (a, store, objects[i], err);
  if (archive_write_close (a) != ARCHIVE_OK && ret == 0)
    ret = reg_error_set (err, EIO, "bundle %s: %s", out_path, archive_error_string (a));
  archive_write_free (a);
  return ret;
}

/* "sha256/<name>" -> "<name>" (an object name, store.h); NULL when the name is anything else. */
static const char *
object_name (const char *entry)
{
  if (entry == NULL || strncmp (entry, "sha256/", 7) != 0)
    return NULL;
  const char *n = entry + 7, *variant;
  char hex[65];
  return reg_store_name_split (n, hex, &variant) ? n : NULL;
}

static int
unpack_entry (struct archive *a, struct archive_entry *e, int dir_fd, const char *name,
              const struct reg_bundle_limits *limits, int64_t *total, struct reg_error **err)
{
  int64_t size = archive_entry_size (e);
  if (size > limits->max_entry)
    return reg_error_set (err, EFBIG, "entry %s: %lld bytes is over the %lld byte bound per entry",
                          name, (long long)size, (long long)limits->max_entry);
  _cleanup_close_ int fd
      = openat (dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
  if (fd < 0)
    return reg_error_sys (err, errno, "entry %s%s", name, errno == EEXIST ? " (duplicate)" : "");
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  EVP_DigestInit_ex (md, EVP_sha256 (), NULL);
  int64_t got_total = 0;
  char buf[65536];
  int ret = 0;
  for (;;)
    {
      la_ssize_t got = archive_read_data (a, buf, sizeof buf);
      if (got == 0)
        break;
      if (got < 0)
        {
          ret = reg_error_set (err, EIO, "entry %s: %s", name, archive_error_string (a));
          break;
        }
      got_total += got;
      *total += got;
      if (got_total > limits->max_entry || *total > limits->max_total)
        {
          ret = reg_error_set (err, EFBIG,
                               "entry %s: over the size bound (%lld bytes per entry, %lld in all)",
                               name, (long long)limits->max_entry, (long long)limits->max_total);
          break;
        }
      EVP_DigestUpdate (md, buf, got);
      if (reg_util_write_all (fd, buf, got) < 0)
        {
          ret = reg_error_sys (err, errno, "entry %s: write", name);
          break;
        }
    }
  unsigned char raw[32];
  char hex[65];
  EVP_DigestFinal_ex (md, raw, NULL);
  EVP_MD_CTX_free (md);
  reg_util_hex (raw, 32, hex);
  if (ret == 0 && strncmp (hex, name, 64) != 0)
    ret = reg_error_set (err, EINVAL, "entry %s: content has digest sha256:%s, not its name", name,
                         hex);
  /* The object's mtime, when it is a sane one (seconds since 1970, before
   * 2106 as in a .pyc header); otherwise the file keeps the time of now. */
  time_t mtime = archive_entry_mtime (e);
  if (ret == 0 && archive_entry_mtime_is_set (e) && mtime > 0 && mtime <= (time_t)UINT32_MAX)
    {
      struct timespec times[2] = { { 0, UTIME_OMIT }, { mtime, 0 } };
      if (futimens (fd, times) < 0)
        ret = reg_error_sys (err, errno, "entry %s: set its time", name);
    }
  /* A partial or unverified file never stays under an object name. */
  if (ret < 0)
    (void)unlinkat (dir_fd, name, 0);
  return ret;
}

static int
unpack (struct archive *a, int dir_fd, const struct reg_bundle_limits *limits, char ***objects,
        struct reg_error **err)
{
  size_t n = 0;
  int64_t total = 0;
  struct archive_entry *e;
  int r;
  while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK)
    {
      const char *path = archive_entry_pathname (e);
      const char *name = object_name (path);
      if (name == NULL)
        return reg_error_set (
            err, EINVAL,
            "entry \"%s\": not an object name (want sha256/<64 hex>[+x or +MODE-UID-GID[-CAP]])",
            path ? path : "");
      if (archive_entry_filetype (e) != AE_IFREG || archive_entry_hardlink (e) != NULL
          || archive_entry_symlink (e) != NULL)
        return reg_error_set (err, EINVAL,
                              "entry %s: not a regular file (links, devices and "
                              "directories are refused)",
                              path);
      if ((int64_t)n >= limits->max_entries)
        return reg_error_set (err, EFBIG, "entry %s: over the bound of %lld entries", path,
                              (long long)limits->max_entries);
      if (unpack_entry (a, e, dir_fd, name, limits, &total, err) < 0)
        return -1;
      char **grown = realloc (*objects, (n + 2) * sizeof *grown);
      if (grown == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      *objects = grown;
      grown[n + 1] = NULL;
      if ((grown[n] = strdup (name)) == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      n++;
    }
  if (r != ARCHIVE_EOF)
    return reg_error_set (err, EINVAL, "malformed or truncated: %s", archive_error_string (a));
  return 0;
}

int
reg_bundle_unpack (const char *archive_path, const char *dest_dir,
                   const struct reg_bundle_limits *limits, char ***objects, struct reg_error **err)
{
  _cleanup_close_ int dir_fd = open (dest_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0)
    return reg_error_sys (err, errno, "unpack into %s", dest_dir);
  struct archive *a = archive_read_new ();
  if (a == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  char **list = calloc (1, sizeof *list);
  int ret = 0;
  if (list == NULL)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  else if (archive_read_support_format_tar (a) != ARCHIVE_OK
           || archive_read_support_filter_gzip (a) != ARCHIVE_OK
           || archive_read_support_filter_zstd (a) < ARCHIVE_WARN
           || archive_read_open_filename (a, archive_path, 65536) != ARCHIVE_OK)
    ret = reg_error_set (err, EINVAL, "archive %s: malformed or truncated: %s", archive_path,
                         archive_error_string (a));
  else if ((ret = unpack (a, dir_fd, limits, &list, err)) < 0)
    reg_error_prefix (err, "archive %s", archive_path);
  archive_read_free (a);
  if (ret < 0)
    {
      for (size_t i = 0; list && list[i]; i++)
        (void)unlinkat (dir_fd, list[i], 0);
      reg_strv_free (list);
      return -1;
    }
  *objects = list;
  return 0;
}
