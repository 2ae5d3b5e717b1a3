/* limit: see limit.h. */
#include "limit.h"
#include "json.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024 * 1024)
#define OFF(field) offsetof (struct reg_limits, field)

/* clang-format off */
const struct reg_limit_def reg_limit_table[REG_LIMIT_COUNT] = {
  [REG_LIMIT_MEMORY] = {
    REG_LIMIT_MEMORY, "memory", "memory", "Memory", REG_LIMIT_SIZE, "bytes", 1,
    6 * MIB, INT64_MAX, "6 MiB", NULL,
    "memory", "memory.limit_in_bytes", "memory", "memory.max", OFF (memory) },
  [REG_LIMIT_MEMORY_RESERVATION] = {
    REG_LIMIT_MEMORY_RESERVATION, "memory-reservation", "memory_reservation", "MemoryReservation",
    REG_LIMIT_SIZE, "bytes", 1,
    1, INT64_MAX, "1 byte", NULL,
    "memory", "memory.soft_limit_in_bytes", "memory", "memory.low", OFF (memory_reservation) },
  [REG_LIMIT_MEMORY_SWAP] = {
    REG_LIMIT_MEMORY_SWAP, "memory-swap", "memory_swap", "MemorySwap", REG_LIMIT_SIZE_UNLIMITED,
    "bytes of memory plus swap, -1 unlimited", 1,
    -1, INT64_MAX, "-1 (unlimited)", NULL,
    "memory", "memory.memsw.limit_in_bytes", "memory", "memory.swap.max", OFF (memory_swap) },
  [REG_LIMIT_CPUS] = {
    REG_LIMIT_CPUS, "cpus", "cpus", "NanoCpus", REG_LIMIT_DECIMAL, "CPUs x 1e9", 1000000000,
    10000000, 1000000 * INT64_C (1000000000), "0.01", "1000000",
    "cpu", "cpu.cfs_quota_us", "cpu", "cpu.max", OFF (nano_cpus) },
  [REG_LIMIT_CPU_SHARES] = {
    REG_LIMIT_CPU_SHARES, "cpu-shares", "cpu_shares", "CpuShares", REG_LIMIT_INTEGER,
    "relative weight", 1,
    2, 262144, "2", "262144",
    "cpu", "cpu.shares", "cpu", "cpu.weight", OFF (cpu_shares) },
  [REG_LIMIT_CPUSET_CPUS] = {
    REG_LIMIT_CPUSET_CPUS, "cpuset-cpus", "cpuset_cpus", "CpusetCpus", REG_LIMIT_CPU_LIST,
    "a list of CPUs", 1,
    0, 0, NULL, NULL,
    "cpuset", "cpuset.cpus", "cpuset", "cpuset.cpus", 0 },
  [REG_LIMIT_PIDS] = {
    REG_LIMIT_PIDS, "pids-limit", "pids_limit", "PidsLimit", REG_LIMIT_INTEGER,
    "processes, -1 unlimited", 1,
    -1, INT64_MAX, "-1 (unlimited)", NULL,
    "pids", "pids.max", "pids", "pids.max", OFF (pids_limit) },
  [REG_LIMIT_BLKIO_WEIGHT] = {
    REG_LIMIT_BLKIO_WEIGHT, "blkio-weight", "blkio_weight", "BlkioWeight", REG_LIMIT_INTEGER,
    "relative weight", 1,
    10, 1000, "10", "1000",
    "blkio", "blkio.weight", "io", "io.weight", OFF (blkio_weight) },
};
/* clang-format on */

const struct reg_limit_def *
reg_limit_by_name (const char *name)
{
  for (size_t i = 0; name && i < REG_LIMIT_COUNT; i++)
    if (strcmp (reg_limit_table[i].name, name) == 0)
      return &reg_limit_table[i];
  return NULL;
}

const struct reg_limit_def *
reg_limit_by_yaml (const char *key)
{
  for (size_t i = 0; key && i < REG_LIMIT_COUNT; i++)
    if (strcmp (reg_limit_table[i].yaml, key) == 0)
      return &reg_limit_table[i];
  return NULL;
}

static int64_t *
slot (struct reg_limits *l, const struct reg_limit_def *d)
{
  return (int64_t *)((char *)l + d->offset);
}

int64_t
reg_limit_get (const struct reg_limits *l, const struct reg_limit_def *d)
{
  return d->kind == REG_LIMIT_CPU_LIST ? 0 : *(const int64_t *)((const char *)l + d->offset);
}

void
reg_limit_set (struct reg_limits *l, const struct reg_limit_def *d, int64_t v)
{
  if (d->kind != REG_LIMIT_CPU_LIST)
    *slot (l, d) = v;
}

bool
reg_limit_is_set (const struct reg_limits *l, const struct reg_limit_def *d)
{
  return d->kind == REG_LIMIT_CPU_LIST ? l->cpuset_cpus != NULL : reg_limit_get (l, d) != 0;
}

/* The text's value, or false when it is not one of the limit's kind. A
 * value that parses to 0 is refused too: 0 means "not set", so taking it
 * would accept an option and ignore it. */
static bool
parse_value (const struct reg_limit_def *d, const char *text, int64_t *out)
{
  char *end = NULL;
  errno = 0;
  switch (d->kind)
    {
    case REG_LIMIT_SIZE_UNLIMITED:
      if (strcmp (text, "-1") == 0)
        {
          *out = -1;
          return true;
        }
      return reg_util_parse_size (text, out);
    case REG_LIMIT_SIZE:
      return reg_util_parse_size (text, out);
    case REG_LIMIT_DECIMAL:
      {
        double v = strtod (text, &end);
        /* Converted only when in range: a huge value is refused, not cast. */
        if (errno || end == text || *end != '\0' || !(v > 0) || v > (double)d->max / d->scale)
          return false;
        *out = (int64_t)(v * d->scale);
        return true;
      }
    case REG_LIMIT_INTEGER:
      {
        long long v = strtoll (text, &end, 10);
        if (errno || end == text || *end != '\0' || v == 0)
          return false;
        *out = v;
        return true;
      }
    case REG_LIMIT_CPU_LIST:
      break;
    }
  return false;
}

int
reg_limit_parse (const struct reg_limit_def *d, const char *text, struct reg_limits *l,
                 struct reg_error **err)
{
  if (d->kind == REG_LIMIT_CPU_LIST)
    {
      char *copy = strdup (text);
      if (copy == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      free (l->cpuset_cpus);
      l->cpuset_cpus = copy;
      return 0;
    }
  int64_t v = 0;
  if (!parse_value (d, text, &v))
    return reg_error_set (err, EINVAL, "%s: bad value \"%s\"", d->name, text);
  *slot (l, d) = v;
  return 0;
}

int
reg_limit_to_json (const struct reg_limit_def *d, const struct reg_limits *l, json_t *limits)
{
  json_t *v = d->kind != REG_LIMIT_CPU_LIST ? json_integer (reg_limit_get (l, d))
              : l->cpuset_cpus              ? json_string (l->cpuset_cpus)
                                            : json_null ();
  return json_object_set_new (limits, d->field, v);
}

int
reg_limit_from_json (json_t *o, const char *what, struct reg_limits *l, struct reg_error **err)
{
  const char *keys[REG_LIMIT_COUNT + 1] = { NULL };
  for (size_t i = 0; i < REG_LIMIT_COUNT; i++)
    keys[i] = reg_limit_table[i].field;
  if (reg_json_only_keys (o, keys, what, err) < 0)
    return -1;
  for (size_t i = 0; i < REG_LIMIT_COUNT; i++)
    {
      const struct reg_limit_def *d = &reg_limit_table[i];
      if (d->kind == REG_LIMIT_CPU_LIST)
        {
          const char *cpus = NULL;
          if (reg_json_string (o, d->field, what, &cpus, err) < 0)
            return -1;
          if (cpus)
            l->cpuset_cpus = (char *)cpus;
          continue;
        }
      json_t *v = json_object_get (o, d->field);
      if (v == NULL || json_is_null (v))
        continue;
      if (!json_is_integer (v))
        return reg_error_set (err, EINVAL, "%s: %s must be an integer", what, d->field);
      *slot (l, d) = json_integer_value (v);
    }
  return 0;
}

/* A set value outside the table's range. */
static int
check_range (const struct reg_limits *l, const struct reg_limit_def *d, struct reg_error **err)
{
  int64_t v = reg_limit_get (l, d);
  if (v == 0 || (v >= d->min && v <= d->max))
    return 0;
  char shown[32];
  if (d->scale > 1)
    snprintf (shown, sizeof shown, "%g", (double)v / (double)d->scale);
  else
    snprintf (shown, sizeof shown, "%" PRId64, v);
  if (d->max_text)
    return reg_error_set (err, EINVAL, "%s %s is outside %s..%s", d->name, shown, d->min_text,
                          d->max_text);
  return reg_error_set (err, EINVAL, "%s %s is below the minimum of %s", d->name, shown,
                        d->min_text);
}

static int
check_cpu_list (const char *cpus, struct reg_error **err)
{
  if (cpus && (cpus[0] == '\0' || strspn (cpus, "0123456789,-") != strlen (cpus)))
    return reg_error_set (err, EINVAL, "cpuset-cpus \"%s\" is not a list like 0-1,3", cpus);
  return 0;
}

int
reg_limit_check (const struct reg_limits *l, struct reg_error **err)
{
  for (size_t i = 0; i < REG_LIMIT_COUNT; i++)
    if (reg_limit_table[i].kind != REG_LIMIT_CPU_LIST
        && check_range (l, &reg_limit_table[i], err) < 0)
      return -1;
  if (l->memory > 0 && l->memory_reservation > l->memory)
    return reg_error_set (err, EINVAL,
                          "memory reservation %" PRId64 " is above the memory limit %" PRId64,
                          l->memory_reservation, l->memory);
  if (l->memory_swap > 0 && l->memory == 0)
    return reg_error_set (err, EINVAL, "memory-swap needs a memory limit too");
  if (l->memory_swap > 0 && l->memory_swap < l->memory)
    return reg_error_set (err, EINVAL,
                          "memory-swap %" PRId64 " is below the memory limit %" PRId64
                          " (it counts memory plus swap)",
                          l->memory_swap, l->memory);
  return check_cpu_list (l->cpuset_cpus, err);
}
