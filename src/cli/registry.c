/* reg push / pull / login / logout, `reg image load`, and `reg template ls
 * REF`: templates to and from OCI registries and image-layout directories,
 * images from docker save and OCI archives. regd does the
 * transfers; credentials stay here ($REG_CONFIG or ~/.config/reg/auth.json,
 * mode 0600) and travel to regd in the request body. */
#include "cli.h"
#include "options.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct opts
{
  const char *layout;
  char *ca; /* --ca FILE's certificates (PEM), sent to regd as "Ca" */
  bool insecure, quiet, as_image;
};

static void
opts_done (struct opts *o)
{
  free (o->ca);
}
#define _cleanup_opts_ __attribute__ ((cleanup (opts_done)))

static char *
config_path (void)
{
  const char *env = getenv ("REG_CONFIG");
  if (env && *env)
    return strdup (env);
  const char *home = getenv ("HOME");
  char *p = NULL;
  if (asprintf (&p, "%s/.config/reg/auth.json", home && *home ? home : "/root") < 0)
    return NULL;
  return p;
}

static json_t *
config_load (const char *path)
{
  json_t *j = json_load_file (path, 0, NULL);
  if (!json_is_object (j))
    {
      json_decref (j);
      j = json_object ();
    }
  if (!json_is_object (json_object_get (j, "auths")))
    json_object_set_new (j, "auths", json_object ());
  return j;
}

static int
config_save (const char *path, json_t *j)
{
  _cleanup_free_ char *dir = strdup (path);
  char *slash = dir ? strrchr (dir, '/') : NULL;
  if (slash && slash != dir)
    {
      *slash = '\0';
      reg_util_mkdir_p (dir, 0700, NULL);
    }
  _cleanup_free_ char *text = json_dumps (j, JSON_INDENT (2));
  _cleanup_error_ struct reg_error *err = NULL;
  if (text == NULL || reg_util_write_atomic (path, text, strlen (text), 0600, &err) < 0)
    {
      fprintf (stderr, "reg: credentials %s: %s\n", path, err ? err->msg : "out of memory");
      return 1;
    }
  return 0;
}

/* Docker's rule: the first component is a host when it has '.' or ':' or
 * is localhost. NULL: no host (a layout reference). */
static char *
ref_host (const char *ref)
{
  const char *slash = strchr (ref, '/');
  if (slash == NULL)
    return NULL;
  char *h = strndup (ref, slash - ref);
  if (h && (strchr (h, '.') || strchr (h, ':') || strcmp (h, "localhost") == 0))
    return h;
  free (h);
  return NULL;
}

static json_t *
request_body (const char *ref, const char *tmpl, const struct opts *o)
{
  json_t *body = json_pack ("{s:s, s:b}", "Ref", ref, "Insecure", o->insecure);
  if (tmpl)
    json_object_set_new (body, "Template", json_string (tmpl));
  if (o->ca)
    json_object_set_new (body, "Ca", json_string (o->ca));
  if (o->as_image)
    json_object_set_new (body, "AsImage", json_true ());
  if (o->layout)
    {
      char *abs = realpath (o->layout, NULL);
      if (abs == NULL && o->layout[0] != '/')
        {
          char cwd[4096];
          if (getcwd (cwd, sizeof cwd) && asprintf (&abs, "%s/%s", cwd, o->layout) < 0)
            abs = NULL;
        }
      json_object_set_new (body, "Layout", json_string (abs ? abs : o->layout));
      free (abs);
    }
  _cleanup_free_ char *host = ref_host (ref), *path = config_path ();
  if (host && path)
    {
      json_t *cfg = config_load (path);
      json_t *a = json_object_get (json_object_get (cfg, "auths"), host);
      if (json_is_object (a))
        json_object_set (body, "Auth", a);
      json_decref (cfg);
    }
  return body;
}

/* ---- progress ---- */

struct bar
{
  char id[13];
  char status[24];
  long long cur, total;
  double start;
};

struct progress
{
  bool tty, quiet;
  struct bar *bars;
  size_t n;
  json_t *result;
  char *error;
};

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
human (double bytes, char *out, size_t size)
{
  const char *units[] = { "B", "kB", "MB", "GB", "TB" };
  int u = 0;
  while (bytes >= 1000 && u < 4)
    bytes /= 1000, u++;
  snprintf (out, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

static void
draw (const struct bar *b)
{
  char cur[16], total[16], rate[16];
  human (b->cur, cur, sizeof cur);
  human (b->total, total, sizeof total);
  double secs = now () - b->start;
  human (secs > 0 ? b->cur / secs : 0, rate, sizeof rate);
  printf ("\r\033[2K%s: %-11s", b->id, b->status);
  if (b->total > 0)
    {
      int width = 30, fill = (int)(width * (double)b->cur / b->total);
      printf (" [");
      for (int i = 0; i < width; i++)
        putchar (i < fill ? '=' : (i == fill ? '>' : ' '));
      printf ("] %s/%s %s/s", cur, total, rate);
    }
}

static void
on_line (void *data, json_t *line)
{
  struct progress *p = data;
  json_t *result = json_object_get (line, "Result");
  const char *error = json_string_value (json_object_get (line, "Error"));
  if (result)
    {
      p->result = json_incref (result);
      return;
    }
  if (error)
    {
      p->error = strdup (error);
      return;
    }
  const char *id = json_string_value (json_object_get (line, "Id"));
  const char *status = json_string_value (json_object_get (line, "Status"));
  if (p->quiet || id == NULL || status == NULL)
    return;
  long long cur = json_integer_value (json_object_get (line, "Current"));
  long long total = json_integer_value (json_object_get (line, "Total"));
  bool transient = strcmp (status, "downloading") == 0 || strcmp (status, "uploading") == 0;
  if (!p->tty)
    {
      if (!transient)
        printf ("%s: %s%s\n", id, status, "");
      fflush (stdout);
      return;
    }
  size_t i = 0;
  while (i < p->n && strcmp (p->bars[i].id, id) != 0)
    i++;
  if (i == p->n)
    {
      struct bar *grown = realloc (p->bars, (p->n + 1) * sizeof *grown);
      if (grown == NULL)
        return;
      p->bars = grown;
      memset (&grown[i], 0, sizeof grown[i]);
      snprintf (grown[i].id, sizeof grown[i].id, "%s", id);
      grown[i].start = now ();
      p->n++;
      printf ("\n");
    }
  struct bar *b = &p->bars[i];
  snprintf (b->status, sizeof b->status, "%s", status);
  b->cur = cur;
  b->total = total;
  size_t up = p->n - 1 - i;
  if (up)
    printf ("\033[%zuA", up);
  draw (b);
  if (up)
    printf ("\033[%zuB", up);
  printf ("\r");
  fflush (stdout);
}

static int
transfer (struct reg_client *c, const char *what, const char *path, json_t *body,
          const struct opts *o, json_t **result)
{
  struct progress p = { .tty = isatty (STDOUT_FILENO), .quiet = o->quiet };
  json_t *reply = NULL;
  long status = client_lines (c, path, body, on_line, &p, &reply);
  json_decref (body);
  int ret = 0;
  if (status != 200)
    ret = client_fail (what, status, reply);
  else if (p.error)
    {
      fprintf (stderr, "reg: %s\n", p.error);
      ret = 1;
    }
  else if (p.result == NULL)
    {
      fprintf (stderr, "reg: %s: regd ended the transfer without a result\n", what);
      ret = 1;
    }
  json_decref (reply);
  free (p.bars);
  free (p.error);
  *result = p.result;
  return ret;
}

#define TRANSFER_OPTIONS                                                                           \
  { "layout", 'l' + 256, "DIR", "an OCI image layout directory instead of a registry" },           \
      { "insecure", 'k' + 256, NULL,                                                               \
        "plain HTTP (a loopback registry is tried in HTTP without it, as Docker's)" },             \
  {                                                                                                \
    "ca", 'c' + 256, "FILE", "also trust the CA certificates (PEM) in FILE for the registry"       \
  }

static const struct cli_option push_options[] = {
  TRANSFER_OPTIONS,
  { "quiet", 'q', NULL, "print only the pushed references and digests" },
  { "as-image", 'a' + 256, NULL,
    "a regular OCI image that Docker and Podman run (one layer: the generated environment)" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_option pull_options[] = {
  TRANSFER_OPTIONS,
  { "quiet", 'q', NULL, "print only the pulled templates" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_option tags_options[] = { TRANSFER_OPTIONS, { NULL, 0, NULL, NULL } };
static const struct cli_spec push_spec = CLI_SPEC (
    "push", "NAME@VERSION [HOST[:PORT]/]REPO:TAG",
    "Upload a template and what it requires to an OCI registry or layout.", push_options);
static const struct cli_spec pull_spec = CLI_SPEC (
    "pull", "[HOST[:PORT]/]REPO:TAG",
    "Download a template and what it requires from an OCI registry or layout.", pull_options);
const struct cli_spec cli_template_ls_spec
    = CLI_SPEC ("template ls", "[[HOST[:PORT]/]REPO]",
                "The installed templates; with a repository, the tags of its templates in the "
                "registry or layout.",
                tags_options);
static const struct cli_option login_options[] = {
  { "username", 'u', "USER", "the user name" },
  { "password-stdin", 'p' + 256, NULL, "read the password from standard input (required)" },
  { "insecure", 'k' + 256, NULL, "accepted for Docker's habit; credentials do not depend on it" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec login_spec = CLI_SPEC (
    "login", "HOST[:PORT]", "Store credentials for a registry ($REG_CONFIG, 0600).", login_options);
static const struct cli_spec logout_spec
    = CLI_SPEC ("logout", "HOST[:PORT]", "Remove the credentials of a registry.", NULL);
static const struct cli_option load_options[] = {
  { "input", 'i', "FILE", "the archive (docker save, or a tar of an OCI layout; required)" },
  { "quiet", 'q', NULL, "print only the templates made" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec load_spec
    = CLI_SPEC ("image load", NULL,
                "Import the images of a docker save or OCI archive as templates (regd reads "
                "FILE).",
                load_options);
const struct cli_spec *const cli_specs_registry[]
    = { &push_spec, &pull_spec, &load_spec, &login_spec, &logout_spec, NULL };

/* The index of the first positional argument; 0 after --help, -2 after an
 * error (both printed). */
static int
parse_opts (const struct cli_spec *spec, int argc, char **argv, struct opts *o, int n_args)
{
  const char *arg;
  int key;
  while ((key = cli_next (spec, argc, argv, &arg)) != -1)
    switch (key)
      {
      case 'l' + 256:
        o->layout = arg;
        break;
      case 'k' + 256:
        o->insecure = true;
        break;
      case 'c' + 256:
        {
          _cleanup_error_ struct reg_error *err = NULL;
          free (o->ca);
          o->ca = NULL;
          if (reg_util_read_file (arg, 1 << 20, &o->ca, NULL, &err) < 0)
            {
              fprintf (stderr, "reg: --ca %s: %s\n", arg, err->msg);
              return -2;
            }
          break;
        }
      case 'q':
        o->quiet = true;
        break;
      case 'a' + 256:
        o->as_image = true;
        break;
      case CLI_HELP:
        return 0;
      default:
        return -2;
      }
  return cli_args (spec, argc, argv, n_args, n_args);
}

int
cmd_push (struct reg_client *c, int argc, char **argv)
{
  _cleanup_opts_ struct opts o = { 0 };
  int i = parse_opts (&push_spec, argc, argv, &o, 2);
  if (i <= 0)
    return -i;
  json_t *result = NULL;
  int ret = transfer (c, "push", "/v1/templates/push", request_body (argv[i + 1], argv[i], &o), &o,
                      &result);
  if (ret == 0)
    {
      size_t k;
      json_t *p;
      json_array_foreach (json_object_get (result, "Pushed"), k, p)
      {
        printf ("%s %s\n", json_string_value (json_object_get (p, "Ref")),
                json_string_value (json_object_get (p, "Digest")));
      }
      if (!o.quiet)
        printf ("uploaded %lld blob%s (%lld byte%s), mounted %lld, already there %lld\n",
                json_integer_value (json_object_get (result, "Uploaded")),
                cli_s (json_integer_value (json_object_get (result, "Uploaded"))),
                json_integer_value (json_object_get (result, "Bytes")),
                cli_s (json_integer_value (json_object_get (result, "Bytes"))),
                json_integer_value (json_object_get (result, "Mounted")),
                json_integer_value (json_object_get (result, "Existing")));
    }
  json_decref (result);
  return ret;
}

/* What an image's layers held that a template does not carry (layer.h):
 * said on stderr, so it is never silently lost. */
static void
print_dropped (json_t *d, const char *root)
{
  json_int_t owners = json_integer_value (json_object_get (d, "Owners"));
  json_int_t xattrs = json_integer_value (json_object_get (d, "Xattrs"));
  json_int_t hidden = json_integer_value (json_object_get (d, "Hidden"));
  if (owners + xattrs + hidden == 0)
    return;
  fprintf (stderr,
           "%s: not carried into the template (docs/images.md): %lld symlink owner%s, %lld "
           "entr%s with extended attributes other than security.capability, %lld entr%s below "
           "/proc, /dev or /sys (first: %s)\n",
           root ? root : "image", (long long)owners, cli_s (owners), (long long)xattrs,
           xattrs == 1 ? "y" : "ies", (long long)hidden, hidden == 1 ? "y" : "ies",
           json_string_value (json_object_get (d, "Example")));
}

int
cmd_pull (struct reg_client *c, int argc, char **argv)
{
  _cleanup_opts_ struct opts o = { 0 };
  int i = parse_opts (&pull_spec, argc, argv, &o, 1);
  if (i <= 0)
    return -i;
  json_t *result = NULL;
  int ret
      = transfer (c, "pull", "/v1/templates/pull", request_body (argv[i], NULL, &o), &o, &result);
  if (ret == 0)
    {
      size_t k;
      json_t *t;
      json_t *pulled = json_object_get (result, "Templates");
      const char *root = json_string_value (json_object_get (result, "Template"));
      json_array_foreach (pulled, k, t)
      {
        printf ("%s\n", json_string_value (t));
      }
      /* Nothing new: still name the template, so `reg pull -q` always does. */
      if (json_array_size (pulled) == 0 && root)
        printf (o.quiet ? "%s\n" : "%s: already present\n", root);
      print_dropped (json_object_get (result, "Dropped"), root);
      if (!o.quiet)
        printf ("downloaded %lld blob%s (%lld byte%s)\n",
                json_integer_value (json_object_get (result, "Downloaded")),
                cli_s (json_integer_value (json_object_get (result, "Downloaded"))),
                json_integer_value (json_object_get (result, "Bytes")),
                cli_s (json_integer_value (json_object_get (result, "Bytes"))));
    }
  json_decref (result);
  return ret;
}

/* `reg image load -i FILE`: regd reads the file (a path on its host, as
 * --layout), each image becomes a template as a pull would make it. */
static int
image_load (struct reg_client *c, int argc, char **argv)
{
  const char *input = NULL, *arg;
  bool quiet = false;
  int key;
  while ((key = cli_next (&load_spec, argc, argv, &arg)) != -1)
    if (key == CLI_HELP)
      return 0;
    else if (key == 'i')
      input = arg;
    else if (key == 'q')
      quiet = true;
    else
      return 2;
  int first = cli_args (&load_spec, argc, argv, 0, 0);
  if (first < 0)
    return -first;
  if (input == NULL)
    return cli_usage_error (&load_spec, "-i FILE is required (reading standard input is not "
                                        "supported)");
  _cleanup_free_ char *abs = realpath (input, NULL);
  if (abs == NULL)
    {
      fprintf (stderr, "reg: image load: %s: %s\n", input, strerror (errno));
      return 1;
    }
  struct opts o = { .quiet = quiet };
  json_t *result = NULL;
  int ret = transfer (c, "image load", "/v1/templates/load", json_pack ("{s:s}", "Archive", abs),
                      &o, &result);
  size_t k;
  json_t *one;
  json_array_foreach (json_object_get (result, "Loaded"), k, one)
  {
    const char *t = json_string_value (json_object_get (one, "Template"));
    bool fresh = json_array_size (json_object_get (one, "Templates")) > 0;
    printf (quiet || fresh ? "%s\n" : "%s: already present\n", t);
    print_dropped (json_object_get (one, "Dropped"), t);
  }
  json_decref (result);
  return ret;
}

int
cmd_image (struct reg_client *c, int argc, char **argv)
{
  static const struct cli_spec *const group[] = { &load_spec, NULL };
  int status = 0;
  const struct cli_spec *spec = cli_group ("image", group, argc, argv, &status);
  if (spec == NULL)
    return status;
  return image_load (c, argc - 1, argv + 1);
}

/* A template is name@version (no '/' or ':'); an image reference has a
 * repository path or a tag. */
bool
cli_is_image_ref (const char *t)
{
  return t && (strchr (t, '/') || strchr (t, ':'));
}

int
cli_pull_image (struct reg_client *c, const char *ref, char **tmpl)
{
  struct opts o = { .quiet = true };
  json_t *result = NULL;
  int ret = transfer (c, "pull", "/v1/templates/pull", request_body (ref, NULL, &o), &o, &result);
  const char *root = json_string_value (json_object_get (result, "Template"));
  if (ret == 0 && root == NULL)
    {
      fprintf (stderr, "reg: pull %s: regd named no template\n", ref);
      ret = 1;
    }
  if (ret == 0)
    {
      print_dropped (json_object_get (result, "Dropped"), root);
      if ((*tmpl = strdup (root)) == NULL)
        ret = 1;
    }
  json_decref (result);
  return ret;
}

/* `reg template ls [--layout DIR] [--insecure] REF`: the tags of REF's repository. */
int
cli_template_tags (struct reg_client *c, int argc, char **argv)
{
  _cleanup_opts_ struct opts o = { 0 };
  int i = parse_opts (&cli_template_ls_spec, argc, argv, &o, 1);
  if (i <= 0)
    return -i;
  json_t *reply = NULL, *body = request_body (argv[i], NULL, &o);
  long status = client_call (c, "POST", "/v1/templates/tags", body, &reply);
  json_decref (body);
  int ret = 0;
  if (status == 200)
    {
      size_t k;
      json_t *t;
      json_array_foreach (reply, k, t)
      {
        printf ("%s\n", json_string_value (t));
      }
    }
  else
    ret = client_fail ("template ls", status, reply);
  json_decref (reply);
  return ret;
}

int
cmd_login (struct reg_client *c, int argc, char **argv)
{
  const char *user = NULL, *arg;
  bool password_stdin = false;
  int key;
  while ((key = cli_next (&login_spec, argc, argv, &arg)) != -1)
    if (key == CLI_HELP || key == '?')
      return key == CLI_HELP ? 0 : 2;
    else if (key == 'u')
      user = arg;
    else if (key == 'p' + 256)
      password_stdin = true;
  int first = cli_args (&login_spec, argc, argv, 1, 1);
  if (first <= 0)
    return -first;
  const char *host = argv[first];
  if (user == NULL || !password_stdin)
    return cli_usage_error (&login_spec, "-u USER and --password-stdin are required");
  char password[4096];
  size_t n = fread (password, 1, sizeof password - 1, stdin);
  password[n] = '\0';
  while (n > 0 && (password[n - 1] == '\n' || password[n - 1] == '\r'))
    password[--n] = '\0';
  if (n == 0)
    {
      fprintf (stderr, "reg: login %s: no password on standard input\n", host);
      return 1;
    }
  _cleanup_free_ char *path = config_path ();
  if (path == NULL)
    return 1;
  json_t *cfg = config_load (path);
  json_object_set_new (json_object_get (cfg, "auths"), host,
                       json_pack ("{s:s, s:s}", "Username", user, "Password", password));
  explicit_bzero (password, sizeof password);
  int ret = config_save (path, cfg);
  json_decref (cfg);
  if (ret == 0)
    printf ("credentials for %s stored in %s\n", host, path);
  return ret;
}

int
cmd_logout (struct reg_client *c, int argc, char **argv)
{
  int first = cli_args (&logout_spec, argc, argv, 1, 1);
  if (first <= 0)
    return -first;
  argv += first - 1;
  _cleanup_free_ char *path = config_path ();
  if (path == NULL)
    return 1;
  json_t *cfg = config_load (path);
  int ret = 0;
  if (json_object_del (json_object_get (cfg, "auths"), argv[1]) < 0)
    {
      fprintf (stderr, "reg: logout %s: not logged in (no credentials in %s)\n", argv[1], path);
      ret = 1;
    }
  else
    ret = config_save (path, cfg);
  json_decref (cfg);
  if (ret == 0)
    printf ("removed credentials for %s\n", argv[1]);
  return ret;
}
