/* /v1/events: the engine's lifecycle (events.h) as JSON lines,
 * application/x-ndjson, one event per line, as they happen.
 *
 *   ?since=WHEN   past events from then on first (RFC 3339, epoch seconds,
 *                 or a duration ago: 30s, 10m, 2h); without it only new ones
 *   ?until=WHEN   the stream ends there (at once when it is past)
 *   ?filters=JSON {"type": [...], "container": [...], "event": [...], ...}
 *
 * A thread reads the log and writes the matching lines into a pipe that
 * the server streams; the client hanging up closes the pipe, which ends
 * the thread. GET, or POST with the same query (the client's line
 * reader posts). */
#include "events.h"
#include "server.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct events_job
{
  struct reg_engine *engine;
  struct reg_events_query q;
  json_t *filters;
  int out_fd;
};

static int
write_line (void *data, const char *line, size_t len)
{
  int fd = *(int *)data;
  return reg_util_write_all (fd, line, len) < 0 || reg_util_write_all (fd, "\n", 1) < 0 ? -1 : 0;
}

static void *
events_thread (void *arg)
{
  struct events_job *j = arg;
  struct reg_error *err = NULL;
  if (reg_engine_events_read (j->engine, &j->q, write_line, &j->out_fd, j->out_fd, &err) < 0)
    {
      json_t *m = json_pack ("{s:s}", "error", err->msg);
      char *text = m ? json_dumps (m, JSON_COMPACT) : NULL;
      if (text)
        write_line (&j->out_fd, text, strlen (text));
      free (text);
      json_decref (m);
    }
  reg_error_free (err);
  close (j->out_fd);
  json_decref (j->filters);
  free (j);
  return NULL;
}

static int
parse_query (struct request *r, struct events_job *j, struct reg_error **err)
{
  const char *since = regd_query (r, "since"), *until = regd_query (r, "until");
  const char *filters = regd_query (r, "filters");
  j->q.has_since = since != NULL;
  j->q.since = since ? reg_util_parse_when (since) : 0;
  j->q.until = until ? reg_util_parse_when (until) : 0;
  if (j->q.since < 0 || j->q.until < 0)
    return reg_error_set (err, EINVAL,
                          "events: --%s \"%s\" is not a time (RFC 3339, seconds since the epoch, "
                          "or a duration such as 10m)",
                          j->q.since < 0 ? "since" : "until", j->q.since < 0 ? since : until);
  if (filters && *filters)
    {
      json_error_t je;
      j->filters = json_loads (filters, 0, &je);
      if (j->filters == NULL)
        return reg_error_set (err, EINVAL, "events: filters are not JSON: %s", je.text);
    }
  j->q.filters = j->filters;
  return reg_events_filters_check (j->filters, err);
}

enum MHD_Result
regd_route_events (struct regd *d, struct request *r)
{
  if (strcmp (r->method, "GET") != 0 && strcmp (r->method, "POST") != 0)
    return regd_reply_message (r, MHD_HTTP_METHOD_NOT_ALLOWED, "events: GET /v1/events");
  _cleanup_error_ struct reg_error *err = NULL;
  struct events_job *j = calloc (1, sizeof *j);
  int p[2] = { -1, -1 };
  if (j)
    j->engine = d->engine;
  if (j == NULL || parse_query (r, j, &err) < 0 || pipe2 (p, O_CLOEXEC) < 0)
    {
      if (j)
        {
          json_decref (j->filters);
        }
      free (j);
      return err ? regd_reply_error (r, err)
                 : regd_reply_message (r, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                       "events: out of resources");
    }
  j->out_fd = p[1];
  pthread_t th;
  if (pthread_create (&th, NULL, events_thread, j) != 0)
    {
      close (p[0]);
      close (p[1]);
      json_decref (j->filters);
      free (j);
      return regd_reply_message (r, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                 "events: cannot start a thread");
    }
  pthread_detach (th);
  return regd_reply_lines (r, p[0]);
}
