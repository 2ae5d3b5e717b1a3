/* Docker's sig-proxy: while a foreground `reg run` or `reg start -a` waits
 * for its container, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2
 * sent to reg go to the container (POST /kill), so Ctrl-C or a service
 * manager's stop reaches the program instead of only ending the client.
 *
 * The signals are blocked in every thread and taken by one thread with
 * sigwait, which makes the request on a connection of its own: nothing runs
 * in a signal handler, and the attached stream is left alone. A container
 * that has just exited makes the request fail; that is ignored.
 * `--sig-proxy=false` (run, start, attach) leaves the signals to reg: Ctrl-C
 * then ends only the client, as in Docker. */
#include "cli.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const int proxied[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static char proxy_path[512];
static sigset_t proxy_set;

static void *
proxy_main (void *data)
{
  struct reg_client *c = cli_client_open_again ();
  for (;;)
    {
      int sig = 0;
      if (sigwait (&proxy_set, &sig) != 0 || c == NULL)
        continue;
      char path[600];
      snprintf (path, sizeof path, "%s?signal=%d", proxy_path, sig);
      json_t *reply = NULL;
      client_call (c, "POST", path, NULL, &reply);
      json_decref (reply);
    }
  return NULL;
}

void
cli_sigproxy_block (void)
{
  sigemptyset (&proxy_set);
  for (size_t i = 0; i < sizeof proxied / sizeof proxied[0]; i++)
    sigaddset (&proxy_set, proxied[i]);
  /* Blocked first, so none can end us in between. A shell's `&` starts us
   * with SIGINT and SIGQUIT ignored, which would discard them: take them
   * anyway, as a user who sends one means it. */
  pthread_sigmask (SIG_BLOCK, &proxy_set, NULL);
  for (size_t i = 0; i < sizeof proxied / sizeof proxied[0]; i++)
    signal (proxied[i], SIG_DFL);
}

int
cli_sigproxy_arm (struct reg_client *c, const char *id)
{
  char *ref = client_escape (c, id);
  snprintf (proxy_path, sizeof proxy_path, "/v1/containers/%s/kill", ref ? ref : "");
  free (ref);
  pthread_t t;
  if (pthread_create (&t, NULL, proxy_main, NULL) != 0)
    {
      pthread_sigmask (SIG_UNBLOCK, &proxy_set, NULL);
      return -1;
    }
  pthread_detach (t);
  return 0;
}

int
cli_sigproxy_start (struct reg_client *c, const char *id)
{
  cli_sigproxy_block ();
  return cli_sigproxy_arm (c, id);
}

int
cli_sig_proxy_option (const char *cmd, const char *arg, bool *on)
{
  if (arg == NULL || strcasecmp (arg, "true") == 0 || strcmp (arg, "1") == 0)
    *on = true;
  else if (strcasecmp (arg, "false") == 0 || strcmp (arg, "0") == 0)
    *on = false;
  else
    {
      fprintf (stderr, "reg %s: --sig-proxy=%s: want true or false\n", cmd, arg);
      return -1;
    }
  return 0;
}
