/* reg network: create [--subnet CIDR] NAME | ls [-q] | inspect NAME... |
 * rm NAME...
 *
 * User networks: a bridge of their own; containers on one reach each
 * other by name and --network-alias, and not the containers of another.
 * rm of a network a container is on is refused (409). `bridge` is the
 * default network. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NETWORK_USAGE                                                                              \
  "usage: reg network create [--subnet CIDR] NAME\n"                                               \
  "       reg network ls [-q]\n"                                                                   \
  "       reg network inspect NAME...\n"                                                           \
  "       reg network rm NAME...\n"

static int
usage (void)
{
  fputs (NETWORK_USAGE, stderr);
  return 2;
}

static int
create (struct reg_client *c, int argc, char **argv)
{
  const char *subnet = NULL, *name = NULL;
  for (int i = 2; i < argc; i++)
    {
      if (strcmp (argv[i], "--subnet") == 0 && i + 1 < argc)
        subnet = argv[++i];
      else if (strncmp (argv[i], "--subnet=", 9) == 0)
        subnet = argv[i] + 9;
      else if (argv[i][0] != '-' && name == NULL)
        name = argv[i];
      else
        return usage ();
    }
  if (name == NULL)
    return usage ();
  json_t *body = json_pack ("{s:s}", "Name", name);
  if (subnet)
    json_object_set_new (body, "Subnet", json_string (subnet));
  json_t *reply = NULL;
  long status = client_call (c, "POST", "/v1/networks", body, &reply);
  json_decref (body);
  int ret = 0;
  if (status == 201)
    printf ("%s\n", json_string_value (json_object_get (reply, "Id")));
  else
    ret = client_fail ("network create", status, reply);
  json_decref (reply);
  return ret;
}

static int
list (struct reg_client *c, bool quiet)
{
  json_t *reply = NULL;
  long status = client_call (c, "GET", "/v1/networks", NULL, &reply);
  if (status != 200)
    {
      int ret = client_fail ("network ls", status, reply);
      json_decref (reply);
      return ret;
    }
  if (!quiet)
    printf ("%-12s  %-24s  %-8s  %-18s  %s\n", "NETWORK ID", "NAME", "DRIVER", "SUBNET", "BRIDGE");
  for (size_t i = 0; i < json_array_size (reply); i++)
    {
      json_t *v = json_array_get (reply, i);
      const char *name = json_string_value (json_object_get (v, "Name")) ?: "";
      if (quiet)
        {
          printf ("%s\n", name);
          continue;
        }
      printf ("%-12.12s  %-24s  %-8s  %-18s  %s\n",
              json_string_value (json_object_get (v, "Id")) ?: "", name, "bridge",
              json_string_value (json_object_get (v, "Subnet")) ?: "",
              json_string_value (json_object_get (v, "Bridge")) ?: "");
    }
  json_decref (reply);
  return 0;
}

static int
each (struct reg_client *c, int argc, char **argv, bool remove)
{
  int ret = 0;
  json_t *all = json_array ();
  for (int i = 2; i < argc; i++)
    {
      char *name = client_escape (c, argv[i]);
      char path[512];
      snprintf (path, sizeof path, "/v1/networks/%s", name ? name : "");
      free (name);
      json_t *reply = NULL;
      long status = client_call (c, remove ? "DELETE" : "GET", path, NULL, &reply);
      if (status == 200 && remove)
        printf ("%s\n", argv[i]);
      else if (status == 200)
        json_array_append (all, reply);
      else
        ret = client_fail (remove ? "network rm" : "network inspect", status, reply);
      json_decref (reply);
      if (status < 0)
        break;
    }
  if (!remove)
    cli_print_json (all);
  json_decref (all);
  return ret;
}

int
cmd_network (struct reg_client *c, int argc, char **argv)
{
  const char *sub = argc >= 2 ? argv[1] : "";
  if (strcmp (sub, "create") == 0)
    return create (c, argc, argv);
  if ((strcmp (sub, "ls") == 0 || strcmp (sub, "list") == 0) && argc <= 3)
    {
      bool quiet = argc == 3 && (strcmp (argv[2], "-q") == 0 || strcmp (argv[2], "--quiet") == 0);
      return argc == 3 && !quiet ? usage () : list (c, quiet);
    }
  if (strcmp (sub, "inspect") == 0 && argc >= 3)
    return each (c, argc, argv, false);
  if ((strcmp (sub, "rm") == 0 || strcmp (sub, "remove") == 0) && argc >= 3)
    return each (c, argc, argv, true);
  return usage ();
}
