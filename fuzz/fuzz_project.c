/* libFuzzer target: reg.yaml. */
#include "project.h"

#include <stddef.h>
#include <stdint.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct reg_project *p = NULL;
  struct reg_error *err = NULL;
  if (reg_project_parse ((const char *)data, size, "/fuzz/reg.yaml", &p, &err) == 0)
    reg_project_free (p);
  reg_error_free (err);
  return 0;
}
