#include "image.h"
#include "health.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#define MAX_ENV 4096
#define MAX_ARGS 4096

static json_t *
load_object (const char *text, size_t len, const char *what, const char *which,
             struct reg_error **err)
{
  if (len > REG_OCI_MAX_CONFIG)
    {
      reg_error_set (err, EFBIG, "%s: %s of %zu bytes is over the %d byte bound", what, which, len,
                     REG_OCI_MAX_CONFIG);
      return NULL;
    }
  json_error_t jerr;
  json_t *j = json_loadb (text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (j == NULL || !json_is_object (j))
    {
      reg_error_set (err, EINVAL, "%s: %s is not a JSON object%s%s", what, which, j ? "" : ": ",
                     j ? "" : jerr.text);
      json_decref (j);
      return NULL;
    }
  return j;
}

const char *
reg_image_host_arch (void)
{
  struct utsname u;
  if (uname (&u) < 0)
    return "unknown";
  if (strcmp (u.machine, "x86_64") == 0)
    return "amd64";
  if (strcmp (u.machine, "aarch64") == 0)
    return "arm64";
  if (strncmp (u.machine, "armv7", 5) == 0)
    return "arm";
  if (strcmp (u.machine, "i686") == 0 || strcmp (u.machine, "i386") == 0)
    return "386";
  return u.machine[0] == 'p' ? "ppc64le" : u.machine[0] == 's' ? "s390x" : "riscv64";
}

int
reg_image_kind (const char *text, size_t len, const char *what, enum reg_image_kind *kind,
                struct reg_error **err)
{
  json_t *j = load_object (text, len, what, "manifest", err);
  if (j == NULL)
    return -1;
  const char *mt = json_string_value (json_object_get (j, "mediaType"));
  const char *cmt
      = json_string_value (json_object_get (json_object_get (j, "config"), "mediaType"));
  int ret = 0;
  if (json_integer_value (json_object_get (j, "schemaVersion")) != 2)
    ret = reg_error_set (err, EINVAL,
                         "%s: manifest schemaVersion is not 2 (Docker schema 1 is "
                         "not supported)",
                         what);
  else if ((mt && (strcmp (mt, REG_OCI_INDEX_TYPE) == 0 || strcmp (mt, REG_IMAGE_DOCKER_LIST) == 0))
           || (mt == NULL && json_is_array (json_object_get (j, "manifests"))))
    *kind = REG_IMAGE_INDEX;
  else if (cmt && strcmp (cmt, REG_OCI_TEMPLATE_TYPE) == 0)
    *kind = REG_IMAGE_TEMPLATE;
  else if (cmt
           && (strcmp (cmt, REG_IMAGE_OCI_CONFIG) == 0
               || strcmp (cmt, REG_IMAGE_DOCKER_CONFIG) == 0))
    *kind = REG_IMAGE_MANIFEST;
  else
    ret = reg_error_set (err, EINVAL,
                         "%s: neither a reg template nor an image (manifest media type %s, config "
                         "media type %s)",
                         what, mt ? mt : "(none)", cmt ? cmt : "(none)");
  json_decref (j);
  return ret;
}

void
reg_image_host_platform (struct reg_image_platform *p)
{
  static char variant[8];
  struct utsname u;
  p->arch = reg_image_host_arch ();
  p->variant = "";
  if (strcmp (p->arch, "arm64") == 0)
    p->variant = "v8";
  else if (strcmp (p->arch, "arm") == 0 && uname (&u) == 0 && u.machine[4] >= '5'
           && u.machine[4] <= '8')
    {
      snprintf (variant, sizeof variant, "v%c", u.machine[4]); /* "armv7l" */
      p->variant = variant;
    }
}

/* How well an index entry's platform fits p: 0 not at all, higher better.
 * arm: variant vK runs on a vN machine when K <= N (no variant is v7, as
 * containerd reads it), the nearest best; arm64: no variant or v8; other
 * architectures: the variant is not read. */
static int
platform_rank (const char *os, const char *arch, const char *variant,
               const struct reg_image_platform *p)
{
  if (os == NULL || arch == NULL || strcmp (os, "linux") != 0 || strcmp (arch, p->arch) != 0)
    return 0;
  const char *v = variant ? variant : "";
  if (strcmp (arch, "arm64") == 0)
    return *v == '\0' || strcmp (v, "v8") == 0;
  if (strcmp (arch, "arm") != 0)
    return 1;
  int have = *v ? (v[0] == 'v' && v[1] >= '5' && v[1] <= '8' && v[2] == '\0' ? v[1] - '0' : 0) : 7;
  int host = p->variant[0] == 'v' ? p->variant[1] - '0' : 7;
  return have > 0 && have <= host ? have : 0;
}

int
reg_image_index_select_for (const char *text, size_t len, const char *what,
                            const struct reg_image_platform *p, char hex[65],
                            struct reg_error **err)
{
  json_t *j = load_object (text, len, what, "index", err);
  if (j == NULL)
    return -1;
  json_t *list = json_object_get (j, "manifests");
  char seen[512] = "";
  size_t i, used = 0;
  json_t *m;
  int ret = -1, best = 0;
  json_array_foreach (list, i, m)
  {
    json_t *pf = json_object_get (m, "platform");
    const char *os = json_string_value (json_object_get (pf, "os"));
    const char *a = json_string_value (json_object_get (pf, "architecture"));
    const char *v = json_string_value (json_object_get (pf, "variant"));
    if (os && a && used < sizeof seen - 1)
      used += snprintf (seen + used, sizeof seen - used, "%s%s/%s%s%s", used ? ", " : "", os, a,
                        v && *v ? "/" : "", v && *v ? v : "");
    if (used >= sizeof seen)
      used = sizeof seen - 1;
    int rank = platform_rank (os, a, v, p);
    if (rank <= best)
      continue;
    if (!reg_oci_digest_parse (json_string_value (json_object_get (m, "digest")), hex))
      {
        ret = reg_error_set (err, EINVAL, "%s: index entry %zu has a malformed digest", what, i);
        break;
      }
    best = rank;
    ret = 0;
  }
  if (ret < 0 && (err == NULL || *err == NULL))
    ret = reg_error_set (err, ENOENT, "%s: no image for linux/%s%s%s in the index (it has: %s)",
                         what, p->arch, *p->variant ? "/" : "", p->variant,
                         *seen ? seen : "nothing");
  json_decref (j);
  return ret;
}

int
reg_image_index_select (const char *text, size_t len, const char *what, char hex[65],
                        struct reg_error **err)
{
  struct reg_image_platform p;
  reg_image_host_platform (&p);
  return reg_image_index_select_for (text, len, what, &p, hex, err);
}

static bool
layer_type_ok (const char *t)
{
  static const char *const ok[] = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
    if (strcmp (t, ok[i]) == 0)
      return true;
  return false;
}

int
reg_image_manifest_parse (const char *text, size_t len, const char *what,
                          struct reg_oci_manifest **out, struct reg_error **err)
{
  json_t *j = load_object (text, len, what, "manifest", err);
  if (j == NULL)
    return -1;
  struct reg_oci_manifest *m = calloc (1, sizeof *m);
  json_t *layers = json_object_get (j, "layers");
  int ret = 0;
  if (m == NULL)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  else if (reg_oci_desc_parse (json_object_get (j, "config"), what, "config", &m->config, err) < 0)
    ret = -1;
  else if (m->config.size > REG_OCI_MAX_CONFIG)
    ret = reg_error_set (err, EFBIG, "%s: config of %lld bytes is over the %d byte bound", what,
                         (long long)m->config.size, REG_OCI_MAX_CONFIG);
  else if (!json_is_array (layers) || json_array_size (layers) > 1000)
    ret = reg_error_set (err, EINVAL, "%s: manifest has no layers list (or over 1000 layers)",
                         what);
  else if ((m->layers = calloc (json_array_size (layers) + 1, sizeof *m->layers)) == NULL)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  size_t i;
  json_t *l;
  json_array_foreach (layers, i, l)
  {
    char which[32];
    snprintf (which, sizeof which, "layer %zu", i);
    if (ret < 0)
      break;
    m->n_layers = i + 1;
    if (reg_oci_desc_parse (l, what, which, &m->layers[i], err) < 0)
      ret = -1;
    else if (!layer_type_ok (m->layers[i].media_type))
      ret = reg_error_set (err, EINVAL,
                           "%s: %s has media type %s (want a tar, tar+gzip or tar+zstd layer; "
                           "foreign layers are not fetched)",
                           what, which, m->layers[i].media_type);
  }
  json_decref (j);
  if (ret < 0)
    {
      reg_oci_manifest_free (m);
      return -1;
    }
  *out = m;
  return 0;
}

/* A list of strings (or null) appended to *argv. */
static int
append_strings (json_t *v, const char *what, const char *field, char ***argv, size_t *n,
                struct reg_error **err)
{
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_array (v) || json_array_size (v) > MAX_ARGS)
    return reg_error_set (err, EINVAL, "%s: config %s is not a list of strings", what, field);
  size_t i;
  json_t *s;
  json_array_foreach (v, i, s)
  {
    if (!json_is_string (s))
      return reg_error_set (err, EINVAL, "%s: config %s is not a list of strings", what, field);
    char **grown = realloc (*argv, (*n + 2) * sizeof *grown);
    if (grown == NULL)
      return reg_error_set (err, ENOMEM, "out of memory");
    *argv = grown;
    grown[*n + 1] = NULL;
    if ((grown[*n] = strdup (json_string_value (s))) == NULL)
      return reg_error_set (err, ENOMEM, "out of memory");
    (*n)++;
  }
  return 0;
}

static bool
is_empty (json_t *v)
{
  return v == NULL || json_is_null (v) || (json_is_object (v) && json_object_size (v) == 0)
         || (json_is_array (v) && json_array_size (v) == 0)
         || (json_is_string (v) && json_string_value (v)[0] == '\0');
}

/* OnBuild (instructions for a later docker build) has no meaning at run
 * time and no place in a template: refused when set. */
static int
check_unsupported (json_t *c, const char *what, struct reg_error **err)
{
  if (!is_empty (json_object_get (c, "OnBuild")))
    return reg_error_set (err, EINVAL,
                          "%s: config OnBuild is set; reg does not carry it into a template "
                          "(docs/images.md)",
                          what);
  return 0;
}

/* WorkingDir and User: "/" and root are what a container has anyway. */
static int
apply_workdir_user (json_t *c, const char *what, struct reg_template *t, struct reg_error **err)
{
  const char *wd = json_string_value (json_object_get (c, "WorkingDir"));
  const char *user = json_string_value (json_object_get (c, "User"));
  if (wd && wd[0] && strcmp (wd, "/") != 0)
    {
      _cleanup_free_ char *clean = strdup (wd);
      size_t n = clean ? strlen (clean) : 0;
      while (n > 1 && clean[n - 1] == '/')
        clean[--n] = '\0';
      if (clean == NULL || !reg_util_path_is_clean (clean))
        return reg_error_set (err, EINVAL,
                              "%s: config WorkingDir \"%s\" is not an absolute, normalized path",
                              what, wd);
      t->workdir = reg_steal (&clean);
    }
  if (user && user[0] && strcmp (user, "root") != 0 && strcmp (user, "0") != 0
      && strcmp (user, "0:0") != 0 && strcmp (user, "root:root") != 0)
    {
      if (!reg_template_user_ok (user))
        return reg_error_set (err, EINVAL, "%s: config User \"%s\" is not NAME[:GROUP]", what,
                              user);
      if ((t->user = strdup (user)) == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
    }
  return 0;
}

/* Volumes {"/data": {}} and Labels {"k": "v"}. */
static int
apply_volumes_labels (json_t *c, const char *what, struct reg_template *t, struct reg_error **err)
{
  json_t *vols = json_object_get (c, "Volumes"), *labels = json_object_get (c, "Labels"), *v;
  const char *key;
  if ((!is_empty (vols) && !json_is_object (vols)) || json_object_size (vols) > 1024
      || (!is_empty (labels) && !json_is_object (labels)) || json_object_size (labels) > 4096)
    return reg_error_set (err, EINVAL, "%s: config Volumes or Labels is not a mapping", what);
  size_t n = 0;
  if (json_object_size (vols)
      && (t->volumes = calloc (json_object_size (vols) + 1, sizeof (char *))) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  json_object_foreach (vols, key, v)
  {
    if (!reg_util_path_is_clean (key))
      return reg_error_set (
          err, EINVAL, "%s: config Volumes \"%s\" is not an absolute, normalized path", what, key);
    if ((t->volumes[n++] = strdup (key)) == NULL)
      return reg_error_set (err, ENOMEM, "out of memory");
  }
  n = 0;
  if (json_object_size (labels)
      && (t->labels = calloc (json_object_size (labels) + 1, sizeof (char *))) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  json_object_foreach (labels, key, v)
  {
    if (!reg_template_label_key_ok (key) || !json_is_string (v))
      return reg_error_set (err, EINVAL,
                            "%s: config Labels \"%s\": not a label key (1-256 printable bytes, no "
                            "'=') with a string value",
                            what, key);
    if (asprintf (&t->labels[n++], "%s=%s", key, json_string_value (v)) < 0)
      return reg_error_set (err, ENOMEM, "out of memory");
  }
  return 0;
}

/* Healthcheck: Docker's, the same as reg's (health.h); ["NONE"] or no
 * Test is none. StartInterval (Docker 25) has no counterpart yet and is
 * not carried. */
static int
apply_healthcheck (json_t *c, const char *what, struct reg_template *t, struct reg_error **err)
{
  json_t *h = json_object_get (c, "Healthcheck");
  if (is_empty (h))
    return 0;
  if (!json_is_object (h))
    return reg_error_set (err, EINVAL, "%s: config Healthcheck is not an object", what);
  json_t *copy = json_deep_copy (h);
  json_object_del (copy, "StartInterval");
  _cleanup_free_ char *label = NULL;
  int ret = asprintf (&label, "%s: config Healthcheck", what) < 0
                ? reg_error_set (err, ENOMEM, "out of memory")
                : reg_health_check_from_json (copy, label, true, &t->healthcheck, err);
  json_decref (copy);
  if (ret == 0 && !reg_health_enabled (&t->healthcheck))
    reg_health_check_clear (&t->healthcheck);
  return ret;
}

static int
apply_env (json_t *v, const char *what, struct reg_template *t, struct reg_error **err)
{
  size_t n = 0;
  if (json_array_size (v) > MAX_ENV)
    return reg_error_set (err, EINVAL, "%s: config Env has over %d entries", what, MAX_ENV);
  if (append_strings (v, what, "Env", &t->env, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      const char *eq = strchr (t->env[i], '=');
      size_t k = eq ? (size_t)(eq - t->env[i]) : 0;
      bool ok
          = k > 0 && !(t->env[i][0] >= '0' && t->env[i][0] <= '9')
            && strspn (t->env[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
                   == k;
      if (!ok)
        return reg_error_set (err, EINVAL, "%s: config Env entry \"%s\" is not NAME=value", what,
                              t->env[i]);
    }
  return 0;
}

static int
apply_ports (json_t *v, const char *what, struct reg_template *t, struct reg_error **err)
{
  if (is_empty (v))
    return 0;
  if (!json_is_object (v) || json_object_size (v) > 1024)
    return reg_error_set (err, EINVAL, "%s: config ExposedPorts is not a mapping", what);
  t->expose = calloc (json_object_size (v) + 1, sizeof *t->expose);
  if (t->expose == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  size_t n = 0;
  const char *key;
  json_t *val;
  json_object_foreach (v, key, val)
  {
    char port[32];
    snprintf (port, sizeof port, "%s%s", key, strchr (key, '/') ? "" : "/tcp");
    if (!reg_template_port_ok (port))
      return reg_error_set (err, EINVAL,
                            "%s: config ExposedPorts \"%s\" is not PORT/tcp or "
                            "PORT/udp",
                            what, key);
    if ((t->expose[n++] = strdup (port)) == NULL)
      return reg_error_set (err, ENOMEM, "out of memory");
  }
  return 0;
}

static int
apply_run_defaults (json_t *c, const char *what, struct reg_template *t, struct reg_error **err)
{
  if (check_unsupported (c, what, err) < 0)
    return -1;
  size_t n = 0;
  if (append_strings (json_object_get (c, "Entrypoint"), what, "Entrypoint", &t->entrypoint, &n,
                      err)
          < 0
      || append_strings (json_object_get (c, "Cmd"), what, "Cmd", &t->entrypoint, &n, err) < 0)
    return -1;
  if (n > 0 && t->entrypoint[0][0] == '\0')
    return reg_error_set (err, EINVAL, "%s: config Entrypoint/Cmd: the program is empty", what);
  if (apply_env (json_object_get (c, "Env"), what, t, err) < 0
      || apply_ports (json_object_get (c, "ExposedPorts"), what, t, err) < 0
      || apply_workdir_user (c, what, t, err) < 0 || apply_volumes_labels (c, what, t, err) < 0
      || apply_healthcheck (c, what, t, err) < 0)
    return -1;
  const char *sig = json_string_value (json_object_get (c, "StopSignal"));
  if (sig && sig[0] && (t->stop_signal = reg_util_signal_number (sig)) <= 0)
    return reg_error_set (err, EINVAL, "%s: config StopSignal \"%s\" is not a signal", what, sig);
  return 0;
}

int
reg_image_config_apply (const char *text, size_t len, const char *what, struct reg_template *t,
                        size_t *n_diff_ids, struct reg_error **err)
{
  json_t *j = load_object (text, len, what, "image config", err);
  if (j == NULL)
    return -1;
  const char *os = json_string_value (json_object_get (j, "os"));
  const char *arch = json_string_value (json_object_get (j, "architecture"));
  json_t *diff_ids = json_object_get (json_object_get (j, "rootfs"), "diff_ids");
  json_t *c = json_object_get (j, "config");
  int ret = 0;
  if (os == NULL || strcmp (os, "linux") != 0 || arch == NULL
      || strcmp (arch, reg_image_host_arch ()) != 0)
    ret = reg_error_set (err, EINVAL, "%s: image for %s/%s, not linux/%s", what,
                         os ? os : "(no os)", arch ? arch : "(no architecture)",
                         reg_image_host_arch ());
  else if (!json_is_array (diff_ids))
    ret = reg_error_set (err, EINVAL, "%s: image config has no rootfs.diff_ids", what);
  else if (c != NULL && !json_is_null (c) && !json_is_object (c))
    ret = reg_error_set (err, EINVAL, "%s: image config \"config\" is not an object", what);
  else if (c != NULL && json_is_object (c))
    ret = apply_run_defaults (c, what, t, err);
  if (ret == 0)
    *n_diff_ids = json_array_size (diff_ids);
  json_decref (j);
  return ret;
}

int
reg_image_template_ref (const struct reg_oci_ref *ref, char **name, char **version,
                        struct reg_error **err)
{
  char *n = strdup (ref->repo);
  char *v = NULL;
  if (n == NULL
      || (ref->digest ? asprintf (&v, "sha256-%s", ref->digest + 7) : asprintf (&v, "%s", ref->tag))
             < 0)
    {
      free (n);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  for (char *p = n; *p; p++)
    if (*p == '/')
      *p = '.';
  if (!reg_template_name_ok (n) || !reg_template_version_ok (v))
    {
      reg_error_set (err, EINVAL, "image %s:%s cannot be named as template %s@%s", ref->repo,
                     ref->tag, n, v);
      free (n);
      free (v);
      return -1;
    }
  *name = n;
  *version = v;
  return 0;
}
