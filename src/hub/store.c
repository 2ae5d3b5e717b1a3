/* store: the SQLite backend (see store.h for the contract). */
#include "store.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct hub_store
{
  sqlite3 *db;
  pthread_mutex_t lock;
  uint64_t devices_gen;
};

/* Append-only: a released migration is never edited; a change is a new
 * entry. Issue 20 (deployments) adds its tables as the next one. */
static const char *const migrations[] = {
  /* 1: users, sessions, tokens, devices, history, audit */
  "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
  "  role TEXT NOT NULL CHECK (role IN ('admin','viewer')), hash TEXT NOT NULL,"
  "  created INTEGER NOT NULL);"
  "CREATE TABLE sessions (key TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),"
  "  csrf TEXT NOT NULL, expires INTEGER NOT NULL);"
  "CREATE TABLE tokens (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),"
  "  name TEXT NOT NULL, key TEXT NOT NULL UNIQUE, created INTEGER NOT NULL,"
  "  last_used INTEGER);"
  "CREATE TABLE devices (id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL REFERENCES users(id),"
  "  name TEXT NOT NULL UNIQUE, url TEXT NOT NULL, ca TEXT NOT NULL, token TEXT NOT NULL,"
  "  created INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'unknown', last_seen INTEGER,"
  "  error TEXT, info TEXT);"
  "CREATE TABLE samples (device INTEGER NOT NULL, t INTEGER NOT NULL, cpu REAL,"
  "  mem_used INTEGER, mem_total INTEGER, disk_used INTEGER, disk_total INTEGER);"
  "CREATE INDEX samples_by_device ON samples (device, t);"
  "CREATE TABLE container_samples (device INTEGER NOT NULL, t INTEGER NOT NULL,"
  "  container TEXT NOT NULL, name TEXT, cpu REAL, mem INTEGER);"
  "CREATE INDEX container_samples_by_device ON container_samples (device, container, t);"
  "CREATE TABLE audit (id INTEGER PRIMARY KEY, t INTEGER NOT NULL, user TEXT NOT NULL,"
  "  device INTEGER, device_name TEXT, action TEXT NOT NULL, target TEXT, result TEXT NOT NULL);"
  "CREATE INDEX audit_by_device ON audit (device, id);",
  /* 2: deployments (issue 20): one row per deployment, one per target
   * device, each step's seconds; devices get a group */
  "ALTER TABLE devices ADD COLUMN grp TEXT;"
  "CREATE TABLE deployments (id INTEGER PRIMARY KEY, app TEXT NOT NULL, version TEXT NOT NULL,"
  "  user TEXT NOT NULL, created INTEGER NOT NULL, finished INTEGER, state TEXT NOT NULL,"
  "  error TEXT, spec TEXT NOT NULL, template TEXT NOT NULL, digest TEXT, files INTEGER,"
  "  app_bytes INTEGER, make_s REAL, push_s REAL, push_bytes INTEGER);"
  "CREATE INDEX deployments_by_app ON deployments (app, id);"
  "CREATE TABLE deployment_devices (deployment INTEGER NOT NULL REFERENCES deployments(id),"
  "  device INTEGER NOT NULL, device_name TEXT NOT NULL, state TEXT NOT NULL, error TEXT,"
  "  container TEXT, mode TEXT, pull_s REAL, pull_bytes INTEGER, create_s REAL, start_s REAL,"
  "  healthy_s REAL, PRIMARY KEY (deployment, device));",
  /* 3: automatic redeploys of a container that stays unhealthy (redeploy.h) */
  "ALTER TABLE deployment_devices ADD COLUMN redeploys INTEGER NOT NULL DEFAULT 0;",
  /* 4: since when (seconds since the epoch) the redeploy watcher has seen
   * the container unhealthy, so that a hub restart keeps counting */
  "ALTER TABLE deployment_devices ADD COLUMN unhealthy_since REAL;",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

static int64_t
now_s (void)
{
  return (int64_t)time (NULL);
}

static int
db_fail (struct hub_store *s, struct reg_error **err, const char *what)
{
  int rc = sqlite3_extended_errcode (s->db);
  int code = (rc & 0xff) == SQLITE_CONSTRAINT ? EEXIST : EIO;
  return reg_error_set (err, code, "hub database: %s: %s", what, sqlite3_errmsg (s->db));
}

/* Bind values from `fmt`: i = int64, I = int64 or NULL when negative, t =
 * text (NULL binds NULL), d = double. */
static sqlite3_stmt *
prepare_v (struct hub_store *s, const char *sql, const char *fmt, va_list ap)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2 (s->db, sql, -1, &st, NULL) != SQLITE_OK)
    return NULL;
  for (int i = 0; fmt && fmt[i]; i++)
    {
      if (fmt[i] == 'i')
        sqlite3_bind_int64 (st, i + 1, va_arg (ap, int64_t));
      else if (fmt[i] == 'I') /* NULL when negative */
        {
          int64_t v = va_arg (ap, int64_t);
          if (v >= 0)
            sqlite3_bind_int64 (st, i + 1, v);
          else
            sqlite3_bind_null (st, i + 1);
        }
      else if (fmt[i] == 'd')
        sqlite3_bind_double (st, i + 1, va_arg (ap, double));
      else
        {
          const char *t = va_arg (ap, const char *);
          if (t)
            sqlite3_bind_text (st, i + 1, t, -1, SQLITE_TRANSIENT);
          else
            sqlite3_bind_null (st, i + 1);
        }
    }
  return st;
}

/* Run a statement without rows; returns sqlite3_changes or -1. */
static int
run (struct hub_store *s, struct reg_error **err, const char *what, const char *sql,
     const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  sqlite3_stmt *st = prepare_v (s, sql, fmt, ap);
  va_end (ap);
  if (st == NULL)
    return db_fail (s, err, what);
  int rc = sqlite3_step (st);
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return db_fail (s, err, what);
  return sqlite3_changes (s->db);
}

static json_t *
row_object (sqlite3_stmt *st)
{
  json_t *o = json_object ();
  for (int c = 0; c < sqlite3_column_count (st); c++)
    {
      const char *key = sqlite3_column_name (st, c);
      switch (sqlite3_column_type (st, c))
        {
        case SQLITE_INTEGER:
          json_object_set_new (o, key, json_integer (sqlite3_column_int64 (st, c)));
          break;
        case SQLITE_FLOAT:
          json_object_set_new (o, key, json_real (sqlite3_column_double (st, c)));
          break;
        case SQLITE_NULL:
          json_object_set_new (o, key, json_null ());
          break;
        default:
          json_object_set_new (o, key, json_string ((const char *)sqlite3_column_text (st, c)));
        }
    }
  /* Columns holding JSON text come back as JSON. */
  static const char *const json_cols[] = { "Info", "Spec" };
  for (size_t i = 0; i < sizeof json_cols / sizeof json_cols[0]; i++)
    {
      json_t *text = json_object_get (o, json_cols[i]);
      if (!json_is_string (text))
        continue;
      json_t *parsed = json_loads (json_string_value (text), 0, NULL);
      json_object_set_new (o, json_cols[i], parsed ? parsed : json_null ());
    }
  return o;
}

/* Rows as an array of objects (column aliases are the keys). */
static json_t *
query (struct hub_store *s, const char *sql, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  sqlite3_stmt *st = prepare_v (s, sql, fmt, ap);
  va_end (ap);
  if (st == NULL)
    return NULL;
  json_t *rows = json_array ();
  while (sqlite3_step (st) == SQLITE_ROW)
    json_array_append_new (rows, row_object (st));
  sqlite3_finalize (st);
  return rows;
}

static json_t *
first (json_t *rows)
{
  json_t *o = json_array_size (rows) ? json_incref (json_array_get (rows, 0)) : NULL;
  json_decref (rows);
  return o;
}

#define LOCK(s) pthread_mutex_lock (&(s)->lock)
#define UNLOCK(s) pthread_mutex_unlock (&(s)->lock)

static int
migrate (struct hub_store *s, struct reg_error **err)
{
  sqlite3_stmt *st = NULL;
  int version = 0;
  if (sqlite3_prepare_v2 (s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK
      && sqlite3_step (st) == SQLITE_ROW)
    version = sqlite3_column_int (st, 0);
  sqlite3_finalize (st);
  if (version > N_MIGRATIONS)
    return reg_error_set (err, EINVAL,
                          "hub database: schema version %d is newer than this reg-hub (%d)",
                          version, N_MIGRATIONS);
  for (int v = version; v < N_MIGRATIONS; v++)
    {
      char *msg = NULL;
      _cleanup_free_ char *sql = NULL;
      if (asprintf (&sql, "BEGIN; %s PRAGMA user_version = %d; COMMIT;", migrations[v], v + 1) < 0)
        return reg_error_set (err, ENOMEM, "hub database: out of memory");
      if (sqlite3_exec (s->db, sql, NULL, NULL, &msg) != SQLITE_OK)
        {
          reg_error_set (err, EIO, "hub database: migration %d: %s", v + 1, msg ? msg : "?");
          sqlite3_free (msg);
          sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
          return -1;
        }
    }
  return 0;
}

int
hub_store_open (const char *dir, struct hub_store **out, struct reg_error **err)
{
  if (reg_util_mkdir_p (dir, 0700, err) < 0)
    return reg_error_prefix (err, "hub data directory %s", dir);
  _cleanup_free_ char *path = NULL;
  if (asprintf (&path, "%s/hub.db", dir) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  struct hub_store *s = calloc (1, sizeof *s);
  if (s == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  pthread_mutex_init (&s->lock, NULL);
  mode_t old = umask (077);
  int rc = sqlite3_open_v2 (
      path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
  umask (old);
  if (rc != SQLITE_OK)
    {
      reg_error_set (err, EIO, "hub database %s: %s", path,
                     s->db ? sqlite3_errmsg (s->db) : "cannot open");
      hub_store_close (s);
      return -1;
    }
  sqlite3_busy_timeout (s->db, 5000);
  sqlite3_exec (s->db,
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                "PRAGMA foreign_keys = ON;"
                /* 512 kB of pages (SQLite's default is 2 MB): the hub's
                 * memory target is 30 MB, and the kernel's page cache
                 * holds the file anyway. */
                "PRAGMA cache_size = -512;",
                NULL, NULL, NULL);
  if (migrate (s, err) < 0)
    {
      reg_error_prefix (err, "%s", path);
      hub_store_close (s);
      return -1;
    }
  *out = s;
  return 0;
}

void
hub_store_close (struct hub_store *s)
{
  if (s == NULL)
    return;
  sqlite3_close (s->db);
  pthread_mutex_destroy (&s->lock);
  free (s);
}

int
hub_store_schema_version (struct hub_store *s)
{
  LOCK (s);
  json_t *r = first (query (s, "PRAGMA user_version", NULL));
  UNLOCK (s);
  int v = r ? (int)json_integer_value (json_object_get (r, "user_version")) : -1;
  json_decref (r);
  return v;
}

/* ---- users ---- */

#define USER_COLS "id AS Id, name AS Name, role AS Role, created AS Created"

int
hub_store_user_add (struct hub_store *s, const char *name, const char *role, const char *hash,
                    int64_t *id, struct reg_error **err)
{
  LOCK (s);
  int rc
      = run (s, err, "add user", "INSERT INTO users (name, role, hash, created) VALUES (?,?,?,?)",
             "ttti", name, role, hash, now_s ());
  if (rc >= 0 && id)
    *id = sqlite3_last_insert_rowid (s->db);
  UNLOCK (s);
  if (rc < 0 && (*err)->code == EEXIST)
    {
      reg_error_free (*err);
      *err = NULL;
      return reg_error_set (err, EEXIST, "user %s already exists", name);
    }
  return rc < 0 ? -1 : 0;
}

json_t *
hub_store_user_get (struct hub_store *s, const char *name)
{
  LOCK (s);
  json_t *r = first (
      query (s, "SELECT " USER_COLS ", hash AS Hash FROM users WHERE name = ?", "t", name));
  UNLOCK (s);
  return r;
}

json_t *
hub_store_user_by_id (struct hub_store *s, int64_t id)
{
  LOCK (s);
  json_t *r = first (query (s, "SELECT " USER_COLS " FROM users WHERE id = ?", "i", id));
  UNLOCK (s);
  return r;
}

json_t *
hub_store_user_list (struct hub_store *s)
{
  LOCK (s);
  json_t *r = query (s,
                     "SELECT " USER_COLS ", (SELECT count(*) FROM devices d WHERE d.owner_id = "
                     "users.id) AS Devices FROM users ORDER BY name",
                     NULL);
  UNLOCK (s);
  return r;
}

int
hub_store_user_count (struct hub_store *s)
{
  LOCK (s);
  json_t *r = first (query (s, "SELECT count(*) AS n FROM users", NULL));
  UNLOCK (s);
  int n = r ? (int)json_integer_value (json_object_get (r, "n")) : -1;
  json_decref (r);
  return n;
}

int
hub_store_user_set_hash (struct hub_store *s, int64_t id, const char *hash, struct reg_error **err)
{
  LOCK (s);
  int rc = run (s, err, "set password", "UPDATE users SET hash = ? WHERE id = ?", "ti", hash, id);
  UNLOCK (s);
  return rc < 0 ? -1 : 0;
}

int
hub_store_user_set_role (struct hub_store *s, int64_t id, const char *role, struct reg_error **err)
{
  LOCK (s);
  int rc = run (s, err, "set role", "UPDATE users SET role = ? WHERE id = ?", "ti", role, id);
  UNLOCK (s);
  if (rc == 0)
    return reg_error_set (err, ENOENT, "no user with id %lld", (long long)id);
  return rc < 0 ? -1 : 0;
}

int
hub_store_user_delete (struct hub_store *s, int64_t id, struct reg_error **err)
{
  LOCK (s);
  json_t *r = first (query (s, "SELECT count(*) AS n FROM devices WHERE owner_id = ?", "i", id));
  int owned = r ? (int)json_integer_value (json_object_get (r, "n")) : 0;
  json_decref (r);
  int rc = -1;
  if (owned > 0)
    reg_error_set (err, EBUSY, "the user owns %d device(s): give them to another user first",
                   owned);
  else if (sqlite3_exec (s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK)
    {
      rc = run (s, err, "remove sessions", "DELETE FROM sessions WHERE user_id = ?", "i", id);
      if (rc >= 0)
        rc = run (s, err, "remove tokens", "DELETE FROM tokens WHERE user_id = ?", "i", id);
      if (rc >= 0)
        rc = run (s, err, "remove user", "DELETE FROM users WHERE id = ?", "i", id);
      if (rc == 0)
        rc = reg_error_set (err, ENOENT, "no user with id %lld", (long long)id);
      sqlite3_exec (s->db, rc < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
    }
  UNLOCK (s);
  return rc < 0 ? -1 : 0;
}

/* ---- sessions ---- */

int
hub_store_session_add (struct hub_store *s, const char *key, int64_t user_id, const char *csrf,
                       int64_t expires, struct reg_error **err)
{
  LOCK (s);
  int rc = run (s, err, "add session",
                "INSERT INTO sessions (key, user_id, csrf, expires) VALUES (?,?,?,?)", "titi", key,
                user_id, csrf, expires);
  UNLOCK (s);
  return rc < 0 ? -1 : 0;
}

json_t *
hub_store_session_get (struct hub_store *s, const char *key, int64_t now)
{
  LOCK (s);
  json_t *r = first (query (s,
                            "SELECT u.id AS Id, u.name AS Name, u.role AS Role, s.csrf AS Csrf, "
                            "s.expires AS Expires FROM sessions s JOIN users u ON u.id = "
                            "s.user_id WHERE s.key = ? AND s.expires > ?",
                            "ti", key, now));
  UNLOCK (s);
  return r;
}

void
hub_store_session_delete (struct hub_store *s, const char *key)
{
  LOCK (s);
  run (s, NULL, "remove session", "DELETE FROM sessions WHERE key = ?", "t", key);
  UNLOCK (s);
}

void
hub_store_session_purge (struct hub_store *s, int64_t now)
{
  LOCK (s);
  run (s, NULL, "purge sessions", "DELETE FROM sessions WHERE expires <= ?", "i", now);
  UNLOCK (s);
}

/* ---- API tokens ---- */

int
hub_store_token_add (struct hub_store *s, int64_t user_id, const char *name, const char *key,
                     int64_t *id, struct reg_error **err)
{
  LOCK (s);
  int rc = run (s, err, "add token",
                "INSERT INTO tokens (user_id, name, key, created) VALUES (?,?,?,?)", "itti",
                user_id, name, key, now_s ());
  if (rc >= 0 && id)
    *id = sqlite3_last_insert_rowid (s->db);
  UNLOCK (s);
  return rc < 0 ? -1 : 0;
}

json_t *
hub_store_token_list (struct hub_store *s, int64_t user_id)
{
  LOCK (s);
  json_t *r = query (s,
                     "SELECT id AS Id, name AS Name, created AS Created, last_used AS LastUsed "
                     "FROM tokens WHERE user_id = ? ORDER BY id",
                     "i", user_id);
  UNLOCK (s);
  return r;
}

json_t *
hub_store_token_get (struct hub_store *s, const char *key, int64_t now)
{
  LOCK (s);
  json_t *r = first (query (s,
                            "SELECT u.id AS Id, u.name AS Name, u.role AS Role, t.id AS TokenId "
                            "FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.key = ?",
                            "t", key));
  if (r)
    run (s, NULL, "token use", "UPDATE tokens SET last_used = ? WHERE key = ?", "it", now, key);
  UNLOCK (s);
  return r;
}

int
hub_store_token_delete (struct hub_store *s, int64_t user_id, int64_t id, struct reg_error **err)
{
  LOCK (s);
  int rc = run (s, err, "revoke token", "DELETE FROM tokens WHERE id = ? AND user_id = ?", "ii", id,
                user_id);
  UNLOCK (s);
  if (rc == 0)
    return reg_error_set (err, ENOENT, "token %lld: no such token of yours", (long long)id);
  return rc < 0 ? -1 : 0;
}

/* ---- devices ---- */

#define DEVICE_COLS                                                                                \
  "d.id AS Id, d.name AS Name, d.url AS Url, d.owner_id AS OwnerId, u.name AS Owner, "             \
  "d.created AS Created, d.state AS State, d.last_seen AS LastSeen, d.error AS Error, "            \
  "d.info AS Info, d.grp AS \"Group\""
#define DEVICE_SECRETS ", d.ca AS Ca, d.token AS Token"

static int
name_taken (struct hub_store *s, struct reg_error **err, const char *name)
{
  reg_error_free (*err);
  *err = NULL;
  return reg_error_set (err, EEXIST, "device %s: the name is taken", name);
}

int
hub_store_device_add (struct hub_store *s, int64_t owner_id, const char *name, const char *url,
                      const char *ca, const char *token, int64_t *id, struct reg_error **err)
{
  LOCK (s);
  s->devices_gen++;
  int rc = run (s, err, "add device",
                "INSERT INTO devices (owner_id, name, url, ca, token, created) VALUES "
                "(?,?,?,?,?,?)",
                "itttti", owner_id, name, url, ca, token, now_s ());
  if (rc >= 0 && id)
    *id = sqlite3_last_insert_rowid (s->db);
  UNLOCK (s);
  if (rc < 0 && (*err)->code == EEXIST)
    return name_taken (s, err, name);
  return rc < 0 ? -1 : 0;
}

json_t *
hub_store_device_get (struct hub_store *s, int64_t id, int with_secrets)
{
  LOCK (s);
  json_t *r = first (query (s,
                            with_secrets ? "SELECT " DEVICE_COLS DEVICE_SECRETS
                                           " FROM devices d JOIN users u ON u.id = d.owner_id "
                                           "WHERE d.id = ?"
                                         : "SELECT " DEVICE_COLS
                                           " FROM devices d JOIN users u ON u.id = d.owner_id "
                                           "WHERE d.id = ?",
                            "i", id));
  UNLOCK (s);
  return r;
}

json_t *
hub_store_device_list (struct hub_store *s, int64_t owner_id, int with_secrets)
{
  const char *sql = with_secrets ? "SELECT " DEVICE_COLS DEVICE_SECRETS
                                   " FROM devices d JOIN users u ON u.id = d.owner_id WHERE "
                                   "(? = 0 OR d.owner_id = ?) ORDER BY d.name"
                                 : "SELECT " DEVICE_COLS
                                   " FROM devices d JOIN users u ON u.id = d.owner_id WHERE "
                                   "(? = 0 OR d.owner_id = ?) ORDER BY d.name";
  LOCK (s);
  json_t *r = query (s, sql, "ii", owner_id, owner_id);
  UNLOCK (s);
  return r;
}

/* Each row as SQLite's json_object, joined into an array: the same
 * objects as hub_store_device_list's (an unparsable Info is null). */
char *
hub_store_device_list_json (struct hub_store *s, int64_t owner_id, size_t *len)
{
  static const char sql[]
      = "SELECT json_object('Id', d.id, 'Name', d.name, 'Url', d.url, 'OwnerId', d.owner_id, "
        "'Owner', u.name, 'Created', d.created, 'State', d.state, 'LastSeen', d.last_seen, "
        "'Error', d.error, 'Info', CASE WHEN json_valid(d.info) THEN json(d.info) END, "
        "'Group', d.grp) FROM devices d JOIN users u ON u.id = d.owner_id "
        "WHERE (?1 = 0 OR d.owner_id = ?1) ORDER BY d.name";
  size_t cap = 4096, n = 0;
  char *out = malloc (cap);
  sqlite3_stmt *st = NULL;
  LOCK (s);
  int rc = out && sqlite3_prepare_v2 (s->db, sql, -1, &st, NULL) == SQLITE_OK ? SQLITE_ROW : -1;
  if (st)
    sqlite3_bind_int64 (st, 1, owner_id);
  if (out)
    out[n++] = '[';
  while (rc == SQLITE_ROW && (rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *row = (const char *)sqlite3_column_text (st, 0);
      size_t rl = row ? strlen (row) : 0;
      if (n + rl + 3 > cap)
        {
          cap = 2 * (n + rl + 3);
          char *bigger = realloc (out, cap);
          if (bigger == NULL)
            break;
          out = bigger;
        }
      if (n > 1)
        out[n++] = ',';
      memcpy (out + n, row, rl);
      n += rl;
    }
  sqlite3_finalize (st);
  UNLOCK (s);
  if (rc != SQLITE_DONE)
    {
      free (out);
      return NULL;
    }
  out[n++] = ']';
  out[n] = '\0';
  *len = n;
  return out;
}

json_t *
hub_store_device_targets (struct hub_store *s)
{
  LOCK (s);
  json_t *r = query (s,
                     "SELECT id AS Id, name AS Name, url AS Url, ca AS Ca, token AS Token, "
                     "state AS State, json_valid(info) AS HasInfo FROM devices ORDER BY name",
                     NULL);
  UNLOCK (s);
  return r;
}

int
hub_store_device_update (struct hub_store *s, int64_t id, json_t *fields, struct reg_error **err)
{
  static const char *const cols[][2]
      = { { "Name", "name" },   { "Url", "url" },          { "Ca", "ca" },
          { "Token", "token" }, { "OwnerId", "owner_id" }, { "Group", "grp" } };
  LOCK (s);
  s->devices_gen++;
  int rc = sqlite3_exec (s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
  for (size_t i = 0; rc >= 0 && i < sizeof cols / sizeof cols[0]; i++)
    {
      json_t *v = json_object_get (fields, cols[i][0]);
      if (v == NULL)
        continue;
      char sql[128];
      snprintf (sql, sizeof sql, "UPDATE devices SET %s = ? WHERE id = ?", cols[i][1]);
      if (json_is_integer (v))
        rc = run (s, err, "update device", sql, "ii", (int64_t)json_integer_value (v), id);
      else if (json_is_null (v))
        rc = run (s, err, "update device", sql, "ti", (const char *)NULL, id);
      else
        rc = run (s, err, "update device", sql, "ti", json_string_value (v), id);
      if (rc == 0)
        rc = reg_error_set (err, ENOENT, "no device with id %lld", (long long)id);
    }
  /* A changed address or credential: the state is unknown until probed. */
  if (rc >= 0
      && (json_object_get (fields, "Url") || json_object_get (fields, "Ca")
          || json_object_get (fields, "Token")))
    rc = run (s, err, "update device", "UPDATE devices SET state = 'unknown' WHERE id = ?", "i",
              id);
  sqlite3_exec (s->db, rc < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
  UNLOCK (s);
  if (rc < 0 && (*err)->code == EEXIST)
    return name_taken (s, err, json_string_value (json_object_get (fields, "Name")));
  return rc < 0 ? -1 : 0;
}

int
hub_store_device_delete (struct hub_store *s, int64_t id, struct reg_error **err)
{
  LOCK (s);
  s->devices_gen++;
  int rc = sqlite3_exec (s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
  if (rc >= 0)
    rc = run (s, err, "remove device", "DELETE FROM devices WHERE id = ?", "i", id);
  if (rc == 0)
    rc = reg_error_set (err, ENOENT, "no device with id %lld", (long long)id);
  if (rc >= 0)
    rc = run (s, err, "remove history", "DELETE FROM samples WHERE device = ?", "i", id);
  if (rc >= 0)
    rc = run (s, err, "remove history", "DELETE FROM container_samples WHERE device = ?", "i", id);
  sqlite3_exec (s->db, rc < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
  UNLOCK (s);
  return rc < 0 ? -1 : 0;
}

uint64_t
hub_store_devices_generation (struct hub_store *s)
{
  LOCK (s);
  uint64_t g = s->devices_gen;
  UNLOCK (s);
  return g;
}

int
hub_store_device_states (struct hub_store *s, json_t *results, struct reg_error **err)
{
  LOCK (s);
  s->devices_gen++;
  int rc = sqlite3_exec (s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
  size_t i;
  json_t *r;
  json_array_foreach (results, i, r)
  {
    if (rc < 0)
      break;
    int64_t id = json_integer_value (json_object_get (r, "Id"));
    json_t *seen = json_object_get (r, "LastSeen");
    json_t *info = json_object_get (r, "Info");
    _cleanup_free_ char *info_text = info ? json_dumps (info, JSON_COMPACT) : NULL;
    rc = run (s, err, "device state",
              "UPDATE devices SET state = ?, error = ?, last_seen = coalesce(?, last_seen), "
              "info = coalesce(?, info) WHERE id = ?",
              "ttIti", json_string_value (json_object_get (r, "State")),
              json_string_value (json_object_get (r, "Error")),
              seen ? (int64_t)json_integer_value (seen) : (int64_t)-1, info_text, id);
  }
  sqlite3_exec (s->db, rc < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
  UNLOCK (s);
  return rc < 0 ? -1 : 0;
}

/* ---- history ---- */

static int64_t
iv (json_t *o, const char *k)
{
  return (int64_t)json_integer_value (json_object_get (o, k));
}

int
hub_store_samples_add (struct hub_store *s, json_t *device_samples, json_t *container_samples,
                       struct reg_error **err)
{
  LOCK (s);
  int rc = sqlite3_exec (s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
  size_t i;
  json_t *o;
  json_array_foreach (device_samples, i, o)
  {
    if (rc < 0)
      break;
    rc = run (s, err, "add sample",
              "INSERT INTO samples (device, t, cpu, mem_used, mem_total, disk_used, disk_total) "
              "VALUES (?,?,?,?,?,?,?)",
              "iidiiii", iv (o, "Device"), iv (o, "T"),
              json_number_value (json_object_get (o, "Cpu")), iv (o, "MemUsed"), iv (o, "MemTotal"),
              iv (o, "DiskUsed"), iv (o, "DiskTotal"));
  }
  json_array_foreach (container_samples, i, o)
  {
    if (rc < 0)
      break;
    rc = run (s, err, "add sample",
              "INSERT INTO container_samples (device, t, container, name, cpu, mem) VALUES "
              "(?,?,?,?,?,?)",
              "iittdi", iv (o, "Device"), iv (o, "T"),
              json_string_value (json_object_get (o, "Container")),
              json_string_value (json_object_get (o, "Name")),
              json_number_value (json_object_get (o, "Cpu")), iv (o, "Mem"));
  }
  sqlite3_exec (s->db, rc < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
  UNLOCK (s);
  return rc < 0 ? -1 : 0;
}

json_t *
hub_store_samples (struct hub_store *s, int64_t device, int64_t since)
{
  LOCK (s);
  json_t *r = query (s,
                     "SELECT t AS T, cpu AS Cpu, mem_used AS MemUsed, mem_total AS MemTotal, "
                     "disk_used AS DiskUsed, disk_total AS DiskTotal FROM samples WHERE device = ? "
                     "AND t >= ? ORDER BY t",
                     "ii", device, since);
  UNLOCK (s);
  return r;
}

json_t *
hub_store_container_samples (struct hub_store *s, int64_t device, const char *container,
                             int64_t since)
{
  LOCK (s);
  json_t *r
      = query (s,
               "SELECT t AS T, cpu AS Cpu, mem AS Mem FROM container_samples WHERE device = ? "
               "AND (container = ? OR name = ?) AND t >= ? ORDER BY t",
               "itti", device, container, container, since);
  UNLOCK (s);
  return r;
}

void
hub_store_samples_prune (struct hub_store *s, int64_t before)
{
  LOCK (s);
  run (s, NULL, "prune", "DELETE FROM samples WHERE t < ?", "i", before);
  run (s, NULL, "prune", "DELETE FROM container_samples WHERE t < ?", "i", before);
  UNLOCK (s);
}

/* ---- audit ---- */

void
hub_store_audit (struct hub_store *s, const char *user, int64_t device, const char *action,
                 const char *target, const char *result)
{
  LOCK (s);
  run (s, NULL, "audit",
       "INSERT INTO audit (t, user, device, device_name, action, target, result) VALUES "
       "(?, ?, ?, (SELECT name FROM devices WHERE id = ?), ?, ?, ?)",
       "itIittt", now_s (), user, device > 0 ? device : (int64_t)-1, device, action, target,
       result);
  UNLOCK (s);
}

json_t *
hub_store_audit_list (struct hub_store *s, int64_t owner_id, int64_t device, int limit)
{
  LOCK (s);
  json_t *r = query (s,
                     "SELECT a.id AS Id, a.t AS T, a.user AS User, a.device AS Device, "
                     "a.device_name AS DeviceName, a.action AS Action, a.target AS Target, "
                     "a.result AS Result FROM audit a LEFT JOIN devices d ON d.id = a.device "
                     "WHERE (? = 0 OR d.owner_id = ?) AND (? = 0 OR a.device = ?) "
                     "ORDER BY a.id DESC LIMIT ?",
                     "iiiii", owner_id, owner_id, device, device, (int64_t)limit);
  UNLOCK (s);
  return r;
}

/* ---- deployments ---- */

#define DEPLOY_COLS                                                                                \
  "id AS Id, app AS App, version AS Version, user AS User, created AS Created, finished AS "       \
  "Finished, state AS State, error AS Error, spec AS Spec, template AS Template, digest AS "       \
  "Digest, files AS Files, app_bytes AS AppBytes, make_s AS MakeSeconds, push_s AS PushSeconds, "  \
  "push_bytes AS PushBytes"
#define TARGET_COLS                                                                                \
  "device AS Device, device_name AS DeviceName, state AS State, error AS Error, container AS "     \
  "Container, mode AS Mode, pull_s AS PullSeconds, pull_bytes AS PullBytes, create_s AS "          \
  "CreateSeconds, start_s AS StartSeconds, healthy_s AS HealthySeconds, redeploys AS Redeploys, "  \
  "unhealthy_since AS UnhealthySince"

int64_t
hub_store_deployment_next_version (struct hub_store *s, const char *app)
{
  LOCK (s);
  json_t *r = first (query (s,
                            "SELECT max(CAST(version AS INTEGER)) AS v FROM deployments WHERE "
                            "app = ? AND version GLOB '[0-9]*' AND version NOT GLOB '*[^0-9]*'",
                            "t", app));
  UNLOCK (s);
  int64_t v = r ? json_integer_value (json_object_get (r, "v")) : 0;
  json_decref (r);
  return v + 1;
}

int
hub_store_deployment_add (struct hub_store *s, json_t *d, json_t *targets, int64_t *id,
                          struct reg_error **err)
{
  _cleanup_free_ char *spec = json_dumps (json_object_get (d, "Spec"), JSON_COMPACT);
  if (spec == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  LOCK (s);
  int rc = sqlite3_exec (s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
  if (rc < 0)
    db_fail (s, err, "add deployment");
  if (rc >= 0)
    rc = run (s, err, "add deployment",
              "INSERT INTO deployments (app, version, user, created, state, spec, template, "
              "digest, files, app_bytes, make_s) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
              "tttittttiid", json_string_value (json_object_get (d, "App")),
              json_string_value (json_object_get (d, "Version")),
              json_string_value (json_object_get (d, "User")), now_s (),
              json_string_value (json_object_get (d, "State")), spec,
              json_string_value (json_object_get (d, "Template")),
              json_string_value (json_object_get (d, "Digest")),
              (int64_t)json_integer_value (json_object_get (d, "Files")),
              (int64_t)json_integer_value (json_object_get (d, "AppBytes")),
              json_real_value (json_object_get (d, "MakeSeconds")));
  int64_t did = sqlite3_last_insert_rowid (s->db);
  size_t i;
  json_t *t;
  json_array_foreach (targets, i, t)
  {
    if (rc < 0)
      break;
    rc = run (s, err, "add deployment target",
              "INSERT INTO deployment_devices (deployment, device, device_name, state) VALUES "
              "(?,?,?,'waiting')",
              "iit", did, (int64_t)json_integer_value (json_object_get (t, "Id")),
              json_string_value (json_object_get (t, "Name")));
  }
  sqlite3_exec (s->db, rc < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
  UNLOCK (s);
  if (rc >= 0 && id)
    *id = did;
  return rc < 0 ? -1 : 0;
}

/* Set the fields given (API names) of one row; `cols` maps them. */
static int
update_row (struct hub_store *s, const char *table, const char *where, int64_t a, int64_t b,
            const char *const (*cols)[2], size_t n, json_t *fields, struct reg_error **err)
{
  int rc = 0;
  LOCK (s);
  for (size_t i = 0; rc >= 0 && i < n; i++)
    {
      json_t *v = json_object_get (fields, cols[i][0]);
      if (v == NULL)
        continue;
      char sql[200];
      snprintf (sql, sizeof sql, "UPDATE %s SET %s = ? WHERE %s", table, cols[i][1], where);
      if (json_is_integer (v))
        rc = run (s, err, table, sql, "iii", (int64_t)json_integer_value (v), a, b);
      else if (json_is_real (v))
        rc = run (s, err, table, sql, "dii", json_real_value (v), a, b);
      else
        rc = run (s, err, table, sql, "tii", json_string_value (v), a, b);
    }
  UNLOCK (s);
  return rc < 0 ? -1 : 0;
}

int
hub_store_deployment_update (struct hub_store *s, int64_t id, json_t *fields,
                             struct reg_error **err)
{
  static const char *const cols[][2]
      = { { "State", "state" },        { "Error", "error" },        { "Finished", "finished" },
          { "Digest", "digest" },      { "Files", "files" },        { "AppBytes", "app_bytes" },
          { "MakeSeconds", "make_s" }, { "PushSeconds", "push_s" }, { "PushBytes", "push_bytes" } };
  return update_row (s, "deployments", "id = ? AND ? = 0", id, 0, cols,
                     sizeof cols / sizeof cols[0], fields, err);
}

int
hub_store_deployment_target_update (struct hub_store *s, int64_t id, int64_t device, json_t *fields,
                                    struct reg_error **err)
{
  static const char *const cols[][2] = {
    { "State", "state" },
    { "Error", "error" },
    { "Container", "container" },
    { "Mode", "mode" },
    { "PullSeconds", "pull_s" },
    { "PullBytes", "pull_bytes" },
    { "CreateSeconds", "create_s" },
    { "StartSeconds", "start_s" },
    { "HealthySeconds", "healthy_s" },
    { "Redeploys", "redeploys" },
    { "UnhealthySince", "unhealthy_since" },
  };
  return update_row (s, "deployment_devices", "deployment = ? AND device = ?", id, device, cols,
                     sizeof cols / sizeof cols[0], fields, err);
}

json_t *
hub_store_deployment_get (struct hub_store *s, int64_t id)
{
  LOCK (s);
  json_t *d = first (query (s, "SELECT " DEPLOY_COLS " FROM deployments WHERE id = ?", "i", id));
  if (d)
    json_object_set_new (d, "Devices",
                         query (s,
                                "SELECT " TARGET_COLS " FROM deployment_devices WHERE "
                                "deployment = ? ORDER BY device_name",
                                "i", id));
  UNLOCK (s);
  return d;
}

json_t *
hub_store_deployment_list (struct hub_store *s, const char *app, int limit)
{
  LOCK (s);
  json_t *r = query (s,
                     "SELECT " DEPLOY_COLS ", (SELECT count(*) FROM deployment_devices t WHERE "
                     "t.deployment = d.id) AS Targets, (SELECT count(*) FROM deployment_devices "
                     "t WHERE t.deployment = d.id AND t.state = 'healthy') AS Healthy FROM "
                     "deployments d WHERE (? IS NULL OR app = ?) ORDER BY id DESC LIMIT ?",
                     "tti", app, app, (int64_t)limit);
  UNLOCK (s);
  return r;
}

/* A hub stopped mid-deployment left it running: failed, with the reason. */
void
hub_store_deployments_interrupted (struct hub_store *s)
{
  LOCK (s);
  run (s, NULL, "deployments",
       "UPDATE deployment_devices SET state = 'failed', error = 'the hub stopped during the "
       "deployment' WHERE state NOT IN ('healthy', 'running', 'failed', 'rolled back', "
       "'skipped') AND deployment IN (SELECT id FROM deployments WHERE state IN ('pending', "
       "'pushing', 'deploying'))",
       NULL);
  run (s, NULL, "deployments",
       "UPDATE deployments SET state = 'failed', error = 'the hub stopped during the deployment', "
       "finished = ? WHERE state IN ('pending', 'pushing', 'deploying')",
       "i", now_s ());
  UNLOCK (s);
}
