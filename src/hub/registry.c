/* registry: the hub's embedded, read-only OCI registry (registry.h). */
#include "registry.h"
#include "auth.h"
#include "hub.h"
#include "layout.h"
#include "oci.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEY_LEN 32
#define NAME_MAX_LEN 255
#define TAGS_MAX_PAGE 10000

struct hub_registry
{
  struct reg_layout *layout;
  unsigned char key[KEY_LEN];
};

/* ---- opening ---- */

static int
load_key (struct hub_registry *reg, const char *data_dir, struct reg_error **err)
{
  _cleanup_free_ char *path = NULL, *text = NULL;
  size_t len = 0;
  if (asprintf (&path, "%s/registry.key", data_dir) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (access (path, F_OK) != 0)
    {
      char hex[2 * KEY_LEN + 1];
      if (RAND_bytes (reg->key, KEY_LEN) != 1)
        return reg_error_set (err, EIO, "registry key %s: no random bytes", path);
      reg_util_hex (reg->key, KEY_LEN, hex);
      int rc = reg_util_write_atomic (path, hex, 2 * KEY_LEN, 0600, err);
      explicit_bzero (hex, sizeof hex);
      return rc;
    }
  if (reg_util_read_file (path, 256, &text, &len, err) < 0)
    return reg_error_prefix (err, "registry key");
  bool ok = len >= 2 * KEY_LEN;
  for (size_t i = 0; ok && i < KEY_LEN; i++)
    {
      unsigned v;
      ok = sscanf (text + 2 * i, "%2x", &v) == 1;
      reg->key[i] = (unsigned char)v;
    }
  explicit_bzero (text, len);
  if (!ok)
    return reg_error_set (err, EINVAL,
                          "registry key %s: not %d hex bytes (remove it to make a new one)", path,
                          KEY_LEN);
  return 0;
}

int
hub_registry_open (const char *data_dir, struct hub_registry **out, struct reg_error **err)
{
  _cleanup_free_ char *dir = NULL;
  struct hub_registry *reg = calloc (1, sizeof *reg);
  if (reg == NULL || asprintf (&dir, "%s/registry", data_dir) < 0)
    {
      free (reg);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  if (reg_util_mkdir_p (data_dir, 0700, err) < 0 || load_key (reg, data_dir, err) < 0
      || reg_layout_open (dir, &reg->layout, err) < 0)
    {
      hub_registry_free (reg);
      return reg_error_prefix (err, "reg-hub registry");
    }
  *out = reg;
  return 0;
}

void
hub_registry_free (struct hub_registry *reg)
{
  if (reg == NULL)
    return;
  reg_layout_free (reg->layout);
  explicit_bzero (reg->key, sizeof reg->key);
  free (reg);
}

const char *
hub_registry_dir (const struct hub_registry *reg)
{
  return reg->layout->dir;
}

/* ---- credentials and tokens ---- */

/* HMAC-SHA256 of msg under the registry key, as hex. */
static void
mac (const struct hub_registry *reg, const char *msg, char out[65])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (HMAC (EVP_sha256 (), reg->key, KEY_LEN, (const unsigned char *)msg, strlen (msg), md, &len)
      == NULL)
    len = 0;
  reg_util_hex (md, len, out);
  out[2 * len] = '\0';
}

static void
device_secret (const struct hub_registry *reg, int64_t id, int64_t created, char out[65])
{
  char msg[96];
  snprintf (msg, sizeof msg, "device-pull\n%" PRId64 "\n%" PRId64, id, created);
  mac (reg, msg, out);
}

int
hub_registry_device_credential (const struct hub_registry *reg, json_t *device, char **user,
                                char **password, struct reg_error **err)
{
  json_int_t id = json_integer_value (json_object_get (device, "Id"));
  json_int_t created = json_integer_value (json_object_get (device, "Created"));
  char secret[65];
  if (id <= 0)
    return reg_error_set (err, EINVAL, "registry credential: not a device row");
  device_secret (reg, id, created, secret);
  *user = *password = NULL;
  if (asprintf (user, "device-%lld", (long long)id) < 0
      || asprintf (password, "rdp_%s", secret) < 0)
    {
      free (*user);
      *user = NULL;
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  return 0;
}

/* "device-ID" -> ID, or 0. */
static int64_t
device_user (const char *user)
{
  if (strncmp (user, "device-", 7) != 0 || user[7] < '1' || user[7] > '9')
    return 0;
  char *end = NULL;
  errno = 0;
  long long id = strtoll (user + 7, &end, 10);
  return errno || *end != '\0' ? 0 : (int64_t)id;
}

/* A pull token: KIND.SUBJECT.EXPIRY.MAC, KIND "d" (SUBJECT a device id,
 * the MAC also over its creation time) or "t" (SUBJECT the SHA-256 of an
 * API token, which its holder presented). */
static char *
token_make (const struct hub_registry *reg, char kind, const char *subject, int64_t extra,
            int64_t expires)
{
  char msg[256], sig[65];
  snprintf (msg, sizeof msg, "pull-token\n%c\n%s\n%" PRId64 "\n%" PRId64, kind, subject, extra,
            expires);
  mac (reg, msg, sig);
  char *t = NULL;
  return asprintf (&t, "%c.%s.%" PRId64 ".%s", kind, subject, expires, sig) < 0 ? NULL : t;
}

/* Who the credentials are, as a pull token; NULL when they are wrong. */
static char *
token_for_credentials (struct hub *h, const char *user, const char *password)
{
  const struct hub_registry *reg = h->registry;
  int64_t expires = hub_now () + HUB_REGISTRY_TOKEN_TTL;
  int64_t id = device_user (user);
  if (id > 0)
    {
      json_t *dev = hub_store_device_get (h->store, id, 0);
      char want[70], secret[65];
      if (dev == NULL)
        return NULL;
      json_int_t created = json_integer_value (json_object_get (dev, "Created"));
      json_decref (dev);
      device_secret (reg, id, created, secret);
      snprintf (want, sizeof want, "rdp_%s", secret);
      char subject[32];
      snprintf (subject, sizeof subject, "%" PRId64, id);
      return hub_auth_equal (password, want) ? token_make (reg, 'd', subject, created, expires)
                                             : NULL;
    }
  if (strncmp (password, "rht_", 4) != 0)
    return NULL;
  char key[65];
  hub_auth_key (password, key);
  json_t *owner = hub_store_token_get (h->store, key, hub_now ());
  const char *name = json_string_value (json_object_get (owner, "Name"));
  bool ok = name && strcmp (name, user) == 0;
  json_decref (owner);
  return ok ? token_make (reg, 't', key, 0, expires) : NULL;
}

/* Whether a pull token is genuine, unexpired, and its holder still there. */
static bool
token_valid (struct hub *h, const char *token)
{
  char kind, subject[72], sig[72];
  long long expires;
  int used = 0;
  if (strlen (token) > 200
      || sscanf (token, "%c.%71[0-9a-f].%lld.%71[0-9a-f]%n", &kind, subject, &expires, sig, &used)
             != 4
      || token[used] != '\0' || expires < hub_now ())
    return false;
  int64_t extra = 0;
  if (kind == 'd')
    {
      char *end = NULL;
      json_t *dev = hub_store_device_get (h->store, strtoll (subject, &end, 10), 0);
      if (dev == NULL)
        return false;
      extra = json_integer_value (json_object_get (dev, "Created"));
      json_decref (dev);
    }
  else if (kind == 't')
    {
      json_t *owner = hub_store_token_get (h->store, subject, hub_now ());
      if (owner == NULL)
        return false;
      json_decref (owner);
    }
  else
    return false;
  _cleanup_free_ char *want = token_make (h->registry, kind, subject, extra, expires);
  return want && hub_auth_equal (token, want);
}

/* ---- replies ---- */

/* Queue resp (consumed) with the distribution API's headers. */
static enum MHD_Result
reply (struct hub_req *r, unsigned status, const char *content_type, struct MHD_Response *resp)
{
  if (resp == NULL)
    return MHD_NO;
  MHD_add_response_header (resp, "Docker-Distribution-API-Version", "registry/2.0");
  if (content_type)
    MHD_add_response_header (resp, "Content-Type", content_type);
  return hub_queue (r, status, resp);
}

/* A response of text (allocated; taken), or NULL. */
static struct MHD_Response *
response_of (char *text)
{
  struct MHD_Response *resp
      = text ? MHD_create_response_from_buffer (strlen (text), text, MHD_RESPMEM_MUST_FREE) : NULL;
  if (resp == NULL)
    free (text);
  return resp;
}

static enum MHD_Result
reply_json (struct hub_req *r, unsigned status, json_t *j)
{
  char *text = json_dumps (j, JSON_COMPACT);
  json_decref (j);
  return reply (r, status, "application/json", response_of (text));
}

/* The distribution API's error body. */
static enum MHD_Result reply_error (struct hub_req *r, unsigned status, const char *code,
                                    const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

static enum MHD_Result
reply_error (struct hub_req *r, unsigned status, const char *code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  _cleanup_free_ char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  return reply_json (
      r, status,
      json_pack ("{s:[{s:s, s:s}]}", "errors", "code", code, "message", msg ? msg : code));
}

/* The realm: this hub as the client reached it (its Host header, when it
 * is a plain host[:port]), else the listen address. */
static char *
realm (struct hub_req *r)
{
  const char *host = MHD_lookup_connection_value (r->conn, MHD_HEADER_KIND, "Host");
  bool ok = host && *host && strlen (host) < 256;
  for (const char *c = host; ok && *c; c++)
    ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')
         || strchr (".-:[]", *c);
  char *out = NULL;
  return asprintf (&out, "https://%s/v2/token", ok ? host : r->hub->cfg.listen) < 0 ? NULL : out;
}

static enum MHD_Result
reply_challenge (struct hub_req *r, const char *repo, const char *why)
{
  _cleanup_free_ char *where = realm (r), *challenge = NULL;
  if (where == NULL
      || asprintf (&challenge, "Bearer realm=\"%s\",service=\"%s\"%s%s%s", where,
                   HUB_REGISTRY_SERVICE, repo ? ",scope=\"repository:" : "", repo ? repo : "",
                   repo ? ":pull\"" : "")
             < 0)
    return MHD_NO;
  json_t *j = json_pack ("{s:[{s:s, s:s}]}", "errors", "code", "UNAUTHORIZED", "message", why);
  struct MHD_Response *resp = response_of (json_dumps (j, JSON_COMPACT));
  json_decref (j);
  if (resp)
    MHD_add_response_header (resp, "WWW-Authenticate", challenge);
  return reply (r, MHD_HTTP_UNAUTHORIZED, "application/json", resp);
}

/* ---- the token endpoint ---- */

static enum MHD_Result
serve_token (struct hub_req *r)
{
  char *password = NULL;
  char *user = MHD_basic_auth_get_username_password (r->conn, &password);
  _cleanup_free_ char *token = NULL;
  if (user && password && *user && *password)
    token = token_for_credentials (r->hub, user, password);
  if (password)
    {
      explicit_bzero (password, strlen (password));
      MHD_free (password);
    }
  bool anonymous = user == NULL;
  if (user)
    MHD_free (user);
  if (token == NULL)
    {
      json_t *j = json_pack (
          "{s:[{s:s, s:s}]}", "errors", "code", anonymous ? "UNAUTHORIZED" : "DENIED", "message",
          anonymous ? "reg-hub registry: credentials required (a device's pull credential, or "
                      "your user name and an API token)"
                    : "reg-hub registry: wrong credentials (a device's pull credential, or "
                      "your user name and an API token)");
      struct MHD_Response *resp = response_of (json_dumps (j, JSON_COMPACT));
      json_decref (j);
      if (resp)
        MHD_add_response_header (resp, "WWW-Authenticate",
                                 "Basic realm=\"" HUB_REGISTRY_SERVICE "\"");
      return reply (r, MHD_HTTP_UNAUTHORIZED, "application/json", resp);
    }
  char issued[32];
  time_t now = time (NULL);
  struct tm tm;
  strftime (issued, sizeof issued, "%Y-%m-%dT%H:%M:%SZ", gmtime_r (&now, &tm));
  return reply_json (r, MHD_HTTP_OK,
                     json_pack ("{s:s, s:s, s:i, s:s}", "token", token, "access_token", token,
                                "expires_in", HUB_REGISTRY_TOKEN_TTL, "issued_at", issued));
}

/* ---- reads ---- */

static bool
repo_ok (const char *repo)
{
  return strlen (repo) <= NAME_MAX_LEN && reg_oci_repo_ok (repo);
}

static bool
repo_known (struct hub_req *r, const char *repo)
{
  char **tags = NULL;
  _cleanup_error_ struct reg_error *err = NULL;
  if (reg_layout_tags (r->hub->registry->layout, repo, &tags, &err) < 0)
    return false;
  bool any = tags[0] != NULL;
  reg_strv_free (tags);
  return any;
}

static enum MHD_Result
serve_manifest (struct hub_req *r, const char *repo, const char *ref)
{
  char hex[65];
  bool digest = strncmp (ref, "sha256:", 7) == 0;
  if (digest && !reg_oci_digest_parse (ref, hex))
    return reply_error (r, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID",
                        "%s@%s: a digest is sha256:<64 lowercase hex>", repo, ref);
  if (!digest && !reg_oci_tag_ok (ref))
    return reply_error (r, MHD_HTTP_BAD_REQUEST, "TAG_INVALID", "%s:%s: not a valid tag", repo,
                        ref);
  _cleanup_error_ struct reg_error *err = NULL;
  char *text = NULL;
  size_t len = 0;
  if (reg_layout_get_manifest (r->hub->registry->layout, repo, ref, &text, &len, &err) < 0)
    {
      if (err->code == ENOENT)
        return reply_error (r, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", "%s%s%s: unknown manifest",
                            repo, digest ? "@" : ":", ref);
      fprintf (stderr, "reg-hub: registry: %s\n", err->msg);
      return reply_error (r, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "%s%s%s: cannot be read",
                          repo, digest ? "@" : ":", ref);
    }
  unsigned char raw[32];
  char sum[80], got[65];
  EVP_Digest (text, len, raw, NULL, EVP_sha256 (), NULL);
  reg_util_hex (raw, 32, got);
  snprintf (sum, sizeof sum, "sha256:%s", got);
  json_t *j = json_loadb (text, len, 0, NULL);
  const char *declared = json_string_value (json_object_get (j, "mediaType"));
  char type[128];
  snprintf (type, sizeof type, "%s", declared ? declared : REG_OCI_MANIFEST_TYPE);
  json_decref (j);
  struct MHD_Response *resp = MHD_create_response_from_buffer (len, text, MHD_RESPMEM_MUST_FREE);
  if (resp == NULL)
    {
      free (text);
      return MHD_NO;
    }
  MHD_add_response_header (resp, "Docker-Content-Digest", sum);
  return reply (r, MHD_HTTP_OK, type, resp);
}

/* A blob on its way out, hashed as it goes. */
struct blob_stream
{
  int fd;
  EVP_MD_CTX *ctx;
  uint64_t size, sent;
  char hex[65];
};

static ssize_t
blob_reader (void *cls, uint64_t pos, char *buf, size_t max)
{
  struct blob_stream *s = cls;
  if (s->sent >= s->size)
    return MHD_CONTENT_READER_END_OF_STREAM;
  size_t want = s->size - s->sent < max ? (size_t)(s->size - s->sent) : max;
  ssize_t got;
  do
    got = pread (s->fd, buf, want, (off_t)s->sent);
  while (got < 0 && errno == EINTR);
  if (got <= 0 || EVP_DigestUpdate (s->ctx, buf, (size_t)got) != 1)
    return MHD_CONTENT_READER_END_WITH_ERROR;
  s->sent += (uint64_t)got;
  if (s->sent == s->size)
    {
      /* The last bytes go only if the whole blob matches its digest. */
      unsigned char raw[32];
      char hex[65];
      EVP_DigestFinal_ex (s->ctx, raw, NULL);
      reg_util_hex (raw, 32, hex);
      if (strcmp (hex, s->hex) != 0)
        {
          fprintf (stderr,
                   "reg-hub: registry: blob sha256:%s has digest sha256:%s: not sent (the "
                   "layout is damaged)\n",
                   s->hex, hex);
          return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
  return got;
}

static void
blob_free (void *cls)
{
  struct blob_stream *s = cls;
  close (s->fd);
  EVP_MD_CTX_free (s->ctx);
  free (s);
}

static enum MHD_Result
serve_blob (struct hub_req *r, const char *repo, const char *digest)
{
  char hex[65];
  if (!reg_oci_digest_parse (digest, hex))
    return reply_error (r, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID",
                        "%s: blob %s: a digest is sha256:<64 lowercase hex>", repo, digest);
  if (!repo_known (r, repo))
    return reply_error (r, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN", "%s: no such repository", repo);
  _cleanup_free_ char *path = reg_layout_blob_path (r->hub->registry->layout, hex);
  int fd = path ? open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      if (fd >= 0)
        close (fd);
      return reply_error (r, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN", "%s: blob %s: unknown blob", repo,
                          digest);
    }
  struct blob_stream *s = calloc (1, sizeof *s);
  if (s == NULL || (s->ctx = EVP_MD_CTX_new ()) == NULL
      || EVP_DigestInit_ex (s->ctx, EVP_sha256 (), NULL) != 1)
    {
      close (fd);
      if (s)
        EVP_MD_CTX_free (s->ctx);
      free (s);
      return MHD_NO;
    }
  s->fd = fd;
  s->size = (uint64_t)st.st_size;
  memcpy (s->hex, hex, sizeof hex);
  if (s->size == 0) /* nothing to stream, so check here */
    {
      unsigned char raw[32];
      char got[65];
      EVP_DigestFinal_ex (s->ctx, raw, NULL);
      reg_util_hex (raw, 32, got);
      if (strcmp (got, hex) != 0)
        {
          blob_free (s);
          return reply_error (r, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN",
                              "%s: blob %s is damaged in the hub's layout", repo, digest);
        }
    }
  struct MHD_Response *resp
      = MHD_create_response_from_callback (s->size, 64 * 1024, blob_reader, s, blob_free);
  if (resp == NULL)
    {
      blob_free (s);
      return MHD_NO;
    }
  MHD_add_response_header (resp, "Docker-Content-Digest", digest);
  return reply (r, MHD_HTTP_OK, "application/octet-stream", resp);
}

static enum MHD_Result
serve_tags (struct hub_req *r, const char *repo)
{
  const char *n_arg = hub_query (r, "n"), *last = hub_query (r, "last");
  long n = TAGS_MAX_PAGE;
  if (n_arg)
    {
      char *end = NULL;
      n = strtol (n_arg, &end, 10);
      if (end == n_arg || *end != '\0' || n < 0 || n > TAGS_MAX_PAGE)
        return reply_error (r, MHD_HTTP_BAD_REQUEST, "PAGINATION_NUMBER_INVALID",
                            "%s: tags n=%s: want 0 to %d", repo, n_arg, TAGS_MAX_PAGE);
    }
  char **tags = NULL;
  _cleanup_error_ struct reg_error *err = NULL;
  if (reg_layout_tags (r->hub->registry->layout, repo, &tags, &err) < 0)
    {
      fprintf (stderr, "reg-hub: registry: %s\n", err->msg);
      return reply_error (r, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "%s: tags cannot be read",
                          repo);
    }
  if (tags[0] == NULL)
    {
      reg_strv_free (tags);
      return reply_error (r, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN", "%s: no such repository", repo);
    }
  json_t *list = json_array ();
  const char *more = NULL;
  for (size_t i = 0; tags[i]; i++)
    {
      if (last && strcmp (tags[i], last) <= 0)
        continue;
      if ((long)json_array_size (list) == n)
        {
          more = json_string_value (json_array_get (list, json_array_size (list) - 1));
          break;
        }
      json_array_append_new (list, json_string (tags[i]));
    }
  _cleanup_free_ char *link = NULL;
  if (more && asprintf (&link, "</v2/%s/tags/list?n=%ld&last=%s>; rel=\"next\"", repo, n, more) < 0)
    link = NULL;
  reg_strv_free (tags);
  json_t *j = json_pack ("{s:s, s:o}", "name", repo, "tags", list);
  struct MHD_Response *resp = response_of (json_dumps (j, JSON_COMPACT));
  json_decref (j);
  if (resp && link)
    MHD_add_response_header (resp, "Link", link);
  return reply (r, MHD_HTTP_OK, "application/json", resp);
}

/* ---- dispatch ---- */

/* The last "/WHAT/" in path (names may hold any word as a component). */
static char *
last_segment (char *path, const char *what)
{
  char *found = NULL;
  for (char *p = path; (p = strstr (p, what)) != NULL; p++)
    found = p;
  return found;
}

static enum MHD_Result
serve_repo (struct hub_req *r, char *path)
{
  char *ref = NULL, *kind = NULL, *at;
  size_t len = strlen (path);
  if (len > 10 && strcmp (path + len - 10, "/tags/list") == 0)
    {
      path[len - 10] = '\0';
      kind = "tags";
    }
  else if ((at = last_segment (path, "/manifests/")) != NULL)
    {
      *at = '\0';
      ref = at + 11;
      kind = "manifests";
    }
  else if ((at = last_segment (path, "/blobs/")) != NULL)
    {
      *at = '\0';
      ref = at + 7;
      kind = "blobs";
    }
  if (kind == NULL)
    return reply_error (r, MHD_HTTP_NOT_FOUND, "UNSUPPORTED", "no such route: %s %s", r->method,
                        r->url);
  if (!repo_ok (path))
    return reply_error (r, MHD_HTTP_BAD_REQUEST, "NAME_INVALID",
                        "repository name \"%.300s\": want lowercase components of [a-z0-9._-] "
                        "joined by /, at most %d characters",
                        path, NAME_MAX_LEN);
  if (strcmp (kind, "tags") == 0)
    return serve_tags (r, path);
  if (strcmp (kind, "manifests") == 0)
    return serve_manifest (r, path, ref);
  return serve_blob (r, path, ref);
}

enum MHD_Result
hub_registry_serve (struct hub_req *r)
{
  const char *url = r->url;
  bool read = strcmp (r->method, "GET") == 0 || strcmp (r->method, "HEAD") == 0;
  if (strcmp (url, "/v2/token") == 0)
    return read ? serve_token (r)
                : reply_error (r, MHD_HTTP_METHOD_NOT_ALLOWED, "UNSUPPORTED",
                               "%s /v2/token: only GET", r->method);
  const char *auth = MHD_lookup_connection_value (r->conn, MHD_HEADER_KIND, "Authorization");
  bool bearer = auth && strncmp (auth, "Bearer ", 7) == 0;
  if (!bearer || !token_valid (r->hub, auth + 7))
    return reply_challenge (r, NULL,
                            bearer ? "reg-hub registry: the token is not valid (expired, or its "
                                     "device or API token is gone): ask the realm for a new one"
                                   : "reg-hub registry: authentication required");
  if (!read)
    return reply_error (r, MHD_HTTP_METHOD_NOT_ALLOWED, "UNSUPPORTED",
                        "%s %s: the hub's registry is read-only; the hub puts its templates "
                        "there itself (docs/hub.md)",
                        r->method, url);
  if (strcmp (url, "/v2/") == 0 || strcmp (url, "/v2") == 0)
    return reply (r, MHD_HTTP_OK, "application/json", response_of (strdup ("{}")));
  if (strlen (url) > 1024)
    return reply_error (r, MHD_HTTP_BAD_REQUEST, "NAME_INVALID", "path over 1024 characters");
  char path[1100];
  snprintf (path, sizeof path, "%s", url + 4);
  return serve_repo (r, path);
}

/* ---- import ---- */

struct import_item
{
  char *repo, *tag, *text;
  size_t len;
  struct reg_oci_manifest *m;
};

static void
items_free (struct import_item *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (v[i].repo);
      free (v[i].tag);
      free (v[i].text);
      reg_oci_manifest_free (v[i].m);
    }
  free (v);
}

/* Copy blob hex from src into dst, hashing it on the way; *copied is set
 * when it was not there before. */
static int
copy_blob (const struct reg_layout *src, const struct reg_layout *dst, const char *hex,
           int64_t size, bool *copied, struct reg_error **err)
{
  *copied = false;
  if (reg_layout_has_blob (dst, hex))
    return 0;
  _cleanup_free_ char *from = reg_layout_blob_path (src, hex),
                      *to = reg_layout_blob_path (dst, hex), *tmp = NULL;
  if (from == NULL || to == NULL
      || asprintf (&tmp, "%s/.import-%s-%d-%lx", dst->blobs, hex, (int)getpid (),
                   (unsigned long)pthread_self ())
             < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  _cleanup_close_ int in = open (from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (in < 0)
    return reg_error_sys (err, errno, "blob sha256:%s in %s", hex, src->dir);
  _cleanup_close_ int out = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0)
    return reg_error_sys (err, errno, "blob sha256:%s: %s", hex, tmp);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  char buf[65536];
  ssize_t got = 0;
  int64_t total = 0;
  bool ok = ctx && EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL) == 1;
  while (ok && (got = read (in, buf, sizeof buf)) > 0 && total + got <= size)
    {
      total += got;
      ok = EVP_DigestUpdate (ctx, buf, (size_t)got) == 1 && reg_util_write_all (out, buf, got) == 0;
    }
  unsigned char raw[32];
  char hash[65] = "";
  if (ok && got == 0 && EVP_DigestFinal_ex (ctx, raw, NULL) == 1)
    reg_util_hex (raw, 32, hash);
  EVP_MD_CTX_free (ctx);
  int rc = 0;
  if (!ok || got != 0 || total != size)
    rc = got < 0 || !ok ? reg_error_sys (err, errno ? errno : EIO, "blob sha256:%s: copy", hex)
                        : reg_error_set (err, EINVAL, "blob sha256:%s in %s: not %lld bytes", hex,
                                         src->dir, (long long)size);
  else if (strcmp (hash, hex) != 0)
    rc = reg_error_set (err, EINVAL, "blob sha256:%s in %s: content has sha256:%s", hex, src->dir,
                        hash);
  else if (fsync (out) < 0 || rename (tmp, to) < 0)
    rc = reg_error_sys (err, errno, "blob sha256:%s: write %s", hex, to);
  if (rc < 0)
    unlink (tmp);
  else
    *copied = true;
  return rc;
}

/* The tagged manifests of src, parsed and checked against what the hub has. */
static int
import_read (struct hub_registry *reg, const struct reg_layout *src, struct import_item **out,
             size_t *n_out, struct reg_error **err)
{
  _cleanup_free_ char *index = NULL, *text = NULL;
  size_t len = 0;
  if (asprintf (&index, "%s/index.json", src->dir) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (reg_util_read_file (index, REG_OCI_MAX_MANIFEST * 4, &text, &len, err) < 0)
    return -1;
  json_t *j = json_loadb (text, len, 0, NULL), *m;
  json_t *list = json_object_get (j, "manifests");
  size_t i, n = 0;
  struct import_item *v = calloc (json_array_size (list) + 1, sizeof *v);
  int rc = json_is_array (list) && v
               ? 0
               : reg_error_set (err, EINVAL, "%s: not an OCI image index", index);
  json_array_foreach (list, i, m)
  {
    const char *ref = json_string_value (
        json_object_get (json_object_get (m, "annotations"), "org.opencontainers.image.ref.name"));
    const char *colon = ref ? strrchr (ref, ':') : NULL;
    if (rc < 0 || colon == NULL)
      continue;
    struct import_item *it = &v[n++];
    it->repo = strndup (ref, (size_t)(colon - ref));
    it->tag = strdup (colon + 1);
    char *have = NULL;
    size_t have_len = 0;
    _cleanup_error_ struct reg_error *e2 = NULL;
    if (it->repo == NULL || it->tag == NULL)
      rc = reg_error_set (err, ENOMEM, "out of memory");
    else if (!repo_ok (it->repo) || !reg_oci_tag_ok (it->tag))
      rc = reg_error_set (err, EINVAL, "%s: \"%s\" is not a valid REPO:TAG", index, ref);
    else if (reg_layout_get_manifest (src, it->repo, it->tag, &it->text, &it->len, err) < 0
             || reg_oci_manifest_parse (it->text, it->len, ref, &it->m, err) < 0)
      rc = -1;
    else if (reg_layout_get_manifest (reg->layout, it->repo, it->tag, &have, &have_len, &e2) == 0
             && (have_len != it->len || memcmp (have, it->text, it->len) != 0))
      rc = reg_error_set (err, EEXIST,
                          "%s: the hub's registry has another manifest under this tag (a "
                          "template version never changes: give a new version)",
                          ref);
    free (have);
  }
  json_decref (j);
  if (rc == 0 && n == 0)
    rc = reg_error_set (err, ENOENT, "%s: no tagged manifest to import", index);
  if (rc < 0)
    {
      items_free (v, n);
      return -1;
    }
  *out = v;
  *n_out = n;
  return 0;
}

/* Every blob of the items; those copied by this call are removed again
 * when one fails. */
static int
import_blobs (struct hub_registry *reg, const struct reg_layout *src, struct import_item *v,
              size_t n, struct reg_error **err)
{
  json_t *copied = json_array ();
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++)
    for (size_t k = 0; rc == 0 && k <= v[i].m->n_layers; k++)
      {
        const struct reg_oci_desc *d = k == 0 ? &v[i].m->config : &v[i].m->layers[k - 1];
        bool fresh = false;
        rc = copy_blob (src, reg->layout, d->digest, d->size, &fresh, err);
        if (fresh)
          json_array_append_new (copied, json_string (d->digest));
      }
  if (rc < 0)
    {
      size_t i;
      json_t *hex;
      json_array_foreach (copied, i, hex)
      {
        _cleanup_free_ char *p = reg_layout_blob_path (reg->layout, json_string_value (hex));
        if (p)
          unlink (p);
      }
    }
  json_decref (copied);
  return rc;
}

int
hub_registry_import (struct hub_registry *reg, const char *src_dir, json_t **refs,
                     struct reg_error **err)
{
  _cleanup_free_ char *index = NULL;
  if (asprintf (&index, "%s/index.json", src_dir) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (access (index, F_OK) != 0)
    return reg_error_sys (err, errno, "import %s: not an OCI image layout (no index.json)",
                          src_dir);
  struct reg_layout *src = NULL;
  if (reg_layout_open (src_dir, &src, err) < 0)
    return reg_error_prefix (err, "import");
  struct import_item *v = NULL;
  size_t n = 0;
  int rc = import_read (reg, src, &v, &n, err);
  if (rc == 0)
    rc = import_blobs (reg, src, v, n, err);
  json_t *done = json_array ();
  for (size_t i = 0; rc == 0 && i < n; i++)
    {
      rc = reg_layout_put_manifest (reg->layout, v[i].repo, v[i].tag, v[i].text, v[i].len, err);
      json_array_append_new (done, json_sprintf ("%s:%s", v[i].repo, v[i].tag));
    }
  if (rc == 0 && refs)
    *refs = json_incref (done);
  json_decref (done);
  items_free (v, n);
  reg_layout_free (src);
  return rc < 0 ? reg_error_prefix (err, "import %s", src_dir) : 0;
}
