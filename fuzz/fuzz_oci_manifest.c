/* libFuzzer target: OCI manifests as a registry or a layout directory
 * serves them (reg_oci_manifest_parse). An accepted manifest must build
 * to bytes that parse again and build to the same bytes. The first line of
 * the input is also tried as a reference (reg_oci_ref_parse). */
#include "oci.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct reg_oci_manifest *m = NULL, *again = NULL;
  struct reg_error *err = NULL;
  if (reg_oci_manifest_parse ((const char *)data, size, "fuzz", &m, &err) == 0)
    {
      char *text = reg_oci_manifest_build (m);
      if (text == NULL || reg_oci_manifest_parse (text, strlen (text), "rebuilt", &again, NULL) < 0)
        abort ();
      char *text2 = reg_oci_manifest_build (again);
      if (text2 == NULL || strcmp (text, text2) != 0)
        abort ();
      free (text);
      free (text2);
      reg_oci_manifest_free (m);
      reg_oci_manifest_free (again);
    }
  reg_error_free (err);
  err = NULL;
  const char *nl = memchr (data, '\n', size);
  size_t n = nl ? (size_t)(nl - (const char *)data) : size;
  char *line = strndup ((const char *)data, n < 4096 ? n : 4096);
  struct reg_oci_ref *r = NULL;
  if (line && reg_oci_ref_parse (line, &r, &err) == 0)
    {
      free (reg_oci_ref_string (r));
      reg_oci_ref_free (r);
    }
  reg_error_free (err);
  free (line);
  return 0;
}
