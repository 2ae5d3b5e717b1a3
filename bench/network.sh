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
#   4. against Docker's -p (unless DOCKER=0): a private dockerd in a network
#      and mount namespace of its own (never the host's network), and a
#      second regd in the same namespace; there, nginx on the host network
#      (reg), bridged with reg's -p, and in a Docker container with -p
#      (the image imported from the debootstrap rootfs of bench/setup.sh,
#      $ROOTFS, or else from the host's nginx files), each reached through
#      127.0.0.1 (Docker: its docker-proxy, the default) and through the
#      namespace's own address (Docker: its iptables DNAT); wrk runs in the
#      namespace, the paths interleaved run by run.
# Needs root, an optimised build (make), nginx, wrk, hyperfine, socat
# (and docker.io for 4).
#
#   bench/network.sh [BUILD_DIR]    (RUNS=5 WRK_SECONDS=5 STARTS=50 STORM=200 DOCKER=1;
#                                    DOCKER_ONLY=1: part 4 alone)
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
REGD_PID= SOCAT_PID= DREGD_PID= DOCKERD_PID=
DOCKER=${DOCKER:-1}
ROOTFS=${ROOTFS:-/var/tmp/reg-bench/rootfs-nginx}

cleanup () {
  set +e
  [ -n "$SOCAT_PID" ] && kill "$SOCAT_PID" 2>/dev/null
  if [ -n "$DREGD_PID" ]; then
    REG_HOST=unix://$T/dreg.sock "$REG" rm -f $(REG_HOST=unix://$T/dreg.sock "$REG" ps -a -q) >/dev/null 2>&1
    kill "$DREGD_PID" && wait "$DREGD_PID" 2>/dev/null
  fi
  if [ -n "$DOCKERD_PID" ]; then
    docker -H "unix://$T/docker.sock" rm -f $(docker -H "unix://$T/docker.sock" ps -aq) >/dev/null 2>&1
    kill "$DOCKERD_PID" && wait "$DOCKERD_PID" 2>/dev/null
  fi
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

median () { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

if [ "${DOCKER_ONLY:-0}" != 1 ]; then
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
fi

[ "$DOCKER" = 1 ] && command -v dockerd >/dev/null || exit 0

# ---- 4. against Docker's -p, in a network namespace of the bench's own ----
# (umount: the private dockerd's mounts live in its own mount namespace.)
cat >"$T/dockerd.sh" <<EOS
ip link set lo up
ip link add rbd0 type veth peer name rbd1 && ip addr add 192.0.2.1/24 dev rbd0 &&
  ip link set rbd0 up && ip link set rbd1 up
exec dockerd --host unix://$T/docker.sock --data-root $T/docker --exec-root $T/docker-exec \
  --pidfile $T/docker.pid >$T/dockerd.log 2>&1
EOS
unshare -n -m --propagation private sh "$T/dockerd.sh" &
DOCKERD_PID=$!
D="docker -H unix://$T/docker.sock"
for _ in $(seq 300); do $D version >/dev/null 2>&1 && break; sleep 0.1; done
IN="nsenter -t $DOCKERD_PID -n"
if [ -d "$ROOTFS/usr/sbin" ] && [ -x "$ROOTFS/usr/sbin/nginx" ]; then
  tar -C "$ROOTFS" -c . | $D import - regbench/nginx >/dev/null
else
  # The host's nginx and the libraries it loads, as a minimal image.
  mkdir -p "$T/img"
  for f in /usr/sbin/nginx $(ldd /usr/sbin/nginx | grep -o '/[^ ]*') /etc/nginx /etc/passwd /etc/group; do
    cp -a --parents "$f" "$T/img/"
  done
  tar -C "$T/img" -c . | $D import - regbench/nginx >/dev/null
fi
$IN "$BIN/regd" --root "$T/droot" --socket "$T/dreg.sock" --bridge "${BRIDGE}d" \
  --bridge-subnet "$SUBNET" >"$T/dregd.log" 2>&1 &
DREGD_PID=$!
R="env REG_HOST=unix://$T/dreg.sock $REG"
for _ in $(seq 100); do $R version >/dev/null 2>&1 && break; sleep 0.05; done
$R template create nginx@1 /usr/sbin/nginx /etc/nginx /etc/passwd /etc/group \
  --entrypoint /usr/sbin/nginx >/dev/null
DHOST=$(free_port) DREG=$(free_port) DDOCK=$(free_port)
site dhost "127.0.0.1:$DHOST"
site dbridge 80
site ddocker 80
$R run -d --network host --project "$T/dhost" -t nginx@1 -- /usr/sbin/nginx -c /app/nginx.conf >/dev/null
$R run -d --network bridge -p "$DREG:80" --project "$T/dbridge" -t nginx@1 -- \
  /usr/sbin/nginx -c /app/nginx.conf >/dev/null
# In reg's own cgroup parent: on a shared machine the CPU share of a
# cgroup subtree decides more than the network path does.
$D run -d -p "$DDOCK:80" -v "$T/ddocker:/app" --cgroup-parent /reg regbench/nginx \
  /usr/sbin/nginx -c /app/nginx.conf >/dev/null
declare -A DURL=([host]="http://127.0.0.1:$DHOST/index.html"
  [reg_lo]="http://127.0.0.1:$DREG/index.html"
  [docker_lo]="http://127.0.0.1:$DDOCK/index.html"
  [reg_ip]="http://192.0.2.1:$DREG/index.html"
  [docker_ip]="http://192.0.2.1:$DDOCK/index.html")
DORDER="host reg_lo docker_lo reg_ip docker_ip"
for k in $DORDER; do
  for _ in $(seq 100); do $IN curl -s -o /dev/null "${DURL[$k]}" && break; sleep 0.05; done
done
declare -A DRPS
for r in $(seq "$RUNS"); do
  for k in $DORDER; do
    v=$($IN wrk -t1 -c32 -d"${WRK_SECONDS}s" "${DURL[$k]}" | awk '/Requests\/sec/ {print $2}')
    DRPS[$k]="${DRPS[$k]:-} $v"
  done
done
DH=$(echo "${DRPS[host]}" | median)
echo
echo "Against Docker $($D version --format '{{.Server.Version}}') (\`-p\`, its defaults: docker-proxy for 127.0.0.1, iptables DNAT otherwise), all in one network namespace of the bench's own with a private dockerd and a second regd, Docker's nginx in reg's cgroup parent (/reg), wrk run there, the five interleaved ($(cut -d' ' -f1-3 /proc/loadavg) load at the end):"
echo
echo "| path | requests/s (median) | runs | vs host network | vs Docker's -p, same path |"
echo "|---|---:|---|---:|---:|"
for k in $DORDER; do
  m=$(echo "${DRPS[$k]}" | median)
  case $k in
    host) d="reg --network host, 127.0.0.1"; o= ;;
    reg_lo) d="reg bridge, -p, via 127.0.0.1"; o=docker_lo ;;
    docker_lo) d="Docker -p, via 127.0.0.1 (docker-proxy)"; o= ;;
    reg_ip) d="reg bridge, -p, via the namespace's address"; o=docker_ip ;;
    docker_ip) d="Docker -p, via the namespace's address (DNAT)"; o= ;;
  esac
  vs=
  [ -n "$o" ] && vs=$(printf '%.3f' "$(echo "$m / $(echo "${DRPS[$o]}" | median)" | bc -l)")
  printf '| %s | %.0f | %s | %.3f | %s |\n' "$d" "$m" "$(echo "${DRPS[$k]}" | xargs printf '%.0f ' | sed 's/ $//')" "$(echo "$m / $DH" | bc -l)" "$vs"
done
