/* reg store verify, reg system df, reg system prune, reg version:
 * engine-wide commands. */
#include "cli.h"
#include "options.h"

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

static const struct cli_spec store_verify_spec = CLI_SPEC (
    "store verify", NULL,
    "Check every object of the store against its digest; list unreferenced ones.", NULL);
static const struct cli_spec system_df_spec = CLI_SPEC (
    "system df", NULL, "Disk use of the store, templates, environments, containers.", NULL);
static const struct cli_option prune_options[] = {
  { "all", 'a', NULL, "templates no container uses too" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec system_prune_spec = CLI_SPEC (
    "system prune", NULL,
    "Remove stopped containers, unused environments and unreferenced objects.", prune_options);
static const struct cli_spec version_spec
    = CLI_SPEC ("version", NULL, "The client's and the daemon's versions.", NULL);
static const struct cli_spec *const store_specs[] = { &store_verify_spec, NULL };
static const struct cli_spec *const system_specs[] = { &system_df_spec, &system_prune_spec, NULL };
const struct cli_spec *const cli_specs_system[]
    = { &store_verify_spec, &system_df_spec, &system_prune_spec, &version_spec, NULL };

int
cmd_store (struct reg_client *c, int argc, char **argv)
{
  int exit_status = 0;
  if (cli_group ("store", store_specs, argc, argv, &exit_status) == NULL)
    return exit_status;
  int first = cli_args (&store_verify_spec, argc - 1, argv + 1, 0, 0);
  if (first <= 0)
    return -first;
  json_t *reply = NULL;
  long status = client_call (c, "POST", "/v1/store/verify", NULL, &reply);
  if (status != 200)
    {
      int r = client_fail ("store verify", status, reply);
      json_decref (reply);
      return r;
    }
  json_t *corrupt = json_object_get (reply, "Corrupt");
  json_t *unref = json_object_get (reply, "Unreferenced");
  size_t i;
  json_t *o;
  for (i = 0; i < json_array_size (corrupt) && (o = json_array_get (corrupt, i)) != NULL; i++)
    printf ("corrupt: %s (content hashes to %s)\n",
            json_string_value (json_object_get (o, "Object")),
            json_string_value (json_object_get (o, "Actual")));
  for (i = 0; i < json_array_size (unref) && (o = json_array_get (unref, i)) != NULL; i++)
    printf ("unreferenced: %s\n", json_string_value (o));
  long long checked = (long long)json_integer_value (json_object_get (reply, "Checked"));
  printf ("%lld object%s checked, %zu corrupt, %zu unreferenced%s\n", checked, cli_s (checked),
          json_array_size (corrupt), json_array_size (unref),
          json_array_size (unref) ? " (reg system prune removes them)" : "");
  int ret = json_array_size (corrupt) ? 1 : 0;
  json_decref (reply);
  return ret;
}

static long long
field (json_t *o, const char *key)
{
  return (long long)json_integer_value (json_object_get (o, key));
}

static int
df (struct reg_client *c)
{
  json_t *reply = NULL;
  long status = client_call (c, "GET", "/v1/system/df", NULL, &reply);
  if (status != 200)
    {
      int r = client_fail ("system df", status, reply);
      json_decref (reply);
      return r;
    }
  json_t *rec = json_object_get (reply, "Reclaimable");
  char bytes[32], free_bytes[32];
  human ((double)field (reply, "UniqueBytes"), bytes, sizeof bytes);
  human ((double)field (rec, "Bytes"), free_bytes, sizeof free_bytes);
  printf ("%-14s %lld (%s unique; %lld unreferenced, %s reclaimable)\n",
          "Objects:", field (reply, "Objects"), bytes, field (rec, "Objects"), free_bytes);
  printf ("%-14s %lld (%ld unused)\n", "Templates:", field (reply, "Templates"),
          (long)field (rec, "Templates"));
  printf ("%-14s %lld (%lld unused)\n", "Environments:", field (reply, "Environments"),
          field (rec, "Environments"));
  printf ("%-14s %lld (%lld running, %lld stopped)\n", "Containers:", field (reply, "Containers"),
          field (reply, "Running"), field (rec, "Containers"));
  json_decref (reply);
  return 0;
}

int
cli_prune (struct reg_client *c, bool containers, bool templates, bool data)
{
  json_t *body = json_pack ("{s:b, s:b, s:b}", "Containers", containers, "Templates", templates,
                            "Data", data);
  json_t *reply = NULL;
  long status = client_call (c, "POST", "/v1/system/prune", body, &reply);
  json_decref (body);
  if (status != 200)
    {
      int r = client_fail ("prune", status, reply);
      json_decref (reply);
      return r;
    }
  json_t *ids = json_object_get (reply, "Containers"), *refs = json_object_get (reply, "Templates");
  for (size_t i = 0; i < json_array_size (ids); i++)
    printf ("deleted container %.12s\n", json_string_value (json_array_get (ids, i)));
  for (size_t i = 0; i < json_array_size (refs); i++)
    printf ("deleted template %s\n", json_string_value (json_array_get (refs, i)));
  char bytes[32];
  human ((double)field (reply, "Bytes"), bytes, sizeof bytes);
  printf ("Deleted %zu container%s, %zu template%s, %lld environment%s, %lld object%s; "
          "reclaimed %s\n",
          json_array_size (ids), cli_s ((long long)json_array_size (ids)), json_array_size (refs),
          cli_s ((long long)json_array_size (refs)), field (reply, "Environments"),
          cli_s (field (reply, "Environments")), field (reply, "Objects"),
          cli_s (field (reply, "Objects")), bytes);
  json_decref (reply);
  return 0;
}

int
cmd_system (struct reg_client *c, int argc, char **argv)
{
  int status = 0;
  const struct cli_spec *spec = cli_group ("system", system_specs, argc, argv, &status);
  if (spec == NULL)
    return status;
  bool all = false;
  const char *arg;
  for (int key; (key = cli_next (spec, argc - 1, argv + 1, &arg)) != -1;)
    if (key == CLI_HELP || key == '?')
      return key == CLI_HELP ? 0 : 2;
    else
      all = true;
  int first = cli_args (spec, argc - 1, argv + 1, 0, 0);
  if (first <= 0)
    return -first;
  /* Stopped containers, unused environments, unreferenced objects; -a:
   * templates no container uses too. */
  return spec == &system_df_spec ? df (c) : cli_prune (c, true, all, true);
}

int
cmd_version (struct reg_client *c, int argc, char **argv)
{
  int first = cli_args (&version_spec, argc, argv, 0, 0);
  if (first <= 0)
    return -first;
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
