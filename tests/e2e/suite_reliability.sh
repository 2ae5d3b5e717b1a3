# Reliability (issue 13): operations racing each other, crashes of regd and
# of monitors, a full disk. Sourced by run.sh. Processes are found by a
# sleep length unique to this run, so other test runs on the machine do not
# count.

TAG=$((7000 + $$ % 1000))

# Host pids of processes running `sleep $1`.
sleepers () { pgrep -f "^/bin/sleep $1\$" | sort; }

# Every tracked live container's processes, from its cgroup (v1 pids, else v2).
tracked_pids () {
  local id dir fs=/sys/fs/cgroup/pids/reg
  [ -d "$fs" ] || fs=/sys/fs/cgroup/unified/reg
  for id in $("$REG" ps -q 2>/dev/null); do
    for dir in "$fs/$id"*; do cat "$dir/cgroup.procs" 2>/dev/null; done
  done | sort
}

# No process of `sleep $1` runs outside a container that ps lists.
expect_none_untracked () {
  local p untracked=""
  local tracked
  tracked=$(tracked_pids)
  for p in $(sleepers "$1"); do
    echo "$tracked" | grep -qx "$p" || untracked="$untracked $p"
  done
  expect_eq "$untracked" "" "untracked processes of sleep $1"
}

t_rm_races_start () {
  # The issue's repro, 8 rounds with different gaps: rm -f while start runs.
  local i gap rc_rm
  for i in 1 2 3 4 5 6 7 8; do
    "$REG" generate --name race$i -t base@1 -- /bin/sleep $TAG >/dev/null
    gap=$(( (i - 1) * 5 ))
    "$REG" start race$i >/dev/null 2>&1 &
    local starter=$!
    sleep "0.0$gap"
    run_cmd "$REG" rm -f race$i
    rc_rm=$rc
    wait $starter
    expect_eq "$rc_rm" 0 "rm -f race$i exit status ($err)"
    run_cmd "$REG" inspect race$i
    expect_rc 1
  done
  sleep 0.2
  expect_eq "$(sleepers $TAG)" "" "processes left by rm -f racing start"
  expect_none_untracked $TAG
}

t_concurrent_ops_clean () {
  # Many clients on one container: every answer is success or a clean 409/404,
  # never a 500 ("save state ... rename into place").
  local id i errs
  id=$("$REG" generate --name busy -t base@1 -- /bin/sleep $TAG)
  errs=$T/busy.err
  : >"$errs"
  local pids=""
  for i in $(seq 6); do
    (for _ in 1 2; do
       for op in start "stop -t 1" "kill" pause unpause "rm"; do
         "$REG" $op busy >/dev/null 2>>"$errs"
       done
     done) &
    pids="$pids $!"
  done
  wait $pids
  [ -s "$T/soak.hung" ] && fail "$(wc -l <"$T/soak.hung") client(s) hung in the soak"
  if grep -E "rename into place|No such file|HTTP 500|internal" "$errs" >/dev/null; then
    fail "500-class errors under concurrency: $(grep -E 'rename|No such|500|internal' "$errs" | head -3)"
  fi
  "$REG" rm -f busy >/dev/null 2>&1
  sleep 0.2
  expect_none_untracked $TAG
  expect_eq "$(sleepers $TAG)" "" "processes left after rm -f busy"
}

monitor_pid_of () { "$REG" inspect "$1" | sed -n 's/.*"MonitorPid": \([0-9]*\).*/\1/p' | head -1; }

t_monitor_killed () {
  # A killed reg-monitor: its container's processes are killed and it is
  # recorded as exited, with the reason; start and rm -f work after.
  local id mon cg
  id=$("$REG" run -d --name orphan -t base@1 -- /bin/sh -c "/bin/sleep $TAG & /bin/sleep $TAG")
  mon=$(monitor_pid_of orphan)
  [ -n "$mon" ] || { fail "no monitor pid"; return; }
  kill -KILL "$mon"
  sleep 0.2
  run_cmd "$REG" ps -a
  expect_out_has "orphan"
  expect_out_has "exited (-1)"
  run_cmd "$REG" inspect orphan
  expect_out_has "monitor (pid $mon) died"
  expect_out_has "processes it left were killed"
  expect_eq "$(sleepers $TAG)" "" "processes left by a killed monitor"
  cg=/sys/fs/cgroup/pids/reg/$id
  [ -d /sys/fs/cgroup/pids ] || cg=/sys/fs/cgroup/unified/reg/$id
  [ -e "$cg" ] && fail "cgroup $cg left behind"
  # stop and kill of the exited container: no processes to find
  run_cmd "$REG" start orphan
  expect_rc 0
  run_cmd "$REG" ps
  expect_out_has "orphan"
  run_cmd "$REG" rm -f orphan
  expect_rc 0
  expect_eq "$(sleepers $TAG)" "" "processes after rm -f"
}

t_restore_settles_crash_states () {
  # States a crash of regd leaves, made by hand (the crash matrix below makes
  # them by killing regd): generating, and a --rm container never started.
  local gen rmc keep
  gen=$("$REG" generate -t base@1 -- /bin/true)
  rmc=$("$REG" generate --rm -t base@1 -- /bin/true)
  keep=$("$REG" generate -t base@1 -- /bin/true)
  stop_regd
  sed -i 's/"Status": *"generated"/"Status":"generating"/; s/"Status":"generated"/"Status":"generating"/' \
    "$ROOT/containers/$gen/state.json"
  grep -q generating "$ROOT/containers/$gen/state.json" || fail "could not fake a generating state"
  # A half-removed container that cannot be removed (here: an immutable
  # file) is logged, and regd serves all the same.
  local stuck=$ROOT/containers/.removing-stuck immutable=0
  mkdir -p "$stuck/upper" && touch "$stuck/upper/f"
  chattr +i "$stuck/upper/f" 2>/dev/null && immutable=1
  start_regd
  if [ "$immutable" = 1 ]; then
    grep -q "clean up after an earlier crash: .*removing-stuck" "$T/regd.log" \
      || fail "the failed clean-up was not logged"
    chattr -i "$stuck/upper/f"
  fi
  rm -rf "$stuck"
  for _ in $(seq 50); do [ -d "$ROOT/containers/$gen" ] || break; sleep 0.1; done
  for _ in $(seq 50); do [ -d "$ROOT/containers/$rmc" ] || break; sleep 0.1; done
  [ -d "$ROOT/containers/$gen" ] && fail "a container stuck in generating survived regd's restart"
  [ -d "$ROOT/containers/$rmc" ] && fail "a --rm container created but never started survived regd's restart"
  [ -d "$ROOT/containers/$keep" ] || fail "a plain generated container was removed at restart"
  "$REG" rm "$keep" >/dev/null
}

t_install_crash () {
  # kill -9 regd in the middle of a live install: all or nothing.
  local id placeholders state
  id=$("$REG" run -d --name inst -t base@1 -- /bin/sleep $TAG)
  "$REG" install inst py@3.11 >/dev/null 2>&1 &
  local installer=$!
  sleep 0.25
  kill -KILL "$REGD_PID"
  wait "$REGD_PID" 2>/dev/null
  wait $installer
  REGD_PID=
  start_regd
  for _ in $(seq 100); do
    state=$("$REG" inspect inst 2>/dev/null | sed -n 's/.*"Status": "\([a-z]*\)".*/\1/p' | head -1)
    [ "$state" = running ] && break
    sleep 0.1
  done
  expect_eq "$state" "running" "state after an interrupted install"
  [ -e "$ROOT/containers/$id/install.json" ] && fail "install journal left behind"
  run_cmd "$REG" exec inst /bin/sh -c "[ -e $PY ] && echo present || echo absent"
  if [ "$out" = present ]; then
    run_cmd "$REG" exec inst "$PY" -c 'print(6*7)'
    expect_out "42"
  else
    expect_out "absent"
  fi
  # A restart brings the environment's files, and no placeholder hides one.
  "$REG" stop -t 1 inst >/dev/null
  "$REG" install inst py@3.11 >/dev/null 2>&1 # when it was rolled back
  run_cmd "$REG" start inst
  expect_rc 0
  placeholders=$(find "$ROOT/containers/$id/upper/usr" -type f -empty 2>/dev/null | head -3)
  expect_eq "$placeholders" "" "empty placeholders left in the upper layer"
  run_cmd "$REG" exec inst "$PY" -c 'print(6*7)'
  expect_out "42"
  "$REG" rm -f inst >/dev/null
}

t_full_disk () {
  # A root on a small tmpfs, filled by container A: B can still be stopped
  # and removed, A killed and removed, and ps lists them meanwhile.
  local mnt=$T/small sock=$T/small.sock pid a b
  mkdir -p "$mnt"
  mount -t tmpfs -o size=48m tmpfs "$mnt" || { fail "mount tmpfs"; return; }
  "$REGD" --root "$mnt/root" --socket "$sock" >>"$T/regd-small.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do REG_HOST=unix://$sock "$REG" version >/dev/null 2>&1 && break; sleep 0.05; done
  local R="env REG_HOST=unix://$sock $REG"
  $R template create small@1 /bin/sh /bin/sleep /usr/bin/head /bin/cat >/dev/null || fail "template in the small root"
  b=$($R run -d --name b -t small@1 -- /bin/sleep $TAG)
  a=$($R run -d --name a -t small@1 -- /bin/sh -c "/usr/bin/head -c 200000000 /dev/zero > /fill; /bin/sleep $TAG")
  for _ in $(seq 100); do
    [ "$(df --output=avail "$mnt" | tail -1)" -lt 200 ] && break
    sleep 0.1
  done
  run_cmd $R ps -a
  expect_rc 0
  expect_out_has " a"
  expect_out_has " b"
  run_cmd $R stop -t 1 b
  expect_rc 0
  run_cmd $R rm b
  expect_rc 0
  run_cmd $R inspect a
  expect_rc 0
  run_cmd $R rm -f a
  expect_rc 0
  run_cmd $R ps -a -q
  expect_out ""
  expect_eq "$(sleepers $TAG)" "" "processes left on the full disk"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null
  umount "$mnt"
}

t_storage_size () {
  # --storage-opt size: the writable layer on a tmpfs of that size, kept
  # from create to rm (across stop and start), gone with the container.
  local id before layer
  id=$("$REG" run -d --name sized --storage-opt size=8m -t base@1 -- /bin/sleep $TAG)
  layer=$ROOT/containers/$id/layer
  run_cmd "$REG" exec sized /bin/sh -c 'echo kept > /kept; /usr/bin/head -c 20000000 /dev/zero > /big; echo "rc=$?"; /usr/bin/wc -c < /big'
  expect_out_has "rc=1"
  expect_err_has "No space left on device"
  local written
  written=$(echo "$out" | tail -1)
  [ "${written:-99999999}" -le 8388608 ] || fail "wrote $written bytes past an 8 MiB writable layer"
  "$REG" exec sized /bin/sh -c 'echo > /big' >/dev/null
  "$REG" stop -t 1 sized >/dev/null
  "$REG" start sized >/dev/null
  run_cmd "$REG" exec sized /bin/cat /kept
  expect_out "kept"
  run_cmd "$REG" inspect sized
  expect_out_has '"StorageSize": 8388608'
  grep -q " $layer " /proc/self/mountinfo || fail "no tmpfs at $layer"
  "$REG" rm -f sized >/dev/null
  grep " $ROOT/containers/$id" /proc/self/mountinfo && fail "a mount of the removed container is left"
  [ -e "$ROOT/containers/$id" ] && fail "the removed container's directory is left"
  # Bad input: a clear error, nothing made.
  before=$(snapshot)
  run_cmd "$REG" run --rm --storage-opt size=lots -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "--storage-opt size=lots: not a size"
  run_cmd "$REG" run --rm --storage-opt quota=1 -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "--storage-opt quota: unknown option (size is the only one)"
  run_cmd "$REG" run --rm --storage-opt size=4k -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "at least 1 MiB"
  run_cmd "$REG" run --rm --storage-opt size -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "KEY=VALUE"
  expect_eq "$(snapshot)" "$before" "engine changed by bad --storage-opt"
}

t_name_not_an_id_prefix () {
  # A name that happens to be the prefix of another container's id is free
  # (as in Docker); it was refused as "already in use" by that container
  # (t_full_disk failed so, once in 16 runs: its container b's id began
  # with "a").
  local id first
  id=$("$REG" generate -t base@1 -- /bin/true)
  first=${id:0:1}
  run_cmd "$REG" generate --name "$first" -t base@1 -- /bin/true
  expect_rc 0
  run_cmd "$REG" inspect -f '{{.Name}}' "$first"
  expect_out "$first"
  "$REG" rm "$first" "$id" >/dev/null 2>&1 || { "$REG" rm "$first"; "$REG" rm "$id"; } >/dev/null 2>&1
}

# The engine's view and the host's agree: every process of `sleep $TAG`
# is in a listed container's cgroup, no cgroup is left for an id that ps
# does not list (ids from $1, a file of ids this test made), and no mount
# under the root belongs to a container that is not live.
expect_all_tracked () {
  local ids_file=$1 id short live cg left="" mounts
  expect_none_untracked $TAG
  live=$("$REG" ps -q)
  for id in $(sort -u "$ids_file"); do
    short=${id:0:12}
    echo "$live" | grep -qx "$short" && continue
    for cg in /sys/fs/cgroup/*/reg/$id /sys/fs/cgroup/unified/reg/$id; do
      [ -e "$cg" ] && left="$left $cg"
    done
  done
  expect_eq "$left" "" "cgroups of containers no longer listed"
  mounts=$(grep " $ROOT/containers/" /proc/self/mountinfo | awk '{print $5}' | while read -r m; do
    id=${m#$ROOT/containers/}; id=${id%%/*}
    echo "$live" | grep -qx "${id:0:12}" || echo "$m"
  done)
  expect_eq "$mounts" "" "mounts of containers no longer listed"
}

# Wait until regd's background restore has settled every container.
wait_settled () {
  local _
  for _ in $(seq 100); do
    grep -lE '"Status":"(generating|inserting)"' "$ROOT"/containers/*/state.json >/dev/null 2>&1 || return 0
    sleep 0.1
  done
  fail "containers still generating or inserting after regd's restart: $(grep -lE '"Status":"(generating|inserting)"' "$ROOT"/containers/*/state.json)"
}

t_soak () {
  # 20 clients for SOAK_SECONDS (30) of random operations on a few names.
  local secs=${SOAK_SECONDS:-30} ids=$T/soak.ids pids="" k
  : >"$ids"
  for k in $(seq 20); do
    (end=$((SECONDS + secs))
     while [ $SECONDS -lt $end ]; do
       n=soak$((RANDOM % 4))
       # A client that hangs is a finding: bounded, and reported.
       R="timeout 100 $REG"
       case $((RANDOM % 7)) in
         0) $R generate --name $n -t base@1 -- /bin/sleep $TAG >>"$ids" 2>/dev/null ;;
         1) $R start $n ;;
         2) $R stop -t 1 $n ;;
         3) $R rm -f $n ;;
         4) $R install $n py@3.11 ;;
         5) $R uninstall $n py@3.11 ;;
         6) $R run -d --rm -t base@1 -- /bin/sleep 0.$((RANDOM % 5)) >>"$ids" 2>/dev/null ;;
       esac >/dev/null 2>>"$T/soak.err"
       [ $? = 124 ] && echo "a client hung for 100 s" >>"$T/soak.hung"
     done) &
    pids="$pids $!"
  done
  wait $pids
  [ -s "$T/soak.hung" ] && fail "$(wc -l <"$T/soak.hung") client(s) hung in the soak"
  if grep -E "rename into place|HTTP 500|internal error" "$T/soak.err" >/dev/null; then
    fail "500-class errors in the soak: $(grep -E 'rename|500|internal' "$T/soak.err" | sort | uniq -c | head -3)"
  fi
  sleep 1 # the --rm containers' last seconds
  expect_all_tracked "$ids"
  for k in 0 1 2 3; do "$REG" rm -f soak$k >/dev/null 2>&1; done
  expect_all_tracked "$ids"
  expect_eq "$(sleepers $TAG)" "" "processes after the soak's clean-up"
}

# The cgroup directories of container $1 (v1 controllers and v2) that exist.
cgroups_of () {
  local d
  for d in /sys/fs/cgroup/*/reg/"$1" /sys/fs/cgroup/*/reg/"$1".monitor /sys/fs/cgroup/reg/"$1"; do
    [ -d "$d" ] && echo "$d"
  done
}

t_rm_tail_crash () {
  # A --rm container's cgroups go after its exit frame (docs/reliability.md):
  # a real one leaves none (with --cpus its monitor is in <id>.monitor);
  # a monitor that died after the rename left them, and regd's start
  # removes them; one that a process is still in (a monitor at work) stays.
  local id fs dead live sleeper
  id=$("$REG" run --rm -d --cpus 0.5 -t base@1 -- /bin/true)
  wait_removals "$ROOT"
  expect_eq "$(cgroups_of "$id")" "" "cgroups left by run --rm --cpus"
  fs=/sys/fs/cgroup/pids/reg
  [ -d "$fs" ] || fs=/sys/fs/cgroup/unified/reg
  dead=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
  live=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
  stop_regd
  mkdir -p "$ROOT/containers/.removing-$dead/upper" "$ROOT/containers/.removing-$live/upper"
  mkdir "$fs/$dead" "$fs/$live" || { fail "cannot make test cgroups in $fs"; return; }
  /bin/sleep $TAG &
  sleeper=$!
  echo "$sleeper" >"$fs/$live/cgroup.procs"
  start_regd
  expect_eq "$(cgroups_of "$dead")" "" "cgroups of a retired container after regd's start"
  [ -d "$fs/$live" ] || fail "a cgroup with a process in it was removed"
  [ -e "$ROOT/containers/.removing-$dead" ] && fail "retired container's files left"
  kill "$sleeper"
  wait "$sleeper" 2>/dev/null
  for _ in $(seq 50); do rmdir "$fs/$live" 2>/dev/null && break; sleep 0.05; done
  [ -d "$fs/$live" ] && fail "test cgroup $fs/$live could not be removed"
}

t_crash_matrix () {
  # kill -9 regd at a random point of create, run, install, pull and
  # template create, CRASH_ROUNDS (50) times; after each restart the store
  # verifies, no state is stuck, nothing is untracked.
  local rounds=${CRASH_ROUNDS:-50} i op job ids=$T/crash.ids lost=0
  : >"$ids"
  "$REG" template create pulled@1 /bin/cat /usr/bin/head >/dev/null
  "$REG" push --layout "$T/crash-layout" pulled@1 crash/pulled:1 >/dev/null || fail "push to a layout"
  "$REG" run -d --name crashbox -t base@1 -- /bin/sleep $TAG >>"$ids"
  for i in $(seq "$rounds"); do
    op=$((RANDOM % 6))
    case $op in
      0) "$REG" generate -t base@1 -- /bin/sleep $TAG >>"$ids" ;;
      1) "$REG" run -d -t base@1 -- /bin/sleep $TAG >>"$ids" ;;
      2) "$REG" run --rm -t base@1 -- /bin/true ;;
      3) "$REG" start crashbox; "$REG" uninstall crashbox py@3.11; "$REG" install crashbox py@3.11 ;;
      4) "$REG" template rm pulled@1; "$REG" pull --layout "$T/crash-layout" crash/pulled:1 ;;
      5) "$REG" template create crash$i@1 /usr/lib/python3.11/email /bin/ls ;;
    esac >/dev/null 2>&1 &
    job=$!
    sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
    kill -KILL "$REGD_PID"
    wait "$REGD_PID" 2>/dev/null
    wait "$job" 2>/dev/null
    REGD_PID=
    start_regd
    wait_settled
    run_cmd "$REG" store verify
    [ "$rc" = 0 ] || { fail "round $i (op $op): store verify: $out $err"; lost=$((lost + 1)); }
    expect_none_untracked $TAG
  done
  expect_all_tracked "$ids"
  "$REG" ps -a -q | xargs -r "$REG" rm -f >/dev/null 2>&1
  "$REG" template ls | awk '/^crash[0-9]*@1/ {print $1}' | xargs -r -n1 "$REG" template rm >/dev/null 2>&1
  "$REG" template rm pulled@1 >/dev/null 2>&1
  expect_eq "$(sleepers $TAG)" "" "processes after the crash matrix"
  echo "  crash matrix: $rounds rounds, $lost with a failed store verify"
}

ALL="$ALL t_rm_races_start t_concurrent_ops_clean t_monitor_killed t_restore_settles_crash_states
  t_install_crash t_full_disk t_storage_size t_name_not_an_id_prefix t_soak t_crash_matrix
  t_rm_tail_crash"
