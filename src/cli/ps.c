/* reg ps [-a] [-q]: list containers (running ones, or all with -a), with
 * their published ports. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void
join (json_t *arr, const char *sep, char *out, size_t size)
{
  size_t n = 0;
  out[0] = '\0';
  size_t i;
  json_t *v;
  for (i = 0; i < json_array_size (arr) && (v = json_array_get (arr, i)) != NULL; i++)
    {
      const char *s = json_string_value (v);
      int w = snprintf (out + n, size - n, "%s%s", i ? sep : "", s ? s : "");
      if (w < 0 || (size_t)w >= size - n)
        {
          if (size > 4)
            strcpy (out + size - 4, "...");
          return;
        }
      n += (size_t)w;
    }
}

int
cmd_ps (struct reg_client *c, int argc, char **argv)
{
  static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
                                        { "quiet", no_argument, NULL, 'q' },
                                        { NULL, 0, NULL, 0 } };
  bool all = false, quiet = false;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "aq", opts, NULL)) != -1)
    switch (opt)
      {
      case 'a':
        all = true;
        break;
      case 'q':
        quiet = true;
        break;
      default:
        fprintf (stderr, "reg ps: unknown option %s\nusage: reg ps [-a] [-q]\n", argv[optind - 1]);
        return 2;
      }
  json_t *reply = NULL;
  long status
      = client_call (c, "GET", all ? "/v1/containers?all=1" : "/v1/containers", NULL, &reply);
  if (status != 200 || !json_is_array (reply))
    {
      int r = client_fail ("ps", status, reply);
      json_decref (reply);
      return r;
    }
  if (!quiet)
    printf ("%-12s  %-16s  %-24s  %-28s  %-16s  %-16s  %s\n", "CONTAINER ID", "NAME", "TEMPLATES",
            "COMMAND", "STATUS", "CREATED", "PORTS");
  size_t i;
  json_t *ct;
  for (i = 0; i < json_array_size (reply) && (ct = json_array_get (reply, i)) != NULL; i++)
    {
      const char *id = json_string_value (json_object_get (ct, "Id"));
      if (quiet)
        {
          printf ("%.12s\n", id ? id : "");
          continue;
        }
      json_t *st = json_object_get (ct, "State");
      const char *name = json_string_value (json_object_get (ct, "Name"));
      const char *state = json_string_value (json_object_get (st, "Status"));
      char templates[25], command[29], status_text[64], age[32], since[32], ports[256];
      cli_ports_summary (ct, ports, sizeof ports);
      join (json_object_get (ct, "Templates"), ",", templates, sizeof templates);
      join (json_object_get (ct, "Cmd"), " ", command, sizeof command);
      cli_age (json_string_value (json_object_get (ct, "Created")), age, sizeof age);
      if (state && strcmp (state, "running") == 0)
        {
          cli_age (json_string_value (json_object_get (st, "StartedAt")), since, sizeof since);
          snprintf (status_text, sizeof status_text, "running %s", since);
        }
      else if (state && strcmp (state, "paused") == 0)
        snprintf (status_text, sizeof status_text, "paused");
      else if (state && strcmp (state, "stopped") == 0)
        snprintf (status_text, sizeof status_text, "exited (%d)",
                  (int)json_integer_value (json_object_get (st, "ExitCode")));
      else
        snprintf (status_text, sizeof status_text, "%s", state ? state : "?");
      char created[48];
      snprintf (created, sizeof created, "%s ago", age);
      printf ("%-12.12s  %-16s  %-24s  %-28s  %-16s  %-16s  %s\n", id ? id : "", name ? name : "",
              templates, command, status_text, created, ports);
    }
  json_decref (reply);
  return 0;
}
