/* sse: replies of server-sent events read from a pipe (logs, terminal
 * output), served by libmicrohttpd's thread pool without ever blocking
 * one of its threads.
 *
 * The reply's reader takes what the pipe has. When it has nothing, the
 * connection is suspended and handed to one watcher thread, which polls
 * every waiting stream's pipe and client socket and resumes the
 * connection when the pipe has data or ends, when the client hangs up, or
 * after 15 s without data (the reader then sends a keep-alive comment, so
 * proxies and browsers see life). A stream costs its pipe and a few bytes
 * while it waits: no thread of its own.
 *
 * hub_sse_stop resumes every waiting stream and ends it (libmicrohttpd
 * cannot stop with a connection suspended); after it, a stream's next read
 * ends it too. The daemon needs MHD_ALLOW_SUSPEND_RESUME.
 */
#ifndef REG_HUB_SSE_H
#define REG_HUB_SSE_H

#include "hub.h"

int hub_sse_start (struct reg_error **err);
void hub_sse_stop (void);

#endif
