/* strv: see strv.h. */
#include "strv.h"

#include <stdlib.h>
#include <string.h>

void
reg_strv_freep (char ***v)
{
  reg_strv_free (*v);
}

size_t
reg_strv_len (char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

void
reg_strv_free (char **v)
{
  for (size_t i = 0; v && v[i]; i++)
    free (v[i]);
  free (v);
}

char **
reg_strv_dup (char *const *v)
{
  size_t n = reg_strv_len (v);
  char **out = calloc (n + 1, sizeof *out);
  if (out == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if ((out[i] = strdup (v[i])) == NULL)
      {
        reg_strv_free (out);
        return NULL;
      }
  return out;
}

bool
reg_strv_contains (const char *const *v, const char *s)
{
  for (size_t i = 0; v && v[i]; i++)
    if (strcmp (v[i], s) == 0)
      return true;
  return false;
}
