#include "oci.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

/* The Distribution reference grammar, as POSIX extended regular expressions. */
#define PATH_COMPONENT "[a-z0-9]+(([._]|__|[-]+)[a-z0-9]+)*"
#define REPO_RE "^" PATH_COMPONENT "(/" PATH_COMPONENT ")*$"
#define HOST_RE "^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$"
#define TAG_RE "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"

enum
{
  RE_REPO,
  RE_HOST,
  RE_TAG,
  RE_COUNT
};
/* Compiled once per process (regexec on one regex_t is thread-safe in glibc)
 * and kept for its life. */
static regex_t compiled[RE_COUNT];
static bool compiled_ok;
static pthread_once_t compile_once = PTHREAD_ONCE_INIT;

static void
compile_all (void)
{
  static const char *const patterns[RE_COUNT] = { REPO_RE, HOST_RE, TAG_RE };
  compiled_ok = true;
  for (int i = 0; i < RE_COUNT; i++)
    compiled_ok = regcomp (&compiled[i], patterns[i], REG_EXTENDED | REG_NOSUB) == 0 && compiled_ok;
}

static bool
matches (int which, const char *s)
{
  pthread_once (&compile_once, compile_all);
  return compiled_ok && regexec (&compiled[which], s, 0, NULL, 0) == 0;
}

bool
reg_oci_tag_ok (const char *tag)
{
  return matches (RE_TAG, tag);
}

bool
reg_oci_repo_ok (const char *repo)
{
  return matches (RE_REPO, repo);
}

void
reg_oci_ref_free (struct reg_oci_ref *r)
{
  if (r == NULL)
    return;
  free (r->host);
  free (r->repo);
  free (r->tag);
  free (r->digest);
  free (r);
}

int
reg_oci_ref_parse (const char *text, struct reg_oci_ref **out, struct reg_error **err)
{
  /* Docker's bound is on the name (host and repository): 255. The whole
   * text adds at most a tag (128) and a digest (71), so 512 bounds it; a
   * bound on the text alone would refuse the printed form (":latest"
   * added) of a name it accepted (found by fuzz_oci_ref). */
  if (text == NULL || *text == '\0' || strlen (text) > 512)
    return reg_error_set (err, EINVAL, "reference \"%s\": empty or longer than 512 characters",
                          text ? text : "");
  _cleanup_free_ char *copy = strdup (text);
  if (copy == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  char *rest = copy, *host = NULL;
  char *slash = strchr (copy, '/');
  if (slash != NULL)
    {
      *slash = '\0';
      if (strchr (copy, '.') || strchr (copy, ':') || strcmp (copy, "localhost") == 0)
        {
          host = copy;
          rest = slash + 1;
        }
      else
        *slash = '/';
    }
  const char *digest = NULL;
  char *at = strchr (rest, '@');
  char hex[65];
  if (at != NULL)
    {
      *at = '\0';
      digest = at + 1;
      if (!reg_oci_digest_parse (digest, hex))
        return reg_error_set (err, EINVAL,
                              "reference \"%s\": malformed digest \"%s\" (want sha256:<64 hex>)",
                              text, digest);
    }
  const char *tag = "latest";
  char *colon = strrchr (rest, ':');
  if (colon != NULL)
    {
      *colon = '\0';
      tag = colon + 1;
    }
  if (host != NULL && !matches (RE_HOST, host))
    return reg_error_set (err, EINVAL, "reference \"%s\": malformed registry host \"%s\"", text,
                          host);
  if (!matches (RE_REPO, rest))
    return reg_error_set (
        err, EINVAL,
        "reference \"%s\": malformed repository \"%s\" (lower-case letters, digits, "
        "separators . _ - and /)",
        text, rest);
  if (!reg_oci_tag_ok (tag))
    return reg_error_set (err, EINVAL, "reference \"%s\": malformed tag \"%s\"", text, tag);
  if ((host ? strlen (host) + 1 : 0) + strlen (rest) > 255)
    return reg_error_set (err, EINVAL,
                          "reference \"%s\": name (registry host and repository) longer than "
                          "255 characters",
                          text);
  struct reg_oci_ref *r = calloc (1, sizeof *r);
  if (r == NULL || (host && (r->host = strdup (host)) == NULL) || (r->repo = strdup (rest)) == NULL
      || (r->tag = strdup (tag)) == NULL || (digest && (r->digest = strdup (digest)) == NULL))
    {
      reg_oci_ref_free (r);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  *out = r;
  return 0;
}

char *
reg_oci_ref_string (const struct reg_oci_ref *r)
{
  char *s = NULL;
  if (asprintf (&s, "%s%s%s%s%s", r->host ? r->host : "", r->host ? "/" : "", r->repo,
                r->digest ? "@" : ":", reg_oci_ref_reference (r))
      < 0)
    return NULL;
  return s;
}

const char *
reg_oci_ref_reference (const struct reg_oci_ref *r)
{
  return r->digest ? r->digest : r->tag;
}

int
reg_oci_ref_sibling (const struct reg_oci_ref *r, const char *name, const char *version,
                     struct reg_oci_ref **out, struct reg_error **err)
{
  _cleanup_free_ char *tag = strdup (version), *text = NULL;
  if (tag == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  for (char *p = tag; *p; p++)
    if (*p == '+')
      *p = '_';
  const char *last = strrchr (r->repo, '/');
  int parent = last ? (int)(last - r->repo) + 1 : 0;
  if (asprintf (&text, "%s%s%.*s%s:%s", r->host ? r->host : "", r->host ? "/" : "", parent, r->repo,
                name, tag)
      < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  return reg_oci_ref_parse (text, out, err);
}

bool
reg_oci_digest_parse (const char *s, char hex[65])
{
  if (s == NULL || strncmp (s, "sha256:", 7) != 0 || !reg_util_is_sha256_hex (s + 7))
    return false;
  memcpy (hex, s + 7, 65);
  return true;
}

void
reg_oci_manifest_free (struct reg_oci_manifest *m)
{
  if (m == NULL)
    return;
  free (m->config.media_type);
  free (m->config.lib);
  for (size_t i = 0; i < m->n_layers; i++)
    {
      free (m->layers[i].media_type);
      free (m->layers[i].lib);
    }
  free (m->layers);
  free (m->template_ref);
  free (m);
}

/* The org.reg.mtime annotation: decimal seconds in 1..UINT32_MAX, or none. */
static int
mtime_parse (json_t *j, const char *what, const char *which, struct reg_oci_desc *d,
             struct reg_error **err)
{
  json_t *v_json = json_object_get (json_object_get (j, "annotations"), REG_OCI_ANNOTATION_MTIME);
  if (v_json == NULL)
    return 0;
  const char *text = json_is_string (v_json) ? json_string_value (v_json) : "";
  char *end = NULL;
  errno = 0;
  long long v = strtoll (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v <= 0 || v > (long long)UINT32_MAX)
    return reg_error_set (err, EINVAL, "%s: %s has a malformed %s annotation \"%.32s\"", what,
                          which, REG_OCI_ANNOTATION_MTIME, text);
  d->mtime = v;
  return 0;
}

int
reg_oci_desc_parse (json_t *j, const char *what, const char *which, struct reg_oci_desc *d,
                    struct reg_error **err)
{
  const char *mt = json_string_value (json_object_get (j, "mediaType"));
  const char *digest = json_string_value (json_object_get (j, "digest"));
  json_t *size = json_object_get (j, "size");
  if (!json_is_object (j) || mt == NULL)
    return reg_error_set (err, EINVAL, "%s: %s has no mediaType", what, which);
  if (!reg_oci_digest_parse (digest, d->digest))
    return reg_error_set (err, EINVAL,
                          "%s: %s has a malformed digest \"%s\" (want sha256:<64 hex>)", what,
                          which, digest ? digest : "");
  if (!json_is_integer (size) || json_integer_value (size) < 0
      || json_integer_value (size) > REG_OCI_MAX_BLOB)
    return reg_error_set (err, EINVAL, "%s: %s sha256:%s has a missing or out-of-range size", what,
                          which, d->digest);
  d->size = json_integer_value (size);
  if ((d->media_type = strdup (mt)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  const char *lib = json_string_value (
      json_object_get (json_object_get (j, "annotations"), REG_OCI_ANNOTATION_LIB));
  if (lib && (d->lib = strdup (lib)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  return mtime_parse (j, what, which, d, err);
}

static int
parse_checked (json_t *j, const char *what, struct reg_oci_manifest *m, struct reg_error **err)
{
  const char *mt = json_string_value (json_object_get (j, "mediaType"));
  json_t *config = json_object_get (j, "config");
  const char *config_mt = json_string_value (json_object_get (config, "mediaType"));
  if (json_integer_value (json_object_get (j, "schemaVersion")) != 2)
    return reg_error_set (err, EINVAL, "%s: manifest schemaVersion is not 2", what);
  if (mt != NULL && strcmp (mt, REG_OCI_MANIFEST_TYPE) != 0)
    return reg_error_set (err, EINVAL,
                          "%s: manifest of media type %s is not a reg template (want %s)", what, mt,
                          REG_OCI_MANIFEST_TYPE);
  if (config_mt == NULL || strcmp (config_mt, REG_OCI_TEMPLATE_TYPE) != 0)
    return reg_error_set (err, EINVAL,
                          "%s: config of media type %s is not a reg template (want %s)", what,
                          config_mt ? config_mt : "(none)", REG_OCI_TEMPLATE_TYPE);
  if (reg_oci_desc_parse (config, what, "config", &m->config, err) < 0)
    return -1;
  if (m->config.size > REG_OCI_MAX_CONFIG)
    return reg_error_set (err, EFBIG, "%s: config of %lld bytes is over the %d byte bound", what,
                          (long long)m->config.size, REG_OCI_MAX_CONFIG);
  json_t *layers = json_object_get (j, "layers");
  if (!json_is_array (layers) || json_array_size (layers) > REG_OCI_MAX_LAYERS)
    return reg_error_set (err, EINVAL, "%s: manifest has no layers list (or over %d layers)", what,
                          REG_OCI_MAX_LAYERS);
  m->layers = calloc (json_array_size (layers) + 1, sizeof *m->layers);
  if (m->layers == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  size_t i;
  json_t *l;
  json_array_foreach (layers, i, l)
  {
    char which[32];
    snprintf (which, sizeof which, "layer %zu", i);
    m->n_layers = i + 1;
    if (reg_oci_desc_parse (l, what, which, &m->layers[i], err) < 0)
      return -1;
    const char *lt = m->layers[i].media_type;
    if (strcmp (lt, REG_OCI_LIB_TYPE) != 0 && strcmp (lt, REG_OCI_FILES_TYPE) != 0
        && strcmp (lt, REG_OCI_FILE_TYPE) != 0)
      return reg_error_set (err, EINVAL,
                            "%s: %s has media type %s, not a reg lib, file or files blob", what,
                            which, lt);
  }
  const char *tref = json_string_value (
      json_object_get (json_object_get (j, "annotations"), REG_OCI_ANNOTATION_TEMPLATE));
  if (tref && (m->template_ref = strdup (tref)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  return 0;
}

int
reg_oci_manifest_parse (const char *text, size_t len, const char *what,
                        struct reg_oci_manifest **out, struct reg_error **err)
{
  if (len > REG_OCI_MAX_MANIFEST)
    return reg_error_set (err, EFBIG, "%s: manifest of %zu bytes is over the %d byte bound", what,
                          len, REG_OCI_MAX_MANIFEST);
  json_error_t jerr;
  json_t *j = json_loadb (text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (j == NULL || !json_is_object (j))
    {
      json_decref (j);
      return reg_error_set (err, EINVAL, "%s: manifest is not a JSON object%s%s", what,
                            j ? "" : ": ", j ? "" : jerr.text);
    }
  struct reg_oci_manifest *m = calloc (1, sizeof *m);
  if (m == NULL)
    {
      json_decref (j);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  int ret = parse_checked (j, what, m, err);
  json_decref (j);
  if (ret < 0)
    {
      reg_oci_manifest_free (m);
      return -1;
    }
  *out = m;
  return 0;
}

static json_t *
desc_json (const struct reg_oci_desc *d)
{
  char digest[72];
  snprintf (digest, sizeof digest, "sha256:%s", d->digest);
  json_t *j = json_pack ("{s:s, s:s, s:I}", "mediaType", d->media_type, "digest", digest, "size",
                         (json_int_t)d->size);
  if (j && d->lib)
    json_object_set_new (j, "annotations", json_pack ("{s:s}", REG_OCI_ANNOTATION_LIB, d->lib));
  if (j && d->mtime > 0)
    {
      char text[24];
      snprintf (text, sizeof text, "%lld", (long long)d->mtime);
      json_object_set_new (j, "annotations", json_pack ("{s:s}", REG_OCI_ANNOTATION_MTIME, text));
    }
  return j;
}

char *
reg_oci_manifest_build (const struct reg_oci_manifest *m)
{
  json_t *layers = json_array ();
  for (size_t i = 0; layers && i < m->n_layers; i++)
    json_array_append_new (layers, desc_json (&m->layers[i]));
  json_t *j = json_pack ("{s:i, s:s, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType",
                         REG_OCI_MANIFEST_TYPE, "artifactType", REG_OCI_TEMPLATE_TYPE, "config",
                         desc_json (&m->config), "layers", layers);
  if (j && m->template_ref)
    json_object_set_new (j, "annotations",
                         json_pack ("{s:s}", REG_OCI_ANNOTATION_TEMPLATE, m->template_ref));
  char *text = j ? json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref (j);
  return text;
}
