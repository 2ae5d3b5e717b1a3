/* tls_guard: what keeps the TLS port from being used against regd (see
 * server.h). libmicrohttpd bounds the number of connections, per address
 * and in all, and closes a connection idle for the timeout; this adds a
 * deadline for the TLS handshake and the request headers together, which
 * an inactivity timeout alone does not give (a client sending one byte
 * every few seconds stays "active"), and a log that a flood cannot grow
 * without bound.
 *
 * Every TLS connection is recorded when it starts, with a duplicate of its
 * socket, until its first request's headers are in. A watchdog thread
 * shuts down (shutdown(2), on the duplicate: it ends the connection's
 * socket, whose own descriptor libmicrohttpd still owns) each connection
 * past its deadline; the connection's thread then sees the end and closes
 * it. Holding the duplicate means the socket cannot be closed and its
 * number reused by something else while the watchdog looks at it.
 */
#include "server.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct regd_pending
{
  struct regd_pending *next, *prev;
  int fd;         /* our duplicate of the socket; -1 once the headers are in */
  double started; /* monotonic seconds */
};

static double
now_monotonic (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
pending_unlink (struct regd *d, struct regd_pending *p)
{
  if (p->prev)
    p->prev->next = p->next;
  else
    d->pending = p->next;
  if (p->next)
    p->next->prev = p->prev;
}

void
regd_tls_on_connection (void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
  struct regd *d = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED)
    {
      const union MHD_ConnectionInfo *ci
          = MHD_get_connection_info (conn, MHD_CONNECTION_INFO_CONNECTION_FD);
      struct regd_pending *p = calloc (1, sizeof *p);
      if (p == NULL || ci == NULL || (p->fd = fcntl (ci->connect_fd, F_DUPFD_CLOEXEC, 3)) < 0)
        {
          free (p); /* unguarded: still bounded by the idle timeout */
          return;
        }
      p->started = now_monotonic ();
      pthread_mutex_lock (&d->pending_lock);
      p->next = d->pending;
      if (d->pending)
        d->pending->prev = p;
      d->pending = p;
      pthread_mutex_unlock (&d->pending_lock);
      *socket_context = p;
      return;
    }
  struct regd_pending *p = *socket_context;
  if (p == NULL)
    return;
  pthread_mutex_lock (&d->pending_lock);
  pending_unlink (d, p);
  pthread_mutex_unlock (&d->pending_lock);
  if (p->fd >= 0)
    close (p->fd);
  free (p);
  *socket_context = NULL;
}

void
regd_tls_headers_done (struct regd *d, struct MHD_Connection *conn)
{
  const union MHD_ConnectionInfo *ci
      = MHD_get_connection_info (conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  struct regd_pending *p = ci ? ci->socket_context : NULL;
  if (p == NULL)
    return;
  pthread_mutex_lock (&d->pending_lock);
  int fd = p->fd;
  p->fd = -1;
  pthread_mutex_unlock (&d->pending_lock);
  if (fd >= 0)
    close (fd);
}

static void *
watchdog (void *arg)
{
  struct regd *d = arg;
  for (;;)
    {
      struct timespec tick = { 0, 250 * 1000 * 1000 };
      nanosleep (&tick, NULL);
      double deadline = now_monotonic () - d->tls_timeout_s;
      pthread_mutex_lock (&d->pending_lock);
      if (d->stopping)
        {
          pthread_mutex_unlock (&d->pending_lock);
          return NULL;
        }
      for (struct regd_pending *p = d->pending; p; p = p->next)
        if (p->fd >= 0 && p->started < deadline)
          {
            shutdown (p->fd, SHUT_RDWR);
            close (p->fd);
            p->fd = -1;
          }
      pthread_mutex_unlock (&d->pending_lock);
    }
}

int
regd_tls_watchdog_start (struct regd *d, struct reg_error **err)
{
  pthread_mutex_init (&d->pending_lock, NULL);
  int e = pthread_create (&d->watchdog, NULL, watchdog, d);
  if (e != 0)
    return reg_error_sys (err, e, "regd --tls-listen: start the handshake watchdog");
  d->watchdog_running = true;
  return 0;
}

void
regd_tls_watchdog_stop (struct regd *d)
{
  if (!d->watchdog_running)
    return;
  pthread_mutex_lock (&d->pending_lock);
  d->stopping = true;
  pthread_mutex_unlock (&d->pending_lock);
  pthread_join (d->watchdog, NULL);
  d->watchdog_running = false;
}

/* libmicrohttpd's messages for the TLS daemon (a refused connection, a
 * failed handshake: one per attempt in a flood), at most 20 in 10 s; the
 * rest are counted and the count is logged when the window ends. */
void
regd_tls_log (void *cls, const char *fmt, va_list ap)
{
  static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  static double window;
  static unsigned shown, dropped;
  double now = now_monotonic ();
  pthread_mutex_lock (&lock);
  if (now - window >= 10)
    {
      if (dropped > 0)
        fprintf (stderr, "regd: tls: %u more messages in 10 s not shown\n", dropped);
      window = now;
      shown = dropped = 0;
    }
  if (shown < 20)
    {
      shown++;
      fputs ("regd: tls: ", stderr);
      vfprintf (stderr, fmt, ap);
    }
  else
    dropped++;
  pthread_mutex_unlock (&lock);
}
