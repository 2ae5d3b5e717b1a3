#include "envgen.h"
#include "accounts.h"
#include "root.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct
{
  const char *path;
  mode_t mode;
  bool covered; /* the runtime mounts over it: entries below are hidden */
} skeleton[] = {
  { "proc", 0555, true }, { "dev", 0755, true },  { "sys", 0555, true },   { "tmp", 01777, false },
  { "app", 0755, false }, { "etc", 0755, false }, { "root", 0700, false }, { "run", 0755, false },
};

const char *
reg_envgen_skeleton_clash (const char *path, bool is_dir)
{
  if (path[0] != '/')
    return NULL;
  for (size_t i = 0; i < sizeof skeleton / sizeof skeleton[0]; i++)
    {
      size_t n = strlen (skeleton[i].path);
      if (strncmp (path + 1, skeleton[i].path, n) != 0)
        continue;
      if (path[n + 1] == '\0' && !is_dir)
        return "is a directory in every container, so it cannot be a file or symlink";
      if (path[n + 1] == '/' && skeleton[i].covered)
        return "would be hidden: the container mounts its own filesystem there";
    }
  return NULL;
}

/* mkdir -p of the parents of `rel` below dfd. */
static int
make_parents (int dfd, const char *rel, struct reg_error **err)
{
  char buf[4096];
  if (snprintf (buf, sizeof buf, "%s", rel) >= (int)sizeof buf)
    return reg_error_set (err, ENAMETOOLONG, "%s: path too long", rel);
  for (char *p = strchr (buf, '/'); p; p = strchr (p + 1, '/'))
    {
      *p = '\0';
      if (mkdirat (dfd, buf, 0755) < 0 && errno != EEXIST)
        return reg_error_sys (err, errno, "/%s", buf);
      struct stat st;
      if (fstatat (dfd, buf, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (st.st_mode))
        return reg_error_set (err, ENOTDIR,
                              "/%s: needed as a directory for /%s, but the closure "
                              "has another entry there",
                              buf, rel);
      *p = '/';
    }
  return 0;
}

/* "MODE [USER[:GROUP]]" (template.h): the owner through the closure's
 * accounts, so a service's own user can write its directory. */
static int
dir_attrs (const struct reg_closure *c, int dfd, const struct reg_entry *e, struct reg_error **err)
{
  const char *rel = e->path + 1;
  mode_t mode = (mode_t)strtoul (e->value, NULL, 8);
  const char *owner = strchr (e->value, ' ');
  uid_t uid = 0;
  gid_t gid = 0;
  if (owner && reg_accounts_resolve (c->users, c->groups, owner + 1, &uid, &gid, err) < 0)
    return reg_error_prefix (err, "%s: owner", e->path);
  if (fchownat (dfd, rel, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 || fchmodat (dfd, rel, mode, 0) < 0)
    return reg_error_sys (err, errno, "%s: set owner and mode", e->path);
  return 0;
}

static int
place_entry (const struct reg_store *store, const struct reg_closure *c, int dfd,
             const struct reg_entry *e, struct reg_error **err)
{
  const char *rel = e->path + 1;
  if (make_parents (dfd, rel, err) < 0)
    return -1;
  switch (e->kind)
    {
    case REG_ENTRY_FILE:
    case REG_ENTRY_EXEC:
      {
        _cleanup_free_ char *obj
            = reg_store_object_path (store, e->value, e->kind == REG_ENTRY_EXEC);
        if (obj == NULL)
          return reg_error_set (err, ENOMEM, "out of memory");
        if (linkat (AT_FDCWD, obj, dfd, rel, 0) < 0)
          return reg_error_sys (err, errno, "link %s to object %s", e->path, e->value);
        return 0;
      }
    case REG_ENTRY_SYMLINK:
      if (symlinkat (e->value, dfd, rel) < 0)
        return reg_error_sys (err, errno, "symlink %s", e->path);
      return 0;
    case REG_ENTRY_DIR:
      if (mkdirat (dfd, rel, 0755) < 0 && errno != EEXIST)
        return reg_error_sys (err, errno, "mkdir %s", e->path);
      return e->value ? dir_attrs (c, dfd, e, err) : 0;
    }
  return 0;
}

static bool
closure_has (const struct reg_closure *c, const char *path)
{
  for (size_t i = 0; i < c->n_entries; i++)
    if (strcmp (c->entries[i].path, path) == 0)
      return true;
  return false;
}

/* /etc/passwd and /etc/group from the accounts (accounts.h), unless a
 * template provides the file itself. */
static int
write_accounts (const struct reg_closure *c, int dfd, struct reg_error **err)
{
  for (int g = 0; g < 2; g++)
    {
      const char *path = g ? "/etc/group" : "/etc/passwd";
      if (closure_has (c, path))
        continue;
      _cleanup_free_ char *text
          = g ? reg_accounts_group_text (c->groups) : reg_accounts_passwd_text (c->users);
      if (text == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      _cleanup_close_ int fd
          = openat (dfd, path + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd < 0 || fchmod (fd, 0644) < 0 || reg_util_write_all (fd, text, strlen (text)) < 0)
        return reg_error_sys (err, errno, "write %s", path);
    }
  return 0;
}

static int
build_tree (const struct reg_store *store, const struct reg_closure *c, const char *dir,
            struct reg_error **err)
{
  _cleanup_close_ int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return reg_error_sys (err, errno, "open %s", dir);
  for (size_t i = 0; i < sizeof skeleton / sizeof skeleton[0]; i++)
    {
      if (mkdirat (dfd, skeleton[i].path, skeleton[i].mode) < 0)
        return reg_error_sys (err, errno, "mkdir /%s", skeleton[i].path);
      fchmodat (dfd, skeleton[i].path, skeleton[i].mode, 0); /* umask-proof */
    }
  for (size_t i = 0; i < c->n_entries; i++)
    if (place_entry (store, c, dfd, &c->entries[i], err) < 0)
      return -1;
  if (write_accounts (c, dfd, err) < 0)
    return -1;
  if (fchmod (dfd, 0755) < 0)
    return reg_error_sys (err, errno, "chmod %s", dir);
  return 0;
}

int
reg_envgen_generate (const struct reg_store *store, const struct reg_closure *c, char **out_path,
                     struct reg_error **err)
{
  _cleanup_free_ char *final = reg_root_env (store->root, c->digest);
  _cleanup_free_ char *tmp = reg_root_path (store->root, REG_ROOT_ENV_STAGING, c->digest, NULL);
  if (final == NULL || tmp == NULL)
    return reg_error_set (err, ENOMEM, "generate env %.12s: out of memory", c->digest);
  if (access (final, F_OK) == 0)
    {
      *out_path = reg_steal (&final);
      return 0;
    }
  if (mkdtemp (tmp) == NULL)
    return reg_error_sys (err, errno, "generate env %.12s: mkdtemp", c->digest);
  if (build_tree (store, c, tmp, err) < 0)
    {
      reg_util_rm_rf (tmp, NULL);
      return reg_error_prefix (err, "generate env %.12s", c->digest);
    }
  if (rename (tmp, final) < 0)
    {
      int e = errno;
      reg_util_rm_rf (tmp, NULL);
      /* Lost the race to an identical tree: use the winner's. */
      if (!(e == EEXIST || e == ENOTEMPTY))
        return reg_error_sys (err, e, "generate env %.12s: rename into place", c->digest);
    }
  *out_path = reg_steal (&final);
  return 0;
}

int
reg_envgen_build_private (const struct reg_store *store, const struct reg_closure *c,
                          char **out_path, struct reg_error **err)
{
  _cleanup_free_ char *tmp = reg_root_path (store->root, REG_ROOT_ENV_STAGING, c->digest, NULL);
  if (tmp == NULL)
    return reg_error_set (err, ENOMEM, "generate env %.12s: out of memory", c->digest);
  if (mkdtemp (tmp) == NULL)
    return reg_error_sys (err, errno, "generate env %.12s: mkdtemp", c->digest);
  if (build_tree (store, c, tmp, err) < 0)
    {
      reg_util_rm_rf (tmp, NULL);
      return reg_error_prefix (err, "generate env %.12s", c->digest);
    }
  *out_path = reg_steal (&tmp);
  return 0;
}

/* ---- layered environments ---- */

static int
entry_cmp (const void *key, const void *elem)
{
  return strcmp (key, ((const struct reg_entry *)elem)->path);
}

/* Is `e` the base closure's entry too, unchanged? (Entries are sorted by path.) */
static bool
in_base (const struct reg_closure *base, const struct reg_entry *e)
{
  const struct reg_entry *b
      = bsearch (e->path, base->entries, base->n_entries, sizeof *base->entries, entry_cmp);
  return b && b->kind == e->kind
         && strcmp (b->value ? b->value : "", e->value ? e->value : "") == 0;
}

/* 1 when the layer would not merge into the full tree there. */
enum
{
  LAYER_OK = 0,
  LAYER_NO_MERGE = 1
};

/* mkdir -p of the parents of `rel` in the layer, each with the mode and
 * owner of the base's directory there (a directory of an upper layer
 * hides the attributes of the one below). */
static int
layer_parents (int base, int layer, const char *rel, struct reg_error **err)
{
  char buf[4096];
  if (snprintf (buf, sizeof buf, "%s", rel) >= (int)sizeof buf)
    return reg_error_set (err, ENAMETOOLONG, "%s: path too long", rel);
  for (char *p = strchr (buf, '/'); p; p = strchr (p + 1, '/'))
    {
      *p = '\0';
      struct stat st;
      bool below = fstatat (base, buf, &st, AT_SYMLINK_NOFOLLOW) == 0;
      if (below && !S_ISDIR (st.st_mode))
        return LAYER_NO_MERGE;
      if (mkdirat (layer, buf, 0755) == 0 && below
          && (fchownat (layer, buf, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0
              || fchmodat (layer, buf, st.st_mode & 07777, 0) < 0))
        return reg_error_sys (err, errno, "/%s: copy the base's mode and owner", buf);
      *p = '/';
    }
  return LAYER_OK;
}

/* An entry of the layer: what the base has at its path must be replaced
 * the way the full tree would have it. */
static int
layer_entry (const struct reg_store *store, const struct reg_closure *c, int base, int layer,
             const struct reg_entry *e, struct reg_error **err)
{
  const char *rel = e->path + 1;
  int r = layer_parents (base, layer, rel, err);
  if (r != LAYER_OK)
    return r;
  struct stat st;
  if (fstatat (base, rel, &st, AT_SYMLINK_NOFOLLOW) == 0
      && (S_ISDIR (st.st_mode) != (e->kind == REG_ENTRY_DIR)))
    return LAYER_NO_MERGE;
  return place_entry (store, c, layer, e, err);
}

/* /etc/passwd and /etc/group of `c` in the layer when they differ from
 * the base's (and no template provides them as files). */
static int
layer_accounts (const struct reg_closure *c, const struct reg_closure *base, int bfd, int layer,
                struct reg_error **err)
{
  for (int g = 0; g < 2; g++)
    {
      const char *path = g ? "/etc/group" : "/etc/passwd";
      if (closure_has (c, path))
        continue;
      _cleanup_free_ char *mine
          = g ? reg_accounts_group_text (c->groups) : reg_accounts_passwd_text (c->users);
      _cleanup_free_ char *theirs
          = g ? reg_accounts_group_text (base->groups) : reg_accounts_passwd_text (base->users);
      if (mine == NULL || theirs == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      if (strcmp (mine, theirs) == 0 && !closure_has (base, path))
        continue;
      int r = layer_parents (bfd, layer, path + 1, err);
      if (r != LAYER_OK)
        return r;
      _cleanup_close_ int fd
          = openat (layer, path + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd < 0 || fchmod (fd, 0644) < 0 || reg_util_write_all (fd, mine, strlen (mine)) < 0)
        return reg_error_sys (err, errno, "write %s", path);
    }
  return LAYER_OK;
}

/* envs/.gen-*: layer/ and the base link; LAYER_NO_MERGE, or -1. */
static int
build_layer (const struct reg_store *store, const struct reg_closure *c,
             const struct reg_closure *base, const char *base_path, const char *dir,
             struct reg_error **err)
{
  _cleanup_close_ int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_close_ int bfd = open (base_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || bfd < 0)
    return reg_error_sys (err, errno, "open %s", dfd < 0 ? dir : base_path);
  char link[3 + 65];
  snprintf (link, sizeof link, "../%s", base->digest);
  if (symlinkat (link, dfd, "base") < 0 || mkdirat (dfd, "layer", 0755) < 0)
    return reg_error_sys (err, errno, "make the layer of %s", dir);
  _cleanup_close_ int layer = openat (dfd, "layer", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (layer < 0)
    return reg_error_sys (err, errno, "open %s/layer", dir);
  for (size_t i = 0; i < c->n_entries; i++)
    {
      if (in_base (base, &c->entries[i]))
        continue;
      int r = layer_entry (store, c, bfd, layer, &c->entries[i], err);
      if (r != LAYER_OK)
        return r;
    }
  int r = layer_accounts (c, base, bfd, layer, err);
  if (r != LAYER_OK)
    return r;
  if (fchmod (layer, 0755) < 0 || fchmod (dfd, 0755) < 0)
    return reg_error_sys (err, errno, "chmod %s", dir);
  return LAYER_OK;
}

/* Rename the layered tree into place, and see that its base is still
 * there, under the lock a prune decides under (envgen.h). */
static int
layer_commit (const struct reg_store *store, const struct reg_closure *base, pthread_mutex_t *lock,
              const char *tmp, const char *final, struct reg_error **err)
{
  _cleanup_free_ char *base_path = reg_root_env (store->root, base->digest);
  if (base_path == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  pthread_mutex_lock (lock);
  int r = rename (tmp, final), e = errno;
  bool base_here = access (base_path, F_OK) == 0;
  pthread_mutex_unlock (lock);
  if (r < 0)
    {
      reg_util_rm_rf (tmp, NULL);
      /* Lost the race to another generation of it: use the winner's. */
      if (!(e == EEXIST || e == ENOTEMPTY))
        return reg_error_sys (err, e, "rename into place");
    }
  if (base_here)
    return 0;
  _cleanup_free_ char *again = NULL;
  return reg_envgen_generate (store, base, &again, err);
}

int
reg_envgen_generate_layered (const struct reg_store *store, const struct reg_closure *c,
                             const struct reg_closure *base, pthread_mutex_t *lock, char **out_path,
                             struct reg_error **err)
{
  _cleanup_free_ char *final = reg_root_env (store->root, c->digest);
  _cleanup_free_ char *tmp = reg_root_path (store->root, REG_ROOT_ENV_STAGING, c->digest, NULL);
  _cleanup_free_ char *below = reg_root_env_base (store->root, base->digest);
  if (final == NULL || tmp == NULL)
    return reg_error_set (err, ENOMEM, "generate env %.12s: out of memory", c->digest);
  /* Existing (either form), the same closure, or a base that is itself
   * layered (one level only): the plain way. */
  if (access (final, F_OK) == 0 || below || strcmp (c->digest, base->digest) == 0)
    return reg_envgen_generate (store, c, out_path, err);
  _cleanup_free_ char *base_path = NULL;
  if (reg_envgen_generate (store, base, &base_path, err) < 0)
    return reg_error_prefix (err, "generate env %.12s: its base", c->digest);
  if (mkdtemp (tmp) == NULL)
    return reg_error_sys (err, errno, "generate env %.12s: mkdtemp", c->digest);
  int r = build_layer (store, c, base, base_path, tmp, err);
  if (r != LAYER_OK)
    {
      reg_util_rm_rf (tmp, NULL);
      if (r < 0)
        return reg_error_prefix (err, "generate env %.12s", c->digest);
      return reg_envgen_generate (store, c, out_path, err);
    }
  if (layer_commit (store, base, lock, tmp, final, err) < 0)
    return reg_error_prefix (err, "generate env %.12s", c->digest);
  *out_path = reg_steal (&final);
  return 0;
}
