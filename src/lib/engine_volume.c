/* engine: named volumes and the checks of a container's mounts (engine.h).
 * Which containers use a volume is read from their records, under the
 * engine lock, the same lock container creation holds. */
#include "engine.h"
#include "events.h"
#include "root.h"
#include "util.h"
#include "volume.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int
reg_engine_mounts_check (const struct reg_mount *m, size_t n, struct reg_error **err)
{
  for (size_t i = 0; i < n; i++)
    {
      struct stat st;
      const char *src = m[i].source ? m[i].source : "tmpfs";
      if (!reg_util_path_is_clean (m[i].target))
        return reg_error_set (err, EINVAL,
                              "mount %s:%s: target must be an absolute path without \"..\"", src,
                              m[i].target);
      if (m[i].type == REG_MOUNT_BIND && (src[0] != '/' || stat (src, &st) < 0))
        return reg_error_set (err, EINVAL, "volume %s: source does not exist (must be absolute)",
                              src);
      if (m[i].type == REG_MOUNT_VOLUME && !reg_volume_name_ok (src))
        return reg_error_set (err, EINVAL,
                              "volume name \"%s\": use 1 to 64 letters, digits, '_', '.' and '-', "
                              "starting with a letter or digit",
                              src);
      for (size_t k = 0; k < i; k++)
        if (strcmp (m[k].target, m[i].target) == 0)
          return reg_error_set (err, EINVAL, "mount target %s given twice", m[i].target);
    }
  return 0;
}

int
reg_engine_mounts_resolve (struct reg_engine *e, struct reg_container *c, char ***made,
                           struct reg_error **err)
{
  size_t n_made = 0;
  for (size_t i = 0; i < c->n_mounts; i++)
    {
      struct reg_mount *m = &c->mounts[i];
      if (m->type != REG_MOUNT_VOLUME)
        continue;
      bool created = false;
      if (reg_volume_create (e->root, m->source, true, &created, err) < 0)
        return -1;
      if (created)
        {
          char **v = realloc (*made, (n_made + 2) * sizeof *v);
          if (v == NULL || (v[n_made] = strdup (m->source)) == NULL)
            {
              if (v)
                *made = v;
              return reg_error_set (err, ENOMEM, "out of memory");
            }
          v[++n_made] = NULL;
          *made = v;
        }
      char *data = reg_volume_data_path (e->root, m->source);
      if (data == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      m->volume = m->source;
      m->source = data;
    }
  return 0;
}

/* The environment's directory at path, not through any symlink; -1 with
 * errno. */
static int
env_dir (int env, const char *path)
{
  struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
                          .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS };
  return (int)syscall (SYS_openat2, env, path[1] ? path + 1 : ".", &how, sizeof how);
}

/* The directory at target in env (-1: no env, or nothing to copy from
 * there: missing, no directory, through a symlink), or -2 on an error. */
static int
source_dir (int env, const char *target, struct reg_error **err)
{
  if (env < 0)
    return -1;
  int fd = env_dir (env, target);
  if (fd >= 0)
    return fd;
  if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == EXDEV)
    return -1;
  reg_error_sys (err, errno, "the image's %s", target);
  return -2;
}

int
reg_engine_volumes_fill (struct reg_engine *e, const struct reg_container *c, const char *digest,
                         struct reg_error **err)
{
  /* A layered environment (envgen.h) is its layer over its base's tree. */
  _cleanup_free_ char *base = reg_root_env_base (e->root, digest);
  _cleanup_free_ char *env = reg_root_env (e->root, digest), *under = NULL, *top = NULL;
  if (env == NULL || (base && (under = reg_root_env (e->root, base)) == NULL)
      || asprintf (&top, "%s%s", env, base ? "/layer" : "") < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  _cleanup_close_ int top_fd = open (top, O_PATH | O_DIRECTORY | O_CLOEXEC);
  _cleanup_close_ int under_fd = under ? open (under, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  if (top_fd < 0 || (under && under_fd < 0))
    return reg_error_sys (err, errno, "environment %s", top_fd < 0 ? top : under);
  for (size_t i = 0; i < c->n_mounts; i++)
    {
      const struct reg_mount *m = &c->mounts[i];
      if (m->type != REG_MOUNT_VOLUME || m->volume == NULL)
        continue;
      int src[2], n = 0, fd = -1;
      bool copied;
      for (int k = 0; k < 2 && fd != -2; k++)
        if ((fd = source_dir (k == 0 ? under_fd : top_fd, m->target, err)) >= 0)
          src[n++] = fd;
      int ret = fd == -2 ? reg_error_prefix (err, "volume %s", m->volume)
                : n > 0
                    ? reg_volume_fill (e->root, m->volume, src, (size_t)n, m->target, &copied, err)
                    : 0;
      while (n > 0)
        close (src[--n]);
      if (ret < 0)
        return -1;
    }
  return 0;
}

void
reg_engine_volumes_unmake (struct reg_engine *e, char **made)
{
  for (size_t i = 0; made && made[i]; i++)
    reg_volume_remove (e->root, made[i], NULL, NULL);
}

/* Ids of the containers that mount volume `name`, as a JSON array. */
static json_t *
users_of (struct reg_engine *e, const char *name)
{
  json_t *users = json_array ();
  _cleanup_strv_ char **ids = NULL;
  if (users == NULL || reg_container_list (e->root, &ids, NULL) < 0)
    return users;
  for (size_t i = 0; ids[i]; i++)
    {
      struct reg_container *c = NULL;
      if (reg_container_load (e->root, ids[i], &c, NULL) < 0)
        continue;
      for (size_t k = 0; k < c->n_mounts; k++)
        if (c->mounts[k].type == REG_MOUNT_VOLUME && strcmp (c->mounts[k].volume, name) == 0)
          {
            json_array_append_new (users, json_string (c->id));
            break;
          }
      reg_container_free (c);
    }
  return users;
}

static int
inspect_locked (struct reg_engine *e, const char *name, json_t **out, struct reg_error **err)
{
  if (reg_volume_inspect (e->root, name, out, err) < 0)
    return -1;
  json_object_set_new (*out, "UsedBy", users_of (e, name));
  return 0;
}

int
reg_engine_volume_create (struct reg_engine *e, const char *name, json_t **out,
                          struct reg_error **err)
{
  char random[65];
  if (name == NULL || *name == '\0')
    {
      /* No name: a random one, as Docker's. */
      if (reg_util_random_id (random, err) < 0)
        return -1;
      name = random;
    }
  pthread_mutex_lock (&e->lock);
  bool created = false;
  int ret = reg_volume_create (e->root, name, true, &created, err);
  if (ret == 0 && created)
    reg_events_emit (e->root, "volume", "create", name, NULL);
  if (ret == 0)
    ret = inspect_locked (e, name, out, err);
  pthread_mutex_unlock (&e->lock);
  return ret;
}

int
reg_engine_volume_inspect (struct reg_engine *e, const char *name, json_t **out,
                           struct reg_error **err)
{
  pthread_mutex_lock (&e->lock);
  int ret = inspect_locked (e, name, out, err);
  pthread_mutex_unlock (&e->lock);
  return ret;
}

int
reg_engine_volume_list (struct reg_engine *e, json_t **out, struct reg_error **err)
{
  _cleanup_strv_ char **names = NULL;
  if (reg_volume_list (e->root, &names, err) < 0)
    return -1;
  json_t *a = json_array ();
  for (size_t i = 0; a && names[i]; i++)
    {
      json_t *v = NULL;
      if (reg_engine_volume_inspect (e, names[i], &v, NULL) == 0)
        json_array_append_new (a, v);
    }
  if (a == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  *out = a;
  return 0;
}

static int
remove_locked (struct reg_engine *e, const char *name, uint64_t *bytes, struct reg_error **err)
{
  json_t *users = users_of (e, name);
  size_t n = json_array_size (users);
  if (n > 0)
    {
      char list[200] = "";
      size_t i;
      json_t *id;
      json_array_foreach (users, i, id)
      {
        size_t len = strlen (list);
        if (i == 3)
          {
            snprintf (list + len, sizeof list - len, " and %zu more", n - 3);
            break;
          }
        snprintf (list + len, sizeof list - len, "%s%.12s", i ? ", " : "", json_string_value (id));
      }
      json_decref (users);
      return reg_error_set (err, EBUSY, "volume %s is in use by container%s %s (remove %s first)",
                            name, n == 1 ? "" : "s", list, n == 1 ? "it" : "them");
    }
  json_decref (users);
  if (reg_volume_remove (e->root, name, bytes, err) < 0)
    return -1;
  reg_events_emit (e->root, "volume", "destroy", name, NULL);
  return 0;
}

void
reg_engine_volumes_remove_anonymous (struct reg_engine *e, const struct reg_container *c)
{
  pthread_mutex_lock (&e->lock);
  for (size_t i = 0; i < c->n_mounts; i++)
    if (c->mounts[i].anonymous && c->mounts[i].volume)
      remove_locked (e, c->mounts[i].volume, NULL, NULL);
  pthread_mutex_unlock (&e->lock);
}

int
reg_engine_volume_remove (struct reg_engine *e, const char *name, struct reg_error **err)
{
  pthread_mutex_lock (&e->lock);
  int ret = remove_locked (e, name, NULL, err);
  pthread_mutex_unlock (&e->lock);
  return ret;
}

int
reg_engine_volume_prune (struct reg_engine *e, json_t **out, struct reg_error **err)
{
  _cleanup_strv_ char **names = NULL;
  pthread_mutex_lock (&e->lock);
  int ret = reg_volume_list (e->root, &names, err);
  json_t *deleted = json_array ();
  uint64_t total = 0;
  for (size_t i = 0; ret == 0 && names[i]; i++)
    {
      uint64_t bytes = 0;
      struct reg_error *e2 = NULL;
      if (remove_locked (e, names[i], &bytes, &e2) == 0)
        {
          json_array_append_new (deleted, json_string (names[i]));
          total += bytes;
        }
      else if (e2->code != EBUSY)
        {
          ret = -1;
          *err = e2;
          e2 = NULL;
        }
      reg_error_free (e2);
    }
  pthread_mutex_unlock (&e->lock);
  if (ret < 0)
    {
      json_decref (deleted);
      return -1;
    }
  *out = json_pack ("{s:o, s:I}", "VolumesDeleted", deleted, "SpaceReclaimed", (json_int_t)total);
  return 0;
}
