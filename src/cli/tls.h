/* tls: regd over TLS, for `reg -H tcp://HOST:PORT`.
 *
 * libcurl makes the connection — TCP, the TLS handshake, the certificate
 * checked against --tls-ca (or the system's CAs), never plain text — and
 * carries the bytes (CURLOPT_CONNECT_ONLY, curl_easy_send/recv); the HTTP
 * on top is http.c's, the same as on the UNIX socket.
 *
 * libcurl is loaded with dlopen when the first TLS connection is made (as
 * systemd loads its optional libraries): reg on the local socket never
 * maps it nor the ~33 libraries Debian's libcurl needs (docs/build.md). */
#ifndef REG_CLI_TLS_H
#define REG_CLI_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct reg_tls;

/* A verified TLS connection to host_port ("HOST:PORT"). NULL and *err
 * (allocated: the whole message, naming the address and the cause) when
 * libcurl cannot be loaded, regd cannot be reached or the TLS fails. */
struct reg_tls *reg_tls_connect (const char *host_port, const char *ca_file, char **err);
void reg_tls_close (struct reg_tls *t);

/* The socket, to poll; the connection is non-blocking. */
int reg_tls_fd (const struct reg_tls *t);

/* Bytes received (> 0), 0 when regd closed the connection, or -1 with
 * errno EAGAIN (nothing now) or EIO (the connection failed). */
ssize_t reg_tls_recv (struct reg_tls *t, void *buf, size_t len);

/* Bytes sent (> 0, maybe fewer than len), or -1 with errno EAGAIN or EIO. */
ssize_t reg_tls_send (struct reg_tls *t, const void *buf, size_t len);

#endif
