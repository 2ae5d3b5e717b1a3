/* libFuzzer target: OCI references ([HOST/]PATH[:TAG], from the command
 * line and from the requires of pulled templates). An accepted reference
 * must print to a text that parses to the same reference, and its sibling
 * for a required template must be a valid reference. */
#include "oci.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = strndup ((const char *)data, size);
  struct reg_oci_ref *r = NULL, *again = NULL, *sibling = NULL;
  struct reg_error *err = NULL;
  if (text == NULL || reg_oci_ref_parse (text, &r, &err) < 0)
    {
      reg_error_free (err);
      free (text);
      return 0;
    }
  char *s = reg_oci_ref_string (r);
  if (s == NULL || reg_oci_ref_parse (s, &again, &err) < 0)
    abort ();
  char *s2 = reg_oci_ref_string (again);
  if (s2 == NULL || strcmp (s, s2) != 0)
    abort ();
  /* A sibling may be refused (a reference near the length bound), but
   * must not crash; when accepted it keeps the host. */
  if (reg_oci_ref_sibling (r, "libc", "2.36+deb12u1", &sibling, &err) == 0)
    {
      if ((r->host == NULL) != (sibling->host == NULL)
          || (r->host && strcmp (r->host, sibling->host) != 0))
        abort ();
      reg_oci_ref_free (sibling);
    }
  reg_error_free (err);
  free (text);
  free (s);
  free (s2);
  reg_oci_ref_free (r);
  reg_oci_ref_free (again);
  return 0;
}
