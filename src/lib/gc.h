/* gc: what references what in an engine root, and what nothing references.
 *
 * The references (docs/architecture.md, "Garbage collection"):
 *   - a container uses its templates, everything they require (transitively),
 *     and its environment envs/<closure-digest>;
 *   - a template names store objects (its files and libs).
 * An environment no container uses, an object no template names and (only
 * when asked) a template no container uses are garbage.
 *
 * Conservative: a template or container that cannot be read hides what it
 * references, so collecting refuses, naming it, instead of guessing
 * (reg_gc_refs_load with `strict`). Nothing here takes a lock: the engine
 * holds its locks around a collection (engine.h), so that no template,
 * container or object appears between reading the references and removing.
 */
#ifndef REG_GC_H
#define REG_GC_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "store.h"
#include "template.h"

struct reg_gc_refs
{
  char **templates;             /* installed refs, sorted */
  struct reg_template **loaded; /* parallel to templates; NULL when unreadable */
  char **objects;               /* "hex" / "hex+x" named by a template, sorted, unique */
  size_t n_objects;
  char **used;  /* templates a container uses, with their requires, sorted */
  char **envs;  /* closure digests containers use, sorted */
  char **users; /* parallel to used: the short id of one container using it */
};

/* Read every template. With `strict`, an unreadable one is an error. */
int reg_gc_refs_templates (const char *root, bool strict, struct reg_gc_refs **out,
                           struct reg_error **err);
/* Add what the containers use. With `strict`, an unreadable one is an error. */
int reg_gc_refs_containers (const char *root, struct reg_gc_refs *r, bool strict,
                            struct reg_error **err);
void reg_gc_refs_free (struct reg_gc_refs *r);

/* Does a template name the object (its store name: store.h)? */
bool reg_gc_object_named (const struct reg_gc_refs *r, const char *name);
/* The short id of a container using `ref` (directly or through requires), or NULL. */
const char *reg_gc_template_user (const struct reg_gc_refs *r, const char *ref);
bool reg_gc_env_used (const struct reg_gc_refs *r, const char *digest);

/* Remove installed templates no container uses, dependents before what they
 * require; their refs in *removed. Refreshes r->objects. */
int reg_gc_templates (const char *root, struct reg_gc_refs *r, char ***removed,
                      struct reg_error **err);
/* Rename every environment no container uses to envs/.prune-<digest>, to be
 * deleted later (reg_gc_envs_delete) outside the engine's lock. */
int reg_gc_envs_detach (const char *root, const struct reg_gc_refs *r, uint64_t *count,
                        struct reg_error **err);
int reg_gc_envs_delete (const char *root, struct reg_error **err);

struct reg_gc_objects
{
  uint64_t objects, bytes; /* unreferenced (removed, when removing) */
};
/* Objects no template names: removed when `remove`, else only counted.
 * `fn` (may be NULL) is told each one's path. */
int reg_gc_objects (struct reg_store *store, const struct reg_gc_refs *r, bool remove,
                    void (*fn) (const char *path, void *data), void *data,
                    struct reg_gc_objects *out, struct reg_error **err);

#endif
