/* /v1/containers/{id}/exec and /v1/exec/{eid}/...: a new process in a
 * running container (reg exec), each route one call into the engine
 * (engine.h, engine_exec.c).
 *
 *   POST /v1/containers/{id}/exec  {Cmd, Env?, WorkingDir?, Tty?, AttachStdin?}
 *        -> 201 {"Id": exec id}
 *   POST /v1/exec/{eid}/start      -> 200 frame stream (stdout, stderr, exit),
 *        or an error with ExitCode 125/126/127 when it cannot start
 *   POST /v1/exec/{eid}/stdin      the request body, streamed as it comes, is
 *        the process's input; its end closes the input
 *   POST /v1/exec/{eid}/resize?h=ROWS&w=COLS   the terminal's size (Tty) */
#include "server.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The body's options; ConsoleSize [rows, cols] out of range is no size. */
static int
exec_options (json_t *body, struct reg_exec_options *o, char ***cmd, char ***env,
              struct reg_error **err)
{
  static const char *const keys[]
      = { "Cmd",          "Env",          "WorkingDir",  "Tty", "AttachStdin",
          "AttachStdout", "AttachStderr", "ConsoleSize", NULL };
  const char *what = "exec";
  if (regd_json_only_keys (body, keys, what, err) < 0
      || regd_json_strv (body, "Cmd", what, cmd, err) < 0
      || regd_json_strv (body, "Env", what, env, err) < 0
      || regd_json_string (body, "WorkingDir", what, &o->workdir, err) < 0)
    return -1;
  o->cmd = *cmd;
  o->env = *env;
  o->tty = json_is_true (json_object_get (body, "Tty"));
  o->open_stdin = json_is_true (json_object_get (body, "AttachStdin"));
  json_t *size = json_object_get (body, "ConsoleSize");
  json_int_t rows = json_integer_value (json_array_get (size, 0));
  json_int_t cols = json_integer_value (json_array_get (size, 1));
  if (rows > 0 && rows < 10000 && cols > 0 && cols < 10000)
    {
      o->rows = (unsigned short)rows;
      o->cols = (unsigned short)cols;
    }
  return 0;
}

enum MHD_Result
regd_exec_create (struct regd *d, struct request *r, const char *ref)
{
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *body = regd_body_object (r, "exec", &err);
  if (body == NULL)
    return regd_reply_error (r, err);
  _cleanup_strv_ char **cmd = NULL, **env = NULL;
  struct reg_exec_options o = { 0 };
  char id[65];
  int ret = exec_options (body, &o, &cmd, &env, &err);
  if (ret == 0)
    ret = reg_engine_exec_create (d->engine, ref, &o, id, &err);
  json_decref (body);
  if (ret < 0)
    return regd_reply_error (r, err);
  return regd_reply_json (r, MHD_HTTP_CREATED, json_pack ("{s:s}", "Id", id));
}

static enum MHD_Result
exec_start (struct regd *d, struct request *r, const char *eid)
{
  struct reg_start_result res = { 0 };
  int fd = -1;
  if (reg_engine_exec_start (d->engine, eid, &fd, &res) < 0)
    return regd_reply_start_result (r, &res);
  return regd_reply_stream (r, MHD_HTTP_OK, fd);
}

static enum MHD_Result
exec_resize (struct regd *d, struct request *r, const char *eid)
{
  const char *h = regd_query (r, "h"), *w = regd_query (r, "w");
  int rows = h ? atoi (h) : 0, cols = w ? atoi (w) : 0;
  _cleanup_error_ struct reg_error *err = NULL;
  if (rows <= 0 || cols <= 0 || rows > 10000 || cols > 10000)
    return regd_reply_message (r, MHD_HTTP_BAD_REQUEST, "resize %.12s: want h=ROWS&w=COLS", eid);
  if (reg_engine_exec_resize (d->engine, eid, (unsigned short)rows, (unsigned short)cols, &err) < 0)
    return regd_reply_error (r, err);
  return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
}

/* POST /stdin: the body went to the process as it arrived (exec_stdin_open
 * opened its input); this is the reply when it ended. */
static enum MHD_Result
exec_stdin (struct regd *d, struct request *r, const char *eid)
{
  if (r->sink_err)
    return regd_reply_error (r, r->sink_err);
  return regd_reply_json (r, MHD_HTTP_NO_CONTENT, json_object ());
}

static void
exec_stdin_open (struct regd *d, struct request *r, const char *eid)
{
  reg_engine_exec_input (d->engine, eid, &r->sink_fd, &r->sink_err);
}

/* The client's input ended: the process sees end of file. */
static void
exec_stdin_done (struct regd *d, struct request *r, const char *eid)
{
  reg_engine_exec_input_done (d->engine, eid);
}

const struct regd_route regd_exec_routes[] = {
  { "POST", "start", exec_start, NULL, NULL },
  { "POST", "resize", exec_resize, NULL, NULL },
  { "POST", "stdin", exec_stdin, exec_stdin_open, exec_stdin_done },
};
const size_t regd_exec_routes_n = sizeof regd_exec_routes / sizeof *regd_exec_routes;

enum MHD_Result
regd_route_exec (struct regd *d, struct request *r, const char *eid, const char *action)
{
  const struct regd_route *row
      = eid && action ? regd_route_find (regd_exec_routes, regd_exec_routes_n, r->method, action)
                      : NULL;
  if (row)
    return row->handler (d, r, eid);
  return regd_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s /v1/exec/%s/%s", r->method,
                             eid ? eid : "", action ? action : "");
}
