/* detach: the key sequence that detaches a client from a container's input
 * (Docker's --detach-keys, Ctrl-P Ctrl-Q by default), and the filter that
 * finds it in the input stream.
 *
 * Keys are written as Docker writes them: a comma-separated list of
 * "ctrl-X" (X one of a-z, @, [, \, ], ^, _) or a single character, e.g.
 * "ctrl-p,ctrl-q" or "ctrl-a,d". The filter holds back a partial match and
 * gives it back when the next byte does not continue it, so a lone Ctrl-P
 * still reaches the program. Pure: no I/O. */
#ifndef REG_DETACH_H
#define REG_DETACH_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define REG_DETACH_MAX 16
#define REG_DETACH_DEFAULT "ctrl-p,ctrl-q"

struct reg_detach
{
  unsigned char keys[REG_DETACH_MAX];
  size_t n_keys;
  size_t matched; /* how many of keys the input has matched so far */
};

/* "ctrl-p,ctrl-q" -> d (matched = 0); EINVAL naming the bad key. */
int reg_detach_parse (const char *spec, struct reg_detach *d, struct reg_error **err);

/* Filter n input bytes into out (room for n + REG_DETACH_MAX bytes), what
 * is to be sent now in *out_n. True when the sequence is complete: the
 * caller detaches, and out then holds what came before it. */
bool reg_detach_feed (struct reg_detach *d, const unsigned char *in, size_t n, unsigned char *out,
                      size_t *out_n);

#endif
