/* libFuzzer target: a container's state.json, as regd and the monitors
 * read it back (a crash-truncated or hand-edited file must not crash
 * them). */
#include "container.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char root[64];

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char path[256];
  if (root[0] == '\0')
    {
      snprintf (root, sizeof root, "/dev/shm/reg-fuzz-state-%d", (int)getpid ());
      snprintf (path, sizeof path, "%s/containers/" ID, root);
      mkdir (root, 0700);
      snprintf (path, sizeof path, "%s/containers", root);
      mkdir (path, 0700);
      snprintf (path, sizeof path, "%s/containers/" ID, root);
      mkdir (path, 0700);
    }
  snprintf (path, sizeof path, "%s/containers/" ID "/state.json", root);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write (fd, data, size) != (ssize_t)size)
    abort ();
  close (fd);
  struct reg_container *c = NULL;
  struct reg_error *err = NULL;
  if (reg_container_load (root, ID, &c, &err) == 0)
    {
      json_t *j = reg_container_to_json (c);
      if (j == NULL)
        abort ();
      reg_container_free (c);
      json_decref (j);
    }
  reg_error_free (err);
  return 0;
}
