/* monitor: one small supervisor process per container.
 *
 * regd forks and execs the small reg-monitor program (REG_MONITOR, else
 * next to regd). It detaches into its own session, so it outlives regd; it
 * is the container's parent and:
 *   - spawns the container (runtime) and reports "started" or the exact
 *     setup/exec error back to regd over a pipe, after persisting the
 *     running state (pid, monitor pid and start time);
 *   - owns the container's stdout/stderr pipes: every line goes to
 *     containers/<id>/log.jsonl as {"t","stream","line"} JSON, and, for an
 *     attached run, every chunk goes as a frame to the attach fd;
 *   - records the exit status (128+signal for a signal) in the state file;
 *   - removes the container when it was started with --rm.
 *
 * containers/<id>/attach.sock (0600) takes up to REG_MONITOR_CLIENTS
 * connections at once, each opened with one hello line (proto.h) that says
 * what it is:
 *   stdin              then bytes: the container's input (its stdin pipe or
 *                      terminal); the connection's end closes a pipe (run -i)
 *   stdin, keep        the same, but its end leaves the input open
 *                      (reg attach, which may detach and come back)
 *   resize ROWS COLS   the terminal's size; the monitor then closes it
 *   attach             the monitor sends it every output frame from now on
 *                      and the exit frame at the end (reg attach)
 * One connection ending never touches another: a resize while input
 * streams, or a second attach, leaves the first as it was.
 *
 * To regd the monitor writes status lines (proto.h) on fd 3: error (the
 * start result, as the runtime or the monitor's own set-up gave it), or
 * started (the container's PID, as soon as it has exec'd) and then, once
 * the running state is saved, ok; or error when it could not be saved: the
 * container is then killed (nothing would find it) and ends as any other.
 * Its frames (proto.h) go to the attach fd and to every attach connection.
 */
#ifndef REG_MONITOR_H
#define REG_MONITOR_H

#include "container.h"
#include "error.h"
#include "proto.h"

#define REG_MONITOR_CLIENTS 16

/* Start container `c` (state generated or stopped) under a new monitor.
 * attach_fd (or -1) receives frames; the monitor takes its own copy, and
 * of netns_fd (or -1): a bridged container's network namespace, which it
 * holds for the container's life and releases (netrelease.h) at the end. On a
 * start failure *result is the start result as the monitor reported it
 * (125 setup, 126 not executable, 127 not found).
 * saving_fd NULL: returns once the running state is saved. Else it returns
 * as soon as the container runs, with *saving_fd the status pipe whose
 * next line says whether its running state was saved: the caller gives it
 * to reg_monitor_start_saved, and until then nothing may act on the
 * container (engine.h: the operation lock stays held). */
int reg_monitor_start (const char *root, const struct reg_container *c, int attach_fd, int netns_fd,
                       struct reg_start_result *result, int *saving_fd);
/* Wait for the monitor's word that the running state of container id is
 * saved, and close saving_fd. -1 with *result when it could not be (the
 * container is being killed) or the monitor died first. */
int reg_monitor_start_saved (int saving_fd, const char *id, struct reg_start_result *result);

/* main() of the reg-monitor program regd starts for each container:
 * reg-monitor ROOT ID ATTACH(0|1), with the status pipe on fd 3, the
 * attach fd on fd 4 and the network namespace on fd 5; or a spare:
 * reg-monitor --spare ROOT ID-PLACEHOLDER -, with its socket on fd 3
 * (below), which writes the id and attach flag it gets over its last two
 * arguments (`ps` shows "reg-monitor --spare ROOT ID 1"). */
int reg_monitor_main (int argc, char **argv);

/* The spare monitor (monitor_spare.c). regd keeps one reg-monitor started
 * ahead, exec'd and loaded, blocked on a socket (SOCK_SEQPACKET, fd 3), so a
 * start skips the exec of its monitor: reg_monitor_start hands the spare
 * one message, "ID ATTACH NETNS" with the status pipe (and the attach fd,
 * the namespace) as SCM_RIGHTS, and the spare goes on exactly as a monitor
 * spawned with those would; then it starts the next spare. The spare holds
 * nothing before the message, and that message is sent under the start's
 * operation lock, as a spawn is: no container can come from a spare that
 * regd did not hand one (and once handed, it is an ordinary monitor).
 * When regd ends (killed too) its end of the socket closes and the spare
 * exits at once; a spare that died is replaced by a spawn, as when there
 * is none (the first start of a regd). */

/* regd: hand the container to the spare for root, if there is one alive;
 * -1: none (the caller spawns a monitor), 0: *pid is the monitor. */
int reg_monitor_spare_take (const char *root, const char *id, bool attach, int status_fd,
                            int attach_fd, int netns_fd, pid_t *pid);
/* regd: start a spare, if there is none. */
void reg_monitor_spare_fill (const char *monitor_path, const char *root);
/* regd: have the filler (a thread of its own, started at the first kick)
 * start a spare, if there is none; returns at once. */
void reg_monitor_spare_kick (const char *monitor_path, const char *root);
/* The spare: compile the default seccomp filter (security.h) and make the
 * cgroups ahead (*ahead, cgroup.h; NULL: none), then wait for regd's
 * message; place the fds it carries at 3, 4 and 5; id and *attach say
 * which container. -1: regd closed the socket (or sent what no regd
 * sends), the groups made ahead are removed: exit. */
struct reg_cgroup;
int reg_monitor_spare_wait (char **argv, char id[65], bool *attach, struct reg_cgroup **ahead);

#endif
