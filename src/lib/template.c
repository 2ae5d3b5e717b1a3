/* template: RET files — see template.h for the contract and
 * docs/ret-format.md for the format.
 *
 * Reading goes text -> yaml_document_t -> struct reg_template. The document
 * is built here from libyaml's parser events rather than by
 * yaml_parser_load, so that nesting depth and node count are bounded while
 * parsing and aliases are refused: libyaml has no depth limit, and its
 * scanner is quadratic in the depth (200 KB of "[" costs 50 s of CPU).
 * Every scalar is text, taken as written ("version: 3.10" is "3.10").
 * Writing uses libyaml's emitter; the digest is OpenSSL's SHA-256 of the
 * written text. */
#include "root.h"
#include "template.h"
#include "accounts.h"
#include "envgen.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define RET_MAX_BYTES (16 << 20)
#define RET_MAX_ENTRIES 1000000 /* in one mapping */
#define RET_MAX_NODES 2001024   /* 2 * RET_MAX_ENTRIES + 1024 */
#define RET_MAX_DEPTH 16        /* a valid RET file needs 3 */
#define RET_MAX_TARGET 4095
#define REQUIRES_MAX_DEPTH 64

/* ---- names ---- */

static bool
is_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
is_lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool
reg_template_name_ok (const char *name)
{
  if (name == NULL || !is_lower_alnum (name[0]))
    return false;
  size_t n = 1;
  for (const char *p = name + 1; *p; p++, n++)
    if (n >= 128 || (!is_lower_alnum (*p) && strchr ("._-", *p) == NULL))
      return false;
  return true;
}

bool
reg_template_version_ok (const char *version)
{
  if (version == NULL || !is_alnum (version[0]))
    return false;
  size_t n = 1;
  for (const char *p = version + 1; *p; p++, n++)
    if (n >= 128 || (!is_alnum (*p) && strchr ("._+-", *p) == NULL))
      return false;
  return true;
}

int
reg_template_split_ref (const char *ref, char **name, char **version, struct reg_error **err)
{
  *name = *version = NULL;
  const char *at = ref ? strchr (ref, '@') : NULL;
  if (at == NULL)
    return reg_error_set (err, EINVAL, "\"%s\" is not NAME@VERSION", ref ? ref : "");
  _cleanup_free_ char *n = strndup (ref, (size_t)(at - ref));
  _cleanup_free_ char *v = strdup (at + 1);
  if (n == NULL || v == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (!reg_template_name_ok (n) || !reg_template_version_ok (v))
    return reg_error_set (err, EINVAL,
                          "\"%s\" is not NAME@VERSION (name: lower-case letters, digits, "
                          "'.', '_', '-'; version: letters, digits, '.', '_', '+', '-')",
                          ref);
  *name = reg_steal (&n);
  *version = reg_steal (&v);
  return 0;
}

/* "libc@6", "ld-linux-x86-64@2", "libpython3.11@1.0"; the soversion may be
 * empty ("libfoo@" for an unversioned libfoo.so). */
static bool
lib_name_ok (const char *s)
{
  const char *at = strchr (s, '@');
  if (at == NULL || !is_alnum (s[0]) || strlen (s) > 256)
    return false;
  for (const char *p = s; *p; p++)
    if (p != at && !is_alnum (*p) && strchr ("._+-", *p) == NULL)
      return false;
  return true;
}

static bool
env_key_ok (const char *k)
{
  if (!((k[0] >= 'A' && k[0] <= 'Z') || (k[0] >= 'a' && k[0] <= 'z') || k[0] == '_'))
    return false;
  for (const char *p = k; *p; p++)
    if (!is_alnum (*p) && *p != '_')
      return false;
  return true;
}

/* Length of the key of "KEY=VALUE". */
static size_t
env_key_len (const char *kv)
{
  return strcspn (kv, "=");
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
  reg_strv_free (t->users);
  reg_strv_free (t->groups);
  reg_strv_free (t->expose);
  free (t->workdir);
  free (t->user);
  reg_strv_free (t->volumes);
  reg_strv_free (t->labels);
  reg_health_check_clear (&t->healthcheck);
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

/* ---- text -> YAML document ---- */

struct loader
{
  yaml_document_t *doc;
  const char *origin;
  int open[RET_MAX_DEPTH]; /* ids of the open collections */
  int key[RET_MAX_DEPTH];  /* pending key of an open mapping, 0 if none */
  int depth;
  size_t nodes;
};

static int
load_fail (struct loader *l, const yaml_mark_t *m, struct reg_error **err, const char *what)
{
  return reg_error_set (err, EINVAL, "%s: line %zu, column %zu: %s", l->origin, m->line + 1,
                        m->column + 1, what);
}

#define STR(x) #x
#define XSTR(x) STR (x)

static int
syntax_error (const yaml_parser_t *parser, const char *origin, struct reg_error **err)
{
  if (parser->error == YAML_MEMORY_ERROR)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (parser->error == YAML_READER_ERROR)
    return reg_error_set (err, EINVAL, "%s: YAML error at byte %zu: %s", origin,
                          parser->problem_offset, parser->problem ? parser->problem : "bad input");
  return reg_error_set (err, EINVAL, "%s: YAML error at line %zu, column %zu: %s%s%s", origin,
                        parser->problem_mark.line + 1, parser->problem_mark.column + 1,
                        parser->problem ? parser->problem : "syntax error",
                        parser->context ? " " : "", parser->context ? parser->context : "");
}

/* A tag other than the default for the node's kind would make a scalar
 * something else than text ("!!int 1") or a collection something else than
 * a plain list or mapping ("!!set"). */
static bool
tag_ok (const yaml_char_t *tag, const char *default_tag)
{
  return tag == NULL || strcmp ((const char *)tag, "!") == 0
         || strcmp ((const char *)tag, default_tag) == 0;
}

/* Hook node `id` into the open collection (or make it the root). */
static int
attach (struct loader *l, int id, struct reg_error **err)
{
  if (l->depth == 0)
    return 0; /* the root: the document's first node */
  int parent = l->open[l->depth - 1];
  int ok;
  if (yaml_document_get_node (l->doc, parent)->type == YAML_SEQUENCE_NODE)
    ok = yaml_document_append_sequence_item (l->doc, parent, id);
  else if (l->key[l->depth - 1] == 0)
    {
      l->key[l->depth - 1] = id;
      ok = 1;
    }
  else
    {
      ok = yaml_document_append_mapping_pair (l->doc, parent, l->key[l->depth - 1], id);
      l->key[l->depth - 1] = 0;
    }
  return ok ? 0 : reg_error_set (err, ENOMEM, "out of memory");
}

static int
load_scalar (struct loader *l, const yaml_event_t *ev, struct reg_error **err)
{
  if (!tag_ok (ev->data.scalar.tag, YAML_STR_TAG))
    return load_fail (l, &ev->start_mark, err, "YAML tags are not allowed");
  if (strlen ((const char *)ev->data.scalar.value) != ev->data.scalar.length)
    return load_fail (l, &ev->start_mark, err, "a string contains a NUL character");
  int id = yaml_document_add_scalar (l->doc, NULL, ev->data.scalar.value,
                                     (int)ev->data.scalar.length, ev->data.scalar.style);
  if (id == 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  return attach (l, id, err);
}

static int
load_collection (struct loader *l, const yaml_event_t *ev, struct reg_error **err)
{
  bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
  const yaml_char_t *tag = seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag;
  if (!tag_ok (tag, seq ? YAML_SEQ_TAG : YAML_MAP_TAG))
    return load_fail (l, &ev->start_mark, err, "YAML tags are not allowed");
  if (l->depth == RET_MAX_DEPTH)
    return load_fail (l, &ev->start_mark, err,
                      "nested deeper than " XSTR (RET_MAX_DEPTH) " levels");
  int id = seq ? yaml_document_add_sequence (l->doc, NULL, YAML_ANY_SEQUENCE_STYLE)
               : yaml_document_add_mapping (l->doc, NULL, YAML_ANY_MAPPING_STYLE);
  if (id == 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (attach (l, id, err) < 0)
    return -1;
  l->open[l->depth] = id;
  l->key[l->depth] = 0;
  l->depth++;
  return 0;
}

/* One event: 1 at the end of the stream, 0 to go on, -1 on error. */
static int
load_event (struct loader *l, const yaml_event_t *ev, bool *have_doc, struct reg_error **err)
{
  switch (ev->type)
    {
    case YAML_STREAM_END_EVENT:
      return 1;
    case YAML_DOCUMENT_START_EVENT:
      if (*have_doc)
        return reg_error_set (err, EINVAL, "%s: more than one YAML document", l->origin);
      if (!yaml_document_initialize (l->doc, NULL, NULL, NULL, 1, 1))
        return reg_error_set (err, ENOMEM, "out of memory");
      *have_doc = true;
      return 0;
    case YAML_ALIAS_EVENT:
      return load_fail (l, &ev->start_mark, err, "YAML aliases are not allowed");
    case YAML_SCALAR_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
      if (++l->nodes > RET_MAX_NODES)
        return load_fail (l, &ev->start_mark, err, "more than " XSTR (RET_MAX_NODES) " YAML nodes");
      if (ev->type == YAML_SCALAR_EVENT)
        return load_scalar (l, ev, err);
      return load_collection (l, ev, err);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      l->depth--;
      return 0;
    default: /* stream start, document end */
      return 0;
    }
}

/* Parse `text` into `doc` (initialised only on success); `origin` is the
 * whole label errors start with ("RET file X", "recipe X"). */
int
reg_template_yaml_load (const char *text, size_t len, const char *origin, yaml_document_t *doc,
                        struct reg_error **err)
{
  yaml_parser_t parser;
  if (!yaml_parser_initialize (&parser))
    return reg_error_set (err, ENOMEM, "out of memory");
  yaml_parser_set_input_string (&parser, (const unsigned char *)text, len);
  struct loader l = { .doc = doc, .origin = origin };
  bool have_doc = false;
  int ret = 0;
  while (ret == 0)
    {
      yaml_event_t ev;
      if (!yaml_parser_parse (&parser, &ev))
        {
          ret = syntax_error (&parser, origin, err);
          break;
        }
      ret = load_event (&l, &ev, &have_doc, err);
      yaml_event_delete (&ev);
    }
  yaml_parser_delete (&parser);
  if (ret < 0)
    {
      if (have_doc)
        yaml_document_delete (doc);
      return -1;
    }
  if (!have_doc || yaml_document_get_root_node (doc) == NULL)
    {
      if (have_doc)
        yaml_document_delete (doc);
      return reg_error_set (err, EINVAL, "%s: empty", origin);
    }
  return 0;
}

/* ---- YAML document -> template ---- */

struct parse
{
  yaml_document_t *doc;
  const char *who; /* "template a@1", or "RET file ORIGIN" while the name is unknown */
  struct reg_template *t;
  struct reg_error **err;
  const char *format; /* the `format` key's value, NULL when absent */
  bool v2;            /* a format-2 file value was met */
  bool v3;            /* a format-3 field was met */
  bool v4;            /* a format-4 file value (attributes, a set-ID directory) was met */
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
  if (msg == NULL)
    return reg_error_set (p->err, ENOMEM, "out of memory");
  return reg_error_set (p->err, EINVAL, "%s: %s", p->who, msg);
}

static int
oom (struct parse *p)
{
  return reg_error_set (p->err, ENOMEM, "out of memory");
}

static yaml_node_t *
node (struct parse *p, int id)
{
  return yaml_document_get_node (p->doc, id);
}

/* The text of a scalar node, NULL for a list or mapping. */
static const char *
text_of (struct parse *p, int id)
{
  yaml_node_t *n = node (p, id);
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static size_t
n_pairs (yaml_node_t *m)
{
  return (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

/* Every key is a string, none repeats, not too many. `what` prefixes the
 * message ("files: "), empty at the top level. */
static int
check_mapping (struct parse *p, yaml_node_t *m, const char *what)
{
  size_t n = n_pairs (m);
  if (n > RET_MAX_ENTRIES)
    return fail (p, "%smore than %d entries", what, RET_MAX_ENTRIES);
  if (n == 0)
    return 0;
  _cleanup_free_ const char **keys = calloc (n, sizeof *keys);
  if (keys == NULL)
    return oom (p);
  for (size_t i = 0; i < n; i++)
    if ((keys[i] = text_of (p, m->data.mapping.pairs.start[i].key)) == NULL)
      return fail (p, "%skeys must be strings", what);
  qsort (keys, n, sizeof *keys, cmp_str);
  for (size_t i = 1; i < n; i++)
    if (strcmp (keys[i - 1], keys[i]) == 0)
      return fail (p, "%sduplicate key \"%s\"", what, keys[i]);
  return 0;
}

/* A YAML list of strings -> NULL-terminated vector. */
static int
string_list (struct parse *p, yaml_node_t *n, const char *what, char ***out)
{
  if (n->type != YAML_SEQUENCE_NODE)
    return fail (p, "\"%s\" must be a list of strings", what);
  yaml_node_item_t *items = n->data.sequence.items.start;
  size_t len = (size_t)(n->data.sequence.items.top - items);
  if (len > RET_MAX_ENTRIES)
    return fail (p, "\"%s\": more than %d entries", what, RET_MAX_ENTRIES);
  if ((*out = calloc (len + 1, sizeof (char *))) == NULL)
    return oom (p);
  for (size_t i = 0; i < len; i++)
    {
      const char *v = text_of (p, items[i]);
      if (v == NULL)
        return fail (p, "\"%s\" must be a list of strings", what);
      if (((*out)[i] = strdup (v)) == NULL)
        return oom (p);
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

/* The RET text of a variant value "HEX+MODE-UID-GID[-CAP]" (store.h):
 * "sha256:HEX MODE UID:GID[ cap=CAP]"; NULL when it is no variant. */
static char *
variant_text (const char *value)
{
  struct reg_store_attrs a;
  const char *plus = strchr (value, '+');
  if (plus == NULL || plus - value != 64 || !reg_store_attrs_parse (plus + 1, &a))
    return NULL;
  char cap[2 * REG_STORE_CAP_SIZE + 6] = "";
  if (a.has_cap)
    {
      memcpy (cap, " cap=", 5);
      reg_util_hex (a.cap, REG_STORE_CAP_SIZE, cap + 5);
    }
  char *s = NULL;
  if (asprintf (&s, "sha256:%.64s %04o %u:%u%s", value, a.mode, a.uid, a.gid, cap) < 0)
    return NULL;
  return s;
}

/* "sha256:<hex> MODE UID:GID[ cap=<hex>]" (format 4): a file with its
 * mode, owner and capability, the store variant HEX+MODE-UID-GID[-CAP].
 * Read strictly: the canonical text of what it parses to must be it. */
static int
parse_variant (struct parse *p, const char *v, const char *what, struct reg_entry *e)
{
  _cleanup_free_ char *value = NULL, *back = NULL;
  if (strlen (v) > 7 + 64 + 1 && v[7 + 64] == ' ')
    {
      if (asprintf (&value, "%.64s+%s", v + 7, v + 7 + 64 + 1) < 0)
        return oom (p);
      char *attrs = value + 65;
      char *space = strchr (attrs, ' '), *colon = strchr (attrs, ':');
      if (space && colon && colon > space)
        {
          *space = '-', *colon = '-';
          char *cap = strstr (colon, " cap=");
          if (cap)
            memmove (cap + 1, cap + 5, strlen (cap + 5) + 1), *cap = '-';
        }
      back = variant_text (value);
    }
  if (back == NULL || strcmp (back, v) != 0)
    return fail (p,
                 "%s: \"%s\" is not sha256:<hex> MODE UID:GID [cap=<40 hex>] (four octal "
                 "digits, numeric owner, a revision-2 security.capability; not the default "
                 "attributes, which are written sha256:<hex>[+x])",
                 what, v);
  struct reg_store_attrs a;
  reg_store_attrs_parse (value + 65, &a);
  e->kind = (a.mode & 0111) ? REG_ENTRY_EXEC : REG_ENTRY_FILE;
  e->value = reg_steal (&value);
  p->v4 = true;
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

/* One `files` value into `e` (whose path is set). */
static int
parse_file_value (struct parse *p, const char *what, const char *v, struct reg_entry *e)
{
  if (strcmp (v, "dir") == 0)
    {
      e->kind = REG_ENTRY_DIR;
      return 0;
    }
  if (strncmp (v, "dir ", 4) == 0)
    {
      if (!reg_template_dir_attrs_ok (v + 4))
        return fail (p, "%s: \"%s\" is not dir MODE [USER[:GROUP]] (MODE four octal digits)", what,
                     v);
      e->kind = REG_ENTRY_DIR;
      p->v2 = true;
      p->v4 = p->v4 || v[4] > '1'; /* set-ID bits */
      return (e->value = strdup (v + 4)) == NULL ? oom (p) : 0;
    }
  if (strncmp (v, "-> ", 3) == 0)
    {
      const char *target = v + 3;
      if (target[0] == '\0' || strchr (target, '\n') || strlen (target) > RET_MAX_TARGET)
        return fail (p, "%s: symlink target is empty, multi-line or longer than %d bytes", what,
                     RET_MAX_TARGET);
      e->kind = REG_ENTRY_SYMLINK;
      return (e->value = strdup (target)) == NULL ? oom (p) : 0;
    }
  if (strncmp (v, "sha256:", 7) == 0 && strchr (v, ' '))
    return parse_variant (p, v, what, e);
  if (strncmp (v, "sha256:", 7) == 0)
    return parse_object (p, v, what, e);
  return fail (p, "%s: value \"%s\" is not sha256:<hex>[+x], \"-> TARGET\" or \"dir\"", what, v);
}

static int
parse_files (struct parse *p, yaml_node_t *m)
{
  if (m->type != YAML_MAPPING_NODE)
    return fail (p, "\"files\" must be a mapping of container path to entry");
  if (check_mapping (p, m, "files: ") < 0)
    return -1;
  size_t n = n_pairs (m);
  struct reg_template *t = p->t;
  if (n > 0 && (t->files = calloc (n, sizeof *t->files)) == NULL)
    return oom (p);
  for (size_t i = 0; i < n; i++)
    {
      yaml_node_pair_t *pair = &m->data.mapping.pairs.start[i];
      const char *path = text_of (p, pair->key);
      const char *v = text_of (p, pair->value);
      if (check_path (p, "files", path) < 0)
        return -1;
      _cleanup_free_ char *what = NULL;
      if (asprintf (&what, "files \"%s\"", path) < 0)
        return oom (p);
      if (v == NULL)
        return fail (p, "%s: value must be a string", what);
      struct reg_entry *e = &t->files[t->n_files++];
      if ((e->path = strdup (path)) == NULL)
        return oom (p);
      if (parse_file_value (p, what, v, e) < 0)
        return -1;
    }
  return 0;
}

/* One lib: {path: container-path, object: digest}. */
static int
parse_lib (struct parse *p, const char *name, yaml_node_t *v, struct reg_lib *lib)
{
  _cleanup_free_ char *what = NULL, *prefix = NULL;
  if (asprintf (&what, "lib %s", name) < 0 || asprintf (&prefix, "lib %s: ", name) < 0)
    return oom (p);
  if (v->type != YAML_MAPPING_NODE)
    return fail (p, "%s: must be a mapping {path, object}", what);
  if (check_mapping (p, v, prefix) < 0)
    return -1;
  const char *path = NULL, *object = NULL;
  for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++)
    {
      const char *k = text_of (p, q->key);
      const char *val = text_of (p, q->value);
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
  if ((lib->name = strdup (name)) == NULL || (lib->entry.path = strdup (path)) == NULL)
    return oom (p);
  return parse_object (p, object, what, &lib->entry);
}

static int
parse_libs (struct parse *p, yaml_node_t *m)
{
  if (m->type != YAML_MAPPING_NODE)
    return fail (p, "\"libs\" must be a mapping of name@soversion to {path, object}");
  if (check_mapping (p, m, "libs: ") < 0)
    return -1;
  size_t n = n_pairs (m);
  struct reg_template *t = p->t;
  if (n > 0 && (t->libs = calloc (n, sizeof *t->libs)) == NULL)
    return oom (p);
  for (size_t i = 0; i < n; i++)
    {
      yaml_node_pair_t *pair = &m->data.mapping.pairs.start[i];
      const char *name = text_of (p, pair->key);
      if (!lib_name_ok (name))
        return fail (p, "libs: \"%s\" is not name@soversion", name);
      /* Counted before it is filled, so a half-filled lib is freed. */
      if (parse_lib (p, name, node (p, pair->value), &t->libs[t->n_libs++]) < 0)
        return -1;
    }
  return 0;
}

static int
parse_env (struct parse *p, yaml_node_t *m)
{
  if (m->type != YAML_MAPPING_NODE)
    return fail (p, "\"env\" must be a mapping of NAME to value");
  if (check_mapping (p, m, "env: ") < 0)
    return -1;
  size_t n = n_pairs (m);
  if ((p->t->env = calloc (n + 1, sizeof (char *))) == NULL)
    return oom (p);
  for (size_t i = 0; i < n; i++)
    {
      yaml_node_pair_t *pair = &m->data.mapping.pairs.start[i];
      const char *k = text_of (p, pair->key);
      const char *v = text_of (p, pair->value);
      if (!env_key_ok (k))
        return fail (p, "env: \"%s\" is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", k);
      if (v == NULL)
        return fail (p, "env %s: value must be a string", k);
      if (asprintf (&p->t->env[i], "%s=%s", k, v) < 0)
        {
          p->t->env[i] = NULL;
          return oom (p);
        }
    }
  return 0;
}

static int
parse_requires (struct parse *p, yaml_node_t *n)
{
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
  if (n->type != YAML_SEQUENCE_NODE || n->data.sequence.items.start == n->data.sequence.items.top)
    return fail (p, "\"entrypoint\" must be a non-empty list of strings");
  if (string_list (p, n, "entrypoint", &p->t->entrypoint) < 0)
    return -1;
  if (p->t->entrypoint[0][0] == '\0')
    return fail (p, "\"entrypoint\": the program (first element) is empty");
  return 0;
}

/* users: / groups: lists of passwd(5) / group(5) lines. */
static int
parse_accounts (struct parse *p, yaml_node_t *n, bool users)
{
  const char *what = users ? "users" : "groups";
  char ***out = users ? &p->t->users : &p->t->groups;
  if (string_list (p, n, what, out) < 0)
    return -1;
  for (size_t i = 0; (*out)[i]; i++)
    if (users ? !reg_accounts_passwd_ok ((*out)[i]) : !reg_accounts_group_ok ((*out)[i]))
      return fail (
          p, "%s: \"%s\" is not a %s line (%s)", what, (*out)[i], users ? "passwd(5)" : "group(5)",
          users ? "name:password:uid:gid:gecos:home:shell" : "name:password:gid:member,...");
  return 0;
}

/* "MODE" or "MODE OWNER" with OWNER "USER" or "USER:GROUP" (names or
 * numbers): MODE exactly four octal digits (set-ID bits need format 4). */
bool
reg_template_dir_attrs_ok (const char *attrs)
{
  if (strlen (attrs) < 4 || strspn (attrs, "01234567") != 4)
    return false;
  if (attrs[4] == '\0')
    return true;
  const char *owner = attrs + 5;
  size_t n = strlen (owner);
  if (attrs[4] != ' ' || n == 0 || n > 65 || owner[0] == ':' || owner[n - 1] == ':')
    return false;
  return strspn (owner, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-$:") == n
         && strchr (owner, ':') == strrchr (owner, ':');
}

bool
reg_template_port_ok (const char *port)
{
  size_t n = strspn (port, "0123456789");
  if (n == 0 || n > 5 || port[0] == '0' || strtol (port, NULL, 10) > 65535)
    return false;
  return strcmp (port + n, "/tcp") == 0 || strcmp (port + n, "/udp") == 0;
}

static int
parse_expose (struct parse *p, yaml_node_t *n)
{
  if (string_list (p, n, "expose", &p->t->expose) < 0)
    return -1;
  for (size_t i = 0; p->t->expose[i]; i++)
    {
      if (!reg_template_port_ok (p->t->expose[i]))
        return fail (p, "expose: \"%s\" is not PORT/tcp or PORT/udp", p->t->expose[i]);
      for (size_t j = 0; j < i; j++)
        if (strcmp (p->t->expose[i], p->t->expose[j]) == 0)
          return fail (p, "expose: %s listed twice", p->t->expose[i]);
    }
  return 0;
}

static int
parse_format (struct parse *p, yaml_node_t *n)
{
  const char *v = n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
  if (v == NULL || strlen (v) != 1 || v[0] < '1' || v[0] > '4')
    return fail (p, "format \"%s\": this engine reads formats 1, 2, 3 and 4", v ? v : "");
  p->format = v;
  return 0;
}

static int
parse_stop_signal (struct parse *p, yaml_node_t *n)
{
  const char *v = n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
  if (v == NULL)
    return fail (p, "\"stop-signal\" must be a signal name");
  if ((p->t->stop_signal = reg_util_signal_number (v)) <= 0)
    return fail (p, "\"stop-signal\": \"%s\" is not a signal (SIGTERM, SIGQUIT, SIGINT, ...)", v);
  return 0;
}

bool
reg_template_user_ok (const char *user)
{
  size_t n = strlen (user);
  return n > 0 && n <= 65 && user[0] != ':' && user[n - 1] != ':'
         && strspn (user, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-$:")
                == n
         && strchr (user, ':') == strrchr (user, ':');
}

bool
reg_template_label_key_ok (const char *key)
{
  size_t n = strlen (key);
  if (n == 0 || n > 256 || strchr (key, '='))
    return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f)
      return false;
  return true;
}

static int
parse_workdir_user (struct parse *p, const char *k, yaml_node_t *n)
{
  const char *v = n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
  bool workdir = k[0] == 'w';
  if (v == NULL)
    return fail (p, "\"%s\" must be a string", k);
  if (workdir ? !reg_util_path_is_clean (v) : !reg_template_user_ok (v))
    return fail (p,
                 workdir ? "workdir: \"%s\" is not absolute and normalized"
                         : "user: \"%s\" is not NAME[:GROUP] (letters, digits, '_', '.', '-', "
                           "'$'; names or numbers)",
                 v);
  char **slot = workdir ? &p->t->workdir : &p->t->user;
  p->v3 = true;
  return (*slot = strdup (v)) ? 0 : oom (p);
}

static int
parse_volumes (struct parse *p, yaml_node_t *n)
{
  p->v3 = true;
  if (string_list (p, n, "volumes", &p->t->volumes) < 0)
    return -1;
  for (size_t i = 0; p->t->volumes[i]; i++)
    {
      const char *v = p->t->volumes[i];
      if (!reg_util_path_is_clean (v) || reg_envgen_skeleton_clash (v, true) != NULL
          || strcmp (v, "/proc") == 0 || strcmp (v, "/dev") == 0 || strcmp (v, "/sys") == 0)
        return fail (p,
                     "volumes: \"%s\" is not an absolute, normalized path outside /proc, /dev "
                     "and /sys",
                     v);
      for (size_t j = 0; j < i; j++)
        if (strcmp (v, p->t->volumes[j]) == 0)
          return fail (p, "volumes: %s listed twice", v);
    }
  return 0;
}

static int cmp_env (const void *a, const void *b);

static int
parse_labels (struct parse *p, yaml_node_t *m)
{
  p->v3 = true;
  if (m->type != YAML_MAPPING_NODE)
    return fail (p, "\"labels\" must be a mapping of KEY to value");
  if (check_mapping (p, m, "labels: ") < 0)
    return -1;
  size_t n = n_pairs (m);
  if ((p->t->labels = calloc (n + 1, sizeof (char *))) == NULL)
    return oom (p);
  for (size_t i = 0; i < n; i++)
    {
      yaml_node_pair_t *pair = &m->data.mapping.pairs.start[i];
      const char *k = text_of (p, pair->key), *v = text_of (p, pair->value);
      if (!reg_template_label_key_ok (k))
        return fail (p, "labels: \"%s\" is not a label key (1-256 printable bytes, no '=')", k);
      if (v == NULL)
        return fail (p, "labels %s: value must be a string", k);
      if (asprintf (&p->t->labels[i], "%s=%s", k, v) < 0)
        {
          p->t->labels[i] = NULL;
          return oom (p);
        }
    }
  qsort (p->t->labels, n, sizeof (char *), cmp_env);
  return 0;
}

/* healthcheck: {test: [...], interval, timeout, start-period: DURATION,
 * retries: N}: the same check as --health-* (health.h). */
static int
parse_healthcheck (struct parse *p, yaml_node_t *m)
{
  p->v3 = true;
  struct reg_healthcheck *h = &p->t->healthcheck;
  if (m->type != YAML_MAPPING_NODE)
    return fail (p, "\"healthcheck\" must be a mapping (test, interval, timeout, start-period, "
                    "retries)");
  if (check_mapping (p, m, "healthcheck: ") < 0)
    return -1;
  for (size_t i = 0; i < n_pairs (m); i++)
    {
      yaml_node_pair_t *pair = &m->data.mapping.pairs.start[i];
      const char *k = text_of (p, pair->key), *v = text_of (p, pair->value);
      _cleanup_error_ struct reg_error *e = NULL;
      int64_t *slot = strcmp (k, "interval") == 0       ? &h->interval
                      : strcmp (k, "timeout") == 0      ? &h->timeout
                      : strcmp (k, "start-period") == 0 ? &h->start_period
                                                        : NULL;
      if (strcmp (k, "test") == 0)
        {
          if (string_list (p, node (p, pair->value), "healthcheck: test", &h->test) < 0)
            return -1;
        }
      else if (strcmp (k, "retries") == 0)
        {
          char *end = NULL;
          long r = v ? strtol (v, &end, 10) : -1;
          if (v == NULL || *v == '\0' || *end || r < 0 || r > 1000000)
            return fail (p, "healthcheck: retries \"%s\" is not a number of 0 to 1000000",
                         v ? v : "");
          h->retries = (int)r;
        }
      else if (slot == NULL)
        return fail (p,
                     "healthcheck: unknown field \"%s\" (test, interval, timeout, start-period, "
                     "retries)",
                     k);
      else if (v == NULL || reg_health_duration_parse (k, v, slot, &e) < 0)
        return fail (p, "healthcheck: %s", e ? e->msg : "a duration must be a string");
    }
  _cleanup_error_ struct reg_error *e = NULL;
  if (h->test == NULL)
    return fail (p, "healthcheck: missing \"test\"");
  if (reg_health_check_valid (h, &e) < 0)
    return fail (p, "healthcheck: %s", e->msg);
  return 0;
}

static int
parse_field (struct parse *p, const char *k, yaml_node_t *v)
{
  if (strcmp (k, "workdir") == 0 || strcmp (k, "user") == 0)
    return parse_workdir_user (p, k, v);
  if (strcmp (k, "volumes") == 0)
    return parse_volumes (p, v);
  if (strcmp (k, "labels") == 0)
    return parse_labels (p, v);
  if (strcmp (k, "healthcheck") == 0)
    return parse_healthcheck (p, v);
  if (strcmp (k, "name") == 0 || strcmp (k, "version") == 0)
    return 0; /* done first */
  if (strcmp (k, "format") == 0)
    return parse_format (p, v);
  if (strcmp (k, "users") == 0 || strcmp (k, "groups") == 0)
    return parse_accounts (p, v, k[0] == 'u');
  if (strcmp (k, "expose") == 0)
    return parse_expose (p, v);
  if (strcmp (k, "requires") == 0)
    return parse_requires (p, v);
  if (strcmp (k, "entrypoint") == 0)
    return parse_entrypoint (p, v);
  if (strcmp (k, "stop-signal") == 0)
    return parse_stop_signal (p, v);
  if (strcmp (k, "env") == 0)
    return parse_env (p, v);
  if (strcmp (k, "files") == 0)
    return parse_files (p, v);
  if (strcmp (k, "libs") == 0)
    return parse_libs (p, v);
  return fail (p, "unknown field \"%s\"", k);
}

/* The value of the first top-level key `key`, NULL if absent. */
static yaml_node_t *
top_value (struct parse *p, yaml_node_t *root, const char *key)
{
  for (yaml_node_pair_t *a = root->data.mapping.pairs.start; a < root->data.mapping.pairs.top; a++)
    {
      const char *k = text_of (p, a->key);
      if (k && strcmp (k, key) == 0)
        return node (p, a->value);
    }
  return NULL;
}

/* Name and version first, so that every later error names the template. */
static int
parse_identity (struct parse *p, yaml_node_t *root, const char *origin, char **who)
{
  yaml_node_t *nn = top_value (p, root, "name"), *vn = top_value (p, root, "version");
  const char *name
      = nn && nn->type == YAML_SCALAR_NODE ? (const char *)nn->data.scalar.value : NULL;
  const char *version
      = vn && vn->type == YAML_SCALAR_NODE ? (const char *)vn->data.scalar.value : NULL;
  int r;
  if (reg_template_name_ok (name) && reg_template_version_ok (version))
    r = asprintf (who, "template %s@%s", name, version);
  else
    r = asprintf (who, "RET file %s", origin);
  if (r < 0)
    {
      *who = NULL;
      return oom (p);
    }
  p->who = *who;
  if (check_mapping (p, root, "") < 0)
    return -1;
  if (nn == NULL || vn == NULL)
    return fail (p, "missing \"%s\"", nn == NULL ? "name" : "version");
  if (name == NULL || version == NULL)
    return fail (p, "\"%s\" must be a string", name == NULL ? "name" : "version");
  if (!reg_template_name_ok (name))
    return fail (p,
                 "invalid name \"%s\" (lower-case letters, digits, '.', '_', '-'; at most 128; "
                 "starts with a letter or digit)",
                 name);
  if (!reg_template_version_ok (version))
    return fail (p,
                 "invalid version \"%s\" (letters, digits, '.', '_', '+', '-'; at most 128; "
                 "starts with a letter or digit)",
                 version);
  if ((p->t->name = strdup (name)) == NULL || (p->t->version = strdup (version)) == NULL)
    return oom (p);
  return 0;
}

static int
parse_document (struct parse *p, const char *origin)
{
  yaml_node_t *root = yaml_document_get_root_node (p->doc);
  if (root->type != YAML_MAPPING_NODE)
    return reg_error_set (p->err, EINVAL, "RET file %s: top level must be a mapping", origin);
  _cleanup_free_ char *who = NULL;
  if (parse_identity (p, root, origin, &who) < 0)
    return -1;
  for (yaml_node_pair_t *a = root->data.mapping.pairs.start; a < root->data.mapping.pairs.top; a++)
    if (parse_field (p, text_of (p, a->key), node (p, a->value)) < 0)
      return -1;
  struct reg_template *t = p->t;
  bool v2 = reg_strv_len (t->users) + reg_strv_len (t->groups) + reg_strv_len (t->expose) > 0
            || t->stop_signal > 0;
  if ((v2 || p->v2) && (p->format == NULL || strcmp (p->format, "1") == 0))
    return fail (p, "\"users\", \"groups\", \"expose\", \"stop-signal\" and \"dir MODE\" need "
                    "format: '2' (an older engine would refuse them)");
  if (p->v3 && (p->format == NULL || p->format[0] < '3'))
    return fail (p, "\"workdir\", \"user\", \"volumes\", \"labels\" and \"healthcheck\" need "
                    "format: '3' (an older engine would refuse them)");
  if (p->v4 && (p->format == NULL || p->format[0] < '4'))
    return fail (p, "files with a mode, owner or capability (sha256:<hex> MODE UID:GID) and "
                    "set-ID directories need format: '4' (an older engine would refuse them)");
  if (t->requires == NULL && (t->requires = calloc (1, sizeof (char *))) == NULL)
    return oom (p);
  if (t->env == NULL && (t->env = calloc (1, sizeof (char *))) == NULL)
    return oom (p);
  return reg_template_normalize (t, p->err);
}

int
reg_template_parse (const char *text, size_t len, const char *origin, struct reg_template **out,
                    struct reg_error **err)
{
  *out = NULL;
  if (origin == NULL)
    origin = "input";
  if (text == NULL)
    text = "";
  if (len > RET_MAX_BYTES)
    return reg_error_set (err, EFBIG, "RET file %s: larger than %d bytes", origin, RET_MAX_BYTES);
  if (memchr (text, '\0', len) != NULL)
    return reg_error_set (err, EINVAL, "RET file %s: contains a NUL byte", origin);
  yaml_document_t doc;
  _cleanup_free_ char *label = NULL;
  if (asprintf (&label, "RET file %s", origin) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_template_yaml_load (text, len, label, &doc, err) < 0)
    return -1;
  struct parse p = { .doc = &doc, .err = err };
  int ret = -1;
  if ((p.t = calloc (1, sizeof *p.t)) == NULL)
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

/* "KEY=VALUE" strings by KEY ("A=1" before "A1=1", which plain strcmp
 * would reverse). */
static int
cmp_env (const void *a, const void *b)
{
  const char *x = *(char *const *)a, *y = *(char *const *)b;
  size_t lx = env_key_len (x), ly = env_key_len (y);
  int c = memcmp (x, y, lx < ly ? lx : ly);
  if (c != 0)
    return c;
  return lx < ly ? -1 : lx > ly;
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

/* No two entries for one path; a path below another entry needs that entry
 * to be a directory. `d` sorted by path. */
static int
check_dests (const struct reg_template *t, struct dest *d, size_t total, struct reg_error **err)
{
  const char *n = t->name ? t->name : "?", *v = t->version ? t->version : "?";
  for (size_t i = 1; i < total; i++)
    if (strcmp (d[i - 1].path, d[i].path) == 0)
      return reg_error_set (err, EINVAL, "template %s@%s: two entries for \"%s\"", n, v, d[i].path);
  for (size_t i = 0; i < total; i++)
    {
      const char *why = reg_envgen_skeleton_clash (d[i].path, d[i].kind == REG_ENTRY_DIR);
      if (why)
        return reg_error_set (err, EINVAL, "template %s@%s: \"%s\" %s", n, v, d[i].path, why);
      _cleanup_free_ char *buf = strdup (d[i].path);
      if (buf == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      for (char *slash = strrchr (buf, '/'); slash && slash != buf; slash = strrchr (buf, '/'))
        {
          *slash = '\0';
          struct dest key = { buf, REG_ENTRY_DIR };
          struct dest *parent = bsearch (&key, d, total, sizeof *d, cmp_dest);
          if (parent && parent->kind != REG_ENTRY_DIR)
            return reg_error_set (err, EINVAL,
                                  "template %s@%s: \"%s\" is inside \"%s\", which is not a "
                                  "directory",
                                  n, v, d[i].path, buf);
        }
    }
  return 0;
}

int
reg_template_normalize (struct reg_template *t, struct reg_error **err)
{
  const char *n = t->name ? t->name : "?", *v = t->version ? t->version : "?";
  if (t->n_files > 1)
    qsort (t->files, t->n_files, sizeof *t->files, cmp_entry);
  if (t->n_libs > 1)
    qsort (t->libs, t->n_libs, sizeof *t->libs, cmp_lib);
  size_t n_env = reg_strv_len (t->env);
  if (n_env > 1)
    qsort (t->env, n_env, sizeof (char *), cmp_env);
  for (size_t i = 0; i < n_env; i++)
    {
      if (strchr (t->env[i], '=') == NULL || t->env[i][0] == '=')
        return reg_error_set (err, EINVAL, "template %s@%s: env entry \"%s\" is not KEY=VALUE", n,
                              v, t->env[i]);
      if (i > 0 && cmp_env (&t->env[i - 1], &t->env[i]) == 0)
        return reg_error_set (err, EINVAL, "template %s@%s: env \"%.*s\" set twice", n, v,
                              (int)env_key_len (t->env[i]), t->env[i]);
    }
  const char *dup = NULL;
  if (reg_accounts_sort (t->users, &dup) < 0 || reg_accounts_sort (t->groups, &dup) < 0)
    return reg_error_set (err, EINVAL, "template %s@%s: account \"%.*s\" listed twice", n, v,
                          (int)strcspn (dup, ":"), dup);
  for (size_t i = 0; i < t->n_files; i++)
    if (t->files[i].kind == REG_ENTRY_DIR && t->files[i].value && strchr (t->files[i].value, ' '))
      {
        /* The owner must resolve wherever the template is used. */
        const char *owner = strchr (t->files[i].value, ' ') + 1;
        uid_t uid;
        gid_t gid;
        if (reg_accounts_resolve (t->users, t->groups, owner, &uid, &gid, NULL) < 0)
          return reg_error_set (err, EINVAL,
                                "template %s@%s: files \"%s\": owner \"%s\" is not root, nobody "
                                "or an account of the template (--user, --group, users:, groups:)",
                                n, v, t->files[i].path, owner);
      }
  for (size_t i = 1; i < t->n_libs; i++)
    if (strcmp (t->libs[i - 1].name, t->libs[i].name) == 0)
      return reg_error_set (err, EINVAL, "template %s@%s: lib %s listed twice", n, v,
                            t->libs[i].name);
  size_t total = t->n_files + t->n_libs;
  if (total == 0)
    return 0;
  _cleanup_free_ struct dest *d = calloc (total, sizeof *d);
  if (d == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; i < t->n_files; i++)
    d[i] = (struct dest){ t->files[i].path, t->files[i].kind };
  for (size_t i = 0; i < t->n_libs; i++)
    d[t->n_files + i] = (struct dest){ t->libs[i].entry.path, t->libs[i].entry.kind };
  qsort (d, total, sizeof *d, cmp_dest);
  return check_dests (t, d, total, err);
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
emit_event (struct emit *em, yaml_event_t *ev, int initialized)
{
  if (!initialized)
    em->ok = false;
  else if (!em->ok)
    yaml_event_delete (ev);
  else if (!yaml_emitter_emit (&em->e, ev))
    em->ok = false;
}

/* Would a YAML 1.1 or 1.2 reader with the usual schemas take this plain
 * scalar for a null, boolean or number ("", "yes", "3.10", ".inf")? Then it
 * is written quoted, so that every YAML reader sees the same strings as
 * reg does. Errs on the side of quoting ("3.11.2" is quoted too). */
static bool
looks_like_non_string (const char *s, size_t len)
{
  static const char *const words[]
      = { "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~", "<<", NULL };
  if (len == 0)
    return true;
  for (size_t i = 0; words[i]; i++)
    if (strlen (words[i]) == len && strncasecmp (s, words[i], len) == 0)
      return true;
  if (s[0] >= '0' && s[0] <= '9')
    return true;
  if (len > 1 && strchr ("+-.", s[0]) != NULL)
    return (s[1] >= '0' && s[1] <= '9') || strchr (".iInN", s[1]) != NULL;
  return false;
}

static void
emit_scalar_n (struct emit *em, const char *s, size_t len)
{
  yaml_event_t ev;
  if (s == NULL)
    {
      em->ok = false;
      return;
    }
  yaml_scalar_style_t style
      = looks_like_non_string (s, len) ? YAML_SINGLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE;
  emit_event (
      em, &ev,
      yaml_scalar_event_initialize (&ev, NULL, NULL, (yaml_char_t *)s, (int)len, 1, 1, style));
}

static void
emit_scalar (struct emit *em, const char *s)
{
  emit_scalar_n (em, s, s ? strlen (s) : 0);
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
  emit_event (em, &ev, r);
}

static void
emit_end (struct emit *em, bool mapping)
{
  yaml_event_t ev;
  emit_event (em, &ev,
              mapping ? yaml_mapping_end_event_initialize (&ev)
                      : yaml_sequence_end_event_initialize (&ev));
}

static void
emit_list (struct emit *em, const char *key, char **v)
{
  emit_scalar (em, key);
  emit_start (em, false, true);
  for (size_t i = 0; v[i]; i++)
    emit_scalar (em, v[i]);
  emit_end (em, false);
}

/* The value a files entry or a lib object is written as; NULL when the
 * entry cannot be written. */
static char *
entry_value (const struct reg_entry *e)
{
  char *s = NULL;
  int r = -1;
  if (e->kind == REG_ENTRY_DIR && e->value)
    return asprintf (&s, "dir %s", e->value) < 0 ? NULL : s;
  if (e->kind == REG_ENTRY_DIR)
    return strdup ("dir");
  if (e->value == NULL)
    return NULL;
  if (strchr (e->value, '+') && e->kind != REG_ENTRY_SYMLINK)
    return variant_text (e->value);
  if (e->kind == REG_ENTRY_FILE)
    r = asprintf (&s, "sha256:%s", e->value);
  else if (e->kind == REG_ENTRY_EXEC)
    r = asprintf (&s, "sha256:%s+x", e->value);
  else if (e->kind == REG_ENTRY_SYMLINK)
    r = asprintf (&s, "-> %s", e->value);
  return r < 0 ? NULL : s;
}

static int
cmp_entry_ptr (const void *a, const void *b)
{
  return cmp_entry (*(const struct reg_entry *const *)a, *(const struct reg_entry *const *)b);
}

static int
cmp_lib_ptr (const void *a, const void *b)
{
  return cmp_lib (*(const struct reg_lib *const *)a, *(const struct reg_lib *const *)b);
}

static void
emit_env (struct emit *em, char *const *env)
{
  size_t n = reg_strv_len (env);
  _cleanup_free_ char **sorted = n ? calloc (n, sizeof (char *)) : NULL;
  if (n == 0 || sorted == NULL)
    {
      em->ok = em->ok && n == 0;
      return;
    }
  memcpy (sorted, env, n * sizeof (char *));
  qsort (sorted, n, sizeof (char *), cmp_env);
  emit_scalar (em, "env");
  emit_start (em, true, false);
  for (size_t i = 0; i < n; i++)
    {
      size_t k = env_key_len (sorted[i]);
      if (sorted[i][k] != '=' || k == 0)
        em->ok = false; /* not KEY=VALUE */
      emit_scalar_n (em, sorted[i], k);
      emit_scalar (em, sorted[i] + k + (sorted[i][k] == '='));
    }
  emit_end (em, true);
}

/* labels: sorted KEY=VALUE as a block mapping. */
static void
emit_labels (struct emit *em, char *const *labels)
{
  size_t n = reg_strv_len (labels);
  _cleanup_free_ char **sorted = n ? calloc (n, sizeof (char *)) : NULL;
  if (n == 0 || sorted == NULL)
    {
      em->ok = em->ok && n == 0;
      return;
    }
  memcpy (sorted, labels, n * sizeof (char *));
  qsort (sorted, n, sizeof (char *), cmp_env);
  emit_scalar (em, "labels");
  emit_start (em, true, false);
  for (size_t i = 0; i < n; i++)
    {
      size_t k = strcspn (sorted[i], "=");
      if (sorted[i][k] != '=' || k == 0)
        em->ok = false;
      emit_scalar_n (em, sorted[i], k);
      emit_scalar (em, sorted[i] + k + (sorted[i][k] == '='));
    }
  emit_end (em, true);
}

/* A duration as reg_health_duration_parse reads it: its largest exact unit. */
static void
emit_duration (struct emit *em, const char *key, int64_t ns)
{
  static const struct
  {
    const char *unit;
    int64_t ns;
  } units[] = { { "h", 3600000000000LL }, { "m", 60000000000LL }, { "s", 1000000000LL },
                { "ms", 1000000LL },      { "us", 1000LL },       { "ns", 1 } };
  if (ns <= 0)
    return;
  size_t u = 0;
  while (ns % units[u].ns != 0)
    u++;
  char text[48];
  snprintf (text, sizeof text, "%lld%s", (long long)(ns / units[u].ns), units[u].unit);
  emit_scalar (em, key);
  emit_scalar (em, text);
}

static void
emit_healthcheck (struct emit *em, const struct reg_healthcheck *h)
{
  if (h->test == NULL)
    return;
  emit_scalar (em, "healthcheck");
  emit_start (em, true, false);
  emit_duration (em, "interval", h->interval); /* keys sorted */
  if (h->retries > 0)
    {
      char n[16];
      snprintf (n, sizeof n, "%d", h->retries);
      emit_scalar (em, "retries");
      emit_scalar (em, n);
    }
  emit_duration (em, "start-period", h->start_period);
  emit_list (em, "test", h->test);
  emit_duration (em, "timeout", h->timeout);
  emit_end (em, true);
}

static void
emit_files (struct emit *em, const struct reg_template *t)
{
  if (t->n_files == 0)
    return;
  _cleanup_free_ const struct reg_entry **sorted = calloc (t->n_files, sizeof *sorted);
  if (sorted == NULL)
    {
      em->ok = false;
      return;
    }
  for (size_t i = 0; i < t->n_files; i++)
    sorted[i] = &t->files[i];
  qsort (sorted, t->n_files, sizeof *sorted, cmp_entry_ptr);
  emit_scalar (em, "files");
  emit_start (em, true, false);
  for (size_t i = 0; i < t->n_files; i++)
    {
      _cleanup_free_ char *v = entry_value (sorted[i]);
      emit_scalar (em, sorted[i]->path);
      emit_scalar (em, v);
    }
  emit_end (em, true);
}

static void
emit_libs (struct emit *em, const struct reg_template *t)
{
  if (t->n_libs == 0)
    return;
  _cleanup_free_ const struct reg_lib **sorted = calloc (t->n_libs, sizeof *sorted);
  if (sorted == NULL)
    {
      em->ok = false;
      return;
    }
  for (size_t i = 0; i < t->n_libs; i++)
    sorted[i] = &t->libs[i];
  qsort (sorted, t->n_libs, sizeof *sorted, cmp_lib_ptr);
  emit_scalar (em, "libs");
  emit_start (em, true, false);
  for (size_t i = 0; i < t->n_libs; i++)
    {
      _cleanup_free_ char *v = entry_value (&sorted[i]->entry);
      emit_scalar (em, sorted[i]->name);
      emit_start (em, true, true);
      emit_scalar (em, "object"); /* keys sorted here too */
      emit_scalar (em, v);
      emit_scalar (em, "path");
      emit_scalar (em, sorted[i]->entry.path);
      emit_end (em, true);
    }
  emit_end (em, true);
}

/* The fixed layout: identity first, then the other fields in a fixed
 * order; every mapping below the top level sorted by key. */
static void
emit_template (struct emit *em, const struct reg_template *t)
{
  yaml_event_t ev;
  emit_event (em, &ev, yaml_stream_start_event_initialize (&ev, YAML_UTF8_ENCODING));
  emit_event (em, &ev, yaml_document_start_event_initialize (&ev, NULL, NULL, NULL, 1));
  emit_start (em, true, false);
  emit_scalar (em, "name");
  emit_scalar (em, t->name);
  emit_scalar (em, "version");
  emit_scalar (em, t->version);
  bool v2 = reg_strv_len (t->users) + reg_strv_len (t->groups) + reg_strv_len (t->expose) > 0
            || t->stop_signal > 0;
  for (size_t i = 0; i < t->n_files && !v2; i++)
    v2 = t->files[i].kind == REG_ENTRY_DIR && t->files[i].value;
  bool v3 = t->workdir || t->user || reg_strv_len (t->volumes) + reg_strv_len (t->labels) > 0
            || t->healthcheck.test;
  bool v4 = false;
  for (size_t i = 0; i < t->n_files && !v4; i++)
    {
      const struct reg_entry *f = &t->files[i];
      v4 = f->kind == REG_ENTRY_DIR
               ? f->value && f->value[0] > '1'
               : f->kind != REG_ENTRY_SYMLINK && f->value && strchr (f->value, '+');
    }
  if (v2 || v3 || v4)
    {
      emit_scalar (em, "format");
      emit_scalar (em, v4 ? "4" : v3 ? "3" : "2");
    }
  if (reg_strv_len (t->requires) > 0)
    emit_list (em, "requires", t->requires);
  if (reg_strv_len (t->entrypoint) > 0)
    emit_list (em, "entrypoint", t->entrypoint);
  if (t->stop_signal > 0)
    {
      char name[REG_SIGNAL_NAME_MAX];
      emit_scalar (em, "stop-signal");
      emit_scalar (em, reg_util_signal_name (t->stop_signal, name));
    }
  if (t->workdir)
    {
      emit_scalar (em, "workdir");
      emit_scalar (em, t->workdir);
    }
  if (t->user)
    {
      emit_scalar (em, "user");
      emit_scalar (em, t->user);
    }
  emit_env (em, t->env);
  if (reg_strv_len (t->users) > 0)
    emit_list (em, "users", t->users);
  if (reg_strv_len (t->groups) > 0)
    emit_list (em, "groups", t->groups);
  if (reg_strv_len (t->expose) > 0)
    emit_list (em, "expose", t->expose);
  if (reg_strv_len (t->volumes) > 0)
    emit_list (em, "volumes", t->volumes);
  emit_labels (em, t->labels);
  emit_healthcheck (em, &t->healthcheck);
  emit_files (em, t);
  emit_libs (em, t);
  emit_end (em, true);
  emit_event (em, &ev, yaml_document_end_event_initialize (&ev, 1));
  emit_event (em, &ev, yaml_stream_end_event_initialize (&ev));
}

char *
reg_template_serialize (const struct reg_template *t)
{
  struct out o = { 0 };
  struct emit em = { .ok = true };
  if (!yaml_emitter_initialize (&em.e))
    return NULL;
  yaml_emitter_set_output (&em.e, write_out, &o);
  yaml_emitter_set_width (&em.e, -1); /* never fold a line */
  yaml_emitter_set_unicode (&em.e, 1);
  yaml_emitter_set_indent (&em.e, 2);
  yaml_emitter_set_break (&em.e, YAML_LN_BREAK);
  emit_template (&em, t);
  yaml_emitter_delete (&em.e);
  /* libyaml leaves the last line open; a text file ends with a newline. */
  if (em.ok && o.len > 0 && o.data[o.len - 1] != '\n')
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
    return reg_error_set (err, EINVAL, "template %s@%s: cannot be serialized",
                          t->name ? t->name : "?", t->version ? t->version : "?");
  unsigned char md[32];
  unsigned int md_len = 0;
  if (EVP_Digest (text, strlen (text), md, &md_len, EVP_sha256 (), NULL) != 1 || md_len != 32)
    return reg_error_set (err, EIO, "template %s@%s: SHA-256 failed", t->name, t->version);
  reg_util_hex (md, 32, digest);
  return 0;
}

/* ---- store check ---- */

static bool
has_object (const struct reg_store *store, const struct reg_entry *e)
{
  return e->value && reg_store_has (store, e->value, e->kind == REG_ENTRY_EXEC);
}

int
reg_template_check_objects (const struct reg_template *t, const struct reg_store *store,
                            struct reg_error **err)
{
  for (size_t i = 0; i < t->n_files; i++)
    {
      const struct reg_entry *e = &t->files[i];
      if ((e->kind == REG_ENTRY_FILE || e->kind == REG_ENTRY_EXEC) && !has_object (store, e))
        {
          _cleanup_free_ char *name
              = e->value ? reg_store_name (e->value, e->kind == REG_ENTRY_EXEC) : NULL;
          return reg_error_set (err, ENOENT,
                                "template %s@%s: file \"%s\": object sha256:%s not in store",
                                t->name, t->version, e->path, name ? name : "?");
        }
    }
  for (size_t i = 0; i < t->n_libs; i++)
    {
      const struct reg_entry *e = &t->libs[i].entry;
      if (!has_object (store, e))
        return reg_error_set (err, ENOENT,
                              "template %s@%s: lib %s: object sha256:%s%s not in store", t->name,
                              t->version, t->libs[i].name, e->value ? e->value : "?",
                              e->kind == REG_ENTRY_EXEC ? "+x" : "");
    }
  return 0;
}

/* ---- repository ---- */

static char *
name_dir (const char *root, const char *name)
{
  return reg_root_path (root, REG_ROOT_TEMPLATE, name, NULL);
}

static char *
ret_path (const char *root, const char *name, const char *version)
{
  return reg_root_path (root, REG_ROOT_TEMPLATE_FILE, name, version);
}

/* Hand a local error to the caller, who may not want it. */
static int
give_error (struct reg_error **err, struct reg_error *e)
{
  if (err && *err == NULL)
    *err = e;
  else
    reg_error_free (e);
  return -1;
}

static int
load_text (const char *ref, const char *name, const char *version, const char *text, size_t len,
           const char *path, struct reg_template **out, struct reg_error **err)
{
  struct reg_error *e = NULL;
  struct reg_template *t = NULL;
  if (reg_template_parse (text, len, path, &t, &e) < 0)
    {
      /* Name the ref unless the message already starts with it. */
      size_t n = strlen ("template ") + strlen (ref);
      if (!(strncmp (e->msg, "template ", 9) == 0 && strncmp (e->msg + 9, ref, strlen (ref)) == 0
            && e->msg[n] == ':'))
        reg_error_prefix (&e, "template %s", ref);
      return give_error (err, e);
    }
  if (strcmp (t->name, name) != 0 || strcmp (t->version, version) != 0)
    {
      reg_error_set (err, EINVAL, "template %s: %s names %s@%s", ref, path, t->name, t->version);
      reg_template_free (t);
      return -1;
    }
  *out = t;
  return 0;
}

int
reg_template_load (const char *root, const char *ref, struct reg_template **out,
                   struct reg_error **err)
{
  *out = NULL;
  _cleanup_free_ char *name = NULL, *version = NULL;
  struct reg_error *e = NULL;
  if (reg_template_split_ref (ref, &name, &version, &e) < 0)
    {
      reg_error_prefix (&e, "template %s", ref ? ref : "");
      return give_error (err, e);
    }
  _cleanup_free_ char *path = ret_path (root, name, version);
  if (path == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  if (reg_util_read_file (path, RET_MAX_BYTES, &text, &len, &e) < 0)
    {
      int code = e->code;
      reg_error_free (e);
      if (code == ENOENT)
        return reg_error_set (err, ENOENT, "template %s: not found", ref);
      return reg_error_sys (err, code, "template %s: read %s", ref, path);
    }
  return load_text (ref, name, version, text, len, path, out, err);
}

/* Depth-first walk of the requires graph from the template being saved.
 * chain[0] is that template, chain[1..depth] the path to the current one;
 * a path back to chain[0] is a cycle. Templates explored once are skipped:
 * had they led back, the first visit would have found it. */
struct walk
{
  const char *root;
  const char *chain[REQUIRES_MAX_DEPTH + 2];
  char **visited;
  size_t n_visited;
};

/* "a@1 -> b@2 -> a@1" or "b@2, which requires c@3" from chain[from..to]. */
static char *
join_chain (const struct walk *w, int from, int to, const char *sep)
{
  char *s = strdup (w->chain[from]);
  for (int i = from + 1; s && i <= to; i++)
    {
      char *n = NULL;
      if (asprintf (&n, "%s%s%s", s, sep, w->chain[i]) < 0)
        n = NULL;
      free (s);
      s = n;
    }
  return s;
}

static bool
visited (struct walk *w, const char *ref)
{
  for (size_t i = 0; i < w->n_visited; i++)
    if (strcmp (w->visited[i], ref) == 0)
      return true;
  return false;
}

static int
mark_visited (struct walk *w, const char *ref)
{
  char **n = realloc (w->visited, (w->n_visited + 2) * sizeof (char *));
  if (n == NULL)
    return -1;
  w->visited = n;
  if ((n[w->n_visited] = strdup (ref)) == NULL)
    return -1;
  n[++w->n_visited] = NULL;
  return 0;
}

static int walk_requires (struct walk *w, char *const *requires, int depth, struct reg_error **err);

/* Step from chain[depth - 1] to chain[depth]. */
static int
walk_one (struct walk *w, int depth, struct reg_error **err)
{
  const char *start = w->chain[0], *r = w->chain[depth];
  if (strcmp (r, start) == 0)
    {
      _cleanup_free_ char *msg = join_chain (w, 0, depth, " -> ");
      if (msg == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      return reg_error_set (err, EINVAL, "template %s: cyclic requires: %s", start, msg);
    }
  if (visited (w, r))
    return 0;
  if (depth > REQUIRES_MAX_DEPTH)
    return reg_error_set (err, ELOOP, "template %s: requires nested deeper than %d", start,
                          REQUIRES_MAX_DEPTH);
  if (mark_visited (w, r) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  struct reg_template *t = NULL;
  struct reg_error *e = NULL;
  if (reg_template_load (w->root, r, &t, &e) < 0)
    {
      if (e->code != ENOENT)
        {
          reg_error_prefix (&e, "template %s: requires %s", start, r);
          return give_error (err, e);
        }
      reg_error_free (e);
      _cleanup_free_ char *msg = join_chain (w, 1, depth, ", which requires ");
      if (msg == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      return reg_error_set (err, ENOENT, "template %s: requires %s, which is not installed", start,
                            msg);
    }
  int ret = walk_requires (w, t->requires, depth, err);
  reg_template_free (t);
  return ret;
}

static int
walk_requires (struct walk *w, char *const *requires, int depth, struct reg_error **err)
{
  for (size_t i = 0; requires && requires[i]; i++)
    {
      w->chain[depth + 1] = requires[i];
      if (walk_one (w, depth + 1, err) < 0)
        return -1;
    }
  return 0;
}

static int
check_requires (const char *root, const char *ref, char *const *requires, struct reg_error **err)
{
  struct walk w = { .root = root };
  w.chain[0] = ref;
  int ret = walk_requires (&w, requires, 0, err);
  reg_strv_free (w.visited);
  return ret;
}

/* The canonical text of `t`, after checking that it reads back as the same
 * template: everything the parser rejects is rejected here too, for
 * templates built in memory (reg template create) as for parsed ones. */
static char *
validated_text (const struct reg_template *t, const char *ref, struct reg_error **err)
{
  _cleanup_free_ char *text = reg_template_serialize (t);
  if (text == NULL)
    {
      reg_error_set (err, EINVAL,
                     "template %s: cannot be serialized (a field is missing, not "
                     "valid or not UTF-8)",
                     ref);
      return NULL;
    }
  struct reg_template *back = NULL;
  if (reg_template_parse (text, strlen (text), ref, &back, err) < 0)
    return NULL;
  _cleanup_free_ char *again = reg_template_serialize (back);
  reg_template_free (back);
  if (again == NULL || strcmp (again, text) != 0)
    {
      reg_error_set (err, EINVAL, "template %s: does not read back as itself", ref);
      return NULL;
    }
  return reg_steal (&text);
}

/* mkdir that says whether it created the directory. */
static int
make_dir (const char *path, bool *created, struct reg_error **err)
{
  *created = false;
  if (mkdir (path, 0700) == 0)
    *created = true;
  else if (errno != EEXIST)
    return reg_error_sys (err, errno, "mkdir %s", path);
  return 0;
}

static int
write_ret (const char *root, const struct reg_template *t, const char *ref, const char *text,
           struct reg_error **err)
{
  _cleanup_free_ char *top = reg_root_path (root, REG_ROOT_TEMPLATES, NULL, NULL);
  _cleanup_free_ char *dir = name_dir (root, t->name);
  _cleanup_free_ char *path = ret_path (root, t->name, t->version);
  if (dir == NULL || path == NULL || top == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  bool made_top = false, made_dir = false;
  int ret = make_dir (top, &made_top, err);
  if (ret == 0)
    ret = make_dir (dir, &made_dir, err);
  if (ret == 0)
    ret = reg_util_write_atomic (path, text, strlen (text), 0644, err);
  if (ret < 0)
    {
      /* Leave the repository as it was. */
      if (made_dir)
        rmdir (dir);
      if (made_top)
        rmdir (top);
      return reg_error_prefix (err, "template %s", ref);
    }
  return 0;
}

int
reg_template_save (const char *root, const struct reg_store *store, const struct reg_template *t,
                   struct reg_error **err)
{
  if (!reg_template_name_ok (t->name) || !reg_template_version_ok (t->version))
    return reg_error_set (err, EINVAL, "template %s@%s: invalid name or version",
                          t->name ? t->name : "", t->version ? t->version : "");
  _cleanup_free_ char *ref = NULL;
  if (asprintf (&ref, "%s@%s", t->name, t->version) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  _cleanup_free_ char *text = validated_text (t, ref, err);
  if (text == NULL)
    return -1;
  if (reg_template_check_objects (t, store, err) < 0)
    return -1;
  if (check_requires (root, ref, t->requires, err) < 0)
    return -1;
  return write_ret (root, t, ref, text, err);
}

/* The first installed template other than `ref` that requires it. */
static int
required_by (const char *root, const char *ref, char **by, struct reg_error **err)
{
  *by = NULL;
  _cleanup_strv_ char **all = NULL;
  if (reg_template_list (root, &all, err) < 0)
    return -1;
  for (size_t i = 0; all[i]; i++)
    {
      struct reg_template *o = NULL;
      if (strcmp (all[i], ref) == 0 || reg_template_load (root, all[i], &o, NULL) < 0)
        continue; /* an unreadable template cannot be resolved anyway */
      bool needs = false;
      for (size_t k = 0; o->requires[k] && !needs; k++)
        needs = strcmp (o->requires[k], ref) == 0;
      reg_template_free (o);
      if (needs)
        return (*by = strdup (all[i])) ? 0 : reg_error_set (err, ENOMEM, "out of memory");
    }
  return 0;
}

int
reg_template_remove (const char *root, const char *ref, struct reg_error **err)
{
  _cleanup_free_ char *name = NULL, *version = NULL;
  if (reg_template_split_ref (ref, &name, &version, err) < 0)
    return reg_error_prefix (err, "template %s", ref ? ref : "");
  _cleanup_free_ char *path = ret_path (root, name, version), *dir = name_dir (root, name);
  if (path == NULL || dir == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  /* Not a full load: a damaged RET file can still be removed. */
  struct stat st;
  if (lstat (path, &st) < 0)
    {
      if (errno == ENOENT)
        return reg_error_set (err, ENOENT, "template %s: not found", ref);
      return reg_error_sys (err, errno, "template %s: %s", ref, path);
    }
  _cleanup_free_ char *by = NULL;
  if (required_by (root, ref, &by, err) < 0)
    return -1;
  if (by != NULL)
    return reg_error_set (err, EBUSY, "template %s: required by %s", ref, by);
  if (unlink (path) < 0)
    return reg_error_sys (err, errno, "template %s: remove %s", ref, path);
  rmdir (dir); /* only when empty: other versions stay */
  return 0;
}

static int
strv_push_ref (char ***v, size_t *n, const char *name, const char *file_name)
{
  size_t len = strlen (file_name);
  if (len <= 4 || strcmp (file_name + len - 4, ".ret") != 0)
    return 0;
  _cleanup_free_ char *version = strndup (file_name, len - 4);
  if (version == NULL)
    return -1;
  if (!reg_template_version_ok (version))
    return 0;
  char **grown = realloc (*v, (*n + 2) * sizeof (char *));
  if (grown == NULL)
    return -1;
  *v = grown;
  if (asprintf (&grown[*n], "%s@%s", name, version) < 0)
    {
      grown[*n] = NULL;
      return -1;
    }
  grown[++*n] = NULL;
  return 0;
}

/* Add the refs of templates/<name>/ to v. */
static int
list_name (const char *top, const char *name, char ***v, size_t *n)
{
  _cleanup_free_ char *sub = NULL;
  if (asprintf (&sub, "%s/%s", top, name) < 0)
    return -1;
  DIR *d = opendir (sub);
  if (d == NULL)
    return 0; /* not a directory: not a template */
  struct dirent *fe;
  int ret = 0;
  while (ret == 0 && (fe = readdir (d)) != NULL)
    ret = strv_push_ref (v, n, name, fe->d_name);
  closedir (d);
  return ret;
}

int
reg_template_list (const char *root, char ***refs, struct reg_error **err)
{
  *refs = NULL;
  _cleanup_free_ char *top = reg_root_path (root, REG_ROOT_TEMPLATES, NULL, NULL);
  if (top == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  DIR *d = opendir (top);
  if (d == NULL && errno != ENOENT)
    return reg_error_sys (err, errno, "templates: open %s", top);
  char **v = calloc (1, sizeof (char *));
  size_t n = 0;
  int ret = v == NULL ? -1 : 0;
  struct dirent *de;
  while (d && ret == 0 && (de = readdir (d)) != NULL)
    if (reg_template_name_ok (de->d_name))
      ret = list_name (top, de->d_name, &v, &n);
  if (d)
    closedir (d);
  if (ret < 0)
    {
      reg_strv_free (v);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  qsort (v, n, sizeof (char *), cmp_str);
  *refs = v;
  return 0;
}
