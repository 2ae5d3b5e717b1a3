#!/usr/bin/env python3
"""The headline ratios of a bench run (bench/quick.sh, or bench/run.sh's
results): usage headline.py RESULTS_DIR. Prints; writes nothing."""
import json, os, statistics, sys

R = sys.argv[1]
has = lambda f: os.path.exists(f"{R}/{f}")
if has("startup.json"):
    s = {x["command"]: statistics.median(x["times"]) * 1e3 for x in json.load(open(f"{R}/startup.json"))["results"]}
    reg = s["reg"]
    print(f"run --rm median: reg {reg:.2f} ms, bwrap {s['bwrap']:.2f} ms, unshare {s['unshare']:.2f} ms")
    print(f"  reg / bwrap   {reg / s['bwrap']:.2f}x   (target <= 1.00)")
    print(f"  reg / unshare {reg / s['unshare']:.2f}x")
    for k in ("runc", "docker"):
        if k in s:
            print(f"  {k} / reg {s[k] / reg:.2f}x")
if has("client.json"):
    for x in json.load(open(f"{R}/client.json"))["results"]:
        print(f"client: {x['command'].split('/')[-1]}: median {x['median'] * 1e3:.2f} ms")
if has("phases.json"):
    ph = json.load(open(f"{R}/phases.json"))
    # What the client waits for: the phases up to its exit.
    names = [x["to"] for x in ph["segments"]]
    end = names.index("bench.exited") + 1 if "bench.exited" in names else len(names)
    top = sorted(ph["segments"][:end], key=lambda x: -x["median_ms"])[:5]
    print(f"phases (median of {ph['used']} runs; whole run {ph['total_median_ms']:.2f} ms), the five largest:")
    for x in top:
        print(f"  {x['from']} -> {x['to']}: {x['median_ms']:.2f} ms")
mg = {}
for e in ("bare", "reg", "reglink", "docker"):
    if has(f"marginal-{e}.dat"):
        mg[e] = [int(l.split()[1]) for l in open(f"{R}/marginal-{e}.dat") if l.strip()]
if "bare" in mg and len(mg["bare"]) > 1:
    n = min(len(v) for v in mg.values())
    per = {e: (v[n - 1] - v[0]) / (n - 1) for e, v in mg.items()}
    print(f"memory, 1..{n} python http.server (sum of Pss):")
    for e, v in mg.items():
        print(f"  {e}: {v[n - 1]} kB at {n}, {v[n - 1] / mg['bare'][n - 1]:.3f}x bare; "
              f"per extra one {per[e]:.0f} kB ({per[e] - per['bare']:+.0f} kB vs bare; target <= +300)")
