/* reg attach [--detach-keys KEYS] [--no-stdin] [--sig-proxy=false] ID|NAME
 *
 * Attach to a running container: its output from now on, and, when it was
 * started with -i, our input as its input; with --tty our terminal is raw
 * and follows window size changes. Typing the detach keys (Ctrl-P Ctrl-Q,
 * or --detach-keys in Docker's spelling) leaves it running; so does the end
 * of our input (its input stays open for the next attach). Several clients
 * may be attached at once. reg exits with the container's exit code when it
 * ends, 0 when detached. As `reg run`, signals sent to reg go to the
 * container.
 *
 * reg start -i ID|NAME starts a generated or stopped container attached the
 * same way (Docker's `start -ai`), for `reg generate -i [--tty]`. */
#include "cli.h"
#include "options.h"
#include "detach.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int
cli_detach_keys (const char *cmd, const char *spec, struct reg_detach *d)
{
  _cleanup_error_ struct reg_error *err = NULL;
  if (reg_detach_parse (spec ? spec : REG_DETACH_DEFAULT, d, &err) == 0)
    return 0;
  fprintf (stderr, "reg %s: --detach-keys: %s\n", cmd, err->msg);
  return -1;
}

/* GET the container: its id, whether it takes input and has a terminal,
 * and its state; 0, or the exit status after saying what went wrong. */
static int
container_io (struct reg_client *c, const char *ref, char id[65], bool *input, bool *tty,
              char state[32])
{
  char *esc = client_escape (c, ref);
  char path[512];
  snprintf (path, sizeof path, "/v1/containers/%s", esc ? esc : "");
  free (esc);
  json_t *reply = NULL;
  long status = client_call (c, "GET", path, NULL, &reply);
  if (status != 200)
    {
      int rc = client_fail (NULL, status, reply);
      json_decref (reply);
      return rc;
    }
  *tty = json_is_true (json_object_get (reply, "Tty"));
  *input = json_is_true (json_object_get (reply, "OpenStdin"));
  snprintf (id, 65, "%s", json_string_value (json_object_get (reply, "Id")) ?: "");
  snprintf (state, 32, "%s",
            json_string_value (json_object_get (json_object_get (reply, "State"), "Status"))
                ?: "?");
  json_decref (reply);
  return 0;
}

int
cli_start_interactive (struct reg_client *c, const char *ref, const char *keys, bool proxy)
{
  struct reg_detach detach;
  char id[65], state[32];
  bool input = false, tty = false;
  int rc;
  if (cli_detach_keys ("start", keys, &detach) < 0)
    return 125;
  if ((rc = container_io (c, ref, id, &input, &tty, state)) != 0)
    return rc;
  char start[256], in[256], size[256];
  snprintf (start, sizeof start, "/v1/containers/%s/start?attach=1", id);
  snprintf (in, sizeof in, "/v1/containers/%s/stdin", id);
  snprintf (size, sizeof size, "/v1/containers/%s/resize", id);
  if (proxy)
    cli_sigproxy_start (c, id);
  /* The end of our input is its end of file, as for run -i. */
  return cli_attach (c, start, input ? in : NULL, size, tty, tty && input ? &detach : NULL);
}

static const struct cli_option attach_options[] = {
  { "detach-keys", 'k' + 256, "KEYS", "the keys that detach (default ctrl-p,ctrl-q)" },
  { "no-stdin", 'n' + 256, NULL, "do not pass our input" },
  { "sig-proxy", 'y' + 256, "=BOOL",
    "pass the signals reg gets to the container (default true; false: a signal ends only reg)" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec attach_spec = CLI_SPEC (
    "attach", "CONTAINER", "Attach to a running container's output (and input, when made with -i).",
    attach_options);
const struct cli_spec *const cli_specs_attach[] = { &attach_spec, NULL };

int
cmd_attach (struct reg_client *c, int argc, char **argv)
{
  const char *keys = NULL, *arg;
  bool no_stdin = false, proxy = true;
  int opt;
  while ((opt = cli_next (&attach_spec, argc, argv, &arg)) != -1)
    {
      if (opt == 'k' + 256)
        keys = arg;
      else if (opt == 'n' + 256)
        no_stdin = true;
      else if (opt == 'y' + 256)
        {
          if (cli_sig_proxy_option ("attach", arg, &proxy) < 0)
            return 2;
        }
      else
        return opt == CLI_HELP ? 0 : 2;
    }
  struct reg_detach detach;
  int optind = cli_args (&attach_spec, argc, argv, 1, 1);
  if (optind <= 0)
    return -optind;
  if (cli_detach_keys ("attach", keys, &detach) < 0)
    return 1;
  char id[65], state[32];
  bool input = false, tty = false;
  int rc = container_io (c, argv[optind], id, &input, &tty, state);
  if (rc != 0)
    return rc;
  if (strcmp (state, "running") != 0 && strcmp (state, "paused") != 0)
    {
      fprintf (stderr, "reg: container %s: cannot attach: it is %s (start it first)\n",
               argv[optind], state);
      return 1;
    }
  input = input && !no_stdin;
  char start[256], in[256], size[256];
  snprintf (start, sizeof start, "/v1/containers/%s/attach", id);
  snprintf (in, sizeof in, "/v1/containers/%s/stdin?keep=1", id);
  snprintf (size, sizeof size, "/v1/containers/%s/resize", id);
  /* Our terminal's size now: the program redraws for it. */
  struct winsize ws;
  if (tty && ioctl (0, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
    {
      char p[320];
      snprintf (p, sizeof p, "%s?h=%u&w=%u", size, ws.ws_row, ws.ws_col);
      client_call (c, "POST", p, NULL, NULL);
    }
  if (proxy)
    cli_sigproxy_start (c, id);
  /* As Docker: the keys are looked for in a terminal's input only. */
  return cli_attach (c, start, input ? in : NULL, size, tty, tty && input ? &detach : NULL);
}
