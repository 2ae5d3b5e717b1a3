/* client: reg's side of the API — HTTP/JSON to regd. Every command is one
 * or more requests made here, each on a connection of its own: the local
 * UNIX socket, or TLS to tcp://HOST:PORT (tls.c, which loads libcurl only
 * then). The HTTP is http.c's, so a reg on the local socket loads no HTTP
 * library but Debian's small http-parser (docs/build.md). */
#ifndef REG_CLI_CLIENT_H
#define REG_CLI_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define REG_DEFAULT_HOST "unix:///run/reg/reg.sock"

struct reg_client;

/* host: "unix:///path" or "tcp://HOST:PORT" (from -H or REG_HOST). tcp://
 * is HTTPS only, verified against ca_file (or the system's CAs) and with
 * the bearer token. NULL and a message on error. */
struct reg_client *client_open (const char *host, const char *ca_file, const char *token);
void client_close (struct reg_client *c);

/* One JSON request. Returns the HTTP status, or -1 when regd cannot be
 * reached or its reply is broken (already reported). *reply gets the
 * parsed body (may be NULL). */
long client_call (struct reg_client *c, const char *method, const char *path, json_t *body,
                  json_t **reply);

/* A POST whose body is len bytes of data (a tar for reg cp). Returns the
 * HTTP status or -1; *reply gets the parsed JSON reply (may be NULL). */
long client_post_data (struct reg_client *c, const char *path, const char *content_type,
                       const void *data, size_t len, json_t **reply);

/* A request whose success reply is a stream of frames: stdout and stderr
 * frames are written to ours; an exit frame sets *exit_code (else it stays
 * -1). A non-2xx reply is parsed into *reply. Returns the HTTP status or -1. */
long client_stream (struct reg_client *c, const char *method, const char *path, json_t *body,
                    int *exit_code, json_t **reply);

/* client_stream for reg run's one request (POST /v1/containers?start=1&
 * attach=1): on_id gets the new container's id from its first frame,
 * before any output. */
typedef void (*client_id_fn) (void *data, const char *id);
long client_run_stream (struct reg_client *c, const char *path, json_t *body, int *exit_code,
                        client_id_fn on_id, void *id_data, json_t **reply);

/* Several requests at once (reg exec, run -i: output and input), driven
 * by the caller's poll loop. A stream request (as client_stream) or an
 * upload (a chunked POST whose reply is discarded); NULL when it could not
 * be sent (already reported). */
struct client_stream;
struct client_stream *client_stream_new (struct reg_client *c, const char *method, const char *path,
                                         json_t *body, int *exit_code);
struct client_stream *client_upload_new (struct reg_client *c, const char *path);
/* The connection's fd, to poll for input. */
int client_stream_fd (const struct client_stream *s);
/* Take in what has arrived: 1 when the reply is complete, 0 when more is
 * to come, -1 when the connection or the reply failed (reported). */
int client_stream_pump (struct client_stream *s);
/* Send len bytes of an upload's body; len 0 ends it. 0, or -1 (reported). */
int client_upload_send (struct client_stream *s, const void *buf, size_t len);
/* The HTTP status (-1 after a failure); a non-2xx reply parsed into *reply
 * (may be NULL). Frees s. */
long client_stream_finish (struct client_stream *s, json_t **reply);

/* A POST whose 200 reply is JSON lines: fn gets each (borrowed) as it
 * arrives. A non-200 reply is parsed into *reply. The HTTP status or -1. */
typedef void (*client_line_fn) (void *data, json_t *line);
long client_lines (struct reg_client *c, const char *path, json_t *body, client_line_fn fn,
                   void *data, json_t **reply);

/* Print "reg: <message>" from an error reply; returns 1 (the exit status). */
int client_fail (const char *context, long status, json_t *reply);

/* Percent-encode one path segment (a name or ref); allocated. */
char *client_escape (struct reg_client *c, const char *segment);

#endif
