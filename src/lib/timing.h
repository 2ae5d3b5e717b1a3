/* timing: the debug-timing record of where one container start goes
 * (regd --debug-timing FILE; docs/benchmarks.md re-generates its per-phase
 * table from it).
 *
 * When REG_DEBUG_TIMING names a file, reg_timing_init opens it for
 * appending and each mark adds one line, in one write(2):
 *   "<CLOCK_MONOTONIC ns> <pid> <id or -> <phase>\n"
 * regd --debug-timing sets the variable for itself and for the monitors it
 * spawns; the client marks too when it has the variable. Containers never
 * see it (their environment is their own). Without it a mark is one
 * branch. A mark never allocates and uses only async-signal-safe calls, so
 * the container's child may mark before it execs. */
#ifndef REG_TIMING_H
#define REG_TIMING_H

/* Open the file named by REG_DEBUG_TIMING (O_APPEND, O_CLOEXEC), once. */
void reg_timing_init (void);

/* Record that `phase` ("monitor.cgroups") was reached, for container id
 * (NULL: not known yet). */
void reg_timing_mark (const char *id, const char *phase);

#endif
