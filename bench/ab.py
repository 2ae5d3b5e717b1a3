#!/usr/bin/env python3
"""Builds of reg side by side with bubblewrap, interleaved: for judging a
start-up lever (docs/benchmarks.md, the lever tables).

    bench/ab.py [--rounds R] [--runs K] [--args 'run options'] NAME=BUILD_DIR...

Run as root. It enters a network and mount namespace of its own (as
bench/run.sh does), starts one regd per build (BUILD_DIR/regd, its own
temporary root, socket, bridge and --debug-timing file), makes true@1 in
each, then R rounds; in each round every engine (bwrap on the first
build's environment of true@1, then each build's `reg run --rm -t true@1
-- /bin/true`) runs K times back to back, the engines in a different
order each round. It prints each round's medians (and × bwrap), and each
build's per-phase table over all its runs (bench/phases.py), with the
load average before and after.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import phases  # noqa: E402


def start_regd(name, build, index, top):
    root = os.path.join(top, name)
    os.makedirs(root)
    sock = os.path.join(root, "reg.sock")
    timing = os.path.join(root, "timing.log")
    log = open(os.path.join(root, "regd.log"), "w")
    p = subprocess.Popen([os.path.join(build, "regd"), "--root", root + "/root", "--socket", sock,
                          "--bridge", "regab%d" % index, "--debug-timing", timing],
                         stdout=log, stderr=log)
    env = dict(os.environ, REG_HOST="unix://" + sock)
    reg = os.path.join(build, "reg")
    for _ in range(200):
        if subprocess.call([reg, "version"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL) == 0:
            break
        time.sleep(0.05)
    subprocess.check_call([reg, "template", "create", "true@1", "/bin/true"], env=env,
                          stdout=subprocess.DEVNULL)
    return {"name": name, "proc": p, "env": env, "reg": reg, "root": root + "/root",
            "timing": timing}


def env_of_true(e):
    out = subprocess.check_output([e["reg"], "generate", "-t", "true@1", "--", "/bin/true"],
                                  env=e["env"], text=True).strip()
    info = json.loads(subprocess.check_output([e["reg"], "inspect", out], env=e["env"]))
    info = info[0] if isinstance(info, list) else info
    subprocess.check_call([e["reg"], "rm", out], env=e["env"], stdout=subprocess.DEVNULL)
    return os.path.join(e["root"], "envs", info["Closure"])


def timed(cmd, env, fd=None):
    if fd is not None:
        phases.mark(fd, "bench.spawn")
    t0 = time.monotonic_ns()
    rc = subprocess.call(cmd, env=env, stdout=subprocess.DEVNULL)
    t1 = time.monotonic_ns()
    if fd is not None:
        phases.mark(fd, "bench.exited")
    if rc != 0:
        sys.exit("ab: %s failed (%d)" % (" ".join(cmd), rc))
    return (t1 - t0) / 1e6


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    if not os.environ.get("REG_AB_NS"):
        os.execvp("unshare", ["unshare", "-n", "-m", "--propagation", "private", "env",
                              "REG_AB_NS=1", sys.executable] + sys.argv)
    subprocess.check_call(["ip", "link", "set", "lo", "up"])
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--args", default="")
    ap.add_argument("builds", nargs="+")
    a = ap.parse_args()
    top = tempfile.mkdtemp(prefix="reg-ab.", dir="/var/tmp")
    engines = []
    try:
        for i, nb in enumerate(a.builds):
            name, build = nb.split("=", 1)
            engines.append(start_regd(name, os.path.abspath(build), i, top))
        envdir = env_of_true(engines[0])
        bwrap = ["bwrap", "--unshare-all", "--ro-bind", envdir, "/", "--proc", "/proc",
                 "--dev", "/dev", "/bin/true"]
        for e in engines:
            e["cmd"] = [e["reg"], "run", "--rm"] + a.args.split() + ["-t", "true@1", "--",
                                                                   "/bin/true"]
            e["envt"] = dict(e["env"], REG_DEBUG_TIMING=e["timing"])
            for _ in range(3):
                timed(e["cmd"], e["envt"])
            e["fd"] = os.open(e["timing"], os.O_WRONLY | os.O_APPEND)
            os.ftruncate(e["fd"], 0)
            e["all"] = []
        print("load before: %s" % load())
        names = ["bwrap"] + [e["name"] for e in engines]
        print("| round | load | " + " | ".join(names) + " |")
        print("|---|---|" + "---:|" * len(names))
        for r in range(a.rounds):
            order = [None] + engines
            order = order[r % len(order):] + order[:r % len(order)]
            med = {}
            for e in order:
                if e is None:
                    med["bwrap"] = statistics.median(timed(bwrap, None) for _ in range(a.runs))
                else:
                    t = [timed(e["cmd"], e["envt"], e["fd"]) for _ in range(a.runs)]
                    e["all"] += t
                    med[e["name"]] = statistics.median(t)
            b = med["bwrap"]
            cells = ["%.2f" % b] + ["%.2f (%.2f×)" % (med[e["name"]], med[e["name"]] / b)
                                    for e in engines]
            print("| %d | %s | %s |" % (r + 1, load(), " | ".join(cells)), flush=True)
        print("load after: %s" % load())
        for e in engines:
            os.close(e["fd"])
            segments, used, total = phases.analyse(e["timing"])
            print("\n%s: %d runs used, whole run median %.3f ms (phases: median, p90 ms)"
                  % (e["name"], used, total))
            for s in segments:
                print("  %-32s -> %-32s %8.3f %8.3f" % (s["from"], s["to"], s["median_ms"],
                                                          s["p90_ms"]))
    finally:
        for e in engines:
            e["proc"].terminate()
            e["proc"].wait()
        subprocess.call(["umount", "-R", "-l", top], stderr=subprocess.DEVNULL)
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
