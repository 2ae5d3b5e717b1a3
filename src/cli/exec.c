/* reg exec [-i] [-t] [-e KEY=VALUE] [-w DIR] ID|NAME CMD [ARGS...]
 *
 * Runs CMD in a running container. Its output streams back; with -i our
 * standard input is sent to it as it comes (a second, chunked request);
 * with -t it gets a pseudo-terminal, our terminal goes to raw mode, and
 * window size changes follow. reg exits with CMD's exit code (125 when it
 * could not be started, 126 not executable, 127 not found). */
#include "cli.h"
#include "detach.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

struct input
{
  bool eof;
  bool paused;
  struct reg_detach *detach; /* NULL: no detach keys */
  bool detached;             /* the keys were typed */
};

static volatile sig_atomic_t winch = 1; /* send the size once at the start */

static void
on_winch (int sig)
{
  winch = 1;
}

/* libcurl asks for more input: what stdin has now, or pause until it has. */
static size_t
read_input (char *buf, size_t size, size_t n, void *data)
{
  struct input *in = data;
  if (in->detached)
    return CURL_READFUNC_ABORT;
  size_t room = size * n;
  if (in->detach && room <= REG_DETACH_MAX)
    {
      in->paused = true;
      return CURL_READFUNC_PAUSE;
    }
  unsigned char raw[16384];
  size_t want = in->detach ? room - REG_DETACH_MAX : room;
  ssize_t got = read (0, in->detach ? (char *)raw : buf, want < sizeof raw ? want : sizeof raw);
  if (got > 0 && in->detach)
    {
      /* The keys are held back, the rest goes on. */
      size_t out = 0;
      in->detached = reg_detach_feed (in->detach, raw, (size_t)got, (unsigned char *)buf, &out);
      if (out > 0 || in->detached)
        return out > 0 ? out : CURL_READFUNC_ABORT;
      in->paused = true; /* a partial match: wait for more */
      return CURL_READFUNC_PAUSE;
    }
  if (got > 0)
    return (size_t)got;
  if (got < 0 && (errno == EAGAIN || errno == EINTR))
    {
      in->paused = true;
      return CURL_READFUNC_PAUSE;
    }
  in->eof = true;
  return 0; /* end of input */
}

static void
send_size (struct reg_client *c, const char *resize_path)
{
  struct winsize ws;
  if (ioctl (0, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0)
    return;
  char path[512];
  snprintf (path, sizeof path, "%s?h=%u&w=%u", resize_path, ws.ws_row, ws.ws_col);
  client_call (c, "POST", path, NULL, NULL);
}

static int
usage (void)
{
  fprintf (stderr, "usage: reg exec [-i] [-t] [-e KEY=VALUE] [-w DIR] ID|NAME CMD [ARGS...]\n");
  return 125;
}

int
cmd_exec (struct reg_client *c, int argc, char **argv)
{
  static const struct option opts[] = {
    { "interactive", no_argument, NULL, 'i' },
    { "tty", no_argument, NULL, 't' },
    { "env", required_argument, NULL, 'e' },
    { "workdir", required_argument, NULL, 'w' },
    { NULL, 0, NULL, 0 },
  };
  bool interactive = false, tty = false;
  json_t *body = json_object (), *env = json_array ();
  json_object_set_new (body, "Env", env);
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "+ite:w:", opts, NULL)) != -1)
    switch (opt)
      {
      case 'i':
        interactive = true;
        break;
      case 't':
        tty = true;
        break;
      case 'e':
        json_array_append_new (env, json_string (optarg));
        break;
      case 'w':
        json_object_set_new (body, "WorkingDir", json_string (optarg));
        break;
      default:
        json_decref (body);
        return usage ();
      }
  if (argc - optind < 2)
    {
      json_decref (body);
      return usage ();
    }
  json_t *cmd = json_array ();
  for (int i = optind + 1; i < argc; i++)
    json_array_append_new (cmd, json_string (argv[i]));
  json_object_set_new (body, "Cmd", cmd);
  json_object_set_new (body, "Tty", json_boolean (tty));
  json_object_set_new (body, "AttachStdin", json_boolean (interactive));
  struct winsize ws;
  if (tty && ioctl (0, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
    json_object_set_new (body, "ConsoleSize", json_pack ("[i, i]", ws.ws_row, ws.ws_col));

  char *ref = client_escape (c, argv[optind]);
  char path[512];
  snprintf (path, sizeof path, "/v1/containers/%s/exec", ref ? ref : "");
  free (ref);
  json_t *reply = NULL;
  long status = client_call (c, "POST", path, body, &reply);
  json_decref (body);
  if (status != 201)
    {
      client_fail ("exec", status, reply);
      json_decref (reply);
      return 125;
    }
  char eid[65];
  snprintf (eid, sizeof eid, "%s", json_string_value (json_object_get (reply, "Id")));
  json_decref (reply);

  char start[256], input[256], size[256];
  snprintf (start, sizeof start, "/v1/exec/%s/start", eid);
  snprintf (input, sizeof input, "/v1/exec/%s/stdin", eid);
  snprintf (size, sizeof size, "/v1/exec/%s/resize", eid);
  return cli_attach (c, start, interactive ? input : NULL, size, tty, NULL);
}

/* Stream the output of `start_path` (attach frames) to ours while, with
 * input_path, our stdin goes there as a chunked upload; with a tty our
 * terminal is raw and size changes go to resize_path. The exit status is
 * the process's, or 125..127 when it could not start. */
int
cli_attach (struct reg_client *c, const char *start_path, const char *input_path,
            const char *resize_path, bool tty, struct reg_detach *detach)
{
  bool interactive = input_path != NULL;
  const char *resize = resize_path;
  int exit_code = -1;
  struct client_stream *out = client_stream_new (c, "POST", start_path, NULL, &exit_code);
  CURLM *multi = curl_multi_init ();
  if (out == NULL || multi == NULL)
    {
      fprintf (stderr, "reg: out of memory\n");
      return 125;
    }
  curl_multi_add_handle (multi, client_stream_easy (out));
  struct input in = { .detach = detach };
  struct curl_slist *up_headers = NULL;
  CURL *up = NULL;
  if (interactive)
    {
      fcntl (0, F_SETFL, fcntl (0, F_GETFL) | O_NONBLOCK);
      up = client_upload_new (c, input_path, read_input, &in, &up_headers);
      if (up)
        curl_multi_add_handle (multi, up);
    }
  struct termios saved;
  bool raw = false;
  if (tty && isatty (0) && tcgetattr (0, &saved) == 0)
    {
      struct termios t = saved;
      cfmakeraw (&t);
      raw = tcsetattr (0, TCSANOW, &t) == 0;
      signal (SIGWINCH, on_winch);
    }
  else
    winch = 0;
  winch = 0; /* the first size went with the request */

  CURLcode out_rc = CURLE_OK;
  bool out_done = false;
  while (!out_done)
    {
      int running = 0;
      curl_multi_perform (multi, &running);
      CURLMsg *m;
      int left;
      while ((m = curl_multi_info_read (multi, &left)) != NULL)
        {
          if (m->msg != CURLMSG_DONE)
            continue;
          if (m->easy_handle == client_stream_easy (out))
            {
              out_rc = m->data.result;
              out_done = true;
            }
          else if (m->easy_handle == up)
            {
              curl_multi_remove_handle (multi, up);
              curl_easy_cleanup (up);
              up = NULL;
            }
        }
      if (out_done || in.detached)
        break;
      if (winch)
        {
          winch = 0;
          send_size (c, resize);
        }
      /* Wake for our stdin too, when the upload waits for it. */
      struct curl_waitfd extra = { 0, CURL_WAIT_POLLIN, 0 };
      bool watch = up && in.paused;
      curl_multi_poll (multi, watch ? &extra : NULL, watch ? 1 : 0, 200, NULL);
      if (watch && (extra.revents & CURL_WAIT_POLLIN))
        {
          in.paused = false;
          curl_easy_pause (up, CURLPAUSE_CONT);
        }
    }
  if (raw)
    tcsetattr (0, TCSANOW, &saved);
  if (in.detached)
    {
      /* Leave the container running: drop both requests unfinished. */
      if (up)
        {
          curl_multi_remove_handle (multi, up);
          curl_easy_cleanup (up);
        }
      curl_slist_free_all (up_headers);
      curl_multi_remove_handle (multi, client_stream_easy (out));
      client_stream_finish (out, CURLE_OK, NULL);
      curl_multi_cleanup (multi);
      fprintf (stderr, "\r\nreg: detached (the container goes on running)\n");
      return 0;
    }
  if (up)
    {
      curl_multi_remove_handle (multi, up);
      curl_easy_cleanup (up);
    }
  curl_slist_free_all (up_headers);
  curl_multi_remove_handle (multi, client_stream_easy (out));
  json_t *err_reply = NULL;
  long status = client_stream_finish (out, out_rc, &err_reply);
  curl_multi_cleanup (multi);
  if (status != 200)
    {
      json_t *code = json_object_get (err_reply, "ExitCode");
      int rc = json_is_integer (code) ? (int)json_integer_value (code) : 125;
      client_fail (NULL, status, err_reply);
      json_decref (err_reply);
      return rc >= 125 ? rc : 125;
    }
  json_decref (err_reply);
  return exit_code < 0 ? 125 : exit_code;
}
