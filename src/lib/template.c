/* template: RET files — see template.h for the contract and
 * docs/ret-format.md for the format. Parsing uses libyaml's document API,
 * serialization its emitter, the digest OpenSSL's SHA-256. */
#include "template.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define RET_MAX_BYTES (16 << 20)
#define RET_MAX_ENTRIES 1000000
#define REQUIRES_MAX_DEPTH 64

/* ---- names ---- */

static bool
charset_ok (const char *s, size_t max, const char *extra, bool lower_only)
{
  size_t n = strlen (s);
  if (n == 0 || n > max || !isalnum ((unsigned char)s[0]))
    return false;
  for (const char *p = s; *p; p++)
    {
      unsigned char c = (unsigned char)*p;
      if (c >= 0x80 || (lower_only && isupper (c)))
        return false;
      if (!isalnum (c) && strchr (extra, c) == NULL)
        return false;
    }
  return true;
}

bool
reg_template_name_ok (const char *name)
{
  return name && charset_ok (name, 128, "._-", true);
}

bool
reg_template_version_ok (const char *version)
{
  return version && charset_ok (version, 128, "._+-", false);
}

int
reg_template_split_ref (const char *ref, char **name, char **version, struct reg_error **err)
{
  const char *at = ref ? strchr (ref, '@') : NULL;
  *name = *version = NULL;
  if (at == NULL)
    return reg_error_set (err, EINVAL, "\"%s\" is not NAME@VERSION", ref ? ref : "");
  char *n = strndup (ref, (size_t)(at - ref));
  char *v = strdup (at + 1);
  if (n == NULL || v == NULL)
    {
      free (n);
      free (v);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  if (!reg_template_name_ok (n) || !reg_template_version_ok (v))
    {
      free (n);
      free (v);
      return reg_error_set (err, EINVAL,
                            "\"%s\" is not NAME@VERSION (name: lower-case letters, digits, "
                            "'.', '_', '-'; version: letters, digits, '.', '_', '+', '-')",
                            ref);
    }
  *name = n;
  *version = v;
  return 0;
}

/* "libc@6", "libpython3.11@1.0"; the soversion may be empty ("libfoo@"). */
static bool
lib_name_ok (const char *s)
{
  const char *at = strchr (s, '@');
  if (at == NULL || at == s || strchr (at + 1, '@'))
    return false;
  for (const char *p = s; *p; p++)
    if (p != at && !isalnum ((unsigned char)*p) && strchr ("._+-", *p) == NULL)
      return false;
  return strlen (s) <= 256;
}

static bool
env_key_ok (const char *k)
{
  if (!(isalpha ((unsigned char)k[0]) || k[0] == '_'))
    return false;
  for (const char *p = k; *p; p++)
    if (!isalnum ((unsigned char)*p) && *p != '_')
      return false;
  return true;
}

/* ---- free ---- */

static void
entry_clear (struct reg_entry *e)
{
  free (e->path);
  free (e->value);
}

void
reg_template_free (struct reg_template *t)
{
  if (t == NULL)
    return;
  free (t->name);
  free (t->version);
  reg_strv_free (t->requires);
  reg_strv_free (t->entrypoint);
  reg_strv_free (t->env);
  for (size_t i = 0; i < t->n_files; i++)
    entry_clear (&t->files[i]);
  free (t->files);
  for (size_t i = 0; i < t->n_libs; i++)
    {
      free (t->libs[i].name);
      entry_clear (&t->libs[i].entry);
    }
  free (t->libs);
  free (t);
}

/* ---- parsing ---- */

struct parse
{
  yaml_document_t *doc;
  const char *who; /* "template a@1" or "RET file ORIGIN" */
  struct reg_template *t;
  struct reg_error **err;
};

static int fail (struct parse *p, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static int
fail (struct parse *p, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  _cleanup_free_ char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  return reg_error_set (p->err, EINVAL, "%s: %s", p->who, msg ? msg : "invalid");
}

static const char *
scalar (yaml_node_t *n)
{
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *
node (struct parse *p, int id)
{
  return yaml_document_get_node (p->doc, id);
}

/* Every mapping: keys are scalars, and none repeats. */
static int
check_mapping (struct parse *p, yaml_node_t *m, const char *what)
{
  yaml_node_pair_t *start = m->data.mapping.pairs.start, *top = m->data.mapping.pairs.top;
  if (top - start > RET_MAX_ENTRIES)
    return fail (p, "%s: more than %d entries", what, RET_MAX_ENTRIES);
  for (yaml_node_pair_t *a = start; a < top; a++)
    {
      const char *k = scalar (node (p, a->key));
      if (k == NULL)
        return fail (p, "%s: keys must be strings", what);
      /* Quadratic only for small mappings; large ones are files/libs,
       * whose duplicates normalize() finds after sorting. */
      if (top - start <= 64)
        for (yaml_node_pair_t *b = start; b < a; b++)
          if (strcmp (k, scalar (node (p, b->key))) == 0)
            return fail (p, "%s: duplicate key \"%s\"", what, k);
    }
  return 0;
}

static int
string_list (struct parse *p, yaml_node_t *n, const char *what, char ***out)
{
  if (n->type == YAML_SCALAR_NODE)
    {
      /* A single string is a one-element list. */
      *out = calloc (2, sizeof (char *));
      if (*out == NULL || ((*out)[0] = strdup (scalar (n))) == NULL)
        return reg_error_set (p->err, ENOMEM, "out of memory");
      return 0;
    }
  if (n->type != YAML_SEQUENCE_NODE)
    return fail (p, "\"%s\" must be a list of strings", what);
  yaml_node_item_t *s = n->data.sequence.items.start, *e = n->data.sequence.items.top;
  *out = calloc ((size_t)(e - s) + 1, sizeof (char *));
  if (*out == NULL)
    return reg_error_set (p->err, ENOMEM, "out of memory");
  for (size_t i = 0; s + i < e; i++)
    {
      const char *v = scalar (node (p, s[i]));
      if (v == NULL)
        return fail (p, "\"%s\" must be a list of strings", what);
      if (((*out)[i] = strdup (v)) == NULL)
        return reg_error_set (p->err, ENOMEM, "out of memory");
    }
  return 0;
}

/* "sha256:<hex>" or "sha256:<hex>+x" -> kind and hex value. */
static int
parse_object (struct parse *p, const char *v, const char *what, struct reg_entry *e)
{
  size_t n = strlen (v);
  bool exec = n == 7 + 64 + 2 && strcmp (v + n - 2, "+x") == 0;
  _cleanup_free_ char *hex = NULL;
  if (strncmp (v, "sha256:", 7) == 0 && (n == 7 + 64 || exec))
    hex = strndup (v + 7, 64);
  if (hex == NULL || !reg_util_is_sha256_hex (hex))
    return fail (p, "%s: malformed object digest \"%s\" (want sha256:<64 hex>[+x])", what, v);
  e->kind = exec ? REG_ENTRY_EXEC : REG_ENTRY_FILE;
  e->value = reg_steal (&hex);
  return 0;
}

static int
check_path (struct parse *p, const char *section, const char *path)
{
  if (!reg_util_path_is_clean (path))
    return fail (p,
                 "%s: path \"%s\" is not absolute and normalized (no \"..\", \".\", \"//\" "
                 "or trailing \"/\")",
                 section, path);
  return 0;
}

static int
parse_files (struct parse *p, yaml_node_t *m)
{
  if (m->type != YAML_MAPPING_NODE)
    return fail (p, "\"files\" must be a mapping of container path to object");
  if (check_mapping (p, m, "files") < 0)
    return -1;
  size_t n = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
  struct reg_template *t = p->t;
  if (n > 0 && (t->files = calloc (n, sizeof *t->files)) == NULL)
    return reg_error_set (p->err, ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++)
    {
      yaml_node_pair_t *pair = &m->data.mapping.pairs.start[i];
      const char *path = scalar (node (p, pair->key));
      const char *v = scalar (node (p, pair->value));
      if (check_path (p, "files", path) < 0)
        return -1;
      if (v == NULL)
        return fail (p, "files \"%s\": value must be a string", path);
      struct reg_entry *e = &t->files[t->n_files];
      if ((e->path = strdup (path)) == NULL)
        return reg_error_set (p->err, ENOMEM, "out of memory");
      t->n_files++;
      _cleanup_free_ char *what = NULL;
      if (asprintf (&what, "files \"%s\"", path) < 0)
        return reg_error_set (p->err, ENOMEM, "out of memory");
      if (strcmp (v, "dir") == 0)
        e->kind = REG_ENTRY_DIR;
      else if (strncmp (v, "-> ", 3) == 0)
        {
          if (v[3] == '\0' || strchr (v, '\n'))
            return fail (p, "%s: empty or multi-line symlink target", what);
          e->kind = REG_ENTRY_SYMLINK;
          if ((e->value = strdup (v + 3)) == NULL)
            return reg_error_set (p->err, ENOMEM, "out of memory");
        }
      else if (strncmp (v, "sha256:", 7) == 0)
        {
          if (parse_object (p, v, what, e) < 0)
            return -1;
        }
      else
        return fail (p, "%s: value \"%s\" is not sha256:<hex>[+x], \"-> TARGET\" or \"dir\"", what,
                     v);
    }
  return 0;
}

static int
parse_libs (struct parse *p, yaml_node_t *m)
{
  if (m->type != YAML_MAPPING_NODE)
    return fail (p, "\"libs\" must be a mapping of name@soversion to {path, object}");
  if (check_mapping (p, m, "libs") < 0)
    return -1;
  size_t n = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
  struct reg_template *t = p->t;
  if (n > 0 && (t->libs = calloc (n, sizeof *t->libs)) == NULL)
    return reg_error_set (p->err, ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++)
    {
      yaml_node_pair_t *pair = &m->data.mapping.pairs.start[i];
      const char *name = scalar (node (p, pair->key));
      yaml_node_t *v = node (p, pair->value);
      if (!lib_name_ok (name))
        return fail (p, "libs: \"%s\" is not name@soversion", name);
      _cleanup_free_ char *what = NULL;
      if (asprintf (&what, "lib %s", name) < 0)
        return reg_error_set (p->err, ENOMEM, "out of memory");
      if (v->type != YAML_MAPPING_NODE)
        return fail (p, "%s: must be a mapping {path, object}", what);
      if (check_mapping (p, v, what) < 0)
        return -1;
      const char *path = NULL, *object = NULL;
      for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++)
        {
          const char *k = scalar (node (p, q->key));
          const char *val = scalar (node (p, q->value));
          if (strcmp (k, "path") != 0 && strcmp (k, "object") != 0)
            return fail (p, "%s: unknown field \"%s\"", what, k);
          if (val == NULL)
            return fail (p, "%s: \"%s\" must be a string", what, k);
          *(strcmp (k, "path") == 0 ? &path : &object) = val;
        }
      if (path == NULL || object == NULL)
        return fail (p, "%s: missing \"%s\"", what, path == NULL ? "path" : "object");
      if (check_path (p, what, path) < 0)
        return -1;
      struct reg_lib *lib = &t->libs[t->n_libs];
      if ((lib->name = strdup (name)) == NULL || (lib->entry.path = strdup (path)) == NULL)
        {
          free (lib->name);
          return reg_error_set (p->err, ENOMEM, "out of memory");
        }
      t->n_libs++;
      if (parse_object (p, object, what, &lib->entry) < 0)
        return -1;
    }
  return 0;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

static int
parse_env (struct parse *p, yaml_node_t *m)
{
  if (m->type != YAML_MAPPING_NODE)
    return fail (p, "\"env\" must be a mapping of NAME to value");
  if (check_mapping (p, m, "env") < 0)
    return -1;
  size_t n = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
  if ((p->t->env = calloc (n + 1, sizeof (char *))) == NULL)
    return reg_error_set (p->err, ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++)
    {
      yaml_node_pair_t *pair = &m->data.mapping.pairs.start[i];
      const char *k = scalar (node (p, pair->key));
      const char *v = scalar (node (p, pair->value));
      if (!env_key_ok (k))
        return fail (p, "env: \"%s\" is not a variable name", k);
      if (v == NULL)
        return fail (p, "env %s: value must be a string", k);
      if (asprintf (&p->t->env[i], "%s=%s", k, v) < 0)
        {
          p->t->env[i] = NULL;
          return reg_error_set (p->err, ENOMEM, "out of memory");
        }
    }
  qsort (p->t->env, n, sizeof (char *), cmp_str);
  return 0;
}

static int
parse_requires (struct parse *p, yaml_node_t *n)
{
  if (n->type != YAML_SEQUENCE_NODE)
    return fail (p, "\"requires\" must be a list of name@version");
  if (string_list (p, n, "requires", &p->t->requires) < 0)
    return -1;
  char **r = p->t->requires;
  for (size_t i = 0; r[i]; i++)
    {
      _cleanup_free_ char *name = NULL, *version = NULL;
      if (reg_template_split_ref (r[i], &name, &version, NULL) < 0)
        return fail (p, "requires: \"%s\" is not name@version", r[i]);
      for (size_t j = 0; j < i; j++)
        if (strcmp (r[i], r[j]) == 0)
          return fail (p, "requires: %s listed twice", r[i]);
    }
  return 0;
}

static int
parse_entrypoint (struct parse *p, yaml_node_t *n)
{
  if (string_list (p, n, "entrypoint", &p->t->entrypoint) < 0)
    return -1;
  if (p->t->entrypoint[0] == NULL || p->t->entrypoint[0][0] == '\0')
    return fail (p, "\"entrypoint\" must be a non-empty list of strings");
  return 0;
}

static const char *const known_keys[]
    = { "name", "version", "requires", "entrypoint", "env", "files", "libs", NULL };

static int
parse_document (struct parse *p, const char *origin)
{
  yaml_node_t *root = yaml_document_get_root_node (p->doc);
  if (root == NULL)
    return reg_error_set (p->err, EINVAL, "RET file %s: empty", origin);
  if (root->type != YAML_MAPPING_NODE)
    return reg_error_set (p->err, EINVAL, "RET file %s: top level must be a mapping", origin);
  /* Name and version first, so every later error can name the template. */
  const char *name = NULL, *version = NULL;
  for (yaml_node_pair_t *a = root->data.mapping.pairs.start; a < root->data.mapping.pairs.top; a++)
    {
      const char *k = scalar (node (p, a->key));
      const char *v = scalar (node (p, a->value));
      if (k && strcmp (k, "name") == 0)
        name = v;
      if (k && strcmp (k, "version") == 0)
        version = v;
    }
  _cleanup_free_ char *who = NULL;
  if (name && version && reg_template_name_ok (name) && reg_template_version_ok (version))
    {
      if (asprintf (&who, "template %s@%s", name, version) < 0)
        who = NULL;
    }
  else if (asprintf (&who, "RET file %s", origin) < 0)
    who = NULL;
  if (who == NULL)
    return reg_error_set (p->err, ENOMEM, "out of memory");
  p->who = who;
  if (check_mapping (p, root, "top level") < 0)
    return -1;
  if (name == NULL)
    return fail (p, "missing \"name\"");
  if (version == NULL)
    return fail (p, "missing \"version\"");
  if (!reg_template_name_ok (name))
    return fail (p,
                 "invalid name \"%s\" (lower-case letters, digits, '.', '_', '-'; at most "
                 "128)",
                 name);
  if (!reg_template_version_ok (version))
    return fail (p, "invalid version \"%s\" (letters, digits, '.', '_', '+', '-'; at most 128)",
                 version);
  struct reg_template *t = p->t;
  if ((t->name = strdup (name)) == NULL || (t->version = strdup (version)) == NULL)
    return reg_error_set (p->err, ENOMEM, "out of memory");
  for (yaml_node_pair_t *a = root->data.mapping.pairs.start; a < root->data.mapping.pairs.top; a++)
    {
      const char *k = scalar (node (p, a->key));
      yaml_node_t *v = node (p, a->value);
      int ret = 0;
      bool known = false;
      for (size_t i = 0; known_keys[i] && !known; i++)
        known = strcmp (known_keys[i], k) == 0;
      if (!known)
        return fail (p, "unknown field \"%s\"", k);
      if (strcmp (k, "name") == 0 || strcmp (k, "version") == 0)
        ret = 0;
      else if (strcmp (k, "requires") == 0)
        ret = parse_requires (p, v);
      else if (strcmp (k, "entrypoint") == 0)
        ret = parse_entrypoint (p, v);
      else if (strcmp (k, "env") == 0)
        ret = parse_env (p, v);
      else if (strcmp (k, "files") == 0)
        ret = parse_files (p, v);
      else if (strcmp (k, "libs") == 0)
        ret = parse_libs (p, v);
      if (ret < 0)
        return -1;
    }
  if (t->requires == NULL && (t->requires = calloc (1, sizeof (char *))) == NULL)
    return reg_error_set (p->err, ENOMEM, "out of memory");
  if (t->env == NULL && (t->env = calloc (1, sizeof (char *))) == NULL)
    return reg_error_set (p->err, ENOMEM, "out of memory");
  return reg_template_normalize (t, p->err);
}

int
reg_template_parse (const char *text, size_t len, const char *origin, struct reg_template **out,
                    struct reg_error **err)
{
  *out = NULL;
  if (len > RET_MAX_BYTES)
    return reg_error_set (err, EFBIG, "RET file %s: larger than %d bytes", origin, RET_MAX_BYTES);
  if (memchr (text, '\0', len) != NULL)
    return reg_error_set (err, EINVAL, "RET file %s: contains a NUL byte", origin);
  yaml_parser_t parser;
  yaml_document_t doc;
  if (!yaml_parser_initialize (&parser))
    return reg_error_set (err, ENOMEM, "out of memory");
  yaml_parser_set_input_string (&parser, (const unsigned char *)text, len);
  if (!yaml_parser_load (&parser, &doc))
    {
      reg_error_set (err, EINVAL, "RET file %s: YAML error at line %zu, column %zu: %s%s%s", origin,
                     parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                     parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
                     parser.context ? parser.context : "");
      yaml_parser_delete (&parser);
      return -1;
    }
  /* One document only. */
  yaml_document_t extra;
  bool more = false;
  if (yaml_parser_load (&parser, &extra))
    {
      more = yaml_document_get_root_node (&extra) != NULL;
      yaml_document_delete (&extra);
    }
  yaml_parser_delete (&parser);
  struct parse p = { .doc = &doc, .err = err };
  int ret = -1;
  if (more)
    reg_error_set (err, EINVAL, "RET file %s: more than one YAML document", origin);
  else if ((p.t = calloc (1, sizeof *p.t)) == NULL)
    reg_error_set (err, ENOMEM, "out of memory");
  else
    ret = parse_document (&p, origin);
  yaml_document_delete (&doc);
  if (ret < 0)
    {
      reg_template_free (p.t);
      return -1;
    }
  *out = p.t;
  return 0;
}

/* ---- normalize ---- */

static int
cmp_entry (const void *a, const void *b)
{
  return strcmp (((const struct reg_entry *)a)->path, ((const struct reg_entry *)b)->path);
}

static int
cmp_lib (const void *a, const void *b)
{
  return strcmp (((const struct reg_lib *)a)->name, ((const struct reg_lib *)b)->name);
}

struct dest
{
  const char *path;
  enum reg_entry_kind kind;
};

static int
cmp_dest (const void *a, const void *b)
{
  return strcmp (((const struct dest *)a)->path, ((const struct dest *)b)->path);
}

int
reg_template_normalize (struct reg_template *t, struct reg_error **err)
{
  const char *n = t->name ? t->name : "?", *v = t->version ? t->version : "?";
  if (t->n_files > 1)
    qsort (t->files, t->n_files, sizeof *t->files, cmp_entry);
  if (t->n_libs > 1)
    qsort (t->libs, t->n_libs, sizeof *t->libs, cmp_lib);
  for (size_t i = 1; i < t->n_libs; i++)
    if (strcmp (t->libs[i - 1].name, t->libs[i].name) == 0)
      return reg_error_set (err, EINVAL, "template %s@%s: lib %s listed twice", n, v,
                            t->libs[i].name);
  size_t total = t->n_files + t->n_libs;
  if (total == 0)
    return 0;
  struct dest *d = calloc (total, sizeof *d);
  if (d == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; i < t->n_files; i++)
    d[i] = (struct dest){ t->files[i].path, t->files[i].kind };
  for (size_t i = 0; i < t->n_libs; i++)
    d[t->n_files + i] = (struct dest){ t->libs[i].entry.path, t->libs[i].entry.kind };
  qsort (d, total, sizeof *d, cmp_dest);
  int ret = 0;
  for (size_t i = 1; ret == 0 && i < total; i++)
    if (strcmp (d[i - 1].path, d[i].path) == 0)
      ret = reg_error_set (err, EINVAL, "template %s@%s: two entries for \"%s\"", n, v, d[i].path);
  /* A path inside another entry needs that entry to be a directory. */
  for (size_t i = 0; ret == 0 && i < total; i++)
    {
      char buf[4096];
      if (snprintf (buf, sizeof buf, "%s", d[i].path) >= (int)sizeof buf)
        {
          ret = reg_error_set (err, EINVAL, "template %s@%s: path too long: %.64s...", n, v,
                               d[i].path);
          break;
        }
      for (char *slash = strrchr (buf, '/'); ret == 0 && slash && slash != buf;
           slash = strrchr (buf, '/'))
        {
          *slash = '\0';
          struct dest key = { buf, REG_ENTRY_DIR };
          struct dest *parent = bsearch (&key, d, total, sizeof *d, cmp_dest);
          if (parent && parent->kind != REG_ENTRY_DIR)
            ret = reg_error_set (err, EINVAL,
                                 "template %s@%s: \"%s\" is inside \"%s\", which is not a "
                                 "directory",
                                 n, v, d[i].path, buf);
        }
    }
  free (d);
  return ret;
}

/* ---- serialize ---- */

struct out
{
  char *data;
  size_t len, cap;
  bool failed;
};

static int
write_out (void *data, unsigned char *buf, size_t size)
{
  struct out *o = data;
  if (o->len + size + 1 > o->cap)
    {
      size_t cap = (o->len + size + 1) * 2;
      char *n = realloc (o->data, cap);
      if (n == NULL)
        {
          o->failed = true;
          return 0;
        }
      o->data = n;
      o->cap = cap;
    }
  memcpy (o->data + o->len, buf, size);
  o->len += size;
  o->data[o->len] = '\0';
  return 1;
}

struct emit
{
  yaml_emitter_t e;
  bool ok;
};

static void
emit_event (struct emit *em, yaml_event_t *ev)
{
  if (em->ok && !yaml_emitter_emit (&em->e, ev))
    em->ok = false;
}

static void
emit_scalar (struct emit *em, const char *s)
{
  yaml_event_t ev;
  if (!yaml_scalar_event_initialize (&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen (s), 1, 1,
                                     YAML_ANY_SCALAR_STYLE))
    {
      em->ok = false;
      return;
    }
  emit_event (em, &ev);
}

static void
emit_start (struct emit *em, bool mapping, bool flow)
{
  yaml_event_t ev;
  int r = mapping
              ? yaml_mapping_start_event_initialize (
                  &ev, NULL, NULL, 1, flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE)
              : yaml_sequence_start_event_initialize (
                  &ev, NULL, NULL, 1, flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE);
  if (!r)
    em->ok = false;
  else
    emit_event (em, &ev);
}

static void
emit_end (struct emit *em, bool mapping)
{
  yaml_event_t ev;
  if (mapping)
    yaml_mapping_end_event_initialize (&ev);
  else
    yaml_sequence_end_event_initialize (&ev);
  emit_event (em, &ev);
}

static void
emit_list (struct emit *em, const char *key, char **v)
{
  emit_scalar (em, key);
  emit_start (em, false, true);
  for (size_t i = 0; v && v[i]; i++)
    emit_scalar (em, v[i]);
  emit_end (em, false);
}

static char *
entry_value (const struct reg_entry *e)
{
  char *s = NULL;
  int r = 0;
  switch (e->kind)
    {
    case REG_ENTRY_FILE:
      r = asprintf (&s, "sha256:%s", e->value);
      break;
    case REG_ENTRY_EXEC:
      r = asprintf (&s, "sha256:%s+x", e->value);
      break;
    case REG_ENTRY_SYMLINK:
      r = asprintf (&s, "-> %s", e->value);
      break;
    case REG_ENTRY_DIR:
      s = strdup ("dir");
      break;
    }
  return r < 0 ? NULL : s;
}

char *
reg_template_serialize (const struct reg_template *t)
{
  struct out o = { 0 };
  struct emit em = { .ok = true };
  yaml_event_t ev;
  if (!yaml_emitter_initialize (&em.e))
    return NULL;
  yaml_emitter_set_output (&em.e, write_out, &o);
  yaml_emitter_set_width (&em.e, -1);
  yaml_emitter_set_unicode (&em.e, 1);
  yaml_stream_start_event_initialize (&ev, YAML_UTF8_ENCODING);
  emit_event (&em, &ev);
  yaml_document_start_event_initialize (&ev, NULL, NULL, NULL, 1);
  emit_event (&em, &ev);
  emit_start (&em, true, false);
  emit_scalar (&em, "name");
  emit_scalar (&em, t->name);
  emit_scalar (&em, "version");
  emit_scalar (&em, t->version);
  if (reg_strv_len (t->requires) > 0)
    emit_list (&em, "requires", t->requires);
  if (reg_strv_len (t->entrypoint) > 0)
    emit_list (&em, "entrypoint", t->entrypoint);
  if (reg_strv_len (t->env) > 0)
    {
      emit_scalar (&em, "env");
      emit_start (&em, true, false);
      for (size_t i = 0; t->env[i]; i++)
        {
          char *eq = strchr (t->env[i], '=');
          _cleanup_free_ char *k = eq ? strndup (t->env[i], (size_t)(eq - t->env[i])) : NULL;
          emit_scalar (&em, k ? k : "");
          emit_scalar (&em, eq ? eq + 1 : "");
        }
      emit_end (&em, true);
    }
  if (t->n_files > 0)
    {
      emit_scalar (&em, "files");
      emit_start (&em, true, false);
      for (size_t i = 0; i < t->n_files; i++)
        {
          _cleanup_free_ char *v = entry_value (&t->files[i]);
          emit_scalar (&em, t->files[i].path);
          emit_scalar (&em, v ? v : "");
          em.ok = em.ok && v;
        }
      emit_end (&em, true);
    }
  if (t->n_libs > 0)
    {
      emit_scalar (&em, "libs");
      emit_start (&em, true, false);
      for (size_t i = 0; i < t->n_libs; i++)
        {
          _cleanup_free_ char *v = entry_value (&t->libs[i].entry);
          emit_scalar (&em, t->libs[i].name);
          emit_start (&em, true, true);
          emit_scalar (&em, "path");
          emit_scalar (&em, t->libs[i].entry.path);
          emit_scalar (&em, "object");
          emit_scalar (&em, v ? v : "");
          emit_end (&em, true);
          em.ok = em.ok && v;
        }
      emit_end (&em, true);
    }
  emit_end (&em, true);
  yaml_document_end_event_initialize (&ev, 1);
  emit_event (&em, &ev);
  yaml_stream_end_event_initialize (&ev);
  emit_event (&em, &ev);
  yaml_emitter_delete (&em.e);
  /* libyaml leaves the last line open; a text file ends with a newline. */
  if (em.ok && o.data && o.len > 0 && o.data[o.len - 1] != '\n')
    write_out (&o, (unsigned char *)"\n", 1);
  if (!em.ok || o.failed || o.data == NULL)
    {
      free (o.data);
      return NULL;
    }
  return o.data;
}

int
reg_template_digest (const struct reg_template *t, char digest[65], struct reg_error **err)
{
  _cleanup_free_ char *text = reg_template_serialize (t);
  if (text == NULL)
    return reg_error_set (err, ENOMEM, "template %s@%s: cannot serialize", t->name, t->version);
  unsigned char md[32];
  unsigned int md_len = 0;
  if (EVP_Digest (text, strlen (text), md, &md_len, EVP_sha256 (), NULL) != 1)
    return reg_error_set (err, EIO, "template %s@%s: SHA-256 failed", t->name, t->version);
  reg_util_hex (md, 32, digest);
  return 0;
}

/* ---- store check ---- */

int
reg_template_check_objects (const struct reg_template *t, const struct reg_store *store,
                            struct reg_error **err)
{
  for (size_t i = 0; i < t->n_files; i++)
    {
      const struct reg_entry *e = &t->files[i];
      if ((e->kind == REG_ENTRY_FILE || e->kind == REG_ENTRY_EXEC)
          && !reg_store_has (store, e->value, e->kind == REG_ENTRY_EXEC))
        return reg_error_set (
            err, ENOENT, "template %s@%s: file \"%s\": object sha256:%s%s not in store", t->name,
            t->version, e->path, e->value, e->kind == REG_ENTRY_EXEC ? "+x" : "");
    }
  for (size_t i = 0; i < t->n_libs; i++)
    {
      const struct reg_entry *e = &t->libs[i].entry;
      if (!reg_store_has (store, e->value, e->kind == REG_ENTRY_EXEC))
        return reg_error_set (
            err, ENOENT, "template %s@%s: lib %s: object sha256:%s%s not in store", t->name,
            t->version, t->libs[i].name, e->value, e->kind == REG_ENTRY_EXEC ? "+x" : "");
    }
  return 0;
}

/* ---- repository ---- */

static char *
ret_path (const char *root, const char *name, const char *version)
{
  char *p = NULL;
  if (asprintf (&p, "%s/templates/%s/%s.ret", root, name, version) < 0)
    return NULL;
  return p;
}

int
reg_template_load (const char *root, const char *ref, struct reg_template **out,
                   struct reg_error **err)
{
  *out = NULL;
  _cleanup_free_ char *name = NULL, *version = NULL;
  if (reg_template_split_ref (ref, &name, &version, err) < 0)
    return reg_error_prefix (err, "template %s", ref);
  _cleanup_free_ char *path = ret_path (root, name, version);
  if (path == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  struct reg_error *e = NULL;
  if (reg_util_read_file (path, RET_MAX_BYTES, &text, &len, &e) < 0)
    {
      bool missing = e->code == ENOENT;
      reg_error_free (e);
      if (missing)
        return reg_error_set (err, ENOENT, "template %s: not found", ref);
      return reg_error_set (err, EIO, "template %s: cannot read %s", ref, path);
    }
  struct reg_template *t = NULL;
  if (reg_template_parse (text, len, path, &t, err) < 0)
    return reg_error_prefix (err, "template %s: stored RET file is invalid", ref);
  if (strcmp (t->name, name) != 0 || strcmp (t->version, version) != 0)
    {
      reg_error_set (err, EINVAL, "template %s: %s names %s@%s", ref, path, t->name, t->version);
      reg_template_free (t);
      return -1;
    }
  *out = t;
  return 0;
}

/* Depth-first walk of requires from `ref`; a path back to `start` is a
 * cycle. `chain` holds the refs on the current path. */
static int
find_cycle (const char *root, const char *start, char *const *requires, char **chain, int depth,
            char ***visited, struct reg_error **err)
{
  if (depth >= REQUIRES_MAX_DEPTH)
    return reg_error_set (err, ELOOP, "template %s: requires nested deeper than %d", start,
                          REQUIRES_MAX_DEPTH);
  for (size_t i = 0; requires && requires[i]; i++)
    {
      const char *r = requires[i];
      chain[depth] = (char *)r;
      if (strcmp (r, start) == 0)
        {
          _cleanup_free_ char *msg = strdup (start);
          for (int k = 0; msg && k <= depth; k++)
            {
              char *n = NULL;
              if (asprintf (&n, "%s -> %s", msg, chain[k]) < 0)
                n = NULL;
              free (msg);
              msg = n;
            }
          return reg_error_set (err, EINVAL, "template %s: cyclic requires: %s", start,
                                msg ? msg : "");
        }
      bool seen = false;
      for (size_t k = 0; *visited && (*visited)[k] && !seen; k++)
        seen = strcmp ((*visited)[k], r) == 0;
      if (seen)
        continue;
      size_t nv = reg_strv_len (*visited);
      char **grown = realloc (*visited, (nv + 2) * sizeof (char *));
      if (grown == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      *visited = grown;
      grown[nv] = strdup (r);
      grown[nv + 1] = NULL;
      struct reg_template *t = NULL;
      if (reg_template_load (root, r, &t, err) < 0)
        {
          if ((*err)->code == ENOENT)
            {
              reg_error_free (*err);
              *err = NULL;
              return reg_error_set (err, ENOENT, "template %s: requires %s, which is not installed",
                                    depth == 0 ? start : chain[depth - 1], r);
            }
          return -1;
        }
      int ret = find_cycle (root, start, t->requires, chain, depth + 1, visited, err);
      reg_template_free (t);
      if (ret < 0)
        return -1;
    }
  return 0;
}

int
reg_template_save (const char *root, const struct reg_store *store, const struct reg_template *t,
                   struct reg_error **err)
{
  _cleanup_free_ char *ref = NULL;
  if (asprintf (&ref, "%s@%s", t->name, t->version) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (!reg_template_name_ok (t->name) || !reg_template_version_ok (t->version))
    return reg_error_set (err, EINVAL, "template %s: invalid name or version", ref);
  if (reg_template_check_objects (t, store, err) < 0)
    return -1;
  char *chain[REQUIRES_MAX_DEPTH + 1];
  char **visited = NULL;
  struct reg_error *e = NULL;
  int ret = find_cycle (root, ref, t->requires, chain, 0, &visited, &e);
  reg_strv_free (visited);
  if (ret < 0)
    {
      /* A missing requirement is named from the template being saved. */
      *err = e;
      return -1;
    }
  _cleanup_free_ char *text = reg_template_serialize (t);
  _cleanup_free_ char *dir = NULL, *path = ret_path (root, t->name, t->version);
  if (text == NULL || path == NULL || asprintf (&dir, "%s/templates/%s", root, t->name) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_util_mkdir_p (dir, 0755, err) < 0)
    return reg_error_prefix (err, "template %s", ref);
  if (reg_util_write_atomic (path, text, strlen (text), 0644, err) < 0)
    return reg_error_prefix (err, "template %s", ref);
  return 0;
}

int
reg_template_remove (const char *root, const char *ref, struct reg_error **err)
{
  struct reg_template *t = NULL;
  if (reg_template_load (root, ref, &t, err) < 0)
    return -1;
  _cleanup_free_ char *path = ret_path (root, t->name, t->version);
  _cleanup_free_ char *dir = NULL;
  if (path == NULL || asprintf (&dir, "%s/templates/%s", root, t->name) < 0)
    dir = NULL;
  reg_template_free (t);
  if (path == NULL || dir == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  _cleanup_strv_ char **all = NULL;
  if (reg_template_list (root, &all, err) < 0)
    return -1;
  for (size_t i = 0; all[i]; i++)
    {
      if (strcmp (all[i], ref) == 0)
        continue;
      struct reg_template *o = NULL;
      if (reg_template_load (root, all[i], &o, NULL) < 0)
        continue;
      bool needs = false;
      for (size_t k = 0; o->requires && o->requires[k] && !needs; k++)
        needs = strcmp (o->requires[k], ref) == 0;
      reg_template_free (o);
      if (needs)
        return reg_error_set (err, EBUSY, "template %s: required by %s", ref, all[i]);
    }
  if (unlink (path) < 0)
    return reg_error_sys (err, errno, "template %s: remove %s", ref, path);
  rmdir (dir); /* only when empty: other versions stay */
  return 0;
}

int
reg_template_list (const char *root, char ***refs, struct reg_error **err)
{
  *refs = NULL;
  _cleanup_free_ char *dir = NULL;
  if (asprintf (&dir, "%s/templates", root) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  char **v = calloc (1, sizeof (char *));
  size_t n = 0;
  if (v == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  DIR *top = opendir (dir);
  if (top == NULL)
    {
      if (errno == ENOENT)
        {
          *refs = v;
          return 0;
        }
      free (v);
      return reg_error_sys (err, errno, "templates: open %s", dir);
    }
  struct dirent *de;
  int ret = 0;
  while (ret == 0 && (de = readdir (top)) != NULL)
    {
      if (!reg_template_name_ok (de->d_name))
        continue;
      _cleanup_free_ char *sub = NULL;
      if (asprintf (&sub, "%s/%s", dir, de->d_name) < 0)
        {
          ret = reg_error_set (err, ENOMEM, "out of memory");
          break;
        }
      DIR *d = opendir (sub);
      if (d == NULL)
        continue;
      struct dirent *fe;
      while (ret == 0 && (fe = readdir (d)) != NULL)
        {
          size_t len = strlen (fe->d_name);
          if (len <= 4 || strcmp (fe->d_name + len - 4, ".ret") != 0)
            continue;
          _cleanup_free_ char *version = strndup (fe->d_name, len - 4);
          if (version == NULL || !reg_template_version_ok (version))
            continue;
          char **grown = realloc (v, (n + 2) * sizeof (char *));
          if (grown == NULL)
            {
              ret = reg_error_set (err, ENOMEM, "out of memory");
              break;
            }
          v = grown;
          if (asprintf (&v[n], "%s@%s", de->d_name, version) < 0)
            {
              v[n] = NULL;
              ret = reg_error_set (err, ENOMEM, "out of memory");
              break;
            }
          v[++n] = NULL;
        }
      closedir (d);
    }
  closedir (top);
  if (ret < 0)
    {
      reg_strv_free (v);
      return -1;
    }
  qsort (v, n, sizeof (char *), cmp_str);
  *refs = v;
  return 0;
}
