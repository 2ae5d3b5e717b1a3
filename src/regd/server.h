/* server: regd's HTTP/JSON layer on libmicrohttpd. It accumulates request
 * bodies (bounded), dispatches /v1 routes to the engine and renders replies.
 * One thread per connection, so a route may block (wait, stop, attach,
 * logs -f, pull progress); a streaming route also watches the client's
 * socket so a client that hangs up ends the stream and frees the thread.
 *
 * Two daemons that share nothing but the process: the UNIX socket (local,
 * root-only, unbounded, no timeout) and the TLS port (remote, anyone can
 * connect). The TLS daemon is bounded so that nothing done to it can take
 * the local socket down: at most max_connections connections (so threads)
 * in all and max_per_client from one address, each closed after timeout_s
 * of inactivity and when its TLS handshake and request headers are not
 * done within timeout_s of the connect; a request without the token is
 * answered 401 at once and its body is never read. Both daemons poll
 * (no select, so no FD_SETSIZE ceiling). An authenticated request has no
 * timeout while it runs (a wait or a log stream may be idle for long);
 * the connection gets it back once the request is over.
 */
#ifndef REGD_SERVER_H
#define REGD_SERVER_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>

#include "engine.h"
#include "json.h"
#include "error.h"

#define REGD_API_VERSION "v1"
#define REGD_MAX_BODY (64 * 1024 * 1024)

struct regd
{
  struct reg_engine *engine;
  struct MHD_Daemon *httpd;
  /* Remote management: the same API over TLS, every request with
   * "Authorization: Bearer TOKEN". */
  struct MHD_Daemon *tls;
  char *token, *tls_cert, *tls_key;
  unsigned tls_timeout_s;
  /* Connections of the TLS daemon still in their handshake or headers,
   * closed by a watchdog past their deadline (server.c). */
  pthread_mutex_t pending_lock;
  struct regd_pending *pending;
  pthread_t watchdog;
  bool watchdog_running, stopping;
};

struct regd_tls_options
{
  const char *listen; /* ADDR:PORT */
  const char *cert_file, *key_file, *token_file;
  unsigned max_connections, max_per_client, timeout_s; /* 0: the defaults below */
};

#define REGD_TLS_MAX_CONNECTIONS 64
#define REGD_TLS_MAX_PER_CLIENT 8
#define REGD_TLS_TIMEOUT_S 10

struct regd_route;

struct request
{
  struct MHD_Connection *conn;
  const char *method;
  char *body;
  size_t body_len;
  bool too_big;
  bool streaming;  /* the body goes to sink_fd as it comes (a route with a sink) */
  bool denied;     /* TLS request without the right token */
  bool tls_authed; /* TLS request with it: its timeout is lifted while it runs */
  int sink_fd;     /* where the body goes; -1: nowhere (sink_err says why) */
  struct reg_error *sink_err;
  const struct regd_route *sink_route; /* its route, when the body streams */
  char sink_arg[128];                  /* the id or ref in its path */
};

/* One row of a collection's route table: /v1/COLLECTION/ARG[/ACTION].
 * A route whose body streams (input) has a sink: sink_open is called
 * when the headers are in, before any of the body, and sets r->sink_fd
 * (or r->sink_err); the body goes there as it arrives; the handler then
 * replies once it has ended, and sink_done is called when the request is
 * over. One request is handled by one row. */
struct regd_route
{
  const char *method, *action; /* action NULL: /v1/COLLECTION/ARG itself */
  enum MHD_Result (*handler) (struct regd *d, struct request *r, const char *arg);
  void (*sink_open) (struct regd *d, struct request *r, const char *arg);
  void (*sink_done) (struct regd *d, struct request *r, const char *arg);
};
/* The row for method and action, or NULL. */
const struct regd_route *regd_route_find (const struct regd_route *table, size_t n,
                                          const char *method, const char *action);
/* The tables of /v1/containers/ID/... and /v1/exec/ID/... */
extern const struct regd_route regd_container_routes[];
extern const size_t regd_container_routes_n;
extern const struct regd_route regd_exec_routes[];
extern const size_t regd_exec_routes_n;

/* Reply helpers; `j` is stolen. */
enum MHD_Result regd_reply_json (struct request *r, unsigned status, json_t *j);
enum MHD_Result regd_reply_error (struct request *r, const struct reg_error *err);
/* A start that failed (proto.h): {"message", "ExitCode"}; 400 when a
 * process was being started (its command or configuration is at fault:
 * 125-127), else the engine's mapping of its errno. */
enum MHD_Result regd_reply_start_result (struct request *r, const struct reg_start_result *res);
enum MHD_Result regd_reply_message (struct request *r, unsigned status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Parse the body as a JSON object. */
json_t *regd_body_object (struct request *r, const char *what, struct reg_error **err);
const char *regd_query (struct request *r, const char *key);
/* Socket of the client, to notice a hang-up while streaming. */
int regd_client_fd (struct request *r);
/* Serve a stream of attach frames read from fd (closed when done). */
enum MHD_Result regd_reply_stream (struct request *r, unsigned status, int fd);
/* Serve JSON lines read from fd (closed when done), application/x-ndjson. */
enum MHD_Result regd_reply_lines (struct request *r, int fd);

/* JSON helpers that reject wrong types with a clear message: the
 * library's (json.h), under the names the route files use. */
#define regd_json_strv reg_json_strv
#define regd_json_string reg_json_string
#define regd_json_only_keys reg_json_only_keys

/* Routes: each returns the MHD result of its reply. `arg` is the path
 * segment after the collection (an id or ref), `action` the one after it. */
enum MHD_Result regd_route_containers (struct regd *d, struct request *r, const char *arg,
                                       const char *action);
enum MHD_Result regd_route_templates (struct regd *d, struct request *r, const char *arg);
/* /v1/templates/push, /pull, /tags (routes_registry.c). */
enum MHD_Result regd_route_registry (struct regd *d, struct request *r, const char *what);
/* /v1/containers/{id}/archive (GET, POST) and /changes (routes_copy.c). */
enum MHD_Result regd_container_archive (struct regd *d, struct request *r, const char *ref);
enum MHD_Result regd_container_changes (struct regd *d, struct request *r, const char *ref);
/* /v1/events (routes_events.c). */
enum MHD_Result regd_route_events (struct regd *d, struct request *r);
/* /v1/networks (routes_networks.c). */
enum MHD_Result regd_route_networks (struct regd *d, struct request *r, const char *name);
/* POST /v1/networks/NAME/connect|disconnect. */
enum MHD_Result regd_route_network_link (struct regd *d, struct request *r, const char *name,
                                         const char *action);
/* /v1/volumes (routes_volumes.c). */
enum MHD_Result regd_route_volumes (struct regd *d, struct request *r, const char *name);
enum MHD_Result regd_route_system (struct regd *d, struct request *r, const char *what);
enum MHD_Result regd_route_exec (struct regd *d, struct request *r, const char *eid,
                                 const char *action);
enum MHD_Result regd_exec_create (struct regd *d, struct request *r, const char *ref);

int regd_start (struct regd *d, int listen_fd, struct reg_error **err);
/* Health checks (health.c): a thread that runs them for every running
 * container that has one, until regd_health_stop (which waits for them). */
int regd_health_start (struct regd *d, struct reg_error **err);
void regd_health_stop (void);
/* Container id started: the watcher looks at it now, not at its next
 * scan (NULL: at every container). */
void regd_health_kick (const char *id);
/* Serve the API over TLS too (plain-text TCP is never offered). */
int regd_start_tls (struct regd *d, const struct regd_tls_options *o, struct reg_error **err);

/* The TLS daemon's guards (tls_guard.c): the handshake-and-headers
 * deadline and the bounded log. */
int regd_tls_watchdog_start (struct regd *d, struct reg_error **err);
void regd_tls_watchdog_stop (struct regd *d);
void regd_tls_on_connection (void *cls, struct MHD_Connection *conn, void **socket_context,
                             enum MHD_ConnectionNotificationCode code);
void regd_tls_headers_done (struct regd *d, struct MHD_Connection *conn);
void regd_tls_log (void *cls, const char *fmt, va_list ap);

#endif
