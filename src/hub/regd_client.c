#include "regd_client.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define MAX_REPLY (8 << 20)
/* Transfers at once to one address: regd takes 8 TLS connections per
 * client by default (--tls-max-per-client), and the hub's other calls
 * (actions, logs, terminals) need the rest. */
#define HOST_SLOTS 4

int
hub_device_name_check (const char *name, struct reg_error **err)
{
  size_t n = name ? strlen (name) : 0;
  if (n == 0 || n > 64)
    return reg_error_set (err, EINVAL, "device name: 1 to 64 characters wanted");
  for (const char *p = name; *p; p++)
    if (!isalnum ((unsigned char)*p) && !strchr ("._-", *p))
      return reg_error_set (err, EINVAL,
                            "device name \"%s\": only letters, digits, '.', '_' and '-'", name);
  return 0;
}

/* tcp://HOST:PORT with HOST an IPv4 address, [IPv6] or a DNS name. */
int
hub_device_url_parse (const char *url, char *base, size_t size, struct reg_error **err)
{
  const char *bad = "device URL \"%s\": want tcp://HOST:PORT (regd --tls-listen)";
  if (url == NULL || strncmp (url, "tcp://", 6) != 0 || strlen (url) > 260)
    return reg_error_set (err, EINVAL, bad, url ? url : "");
  const char *host = url + 6, *colon = strrchr (host, ':');
  if (colon == NULL || colon == host)
    return reg_error_set (err, EINVAL, bad, url);
  char h[256];
  snprintf (h, sizeof h, "%.*s", (int)(colon - host), host);
  char *end = NULL;
  long port = strtol (colon + 1, &end, 10);
  if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
    return reg_error_set (err, EINVAL, "device URL \"%s\": the port must be 1 to 65535", url);
  unsigned char addr[16];
  size_t hl = strlen (h);
  if (h[0] == '[' && h[hl - 1] == ']')
    {
      char v6[256];
      snprintf (v6, sizeof v6, "%.*s", (int)hl - 2, h + 1);
      if (inet_pton (AF_INET6, v6, addr) != 1)
        return reg_error_set (err, EINVAL, "device URL \"%s\": bad IPv6 address", url);
    }
  else
    for (const char *p = h; *p; p++)
      if (!isalnum ((unsigned char)*p) && *p != '.' && *p != '-')
        return reg_error_set (err, EINVAL, bad, url);
  snprintf (base, size, "https://%s:%ld", h, port);
  return 0;
}

int
hub_device_ca_check (const char *pem, struct reg_error **err)
{
  if (pem == NULL || *pem == '\0')
    return reg_error_set (err, EINVAL, "device CA: a PEM certificate is required");
  if (strlen (pem) > 64 * 1024)
    return reg_error_set (err, EINVAL, "device CA: over 64 KiB");
  BIO *b = BIO_new_mem_buf (pem, -1);
  X509 *x = b ? PEM_read_bio_X509 (b, NULL, NULL, NULL) : NULL;
  bool ok = x != NULL;
  X509_free (x);
  BIO_free (b);
  if (!ok)
    return reg_error_set (err, EINVAL,
                          "device CA: not a PEM certificate (\"-----BEGIN CERTIFICATE-----\")");
  return 0;
}

int
hub_device_token_check (const char *token, struct reg_error **err)
{
  size_t n = token ? strlen (token) : 0;
  if (n < 16 || n > 4096)
    return reg_error_set (err, EINVAL,
                          "device token: 16 to 4096 characters wanted (regd's "
                          "--token-file)");
  for (const char *p = token; *p; p++)
    if (*p <= ' ' || *p == 0x7f)
      return reg_error_set (err, EINVAL, "device token: no spaces or control characters");
  return 0;
}

int
hub_target_init (struct hub_target *t, json_t *dev, struct reg_error **err)
{
  memset (t, 0, sizeof *t);
  t->id = json_integer_value (json_object_get (dev, "Id"));
  snprintf (t->name, sizeof t->name, "%s", json_string_value (json_object_get (dev, "Name")));
  t->ca = json_string_value (json_object_get (dev, "Ca"));
  t->token = json_string_value (json_object_get (dev, "Token"));
  if (hub_device_url_parse (json_string_value (json_object_get (dev, "Url")), t->base,
                            sizeof t->base, err)
      < 0)
    return reg_error_prefix (err, "device %s", t->name);
  return 0;
}

CURL *
hub_target_easy (const struct hub_target *t, const char *method, const char *path,
                 struct curl_slist **headers)
{
  CURL *h = curl_easy_init ();
  if (h == NULL)
    return NULL;
  char url[1024];
  snprintf (url, sizeof url, "%s%s", t->base, path);
  curl_easy_setopt (h, CURLOPT_URL, url);
  curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  /* Trust the device's CA only: never the system's bundle (which libcurl
   * would load as well, for every connection). */
  curl_easy_setopt (h, CURLOPT_CAINFO, NULL);
  curl_easy_setopt (h, CURLOPT_CAPATH, NULL);
  if (t->ca)
    {
      struct curl_blob blob = { (void *)t->ca, strlen (t->ca), CURL_BLOB_COPY };
      curl_easy_setopt (h, CURLOPT_CAINFO_BLOB, &blob);
    }
  char auth[4200];
  snprintf (auth, sizeof auth, "Authorization: Bearer %s", t->token ? t->token : "");
  *headers = curl_slist_append (NULL, auth);
  *headers = curl_slist_append (*headers, "Content-Type: application/json");
  *headers = curl_slist_append (*headers, "Expect:");
  curl_easy_setopt (h, CURLOPT_HTTPHEADER, *headers);
  return h;
}

struct buffer
{
  char *data;
  size_t len;
};

static size_t
collect (char *ptr, size_t size, size_t n, void *data)
{
  struct buffer *b = data;
  size_t len = size * n;
  if (b->len + len > MAX_REPLY)
    return 0;
  char *nd = realloc (b->data, b->len + len + 1);
  if (nd == NULL)
    return 0;
  memcpy (nd + b->len, ptr, len);
  b->data = nd;
  b->len += len;
  b->data[b->len] = '\0';
  return len;
}

/* A reply of JSON lines (push, pull: progress, then the result): the last. */
static json_t *
last_line (char *data, size_t len)
{
  while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
    data[--len] = '\0';
  char *nl = memrchr (data, '\n', len);
  const char *line = nl ? nl + 1 : data;
  return json_loads (line, 0, NULL);
}

int
hub_regd_fail (const struct hub_target *t, CURLcode rc, long status, json_t *reply,
               struct reg_error **err)
{
  if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
    return reg_error_set (err, EPROTO,
                          "device %s: TLS verification failed (%s): is the CA the one that "
                          "signed regd's certificate, for this host?",
                          t->name, curl_easy_strerror (rc));
  if (rc == CURLE_OPERATION_TIMEDOUT)
    return reg_error_set (err, ETIMEDOUT, "device %s: no answer from %s in time", t->name,
                          t->base + 8);
  if (rc == CURLE_COULDNT_CONNECT)
    return reg_error_set (err, ECONNREFUSED, "device %s: cannot connect to %s", t->name,
                          t->base + 8);
  if (rc != CURLE_OK)
    return reg_error_set (err, EIO, "device %s: %s", t->name, curl_easy_strerror (rc));
  if (status == 401)
    return reg_error_set (err, EACCES, "device %s: regd refused the token", t->name);
  const char *msg = json_string_value (json_object_get (reply, "message"));
  return reg_error_set (err,
                        status == 404   ? ENOENT
                        : status == 409 ? EBUSY
                                        : EINVAL,
                        "device %s: %s", t->name, msg ? msg : "unexpected reply");
}

long
hub_regd_call (const struct hub_target *t, const char *method, const char *path, json_t *body,
               long timeout_ms, json_t **reply, struct reg_error **err)
{
  struct curl_slist *headers = NULL;
  CURL *h = hub_target_easy (t, method, path, &headers);
  if (h == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  _cleanup_free_ char *text = body ? json_dumps (body, JSON_COMPACT) : NULL;
  if (text)
    curl_easy_setopt (h, CURLOPT_POSTFIELDS, text);
  else if (strcmp (method, "POST") == 0)
    curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE, 0L);
  struct buffer b = { NULL, 0 };
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt (h, CURLOPT_TIMEOUT_MS, timeout_ms);
  CURLcode rc = curl_easy_perform (h);
  long status = -1;
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup (h);
  curl_slist_free_all (headers);
  json_t *j = b.len ? json_loadb (b.data, b.len, 0, NULL) : NULL;
  if (j == NULL && b.len)
    j = last_line (b.data, b.len);
  free (b.data);
  if (rc != CURLE_OK || status == 401)
    {
      hub_regd_fail (t, rc, status, j, err);
      json_decref (j);
      return -1;
    }
  if (reply)
    *reply = j;
  else
    json_decref (j);
  return status;
}

/* ---- many at once ---- */

struct hub_multi
{
  CURLM *multi;
};

struct hub_multi *
hub_multi_new (void)
{
  struct hub_multi *m = calloc (1, sizeof *m);
  if (m == NULL || (m->multi = curl_multi_init ()) == NULL)
    {
      free (m);
      return NULL;
    }
  /* Keep a connection per device between rounds, and never more than 4
   * at once to one address: regd takes 8 per client by default
   * (--tls-max-per-client), and the hub's other calls (actions, logs,
   * terminals) need the rest. */
  curl_multi_setopt (m->multi, CURLMOPT_MAXCONNECTS, 20000L);
  curl_multi_setopt (m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)HOST_SLOTS);
  return m;
}

void
hub_multi_free (struct hub_multi *m)
{
  if (m == NULL)
    return;
  curl_multi_cleanup (m->multi);
  free (m);
}

struct one
{
  CURL *h;
  struct curl_slist *headers;
  struct buffer b;
  size_t next; /* the target that takes this one's slot when it is done, or SIZE_MAX */
};

static double
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int
by_base (const void *a, const void *b, void *ctx)
{
  const struct hub_target *t = ctx;
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  int c = strcmp (t[x].base, t[y].base);
  return c ? c : (x > y) - (x < y);
}

/* The transfer of target i, with what is left of the round's time. */
static bool
start_one (struct hub_multi *m, const struct hub_target *t, struct one *o, const char *path,
           double deadline, char **error)
{
  long left = (long)(deadline - now_ms ());
  if (left <= 0)
    {
      _cleanup_error_ struct reg_error *err = NULL;
      hub_regd_fail (t, CURLE_OPERATION_TIMEDOUT, -1, NULL, &err);
      *error = strdup (err ? err->msg : "no answer in time");
      return false;
    }
  if ((o->h = hub_target_easy (t, "GET", path, &o->headers)) == NULL)
    {
      *error = strdup ("out of memory");
      return false;
    }
  curl_easy_setopt (o->h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt (o->h, CURLOPT_WRITEDATA, &o->b);
  curl_easy_setopt (o->h, CURLOPT_TIMEOUT_MS, left);
  curl_easy_setopt (o->h, CURLOPT_PRIVATE, (char *)o);
  /* Replies here are small. */
  curl_easy_setopt (o->h, CURLOPT_BUFFERSIZE, 4096L);
  curl_multi_add_handle (m->multi, o->h);
  return true;
}

/* A finished transfer: its reply or error, and its handle gone. */
static void
finish_one (struct hub_multi *m, const struct hub_target *t, struct one *o, CURLcode rc,
            json_t **reply, char **error)
{
  long status = -1;
  curl_easy_getinfo (o->h, CURLINFO_RESPONSE_CODE, &status);
  json_t *j = o->b.len ? json_loadb (o->b.data, o->b.len, 0, NULL) : NULL;
  if (rc == CURLE_OK && status == 200 && j)
    *reply = j;
  else
    {
      _cleanup_error_ struct reg_error *err = NULL;
      hub_regd_fail (t, rc, status, j, &err);
      *error = strdup (err ? err->msg : "failed");
      json_decref (j);
    }
  curl_multi_remove_handle (m->multi, o->h);
  curl_easy_cleanup (o->h);
  o->h = NULL;
  curl_slist_free_all (o->headers);
  o->headers = NULL;
  free (o->b.data);
  o->b = (struct buffer){ NULL, 0 };
}

void
hub_regd_get_many (struct hub_multi *m, struct hub_target *t, size_t n, const char *path,
                   long timeout_ms, json_t **replies, char **errors)
{
  const char **paths = calloc (n ? n : 1, sizeof *paths);
  for (size_t i = 0; paths && i < n; i++)
    paths[i] = path;
  if (paths)
    hub_regd_get_each (m, t, n, paths, timeout_ms, replies, errors);
  else
    for (size_t i = 0; i < n; i++)
      {
        replies[i] = NULL;
        errors[i] = strdup ("out of memory");
      }
  free (paths);
}

/* Every target's transfer exists only while it may run: curl runs at most
 * HOST_SLOTS at once to one address anyway (CURLMOPT_MAX_HOST_CONNECTIONS),
 * and a queued easy handle costs ~15 kB (its buffers and state), which
 * for 1,000 entries over 10 regds was most of the hub's peak memory. The
 * targets are grouped by address; each group starts HOST_SLOTS transfers,
 * and each finished one hands its slot to the next of its group, with
 * what is left of the round's time (the deadline is the round's, as it
 * was when all waited in curl's queue). Targets at different addresses
 * all run at once, as before. */
void
hub_regd_get_each (struct hub_multi *m, struct hub_target *t, size_t n, const char *const *paths,
                   long timeout_ms, json_t **replies, char **errors)
{
  struct one *all = calloc (n ? n : 1, sizeof *all);
  size_t *order = calloc (n ? n : 1, sizeof *order);
  for (size_t i = 0; i < n; i++)
    {
      replies[i] = NULL;
      errors[i] = all && order ? NULL : strdup ("out of memory");
    }
  if (all == NULL || order == NULL)
    goto out;
  for (size_t i = 0; i < n; i++)
    order[i] = i;
  qsort_r (order, n, sizeof *order, by_base, t);
  double deadline = now_ms () + (double)timeout_ms;
  size_t rank = 0;
  for (size_t p = 0; p < n; p++)
    {
      size_t i = order[p];
      rank = p > 0 && strcmp (t[i].base, t[order[p - 1]].base) == 0 ? rank + 1 : 0;
      all[i].next = p + HOST_SLOTS < n && strcmp (t[i].base, t[order[p + HOST_SLOTS]].base) == 0
                        ? order[p + HOST_SLOTS]
                        : SIZE_MAX;
      if (rank < HOST_SLOTS)
        start_one (m, &t[i], &all[i], paths[i], deadline, &errors[i]);
    }
  int running = 1;
  bool started = true;
  while (running > 0 || started)
    {
      started = false;
      if (curl_multi_perform (m->multi, &running) != CURLM_OK)
        break;
      CURLMsg *msg;
      int left;
      while ((msg = curl_multi_info_read (m->multi, &left)) != NULL)
        {
          if (msg->msg != CURLMSG_DONE)
            continue;
          char *priv = NULL;
          curl_easy_getinfo (msg->easy_handle, CURLINFO_PRIVATE, &priv);
          struct one *o = (struct one *)priv;
          size_t i = (size_t)(o - all);
          finish_one (m, &t[i], o, msg->data.result, &replies[i], &errors[i]);
          /* The slot goes down the group until a transfer starts. */
          bool taken = false;
          for (size_t k = o->next; k != SIZE_MAX && !taken; k = all[k].next)
            taken = start_one (m, &t[k], &all[k], paths[k], deadline, &errors[k]);
          started = started || taken;
        }
      if (running > 0 && !started)
        curl_multi_poll (m->multi, NULL, 0, 200, NULL);
    }
  for (size_t i = 0; i < n; i++)
    {
      if (all[i].h) /* the multi handle failed */
        finish_one (m, &t[i], &all[i], CURLE_RECV_ERROR, &replies[i], &errors[i]);
      if (replies[i] == NULL && errors[i] == NULL)
        errors[i] = strdup ("no answer");
    }
out:
  free (order);
  free (all);
}
