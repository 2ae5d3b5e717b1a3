#!/bin/bash
# reg-hub's targets (issue 19), measured; the figures go to
# docs/benchmarks.md ("reg-hub" in the hand-written analysis). Needs root.
#
#   bench/hub.sh
#   REGDS=10        real regds, each in a network namespace of its own
#   ENTRIES=1000    devices registered in the hub, spread over the regds
#   ROUNDS=6        liveness rounds measured
#   REQUESTS=1000   dashboard API requests per ab run (1 and 4 at a time)
#   HUB_WRAP=       a command the hub runs under (e.g. "heaptrack -o F")
#
# Every entry is a device in the hub's database with its own name; several
# entries point at one regd (its address, CA and token), so the hub makes
# ENTRIES calls per round, over TLS, to REGDS real regds. The regds' TLS
# limits are raised to take that many callers from one address.
set -euo pipefail
cd "$(dirname "$0")/.."
REGDS=${REGDS:-10} ENTRIES=${ENTRIES:-1000} ROUNDS=${ROUNDS:-6} REQUESTS=${REQUESTS:-1000}
[ "$(id -u)" = 0 ] || { echo "bench/hub.sh: run as root" >&2; exit 1; }
make -s build/reg build/regd build/reg-monitor build/reg-hub
REG=$PWD/build/reg REGD=$PWD/build/regd HUB_BIN=$PWD/build/reg-hub
HUB_DIR=$(mktemp -d /tmp/reg-hub-bench.XXXXXX)
HUB_REGD_ARGS="--tls-max-connections 512 --tls-max-per-client 256 --tls-timeout 60"
HUB_PID=
. tests/hub/devices.sh
finish () {
  if [ -n "$HUB_PID" ]; then kill -TERM "$HUB_PID" 2>/dev/null || true; wait "$HUB_PID" 2>/dev/null || true; fi
  hub_net_down
  rm -rf "$HUB_DIR"
}
start_hub () {
  echo "$PASSWORD" | ${HUB_WRAP:-} "$HUB_BIN" --data "$HUB_DIR/hub" --listen "127.0.0.1:$PORT" --web src/hub/web \
    --admin-password-stdin --probe-interval 5s --probe-timeout 4s >>"$HUB_DIR/hub.log" 2>&1 &
  HUB_PID=$!
  for _ in $(seq 100); do curl -sk -o /dev/null "$URL/api/v1/version" && break; sleep 0.1; done
}
# VmHWM is the peak since the last peak_reset (clear_refs 5), so each
# phase reports its own peak.
rss () { grep -E 'VmRSS|VmHWM' "/proc/$HUB_PID/status" | tr -s ' \t' ' ' | tr '\n' ' '; }
peak_reset () { echo 5 >"/proc/$HUB_PID/clear_refs"; }
# Wait for N new rounds over all entries, printing each.
rounds () {
  local seen= n=0 s at
  for _ in $(seq $(($1 * 30))); do
    s=$(curl -sk -b "$JAR" "$URL/api/v1/probe")
    at=$(echo "$s" | jq .Started)
    if [ "$at" != "$seen" ] && [ "$(echo "$s" | jq .Devices)" = "$ENTRIES" ]; then
      seen=$at
      n=$((n + 1))
      echo "  round $n: $(echo "$s" | jq -r '"\(.Seconds | . * 1000 | round) ms, \(.Online)/\(.Devices) Online"')"
      [ "$n" -ge "$1" ] && return 0
    fi
    sleep 0.5
  done
}
trap finish EXIT

hub_net_up
for k in $(seq "$REGDS"); do hub_device_up "$k"; done
PORT=$((20000 + RANDOM % 20000)) URL=
URL=https://127.0.0.1:$PORT
PASSWORD=bench-$RANDOM$RANDOM
start_hub
JAR=$HUB_DIR/jar
CSRF=$(curl -sk -c "$JAR" -d "{\"Name\":\"admin\",\"Password\":\"$PASSWORD\"}" "$URL/api/v1/login" | jq -r .Csrf)
echo "registering $ENTRIES devices over $REGDS regds..."
start=$(date +%s.%N)
for i in $(seq "$ENTRIES"); do
  k=$(((i - 1) % REGDS + 1))
  jq -nc --arg n "$(printf 'dev-%04d' "$i")" --arg u "${HUB_DEV_URL[$k]}" --rawfile ca "${HUB_DEV_CA[$k]}" \
    --arg t "${HUB_DEV_TOKEN[$k]}" '{Name: $n, Url: $u, Ca: $ca, Token: $t}'
done >"$HUB_DIR/bodies"
while read -r body; do
  printf '%s' "$body" >"$HUB_DIR/one"
  code=$(curl -sk -o /dev/null -w '%{http_code}' -b "$JAR" -H "X-CSRF-Token: $CSRF" \
    --data-binary "@$HUB_DIR/one" "$URL/api/v1/devices")
  [ "$code" = 201 ] || { echo "add: HTTP $code" >&2; exit 1; }
done <"$HUB_DIR/bodies"
echo "registered in $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"
echo "reg-hub memory after registering: $(rss)"

echo "liveness rounds (interval 5 s, timeout 4 s; connections kept between rounds):"
peak_reset
rounds "$ROUNDS"
echo "reg-hub memory, idle with $ENTRIES devices: $(rss)"

SECRET=$(awk '$6 == "reghub_session" {print $7}' "$JAR")
# As a browser asks: gzip and keep-alive (-k); then a new TLS connection
# per request, and no gzip. ab counts a reply whose length differs from
# the first as failed ("Length"): the list changes as devices are probed.
for mode in "1 gzip -k" "4 gzip -k" "1 gzip" "1 identity -k"; do
  set -- $mode
  peak_reset
  echo "dashboard API: GET /api/v1/devices ($ENTRIES devices), $REQUESTS requests, $1 at a time, Accept-Encoding: $2 ${3:-(a new connection each)}:"
  ab -q ${3:-} -n "$REQUESTS" -c "$1" -H "Accept-Encoding: $2" -C "reghub_session=$SECRET" \
    "$URL/api/v1/devices" >"$HUB_DIR/ab" 2>&1 || cat "$HUB_DIR/ab"
  grep -E -A1 "Failed requests" "$HUB_DIR/ab" | tr -s ' \n' ' ' | sed 's/^/  /'
  echo
  grep -E "Non-2xx|Time per request:.*mean\)$|Document Length|  50%|  90%|  99%|100%" "$HUB_DIR/ab" | sed 's/^/  /'
  echo "  reg-hub memory: $(rss)"
done
sleep 2
echo "reg-hub memory 2 s after the dashboard load: $(rss)"
echo "200 keep-alive connections held open at once (open browser tabs), each after one request:"
peak_reset
/usr/bin/python3 - "$PORT" 200 "$HUB_PID" <<'PY'
import socket, ssl, sys, time
port, n, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context()
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
conns = []
for _ in range(n):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30))
    s.sendall(b"GET /api/v1/version HTTP/1.1\r\nHost: hub\r\n\r\n")
    s.recv(4096)
    conns.append(s)
time.sleep(1)
status = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status"))
print("  reg-hub memory: " + " ".join(f"{k}: {status[k].strip()}" for k in ("VmHWM", "VmRSS", "Threads")))
for s in conns:
    s.close()
PY
echo "a cold start: the first round makes every connection (at most 4 per regd: $((REGDS * 4)) TLS handshakes):"
kill -TERM "$HUB_PID"; wait "$HUB_PID" || true
start_hub
rounds 2
echo "reg-hub memory: $(rss)"
echo "regd count: $REGDS real regds behind $ENTRIES device entries; host: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
