#include "archive_dl.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>

#define REG_ARCHIVE_DEFINE(f) typeof (f) *reg_dl_##f;
REG_ARCHIVE_FUNCS (REG_ARCHIVE_DEFINE)
#undef REG_ARCHIVE_DEFINE

int
cli_archive_load (void)
{
  static void *dl;
  if (dl)
    return 0;
  void *h = dlopen ("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
  if (h == NULL)
    {
      fprintf (stderr,
               "reg: reg cp needs libarchive, which cannot be loaded (%s): install "
               "libarchive13\n",
               dlerror ());
      return -1;
    }
  bool ok = true;
#define REG_ARCHIVE_RESOLVE(f) ok = ok && (reg_dl_##f = (typeof (reg_dl_##f))dlsym (h, #f)) != NULL;
  REG_ARCHIVE_FUNCS (REG_ARCHIVE_RESOLVE)
#undef REG_ARCHIVE_RESOLVE
  if (!ok)
    {
      fprintf (stderr, "reg: the libarchive found lacks %s\n", dlerror ());
      dlclose (h);
      return -1;
    }
  dl = h;
  return 0;
}
