#include "imgexport.h"
#include "closure.h"
#include "envgen.h"
#include "health.h"
#include "image.h"
#include "oci.h"
#include "root.h"
#include "template.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_DEPTH 256

struct pack
{
  struct archive *a;
  const char *env; /* for errors */
};

static int
pack_data (struct pack *p, int fd, const char *rel, struct reg_error **err)
{
  char buf[65536];
  ssize_t got;
  while ((got = read (fd, buf, sizeof buf)) > 0)
    if (archive_write_data (p->a, buf, got) != got)
      return reg_error_set (err, EIO, "layer: /%s: %s", rel, archive_error_string (p->a));
  return got < 0 ? reg_error_sys (err, errno, "layer: read %s/%s", p->env, rel) : 0;
}

static int pack_dir (struct pack *p, int dfd, const char *rel, int depth, struct reg_error **err);

/* A file's security.capability (an image's, RET format 4) travels as a pax
 * SCHILY.xattr record, which Docker and Podman apply. */
static int
pack_cap (int fd, struct archive_entry *e, const char *rel, const struct pack *p,
          struct reg_error **err)
{
  unsigned char cap[64];
  ssize_t n = fgetxattr (fd, "security.capability", cap, sizeof cap);
  if (n < 0)
    return errno == ENODATA || errno == ENOTSUP ? 0
                                                : reg_error_sys (err, errno,
                                                                 "layer: %s/%s: read its "
                                                                 "security.capability",
                                                                 p->env, rel);
  archive_entry_xattr_add_entry (e, "security.capability", cap, (size_t)n);
  return 0;
}

/* One entry (rel: its path in the image, no leading '/'). */
static int
pack_entry (struct pack *p, int dfd, const char *name, const char *rel, int depth,
            struct reg_error **err)
{
  struct stat st;
  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return reg_error_sys (err, errno, "layer: %s/%s", p->env, rel);
  struct archive_entry *e = archive_entry_new ();
  if (e == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  archive_entry_set_pathname (e, rel);
  archive_entry_set_perm (e, st.st_mode & 07777);
  archive_entry_set_uid (e, st.st_uid);
  archive_entry_set_gid (e, st.st_gid);
  archive_entry_set_mtime (e, S_ISREG (st.st_mode) ? st.st_mtim.tv_sec : 0, 0);
  _cleanup_close_ int fd = -1;
  char target[4096];
  int ret = 0;
  if (S_ISDIR (st.st_mode))
    archive_entry_set_filetype (e, AE_IFDIR);
  else if (S_ISLNK (st.st_mode))
    {
      ssize_t n = readlinkat (dfd, name, target, sizeof target - 1);
      if (n < 0)
        ret = reg_error_sys (err, errno, "layer: %s/%s", p->env, rel);
      target[n < 0 ? 0 : n] = '\0';
      archive_entry_set_filetype (e, AE_IFLNK);
      archive_entry_set_symlink (e, target);
    }
  else if (S_ISREG (st.st_mode))
    {
      archive_entry_set_filetype (e, AE_IFREG);
      archive_entry_set_size (e, st.st_size);
      if ((fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        ret = reg_error_sys (err, errno, "layer: %s/%s", p->env, rel);
      else
        ret = pack_cap (fd, e, rel, p, err);
    }
  else
    ret = reg_error_set (err, EINVAL, "layer: %s/%s is no file, directory or symlink", p->env, rel);
  if (ret == 0 && archive_write_header (p->a, e) != ARCHIVE_OK)
    ret = reg_error_set (err, EIO, "layer: /%s: %s", rel, archive_error_string (p->a));
  archive_entry_free (e);
  if (ret == 0 && fd >= 0)
    ret = pack_data (p, fd, rel, err);
  if (ret == 0 && S_ISDIR (st.st_mode))
    {
      _cleanup_close_ int sub = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      ret = sub < 0 ? reg_error_sys (err, errno, "layer: %s/%s", p->env, rel)
                    : pack_dir (p, sub, rel, depth + 1, err);
    }
  return ret;
}

static int
skip_dots (const struct dirent *d)
{
  return strcmp (d->d_name, ".") != 0 && strcmp (d->d_name, "..") != 0;
}

/* The entries of a directory, sorted by name (reproducible). */
static int
pack_dir (struct pack *p, int dfd, const char *rel, int depth, struct reg_error **err)
{
  if (depth > MAX_DEPTH)
    return reg_error_set (err, ELOOP, "layer: /%s: nested deeper than %d", rel, MAX_DEPTH);
  struct dirent **list = NULL;
  int n = scandirat (dfd, ".", &list, skip_dots, alphasort);
  if (n < 0)
    return reg_error_sys (err, errno, "layer: %s/%s", p->env, rel);
  int ret = 0;
  for (int i = 0; i < n; i++)
    {
      _cleanup_free_ char *child = NULL;
      if (ret == 0 && asprintf (&child, "%s%s%s", rel, *rel ? "/" : "", list[i]->d_name) < 0)
        ret = reg_error_set (err, ENOMEM, "out of memory");
      if (ret == 0)
        ret = pack_entry (p, dfd, list[i]->d_name, child, depth, err);
      free (list[i]);
    }
  free (list);
  return ret;
}

static int
write_tar (const char *env, const char *path, struct reg_error **err)
{
  struct pack p = { .a = archive_write_new (), .env = env };
  if (p.a == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  _cleanup_close_ int dfd = open (env, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int ret = 0;
  if (dfd < 0)
    ret = reg_error_sys (err, errno, "layer: environment %s", env);
  else if (archive_write_set_format_pax_restricted (p.a) != ARCHIVE_OK
           || archive_write_open_filename (p.a, path) != ARCHIVE_OK)
    ret = reg_error_set (err, EIO, "layer %s: %s", path, archive_error_string (p.a));
  if (ret == 0)
    ret = pack_dir (&p, dfd, "", 0, err);
  if (archive_write_close (p.a) != ARCHIVE_OK && ret == 0)
    ret = reg_error_set (err, EIO, "layer %s: %s", path, archive_error_string (p.a));
  archive_write_free (p.a);
  return ret;
}

/* gzip of `src` into `dst` (libarchive's raw format: one stream, no
 * timestamp in the header, so the same tar gives the same blob). */
static int
gzip_file (const char *src, const char *dst, struct reg_error **err)
{
  _cleanup_close_ int fd = open (src, O_RDONLY | O_CLOEXEC);
  struct archive *a = archive_write_new ();
  struct archive_entry *e = archive_entry_new ();
  struct stat st;
  int ret = 0;
  if (a == NULL || e == NULL)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  else if (fd < 0 || fstat (fd, &st) < 0)
    ret = reg_error_sys (err, errno, "layer %s", src);
  else if (archive_write_set_format_raw (a) != ARCHIVE_OK
           || archive_write_add_filter_gzip (a) != ARCHIVE_OK
           || archive_write_set_filter_option (a, "gzip", "timestamp", NULL) != ARCHIVE_OK
           || archive_write_open_filename (a, dst) != ARCHIVE_OK)
    ret = reg_error_set (err, EIO, "layer %s: %s", dst, archive_error_string (a));
  if (ret == 0)
    {
      archive_entry_set_filetype (e, AE_IFREG);
      archive_entry_set_size (e, st.st_size);
      if (archive_write_header (a, e) != ARCHIVE_OK)
        ret = reg_error_set (err, EIO, "layer %s: %s", dst, archive_error_string (a));
    }
  char buf[65536];
  ssize_t got = 0;
  while (ret == 0 && (got = read (fd, buf, sizeof buf)) > 0)
    if (archive_write_data (a, buf, got) != got)
      ret = reg_error_set (err, EIO, "layer %s: %s", dst, archive_error_string (a));
  if (ret == 0 && got < 0)
    ret = reg_error_sys (err, errno, "layer %s", src);
  if (a && archive_write_close (a) != ARCHIVE_OK && ret == 0)
    ret = reg_error_set (err, EIO, "layer %s: %s", dst, archive_error_string (a));
  archive_write_free (a);
  archive_entry_free (e);
  return ret;
}

static json_t *
strings (char *const *v)
{
  json_t *a = json_array ();
  for (size_t i = 0; a && v && v[i]; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}

/* WorkingDir, User, Volumes, Labels, Healthcheck (format 3). */
static int
run_defaults (const struct reg_closure *cl, json_t *config)
{
  json_t *labels = json_object_get (config, "Labels"), *vols = json_object ();
  if (cl->workdir)
    json_object_set_new (config, "WorkingDir", json_string (cl->workdir));
  if (cl->user)
    json_object_set_new (config, "User", json_string (cl->user));
  for (size_t i = 0; cl->volumes && cl->volumes[i]; i++)
    json_object_set_new (vols, cl->volumes[i], json_object ());
  if (json_object_size (vols) > 0)
    json_object_set (config, "Volumes", vols);
  json_decref (vols);
  for (size_t i = 0; cl->labels && cl->labels[i]; i++)
    {
      size_t k = strcspn (cl->labels[i], "=");
      _cleanup_free_ char *key = strndup (cl->labels[i], k);
      if (key == NULL)
        return -1;
      if (strcmp (key, REG_OCI_ANNOTATION_TEMPLATE) != 0)
        json_object_set_new (labels, key, json_string (cl->labels[i] + k + 1));
    }
  json_t *h = reg_health_check_to_json (&cl->healthcheck);
  if (h)
    json_object_set_new (config, "Healthcheck", h);
  return 0;
}

static json_t *
image_config (const char *root, const struct reg_closure *cl, const char *tmpl,
              const char *diff_hex, struct reg_error **err)
{
  char diff[72], sig[REG_SIGNAL_NAME_MAX];
  snprintf (diff, sizeof diff, "sha256:%s", diff_hex);
  json_t *env = json_array (), *ports = json_object ();
  bool has_path = false, has_home = false;
  for (size_t i = 0; cl->env && cl->env[i]; i++)
    {
      has_path |= strncmp (cl->env[i], "PATH=", 5) == 0;
      has_home |= strncmp (cl->env[i], "HOME=", 5) == 0;
    }
  if (!has_path)
    json_array_append_new (env, json_string (DEFAULT_PATH));
  if (!has_home)
    json_array_append_new (env, json_string ("HOME=/root"));
  json_t *own = strings (cl->env);
  json_array_extend (env, own);
  json_decref (own);
  for (size_t i = 0; cl->expose && cl->expose[i]; i++)
    json_object_set_new (ports, cl->expose[i], json_object ());
  json_t *config
      = json_pack ("{s:o, s:{s:s}}", "Env", env, "Labels", REG_OCI_ANNOTATION_TEMPLATE, tmpl);
  if (cl->entrypoint)
    json_object_set_new (config, "Cmd", strings (cl->entrypoint));
  if (json_object_size (ports) > 0)
    json_object_set (config, "ExposedPorts", ports);
  json_decref (ports);
  if (cl->stop_signal > 0)
    json_object_set_new (config, "StopSignal",
                         json_string (reg_util_signal_name (cl->stop_signal, sig)));
  if (run_defaults (cl, config) < 0)
    {
      json_decref (config);
      reg_error_set (err, ENOMEM, "out of memory");
      return NULL;
    }
  json_t *j
      = json_pack ("{s:s, s:s, s:o, s:{s:s, s:[s]}, s:[{s:s}]}", "architecture",
                   reg_image_host_arch (), "os", "linux", "config", config, "rootfs", "type",
                   "layers", "diff_ids", diff, "history", "created_by", "reg push --as-image");
  if (j == NULL)
    reg_error_set (err, ENOMEM, "out of memory");
  return j;
}

static int
hash_size (const char *path, char hex[65], int64_t *size, struct reg_error **err)
{
  struct stat st;
  if (stat (path, &st) < 0)
    return reg_error_sys (err, errno, "%s", path);
  *size = st.st_size;
  return reg_store_hash_file (path, hex, err);
}

static int
build_config (const char *root, const struct reg_closure *cl, const char *tmpl,
              struct reg_imgexport *x, struct reg_error **err)
{
  json_t *c = image_config (root, cl, tmpl, x->diff_hex, err);
  if (c == NULL)
    return -1;
  _cleanup_free_ char *text = json_dumps (c, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (c);
  if (text == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_util_write_atomic_ex (x->config_path, text, strlen (text), 0600, false, err) < 0
      || hash_size (x->config_path, x->config_hex, &x->config_size, err) < 0)
    return -1;
  char cd[72], ld[72];
  snprintf (cd, sizeof cd, "sha256:%s", x->config_hex);
  snprintf (ld, sizeof ld, "sha256:%s", x->layer_hex);
  json_t *m
      = json_pack ("{s:i, s:s, s:{s:s, s:s, s:I}, s:[{s:s, s:s, s:I}], s:{s:s}}", "schemaVersion",
                   2, "mediaType", REG_OCI_MANIFEST_TYPE, "config", "mediaType",
                   REG_IMAGE_OCI_CONFIG, "digest", cd, "size", (json_int_t)x->config_size, "layers",
                   "mediaType", "application/vnd.oci.image.layer.v1.tar+gzip", "digest", ld, "size",
                   (json_int_t)x->layer_size, "annotations", REG_OCI_ANNOTATION_TEMPLATE, tmpl);
  x->manifest = m ? json_dumps (m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref (m);
  return x->manifest ? 0 : reg_error_set (err, ENOMEM, "out of memory");
}

int
reg_imgexport_build (const char *root, const struct reg_store *store, const char *tmpl,
                     const char *dir, struct reg_imgexport *x, struct reg_error **err)
{
  memset (x, 0, sizeof *x);
  char *refs[] = { (char *)tmpl, NULL };
  struct reg_closure *cl = NULL;
  _cleanup_free_ char *env = NULL, *tar = NULL;
  if (asprintf (&tar, "%s/image-layer.tar", dir) < 0
      || asprintf (&x->layer_path, "%s/image-layer.tar.gz", dir) < 0
      || asprintf (&x->config_path, "%s/image-config.json", dir) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  int ret = reg_closure_resolve (root, refs, &cl, err);
  if (ret == 0)
    ret = reg_envgen_generate (store, cl, &env, err);
  /* A layered environment is not one tree: walk a private full one. */
  _cleanup_free_ char *layered = ret == 0 ? reg_root_env_base (root, cl->digest) : NULL;
  if (layered)
    {
      free (env);
      env = NULL;
      ret = reg_envgen_build_private (store, cl, &env, err);
    }
  if (ret == 0)
    ret = write_tar (env, tar, err);
  if (layered && env)
    reg_util_rm_rf (env, NULL);
  if (ret == 0)
    ret = reg_store_hash_file (tar, x->diff_hex, err);
  if (ret == 0)
    ret = gzip_file (tar, x->layer_path, err);
  if (tar)
    unlink (tar);
  if (ret == 0)
    ret = hash_size (x->layer_path, x->layer_hex, &x->layer_size, err);
  if (ret == 0)
    ret = build_config (root, cl, tmpl, x, err);
  reg_closure_free (cl);
  if (ret < 0)
    {
      reg_imgexport_clear (x);
      return reg_error_prefix (err, "template %s as an image", tmpl);
    }
  return 0;
}

void
reg_imgexport_clear (struct reg_imgexport *x)
{
  free (x->layer_path);
  free (x->config_path);
  free (x->manifest);
  memset (x, 0, sizeof *x);
}
