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
 * To regd the monitor writes one status line (proto.h) on fd 3: started
 * (the container's PID, after the running state is saved) or error (the
 * start result, as the runtime or the monitor's own set-up gave it). Its
 * frames (proto.h) go to the attach fd and to every attach connection.
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
 * (125 setup, 126 not executable, 127 not found). */
int reg_monitor_start (const char *root, const struct reg_container *c, int attach_fd, int netns_fd,
                       struct reg_start_result *result);

/* main() of the reg-monitor program regd starts for each container:
 * reg-monitor ROOT ID ATTACH(0|1), with the status pipe on fd 3, the
 * attach fd on fd 4 and the network namespace on fd 5. */
int reg_monitor_main (int argc, char **argv);

#endif
