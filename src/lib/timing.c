#include "timing.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int timing_fd = -1;

void
reg_timing_init (void)
{
  const char *path = getenv ("REG_DEBUG_TIMING");
  if (timing_fd < 0 && path && *path)
    timing_fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

/* Decimal digits of v at the end of buf[0..end): the start. */
static char *
digits (char *end, unsigned long long v)
{
  do
    *--end = (char)('0' + v % 10);
  while ((v /= 10) > 0);
  return end;
}

static char *
append (char *p, const char *end, const char *s, size_t n)
{
  if (n > (size_t)(end - p))
    n = (size_t)(end - p);
  memcpy (p, s, n);
  return p + n;
}

void
reg_timing_mark (const char *id, const char *phase)
{
  if (timing_fd < 0)
    return;
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  char line[256], num[24];
  char *p = line, *end = line + sizeof line - 1;
  char *n = digits (num + sizeof num,
                    (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec);
  p = append (p, end, n, (size_t)(num + sizeof num - n));
  p = append (p, end, " ", 1);
  n = digits (num + sizeof num, (unsigned long long)getpid ());
  p = append (p, end, n, (size_t)(num + sizeof num - n));
  p = append (p, end, " ", 1);
  p = append (p, end, id ? id : "-", id ? strlen (id) : 1);
  p = append (p, end, " ", 1);
  p = append (p, end, phase, strlen (phase));
  *p++ = '\n';
  (void)!write (timing_fd, line, (size_t)(p - line));
}
