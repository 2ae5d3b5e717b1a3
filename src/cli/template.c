/* reg template: create NAME@VERSION PATH... | add FILE.ret | ls | inspect REF | rm REF...
 *
 * `create` and `add` refuse an installed NAME@VERSION unless --force (and
 * even then while a container uses it). `rm` leaves the objects in the
 * store; `prune` removes what nothing references.
 *
 * `create` imports host files and directories (paths are made absolute here:
 * regd runs elsewhere, as root, and reads them itself) with their ELF
 * dependency closure. `add` installs a RET file whose objects are already in
 * the store. `inspect` prints the canonical RET file. */
#include "cli.h"
#include "options.h"

#include <errno.h>
#include <unistd.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_option create_options[] = {
  { "entrypoint", 'E' + 256, "PATH", "the default command of containers made from it" },
  { "requires", 'r' + 256, "NAME@VERSION", "a template it needs (repeatable)" },
  { "env", 'e' + 256, "KEY=VALUE", "a variable its containers get (repeatable)" },
  { "user", 'u' + 256, "NAME", "a host user account it carries (repeatable)" },
  { "group", 'g' + 256, "NAME", "a host group it carries (repeatable)" },
  { "stop-signal", 'K' + 256, "SIGNAL", "the signal reg stop sends its containers" },
  { "allow-secret-files", 'S' + 256, NULL, "import files that look like secrets (keys, shadow)" },
  { "file", 'f', "RECIPE.yaml", "everything from a recipe (then only --force goes with it)" },
  { "force", 'X' + 256, NULL, "replace an installed NAME@VERSION no container uses" },
  { "trace", 'T' + 256, NULL,
    "run -- CMD [ARGS] in a sandbox and take the files it opens (docs/templates)" },
  { "trace-timeout", 1 + 512, "SECONDS", "how long the traced command may run" },
  { "trace-stop-signal", 2 + 512, "SIGNAL", "how the traced command is stopped" },
  { "trace-answer", 3 + 512, "HOST:PORT", "wait for the traced service to answer there" },
  { "trace-send", 4 + 512, "TEXT", "what to send it when it answers (\\r\\n escapes)" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec create_spec = CLI_SPEC (
    "template create", "NAME@VERSION PATH... [-- CMD [ARGS...]]  |  -f RECIPE.yaml",
    "Make a template from host files and directories, with their ELF dependency closure.",
    create_options);
static const struct cli_option add_options[] = {
  { "force", 'X' + 256, NULL, "replace an installed NAME@VERSION no container uses" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec add_spec
    = CLI_SPEC ("template add", "FILE.ret",
                "Install a RET file whose objects are already in the store.", add_options);
static const struct cli_spec inspect_spec
    = CLI_SPEC ("template inspect", "NAME@VERSION", "Print a template's RET file.", NULL);
static const struct cli_spec rm_spec = CLI_SPEC (
    "template rm", "NAME@VERSION...", "Remove templates (their objects stay in the store).", NULL);
static const struct cli_option prune_options[] = {
  { "all", 'a', NULL, "templates no container uses too" },
  { NULL, 0, NULL, NULL },
};
static const struct cli_spec prune_spec = CLI_SPEC (
    "template prune", NULL, "Remove unused environments and unreferenced objects.", prune_options);
extern const struct cli_spec cli_template_ls_spec;
const struct cli_spec *const cli_specs_template[] = {
  &create_spec, &add_spec, &cli_template_ls_spec, &inspect_spec, &rm_spec, &prune_spec, NULL
};

static int
print_created (long status, json_t *reply, const char *what)
{
  if (status != 201)
    return client_fail (what, status, reply);
  json_t *warnings = json_object_get (reply, "Warnings");
  for (size_t i = 0; i < json_array_size (warnings); i++)
    fprintf (stderr, "reg: warning: %s\n", json_string_value (json_array_get (warnings, i)));
  long long files = (long long)json_integer_value (json_object_get (reply, "Files"));
  long long libs = (long long)json_integer_value (json_object_get (reply, "Libs"));
  printf ("%s %s (%lld file%s, %lld lib%s)\n", json_string_value (json_object_get (reply, "Ref")),
          json_string_value (json_object_get (reply, "Digest")), files, cli_s (files), libs,
          cli_s (libs));
  return 0;
}

static int create_recipe (struct reg_client *c, const char *file, bool force);

/* "\r", "\n", "\t" and "\\" in --trace-send, in place. */
static char *
unescape (char *s)
{
  char *out = s;
  for (const char *p = s; *p; p++)
    {
      if (*p == '\\' && p[1])
        {
          p++;
          *out++ = *p == 'r' ? '\r' : *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
        }
      else
        *out++ = *p;
    }
  *out = '\0';
  return s;
}

/* Body "Trace": {"Cmd": [...], ...} from --trace and the words after "--"
 * (cmd: at "--", or NULL). Takes `trace`. */
static int
set_trace (json_t *body, json_t *trace, bool tracing, char **cmd, int no_cmd)
{
  if (!tracing)
    {
      bool options = json_object_size (trace) > 0;
      json_decref (trace);
      if (options)
        fprintf (stderr, "reg template create: --trace-* options need --trace\n");
      return options ? -1 : 0;
    }
  json_t *argv = json_array ();
  for (size_t i = 1; !no_cmd && cmd[i]; i++)
    json_array_append_new (argv, json_string (cmd[i]));
  if (json_array_size (argv) == 0)
    {
      json_decref (argv);
      json_decref (trace);
      fprintf (stderr, "reg template create: --trace needs the command after \"--\"\n");
      return -1;
    }
  json_object_set_new (trace, "Cmd", argv);
  json_object_set_new (body, "Trace", trace);
  return 0;
}

static int
create (struct reg_client *c, int argc, char **argv)
{
  json_t *paths = json_array (), *requires = json_array (), *env = json_array ();
  json_t *users = json_array (), *groups = json_array ();
  json_t *body = json_object ();
  json_object_set_new (body, "Users", users);
  json_object_set_new (body, "Groups", groups);
  json_object_set_new (body, "Paths", paths);
  json_object_set_new (body, "Requires", requires);
  json_object_set_new (body, "Env", env);
  int opt;
  const char *recipe = NULL;
  json_t *trace = json_object ();
  bool tracing = false;
  /* --trace ... -- CMD [ARGS]: the command is what follows "--". */
  int cmd_at = argc, all = argc;
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "--") == 0)
      {
        cmd_at = i;
        break;
      }
  argc = cmd_at;
  /* Options may come before or after the paths, as in `create py@3 /usr/bin/python3 --entrypoint
   * ...`. */
  const char *optarg;
  while ((opt = cli_next (&create_spec, argc, argv, &optarg)) != -1)
    switch (opt)
      {
      case 'X' + 256:
        json_object_set_new (body, "Force", json_true ());
        break;
      case 'S' + 256:
        json_object_set_new (body, "AllowSecretFiles", json_true ());
        break;
      case 'T' + 256:
        tracing = true;
        break;
      case 1 + 512:
        json_object_set_new (trace, "Timeout", json_integer (atoi (optarg)));
        break;
      case 2 + 512:
        json_object_set_new (trace, "StopSignal", json_string (optarg));
        break;
      case 3 + 512:
        json_object_set_new (trace, "Answer", json_string (optarg));
        break;
      case 4 + 512:
        json_object_set_new (trace, "Send", json_string_nocheck (unescape (strdupa (optarg))));
        break;
      case 'u' + 256:
        json_array_append_new (users, json_string (optarg));
        break;
      case 'g' + 256:
        json_array_append_new (groups, json_string (optarg));
        break;
      case 'f':
        recipe = optarg;
        break;
      case 'E' + 256:
        json_object_set_new (body, "Entrypoint", json_string (optarg));
        break;
      case 'r' + 256:
        json_array_append_new (requires, json_string (optarg));
        break;
      case 'e' + 256:
        json_array_append_new (env, json_string (optarg));
        break;
      case 'K' + 256:
        json_object_set_new (body, "StopSignal", json_string (optarg));
        break;
      case CLI_HELP:
        json_decref (body);
        json_decref (trace);
        return 0;
      default:
        json_decref (body);
        json_decref (trace);
        return 2;
      }
  if (set_trace (body, trace, tracing, argv + cmd_at, cmd_at == all) < 0)
    {
      json_decref (body);
      return 2;
    }
  if (recipe)
    {
      /* The recipe says everything; only --force goes with it. */
      bool force = json_object_get (body, "Force") != NULL;
      size_t given = json_array_size (requires) + json_array_size (env) + json_array_size (users)
                     + json_array_size (groups) + (json_object_get (body, "Entrypoint") != NULL);
      json_decref (body);
      if (argc != optind || given > 0)
        {
          fprintf (stderr, "reg template create: -f RECIPE takes no other argument but --force\n");
          return 2;
        }
      return create_recipe (c, recipe, force);
    }
  if (argc - optind < (tracing ? 1 : 2))
    {
      json_decref (body);
      return cli_usage_error (&create_spec, "too few arguments");
    }
  const char *ref = argv[optind];
  const char *at = strchr (ref, '@');
  if (at == NULL || at == ref || at[1] == '\0')
    {
      json_decref (body);
      fprintf (stderr, "reg template create: \"%s\" is not NAME@VERSION\n", ref);
      return 2;
    }
  json_object_set_new (body, "Name", json_stringn (ref, (size_t)(at - ref)));
  json_object_set_new (body, "Version", json_string (at + 1));
  for (int i = optind + 1; i < argc; i++)
    {
      char abs[PATH_MAX];
      /* A relative path is taken from our directory; one that does not exist
       * is passed on unchanged so regd reports it by the name given. */
      json_array_append_new (
          paths, json_string (argv[i][0] != '/' && realpath (argv[i], abs) ? abs : argv[i]));
    }
  json_t *reply = NULL;
  long status = client_call (c, "POST", "/v1/templates", body, &reply);
  json_decref (body);
  int ret = print_created (status, reply, NULL);
  json_decref (reply);
  return ret;
}

/* A file's text as a JSON body {key: text}; NULL (reported) on failure. */
static json_t *
file_body (const char *what, const char *key, const char *file)
{
  FILE *f = fopen (file, "re");
  if (f == NULL)
    {
      fprintf (stderr, "reg template %s: cannot open %s: %s\n", what, file, strerror (errno));
      return NULL;
    }
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream (&text, &len);
  char buf[65536];
  size_t n;
  while (mem && (n = fread (buf, 1, sizeof buf, f)) > 0)
    fwrite (buf, 1, n, mem);
  bool failed = ferror (f) || mem == NULL;
  fclose (f);
  if (mem)
    fclose (mem);
  if (failed)
    {
      fprintf (stderr, "reg template %s: cannot read %s\n", what, file);
      free (text);
      return NULL;
    }
  json_t *body = json_pack ("{s:s%}", key, text ? text : "", len);
  free (text);
  if (body == NULL)
    fprintf (stderr, "reg template %s: %s is not UTF-8 text\n", what, file);
  return body;
}

static int
create_recipe (struct reg_client *c, const char *file, bool force)
{
  json_t *body = file_body ("create", "Recipe", file);
  if (body == NULL)
    return 1;
  const char *base = strrchr (file, '/');
  json_object_set_new (body, "Origin", json_string (base ? base + 1 : file));
  if (force)
    json_object_set_new (body, "Force", json_true ());
  json_t *reply = NULL;
  long status = client_call (c, "POST", "/v1/templates", body, &reply);
  json_decref (body);
  int ret = print_created (status, reply, NULL);
  json_decref (reply);
  return ret;
}

static int
add (struct reg_client *c, const char *file, bool force)
{
  json_t *body = file_body ("add", "Ret", file);
  if (body && force)
    json_object_set_new (body, "Force", json_true ());
  if (body == NULL)
    return 1;
  json_t *reply = NULL;
  long status = client_call (c, "POST", "/v1/templates", body, &reply);
  json_decref (body);
  int ret = print_created (status, reply, file);
  json_decref (reply);
  return ret;
}

static int
list (struct reg_client *c)
{
  json_t *reply = NULL;
  long status = client_call (c, "GET", "/v1/templates", NULL, &reply);
  if (status != 200 || !json_is_array (reply))
    {
      int r = client_fail ("template ls", status, reply);
      json_decref (reply);
      return r;
    }
  printf ("%-32s  %-12s  %6s  %5s  %s\n", "TEMPLATE", "DIGEST", "FILES", "LIBS", "REQUIRES");
  size_t i;
  json_t *t;
  for (i = 0; i < json_array_size (reply) && (t = json_array_get (reply, i)) != NULL; i++)
    printf ("%-32s  %-12.12s  %6lld  %5lld  %lld\n", json_string_value (json_object_get (t, "Ref")),
            json_string_value (json_object_get (t, "Digest")),
            (long long)json_integer_value (json_object_get (t, "Files")),
            (long long)json_integer_value (json_object_get (t, "Libs")),
            (long long)json_integer_value (json_object_get (t, "Requires")));
  json_decref (reply);
  return 0;
}

static int
one (struct reg_client *c, const char *method, const char *ref, json_t **reply)
{
  char *e = client_escape (c, ref);
  char path[512];
  snprintf (path, sizeof path, "/v1/templates/%s", e ? e : "");
  free (e);
  return (int)client_call (c, method, path, NULL, reply);
}

/* The subcommands that take references, after their options. */
static int
refs_cmd (struct reg_client *c, const struct cli_spec *spec, int argc, char **argv)
{
  bool flag = false;
  const char *arg;
  for (int key; (key = cli_next (spec, argc, argv, &arg)) != -1;)
    if (key == CLI_HELP || key == '?')
      return key == CLI_HELP ? 0 : 2;
    else
      flag = true;
  int min = spec == &prune_spec ? 0 : 1, max = spec == &rm_spec ? -1 : min;
  int first = cli_args (spec, argc, argv, min, max);
  if (first <= 0)
    return -first;
  if (spec == &add_spec)
    return add (c, argv[first], flag);
  if (spec == &prune_spec) /* unused environments, unreferenced objects; -a: templates */
    return cli_prune (c, false, flag, true);
  int ret = 0;
  for (int i = first; i < argc; i++)
    {
      json_t *reply = NULL;
      int status = one (c, spec == &rm_spec ? "DELETE" : "GET", argv[i], &reply);
      if (status == 204 && spec == &rm_spec)
        printf ("%s\n", argv[i]);
      else if (status == 200 && spec == &inspect_spec)
        fputs (json_string_value (json_object_get (reply, "Ret")), stdout);
      else
        ret = client_fail (spec == &rm_spec ? "template rm" : "template inspect", status, reply);
      json_decref (reply);
      if (status < 0)
        break;
    }
  return ret;
}

int
cmd_template (struct reg_client *c, int argc, char **argv)
{
  int status = 0;
  const struct cli_spec *spec = cli_group ("template", cli_specs_template, argc, argv, &status);
  if (spec == NULL)
    return status;
  argc--, argv++;
  if (spec == &create_spec)
    return create (c, argc, argv);
  if (spec == &cli_template_ls_spec)
    return argc == 1 ? list (c) : cli_template_tags (c, argc, argv);
  return refs_cmd (c, spec, argc, argv);
}
