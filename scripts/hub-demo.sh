#!/bin/bash
# reg-hub demo (as root, Debian 12): a hub on 127.0.0.1 and three devices,
# each a real regd in a network namespace of its own (own engine root,
# certificate and token) behind a bridge made for the demo; devices are
# registered, one runs a container that logs. Prints the URL and the login;
# Ctrl-C stops everything and removes what it made.
#
#   scripts/hub-demo.sh            (HUB_PORT=8443 by default)
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "hub-demo: run as root (namespaces, bridge)" >&2; exit 1; }
scripts/deps.sh --test >/dev/null
make -s build/reg build/regd build/reg-monitor build/reg-hub
REG=$PWD/build/reg REGD=$PWD/build/regd HUB_BIN=$PWD/build/reg-hub
HUB_DIR=$(mktemp -d /tmp/reg-hub-demo.XXXXXX)
PORT=${HUB_PORT:-8443}
HUB_PID=
. tests/hub/devices.sh

stop () {
  trap - EXIT INT TERM
  echo
  echo "hub-demo: stopping"
  [ -n "$HUB_PID" ] && kill -TERM "$HUB_PID" 2>/dev/null && wait "$HUB_PID" 2>/dev/null
  hub_net_down
  rm -rf "$HUB_DIR"
}
trap stop EXIT INT TERM

hub_net_up
for k in 1 2 3; do
  hub_device_up "$k"
  hub_device_reg "$k" template create base@1 /bin/sh /bin/echo /bin/sleep /bin/cat /bin/ls \
    /bin/date /usr/bin/id /usr/bin/env --entrypoint /bin/sh >/dev/null
done
hub_device_reg 1 run -d --name clock -t base@1 -- /bin/sh -c \
  'while true; do echo "the time is $(date +%T)"; sleep 2; done' >/dev/null

PASSWORD=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
echo "$PASSWORD" | "$HUB_BIN" --data "$HUB_DIR/hub" --listen "127.0.0.1:$PORT" --web src/hub/web \
  --admin-password-stdin --probe-interval 3s --probe-timeout 1s --sample-interval 5s \
  >>"$HUB_DIR/hub.log" 2>&1 &
HUB_PID=$!
URL=https://127.0.0.1:$PORT
for _ in $(seq 100); do curl -sk -o /dev/null "$URL/api/v1/version" && break; sleep 0.1; done
JAR=$HUB_DIR/cookies
CSRF=$(curl -sk -c "$JAR" -d "$(jq -nc --arg p "$PASSWORD" '{Name: "admin", Password: $p}')" \
  "$URL/api/v1/login" | jq -r .Csrf)
for k in 1 2 3; do
  curl -sk -b "$JAR" -H "X-CSRF-Token: $CSRF" -o /dev/null \
    -d "$(jq -nc --arg n "device-$k" --arg u "${HUB_DEV_URL[$k]}" --rawfile ca "${HUB_DEV_CA[$k]}" \
      --arg t "${HUB_DEV_TOKEN[$k]}" '{Name: $n, Url: $u, Ca: $ca, Token: $t}')" "$URL/api/v1/devices"
done
cat <<MSG

  reg-hub is running: $URL/
  log in as:          admin / $PASSWORD
  (a self-signed certificate: accept it in the browser)

  Devices: ${HUB_DEV_URL[1]} ${HUB_DEV_URL[2]} ${HUB_DEV_URL[3]} (bridge $HUB_BR)
  Try: stop a device's regd and watch it go Offline:
       kill \$(cat $HUB_DIR/dev2/regd.pid)
  Ctrl-C stops the hub and the devices and removes them.
MSG
wait "$HUB_PID"
