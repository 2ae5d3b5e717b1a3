#include "gc.h"
#include "container.h"
#include "envgen.h"
#include "root.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRUNE_PREFIX ".prune-"

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

static bool
sorted_has (char *const *v, size_t n, const char *s)
{
  return v && bsearch (&s, v, n, sizeof (char *), cmp_str) != NULL;
}

/* Sort and drop duplicates in place; the new length. */
static size_t
sort_unique (char **v, size_t n)
{
  if (n == 0)
    return 0;
  qsort (v, n, sizeof (char *), cmp_str);
  size_t k = 1;
  for (size_t i = 1; i < n; i++)
    if (strcmp (v[i], v[k - 1]) == 0)
      free (v[i]);
    else
      v[k++] = v[i];
  v[k] = NULL;
  return k;
}

void
reg_gc_refs_free (struct reg_gc_refs *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; r->templates && r->templates[i]; i++)
    reg_template_free (r->loaded[i]);
  free (r->loaded);
  reg_strv_free (r->templates);
  reg_strv_free (r->objects);
  reg_strv_free (r->used);
  reg_strv_free (r->envs);
  reg_strv_free (r->users);
  free (r);
}

static int
push (char ***v, size_t *n, char *s)
{
  char **grown = s ? realloc (*v, (*n + 2) * sizeof *grown) : NULL;
  if (grown == NULL)
    {
      free (s);
      return -1;
    }
  *v = grown;
  grown[(*n)++] = s;
  grown[*n] = NULL;
  return 0;
}

static char *
object_key (const struct reg_entry *e)
{
  return reg_store_name (e->value, e->kind == REG_ENTRY_EXEC);
}

/* r->objects from the loaded templates. */
static int
collect_objects (struct reg_gc_refs *r, struct reg_error **err)
{
  reg_strv_free (r->objects);
  r->objects = calloc (1, sizeof (char *));
  size_t n = 0;
  int ret = r->objects ? 0 : -1;
  for (size_t i = 0; ret == 0 && r->templates[i]; i++)
    {
      const struct reg_template *t = r->loaded[i];
      for (size_t k = 0; t && ret == 0 && k < t->n_files; k++)
        if (t->files[k].kind == REG_ENTRY_FILE || t->files[k].kind == REG_ENTRY_EXEC)
          ret = push (&r->objects, &n, object_key (&t->files[k]));
      for (size_t k = 0; t && ret == 0 && k < t->n_libs; k++)
        ret = push (&r->objects, &n, object_key (&t->libs[k].entry));
    }
  if (ret < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  r->n_objects = sort_unique (r->objects, n);
  return 0;
}

int
reg_gc_refs_templates (const char *root, bool strict, struct reg_gc_refs **out,
                       struct reg_error **err)
{
  struct reg_gc_refs *r = calloc (1, sizeof *r);
  if (r == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_template_list (root, &r->templates, err) < 0)
    {
      reg_gc_refs_free (r);
      return -1;
    }
  size_t n = reg_strv_len (r->templates);
  r->loaded = calloc (n + 1, sizeof *r->loaded);
  int ret = r->loaded ? 0 : reg_error_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; ret == 0 && i < n; i++)
    {
      /* ENOENT: removed since the listing (reg template rm), so it
       * references nothing any more. */
      struct reg_error *e = NULL;
      if (reg_template_load (root, r->templates[i], &r->loaded[i], &e) < 0 && strict
          && e->code != ENOENT)
        {
          if (err)
            {
              *err = e;
              e = NULL;
            }
          ret = reg_error_prefix (err, "cannot tell what every template references (fix or "
                                       "remove the template)");
        }
      reg_error_free (e);
    }
  if (ret == 0)
    ret = collect_objects (r, err);
  if (ret < 0)
    {
      reg_gc_refs_free (r);
      return -1;
    }
  *out = r;
  return 0;
}

static const struct reg_template *
find_loaded (const struct reg_gc_refs *r, const char *ref)
{
  char *const *hit = r->templates ? bsearch (&ref, r->templates, reg_strv_len (r->templates),
                                             sizeof (char *), cmp_str)
                                  : NULL;
  return hit ? r->loaded[hit - r->templates] : NULL;
}

/* Mark `ref` and what it requires as used by container `id`. */
static int
mark_used (struct reg_gc_refs *r, size_t *n, const char *ref, const char *id, int depth)
{
  for (size_t i = 0; i < *n; i++)
    if (strcmp (r->used[i], ref) == 0)
      return 0;
  size_t before = *n;
  if (push (&r->used, n, strdup (ref)) < 0)
    return -1;
  *n = before;
  if (push (&r->users, n, strndup (id, 12)) < 0)
    return -1;
  const struct reg_template *t = find_loaded (r, ref);
  for (size_t k = 0; t && depth < 64 && t->requires && t->requires[k]; k++)
    if (mark_used (r, n, t->requires[k], id, depth + 1) < 0)
      return -1;
  return 0;
}

/* Sort used and users together, by used. */
static void
sort_used (struct reg_gc_refs *r, size_t n)
{
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && strcmp (r->used[j - 1], r->used[j]) > 0; j--)
      {
        char *u = r->used[j], *c = r->users[j];
        r->used[j] = r->used[j - 1];
        r->users[j] = r->users[j - 1];
        r->used[j - 1] = u;
        r->users[j - 1] = c;
      }
}

int
reg_gc_refs_containers (const char *root, struct reg_gc_refs *r, bool strict,
                        struct reg_error **err)
{
  _cleanup_strv_ char **ids = NULL;
  if (reg_container_list (root, &ids, err) < 0)
    return -1;
  size_t n_used = 0, n_envs = 0;
  int ret = 0;
  for (size_t i = 0; ret == 0 && ids[i]; i++)
    {
      struct reg_container *c = NULL;
      struct reg_error *e = NULL;
      if (reg_container_load (root, ids[i], &c, &e) < 0)
        {
          /* Removed meanwhile (run --rm): it references nothing now. */
          if (strict && e->code != ENOENT)
            {
              ret = reg_error_set (err, e->code,
                                   "cannot tell what every container uses (remove it with rm "
                                   "-f): %s",
                                   e->msg);
            }
          reg_error_free (e);
          continue;
        }
      for (size_t k = 0; ret == 0 && c->templates && c->templates[k]; k++)
        ret = mark_used (r, &n_used, c->templates[k], c->id, 0);
      if (ret == 0 && c->closure[0])
        ret = push (&r->envs, &n_envs, strdup (c->closure));
      /* A layered environment's base (envgen.h) is used with it. */
      char *base = ret == 0 && c->closure[0] ? reg_root_env_base (root, c->closure) : NULL;
      if (base)
        ret = push (&r->envs, &n_envs, base);
      reg_container_free (c);
      if (ret < 0 && (err == NULL || *err == NULL))
        ret = reg_error_set (err, ENOMEM, "out of memory");
    }
  if (ret < 0)
    return -1;
  sort_used (r, n_used);
  sort_unique (r->envs, n_envs);
  return 0;
}

bool
reg_gc_object_named (const struct reg_gc_refs *r, const char *name)
{
  return sorted_has (r->objects, r->n_objects, name);
}

const char *
reg_gc_template_user (const struct reg_gc_refs *r, const char *ref)
{
  size_t n = reg_strv_len (r->used);
  char *const *hit = r->used ? bsearch (&ref, r->used, n, sizeof (char *), cmp_str) : NULL;
  return hit ? r->users[hit - r->used] : NULL;
}

bool
reg_gc_env_used (const struct reg_gc_refs *r, const char *digest)
{
  return sorted_has (r->envs, reg_strv_len (r->envs), digest);
}

/* Does an installed template other than index `skip` require `ref`? */
static bool
required (const struct reg_gc_refs *r, const char *ref, size_t skip)
{
  for (size_t i = 0; r->templates[i]; i++)
    {
      const struct reg_template *t = r->loaded[i];
      for (size_t k = 0; i != skip && t && t->requires && t->requires[k]; k++)
        if (strcmp (t->requires[k], ref) == 0)
          return true;
    }
  return false;
}

int
reg_gc_templates (const char *root, struct reg_gc_refs *r, char ***removed, struct reg_error **err)
{
  *removed = calloc (1, sizeof (char *));
  size_t n = 0;
  if (*removed == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  /* Dependents first: one pass per level of requires. */
  for (bool progress = true; progress;)
    {
      progress = false;
      for (size_t i = 0; r->templates[i]; i++)
        {
          if (r->loaded[i] == NULL || reg_gc_template_user (r, r->templates[i])
              || required (r, r->templates[i], i))
            continue;
          struct reg_error *e = NULL;
          if (reg_template_remove (root, r->templates[i], &e) < 0 && e->code != ENOENT)
            {
              /* (ENOENT: removed meanwhile by reg template rm.) */
              if (err && *err == NULL)
                *err = e;
              else
                reg_error_free (e);
              return -1;
            }
          reg_error_free (e);
          if (push (removed, &n, strdup (r->templates[i])) < 0)
            return reg_error_set (err, ENOMEM, "out of memory");
          reg_template_free (r->loaded[i]);
          r->loaded[i] = NULL;
          progress = true;
        }
    }
  return collect_objects (r, err);
}

static char *
envs_dir (const char *root)
{
  return reg_root_path (root, REG_ROOT_ENVS, NULL, NULL);
}

int
reg_gc_envs_detach (const char *root, const struct reg_gc_refs *r, uint64_t *count,
                    struct reg_error **err)
{
  *count = 0;
  _cleanup_free_ char *dir = envs_dir (root);
  DIR *d = dir ? opendir (dir) : NULL;
  if (d == NULL)
    return dir && errno == ENOENT ? 0 : reg_error_sys (err, errno, "prune: open %s", dir);
  int ret = 0;
  struct dirent *de;
  while (ret == 0 && (de = readdir (d)) != NULL)
    {
      /* Dot entries are generations in progress and earlier detaches. */
      if (de->d_name[0] == '.' || reg_gc_env_used (r, de->d_name))
        continue;
      char to[sizeof PRUNE_PREFIX + 256];
      snprintf (to, sizeof to, PRUNE_PREFIX "%s", de->d_name);
      if (renameat (dirfd (d), de->d_name, dirfd (d), to) < 0)
        ret = reg_error_sys (err, errno, "prune: environment %s", de->d_name);
      else
        (*count)++;
    }
  closedir (d);
  return ret;
}

int
reg_gc_envs_delete (const char *root, struct reg_error **err)
{
  _cleanup_free_ char *dir = envs_dir (root);
  DIR *d = dir ? opendir (dir) : NULL;
  if (d == NULL)
    return dir && errno == ENOENT ? 0 : reg_error_sys (err, errno, "prune: open %s", dir);
  int ret = 0;
  struct dirent *de;
  while (ret == 0 && (de = readdir (d)) != NULL)
    {
      if (strncmp (de->d_name, PRUNE_PREFIX, strlen (PRUNE_PREFIX)) != 0)
        continue;
      _cleanup_free_ char *path = NULL;
      if (asprintf (&path, "%s/%s", dir, de->d_name) < 0)
        ret = reg_error_set (err, ENOMEM, "out of memory");
      else
        ret = reg_util_rm_rf (path, err);
    }
  closedir (d);
  return ret;
}

struct objects_walk
{
  struct reg_store *store;
  const struct reg_gc_refs *r;
  bool remove;
  void (*fn) (const char *path, void *data);
  void *data;
  struct reg_gc_objects *out;
};

static int
visit_object (const char *path, const char *name, const struct stat *st, void *data,
              struct reg_error **err)
{
  struct objects_walk *w = data;
  if (reg_gc_object_named (w->r, name))
    return 0;
  if (w->remove && unlink (path) < 0 && errno != ENOENT)
    return reg_error_sys (err, errno, "prune: object %s", path);
  w->out->objects++;
  w->out->bytes += (uint64_t)st->st_size;
  if (w->fn)
    w->fn (path, w->data);
  return 0;
}

int
reg_gc_objects (struct reg_store *store, const struct reg_gc_refs *r, bool remove,
                void (*fn) (const char *path, void *data), void *data, struct reg_gc_objects *out,
                struct reg_error **err)
{
  memset (out, 0, sizeof *out);
  struct objects_walk w = { store, r, remove, fn, data, out };
  return reg_store_walk (store, visit_object, &w, err);
}
