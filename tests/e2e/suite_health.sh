# Health checks (issue 20, "Health in regd"): --health-cmd, --health-http,
# interval, timeout, retries, start period, State.Health, reg ps, events,
# a regd restart. Sourced by run.sh.

# Wait (at most 45 s: checks run late on a loaded machine) until the container's health status is $2.
wait_health () {
  local s="" end=$((SECONDS + 45))
  while [ $SECONDS -lt $end ]; do
    s=$("$REG" inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$1" 2>/dev/null)
    [ "$s" = "$2" ] && return 0
    sleep 0.1
  done
  fail "container $1: health '$s', never '$2'"
}

# Wait (at most ~15 s) until a check's recorded output has $2.
wait_health_output () {
  for _ in $(seq 150); do
    "$REG" inspect "$1" 2>/dev/null | grep -qF "$2" && return 0
    sleep 0.1
  done
  fail "container $1: no check output with '$2'"
}

health_field () { "$REG" inspect -f "{{.State.Health.$2}}" "$1"; }

t_health_cmd_healthy () {
  local id
  # Failing for about a second (retries enough to stay "starting"), then passing.
  id=$("$REG" run -d --name hc-ok --health-cmd 'echo alive; test -e /tmp/ready' \
    --health-interval 200ms --health-timeout 2s --health-retries 100 \
    -t base@1 -- /bin/sh -c '/bin/sleep 1; /bin/touch /tmp/ready; exec /bin/sleep 100')
  expect_eq "$?" 0 "run with --health-cmd"
  run_cmd "$REG" ps
  expect_out_has "(health: starting)"
  wait_health "$id" healthy
  run_cmd "$REG" ps --filter name=hc-ok
  expect_out_has "(healthy)"
  run_cmd "$REG" inspect "$id"
  expect_out_has '"Test": ['
  expect_out_has '"CMD-SHELL"'
  expect_out_has '"Interval": 200000000'
  expect_out_has '"FailingStreak": 0'
  expect_out_has '"Output": "alive\n"'
  # At most the last 5 results are kept: the log reaches 5 (a check takes
  # longer than its 200 ms interval on a loaded machine, so wait for it,
  # bounded) and stays at 5 while checks go on.
  local n=0 i
  for i in $(seq 100); do
    n=$("$REG" inspect -f '{{len .State.Health.Log}}' "$id")
    [ "$n" -ge 5 ] && break
    sleep 0.1
  done
  expect_eq "$n" 5 "results kept"
  sleep 1
  expect_eq "$("$REG" inspect -f '{{len .State.Health.Log}}' "$id")" 5 "results kept, checks going on"
  run_cmd "$REG" events --since 0 --until "$(($(date +%s) + 2))" --filter container=hc-ok
  expect_out_has "health_status: healthy"
  "$REG" rm -f "$id" >/dev/null
}

t_health_cmd_unhealthy () {
  local id
  id=$("$REG" run -d --health-cmd 'echo failing >&2; exit 3' --health-interval 100ms \
    --health-retries 3 -t base@1 -- /bin/sleep 100)
  wait_health "$id" unhealthy
  # (the exact count at the turn is in tests/unit/test_health.c; checks go on)
  [ "$(health_field "$id" FailingStreak)" -ge 3 ] || fail "unhealthy before 3 failures in a row"
  run_cmd "$REG" inspect "$id"
  expect_out_has '"ExitCode": 3'
  expect_out_has '"Output": "failing\n"'
  run_cmd "$REG" ps -a
  expect_out_has "(unhealthy)"
  run_cmd "$REG" events --since 0 --until "$(($(date +%s) + 2))" --filter container="$id"
  expect_out_has "health_status: unhealthy"
  # A failing check turns healthy again when it passes; a restart starts over.
  "$REG" stop -t 0 "$id" >/dev/null
  run_cmd "$REG" ps -a --filter id="$id"
  expect_out_has "exited"
  "$REG" rm -f "$id" >/dev/null
}

t_health_timeout () {
  local id start
  # The check hangs: killed at the timeout (with what it started), counted
  # as a failure (ExitCode -1).
  id=$("$REG" run -d --health-cmd '/bin/sleep 30; echo never' --health-interval 100ms \
    --health-timeout 300ms --health-retries 2 -t base@1 -- /bin/sleep 100)
  start=$SECONDS
  wait_health "$id" unhealthy
  # Uncut, two hanging checks would take 60 s; the bound is loose so that
  # a loaded machine (CI, parallel runs) does not fail it.
  [ $((SECONDS - start)) -lt 29 ] || fail "the hanging check was not cut at its timeout"
  run_cmd "$REG" inspect "$id"
  expect_out_has '"ExitCode": -1'
  expect_out_has 'Health check exceeded timeout (300 ms)'
  # Nothing of the killed checks is left in the container.
  # (one check may be running now; the timed-out ones are gone).
  local procs
  procs=$("$REG" exec "$id" /bin/sh -c 'for p in /proc/[0-9]*; do /bin/cat $p/cmdline; echo; done' | tr '\0' ' ')
  echo "$procs" | grep -q '^/bin/sleep 100' || fail "no process list from the container: $procs"
  [ "$(echo "$procs" | grep -c '^/bin/sleep 30')" -le 1 ] || fail "timed-out checks still run: $procs"
  "$REG" rm -f "$id" >/dev/null
}

t_health_start_period () {
  local id
  # Failures inside the start period do not count; after it, they do.
  # (5 s, of which 1.8 s are waited: a loaded machine's inspect took the
  # 0.7 s that a 2.5 s period left.)
  id=$("$REG" run -d --health-cmd 'exit 1' --health-interval 100ms --health-retries 1 \
    --health-start-period 5s -t base@1 -- /bin/sleep 100)
  sleep 1.8
  expect_eq "$(health_field "$id" Status)" starting "status inside the start period"
  expect_eq "$(health_field "$id" FailingStreak)" 0 "failures counted inside the start period"
  [ "$("$REG" inspect -f '{{len .State.Health.Log}}' "$id")" -ge 2 ] || fail "no checks ran in the start period"
  wait_health "$id" unhealthy
  "$REG" rm -f "$id" >/dev/null
  # A check that passes inside the start period makes it healthy at once.
  id=$("$REG" run -d --health-cmd 'true' --health-interval 100ms --health-start-period 60s \
    -t base@1 -- /bin/sleep 100)
  wait_health "$id" healthy
  "$REG" rm -f "$id" >/dev/null
}

t_health_start_interval () {
  local id
  # Checks every 100ms while starting in the start period: healthy long
  # before the hour-long interval's first check, which then paces the rest.
  id=$("$REG" run -d --health-cmd 'test -e /tmp/ready' --health-interval 1h --health-start-period 60s \
    --health-start-interval 100ms -t base@1 -- /bin/sh -c '/bin/sleep 0.5; /bin/touch /tmp/ready; exec /bin/sleep 100')
  expect_eq "$?" 0 "run with --health-start-interval"
  expect_eq "$("$REG" inspect -f '{{.Healthcheck.StartInterval}}' "$id")" 100000000 "StartInterval recorded"
  wait_health "$id" healthy
  local n
  n=$("$REG" inspect -f '{{len .State.Health.Log}}' "$id")
  [ "$n" -ge 2 ] || fail "$n checks: the failing ones before the file came should be there"
  sleep 0.5
  expect_eq "$("$REG" inspect -f '{{len .State.Health.Log}}' "$id")" "$n" "no more checks once healthy (the interval is an hour)"
  "$REG" rm -f "$id" >/dev/null
  run_cmd "$REG" run -d --health-cmd true --health-start-interval 5us -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "--health-start-interval: must be at least 1ms"
  run_cmd "$REG" run -d --health-cmd true --health-start-interval soon -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "--health-start-interval"
}

t_health_http () {
  local id srv
  # regd makes the GET inside the container's network namespace: on the
  # default bridge, without publishing the port, and with --network host.
  mkdir -p "$T/www" && echo ok >"$T/www/ok.html"
  id=$("$REG" run -d --network bridge -v "$T/www:/www:ro" -w /www \
    --health-http /ok.html:8000 --health-interval 200ms -t py@3.11 -- "$PY" -m http.server 8000)
  wait_health "$id" healthy
  run_cmd "$REG" inspect "$id"
  expect_out_has '"HTTP-GET"'
  expect_out_has 'HTTP 200'
  "$REG" rm -f "$id" >/dev/null
  # A TCP check: the connection is accepted, or refused (nothing listens on 8001).
  id=$("$REG" run -d --network bridge -v "$T/www:/www:ro" -w /www \
    --health-tcp 8000 --health-interval 200ms -t py@3.11 -- "$PY" -m http.server 8000)
  wait_health "$id" healthy
  run_cmd "$REG" inspect "$id"
  expect_out_has '"TCP-CONNECT"'
  expect_out_has 'connect 127.0.0.1:8000: accepted'
  "$REG" rm -f "$id" >/dev/null
  id=$("$REG" run -d --network bridge -v "$T/www:/www:ro" -w /www \
    --health-tcp 8001 --health-interval 200ms --health-retries 1 -t py@3.11 -- "$PY" -m http.server 8000)
  wait_health_output "$id" 'connect http://127.0.0.1:8001/'
  expect_eq "$(health_field "$id" Status)" unhealthy "status when nothing listens"
  "$REG" rm -f "$id" >/dev/null
  # A missing page (404) is a failure; so is a status other than the one asked for.
  id=$("$REG" run -d --network bridge -v "$T/www:/www:ro" -w /www \
    --health-http /missing:8000 --health-interval 200ms --health-retries 1 -t py@3.11 -- "$PY" -m http.server 8000)
  wait_health_output "$id" 'HTTP 404'
  expect_eq "$(health_field "$id" Status)" unhealthy "status after a 404"
  "$REG" rm -f "$id" >/dev/null
  local port=$(free_port)
  id=$("$REG" run -d --network host -v "$T/www:/www:ro" -w /www \
    --health-http "/ok.html:$port=204" --health-interval 200ms --health-retries 1 \
    -t py@3.11 -- "$PY" -m http.server --bind 127.0.0.1 "$port")
  wait_health_output "$id" 'HTTP 200 (want that status)'
  expect_eq "$(health_field "$id" Status)" unhealthy "status after another status than asked"
  "$REG" rm -f "$id" >/dev/null
}

t_health_regd_restart () {
  local id n
  id=$("$REG" run -d --health-cmd 'exit 1' --health-interval 200ms --health-retries 100 \
    -t base@1 -- /bin/sleep 100)
  for _ in $(seq 50); do
    [ "$(health_field "$id" FailingStreak)" -ge 2 ] && break
    sleep 0.1
  done
  stop_regd
  n=$(sed -n 's/.*"FailingStreak": *\([0-9]*\).*/\1/p' "$ROOT/containers/$id/state.json")
  [ -n "$n" ] && [ "$n" -ge 2 ] || fail "FailingStreak not in the state file: '$n'"
  sleep 0.5
  expect_eq "$(sed -n 's/.*"FailingStreak": *\([0-9]*\).*/\1/p' "$ROOT/containers/$id/state.json")" \
    "$n" "checks without regd"
  start_regd
  expect_eq "$(health_field "$id" Status)" starting "status after the restart"
  for _ in $(seq 50); do
    [ "$(health_field "$id" FailingStreak)" -ge $((n + 2)) ] && break
    sleep 0.1
  done
  [ "$(health_field "$id" FailingStreak)" -ge $((n + 2)) ] || fail "checks did not resume after a regd restart"
  "$REG" rm -f "$id" >/dev/null
}

t_health_bad_input () {
  local before
  before=$(snapshot)
  run_cmd "$REG" run -d --health-cmd true --health-interval 5parsecs -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has 'reg run: --health-interval: "5parsecs" is not a duration (want e.g. 500ms, 1s, 1m30s)'
  run_cmd "$REG" run -d --health-cmd true --health-timeout 10 -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has '--health-timeout: "10" is not a duration'
  run_cmd "$REG" generate --health-cmd true --health-retries -1 -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "reg generate: --health-retries: want a count 0-1000000"
  run_cmd "$REG" run -d --no-healthcheck --health-cmd true -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "--no-healthcheck: conflicts with the other --health-* options"
  run_cmd "$REG" run -d --health-interval 1s -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "give the check with --health-cmd, --health-http or --health-tcp"
  run_cmd "$REG" run -d --health-tcp 0 -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "--health-tcp: want a port 1-65535"
  run_cmd "$REG" run -d --health-http ok.html:80 -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "--health-http ok.html:80"
  run_cmd "$REG" run -d --health-http /ok:99999 -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "PORT 1-65535"
  # The API refuses what the CLI would not send.
  run_cmd curl -s --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' \
    -d '{"Templates":["base@1"],"Healthcheck":{"Test":["CMD-SHELL","true"],"Retries":-2}}' \
    http://regd/v1/containers
  expect_out_has "retries must not be negative"
  run_cmd curl -s --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' \
    -d '{"Templates":["base@1"],"Healthcheck":{"Test":["SOMETIMES","true"]}}' \
    http://regd/v1/containers
  expect_out_has 'test \"SOMETIMES\" is not CMD-SHELL, CMD, HTTP-GET, TCP-CONNECT or NONE'
  run_cmd curl -s --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' \
    -d '{"Templates":["base@1"],"Healthcheck":{"Test":["CMD","true"],"Every":1}}' \
    http://regd/v1/containers
  expect_out_has 'unknown field \"Healthcheck.Every\"'
  expect_eq "$(snapshot)" "$before" "state after refused health options"
  # --no-healthcheck alone: no check, no State.Health.
  local id
  id=$("$REG" generate --no-healthcheck -t base@1 -- /bin/true)
  run_cmd "$REG" inspect "$id"
  expect_out_has '"NONE"'
  case "$out" in *'"Health"'*) fail "State.Health without a check" ;; esac
  "$REG" rm -f "$id" >/dev/null
}

ALL="$ALL t_health_cmd_healthy t_health_cmd_unhealthy t_health_timeout t_health_start_period
  t_health_start_interval t_health_http t_health_regd_restart t_health_bad_input"
