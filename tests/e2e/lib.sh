# Tiny assertion library for the end-to-end tests (sourced by run.sh).
# Each test is a shell function named t_*; a failed check prints what was
# expected and what came out, and marks the test failed without stopping the
# suite, so one run shows every failure.

FAILED=0
CURRENT=""

fail () {
  echo "  FAIL [$CURRENT]: $*" >&2
  FAILED=$((FAILED + 1))
  TEST_FAILED=1
}

# run_cmd CMD...: runs CMD, leaving $out, $err and $rc.
run_cmd () {
  local o e
  o=$(mktemp) e=$(mktemp)
  "$@" >"$o" 2>"$e"
  rc=$?
  out=$(cat "$o") err=$(cat "$e")
  rm -f "$o" "$e"
}

expect_rc () {
  [ "$rc" = "$1" ] || fail "expected exit $1, got $rc (stdout: ${out:0:300}) (stderr: ${err:0:300})"
}
expect_out () {
  [ "$out" = "$1" ] || fail "expected stdout '$1', got '${out:0:500}' (stderr: ${err:0:300})"
}
expect_out_has () {
  local shown
  # Long JSON (inspect): only the fields that tell what happened.
  shown=$(echo "$out" | grep -E '"(Name|Status|ExitCode|Error|MonitorPid)"' | tr -s ' ' | tr '\n' ' ')
  [ -n "$shown" ] || shown=${out:0:500}
  case "$out" in *"$1"*) ;; *) fail "stdout lacks '$1': '$shown' (stderr: ${err:0:300})" ;; esac
}
expect_err_has () {
  case "$err" in *"$1"*) ;; *) fail "stderr lacks '$1': '${err:0:500}'" ;; esac
}
expect_eq () {
  [ "$1" = "$2" ] || fail "${3:-values differ}: '$1' != '$2'"
}
expect_ne () {
  [ "$1" != "$2" ] || fail "${3:-values equal}: '$1'"
}

run_tests () {
  local t
  for t in "$@"; do
    CURRENT=$t
    TEST_FAILED=0
    local start=$SECONDS
    if declare -F "$t" >/dev/null; then
      "$t"
    else
      fail "no such test: $t"
    fi
    if [ "$TEST_FAILED" = 0 ]; then
      echo "ok   $t ($((SECONDS - start))s)"
    else
      echo "FAIL $t"
    fi
  done
}

# A private dockerd for tests that need Docker next to reg: in a network
# and mount namespace of its own, with its own paths (never the host's
# network, never /var/run/docker.sock). Sets DOCKER_DIR, DOCKER_PID (enter
# its network namespace with nsenter -t "$DOCKER_PID" -n) and DOCKER_SOCK
# (docker -H "unix://$DOCKER_SOCK"). Returns 1 (with its log) when it does
# not answer within 30 s.
docker_private_start () {
  DOCKER_DIR=$(mktemp -d /tmp/reg-docker.XXXXXX)
  DOCKER_SOCK=$DOCKER_DIR/docker.sock
  cat >"$DOCKER_DIR/start.sh" <<EOS
ip link set lo up
exec dockerd --host unix://$DOCKER_SOCK --data-root $DOCKER_DIR/data --exec-root $DOCKER_DIR/exec \
  --pidfile $DOCKER_DIR/docker.pid >$DOCKER_DIR/log 2>&1
EOS
  unshare -n -m --propagation private sh "$DOCKER_DIR/start.sh" &
  DOCKER_PID=$!
  local i
  for i in $(seq 300); do
    docker -H "unix://$DOCKER_SOCK" version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "private dockerd did not answer; its log:" >&2
  tail -20 "$DOCKER_DIR/log" >&2
  return 1
}

# Stop it; its namespaces, and everything in them, go with it.
docker_private_stop () {
  [ -n "${DOCKER_DIR:-}" ] || return 0
  kill -TERM "$DOCKER_PID" 2>/dev/null
  local i
  for i in $(seq 100); do
    kill -0 "$DOCKER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$DOCKER_PID" 2>/dev/null
  wait "$DOCKER_PID" 2>/dev/null
  rm -rf "$DOCKER_DIR"
  DOCKER_DIR= DOCKER_PID= DOCKER_SOCK=
}
