/* health: a container's health check (Docker's HEALTHCHECK) as configured,
 * and its results as recorded in the container's state. Pure data, JSON
 * and parsing; the checks themselves run in regd (src/regd/health.c).
 *
 * A check's Test is Docker's: ["CMD-SHELL", "command"] (run with
 * /bin/sh -c in the container), ["CMD", argv...], or ["NONE"] (no check,
 * also over a template's). reg adds ["HTTP-GET", "/path", "PORT",
 * "STATUS"]: a GET of http://127.0.0.1:PORT/path made by regd inside the
 * container's network namespace, healthy when the reply's status is STATUS
 * ("0": any 2xx or 3xx), and ["TCP-CONNECT", "PORT"]: a TCP connection to
 * 127.0.0.1:PORT, made the same way, healthy when it is accepted. Durations are nanoseconds, 0
 * meaning the default. The status goes starting -> healthy | unhealthy: any passing check makes it
 * healthy; `retries` failures in a row make it unhealthy, failures inside the start period not
 * counting. */
#ifndef REG_HEALTH_H
#define REG_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define REG_HEALTH_INTERVAL_NS (30LL * 1000000000LL)
#define REG_HEALTH_TIMEOUT_NS (30LL * 1000000000LL)
#define REG_HEALTH_RETRIES 3
#define REG_HEALTH_LOG_MAX 5        /* results kept, as Docker */
#define REG_HEALTH_OUTPUT_MAX 4096  /* bytes of output kept per result, as Docker */
#define REG_HEALTH_MIN_NS 1000000LL /* 1 ms: the shortest interval and timeout */

struct reg_healthcheck
{
  char **test; /* NULL: no check */
  int64_t interval, timeout, start_period;
  int64_t start_interval; /* between checks in the start period while starting (Docker 25's
                           * --health-start-interval); 0: the interval */
  int retries;
};

enum reg_health_status
{
  REG_HEALTH_NONE, /* no check configured */
  REG_HEALTH_STARTING,
  REG_HEALTH_HEALTHY,
  REG_HEALTH_UNHEALTHY,
};

struct reg_health_result
{
  char start[40], end[40]; /* RFC 3339 */
  int exit_code;           /* 0 passed, 1 failed, -1 could not run (Docker's) */
  char *output;
};

struct reg_health_state
{
  enum reg_health_status status;
  int failing_streak;
  struct reg_health_result log[REG_HEALTH_LOG_MAX]; /* oldest first */
  int n_log;
};

/* Docker's duration: a sequence of NUMBER UNIT ("1m30s", "500ms", "1.5s"),
 * units ns, us, ms, s, m, h. Allocation-free; -1 with *err naming `what`. */
int reg_health_duration_parse (const char *what, const char *s, int64_t *ns,
                               struct reg_error **err);
/* Whether the check is usable: a known Test form with its arguments,
 * durations >= 0 (interval, timeout and start interval 0 or at least 1 ms),
 * retries >= 0. */
int reg_health_check_valid (const struct reg_healthcheck *h, struct reg_error **err);
/* The effective values (defaults for zeros). */
int64_t reg_health_interval (const struct reg_healthcheck *h);
int64_t reg_health_timeout (const struct reg_healthcheck *h);
int reg_health_retries (const struct reg_healthcheck *h);
/* How long until the next check, `since` ns after the run started, with
 * the status now: the start interval while the container is starting and
 * inside its start period (when one is set), else the interval. The first
 * check of a run comes that long after the start. */
int64_t reg_health_next_wait (const struct reg_healthcheck *h, int64_t since,
                              enum reg_health_status status);
/* A check is configured and not ["NONE"]. */
bool reg_health_enabled (const struct reg_healthcheck *h);

const char *reg_health_status_name (enum reg_health_status s);

struct json_t;
/* Docker's {"Test", "Interval", "Timeout", "Retries", "StartPeriod", "StartInterval"}; NULL
 * when no check is configured. */
struct json_t *reg_health_check_to_json (const struct reg_healthcheck *h);
/* From that JSON; wrong types refused (what names it), and unknown keys
 * too when strict (requests and images; a state file, which a newer
 * version may have written, is read with strict false). */
int reg_health_check_from_json (struct json_t *j, const char *what, bool strict,
                                struct reg_healthcheck *h, struct reg_error **err);
int reg_health_check_copy (struct reg_healthcheck *dst, const struct reg_healthcheck *src);
void reg_health_check_clear (struct reg_healthcheck *h);

/* Docker's State.Health {"Status", "FailingStreak", "Log": [{"Start",
 * "End", "ExitCode", "Output"}]}; NULL for REG_HEALTH_NONE. */
struct json_t *reg_health_state_to_json (const struct reg_health_state *s);
void reg_health_state_from_json (struct json_t *j, struct reg_health_state *s);
/* Back to "starting" with an empty log (a start of the container). */
void reg_health_state_reset (struct reg_health_state *s, bool enabled);
/* Record one result (output copied, truncated) and move the status:
 * counted = false inside the start period (a failure then does not count).
 * Returns true when the status changed. */
bool reg_health_state_record (struct reg_health_state *s, const struct reg_health_result *r,
                              bool counted, int retries);
void reg_health_state_clear (struct reg_health_state *s);

#endif
