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
# free_port: a TCP port in 20000..39999 that nothing listens on now (other
# test runs and helpers share this machine's ports; a port taken by them
# made a test talk to someone else's server). Still a choice, not a
# reservation: whoever binds it must check that it did.
free_port () {
  local p i
  for i in $(seq 50); do
    p=$((20000 + RANDOM % 20000))
    [ -z "$(ss -Htan "sport = :$p")" ] && { echo "$p"; return 0; }
  done
  echo "$p"
}

# wait_inspect NAME SECONDS REGEX...: poll `reg inspect NAME` until its
# output matches every extended REGEX; $out holds the last output. Returns
# 1 when it never did: for states a loaded machine reaches late (a
# restart, a reconciliation), never a fixed sleep.
wait_inspect () {
  local name=$1 secs=$2 i r ok
  shift 2
  for i in $(seq $((secs * 10))); do
    out=$("$REG" inspect "$name" 2>&1)
    ok=1
    for r in "$@"; do echo "$out" | grep -Eq "$r" || { ok=0; break; }; done
    [ $ok = 1 ] && return 0
    sleep 0.1
  done
  return 1
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

# A Docker engine of this test run only (HELPERS: never the host's): dockerd
# in its own network and mount namespaces with its own socket, data and
# exec roots, no bridge and no iptables rules (containers run with
# --network none), unless dockerd options are given (they replace
# "--bridge none --iptables=false --ip6tables=false": "" for Docker's
# defaults, its bridge and iptables rules, as on a Docker host). Sets
# DOCKER_DIR and DOCKER_NETNS_PID (dockerd's pid, for
# nsenter -n); `dock ARGS` is its client. docker_private_stop ends it and
# removes everything; suites call it from their cleanup.
docker_private_start () {
  [ -n "${DOCKER_DIR:-}" ] && return 0
  command -v dockerd >/dev/null || { fail "dockerd not installed (scripts/deps.sh --test)"; return 1; }
  DOCKER_DIR=$(mktemp -d /tmp/reg-dockerd.XXXXXX)
  cat >"$DOCKER_DIR/start.sh" <<EOS
ip link set lo up
exec dockerd --host unix://$DOCKER_DIR/docker.sock --data-root $DOCKER_DIR/data \
  --exec-root $DOCKER_DIR/exec --pidfile $DOCKER_DIR/docker.pid \
  ${1---bridge none --iptables=false --ip6tables=false} >$DOCKER_DIR/log 2>&1
EOS
  unshare -n -m --propagation private sh "$DOCKER_DIR/start.sh" &
  DOCKER_UNSHARE_PID=$!
  local _
  for _ in $(seq 150); do
    if [ -s "$DOCKER_DIR/docker.pid" ] && dock version >/dev/null 2>&1; then
      DOCKER_NETNS_PID=$(cat "$DOCKER_DIR/docker.pid")
      return 0
    fi
    sleep 0.2
  done
  fail "private dockerd did not answer in 30 s: $(tail -5 "$DOCKER_DIR/log")"
  docker_private_stop
  return 1
}

dock () { docker -H "unix://$DOCKER_DIR/docker.sock" "$@"; }

docker_private_stop () {
  [ -n "${DOCKER_DIR:-}" ] || return 0
  [ -n "${DOCKER_UNSHARE_PID:-}" ] && { kill -TERM "$DOCKER_UNSHARE_PID" 2>/dev/null; wait "$DOCKER_UNSHARE_PID" 2>/dev/null; }
  rm -rf "$DOCKER_DIR"
  DOCKER_DIR= DOCKER_UNSHARE_PID= DOCKER_NETNS_PID=
}
