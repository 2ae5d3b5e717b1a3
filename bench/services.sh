# Sourced by bench/run.sh. Parts 4 and 5: the five services started one after
# another directly on the host (bare), under reg (default, and a second regd
# with --link-host-files: "reglink") and under Docker; after each
# one answers, the sum of Pss of every process the engine added (and its
# anonymous and file-backed parts). MEM_ROUNDS rounds, each engine once a
# round, the order rotated from round to round, so every engine is measured
# in the same minutes as the others and at each place in the order. With
# all five up (first round), nginx throughput and latency with wrk.
#
# Each engine gets its own ports (PORT_BASE + 100 × engine + service) and its
# own data directory, so the three never collide, nor with default services.

SERVICES="python node nginx redis mariadb"
PORT_BASE=${PORT_BASE:-18100}
WRK_SECONDS=${WRK_SECONDS:-10}
WRK_RUNS=${WRK_RUNS:-5}
MEM_ROUNDS=${MEM_ROUNDS:-5}

# The mariadb system tables, made once on the host and copied per engine.
SEED=$WORK/mariadb-seed
if [ ! -d "$SEED/mysql" ]; then
  rm -rf "$SEED"
  mariadb-install-db --no-defaults --datadir="$SEED" --user=root --skip-test-db \
    --auth-root-authentication-method=normal >"$WORK/mariadb-install-db.log" 2>&1
fi

# svc_argv ENGINE SERVICE PORT DIR: the command line of SERVICE, as seen by
# the engine (DIR: the data directory as seen by the service).
svc_argv () {
  local e=$1 s=$2 p=$3 d=$4 py=$PY node=$NODE redis=$REDIS
  if [ "$e" = docker ]; then py=python3 node=node redis=redis-server; fi
  case $s in
    python) echo "$py -m http.server $p --bind 127.0.0.1 --directory $d/www" ;;
    node) echo "$node -e \"require('http').createServer((q,s)=>s.end('ok')).listen($p,'127.0.0.1')\"" ;;
    nginx) echo "/usr/sbin/nginx -e $d/nginx-error.log -c $d/nginx.conf" ;;
    redis) echo "$redis --port $p --bind 127.0.0.1 --save '' --appendonly no --daemonize no --dir $d" ;;
    mariadb) echo "/usr/sbin/mariadbd --no-defaults --datadir=$d/mysql --socket=$d/mysql.sock --port=$p --bind-address=127.0.0.1 --user=root --pid-file=$d/mariadb.pid --skip-log-bin" ;;
  esac
}

# svc_pkg SERVICE: the Docker image's package.
svc_pkg () {
  case $1 in python) echo python3 ;; node) echo nodejs ;; redis) echo redis-server ;;
    mariadb) echo mariadb-server ;; *) echo "$1" ;; esac
}
svc_template () {
  local t
  for t in $TEMPLATES; do [ "${t%%@*}" = "$1" ] && echo "$t"; done
}

# prepare_dir HOSTDIR SEENDIR NGINXPORT
prepare_dir () {
  rm -rf "$1"
  mkdir -p "$1/www" "$1/tmp"
  head -c 612 /dev/zero | tr '\0' x >"$1/www/index.html"
  cp -a "$SEED" "$1/mysql"
  cat >"$1/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
user root root;
pid $2/nginx.pid;
error_log $2/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $2/tmp/body;
  proxy_temp_path $2/tmp/proxy;
  fastcgi_temp_path $2/tmp/fastcgi;
  uwsgi_temp_path $2/tmp/uwsgi;
  scgi_temp_path $2/tmp/scgi;
  server { listen 127.0.0.1:$3; root $2/www; }
}
EOF
}

wait_port () {
  local i
  for i in $(seq 600); do
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "bench: port $1 never answered" >&2
  return 1
}

# The PIDs an engine added, as roots for bench/pss.py (which adds descendants).
engine_roots () {
  case $1 in
    bare) echo "$BARE_PIDS" ;;
    reg|reglink) local root=$T/root
        [ "$1" = reglink ] && root=$T/rootlink
        python3 -c 'import glob, json, sys
for f in glob.glob(sys.argv[1] + "/*/state.json"):
    print(json.load(open(f)).get("State", {}).get("MonitorPid", 0))' "$root/containers" ;;
    docker) for id in $(docker ps -q --filter label=reg-bench); do
              pid=$(docker inspect -f '{{.State.Pid}}' "$id")
              awk '{print $4}' "/proc/$pid/stat"   # its containerd-shim-runc-v2
            done ;;
  esac
}

# run_engine ENGINE N ROUND: the five services under ENGINE (ports of
# engine number N); Pss after each start into memory-ENGINE.ROUND.dat; wrk
# in round 1 only.
run_engine () {
  local e=$1 n=$2 round=$3 dir=$WORK/svc-$1 seen k=0 s port argv host out
  seen=$dir
  [ "$e" = bare ] || seen=/bench
  prepare_dir "$dir" "$seen" $((PORT_BASE + 100 * n + 3))
  BARE_PIDS=""
  out=$R/memory-$e.$round.dat
  : >"$out"
  for s in $SERVICES; do
    k=$((k + 1))
    port=$((PORT_BASE + 100 * n + k))
    argv=$(svc_argv "$e" "$s" "$port" "$seen")
    case $e in
      bare) eval "exec setsid $argv" >"$dir/$s.log" 2>&1 </dev/null &
            BARE_PIDS="$BARE_PIDS $!" ;;
      reg|reglink) host=$REG_HOST
           [ "$e" = reglink ] && host=$REGLINK_HOST
           eval "REG_HOST=\"\$host\" \"\$REG\" run -d --name bench-$s --network host -t $(svc_template "$s") -v \"\$dir:/bench\" -- $argv" >/dev/null ;;
      docker) eval "docker run -d --label reg-bench --name reg-bench-$s --network host -v \"\$dir:/bench\" reg-bench/$(svc_pkg "$s") $argv" >/dev/null ;;
    esac
    wait_port "$port"
    # A port answered by someone else (a leftover on it) must not pass.
    if [ "$e" = bare ] && ! kill -0 "$!" 2>/dev/null; then
      echo "bench: bare $s exited (see $dir/$s.log)" >&2
      return 1
    fi
    sleep 1 # let it settle after its first answer
    # shellcheck disable=SC2046
    echo "$k $s $(python3 "$REPO/bench/pss.py" $(engine_roots "$e"))" >>"$out"
  done
  [ "$round" = 1 ] || { stop_engine "$e"; return 0; }
  case $e in
    reg) echo "regd $(awk '/^Pss:/ {print $2}' "/proc/$REGD_PID/smaps_rollup") 1" >"$R/daemon-reg.dat" ;;
    reglink) echo "regd-linked $(awk '/^Pss:/ {print $2}' "/proc/$REGDLINK_PID/smaps_rollup") 1" >"$R/daemon-reglink.dat" ;;
    docker) echo "dockerd+containerd $(python3 "$REPO/bench/pss.py" "$DOCKERD_PID" $(pgrep -P "$DOCKERD_PID" -x containerd))" >"$R/daemon-docker.dat" ;;
  esac
  # Part 5: nginx (the third service) with all five up; WRK_RUNS runs, the
  # report takes the median (one run on this 2-core VM varies by ±15%).
  rm -f "$R/wrk-$e".*.txt
  for k in $(seq "$WRK_RUNS"); do
    wrk -t1 -c32 -d"${WRK_SECONDS}s" --latency "http://127.0.0.1:$((PORT_BASE + 100 * n + 3))/index.html" >"$R/wrk-$e.$k.txt"
  done
  stop_engine "$e"
}

stop_engine () {
  local e=$1 p s
  case $e in
    bare) for p in $BARE_PIDS; do kill -- "-$p" 2>/dev/null || true; done
          for p in $BARE_PIDS; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
          BARE_PIDS="" ;;
    reg) for s in $SERVICES; do "$REG" rm -f "bench-$s" >/dev/null; done ;;
    reglink) for s in $SERVICES; do REG_HOST=$REGLINK_HOST "$REG" rm -f "bench-$s" >/dev/null; done ;;
    docker) docker ps -aq --filter label=reg-bench | xargs -r docker rm -f >/dev/null ;;
  esac
}

ENGINES=(bare reg docker reglink)
rm -f "$R"/memory-*.dat
for round in $(seq "$MEM_ROUNDS"); do
  order=""
  for i in "${!ENGINES[@]}"; do
    j=$(((i + round - 1) % ${#ENGINES[@]}))
    order="$order ${ENGINES[$j]}"
    run_engine "${ENGINES[$j]}" "$j" "$round"
  done
  echo "$round$order $(uptime | sed 's/.*load average: //')" >>"$R/memory-rounds.dat"
done
