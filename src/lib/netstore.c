#include "netstore.h"
#include "root.h"
#include "rtnl.h"
#include "util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool
reg_netstore_name_ok (const char *s)
{
  size_t n = s ? strlen (s) : 0;
  if (n == 0 || n > REG_NETWORK_NAME_MAX || strchr ("_.-", s[0]))
    return false;
  static const char *const reserved[] = { "bridge", "host", "none", "default", NULL };
  for (size_t i = 0; reserved[i]; i++)
    if (strcmp (s, reserved[i]) == 0)
      return false;
  return strspn (s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static char *
record_path (const char *root, const char *name)
{
  return reg_root_path (root, REG_ROOT_NETWORK, name, NULL);
}

json_t *
reg_netstore_to_json (const struct reg_netstore_net *n)
{
  char net[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN], subnet[INET_ADDRSTRLEN + 4];
  inet_ntop (AF_INET, &n->net, net, sizeof net);
  inet_ntop (AF_INET, &n->gw, gw, sizeof gw);
  snprintf (subnet, sizeof subnet, "%s/%d", net, n->prefix);
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s}", "Name", n->name, "Id", n->id, "Driver",
                    "bridge", "Subnet", subnet, "Gateway", gw, "Bridge", n->bridge, "Created",
                    n->created);
}

int
reg_netstore_get (const char *root, const char *name, struct reg_netstore_net *out,
                  struct reg_error **err)
{
  memset (out, 0, sizeof *out);
  _cleanup_free_ char *path = reg_netstore_name_ok (name) ? record_path (root, name) : NULL;
  _cleanup_free_ char *text = NULL;
  if (path == NULL || access (path, F_OK) < 0)
    return reg_error_set (err, ENOENT,
                          "network \"%s\": no such network (use bridge, host, none, "
                          "container:ID, or one made by reg network create)",
                          name);
  if (reg_util_read_file (path, 1 << 16, &text, NULL, err) < 0)
    return -1;
  json_t *j = json_loads (text, 0, NULL);
  const char *sub = json_string_value (json_object_get (j, "Subnet"));
  const char *br = json_string_value (json_object_get (j, "Bridge"));
  const char *id = json_string_value (json_object_get (j, "Id"));
  const char *created = json_string_value (json_object_get (j, "Created"));
  int ret = 0;
  if (sub == NULL || br == NULL || id == NULL
      || !reg_rtnl_parse_cidr (sub, &out->net, &out->prefix))
    ret = reg_error_set (err, EBADMSG, "network %s: damaged record %s", name, path);
  else
    {
      snprintf (out->name, sizeof out->name, "%s", name);
      snprintf (out->bridge, sizeof out->bridge, "%s", br);
      snprintf (out->id, sizeof out->id, "%s", id);
      snprintf (out->created, sizeof out->created, "%s", created ? created : "");
      out->gw.s_addr = htonl (ntohl (out->net.s_addr) + 1);
    }
  json_decref (j);
  return ret;
}

int
reg_netstore_list (const char *root, char ***names, struct reg_error **err)
{
  _cleanup_free_ char *dir = reg_root_path (root, REG_ROOT_NETWORKS, NULL, NULL);
  if (dir == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  *names = calloc (1, sizeof (char *));
  DIR *d = opendir (dir);
  struct dirent *de;
  size_t n = 0;
  while (*names && d && (de = readdir (d)) != NULL)
    {
      size_t len = strlen (de->d_name);
      if (len < 6 || strcmp (de->d_name + len - 5, ".json") != 0)
        continue;
      char **grown = realloc (*names, (n + 2) * sizeof (char *));
      if (grown == NULL)
        break;
      *names = grown;
      grown[n++] = strndup (de->d_name, len - 5);
      grown[n] = NULL;
    }
  if (d)
    closedir (d);
  return *names ? 0 : reg_error_set (err, ENOMEM, "out of memory");
}

static bool
overlaps (struct in_addr a, int ap, struct in_addr b, int bp)
{
  int p = ap < bp ? ap : bp;
  uint32_t mask = p ? ~0u << (32 - p) : 0;
  return (ntohl (a.s_addr) & mask) == (ntohl (b.s_addr) & mask);
}

/* Who holds a subnet overlapping net/prefix: another network of this
 * regd, or a host route. 1 with *what set, 0 free, -1 error. */
static int
subnet_taken (const char *root, struct in_addr net, int prefix, const char *default_bridge,
              struct in_addr dnet, int dprefix, char what[160], struct reg_error **err)
{
  if (overlaps (net, prefix, dnet, dprefix))
    return snprintf (what, 160, "the default bridge %s", default_bridge), 1;
  _cleanup_strv_ char **names = NULL;
  if (reg_netstore_list (root, &names, err) < 0)
    return -1;
  for (size_t i = 0; names[i]; i++)
    {
      struct reg_netstore_net o;
      if (reg_netstore_get (root, names[i], &o, NULL) == 0
          && overlaps (net, prefix, o.net, o.prefix))
        return snprintf (what, 160, "network %s", o.name), 1;
    }
  char route[128];
  int used = reg_rtnl_subnet_in_use (net, prefix, NULL, route, err);
  if (used > 0)
    snprintf (what, 160, "the host's route to %s", route);
  return used;
}

/* "<default>-<n>": the first n no record uses. */
static int
bridge_for (const char *root, const char *default_bridge, char out[16], struct reg_error **err)
{
  _cleanup_strv_ char **names = NULL;
  if (reg_netstore_list (root, &names, err) < 0)
    return -1;
  for (int n = 1; n < 100; n++)
    {
      char cand[32];
      snprintf (cand, sizeof cand, "%s-%d", default_bridge, n);
      if (strlen (cand) > 15)
        break;
      bool used = false;
      for (size_t i = 0; !used && names[i]; i++)
        {
          struct reg_netstore_net o;
          used = reg_netstore_get (root, names[i], &o, NULL) == 0 && strcmp (o.bridge, cand) == 0;
        }
      if (!used)
        {
          memcpy (out, cand, strlen (cand) + 1); /* at most 15 bytes: checked above */
          return 0;
        }
    }
  return reg_error_set (err, ENOSPC, "no bridge name left for another network (%s-1..%s-99)",
                        default_bridge, default_bridge);
}

static int
choose (const char *root, const char *name, const char *subnet, const char *default_bridge,
        struct in_addr dnet, int dprefix, struct reg_netstore_net *n, struct reg_error **err)
{
  char what[160];
  if (subnet)
    {
      if (!reg_rtnl_parse_cidr (subnet, &n->net, &n->prefix) || n->prefix < 8 || n->prefix > 28)
        return reg_error_set (err, EINVAL,
                              "network %s: subnet \"%s\": want an IPv4 network A.B.C.D/N with N "
                              "from 8 to 28 and no host bits set",
                              name, subnet);
      int used = subnet_taken (root, n->net, n->prefix, default_bridge, dnet, dprefix, what, err);
      if (used < 0)
        return -1;
      if (used)
        return reg_error_set (err, EEXIST, "network %s: subnet %s overlaps %s", name, subnet, what);
      return 0;
    }
  for (int i = 0; i < 256; i++)
    {
      char cand[32];
      snprintf (cand, sizeof cand, "10.89.%d.0/24", i);
      reg_rtnl_parse_cidr (cand, &n->net, &n->prefix);
      int used = subnet_taken (root, n->net, n->prefix, default_bridge, dnet, dprefix, what, err);
      if (used <= 0)
        return used;
    }
  return reg_error_set (err, EEXIST, "network %s: no free /24 left in 10.89.0.0/16: give --subnet",
                        name);
}

int
reg_netstore_create (const char *root, const char *name, const char *subnet,
                     const char *default_bridge, struct in_addr dnet, int dprefix,
                     struct reg_netstore_net *out, struct reg_error **err)
{
  struct reg_netstore_net n = { 0 };
  if (!reg_netstore_name_ok (name))
    return reg_error_set (err, EINVAL,
                          "network name \"%s\": use at most 63 letters, digits, '_', '.' and '-', "
                          "a letter or digit first (and not bridge, host, none or default)",
                          name ? name : "");
  _cleanup_free_ char *path = record_path (root, name);
  if (path == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (access (path, F_OK) == 0)
    return reg_error_set (err, EEXIST, "network %s: already exists", name);
  if (choose (root, name, subnet, default_bridge, dnet, dprefix, &n, err) < 0
      || bridge_for (root, default_bridge, n.bridge, err) < 0 || reg_util_random_id (n.id, err) < 0)
    return -1;
  snprintf (n.name, sizeof n.name, "%s", name);
  n.gw.s_addr = htonl (ntohl (n.net.s_addr) + 1);
  reg_util_now_rfc3339 (n.created);
  json_t *j = reg_netstore_to_json (&n);
  _cleanup_free_ char *text = j ? json_dumps (j, JSON_INDENT (2)) : NULL;
  json_decref (j);
  _cleanup_free_ char *dir = reg_root_path (root, REG_ROOT_NETWORKS, NULL, NULL);
  if (text == NULL || dir == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_util_mkdir_p (dir, 0700, err) < 0
      || reg_util_write_atomic (path, text, strlen (text), 0600, err) < 0)
    return reg_error_prefix (err, "network %s", name);
  *out = n;
  return 0;
}

int
reg_netstore_remove (const char *root, const char *name, struct reg_error **err)
{
  struct reg_netstore_net n;
  if (reg_netstore_get (root, name, &n, err) < 0)
    return -1;
  _cleanup_free_ char *path = record_path (root, name);
  _cleanup_free_ char *ipam = reg_root_path (root, REG_ROOT_ADDRESSES, n.bridge, NULL);
  if (path == NULL || ipam == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_rtnl_link_delete (n.bridge, err) < 0)
    return reg_error_prefix (err, "network %s", name);
  if (unlink (path) < 0)
    return reg_error_sys (err, errno, "network %s: remove %s", name, path);
  reg_util_rm_rf (ipam, NULL);
  return 0;
}
