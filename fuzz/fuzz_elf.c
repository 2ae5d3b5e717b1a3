/* libFuzzer target: the ELF closure reader. The input is an executable in
 * a private sysroot whose /etc/ld.so.cache, lib and usr/lib are real
 * copies made at start, so DT_NEEDED names resolve as on a host. */
#include "elfdeps.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static void
setup (void)
{
  char cmd[512];
  snprintf (root, sizeof root, "/dev/shm/reg-fuzz-elf-%d", (int)getpid ());
  snprintf (
      cmd, sizeof cmd,
      "mkdir -p %s/bin %s/etc %s/lib/x86_64-linux-gnu %s/lib64 && cp /etc/ld.so.cache %s/etc/ "
      "&& cp /lib/x86_64-linux-gnu/libc.so.6 /lib/x86_64-linux-gnu/libz.so.1 "
      "%s/lib/x86_64-linux-gnu/ && cp /lib64/ld-linux-x86-64.so.2 %s/lib64/",
      root, root, root, root, root, root, root);
  if (system (cmd) != 0)
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (root[0] == '\0')
    setup ();
  char path[128];
  snprintf (path, sizeof path, "%s/bin/x", root);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (fd < 0 || write (fd, data, size) != (ssize_t)size)
    abort ();
  close (fd);
  struct reg_elf_resolver *r = NULL;
  struct reg_error *err = NULL;
  if (reg_elfdeps_resolver_new (root, &r, &err) == 0)
    {
      if (reg_elfdeps_is_elf (r, "/bin/x") && reg_elfdeps_add (r, "/bin/x", &err) == 0)
        {
          size_t n = 0;
          reg_elfdeps_closure (r, &n);
        }
      reg_elfdeps_resolver_free (r);
    }
  reg_error_free (err);
  return 0;
}
