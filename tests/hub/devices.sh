# Devices for reg-hub's tests, demo and benchmark (sourced; safe under set -e): real regds, each in a
# network namespace of its own, with its own engine root, its own TLS
# certificate and token, and a veth to a bridge made here. Every name
# (namespaces, links, bridge) carries a per-run id, and the subnet is a
# random 10.x.y.0/24 not in use on this host, so concurrent runs never
# meet; no traffic leaves the machine. Needs: HUB_DIR (a temporary
# directory), REGD and REG (binaries).
#
#   hub_net_up              the bridge (10.x.y.1) and the run id
#   hub_device_up K         device K: namespace, veth, cert, token, regd
#   hub_device_stop K       kill its regd (the namespace stays)
#   hub_device_start K      start its regd again
#   hub_device_reg K ARGS   the reg CLI on device K (its UNIX socket)
#   hub_net_down            every device's regd, namespace, link; the bridge
# HUB_REGD_ARGS: more regd options (the benchmark raises the TLS limits).
# Per device K: HUB_DEV_URL[K], HUB_DEV_CA[K] (file), HUB_DEV_TOKEN[K];
# its regd's pid in HUB_DIR/devK/regd.pid, so tests/hub/ctl.sh (which the
# browser test runs) can stop and start it too.

HUB_RUN=
HUB_BR=
HUB_PREFIX=
declare -a HUB_DEV_URL HUB_DEV_CA HUB_DEV_TOKEN HUB_DEVICES

hub_net_up () {
  [ -n "$HUB_BR" ] && return 0
  local try
  for try in 1 2 3 4 5 6 7 8; do
    HUB_RUN=$(printf '%04x' $(((RANDOM ^ $$) & 0xffff)))
    HUB_BR=rhb$HUB_RUN
    HUB_PREFIX=10.$((200 + RANDOM % 50)).$((RANDOM % 250))
    ip link show "$HUB_BR" >/dev/null 2>&1 && continue
    ip -4 addr | grep -q " $HUB_PREFIX\." && continue
    ip -4 route | grep -q "^$HUB_PREFIX\." && continue
    break
  done
  ip link add "$HUB_BR" type bridge || return 1
  ip addr add "$HUB_PREFIX.1/24" dev "$HUB_BR" || return 1
  ip link set "$HUB_BR" up
}

hub_device_up () {
  local k=$1 ns=rhn$HUB_RUN$1 host=rhv$HUB_RUN${1}h peer=rhv$HUB_RUN${1}d
  local ip=$HUB_PREFIX.$((10 + k)) d=$HUB_DIR/dev$k
  mkdir -p "$d"
  ip netns add "$ns" || return 1
  ip link add "$host" type veth peer name "$peer" || return 1
  ip link set "$peer" netns "$ns"
  ip link set "$host" master "$HUB_BR" up
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" ip addr add "$ip/24" dev "$peer"
  ip netns exec "$ns" ip link set "$peer" up
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$ip" -addext "subjectAltName=IP:$ip" -keyout "$d/key.pem" -out "$d/cert.pem" \
    2>/dev/null || return 1
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$d/token"
  HUB_DEV_URL[$k]=tcp://$ip:7443
  HUB_DEV_CA[$k]=$d/cert.pem
  HUB_DEV_TOKEN[$k]=$(cat "$d/token")
  HUB_DEVICES+=("$k")
  hub_device_start "$k"
}

hub_device_start () {
  local k=$1 d=$HUB_DIR/dev$1 ip=$HUB_PREFIX.$((10 + $1))
  # nsenter, not `ip netns exec`: that one remounts /sys, and regd needs
  # the host's cgroup mounts under it.
  nsenter --net="/run/netns/rhn$HUB_RUN$k" "$REGD" --root "$d/root" --socket "$d/reg.sock" \
    --tls-listen "$ip:7443" --tls-cert "$d/cert.pem" --tls-key "$d/key.pem" \
    --token-file "$d/token" ${HUB_REGD_ARGS:-} >>"$d/regd.log" 2>&1 &
  echo $! >"$d/regd.pid"
  local i
  for i in $(seq 200); do
    [ -S "$d/reg.sock" ] && hub_device_reg "$k" version >/dev/null 2>&1 \
      && curl -s -o /dev/null --max-time 2 --cacert "$d/cert.pem" "https://$ip:7443/v1/version" \
      && return 0
    sleep 0.05
  done
  echo "hub: device $k's regd did not come up:" >&2
  cat "$d/regd.log" >&2
  return 1
}

hub_device_stop () {
  local f=$HUB_DIR/dev$1/regd.pid pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  rm -f "$f"
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  wait "$pid" 2>/dev/null || true
}

hub_device_reg () {
  local k=$1
  shift
  REG_HOST=unix://$HUB_DIR/dev$k/reg.sock "$REG" "$@"
}

hub_net_down () {
  local k m pid
  for k in "${HUB_DEVICES[@]}"; do
    # Containers first (their monitors outlive regd), then regd.
    for m in "$HUB_DIR/dev$k"/root/containers/*/state.json; do
      [ -f "$m" ] || continue
      pid=$(sed -n 's/.*"MonitorPid": *\([0-9]*\).*/\1/p' "$m")
      if [ -n "$pid" ] && [ "$pid" != 0 ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    hub_device_stop "$k"
    umount -R "$HUB_DIR/dev$k"/root/containers/*/merged 2>/dev/null || true
    ip link del "rhv$HUB_RUN${k}h" 2>/dev/null || true
    ip netns del "rhn$HUB_RUN$k" 2>/dev/null || true
  done
  HUB_DEVICES=()
  if [ -n "$HUB_BR" ]; then ip link del "$HUB_BR" 2>/dev/null || true; fi
  HUB_BR=
}
