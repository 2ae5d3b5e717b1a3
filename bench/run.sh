#!/bin/bash
# reg benchmarks, measured side by side with the peers in one run; writes
# docs/benchmarks.md. Needs root and Debian 12. Sets everything up itself:
# installs hyperfine, runc, docker.io and debootstrap, starts dockerd if it
# is not running, builds a Debian minbase rootfs (+ python3) with debootstrap
# and imports it into Docker (there is no Docker Hub here).
#
#   bench/run.sh            (or `make bench`)
#   RUNS=100 bench/run.sh   start-up runs per engine (default 100)
#
# A private regd on a temporary root is used, so the bench never touches
# /var/lib/reg. Reported as ratios to the peers measured in this same run.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
RUNS=${RUNS:-100}
WORK=${BENCH_WORK:-/var/tmp/reg-bench}
OUT=$REPO/docs/benchmarks.md

export DEBIAN_FRONTEND=noninteractive
need=""
for p in hyperfine runc docker.io debootstrap python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
[ -z "$need" ] || { apt-get update -qq; apt-get install -y -qq --no-install-recommends $need; }
scripts/deps.sh
make -s -j"$(nproc)"
REG=$REPO/build/reg REGD=$REPO/build/regd

mkdir -p "$WORK"
ROOTFS=$WORK/rootfs-python3
if [ ! -x "$ROOTFS/usr/bin/python3" ]; then
  rm -rf "$ROOTFS"
  debootstrap --variant=minbase --include=python3 bookworm "$ROOTFS" http://deb.debian.org/debian
fi

if ! docker info >/dev/null 2>&1; then
  (dockerd >"$WORK/dockerd.log" 2>&1 &)
  for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.3; done
fi
if ! docker image inspect reg-bench/python3 >/dev/null 2>&1; then
  tar -C "$ROOTFS" -c . | docker import - reg-bench/python3 >/dev/null
fi

# runc bundle on the same rootfs.
BUNDLE=$WORK/bundle
if [ ! -f "$BUNDLE/config.json" ]; then
  mkdir -p "$BUNDLE"
  (cd "$BUNDLE" && runc spec)
  python3 - "$BUNDLE/config.json" "$ROOTFS" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["root"]["path"] = sys.argv[2]
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["root"]["readonly"] = True
json.dump(c, open(p, "w"), indent=2)
PY
fi

# A private regd.
T=$(mktemp -d /var/tmp/reg-bench-root.XXXXXX)
"$REGD" --root "$T/root" --socket "$T/reg.sock" >"$T/regd.log" 2>&1 &
REGD_PID=$!
trap 'kill $REGD_PID 2>/dev/null; wait $REGD_PID 2>/dev/null; rm -rf "$T"; true' EXIT
export REG_HOST=unix://$T/reg.sock
for _ in $(seq 100); do "$REG" version >/dev/null 2>&1 && break; sleep 0.05; done

PY=$(readlink -f /usr/bin/python3)
PYVER=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
"$REG" template create true@1 /bin/true >/dev/null
# The python3 binary, its libraries and its standard library: every entry of
# /usr/lib/pythonX.Y except config-* (the static libpython and build files of
# pythonX.Y-dev, which the Docker image does not have either).
mapfile -t STDLIB < <(find "/usr/lib/python$PYVER" -mindepth 1 -maxdepth 1 ! -name 'config-*' | sort)
"$REG" template create "python@$PYVER" "$PY" "${STDLIB[@]}" --entrypoint "$PY" >/dev/null
"$REG" run --rm -t true@1 -- /bin/true   # generate the environment once

# ---- 1. start-up ----
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$T/startup.json" \
  -n unshare "unshare -mpiuf --mount-proc /bin/true" \
  -n reg "$REG run --rm -t true@1 -- /bin/true" \
  -n runc "runc run -b $BUNDLE reg-bench-runc" \
  -n docker "docker run --rm --network none reg-bench/python3 /bin/true" >"$T/hyperfine.txt"

# Where the client's time goes: the same through curl (no reg binary).
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$T/client.json" \
  -n "reg version (client start + 1 request)" "$REG version" \
  -n "reg binary, no request (--help)" "$REG --help" >/dev/null

# ---- 1b. supervision memory: PSS per container of reg-monitor vs containerd's shim ----
pss_of () { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
"$REG" template create sleep@1 /bin/sleep >/dev/null
for i in $(seq 10); do "$REG" run -d -t sleep@1 -- /bin/sleep 600 >/dev/null; done
sleep 1
REG_PSS=$(for m in $(pgrep '^reg-mon-'); do pss_of "$m"; done | awk '{s+=$1; n++} END {if (n) printf "%.0f", s/n}')
for i in $(seq 10); do docker run -d --network none reg-bench/python3 sleep 600 >/dev/null; done
sleep 2
SHIM_PSS=$(for m in $(pgrep -f containerd-shim); do pss_of "$m"; done | awk '{s+=$1; n++} END {if (n) printf "%.0f", s/n}')
docker ps -q | xargs -r docker rm -f >/dev/null
for id in $("$REG" ps -q); do "$REG" rm -f "$id" >/dev/null; done

# ---- 2. size ----
TEMPLATE_BYTES=$(python3 - "$T/root" "python@$PYVER" <<'PY'
import os, re, sys
root, ref = sys.argv[1], sys.argv[2]
name, ver = ref.split("@")
text = open(f"{root}/templates/{name}/{ver}.ret").read()
seen, total = set(), 0
for d, x in re.findall(r"sha256:([0-9a-f]{64})(\+x)?", text):
    if (d, x) in seen: continue
    seen.add((d, x))
    p = f"{root}/store/objects/sha256/{d[:2]}/{d[2:]}" + (".x" if x else "")
    total += os.stat(p).st_size
print(total)
PY
)
DOCKER_BYTES=$(docker image inspect reg-bench/python3 --format '{{.Size}}')

python3 - "$T" "$OUT" "$TEMPLATE_BYTES" "$DOCKER_BYTES" "$RUNS" "$PYVER" "${REG_PSS:-0}" "${SHIM_PSS:-0}" <<'PY'
import json, platform, statistics, subprocess, sys, datetime
T, out, tbytes, dbytes, runs, pyver = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
reg_pss, shim_pss = int(sys.argv[7] or 0), int(sys.argv[8] or 0)
def load(p):
    r = {}
    for x in json.load(open(p))["results"]:
        t = sorted(x["times"])
        r[x["command"]] = dict(mean=statistics.mean(t)*1e3, median=statistics.median(t)*1e3,
                               p99=t[min(len(t)-1, int(len(t)*0.99))]*1e3)
    return r
s = load(f"{T}/startup.json")
c = load(f"{T}/client.json")
cpu = subprocess.run("lscpu | sed -n 's/Model name: *//p'", shell=True, capture_output=True, text=True).stdout.strip()
mem = subprocess.run("free -g | awk '/Mem:/{print $2}'", shell=True, capture_output=True, text=True).stdout.strip()
L = []
L.append("# Benchmarks\n")
L.append(f"Generated by `bench/run.sh` on {datetime.date.today()}: {cpu}, {subprocess.os.cpu_count()} cores, "
         f"{mem} GiB, kernel {platform.release()}, Debian 12. Every figure below comes from one run; "
         "re-running the bench rewrites this file.\n")
L.append("## Start-up: `run --rm … /bin/true`\n")
L.append(f"{runs} sequential runs each, after 5 warm-up runs (`hyperfine -N`, no shell). "
         "reg goes end to end through regd on its UNIX socket (client start, create, start attached, "
         "exit frame, removal). runc runs an OCI bundle on a Debian minbase rootfs; Docker the same rootfs "
         "imported as an image, with `--network none` (reg uses the host network, so this favours Docker).\n")
L.append("| engine | mean ms | median ms | p99 ms | median vs unshare | reg faster by (median) |")
L.append("|---|---:|---:|---:|---:|---:|")
base = s["unshare"]["median"]; reg = s["reg"]["median"]
for k in ["unshare", "reg", "runc", "docker"]:
    v = s[k]
    L.append(f"| {k} | {v['mean']:.2f} | {v['median']:.2f} | {v['p99']:.2f} | {v['median']/base:.2f}× | "
             + ("—" if k in ("unshare", "reg") else f"{v['median']/reg:.1f}×") + " |")
L.append("")
L.append("Commands: `unshare -mpiuf --mount-proc /bin/true`; `reg run --rm -t true@1 -- /bin/true`; "
         "`runc run -b BUNDLE id`; `docker run --rm --network none reg-bench/python3 /bin/true`.\n")
L.append("### Where reg's start-up time goes\n")
L.append("| what | mean ms | median ms |")
L.append("|---|---:|---:|")
for k, v in c.items():
    L.append(f"| {k} | {v['mean']:.2f} | {v['median']:.2f} |")
L.append("")
L.append("## Supervision memory per container\n")
L.append("10 detached `sleep` containers per engine; the mean PSS (`/proc/PID/smaps_rollup`) of the per-container "
         "supervisor: reg's `reg-monitor` and Docker's `containerd-shim-runc-v2`.\n")
L.append("| supervisor | PSS per container |")
L.append("|---|---:|")
L.append(f"| reg-monitor | {reg_pss} kB |")
L.append(f"| containerd-shim-runc-v2 | {shim_pss} kB |")
if reg_pss and shim_pss:
    L.append(f"| ratio | {reg_pss/shim_pss*100:.1f}% |")
L.append("")
L.append("## Volume: Python template vs Docker image\n")
L.append(f"Template `python@{pyver}` = `/usr/bin/python{pyver}`, `/usr/lib/python{pyver}` (without `config-*`, the static library of python{pyver}-dev) and their ELF closure; "
         "its size is the unique bytes of the store objects it names. The Docker image is Debian bookworm "
         "minbase + `python3` (debootstrap, `docker import`), size as `docker image inspect` reports it.\n")
L.append("| | bytes | MB |")
L.append("|---|---:|---:|")
L.append(f"| reg template python@{pyver} | {tbytes} | {tbytes/1e6:.1f} |")
L.append(f"| Docker image (minbase + python3) | {dbytes} | {dbytes/1e6:.1f} |")
L.append(f"| ratio | {tbytes/dbytes*100:.1f}% | |")
L.append("")
open(out + ".gen", "w").write("\n".join(L) + "\n")
PY
# Keep the hand-written analysis below the generated tables.
if [ -f "$OUT" ] && grep -q '^<!-- analysis -->' "$OUT"; then
  sed -n '/^<!-- analysis -->/,$p' "$OUT" >>"$OUT.gen"
fi
mv "$OUT.gen" "$OUT"
cat "$T/hyperfine.txt"
echo "wrote $OUT"
