/* redeploy: the "automatic redeploy" of the deployment framework — the
 * hub recreates a deployed container that stays unhealthy (docs/hub.md,
 * "Automatic redeploy").
 *
 * A deployment whose config has "Redeploy": {"After": seconds, "Attempts":
 * N} (deploy.h checks it; it needs a health check) is watched on each of
 * its devices once it is healthy there, for as long as it is the newest
 * deployment of that container name on that device (a newer one, even in
 * progress, takes over; one that failed or was rolled back does not). Every
 * probe interval one thread asks each watched device for the container's
 * state: when regd's health check has said "unhealthy" for `After` seconds
 * (as seen by these rounds: the target's UnhealthySince, in the hub's
 * database, so a hub restarted meanwhile keeps counting), the hub stops and removes the container
 * and creates, starts and waits for a new one from the same template and config
 * (hub_deploy_recreate: a fresh upper layer, what a redeploy means; the deployment's step times are
 * kept). The target's "Redeploys" counts the attempts and its State is "redeploying" during one; a
 * failed attempt is retried at the next round. After `Attempts` redeploys of one deployment on one
 * device, a container unhealthy again is left alone and the target marked "unhealthy" with the
 * reason ("gave up after N redeploys: …"): a new deployment is needed. Every attempt and the giving
 * up are in the audit log (action "redeploy", user "reg-hub").
 *
 * A container that is gone or stopped is not redeployed (someone removed
 * or stopped it; its restart policy is regd's business).
 */
#ifndef REG_HUB_REDEPLOY_H
#define REG_HUB_REDEPLOY_H

#include "error.h"

struct hub;

/* Start the watching thread (after the store is open). */
int hub_redeploy_start (struct hub *h, struct reg_error **err);
/* Set h->stopping, wake the thread and wait for it (a redeploy in progress
 * ends at its next health poll). */
void hub_redeploy_stop (struct hub *h);

#endif
