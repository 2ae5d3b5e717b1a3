# Sourced by bench/run.sh (and bench/quick.sh). Part 6: the marginal memory
# of one more container of the same service: 1 to MARGINAL_MAX python
# http.server started one after another per engine (bare processes; reg,
# default regd and, with REGLINK_HOST, the --link-host-files one; Docker
# when ENGINES names it), and after each one answers, the sum of Pss of
# every process the engine added (bench/pss.py). Host network everywhere,
# so only the process tree differs.

MARGINAL_MAX=${MARGINAL_MAX:-20}
MARGINAL_PORT=${MARGINAL_PORT:-18600}
MARGINAL_ENGINES=${MARGINAL_ENGINES:-bare reg reglink docker}

marginal_wait_port () {
  local i
  for i in $(seq 300); do
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: port $1 never answered" >&2
  return 1
}

# The roots whose trees are counted: bare processes, reg monitors, Docker shims.
marginal_roots () {
  case $1 in
    bare) echo "$MARGINAL_PIDS" ;;
    reg | reglink)
      local root=$T/root
      [ "$1" = reglink ] && root=$T/rootlink
      python3 -c 'import glob, json, sys
for f in glob.glob(sys.argv[1] + "/*/state.json"):
    print(json.load(open(f)).get("State", {}).get("MonitorPid", 0))' "$root/containers" ;;
    docker)
      local id pid
      for id in $(docker ps -q --filter label=reg-bench-marginal); do
        pid=$(docker inspect -f '{{.State.Pid}}' "$id")
        awk '{print $4}' "/proc/$pid/stat"
      done ;;
  esac
}

marginal_engine () {
  local e=$1 n=$2 i port host=$REG_HOST
  [ "$e" = reglink ] && host=$REGLINK_HOST
  MARGINAL_PIDS=""
  : >"$R/marginal-$e.dat"
  for i in $(seq "$MARGINAL_MAX"); do
    port=$((MARGINAL_PORT + 100 * n + i))
    case $e in
      bare) setsid "$PY" -m http.server "$port" --bind 127.0.0.1 --directory /tmp >/dev/null 2>&1 </dev/null &
            MARGINAL_PIDS="$MARGINAL_PIDS $!" ;;
      reg | reglink) REG_HOST=$host "$REG" run -d --name "bench-m$i" --network host -t "python@$PYVER" -- \
                       "$PY" -m http.server "$port" --bind 127.0.0.1 --directory /tmp >/dev/null ;;
      docker) docker run -d --label reg-bench --label reg-bench-marginal --name "reg-bench-m$i" --network host \
                reg-bench/python3 python3 -m http.server "$port" --bind 127.0.0.1 --directory /tmp >/dev/null ;;
    esac
    marginal_wait_port "$port"
    sleep 0.5 # let it settle after its first answer
    # shellcheck disable=SC2046
    echo "$i $(python3 "$REPO/bench/pss.py" $(marginal_roots "$e"))" >>"$R/marginal-$e.dat"
  done
  case $e in
    bare) for p in $MARGINAL_PIDS; do kill -- "-$p" 2>/dev/null || true; done
          for p in $MARGINAL_PIDS; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
          MARGINAL_PIDS="" ;;
    reg | reglink) for i in $(seq "$MARGINAL_MAX"); do REG_HOST=$host "$REG" rm -f "bench-m$i" >/dev/null; done ;;
    docker) docker ps -aq --filter label=reg-bench-marginal | xargs -r docker rm -f >/dev/null ;;
  esac
}

k=0
for e in $MARGINAL_ENGINES; do
  marginal_engine "$e" "$k"
  k=$((k + 1))
done
