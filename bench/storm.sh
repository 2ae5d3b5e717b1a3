# Sourced by bench/run.sh. Part 3: start storm. STORM detached containers
# started back to back per engine, each client's wall time recorded; then
# CONCURRENT started at once. Containers run `sleep` and are removed after.

now_ns () { date +%s%N; }

# storm_seq ENGINE FILE: one "index ms" line per start.
storm_seq () {
  local engine=$1 out=$2 i t0 t1
  : >"$out"
  for i in $(seq "$STORM"); do
    t0=$(now_ns)
    if [ "$engine" = reg ]; then
      "$REG" run -d -t sleep@1 -- /bin/sleep 3600 >/dev/null
    else
      docker run -d --label reg-bench --network none reg-bench/python3 sleep 3600 >/dev/null
    fi
    t1=$(now_ns)
    echo "$i $(((t1 - t0) / 1000))" >>"$out" # µs
  done
}

# storm_par ENGINE FILE: CONCURRENT starts at once, one "index µs" line each,
# and the wall time of the whole batch in FILE.wall.
storm_par () {
  local engine=$1 out=$2 i t0 t1 pids=""
  : >"$out"
  t0=$(now_ns)
  for i in $(seq "$CONCURRENT"); do
    (
      s=$(now_ns)
      if [ "$engine" = reg ]; then
        "$REG" run -d -t sleep@1 -- /bin/sleep 3600 >/dev/null
      else
        docker run -d --label reg-bench --network none reg-bench/python3 sleep 3600 >/dev/null
      fi
      e=$(now_ns)
      echo "$i $(((e - s) / 1000))" >>"$out"
    ) &
    pids="$pids $!"
  done
  wait $pids # not a bare `wait`: regd is a child of this shell too
  t1=$(now_ns)
  echo $(((t1 - t0) / 1000)) >"$out.wall"
}

remove_all () {
  if [ "$1" = reg ]; then
    "$REG" ps -aq | xargs -r -n 50 "$REG" rm -f >/dev/null
  else
    docker ps -aq --filter label=reg-bench | xargs -r -n 50 docker rm -f >/dev/null
  fi
}

for engine in reg docker; do
  storm_seq $engine "$R/storm-$engine.dat"
  remove_all $engine
  storm_par $engine "$R/concurrent-$engine.dat"
  remove_all $engine
done
