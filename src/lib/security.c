#include "security.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIT(c) (UINT64_C (1) << (c))

/* Docker's default capabilities less CAP_MKNOD and CAP_NET_RAW (see
 * security.h). */
static const cap_value_t default_caps[]
    = { CAP_CHOWN,  CAP_DAC_OVERRIDE,     CAP_FSETID,     CAP_FOWNER,
        CAP_SETGID, CAP_SETUID,           CAP_SETFCAP,    CAP_SETPCAP,
        CAP_KILL,   CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_AUDIT_WRITE };

static uint64_t
all_caps (void)
{
  return CAP_LAST_CAP >= 63 ? ~UINT64_C (0) : BIT (CAP_LAST_CAP + 1) - 1;
}

void
reg_security_clear (struct reg_security *s)
{
  reg_strv_free (s->cap_add);
  reg_strv_free (s->cap_drop);
  free (s->seccomp_profile);
  *s = (struct reg_security){ 0 };
}

int
reg_security_copy (struct reg_security *dst, const struct reg_security *src, struct reg_error **err)
{
  *dst = *src;
  dst->cap_add = src->cap_add ? reg_strv_dup (src->cap_add) : NULL;
  dst->cap_drop = src->cap_drop ? reg_strv_dup (src->cap_drop) : NULL;
  dst->seccomp_profile = src->seccomp_profile ? strdup (src->seccomp_profile) : NULL;
  if ((src->cap_add && !dst->cap_add) || (src->cap_drop && !dst->cap_drop)
      || (src->seccomp_profile && !dst->seccomp_profile))
    {
      reg_security_clear (dst);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  return 0;
}

/* "NET_ADMIN", "CAP_NET_ADMIN", "net_admin" -> CAP_NET_ADMIN. */
static int
cap_parse (const char *name, cap_value_t *out)
{
  char buf[64];
  size_t n = strlen (name);
  bool prefixed = n >= 4 && strncasecmp (name, "cap_", 4) == 0;
  if (n == 0 || n + 5 > sizeof buf)
    return -1;
  snprintf (buf, sizeof buf, "%s%s", prefixed ? "" : "cap_", name);
  for (char *p = buf; *p; p++)
    *p = (char)tolower ((unsigned char)*p);
  if (cap_from_name (buf, out) < 0 || *out < 0 || *out > CAP_LAST_CAP)
    return -1;
  return 0;
}

static int
apply_names (char *const *names, bool add, uint64_t *caps, struct reg_error **err)
{
  for (size_t i = 0; names && names[i]; i++)
    {
      cap_value_t c;
      if (strcasecmp (names[i], "ALL") == 0)
        *caps = add ? all_caps () : 0;
      else if (cap_parse (names[i], &c) < 0)
        return reg_error_set (err, EINVAL, "--cap-%s %s: unknown capability", add ? "add" : "drop",
                              names[i]);
      else if (add)
        *caps |= BIT (c);
      else
        *caps &= ~BIT (c);
    }
  return 0;
}

int
reg_security_caps (const struct reg_security *s, uint64_t *out, struct reg_error **err)
{
  uint64_t caps = 0;
  if (s->privileged)
    {
      *out = all_caps ();
      return 0;
    }
  for (size_t i = 0; i < sizeof default_caps / sizeof default_caps[0]; i++)
    caps |= BIT (default_caps[i]);
  if (apply_names (s->cap_drop, false, &caps, err) < 0
      || apply_names (s->cap_add, true, &caps, err) < 0)
    return -1;
  *out = caps;
  return 0;
}

int
reg_security_add_group (struct reg_security *s, gid_t gid, struct reg_error **err)
{
  for (unsigned i = 0; i < s->n_groups; i++)
    if (s->groups[i] == gid)
      return 0;
  if (s->n_groups >= REG_SECURITY_MAX_GROUPS)
    return reg_error_set (err, EINVAL, "supplementary groups: more than %d",
                          REG_SECURITY_MAX_GROUPS);
  s->groups[s->n_groups++] = gid;
  return 0;
}

int
reg_security_set_user (struct reg_security *s, const char *user, struct reg_error **err)
{
  char *end;
  errno = 0;
  unsigned long uid = strtoul (user, &end, 10), gid = uid;
  bool ok = isdigit ((unsigned char)user[0]) && errno == 0 && uid < UINT32_MAX;
  if (ok && *end == ':')
    {
      const char *g = end + 1;
      gid = strtoul (g, &end, 10);
      ok = isdigit ((unsigned char)g[0]) && errno == 0 && gid < UINT32_MAX;
    }
  if (!ok || *end != '\0')
    return reg_error_set (err, EINVAL,
                          "--user \"%s\": must be UID or UID:GID in numbers, or NAME[:GROUP] "
                          "from the templates' accounts",
                          user);
  s->has_user = true;
  s->uid = (uid_t)uid;
  s->gid = (gid_t)gid;
  return 0;
}

/* ---- seccomp ---- */

struct action_name
{
  const char *name;
  uint32_t action; /* SCMP_ACT_ERRNO(0) / SCMP_ACT_TRACE(0) stand for the family */
};

static const struct action_name actions[] = {
  { "SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD },
  { "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD },
  { "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS },
  { "SCMP_ACT_TRAP", SCMP_ACT_TRAP },
  { "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO (0) },
  { "SCMP_ACT_TRACE", SCMP_ACT_TRACE (0) },
  { "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW },
  { "SCMP_ACT_LOG", SCMP_ACT_LOG },
};

/* The action, with errno_ret for ERRNO and TRACE (EPERM when absent, as
 * in Docker). */
static int
parse_action (json_t *j, json_t *errno_ret, const char *where, uint32_t *out,
              struct reg_error **err)
{
  const char *name = json_string_value (j);
  if (name == NULL)
    return reg_error_set (err, EINVAL, "%s: action must be a string", where);
  if (errno_ret
      && (!json_is_integer (errno_ret) || json_integer_value (errno_ret) < 0
          || json_integer_value (errno_ret) > 4095))
    return reg_error_set (err, EINVAL, "%s: errnoRet must be an integer 0..4095", where);
  uint16_t e = errno_ret ? (uint16_t)json_integer_value (errno_ret) : EPERM;
  for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
    if (strcmp (actions[i].name, name) == 0)
      {
        *out = actions[i].action;
        if (*out == SCMP_ACT_ERRNO (0))
          *out = SCMP_ACT_ERRNO (e);
        else if (*out == SCMP_ACT_TRACE (0))
          *out = SCMP_ACT_TRACE (e);
        return 0;
      }
  return reg_error_set (err, EINVAL, "%s: action \"%s\" is not supported", where, name);
}

static const struct
{
  const char *name;
  enum scmp_compare op;
} ops[] = {
  { "SCMP_CMP_NE", SCMP_CMP_NE },
  { "SCMP_CMP_LT", SCMP_CMP_LT },
  { "SCMP_CMP_LE", SCMP_CMP_LE },
  { "SCMP_CMP_EQ", SCMP_CMP_EQ },
  { "SCMP_CMP_GE", SCMP_CMP_GE },
  { "SCMP_CMP_GT", SCMP_CMP_GT },
  { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

static int
parse_args (json_t *args, const char *where, struct scmp_arg_cmp *cmp, size_t *n,
            struct reg_error **err)
{
  *n = 0;
  if (args == NULL || json_is_null (args))
    return 0;
  if (!json_is_array (args) || json_array_size (args) > 6)
    return reg_error_set (err, EINVAL, "%s: args must be a list of at most 6 conditions", where);
  for (size_t i = 0; i < json_array_size (args); i++)
    {
      json_t *a = json_array_get (args, i);
      json_t *index = json_object_get (a, "index"), *value = json_object_get (a, "value");
      json_t *two = json_object_get (a, "valueTwo");
      const char *op = json_string_value (json_object_get (a, "op"));
      if (!json_is_object (a) || !json_is_integer (index) || json_integer_value (index) < 0
          || json_integer_value (index) > 5 || !json_is_integer (value)
          || (two && !json_is_integer (two)) || op == NULL)
        return reg_error_set (err, EINVAL,
                              "%s: args[%zu] needs index 0..5, integer value (and valueTwo) "
                              "and op",
                              where, i);
      size_t k = 0;
      while (k < sizeof ops / sizeof ops[0] && strcmp (ops[k].name, op) != 0)
        k++;
      if (k == sizeof ops / sizeof ops[0])
        return reg_error_set (err, EINVAL, "%s: args[%zu]: unknown op \"%s\"", where, i, op);
      cmp[i] = (struct scmp_arg_cmp){
        .arg = (unsigned int)json_integer_value (index),
        .op = ops[k].op,
        .datum_a = (scmp_datum_t)json_integer_value (value),
        .datum_b = two ? (scmp_datum_t)json_integer_value (two) : 0,
      };
      (*n)++;
    }
  return 0;
}

static const char *
native_arch (void)
{
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#else
  return "";
#endif
}

/* "4.8" <= the running kernel? */
static bool
kernel_at_least (const char *v)
{
  struct utsname u;
  unsigned a = 0, b = 0, x = 0, y = 0;
  if (uname (&u) < 0 || sscanf (u.release, "%u.%u", &x, &y) != 2 || sscanf (v, "%u.%u", &a, &b) < 1)
    return true;
  return x > a || (x == a && y >= b);
}

/* includes/excludes: does this rule apply to this container? */
static int
rule_applies (json_t *sc, uint64_t caps, const char *where, bool *applies, struct reg_error **err)
{
  *applies = true;
  static const char *const keys[] = { "includes", "excludes" };
  for (size_t k = 0; k < 2; k++)
    {
      json_t *f = json_object_get (sc, keys[k]);
      bool include = k == 0;
      if (f == NULL || json_is_null (f))
        continue;
      if (!json_is_object (f))
        return reg_error_set (err, EINVAL, "%s: %s must be an object", where, keys[k]);
      json_t *c = json_object_get (f, "caps"), *ar = json_object_get (f, "arches");
      const char *mk = json_string_value (json_object_get (f, "minKernel"));
      bool has_all_caps = true, has_any_cap = false;
      for (size_t i = 0; i < json_array_size (c); i++)
        {
          cap_value_t cv;
          const char *name = json_string_value (json_array_get (c, i));
          if (name == NULL || cap_parse (name, &cv) < 0)
            return reg_error_set (err, EINVAL, "%s: %s: unknown capability \"%s\"", where, keys[k],
                                  name ? name : "");
          has_all_caps = has_all_caps && (caps & BIT (cv));
          has_any_cap = has_any_cap || (caps & BIT (cv));
        }
      bool arch_listed = false;
      for (size_t i = 0; i < json_array_size (ar); i++)
        arch_listed
            = arch_listed
              || strcmp (json_string_value (json_array_get (ar, i)) ?: "", native_arch ()) == 0;
      if (include)
        *applies = *applies && (json_array_size (c) == 0 || has_all_caps)
                   && (json_array_size (ar) == 0 || arch_listed) && (!mk || kernel_at_least (mk));
      else
        *applies = *applies && !(json_array_size (c) && has_any_cap)
                   && !(json_array_size (ar) && arch_listed) && !(mk && kernel_at_least (mk));
    }
  return 0;
}

static int
add_rules (scmp_filter_ctx ctx, uint32_t def, json_t *sc, uint64_t caps, size_t index,
           struct reg_error **err)
{
  char where[64];
  snprintf (where, sizeof where, "seccomp profile: syscalls[%zu]", index);
  static const char *const keys[]
      = { "names",    "name",     "action",   "args",  "comment",
          "includes", "excludes", "errnoRet", "errno", NULL }; /* errno: a name, for readers */
  if (!json_is_object (sc))
    return reg_error_set (err, EINVAL, "%s: must be an object", where);
  for (void *it = json_object_iter (sc); it; it = json_object_iter_next (sc, it))
    if (!reg_strv_contains (keys, json_object_iter_key (it)))
      return reg_error_set (err, EINVAL, "%s: unknown field \"%s\"", where,
                            json_object_iter_key (it));
  uint32_t action;
  struct scmp_arg_cmp cmp[6];
  size_t n_cmp;
  bool applies;
  if (parse_action (json_object_get (sc, "action"), json_object_get (sc, "errnoRet"), where,
                    &action, err)
          < 0
      || parse_args (json_object_get (sc, "args"), where, cmp, &n_cmp, err) < 0
      || rule_applies (sc, caps, where, &applies, err) < 0)
    return -1;
  json_t *names = json_object_get (sc, "names"), *one = json_object_get (sc, "name");
  if ((names && !json_is_array (names)) || (one && !json_is_string (one)) || (!names && !one))
    return reg_error_set (err, EINVAL, "%s: needs \"names\" (a list) or \"name\"", where);
  if (!applies || action == def)
    return 0;
  /* libseccomp cannot AND two conditions on one argument: then each
   * condition becomes a rule of its own. */
  bool repeated = false;
  for (size_t i = 0; i < n_cmp; i++)
    for (size_t j = i + 1; j < n_cmp; j++)
      repeated = repeated || cmp[i].arg == cmp[j].arg;
  size_t total = names ? json_array_size (names) : 1;
  for (size_t i = 0; i < total; i++)
    {
      const char *name = json_string_value (names ? json_array_get (names, i) : one);
      if (name == NULL)
        return reg_error_set (err, EINVAL, "%s: names must be strings", where);
      int nr = seccomp_syscall_resolve_name (name);
      if (nr == __NR_SCMP_ERROR)
        continue; /* not on this architecture or unknown to this libseccomp */
      int r = 0;
      if (!repeated)
        r = seccomp_rule_add_array (ctx, action, nr, (unsigned)n_cmp, cmp);
      for (size_t k = 0; repeated && r == 0 && k < n_cmp; k++)
        r = seccomp_rule_add_array (ctx, action, nr, 1, &cmp[k]);
      if (r < 0)
        return reg_error_set (err, -r, "%s: syscall %s: libseccomp refused the rule: %s", where,
                              name, strerror (-r));
    }
  return 0;
}

static int
add_arches (scmp_filter_ctx ctx, json_t *p, struct reg_error **err)
{
  json_t *list = json_object_get (p, "architectures");
  json_t *map = json_object_get (p, "archMap");
  json_t *names = json_array ();
  if (names == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; i < json_array_size (list); i++)
    json_array_append (names, json_array_get (list, i));
  uint32_t native = seccomp_arch_native ();
  for (size_t i = 0; i < json_array_size (map); i++)
    {
      json_t *m = json_array_get (map, i);
      const char *a = json_string_value (json_object_get (m, "architecture"));
      if (a && strncmp (a, "SCMP_ARCH_", 10) == 0)
        {
          char low[32];
          snprintf (low, sizeof low, "%s", a + 10);
          for (char *c = low; *c; c++)
            *c = (char)tolower ((unsigned char)*c);
          if (seccomp_arch_resolve_name (low) == native)
            {
              json_array_append (names, json_object_get (m, "architecture"));
              json_array_extend (names, json_object_get (m, "subArchitectures"));
            }
        }
    }
  int ret = 0;
  for (size_t i = 0; ret == 0 && i < json_array_size (names); i++)
    {
      const char *a = json_string_value (json_array_get (names, i));
      if (a == NULL || strncmp (a, "SCMP_ARCH_", 10) != 0)
        {
          ret = reg_error_set (
              err, EINVAL, "seccomp profile: architecture \"%s\" is not SCMP_ARCH_*", a ? a : "");
          break;
        }
      char low[32];
      snprintf (low, sizeof low, "%s", a + 10);
      for (char *c = low; *c; c++)
        *c = (char)tolower ((unsigned char)*c);
      uint32_t arch = seccomp_arch_resolve_name (low);
      if (arch == 0)
        continue; /* unknown to this libseccomp */
      int r = seccomp_arch_add (ctx, arch);
      if (r < 0 && r != -EEXIST)
        ret = reg_error_set (err, -r, "seccomp profile: architecture %s: %s", a, strerror (-r));
    }
  json_decref (names);
  return ret;
}

/* Compile a Docker-format profile for a container with these capabilities. */
static int
profile_build (const char *text, uint64_t caps, scmp_filter_ctx *out, struct reg_error **err)
{
  json_error_t jerr;
  json_t *p = json_loads (text, 0, &jerr);
  if (p == NULL)
    return reg_error_set (err, EINVAL, "seccomp profile: malformed JSON at line %d: %s", jerr.line,
                          jerr.text);
  static const char *const keys[]
      = { "defaultAction", "defaultErrnoRet", "defaultErrno", "architectures",    "archMap",
          "syscalls",      "flags",           "listenerPath", "listenerMetadata", NULL };
  int ret = 0;
  if (!json_is_object (p))
    ret = reg_error_set (err, EINVAL, "seccomp profile: must be a JSON object");
  for (void *it = json_is_object (p) ? json_object_iter (p) : NULL; ret == 0 && it;
       it = json_object_iter_next (p, it))
    if (!reg_strv_contains (keys, json_object_iter_key (it)))
      ret = reg_error_set (err, EINVAL, "seccomp profile: unknown field \"%s\"",
                           json_object_iter_key (it));
  uint32_t def = 0;
  if (ret == 0)
    ret = parse_action (json_object_get (p, "defaultAction"),
                        json_object_get (p, "defaultErrnoRet"), "seccomp profile: defaultAction",
                        &def, err);
  json_t *sc = json_object_get (p, "syscalls");
  if (ret == 0 && sc && !json_is_array (sc))
    ret = reg_error_set (err, EINVAL, "seccomp profile: \"syscalls\" must be a list");
  scmp_filter_ctx ctx = ret == 0 ? seccomp_init (def) : NULL;
  if (ret == 0 && ctx == NULL)
    ret = reg_error_set (err, EINVAL, "seccomp profile: libseccomp refused the default action");
  if (ret == 0)
    ret = add_arches (ctx, p, err);
  for (size_t i = 0; ret == 0 && i < json_array_size (sc); i++)
    ret = add_rules (ctx, def, json_array_get (sc, i), caps, i, err);
  json_decref (p);
  if (ret < 0)
    {
      if (ctx)
        seccomp_release (ctx);
      return -1;
    }
  *out = ctx;
  return 0;
}

/* The default filter: everything allowed but what Docker's default
 * profile refuses a default container. A capability given with --cap-add
 * lifts the calls Docker's profile grants with it (mount with
 * CAP_SYS_ADMIN, init_module with CAP_SYS_MODULE, ...). */
static const struct
{
  const char *name;
  int lifted_by; /* -1: never */
} denied[] = {
  { "mount", CAP_SYS_ADMIN },
  { "umount", CAP_SYS_ADMIN },
  { "umount2", CAP_SYS_ADMIN },
  { "pivot_root", CAP_SYS_ADMIN },
  { "move_mount", CAP_SYS_ADMIN },
  { "open_tree", CAP_SYS_ADMIN },
  { "fsopen", CAP_SYS_ADMIN },
  { "fsmount", CAP_SYS_ADMIN },
  { "fsconfig", CAP_SYS_ADMIN },
  { "fspick", CAP_SYS_ADMIN },
  { "mount_setattr", CAP_SYS_ADMIN },
  { "setns", CAP_SYS_ADMIN },
  { "unshare", CAP_SYS_ADMIN },
  { "quotactl", CAP_SYS_ADMIN },
  { "quotactl_fd", CAP_SYS_ADMIN },
  { "lookup_dcookie", CAP_SYS_ADMIN },
  { "fanotify_init", CAP_SYS_ADMIN },
  { "setdomainname", CAP_SYS_ADMIN },
  { "sethostname", CAP_SYS_ADMIN },
  { "bpf", CAP_SYS_ADMIN },
  { "perf_event_open", CAP_SYS_ADMIN },
  { "open_by_handle_at", CAP_DAC_READ_SEARCH },
  { "name_to_handle_at", CAP_DAC_READ_SEARCH },
  { "kexec_load", CAP_SYS_BOOT },
  { "kexec_file_load", CAP_SYS_BOOT },
  { "reboot", CAP_SYS_BOOT },
  { "init_module", CAP_SYS_MODULE },
  { "finit_module", CAP_SYS_MODULE },
  { "delete_module", CAP_SYS_MODULE },
  { "acct", CAP_SYS_PACCT },
  { "settimeofday", CAP_SYS_TIME },
  { "clock_settime", CAP_SYS_TIME },
  { "clock_adjtime", CAP_SYS_TIME },
  { "adjtimex", CAP_SYS_TIME },
  { "stime", CAP_SYS_TIME },
  { "syslog", CAP_SYSLOG },
  { "process_vm_readv", CAP_SYS_PTRACE },
  { "process_vm_writev", CAP_SYS_PTRACE },
  { "kcmp", CAP_SYS_PTRACE },
  { "iopl", CAP_SYS_RAWIO },
  { "ioperm", CAP_SYS_RAWIO },
  { "get_mempolicy", CAP_SYS_NICE },
  { "set_mempolicy", CAP_SYS_NICE },
  { "mbind", CAP_SYS_NICE },
  { "move_pages", CAP_SYS_NICE },
  { "migrate_pages", CAP_SYS_NICE },
  { "keyctl", -1 },
  { "add_key", -1 },
  { "request_key", -1 },
  { "userfaultfd", -1 },
  { "swapon", -1 },
  { "swapoff", -1 },
  { "create_module", -1 },
  { "get_kernel_syms", -1 },
  { "query_module", -1 },
  { "nfsservctl", -1 },
  { "uselib", -1 },
  { "sysfs", -1 },
  { "_sysctl", -1 },
  { "vm86", -1 },
  { "vm86old", -1 },
  { "ustat", -1 },
  { "vhangup", -1 },
  { "pciconfig_read", -1 },
  { "pciconfig_write", -1 },
  { "pciconfig_iobase", -1 },
};

static int
default_build (uint64_t caps, scmp_filter_ctx *out)
{
  scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
  if (ctx == NULL)
    return -ENOMEM;
  int ret = 0;
  for (size_t i = 0; ret == 0 && i < sizeof denied / sizeof denied[0]; i++)
    {
      int nr = seccomp_syscall_resolve_name (denied[i].name);
      if (nr == __NR_SCMP_ERROR || (denied[i].lifted_by >= 0 && (caps & BIT (denied[i].lifted_by))))
        continue;
      ret = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), nr, 0);
    }
  /* clone and clone3 only without new namespaces (unless CAP_SYS_ADMIN):
   * clone3 carries its flags in memory a filter cannot read, so it gets
   * ENOSYS and libc falls back to clone, whose flags are checked. */
  static const scmp_datum_t ns[] = { CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,   CLONE_NEWUSER,
                                     CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP };
  for (size_t i = 0; ret == 0 && !(caps & BIT (CAP_SYS_ADMIN)) && i < sizeof ns / sizeof ns[0]; i++)
    ret = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (clone), 1,
                            SCMP_A0 (SCMP_CMP_MASKED_EQ, ns[i], ns[i]));
  if (ret == 0 && !(caps & BIT (CAP_SYS_ADMIN)))
    ret = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOSYS), SCMP_SYS (clone3), 0);
  if (ret < 0)
    {
      seccomp_release (ctx);
      return ret;
    }
  *out = ctx;
  return 0;
}

int
reg_security_add_opt (struct reg_security *s, const char *opt, struct reg_error **err)
{
  if (strcmp (opt, "seccomp=unconfined") == 0)
    {
      s->seccomp_unconfined = true;
      free (s->seccomp_profile);
      s->seccomp_profile = NULL;
      return 0;
    }
  if (strncmp (opt, "seccomp=", 8) == 0)
    {
      if (opt[8] != '{')
        return reg_error_set (err, EINVAL,
                              "security option seccomp: give \"unconfined\" or the profile's JSON "
                              "text (the client reads seccomp=FILE.json)");
      char *p = strdup (opt + 8);
      if (p == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      free (s->seccomp_profile);
      s->seccomp_profile = p;
      s->seccomp_unconfined = false;
      return 0;
    }
  if (strcmp (opt, "no-new-privileges") == 0 || strcmp (opt, "no-new-privileges:true") == 0
      || strcmp (opt, "no-new-privileges=true") == 0)
    {
      s->new_privileges = false;
      return 0;
    }
  if (strcmp (opt, "no-new-privileges:false") == 0 || strcmp (opt, "no-new-privileges=false") == 0)
    {
      s->new_privileges = true;
      return 0;
    }
  const char *shown = strncmp (opt, "seccomp", 7) == 0 ? "seccomp..." : opt;
  return reg_error_set (err, EINVAL,
                        "security option \"%s\" is not supported (seccomp=unconfined, "
                        "seccomp=PROFILE, no-new-privileges[=true|false])",
                        shown);
}

int
reg_security_check (const struct reg_security *s, struct reg_error **err)
{
  uint64_t caps;
  if (s->privileged && s->userns)
    return reg_error_set (err, EINVAL, "--privileged and --userns=private do not go together");
  if (reg_security_caps (s, &caps, err) < 0)
    return -1;
  if (s->privileged || s->seccomp_unconfined || s->seccomp_profile == NULL)
    return 0;
  scmp_filter_ctx ctx;
  if (profile_build (s->seccomp_profile, caps, &ctx, err) < 0)
    return -1;
  seccomp_release (ctx);
  return 0;
}

/* ---- user namespaces ---- */

int
reg_security_set_userns (struct reg_security *s, const char *mode, struct reg_error **err)
{
  if (strcmp (mode, "private") == 0)
    s->userns = true;
  else if (strcmp (mode, "host") == 0 || mode[0] == '\0')
    s->userns = false;
  else
    return reg_error_set (err, EINVAL, "--userns \"%s\": must be \"private\" or \"host\"", mode);
  return 0;
}

/* The first "reg:START:COUNT" line of a subordinate ID file. */
static int
subid_range (const char *path, uint32_t *start, uint32_t *count, struct reg_error **err)
{
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  if (f == NULL)
    return reg_error_sys (err, errno,
                          "--userns=private: no subordinate IDs for user \"" REG_SUBID_USER
                          "\" (add a line " REG_SUBID_USER ":100000:65536 to %s)",
                          path);
  char line[256];
  const size_t n = strlen (REG_SUBID_USER);
  while (fgets (line, sizeof line, f))
    {
      unsigned long a, b;
      char extra;
      if (strncmp (line, REG_SUBID_USER ":", n + 1) == 0
          && sscanf (line + n + 1, "%lu:%lu %c", &a, &b, &extra) == 2 && a > 0 && b > 0
          && a + b <= UINT32_MAX)
        {
          *start = (uint32_t)a;
          *count = (uint32_t)b;
          return 0;
        }
    }
  return reg_error_set (err, ENOENT,
                        "--userns=private: no subordinate IDs for user \"" REG_SUBID_USER
                        "\" in %s (add a line " REG_SUBID_USER ":100000:65536)",
                        path);
}

int
reg_security_userns_range (struct reg_security *s, const char *subuid, const char *subgid,
                           struct reg_error **err)
{
  uint32_t ucount, gcount;
  if (subid_range (subuid, &s->userns_uid, &ucount, err) < 0
      || subid_range (subgid, &s->userns_gid, &gcount, err) < 0)
    return -1;
  s->userns_size = ucount < gcount ? ucount : gcount;
  if (s->userns_size > 65536)
    s->userns_size = 65536;
  return 0;
}

static int
write_map (pid_t pid, const char *file, uint32_t start, uint32_t size)
{
  char path[64], map[64];
  snprintf (path, sizeof path, "/proc/%d/%s", (int)pid, file);
  int n = snprintf (map, sizeof map, "0 %u %u\n", start, size);
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int ret = write (fd, map, (size_t)n) == n ? 0 : -1;
  int e = errno;
  close (fd);
  errno = e;
  return ret;
}

int
reg_security_userns_create (const struct reg_security *s, int *out, struct reg_error **err)
{
  /* A child unshares a user namespace and waits; we write its maps and
   * keep a reference to the namespace; the child goes. */
  int ready[2], done[2];
  if (pipe2 (ready, O_CLOEXEC) < 0)
    return reg_error_sys (err, errno, "user namespace: pipe");
  if (pipe2 (done, O_CLOEXEC) < 0)
    {
      close (ready[0]), close (ready[1]);
      return reg_error_sys (err, errno, "user namespace: pipe");
    }
  pid_t pid = fork ();
  if (pid == 0)
    {
      close (ready[0]);
      close (done[1]);
      char c = unshare (CLONE_NEWUSER) == 0 ? 'y' : 'n';
      if (write (ready[1], &c, 1) == 1)
        while (read (done[0], &c, 1) < 0 && errno == EINTR)
          ;
      _exit (0);
    }
  close (ready[1]);
  close (done[0]);
  char c = 'n';
  int ret = 0;
  if (pid < 0)
    ret = reg_error_sys (err, errno, "user namespace: fork");
  else if (read (ready[0], &c, 1) != 1 || c != 'y')
    ret = reg_error_set (err, EPERM, "user namespace: unshare failed in the helper");
  else if (write_map (pid, "uid_map", s->userns_uid, s->userns_size) < 0
           || write_map (pid, "gid_map", s->userns_gid, s->userns_size) < 0)
    ret = reg_error_sys (err, errno, "user namespace: write the ID maps (0 -> %u, %u IDs)",
                         s->userns_uid, s->userns_size);
  if (ret == 0)
    {
      char path[64];
      snprintf (path, sizeof path, "/proc/%d/ns/user", (int)pid);
      *out = open (path, O_RDONLY | O_CLOEXEC);
      if (*out < 0)
        ret = reg_error_sys (err, errno, "user namespace: open %s", path);
    }
  close (ready[0]);
  close (done[1]);
  while (pid > 0 && waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
  return ret;
}

int
reg_security_idmap (int userns_fd, const char *dir, const char **what)
{
  *what = "clone the environment's mount";
  int tree = (int)syscall (SYS_open_tree, AT_FDCWD, dir,
                           OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (tree < 0)
    return -1;
  struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };
  if (mount_setattr (tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0)
    {
      /* The documented fallback: this filesystem cannot be idmapped. */
      int e = errno;
      close (tree);
      if (e == EINVAL || e == ENOSYS || e == EOPNOTSUPP)
        return 0;
      *what = "idmap the environment";
      errno = e;
      return -1;
    }
  *what = "mount the idmapped environment";
  int r = (int)syscall (SYS_move_mount, tree, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH);
  int e = errno;
  close (tree);
  errno = e;
  return r;
}

int
reg_security_userns_enter (int userns_fd, const char **what)
{
  *what = "join the user namespace";
  if (setns (userns_fd, CLONE_NEWUSER) < 0)
    return -1;
  *what = "become root of the user namespace";
  gid_t zero = 0;
  if (setresgid (0, 0, 0) < 0 || setgroups (1, &zero) < 0 || setresuid (0, 0, 0) < 0)
    return -1;
  return 0;
}

/* ---- in the container ---- */

/* Docker's masked and read-only paths. */
static const char *const masked[] = { "/proc/asound",
                                      "/proc/acpi",
                                      "/proc/kcore",
                                      "/proc/keys",
                                      "/proc/latency_stats",
                                      "/proc/timer_list",
                                      "/proc/timer_stats",
                                      "/proc/sched_debug",
                                      "/proc/scsi",
                                      "/sys/firmware",
                                      "/sys/devices/virtual/powercap",
                                      NULL };
static const char *const readonly[]
    = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL };

void
reg_security_confine_mounts (void)
{
  struct stat st;
  for (size_t i = 0; masked[i]; i++)
    if (stat (masked[i], &st) == 0)
      {
        if (S_ISDIR (st.st_mode))
          mount ("tmpfs", masked[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 "size=0");
        else
          mount ("/dev/null", masked[i], NULL, MS_BIND, NULL);
      }
  for (size_t i = 0; readonly[i]; i++)
    if (stat (readonly[i], &st) == 0
        && mount (readonly[i], readonly[i], NULL, MS_BIND | MS_REC, NULL) == 0)
      {
        struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
        mount_setattr (AT_FDCWD, readonly[i], AT_RECURSIVE, &ro, sizeof ro);
      }
}

/* ---- the seccomp filter: compiled once per profile and capability set ---- */

/* libseccomp builds a filter in about 0.15 ms (the default one; a Docker
 * profile longer), and a start pays it in the monitor, an exec in regd.
 * The BPF depends only on the profile's text (NULL: the default filter),
 * the capabilities and this process's libseccomp and kernel, so each
 * process keeps the last few it compiled (profiles up to 256 kB): regd
 * for `reg exec`, the spare monitor the default one it compiles while it
 * waits (reg_security_warm). */
#define FILTER_CACHE 8
struct filter_entry
{
  char *profile; /* NULL: the default filter */
  uint64_t caps;
  struct sock_filter *bpf;
  unsigned short len;
};
static struct filter_entry filter_cache[FILTER_CACHE];
static unsigned filter_next; /* the entry replaced next, once all are used */
static pthread_mutex_t filter_lock = PTHREAD_MUTEX_INITIALIZER;

/* Compile with libseccomp and export the BPF (an allocated copy). */
static int
filter_compile (const char *profile, uint64_t caps, struct sock_filter **out, unsigned short *len,
                struct reg_error **err)
{
  scmp_filter_ctx ctx = NULL;
  int r;
  if (profile)
    {
      if (profile_build (profile, caps, &ctx, err) < 0)
        return -1;
    }
  else if ((r = default_build (caps, &ctx)) < 0)
    return reg_error_sys (err, -r, "seccomp: build the default filter");
  /* libseccomp 2.5 exports BPF only to an fd. */
  int fd = memfd_create ("reg-seccomp", MFD_CLOEXEC);
  r = fd < 0 ? -errno : seccomp_export_bpf (ctx, fd);
  seccomp_release (ctx);
  off_t size = r == 0 ? lseek (fd, 0, SEEK_END) : -1;
  if (size <= 0 || size % (off_t)sizeof (struct sock_filter) != 0
      || size / (off_t)sizeof (struct sock_filter) > USHRT_MAX)
    {
      int e = r < 0 ? -r : EINVAL;
      if (fd >= 0)
        close (fd);
      return reg_error_sys (err, e, "seccomp: export the filter");
    }
  struct sock_filter *bpf = malloc ((size_t)size);
  if (bpf == NULL || pread (fd, bpf, (size_t)size, 0) != size)
    {
      int e = bpf ? EIO : ENOMEM;
      close (fd);
      free (bpf);
      return reg_error_sys (err, e, "seccomp: read the exported filter");
    }
  close (fd);
  *out = bpf;
  *len = (unsigned short)(size / (off_t)sizeof (struct sock_filter));
  return 0;
}

static bool
filter_matches (const struct filter_entry *f, const char *profile, uint64_t caps)
{
  return f->bpf && f->caps == caps
         && (profile ? f->profile && strcmp (f->profile, profile) == 0 : f->profile == NULL);
}

/* A copy of the cached filter, or NULL (not cached, or out of memory). */
static struct sock_filter *
filter_lookup (const char *profile, uint64_t caps, unsigned short *len)
{
  struct sock_filter *copy = NULL;
  pthread_mutex_lock (&filter_lock);
  for (unsigned i = 0; i < FILTER_CACHE && copy == NULL; i++)
    if (filter_matches (&filter_cache[i], profile, caps)
        && (copy = malloc (filter_cache[i].len * sizeof *copy)) != NULL)
      {
        memcpy (copy, filter_cache[i].bpf, filter_cache[i].len * sizeof *copy);
        *len = filter_cache[i].len;
      }
  pthread_mutex_unlock (&filter_lock);
  return copy;
}

/* Keep a copy; nothing is lost when there is no memory for it. A profile
 * longer than this is compiled each time (Docker's default is 20 kB). */
#define FILTER_CACHE_TEXT_MAX (256 * 1024)
static void
filter_store (const char *profile, uint64_t caps, const struct sock_filter *bpf, unsigned short len)
{
  if (profile && strlen (profile) > FILTER_CACHE_TEXT_MAX)
    return;
  struct filter_entry e
      = { profile ? strdup (profile) : NULL, caps, malloc (len * sizeof *bpf), len };
  if ((profile && e.profile == NULL) || e.bpf == NULL)
    {
      free (e.profile);
      free (e.bpf);
      return;
    }
  memcpy (e.bpf, bpf, len * sizeof *bpf);
  pthread_mutex_lock (&filter_lock);
  struct filter_entry *slot = &filter_cache[filter_next];
  filter_next = (filter_next + 1) % FILTER_CACHE;
  free (slot->profile);
  free (slot->bpf);
  *slot = e;
  pthread_mutex_unlock (&filter_lock);
}

/* The filter for profile (NULL: the default) and caps, as an allocated
 * copy: from the cache, else compiled and then kept. */
static int
filter_get (const char *profile, uint64_t caps, struct sock_filter **out, unsigned short *len,
            struct reg_error **err)
{
  if ((*out = filter_lookup (profile, caps, len)) != NULL)
    return 0;
  if (filter_compile (profile, caps, out, len, err) < 0)
    return -1;
  filter_store (profile, caps, *out, *len);
  return 0;
}

void
reg_security_warm (void)
{
  struct reg_security s = { 0 };
  struct reg_confinement c;
  if (reg_security_prepare (&s, &c, NULL) == 0)
    reg_security_confinement_clear (&c);
}

int
reg_security_prepare (const struct reg_security *s, struct reg_confinement *c,
                      struct reg_error **err)
{
  memset (c, 0, sizeof *c);
  c->privileged = s->privileged;
  if (s->privileged)
    return 0;
  if (reg_security_caps (s, &c->caps, err) < 0)
    return -1;
  c->has_user = s->has_user;
  c->uid = s->uid;
  c->gid = s->gid;
  c->new_privileges = s->new_privileges;
  if (s->has_user || s->n_groups > 0)
    {
      /* The primary group first, then the supplementary ones. */
      c->groups[c->n_groups++] = s->has_user ? s->gid : 0;
      for (unsigned i = 0; i < s->n_groups; i++)
        if (s->groups[i] != c->groups[0])
          c->groups[c->n_groups++] = s->groups[i];
    }
  if (s->seccomp_unconfined)
    return 0;
  return filter_get (s->seccomp_profile, c->caps, &c->filter, &c->filter_len, err);
}

void
reg_security_confinement_clear (struct reg_confinement *c)
{
  free (c->filter);
  c->filter = NULL;
  c->filter_len = 0;
}

int
reg_security_apply (const struct reg_confinement *c, const char **what)
{
  if (c->privileged)
    return 0;
  *what = "cut the capability bounding set";
  for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
    if (!(c->caps & BIT (cap)) && prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      return -1;
  /* Without no_new_privs a filter needs CAP_SYS_ADMIN to load: before the
   * user switch and capset, then (runc's order). */
  *what = "load the seccomp filter";
  struct sock_fprog prog = { c->filter_len, c->filter };
  if (c->new_privileges && c->filter
      && syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
    return -1;
  *what = "set the supplementary groups";
  if (c->n_groups > 0 && setgroups (c->n_groups, c->groups) < 0)
    return -1;
  if (c->has_user)
    {
      /* A non-zero UID clears the effective and permitted sets (no
       * PR_SET_KEEPCAPS): the process keeps only what setuid binaries
       * could give back, and no_new_privs stops those. */
      *what = "switch to the user";
      if (setresgid (c->gid, c->gid, c->gid) < 0 || setresuid (c->uid, c->uid, c->uid) < 0)
        return -1;
    }
  *what = "set the capabilities";
  uint64_t keep = !c->has_user || c->uid == 0 ? c->caps : 0;
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2];
  for (int i = 0; i < 2; i++)
    {
      uint32_t word = (uint32_t)(keep >> (32 * i));
      data[i] = (struct __user_cap_data_struct){ word, word, word };
    }
  if (syscall (SYS_capset, &hdr, data) < 0)
    return -1;
  if (c->new_privileges)
    return 0;
  *what = "set no_new_privs";
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return -1;
  if (c->filter == NULL)
    return 0;
  *what = "load the seccomp filter";
  return (int)syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}
