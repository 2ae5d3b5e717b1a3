/* events: the engine's lifecycle as a log, for `reg events` and the API.
 *
 * Every event is one JSON line appended to <root>/events.jsonl, in
 * Docker's shape: {"Type": "container"|"template"|"volume", "Action",
 * "Actor": {"ID", "Attributes": {...}}, "time": seconds, "timeNano"}.
 * regd appends what it does (create, stop, kill, pause, destroy,
 * template create/delete, volume create/destroy); a container's monitor
 * appends its starts (the first, and those of the restart policy), what
 * happens without regd (die, oom, the destroy of an --rm container), so
 * the log is complete even while regd is down, and a container's "start"
 * always comes before its "die", however soon the process exits. A line is one O_APPEND write,
 * never torn or mixed. Past 1 MiB the log is renamed to events.jsonl.1 (one kept, under an flock of
 * events.lock, so two writers never rotate twice).
 *
 * Emitting never fails the operation it reports: an event that cannot be
 * written is lost, and said so on stderr. */
#ifndef REG_EVENTS_H
#define REG_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "container.h"
#include "error.h"

#define REG_EVENTS_MAX_SIZE (1024 * 1024)

struct json_t;

/* attributes (stolen; NULL for none): string values. */
void reg_events_emit (const char *root, const char *type, const char *action, const char *id,
                      struct json_t *attributes);
/* A container event: attributes name and template (the first), plus
 * key=value when key is not NULL. */
void reg_events_container (const char *root, const struct reg_container *c, const char *action,
                           const char *key, const char *value);

/* What to read: events at or after since (when has_since; else only new
 * ones) and before until (0: no end); filters as the API's
 * {"type": [...], "container": [...], "event": [...], "template": [...],
 * "volume": [...]} (values of one key: any; keys: all). */
struct reg_events_query
{
  bool has_since; /* since given (even 0: every event kept) */
  double since, until;
  struct json_t *filters; /* borrowed */
};

/* Check a filters object; EINVAL naming the bad key or value. */
int reg_events_filters_check (struct json_t *filters, struct reg_error **err);
bool reg_events_match (struct json_t *filters, struct json_t *event);

/* Give fn each matching line (without its newline). Past events first
 * (since), then, unless until is in the past, new ones as they are
 * written, until `until`, until fn returns -1, or until cancel_fd (the
 * write end of the pipe the reply reads) reports an error (the reader went
 * away). */
typedef int (*reg_events_fn) (void *data, const char *line, size_t len);
int reg_events_read (const char *root, const struct reg_events_query *q, reg_events_fn fn,
                     void *data, int cancel_fd, struct reg_error **err);

#endif
