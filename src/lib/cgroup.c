/* cgroup: see cgroup.h. */
#include "cgroup.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CFS_PERIOD_US 100000
#define PARENT "reg"

static const char *const v1_controllers[]
    = { "memory", "pids", "cpu", "cpuacct", "blkio", "freezer", "cpuset", NULL };

int
reg_cgroup_detect (const char *fs, enum reg_cgroup_version *out, struct reg_error **err)
{
  _cleanup_free_ char *v2 = NULL, *v1 = NULL;
  if (asprintf (&v2, "%s/cgroup.controllers", fs) < 0 || asprintf (&v1, "%s/memory", fs) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (access (v2, F_OK) == 0)
    *out = REG_CGROUP_V2;
  else if (access (v1, F_OK) == 0)
    *out = REG_CGROUP_V1;
  else
    return reg_error_set (err, ENOTSUP,
                          "cgroups: neither a unified (v2) nor a v1 memory hierarchy under %s", fs);
  return 0;
}

/* Write `value` to dir/file. O_CREAT only matters for fake trees in tests:
 * cgroupfs refuses to create a file, so a missing control file is still an
 * error there. */
static int
put (const char *dir, const char *file, const char *value, const char *what, struct reg_error **err)
{
  _cleanup_free_ char *path = NULL;
  if (asprintf (&path, "%s/%s", dir, file) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  _cleanup_close_ int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return reg_error_sys (err, errno, "cgroup limit %s: cannot open %s", what, path);
  size_t len = strlen (value);
  if (write (fd, value, len) != (ssize_t)len)
    return reg_error_sys (err, errno, "cgroup limit %s: writing \"%s\" to %s", what, value, path);
  return 0;
}

static int
put_i64 (const char *dir, const char *file, int64_t v, const char *what, struct reg_error **err)
{
  char buf[32];
  snprintf (buf, sizeof buf, "%" PRId64, v);
  return put (dir, file, buf, what, err);
}

/* First line of dir/file, trimmed; allocated, NULL when unreadable. */
static char *
get (const char *dir, const char *file)
{
  _cleanup_free_ char *path = NULL;
  if (asprintf (&path, "%s/%s", dir, file) < 0)
    return NULL;
  char *text = NULL;
  if (reg_util_read_file (path, 65536, &text, NULL, NULL) < 0)
    return NULL;
  text[strcspn (text, "\n")] = '\0';
  return text;
}

static int
push_dir (struct reg_cgroup *cg, char *dir)
{
  size_t n = reg_strv_len (cg->dirs);
  char **v = realloc (cg->dirs, (n + 2) * sizeof *v);
  if (v == NULL)
    {
      free (dir);
      return -1;
    }
  v[n] = dir;
  v[n + 1] = NULL;
  cg->dirs = v;
  return 0;
}

static int
make_dir (const char *path, bool must_be_new, struct reg_error **err)
{
  if (mkdir (path, 0755) == 0)
    return 0;
  if (errno == EEXIST && !must_be_new)
    return 0;
  return reg_error_sys (err, errno, "cgroup: mkdir %s", path);
}

static void remove_dir (const char *dir);

/* The group made ahead under parent, renamed to dir (a cgroup v1
 * directory can be renamed within its parent; the rename fails, as a
 * mkdir would, when dir exists). false: none, and dir is to be made. */
static bool
take_ahead (const struct reg_cgroup *cg, const char *parent, const char *dir)
{
  if (cg->ahead == NULL)
    return false;
  _cleanup_free_ char *from = NULL;
  return asprintf (&from, "%s/%s", parent, cg->ahead) >= 0 && rename (from, dir) == 0;
}

/* v1 cpuset groups start empty and take no task until cpus and mems are set. */
static int
inherit_cpuset (const char *parent, const char *dir, const char *file, struct reg_error **err)
{
  _cleanup_free_ char *mine = get (dir, file);
  if (mine && *mine)
    return 0;
  _cleanup_free_ char *from = get (parent, file);
  if (from == NULL)
    return reg_error_set (err, ENOENT, "cgroup: cannot read %s/%s", parent, file);
  return put (dir, file, from, file, err);
}

static const char *
v1_dir_of (const struct reg_cgroup *cg, const char *controller)
{
  char needle[64];
  snprintf (needle, sizeof needle, "/%s/%s/", controller, PARENT);
  for (size_t i = 0; cg->dirs && cg->dirs[i]; i++)
    if (strstr (cg->dirs[i], needle))
      return cg->dirs[i];
  return NULL;
}

/* Whether a limit set in `l` lives in controller `ctl` (pids: always,
 * every container has a pids limit). */
static bool
controller_needed (enum reg_cgroup_version v, const char *ctl, const struct reg_limits *l)
{
  for (size_t i = 0; i < REG_LIMIT_COUNT; i++)
    {
      const struct reg_limit_def *d = &reg_limit_table[i];
      if (strcmp (v == REG_CGROUP_V1 ? d->v1_controller : d->v2_controller, ctl) == 0
          && (d->id == REG_LIMIT_PIDS || reg_limit_is_set (l, d)))
        return true;
    }
  return false;
}

/* The text the limit's cgroup file takes (a number formatted in buf, or
 * the cpu list as it is); NULL when the limit is not set, and nothing is
 * written. The pids limit is always set (the default). */
static const char *
file_value (enum reg_cgroup_version v, const struct reg_limit_def *d, const struct reg_limits *l,
            char *buf, size_t n)
{
  bool v2 = v == REG_CGROUP_V2;
  int64_t x = reg_limit_get (l, d);
  if (d->id == REG_LIMIT_CPUSET_CPUS)
    return l->cpuset_cpus;
  if (d->id == REG_LIMIT_PIDS && x == 0)
    x = REG_DEFAULT_PIDS_LIMIT;
  if (x == 0)
    return NULL;
  if (x == -1) /* unlimited (pids, memory-swap); v1's memsw file takes -1 */
    return v2 || d->id != REG_LIMIT_MEMORY_SWAP ? "max" : "-1";
  switch (d->id)
    {
    case REG_LIMIT_MEMORY_SWAP: /* v2 limits the swap alone, which may be 0 */
      x = v2 ? x - l->memory : x;
      break;
    case REG_LIMIT_CPUS: /* a CFS quota per period (v1: the period is written first) */
      x = x * CFS_PERIOD_US / 1000000000;
      if (v2)
        {
          snprintf (buf, n, "%" PRId64 " %d", x, CFS_PERIOD_US);
          return buf;
        }
      break;
    case REG_LIMIT_CPU_SHARES: /* Docker's mapping of shares (2..262144) to weight (1..10000) */
      x = v2 ? 1 + ((x - 2) * 9999) / 262142 : x;
      break;
    case REG_LIMIT_BLKIO_WEIGHT: /* io.weight is 1..10000, per device or "default" */
      if (v2)
        {
          snprintf (buf, n, "default %" PRId64, x * 10);
          return buf;
        }
      break;
    default:
      break;
    }
  snprintf (buf, n, "%" PRId64, x);
  return buf;
}

/* Write one limit to its file in `dir` (the limits table names it). */
static int
put_limit (enum reg_cgroup_version v, const char *dir, const struct reg_limit_def *d,
           const struct reg_limits *l, struct reg_error **err)
{
  char buf[64];
  const char *value = file_value (v, d, l, buf, sizeof buf);
  if (value == NULL)
    return 0;
  const char *file = v == REG_CGROUP_V1 ? d->v1_file : d->v2_file;
  if (v == REG_CGROUP_V1 && d->id == REG_LIMIT_CPUS
      && put_i64 (dir, "cpu.cfs_period_us", CFS_PERIOD_US, d->name, err) < 0)
    return -1;
  if (v == REG_CGROUP_V1 && d->id == REG_LIMIT_BLKIO_WEIGHT)
    {
      /* The BFQ scheduler's file when the plain one is not there. */
      _cleanup_free_ char *plain = NULL;
      if (asprintf (&plain, "%s/%s", dir, file) < 0)
        return reg_error_set (err, ENOMEM, "out of memory");
      file = access (plain, F_OK) == 0 ? file : "blkio.bfq.weight";
    }
  return put (dir, file, value, d->name, err);
}

static int v1_apply (const struct reg_cgroup *cg, const struct reg_limits *l,
                     struct reg_error **err);

/* The groups the limits need (with apply, the limits written); with
 * cg->ahead, each renamed from the group made ahead where there is one. */
static int
v1_create (struct reg_cgroup *cg, const struct reg_limits *l, bool apply, struct reg_error **err)
{
  for (size_t i = 0; v1_controllers[i]; i++)
    {
      const char *ctl = v1_controllers[i];
      bool needed = controller_needed (REG_CGROUP_V1, ctl, l);
      if (strcmp (ctl, "cpuset") == 0 && !needed)
        continue; /* stays in the host's cpuset */
      _cleanup_free_ char *base = NULL, *parent = NULL;
      char *dir = NULL;
      if (asprintf (&base, "%s/%s", cg->fs, ctl) < 0
          || asprintf (&parent, "%s/%s", base, PARENT) < 0
          || asprintf (&dir, "%s/%s", parent, cg->id) < 0)
        return reg_error_set (err, ENOMEM, "out of memory");
      struct stat st;
      if (stat (base, &st) < 0 || !S_ISDIR (st.st_mode))
        {
          free (dir);
          if (needed)
            return reg_error_set (err, ENOTSUP,
                                  "cgroup: the %s controller is not mounted at %s, so the "
                                  "limit cannot be applied",
                                  ctl, base);
          continue;
        }
      if (make_dir (parent, false, err) < 0)
        {
          free (dir);
          return -1;
        }
      if (strcmp (ctl, "cpuset") == 0
          && (inherit_cpuset (base, parent, "cpuset.cpus", err) < 0
              || inherit_cpuset (base, parent, "cpuset.mems", err) < 0))
        {
          free (dir);
          return -1;
        }
      if (!take_ahead (cg, parent, dir) && make_dir (dir, true, err) < 0)
        {
          free (dir);
          return -1;
        }
      if (push_dir (cg, dir) < 0)
        return reg_error_set (err, ENOMEM, "out of memory");
    }
  return apply ? v1_apply (cg, l, err) : 0;
}

static int
v1_apply (const struct reg_cgroup *cg, const struct reg_limits *l, struct reg_error **err)
{
  for (size_t i = 0; i < REG_LIMIT_COUNT; i++)
    {
      const struct reg_limit_def *d = &reg_limit_table[i];
      const char *dir = v1_dir_of (cg, d->v1_controller);
      if (d->id == REG_LIMIT_CPUSET_CPUS && dir == NULL)
        continue; /* the container stays in the host's cpuset */
      if (put_limit (REG_CGROUP_V1, dir, d, l, err) < 0)
        return -1;
      if (d->id == REG_LIMIT_CPUSET_CPUS)
        {
          _cleanup_free_ char *parent = strdup (dir);
          if (parent == NULL)
            return reg_error_set (err, ENOMEM, "out of memory");
          *strrchr (parent, '/') = '\0';
          if (inherit_cpuset (parent, dir, "cpuset.mems", err) < 0)
            return -1;
        }
    }
  return 0;
}

static int v2_apply (const char *dir, const struct reg_limits *l, struct reg_error **err);

/* The CPU part of the limits, for the monitor's cgroup. */
static int
apply_cpu (enum reg_cgroup_version v, const char *dir, const struct reg_limits *l,
           struct reg_error **err)
{
  if (v == REG_CGROUP_V1)
    {
      for (size_t i = 0; i < REG_LIMIT_COUNT; i++)
        if (strcmp (reg_limit_table[i].v1_controller, "cpu") == 0
            && put_limit (v, dir, &reg_limit_table[i], l, err) < 0)
          return -1;
      return 0;
    }
  struct reg_limits cpu
      = { .nano_cpus = l->nano_cpus, .cpu_shares = l->cpu_shares, .pids_limit = -1 };
  return v2_apply (dir, &cpu, err);
}

static int
v2_create (struct reg_cgroup *cg, const struct reg_limits *l, struct reg_error **err)
{
  _cleanup_free_ char *parent = NULL;
  char *dir = NULL;
  if (asprintf (&parent, "%s/%s", cg->fs, PARENT) < 0
      || asprintf (&dir, "%s/%s", parent, cg->id) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (make_dir (parent, false, err) < 0)
    {
      free (dir);
      return -1;
    }
  /* Enable what the limits need, at the top and in reg/. */
  static const char *const ctls[] = { "memory", "pids", "cpu", "cpuset", "io" };
  _cleanup_free_ char *available = get (cg->fs, "cgroup.controllers");
  for (size_t i = 0; i < sizeof ctls / sizeof ctls[0]; i++)
    {
      char word[32];
      snprintf (word, sizeof word, " %s ", ctls[i]);
      _cleanup_free_ char *padded = NULL;
      if (asprintf (&padded, " %s ", available ? available : "") < 0)
        {
          free (dir);
          return reg_error_set (err, ENOMEM, "out of memory");
        }
      if (strstr (padded, word) == NULL)
        {
          if (!controller_needed (REG_CGROUP_V2, ctls[i], l))
            continue;
          free (dir);
          return reg_error_set (err, ENOTSUP,
                                "cgroup: the %s controller is not available in %s, so the "
                                "limit cannot be applied",
                                ctls[i], cg->fs);
        }
      char plus[32];
      snprintf (plus, sizeof plus, "+%s", ctls[i]);
      if (put (cg->fs, "cgroup.subtree_control", plus, ctls[i], err) < 0
          || put (parent, "cgroup.subtree_control", plus, ctls[i], err) < 0)
        {
          free (dir);
          return -1;
        }
    }
  if (make_dir (dir, true, err) < 0)
    {
      free (dir);
      return -1;
    }
  if (push_dir (cg, dir) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  return v2_apply (dir, l, err);
}

static int
v2_apply (const char *dir, const struct reg_limits *l, struct reg_error **err)
{
  for (size_t i = 0; i < REG_LIMIT_COUNT; i++)
    if (put_limit (REG_CGROUP_V2, dir, &reg_limit_table[i], l, err) < 0)
      return -1;
  return 0;
}

static struct reg_cgroup *
cgroup_new (const char *fs, const char *id)
{
  struct reg_cgroup *cg = calloc (1, sizeof *cg);
  if (cg == NULL || (cg->fs = strdup (fs)) == NULL || (cg->id = strdup (id)) == NULL
      || (cg->dirs = calloc (1, sizeof (char *))) == NULL)
    {
      reg_cgroup_free (cg);
      return NULL;
    }
  return cg;
}

int
reg_cgroup_create_from (const char *fs, const char *id, const struct reg_limits *l,
                        struct reg_cgroup *ahead, struct reg_cgroup **out, struct reg_error **err)
{
  *out = NULL;
  struct reg_cgroup *cg = NULL;
  int ret = reg_limit_check (l, err);
  if (ret == 0 && (cg = cgroup_new (fs, id)) == NULL)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  if (ret == 0)
    ret = reg_cgroup_detect (fs, &cg->version, err);
  if (ret == 0)
    {
      cg->ahead = ahead && ahead->version == cg->version ? ahead->id : NULL;
      ret = cg->version == REG_CGROUP_V1 ? v1_create (cg, l, true, err) : v2_create (cg, l, err);
      cg->ahead = NULL;
    }
  /* What was not taken goes (every group, when the create failed). */
  reg_cgroup_destroy (ahead);
  reg_cgroup_free (ahead);
  if (ret < 0)
    {
      reg_cgroup_destroy (cg);
      reg_cgroup_free (cg);
      return -1;
    }
  *out = cg;
  return 0;
}

int
reg_cgroup_create (const char *fs, const char *id, const struct reg_limits *l,
                   struct reg_cgroup **out, struct reg_error **err)
{
  return reg_cgroup_create_from (fs, id, l, NULL, out, err);
}

int
reg_cgroup_ahead (const char *fs, struct reg_cgroup **out, struct reg_error **err)
{
  *out = NULL;
  enum reg_cgroup_version v;
  if (reg_cgroup_detect (fs, &v, err) < 0)
    return -1;
  if (v != REG_CGROUP_V1)
    return 0; /* a cgroup2 directory cannot be renamed */
  char name[32];
  snprintf (name, sizeof name, "%s%d", REG_CGROUP_AHEAD, (int)getpid ());
  struct reg_cgroup *cg = cgroup_new (fs, name);
  if (cg == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  cg->version = v;
  static const struct reg_limits none = { 0 };
  if (v1_create (cg, &none, false, err) < 0)
    {
      reg_cgroup_destroy (cg);
      reg_cgroup_free (cg);
      return -1;
    }
  *out = cg;
  return 0;
}

void
reg_cgroup_sweep_ahead (const char *fs)
{
  size_t len = strlen (REG_CGROUP_AHEAD);
  for (size_t i = 0; v1_controllers[i]; i++)
    {
      _cleanup_free_ char *parent = NULL;
      if (asprintf (&parent, "%s/%s/%s", fs, v1_controllers[i], PARENT) < 0)
        return;
      DIR *d = opendir (parent);
      for (struct dirent *de; d && (de = readdir (d)) != NULL;)
        {
          char *end = NULL;
          long pid = strncmp (de->d_name, REG_CGROUP_AHEAD, len) == 0
                         ? strtol (de->d_name + len, &end, 10)
                         : 0;
          _cleanup_free_ char *dir = NULL;
          if (pid > 0 && *end == '\0' && kill ((pid_t)pid, 0) < 0 && errno == ESRCH
              && asprintf (&dir, "%s/%s", parent, de->d_name) >= 0)
            remove_dir (dir);
        }
      if (d)
        closedir (d);
    }
}

char **
reg_cgroup_procs_paths (const struct reg_cgroup *cg)
{
  size_t n = reg_strv_len (cg->dirs);
  char **v = calloc (n + 1, sizeof *v);
  for (size_t i = 0; v && i < n; i++)
    if (asprintf (&v[i], "%s/%s", cg->dirs[i],
                  cg->version == REG_CGROUP_V1 ? "tasks" : "cgroup.procs")
        < 0)
      {
        v[i] = NULL;
        reg_strv_free (v);
        return NULL;
      }
  return v;
}

/* The cgroup (directory) of the calling process in the hierarchy of
 * `controller` (v1) or in the unified one (v2); allocated. */
static char *
own_cgroup (const struct reg_cgroup *cg, const char *controller)
{
  _cleanup_free_ char *text = NULL;
  if (reg_util_read_file ("/proc/self/cgroup", 1 << 16, &text, NULL, NULL) < 0)
    return NULL;
  char *save = NULL;
  for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *c1 = strchr (line, ':'), *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      if (c2 == NULL)
        continue;
      *c2 = '\0';
      char *ctls = c1 + 1, *path = c2 + 1, *out = NULL;
      if (cg->version == REG_CGROUP_V2 ? (strcmp (line, "0") == 0 && *ctls == '\0') : false)
        return asprintf (&out, "%s%s", cg->fs, path) < 0 ? NULL : out;
      char *tsave = NULL;
      for (char *t = strtok_r (ctls, ",", &tsave); cg->version == REG_CGROUP_V1 && t;
           t = strtok_r (NULL, ",", &tsave))
        if (strcmp (t, controller) == 0)
          return asprintf (&out, "%s/%s%s", cg->fs, controller, path) < 0 ? NULL : out;
    }
  return NULL;
}

int
reg_cgroup_monitor_join (struct reg_cgroup *cg, const struct reg_limits *l, struct reg_error **err)
{
  if (l->nano_cpus == 0 && l->cpu_shares == 0)
    return 0;
  _cleanup_free_ char *dir = NULL, *home = own_cgroup (cg, "cpu");
  if (cg->version == REG_CGROUP_V1
          ? asprintf (&dir, "%s/cpu/%s/%s.monitor", cg->fs, PARENT, cg->id) < 0
          : asprintf (&dir, "%s/%s/%s.monitor", cg->fs, PARENT, cg->id) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (home == NULL)
    return reg_error_set (err, ENOENT,
                          "cgroup: the monitor's own cpu cgroup is not in /proc/self/cgroup");
  if (make_dir (dir, false, err) < 0 || apply_cpu (cg->version, dir, l, err) < 0
      || put (dir, "cgroup.procs", "0", "the monitor's cpu limit", err) < 0)
    {
      remove_dir (dir);
      return reg_error_prefix (err, "container %.12s", cg->id);
    }
  cg->monitor_dir = reg_steal (&dir);
  cg->monitor_home = reg_steal (&home);
  return 0;
}

bool
reg_cgroup_oom_killed (const struct reg_cgroup *cg)
{
  const char *dir = cg->version == REG_CGROUP_V1 ? v1_dir_of (cg, "memory") : cg->dirs[0];
  if (dir == NULL)
    return false;
  _cleanup_free_ char *path = NULL;
  if (asprintf (&path, "%s/%s", dir,
                cg->version == REG_CGROUP_V1 ? "memory.oom_control" : "memory.events")
      < 0)
    return false;
  _cleanup_free_ char *text = NULL;
  if (reg_util_read_file (path, 65536, &text, NULL, NULL) < 0)
    return false;
  const char *k = strstr (text, "oom_kill ");
  return k && strtoll (k + 9, NULL, 10) > 0;
}

static void
remove_dir (const char *dir)
{
  /* The last processes of a PID namespace may still be exiting. */
  for (int i = 0; i < 2000; i++)
    {
      if (rmdir (dir) == 0 || errno == ENOENT)
        return;
      if (errno != EBUSY)
        break;
      struct timespec ts = { 0, 500 * 1000 }; /* usually gone within a few */
      nanosleep (&ts, NULL);
    }
  /* A fake tree in tests has files in it. */
  reg_util_rm_rf (dir, NULL);
}

void
reg_cgroup_destroy (struct reg_cgroup *cg)
{
  if (cg == NULL)
    return;
  if (cg->monitor_dir && cg->monitor_home)
    {
      /* Back where the monitor came from, so its cgroup can go; to the
       * hierarchy's root when that one is gone (regd's service stopped). */
      if (put (cg->monitor_home, "cgroup.procs", "0", "the monitor's cpu limit", NULL) < 0)
        {
          _cleanup_free_ char *top = NULL;
          if (cg->version == REG_CGROUP_V1 ? asprintf (&top, "%s/cpu", cg->fs) >= 0
                                           : (top = strdup (cg->fs)) != NULL)
            put (top, "cgroup.procs", "0", "the monitor's cpu limit", NULL);
        }
      remove_dir (cg->monitor_dir);
      free (cg->monitor_dir);
      free (cg->monitor_home);
      cg->monitor_dir = cg->monitor_home = NULL;
    }
  for (size_t n = reg_strv_len (cg->dirs); n > 0; n--)
    remove_dir (cg->dirs[n - 1]);
}

/* One rmdir: a cgroup a process is still in stays. */
static void
remove_dir_now (const char *dir)
{
  rmdir (dir);
}

static void
remove_of_id (const char *fs, const char *id, void (*remove) (const char *))
{
  for (size_t i = 0; v1_controllers[i]; i++)
    {
      _cleanup_free_ char *dir = NULL;
      if (asprintf (&dir, "%s/%s/%s/%s", fs, v1_controllers[i], PARENT, id) >= 0)
        remove (dir);
    }
  _cleanup_free_ char *dir = NULL, *mon1 = NULL, *mon2 = NULL;
  if (asprintf (&dir, "%s/%s/%s", fs, PARENT, id) >= 0)
    remove (dir);
  /* The monitor's cpu cgroup, left by a monitor that died in it. */
  if (asprintf (&mon1, "%s/cpu/%s/%s.monitor", fs, PARENT, id) >= 0)
    remove (mon1);
  if (asprintf (&mon2, "%s/%s/%s.monitor", fs, PARENT, id) >= 0)
    remove (mon2);
}

void
reg_cgroup_remove_by_id (const char *fs, const char *id)
{
  remove_of_id (fs, id, remove_dir);
}

void
reg_cgroup_remove_unused_by_id (const char *fs, const char *id)
{
  remove_of_id (fs, id, remove_dir_now);
}

void
reg_cgroup_free (struct reg_cgroup *cg)
{
  if (cg == NULL)
    return;
  free (cg->fs);
  free (cg->id);
  reg_strv_free (cg->dirs);
  free (cg->monitor_dir);
  free (cg->monitor_home);
  free (cg);
}

int
reg_cgroup_freeze (const char *fs, const char *id, bool frozen, struct reg_error **err)
{
  enum reg_cgroup_version v;
  if (reg_cgroup_detect (fs, &v, err) < 0)
    return -1;
  _cleanup_free_ char *dir = NULL;
  if (v == REG_CGROUP_V1 ? asprintf (&dir, "%s/freezer/%s/%s", fs, PARENT, id) < 0
                         : asprintf (&dir, "%s/%s/%s", fs, PARENT, id) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  const char *file = v == REG_CGROUP_V1 ? "freezer.state" : "cgroup.freeze";
  const char *value = v == REG_CGROUP_V1 ? (frozen ? "FROZEN" : "THAWED") : (frozen ? "1" : "0");
  if (put (dir, file, value, frozen ? "pause" : "unpause", err) < 0)
    return -1;
  if (!frozen)
    return 0;
  /* v1 goes through FREEZING; v2 says "frozen 1" in cgroup.events. A v1
   * cgroup can stay FREEZING while a task is caught mid-fork or in an
   * uninterruptible sleep: writing FROZEN again retries the stragglers,
   * and a short thaw now and then lets one caught in vfork move on (what
   * runc does too). Under load this took more than 1 s (a CI failure of
   * t_pause), so the wait is 5 s. */
  for (int i = 0; i < 1000; i++)
    {
      _cleanup_free_ char *state = NULL;
      if (v == REG_CGROUP_V1)
        {
          if (i % 100 == 99)
            put (dir, file, "THAWED", "unpause", NULL);
          if (i > 0)
            put (dir, file, "FROZEN", "pause", NULL);
          state = get (dir, file);
        }
      else
        {
          _cleanup_free_ char *path = NULL;
          if (asprintf (&path, "%s/cgroup.events", dir) >= 0)
            reg_util_read_file (path, 4096, &state, NULL, NULL);
        }
      if (state
          && (v == REG_CGROUP_V1 ? strcmp (state, "FROZEN") == 0
                                 : strstr (state, "frozen 1") != NULL))
        return 0;
      struct timespec ts = { 0, 5 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  put (dir, file, v == REG_CGROUP_V1 ? "THAWED" : "0", "unpause", NULL);
  return reg_error_set (err, ETIMEDOUT, "container %.12s: processes did not freeze within 5 s", id);
}

int
reg_cgroup_open (const char *fs, const char *id, struct reg_cgroup **out, struct reg_error **err)
{
  *out = NULL;
  struct reg_cgroup *cg = calloc (1, sizeof *cg);
  if (cg == NULL || (cg->fs = strdup (fs)) == NULL || (cg->id = strdup (id)) == NULL
      || (cg->dirs = calloc (1, sizeof (char *))) == NULL)
    {
      reg_cgroup_free (cg);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  if (reg_cgroup_detect (fs, &cg->version, err) < 0)
    {
      reg_cgroup_free (cg);
      return -1;
    }
  for (size_t i = 0; cg->version == REG_CGROUP_V1 ? v1_controllers[i] != NULL : i < 1; i++)
    {
      char *dir = NULL;
      if (cg->version == REG_CGROUP_V1
              ? asprintf (&dir, "%s/%s/%s/%s", fs, v1_controllers[i], PARENT, id) < 0
              : asprintf (&dir, "%s/%s/%s", fs, PARENT, id) < 0)
        {
          reg_cgroup_free (cg);
          return reg_error_set (err, ENOMEM, "out of memory");
        }
      if (access (dir, F_OK) != 0)
        free (dir);
      else if (push_dir (cg, dir) < 0)
        {
          reg_cgroup_free (cg);
          return reg_error_set (err, ENOMEM, "out of memory");
        }
    }
  if (cg->dirs[0] == NULL)
    {
      reg_cgroup_free (cg);
      return reg_error_set (err, ENOENT, "container %.12s: no cgroup (is it running?)", id);
    }
  char *mon = NULL; /* updated with the container's cpu limit (not joined: no home) */
  if (cg->version == REG_CGROUP_V1 ? asprintf (&mon, "%s/cpu/%s/%s.monitor", fs, PARENT, id) >= 0
                                   : asprintf (&mon, "%s/%s/%s.monitor", fs, PARENT, id) >= 0)
    {
      if (access (mon, F_OK) == 0)
        cg->monitor_dir = mon;
      else
        free (mon);
    }
  *out = cg;
  return 0;
}

int
reg_cgroup_update (const struct reg_cgroup *cg, const struct reg_limits *l, struct reg_error **err)
{
  if (reg_limit_check (l, err) < 0)
    return reg_error_prefix (err, "container %.12s", cg->id);
  if (cg->monitor_dir && (l->nano_cpus || l->cpu_shares)
      && apply_cpu (cg->version, cg->monitor_dir, l, err) < 0)
    return reg_error_prefix (err, "container %.12s: the monitor's cgroup", cg->id);
  if (cg->version == REG_CGROUP_V1)
    {
      if (l->cpuset_cpus && v1_dir_of (cg, "cpuset") == NULL)
        return reg_error_set (err, ENOTSUP,
                              "container %.12s: cpuset-cpus can only be changed on a container "
                              "started with --cpuset-cpus",
                              cg->id);
      return v1_apply (cg, l, err) < 0 ? reg_error_prefix (err, "container %.12s", cg->id) : 0;
    }
  return v2_apply (cg->dirs[0], l, err) < 0 ? reg_error_prefix (err, "container %.12s", cg->id) : 0;
}

static uint64_t
get_u64 (const char *dir, const char *file)
{
  _cleanup_free_ char *v = dir ? get (dir, file) : NULL;
  return v ? strtoull (v, NULL, 10) : 0;
}

/* "key value" lines: the value of `key`. */
static uint64_t
keyed (const char *dir, const char *file, const char *key)
{
  _cleanup_free_ char *path = NULL, *text = NULL;
  if (dir == NULL || asprintf (&path, "%s/%s", dir, file) < 0
      || reg_util_read_file (path, 1 << 20, &text, NULL, NULL) < 0)
    return 0;
  size_t n = strlen (key);
  for (char *line = text; line && *line;
       line = strchr (line, '\n') ? strchr (line, '\n') + 1 : NULL)
    if (strncmp (line, key, n) == 0 && line[n] == ' ')
      return strtoull (line + n + 1, NULL, 10);
  return 0;
}

/* Sum "Read"/"Write" (v1 blkio) or rbytes=/wbytes= (v2 io.stat) over devices. */
static void
io_bytes (const char *dir, const char *file, bool v2, uint64_t *rd, uint64_t *wr)
{
  _cleanup_free_ char *path = NULL, *text = NULL;
  *rd = *wr = 0;
  if (dir == NULL || asprintf (&path, "%s/%s", dir, file) < 0
      || reg_util_read_file (path, 1 << 20, &text, NULL, NULL) < 0)
    return;
  char *save = NULL;
  for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      if (v2)
        {
          const char *r = strstr (line, "rbytes="), *w = strstr (line, "wbytes=");
          *rd += r ? strtoull (r + 7, NULL, 10) : 0;
          *wr += w ? strtoull (w + 7, NULL, 10) : 0;
          continue;
        }
      char dev[64], op[16];
      unsigned long long v;
      if (sscanf (line, "%63s %15s %llu", dev, op, &v) != 3)
        continue;
      if (strcmp (op, "Read") == 0)
        *rd += v;
      else if (strcmp (op, "Write") == 0)
        *wr += v;
    }
}

int
reg_cgroup_read_stats (const struct reg_cgroup *cg, struct reg_cgroup_stats *out,
                       struct reg_error **err)
{
  memset (out, 0, sizeof *out);
  if (cg->version == REG_CGROUP_V1)
    {
      const char *mem = v1_dir_of (cg, "memory");
      out->cpu_ns = get_u64 (v1_dir_of (cg, "cpuacct"), "cpuacct.usage");
      uint64_t usage = get_u64 (mem, "memory.usage_in_bytes");
      uint64_t inactive = keyed (mem, "memory.stat", "total_inactive_file");
      out->memory = usage > inactive ? usage - inactive : usage;
      out->memory_limit = get_u64 (mem, "memory.limit_in_bytes");
      if (out->memory_limit >= (uint64_t)1 << 62)
        out->memory_limit = 0;
      out->pids = get_u64 (v1_dir_of (cg, "pids"), "pids.current");
      io_bytes (v1_dir_of (cg, "blkio"), "blkio.throttle.io_service_bytes_recursive", false,
                &out->blk_read, &out->blk_write);
      return 0;
    }
  const char *dir = cg->dirs[0];
  out->cpu_ns = keyed (dir, "cpu.stat", "usage_usec") * 1000;
  uint64_t usage = get_u64 (dir, "memory.current");
  uint64_t inactive = keyed (dir, "memory.stat", "inactive_file");
  out->memory = usage > inactive ? usage - inactive : usage;
  out->memory_limit = get_u64 (dir, "memory.max"); /* "max" reads as 0 */
  out->pids = get_u64 (dir, "pids.current");
  io_bytes (dir, "io.stat", true, &out->blk_read, &out->blk_write);
  (void)err;
  return 0;
}

int
reg_cgroup_kill_all (const char *fs, const char *id, int timeout_ms, struct reg_error **err)
{
  enum reg_cgroup_version v;
  if (reg_cgroup_detect (fs, &v, err) < 0)
    return -1;
  _cleanup_free_ char *dir = NULL, *procs = NULL;
  if ((v == REG_CGROUP_V1 ? asprintf (&dir, "%s/pids/%s/%s", fs, PARENT, id)
                          : asprintf (&dir, "%s/%s/%s", fs, PARENT, id))
          < 0
      || asprintf (&procs, "%s/cgroup.procs", dir) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (v == REG_CGROUP_V2)
    put (dir, "cgroup.kill", "1", "kill", NULL); /* absent before Linux 5.14 */
  for (int waited = 0;; waited += 10)
    {
      _cleanup_free_ char *text = NULL;
      if (reg_util_read_file (procs, 1 << 22, &text, NULL, NULL) < 0)
        return 0; /* the cgroup is gone: nothing left */
      int left = 0;
      for (char *p = text, *end; *p; p = end)
        {
          long pid = strtol (p, &end, 10);
          if (end == p)
            break;
          if (pid > 0 && kill ((pid_t)pid, SIGKILL) == 0)
            left++;
        }
      if (left == 0)
        return 0;
      if (waited >= timeout_ms)
        return reg_error_set (err, ETIMEDOUT,
                              "container %.12s: %d processes still there %d ms after SIGKILL", id,
                              left, waited);
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
}

int
reg_cgroup_pids (const struct reg_cgroup *cg, pid_t **pids, size_t *n, struct reg_error **err)
{
  *pids = NULL;
  *n = 0;
  _cleanup_free_ char *path = NULL, *text = NULL;
  if (cg->dirs == NULL || cg->dirs[0] == NULL)
    return reg_error_set (err, ENOENT, "container %.12s: no cgroup", cg->id);
  if (asprintf (&path, "%s/cgroup.procs", cg->dirs[0]) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_util_read_file (path, 1 << 22, &text, NULL, err) < 0)
    return -1;
  for (char *p = text; p && *p;)
    {
      char *end = NULL;
      long v = strtol (p, &end, 10);
      if (end == p)
        break;
      pid_t *grown = realloc (*pids, (*n + 1) * sizeof **pids);
      if (grown == NULL)
        {
          free (*pids);
          *pids = NULL;
          *n = 0;
          return reg_error_set (err, ENOMEM, "out of memory");
        }
      *pids = grown;
      (*pids)[(*n)++] = (pid_t)v;
      p = end;
    }
  return 0;
}
