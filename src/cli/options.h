/* options: one table per command (and per subcommand) drives getopt_long
 * and generates the command's help, so `reg CMD --help`, `reg help CMD`
 * and what the parser accepts cannot disagree.
 *
 * Options may come before or after the positional arguments (GNU getopt
 * permutes them), as Docker accepts them: `reg push python@3.11 REF
 * --insecure`. Commands whose own arguments follow (run's and exec's
 * command) stop at the first positional argument instead. */
#ifndef REG_CLI_OPTIONS_H
#define REG_CLI_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

struct cli_option
{
  const char *name; /* the long name, without "--" */
  int key;          /* the short letter, or a value >= 256: long only */
  const char *arg;  /* NULL for a flag, else what it takes ("SIZE"); "=BOOL": an
                     * optional one, only as --name=VALUE */
  const char *help;
};

struct cli_spec
{
  const char *name;                 /* "ps", "volume create" */
  const char *args;                 /* the usage line after the options: "CONTAINER..." */
  const char *summary;              /* one line */
  const struct cli_option *options; /* ends with { NULL }; --help is implied */
  bool stop_at_args;                /* the command's own arguments follow */
  const char *more;                 /* more help (NULL: none) */
};

/* A spec without the optional fields (designated: -Wextra). */
#define CLI_SPEC(name_, args_, summary_, options_)                                                 \
  {                                                                                                \
    .name = (name_), .args = (args_), .summary = (summary_), .options = (options_)                 \
  }

/* What cli_next returns for --help (after printing the help). */
#define CLI_HELP 0x10ff

/* The next option: its key (its argument in *arg), -1 when none is left
 * (optind is then at the first positional argument), CLI_HELP after the
 * help went to stdout, or '?' after a message saying what is wrong went
 * to stderr. */
int cli_next (const struct cli_spec *spec, int argc, char **argv, const char **arg);
/* For the positional arguments, after the options (cli_next's loop, or
 * for a command with none of its own, here): their count must be in
 * [min, max] (max -1: no limit). Returns the index of the first one (> 0),
 * 0 when --help was asked (printed: exit 0), or -2 after a usage error
 * (printed: exit 2). */
int cli_args (const struct cli_spec *spec, int argc, char **argv, int min, int max);
/* A command group (reg volume, reg template ...): the spec of the
 * subcommand argv[1] names ("volume create"), or NULL after the group's
 * help (*status 0 for --help, else 2: missing or unknown). The subcommand
 * is then parsed from argv + 1. */
const struct cli_spec *cli_group (const char *group, const struct cli_spec *const *specs, int argc,
                                  char **argv, int *status);
void cli_group_help (const char *group, const struct cli_spec *const *specs, FILE *out);
/* Each command file's specs, NULL-terminated, for `reg help` (main.c). */
extern const struct cli_spec *const cli_specs_container[],
    *const cli_specs_logs[],
        *const cli_specs_events[],
            *const cli_specs_ps[],
                *const cli_specs_system[],
                    *const cli_specs_volume[],
                        *const cli_specs_registry[],
                            *const cli_specs_cp[],
                                *const cli_specs_stats[],
                                    *const cli_specs_exec[],
                                        *const cli_specs_attach[],
                                            *const cli_specs_port[],
                                                *const cli_specs_template[],
                                                    *const cli_specs_run[],
                                                        *const cli_specs_network[];

/* The whole help: usage, summary, every option, more. */
void cli_help (const struct cli_spec *spec, FILE *out);
/* "reg NAME: MESSAGE" and the usage line to stderr; returns 2. */
int cli_usage_error (const struct cli_spec *spec, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* The usage line alone. */
void cli_usage_line (const struct cli_spec *spec, FILE *out);

#endif
