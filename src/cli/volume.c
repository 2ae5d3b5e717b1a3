/* reg volume: create [NAME] | ls [-q] | inspect NAME... | rm NAME... | prune [-f]
 *
 * Named volumes: directories kept by regd that outlive containers, mounted
 * with `-v NAME:/path` or `--mount type=volume,src=NAME,dst=/path`. rm of a
 * volume a container mounts is refused (409), naming the containers. */
#include "cli.h"
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct cli_spec create_spec
    = CLI_SPEC ("volume create", "[NAME]",
                "Create a named volume (a random name when none is given); an existing one is "
                "fine.",
                NULL);
static const struct cli_option ls_options[] = {
  { "quiet", 'q', NULL, "names only" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec ls_spec
    = CLI_SPEC ("volume ls", NULL, "List volumes and how many containers use each.", ls_options);
static const struct cli_spec inspect_spec = CLI_SPEC (
    "volume inspect", "NAME...", "Show volumes as JSON, with the containers that use them.", NULL);
static const struct cli_spec rm_spec
    = CLI_SPEC ("volume rm", "NAME...",
                "Remove volumes and their data; refused while a container uses one.", NULL);
static const struct cli_option prune_options[] = {
  { "force", 'f', NULL, "do not ask" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec prune_spec = CLI_SPEC (
    "volume prune", NULL, "Remove every volume no container uses, with its data.", prune_options);
const struct cli_spec *const cli_specs_volume[]
    = { &create_spec, &ls_spec, &inspect_spec, &rm_spec, &prune_spec, NULL };

static int
create (struct reg_client *c, int argc, char **argv)
{
  int first = cli_args (&create_spec, argc, argv, 0, 1);
  if (first <= 0)
    return -first;
  json_t *body = first < argc ? json_pack ("{s:s}", "Name", argv[first]) : json_object ();
  json_t *reply = NULL;
  long status = client_call (c, "POST", "/v1/volumes", body, &reply);
  json_decref (body);
  int ret = 0;
  if (status == 201)
    printf ("%s\n", json_string_value (json_object_get (reply, "Name")));
  else
    ret = client_fail ("volume create", status, reply);
  json_decref (reply);
  return ret;
}

static int
list (struct reg_client *c, bool quiet)
{
  json_t *reply = NULL;
  long status = client_call (c, "GET", "/v1/volumes", NULL, &reply);
  if (status != 200)
    {
      int ret = client_fail ("volume ls", status, reply);
      json_decref (reply);
      return ret;
    }
  if (!quiet)
    printf ("%-8s  %-30s  %s\n", "DRIVER", "VOLUME NAME", "USED BY");
  size_t i;
  json_t *v;
  json_array_foreach (reply, i, v)
  {
    const char *name = json_string_value (json_object_get (v, "Name"));
    if (quiet)
      {
        printf ("%s\n", name);
        continue;
      }
    size_t users = json_array_size (json_object_get (v, "UsedBy"));
    char used[64];
    snprintf (used, sizeof used, "%zu container%s", users, cli_s ((long long)users));
    printf ("%-8s  %-30s  %s\n", "local", name, used);
  }
  json_decref (reply);
  return 0;
}

static int
each (struct reg_client *c, int argc, char **argv, bool remove)
{
  int first = cli_args (remove ? &rm_spec : &inspect_spec, argc, argv, 1, -1);
  return first <= 0 ? -first : cli_each_named (c, "volume", "volumes", remove, first, argc, argv);
}

static int
prune (struct reg_client *c, int argc, char **argv)
{
  bool force = false;
  const char *arg;
  for (int key; (key = cli_next (&prune_spec, argc, argv, &arg)) != -1;)
    if (key == CLI_HELP || key == '?')
      return key == CLI_HELP ? 0 : 2;
    else
      force = true;
  int first = cli_args (&prune_spec, argc, argv, 0, 0);
  if (first <= 0)
    return -first;
  if (!force)
    {
      fprintf (stderr, "WARNING! This will remove every volume no container uses, with its data.\n"
                       "Are you sure you want to continue? [y/N] ");
      char answer[16] = "";
      if (fgets (answer, sizeof answer, stdin) == NULL || (answer[0] != 'y' && answer[0] != 'Y'))
        {
          fprintf (stderr, "reg volume prune: nothing removed\n");
          return 1;
        }
    }
  json_t *reply = NULL;
  long status = client_call (c, "POST", "/v1/volumes/prune", NULL, &reply);
  if (status != 200)
    {
      int ret = client_fail ("volume prune", status, reply);
      json_decref (reply);
      return ret;
    }
  json_t *deleted = json_object_get (reply, "VolumesDeleted");
  size_t i, n = json_array_size (deleted);
  if (n > 0)
    printf ("Deleted Volumes:\n");
  for (i = 0; i < n; i++)
    printf ("%s\n", json_string_value (json_array_get (deleted, i)));
  double bytes = (double)json_integer_value (json_object_get (reply, "SpaceReclaimed"));
  printf ("%sTotal reclaimed space: %.1f kB (%zu volume%s)\n", n ? "\n" : "", bytes / 1024, n,
          cli_s ((long long)n));
  json_decref (reply);
  return 0;
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

int
cmd_volume (struct reg_client *c, int argc, char **argv)
{
  int status = 0;
  const struct cli_spec *spec = cli_group ("volume", cli_specs_volume, argc, argv, &status);
  if (spec == NULL)
    return status;
  argc--, argv++;
  if (spec == &create_spec)
    return create (c, argc, argv);
  if (spec == &ls_spec)
    return list_cmd (c, argc, argv);
  if (spec == &prune_spec)
    return prune (c, argc, argv);
  return each (c, argc, argv, spec == &rm_spec);
}
