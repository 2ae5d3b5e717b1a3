/* limit: a container's resource limits, as one table (limit.c) that
 * every reader of them uses: the CLI's options (`--memory`), reg.yaml's
 * `limits:` keys (`memory`), the API's `Limits` fields (`Memory`), the
 * checks, and the cgroup files they are written to (cgroup.c).
 *
 * Each limit has: its name (the CLI option; reg.yaml spells it with '_'
 * for '-'), its API field, the kind of text it takes and so the parser,
 * the unit it is stored in, its range, and its cgroup v1 controller and
 * file and v2 file. A stored value of 0 (NULL for the cpu list) means
 * "not set"; a set value outside the range is refused, naming the limit.
 * docs/api.md lists the fields, docs/cli.md the options.
 *
 * No system access, no allocation but the cpu list's copy: linked into the
 * client, regd and reg-monitor alike.
 */
#ifndef REG_LIMIT_H
#define REG_LIMIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define REG_DEFAULT_PIDS_LIMIT 512

struct reg_limits
{
  int64_t memory;             /* bytes, hard limit */
  int64_t memory_reservation; /* bytes, soft limit */
  int64_t memory_swap;        /* bytes, memory + swap (Docker's meaning); -1 unlimited */
  int64_t nano_cpus;          /* CPUs x 1e9 (CFS quota over a 100 ms period) */
  int64_t cpu_shares;         /* relative weight, 2..262144 */
  char *cpuset_cpus;          /* "0-1", "0,2" */
  int64_t pids_limit;         /* -1 unlimited; 0: the default */
  int64_t blkio_weight;       /* 10..1000 */
};

enum reg_limit_id
{
  REG_LIMIT_MEMORY,
  REG_LIMIT_MEMORY_RESERVATION,
  REG_LIMIT_MEMORY_SWAP,
  REG_LIMIT_CPUS,
  REG_LIMIT_CPU_SHARES,
  REG_LIMIT_CPUSET_CPUS,
  REG_LIMIT_PIDS,
  REG_LIMIT_BLKIO_WEIGHT,
  REG_LIMIT_COUNT,
};

/* The text a limit takes. */
enum reg_limit_kind
{
  REG_LIMIT_SIZE,           /* 512m, 1g, 1048576 (reg_util_parse_size) */
  REG_LIMIT_SIZE_UNLIMITED, /* a size, or -1 */
  REG_LIMIT_DECIMAL,        /* 1.5: stored times `scale` */
  REG_LIMIT_INTEGER,        /* an integer */
  REG_LIMIT_CPU_LIST,       /* 0-2,4 */
};

struct reg_limit_def
{
  enum reg_limit_id id;
  const char *name;  /* the CLI option, without "--"; in messages */
  const char *yaml;  /* reg.yaml's key */
  const char *field; /* the API's key in Limits */
  enum reg_limit_kind kind;
  const char *unit;     /* of the stored value: "bytes", "CPUs x 1e9", ... */
  int64_t scale;        /* DECIMAL: stored = text x scale */
  int64_t min, max;     /* of a set value (0 is "not set", never checked) */
  const char *min_text; /* min and max as messages show them ("6 MiB") */
  const char *max_text; /* NULL: no maximum worth naming */
  const char *v1_controller;
  const char *v1_file;
  const char *v2_controller;
  const char *v2_file;
  size_t offset; /* of its int64_t in struct reg_limits (not for the cpu list) */
};

/* The table, in reg_limit_id order. */
extern const struct reg_limit_def reg_limit_table[REG_LIMIT_COUNT];

/* The limit of CLI option `name` ("memory") or reg.yaml key
 * ("memory_reservation"); NULL when there is none. */
const struct reg_limit_def *reg_limit_by_name (const char *name);
const struct reg_limit_def *reg_limit_by_yaml (const char *key);

/* Whether `l` sets the limit (non-zero, or a cpu list). */
bool reg_limit_is_set (const struct reg_limits *l, const struct reg_limit_def *d);
/* Its stored value (0 for the cpu list), and setting it (not the cpu list). */
int64_t reg_limit_get (const struct reg_limits *l, const struct reg_limit_def *d);
void reg_limit_set (struct reg_limits *l, const struct reg_limit_def *d, int64_t v);

/* Parse `text` as the limit's kind into *l (the cpu list strdup'ed; a
 * previous one freed). The syntax only: EINVAL "NAME: bad value \"TEXT\"";
 * the range is reg_limit_check's. */
int reg_limit_parse (const struct reg_limit_def *d, const char *text, struct reg_limits *l,
                     struct reg_error **err);

/* The limit's value in `l` into the API object `limits` (its field; an
 * unset cpu list as null). */
int reg_limit_to_json (const struct reg_limit_def *d, const struct reg_limits *l, json_t *limits);

/* The API's Limits object into *l: only the table's fields, integers
 * (the cpu list a string, borrowed from `o`). `what` prefixes errors. */
int reg_limit_from_json (json_t *o, const char *what, struct reg_limits *l, struct reg_error **err);

/* Every set value in its range, and the rules between them (reservation
 * under the hard limit; memory-swap needs and exceeds memory). Touches
 * nothing (API input validation). */
int reg_limit_check (const struct reg_limits *l, struct reg_error **err);

#endif
