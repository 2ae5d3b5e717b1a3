/* client: reg's side of the API — HTTP/JSON to regd over its UNIX socket,
 * through libcurl. Every command is one or more requests made here. */
#ifndef REG_CLI_CLIENT_H
#define REG_CLI_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#define REG_DEFAULT_HOST "unix:///run/reg/reg.sock"

struct reg_client;

/* host: "unix:///path" (from -H or REG_HOST). NULL and a message on error. */
struct reg_client *client_open (const char *host);
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

/* Print "reg: <message>" from an error reply; returns 1 (the exit status). */
int client_fail (const char *context, long status, json_t *reply);

/* Percent-encode one path segment (a name or ref); allocated. */
char *client_escape (struct reg_client *c, const char *segment);

#endif
