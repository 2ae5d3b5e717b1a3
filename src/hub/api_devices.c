/* /api/v1/devices[/{id}[/info|/stats|/history|/containers...|/templates...]] */
#include "hub.h"
#include "regd_client.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

json_t *
hub_device_for (struct hub_req *r, int64_t id, bool secrets)
{
  json_t *dev = id > 0 ? hub_store_device_get (r->hub->store, id, secrets) : NULL;
  if (dev && !hub_is_admin (r)
      && json_integer_value (json_object_get (dev, "OwnerId")) != hub_user_id (r))
    {
      json_decref (dev);
      dev = NULL;
    }
  if (dev == NULL)
    hub_reply_message (r, MHD_HTTP_NOT_FOUND, "device %lld: no such device", (long long)id);
  return dev;
}

static bool
refuse_viewer (struct hub_req *r, const char *what)
{
  if (hub_is_admin (r))
    return false;
  hub_reply_message (r, MHD_HTTP_FORBIDDEN, "%s: a viewer can change nothing", what);
  return true;
}

/* Check the fields a user gives; every one present must be valid. */
static int
check_fields (struct hub_req *r, json_t *body, bool adding, struct reg_error **err)
{
  char base[300];
  const char *const need[] = { "Name", "Url", "Ca", "Token" };
  for (size_t i = 0; i < 4; i++)
    {
      json_t *v = json_object_get (body, need[i]);
      if (v == NULL && adding)
        return reg_error_set (err, EINVAL, "device: %s is required", need[i]);
      if (v != NULL && !json_is_string (v))
        return reg_error_set (err, EINVAL, "device: %s must be a string", need[i]);
    }
  if (json_object_get (body, "Name") && hub_device_name_check (hub_str (body, "Name"), err) < 0)
    return -1;
  if (json_object_get (body, "Url")
      && hub_device_url_parse (hub_str (body, "Url"), base, sizeof base, err) < 0)
    return -1;
  if (json_object_get (body, "Ca") && hub_device_ca_check (hub_str (body, "Ca"), err) < 0)
    return -1;
  if (json_object_get (body, "Token") && hub_device_token_check (hub_str (body, "Token"), err) < 0)
    return -1;
  json_t *group = json_object_get (body, "Group");
  if (group && !json_is_null (group)
      && (!json_is_string (group) || hub_device_name_check (json_string_value (group), NULL) < 0))
    return reg_error_set (err, EINVAL,
                          "device: Group must be a name (as a device's) or null for none");
  json_t *owner = json_object_get (body, "Owner");
  if (owner != NULL)
    {
      json_t *u = json_is_string (owner)
                      ? hub_store_user_get (r->hub->store, hub_str (body, "Owner"))
                      : NULL;
      if (u == NULL)
        return reg_error_set (err, EINVAL, "device: Owner \"%s\" is not a user",
                              json_is_string (owner) ? json_string_value (owner) : "?");
      json_object_set_new (body, "OwnerId",
                           json_integer (json_integer_value (json_object_get (u, "Id"))));
      json_decref (u);
    }
  return 0;
}

/* A device that answers but refuses us (wrong CA, wrong token) is not
 * registered: that is a mistake in what was given. One that does not
 * answer is (it may be off). */
static int
try_device (struct hub_req *r, json_t *dev, struct reg_error **err)
{
  bool online = false;
  if (hub_probe_one (r->hub, dev, &online, err) < 0)
    {
      (*err)->code = EINVAL;
      return -1;
    }
  return 0;
}

static int
set_group (struct hub_req *r, int64_t id, json_t *body, struct reg_error **err)
{
  json_t *group = json_object_get (body, "Group");
  if (group == NULL)
    return 0;
  json_t *fields = json_pack ("{s:O}", "Group", group);
  int rc = hub_store_device_update (r->hub->store, id, fields, err);
  json_decref (fields);
  return rc;
}

static enum MHD_Result
device_add (struct hub_req *r)
{
  static const char *const keys[] = { "Name", "Url", "Ca", "Token", "Owner", "Group", NULL };
  _cleanup_error_ struct reg_error *err = NULL;
  if (refuse_viewer (r, "add device"))
    return MHD_YES;
  json_t *body = hub_body (r, keys, &err);
  if (body == NULL)
    return hub_reply_error (r, err);
  enum MHD_Result ret;
  int64_t owner = json_object_get (body, "Owner") ? 0 : hub_user_id (r);
  int64_t id = 0;
  json_object_set_new (body, "Id", json_integer (0));
  if (check_fields (r, body, true, &err) < 0 || try_device (r, body, &err) < 0)
    ret = hub_reply_error (r, err);
  else if (hub_store_device_add (r->hub->store,
                                 owner ? owner
                                       : json_integer_value (json_object_get (body, "OwnerId")),
                                 hub_str (body, "Name"), hub_str (body, "Url"),
                                 hub_str (body, "Ca"), hub_str (body, "Token"), &id, &err)
               < 0
           || set_group (r, id, body, &err) < 0)
    ret = hub_reply_error (r, err);
  else
    {
      json_t *dev = hub_store_device_get (r->hub->store, id, true);
      bool online = false;
      _cleanup_error_ struct reg_error *perr = NULL;
      hub_probe_one (r->hub, dev, &online, &perr);
      json_decref (dev);
      hub_audit (r, id, "device add", hub_str (body, "Name"), "ok");
      ret = hub_reply_json (r, MHD_HTTP_CREATED, hub_store_device_get (r->hub->store, id, false));
    }
  json_decref (body);
  return ret;
}

static enum MHD_Result
device_edit (struct hub_req *r, json_t *dev)
{
  static const char *const keys[] = { "Name", "Url", "Ca", "Token", "Owner", "Group", NULL };
  _cleanup_error_ struct reg_error *err = NULL;
  int64_t id = json_integer_value (json_object_get (dev, "Id"));
  json_t *body = hub_body (r, keys, &err);
  if (body == NULL)
    return hub_reply_error (r, err);
  /* What it would be: the stored values with the changes. */
  json_t *next = json_deep_copy (dev);
  json_object_update (next, body);
  enum MHD_Result ret;
  if (check_fields (r, body, false, &err) < 0 || try_device (r, next, &err) < 0)
    ret = hub_reply_error (r, err);
  else
    {
      json_object_del (body, "Owner");
      if (hub_store_device_update (r->hub->store, id, body, &err) < 0)
        ret = hub_reply_error (r, err);
      else
        {
          json_t *now = hub_store_device_get (r->hub->store, id, true);
          bool online = false;
          _cleanup_error_ struct reg_error *perr = NULL;
          hub_probe_one (r->hub, now, &online, &perr);
          json_decref (now);
          hub_audit (r, id, "device edit", hub_str (dev, "Name"), "ok");
          ret = hub_reply_json (r, MHD_HTTP_OK, hub_store_device_get (r->hub->store, id, false));
        }
    }
  json_decref (next);
  json_decref (body);
  return ret;
}

/* A live reading from the device, within the probe timeout or 10 s,
 * whichever is longer: a df walks the device's store, and a loaded device
 * takes longer than a liveness answer. */
#define LIVE_TIMEOUT_MS 10000

static enum MHD_Result
device_get_live (struct hub_req *r, json_t *dev, const char *path)
{
  _cleanup_error_ struct reg_error *err = NULL;
  struct hub_target t;
  json_t *reply = NULL;
  if (hub_target_init (&t, dev, &err) < 0)
    return hub_reply_error (r, err);
  long timeout = r->hub->cfg.probe_timeout > LIVE_TIMEOUT_MS ? (long)r->hub->cfg.probe_timeout
                                                             : LIVE_TIMEOUT_MS;
  long status = hub_regd_call (&t, "GET", path, NULL, timeout, &reply, &err);
  if (status < 0)
    return hub_reply_error (r, err);
  if (status != 200)
    {
      hub_regd_fail (&t, CURLE_OK, status, reply, &err);
      json_decref (reply);
      return hub_reply_error (r, err);
    }
  return hub_reply_json (r, MHD_HTTP_OK, reply);
}

static enum MHD_Result
history (struct hub_req *r, int64_t id)
{
  const char *s = hub_query (r, "since");
  const char *c = hub_query (r, "container");
  long long ago = s ? strtoll (s, NULL, 10) : 3600;
  if (ago <= 0 || ago > 400LL * 24 * 3600)
    return hub_reply_message (r, MHD_HTTP_BAD_REQUEST, "history: since is 1 to 34560000 seconds");
  int64_t since = hub_now () - ago;
  if (c)
    return hub_reply_json (r, MHD_HTTP_OK,
                           hub_store_container_samples (r->hub->store, id, c, since));
  return hub_reply_json (r, MHD_HTTP_OK, hub_store_samples (r->hub->store, id, since));
}

static enum MHD_Result
one_device (struct hub_req *r, int64_t id, char **parts, size_t n)
{
  bool get = strcmp (r->method, "GET") == 0;
  json_t *dev = hub_device_for (r, id, true);
  if (dev == NULL)
    return MHD_YES;
  enum MHD_Result ret;
  _cleanup_error_ struct reg_error *err = NULL;
  if (n == 2 && get)
    {
      json_object_del (dev, "Ca");
      json_object_del (dev, "Token");
      ret = hub_reply_json (r, MHD_HTTP_OK, json_incref (dev));
    }
  else if (n == 2 && (strcmp (r->method, "PATCH") == 0 || strcmp (r->method, "PUT") == 0))
    ret = refuse_viewer (r, "edit device") ? MHD_YES : device_edit (r, dev);
  else if (n == 2 && strcmp (r->method, "DELETE") == 0)
    {
      if (refuse_viewer (r, "remove device"))
        ret = MHD_YES;
      else if (hub_store_device_delete (r->hub->store, id, &err) < 0)
        ret = hub_reply_error (r, err);
      else
        {
          hub_store_audit (r->hub->store, hub_user_name (r), 0, "device remove",
                           hub_str (dev, "Name"), "ok");
          ret = hub_reply_empty (r, MHD_HTTP_NO_CONTENT);
        }
    }
  else if (n == 3 && get && strcmp (parts[2], "info") == 0)
    ret = device_get_live (r, dev, "/v1/system/info");
  else if (n == 3 && get && strcmp (parts[2], "stats") == 0)
    ret = device_get_live (r, dev, "/v1/system/stats");
  else if (n == 3 && get && strcmp (parts[2], "df") == 0)
    ret = device_get_live (r, dev, "/v1/system/df");
  else if (n == 3 && get && strcmp (parts[2], "history") == 0)
    ret = history (r, id);
  else if (strcmp (parts[2], "containers") == 0 || strcmp (parts[2], "templates") == 0)
    ret = hub_api_containers (r, dev, parts + 2, n - 2);
  else
    ret = hub_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s %s", r->method, r->url);
  json_decref (dev);
  return ret;
}

/* The device list is what every open dashboard asks for every 2 s; it
 * changes once a probe round. Its rendering (JSON, and gzip of it) is kept
 * per owner (0: an admin's, all devices) until the devices change. */
struct list_cache
{
  int64_t owner;
  uint64_t generation;
  char *text, *gz;
  size_t len, gz_len;
  struct list_cache *next;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct list_cache *cache;

/* gzip (RFC 1952) of text, allocated; NULL on failure. */
static char *
gzip_of (const char *text, size_t len, size_t *out_len)
{
  z_stream z = { 0 };
  if (deflateInit2 (&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return NULL;
  size_t cap = deflateBound (&z, len);
  char *out = malloc (cap);
  z.next_in = (Bytef *)text;
  z.avail_in = (uInt)len;
  z.next_out = (Bytef *)out;
  z.avail_out = (uInt)cap;
  int rc = out ? deflate (&z, Z_FINISH) : Z_MEM_ERROR;
  *out_len = z.total_out;
  deflateEnd (&z);
  if (rc != Z_STREAM_END)
    {
      free (out);
      return NULL;
    }
  /* The bound is the text's size or more; the list compresses 50 times. */
  char *fit = realloc (out, *out_len ? *out_len : 1);
  if (fit != NULL)
    out = fit;
  return out;
}

static enum MHD_Result
reply_list (struct hub_req *r, const struct list_cache *c)
{
  const char *a = MHD_lookup_connection_value (r->conn, MHD_HEADER_KIND, "Accept-Encoding");
  if (c->gz && a && strstr (a, "gzip"))
    {
      struct MHD_Response *resp
          = MHD_create_response_from_buffer (c->gz_len, c->gz, MHD_RESPMEM_MUST_COPY);
      MHD_add_response_header (resp, "Content-Encoding", "gzip");
      MHD_add_response_header (resp, "Vary", "Accept-Encoding");
      return hub_queue_json (r, MHD_HTTP_OK, resp);
    }
  return hub_reply_text (r, MHD_HTTP_OK, c->text, c->len);
}

static enum MHD_Result
device_list (struct hub_req *r)
{
  int64_t owner = hub_is_admin (r) ? 0 : hub_user_id (r);
  uint64_t gen = hub_store_devices_generation (r->hub->store);
  pthread_mutex_lock (&cache_lock);
  struct list_cache *c = cache;
  while (c && c->owner != owner)
    c = c->next;
  if (c && c->generation == gen)
    {
      enum MHD_Result ret = reply_list (r, c);
      pthread_mutex_unlock (&cache_lock);
      return ret;
    }
  pthread_mutex_unlock (&cache_lock);
  /* Rendered outside the lock; a write meanwhile bumps the generation, so
   * what is kept is never newer-labelled than its content. */
  struct list_cache fresh = { .owner = owner, .generation = gen };
  fresh.text = hub_store_device_list_json (r->hub->store, owner, &fresh.len);
  if (fresh.text == NULL)
    return hub_reply_message (r, MHD_HTTP_INTERNAL_SERVER_ERROR, "devices: cannot list");
  fresh.gz = gzip_of (fresh.text, fresh.len, &fresh.gz_len);
  enum MHD_Result ret = reply_list (r, &fresh);
  pthread_mutex_lock (&cache_lock);
  for (c = cache; c && c->owner != owner; c = c->next)
    ;
  if (c == NULL && (c = calloc (1, sizeof *c)) != NULL)
    {
      c->owner = owner;
      c->next = cache;
      cache = c;
    }
  if (c && c->generation <= gen)
    {
      free (c->text);
      free (c->gz);
      fresh.next = c->next;
      *c = fresh;
      fresh.text = fresh.gz = NULL;
    }
  pthread_mutex_unlock (&cache_lock);
  free (fresh.text);
  free (fresh.gz);
  return ret;
}

enum MHD_Result
hub_api_devices (struct hub_req *r, char **parts, size_t n)
{
  if (n == 1 && strcmp (r->method, "GET") == 0)
    return device_list (r);
  if (n == 1 && strcmp (r->method, "POST") == 0)
    return device_add (r);
  if (n == 1)
    return hub_reply_message (r, MHD_HTTP_METHOD_NOT_ALLOWED, "devices: GET or POST");
  char *end = NULL;
  long long id = strtoll (parts[1], &end, 10);
  if (*end != '\0' || id <= 0)
    return hub_reply_message (r, MHD_HTTP_NOT_FOUND, "device \"%s\": no such device", parts[1]);
  return one_device (r, id, parts, n);
}
