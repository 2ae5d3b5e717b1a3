/* store: everything reg-hub keeps — users, sessions, API tokens, devices,
 * utilisation history and the audit log — behind one interface. This is
 * the only module that knows SQL; the embedded backend is SQLite in
 * DATA/hub.db (WAL, mode 0600: it holds devices' tokens). A PostgreSQL
 * backend (libpq) for a replicated hub would implement this same header.
 *
 * The schema is versioned: migrations are an append-only list, applied in
 * one transaction each at open and recorded in PRAGMA user_version; a
 * database newer than this program is refused. Rows come back as jansson
 * objects whose keys are the API's field names, so routes render them as
 * they are. Every call is serialised by one mutex (hub traffic is small;
 * SQLite allows one writer anyway). Errors name the object and the cause:
 * EEXIST for a taken name, ENOENT for a missing row.
 */
#ifndef REG_HUB_STORE_H
#define REG_HUB_STORE_H

#include <jansson.h>
#include <stdint.h>

#include "error.h"

struct hub_store;

int hub_store_open (const char *dir, struct hub_store **out, struct reg_error **err);
void hub_store_close (struct hub_store *s);
int hub_store_schema_version (struct hub_store *s);

/* Users: {"Id", "Name", "Role", "Created"}; *_get also "Hash". */
int hub_store_user_add (struct hub_store *s, const char *name, const char *role, const char *hash,
                        int64_t *id, struct reg_error **err);
json_t *hub_store_user_get (struct hub_store *s, const char *name);
json_t *hub_store_user_by_id (struct hub_store *s, int64_t id);
json_t *hub_store_user_list (struct hub_store *s);
int hub_store_user_count (struct hub_store *s);
int hub_store_user_set_hash (struct hub_store *s, int64_t id, const char *hash,
                             struct reg_error **err);
int hub_store_user_set_role (struct hub_store *s, int64_t id, const char *role,
                             struct reg_error **err);
/* Removes the user's sessions and tokens too; refused (EBUSY) while the
 * user owns devices. */
int hub_store_user_delete (struct hub_store *s, int64_t id, struct reg_error **err);

/* Sessions, by the SHA-256 hex of the cookie's secret. get: the user's
 * row plus "Csrf" and "Expires"; NULL when unknown or expired. */
int hub_store_session_add (struct hub_store *s, const char *key, int64_t user_id, const char *csrf,
                           int64_t expires, struct reg_error **err);
json_t *hub_store_session_get (struct hub_store *s, const char *key, int64_t now);
void hub_store_session_delete (struct hub_store *s, const char *key);
void hub_store_session_purge (struct hub_store *s, int64_t now);

/* API tokens, by the SHA-256 hex of the secret: {"Id", "Name", "Created",
 * "LastUsed"}. get: the owner's user row; NULL when unknown. */
int hub_store_token_add (struct hub_store *s, int64_t user_id, const char *name, const char *key,
                         int64_t *id, struct reg_error **err);
json_t *hub_store_token_list (struct hub_store *s, int64_t user_id);
json_t *hub_store_token_get (struct hub_store *s, const char *key, int64_t now);
int hub_store_token_delete (struct hub_store *s, int64_t user_id, int64_t id,
                            struct reg_error **err);

/* Devices: {"Id", "Name", "Url", "OwnerId", "Owner", "Created", "State",
 * "LastSeen", "Error", "Info", "Group"}; *_get with secrets also "Ca" and "Token".
 * owner_id 0 lists every device (an admin's view). */
int hub_store_device_add (struct hub_store *s, int64_t owner_id, const char *name, const char *url,
                          const char *ca, const char *token, int64_t *id, struct reg_error **err);
json_t *hub_store_device_get (struct hub_store *s, int64_t id, int with_secrets);
json_t *hub_store_device_list (struct hub_store *s, int64_t owner_id, int with_secrets);
/* hub_store_device_list's rows without secrets as JSON text, rendered by
 * SQLite (a list that is only sent needs no tree of objects); allocated,
 * NULL on failure. */
char *hub_store_device_list_json (struct hub_store *s, int64_t owner_id, size_t *len);
/* What a liveness round needs of every device: {"Id", "Name", "Url", "Ca",
 * "Token", "State", "HasInfo" (1 when its info was read)}. */
json_t *hub_store_device_targets (struct hub_store *s);
/* fields: any of "Name", "Url", "Ca", "Token", "OwnerId", "Group" (null: none). */
int hub_store_device_update (struct hub_store *s, int64_t id, json_t *fields,
                             struct reg_error **err);
int hub_store_device_delete (struct hub_store *s, int64_t id, struct reg_error **err);
/* Changes with every write to devices (add, edit, remove, probe results):
 * what a cached rendering of a device list is checked against. */
uint64_t hub_store_devices_generation (struct hub_store *s);
/* Probe results, one transaction: [{"Id", "State", "LastSeen"?, "Error"?,
 * "Info"?}] ("Info" a JSON object, kept as text). */
int hub_store_device_states (struct hub_store *s, json_t *results, struct reg_error **err);

/* History. Device samples: {"Device", "T", "Cpu" (percent), "MemUsed",
 * "MemTotal", "DiskUsed", "DiskTotal"}; container samples: {"Device", "T",
 * "Container", "Name", "Cpu", "Mem"}. */
int hub_store_samples_add (struct hub_store *s, json_t *device_samples, json_t *container_samples,
                           struct reg_error **err);
json_t *hub_store_samples (struct hub_store *s, int64_t device, int64_t since);
json_t *hub_store_container_samples (struct hub_store *s, int64_t device, const char *container,
                                     int64_t since);
void hub_store_samples_prune (struct hub_store *s, int64_t before);

/* Audit: {"Id", "T", "User", "Device", "DeviceName", "Action", "Target",
 * "Result"}. list: newest first; owner_id 0 = all devices and hub-wide
 * entries; device 0 = any. */
void hub_store_audit (struct hub_store *s, const char *user, int64_t device, const char *action,
                      const char *target, const char *result);
json_t *hub_store_audit_list (struct hub_store *s, int64_t owner_id, int64_t device, int limit);

/* Deployments (deploy.h): {"Id", "App", "Version", "User", "Created",
 * "Finished", "State", "Error", "Spec" (the deploy request), "Template",
 * "Digest", "Files", "AppBytes", "MakeSeconds", "PushSeconds", "PushBytes"};
 * get adds "Devices": one per target {"Device", "DeviceName", "State",
 * "Error", "Container", "Mode", "PullSeconds", "PullBytes", "CreateSeconds",
 * "StartSeconds", "HealthySeconds", "Redeploys" (redeploy.h)}; list (newest first) adds "Targets"
 * and "Healthy" counts. add takes those keys (Spec an object) and the
 * targets [{"Id", "Name"}], in one transaction. */
int64_t hub_store_deployment_next_version (struct hub_store *s, const char *app);
int hub_store_deployment_add (struct hub_store *s, json_t *d, json_t *targets, int64_t *id,
                              struct reg_error **err);
/* fields: any of "State", "Error", "Finished", "Digest", "Files", "AppBytes",
 * "MakeSeconds", "PushSeconds", "PushBytes". */
int hub_store_deployment_update (struct hub_store *s, int64_t id, json_t *fields,
                                 struct reg_error **err);
/* fields: any of a target's keys but Device and DeviceName. */
int hub_store_deployment_target_update (struct hub_store *s, int64_t id, int64_t device,
                                        json_t *fields, struct reg_error **err);
json_t *hub_store_deployment_get (struct hub_store *s, int64_t id);
/* app NULL: every app. */
json_t *hub_store_deployment_list (struct hub_store *s, const char *app, int limit);
/* At start: deployments a stopped hub left unfinished are failed. */
void hub_store_deployments_interrupted (struct hub_store *s);

#endif
