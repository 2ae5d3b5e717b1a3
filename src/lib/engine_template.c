/* engine: templates as regd's /v1/templates shows them (engine.h): a
 * summary per template, and one template with its RET text. */
#include "engine.h"
#include "template.h"
#include "util.h"

#include <jansson.h>
#include <stdlib.h>

json_t *
reg_engine_template_summary (const char *ref, const struct reg_template *t)
{
  char digest[65] = "";
  reg_template_digest (t, digest, NULL);
  return json_pack ("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "Ref", ref, "Name", t->name, "Version",
                    t->version, "Digest", digest, "Files", (json_int_t)t->n_files, "Libs",
                    (json_int_t)t->n_libs, "Requires", (json_int_t)reg_strv_len (t->requires));
}

int
reg_engine_template_list (struct reg_engine *e, json_t **out, struct reg_error **err)
{
  _cleanup_strv_ char **refs = NULL;
  if (reg_template_list (e->root, &refs, err) < 0)
    return -1;
  *out = json_array ();
  for (size_t i = 0; refs[i]; i++)
    {
      struct reg_template *t = NULL;
      if (reg_template_load (e->root, refs[i], &t, NULL) == 0) /* (removed meanwhile) */
        json_array_append_new (*out, reg_engine_template_summary (refs[i], t));
      reg_template_free (t);
    }
  return 0;
}

int
reg_engine_template_inspect (struct reg_engine *e, const char *ref, json_t **out,
                             struct reg_error **err)
{
  struct reg_template *t = NULL;
  if (reg_template_load (e->root, ref, &t, err) < 0)
    return -1;
  *out = reg_engine_template_summary (ref, t);
  _cleanup_free_ char *text = reg_template_serialize (t);
  json_object_set_new (*out, "Ret", json_string (text ? text : ""));
  reg_template_free (t);
  return 0;
}
