#include "hostinfo.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

static int
disk (const char *root, uint64_t *total, uint64_t *avail, struct reg_error **err)
{
  struct statvfs s;
  if (statvfs (root, &s) < 0)
    return reg_error_sys (err, errno, "host disk: statvfs %s", root);
  *total = (uint64_t)s.f_blocks * s.f_frsize;
  if (avail)
    *avail = (uint64_t)s.f_bavail * s.f_frsize;
  return 0;
}

/* "Key:   123 kB" lines of /proc/meminfo, in bytes. */
static int
meminfo (uint64_t *total, uint64_t *available, struct reg_error **err)
{
  _cleanup_fclose_ FILE *f = fopen ("/proc/meminfo", "re");
  if (f == NULL)
    return reg_error_sys (err, errno, "host memory: open /proc/meminfo");
  char line[256];
  *total = *available = 0;
  while (fgets (line, sizeof line, f))
    {
      unsigned long long kb;
      if (sscanf (line, "MemTotal: %llu kB", &kb) == 1)
        *total = kb * 1024;
      else if (sscanf (line, "MemAvailable: %llu kB", &kb) == 1)
        *available = kb * 1024;
    }
  if (*total == 0)
    return reg_error_set (err, EIO, "host memory: no MemTotal in /proc/meminfo");
  return 0;
}

static void
os_name (char *out, size_t size)
{
  snprintf (out, size, "Linux");
  _cleanup_fclose_ FILE *f = fopen ("/etc/os-release", "re");
  char line[256];
  while (f && fgets (line, sizeof line, f))
    {
      if (strncmp (line, "PRETTY_NAME=", 12) != 0)
        continue;
      char *v = line + 12;
      v[strcspn (v, "\n")] = '\0';
      size_t n = strlen (v);
      if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
        {
          v[n - 1] = '\0';
          v++;
        }
      snprintf (out, size, "%.127s", v);
      return;
    }
}

int
reg_hostinfo_read (const char *root, struct reg_hostinfo *out, struct reg_error **err)
{
  struct utsname u;
  memset (out, 0, sizeof *out);
  if (uname (&u) < 0)
    return reg_error_sys (err, errno, "host info: uname");
  snprintf (out->arch, sizeof out->arch, "%s", u.machine);
  snprintf (out->kernel, sizeof out->kernel, "%s", u.release);
  snprintf (out->hostname, sizeof out->hostname, "%s", u.nodename);
  os_name (out->os, sizeof out->os);
  out->cpus = sysconf (_SC_NPROCESSORS_ONLN);
  uint64_t avail;
  if (meminfo (&out->mem_total, &avail, err) < 0)
    return -1;
  return disk (root, &out->disk_total, NULL, err);
}

/* The "cpu" line of /proc/stat: user nice system idle iowait irq softirq
 * steal, in clock ticks; idle and iowait are the idle part. */
static int
cpu_times (uint64_t *busy_ns, uint64_t *total_ns, struct reg_error **err)
{
  _cleanup_fclose_ FILE *f = fopen ("/proc/stat", "re");
  if (f == NULL)
    return reg_error_sys (err, errno, "host CPU: open /proc/stat");
  unsigned long long v[8] = { 0 };
  if (fscanf (f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
              &v[5], &v[6], &v[7])
      < 4)
    // cppcheck-suppress resourceLeak ; f has a cleanup attribute
    return reg_error_set (err, EIO, "host CPU: no cpu line in /proc/stat");
  unsigned long long total = 0;
  for (int i = 0; i < 8; i++)
    total += v[i];
  long hz = sysconf (_SC_CLK_TCK);
  uint64_t tick_ns = hz > 0 ? 1000000000ULL / (uint64_t)hz : 10000000ULL;
  *total_ns = total * tick_ns;
  *busy_ns = (total - v[3] - v[4]) * tick_ns;
  return 0;
}

int
reg_hostinfo_stats_read (const char *root, struct reg_hoststats *out, struct reg_error **err)
{
  memset (out, 0, sizeof *out);
  if (cpu_times (&out->cpu_busy_ns, &out->cpu_total_ns, err) < 0
      || meminfo (&out->mem_total, &out->mem_available, err) < 0
      || disk (root, &out->disk_total, &out->disk_free, err) < 0)
    return -1;
  double load[1];
  if (getloadavg (load, 1) == 1)
    out->load1 = load[0];
  _cleanup_fclose_ FILE *f = fopen ("/proc/uptime", "re");
  if (f && fscanf (f, "%lf", &out->uptime) != 1)
    out->uptime = 0;
  // cppcheck-suppress resourceLeak ; f has a cleanup attribute
  return 0;
}
