/* transfer: `reg push` and `reg pull` — templates to and from an OCI
 * registry or image-layout directory (docs/registry.md).
 *
 * Push uploads a template and, recursively, the templates it requires (each
 * to its sibling repository, oci.h), moving only what is missing: a blob the
 * destination has is not sent (HEAD), a blob this engine pushed to another
 * repository of the same registry is mounted from there when the registry
 * offers it. Pull fetches a template and everything it requires,
 * recursively (cycles and depth bounded), downloading only blobs whose
 * objects the local store lacks. Blob transfers run concurrently.
 *
 * A pull is a transaction: every blob is checked against its digest and
 * size as it arrives, every unpacked file against its name, and staged in
 * store/tmp; only then, under the engine's import lock, objects enter the
 * store and templates the template list. On any failure both are returned
 * to what they were and the staging directory is removed. A template that
 * exists locally with another digest is refused, never overwritten.
 */
#ifndef REG_TRANSFER_H
#define REG_TRANSFER_H

#include <jansson.h>
#include <stdbool.h>

#include "engine.h"
#include "error.h"

/* One progress event ({"Id", "Status", "Current"?, "Total"?}); borrowed. */
typedef void (*reg_transfer_event_fn) (void *data, json_t *event);

struct reg_transfer_options
{
  const char *ref;             /* [HOST/]REPO[:TAG] */
  const char *tmpl;            /* push: name@version */
  const char *layout;          /* layout directory; NULL: <root>/layout */
  const char *archive;         /* load: a docker save or OCI archive (imgarchive.h) */
  bool as_image;               /* push: a regular OCI image (imgexport.h), not an artifact */
  bool file_layers;            /* push: o->tmpl's files one raw layer each, not one files blob
                                * (what it requires is pushed as usual): a changed app then
                                * moves only its changed files */
  bool insecure;               /* plain HTTP */
  const char *user, *password; /* or NULL: anonymous */
  const char *ca_pem;          /* CAs trusted for the registry besides certs.d, or NULL */
  reg_transfer_event_fn event;
  void *data;
};

/* Push: o->tmpl and what it requires, each as a reg artifact to its
 * sibling repository; with o->as_image, o->tmpl as one runnable OCI image
 * (imgexport.h) to o->ref. */
int reg_transfer_push (struct reg_engine *e, const struct reg_transfer_options *o, json_t **result,
                       struct reg_error **err);
int reg_transfer_pull (struct reg_engine *e, const struct reg_transfer_options *o, json_t **result,
                       struct reg_error **err);
/* `reg image load`: unpack o->archive (imgarchive.h) into a staging
 * layout and pull each image it names from there, each its own pull
 * transaction (the same verification, layer records and dedup). Result:
 * {"Archive", "Templates": [name@version...], "Loaded": [pull results]}. */
int reg_transfer_load (struct reg_engine *e, const struct reg_transfer_options *o, json_t **result,
                       struct reg_error **err);
/* Tags of the reference's repository, sorted as the source gives them. */
int reg_transfer_tags (struct reg_engine *e, const struct reg_transfer_options *o, char ***tags,
                       struct reg_error **err);

#endif
