/* libFuzzer target: the API's container-create body (request.c), which
 * also reaches reg.yaml (ProjectFile), capability names, --user and
 * seccomp profiles (SecurityOpt), compiled by libseccomp. */
#include "request.h"

#include <stddef.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct reg_create_request *r = NULL;
  struct reg_error *err = NULL;
  if (reg_request_create_parse ((const char *)data, size, &r, &err) == 0)
    reg_request_create_free (r);
  reg_error_free (err);
  return 0;
}
