#include "accounts.h"
#include "util.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 1024
#define NSS_BUF 16384

static const char *const builtin_users[]
    = { "root:x:0:0:root:/root:/bin/sh", "nobody:x:65534:65534:nobody:/nonexistent:/bin/false",
        NULL };
static const char *const builtin_groups[] = { "root:x:0:", "nogroup:x:65534:", NULL };

static bool
name_ok (const char *s, size_t n)
{
  if (n == 0 || n > 32 || s[0] == '-' || s[0] == '.')
    return false;
  for (size_t i = 0; i < n; i++)
    {
      char c = s[i];
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '_' || c == '.' || c == '-' || (c == '$' && i == n - 1);
      if (!ok)
        return false;
    }
  return true;
}

static bool
id_ok (const char *s, size_t n)
{
  if (n == 0 || n > 10 || strspn (s, "0123456789") < n)
    return false;
  return strtoull (s, NULL, 10) < 4294967295ULL;
}

/* Split on ':' into exactly `want` fields; checks the common rules. */
static bool
fields (const char *line, size_t want, const char *f[], size_t len[])
{
  size_t n = strlen (line);
  if (n > LINE_MAX_BYTES)
    return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
      return false;
  size_t k = 0;
  for (const char *p = line;; k++)
    {
      const char *end = strchrnul (p, ':');
      if (k == want)
        return false;
      f[k] = p;
      len[k] = (size_t)(end - p);
      if (*end == '\0')
        break;
      p = end + 1;
    }
  return k + 1 == want && name_ok (f[0], len[0]);
}

bool
reg_accounts_passwd_ok (const char *line)
{
  const char *f[7];
  size_t len[7];
  return line && fields (line, 7, f, len) && id_ok (f[2], len[2]) && id_ok (f[3], len[3]);
}

bool
reg_accounts_group_ok (const char *line)
{
  const char *f[4];
  size_t len[4];
  return line && fields (line, 4, f, len) && id_ok (f[2], len[2]);
}

char *
reg_accounts_name (const char *line)
{
  return strndup (line, strcspn (line, ":"));
}

/* Byte-wise by name: the name ends at ':', which sorts below every name
 * character. */
static int
cmp_line (const void *a, const void *b)
{
  const char *x = *(char *const *)a, *y = *(char *const *)b;
  size_t nx = strcspn (x, ":"), ny = strcspn (y, ":");
  int c = memcmp (x, y, nx < ny ? nx : ny);
  return c ? c : (nx > ny) - (nx < ny);
}

int
reg_accounts_sort (char **lines, const char **dup)
{
  size_t n = reg_strv_len (lines);
  if (n > 1)
    qsort (lines, n, sizeof (char *), cmp_line);
  for (size_t i = 1; i < n; i++)
    if (cmp_line (&lines[i - 1], &lines[i]) == 0)
      {
        *dup = lines[i];
        return -1;
      }
  return 0;
}

static int
push_line (char ***v, char *line)
{
  size_t n = reg_strv_len (*v);
  char **grown = line ? realloc (*v, (n + 2) * sizeof *grown) : NULL;
  if (grown == NULL)
    {
      free (line);
      return -1;
    }
  grown[n] = line;
  grown[n + 1] = NULL;
  *v = grown;
  return 0;
}

static bool
has_name (char *const *v, const char *name)
{
  size_t n = strlen (name);
  for (size_t i = 0; v && v[i]; i++)
    if (strncmp (v[i], name, n) == 0 && v[i][n] == ':')
      return true;
  return false;
}

static char *
group_line (const struct group *g)
{
  char *members = NULL;
  size_t len = 0;
  FILE *m = open_memstream (&members, &len);
  for (size_t i = 0; m && g->gr_mem && g->gr_mem[i]; i++)
    fprintf (m, "%s%s", i ? "," : "", g->gr_mem[i]);
  if (m == NULL || fclose (m) != 0)
    return NULL;
  char *line = NULL;
  if (asprintf (&line, "%s:%s:%u:%s", g->gr_name, g->gr_passwd, (unsigned)g->gr_gid, members) < 0)
    line = NULL;
  free (members);
  return line;
}

/* The group named `name`, or with gid `gid` when name is NULL. */
static int
host_group (const char *file, const char *name, gid_t gid, char **line, struct reg_error **err)
{
  *line = NULL;
  FILE *f = fopen (file, "re");
  if (f == NULL)
    return reg_error_sys (err, errno, "read %s", file);
  struct group g, *gp = NULL;
  _cleanup_free_ char *buf = malloc (NSS_BUF);
  while (buf && *line == NULL && fgetgrent_r (f, &g, buf, NSS_BUF, &gp) == 0)
    if (name ? strcmp (g.gr_name, name) == 0 : g.gr_gid == gid)
      *line = group_line (&g);
  fclose (f);
  return 0;
}

static int
host_user (const char *file, const char *name, char **line, gid_t *gid, struct reg_error **err)
{
  *line = NULL;
  FILE *f = fopen (file, "re");
  if (f == NULL)
    return reg_error_sys (err, errno, "read %s", file);
  struct passwd p, *pp = NULL;
  _cleanup_free_ char *buf = malloc (NSS_BUF);
  while (buf && *line == NULL && fgetpwent_r (f, &p, buf, NSS_BUF, &pp) == 0)
    if (strcmp (p.pw_name, name) == 0
        && asprintf (line, "%s:%s:%u:%u:%s:%s:%s", p.pw_name, p.pw_passwd, (unsigned)p.pw_uid,
                     (unsigned)p.pw_gid, p.pw_gecos, p.pw_dir, p.pw_shell)
               >= 0)
      *gid = p.pw_gid;
  fclose (f);
  return 0;
}

static int
add_group (const char *group_file, const char *name, gid_t gid, char ***groups,
           struct reg_error **err)
{
  char *line = NULL;
  if (host_group (group_file, name, gid, &line, err) < 0)
    return -1;
  if (line == NULL && name)
    return reg_error_set (err, ENOENT, "group %s: not in %s", name, group_file);
  if (line == NULL)
    return reg_error_set (err, ENOENT, "group %u: not in %s", (unsigned)gid, group_file);
  _cleanup_free_ char *gname = reg_accounts_name (line);
  if (gname == NULL || has_name (*groups, gname))
    {
      free (line);
      return gname ? 0 : reg_error_set (err, ENOMEM, "out of memory");
    }
  if (!reg_accounts_group_ok (line))
    {
      reg_error_set (err, EINVAL, "group %s: line in %s is not a valid group(5) entry", gname,
                     group_file);
      free (line);
      return -1;
    }
  return push_line (groups, line) < 0 ? reg_error_set (err, ENOMEM, "out of memory") : 0;
}

int
reg_accounts_from_host (const char *passwd_file, const char *group_file, char *const *users,
                        char *const *groups, char ***out_users, char ***out_groups,
                        struct reg_error **err)
{
  char **u = calloc (1, sizeof (char *)), **g = calloc (1, sizeof (char *));
  int ret = u && g ? 0 : reg_error_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; ret == 0 && users && users[i]; i++)
    {
      char *line = NULL;
      gid_t gid = 0;
      if (has_name (u, users[i]))
        continue;
      ret = host_user (passwd_file, users[i], &line, &gid, err);
      if (ret == 0 && line == NULL)
        ret = reg_error_set (err, ENOENT, "user %s: not in %s", users[i], passwd_file);
      else if (ret == 0 && !reg_accounts_passwd_ok (line))
        {
          ret = reg_error_set (err, EINVAL, "user %s: line in %s is not a valid passwd(5) entry",
                               users[i], passwd_file);
          free (line);
        }
      else if (ret == 0 && push_line (&u, line) < 0)
        ret = reg_error_set (err, ENOMEM, "out of memory");
      if (ret == 0)
        ret = add_group (group_file, NULL, gid, &g, err);
    }
  for (size_t i = 0; ret == 0 && groups && groups[i]; i++)
    ret = add_group (group_file, groups[i], 0, &g, err);
  if (ret < 0)
    {
      reg_strv_free (u);
      reg_strv_free (g);
      return -1;
    }
  *out_users = u;
  *out_groups = g;
  return 0;
}

/* Built-ins a template does not replace, then the template lines. */
static char *
account_text (const char *const *builtin, char *const *lines)
{
  char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream (&text, &len);
  if (m == NULL)
    return NULL;
  for (size_t i = 0; builtin[i]; i++)
    {
      _cleanup_free_ char *name = reg_accounts_name (builtin[i]);
      if (name && !has_name (lines, name))
        fprintf (m, "%s\n", builtin[i]);
    }
  for (size_t i = 0; lines && lines[i]; i++)
    fprintf (m, "%s\n", lines[i]);
  if (fclose (m) != 0)
    {
      free (text);
      return NULL;
    }
  return text;
}

char *
reg_accounts_passwd_text (char *const *users)
{
  return account_text (builtin_users, users);
}

char *
reg_accounts_group_text (char *const *groups)
{
  return account_text (builtin_groups, groups);
}

/* The line named `name` in the template lines, else among the built-ins. */
static const char *
find (const char *const *builtin, char *const *lines, const char *name, size_t id_field,
      const char *id)
{
  for (int pass = 0; pass < 2; pass++)
    {
      const char *const *v = pass == 0 ? (const char *const *)lines : builtin;
      for (size_t i = 0; v && v[i]; i++)
        {
          const char *f = v[i];
          size_t n = strcspn (f, ":");
          if (name && strncmp (f, name, n) == 0 && name[n] == '\0')
            return v[i];
          for (size_t k = 0; id && k < id_field && f; k++)
            f = strchr (f, ':') ? strchr (f, ':') + 1 : NULL;
          if (id && f && strncmp (f, id, strlen (id)) == 0 && f[strlen (id)] == ':')
            return v[i];
        }
    }
  return NULL;
}

/* The `k`th field (0-based) of a line, as a number. */
static unsigned long
field_id (const char *line, int k)
{
  for (int i = 0; i < k && line; i++)
    line = strchr (line, ':') ? strchr (line, ':') + 1 : NULL;
  return line ? strtoul (line, NULL, 10) : 0;
}

static bool
numeric (const char *s)
{
  return *s && strspn (s, "0123456789") == strlen (s) && strlen (s) <= 10
         && strtoull (s, NULL, 10) < 4294967295ULL;
}

/* A group by number, or by name through the accounts; false when the
 * name is not there. */
static bool
group_gid (char *const *groups, const char *group, gid_t *gid)
{
  const char *gr = numeric (group) ? NULL : find (builtin_groups, groups, group, 2, NULL);
  if (!numeric (group) && gr == NULL)
    return false;
  *gid = (gid_t)(gr ? field_id (gr, 2) : strtoul (group, NULL, 10));
  return true;
}

/* Is `user` in the comma-separated member list that ends the line? */
static bool
is_member (const char *line, const char *user)
{
  const char *m = line;
  for (int k = 0; k < 3 && m; k++)
    m = strchr (m, ':') ? strchr (m, ':') + 1 : NULL;
  size_t n = strlen (user);
  while (m && *m)
    {
      size_t len = strcspn (m, ",");
      if (len == n && strncmp (m, user, n) == 0)
        return true;
      m += len + (m[len] == ',');
    }
  return false;
}

size_t
reg_accounts_memberships (char *const *users, char *const *groups, const char *spec, gid_t *out,
                          size_t max)
{
  _cleanup_free_ char *user = strndup (spec, strcspn (spec, ":"));
  if (user == NULL)
    return 0;
  if (numeric (user))
    {
      const char *pw = find (builtin_users, users, NULL, 2, user);
      free (user);
      user = pw ? strndup (pw, strcspn (pw, ":")) : NULL;
      if (user == NULL)
        return 0;
    }
  size_t n = 0;
  for (size_t i = 0; groups && groups[i] && n < max; i++)
    if (is_member (groups[i], user))
      out[n++] = (gid_t)field_id (groups[i], 2);
  return n;
}

int
reg_accounts_group_id (char *const *groups, const char *spec, gid_t *gid, struct reg_error **err)
{
  if (!group_gid (groups, spec, gid))
    return reg_error_set (err, EINVAL,
                          "--group-add \"%s\": no such group in the templates' accounts (root, "
                          "nogroup, and those created with --group or --user)",
                          spec);
  return 0;
}

int
reg_accounts_resolve (char *const *users, char *const *groups, const char *spec, uid_t *uid,
                      gid_t *gid, struct reg_error **err)
{
  _cleanup_free_ char *user = strndup (spec, strcspn (spec, ":"));
  const char *group = strchr (spec, ':') ? strchr (spec, ':') + 1 : NULL;
  if (user == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  const char *pw
      = find (builtin_users, users, numeric (user) ? NULL : user, 2, numeric (user) ? user : NULL);
  if (pw == NULL && !numeric (user))
    return reg_error_set (err, EINVAL,
                          "--user \"%s\": no user \"%s\" in the templates' accounts (root, "
                          "nobody, and those created with --user)",
                          spec, user);
  *uid = (uid_t)(pw ? field_id (pw, 2) : strtoul (user, NULL, 10));
  *gid = (gid_t)(pw ? field_id (pw, 3) : *uid);
  if (group && !group_gid (groups, group, gid))
    return reg_error_set (err, EINVAL,
                          "--user \"%s\": no group \"%s\" in the templates' accounts (root, "
                          "nogroup, and those created with --group or --user)",
                          spec, group);
  return 0;
}
