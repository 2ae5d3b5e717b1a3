/* sse: server-sent event replies over suspended connections (sse.h). */
#include "sse.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEEPALIVE_MS 15000

struct stream
{
  int fd, client_fd;
  struct MHD_Connection *conn;
  int64_t quiet_until; /* ms (monotonic): a keep-alive comment is due then */
  /* Set by the watcher (under the lock) when it resumes the stream. */
  bool keepalive, gone;
  struct stream *next; /* in the waiting list */
};

/* One hub per process: the watcher's state. */
static struct
{
  pthread_mutex_t lock;
  pthread_t thread;
  bool started, stopping;
  int kick[2]; /* a byte wakes the watcher: the list changed */
  struct stream *waiting;
  size_t n_waiting;
} w = { .lock = PTHREAD_MUTEX_INITIALIZER, .kick = { -1, -1 } };

static int64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
kick (void)
{
  char c = 0;
  if (write (w.kick[1], &c, 1) < 0 && errno != EAGAIN)
    return; /* a full pipe wakes the watcher as well */
}

/* Under the lock: take s off the list and let libmicrohttpd serve it. */
static void
resume (struct stream **link, struct stream *s, bool keepalive, bool gone)
{
  *link = s->next;
  w.n_waiting--;
  s->next = NULL;
  s->keepalive = keepalive;
  s->gone = gone;
  MHD_resume_connection (s->conn);
}

/* Nothing to read now: wait in the watcher's list. Returns false when the
 * stream must end instead (the client went, or the hub stops). */
static bool
wait_for_data (struct stream *s)
{
  pthread_mutex_lock (&w.lock);
  bool ok = !w.stopping && !s->gone;
  if (ok)
    {
      MHD_suspend_connection (s->conn);
      s->next = w.waiting;
      w.waiting = s;
      w.n_waiting++;
    }
  pthread_mutex_unlock (&w.lock);
  if (ok)
    kick ();
  return ok;
}

static ssize_t
reader (void *cls, uint64_t pos, char *buf, size_t max)
{
  struct stream *s = cls;
  (void)pos;
  ssize_t got;
  while ((got = read (s->fd, buf, max)) < 0 && errno == EINTR)
    ;
  if (got > 0)
    {
      s->quiet_until = now_ms () + KEEPALIVE_MS;
      return got;
    }
  if (got == 0)
    return MHD_CONTENT_READER_END_OF_STREAM;
  if (errno != EAGAIN)
    return MHD_CONTENT_READER_END_WITH_ERROR;
  if (s->gone)
    return MHD_CONTENT_READER_END_WITH_ERROR;
  if ((s->keepalive || now_ms () >= s->quiet_until) && max >= 3)
    {
      s->keepalive = false;
      s->quiet_until = now_ms () + KEEPALIVE_MS;
      memcpy (buf, ":\n\n", 3);
      return 3;
    }
  /* 0: libmicrohttpd asks again once the connection is resumed. */
  return wait_for_data (s) ? 0 : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void
stream_free (void *cls)
{
  struct stream *s = cls;
  close (s->fd);
  free (s);
}

enum MHD_Result
hub_reply_events (struct hub_req *r, int fd)
{
  struct stream *s = calloc (1, sizeof *s);
  int flags = fcntl (fd, F_GETFL);
  if (s == NULL || flags < 0 || fcntl (fd, F_SETFL, flags | O_NONBLOCK) < 0)
    {
      free (s);
      close (fd);
      return hub_reply_message (r, MHD_HTTP_INTERNAL_SERVER_ERROR, "event stream: %s",
                                strerror (errno));
    }
  s->fd = fd;
  s->client_fd = hub_client_fd (r);
  s->conn = r->conn;
  s->quiet_until = now_ms () + KEEPALIVE_MS;
  struct MHD_Response *resp
      = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 16 * 1024, reader, s, stream_free);
  if (resp == NULL)
    {
      stream_free (s);
      return MHD_NO;
    }
  MHD_add_response_header (resp, "Content-Type", "text/event-stream");
  return hub_queue (r, MHD_HTTP_OK, resp);
}

/* ---- the watcher ---- */

struct watch_set
{
  struct pollfd *p; /* [0]: the kick pipe; then each stream's pipe and client */
  struct stream **who;
  size_t cap;
};

/* Under the lock: the poll set of the waiting streams, and the time to
 * wait (ms) until the first keep-alive is due. */
static int
watch_set_fill (struct watch_set *ws, size_t *n)
{
  if (w.n_waiting + 1 > ws->cap)
    {
      size_t cap = 2 * (w.n_waiting + 1);
      struct pollfd *p = realloc (ws->p, (1 + 2 * cap) * sizeof *p);
      struct stream **who = p ? realloc (ws->who, cap * sizeof *who) : NULL;
      if (p)
        ws->p = p;
      if (who == NULL)
        return -1;
      ws->who = who;
      ws->cap = cap;
    }
  int64_t now = now_ms (), next = now + 60000;
  ws->p[0] = (struct pollfd){ w.kick[0], POLLIN, 0 };
  *n = 0;
  for (struct stream *s = w.waiting; s; s = s->next, (*n)++)
    {
      ws->who[*n] = s;
      ws->p[1 + 2 * *n] = (struct pollfd){ s->fd, POLLIN, 0 };
      ws->p[2 + 2 * *n] = (struct pollfd){ s->client_fd, POLLRDHUP, 0 };
      if (s->quiet_until < next)
        next = s->quiet_until;
    }
  return next > now ? (int)(next - now) : 0;
}

/* Under the lock: resume the streams that have something to do. Only the
 * watcher takes streams off the list, so every one polled is still on it. */
static void
watch_set_serve (struct watch_set *ws, size_t n)
{
  int64_t now = now_ms ();
  for (size_t i = 0; i < n; i++)
    {
      struct stream *s = ws->who[i];
      bool data = ws->p[1 + 2 * i].revents != 0;
      bool gone = (ws->p[2 + 2 * i].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
      bool quiet = now >= s->quiet_until;
      if (!data && !gone && !quiet)
        continue;
      struct stream **link = &w.waiting;
      while (*link != s)
        link = &(*link)->next;
      resume (link, s, quiet && !data, gone);
    }
}

static void *
watcher (void *arg)
{
  (void)arg;
  struct watch_set ws = { 0 };
  pthread_mutex_lock (&w.lock);
  while (!w.stopping)
    {
      size_t n = 0;
      int timeout = watch_set_fill (&ws, &n);
      pthread_mutex_unlock (&w.lock);
      int got = timeout < 0 ? poll (NULL, 0, 100) /* no memory for the set: soon again */
                            : poll (ws.p, 1 + 2 * n, timeout);
      char drain[64];
      if (timeout >= 0 && got > 0 && (ws.p[0].revents & POLLIN))
        while (read (w.kick[0], drain, sizeof drain) > 0)
          ;
      pthread_mutex_lock (&w.lock);
      if (timeout >= 0 && got >= 0)
        watch_set_serve (&ws, n);
    }
  while (w.waiting)
    resume (&w.waiting, w.waiting, false, true);
  pthread_mutex_unlock (&w.lock);
  free (ws.p);
  free (ws.who);
  return NULL;
}

int
hub_sse_start (struct reg_error **err)
{
  if (pipe2 (w.kick, O_CLOEXEC | O_NONBLOCK) < 0)
    return reg_error_set (err, errno, "reg-hub: event streams: pipe: %s", strerror (errno));
  int rc = pthread_create (&w.thread, NULL, watcher, NULL);
  if (rc != 0)
    return reg_error_set (err, rc, "reg-hub: event streams: no thread: %s", strerror (rc));
  w.started = true;
  return 0;
}

void
hub_sse_stop (void)
{
  if (!w.started)
    return;
  pthread_mutex_lock (&w.lock);
  w.stopping = true;
  pthread_mutex_unlock (&w.lock);
  kick ();
  pthread_join (w.thread, NULL);
  w.started = false;
}
