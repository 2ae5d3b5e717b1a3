/* cgroup: resource limits of a container, one interface over two backends.
 *
 *   v1 (per-controller hierarchies, e.g. Debian 12 in hybrid mode):
 *      <fs>/<controller>/reg/<id> for memory, pids, cpu, cpuacct, blkio,
 *      freezer, and cpuset when cpus are pinned
 *   v2 (unified): <fs>/reg/<id>, with the controllers enabled in
 *      <fs>/reg/cgroup.subtree_control
 *
 * The backend is chosen from what <fs> holds (cgroup.controllers at its
 * top: v2; a memory/ directory: v1); <fs> is /sys/fs/cgroup except in
 * tests, which use a fake tree. Limits are never half-applied: a limit that
 * cannot be written (missing controller or file, rejected value) is an error
 * naming the limit, and everything created for the container is removed
 * again. A value of 0 (or NULL) means "not set".
 *
 * The container's first process joins its cgroups itself, before anything
 * else (reg_cgroup_procs_paths gives the files to write "0" into), so every
 * process of the container is accounted from the start.
 *
 * The monitor's work for a container (reading and logging its output) must
 * not escape the container's CPU limit: with one, the monitor moves itself
 * into a sibling cgroup, <...>/reg/<id>.monitor, with the same CPU limit
 * (reg_cgroup_monitor_join). A sibling and not the container's own group:
 * the monitor must stay out of the container's pids and memory accounting
 * and survive reg_cgroup_kill_all. It moves back to where it was before the
 * cgroups are removed (reg_cgroup_destroy).
 */
#ifndef REG_CGROUP_H
#define REG_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "limit.h"

#define REG_CGROUP_FS "/sys/fs/cgroup"

enum reg_cgroup_version
{
  REG_CGROUP_V1 = 1,
  REG_CGROUP_V2 = 2,
};

struct reg_cgroup
{
  enum reg_cgroup_version version;
  char *fs;           /* /sys/fs/cgroup */
  char *id;           /* container id */
  char **dirs;        /* every cgroup directory created, NULL-terminated */
  char *monitor_dir;  /* the monitor's sibling cgroup (CPU), or NULL */
  char *monitor_home; /* the cgroup the monitor came from, when it joined */
  const char *ahead;  /* during reg_cgroup_create_from: the name of the groups to take */
};

int reg_cgroup_detect (const char *fs, enum reg_cgroup_version *out, struct reg_error **err);

/* Create the container's cgroups and apply the limits, all or nothing. */
int reg_cgroup_create (const char *fs, const char *id, const struct reg_limits *l,
                       struct reg_cgroup **out, struct reg_error **err);
/* Groups made ahead, by the spare monitor while it waits (monitor.h): on
 * cgroup v1, reg_cgroup_ahead makes the groups a container without limits
 * has (every mounted controller but cpuset), empty, named
 * REG_CGROUP_AHEAD<pid>; reg_cgroup_create_from then renames each into
 * place (<...>/reg/<id>) instead of making it, and makes the others (the
 * cpuset of pinned cpus) as reg_cgroup_create does. Making a memory cgroup
 * takes 0.1 ms, a rename a few microseconds. It always consumes `ahead`:
 * what it did not take is removed, and freed. cgroup2 directories cannot
 * be renamed: there *out is NULL (nothing made). A spare killed before it
 * got a container leaves its groups; reg_cgroup_sweep_ahead (regd's start)
 * removes those whose process is gone. */
#define REG_CGROUP_AHEAD "spare-"
int reg_cgroup_ahead (const char *fs, struct reg_cgroup **out, struct reg_error **err);
int reg_cgroup_create_from (const char *fs, const char *id, const struct reg_limits *l,
                            struct reg_cgroup *ahead, struct reg_cgroup **out,
                            struct reg_error **err);
void reg_cgroup_sweep_ahead (const char *fs);
/* The files the container's first process (or an exec helper) writes "0"
 * into, to join: v2's cgroup.procs; v1's `tasks`, which moves the calling
 * thread only. The caller is single-threaded, so that is the whole
 * process, and the kernel (6.18 here) then skips the cgroup_threadgroup_rwsem
 * write lock a cgroup.procs write takes per hierarchy (an RCU grace period each
 * on a busy machine: 5-8 ms for six hierarchies, 0.1-0.2 ms through
 * `tasks`; docs/benchmarks.md). NULL-terminated, allocated. */
char **reg_cgroup_procs_paths (const struct reg_cgroup *cg);
/* The processes in the container's cgroup (its first hierarchy: every
 * process is in each), host PIDs into an allocated array. */
int reg_cgroup_pids (const struct reg_cgroup *cg, pid_t **pids, size_t *n, struct reg_error **err);
/* Move the calling process (the monitor) into <id>.monitor beside the
 * container's cgroup, with the container's CPU limit (--cpus,
 * --cpu-shares); nothing when the container has none. */
int reg_cgroup_monitor_join (struct reg_cgroup *cg, const struct reg_limits *l,
                             struct reg_error **err);
/* Did the kernel OOM-kill a process of this container? */
bool reg_cgroup_oom_killed (const struct reg_cgroup *cg);
/* Remove the cgroups (waiting briefly for exiting processes); idempotent. */
void reg_cgroup_destroy (struct reg_cgroup *cg);
/* Remove the cgroups of container `id` when nothing else knows them (after
 * a crash): every backend path that exists. */
void reg_cgroup_remove_by_id (const char *fs, const char *id);
/* The same without waiting: a cgroup that still has a process (a monitor
 * at work in its <id>.monitor) stays, for whoever is in it to remove. */
void reg_cgroup_remove_unused_by_id (const char *fs, const char *id);
void reg_cgroup_free (struct reg_cgroup *cg);

/* The existing cgroups of container `id` (after regd restarts, or from
 * another process than the monitor that made them). */
int reg_cgroup_open (const char *fs, const char *id, struct reg_cgroup **out,
                     struct reg_error **err);
/* Apply new limits to existing cgroups (reg update): all values given. */
int reg_cgroup_update (const struct reg_cgroup *cg, const struct reg_limits *l,
                       struct reg_error **err);

struct reg_cgroup_stats
{
  uint64_t cpu_ns;       /* CPU time used, all processes */
  uint64_t memory;       /* bytes in use, page cache that can be dropped excluded */
  uint64_t memory_limit; /* 0: no limit */
  uint64_t pids;
  uint64_t blk_read, blk_write; /* bytes */
};
int reg_cgroup_read_stats (const struct reg_cgroup *cg, struct reg_cgroup_stats *out,
                           struct reg_error **err);

/* Freeze or thaw every process of container `id` (v1 freezer.state, v2
 * cgroup.freeze); freezing waits until the kernel reports it frozen. */
int reg_cgroup_freeze (const char *fs, const char *id, bool frozen, struct reg_error **err);

/* SIGKILL every process of container `id` until none is left (v2:
 * cgroup.kill where the kernel has it; v1: every PID of cgroup.procs, again
 * until it is empty). Killing only the first process is not enough: the
 * kernel kills the rest of a PID namespace once its first process has
 * exited, and under a fork bomb that process can sit for many seconds in
 * fork behind thousands of others (measured: "still running 10 s after
 * SIGKILL" in 3 of 4 runs at 4096 processes; all gone in ~4 s this way). */
int reg_cgroup_kill_all (const char *fs, const char *id, int timeout_ms, struct reg_error **err);

#endif
