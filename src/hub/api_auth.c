/* /api/v1/login, /logout, /session, /users, /tokens, /audit */
#include "auth.h"
#include "hub.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool
valid_user_name (const char *name)
{
  size_t n = name ? strlen (name) : 0;
  if (n == 0 || n > 64)
    return false;
  for (const char *p = name; *p; p++)
    if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9')
        && !strchr ("._-@", *p))
      return false;
  return true;
}

static enum MHD_Result
new_session (struct hub_req *r, json_t *user)
{
  struct hub *h = r->hub;
  _cleanup_error_ struct reg_error *err = NULL;
  char secret[64], csrf[64], key[65];
  if (hub_auth_secret (NULL, secret, &err) < 0 || hub_auth_secret (NULL, csrf, &err) < 0)
    return hub_reply_error (r, err);
  hub_auth_key (secret, key);
  int64_t expires = hub_now () + h->cfg.session_ttl;
  int64_t id = json_integer_value (json_object_get (user, "Id"));
  if (hub_store_session_add (h->store, key, id, csrf, expires, &err) < 0)
    return hub_reply_error (r, err);
  if (asprintf (&r->set_cookie,
                "reghub_session=%s; Path=/; Max-Age=%u; HttpOnly; Secure; SameSite=Strict", secret,
                h->cfg.session_ttl)
      < 0)
    return MHD_NO;
  hub_store_session_purge (h->store, hub_now ());
  return hub_reply_json (r, MHD_HTTP_OK,
                         json_pack ("{s:s, s:s, s:s, s:I}", "Name", hub_str (user, "Name"), "Role",
                                    hub_str (user, "Role"), "Csrf", csrf, "Expires",
                                    (json_int_t)expires));
}

/* Raise an old hash's iterations to the hub's figure. */
static void
rehash (struct hub *h, json_t *user, const char *password)
{
  if (!hub_auth_needs_rehash (hub_str (user, "Hash"), h->cfg.iterations))
    return;
  _cleanup_error_ struct reg_error *err = NULL;
  _cleanup_free_ char *hash = hub_auth_hash (password, h->cfg.iterations, &err);
  if (hash)
    hub_store_user_set_hash (h->store, json_integer_value (json_object_get (user, "Id")), hash,
                             &err);
}

enum MHD_Result
hub_api_login (struct hub_req *r)
{
  if (strcmp (r->method, "POST") != 0)
    return hub_reply_message (r, MHD_HTTP_METHOD_NOT_ALLOWED, "login: POST {Name, Password}");
  static const char *const keys[] = { "Name", "Password", NULL };
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *body = hub_body (r, keys, &err);
  if (body == NULL)
    return hub_reply_error (r, err);
  const char *name = hub_str (body, "Name"), *password = hub_str (body, "Password");
  enum MHD_Result ret;
  unsigned wait = name ? hub_auth_throttle_wait (name, r->addr, hub_now ()) : 0;
  if (name == NULL || password == NULL)
    ret = hub_reply_message (r, MHD_HTTP_BAD_REQUEST, "login: Name and Password are required");
  else if (wait > 0)
    {
      char w[32];
      snprintf (w, sizeof w, "%u", wait);
      ret = hub_reply_message (r, MHD_HTTP_TOO_MANY_REQUESTS,
                               "too many failed logins: try again in %u s", wait);
      hub_store_audit (r->hub->store, name, 0, "login", r->addr, "throttled");
    }
  else
    {
      json_t *user = hub_store_user_get (r->hub->store, name);
      /* An unknown user costs a hash too, so timing does not tell names. */
      bool ok = hub_auth_verify (password, user ? hub_str (user, "Hash")
                                                : "pbkdf2-sha256$600000$AAAAAAAAAAAAAAAAAAAAAA=="
                                                  "$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
      if (ok && user)
        {
          hub_auth_throttle_ok (name, r->addr);
          rehash (r->hub, user, password);
          hub_store_audit (r->hub->store, name, 0, "login", r->addr, "ok");
          ret = new_session (r, user);
        }
      else
        {
          hub_auth_throttle_fail (name, r->addr, hub_now ());
          hub_store_audit (r->hub->store, name, 0, "login", r->addr, "wrong password");
          ret = hub_reply_message (r, MHD_HTTP_UNAUTHORIZED, "wrong user name or password");
        }
      json_decref (user);
    }
  json_decref (body);
  return ret;
}

static enum MHD_Result
session (struct hub_req *r)
{
  if (strcmp (r->method, "GET") == 0)
    {
      json_t *u
          = json_pack ("{s:s, s:s}", "Name", hub_user_name (r), "Role", hub_str (r->user, "Role"));
      if (r->by_cookie)
        {
          json_object_set (u, "Csrf", json_object_get (r->user, "Csrf"));
          json_object_set (u, "Expires", json_object_get (r->user, "Expires"));
        }
      return hub_reply_json (r, MHD_HTTP_OK, u);
    }
  return hub_reply_message (r, MHD_HTTP_METHOD_NOT_ALLOWED, "session: GET");
}

static enum MHD_Result
logout (struct hub_req *r)
{
  if (r->by_cookie)
    hub_store_session_delete (r->hub->store, r->session_key);
  r->set_cookie = strdup ("reghub_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict");
  return hub_reply_empty (r, MHD_HTTP_NO_CONTENT);
}

/* ---- users (admins) ---- */

static enum MHD_Result
user_add (struct hub_req *r)
{
  static const char *const keys[] = { "Name", "Password", "Role", NULL };
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *body = hub_body (r, keys, &err);
  if (body == NULL)
    return hub_reply_error (r, err);
  const char *name = hub_str (body, "Name"), *password = hub_str (body, "Password");
  const char *role = hub_str (body, "Role") ? hub_str (body, "Role") : "viewer";
  enum MHD_Result ret;
  int64_t id = 0;
  _cleanup_free_ char *hash = NULL;
  if (!valid_user_name (name))
    ret = hub_reply_message (r, MHD_HTTP_BAD_REQUEST,
                             "user name: 1 to 64 letters, digits, '.', '_', '-' or '@'");
  else if (password == NULL || strlen (password) < 8 || strlen (password) > 1024)
    ret = hub_reply_message (r, MHD_HTTP_BAD_REQUEST, "user %s: a password of 8 to 1024 characters",
                             name);
  else if (strcmp (role, "admin") != 0 && strcmp (role, "viewer") != 0)
    ret = hub_reply_message (r, MHD_HTTP_BAD_REQUEST, "user %s: role \"%s\": admin or viewer", name,
                             role);
  else if ((hash = hub_auth_hash (password, r->hub->cfg.iterations, &err)) == NULL
           || hub_store_user_add (r->hub->store, name, role, hash, &id, &err) < 0)
    ret = hub_reply_error (r, err);
  else
    {
      hub_audit (r, 0, "user add", name, "ok");
      ret = hub_reply_json (r, MHD_HTTP_CREATED, hub_store_user_by_id (r->hub->store, id));
    }
  json_decref (body);
  return ret;
}

static enum MHD_Result
users (struct hub_req *r, const char *name, const char *what)
{
  bool get = strcmp (r->method, "GET") == 0;
  if (!hub_is_admin (r) && !(get && name == NULL))
    return hub_reply_message (r, MHD_HTTP_FORBIDDEN, "users: only an admin manages users");
  if (name == NULL && get)
    {
      if (!hub_is_admin (r)) /* a viewer sees itself */
        return hub_reply_json (r, MHD_HTTP_OK, json_pack ("[O]", r->user ? r->user : json_null ()));
      return hub_reply_json (r, MHD_HTTP_OK, hub_store_user_list (r->hub->store));
    }
  if (name == NULL && strcmp (r->method, "POST") == 0)
    return user_add (r);
  if (name == NULL || what != NULL)
    return hub_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s %s", r->method, r->url);
  json_t *u = hub_store_user_get (r->hub->store, name);
  if (u == NULL)
    return hub_reply_message (r, MHD_HTTP_NOT_FOUND, "user %s: no such user", name);
  int64_t id = json_integer_value (json_object_get (u, "Id"));
  json_decref (u);
  _cleanup_error_ struct reg_error *err = NULL;
  if (strcmp (r->method, "DELETE") == 0)
    {
      if (id == hub_user_id (r))
        return hub_reply_message (r, MHD_HTTP_CONFLICT, "user %s: you cannot remove yourself",
                                  name);
      if (hub_store_user_delete (r->hub->store, id, &err) < 0)
        return reg_error_prefix (&err, "user %s", name), hub_reply_error (r, err);
      hub_audit (r, 0, "user remove", name, "ok");
      return hub_reply_empty (r, MHD_HTTP_NO_CONTENT);
    }
  return hub_reply_message (r, MHD_HTTP_METHOD_NOT_ALLOWED, "users/%s: GET or DELETE", name);
}

/* ---- API tokens (each user their own) ---- */

static enum MHD_Result
token_add (struct hub_req *r)
{
  static const char *const keys[] = { "Name", NULL };
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *body = hub_body (r, keys, &err);
  if (body == NULL)
    return hub_reply_error (r, err);
  const char *name = hub_str (body, "Name");
  char secret[64], key[65];
  int64_t id = 0;
  enum MHD_Result ret;
  if (name == NULL || *name == '\0' || strlen (name) > 128)
    ret = hub_reply_message (r, MHD_HTTP_BAD_REQUEST, "token: a Name of 1 to 128 characters");
  else if (hub_auth_secret ("rht_", secret, &err) < 0)
    ret = hub_reply_error (r, err);
  else
    {
      hub_auth_key (secret, key);
      if (hub_store_token_add (r->hub->store, hub_user_id (r), name, key, &id, &err) < 0)
        ret = hub_reply_error (r, err);
      else
        {
          hub_audit (r, 0, "token create", name, "ok");
          ret = hub_reply_json (
              r, MHD_HTTP_CREATED,
              json_pack ("{s:I, s:s, s:s}", "Id", (json_int_t)id, "Name", name, "Token", secret));
        }
    }
  json_decref (body);
  return ret;
}

static enum MHD_Result
tokens (struct hub_req *r, const char *id_text)
{
  if (id_text == NULL && strcmp (r->method, "GET") == 0)
    return hub_reply_json (r, MHD_HTTP_OK, hub_store_token_list (r->hub->store, hub_user_id (r)));
  if (id_text == NULL && strcmp (r->method, "POST") == 0)
    return token_add (r);
  if (id_text != NULL && strcmp (r->method, "DELETE") == 0)
    {
      char *end = NULL;
      long long id = strtoll (id_text, &end, 10);
      if (*end != '\0' || id <= 0)
        return hub_reply_message (r, MHD_HTTP_BAD_REQUEST, "token \"%s\": not a token id", id_text);
      _cleanup_error_ struct reg_error *err = NULL;
      if (hub_store_token_delete (r->hub->store, hub_user_id (r), id, &err) < 0)
        return hub_reply_error (r, err);
      hub_audit (r, 0, "token revoke", id_text, "ok");
      return hub_reply_empty (r, MHD_HTTP_NO_CONTENT);
    }
  return hub_reply_message (r, MHD_HTTP_METHOD_NOT_ALLOWED, "tokens: GET, POST or DELETE /ID");
}

static enum MHD_Result
audit (struct hub_req *r)
{
  if (strcmp (r->method, "GET") != 0)
    return hub_reply_message (r, MHD_HTTP_METHOD_NOT_ALLOWED, "audit: GET");
  const char *d = hub_query (r, "device"), *l = hub_query (r, "limit");
  long long device = d ? strtoll (d, NULL, 10) : 0;
  long limit = l ? strtol (l, NULL, 10) : 200;
  if (limit <= 0 || limit > 5000)
    return hub_reply_message (r, MHD_HTTP_BAD_REQUEST, "audit: limit is 1 to 5000");
  if (device > 0)
    {
      json_t *dev = hub_device_for (r, device, false);
      if (dev == NULL)
        return MHD_YES;
      json_decref (dev);
    }
  /* A viewer sees what happened to its own devices; admins everything. */
  return hub_reply_json (r, MHD_HTTP_OK,
                         hub_store_audit_list (r->hub->store,
                                               hub_is_admin (r) ? 0 : hub_user_id (r), device,
                                               (int)limit));
}

enum MHD_Result
hub_api_auth (struct hub_req *r, char **parts, size_t n)
{
  if (strcmp (parts[0], "session") == 0 && n == 1)
    return session (r);
  if (strcmp (parts[0], "logout") == 0 && n == 1 && strcmp (r->method, "POST") == 0)
    return logout (r);
  if (strcmp (parts[0], "users") == 0 && n <= 3)
    return users (r, parts[1], n > 2 ? parts[2] : NULL);
  if (strcmp (parts[0], "tokens") == 0 && n <= 2)
    return tokens (r, parts[1]);
  if (strcmp (parts[0], "audit") == 0 && n == 1)
    return audit (r);
  if (strcmp (parts[0], "probe") == 0 && n == 1 && strcmp (r->method, "GET") == 0)
    return hub_reply_json (r, MHD_HTTP_OK, hub_probe_status (r->hub));
  if (strcmp (parts[0], "version") == 0 && n == 1)
    return hub_reply_json (r, MHD_HTTP_OK,
                           json_pack ("{s:s, s:s}", "Version", HUB_VERSION, "ApiVersion", "1"));
  return hub_reply_message (r, MHD_HTTP_NOT_FOUND, "no such route: %s %s", r->method, r->url);
}
