#include "transfer.h"
#include "bundle.h"
#include "image.h"
#include "imgarchive.h"
#include "imgexport.h"
#include "layer.h"
#include "layout.h"
#include "oci.h"
#include "registry.h"
#include "root.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define WORKERS 4
#define MAX_TEMPLATES 256
#define MAX_DEPTH 32

/* Where templates go or come from: a layout directory or a registry. */
struct source
{
  struct reg_layout *layout;
  struct reg_registry *registry;
  const struct reg_transfer_options *o;
  pthread_mutex_t lock; /* events, counters, first error */
  int64_t bytes;
  int moved, skipped, mounted;
};

static void
source_close (struct source *s)
{
  reg_layout_free (s->layout);
  reg_registry_free (s->registry);
  pthread_mutex_destroy (&s->lock);
}

static int
source_open (struct reg_engine *e, const struct reg_transfer_options *o,
             const struct reg_oci_ref *ref, struct source *s, struct reg_error **err)
{
  memset (s, 0, sizeof *s);
  s->o = o;
  pthread_mutex_init (&s->lock, NULL);
  if (ref->host != NULL)
    {
      if (o->layout != NULL)
        return reg_error_set (err, EINVAL,
                              "reference %s names registry %s; --layout takes a reference "
                              "without a registry host",
                              o->ref, ref->host);
      _cleanup_free_ char *certs = NULL;
      if (asprintf (&certs, "%s/certs.d", e->root) < 0)
        return reg_error_set (err, ENOMEM, "out of memory");
      if (o->ca_pem && o->insecure)
        return reg_error_set (err, EINVAL,
                              "registry %s: a CA was given with --insecure (plain HTTP has no "
                              "certificate to check)",
                              ref->host);
      if (reg_registry_open (ref->host, o->insecure, certs, o->user, o->password, &s->registry, err)
          < 0)
        return -1;
      return o->ca_pem ? reg_registry_add_ca_pem (s->registry, o->ca_pem, err) : 0;
    }
  if (o->ca_pem)
    return reg_error_set (
        err, EINVAL, "reference %s names a layout, not a registry: a CA is for a registry", o->ref);
  _cleanup_free_ char *dir = NULL;
  if (o->layout == NULL && asprintf (&dir, "%s/layout", e->root) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  return reg_layout_open (o->layout ? o->layout : dir, &s->layout, err);
}

static void
event (struct source *s, const char *hex, const char *status, int64_t now, int64_t total)
{
  if (s->o->event == NULL)
    return;
  char id[160]; /* a digest as its first 12 hex digits, a template name in full */
  snprintf (id, sizeof id, "%.*s", reg_util_is_sha256_hex (hex) ? 12 : 159, hex);
  json_t *j = json_pack ("{s:s, s:s}", "Id", id, "Status", status);
  if (j && total > 0)
    {
      json_object_set_new (j, "Current", json_integer (now));
      json_object_set_new (j, "Total", json_integer (total));
    }
  pthread_mutex_lock (&s->lock);
  if (j)
    s->o->event (s->o->data, j);
  pthread_mutex_unlock (&s->lock);
  json_decref (j);
}

/* ---- concurrent jobs ---- */

struct job
{
  struct source *s;
  char hex[65];
  int64_t size;
  char *repo;    /* owned: a sibling reference does not outlive its resolve */
  char *path;    /* push: the file to send; pull: where the blob goes */
  bool bundle;   /* pull: a files blob, unpacked after download */
  char *unpack;  /* pull: directory for its objects */
  int64_t mtime; /* pull: a file layer's object mtime (seconds; 0: none) */
  double last;   /* time of the last progress event */
  bool silent;   /* a config: fetched before the layers, no bar of its own */
};

struct pool
{
  struct job *jobs;
  size_t n, next;
  int (*fn) (struct job *j, struct reg_error **err);
  pthread_mutex_t lock;
  struct reg_error *err;
};

static void *
worker (void *p)
{
  struct pool *pool = p;
  for (;;)
    {
      pthread_mutex_lock (&pool->lock);
      size_t i = pool->next++;
      bool stop = i >= pool->n || pool->err != NULL;
      pthread_mutex_unlock (&pool->lock);
      if (stop)
        return NULL;
      struct reg_error *e = NULL;
      if (pool->fn (&pool->jobs[i], &e) < 0)
        {
          pthread_mutex_lock (&pool->lock);
          if (pool->err == NULL)
            pool->err = e;
          else
            reg_error_free (e);
          pthread_mutex_unlock (&pool->lock);
        }
    }
}

static int
run_jobs (struct job *jobs, size_t n, int (*fn) (struct job *, struct reg_error **),
          struct reg_error **err)
{
  struct pool pool = { .jobs = jobs, .n = n, .fn = fn };
  pthread_mutex_init (&pool.lock, NULL);
  pthread_t t[WORKERS];
  size_t started = 0;
  for (; started < WORKERS && started < n; started++)
    if (pthread_create (&t[started], NULL, worker, &pool) != 0)
      break;
  if (started == 0 && n > 0)
    worker (&pool);
  for (size_t i = 0; i < started; i++)
    pthread_join (t[i], NULL);
  pthread_mutex_destroy (&pool.lock);
  if (pool.err)
    {
      if (err && *err == NULL)
        *err = pool.err;
      else
        reg_error_free (pool.err);
      return -1;
    }
  return 0;
}

static void
job_progress (void *data, int64_t now, int64_t total)
{
  struct job *j = data;
  double t = reg_util_now ();
  if (j->silent || t - j->last < 0.2)
    return;
  j->last = t;
  /* Only a push names a template to send. */
  event (j->s, j->hex, j->s->o->tmpl != NULL ? "uploading" : "downloading", now,
         total > 0 ? total : j->size);
}

static void
jobs_free (struct job *jobs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (jobs[i].path);
      free (jobs[i].unpack);
      free (jobs[i].repo);
    }
  free (jobs);
}

static int
file_sha256 (const char *path, char hex[65], int64_t *size, struct reg_error **err)
{
  struct stat st;
  if (stat (path, &st) < 0)
    return reg_error_sys (err, errno, "%s", path);
  *size = st.st_size;
  return reg_store_hash_file (path, hex, err);
}

/* ---- push ---- */

/* Repositories of this registry this engine pushed a blob to:
 * <root>/registry/blobs/<hex>, one "HOST/REPO" a line. Mount sources. */
static char *
pushed_record (struct reg_engine *e, const char *hex)
{
  char *p = NULL;
  return asprintf (&p, "%s/registry/blobs/%s", e->root, hex) < 0 ? NULL : p;
}

static void
record_pushed (struct reg_engine *e, struct source *s, const char *repo, const char *hex)
{
  _cleanup_free_ char *dir = NULL, *path = pushed_record (e, hex), *text = NULL, *line = NULL;
  size_t len;
  if (path == NULL || asprintf (&dir, "%s/registry/blobs", e->root) < 0
      || asprintf (&line, "%s/%s\n", s->registry->host, repo) < 0
      || reg_util_mkdir_p (dir, 0700, NULL) < 0)
    return;
  if (reg_util_read_file (path, 1 << 20, &text, &len, NULL) == 0 && strstr (text, line))
    return;
  _cleanup_close_ int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd >= 0)
    reg_util_write_all (fd, line, strlen (line));
}

static struct reg_engine *push_engine; /* set for the mount lookup of one push */

static int
try_mount (struct job *j, bool *mounted, struct reg_error **err)
{
  *mounted = false;
  _cleanup_free_ char *path = pushed_record (push_engine, j->hex), *text = NULL;
  size_t len;
  if (path == NULL || reg_util_read_file (path, 1 << 20, &text, &len, NULL) < 0)
    return 0;
  size_t hl = strlen (j->s->registry->host);
  char *save = NULL;
  for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      if (strncmp (line, j->s->registry->host, hl) != 0 || line[hl] != '/'
          || strcmp (line + hl + 1, j->repo) == 0)
        continue;
      _cleanup_error_ struct reg_error *e = NULL;
      if (reg_registry_blob_mount (j->s->registry, j->repo, j->hex, line + hl + 1, mounted, &e) == 0
          && *mounted)
        return 0;
    }
  return 0;
}

static int
push_job (struct job *j, struct reg_error **err)
{
  struct source *s = j->s;
  if (s->layout)
    {
      if (reg_layout_has_blob (s->layout, j->hex))
        {
          event (s, j->hex, "exists", 0, 0);
          pthread_mutex_lock (&s->lock);
          s->skipped++;
          pthread_mutex_unlock (&s->lock);
          return 0;
        }
      if (reg_layout_put_blob (s->layout, j->hex, j->path, err) < 0)
        return -1;
    }
  else
    {
      bool exists = false, mounted = false;
      if (reg_registry_blob_exists (s->registry, j->repo, j->hex, &exists, err) < 0)
        return -1;
      if (!exists && try_mount (j, &mounted, err) < 0)
        return -1;
      if (exists || mounted)
        {
          event (s, j->hex, exists ? "exists" : "mounted", 0, 0);
          pthread_mutex_lock (&s->lock);
          exists ? s->skipped++ : s->mounted++;
          pthread_mutex_unlock (&s->lock);
          return 0;
        }
      if (reg_registry_blob_put (s->registry, j->repo, j->hex, j->path, job_progress, j, err) < 0)
        return -1;
    }
  event (s, j->hex, "uploaded", j->size, j->size);
  pthread_mutex_lock (&s->lock);
  s->moved++;
  s->bytes += j->size;
  pthread_mutex_unlock (&s->lock);
  return 0;
}

static int
add_job (struct job **jobs, size_t *n, struct source *s, const char *repo, const char *hex,
         int64_t size, const char *path, struct reg_error **err)
{
  for (size_t i = 0; i < *n; i++)
    if (strcmp ((*jobs)[i].hex, hex) == 0)
      return 0;
  struct job *grown = realloc (*jobs, (*n + 1) * sizeof *grown);
  if (grown == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  *jobs = grown;
  struct job *j = &grown[(*n)++];
  memset (j, 0, sizeof *j);
  j->s = s;
  j->size = size;
  if ((j->repo = strdup (repo)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  snprintf (j->hex, sizeof j->hex, "%s", hex);
  if (path && (j->path = strdup (path)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  return 0;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

/* The template's own file objects, "hex[+x]", sorted and unique. */
static char **
file_objects (const struct reg_template *t)
{
  char **v = calloc (t->n_files + 1, sizeof *v);
  size_t n = 0;
  for (size_t i = 0; v && i < t->n_files; i++)
    {
      const struct reg_entry *f = &t->files[i];
      if (f->kind != REG_ENTRY_FILE && f->kind != REG_ENTRY_EXEC)
        continue;
      char *name = reg_store_name (f->value, f->kind == REG_ENTRY_EXEC);
      if (name == NULL)
        continue;
      bool dup = false;
      for (size_t k = 0; k < n && !dup; k++)
        dup = strcmp (v[k], name) == 0;
      if (dup)
        free (name);
      else
        v[n++] = name;
    }
  if (v)
    qsort (v, n, sizeof *v, cmp_str);
  return v;
}

/* File layers (o->file_layers): each file object its own raw layer, with
 * its mtime; an object wanted both plain and +x (or as an attribute variant) is one blob. */
static int
add_file_layers (struct reg_engine *e, struct source *s, const struct reg_oci_ref *ref,
                 const char *tref, char **objects, struct reg_oci_manifest *m, struct job **jobs,
                 size_t *n, struct reg_error **err)
{
  for (size_t i = 0; objects[i]; i++)
    {
      bool dup = false;
      for (size_t k = 0; k < m->n_layers && !dup; k++)
        dup = strncmp (m->layers[k].digest, objects[i], 64) == 0;
      if (dup)
        continue;
      struct reg_oci_desc *d = &m->layers[m->n_layers++];
      d->media_type = (char *)REG_OCI_FILE_TYPE;
      snprintf (d->digest, sizeof d->digest, "%.64s", objects[i]);
      /* The object's own path: plain, +x or an attribute variant (store.h);
       * the layer carries the content, the RET file the variant. */
      _cleanup_free_ char *path = reg_store_object_path (e->store, objects[i], false);
      struct stat st;
      if (path == NULL || stat (path, &st) < 0)
        return reg_error_set (err, ENOENT, "template %s: file object sha256:%s not in store", tref,
                              d->digest);
      d->size = st.st_size;
      d->mtime = st.st_mtim.tv_sec > 0 && st.st_mtim.tv_sec <= (time_t)UINT32_MAX
                     ? st.st_mtim.tv_sec
                     : 0;
      if (add_job (jobs, n, s, ref->repo, d->digest, d->size, path, err) < 0)
        return -1;
    }
  return 0;
}

static int
push_one (struct reg_engine *e, struct source *s, const struct reg_oci_ref *ref,
          const struct reg_template *t, bool file_layers, const char *staging, json_t *pushed,
          struct reg_error **err)
{
  _cleanup_free_ char *ret_text = reg_template_serialize (t), *config = NULL, *bundle = NULL,
                      *tref = NULL, *refstr = reg_oci_ref_string (ref), *manifest = NULL;
  if (ret_text == NULL || refstr == NULL || asprintf (&config, "%s/config-%s", staging, t->name) < 0
      || asprintf (&bundle, "%s/files-%s.tar.gz", staging, t->name) < 0
      || asprintf (&tref, "%s@%s", t->name, t->version) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_util_write_atomic_ex (config, ret_text, strlen (ret_text), 0600, false, err) < 0)
    return -1;
  struct reg_oci_manifest m = { 0 };
  m.config.media_type = (char *)REG_OCI_TEMPLATE_TYPE;
  m.template_ref = tref;
  struct job *jobs = NULL;
  size_t n = 0;
  int ret = file_sha256 (config, m.config.digest, &m.config.size, err);
  if (ret == 0)
    ret = add_job (&jobs, &n, s, ref->repo, m.config.digest, m.config.size, config, err);
  m.layers = calloc (t->n_libs + t->n_files + 2, sizeof *m.layers);
  if (m.layers == NULL && ret == 0)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; ret == 0 && i < t->n_libs; i++)
    {
      const struct reg_lib *l = &t->libs[i];
      bool dup = false;
      for (size_t k = 0; k < m.n_layers && !dup; k++)
        dup = strcmp (m.layers[k].digest, l->entry.value) == 0;
      if (dup)
        continue;
      _cleanup_free_ char *path
          = reg_store_object_path (e->store, l->entry.value, l->entry.kind == REG_ENTRY_EXEC);
      struct reg_oci_desc *d = &m.layers[m.n_layers++];
      d->media_type = (char *)REG_OCI_LIB_TYPE;
      d->lib = l->name;
      snprintf (d->digest, sizeof d->digest, "%s", l->entry.value);
      struct stat st;
      if (path == NULL || stat (path, &st) < 0)
        ret = reg_error_set (err, ENOENT, "template %s: lib %s: object sha256:%s not in store",
                             tref, l->name, l->entry.value);
      else
        d->size = st.st_size;
      if (ret == 0)
        ret = add_job (&jobs, &n, s, ref->repo, d->digest, d->size, path, err);
    }
  _cleanup_strv_ char **objects = file_objects (t);
  if (ret == 0 && objects == NULL)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  if (ret == 0 && objects[0] != NULL && file_layers)
    ret = add_file_layers (e, s, ref, tref, objects, &m, &jobs, &n, err);
  else if (ret == 0 && objects[0] != NULL)
    {
      struct reg_oci_desc *d = &m.layers[m.n_layers++];
      d->media_type = (char *)REG_OCI_FILES_TYPE;
      ret = reg_bundle_pack (e->store, objects, bundle, err);
      if (ret == 0)
        ret = file_sha256 (bundle, d->digest, &d->size, err);
      if (ret == 0)
        ret = add_job (&jobs, &n, s, ref->repo, d->digest, d->size, bundle, err);
    }
  if (ret == 0)
    ret = run_jobs (jobs, n, push_job, err);
  if (ret == 0 && (manifest = reg_oci_manifest_build (&m)) == NULL)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  if (ret == 0)
    ret = s->layout ? reg_layout_put_manifest (s->layout, ref->repo, ref->tag, manifest,
                                               strlen (manifest), err)
                    : reg_registry_manifest_put (s->registry, ref->repo, ref->tag, manifest,
                                                 strlen (manifest), err);
  if (ret == 0 && s->registry)
    for (size_t i = 0; i < n; i++)
      record_pushed (e, s, ref->repo, jobs[i].hex);
  if (ret == 0)
    {
      unsigned char raw[32];
      char hex[65], digest[72];
      SHA256 ((const unsigned char *)manifest, strlen (manifest), raw);
      reg_util_hex (raw, 32, hex);
      snprintf (digest, sizeof digest, "sha256:%s", hex);
      event (s, hex, "pushed", 0, 0);
      json_array_append_new (
          pushed, json_pack ("{s:s, s:s, s:s}", "Template", tref, "Ref", refstr, "Digest", digest));
    }
  free (m.layers);
  jobs_free (jobs, n);
  if (ret < 0)
    return reg_error_prefix (err, "push %s to %s", tref, refstr);
  return 0;
}

/* The destination has this very template (a manifest at the reference
 * whose config, the RET file, has the template's digest): a required
 * template found so is not packed and pushed again — packing a large
 * template's files blob costs seconds even when no byte moves. */
static bool
already_there (struct source *s, const struct reg_oci_ref *ref, const struct reg_template *t)
{
  char digest[65];
  _cleanup_free_ char *text = NULL, *media_type = NULL;
  size_t len = 0;
  if (reg_template_digest (t, digest, NULL) < 0 || ref->tag == NULL)
    return false;
  int rc = s->layout ? reg_layout_get_manifest (s->layout, ref->repo, ref->tag, &text, &len, NULL)
                     : reg_registry_manifest_get (s->registry, ref->repo, ref->tag, &text, &len,
                                                  &media_type, NULL);
  struct reg_oci_manifest *m = NULL;
  if (rc < 0 || reg_oci_manifest_parse (text, len, "manifest", &m, NULL) < 0)
    return false;
  bool same = strcmp (m->config.media_type, REG_OCI_TEMPLATE_TYPE) == 0
              && strcmp (m->config.digest, digest) == 0;
  reg_oci_manifest_free (m);
  if (same)
    event (s, digest, "exists", 0, 0);
  return same;
}

static int
push_tree (struct reg_engine *e, struct source *s, const struct reg_oci_ref *ref, const char *tmpl,
           const char *staging, json_t *pushed, int depth, struct reg_error **err)
{
  if (depth > MAX_DEPTH)
    return reg_error_set (err, ELOOP, "template %s: requires nest deeper than %d", tmpl, MAX_DEPTH);
  size_t i;
  json_t *p;
  json_array_foreach (pushed, i, p)
  {
    if (strcmp (json_string_value (json_object_get (p, "Template")), tmpl) == 0)
      return 0;
  }
  struct reg_template *t = NULL;
  if (reg_template_load (e->root, tmpl, &t, err) < 0)
    return -1;
  int ret = 0;
  for (size_t k = 0; ret == 0 && t->requires && t->requires[k]; k++)
    {
      _cleanup_free_ char *name = NULL, *version = NULL;
      struct reg_oci_ref *sib = NULL;
      ret = reg_template_split_ref (t->requires[k], &name, &version, err);
      if (ret == 0)
        ret = reg_oci_ref_sibling (ref, name, version, &sib, err);
      if (ret == 0)
        ret = push_tree (e, s, sib, t->requires[k], staging, pushed, depth + 1, err);
      reg_oci_ref_free (sib);
    }
  if (ret == 0 && !(depth > 0 && already_there (s, ref, t)))
    ret = push_one (e, s, ref, t, depth == 0 && s->o->file_layers, staging, pushed, err);
  reg_template_free (t);
  return ret;
}

static int
make_staging (struct reg_engine *e, const char *what, char **out, struct reg_error **err)
{
  if (asprintf (out, "%s/%s-XXXXXX", e->store->tmp_dir, what) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (mkdtemp (*out) == NULL)
    {
      int saved = errno;
      free (*out);
      *out = NULL;
      return reg_error_sys (err, saved, "staging directory in %s", e->store->tmp_dir);
    }
  return 0;
}

/* --as-image: the template as a regular OCI image, a layer per template
 * (imgexport.h). */
static int
push_image (struct reg_engine *e, struct source *s, const struct reg_oci_ref *ref, const char *tmpl,
            const char *staging, json_t *pushed, struct reg_error **err)
{
  struct reg_imgexport x;
  _cleanup_free_ char *refstr = reg_oci_ref_string (ref);
  if (refstr == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_imgexport_build (e->root, e->store, tmpl, staging, &x, err) < 0)
    return reg_error_prefix (err, "push %s to %s", tmpl, refstr);
  struct job *jobs = NULL;
  size_t n = 0;
  int ret = add_job (&jobs, &n, s, ref->repo, x.config_hex, x.config_size, x.config_path, err);
  for (size_t i = 0; ret == 0 && i < x.n_layers; i++)
    ret = add_job (&jobs, &n, s, ref->repo, x.layers[i].hex, x.layers[i].size, x.layers[i].path,
                   err);
  if (ret == 0)
    ret = run_jobs (jobs, n, push_job, err);
  size_t len = strlen (x.manifest);
  if (ret == 0)
    ret = s->layout
              ? reg_layout_put_manifest (s->layout, ref->repo, ref->tag, x.manifest, len, err)
              : reg_registry_manifest_put (s->registry, ref->repo, ref->tag, x.manifest, len, err);
  if (ret == 0 && s->registry)
    for (size_t i = 0; i < n; i++)
      record_pushed (e, s, ref->repo, jobs[i].hex);
  if (ret == 0)
    {
      unsigned char raw[32];
      char hex[65], digest[72];
      SHA256 ((const unsigned char *)x.manifest, len, raw);
      reg_util_hex (raw, 32, hex);
      snprintf (digest, sizeof digest, "sha256:%s", hex);
      event (s, hex, "pushed", 0, 0);
      json_array_append_new (
          pushed, json_pack ("{s:s, s:s, s:s}", "Template", tmpl, "Ref", refstr, "Digest", digest));
    }
  jobs_free (jobs, n);
  reg_imgexport_clear (&x);
  return ret < 0 ? reg_error_prefix (err, "push %s to %s", tmpl, refstr) : 0;
}

static pthread_mutex_t push_lock = PTHREAD_MUTEX_INITIALIZER;

int
reg_transfer_push (struct reg_engine *e, const struct reg_transfer_options *o, json_t **result,
                   struct reg_error **err)
{
  struct reg_oci_ref *ref = NULL;
  if (o->tmpl == NULL || reg_oci_ref_parse (o->ref, &ref, err) < 0)
    return o->tmpl ? -1 : reg_error_set (err, EINVAL, "push: NAME@VERSION is required");
  if (ref->digest != NULL)
    {
      reg_oci_ref_free (ref);
      return reg_error_set (err, EINVAL,
                            "push %s: a push needs a tag to name, not a digest (REPO:TAG)", o->ref);
    }
  struct reg_template *check = NULL;
  if (reg_template_load (e->root, o->tmpl, &check, err) < 0)
    {
      reg_oci_ref_free (ref);
      return -1;
    }
  reg_template_free (check);
  struct source s;
  _cleanup_free_ char *staging = NULL;
  json_t *pushed = json_array ();
  /* One push at a time: the mount records and push_engine are shared. */
  pthread_mutex_lock (&push_lock);
  push_engine = e;
  int ret = source_open (e, o, ref, &s, err);
  if (ret == 0)
    ret = make_staging (e, "push", &staging, err);
  if (ret == 0)
    ret = o->as_image ? push_image (e, &s, ref, o->tmpl, staging, pushed, err)
                      : push_tree (e, &s, ref, o->tmpl, staging, pushed, 0, err);
  if (staging)
    reg_util_rm_rf (staging, NULL);
  pthread_mutex_unlock (&push_lock);
  if (ret == 0)
    *result = json_pack ("{s:o, s:i, s:i, s:i, s:I}", "Pushed", json_incref (pushed), "Uploaded",
                         s.moved, "Mounted", s.mounted, "Existing", s.skipped, "Bytes",
                         (json_int_t)s.bytes);
  json_decref (pushed);
  source_close (&s);
  reg_oci_ref_free (ref);
  return ret;
}

/* ---- pull ---- */

struct pulled
{
  char *ref;  /* where it came from */
  char *name; /* name@version */
  struct reg_template *t;
  bool saved;
};

struct pull
{
  struct reg_engine *e;
  struct source s;
  char *staging;
  struct pulled *list;
  size_t n;
  struct job *jobs;
  size_t n_jobs;
  char *root; /* name@version of the template the reference names */
  /* An image (image.h): its manifest and the template its config began;
   * the layers become the files after the download (build_image). */
  struct reg_oci_manifest *image;
  struct reg_template *image_t;
  char *image_what;
  char image_manifest[65]; /* its digest */
  json_t **layer_ops;      /* per layer: its recorded entries (cached, or as applied) */
  bool *layer_cached;      /* per layer: replayed from <root>/images/layers, not fetched */
  bool image_present;      /* recorded as the source of the local template */
  struct reg_layer_dropped dropped;
};

/* Copy a layout blob into dst, checking size and digest. */
static int
copy_verified (struct job *j, const char *src, struct reg_error **err)
{
  _cleanup_close_ int in = open (src, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return reg_error_sys (err, errno, "layout %s: blob sha256:%s", j->s->layout->dir, j->hex);
  _cleanup_close_ int out = open (j->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0)
    return reg_error_sys (err, errno, "staging %s", j->path);
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  EVP_DigestInit_ex (md, EVP_sha256 (), NULL);
  char buf[65536];
  ssize_t got;
  int64_t total = 0;
  while ((got = read (in, buf, sizeof buf)) > 0 && total + got <= j->size)
    {
      total += got;
      EVP_DigestUpdate (md, buf, got);
      if (reg_util_write_all (out, buf, got) < 0)
        break;
      job_progress (j, total, j->size);
    }
  unsigned char raw[32];
  char hex[65];
  EVP_DigestFinal_ex (md, raw, NULL);
  EVP_MD_CTX_free (md);
  reg_util_hex (raw, 32, hex);
  const char *what = j->s->layout->dir;
  if (got > 0)
    return reg_error_set (err, EIO,
                          "layout %s: blob sha256:%s: more than the %lld bytes the "
                          "manifest declares",
                          what, j->hex, (long long)j->size);
  if (got < 0)
    return reg_error_sys (err, errno, "layout %s: blob sha256:%s", what, j->hex);
  if (total < j->size)
    return reg_error_set (err, EIO, "layout %s: blob sha256:%s: truncated: got %lld of %lld bytes",
                          what, j->hex, (long long)total, (long long)j->size);
  if (strcmp (hex, j->hex) != 0)
    return reg_error_set (err, EIO,
                          "layout %s: blob sha256:%s: digest mismatch: content has sha256:%s "
                          "(corrupt or tampered)",
                          what, j->hex, hex);
  return 0;
}

static int
fetch_blob (struct job *j, struct reg_error **err)
{
  struct source *s = j->s;
  if (s->layout)
    {
      _cleanup_free_ char *src = reg_layout_blob_path (s->layout, j->hex);
      return src ? copy_verified (j, src, err) : reg_error_set (err, ENOMEM, "out of memory");
    }
  _cleanup_close_ int fd = open (j->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return reg_error_sys (err, errno, "staging %s", j->path);
  return reg_registry_blob_get (s->registry, j->repo, j->hex, j->size, fd, job_progress, j, err);
}

static int
pull_job (struct job *j, struct reg_error **err)
{
  if (fetch_blob (j, err) < 0)
    return -1;
  struct timespec times[2] = { { 0, UTIME_OMIT }, { j->mtime, 0 } };
  if (j->mtime > 0 && utimensat (AT_FDCWD, j->path, times, 0) < 0)
    return reg_error_sys (err, errno, "staging %s", j->path);
  if (j->unpack)
    {
      struct reg_bundle_limits limits = REG_BUNDLE_LIMITS_DEFAULT;
      _cleanup_strv_ char **objects = NULL;
      if (mkdir (j->unpack, 0700) < 0)
        return reg_error_sys (err, errno, "staging %s", j->unpack);
      if (reg_bundle_unpack (j->path, j->unpack, &limits, &objects, err) < 0)
        return reg_error_prefix (err, "files blob sha256:%s", j->hex);
    }
  event (j->s, j->hex, "downloaded", j->size, j->size);
  pthread_mutex_lock (&j->s->lock);
  j->s->moved++;
  j->s->bytes += j->size;
  pthread_mutex_unlock (&j->s->lock);
  return 0;
}

/* staging/keep-NAME: where a pull keeps an object it found present. */
static char *
kept_path (const struct pull *p, const struct reg_entry *f)
{
  char *path = NULL;
  _cleanup_free_ char *name = reg_store_name (f->value, f->kind == REG_ENTRY_EXEC);
  if (name == NULL || asprintf (&path, "%s/keep-%s", p->staging, name) < 0)
    return NULL;
  return path;
}

/* Is the object in the store? Then it is hard-linked into the staging
 * directory, so that a prune running before the commit (the object may be
 * garbage now: a removed template's) cannot take it away from this pull:
 * the commit puts it back from there (store_entry). */
static bool
object_present (const struct pull *p, const struct reg_entry *f)
{
  _cleanup_free_ char *obj
      = reg_store_object_path (p->e->store, f->value, f->kind == REG_ENTRY_EXEC);
  _cleanup_free_ char *kept = kept_path (p, f);
  return obj && kept && (link (obj, kept) == 0 || errno == EEXIST);
}

static int
add_pull_job (struct pull *p, const char *repo, const struct reg_oci_desc *d, bool bundle,
              struct reg_error **err)
{
  _cleanup_free_ char *path = NULL;
  if (asprintf (&path, "%s/blob-%s", p->staging, d->digest) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  size_t before = p->n_jobs;
  if (add_job (&p->jobs, &p->n_jobs, &p->s, repo, d->digest, d->size, path, err) < 0)
    return -1;
  if (p->n_jobs > before && bundle
      && asprintf (&p->jobs[before].unpack, "%s/files-%s", p->staging, d->digest) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (p->n_jobs > before)
    p->jobs[before].mtime = d->mtime;
  return 0;
}

static const struct reg_oci_desc *
find_layer (const struct reg_oci_manifest *m, const char *type, const char *hex)
{
  for (size_t k = 0; k < m->n_layers; k++)
    if (strcmp (m->layers[k].media_type, type) == 0
        && (hex == NULL || strcmp (m->layers[k].digest, hex) == 0))
      return &m->layers[k];
  return NULL;
}

static bool
job_queued (const struct pull *p, const char *hex)
{
  for (size_t i = 0; i < p->n_jobs; i++)
    if (strcmp (p->jobs[i].hex, hex) == 0)
      return true;
  return false;
}

/* The template's files: each missing object from its file layer; *missing
 * when some object has none (then it must be in the files blob). A file
 * layer that is none of the template's files is refused. */
static int
plan_file_layers (struct pull *p, const struct reg_oci_ref *ref, const struct reg_oci_manifest *m,
                  const struct reg_template *t, const char *what, bool *missing,
                  struct reg_error **err)
{
  *missing = false;
  for (size_t i = 0; i < t->n_files; i++)
    {
      const struct reg_entry *f = &t->files[i];
      if (f->kind != REG_ENTRY_FILE && f->kind != REG_ENTRY_EXEC)
        continue;
      char hex[65];
      snprintf (hex, sizeof hex, "%.64s", f->value); /* a variant's content */
      const struct reg_oci_desc *d = find_layer (m, REG_OCI_FILE_TYPE, hex);
      if (object_present (p, f))
        continue;
      if (d == NULL)
        *missing = true;
      else if (add_pull_job (p, ref->repo, d, false, err) < 0)
        return -1;
    }
  for (size_t k = 0; k < m->n_layers; k++)
    {
      const struct reg_oci_desc *d = &m->layers[k];
      if (strcmp (d->media_type, REG_OCI_FILE_TYPE) != 0)
        continue;
      bool used = false;
      for (size_t i = 0; i < t->n_files && !used; i++)
        used = (t->files[i].kind == REG_ENTRY_FILE || t->files[i].kind == REG_ENTRY_EXEC)
               && strncmp (t->files[i].value, d->digest, 64) == 0;
      if (!used)
        return reg_error_set (err, EINVAL,
                              "%s: file layer sha256:%s is none of the template's files", what,
                              d->digest);
      if (!job_queued (p, d->digest))
        event (&p->s, d->digest, "present", 0, 0);
    }
  return 0;
}

/* Plan the blobs of one template: those whose objects the store lacks. */
static int
plan_layers (struct pull *p, const struct reg_oci_ref *ref, const struct reg_oci_manifest *m,
             const struct reg_template *t, const char *what, struct reg_error **err)
{
  for (size_t i = 0; i < t->n_libs; i++)
    {
      const struct reg_lib *l = &t->libs[i];
      const struct reg_oci_desc *d = NULL;
      for (size_t k = 0; k < m->n_layers && d == NULL; k++)
        if (strcmp (m->layers[k].media_type, REG_OCI_LIB_TYPE) == 0
            && strcmp (m->layers[k].digest, l->entry.value) == 0)
          d = &m->layers[k];
      if (d == NULL)
        return reg_error_set (err, EINVAL, "%s: lib %s (sha256:%s) has no layer in the manifest",
                              what, l->name, l->entry.value);
      if (object_present (p, &l->entry))
        event (&p->s, d->digest, "present", 0, 0);
      else if (add_pull_job (p, ref->repo, d, false, err) < 0)
        return -1;
    }
  bool missing = false;
  if (plan_file_layers (p, ref, m, t, what, &missing, err) < 0)
    return -1;
  if (missing && find_layer (m, REG_OCI_FILES_TYPE, NULL) == NULL)
    return reg_error_set (err, EINVAL, "%s: some of the template's files are in none of its layers",
                          what);
  for (size_t k = 0; k < m->n_layers; k++)
    if (strcmp (m->layers[k].media_type, REG_OCI_FILES_TYPE) == 0)
      {
        if (!missing)
          event (&p->s, m->layers[k].digest, "present", 0, 0);
        else if (add_pull_job (p, ref->repo, &m->layers[k], true, err) < 0)
          return -1;
      }
  return 0;
}

static int
get_manifest (struct pull *p, const struct reg_oci_ref *ref, const char *what, char **text,
              size_t *len, struct reg_error **err)
{
  /* A layout checks a manifest against the digest it finds it by. */
  if (p->s.layout)
    return reg_layout_get_manifest (p->s.layout, ref->repo, reg_oci_ref_reference (ref), text, len,
                                    err);
  _cleanup_free_ char *media_type = NULL;
  if (reg_registry_manifest_get (p->s.registry, ref->repo, reg_oci_ref_reference (ref), text, len,
                                 &media_type, err)
      < 0)
    return -1;
  if (ref->digest)
    {
      unsigned char raw[32];
      char got[65];
      SHA256 ((const unsigned char *)*text, *len, raw);
      reg_util_hex (raw, 32, got);
      if (strcmp (got, ref->digest + 7) != 0)
        {
          free (*text);
          *text = NULL;
          return reg_error_set (
              err, EIO, "%s: digest mismatch: the registry's manifest has sha256:%s", what, got);
        }
    }
  static const char *const types[] = { REG_OCI_MANIFEST_TYPE, REG_OCI_INDEX_TYPE,
                                       REG_IMAGE_DOCKER_MANIFEST, REG_IMAGE_DOCKER_LIST };
  bool known = media_type == NULL;
  for (size_t i = 0; i < 4 && !known; i++)
    known = strncmp (media_type, types[i], strlen (types[i])) == 0;
  if (!known)
    {
      free (*text);
      *text = NULL;
      return reg_error_set (err, EINVAL,
                            "%s: manifest of media type %s is neither a reg template (%s) nor an "
                            "image",
                            what, media_type, REG_OCI_MANIFEST_TYPE);
    }
  return 0;
}

/* Fetch and check the RET file a manifest's config carries. */
static int
get_template (struct pull *p, const struct reg_oci_ref *ref, const struct reg_oci_manifest *m,
              const char *what, struct reg_template **out, struct reg_error **err)
{
  struct job j = { .s = &p->s, .size = m->config.size, .repo = (char *)ref->repo, .silent = true };
  snprintf (j.hex, sizeof j.hex, "%s", m->config.digest);
  if (asprintf (&j.path, "%s/config-%zu", p->staging, p->n) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  _cleanup_free_ char *text = NULL;
  size_t len;
  int ret = fetch_blob (&j, err);
  if (ret == 0)
    ret = reg_util_read_file (j.path, REG_OCI_MAX_CONFIG, &text, &len, err);
  free (j.path);
  if (ret == 0)
    ret = reg_template_parse (text, len, what, out, err);
  return ret < 0 ? reg_error_prefix (err, "%s: config sha256:%s", what, m->config.digest) : 0;
}

static bool
already_queued (struct pull *p, const char *name)
{
  for (size_t i = 0; i < p->n; i++)
    if (strcmp (p->list[i].name, name) == 0)
      return true;
  return false;
}

/* A manifest named by digest in the reference's repository (an index's
 * child): from a registry by digest, from a layout as a blob; either way
 * its bytes must hash to it. */
static int
get_child_manifest (struct pull *p, const struct reg_oci_ref *ref, const char *hex,
                    const char *what, char **text, size_t *len, struct reg_error **err)
{
  struct reg_oci_ref child = *ref;
  char digest[72];
  snprintf (digest, sizeof digest, "sha256:%s", hex);
  child.digest = digest;
  if (p->s.registry)
    return get_manifest (p, &child, what, text, len, err);
  struct job j = { .s = &p->s, .size = REG_OCI_MAX_MANIFEST, .repo = (char *)ref->repo };
  snprintf (j.hex, sizeof j.hex, "%s", hex);
  _cleanup_free_ char *src = reg_layout_blob_path (p->s.layout, hex);
  if (src == NULL || asprintf (&j.path, "%s/manifest-%s", p->staging, hex) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  struct stat st;
  int ret
      = stat (src, &st) < 0 ? reg_error_sys (err, errno, "%s: manifest sha256:%s", what, hex) : 0;
  j.size = ret == 0 ? st.st_size : 0;
  if (ret == 0 && j.size > REG_OCI_MAX_MANIFEST)
    ret = reg_error_set (err, EFBIG, "%s: manifest sha256:%s is over %d bytes", what, hex,
                         REG_OCI_MAX_MANIFEST);
  if (ret == 0)
    ret = copy_verified (&j, src, err);
  if (ret == 0)
    ret = reg_util_read_file (j.path, REG_OCI_MAX_MANIFEST, text, len, err);
  free (j.path);
  return ret;
}

/* <root>/images/<name@version>: "<manifest hex> <template digest>" of the
 * image a template was made from, so pulling the same image again (and
 * `reg run -t IMAGE`) downloads nothing while the template is unchanged. */
static char *
image_record_path (const struct pull *p)
{
  return reg_root_path (p->e->root, REG_ROOT_IMAGE, p->root, NULL);
}

static bool
image_recorded (const struct pull *p)
{
  _cleanup_free_ char *path = image_record_path (p), *text = NULL;
  size_t len;
  struct reg_template *local = NULL;
  char digest[65] = "", want[200];
  if (path == NULL || reg_util_read_file (path, 256, &text, &len, NULL) < 0
      || reg_template_load (p->e->root, p->root, &local, NULL) < 0)
    return false;
  int ret = reg_template_digest (local, digest, NULL);
  reg_template_free (local);
  snprintf (want, sizeof want, "%s %s\n", p->image_manifest, digest);
  return ret == 0 && strcmp (text, want) == 0;
}

static void
image_record (const struct pull *p, const struct reg_template *t)
{
  _cleanup_free_ char *path = image_record_path (p);
  _cleanup_free_ char *dir = reg_root_path (p->e->root, REG_ROOT_IMAGES, NULL, NULL);
  char digest[65], text[200];
  if (path == NULL || dir == NULL || reg_template_digest (t, digest, NULL) < 0)
    return;
  (void)mkdir (dir, 0700);
  snprintf (text, sizeof text, "%s %s\n", p->image_manifest, digest);
  (void)reg_util_write_atomic (path, text, strlen (text), 0600, NULL); /* a cache: best effort */
}

/* <root>/images/layers/<blob hex>.json: the entries of a layer this engine
 * applied (reg_layer_apply's record). A layer whose record is there and
 * all of whose objects are in the store is replayed, not downloaded. */
static char *
layer_cache_path (const struct pull *p, const char *hex)
{
  return reg_root_path (p->e->root, REG_ROOT_IMAGE_LAYER, hex, NULL);
}

static json_t *
layer_cache_load (const struct pull *p, const char *hex)
{
  _cleanup_free_ char *path = layer_cache_path (p, hex);
  json_t *ops = path ? json_load_file (path, JSON_REJECT_DUPLICATES, NULL) : NULL;
  size_t i;
  json_t *j;
  json_array_foreach (ops, i, j)
  {
    const char *t = json_string_value (json_object_get (j, "t"));
    const char *v = json_string_value (json_object_get (j, "v"));
    unsigned mode = (unsigned)json_integer_value (json_object_get (j, "m"));
    _cleanup_free_ char *value = NULL;
    bool file = t && strcmp (t, "f") == 0;
    /* "x": recorded before RET format 4, without the capability (layer.c). */
    bool old = json_object_get (j, "x") != NULL;
    if (file && v && reg_util_is_sha256_hex (v))
      (void)reg_layer_file_value (v, mode, (unsigned)json_integer_value (json_object_get (j, "u")),
                                  (unsigned)json_integer_value (json_object_get (j, "g")),
                                  json_string_value (json_object_get (j, "c")), &value);
    struct reg_entry f = { .value = value, .kind = mode & 0111 ? REG_ENTRY_EXEC : REG_ENTRY_FILE };
    /* object_present keeps it in staging: a prune before the commit cannot take it. */
    if (old || (file && (value == NULL || !object_present (p, &f))))
      {
        json_decref (ops);
        return NULL; /* an object went (prune), or an old record: fetch the layer again */
      }
  }
  if (!json_is_array (ops))
    {
      json_decref (ops);
      return NULL;
    }
  return ops;
}

/* Record the layers this pull applied; a cache, so best effort. */
static void
layer_cache_save (const struct pull *p)
{
  _cleanup_free_ char *dir = reg_root_path (p->e->root, REG_ROOT_IMAGE_LAYERS, NULL, NULL);
  if (dir == NULL || reg_util_mkdir_p (dir, 0700, NULL) < 0)
    return;
  for (size_t i = 0; i < p->image->n_layers; i++)
    {
      if (p->layer_cached[i] || p->layer_ops[i] == NULL)
        continue;
      _cleanup_free_ char *path = layer_cache_path (p, p->image->layers[i].digest);
      _cleanup_free_ char *text = json_dumps (p->layer_ops[i], JSON_COMPACT);
      if (path && text)
        (void)reg_util_write_atomic (path, text, strlen (text), 0600, NULL);
    }
}

/* An image manifest: fetch and apply its config, plan its layers. */
static int
resolve_image (struct pull *p, const struct reg_oci_ref *ref, const char *text, size_t len,
               const char *what, struct reg_error **err)
{
  struct reg_oci_manifest *m = NULL;
  if (reg_image_manifest_parse (text, len, what, &m, err) < 0)
    return -1;
  p->image = m;
  struct reg_template *t = p->image_t = calloc (1, sizeof *t);
  if (t == NULL || (p->image_what = strdup (what)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_image_template_ref (ref, &t->name, &t->version, err) < 0)
    return -1;
  struct job j = { .s = &p->s, .size = m->config.size, .repo = (char *)ref->repo, .silent = true };
  snprintf (j.hex, sizeof j.hex, "%s", m->config.digest);
  if (asprintf (&j.path, "%s/config-image", p->staging) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  _cleanup_free_ char *config = NULL;
  size_t clen, n_diff = 0;
  int ret = fetch_blob (&j, err);
  if (ret == 0)
    ret = reg_util_read_file (j.path, REG_OCI_MAX_CONFIG, &config, &clen, err);
  free (j.path);
  if (ret == 0)
    ret = reg_image_config_apply (config, clen, what, t, &n_diff, err);
  if (ret < 0)
    return reg_error_prefix (err, "config sha256:%s", m->config.digest);
  if (n_diff != m->n_layers)
    return reg_error_set (err, EINVAL, "%s: the config lists %zu layers, the manifest %zu", what,
                          n_diff, m->n_layers);
  if (asprintf (&p->root, "%s@%s", t->name, t->version) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  unsigned char raw[32];
  SHA256 ((const unsigned char *)text, len, raw);
  reg_util_hex (raw, 32, p->image_manifest);
  if (image_recorded (p))
    {
      event (&p->s, p->image_manifest, "present", 0, 0);
      p->image_present = true;
      return 0;
    }
  p->layer_ops = calloc (m->n_layers + 1, sizeof *p->layer_ops);
  p->layer_cached = calloc (m->n_layers + 1, sizeof *p->layer_cached);
  if (p->layer_ops == NULL || p->layer_cached == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; i < m->n_layers; i++)
    {
      const char *hex = m->layers[i].digest;
      bool dup = false; /* the same blob twice: one download, applied twice */
      for (size_t k = 0; k < i && !dup; k++)
        dup = strcmp (m->layers[k].digest, hex) == 0 && p->layer_cached[k];
      if ((p->layer_ops[i] = layer_cache_load (p, hex)) != NULL)
        {
          p->layer_cached[i] = true;
          if (!dup)
            event (&p->s, hex, "present", 0, 0);
        }
      else if (add_pull_job (p, ref->repo, &m->layers[i], false, err) < 0)
        return -1;
    }
  return 0;
}

/* Docker makes an image's WorkingDir when its layers lack it; the
 * template then lists it as a directory. */
static int
workdir_entry (struct reg_template *t, struct reg_error **err)
{
  if (t->workdir == NULL)
    return 0;
  size_t n = strlen (t->workdir);
  for (size_t i = 0; i < t->n_files; i++)
    if (strncmp (t->files[i].path, t->workdir, n) == 0
        && (t->files[i].path[n] == '\0' || t->files[i].path[n] == '/'))
      return 0;
  struct reg_entry *grown = realloc (t->files, (t->n_files + 1) * sizeof *grown);
  if (grown == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  t->files = grown;
  grown[t->n_files] = (struct reg_entry){ .path = strdup (t->workdir), .kind = REG_ENTRY_DIR };
  return grown[t->n_files++].path ? 0 : reg_error_set (err, ENOMEM, "out of memory");
}

/* After the download: the layers, in order, become the template's files
 * (their objects staged in staging/obj); it joins the list to commit
 * unless the same template is here already. */
static int
build_image (struct pull *p, struct reg_error **err)
{
  struct reg_template *t = p->image_t;
  struct reg_layer_tree *tree = NULL;
  _cleanup_free_ char *obj_dir = NULL;
  if (asprintf (&obj_dir, "%s/obj", p->staging) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (mkdir (obj_dir, 0700) < 0)
    return reg_error_sys (err, errno, "staging %s", obj_dir);
  if (reg_layer_tree_new (&tree, err) < 0)
    return -1;
  struct reg_bundle_limits limits = REG_BUNDLE_LIMITS_DEFAULT;
  int ret = 0;
  for (size_t i = 0; ret == 0 && i < p->image->n_layers; i++)
    {
      const char *hex = p->image->layers[i].digest;
      _cleanup_free_ char *blob = NULL;
      if (asprintf (&blob, "%s/blob-%s", p->staging, hex) < 0)
        ret = reg_error_set (err, ENOMEM, "out of memory");
      else if (p->layer_cached[i]
                   ? reg_layer_replay (tree, p->layer_ops[i], err) < 0
                   : reg_layer_apply (tree, blob, obj_dir, &limits, &p->layer_ops[i], err) < 0)
        ret = reg_error_prefix (err, "%s: layer %zu sha256:%s", p->image_what, i, hex);
      else
        event (&p->s, hex, "applied", 0, 0);
    }
  bool format2;
  if (ret == 0)
    ret = reg_layer_tree_entries (tree, &t->files, &t->n_files, &format2, err);
  if (ret == 0)
    p->dropped = *reg_layer_tree_dropped (tree);
  if (ret == 0)
    ret = workdir_entry (t, err);
  reg_layer_tree_free (tree);
  if (ret == 0 && reg_template_normalize (t, err) < 0)
    ret = reg_error_prefix (err, "%s", p->image_what);
  if (ret < 0)
    return -1;
  struct reg_template *local = NULL;
  if (reg_template_load (p->e->root, p->root, &local, NULL) == 0)
    {
      char a[65] = "", b[65] = "";
      reg_template_digest (local, a, NULL);
      reg_template_digest (t, b, NULL);
      reg_template_free (local);
      if (strcmp (a, b) != 0)
        return reg_error_set (err, EEXIST,
                              "%s: template %s exists here with another digest (sha256:%.12s, "
                              "pulled sha256:%.12s); remove it first",
                              p->image_what, p->root, a, b);
      event (&p->s, b, "present", 0, 0);
      image_record (p, t);
      return 0;
    }
  struct pulled *grown = realloc (p->list, (p->n + 1) * sizeof *grown);
  if (grown == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  p->list = grown;
  grown[p->n++]
      = (struct pulled){ .ref = strdup (p->image_what), .name = strdup (p->root), .t = t };
  p->image_t = NULL;
  return 0;
}

/* The manifest names (annotation) a template this engine has with the
 * config's digest, which is the template's: then it is here, with all it
 * requires, and its RET file need not be fetched (a Python base's is
 * hundreds of KB, fetched again by every pull of an app on it). The name
 * is not taken on trust: only a local template whose digest is the
 * config's matches. Returns 1 when present (at depth 0 it becomes the
 * pull's root), 0 otherwise. */
static int
present_by_manifest (struct pull *p, const struct reg_oci_manifest *m, int depth)
{
  struct reg_template *local = NULL;
  char digest[65] = "";
  if (m->template_ref == NULL || reg_template_load (p->e->root, m->template_ref, &local, NULL) < 0)
    return 0;
  reg_template_digest (local, digest, NULL);
  reg_template_free (local);
  if (strcmp (digest, m->config.digest) != 0)
    return 0;
  event (&p->s, digest, "present", 0, 0);
  if (depth == 0 && (p->root = strdup (m->template_ref)) == NULL)
    return -1;
  return 1;
}

/* Resolve one reference: manifest, RET file, plan; recurse into requires. */
static int
resolve (struct pull *p, const struct reg_oci_ref *ref, int depth, struct reg_error **err)
{
  _cleanup_free_ char *what = reg_oci_ref_string (ref), *text = NULL, *name = NULL;
  size_t len;
  if (what == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (depth > MAX_DEPTH)
    return reg_error_set (err, ELOOP, "%s: requires nest deeper than %d", what, MAX_DEPTH);
  if (p->n >= MAX_TEMPLATES)
    return reg_error_set (err, EFBIG, "%s: more than %d templates in one pull", what,
                          MAX_TEMPLATES);
  struct reg_oci_manifest *m = NULL;
  struct reg_template *t = NULL;
  enum reg_image_kind kind = REG_IMAGE_TEMPLATE;
  if (get_manifest (p, ref, what, &text, &len, err) < 0
      || reg_image_kind (text, len, what, &kind, err) < 0)
    return -1;
  if (kind == REG_IMAGE_INDEX)
    {
      char hex[65];
      _cleanup_free_ char *child = NULL;
      if (reg_image_index_select (text, len, what, hex, err) < 0
          || get_child_manifest (p, ref, hex, what, &child, &len, err) < 0
          || reg_image_kind (child, len, what, &kind, err) < 0)
        return -1;
      if (kind != REG_IMAGE_MANIFEST)
        return reg_error_set (err, EINVAL, "%s: index entry sha256:%s is not an image manifest",
                              what, hex);
      free (text);
      text = reg_steal (&child);
    }
  if (kind == REG_IMAGE_MANIFEST && depth > 0)
    return reg_error_set (err, EINVAL, "%s: an image, not a template, where a template is required",
                          what);
  if (kind == REG_IMAGE_MANIFEST)
    return resolve_image (p, ref, text, len, what, err);
  if (reg_oci_manifest_parse (text, len, what, &m, err) < 0)
    return -1;
  int here = present_by_manifest (p, m, depth);
  if (here != 0)
    {
      reg_oci_manifest_free (m);
      return here > 0 ? 0 : reg_error_set (err, ENOMEM, "out of memory");
    }
  if (get_template (p, ref, m, what, &t, err) < 0)
    {
      reg_oci_manifest_free (m);
      return -1;
    }
  int ret = asprintf (&name, "%s@%s", t->name, t->version) < 0 ? -1 : 0;
  if (ret == 0 && depth == 0 && (p->root = strdup (name)) == NULL)
    ret = -1;
  if (ret < 0)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  struct reg_template *local = NULL;
  bool present = false;
  if (ret == 0 && already_queued (p, name))
    present = true;
  else if (ret == 0 && reg_template_load (p->e->root, name, &local, NULL) == 0)
    {
      char a[65] = "", b[65] = "";
      reg_template_digest (local, a, NULL);
      reg_template_digest (t, b, NULL);
      reg_template_free (local);
      if (strcmp (a, b) != 0)
        ret = reg_error_set (err, EEXIST,
                             "%s: template %s exists here with another digest (sha256:%.12s, "
                             "pulled sha256:%.12s); remove it first",
                             what, name, a, b);
      present = true;
      if (ret == 0)
        event (&p->s, b, "present", 0, 0);
    }
  if (ret == 0 && !present)
    {
      struct pulled *grown = realloc (p->list, (p->n + 1) * sizeof *grown);
      if (grown == NULL)
        ret = reg_error_set (err, ENOMEM, "out of memory");
      else
        {
          p->list = grown;
          grown[p->n++]
              = (struct pulled){ .ref = strdup (what), .name = reg_steal (&name), .t = t };
          t = NULL;
          ret = plan_layers (p, ref, m, grown[p->n - 1].t, what, err);
          const struct reg_template *pt = grown[p->n - 1].t;
          for (size_t k = 0; ret == 0 && pt->requires && pt->requires[k]; k++)
            {
              _cleanup_free_ char *rn = NULL, *rv = NULL;
              struct reg_oci_ref *sib = NULL;
              ret = reg_template_split_ref (pt->requires[k], &rn, &rv, err);
              if (ret == 0)
                ret = reg_oci_ref_sibling (ref, rn, rv, &sib, err);
              if (ret == 0 && resolve (p, sib, depth + 1, err) < 0)
                ret = reg_error_prefix (err, "required by %s", what);
              reg_oci_ref_free (sib);
              /* list may have moved */
              pt = p->list[p->n - 1].t;
              for (size_t q = 0; q < p->n; q++)
                if (strcmp (p->list[q].ref, what) == 0)
                  pt = p->list[q].t;
            }
        }
    }
  reg_template_free (t);
  reg_oci_manifest_free (m);
  return ret;
}

/* staging/obj/<hex>: one verified copy of every object the pull brought. */
static int
index_objects (struct pull *p, char **obj_dir, struct reg_error **err)
{
  if (asprintf (obj_dir, "%s/obj", p->staging) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (mkdir (*obj_dir, 0700) < 0 && errno != EEXIST) /* an image's objects are there already */
    return reg_error_sys (err, errno, "staging %s", *obj_dir);
  for (size_t i = 0; i < p->n_jobs && p->image == NULL; i++)
    {
      struct job *j = &p->jobs[i];
      char dst[4096];
      if (j->unpack == NULL)
        {
          snprintf (dst, sizeof dst, "%s/%s", *obj_dir, j->hex);
          if (link (j->path, dst) < 0 && errno != EEXIST)
            return reg_error_sys (err, errno, "staging %s", dst);
          continue;
        }
      _cleanup_strv_ char **names = NULL;
      _cleanup_close_ int dfd = open (j->unpack, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0)
        return reg_error_sys (err, errno, "staging %s", j->unpack);
      DIR *d = fdopendir (dup (dfd));
      struct dirent *de;
      while (d && (de = readdir (d)) != NULL)
        {
          if (de->d_name[0] == '.')
            continue;
          char src[4096];
          snprintf (src, sizeof src, "%s/%s", j->unpack, de->d_name);
          snprintf (dst, sizeof dst, "%s/%.64s", *obj_dir, de->d_name);
          if (link (src, dst) < 0 && errno != EEXIST)
            {
              int e = errno;
              closedir (d);
              return reg_error_sys (err, e, "staging %s", dst);
            }
        }
      if (d)
        closedir (d);
    }
  return 0;
}

static int
store_entry (struct pull *p, const struct pulled *pl, const char *obj_dir,
             const struct reg_entry *f, char ***added, size_t *n_added, struct reg_error **err)
{
  bool exec = f->kind == REG_ENTRY_EXEC;
  if (reg_store_has (p->e->store, f->value, exec))
    return 0;
  _cleanup_free_ char *src = NULL, *name = reg_store_name (f->value, exec);
  if (name == NULL || asprintf (&src, "%s/%.64s", obj_dir, f->value) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (access (src, F_OK) < 0)
    {
      /* Present when planned, pruned since: the kept link has it. */
      free (src);
      src = kept_path (p, f);
    }
  if (src == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (access (src, F_OK) < 0)
    return reg_error_set (err, EINVAL,
                          "%s: template %s: object sha256:%.64s (%s) is in none of its blobs",
                          pl->ref, pl->name, f->value, f->path);
  bool created = false;
  struct stat st;
  int linked = p->image && stat (src, &st) == 0
                   ? reg_store_put_host (p->e->store, f->path, name, &st, &created, err)
                   : 0;
  if (linked < 0
      || (linked == 0 && reg_store_put_named (p->e->store, src, name, &created, err) < 0))
    return reg_error_prefix (err, "%s", pl->ref);
  if (!created)
    return 0;
  char **grown = realloc (*added, (*n_added + 2) * sizeof *grown);
  if (grown == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  *added = grown;
  grown[*n_added + 1] = NULL;
  grown[(*n_added)++] = reg_steal (&name);
  return 0;
}

static bool
requires_ready (const struct pull *p, const struct pulled *pl)
{
  for (size_t k = 0; pl->t->requires && pl->t->requires[k]; k++)
    for (size_t i = 0; i < p->n; i++)
      if (!p->list[i].saved && strcmp (p->list[i].name, pl->t->requires[k]) == 0)
        return false;
  return true;
}

static int
save_all (struct pull *p, struct reg_error **err)
{
  size_t left = p->n;
  while (left > 0)
    {
      size_t before = left;
      for (size_t i = 0; i < p->n; i++)
        {
          struct pulled *pl = &p->list[i];
          if (pl->saved || !requires_ready (p, pl))
            continue;
          pthread_mutex_lock (&p->e->lock);
          int ret = reg_template_save (p->e->root, p->e->store, pl->t, err);
          pthread_mutex_unlock (&p->e->lock);
          if (ret < 0)
            return reg_error_prefix (err, "%s", pl->ref);
          pl->saved = true;
          event (&p->s, pl->name, "saved", 0, 0);
          left--;
        }
      if (left == before)
        return reg_error_set (err, ELOOP, "%s: templates require each other in a cycle",
                              p->list[0].ref);
    }
  return 0;
}

static int
commit (struct pull *p, struct reg_error **err)
{
  _cleanup_free_ char *obj_dir = NULL;
  if (index_objects (p, &obj_dir, err) < 0)
    return -1;
  char **added = NULL;
  size_t n_added = 0;
  pthread_mutex_lock (&p->e->import_lock);
  int ret = 0;
  for (size_t i = 0; ret == 0 && i < p->n; i++)
    {
      const struct pulled *pl = &p->list[i];
      for (size_t k = 0; ret == 0 && k < pl->t->n_files; k++)
        if (pl->t->files[k].kind == REG_ENTRY_FILE || pl->t->files[k].kind == REG_ENTRY_EXEC)
          ret = store_entry (p, pl, obj_dir, &pl->t->files[k], &added, &n_added, err);
      for (size_t k = 0; ret == 0 && k < pl->t->n_libs; k++)
        ret = store_entry (p, pl, obj_dir, &pl->t->libs[k].entry, &added, &n_added, err);
    }
  if (ret == 0)
    ret = save_all (p, err);
  if (ret < 0)
    {
      for (size_t i = 0; i < p->n; i++)
        if (p->list[i].saved)
          {
            pthread_mutex_lock (&p->e->lock);
            reg_template_remove (p->e->root, p->list[i].name, NULL);
            pthread_mutex_unlock (&p->e->lock);
            p->list[i].saved = false;
          }
      reg_import_undo (p->e->store, reg_steal (&added));
    }
  pthread_mutex_unlock (&p->e->import_lock);
  reg_strv_free (added);
  return ret;
}

static void
pull_free (struct pull *p)
{
  if (p->staging)
    reg_util_rm_rf (p->staging, NULL);
  free (p->staging);
  for (size_t i = 0; i < p->n; i++)
    {
      free (p->list[i].ref);
      free (p->list[i].name);
      reg_template_free (p->list[i].t);
    }
  free (p->list);
  free (p->root);
  for (size_t i = 0; p->layer_ops && i < p->image->n_layers; i++)
    json_decref (p->layer_ops[i]);
  free (p->layer_ops);
  free (p->layer_cached);
  reg_oci_manifest_free (p->image);
  reg_template_free (p->image_t);
  free (p->image_what);
  jobs_free (p->jobs, p->n_jobs);
  source_close (&p->s);
}

int
reg_transfer_pull (struct reg_engine *e, const struct reg_transfer_options *o, json_t **result,
                   struct reg_error **err)
{
  struct reg_oci_ref *ref = NULL;
  if (reg_oci_ref_parse (o->ref, &ref, err) < 0)
    return -1;
  struct pull p = { .e = e };
  int ret = source_open (e, o, ref, &p.s, err);
  if (ret == 0)
    ret = make_staging (e, "pull", &p.staging, err);
  if (ret == 0)
    ret = resolve (&p, ref, 0, err);
  if (ret == 0)
    ret = run_jobs (p.jobs, p.n_jobs, pull_job, err);
  if (ret == 0 && p.image && !p.image_present)
    ret = build_image (&p, err);
  if (ret == 0)
    ret = commit (&p, err);
  if (ret == 0 && p.image && p.n == 1)
    image_record (&p, p.list[0].t);
  if (ret == 0 && p.image && !p.image_present)
    layer_cache_save (&p);
  if (ret == 0)
    {
      json_t *names = json_array ();
      for (size_t i = 0; i < p.n; i++)
        json_array_append_new (names, json_string (p.list[i].name));
      *result
          = json_pack ("{s:s, s:s, s:o, s:i, s:I}", "Ref", o->ref, "Template", p.root, "Templates",
                       names, "Downloaded", p.s.moved, "Bytes", (json_int_t)p.s.bytes);
      if (*result && p.image)
        json_object_set_new (
            *result, "Dropped",
            json_pack ("{s:I, s:I, s:I, s:s}", "Owners", (json_int_t)p.dropped.owners, "Xattrs",
                       (json_int_t)p.dropped.xattrs, "Hidden", (json_int_t)p.dropped.hidden,
                       "Example", p.dropped.example));
    }
  else
    reg_error_prefix (err, "pull %s", o->ref);
  pull_free (&p);
  reg_oci_ref_free (ref);
  return ret;
}

int
reg_transfer_load (struct reg_engine *e, const struct reg_transfer_options *o, json_t **result,
                   struct reg_error **err)
{
  if (o->archive == NULL || o->archive[0] != '/')
    return reg_error_set (err, EINVAL, "load: the archive must be an absolute path");
  _cleanup_free_ char *staging = NULL, *dir = NULL;
  _cleanup_strv_ char **refs = NULL;
  if (make_staging (e, "load", &staging, err) < 0)
    return reg_error_prefix (err, "load %s", o->archive);
  int ret = asprintf (&dir, "%s/layout", staging) < 0 ? reg_error_set (err, ENOMEM, "out of memory")
                                                      : 0;
  if (ret == 0 && mkdir (dir, 0700) < 0)
    ret = reg_error_sys (err, errno, "staging %s", dir);
  if (ret == 0)
    ret = reg_imgarchive_unpack (o->archive, dir, &refs, err);
  json_t *loaded = json_array (), *names = json_array ();
  for (size_t i = 0; ret == 0 && refs[i]; i++)
    {
      struct reg_transfer_options one = *o;
      one.ref = refs[i];
      one.layout = dir;
      one.archive = NULL;
      json_t *r = NULL;
      ret = reg_transfer_pull (e, &one, &r, err);
      if (ret == 0)
        {
          json_array_append (names, json_object_get (r, "Template"));
          json_array_append_new (loaded, r);
        }
    }
  reg_util_rm_rf (staging, NULL);
  if (ret == 0)
    *result = json_pack ("{s:s, s:O, s:O}", "Archive", o->archive, "Templates", names, "Loaded",
                         loaded);
  json_decref (loaded);
  json_decref (names);
  return ret < 0 ? reg_error_prefix (err, "load %s", o->archive) : 0;
}

int
reg_transfer_tags (struct reg_engine *e, const struct reg_transfer_options *o, char ***tags,
                   struct reg_error **err)
{
  struct reg_oci_ref *ref = NULL;
  if (reg_oci_ref_parse (o->ref, &ref, err) < 0)
    return -1;
  struct source s;
  int ret = source_open (e, o, ref, &s, err);
  if (ret == 0)
    ret = s.layout ? reg_layout_tags (s.layout, ref->repo, tags, err)
                   : reg_registry_tags (s.registry, ref->repo, tags, err);
  source_close (&s);
  reg_oci_ref_free (ref);
  return ret;
}
