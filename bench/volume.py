#!/usr/bin/env python3
"""Template volume: the unique bytes of the store objects each template names,
and of the union of all (what the store holds for them together).
usage: volume.py ROOT NAME@VER... ; prints JSON."""
import json, os, re, sys

root, refs = sys.argv[1], sys.argv[2:]
def objects(ref):
    name, ver = ref.split("@", 1)
    text = open(f"{root}/templates/{name}/{ver}.ret").read()
    return set(re.findall(r"sha256:([0-9a-f]{64})(\+x)?", text))
def size(objs):
    total = 0
    for d, x in objs:
        total += os.stat(f"{root}/store/objects/sha256/{d[:2]}/{d[2:]}" + (".x" if x else "")).st_size
    return total
per, union = {}, set()
for r in refs:
    o = objects(r)
    per[r] = {"bytes": size(o), "objects": len(o)}
    union |= o
print(json.dumps({"templates": per, "union_bytes": size(union), "union_objects": len(union)}))
