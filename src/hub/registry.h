/* registry: reg-hub's embedded registry — the hub's own templates, served
 * read-only to devices from an OCI image layout under its data directory
 * (DATA/registry, src/lib/layout.h) over the OCI distribution API, on the
 * hub's HTTPS listener (docs/hub.md, docs/hub-api.md).
 *
 * Routes (GET and HEAD only): /v2/, /v2/NAME/manifests/REF (tag or
 * sha256 digest), /v2/NAME/blobs/sha256:HEX, /v2/NAME/tags/list, and the
 * token endpoint /v2/token. Every other method is refused: 401 without a
 * token, 405 UNSUPPORTED with one. The hub writes the layout itself
 * (hub_registry_import); nothing is ever written through HTTP.
 *
 * Auth is Docker's token flow, which reg's registry client, skopeo and
 * docker speak: a request without a valid bearer token gets 401 and
 * `WWW-Authenticate: Bearer realm="https://HOST/v2/token",service="reg-hub"`;
 * the client asks the realm with Basic credentials and gets a pull token
 * (5 minutes) valid for every repository. Credentials are either a
 * device's pull credential (user "device-ID", password from
 * hub_registry_device_credential: an HMAC of the device's id and creation
 * time under the hub's registry key, so it dies with the device) or a hub
 * API token (user = its owner's name, password = rht_…). A pull token is
 * an HMAC under the same key of who holds it and its expiry; each request
 * checks again that the device or API token still exists, so removing a
 * device or revoking a token cuts its pulls at once. The key
 * (DATA/registry.key, 0600) is made at first start.
 *
 * Untrusted input: NAME must match the distribution grammar (255 chars at
 * most), a tag its grammar, a digest sha256:<64 lowercase hex>; anything
 * else is 400 (NAME_INVALID, TAG_INVALID, DIGEST_INVALID) before a path is
 * made. Manifests are verified against their digest (layout.c); a blob is
 * hashed as it is sent, and a blob whose content no longer matches its
 * digest is cut off (the client sees a truncated transfer, never wrong
 * bytes with a success) and logged. Request bodies on /v2 are discarded
 * unread; Range requests are answered with the whole blob (200).
 */
#ifndef REG_HUB_REGISTRY_H
#define REG_HUB_REGISTRY_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdint.h>

#include "error.h"

struct hub;
struct hub_req;
struct hub_registry;

#define HUB_REGISTRY_SERVICE "reg-hub"
#define HUB_REGISTRY_TOKEN_TTL 300 /* s */

/* Open (creating them at first start) DATA/registry and DATA/registry.key. */
int hub_registry_open (const char *data_dir, struct hub_registry **out, struct reg_error **err);
void hub_registry_free (struct hub_registry *reg);

/* The layout's directory: what `reg push --layout` or reg_transfer_push
 * (.layout) may write to directly; layout.c serialises its writers. */
const char *hub_registry_dir (const struct hub_registry *reg);

/* Put templates into the hub's registry: every tagged manifest of the OCI
 * layout at src (e.g. made by `reg push --layout SRC NAME@VERSION
 * templates/NAME:VERSION`, which brings the templates it requires along),
 * with its blobs, each hashed while copied and refused unless it matches
 * its digest. A tag the hub already has with another manifest is refused
 * (EEXIST: a template version never changes); one with the same manifest is
 * left as it is. Blobs go first, tags last, so a device never sees a tag
 * whose blobs are missing. *refs (may be NULL): the "REPO:TAG"s imported. */
int hub_registry_import (struct hub_registry *reg, const char *src, json_t **refs,
                         struct reg_error **err);

/* A device's pull credential: user "device-ID" and its password (both
 * allocated). device: its store row ("Id", "Created"). */
int hub_registry_device_credential (const struct hub_registry *reg, json_t *device, char **user,
                                    char **password, struct reg_error **err);

/* Serve r (r->url starts with "/v2"). */
enum MHD_Result hub_registry_serve (struct hub_req *r);

#endif
