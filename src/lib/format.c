#include "format.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The template as a tree: a node list per block. */
enum node_kind
{
  N_TEXT,
  N_VALUE, /* a pipeline: fn args... */
  N_RANGE,
  N_IF,
};

enum fn
{
  F_NONE,
  F_JSON,
  F_INDEX,
  F_LEN,
  F_UPPER,
  F_LOWER,
  F_JOIN,
};

struct arg
{
  char *path; /* ".A.B" (NULL: a literal) */
  char *literal;
  bool is_number;
};

struct node
{
  enum node_kind kind;
  char *text;
  enum fn fn;
  struct arg args[2];
  int n_args;
  struct node *body, *alt; /* range/if blocks */
  struct node *next;
};

struct reg_format
{
  struct node *first;
};

struct parser
{
  const char *src, *p;
  const char *at; /* the action being parsed, for messages */
  struct reg_error **err;
};

static void
free_nodes (struct node *n)
{
  while (n)
    {
      struct node *next = n->next;
      free (n->text);
      for (int i = 0; i < 2; i++) /* a failed parse may leave one past n_args */
        {
          free (n->args[i].path);
          free (n->args[i].literal);
        }
      free_nodes (n->body);
      free_nodes (n->alt);
      free (n);
      n = next;
    }
}

void
reg_format_free (struct reg_format *f)
{
  if (f)
    free_nodes (f->first);
  free (f);
}

static int
fail (struct parser *ps, const char *what, const char *near)
{
  return reg_error_set (ps->err, EINVAL, "format \"%s\": at character %d: %s%s%.20s%s", ps->src,
                        (int)((ps->at ? ps->at : ps->p) - ps->src) + 1, what,
                        near ? " near \"" : "", near ? near : "", near ? "\"" : "");
}

/* Text up to the next "{{", with \t and \n made real. */
static struct node *
text_node (const char *s, size_t n)
{
  struct node *t = calloc (1, sizeof *t);
  char *out = t ? malloc (n + 1) : NULL;
  if (out == NULL)
    {
      free (t);
      return NULL;
    }
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (s[i] == '\\' && i + 1 < n && (s[i + 1] == 't' || s[i + 1] == 'n'))
        {
          out[k++] = s[++i] == 't' ? '\t' : '\n';
          continue;
        }
      out[k++] = s[i];
    }
  out[k] = '\0';
  t->kind = N_TEXT;
  t->text = out;
  return t;
}

/* One word of an action: a path, a quoted string or a number. */
static int
parse_arg (struct parser *ps, const char **q, const char *end, struct arg *a)
{
  const char *s = *q;
  if (*s == '.')
    {
      const char *e = s + 1;
      while (e < end && (isalnum ((unsigned char)*e) || *e == '_' || *e == '.'))
        e++;
      a->path = strndup (s, (size_t)(e - s));
      *q = e;
      if (a->path == NULL)
        return reg_error_set (ps->err, ENOMEM, "out of memory");
      if (strstr (a->path, "..") || (e - s > 1 && e[-1] == '.'))
        return fail (ps, "a field path ends with '.' or has '..'", s);
      return 0;
    }
  if (*s == '"')
    {
      const char *e = memchr (s + 1, '"', (size_t)(end - s - 1));
      if (e == NULL)
        return fail (ps, "an unterminated string", s);
      a->literal = strndup (s + 1, (size_t)(e - s - 1));
      *q = e + 1;
      return a->literal ? 0 : -1;
    }
  if (isdigit ((unsigned char)*s))
    {
      const char *e = s;
      while (e < end && isdigit ((unsigned char)*e))
        e++;
      a->literal = strndup (s, (size_t)(e - s));
      a->is_number = true;
      *q = e;
      return a->literal ? 0 : -1;
    }
  return fail (ps, "expected a field (.Name), a \"string\" or a number", s);
}

static const struct
{
  const char *name;
  enum fn fn;
  int n_args;
} fns[] = {
  { "json", F_JSON, 1 },   { "index", F_INDEX, 2 }, { "len", F_LEN, 1 },
  { "upper", F_UPPER, 1 }, { "lower", F_LOWER, 1 }, { "join", F_JOIN, 2 },
};

/* The words of an action between {{ and }}. */
static int
parse_pipeline (struct parser *ps, const char *s, const char *end, struct node *n)
{
  while (s < end && isspace ((unsigned char)*s))
    s++;
  n->fn = F_NONE;
  int want = 1;
  if (isalpha ((unsigned char)*s))
    {
      const char *w = s;
      while (s < end && isalpha ((unsigned char)*s))
        s++;
      size_t len = (size_t)(s - w);
      bool known = false;
      for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (strlen (fns[i].name) == len && strncmp (fns[i].name, w, len) == 0)
          {
            n->fn = fns[i].fn;
            want = fns[i].n_args;
            known = true;
          }
      if (!known)
        return fail (ps,
                     "unknown function (reg knows json, index, len, upper, lower, join, range, "
                     "if, else, end)",
                     w);
    }
  for (n->n_args = 0; n->n_args < want; n->n_args++)
    {
      while (s < end && isspace ((unsigned char)*s))
        s++;
      if (s >= end)
        return fail (ps,
                     n->fn == F_NONE ? "an empty action: want a field path such as .State.Status"
                                     : "too few arguments",
                     NULL);
      if (parse_arg (ps, &s, end, &n->args[n->n_args]) < 0)
        return -1;
    }
  while (s < end && isspace ((unsigned char)*s))
    s++;
  if (s < end)
    return fail (ps, "unexpected words (pipelines | are not supported)", s);
  if (n->fn == F_NONE && n->args[0].path == NULL)
    return fail (ps, "a value must be a field path such as .State.Status", NULL);
  return 0;
}

/* "name rest" at the start of an action: is it keyword `kw`? */
static bool
keyword (const char *s, const char *end, const char *kw, const char **rest)
{
  while (s < end && isspace ((unsigned char)*s))
    s++;
  size_t n = strlen (kw);
  if ((size_t)(end - s) < n || strncmp (s, kw, n) != 0
      || (s + n < end && !isspace ((unsigned char)s[n])))
    return false;
  *rest = s + n;
  return true;
}

/* Parse nodes until the end of input, or until {{end}}/{{else}} when
 * nested (*stop says which). */
static struct node *parse_block (struct parser *ps, int depth, const char **stop);

static int
parse_action (struct parser *ps, const char *s, const char *end, int depth, struct node **out,
              const char **stop)
{
  const char *rest;
  *out = NULL;
  if (keyword (s, end, "end", &rest) || keyword (s, end, "else", &rest))
    {
      if (depth == 0)
        return fail (ps, "{{end}} or {{else}} without {{range}} or {{if}}", NULL);
      *stop = keyword (s, end, "end", &rest) ? "end" : "else";
      return 0;
    }
  struct node *n = calloc (1, sizeof *n);
  if (n == NULL)
    return reg_error_set (ps->err, ENOMEM, "out of memory");
  *out = n;
  bool range = keyword (s, end, "range", &rest), cond = !range && keyword (s, end, "if", &rest);
  if (!range && !cond)
    {
      n->kind = N_VALUE;
      return parse_pipeline (ps, s, end, n);
    }
  n->kind = range ? N_RANGE : N_IF;
  if (parse_pipeline (ps, rest, end, n) < 0)
    return -1;
  const char *why = NULL;
  n->body = parse_block (ps, depth + 1, &why);
  if (why && strcmp (why, "else") == 0 && cond)
    n->alt = parse_block (ps, depth + 1, &why);
  if (why == NULL || strcmp (why, "end") != 0)
    return *ps->err
               ? -1
               : fail (ps, range ? "{{range}} without {{end}}" : "{{if}} without {{end}}", NULL);
  return 0;
}

static struct node *
parse_block (struct parser *ps, int depth, const char **stop)
{
  struct node *first = NULL, **tail = &first;
  *stop = NULL;
  while (*ps->p)
    {
      const char *open = strstr (ps->p, "{{");
      size_t n = open ? (size_t)(open - ps->p) : strlen (ps->p);
      if (n > 0)
        {
          *tail = text_node (ps->p, n);
          if (*tail == NULL)
            break;
          tail = &(*tail)->next;
        }
      if (open == NULL)
        {
          ps->p += n;
          break;
        }
      const char *close = strstr (open + 2, "}}");
      ps->at = open;
      if (close == NULL)
        {
          fail (ps, "\"{{\" without \"}}\"", open);
          break;
        }
      ps->p = close + 2; /* a block's body follows its action */
      struct node *a = NULL;
      if (parse_action (ps, open + 2, close, depth, &a, stop) < 0)
        {
          free_nodes (a);
          break;
        }
      if (*stop)
        return first;
      *tail = a;
      tail = &a->next;
    }
  if (*ps->err)
    {
      free_nodes (first);
      return NULL;
    }
  return first;
}

int
reg_format_parse (const char *text, struct reg_format **out, struct reg_error **err)
{
  struct reg_error *e = NULL;
  struct parser ps = { text, text, NULL, &e };
  const char *stop = NULL;
  struct reg_format *f = calloc (1, sizeof *f);
  if (f == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  f->first = parse_block (&ps, 0, &stop);
  if (e)
    {
      reg_format_free (f);
      if (err)
        *err = e;
      else
        reg_error_free (e);
      return -1;
    }
  *out = f;
  return 0;
}

/* ---- rendering ---- */

static json_t *
lookup (json_t *dot, const char *path, struct reg_error **err)
{
  json_t *v = dot;
  const char *p = path + 1;
  while (*p)
    {
      const char *dotp = strchr (p, '.');
      size_t n = dotp ? (size_t)(dotp - p) : strlen (p);
      char key[256];
      snprintf (key, sizeof key, "%.*s", (int)n, p);
      json_t *next = json_is_object (v) ? json_object_get (v, key) : NULL;
      if (next == NULL)
        return reg_error_set (err, EINVAL, "format: %.*s has no field \"%s\"",
                              (int)(p - path > 1 ? p - path - 1 : 1), path, key),
               NULL;
      v = next;
      p += n + (dotp ? 1 : 0);
    }
  return v;
}

static void
print_value (FILE *out, json_t *v)
{
  if (json_is_string (v))
    fputs (json_string_value (v), out);
  else if (json_is_integer (v))
    fprintf (out, "%lld", (long long)json_integer_value (v));
  else if (json_is_real (v))
    fprintf (out, "%g", json_real_value (v));
  else if (json_is_boolean (v))
    fputs (json_is_true (v) ? "true" : "false", out);
  else if (v == NULL || json_is_null (v))
    fputs ("<no value>", out);
  else
    json_dumpf (v, out, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

static bool
truthy (json_t *v)
{
  if (v == NULL || json_is_null (v) || json_is_false (v))
    return false;
  if (json_is_integer (v))
    return json_integer_value (v) != 0;
  if (json_is_string (v))
    return json_string_length (v) > 0;
  if (json_is_array (v))
    return json_array_size (v) > 0;
  if (json_is_object (v))
    return json_object_size (v) > 0;
  return true;
}

static json_t *
arg_value (const struct arg *a, json_t *dot, struct reg_error **err)
{
  if (a->path)
    return json_incref (lookup (dot, a->path, err));
  return a->is_number ? json_integer (strtoll (a->literal, NULL, 10)) : json_string (a->literal);
}

static int
call_index (const struct node *n, json_t *x, json_t *k, FILE *out, struct reg_error **err)
{
  json_t *v = json_is_object (x) && json_is_string (k) ? json_object_get (x, json_string_value (k))
              : json_is_array (x) && json_is_integer (k)
                  ? json_array_get (x, (size_t)json_integer_value (k))
                  : NULL;
  if (v == NULL)
    return reg_error_set (err, EINVAL, "format: index %s: no such key or item",
                          n->args[0].path ? n->args[0].path : "?");
  print_value (out, v);
  return 0;
}

static int
call (const struct node *n, json_t *dot, FILE *out, struct reg_error **err)
{
  json_t *x = arg_value (&n->args[0], dot, err);
  json_t *y = n->n_args > 1 ? arg_value (&n->args[1], dot, err) : NULL;
  int ret = x == NULL || (n->n_args > 1 && y == NULL) ? -1 : 0;
  if (ret == 0)
    switch (n->fn)
      {
      case F_NONE:
        print_value (out, x);
        break;
      case F_JSON:
        json_dumpf (x, out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        break;
      case F_INDEX:
        ret = call_index (n, x, y, out, err);
        break;
      case F_LEN:
        fprintf (out, "%zu",
                 json_is_array (x)    ? json_array_size (x)
                 : json_is_object (x) ? json_object_size (x)
                                      : json_string_length (x));
        break;
      case F_UPPER:
      case F_LOWER:
        for (const char *s = json_string_value (x) ?: ""; *s; s++)
          fputc (n->fn == F_UPPER ? toupper ((unsigned char)*s) : tolower ((unsigned char)*s), out);
        break;
      case F_JOIN:
        for (size_t i = 0; i < json_array_size (x); i++)
          {
            if (i)
              fputs (json_string_value (y) ?: "", out);
            print_value (out, json_array_get (x, i));
          }
        break;
      }
  json_decref (x);
  json_decref (y);
  return ret;
}

static int render_nodes (const struct node *n, json_t *dot, FILE *out, struct reg_error **err);

static int
render_block (const struct node *n, json_t *dot, FILE *out, struct reg_error **err)
{
  json_t *v = lookup (dot, n->args[0].path, err);
  if (v == NULL)
    return -1;
  if (n->kind == N_IF)
    return render_nodes (truthy (v) ? n->body : n->alt, dot, out, err);
  if (!json_is_array (v))
    return reg_error_set (err, EINVAL, "format: range %s: not a list", n->args[0].path);
  for (size_t i = 0; i < json_array_size (v); i++)
    if (render_nodes (n->body, json_array_get (v, i), out, err) < 0)
      return -1;
  return 0;
}

static int
render_nodes (const struct node *n, json_t *dot, FILE *out, struct reg_error **err)
{
  for (; n; n = n->next)
    {
      int r = 0;
      if (n->kind == N_TEXT)
        fputs (n->text, out);
      else if (n->kind == N_VALUE)
        r = call (n, dot, out, err);
      else
        r = render_block (n, dot, out, err);
      if (r < 0)
        return -1;
    }
  return 0;
}

int
reg_format_render (const struct reg_format *f, json_t *value, FILE *out, struct reg_error **err)
{
  return render_nodes (f->first, value, out, err);
}
