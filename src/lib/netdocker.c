#include "netdocker.h"
#include "nft.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Docker's table as libnftables' JSON, or NULL when there is none. */
static json_t *
filter_table (void)
{
  _cleanup_free_ char *out = NULL;
  if (reg_nft_run ("list table ip filter\n", &out, NULL) < 0)
    return NULL;
  return json_loads (out, 0, NULL);
}

/* What the table holds: a DOCKER-USER chain, a FORWARD chain that drops
 * by default; "delete rule" for each rule of DOCKER-USER commented
 * `comment`, into f (when not NULL). */
static void
scan (json_t *table, const char *comment, bool *user, bool *drops, FILE *f)
{
  *user = *drops = false;
  json_t *items = json_object_get (table, "nftables");
  for (size_t i = 0; i < json_array_size (items); i++)
    {
      json_t *item = json_array_get (items, i);
      json_t *chain = json_object_get (item, "chain");
      const char *name = json_string_value (json_object_get (chain, "name"));
      const char *policy = json_string_value (json_object_get (chain, "policy"));
      if (name && strcmp (name, "DOCKER-USER") == 0)
        *user = true;
      if (name && strcmp (name, "FORWARD") == 0 && policy && strcmp (policy, "drop") == 0)
        *drops = true;
      json_t *rule = json_object_get (item, "rule");
      const char *in = json_string_value (json_object_get (rule, "chain"));
      const char *c = json_string_value (json_object_get (rule, "comment"));
      if (f && in && strcmp (in, "DOCKER-USER") == 0 && c && strcmp (c, comment) == 0)
        fprintf (f, "delete rule ip filter DOCKER-USER handle %lld\n",
                 (long long)json_integer_value (json_object_get (rule, "handle")));
    }
}

int
reg_netdocker_sync (const char *bridge, bool present)
{
  json_t *table = filter_table ();
  if (table == NULL)
    return 0;
  char comment[32];
  snprintf (comment, sizeof comment, "reg %s", bridge);
  char *cmds = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&cmds, &len);
  if (f == NULL)
    {
      json_decref (table);
      return -1;
    }
  bool user, drops;
  scan (table, comment, &user, &drops, f);
  json_decref (table);
  /* Inserted at the top: before Docker's closing "return". Only where
   * something drops: a policy of accept needs nothing of reg. */
  if (present && user && drops)
    fprintf (f,
             "insert rule ip filter DOCKER-USER oifname \"%s\" ct status dnat accept comment "
             "\"%s\"\n"
             "insert rule ip filter DOCKER-USER oifname \"%s\" ct state established,related "
             "accept comment \"%s\"\n"
             "insert rule ip filter DOCKER-USER iifname \"%s\" accept comment \"%s\"\n",
             bridge, comment, bridge, comment, bridge, comment);
  fclose (f);
  struct reg_error *err = NULL;
  int ret = len == 0 || reg_nft_run (cmds, NULL, &err) == 0 ? (user ? 1 : 0) : -1;
  if (ret < 0)
    fprintf (stderr, "regd: warning: bridge %s: Docker's DOCKER-USER chain: %s\n", bridge,
             err ? err->msg : "failed");
  reg_error_free (err);
  free (cmds);
  return ret;
}

void
reg_netdocker_check_forward (const char *bridge)
{
  json_t *table = filter_table ();
  bool user, drops;
  scan (table, "", &user, &drops, NULL);
  json_decref (table);
  if (drops && !user)
    fprintf (stderr,
             "regd: warning: the host's iptables FORWARD policy is DROP and there is no "
             "DOCKER-USER chain to accept %s's traffic in: containers on it reach nothing outside "
             "the host until a rule in table ip filter accepts them (reg changes no other table "
             "but Docker's DOCKER-USER)\n",
             bridge);
}
