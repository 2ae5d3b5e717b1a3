/* Unit tests of the limits table (limit.h): its consistency, the text
 * parser every reader shares (CLI, reg.yaml), the API's Limits object both
 * ways, and the checks with their messages. */
#include "limit.h"
#include "util.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Rows in id order, names unique, reg.yaml's key the name with '_', and
 * every limit in a cgroup file of both versions. */
static void
test_limit_table (void **state)
{
  for (size_t i = 0; i < REG_LIMIT_COUNT; i++)
    {
      const struct reg_limit_def *d = &reg_limit_table[i];
      assert_int_equal (d->id, i);
      char yaml[64];
      snprintf (yaml, sizeof yaml, "%s", d->name);
      for (char *p = yaml; *p; p++)
        *p = *p == '-' ? '_' : *p;
      assert_string_equal (d->yaml, yaml);
      assert_ptr_equal (reg_limit_by_name (d->name), d);
      assert_ptr_equal (reg_limit_by_yaml (d->yaml), d);
      assert_non_null (d->field);
      assert_non_null (d->unit);
      assert_non_null (d->v1_controller);
      assert_non_null (d->v1_file);
      assert_non_null (d->v2_controller);
      assert_non_null (d->v2_file);
      if (d->kind != REG_LIMIT_CPU_LIST)
        assert_true (d->min <= d->max && d->min_text != NULL);
    }
  assert_null (reg_limit_by_name ("memory_swap"));
  assert_null (reg_limit_by_yaml ("memory-swap"));
  assert_null (reg_limit_by_name ("nope"));
}

static void
parse_ok (const char *name, const char *text, int64_t want)
{
  struct reg_limits l = { 0 };
  struct reg_error *err = NULL;
  const struct reg_limit_def *d = reg_limit_by_name (name);
  if (reg_limit_parse (d, text, &l, &err) < 0)
    fail_msg ("%s %s: %s", name, text, err->msg);
  assert_int_equal (reg_limit_get (&l, d), want);
}

static void
parse_bad (const char *name, const char *text)
{
  struct reg_limits l = { 0 };
  struct reg_error *err = NULL;
  assert_int_equal (reg_limit_parse (reg_limit_by_name (name), text, &l, &err), -1);
  assert_int_equal (err->code, EINVAL);
  char want[128];
  snprintf (want, sizeof want, "%s: bad value \"%s\"", name, text);
  assert_string_equal (err->msg, want);
  reg_error_free (err);
}

static void
test_limit_parse (void **state)
{
  parse_ok ("memory", "64m", 64 << 20);
  parse_ok ("memory", "1g", 1 << 30);
  parse_ok ("memory-swap", "-1", -1);
  parse_ok ("memory-swap", "128m", 128 << 20);
  parse_ok ("cpus", "1.5", 1500000000);
  parse_ok ("cpu-shares", "512", 512);
  parse_ok ("pids-limit", "-1", -1);
  parse_ok ("blkio-weight", "500", 500);
  parse_bad ("memory", "lots");
  parse_bad ("memory", "12XB");
  parse_bad ("memory", "-1"); /* only memory-swap takes -1 */
  parse_bad ("cpus", "lots");
  parse_bad ("cpus", "-1");
  parse_bad ("cpus", "0");
  parse_bad ("cpus", "2000000"); /* refused, not cast */
  parse_bad ("cpu-shares", "1.5");
  parse_bad ("pids-limit", "0"); /* 0 is "not set": accepting it would ignore it */
  parse_bad ("blkio-weight", "");
  struct reg_limits l = { 0 };
  const struct reg_limit_def *cpus = reg_limit_by_name ("cpuset-cpus");
  assert_int_equal (reg_limit_parse (cpus, "0-1", &l, NULL), 0);
  assert_int_equal (reg_limit_parse (cpus, "2", &l, NULL), 0); /* the first is freed */
  assert_string_equal (l.cpuset_cpus, "2");
  assert_true (reg_limit_is_set (&l, cpus));
  free (l.cpuset_cpus);
}

static void
test_limit_json (void **state)
{
  struct reg_limits l = { .memory = 64 << 20, .nano_cpus = 500000000, .cpuset_cpus = "0-1" };
  json_t *o = json_object ();
  for (size_t i = 0; i < REG_LIMIT_COUNT; i++)
    assert_int_equal (reg_limit_to_json (&reg_limit_table[i], &l, o), 0);
  assert_int_equal (json_integer_value (json_object_get (o, "Memory")), 64 << 20);
  assert_int_equal (json_integer_value (json_object_get (o, "NanoCpus")), 500000000);
  assert_string_equal (json_string_value (json_object_get (o, "CpusetCpus")), "0-1");
  struct reg_limits back = { 0 };
  assert_int_equal (reg_limit_from_json (o, "t", &back, NULL), 0);
  assert_int_equal (back.memory, l.memory);
  assert_int_equal (back.nano_cpus, l.nano_cpus);
  assert_string_equal (back.cpuset_cpus, "0-1");
  json_decref (o);

  struct reg_error *err = NULL;
  o = json_pack ("{s:s}", "Memory", "64m");
  assert_int_equal (reg_limit_from_json (o, "update", &back, &err), -1);
  assert_string_equal (err->msg, "update: Memory must be an integer");
  reg_error_free (err);
  json_decref (o);
  o = json_pack ("{s:i}", "Memroy", 1);
  err = NULL;
  assert_int_equal (reg_limit_from_json (o, "update", &back, &err), -1);
  assert_non_null (strstr (err->msg, "Memroy"));
  reg_error_free (err);
  json_decref (o);
}

static void
test_limit_check (void **state)
{
  struct
  {
    struct reg_limits l;
    const char *want;
  } bad[] = {
    { { .memory = 1024 }, "memory 1024 is below the minimum of 6 MiB" },
    { { .memory = -5 }, "memory -5 is below the minimum of 6 MiB" },
    { { .memory = 64 << 20, .memory_reservation = 128 << 20 },
      "memory reservation 134217728 is above the memory limit 67108864" },
    { { .memory = 64 << 20, .memory_swap = 32 << 20 },
      "memory-swap 33554432 is below the memory limit 67108864 (it counts memory plus swap)" },
    { { .memory_swap = 64 << 20 }, "memory-swap needs a memory limit too" },
    { { .memory_swap = -5 }, "memory-swap -5 is below the minimum of -1 (unlimited)" },
    { { .nano_cpus = 1000 }, "cpus 1e-06 is outside 0.01..1000000" },
    { { .cpu_shares = 1 }, "cpu-shares 1 is outside 2..262144" },
    { { .pids_limit = -5 }, "pids-limit -5 is below the minimum of -1 (unlimited)" },
    { { .blkio_weight = 5 }, "blkio-weight 5 is outside 10..1000" },
    { { .cpuset_cpus = "0;rm" }, "cpuset-cpus \"0;rm\" is not a list like 0-1,3" },
    { { .cpuset_cpus = "" }, "cpuset-cpus \"\" is not a list like 0-1,3" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      struct reg_error *err = NULL;
      assert_int_equal (reg_limit_check (&bad[i].l, &err), -1);
      assert_int_equal (err->code, EINVAL);
      if (strcmp (err->msg, bad[i].want) != 0)
        fail_msg ("case %zu: got \"%s\", want \"%s\"", i, err->msg, bad[i].want);
      reg_error_free (err);
    }
  struct reg_limits ok = { .memory = 64 << 20, .memory_swap = -1, .pids_limit = -1 };
  assert_int_equal (reg_limit_check (&ok, NULL), 0);
  struct reg_limits none = { 0 };
  assert_int_equal (reg_limit_check (&none, NULL), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_limit_table),
    cmocka_unit_test (test_limit_parse),
    cmocka_unit_test (test_limit_json),
    cmocka_unit_test (test_limit_check),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
