#include "imgarchive.h"
#include "image.h"
#include "layout.h"
#include "oci.h"
#include "store.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ENTRY ((int64_t)REG_OCI_MAX_BLOB)
#define MAX_TOTAL ((int64_t)16 << 30)
#define MAX_ENTRIES 100000
#define MAX_LINKS 10000
#define MAX_IMAGES 256

/* A link between members, made once every regular file is there. */
struct link
{
  char *path, *target; /* both clean, relative to the archive's root */
};

struct unpack
{
  const char *archive, *dir;
  struct link *links;
  size_t n_links;
  int64_t total, entries;
};

/* "./a/b/" -> "a/b"; NULL when it is the root or not clean. *root: it was. */
static char *
member_name (const char *name, bool *root)
{
  *root = false;
  while (name[0] == '.' && name[1] == '/')
    name += 2;
  size_t n = strlen (name);
  while (n > 0 && name[n - 1] == '/')
    n--;
  if (n == 0 || (n == 1 && name[0] == '.'))
    {
      *root = true;
      return NULL;
    }
  _cleanup_free_ char *abs = NULL;
  if (name[0] == '/' || asprintf (&abs, "/%.*s", (int)n, name) < 0 || !reg_util_path_is_clean (abs))
    return NULL;
  return strdup (abs + 1);
}

/* dirname(from)/target, normalized; NULL when it leaves the root. */
static char *
resolve_target (const char *from, const char *target, bool symlink)
{
  if (target[0] == '/' || strlen (target) > 4095)
    return NULL;
  _cleanup_free_ char *joined = NULL;
  const char *slash = strrchr (from, '/');
  if (symlink && slash != NULL)
    {
      if (asprintf (&joined, "%.*s/%s", (int)(slash - from), from, target) < 0)
        return NULL;
    }
  else if ((joined = strdup (target)) == NULL)
    return NULL;
  char *out = calloc (strlen (joined) + 2, 1);
  size_t len = 0;
  char *save = NULL;
  for (char *c = strtok_r (joined, "/", &save); out && c; c = strtok_r (NULL, "/", &save))
    {
      if (strcmp (c, ".") == 0)
        continue;
      if (strcmp (c, "..") == 0)
        {
          if (len == 0)
            {
              free (out);
              return NULL;
            }
          while (len > 0 && out[len - 1] != '/')
            len--;
          len = len > 0 ? len - 1 : 0;
          out[len] = '\0';
          continue;
        }
      len += sprintf (out + len, "%s%s", len ? "/" : "", c);
    }
  if (out && len == 0)
    {
      free (out);
      return NULL;
    }
  return out;
}

static int
add_link (struct unpack *u, const char *path, const char *target, bool symlink,
          struct reg_error **err)
{
  if (u->n_links >= MAX_LINKS)
    return reg_error_set (err, EFBIG, "archive %s: more than %d links", u->archive, MAX_LINKS);
  char *resolved = target ? resolve_target (path, target, symlink) : NULL;
  if (resolved == NULL)
    return reg_error_set (err, EINVAL, "archive %s: entry %s: link to \"%s\" leaves the archive",
                          u->archive, path, target ? target : "");
  struct link *grown = realloc (u->links, (u->n_links + 1) * sizeof *grown);
  if (grown == NULL)
    {
      free (resolved);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  u->links = grown;
  grown[u->n_links++] = (struct link){ .path = strdup (path), .target = resolved };
  return grown[u->n_links - 1].path ? 0 : reg_error_set (err, ENOMEM, "out of memory");
}

static int
write_member (struct unpack *u, struct archive *a, const char *name, const char *full,
              struct reg_error **err)
{
  _cleanup_close_ int fd = open (full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST)
    return reg_error_set (err, EINVAL, "archive %s: entry %s is there twice", u->archive, name);
  if (fd < 0)
    return reg_error_sys (err, errno, "archive %s: entry %s", u->archive, name);
  const void *buf;
  size_t size;
  la_int64_t offset;
  int64_t written = 0;
  int r;
  while ((r = archive_read_data_block (a, &buf, &size, &offset)) == ARCHIVE_OK)
    {
      written += size;
      u->total += size;
      if (written > MAX_ENTRY || u->total > MAX_TOTAL)
        return reg_error_set (err, EFBIG,
                              "archive %s: entry %s: over the size bound (%lld bytes per entry, "
                              "%lld in all)",
                              u->archive, name, (long long)MAX_ENTRY, (long long)MAX_TOTAL);
      if (pwrite (fd, buf, size, offset) != (ssize_t)size)
        return reg_error_sys (err, errno, "archive %s: entry %s", u->archive, name);
    }
  if (r != ARCHIVE_EOF)
    return reg_error_set (err, EINVAL, "archive %s: entry %s: malformed or truncated: %s",
                          u->archive, name, archive_error_string (a));
  return 0;
}

static int
unpack_entry (struct unpack *u, struct archive *a, struct archive_entry *e, struct reg_error **err)
{
  const char *raw = archive_entry_pathname (e);
  if (++u->entries > MAX_ENTRIES)
    return reg_error_set (err, EFBIG, "archive %s: over the bound of %d entries", u->archive,
                          MAX_ENTRIES);
  bool root;
  _cleanup_free_ char *name = raw ? member_name (raw, &root) : NULL;
  if (name == NULL && raw && root)
    return 0;
  if (name == NULL)
    return reg_error_set (err, EINVAL,
                          "archive %s: entry \"%s\": path escapes the archive or is not clean",
                          u->archive, raw ? raw : "");
  _cleanup_free_ char *full = NULL, *parent = NULL;
  if (asprintf (&full, "%s/%s", u->dir, name) < 0 || (parent = strdup (full)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  *strrchr (parent, '/') = '\0';
  if (reg_util_mkdir_p (parent, 0700, err) < 0)
    return reg_error_prefix (err, "archive %s: entry %s", u->archive, name);
  const char *hardlink = archive_entry_hardlink (e);
  if (hardlink != NULL)
    {
      bool r2;
      _cleanup_free_ char *t = member_name (hardlink, &r2);
      return add_link (u, name, t, false, err);
    }
  switch (archive_entry_filetype (e))
    {
    case AE_IFDIR:
      return reg_util_mkdir_p (full, 0700, err) < 0
                 ? reg_error_prefix (err, "archive %s: entry %s", u->archive, name)
                 : 0;
    case AE_IFLNK:
      return add_link (u, name, archive_entry_symlink (e), true, err);
    case AE_IFREG:
      return write_member (u, a, name, full, err);
    default:
      return reg_error_set (err, EINVAL,
                            "archive %s: entry %s: a device node, FIFO or socket (an image archive "
                            "holds files, directories and links)",
                            u->archive, name);
    }
}

/* Links in any order: a pass makes those whose target is a file now. */
static int
make_links (struct unpack *u, struct reg_error **err)
{
  size_t left = u->n_links;
  while (left > 0)
    {
      size_t before = left;
      for (size_t i = 0; i < u->n_links; i++)
        {
          struct link *l = &u->links[i];
          if (l->path == NULL)
            continue;
          _cleanup_free_ char *src = NULL, *dst = NULL;
          struct stat st;
          if (asprintf (&src, "%s/%s", u->dir, l->target) < 0
              || asprintf (&dst, "%s/%s", u->dir, l->path) < 0)
            return reg_error_set (err, ENOMEM, "out of memory");
          if (lstat (src, &st) < 0 || !S_ISREG (st.st_mode))
            continue;
          if (link (src, dst) < 0)
            return reg_error_sys (err, errno, "archive %s: entry %s", u->archive, l->path);
          free (l->path);
          l->path = NULL;
          left--;
        }
      if (left == before)
        break;
    }
  for (size_t i = 0; i < u->n_links; i++)
    if (u->links[i].path)
      return reg_error_set (err, EINVAL,
                            "archive %s: entry %s: link to %s, which is no regular file of the "
                            "archive",
                            u->archive, u->links[i].path, u->links[i].target);
  return 0;
}

static int
unpack (struct unpack *u, struct reg_error **err)
{
  struct archive *a = archive_read_new ();
  if (a == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  int ret = 0;
  if (archive_read_support_format_tar (a) != ARCHIVE_OK
      || archive_read_support_filter_gzip (a) != ARCHIVE_OK
      || archive_read_support_filter_zstd (a) < ARCHIVE_WARN
      || archive_read_open_filename (a, u->archive, 65536) != ARCHIVE_OK)
    ret = reg_error_set (err, EINVAL, "archive %s: not a tar archive: %s", u->archive,
                         archive_error_string (a));
  struct archive_entry *e;
  int r = ARCHIVE_OK;
  while (ret == 0 && (r = archive_read_next_header (a, &e)) == ARCHIVE_OK)
    ret = unpack_entry (u, a, e, err);
  if (ret == 0 && r != ARCHIVE_EOF)
    ret = reg_error_set (err, EINVAL, "archive %s: malformed or truncated: %s", u->archive,
                         archive_error_string (a));
  archive_read_free (a);
  if (ret == 0)
    ret = make_links (u, err);
  return ret;
}

/* A member named by a JSON string: clean, a regular file of the archive. */
static char *
member_path (const struct unpack *u, json_t *v, const char *what, struct reg_error **err)
{
  const char *s = json_string_value (v);
  bool root;
  _cleanup_free_ char *name = s ? member_name (s, &root) : NULL;
  char *full = NULL;
  struct stat st;
  if (name == NULL)
    reg_error_set (err, EINVAL, "archive %s: manifest.json: %s is not a clean member name",
                   u->archive, what);
  else if (asprintf (&full, "%s/%s", u->dir, name) < 0)
    reg_error_set (err, ENOMEM, "out of memory");
  else if (lstat (full, &st) < 0 || !S_ISREG (st.st_mode))
    {
      reg_error_set (err, ENOENT, "archive %s: manifest.json: %s %s is not in the archive",
                     u->archive, what, name);
      free (full);
      full = NULL;
    }
  return full;
}

/* Link a verified member into the layout as blob hex. */
static int
put_blob (const struct reg_layout *l, const char *src, const char *hex, struct reg_error **err)
{
  _cleanup_free_ char *dst = reg_layout_blob_path (l, hex);
  if (dst == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (link (src, dst) < 0 && errno != EEXIST)
    return reg_error_sys (err, errno, "layout %s: blob sha256:%s", l->dir, hex);
  return 0;
}

/* "sha256:<hex>" of diff_ids[i], or NULL. */
static bool
diff_id (json_t *config, size_t i, char hex[65])
{
  json_t *ids = json_object_get (json_object_get (config, "rootfs"), "diff_ids");
  return reg_oci_digest_parse (json_string_value (json_array_get (ids, i)), hex);
}

/* A docker-save layer: its content must be the diff_id (an uncompressed
 * layer, both forms) or the blob its name says (blobs/sha256/<hex>). */
static int
docker_layer (const struct unpack *u, const struct reg_layout *l, json_t *config, json_t *name,
              size_t i, json_t *layers, struct reg_error **err)
{
  char what[48], want[65], got[65];
  snprintf (what, sizeof what, "layer %zu", i);
  _cleanup_free_ char *path = member_path (u, name, what, err);
  if (path == NULL)
    return -1;
  if (!diff_id (config, i, want))
    return reg_error_set (err, EINVAL, "archive %s: %s: the config has no diff_id for it",
                          u->archive, what);
  if (reg_store_hash_file (path, got, err) < 0)
    return reg_error_prefix (err, "archive %s: %s", u->archive, what);
  const char *s = json_string_value (name);
  const char *slash = strrchr (s, '/');
  bool named = strstr (s, "blobs/sha256/") != NULL && slash && strcmp (slash + 1, got) == 0;
  if (strcmp (got, want) != 0 && !named)
    return reg_error_set (err, EIO,
                          "archive %s: %s (%s): content has sha256:%s, the config's diff_id is "
                          "sha256:%s (corrupt or tampered)",
                          u->archive, what, s, got, want);
  struct stat st;
  if (stat (path, &st) < 0)
    return reg_error_sys (err, errno, "archive %s: %s", u->archive, what);
  char digest[72];
  snprintf (digest, sizeof digest, "sha256:%s", got);
  json_array_append_new (layers, json_pack ("{s:s, s:s, s:I}", "mediaType",
                                            "application/vnd.oci.image.layer.v1.tar", "digest",
                                            digest, "size", (json_int_t)st.st_size));
  return put_blob (l, path, got, err);
}

/* "python:3.11" -> "library/python:3.11"; a host is dropped (the template
 * name has none: docs/images.md). */
static int
add_ref (const char *name, bool docker, char ***refs, size_t *n, struct reg_error **err)
{
  struct reg_oci_ref *r = NULL;
  if (reg_oci_ref_parse (name, &r, err) < 0)
    return -1;
  char *s = NULL;
  bool hub = docker && r->host == NULL && strchr (r->repo, '/') == NULL;
  int ret = r->digest ? reg_error_set (err, EINVAL, "image name %s: a tag is needed", name)
            : asprintf (&s, "%s%s:%s", hub ? "library/" : "", r->repo, r->tag) < 0
                ? reg_error_set (err, ENOMEM, "out of memory")
                : 0;
  reg_oci_ref_free (r);
  if (ret < 0)
    return -1;
  for (size_t i = 0; i < *n; i++)
    if (strcmp ((*refs)[i], s) == 0)
      {
        free (s);
        return 0;
      }
  char **grown = realloc (*refs, (*n + 2) * sizeof *grown);
  if (grown == NULL)
    {
      free (s);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  *refs = grown;
  grown[(*n)++] = s;
  grown[*n] = NULL;
  return 0;
}

/* Tag `manifest` as every name of `names` (refs from *n0 on). */
static int
tag_all (const struct reg_layout *l, char **refs, size_t from, size_t n, const char *manifest,
         struct reg_error **err)
{
  for (size_t i = from; i < n; i++)
    {
      char *colon = strrchr (refs[i], ':');
      *colon = '\0';
      int ret = reg_layout_put_manifest (l, refs[i], colon + 1, manifest, strlen (manifest), err);
      *colon = ':';
      if (ret < 0)
        return -1;
    }
  return 0;
}

static int
docker_image (const struct unpack *u, const struct reg_layout *l, json_t *img, size_t k,
              char ***refs, size_t *n, struct reg_error **err)
{
  char what[48], hex[65];
  snprintf (what, sizeof what, "image %zu's Config", k);
  _cleanup_free_ char *config_path = member_path (u, json_object_get (img, "Config"), what, err);
  _cleanup_free_ char *text = NULL, *manifest = NULL;
  size_t len, first = *n;
  if (config_path == NULL
      || reg_util_read_file (config_path, REG_OCI_MAX_CONFIG, &text, &len, err) < 0)
    return config_path ? reg_error_prefix (err, "archive %s", u->archive) : -1;
  unsigned char raw[32];
  SHA256 ((const unsigned char *)text, len, raw);
  reg_util_hex (raw, 32, hex);
  json_t *config = json_loadb (text, len, 0, NULL);
  json_t *layers = json_array (), *names = json_object_get (img, "Layers"), *tags;
  int ret = 0;
  if (!json_is_object (config))
    ret = reg_error_set (err, EINVAL, "archive %s: %s is not a JSON object", u->archive, what);
  else if (!json_is_array (names) || json_array_size (names) > 1000)
    ret = reg_error_set (err, EINVAL, "archive %s: image %zu has no Layers list (or over 1000)",
                         u->archive, k);
  else if (strstr (config_path, hex) == NULL)
    ret = reg_error_set (err, EIO,
                         "archive %s: %s has sha256:%s, not the digest its name says (corrupt or "
                         "tampered)",
                         u->archive, what, hex);
  size_t i;
  json_t *v;
  json_array_foreach (names, i, v)
  {
    if (ret == 0)
      ret = docker_layer (u, l, config, v, i, layers, err);
  }
  tags = json_object_get (img, "RepoTags");
  if (ret == 0 && (!json_is_array (tags) || json_array_size (tags) == 0))
    ret = reg_error_set (err, EINVAL,
                         "archive %s: image %zu has no RepoTags (docker save it by name, not by "
                         "id)",
                         u->archive, k);
  json_array_foreach (tags, i, v)
  {
    if (ret == 0 && json_is_string (v))
      ret = add_ref (json_string_value (v), true, refs, n, err);
  }
  if (ret == 0)
    ret = put_blob (l, config_path, hex, err);
  if (ret == 0)
    {
      char digest[72];
      snprintf (digest, sizeof digest, "sha256:%s", hex);
      json_t *m = json_pack ("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2, "mediaType",
                             REG_OCI_MANIFEST_TYPE, "config", "mediaType", REG_IMAGE_OCI_CONFIG,
                             "digest", digest, "size", (json_int_t)len, "layers", layers);
      manifest = m ? json_dumps (m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
      json_decref (m);
      ret = manifest ? tag_all (l, *refs, first, *n, manifest, err)
                     : reg_error_set (err, ENOMEM, "out of memory");
    }
  json_decref (config);
  json_decref (layers);
  return ret;
}

static int
reset_index (const char *dir, struct reg_error **err)
{
  _cleanup_free_ char *path = NULL;
  static const char empty[] = "{\"schemaVersion\":2,\"manifests\":[]}";
  if (asprintf (&path, "%s/index.json", dir) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  return reg_util_write_atomic_ex (path, empty, strlen (empty), 0600, false, err);
}

static int
docker_archive (const struct unpack *u, const char *path, char ***refs, size_t *n,
                struct reg_error **err)
{
  _cleanup_free_ char *text = NULL;
  size_t len;
  if (reg_util_read_file (path, REG_OCI_MAX_MANIFEST, &text, &len, err) < 0)
    return reg_error_prefix (err, "archive %s", u->archive);
  json_t *list = json_loadb (text, len, 0, NULL);
  struct reg_layout *l = NULL;
  int ret = 0;
  if (!json_is_array (list) || json_array_size (list) == 0 || json_array_size (list) > MAX_IMAGES)
    ret = reg_error_set (err, EINVAL, "archive %s: manifest.json is not a list of 1 to %d images",
                         u->archive, MAX_IMAGES);
  else if (reset_index (u->dir, err) < 0 || reg_layout_open (u->dir, &l, err) < 0)
    ret = -1;
  size_t i;
  json_t *img;
  json_array_foreach (list, i, img)
  {
    if (ret == 0)
      ret = docker_image (u, l, img, i, refs, n, err);
  }
  reg_layout_free (l);
  json_decref (list);
  return ret;
}

/* The name of an index.json entry of an OCI archive. */
static const char *
oci_name (json_t *m)
{
  json_t *a = json_object_get (m, "annotations");
  const char *c = json_string_value (json_object_get (a, "io.containerd.image.name"));
  const char *r = json_string_value (json_object_get (a, "org.opencontainers.image.ref.name"));
  if (c)
    return c;
  return r && strchr (r, ':') && strchr (r, ':') != r ? r : NULL;
}

static int
oci_image (const struct unpack *u, const struct reg_layout *l, json_t *m, size_t k, char ***refs,
           size_t *n, struct reg_error **err)
{
  const char *name = oci_name (m);
  char hex[65], got[65];
  if (name == NULL)
    return reg_error_set (err, EINVAL,
                          "archive %s: index.json entry %zu has no image name (annotation "
                          "io.containerd.image.name, or org.opencontainers.image.ref.name as "
                          "REPO:TAG)",
                          u->archive, k);
  if (!reg_oci_digest_parse (json_string_value (json_object_get (m, "digest")), hex))
    return reg_error_set (err, EINVAL, "archive %s: index.json entry %zu has a malformed digest",
                          u->archive, k);
  _cleanup_free_ char *path = reg_layout_blob_path (l, hex), *text = NULL;
  size_t len, first = *n;
  if (path == NULL || reg_util_read_file (path, REG_OCI_MAX_MANIFEST, &text, &len, err) < 0)
    return reg_error_prefix (err, "archive %s: manifest sha256:%s", u->archive, hex);
  unsigned char raw[32];
  SHA256 ((const unsigned char *)text, len, raw);
  reg_util_hex (raw, 32, got);
  if (strcmp (got, hex) != 0)
    return reg_error_set (err, EIO,
                          "archive %s: manifest sha256:%s: digest mismatch: content has "
                          "sha256:%s (corrupt or tampered)",
                          u->archive, hex, got);
  if (add_ref (name, false, refs, n, err) < 0)
    return reg_error_prefix (err, "archive %s", u->archive);
  return tag_all (l, *refs, first, *n, text, err);
}

static int
oci_archive (const struct unpack *u, const char *index, char ***refs, size_t *n,
             struct reg_error **err)
{
  _cleanup_free_ char *text = NULL;
  size_t len;
  if (reg_util_read_file (index, REG_OCI_MAX_MANIFEST, &text, &len, err) < 0)
    return reg_error_prefix (err, "archive %s", u->archive);
  json_t *j = json_loadb (text, len, 0, NULL);
  json_t *list = json_object_get (j, "manifests");
  struct reg_layout *l = NULL;
  int ret = 0;
  if (!json_is_array (list) || json_array_size (list) == 0 || json_array_size (list) > MAX_IMAGES)
    ret = reg_error_set (err, EINVAL, "archive %s: index.json lists no images (or over %d)",
                         u->archive, MAX_IMAGES);
  else if (reset_index (u->dir, err) < 0 || reg_layout_open (u->dir, &l, err) < 0)
    ret = -1;
  size_t i;
  json_t *m;
  json_array_foreach (list, i, m)
  {
    if (ret == 0)
      ret = oci_image (u, l, m, i, refs, n, err);
  }
  reg_layout_free (l);
  json_decref (j);
  return ret;
}

int
reg_imgarchive_unpack (const char *archive, const char *dir, char ***refs, struct reg_error **err)
{
  struct unpack u = { .archive = archive, .dir = dir };
  _cleanup_free_ char *manifest = NULL, *index = NULL;
  char **list = NULL;
  size_t n = 0;
  int ret = unpack (&u, err);
  if (ret == 0
      && (asprintf (&manifest, "%s/manifest.json", dir) < 0
          || asprintf (&index, "%s/index.json", dir) < 0))
    ret = reg_error_set (err, ENOMEM, "out of memory");
  if (ret == 0 && access (manifest, F_OK) == 0)
    ret = docker_archive (&u, manifest, &list, &n, err);
  else if (ret == 0 && access (index, F_OK) == 0)
    ret = oci_archive (&u, index, &list, &n, err);
  else if (ret == 0)
    ret = reg_error_set (err, EINVAL,
                         "archive %s: neither a docker save archive (manifest.json) nor an OCI "
                         "archive (index.json)",
                         archive);
  for (size_t i = 0; i < u.n_links; i++)
    free (u.links[i].path), free (u.links[i].target);
  free (u.links);
  if (ret < 0)
    {
      reg_strv_free (list);
      return -1;
    }
  *refs = list;
  return 0;
}
