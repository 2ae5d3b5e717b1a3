/* Streams between a browser and a device:
 *
 *   GET  /api/v1/devices/{id}/containers/{c}/logs?tail=N&follow=1
 *        server-sent events of the container's log, following it live
 *   POST /api/v1/devices/{id}/containers/{c}/terminal {Cmd?, Rows?, Cols?}
 *        -> 201 {"Id"}: an exec with a terminal, created on the device
 *   GET  /api/v1/terminals/{tid}/output   its output, as events
 *   POST /api/v1/terminals/{tid}/input    {"Data": text typed}
 *   POST /api/v1/terminals/{tid}/resize   {"Rows", "Cols"}
 *
 * Events: "out"/"err" with base64 data (bytes as they came: a UTF-8
 * sequence may be split between events), "exit" with the exit code,
 * "error" with a message, "end". No WebSocket: output is an event stream,
 * input small POSTs (each with the CSRF token like every change).
 *
 * Each stream has a thread that drives its regd transfers with libcurl and
 * writes events into a pipe the HTTP reply reads; when the browser goes,
 * the reply closes the pipe and the thread's next write (or its
 * once-a-second progress check) ends the transfers, which makes regd end
 * the exec. A terminal is its creator's alone and lives until its output
 * ends (or 60 s when its output is never asked for).
 */
#include "auth.h"
#include "hub.h"
#include "proto.h"
#include "regd_client.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct job
{
  struct hub_target t;
  json_t *dev;
  int out_w; /* events to the browser */
  int in_r;  /* terminal input (non-blocking), -1 for logs */
  char path[512];
  char input_path[512];
  bool in_paused, failed;
  long status;
  struct reg_frame_reader frames; /* regd's output, decoded by proto.h */
  CURL *out_h;                    /* the output transfer, whose status on_data checks */
  char *error_body;
  size_t error_len;
};

/* Write all of an event; false when the browser is gone. */
static bool
emit (struct job *j, const char *event, const char *data, size_t len, bool base64)
{
  size_t cap = 64 + strlen (event) + (base64 ? 4 * (len / 3 + 1) : len);
  _cleanup_free_ char *buf = malloc (cap + 1);
  if (buf == NULL)
    return false;
  int n = snprintf (buf, cap, "event: %s\ndata: ", event);
  if (base64)
    n += EVP_EncodeBlock ((unsigned char *)buf + n, (const unsigned char *)data, (int)len);
  else
    {
      memcpy (buf + n, data, len);
      n += (int)len;
    }
  memcpy (buf + n, "\n\n", 2);
  n += 2;
  for (int off = 0; off < n;)
    {
      ssize_t w = write (j->out_w, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return false;
      off += (int)w;
    }
  return true;
}

/* One complete frame: stdout and stderr as base64 events, the exit code
 * as text; -1 when the browser is gone. */
static int
on_frame (void *data, int stream, const unsigned char *payload, size_t len, int exit_code)
{
  struct job *j = data;
  bool ok = true;
  if (stream == REG_FRAME_STDOUT || stream == REG_FRAME_STDERR)
    ok = emit (j, stream == REG_FRAME_STDOUT ? "out" : "err", (const char *)payload, len, true);
  else if (stream == REG_FRAME_EXIT)
    {
      char text[16];
      snprintf (text, sizeof text, "%d", exit_code);
      ok = emit (j, "exit", text, strlen (text), false);
    }
  return ok ? 0 : -1;
}

static size_t
on_data (char *ptr, size_t size, size_t n, void *data)
{
  struct job *j = data;
  size_t len = size * n;
  if (j->status == 0)
    curl_easy_getinfo (j->out_h, CURLINFO_RESPONSE_CODE, &j->status);
  if (j->status != 200) /* an error reply: keep it for the message */
    {
      if (j->error_len + len > 65536)
        return len;
      char *nb = realloc (j->error_body, j->error_len + len + 1);
      if (nb == NULL)
        return 0;
      memcpy (nb + j->error_len, ptr, len);
      j->error_body = nb;
      j->error_len += len;
      nb[j->error_len] = '\0';
      return len;
    }
  return reg_proto_frame_feed (&j->frames, ptr, len, on_frame, j) < 0 ? 0 : len;
}

/* Once a second or so: is the browser still there? */
static int
on_progress (void *data, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
  struct job *j = data;
  struct pollfd p = { j->out_w, 0, 0 };
  return poll (&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP)) ? 1 : 0;
}

/* libcurl wants terminal input: what the pipe has, or pause. */
static size_t
on_input (char *buf, size_t size, size_t n, void *data)
{
  struct job *j = data;
  ssize_t got = read (j->in_r, buf, size * n);
  if (got > 0)
    return (size_t)got;
  if (got == 0)
    return 0; /* end of input */
  if (errno == EAGAIN)
    {
      j->in_paused = true;
      return CURL_READFUNC_PAUSE;
    }
  return CURL_READFUNC_ABORT;
}

static void
job_free (struct job *j)
{
  if (j->out_w >= 0)
    close (j->out_w);
  if (j->in_r >= 0)
    close (j->in_r);
  reg_proto_frame_reader_clear (&j->frames);
  free (j->error_body);
  json_decref (j->dev);
  free (j);
}

static void
finish (struct job *j, CURL *h, CURLcode rc)
{
  long status = 0;
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_ABORTED_BY_CALLBACK || rc == CURLE_WRITE_ERROR)
    return; /* the browser went away */
  _cleanup_error_ struct reg_error *err = NULL;
  if (rc != CURLE_OK || status != 200)
    {
      json_t *reply = j->error_body ? json_loads (j->error_body, 0, NULL) : NULL;
      hub_regd_fail (&j->t, rc, status, reply, &err);
      json_decref (reply);
      emit (j, "error", err->msg, strlen (err->msg), false);
    }
  emit (j, "end", "", 0, false);
}

static CURL *
stream_easy (struct job *j, const char *method, const char *path, struct curl_slist **headers)
{
  CURL *h = hub_target_easy (&j->t, method, path, headers);
  if (h == NULL)
    return NULL;
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, j);
  curl_easy_setopt (h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt (h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt (h, CURLOPT_XFERINFODATA, j);
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  if (strcmp (method, "POST") == 0)
    curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE, 0L);
  return h;
}

/* ---- logs ---- */

static void *
logs_thread (void *arg)
{
  struct job *j = arg;
  struct curl_slist *headers = NULL;
  CURL *h = j->out_h = stream_easy (j, "GET", j->path, &headers);
  if (h)
    {
      CURLcode rc = curl_easy_perform (h);
      finish (j, h, rc);
      curl_easy_cleanup (h);
    }
  curl_slist_free_all (headers);
  job_free (j);
  return NULL;
}

static struct job *
job_new (json_t *dev, struct reg_error **err)
{
  struct job *j = calloc (1, sizeof *j);
  if (j == NULL)
    return reg_error_set (err, ENOMEM, "out of memory"), NULL;
  j->out_w = j->in_r = -1;
  j->dev = json_incref (dev);
  if (hub_target_init (&j->t, j->dev, err) < 0)
    {
      job_free (j);
      return NULL;
    }
  return j;
}

/* Start `fn` on a detached thread; the reply streams the other end. */
static enum MHD_Result
start_stream (struct hub_req *r, struct job *j, void *(*fn) (void *))
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    {
      job_free (j);
      return hub_reply_message (r, MHD_HTTP_INTERNAL_SERVER_ERROR, "stream: no pipe: %s",
                                strerror (errno));
    }
  j->out_w = p[1];
  pthread_t tid;
  pthread_attr_t attr;
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  if (pthread_create (&tid, &attr, fn, j) != 0)
    {
      pthread_attr_destroy (&attr);
      close (p[0]);
      job_free (j);
      return hub_reply_message (r, MHD_HTTP_SERVICE_UNAVAILABLE, "stream: no thread");
    }
  pthread_attr_destroy (&attr);
  return hub_reply_events (r, p[0]);
}

enum MHD_Result
hub_api_logs (struct hub_req *r, json_t *dev, const char *container)
{
  _cleanup_error_ struct reg_error *err = NULL;
  const char *tail = hub_query (r, "tail"), *follow = hub_query (r, "follow");
  char *end = NULL;
  long n = tail ? strtol (tail, &end, 10) : 200;
  if (tail && (*end != '\0' || n < 0 || n > 100000))
    return hub_reply_message (r, MHD_HTTP_BAD_REQUEST, "logs: tail is 0 to 100000");
  struct job *j = job_new (dev, &err);
  if (j == NULL)
    return hub_reply_error (r, err);
  snprintf (j->path, sizeof j->path, "/v1/containers/%s/logs?tail=%ld%s", container, n,
            follow && strcmp (follow, "0") == 0 ? "" : "&follow=1");
  j->status = 0;
  return start_stream (r, j, logs_thread);
}

/* ---- terminals ---- */

#define TERMINAL_UNCLAIMED_S 60

struct terminal
{
  char id[64];
  int64_t user;
  int64_t device;
  json_t *dev;
  char eid[65];
  int in_r, in_w;
  bool claimed;
  int64_t created;
  struct terminal *next;
};

static pthread_mutex_t terminals_lock = PTHREAD_MUTEX_INITIALIZER;
static struct terminal *terminals;

static void
terminal_free (struct terminal *t)
{
  if (t->in_r >= 0)
    close (t->in_r);
  if (t->in_w >= 0)
    close (t->in_w);
  json_decref (t->dev);
  free (t);
}

/* Under the lock: drop terminals whose output nobody asked for. */
static void
reap_unclaimed (int64_t now)
{
  for (struct terminal **p = &terminals; *p;)
    {
      struct terminal *t = *p;
      if (!t->claimed && now - t->created > TERMINAL_UNCLAIMED_S)
        {
          *p = t->next;
          terminal_free (t);
        }
      else
        p = &t->next;
    }
}

static struct terminal *
terminal_find (const char *id, int64_t user)
{
  for (struct terminal *t = terminals; t; t = t->next)
    if (strcmp (t->id, id) == 0 && t->user == user)
      return t;
  return NULL;
}

static void
terminal_forget (const char *id)
{
  pthread_mutex_lock (&terminals_lock);
  for (struct terminal **p = &terminals; *p; p = &(*p)->next)
    if (strcmp ((*p)->id, id) == 0)
      {
        struct terminal *t = *p;
        *p = t->next;
        terminal_free (t);
        break;
      }
  pthread_mutex_unlock (&terminals_lock);
}

static long
size_of (json_t *body, const char *key, long dflt)
{
  json_t *v = json_object_get (body, key);
  return v ? (long)json_integer_value (v) : dflt;
}

enum MHD_Result
hub_api_terminal_new (struct hub_req *r, json_t *dev, const char *container)
{
  static const char *const keys[] = { "Cmd", "Rows", "Cols", NULL };
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *body = hub_body (r, keys, &err);
  if (body == NULL)
    return hub_reply_error (r, err);
  long rows = size_of (body, "Rows", 24), cols = size_of (body, "Cols", 80);
  json_t *cmd = json_object_get (body, "Cmd");
  int64_t device = json_integer_value (json_object_get (dev, "Id"));
  if (rows < 1 || rows > 1000 || cols < 1 || cols > 1000
      || (cmd && (!json_is_array (cmd) || json_array_size (cmd) == 0)))
    {
      json_decref (body);
      return hub_reply_message (r, MHD_HTTP_BAD_REQUEST,
                                "terminal: Rows and Cols 1 to 1000, Cmd a non-empty list");
    }
  json_t *argv = cmd ? json_incref (cmd) : json_pack ("[s]", "/bin/sh");
  json_t *req = json_pack ("{s:o, s:b, s:b, s:[i, i]}", "Cmd", argv, "Tty", 1, "AttachStdin", 1,
                           "ConsoleSize", (int)rows, (int)cols);
  json_decref (body);
  struct hub_target t;
  json_t *reply = NULL;
  char path[512];
  snprintf (path, sizeof path, "/v1/containers/%s/exec", container);
  long status = hub_target_init (&t, dev, &err) < 0
                    ? -1
                    : hub_regd_call (&t, "POST", path, req, 30000, &reply, &err);
  json_decref (req);
  if (status != 201)
    {
      if (status > 0)
        hub_regd_fail (&t, CURLE_OK, status, reply, &err);
      json_decref (reply);
      hub_audit (r, device, "terminal", container, err->msg);
      return hub_reply_error (r, err);
    }
  struct terminal *term = calloc (1, sizeof *term);
  int p[2] = { -1, -1 };
  if (term == NULL || pipe2 (p, O_CLOEXEC | O_NONBLOCK) < 0
      || hub_auth_secret (NULL, term->id, &err) < 0)
    {
      free (term);
      json_decref (reply);
      if (p[0] >= 0)
        close (p[0]), close (p[1]);
      return hub_reply_message (r, MHD_HTTP_INTERNAL_SERVER_ERROR, "terminal: out of resources");
    }
  snprintf (term->eid, sizeof term->eid, "%s", json_string_value (json_object_get (reply, "Id")));
  json_decref (reply);
  term->in_r = p[0];
  term->in_w = p[1];
  term->user = hub_user_id (r);
  term->device = device;
  term->dev = json_incref (dev);
  term->created = hub_now ();
  pthread_mutex_lock (&terminals_lock);
  reap_unclaimed (term->created);
  term->next = terminals;
  terminals = term;
  pthread_mutex_unlock (&terminals_lock);
  hub_audit (r, device, "terminal", container, "ok");
  return hub_reply_json (r, MHD_HTTP_CREATED, json_pack ("{s:s}", "Id", term->id));
}

struct terminal_job
{
  struct job j;
  char id[64];
};

static void *
terminal_thread (void *arg)
{
  struct terminal_job *tj = arg;
  struct job *j = &tj->j;
  struct curl_slist *oh = NULL, *ih = NULL;
  CURLM *multi = curl_multi_init ();
  CURL *out = j->out_h = stream_easy (j, "POST", j->path, &oh);
  CURL *in = hub_target_easy (&j->t, "POST", j->input_path, &ih);
  if (multi && out && in)
    {
      ih = curl_slist_append (ih, "Transfer-Encoding: chunked");
      curl_easy_setopt (in, CURLOPT_HTTPHEADER, ih);
      curl_easy_setopt (in, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt (in, CURLOPT_READFUNCTION, on_input);
      curl_easy_setopt (in, CURLOPT_READDATA, j);
      curl_multi_add_handle (multi, out);
      curl_multi_add_handle (multi, in);
      CURLcode rc = CURLE_OK;
      bool done = false;
      while (!done)
        {
          int running = 0;
          curl_multi_perform (multi, &running);
          CURLMsg *m;
          int left;
          while ((m = curl_multi_info_read (multi, &left)) != NULL)
            if (m->msg == CURLMSG_DONE && m->easy_handle == out)
              {
                rc = m->data.result;
                done = true;
              }
            else if (m->msg == CURLMSG_DONE && m->easy_handle == in)
              curl_multi_remove_handle (multi, in);
          if (done)
            break;
          struct curl_waitfd extra = { j->in_r, CURL_WAIT_POLLIN, 0 };
          bool watch = j->in_paused;
          curl_multi_poll (multi, watch ? &extra : NULL, watch ? 1 : 0, 500, NULL);
          if (watch && (extra.revents & CURL_WAIT_POLLIN))
            {
              j->in_paused = false;
              curl_easy_pause (in, CURLPAUSE_CONT);
            }
          if (on_progress (j, 0, 0, 0, 0))
            {
              rc = CURLE_ABORTED_BY_CALLBACK;
              break;
            }
        }
      finish (j, out, rc);
      curl_multi_remove_handle (multi, in);
      curl_multi_remove_handle (multi, out);
    }
  if (in)
    curl_easy_cleanup (in);
  if (out)
    curl_easy_cleanup (out);
  curl_multi_cleanup (multi);
  curl_slist_free_all (oh);
  curl_slist_free_all (ih);
  terminal_forget (tj->id);
  job_free (j);
  return NULL;
}

static enum MHD_Result
terminal_output (struct hub_req *r, struct terminal *t)
{
  _cleanup_error_ struct reg_error *err = NULL;
  struct terminal_job *tj = calloc (1, sizeof *tj);
  if (tj == NULL)
    return MHD_NO;
  struct job *j = &tj->j;
  j->out_w = j->in_r = -1;
  j->dev = json_incref (t->dev);
  if (hub_target_init (&j->t, j->dev, &err) < 0)
    {
      job_free (j);
      return hub_reply_error (r, err);
    }
  snprintf (tj->id, sizeof tj->id, "%s", t->id);
  snprintf (j->path, sizeof j->path, "/v1/exec/%s/start", t->eid);
  snprintf (j->input_path, sizeof j->input_path, "/v1/exec/%s/stdin", t->eid);
  j->in_r = fcntl (t->in_r, F_DUPFD_CLOEXEC, 3);
  return start_stream (r, j, terminal_thread);
}

enum MHD_Result
hub_api_terminals (struct hub_req *r, char **parts, size_t n)
{
  if (n != 3)
    return hub_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s %s", r->method, r->url);
  bool post = strcmp (r->method, "POST") == 0;
  pthread_mutex_lock (&terminals_lock);
  struct terminal *t = terminal_find (parts[1], hub_user_id (r));
  if (t == NULL)
    {
      pthread_mutex_unlock (&terminals_lock);
      return hub_reply_message (r, MHD_HTTP_NOT_FOUND, "terminal %s: no such terminal of yours",
                                parts[1]);
    }
  if (strcmp (parts[2], "output") == 0 && strcmp (r->method, "GET") == 0)
    {
      bool claimed = t->claimed;
      t->claimed = true;
      pthread_mutex_unlock (&terminals_lock);
      if (claimed)
        return hub_reply_message (r, MHD_HTTP_CONFLICT, "terminal %s: its output is taken",
                                  parts[1]);
      return terminal_output (r, t);
    }
  json_t *dev = json_incref (t->dev);
  char eid[65];
  snprintf (eid, sizeof eid, "%s", t->eid);
  int in_w = post ? fcntl (t->in_w, F_DUPFD_CLOEXEC, 3) : -1;
  pthread_mutex_unlock (&terminals_lock);
  enum MHD_Result ret;
  _cleanup_error_ struct reg_error *err = NULL;
  static const char *const input_keys[] = { "Data", NULL };
  static const char *const size_keys[] = { "Rows", "Cols", NULL };
  json_t *body = NULL;
  if (post && strcmp (parts[2], "input") == 0)
    {
      body = hub_body (r, input_keys, &err);
      const char *data = body ? json_string_value (json_object_get (body, "Data")) : NULL;
      if (body == NULL)
        ret = hub_reply_error (r, err);
      else if (data == NULL)
        ret = hub_reply_message (r, MHD_HTTP_BAD_REQUEST, "terminal input: Data (text) wanted");
      else if (write (in_w, data, strlen (data)) != (ssize_t)strlen (data))
        ret = hub_reply_message (r, MHD_HTTP_SERVICE_UNAVAILABLE,
                                 "terminal %s: input not taken (%s)", parts[1], strerror (errno));
      else
        ret = hub_reply_empty (r, MHD_HTTP_NO_CONTENT);
    }
  else if (post && strcmp (parts[2], "resize") == 0)
    {
      body = hub_body (r, size_keys, &err);
      long rows = size_of (body, "Rows", 0), cols = size_of (body, "Cols", 0);
      struct hub_target target;
      char path[256];
      snprintf (path, sizeof path, "/v1/exec/%s/resize?h=%ld&w=%ld", eid, rows, cols);
      if (body == NULL)
        ret = hub_reply_error (r, err);
      else if (rows < 1 || rows > 1000 || cols < 1 || cols > 1000)
        ret = hub_reply_message (r, MHD_HTTP_BAD_REQUEST,
                                 "terminal resize: Rows and Cols 1 to 1000");
      else if (hub_target_init (&target, dev, &err) < 0
               || hub_regd_call (&target, "POST", path, NULL, 10000, NULL, &err) < 0)
        ret = hub_reply_error (r, err);
      else
        ret = hub_reply_empty (r, MHD_HTTP_NO_CONTENT);
    }
  else
    ret = hub_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s %s", r->method, r->url);
  if (in_w >= 0)
    close (in_w);
  json_decref (body);
  json_decref (dev);
  return ret;
}
