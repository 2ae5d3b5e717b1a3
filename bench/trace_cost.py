#!/usr/bin/env python3
"""Cost of a traced system call (docs/trace.md): os.stat N times in Python,
under reg-trace and bare, less the empty interpreter under each.
usage: bench/trace_cost.py [BUILD_DIR]  (default build)"""
import statistics, subprocess, sys, time

build = sys.argv[1] if len(sys.argv) > 1 else "build"
PY, N = "/usr/bin/python3.11", 20000
loop = 'import os\nfor _ in range(%d): os.stat("/etc/hostname")' % N

def run(cmd, n=9):
    xs = []
    for _ in range(n):
        s = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        xs.append(time.perf_counter() - s)
    return statistics.median(xs), min(xs)

trace = [f"{build}/reg-trace", "--timeout", "60", "--"]
bare, traced = run([PY, "-c", loop]), run(trace + [PY, "-c", loop])
bare0, traced0 = run([PY, "-c", "pass"]), run(trace + [PY, "-c", "pass"])
true_bare, true_traced = run(["/bin/true"]), run(trace + ["/bin/true"])
for i, what in enumerate(("median", "minimum")):
    per = ((traced[i] - traced0[i]) - (bare[i] - bare0[i])) / N
    print(f"{what}: stat loop {bare[i]*1e3:.0f} ms bare, {traced[i]*1e3:.0f} ms traced; "
          f"{per*1e6:.1f} us per traced call; sandbox {(true_traced[i]-true_bare[i])*1e3:.1f} ms")
