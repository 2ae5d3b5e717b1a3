/* engine: the operations regd exposes, composed from the modules. Owns the
 * engine root and the closure cache; every regd route is one call here.
 *
 * Locking (thread-safe; lock order top to bottom, never the reverse):
 *  1. The per-container operation lock (lockset.h), keyed by container id.
 *     create (through environment generation), start, stop, kill, pause,
 *     update, install and remove of one container are mutually exclusive:
 *     each takes it, then loads the state, checks it and makes the
 *     transition while holding it. Waiting on a monitor (stop, rm -f) and
 *     generating an environment happen under this lock only. A second
 *     operation waits up to REG_ENGINE_OP_WAIT_S, then gets EBUSY (409).
 *  2. import_lock: template imports and adds, held while files are hashed
 *     into the store, so a failed import's undo is safe (no other template
 *     can name an object it added). Every template save (create, add,
 *     pull) holds it and then lock; prune holds both for its decisions
 *     (see reg_engine_prune).
 *  3. lock, the engine's short lock: name uniqueness at create, the template
 *     list (create, remove, in-use checks), the closure cache. Never held
 *     across a wait on a monitor or an environment generation.
 *  The container's state file has its own flock (container.h), shared with
 *  the monitors, taken last and only for one read-modify-write.
 * Reads (list, inspect, logs) take no lock: state files are replaced
 * atomically, so a reader sees the old or the new one.
 *
 * Errors carry errno-style codes that regd maps to HTTP: EINVAL 400,
 * ENOENT 404, EEXIST/EBUSY 409, anything else 500.
 */
#ifndef REG_ENGINE_H
#define REG_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "closure.h"
#include "container.h"
#include "error.h"
#include "import.h"
#include "logfile.h"
#include "network.h"
#include "proto.h"
#include "runtime.h"
#include "store.h"
#include "template.h"

struct reg_closure_cache;
struct reg_lockset;

#define REG_ENGINE_OP_WAIT_S 60

/* The process boundary of a start: get a monitor running for container c
 * (reg_monitor_start's contract, monitor.h). The one seam in the engine:
 * its unit tests (tests/unit/test_engine.c) put a double here that plays
 * a monitor's part on the real state file; everything else they run is
 * the real engine on a real root. */
typedef int (*reg_engine_monitor_start_fn) (const char *root, const struct reg_container *c,
                                            int attach_fd, int netns_fd,
                                            struct reg_start_result *result, int *saving_fd);

struct reg_engine
{
  char *root;
  struct reg_net_config net; /* network.h; regd's options */
  struct reg_store *store;
  pthread_mutex_t lock;
  pthread_mutex_t import_lock; /* serialises template imports and adds */
  struct reg_closure_cache *cache;
  struct reg_lockset *ops;                   /* per-container operation locks */
  reg_engine_monitor_start_fn monitor_start; /* reg_monitor_start */
};

struct reg_create_options
{
  const char *name;       /* optional, unique */
  char *const *templates; /* at least one */
  char *const *cmd;       /* argv; NULL: the templates' entrypoint */
  char *const *env;       /* "KEY=VALUE", override template env */
  const char *workdir;    /* default /app with a project, else / */
  const char *project;    /* host directory bound at /app */
  const struct reg_mount *mounts;
  size_t n_mounts;
  bool auto_remove;
  struct reg_limits limits;
  int64_t log_max_size; /* 0: the default */
  int64_t storage_size; /* --storage-opt size: bytes of the writable layer; 0: no limit */
  struct reg_restart restart;
  bool open_stdin, tty;
  struct reg_security security;
  unsigned short rows, cols;
  char *const *ports; /* "[IP:]HOST:CONTAINER[/tcp|udp]", recorded */
  /* -P: also publish, each on a free host port, every port `exposed`
   * lists (reg.yaml's expose:, "PORT[/tcp|udp]") and every port the
   * templates declare (their expose:, an image's ExposedPorts). */
  bool publish_all;
  char *const *exposed;
  /* "host" (the default), "none", or "container:REF" (another container's
   * network namespace; resolved to its id at create). */
  const char *network_mode;
  const char *hostname;                                      /* NULL: the short id */
  char *const *dns, *const *dns_search, *const *extra_hosts; /* etcfiles.h */
  char *const *aliases;               /* --network-alias: user networks only */
  int stop_signal;                    /* 0: the templates', else SIGTERM */
  int stop_timeout;                   /* -1: REG_STOP_TIMEOUT */
  bool init;                          /* reg-init as PID 1 */
  struct reg_healthcheck healthcheck; /* borrowed; test NULL: none (health.h) */
  const struct reg_ulimit *ulimits;
  size_t n_ulimits;
  /* "NAME[:GROUP]" resolved through the templates' accounts (accounts.h)
   * into security's uid and gid; numeric users are already there. */
  const char *user;
  /* --group-add (Docker's HostConfig.GroupAdd): group names (through the
   * accounts) or gids, added to the user's memberships. */
  char *const *group_add;
};

int reg_engine_open (const char *root, struct reg_engine **out, struct reg_error **err);
/* regd's options for the engine, set before it serves: whether imports
 * hard-link qualifying host files (store.h, link_host) and the networks'
 * configuration (network.h). */
struct reg_engine_config
{
  bool link_host_files;
  struct reg_net_config net;
};
void reg_engine_configure (struct reg_engine *e, const struct reg_engine_config *c);
/* Remove what an engine that crashed mid-operation left behind: half-removed
 * containers (containers/.removing-*), half-pruned environments (envs/.prune-*), half-generated
 * environments (envs/.gen-*), unfinished store writes (in store/tmp) and state temp files. Only
 * with the root lock held (regd), so no operation is in flight. */
int reg_engine_sweep (struct reg_engine *e, struct reg_error **err);
/* After a host reboot (or every monitor killed): containers whose monitor
 * is gone are marked stopped, --rm ones removed (their state is never
 * synced: container.c), and those with restart policy "always" (or
 * "unless-stopped" and not stopped by a user) are started again. */
int reg_engine_restore (struct reg_engine *e, struct reg_error **err);
void reg_engine_free (struct reg_engine *e);

/* Templates. An installed name@version is refused (EEXIST) unless
 * `replace`, and refused even then (EBUSY) while a container uses it,
 * directly or through the requires of its templates. */
int reg_engine_template_create (struct reg_engine *e, const struct reg_import_options *o,
                                bool replace, struct reg_template **out, struct reg_error **err);
int reg_engine_template_add (struct reg_engine *e, const char *text, size_t len, bool replace,
                             struct reg_template **out, struct reg_error **err);
int reg_engine_template_remove (struct reg_engine *e, const char *ref, struct reg_error **err);
/* The templates as {"Ref", "Name", "Version", "Digest", "Files", "Libs",
 * "Requires"} (engine_template.c), and one with its RET text ("Ret");
 * ENOENT for an unknown reference. */
int reg_engine_template_list (struct reg_engine *e, struct json_t **out, struct reg_error **err);
struct json_t *reg_engine_template_summary (const char *ref, const struct reg_template *t);
int reg_engine_template_inspect (struct reg_engine *e, const char *ref, struct json_t **out,
                                 struct reg_error **err);

/* Containers */
int reg_engine_container_create (struct reg_engine *e, const struct reg_create_options *o,
                                 struct reg_container **out, struct reg_error **err);
/* reg ps: every container's record (reg_container_to_json), live ones
 * only unless `all`; a state file that cannot be read is listed as dead
 * (with `all`) so that rm -f can find it; with `size`, SizeRw, the bytes
 * of its writable layer. */
int reg_engine_container_list (struct reg_engine *e, bool all, bool size, struct json_t **out,
                               struct reg_error **err);
/* Every container's id (unsorted). */
int reg_engine_container_ids (struct reg_engine *e, char ***ids, struct reg_error **err);
/* A health check's result for the run that started at `started` (a
 * stale one, of a run that ended, is dropped): recorded in the state by
 * read-modify-write under the state file's lock (not the operation lock:
 * a check never waits behind a stop), with a "health_status: S" event
 * when the status changes (health.h). */
struct reg_health_result;
int reg_engine_container_health_record (struct reg_engine *e, const char *id, const char *started,
                                        const struct reg_health_result *r, struct reg_error **err);
/* Load by id/name/prefix, correcting a stale "running" whose monitor died. */
int reg_engine_container_get (struct reg_engine *e, const char *ref, struct reg_container **out,
                              struct reg_error **err);
/* Start a generated or stopped container under a new monitor; attach_fd
 * (or -1) gets its frames (proto.h). On failure *result says why, as the
 * process that failed said it (proto.h): exit_code 0 when the engine
 * refused before any start was tried (errnum as for every engine error),
 * else 125 set-up, 126 not executable, 127 not found. */
int reg_engine_container_start (struct reg_engine *e, const char *ref, int attach_fd,
                                struct reg_start_result *result);
/* reg run in one request: create (as reg_engine_container_create), then
 * start (as reg_engine_container_start); attach_fd (or -1) gets the frames,
 * the first a REG_FRAME_ID with the new id. A --rm container whose start
 * failed is removed (a run leaves nothing of it, as two requests did with
 * the client's rm). On failure *result says why: exit_code 0 when the
 * create was refused (errnum as for every engine error), else the start's
 * result; *out is NULL then. */
int reg_engine_container_run (struct reg_engine *e, const struct reg_create_options *o,
                              int attach_fd, struct reg_container **out,
                              struct reg_start_result *result);
/* The same, returning as soon as the container runs, before its monitor
 * has saved the running state (the client's stream need not wait for that
 * write): *pending is then the start's tail, which still holds the
 * container's operation lock, so no stop, kill or rm can act on it before
 * the state says running. Any thread may finish it with
 * reg_engine_start_settle (lockset.h), and must, soon: until then every
 * other operation on the container waits. *pending is NULL when there is
 * nothing left to wait for. */
struct reg_start_pending;
int reg_engine_container_run_pending (struct reg_engine *e, const struct reg_create_options *o,
                                      int attach_fd, struct reg_container **out,
                                      struct reg_start_result *result,
                                      struct reg_start_pending **pending);
/* The descriptor that becomes readable when the monitor has said whether
 * the state was saved (settling then does not wait). */
int reg_engine_start_pending_fd (const struct reg_start_pending *p);
/* Wait for the monitor's word (it logs the "start" event), release the
 * operation lock, free p. -1 with *result when the state could not be
 * saved (the monitor kills the container) or the monitor died. */
int reg_engine_start_settle (struct reg_start_pending *p, struct reg_start_result *result);
/* Send the container's stop signal (SIGTERM unless --stop-signal or a
 * template said otherwise), wait timeout_s (-1: the container's
 * --stop-timeout, else REG_STOP_TIMEOUT), then SIGKILL. A container that is
 * not running is stopped already: success, as in Docker. */
int reg_engine_container_stop (struct reg_engine *e, const char *ref, int timeout_s,
                               struct reg_error **err);
/* Send a signal to the container's first process (409 unless running). */
int reg_engine_container_kill (struct reg_engine *e, const char *ref, int sig,
                               struct reg_error **err);
/* Current resource use of a running (or paused) container, from its cgroups. */
int reg_engine_container_stats (struct reg_engine *e, const char *ref, struct reg_cgroup_stats *out,
                                struct reg_error **err);
/* New limits (complete: the caller merges them over the current ones),
 * applied at once to a live container and kept for its next start. */
int reg_engine_container_update (struct reg_engine *e, const char *ref, const struct reg_limits *l,
                                 struct reg_error **err);
/* Host PIDs of every process of a live container, from its cgroup. */
int reg_engine_container_pids (struct reg_engine *e, const char *ref, pid_t **pids, size_t *n,
                               struct reg_error **err);
/* reg top (engine_process.c): every process of a live container, from
 * its cgroup and /proc. */
struct reg_process
{
  pid_t pid, ppid;
  char state;               /* proc(5): R, S, D, Z, T ... */
  unsigned long long cpu_s; /* user + system time, seconds */
  char *command;            /* its command line, spaces between arguments */
};
int reg_engine_container_top (struct reg_engine *e, const char *ref, struct reg_process **out,
                              size_t *n, struct reg_error **err);
void reg_engine_processes_free (struct reg_process *p, size_t n);
/* The input of a container started with -i or a terminal: a connection to
 * its monitor (monitor.h) to write it to; its end closes the input unless
 * `keep`. EBUSY when it takes no input or is not running. (Waits a little
 * for a start under way: run -i sends input meanwhile.) */
int reg_engine_container_input (struct reg_engine *e, const char *ref, bool keep, int *fd,
                                struct reg_error **err);
/* Its terminal's size; EBUSY when it has none. */
int reg_engine_container_resize (struct reg_engine *e, const char *ref, unsigned short rows,
                                 unsigned short cols, struct reg_error **err);
/* reg attach: a connection that gets its output frames (proto.h) from now
 * on and the exit frame at the end; EBUSY unless it is live. */
int reg_engine_container_attach (struct reg_engine *e, const char *ref, int *fd,
                                 struct reg_error **err);
/* reg logs: a reader of the container's log as frames (logfile.h); with
 * follow it ends when the container has stopped. */
int reg_engine_container_logs (struct reg_engine *e, const char *ref,
                               const struct reg_logfile_query *q, struct reg_logfile_reader **out,
                               struct reg_error **err);
/* Install (or uninstall) template `tmpl` in a generated, stopped or running
 * container. A running one is Inserting meanwhile and gets the files at
 * once (insert.h), all or nothing; the others get a new environment at
 * their next start. The container's template list says the truth after. */
int reg_engine_container_install (struct reg_engine *e, const char *ref, const char *tmpl,
                                  bool uninstall, struct reg_error **err);
/* Give the container a new name (Docker's rename): EEXIST when another
 * container has it; the old name is free at once. */
/* The host (engine_host.c): what it is and how busy it is (hostinfo.h),
 * and the event log, read and followed as events.h says. */
struct reg_hostinfo;
struct reg_hoststats;
struct reg_events_query;
int reg_engine_host_info (struct reg_engine *e, struct reg_hostinfo *out, struct reg_error **err);
int reg_engine_host_stats (struct reg_engine *e, struct reg_hoststats *out, struct reg_error **err);
int reg_engine_events_read (struct reg_engine *e, const struct reg_events_query *q,
                            int (*fn) (void *data, const char *line, size_t len), void *data,
                            int cancel_fd, struct reg_error **err);

/* User networks (engine_network.c), in Docker's JSON shape: the list
 * (the default "bridge" first), one network, create (a name and an
 * optional subnet: EINVAL for a bad one, EEXIST/EBUSY for a taken name or
 * an overlapping subnet) and remove (EBUSY while a container is on it;
 * "bridge" cannot be removed). */
int reg_engine_network_list (struct reg_engine *e, struct json_t **out, struct reg_error **err);
int reg_engine_network_inspect (struct reg_engine *e, const char *name, struct json_t **out,
                                struct reg_error **err);
int reg_engine_network_create (struct reg_engine *e, const char *name, const char *subnet,
                               struct json_t **out, struct reg_error **err);
int reg_engine_network_remove (struct reg_engine *e, const char *name, struct reg_error **err);

/* `reg network connect/disconnect` of a running container (network.h),
 * under its operation lock and the engine's lock; an event "network
 * connect"/"disconnect" with the container's id. */
int reg_engine_network_connect (struct reg_engine *e, const char *network, const char *ref,
                                char *const *aliases, struct reg_error **err);
int reg_engine_network_disconnect (struct reg_engine *e, const char *network, const char *ref,
                                   struct reg_error **err);
int reg_engine_container_rename (struct reg_engine *e, const char *ref, const char *name,
                                 struct reg_error **err);
/* Freeze (pause) or thaw (unpause) every process of the container. */
int reg_engine_container_pause (struct reg_engine *e, const char *ref, bool pause,
                                struct reg_error **err);
/* Block until the container has stopped; its exit code. A container that
 * was never started is an error (it would never stop). */
int reg_engine_container_wait (struct reg_engine *e, const char *ref, int *exit_code,
                               struct reg_error **err);
/* Remove a container (force: kill it first when it runs); with volumes,
 * also its anonymous volumes (docker rm -v), each unless another container
 * mounts it. */
int reg_engine_container_remove (struct reg_engine *e, const char *ref, bool force, bool volumes,
                                 struct reg_error **err);

/* reg exec (engine_exec.c): a new process in a running container
 * (runtime.h, reg_runtime_exec), as a session that lives in this process's
 * memory: create it, start it once, feed its input, resize its terminal. */
struct reg_exec_options
{
  char *const *cmd;    /* argv, at least one */
  char *const *env;    /* "KEY=VALUE", after the container's own */
  const char *workdir; /* NULL: the container's */
  bool tty, open_stdin;
  unsigned short rows, cols; /* the terminal's first size; 0: unknown */
};
/* A session for running container `ref`; its id into id. */
int reg_engine_exec_create (struct reg_engine *e, const char *ref, const struct reg_exec_options *o,
                            char id[65], struct reg_error **err);
/* Start session `eid` (once): *frames_fd is the read end of its output as
 * frames (proto.h), ending with the exit frame; closing it early kills
 * the process. On failure *res says why (exit_code 0: refused, ENOENT when
 * there is no such session; else the helper's start result). */
int reg_engine_exec_start (struct reg_engine *e, const char *eid, int *frames_fd,
                           struct reg_start_result *res);
/* The helper of one command in running container c (reg_runtime_exec):
 * spec's argv, env, workdir, terminal and descriptors are the caller's;
 * the container's first process, cgroups, confinement and ulimits are
 * filled in from c. For the sessions above and regd's health checks. */
int reg_engine_exec_spawn (const struct reg_container *c, struct reg_exec_spec *spec, pid_t *helper,
                           struct reg_error **err);
/* A descriptor for the session's input (waits a little for a start under
 * way): ENOENT no such session, EBUSY its input is closed (no -i). */
int reg_engine_exec_input (struct reg_engine *e, const char *eid, int *fd, struct reg_error **err);
/* The caller's input ended: the process sees end of file (not a tty). */
void reg_engine_exec_input_done (struct reg_engine *e, const char *eid);
/* EBUSY when it has no terminal (or has not started). */
int reg_engine_exec_resize (struct reg_engine *e, const char *eid, unsigned short rows,
                            unsigned short cols, struct reg_error **err);

/* Volumes (engine_volume.c). Volume create and remove hold the engine's
 * short lock, as container create does while it resolves its mounts and
 * records the container, so a volume cannot be removed while a container
 * that names it is created. */
int reg_engine_volume_create (struct reg_engine *e, const char *name, struct json_t **out,
                              struct reg_error **err);
/* The volume's record (volume.h) with "UsedBy": the ids of the containers
 * (any state) that mount it. */
int reg_engine_volume_inspect (struct reg_engine *e, const char *name, struct json_t **out,
                               struct reg_error **err);
/* Every volume's record, with UsedBy. */
int reg_engine_volume_list (struct reg_engine *e, struct json_t **out, struct reg_error **err);
/* EBUSY, naming the containers, while any container mounts it (Docker's
 * rule: even a stopped one, which would fail at its next start). */
int reg_engine_volume_remove (struct reg_engine *e, const char *name, struct reg_error **err);
/* Remove every volume no container mounts: {"VolumesDeleted": [...],
 * "SpaceReclaimed": bytes}. */
int reg_engine_volume_prune (struct reg_engine *e, struct json_t **out, struct reg_error **err);
/* The run defaults of c's templates (engine_defaults.c) where the request
 * sets none: health check, user (names through the templates' accounts,
 * else the closure's /etc/passwd and /etc/group), working directory (-w,
 * else /app with a project, else the templates', else /), labels, and an
 * anonymous volume for each template volume no mount covers. */
int reg_engine_run_defaults (const struct reg_store *store, struct reg_container *c,
                             const struct reg_create_options *o, const struct reg_closure *cl,
                             struct reg_error **err);
/* Create-time checks of a container's mounts (targets clean and distinct,
 * bind sources absolute and existing, volume names valid). */
int reg_engine_mounts_check (const struct reg_mount *m, size_t n, struct reg_error **err);
/* With the engine lock held: create the volumes c's mounts name that do
 * not exist yet (their names into *made) and point each volume mount at
 * its data directory. */
int reg_engine_mounts_resolve (struct reg_engine *e, struct reg_container *c, char ***made,
                               struct reg_error **err);
/* With the engine lock held, once c's environment (closure `digest`) is
 * generated: each volume c mounts that is empty is initialised with the
 * environment's directory at its target (reg_volume_fill; of a layered
 * environment, the base's tree and the layer's over it), as Docker copies
 * an image's files into a new or empty volume. A target that is missing
 * in the environment, is no directory or passes through a symlink there
 * gets nothing (the volume stays empty). */
int reg_engine_volumes_fill (struct reg_engine *e, const struct reg_container *c,
                             const char *digest, struct reg_error **err);
/* rm -v: the anonymous volumes of the removed container c, each unless
 * another container mounts it (left then, as Docker leaves it). */
void reg_engine_volumes_remove_anonymous (struct reg_engine *e, const struct reg_container *c);
/* Take back the volumes a failed create made. */
void reg_engine_volumes_unmake (struct reg_engine *e, char **made);

/* reg cp (engine_copy.c): the container's tree as its processes see it,
 * as a directory fd for copy.h. Running: /proc/PID/root (its mounts
 * included). Not running: a detached overlay of its layers (read-only, or
 * writable while the container's operation lock is held until the close,
 * so it cannot start meanwhile); a path on one of its mounts is then
 * EBUSY. */
struct reg_container_tree
{
  int root_fd;
  struct reg_lock *op; /* the container's operation lock, while held */
  struct reg_engine *e;
};
int reg_engine_container_tree (struct reg_engine *e, const char *ref, const char *path,
                               bool writable, struct reg_container_tree *t, struct reg_error **err);
void reg_engine_container_tree_close (struct reg_container_tree *t);
/* reg diff: the changes of its upper layer (copy.h), in any state. */
int reg_engine_container_changes (struct reg_engine *e, const char *ref, struct json_t **out,
                                  struct reg_error **err);

struct reg_df
{
  struct reg_store_stats store;
  uint64_t templates, envs, containers, running;
  /* What a prune would remove: objects no template names (and their
   * bytes), environments no container uses, stopped containers, templates
   * no container uses (only `system prune -a` removes those). */
  uint64_t unreferenced_objects, reclaimable_bytes, unused_envs, stopped, unused_templates;
};
int reg_engine_df (struct reg_engine *e, struct reg_df *out, struct reg_error **err);

/* Garbage collection (gc.h): what nothing references goes.
 *   containers: stopped containers, each through reg_engine_container_remove
 *               (one started meanwhile is skipped);
 *   templates:  templates no container uses, directly or through requires;
 *   data:       environments no container uses, objects no template names.
 * Locking: the import lock is held from reading the templates until the
 * objects are unlinked, so no import, add or pull adds a template or an
 * object meanwhile; the engine lock is held while the containers' references
 * are read and unused templates and environments are detached (renamed to
 * envs/.prune-*), so no container is created on one meanwhile. Environments
 * are deleted after both locks are released. Creates, starts and runs go on
 * during the object phase: their templates keep their objects. A template or
 * container that cannot be read refuses the prune (its references are
 * unknown), naming it. */
struct reg_prune_options
{
  bool containers, templates, data;
};
struct reg_prune_report
{
  char **containers; /* ids removed */
  char **templates;  /* refs removed */
  uint64_t envs, objects, bytes;
};
int reg_engine_prune (struct reg_engine *e, const struct reg_prune_options *o,
                      struct reg_prune_report *out, struct reg_error **err);
void reg_engine_prune_report_clear (struct reg_prune_report *r);

/* reg_store_verify, plus `unreferenced` for every object no template names
 * (counted in *n_unreferenced; under the import lock, so an import in
 * progress is not reported). Returns the number of corrupt objects. */
int reg_engine_store_verify (struct reg_engine *e, reg_store_corrupt_fn corrupt,
                             void (*unreferenced) (const char *path, void *data), void *data,
                             uint64_t *checked, uint64_t *n_unreferenced, struct reg_error **err);

#endif
