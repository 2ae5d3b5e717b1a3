#!/bin/bash
# reg benchmarks, measured side by side with the peers in one run; writes
# docs/benchmarks.md and its plots in docs/img/. Needs root and Debian 12.
# Sets everything up itself: installs the packages and makes debootstrap
# minbase rootfs trees (bench/packages.sh; there is no Docker Hub here),
# then, in a network and mount namespace of its own (bench/setup.sh),
# starts a private dockerd (never the host's) and imports the trees as
# Docker images, makes reg templates of the same software from the host's
# packages, and starts a private regd on a temporary root (the bench never
# touches /var/lib/reg).
#
#   bench/run.sh  (or `make bench`)
#   RUNS=100        start-up runs per engine
#   STORM=1000      containers started back to back per engine
#   CONCURRENT=100  containers started at once per engine
#   WRK_SECONDS=10  duration of each wrk run
#   MARGINAL_MAX=20 python containers in the marginal-memory series
#   PARTS="volume startup storm services marginal"   a subset, while developing
#
# Parts: volume.sh (1), startup.sh (2: with the per-phase breakdown from
# regd --debug-timing), storm.sh (3), services.sh (4: memory, 5: nginx with
# wrk, median of 5 runs), marginal.sh (6: 1..20 python containers); report.py
# writes the document from $WORK/results. `make bench-quick` (bench/quick.sh)
# prints the headline ratios in under 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
RUNS=${RUNS:-100}
STORM=${STORM:-1000}
CONCURRENT=${CONCURRENT:-100}
PARTS=${PARTS:-volume startup storm services marginal}
WORK=${BENCH_WORK:-/var/tmp/reg-bench}
OUT=$REPO/docs/benchmarks.md

# What needs the network first; then the whole bench runs in a network and
# mount namespace of its own: its regd's bridge and nft table, the private
# dockerd with its iptables rules and docker0, the services, wrk. Nothing
# on the host's network or firewall changes, and no host-wide dockerd runs.
if [ -z "${REG_BENCH_NS:-}" ]; then
  source bench/packages.sh
  exec unshare -n -m --propagation private env REG_BENCH_NS=1 "$0" "$@"
fi
ip link set lo up
source bench/setup.sh
trap bench_cleanup EXIT
uptime >"$R/uptime-start.txt"
for part in $PARTS; do
  echo "bench: $part" >&2
  echo "$(date '+%F %T') ($(uptime | sed 's/.*load average/load average/'))" >"$R/when-$part.txt"
  source "bench/$part.sh"
done
uptime >"$R/uptime-end.txt"
printf '%s\n' "RUNS=$RUNS" "STORM=$STORM" "CONCURRENT=$CONCURRENT" "WRK_SECONDS=${WRK_SECONDS:-10}" \
  "PARTS=$PARTS" "TEMPLATES=$TEMPLATES" "NODE=$NODE" "MARGINAL_MAX=${MARGINAL_MAX:-20}" >"$R/params.txt"
python3 bench/report.py "$R" "$OUT" "$REPO/docs/img"
echo "wrote $OUT" >&2
