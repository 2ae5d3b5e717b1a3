/* logfile: a container's log, containers/<id>/log.jsonl: written by its
 * monitor, read back as frames (proto.h) for reg logs. One JSON record per
 * line of output,
 * {"t": RFC 3339, "stream": "stdout"|"stderr", "line": "...", "partial"?: true}.
 *
 * Batched: the records of one read of the container's output share its
 * time and go to the file in one write (a program printing 2-byte lines
 * cost its monitor a JSON document, a clock read, an fstat and a write per
 * line). Records are rendered by jansson into the batch buffer, reusing
 * one record object.
 *
 * Bounded twice:
 *   - per container: when the next record would take the file past `cap`
 *     (the container's --log-max-size, default REG_LOG_MAX_SIZE) it
 *     becomes log.jsonl.1, replacing the previous one, also in the middle
 *     of a batch; at most twice the cap is kept;
 *   - in all: every REG_LOG_CHECK_BYTES of output (written or dropped) the
 *     monitor adds up every container's log.jsonl and log.jsonl.1; above
 *     the global cap it first deletes its own log.jsonl.1, and if that is
 *     not enough it drops its container's output (one record says so)
 *     until the total is under the cap again (one record says how much was
 *     lost). Each monitor only ever deletes its own files. The total can
 *     pass the cap by at most REG_LOG_CHECK_BYTES plus one batch per
 *     running container. The cap is regd's --log-total-max, passed to the
 *     monitors as REG_LOG_TOTAL_MAX (bytes), default REG_LOG_TOTAL_MAX_DEFAULT.
 */
#ifndef REG_LOGFILE_H
#define REG_LOGFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define REG_LOG_TOTAL_MAX_DEFAULT ((int64_t)1 << 30)
#define REG_LOG_CHECK_BYTES (1 << 20)
#define REG_LOG_BATCH (128 * 1024)

struct reg_logfile
{
  char *path, *rotated; /* log.jsonl, log.jsonl.1 */
  char *containers;     /* <root>/containers, for the global total */
  int fd;
  int64_t size, cap, total_max;
  int64_t since_check; /* output bytes since the total was last added up */
  bool dropping;
  int64_t dropped; /* bytes of records dropped while over the global cap */
  char t[40];      /* the time of the current batch */
  json_t *rec, *time, *stream, *line;
  size_t len;
  char buf[REG_LOG_BATCH];
};

/* Open (appending) the log of container `id`; cap 0: REG_LOG_MAX_SIZE;
 * total_max 0: REG_LOG_TOTAL_MAX from the environment, else the default. */
int reg_logfile_open (struct reg_logfile *l, const char *root, const char *id, int64_t cap,
                      int64_t total_max, struct reg_error **err);
/* Start a batch: its records get the current time. */
void reg_logfile_begin (struct reg_logfile *l);
/* Add one record (stream "stdout" or "stderr"; bytes that are not UTF-8
 * become '?'). */
void reg_logfile_line (struct reg_logfile *l, const char *stream, const char *text, size_t len,
                       bool partial);
/* Write the batch out (rotating, checking the global cap). */
void reg_logfile_flush (struct reg_logfile *l);
void reg_logfile_close (struct reg_logfile *l);
/* Bytes in every container's log.jsonl and log.jsonl.1 under `containers`. */
int64_t reg_logfile_total (const char *containers);

/* Reading: the records as frames (stdout or stderr, a line each, "\n"
 * ended unless partial), oldest first. Without follow, log.jsonl.1 then
 * log.jsonl: the whole kept history. With follow, log.jsonl from `tail`
 * on, then what is written after, across rotations, until live() says the
 * container has stopped (what it wrote last is read first). */
struct reg_logfile_query
{
  bool follow;
  bool timestamps; /* each line starts with its record's time and a space */
  double since;    /* records before this time (seconds) are skipped; 0: all */
  long tail;       /* only the last `tail` records; -1: all */
};
struct reg_logfile_reader;
int reg_logfile_reader_open (const char *root, const char *id, const struct reg_logfile_query *q,
                             bool (*live) (void *data, const char *id), void *live_data,
                             struct reg_logfile_reader **out, struct reg_error **err);
/* Up to max bytes of frames; 0 at the end; -1 when cancel_fd (a client's
 * socket, or -1) hung up while following. Blocks, while following, until
 * there is more. */
ssize_t reg_logfile_reader_read (struct reg_logfile_reader *r, char *buf, size_t max,
                                 int cancel_fd);
void reg_logfile_reader_close (struct reg_logfile_reader *r);

#endif
