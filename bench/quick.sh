#!/bin/bash
# make bench-quick: the headline ratios in under 3 minutes, printed (the
# document is `make bench`'s). Needs root. A private regd on a temporary
# root; no Docker, no runc, no services: `reg run --rm` against bubblewrap
# and unshare side by side, the client alone, the phases of one start
# (regd --debug-timing), and the marginal memory of 1..5 python containers
# against bare processes, for the default regd and a --link-host-files one.
#   RUNS=30 MARGINAL_MAX=5
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
RUNS=${RUNS:-30}
MARGINAL_MAX=${MARGINAL_MAX:-5}
QUICK=1
need=""
for p in hyperfine bubblewrap python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
[ -z "$need" ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need; }
make -s -j"$(nproc)" build/reg build/regd build/reg-monitor build/reg-init
REG=$REPO/build/reg REGD=$REPO/build/regd
T=$(mktemp -d /var/tmp/reg-quick.XXXXXX)
R=$T/results
mkdir -p "$R"
BRIDGE=rq$$ # its own bridge and nft table, removed with regd's containers
export REG_HOST=unix://$T/reg.sock
REGLINK_HOST=unix://$T/reglink.sock
REGD_PID="" REGDLINK_PID=""
wait_regd () {
  for _ in $(seq 200); do
    REG_HOST=$1 "$REG" version >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "bench-quick: regd did not come up ($1)" >&2
  exit 1
}
MARGINAL_PIDS=""
quick_cleanup () {
  set +e
  for h in "$REG_HOST" "$REGLINK_HOST"; do
    REG_HOST=$h "$REG" ps -aq 2>/dev/null | xargs -r env REG_HOST="$h" "$REG" rm -f >/dev/null 2>&1
  done
  for p in $MARGINAL_PIDS; do kill -- "-$p" 2>/dev/null; done
  kill $REGD_PID $REGDLINK_PID 2>/dev/null
  wait $REGD_PID $REGDLINK_PID 2>/dev/null
  for b in "$BRIDGE" "${BRIDGE}l"; do
    ip link del "$b" 2>/dev/null
    nft delete table ip "$b" 2>/dev/null
  done
  rm -rf "$T"
}
trap quick_cleanup EXIT
# One after the other: each picks a subnet no route (nor the other's bridge) uses.
"$REGD" --root "$T/root" --socket "$T/reg.sock" --bridge "$BRIDGE" --debug-timing "$R/timing.log" >"$T/regd.log" 2>&1 &
REGD_PID=$!
wait_regd "$REG_HOST"
"$REGD" --root "$T/rootlink" --socket "$T/reglink.sock" --bridge "${BRIDGE}l" --link-host-files >"$T/regdlink.log" 2>&1 &
REGDLINK_PID=$!
wait_regd "$REGLINK_HOST"
PY=$(readlink -f /usr/bin/python3)
PYVER=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# The standard library as the python3 image's packages provide it (bench/setup.sh).
mapfile -t STDLIB < <(python3 bench/pkgfiles.py "/usr/lib/python$PYVER" "python$PYVER" \
  "python$PYVER-minimal" "libpython$PYVER-minimal" "libpython$PYVER-stdlib")
for h in "$REG_HOST" "$REGLINK_HOST"; do
  REG_HOST=$h "$REG" template create true@1 /bin/true >/dev/null
  REG_HOST=$h "$REG" template create "python@$PYVER" "$PY" "${STDLIB[@]}" --entrypoint "$PY" >/dev/null
  REG_HOST=$h "$REG" run --rm -t true@1 -- /bin/true
done
echo "bench-quick: start-up ($RUNS runs each)" >&2
source bench/startup.sh
echo "bench-quick: marginal memory (1..$MARGINAL_MAX python)" >&2
MARGINAL_ENGINES="bare reg reglink"
source bench/marginal.sh
python3 bench/headline.py "$R"
