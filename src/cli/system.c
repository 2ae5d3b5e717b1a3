/* reg store verify, reg system df, reg version: engine-wide commands. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#ifndef REG_VERSION
#define REG_VERSION "0.1.0"
#endif

static void
human (double bytes, char *out, size_t size)
{
  const char *units[] = { "B", "kB", "MB", "GB", "TB" };
  int u = 0;
  while (bytes >= 1000 && u < 4)
    {
      bytes /= 1000;
      u++;
    }
  snprintf (out, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

int
cmd_store (struct reg_client *c, int argc, char **argv)
{
  if (argc != 2 || strcmp (argv[1], "verify") != 0)
    {
      fprintf (stderr, "usage: reg store verify\n");
      return 2;
    }
  json_t *reply = NULL;
  long status = client_call (c, "POST", "/v1/store/verify", NULL, &reply);
  if (status != 200)
    {
      int r = client_fail ("store verify", status, reply);
      json_decref (reply);
      return r;
    }
  json_t *corrupt = json_object_get (reply, "Corrupt");
  size_t i;
  json_t *o;
  for (i = 0; i < json_array_size (corrupt) && (o = json_array_get (corrupt, i)) != NULL; i++)
    printf ("corrupt: %s (content hashes to %s)\n",
            json_string_value (json_object_get (o, "Object")),
            json_string_value (json_object_get (o, "Actual")));
  printf ("%lld objects checked, %zu corrupt\n",
          (long long)json_integer_value (json_object_get (reply, "Checked")),
          json_array_size (corrupt));
  int ret = json_array_size (corrupt) ? 1 : 0;
  json_decref (reply);
  return ret;
}

int
cmd_system (struct reg_client *c, int argc, char **argv)
{
  if (argc != 2 || strcmp (argv[1], "df") != 0)
    {
      fprintf (stderr, "usage: reg system df\n");
      return 2;
    }
  json_t *reply = NULL;
  long status = client_call (c, "GET", "/v1/system/df", NULL, &reply);
  if (status != 200)
    {
      int r = client_fail ("system df", status, reply);
      json_decref (reply);
      return r;
    }
  char bytes[32];
  human ((double)json_integer_value (json_object_get (reply, "UniqueBytes")), bytes, sizeof bytes);
  printf ("%-14s %lld (%s unique)\n",
          "Objects:", (long long)json_integer_value (json_object_get (reply, "Objects")), bytes);
  printf ("%-14s %lld\n",
          "Templates:", (long long)json_integer_value (json_object_get (reply, "Templates")));
  printf ("%-14s %lld\n",
          "Environments:", (long long)json_integer_value (json_object_get (reply, "Environments")));
  printf ("%-14s %lld (%lld running)\n",
          "Containers:", (long long)json_integer_value (json_object_get (reply, "Containers")),
          (long long)json_integer_value (json_object_get (reply, "Running")));
  json_decref (reply);
  return 0;
}

int
cmd_version (struct reg_client *c, int argc, char **argv)
{
  printf ("Client: reg %s\n", REG_VERSION);
  json_t *reply = NULL;
  long status = client_call (c, "GET", "/v1/version", NULL, &reply);
  int ret = 0;
  if (status == 200)
    printf ("Server: regd %s (API %s)\n", json_string_value (json_object_get (reply, "Version")),
            json_string_value (json_object_get (reply, "ApiVersion")));
  else
    ret = client_fail ("version", status, reply);
  json_decref (reply);
  return ret;
}
