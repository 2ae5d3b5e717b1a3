/* util: small helpers every module shares — cleanup attributes, atomic file
 * writes, path checks, recursive removal, hex digests.
 *
 * Promises: every fd it opens is O_CLOEXEC; reg_util_write_atomic never leaves
 * a torn file (temp file, fsync, rename, fsync of the directory).
 */
#ifndef REG_UTIL_H
#define REG_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "strv.h"

static inline void
reg_freep (void *p)
{
  extern void free (void *);
  free (*(void **)p);
}
void reg_util_closep (int *fd);
void reg_util_fclosep (FILE **f);

#define _cleanup_free_ __attribute__ ((cleanup (reg_freep)))
#define _cleanup_close_ __attribute__ ((cleanup (reg_util_closep)))
#define _cleanup_fclose_ __attribute__ ((cleanup (reg_util_fclosep)))
#define _cleanup_strv_ __attribute__ ((cleanup (reg_strv_freep)))

/* Give ownership away from a cleanup variable. */
#define reg_steal(p)                                                                               \
  ({                                                                                               \
    __typeof__ (*(p)) _v = *(p);                                                                   \
    *(p) = 0;                                                                                      \
    _v;                                                                                            \
  })

#define SHA256_HEX_LEN 64

/* strerror without locale or locks (strerrordesc_np): for a child forked
 * from a multi-threaded process, where only system calls are safe. */
const char *reg_util_errdesc (int errnum);

/* Write `len` bytes to `path` atomically: temp file in the same directory,
 * fsync, rename over `path`, fsync of the directory. */
int reg_util_write_atomic (const char *path, const void *data, size_t len, mode_t mode,
                           struct reg_error **err);
/* The same; without `durable` the directory is not synced. The file is
 * still synced before the rename, so a crash leaves the old or the new
 * content, never a torn file; only the rename itself may be lost (the old
 * content comes back). Container state uses this: it is rewritten at every
 * transition, and a directory fsync per transition was a quarter of the
 * engine's time on `run --rm` (docs/benchmarks.md). */
int reg_util_write_atomic_ex (const char *path, const void *data, size_t len, mode_t mode,
                              bool durable, struct reg_error **err);
/* Atomic for every reader while the system runs (temp file, rename), with
 * no fsync at all: for what nothing needs after a crash, such as the state
 * of a --rm container (after a crash it is removed, whatever its state
 * file holds). */
int reg_util_write_replace (const char *path, const void *data, size_t len, mode_t mode,
                            struct reg_error **err);
/* Read a whole file (at most `max` bytes; larger is an error). NUL-terminated. */
int reg_util_read_file (const char *path, size_t max, char **out, size_t *out_len,
                        struct reg_error **err);
/* Pass descriptors over a UNIX socket (SCM_RIGHTS) with a message of
 * `len` bytes; system calls only, so a child of a threaded process may use
 * them. Send: 0 when the whole message went, else -1. Receive: the bytes
 * read (0 at end of file) or -1; the descriptors that came with them, at
 * most REG_UTIL_MAX_FDS and O_CLOEXEC, in fds[0..*n_fds). */
#define REG_UTIL_MAX_FDS 4
int reg_util_send_fds (int sock, const void *buf, size_t len, const int *fds, int n_fds);
ssize_t reg_util_recv_fds (int sock, void *buf, size_t cap, int fds[REG_UTIL_MAX_FDS], int *n_fds);
/* One descriptor with one byte of data. Send: 0 or -1; receive: the new
 * descriptor (O_CLOEXEC) or -1. */
int reg_util_send_fd (int sock, int fd);
int reg_util_recv_fd (int sock);
/* mkdir -p with `mode` for created directories. */
int reg_util_mkdir_p (const char *path, mode_t mode, struct reg_error **err);
/* rm -rf that never follows symlinks and never crosses mount points. */
int reg_util_rm_rf (const char *path, struct reg_error **err);

/* A container path is absolute, normalized: starts with '/', no empty, "."
 * or ".." components, no trailing '/', not "/" itself, no NUL or newline. */
bool reg_util_path_is_clean (const char *path);

/* Lower-case hex of `len` bytes into `out` (2*len+1 bytes). */
void reg_util_hex (const unsigned char *bytes, size_t len, char *out);
bool reg_util_is_sha256_hex (const char *s);

/* 64 random hex chars (+NUL) from getrandom. */
int reg_util_random_id (char out[65], struct reg_error **err);
/* Current time as RFC 3339 UTC with nanoseconds. */
void reg_util_now_rfc3339 (char out[40]);
/* Seconds since the epoch, as a double (CLOCK_REALTIME). */
double reg_util_now (void);

/* write() all of it, retrying on EINTR; -1 on error (errno set). */
int reg_util_write_all (int fd, const void *buf, size_t len);

/* "512m", "1g", "100000" (bytes; suffixes b k m g are powers of 1024, as
 * Docker's). false when malformed or not positive. */
bool reg_util_parse_size (const char *s, int64_t *out);

/* RLIMIT_NOFILE. regd polls, never selects, so it raises its soft limit
 * to the hard one (reg_util_nofile_raise, once, before any thread); what
 * it starts gets back the soft limit regd was given, as systemd advises:
 * reg_util_nofile_restore in a child forked from regd before exec (a
 * system call, no allocation), and at reg-monitor's start (from the
 * REG_NOFILE_SOFT variable regd exports), so containers see the limit
 * they would have seen without it. Returns the new soft limit. */
unsigned long reg_util_nofile_raise (void);
void reg_util_nofile_restore (void);
/* Bytes the files below path take on disk (st_blocks; one file system,
 * symlinks not followed); 0 when it cannot be read. */
uint64_t reg_util_disk_usage (const char *path);

/* Seconds since the epoch of an RFC 3339 UTC timestamp; 0 if malformed. */
double reg_util_rfc3339_time (const char *t);
/* --since/--until: RFC 3339, seconds since the epoch, or a duration ago
 * (30s, 10m, 2h). -1 when malformed. */
double reg_util_parse_when (const char *v);

/* "KILL", "SIGKILL", "kill" or "9" -> 9; 0 when not a signal. */
int reg_util_signal_number (const char *name);
/* Start time (clock ticks) of a live process; 0 when gone or a zombie. */
unsigned long long reg_util_proc_starttime (pid_t pid);
/* A program installed next to the running one (reg-monitor next to regd,
 * reg-init next to reg-monitor), unless the environment variable env_name
 * names it; allocated, NULL when out of memory. */
char *reg_util_sibling_program (const char *env_name, const char *name);
/* 15 -> "SIGTERM", 36 -> "SIGRTMIN+2" (what reg_util_signal_number reads back). */
#define REG_SIGNAL_NAME_MAX 24
const char *reg_util_signal_name (int sig, char buf[REG_SIGNAL_NAME_MAX]);

/* Spawn attributes for a helper program of regd's (reg-monitor, the
 * tracer): no signal blocked, and SIGCHLD and SIGPIPE at their defaults
 * (regd ignores both; a helper that waits for its children must not),
 * plus `flags` (e.g. POSIX_SPAWN_SETSID). Destroy with
 * posix_spawnattr_destroy. */
void reg_util_spawnattr_init (posix_spawnattr_t *attr, short flags);
/* Start fn(arg) on a detached thread with every signal blocked (signals
 * stay with the process's own threads). 0, or the error number. */
int reg_util_thread_detached (void *(*fn) (void *), void *arg);

#endif
