/* archive_dl: libarchive for `reg cp`, loaded only then.
 *
 * Debian's libarchive brings 15 more libraries into a process (libxml2,
 * ICU with its 30 MB data library, libstdc++, nettle, lzma, zstd, ...):
 * linked into reg, every command paid for their loading (docs/build.md).
 * The client compiles src/lib/copy.c with this header forced in first
 * (-include): each libarchive function copy.c calls becomes a pointer
 * that cli_archive_load fills with dlopen/dlsym, as systemd loads its
 * optional libraries. regd compiles and links copy.c as it is. */
#ifndef REG_CLI_ARCHIVE_DL_H
#define REG_CLI_ARCHIVE_DL_H

#include <archive.h>
#include <archive_entry.h>

/* Every libarchive function copy.c uses. */
#define REG_ARCHIVE_FUNCS(X)                                                                       \
  X (archive_entry_copy_stat)                                                                      \
  X (archive_entry_free)                                                                           \
  X (archive_entry_hardlink)                                                                       \
  X (archive_entry_mode)                                                                           \
  X (archive_entry_mtime)                                                                          \
  X (archive_entry_new)                                                                            \
  X (archive_entry_pathname)                                                                       \
  X (archive_entry_set_pathname)                                                                   \
  X (archive_entry_set_size)                                                                       \
  X (archive_entry_set_symlink)                                                                    \
  X (archive_entry_symlink)                                                                        \
  X (archive_error_string)                                                                         \
  X (archive_read_data_block)                                                                      \
  X (archive_read_free)                                                                            \
  X (archive_read_new)                                                                             \
  X (archive_read_next_header)                                                                     \
  X (archive_read_open_memory)                                                                     \
  X (archive_read_support_format_tar)                                                              \
  X (archive_write_close)                                                                          \
  X (archive_write_data)                                                                           \
  X (archive_write_free)                                                                           \
  X (archive_write_header)                                                                         \
  X (archive_write_new)                                                                            \
  X (archive_write_open)                                                                           \
  X (archive_write_set_bytes_in_last_block)                                                        \
  X (archive_write_set_format_pax_restricted)

#define REG_ARCHIVE_DECLARE(f) extern typeof (f) *reg_dl_##f;
REG_ARCHIVE_FUNCS (REG_ARCHIVE_DECLARE)
#undef REG_ARCHIVE_DECLARE

/* Load libarchive once: 0, or -1 after printing why ("reg cp needs
 * libarchive: ..."). Call it before any copy.h function. */
int cli_archive_load (void);

#ifdef REG_ARCHIVE_DLOPEN
#define archive_entry_copy_stat reg_dl_archive_entry_copy_stat
#define archive_entry_free reg_dl_archive_entry_free
#define archive_entry_hardlink reg_dl_archive_entry_hardlink
#define archive_entry_mode reg_dl_archive_entry_mode
#define archive_entry_mtime reg_dl_archive_entry_mtime
#define archive_entry_new reg_dl_archive_entry_new
#define archive_entry_pathname reg_dl_archive_entry_pathname
#define archive_entry_set_pathname reg_dl_archive_entry_set_pathname
#define archive_entry_set_size reg_dl_archive_entry_set_size
#define archive_entry_set_symlink reg_dl_archive_entry_set_symlink
#define archive_entry_symlink reg_dl_archive_entry_symlink
#define archive_error_string reg_dl_archive_error_string
#define archive_read_data_block reg_dl_archive_read_data_block
#define archive_read_free reg_dl_archive_read_free
#define archive_read_new reg_dl_archive_read_new
#define archive_read_next_header reg_dl_archive_read_next_header
#define archive_read_open_memory reg_dl_archive_read_open_memory
#define archive_read_support_format_tar reg_dl_archive_read_support_format_tar
#define archive_write_close reg_dl_archive_write_close
#define archive_write_data reg_dl_archive_write_data
#define archive_write_free reg_dl_archive_write_free
#define archive_write_header reg_dl_archive_write_header
#define archive_write_new reg_dl_archive_write_new
#define archive_write_open reg_dl_archive_write_open
#define archive_write_set_bytes_in_last_block reg_dl_archive_write_set_bytes_in_last_block
#define archive_write_set_format_pax_restricted reg_dl_archive_write_set_format_pax_restricted
#endif

#endif
