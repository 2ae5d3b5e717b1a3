/* GET /v1/containers/{id}/logs?follow=1&tail=N: the container's log.jsonl
 * rendered as attach frames. With follow, waits for more lines until the
 * container stops or the client hangs up. */
#include "monitor.h"
#include "root.h"
#include "server.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define FOLLOW_POLL_MS 50

struct log_stream
{
  struct regd *d;
  FILE *f;
  char id[65];
  bool follow;
  bool timestamps;
  double since; /* records before this time are skipped; 0: all */
  char *path;   /* log.jsonl, reopened when the monitor rotates it */
  ino_t ino;
  int client_fd;
  char *frame; /* pending frame bytes */
  size_t frame_len, frame_off;
  char *line;
  size_t line_cap;
};

static void
log_stream_free (void *cls)
{
  struct log_stream *s = cls;
  if (s->f)
    fclose (s->f);
  free (s->frame);
  free (s->line);
  free (s->path);
  free (s);
}

/* The monitor renamed log.jsonl to log.jsonl.1: go on in the new file. */
static void
follow_rotation (struct log_stream *s)
{
  struct stat st;
  if (s->path == NULL || stat (s->path, &st) < 0 || st.st_ino == s->ino)
    return;
  FILE *f = fopen (s->path, "re");
  if (f == NULL)
    return;
  fclose (s->f);
  s->f = f;
  s->ino = st.st_ino;
}

/* Turn one JSON log record into a frame; false if the record is unusable. */
static bool
make_frame (struct log_stream *s, const char *rec)
{
  json_t *j = json_loads (rec, 0, NULL);
  const char *stream = json_string_value (json_object_get (j, "stream"));
  json_t *line = json_object_get (j, "line");
  bool partial = json_is_true (json_object_get (j, "partial"));
  const char *t = json_string_value (json_object_get (j, "t"));
  if (stream == NULL || !json_is_string (line)
      || (s->since > 0 && reg_util_rfc3339_time (t) < s->since))
    {
      json_decref (j);
      return false;
    }
  size_t prefix = s->timestamps && t ? strlen (t) + 1 : 0;
  size_t len = prefix + json_string_length (line) + (partial ? 0 : 1);
  free (s->frame);
  s->frame = malloc (8 + len);
  if (s->frame == NULL)
    {
      json_decref (j);
      return false;
    }
  reg_frame_header ((unsigned char *)s->frame,
                    strcmp (stream, "stderr") == 0 ? REG_FRAME_STDERR : REG_FRAME_STDOUT,
                    (unsigned)len);
  if (prefix)
    {
      memcpy (s->frame + 8, t, prefix - 1);
      s->frame[8 + prefix - 1] = ' ';
    }
  memcpy (s->frame + 8 + prefix, json_string_value (line), json_string_length (line));
  if (!partial)
    s->frame[8 + len - 1] = '\n';
  s->frame_len = 8 + len;
  s->frame_off = 0;
  json_decref (j);
  return true;
}

static bool
still_running (struct log_stream *s)
{
  struct reg_container *c = NULL;
  if (reg_engine_container_get (s->d->engine, s->id, &c, NULL) < 0)
    return false;
  bool running = reg_state_live (c->state) || c->state == REG_STATE_GENERATING
                 || c->state == REG_STATE_GENERATED;
  reg_container_free (c);
  return running;
}

/* Wait a little for more log lines; false when the client hung up. */
static bool
wait_for_more (struct log_stream *s)
{
  struct pollfd p = { s->client_fd, POLLRDHUP, 0 };
  int n = poll (&p, s->client_fd >= 0 ? 1 : 0, FOLLOW_POLL_MS);
  return !(n > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)));
}

static ssize_t
log_reader (void *cls, uint64_t pos, char *buf, size_t max)
{
  struct log_stream *s = cls;
  while (s->frame_off == s->frame_len)
    {
      ssize_t n = getline (&s->line, &s->line_cap, s->f);
      if (n > 0)
        {
          make_frame (s, s->line);
          continue;
        }
      clearerr (s->f);
      if (!s->follow)
        return MHD_CONTENT_READER_END_OF_STREAM;
      follow_rotation (s);
      /* Read once more after the container stopped: its last lines. */
      bool running = still_running (s);
      if (!running)
        {
          s->follow = false;
          continue;
        }
      if (!wait_for_more (s))
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
  size_t n = s->frame_len - s->frame_off;
  if (n > max)
    n = max;
  memcpy (buf, s->frame + s->frame_off, n);
  s->frame_off += n;
  return (ssize_t)n;
}

/* One stream of the rotated and the current log (either may be NULL). */
static FILE *
concat_logs (FILE *older, FILE *newer)
{
  if (older == NULL)
    return newer;
  if (newer == NULL)
    return older;
  FILE *both = tmpfile ();
  char buf[65536];
  size_t n;
  for (FILE *f = older; both && f; f = f == older ? newer : NULL)
    while ((n = fread (buf, 1, sizeof buf, f)) > 0)
      fwrite (buf, 1, n, both);
  fclose (older);
  fclose (newer);
  if (both)
    rewind (both);
  return both;
}

/* Position the file so that only the last `tail` records remain. */
static void
seek_tail (FILE *f, long tail)
{
  long lines = 0;
  int ch;
  while ((ch = getc (f)) != EOF)
    lines += ch == '\n';
  rewind (f);
  for (long skip = lines - tail; skip > 0 && (ch = getc (f)) != EOF;)
    skip -= ch == '\n';
}

enum MHD_Result
regd_reply_logs (struct regd *d, struct request *r, const char *ref)
{
  _cleanup_error_ struct reg_error *err = NULL;
  struct reg_container *c = NULL;
  if (reg_engine_container_get (d->engine, ref, &c, &err) < 0)
    return regd_reply_error (r, err);
  struct log_stream *s = calloc (1, sizeof *s);
  if (s == NULL)
    {
      reg_container_free (c);
      return MHD_NO;
    }
  memcpy (s->id, c->id, sizeof s->id);
  reg_container_free (c);
  s->d = d;
  const char *follow = regd_query (r, "follow");
  const char *tail = regd_query (r, "tail");
  const char *since = regd_query (r, "since");
  const char *timestamps = regd_query (r, "timestamps");
  s->follow = follow && strcmp (follow, "1") == 0;
  s->timestamps = timestamps && strcmp (timestamps, "1") == 0;
  s->since = since ? reg_util_parse_when (since) : 0;
  if (s->since < 0)
    {
      log_stream_free (s);
      return regd_reply_message (r, MHD_HTTP_BAD_REQUEST,
                                 "logs %s: --since \"%s\" is not a time (RFC 3339, seconds since "
                                 "the epoch, or a duration like 10m)",
                                 ref, since);
    }
  s->client_fd = regd_client_fd (r);
  s->path = reg_root_container_file (d->engine->root, s->id, "log.jsonl");
  _cleanup_free_ char *rotated = reg_root_container_file (d->engine->root, s->id, "log.jsonl.1");
  /* Without follow, the rotated part comes first: the whole kept history. */
  FILE *older = !s->follow && rotated ? fopen (rotated, "re") : NULL;
  FILE *newer = s->path ? fopen (s->path, "re") : NULL;
  struct stat st;
  if (newer && fstat (fileno (newer), &st) == 0)
    s->ino = st.st_ino;
  s->f = concat_logs (older, newer);
  if (s->f == NULL)
    s->f = fopen ("/dev/null", "re"); /* never started: no log yet */
  char *end = NULL;
  long n = tail ? strtol (tail, &end, 10) : -1;
  if (tail && (*tail == '\0' || *end != '\0' || n < 0))
    {
      log_stream_free (s);
      return regd_reply_message (r, MHD_HTTP_BAD_REQUEST, "logs %s: --tail \"%s\" is not a count",
                                 ref, tail);
    }
  if (n >= 0)
    seek_tail (s->f, n);
  struct MHD_Response *resp = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 64 * 1024,
                                                                 log_reader, s, log_stream_free);
  MHD_add_response_header (resp, "Content-Type", "application/vnd.reg.stream");
  enum MHD_Result ret = MHD_queue_response (r->conn, MHD_HTTP_OK, resp);
  MHD_destroy_response (resp);
  return ret;
}
