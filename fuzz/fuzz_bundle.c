/* libFuzzer target: a template's files archive as a registry serves it
 * (reg_bundle_unpack with small limits): hostile tar/gzip input must be
 * refused cleanly, and whatever is accepted must stay inside the
 * destination (checked: nothing but regular files appears there). */
#include "bundle.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

static char base[64];

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char archive[128], dest[128];
  if (base[0] == '\0')
    {
      snprintf (base, sizeof base, "/dev/shm/reg-fuzz-bundle-%d", (int)getpid ());
      mkdir (base, 0700);
    }
  snprintf (archive, sizeof archive, "%s/in.tar.gz", base);
  snprintf (dest, sizeof dest, "%s/out", base);
  int fd = open (archive, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write (fd, data, size) != (ssize_t)size)
    abort ();
  close (fd);
  reg_util_rm_rf (dest, NULL);
  if (mkdir (dest, 0700) < 0)
    abort ();
  struct reg_bundle_limits limits = { 1 << 20, 4 << 20, 64 };
  char **objects = NULL;
  struct reg_error *err = NULL;
  if (reg_bundle_unpack (archive, dest, &limits, &objects, &err) == 0)
    reg_strv_free (objects);
  reg_error_free (err);
  DIR *d = opendir (dest);
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    if (de->d_name[0] != '.' && de->d_type != DT_REG)
      abort (); /* something other than a verified file was made */
  if (d)
    closedir (d);
  /* Nothing may appear beside dest (an escape). */
  d = opendir (base);
  while (d && (de = readdir (d)) != NULL)
    if (de->d_name[0] != '.' && strcmp (de->d_name, "out") != 0
        && strcmp (de->d_name, "in.tar.gz") != 0)
      abort ();
  if (d)
    closedir (d);
  return 0;
}
