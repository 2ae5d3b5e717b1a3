#!/usr/bin/env python3
"""Sum of Pss (kB, /proc/PID/smaps_rollup) over the given PIDs and all their
descendants. One scan of /proc. Prints: total_kB process_count."""
import os, sys

roots = {int(a) for a in sys.argv[1:] if a.strip() and int(a) > 0}
children = {}
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        s = open(f"/proc/{d}/stat").read()
    except OSError:
        continue
    ppid = int(s[s.rindex(")") + 2:].split()[1])
    children.setdefault(ppid, []).append(int(d))
seen, todo = set(), list(roots)
while todo:
    p = todo.pop()
    if p in seen:
        continue
    seen.add(p)
    todo.extend(children.get(p, []))
total = 0
for p in seen:
    try:
        for line in open(f"/proc/{p}/smaps_rollup"):
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    except OSError:
        pass
print(total, len(seen))
