#include "engine.h"
#include "accounts.h"
#include "events.h"
#include "root.h"
#include "volume.h"
#include "envgen.h"
#include "gc.h"
#include "insert.h"
#include "json.h"
#include "lockset.h"
#include "monitor.h"
#include "netrelease.h"
#include "timing.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define KILL_WAIT_S 10

/* Resolved closures by the exact template list asked for. Resolution
 * parses RET files; caching it keeps the start path free of YAML. Cleared
 * whenever a template changes. An entry in use outside e->lock (during an
 * environment generation) is counted, and one cleared meanwhile is freed by
 * its last user. */
struct reg_closure_cache
{
  char *key;
  struct reg_closure *closure;
  unsigned refs;
  bool cleared; /* out of the cache: its last user frees it */
  struct reg_closure_cache *next;
};

static void
cache_entry_free (struct reg_closure_cache *c)
{
  free (c->key);
  reg_closure_free (c->closure);
  free (c);
}

/* Called with e->lock held. */
static void
cache_clear (struct reg_engine *e)
{
  while (e->cache)
    {
      struct reg_closure_cache *n = e->cache->next;
      if (e->cache->refs == 0)
        cache_entry_free (e->cache);
      else
        e->cache->cleared = true;
      e->cache = n;
    }
}

/* Drop a reference taken by closure_hold. */
static void
closure_release (struct reg_engine *e, struct reg_closure_cache *c)
{
  if (c == NULL)
    return;
  pthread_mutex_lock (&e->lock);
  if (--c->refs == 0 && c->cleared)
    cache_entry_free (c);
  pthread_mutex_unlock (&e->lock);
}

void
reg_engine_free (struct reg_engine *e)
{
  if (e == NULL)
    return;
  cache_clear (e);
  reg_lockset_free (e->ops);
  reg_store_free (e->store);
  pthread_mutex_destroy (&e->lock);
  pthread_mutex_destroy (&e->import_lock);
  free (e->root);
  free (e);
}

int
reg_engine_open (const char *root, struct reg_engine **out, struct reg_error **err)
{
  struct reg_engine *e = calloc (1, sizeof *e);
  if (e == NULL || (e->root = strdup (root)) == NULL)
    {
      free (e);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  pthread_mutex_init (&e->lock, NULL);
  pthread_mutex_init (&e->import_lock, NULL);
  e->monitor_start = reg_monitor_start;
  if ((e->ops = reg_lockset_new ()) == NULL)
    {
      reg_engine_free (e);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  _cleanup_free_ char *containers = reg_root_path (root, REG_ROOT_CONTAINERS, NULL, NULL);
  _cleanup_free_ char *templates = reg_root_path (root, REG_ROOT_TEMPLATES, NULL, NULL);
  if (containers == NULL || templates == NULL)
    {
      reg_engine_free (e);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  if (reg_util_mkdir_p (root, 0711, err) < 0 || reg_store_open (root, &e->store, err) < 0
      || reg_util_mkdir_p (containers, 0700, err) < 0
      || reg_util_mkdir_p (templates, 0700, err) < 0)
    {
      reg_engine_free (e);
      return -1;
    }
  *out = e;
  return 0;
}

void
reg_engine_configure (struct reg_engine *e, const struct reg_engine_config *c)
{
  e->store->link_host = c->link_host_files;
  e->net = c->net;
}

/* Remove every entry of `dir` whose name starts with `prefix` (all when
 * prefix is ""). */
static int
sweep_dir (const char *dir, const char *prefix, struct reg_error **err)
{
  DIR *d = opendir (dir);
  if (d == NULL)
    return errno == ENOENT ? 0 : reg_error_sys (err, errno, "sweep %s", dir);
  struct dirent *de;
  int ret = 0;
  while (ret == 0 && (de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      _cleanup_free_ char *path = NULL;
      if (asprintf (&path, "%s/%s", dir, de->d_name) < 0)
        ret = reg_error_set (err, ENOMEM, "out of memory");
      else if (strncmp (de->d_name, prefix, strlen (prefix)) == 0)
        {
          /* a half-removed container's --storage-opt tmpfs */
          _cleanup_free_ char *layer = NULL;
          if (asprintf (&layer, "%s/layer", path) >= 0)
            umount2 (layer, MNT_DETACH | UMOUNT_NOFOLLOW);
          /* A --rm container's cgroups go after its exit frame: a monitor
           * that died after the rename left them (docs/reliability.md).
           * One still at work is in them itself: they stay for it. */
          if (strcmp (prefix, ".removing-") == 0 && reg_util_is_sha256_hex (de->d_name + 10))
            reg_cgroup_remove_unused_by_id (REG_CGROUP_FS, de->d_name + 10);
          /* A --rm container's monitor may be removing its own directory
           * right now (it outlives regd): what it takes first is not an
           * error, and nothing here stops regd from serving. */
          struct reg_error *rm_err = NULL;
          if (reg_util_rm_rf (path, &rm_err) < 0 && rm_err->code != ENOENT)
            fprintf (stderr, "regd: clean up after an earlier crash: %s\n", rm_err->msg);
          reg_error_free (rm_err);
        }
    }
  closedir (d);
  return ret;
}

static int
sweep_state_tmp (const char *containers, struct reg_error **err)
{
  DIR *d = opendir (containers);
  if (d == NULL)
    return errno == ENOENT ? 0 : reg_error_sys (err, errno, "sweep %s", containers);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      _cleanup_free_ char *sub = NULL;
      if (asprintf (&sub, "%s/%s", containers, de->d_name) < 0)
        break;
      DIR *c = opendir (sub);
      struct dirent *fe;
      while (c && (fe = readdir (c)) != NULL)
        if (strstr (fe->d_name, ".tmp-") != NULL)
          unlinkat (dirfd (c), fe->d_name, 0);
      if (c)
        closedir (c);
    }
  closedir (d);
  return 0;
}

int
reg_engine_sweep (struct reg_engine *e, struct reg_error **err)
{
  _cleanup_free_ char *containers = reg_root_path (e->root, REG_ROOT_CONTAINERS, NULL, NULL);
  _cleanup_free_ char *envs = reg_root_path (e->root, REG_ROOT_ENVS, NULL, NULL);
  _cleanup_free_ char *tmp = reg_root_path (e->root, REG_ROOT_STORE_TMP, NULL, NULL);
  if (containers == NULL || envs == NULL || tmp == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (sweep_dir (containers, ".removing-", err) < 0 || sweep_dir (envs, ".gen-", err) < 0
      || sweep_dir (envs, ".prune-", err) < 0 || sweep_dir (tmp, "", err) < 0
      || sweep_state_tmp (containers, err) < 0 || reg_volume_sweep (e->root, err) < 0)
    return reg_error_prefix (err, "regd: clean up after an earlier crash");
  reg_cgroup_sweep_ahead (REG_CGROUP_FS); /* a killed spare monitor's */
  return 0;
}

/* ---- templates ---- */

/* The short id of a container using `ref`, directly or through the
 * requires of its templates, in out; 1 if there is one. */
static int
template_user (struct reg_engine *e, const char *ref, char out[13], struct reg_error **err)
{
  struct reg_gc_refs *r = NULL;
  if (reg_gc_refs_templates (e->root, false, &r, err) < 0
      || reg_gc_refs_containers (e->root, r, false, err) < 0)
    {
      reg_gc_refs_free (r);
      return -1;
    }
  const char *user = reg_gc_template_user (r, ref);
  if (user)
    snprintf (out, 13, "%s", user);
  reg_gc_refs_free (r);
  return user != NULL;
}

/* An installed name@version is replaced only when asked to, and never while
 * a container uses it: its environment would no longer match its templates,
 * and its next start or install would pick up different files. */
static int
check_replace (struct reg_engine *e, const struct reg_template *t, bool replace,
               struct reg_error **err)
{
  _cleanup_free_ char *ref = NULL;
  if (asprintf (&ref, "%s@%s", t->name, t->version) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  struct reg_template *old = NULL;
  struct reg_error *load_err = NULL;
  int found = reg_template_load (e->root, ref, &old, &load_err) == 0 || load_err->code != ENOENT;
  reg_template_free (old);
  reg_error_free (load_err);
  if (!found)
    return 0;
  if (!replace)
    return reg_error_set (err, EEXIST,
                          "template %s: already exists (remove it first, or use --force to "
                          "replace it)",
                          ref);
  char user[13];
  int used = template_user (e, ref, user, err);
  if (used > 0)
    return reg_error_set (err, EBUSY, "template %s: cannot replace it: in use by container %s", ref,
                          user);
  return used;
}

static void
template_event (struct reg_engine *e, const char *name, const char *version, const char *action)
{
  char ref[512];
  snprintf (ref, sizeof ref, "%s@%s", name, version);
  reg_events_emit (e->root, "template", action, ref, NULL);
}

static int
save_template (struct reg_engine *e, struct reg_template *t, bool replace,
               struct reg_template **out, struct reg_error **err)
{
  pthread_mutex_lock (&e->lock);
  int ret = check_replace (e, t, replace, err);
  if (ret == 0)
    ret = reg_template_save (e->root, e->store, t, err);
  if (ret == 0)
    cache_clear (e);
  pthread_mutex_unlock (&e->lock);
  if (ret == 0)
    template_event (e, t->name, t->version, "create");
  if (ret < 0 || out == NULL)
    reg_template_free (t);
  else
    *out = t;
  return ret;
}

/* Refuse an installed name@version before a trace runs or a file is hashed
 * (save_template checks again). */
static int
check_replace_early (struct reg_engine *e, const struct reg_import_options *o, bool replace,
                     struct reg_error **err)
{
  struct reg_template probe = { .name = (char *)o->name, .version = (char *)o->version };
  if (!(o->name && o->version && reg_template_name_ok (o->name)
        && reg_template_version_ok (o->version)))
    return 0;
  pthread_mutex_lock (&e->lock);
  int ret = check_replace (e, &probe, replace, err);
  pthread_mutex_unlock (&e->lock);
  return ret;
}

/* Run the trace of a create, outside every lock (it takes seconds), and
 * give the import what it found. */
static int
run_trace (const struct reg_import_options *o, struct reg_import_options *with,
           struct reg_trace_result *res, struct reg_error **err)
{
  *with = *o;
  if (o->trace == NULL)
    return 0;
  if (reg_trace_run (o->trace, res, err) < 0)
    return reg_error_prefix (err, "template %s@%s", o->name ? o->name : "",
                             o->version ? o->version : "");
  with->traced = res->read;
  with->traced_written = res->written;
  return 0;
}

int
reg_engine_template_create (struct reg_engine *e, const struct reg_import_options *given,
                            bool replace, struct reg_template **out, struct reg_error **err)
{
  struct reg_template *t = NULL;
  char **added = NULL;
  struct reg_import_options o;
  struct reg_trace_result res = { 0 };
  int ret = check_replace_early (e, given, replace, err);
  if (ret == 0)
    ret = run_trace (given, &o, &res, err);
  pthread_mutex_lock (&e->import_lock);
  if (ret == 0)
    ret = reg_import_template (e->store, &o, &t, &added, err);
  if (ret == 0)
    ret = save_template (e, t, replace, out, err);
  if (ret < 0)
    reg_import_undo (e->store, reg_steal (&added));
  pthread_mutex_unlock (&e->import_lock);
  reg_strv_free (added);
  reg_trace_result_clear (&res);
  return ret;
}

int
reg_engine_template_add (struct reg_engine *e, const char *text, size_t len, bool replace,
                         struct reg_template **out, struct reg_error **err)
{
  struct reg_template *t = NULL;
  if (reg_template_parse (text, len, "request", &t, err) < 0)
    return -1;
  /* Under the import lock: a failed import's undo must not remove an object
   * a RET file added meanwhile names. */
  pthread_mutex_lock (&e->import_lock);
  int ret = save_template (e, t, replace, out, err);
  pthread_mutex_unlock (&e->import_lock);
  return ret;
}

int
reg_engine_template_remove (struct reg_engine *e, const char *ref, struct reg_error **err)
{
  pthread_mutex_lock (&e->lock);
  char user[13];
  int used = template_user (e, ref, user, err);
  int ret = used;
  if (used > 0)
    ret = reg_error_set (err, EBUSY, "template %s: in use by container %s", ref, user);
  if (ret == 0)
    ret = reg_template_remove (e->root, ref, err);
  if (ret == 0)
    cache_clear (e);
  pthread_mutex_unlock (&e->lock);
  if (ret == 0)
    reg_events_emit (e->root, "template", "delete", ref, NULL);
  return ret;
}

/* ---- containers ---- */

static char *
join_refs (char *const *refs)
{
  size_t len = 1;
  for (size_t i = 0; refs[i]; i++)
    len += strlen (refs[i]) + 1;
  char *key = calloc (1, len);
  for (size_t i = 0; key && refs[i]; i++)
    {
      strcat (key, refs[i]);
      strcat (key, "\n");
    }
  return key;
}

/* Called with e->lock held. The entry is held for the caller: give it
 * back with closure_release (which takes e->lock). */
static struct reg_closure_cache *
closure_hold (struct reg_engine *e, char *const *refs, struct reg_error **err)
{
  _cleanup_free_ char *key = join_refs (refs);
  if (key == NULL)
    {
      reg_error_set (err, ENOMEM, "out of memory");
      return NULL;
    }
  struct reg_closure_cache *entry = e->cache;
  while (entry && strcmp (entry->key, key) != 0)
    entry = entry->next;
  if (entry == NULL)
    {
      struct reg_closure *closure = NULL;
      if (reg_closure_resolve (e->root, refs, &closure, err) < 0)
        return NULL;
      if ((entry = calloc (1, sizeof *entry)) == NULL)
        {
          reg_closure_free (closure);
          reg_error_set (err, ENOMEM, "out of memory");
          return NULL;
        }
      entry->key = reg_steal (&key);
      entry->closure = closure;
      entry->next = e->cache;
      e->cache = entry;
    }
  entry->refs++;
  return entry;
}

static int
env_push (char ***env, size_t *n, const char *kv)
{
  size_t key_len = strcspn (kv, "=");
  for (size_t i = 0; i < *n; i++)
    if (strncmp ((*env)[i], kv, key_len) == 0 && (*env)[i][key_len] == '=')
      {
        char *dup = strdup (kv);
        if (dup == NULL)
          return -1;
        free ((*env)[i]);
        (*env)[i] = dup;
        return 0;
      }
  char **nv = realloc (*env, (*n + 2) * sizeof *nv);
  if (nv == NULL)
    return -1;
  *env = nv;
  if ((nv[*n] = strdup (kv)) == NULL)
    return -1;
  nv[++*n] = NULL;
  return 0;
}

/* Defaults, then the templates' env, then the user's: later wins. */
static char **
build_env (const struct reg_closure *cl, char *const *user, const char *hostname)
{
  char **env = calloc (1, sizeof *env);
  size_t n = 0;
  char host[64];
  snprintf (host, sizeof host, "HOSTNAME=%s", hostname);
  const char *defaults[] = { DEFAULT_PATH, "HOME=/root", host };
  for (size_t i = 0; env && i < 3; i++)
    if (env_push (&env, &n, defaults[i]) < 0)
      goto fail;
  for (size_t i = 0; env && cl->env && cl->env[i]; i++)
    if (env_push (&env, &n, cl->env[i]) < 0)
      goto fail;
  for (size_t i = 0; env && user && user[i]; i++)
    if (env_push (&env, &n, user[i]) < 0)
      goto fail;
  return env;
fail:
  reg_strv_free (env);
  return NULL;
}

static int
check_create_options (struct reg_engine *e, const struct reg_create_options *o,
                      struct reg_error **err)
{
  if (o->templates == NULL || o->templates[0] == NULL)
    return reg_error_set (err, EINVAL, "create container: no template given (use -t NAME@VERSION)");
  if (o->name && *o->name)
    {
      if (!reg_container_name_ok (o->name))
        return reg_error_set (
            err, EINVAL, "container name \"%s\": use letters, digits, '_', '.' and '-'", o->name);
      char existing[65];
      if (reg_container_name_taken (e->root, o->name, existing))
        return reg_error_set (err, EEXIST, "container name \"%s\" is already in use by %.12s",
                              o->name, existing);
    }
  if (o->project)
    {
      struct stat st;
      if (o->project[0] != '/' || stat (o->project, &st) < 0 || !S_ISDIR (st.st_mode))
        return reg_error_set (err, EINVAL, "project %s: not an existing absolute directory",
                              o->project);
    }
  if (reg_engine_mounts_check (o->mounts, o->n_mounts, err) < 0)
    return -1;
  if (o->workdir && *o->workdir && strcmp (o->workdir, "/") != 0
      && !reg_util_path_is_clean (o->workdir))
    return reg_error_set (err, EINVAL, "working directory %s: must be an absolute path",
                          o->workdir);
  return 0;
}
/* The supplementary groups: the user's memberships in the templates'
 * /etc/group (as login(1) and Docker give them), then --group-add. */
static int
container_groups (struct reg_container *c, const struct reg_closure *cl,
                  const struct reg_create_options *o, struct reg_error **err)
{
  char spec[16];
  const char *user = o->user && o->user[0] ? o->user : NULL;
  if (user == NULL && c->security.has_user)
    {
      snprintf (spec, sizeof spec, "%u", (unsigned)c->security.uid);
      user = spec;
    }
  gid_t gids[REG_SECURITY_MAX_GROUPS];
  size_t n
      = user ? reg_accounts_memberships (cl->users, cl->groups, user, gids, REG_SECURITY_MAX_GROUPS)
             : 0;
  for (size_t i = 0; i < n; i++)
    if (reg_security_add_group (&c->security, gids[i], err) < 0)
      return -1;
  for (size_t i = 0; o->group_add && o->group_add[i]; i++)
    {
      gid_t gid;
      if (reg_accounts_group_id (cl->groups, o->group_add[i], &gid, err) < 0
          || reg_security_add_group (&c->security, gid, err) < 0)
        return -1;
    }
  return 0;
}

static int
fill_container (const struct reg_store *store, struct reg_container *c,
                const struct reg_create_options *o, const struct reg_closure *cl,
                struct reg_error **err)
{
  char host[13];
  if (reg_limit_check (&o->limits, err) < 0)
    return reg_error_prefix (err, "create container");
  snprintf (host, sizeof host, "%.12s", c->id);
  memcpy (c->closure, cl->digest, sizeof c->closure);
  c->limits = o->limits;
  if (o->log_max_size < 0 || (o->log_max_size > 0 && o->log_max_size < 4096))
    return reg_error_set (err, EINVAL, "create container: log-max-size must be at least 4 KiB");
  c->log_max_size = o->log_max_size;
  if (o->storage_size < 0 || (o->storage_size > 0 && o->storage_size < (1 << 20)))
    return reg_error_set (err, EINVAL,
                          "create container: --storage-opt size must be at least 1 MiB");
  c->storage_size = o->storage_size;
  if (o->auto_remove && o->restart.mode != REG_RESTART_NO)
    return reg_error_set (err, EINVAL,
                          "create container: --rm and --restart %s conflict (a container removed "
                          "when it exits cannot be restarted)",
                          reg_container_restart_name (o->restart.mode));
  c->restart = o->restart;
  c->stop_signal = o->stop_signal > 0 ? o->stop_signal : cl->stop_signal;
  if (o->stop_timeout < -1 || o->stop_timeout > 86400)
    return reg_error_set (err, EINVAL, "create container: stop timeout %d is not 0-86400 seconds",
                          o->stop_timeout);
  c->stop_timeout = o->stop_timeout;
  c->init = o->init;
  if (o->n_ulimits > REG_ULIMIT_MAX)
    return reg_error_set (err, EINVAL, "create container: more than %d ulimits", REG_ULIMIT_MAX);
  for (size_t i = 0; i < o->n_ulimits; i++)
    {
      for (size_t k = 0; k < i; k++)
        if (o->ulimits[k].resource == o->ulimits[i].resource)
          return reg_error_set (err, EINVAL, "create container: ulimit %s given twice",
                                reg_ulimit_name (o->ulimits[i].resource));
      c->ulimits[c->n_ulimits++] = o->ulimits[i];
    }
  c->open_stdin = o->open_stdin;
  c->tty = o->tty;
  if (reg_security_check (&o->security, err) < 0
      || reg_security_copy (&c->security, &o->security, err) < 0
      || (c->security.userns
          && reg_security_userns_range (&c->security, "/etc/subuid", "/etc/subgid", err) < 0))
    return reg_error_prefix (err, "create container");
  c->rows = o->rows;
  c->cols = o->cols;
  if (o->ports && (c->ports = reg_strv_dup (o->ports)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  c->limits.cpuset_cpus = NULL;
  if (o->limits.cpuset_cpus && (c->limits.cpuset_cpus = strdup (o->limits.cpuset_cpus)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  c->name = o->name && *o->name ? strdup (o->name) : NULL;
  c->templates = reg_strv_dup (o->templates);
  c->argv = reg_strv_dup (o->cmd && o->cmd[0] ? o->cmd : cl->entrypoint);
  c->env = build_env (cl, o->env, o->hostname ? o->hostname : host);
  c->hostname = o->hostname ? strdup (o->hostname) : NULL;
  c->dns = reg_strv_dup (o->dns);
  c->dns_search = reg_strv_dup (o->dns_search);
  c->extra_hosts = reg_strv_dup (o->extra_hosts);
  c->aliases = reg_strv_dup (o->aliases);
  if ((o->hostname && !c->hostname) || (o->dns && !c->dns) || (o->dns_search && !c->dns_search)
      || (o->extra_hosts && !c->extra_hosts) || (o->aliases && !c->aliases))
    return reg_error_set (err, ENOMEM, "out of memory");
  c->project = o->project ? strdup (o->project) : NULL;
  c->auto_remove = o->auto_remove;
  if (c->argv == NULL || c->argv[0] == NULL)
    return reg_error_set (err, EINVAL,
                          "create container: no command given and template %s has no entrypoint",
                          o->templates[0]);
  if (c->n_mounts == 0 && o->n_mounts > 0
      && (c->mounts = calloc (o->n_mounts, sizeof *c->mounts)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; i < o->n_mounts; i++, c->n_mounts++)
    {
      c->mounts[i] = o->mounts[i];
      c->mounts[i].source = o->mounts[i].source ? strdup (o->mounts[i].source) : NULL;
      c->mounts[i].target = strdup (o->mounts[i].target);
      c->mounts[i].volume = NULL;
      if ((!c->mounts[i].source && o->mounts[i].source) || !c->mounts[i].target)
        return reg_error_set (err, ENOMEM, "out of memory");
    }
  if (!c->templates || !c->env || (o->project && !c->project))
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_engine_run_defaults (store, c, o, cl, err) < 0)
    return -1;
  if (container_groups (c, cl, o, err) < 0)
    return reg_error_prefix (err, "create container");
  return 0;
}

static struct reg_lock *
op_lock (struct reg_engine *e, const char *id, const char *verb, struct reg_error **err)
{
  struct reg_lock *l = reg_lockset_lock (e->ops, id, REG_ENGINE_OP_WAIT_S * 1000);
  if (l == NULL && errno == ETIMEDOUT)
    reg_error_set (err, EBUSY,
                   "container %.12s: cannot %s: another operation on it has not finished in %d s",
                   id, verb, REG_ENGINE_OP_WAIT_S);
  else if (l == NULL)
    reg_error_set (err, ENOMEM, "container %.12s: %s: out of memory", id, verb);
  return l;
}

/* Find `ref`, hold its operation lock and load it (a stale live state
 * corrected). The caller unlocks with reg_lockset_unlock. */
static struct reg_lock *
op_begin (struct reg_engine *e, const char *ref, const char *verb, struct reg_container **c,
          struct reg_error **err)
{
  char id[65];
  *c = NULL;
  if (reg_container_find (e->root, ref, id, err) < 0)
    return NULL;
  struct reg_lock *l = op_lock (e, id, verb, err);
  if (l && reg_engine_container_get (e, id, c, err) < 0)
    {
      reg_lockset_unlock (e->ops, l);
      return NULL;
    }
  return l;
}

/* "80" and "80/tcp" are one port. */
static char *
exposed_port (const char *spec, struct reg_error **err)
{
  struct reg_port_binding b;
  char *out = NULL;
  if (strchr (spec, ':') || !reg_network_port_parse (spec, &b))
    {
      reg_error_set (err, EINVAL, "create container: exposed port \"%s\" is not PORT[/tcp|udp]",
                     spec);
      return NULL;
    }
  if (asprintf (&out, "%u/%s", b.container_port, b.udp ? "udp" : "tcp") < 0)
    reg_error_set (err, ENOMEM, "out of memory");
  return out;
}

/* -P: the ports of -p, then every exposed port of the request (reg.yaml)
 * and of the templates, once each, on a free host port. */
static int
publish_all (const struct reg_create_options *o, const struct reg_closure *cl, char ***out,
             struct reg_error **err)
{
  if ((*out = reg_strv_dup (o->ports)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  size_t added = 0;
  for (int from = 0; from < 2; from++)
    for (char *const *v = from == 0 ? o->exposed : cl->expose; v && *v; v++)
      {
        char *port = exposed_port (*v, err);
        if (port == NULL)
          return -1;
        if (reg_strv_contains ((const char *const *)*out, port))
          {
            free (port);
            continue;
          }
        size_t n = reg_strv_len (*out);
        char **grown = realloc (*out, (n + 2) * sizeof (char *));
        if (grown == NULL)
          {
            free (port);
            return reg_error_set (err, ENOMEM, "out of memory");
          }
        grown[n] = port, grown[n + 1] = NULL, *out = grown;
        added++;
      }
  if (added == 0)
    return reg_error_set (err, EINVAL,
                          "create container: -P: no port to publish (neither reg.yaml's expose: "
                          "nor the templates' expose: declare one)");
  return 0;
}

/* The image's files into c's new or empty volumes (engine.h), under the
 * engine lock: two containers that mount one empty volume do not both
 * copy into it. */
static int
fill_volumes (struct reg_engine *e, const struct reg_container *c, const char *closure_digest,
              struct reg_error **err)
{
  bool any = false;
  for (size_t i = 0; i < c->n_mounts && !any; i++)
    any = c->mounts[i].type == REG_MOUNT_VOLUME;
  if (!any)
    return 0;
  pthread_mutex_lock (&e->lock);
  int ret = reg_engine_volumes_fill (e, c, closure_digest, err);
  pthread_mutex_unlock (&e->lock);
  return ret < 0 ? reg_error_prefix (err, "create container") : 0;
}

/* The base an app's environment is layered on (envgen.h): the closure of
 * what the container's one template requires, held; NULL when it has
 * several templates or one that requires none (or on an error: the full
 * environment is generated then, and the create reports what fails). */
static struct reg_closure_cache *
base_hold (struct reg_engine *e, char *const *refs)
{
  if (refs == NULL || refs[0] == NULL || refs[1] != NULL)
    return NULL;
  struct reg_template *t = NULL;
  if (reg_template_load (e->root, refs[0], &t, NULL) < 0)
    return NULL;
  struct reg_closure_cache *held = NULL;
  if (t->requires && t->requires[0])
    {
      pthread_mutex_lock (&e->lock);
      held = closure_hold (e, t->requires, NULL);
      pthread_mutex_unlock (&e->lock);
    }
  reg_template_free (t);
  return held;
}

int
reg_engine_container_create (struct reg_engine *e, const struct reg_create_options *o,
                             struct reg_container **out, struct reg_error **err)
{
  struct reg_container *c = reg_container_new ();
  if (c == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  int ret = reg_util_random_id (c->id, err);
  /* Held from before the container exists until its environment is
   * generated: no other operation sees it half made. */
  struct reg_lock *op = ret == 0 ? op_lock (e, c->id, "create", err) : NULL;
  if (op == NULL)
    ret = -1;
  struct reg_closure_cache *held = NULL;
  _cleanup_strv_ char **made = NULL;      /* volumes this create made */
  _cleanup_strv_ char **published = NULL; /* -P: the ports with the exposed ones */
  if (ret == 0)
    {
      pthread_mutex_lock (&e->lock);
      ret = check_create_options (e, o, err);
      if (ret == 0 && (held = closure_hold (e, o->templates, err)) == NULL)
        ret = -1;
      struct reg_create_options eff = *o;
      if (ret == 0 && o->publish_all)
        ret = publish_all (o, held->closure, &published, err);
      if (published)
        eff.ports = published;
      if (ret == 0)
        ret = reg_network_resolve (e->root, &e->net, &eff, &c->network_mode, err);
      if (ret == 0)
        ret = fill_container (e->store, c, &eff, held->closure, err);
      _cleanup_free_ char *env_path = reg_root_env (e->root, held ? held->closure->digest : "");
      bool generated = env_path && access (env_path, F_OK) == 0;
      c->state = generated ? REG_STATE_GENERATED : REG_STATE_GENERATING;
      if (ret == 0)
        ret = reg_engine_mounts_resolve (e, c, &made, err);
      if (ret == 0)
        ret = reg_container_create (e->root, c, err);
      if (ret < 0)
        reg_engine_volumes_unmake (e, made);
      pthread_mutex_unlock (&e->lock);
    }
  bool recorded = ret == 0;
  if (ret == 0 && c->state == REG_STATE_GENERATING)
    {
      /* Outside the engine's lock: other containers go on meanwhile;
       * envgen itself is safe against a concurrent generation. */
      _cleanup_free_ char *path = NULL;
      struct reg_closure_cache *base = base_hold (e, o->templates);
      ret = base ? reg_envgen_generate_layered (e->store, held->closure, base->closure, &e->lock,
                                                &path, err)
                 : reg_envgen_generate (e->store, held->closure, &path, err);
      closure_release (e, base);
      c->state = REG_STATE_GENERATED;
      if (ret == 0)
        ret = reg_container_save (e->root, c, err);
    }
  if (ret == 0)
    ret = fill_volumes (e, c, held->closure->digest, err);
  if (ret < 0 && recorded)
    {
      reg_container_destroy (e->root, c->id, NULL);
      pthread_mutex_lock (&e->lock);
      reg_engine_volumes_unmake (e, made);
      pthread_mutex_unlock (&e->lock);
    }
  closure_release (e, held);
  reg_lockset_unlock (e->ops, op);
  if (ret < 0)
    {
      reg_container_free (c);
      return -1;
    }
  for (size_t i = 0; made && made[i]; i++)
    reg_events_emit (e->root, "volume", "create", made[i], NULL);
  reg_events_container (e->root, c, "create", NULL, NULL);
  *out = c;
  return 0;
}

static int
network_link (struct reg_engine *e, const char *network, const char *ref, char *const *aliases,
              bool connect, struct reg_error **err)
{
  const char *verb = connect ? "connect" : "disconnect";
  struct reg_container *c = NULL;
  struct reg_lock *op = op_begin (e, ref, verb, &c, err);
  if (op == NULL)
    return -1;
  int ret = 0;
  if (!reg_state_live (c->state) || !reg_container_monitor_alive (c))
    ret = reg_error_set (err, EBUSY, "%s container %.12s: it is not running", verb, c->id);
  pthread_mutex_lock (&e->lock);
  if (ret == 0 && connect)
    ret = reg_network_connect (e->root, &e->net, network, c, aliases, err);
  else if (ret == 0)
    ret = reg_network_disconnect (e->root, network, c, err);
  pthread_mutex_unlock (&e->lock);
  reg_lockset_unlock (e->ops, op);
  if (ret == 0)
    reg_events_emit (e->root, "network", verb, network, json_pack ("{s:s}", "container", c->id));
  reg_container_free (c);
  return ret;
}

int
reg_engine_network_connect (struct reg_engine *e, const char *network, const char *ref,
                            char *const *aliases, struct reg_error **err)
{
  return network_link (e, network, ref, aliases, true, err);
}

int
reg_engine_network_disconnect (struct reg_engine *e, const char *network, const char *ref,
                               struct reg_error **err)
{
  return network_link (e, network, ref, NULL, false, err);
}

int
reg_engine_container_rename (struct reg_engine *e, const char *ref, const char *name,
                             struct reg_error **err)
{
  if (!reg_container_name_ok (name))
    return reg_error_set (err, EINVAL,
                          "rename: container name \"%s\": use letters, digits, '_', '.' and '-'",
                          name ? name : "");
  /* Its operation lock (not removed meanwhile), then the engine's short
   * lock (names, as at create). */
  struct reg_container *c = NULL;
  struct reg_lock *op = op_begin (e, ref, "rename", &c, err);
  if (op == NULL)
    return -1;
  pthread_mutex_lock (&e->lock);
  int ret = 0;
  _cleanup_free_ char *old = c->name ? strdup (c->name) : NULL;
  if (old && strcmp (old, name) == 0)
    ret = reg_error_set (err, EINVAL, "rename: container %.12s is already named \"%s\"", c->id,
                         name);
  if (ret == 0)
    ret = reg_container_rename (e->root, c->id, name, err);
  pthread_mutex_unlock (&e->lock);
  reg_lockset_unlock (e->ops, op);
  if (ret == 0)
    {
      free (c->name);
      c->name = strdup (name);
      reg_events_container (e->root, c, "rename", "oldName", old ? old : "");
    }
  reg_container_free (c);
  return ret;
}

struct lost
{
  pid_t monitor_pid;
  bool killed; /* processes were left in its cgroups and are gone now */
  bool left;   /* processes are still there */
};

/* What a container whose monitor is gone still holds on its bridge. Its
 * processes, unsupervised now, are killed: they hold its network
 * namespace, and so its veth, and its address is given back. */
static void
release_network (const char *root, const char *id)
{
  struct reg_container *c = NULL;
  if (reg_container_load (root, id, &c, NULL) < 0)
    return;
  if (c->net.ip[0] && !reg_container_monitor_alive (c))
    {
      reg_cgroup_kill_all (REG_CGROUP_FS, id, KILL_WAIT_S * 1000, NULL);
      reg_netrelease_recorded (root, c);
    }
  reg_container_free (c);
}

static int
mark_lost (struct reg_container *c, void *data, struct reg_error **err)
{
  const struct lost *l = data;
  if (reg_state_live (c->state) && !reg_container_monitor_alive (c))
    {
      c->state = REG_STATE_STOPPED;
      c->pid = c->monitor_pid = 0;
      c->exit_code = -1;
      free (c->error);
      c->error = NULL;
      if (asprintf (&c->error, "its monitor (pid %d) died without recording an exit status%s",
                    (int)l->monitor_pid,
                    l->left     ? "; processes are still left in its cgroups"
                    : l->killed ? "; the processes it left were killed"
                                : "")
          < 0)
        c->error = NULL;
      reg_util_now_rfc3339 (c->finished);
    }
  return 0;
}

/* A live state whose monitor is gone (killed, or the host rebooted): the
 * container's processes, reparented, would run untracked. Kill whatever
 * is left in its cgroups, remove them, and record the loss. When the
 * record cannot be written (a full disk), the corrected state is still
 * what the caller sees. */
static int
settle_lost (struct reg_engine *e, struct reg_container **cp, struct reg_error **err)
{
  struct reg_container *c = *cp;
  struct lost l = { c->monitor_pid, false, false };
  struct reg_cgroup *cg = NULL;
  if (reg_cgroup_open (REG_CGROUP_FS, c->id, &cg, NULL) == 0)
    {
      struct reg_error *kill_err = NULL;
      l.killed = true;
      if (reg_cgroup_kill_all (REG_CGROUP_FS, c->id, KILL_WAIT_S * 1000, &kill_err) < 0)
        {
          fprintf (stderr, "regd: container %.12s: %s\n", c->id, kill_err->msg);
          reg_error_free (kill_err);
          l.left = true;
        }
      else
        reg_cgroup_remove_by_id (REG_CGROUP_FS, c->id);
      reg_cgroup_free (cg);
    }
  struct reg_error *save_err = NULL;
  if (reg_container_update (e->root, c->id, mark_lost, &l, &save_err) == 0)
    {
      release_network (e->root, c->id);
      struct reg_container *now = NULL;
      if (reg_container_load (e->root, c->id, &now, err) < 0)
        return -1;
      reg_container_free (c);
      *cp = now;
      return 0;
    }
  if (save_err->code == ENOENT)
    {
      reg_error_free (save_err);
      return reg_error_set (err, ENOENT, "container %.12s: not found", c->id);
    }
  fprintf (stderr, "regd: container %.12s: record a lost monitor: %s\n", c->id, save_err->msg);
  reg_error_free (save_err);
  return mark_lost (c, &l, err);
}

int
reg_engine_container_get (struct reg_engine *e, const char *ref, struct reg_container **out,
                          struct reg_error **err)
{
  char id[65];
  if (reg_container_find (e->root, ref, id, err) < 0)
    return -1;
  struct reg_container *c = NULL;
  if (reg_container_load (e->root, id, &c, err) < 0)
    return -1;
  if (reg_state_live (c->state) && !reg_container_monitor_alive (c) && settle_lost (e, &c, err) < 0)
    {
      reg_container_free (c);
      return -1;
    }
  *out = c;
  return 0;
}

int
reg_engine_container_list (struct reg_engine *e, bool all, bool size, json_t **out,
                           struct reg_error **err)
{
  _cleanup_strv_ char **ids = NULL;
  if (reg_container_list (e->root, &ids, err) < 0)
    return -1;
  json_t *arr = json_array ();
  for (size_t i = 0; arr && ids[i]; i++)
    {
      struct reg_container *c = NULL;
      struct reg_error *get_err = NULL;
      if (reg_engine_container_get (e, ids[i], &c, &get_err) < 0)
        {
          /* Removed meanwhile, or damaged: listed as dead, so rm -f can find it. */
          if (get_err->code == EBADMSG && all)
            json_array_append_new (arr, json_pack ("{s:s, s:{s:s, s:s}}", "Id", ids[i], "State",
                                                   "Status", "dead", "Error", get_err->msg));
          reg_error_free (get_err);
          continue;
        }
      if (all || reg_state_live (c->state))
        {
          json_t *j = reg_container_to_json (c);
          _cleanup_free_ char *upper = size ? reg_container_layer_file (e->root, c, "upper") : NULL;
          if (j && upper) /* ps -s: what the container wrote */
            json_object_set_new (j, "SizeRw",
                                 json_integer ((json_int_t)reg_util_disk_usage (upper)));
          json_array_append_new (arr, j);
        }
      reg_container_free (c);
    }
  if (arr == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  *out = arr;
  return 0;
}

static int set_stop_requested (struct reg_engine *e, const char *id, bool stop,
                               struct reg_error **err);

struct reg_start_pending
{
  struct reg_engine *e;
  struct reg_lock *op;
  struct reg_container *c;
  int saving_fd;
};

int
reg_engine_start_pending_fd (const struct reg_start_pending *p)
{
  return p->saving_fd;
}

/* The end of a start: the operation lock released. */
static void
start_end (struct reg_engine *e, struct reg_lock *op, struct reg_container *c)
{
  if (op)
    reg_lockset_unlock (e->ops, op);
  reg_container_free (c);
}

/* The container ran but its state never said so: its monitor is killing
 * it (the save failed) or died. Nothing may be left untracked: what runs
 * in its cgroups is killed, and a --rm container goes, as after any
 * failed start. */
static void
start_unrecorded (struct reg_engine *e, const char *id, bool auto_remove)
{
  reg_cgroup_kill_all (REG_CGROUP_FS, id, KILL_WAIT_S * 1000, NULL);
  if (auto_remove)
    reg_engine_container_remove (e, id, true, true, NULL); /* and its anonymous volumes */
}

/* Wait for the monitor's word that the running state is saved; then as
 * start_end. */
static int
start_settle (struct reg_start_pending *p, struct reg_start_result *result)
{
  char id[65];
  snprintf (id, sizeof id, "%s", p->c->id);
  bool auto_remove = p->c->auto_remove;
  int ret = reg_monitor_start_saved (p->saving_fd, id, result);
  if (ret == 0)
    reg_timing_mark (id, "regd.saved");
  start_end (p->e, p->op, p->c);
  if (ret < 0)
    start_unrecorded (p->e, id, auto_remove);
  return ret;
}

int
reg_engine_start_settle (struct reg_start_pending *p, struct reg_start_result *result)
{
  int ret = start_settle (p, result);
  free (p);
  return ret;
}

/* pending NULL: returns once the running state is saved; else *pending may
 * be the start's tail (reg_engine_container_run_pending). */
static int
container_start (struct reg_engine *e, const char *ref, int attach_fd,
                 struct reg_start_result *result, struct reg_start_pending **pending)
{
  struct reg_container *c = NULL;
  struct reg_error *err = NULL;
  int exit_code = 0; /* refused before a start was tried */
  struct reg_lock *op = op_begin (e, ref, "start", &c, &err);
  int ret = op ? 0 : -1;
  if (ret == 0 && c->state != REG_STATE_GENERATED && c->state != REG_STATE_STOPPED)
    ret = reg_error_set (&err, EBUSY, "container %.12s: cannot start: it is %s", c->id,
                         reg_container_state_name (c->state));
  if (ret == 0 && (c->stop_requested || c->restart_count))
    ret = set_stop_requested (e, c->id, false, &err);
  /* Not live, so any cgroup of this id is a leftover (a killed monitor). */
  if (ret == 0)
    reg_cgroup_remove_by_id (REG_CGROUP_FS, c->id);
  int netns = -1;
  if (ret == 0 && (ret = reg_container_layer_ensure (e->root, c, &err)) < 0)
    exit_code = 125;
  if (ret == 0)
    reg_timing_mark (c->id, "regd.layer.ready");
  if (ret == 0 && (ret = reg_network_prepare (e->root, &e->net, c->id, &netns, &err)) < 0)
    exit_code = 125;
  if (ret == 0)
    reg_timing_mark (c->id, "regd.network.ready");
  if (ret < 0)
    reg_proto_result_of_error (result, exit_code, err);
  reg_error_free (err);
  /* Until the monitor has recorded "running" (or the failure), every other
   * operation on this container waits. */
  int saving = -1;
  if (ret == 0)
    ret = e->monitor_start (e->root, c, attach_fd, netns, result, &saving);
  if (ret == 0)
    reg_timing_mark (c->id, "regd.monitor.started");
  if (netns >= 0)
    close (netns); /* the monitor holds its own */
  if (ret < 0 && netns >= 0)
    release_network (e->root, c->id);
  if (ret == 0 && saving >= 0)
    {
      struct reg_start_pending here = { e, op, c, saving };
      struct reg_start_pending *p = pending ? malloc (sizeof *p) : NULL;
      if (p == NULL)
        return start_settle (&here, result);
      *p = here;
      *pending = p;
      return 0;
    }
  start_end (e, op, c);
  return ret; /* its monitor logged "start" (events.h) */
}

int
reg_engine_container_start (struct reg_engine *e, const char *ref, int attach_fd,
                            struct reg_start_result *result)
{
  return container_start (e, ref, attach_fd, result, NULL);
}

static int
container_run (struct reg_engine *e, const struct reg_create_options *o, int attach_fd,
               struct reg_container **out, struct reg_start_result *result,
               struct reg_start_pending **pending)
{
  struct reg_container *c = NULL;
  struct reg_error *err = NULL;
  *out = NULL;
  if (pending)
    *pending = NULL;
  if (reg_engine_container_create (e, o, &c, &err) < 0)
    {
      reg_proto_result_of_error (result, 0, err);
      reg_error_free (err);
      return -1;
    }
  reg_timing_mark (c->id, "regd.created");
  if (attach_fd >= 0)
    reg_proto_frame_write (attach_fd, REG_FRAME_ID, c->id, strlen (c->id));
  reg_timing_mark (c->id, "regd.start");
  if (container_start (e, c->id, attach_fd, result, pending) < 0)
    {
      if (c->auto_remove) /* its anonymous volumes too, as the monitor's --rm */
        reg_engine_container_remove (e, c->id, true, true, NULL);
      reg_container_free (c);
      return -1;
    }
  *out = c;
  return 0;
}

int
reg_engine_container_run (struct reg_engine *e, const struct reg_create_options *o, int attach_fd,
                          struct reg_container **out, struct reg_start_result *result)
{
  return container_run (e, o, attach_fd, out, result, NULL);
}

int
reg_engine_container_run_pending (struct reg_engine *e, const struct reg_create_options *o,
                                  int attach_fd, struct reg_container **out,
                                  struct reg_start_result *result,
                                  struct reg_start_pending **pending)
{
  return container_run (e, o, attach_fd, out, result, pending);
}

/* Wait up to timeout_s for the monitor to exit. 1 = exited, 0 = timed out. */
static int
wait_monitor (int pidfd, int timeout_s)
{
  struct pollfd p = { pidfd, POLLIN, 0 };
  int n;
  do
    n = poll (&p, 1, timeout_s * 1000);
  while (n < 0 && errno == EINTR);
  return n > 0;
}

static int
request_stop (struct reg_container *c, void *data, struct reg_error **err)
{
  c->stop_requested = *(bool *)data;
  if (c->stop_requested)
    c->restart_count = 0;
  return 0;
}

/* A user stop: no restart policy brings it back (until started again). */
static int
set_stop_requested (struct reg_engine *e, const char *id, bool stop, struct reg_error **err)
{
  return reg_container_update (e->root, id, request_stop, &stop, err);
}

/* Signal the container and wait for its monitor to record the exit. The
 * caller has set stop_requested, so a restarting container's monitor ends
 * its back-off and exits too. */
static int
kill_and_wait (const struct reg_container *c, int first_signal, int timeout_s,
               struct reg_error **err)
{
  _cleanup_close_ int pidfd = (int)syscall (SYS_pidfd_open, c->monitor_pid, 0);
  if (pidfd < 0 || !reg_container_monitor_alive (c))
    return 0;      /* already gone */
  if (c->pid <= 0) /* restarting: no process, the monitor sees the request */
    return wait_monitor (pidfd, timeout_s + KILL_WAIT_S)
               ? 0
               : reg_error_set (err, ETIMEDOUT, "container %.12s: monitor did not stop", c->id);
  if (kill (c->pid, first_signal) < 0 && errno != ESRCH)
    return reg_error_sys (err, errno, "container %.12s: signal pid %d", c->id, (int)c->pid);
  /* A paused container takes its signal once thawed. */
  if (c->state == REG_STATE_PAUSED)
    reg_cgroup_freeze (REG_CGROUP_FS, c->id, false, NULL);
  if (first_signal != SIGKILL && wait_monitor (pidfd, timeout_s))
    return 0;
  /* Every process of the container, not only its first (cgroup.h). */
  kill (c->pid, SIGKILL);
  reg_cgroup_kill_all (REG_CGROUP_FS, c->id, KILL_WAIT_S * 1000, NULL);
  if (wait_monitor (pidfd, KILL_WAIT_S))
    return 0;
  return reg_error_set (err, ETIMEDOUT, "container %.12s: still running %d s after SIGKILL", c->id,
                        KILL_WAIT_S);
}

int
reg_engine_container_stop (struct reg_engine *e, const char *ref, int timeout_s,
                           struct reg_error **err)
{
  struct reg_container *c = NULL;
  struct reg_lock *op = op_begin (e, ref, "stop", &c, err);
  if (op == NULL)
    return -1;
  /* Stopping what is not running is done already (as in Docker). */
  if (!reg_state_live (c->state))
    {
      reg_lockset_unlock (e->ops, op);
      reg_container_free (c);
      return 0;
    }
  int ret = set_stop_requested (e, c->id, true, err);
  int sig = c->stop_signal > 0 ? c->stop_signal : SIGTERM;
  if (timeout_s < 0)
    timeout_s = c->stop_timeout >= 0 ? c->stop_timeout : REG_STOP_TIMEOUT;
  if (ret == 0)
    ret = kill_and_wait (c, sig, timeout_s, err);
  if (ret == 0)
    reg_events_container (e->root, c, "stop", NULL, NULL);
  reg_lockset_unlock (e->ops, op);
  reg_container_free (c);
  return ret;
}

int
reg_engine_container_kill (struct reg_engine *e, const char *ref, int sig, struct reg_error **err)
{
  struct reg_container *c = NULL;
  struct reg_lock *op = op_begin (e, ref, "kill", &c, err);
  if (op == NULL)
    return -1;
  int ret = 0;
  _cleanup_close_ int pidfd = -1;
  if (c->state != REG_STATE_RUNNING)
    ret = reg_error_set (err, EBUSY, "container %.12s: cannot kill: it is %s", c->id,
                         reg_container_state_name (c->state));
  /* The monitor is the container's parent: while it lives, the pid is the
   * container's and not a recycled one. */
  else if ((pidfd = (int)syscall (SYS_pidfd_open, c->pid, 0)) < 0
           || !reg_container_monitor_alive (c))
    ret = reg_error_set (err, EBUSY, "container %.12s: cannot kill: it has just exited", c->id);
  else if (syscall (SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
    ret = reg_error_sys (err, errno, "container %.12s: send signal %d", c->id, sig);
  char signal[16];
  snprintf (signal, sizeof signal, "%d", sig);
  if (ret == 0)
    reg_events_container (e->root, c, "kill", "signal", signal);
  reg_lockset_unlock (e->ops, op);
  reg_container_free (c);
  return ret;
}

int
reg_engine_container_stats (struct reg_engine *e, const char *ref, struct reg_cgroup_stats *out,
                            struct reg_error **err)
{
  struct reg_container *c = NULL;
  if (reg_engine_container_get (e, ref, &c, err) < 0)
    return -1;
  int ret = 0;
  struct reg_cgroup *cg = NULL;
  if (!reg_state_live (c->state))
    ret = reg_error_set (err, EBUSY, "container %.12s: no stats: it is %s", c->id,
                         reg_container_state_name (c->state));
  if (ret == 0)
    ret = reg_cgroup_open (REG_CGROUP_FS, c->id, &cg, err);
  if (ret == 0)
    ret = reg_cgroup_read_stats (cg, out, err);
  reg_cgroup_free (cg);
  reg_container_free (c);
  return ret;
}

static int
store_limits (struct reg_container *c, void *data, struct reg_error **err)
{
  const struct reg_limits *l = data;
  char *cpus = l->cpuset_cpus ? strdup (l->cpuset_cpus) : NULL;
  if (l->cpuset_cpus && cpus == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  free (c->limits.cpuset_cpus);
  c->limits = *l;
  c->limits.cpuset_cpus = cpus;
  return 0;
}

int
reg_engine_container_update (struct reg_engine *e, const char *ref, const struct reg_limits *l,
                             struct reg_error **err)
{
  struct reg_container *c = NULL;
  struct reg_lock *op = op_begin (e, ref, "update", &c, err);
  int ret = op ? 0 : -1;
  if (ret == 0 && reg_limit_check (l, err) < 0)
    ret = reg_error_prefix (err, "update %.12s", c->id);
  struct reg_cgroup *cg = NULL;
  if (ret == 0 && reg_state_live (c->state))
    {
      ret = reg_cgroup_open (REG_CGROUP_FS, c->id, &cg, err);
      if (ret == 0)
        ret = reg_cgroup_update (cg, l, err);
    }
  if (ret == 0)
    ret = reg_container_update (e->root, c->id, store_limits, (void *)l, err);
  reg_cgroup_free (cg);
  reg_lockset_unlock (e->ops, op);
  reg_container_free (c);
  return ret;
}

int
reg_engine_container_pids (struct reg_engine *e, const char *ref, pid_t **pids, size_t *n,
                           struct reg_error **err)
{
  *pids = NULL;
  *n = 0;
  struct reg_container *c = NULL;
  if (reg_engine_container_get (e, ref, &c, err) < 0)
    return -1;
  int ret = 0;
  struct reg_cgroup *cg = NULL;
  if (!reg_state_live (c->state))
    ret = reg_error_set (err, EBUSY, "container %.12s: no processes: it is %s", c->id,
                         reg_container_state_name (c->state));
  if (ret == 0)
    ret = reg_cgroup_open (REG_CGROUP_FS, c->id, &cg, err);
  if (ret == 0)
    ret = reg_cgroup_pids (cg, pids, n, err);
  reg_cgroup_free (cg);
  reg_container_free (c);
  return ret;
}

struct install_update
{
  char **templates;
  const char *closure;
  char **made;          /* "REF\tk:PATH" to append, or NULL */
  const char *drop_ref; /* uninstall: inserted lines of this ref go */
  enum reg_state state; /* the state to leave it in */
};

static int
apply_install (struct reg_container *c, void *data, struct reg_error **err)
{
  struct install_update *u = data;
  if (u->templates)
    {
      char **t = reg_strv_dup (u->templates);
      if (t == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      reg_strv_free (c->templates);
      c->templates = t;
      snprintf (c->closure, sizeof c->closure, "%s", u->closure);
    }
  size_t n = reg_strv_len (c->inserted), add = reg_strv_len (u->made);
  char **v = calloc (n + add + 1, sizeof *v);
  if (v == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  size_t k = 0;
  size_t dl = u->drop_ref ? strlen (u->drop_ref) : 0;
  for (size_t i = 0; i < n; i++)
    if (!(u->drop_ref && strncmp (c->inserted[i], u->drop_ref, dl) == 0
          && c->inserted[i][dl] == '\t'))
      v[k++] = strdup (c->inserted[i]);
  for (size_t i = 0; i < add; i++)
    v[k++] = strdup (u->made[i]);
  reg_strv_free (c->inserted);
  c->inserted = v;
  if (reg_state_live (c->state))
    c->state = u->state;
  return 0;
}

static int
set_state_if_live (struct reg_container *c, void *data, struct reg_error **err)
{
  if (reg_state_live (c->state))
    c->state = *(enum reg_state *)data;
  return 0;
}

/* Entries of `b` whose path `a` does not have (both sorted by path). */
static struct reg_entry *
added_entries (const struct reg_closure *a, const struct reg_closure *b, size_t *n)
{
  struct reg_entry *out = calloc (b->n_entries ? b->n_entries : 1, sizeof *out);
  *n = 0;
  size_t i = 0;
  for (size_t j = 0; out && j < b->n_entries; j++)
    {
      while (i < a->n_entries && strcmp (a->entries[i].path, b->entries[j].path) < 0)
        i++;
      if (i < a->n_entries && strcmp (a->entries[i].path, b->entries[j].path) == 0)
        continue;
      out[(*n)++] = b->entries[j]; /* borrowed strings */
    }
  return out;
}

/* ---- the install journal ----
 * A live install changes a running container's mount namespace and upper
 * layer step by step; a regd killed meanwhile must not leave it torn. Before
 * the first step, install.json records the intent (the operation, the
 * template, the template list and closure it leads to, and for an uninstall
 * the steps to take away); the helper appends each step it makes to
 * install.made as it makes it. The journal goes once the state records the
 * outcome. At regd's start (install_recover): an install not recorded is
 * rolled back (its steps undone), an uninstall is rolled forward. */

static int
journal_begin (struct reg_engine *e, const char *id, bool uninstall, const char *tmpl,
               char *const *templates, const char *closure, char *const *lines, int *fd,
               struct reg_error **err)
{
  _cleanup_free_ char *intent = reg_root_container_file (e->root, id, "install.json");
  _cleanup_free_ char *made = reg_root_container_file (e->root, id, "install.made");
  json_t *j = json_pack ("{s:s, s:s, s:o, s:s, s:o}", "op", uninstall ? "uninstall" : "install",
                         "template", tmpl, "templates", reg_json_from_strv (templates), "closure",
                         closure, "steps", reg_json_from_strv (lines));
  _cleanup_free_ char *text = j ? json_dumps (j, JSON_COMPACT) : NULL;
  json_decref (j);
  if (intent == NULL || made == NULL || text == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_util_write_atomic (intent, text, strlen (text), 0600, err) < 0)
    return reg_error_prefix (err, "container %.12s: install journal", id);
  *fd = open (made, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (*fd < 0)
    {
      reg_error_sys (err, errno, "container %.12s: install journal %s", id, made);
      unlink (intent);
      return -1;
    }
  return 0;
}

static void
journal_end (const char *root, const char *id)
{
  _cleanup_free_ char *intent = reg_root_container_file (root, id, "install.json");
  _cleanup_free_ char *made = reg_root_container_file (root, id, "install.made");
  if (intent)
    unlink (intent);
  if (made)
    unlink (made);
}

/* The steps install.made recorded, as "k:PATH" lines. */
static char **
journal_steps (const char *root, const char *id)
{
  _cleanup_free_ char *path = reg_root_container_file (root, id, "install.made");
  _cleanup_free_ char *text = NULL;
  if (path == NULL || reg_util_read_file (path, 64 << 20, &text, NULL, NULL) < 0)
    return calloc (1, sizeof (char *));
  size_t n = 0;
  for (char *p = text; *p; p++)
    n += *p == '\n';
  char **v = calloc (n + 1, sizeof *v);
  char *save = NULL;
  size_t k = 0;
  for (char *line = v ? strtok_r (text, "\n", &save) : NULL; line && k < n;
       line = strtok_r (NULL, "\n", &save))
    if (line[0] && line[1] == ':') /* a torn last line is not a step */
      v[k++] = strdup (line);
  return v;
}

/* Take steps away: in the live container's mount namespace, or, when it
 * has stopped since, the placeholders left in its upper layer. */
static void
undo_steps (struct reg_engine *e, const struct reg_container *c, char *const *steps)
{
  struct reg_error *ue = NULL;
  if (reg_state_live (c->state) && reg_container_monitor_alive (c) && c->pid > 0)
    {
      if (reg_insert_remove (c->pid, steps, &ue) < 0)
        {
          fprintf (stderr, "regd: container %.12s: undo an interrupted install: %s\n", c->id,
                   ue->msg);
          reg_error_free (ue);
        }
      return;
    }
  _cleanup_free_ char *upper = reg_container_layer_file (e->root, c, "upper");
  if (upper)
    reg_container_layer_clean (upper, steps);
}

/* *cp is reloaded when the journal changed it. */
static void
install_recover (struct reg_engine *e, struct reg_container **cp)
{
  struct reg_container *c = *cp;
  _cleanup_free_ char *path = reg_root_container_file (e->root, c->id, "install.json");
  _cleanup_free_ char *text = NULL;
  bool journaled = path && reg_util_read_file (path, 1 << 24, &text, NULL, NULL) == 0;
  if (!journaled && c->state != REG_STATE_INSERTING)
    return; /* no install was in flight */
  json_t *j = journaled ? json_loads (text, 0, NULL) : NULL;
  const char *op = j ? json_string_value (json_object_get (j, "op")) : NULL;
  const char *tmpl = j ? json_string_value (json_object_get (j, "template")) : NULL;
  const char *closure = j ? json_string_value (json_object_get (j, "closure")) : NULL;
  bool uninstall = op && strcmp (op, "uninstall") == 0;
  bool has = tmpl && reg_strv_contains ((const char *const *)c->templates, tmpl);
  enum reg_state running = REG_STATE_RUNNING;
  if (tmpl && closure && (uninstall ? has : !has)) /* not recorded: not done */
    {
      _cleanup_strv_ char **made = journal_steps (e->root, c->id);
      _cleanup_strv_ char **steps = NULL, **templates = NULL;
      reg_json_strv (j, "steps", "install journal", &steps, NULL);
      reg_json_strv (j, "templates", "install journal", &templates, NULL);
      undo_steps (e, c, uninstall ? steps : made);
      fprintf (stderr, "regd: container %.12s: interrupted %s of %s %s\n", c->id, op, tmpl,
               uninstall ? "finished" : "rolled back");
      if (uninstall && templates)
        {
          struct install_update u = { templates, closure, NULL, tmpl, REG_STATE_RUNNING };
          reg_container_update (e->root, c->id, apply_install, &u, NULL);
        }
    }
  if (c->state == REG_STATE_INSERTING)
    reg_container_update (e->root, c->id, set_state_if_live, &running, NULL);
  json_decref (j);
  journal_end (e->root, c->id);
  struct reg_container *now = NULL;
  if (reg_container_load (e->root, c->id, &now, NULL) == 0)
    {
      reg_container_free (c);
      *cp = now;
    }
}

int
reg_engine_container_install (struct reg_engine *e, const char *ref, const char *tmpl,
                              bool uninstall, struct reg_error **err)
{
  const char *verb = uninstall ? "uninstall" : "install";
  struct reg_container *c = NULL;
  struct reg_template *t = NULL;
  _cleanup_strv_ char **refs = NULL, **made = NULL, **lines = NULL;
  struct reg_lock *op = op_begin (e, ref, verb, &c, err);
  int ret = op ? 0 : -1;
  if (ret == 0 && c->state != REG_STATE_GENERATED && c->state != REG_STATE_STOPPED
      && c->state != REG_STATE_RUNNING)
    ret = reg_error_set (err, EBUSY, "container %.12s: cannot %s: it is %s", c->id, verb,
                         reg_container_state_name (c->state));
  if (ret == 0)
    ret = reg_template_load (e->root, tmpl, &t, err);
  size_t nt = ret == 0 ? reg_strv_len (c->templates) : 0;
  bool present = false;
  for (size_t i = 0; ret == 0 && i < nt; i++)
    present = present || strcmp (c->templates[i], tmpl) == 0;
  if (ret == 0 && !uninstall && present)
    ret = reg_error_set (err, EEXIST, "container %.12s: %s is already installed", c->id, tmpl);
  if (ret == 0 && uninstall && !present)
    ret = reg_error_set (err, ENOENT, "container %.12s: %s is not installed", c->id, tmpl);
  if (ret == 0 && uninstall && nt == 1)
    ret = reg_error_set (err, EBUSY, "container %.12s: %s is its only template", c->id, tmpl);
  /* Uninstall: refused while another of its templates needs this one. */
  for (size_t i = 0; ret == 0 && uninstall && i < nt; i++)
    {
      struct reg_template *o = NULL;
      if (strcmp (c->templates[i], tmpl) == 0
          || reg_template_load (e->root, c->templates[i], &o, NULL) < 0)
        continue;
      for (size_t k = 0; ret == 0 && o->requires && o->requires[k]; k++)
        if (strcmp (o->requires[k], tmpl) == 0)
          ret = reg_error_set (err, EBUSY, "container %.12s: cannot uninstall %s: %s requires it",
                               c->id, tmpl, c->templates[i]);
      reg_template_free (o);
    }
  if (ret == 0 && (refs = calloc (nt + 2, sizeof (char *))) == NULL)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  for (size_t i = 0, k = 0; ret == 0 && i < nt; i++)
    if (!uninstall || strcmp (c->templates[i], tmpl) != 0)
      refs[k++] = strdup (c->templates[i]);
  if (ret == 0 && !uninstall)
    refs[nt] = strdup (tmpl);
  struct reg_closure_cache *held_now = NULL, *held_next = NULL;
  if (ret == 0)
    {
      pthread_mutex_lock (&e->lock);
      if ((held_now = closure_hold (e, c->templates, err)) == NULL
          || (held_next = closure_hold (e, refs, err)) == NULL)
        ret = reg_error_prefix (err, "container %.12s: %s %s", c->id, verb, tmpl);
      pthread_mutex_unlock (&e->lock);
    }
  const struct reg_closure *now = held_now ? held_now->closure : NULL;
  const struct reg_closure *next = held_next ? held_next->closure : NULL;
  _cleanup_free_ char *env = NULL;
  if (ret == 0 && reg_envgen_generate (e->store, next, &env, err) < 0)
    ret = reg_error_prefix (err, "container %.12s: %s %s", c->id, verb, tmpl);
  bool live = ret == 0 && c->state == REG_STATE_RUNNING;
  if (live && uninstall)
    {
      /* Only what a live install put there can go while it runs. */
      size_t dl = strlen (tmpl), n = 0;
      lines = calloc (reg_strv_len (c->inserted) + 1, sizeof (char *));
      for (size_t i = 0; lines && c->inserted && c->inserted[i]; i++)
        if (strncmp (c->inserted[i], tmpl, dl) == 0 && c->inserted[i][dl] == '\t')
          lines[n++] = strdup (c->inserted[i] + dl + 1);
      if (n == 0)
        ret = reg_error_set (err, EBUSY,
                             "container %.12s: %s came with its environment at start; stop the "
                             "container to uninstall it",
                             c->id, tmpl);
    }
  _cleanup_close_ int journal_fd = -1;
  if (live && ret == 0)
    ret = journal_begin (e, c->id, uninstall, tmpl, refs, next->digest, lines, &journal_fd, err);
  if (live && ret == 0)
    {
      enum reg_state inserting = REG_STATE_INSERTING;
      ret = reg_container_update (e->root, c->id, set_state_if_live, &inserting, err);
      if (ret == 0 && !uninstall)
        {
          size_t n = 0;
          struct reg_entry *add = added_entries (now, next, &n);
          ret = add ? reg_insert_apply (e->store, c->pid, add, n, journal_fd, &made, err)
                    : reg_error_set (err, ENOMEM, "out of memory");
          free (add);
          for (size_t i = 0; ret == 0 && made && made[i]; i++)
            {
              char *l = NULL;
              if (asprintf (&l, "%s\t%s", tmpl, made[i]) < 0)
                l = NULL;
              free (made[i]);
              made[i] = l;
            }
        }
      else if (ret == 0)
        ret = reg_insert_remove (c->pid, lines, err);
      if (ret < 0)
        {
          enum reg_state running = REG_STATE_RUNNING;
          reg_container_update (e->root, c->id, set_state_if_live, &running, NULL);
          reg_error_prefix (err, "container %.12s: %s %s (nothing changed)", c->id, verb, tmpl);
        }
    }
  if (ret == 0)
    {
      struct install_update u
          = { refs, next->digest, made, uninstall ? tmpl : NULL, REG_STATE_RUNNING };
      ret = reg_container_update (e->root, c->id, apply_install, &u, err);
    }
  if (journal_fd >= 0)
    journal_end (e->root, c->id); /* done, or undone above */
  closure_release (e, held_now);
  closure_release (e, held_next);
  reg_lockset_unlock (e->ops, op);
  reg_template_free (t);
  reg_container_free (c);
  return ret;
}

static int
set_paused (struct reg_container *c, void *data, struct reg_error **err)
{
  bool pause = *(bool *)data;
  if (c->state != (pause ? REG_STATE_RUNNING : REG_STATE_PAUSED))
    return reg_error_set (err, EBUSY, "container %.12s: cannot %s: it is %s", c->id,
                          pause ? "pause" : "unpause", reg_container_state_name (c->state));
  c->state = pause ? REG_STATE_PAUSED : REG_STATE_RUNNING;
  return 0;
}

int
reg_engine_container_pause (struct reg_engine *e, const char *ref, bool pause,
                            struct reg_error **err)
{
  struct reg_container *c = NULL;
  struct reg_lock *op = op_begin (e, ref, pause ? "pause" : "unpause", &c, err);
  int ret = op ? 0 : -1;
  if (ret == 0 && c->state != (pause ? REG_STATE_RUNNING : REG_STATE_PAUSED))
    ret = reg_error_set (err, EBUSY, "container %.12s: cannot %s: it is %s", c->id,
                         pause ? "pause" : "unpause", reg_container_state_name (c->state));
  if (ret == 0)
    ret = reg_cgroup_freeze (REG_CGROUP_FS, c->id, pause, err);
  if (ret == 0 && reg_container_update (e->root, c->id, set_paused, &pause, err) < 0)
    {
      /* The container exited meanwhile, or the state could not be saved:
       * never leave it frozen behind a state that says otherwise. */
      if (pause)
        reg_cgroup_freeze (REG_CGROUP_FS, c->id, false, NULL);
      ret = -1;
    }
  if (ret == 0)
    reg_events_container (e->root, c, pause ? "pause" : "unpause", NULL, NULL);
  reg_lockset_unlock (e->ops, op);
  reg_container_free (c);
  return ret;
}

int
reg_engine_container_wait (struct reg_engine *e, const char *ref, int *exit_code,
                           struct reg_error **err)
{
  struct reg_container *c = NULL;
  if (reg_engine_container_get (e, ref, &c, err) < 0)
    return -1;
  char id[65];
  snprintf (id, sizeof id, "%s", c->id);
  if (reg_state_live (c->state))
    {
      _cleanup_close_ int pidfd = (int)syscall (SYS_pidfd_open, c->monitor_pid, 0);
      if (pidfd >= 0 && reg_container_monitor_alive (c))
        while (!wait_monitor (pidfd, 3600))
          ;
      reg_container_free (c);
      c = NULL;
      if (reg_engine_container_get (e, id, &c, err) < 0)
        return reg_error_prefix (err, "wait: the container was removed when it exited");
    }
  int ret = 0;
  if (c->state == REG_STATE_STOPPED)
    *exit_code = c->exit_code;
  else
    ret = reg_error_set (err, EBUSY, "container %.12s: cannot wait: it is %s and was never started",
                         c->id, reg_container_state_name (c->state));
  reg_container_free (c);
  return ret;
}

/* rm -f of a container whose state file cannot be read: nothing about it is
 * trusted but its id. Whatever runs in its cgroups is killed, and its
 * cgroups, name links and directory are removed. */
static int
remove_damaged (struct reg_engine *e, const char *id, struct reg_error **err)
{
  struct reg_error *kill_err = NULL;
  if (reg_cgroup_kill_all (REG_CGROUP_FS, id, KILL_WAIT_S * 1000, &kill_err) < 0)
    {
      reg_error_free (kill_err);
      return reg_error_set (err, EBUSY, "container %.12s: processes still running in its cgroups",
                            id);
    }
  reg_cgroup_remove_by_id (REG_CGROUP_FS, id);
  return reg_container_destroy (e->root, id, err);
}

int
reg_engine_container_remove (struct reg_engine *e, const char *ref, bool force, bool volumes,
                             struct reg_error **err)
{
  char id[65];
  if (reg_container_find (e->root, ref, id, err) < 0)
    return -1;
  struct reg_lock *op = op_lock (e, id, "remove", err);
  if (op == NULL)
    return -1;
  struct reg_container *c = NULL;
  struct reg_error *get_err = NULL;
  int ret = 0;
  if (reg_engine_container_get (e, id, &c, &get_err) < 0)
    {
      if (force && get_err->code == EBADMSG)
        ret = remove_damaged (e, id, err);
      else
        {
          ret = -1;
          if (err)
            *err = reg_steal (&get_err);
        }
      reg_error_free (get_err);
      reg_lockset_unlock (e->ops, op);
      return ret;
    }
  if (reg_state_live (c->state) && !force)
    ret = reg_error_set (err, EBUSY,
                         "container %.12s: cannot remove: it is running (stop it first, or use "
                         "rm -f)",
                         c->id);
  if (ret == 0 && reg_state_live (c->state))
    ret = set_stop_requested (e, c->id, true, err);
  if (ret == 0 && reg_state_live (c->state))
    ret = kill_and_wait (c, SIGKILL, KILL_WAIT_S, err);
  /* With --rm the monitor may have removed it already. */
  if (ret == 0)
    {
      /* Normally gone with the monitor; left only if a monitor was killed. */
      reg_cgroup_remove_by_id (REG_CGROUP_FS, c->id);
      release_network (e->root, c->id);
      _cleanup_free_ char *dir = reg_root_container (e->root, c->id);
      if (dir && access (dir, F_OK) == 0
          && (ret = reg_container_destroy (e->root, c->id, err)) == 0)
        reg_events_container (e->root, c, "destroy", NULL, NULL);
      if (ret == 0 && volumes)
        reg_engine_volumes_remove_anonymous (e, c);
    }
  reg_lockset_unlock (e->ops, op);
  reg_container_free (c);
  return ret;
}

/* ---- system ---- */

static uint64_t
count_dir (const char *root, enum reg_root_place place)
{
  _cleanup_free_ char *path = reg_root_path (root, place, NULL, NULL);
  if (path == NULL)
    return 0;
  DIR *d = opendir (path);
  if (d == NULL)
    return 0;
  uint64_t n = 0;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (de->d_name[0] != '.')
      n++;
  closedir (d);
  return n;
}

/* What a prune would take (reg_df). Not strict: an unreadable template's
 * objects count as reclaimable, which a prune would refuse. */
static int
df_reclaimable (struct reg_engine *e, struct reg_df *out, struct reg_error **err)
{
  struct reg_gc_refs *r = NULL;
  struct reg_gc_objects o = { 0 };
  int ret = reg_gc_refs_templates (e->root, false, &r, err);
  if (ret == 0)
    ret = reg_gc_refs_containers (e->root, r, false, err);
  if (ret == 0)
    ret = reg_gc_objects (e->store, r, false, NULL, NULL, &o, err);
  out->unreferenced_objects = o.objects;
  out->reclaimable_bytes = o.bytes;
  for (size_t i = 0; ret == 0 && r->templates[i]; i++)
    out->unused_templates += reg_gc_template_user (r, r->templates[i]) == NULL;
  _cleanup_free_ char *envs = reg_root_path (e->root, REG_ROOT_ENVS, NULL, NULL);
  DIR *d = ret == 0 && envs ? opendir (envs) : NULL;
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    out->unused_envs += de->d_name[0] != '.' && !reg_gc_env_used (r, de->d_name);
  if (d)
    closedir (d);
  reg_gc_refs_free (r);
  return ret;
}

int
reg_engine_df (struct reg_engine *e, struct reg_df *out, struct reg_error **err)
{
  memset (out, 0, sizeof *out);
  if (reg_store_stats (e->store, &out->store, err) < 0 || df_reclaimable (e, out, err) < 0)
    return -1;
  _cleanup_strv_ char **refs = NULL;
  if (reg_template_list (e->root, &refs, err) < 0)
    return -1;
  out->templates = reg_strv_len (refs);
  out->envs = count_dir (e->root, REG_ROOT_ENVS);
  _cleanup_strv_ char **ids = NULL;
  if (reg_container_list (e->root, &ids, err) < 0)
    return -1;
  out->containers = reg_strv_len (ids);
  for (size_t i = 0; ids[i]; i++)
    {
      struct reg_container *c = NULL;
      if (reg_container_load (e->root, ids[i], &c, NULL) == 0)
        {
          out->running += reg_state_live (c->state) && reg_container_monitor_alive (c);
          out->stopped += c->state == REG_STATE_STOPPED;
          reg_container_free (c);
        }
    }
  return 0;
}

/* ---- garbage collection ---- */

void
reg_engine_prune_report_clear (struct reg_prune_report *r)
{
  reg_strv_free (r->containers);
  reg_strv_free (r->templates);
  memset (r, 0, sizeof *r);
}

static int
push_id (char ***v, const char *s)
{
  size_t n = reg_strv_len (*v);
  char **grown = realloc (*v, (n + 2) * sizeof *grown);
  if (grown == NULL)
    return -1;
  *v = grown;
  grown[n + 1] = NULL;
  return (grown[n] = strdup (s)) ? 0 : -1;
}

/* Remove stopped containers, one by one, as `reg rm` would. */
static int
prune_containers (struct reg_engine *e, char ***removed, struct reg_error **err)
{
  _cleanup_strv_ char **ids = NULL;
  if (reg_container_list (e->root, &ids, err) < 0)
    return -1;
  if (*removed == NULL && (*removed = calloc (1, sizeof (char *))) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; ids[i]; i++)
    {
      struct reg_container *c = NULL;
      if (reg_container_load (e->root, ids[i], &c, NULL) < 0)
        continue;
      bool stopped = c->state == REG_STATE_STOPPED;
      reg_container_free (c);
      struct reg_error *re = NULL;
      if (!stopped)
        continue;
      if (reg_engine_container_remove (e, ids[i], false, false, &re) == 0)
        {
          if (push_id (removed, ids[i]) < 0)
            return reg_error_set (err, ENOMEM, "out of memory");
          continue;
        }
      /* Started or removed by someone else meanwhile: not ours to take. */
      bool skip = re->code == EBUSY || re->code == ENOENT;
      if (!skip && err && *err == NULL)
        *err = re;
      else
        reg_error_free (re);
      if (!skip)
        return reg_error_prefix (err, "prune");
    }
  return 0;
}

/* Templates (when asked), environments and objects nothing references; the
 * locking is described in engine.h. */
static int
prune_data (struct reg_engine *e, bool templates, struct reg_prune_report *out,
            struct reg_error **err)
{
  struct reg_gc_refs *r = NULL;
  struct reg_gc_objects o = { 0 };
  pthread_mutex_lock (&e->import_lock);
  int ret = reg_gc_refs_templates (e->root, true, &r, err);
  pthread_mutex_lock (&e->lock);
  if (ret == 0)
    ret = reg_gc_refs_containers (e->root, r, true, err);
  if (ret == 0 && templates)
    {
      ret = reg_gc_templates (e->root, r, &out->templates, err);
      cache_clear (e);
    }
  if (ret == 0)
    ret = reg_gc_envs_detach (e->root, r, &out->envs, err);
  pthread_mutex_unlock (&e->lock);
  if (ret == 0)
    ret = reg_gc_objects (e->store, r, true, NULL, NULL, &o, err);
  pthread_mutex_unlock (&e->import_lock);
  out->objects = o.objects;
  out->bytes = o.bytes;
  reg_gc_refs_free (r);
  if (reg_gc_envs_delete (e->root, ret == 0 ? err : NULL) < 0)
    ret = -1;
  return ret < 0 ? reg_error_prefix (err, "prune") : 0;
}

int
reg_engine_prune (struct reg_engine *e, const struct reg_prune_options *o,
                  struct reg_prune_report *out, struct reg_error **err)
{
  memset (out, 0, sizeof *out);
  int ret = 0;
  if (o->containers)
    ret = prune_containers (e, &out->containers, err);
  if (ret == 0 && (o->templates || o->data))
    ret = prune_data (e, o->templates, out, err);
  if (ret == 0 && out->containers == NULL
      && (out->containers = calloc (1, sizeof (char *))) == NULL)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  if (ret == 0 && out->templates == NULL && (out->templates = calloc (1, sizeof (char *))) == NULL)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  return ret;
}

int
reg_engine_store_verify (struct reg_engine *e, reg_store_corrupt_fn corrupt,
                         void (*unreferenced) (const char *path, void *data), void *data,
                         uint64_t *checked, uint64_t *n_unreferenced, struct reg_error **err)
{
  int bad = reg_store_verify (e->store, corrupt, data, checked, err);
  if (bad < 0)
    return -1;
  struct reg_gc_refs *r = NULL;
  struct reg_gc_objects o = { 0 };
  pthread_mutex_lock (&e->import_lock);
  int ret = reg_gc_refs_templates (e->root, false, &r, err);
  if (ret == 0)
    ret = reg_gc_objects (e->store, r, false, unreferenced, data, &o, err);
  pthread_mutex_unlock (&e->import_lock);
  reg_gc_refs_free (r);
  *n_unreferenced = o.objects;
  return ret < 0 ? -1 : bad;
}

/* ---- restore ---- */

/* What a crash of regd left half done, settled for one container, under
 * its operation lock:
 *   generating  the create never answered: rolled back (removed);
 *   --rm and not live: it ran or was about to, removed as Docker does;
 *   inserting, or an install journal: rolled back or forward (journal);
 *   live with its monitor gone: its processes killed (settle_lost), and
 *   started again when its restart policy says so. */
static void
restore_one (struct reg_engine *e, const char *id)
{
  struct reg_lock *op = op_lock (e, id, "restore", NULL);
  struct reg_container *c = NULL;
  if (op == NULL || reg_container_load (e->root, id, &c, NULL) < 0)
    {
      reg_lockset_unlock (e->ops, op);
      return;
    }
  struct reg_error *ie = NULL;
  if (c->name && *c->name && reg_container_index_name (e->root, c->name, c->id, &ie) < 0)
    {
      fprintf (stderr, "regd: %s\n", ie->msg);
      reg_error_free (ie);
    }
  install_recover (e, &c);
  bool lost = reg_state_live (c->state) && !reg_container_monitor_alive (c);
  bool again = lost
               && (c->restart.mode == REG_RESTART_ALWAYS
                   || (c->restart.mode == REG_RESTART_UNLESS_STOPPED && !c->stop_requested));
  if (lost && settle_lost (e, &c, NULL) < 0)
    again = false;
  bool drop = c->state == REG_STATE_GENERATING || (c->auto_remove && !reg_state_live (c->state));
  if (drop)
    {
      fprintf (stderr, "regd: container %.12s: %s, removed\n", c->id,
               c->state == REG_STATE_GENERATING ? "its creation was interrupted"
                                                : "--rm and not running");
      reg_cgroup_remove_by_id (REG_CGROUP_FS, c->id);
      if (reg_container_destroy (e->root, c->id, NULL) == 0 && c->auto_remove)
        reg_engine_volumes_remove_anonymous (e, c);
    }
  reg_container_free (c);
  reg_lockset_unlock (e->ops, op);
  struct reg_start_result res = { 0 };
  if (again && !drop && reg_engine_container_start (e, id, -1, &res) < 0)
    fprintf (stderr, "regd: restart policy: %s\n", res.message);
}

int
reg_engine_restore (struct reg_engine *e, struct reg_error **err)
{
  _cleanup_strv_ char **ids = NULL;
  if (reg_container_list (e->root, &ids, err) < 0)
    return -1;
  for (size_t i = 0; ids[i]; i++)
    restore_one (e, ids[i]);
  return 0;
}

/* ---- health results (regd's checker) ---- */

struct health_record
{
  const char *started; /* the run the result belongs to */
  const struct reg_health_result *result;
  bool changed;
};

static int
health_record (struct reg_container *c, void *data, struct reg_error **err)
{
  struct health_record *rec = data;
  (void)err;
  if (c->state != REG_STATE_RUNNING || strcmp (c->started, rec->started) != 0)
    return 0; /* stopped or restarted meanwhile: the result is stale */
  double since = reg_util_now () - reg_util_rfc3339_time (c->started);
  bool counted = since * 1e9 >= (double)c->healthcheck.start_period;
  if (c->health.status == REG_HEALTH_NONE)
    c->health.status = REG_HEALTH_STARTING;
  rec->changed = reg_health_state_record (&c->health, rec->result, counted,
                                          reg_health_retries (&c->healthcheck));
  return 0;
}

int
reg_engine_container_health_record (struct reg_engine *e, const char *id, const char *started,
                                    const struct reg_health_result *r, struct reg_error **err)
{
  struct health_record rec = { started, r, false };
  if (reg_container_update (e->root, id, health_record, &rec, err) < 0)
    return -1;
  if (!rec.changed)
    return 0;
  struct reg_container *now = NULL;
  if (reg_container_load (e->root, id, &now, NULL) == 0)
    {
      char action[64];
      snprintf (action, sizeof action, "health_status: %s",
                reg_health_status_name (now->health.status));
      reg_events_container (e->root, now, action, NULL, NULL);
    }
  reg_container_free (now);
  return 0;
}

int
reg_engine_container_ids (struct reg_engine *e, char ***ids, struct reg_error **err)
{
  return reg_container_list (e->root, ids, err);
}
