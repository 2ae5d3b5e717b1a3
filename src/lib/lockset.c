#include "lockset.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct reg_lock
{
  char *key;
  pthread_mutex_t mutex;
  unsigned users; /* holders and waiters */
  struct reg_lock *next;
};

struct reg_lockset
{
  pthread_mutex_t mutex;
  struct reg_lock *head;
};

struct reg_lockset *
reg_lockset_new (void)
{
  struct reg_lockset *s = calloc (1, sizeof *s);
  if (s)
    pthread_mutex_init (&s->mutex, NULL);
  return s;
}

void
reg_lockset_free (struct reg_lockset *s)
{
  if (s == NULL)
    return;
  while (s->head)
    {
      struct reg_lock *n = s->head->next;
      pthread_mutex_destroy (&s->head->mutex);
      free (s->head->key);
      free (s->head);
      s->head = n;
    }
  pthread_mutex_destroy (&s->mutex);
  free (s);
}

/* Find or make the entry and count this thread as a user. */
static struct reg_lock *
enter (struct reg_lockset *s, const char *key)
{
  pthread_mutex_lock (&s->mutex);
  struct reg_lock *l = s->head;
  while (l && strcmp (l->key, key) != 0)
    l = l->next;
  if (l == NULL && (l = calloc (1, sizeof *l)) != NULL)
    {
      if ((l->key = strdup (key)) == NULL)
        {
          free (l);
          l = NULL;
        }
      else
        {
          pthread_mutex_init (&l->mutex, NULL);
          l->next = s->head;
          s->head = l;
        }
    }
  if (l)
    l->users++;
  pthread_mutex_unlock (&s->mutex);
  return l;
}

/* Uncount this thread; the last user frees the entry. */
static void
leave (struct reg_lockset *s, struct reg_lock *l)
{
  pthread_mutex_lock (&s->mutex);
  if (--l->users == 0)
    {
      struct reg_lock **p = &s->head;
      while (*p != l)
        p = &(*p)->next;
      *p = l->next;
      pthread_mutex_destroy (&l->mutex);
      free (l->key);
      free (l);
    }
  pthread_mutex_unlock (&s->mutex);
}

struct reg_lock *
reg_lockset_lock (struct reg_lockset *s, const char *key, int timeout_ms)
{
  struct reg_lock *l = enter (s, key);
  if (l == NULL)
    {
      errno = ENOMEM;
      return NULL;
    }
  struct timespec until;
  clock_gettime (CLOCK_REALTIME, &until);
  until.tv_sec += timeout_ms / 1000;
  until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L)
    {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
  int r = pthread_mutex_timedlock (&l->mutex, &until);
  if (r != 0)
    {
      leave (s, l);
      errno = r;
      return NULL;
    }
  return l;
}

void
reg_lockset_unlock (struct reg_lockset *s, struct reg_lock *l)
{
  if (l == NULL)
    return;
  pthread_mutex_unlock (&l->mutex);
  leave (s, l);
}
