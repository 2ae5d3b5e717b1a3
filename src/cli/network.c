/* reg network: create [--subnet CIDR] NAME | ls [-q] | inspect NAME... |
 * rm NAME... | connect [--alias A]... NET CONTAINER | disconnect NET CONTAINER
 *
 * User networks: a bridge of their own; containers on one reach each
 * other by name and --network-alias, and not the containers of another.
 * rm of a network a container is on is refused (409). `bridge` is the
 * default network. */
#include "cli.h"
#include "options.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_option create_options[] = {
  { "subnet", 's' + 256, "CIDR", "its IPv4 subnet (default: a free /24 of 10.89.0.0/16)" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec create_spec = CLI_SPEC (
    "network create", "NAME", "Create a user network (a bridge of its own).", create_options);
static const struct cli_option ls_options[] = {
  { "quiet", 'q', NULL, "names only" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec ls_spec = CLI_SPEC ("network ls", NULL, "List networks.", ls_options);
static const struct cli_spec inspect_spec
    = CLI_SPEC ("network inspect", "NAME...", "Show networks as JSON.", NULL);
static const struct cli_spec rm_spec
    = CLI_SPEC ("network rm", "NAME...", "Remove networks no container uses.", NULL);
static const struct cli_option connect_options[] = {
  { "alias", 'a' + 256, "NAME", "another name of the container on that network (repeatable)" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec connect_spec = CLI_SPEC (
    "network connect", "NETWORK CONTAINER",
    "Connect a running container to a network too (an interface of its own).", connect_options);
static const struct cli_spec disconnect_spec
    = CLI_SPEC ("network disconnect", "NETWORK CONTAINER",
                "Disconnect a running container from a network connected to it.", NULL);
const struct cli_spec *const cli_specs_network[]
    = { &create_spec, &ls_spec, &inspect_spec, &rm_spec, &connect_spec, &disconnect_spec, NULL };

static int
create (struct reg_client *c, int argc, char **argv)
{
  const char *subnet = NULL, *arg;
  for (int key; (key = cli_next (&create_spec, argc, argv, &arg)) != -1;)
    if (key == CLI_HELP || key == '?')
      return key == CLI_HELP ? 0 : 2;
    else
      subnet = arg;
  int first = cli_args (&create_spec, argc, argv, 1, 1);
  if (first <= 0)
    return -first;
  const char *name = argv[first];
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
  int first = cli_args (remove ? &rm_spec : &inspect_spec, argc, argv, 1, -1);
  return first <= 0 ? -first : cli_each_named (c, "network", "networks", remove, first, argc, argv);
}

static int
list_cmd (struct reg_client *c, int argc, char **argv)
{
  bool quiet = false;
  const char *arg;
  for (int key; (key = cli_next (&ls_spec, argc, argv, &arg)) != -1;)
    if (key == CLI_HELP || key == '?')
      return key == CLI_HELP ? 0 : 2;
    else
      quiet = true;
  int first = cli_args (&ls_spec, argc, argv, 0, 0);
  return first <= 0 ? -first : list (c, quiet);
}

/* connect [--alias A]... NET CONTAINER, disconnect NET CONTAINER */
static int
link_cmd (struct reg_client *c, int argc, char **argv, bool connect)
{
  const struct cli_spec *spec = connect ? &connect_spec : &disconnect_spec;
  json_t *aliases = json_array ();
  const char *arg;
  for (int key; (key = cli_next (spec, argc, argv, &arg)) != -1;)
    if (key == CLI_HELP || key == '?')
      {
        json_decref (aliases);
        return key == CLI_HELP ? 0 : 2;
      }
    else
      json_array_append_new (aliases, json_string (arg));
  int first = cli_args (spec, argc, argv, 2, 2);
  if (first <= 0)
    {
      json_decref (aliases);
      return -first;
    }
  json_t *body = json_pack ("{s:s}", "Container", argv[first + 1]);
  if (json_array_size (aliases))
    json_object_set_new (body, "EndpointConfig", json_pack ("{s:O}", "Aliases", aliases));
  json_decref (aliases);
  _cleanup_free_ char *net = client_escape (c, argv[first]);
  char path[512];
  snprintf (path, sizeof path, "/v1/networks/%s/%s", net ? net : "",
            connect ? "connect" : "disconnect");
  json_t *reply = NULL;
  long status = client_call (c, "POST", path, body, &reply);
  json_decref (body);
  int ret = status == 200 ? 0 : client_fail (spec->name, status, reply);
  json_decref (reply);
  return ret;
}

int
cmd_network (struct reg_client *c, int argc, char **argv)
{
  int status = 0;
  const struct cli_spec *spec = cli_group ("network", cli_specs_network, argc, argv, &status);
  if (spec == NULL)
    return status;
  argc--, argv++;
  if (spec == &create_spec)
    return create (c, argc, argv);
  if (spec == &ls_spec)
    return list_cmd (c, argc, argv);
  if (spec == &connect_spec || spec == &disconnect_spec)
    return link_cmd (c, argc, argv, spec == &connect_spec);
  return each (c, argc, argv, spec == &rm_spec);
}
