/* container: a container's configuration and lifecycle state, persisted as
 * <root>/containers/<id>/state.json (written atomically, so a crash leaves
 * the old or the new file, never a torn one).
 *
 * Both regd and a container's monitor write the state; reg_container_update
 * serialises them with flock on <root>/containers/<id>/lock and always
 * re-reads before writing. States (the paper's model): generating ->
 * generated -> running <-> paused; running -> stopped -> running; generated
 * or stopped -> removed (the directory goes away). Later work adds
 * inserting.
 */
#ifndef REG_CONTAINER_H
#define REG_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "error.h"
#include "health.h"
#include "security.h"
#include "ulimit.h"

enum reg_state
{
  REG_STATE_GENERATING,
  REG_STATE_GENERATED,
  REG_STATE_RUNNING,
  REG_STATE_STOPPED,
  REG_STATE_PAUSED,     /* running, its processes frozen (cgroup freezer) */
  REG_STATE_RESTARTING, /* exited; its monitor waits out the back-off, then starts it again */
  REG_STATE_INSERTING,  /* running, a component being installed or uninstalled */
};

enum reg_restart_mode
{
  REG_RESTART_NO,
  REG_RESTART_ON_FAILURE,
  REG_RESTART_ALWAYS,
  REG_RESTART_UNLESS_STOPPED,
};

struct reg_restart
{
  enum reg_restart_mode mode;
  int max_retries; /* on-failure:N; 0 = no limit */
};

/* "no", "on-failure", "on-failure:3", "always", "unless-stopped". */
int reg_container_restart_parse (const char *s, struct reg_restart *out, struct reg_error **err);
const char *reg_container_restart_name (enum reg_restart_mode m);

/* Running, paused or restarting: its monitor is alive and watches it. */
static inline bool
reg_state_live (enum reg_state s)
{
  return s == REG_STATE_RUNNING || s == REG_STATE_PAUSED || s == REG_STATE_RESTARTING
         || s == REG_STATE_INSERTING;
}

enum reg_mount_type
{
  REG_MOUNT_BIND,   /* a host path */
  REG_MOUNT_VOLUME, /* a named volume (volume.h) */
  REG_MOUNT_TMPFS,  /* a fresh tmpfs, gone with the container's mount namespace */
};

struct reg_mount
{
  enum reg_mount_type type;
  char *source;   /* host path: a bind's own, a volume's _data; NULL for tmpfs */
  char *target;   /* container path */
  char *volume;   /* the volume's name (REG_MOUNT_VOLUME) */
  bool anonymous; /* a volume made for a template's `volumes` path: goes with a --rm container */
  bool readonly;
  bool noexec;         /* tmpfs: mounted noexec (--tmpfs's default, as Docker's) */
  int64_t tmpfs_size;  /* bytes; 0: the kernel's default (half of RAM) */
  unsigned tmpfs_mode; /* permission bits of its root; 0: 01777 */
};

/* "bind", "volume", "tmpfs"; -1 for anything else. */
int reg_container_mount_type_parse (const char *s);
const char *reg_container_mount_type_name (enum reg_mount_type t);
/* The JSON of one mount, as in the state file and the API:
 * {"Type", "Source"?, "Destination", "ReadOnly", "Name"?, "TmpfsOptions"?:
 * {"SizeBytes", "Mode"}, "NoExec"?}. */
struct json_t *reg_container_mount_to_json (const struct reg_mount *m);
/* A published port (-p), resolved: the host port is chosen at start when
 * the request left it to the kernel. */
struct reg_port_binding
{
  char host_ip[16]; /* "" = every address of the host */
  unsigned short host_port, container_port;
  bool udp;
};

/* Another network a running container joined (`reg network connect`):
 * an interface of its own in the container's namespace, on that network's
 * bridge, with no default route. */
struct reg_net_link
{
  char network[64]; /* a user network's name, or "bridge" */
  char bridge[16];
  char ip[16], gateway[16], mac[18];
  int prefix;
  char ifname[16];  /* in the container: eth1, eth2, ... */
  char host_if[16]; /* its veth's host end */
  char **aliases;   /* more names on that network */
};

/* The container's place on its bridge while it runs (network.h); empty
 * (ip[0] == 0) otherwise. Shown by inspect as Docker's NetworkSettings:
 * Networks has one entry for it and one for each link. */
struct reg_net_state
{
  char network[64]; /* "bridge", or a user network's name */
  char bridge[16];  /* the host's bridge interface */
  char ip[16], gateway[16], mac[18];
  int prefix;
  struct reg_port_binding *ports;
  size_t n_ports;
  struct reg_net_link *links; /* networks connected while it runs */
  size_t n_links;
};

struct reg_container
{
  char id[65];
  char *name;
  char **templates; /* as requested, "name@version" */
  char closure[65]; /* closure digest = envs/<closure> */
  char **argv;
  char **env;
  char *workdir;
  char *project; /* host dir bound at /app, or NULL */
  struct reg_mount *mounts;
  size_t n_mounts;
  bool auto_remove;
  struct reg_limits limits; /* cgroup limits; 0 = not set */
  int64_t log_max_size;     /* bytes; 0 = REG_LOG_MAX_SIZE */
  /* --storage-opt size: the writable layer (upper and work) lives on a tmpfs
   * of this size at containers/<id>/layer, mounted from create to rm; 0: in
   * the engine root's filesystem, unbounded. */
  int64_t storage_size;
  struct reg_restart restart;
  bool open_stdin;              /* -i: input from reg (through the monitor) */
  bool tty;                     /* --tty: a terminal for the first process */
  struct reg_security security; /* --privileged, --cap-add, seccomp, --user, --read-only */
  unsigned short rows, cols;    /* its first size */
  char **ports;                 /* "HOST:CONTAINER[/proto]" as declared; recorded for networking */
  char *network_mode;           /* "host", "none", "bridge", "container:<full id>" */
  char *hostname;               /* --hostname; NULL: the short id */
  char **dns, **dns_search;     /* --dns, --dns-search (etcfiles.h) */
  char **extra_hosts;           /* --add-host NAME:IP */
  char **aliases;               /* --network-alias: more names on a user network */
  int stop_signal;              /* what `reg stop` sends first; 0: SIGTERM */
  int stop_timeout;             /* seconds before SIGKILL; -1: REG_STOP_TIMEOUT */
  bool init;                    /* --init: reg-init is PID 1, the command its child */
  struct reg_ulimit ulimits[REG_ULIMIT_MAX]; /* --ulimit */
  size_t n_ulimits;
  struct reg_net_state net;
  /* What live installs made in the running container, "REF\tk:PATH"
   * (insert.h); cleared at the next start. */
  char **labels; /* "KEY=VALUE" from the templates (format 3), shown by inspect */
  char **inserted;
  struct reg_healthcheck healthcheck; /* --health-*: run by regd (health.h) */

  enum reg_state state;
  pid_t pid; /* container init, host pid namespace */
  pid_t monitor_pid;
  unsigned long long monitor_start; /* /proc starttime, guards pid reuse */
  int exit_code;
  bool oom_killed;     /* the last run ended in the kernel's OOM killer */
  int restart_count;   /* restarts by the policy since the last start */
  bool stop_requested; /* stopped by a user: no restart, not even "always" */
  char created[40], started[40], finished[40];
  char *error;                    /* why the last start failed, if it did */
  struct reg_health_state health; /* State.Health; reset at each start */
};

/* `reg stop`'s wait between the stop signal and SIGKILL, by default. */
#define REG_STOP_TIMEOUT 10

/* Default size at which log.jsonl is rotated to log.jsonl.1 (one kept). */
#define REG_LOG_MAX_SIZE (10 * 1024 * 1024)

const char *reg_container_state_name (enum reg_state s);

struct reg_container *reg_container_new (void);
void reg_container_free (struct reg_container *c);

/* The writable layer's directories, "upper" or "work": containers/<id>/NAME,
 * or containers/<id>/layer/NAME for a container with a storage size. */
char *reg_container_layer_file (const char *root, const struct reg_container *c, const char *name);
/* A sized container's tmpfs, mounted again when it is not (after a reboot:
 * its writable layer was in memory and is empty now). */
int reg_container_layer_ensure (const char *root, const struct reg_container *c,
                                struct reg_error **err);
/* Before a start: remove from the upper layer the placeholders and
 * symlinks that live installs made (`made`: insert.h's journal entries,
 * "m PATH" or "l PATH"; others are skipped); the new lower layer has the
 * real files. Only what install made, and only below `upper`, whatever
 * the container did to its upper layer meanwhile. */
void reg_container_layer_clean (const char *upper, char *const *made);

/* Create containers/<id>/{upper,work,merged} and write the first state. */
int reg_container_create (const char *root, struct reg_container *c, struct reg_error **err);
int reg_container_load (const char *root, const char *id, struct reg_container **out,
                        struct reg_error **err);
int reg_container_save (const char *root, const struct reg_container *c, struct reg_error **err);

/* Locked read-modify-write. fn may return -1 with *err set to abort.
 * Fields of the file that this version does not know (written by a newer
 * regd while this version's monitor runs on) are written back unchanged:
 * an upgrade with containers running loses nothing (docs/reliability.md). */
typedef int (*reg_container_update_fn) (struct reg_container *c, void *data,
                                        struct reg_error **err);
int reg_container_update (const char *root, const char *id, reg_container_update_fn fn, void *data,
                          struct reg_error **err);
/* The same, never fsynced: for the "running" record, which no container
 * outlives a power loss to need (docs/reliability.md). A crash of a
 * process still leaves the old or the new file. */
int reg_container_update_unsynced (const char *root, const char *id, reg_container_update_fn fn,
                                   void *data, struct reg_error **err);

/* Remove the container's directory (upper layer, logs, state). */
int reg_container_destroy (const char *root, const char *id, struct reg_error **err);

/* The first half of destroy: the container is gone at once for everyone
 * (its directory renamed to containers/.removing-ID, its name freed); its
 * files are not. *grave gets that directory (allocated), for the caller to
 * remove with reg_util_rm_rf when it has time; regd's start sweeps what is
 * left. *last (when last is not NULL) gets its state as it was when it
 * went (read under its lock; NULL if unreadable), for what the caller
 * still has to give back (its network). */
int reg_container_retire (const char *root, const char *id, char **grave,
                          struct reg_container **last, struct reg_error **err);

/* Find by full id, name, or unique id prefix. *id_out is 65 bytes. */
/* Record an existing container's name in the name index (regd start-up:
 * roots written before the index existed). */
int reg_container_index_name (const char *root, const char *name, const char *id,
                              struct reg_error **err);
/* Letters, digits, '_', '.' and '-', starting with a letter or digit, at
 * most 128 characters. */
bool reg_container_name_ok (const char *name);
/* Reserve `name` for id, record it in the state, release the old name. */
int reg_container_rename (const char *root, const char *id, const char *name,
                          struct reg_error **err);
int reg_container_find (const char *root, const char *ref, char id_out[65], struct reg_error **err);
/* Does a container hold this name (the name index only: a name that is
 * also the prefix of another container's id is free, as in Docker)? */
bool reg_container_name_taken (const char *root, const char *name, char id_out[65]);
/* All container ids (allocated strv). */
int reg_container_list (const char *root, char ***ids, struct reg_error **err);

/* Empty the network state (frees its ports and links). */
void reg_container_net_clear (struct reg_net_state *n);
/* The link of n to `network`, or NULL. */
struct reg_net_link *reg_container_net_link (const struct reg_net_state *n, const char *network);

/* JSON of the whole record (jansson json_t*, caller decrefs). */
struct json_t;
struct json_t *reg_container_to_json (const struct reg_container *c);

/* Is the recorded monitor still the same live process? */
bool reg_container_monitor_alive (const struct reg_container *c);

#endif
