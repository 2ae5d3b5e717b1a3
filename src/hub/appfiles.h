/* appfiles: an uploaded application — a .tar.gz/.tgz/.tar or .zip archive
 * (chosen by the name the client gave), or any other single file — read
 * as hostile input (libarchive) into template entries under /app.
 *
 * Refused, naming the entry, before anything is kept: an absolute name or
 * one with a ".." component, a symlink whose target is absolute or leads
 * out of /app, hard links, devices, FIFOs and sockets, a path given twice,
 * more than `max_entries` entries, and content that expands beyond
 * `max_bytes` in total (a zip bomb stops being read at that point).
 *
 * With a store, every regular file becomes a store object (the exec
 * variant when any x bit is set) and *added lists the objects this call
 * created ("hex" or "hex+x"), so the caller can take them back
 * (reg_import_undo) when the template is not saved; on failure this call
 * takes back what it added itself. Without a store the upload is only
 * checked. Temporary files go to `tmpdir` and are always removed.
 */
#ifndef REG_HUB_APPFILES_H
#define REG_HUB_APPFILES_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"
#include "template.h"

#define HUB_APP_ROOT "/app"

struct hub_app_limits
{
  int64_t max_bytes;  /* the upload itself, and what it expands to */
  size_t max_entries; /* entries in an archive */
};

struct hub_app_files
{
  struct reg_entry *entries; /* container paths under /app, in archive order */
  size_t n;
  int64_t bytes; /* content of the regular files */
  size_t files;
};

/* The upload's kind from its name: "tar.gz", "tar", "zip" or "file". */
const char *hub_appfiles_kind (const char *filename);
/* A client's file name is usable: a base name, no "/" or control
 * characters, 1-255 bytes, not "." or "..". */
int hub_appfiles_name_check (const char *filename, struct reg_error **err);

int hub_appfiles_read (struct reg_store *store, const char *path, const char *filename,
                       const struct hub_app_limits *l, const char *tmpdir,
                       struct hub_app_files *out, char ***added, struct reg_error **err);
void hub_appfiles_free (struct hub_app_files *f);

#endif
