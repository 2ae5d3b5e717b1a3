#include "netrelease.h"
#include "netpeers.h"
#include "nft.h"
#include "root.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *
reg_netrelease_ip_file (const char *root, const char *bridge, const char *ip)
{
  return reg_root_path (root, REG_ROOT_ADDRESS, bridge, ip);
}

void
reg_netrelease_table (const char *bridge, char table[16])
{
  snprintf (table, 16, "%.*s", (int)strcspn (bridge, "-"), bridge);
}

char *
reg_netrelease_unpublish_cmds (const char *id, const struct reg_net_state *n)
{
  if (n->n_ports == 0 || n->bridge[0] == '\0')
    return NULL;
  char t[16];
  reg_netrelease_table (n->bridge, t);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&text, &len);
  if (f == NULL)
    return NULL;
  for (size_t i = 0; i < n->n_ports; i++)
    {
      bool seen = false;
      for (size_t k = 0; k < i; k++)
        seen = seen
               || (n->ports[k].host_port == n->ports[i].host_port
                   && n->ports[k].udp == n->ports[i].udp);
      if (!seen)
        fprintf (f, "delete element ip %s publish { %s . %u }\n", t,
                 n->ports[i].udp ? "udp" : "tcp", n->ports[i].host_port);
    }
  fprintf (f, "flush chain ip %s c_%.12s\ndelete chain ip %s c_%.12s\n", t, id, t, id);
  fclose (f);
  return text;
}

/* Remove the allocation file if it is still this container's. */
void
reg_netrelease_ip (const char *root, const char *id, const char *bridge, const char *ip)
{
  _cleanup_free_ char *path = reg_netrelease_ip_file (root, bridge, ip);
  char owner[65] = "";
  int fd = path ? open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
  if (fd < 0)
    return;
  ssize_t got = read (fd, owner, 64);
  close (fd);
  if (got == 64 && strncmp (owner, id, 64) == 0)
    unlink (path);
}

void
reg_netrelease (const char *root, const char *id, const struct reg_net_state *n)
{
  if (n->ip[0] == '\0' || n->bridge[0] == '\0')
    return;
  _cleanup_free_ char *cmds = reg_netrelease_unpublish_cmds (id, n);
  if (cmds)
    reg_nft_run (cmds, NULL, NULL); /* gone already: nothing to do */
  reg_netrelease_ip (root, id, n->bridge, n->ip);
  for (size_t i = 0; i < n->n_links; i++)
    reg_netrelease_ip (root, id, n->links[i].bridge, n->links[i].ip);
}

static int
clear_net (struct reg_container *c, void *data, struct reg_error **err)
{
  reg_container_net_clear (&c->net);
  return 0;
}

void
reg_netrelease_recorded (const char *root, const struct reg_container *c)
{
  if (c->net.ip[0] == '\0')
    return;
  reg_netrelease (root, c->id, &c->net);
  if (!reg_netrelease_record_unneeded (c))
    reg_container_update (root, c->id, clear_net, NULL, NULL);
  reg_netpeers_refresh (root, c->net.network);
  for (size_t i = 0; i < c->net.n_links; i++)
    reg_netpeers_refresh (root, c->net.links[i].network);
}

bool
reg_netrelease_record_unneeded (const struct reg_container *c)
{
  return c->auto_remove && !reg_state_live (c->state) && c->net.n_ports == 0 && c->net.n_links == 0
         && strcmp (c->net.network, "bridge") == 0;
}
