#include "ulimit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const struct
{
  const char *name;
  int resource;
} names[] = {
  { "core", RLIMIT_CORE },         { "cpu", RLIMIT_CPU },
  { "data", RLIMIT_DATA },         { "fsize", RLIMIT_FSIZE },
  { "locks", RLIMIT_LOCKS },       { "memlock", RLIMIT_MEMLOCK },
  { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
  { "nofile", RLIMIT_NOFILE },     { "nproc", RLIMIT_NPROC },
  { "rss", RLIMIT_RSS },           { "rtprio", RLIMIT_RTPRIO },
  { "rttime", RLIMIT_RTTIME },     { "sigpending", RLIMIT_SIGPENDING },
  { "stack", RLIMIT_STACK },
};

int
reg_ulimit_resource (const char *name)
{
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp (names[i].name, name) == 0)
      return names[i].resource;
  return -1;
}

const char *
reg_ulimit_name (int resource)
{
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (names[i].resource == resource)
      return names[i].name;
  return NULL;
}

/* A decimal number of at most 18 digits, or -1 / "unlimited". */
static bool
parse_value (const char *s, size_t len, int64_t *out)
{
  if ((len == 2 && strncmp (s, "-1", 2) == 0) || (len == 9 && strncmp (s, "unlimited", 9) == 0))
    {
      *out = -1;
      return true;
    }
  if (len == 0 || len > 18 || strspn (s, "0123456789") < len)
    return false;
  int64_t v = 0;
  for (size_t i = 0; i < len; i++)
    v = v * 10 + (s[i] - '0');
  *out = v;
  return true;
}

int
reg_ulimit_parse (const char *spec, struct reg_ulimit *out, struct reg_error **err)
{
  const char *eq = strchr (spec, '=');
  if (eq == NULL || eq == spec)
    return reg_error_set (err, EINVAL,
                          "ulimit \"%s\": want NAME=SOFT[:HARD] (e.g. nofile=1024:2048)", spec);
  char name[16];
  size_t nlen = (size_t)(eq - spec);
  int resource = -1;
  if (nlen < sizeof name)
    {
      memcpy (name, spec, nlen);
      name[nlen] = '\0';
      resource = reg_ulimit_resource (name);
    }
  if (resource < 0)
    return reg_error_set (err, EINVAL,
                          "ulimit \"%s\": unknown limit \"%.*s\" (core, cpu, data, fsize, locks, "
                          "memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, "
                          "sigpending, stack)",
                          spec, (int)nlen, spec);
  const char *soft = eq + 1, *colon = strchr (soft, ':');
  size_t slen = colon ? (size_t)(colon - soft) : strlen (soft);
  int64_t s = 0, h = 0;
  if (!parse_value (soft, slen, &s) || (colon && !parse_value (colon + 1, strlen (colon + 1), &h)))
    return reg_error_set (err, EINVAL,
                          "ulimit \"%s\": values must be whole numbers, -1 or \"unlimited\"", spec);
  if (!colon)
    h = s;
  if (h != -1 && (s == -1 || s > h))
    return reg_error_set (err, EINVAL, "ulimit \"%s\": the soft limit is above the hard limit",
                          spec);
  *out = (struct reg_ulimit){ resource, s, h };
  return 0;
}

int
reg_ulimit_apply (const struct reg_ulimit *u, size_t n, const struct reg_ulimit **failed)
{
  for (size_t i = 0; i < n; i++)
    {
      struct rlimit rl = { u[i].soft < 0 ? RLIM_INFINITY : (rlim_t)u[i].soft,
                           u[i].hard < 0 ? RLIM_INFINITY : (rlim_t)u[i].hard };
      if (setrlimit ((__rlimit_resource_t)u[i].resource, &rl) < 0)
        {
          *failed = &u[i];
          return -1;
        }
    }
  return 0;
}
