# reg-hub (issue 19, docs/hub.md, docs/hub-api.md): a hub on 127.0.0.1 with
# three devices, each a real regd in a network namespace of its own behind
# a bridge this suite makes (tests/hub/devices.sh). The API is driven with
# curl; the browser scenarios run in headless Chromium (tests/hub/browser.py).

HUB_BIN=$REG_BIN/reg-hub
HUB_DIR=$T/hub
HUB_HOME=$HUB_DIR/main # the hub's database and log
HUB_WEB=$HERE/../../src/hub/web
HUB_PID=
HUB_URL=
HUB_JAR=$HUB_DIR/cookies
HUB_CSRF=
HUB_ADMIN_PW=admin-pass-$RANDOM$RANDOM
. "$HERE/../hub/devices.sh"

# HUB_IN: a command prefix that runs the hub (and its readiness check) in
# another network namespace (the browser test's).
hub_start () {
  mkdir -p "$HUB_DIR" "$HUB_HOME"
  local try
  for try in 1 2 3; do
    hub_start_on "$(free_port)" "$@" && return 0
  done
  fail "reg-hub did not come up: $(cat "$HUB_HOME/hub.log")"
  return 1
}

# hub_start_on PORT ARGS: whether this hub serves on PORT. Its own line
# "serving" says so, not an answer on the port: another test run's server
# may hold the port, and this hub then exits (0: try another port).
hub_start_on () {
  local port=$1 mark i
  shift
  HUB_PORT=$port HUB_URL=https://127.0.0.1:$port
  mark=$(stat -c %s "$HUB_HOME/hub.log" 2>/dev/null || echo 0)
  echo "$HUB_ADMIN_PW" | ${HUB_IN:-} "$HUB_BIN" --data "$HUB_HOME/data" --listen "127.0.0.1:$port" \
    --web "$HUB_WEB" --admin-password-stdin --probe-interval 2s --probe-timeout 1s \
    --sample-interval 2s "$@" >>"$HUB_HOME/hub.log" 2>&1 &
  HUB_PID=$!
  for i in $(seq 400); do
    tail -c "+$((mark + 1))" "$HUB_HOME/hub.log" | grep -q "serving $HUB_URL/" && return 0
    kill -0 "$HUB_PID" 2>/dev/null || { wait "$HUB_PID" 2>/dev/null; HUB_PID=; return 1; }
    sleep 0.05
  done
  return 1
}

hub_stop () {
  [ -n "$HUB_PID" ] || return 0
  kill -TERM "$HUB_PID" 2>/dev/null
  wait "$HUB_PID" 2>/dev/null
  HUB_PID=
}

# api METHOD PATH [BODY]: $code and $body. Cookie jar and CSRF token of
# the current login; HUB_AUTH (an "Authorization: ..." header) instead.
api () {
  local data=${3-}
  local args=(-sk --max-time 60 -o "$HUB_DIR/body" -w '%{http_code}' -X "$1"
    -H 'Content-Type: application/json')
  if [ -n "${HUB_AUTH:-}" ]; then
    args+=(-H "$HUB_AUTH")
  else
    args+=(-b "$HUB_JAR" -c "$HUB_JAR")
    [ -n "$HUB_CSRF" ] && args+=(-H "X-CSRF-Token: $HUB_CSRF")
  fi
  [ -n "$data" ] && args+=(--data-binary "$data")
  code=$(curl "${args[@]}" "$HUB_URL$2")
  body=$(cat "$HUB_DIR/body")
}

expect_code () {
  [ "$code" = "$1" ] || fail "$2: expected HTTP $1, got $code: ${body:0:300}"
}
expect_body_has () {
  case "$body" in *"$1"*) ;; *) fail "${2:-reply} lacks '$1': ${body:0:400}" ;; esac
}

hub_login_fresh () { # NAME PASSWORD
  rm -f "$HUB_JAR"
  HUB_CSRF=
  api POST /api/v1/login "$(jq -nc --arg n "$1" --arg p "$2" '{Name: $n, Password: $p}')"
  HUB_CSRF=$(echo "$body" | jq -r '.Csrf // empty')
}

# hub_login NAME PASSWORD: a session of NAME's. One this run made before
# with the same password is used again while the hub still takes it: a
# login hashes the password (PBKDF2, 600,000 rounds: a second on a loaded
# machine), and the tests log in some twenty times. The tests of logging
# in itself use hub_login_fresh.
hub_login () {
  local saved=$HUB_DIR/session.$1
  if [ -f "$saved.jar" ] && [ "$(cat "$saved.pw")" = "$2" ]; then
    cp "$saved.jar" "$HUB_JAR"
    HUB_CSRF=
    api GET /api/v1/session
    if [ "$code" = 200 ] && [ "$(echo "$body" | jq -r .Name)" = "$1" ]; then
      HUB_CSRF=$(echo "$body" | jq -r '.Csrf // empty')
      return 0
    fi
  fi
  hub_login_fresh "$1" "$2"
  if [ "$code" = 200 ]; then
    cp "$HUB_JAR" "$saved.jar"
    printf '%s' "$2" >"$saved.pw"
  fi
}

device_body () { # NAME K [CA-FILE] [TOKEN]
  jq -nc --arg n "$1" --arg u "${HUB_DEV_URL[$2]}" --rawfile ca "${3:-${HUB_DEV_CA[$2]}}" \
    --arg t "${4:-${HUB_DEV_TOKEN[$2]}}" '{Name: $n, Url: $u, Ca: $ca, Token: $t}'
}

# What must not change after a refused request: the devices as listed.
devices_snapshot () {
  HUB_AUTH= api GET /api/v1/devices
  echo "$body" | jq -c '[.[] | {Id, Name, Url, OwnerId}]'
}

wait_state () { # DEVICE-ID STATE SECONDS
  local i
  for i in $(seq $((${3} * 10))); do
    api GET "/api/v1/devices/$1"
    [ "$(echo "$body" | jq -r .State)" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

hub_setup () {
  [ -n "$HUB_PID" ] && return 0
  mkdir -p "$HUB_DIR"
  hub_net_up || { fail "cannot make the test bridge"; return 1; }
  local k
  for k in 1 2 3; do
    hub_device_up "$k" || { fail "device $k did not start"; return 1; }
    hub_device_reg "$k" template create base@1 /bin/sh /bin/echo /bin/sleep /bin/cat /bin/ls \
      /bin/true /usr/bin/id >/dev/null || fail "template on device $k"
  done
  hub_start
}

hub_cleanup () {
  hub_stop
  ip link del "rhv${HUB_RUN}bh" 2>/dev/null
  ip netns del "rhn${HUB_RUN}b" 2>/dev/null
  hub_net_down
}

t_hub_regd_system () {
  hub_setup || return
  local ip=${HUB_DEV_URL[1]#tcp://}
  run_cmd curl -s --cacert "${HUB_DEV_CA[1]}" -H "Authorization: Bearer ${HUB_DEV_TOKEN[1]}" \
    "https://$ip/v1/system/info"
  expect_out_has "\"Arch\":\"$(uname -m)\""
  expect_out_has "\"Kernel\":\"$(uname -r)\""
  expect_out_has "\"CPUs\":$(nproc)"
  run_cmd curl -s --cacert "${HUB_DEV_CA[1]}" -H "Authorization: Bearer ${HUB_DEV_TOKEN[1]}" \
    "https://$ip/v1/system/stats"
  expect_out_has '"CpuTotalNs":'
  expect_out_has '"MemAvailable":'
  expect_out_has '"DiskFree":'
  # Without the token: nothing.
  run_cmd curl -s -o /dev/null -w '%{http_code}' --cacert "${HUB_DEV_CA[1]}" "https://$ip/v1/system/info"
  expect_out "401"
}

t_hub_auth () {
  hub_setup || return
  HUB_CSRF=
  rm -f "$HUB_JAR"
  api GET /api/v1/devices
  expect_code 401 "devices without a login"
  hub_login_fresh admin wrong-password
  expect_code 401 "wrong password"
  expect_body_has "wrong user name or password"
  hub_login_fresh nobody "$HUB_ADMIN_PW"
  expect_code 401 "unknown user"
  # The cookie: HttpOnly, Secure, SameSite=Strict, with an expiry.
  run_cmd curl -sk -D - -o /dev/null -X POST --data-binary \
    "$(jq -nc --arg p "$HUB_ADMIN_PW" '{Name: "admin", Password: $p}')" "$HUB_URL/api/v1/login"
  expect_out_has "Set-Cookie: reghub_session="
  expect_out_has "HttpOnly; Secure; SameSite=Strict"
  expect_out_has "Max-Age=28800"
  hub_login_fresh admin "$HUB_ADMIN_PW"
  expect_code 200 "login"
  expect_body_has '"Role":"admin"'
  [ ${#HUB_CSRF} -ge 40 ] || fail "no CSRF token in the login reply: $body"
  api GET /api/v1/session
  expect_code 200 "session"
  expect_body_has '"Name":"admin"'
  # A change without the CSRF token: 403, nothing made.
  local csrf=$HUB_CSRF
  HUB_CSRF=
  api POST /api/v1/tokens '{"Name": "ci"}'
  expect_code 403 "token without CSRF"
  expect_body_has "CSRF token missing or wrong"
  HUB_CSRF=wrong-wrong-wrong
  api POST /api/v1/users '{"Name": "mallory", "Password": "12345678", "Role": "admin"}'
  expect_code 403 "user add with a wrong CSRF token"
  HUB_CSRF=$csrf
  api GET /api/v1/tokens
  expect_body "[]" "tokens after refused requests"
  api GET /api/v1/users
  case "$body" in *mallory*) fail "a refused request made a user" ;; esac
  # Users (admins only).
  api POST /api/v1/users '{"Name": "viewer1", "Password": "viewer-pass-1", "Role": "viewer"}'
  expect_code 201 "add viewer"
  api POST /api/v1/users '{"Name": "viewer1", "Password": "viewer-pass-1", "Role": "viewer"}'
  expect_code 409 "add the same user again"
  expect_body_has "user viewer1 already exists"
  api POST /api/v1/users '{"Name": "v2", "Password": "short", "Role": "viewer"}'
  expect_code 400 "short password"
  api POST /api/v1/users '{"Name": "v2", "Password": "long-enough", "Role": "root"}'
  expect_code 400 "bad role"
  expect_body_has 'role \"root\": admin or viewer'
  api POST /api/v1/users '{"Name": "bad name", "Password": "long-enough"}'
  expect_code 400 "bad user name"
  api POST /api/v1/users '{"Name": "v3", "Password": "long-enough", "Extra": 1}'
  expect_code 400 "unknown field"
  expect_body_has 'unknown field \"Extra\"'
  api GET /api/v1/users
  expect_eq "$(echo "$body" | jq -r '[.[].Name] | join(",")')" "admin,viewer1" "users"
  # The command line adds users too, the password on stdin.
  run_cmd sh -c "echo cli-pass-123 | '$HUB_BIN' user add cliuser --role viewer --data '$HUB_HOME/data'"
  expect_rc 0
  expect_out_has "user cliuser (viewer) added"
  run_cmd sh -c "echo short | '$HUB_BIN' user add cliuser2 --data '$HUB_HOME/data'"
  expect_rc 1
  expect_err_has "at least 8 characters"
  run_cmd sh -c "echo cli-pass-123 | '$HUB_BIN' user add cliuser --data '$HUB_HOME/data'"
  expect_rc 1
  expect_err_has "user cliuser already exists"
  api DELETE /api/v1/users/cliuser
  expect_code 204 "remove user"
  api DELETE /api/v1/users/admin
  expect_code 409 "remove yourself"
  # Passwords: PBKDF2-SHA256, 600000 iterations, the parameters with the hash.
  expect_eq "$(sqlite3 "$HUB_HOME/data/hub.db" "SELECT substr(hash, 1, 21) FROM users WHERE name = 'viewer1'")" \
    'pbkdf2-sha256$600000$' "stored hash"
}

expect_body () {
  [ "$body" = "$1" ] || fail "${2:-reply}: expected '$1', got '${body:0:300}'"
}

t_hub_tokens () {
  hub_setup || return
  hub_login admin "$HUB_ADMIN_PW"
  api POST /api/v1/tokens '{"Name": "ci"}'
  expect_code 201 "token create"
  local token id
  token=$(echo "$body" | jq -r .Token) id=$(echo "$body" | jq -r .Id)
  case "$token" in rht_?*) ;; *) fail "token '$token'" ;; esac
  api GET /api/v1/tokens
  expect_body_has '"Name":"ci"'
  case "$body" in *"$token"*) fail "the token's secret is listed" ;; esac
  HUB_AUTH="Authorization: Bearer $token" api GET /api/v1/session
  expect_code 200 "request with the API token"
  expect_body_has '"Name":"admin"'
  # No cookie, so no CSRF token needed: CI can change things.
  HUB_AUTH="Authorization: Bearer $token" api POST /api/v1/tokens '{"Name": "ci2"}'
  expect_code 201 "token create with a token"
  HUB_AUTH="Authorization: Bearer rht_not-a-token" api GET /api/v1/devices
  expect_code 401 "unknown API token"
  api POST /api/v1/tokens '{"Name": ""}'
  expect_code 400 "token without a name"
  api DELETE /api/v1/tokens/9999
  expect_code 404 "revoke an unknown token"
  api DELETE "/api/v1/tokens/$id"
  expect_code 204 "revoke"
  HUB_AUTH="Authorization: Bearer $token" api GET /api/v1/devices
  expect_code 401 "a revoked token"
  api GET /api/v1/tokens
  expect_eq "$(echo "$body" | jq -r '[.[].Name] | join(",")')" "ci2" "tokens after revoke"
}

t_hub_devices () {
  hub_setup || return
  hub_login admin "$HUB_ADMIN_PW"
  local k ids=()
  api GET /api/v1/devices
  for k in $(echo "$body" | jq -r '.[].Id'); do
    api DELETE "/api/v1/devices/$k"
  done
  for k in 1 2 3; do
    api POST /api/v1/devices "$(device_body "dev$k" "$k")"
    expect_code 201 "add device $k"
    ids+=("$(echo "$body" | jq -r .Id)")
  done
  for k in 0 1 2; do
    wait_state "${ids[$k]}" online 10 || fail "device ${ids[$k]} not online: $body"
  done
  api GET "/api/v1/devices/${ids[0]}"
  expect_body_has "\"Arch\":\"$(uname -m)\""
  expect_body_has '"LastSeen":'
  case "$body" in *'"Token"'* | *'"Ca"'*) fail "a device's secrets are shown: $body" ;; esac
  local before
  before=$(devices_snapshot)
  # Bad input: a clear 4xx, nothing changed.
  api POST /api/v1/devices "$(device_body dev1 1)"
  expect_code 409 "a taken name"
  expect_body_has "device dev1: the name is taken"
  api POST /api/v1/devices "$(device_body x 1 | jq -c '.Url = "http://10.0.0.1:7443"')"
  expect_code 400 "http URL"
  expect_body_has 'want tcp://HOST:PORT'
  api POST /api/v1/devices "$(device_body x 1 | jq -c '.Url = "tcp://10.0.0.1:99999"')"
  expect_code 400 "bad port"
  expect_body_has "the port must be 1 to 65535"
  api POST /api/v1/devices "$(device_body x 1 | jq -c '.Url = "tcp://bad host:1"')"
  expect_code 400 "bad host"
  api POST /api/v1/devices "$(device_body x 1 "${HUB_DEV_CA[2]}")"
  expect_code 400 "the wrong CA"
  expect_body_has "TLS verification failed"
  api POST /api/v1/devices "$(device_body x 1 "" wrong-token-wrong-token)"
  expect_code 400 "the wrong token"
  expect_body_has "regd refused the token"
  api POST /api/v1/devices "$(device_body x 1 | jq -c '.Ca = "not a certificate"')"
  expect_code 400 "CA not PEM"
  expect_body_has "not a PEM certificate"
  api POST /api/v1/devices "$(device_body x 1 | jq -c '.Token = "short"')"
  expect_code 400 "short token"
  api POST /api/v1/devices "$(device_body 'a/b' 1)"
  expect_code 400 "bad name"
  api POST /api/v1/devices '{"Name": "x"}'
  expect_code 400 "missing fields"
  expect_body_has "Url is required"
  api POST /api/v1/devices '{"Name": "x", '
  expect_code 400 "broken JSON"
  api POST /api/v1/devices "$(device_body x 1 | jq -c '.Colour = "red"')"
  expect_code 400 "unknown field"
  head -c 2000000 /dev/zero | tr '\0' 'a' >"$HUB_DIR/huge"
  code=$(curl -sk -o "$HUB_DIR/body" -w '%{http_code}' -b "$HUB_JAR" -H "X-CSRF-Token: $HUB_CSRF" \
    --data-binary "@$HUB_DIR/huge" "$HUB_URL/api/v1/devices")
  body=$(cat "$HUB_DIR/body")
  expect_code 413 "huge body"
  expect_body_has "request body over 1048576 bytes"
  api GET /api/v1/devices/9999
  expect_code 404 "unknown device"
  expect_body_has "device 9999: no such device"
  api DELETE /api/v1/devices/9999
  expect_code 404 "remove an unknown device"
  api GET /api/v1/devices/9999/containers
  expect_code 404 "containers of an unknown device"
  api POST /api/v1/devices/9999/containers/x/stop
  expect_code 404 "stop on an unknown device"
  api PATCH "/api/v1/devices/${ids[0]}" "$(jq -nc --rawfile ca "${HUB_DEV_CA[2]}" '{Ca: $ca}')"
  expect_code 400 "edit to the wrong CA"
  api PATCH "/api/v1/devices/${ids[0]}" '{"Url": "tcp://nowhere"}'
  expect_code 400 "edit to a bad URL"
  api PATCH "/api/v1/devices/${ids[0]}" '{"Name": "dev2"}'
  expect_code 409 "rename to a taken name"
  expect_eq "$(devices_snapshot)" "$before" "devices after refused requests"
  # Edit and remove.
  api PATCH "/api/v1/devices/${ids[2]}" '{"Name": "dev3-renamed"}'
  expect_code 200 "rename"
  expect_body_has '"Name":"dev3-renamed"'
  api PATCH "/api/v1/devices/${ids[2]}" '{"Name": "dev3"}'
  api POST /api/v1/devices "$(device_body extra 3)"
  expect_code 201 "add a fourth entry"
  local extra
  extra=$(echo "$body" | jq -r .Id)
  api DELETE "/api/v1/devices/$extra"
  expect_code 204 "remove"
  api GET "/api/v1/devices/$extra"
  expect_code 404 "removed device"
  expect_eq "$(devices_snapshot)" "$before" "devices after add and remove"
  # Info, utilisation and its history.
  api GET "/api/v1/devices/${ids[0]}/info"
  expect_code 200 "info"
  expect_body_has '"MemTotal":'
  api GET "/api/v1/devices/${ids[0]}/stats"
  expect_body_has '"CpuBusyNs":'
  local i
  for i in $(seq 50); do
    api GET "/api/v1/devices/${ids[0]}/history?since=600"
    [ "$(echo "$body" | jq length)" -ge 1 ] && break
    sleep 0.2
  done
  expect_body_has '"Cpu":'
  expect_body_has '"DiskTotal":'
  api GET "/api/v1/devices/${ids[0]}/history?since=-5"
  expect_code 400 "bad history window"
}

# The device the hub calls dev$1 (dev1..dev3 registered when missing).
hub_dev_id () {
  api GET /api/v1/devices
  if ! echo "$body" | jq -e '.[] | select(.Name == "dev1")' >/dev/null; then
    local k
    for k in 1 2 3; do
      api POST /api/v1/devices "$(device_body "dev$k" "$k")"
    done
    api GET /api/v1/devices
  fi
  echo "$body" | jq -r --arg n "dev$1" '.[] | select(.Name == $n) | .Id'
}

t_hub_liveness () {
  hub_setup || return
  hub_login admin "$HUB_ADMIN_PW"
  local id
  id=$(hub_dev_id 2)
  [ -n "$id" ] || { fail "no dev2"; return; }
  wait_state "$id" online 10 || fail "dev2 not online"
  # More entries at dev2's address than the hub runs at once to one
  # address (4): the rest wait for a slot, within the same round.
  local k alias_ids=()
  for k in 1 2 3 4 5 6 7; do
    api POST /api/v1/devices "$(device_body "dev2-alias$k" 2)"
    expect_code 201 "add an entry at dev2's address"
    alias_ids+=("$(echo "$body" | jq -r .Id)")
  done
  aliases_are () { # STATE SECONDS
    local i
    for i in $(seq $(($2 * 10))); do
      api GET /api/v1/devices
      [ "$(echo "$body" | jq -r '[.[] | select(.Name | startswith("dev2-alias")) | .State] | unique | join(",")')" = "$1" ] &&
        return 0
      sleep 0.1
    done
    return 1
  }
  aliases_are online 8 || fail "entries at dev2's address not all online: $body"
  hub_device_stop 2
  # Probe interval 2 s, timeout 1 s: Offline within a round or two.
  wait_state "$id" offline 6 || fail "dev2 not offline 6 s after its regd stopped: $body"
  expect_body_has "device dev2: cannot connect"
  aliases_are offline 6 || fail "entries at dev2's address not all offline: $body"
  # The others are not held up by it.
  api GET /api/v1/devices
  expect_eq "$(echo "$body" | jq -r '[.[] | select(.Name | startswith("dev2") | not) | .State] | unique | join(",")')" \
    "online" "other devices while dev2 is down"
  hub_device_start 2
  wait_state "$id" online 6 || fail "dev2 not online 6 s after its regd restarted: $body"
  aliases_are online 6 || fail "entries at dev2's address not back online: $body"
  for k in "${alias_ids[@]}"; do
    api DELETE "/api/v1/devices/$k"
  done
}

t_hub_containers () {
  hub_setup || return
  hub_login admin "$HUB_ADMIN_PW"
  local id
  id=$(hub_dev_id 1)
  api POST "/api/v1/devices/$id/containers" \
    '{"Templates": ["base@1"], "Name": "web", "Cmd": ["/bin/sh", "-c", "echo hello-from-web; exec sleep 1000"]}'
  expect_code 201 "run"
  run_cmd hub_device_reg 1 ps
  expect_out_has "web"
  expect_out_has "running"
  api GET "/api/v1/devices/$id/containers"
  expect_body_has '"Name":"web"'
  api GET "/api/v1/devices/$id/containers/web/stats"
  expect_code 200 "container stats"
  expect_body_has '"Memory":'
  # The hub samples it (every 2 s here): CPU and memory history.
  local i
  for i in $(seq 50); do
    api GET "/api/v1/devices/$id/history?container=web&since=600"
    [ "$(echo "$body" | jq length)" -ge 1 ] && break
    sleep 0.2
  done
  expect_body_has '"Mem":'
  # Logs as events (without follow: the log so far).
  run_cmd curl -sk --max-time 20 -b "$HUB_JAR" "$HUB_URL/api/v1/devices/$id/containers/web/logs?follow=0"
  expect_out_has "event: out"
  expect_out_has "data: $(printf 'hello-from-web\n' | base64)"
  expect_out_has "event: end"
  api POST "/api/v1/devices/$id/containers/web/pause"
  expect_code 204 "pause"
  run_cmd hub_device_reg 1 ps
  expect_out_has "paused"
  api POST "/api/v1/devices/$id/containers/web/pause"
  expect_code 409 "pause a paused container"
  api POST "/api/v1/devices/$id/containers/web/unpause"
  expect_code 204 "unpause"
  api POST "/api/v1/devices/$id/containers/web/restart?t=1"
  expect_code 204 "restart"
  api POST "/api/v1/devices/$id/containers/web/stop?t=forever"
  expect_code 400 "stop with a bad wait"
  run_cmd hub_device_reg 1 ps
  expect_out_has "running"
  api POST "/api/v1/devices/$id/containers/web/stop?t=1"
  expect_code 204 "stop"
  run_cmd hub_device_reg 1 ps -a
  expect_out_has "exited"
  api POST "/api/v1/devices/$id/containers/web/start"
  expect_code 204 "start"
  api DELETE "/api/v1/devices/$id/containers/web"
  expect_code 409 "remove a running container"
  api POST "/api/v1/devices/$id/containers/nosuch/stop"
  expect_code 404 "stop an unknown container"
  expect_body_has "device dev1:"
  api POST "/api/v1/devices/$id/containers/..%2f..%2fx/stop"
  [ "${code:0:1}" = 4 ] || fail "a path in a container name: $code"
  api POST "/api/v1/devices/$id/containers" '{"Templates": ["nosuch@1"]}'
  expect_code 404 "run an unknown template"
  api POST "/api/v1/devices/$id/containers" '{"Cmd": ["/bin/true"]}'
  expect_code 400 "run without templates"
  # Templates: one in use cannot go.
  api GET "/api/v1/devices/$id/templates"
  expect_body_has '"Ref":"base@1"'
  api DELETE "/api/v1/devices/$id/templates/base@1"
  expect_code 409 "remove a template in use"
  api DELETE "/api/v1/devices/$id/containers/web?force=1"
  expect_code 204 "remove"
  run_cmd hub_device_reg 1 ps -a
  case "$out" in *web*) fail "web still on the device: $out" ;; esac
  hub_device_reg 1 template create gone@1 /bin/true >/dev/null
  api DELETE "/api/v1/devices/$id/templates/gone@1"
  expect_code 204 "remove a template"
  run_cmd hub_device_reg 1 template ls
  case "$out" in *gone@1*) fail "gone@1 still on the device" ;; esac
  # The audit log has who did what.
  api GET "/api/v1/audit?device=$id"
  expect_body_has '"Action":"container stop","Target":"web","Result":"ok"'
  expect_body_has '"User":"admin"'
}

t_hub_terminal_api () {
  hub_setup || return
  hub_login admin "$HUB_ADMIN_PW"
  local id tid
  id=$(hub_dev_id 1)
  api POST "/api/v1/devices/$id/containers" \
    '{"Templates": ["base@1"], "Name": "term", "Cmd": ["/bin/sleep", "1000"]}'
  expect_code 201 "run"
  api POST "/api/v1/devices/$id/containers/term/terminal" '{"Rows": 30, "Cols": 100}'
  expect_code 201 "terminal"
  tid=$(echo "$body" | jq -r .Id)
  curl -sk -N --max-time 15 -b "$HUB_JAR" "$HUB_URL/api/v1/terminals/$tid/output" >"$HUB_DIR/term.out" &
  local reader=$!
  sleep 1
  api POST "/api/v1/terminals/$tid/input" '{"Data": "echo $((6*7))-from-the-terminal; exit\n"}'
  expect_code 204 "terminal input"
  wait "$reader"
  local text
  text=$(sed -n 's/^data: //p' "$HUB_DIR/term.out" | grep -v '^$' | while read -r l; do
    echo "$l" | base64 -d 2>/dev/null; done)
  case "$text" in *42-from-the-terminal*) ;; *) fail "terminal output: '$text'" ;; esac
  grep -q "event: exit" "$HUB_DIR/term.out" || fail "no exit event: $(cat "$HUB_DIR/term.out")"
  api POST "/api/v1/terminals/$tid/input" '{"Data": "x"}'
  expect_code 404 "input to an ended terminal"
  api POST "/api/v1/devices/$id/containers/term/terminal" '{"Rows": 0}'
  expect_code 400 "terminal with a bad size"
  api DELETE "/api/v1/devices/$id/containers/term?force=1"
}

# The hub's server threads are a small pool (src/hub/http.c): no request
# may hold one while it waits. Log streams of a quiet container wait
# without a thread (src/hub/sse.c), and calls to a device that accepts
# connections but never answers (its regd stopped with SIGSTOP) wait on
# threads of their own; the dashboard's list, a page of the UI and a
# login are answered while all of them still wait, and a stream still
# gets a line its container writes later.
t_hub_pool () {
  hub_setup || return
  hub_login admin "$HUB_ADMIN_PW"
  local id1 id3 k streams=() calls=() p
  id1=$(hub_dev_id 1)
  id3=$(hub_dev_id 3)
  api POST "/api/v1/devices/$id1/containers" \
    '{"Templates": ["base@1"], "Name": "quiet", "Cmd": ["/bin/sh", "-c", "echo first; sleep 4; echo later-line; exec sleep 1000"]}'
  expect_code 201 "run a quiet container"
  # Three streams and four calls: more than the pool's two threads, and
  # within what a regd takes from one address (8 TLS connections, of which
  # the hub's rounds keep up to 4).
  for k in 1 2 3; do
    curl -sk -N --max-time 30 -b "$HUB_JAR" \
      "$HUB_URL/api/v1/devices/$id1/containers/quiet/logs?follow=1" >"$HUB_DIR/stream$k" &
    streams+=($!)
  done
  local regd3
  regd3=$(cat "$HUB_DIR/dev3/regd.pid")
  kill -STOP "$regd3"
  for k in 1 2 3 4; do # one after the other: each would hold a thread of the pool
    curl -sk --max-time 30 -o /dev/null -b "$HUB_JAR" "$HUB_URL/api/v1/devices/$id3/containers" &
    calls+=($!)
    sleep 0.3
  done
  api GET /api/v1/devices
  expect_code 200 "the dashboard's list while streams and device calls wait"
  run_cmd curl -sk --max-time 10 -o /dev/null -w '%{http_code}' "$HUB_URL/"
  expect_out "200"
  hub_login_fresh admin "$HUB_ADMIN_PW"
  expect_code 200 "a login while streams and device calls wait"
  for p in "${calls[@]}" "${streams[@]}"; do
    kill -0 "$p" 2>/dev/null || fail "a call to the stopped device or a stream ended early (pid $p; calls ${calls[*]}, streams ${streams[*]})"
  done
  kill -CONT "$regd3"
  for p in "${calls[@]}"; do
    wait "$p" || fail "a call to device 3 failed after its regd went on"
  done
  for k in 1 2 3; do # each stream gets the line written after it began
    for _ in $(seq 100); do
      grep -q "$(printf 'later-line\n' | base64)" "$HUB_DIR/stream$k" && break
      sleep 0.1
    done
    grep -q "$(printf 'later-line\n' | base64)" "$HUB_DIR/stream$k" ||
      fail "stream $k lacks the later line: $(head -c 300 "$HUB_DIR/stream$k")"
  done
  kill "${streams[@]}" 2>/dev/null
  wait "${streams[@]}" 2>/dev/null
  api DELETE "/api/v1/devices/$id1/containers/quiet?force=1"
  expect_code 204 "remove the quiet container"
}

t_hub_viewer () {
  hub_setup || return
  hub_login admin "$HUB_ADMIN_PW"
  api POST /api/v1/users '{"Name": "viewer2", "Password": "viewer-pass-2", "Role": "viewer"}'
  local id3
  id3=$(hub_dev_id 3)
  api POST "/api/v1/devices/$(hub_dev_id 1)/containers" \
    '{"Templates": ["base@1"], "Name": "keep", "Cmd": ["/bin/sleep", "1000"]}'
  hub_login viewer2 viewer-pass-2
  api GET /api/v1/devices
  expect_body "[]" "a viewer's devices before it owns one"
  api GET "/api/v1/devices/$id3"
  expect_code 404 "another's device"
  hub_login admin "$HUB_ADMIN_PW"
  api PATCH "/api/v1/devices/$id3" '{"Owner": "viewer2"}'
  expect_code 200 "give dev3 to viewer2"
  hub_device_reg 3 run -d --name v -t base@1 -- /bin/sleep 1000 >/dev/null
  hub_login viewer2 viewer-pass-2
  api GET /api/v1/devices
  expect_eq "$(echo "$body" | jq -r '[.[].Name] | join(",")')" "dev3" "viewer2's devices"
  api GET "/api/v1/devices/$id3/containers"
  expect_code 200 "a viewer reads containers"
  api POST "/api/v1/devices/$id3/containers/v/stop"
  expect_code 403 "a viewer stops a container"
  expect_body_has "a viewer can change nothing"
  run_cmd hub_device_reg 3 ps
  expect_out_has "running"
  api DELETE "/api/v1/devices/$id3"
  expect_code 403 "a viewer removes a device"
  api POST /api/v1/devices "$(device_body x 1)"
  expect_code 403 "a viewer adds a device"
  api POST /api/v1/users '{"Name": "x1", "Password": "12345678"}'
  expect_code 403 "a viewer adds a user"
  hub_device_reg 3 rm -f v >/dev/null
  hub_login admin "$HUB_ADMIN_PW"
  api PATCH "/api/v1/devices/$id3" '{"Owner": "admin"}'
  hub_device_reg 1 rm -f keep >/dev/null
}

t_hub_throttle () {
  hub_setup || return
  local i
  for i in 1 2 3 4 5; do
    hub_login_fresh viewer1 wrong-password
    expect_code 401 "wrong password $i"
  done
  hub_login_fresh viewer1 wrong-password
  expect_code 429 "the sixth wrong password"
  expect_body_has "too many failed logins"
  # Even the right password waits now.
  hub_login_fresh viewer1 viewer-pass-1
  expect_code 429 "the right password while throttled"
  sleep 5
  hub_login_fresh viewer1 viewer-pass-1
  expect_code 200 "login after the wait"
}

t_hub_session_expiry_and_rehash () {
  hub_setup || return
  hub_stop
  # 5 s: the login hashes twice (the old figure, then 700,000 rounds), which
  # took most of 2 s under ASan on a loaded machine.
  hub_start --session-ttl 5s --pbkdf2-iterations 700000
  hub_login_fresh admin "$HUB_ADMIN_PW"
  expect_code 200 "login"
  api GET /api/v1/session
  expect_code 200 "fresh session"
  # The hash was raised to the hub's figure at this login.
  expect_eq "$(sqlite3 "$HUB_HOME/data/hub.db" "SELECT substr(hash, 1, 21) FROM users WHERE name = 'admin'")" \
    'pbkdf2-sha256$700000$' "admin's hash after a login"
  sleep 6
  api GET /api/v1/session
  expect_code 401 "an expired session"
  hub_stop
  # Nonsense options are refused.
  run_cmd "$HUB_BIN" --data "$HUB_HOME/data" --pbkdf2-iterations 1000
  expect_rc 2
  expect_err_has "--pbkdf2-iterations: 600000"
  run_cmd "$HUB_BIN" --data "$HUB_HOME/data" --web "$HUB_WEB" --probe-interval 1s --probe-timeout 2s
  expect_rc 2
  expect_err_has "shorter than --probe-interval"
  run_cmd "$HUB_BIN" --data "$HUB_HOME/data" --probe-interval soon
  expect_rc 2
  expect_err_has '"soon" is not a duration'
  hub_start
}

t_hub_more_routes () {
  hub_setup || return
  hub_login admin "$HUB_ADMIN_PW"
  local id tid
  id=$(hub_dev_id 1)
  api GET /api/v1/version
  expect_body_has '"ApiVersion":"1"'
  # The last liveness round.
  local i
  for i in $(seq 60); do
    api GET /api/v1/probe
    [ "$(echo "$body" | jq .Devices)" -ge 3 ] && break
    sleep 0.1
  done
  expect_code 200 "probe status"
  expect_body_has '"Interval":2'
  [ "$(echo "$body" | jq .Devices)" -ge 3 ] || fail "probe round of $(echo "$body" | jq .Devices) devices"
  [ "$(echo "$body" | jq .Online)" -ge 3 ] || fail "probe round: $body"
  api GET "/api/v1/devices/$id/df"
  expect_body_has '"Templates":'
  api POST "/api/v1/devices/$id/containers" \
    '{"Templates": ["base@1"], "Name": "more", "Cmd": ["/bin/sleep", "1000"]}'
  api GET "/api/v1/devices/$id/containers/more"
  expect_code 200 "inspect"
  expect_body_has '"Status":"running"'
  api GET "/api/v1/devices/$id/containers/more/top"
  expect_body_has '"Titles":'
  expect_body_has 'sleep'
  api GET "/api/v1/devices/$id/containers/nosuch"
  expect_code 404 "inspect an unknown container"
  # A terminal's size, and its output taken only once.
  api POST "/api/v1/devices/$id/containers/more/terminal" '{}'
  tid=$(echo "$body" | jq -r .Id)
  api POST "/api/v1/terminals/$tid/resize" '{"Rows": 40, "Cols": 120}'
  expect_code 204 "resize"
  api POST "/api/v1/terminals/$tid/resize" '{"Rows": 0, "Cols": 120}'
  expect_code 400 "resize to nothing"
  curl -sk -N --max-time 4 -b "$HUB_JAR" "$HUB_URL/api/v1/terminals/$tid/output" >/dev/null &
  local reader=$!
  sleep 1
  run_cmd curl -sk --max-time 5 -b "$HUB_JAR" "$HUB_URL/api/v1/terminals/$tid/output"
  expect_out_has "its output is taken"
  wait "$reader"
  api DELETE "/api/v1/devices/$id/containers/more?force=1"
  api GET /api/v1/users/admin
  expect_code 405 "GET one user"
  api DELETE /api/v1/users/nobody
  expect_code 404 "remove an unknown user"
  api GET /api/v1/nosuch
  expect_code 404 "an unknown route"
  # Log out: the session is gone, the cookie cleared.
  api POST /api/v1/logout
  expect_code 204 "logout"
  api GET /api/v1/session
  expect_code 401 "after logout"
}

t_hub_retention () {
  hub_setup || return
  hub_stop
  hub_start --retention 3s
  hub_login admin "$HUB_ADMIN_PW"
  local id
  id=$(hub_dev_id 1)
  sleep 8
  api GET "/api/v1/devices/$id/history?since=3600"
  [ "$(echo "$body" | jq length)" -ge 1 ] || fail "no samples: $body"
  local oldest now
  oldest=$(echo "$body" | jq '[.[].T] | min')
  now=$(date +%s)
  [ $((now - oldest)) -le 7 ] || fail "a sample $((now - oldest)) s old with --retention 3s"
  hub_stop
  hub_start
}

ALL="$ALL t_hub_regd_system t_hub_auth t_hub_tokens t_hub_devices t_hub_liveness t_hub_containers
  t_hub_terminal_api t_hub_pool t_hub_viewer t_hub_throttle t_hub_session_expiry_and_rehash t_hub_more_routes
  t_hub_retention"

hub_finish () {
  hub_stop
  local f
  for f in "$HUB_HOME/hub.log" "$HUB_DIR"/dev*/regd.log; do
    if [ -f "$f" ] && grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$f" >/dev/null; then
      echo "FAIL sanitizers reported errors in $f:" >&2
      cat "$f" >&2
      FAILED=$((FAILED + 1))
    fi
  done
  hub_net_down
}
FINISH="${FINISH:-} hub_finish"
# Chain onto the runner's cleanup: devices and the bridge go whatever happens.
eval "hub_orig_$(declare -f cleanup)"
cleanup () {
  hub_cleanup
  hub_orig_cleanup
}

# hub_browser_netns NS VETH ADDR: a namespace for a hub and Chromium, on
# the devices' bridge at ADDR, with IPv6 off. Chromium abandons page loads
# (ERR_NETWORK_CHANGED) when an address comes or changes in its namespace,
# and an IPv6 link-local address arrives, then turns from tentative,
# a while after the link is up (at load 40 well into the test).
hub_browser_netns () {
  local ns=$1 v=$2 addr=$3
  ip netns add "$ns" \
    && ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
    && ip link add "${v}h" type veth peer name "${v}d" \
    && ip link set "${v}d" netns "$ns" && ip link set "${v}h" master "$HUB_BR" up \
    && ip netns exec "$ns" ip link set lo up \
    && ip netns exec "$ns" ip addr add "$addr/24" dev "${v}d" \
    && ip netns exec "$ns" ip link set "${v}d" up \
    || { fail "cannot make the browser's namespace $ns"; return 1; }
}

# The browser scenarios (tests/hub/browser.py) against a hub of their own
# (fresh database) and the same three devices. HUB_SHOTS=DIR keeps the
# screenshots (docs/img when refreshing docs/hub.md). The hub and Chromium
# run in a network namespace of their own, on the devices' bridge: Chromium
# abandons page loads (ERR_NETWORK_CHANGED) whenever an interface comes or
# goes in its namespace, which other tests on the host do all the time.
t_hub_browser () {
  hub_setup || return
  local main_pid=$HUB_PID main_url=$HUB_URL main_home=$HUB_HOME
  local ns=rhn${HUB_RUN}b
  hub_browser_netns "$ns" "rhv${HUB_RUN}b" "$HUB_PREFIX.50" || return
  HUB_IN="nsenter --net=/run/netns/$ns"
  HUB_PID=
  HUB_HOME=$HUB_DIR/browser
  hub_start
  local shots=${HUB_SHOTS:-$HUB_HOME/shots} devices k
  mkdir -p "$shots"
  devices=$(for k in 1 2 3; do
    jq -nc --arg n "device-$k" --arg u "${HUB_DEV_URL[$k]}" --arg c "${HUB_DEV_CA[$k]}" \
      --arg t "${HUB_DEV_TOKEN[$k]}" '{Name: $n, Url: $u, CaFile: $c, Token: $t}'
  done | jq -sc .)
  export HUB_RUN_ID=$HUB_RUN HUB_NET_PREFIX=$HUB_PREFIX HUB_DIR REGD REG
  run_cmd env HUB_URL="$HUB_URL" HUB_ADMIN_PW="$HUB_ADMIN_PW" HUB_CTL="$HERE/../hub/ctl.sh" \
    HUB_DEVICES="$devices" HUB_SHOTS="$shots" HUB_PROBE_S=3 \
    timeout 300 $HUB_IN /usr/bin/python3 "$HERE/../hub/browser.py" main
  echo "$out" | sed 's/^/    /'
  [ "$rc" = 0 ] || fail "browser scenarios: $err
    $(for k in 1 2 3; do echo "device $k's regd:"; tail -n 15 "$HUB_DIR/dev$k/regd.log"; done)"
  hub_stop
  hub_start --session-ttl 3s
  run_cmd env HUB_URL="$HUB_URL" HUB_ADMIN_PW="$HUB_ADMIN_PW" HUB_CTL="$HERE/../hub/ctl.sh" \
    HUB_SHOTS="$shots" HUB_TTL_S=3 timeout 120 $HUB_IN /usr/bin/python3 "$HERE/../hub/browser.py" expiry
  echo "$out" | sed 's/^/    /'
  [ "$rc" = 0 ] || fail "browser expiry: $err"
  hub_stop
  if grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$HUB_HOME/hub.log" >/dev/null; then
    fail "sanitizers in the browser test's reg-hub: $(cat "$HUB_HOME/hub.log")"
  fi
  HUB_HOME=$main_home HUB_PID=$main_pid HUB_URL=$main_url HUB_IN=
  ip link del "rhv${HUB_RUN}bh" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
}
ALL="$ALL t_hub_browser"
