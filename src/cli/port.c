/* reg port CONTAINER [PORT[/PROTO]]: a container's published ports, as
 * docker port prints them ("80/tcp -> 0.0.0.0:8080"); and the PORTS column
 * of reg ps. Both read NetworkSettings.Ports of the container's record. */
#include "cli.h"
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
cli_ports_summary (json_t *ct, char *out, size_t size)
{
  json_t *ports = json_object_get (json_object_get (ct, "NetworkSettings"), "Ports");
  size_t n = 0;
  out[0] = '\0';
  for (void *it = json_object_iter (ports); it; it = json_object_iter_next (ports, it))
    {
      const char *key = json_object_iter_key (it);
      json_t *v = json_object_iter_value (it);
      for (size_t i = 0; i < json_array_size (v); i++)
        {
          json_t *b = json_array_get (v, i);
          int w = snprintf (out + n, size - n, "%s%s:%s->%s", n ? ", " : "",
                            json_string_value (json_object_get (b, "HostIp")) ?: "",
                            json_string_value (json_object_get (b, "HostPort")) ?: "", key);
          if (w < 0 || (size_t)w >= size - n)
            return;
          n += (size_t)w;
        }
    }
}

static const struct cli_spec port_spec = CLI_SPEC ("port", "CONTAINER [PORT[/tcp|udp]]",
                                                   "The host addresses of published ports.", NULL);
const struct cli_spec *const cli_specs_port[] = { &port_spec, NULL };

int
cmd_port (struct reg_client *c, int argc, char **argv)
{
  int first = cli_args (&port_spec, argc, argv, 1, 2);
  if (first <= 0)
    return -first;
  argc -= first - 1, argv += first - 1;
  char *ref = client_escape (c, argv[1]);
  char path[512];
  snprintf (path, sizeof path, "/v1/containers/%s", ref ? ref : "");
  free (ref);
  json_t *reply = NULL;
  long status = client_call (c, "GET", path, NULL, &reply);
  if (status != 200)
    {
      int r = client_fail ("port", status, reply);
      json_decref (reply);
      return r;
    }
  char want[32] = "";
  if (argc == 3)
    snprintf (want, sizeof want, "%s%s", argv[2], strchr (argv[2], '/') ? "" : "/tcp");
  json_t *ports = json_object_get (json_object_get (reply, "NetworkSettings"), "Ports");
  int found = 0;
  for (void *it = json_object_iter (ports); it; it = json_object_iter_next (ports, it))
    {
      const char *key = json_object_iter_key (it);
      json_t *v = json_object_iter_value (it);
      if (*want && strcmp (key, want) != 0)
        continue;
      for (size_t i = 0; i < json_array_size (v); i++)
        {
          json_t *b = json_array_get (v, i);
          const char *ip = json_string_value (json_object_get (b, "HostIp")) ?: "";
          const char *hp = json_string_value (json_object_get (b, "HostPort")) ?: "";
          if (*want)
            printf ("%s:%s\n", ip, hp);
          else
            printf ("%s -> %s:%s\n", key, ip, hp);
          found++;
        }
    }
  json_decref (reply);
  if (*want && !found)
    {
      fprintf (stderr, "reg port: container %s does not publish %s\n", argv[1], want);
      return 1;
    }
  return 0;
}
