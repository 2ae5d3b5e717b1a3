/* libFuzzer target: image layers as a registry serves them. The input is
 * split at the first "\n--\n" into two layers (the second may be empty),
 * applied in order with small limits (reg_layer_apply): hostile tar, gzip
 * and zstd input must be refused cleanly, and whatever is accepted must
 * stay in the objects directory (checked: nothing but regular files named
 * by their 64-hex digest appear there, and nothing beside it), and the
 * tree's entries must be clean paths a template accepts, a file's value
 * its digest or a well-formed attribute variant (mode, owner,
 * security.capability: store.h), a directory's well-formed attributes. */
#include "layer.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64];

static void
write_file (const char *path, const uint8_t *data, size_t size)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || (size > 0 && write (fd, data, size) != (ssize_t)size))
    abort ();
  close (fd);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char one[128], two[128], objects[128];
  if (base[0] == '\0')
    {
      snprintf (base, sizeof base, "/dev/shm/reg-fuzz-layer-%d", (int)getpid ());
      mkdir (base, 0700);
    }
  snprintf (one, sizeof one, "%s/l1", base);
  snprintf (two, sizeof two, "%s/l2", base);
  snprintf (objects, sizeof objects, "%s/obj", base);
  const uint8_t *cut = memmem (data, size, "\n--\n", 4);
  size_t n1 = cut ? (size_t)(cut - data) : size;
  write_file (one, data, n1);
  write_file (two, cut ? cut + 4 : data, cut ? size - n1 - 4 : 0);
  reg_util_rm_rf (objects, NULL);
  if (mkdir (objects, 0700) < 0)
    abort ();
  struct reg_bundle_limits limits = { 1 << 20, 4 << 20, 256 };
  struct reg_layer_tree *t = NULL;
  struct reg_error *err = NULL;
  if (reg_layer_tree_new (&t, NULL) < 0)
    abort ();
  int ret = reg_layer_apply (t, one, objects, &limits, NULL, &err);
  if (ret == 0 && cut)
    ret = reg_layer_apply (t, two, objects, &limits, NULL, &err);
  reg_error_free (err);
  if (ret == 0)
    {
      struct reg_entry *files = NULL;
      size_t n = 0;
      bool v2;
      if (reg_layer_tree_entries (t, &files, &n, &v2, NULL) < 0)
        abort ();
      for (size_t i = 0; i < n; i++)
        {
          if (!reg_util_path_is_clean (files[i].path))
            abort (); /* a path no template would take */
          const char *v = files[i].value, *variant;
          char hex[65];
          bool file = files[i].kind == REG_ENTRY_FILE || files[i].kind == REG_ENTRY_EXEC;
          if (file && !reg_store_name_split (v, hex, &variant))
            abort (); /* no object a template could name */
          if (files[i].kind == REG_ENTRY_DIR && v && !reg_template_dir_attrs_ok (v))
            abort ();
          free (files[i].path);
          free (files[i].value);
        }
      free (files);
    }
  reg_layer_tree_free (t);
  DIR *d = opendir (objects);
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    if (de->d_name[0] != '.' && (de->d_type != DT_REG || !reg_util_is_sha256_hex (de->d_name)))
      abort (); /* something other than a staged object was made */
  if (d)
    closedir (d);
  d = opendir (base);
  while (d && (de = readdir (d)) != NULL)
    if (de->d_name[0] != '.' && strcmp (de->d_name, "obj") != 0 && strcmp (de->d_name, "l1") != 0
        && strcmp (de->d_name, "l2") != 0)
      abort (); /* an escape */
  if (d)
    closedir (d);
  return 0;
}
