/* engine: a container's run defaults from its templates (engine.h) — the
 * format-3 fields an image config carries (template.h): working
 * directory, user, health check, anonymous volumes and labels, each used
 * unless the create request says otherwise. */
#include "accounts.h"
#include "engine.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ACCOUNTS_FILE_MAX (1 << 20)

/* The closure's own regular file at `path` (an image's /etc/passwd), as
 * its valid account lines; NULL when there is none. */
static char **
file_accounts (const struct reg_store *store, const struct reg_closure *cl, const char *path,
               bool users)
{
  const struct reg_entry *f = NULL;
  for (size_t i = 0; i < cl->n_entries && f == NULL; i++)
    if (strcmp (cl->entries[i].path, path) == 0
        && (cl->entries[i].kind == REG_ENTRY_FILE || cl->entries[i].kind == REG_ENTRY_EXEC))
      f = &cl->entries[i];
  _cleanup_free_ char *obj
      = f ? reg_store_object_path (store, f->value, f->kind == REG_ENTRY_EXEC) : NULL;
  _cleanup_free_ char *text = NULL;
  size_t len;
  if (obj == NULL || reg_util_read_file (obj, ACCOUNTS_FILE_MAX, &text, &len, NULL) < 0)
    return NULL;
  char **lines = calloc (1, sizeof *lines);
  size_t n = 0;
  char *save = NULL;
  for (char *l = strtok_r (text, "\n", &save); lines && l; l = strtok_r (NULL, "\n", &save))
    {
      if (!(users ? reg_accounts_passwd_ok (l) : reg_accounts_group_ok (l)))
        continue; /* comments, NIS lines: not accounts */
      char **grown = realloc (lines, (n + 2) * sizeof *grown);
      if (grown == NULL || (grown[n] = strdup (l)) == NULL)
        {
          reg_strv_free (grown ? grown : lines);
          return NULL;
        }
      grown[++n] = NULL;
      lines = grown;
    }
  return lines;
}

/* NAME[:GROUP] through the templates' accounts, else (an image's files)
 * through the closure's /etc/passwd and /etc/group, as Docker reads the
 * image's. */
static int
resolve_user (const struct reg_store *store, const struct reg_closure *cl, const char *spec,
              uid_t *uid, gid_t *gid, struct reg_error **err)
{
  struct reg_error *first = NULL;
  if (reg_accounts_resolve (cl->users, cl->groups, spec, uid, gid, &first) == 0)
    return 0;
  _cleanup_strv_ char **users = file_accounts (store, cl, "/etc/passwd", true);
  _cleanup_strv_ char **groups = file_accounts (store, cl, "/etc/group", false);
  if ((users || groups) && reg_accounts_resolve (users, groups, spec, uid, gid, NULL) == 0)
    {
      reg_error_free (first);
      return 0;
    }
  if (err && *err == NULL)
    *err = first;
  else
    reg_error_free (first);
  return -1;
}

/* Each template volume no mount covers gets a new anonymous volume (a
 * random name, as Docker's). */
static int
anonymous_volumes (struct reg_container *c, const struct reg_closure *cl, struct reg_error **err)
{
  for (size_t i = 0; cl->volumes && cl->volumes[i]; i++)
    {
      bool covered = false;
      for (size_t k = 0; k < c->n_mounts && !covered; k++)
        covered = strcmp (c->mounts[k].target, cl->volumes[i]) == 0;
      if (covered)
        continue;
      char name[65];
      if (reg_util_random_id (name, err) < 0)
        return -1;
      struct reg_mount *grown = realloc (c->mounts, (c->n_mounts + 1) * sizeof *grown);
      if (grown == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      c->mounts = grown;
      struct reg_mount *m = &grown[c->n_mounts];
      *m = (struct reg_mount){ .type = REG_MOUNT_VOLUME,
                               .anonymous = true,
                               .source = strdup (name),
                               .target = strdup (cl->volumes[i]) };
      c->n_mounts++;
      if (m->source == NULL || m->target == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
    }
  return 0;
}

int
reg_engine_run_defaults (const struct reg_store *store, struct reg_container *c,
                         const struct reg_create_options *o, const struct reg_closure *cl,
                         struct reg_error **err)
{
  const struct reg_healthcheck *h = o->healthcheck.test ? &o->healthcheck : &cl->healthcheck;
  if (reg_health_check_valid (h, err) < 0)
    return reg_error_prefix (err, "create container");
  if (reg_health_check_copy (&c->healthcheck, h) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  /* -u NUMBERS is in the request's security already (request.c). */
  const char *user = o->user && o->user[0] ? o->user : c->security.has_user ? NULL : cl->user;
  if (user)
    {
      uid_t uid;
      gid_t gid;
      if (resolve_user (store, cl, user, &uid, &gid, err) < 0)
        return reg_error_prefix (err, "create container");
      c->security.has_user = true;
      c->security.uid = uid;
      c->security.gid = gid;
    }
  const char *wd = o->workdir && *o->workdir ? o->workdir
                   : o->project              ? "/app"
                   : cl->workdir             ? cl->workdir
                                             : "/";
  if ((c->workdir = strdup (wd)) == NULL
      || (cl->labels && (c->labels = reg_strv_dup (cl->labels)) == NULL))
    return reg_error_set (err, ENOMEM, "out of memory");
  return anonymous_volumes (c, cl, err);
}
