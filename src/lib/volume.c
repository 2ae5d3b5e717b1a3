#include "root.h"
#include "volume.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool
reg_volume_name_ok (const char *name)
{
  size_t n = name ? strlen (name) : 0;
  if (n == 0 || n > 64 || strchr ("_.-", name[0]))
    return false;
  return strspn (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static char *
volumes_dir (const char *root)
{
  return reg_root_path (root, REG_ROOT_VOLUMES, NULL, NULL);
}

static char *
volume_dir (const char *root, const char *name)
{
  return reg_root_path (root, REG_ROOT_VOLUME, name, NULL);
}

char *
reg_volume_data_path (const char *root, const char *name)
{
  return reg_root_path (root, REG_ROOT_VOLUME_DATA, name, NULL);
}

static int
check_name (const char *name, struct reg_error **err)
{
  if (!reg_volume_name_ok (name))
    return reg_error_set (err, EINVAL,
                          "volume name \"%s\": use 1 to 64 letters, digits, '_', '.' and '-', "
                          "starting with a letter or digit",
                          name ? name : "");
  return 0;
}

/* Build the volume under a temporary name, then rename it into place. */
static int
build_volume (const char *root, const char *dir, const char *name, const char *final,
              struct reg_error **err)
{
  _cleanup_free_ char *tmp = reg_root_path (root, REG_ROOT_VOLUME_STAGING, name, NULL);
  _cleanup_free_ char *data = NULL, *meta = NULL, *text = NULL;
  if (tmp == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (mkdtemp (tmp) == NULL)
    return reg_error_sys (err, errno, "volume %s: create %s", name, dir);
  char created[40];
  reg_util_now_rfc3339 (created);
  json_t *j = json_pack ("{s:s, s:s}", "Name", name, "CreatedAt", created);
  text = json_dumps (j, JSON_COMPACT);
  json_decref (j);
  int ret = 0;
  if (asprintf (&data, "%s/_data", tmp) < 0 || asprintf (&meta, "%s/volume.json", tmp) < 0
      || text == NULL)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  else if (mkdir (data, 0755) < 0)
    ret = reg_error_sys (err, errno, "volume %s: mkdir %s", name, data);
  else if (reg_util_write_atomic (meta, text, strlen (text), 0644, err) < 0)
    ret = reg_error_prefix (err, "volume %s", name);
  else if (rename (tmp, final) < 0)
    ret = errno == EEXIST || errno == ENOTEMPTY
              ? reg_error_set (err, EEXIST, "volume %s already exists", name)
              : reg_error_sys (err, errno, "volume %s: rename into %s", name, dir);
  if (ret < 0)
    reg_util_rm_rf (tmp, NULL);
  return ret;
}

int
reg_volume_create (const char *root, const char *name, bool exist_ok, bool *created,
                   struct reg_error **err)
{
  if (created)
    *created = false;
  if (check_name (name, err) < 0)
    return -1;
  _cleanup_free_ char *dir = volumes_dir (root), *final = volume_dir (root, name);
  if (dir == NULL || final == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    return reg_error_sys (err, errno, "volume %s: mkdir %s", name, dir);
  struct stat st;
  if (lstat (final, &st) == 0)
    {
      if (exist_ok)
        return 0;
      return reg_error_set (err, EEXIST, "volume %s already exists", name);
    }
  struct reg_error *e = NULL;
  int ret = build_volume (root, dir, name, final, &e);
  if (ret < 0 && exist_ok && e->code == EEXIST)
    {
      /* Made by someone else meanwhile: as good as ours. */
      reg_error_free (e);
      return 0;
    }
  if (ret < 0)
    {
      if (err)
        *err = e;
      else
        reg_error_free (e);
      return -1;
    }
  if (created)
    *created = true;
  return 0;
}

int
reg_volume_inspect (const char *root, const char *name, json_t **out, struct reg_error **err)
{
  if (check_name (name, err) < 0)
    return -1;
  _cleanup_free_ char *dir = volume_dir (root, name), *meta = NULL, *text = NULL;
  _cleanup_free_ char *data = reg_volume_data_path (root, name);
  if (dir == NULL || data == NULL || asprintf (&meta, "%s/volume.json", dir) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  struct stat st;
  if (stat (data, &st) < 0 || !S_ISDIR (st.st_mode))
    return reg_error_set (err, ENOENT, "no such volume: %s", name);
  struct reg_error *e = NULL;
  if (reg_util_read_file (meta, 65536, &text, NULL, &e) < 0)
    {
      reg_error_free (e);
      text = NULL;
    }
  json_t *j = text ? json_loads (text, 0, NULL) : NULL;
  const char *created = json_string_value (json_object_get (j, "CreatedAt"));
  *out = json_pack ("{s:s, s:s, s:s, s:s, s:s}", "Name", name, "Driver", "local", "Mountpoint",
                    data, "CreatedAt", created ? created : "", "Scope", "local");
  json_decref (j);
  if (*out == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  return 0;
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

int
reg_volume_list (const char *root, char ***names, struct reg_error **err)
{
  _cleanup_free_ char *dir = volumes_dir (root);
  if (dir == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  size_t n = 0;
  char **v = calloc (1, sizeof *v);
  DIR *d = opendir (dir);
  if (v == NULL || (d == NULL && errno != ENOENT))
    {
      free (v);
      if (d)
        closedir (d);
      return reg_error_sys (err, errno ? errno : ENOMEM, "list volumes in %s", dir);
    }
  for (struct dirent *de; d && (de = readdir (d)) != NULL;)
    {
      if (!reg_volume_name_ok (de->d_name))
        continue;
      char **nv = realloc (v, (n + 2) * sizeof *v);
      if (nv == NULL || (nv[n] = strdup (de->d_name)) == NULL)
        {
          reg_strv_free (nv ? nv : v);
          closedir (d);
          return reg_error_set (err, ENOMEM, "out of memory");
        }
      v = nv;
      v[++n] = NULL;
    }
  if (d)
    closedir (d);
  qsort (v, n, sizeof *v, compare_names);
  *names = v;
  return 0;
}

int
reg_volume_remove (const char *root, const char *name, uint64_t *bytes, struct reg_error **err)
{
  if (check_name (name, err) < 0)
    return -1;
  _cleanup_free_ char *dir = volume_dir (root, name);
  _cleanup_free_ char *gone = reg_root_path (root, REG_ROOT_VOLUME_GRAVE, name, NULL);
  if (dir == NULL || gone == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  struct stat st;
  if (lstat (dir, &st) < 0 || !S_ISDIR (st.st_mode))
    return reg_error_set (err, ENOENT, "no such volume: %s", name);
  /* A unique name for the doomed directory: mkdtemp makes it, rename
   * replaces the empty directory atomically. */
  if (mkdtemp (gone) == NULL || rename (dir, gone) < 0)
    {
      int e = errno;
      rmdir (gone);
      return reg_error_sys (err, e, "volume %s: remove", name);
    }
  if (bytes)
    *bytes = reg_util_disk_usage (gone);
  return reg_util_rm_rf (gone, err) < 0 ? reg_error_prefix (err, "volume %s", name) : 0;
}

int
reg_volume_sweep (const char *root, struct reg_error **err)
{
  _cleanup_free_ char *dir = volumes_dir (root);
  if (dir == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  DIR *d = opendir (dir);
  if (d == NULL)
    return errno == ENOENT ? 0 : reg_error_sys (err, errno, "sweep %s", dir);
  int ret = 0;
  for (struct dirent *de; ret == 0 && (de = readdir (d)) != NULL;)
    {
      if (strncmp (de->d_name, ".new-", 5) != 0 && strncmp (de->d_name, ".removing-", 10) != 0)
        continue;
      _cleanup_free_ char *p = NULL;
      if (asprintf (&p, "%s/%s", dir, de->d_name) < 0)
        ret = reg_error_set (err, ENOMEM, "out of memory");
      else
        ret = reg_util_rm_rf (p, err);
    }
  closedir (d);
  return ret;
}
