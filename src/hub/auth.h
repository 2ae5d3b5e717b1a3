/* auth: passwords, secrets and login throttling for reg-hub.
 *
 * Passwords are hashed with PBKDF2-HMAC-SHA256 (OpenSSL) and stored as
 * "pbkdf2-sha256$ITERATIONS$SALT$HASH" (base64 salt and hash), so each hash
 * carries its parameters: a hash made with fewer iterations than the hub's
 * current figure verifies, and hub_auth_needs_rehash() tells the caller to
 * store a new one (done at the next successful login). Comparisons are in
 * constant time.
 *
 * Session cookies and API tokens are 32 random bytes (base64url); the
 * database keeps only their SHA-256, so a stolen database opens nothing.
 *
 * Throttling: failures are counted per user name and per client address in
 * memory (15 min window); after HUB_AUTH_FREE_FAILURES failures for a name
 * (or HUB_AUTH_FREE_FAILURES_PER_ADDRESS from one address: many users may
 * share one), each further attempt must wait 5 * 2^(n - free) seconds
 * (capped at 15 min) since the last failure, and is refused (429) without
 * checking the password.
 */
#ifndef REG_HUB_AUTH_H
#define REG_HUB_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define HUB_PBKDF2_MIN_ITERATIONS 600000
#define HUB_AUTH_FREE_FAILURES 5
#define HUB_AUTH_FREE_FAILURES_PER_ADDRESS 20

/* Allocated "pbkdf2-sha256$..." of `password`, or NULL (err set). */
char *hub_auth_hash (const char *password, unsigned iterations, struct reg_error **err);
bool hub_auth_verify (const char *password, const char *stored);
bool hub_auth_needs_rehash (const char *stored, unsigned iterations);

/* 32 random bytes as base64url (43 chars + NUL), with an optional prefix. */
int hub_auth_secret (const char *prefix, char out[64], struct reg_error **err);
/* SHA-256 hex of a secret (65 bytes). */
void hub_auth_key (const char *secret, char out[65]);
/* Constant-time string equality. */
bool hub_auth_equal (const char *a, const char *b);

/* Throttle: seconds the caller must still wait (0: go ahead). */
unsigned hub_auth_throttle_wait (const char *name, const char *addr, int64_t now);
void hub_auth_throttle_fail (const char *name, const char *addr, int64_t now);
void hub_auth_throttle_ok (const char *name, const char *addr);

#endif
