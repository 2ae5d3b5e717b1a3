/* libFuzzer target: the /etc/ld.so.cache reader. The input is the cache
 * of a private sysroot; a real /bin/true there asks it for libc.so.6. */
#include "elfdeps.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char root[64];

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char path[128];
  if (root[0] == '\0')
    {
      char cmd[256];
      snprintf (root, sizeof root, "/dev/shm/reg-fuzz-ldcache-%d", (int)getpid ());
      snprintf (cmd, sizeof cmd, "mkdir -p %s/bin %s/etc && cp /bin/true %s/bin/", root, root,
                root);
      if (system (cmd) != 0)
        abort ();
    }
  snprintf (path, sizeof path, "%s/etc/ld.so.cache", root);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write (fd, data, size) != (ssize_t)size)
    abort ();
  close (fd);
  struct reg_elf_resolver *r = NULL;
  struct reg_error *err = NULL;
  if (reg_elfdeps_resolver_new (root, &r, &err) == 0)
    {
      reg_elfdeps_add (r, "/bin/true", &err);
      reg_elfdeps_resolver_free (r);
    }
  reg_error_free (err);
  return 0;
}
