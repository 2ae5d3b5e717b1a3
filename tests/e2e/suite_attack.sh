# Attack surface (issue 13): the TLS port under a connection flood and
# unauthenticated bodies, secrets in the store, the monitor's CPU and log
# bounds, templates that clash with the container skeleton. Sourced by
# run.sh; figures in docs/reliability.md.

# regd_api METHOD PATH [BODY]: a raw request on the UNIX socket (not `api`:
# suite_hub.sh's function of that name, sourced later, would replace it); $out is the
# body, $code the HTTP status.
regd_api () {
  local o
  o=$(mktemp)
  code=$(curl -s -o "$o" -w '%{http_code}' --unix-socket "$SOCK" -X "$1" \
    ${3:+-H 'Content-Type: application/json' --data-binary "$3"} "http://reg$2")
  out=$(cat "$o")
  rm -f "$o"
}

t_skeleton_clash () {
  # A RET entry where every container has a skeleton directory, or below a
  # mount point that would hide it, is a 400 when the template is added
  # (it was a 409 at container create, from the environment generator).
  local obj before body
  obj=$("$REG" template inspect base@1 | grep -o 'sha256:[0-9a-f]\{64\}+x' | head -1)
  [ -n "$obj" ] || fail "no object digest in base@1"
  before=$(snapshot)
  for spec in "/tmp: $obj|\"/tmp\" is a directory in every container" \
    "/app: '-> /etc'|\"/app\" is a directory in every container" \
    "/dev: '-> /'|\"/dev\" is a directory in every container" \
    "/proc/x: $obj|\"/proc/x\" would be hidden: the container mounts its own filesystem there"; do
    printf 'name: clash\nversion: "1"\nrequires: [base@1]\nfiles:\n  %s\n' "${spec%%|*}" >"$T/clash.ret"
    run_cmd "$REG" template add "$T/clash.ret"
    expect_rc 1
    expect_err_has "template clash@1: ${spec#*|}"
    body=$(python3 -c 'import json, sys; print(json.dumps({"Ret": open(sys.argv[1]).read()}))' "$T/clash.ret")
    regd_api POST /v1/templates "$body"
    expect_eq "$code" 400 "HTTP status of a skeleton clash (${spec%%|*})"
  done
  expect_eq "$(snapshot)" "$before" "engine changed by templates clashing with the skeleton"
  # Files below /tmp and /app are content (/app is covered only by a project).
  printf 'name: nextto\nversion: "1"\nrequires: [base@1]\nfiles:\n  /app/x: %s\n  /tmp: dir\n' "$obj" >"$T/ok.ret"
  run_cmd "$REG" template add "$T/ok.ret"
  expect_rc 0
  run_cmd "$REG" run --rm -t nextto@1 -- /bin/ls /app
  expect_out "x"
  "$REG" template rm nextto@1 >/dev/null
}

t_import_fifo () {
  # A FIFO (or socket, or device) inside an imported directory is refused as
  # one given directly is, naming it; nothing is left in the store. A
  # symlink to a device is content (its target is not imported).
  local d=$T/fifo-dir before
  mkdir -p "$d/sub"
  echo "unique $RANDOM $$" >"$d/a-file"
  mkfifo "$d/sub/pipe"
  before=$(snapshot)
  run_cmd "$REG" template create fifo@1 "$d/sub/pipe"
  expect_rc 1
  expect_err_has "template fifo@1: $d/sub/pipe is not a regular file, directory or symlink (it is a FIFO)"
  run_cmd timeout 60 "$REG" template create fifo@1 "$d"
  expect_rc 1
  expect_err_has "template fifo@1: $d/sub/pipe is not a regular file, directory or symlink (it is a FIFO)"
  expect_eq "$(snapshot)" "$before" "engine changed by a FIFO import"
  rm "$d/sub/pipe"
  ln -s /dev/null "$d/sub/null"
  run_cmd "$REG" template create fifo@1 "$d"
  expect_rc 0
  run_cmd "$REG" template inspect fifo@1
  expect_out_has "$d/sub/null: -> /dev/null"
  "$REG" template rm fifo@1 >/dev/null
  rm -rf "$d"
}

# Opens N idle TCP connections to PORT from K loopback addresses
# (127.0.0.1..K), says "up" in FILE, holds them HOLD seconds, then counts
# those the server closed (bounded: N sockets, HOLD seconds).
FLOOD_PY='import socket, sys, time
port, n, k, hold, up = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
socks = []
for i in range(n):
    s = socket.socket()
    s.bind(("127.0.0.%d" % (1 + i % k), 0))
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        socks.append(s)
    except OSError:
        s.close()
open(up, "w").close()
time.sleep(hold)
closed = 0
for s in socks:
    s.setblocking(False)
    try:
        while s.recv(4096):
            pass
        closed += 1
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
print("connected", len(socks), "held", len(socks) - closed)'

# A slow TLS client: one byte of a ClientHello every second; prints after
# how many bytes the server hung up (bounded: 60 bytes).
SLOW_HELLO_PY='import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(1)
for i in range(60):
    try:
        s.send(b"\x16" if i == 0 else b"\x03")
        if not s.recv(4096) or True:
            print("closed"); break
    except socket.timeout:
        continue
    except OSError:
        print("closed"); break
else:
    print("open")'

# POST of a body of SIZE bytes over TLS without a token, sent as fast as
# the server takes it; prints the status and how many MiB went out.
BIG_BODY_PY='import socket, ssl, sys
port, ca, total = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
s.settimeout(60)
s.sendall(b"POST /v1/templates HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: %d\r\n\r\n" % total)
chunk, sent = b"\0" * (1 << 20), 0
try:
    while sent < total:
        s.sendall(chunk)
        sent += len(chunk)
except OSError:
    pass
reply = b""
try:
    while True:
        got = s.recv(4096)
        if not got:
            break
        reply += got
except OSError:
    pass
print(reply.split(b" ")[1].decode() if reply.startswith(b"HTTP/") else "none", sent >> 20)'

proc_count () { # threads|fds PID
  if [ "$1" = threads ]; then
    sed -n 's/^Threads:[[:space:]]*//p' "/proc/$2/status"
  else
    ls "/proc/$2/fd" | wc -l
  fi
}

t_tls_flood () {
  # 300 idle connections from 20 addresses against a TLS port allowing 16
  # (4 per address): regd holds at most 16, closes them after the timeout,
  # and the local socket answers throughout. Before: 1,100 such
  # connections gave regd 1,017 threads and 1,024 fds, and `reg version`
  # on the UNIX socket failed.
  local port=$(free_port)
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$T/fkey.pem" -out "$T/fcert.pem" 2>/dev/null \
    || { fail "openssl could not make a certificate"; return; }
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/ftoken"
  local token remote="tcp://127.0.0.1:$port"
  token=$(cat "$T/ftoken")
  stop_regd
  start_regd --tls-listen "127.0.0.1:$port" --tls-cert "$T/fcert.pem" --tls-key "$T/fkey.pem" \
    --token-file "$T/ftoken" --tls-max-connections 16 --tls-max-per-client 4 --tls-timeout 5 \
    --netns-pool 0 # the pool's namespaces are made in the background: fds0 would move
  local threads0 fds0 threads fds
  threads0=$(proc_count threads "$REGD_PID")
  fds0=$(proc_count fds "$REGD_PID")
  rm -f "$T/flood.up"
  python3 -c "$FLOOD_PY" "$port" 300 20 9 "$T/flood.up" >"$T/flood.out" &
  local flood=$!
  for _ in $(seq 100); do [ -f "$T/flood.up" ] && break; sleep 0.1; done
  threads=$(proc_count threads "$REGD_PID")
  fds=$(proc_count fds "$REGD_PID")
  # Each held connection: one thread, its socket and the watchdog's
  # duplicate while in the handshake.
  [ "$threads" -le $((threads0 + 16)) ] || fail "regd has $threads threads under the flood (was $threads0, limit 16 connections)"
  [ "$fds" -le $((fds0 + 32)) ] || fail "regd has $fds fds under the flood (was $fds0, limit 16 connections)"
  for _ in 1 2 3; do
    run_cmd timeout 10 "$REG" version
    expect_rc 0
    expect_out_has "Server: regd"
  done
  run_cmd timeout 10 "$REG" ps -a
  expect_rc 0
  wait "$flood"
  run_cmd cat "$T/flood.out"
  expect_out "connected 300 held 0"
  echo "  flood: threads $threads0 -> $threads, fds $fds0 -> $fds" >&2
  # Once the flood is gone the port serves authenticated clients again.
  run_cmd env -u REG_HOST "$REG" -H "$remote" --tls-ca "$T/fcert.pem" --token "$token" version
  expect_rc 0
  # An authenticated request is not cut by the timeout while it runs: an
  # attached run silent for longer than it.
  run_cmd env -u REG_HOST "$REG" -H "$remote" --tls-ca "$T/fcert.pem" --token "$token" \
    run --rm -t base@1 -- /bin/sh -c 'sleep 7; echo late'
  expect_rc 0
  expect_out "late"
  # Per address: 4 of 10 connections from one address are kept (held 1 s,
  # less than the timeout).
  rm -f "$T/flood.up"
  run_cmd python3 -c "$FLOOD_PY" "$port" 10 1 1 "$T/flood.up"
  expect_out "connected 10 held 4"
  # A handshake dribbled a byte a second is cut at the deadline although
  # it is never idle for the timeout.
  run_cmd timeout 90 python3 -c "$SLOW_HELLO_PY" "$port"
  expect_out "closed"
  # A 300 MB body without a token: 401 before it is read (the socket
  # buffers take a few MiB); before, all of it was read first.
  run_cmd timeout 120 python3 -c "$BIG_BODY_PY" "$port" "$T/fcert.pem" 300000000
  set -- $out
  expect_eq "${1:-}" 401 "status of an unauthenticated 300 MB body"
  [ "${2:-300}" -lt 64 ] || fail "the server took ${2:-?} MiB of an unauthenticated body before refusing it"
  echo "  unauthenticated 300 MB body: ${2:-?} MiB sent before the 401" >&2
  stop_regd
  start_regd
}

t_nofile_limit () {
  # regd raises its own RLIMIT_NOFILE soft limit to the hard one; its
  # containers and execs get the limit regd was started with.
  local given=1000 hard id
  hard=$(ulimit -Hn)
  [ "$hard" != unlimited ] && [ "$hard" -gt "$given" ] || { echo "  (hard limit $hard: skipped)" >&2; return; }
  stop_regd
  ulimit -Sn "$given"
  start_regd
  ulimit -Sn "$hard"
  run_cmd sed -n 's/^Max open files *\([0-9]*\) *\([0-9]*\).*/\1 \2/p' "/proc/$REGD_PID/limits"
  expect_out "$hard $hard"
  run_cmd "$REG" run --rm -t base@1 -- /bin/sh -c 'ulimit -n'
  expect_out "$given"
  id=$("$REG" run -d -t base@1 -- /bin/sleep 100)
  run_cmd "$REG" exec "$id" /bin/sh -c 'ulimit -n'
  expect_out "$given"
  "$REG" rm -f "$id" >/dev/null
  stop_regd
  start_regd
}

# as_nobody CMD...: CMD as the host's unprivileged user nobody.
as_nobody () {
  setpriv --reuid 65534 --regid 65534 --clear-groups "$@"
}

t_secret_files () {
  # A mode-600 file from a mode-700 directory: imported with a warning;
  # the root, the store and the environments are 0700, so the host's
  # other users cannot read it through them (before: root 0711, envs/
  # 0755, objects 0444, and nobody read it).
  local d=$T/private before marker="secret-$RANDOM$RANDOM" f
  mkdir -p "$d" && chmod 0700 "$d"
  echo "$marker" >"$d/key.txt" && chmod 0600 "$d/key.txt"
  run_cmd "$REG" template create secret@1 "$d/key.txt" --requires base@1
  expect_rc 0
  expect_err_has "reg: warning: $d/key.txt is kept from other users on the host (it is mode 0600) but readable by every user of the template's containers"
  # A world-readable file: no warning (its directory is not looked at:
  # every file of a mktemp -d directory would warn).
  echo "$marker" >"$d/open.txt" && chmod 0644 "$d/open.txt"
  run_cmd "$REG" template create secret2@1 "$d/open.txt"
  expect_rc 0
  expect_eq "$err" "" "stderr of importing a world-readable file"
  "$REG" template rm secret2@1 >/dev/null
  run_cmd "$REG" run --rm -t secret@1 -- /bin/cat "$d/key.txt"
  expect_out "$marker"
  for f in "$ROOT" "$ROOT/store" "$ROOT/envs"; do
    expect_eq "$(stat -c %a "$f")" 700 "mode of $f"
  done
  f=$(find "$ROOT/envs" -path "*$d/key.txt" | head -1)
  [ -n "$f" ] || fail "key.txt not found in an environment"
  run_cmd as_nobody cat "$f"
  expect_ne "$rc" 0 "nobody reading $f"
  run_cmd as_nobody find "$ROOT" -name key.txt
  case "$out" in *key.txt*) fail "nobody found $out" ;; esac
  # A container's non-root user still runs (the overlay reaches the
  # environment as its mounter) and reads the file, as the template says.
  run_cmd "$REG" run --rm -u 1000:1000 -t secret@1 -- /bin/cat "$d/key.txt"
  expect_rc 0
  expect_out "$marker"
  # A root made by an earlier version is made private at start.
  chmod 0711 "$ROOT" && chmod 0755 "$ROOT/envs"
  stop_regd
  start_regd
  expect_eq "$(stat -c %a "$ROOT")/$(stat -c %a "$ROOT/envs")" 700/700 "modes after a restart"
  "$REG" template rm secret@1 >/dev/null
  # Well-known secret files are refused, nothing stored, unless allowed.
  before=$(snapshot)
  run_cmd "$REG" template create shadow@1 /etc/shadow
  expect_rc 1
  expect_err_has "template shadow@1: /etc/shadow is a well-known secret file; every container of the template could read it (--allow-secret-files imports it anyway)"
  mkdir -p "$T/home/.ssh"
  echo "$marker" >"$T/home/.ssh/id_ed25519"
  echo "ssh-ed25519 AAAA" >"$T/home/.ssh/id_ed25519.pub"
  run_cmd "$REG" template create sshkey@1 "$T/home"
  expect_rc 1
  expect_err_has "template sshkey@1: $T/home/.ssh/id_ed25519 is a well-known secret file"
  expect_eq "$(snapshot)" "$before" "engine changed by a refused secret"
  run_cmd "$REG" template create sshkey@1 "$T/home" --allow-secret-files
  expect_rc 0
  run_cmd "$REG" template inspect sshkey@1
  expect_out_has "$T/home/.ssh/id_ed25519:"
  "$REG" template rm sshkey@1 >/dev/null
  # The API field is a boolean.
  regd_api POST /v1/templates '{"Name":"x","Version":"1","Paths":["/bin/true"],"AllowSecretFiles":"yes"}'
  expect_eq "$code" 400 "AllowSecretFiles as a string"
  expect_out_has '"AllowSecretFiles\" must be a boolean'
  rm -rf "$d" "$T/home"
}

# The cpu cgroup of process PID: "v1 DIR" or "v2 DIR" under /sys/fs/cgroup.
cpu_cgroup_of () {
  local line
  line=$(grep -E '^[0-9]+:([^:]*,)?cpu(,[^:]*)?:' "/proc/$1/cgroup" | head -1)
  if [ -n "$line" ]; then
    echo "v1 /sys/fs/cgroup/cpu${line##*:}"
  else
    line=$(grep '^0::' "/proc/$1/cgroup")
    echo "v2 /sys/fs/cgroup${line#0::}"
  fi
}

# The CPU quota of a cgroup directory, in microseconds per 100 ms.
cpu_quota () {
  if [ "$1" = v1 ]; then cat "$2/cpu.cfs_quota_us"; else cut -d' ' -f1 "$2/cpu.max"; fi
}

t_monitor_cpu () {
  # A container with --cpus: its monitor (which reads and logs its output)
  # runs in <id>.monitor beside the container's cgroup, with the same
  # quota; update changes both; the cgroup goes with the container. Before:
  # `run -d --cpus 0.1 -- yes` used 2 ms of CPU in its cgroup and its
  # monitor 4,910 ms in 5 s, outside any limit.
  "$REG" template create yes@1 /usr/bin/yes >/dev/null || { fail "template yes@1"; return; }
  local id mon where v dir
  id=$(full_id "$("$REG" run -d --cpus 0.1 -t yes@1 -- /usr/bin/yes)")
  mon=$(sed -n 's/.*"MonitorPid": *\([0-9]*\).*/\1/p' "$ROOT/containers/$id/state.json")
  where=$(cpu_cgroup_of "$mon")
  v=${where%% *} dir=${where#* }
  expect_eq "${dir##*/}" "$id.monitor" "the monitor's cpu cgroup"
  expect_eq "$(cpu_quota "$v" "$dir")" 10000 "the monitor's cpu quota (--cpus 0.1)"
  run_cmd "$REG" update --cpus 0.2 "$id"
  expect_rc 0
  expect_eq "$(cpu_quota "$v" "$dir")" 20000 "the monitor's cpu quota after update --cpus 0.2"
  # Batched: many records share one time (one read of the pipe).
  sleep 1
  local records times
  records=$(head -n 2000 "$ROOT/containers/$id/log.jsonl" | wc -l)
  times=$(head -n 2000 "$ROOT/containers/$id/log.jsonl" | sed 's/.*"t":"\([^"]*\)".*/\1/' | sort -u | wc -l)
  [ "$times" -lt "$records" ] || fail "$records records with $times distinct times: not batched"
  "$REG" rm -f "$id" >/dev/null
  [ ! -d "$dir" ] || fail "the monitor's cgroup $dir outlived its container"
  # A container that ends by itself: the monitor leaves its cgroup first.
  id=$(full_id "$("$REG" run -d --cpus 0.5 -t base@1 -- /bin/true)")
  run_cmd "$REG" wait "$id"
  [ ! -d "${dir%/*}/$id.monitor" ] || fail "the monitor's cgroup of an exited container is left"
  "$REG" rm -f "$id" >/dev/null
  # Without a CPU limit the monitor stays where regd started it.
  id=$(full_id "$("$REG" run -d -t base@1 -- /bin/sleep 100)")
  mon=$(sed -n 's/.*"MonitorPid": *\([0-9]*\).*/\1/p' "$ROOT/containers/$id/state.json")
  case "$(cpu_cgroup_of "$mon")" in *.monitor) fail "a monitor without a cpu limit was moved" ;; esac
  "$REG" rm -f "$id" >/dev/null
  "$REG" template rm yes@1 >/dev/null
}

t_log_total_cap () {
  # regd --log-total-max: all containers' logs together. A chatty
  # container with the default per-container cap (10 MiB) stops being
  # logged at the global 2 MiB (within a check of 1 MiB and a batch),
  # and its log says so; it keeps running.
  stop_regd
  start_regd --log-total-max 2m
  "$REG" template create yes@1 /usr/bin/yes >/dev/null || { fail "template yes@1"; return; }
  local id total=0
  id=$(full_id "$("$REG" run -d -t yes@1 -- /usr/bin/yes)")
  for _ in $(seq 300); do
    grep -q "reg: output dropped from here" "$ROOT/containers/$id/log.jsonl" 2>/dev/null && break
    sleep 0.1
  done
  run_cmd grep -c "reg: output dropped from here: all containers' logs passed the global cap" "$ROOT/containers/$id/log.jsonl"
  expect_out 1
  sleep 1
  total=$(cat "$ROOT"/containers/*/log.jsonl* 2>/dev/null | wc -c)
  [ "$total" -le $(( (2 << 20) + (1 << 20) + (128 << 10) )) ] || fail "logs hold $total bytes, over the global cap of 2 MiB"
  run_cmd "$REG" inspect "$id"
  expect_out_has '"Status": "running"'
  "$REG" rm -f "$id" >/dev/null
  "$REG" template rm yes@1 >/dev/null
  run_cmd "$REGD" --root "$T/other" --log-total-max 10k
  expect_rc 2
  expect_err_has "regd: --log-total-max 10k: want a size of at least 1m"
  stop_regd
  start_regd
}

ALL="$ALL t_skeleton_clash t_import_fifo t_tls_flood t_nofile_limit t_secret_files t_monitor_cpu
  t_log_total_cap"
