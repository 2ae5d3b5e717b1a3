#!/usr/bin/env python3
"""Per-phase breakdown of `reg run --rm`, from the marks regd records.

    bench/phases.py TIMING_FILE RUNS OUT.json -- REG run --rm -t T -- /bin/true

TIMING_FILE is the file a regd was started with (`regd --debug-timing
FILE`): regd and its monitors append a line to it at each phase of a start
("<CLOCK_MONOTONIC ns> <pid> <id> <phase>", src/lib/timing.h), and so does
the client, which gets REG_DEBUG_TIMING=FILE from here. This script adds
its own marks around each run (bench.spawn just before the client is
spawned, bench.exited when it has been reaped), runs the command RUNS times
one after another, then cuts the runs into segments "A -> B" between
consecutive phases in their most common order, and writes the median of
each segment over the runs that went through every phase once (a run
that took another path, e.g. an error, is left out, never mixed in).
"""
import json
import os
import statistics
import subprocess
import sys
import time


def mark(fd, phase):
    os.write(fd, b"%d %d - %s\n" % (time.monotonic_ns(), os.getpid(), phase.encode()))


def runs_of(path):
    """Each run's marks, in time order: the marks between its bench.spawn
    and the next one, except that a mark naming a container goes to the
    run of that container (an --rm container's files go after its client
    returns, during the next run)."""
    windows, cur = [], None
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 4:
                continue
            t, cid, phase = int(parts[0]), parts[2], parts[3]
            if phase == "bench.spawn":
                cur = []
                windows.append(cur)
            if cur is not None:
                cur.append((t, cid, phase))
    owner = {}
    for i, w in enumerate(windows):
        for _, cid, phase in w:
            if phase == "client.created":
                owner[cid] = i
    runs = [[] for _ in windows]
    for i, w in enumerate(windows):
        for t, cid, phase in w:
            runs[owner.get(cid, i) if cid != "-" else i].append((t, phase))
    return [sorted(r) for r in runs]


def analyse(path):
    """The runs recorded in path cut into phases: (segments [{from, to,
    median_ms, p90_ms}] in the most common order, the number of runs used, the
    median whole run in ms)."""
    runs = runs_of(path)
    seqs = {}
    for r in runs:
        seqs.setdefault(tuple(p for _, p in r), []).append(r)
    # The order: the most common one. Each segment is measured by name in
    # every run that has each phase once (concurrent phases, such as the
    # monitor's last steps and the client's exit, may swap places).
    order = max(seqs.items(), key=lambda kv: len(kv[1]))[0]
    chosen = []
    for r in runs:
        names = [p for _, p in r]
        if sorted(names) == sorted(order) and len(set(names)) == len(names):
            chosen.append({p: t for t, p in r})
    segments = []
    for a, b in zip(order, order[1:]):
        d = [(r[b] - r[a]) / 1e6 for r in chosen]
        segments.append({"from": a, "to": b, "median_ms": statistics.median(d),
                         "p90_ms": sorted(d)[int(len(d) * 0.9)]})
    totals = [(r["bench.exited"] - r["bench.spawn"]) / 1e6 for r in chosen]
    return segments, len(chosen), statistics.median(totals)


def main():
    if len(sys.argv) < 6 or sys.argv[4] != "--":
        sys.exit(__doc__)
    path, n, out, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[5:]
    env = dict(os.environ, REG_DEBUG_TIMING=path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.ftruncate(fd, 0)
    failed = 0
    for _ in range(n):
        mark(fd, "bench.spawn")
        rc = subprocess.call(cmd, env=env, stdout=subprocess.DEVNULL)
        mark(fd, "bench.exited")
        failed += rc != 0
    os.close(fd)
    if failed:
        sys.exit("phases: %d of %d runs of %s failed" % (failed, n, " ".join(cmd)))
    segments, used, total = analyse(path)
    result = {
        "command": " ".join(cmd),
        "runs": n,
        "used": used,
        "failed": failed,
        "total_median_ms": total,
        "segments": segments,
    }
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    for s in segments:
        print("%-32s -> %-32s %8.3f ms" % (s["from"], s["to"], s["median_ms"]))
    print("total (median over the %d runs used of %d): %.3f ms"
          % (used, n, total))


if __name__ == "__main__":
    main()
