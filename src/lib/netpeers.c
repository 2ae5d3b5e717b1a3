#include "netpeers.h"
#include "root.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
reg_netpeers_spec (const struct reg_container *c, char hostname[13], struct reg_etc_spec *s)
{
  snprintf (hostname, 13, "%.12s", c->id);
  memset (s, 0, sizeof *s);
  s->hostname = c->hostname ? c->hostname : hostname;
  s->id = c->id;
  s->name = c->name;
  s->address = c->net.ip[0] ? c->net.ip : NULL;
  s->aliases = c->aliases;
  s->extra_hosts = c->extra_hosts;
}

/* c's address on `network` (and the aliases it has there), or NULL. */
static const char *
address_on (const struct reg_container *c, const char *network, char *const **aliases)
{
  if (c->net.ip[0] == '\0' || network == NULL || strcmp (network, "bridge") == 0)
    return NULL;
  if (strcmp (c->net.network, network) == 0)
    {
      *aliases = c->aliases;
      return c->net.ip;
    }
  const struct reg_net_link *l = reg_container_net_link (&c->net, network);
  if (l)
    *aliases = l->aliases;
  return l ? l->ip : NULL;
}

static char *
peer_line (const struct reg_container *c, const char *ip, char *const *aliases)
{
  char *line = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&line, &len);
  if (f == NULL)
    return NULL;
  fprintf (f, "%s\t", ip);
  if (c->name)
    fprintf (f, "%s ", c->name);
  for (size_t i = 0; aliases && aliases[i]; i++)
    fprintf (f, "%s ", aliases[i]);
  if (c->hostname)
    fprintf (f, "%s ", c->hostname);
  fprintf (f, "%.12s", c->id);
  fclose (f);
  return line;
}

static void
write_in_place (const char *root, const struct reg_container *c, char *const *peers)
{
  char hostname[13];
  struct reg_etc_spec s;
  reg_netpeers_spec (c, hostname, &s);
  s.peers = peers;
  _cleanup_free_ char *text = reg_etcfiles_hosts (&s);
  _cleanup_free_ char *path = reg_root_container_file (root, c->id, "hosts");
  int fd = text && path ? open (path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW) : -1;
  if (fd < 0)
    return;
  reg_util_write_all (fd, text, strlen (text));
  close (fd);
}

/* m's peers: every other container on one of m's user networks, at its
 * address there. */
static char **
peers_of (struct reg_container *const *all, size_t n, const struct reg_container *m)
{
  char **lines = NULL;
  size_t k = 0;
  for (size_t net = 0; net <= m->net.n_links; net++)
    {
      const char *name = net == 0 ? m->net.network : m->net.links[net - 1].network;
      for (size_t i = 0; i < n; i++)
        {
          char *const *aliases = NULL;
          const char *ip = all[i] == m ? NULL : address_on (all[i], name, &aliases);
          char **grown = ip ? realloc (lines, (k + 2) * sizeof *lines) : NULL;
          if (grown == NULL)
            continue;
          lines = grown;
          if ((lines[k] = peer_line (all[i], ip, aliases)) != NULL)
            k++;
          lines[k] = NULL;
        }
    }
  return lines;
}

static void
refresh (const char *root, const char *network, const char *also)
{
  _cleanup_strv_ char **ids = NULL;
  if (reg_container_list (root, &ids, NULL) < 0)
    return;
  size_t n = reg_strv_len (ids), k = 0;
  struct reg_container **all = calloc (n + 1, sizeof *all);
  for (size_t i = 0; all && i < n; i++)
    if (reg_container_load (root, ids[i], &all[k], NULL) == 0)
      k++;
  for (size_t i = 0; i < k; i++)
    {
      char *const *aliases;
      if (address_on (all[i], network, &aliases) == NULL
          && (also == NULL || strcmp (all[i]->id, also) != 0))
        continue;
      char **lines = peers_of (all, k, all[i]);
      write_in_place (root, all[i], lines);
      reg_strv_free (lines);
    }
  for (size_t i = 0; i < k; i++)
    reg_container_free (all[i]);
  free (all);
}

void
reg_netpeers_refresh (const char *root, const char *network)
{
  if (network && strcmp (network, "bridge") != 0)
    refresh (root, network, NULL);
}

void
reg_netpeers_refresh_left (const char *root, const char *network, const char *id)
{
  refresh (root, network, id);
}
