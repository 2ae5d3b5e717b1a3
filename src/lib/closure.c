#include "closure.h"
#include "util.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* Bumped when the generated layout changes (v2: /etc/passwd and /etc/group
 * generated from the accounts). */
#define CLOSURE_LAYOUT "reg-closure-v2"
#define MAX_DEPTH 64

struct resolver
{
  const char *root;
  struct reg_closure *c;
  char **origin; /* template ref that provided entries[i] */
  size_t cap;
  char *stack[MAX_DEPTH];
  size_t depth;
  char **done;
  char **user_origin, **group_origin; /* template of each account line */
};

void
reg_closure_free (struct reg_closure *c)
{
  if (c == NULL)
    return;
  for (size_t i = 0; i < c->n_entries; i++)
    {
      free (c->entries[i].path);
      free (c->entries[i].value);
    }
  free (c->entries);
  reg_strv_free (c->templates);
  reg_strv_free (c->entrypoint);
  reg_strv_free (c->env);
  reg_strv_free (c->users);
  reg_strv_free (c->groups);
  free (c->workdir);
  free (c->user);
  reg_strv_free (c->volumes);
  reg_strv_free (c->labels);
  reg_health_check_clear (&c->healthcheck);
  reg_strv_free (c->expose);
  free (c);
}

static bool
strv_contains (char *const *v, const char *s)
{
  for (size_t i = 0; v && v[i]; i++)
    if (strcmp (v[i], s) == 0)
      return true;
  return false;
}

static int
strv_push (char ***v, const char *s)
{
  size_t n = reg_strv_len (*v);
  char **nv = realloc (*v, (n + 2) * sizeof *nv);
  if (nv == NULL)
    return -1;
  *v = nv;
  if ((nv[n] = strdup (s)) == NULL)
    return -1;
  nv[n + 1] = NULL;
  return 0;
}

static bool
same_entry (const struct reg_entry *a, const struct reg_entry *b)
{
  if (a->kind != b->kind)
    return false;
  if (a->value == NULL || b->value == NULL)
    return a->value == b->value;
  return strcmp (a->value, b->value) == 0;
}

static int
add_entry (struct resolver *r, const struct reg_entry *e, const char *ref, struct reg_error **err)
{
  struct reg_closure *c = r->c;
  if (c->n_entries == r->cap)
    {
      size_t cap = r->cap ? r->cap * 2 : 256;
      struct reg_entry *ne = realloc (c->entries, cap * sizeof *ne);
      if (ne == NULL)
        return reg_error_set (err, ENOMEM, "resolve: out of memory");
      c->entries = ne;
      char **no = realloc (r->origin, cap * sizeof *no);
      if (no == NULL)
        return reg_error_set (err, ENOMEM, "resolve: out of memory");
      r->origin = no;
      r->cap = cap;
    }
  struct reg_entry *dst = &c->entries[c->n_entries];
  dst->kind = e->kind;
  dst->path = strdup (e->path);
  dst->value = e->value ? strdup (e->value) : NULL;
  r->origin[c->n_entries] = (char *)ref; /* points into r->done, which outlives this */
  c->n_entries++;
  if (dst->path == NULL || (e->value && dst->value == NULL))
    return reg_error_set (err, ENOMEM, "resolve: out of memory");
  return 0;
}

static int
merge_env_into (char ***into, char *const *env)
{
  for (size_t i = 0; env && env[i]; i++)
    {
      size_t key_len = strcspn (env[i], "=");
      size_t n = reg_strv_len (*into);
      size_t j;
      for (j = 0; j < n; j++)
        if (strncmp ((*into)[j], env[i], key_len) == 0 && (*into)[j][key_len] == '=')
          break;
      if (j < n)
        {
          char *dup = strdup (env[i]);
          if (dup == NULL)
            return -1;
          free ((*into)[j]);
          (*into)[j] = dup;
        }
      else if (strv_push (into, env[i]) < 0)
        return -1;
    }
  return 0;
}

static int
merge_env (struct reg_closure *c, char *const *env)
{
  return merge_env_into (&c->env, env);
}

/* workdir, user and healthcheck of t where c has none yet (or always,
 * with `over`: the first given template's win). */
static int
take_defaults (struct reg_closure *c, const struct reg_template *t, bool over)
{
  if (t->workdir && (over || c->workdir == NULL))
    {
      free (c->workdir);
      if ((c->workdir = strdup (t->workdir)) == NULL)
        return -1;
    }
  if (t->user && (over || c->user == NULL))
    {
      free (c->user);
      if ((c->user = strdup (t->user)) == NULL)
        return -1;
    }
  if (t->healthcheck.test && (over || c->healthcheck.test == NULL))
    {
      reg_health_check_clear (&c->healthcheck);
      if (reg_health_check_copy (&c->healthcheck, &t->healthcheck) < 0)
        return -1;
    }
  for (size_t i = 0; !over && t->volumes && t->volumes[i]; i++)
    if (!strv_contains (c->volumes, t->volumes[i]) && strv_push (&c->volumes, t->volumes[i]) < 0)
      return -1;
  return over ? 0 : merge_env_into (&c->labels, t->labels);
}

static int resolve_one (struct resolver *r, const char *ref, struct reg_error **err);

static int
check_cycle (struct resolver *r, const char *ref, struct reg_error **err)
{
  for (size_t i = 0; i < r->depth; i++)
    if (strcmp (r->stack[i], ref) == 0)
      {
        size_t len = 0;
        for (size_t j = i; j < r->depth; j++)
          len += strlen (r->stack[j]) + 4;
        _cleanup_free_ char *chain = calloc (1, len + strlen (ref) + 1);
        if (chain == NULL)
          return reg_error_set (err, ENOMEM, "resolve: out of memory");
        for (size_t j = i; j < r->depth; j++)
          {
            strcat (chain, r->stack[j]);
            strcat (chain, " -> ");
          }
        strcat (chain, ref);
        return reg_error_set (err, ELOOP, "template %s: cyclic requires: %s", r->stack[i], chain);
      }
  if (r->depth == MAX_DEPTH)
    return reg_error_set (err, ELOOP, "template %s: requires nested deeper than %d", ref,
                          MAX_DEPTH);
  return 0;
}

/* Add `lines` to *into, once per account name; the same name with another
 * line is a conflict. `origins` parallels *into. */
static int
merge_accounts (char ***into, char ***origins, char *const *lines, const char *ref,
                const char *what, struct reg_error **err)
{
  for (size_t i = 0; lines && lines[i]; i++)
    {
      size_t n = strcspn (lines[i], ":");
      const char *same = NULL;
      size_t k;
      for (k = 0; *into && (*into)[k] && same == NULL; k++)
        if (strncmp ((*into)[k], lines[i], n + 1) == 0)
          same = (*into)[k];
      if (same && strcmp (same, lines[i]) != 0)
        return reg_error_set (err, EINVAL, "templates %s and %s define %s %.*s differently",
                              (*origins)[k - 1], ref, what, (int)n, lines[i]);
      if (same == NULL && (strv_push (into, lines[i]) < 0 || strv_push (origins, ref) < 0))
        return reg_error_set (err, ENOMEM, "resolve: out of memory");
    }
  return 0;
}

static int
add_template_entries (struct resolver *r, const struct reg_template *t, const char *ref,
                      struct reg_error **err)
{
  if (merge_accounts (&r->c->users, &r->user_origin, t->users, ref, "user", err) < 0
      || merge_accounts (&r->c->groups, &r->group_origin, t->groups, ref, "group", err) < 0)
    return -1;
  for (size_t i = 0; i < t->n_files; i++)
    if (add_entry (r, &t->files[i], ref, err) < 0)
      return -1;
  for (size_t i = 0; i < t->n_libs; i++)
    if (add_entry (r, &t->libs[i].entry, ref, err) < 0)
      return -1;
  if (r->c->entrypoint == NULL && t->entrypoint != NULL
      && (r->c->entrypoint = reg_strv_dup (t->entrypoint)) == NULL)
    return reg_error_set (err, ENOMEM, "resolve: out of memory");
  if (r->c->stop_signal == 0)
    r->c->stop_signal = t->stop_signal;
  if (merge_env (r->c, t->env) < 0 || take_defaults (r->c, t, false) < 0)
    return reg_error_set (err, ENOMEM, "resolve: out of memory");
  for (size_t i = 0; t->expose && t->expose[i]; i++)
    if (!reg_strv_contains ((const char *const *)r->c->expose, t->expose[i])
        && strv_push (&r->c->expose, t->expose[i]) < 0)
      return reg_error_set (err, ENOMEM, "resolve: out of memory");
  return 0;
}

static int
resolve_one (struct resolver *r, const char *ref, struct reg_error **err)
{
  if (strv_contains (r->done, ref))
    return 0;
  if (check_cycle (r, ref, err) < 0)
    return -1;
  struct reg_template *t = NULL;
  if (reg_template_load (r->root, ref, &t, err) < 0)
    {
      if (r->depth > 0)
        reg_error_prefix (err, "template %s requires %s", r->stack[r->depth - 1], ref);
      return -1;
    }
  r->stack[r->depth++] = (char *)ref;
  int ret = 0;
  for (size_t i = 0; ret == 0 && t->requires && t->requires[i]; i++)
    ret = resolve_one (r, t->requires[i], err);
  r->depth--;
  if (ret == 0 && (strv_push (&r->done, ref) < 0 || strv_push (&r->c->templates, ref) < 0))
    ret = reg_error_set (err, ENOMEM, "resolve: out of memory");
  if (ret == 0)
    ret = add_template_entries (r, t, r->done[reg_strv_len (r->done) - 1], err);
  reg_template_free (t);
  return ret;
}

/* Sort entries by path (stable: keeps resolution order within a path) so
 * duplicates are adjacent, then drop identical repeats and reject conflicts. */
struct indexed
{
  struct reg_entry e;
  const char *origin;
  size_t order;
};

static int
cmp_indexed (const void *a, const void *b)
{
  const struct indexed *x = a, *y = b;
  int c = strcmp (x->e.path, y->e.path);
  if (c != 0)
    return c;
  return x->order < y->order ? -1 : x->order > y->order;
}

static int
dedup_entries (struct resolver *r, struct reg_error **err)
{
  struct reg_closure *c = r->c;
  if (c->n_entries == 0)
    return 0;
  struct indexed *ix = calloc (c->n_entries, sizeof *ix);
  if (ix == NULL)
    return reg_error_set (err, ENOMEM, "resolve: out of memory");
  for (size_t i = 0; i < c->n_entries; i++)
    ix[i] = (struct indexed){ c->entries[i], r->origin[i], i };
  qsort (ix, c->n_entries, sizeof *ix, cmp_indexed);
  size_t out = 0;
  int ret = 0;
  for (size_t i = 0; i < c->n_entries; i++)
    {
      if (out > 0 && strcmp (c->entries[out - 1].path, ix[i].e.path) == 0)
        {
          if (ret == 0 && !same_entry (&c->entries[out - 1], &ix[i].e))
            ret = reg_error_set (err, EINVAL,
                                 "templates %s and %s both provide %s with different content",
                                 r->origin[out - 1], ix[i].origin, ix[i].e.path);
          free (ix[i].e.path);
          free (ix[i].e.value);
          continue;
        }
      c->entries[out] = ix[i].e;
      r->origin[out] = (char *)ix[i].origin;
      out++;
    }
  c->n_entries = out;
  free (ix);
  return ret;
}

static const char *
kind_name (enum reg_entry_kind k)
{
  switch (k)
    {
    case REG_ENTRY_FILE:
      return "file";
    case REG_ENTRY_EXEC:
      return "exec";
    case REG_ENTRY_SYMLINK:
      return "symlink";
    default:
      return "dir";
    }
}

static int
compute_digest (struct reg_closure *c, struct reg_error **err)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  if (ctx == NULL || EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL) != 1)
    {
      EVP_MD_CTX_free (ctx);
      return reg_error_set (err, ENOMEM, "resolve: out of memory");
    }
  EVP_DigestUpdate (ctx, CLOSURE_LAYOUT "\n", strlen (CLOSURE_LAYOUT) + 1);
  for (size_t i = 0; i < c->n_entries; i++)
    {
      const struct reg_entry *e = &c->entries[i];
      const char *k = kind_name (e->kind);
      /* NUL separators: paths and targets cannot contain NUL. */
      EVP_DigestUpdate (ctx, e->path, strlen (e->path) + 1);
      EVP_DigestUpdate (ctx, k, strlen (k) + 1);
      if (e->value)
        EVP_DigestUpdate (ctx, e->value, strlen (e->value));
      EVP_DigestUpdate (ctx, "\n", 1);
    }
  /* Accounts after a NUL line: no entry line is empty. */
  for (int g = 0; g < 2; g++)
    {
      char *const *v = g ? c->groups : c->users;
      EVP_DigestUpdate (ctx, "\0", 1);
      for (size_t i = 0; v && v[i]; i++)
        {
          EVP_DigestUpdate (ctx, v[i], strlen (v[i]));
          EVP_DigestUpdate (ctx, "\n", 1);
        }
    }
  unsigned char md[32];
  EVP_DigestFinal_ex (ctx, md, NULL);
  EVP_MD_CTX_free (ctx);
  reg_util_hex (md, 32, c->digest);
  return 0;
}

int
reg_closure_resolve (const char *root, char *const *refs, struct reg_closure **out,
                     struct reg_error **err)
{
  if (refs == NULL || refs[0] == NULL)
    return reg_error_set (err, EINVAL, "no template given");
  struct resolver r = { .root = root };
  r.c = calloc (1, sizeof *r.c);
  if (r.c == NULL)
    return reg_error_set (err, ENOMEM, "resolve: out of memory");
  int ret = 0;
  for (size_t i = 0; ret == 0 && refs[i]; i++)
    ret = resolve_one (&r, refs[i], err);
  /* The entrypoint of the first template named wins over its requires'. */
  if (ret == 0)
    {
      struct reg_template *first = NULL;
      if (reg_template_load (root, refs[0], &first, err) < 0)
        ret = -1;
      else if (first->entrypoint)
        {
          reg_strv_free (r.c->entrypoint);
          r.c->entrypoint = reg_strv_dup (first->entrypoint);
        }
      if (ret == 0 && first->stop_signal > 0)
        r.c->stop_signal = first->stop_signal;
      if (ret == 0 && take_defaults (r.c, first, true) < 0)
        ret = reg_error_set (err, ENOMEM, "resolve: out of memory");
      reg_template_free (first);
    }
  if (ret == 0)
    ret = dedup_entries (&r, err);
  if (ret == 0)
    ret = compute_digest (r.c, err);
  free (r.origin);
  reg_strv_free (r.done);
  reg_strv_free (r.user_origin);
  reg_strv_free (r.group_origin);
  if (ret < 0)
    {
      reg_closure_free (r.c);
      return -1;
    }
  *out = r.c;
  return 0;
}
