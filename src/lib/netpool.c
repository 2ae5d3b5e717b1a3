#include "netpool.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct reg_netpool
{
  pthread_mutex_t lock;
  pthread_cond_t changed; /* an entry made, a kick, a stop */
  struct reg_netpool_entry entries[REG_NETPOOL_MAX_SIZE];
  size_t n, size;
  bool armed;    /* refill until full; cleared by a failure */
  bool building; /* the thread is making one (outside the lock) */
  bool stop, started;
  pthread_t thread;
  struct reg_netpool_ops ops;
  void *ctx;
};

struct reg_netpool *
reg_netpool_new (size_t size, const struct reg_netpool_ops *ops, void *ctx)
{
  if (size == 0 || size > REG_NETPOOL_MAX_SIZE)
    return NULL;
  struct reg_netpool *p = calloc (1, sizeof *p);
  if (p == NULL)
    return NULL;
  pthread_mutex_init (&p->lock, NULL);
  pthread_cond_init (&p->changed, NULL);
  p->size = size;
  p->ops = *ops;
  p->ctx = ctx;
  return p;
}

/* One entry made outside the lock; false when the thread should wait. */
static bool
refill_one (struct reg_netpool *p)
{
  struct reg_netpool_entry e = { -1, { 0 }, 0 };
  struct reg_error *err = NULL;
  p->building = true;
  pthread_mutex_unlock (&p->lock);
  int ret = p->ops.make (p->ctx, &e, &err);
  pthread_mutex_lock (&p->lock);
  p->building = false;
  pthread_cond_broadcast (&p->changed);
  if (ret < 0)
    {
      fprintf (stderr, "regd: network namespace pool: %s (refilled at the next bridged start)\n",
               err ? err->msg : "failed");
      reg_error_free (err);
      p->armed = false;
      return false;
    }
  if (p->stop || p->n >= p->size)
    {
      pthread_mutex_unlock (&p->lock);
      p->ops.discard (p->ctx, &e);
      pthread_mutex_lock (&p->lock);
      return false;
    }
  p->entries[p->n++] = e;
  return true;
}

static void *
refill_thread (void *arg)
{
  struct reg_netpool *p = arg;
  pthread_mutex_lock (&p->lock);
  while (!p->stop)
    if (!p->armed || p->n >= p->size || !refill_one (p))
      {
        if (!p->stop && (!p->armed || p->n >= p->size))
          pthread_cond_wait (&p->changed, &p->lock);
      }
  pthread_mutex_unlock (&p->lock);
  return NULL;
}

void
reg_netpool_kick (struct reg_netpool *p)
{
  if (p == NULL)
    return;
  pthread_mutex_lock (&p->lock);
  p->armed = true;
  if (!p->started && !p->stop)
    p->started = pthread_create (&p->thread, NULL, refill_thread, p) == 0;
  pthread_cond_broadcast (&p->changed);
  pthread_mutex_unlock (&p->lock);
}

bool
reg_netpool_take (struct reg_netpool *p, bool wait_building, struct reg_netpool_entry *out)
{
  if (p == NULL)
    return false;
  pthread_mutex_lock (&p->lock);
  while (wait_building && p->building && p->n == 0)
    pthread_cond_wait (&p->changed, &p->lock);
  bool got = p->n > 0;
  if (got)
    *out = p->entries[--p->n];
  pthread_cond_broadcast (&p->changed);
  pthread_mutex_unlock (&p->lock);
  return got;
}

size_t
reg_netpool_ready (struct reg_netpool *p)
{
  if (p == NULL)
    return 0;
  pthread_mutex_lock (&p->lock);
  size_t n = p->n;
  pthread_mutex_unlock (&p->lock);
  return n;
}

void
reg_netpool_drain (struct reg_netpool *p)
{
  struct reg_netpool_entry e;
  while (reg_netpool_take (p, false, &e))
    p->ops.discard (p->ctx, &e);
}

void
reg_netpool_free (struct reg_netpool *p)
{
  if (p == NULL)
    return;
  pthread_mutex_lock (&p->lock);
  p->stop = true;
  pthread_cond_broadcast (&p->changed);
  bool started = p->started;
  pthread_mutex_unlock (&p->lock);
  if (started)
    pthread_join (p->thread, NULL);
  reg_netpool_drain (p);
  pthread_cond_destroy (&p->changed);
  pthread_mutex_destroy (&p->lock);
  free (p);
}
