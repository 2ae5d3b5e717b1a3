#include "container.h"
#include "root.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_MAX (4 * 1024 * 1024)

static const char *const state_names[]
    = { "generating", "generated", "running", "stopped", "paused", "restarting", "inserting" };
static const char *const restart_names[] = { "no", "on-failure", "always", "unless-stopped" };

const char *
reg_container_restart_name (enum reg_restart_mode m)
{
  return (unsigned)m < sizeof restart_names / sizeof restart_names[0] ? restart_names[m] : "no";
}

int
reg_container_restart_parse (const char *s, struct reg_restart *out, struct reg_error **err)
{
  *out = (struct reg_restart){ REG_RESTART_NO, 0 };
  if (s == NULL || *s == '\0')
    return 0;
  for (size_t i = 0; i < sizeof restart_names / sizeof restart_names[0]; i++)
    {
      size_t n = strlen (restart_names[i]);
      if (strncmp (s, restart_names[i], n) != 0)
        continue;
      if (s[n] == '\0')
        {
          out->mode = (enum reg_restart_mode)i;
          return 0;
        }
      if (s[n] == ':' && i == REG_RESTART_ON_FAILURE)
        {
          char *end = NULL;
          long v = strtol (s + n + 1, &end, 10);
          if (end != s + n + 1 && *end == '\0' && v >= 0 && v <= 1000000)
            {
              out->mode = REG_RESTART_ON_FAILURE;
              out->max_retries = (int)v;
              return 0;
            }
        }
    }
  return reg_error_set (
      err, EINVAL, "restart policy \"%s\" is not no, on-failure[:N], always or unless-stopped", s);
}

const char *
reg_container_state_name (enum reg_state s)
{
  return (unsigned)s < sizeof state_names / sizeof state_names[0] ? state_names[s] : "unknown";
}

static int
state_from_name (const char *s, enum reg_state *out)
{
  for (size_t i = 0; i < sizeof state_names / sizeof state_names[0]; i++)
    if (s && strcmp (s, state_names[i]) == 0)
      {
        *out = (enum reg_state)i;
        return 0;
      }
  return -1;
}

struct reg_container *
reg_container_new (void)
{
  struct reg_container *c = calloc (1, sizeof *c);
  if (c)
    {
      c->exit_code = -1;
      c->stop_timeout = -1;
    }
  return c;
}

void
reg_container_free (struct reg_container *c)
{
  if (c == NULL)
    return;
  free (c->name);
  reg_strv_free (c->templates);
  reg_strv_free (c->argv);
  reg_strv_free (c->env);
  free (c->workdir);
  free (c->project);
  for (size_t i = 0; i < c->n_mounts; i++)
    {
      free (c->mounts[i].volume);
      free (c->mounts[i].source);
      free (c->mounts[i].target);
    }
  free (c->mounts);
  free (c->error);
  free (c->limits.cpuset_cpus);
  reg_strv_free (c->ports);
  free (c->network_mode);
  free (c->hostname);
  reg_strv_free (c->dns);
  reg_strv_free (c->dns_search);
  reg_strv_free (c->extra_hosts);
  reg_strv_free (c->aliases);
  reg_strv_free (c->labels);
  reg_container_net_clear (&c->net);
  reg_strv_free (c->inserted);
  reg_security_clear (&c->security);
  reg_health_check_clear (&c->healthcheck);
  reg_health_state_clear (&c->health);
  free (c);
}

static json_t *
strv_to_json (char *const *v)
{
  json_t *a = json_array ();
  for (size_t i = 0; v && v[i]; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}

static char **
strv_from_json (json_t *a)
{
  if (!json_is_array (a))
    return NULL;
  size_t n = json_array_size (a);
  char **v = calloc (n + 1, sizeof *v);
  for (size_t i = 0; v && i < n; i++)
    {
      const char *s = json_string_value (json_array_get (a, i));
      if ((v[i] = strdup (s ? s : "")) == NULL)
        {
          reg_strv_free (v);
          return NULL;
        }
    }
  return v;
}

/* Docker's HostConfig names; the profile text on its own. */
static void
security_to_json (json_t *j, const struct reg_security *s)
{
  json_t *opts = json_array ();
  if (s->seccomp_unconfined)
    json_array_append_new (opts, json_string ("seccomp=unconfined"));
  else if (s->seccomp_profile)
    json_array_append_new (opts, json_string ("seccomp=profile"));
  if (s->new_privileges)
    json_array_append_new (opts, json_string ("no-new-privileges=false"));
  json_object_set_new (j, "Privileged", json_boolean (s->privileged));
  json_object_set_new (j, "SecurityOpt", opts);
  if (s->seccomp_profile)
    json_object_set_new (j, "SeccompProfile", json_string (s->seccomp_profile));
  json_object_set_new (j, "CapAdd", strv_to_json (s->cap_add));
  json_object_set_new (j, "CapDrop", strv_to_json (s->cap_drop));
  json_object_set_new (j, "ReadonlyRootfs", json_boolean (s->read_only));
  char user[32] = "";
  if (s->has_user)
    snprintf (user, sizeof user, "%u:%u", (unsigned)s->uid, (unsigned)s->gid);
  json_object_set_new (j, "User", json_string (user));
  json_t *groups = json_array ();
  for (unsigned i = 0; i < s->n_groups; i++)
    json_array_append_new (groups, json_integer (s->groups[i]));
  json_object_set_new (j, "Groups", groups);
  json_object_set_new (j, "UsernsMode", json_string (s->userns ? "private" : ""));
  if (s->userns)
    json_object_set_new (j, "UsernsRange",
                         json_pack ("{s:I, s:I, s:I}", "Uid", (json_int_t)s->userns_uid, "Gid",
                                    (json_int_t)s->userns_gid, "Size", (json_int_t)s->userns_size));
}

static void
security_from_json (json_t *j, struct reg_security *s)
{
  s->privileged = json_is_true (json_object_get (j, "Privileged"));
  json_t *so = json_object_get (j, "SecurityOpt");
  for (size_t i = 0; i < json_array_size (so); i++)
    {
      const char *o = json_string_value (json_array_get (so, i)) ?: "";
      s->seccomp_unconfined = s->seccomp_unconfined || strcmp (o, "seccomp=unconfined") == 0;
      s->new_privileges = s->new_privileges || strcmp (o, "no-new-privileges=false") == 0;
    }
  const char *profile = json_string_value (json_object_get (j, "SeccompProfile"));
  s->seccomp_profile = profile ? strdup (profile) : NULL;
  json_t *add = json_object_get (j, "CapAdd"), *drop = json_object_get (j, "CapDrop");
  s->cap_add = json_array_size (add) ? strv_from_json (add) : NULL;
  s->cap_drop = json_array_size (drop) ? strv_from_json (drop) : NULL;
  s->read_only = json_is_true (json_object_get (j, "ReadonlyRootfs"));
  const char *user = json_string_value (json_object_get (j, "User"));
  if (user && *user)
    reg_security_set_user (s, user, NULL);
  json_t *groups = json_object_get (j, "Groups");
  for (size_t i = 0; i < json_array_size (groups); i++)
    reg_security_add_group (s, (gid_t)json_integer_value (json_array_get (groups, i)), NULL);
  s->userns = strcmp (json_string_value (json_object_get (j, "UsernsMode")) ?: "", "private") == 0;
  json_t *r = json_object_get (j, "UsernsRange");
  s->userns_uid = (uint32_t)json_integer_value (json_object_get (r, "Uid"));
  s->userns_gid = (uint32_t)json_integer_value (json_object_get (r, "Gid"));
  s->userns_size = (uint32_t)json_integer_value (json_object_get (r, "Size"));
}

static const char *const mount_types[] = { "bind", "volume", "tmpfs" };

int
reg_container_mount_type_parse (const char *s)
{
  for (size_t i = 0; i < sizeof mount_types / sizeof mount_types[0]; i++)
    if (s && strcmp (s, mount_types[i]) == 0)
      return (int)i;
  return -1;
}

const char *
reg_container_mount_type_name (enum reg_mount_type t)
{
  return (size_t)t < sizeof mount_types / sizeof mount_types[0] ? mount_types[t] : "?";
}

json_t *
reg_container_mount_to_json (const struct reg_mount *m)
{
  json_t *j = json_pack ("{s:s, s:s?, s:s, s:b}", "Type", reg_container_mount_type_name (m->type),
                         "Source", m->source, "Destination", m->target, "ReadOnly", m->readonly);
  if (j && m->type == REG_MOUNT_VOLUME)
    json_object_set_new (j, "Name", json_string (m->volume));
  if (j && m->anonymous)
    json_object_set_new (j, "Anonymous", json_true ());
  if (j && m->type == REG_MOUNT_TMPFS)
    {
      json_object_set_new (j, "TmpfsOptions",
                           json_pack ("{s:I, s:i}", "SizeBytes", (json_int_t)m->tmpfs_size, "Mode",
                                      (int)m->tmpfs_mode));
      json_object_set_new (j, "NoExec", json_boolean (m->noexec));
    }
  return j;
}

/* Docker's names: StopSignal, StopTimeout (null: the default), Init,
 * Ulimits [{Name, Soft, Hard}]. */
static void
process_to_json (json_t *j, const struct reg_container *c)
{
  char sig[REG_SIGNAL_NAME_MAX];
  json_object_set_new (
      j, "StopSignal",
      json_string (reg_util_signal_name (c->stop_signal ? c->stop_signal : SIGTERM, sig)));
  json_object_set_new (j, "StopTimeout",
                       c->stop_timeout >= 0 ? json_integer (c->stop_timeout) : json_null ());
  json_object_set_new (j, "Init", json_boolean (c->init));
  json_t *hc = reg_health_check_to_json (&c->healthcheck),
         *health = reg_health_state_to_json (&c->health);
  if (hc)
    json_object_set_new (j, "Healthcheck", hc);
  if (health)
    json_object_set_new (json_object_get (j, "State"), "Health", health);
  json_t *u = json_array ();
  for (size_t i = 0; i < c->n_ulimits; i++)
    json_array_append_new (
        u, json_pack ("{s:s, s:I, s:I}", "Name", reg_ulimit_name (c->ulimits[i].resource), "Soft",
                      (json_int_t)c->ulimits[i].soft, "Hard", (json_int_t)c->ulimits[i].hard));
  json_object_set_new (j, "Ulimits", u);
}

/* Older state files lack these: SIGTERM, the default timeout, no init. */
static void
process_from_json (json_t *j, struct reg_container *c)
{
  c->stop_signal = reg_util_signal_number (json_string_value (json_object_get (j, "StopSignal")));
  json_t *t = json_object_get (j, "StopTimeout");
  c->stop_timeout = json_is_integer (t) ? (int)json_integer_value (t) : -1;
  c->init = json_is_true (json_object_get (j, "Init"));
  json_t *hc = json_object_get (j, "Healthcheck");
  if (json_is_object (hc))
    reg_health_check_from_json (hc, "state", false, &c->healthcheck, NULL);
  reg_health_state_from_json (json_object_get (json_object_get (j, "State"), "Health"), &c->health);
  json_t *u = json_object_get (j, "Ulimits");
  for (size_t i = 0; i < json_array_size (u) && c->n_ulimits < REG_ULIMIT_MAX; i++)
    {
      json_t *o = json_array_get (u, i);
      int r = reg_ulimit_resource (json_string_value (json_object_get (o, "Name")) ?: "");
      if (r >= 0)
        c->ulimits[c->n_ulimits++]
            = (struct reg_ulimit){ r, json_integer_value (json_object_get (o, "Soft")),
                                   json_integer_value (json_object_get (o, "Hard")) };
    }
}

static char *
dup_json_string (json_t *o, const char *key)
{
  const char *s = json_string_value (json_object_get (o, key));
  return s ? strdup (s) : NULL;
}

/* The limits as Docker's HostConfig names them (the limits table); the
 * pids limit as it is applied, the default when none was given. */
static json_t *
limits_to_json (const struct reg_limits *l)
{
  json_t *o = json_object ();
  for (size_t i = 0; o && i < REG_LIMIT_COUNT; i++)
    reg_limit_to_json (&reg_limit_table[i], l, o);
  if (o && l->pids_limit == 0)
    json_object_set_new (o, reg_limit_table[REG_LIMIT_PIDS].field,
                         json_integer (REG_DEFAULT_PIDS_LIMIT));
  return o;
}

/* A state file is ours: read leniently (a missing field is "not set"). */
static void
limits_from_json (json_t *o, struct reg_limits *l)
{
  for (size_t i = 0; i < REG_LIMIT_COUNT; i++)
    {
      const struct reg_limit_def *d = &reg_limit_table[i];
      if (d->kind == REG_LIMIT_CPU_LIST)
        l->cpuset_cpus = dup_json_string (o, d->field);
      else
        reg_limit_set (l, d, json_integer_value (json_object_get (o, d->field)));
    }
}

static void
copy_json_string (json_t *o, const char *key, char *dst, size_t size)
{
  const char *s = json_string_value (json_object_get (o, key));
  snprintf (dst, size, "%s", s ? s : "");
}

void
reg_container_net_clear (struct reg_net_state *n)
{
  free (n->ports);
  for (size_t i = 0; i < n->n_links; i++)
    reg_strv_free (n->links[i].aliases);
  free (n->links);
  memset (n, 0, sizeof *n);
}

struct reg_net_link *
reg_container_net_link (const struct reg_net_state *n, const char *network)
{
  for (size_t i = 0; i < n->n_links; i++)
    if (strcmp (n->links[i].network, network) == 0)
      return &n->links[i];
  return NULL;
}

static json_t *
link_to_json (const struct reg_net_link *l)
{
  return json_pack ("{s:s, s:i, s:s, s:s, s:o, s:s, s:s, s:s}", "IPAddress", l->ip, "IPPrefixLen",
                    l->prefix, "Gateway", l->gateway, "MacAddress", l->mac, "Aliases",
                    strv_to_json (l->aliases), "Bridge", l->bridge, "Interface", l->ifname,
                    "HostInterface", l->host_if);
}

/* A Networks entry whose Interface is not eth0 is a link (state written
 * before links has no Interface: its one entry is the container's own). */
static bool
link_from_json (const char *network, json_t *o, struct reg_net_link *l)
{
  const char *ifname = json_string_value (json_object_get (o, "Interface"));
  if (ifname == NULL || strcmp (ifname, "eth0") == 0)
    return false;
  memset (l, 0, sizeof *l);
  snprintf (l->network, sizeof l->network, "%s", network);
  copy_json_string (o, "IPAddress", l->ip, sizeof l->ip);
  copy_json_string (o, "Gateway", l->gateway, sizeof l->gateway);
  copy_json_string (o, "MacAddress", l->mac, sizeof l->mac);
  copy_json_string (o, "Bridge", l->bridge, sizeof l->bridge);
  copy_json_string (o, "Interface", l->ifname, sizeof l->ifname);
  copy_json_string (o, "HostInterface", l->host_if, sizeof l->host_if);
  l->prefix = (int)json_integer_value (json_object_get (o, "IPPrefixLen"));
  json_t *a = json_object_get (o, "Aliases");
  l->aliases = json_is_array (a) && json_array_size (a) ? strv_from_json (a) : NULL;
  return true;
}

/* Docker's NetworkSettings: Ports as {"80/tcp": [{"HostIp", "HostPort"}]}. */
static json_t *
net_to_json (const struct reg_net_state *n)
{
  json_t *ports = json_object ();
  for (size_t i = 0; i < n->n_ports; i++)
    {
      const struct reg_port_binding *b = &n->ports[i];
      char key[16], host_port[8];
      snprintf (key, sizeof key, "%u/%s", b->container_port, b->udp ? "udp" : "tcp");
      snprintf (host_port, sizeof host_port, "%u", b->host_port);
      if (json_object_get (ports, key) == NULL)
        json_object_set_new (ports, key, json_array ());
      json_array_append_new (json_object_get (ports, key),
                             json_pack ("{s:s, s:s}", "HostIp",
                                        *b->host_ip ? b->host_ip : "0.0.0.0", "HostPort",
                                        host_port));
    }
  json_t *networks = json_object ();
  if (n->ip[0])
    json_object_set_new (networks, n->network,
                         json_pack ("{s:s, s:i, s:s, s:s, s:s}", "IPAddress", n->ip, "IPPrefixLen",
                                    n->prefix, "Gateway", n->gateway, "MacAddress", n->mac,
                                    "Interface", "eth0"));
  for (size_t i = 0; i < n->n_links; i++)
    json_object_set_new (networks, n->links[i].network, link_to_json (&n->links[i]));
  return json_pack ("{s:s, s:s, s:i, s:s, s:s, s:o, s:o}", "Bridge", n->bridge, "IPAddress", n->ip,
                    "IPPrefixLen", n->prefix, "Gateway", n->gateway, "MacAddress", n->mac, "Ports",
                    ports, "Networks", networks);
}

static void
net_from_json (json_t *j, struct reg_net_state *n)
{
  copy_json_string (j, "Bridge", n->bridge, sizeof n->bridge);
  copy_json_string (j, "IPAddress", n->ip, sizeof n->ip);
  copy_json_string (j, "Gateway", n->gateway, sizeof n->gateway);
  copy_json_string (j, "MacAddress", n->mac, sizeof n->mac);
  n->prefix = (int)json_integer_value (json_object_get (j, "IPPrefixLen"));
  json_t *nets = json_object_get (j, "Networks");
  size_t count = json_object_size (nets);
  if (count > 1)
    n->links = calloc (count - 1, sizeof *n->links);
  void *it;
  for (it = json_object_iter (nets); it; it = json_object_iter_next (nets, it))
    {
      const char *key = json_object_iter_key (it);
      if (n->links && n->n_links < count - 1
          && link_from_json (key, json_object_iter_value (it), &n->links[n->n_links]))
        n->n_links++;
      else if (n->network[0] == '\0')
        snprintf (n->network, sizeof n->network, "%s", key);
    }
  json_t *ports = json_object_get (j, "Ports");
  size_t total = 0;
  for (it = json_object_iter (ports); it; it = json_object_iter_next (ports, it))
    total += json_array_size (json_object_iter_value (it));
  if (total == 0 || (n->ports = calloc (total, sizeof *n->ports)) == NULL)
    return;
  for (it = json_object_iter (ports); it; it = json_object_iter_next (ports, it))
    {
      json_t *v = json_object_iter_value (it);
      unsigned cport = 0;
      char proto[4] = "";
      if (sscanf (json_object_iter_key (it), "%5u/%3s", &cport, proto) != 2)
        continue;
      for (size_t i = 0; i < json_array_size (v); i++)
        {
          struct reg_port_binding *b = &n->ports[n->n_ports++];
          json_t *o = json_array_get (v, i);
          const char *ip = json_string_value (json_object_get (o, "HostIp"));
          const char *hp = json_string_value (json_object_get (o, "HostPort"));
          snprintf (b->host_ip, sizeof b->host_ip, "%s",
                    ip && strcmp (ip, "0.0.0.0") != 0 ? ip : "");
          b->host_port = (unsigned short)(hp ? strtoul (hp, NULL, 10) : 0);
          b->container_port = (unsigned short)cport;
          b->udp = strcmp (proto, "udp") == 0;
        }
    }
}

json_t *
reg_container_to_json (const struct reg_container *c)
{
  json_t *mounts = json_array ();
  for (size_t i = 0; i < c->n_mounts; i++)
    json_array_append_new (mounts, reg_container_mount_to_json (&c->mounts[i]));
  json_t *state = json_pack ("{s:s, s:i, s:i, s:I, s:i, s:b, s:s, s:s, s:s?}", "Status",
                             reg_container_state_name (c->state), "Pid", (int)c->pid, "MonitorPid",
                             (int)c->monitor_pid, "MonitorStart", (json_int_t)c->monitor_start,
                             "ExitCode", c->exit_code, "OOMKilled", c->oom_killed, "StartedAt",
                             c->started, "FinishedAt", c->finished, "Error", c->error);
  json_t *limits = limits_to_json (&c->limits);
  json_t *j = json_pack (
      "{s:s, s:s?, s:o, s:s, s:o, s:o, s:s?, s:s?, s:o, s:b, s:o, s:I, s:s, s:o}", "Id", c->id,
      "Name", c->name, "Templates", strv_to_json (c->templates), "Closure", c->closure, "Cmd",
      strv_to_json (c->argv), "Env", strv_to_json (c->env), "WorkingDir", c->workdir, "Project",
      c->project, "Mounts", mounts, "AutoRemove", c->auto_remove, "Limits", limits, "LogMaxSize",
      (json_int_t)(c->log_max_size ? c->log_max_size : REG_LOG_MAX_SIZE), "Created", c->created,
      "State", state);
  json_object_set_new (j, "RestartPolicy",
                       json_pack ("{s:s, s:i}", "Name",
                                  reg_container_restart_name (c->restart.mode), "MaximumRetryCount",
                                  c->restart.max_retries));
  json_object_set_new (j, "Ports", strv_to_json (c->ports));
  if (c->storage_size)
    json_object_set_new (j, "StorageSize", json_integer ((json_int_t)c->storage_size));
  json_object_set_new (j, "NetworkMode", json_string (c->network_mode ? c->network_mode : "host"));
  if (c->hostname)
    json_object_set_new (j, "Hostname", json_string (c->hostname));
  json_object_set_new (j, "Dns", strv_to_json (c->dns));
  json_object_set_new (j, "DnsSearch", strv_to_json (c->dns_search));
  json_object_set_new (j, "ExtraHosts", strv_to_json (c->extra_hosts));
  json_object_set_new (j, "NetworkAliases", strv_to_json (c->aliases));
  json_object_set_new (j, "NetworkSettings", net_to_json (&c->net));
  json_object_set_new (j, "OpenStdin", json_boolean (c->open_stdin));
  json_object_set_new (j, "Inserted", strv_to_json (c->inserted));
  json_t *labels = json_object ();
  for (size_t i = 0; labels && c->labels && c->labels[i]; i++)
    {
      size_t k = strcspn (c->labels[i], "=");
      _cleanup_free_ char *key = strndup (c->labels[i], k);
      if (key && c->labels[i][k] == '=')
        json_object_set_new (labels, key, json_string (c->labels[i] + k + 1));
    }
  json_object_set_new (j, "Labels", labels);
  json_object_set_new (j, "Tty", json_boolean (c->tty));
  security_to_json (j, &c->security);
  json_object_set_new (j, "ConsoleSize", json_pack ("[i, i]", c->rows, c->cols));
  process_to_json (j, c);
  json_object_set_new (state, "RestartCount", json_integer (c->restart_count));
  json_object_set_new (state, "StopRequested", json_boolean (c->stop_requested));
  return j;
}

static int
mounts_from_json (struct reg_container *c, json_t *a)
{
  size_t n = json_array_size (a);
  if (n == 0)
    return 0;
  if ((c->mounts = calloc (n, sizeof *c->mounts)) == NULL)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      json_t *m = json_array_get (a, i);
      struct reg_mount *mt = &c->mounts[i];
      const char *type = json_string_value (json_object_get (m, "Type"));
      int t = type ? reg_container_mount_type_parse (type) : REG_MOUNT_BIND;
      mt->type = t < 0 ? REG_MOUNT_BIND : (enum reg_mount_type)t;
      mt->source = dup_json_string (m, "Source");
      mt->target = dup_json_string (m, "Destination");
      mt->volume = dup_json_string (m, "Name");
      mt->readonly = json_is_true (json_object_get (m, "ReadOnly"));
      mt->anonymous = json_is_true (json_object_get (m, "Anonymous"));
      mt->noexec = json_is_true (json_object_get (m, "NoExec"));
      json_t *tmpfs = json_object_get (m, "TmpfsOptions");
      mt->tmpfs_size = json_integer_value (json_object_get (tmpfs, "SizeBytes"));
      mt->tmpfs_mode = (unsigned)json_integer_value (json_object_get (tmpfs, "Mode"));
      c->n_mounts++;
      if (t < 0 || (!mt->source && mt->type != REG_MOUNT_TMPFS) || !mt->target
          || (mt->type == REG_MOUNT_VOLUME && !mt->volume))
        return -1;
    }
  return 0;
}

/* An empty or absent list is NULL. */
static char **
optional_strv (json_t *a)
{
  return json_is_array (a) && json_array_size (a) ? strv_from_json (a) : NULL;
}

static int
container_from_json (json_t *j, struct reg_container *c)
{
  json_t *st = json_object_get (j, "State");
  copy_json_string (j, "Id", c->id, sizeof c->id);
  copy_json_string (j, "Closure", c->closure, sizeof c->closure);
  copy_json_string (j, "Created", c->created, sizeof c->created);
  copy_json_string (st, "StartedAt", c->started, sizeof c->started);
  copy_json_string (st, "FinishedAt", c->finished, sizeof c->finished);
  c->name = dup_json_string (j, "Name");
  c->workdir = dup_json_string (j, "WorkingDir");
  c->project = dup_json_string (j, "Project");
  c->error = dup_json_string (st, "Error");
  c->templates = strv_from_json (json_object_get (j, "Templates"));
  c->argv = strv_from_json (json_object_get (j, "Cmd"));
  c->env = strv_from_json (json_object_get (j, "Env"));
  const char *lk;
  json_t *lv;
  json_object_foreach (json_object_get (j, "Labels"), lk, lv)
  {
    char *kv = NULL;
    if (json_is_string (lv) && asprintf (&kv, "%s=%s", lk, json_string_value (lv)) >= 0)
      {
        size_t n = reg_strv_len (c->labels);
        char **grown = realloc (c->labels, (n + 2) * sizeof *grown);
        if (grown == NULL)
          {
            free (kv);
            break;
          }
        grown[n] = kv;
        grown[n + 1] = NULL;
        c->labels = grown;
      }
  }
  c->auto_remove = json_is_true (json_object_get (j, "AutoRemove"));
  c->pid = (pid_t)json_integer_value (json_object_get (st, "Pid"));
  c->monitor_pid = (pid_t)json_integer_value (json_object_get (st, "MonitorPid"));
  c->monitor_start = (unsigned long long)json_integer_value (json_object_get (st, "MonitorStart"));
  c->exit_code = (int)json_integer_value (json_object_get (st, "ExitCode"));
  c->oom_killed = json_is_true (json_object_get (st, "OOMKilled"));
  c->log_max_size = json_integer_value (json_object_get (j, "LogMaxSize"));
  c->storage_size = json_integer_value (json_object_get (j, "StorageSize"));
  json_t *rp = json_object_get (j, "RestartPolicy");
  if (reg_container_restart_parse (json_string_value (json_object_get (rp, "Name")), &c->restart,
                                   NULL)
      == 0)
    c->restart.max_retries = (int)json_integer_value (json_object_get (rp, "MaximumRetryCount"));
  json_t *ports = json_object_get (j, "Ports");
  c->ports = json_is_array (ports) ? strv_from_json (ports) : NULL;
  /* State written before networking: those containers ran on the host's. */
  const char *mode = json_string_value (json_object_get (j, "NetworkMode"));
  c->network_mode = strdup (mode ? mode : "host");
  c->hostname = dup_json_string (j, "Hostname");
  c->dns = optional_strv (json_object_get (j, "Dns"));
  c->dns_search = optional_strv (json_object_get (j, "DnsSearch"));
  c->extra_hosts = optional_strv (json_object_get (j, "ExtraHosts"));
  c->aliases = optional_strv (json_object_get (j, "NetworkAliases"));
  net_from_json (json_object_get (j, "NetworkSettings"), &c->net);
  c->restart_count = (int)json_integer_value (json_object_get (st, "RestartCount"));
  c->open_stdin = json_is_true (json_object_get (j, "OpenStdin"));
  json_t *ins = json_object_get (j, "Inserted");
  c->inserted = json_is_array (ins) && json_array_size (ins) ? strv_from_json (ins) : NULL;
  c->tty = json_is_true (json_object_get (j, "Tty"));
  security_from_json (j, &c->security);
  process_from_json (j, c);
  json_t *cs = json_object_get (j, "ConsoleSize");
  c->rows = (unsigned short)json_integer_value (json_array_get (cs, 0));
  c->cols = (unsigned short)json_integer_value (json_array_get (cs, 1));
  c->stop_requested = json_is_true (json_object_get (st, "StopRequested"));
  limits_from_json (json_object_get (j, "Limits"), &c->limits);
  if (state_from_name (json_string_value (json_object_get (st, "Status")), &c->state) < 0)
    return -1;
  if (!reg_util_is_sha256_hex (c->id) || c->templates == NULL || c->argv == NULL || c->env == NULL
      || c->network_mode == NULL)
    return -1;
  return mounts_from_json (c, json_object_get (j, "Mounts"));
}

/* Load a state; *raw (when raw is not NULL) gets the file's JSON. */
static int
load_state (const char *root, const char *id, struct reg_container **out, json_t **raw,
            struct reg_error **err)
{
  _cleanup_free_ char *path = reg_root_container_file (root, id, "state.json");
  _cleanup_free_ char *text = NULL;
  if (path == NULL)
    return reg_error_set (err, ENOMEM, "container %.12s: out of memory", id);
  struct reg_error *read_err = NULL;
  if (reg_util_read_file (path, STATE_MAX, &text, NULL, &read_err) < 0)
    {
      bool missing = read_err->code == ENOENT;
      if (missing)
        reg_error_set (err, ENOENT, "container %.12s: not found", id);
      else
        reg_error_set (err, read_err->code, "container %.12s: %s", id, read_err->msg);
      reg_error_free (read_err);
      return -1;
    }
  json_error_t jerr;
  json_t *j = json_loads (text, 0, &jerr);
  struct reg_container *c = reg_container_new ();
  if (j == NULL || c == NULL || container_from_json (j, c) < 0)
    {
      json_decref (j);
      reg_container_free (c);
      return reg_error_set (err, EBADMSG,
                            "container %.12s: state file %s is damaged (`reg rm -f` removes the "
                            "container)",
                            id, path);
    }
  if (raw)
    *raw = j;
  else
    json_decref (j);
  *out = c;
  return 0;
}

int
reg_container_load (const char *root, const char *id, struct reg_container **out,
                    struct reg_error **err)
{
  return load_state (root, id, out, NULL, err);
}

/* Fields a newer version wrote and this one does not know (an upgrade
 * with containers running: docs/reliability.md). `unread` is what the
 * file has that this version's own serialisation of what it read from it
 * lacks: {"add": {KEY: value}, "sub": {KEY: unread of that object}}; an
 * update puts them back where its result lacks them, so a field this
 * version knows and the update dropped stays dropped. Arrays are carried
 * whole or not at all. */
static json_t *
unread_of (json_t *raw, json_t *mine)
{
  json_t *add = json_object (), *sub = json_object ();
  const char *k;
  json_t *v;
  json_object_foreach (raw, k, v)
  {
    json_t *m = json_object_get (mine, k);
    json_t *inner = json_is_object (v) && json_is_object (m) ? unread_of (v, m) : NULL;
    if (m == NULL)
      json_object_set (add, k, v);
    else if (inner)
      json_object_set_new (sub, k, inner);
  }
  if (json_object_size (add) == 0 && json_object_size (sub) == 0)
    {
      json_decref (add);
      json_decref (sub);
      return NULL;
    }
  return json_pack ("{s:o, s:o}", "add", add, "sub", sub);
}

static void
carry_unread (json_t *mine, json_t *unread)
{
  const char *k;
  json_t *v;
  json_object_foreach (json_object_get (unread, "add"), k, v) if (json_object_get (mine, k) == NULL)
      json_object_set (mine, k, v);
  json_object_foreach (json_object_get (unread, "sub"), k,
                       v) if (json_is_object (json_object_get (mine, k)))
      carry_unread (json_object_get (mine, k), v);
}

/* Space held for the state of a container on a full disk: operations that
 * stop processes or free space (stop, kill, rm -f) must still record what
 * they did. A save that finds no space gives the reserve back and tries
 * again; each later save frees the old file's blocks as it renames the new
 * one into place. */
#define STATE_RESERVE (64 * 1024)

static void
reserve_make (const char *root, const char *id)
{
  _cleanup_free_ char *path = reg_root_container_file (root, id, "reserve");
  _cleanup_close_ int fd = path ? open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) : -1;
  if (fd >= 0 && posix_fallocate (fd, 0, STATE_RESERVE) != 0)
    unlink (path); /* not even that much space: nothing held */
}

static bool
reserve_release (const char *root, const char *id)
{
  _cleanup_free_ char *path = reg_root_container_file (root, id, "reserve");
  return path && unlink (path) == 0;
}

/* An unsynced save keeps the file it replaces linked as
 * state.json.tmp-prev until the next save. ext4 starts writing a file back
 * when a rename puts it in another's place (auto_da_alloc), so the file the
 * previous save left is usually still being written; a rename that drops
 * its last link waits for that write to reach the disk (the monitor's
 * "running" save right after regd's network step: 0.15 ms median, 3 ms at
 * p90; docs/benchmarks.md, issue 15's fourth round). The file this unlinks
 * is older: its write is done. Saves of one container are serialised (the
 * state's flock, or the operation lock before any monitor exists); the
 * name has ".tmp-", so regd's start sweeps a leftover. Best effort. */
static void
keep_previous (const char *path)
{
  _cleanup_free_ char *prev = NULL;
  if (asprintf (&prev, "%s.tmp-prev", path) < 0)
    return;
  unlink (prev);
  if (link (path, prev) < 0 && errno != ENOENT)
    unlink (prev);
}

static int
write_state (const char *path, const char *text, bool unsynced, struct reg_error **err)
{
  if (unsynced)
    keep_previous (path);
  return unsynced ? reg_util_write_replace (path, text, strlen (text), 0600, err)
                  : reg_util_write_atomic_ex (path, text, strlen (text), 0600, false, err);
}

/* unread: the fields of the file this save replaces that this version
 * does not know (carried over); unsynced: no fsync (docs/reliability.md). */
static int
save_state (const char *root, const struct reg_container *c, json_t *unread, bool unsynced,
            struct reg_error **err)
{
  _cleanup_free_ char *path = reg_root_container_file (root, c->id, "state.json");
  json_t *j = reg_container_to_json (c);
  if (j && unread)
    carry_unread (j, unread);
  _cleanup_free_ char *text = j ? json_dumps (j, JSON_COMPACT) : NULL;
  json_decref (j);
  if (path == NULL || text == NULL)
    return reg_error_set (err, ENOMEM, "container %.12s: out of memory", c->id);
  /* A --rm container is removed after a crash whatever its state says: its
   * state is never synced (docs/benchmarks.md: the start-up levers). */
  unsynced = unsynced || c->auto_remove;
  struct reg_error *first = NULL;
  int r = write_state (path, text, unsynced, &first);
  if (r < 0 && (first->code == ENOSPC || first->code == EDQUOT) && reserve_release (root, c->id))
    {
      reg_error_free (reg_steal (&first));
      r = write_state (path, text, unsynced, &first);
    }
  if (r < 0)
    {
      if (err)
        *err = reg_steal (&first);
      reg_error_free (first);
      return reg_error_prefix (err, "container %.12s: save state", c->id);
    }
  return 0;
}

int
reg_container_save (const char *root, const struct reg_container *c, struct reg_error **err)
{
  return save_state (root, c, NULL, false, err);
}

/* Names: containers/.names/NAME is a symlink to the id. Creating it is
 * the reservation (atomic: a second container of that name gets EEXIST),
 * and lookups by name read one link instead of every state file. */
static char *
name_link (const char *root, const char *name)
{
  return reg_root_path (root, REG_ROOT_NAME, name, NULL);
}

/* The id a name points to, when that container still exists. */
static bool
name_lookup (const char *root, const char *name, char id[65])
{
  if (strchr (name, '/') || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return false;
  _cleanup_free_ char *link = name_link (root, name);
  char target[80];
  ssize_t n = link ? readlink (link, target, sizeof target - 1) : -1;
  if (n != 64)
    return false;
  target[n] = '\0';
  _cleanup_free_ char *dir = reg_root_container (root, target);
  if (!reg_util_is_sha256_hex (target) || dir == NULL || access (dir, F_OK) < 0)
    return false;
  memcpy (id, target, 65);
  return true;
}

static int
name_reserve (const char *root, const char *name, const char *id, struct reg_error **err)
{
  _cleanup_free_ char *dir = reg_root_path (root, REG_ROOT_NAMES, NULL, NULL);
  _cleanup_free_ char *link = name_link (root, name);
  if (link == NULL || dir == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    return reg_error_sys (err, errno, "container name \"%s\": mkdir %s", name, dir);
  for (int attempt = 0; attempt < 2; attempt++)
    {
      if (symlink (id, link) == 0)
        return 0;
      if (errno != EEXIST)
        break;
      char other[65];
      if (name_lookup (root, name, other))
        return reg_error_set (err, EEXIST, "container name \"%s\" is already in use by %.12s", name,
                              other);
      unlink (link); /* left by a container that is gone */
    }
  return reg_error_sys (err, errno, "container name \"%s\": reserve", name);
}

static void
name_release (const char *root, const char *name, const char *id)
{
  char other[65];
  _cleanup_free_ char *link = name_link (root, name);
  if (link && name_lookup (root, name, other) && strcmp (other, id) == 0)
    unlink (link);
}

bool
reg_container_name_ok (const char *name)
{
  size_t n = name ? strlen (name) : 0;
  if (n == 0 || n > 128 || !isalnum ((unsigned char)name[0]))
    return false;
  return strspn (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int
set_name (struct reg_container *c, void *data, struct reg_error **err)
{
  char *name = strdup (data);
  if (name == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  free (c->name);
  c->name = name;
  return 0;
}

int
reg_container_rename (const char *root, const char *id, const char *name, struct reg_error **err)
{
  struct reg_container *c = NULL;
  if (reg_container_load (root, id, &c, err) < 0)
    return -1;
  int ret = name_reserve (root, name, id, err);
  if (ret == 0 && reg_container_update (root, id, set_name, (void *)name, err) < 0)
    {
      name_release (root, name, id);
      ret = -1;
    }
  if (ret == 0 && c->name && *c->name)
    name_release (root, c->name, id);
  reg_container_free (c);
  return ret < 0 ? reg_error_prefix (err, "rename %.12s", id) : 0;
}

int
reg_container_index_name (const char *root, const char *name, const char *id,
                          struct reg_error **err)
{
  char other[65];
  if (name_lookup (root, name, other) && strcmp (other, id) == 0)
    return 0;
  return name_reserve (root, name, id, err);
}

char *
reg_container_layer_file (const char *root, const struct reg_container *c, const char *name)
{
  char rel[64];
  if (snprintf (rel, sizeof rel, "%s%s", c->storage_size ? "layer/" : "", name) >= (int)sizeof rel)
    return NULL;
  return reg_root_container_file (root, c->id, rel);
}

/* The upper directory is the root directory of the container (overlay
 * takes the top layer's mode): 0755, so a --user can walk it. Its parent,
 * 0700, keeps host users out. */
static int
make_layer_dirs (const char *root, const struct reg_container *c)
{
  static const char *const subdirs[] = { "upper", "work" };
  for (size_t i = 0; i < 2; i++)
    {
      _cleanup_free_ char *sub = reg_container_layer_file (root, c, subdirs[i]);
      mode_t mode = i == 0 ? 0755 : 0700;
      if (sub == NULL || mkdir (sub, mode) < 0 || chmod (sub, mode) < 0
          || (i == 0 && c->security.userns
              && chown (sub, c->security.userns_uid, c->security.userns_gid) < 0))
        return -1;
    }
  return 0;
}

static bool
is_mount_point (const char *dir)
{
  struct stat st, parent;
  _cleanup_free_ char *up = NULL;
  return asprintf (&up, "%s/..", dir) >= 0 && stat (dir, &st) == 0 && stat (up, &parent) == 0
         && st.st_dev != parent.st_dev;
}

int
reg_container_layer_ensure (const char *root, const struct reg_container *c, struct reg_error **err)
{
  if (c->storage_size <= 0)
    return 0;
  _cleanup_free_ char *layer = reg_root_container_file (root, c->id, "layer");
  char opts[64];
  snprintf (opts, sizeof opts, "size=%lld,mode=0700", (long long)c->storage_size);
  if (layer == NULL)
    return reg_error_set (err, ENOMEM, "container %.12s: out of memory", c->id);
  if (is_mount_point (layer))
    return 0;
  if ((mkdir (layer, 0700) < 0 && errno != EEXIST)
      || mount ("tmpfs", layer, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
    return reg_error_sys (err, errno, "container %.12s: --storage-opt size: mount a tmpfs at %s",
                          c->id, layer);
  if (make_layer_dirs (root, c) < 0)
    {
      int e = errno;
      umount2 (layer, MNT_DETACH);
      return reg_error_sys (err, e, "container %.12s: --storage-opt size: make the writable layer",
                            c->id);
    }
  return 0;
}

/* The upper layer is the container's to change while it runs: any of the
 * placeholder's directories may have been replaced by a symlink to a host
 * path. So the path is walked one component at a time below the upper
 * directory, each opened with O_NOFOLLOW, and the last is looked at and
 * unlinked relative to its parent: nothing outside the upper layer is
 * reached (nor through ".."). Returns the parent's fd and leaves the last component in *name,
 * or -1 (a component is missing, or is not a real directory). */
static int
open_parent (const char *upper, char *rel, char **name)
{
  int dfd = open (upper, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  char *part = rel;
  while (dfd >= 0 && *part == '/')
    part++;
  for (char *slash; dfd >= 0 && (slash = strchr (part, '/')) != NULL;)
    {
      *slash = '\0';
      int next = strcmp (part, "..") == 0
                     ? -1
                     : openat (dfd, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      close (dfd);
      dfd = next;
      for (part = slash + 1; *part == '/'; part++)
        ;
    }
  *name = part;
  return dfd;
}

void
reg_container_layer_clean (const char *upper, char *const *made)
{
  for (size_t i = 0; made && made[i]; i++)
    {
      if (made[i][0] != 'm' && made[i][0] != 'l')
        continue;
      char rel[4096];
      if (snprintf (rel, sizeof rel, "%s", made[i] + 2) >= (int)sizeof rel)
        continue;
      char *name = NULL;
      int dfd = open_parent (upper, rel, &name);
      if (dfd < 0)
        continue;
      struct stat st;
      /* Only what we made: an empty placeholder, or a symlink. */
      if (*name && strcmp (name, "..") != 0 && strcmp (name, ".") != 0
          && fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
          && ((S_ISREG (st.st_mode) && st.st_size == 0 && made[i][0] == 'm')
              || (S_ISLNK (st.st_mode) && made[i][0] == 'l')))
        unlinkat (dfd, name, 0);
      close (dfd);
    }
}

/* A sized container's tmpfs goes first: removal never crosses a mount. */
static void
layer_unmount (const char *dir)
{
  _cleanup_free_ char *layer = NULL;
  if (asprintf (&layer, "%s/layer", dir) >= 0)
    umount2 (layer, MNT_DETACH | UMOUNT_NOFOLLOW);
}

static void
create_undo (const char *root, const struct reg_container *c, const char *dir)
{
  layer_unmount (dir);
  reg_util_rm_rf (dir, NULL);
  if (c->name && *c->name)
    name_release (root, c->name, c->id);
}

int
reg_container_create (const char *root, struct reg_container *c, struct reg_error **err)
{
  _cleanup_free_ char *dir = reg_root_container (root, c->id);
  _cleanup_free_ char *merged = reg_root_container_file (root, c->id, "merged");
  if (dir == NULL || merged == NULL)
    return reg_error_set (err, ENOMEM, "container %.12s: out of memory", c->id);
  if (c->name && *c->name && name_reserve (root, c->name, c->id, err) < 0)
    return -1;
  if (mkdir (dir, 0700) < 0)
    {
      reg_error_sys (err, errno, "container %.12s: mkdir %s", c->id, dir);
      if (c->name && *c->name)
        name_release (root, c->name, c->id);
      return -1;
    }
  int ret = c->storage_size > 0 ? reg_container_layer_ensure (root, c, err) : 0;
  if (ret == 0
      && ((c->storage_size == 0 && make_layer_dirs (root, c) < 0) || mkdir (merged, 0700) < 0))
    ret = reg_error_sys (err, errno, "container %.12s: make its directories", c->id);
  reg_util_now_rfc3339 (c->created);
  if (ret == 0)
    reserve_make (root, c->id);
  if (ret == 0)
    ret = reg_container_save (root, c, err);
  if (ret < 0)
    create_undo (root, c, dir);
  return ret;
}

static int update (const char *root, const char *id, reg_container_update_fn fn, void *data,
                   bool unsynced, struct reg_error **err);

int
reg_container_update (const char *root, const char *id, reg_container_update_fn fn, void *data,
                      struct reg_error **err)
{
  return update (root, id, fn, data, false, err);
}

int
reg_container_update_unsynced (const char *root, const char *id, reg_container_update_fn fn,
                               void *data, struct reg_error **err)
{
  return update (root, id, fn, data, true, err);
}

static int
update (const char *root, const char *id, reg_container_update_fn fn, void *data, bool unsynced,
        struct reg_error **err)
{
  _cleanup_free_ char *lock_path = reg_root_container_file (root, id, "lock");
  if (lock_path == NULL)
    return reg_error_set (err, ENOMEM, "container %.12s: out of memory", id);
  _cleanup_close_ int fd = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return reg_error_set (err, ENOENT, "container %.12s: not found", id);
      return reg_error_sys (err, errno, "container %.12s: lock", id);
    }
  if (flock (fd, LOCK_EX) < 0)
    return reg_error_sys (err, errno, "container %.12s: lock", id);
  struct reg_container *c = NULL;
  json_t *raw = NULL, *unread = NULL;
  int ret = load_state (root, id, &c, &raw, err);
  if (ret == 0)
    {
      json_t *mine = reg_container_to_json (c);
      unread = mine ? unread_of (raw, mine) : NULL;
      json_decref (mine);
      ret = fn (c, data, err);
    }
  if (ret == 0)
    ret = save_state (root, c, unread, unsynced, err);
  json_decref (unread);
  json_decref (raw);
  reg_container_free (c);
  return ret; /* closing fd drops the lock */
}

/* Does the name link `path` (relative to dirfd) point at container id? */
static bool
link_points_at (int dirfd, const char *path, const char *id)
{
  char target[80];
  ssize_t n = readlinkat (dirfd, path, target, sizeof target - 1);
  return n == 64 && strncmp (target, id, 64) == 0;
}

/* Remove every name link that points at id: for a container whose state
 * (and so its name) cannot be read. One scan of the name index. */
static void
unlink_names_of (const char *root, const char *id)
{
  _cleanup_free_ char *dir = reg_root_path (root, REG_ROOT_NAMES, NULL, NULL);
  if (dir == NULL)
    return;
  DIR *d = opendir (dir);
  if (d == NULL)
    return;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (link_points_at (dirfd (d), de->d_name, id))
      unlinkat (dirfd (d), de->d_name, 0);
  closedir (d);
}

int
reg_container_retire (const char *root, const char *id, char **grave_out,
                      struct reg_container **last, struct reg_error **err)
{
  _cleanup_free_ char *dir = reg_root_container (root, id);
  _cleanup_free_ char *grave = reg_root_path (root, REG_ROOT_CONTAINER_GRAVE, id, NULL);
  *grave_out = NULL;
  if (last)
    *last = NULL;
  if (dir == NULL || grave == NULL)
    return reg_error_set (err, ENOMEM, "container %.12s: out of memory", id);
  /* Under the state lock: a concurrent read-modify-write (the monitor's, or
   * regd's) finishes first, or finds the container gone (ENOENT), instead
   * of failing to rename its new state into a directory moved away. */
  _cleanup_free_ char *lock_path = reg_root_container_file (root, id, "lock");
  _cleanup_close_ int lock_fd
      = lock_path ? open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
  if (lock_fd >= 0)
    flock (lock_fd, LOCK_EX);
  struct reg_container *c = NULL;
  bool loaded = reg_container_load (root, id, &c, NULL) == 0;
  layer_unmount (dir);
  /* Rename first so the container disappears at once, even if the removal
   * of a large upper layer is interrupted. */
  if (rename (dir, grave) < 0)
    {
      reg_container_free (c);
      return reg_error_sys (err, errno == ENOENT ? ENOENT : errno, "container %.12s: remove", id);
    }
  if (loaded && c->name)
    {
      _cleanup_free_ char *link = name_link (root, c->name);
      if (link && link_points_at (AT_FDCWD, link, id))
        unlink (link);
    }
  else if (!loaded)
    unlink_names_of (root, id); /* its state is gone or damaged: look */
  if (last)
    *last = c;
  else
    reg_container_free (c);
  *grave_out = grave;
  grave = NULL;
  return 0;
}

int
reg_container_destroy (const char *root, const char *id, struct reg_error **err)
{
  _cleanup_free_ char *grave = NULL;
  if (reg_container_retire (root, id, &grave, NULL, err) < 0)
    return -1;
  if (reg_util_rm_rf (grave, err) < 0)
    return reg_error_prefix (err, "container %.12s: remove", id);
  return 0;
}

int
reg_container_list (const char *root, char ***ids, struct reg_error **err)
{
  _cleanup_free_ char *dir = reg_root_path (root, REG_ROOT_CONTAINERS, NULL, NULL);
  if (dir == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  DIR *d = opendir (dir);
  if (d == NULL)
    {
      if (errno != ENOENT)
        return reg_error_sys (err, errno, "list containers in %s", dir);
      *ids = calloc (1, sizeof (char *));
      return *ids ? 0 : reg_error_set (err, ENOMEM, "out of memory");
    }
  size_t n = 0, cap = 16;
  char **v = calloc (cap + 1, sizeof *v);
  struct dirent *de;
  while (v && (de = readdir (d)) != NULL)
    {
      if (!reg_util_is_sha256_hex (de->d_name))
        continue;
      if (n == cap)
        {
          char **nv = realloc (v, (cap * 2 + 1) * sizeof *nv);
          if (nv == NULL)
            break;
          v = nv;
          cap *= 2;
        }
      v[n++] = strdup (de->d_name);
      v[n] = NULL;
    }
  closedir (d);
  if (v == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  *ids = v;
  return 0;
}

/* Docker's order: a full id, a name, then an id prefix (unique). No state
 * file is read: a lookup costs the same with 1 or 1000 containers. */
bool
reg_container_name_taken (const char *root, const char *name, char id_out[65])
{
  return name_lookup (root, name, id_out);
}

int
reg_container_find (const char *root, const char *ref, char id_out[65], struct reg_error **err)
{
  if (ref == NULL || *ref == '\0')
    return reg_error_set (err, EINVAL, "no container given");
  if (reg_util_is_sha256_hex (ref))
    {
      _cleanup_free_ char *dir = reg_root_container (root, ref);
      if (dir && access (dir, F_OK) == 0)
        {
          memcpy (id_out, ref, 65);
          return 0;
        }
    }
  if (name_lookup (root, ref, id_out))
    return 0;
  _cleanup_strv_ char **ids = NULL;
  if (reg_container_list (root, &ids, err) < 0)
    return -1;
  size_t ref_len = strlen (ref);
  int matches = 0;
  for (size_t i = 0; ids[i]; i++)
    if (strncmp (ids[i], ref, ref_len) == 0 && matches++ == 0)
      memcpy (id_out, ids[i], 65);
  if (matches > 1)
    return reg_error_set (err, EINVAL, "container %s: ambiguous: %d containers have this prefix",
                          ref, matches);
  if (matches == 0)
    return reg_error_set (err, ENOENT, "container %s: not found", ref);
  return 0;
}

bool
reg_container_monitor_alive (const struct reg_container *c)
{
  if (c->monitor_pid <= 0)
    return false;
  return reg_util_proc_starttime (c->monitor_pid) == c->monitor_start;
}
