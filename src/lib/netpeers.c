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

static char *
peer_line (const struct reg_container *c)
{
  char *line = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&line, &len);
  if (f == NULL)
    return NULL;
  fprintf (f, "%s\t", c->net.ip);
  if (c->name)
    fprintf (f, "%s ", c->name);
  for (size_t i = 0; c->aliases && c->aliases[i]; i++)
    fprintf (f, "%s ", c->aliases[i]);
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

void
reg_netpeers_refresh (const char *root, const char *network)
{
  _cleanup_strv_ char **ids = NULL;
  if (network == NULL || strcmp (network, "bridge") == 0
      || reg_container_list (root, &ids, NULL) < 0)
    return;
  size_t n = reg_strv_len (ids), k = 0;
  struct reg_container **m = calloc (n + 1, sizeof *m);
  char **lines = calloc (n + 1, sizeof *lines);
  for (size_t i = 0; m && lines && i < n; i++)
    {
      struct reg_container *c = NULL;
      if (reg_container_load (root, ids[i], &c, NULL) < 0)
        continue;
      if (c->net.ip[0] && strcmp (c->net.network, network) == 0)
        {
          m[k] = c;
          lines[k++] = peer_line (c);
        }
      else
        reg_container_free (c);
    }
  /* Each member gets every other member's line. */
  char **others = calloc (k + 1, sizeof *others);
  for (size_t i = 0; others && i < k; i++)
    {
      size_t o = 0;
      for (size_t j = 0; j < k; j++)
        if (j != i && lines[j])
          others[o++] = lines[j];
      others[o] = NULL;
      write_in_place (root, m[i], others);
    }
  for (size_t i = 0; i < k; i++)
    {
      reg_container_free (m[i]);
      free (lines[i]);
    }
  free (others);
  free (m);
  free (lines);
}
