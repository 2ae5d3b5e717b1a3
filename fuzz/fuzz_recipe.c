/* libFuzzer target: the recipe parser (docs/recipes.md). Any input it
 * accepts gives import options whose paths are absolute and normalized and
 * whose trace, if any, passes the trace checks (a failure aborts). */
#include "recipe.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct reg_recipe *r = NULL;
  struct reg_error *err = NULL;
  if (reg_recipe_parse ((const char *)data, size, "fuzz.yaml", &r, &err) < 0)
    {
      reg_error_free (err);
      return 0;
    }
  struct reg_import_options o;
  reg_recipe_options (r, &o);
  for (size_t i = 0; o.paths && o.paths[i]; i++)
    if (!reg_util_path_is_clean (o.paths[i]))
      abort ();
  if (o.trace && reg_trace_check (o.trace, NULL) < 0)
    abort ();
  if (o.paths == NULL && o.trace == NULL)
    abort ();
  reg_recipe_free (r);
  return 0;
}
