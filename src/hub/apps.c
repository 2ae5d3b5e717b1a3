/* apps: the hub's engine root, app templates and the registry (apps.h). */
#include "apps.h"
#include "engine.h"
#include "hub.h"
#include "import.h"
#include "registry.h"
#include "template.h"
#include "transfer.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
hub_apps_open (struct hub *h, struct reg_error **err)
{
  _cleanup_free_ char *root = NULL, *tmp = NULL;
  if (asprintf (&root, "%s/engine", h->cfg.data_dir) < 0
      || asprintf (&tmp, "%s/deploy", h->cfg.data_dir) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_engine_open (root, &h->engine, err) < 0)
    return reg_error_prefix (err, "reg-hub: engine root %s", root);
  /* Uploads and temporary files: what a stopped hub left there is stale. */
  if (reg_util_rm_rf (tmp, err) < 0 || reg_util_mkdir_p (tmp, 0700, err) < 0)
    return reg_error_prefix (err, "reg-hub: %s", tmp);
  h->deploy_dir = tmp;
  tmp = NULL;
  pthread_mutex_init (&h->engine_lock, NULL);
  pthread_cond_init (&h->deploys_done, NULL);
  return 0;
}

void
hub_apps_close (struct hub *h)
{
  if (h->engine == NULL)
    return;
  reg_engine_free (h->engine);
  h->engine = NULL;
  free (h->deploy_dir);
  h->deploy_dir = NULL;
  pthread_mutex_destroy (&h->engine_lock);
  pthread_cond_destroy (&h->deploys_done);
}

/* "name:version" of name@version ("+" in a version becomes "_": tags
 * allow no "+"). */
static char *
name_tag (const char *tmpl)
{
  _cleanup_free_ char *name = NULL, *version = NULL;
  if (reg_template_split_ref (tmpl, &name, &version, NULL) < 0)
    return NULL;
  for (char *p = version; *p; p++)
    if (*p == '+')
      *p = '_';
  char *out = NULL;
  return asprintf (&out, "%s:%s", name, version) < 0 ? NULL : out;
}

char *
hub_apps_ref (struct hub *h, const char *tmpl)
{
  _cleanup_free_ char *nt = name_tag (tmpl);
  char *ref = NULL;
  if (nt == NULL)
    return NULL;
  if (h->cfg.registry)
    return asprintf (&ref, "%s/%s", h->cfg.registry, nt) < 0 ? NULL : ref;
  if (h->cfg.registry_address == NULL)
    return NULL;
  return asprintf (&ref, "%s/" HUB_APPS_REPO "/%s", h->cfg.registry_address, nt) < 0 ? NULL : ref;
}

static int
no_registry (struct reg_error **err)
{
  return reg_error_set (err, EINVAL,
                        "reg-hub has no registry to deploy through: start it with --registry "
                        "HOST[:PORT]/PREFIX, or with --registry-address HOST:PORT (where devices "
                        "reach its own)");
}

/* Where the hub's engine pushes and pulls: the external registry, or the
 * embedded one's layout (the "templates/" repositories). */
static int
transfer_target (struct hub *h, const char *tmpl, struct reg_transfer_options *o, char **ref,
                 struct reg_error **err)
{
  if (h->cfg.registry == NULL && (h->registry == NULL || h->cfg.registry_address == NULL))
    return no_registry (err);
  _cleanup_free_ char *nt = name_tag (tmpl);
  if (nt == NULL)
    return reg_error_set (err, EINVAL, "%s is not name@version", tmpl);
  *o = (struct reg_transfer_options){ .insecure = h->cfg.registry_insecure,
                                      .user = h->cfg.registry_user,
                                      .password = h->cfg.registry_password };
  if (h->cfg.registry)
    *ref = hub_apps_ref (h, tmpl);
  else if (asprintf (ref, HUB_APPS_REPO "/%s", nt) < 0)
    *ref = NULL;
  else
    o->layout = hub_registry_dir (h->registry);
  if (*ref == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  o->ref = *ref;
  return 0;
}

static bool
installed (struct hub *h, const char *tmpl)
{
  struct reg_template *t = NULL;
  if (reg_template_load (h->engine->root, tmpl, &t, NULL) < 0)
    return false;
  reg_template_free (t);
  return true;
}

int
hub_apps_bases (struct hub *h, char *const *bases, int64_t *bytes, struct reg_error **err)
{
  *bytes = 0;
  int ret = 0;
  pthread_mutex_lock (&h->engine_lock);
  for (size_t i = 0; ret == 0 && bases && bases[i]; i++)
    {
      if (installed (h, bases[i]))
        continue;
      _cleanup_free_ char *ref = NULL;
      struct reg_transfer_options o;
      json_t *result = NULL;
      if (transfer_target (h, bases[i], &o, &ref, err) < 0)
        ret = -1;
      else if (reg_transfer_pull (h->engine, &o, &result, err) < 0)
        ret = reg_error_prefix (err, "base %s: not in the registry as %s", bases[i], ref);
      else
        *bytes += json_integer_value (json_object_get (result, "Bytes"));
      json_decref (result);
    }
  pthread_mutex_unlock (&h->engine_lock);
  return ret;
}

/* The template's RET text: /app's files, requiring the bases. */
static char *
app_ret (const char *app, const char *version, char *const *bases, struct hub_app_files *f,
         char digest[65], struct reg_error **err)
{
  struct reg_template t = { .name = (char *)app,
                            .version = (char *)version,
                            .requires = (char **)bases,
                            .files = f->entries,
                            .n_files = f->n };
  if (reg_template_normalize (&t, err) < 0 || reg_template_digest (&t, digest, err) < 0)
    return NULL;
  char *text = reg_template_serialize (&t);
  if (text == NULL)
    reg_error_set (err, ENOMEM, "out of memory");
  return text;
}

/* An installed template of that name and version: same digest (0: keep
 * it), another (EEXIST), or none (1). */
static int
existing (struct hub *h, const char *tmpl, const char *digest, struct reg_error **err)
{
  struct reg_template *old = NULL;
  if (reg_template_load (h->engine->root, tmpl, &old, NULL) < 0)
    return 1;
  char d[65];
  int same = reg_template_digest (old, d, err) == 0 && strcmp (d, digest) == 0;
  reg_template_free (old);
  if (!same)
    return reg_error_set (err, EEXIST,
                          "app %s exists with other content: a version never changes (give "
                          "another Version, or none to count up)",
                          tmpl);
  return 0;
}

int
hub_apps_make (struct hub *h, const char *app, const char *version, char *const *bases,
               const char *upload, const char *filename, struct hub_app_files *files,
               char digest[65], struct reg_error **err)
{
  struct hub_app_limits l = { h->cfg.deploy_max_size, h->cfg.deploy_max_entries };
  _cleanup_free_ char *tmpl = NULL;
  if (asprintf (&tmpl, "%s@%s", app, version) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  pthread_mutex_lock (&h->engine_lock);
  char **added = NULL;
  int ret = hub_appfiles_read (h->engine->store, upload, filename, &l, h->deploy_dir, files, &added,
                               err);
  _cleanup_free_ char *text = NULL;
  if (ret == 0 && (text = app_ret (app, version, bases, files, digest, err)) == NULL)
    ret = -1;
  int exists = ret == 0 ? existing (h, tmpl, digest, err) : -1;
  if (exists < 0)
    ret = -1;
  else if (exists == 1)
    ret = reg_engine_template_add (h->engine, text, strlen (text), false, NULL, err);
  if (ret < 0)
    {
      reg_import_undo (h->engine->store, added);
      hub_appfiles_free (files);
      reg_error_prefix (err, "app %s", tmpl);
    }
  else
    reg_strv_free (added);
  pthread_mutex_unlock (&h->engine_lock);
  return ret;
}

int
hub_apps_publish (struct hub *h, const char *tmpl, int64_t *bytes, struct reg_error **err)
{
  *bytes = 0;
  _cleanup_free_ char *ref = NULL;
  struct reg_transfer_options o;
  if (transfer_target (h, tmpl, &o, &ref, err) < 0)
    return -1;
  o.tmpl = tmpl;
  /* The app's files one layer each: a device pulling a changed app fetches
   * only the changed files (docs/registry.md, "File layers"). */
  o.file_layers = true;
  json_t *result = NULL;
  /* The embedded registry's layout is written in place (layout.c
   * serialises its writers): a base it has is found there and skipped. */
  if (reg_transfer_push (h->engine, &o, &result, err) < 0)
    return reg_error_prefix (err, "push %s to %s%s", tmpl, o.layout ? "the hub's registry as " : "",
                             ref);
  *bytes = json_integer_value (json_object_get (result, "Bytes"));
  json_decref (result);
  return 0;
}

json_t *
hub_apps_pull_body (struct hub *h, const char *tmpl, json_t *device, struct reg_error **err)
{
  _cleanup_free_ char *ref = hub_apps_ref (h, tmpl);
  if (ref == NULL)
    return no_registry (err), NULL;
  if (h->cfg.registry)
    return json_pack ("{s:s, s:b}", "Ref", ref, "Insecure", h->cfg.registry_insecure);
  /* The embedded registry: the device's own pull credential, and the hub's
   * certificate to verify it by. */
  _cleanup_free_ char *user = NULL, *password = NULL;
  if (hub_registry_device_credential (h->registry, device, &user, &password, err) < 0)
    return NULL;
  return json_pack ("{s:s, s:{s:s, s:s}, s:s}", "Ref", ref, "Auth", "Username", user, "Password",
                    password, "Ca", h->cert_pem);
}

json_t *
hub_apps_templates (struct hub *h)
{
  char **refs = NULL;
  json_t *a = json_array ();
  if (reg_template_list (h->engine->root, &refs, NULL) == 0)
    for (size_t i = 0; refs[i]; i++)
      json_array_append_new (a, json_string (refs[i]));
  reg_strv_free (refs);
  return a;
}
