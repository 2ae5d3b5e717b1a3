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

static int pack_dir (struct pack *p, int dfd, int lower, const char *rel, int depth,
                     struct reg_error **err);

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

/* Whether two regular files have the same bytes (neither is read when the
 * sizes differ). */
static bool
same_bytes (int dfd, int lower, const char *name, off_t size)
{
  _cleanup_close_ int a = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_close_ int b = openat (lower, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  char x[16384], y[16384];
  off_t done = 0;
  while (a >= 0 && b >= 0 && done < size)
    {
      ssize_t n = read (a, x, sizeof x);
      if (n <= 0 || read (b, y, (size_t)n) != n || memcmp (x, y, (size_t)n) != 0)
        return false;
      done += n;
    }
  return a >= 0 && b >= 0 && done == size;
}

/* Whether the lower layer's entry name (lst) is what the upper one (st)
 * is, so the upper layer need not carry it. Directories are always
 * carried (their entries are small, and they make every changed path's
 * parents explicit). In a generated environment a store object is one
 * inode: the same inode is the same content and attributes. */
static bool
unchanged (int dfd, int lower, const char *name, const struct stat *st, const struct stat *lst)
{
  if (S_ISDIR (st->st_mode) || (st->st_mode & S_IFMT) != (lst->st_mode & S_IFMT))
    return false;
  if (st->st_dev == lst->st_dev && st->st_ino == lst->st_ino)
    return true;
  if (st->st_mode != lst->st_mode || st->st_uid != lst->st_uid || st->st_gid != lst->st_gid
      || st->st_size != lst->st_size)
    return false;
  if (S_ISLNK (st->st_mode))
    {
      char a[4096], b[4096];
      ssize_t n = readlinkat (dfd, name, a, sizeof a), m = readlinkat (lower, name, b, sizeof b);
      return n >= 0 && n == m && memcmp (a, b, (size_t)n) == 0;
    }
  return st->st_mtim.tv_sec == lst->st_mtim.tv_sec && same_bytes (dfd, lower, name, st->st_size);
}

/* An OCI whiteout for rel (name in its directory): the lower layer's
 * entry is gone in this one. */
static int
pack_whiteout (struct pack *p, const char *rel, struct reg_error **err)
{
  const char *slash = strrchr (rel, '/');
  _cleanup_free_ char *wh = NULL;
  if (asprintf (&wh, "%.*s%s.wh.%s", slash ? (int)(slash - rel) : 0, rel, slash ? "/" : "",
                slash ? slash + 1 : rel)
      < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  struct archive_entry *e = archive_entry_new ();
  if (e == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  archive_entry_set_pathname (e, wh);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_entry_set_size (e, 0);
  int ret = archive_write_header (p->a, e) == ARCHIVE_OK
                ? 0
                : reg_error_set (err, EIO, "layer: /%s: %s", wh, archive_error_string (p->a));
  archive_entry_free (e);
  return ret;
}

/* One entry (rel: its path in the image, no leading '/'). lower: the
 * directory of the layers below that holds the same path, or -1: an entry
 * that is unchanged there is left out. */
static int
pack_entry (struct pack *p, int dfd, int lower, const char *name, const char *rel, int depth,
            struct reg_error **err)
{
  struct stat st, lst;
  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return reg_error_sys (err, errno, "layer: %s/%s", p->env, rel);
  bool in_lower = lower >= 0 && fstatat (lower, name, &lst, AT_SYMLINK_NOFOLLOW) == 0;
  if (in_lower && unchanged (dfd, lower, name, &st, &lst))
    return 0;
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
      _cleanup_close_ int lsub
          = in_lower && S_ISDIR (lst.st_mode)
                ? openat (lower, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                : -1;
      ret = sub < 0 ? reg_error_sys (err, errno, "layer: %s/%s", p->env, rel)
                    : pack_dir (p, sub, lsub, rel, depth + 1, err);
    }
  return ret;
}

static int
skip_dots (const struct dirent *d)
{
  return strcmp (d->d_name, ".") != 0 && strcmp (d->d_name, "..") != 0;
}

/* Whiteouts for the entries of the lower directory that dfd lacks. */
static int
pack_gone (struct pack *p, int dfd, int lower, const char *rel, struct reg_error **err)
{
  struct dirent **list = NULL;
  int n = scandirat (lower, ".", &list, skip_dots, alphasort);
  if (n < 0)
    return reg_error_sys (err, errno, "layer: the layer below's /%s", rel);
  int ret = 0;
  for (int i = 0; i < n; i++)
    {
      struct stat st;
      _cleanup_free_ char *child = NULL;
      if (ret == 0 && fstatat (dfd, list[i]->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        ret = asprintf (&child, "%s%s%s", rel, *rel ? "/" : "", list[i]->d_name) < 0
                  ? reg_error_set (err, ENOMEM, "out of memory")
                  : pack_whiteout (p, child, err);
      free (list[i]);
    }
  free (list);
  return ret;
}

/* The entries of a directory, sorted by name (reproducible); those the
 * lower directory (or -1) has unchanged are left out, those it has and
 * dfd lacks are whited out. */
static int
pack_dir (struct pack *p, int dfd, int lower, const char *rel, int depth, struct reg_error **err)
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
        ret = pack_entry (p, dfd, lower, list[i]->d_name, child, depth, err);
      free (list[i]);
    }
  free (list);
  if (ret == 0 && lower >= 0)
    ret = pack_gone (p, dfd, lower, rel, err);
  return ret;
}

/* The tar of env, less what the environment lower (or NULL) has already. */
static int
write_tar (const char *env, const char *lower, const char *path, struct reg_error **err)
{
  struct pack p = { .a = archive_write_new (), .env = env };
  if (p.a == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  _cleanup_close_ int dfd = open (env, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_close_ int lfd = lower ? open (lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  int ret = 0;
  if (dfd < 0)
    ret = reg_error_sys (err, errno, "layer: environment %s", env);
  else if (lower && lfd < 0)
    ret = reg_error_sys (err, errno, "layer: environment %s", lower);
  else if (archive_write_set_format_pax_restricted (p.a) != ARCHIVE_OK
           || archive_write_open_filename (p.a, path) != ARCHIVE_OK)
    ret = reg_error_set (err, EIO, "layer %s: %s", path, archive_error_string (p.a));
  if (ret == 0)
    ret = pack_dir (&p, dfd, lfd, "", 0, err);
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

/* rootfs.diff_ids and history, a layer each. */
static json_t *
image_rootfs (const struct reg_imgexport *x, json_t **history)
{
  json_t *diffs = json_array ();
  *history = json_array ();
  for (size_t i = 0; diffs && *history && i < x->n_layers; i++)
    {
      char diff[72], by[300];
      snprintf (diff, sizeof diff, "sha256:%s", x->layers[i].diff_hex);
      snprintf (by, sizeof by, "reg push --as-image: %s", x->layers[i].template);
      json_array_append_new (diffs, json_string (diff));
      json_array_append_new (*history, json_pack ("{s:s}", "created_by", by));
    }
  return json_pack ("{s:s, s:o}", "type", "layers", "diff_ids", diffs);
}

static json_t *
image_config (const char *root, const struct reg_closure *cl, const char *tmpl,
              const struct reg_imgexport *x, struct reg_error **err)
{
  char sig[REG_SIGNAL_NAME_MAX];
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
  json_t *history = NULL, *rootfs = image_rootfs (x, &history);
  json_t *j = json_pack ("{s:s, s:s, s:o, s:o, s:o}", "architecture", reg_image_host_arch (), "os",
                         "linux", "config", config, "rootfs", rootfs, "history", history);
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
  json_t *c = image_config (root, cl, tmpl, x, err);
  if (c == NULL)
    return -1;
  _cleanup_free_ char *text = json_dumps (c, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (c);
  if (text == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_util_write_atomic_ex (x->config_path, text, strlen (text), 0600, false, err) < 0
      || hash_size (x->config_path, x->config_hex, &x->config_size, err) < 0)
    return -1;
  char cd[72];
  snprintf (cd, sizeof cd, "sha256:%s", x->config_hex);
  json_t *layers = json_array ();
  for (size_t i = 0; layers && i < x->n_layers; i++)
    {
      char ld[72];
      snprintf (ld, sizeof ld, "sha256:%s", x->layers[i].hex);
      json_array_append_new (layers,
                             json_pack ("{s:s, s:s, s:I}", "mediaType",
                                        "application/vnd.oci.image.layer.v1.tar+gzip", "digest", ld,
                                        "size", (json_int_t)x->layers[i].size));
    }
  json_t *m = json_pack ("{s:i, s:s, s:{s:s, s:s, s:I}, s:o, s:{s:s}}", "schemaVersion", 2,
                         "mediaType", REG_OCI_MANIFEST_TYPE, "config", "mediaType",
                         REG_IMAGE_OCI_CONFIG, "digest", cd, "size", (json_int_t)x->config_size,
                         "layers", layers, "annotations", REG_OCI_ANNOTATION_TEMPLATE, tmpl);
  x->manifest = m ? json_dumps (m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref (m);
  return x->manifest ? 0 : reg_error_set (err, ENOMEM, "out of memory");
}

/* A full environment tree to walk: envs/<digest>, or a private copy of
 * a layered one (envgen.h), which goes when it is dropped. */
struct tree
{
  char *path;
  bool private;
};

static void
drop_tree (struct tree *t)
{
  if (t->private && t->path)
    reg_util_rm_rf (t->path, NULL);
  free (t->path);
  *t = (struct tree){ NULL, false };
}

/* The full tree of closure c's environment, generated as needed. */
static int
full_tree (const char *root, const struct reg_store *store, const struct reg_closure *c,
           struct tree *t, struct reg_error **err)
{
  *t = (struct tree){ NULL, false };
  if (reg_envgen_generate (store, c, &t->path, err) < 0)
    return -1;
  _cleanup_free_ char *layered = reg_root_env_base (root, c->digest);
  if (layered == NULL)
    return 0;
  /* A layered environment is not one tree: walk a private full one. */
  free (t->path);
  t->path = NULL;
  t->private = true;
  return reg_envgen_build_private (store, c, &t->path, err);
}

/* Layer i: what the environment of templates[0..i] (resolution order:
 * each template after what it requires) adds to that of templates[0..i-1]
 * (*lower, which becomes this one's); the last one is the whole
 * closure's environment. */
static int
build_layer (const char *root, const struct reg_store *store, const struct reg_closure *cl,
             size_t i, const char *dir, struct tree *lower, struct reg_imgexport_layer *l,
             struct reg_error **err)
{
  struct reg_closure *prefix = NULL;
  struct tree env = { NULL, false };
  _cleanup_free_ char *tar = NULL;
  int ret = 0;
  if ((l->template = strdup (cl->templates[i])) == NULL
      || asprintf (&tar, "%s/image-layer-%zu.tar", dir, i) < 0
      || asprintf (&l->path, "%s/image-layer-%zu.tar.gz", dir, i) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (cl->templates[i + 1] == NULL)
    ret = full_tree (root, store, cl, &env, err);
  else
    {
      _cleanup_strv_ char **refs = reg_strv_dup (cl->templates);
      if (refs == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      free (refs[i + 1]);
      refs[i + 1] = NULL;
      ret = reg_closure_resolve (root, refs, &prefix, err);
      if (ret == 0)
        ret = full_tree (root, store, prefix, &env, err);
      reg_closure_free (prefix);
    }
  if (ret == 0)
    ret = write_tar (env.path, lower->path, tar, err);
  if (ret == 0)
    ret = reg_store_hash_file (tar, l->diff_hex, err);
  if (ret == 0)
    ret = gzip_file (tar, l->path, err);
  if (tar)
    unlink (tar);
  if (ret == 0)
    ret = hash_size (l->path, l->hex, &l->size, err);
  drop_tree (lower);
  *lower = env;
  return ret < 0 ? reg_error_prefix (err, "layer %zu (%s)", i, cl->templates[i]) : 0;
}

int
reg_imgexport_build (const char *root, const struct reg_store *store, const char *tmpl,
                     const char *dir, struct reg_imgexport *x, struct reg_error **err)
{
  memset (x, 0, sizeof *x);
  char *refs[] = { (char *)tmpl, NULL };
  struct reg_closure *cl = NULL;
  struct tree lower = { NULL, false };
  if (asprintf (&x->config_path, "%s/image-config.json", dir) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  int ret = reg_closure_resolve (root, refs, &cl, err);
  size_t n = ret == 0 ? reg_strv_len (cl->templates) : 0;
  if (ret == 0 && (x->layers = calloc (n, sizeof *x->layers)) == NULL)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; ret == 0 && i < n; i++, x->n_layers++)
    ret = build_layer (root, store, cl, i, dir, &lower, &x->layers[i], err);
  drop_tree (&lower);
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
  for (size_t i = 0; i < x->n_layers; i++)
    {
      free (x->layers[i].path);
      free (x->layers[i].template);
    }
  free (x->layers);
  free (x->config_path);
  free (x->manifest);
  memset (x, 0, sizeof *x);
}
