/* proto: every wire format between reg's processes, in one place.
 *
 * Frames: the byte stream of a container's or an exec's output (an
 * attached start, reg attach, reg exec, reg logs, reg cp). Each frame is an
 * 8-byte header {stream, 0, 0, 0, length as big-endian u32} and then
 * `length` bytes. stream 1 = stdout, 2 = stderr, 3 = exit (payload: the
 * exit code as a big-endian i32; always the last frame), 4 = the
 * container's id (only first in `run`'s one request; readers skip a stream
 * they do not know). Written here by
 * the monitor, regd's exec, logs and cp routes; read here by the client.
 *
 * Status lines: what a helper process tells the process that started it,
 * one JSON object per line ("\n"-terminated), read with jansson:
 *   {"status":"started","pid":N}      the process runs (the monitor: the
 *                                     container's first process; the exec
 *                                     helper: the command's host PID)
 *   {"status":"error","exit_code":C,"errno":E,"message":"..."}
 *                                     a start result (below): it did not
 *                                     start; the insert helper's failure
 *                                     (exit_code 0)
 *   {"status":"exit","exit_code":C}   the exec helper's command ended
 *   {"status":"ok","made":"d:/a\nm:/b\n"}  the insert helper is done, and
 *                                     what it made (insert.h), one a line
 * Used by the container's child before execve (to the monitor), the monitor
 * (to regd), the exec helper (to regd) and the insert helper (to regd). The
 * writers never allocate: the helpers are forked from regd, which has
 * threads, and the child writes right before execve (docs/architecture.md,
 * "Helpers forked from regd make system calls only"); strings are escaped
 * as RFC 8259 says, invalid UTF-8 as '?', straight to the descriptor.
 *
 * Hello lines: the first line of a connection to a monitor's attach.sock
 * (monitor.h), one JSON object:
 *   {"hello":"stdin"} / {"hello":"stdin","keep":true}
 *   {"hello":"resize","rows":R,"cols":C}
 *   {"hello":"attach"}
 *
 * Every parser here takes untrusted-ish bytes (a helper in a container's
 * namespaces, a client's socket): it refuses what does not fit, never
 * crashes on it (fuzz/fuzz_proto.c).
 */
#ifndef REG_PROTO_H
#define REG_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* ---- start results ---- */

#define REG_START_MESSAGE_MAX 1024

/* Why a process did not start, from where it failed to the HTTP reply,
 * unchanged. exit_code: 125 set-up (reg's side: mounts, cgroups, the
 * monitor), 126 the command cannot be executed, 127 the command was not
 * found (only when execve said ENOENT); 0 when the engine refused before
 * any start was tried (no such container, wrong state). errnum: the cause,
 * errno-style. message: names the object and the cause. */
struct reg_start_result
{
  int exit_code;
  int errnum;
  char message[REG_START_MESSAGE_MAX];
};

/* message = the formatted text, then ": <errno's description>" when errnum
 * is not 0. No allocation (callable in a child before execve). */
void reg_proto_result_set (struct reg_start_result *r, int exit_code, int errnum, const char *fmt,
                           ...) __attribute__ ((format (printf, 4, 5)));
/* Prepend "context: " to the message (what reg_error_prefix does). */
void reg_proto_result_prefix (struct reg_start_result *r, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* A failure reported as a reg_error: its code and message as they are. */
void reg_proto_result_of_error (struct reg_start_result *r, int exit_code,
                                const struct reg_error *e);
/* The result as a reg_error (its errnum, else EIO). Returns -1. */
int reg_proto_result_error (const struct reg_start_result *r, struct reg_error **err);

/* ---- status lines ---- */

enum reg_status_kind
{
  REG_STATUS_STARTED,
  REG_STATUS_ERROR,
  REG_STATUS_EXIT,
  REG_STATUS_OK,
};

struct reg_status
{
  enum reg_status_kind kind;
  int pid;                        /* started */
  int exit_code;                  /* exit */
  struct reg_start_result result; /* error */
  char **made;                    /* ok: the lines of "made" (allocated), or NULL */
};

/* Writers: 0, or -1 with errno when the descriptor failed. No allocation. */
int reg_proto_status_started (int fd, int pid);
int reg_proto_status_exit (int fd, int exit_code);
int reg_proto_status_error (int fd, const struct reg_start_result *r);
/* made: "\n"-terminated lines, or NULL. */
int reg_proto_status_ok (int fd, const char *made);

/* One status line (the "\n" optional). EPROTO when it is not one. */
int reg_proto_status_parse (const char *line, size_t len, struct reg_status *out,
                            struct reg_error **err);
/* Read one line from fd (byte by byte: what follows is not consumed) and
 * parse it. EPIPE when the writer went away before a whole line. */
int reg_proto_status_read (int fd, struct reg_status *out, struct reg_error **err);
void reg_proto_status_clear (struct reg_status *s);

/* ---- attach.sock hello lines ---- */

enum reg_hello_kind
{
  REG_HELLO_STDIN,
  REG_HELLO_RESIZE,
  REG_HELLO_ATTACH,
};

struct reg_hello
{
  enum reg_hello_kind kind;
  bool keep;                 /* stdin: its end leaves the input open */
  unsigned short rows, cols; /* resize */
};

#define REG_HELLO_MAX 256

/* The line, "\n"-terminated, into buf; its length, or -1 when it does not
 * fit. */
int reg_proto_hello_format (const struct reg_hello *h, char *buf, size_t size);
/* EPROTO when the line is not a hello (resize: rows and cols 1..65535). */
int reg_proto_hello_parse (const char *line, size_t len, struct reg_hello *out,
                           struct reg_error **err);

/* ---- frames ---- */

#define REG_FRAME_HEADER 8
#define REG_FRAME_MAX (16u << 20) /* a reader refuses a longer frame */

enum
{
  REG_FRAME_STDOUT = 1,
  REG_FRAME_STDERR = 2,
  REG_FRAME_EXIT = 3,
  /* The container's id (64 hex digits): the first frame of a create and
   * start in one request (POST /v1/containers?start=1&attach=1), which
   * the client has no other way to learn before the output comes. */
  REG_FRAME_ID = 4,
};

void reg_proto_frame_header (unsigned char hdr[REG_FRAME_HEADER], int stream, size_t len);
/* The header and the payload to fd; -1 when the reader has gone. */
int reg_proto_frame_write (int fd, int stream, const void *data, size_t len);
int reg_proto_frame_write_exit (int fd, int exit_code);
/* An exit frame's payload. */
void reg_proto_frame_exit_payload (unsigned char p[4], int exit_code);
/* A whole frame in a new buffer (its size in *size); NULL without memory. */
unsigned char *reg_proto_frame_new (int stream, const void *data, size_t len, size_t *size);
unsigned char *reg_proto_frame_new_exit (int exit_code, size_t *size);

/* An incremental reader: bytes in as they arrive, whole frames out. */
struct reg_frame_reader
{
  unsigned char *buf;
  size_t len, cap;
};
/* fn gets each complete frame (an exit frame's payload is decoded into
 * exit_code, else -1); its negative return stops the feed and is
 * returned. -1 with errno EPROTO for a frame over REG_FRAME_MAX or a
 * malformed exit frame, ENOMEM without memory. */
typedef int (*reg_frame_fn) (void *data, int stream, const unsigned char *payload, size_t len,
                             int exit_code);
int reg_proto_frame_feed (struct reg_frame_reader *r, const void *bytes, size_t n, reg_frame_fn fn,
                          void *data);
void reg_proto_frame_reader_clear (struct reg_frame_reader *r);

#endif
