#include "events.h"
#include "root.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *
events_path (const char *root, const char *suffix)
{
  return reg_root_path (root, REG_ROOT_EVENTS, suffix, NULL);
}

/* Past the size cap: rename to events.jsonl.1, once, under the lock. */
static void
rotate (const char *root, const char *path)
{
  _cleanup_free_ char *lock = events_path (root, ".lock"), *old = events_path (root, ".jsonl.1");
  _cleanup_close_ int lfd = lock ? open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
  struct stat st;
  if (lfd < 0 || old == NULL || flock (lfd, LOCK_EX) < 0)
    return;
  if (stat (path, &st) == 0 && st.st_size > REG_EVENTS_MAX_SIZE)
    rename (path, old);
}

void
reg_events_emit (const char *root, const char *type, const char *action, const char *id,
                 json_t *attributes)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  json_int_t nano = (json_int_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
  json_t *e
      = json_pack ("{s:s, s:s, s:{s:s, s:o}, s:I, s:I}", "Type", type, "Action", action, "Actor",
                   "ID", id ? id : "", "Attributes", attributes ? attributes : json_object (),
                   "time", (json_int_t)ts.tv_sec, "timeNano", nano);
  char *text = e ? json_dumps (e, JSON_COMPACT) : NULL;
  json_decref (e);
  _cleanup_free_ char *path = events_path (root, ".jsonl");
  size_t len = text ? strlen (text) : 0;
  if (text)
    text[len++] = '\n'; /* the NUL becomes the newline: only write () reads text */
  _cleanup_close_ int fd
      = path && text ? open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
  struct stat st;
  if (fd < 0 || write (fd, text, len) != (ssize_t)len)
    fprintf (stderr, "reg: event %s %s %.12s not recorded: %s\n", type, action, id ? id : "",
             strerror (errno));
  else if (fstat (fd, &st) == 0 && st.st_size > REG_EVENTS_MAX_SIZE)
    rotate (root, path);
  free (text);
}

void
reg_events_container (const char *root, const struct reg_container *c, const char *action,
                      const char *key, const char *value)
{
  json_t *a = json_object ();
  if (c->name)
    json_object_set_new (a, "name", json_string (c->name));
  if (c->templates && c->templates[0])
    json_object_set_new (a, "template", json_string (c->templates[0]));
  if (key && value)
    json_object_set_new (a, key, json_string (value));
  reg_events_emit (root, "container", action, c->id, a);
}

/* ---- filters ---- */

static const char *const filter_keys[]
    = { "type", "container", "event", "template", "volume", NULL };

/* Docker sends a key's values as an array or as an object {"v": true}. */
static bool
value_in (json_t *values, const char *v)
{
  size_t i;
  json_t *x;
  if (json_is_object (values))
    return v && json_object_get (values, v) != NULL;
  json_array_foreach (values, i, x)
  {
    if (v && json_is_string (x) && strcmp (json_string_value (x), v) == 0)
      return true;
  }
  return false;
}

int
reg_events_filters_check (json_t *filters, struct reg_error **err)
{
  if (filters == NULL)
    return 0;
  if (!json_is_object (filters))
    return reg_error_set (err, EINVAL, "events: filters must be a JSON object");
  const char *key;
  json_t *values;
  json_object_foreach (filters, key, values)
  {
    if (!reg_strv_contains (filter_keys, key))
      return reg_error_set (err, EINVAL,
                            "events: unknown filter \"%s\" (reg knows type, container, event, "
                            "template, volume)",
                            key);
    if (!json_is_array (values) && !json_is_object (values))
      return reg_error_set (err, EINVAL, "events: filter %s wants a list of values", key);
    if (strcmp (key, "type") == 0)
      {
        static const char *const types[] = { "container", "template", "volume", NULL };
        size_t i;
        json_t *x;
        json_array_foreach (values, i, x)
        {
          if (!reg_strv_contains (types, json_string_value (x) ?: ""))
            return reg_error_set (err, EINVAL,
                                  "events: type \"%s\": want container, template or volume",
                                  json_string_value (x) ?: "?");
        }
      }
  }
  return 0;
}

/* A container filter: its full id, an id prefix, or its name. */
static bool
container_matches (json_t *values, const char *id, const char *name)
{
  size_t i;
  json_t *x;
  json_array_foreach (values, i, x)
  {
    const char *v = json_string_value (x);
    if (v && *v && (strncmp (id, v, strlen (v)) == 0 || (name && strcmp (name, v) == 0)))
      return true;
  }
  return json_is_object (values) && value_in (values, name);
}

bool
reg_events_match (json_t *filters, json_t *event)
{
  const char *type = json_string_value (json_object_get (event, "Type"));
  const char *action = json_string_value (json_object_get (event, "Action"));
  json_t *actor = json_object_get (event, "Actor");
  const char *id = json_string_value (json_object_get (actor, "ID")) ?: "";
  const char *name
      = json_string_value (json_object_get (json_object_get (actor, "Attributes"), "name"));
  const char *key;
  json_t *values;
  json_object_foreach (filters, key, values)
  {
    bool ok = true;
    if (strcmp (key, "type") == 0)
      ok = value_in (values, type);
    else if (strcmp (key, "event") == 0)
      ok = value_in (values, action);
    else if (strcmp (key, "container") == 0)
      ok = type && strcmp (type, "container") == 0 && container_matches (values, id, name);
    else if (strcmp (key, "template") == 0 || strcmp (key, "volume") == 0)
      ok = type && strcmp (type, key) == 0 && value_in (values, id);
    if (!ok)
      return false;
  }
  return true;
}

/* ---- reading ---- */

struct reader
{
  const struct reg_events_query *q;
  reg_events_fn fn;
  void *data;
  char buf[65536];
  size_t len;
  bool stop;
};

static void
deliver (struct reader *r, const char *line, size_t len)
{
  json_t *e = json_loadb (line, len, 0, NULL);
  json_int_t nano = json_integer_value (json_object_get (e, "timeNano"));
  double t = (double)nano / 1e9;
  if (e && t >= r->q->since && (r->q->until <= 0 || t < r->q->until)
      && reg_events_match (r->q->filters, e) && r->fn (r->data, line, len) < 0)
    r->stop = true;
  json_decref (e);
}

/* Deliver the complete lines readable from fd; keep a partial one. */
static void
drain (struct reader *r, int fd)
{
  for (;;)
    {
      ssize_t n = read (fd, r->buf + r->len, sizeof r->buf - r->len);
      if (n <= 0)
        return;
      r->len += (size_t)n;
      size_t off = 0;
      char *nl;
      while (!r->stop && (nl = memchr (r->buf + off, '\n', r->len - off)) != NULL)
        {
          deliver (r, r->buf + off, (size_t)(nl - (r->buf + off)));
          off = (size_t)(nl - r->buf) + 1;
        }
      if (off == 0 && r->len == sizeof r->buf)
        off = r->len; /* a line longer than the buffer: not ours, dropped */
      memmove (r->buf, r->buf + off, r->len - off);
      r->len -= off;
      if (r->stop)
        return;
    }
}

static bool
cancelled (int cancel_fd, int inotify_fd, int timeout_ms)
{
  struct pollfd p[2] = { { cancel_fd, 0, 0 }, { inotify_fd, POLLIN, 0 } };
  if (poll (p, 2, timeout_ms) < 0 && errno != EINTR)
    return true;
  if (p[1].revents & POLLIN)
    {
      char ev[4096];
      while (read (inotify_fd, ev, sizeof ev) > 0)
        ;
    }
  return (p[0].revents & (POLLERR | POLLHUP)) != 0;
}

/* The log was rotated under us: the rest of the old file, then the new. */
static int
follow_rotation (struct reader *r, const char *path, int fd)
{
  struct stat now, ours;
  if (stat (path, &now) < 0 || fstat (fd, &ours) < 0 || now.st_ino == ours.st_ino)
    return fd;
  int nfd = open (path, O_RDONLY | O_CLOEXEC);
  if (nfd < 0)
    return fd;
  drain (r, fd);
  close (fd);
  r->len = 0;
  return nfd;
}

static int
follow (struct reader *r, const char *root, const char *path, int fd, int cancel_fd,
        struct reg_error **err)
{
  _cleanup_close_ int in = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  if (in < 0 || inotify_add_watch (in, root, IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0)
    return reg_error_sys (err, errno, "events: watch %s", root);
  while (!r->stop)
    {
      if (fd < 0)
        fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd >= 0)
        {
          drain (r, fd);
          fd = follow_rotation (r, path, fd);
        }
      if (r->q->until > 0 && reg_util_now () >= r->q->until)
        break;
      if (cancelled (cancel_fd, in, 1000))
        break;
    }
  if (fd >= 0)
    close (fd);
  return 0;
}

int
reg_events_read (const char *root, const struct reg_events_query *q, reg_events_fn fn, void *data,
                 int cancel_fd, struct reg_error **err)
{
  _cleanup_free_ char *path = events_path (root, ".jsonl"), *old = events_path (root, ".jsonl.1");
  struct reader *r = calloc (1, sizeof *r);
  if (path == NULL || old == NULL || r == NULL)
    {
      free (r);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  *r = (struct reader){ .q = q, .fn = fn, .data = data };
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (q->has_since)
    {
      _cleanup_close_ int ofd = open (old, O_RDONLY | O_CLOEXEC);
      if (ofd >= 0)
        drain (r, ofd);
      r->len = 0;
      if (fd >= 0)
        drain (r, fd);
    }
  else if (fd >= 0)
    lseek (fd, 0, SEEK_END);
  int ret = 0;
  bool ended = q->until > 0 && q->until <= reg_util_now ();
  if (!r->stop && !ended)
    {
      ret = follow (r, root, path, fd, cancel_fd, err);
      fd = -1;
    }
  if (fd >= 0)
    close (fd);
  free (r);
  return ret;
}
