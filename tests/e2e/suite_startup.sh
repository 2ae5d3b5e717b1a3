# Start-up (issue 15): regd --debug-timing records each phase of a start,
# for bench/phases.py. Sourced by run.sh. Timings are never asserted here:
# only that each phase is recorded, once, in the order a start takes.

t_debug_timing () {
  local log=$T/timing.log phases
  stop_regd
  start_regd --debug-timing "$log"
  run_cmd env REG_DEBUG_TIMING="$log" "$REG" run --rm -t base@1 -- /bin/true
  expect_rc 0
  # The monitor records monitor.done after it removed the --rm container's
  # files, which may be just after the client has returned.
  local _
  for _ in $(seq 50); do
    grep -q " monitor.done$" "$log" && break
    sleep 0.1
  done
  phases=$(awk '{print $4}' "$log" | tr '\n' ' ')
  local p
  for p in client.main client.create regd.create regd.created client.created regd.start \
    regd.monitor.spawn monitor.main monitor.cgroups child.start child.exec monitor.running \
    monitor.exited monitor.exit.sent monitor.done client.stream.ended; do
    case " $phases" in *" $p "*) ;; *) fail "debug timing lacks phase $p: $phases" ;; esac
  done
  # Each line: monotonic nanoseconds, pid, container id (or -), phase.
  awk 'NF != 4 || $1 !~ /^[0-9]+$/ || $2 !~ /^[0-9]+$/ { bad = 1 } END { exit bad }' "$log" \
    || fail "malformed debug timing lines: $(head -3 "$log")"
  # In the order of a start: the create before the monitor, the exec before the exit.
  expect_eq "$(awk '$4 == "regd.created" || $4 == "monitor.main" || $4 == "child.exec" || $4 == "monitor.exited" { print $4 }' "$log" | tr '\n' ' ')" \
    "regd.created monitor.main child.exec monitor.exited " "order of the recorded phases"
  stop_regd
  start_regd
  # Without the option nothing is recorded, even with the variable set.
  : >"$log"
  run_cmd env REG_DEBUG_TIMING="$log" "$REG" run --rm -t base@1 -- /bin/true
  expect_eq "$(awk '$4 !~ /^client\./' "$log" | wc -l)" 0 "engine lines without --debug-timing"
}

t_debug_timing_bad () {
  run_cmd timeout 10 "$REGD" --root "$T/other" --socket "$T/other.sock" --debug-timing "$T/no/such/dir/t.log"
  expect_rc 2
  expect_err_has "--debug-timing $T/no/such/dir/t.log: cannot write it"
  [ -e "$T/other.sock" ] && fail "a refused regd left its socket"
  return 0
}

# A --rm container whose end was never seen (its monitor killed with regd,
# as in a host crash) is removed when regd starts again: its state is not
# synced, and nothing needs it.
t_rm_lost_in_crash () {
  local id mon pid
  id=$("$REG" run -d --rm --name lostrm -t base@1 -- /bin/sleep 1000)
  mon=$(sed -n 's/.*"MonitorPid": *\([0-9]*\).*/\1/p' "$ROOT/containers/$id/state.json")
  pid=$(sed -n 's/.*"Pid": *\([0-9]*\).*/\1/p' "$ROOT/containers/$id/state.json")
  [ -n "$mon" ] && [ -n "$pid" ] || { fail "no monitor or pid in the state of $id"; return; }
  kill -KILL "$REGD_PID" "$mon" "$pid"
  wait "$REGD_PID" 2>/dev/null
  REGD_PID=
  start_regd
  run_cmd "$REG" ps -a
  expect_rc 0
  case "$out" in *lostrm*) fail "the lost --rm container is still listed: $out" ;; esac
  [ -e "$ROOT/containers/$id" ] && fail "the lost --rm container's directory is left"
  [ -e "$ROOT/containers/.names/lostrm" ] && fail "the lost --rm container's name is still taken"
  return 0
}

# The spare monitor (monitor.h): regd keeps one reg-monitor waiting, hands
# the next container to it, and starts another; a dead spare is replaced by
# a spawn; a regd that ends (killed too) takes its spare with it, and no
# container comes from a spare regd did not hand one.
spare_of () { pgrep -f "^reg-monitor --spare $1 [.]{64} -\$"; }
wait_spare () {
  local _ p
  for _ in $(seq 100); do
    p=$(spare_of "$ROOT")
    [ -n "$p" ] && [ "$p" != "${1:-}" ] && { echo "$p"; return; }
    sleep 0.05
  done
}
t_monitor_spare () {
  local before sp sp2 id mon _
  before=$(ids)
  run_cmd "$REG" run --rm -t base@1 -- /bin/true
  expect_rc 0
  sp=$(wait_spare)
  [ -n "$sp" ] || { fail "no spare monitor after a start"; return; }
  expect_eq "$(echo "$sp" | wc -l)" 1 "spare monitors of one regd"
  # On cgroup v1 it made the cgroups ahead (cgroup.h), which the next
  # container takes under its own name, limits applied.
  local cg=/sys/fs/cgroup/pids/reg
  [ -d /sys/fs/cgroup/pids ] || cg=
  if [ -n "$cg" ]; then
    for _ in $(seq 100); do [ -d "$cg/spare-$sp" ] && break; sleep 0.05; done
    [ -d "$cg/spare-$sp" ] || fail "the spare made no cgroups ahead"
  fi
  # The next container's monitor is that very process; another spare follows.
  id=$("$REG" run -d -t base@1 -- /bin/sleep 1000)
  mon=$(monitor_pid_of "$id")
  expect_eq "$mon" "$sp" "the monitor of the next container"
  expect_eq "$(tr '\0' ' ' </proc/"$mon"/cmdline)" "reg-monitor --spare $ROOT $id 0 " \
    "the command line of a spare that became a monitor"
  if [ -n "$cg" ]; then
    [ -d "$cg/spare-$sp" ] && fail "the cgroups made ahead stayed under the spare's name"
    expect_eq "$(cat "$cg/$id/pids.max")" "512" "the pids limit in cgroups taken from the spare"
    local p
    p=$(head -1 "$cg/$id/cgroup.procs")
    expect_eq "$(tr '\0' ' ' </proc/"${p:-0}"/cmdline 2>/dev/null)" "/bin/sleep 1000 " \
      "the process in the cgroup taken from the spare"
  fi
  sp2=$(wait_spare "$sp")
  [ -n "$sp2" ] || fail "no new spare after the first was used"
  # A dead spare: the start spawns its monitor as before; its cgroups stay
  # until regd's next start.
  if [ -n "$cg" ]; then
    for _ in $(seq 100); do [ -d "$cg/spare-$sp2" ] && break; sleep 0.05; done
  fi
  kill -KILL "$sp2"
  # Until it is dead (gone, or a zombie: its socket is closed by then). A
  # start that reached it while SIGKILL was still on its way would hand it
  # the container and fail ("monitor died before starting it"), which is
  # not what this checks.
  for _ in $(seq 100); do
    grep -qs '^State:.*[^Z] (' /proc/"$sp2"/status || break
    sleep 0.05
  done
  run_cmd "$REG" run --rm -t base@1 -- /bin/sh -c 'echo spawned; exit 5'
  expect_rc 5
  expect_out_has spawned
  sp=$(wait_spare "$sp2")
  [ -n "$sp" ] || fail "no spare after a dead one"
  # regd killed: its spare exits; the running container and its monitor stay.
  kill -KILL "$REGD_PID"
  wait "$REGD_PID" 2>/dev/null
  REGD_PID=
  for _ in $(seq 100); do
    kill -0 "$sp" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$sp" 2>/dev/null && fail "the spare outlived its regd"
  kill -0 "$mon" 2>/dev/null || fail "a container's monitor died with regd"
  if [ -n "$cg" ]; then
    [ -d "$cg/spare-$sp" ] && fail "a spare that exited left its cgroups"
    [ -d "$cg/spare-$sp2" ] || fail "no cgroups of the killed spare to sweep (test premise)"
  fi
  start_regd
  if [ -n "$cg" ]; then
    [ -d "$cg/spare-$sp2" ] && fail "regd's start left a killed spare's cgroups"
  fi
  run_cmd "$REG" ps
  expect_out_has "${id:0:12}"
  run_cmd "$REG" rm -f "$id"
  expect_rc 0
  expect_eq "$(ids)" "$before" "containers after the spare's test"
}

# reg run in one request (POST /v1/containers?start=1[&attach=1], docs/api.md):
# the stream starts with the id frame (stream 4, 64 bytes); -d gets {Id};
# bad requests are refused with nothing left; a --rm container whose start
# failed is removed by regd; one without --rm stays, stopped, as with two
# requests.
t_run_one_request () {
  local before snap body id code
  before=$(ids)
  "$REG" run --rm -t base@1 -- /bin/true # its environment, made once
  snap=$(snapshot)
  body='{"Templates":["base@1"],"Cmd":["/bin/sh","-c","echo one; exit 6"],"AutoRemove":true}'
  curl -s --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' -d "$body" \
    -o "$T/run1.out" "http://regd/v1/containers?start=1&attach=1"
  "$PY" - "$T/run1.out" <<'PY' || fail "the stream of run in one request: $(od -c "$T/run1.out" | head -5)"
import struct, sys
b = open(sys.argv[1], "rb").read()
frames = []
while b:
    kind, n = b[0], struct.unpack(">I", b[4:8])[0]
    frames.append((kind, b[8:8 + n]))
    b = b[8 + n:]
assert frames[0][0] == 4 and len(frames[0][1]) == 64, frames[:1]
assert (1, b"one\n") in frames, frames
assert frames[-1] == (3, struct.pack(">i", 6)), frames[-1]
PY
  # -d: 201 {Id}, running.
  body='{"Templates":["base@1"],"Cmd":["/bin/sleep","1000"]}'
  run_cmd curl -s --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' -d "$body" \
    -w ' %{http_code}' "http://regd/v1/containers?start=1"
  expect_out_has ' 201'
  id=$(echo "$out" | sed -n 's/.*"Id": *"\([0-9a-f]*\)".*/\1/p')
  expect_eq "$("$REG" inspect -f '{{.State.Status}}' "$id" 2>/dev/null)" running "state after run -d in one request"
  "$REG" rm -f "$id" >/dev/null
  # attach=1 without start=1 is not a create option.
  code=$(curl -s -o "$T/run2.out" -w '%{http_code}' --unix-socket "$SOCK" -X POST \
    -H 'Content-Type: application/json' -d "$body" "http://regd/v1/containers?attach=1")
  expect_eq "$code" 400 "create with attach=1 alone"
  grep -q "attach=1 needs start=1" "$T/run2.out" || fail "attach=1 alone: $(cat "$T/run2.out")"
  # A bad body: the create's own error.
  code=$(curl -s -o "$T/run3.out" -w '%{http_code}' --unix-socket "$SOCK" -X POST \
    -H 'Content-Type: application/json' -d '{"Templates":["no-such@1"]}' "http://regd/v1/containers?start=1&attach=1")
  expect_eq "$code" 404 "run in one request of a missing template"
  grep -q "no-such@1" "$T/run3.out" || fail "missing template: $(cat "$T/run3.out")"
  # Start failures through the client: --rm leaves nothing, without it the
  # container stays, exited with 127.
  run_cmd "$REG" run --rm -t base@1 -- /no/such
  expect_rc 127
  expect_err_has "/no/such"
  expect_eq "$(snapshot)" "$snap" "root after runs that failed or were removed"
  run_cmd "$REG" run --name keepfail -t base@1 -- /no/such
  expect_rc 127
  expect_eq "$("$REG" inspect -f '{{.State.ExitCode}}' keepfail 2>/dev/null)" 127 "exit code of a failed run kept"
  "$REG" rm keepfail >/dev/null
  expect_eq "$(ids)" "$before" "containers after the one-request runs"
}

t_rm_volatile () {
  # A --rm container's overlay is volatile (its unmount does not sync the
  # host's filesystem: the upper layer is thrown away); any other's is not.
  local id root
  run_cmd "$REG" run --rm -t base@1 -- /bin/cat /proc/self/mountinfo
  expect_rc 0
  root=$(echo "$out" | grep " / / ")
  case "$root" in *overlay*volatile*) ;; *) fail "the root of a --rm container: $root" ;; esac
  id=$("$REG" run -d -t base@1 -- /bin/cat /proc/self/mountinfo)
  "$REG" wait "$id" >/dev/null 2>&1
  run_cmd "$REG" logs "$id"
  root=$(echo "$out" | grep " / / ")
  case "$root" in *overlay*) ;; *) fail "the root of a container: $root" ;; esac
  case "$root" in *volatile*) fail "a container without --rm has a volatile upper layer" ;; esac
  "$REG" rm -f "$id" >/dev/null
}

ALL="$ALL t_debug_timing t_debug_timing_bad t_rm_lost_in_crash t_monitor_spare t_run_one_request
  t_rm_volatile"
