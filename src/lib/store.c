#include "store.h"
#include "root.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/* Objects are copied (and hashed) in pieces of this size, and no larger:
 * a buffered write fills the page cache with folios as large as the write
 * (ext4's large folios), and a process that later maps the object maps the
 * whole folio around each page it touches. Copies written 256 KB at a time
 * were mapped nearly whole (node: 44 MB of its 99 MB executable, against
 * 33 MB of the host's own file; docs/benchmarks.md, issue 15). 16 KB:
 * Docker's image import leaves its files in folios of 4-16 KB (measured
 * with bench/folios.py: libnode 25% 4 kB, 24% 8 kB, 49% 16 kB), and node
 * mapped 0.1-1.3 MB more of libnode from objects written 64 KB at a time
 * than from Docker's copy, the same from objects written 16 KB at a time
 * (docs/benchmarks.md, "Images"). */
#define STORE_IO_BYTES (16 * 1024)

void
reg_store_free (struct reg_store *store)
{
  if (store == NULL)
    return;
  free (store->root);
  free (store->objects_dir);
  free (store->tmp_dir);
  free (store);
}

/* Are a and b on one filesystem? *dev: a's. */
static int
same_filesystem (const char *a, const char *b, dev_t *dev, struct reg_error **err)
{
  struct stat sa, sb;
  if (stat (a, &sa) < 0)
    return reg_error_sys (err, errno, "store: stat %s", a);
  if (stat (b, &sb) < 0)
    return reg_error_sys (err, errno, "store: stat %s", b);
  if (sa.st_dev != sb.st_dev)
    return reg_error_set (err, EXDEV,
                          "store: %s and %s are on different filesystems; hard links from "
                          "environments to store objects need one filesystem",
                          a, b);
  *dev = sa.st_dev;
  return 0;
}

/* Objects are 0444 (an inode is shared by every container, whose users
 * must read it), so no host user but root may reach them: the root, the
 * store and the environments are 0700, also in a root made by an earlier
 * version (0711, envs/ 0755). Containers are unaffected: their overlay
 * reaches the environment with the credentials of its mounter (root). */
static int
make_private (const char *root, const char *envs, struct reg_error **err)
{
  _cleanup_free_ char *store = reg_root_path (root, REG_ROOT_STORE, NULL, NULL);
  if (store == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  const char *dirs[] = { root, store, envs };
  for (size_t i = 0; i < 3; i++)
    if (chmod (dirs[i], 0700) < 0)
      return reg_error_sys (err, errno, "chmod 0700 %s", dirs[i]);
  return 0;
}

int
reg_store_open (const char *root, struct reg_store **out, struct reg_error **err)
{
  struct reg_store *s = calloc (1, sizeof *s);
  if (s == NULL)
    return reg_error_set (err, ENOMEM, "store: out of memory");
  _cleanup_free_ char *envs = reg_root_path (root, REG_ROOT_ENVS, NULL, NULL);
  s->root = strdup (root);
  s->objects_dir = reg_root_path (root, REG_ROOT_OBJECTS, NULL, NULL);
  s->tmp_dir = reg_root_path (root, REG_ROOT_STORE_TMP, NULL, NULL);
  if (s->root == NULL || s->objects_dir == NULL || s->tmp_dir == NULL || envs == NULL)
    {
      reg_store_free (s);
      return reg_error_set (err, ENOMEM, "store: out of memory");
    }
  if (reg_util_mkdir_p (s->objects_dir, 0700, err) < 0
      || reg_util_mkdir_p (s->tmp_dir, 0700, err) < 0 || reg_util_mkdir_p (envs, 0700, err) < 0
      || make_private (root, envs, err) < 0
      || same_filesystem (s->objects_dir, envs, &s->dev, err) < 0)
    {
      reg_store_free (s);
      return reg_error_prefix (err, "open store at %s", root);
    }
  *out = s;
  return 0;
}

/* ---- names and variants (store.h) ---- */

#define XATTR_CAP "security.capability"

static bool
attrs_default (const struct reg_store_attrs *a)
{
  unsigned x = a->mode & 0111;
  return a->uid == 0 && a->gid == 0 && !a->has_cap && (a->mode & 07000) == 0
         && (a->mode & 0444) == 0444 && (x == 0 || x == 0111);
}

/* A decimal id below 4294967295 without leading zeros; *end after it. */
static bool
parse_id (const char *s, unsigned *out, const char **end)
{
  size_t n = strspn (s, "0123456789");
  if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
    return false;
  unsigned long long v = strtoull (s, NULL, 10);
  if (v >= 4294967295ULL)
    return false;
  *out = (unsigned)v;
  *end = s + n;
  return true;
}

/* A VFS_CAP revision-2 value: the revision, only the effective flag, and
 * two permitted/inheritable pairs (linux/capability.h). */
static bool
cap_ok (const unsigned char *c)
{
  uint32_t magic
      = (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24;
  return (magic & ~1u) == 0x02000000u;
}

bool
reg_store_attrs_parse (const char *attrs, struct reg_store_attrs *out)
{
  memset (out, 0, sizeof *out);
  const char *p = attrs;
  if (strspn (p, "01234567") != 4 || p[4] != '-')
    return false;
  out->mode = (unsigned)strtoul (p, NULL, 8);
  if (!parse_id (p + 5, &out->uid, &p) || *p != '-' || !parse_id (p + 1, &out->gid, &p))
    return false;
  if (*p == '-')
    {
      p++;
      if (strspn (p, "0123456789abcdef") != 2 * REG_STORE_CAP_SIZE
          || p[2 * REG_STORE_CAP_SIZE] != '\0')
        return false;
      for (size_t i = 0; i < REG_STORE_CAP_SIZE; i++)
        {
          char byte[3] = { p[2 * i], p[2 * i + 1], '\0' };
          out->cap[i] = (unsigned char)strtoul (byte, NULL, 16);
        }
      out->has_cap = true;
      p += 2 * REG_STORE_CAP_SIZE;
      if (!cap_ok (out->cap))
        return false;
    }
  return *p == '\0' && !attrs_default (out);
}

char *
reg_store_attrs_format (const struct reg_store_attrs *a)
{
  if (attrs_default (a))
    return NULL;
  char cap[2 * REG_STORE_CAP_SIZE + 2] = "";
  if (a->has_cap)
    {
      cap[0] = '-';
      reg_util_hex (a->cap, REG_STORE_CAP_SIZE, cap + 1);
    }
  char *s = NULL;
  if (asprintf (&s, "%04o-%u-%u%s", a->mode & 07777, a->uid, a->gid, cap) < 0)
    return NULL;
  return s;
}

bool
reg_store_name_split (const char *name, char hex[65], const char **variant)
{
  size_t n = strlen (name);
  if (n < 64)
    return false;
  memcpy (hex, name, 64);
  hex[64] = '\0';
  if (!reg_util_is_sha256_hex (hex))
    return false;
  struct reg_store_attrs a;
  if (n == 64)
    *variant = "";
  else if (name[64] != '+')
    return false;
  else if (strcmp (name + 65, "x") == 0 || reg_store_attrs_parse (name + 65, &a))
    *variant = name + 65;
  else
    return false;
  return true;
}

char *
reg_store_name (const char *value, bool exec)
{
  char *s = NULL;
  if (strchr (value, '+'))
    return strdup (value);
  return asprintf (&s, "%s%s", value, exec ? "+x" : "") < 0 ? NULL : s;
}

char *
reg_store_object_path (const struct reg_store *store, const char *digest, bool exec)
{
  char *path = NULL;
  const char *variant = strlen (digest) > 64 && digest[64] == '+' ? digest + 65 : exec ? "x" : "";
  if (asprintf (&path, "%s/%.2s/%.62s%s%s", store->objects_dir, digest, digest + 2,
                variant[0] ? "." : "", variant)
      < 0)
    return NULL;
  return path;
}

bool
reg_store_has (const struct reg_store *store, const char *digest, bool exec)
{
  char hex[65];
  const char *variant;
  if (strchr (digest, '+') ? !reg_store_name_split (digest, hex, &variant)
                           : !reg_util_is_sha256_hex (digest))
    return false;
  _cleanup_free_ char *path = reg_store_object_path (store, digest, exec);
  struct stat st;
  return path != NULL && lstat (path, &st) == 0 && S_ISREG (st.st_mode);
}

/* Hash everything readable from fd; when copy_fd >= 0 also copy it there. */
static int
hash_fd (int fd, int copy_fd, char digest[65], const char *what, struct reg_error **err)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  _cleanup_free_ unsigned char *buf = malloc (STORE_IO_BYTES);
  if (ctx == NULL || buf == NULL || EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL) != 1)
    {
      EVP_MD_CTX_free (ctx);
      return reg_error_set (err, ENOMEM, "hash %s: out of memory", what);
    }
  int ret = 0;
  for (;;)
    {
      ssize_t n = read (fd, buf, STORE_IO_BYTES);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          ret = reg_error_sys (err, errno, "read %s", what);
          break;
        }
      if (n == 0)
        break;
      EVP_DigestUpdate (ctx, buf, (size_t)n);
      for (ssize_t off = 0; copy_fd >= 0 && off < n;)
        {
          ssize_t w = write (copy_fd, buf + off, (size_t)(n - off));
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            {
              EVP_MD_CTX_free (ctx);
              return reg_error_sys (err, errno, "store: copy %s", what);
            }
          off += w;
        }
    }
  unsigned char md[32];
  unsigned int md_len = 0;
  EVP_DigestFinal_ex (ctx, md, &md_len);
  EVP_MD_CTX_free (ctx);
  reg_util_hex (md, 32, digest);
  return ret;
}

int
reg_store_hash_file (const char *path, char digest[65], struct reg_error **err)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return reg_error_sys (err, errno, "hash %s", path);
  return hash_fd (fd, -1, digest, path, err);
}

/* Rename the temp file `tmp` into place as the object (digest, exec). */
static int
place_object (struct reg_store *store, const char *tmp, const char *digest, bool exec,
              bool *created, const char *what, struct reg_error **err)
{
  _cleanup_free_ char *path = reg_store_object_path (store, digest, exec);
  _cleanup_free_ char *dir = NULL;
  if (path == NULL || asprintf (&dir, "%s/%.2s", store->objects_dir, digest) < 0)
    {
      unlink (tmp);
      return reg_error_set (err, ENOMEM, "store %s: out of memory", what);
    }
  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    {
      int e = errno;
      unlink (tmp);
      return reg_error_sys (err, e, "store %s: mkdir %s", what, dir);
    }
  /* rename is atomic; if another writer won the race, ours replaces an
   * identical file, which is harmless for readers. */
  if (rename (tmp, path) < 0)
    {
      int e = errno;
      unlink (tmp);
      return reg_error_sys (err, e, "store %s: rename into %s", what, path);
    }
  if (created)
    *created = true;
  return 0;
}

/* Move the finished copy into place, unless the object already exists.
 * With `mtime`, the object keeps the source's modification time (store.h:
 * Python checks its .pyc files against their source's mtime). */
static int
commit_object (struct reg_store *store, const char *tmp, int fd, const char *digest, bool exec,
               const struct timespec *mtime, bool *created, const char *what,
               struct reg_error **err)
{
  if (created)
    *created = false;
  if (reg_store_has (store, digest, exec))
    {
      unlink (tmp);
      return 0;
    }
  struct timespec times[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
  if (mtime)
    times[1] = *mtime;
  if ((mtime && futimens (fd, times) < 0) || fchmod (fd, exec ? 0555 : 0444) < 0 || fsync (fd) < 0)
    {
      int e = errno;
      unlink (tmp);
      return reg_error_sys (err, e, "store %s", what);
    }
  return place_object (store, tmp, digest, exec, created, what, err);
}

static int
open_temp (struct reg_store *store, char **tmp, struct reg_error **err)
{
  if (asprintf (tmp, "%s/obj-XXXXXX", store->tmp_dir) < 0)
    return reg_error_set (err, ENOMEM, "store: out of memory");
  int fd = mkostemp (*tmp, O_CLOEXEC);
  if (fd < 0)
    return reg_error_sys (err, errno, "store: create temporary file in %s", store->tmp_dir);
  return fd;
}

/* May the host file behind `st` become the object itself? (store.h) */
static bool
linkable (const struct reg_store *store, const struct stat *st, bool exec)
{
  mode_t m = st->st_mode;
  return store->link_host && S_ISREG (m) && st->st_dev == store->dev && st->st_uid == 0
         && (m & (S_ISUID | S_ISGID | S_ISVTX | S_IWGRP | S_IWOTH)) == 0 && (m & 0444) == 0444
         && (m & 0111) == (exec ? 0111 : 0);
}

static bool
same_version (const struct stat *a, const struct stat *b)
{
  return a->st_ino == b->st_ino && a->st_size == b->st_size
         && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec
         && a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Hash `in` and hard-link it into the store. Returns 1 when done (linked or
 * already there), 0 when the file must be copied instead (it changed while
 * it was hashed, or the link was refused), -1 on error. */
static int
put_link (struct reg_store *store, int in, const struct stat *before, const char *host_path,
          bool exec, const char *want, char digest[65], bool *created, struct reg_error **err)
{
  if (hash_fd (in, -1, digest, host_path, err) < 0)
    return -1;
  if (want && strcmp (digest, want) != 0)
    return 0;
  struct stat after;
  if (fstat (in, &after) < 0)
    return reg_error_sys (err, errno, "store %s", host_path);
  if (!same_version (before, &after))
    return 0;
  if (reg_store_has (store, digest, exec))
    return 1;
  /* A fresh unique name (mkostemp), freed again for the link. */
  _cleanup_free_ char *tmp = NULL;
  int fd = open_temp (store, &tmp, err);
  if (fd < 0)
    return -1;
  close (fd);
  unlink (tmp);
  if (linkat (in, "", AT_FDCWD, tmp, AT_EMPTY_PATH) < 0)
    return 0; /* e.g. no CAP_DAC_READ_SEARCH: copy instead */
  return place_object (store, tmp, digest, exec, created, host_path, err) < 0 ? -1 : 1;
}

int
reg_store_put_file (struct reg_store *store, const char *host_path, bool exec, char digest[65],
                    bool *created, struct reg_error **err)
{
  if (created)
    *created = false;
  /* O_NONBLOCK: a file swapped for a FIFO after the caller's lstat must
   * not hang the daemon (the type is checked below). */
  _cleanup_close_ int in = open (host_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (in < 0)
    return reg_error_sys (err, errno, "store %s", host_path);
  struct stat st;
  if (fstat (in, &st) < 0)
    return reg_error_sys (err, errno, "store %s", host_path);
  if (!S_ISREG (st.st_mode))
    return reg_error_set (err, EINVAL, "store %s: not a regular file", host_path);
  if (linkable (store, &st, exec))
    {
      int r = put_link (store, in, &st, host_path, exec, NULL, digest, created, err);
      if (r != 0)
        return r < 0 ? -1 : 0;
      if (lseek (in, 0, SEEK_SET) < 0)
        return reg_error_sys (err, errno, "store %s", host_path);
    }
  _cleanup_free_ char *tmp = NULL;
  _cleanup_close_ int fd = open_temp (store, &tmp, err);
  if (fd < 0)
    return -1;
  if (hash_fd (in, fd, digest, host_path, err) < 0)
    {
      unlink (tmp);
      return -1;
    }
  return commit_object (store, tmp, fd, digest, exec, &st.st_mtim, created, host_path, err);
}

int
reg_store_put_bytes (struct reg_store *store, const void *data, size_t len, bool exec,
                     char digest[65], bool *created, struct reg_error **err)
{
  unsigned char md[32];
  unsigned int md_len = 0;
  if (EVP_Digest (data, len, md, &md_len, EVP_sha256 (), NULL) != 1)
    return reg_error_set (err, EIO, "store: hash failed");
  reg_util_hex (md, 32, digest);
  if (created)
    *created = false;
  if (reg_store_has (store, digest, exec))
    return 0;
  _cleanup_free_ char *tmp = NULL;
  _cleanup_close_ int fd = open_temp (store, &tmp, err);
  if (fd < 0)
    return -1;
  for (size_t off = 0; off < len;)
    {
      size_t piece = len - off < STORE_IO_BYTES ? len - off : STORE_IO_BYTES;
      ssize_t w = write (fd, (const char *)data + off, piece);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        {
          int e = errno;
          unlink (tmp);
          return reg_error_sys (err, e, "store object %s", digest);
        }
      off += (size_t)w;
    }
  return commit_object (store, tmp, fd, digest, exec, NULL, created, digest, err);
}

/* Give the temp copy fd the variant's owner, mode and capability: chown
 * first, as it clears set-ID bits and capabilities. */
static int
apply_attrs (int fd, const struct reg_store_attrs *a)
{
  if (fchown (fd, a->uid, a->gid) < 0 || fchmod (fd, a->mode) < 0)
    return -1;
  if (a->has_cap && fsetxattr (fd, XATTR_CAP, a->cap, REG_STORE_CAP_SIZE, 0) < 0)
    return -1;
  return 0;
}

int
reg_store_put_host (struct reg_store *store, const char *host_path, const char *name,
                    const struct stat *want, bool *created, struct reg_error **err)
{
  char hex[65], got[65];
  const char *variant;
  if (created)
    *created = false;
  if (!store->link_host || !reg_store_name_split (name, hex, &variant)
      || (variant[0] != '\0' && strcmp (variant, "x") != 0))
    return 0;
  bool exec = variant[0] == 'x';
  _cleanup_close_ int in = open (host_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st;
  if (in < 0 || fstat (in, &st) < 0 || st.st_size != want->st_size
      || st.st_mtim.tv_sec != want->st_mtim.tv_sec || !linkable (store, &st, exec))
    return 0; /* no such host file, another size or time, or not one to share */
  int r = put_link (store, in, &st, host_path, exec, hex, got, created, err);
  return r < 0 ? -1 : r;
}

int
reg_store_put_named (struct reg_store *store, const char *src_path, const char *name, bool *created,
                     struct reg_error **err)
{
  char hex[65], got[65];
  const char *variant;
  struct reg_store_attrs a;
  if (created)
    *created = false;
  if (!reg_store_name_split (name, hex, &variant))
    return reg_error_set (err, EINVAL, "store: malformed object name \"%s\"", name);
  if (variant[0] == '\0' || strcmp (variant, "x") == 0)
    {
      if (reg_store_put_file (store, src_path, variant[0] == 'x', got, created, err) < 0)
        return -1;
      return strcmp (got, hex) == 0 ? 0
                                    : reg_error_set (err, EIO,
                                                     "store object %s: %s has sha256:%s (changed "
                                                     "or corrupt)",
                                                     name, src_path, got);
    }
  if (reg_store_has (store, name, false))
    return 0;
  reg_store_attrs_parse (variant, &a);
  _cleanup_close_ int in = open (src_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  struct stat st;
  if (in < 0 || fstat (in, &st) < 0)
    return reg_error_sys (err, errno, "store object %s: %s", name, src_path);
  if (!S_ISREG (st.st_mode))
    return reg_error_set (err, EINVAL, "store object %s: %s is not a regular file", name, src_path);
  _cleanup_free_ char *tmp = NULL;
  _cleanup_close_ int fd = open_temp (store, &tmp, err);
  if (fd < 0)
    return -1;
  if (hash_fd (in, fd, got, src_path, err) < 0)
    {
      unlink (tmp);
      return -1;
    }
  struct timespec times[2] = { { 0, UTIME_OMIT }, st.st_mtim };
  int ret = 0;
  if (strcmp (got, hex) != 0)
    ret = reg_error_set (err, EIO, "store object %s: %s has sha256:%s (changed or corrupt)", name,
                         src_path, got);
  else if (futimens (fd, times) < 0 || apply_attrs (fd, &a) < 0 || fsync (fd) < 0)
    ret = reg_error_sys (err, errno, "store object %s: set mode %04o, owner %u:%u%s", name, a.mode,
                         a.uid, a.gid, a.has_cap ? " and security.capability" : "");
  if (ret < 0)
    {
      unlink (tmp);
      return -1;
    }
  return place_object (store, tmp, name, false, created, name, err);
}

int
reg_store_unput (struct reg_store *store, const char *digest, bool exec)
{
  _cleanup_free_ char *path = reg_store_object_path (store, digest, exec);
  return path ? unlink (path) : -1;
}

int
reg_store_walk (const struct reg_store *store, reg_store_object_fn fn, void *data,
                struct reg_error **err)
{
  DIR *top = opendir (store->objects_dir);
  if (top == NULL)
    return reg_error_sys (err, errno, "store: open %s", store->objects_dir);
  int ret = 0;
  struct dirent *de;
  while (ret == 0 && (de = readdir (top)) != NULL)
    {
      if (strlen (de->d_name) != 2)
        continue;
      _cleanup_free_ char *sub = NULL;
      if (asprintf (&sub, "%s/%s", store->objects_dir, de->d_name) < 0)
        break;
      DIR *d = opendir (sub);
      if (d == NULL)
        continue;
      struct dirent *oe;
      while (ret == 0 && (oe = readdir (d)) != NULL)
        {
          /* "<62 hex>", "<62 hex>.x", "<62 hex>.MODE-UID-GID[-CAP]" */
          size_t n = strlen (oe->d_name);
          if (n < 62 || (n > 62 && oe->d_name[62] != '.'))
            continue;
          char name[2 + 62 + 1 + 256];
          snprintf (name, sizeof name, "%.2s%.62s%s%.250s", de->d_name, oe->d_name,
                    n > 62 ? "+" : "", n > 62 ? oe->d_name + 63 : "");
          char hex[65];
          const char *variant;
          if (!reg_store_name_split (name, hex, &variant))
            continue;
          _cleanup_free_ char *path = NULL;
          struct stat st;
          if (asprintf (&path, "%s/%s", sub, oe->d_name) < 0 || lstat (path, &st) < 0)
            continue;
          ret = fn (path, name, &st, data, err);
        }
      closedir (d);
    }
  closedir (top);
  return ret;
}

static int
count_object (const char *path, const char *name, const struct stat *st, void *data,
              struct reg_error **err)
{
  struct reg_store_stats *s = data;
  s->objects++;
  s->bytes += (uint64_t)st->st_size;
  return 0;
}

int
reg_store_stats (const struct reg_store *store, struct reg_store_stats *out, struct reg_error **err)
{
  memset (out, 0, sizeof *out);
  return reg_store_walk (store, count_object, out, err);
}

struct verify_ctx
{
  reg_store_corrupt_fn corrupt;
  void *data;
  uint64_t checked;
  int bad;
};

/* A variant's mode, owner and capability as its name says? */
static bool
attrs_match (const char *path, const char *variant, const struct stat *st)
{
  struct reg_store_attrs a;
  if (variant[0] == '\0' || strcmp (variant, "x") == 0)
    return true;
  if (!reg_store_attrs_parse (variant, &a) || (st->st_mode & 07777) != a.mode || st->st_uid != a.uid
      || st->st_gid != a.gid)
    return false;
  unsigned char cap[64];
  ssize_t n = lgetxattr (path, XATTR_CAP, cap, sizeof cap);
  if (!a.has_cap)
    return n < 0 && (errno == ENODATA || errno == ENOTSUP);
  return n == REG_STORE_CAP_SIZE && memcmp (cap, a.cap, REG_STORE_CAP_SIZE) == 0;
}

static int
verify_object (const char *path, const char *name, const struct stat *st, void *data,
               struct reg_error **err)
{
  struct verify_ctx *v = data;
  char actual[65], hex[65];
  const char *variant = "";
  struct reg_error *e = NULL;
  v->checked++;
  bool ok = reg_store_name_split (name, hex, &variant) && S_ISREG (st->st_mode)
            && reg_store_hash_file (path, actual, &e) == 0 && strcmp (actual, hex) == 0;
  bool attrs = ok && attrs_match (path, variant, st);
  if (!ok || !attrs)
    {
      v->bad++;
      const char *why = e ? e->msg : ok ? "mode, owner or capability differ from its name" : actual;
      v->corrupt (path, why, v->data);
    }
  reg_error_free (e);
  return 0;
}

int
reg_store_verify (const struct reg_store *store, reg_store_corrupt_fn corrupt, void *data,
                  uint64_t *checked, struct reg_error **err)
{
  struct verify_ctx v = { corrupt, data, 0, 0 };
  if (reg_store_walk (store, verify_object, &v, err) < 0)
    return -1;
  if (checked)
    *checked = v.checked;
  return v.bad;
}
