/* error: how libreg reports failure.
 *
 * A fallible function returns a negative int (or NULL) and, when `err` is not
 * NULL, fills *err with an errno-style code and an allocated message that
 * names the object and the cause ("template python@3.11: lib libz@1 not in
 * store"). Callers add context with reg_error_prefix() as the error travels
 * up. The first error wins: setting an error over an existing one is a bug and
 * keeps the first. Never returns a bare errno string to the user.
 */
#ifndef REG_ERROR_H
#define REG_ERROR_H

#include <stdarg.h>

struct reg_error
{
  int code; /* errno-style: ENOENT, EINVAL, EEXIST, EBUSY, EIO ... */
  char *msg;
};

/* Always returns -1 so callers can `return reg_error_set (err, ...)`. */
int reg_error_set (struct reg_error **err, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Like reg_error_set, appending ": strerror(errno_value)". */
int reg_error_sys (struct reg_error **err, int errno_value, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Prepend "context: " to an existing error. Returns -1. */
int reg_error_prefix (struct reg_error **err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
void reg_error_free (struct reg_error *err);

static inline void
reg_error_freep (struct reg_error **e)
{
  reg_error_free (*e);
}
#define _cleanup_error_ __attribute__ ((cleanup (reg_error_freep)))

#endif
