/* apps: application templates on the hub's side — the hub's own engine
 * root (DATA/engine: a store and templates, no containers), where an
 * upload becomes the template APP@VERSION (its files under /app, requiring
 * its base templates), and the registry the devices pull from.
 *
 * Every template reaches the registry through hub_apps_publish, and every
 * device is told where to pull it from by hub_apps_pull_body: the two are
 * the only places that know which registry that is — an external one
 * (`reg-hub --registry HOST[:PORT]/PREFIX`, any OCI registry), or the
 * hub's own (registry.h: its layout is written in place, under
 * "templates/NAME:VERSION", and devices pull from --registry-address with
 * their pull credential and the hub's certificate).
 *
 * Writes to the hub's engine (base pulls, app templates) are serialised by
 * one mutex, so a failed make can take back the objects it added without
 * another template having named them meanwhile.
 */
#ifndef REG_HUB_APPS_H
#define REG_HUB_APPS_H

#include <jansson.h>
#include <stdint.h>

#include "appfiles.h"
#include "error.h"

struct hub;

int hub_apps_open (struct hub *h, struct reg_error **err);
void hub_apps_close (struct hub *h);

#define HUB_APPS_REPO "templates"

/* The registry reference of name@version as devices pull it ("+" in a
 * version becomes "_": tags allow no "+"). Allocated; NULL without a
 * registry. */
char *hub_apps_ref (struct hub *h, const char *tmpl);

/* Every base (name@version) in the hub's engine: those missing are pulled
 * from the registry (with what they require; into the embedded one, an
 * admin imports them: `reg-hub registry import`). *bytes: downloaded. */
int hub_apps_bases (struct hub *h, char *const *bases, int64_t *bytes, struct reg_error **err);

/* Make APP@VERSION from the upload (appfiles.h), requiring `bases` (which
 * must be in the hub's engine). A template of that name and version with
 * the same content is kept as it is; with other content it is refused
 * (EEXIST: a version never changes). On failure nothing is left. */
int hub_apps_make (struct hub *h, const char *app, const char *version, char *const *bases,
                   const char *upload, const char *filename, struct hub_app_files *files,
                   char digest[65], struct reg_error **err);

/* Push name@version, and what it requires that the registry lacks. *bytes:
 * uploaded. */
int hub_apps_publish (struct hub *h, const char *tmpl, int64_t *bytes, struct reg_error **err);

/* The body of device's POST /v1/templates/pull for name@version (device:
 * its row, for the embedded registry's credential). */
json_t *hub_apps_pull_body (struct hub *h, const char *tmpl, json_t *device,
                            struct reg_error **err);

/* The hub's templates: ["name@version", ...]. */
json_t *hub_apps_templates (struct hub *h);

#endif
