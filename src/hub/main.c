/* reg-hub: the command line — serve (the default), and user management on
 * the hub's database. See docs/hub.md. */
#include "apps.h"
#include "auth.h"
#include "deploy.h"
#include "redeploy.h"
#include "hub.h"
#include "registry.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef HUB_WEB_DIR
#define HUB_WEB_DIR "/usr/local/share/reg-hub/web"
#endif

static void
usage (FILE *f)
{
  fprintf (
      f,
      "usage: reg-hub [serve] [options]       serve the web UI and API\n"
      "       reg-hub user add NAME [--role admin|viewer] [--data DIR]   password on stdin\n"
      "       reg-hub registry import LAYOUT [--data DIR]   templates into the hub's registry\n"
      "       reg-hub registry credential DEVICE [--data DIR]   a device's pull credential\n"
      "options:\n"
      "  --data DIR               database and certificate (default /var/lib/reg-hub)\n"
      "  --listen ADDR:PORT       HTTPS address (default 127.0.0.1:8443)\n"
      "  --tls-cert F --tls-key F certificate and key (default: self-signed, made once)\n"
      "  --web DIR                the UI's files (default " HUB_WEB_DIR ")\n"
      "  --vendor DIR             Debian's JS libraries (default /usr/share/javascript)\n"
      "  --probe-interval T       liveness round every T (default 5s)\n"
      "  --probe-timeout T        a device's answer within T (default 2s, < interval)\n"
      "  --sample-interval T      utilisation history every T (default 30s)\n"
      "  --retention T            history kept for T (default 7d)\n"
      "  --session-ttl T          a login lasts T (default 8h)\n"
      "  --pbkdf2-iterations N    password hashing (default and minimum 600000)\n"
      "  --admin-password-stdin   first start: the admin's password from stdin\n"
      "  --registry HOST[:PORT]/PREFIX   deploy through this registry (docs/hub.md)\n"
      "  --registry-insecure      plain HTTP to it (test registries only)\n"
      "  --registry-address H:P   where devices reach the hub's own registry (default --listen)\n"
      "  --registry-user NAME --registry-password-file F   its push credentials\n"
      "  --deploy-max-size SIZE   an upload, and what it expands to (default 256m)\n"
      "T: a number with ms, s, m, h or d.\n");
}

/* "500ms", "5s", "2m", "1h", "7d" -> milliseconds; -1 when bad. */
static long long
duration_ms (const char *s)
{
  char *end = NULL;
  errno = 0;
  long long v = strtoll (s, &end, 10);
  if (errno || end == s || v <= 0 || v > 1000000000LL)
    return -1;
  if (strcmp (end, "ms") == 0)
    return v;
  if (strcmp (end, "s") == 0 || *end == '\0')
    return v * 1000;
  if (strcmp (end, "m") == 0)
    return v * 60000;
  if (strcmp (end, "h") == 0)
    return v * 3600000;
  if (strcmp (end, "d") == 0)
    return v * 86400000;
  return -1;
}

/* --registry HOST[:PORT]/PREFIX: a registry host (with "." or ":" or
 * "localhost", Docker's rule) and at least one repository component. */
static int
registry_check (const char *s)
{
  const char *slash = strchr (s, '/');
  size_t hl = slash ? (size_t)(slash - s) : 0;
  bool host = slash && hl > 0
              && (memchr (s, '.', hl) || memchr (s, ':', hl)
                  || (hl == 9 && strncmp (s, "localhost", 9) == 0));
  bool ok = host && slash[1] != '\0' && s[strlen (s) - 1] != '/' && strstr (s, "://") == NULL
            && strlen (s) < 200;
  for (const char *p = slash ? slash + 1 : s; ok && *p; p++)
    ok = strchr ("abcdefghijklmnopqrstuvwxyz0123456789._-/", *p) != NULL;
  if (!ok)
    fprintf (stderr,
             "reg-hub: --registry \"%s\": want HOST[:PORT]/PREFIX (e.g. "
             "registry.example:5000/apps; lower-case repository names)\n",
             s);
  return ok ? 0 : -1;
}

static int
read_secret_file (const char *path, char **out)
{
  _cleanup_error_ struct reg_error *err = NULL;
  size_t len = 0;
  if (reg_util_read_file (path, 4096, out, &len, &err) < 0)
    {
      fprintf (stderr, "reg-hub: --registry-password-file: %s\n", err->msg);
      return -1;
    }
  (*out)[strcspn (*out, "\r\n")] = '\0';
  if ((*out)[0] == '\0')
    {
      fprintf (stderr, "reg-hub: --registry-password-file %s: empty\n", path);
      return -1;
    }
  return 0;
}

static int
read_password (char *buf, size_t size, const char *who)
{
  if (fgets (buf, (int)size, stdin) == NULL)
    {
      fprintf (stderr, "reg-hub: %s: no password on stdin\n", who);
      return -1;
    }
  buf[strcspn (buf, "\r\n")] = '\0';
  if (strlen (buf) < 8)
    {
      fprintf (stderr, "reg-hub: %s: the password must have at least 8 characters\n", who);
      return -1;
    }
  return 0;
}

static int
user_add (struct hub *h, const char *name, const char *role)
{
  _cleanup_error_ struct reg_error *err = NULL;
  char pw[1100];
  if (strcmp (role, "admin") != 0 && strcmp (role, "viewer") != 0)
    {
      fprintf (stderr, "reg-hub: user %s: role \"%s\": admin or viewer\n", name, role);
      return 2;
    }
  if (read_password (pw, sizeof pw, name) < 0)
    return 1;
  _cleanup_free_ char *hash = hub_auth_hash (pw, h->cfg.iterations, &err);
  if (hash == NULL || hub_store_user_add (h->store, name, role, hash, NULL, &err) < 0)
    {
      fprintf (stderr, "reg-hub: %s\n", err->msg);
      return 1;
    }
  hub_store_audit (h->store, "(command line)", 0, "user add", name, "ok");
  printf ("user %s (%s) added\n", name, role);
  return 0;
}

/* `reg-hub registry import LAYOUT`: the tagged templates of an OCI layout
 * (e.g. from `reg push --layout`) into the hub's registry. */
static int
registry_import (struct hub *h, const char *src)
{
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *refs = NULL;
  if (hub_registry_import (h->registry, src, &refs, &err) < 0)
    {
      fprintf (stderr, "reg-hub: %s\n", err->msg);
      return 1;
    }
  size_t i;
  json_t *ref;
  json_array_foreach (refs, i, ref)
  {
    printf ("%s\n", json_string_value (ref));
    hub_store_audit (h->store, "(command line)", 0, "registry import", json_string_value (ref),
                     "ok");
  }
  json_decref (refs);
  return 0;
}

/* `reg-hub registry credential DEVICE`: the user and password with which
 * the device (by name) pulls from the hub's registry, one per line. */
static int
registry_credential (struct hub *h, const char *name)
{
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *list = hub_store_device_list (h->store, 0, 0), *dev, *found = NULL;
  size_t i;
  json_array_foreach (list, i, dev)
  {
    if (strcmp (json_string_value (json_object_get (dev, "Name")), name) == 0)
      found = dev;
  }
  _cleanup_free_ char *user = NULL, *password = NULL;
  int rc = 1;
  if (found == NULL)
    fprintf (stderr, "reg-hub: device %s: no such device\n", name);
  else if (hub_registry_device_credential (h->registry, found, &user, &password, &err) < 0)
    fprintf (stderr, "reg-hub: device %s: %s\n", name, err->msg);
  else
    rc = printf ("%s\n%s\n", user, password) < 0;
  json_decref (list);
  return rc;
}

/* The first start makes an admin, with a password from stdin or a
 * generated one printed once. */
static int
first_admin (struct hub *h, bool from_stdin)
{
  if (hub_store_user_count (h->store) != 0)
    return 0;
  _cleanup_error_ struct reg_error *err = NULL;
  char pw[1100];
  if (from_stdin && read_password (pw, sizeof pw, "admin") < 0)
    return -1;
  if (!from_stdin && hub_auth_secret (NULL, pw, &err) < 0)
    return fprintf (stderr, "reg-hub: %s\n", err->msg), -1;
  _cleanup_free_ char *hash = hub_auth_hash (pw, h->cfg.iterations, &err);
  if (hash == NULL || hub_store_user_add (h->store, "admin", "admin", hash, NULL, &err) < 0)
    return fprintf (stderr, "reg-hub: %s\n", err->msg), -1;
  if (!from_stdin)
    fprintf (stderr,
             "reg-hub: first start: made user \"admin\" with password %s\n"
             "reg-hub: (shown once; add users with `reg-hub user add NAME`)\n",
             pw);
  return 0;
}

static int
serve (struct hub *h, bool admin_stdin)
{
  _cleanup_error_ struct reg_error *err = NULL;
  if (h->cfg.probe_timeout >= h->cfg.probe_interval)
    {
      fprintf (stderr, "reg-hub: --probe-timeout must be shorter than --probe-interval\n");
      return 2;
    }
  _cleanup_free_ char *index = NULL;
  if (asprintf (&index, "%s/index.html", h->cfg.web_dir) < 0 || access (index, R_OK) != 0)
    {
      fprintf (stderr, "reg-hub --web %s: no index.html there (the UI's files)\n", h->cfg.web_dir);
      return 2;
    }
  if (first_admin (h, admin_stdin) < 0)
    return 1;
  if (hub_apps_open (h, &err) < 0)
    {
      fprintf (stderr, "%s\n", err->msg);
      return 1;
    }
  hub_store_deployments_interrupted (h->store);
  if (hub_tls_ensure (h, &err) < 0 || hub_http_start (h, &err) < 0 || hub_probe_start (h, &err) < 0
      || hub_redeploy_start (h, &err) < 0)
    {
      fprintf (stderr, "%s\n", err->msg);
      return 1;
    }
  fprintf (stderr, "reg-hub: serving https://%s/ (data %s)\n", h->cfg.listen, h->cfg.data_dir);
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGTERM);
  int sig = 0;
  sigwait (&set, &sig);
  fprintf (stderr, "reg-hub: stopping\n");
  h->stopping = true;
  hub_redeploy_stop (h);
  hub_probe_stop (h);
  hub_http_stop (h);
  hub_deploy_wait (h);
  return 0;
}

int
main (int argc, char **argv)
{
  struct hub h = { .cfg = { .data_dir = "/var/lib/reg-hub",
                            .listen = "127.0.0.1:8443",
                            .web_dir = HUB_WEB_DIR,
                            .vendor_dir = "/usr/share/javascript",
                            .iterations = HUB_PBKDF2_MIN_ITERATIONS,
                            .session_ttl = 8 * 3600,
                            .probe_interval = 5000,
                            .probe_timeout = 2000,
                            .sample_interval = 30,
                            .retention = 7 * 86400,
                            .max_connections = 512,
                            .deploy_max_size = 256LL << 20,
                            .deploy_max_entries = 100000 } };
  static const struct option opts[] = { { "data", required_argument, NULL, 'd' },
                                        { "listen", required_argument, NULL, 'l' },
                                        { "tls-cert", required_argument, NULL, 'c' },
                                        { "tls-key", required_argument, NULL, 'k' },
                                        { "web", required_argument, NULL, 'w' },
                                        { "vendor", required_argument, NULL, 'V' },
                                        { "probe-interval", required_argument, NULL, 'i' },
                                        { "probe-timeout", required_argument, NULL, 't' },
                                        { "sample-interval", required_argument, NULL, 's' },
                                        { "retention", required_argument, NULL, 'r' },
                                        { "session-ttl", required_argument, NULL, 'S' },
                                        { "pbkdf2-iterations", required_argument, NULL, 'I' },
                                        { "admin-password-stdin", no_argument, NULL, 'a' },
                                        { "role", required_argument, NULL, 'R' },
                                        { "registry", required_argument, NULL, 'g' },
                                        { "registry-insecure", no_argument, NULL, 'G' },
                                        { "registry-address", required_argument, NULL, 'A' },
                                        { "registry-user", required_argument, NULL, 'u' },
                                        { "registry-password-file", required_argument, NULL, 'P' },
                                        { "deploy-max-size", required_argument, NULL, 'z' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  bool admin_stdin = false;
  const char *role = "viewer";
  int c;
  while ((c = getopt_long (argc, argv, "+h", opts, NULL)) != -1 || optind < argc)
    {
      if (c == -1)
        {
          /* A subcommand word; options may follow it. */
          optind++;
          continue;
        }
      long long ms = 0;
      if (strchr ("itsrS", c) && (ms = duration_ms (optarg)) < 0)
        {
          fprintf (stderr, "reg-hub: \"%s\" is not a duration (500ms, 5s, 2m, 1h, 7d)\n", optarg);
          return 2;
        }
      switch (c)
        {
        case 'd':
          h.cfg.data_dir = optarg;
          break;
        case 'l':
          h.cfg.listen = optarg;
          break;
        case 'c':
          h.cfg.tls_cert = optarg;
          break;
        case 'k':
          h.cfg.tls_key = optarg;
          break;
        case 'w':
          h.cfg.web_dir = optarg;
          break;
        case 'V':
          h.cfg.vendor_dir = optarg;
          break;
        case 'i':
          h.cfg.probe_interval = (unsigned)ms;
          break;
        case 't':
          h.cfg.probe_timeout = (unsigned)ms;
          break;
        case 's':
          h.cfg.sample_interval = (unsigned)(ms < 1000 ? 1 : ms / 1000);
          break;
        case 'r':
          h.cfg.retention = (unsigned)(ms / 1000);
          break;
        case 'S':
          h.cfg.session_ttl = (unsigned)(ms < 1000 ? 1 : ms / 1000);
          break;
        case 'a':
          admin_stdin = true;
          break;
        case 'R':
          role = optarg;
          break;
        case 'g':
          if (registry_check (optarg) < 0)
            return 2;
          h.cfg.registry = optarg;
          break;
        case 'G':
          h.cfg.registry_insecure = true;
          break;
        case 'A':
          if (strchr (optarg, '/') || strrchr (optarg, ':') == NULL || strlen (optarg) > 200)
            {
              fprintf (stderr, "reg-hub: --registry-address \"%s\": want HOST:PORT\n", optarg);
              return 2;
            }
          h.cfg.registry_address = optarg;
          break;
        case 'u':
          h.cfg.registry_user = optarg;
          break;
        case 'P':
          if (read_secret_file (optarg, &h.cfg.registry_password) < 0)
            return 2;
          break;
        case 'z':
          if (!reg_util_parse_size (optarg, &h.cfg.deploy_max_size) || h.cfg.deploy_max_size < 1024)
            {
              fprintf (stderr,
                       "reg-hub: --deploy-max-size \"%s\": a size of at least 1k (256m, 1g)\n",
                       optarg);
              return 2;
            }
          break;
        case 'I':
          {
            char *end = NULL;
            unsigned long n = strtoul (optarg, &end, 10);
            if (*end != '\0' || n < HUB_PBKDF2_MIN_ITERATIONS || n > 100000000)
              {
                fprintf (stderr, "reg-hub: --pbkdf2-iterations: %d to 100000000\n",
                         HUB_PBKDF2_MIN_ITERATIONS);
                return 2;
              }
            h.cfg.iterations = (unsigned)n;
            break;
          }
        case 'h':
          usage (stdout);
          return 0;
        default:
          usage (stderr);
          return 2;
        }
    }
  if ((h.cfg.registry_user == NULL) != (h.cfg.registry_password == NULL))
    {
      fprintf (stderr, "reg-hub: --registry-user and --registry-password-file go together\n");
      return 2;
    }
  if ((h.cfg.registry_insecure || h.cfg.registry_user) && h.cfg.registry == NULL)
    {
      fprintf (stderr, "reg-hub: --registry-insecure and --registry-user need --registry\n");
      return 2;
    }
  if (h.cfg.registry_address && h.cfg.registry)
    {
      fprintf (stderr, "reg-hub: --registry-address is the embedded registry's; --registry names "
                       "another\n");
      return 2;
    }
  /* Devices reach the embedded registry where the hub listens, unless
   * that is every address (then they must be told). */
  if (h.cfg.registry == NULL && h.cfg.registry_address == NULL
      && strncmp (h.cfg.listen, "0.0.0.0:", 8) != 0 && strncmp (h.cfg.listen, "[::]:", 5) != 0)
    h.cfg.registry_address = h.cfg.listen;
  /* Words left after the options, in order. */
  char *words[4] = { NULL };
  int nw = 0;
  for (int i = 1; i < argc && nw < 4; i++)
    {
      if (argv[i][0] == '-')
        {
          const struct option *o = opts;
          size_t len = strcspn (argv[i] + 2, "=");
          while (o->name && (strlen (o->name) != len || strncmp (argv[i] + 2, o->name, len) != 0))
            o++;
          if (o->name && o->has_arg == required_argument && strchr (argv[i], '=') == NULL)
            i++;
          continue;
        }
      words[nw++] = argv[i];
    }
  bool user_cmd = nw >= 1 && strcmp (words[0], "user") == 0;
  bool reg_cmd = nw == 3 && strcmp (words[0], "registry") == 0;
  bool import_cmd = reg_cmd && strcmp (words[1], "import") == 0;
  bool cred_cmd = reg_cmd && strcmp (words[1], "credential") == 0;
  if (!(nw == 0 || (nw == 1 && strcmp (words[0], "serve") == 0) || import_cmd || cred_cmd
        || (user_cmd && nw == 3 && strcmp (words[1], "add") == 0)))
    {
      usage (stderr);
      return 2;
    }
  /* One malloc arena per connection thread keeps what each freed: two
   * arenas hold the hub's memory to a few MB (docs/benchmarks.md). */
  mallopt (M_ARENA_MAX, 2);
  signal (SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGTERM);
  pthread_sigmask (SIG_BLOCK, &set, NULL); /* for sigwait; threads inherit it */
  curl_global_init (CURL_GLOBAL_DEFAULT);
  _cleanup_error_ struct reg_error *err = NULL;
  if (hub_store_open (h.cfg.data_dir, &h.store, &err) < 0
      || (!user_cmd && hub_registry_open (h.cfg.data_dir, &h.registry, &err) < 0))
    {
      fprintf (stderr, "reg-hub: %s\n", err->msg);
      hub_store_close (h.store);
      return 1;
    }
  int rc = user_cmd     ? user_add (&h, words[2], role)
           : import_cmd ? registry_import (&h, words[2])
           : cred_cmd   ? registry_credential (&h, words[2])
                        : serve (&h, admin_stdin);
  hub_apps_close (&h);
  hub_registry_free (h.registry);
  hub_store_close (h.store);
  free (h.cfg.registry_password);
  free (h.cert_pem);
  free (h.key_pem);
  curl_global_cleanup ();
  return rc;
}
