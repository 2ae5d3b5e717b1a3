#include "json.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

json_t *
reg_json_object_parse (const char *text, size_t len, const char *what, struct reg_error **err)
{
  if (len == 0)
    {
      reg_error_set (err, EINVAL, "%s: request has no JSON body", what);
      return NULL;
    }
  json_error_t jerr;
  json_t *j = json_loadb (text, len, 0, &jerr);
  if (j == NULL)
    {
      reg_error_set (err, EINVAL, "%s: malformed JSON at line %d: %s", what, jerr.line, jerr.text);
      return NULL;
    }
  if (!json_is_object (j))
    {
      json_decref (j);
      reg_error_set (err, EINVAL, "%s: request body must be a JSON object", what);
      return NULL;
    }
  return j;
}

int
reg_json_only_keys (json_t *obj, const char *const *keys, const char *what, struct reg_error **err)
{
  for (void *it = json_object_iter (obj); it != NULL; it = json_object_iter_next (obj, it))
    if (!reg_strv_contains (keys, json_object_iter_key (it)))
      return reg_error_set (err, EINVAL, "%s: unknown field \"%s\"", what,
                            json_object_iter_key (it));
  return 0;
}

int
reg_json_string (json_t *obj, const char *key, const char *what, const char **out,
                 struct reg_error **err)
{
  json_t *v = json_object_get (obj, key);
  *out = NULL;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_string (v))
    return reg_error_set (err, EINVAL, "%s: field \"%s\" must be a string", what, key);
  *out = json_string_value (v);
  return 0;
}

int
reg_json_strv (json_t *obj, const char *key, const char *what, char ***out, struct reg_error **err)
{
  json_t *v = json_object_get (obj, key);
  *out = NULL;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_array (v))
    return reg_error_set (err, EINVAL, "%s: field \"%s\" must be an array of strings", what, key);
  size_t n = json_array_size (v);
  char **s = calloc (n + 1, sizeof *s);
  if (s == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++)
    {
      const char *e = json_string_value (json_array_get (v, i));
      if (e == NULL || (s[i] = strdup (e)) == NULL)
        {
          reg_strv_free (s);
          return reg_error_set (err, EINVAL, "%s: field \"%s\" must be an array of strings", what,
                                key);
        }
    }
  *out = s;
  return 0;
}

json_t *
reg_json_from_strv (char *const *v)
{
  json_t *a = json_array ();
  for (size_t i = 0; a && v && v[i]; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}
