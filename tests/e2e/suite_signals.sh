# Signals and PID 1, stop signals and timeouts, --init, sig-proxy, --ulimit,
# attach, and the lifecycle's rough edges (issue 21). Sourced by run.sh.

# The container's first value of a /proc/self/status field.
status_field () { echo "$1" | sed -n "s/^$2:[[:space:]]*//p" | head -1; }

t_signals_default () {
  # Nothing ignored, nothing blocked: neither what started regd (a shell's
  # `&` ignores SIGINT and SIGQUIT) nor the monitor's SIGPIPE leaks in.
  run_cmd "$REG" run --rm -t base@1 -- /bin/cat /proc/self/status
  expect_rc 0
  expect_eq "$(status_field "$out" SigIgn)" 0000000000000000 "SigIgn of a container's process"
  expect_eq "$(status_field "$out" SigBlk)" 0000000000000000 "SigBlk of a container's process"
  # The same under a terminal and for reg exec.
  run_cmd script -qec "'$REG' run --rm --tty -t base@1 -- /bin/cat /proc/self/status" /dev/null
  expect_eq "$(status_field "$out" SigIgn | tr -d '\r')" 0000000000000000 "SigIgn with --tty"
  local id
  id=$("$REG" run -d -t base@1 -- /bin/sleep 100)
  run_cmd "$REG" exec "$id" /bin/cat /proc/self/status
  expect_eq "$(status_field "$out" SigIgn)" 0000000000000000 "SigIgn of reg exec"
  expect_eq "$(status_field "$out" SigBlk)" 0000000000000000 "SigBlk of reg exec"
  # So SIGPIPE ends a writer whose reader has gone, as on the host
  # (128+13), rather than an EPIPE error.
  run_cmd timeout 20 "$REG" exec "$id" /bin/sh -c '(/bin/cat /dev/zero; echo "cat $?" >&2) | /usr/bin/head -c 1 >/dev/null'
  expect_err_has "cat 141"
  "$REG" rm -f "$id" >/dev/null
}

# Wait until the container's log has a line (its traps are set).
wait_log () {
  for _ in $(seq 200); do "$REG" logs "$1" 2>/dev/null | grep -q "$2" && return 0; sleep 0.05; done
  fail "container $1 never logged '$2'"
}

t_stop_signal_timeout () {
  local id
  # --stop-signal: reg stop sends it first.
  id=$("$REG" run -d --stop-signal SIGUSR1 -t base@1 -- /bin/sh -c 'trap "exit 10" USR1; echo ready; sleep 1000 & wait')
  wait_log "$id" ready
  run_cmd "$REG" stop "$id"
  expect_rc 0
  run_cmd "$REG" inspect "$id"
  expect_out_has '"ExitCode": 10'
  expect_out_has '"StopSignal": "SIGUSR1"'
  "$REG" rm "$id" >/dev/null
  # --stop-timeout: a program that takes 3 s to stop is killed after 1 s;
  # reg stop -t gives it the time it needs.
  local slow='trap "sleep 3; exit 7" TERM; echo ready; sleep 1000 & wait'
  id=$("$REG" run -d --stop-timeout 1 -t base@1 -- /bin/sh -c "$slow")
  wait_log "$id" ready
  "$REG" stop "$id" >/dev/null
  run_cmd "$REG" inspect "$id"
  expect_out_has '"ExitCode": 137'
  expect_out_has '"StopTimeout": 1'
  "$REG" start "$id" >/dev/null
  sleep 0.3
  "$REG" stop -t 8 "$id" >/dev/null
  run_cmd "$REG" inspect "$id"
  expect_out_has '"ExitCode": 7'
  "$REG" rm "$id" >/dev/null
  # A template's stop signal, kept in its RET file; --stop-signal wins.
  run_cmd "$REG" template create stopsig@1 /bin/sh /bin/sleep --stop-signal SIGQUIT --entrypoint /bin/sh
  expect_rc 0
  run_cmd "$REG" template inspect stopsig@1
  expect_out_has "stop-signal: SIGQUIT"
  id=$("$REG" generate -t stopsig@1 -- /bin/sh -c 'trap "exit 11" QUIT; echo ready; sleep 1000 & wait')
  run_cmd "$REG" inspect "$id"
  expect_out_has '"StopSignal": "SIGQUIT"'
  "$REG" start "$id" >/dev/null
  wait_log "$id" ready
  "$REG" stop "$id" >/dev/null
  run_cmd "$REG" inspect "$id"
  expect_out_has '"ExitCode": 11'
  "$REG" rm "$id" >/dev/null
  id=$("$REG" generate --stop-signal 1 -t stopsig@1 -- /bin/true)
  run_cmd "$REG" inspect "$id"
  expect_out_has '"StopSignal": "SIGHUP"'
  "$REG" rm "$id" >/dev/null
  "$REG" template rm stopsig@1 >/dev/null
}

t_stop_signal_bad () {
  local before
  before=$(snapshot)
  run_cmd "$REG" run --rm --stop-signal SIGNOPE -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has 'unknown signal for --stop-signal'
  expect_err_has SIGNOPE
  run_cmd "$REG" generate --stop-timeout soon -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "--stop-timeout"
  # The API checks too (a client that is not reg).
  run_cmd curl -s --unix-socket "$SOCK" -X POST -d '{"Templates":["base@1"],"StopSignal":"SIGNOPE"}' http://regd/v1/containers
  expect_out_has 'stop signal \"SIGNOPE\" is not a signal'
  run_cmd curl -s --unix-socket "$SOCK" -X POST -d '{"Templates":["base@1"],"StopTimeout":-5}' http://regd/v1/containers
  expect_out_has 'StopTimeout must be 0-86400 seconds'
  run_cmd "$REG" template create badsig@1 /bin/true --stop-signal SIGNOPE
  expect_rc 1
  expect_err_has 'template badsig@1: stop signal "SIGNOPE" is not a signal'
  bad_ret bad-stop-signal 'template bad@1: "stop-signal": "NOPE" is not a signal' 'name: bad
version: "1"
stop-signal: NOPE'
  bad_ret list-stop-signal 'template bad@1: "stop-signal" must be a signal name' 'name: bad
version: "1"
stop-signal: [TERM]'
  expect_eq "$(snapshot)" "$before" "bad stop signals changed the engine"
}

t_init () {
  local id
  # PID 1 is reg-init; the command is its child.
  run_cmd "$REG" run --rm --init -t base@1 -- /bin/sh -c 'read -r pid comm rest </proc/1/stat; echo $comm'
  expect_rc 0
  expect_out "(.reg-init)"
  # reg stop of sleep: SIGTERM reaches it through reg-init, 128+15.
  id=$("$REG" run -d --init -t base@1 -- /bin/sleep 1000)
  local t0=$SECONDS
  run_cmd "$REG" stop "$id"
  expect_rc 0
  echo "    (reg stop of sleep with --init: $((SECONDS - t0)) s)"
  run_cmd "$REG" ps -a
  expect_out_has "exited (143)"
  "$REG" rm "$id" >/dev/null
  # Signals are forwarded: reg kill -s USR1 reaches the command.
  id=$("$REG" run -d --init -t base@1 -- /bin/sh -c 'trap "exit 5" USR1; echo ready; sleep 1000 & wait')
  wait_log "$id" ready
  "$REG" kill -s USR1 "$id" >/dev/null
  run_cmd "$REG" wait "$id"
  expect_out 5
  "$REG" rm "$id" >/dev/null
  # Orphans are reaped: a grandchild that outlives its parent ends as a
  # child of PID 1, and reg-init collects it (no zombie left).
  local states='for f in /proc/[0-9]*/stat; do read -r pid comm state rest <"$f"; echo "$comm $state"; done'
  run_cmd "$REG" run --rm --init -t base@1 -- /bin/sh -c "/bin/sh -c '/bin/sleep 0.2 & exit 0'; /bin/sleep 1; $states"
  expect_rc 0
  case "$out" in *" Z"*) fail "a zombie is left under --init: $out" ;; esac
  expect_out_has "(.reg-init) S"
  # A command that does not exist: reg-init says so, exit 127.
  run_cmd "$REG" run --rm --init -t base@1 -- /no/such/cmd
  expect_rc 127
  expect_err_has "reg-init: exec /no/such/cmd: No such file or directory"
}

t_sig_proxy () {
  # Ctrl-C (SIGINT to a foreground reg run) goes to the container.
  "$REG" run --name proxied -t base@1 -- /bin/sh -c 'trap "exit 3" INT; echo ready; sleep 1000 & wait' >"$T/proxy.out" 2>&1 &
  local pid=$!
  wait_log proxied ready
  kill -INT "$pid"
  wait "$pid"
  expect_eq "$?" 3 "exit status of reg run after SIGINT"
  run_cmd "$REG" inspect proxied
  expect_out_has '"Status": "stopped"'
  "$REG" rm proxied >/dev/null
  # Python (PID 1, its own SIGINT handler) gets KeyboardInterrupt: it used
  # to start with SIGINT ignored, and then installs no handler at all.
  "$REG" run --name pyint -t py@3.11 -- "$PY" -c 'import time; print("ready", flush=True); time.sleep(100)' >"$T/pyint.out" 2>&1 &
  pid=$!
  wait_log pyint ready
  kill -INT "$pid"
  wait "$pid"
  expect_eq "$?" 130 "exit status of python after Ctrl-C"
  grep -q KeyboardInterrupt "$T/pyint.out" || fail "no KeyboardInterrupt from python: $(cat "$T/pyint.out")"
  "$REG" rm pyint >/dev/null
  # SIGTERM to a foreground --init sleep: the container ends, 143.
  "$REG" run --rm --name proxied2 --init -t base@1 -- /bin/sleep 1000 >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 200); do "$REG" ps | grep -q proxied2 && break; sleep 0.05; done
  kill -TERM "$pid"
  wait "$pid"
  expect_eq "$?" 143 "exit status of reg run --init after SIGTERM"
  # --sig-proxy=false: the signal ends only the client; the container runs on.
  "$REG" run --sig-proxy=false --name noproxy -t base@1 -- /bin/sh -c 'trap "exit 3" TERM; echo ready; sleep 1000 & wait' >/dev/null 2>&1 &
  pid=$!
  wait_log noproxy ready
  kill -TERM "$pid"
  wait "$pid"
  expect_eq "$?" 143 "exit status of reg run --sig-proxy=false after SIGTERM"
  run_cmd "$REG" inspect noproxy
  expect_out_has '"Status": "running"'
  "$REG" rm -f noproxy >/dev/null
  run_cmd "$REG" run --rm --sig-proxy=maybe -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "--sig-proxy=maybe: want true or false"
  # reg start -a too (SIGHUP).
  "$REG" generate --name proxied3 -t base@1 -- /bin/sh -c 'trap "exit 4" HUP; echo ready; sleep 1000 & wait' >/dev/null
  "$REG" start -a proxied3 >/dev/null 2>&1 &
  pid=$!
  wait_log proxied3 ready
  kill -HUP "$pid"
  wait "$pid"
  expect_eq "$?" 4 "exit status of reg start -a after SIGHUP"
  "$REG" rm proxied3 >/dev/null
}

t_lifecycle_rough_edges () {
  local id
  # Stopping what is not running succeeds, as in Docker.
  id=$("$REG" generate -t base@1 -- /bin/true)
  run_cmd "$REG" stop "$id"
  expect_rc 0
  "$REG" start -a "$id" >/dev/null
  run_cmd "$REG" stop "$id"
  expect_rc 0
  run_cmd sh -c "'$REG' stop '$id' && '$REG' rm '$id'"
  expect_rc 0
  # A start that failed: exited (127), not generated.
  id=$("$REG" generate -t base@1 -- /no/such/command)
  run_cmd "$REG" start "$id"
  expect_rc 1
  expect_err_has "/no/such/command"
  run_cmd "$REG" ps -a
  expect_out_has "exited (127)"
  run_cmd "$REG" inspect "$id"
  expect_out_has '"Status": "stopped"'
  expect_out_has '"ExitCode": 127'
  "$REG" rm "$id" >/dev/null
  # --rm with a restart policy is refused, nothing made.
  local before
  before=$(snapshot)
  run_cmd "$REG" run --rm --restart always -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "--rm and --restart always conflict"
  run_cmd "$REG" run -d --rm --restart on-failure:3 -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "--rm and --restart on-failure conflict"
  expect_eq "$(snapshot)" "$before" "a refused --rm --restart changed the engine"
  run_cmd "$REG" run --rm --restart no -t base@1 -- /bin/true
  expect_rc 0
}

t_ulimit () {
  local limits='while read -r a b c d e f g; do case "$a $b $c" in "Max open files") echo "nofile $d $e";; "Max core file") echo "core $e $f";; esac; done </proc/self/limits'
  run_cmd "$REG" run --rm --ulimit nofile=1024:2048 --ulimit core=-1 -t base@1 -- /bin/sh -c "$limits"
  expect_rc 0
  expect_out "core unlimited unlimited
nofile 1024 2048"
  # Kept in the record; reg exec gets them too.
  local id
  id=$("$REG" run -d --ulimit nofile=512:1024 -t base@1 -- /bin/sleep 100)
  run_cmd "$REG" inspect "$id"
  expect_out_has '"Name": "nofile"'
  expect_out_has '"Soft": 512'
  run_cmd "$REG" exec "$id" /bin/sh -c "$limits"
  expect_out_has "nofile 512 1024"
  "$REG" rm -f "$id" >/dev/null
  # Bad ones: named, nothing made.
  local before
  before=$(snapshot)
  run_cmd "$REG" run --rm --ulimit nofle=1 -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has 'ulimit "nofle=1": unknown limit "nofle"'
  run_cmd "$REG" run --rm --ulimit nofile=lots -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has 'ulimit "nofile=lots": values must be whole numbers'
  run_cmd "$REG" run --rm --ulimit nofile=10:5 -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has 'the soft limit is above the hard limit'
  run_cmd "$REG" run --rm --ulimit nofile -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has 'want NAME=SOFT[:HARD]'
  run_cmd "$REG" run --rm --ulimit nofile=1 --ulimit nofile=2 -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has 'ulimit nofile given twice'
  run_cmd curl -s --unix-socket "$SOCK" -X POST -d '{"Templates":["base@1"],"Ulimits":[{"Name":"nofile","Soft":"x","Hard":1}]}' http://regd/v1/containers
  expect_out_has 'each ulimit needs a string Name and integer Soft and Hard'
  # One the kernel refuses at start (more files than it allows at all).
  id=$("$REG" generate --ulimit nofile=99999999999 -t base@1 -- /bin/true)
  run_cmd "$REG" start "$id"
  expect_rc 1
  expect_err_has "ulimit nofile"
  "$REG" rm "$id" >/dev/null
  expect_eq "$(snapshot)" "$before" "bad ulimits changed the engine"
}

# Wait until a file has a line.
wait_file () {
  for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  fail "$1 never had '$2': $(cat "$1" 2>/dev/null | head -c 300)"
}

t_attach () {
  local id p1 p2
  # Two clients attached at once both get the output; input sent meanwhile
  # (here straight through the API) reaches the program.
  id=$("$REG" run -d -i --name att -t base@1 -- /bin/cat)
  "$REG" attach --no-stdin att >"$T/att1" 2>&1 &
  p1=$!
  "$REG" attach --no-stdin att >"$T/att2" 2>&1 &
  p2=$!
  sleep 0.5
  curl -s --unix-socket "$SOCK" -X POST --data-binary $'hello attach\n' "http://regd/v1/containers/$id/stdin?keep=1" >/dev/null
  wait_file "$T/att1" "hello attach"
  wait_file "$T/att2" "hello attach"
  # The input stayed open (keep=1): cat still runs, and more gets through.
  run_cmd "$REG" ps
  expect_out_has "att"
  curl -s --unix-socket "$SOCK" -X POST --data-binary $'second\n' "http://regd/v1/containers/$id/stdin?keep=1" >/dev/null
  wait_file "$T/att1" "second"
  # When the container ends, every attached reg exits with its code.
  "$REG" kill att >/dev/null
  wait "$p1"
  expect_eq "$?" 137 "exit status of reg attach when the container is killed"
  wait "$p2"
  expect_eq "$?" 137 "exit status of the second reg attach"
  "$REG" rm att >/dev/null
  # A terminal: attach, type, detach with Ctrl-P Ctrl-Q; it goes on running.
  id=$("$REG" run -d -i --tty --name tt -t base@1 -- /bin/sh)
  run_cmd sh -c "(sleep 0.5; printf 'echo hi-\$((6*7))\n'; sleep 1; printf '\020\021'; sleep 1) | script -qec '$REG attach tt' /dev/null"
  expect_rc 0
  expect_out_has "hi-42"
  expect_out_has "detached"
  run_cmd "$REG" inspect tt
  expect_out_has '"Status": "running"'
  # Docker's spelling of other keys; a lone first key is not a detach.
  run_cmd sh -c "(sleep 0.5; printf 'echo again\n'; sleep 1; printf '\001d'; sleep 1) | script -qec '$REG attach --detach-keys ctrl-a,d tt' /dev/null"
  expect_rc 0
  expect_out_has "again"
  run_cmd "$REG" inspect tt
  expect_out_has '"Status": "running"'
  "$REG" rm -f tt >/dev/null
  # reg run -i --tty detaches the same way, and can be attached again.
  run_cmd sh -c "(sleep 0.5; printf 'echo in-run\n'; sleep 1; printf '\020\021'; sleep 1) | script -qec '$REG run -i --tty --name rt -t base@1 -- /bin/sh' /dev/null"
  expect_rc 0
  expect_out_has "in-run"
  run_cmd "$REG" inspect rt
  expect_out_has '"Status": "running"'
  run_cmd sh -c "(sleep 0.5; printf 'exit 7\n'; sleep 2) | script -qec '$REG attach rt' /dev/null"
  run_cmd "$REG" inspect rt
  expect_out_has '"ExitCode": 7'
  "$REG" rm -f rt >/dev/null
  # reg start -i: a generated -i container started with our input (the
  # end of it is its end of file, as for run -i), with a terminal too.
  "$REG" generate -i --name gi -t base@1 -- /bin/cat >/dev/null
  run_cmd sh -c "printf 'from start\n' | '$REG' start -i gi"
  expect_rc 0
  expect_out "from start"
  "$REG" rm gi >/dev/null
  "$REG" generate -i --tty --name gt -t base@1 -- /bin/sh >/dev/null
  run_cmd sh -c "(sleep 0.5; printf 'echo from-tty; exit 4\n'; sleep 2) | script -qec '$REG start -a -i gt' /dev/null"
  expect_out_has "from-tty"
  run_cmd "$REG" inspect gt
  expect_out_has '"ExitCode": 4'
  "$REG" rm gt >/dev/null
  # Any running container can be attached to for its output, -i or not.
  "$REG" run -d --name plain -t base@1 -- /bin/sh -c 'sleep 1; echo late; exit 3' >/dev/null
  run_cmd "$REG" attach plain
  expect_rc 3
  expect_out "late"
  "$REG" rm plain >/dev/null
}

t_attach_resize_keeps_input () {
  # Resizing the terminal while input streams in: the resize is a second
  # connection to the monitor, which no longer replaces the first.
  local id cpid
  id=$("$REG" run -d -i --tty --name rz -t base@1 -- /bin/sh)
  mkfifo "$T/rz.in"
  curl -s --unix-socket "$SOCK" -X POST -H 'Transfer-Encoding: chunked' -T - "http://regd/v1/containers/$id/stdin" <"$T/rz.in" >/dev/null &
  cpid=$!
  exec 8>"$T/rz.in"
  printf 'echo one > /tmp/a\n' >&8
  sleep 0.5
  run_cmd curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X POST "http://regd/v1/containers/$id/resize?h=30&w=100"
  expect_out 204
  sleep 0.3
  printf 'echo two >> /tmp/a; stty size >> /tmp/a\n' >&8
  for _ in $(seq 100); do
    "$REG" exec rz /bin/cat /tmp/a 2>/dev/null | grep -q "30 100" && break
    sleep 0.05
  done
  run_cmd "$REG" exec rz /bin/cat /tmp/a
  expect_out "one
two
30 100"
  exec 8>&-
  wait "$cpid"
  "$REG" rm -f rz >/dev/null
}

t_attach_bad () {
  local id before
  id=$("$REG" run -d -i --tty --name ab -t base@1 -- /bin/sh)
  before=$(snapshot)
  run_cmd "$REG" attach --detach-keys ctrl-pp ab
  expect_rc 1
  expect_err_has 'detach keys "ctrl-pp": "ctrl-pp" is not a key (a single character, or ctrl-a .. ctrl-z'
  run_cmd "$REG" attach --detach-keys "" ab
  expect_rc 1
  expect_err_has 'detach keys "": "" is not a key'
  run_cmd "$REG" attach --detach-keys "ctrl-p,,ctrl-q" ab
  expect_rc 1
  expect_err_has 'is not a key'
  run_cmd "$REG" run --rm -i --tty --detach-keys ctrl-1 -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has 'detach keys "ctrl-1": "ctrl-1" is not a key'
  run_cmd "$REG" start -i --detach-keys ctrl ab
  expect_rc 125
  expect_err_has 'detach keys "ctrl": "ctrl" is not a key'
  run_cmd "$REG" attach nosuch
  expect_rc 1
  expect_err_has "nosuch"
  run_cmd "$REG" attach ab extra
  expect_rc 2
  expect_err_has "usage: reg attach"
  expect_eq "$(snapshot)" "$before" "bad attaches changed the engine"
  "$REG" rm -f ab >/dev/null
  id=$("$REG" generate -t base@1 -- /bin/true)
  run_cmd "$REG" attach "$id"
  expect_rc 1
  expect_err_has "cannot attach: it is generated (start it first)"
  "$REG" rm "$id" >/dev/null
}

t_init_combos () {
  # reg-init with the other options that change the process's setup: a
  # read-only root (its mount point is made before), another user (it runs
  # as that user too), --privileged, and a terminal (the command in the
  # terminal's foreground group).
  run_cmd "$REG" run --rm --init --read-only -t base@1 -- /bin/echo ro-ok
  expect_out "ro-ok"
  run_cmd "$REG" run --rm --init -u 1000:1000 -t base@1 -- /bin/sh -c '/usr/bin/id -u; read -r p c s pp rest </proc/1/stat; echo "$c"'
  expect_out "1000
(.reg-init)"
  run_cmd "$REG" run --rm --init --privileged -t base@1 -- /bin/echo priv-ok
  expect_out "priv-ok"
  run_cmd script -qec "'$REG' run --rm --init --tty -t base@1 -- /bin/sh -c 'tty; echo tty-ok'" /dev/null
  expect_out_has "tty-ok"
  expect_out_has "/dev/pts/"
}

ALL="$ALL t_signals_default t_stop_signal_timeout t_stop_signal_bad t_init t_init_combos t_sig_proxy t_lifecycle_rough_edges t_ulimit t_attach t_attach_resize_keeps_input t_attach_bad"
