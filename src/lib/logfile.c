/* logfile: see logfile.h. */
#include "logfile.h"
#include "container.h"
#include "proto.h"
#include "root.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int64_t
total_max_from_env (void)
{
  const char *text = getenv ("REG_LOG_TOTAL_MAX");
  char *end = NULL;
  long long v = text ? strtoll (text, &end, 10) : 0;
  return v > 0 && *end == '\0' ? (int64_t)v : REG_LOG_TOTAL_MAX_DEFAULT;
}

int
reg_logfile_open (struct reg_logfile *l, const char *root, const char *id, int64_t cap,
                  int64_t total_max, struct reg_error **err)
{
  memset (l, 0, sizeof *l);
  l->fd = -1;
  l->cap = cap > 0 ? cap : REG_LOG_MAX_SIZE;
  l->total_max = total_max > 0 ? total_max : total_max_from_env ();
  l->path = reg_root_container_file (root, id, "log.jsonl");
  l->rotated = reg_root_container_file (root, id, "log.jsonl.1");
  l->rec = json_object ();
  l->time = json_string ("");
  l->stream = json_string ("stdout");
  l->line = json_string ("");
  l->containers = reg_root_path (root, REG_ROOT_CONTAINERS, NULL, NULL);
  if (l->path == NULL || l->rotated == NULL || l->containers == NULL || l->rec == NULL
      || l->time == NULL || l->stream == NULL || l->line == NULL
      || json_object_set (l->rec, "t", l->time) < 0
      || json_object_set (l->rec, "stream", l->stream) < 0
      || json_object_set (l->rec, "line", l->line) < 0)
    {
      reg_logfile_close (l);
      return reg_error_set (err, ENOMEM, "container %.12s: log: out of memory", id);
    }
  l->fd = open (l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  struct stat st;
  if (l->fd < 0 || fstat (l->fd, &st) < 0)
    {
      int e = errno;
      reg_logfile_close (l);
      return reg_error_sys (err, e, "container %.12s: open log", id);
    }
  l->size = st.st_size;
  return 0;
}

void
reg_logfile_begin (struct reg_logfile *l)
{
  reg_util_now_rfc3339 (l->t);
  json_string_set (l->time, l->t);
}

/* The line as a JSON string value: bytes that are not UTF-8 become '?'. */
static void
set_line (struct reg_logfile *l, const char *text, size_t len)
{
  if (json_string_setn (l->line, text, len) == 0)
    return;
  char *copy = malloc (len ? len : 1);
  if (copy == NULL)
    {
      json_string_set (l->line, "");
      return;
    }
  for (size_t i = 0; i < len; i++)
    copy[i] = (unsigned char)text[i] < 0x80 ? text[i] : '?';
  json_string_setn (l->line, copy, len);
  free (copy);
}

static void write_out (struct reg_logfile *l, size_t len);
static void rotate (struct reg_logfile *l);

/* The record just rendered at buf[at..at+n) would take the file past its
 * cap: what is before it goes to this file, the record starts the next.
 * (A batch never crosses the cap, so a small cap holds as before.) */
static void
rotate_before (struct reg_logfile *l, size_t at, size_t n)
{
  write_out (l, at);
  rotate (l);
  memmove (l->buf, l->buf + at, n);
  l->len = 0;
}

void
reg_logfile_line (struct reg_logfile *l, const char *stream, const char *text, size_t len,
                  bool partial)
{
  json_string_set (l->stream, stream);
  set_line (l, text, len);
  if (partial)
    json_object_set_new (l->rec, "partial", json_true ());
  for (int attempt = 0; attempt < 2; attempt++)
    {
      size_t room = sizeof l->buf - l->len;
      size_t n = room > 1 ? json_dumpb (l->rec, l->buf + l->len, room - 1, JSON_COMPACT) : room;
      if (n > 0 && n < room)
        {
          int64_t before = l->size + (int64_t)l->len;
          if (before > 0 && before + (int64_t)n + 1 > l->cap)
            rotate_before (l, l->len, n);
          l->len += n;
          l->buf[l->len++] = '\n';
          break;
        }
      if (n == 0 || l->len == 0)
        break; /* cannot be rendered, or larger than a batch: lost */
      reg_logfile_flush (l);
    }
  if (partial)
    json_object_del (l->rec, "partial");
}

static int64_t
file_size (int dfd, const char *name)
{
  struct stat st;
  return fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode) ? st.st_size
                                                                                    : 0;
}

int64_t
reg_logfile_total (const char *containers)
{
  DIR *d = opendir (containers);
  if (d == NULL)
    return 0;
  int64_t total = 0;
  struct dirent *ent;
  while ((ent = readdir (d)) != NULL)
    {
      if (ent->d_name[0] == '.')
        continue;
      _cleanup_close_ int dfd
          = openat (dirfd (d), ent->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (dfd < 0)
        continue;
      total += file_size (dfd, "log.jsonl") + file_size (dfd, "log.jsonl.1");
    }
  closedir (d);
  return total;
}

/* A record of reg's own, on stderr, written at once (beside the batch). */
static void
note (struct reg_logfile *l, const char *fmt, long long bytes)
{
  char msg[256], rec[512];
  snprintf (msg, sizeof msg, fmt, bytes, (long long)l->total_max);
  json_string_set (l->stream, "stderr");
  set_line (l, msg, strlen (msg));
  size_t n = json_dumpb (l->rec, rec, sizeof rec - 1, JSON_COMPACT);
  if (n == 0 || n >= sizeof rec)
    return;
  rec[n++] = '\n';
  if (reg_util_write_all (l->fd, rec, n) == 0)
    l->size += (int64_t)n;
}

/* Every REG_LOG_CHECK_BYTES: are all logs together over the global cap? */
static void
check_total (struct reg_logfile *l)
{
  if (l->since_check < REG_LOG_CHECK_BYTES)
    return;
  l->since_check = 0;
  int64_t total = reg_logfile_total (l->containers);
  if (total > l->total_max && unlink (l->rotated) == 0)
    total = reg_logfile_total (l->containers);
  if (total > l->total_max && !l->dropping)
    {
      l->dropping = true;
      l->dropped = 0;
      note (l,
            "reg: output dropped from here: all containers' logs passed the global cap "
            "(%lld bytes seen, cap %lld bytes; regd --log-total-max)",
            (long long)total);
    }
  else if (total <= l->total_max && l->dropping)
    {
      l->dropping = false;
      note (l, "reg: output logged again; %lld bytes were dropped (global cap %lld bytes)",
            (long long)l->dropped);
    }
}

static void
rotate (struct reg_logfile *l)
{
  if (l->size == 0 || rename (l->path, l->rotated) < 0)
    return;
  int fd = open (l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return; /* keep writing to the rotated file rather than lose output */
  close (l->fd);
  l->fd = fd;
  l->size = 0;
}

/* buf[0..len) to the file, unless all logs are over the global cap. */
static void
write_out (struct reg_logfile *l, size_t len)
{
  if (len == 0 || l->fd < 0)
    return;
  l->since_check += (int64_t)len;
  check_total (l);
  if (l->dropping)
    {
      l->dropped += (int64_t)len;
      return;
    }
  if (reg_util_write_all (l->fd, l->buf, len) == 0)
    l->size += (int64_t)len;
}

void
reg_logfile_flush (struct reg_logfile *l)
{
  write_out (l, l->len);
  l->len = 0;
}

void
reg_logfile_close (struct reg_logfile *l)
{
  reg_logfile_flush (l);
  if (l->fd >= 0)
    close (l->fd);
  l->fd = -1;
  json_decref (l->rec);
  json_decref (l->time);
  json_decref (l->stream);
  json_decref (l->line);
  l->rec = l->time = l->stream = l->line = NULL;
  free (l->path);
  free (l->rotated);
  free (l->containers);
  l->path = l->rotated = l->containers = NULL;
}

/* ---- reading ---- */

#define FOLLOW_POLL_MS 50

struct reg_logfile_reader
{
  FILE *f;
  char id[65];
  struct reg_logfile_query q;
  bool (*live) (void *data, const char *id);
  void *live_data;
  char *path; /* log.jsonl, reopened when the monitor rotates it */
  ino_t ino;
  unsigned char *frame; /* pending frame bytes */
  size_t frame_len, frame_off;
  char *line;
  size_t line_cap;
};

void
reg_logfile_reader_close (struct reg_logfile_reader *r)
{
  if (r == NULL)
    return;
  if (r->f)
    fclose (r->f);
  free (r->frame);
  free (r->line);
  free (r->path);
  free (r);
}

/* The monitor renamed log.jsonl to log.jsonl.1: go on in the new file. */
static void
follow_rotation (struct reg_logfile_reader *r)
{
  struct stat st;
  if (r->path == NULL || stat (r->path, &st) < 0 || st.st_ino == r->ino)
    return;
  FILE *f = fopen (r->path, "re");
  if (f == NULL)
    return;
  fclose (r->f);
  r->f = f;
  r->ino = st.st_ino;
}

/* One record as a frame; false if the record is unusable or before
 * `since`. */
static bool
make_frame (struct reg_logfile_reader *r, const char *rec)
{
  json_t *j = json_loads (rec, 0, NULL);
  const char *stream = json_string_value (json_object_get (j, "stream"));
  json_t *line = json_object_get (j, "line");
  bool partial = json_is_true (json_object_get (j, "partial"));
  const char *t = json_string_value (json_object_get (j, "t"));
  if (stream == NULL || !json_is_string (line)
      || (r->q.since > 0 && reg_util_rfc3339_time (t) < r->q.since))
    {
      json_decref (j);
      return false;
    }
  size_t prefix = r->q.timestamps && t ? strlen (t) + 1 : 0;
  size_t len = prefix + json_string_length (line) + (partial ? 0 : 1);
  unsigned char *f = malloc (REG_FRAME_HEADER + len);
  if (f)
    {
      reg_proto_frame_header (
          f, strcmp (stream, "stderr") == 0 ? REG_FRAME_STDERR : REG_FRAME_STDOUT, len);
      unsigned char *p = f + REG_FRAME_HEADER;
      if (prefix)
        memcpy (p, t, prefix - 1), p[prefix - 1] = ' ';
      memcpy (p + prefix, json_string_value (line), json_string_length (line));
      if (!partial)
        p[len - 1] = '\n';
    }
  free (r->frame);
  r->frame = f;
  r->frame_len = f ? REG_FRAME_HEADER + len : 0;
  r->frame_off = 0;
  json_decref (j);
  return f != NULL;
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

int
reg_logfile_reader_open (const char *root, const char *id, const struct reg_logfile_query *q,
                         bool (*live) (void *data, const char *id), void *live_data,
                         struct reg_logfile_reader **out, struct reg_error **err)
{
  struct reg_logfile_reader *r = calloc (1, sizeof *r);
  if (r == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  snprintf (r->id, sizeof r->id, "%s", id);
  r->q = *q;
  r->live = live;
  r->live_data = live_data;
  r->path = reg_root_container_file (root, id, "log.jsonl");
  _cleanup_free_ char *rotated = reg_root_container_file (root, id, "log.jsonl.1");
  if (r->path == NULL || rotated == NULL)
    {
      reg_logfile_reader_close (r);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  /* Without follow, the rotated part comes first: the whole kept history. */
  FILE *older = !q->follow ? fopen (rotated, "re") : NULL;
  FILE *newer = fopen (r->path, "re");
  struct stat st;
  if (newer && fstat (fileno (newer), &st) == 0)
    r->ino = st.st_ino;
  r->f = concat_logs (older, newer);
  if (r->f == NULL)
    r->f = fopen ("/dev/null", "re"); /* never started: no log yet */
  if (r->f == NULL)
    {
      int e = errno;
      reg_logfile_reader_close (r);
      return reg_error_sys (err, e, "container %.12s: logs", id);
    }
  if (q->tail >= 0)
    seek_tail (r->f, q->tail);
  *out = r;
  return 0;
}

/* Wait a little for more records; false when cancel_fd hung up. */
static bool
wait_for_more (int cancel_fd)
{
  struct pollfd p = { cancel_fd, POLLRDHUP, 0 };
  int n = poll (&p, cancel_fd >= 0 ? 1 : 0, FOLLOW_POLL_MS);
  return !(n > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)));
}

ssize_t
reg_logfile_reader_read (struct reg_logfile_reader *r, char *buf, size_t max, int cancel_fd)
{
  while (r->frame_off == r->frame_len)
    {
      ssize_t n = getline (&r->line, &r->line_cap, r->f);
      if (n > 0)
        {
          make_frame (r, r->line);
          continue;
        }
      clearerr (r->f);
      if (!r->q.follow)
        return 0;
      follow_rotation (r);
      /* Read once more after the container stopped: its last lines. */
      if (!r->live (r->live_data, r->id))
        {
          r->q.follow = false;
          continue;
        }
      if (!wait_for_more (cancel_fd))
        return -1;
    }
  size_t n = r->frame_len - r->frame_off;
  if (n > max)
    n = max;
  memcpy (buf, r->frame + r->frame_off, n);
  r->frame_off += n;
  return (ssize_t)n;
}
