#include "request.h"
#include "json.h"
#include "limit.h"
#include "util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHAT "create container"

static void
free_mounts (struct reg_mount *m, size_t n)
{
  for (size_t i = 0; m && i < n; i++)
    {
      free (m[i].source);
      free (m[i].target);
      free (m[i].volume);
    }
  free (m);
}

void
reg_request_create_free (struct reg_create_request *r)
{
  if (r == NULL)
    return;
  reg_strv_free (r->templates);
  reg_strv_free (r->cmd);
  reg_strv_free (r->env);
  reg_strv_free (r->ports);
  reg_strv_free (r->dns);
  reg_strv_free (r->dns_search);
  reg_strv_free (r->extra_hosts);
  reg_strv_free (r->aliases);
  reg_strv_free (r->exposed);
  reg_strv_free (r->group_add);
  free (r->network_mode);
  free (r->hostname);
  free (r->name);
  free (r->workdir);
  free (r->project);
  free (r->cpuset_cpus);
  free (r->user);
  free_mounts (r->mounts, r->n_mounts);
  reg_project_free (r->project_file);
  reg_security_clear (&r->o.security);
  reg_health_check_clear (&r->o.healthcheck);
  free (r);
}

/* TmpfsOptions {"SizeBytes", "Mode"}: both optional. */
static int
parse_tmpfs_options (json_t *o, struct reg_mount *m, struct reg_error **err)
{
  json_t *t = json_object_get (o, "TmpfsOptions");
  if (t == NULL || json_is_null (t))
    return 0;
  json_t *size = json_object_get (t, "SizeBytes"), *mode = json_object_get (t, "Mode");
  if (!json_is_object (t) || (size && !json_is_integer (size)) || (mode && !json_is_integer (mode))
      || json_integer_value (size) < 0 || json_integer_value (mode) < 0
      || json_integer_value (mode) > 07777)
    return reg_error_set (err, EINVAL,
                          WHAT ": mount %s: TmpfsOptions wants integer SizeBytes >= 0 and Mode "
                               "0..07777",
                          m->target);
  m->tmpfs_size = json_integer_value (size);
  m->tmpfs_mode = (unsigned)json_integer_value (mode);
  return 0;
}

/* One mount: {"Type": "bind" (default) | "volume" | "tmpfs", "Source" (the
 * host path, or the volume's name; none for tmpfs), "Destination",
 * "ReadOnly", "TmpfsOptions", "NoExec"}. */
static int
parse_mount (json_t *o, struct reg_mount *m, struct reg_error **err)
{
  static const char *const keys[]
      = { "Type", "Source", "Destination", "ReadOnly", "TmpfsOptions", "NoExec", NULL };
  if (!json_is_object (o))
    return reg_error_set (err, EINVAL, WHAT ": each mount must be an object");
  if (reg_json_only_keys (o, keys, WHAT ": mount", err) < 0)
    return -1;
  json_t *type = json_object_get (o, "Type");
  int t = type ? reg_container_mount_type_parse (json_string_value (type)) : REG_MOUNT_BIND;
  if (t < 0)
    return reg_error_set (err, EINVAL, WHAT ": mount type \"%s\": want bind, volume or tmpfs",
                          json_string_value (type) ? json_string_value (type) : "(not a string)");
  m->type = (enum reg_mount_type)t;
  json_t *src = json_object_get (o, "Source"), *dst = json_object_get (o, "Destination");
  if (!json_is_string (dst))
    return reg_error_set (err, EINVAL, WHAT ": each mount needs a string Destination");
  if ((m->target = strdup (json_string_value (dst))) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (m->type == REG_MOUNT_TMPFS && src && !json_is_null (src))
    return reg_error_set (err, EINVAL, WHAT ": tmpfs mount %s takes no Source", m->target);
  if (m->type != REG_MOUNT_TMPFS && !json_is_string (src))
    return reg_error_set (err, EINVAL, WHAT ": %s mount %s needs a string Source (%s)",
                          reg_container_mount_type_name (m->type), m->target,
                          m->type == REG_MOUNT_BIND ? "a host path" : "the volume's name");
  if (m->type != REG_MOUNT_TMPFS && (m->source = strdup (json_string_value (src))) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  m->readonly = json_is_true (json_object_get (o, "ReadOnly"));
  m->noexec = json_is_true (json_object_get (o, "NoExec"));
  if (m->type != REG_MOUNT_TMPFS
      && (json_object_get (o, "TmpfsOptions") || json_object_get (o, "NoExec")))
    return reg_error_set (
        err, EINVAL, WHAT ": TmpfsOptions and NoExec are for tmpfs mounts only (%s)", m->target);
  return parse_tmpfs_options (o, m, err);
}

static int
parse_mounts (json_t *body, struct reg_create_request *r, struct reg_error **err)
{
  json_t *a = json_object_get (body, "Mounts");
  if (a == NULL || json_is_null (a))
    return 0;
  if (!json_is_array (a))
    return reg_error_set (err, EINVAL, WHAT ": field \"Mounts\" must be an array");
  size_t count = json_array_size (a);
  r->mounts = calloc (count + 1, sizeof *r->mounts);
  if (r->mounts == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; i < count; i++)
    {
      r->n_mounts = i + 1;
      if (parse_mount (json_array_get (a, i), &r->mounts[i], err) < 0)
        return -1;
    }
  return 0;
}

/* reg.yaml's values first; the request's own fields override them. */
static int
apply_project_file (json_t *body, struct reg_create_request *r, struct reg_error **err)
{
  json_t *pf = json_object_get (body, "ProjectFile");
  if (pf == NULL || json_is_null (pf))
    return 0;
  _cleanup_free_ char *origin = NULL;
  if (!json_is_string (pf) || r->project == NULL)
    return reg_error_set (err, EINVAL, WHAT ": ProjectFile must be a string, with Project");
  if (asprintf (&origin, "%s/reg.yaml", r->project) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_project_parse (json_string_value (pf), json_string_length (pf), origin, &r->project_file,
                         err)
      < 0)
    return -1;
  struct reg_project *p = r->project_file;
  r->o.limits = p->limits;
  r->o.restart = p->restart;
  if (r->workdir == NULL && p->workdir && (r->workdir = strdup (p->workdir)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_strv_len (r->templates) == 0)
    {
      reg_strv_free (r->templates);
      r->templates = reg_strv_dup (p->templates);
    }
  if (reg_strv_len (r->cmd) == 0 && p->command)
    {
      reg_strv_free (r->cmd);
      r->cmd = reg_strv_dup (p->command);
    }
  if (r->network_mode == NULL && p->network && (r->network_mode = strdup (p->network)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_strv_len (r->exposed) == 0 && p->expose
      && (r->exposed = reg_strv_dup (p->expose)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_strv_len (r->ports) == 0 && p->ports)
    {
      reg_strv_free (r->ports);
      r->ports = reg_strv_dup (p->ports);
    }
  size_t ne = reg_strv_len (p->env), nu = reg_strv_len (r->env);
  char **merged = calloc (ne + nu + 1, sizeof (char *));
  for (size_t i = 0; merged && i < ne + nu; i++)
    if ((merged[i] = strdup (i < ne ? p->env[i] : r->env[i - ne])) == NULL)
      {
        reg_strv_free (merged);
        merged = NULL;
      }
  reg_strv_free (r->env);
  r->env = merged;
  if (merged == NULL || (p->templates && r->templates == NULL))
    return reg_error_set (err, ENOMEM, "out of memory");
  return 0;
}

static int
parse_restart (json_t *body, struct reg_restart *out, struct reg_error **err)
{
  json_t *rp = json_object_get (body, "RestartPolicy");
  if (rp == NULL || json_is_null (rp))
    return 0;
  const char *name = json_string_value (json_object_get (rp, "Name"));
  json_t *max = json_object_get (rp, "MaximumRetryCount");
  if (!json_is_object (rp) || (max && !json_is_integer (max)))
    return reg_error_set (err, EINVAL, WHAT ": RestartPolicy must be {Name, MaximumRetryCount}");
  if (reg_container_restart_parse (name, out, err) < 0)
    return -1;
  if (max == NULL)
    return 0;
  json_int_t n = json_integer_value (max);
  if (out->mode != REG_RESTART_ON_FAILURE && n != 0)
    return reg_error_set (err, EINVAL,
                          WHAT ": MaximumRetryCount only goes with the on-failure policy");
  if (n < 0 || n > 1000000)
    return reg_error_set (err, EINVAL, WHAT ": MaximumRetryCount out of range");
  if (n > 0)
    out->max_retries = (int)n;
  return 0;
}

static int
parse_security (json_t *body, struct reg_security *s, char **user_name, struct reg_error **err)
{
  json_t *so = json_object_get (body, "SecurityOpt");
  if (so && !json_is_null (so) && !json_is_array (so))
    return reg_error_set (err, EINVAL, WHAT ": field \"SecurityOpt\" must be an array of strings");
  s->privileged = json_is_true (json_object_get (body, "Privileged"));
  s->read_only = json_is_true (json_object_get (body, "ReadonlyRootfs"));
  for (size_t i = 0; i < json_array_size (so); i++)
    {
      const char *v = json_string_value (json_array_get (so, i));
      if (v == NULL)
        return reg_error_set (err, EINVAL,
                              WHAT ": field \"SecurityOpt\" must be an array of strings");
      if (reg_security_add_opt (s, v, err) < 0)
        return reg_error_prefix (err, WHAT);
    }
  const char *user = NULL, *userns = NULL;
  if (reg_json_strv (body, "CapAdd", WHAT, &s->cap_add, err) < 0
      || reg_json_strv (body, "CapDrop", WHAT, &s->cap_drop, err) < 0
      || reg_json_string (body, "User", WHAT, &user, err) < 0
      || reg_json_string (body, "UsernsMode", WHAT, &userns, err) < 0)
    return -1;
  if (userns && reg_security_set_userns (s, userns, err) < 0)
    return reg_error_prefix (err, WHAT);
  /* A name is resolved through the templates' accounts at create. */
  bool named = user && strspn (user, "0123456789:") != strlen (user);
  if (named && (*user_name = strdup (user)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (!named && user && *user && reg_security_set_user (s, user, err) < 0)
    return reg_error_prefix (err, WHAT);
  if (reg_security_check (s, err) < 0)
    return reg_error_prefix (err, WHAT);
  return 0;
}

/* StorageOpt: {"size": "64m"} (Docker's HostConfig.StorageOpt); size is
 * the only option. */
static int
parse_storage_opt (json_t *body, struct reg_create_options *o, struct reg_error **err)
{
  json_t *so = json_object_get (body, "StorageOpt");
  if (so == NULL || json_is_null (so))
    return 0;
  if (!json_is_object (so))
    return reg_error_set (err, EINVAL, WHAT ": StorageOpt must be an object of strings");
  const char *key;
  json_t *v;
  json_object_foreach (so, key, v)
  {
    if (strcmp (key, "size") != 0)
      return reg_error_set (err, EINVAL,
                            WHAT ": --storage-opt %s: unknown option (size is the only one)", key);
    int64_t size = 0;
    if (!json_is_string (v) || !reg_util_parse_size (json_string_value (v), &size) || size <= 0)
      return reg_error_set (err, EINVAL, WHAT ": --storage-opt size=%s: not a size (e.g. 64m, 1g)",
                            json_is_string (v) ? json_string_value (v) : "?");
    o->storage_size = size;
  }
  return 0;
}

/* Ulimits: [{Name, Soft, Hard}] (Docker's HostConfig.Ulimits). */
static int
parse_ulimits (json_t *body, struct reg_create_request *r, struct reg_error **err)
{
  json_t *a = json_object_get (body, "Ulimits");
  if (a == NULL || json_is_null (a))
    return 0;
  if (!json_is_array (a) || json_array_size (a) > REG_ULIMIT_MAX)
    return reg_error_set (err, EINVAL, WHAT ": \"Ulimits\" must be an array of at most %d",
                          REG_ULIMIT_MAX);
  for (size_t i = 0; i < json_array_size (a); i++)
    {
      json_t *o = json_array_get (a, i);
      const char *name = json_string_value (json_object_get (o, "Name"));
      json_t *soft = json_object_get (o, "Soft"), *hard = json_object_get (o, "Hard");
      if (!json_is_object (o) || name == NULL || !json_is_integer (soft) || !json_is_integer (hard))
        return reg_error_set (err, EINVAL,
                              WHAT ": each ulimit needs a string Name and integer Soft and Hard");
      char spec[96];
      snprintf (spec, sizeof spec, "%.32s=%lld:%lld", name, (long long)json_integer_value (soft),
                (long long)json_integer_value (hard));
      if (reg_ulimit_parse (spec, &r->ulimits[i], err) < 0)
        return reg_error_prefix (err, WHAT);
      r->o.n_ulimits = i + 1;
    }
  r->o.ulimits = r->ulimits;
  return 0;
}

/* StopSignal, StopTimeout, Init, Ulimits. */
static int
parse_process (json_t *body, struct reg_create_request *r, struct reg_error **err)
{
  struct reg_create_options *o = &r->o;
  const char *sig = NULL;
  if (reg_json_string (body, "StopSignal", WHAT, &sig, err) < 0)
    return -1;
  if (sig && (o->stop_signal = reg_util_signal_number (sig)) <= 0)
    return reg_error_set (
        err, EINVAL, WHAT ": stop signal \"%s\" is not a signal (SIGTERM, SIGQUIT, 15, ...)", sig);
  json_t *t = json_object_get (body, "StopTimeout");
  o->stop_timeout = -1;
  if (t && !json_is_null (t))
    {
      if (!json_is_integer (t) || json_integer_value (t) < 0 || json_integer_value (t) > 86400)
        return reg_error_set (err, EINVAL, WHAT ": StopTimeout must be 0-86400 seconds");
      o->stop_timeout = (int)json_integer_value (t);
    }
  if (parse_storage_opt (body, o, err) < 0)
    return -1;
  json_t *init = json_object_get (body, "Init");
  if (init && !json_is_null (init) && !json_is_boolean (init))
    return reg_error_set (err, EINVAL, WHAT ": Init must be true or false");
  o->init = json_is_true (init);
  json_t *hc = json_object_get (body, "Healthcheck");
  if (hc && !json_is_null (hc)
      && reg_health_check_from_json (hc, WHAT, true, &o->healthcheck, err) < 0)
    return -1;
  return parse_ulimits (body, r, err);
}

static int
dup_string (json_t *body, const char *key, char **out, struct reg_error **err)
{
  const char *v = NULL;
  if (reg_json_string (body, key, WHAT, &v, err) < 0)
    return -1;
  if (v && (*out = strdup (v)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  return 0;
}

static int
parse_body (json_t *body, struct reg_create_request *r, struct reg_error **err)
{
  static const char *const keys[] = { "Name",
                                      "Templates",
                                      "Cmd",
                                      "Env",
                                      "WorkingDir",
                                      "Project",
                                      "Mounts",
                                      "AutoRemove",
                                      "Limits",
                                      "LogMaxSize",
                                      "StorageOpt",
                                      "RestartPolicy",
                                      "Ports",
                                      "ProjectFile",
                                      "OpenStdin",
                                      "Tty",
                                      "ConsoleSize",
                                      "Privileged",
                                      "SecurityOpt",
                                      "CapAdd",
                                      "CapDrop",
                                      "User",
                                      "GroupAdd",
                                      "ReadonlyRootfs",
                                      "UsernsMode",
                                      "NetworkMode",
                                      "Hostname",
                                      "Dns",
                                      "DnsSearch",
                                      "ExtraHosts",
                                      "NetworkAliases",
                                      "ExposedPorts",
                                      "PublishAllPorts",
                                      "StopSignal",
                                      "StopTimeout",
                                      "Init",
                                      "Ulimits",
                                      "Healthcheck",
                                      NULL };
  struct reg_create_options *o = &r->o;
  if (reg_json_only_keys (body, keys, WHAT, err) < 0
      || reg_json_strv (body, "Templates", WHAT, &r->templates, err) < 0
      || reg_json_strv (body, "Cmd", WHAT, &r->cmd, err) < 0
      || reg_json_strv (body, "Env", WHAT, &r->env, err) < 0
      || reg_json_strv (body, "Ports", WHAT, &r->ports, err) < 0
      || reg_json_strv (body, "Dns", WHAT, &r->dns, err) < 0
      || reg_json_strv (body, "DnsSearch", WHAT, &r->dns_search, err) < 0
      || reg_json_strv (body, "ExtraHosts", WHAT, &r->extra_hosts, err) < 0
      || reg_json_strv (body, "NetworkAliases", WHAT, &r->aliases, err) < 0
      || reg_json_strv (body, "ExposedPorts", WHAT, &r->exposed, err) < 0
      || dup_string (body, "NetworkMode", &r->network_mode, err) < 0
      || dup_string (body, "Hostname", &r->hostname, err) < 0
      || dup_string (body, "Name", &r->name, err) < 0
      || dup_string (body, "WorkingDir", &r->workdir, err) < 0
      || dup_string (body, "Project", &r->project, err) < 0 || parse_mounts (body, r, err) < 0
      || apply_project_file (body, r, err) < 0)
    return -1;
  json_t *limits = json_object_get (body, "Limits");
  if (limits && !json_is_null (limits))
    {
      if (!json_is_object (limits))
        return reg_error_set (err, EINVAL, WHAT ": \"Limits\" must be an object");
      if (reg_limit_from_json (limits, WHAT ": Limits", &o->limits, err) < 0)
        return -1;
      if (o->limits.cpuset_cpus && (r->cpuset_cpus = strdup (o->limits.cpuset_cpus)) == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      o->limits.cpuset_cpus = r->cpuset_cpus;
    }
  if (parse_restart (body, &o->restart, err) < 0)
    return -1;
  json_t *lms = json_object_get (body, "LogMaxSize");
  if (lms && !json_is_null (lms))
    {
      if (!json_is_integer (lms))
        return reg_error_set (err, EINVAL, WHAT ": LogMaxSize must be an integer");
      o->log_max_size = json_integer_value (lms);
    }
  for (size_t i = 0; r->env && r->env[i]; i++)
    if (strchr (r->env[i], '=') == NULL || r->env[i][0] == '=')
      return reg_error_set (err, EINVAL, WHAT ": environment entry \"%s\" is not KEY=VALUE",
                            r->env[i]);
  if (parse_security (body, &o->security, &r->user, err) < 0 || parse_process (body, r, err) < 0)
    return -1;
  o->user = r->user;
  if (reg_json_strv (body, "GroupAdd", WHAT, &r->group_add, err) < 0)
    return -1;
  o->group_add = r->group_add;
  o->auto_remove = json_is_true (json_object_get (body, "AutoRemove"));
  /* reg.yaml's restart policy is for the service; a one-off `reg run --rm`
   * of the project does not take it (asked for in the request, the two
   * conflict: the engine refuses). */
  if (o->auto_remove && json_object_get (body, "RestartPolicy") == NULL)
    o->restart = (struct reg_restart){ REG_RESTART_NO, 0 };
  o->open_stdin = json_is_true (json_object_get (body, "OpenStdin"));
  o->tty = json_is_true (json_object_get (body, "Tty"));
  json_t *cs = json_object_get (body, "ConsoleSize");
  json_int_t rows = json_integer_value (json_array_get (cs, 0));
  json_int_t cols = json_integer_value (json_array_get (cs, 1));
  if (rows > 0 && rows < 10000 && cols > 0 && cols < 10000)
    {
      o->rows = (unsigned short)rows;
      o->cols = (unsigned short)cols;
    }
  o->name = r->name;
  o->templates = r->templates;
  o->cmd = r->cmd;
  o->env = r->env;
  o->workdir = r->workdir;
  o->project = r->project;
  o->mounts = r->mounts;
  o->n_mounts = r->n_mounts;
  o->publish_all = json_is_true (json_object_get (body, "PublishAllPorts"));
  o->exposed = r->exposed;
  o->ports = r->ports;
  o->network_mode = r->network_mode;
  o->hostname = r->hostname;
  o->dns = r->dns;
  o->dns_search = r->dns_search;
  o->extra_hosts = r->extra_hosts;
  o->aliases = r->aliases;
  return 0;
}

int
reg_request_create_parse (const char *text, size_t len, struct reg_create_request **out,
                          struct reg_error **err)
{
  json_t *body = reg_json_object_parse (text, len, WHAT, err);
  if (body == NULL)
    return -1;
  struct reg_create_request *r = calloc (1, sizeof *r);
  int ret = r ? parse_body (body, r, err) : reg_error_set (err, ENOMEM, "out of memory");
  json_decref (body);
  if (ret < 0)
    {
      reg_request_create_free (r);
      return -1;
    }
  *out = r;
  return 0;
}
