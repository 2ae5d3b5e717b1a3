#!/bin/bash
# Two reg-hub binaries side by side (issue 19's memory target), in the same
# minutes, against the same real regds, so a loaded machine weighs on both
# alike; the figures go to docs/benchmarks.md ("reg-hub"). Needs root.
#
#   bench/hub-side.sh OLD-BINARY NEW-BINARY
#   REGDS=10      real regds, each in a network namespace of its own
#   ENTRIES=1000  device entries in each hub (copies of the REGDS
#                 registered ones, made in the database: as bench/hub.sh's,
#                 several entries per regd)
#   N=1000        requests per ab run
#   MODES="1 4"   ab runs: requests at a time; "k" after it: keep-alive
#                 (e.g. "4k"); without it each request is a new TLS connection
#
# Phases: 20 s of liveness rounds, then for each mode two ab runs per hub,
# alternating (A B A B) on GET /api/v1/devices, then 10 s idle. Each hub's
# RSS is sampled every 100 ms; printed: ab's summary per run, and per hub
# its peak (VmHWM) and the highest sample of each phase.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/hub-side.sh: run as root" >&2; exit 1; }
[ $# = 2 ] && [ -x "$1" ] && [ -x "$2" ] || { echo "usage: bench/hub-side.sh OLD-BINARY NEW-BINARY" >&2; exit 2; }
declare -A BIN=([A]=$(readlink -f "$1") [B]=$(readlink -f "$2"))
REGDS=${REGDS:-10} ENTRIES=${ENTRIES:-1000} N=${N:-1000} MODES=${MODES:-1 4}
make -s build/reg build/regd build/reg-monitor
REG=$PWD/build/reg REGD=$PWD/build/regd
HUB_DIR=$(mktemp -d /tmp/reg-hub-side.XXXXXX)
HUB_REGD_ARGS="--tls-max-connections 512 --tls-max-per-client 256 --tls-timeout 60"
. tests/hub/devices.sh
declare -A PID URL SECRET
PASSWORD=bench-$RANDOM$RANDOM
finish () {
  local h
  for h in "${!PID[@]}"; do
    kill -TERM "${PID[$h]}" 2>/dev/null
    wait "${PID[$h]}" 2>/dev/null
  done
  hub_net_down
  rm -rf "$HUB_DIR"
}
trap finish EXIT

start_hub () { # A|B
  local port=$((20000 + RANDOM % 20000))
  echo "$PASSWORD" | "${BIN[$1]}" --data "$HUB_DIR/$1" --listen "127.0.0.1:$port" --web src/hub/web \
    --admin-password-stdin --probe-interval 5s --probe-timeout 4s >>"$HUB_DIR/$1.log" 2>&1 &
  PID[$1]=$!
  URL[$1]=https://127.0.0.1:$port
  for _ in $(seq 100); do curl -sk -o /dev/null "${URL[$1]}/api/v1/version" && break; sleep 0.1; done
  curl -sk -c "$HUB_DIR/jar.$1" -d "{\"Name\":\"admin\",\"Password\":\"$PASSWORD\"}" \
    "${URL[$1]}/api/v1/login" >"$HUB_DIR/login.$1"
  SECRET[$1]=$(awk '$6 == "reghub_session" {print $7}' "$HUB_DIR/jar.$1")
}
stop_hub () {
  kill -TERM "${PID[$1]}"
  wait "${PID[$1]}"
  unset "PID[$1]"
}

hub_net_up
for k in $(seq "$REGDS"); do hub_device_up "$k"; done
# One database for both: REGDS devices through the API, then the copies.
start_hub A
csrf=$(jq -r .Csrf "$HUB_DIR/login.A")
for k in $(seq "$REGDS"); do
  jq -nc --arg n "dev-$k" --arg u "${HUB_DEV_URL[$k]}" --rawfile ca "${HUB_DEV_CA[$k]}" \
    --arg t "${HUB_DEV_TOKEN[$k]}" '{Name: $n, Url: $u, Ca: $ca, Token: $t}' >"$HUB_DIR/one"
  curl -sk -o /dev/null -b "$HUB_DIR/jar.A" -H "X-CSRF-Token: $csrf" --data-binary "@$HUB_DIR/one" \
    "${URL[A]}/api/v1/devices"
done
stop_hub A
sqlite3 "$HUB_DIR/A/hub.db" "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c
  WHERE n < $((ENTRIES / REGDS - 1))) INSERT INTO devices (owner_id, name, url, ca, token, created)
  SELECT owner_id, name || '-' || n, url, ca, token, created FROM devices, c"
cp -a "$HUB_DIR/A" "$HUB_DIR/B"
start_hub A
start_hub B
echo "A: $1, B: $2; $(sqlite3 "$HUB_DIR/A/hub.db" 'SELECT count(*) FROM devices') entries each, $REGDS real regds behind them"

sampler () { # A|B: "PHASE RSS-kB" lines while the hub runs
  local p=${PID[$1]} r
  while kill -0 "$p" 2>/dev/null; do
    r=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null)
    [ -n "$r" ] && echo "$(cat "$HUB_DIR/phase") $r"
    sleep 0.1
  done >"$HUB_DIR/samples.$1"
}
echo rounds >"$HUB_DIR/phase"
sampler A &
sampler B &
sleep 20
for mode in $MODES; do
  c=${mode%k} keep=
  [ "$mode" != "$c" ] && keep=-k
  for h in A B A B; do
    echo "ab-$mode" >"$HUB_DIR/phase"
    ab -q $keep -n "$N" -c "$c" -H "Accept-Encoding: gzip" -C "reghub_session=${SECRET[$h]}" \
      "${URL[$h]}/api/v1/devices" >"$HUB_DIR/ab" 2>&1
    echo "$h, $c at a time${keep:+, keep-alive}: $(grep -E "Time per request:.*mean\)$|  50%|  99%" "$HUB_DIR/ab" |
      tr -s ' ' | tr '\n' ' ') (load $(cut -d' ' -f1 /proc/loadavg))"
  done
done
echo idle-after >"$HUB_DIR/phase"
sleep 10
for h in A B; do
  echo "hub $h: $(grep -E '^(VmHWM|VmRSS|Threads)' "/proc/${PID[$h]}/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
  awk 'NF == 2 { if ($2 > m[$1]) m[$1] = $2 } END { for (k in m) printf "  highest sample, %s: %.1f MB\n", k, m[k] / 1024 }' \
    "$HUB_DIR/samples.$h" | sort
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
