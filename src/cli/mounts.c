/* The mount options of run and generate, into the API's Mounts entries
 * ({"Type", "Source", "Destination", "ReadOnly", "TmpfsOptions", "NoExec"}):
 *
 *   -v HOST:CTR[:ro|rw]       a bind when HOST is a path ('/', '.' or '~'
 *                             first, or any '/'), else the volume HOST
 *   --mount type=bind|volume|tmpfs,source=...,target=...,readonly,
 *           tmpfs-size=SIZE,tmpfs-mode=OCTAL   (Docker's keys and aliases)
 *   --tmpfs PATH[:size=SIZE,mode=OCTAL,ro,rw,exec,noexec,nosuid,nodev]
 *
 * A bind's host path is made absolute here, since regd does not share our
 * directory. Every error names the option and what is wrong with it. */
#include "cli.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
bad (char **why, const char *fmt, const char *arg)
{
  free (*why);
  if (asprintf (why, fmt, arg) < 0)
    *why = NULL;
  return -1;
}

static json_t *
bind_or_volume (const char *src, const char *dst, bool ro)
{
  bool is_path = strchr (src, '/') || src[0] == '.' || src[0] == '~';
  if (!is_path)
    return json_pack ("{s:s, s:s, s:s, s:b}", "Type", "volume", "Source", src, "Destination", dst,
                      "ReadOnly", ro);
  char abs[PATH_MAX];
  if (src[0] != '/' && realpath (src, abs) != NULL)
    src = abs;
  return json_pack ("{s:s, s:s, s:s, s:b}", "Type", "bind", "Source", src, "Destination", dst,
                    "ReadOnly", ro);
}

static json_t *
volume_fields (char *copy, const char *spec, char **why)
{
  char *first = strchr (copy, ':');
  if (first == NULL)
    return bad (why, "-v %s: want HOST-PATH:CONTAINER-PATH[:ro] or VOLUME:CONTAINER-PATH[:ro]",
                spec),
           NULL;
  *first = '\0';
  char *dst = first + 1;
  char *mode = strchr (dst, ':');
  bool ro = false;
  if (mode)
    {
      *mode++ = '\0';
      if (strcmp (mode, "ro") == 0)
        ro = true;
      else if (strcmp (mode, "rw") != 0)
        return bad (why, "-v: mode \"%s\": want ro or rw", mode), NULL;
    }
  if (*copy == '\0' || *dst == '\0')
    return bad (why, "-v %s: the source and the container path must not be empty", spec), NULL;
  return bind_or_volume (copy, dst, ro);
}

json_t *
cli_mount_volume (const char *spec, char **why)
{
  char *copy = strdup (spec);
  json_t *m = copy ? volume_fields (copy, spec, why) : NULL;
  free (copy);
  return m;
}

/* "1777" -> 01777; false unless octal and at most 07777. */
static bool
parse_mode (const char *s, json_int_t *out)
{
  char *end = NULL;
  errno = 0;
  long v = strtol (s, &end, 8);
  if (errno || end == s || *end || v < 0 || v > 07777)
    return false;
  *out = v;
  return true;
}

static bool
parse_bool (const char *v, bool *out)
{
  if (v == NULL || strcmp (v, "1") == 0 || strcmp (v, "true") == 0)
    *out = true;
  else if (strcmp (v, "0") == 0 || strcmp (v, "false") == 0)
    *out = false;
  else
    return false;
  return true;
}

/* One key[=value] of --mount into its fields. */
static int
mount_key (char *kv, const char **type, const char **src, const char **dst, bool *ro,
           json_int_t *size, json_int_t *mode, char **why)
{
  char *eq = strchr (kv, '=');
  const char *v = eq ? eq + 1 : NULL;
  if (eq)
    *eq = '\0';
  int64_t sz = 0;
  if (strcmp (kv, "type") == 0 && v)
    *type = v;
  else if ((strcmp (kv, "source") == 0 || strcmp (kv, "src") == 0) && v)
    *src = v;
  else if ((strcmp (kv, "target") == 0 || strcmp (kv, "dst") == 0
            || strcmp (kv, "destination") == 0)
           && v)
    *dst = v;
  else if (strcmp (kv, "readonly") == 0 || strcmp (kv, "ro") == 0)
    {
      if (!parse_bool (v, ro))
        return bad (why, "--mount: readonly=%s: want true or false", v);
    }
  else if (strcmp (kv, "tmpfs-size") == 0 && v)
    {
      if (!reg_util_parse_size (v, &sz))
        return bad (why, "--mount: tmpfs-size=%s: want a size such as 64m", v);
      *size = sz;
    }
  else if (strcmp (kv, "tmpfs-mode") == 0 && v)
    {
      if (!parse_mode (v, mode))
        return bad (why, "--mount: tmpfs-mode=%s: want octal permission bits such as 1777", v);
    }
  else
    return bad (why,
                "--mount: unknown or incomplete key \"%s\" (reg knows type, source/src, "
                "target/dst/destination, readonly/ro, tmpfs-size, tmpfs-mode)",
                kv);
  return 0;
}

static json_t *
tmpfs_entry (const char *dst, bool ro, bool noexec, json_int_t size, json_int_t mode)
{
  json_t *opts = json_object ();
  if (size > 0)
    json_object_set_new (opts, "SizeBytes", json_integer (size));
  if (mode >= 0)
    json_object_set_new (opts, "Mode", json_integer (mode));
  return json_pack ("{s:s, s:s, s:b, s:o, s:b}", "Type", "tmpfs", "Destination", dst, "ReadOnly",
                    ro, "TmpfsOptions", opts, "NoExec", noexec);
}

json_t *
cli_mount_option (const char *spec, char **why)
{
  _cleanup_free_ char *copy = strdup (spec);
  const char *type = NULL, *src = NULL, *dst = NULL;
  bool ro = false;
  json_int_t size = 0, mode = -1;
  char *save = NULL;
  for (char *kv = copy ? strtok_r (copy, ",", &save) : NULL; kv; kv = strtok_r (NULL, ",", &save))
    if (mount_key (kv, &type, &src, &dst, &ro, &size, &mode, why) < 0)
      return NULL;
  if (type == NULL)
    type = "volume"; /* Docker's default */
  if (dst == NULL || *dst == '\0')
    return bad (why, "--mount %s: a target (target=/path) is required", spec), NULL;
  bool tmpfs = strcmp (type, "tmpfs") == 0;
  if (!tmpfs && strcmp (type, "bind") != 0 && strcmp (type, "volume") != 0)
    return bad (why, "--mount: type=%s: want bind, volume or tmpfs", type), NULL;
  if (!tmpfs && (size > 0 || mode >= 0))
    return bad (why, "--mount %s: tmpfs-size and tmpfs-mode are for type=tmpfs", spec), NULL;
  if (tmpfs && src)
    return bad (why, "--mount %s: a tmpfs takes no source", spec), NULL;
  if (tmpfs)
    return tmpfs_entry (dst, ro, false, size, mode);
  if (src == NULL || *src == '\0')
    return bad (why, "--mount %s: a source (source=PATH or the volume's name) is required", spec),
           NULL;
  char abs[PATH_MAX];
  if (strcmp (type, "bind") == 0 && src[0] != '/' && realpath (src, abs) != NULL)
    src = abs;
  return json_pack ("{s:s, s:s, s:s, s:b}", "Type", type, "Source", src, "Destination", dst,
                    "ReadOnly", ro);
}

json_t *
cli_mount_tmpfs (const char *spec, char **why)
{
  _cleanup_free_ char *copy = strdup (spec);
  char *opts = copy ? strchr (copy, ':') : NULL;
  if (opts)
    *opts++ = '\0';
  if (copy == NULL || copy[0] != '/')
    return bad (why, "--tmpfs %s: want an absolute container path, then :OPTIONS", spec), NULL;
  bool ro = false, noexec = true; /* Docker's --tmpfs: noexec, nosuid, nodev */
  json_int_t size = 0, mode = -1;
  char *save = NULL;
  for (char *o = opts ? strtok_r (opts, ",", &save) : NULL; o; o = strtok_r (NULL, ",", &save))
    {
      int64_t sz = 0;
      if (strncmp (o, "size=", 5) == 0 && reg_util_parse_size (o + 5, &sz))
        size = sz;
      else if (strncmp (o, "mode=", 5) == 0 && parse_mode (o + 5, &mode))
        ;
      else if (strcmp (o, "ro") == 0 || strcmp (o, "rw") == 0)
        ro = o[0] == 'r' && o[1] == 'o';
      else if (strcmp (o, "exec") == 0 || strcmp (o, "noexec") == 0)
        noexec = o[0] == 'n';
      else if (strcmp (o, "nosuid") == 0 || strcmp (o, "nodev") == 0)
        ; /* always */
      else
        return bad (why,
                    "--tmpfs: option \"%s\": want size=SIZE, mode=OCTAL, ro, rw, exec, noexec, "
                    "nosuid or nodev",
                    o),
               NULL;
    }
  return tmpfs_entry (copy, ro, noexec, size, mode);
}
