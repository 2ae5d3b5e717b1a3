#!/usr/bin/env python3
"""Sum of Pss (kB, /proc/PID/smaps_rollup) over the given PIDs and all their
descendants. One scan of /proc. Prints: total_kB process_count anon_kB
file_kB (Pss_Anon, Pss_File: the private or shared memory of the processes,
and the page-cache pages of the files they map, each divided among all the
processes on the machine that map it)."""
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
sums = {"Pss:": 0, "Pss_Anon:": 0, "Pss_File:": 0}
for p in seen:
    try:
        for line in open(f"/proc/{p}/smaps_rollup"):
            f = line.split()
            if f[0] in sums:
                sums[f[0]] += int(f[1])
    except OSError:
        pass
print(sums["Pss:"], len(seen), sums["Pss_Anon:"], sums["Pss_File:"])
