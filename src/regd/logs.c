/* GET /v1/containers/{id}/logs?follow=1&tail=N&since=T&timestamps=1: the
 * container's log as attach frames, read by the engine (logfile.h). With
 * follow, more as it is written, until the container stops or the client
 * hangs up. */
#include "server.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct log_stream
{
  struct reg_logfile_reader *reader;
  int client_fd;
};

static ssize_t
log_reader (void *cls, uint64_t pos, char *buf, size_t max)
{
  struct log_stream *s = cls;
  ssize_t n = reg_logfile_reader_read (s->reader, buf, max, s->client_fd);
  return n > 0 ? n : n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void
log_stream_free (void *cls)
{
  struct log_stream *s = cls;
  reg_logfile_reader_close (s->reader);
  free (s);
}

/* The query; a message in *bad when it is not one. */
static bool
log_query (struct request *r, const char *ref, struct reg_logfile_query *q, char **bad)
{
  const char *follow = regd_query (r, "follow"), *tail = regd_query (r, "tail");
  const char *since = regd_query (r, "since"), *timestamps = regd_query (r, "timestamps");
  char *end = NULL;
  q->follow = follow && strcmp (follow, "1") == 0;
  q->timestamps = timestamps && strcmp (timestamps, "1") == 0;
  q->since = since ? reg_util_parse_when (since) : 0;
  q->tail = tail ? strtol (tail, &end, 10) : -1;
  if (q->since < 0
      && asprintf (bad,
                   "logs %s: --since \"%s\" is not a time (RFC 3339, seconds since the epoch, "
                   "or a duration like 10m)",
                   ref, since)
             < 0)
    *bad = NULL;
  else if (q->since >= 0 && tail && (*tail == '\0' || *end != '\0' || q->tail < 0)
           && asprintf (bad, "logs %s: --tail \"%s\" is not a count", ref, tail) < 0)
    *bad = NULL;
  return *bad == NULL && q->since >= 0;
}

enum MHD_Result
regd_reply_logs (struct regd *d, struct request *r, const char *ref)
{
  _cleanup_error_ struct reg_error *err = NULL;
  _cleanup_free_ char *bad = NULL;
  struct reg_logfile_query q;
  if (!log_query (r, ref, &q, &bad))
    return regd_reply_message (r, MHD_HTTP_BAD_REQUEST, "%s", bad ? bad : "logs: bad query");
  struct log_stream *s = calloc (1, sizeof *s);
  if (s == NULL || reg_engine_container_logs (d->engine, ref, &q, &s->reader, &err) < 0)
    {
      free (s);
      return err ? regd_reply_error (r, err) : MHD_NO;
    }
  s->client_fd = regd_client_fd (r);
  struct MHD_Response *resp = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 64 * 1024,
                                                                 log_reader, s, log_stream_free);
  MHD_add_response_header (resp, "Content-Type", "application/vnd.reg.stream");
  enum MHD_Result ret = MHD_queue_response (r->conn, MHD_HTTP_OK, resp);
  MHD_destroy_response (resp);
  return ret;
}
