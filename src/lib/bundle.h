/* bundle: a template's own file objects as one tar+gzip blob (the "files"
 * layer of its OCI artifact, docs/registry.md).
 *
 * Entry names are object names (store.h), never container paths:
 * "sha256/<64 hex>", "sha256/<64 hex>+x" or an attribute variant's
 * "sha256/<64 hex>+MODE-UID-GID[-CAP]" (pax headers when the name is long;
 * the entry carries the content only: the receiver makes the variant from
 * its name). The RET file is the only map from paths to
 * objects, so an archive cannot place anything anywhere by itself.
 *
 * Packing is reproducible (sorted entries, zero owners, no gzip timestamp,
 * each entry's time the object's mtime in seconds): the same objects give
 * the same blob digest. The mtime travels so that a pulled template's
 * Python sources still match their .pyc files (store.h); unpacking gives
 * each file its entry's time when it is between 1970 and 2106. Unpacking treats
 * the archive as hostile: only regular-file entries with such a name are
 * accepted, each entry's content must hash to its name, entries and the
 * total are bounded, and anything else (.., absolute paths, links, devices,
 * directories, duplicates) is refused naming the entry. libarchive does the
 * tar and gzip/zstd work.
 */
#ifndef REG_BUNDLE_H
#define REG_BUNDLE_H

#include <stdint.h>

#include "error.h"
#include "store.h"

struct reg_bundle_limits
{
  int64_t max_entry; /* bytes per entry */
  int64_t max_total; /* bytes of all entries */
  int64_t max_entries;
};
#define REG_BUNDLE_LIMITS_DEFAULT                                                                  \
  {                                                                                                \
    (int64_t)2 << 30, (int64_t)8 << 30, 1000000                                                    \
  }

/* Write the objects (sorted object names) from the store into out_path. */
int reg_bundle_pack (const struct reg_store *store, char *const *objects, const char *out_path,
                     struct reg_error **err);
/* Unpack archive_path into dest_dir (an empty directory) as files named
 * "hex" / "hex+x", each verified; *objects lists them (NULL-terminated).
 * On error nothing it wrote is left in dest_dir. */
int reg_bundle_unpack (const char *archive_path, const char *dest_dir,
                       const struct reg_bundle_limits *limits, char ***objects,
                       struct reg_error **err);

#endif
