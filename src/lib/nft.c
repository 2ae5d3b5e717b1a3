#include "nft.h"
#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

/* The library's own prototypes, as pointers. */
static struct
{
  void *handle;
  __typeof__ (nft_ctx_new) *ctx_new;
  __typeof__ (nft_ctx_free) *ctx_free;
  __typeof__ (nft_ctx_buffer_output) *buffer_output;
  __typeof__ (nft_ctx_buffer_error) *buffer_error;
  __typeof__ (nft_ctx_get_output_buffer) *get_output;
  __typeof__ (nft_ctx_get_error_buffer) *get_error;
  __typeof__ (nft_ctx_output_set_flags) *set_flags;
  __typeof__ (nft_run_cmd_from_buffer) *run;
} lib;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int
load (struct reg_error **err)
{
  if (lib.handle)
    return 0;
  void *h = dlopen ("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
  if (h == NULL)
    return reg_error_set (err, ENOSYS, "nftables: cannot load libnftables.so.1 (%s)", dlerror ());
    /* A data pointer to a function pointer through memcpy (ISO C has no cast). */
#define LOAD(field, name)                                                                          \
  do                                                                                               \
    {                                                                                              \
      void *sym = dlsym (h, name);                                                                 \
      if (sym == NULL)                                                                             \
        {                                                                                          \
          dlclose (h);                                                                             \
          return reg_error_set (err, ENOSYS, "nftables: libnftables.so.1 lacks %s", name);         \
        }                                                                                          \
      memcpy (&lib.field, &sym, sizeof sym);                                                       \
    }                                                                                              \
  while (0)
  LOAD (ctx_new, "nft_ctx_new");
  LOAD (ctx_free, "nft_ctx_free");
  LOAD (buffer_output, "nft_ctx_buffer_output");
  LOAD (buffer_error, "nft_ctx_buffer_error");
  LOAD (get_output, "nft_ctx_get_output_buffer");
  LOAD (get_error, "nft_ctx_get_error_buffer");
  LOAD (set_flags, "nft_ctx_output_set_flags");
  LOAD (run, "nft_run_cmd_from_buffer");
#undef LOAD
  lib.handle = h;
  return 0;
}

/* The first line of libnftables' error text, without its trailing newline. */
static void
set_nft_error (struct reg_error **err, const char *text)
{
  size_t n = text ? strcspn (text, "\n") : 0;
  reg_error_set (err, EIO, "nftables: %.*s", (int)n, n ? text : "command failed");
}

int
reg_nft_run (const char *cmds, char **output, struct reg_error **err)
{
  pthread_mutex_lock (&lock);
  int ret = load (err);
  struct nft_ctx *ctx = ret == 0 ? lib.ctx_new (NFT_CTX_DEFAULT) : NULL;
  if (ret == 0 && ctx == NULL)
    ret = reg_error_set (err, ENOMEM, "nftables: cannot make a context");
  if (ret == 0)
    {
      lib.buffer_output (ctx);
      lib.buffer_error (ctx);
      if (output)
        lib.set_flags (ctx, NFT_CTX_OUTPUT_JSON);
      if (lib.run (ctx, cmds) != 0)
        {
          set_nft_error (err, lib.get_error (ctx));
          /* "No such file or directory" and the like keep their meaning. */
          const char *e = lib.get_error (ctx);
          if (err && *err && e && strstr (e, "File exists"))
            (*err)->code = EEXIST;
          ret = -1;
        }
      else if (output && (*output = strdup (lib.get_output (ctx) ?: "")) == NULL)
        ret = reg_error_set (err, ENOMEM, "out of memory");
      lib.ctx_free (ctx);
    }
  pthread_mutex_unlock (&lock);
  return ret;
}
