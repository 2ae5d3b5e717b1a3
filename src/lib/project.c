/* project: reg.yaml — see project.h. */
#include "project.h"
#include "limit.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define PROJECT_MAX_BYTES (1 << 20)

struct ctx
{
  yaml_document_t *doc;
  const char *origin;
  struct reg_error **err;
};

static int
bad (struct ctx *c, const char *key, const char *why)
{
  return reg_error_set (c->err, EINVAL, "reg.yaml %s: %s: %s", c->origin, key, why);
}

static const char *
scalar_of (struct ctx *c, int id)
{
  yaml_node_t *n = yaml_document_get_node (c->doc, id);
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A list of strings, or (when split) one string cut at blanks. */
static int
strings (struct ctx *c, const char *key, yaml_node_t *n, bool split, char ***out)
{
  size_t cap = 0, count = 0;
  char **v = NULL;
  if (n->type == YAML_SCALAR_NODE && split)
    {
      _cleanup_free_ char *copy = strdup ((const char *)n->data.scalar.value);
      char *save = NULL;
      for (char *w = copy ? strtok_r (copy, " \t\n", &save) : NULL; w;
           w = strtok_r (NULL, " \t\n", &save))
        {
          char **g = realloc (v, (count + 2) * sizeof *g);
          if (g == NULL)
            break;
          v = g;
          v[count++] = strdup (w);
          v[count] = NULL;
        }
    }
  else if (n->type == YAML_SEQUENCE_NODE)
    {
      cap = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
      v = calloc (cap + 1, sizeof *v);
      for (size_t i = 0; v && i < cap; i++)
        {
          const char *s = scalar_of (c, n->data.sequence.items.start[i]);
          if (s == NULL)
            {
              reg_strv_free (v);
              return bad (c, key, "must be a list of strings");
            }
          v[count++] = strdup (s);
        }
    }
  else
    return bad (c, key,
                split ? "must be a list of strings or a string" : "must be a list of strings");
  if (v == NULL || count == 0)
    {
      reg_strv_free (v);
      return bad (c, key, "must not be empty");
    }
  *out = v;
  return 0;
}

static int
env_map (struct ctx *c, yaml_node_t *n, char ***out)
{
  if (n->type != YAML_MAPPING_NODE)
    return bad (c, "env", "must be a mapping of NAME to value");
  size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
  char **v = calloc (count + 1, sizeof *v);
  if (v == NULL)
    return reg_error_set (c->err, ENOMEM, "out of memory");
  for (size_t i = 0; i < count; i++)
    {
      const char *k = scalar_of (c, n->data.mapping.pairs.start[i].key);
      const char *val = scalar_of (c, n->data.mapping.pairs.start[i].value);
      bool ok = k && (isalpha ((unsigned char)k[0]) || k[0] == '_');
      for (const char *p = k; ok && *p; p++)
        ok = isalnum ((unsigned char)*p) || *p == '_';
      if (!ok || val == NULL || asprintf (&v[i], "%s=%s", k, val) < 0)
        {
          v[i] = NULL;
          reg_strv_free (v);
          return bad (c, "env", "each entry must be NAME: string, NAME a variable name");
        }
    }
  *out = v;
  return 0;
}

static int
limits_map (struct ctx *c, yaml_node_t *n, struct reg_limits *l)
{
  if (n->type != YAML_MAPPING_NODE)
    return bad (c, "limits", "must be a mapping");
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
    {
      const char *k = scalar_of (c, p->key), *v = scalar_of (c, p->value);
      if (k == NULL || v == NULL)
        return bad (c, "limits", "each entry must be name: value");
      /* A key given twice is a mistake, not an override (and found by
       * fuzz_project: a second cpuset_cpus leaked the first). */
      for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++)
        if (strcmp (scalar_of (c, q->key), k) == 0)
          {
            _cleanup_free_ char *what = NULL;
            return bad (c, "limits",
                        asprintf (&what, "\"%s\" given twice", k) < 0 ? "a limit given twice"
                                                                      : what);
          }
      const struct reg_limit_def *d = reg_limit_by_yaml (k);
      if (d == NULL)
        {
          _cleanup_free_ char *what = NULL;
          return bad (c, "limits",
                      asprintf (&what, "unknown limit \"%s\"", k) < 0 ? "unknown limit" : what);
        }
      if (reg_limit_parse (d, v, l, NULL) < 0)
        {
          _cleanup_free_ char *what = NULL;
          return bad (c, "limits",
                      asprintf (&what, "%s: bad value \"%s\"", k, v) < 0 ? "bad value" : what);
        }
    }
  return reg_limit_check (l, c->err) < 0
             ? reg_error_prefix (c->err, "reg.yaml %s: limits", c->origin)
             : 0;
}

static int
parse_root (struct ctx *c, yaml_node_t *root, struct reg_project *p)
{
  if (root == NULL || root->type != YAML_MAPPING_NODE)
    return reg_error_set (c->err, EINVAL, "reg.yaml %s: top level must be a mapping", c->origin);
  for (yaml_node_pair_t *a = root->data.mapping.pairs.start; a < root->data.mapping.pairs.top; a++)
    {
      const char *k = scalar_of (c, a->key);
      yaml_node_t *v = yaml_document_get_node (c->doc, a->value);
      for (yaml_node_pair_t *b = root->data.mapping.pairs.start; k && b < a; b++)
        if (strcmp (k, scalar_of (c, b->key)) == 0)
          return bad (c, k, "given twice");
      int ret;
      if (k == NULL)
        ret = reg_error_set (c->err, EINVAL, "reg.yaml %s: keys must be strings", c->origin);
      else if (strcmp (k, "templates") == 0)
        ret = strings (c, k, v, false, &p->templates);
      else if (strcmp (k, "command") == 0)
        ret = strings (c, k, v, true, &p->command);
      else if (strcmp (k, "env") == 0)
        ret = env_map (c, v, &p->env);
      else if (strcmp (k, "ports") == 0)
        ret = strings (c, k, v, false, &p->ports);
      else if (strcmp (k, "expose") == 0)
        ret = strings (c, k, v, false, &p->expose);
      else if (strcmp (k, "limits") == 0)
        ret = limits_map (c, v, &p->limits);
      else if (strcmp (k, "workdir") == 0 || strcmp (k, "restart") == 0
               || strcmp (k, "network") == 0)
        {
          const char *s = scalar_of (c, a->value);
          if (s == NULL)
            ret = bad (c, k, "must be a string");
          else if (strcmp (k, "network") == 0)
            ret = *s ? ((p->network = strdup (s)) ? 0 : -1) : bad (c, k, "must not be empty");
          else if (strcmp (k, "workdir") == 0)
            ret = s[0] == '/' ? ((p->workdir = strdup (s)) ? 0 : -1)
                              : bad (c, k, "must be an absolute path");
          else
            ret = reg_container_restart_parse (s, &p->restart, c->err) < 0
                      ? reg_error_prefix (c->err, "reg.yaml %s", c->origin)
                      : 0;
        }
      else
        {
          ret = reg_error_set (c->err, EINVAL,
                               "reg.yaml %s: unknown field \"%s\" (known: templates, command, env, "
                               "workdir, ports, expose, network, limits, restart)",
                               c->origin, k);
        }
      if (ret < 0)
        return -1;
    }
  if (p->templates == NULL)
    return bad (c, "templates", "missing: name the runtime environments, e.g. [python@3.11]");
  return 0;
}

int
reg_project_parse (const char *text, size_t len, const char *origin, struct reg_project **out,
                   struct reg_error **err)
{
  *out = NULL;
  if (len > PROJECT_MAX_BYTES)
    return reg_error_set (err, EFBIG, "reg.yaml %s: larger than %d bytes", origin,
                          PROJECT_MAX_BYTES);
  yaml_parser_t parser;
  yaml_document_t doc;
  if (!yaml_parser_initialize (&parser))
    return reg_error_set (err, ENOMEM, "out of memory");
  yaml_parser_set_input_string (&parser, (const unsigned char *)text, len);
  if (!yaml_parser_load (&parser, &doc))
    {
      reg_error_set (err, EINVAL, "reg.yaml %s: YAML error at line %zu, column %zu: %s", origin,
                     parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                     parser.problem ? parser.problem : "syntax error");
      yaml_parser_delete (&parser);
      return -1;
    }
  yaml_parser_delete (&parser);
  struct reg_project *p = calloc (1, sizeof *p);
  struct ctx c = { &doc, origin, err };
  int ret = p ? parse_root (&c, yaml_document_get_root_node (&doc), p)
              : reg_error_set (err, ENOMEM, "out of memory");
  yaml_document_delete (&doc);
  if (ret < 0)
    {
      reg_project_free (p);
      return -1;
    }
  *out = p;
  return 0;
}

void
reg_project_free (struct reg_project *p)
{
  if (p == NULL)
    return;
  reg_strv_free (p->templates);
  reg_strv_free (p->command);
  reg_strv_free (p->env);
  reg_strv_free (p->ports);
  reg_strv_free (p->expose);
  free (p->network);
  free (p->workdir);
  free (p->limits.cpuset_cpus);
  free (p);
}
