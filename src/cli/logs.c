/* reg logs [-f] [--tail N] [--since WHEN] [-t] ID|NAME: a container's stdout
 * and stderr, from its log file, on our stdout and stderr. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cmd_logs (struct reg_client *c, int argc, char **argv)
{
  static const struct option opts[] = { { "follow", no_argument, NULL, 'f' },
                                        { "tail", required_argument, NULL, 'n' },
                                        { "since", required_argument, NULL, 's' },
                                        { "timestamps", no_argument, NULL, 't' },
                                        { NULL, 0, NULL, 0 } };
  bool follow = false, timestamps = false;
  const char *tail = NULL, *since = NULL;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "fn:t", opts, NULL)) != -1)
    switch (opt)
      {
      case 'f':
        follow = true;
        break;
      case 'n':
        tail = optarg;
        break;
      case 's':
        since = optarg;
        break;
      case 't':
        timestamps = true;
        break;
      default:
        fprintf (stderr,
                 "reg logs: unknown option %s\nusage: reg logs [-f] [--tail N] [--since WHEN] [-t] "
                 "ID|NAME\n",
                 argv[optind - 1]);
        return 2;
      }
  if (optind + 1 != argc)
    {
      fprintf (stderr, "usage: reg logs [-f] [--tail N] [--since WHEN] [-t] ID|NAME\n");
      return 2;
    }
  char *id = client_escape (c, argv[optind]);
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
