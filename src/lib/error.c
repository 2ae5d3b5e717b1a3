#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
vformat (const char *fmt, va_list ap)
{
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    return NULL;
  return s;
}

static int
set_message (struct reg_error **err, int code, char *msg)
{
  if (err == NULL || *err != NULL)
    {
      free (msg);
      return -1;
    }
  struct reg_error *e = calloc (1, sizeof *e);
  if (e == NULL)
    {
      free (msg);
      return -1;
    }
  e->code = code;
  e->msg = msg ? msg : strdup ("out of memory");
  *err = e;
  return -1;
}

int
reg_error_set (struct reg_error **err, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = vformat (fmt, ap);
  va_end (ap);
  return set_message (err, code, msg);
}

int
reg_error_sys (struct reg_error **err, int errno_value, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *head = vformat (fmt, ap);
  va_end (ap);
  char *msg = NULL;
  if (head == NULL || asprintf (&msg, "%s: %s", head, strerror (errno_value)) < 0)
    msg = NULL;
  free (head);
  return set_message (err, errno_value, msg);
}

int
reg_error_prefix (struct reg_error **err, const char *fmt, ...)
{
  if (err == NULL || *err == NULL)
    return -1;
  va_list ap;
  va_start (ap, fmt);
  char *head = vformat (fmt, ap);
  va_end (ap);
  char *msg = NULL;
  if (head != NULL && asprintf (&msg, "%s: %s", head, (*err)->msg) >= 0)
    {
      free ((*err)->msg);
      (*err)->msg = msg;
    }
  free (head);
  return -1;
}

void
reg_error_free (struct reg_error *err)
{
  if (err == NULL)
    return;
  free (err->msg);
  free (err);
}
