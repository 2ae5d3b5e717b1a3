#include "recipe.h"
#include "template.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define RECIPE_MAX_BYTES (1 << 20)

struct rparse
{
  yaml_document_t *doc;
  const char *who; /* "recipe ORIGIN" */
  struct reg_recipe *r;
  struct reg_error **err;
};

static int rfail (struct rparse *p, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static int
rfail (struct rparse *p, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  _cleanup_free_ char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  return reg_error_set (p->err, EINVAL, "%s: %s", p->who, msg ? msg : "out of memory");
}

static const char *
scalar (struct rparse *p, int id)
{
  yaml_node_t *n = yaml_document_get_node (p->doc, id);
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int
string_list (struct rparse *p, yaml_node_t *n, const char *key, char ***out)
{
  if (*out)
    return rfail (p, "duplicate key \"%s\"", key);
  if (n->type != YAML_SEQUENCE_NODE)
    return rfail (p, "\"%s\" must be a list of strings", key);
  size_t len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
  if ((*out = calloc (len + 1, sizeof (char *))) == NULL)
    return reg_error_set (p->err, ENOMEM, "out of memory");
  for (size_t i = 0; i < len; i++)
    {
      const char *v = scalar (p, n->data.sequence.items.start[i]);
      if (v == NULL)
        return rfail (p, "\"%s\" must be a list of strings", key);
      if (((*out)[i] = strdup (v)) == NULL)
        return reg_error_set (p->err, ENOMEM, "out of memory");
    }
  return 0;
}

static int
one_string (struct rparse *p, yaml_node_t *n, const char *key, char **out)
{
  if (*out)
    return rfail (p, "duplicate key \"%s\"", key);
  const char *v = n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
  if (v == NULL)
    return rfail (p, "\"%s\" must be a string", key);
  return (*out = strdup (v)) ? 0 : reg_error_set (p->err, ENOMEM, "out of memory");
}

static int
parse_env (struct rparse *p, yaml_node_t *n)
{
  if (p->r->env)
    return rfail (p, "duplicate key \"env\"");
  if (n->type != YAML_MAPPING_NODE)
    return rfail (p, "\"env\" must be a mapping of NAME to value");
  size_t len = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
  if ((p->r->env = calloc (len + 1, sizeof (char *))) == NULL)
    return reg_error_set (p->err, ENOMEM, "out of memory");
  for (size_t i = 0; i < len; i++)
    {
      const char *k = scalar (p, n->data.mapping.pairs.start[i].key);
      const char *v = scalar (p, n->data.mapping.pairs.start[i].value);
      if (k == NULL || v == NULL)
        return rfail (p, "\"env\" must be a mapping of NAME to value");
      if (asprintf (&p->r->env[i], "%s=%s", k, v) < 0)
        return reg_error_set (p->err, ENOMEM, "out of memory");
    }
  return 0;
}

/* "80" -> "80/tcp"; "53/udp" as is. */
static int
normalize_ports (struct rparse *p)
{
  for (size_t i = 0; p->r->expose && p->r->expose[i]; i++)
    {
      char *s = p->r->expose[i];
      if (strchr (s, '/') == NULL)
        {
          char *full = NULL;
          if (asprintf (&full, "%s/tcp", s) < 0)
            return reg_error_set (p->err, ENOMEM, "out of memory");
          free (s);
          p->r->expose[i] = s = full;
        }
      if (!reg_template_port_ok (s))
        return rfail (p, "expose: \"%s\" is not PORT[/tcp|udp] (PORT 1-65535)", s);
    }
  return 0;
}

static int
check_paths (struct rparse *p, char *const *v, const char *key, bool host)
{
  for (size_t i = 0; v && v[i]; i++)
    if (!reg_util_path_is_clean (v[i]))
      return rfail (p,
                    "%s: \"%s\" is not an absolute, normalized %s path (no \"..\", \".\", "
                    "\"//\" or trailing \"/\")",
                    key, v[i], host ? "host" : "container");
  return 0;
}

/* trace: {command, timeout, stop_signal, answer, send} */
static int
parse_trace (struct rparse *p, yaml_node_t *n)
{
  struct reg_recipe *r = p->r;
  if (r->traced)
    return rfail (p, "duplicate key \"trace\"");
  if (n->type != YAML_MAPPING_NODE)
    return rfail (p, "\"trace\" must be a mapping (command, timeout, stop_signal, answer, send)");
  r->traced = true;
  for (yaml_node_pair_t *a = n->data.mapping.pairs.start; a < n->data.mapping.pairs.top; a++)
    {
      const char *k = scalar (p, a->key);
      yaml_node_t *v = yaml_document_get_node (p->doc, a->value);
      int ret;
      if (k && strcmp (k, "command") == 0)
        ret = string_list (p, v, "trace: command", &r->trace_command);
      else if (k && strcmp (k, "timeout") == 0)
        ret = one_string (p, v, "trace: timeout", &r->trace_timeout);
      else if (k && strcmp (k, "stop_signal") == 0)
        ret = one_string (p, v, "trace: stop_signal", &r->trace_stop_signal);
      else if (k && strcmp (k, "answer") == 0)
        ret = one_string (p, v, "trace: answer", &r->trace_answer);
      else if (k && strcmp (k, "send") == 0)
        ret = one_string (p, v, "trace: send", &r->trace_send);
      else
        ret = rfail (p,
                     "trace: unknown key \"%s\" (known: command, timeout, stop_signal, "
                     "answer, send)",
                     k ? k : "");
      if (ret < 0)
        return -1;
    }
  return 0;
}

static int
check_trace (struct rparse *p)
{
  struct reg_recipe *r = p->r;
  if (!r->traced)
    return 0;
  if (reg_strv_len (r->trace_command) == 0)
    return rfail (p, "trace: \"command\" must be a non-empty list");
  char *end = NULL;
  long t = r->trace_timeout ? strtol (r->trace_timeout, &end, 10) : 0;
  if (r->trace_timeout && (*end || t < 1 || t > 3600))
    return rfail (p, "trace: timeout \"%s\" must be 1 to 3600 (seconds)", r->trace_timeout);
  r->trace = (struct reg_trace_options){ .argv = r->trace_command,
                                         .timeout_s = (int)t,
                                         .stop_signal = r->trace_stop_signal,
                                         .answer = r->trace_answer,
                                         .send = r->trace_send };
  struct reg_error *e = NULL;
  if (reg_trace_check (&r->trace, &e) < 0)
    {
      rfail (p, "%s", e->msg);
      reg_error_free (e);
      return -1;
    }
  return 0;
}

static int
parse_key (struct rparse *p, const char *k, yaml_node_t *v)
{
  struct reg_recipe *r = p->r;
  struct
  {
    const char *key;
    char ***list;
  } lists[] = {
    { "paths", &r->paths },           { "exclude", &r->exclude }, { "dirs", &r->dirs },
    { "users", &r->users },           { "groups", &r->groups },   { "requires", &r->requires },
    { "entrypoint", &r->entrypoint }, { "expose", &r->expose }
  };
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
    if (strcmp (k, lists[i].key) == 0)
      return string_list (p, v, k, lists[i].list);
  if (strcmp (k, "name") == 0)
    return one_string (p, v, k, &r->name);
  if (strcmp (k, "version") == 0)
    return one_string (p, v, k, &r->version);
  if (strcmp (k, "env") == 0)
    return parse_env (p, v);
  if (strcmp (k, "stop_signal") == 0)
    return one_string (p, v, k, &r->stop_signal);
  if (strcmp (k, "trace") == 0)
    return parse_trace (p, v);
  return rfail (p,
                "unknown key \"%s\" (known: name, version, paths, exclude, dirs, users, "
                "groups, requires, entrypoint, env, expose, stop_signal, trace)",
                k);
}

static int
check_recipe (struct rparse *p)
{
  struct reg_recipe *r = p->r;
  if (r->name == NULL || r->version == NULL)
    return rfail (p, "missing \"%s\"", r->name == NULL ? "name" : "version");
  if (reg_strv_len (r->paths) == 0 && !r->traced)
    return rfail (p, "\"paths\" must name at least one host file or directory (or give "
                     "\"trace\")");
  if (r->stop_signal && reg_util_signal_number (r->stop_signal) <= 0)
    return rfail (p, "stop_signal \"%s\" is not a signal (SIGTERM, SIGQUIT, SIGINT, ...)",
                  r->stop_signal);
  if (check_trace (p) < 0)
    return -1;
  if (r->entrypoint && (r->entrypoint[0] == NULL || r->entrypoint[0][0] != '/'))
    return rfail (p, "\"entrypoint\" must be a list starting with an absolute program path");
  for (size_t i = 0; r->exclude && r->exclude[i]; i++)
    if (r->exclude[i][0] != '/' && r->exclude[i][0] != '*')
      return rfail (p, "exclude: \"%s\" must start with '/' or '*'", r->exclude[i]);
  if (check_paths (p, r->paths, "paths", true) < 0)
    return -1;
  return normalize_ports (p);
}

static int
parse_doc (struct rparse *p)
{
  yaml_node_t *root = yaml_document_get_root_node (p->doc);
  if (root->type != YAML_MAPPING_NODE)
    return rfail (p, "top level must be a mapping");
  for (yaml_node_pair_t *a = root->data.mapping.pairs.start; a < root->data.mapping.pairs.top; a++)
    {
      const char *k = scalar (p, a->key);
      if (k == NULL)
        return rfail (p, "keys must be strings");
      if (parse_key (p, k, yaml_document_get_node (p->doc, a->value)) < 0)
        return -1;
    }
  return check_recipe (p);
}

int
reg_recipe_parse (const char *text, size_t len, const char *origin, struct reg_recipe **out,
                  struct reg_error **err)
{
  *out = NULL;
  _cleanup_free_ char *who = NULL;
  if (asprintf (&who, "recipe %s", origin ? origin : "request") < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (len > RECIPE_MAX_BYTES)
    return reg_error_set (err, EFBIG, "%s: larger than %d bytes", who, RECIPE_MAX_BYTES);
  if (memchr (text, '\0', len))
    return reg_error_set (err, EINVAL, "%s: contains a NUL byte", who);
  yaml_document_t doc;
  if (reg_template_yaml_load (text, len, who, &doc, err) < 0)
    return -1;
  struct rparse p = { &doc, who, calloc (1, sizeof (struct reg_recipe)), err };
  int ret = p.r ? parse_doc (&p) : reg_error_set (err, ENOMEM, "out of memory");
  yaml_document_delete (&doc);
  if (ret < 0)
    {
      reg_recipe_free (p.r);
      return -1;
    }
  *out = p.r;
  return 0;
}

void
reg_recipe_options (const struct reg_recipe *r, struct reg_import_options *o)
{
  memset (o, 0, sizeof *o);
  o->name = r->name;
  o->version = r->version;
  o->paths = r->paths;
  o->requires = r->requires;
  o->env = r->env;
  o->entrypoint = r->entrypoint ? r->entrypoint[0] : NULL;
  o->argv = r->entrypoint;
  o->users = r->users;
  o->groups = r->groups;
  o->exclude = r->exclude;
  o->dirs = r->dirs;
  o->expose = r->expose;
  o->stop_signal = r->stop_signal ? reg_util_signal_number (r->stop_signal) : 0;
  o->trace = r->traced ? &r->trace : NULL;
}

void
reg_recipe_free (struct reg_recipe *r)
{
  if (r == NULL)
    return;
  free (r->name);
  free (r->version);
  char **lists[] = { r->paths,    r->exclude,    r->dirs, r->users, r->groups,
                     r->requires, r->entrypoint, r->env,  r->expose };
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
    reg_strv_free (lists[i]);
  reg_strv_free (r->trace_command);
  free (r->stop_signal);
  free (r->trace_timeout);
  free (r->trace_stop_signal);
  free (r->trace_answer);
  free (r->trace_send);
  free (r);
}
