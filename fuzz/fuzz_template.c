/* libFuzzer target: the RET parser. Any input the parser accepts must
 * serialize to a canonical text that parses again to the same canonical
 * text and digest (a difference aborts: that is a finding). */
#include "template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct reg_template *t = NULL;
  struct reg_error *err = NULL;
  if (reg_template_parse ((const char *)data, size, "fuzz.ret", &t, &err) < 0)
    {
      reg_error_free (err);
      return 0;
    }
  char *text = reg_template_serialize (t);
  char d1[65], d2[65];
  if (text == NULL || reg_template_digest (t, d1, NULL) < 0)
    abort ();
  struct reg_template *again = NULL;
  if (reg_template_parse (text, strlen (text), "canonical.ret", &again, &err) < 0)
    abort (); /* the canonical text of a valid template must be valid */
  char *text2 = reg_template_serialize (again);
  if (text2 == NULL || strcmp (text, text2) != 0 || reg_template_digest (again, d2, NULL) < 0
      || strcmp (d1, d2) != 0)
    abort ();
  free (text);
  free (text2);
  reg_template_free (t);
  reg_template_free (again);
  return 0;
}
