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

ALL="$ALL t_debug_timing t_debug_timing_bad t_rm_lost_in_crash"
