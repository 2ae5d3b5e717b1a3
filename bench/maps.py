#!/usr/bin/env python3
"""Where two process trees' Pss differs, mapping by mapping: for each root
PID, it and all its descendants; /proc/PID/smaps summed per mapped file
(anonymous mappings as [anon], [heap], [stack]); prints the mappings whose
Pss differs most between the two trees, and the totals. kB.
usage: maps.py [-n N] PID_A PID_B"""
import collections, os, sys

args = sys.argv[1:]
top = 12
if args[:1] == ["-n"]:
    top, args = int(args[1]), args[2:]
if len(args) != 2:
    sys.exit(__doc__)

def tree(root):
    out, todo = set(), [root]
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.add(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                todo += open(f"/proc/{p}/task/{t}/children").read().split()
        except OSError:
            pass
    return out

def per_mapping(root):
    d = collections.Counter()
    for p in tree(root):
        cur = None
        try:
            for line in open(f"/proc/{p}/smaps"):
                f = line.split()
                if "-" in f[0] and len(f) >= 5 and ":" in f[3]:
                    cur = f[5] if len(f) > 5 else "[anon]"
                elif f[0] in ("Rss:", "Pss:"):
                    d[(cur, f[0])] += int(f[1])
        except OSError:
            pass
    return d

a, b = per_mapping(args[0]), per_mapping(args[1])
names = {k[0] for k in a} | {k[0] for k in b}
rows = sorted(names, key=lambda n: -abs(b[(n, "Pss:")] - a[(n, "Pss:")]))
print(f"{'mapping':56} {'A Rss':>7} {'A Pss':>7} {'B Rss':>7} {'B Pss':>7} {'B-A Pss':>8}")
for n in rows[:top]:
    print(f"{n[-56:]:56} {a[(n, 'Rss:')]:7} {a[(n, 'Pss:')]:7} {b[(n, 'Rss:')]:7} {b[(n, 'Pss:')]:7} "
          f"{b[(n, 'Pss:')] - a[(n, 'Pss:')]:+8}")
def threads(root):
    n = 0
    for p in tree(root):
        try:
            n += len(os.listdir(f"/proc/{p}/task"))
        except OSError:
            pass
    return n

print(f"{'processes, threads':56} {len(tree(args[0])):7} {threads(args[0]):7} {len(tree(args[1])):7} {threads(args[1]):7}")
ta = sum(v for k, v in a.items() if k[1] == "Pss:")
tb = sum(v for k, v in b.items() if k[1] == "Pss:")
print(f"{'total':56} {'':7} {ta:7} {'':7} {tb:7} {tb - ta:+8}")
