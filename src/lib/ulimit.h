/* ulimit: a container's process limits (setrlimit), Docker's --ulimit.
 *
 * "NAME=SOFT[:HARD]" with Docker's names (core, cpu, data, fsize, locks,
 * memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending,
 * stack); a number, or -1 / "unlimited" for no limit; HARD defaults to
 * SOFT and may not be below it. Values are in the kernel's units (bytes,
 * seconds, counts), as with Docker. Without --ulimit, a container keeps
 * what regd has (inherited through its monitor), as Docker's containers
 * keep dockerd's.
 *
 * reg_ulimit_apply runs in the container's child (and every exec's) right
 * before the confinement: system calls only, nothing allocated.
 */
#ifndef REG_ULIMIT_H
#define REG_ULIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct reg_ulimit
{
  int resource;       /* RLIMIT_* */
  int64_t soft, hard; /* -1: unlimited */
};

/* At most one per resource. */
#define REG_ULIMIT_MAX 16

/* "nofile=1024:2048" -> *out; EINVAL naming the part that is wrong. */
int reg_ulimit_parse (const char *spec, struct reg_ulimit *out, struct reg_error **err);
/* "nofile" -> RLIMIT_NOFILE; -1 when unknown. */
int reg_ulimit_resource (const char *name);
/* RLIMIT_NOFILE -> "nofile"; NULL when not one of Docker's names. */
const char *reg_ulimit_name (int resource);
/* setrlimit each; on failure -1 with errno, *failed the one that failed. */
int reg_ulimit_apply (const struct reg_ulimit *u, size_t n, const struct reg_ulimit **failed);

#endif
