# reg-hub deployments (issue 20, docs/hub.md "Deploying an app"): a hub of
# its own (its own data directory and port) with Debian's docker-registry
# as its registry, on the devices of the hub suite (tests/hub/devices.sh:
# three real regds, each in a network namespace of its own). The app is
# examples/hello-web on a Python base pushed to the registry first.
# Driven with curl and an API token, as a CI pipeline would.

DEP_DIR=$T/deploy
DEP_PID=
DEP_URL=
DEP_TOKEN=
DEP_REG=
DEP_REG_PID=
DEP_BASE=pybase@3.11
DEP_PORT=18080

# The hub suite's hub, kept aside while this suite's runs (HUB_* are shared).
dep_swap_in () {
  DEP_SAVED="$HUB_PID|$HUB_URL|$HUB_HOME|$HUB_JAR|$HUB_CSRF"
  HUB_PID=$DEP_PID HUB_URL=$DEP_URL HUB_HOME=$DEP_DIR/hub HUB_JAR=$DEP_DIR/cookies HUB_CSRF=
}
dep_swap_out () {
  DEP_PID=$HUB_PID DEP_URL=$HUB_URL
  IFS='|' read -r HUB_PID HUB_URL HUB_HOME HUB_JAR HUB_CSRF <<<"$DEP_SAVED"
}

dep_registry_start () {
  command -v docker-registry >/dev/null || { fail "docker-registry not installed (scripts/deps.sh --test)"; return 1; }
  local port=$(free_port)
  mkdir -p "$DEP_DIR/registry"
  cat >"$DEP_DIR/registry.yml" <<CFG
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $DEP_DIR/registry}, delete: {enabled: true}}
http: {addr: $HUB_PREFIX.1:$port}
CFG
  docker-registry serve "$DEP_DIR/registry.yml" >>"$DEP_DIR/registry.log" 2>&1 &
  DEP_REG_PID=$!
  DEP_REG=$HUB_PREFIX.1:$port
  for _ in $(seq 100); do
    curl -fs "http://$DEP_REG/v2/" >/dev/null && return 0
    sleep 0.1
  done
  fail "docker-registry did not come up: $(cat "$DEP_DIR/registry.log")"
  return 1
}

# dapi METHOD PATH [curl args]: $code and $body, with the API token.
dapi () {
  local m=$1 p=$2
  shift 2
  code=$(curl -sk --max-time 60 -o "$DEP_DIR/body" -w '%{http_code}' -X "$m" \
    -H "Authorization: Bearer $DEP_TOKEN" "$@" "$DEP_URL$p")
  body=$(cat "$DEP_DIR/body")
}

deploy_setup () {
  [ -n "$DEP_PID" ] && return 0
  hub_setup || return 1
  mkdir -p "$DEP_DIR"
  dep_registry_start || return 1
  # The base: Python from the recipe, in the registry as REGISTRY/apps/pybase:3.11.
  if ! "$REG" template inspect "$DEP_BASE" >/dev/null 2>&1; then
    sed 's/^name: python/name: pybase/' "$HERE/../../examples/templates/python.yaml" >"$DEP_DIR/pybase.yaml"
    "$REG" template create -f "$DEP_DIR/pybase.yaml" >/dev/null || { fail "base template"; return 1; }
  fi
  "$REG" push -q "$DEP_BASE" "$DEP_REG/apps/pybase:3.11" --insecure >/dev/null \
    || { fail "push the base to $DEP_REG"; return 1; }
  dep_swap_in
  hub_start --registry "$DEP_REG/apps" --registry-insecure --deploy-max-size 2m
  local ok=$?
  hub_login admin "$HUB_ADMIN_PW"
  api POST /api/v1/tokens '{"Name": "ci"}'
  DEP_TOKEN=$(echo "$body" | jq -r .Token)
  local k
  for k in 1 2 3; do
    api POST /api/v1/devices "$(device_body "d$k" "$k")"
    expect_code 201 "add device d$k"
    api PATCH "/api/v1/devices/$(echo "$body" | jq -r .Id)" '{"Group": "edge"}'
    expect_code 200 "group of d$k"
  done
  dep_swap_out
  [ "$ok" = 0 ] && [ -n "$DEP_TOKEN" ] && [ "$DEP_TOKEN" != null ]
}

# An app directory: examples/hello-web with message.txt saying $2.
dep_app () { # DIR MESSAGE [broken]
  rm -rf "$1"
  cp -r "$HERE/../../examples/hello-web" "$1"
  rm -f "$1/deploy.json"
  echo "$2" >"$1/message.txt"
  [ -z "${3:-}" ] || touch "$1/broken"
  tar -C "$1" -czf "$1.tar.gz" .
}

dep_config () { # [jq filter over the example's deploy.json]
  jq -c "(.Bases = [\"$DEP_BASE\"]) | (.Ports = [\"$DEP_PORT:8000\"]) | ${1:-.}" \
    "$HERE/../../examples/hello-web/deploy.json"
}

# POST an app: $code, $body, $dep_id.
dep_post () { # APP FILE CONFIG
  dapi POST "/api/v1/apps/$1/deployments" -F "file=@$2" -F "config=$3"
  dep_id=$(echo "$body" | jq -r '.Id // empty' 2>/dev/null)
}

# Until deployment $1 is over: its final JSON in $body.
# A deployment's step times and bytes, for the log (never asserted).
dep_show () {
  echo "$body" | jq -r '"    \(.Template) \(.State): make \(.MakeSeconds // "-")s push \(.PushSeconds // "-")s \(.PushBytes // 0) B" + ([.Devices[] | " | \(.DeviceName) \(.State) \(.Mode // "") pull \(.PullSeconds // "-")s \(.PullBytes // 0) B create \(.CreateSeconds // "-")s start \(.StartSeconds // "-")s healthy \(.HealthySeconds // "-")s"] | join(""))'
}

dep_wait () {
  local i state
  [ -n "$1" ] || { fail "no deployment to wait for"; return 1; }
  for i in $(seq 600); do
    dapi GET "/api/v1/deployments/$1"
    state=$(echo "$body" | jq -r .State)
    case "$state" in succeeded | failed) dep_show; return 0 ;; esac
    sleep 0.25
  done
  fail "deployment $1 did not finish: $body"
  return 1
}

dep_get () { # K: GET / of the app through its published port, in device K's namespace
  nsenter --net="/run/netns/rhn$HUB_RUN$1" curl -s --max-time 5 "http://127.0.0.1:$DEP_PORT/"
}

t_deploy_first () {
  deploy_setup || return
  dep_app "$DEP_DIR/v1" "hello from version 1"
  dep_post hello "$DEP_DIR/v1.tar.gz" "$(dep_config '.Parallel = 3')"
  expect_code 202 "deploy v1"
  expect_body_has '"Version":"1"'
  dep_wait "$dep_id" || return
  expect_eq "$(echo "$body" | jq -r .State)" succeeded "v1: $(echo "$body" | jq -c '[.Error, .Devices[].Error]')"
  expect_eq "$(echo "$body" | jq -r '[.Devices[].State] | join(",")')" "healthy,healthy,healthy" "v1 devices"
  # Every step's time is recorded.
  local steps
  steps=$(echo "$body" | jq -r '[.MakeSeconds, .PushSeconds, (.Devices[] | .PullSeconds, .CreateSeconds, .StartSeconds, .HealthySeconds)] | map(select(. != null and . >= 0)) | length')
  expect_eq "$steps" 14 "step times: $(echo "$body" | jq -c .)"
  expect_eq "$(echo "$body" | jq -r .Template)" "hello@1" "template"
  local k
  for k in 1 2 3; do
    expect_eq "$(dep_get "$k")" "hello from version 1" "device $k answers"
    run_cmd hub_device_reg "$k" ps --format '{{.Names}} {{.Status}}'
    expect_out_has "hello running"
    expect_out_has "(healthy)"
  done
  # The first pull brought the base: megabytes.
  local first
  first=$(echo "$body" | jq '.Devices[0].PullBytes')
  [ "$first" -gt 5000000 ] || fail "first pull moved only $first bytes"
  # Without the token: 401, and nothing was made.
  run_cmd curl -sk -o /dev/null -w '%{http_code}' -F "file=@$DEP_DIR/v1.tar.gz" \
    -F "config=$(dep_config)" "$DEP_URL/api/v1/apps/hello/deployments"
  expect_out 401
  run_cmd curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer rht_wrong" \
    -F "file=@$DEP_DIR/v1.tar.gz" -F "config=$(dep_config)" "$DEP_URL/api/v1/apps/hello/deployments"
  expect_out 401
  dapi GET /api/v1/deployments
  expect_eq "$(echo "$body" | jq length)" 1 "one deployment listed"
}

t_deploy_changed () {
  deploy_setup || return
  dep_app "$DEP_DIR/v2" "hello from version 2"
  local base_gets
  base_gets=$(grep -c "GET /v2/apps/pybase/blobs/" "$DEP_DIR/registry.log")
  # As a CI job does it: examples/ci/deploy.sh (curl and the token).
  dep_config '.Parallel = 3 | .Health = {"Tcp": 8000, "Interval": "1s"}' >"$DEP_DIR/v2.json"
  run_cmd env REG_HUB_URL="$DEP_URL" REG_HUB_TOKEN="$DEP_TOKEN" REG_HUB_CA="$DEP_DIR/hub/data/tls/cert.pem" \
    "$HERE/../../examples/ci/deploy.sh" hello "$DEP_DIR/v2" "$DEP_DIR/v2.json"
  expect_rc 0
  expect_out_has "deployment "
  expect_out_has ": succeeded"
  dep_id=$(echo "$out" | sed -n '1s/^deployment \([0-9]*\):.*/\1/p')
  dep_wait "$dep_id" || return
  expect_eq "$(echo "$body" | jq -r .State)" succeeded "v2: $(echo "$body" | jq -c '[.Error, .Devices[].Error]')"
  expect_eq "$(echo "$body" | jq -r '[.Devices[].Mode] | join(",")')" "replace,replace,replace" "v2 mode (ports: replace)"
  local k changed
  changed=$(stat -c %s "$DEP_DIR/v2/message.txt")
  expect_eq "$(echo "$body" | jq -r .Template)" "hello@2" "template"
  for k in 0 1 2; do
    # v2 changed message.txt only: its blob is all that moved (besides the
    # manifest and the RET file), not app.py's, not the base's.
    expect_eq "$(echo "$body" | jq ".Devices[$k].PullBytes")" "$changed" "device $k: bytes pulled for v2"
  done
  # The registry sent exactly one blob of the app's files for v2: message.txt's.
  local blob
  blob=$(sha256sum "$DEP_DIR/v2/message.txt" | cut -c1-64)
  expect_eq "$(grep -c "GET /v2/apps/hello/blobs/sha256:$blob" "$DEP_DIR/registry.log")" 3 "message.txt's blob fetched once per device"
  # The base the devices have is known by its manifest: not even its RET file moved.
  expect_eq "$(grep -c "GET /v2/apps/pybase/blobs/" "$DEP_DIR/registry.log")" "$base_gets" "base blobs fetched for v2"
  for k in 1 2 3; do
    expect_eq "$(dep_get "$k")" "hello from version 2" "device $k answers v2"
    run_cmd hub_device_reg "$k" ps -a --format '{{.Names}}'
    expect_out "hello"
  done
}

t_deploy_rollback () {
  deploy_setup || return
  dep_app "$DEP_DIR/v3" "hello from version 3" broken
  # One device: the broken version fails its health check and is rolled back.
  dep_post hello "$DEP_DIR/v3.tar.gz" "$(dep_config 'del(.Group) | .Devices = ["d1"] | .Timeout = 30')"
  expect_code 202 "deploy broken v3"
  dep_wait "$dep_id" || return
  expect_eq "$(echo "$body" | jq -r .State)" failed "v3 failed"
  expect_eq "$(echo "$body" | jq -r '.Devices[0].State')" "rolled back" "v3 rolled back"
  case "$(echo "$body" | jq -r .Error)" in *unhealthy*) ;; *) fail "v3's reason: $(echo "$body" | jq -r .Error)" ;; esac
  expect_eq "$(dep_get 1)" "hello from version 2" "device 1 answers v2 again"
  run_cmd hub_device_reg 1 ps -a --format '{{.Names}} {{.Status}}'
  expect_out_has "hello running"
  case "$out" in *hello-old* | *hello-next*) fail "left behind: $out" ;; esac
  # A rolling update over the group, one at a time: stops at the first.
  dep_app "$DEP_DIR/v4" "hello from version 4" broken
  dep_post hello "$DEP_DIR/v4.tar.gz" "$(dep_config '.Timeout = 30')"
  dep_wait "$dep_id" || return
  expect_eq "$(echo "$body" | jq -r .State)" failed "v4 failed"
  expect_eq "$(echo "$body" | jq -r '[.Devices[].State] | join(",")')" "rolled back,skipped,skipped" "rolling update stopped"
  local k
  for k in 1 2 3; do
    expect_eq "$(dep_get "$k")" "hello from version 2" "device $k still answers v2"
  done
}

# Until deployment $1's JSON matches the jq condition $2 (up to $3 s): $body.
dep_until () {
  local i
  for i in $(seq $((${3:-60} * 4))); do
    dapi GET "/api/v1/deployments/$1"
    [ "$(echo "$body" | jq "$2")" = true ] && return 0
    sleep 0.25
  done
  fail "deployment $1 never had $2: $body"
  return 1
}

t_deploy_redeploy () {
  deploy_setup || return
  dep_app "$DEP_DIR/v5" "hello from version 5"
  # On d1, checked every second, one failed check is unhealthy; redeployed
  # after 1 s unhealthy, at most twice.
  dep_post hello "$DEP_DIR/v5.tar.gz" "$(dep_config 'del(.Group) | .Devices = ["d1"] | .Health.Retries = 1 | .Redeploy = {"After": "1s", "Attempts": 2}')"
  expect_code 202 "deploy v5"
  dep_wait "$dep_id" || return
  expect_eq "$(echo "$body" | jq -r .State)" succeeded "v5: $(echo "$body" | jq -c '[.Error, .Devices[].Error]')"
  local k before id tmpl
  tmpl=$(echo "$body" | jq -r .Template)
  before=$(hub_device_reg 1 inspect --format '{{.Id}}' hello)
  for k in 1 2; do
    # Broken in its upper layer: a new container from the template is not.
    run_cmd hub_device_reg 1 exec hello /usr/bin/python3.11 -c "open('/app/broken', 'w')"
    expect_rc 0
    dep_until "$dep_id" ".Devices[0].Redeploys == $k and .Devices[0].State == \"healthy\"" || return
    id=$(hub_device_reg 1 inspect --format '{{.Id}}' hello)
    [ -n "$id" ] && [ "$id" != "$before" ] || fail "redeploy $k: the container is still $before"
    before=$id
    expect_eq "$(dep_get 1)" "hello from version 5" "redeploy $k: d1 answers v5"
    run_cmd hub_device_reg 1 exec hello /usr/bin/python3.11 -c "import os, sys; sys.exit(os.path.exists('/app/broken'))"
    expect_rc 0
  done
  # Unhealthy a third time: the hub gives up, says why and leaves it.
  run_cmd hub_device_reg 1 exec hello /usr/bin/python3.11 -c "open('/app/broken', 'w')"
  dep_until "$dep_id" '.Devices[0].State == "unhealthy"' || return
  expect_eq "$(echo "$body" | jq '.Devices[0].Redeploys')" 2 "two redeploys"
  case "$(echo "$body" | jq -r '.Devices[0].Error')" in
    "gave up after 2 redeploys: unhealthy after "*) ;;
    *) fail "the reason: $(echo "$body" | jq -r '.Devices[0].Error')" ;;
  esac
  expect_eq "$(hub_device_reg 1 inspect --format '{{.Id}}' hello)" "$before" "left alone"
  # Every attempt and the giving up are audited.
  dapi GET "/api/v1/audit"
  expect_eq "$(echo "$body" | jq --arg t "$tmpl" '[.[] | select(.Action == "redeploy" and .Target == $t)] | length')" 3 "audited: $body"
  expect_eq "$(echo "$body" | jq -r --arg t "$tmpl" '[.[] | select(.Action == "redeploy" and .Target == $t)][0].Result[0:30]')" "gave up after 2 redeploys: unh" "audit's last"
}

# The hub, stopped and started again on its data (a new port).
dep_hub_restart () {
  dep_swap_in
  hub_stop
  hub_start --registry "$DEP_REG/apps" --registry-insecure --deploy-max-size 2m
  local ok=$?
  dep_swap_out
  return $ok
}

# The time a container has been unhealthy is the hub's database's
# (UnhealthySince): a hub restarted in the middle keeps counting from when
# it was first seen unhealthy, and one that comes back after the time is
# up redeploys at once.
t_deploy_redeploy_restart () {
  deploy_setup || return
  [ -f "$DEP_DIR/v5.tar.gz" ] || dep_app "$DEP_DIR/v5" "hello from version 5"
  dep_post hello "$DEP_DIR/v5.tar.gz" "$(dep_config 'del(.Group) | .Devices = ["d1"] | .Health.Retries = 1 | .Redeploy = {"After": "1h", "Attempts": 1}')"
  expect_code 202 "deploy v5"
  dep_wait "$dep_id" || return
  expect_eq "$(echo "$body" | jq -r .State)" succeeded "v5: $(echo "$body" | jq -c '[.Error, .Devices[].Error]')"
  local since before
  before=$(hub_device_reg 1 inspect --format '{{.Id}}' hello)
  run_cmd hub_device_reg 1 exec hello /usr/bin/python3.11 -c "open('/app/broken', 'w')"
  expect_rc 0
  dep_until "$dep_id" '.Devices[0].UnhealthySince != null' || return
  since=$(echo "$body" | jq '.Devices[0].UnhealthySince')
  dep_hub_restart || return
  # Two rounds of the new hub (probe interval 2 s) see it unhealthy: the
  # time it was first seen so is kept, not restarted.
  sleep 5
  dapi GET "/api/v1/deployments/$dep_id"
  expect_eq "$(echo "$body" | jq '.Devices[0].UnhealthySince')" "$since" "UnhealthySince after a restart"
  expect_eq "$(echo "$body" | jq '.Devices[0].Redeploys')" 0 "redeploys before the hour"
  # The hub down for the hour: back, it redeploys at its first round.
  dep_swap_in
  hub_stop
  dep_swap_out
  /usr/bin/python3 - "$DEP_DIR/hub/data" "$dep_id" <<'PY'
import glob, sqlite3, sys
db = sqlite3.connect(glob.glob(sys.argv[1] + "/*.db")[0])
db.execute("UPDATE deployment_devices SET unhealthy_since = unhealthy_since - 3600 WHERE deployment = ?", (int(sys.argv[2]),))
db.commit()
PY
  dep_hub_restart || return
  dep_until "$dep_id" '.Devices[0].Redeploys == 1 and .Devices[0].State == "healthy"' || return
  expect_eq "$(echo "$body" | jq '.Devices[0].UnhealthySince')" null "UnhealthySince after the redeploy"
  [ "$(hub_device_reg 1 inspect --format '{{.Id}}' hello)" != "$before" ] || fail "not redeployed"
  expect_eq "$(dep_get 1)" "hello from version 5" "d1 answers v5"
}

t_deploy_prune () {
  deploy_setup || return
  # Two good versions on d1, keeping 2: only they stay; every older
  # version of the app (good, broken or rolled back) goes, and its objects.
  dep_app "$DEP_DIR/v7" "hello from version 7"
  dep_post hello "$DEP_DIR/v7.tar.gz" "$(dep_config 'del(.Group) | .Devices = ["d1"] | .Keep = 2')"
  dep_wait "$dep_id" || return
  local t7 t8
  t7=$(echo "$body" | jq -r .Template)
  expect_eq "$(echo "$body" | jq -r .State)" succeeded "v7"
  dep_app "$DEP_DIR/v8" "hello from version 8!"
  dep_post hello "$DEP_DIR/v8.tar.gz" "$(dep_config 'del(.Group) | .Devices = ["d1"] | .Keep = 2')"
  dep_wait "$dep_id" || return
  t8=$(echo "$body" | jq -r .Template)
  expect_eq "$(echo "$body" | jq -r .State)" succeeded "v8"
  expect_eq "$(dep_get 1)" "hello from version 8!" "d1 answers v8"
  expect_eq "$(hub_device_reg 1 template ls | awk '$1 ~ /^hello@/ {print $1}' | sort | tr '\n' ' ')" \
    "$(printf '%s\n' "$t7" "$t8" | sort | tr '\n' ' ')" "d1 keeps the last two versions"
  # Without Keep, a device keeps every version: d2 still has the first.
  dapi GET "/api/v1/deployments?app=hello&limit=1000"
  hub_device_reg 2 template ls | awk '{print $1}' | grep -qx "$(echo "$body" | jq -r '.[-1].Template')" \
    || fail "d2 lost the first version"
  dapi GET "/api/v1/audit?device=1"
  expect_body_has '"Action":"prune","Target":"data","Result":"ok: '
  # Keep refused when it is not a count.
  dep_post hello "$DEP_DIR/v8.tar.gz" "$(dep_config '.Keep = 0')"
  expect_code 400 "Keep 0"
  expect_body_has "Keep must be an integer 1-1000"
}

t_deploy_bad_uploads () {
  deploy_setup || return
  local before after d=$DEP_DIR/bad
  mkdir -p "$d"
  [ -f "$DEP_DIR/v1.tar.gz" ] || dep_app "$DEP_DIR/v1" "hello from version 1"
  snap () {
    dapi GET /api/v1/deployments
    echo "$body" | jq -c '[.[].Id]'
    find "$DEP_DIR/hub/data/engine/store" "$DEP_DIR/hub/data/engine/templates" "$DEP_DIR/hub/data/deploy" | sort | sha256sum
  }
  before=$(snap)
  # Path traversal, an absolute name, a symlink out, a hard link (tar, by python3's tarfile).
  /usr/bin/python3 - "$d" <<'PY'
import io, sys, tarfile, zipfile
d = sys.argv[1]
def tar(name, members):
    with tarfile.open(f"{d}/{name}", "w:gz") as t:
        for m, data in members:
            t.addfile(m, io.BytesIO(data) if data is not None else None)
def reg(n, data=b"x"):
    m = tarfile.TarInfo(n); m.size = len(data); return (m, data)
def link(n, target, kind=tarfile.SYMTYPE):
    m = tarfile.TarInfo(n); m.type = kind; m.linkname = target; return (m, None)
tar("traversal.tar.gz", [reg("app.py"), reg("../../etc/evil")])
tar("absolute.tar.gz", [reg("app.py"), reg("/etc/evil")])
tar("symlink.tar.gz", [reg("app.py"), link("conf", "../../../etc/shadow")])
tar("symlink-abs.tar.gz", [reg("app.py"), link("conf", "/etc/shadow")])
tar("hardlink.tar.gz", [reg("app.py"), link("h", "app.py", tarfile.LNKTYPE)])
tar("device.tar.gz", [reg("app.py"), link("dev", "", tarfile.CHRTYPE)])
# A zip bomb: 64 MiB of zeros in a few kB (the hub here takes 2 MiB).
with zipfile.ZipFile(f"{d}/bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("app.py", b"\0" * (64 << 20))
# Over the size limit itself.
open(f"{d}/big.bin", "wb").write(b"y" * (3 << 20))
PY
  local f want
  for f in "traversal.tar.gz|not a relative path inside the app" "absolute.tar.gz|not a relative path inside the app" \
    "symlink.tar.gz|points out of the app" "symlink-abs.tar.gz|points out of the app" \
    "hardlink.tar.gz|hard links are not accepted" "device.tar.gz|only files, directories and symlinks" \
    "bomb.zip|expands to more than 2097152 bytes" "big.bin|over 2097152 bytes"; do
    want=${f#*|}
    f=${f%%|*}
    dep_post hello "$d/$f" "$(dep_config)"
    case "$f" in big.bin) expect_code 413 "$f" ;; bomb.zip) expect_code 413 "$f" ;; *) expect_code 400 "$f" ;; esac
    expect_body_has "$want" "$f"
  done
  # Bad configs: each refused, naming what is wrong.
  dep_post hello "$DEP_DIR/v1.tar.gz" '{"Bases": ["pybase@3.11"]}'
  expect_code 400 "no Cmd"
  expect_body_has "Cmd must be a list"
  dep_post hello "$DEP_DIR/v1.tar.gz" "$(dep_config '.Devices = ["nope"] | del(.Group)')"
  expect_code 404 "unknown device"
  expect_body_has 'no device \"nope\"'
  dep_post hello "$DEP_DIR/v1.tar.gz" "$(dep_config '.Colour = 1')"
  expect_code 400 "unknown field"
  expect_body_has 'unknown field \"Colour\"'
  dep_post hello "$DEP_DIR/v1.tar.gz" "$(dep_config '.Health = {"Tcp": 0}')"
  expect_code 400 "tcp check"
  expect_body_has "Health.Tcp must be a port"
  dep_post hello "$DEP_DIR/v1.tar.gz" "$(dep_config 'del(.Health) | .Redeploy = {}')"
  expect_code 400 "redeploy without a check"
  expect_body_has "Redeploy needs a Health check"
  dep_post hello "$DEP_DIR/v1.tar.gz" "$(dep_config '.Redeploy = {"Attempts": 0}')"
  expect_code 400 "no attempts"
  expect_body_has "Redeploy.Attempts must be an integer 1-10"
  dep_post hello "$DEP_DIR/v1.tar.gz" "$(dep_config '.Redeploy = {"After": "soon"}')"
  expect_code 400 "bad After"
  expect_body_has "Redeploy.After"
  dep_post hello "$DEP_DIR/v1.tar.gz" "$(dep_config '.Redeploy = {"Every": 1}')"
  expect_code 400 "unknown redeploy field"
  expect_body_has 'unknown field \"Redeploy.Every\"'
  dep_post Web_Bad "$DEP_DIR/v1.tar.gz" "$(dep_config)"
  expect_code 400 "bad app name"
  dep_post hello "$DEP_DIR/v1.tar.gz" 'not json'
  expect_code 400 "broken config"
  dapi POST /api/v1/apps/hello/deployments -F "file=@$DEP_DIR/v1.tar.gz" -F "config=$(dep_config)" -F colour=blue
  expect_code 400 "unknown part"
  expect_body_has 'unknown form field \"colour\"'
  dapi POST /api/v1/apps/hello/deployments -F "config=$(dep_config)"
  expect_code 400 "no file"
  expect_body_has 'no \"file\" part'
  dapi POST /api/v1/apps/hello/deployments -H 'Content-Type: application/json' --data '{}'
  expect_code 400 "not multipart"
  expect_body_has "multipart/form-data"
  after=$(snap)
  expect_eq "$after" "$before" "nothing left behind by refused uploads"
}

dep_hub_log_check () {
  if grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$DEP_DIR/hub/hub.log" >/dev/null; then
    fail "sanitizers in the deploy suite's reg-hub: $(cat "$DEP_DIR/hub/hub.log")"
  fi
}

# The deploy form and pages in headless Chromium (tests/hub/deploy_browser.py):
# the suite's hub, stopped and started again on its data in a network
# namespace of its own on the devices' bridge, with Chromium (as
# t_hub_browser does, and for the same reason).
t_deploy_browser () {
  deploy_setup || return
  local ns=rhn${HUB_RUN}c k v
  hub_browser_netns "$ns" "rhv${HUB_RUN}c" "$HUB_PREFIX.52" || return
  mkdir -p "$DEP_DIR/ui"
  for v in 1 2 3; do
    dep_app "$DEP_DIR/ui/web-v$v" "hello from the form, version $v" $([ "$v" = 3 ] && echo broken)
  done
  dep_swap_in
  hub_stop
  HUB_IN="nsenter --net=/run/netns/$ns"
  hub_start --registry "$DEP_REG/apps" --registry-insecure --deploy-max-size 2m
  local shots=${HUB_SHOTS:-$DEP_DIR/shots}
  mkdir -p "$shots"
  export HUB_RUN_ID=$HUB_RUN HUB_NET_PREFIX=$HUB_PREFIX HUB_DIR REGD REG
  run_cmd env HUB_URL="$HUB_URL" HUB_ADMIN_PW="$HUB_ADMIN_PW" HUB_CTL="$HERE/../hub/ctl.sh" \
    HUB_SHOTS="$shots" DEP_APPS="$DEP_DIR/ui" DEP_BASE="$DEP_BASE" DEP_PORT=18081 \
    DEP_DEVICES='["d1", "d2", "d3"]' PYTHONPATH="$HERE/../hub" \
    timeout 400 $HUB_IN /usr/bin/python3 "$HERE/../hub/deploy_browser.py"
  echo "$out" | sed 's/^/    /'
  [ "$rc" = 0 ] || fail "deploy browser scenarios: $err"
  hub_stop
  HUB_IN=
  dep_hub_log_check
  hub_start --registry "$DEP_REG/apps" --registry-insecure --deploy-max-size 2m
  dep_swap_out
  ip link del "rhv${HUB_RUN}ch" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  # The old version still answers everywhere, through its published port.
  for k in 1 2 3; do
    v=$(nsenter --net="/run/netns/rhn$HUB_RUN$k" curl -s --max-time 5 "http://127.0.0.1:18081/")
    expect_eq "$v" "hello from the form, version 2" "device $k answers webui@2"
  done
  dep_clean_devices
}

# The hub's embedded registry instead of docker-registry: the base imported
# into it (reg-hub registry import), the app pushed into its layout by the
# pipeline, and the device pulling from the hub over TLS with its own pull
# credential. This hub listens on the bridge (where devices reach it), with
# a certificate for that address.
t_deploy_embedded () {
  deploy_setup || return
  local d=$DEP_DIR/emb port=$(free_port) ip=$HUB_PREFIX.1 pid url i token dev
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$ip" \
    -addext "subjectAltName=IP:$ip" -keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null \
    || { fail "certificate"; return; }
  "$REG" push -q --layout "$d/layout" "$DEP_BASE" templates/pybase:3.11 >/dev/null || fail "push to a layout"
  run_cmd "$HUB_BIN" registry import "$d/layout" --data "$d/data"
  expect_rc 0
  expect_out_has "templates/pybase:3.11"
  echo "$HUB_ADMIN_PW" | "$HUB_BIN" --data "$d/data" --listen "$ip:$port" --tls-cert "$d/cert.pem" \
    --tls-key "$d/key.pem" --web "$HUB_WEB" --admin-password-stdin --probe-interval 2s \
    --probe-timeout 1s >>"$d/hub.log" 2>&1 &
  pid=$!
  url=https://$ip:$port
  for i in $(seq 200); do
    curl -sf -o /dev/null --cacert "$d/cert.pem" "$url/api/v1/version" && break
    sleep 0.05
  done
  curl -sf -c "$d/jar" --cacert "$d/cert.pem" -H 'Content-Type: application/json' \
    -d "$(jq -nc --arg p "$HUB_ADMIN_PW" '{Name: "admin", Password: $p}')" "$url/api/v1/login" >"$d/login" \
    || fail "login to the embedded hub: $(cat "$d/hub.log")"
  token=$(curl -sf -b "$d/jar" --cacert "$d/cert.pem" -H "X-CSRF-Token: $(jq -r .Csrf "$d/login")" \
    -H 'Content-Type: application/json' -d '{"Name": "ci"}' "$url/api/v1/tokens" | jq -r .Token)
  dev=$(curl -sf --cacert "$d/cert.pem" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "$(device_body e1 1)" "$url/api/v1/devices" | jq -r .Id)
  [ -n "$dev" ] && [ "$dev" != null ] || fail "device on the embedded hub"
  dep_app "$d/app" "hello through the hub's registry"
  run_cmd curl -s --cacert "$d/cert.pem" -H "Authorization: Bearer $token" -F "file=@$d/app.tar.gz" \
    -F "config=$(dep_config '.Devices = ["e1"] | del(.Group) | .Name = "emb" | .Ports = ["18082:8000"]')" \
    "$url/api/v1/apps/emb/deployments"
  expect_out_has '"Template":"emb@1"'
  local id=$(echo "$out" | jq -r .Id)
  for i in $(seq 600); do
    body=$(curl -s --cacert "$d/cert.pem" -H "Authorization: Bearer $token" "$url/api/v1/deployments/$id")
    case "$(echo "$body" | jq -r .State)" in succeeded | failed) break ;; esac
    sleep 0.25
  done
  dep_show
  expect_eq "$(echo "$body" | jq -r .State)" succeeded "through the embedded registry: $(echo "$body" | jq -c '[.Error, .Devices[].Error]')"
  v=$(nsenter --net="/run/netns/rhn${HUB_RUN}1" curl -s --max-time 5 "http://127.0.0.1:18082/")
  expect_eq "$v" "hello through the hub's registry" "device 1 answers emb@1"
  # The app is in the hub's registry; the device pulled with its credential.
  [ -d "$d/data/registry" ] && grep -rq '"templates/emb:1"\|templates/emb' "$d/data/registry" \
    || fail "emb@1 not in the hub's registry"
  hub_device_reg 1 rm -f emb >/dev/null
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null
  if grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$d/hub.log" >/dev/null; then
    fail "sanitizers in the embedded hub: $(cat "$d/hub.log")"
  fi
}

# What the suite ran on the devices goes (the hub suite uses the same
# devices after it): the apps' containers, including a left-over -old or -next.
dep_clean_devices () {
  local k c
  for k in 1 2 3; do
    [ -S "$HUB_DIR/dev$k/reg.sock" ] || continue
    for c in hello hello-old hello-next webui webui-old webui-next emb; do
      hub_device_reg "$k" rm -f "$c" >/dev/null 2>&1
    done
  done
}

deploy_finish () {
  [ -n "$DEP_PID" ] && dep_clean_devices
  if [ -n "$DEP_PID" ]; then
    dep_swap_in
    hub_stop
    if grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$DEP_DIR/hub/hub.log" >/dev/null; then
      echo "FAIL sanitizers in the deploy suite's reg-hub:" >&2
      cat "$DEP_DIR/hub/hub.log" >&2
      FAILED=$((FAILED + 1))
    fi
    dep_swap_out
    DEP_PID=
  fi
  [ -n "$DEP_REG_PID" ] && { kill "$DEP_REG_PID" 2>/dev/null; wait "$DEP_REG_PID" 2>/dev/null; }
  DEP_REG_PID=
}
FINISH="deploy_finish ${FINISH:-}"

ALL="$ALL t_deploy_first t_deploy_changed t_deploy_rollback t_deploy_redeploy t_deploy_redeploy_restart t_deploy_prune
  t_deploy_bad_uploads t_deploy_embedded t_deploy_browser"
