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
 *   stop_signal: SIGQUIT             what `reg stop` sends first
 *   trace:                           run once in a sandbox, add what it used
 *     command: [/usr/sbin/nginx, -g, 'daemon off;']    (trace.h)
 *     timeout: 10                    seconds (1-3600; default 10)
 *     stop_signal: SIGQUIT           how to end it once it answered
 *     answer: '127.0.0.1:8080'       wait for a server to answer here
 *     send: "GET / HTTP/1.0\r\n\r\n"   the request to send it
 * With `trace`, `paths` may be left out.
 *
 * Parsing is strict, with the RET loader's limits (template.h,
 * reg_template_yaml_load): unknown keys, wrong types, relative or unnormalized paths
 * ("/usr/../etc", "etc/x": outside the host root as the recipe names it)
 * are errors naming the recipe and the key. It reads only the text: that
 * paths exist is the import's check (import.h), before anything is stored.
 */
#ifndef REG_RECIPE_H
#define REG_RECIPE_H

#include "error.h"
#include "import.h"
#include "trace.h"

#include <stdbool.h>

struct reg_recipe
{
  char *name, *version;
  char **paths, **exclude, **dirs, **users, **groups, **requires, **entrypoint, **env, **expose;
  char *stop_signal;
  bool traced;
  struct reg_trace_options trace; /* when `traced`; strings owned here */
  char **trace_command;
  char *trace_timeout, *trace_stop_signal, *trace_answer, *trace_send;
};

/* `origin` names the recipe in errors (its file name). */
int reg_recipe_parse (const char *text, size_t len, const char *origin, struct reg_recipe **out,
                      struct reg_error **err);
/* Import options that point into the recipe (o->trace: into r too). */
void reg_recipe_options (const struct reg_recipe *r, struct reg_import_options *o);
void reg_recipe_free (struct reg_recipe *r);

#endif
