/* client: reg's side of the API — HTTP/JSON to regd over its UNIX socket,
 * through libcurl. Every command is one or more requests made here. */
#ifndef REG_CLI_CLIENT_H
#define REG_CLI_CLIENT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>

#define REG_DEFAULT_HOST "unix:///run/reg/reg.sock"

struct reg_client;

/* host: "unix:///path" or "tcp://HOST:PORT" (from -H or REG_HOST). tcp://
 * is HTTPS only, verified against ca_file (or the system's CAs) and with
 * the bearer token. NULL and a message on error. */
struct reg_client *client_open (const char *host, const char *ca_file, const char *token);
void client_close (struct reg_client *c);

/* One JSON request. Returns the HTTP status, or -1 when regd cannot be
 * reached (already reported). *reply gets the parsed body (may be NULL). */
long client_call (struct reg_client *c, const char *method, const char *path, json_t *body,
                  json_t **reply);

/* A request whose success reply is a stream of frames: stdout and stderr
 * frames are written to ours; an exit frame sets *exit_code (else it stays
 * -1). A non-2xx reply is parsed into *reply. Returns the HTTP status or -1. */
long client_stream (struct reg_client *c, const char *method, const char *path, json_t *body,
                    int *exit_code, json_t **reply);

/* Several requests at once (reg exec: output and input): a stream request
 * whose easy handle the caller drives with a curl multi handle, then
 * finishes with the transfer's result. */
struct client_stream;
struct client_stream *client_stream_new (struct reg_client *c, const char *method, const char *path,
                                         json_t *body, int *exit_code);
CURL *client_stream_easy (struct client_stream *s);
long client_stream_finish (struct client_stream *s, CURLcode rc, json_t **reply);
/* A POST whose body comes from fn as it becomes available (chunked);
 * *headers is the caller's to free after the transfer. */
CURL *client_upload_new (struct reg_client *c, const char *path, curl_read_callback fn, void *data,
                         struct curl_slist **headers);

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
