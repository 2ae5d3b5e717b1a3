# reg events (issue 21): the lifecycle as a stream, with --since, --until
# and --filter. Sourced by run.sh.

t_events () {
  local t0 t1 id
  t0=$(date +%s.%N)
  run_cmd "$REG" run --rm --name evrun -t base@1 -- /bin/sh -c 'exit 3'
  expect_rc 3
  id=$("$REG" run -d --name evw -t base@1 -- /bin/sleep 100)
  "$REG" pause evw >/dev/null && "$REG" unpause evw >/dev/null
  "$REG" stop -t 0 evw >/dev/null
  "$REG" rm evw >/dev/null
  "$REG" template create evt@1 /bin/true >/dev/null
  "$REG" template rm evt@1 >/dev/null
  "$REG" volume create evvol >/dev/null && "$REG" volume rm evvol >/dev/null
  t1=$(date +%s.%N)
  # Past events, in order, as JSON lines.
  run_cmd "$REG" events --since "$t0" --until "$t1" --filter container=evrun --format json
  expect_rc 0
  expect_eq "$(echo "$out" | sed -n 's/.*"Action":"\([a-z]*\)".*/\1/p' | tr '\n' ' ')" \
    "create start die destroy " "events of run --rm"
  expect_out_has '"exitCode":"3"'
  expect_out_has '"name":"evrun"'
  # --since 0: from the first event kept.
  run_cmd "$REG" events --since 0 --until "$t1" --filter container=evrun
  expect_eq "$(echo "$out" | wc -l)" 4 "events of evrun since 0"
  # Human lines, Docker's shape; filters by event and by id prefix.
  run_cmd "$REG" events --since "$t0" --until "$t1" --filter "container=${id:0:8}"
  expect_out_has "container start $id (name=evw, template=base@1)"
  expect_out_has "container pause $id"
  expect_out_has "container unpause $id"
  expect_out_has "container stop $id"
  expect_out_has "container destroy $id"
  run_cmd "$REG" events --since "$t0" --until "$t1" --filter event=die
  expect_eq "$(echo "$out" | wc -l)" 2 "die events (evrun, evw)"
  run_cmd "$REG" events --since "$t0" --until "$t1" --filter type=template --filter type=volume
  expect_out_has "template create evt@1"
  expect_out_has "template delete evt@1"
  expect_out_has "volume create evvol"
  expect_out_has "volume destroy evvol"
  case "$out" in *"container "*) fail "type filter let a container event through" ;; esac
  # Live: a stream sees an event written after it connected.
  local f=$T/events.live pid
  "$REG" events --filter event=start --filter container=evlive >"$f" 2>&1 &
  pid=$!
  sleep 0.5
  "$REG" run --rm --name evlive -t base@1 -- /bin/true
  for _ in $(seq 100); do grep -q "container start" "$f" && break; sleep 0.05; done
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  grep -q "container start .*name=evlive" "$f" || fail "live stream missed the start: $(cat "$f")"
  [ "$(wc -l <"$f")" = 1 ] || fail "live stream: want only the start: $(cat "$f")"
}

t_bad_events () {
  run_cmd "$REG" events --filter nope=1 --until 1
  expect_rc 1
  expect_err_has 'unknown filter "nope"'
  run_cmd "$REG" events --filter type=bogus --until 1
  expect_rc 1
  expect_err_has 'type "bogus": want container, template or volume'
  run_cmd "$REG" events --since yesterday
  expect_rc 1
  expect_err_has '--since "yesterday" is not a time'
  run_cmd "$REG" events --filter novalue
  expect_rc 2
  expect_err_has "--filter wants KEY=VALUE"
  run_cmd "$REG" events --format xml
  expect_rc 2
}

ALL="$ALL t_events t_bad_events"
