/* reg volume: create [NAME] | ls [-q] | inspect NAME... | rm NAME... | prune [-f]
 *
 * Named volumes: directories kept by regd that outlive containers, mounted
 * with `-v NAME:/path` or `--mount type=volume,src=NAME,dst=/path`. rm of a
 * volume a container mounts is refused (409), naming the containers. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VOLUME_USAGE                                                                               \
  "usage: reg volume create [NAME]\n"                                                              \
  "       reg volume ls [-q]\n"                                                                    \
  "       reg volume inspect NAME...\n"                                                            \
  "       reg volume rm NAME...\n"                                                                 \
  "       reg volume prune [-f]\n"

static int
usage (void)
{
  fputs (VOLUME_USAGE, stderr);
  return 2;
}

static int
create (struct reg_client *c, int argc, char **argv)
{
  if (argc > 3 || (argc == 3 && argv[2][0] == '-'))
    return usage ();
  json_t *body = argc == 3 ? json_pack ("{s:s}", "Name", argv[2]) : json_object ();
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
  int ret = 0;
  json_t *all = json_array ();
  for (int i = 2; i < argc; i++)
    {
      char *name = client_escape (c, argv[i]);
      char path[512];
      snprintf (path, sizeof path, "/v1/volumes/%s", name ? name : "");
      free (name);
      json_t *reply = NULL;
      long status = client_call (c, remove ? "DELETE" : "GET", path, NULL, &reply);
      if (status == 200 && remove)
        printf ("%s\n", argv[i]);
      else if (status == 200)
        json_array_append (all, reply);
      else
        ret = client_fail (remove ? "volume rm" : "volume inspect", status, reply);
      json_decref (reply);
      if (status < 0)
        break;
    }
  if (!remove)
    cli_print_json (all);
  json_decref (all);
  return ret;
}

static int
prune (struct reg_client *c, int argc, char **argv)
{
  bool force = argc == 3 && (strcmp (argv[2], "-f") == 0 || strcmp (argv[2], "--force") == 0);
  if (argc > 3 || (argc == 3 && !force))
    return usage ();
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

int
cmd_volume (struct reg_client *c, int argc, char **argv)
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
  if (strcmp (sub, "prune") == 0)
    return prune (c, argc, argv);
  return usage ();
}
