/* reg exec [-i] [-t] [-e KEY=VALUE] [-w DIR] ID|NAME CMD [ARGS...]
 *
 * Runs CMD in a running container. Its output streams back; with -i our
 * standard input is sent to it as it comes (a second, chunked request);
 * with -t it gets a pseudo-terminal, our terminal goes to raw mode, and
 * window size changes follow. reg exits with CMD's exit code (125 when it
 * could not be started, 126 not executable, 127 not found). */
#include "cli.h"
#include "options.h"
#include "detach.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t winch = 1; /* send the size once at the start */

static void
on_winch (int sig)
{
  winch = 1;
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

static const struct cli_option exec_options[] = {
  { "interactive", 'i', NULL, "pass our input to the command" },
  { "tty", 't', NULL, "a terminal from the container's /dev/pts" },
  { "env", 'e', "KEY=VALUE", "set a variable (repeatable)" },
  { "env-file", 'E' + 256, "FILE", "variables from FILE, Docker's format (docs/cli.md)" },
  { "workdir", 'w', "DIR", "run in DIR" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec exec_spec
    = { .name = "exec",
        .args = "CONTAINER CMD [ARGS...]",
        .summary = "Run a command in a running container; reg exits with its status (125 when reg "
                   "or regd failed, 126 not executable, 127 not found).",
        .options = exec_options,
        .stop_at_args = true };
const struct cli_spec *const cli_specs_exec[] = { &exec_spec, NULL };

int
cmd_exec (struct reg_client *c, int argc, char **argv)
{
  bool interactive = false, tty = false;
  json_t *body = json_object (), *env = json_array ();
  json_object_set_new (body, "Env", env);
  int opt;
  const char *optarg;
  while ((opt = cli_next (&exec_spec, argc, argv, &optarg)) != -1)
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
      case 'E' + 256:
        if (cli_env_file (optarg, env) < 0)
          {
            json_decref (body);
            return 125;
          }
        break;
      case 'w':
        json_object_set_new (body, "WorkingDir", json_string (optarg));
        break;
      case CLI_HELP:
        json_decref (body);
        return 0;
      default:
        json_decref (body);
        return 125;
      }
  int optind = cli_args (&exec_spec, argc, argv, 2, -1);
  if (optind <= 0)
    {
      json_decref (body);
      return optind == 0 ? 0 : 125;
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

/* Our stdin, while it lasts, goes to the upload; detach keys (when given)
 * are held back, and typing them ends the attachment. */
struct input
{
  struct client_stream *up;
  struct reg_detach *detach; /* NULL: no detach keys */
  bool open;                 /* still reading stdin */
  bool detached;             /* the keys were typed */
};

/* Our stdin is readable: send what it has, or end the upload at its end. */
static void
forward_input (struct input *in)
{
  unsigned char buf[16 * 1024], kept[sizeof buf + REG_DETACH_MAX];
  ssize_t n = read (0, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0)
    {
      client_upload_send (in->up, NULL, 0); /* end of input: the last chunk */
      in->open = false;
      return;
    }
  const unsigned char *send = buf;
  size_t len = (size_t)n;
  if (in->detach)
    {
      in->detached = reg_detach_feed (in->detach, buf, (size_t)n, kept, &len);
      send = kept; /* what came before the keys, or a partial match given back */
    }
  if (len > 0 && client_upload_send (in->up, send, len) < 0)
    in->open = false;
}

static void
set_raw (bool tty, struct termios *saved, bool *raw)
{
  *raw = false;
  winch = 0; /* the first size went with the request */
  if (!tty || !isatty (0) || tcgetattr (0, saved) < 0)
    return;
  struct termios t = *saved;
  cfmakeraw (&t);
  *raw = tcsetattr (0, TCSANOW, &t) == 0;
  signal (SIGWINCH, on_winch);
}

/* Stream the output of `start_path` (attach frames) to ours while, with
 * input_path, our stdin goes there as a chunked upload; with a tty our
 * terminal is raw and size changes go to resize_path. With detach keys,
 * typing them leaves the container running and returns 0. The exit status
 * is the process's, or 125..127 when it could not start. */
int
cli_attach (struct reg_client *c, const char *start_path, const char *input_path,
            const char *resize_path, bool tty, struct reg_detach *detach)
{
  int exit_code = -1;
  struct client_stream *out = client_stream_new (c, "POST", start_path, NULL, &exit_code);
  if (out == NULL)
    return 125;
  struct input in = { .detach = detach };
  in.up = input_path ? client_upload_new (c, input_path) : NULL;
  in.open = in.up != NULL;
  struct termios saved;
  bool raw;
  set_raw (tty, &saved, &raw);

  int done = 0;
  while (done == 0 && !in.detached)
    {
      /* The output; our stdin while it lasts; then the upload's reply. */
      struct pollfd p[2]
          = { { .fd = client_stream_fd (out), .events = POLLIN }, { .fd = -1, .events = POLLIN } };
      if (in.up)
        p[1].fd = in.open ? 0 : client_stream_fd (in.up);
      if (poll (p, 2, -1) < 0 && errno != EINTR)
        break;
      if (winch)
        {
          winch = 0;
          send_size (c, resize_path);
        }
      if (p[0].revents)
        done = client_stream_pump (out);
      if (in.up && in.open && p[1].revents)
        forward_input (&in);
      else if (in.up && p[1].revents && client_stream_pump (in.up) != 0)
        {
          client_stream_finish (in.up, NULL);
          in.up = NULL;
        }
    }
  if (raw)
    tcsetattr (0, TCSANOW, &saved);
  if (in.up)
    client_stream_finish (in.up, NULL);
  if (in.detached)
    {
      /* Leave the container running: the output request dropped unfinished. */
      client_stream_finish (out, NULL);
      fprintf (stderr, "\r\nreg: detached (the container goes on running)\n");
      return 0;
    }
  json_t *err_reply = NULL;
  long status = client_stream_finish (out, &err_reply);
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
