/* logfile: see logfile.h. */
#include "logfile.h"
#include "container.h"
#include "root.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
