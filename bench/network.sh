#!/bin/bash
# Networking costs (issue 16), measured side by side in one run, printed as
# a Markdown section for docs/benchmarks.md ("Networking"):
#   1. nginx (1 worker, a 612-byte page): reg --network host against a
#      bridged reg container with -p, reached through 127.0.0.1 (nft DNAT in
#      the output hook + route_localnet) and through the host's own address,
#      and through a userland proxy (socat, one process per connection, what
#      a docker-proxy-style design costs); wrk -t1 -c32, median of N runs,
#      the engines interleaved run by run.
#   2. `reg run --rm -t T -- /bin/true` on the bridge against --network host
#      (hyperfine -N, medians).
#   3. a storm of 200 bridged `run -d`: the first and the last 10 starts.
# Needs root, an optimised build (make), nginx, wrk, hyperfine, socat.
#
#   bench/network.sh [BUILD_DIR]    (RUNS=5 WRK_SECONDS=5 STARTS=50 STORM=200)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$(cd "${1:-$HERE/../build}" && pwd)
REG=$BIN/reg
RUNS=${RUNS:-5}
WRK_SECONDS=${WRK_SECONDS:-5}
STARTS=${STARTS:-50}
STORM=${STORM:-200}
T=$(mktemp -d /tmp/reg-bench-net.XXXXXX)
export REG_HOST=unix://$T/reg.sock
NET_ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
BRIDGE=rb$NET_ID
SUBNET=10.$((128 + RANDOM % 127)).$((RANDOM % 256)).0/24
REGD_PID= SOCAT_PID=

cleanup () {
  set +e
  [ -n "$SOCAT_PID" ] && kill "$SOCAT_PID" 2>/dev/null
  "$REG" rm -f $("$REG" ps -a -q) >/dev/null 2>&1
  [ -n "$REGD_PID" ] && kill "$REGD_PID" && wait "$REGD_PID" 2>/dev/null
  umount -R "$T"/root/containers/*/merged 2>/dev/null
  ip link del "$BRIDGE" 2>/dev/null
  nft delete table ip "$BRIDGE" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

"$BIN/regd" --root "$T/root" --socket "$T/reg.sock" --bridge "$BRIDGE" --bridge-subnet "$SUBNET" \
  >"$T/regd.log" 2>&1 &
REGD_PID=$!
for _ in $(seq 100); do "$REG" version >/dev/null 2>&1 && break; sleep 0.05; done

"$REG" template create nginx@1 /usr/sbin/nginx /etc/nginx /etc/passwd /etc/group \
  --entrypoint /usr/sbin/nginx >/dev/null
"$REG" template create true@1 /bin/true --entrypoint /bin/true >/dev/null
"$REG" template create sleep@1 /bin/sleep --entrypoint /bin/sleep >/dev/null

# nginx.conf for a container listening on PORT (any address).
site () {
  mkdir -p "$T/$1/www" "$T/$1/tmp"
  head -c 612 /dev/zero | tr '\0' x >"$T/$1/www/index.html"
  cat >"$T/$1/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
user root root;
pid /app/nginx.pid;
error_log /app/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path /app/tmp/body;
  proxy_temp_path /app/tmp/proxy;
  fastcgi_temp_path /app/tmp/fastcgi;
  uwsgi_temp_path /app/tmp/uwsgi;
  scgi_temp_path /app/tmp/scgi;
  server { listen $2; root /app/www; }
}
EOF
}

free_port () {
  python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'
}

wait_http () {
  for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done
  echo "bench: $1 never answered" >&2
  exit 1
}

HOSTPORT=$(free_port)
PUBPORT=$(free_port)
PROXYPORT=$(free_port)
HOST_IP=$(ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1)
site host "127.0.0.1:$HOSTPORT"
site bridge 80
"$REG" run -d --name nginx-host --network host --project "$T/host" -t nginx@1 -- \
  /usr/sbin/nginx -c /app/nginx.conf >/dev/null
"$REG" run -d --name nginx-bridge --network bridge -p "$PUBPORT:80" --project "$T/bridge" \
  -t nginx@1 -- /usr/sbin/nginx -c /app/nginx.conf >/dev/null
CIP=$("$REG" inspect nginx-bridge | sed -n 's/.*"IPAddress": "\([0-9.]*\)".*/\1/p' | head -1)
socat "TCP-LISTEN:$PROXYPORT,bind=127.0.0.1,fork,reuseaddr" "TCP:$CIP:80" &
SOCAT_PID=$!
declare -A URL=([host]="http://127.0.0.1:$HOSTPORT/index.html"
  [bridge_lo]="http://127.0.0.1:$PUBPORT/index.html"
  [bridge_ip]="http://$HOST_IP:$PUBPORT/index.html"
  [proxy]="http://127.0.0.1:$PROXYPORT/index.html")
ORDER="host bridge_lo bridge_ip proxy"
for k in $ORDER; do wait_http "${URL[$k]}"; done

declare -A RPS
for r in $(seq "$RUNS"); do
  for k in $ORDER; do
    v=$(wrk -t1 -c32 -d"${WRK_SECONDS}s" "${URL[$k]}" | awk '/Requests\/sec/ {print $2}')
    RPS[$k]="${RPS[$k]:-} $v"
  done
done
median () { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# Start-up: --rm /bin/true, bridge against host.
hyperfine -N -w 5 -r "$STARTS" --export-json "$T/startup.json" \
  -n host "$REG run --rm --network host -t true@1 -- /bin/true" \
  -n bridge "$REG run --rm --network bridge -t true@1 -- /bin/true" >/dev/null
read -r H_MED B_MED < <(python3 -c 'import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
print(r["host"]["median"] * 1000, r["bridge"]["median"] * 1000)' "$T/startup.json")

# Storm: STORM bridged containers one after another.
: >"$T/storm.txt"
for i in $(seq "$STORM"); do
  s=$(date +%s%N)
  "$REG" run -d --network bridge -t sleep@1 -- /bin/sleep 3600 >/dev/null
  e=$(date +%s%N)
  echo $(((e - s) / 1000)) >>"$T/storm.txt"
done
read -r FIRST LAST < <(python3 -c 'import sys
v = [int(x) / 1000 for x in open(sys.argv[1])]
print(sum(v[:10]) / 10, sum(v[-10:]) / 10)' "$T/storm.txt")

H=$(echo "${RPS[host]}" | median)
echo "## Networking (bench/network.sh)"
echo
echo "$(date -u '+%Y-%m-%d %H:%M') UTC, kernel $(uname -r), $(nproc) cores; \`RUNS=$RUNS WRK_SECONDS=$WRK_SECONDS STARTS=$STARTS STORM=$STORM\`; load at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "nginx (1 worker, 612-byte page), \`wrk -t1 -c32 -d${WRK_SECONDS}s\`, median of $RUNS runs, the four interleaved:"
echo
echo "| path | requests/s (median) | runs | vs host network |"
echo "|---|---:|---|---:|"
for k in $ORDER; do
  m=$(echo "${RPS[$k]}" | median)
  case $k in
    host) d="reg --network host, 127.0.0.1" ;;
    bridge_lo) d="bridge, -p, via 127.0.0.1 (nft DNAT, route_localnet)" ;;
    bridge_ip) d="bridge, -p, via the host's address $HOST_IP" ;;
    proxy) d="bridge, through a userland proxy (socat) on 127.0.0.1" ;;
  esac
  printf '| %s | %.0f | %s | %.3f |\n' "$d" "$m" "$(echo "${RPS[$k]}" | xargs printf '%.0f ' | sed 's/ $//')" "$(echo "$m / $H" | bc -l)"
done
echo
echo "\`run --rm -t true@1 -- /bin/true\`, hyperfine -N, $STARTS runs each: host network median $(printf '%.2f' "$H_MED") ms, bridge $(printf '%.2f' "$B_MED") ms: **+$(printf '%.2f' "$(echo "$B_MED - $H_MED" | bc -l)") ms** on the bridge."
echo
echo "Storm: $STORM bridged \`run -d … sleep 3600\` one after another: first 10 starts $(printf '%.1f' "$FIRST") ms on average, last 10 $(printf '%.1f' "$LAST") ms: last / first **$(printf '%.2f' "$(echo "$LAST / $FIRST" | bc -l)")**."
