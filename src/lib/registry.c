#include "registry.h"
#include "oci.h"
#include "util.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_BODY (REG_OCI_MAX_MANIFEST + 1)

/* One HTTP exchange. */
struct exchange
{
  const char *method;
  const char *url;
  const char *accept;
  const char *content_type;
  const char *extra_scope; /* for a mount: pull access to the source */
  CURL *curl;
  /* request body: memory or file */
  const char *body;
  size_t body_len;
  FILE *upload;
  int64_t upload_size;
  /* response */
  long status;
  char *buf; /* body of a non-blob reply (bounded) */
  size_t len;
  bool overflow;
  int sink_fd; /* >= 0: a blob body goes here while hashed */
  EVP_MD_CTX *md;
  int64_t got, max;
  char *location, *challenge, *content_type_reply;
  reg_registry_progress_fn progress;
  void *data;
  char *token; /* the token fetched for this exchange's own challenge */
};

static void
exchange_reset (struct exchange *x)
{
  free (x->buf);
  free (x->location);
  free (x->challenge);
  free (x->content_type_reply);
  x->buf = x->location = x->challenge = x->content_type_reply = NULL;
  x->len = 0;
  x->got = 0;
  x->overflow = false;
  x->status = 0;
  if (x->md)
    EVP_DigestInit_ex (x->md, EVP_sha256 (), NULL);
}

static size_t
on_header (char *line, size_t size, size_t n, void *p)
{
  struct exchange *x = p;
  size_t len = size * n;
  char **slot = NULL;
  size_t skip = 0;
  if (len > 9 && strncasecmp (line, "location:", 9) == 0)
    slot = &x->location, skip = 9;
  else if (len > 17 && strncasecmp (line, "www-authenticate:", 17) == 0)
    slot = &x->challenge, skip = 17;
  else if (len > 13 && strncasecmp (line, "content-type:", 13) == 0)
    slot = &x->content_type_reply, skip = 13;
  if (slot)
    {
      while (skip < len && (line[skip] == ' ' || line[skip] == '\t'))
        skip++;
      size_t end = len;
      while (end > skip && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' '))
        end--;
      free (*slot);
      *slot = strndup (line + skip, end - skip);
    }
  return len;
}

static size_t
on_body (char *data, size_t size, size_t n, void *p)
{
  struct exchange *x = p;
  size_t len = size * n;
  long code = 0;
  curl_easy_getinfo (x->curl, CURLINFO_RESPONSE_CODE, &code);
  if (x->sink_fd >= 0 && code / 100 == 2)
    {
      x->got += len;
      if (x->got > x->max)
        return 0; /* abort: more than declared */
      EVP_DigestUpdate (x->md, data, len);
      return reg_util_write_all (x->sink_fd, data, len) < 0 ? 0 : len;
    }
  if (x->len + len > MAX_BODY)
    {
      x->overflow = true;
      return 0;
    }
  char *grown = realloc (x->buf, x->len + len + 1);
  if (grown == NULL)
    return 0;
  x->buf = grown;
  memcpy (x->buf + x->len, data, len);
  x->len += len;
  x->buf[x->len] = '\0';
  return len;
}

static int
on_progress (void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
  struct exchange *x = p;
  if (x->progress)
    {
      if (x->upload)
        x->progress (x->data, ulnow, x->upload_size);
      else
        x->progress (x->data, dlnow, dltotal);
    }
  return 0;
}

/* The value of `key` in a WWW-Authenticate challenge (quoted or token). */
static char *
challenge_param (const char *h, const char *key)
{
  size_t kl = strlen (key);
  for (const char *p = h; (p = strcasestr (p, key)) != NULL; p += kl)
    {
      if (p != h && p[-1] != ' ' && p[-1] != ',')
        continue;
      const char *v = p + kl;
      while (*v == ' ')
        v++;
      if (*v != '=')
        continue;
      v++;
      while (*v == ' ')
        v++;
      if (*v == '"')
        {
          const char *end = strchr (v + 1, '"');
          return end ? strndup (v + 1, end - v - 1) : NULL;
        }
      size_t n = strcspn (v, ", ");
      return strndup (v, n);
    }
  return NULL;
}

static int perform (struct reg_registry *r, struct exchange *x, bool auth, struct reg_error **err);

/* Append "&scope=S" (escaped) to *url unless S is there already. */
static bool
add_scope (CURL *c, char **url, const char *scope, size_t len)
{
  _cleanup_free_ char *one = strndup (scope, len);
  char *esc = one ? curl_easy_escape (c, one, 0) : NULL;
  if (esc == NULL)
    return false;
  size_t el = strlen (esc);
  bool ok = true;
  for (const char *p = *url; (p = strstr (p, "scope=")) != NULL; p += 6)
    if (strncmp (p + 6, esc, el) == 0 && (p[6 + el] == '&' || p[6 + el] == '\0'))
      goto done;
  char *grown = NULL;
  ok = asprintf (&grown, "%s&scope=%s", *url, esc) >= 0;
  if (ok)
    {
      free (*url);
      *url = grown;
    }
done:
  curl_free (esc);
  return ok;
}

/* realm?service=S&scope=A&scope=B…: a challenge may name several scopes,
 * space-separated (a mount: the target and the source); each is its own
 * parameter, as the token protocol wants. */
static char *
token_url (const char *realm, const char *service, const char *scope, const char *extra_scope)
{
  CURL *c = curl_easy_init ();
  if (c == NULL)
    return NULL;
  char *s = service ? curl_easy_escape (c, service, 0) : NULL;
  char *url = NULL;
  bool ok
      = asprintf (&url, "%s%sservice=%s", realm, strchr (realm, '?') ? "&" : "?", s ? s : "") >= 0;
  if (!ok)
    url = NULL;
  curl_free (s);
  const char *lists[] = { scope, extra_scope };
  for (size_t i = 0; ok && i < 2; i++)
    for (const char *p = lists[i]; ok && p && *p;)
      {
        size_t n = strcspn (p, " ");
        if (n > 0)
          ok = add_scope (c, &url, p, n);
        p += n;
        p += strspn (p, " ");
      }
  curl_easy_cleanup (c);
  if (!ok)
    {
      free (url);
      return NULL;
    }
  return url;
}

/* Answer a Bearer challenge: GET realm?service=&scope= (with the
 * credentials when there are any). The token is this exchange's (*out) and
 * the registry's default for later ones: concurrent exchanges asking for
 * other scopes cannot take it from under each other. */
static int
fetch_token (struct reg_registry *r, const char *challenge, const char *extra_scope, char **out,
             struct reg_error **err)
{
  _cleanup_free_ char *realm = challenge_param (challenge, "realm");
  _cleanup_free_ char *service = challenge_param (challenge, "service");
  _cleanup_free_ char *scope = challenge_param (challenge, "scope");
  if (realm == NULL || (strncmp (realm, "https://", 8) != 0 && strncmp (realm, "http://", 7) != 0))
    return reg_error_set (err, EACCES, "registry %s: bearer challenge without a usable realm",
                          r->host);
  _cleanup_free_ char *url = token_url (realm, service, scope, extra_scope);
  if (url == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  struct exchange x = { .method = "GET", .url = url, .sink_fd = -1 };
  int ret = perform (r, &x, false, err);
  if (ret == 0 && x.status != 200)
    ret = reg_error_set (
        err, EACCES, "registry %s: token server %s refused (HTTP %ld); %s %s", r->host, realm,
        x.status, r->user ? "check the user and password given to reg login" : "run reg login",
        r->host);
  json_t *j = ret == 0 ? json_loadb (x.buf ? x.buf : "", x.len, 0, NULL) : NULL;
  const char *tok = json_string_value (json_object_get (j, "token"));
  if (tok == NULL)
    tok = json_string_value (json_object_get (j, "access_token"));
  if (ret == 0 && tok == NULL)
    ret = reg_error_set (err, EACCES, "registry %s: token server %s sent no token", r->host, realm);
  if (ret == 0 && (*out = strdup (tok)) == NULL)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  if (ret == 0)
    {
      pthread_mutex_lock (&r->lock);
      free (r->token);
      r->token = strdup (tok);
      pthread_mutex_unlock (&r->lock);
    }
  json_decref (j);
  exchange_reset (&x);
  return ret;
}

/* curl has loaded the system CAs into the context; add the host's own. */
static CURLcode
add_cas (CURL *c, void *ssl_ctx, void *p)
{
  struct reg_registry *r = p;
  X509_STORE *store = SSL_CTX_get_cert_store (ssl_ctx);
  for (int i = 0; i < sk_X509_num (r->cas); i++)
    (void)X509_STORE_add_cert (store, sk_X509_value (r->cas, i)); /* 0: already there */
  return CURLE_OK;
}

static int
transport_error (struct reg_registry *r, const struct exchange *x, CURLcode rc, const char *detail,
                 struct reg_error **err)
{
  const char *hint = "";
  if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
    hint = "; if the registry uses its own CA, put it in <root>/certs.d/HOST[:PORT]/ca.crt";
  else if (rc == CURLE_SSL_CONNECT_ERROR && strncmp (x->url, "https://", 8) == 0)
    hint = " (the TLS handshake failed: the registry may speak plain HTTP; if so, and only on a "
           "network you trust, use --insecure)";
  return reg_error_set (err, EHOSTUNREACH, "registry %s: %s %s: %s%s", r->host, x->method, x->url,
                        *detail ? detail : curl_easy_strerror (rc), hint);
}

static int
perform_once (struct reg_registry *r, struct exchange *x, bool auth, struct reg_error **err)
{
  CURL *c = curl_easy_init ();
  if (c == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  x->curl = c;
  struct curl_slist *h = NULL;
  char line[8192];
  if (x->accept)
    snprintf (line, sizeof line, "Accept: %s", x->accept), h = curl_slist_append (h, line);
  if (x->content_type)
    snprintf (line, sizeof line, "Content-Type: %s", x->content_type),
        h = curl_slist_append (h, line);
  pthread_mutex_lock (&r->lock);
  const char *token = x->token ? x->token : r->token;
  if (auth && token
      && snprintf (line, sizeof line, "Authorization: Bearer %s", token) < (int)sizeof line)
    h = curl_slist_append (h, line);
  bool basic = auth && r->basic && r->user;
  pthread_mutex_unlock (&r->lock);
  if (basic || (!auth && r->user))
    {
      curl_easy_setopt (c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt (c, CURLOPT_USERNAME, r->user);
      curl_easy_setopt (c, CURLOPT_PASSWORD, r->password ? r->password : "");
    }
  char detail[CURL_ERROR_SIZE] = "";
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, detail);
  if (r->cas)
    {
      curl_easy_setopt (c, CURLOPT_SSL_CTX_FUNCTION, add_cas);
      curl_easy_setopt (c, CURLOPT_SSL_CTX_DATA, r);
    }
  curl_easy_setopt (c, CURLOPT_URL, x->url);
  curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, x->method);
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  /* Blob GETs may be redirected to storage (S3 and the like); nothing else is. */
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, x->sink_fd >= 0 ? 1L : 0L);
  curl_easy_setopt (c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt (c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (c, CURLOPT_HEADERDATA, x);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, x);
  curl_easy_setopt (c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt (c, CURLOPT_XFERINFODATA, x);
  curl_easy_setopt (c, CURLOPT_NOPROGRESS, x->progress ? 0L : 1L);
  if (strcmp (x->method, "HEAD") == 0)
    curl_easy_setopt (c, CURLOPT_NOBODY, 1L);
  if (x->upload)
    {
      rewind (x->upload);
      curl_easy_setopt (c, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt (c, CURLOPT_READDATA, x->upload);
      curl_easy_setopt (c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->upload_size);
    }
  else if (x->body || strcmp (x->method, "POST") == 0 || strcmp (x->method, "PUT") == 0)
    {
      curl_easy_setopt (c, CURLOPT_POSTFIELDS, x->body ? x->body : "");
      curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
    }
  CURLcode rc = curl_easy_perform (c);
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &x->status);
  curl_slist_free_all (h);
  curl_easy_cleanup (c);
  if (rc == CURLE_WRITE_ERROR && x->sink_fd >= 0 && x->got > x->max)
    return 0; /* reported by the caller as over its declared size */
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && x->overflow))
    return transport_error (r, x, rc, detail, err);
  if (x->overflow)
    return reg_error_set (err, EFBIG, "registry %s: %s %s: reply over %d bytes", r->host, x->method,
                          x->url, MAX_BODY);
  return 0;
}

static int
perform (struct reg_registry *r, struct exchange *x, bool auth, struct reg_error **err)
{
  if (perform_once (r, x, auth, err) < 0)
    return -1;
  if (!auth || x->status != 401 || x->challenge == NULL)
    return 0;
  _cleanup_free_ char *challenge = strdup (x->challenge);
  if (challenge == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  _cleanup_free_ char *token = NULL;
  if (strncasecmp (challenge, "Bearer", 6) == 0)
    {
      if (fetch_token (r, challenge, x->extra_scope, &token, err) < 0)
        return -1;
    }
  else if (strncasecmp (challenge, "Basic", 5) == 0)
    {
      if (r->user == NULL)
        return 0; /* the caller reports the 401 */
      pthread_mutex_lock (&r->lock);
      r->basic = true;
      pthread_mutex_unlock (&r->lock);
    }
  else
    return 0;
  exchange_reset (x);
  x->token = token;
  int ret = perform_once (r, x, auth, err);
  x->token = NULL;
  return ret;
}

/* The registry's own words from an error body ({"errors":[{"message"}]}). */
static const char *
registry_message (const struct exchange *x, char *buf, size_t size)
{
  json_t *j = x->buf ? json_loadb (x->buf, x->len, 0, NULL) : NULL;
  json_t *e = json_array_get (json_object_get (j, "errors"), 0);
  const char *code = json_string_value (json_object_get (e, "code"));
  const char *msg = json_string_value (json_object_get (e, "message"));
  snprintf (buf, size, "%s%s%s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
  json_decref (j);
  return buf;
}

static int
status_error (struct reg_registry *r, const struct exchange *x, const char *what,
              struct reg_error **err)
{
  char msg[512];
  registry_message (x, msg, sizeof msg);
  if (x->status == 401 || x->status == 403)
    return reg_error_set (
        err, EACCES, "registry %s: %s: access denied (HTTP %ld%s%s); %s %s", r->host, what,
        x->status, *msg ? ", " : "", msg,
        r->user ? "check the user and password given to reg login" : "run reg login", r->host);
  if (x->status == 404)
    return reg_error_set (err, ENOENT, "registry %s: %s: not found (HTTP 404%s%s)", r->host, what,
                          *msg ? ", " : "", msg);
  return reg_error_set (err, EIO, "registry %s: %s: HTTP %ld%s%s", r->host, what, x->status,
                        *msg ? ", " : "", msg);
}

static void
global_init (void)
{
  curl_global_init (CURL_GLOBAL_DEFAULT);
}

static int
load_ca_file (struct reg_registry *r, const char *path, struct reg_error **err)
{
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  if (f == NULL)
    return reg_error_sys (err, errno, "registry %s: CA file %s", r->host, path);
  int n = 0;
  X509 *cert;
  while ((cert = PEM_read_X509 (f, NULL, NULL, NULL)) != NULL)
    {
      if (r->cas == NULL && (r->cas = sk_X509_new_null ()) == NULL)
        {
          X509_free (cert);
          return reg_error_set (err, ENOMEM, "out of memory");
        }
      if (sk_X509_push (r->cas, cert) <= 0)
        {
          X509_free (cert);
          return reg_error_set (err, ENOMEM, "out of memory");
        }
      n++;
    }
  if (n == 0)
    return reg_error_set (err, EINVAL, "registry %s: CA file %s holds no PEM certificate", r->host,
                          path);
  return 0;
}

int
reg_registry_add_ca_pem (struct reg_registry *r, const char *pem, struct reg_error **err)
{
  BIO *bio = BIO_new_mem_buf (pem, -1);
  if (bio == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  int n = 0;
  X509 *cert;
  while ((cert = PEM_read_bio_X509 (bio, NULL, NULL, NULL)) != NULL)
    {
      if ((r->cas == NULL && (r->cas = sk_X509_new_null ()) == NULL)
          || sk_X509_push (r->cas, cert) <= 0)
        {
          X509_free (cert);
          BIO_free (bio);
          return reg_error_set (err, ENOMEM, "out of memory");
        }
      n++;
    }
  BIO_free (bio);
  ERR_clear_error (); /* the end of the text reads as a PEM error */
  if (n == 0)
    return reg_error_set (err, EINVAL, "registry %s: the CA given holds no PEM certificate",
                          r->host);
  return 0;
}

/* CERTS_DIR/HOST/ *.crt; no such directory: no extra CAs. */
static int
load_cas (struct reg_registry *r, const char *certs_dir, struct reg_error **err)
{
  _cleanup_free_ char *dir = NULL;
  if (asprintf (&dir, "%s/%s", certs_dir, r->host) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  struct dirent **names = NULL;
  int n = scandir (dir, &names, NULL, alphasort);
  if (n < 0)
    return errno == ENOENT
               ? 0
               : reg_error_sys (err, errno, "registry %s: CA directory %s", r->host, dir);
  int ret = 0;
  for (int i = 0; i < n; i++)
    {
      size_t len = strlen (names[i]->d_name);
      _cleanup_free_ char *path = NULL;
      if (ret == 0 && len > 4 && strcmp (names[i]->d_name + len - 4, ".crt") == 0)
        {
          if (asprintf (&path, "%s/%s", dir, names[i]->d_name) < 0)
            ret = reg_error_set (err, ENOMEM, "out of memory");
          else
            ret = load_ca_file (r, path, err);
        }
      free (names[i]);
    }
  free (names);
  return ret;
}

/* localhost, 127.0.0.0/8 or ::1, with or without a port. */
static bool
is_loopback (const char *host)
{
  char name[256];
  const char *end = host[0] == '[' ? strchr (host, ']') : strrchr (host, ':');
  if (host[0] != '[' && end && strchr (host, ':') != end)
    end = NULL; /* a bare IPv6 address: no port */
  size_t n = end ? (size_t)(end - host) : strlen (host);
  snprintf (name, sizeof name, "%.*s", (int)n, host[0] == '[' ? host + 1 : host);
  if (host[0] == '[' && n > 0)
    name[n - 1] = '\0';
  return strcmp (name, "localhost") == 0 || strncmp (name, "127.", 4) == 0
         || strcmp (name, "::1") == 0;
}

/* Docker's rule: a loopback registry may speak plain HTTP without
 * --insecure. One TLS handshake tells: when it fails as a plain-HTTP
 * server makes it fail, the registry is spoken to in HTTP. */
static int
pick_scheme (struct reg_registry *r, struct reg_error **err)
{
  _cleanup_free_ char *url = NULL;
  if (!is_loopback (r->host) || asprintf (&url, "%s/v2/", r->base) < 0)
    return 0;
  CURL *c = curl_easy_init ();
  if (c == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_NOBODY, 1L);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt (c, CURLOPT_SSL_VERIFYPEER, 0L); /* only whether TLS is spoken */
  curl_easy_setopt (c, CURLOPT_SSL_VERIFYHOST, 0L);
  CURLcode rc = curl_easy_perform (c);
  curl_easy_cleanup (c);
  char *http = NULL;
  if (rc == CURLE_SSL_CONNECT_ERROR && asprintf (&http, "http://%s", r->host) > 0)
    {
      free (r->base);
      r->base = http;
    }
  return 0;
}

int
reg_registry_open (const char *host, bool insecure, const char *certs_dir, const char *user,
                   const char *password, struct reg_registry **out, struct reg_error **err)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once (&once, global_init);
  struct reg_registry *r = calloc (1, sizeof *r);
  if (r == NULL || (r->host = strdup (host)) == NULL
      || asprintf (&r->base, "%s://%s", insecure ? "http" : "https", host) < 0
      || (user && (r->user = strdup (user)) == NULL)
      || (password && (r->password = strdup (password)) == NULL))
    {
      if (r)
        r->base = NULL;
      reg_registry_free (r);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  pthread_mutex_init (&r->lock, NULL);
  if ((!insecure && certs_dir != NULL && load_cas (r, certs_dir, err) < 0)
      || (!insecure && pick_scheme (r, err) < 0))
    {
      reg_registry_free (r);
      return -1;
    }
  *out = r;
  return 0;
}

void
reg_registry_free (struct reg_registry *r)
{
  if (r == NULL)
    return;
  pthread_mutex_destroy (&r->lock);
  free (r->host);
  free (r->base);
  free (r->user);
  if (r->password)
    explicit_bzero (r->password, strlen (r->password));
  free (r->password);
  free (r->token);
  sk_X509_pop_free (r->cas, X509_free);
  free (r);
}

int
reg_registry_blob_exists (struct reg_registry *r, const char *repo, const char *hex, bool *exists,
                          struct reg_error **err)
{
  _cleanup_free_ char *url = NULL, *what = NULL;
  if (asprintf (&url, "%s/v2/%s/blobs/sha256:%s", r->base, repo, hex) < 0
      || asprintf (&what, "%s blob sha256:%s", repo, hex) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  struct exchange x = { .method = "HEAD", .url = url, .sink_fd = -1 };
  int ret = perform (r, &x, true, err);
  if (ret == 0)
    {
      if (x.status == 200)
        *exists = true;
      else if (x.status == 404)
        *exists = false;
      else
        ret = status_error (r, &x, what, err);
    }
  exchange_reset (&x);
  return ret;
}

int
reg_registry_blob_get (struct reg_registry *r, const char *repo, const char *hex, int64_t size,
                       int fd, reg_registry_progress_fn progress, void *data,
                       struct reg_error **err)
{
  _cleanup_free_ char *url = NULL, *what = NULL;
  if (asprintf (&url, "%s/v2/%s/blobs/sha256:%s", r->base, repo, hex) < 0
      || asprintf (&what, "blob sha256:%s of %s", hex, repo) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  struct exchange x = {
    .method = "GET", .url = url, .sink_fd = fd, .max = size, .progress = progress, .data = data
  };
  x.md = EVP_MD_CTX_new ();
  if (x.md == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  EVP_DigestInit_ex (x.md, EVP_sha256 (), NULL);
  int ret = perform (r, &x, true, err);
  if (ret == 0 && x.status != 200)
    ret = status_error (r, &x, what, err);
  else if (ret == 0 && x.got > size)
    ret = reg_error_set (err, EIO,
                         "registry %s: %s: more than the %lld bytes the manifest declares", r->host,
                         what, (long long)size);
  else if (ret == 0 && x.got < size)
    ret = reg_error_set (err, EIO, "registry %s: %s: truncated: got %lld of %lld bytes", r->host,
                         what, (long long)x.got, (long long)size);
  else if (ret == 0)
    {
      unsigned char raw[32];
      char got[65];
      EVP_DigestFinal_ex (x.md, raw, NULL);
      reg_util_hex (raw, 32, got);
      if (strcmp (got, hex) != 0)
        ret = reg_error_set (err, EIO,
                             "registry %s: %s: digest mismatch: content has sha256:%s (corrupt or "
                             "tampered)",
                             r->host, what, got);
    }
  EVP_MD_CTX_free (x.md);
  x.md = NULL;
  exchange_reset (&x);
  return ret;
}

static int
absolute_location (struct reg_registry *r, const char *loc, char **out)
{
  if (strncmp (loc, "http://", 7) == 0 || strncmp (loc, "https://", 8) == 0)
    *out = strdup (loc);
  else if (asprintf (out, "%s%s", r->base, loc) < 0)
    *out = NULL;
  return *out ? 0 : -1;
}

/* POST an upload (or a mount); 201 means mounted, 202 gives a location. */
static int
start_upload (struct reg_registry *r, const char *repo, const char *hex, const char *from,
              bool *mounted, char **location, struct reg_error **err)
{
  _cleanup_free_ char *url = NULL, *what = NULL, *scope = NULL;
  int n = from ? asprintf (&url, "%s/v2/%s/blobs/uploads/?mount=sha256:%s&from=%s", r->base, repo,
                           hex, from)
               : asprintf (&url, "%s/v2/%s/blobs/uploads/", r->base, repo);
  if (n < 0 || asprintf (&what, "%s: upload blob sha256:%s", repo, hex) < 0
      || (from && asprintf (&scope, "repository:%s:pull", from) < 0))
    return reg_error_set (err, ENOMEM, "out of memory");
  struct exchange x = { .method = "POST", .url = url, .sink_fd = -1, .extra_scope = scope };
  int ret = perform (r, &x, true, err);
  *mounted = false;
  if (ret == 0 && x.status == 201)
    *mounted = true;
  else if (ret == 0 && x.status == 202 && x.location)
    {
      if (absolute_location (r, x.location, location) < 0)
        ret = reg_error_set (err, ENOMEM, "out of memory");
    }
  else if (ret == 0)
    ret = status_error (r, &x, what, err);
  exchange_reset (&x);
  return ret;
}

int
reg_registry_blob_mount (struct reg_registry *r, const char *repo, const char *hex,
                         const char *from, bool *mounted, struct reg_error **err)
{
  _cleanup_free_ char *location = NULL;
  return start_upload (r, repo, hex, from, mounted, &location, err);
}

/* Perform x (with auth) and require HTTP `want`; resets x. For requests
 * whose reply carries nothing but the status. */
static int
perform_expect (struct reg_registry *r, struct exchange *x, long want, const char *what,
                struct reg_error **err)
{
  int ret = perform (r, x, true, err);
  if (ret == 0 && x->status != want)
    ret = status_error (r, x, what, err);
  exchange_reset (x);
  return ret;
}

int
reg_registry_blob_put (struct reg_registry *r, const char *repo, const char *hex, const char *path,
                       reg_registry_progress_fn progress, void *data, struct reg_error **err)
{
  bool mounted;
  _cleanup_free_ char *location = NULL, *url = NULL, *what = NULL;
  if (start_upload (r, repo, hex, NULL, &mounted, &location, err) < 0)
    return -1;
  if (location == NULL)
    return reg_error_set (err, EIO, "registry %s: %s: upload not started", r->host, repo);
  if (asprintf (&url, "%s%sdigest=sha256:%s", location, strchr (location, '?') ? "&" : "?", hex) < 0
      || asprintf (&what, "%s: upload blob sha256:%s", repo, hex) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  _cleanup_fclose_ FILE *f = fopen (path, "rbe");
  if (f == NULL)
    return reg_error_sys (err, errno, "%s: open %s", what, path);
  fseeko (f, 0, SEEK_END);
  struct exchange x = { .method = "PUT",
                        .url = url,
                        .sink_fd = -1,
                        .upload = f,
                        .upload_size = ftello (f),
                        .content_type = "application/octet-stream",
                        .progress = progress,
                        .data = data };
  return perform_expect (r, &x, 201, what, err);
}

int
reg_registry_manifest_put (struct reg_registry *r, const char *repo, const char *tag,
                           const char *text, size_t len, struct reg_error **err)
{
  _cleanup_free_ char *url = NULL, *what = NULL;
  if (asprintf (&url, "%s/v2/%s/manifests/%s", r->base, repo, tag) < 0
      || asprintf (&what, "%s:%s: put manifest", repo, tag) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  struct exchange x = { .method = "PUT",
                        .url = url,
                        .sink_fd = -1,
                        .body = text,
                        .body_len = len,
                        .content_type = REG_OCI_MANIFEST_TYPE };
  return perform_expect (r, &x, 201, what, err);
}

int
reg_registry_manifest_get (struct reg_registry *r, const char *repo, const char *tag, char **text,
                           size_t *len, char **media_type, struct reg_error **err)
{
  _cleanup_free_ char *url = NULL, *what = NULL;
  if (asprintf (&url, "%s/v2/%s/manifests/%s", r->base, repo, tag) < 0
      || asprintf (&what, "%s:%s", repo, tag) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  struct exchange x
      = { .method = "GET",
          .url = url,
          .sink_fd = -1,
          .accept = REG_OCI_MANIFEST_TYPE
          ", " REG_OCI_INDEX_TYPE ", application/vnd.docker.distribution.manifest.v2+json"
          ", application/vnd.docker.distribution.manifest.list.v2+json" };
  int ret = perform (r, &x, true, err);
  if (ret == 0 && x.status != 200)
    ret = status_error (r, &x, what, err);
  if (ret == 0)
    {
      *text = x.buf ? x.buf : strdup ("");
      *len = x.len;
      x.buf = NULL;
      *media_type = x.content_type_reply ? strdup (x.content_type_reply) : NULL;
    }
  exchange_reset (&x);
  return ret;
}

int
reg_registry_tags (struct reg_registry *r, const char *repo, char ***tags, struct reg_error **err)
{
  _cleanup_free_ char *url = NULL, *what = NULL;
  if (asprintf (&url, "%s/v2/%s/tags/list", r->base, repo) < 0
      || asprintf (&what, "%s: list tags", repo) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  struct exchange x = { .method = "GET", .url = url, .sink_fd = -1 };
  int ret = perform (r, &x, true, err);
  if (ret == 0 && x.status != 200)
    ret = status_error (r, &x, what, err);
  json_t *j = ret == 0 ? json_loadb (x.buf ? x.buf : "", x.len, 0, NULL) : NULL;
  json_t *list = json_object_get (j, "tags");
  if (ret == 0 && !json_is_array (list) && !json_is_null (list))
    ret = reg_error_set (err, EIO, "registry %s: %s: malformed reply", r->host, what);
  if (ret == 0)
    {
      char **v = calloc (json_array_size (list) + 1, sizeof *v);
      size_t i, n = 0;
      json_t *t;
      json_array_foreach (list, i, t)
      {
        if (v && json_is_string (t))
          v[n++] = strdup (json_string_value (t));
      }
      if (v == NULL)
        ret = reg_error_set (err, ENOMEM, "out of memory");
      *tags = v;
    }
  json_decref (j);
  exchange_reset (&x);
  return ret;
}
