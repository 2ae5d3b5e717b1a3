/* reg logs [-f] [--tail N] [--since WHEN] [-t] ID|NAME: a container's stdout
 * and stderr, from its log file, on our stdout and stderr. */
#include "cli.h"
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_option logs_options[] = {
  { "follow", 'f', NULL, "keep printing what the container writes" },
  { "tail", 'n', "N", "only the last N lines" },
  { "since", 256, "WHEN", "only lines since WHEN (RFC 3339, epoch seconds, or 30s/10m/2h ago)" },
  { "timestamps", 't', NULL, "prefix each line with its time" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec logs_spec = CLI_SPEC (
    "logs", "CONTAINER", "Show a container's output (stdout and stderr).", logs_options);
const struct cli_spec *const cli_specs_logs[] = { &logs_spec, NULL };

int
cmd_logs (struct reg_client *c, int argc, char **argv)
{
  bool follow = false, timestamps = false;
  const char *tail = NULL, *since = NULL, *arg;
  int opt;
  while ((opt = cli_next (&logs_spec, argc, argv, &arg)) != -1)
    switch (opt)
      {
      case 'f':
        follow = true;
        break;
      case 'n':
        tail = arg;
        break;
      case 256:
        since = arg;
        break;
      case 't':
        timestamps = true;
        break;
      case CLI_HELP:
        return 0;
      default:
        return 2;
      }
  int first = cli_args (&logs_spec, argc, argv, 1, 1);
  if (first <= 0)
    return -first;
  char *id = client_escape (c, argv[first]);
  char *tail_q = tail ? client_escape (c, tail) : NULL;
  char *since_q = since ? client_escape (c, since) : NULL;
  char path[1024];
  snprintf (path, sizeof path, "/v1/containers/%s/logs?follow=%d&timestamps=%d%s%s%s%s",
            id ? id : "", follow, timestamps, tail_q ? "&tail=" : "", tail_q ? tail_q : "",
            since_q ? "&since=" : "", since_q ? since_q : "");
  free (id);
  free (tail_q);
  free (since_q);
  json_t *reply = NULL;
  int exit_code;
  long status = client_stream (c, "GET", path, NULL, &exit_code, &reply);
  int ret = status == 200 ? 0 : client_fail ("logs", status, reply);
  json_decref (reply);
  return ret;
}
