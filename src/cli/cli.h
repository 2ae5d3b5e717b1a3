/* The reg client's commands: one file per command group, each a thin
 * mapping from arguments to API requests and from replies to output. */
#ifndef REG_CLI_H
#define REG_CLI_H

#include "client.h"

typedef int (*reg_command_fn) (struct reg_client *c, int argc, char **argv);

int cmd_run (struct reg_client *c, int argc, char **argv);
int cmd_generate (struct reg_client *c, int argc, char **argv);
int cmd_start (struct reg_client *c, int argc, char **argv);
int cmd_kill (struct reg_client *c, int argc, char **argv);
int cmd_wait (struct reg_client *c, int argc, char **argv);
int cmd_pause (struct reg_client *c, int argc, char **argv);
int cmd_exec (struct reg_client *c, int argc, char **argv);
int cmd_attach (struct reg_client *c, int argc, char **argv);
int cmd_install (struct reg_client *c, int argc, char **argv);
int cmd_uninstall (struct reg_client *c, int argc, char **argv);
int cmd_update (struct reg_client *c, int argc, char **argv);
int cmd_stats (struct reg_client *c, int argc, char **argv);
int cmd_top (struct reg_client *c, int argc, char **argv);
int cmd_unpause (struct reg_client *c, int argc, char **argv);
int cmd_restart (struct reg_client *c, int argc, char **argv);
int cmd_ps (struct reg_client *c, int argc, char **argv);
int cmd_logs (struct reg_client *c, int argc, char **argv);
int cmd_stop (struct reg_client *c, int argc, char **argv);
int cmd_rm (struct reg_client *c, int argc, char **argv);
int cmd_inspect (struct reg_client *c, int argc, char **argv);
int cmd_port (struct reg_client *c, int argc, char **argv);
/* "0.0.0.0:8080->80/tcp, ..." from a container's NetworkSettings (port.c). */
void cli_ports_summary (json_t *ct, char *out, size_t size);
int cmd_template (struct reg_client *c, int argc, char **argv);
int cmd_rename (struct reg_client *c, int argc, char **argv);
int cmd_events (struct reg_client *c, int argc, char **argv);
int cmd_cp (struct reg_client *c, int argc, char **argv);
int cmd_diff (struct reg_client *c, int argc, char **argv);
int cmd_volume (struct reg_client *c, int argc, char **argv);
int cmd_image (struct reg_client *c, int argc, char **argv);
int cmd_network (struct reg_client *c, int argc, char **argv);
int cmd_store (struct reg_client *c, int argc, char **argv);
int cmd_system (struct reg_client *c, int argc, char **argv);
int cmd_container (struct reg_client *c, int argc, char **argv);
/* POST /v1/system/prune and print what went (system.c); exit status. */
int cli_prune (struct reg_client *c, bool containers, bool templates, bool data);
int cmd_version (struct reg_client *c, int argc, char **argv);
int cmd_push (struct reg_client *c, int argc, char **argv);
int cmd_pull (struct reg_client *c, int argc, char **argv);
int cmd_login (struct reg_client *c, int argc, char **argv);
int cmd_logout (struct reg_client *c, int argc, char **argv);
/* `reg template ls REF` (registry.c). */
int cli_template_tags (struct reg_client *c, int argc, char **argv);

/* Attached output with optional input and terminal (exec.c; run and
 * attach use it). With detach keys (detach.h), typing them ends reg's
 * side only: 0, the container goes on. */
struct reg_detach;
/* Parse --detach-keys (NULL: Ctrl-P Ctrl-Q); -1 after saying what is wrong. */
int cli_detach_keys (const char *cmd, const char *spec, struct reg_detach *d);
/* reg start -i: start `ref` attached, our input as its input (attach.c). */
int cli_start_interactive (struct reg_client *c, const char *ref, const char *keys, bool proxy);
int cli_attach (struct reg_client *c, const char *start_path, const char *input_path,
                const char *resize_path, bool tty, struct reg_detach *detach);

/* The mount options of run and generate (mounts.c): -v, --mount, --tmpfs
 * into one API Mounts entry; NULL and *why (allocated) when malformed. */
json_t *cli_mount_volume (const char *spec, char **why);
json_t *cli_mount_option (const char *spec, char **why);
json_t *cli_mount_tmpfs (const char *spec, char **why);

/* Forward SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to
 * container `id` from now on (sigproxy.c); -1 when it cannot. */
int cli_sigproxy_start (struct reg_client *c, const char *id);
/* The same in two steps, for run in one request: block the signals before
 * the request (they wait, pending), and forward them once the id is
 * known. */
void cli_sigproxy_block (void);
int cli_sigproxy_arm (struct reg_client *c, const char *id);
/* --sig-proxy[=true|false] into *on; -1 after saying what is wrong. */
int cli_sig_proxy_option (const char *cmd, const char *arg, bool *on);

/* run/generate's health options (health.c): their getopt values, one
 * option into body.Healthcheck (125 after saying what is wrong), and the
 * final check of the combination (--no-healthcheck alone). */
enum
{
  CLI_OPT_HEALTH_INTERVAL = 1100, /* then timeout, start period, start interval: in this order */
  CLI_OPT_HEALTH_TIMEOUT,
  CLI_OPT_HEALTH_START_PERIOD,
  CLI_OPT_HEALTH_START_INTERVAL,
  CLI_OPT_HEALTH_RETRIES,
  CLI_OPT_HEALTH_CMD,
  CLI_OPT_HEALTH_HTTP,
  CLI_OPT_HEALTH_TCP,
  CLI_OPT_NO_HEALTHCHECK,
};
// clang-format off
/* Their entries of run's option table (options.h). */
#define CLI_HEALTH_OPTIONS                                                                         \
  { "health-cmd", CLI_OPT_HEALTH_CMD, "CMD",                                                       \
    "the health check: a command in the container, healthy when it exits 0" },                     \
      { "health-http", CLI_OPT_HEALTH_HTTP, "/PATH[:PORT][=STATUS]",                               \
        "the health check: an HTTP GET (port 80, any 2xx or 3xx by default)" },                    \
      { "health-tcp", CLI_OPT_HEALTH_TCP, "PORT",                                                  \
        "the health check: a TCP connection to the port is accepted" },                            \
      { "health-interval", CLI_OPT_HEALTH_INTERVAL, "DURATION", "time between checks (30s)" },    \
      { "health-timeout", CLI_OPT_HEALTH_TIMEOUT, "DURATION", "how long one check may take" },     \
      { "health-start-period", CLI_OPT_HEALTH_START_PERIOD, "DURATION",                            \
        "failures then do not count" },                                                            \
      { "health-start-interval", CLI_OPT_HEALTH_START_INTERVAL, "DURATION",                        \
        "time between checks in the start period, until healthy" },                                \
      { "health-retries", CLI_OPT_HEALTH_RETRIES, "N", "failures in a row that make it unhealthy" }, \
      { "no-healthcheck", CLI_OPT_NO_HEALTHCHECK, NULL, "no health check, not even its templates'" }
int cli_health_option (const char *cmd, json_t *body, int opt, const char *arg);
int cli_health_finish (const char *cmd, json_t *body);

/* --env-file FILE into env (envfile.c); -1 (reported) on a bad file. */
int cli_env_file (const char *path, json_t *env);

/* Shared helpers (main.c). */
/* A second connection to the same regd, for another thread. */
struct reg_client *cli_client_open_again (void);
void cli_print_json (json_t *j);
/* `reg KIND inspect|rm NAME...` on /v1/COLLECTION/NAME, from argv[first]
 * on: inspect prints the replies as one JSON array, rm each removed name.
 * The exit status: 0, or client_fail's for the last failure. */
int cli_each_named (struct reg_client *c, const char *kind, const char *collection, bool remove,
                    int first, int argc, char **argv);
/* `-t IMAGE-REF` of reg run: pull the image (nothing moves when the template
 * made from it is here and unchanged) and give the template's name@version. */
bool cli_is_image_ref (const char *t);
int cli_pull_image (struct reg_client *c, const char *ref, char **tmpl);
/* "s" unless n is 1: "%lld file%s", n, cli_s (n). */
const char *cli_s (long long n);
/* "3 minutes" style age of an RFC 3339 timestamp ("1 second"). */
void cli_age (const char *rfc3339, char *out, size_t size);

#endif
