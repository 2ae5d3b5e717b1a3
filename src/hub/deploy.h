/* deploy: the deployment pipeline (docs/hub.md, "Deploying an app").
 *
 * A deployment takes an uploaded app and a config, and
 *  1. makes the template APP@VERSION in the hub's engine (apps.h): the
 *     app's files under /app, requiring its base templates (pulled into the
 *     hub from the registry first when it lacks them);
 *  2. pushes it to the registry, with any base the registry lacks;
 *  3. on each target device, through regd's API: pulls it (only the blobs
 *     the device lacks: a changed app moves its changed files), creates and
 *     starts the container, and waits until its health check passes.
 * A device that already runs the app gets the new version next to the old
 * one when their ports cannot clash — it publishes none and does not use
 * the device's network (--network host) — (then the old is removed), or in
 * its place otherwise (the old one stopped and kept until the new one is
 * healthy). When the new version fails — it does not start, exits, turns
 * unhealthy or is not healthy in time — it is removed and the old one is
 * put back and started again; the device is "rolled back" and the
 * deployment "failed" with the reason.
 * Devices are updated `Parallel` at a time (default 1): a rolling update
 * that stops at the first batch with a failure, leaving the devices after
 * it "skipped".
 *
 * With "Redeploy" {"After", "Attempts"} (and a health check), the hub
 * later recreates a container that stays unhealthy (redeploy.h).
 *
 * Every step's time (make, push, pull, create, start, healthy) and the
 * bytes pushed and pulled are recorded in the hub's store as they happen,
 * so GET /api/v1/deployments/ID shows a deployment in progress.
 *
 * A deployment runs on a thread of its own; hub_deploy_wait (at stop) asks
 * running ones to stop between steps and waits for them.
 */
#ifndef REG_HUB_DEPLOY_H
#define REG_HUB_DEPLOY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct hub;

#define HUB_DEPLOY_TIMEOUT_S 120 /* default wait for healthy */

/* Check a deployment's config (JSON text) for app `app`, and resolve its
 * targets among the devices `owner` may see (0: all). Returns the config
 * with "Version" (given, or the next number), "Name" (the container's,
 * default the app's name), "Parallel", "Timeout" and "Targets" [{"Id",
 * "Name"}] filled in; NULL with err (EINVAL: what is wrong; ENOENT: an
 * unknown device or group). */
json_t *hub_deploy_check (struct hub *h, const char *app, const char *config, int64_t owner,
                          struct reg_error **err);

/* regd's POST /v1/containers body for a checked config, template
 * name@version, container name. */
json_t *hub_deploy_create_body (json_t *spec, const char *tmpl, const char *name);

/* Run deployment `id` (its row made by the caller) on a thread of its own.
 * upload: the file's path, now the pipeline's (removed when done). */
int hub_deploy_start (struct hub *h, int64_t id, json_t *spec, char *upload, const char *filename,
                      const char *user, struct reg_error **err);

void hub_deploy_wait (struct hub *h);

/* Redeploy (redeploy.h): on device `dev` (its row, with secrets), stop
 * and remove the container spec's "Name" and create, start and wait for a
 * new one from `tmpl` with the same config — a fresh upper layer. The
 * deployment's record is not touched. */
int hub_deploy_recreate (struct hub *h, json_t *spec, const char *tmpl, json_t *dev,
                         struct reg_error **err);

#endif
