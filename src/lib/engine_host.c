/* engine: the host as a whole (engine.h) — what it is and how busy it is
 * (hostinfo.h, for reg-hub's device pages), and the event log (events.h)
 * that `reg events` and the hub follow. */
#include "engine.h"
#include "events.h"
#include "hostinfo.h"

int
reg_engine_host_info (struct reg_engine *e, struct reg_hostinfo *out, struct reg_error **err)
{
  return reg_hostinfo_read (e->root, out, err);
}

int
reg_engine_host_stats (struct reg_engine *e, struct reg_hoststats *out, struct reg_error **err)
{
  return reg_hostinfo_stats_read (e->root, out, err);
}

int
reg_engine_events_read (struct reg_engine *e, const struct reg_events_query *q, reg_events_fn fn,
                        void *data, int cancel_fd, struct reg_error **err)
{
  return reg_events_read (e->root, q, fn, data, cancel_fd, err);
}
