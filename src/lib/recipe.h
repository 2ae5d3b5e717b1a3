/* recipe: a YAML file that says how to make a template from host files
 * (`reg template create -f RECIPE.yaml`, docs/recipes.md).
 *
 *   name: nginx                      required, as in a RET file
 *   version: '1.22.1'                required
 *   paths: [/usr/sbin/nginx, /etc/nginx, ...]   required: host files and
 *                                    directories, imported at the same path
 *   exclude: ['*.pyc', '/usr/lib/python3.11/test']  left out wherever met
 *                                    in `paths` (fnmatch; '*' also matches '/')
 *   dirs: [/var/log/nginx, '/var/lib/postgresql 0700 postgres:postgres']
 *                                    empty directories to create: PATH [MODE
 *                                    [USER[:GROUP]]] (the owner from the
 *                                    templates' accounts; root's 0755 by default)
 *   users: [www-data]                host accounts to carry (accounts.h)
 *   groups: [adm]
 *   requires: [base@1]               other templates
 *   entrypoint: [/usr/sbin/nginx, -g, 'daemon off;']
 *   env: {KEY: value}
 *   expose: ['80/tcp']               ports the service listens on (recorded)
 *
 * Parsing is strict, with the RET loader's limits (template.h,
 * reg_yaml_load): unknown keys, wrong types, relative or unnormalized paths
 * ("/usr/../etc", "etc/x": outside the host root as the recipe names it)
 * are errors naming the recipe and the key. It reads only the text: that
 * paths exist is the import's check (import.h), before anything is stored.
 */
#ifndef REG_RECIPE_H
#define REG_RECIPE_H

#include "error.h"
#include "import.h"

struct reg_recipe
{
  char *name, *version;
  char **paths, **exclude, **dirs, **users, **groups, **requires, **entrypoint, **env, **expose;
};

/* `origin` names the recipe in errors (its file name). */
int reg_recipe_parse (const char *text, size_t len, const char *origin, struct reg_recipe **out,
                      struct reg_error **err);
/* Import options that point into the recipe. */
void reg_recipe_options (const struct reg_recipe *r, struct reg_import_options *o);
void reg_recipe_free (struct reg_recipe *r);

#endif
