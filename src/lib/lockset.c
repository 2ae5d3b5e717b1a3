#include "lockset.h"

#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct reg_lock
{
  char *key;
  bool held;
  unsigned users; /* holders and waiters */
  struct reg_lock *next;
};

struct reg_lockset
{
  pthread_mutex_t mutex;
  pthread_cond_t changed; /* a key was released */
  struct reg_lock *head;
};

struct reg_lockset *
reg_lockset_new (void)
{
  struct reg_lockset *s = calloc (1, sizeof *s);
  if (s)
    {
      pthread_mutex_init (&s->mutex, NULL);
      pthread_cond_init (&s->changed, NULL);
    }
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
      free (s->head->key);
      free (s->head);
      s->head = n;
    }
  pthread_cond_destroy (&s->changed);
  pthread_mutex_destroy (&s->mutex);
  free (s);
}

/* Find or make the entry and count this thread as a user; s->mutex held. */
static struct reg_lock *
enter (struct reg_lockset *s, const char *key)
{
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
          l->next = s->head;
          s->head = l;
        }
    }
  if (l)
    l->users++;
  return l;
}

/* Uncount a user; the last one frees the entry. s->mutex held. */
static void
leave (struct reg_lockset *s, struct reg_lock *l)
{
  if (--l->users == 0)
    {
      struct reg_lock **p = &s->head;
      while (*p != l)
        p = &(*p)->next;
      *p = l->next;
      free (l->key);
      free (l);
    }
}

struct reg_lock *
reg_lockset_lock (struct reg_lockset *s, const char *key, int timeout_ms)
{
  struct timespec until;
  clock_gettime (CLOCK_REALTIME, &until);
  until.tv_sec += timeout_ms / 1000;
  until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L)
    {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
  pthread_mutex_lock (&s->mutex);
  struct reg_lock *l = enter (s, key);
  int r = l ? 0 : ENOMEM;
  while (r == 0 && l->held)
    if ((r = pthread_cond_timedwait (&s->changed, &s->mutex, &until)) != 0 && l->held == false)
      r = 0; /* released as the wait timed out: it is ours */
  if (r == 0)
    l->held = true;
  else if (l)
    leave (s, l);
  pthread_mutex_unlock (&s->mutex);
  if (r != 0)
    {
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
  pthread_mutex_lock (&s->mutex);
  l->held = false;
  leave (s, l);
  pthread_cond_broadcast (&s->changed);
  pthread_mutex_unlock (&s->mutex);
}
