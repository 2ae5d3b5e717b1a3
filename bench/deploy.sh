#!/bin/bash
# Issue 20's targets: the deployment framework's scenarios, reg-hub against
# the Docker flow, on one device, for a small HTTP app (examples/hello-web)
# on a Python base. Figures go to docs/benchmarks.md ("Deployments"). Root.
#
#   bench/deploy.sh            RUNS=3 runs of each scenario, medians
#
#   1a  a new app on a new base   (the device has neither)
#   2a  a redeploy of the same app
#   3a  the app with one file changed, on the same base
#
# reg-hub: POST the upload (curl), until the deployment is "succeeded": make
# the template, push it to docker-registry, the device pulls what it lacks,
# creates, starts, and its HTTP health check passes.
# Docker: a generated Dockerfile (FROM the same Python, as an image in the
# same docker-registry; COPY the app), docker build and docker push on a
# builder daemon (the hub's side), then on the device's daemon docker pull,
# docker create, docker start, until the app answers on its port. Two
# private dockerds, each in a network namespace of this run's own (never
# the host's), with no bridge and no iptables rules: the builder in a
# second device namespace, the device's in the device's, where the app
# runs with --network host. The base image is the reg template itself,
# exported with `reg push --as-image`, so both flows move the same Python
# files. Before 1a the device's daemon has no image at all (as reg-hub's
# device has no template); before 2a and 3a it keeps the base.
# Bytes moved to the device: reg-hub's pull result (PullBytes); Docker's
# are the blob bytes the registry sent during the device's pull (its log's
# http.response.written of each blob GET).
# Both flows poll readiness every 50 ms (reg-hub: the deployment's state,
# "succeeded" once regd's HTTP health check passes, its interval 200 ms
# and its start interval 50 ms here; Docker: the app's /healthz, and its
# process is checked to be the container's).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
[ "$(id -u)" = 0 ] || { echo "bench/deploy.sh: run as root" >&2; exit 1; }
command -v dockerd >/dev/null && command -v docker-registry >/dev/null \
  || { echo "bench/deploy.sh: needs docker.io and docker-registry (scripts/deps.sh --test)" >&2; exit 1; }
make -s build/reg build/regd build/reg-monitor build/reg-init build/reg-hub
REG=$PWD/build/reg REGD=$PWD/build/regd HUB_BIN=$PWD/build/reg-hub
HUB_DIR=$(mktemp -d /tmp/reg-deploy-bench.XXXXXX)
HUB_PID= REGISTRY_PID= DOCKER_PID=
. tests/hub/devices.sh
finish () {
  set +e
  [ -n "$HUB_PID" ] && { kill -TERM "$HUB_PID"; wait "$HUB_PID"; }
  for p in $DOCKER_PID; do kill -TERM "$p"; wait "$p"; done
  [ -n "$REGISTRY_PID" ] && { kill -TERM "$REGISTRY_PID"; wait "$REGISTRY_PID"; }
  hub_net_down
  rm -rf "$HUB_DIR"
} 2>/dev/null
trap finish EXIT
now () { date +%s.%N; }
since () { echo "$(now) - $1" | bc; }
in_dev () { nsenter --net="/run/netns/rhn${HUB_RUN}1" "$@"; }

hub_net_up
hub_device_up 1
hub_device_up 2 # the Docker flow's builder runs in this namespace
NS=/run/netns/rhn${HUB_RUN}1
PORT=$((20000 + RANDOM % 20000))
REGISTRY=$HUB_PREFIX.1:$PORT
cat >"$HUB_DIR/registry.yml" <<CFG
version: 0.1
log: {level: info, formatter: text}
storage: {filesystem: {rootdirectory: $HUB_DIR/registry}, delete: {enabled: true}}
http: {addr: $REGISTRY}
CFG
docker-registry serve "$HUB_DIR/registry.yml" >>"$HUB_DIR/registry.log" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 100); do curl -fs "http://$REGISTRY/v2/" >/dev/null && break; sleep 0.1; done

# The base, made on the device (the recipe), pushed as a template and as an
# image, then removed from the device again: 1a starts without it.
dreg () { hub_device_reg 1 "$@"; }
dreg template create -f examples/templates/python.yaml >/dev/null
dreg push -q python@3.11 "$REGISTRY/apps/python:3.11" --insecure >/dev/null
dreg push -q --as-image python@3.11 "$REGISTRY/docker/python:3.11" --insecure >/dev/null
clean_device () {
  dreg rm -f hello >/dev/null 2>&1 || true
  local t
  for t in $(dreg template ls -q 2>/dev/null || dreg template ls | awk 'NR>1 {print $1}'); do
    dreg template rm "$t" >/dev/null 2>&1 || true
  done
  dreg system prune -a -f >/dev/null 2>&1 || dreg system prune -a >/dev/null 2>&1 || true
}
clean_device

# The hub, with a token.
HPORT=$((20000 + RANDOM % 20000))
URL=https://127.0.0.1:$HPORT
PASSWORD=bench-$RANDOM$RANDOM
echo "$PASSWORD" | "$HUB_BIN" --data "$HUB_DIR/hub" --listen "127.0.0.1:$HPORT" --web src/hub/web \
  --admin-password-stdin --registry "$REGISTRY/apps" --registry-insecure >>"$HUB_DIR/hub.log" 2>&1 &
HUB_PID=$!
for _ in $(seq 100); do curl -sk -o /dev/null "$URL/api/v1/version" && break; sleep 0.1; done
curl -sk -c "$HUB_DIR/jar" -H 'Content-Type: application/json' \
  -d "{\"Name\": \"admin\", \"Password\": \"$PASSWORD\"}" "$URL/api/v1/login" >"$HUB_DIR/login"
TOKEN=$(curl -sk -b "$HUB_DIR/jar" -H "X-CSRF-Token: $(jq -r .Csrf "$HUB_DIR/login")" \
  -H 'Content-Type: application/json' -d '{"Name": "bench"}' "$URL/api/v1/tokens" | jq -r .Token)
curl -sk -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d "$(jq -nc --arg u "${HUB_DEV_URL[1]}" --rawfile ca "${HUB_DEV_CA[1]}" --arg t "${HUB_DEV_TOKEN[1]}" \
    '{Name: "dev1", Url: $u, Ca: $ca, Token: $t}')" "$URL/api/v1/devices" >/dev/null

APP=$HUB_DIR/app
mkdir -p "$APP"
cp examples/hello-web/app.py "$APP/"
echo "hello 1" >"$APP/message.txt"
# The health check: every 200 ms, and every START_INTERVAL (default 50 ms,
# the Docker flow's own polling; START_INTERVAL=0: none) while the new
# version is starting (docs/health.md, --health-start-interval).
START_INTERVAL=${START_INTERVAL:-50ms}
CONFIG=$(jq -c --arg si "$START_INTERVAL" '.Bases = ["python@3.11"] | del(.Group) | .Devices = ["dev1"] | .Ports = []
  | .Network = "host" | .Health.Interval = "200ms"
  | if $si == "0" then . else .Health.StartPeriod = "30s" | .Health.StartInterval = $si end' examples/hello-web/deploy.json)

# reg-hub: one deployment; prints "seconds pulled-bytes [steps] registry-blob-bytes".
reg_deploy () {
  tar -C "$APP" -czf "$HUB_DIR/app.tar.gz" .
  local t0 id state body mark
  mark=$(($(wc -l <"$HUB_DIR/registry.log") + 1))
  t0=$(now)
  id=$(curl -sk -H "Authorization: Bearer $TOKEN" -F "file=@$HUB_DIR/app.tar.gz" -F "config=$CONFIG" \
    "$URL/api/v1/apps/hello/deployments" | jq -r .Id)
  for _ in $(seq 6000); do
    body=$(curl -sk -H "Authorization: Bearer $TOKEN" "$URL/api/v1/deployments/$id")
    state=$(echo "$body" | jq -r .State)
    [ "$state" = succeeded ] || [ "$state" = failed ] && break
    sleep 0.05
  done
  [ "$state" = succeeded ] || { echo "reg-hub deployment failed: $body" >&2; exit 1; }
  echo "$(since "$t0") $(echo "$body" | jq '.Devices[0].PullBytes') $(echo "$body" | jq -c '[.MakeSeconds, .PushSeconds, .Devices[0].PullSeconds, .Devices[0].CreateSeconds, .Devices[0].StartSeconds, .Devices[0].HealthySeconds]') $(registry_sent "$mark")"
}

# Docker: two private dockerds, the builder's (the hub's side) and the
# device's.
docker_up () { # NAME NAMESPACE
  local dd=$HUB_DIR/$1
  mkdir -p "$dd"
  cat >"$dd/start.sh" <<EOS
exec dockerd --host unix://$dd/docker.sock --data-root $dd/data --exec-root $dd/exec \
  --pidfile $dd/docker.pid --bridge none --iptables=false --ip6tables=false \
  --insecure-registry $REGISTRY >$dd/log 2>&1
EOS
  nsenter --net="$2" unshare -m --propagation private sh "$dd/start.sh" &
  DOCKER_PID="$DOCKER_PID $!"
  for _ in $(seq 150); do docker -H "unix://$dd/docker.sock" version >/dev/null 2>&1 && return; sleep 0.2; done
  echo "bench/deploy.sh: dockerd $1 did not start" >&2
  exit 1
}
docker_up builder "/run/netns/rhn${HUB_RUN}2"
docker_up device "$NS"
build () { docker -H "unix://$HUB_DIR/builder/docker.sock" "$@"; }
dock () { docker -H "unix://$HUB_DIR/device/docker.sock" "$@"; }
# The blob bytes the registry has sent since line $1 of its log.
registry_sent () {
  tail -n +"$1" "$HUB_DIR/registry.log" | grep 'response completed' | grep 'http.request.method=GET' \
    | grep '/blobs/sha256:' | sed -n 's/.*http.response.written=\([0-9]*\).*/\1/p' \
    | awk '{n += $1} END {print n + 0}'
}
DOCKER_N=0
docker_deploy () {
  DOCKER_N=$((DOCKER_N + 1))
  local t0 tag=$REGISTRY/docker/hello:$DOCKER_N mark up=0
  rm -rf "$HUB_DIR/ctx" && mkdir -p "$HUB_DIR/ctx" && cp -r "$APP" "$HUB_DIR/ctx/app"
  printf '%s\n' "FROM $REGISTRY/docker/python:3.11" 'COPY app /app' 'WORKDIR /app' 'ENV PORT=8000' \
    'CMD ["/usr/bin/python3.11", "app.py"]' >"$HUB_DIR/ctx/Dockerfile"
  dock rm -f hello >/dev/null 2>&1 || true
  t0=$(now)
  DOCKER_BUILDKIT=0 build build -q -t "$tag" "$HUB_DIR/ctx" >/dev/null
  build push -q "$tag" >/dev/null
  mark=$(($(wc -l <"$HUB_DIR/registry.log") + 1))
  dock pull -q "$tag" >/dev/null
  dock create --name hello --network host "$tag" >/dev/null
  dock start hello >/dev/null
  for _ in $(seq 1200); do
    in_dev curl -sf -o /dev/null --max-time 1 http://127.0.0.1:8000/healthz && { up=1; break; }
    sleep 0.05
  done
  [ "$up" = 1 ] || { echo "bench/deploy.sh: Docker's app never answered" >&2; exit 1; }
  dock top hello -o pid,args | grep -q app.py \
    || { echo "bench/deploy.sh: the answer was not Docker's container" >&2; exit 1; }
  echo "$(since "$t0") $(registry_sent "$mark")"
}
docker_clean () {
  dock rm -f hello >/dev/null 2>&1 || true
  dock system prune -a -f >/dev/null 2>&1 || true
}

declare -A R
for run in $(seq "$RUNS"); do
  clean_device
  echo "hello 1" >"$APP/message.txt"
  R[reg1a]+="$(reg_deploy | cut -d' ' -f1) "
  R[reg2a]+="$(reg_deploy | cut -d' ' -f1) "
  echo "hello $run changed" >"$APP/message.txt"
  out=$(reg_deploy)
  echo "reg-hub 3a: $out"
  R[reg3a]+="$(echo "$out" | cut -d' ' -f1) "
  R[reg3a_bytes]=$(echo "$out" | cut -d' ' -f2)
  R[reg3a_sent]=$(echo "$out" | cut -d' ' -f4)
  dreg rm -f hello >/dev/null
  docker_clean
  echo "hello 1" >"$APP/message.txt"
  R[docker1a]+="$(docker_deploy | cut -d' ' -f1) "
  R[docker2a]+="$(docker_deploy | cut -d' ' -f1) "
  echo "hello $run changed" >"$APP/message.txt"
  out=$(docker_deploy)
  echo "docker 3a: $out"
  R[docker3a]+="$(echo "$out" | cut -d' ' -f1) "
  R[docker3a_bytes]=$(echo "$out" | cut -d' ' -f2)
  dock rm -f hello >/dev/null
done
median () { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-10s %10s %10s %8s\n' scenario reg-hub docker ratio
for s in 1a 2a 3a; do
  r=$(echo "${R[reg$s]}" | median) d=$(echo "${R[docker$s]}" | median)
  printf '%-10s %9.2fs %9.2fs %7.1fx\n' "$s" "$r" "$d" "$(echo "$d / $r" | bc -l)"
done
echo "3a bytes moved to the device: reg-hub ${R[reg3a_bytes]} (its pull result; ${R[reg3a_sent]} blob bytes the registry sent, the RET file with them), docker ${R[docker3a_bytes]} (blob bytes the registry sent to the device's pull)"
app=$(stat -c %s "$APP/message.txt")
echo "the changed file: $app bytes; the app: $(du -sb "$APP" | cut -f1) bytes"
