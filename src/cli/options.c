#include "options.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPTIONS 96

/* getopt_long's view of the spec last parsed. */
static struct option longopts[MAX_OPTIONS + 2];
static char shortopts[3 * MAX_OPTIONS + 4];
static const struct cli_spec *built;
static char **built_argv;

static void
build (const struct cli_spec *spec)
{
  size_t n = 0, k = 0;
  if (spec->stop_at_args)
    shortopts[k++] = '+';
  shortopts[k++] = ':'; /* a missing argument is ':', not '?' */
  for (const struct cli_option *o = spec->options; o && o->name && n < MAX_OPTIONS; o++, n++)
    {
      longopts[n]
          = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL, o->key };
      if (o->key < 256)
        {
          shortopts[k++] = (char)o->key;
          if (o->arg)
            shortopts[k++] = ':';
        }
    }
  longopts[n++] = (struct option){ "help", no_argument, NULL, CLI_HELP };
  longopts[n] = (struct option){ NULL, 0, NULL, 0 };
  shortopts[k] = '\0';
  built = spec;
  optind = 1;
  opterr = 0;
}

void
cli_usage_line (const struct cli_spec *spec, FILE *out)
{
  fprintf (out, "usage: reg %s%s%s%s\n", spec->name,
           spec->options && spec->options[0].name ? " [OPTIONS]" : "", spec->args ? " " : "",
           spec->args ? spec->args : "");
}

void
cli_help (const struct cli_spec *spec, FILE *out)
{
  cli_usage_line (spec, out);
  fprintf (out, "\n%s\n", spec->summary);
  if (spec->options && spec->options[0].name)
    fprintf (out, "\nOptions:\n");
  for (const struct cli_option *o = spec->options; o && o->name; o++)
    {
      char left[64];
      int w = o->key < 256 ? snprintf (left, sizeof left, "  -%c, --%s", o->key, o->name)
                           : snprintf (left, sizeof left, "      --%s", o->name);
      if (o->arg && w > 0 && (size_t)w < sizeof left)
        snprintf (left + w, sizeof left - (size_t)w, o->arg[0] == '=' ? "[%s]" : " %s", o->arg);
      if (strlen (left) > 30)
        fprintf (out, "%s\n%32s%s\n", left, "", o->help);
      else
        fprintf (out, "%-30s  %s\n", left, o->help);
    }
  if (spec->more)
    fprintf (out, "\n%s\n", spec->more);
}

int
cli_usage_error (const struct cli_spec *spec, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fprintf (stderr, "reg %s: ", spec->name);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  cli_usage_line (spec, stderr);
  fprintf (stderr, "(reg help %s lists the options)\n", spec->name);
  return 2;
}

int
cli_next (const struct cli_spec *spec, int argc, char **argv, const char **arg)
{
  if (built != spec || built_argv != argv)
    build (spec);
  built_argv = argv;
  int key = getopt_long (argc, argv, shortopts, longopts, NULL);
  *arg = optarg;
  if (key == CLI_HELP)
    {
      cli_help (spec, stdout);
      return CLI_HELP;
    }
  if (key == ':' || key == '?')
    {
      const char *bad = argv[optind - 1];
      if (key == ':')
        cli_usage_error (spec, "option %s needs an argument", bad);
      else if (optopt && optopt < 256 && strncmp (bad, "--", 2) != 0)
        cli_usage_error (spec, "unknown option -%c", optopt);
      else
        cli_usage_error (spec, "unknown option %s", bad);
      return '?';
    }
  return key;
}

int
cli_args (const struct cli_spec *spec, int argc, char **argv, int min, int max)
{
  const char *arg;
  if (built != spec || built_argv != argv)
    {
      /* No options of its own: only --help is looked for. */
      int key;
      while ((key = cli_next (spec, argc, argv, &arg)) != -1)
        {
          if (key == CLI_HELP)
            return 0;
          if (key == '?')
            return -2;
          cli_usage_error (spec, "unknown option %s", argv[optind - 1]);
          return -2;
        }
    }
  int n = argc - optind;
  if (n < min || (max >= 0 && n > max))
    {
      cli_usage_error (spec, n < min ? "too few arguments" : "too many arguments");
      return -2;
    }
  return optind;
}

void
cli_group_help (const char *group, const struct cli_spec *const *specs, FILE *out)
{
  fprintf (out, "usage:\n");
  for (size_t i = 0; specs[i]; i++)
    {
      char line[256];
      snprintf (line, sizeof line, "reg %s%s%s%s", specs[i]->name,
                specs[i]->options && specs[i]->options[0].name ? " [OPTIONS]" : "",
                specs[i]->args ? " " : "", specs[i]->args ? specs[i]->args : "");
      fprintf (out, "  %-44s %s\n", line, specs[i]->summary);
    }
  fprintf (out, "\nreg help %s SUBCOMMAND (or reg %s SUBCOMMAND --help) lists its options.\n",
           group, group);
}

const struct cli_spec *
cli_group (const char *group, const struct cli_spec *const *specs, int argc, char **argv,
           int *status)
{
  const char *sub = argc > 1 ? argv[1] : NULL;
  bool help = sub && (strcmp (sub, "--help") == 0 || strcmp (sub, "-h") == 0);
  size_t n = strlen (group);
  for (size_t i = 0; sub && !help && specs[i]; i++)
    if (strncmp (specs[i]->name, group, n) == 0 && specs[i]->name[n] == ' '
        && strcmp (specs[i]->name + n + 1, sub) == 0)
      return specs[i];
  if (sub && !help)
    fprintf (stderr, "reg %s: unknown subcommand \"%s\"\n", group, sub);
  cli_group_help (group, specs, help ? stdout : stderr);
  *status = help ? 0 : 2;
  return NULL;
}
