/* closure: resolve a container's templates into one map container-path ->
 * entry, recursively over `requires`.
 *
 * Order: for each template given, its requires first (depth first, each
 * template once), then its own files and libs. The same path from two
 * templates is fine when both name the same entry; different content is an
 * error naming both templates and the path. A cycle in requires is an error
 * naming the cycle. The closure's digest is SHA-256 over its sorted entries
 * and a layout version, so equal closures share one generated environment.
 * Entrypoint: the first given template's (else the first that has one).
 * Env (and labels): merged in resolution order, later templates override
 * earlier keys; workdir, user and healthcheck as the entrypoint; volumes
 * the union.
 * Accounts (users, groups): the union in resolution order; one name defined
 * differently by two templates is an error naming both. They are part of
 * the digest: envgen writes them as /etc/passwd and /etc/group.
 */
#ifndef REG_CLOSURE_H
#define REG_CLOSURE_H

#include "error.h"
#include "template.h"

struct reg_closure
{
  struct reg_entry *entries; /* sorted by path, unique */
  size_t n_entries;
  char digest[65];
  char **templates;  /* every template in the closure, resolution order */
  char **entrypoint; /* may be NULL */
  int stop_signal;   /* from the same template as the entrypoint; 0: none */
  char **env;        /* "KEY=VALUE" */
  char **users;      /* passwd lines of the templates, resolution order, one per name */
  char **groups;     /* group lines, likewise */
  char **expose;     /* ports the templates declare ("80/tcp"), resolution order, unique */
  /* Format-3 run defaults (template.h): workdir, user and healthcheck as
   * the entrypoint (the first given template's, else the first that has
   * one); volumes the union, labels merged as env. */
  char *workdir, *user;
  char **volumes, **labels;
  struct reg_healthcheck healthcheck;
};

int reg_closure_resolve (const char *root, char *const *refs, struct reg_closure **out,
                         struct reg_error **err);
void reg_closure_free (struct reg_closure *c);

#endif
