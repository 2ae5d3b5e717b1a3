/* json: reading untrusted JSON documents (API bodies, profiles) with
 * errors that name the document and the field. Values returned by
 * reg_json_string are borrowed from the document. */
#ifndef REG_JSON_H
#define REG_JSON_H

#include <jansson.h>

#include "error.h"

/* A JSON object, or NULL with "WHAT: malformed JSON at line N: ..." or
 * "WHAT: request body must be a JSON object". */
json_t *reg_json_object_parse (const char *text, size_t len, const char *what,
                               struct reg_error **err);
/* Every key of obj is one of keys (NULL-terminated). */
int reg_json_only_keys (json_t *obj, const char *const *keys, const char *what,
                        struct reg_error **err);
/* Absent or null: *out = NULL. A non-string: an error. */
int reg_json_string (json_t *obj, const char *key, const char *what, const char **out,
                     struct reg_error **err);
/* A list of strings, copied (NULL-terminated); absent or null: *out = NULL. */
int reg_json_strv (json_t *obj, const char *key, const char *what, char ***out,
                   struct reg_error **err);
/* A JSON array of the strings of v (NULL: an empty array); new reference. */
json_t *reg_json_from_strv (char *const *v);

#endif
