#include "layout.h"
#include "oci.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define REF_NAME "org.opencontainers.image.ref.name"

void
reg_layout_free (struct reg_layout *l)
{
  if (l == NULL)
    return;
  free (l->dir);
  free (l->blobs);
  free (l);
}

static int
write_if_absent (const char *dir, const char *name, const char *text, struct reg_error **err)
{
  _cleanup_free_ char *path = NULL;
  if (asprintf (&path, "%s/%s", dir, name) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (access (path, F_OK) == 0)
    return 0;
  return reg_util_write_atomic (path, text, strlen (text), 0644, err);
}

int
reg_layout_open (const char *dir, struct reg_layout **out, struct reg_error **err)
{
  struct reg_layout *l = calloc (1, sizeof *l);
  if (l == NULL || (l->dir = strdup (dir)) == NULL
      || asprintf (&l->blobs, "%s/blobs/sha256", dir) < 0)
    {
      reg_layout_free (l);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  if (reg_util_mkdir_p (l->blobs, 0755, err) < 0
      || write_if_absent (dir, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", err) < 0
      || write_if_absent (dir, "index.json", "{\"schemaVersion\":2,\"manifests\":[]}", err) < 0)
    {
      reg_layout_free (l);
      return reg_error_prefix (err, "layout %s", dir);
    }
  *out = l;
  return 0;
}

char *
reg_layout_blob_path (const struct reg_layout *l, const char *hex)
{
  char *p = NULL;
  return asprintf (&p, "%s/%s", l->blobs, hex) < 0 ? NULL : p;
}

bool
reg_layout_has_blob (const struct reg_layout *l, const char *hex)
{
  _cleanup_free_ char *p = reg_layout_blob_path (l, hex);
  return p && access (p, F_OK) == 0;
}

int
reg_layout_put_blob (const struct reg_layout *l, const char *hex, const char *src,
                     struct reg_error **err)
{
  _cleanup_free_ char *dst = reg_layout_blob_path (l, hex), *tmp = NULL;
  if (dst == NULL || asprintf (&tmp, "%s/.tmp-%s-%d", l->blobs, hex, (int)getpid ()) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  _cleanup_close_ int in = open (src, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return reg_error_sys (err, errno, "layout %s: blob sha256:%s: open %s", l->dir, hex, src);
  _cleanup_close_ int o = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (o < 0)
    return reg_error_sys (err, errno, "layout %s: blob sha256:%s", l->dir, hex);
  char buf[65536];
  ssize_t got;
  while ((got = read (in, buf, sizeof buf)) > 0)
    if (reg_util_write_all (o, buf, got) < 0)
      break;
  if (got != 0 || fsync (o) < 0 || rename (tmp, dst) < 0)
    {
      int e = errno;
      unlink (tmp);
      return reg_error_sys (err, e, "layout %s: write blob sha256:%s", l->dir, hex);
    }
  return 0;
}

static int
load_index (const struct reg_layout *l, json_t **out, struct reg_error **err)
{
  _cleanup_free_ char *path = NULL, *text = NULL;
  size_t len;
  if (asprintf (&path, "%s/index.json", l->dir) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_util_read_file (path, REG_OCI_MAX_MANIFEST * 4, &text, &len, err) < 0)
    return reg_error_prefix (err, "layout %s", l->dir);
  json_t *j = json_loadb (text, len, 0, NULL);
  if (!json_is_object (j) || !json_is_array (json_object_get (j, "manifests")))
    {
      json_decref (j);
      return reg_error_set (err, EINVAL, "layout %s: index.json is not an OCI image index", l->dir);
    }
  *out = j;
  return 0;
}

static const char *
entry_ref (json_t *m)
{
  return json_string_value (json_object_get (json_object_get (m, "annotations"), REF_NAME));
}

int
reg_layout_put_manifest (const struct reg_layout *l, const char *repo, const char *tag,
                         const char *text, size_t len, struct reg_error **err)
{
  unsigned char raw[32];
  char hex[65], digest[72];
  SHA256 ((const unsigned char *)text, len, raw);
  reg_util_hex (raw, 32, hex);
  snprintf (digest, sizeof digest, "sha256:%s", hex);
  _cleanup_free_ char *blob = reg_layout_blob_path (l, hex), *lock = NULL, *index = NULL,
                      *ref = NULL;
  if (blob == NULL || asprintf (&lock, "%s/.index.lock", l->dir) < 0
      || asprintf (&index, "%s/index.json", l->dir) < 0 || asprintf (&ref, "%s:%s", repo, tag) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_util_write_atomic (blob, text, len, 0644, err) < 0)
    return reg_error_prefix (err, "layout %s", l->dir);
  _cleanup_close_ int lfd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lfd < 0 || flock (lfd, LOCK_EX) < 0)
    return reg_error_sys (err, errno, "layout %s: lock index", l->dir);
  json_t *j = NULL;
  if (load_index (l, &j, err) < 0)
    return -1;
  json_t *list = json_object_get (j, "manifests"), *m;
  size_t i;
  json_array_foreach (list, i, m)
  {
    const char *r = entry_ref (m);
    if (r && strcmp (r, ref) == 0)
      {
        json_array_remove (list, i);
        break;
      }
  }
  json_array_append_new (list, json_pack ("{s:s, s:s, s:I, s:{s:s}}", "mediaType",
                                          REG_OCI_MANIFEST_TYPE, "digest", digest, "size",
                                          (json_int_t)len, "annotations", REF_NAME, ref));
  _cleanup_free_ char *out = json_dumps (j, JSON_INDENT (2));
  json_decref (j);
  if (out == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_util_write_atomic (index, out, strlen (out), 0644, err) < 0)
    return reg_error_prefix (err, "layout %s", l->dir);
  return 0;
}

int
reg_layout_get_manifest (const struct reg_layout *l, const char *repo, const char *tag, char **text,
                         size_t *len, struct reg_error **err)
{
  /* tag may be a digest ("sha256:<hex>"): a manifest of that digest tagged
   * in this repository. */
  bool by_digest = strncmp (tag, "sha256:", 7) == 0;
  _cleanup_free_ char *ref = NULL;
  if (asprintf (&ref, "%s%s%s", repo, by_digest ? "@" : ":", tag) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  json_t *j = NULL;
  if (load_index (l, &j, err) < 0)
    return -1;
  char hex[65] = "";
  size_t rl = strlen (repo);
  json_t *m;
  size_t i;
  json_array_foreach (json_object_get (j, "manifests"), i, m)
  {
    const char *r = entry_ref (m);
    const char *digest = json_string_value (json_object_get (m, "digest"));
    bool match = by_digest ? r && strncmp (r, repo, rl) == 0 && r[rl] == ':' && digest
                                 && strcmp (digest, tag) == 0
                           : r && strcmp (r, ref) == 0;
    if (match && !reg_oci_digest_parse (digest, hex))
      hex[0] = '\0';
  }
  json_decref (j);
  if (hex[0] == '\0')
    return reg_error_set (err, ENOENT, "%s: no such %s in layout %s", ref,
                          by_digest ? "manifest" : "tag", l->dir);
  _cleanup_free_ char *path = reg_layout_blob_path (l, hex);
  if (path == NULL || reg_util_read_file (path, REG_OCI_MAX_MANIFEST, text, len, err) < 0)
    return reg_error_prefix (err, "%s: layout %s", ref, l->dir);
  unsigned char raw[32];
  char got[65];
  SHA256 ((const unsigned char *)*text, *len, raw);
  reg_util_hex (raw, 32, got);
  if (strcmp (got, hex) != 0)
    {
      free (*text);
      *text = NULL;
      return reg_error_set (err, EIO,
                            "%s: manifest blob sha256:%s in layout %s has digest sha256:%s", ref,
                            hex, l->dir, got);
    }
  return 0;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

int
reg_layout_tags (const struct reg_layout *l, const char *repo, char ***tags, struct reg_error **err)
{
  json_t *j = NULL;
  if (load_index (l, &j, err) < 0)
    return -1;
  json_t *list = json_object_get (j, "manifests"), *m;
  char **v = calloc (json_array_size (list) + 1, sizeof *v);
  size_t i, n = 0, rl = strlen (repo);
  if (v == NULL)
    {
      json_decref (j);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  json_array_foreach (list, i, m)
  {
    const char *r = entry_ref (m);
    if (r && strncmp (r, repo, rl) == 0 && r[rl] == ':')
      v[n++] = strdup (r + rl + 1);
  }
  json_decref (j);
  qsort (v, n, sizeof *v, cmp_str);
  *tags = v;
  return 0;
}
