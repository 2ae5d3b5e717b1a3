#!/bin/bash
# Issue 18's targets, measured (docs/benchmarks.md, "Images"):
#  1. the store holding the python, nginx, redis and node images against
#     Docker's bytes for the same images, (a) imported separately (one layer
#     each, `docker import` of the debootstrap rootfs trees bench/setup.sh
#     made under $WORK), and (b) built on a common base layer (the files
#     all four trees have identical, then one layer per service with the
#     rest: FROM base + ADD);
#  2. the sum of the PSS of their four services run from those images
#     under reg and under Docker.
# Docker is a private dockerd in its own network and mount namespaces
# (tests/e2e/lib.sh's recipe; never the host's). reg gets the very images
# through `docker save` | `reg image load`, into a fresh engine root.
#
# Each set of images also goes into a second engine, a regd with
# --link-host-files, whose image files that are byte for byte the host's
# file at the same path are the host's own inodes: its bytes are those of
# the objects that are not host files (store_own_bytes).
#
#   bench/images.sh            (as root; REG_BIN=build by default)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
WORK=${WORK:-/var/tmp/reg-bench}
REG_BIN=${REG_BIN:-$REPO/build}
PKGS="python3 nginx redis-server nodejs"
OUT=$(mktemp -d /var/tmp/reg-images.XXXXXX)
D=$OUT/docker
ROOT=$OUT/root
SOCK=$OUT/reg.sock
ROOTL=$OUT/root-link
SOCKL=$OUT/reg-link.sock
mkdir -p "$D"

dock () { docker -H "unix://$D/docker.sock" "$@"; }
reg () { REG_HOST=unix://$SOCK "$REG_BIN/reg" "$@"; }
regl () { REG_HOST=unix://$SOCKL "$REG_BIN/reg" "$@"; }

cleanup () {
  set +e
  for p in $PKGS; do reg rm -f "svc-$p" >/dev/null 2>&1; regl rm -f "svc-$p" >/dev/null 2>&1; done
  [ -n "${REGD_PID:-}" ] && kill "$REGD_PID" && wait "$REGD_PID"
  [ -n "${REGDL_PID:-}" ] && kill "$REGDL_PID" && wait "$REGDL_PID"
  [ -n "${DOCKERD_PID:-}" ] && kill "$DOCKERD_PID" && wait "$DOCKERD_PID"
  rm -rf "$OUT"
}
trap cleanup EXIT

cat >"$D/start.sh" <<EOS
ip link set lo up
exec dockerd --host unix://$D/docker.sock --data-root $D/data --exec-root $D/exec \
  --pidfile $D/docker.pid --bridge none --iptables=false --ip6tables=false >$D/log 2>&1
EOS
unshare -n -m --propagation private sh "$D/start.sh" &
DOCKERD_PID=$!
for _ in $(seq 150); do dock version >/dev/null 2>&1 && break; sleep 0.2; done
start_regd () { # fresh engine roots, the default one and one with --link-host-files
  if [ -n "${REGD_PID:-}" ]; then kill "$REGD_PID"; wait "$REGD_PID" || true; fi
  if [ -n "${REGDL_PID:-}" ]; then kill "$REGDL_PID"; wait "$REGDL_PID" || true; fi
  rm -rf "$ROOT" "$ROOTL"
  # Each in a network namespace of its own: its bridge and nft table
  # go with it (the services run with --network none).
  unshare -n "$REG_BIN/regd" --root "$ROOT" --socket "$SOCK" >>"$OUT/regd.log" 2>&1 &
  REGD_PID=$!
  unshare -n "$REG_BIN/regd" --root "$ROOTL" --socket "$SOCKL" --link-host-files \
    >>"$OUT/regd-link.log" 2>&1 &
  REGDL_PID=$!
  for _ in $(seq 100); do reg version >/dev/null 2>&1 && regl version >/dev/null 2>&1 && break; sleep 0.1; done
}
start_regd

# Bytes of the files of image layers as Docker keeps them (overlay2 diff
# directories, each layer once), and of reg's store objects.
docker_bytes () { du -sb --apparent-size "$D/data/overlay2" | cut -f1; }
store_bytes () { du -sb --apparent-size "$ROOT/store/objects" | cut -f1; }
# The --link-host-files store: bytes of its objects that are not one of the
# host's own files (an inode found under the host's /usr, /etc, /var, /opt),
# and of those that are.
store_own_bytes () {
  python3 - "$ROOTL/store/objects" <<'PY'
import os, sys
host = set()
for top in ("/usr", "/etc", "/var/lib", "/opt"):
    for d, dirs, files in os.walk(top):
        if d.startswith(("/var/tmp", "/var/lib/docker", "/var/lib/reg")):
            dirs[:] = []
            continue
        for n in files:
            try:
                st = os.lstat(os.path.join(d, n))
            except OSError:
                continue
            host.add((st.st_dev, st.st_ino))
own = linked = 0
for d, dirs, files in os.walk(sys.argv[1]):
    for n in files:
        st = os.lstat(os.path.join(d, n))
        if (st.st_dev, st.st_ino) in host:
            linked += st.st_size
        else:
            own += st.st_size
print(own, linked)
PY
}

load_all () { # TAG: docker save of the four images into the fresh reg root
  local p
  for p in $PKGS; do
    dock save "bench/$p:$1" -o "$OUT/$p.tar"
    reg image load -q -i "$OUT/$p.tar" >/dev/null
    regl image load -q -i "$OUT/$p.tar" >/dev/null
    rm -f "$OUT/$p.tar"
  done
}

# pss PID...: the sum of Pss over the processes and all their descendants.
pss () {
  python3 - "$@" <<'PY'
import os, sys
def kids(pid):
    out = []
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            out += open(f"/proc/{pid}/task/{t}/children").read().split()
        except OSError:
            pass
    return out
todo, seen, total = list(sys.argv[1:]), set(), 0
while todo:
    p = todo.pop()
    if p in seen:
        continue
    seen.add(p)
    try:
        for line in open(f"/proc/{p}/smaps_rollup"):
            if line.startswith("Pss:"):
                total += int(line.split()[1])
        todo += kids(p)
    except OSError:
        pass
print(total)
PY
}
# services TAG: the four services from the TAG images under both engines;
# after 5 s, the PSS of each (its processes and their descendants).
services () {
  local p id cmd
  declare -A DPID RPID LPID
  for p in $PKGS; do
    case $p in
      python3) cmd=(python3 -m http.server 8000 --bind 127.0.0.1) ;;
      nginx) cmd=(nginx -g 'daemon off;') ;;
      redis-server) cmd=(redis-server --port 6379 --save '' --appendonly no) ;;
      nodejs) cmd=(node -e "require('http').createServer((q,s)=>s.end('ok')).listen(3000,'127.0.0.1')") ;;
    esac
    id=$(dock run -d --network none "bench/$p:$1" "${cmd[@]}")
    DPID[$p]=$(dock inspect -f '{{.State.Pid}}' "$id")
    reg run -d --name "svc-$p" --network none -t "bench.$p@$1" -- "${cmd[@]}" >/dev/null
    RPID[$p]=$(reg inspect -f '{{.State.Pid}}' "svc-$p")
    regl run -d --name "svc-$p" --network none -t "bench.$p@$1" -- "${cmd[@]}" >/dev/null
    LPID[$p]=$(regl inspect -f '{{.State.Pid}}' "svc-$p")
  done
  sleep 5
  for p in $PKGS; do
    echo "$1 $p docker_pss_kb $(pss "${DPID[$p]}") reg_pss_kb $(pss "${RPID[$p]}") reg_link_pss_kb $(pss "${LPID[$p]}")"
  done
  echo "$1 all docker_pss_kb $(pss "${DPID[@]}") reg_pss_kb $(pss "${RPID[@]}") reg_link_pss_kb $(pss "${LPID[@]}")"
  # Where they differ, mapping by mapping (A: Docker, B: reg), and
  # between reg's two stores (A: default, B: --link-host-files).
  for p in $PKGS; do
    echo "-- $1 $p: A Docker, B reg"
    python3 "$HERE/maps.py" -n 8 "${DPID[$p]}" "${RPID[$p]}"
    echo "-- $1 $p: A reg, B reg --link-host-files"
    python3 "$HERE/maps.py" -n 6 "${RPID[$p]}" "${LPID[$p]}"
  done
  dock ps --format '{{.Image}} {{.Status}}'
  reg ps --format '{{.Names}} {{.State}}'
  dock rm -f $(dock ps -aq) >/dev/null
  for p in $PKGS; do reg rm -f "svc-$p" >/dev/null; regl rm -f "svc-$p" >/dev/null; done
}

echo "== (a) imported separately"
for p in $PKGS; do
  "$HERE/image-tar.sh" "$WORK/rootfs-$p" | dock import - "bench/$p:sep" >/dev/null
done
SEP_DOCKER=$(docker_bytes)
load_all sep
SEP_REG=$(store_bytes)
echo "sep store docker_bytes $SEP_DOCKER reg_bytes $SEP_REG"
echo "sep store link-host-files: reg_own_bytes reg_host_bytes $(store_own_bytes)"
# The page-cache folios of a freshly imported file, as each engine wrote it.
LIBNODE=usr/lib/x86_64-linux-gnu/libnode.so.108
echo "folios docker: $(python3 "$HERE/folios.py" "$(find "$D/data/overlay2" -path "*/diff/$LIBNODE" -type f | head -1)")"
HEX=$(sha256sum "$WORK/rootfs-nodejs/$LIBNODE" | cut -c1-64)
echo "folios reg: $(python3 "$HERE/folios.py" "$(ls "$ROOT/store/objects/sha256/${HEX:0:2}/${HEX:2}"* | head -1)")"
services sep

echo "== (b) on a common base layer"
python3 - "$WORK" "$OUT" $PKGS <<'PY'
import hashlib, os, sys, tarfile
work, out, pkgs = sys.argv[1], sys.argv[2], sys.argv[3:]
import fnmatch
# What bench/image-tar.sh leaves out of an image (the apt caches, the marker).
SKIP = (".bench-done", "var/cache/apt/archives/*.deb", "var/lib/apt/lists/*", "var/cache/apt/*.bin")
def walk(root):
    seen = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, root)
            if any(fnmatch.fnmatch(rel, g) for g in SKIP):
                continue
            st = os.lstat(p)
            if os.path.islink(p):
                key = ("l", os.readlink(p))
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    key = ("f", st.st_mode, hashlib.sha256(f.read()).hexdigest())
            else:
                key = ("d", st.st_mode)
            seen[rel] = key
    return seen
trees = {p: walk(os.path.join(work, "rootfs-" + p)) for p in pkgs}
common = set.intersection(*(set(k for k, v in t.items()) for t in trees.values()))
common = {k for k in common if len({trees[p][k] for p in pkgs}) == 1}
def write(name, root, members):
    with tarfile.open(os.path.join(out, name), "w") as tar:
        for rel in sorted(members):
            tar.add(os.path.join(root, rel), arcname=rel, recursive=False)
first = os.path.join(work, "rootfs-" + pkgs[0])
write("base.tar", first, common)
for p in pkgs:
    # Directories again in each layer where the base has them (harmless).
    write(p + "-own.tar", os.path.join(work, "rootfs-" + p), set(trees[p]) - common)
print("common entries", len(common))
# What the bytes are: each distinct file content by the number of the four
# trees that hold it (bytes once per content, and as many times as trees).
by_n, contents = {}, {}
for p, t in trees.items():
    root = os.path.join(work, "rootfs-" + p)
    for rel, v in t.items():
        if v[0] == "f":
            c = contents.setdefault(v[2], [os.path.getsize(os.path.join(root, rel)), set()])
            c[1].add(p)
for size, holders in contents.values():
    n = len(holders)
    by_n.setdefault(n, [0, 0])
    by_n[n][0] += 1
    by_n[n][1] += size
for n in sorted(by_n):
    print(f"contents in {n} of the trees: {by_n[n][0]} files, {by_n[n][1]} bytes once, {by_n[n][1] * n} bytes in the trees")
PY
dock rmi -f $(for p in $PKGS; do echo "bench/$p:sep"; done) >/dev/null
dock image prune -f >/dev/null
start_regd
dock import "$OUT/base.tar" bench/base:1 >/dev/null
for p in $PKGS; do
  mkdir -p "$OUT/ctx-$p"
  mv "$OUT/$p-own.tar" "$OUT/ctx-$p/own.tar"
  printf 'FROM bench/base:1\nADD own.tar /\n' >"$OUT/ctx-$p/Dockerfile"
  DOCKER_BUILDKIT=0 dock build -q 2>/dev/null -t "bench/$p:based" "$OUT/ctx-$p" >/dev/null
done
BASED_DOCKER=$(docker_bytes)
load_all based
BASED_REG=$(store_bytes)
echo "based store docker_bytes $BASED_DOCKER reg_bytes $BASED_REG"
echo "based store link-host-files: reg_own_bytes reg_host_bytes $(store_own_bytes)"
services based

