/* engine: a container's tree for reg cp, and its changes for reg diff
 * (engine.h). */
#include "copy.h"
#include "engine.h"
#include "envgen.h"
#include "lockset.h"
#include "root.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

/* Is path on (or below) one of the container's own mounts? Its name. */
static const char *
on_mount (const struct reg_container *c, const char *path)
{
  for (size_t i = 0; i <= c->n_mounts; i++)
    {
      const char *t = i < c->n_mounts ? c->mounts[i].target : c->project ? "/app" : NULL;
      size_t n = t ? strlen (t) : 0;
      if (t && strncmp (path, t, n) == 0 && (path[n] == '\0' || path[n] == '/'))
        return t;
    }
  return NULL;
}

/* A detached overlay of a container that is not running: read-only over
 * upper:lower, or writable with its own upper and work directories (the
 * caller holds the container's operation lock, so it cannot start
 * meanwhile). */
static int
detached_overlay (struct reg_engine *e, const struct reg_container *c, bool writable,
                  struct reg_error **err)
{
  _cleanup_free_ char *upper = reg_container_layer_file (e->root, c, "upper");
  _cleanup_free_ char *work = reg_container_layer_file (e->root, c, "work");
  _cleanup_free_ char *lower = reg_root_env_lowerdir (e->root, c->closure), *both = NULL;
  if (!upper || !work || !lower || asprintf (&both, "%s:%s", upper, lower) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  _cleanup_close_ int fs = fsopen ("overlay", FSOPEN_CLOEXEC);
  if (fs < 0)
    return reg_error_sys (err, errno, "container %.12s: overlay", c->id);
  int r = writable ? (fsconfig (fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0
                      || fsconfig (fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0
                      || fsconfig (fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0)
                   : fsconfig (fs, FSCONFIG_SET_STRING, "lowerdir", both, 0) < 0;
  if (r || fsconfig (fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return reg_error_sys (err, errno, "container %.12s: mount its layers", c->id);
  int mnt = fsmount (fs, FSMOUNT_CLOEXEC, writable ? 0 : MOUNT_ATTR_RDONLY);
  if (mnt < 0)
    return reg_error_sys (err, errno, "container %.12s: mount its layers", c->id);
  return mnt;
}

static int
open_tree_of (struct reg_engine *e, const struct reg_container *c, const char *path, bool writable,
              struct reg_error **err)
{
  if (c->state == REG_STATE_GENERATING || (reg_state_live (c->state) && c->pid <= 0))
    return reg_error_set (err, EBUSY, "container %.12s is %s: try again in a moment", c->id,
                          reg_container_state_name (c->state));
  if (!reg_state_live (c->state))
    {
      const char *m = on_mount (c, path);
      if (m)
        return reg_error_set (err, EBUSY,
                              "container %.12s: %s is on its mount %s, which exists only while "
                              "it runs",
                              c->id, path, m);
      return detached_overlay (e, c, writable, err);
    }
  char proc[64];
  snprintf (proc, sizeof proc, "/proc/%d/root", (int)c->pid);
  int fd = open (proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
  /* Checked after the open: the pid was still the container's. */
  if (fd < 0 || !reg_container_monitor_alive (c))
    {
      if (fd >= 0)
        close (fd);
      return reg_error_set (err, EBUSY, "container %.12s stopped meanwhile: try again", c->id);
    }
  return fd;
}

int
reg_engine_container_tree (struct reg_engine *e, const char *ref, const char *path, bool writable,
                           struct reg_container_tree *t, struct reg_error **err)
{
  struct reg_container *c = NULL;
  t->e = e;
  t->op = NULL;
  t->root_fd = -1;
  if (reg_engine_container_get (e, ref, &c, err) < 0)
    return -1;
  if (writable)
    {
      /* The container's operation lock (engine.h): it cannot start (or be
       * removed) while its layers are written from here; then its state
       * again, as it is now. */
      char id[65];
      snprintf (id, sizeof id, "%s", c->id);
      reg_container_free (c);
      c = NULL;
      t->op = reg_lockset_lock (e->ops, id, REG_ENGINE_OP_WAIT_S * 1000);
      if (t->op == NULL)
        return reg_error_set (err, EBUSY, "container %.12s is busy with another operation", id);
      if (reg_engine_container_get (e, id, &c, err) < 0)
        {
          reg_engine_container_tree_close (t);
          return -1;
        }
    }
  t->root_fd = open_tree_of (e, c, path, writable, err);
  /* Only a writable overlay of a container that is not running keeps it. */
  if (t->op && (t->root_fd < 0 || reg_state_live (c->state)))
    {
      reg_lockset_unlock (e->ops, t->op);
      t->op = NULL;
    }
  reg_container_free (c);
  return t->root_fd < 0 ? -1 : 0;
}

void
reg_engine_container_tree_close (struct reg_container_tree *t)
{
  if (t->root_fd >= 0)
    close (t->root_fd);
  t->root_fd = -1;
  if (t->op)
    reg_lockset_unlock (t->e->ops, t->op);
  t->op = NULL;
}

/* The environment as one tree to read: its own directory when full; a
 * detached read-only overlay of its layers when layered (envgen.h), whose
 * mount fd goes in *mnt and whose path is /proc/self/fd/N. */
static char *
env_tree (struct reg_engine *e, const char *digest, int *mnt, struct reg_error **err)
{
  *mnt = -1;
  _cleanup_free_ char *base = reg_root_env_base (e->root, digest);
  if (base == NULL)
    {
      char *full = reg_root_env (e->root, digest);
      if (full == NULL)
        reg_error_set (err, ENOMEM, "out of memory");
      return full;
    }
  _cleanup_free_ char *lower = reg_root_env_lowerdir (e->root, digest);
  _cleanup_close_ int fs = fsopen ("overlay", FSOPEN_CLOEXEC);
  if (lower == NULL || fs < 0 || fsconfig (fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0
      || fsconfig (fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0
      || (*mnt = fsmount (fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY)) < 0)
    {
      reg_error_sys (err, errno, "environment %.12s: mount its layers", digest);
      return NULL;
    }
  char *path = NULL;
  if (asprintf (&path, "/proc/self/fd/%d", *mnt) < 0)
    {
      reg_error_set (err, ENOMEM, "out of memory");
      path = NULL;
    }
  return path;
}

int
reg_engine_container_changes (struct reg_engine *e, const char *ref, json_t **out,
                              struct reg_error **err)
{
  struct reg_container *c = NULL;
  if (reg_engine_container_get (e, ref, &c, err) < 0)
    return -1;
  _cleanup_free_ char *upper = reg_container_layer_file (e->root, c, "upper");
  _cleanup_close_ int lower_mnt = -1;
  _cleanup_free_ char *lower = env_tree (e, c->closure, &lower_mnt, err);
  /* The mount points the runtime made are not the program's changes. */
  char **hide = calloc (c->n_mounts + 5, sizeof *hide);
  size_t n = 0;
  if (hide)
    {
      hide[n++] = "/proc";
      hide[n++] = "/sys";
      hide[n++] = "/dev";
      if (c->project)
        hide[n++] = "/app";
      for (size_t i = 0; i < c->n_mounts; i++)
        hide[n++] = c->mounts[i].target;
    }
  int ret = lower == NULL   ? -1
            : upper && hide ? reg_copy_changes (upper, lower, hide, out, err)
                            : reg_error_set (err, ENOMEM, "out of memory");
  free (hide);
  reg_container_free (c);
  return ret < 0 ? reg_error_prefix (err, "diff") : 0;
}
