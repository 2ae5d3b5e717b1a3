/* trace: run a command once in a sandbox and learn which host files it
 * uses (`reg template create --trace`, docs/trace.md).
 *
 * reg_trace_run spawns reg-trace (src/trace/main.c, next to regd, or
 * REG_TRACE) and collects what it printed: the paths the command read,
 * executed or looked up, and the paths it wrote. It is bounded by the
 * options (a time limit; with `answer`, the run ends once the server
 * answered one request there, then the stop signal). A command that fails,
 * hangs past its limit or never answers is an error carrying reg-trace's
 * reason and the tail of the command's output. Nothing is stored here: the
 * import (import.h) decides what of the paths becomes the template.
 *
 * Safe in a multi-threaded caller: everything is prepared before
 * posix_spawn, and the helper does the forking work.
 */
#ifndef REG_TRACE_H
#define REG_TRACE_H

#include "error.h"

struct reg_trace_options
{
  char *const *argv;       /* the command, required */
  int timeout_s;           /* 0: 10 s */
  const char *stop_signal; /* NULL: SIGTERM */
  const char *answer;      /* "HOST:PORT", optional */
  const char *send;        /* sent once connected to `answer` (e.g. "GET / HTTP/1.0\r\n\r\n") */
};

struct reg_trace_result
{
  char **read;    /* paths read, executed or looked up, in order of first use */
  char **written; /* paths opened for writing or created */
  double seconds; /* how long the traced run took */
};

/* Checks the options (an error names the bad one) without running. */
int reg_trace_check (const struct reg_trace_options *o, struct reg_error **err);
int reg_trace_run (const struct reg_trace_options *o, struct reg_trace_result *out,
                   struct reg_error **err);
void reg_trace_result_clear (struct reg_trace_result *r);

#endif
