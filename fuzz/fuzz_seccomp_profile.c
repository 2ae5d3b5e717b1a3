/* libFuzzer target: Docker-format seccomp profiles, compiled (not loaded)
 * by libseccomp, as `reg run --security-opt seccomp=FILE` does at create. */
#include "security.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *opt = malloc (size + 9);
  if (opt == NULL)
    return 0;
  memcpy (opt, "seccomp=", 8);
  memcpy (opt + 8, data, size);
  opt[size + 8] = '\0';
  struct reg_security s = { 0 };
  struct reg_error *err = NULL;
  if (reg_security_add_opt (&s, opt, &err) == 0)
    reg_security_check (&s, &err);
  reg_error_free (err);
  reg_security_clear (&s);
  free (opt);
  return 0;
}
