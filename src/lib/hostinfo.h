/* hostinfo: figures about the whole host (device) regd runs on, for remote
 * management (reg-hub): what it is (architecture, OS, kernel, CPUs, memory,
 * disk) and how busy it is (CPU time, memory, disk). Read from uname,
 * /etc/os-release, /proc/stat, /proc/meminfo and statvfs of the engine root;
 * never a sum over containers. CPU is given as cumulative busy and total
 * time, so a client computes utilisation from two readings.
 */
#ifndef REG_HOSTINFO_H
#define REG_HOSTINFO_H

#include <stdint.h>

#include "error.h"

struct reg_hostinfo
{
  char arch[65], kernel[65], hostname[65];
  char os[128]; /* PRETTY_NAME of /etc/os-release, "Linux" without one */
  long cpus;    /* online */
  uint64_t mem_total, disk_total;
};

struct reg_hoststats
{
  uint64_t cpu_busy_ns, cpu_total_ns; /* all CPUs, since boot */
  uint64_t mem_total, mem_available;
  uint64_t disk_total, disk_free; /* of the filesystem holding `root` */
  double load1, uptime;
};

/* `root`: the engine root, whose filesystem is the disk reported. */
int reg_hostinfo_read (const char *root, struct reg_hostinfo *out, struct reg_error **err);
int reg_hostinfo_stats_read (const char *root, struct reg_hoststats *out, struct reg_error **err);

#endif
