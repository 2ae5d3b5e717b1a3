/* http: the HTTP/1.1 that reg speaks to regd, without libcurl — a request
 * writer and a response reader, no I/O (the caller moves the bytes:
 * client.c), so that both are unit-tested and fuzzed on plain buffers.
 *
 * Parsing is not ours: the response goes through Debian's http-parser
 * (libhttp-parser2.9, the parser Node.js used before llhttp; libc only):
 * status line, headers, Content-Length, chunked and close-delimited bodies.
 * This module adds what reg needs on top: the final status (interim 1xx
 * replies skipped), the body handed on as it arrives, one reply per
 * connection (reg sends "Connection: close"), and clear errors.
 *
 * Never: it does not follow redirects, does not switch protocols (a 101
 * reply is an error: regd's attach stream is a chunked 200 reply, not an
 * upgraded connection), and does not keep a connection for a second
 * request. */
#ifndef REG_CLI_HTTP_H
#define REG_CLI_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* body_len for a request whose body follows as chunks (reg_http_chunk). */
#define REG_HTTP_CHUNKED ((size_t)-1)

/* The head of a request: "METHOD PATH HTTP/1.1", "Host: host", each of
 * headers (a NULL-terminated list of "Name: value" lines, may be NULL),
 * "Connection: close", and "Content-Length: body_len" (left out when
 * body_len is 0) or, with REG_HTTP_CHUNKED, "Transfer-Encoding: chunked".
 * Allocated, *len its length. NULL with errno EINVAL when the method is not
 * an upper-case token, the path does not start with '/' or holds a space
 * or control byte, or a header is not one "Name: value" line; ENOMEM. */
char *reg_http_request_head (const char *method, const char *path, const char *host,
                             const char *const *headers, size_t body_len, size_t *len);

/* One chunk of a chunked body: its size line, the data and CRLF; len 0 is
 * the last chunk ("0\r\n\r\n"). Allocated, *out_len its length. */
char *reg_http_chunk (const void *data, size_t len, size_t *out_len);

/* Percent-encode one path segment: every byte but RFC 3986's unreserved
 * ones (A-Z a-z 0-9 - . _ ~). Allocated; NULL when out of memory. */
char *reg_http_escape (const char *segment);

/* Gets the final reply's body as it arrives, with its status; returns 0,
 * or -1 to refuse it (too large, out of memory): the reply then fails. */
typedef int (*reg_http_body_fn) (void *data, int status, const char *at, size_t len);

struct reg_http_response;

struct reg_http_response *reg_http_response_new (reg_http_body_fn fn, void *data);
void reg_http_response_free (struct reg_http_response *r);

/* Feed the bytes read from the connection; len 0 means the peer closed it
 * (which ends a close-delimited body). Returns 0, or -1 with *err (allocated)
 * saying what is wrong with the reply ("malformed reply from regd: invalid
 * character in header"); after an error every call fails the same way. */
int reg_http_response_feed (struct reg_http_response *r, const char *buf, size_t len, char **err);

/* The final reply's status once its headers are complete, else 0. */
int reg_http_response_status (const struct reg_http_response *r);

/* The final reply and its body are complete. */
bool reg_http_response_done (const struct reg_http_response *r);

#endif
