# Container networking (issue 16). Sourced by run.sh.
#
# Network modes and the /etc files every container gets. Traffic goes only
# to loopback and to namespaces the tests make themselves.

# The network namespace of the calling shell / of a container.
host_netns () { readlink /proc/self/ns/net; }

t_net_modes () {
  local id
  # host: the host's namespace, unchanged.
  run_cmd "$REG" run --rm --network host -t base@1 -- /bin/readlink /proc/self/ns/net
  expect_rc 0
  expect_out "$(host_netns)"
  # none: a namespace of its own with only lo, and lo is up.
  run_cmd "$REG" run --rm --network none -t base@1 -- /bin/sh -c \
    'readlink /proc/self/ns/net; cat /proc/net/dev; cat /sys/class/net/lo/operstate /sys/class/net/lo/flags'
  expect_rc 0
  case "$out" in "$(host_netns)"*) fail "--network none ran in the host's namespace" ;; esac
  expect_out_has "lo:"
  expect_eq "$(echo "$out" | grep -cE '^ *[a-z0-9]+: ')" 1 "interfaces besides lo under --network none"
  expect_out_has "0x9"
  run_cmd "$REG" run --rm --network none -t py@3.11 -- "$PY" -c \
    'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); c = socket.create_connection(s.getsockname()); print("loopback ok")'
  expect_out "loopback ok"
  # container:ID shares the namespace (and its files, and its hostname).
  id=$("$REG" run -d --name netmain --network none --hostname main.test -t base@1 -- /bin/sleep 1000)
  local main_ns
  main_ns=$("$REG" exec netmain /bin/readlink /proc/self/ns/net)
  case "$main_ns" in net:*) ;; *) fail "exec in netmain: no netns ($main_ns)" ;; esac
  expect_ne "$main_ns" "$(host_netns)" "netmain is in the host's namespace"
  run_cmd "$REG" run --rm --network container:netmain -t base@1 -- /bin/sh -c \
    'readlink /proc/self/ns/net; hostname; cat /etc/hostname'
  expect_rc 0
  expect_out "$main_ns
main.test
main.test"
  # by id prefix too, recorded with the full id
  run_cmd "$REG" generate --network "container:${id:0:8}" -t base@1 -- /bin/true
  expect_rc 0
  run_cmd "$REG" inspect "$out"
  expect_out_has "\"NetworkMode\": \"container:$id\""
  local side=$out
  # A sidecar of a stopped container cannot start.
  "$REG" stop -t 0 netmain >/dev/null
  side=$(echo "$side" | sed -n 's/.*"Id": "\([0-9a-f]*\)".*/\1/p' | head -1)
  run_cmd "$REG" start "$side"
  expect_rc 1
  expect_err_has "cannot join the network of container ${id:0:12}: it is not running"
  "$REG" rm -f "$side" netmain >/dev/null
}

t_net_etc_files () {
  local mode
  for mode in host none; do
    run_cmd "$REG" run --rm --network $mode --name "etc-$mode" -t base@1 -- /bin/sh -c \
      'cat /etc/hosts; echo ---; cat /etc/hostname; hostname; echo "$HOSTNAME"; echo ---; cat /etc/resolv.conf'
    expect_rc 0
    expect_out_has "127.0.0.1	localhost"
    expect_out_has "::1	localhost"
    expect_out_has " etc-$mode"
    local short
    short=$(echo "$out" | sed -n '/^---$/{n;p;q}')
    case "$short" in [0-9a-f][0-9a-f][0-9a-f][0-9a-f]*) ;; *) fail "$mode: hostname is not the short id: $short" ;; esac
    expect_out_has "127.0.1.1	$short etc-$mode"
    expect_out_has "search e2e.test"
    expect_out_has "options edns0 ndots:2"
  done
  # host network: the host's loopback resolver is reachable and kept.
  run_cmd "$REG" run --rm --network host -t base@1 -- /bin/cat /etc/resolv.conf
  expect_out_has "nameserver 127.0.0.53"
  # Own network: the loopback stub is replaced by its upstream servers.
  run_cmd "$REG" run --rm --network none -t base@1 -- /bin/cat /etc/resolv.conf
  expect_out_has "nameserver 192.0.2.53"
  case "$out" in *127.0.0.53*) fail "loopback resolver kept under --network none" ;; esac
  # The options change them; glibc resolves through them.
  run_cmd "$REG" run --rm --network none --hostname web.example --dns 192.0.2.1 --dns 2001:db8::1 \
    --dns-search a.test --dns-search b.test --add-host db.test:192.0.2.7 --add-host v6:fd00::7 \
    -t py@3.11 -- "$PY" -c '
import socket
print(open("/etc/resolv.conf").read())
print(open("/etc/hostname").read().strip(), socket.gethostname())
for n in ("localhost", "db.test", "web.example"):
    print(n, socket.gethostbyname(n))
print("v6", socket.getaddrinfo("v6", 0, socket.AF_INET6)[0][4][0])'
  expect_rc 0
  expect_out_has "nameserver 192.0.2.1
nameserver 2001:db8::1"
  expect_out_has "search a.test b.test"
  expect_out_has "web.example web.example"
  expect_out_has "localhost 127.0.0.1"
  expect_out_has "db.test 192.0.2.7"
  expect_out_has "web.example 127.0.1.1"
  expect_out_has "v6 fd00::7"
  case "$out" in *192.0.2.53*) fail "--dns did not replace the servers" ;; esac
  # --read-only keeps them (bound before the root is made read-only).
  run_cmd "$REG" run --rm --read-only --network none -t base@1 -- /bin/cat /etc/hostname
  expect_rc 0
  # reg.yaml's network:
  local p=$T/netproj
  mkdir -p "$p"
  printf 'templates: [base@1]\ncommand: [/bin/readlink, /proc/self/ns/net]\nnetwork: none\n' >"$p/reg.yaml"
  run_cmd "$REG" run --rm --project "$p"
  expect_rc 0
  case "$out" in net:*) ;; *) fail "reg.yaml network: $out" ;; esac
  expect_ne "$out" "$(host_netns)" "reg.yaml network: none ran on the host's network"
  # ... which the command line overrides.
  run_cmd "$REG" run --rm --project "$p" --network host
  expect_out "$(host_netns)"
}

t_net_bad_inputs () {
  local before
  "$REG" run -d --name netbase --network none -t base@1 -- /bin/sleep 1000 >/dev/null
  before=$(snapshot)
  run_cmd "$REG" run --rm --network bogus -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has 'network "bogus": no such network'
  run_cmd "$REG" run --rm --network container:nope -t base@1 -- /bin/true
  expect_err_has "network container:nope: no such container"
  run_cmd "$REG" run --rm --network container: -t base@1 -- /bin/true
  expect_err_has "no such container"
  local opt
  for opt in "--hostname x" "--dns 192.0.2.1" "--dns-search a.test" "--add-host a:192.0.2.1" "-p 80"; do
    run_cmd "$REG" run --rm --network container:netbase $opt -t base@1 -- /bin/true
    expect_rc 125
    expect_err_has "conflicting options: ${opt%% *} and --network container:netbase"
  done
  run_cmd "$REG" run --rm --network host -p 8080:80 -t base@1 -- /bin/true
  expect_err_has "ports cannot be published with --network host"
  run_cmd "$REG" run --rm --network none -p 80 -t base@1 -- /bin/true
  expect_err_has "ports cannot be published with --network none"
  run_cmd "$REG" run --rm --hostname -x -t base@1 -- /bin/true
  expect_err_has 'hostname "-x"'
  run_cmd "$REG" run --rm --hostname "$(printf 'a%.0s' $(seq 64))" -t base@1 -- /bin/true
  expect_err_has "use at most 63"
  run_cmd "$REG" run --rm --dns 300.1.1.1 -t base@1 -- /bin/true
  expect_err_has 'dns server "300.1.1.1": not an IPv4 or IPv6 address'
  run_cmd "$REG" run --rm --dns-search 'a;b' -t base@1 -- /bin/true
  expect_err_has 'dns search domain "a;b"'
  run_cmd "$REG" run --rm --add-host nohost -t base@1 -- /bin/true
  expect_err_has 'add-host "nohost": want NAME:IP'
  run_cmd "$REG" run --rm --add-host db:notanip -t base@1 -- /bin/true
  expect_err_has 'add-host "db:notanip"'
  expect_eq "$(snapshot)" "$before" "bad network options changed the engine"
  "$REG" rm -f netbase >/dev/null
}

t_net_ipv6_off () {
  # A bridged container's eth0 has no IPv6 (reg's networks are IPv4): it
  # sends no solicitations or MLD reports for the bridge to flood to every
  # other container (docs/networking.md); lo keeps ::1.
  [ -e /proc/sys/net/ipv6 ] || { echo "  (no IPv6 in this kernel: skipped)"; return; }
  run_cmd "$REG" run --rm -t base@1 -- /bin/sh -c \
    'cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6 /proc/sys/net/ipv6/conf/lo/disable_ipv6; cat /proc/net/if_inet6'
  expect_rc 0
  expect_eq "$(echo "$out" | head -2 | tr '\n' ' ')" "1 0 " "disable_ipv6 of eth0 and lo"
  expect_eq "$(echo "$out" | tail -n +3 | awk '{print $6}' | sort -u | tr '\n' ' ')" "lo " \
    "interfaces with an IPv6 address"
}

ALL="$ALL t_net_modes t_net_etc_files t_net_bad_inputs t_net_ipv6_off"

# ---- the bridge (opt-in with --network bridge until it is the default) ----

# A tiny HTTP server on port 80 that answers with its hostname, and a UDP
# echo server on port 53.
HTTP80='import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(s):
        s.send_response(200); s.end_headers()
        s.wfile.write(("hello from " + open("/etc/hostname").read().strip() + " peer " + s.client_address[0]).encode())
    def log_message(*a): pass
http.server.HTTPServer(("0.0.0.0", 80), H).serve_forever()'
UDP53='import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 53))
while True:
    d, a = s.recvfrom(2048); s.sendto(b"echo " + d, a)'

# A free TCP port on the host (and the same number free for UDP).
net_free_port () {
  "$PY" -c 'import socket
while True:
    t = socket.socket(); t.bind(("", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("", p)); print(p); break
    except OSError: pass'
}

# get URL: the body, retried for up to 5 s while the server starts.
get () {
  local i
  for i in $(seq 50); do
    curl -s -m 2 "$1" && return 0
    sleep 0.1
  done
  return 1
}

udp_ask () {
  "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
for _ in range(20):
    s.sendto(b"ping", (sys.argv[1], int(sys.argv[2])))
    try:
        print(s.recvfrom(100)[0].decode()); break
    except socket.timeout: pass' "$1" "$2"
}

# What a container leaves on the host: its veth, its nft chain, its address.
net_leftovers () {
  local id=$1
  ip -br link | awk '{print $1}' | grep "^rv${id:0:6}"
  nft list table ip "$BRIDGE" 2>/dev/null | grep "c_${id:0:12}"
  grep -l "$id" "$ROOT/networks/$BRIDGE"/* 2>/dev/null
}

# What net_leftovers still finds after waiting (by the clock, up to 10 s)
# for it to go: the kernel deletes a dead namespace's veth asynchronously.
net_gone () {
  local end=$((SECONDS + 10))
  while [ -n "$(net_leftovers "$1")" ] && [ $SECONDS -lt $end ]; do sleep 0.1; done
  net_leftovers "$1"
}

t_net_bridge_publish () {
  local p1 p2 pu a b u host_ip
  p1=$(net_free_port) p2=$(net_free_port) pu=$(net_free_port)
  a=$("$REG" run -d --name weba --network bridge -p "$p1:80" -t py@3.11 -- "$PY" -c "$HTTP80")
  b=$("$REG" run -d --name webb --network bridge -p "127.0.0.1:$p2:80" -t py@3.11 -- "$PY" -c "$HTTP80")
  u=$("$REG" run -d --name udp --network bridge -p "$pu:53/udp" -t py@3.11 -- "$PY" -c "$UDP53")
  # Both on port 80 inside; each answers on its own host port, through
  # 127.0.0.1 and through the host's own address.
  run_cmd get "http://127.0.0.1:$p1/"
  expect_out_has "hello from ${a:0:12}"
  run_cmd get "http://127.0.0.1:$p2/"
  expect_out_has "hello from ${b:0:12}"
  host_ip=$(ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1)
  run_cmd get "http://$host_ip:$p1/"
  expect_out_has "hello from ${a:0:12}"
  # 127.0.0.1:PORT binds only there.
  run_cmd curl -s -m 2 "http://$host_ip:$p2/"
  expect_ne "$rc" 0 "a port published on 127.0.0.1 answered on $host_ip"
  run_cmd udp_ask 127.0.0.1 "$pu"
  expect_out "echo ping"
  # inspect, port, ps
  run_cmd "$REG" inspect weba
  expect_out_has "\"HostPort\": \"$p1\""
  expect_out_has "\"Bridge\": \"$BRIDGE\""
  expect_out_has "\"IPAddress\": \"$BRIDGE_NET."
  expect_out_has "\"Gateway\": \"$BRIDGE_NET.1\""
  expect_out_has '"MacAddress": "02:42:'
  run_cmd "$REG" port webb
  expect_out "80/tcp -> 127.0.0.1:$p2"
  run_cmd "$REG" port udp 53/udp
  expect_out "0.0.0.0:$pu"
  run_cmd "$REG" ps
  expect_out_has "0.0.0.0:$p1->80/tcp"
  # -p CONTAINERPORT: a free host port, shown by reg port.
  local r rp
  r=$("$REG" run -d --network bridge -p 80 -t py@3.11 -- "$PY" -c "$HTTP80")
  rp=$("$REG" port "$r" 80 | cut -d: -f2)
  case "$rp" in [1-9]*) ;; *) fail "-p 80: no host port ($rp)" ;; esac
  run_cmd get "http://127.0.0.1:$rp/"
  expect_out_has "hello from ${r:0:12}"
  # The container's own /etc/hosts names its address.
  run_cmd "$REG" exec weba "$PY" -c "print(open('/etc/hosts').read())"
  expect_out_has "$BRIDGE_NET."
  "$REG" rm -f weba webb udp "$r" >/dev/null
  for id in $a $b $u $r; do
    expect_eq "$(net_gone "$id")" "" "left behind by ${id:0:12}"
  done
}

# The issue's own case: two nginx containers (Debian's nginx, from the
# recipe), both listening on port 80 on the default bridge, published on
# two host ports; each answers from the host's address and 127.0.0.1.
t_net_two_nginx () {
  sed 's/^name: nginx$/name: netnginx/' "$RECIPES/nginx.yaml" >"$T/netnginx.yaml"
  run_cmd "$REG" template create -f "$T/netnginx.yaml"
  expect_rc 0
  local n p ids="" host_ip
  host_ip=$(ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1)
  for n in a b; do
    mkdir -p "$T/nginx-$n/html"
    echo "nginx $n of $$" >"$T/nginx-$n/html/index.html"
    cat >"$T/nginx-$n/nginx.conf" <<CONF
user www-data;
worker_processes 1;
pid /run/nginx.pid;
events { worker_connections 64; }
http { server { listen 80; root /app/html; } }
CONF
    p=$(net_free_port)
    ids="$ids $("$REG" run -d --name "nginx-$n" -p "$p:80" --project "$T/nginx-$n" -t netnginx@1.22 \
      -- /usr/sbin/nginx -c /app/nginx.conf -g 'daemon off;')"
    run_cmd get "http://127.0.0.1:$p/"
    expect_out "nginx $n of $$"
    run_cmd get "http://$host_ip:$p/"
    expect_out "nginx $n of $$"
  done
  "$REG" rm -f nginx-a nginx-b >/dev/null
  for id in $ids; do
    expect_eq "$(net_gone "$id")" "" "left behind by ${id:0:12}"
  done
  "$REG" template rm netnginx@1.22 >/dev/null
}

ALL="$ALL t_net_two_nginx"

# An "outside" host: a network namespace of the test's own, linked to the
# host by a veth pair on a /24 of this run.
t_net_bridge_outside () {
  local ns=rt${NET_ID}o oip=${NET_BASE%.*}.$((${NET_BASE##*.} + 7)) p id srv
  ip netns add "$ns" || { fail "cannot make netns $ns"; return; }
  ip link add "rt${NET_ID}h" type veth peer name "rt${NET_ID}p" netns "$ns"
  ip addr add "$oip.1/24" dev "rt${NET_ID}h" && ip link set "rt${NET_ID}h" up
  ip -n "$ns" addr add "$oip.2/24" dev "rt${NET_ID}p"
  ip -n "$ns" link set "rt${NET_ID}p" up && ip -n "$ns" link set lo up
  ip -n "$ns" route add default via "$oip.1"
  # Outbound: a container reaches a server outside, masqueraded as the host.
  ip netns exec "$ns" "$PY" -c "$(echo "$HTTP80" | sed 's/open("\/etc\/hostname").read().strip()/"outside"/')" &
  srv=$!
  run_cmd "$REG" run --rm --network bridge -t py@3.11 -- "$PY" -c "
import time, urllib.request
for _ in range(50):
    try:
        print(urllib.request.urlopen('http://$oip.2/', timeout=2).read().decode()); break
    except OSError: time.sleep(0.1)"
  expect_rc 0
  expect_out "hello from outside peer $oip.1"
  # Inbound from the other host to a published port.
  p=$(net_free_port)
  id=$("$REG" run -d --network bridge -p "$p:80" -t py@3.11 -- "$PY" -c "$HTTP80")
  run_cmd ip netns exec "$ns" sh -c "for i in \$(seq 50); do curl -s -m 2 http://$oip.1:$p/ && exit 0; sleep 0.1; done; exit 1"
  expect_out_has "hello from ${id:0:12} peer $oip.2"
  "$REG" rm -f "$id" >/dev/null
  kill "$srv" 2>/dev/null
  wait "$srv" 2>/dev/null
  ip netns del "$ns"
  ip link del "rt${NET_ID}h" 2>/dev/null
}

t_net_bridge_teardown () {
  local a b p
  p=$(net_free_port)
  a=$("$REG" run -d --network bridge -p "$p:80" -t py@3.11 -- "$PY" -c "$HTTP80")
  b=$("$REG" run -d --network bridge -t base@1 -- /bin/sleep 1000)
  run_cmd get "http://127.0.0.1:$p/"
  expect_out_has "hello from ${a:0:12}"
  expect_ne "$(net_leftovers "$a")" "" "no veth, chain or address for a running container"
  # regd killed: containers and their network stay; a new regd keeps them.
  kill -KILL "$REGD_PID"
  wait "$REGD_PID" 2>/dev/null
  REGD_PID=
  run_cmd get "http://127.0.0.1:$p/"
  expect_out_has "hello from ${a:0:12}"
  start_regd
  run_cmd get "http://127.0.0.1:$p/"
  expect_out_has "hello from ${a:0:12}"
  # A killed monitor: regd notices, kills the orphan and gives all back.
  kill -KILL "$("$REG" inspect "$b" | sed -n 's/.*"MonitorPid": \([0-9]*\).*/\1/p')"
  sleep 0.2
  run_cmd "$REG" ps -a
  expect_eq "$(net_gone "$b")" "" "left behind by a container whose monitor was killed"
  # A stopped container gives its port back; starting it again takes it.
  "$REG" stop -t 1 "$a" >/dev/null
  expect_eq "$(net_gone "$a")" "" "left behind by a stopped container"
  run_cmd "$REG" start "$a"
  expect_rc 0
  run_cmd get "http://127.0.0.1:$p/"
  expect_out_has "hello from ${a:0:12}"
  "$REG" rm -f "$a" "$b" >/dev/null
  expect_eq "$(net_gone "$a")" "" "left behind after rm"
  # Stale allocations of a lost root (a reboot) go at the next start, and
  # so does the address a container's state still names when regd died in
  # the middle of its start.
  echo 0000000000000000000000000000000000000000000000000000000000000000 >"$ROOT/networks/$BRIDGE/$BRIDGE_NET.250"
  local g
  g=$("$REG" generate -t base@1 -- /bin/true)
  printf '%s' "$g" >"$ROOT/networks/$BRIDGE/$BRIDGE_NET.251"
  python3 -c 'import json, sys
p = sys.argv[1]; j = json.load(open(p))
j["NetworkSettings"].update({"Bridge": sys.argv[2], "IPAddress": sys.argv[3], "IPPrefixLen": 24})
json.dump(j, open(p, "w"))' "$ROOT/containers/$g/state.json" "$BRIDGE" "$BRIDGE_NET.251"
  stop_regd
  start_regd
  [ -e "$ROOT/networks/$BRIDGE/$BRIDGE_NET.250" ] && fail "a stale address survived regd's start"
  [ -e "$ROOT/networks/$BRIDGE/$BRIDGE_NET.251" ] && fail "a half-started container's address survived"
  run_cmd "$REG" inspect "$g"
  expect_out_has '"IPAddress": ""'
  "$REG" rm "$g" >/dev/null
}

t_net_bridge_bad_inputs () {
  local before p spec listener
  p=$(net_free_port)
  "$PY" -c "import socket, time
s = socket.socket(); s.bind(('', $p)); s.listen(); time.sleep(30)" &
  listener=$!
  sleep 0.3
  before=$(snapshot)
  run_cmd "$REG" run --rm --network bridge -p "$p:80" -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "port 0.0.0.0:$p/tcp: already in use on the host"
  for spec in abc 0 70000 1:2:3:4 80/sctp :80 8080: 256.1.1.1:80:80 "127.0.0.1:x:80" "::1:80:80" \
    "" 80/ 80/tcp/udp 65536:80 80:0 -1 8080-8081:80 1.2.3.4:80 " 80"; do
    run_cmd "$REG" run --rm --network bridge -p "$spec" -t base@1 -- /bin/true
    expect_rc 125
    expect_err_has "port \"$spec\" is not [IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp]"
  done
  run_cmd "$REG" run --rm --network bridge -p "192.0.2.254:$p:80" -t base@1 -- /bin/true
  expect_err_has "is not an address of this host"
  expect_eq "$(snapshot)" "$before" "bad ports changed the engine"
  kill "$listener" 2>/dev/null
  wait "$listener" 2>/dev/null
  # Published by another container: refused at create, nothing made.
  local a
  a=$("$REG" run -d --network bridge -p "$p:80" -t base@1 -- /bin/sleep 1000)
  before=$(snapshot)
  run_cmd "$REG" run --rm --network bridge -p "$p:80" -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "port $p/tcp: already published by another container"
  expect_eq "$(snapshot)" "$before" "a port conflict changed the engine"
  "$REG" rm -f "$a" >/dev/null
  # regd's own options: a bad subnet or bridge name stops it with the cause.
  run_cmd timeout 10 "$REGD" --root "$T/badnet" --socket "$T/badnet.sock" --bridge "rt${NET_ID}n3" --bridge-subnet 10.1.2.3/24
  expect_rc 1
  expect_err_has 'bridge subnet "10.1.2.3/24": want an IPv4 network'
  local eth
  eth=$(ip -4 route | awk '$1 != "default" && /proto kernel/ {print $1; exit}')
  run_cmd timeout 10 "$REGD" --root "$T/badnet" --socket "$T/badnet.sock" --bridge "rt${NET_ID}n3" --bridge-subnet "$eth"
  expect_rc 1
  expect_err_has "bridge subnet $eth overlaps the host's route to"
  run_cmd timeout 10 "$REGD" --root "$T/badnet" --socket "$T/badnet.sock" --bridge "bad-name"
  expect_rc 1
  expect_err_has 'bridge name "bad-name"'
}

# ---- user networks ----

# The Nth /24 of this run's user networks (0-2).
user_subnet () { echo "${NET_BASE%.*}.$((${NET_BASE##*.} + 4 + $1)).0/24"; }

# Inside a container of network $2: "NAME ADDRESS" or "NAME unknown" for
# each name, then a GET of http://$3/: "body ..." or "refused ...". $1 is
# "reach" (retried for up to 20 s while the server starts) or "isolated"
# (one try: dropped packets time out after 2 s).
probe () {
  "$REG" run --rm --network "$2" -t py@3.11 -- "$PY" -c '
import socket, sys, time, urllib.request
for n in sys.argv[3:]:
    try:
        print(n, socket.gethostbyname(n))
    except OSError:
        print(n, "unknown")
end = time.time() + (20 if sys.argv[1] == "reach" else 0)
while True:
    try:
        print("body", urllib.request.urlopen("http://%s/" % sys.argv[2], timeout=2).read().decode()); break
    except OSError as e:
        if time.time() > end:
            print("refused", e); break
        time.sleep(0.2)' "$1" "$3" "${@:4}"
}

t_net_user_networks () {
  local front back web webip before
  front=$("$REG" network create --subnet "$(user_subnet 0)" front) || fail "network create front"
  back=$("$REG" network create --subnet "$(user_subnet 1)" back) || fail "network create back"
  run_cmd "$REG" network ls
  expect_out_has "front"
  expect_out_has "$(user_subnet 0)"
  expect_out_has "${BRIDGE}-"
  run_cmd "$REG" network inspect front
  expect_out_has "\"Subnet\": \"$(user_subnet 0)\""
  expect_out_has "\"Gateway\": \"${NET_BASE%.*}.$((${NET_BASE##*.} + 4)).1\""
  web=$("$REG" run -d --name netweb --network front --network-alias www -t py@3.11 -- "$PY" -c "$HTTP80")
  webip=$("$REG" inspect netweb | sed -n 's/.*"IPAddress": "\([0-9.]*\)".*/\1/p' | head -1)
  case "$webip" in "${NET_BASE%.*}.$((${NET_BASE##*.} + 4))."*) ;; *) fail "netweb's address $webip is not in front's subnet" ;; esac
  # By name and by alias, from a container started after it.
  run_cmd probe reach front netweb netweb www
  expect_out_has "netweb $webip"
  expect_out_has "www $webip"
  expect_out_has "body hello from ${web:0:12}"
  # ... and the server sees its later peers by name too.
  "$REG" run -d --name netlater --network front -t base@1 -- /bin/sleep 1000 >/dev/null
  run_cmd "$REG" exec netweb "$PY" -c 'import socket; print(socket.gethostbyname("netlater"))'
  expect_out_has "${NET_BASE%.*}.$((${NET_BASE##*.} + 4))."
  # Another network and the default bridge: no name, no route.
  run_cmd probe isolated back "$webip" netweb
  expect_out_has "netweb unknown"
  expect_out_has "refused"
  run_cmd probe isolated bridge "$webip"
  expect_out_has "refused"
  # A container that goes leaves its peers' /etc/hosts.
  "$REG" rm -f netlater >/dev/null
  run_cmd "$REG" exec netweb "$PY" -c 'print(open("/etc/hosts").read())'
  case "$out" in *netlater*) fail "netlater still in netweb's /etc/hosts" ;; esac
  # rm is refused while a container is on it; nothing changes.
  before=$(snapshot)
  run_cmd "$REG" network rm front
  expect_rc 1
  expect_err_has "network front: in use by container ${web:0:12}"
  expect_eq "$(snapshot)" "$before" "a refused network rm changed the engine"
  "$REG" rm -f netweb >/dev/null
  run_cmd "$REG" network rm front back
  expect_rc 0
  expect_eq "$(ip -br link | awk '{print $1}' | grep -c "^${BRIDGE}-")" 0 "a removed network's bridge is left"
  run_cmd "$REG" network ls -q
  expect_out "bridge"
}

t_net_user_bad_inputs () {
  local before
  "$REG" network create --subnet "$(user_subnet 2)" taken >/dev/null || fail "network create taken"
  before=$(snapshot)
  run_cmd "$REG" network create --subnet 10.1.2.3/24 n1
  expect_rc 1
  expect_err_has 'subnet "10.1.2.3/24": want an IPv4 network'
  run_cmd "$REG" network create --subnet nonsense n1
  expect_err_has 'subnet "nonsense"'
  run_cmd "$REG" network create --subnet "$(user_subnet 2)" n1
  expect_err_has "network n1: subnet $(user_subnet 2) overlaps network taken"
  run_cmd "$REG" network create --subnet "${BRIDGE_NET}.0/25" n1
  expect_err_has "overlaps the default bridge $BRIDGE"
  run_cmd "$REG" network create --subnet "$(user_subnet 1)" taken
  expect_err_has "network taken: already exists"
  local name
  for name in host bridge none _x "a/b" "a b" "$(printf 'n%.0s' $(seq 64))"; do
    run_cmd "$REG" network create "$name"
    expect_rc 1
    expect_err_has "network name"
  done
  run_cmd "$REG" run --rm --network nosuch -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has 'network "nosuch": no such network'
  run_cmd "$REG" run --rm --network-alias x -t base@1 -- /bin/true
  expect_err_has "aliases exist only on a user network"
  run_cmd "$REG" run --rm --network taken --network-alias "a b" -t base@1 -- /bin/true
  expect_err_has '--network-alias "a b": not a host name'
  run_cmd "$REG" network rm nosuch
  expect_err_has 'network "nosuch": no such network'
  run_cmd "$REG" network rm bridge
  expect_err_has "the default network cannot be removed"
  expect_eq "$(snapshot)" "$before" "bad network input changed the engine"
  "$REG" network rm taken >/dev/null
}

ALL="$ALL t_net_bridge_publish t_net_bridge_outside t_net_bridge_teardown t_net_bridge_bad_inputs
  t_net_user_networks t_net_user_bad_inputs"

t_net_publish_all () {
  # -P publishes every port reg.yaml's expose: lists, each on a free host port.
  local p=$T/exposeproj id hp before
  mkdir -p "$p"
  printf 'templates: [py@3.11]\nexpose: [80, "53/udp"]\n' >"$p/reg.yaml"
  id=$("$REG" run -d -P --project "$p" -- "$PY" -c "$HTTP80")
  run_cmd "$REG" port "$id"
  expect_out_has "80/tcp -> 0.0.0.0:"
  expect_out_has "53/udp -> 0.0.0.0:"
  hp=$("$REG" port "$id" 80 | cut -d: -f2)
  run_cmd get "http://127.0.0.1:$hp/"
  expect_out_has "hello from ${id:0:12}"
  "$REG" rm -f "$id" >/dev/null
  # ... and every port its templates declare (a recipe's expose:), once
  # each: 80/tcp is both reg.yaml's and the template's.
  printf 'name: exposer\nversion: "1"\npaths: [/bin/true]\nrequires: [py@3.11]\nexpose: ["80/tcp", "8125/udp"]\n' >"$T/exposer.yaml"
  "$REG" template create -f "$T/exposer.yaml" >/dev/null || fail "template create exposer@1"
  printf 'templates: [exposer@1]\nexpose: [80, "53/udp"]\n' >"$p/reg.yaml"
  id=$("$REG" run -d -P --project "$p" -- "$PY" -c "$HTTP80")
  run_cmd "$REG" port "$id"
  expect_out_has "8125/udp -> 0.0.0.0:"
  expect_out_has "53/udp -> 0.0.0.0:"
  expect_eq "$(echo "$out" | grep -c '^80/tcp')" 1 "80/tcp published twice"
  hp=$("$REG" port "$id" 80 | cut -d: -f2)
  run_cmd get "http://127.0.0.1:$hp/"
  expect_out_has "hello from ${id:0:12}"
  "$REG" rm -f "$id" >/dev/null
  # Without a project: the template's ports alone, next to -p.
  id=$("$REG" run -d -P -p 8126/udp -t exposer@1 -- "$PY" -c 'import time; time.sleep(1000)')
  run_cmd "$REG" port "$id"
  expect_out_has "80/tcp -> 0.0.0.0:"
  expect_out_has "8125/udp -> 0.0.0.0:"
  expect_out_has "8126/udp -> 0.0.0.0:"
  "$REG" rm -f "$id" >/dev/null
  # Nothing exposed, or a bad expose entry: refused, nothing made.
  before=$(snapshot)
  run_cmd "$REG" run --rm -P -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "-P: no port to publish"
  printf 'templates: [base@1]\nexpose: ["8080:80"]\n' >"$p/reg.yaml"
  run_cmd "$REG" run --rm -P --project "$p" -- /bin/true
  expect_err_has 'exposed port "8080:80" is not PORT[/tcp|udp]'
  expect_eq "$(snapshot)" "$before" "a refused -P changed the engine"
  "$REG" template rm exposer@1 >/dev/null
}
ALL="$ALL t_net_publish_all"

t_net_forward_drop_warning () {
  # A FORWARD policy of DROP without Docker's DOCKER-USER chain (another
  # firewall), in a network namespace of the test's own (the host's
  # firewall is not touched): a regd started there says so, and changes
  # no table but its own.
  local ns=rt${NET_ID}f pid
  ip netns add "$ns" || { fail "cannot make netns $ns"; return; }
  ip netns exec "$ns" nft 'add table ip filter; add chain ip filter FORWARD { type filter hook forward priority 0; policy drop; }'
  ip netns exec "$ns" "$REGD" --root "$T/fwd" --socket "$T/fwd.sock" --bridge "rt${NET_ID}n3" \
    --bridge-subnet "$(user_subnet 2)" >"$T/fwd.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -qs "serving root" "$T/fwd.log" && break; sleep 0.05; done
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  run_cmd cat "$T/fwd.log"
  expect_out_has "the host's iptables FORWARD policy is DROP and there is no DOCKER-USER chain to accept rt${NET_ID}n3's traffic in"
  run_cmd ip netns exec "$ns" nft list chain ip filter FORWARD
  expect_out_has "policy drop"
  ip netns del "$ns"
}
ALL="$ALL t_net_forward_drop_warning"

# The pool of namespaces made ahead for the default bridge (regd
# --netns-pool, src/lib/netpool.h): its addresses (files naming the pool)
# and its veths (rvp…, ports of the bridge, in namespaces only regd holds).
pool_addresses () { grep -l '^netpool-' "$1"/* 2>/dev/null | wc -l; }
pool_veths () { ip -br link show master "$1" 2>/dev/null | awk '{print $1}' | grep -c '^rvp'; }
# pool_wait DIR BRIDGE ADDRESSES VETHS: until both counts are reached (5 s).
pool_wait () {
  local i
  for i in $(seq 100); do
    [ "$(pool_addresses "$1")" = "$3" ] && [ "$(pool_veths "$2")" = "$4" ] && return 0
    sleep 0.05
  done
  fail "pool of $2: $(pool_addresses "$1") addresses and $(pool_veths "$2") veths, not $3 and $4"
}

t_net_pool () {
  local dir=$ROOT/networks/$BRIDGE pooled p a ip
  # Made after a bridged start, in the background: two (the default).
  run_cmd "$REG" run --rm -t base@1 -- /bin/true
  expect_rc 0
  pool_wait "$dir" "$BRIDGE" 2 2
  pooled=$(grep -l '^netpool-' "$dir"/* | xargs -n1 basename | tr '\n' ' ')
  # A container takes one: the pool's address becomes its own, and it
  # serves through a published port; the pool is refilled meanwhile.
  p=$(net_free_port)
  a=$("$REG" run -d -p "$p:80" -t py@3.11 -- "$PY" -c "$HTTP80")
  ip=$("$REG" inspect -f '{{.NetworkSettings.IPAddress}}' "$a")
  case " $pooled" in *" $ip "*) ;; *) fail "address $ip was not the pool's ($pooled)" ;; esac
  expect_eq "$(cat "$dir/$ip" 2>/dev/null)" "$a" "the owner of $ip"
  run_cmd get "http://127.0.0.1:$p/"
  expect_out_has "hello from ${a:0:12}"
  pool_wait "$dir" "$BRIDGE" 2 3
  # Its namespace is not given back to the pool: it goes with the container.
  "$REG" rm -f "$a" >/dev/null
  pool_wait "$dir" "$BRIDGE" 2 2
  expect_eq "$(net_gone "$a")" "" "left behind by a container from the pool"
  # kill -9 regd: the namespaces go with it; its next start frees their
  # addresses, and makes no pool before a bridged start.
  kill -KILL "$REGD_PID"
  wait "$REGD_PID" 2>/dev/null
  REGD_PID=
  pool_wait "$dir" "$BRIDGE" 2 0
  start_regd
  pool_wait "$dir" "$BRIDGE" 0 0
  # A clean stop gives everything back.
  run_cmd "$REG" run --rm -t base@1 -- /bin/true
  pool_wait "$dir" "$BRIDGE" 2 2
  stop_regd
  pool_wait "$dir" "$BRIDGE" 0 0
  start_regd
  # Bad sizes are refused.
  for p in 65 -1 x ""; do
    run_cmd "$REGD" --root "$T/nopool" --socket "$T/nopool.sock" --netns-pool "$p"
    expect_rc 2
    expect_err_has "--netns-pool $p: want a whole number from 0 to 64"
  done
  [ -e "$T/nopool" ] && fail "a refused --netns-pool made a root"
}

# Exhaustion: a /28 has 13 addresses; with 3 in the pool, 13 containers
# still get one each (the last from the pool), the 14th a clear error.
t_net_pool_exhausted () {
  local root=$T/poolx sock=$T/poolx.sock br=rt${NET_ID}n5 pid i id ids="" ips before
  local sub=${NET_BASE%.*}.$((${NET_BASE##*.} + 3)).0/28
  "$REGD" --root "$root" --socket "$sock" --bridge "$br" --bridge-subnet "$sub" --netns-pool 3 \
    --resolv-conf "$T/resolv.conf" --resolv-conf-upstream "$T/resolv.upstream" >"$T/poolx.log" 2>&1 &
  pid=$!
  regx () { REG_HOST=unix://$sock "$REG" "$@"; }
  for _ in $(seq 200); do regx version >/dev/null 2>&1 && break; sleep 0.05; done
  regx template create base@1 /bin/sh /bin/true /bin/sleep >/dev/null
  run_cmd regx run --rm -t base@1 -- /bin/true
  expect_rc 0
  pool_wait "$root/networks/$br" "$br" 3 3
  for i in $(seq 13); do
    id=$(regx run -d -t base@1 -- /bin/sleep 1000) || fail "container $i of 13 did not start"
    ids="$ids $id"
  done
  ips=$(for id in $ids; do regx inspect -f '{{.NetworkSettings.IPAddress}}' "$id"; done | sort -u | wc -l)
  expect_eq "$ips" 13 "distinct addresses of 13 containers"
  pool_wait "$root/networks/$br" "$br" 0 13
  before=$(cd "$root" && find containers networks -maxdepth 3 | sort | sha256sum)
  run_cmd regx run --rm -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "no free address left in $sub"
  expect_eq "$(cd "$root" && find containers networks -maxdepth 3 | sort | sha256sum)" "$before" \
    "a start refused for want of an address changed the engine"
  run_cmd cat "$T/poolx.log"
  expect_out_has "network namespace pool: network bridge: no free address left in $sub"
  # Freed addresses are the pool's again after the next bridged start.
  # shellcheck disable=SC2086
  regx rm -f $ids >/dev/null
  pool_wait "$root/networks/$br" "$br" 0 0
  run_cmd regx run --rm -t base@1 -- /bin/true
  expect_rc 0
  pool_wait "$root/networks/$br" "$br" 3 3
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null
  pool_wait "$root/networks/$br" "$br" 0 0
  if grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T/poolx.log" >/dev/null; then
    fail "sanitizers reported errors in the pool's regd: $(head -c 2000 "$T/poolx.log")"
  fi
  ip link del "$br" 2>/dev/null
  nft delete table ip "$br" 2>/dev/null
  rm -rf "$root"
}
ALL="$ALL t_net_pool t_net_pool_exhausted"

# regd holds ~100 descriptors (idle client connections here, a concurrent
# storm in the bench): the pooled namespace's and the pipes' numbers pass
# 100, where spawn_monitor once parked its descriptors (and clobbered a
# source numbered 100: "join the network namespace: Invalid argument").
t_net_pool_high_fds () {
  run_cmd "$PY" - "$SOCK" "$REG" <<'PY'
import socket, subprocess, sys
held, bad = [], []
for k in range(130):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    held.append(s)
    r = subprocess.run([sys.argv[2], "run", "--rm", "-t", "base@1", "--", "/bin/true"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        bad.append("%d: rc %d %s" % (k, r.returncode, r.stderr.strip()))
print("failed", len(bad), bad[:3])
PY
  expect_rc 0
  expect_out "failed 0 []"
}
ALL="$ALL t_net_pool_high_fds"

# ---- network connect / disconnect ----

# What the engine and the host hold for networks: allocations, veths,
# containers' states and /etc/hosts.
net_snapshot () {
  snapshot
  (cd "$ROOT" && find networks | sort; cat containers/*/state.json containers/*/hosts 2>/dev/null) | sha256sum
  local id
  for id in $("$REG" ps -a -q); do
    ip -br link | awk '{print $1}' | grep "^rv${id:0:6}" | sort
  done
}

# The address of container $1 on network $2 (inspect's Networks).
net_addr () {
  "$REG" inspect "$1" | python3 -c 'import json, sys
print(json.load(sys.stdin)[0]["NetworkSettings"]["Networks"].get(sys.argv[1], {}).get("IPAddress", ""))' "$2"
}

t_net_connect () {
  local a b c aip bip before hostid
  "$REG" network create --subnet "$(user_subnet 0)" cfront >/dev/null || fail "network create cfront"
  "$REG" network create --subnet "$(user_subnet 1)" cback >/dev/null || fail "network create cback"
  a=$("$REG" run -d --name ca --network cfront -t py@3.11 -- "$PY" -c "$HTTP80")
  b=$("$REG" run -d --name cb --network cback -t py@3.11 -- "$PY" -c "$HTTP80")
  bip=$(net_addr cb cback)
  # Apart, cb does not know ca.
  run_cmd "$REG" exec cb "$PY" -c 'import socket
try: print(socket.gethostbyname("ca"))
except OSError: print("unknown")'
  expect_out "unknown"
  # Connected to cback too: an interface there, a name and an alias.
  run_cmd "$REG" network connect --alias web2 cback ca
  expect_rc 0
  aip=$(net_addr ca cback)
  case "$aip" in "${NET_BASE%.*}.$((${NET_BASE##*.} + 5))."*) ;; *) fail "ca's address on cback: '$aip'" ;; esac
  run_cmd "$REG" inspect ca
  expect_out_has '"cfront": {'
  expect_out_has '"Interface": "eth1"'
  expect_out_has '"Aliases": ['
  run_cmd "$REG" exec ca "$PY" -c 'print(open("/sys/class/net/eth1/operstate").read().strip())'
  expect_out "up"
  run_cmd "$REG" exec cb "$PY" -c 'import socket, urllib.request
print(socket.gethostbyname("ca"), socket.gethostbyname("web2"))
print(urllib.request.urlopen("http://web2/", timeout=5).read().decode())'
  expect_out_has "$aip $aip"
  expect_out_has "hello from ${a:0:12} peer $bip"
  run_cmd "$REG" exec ca "$PY" -c 'print(open("/etc/hosts").read())'
  expect_out_has "$bip	cb "
  # Isolation stays per network: from cfront, cb's address does not answer.
  run_cmd probe isolated cfront "$bip"
  expect_out_has "refused"
  # Bad input: a clear error, nothing made or changed.
  hostid=$("$REG" run -d --network host -t base@1 -- /bin/sleep 1000)
  c=$("$REG" generate --network cfront -t base@1 -- /bin/true)
  before=$(net_snapshot)
  run_cmd "$REG" network connect cback ca
  expect_rc 1
  expect_err_has "container ${a:0:12} is already connected to network cback"
  run_cmd "$REG" network connect cfront ca
  expect_err_has "container ${a:0:12} is already connected to network cfront"
  run_cmd "$REG" network connect nosuch ca
  expect_err_has 'network "nosuch": no such network'
  run_cmd "$REG" network connect cback nosuch
  expect_err_has "container nosuch: not found"
  run_cmd "$REG" network connect cback "$hostid"
  expect_err_has "runs with --network host: it has no network of its own"
  run_cmd "$REG" network connect cback "$c"
  expect_err_has "it is not running"
  run_cmd "$REG" network connect --alias "a b" cfront cb
  expect_err_has '--alias "a b": not a host name'
  run_cmd "$REG" network connect --alias x bridge cb
  expect_err_has "aliases exist only on a user network"
  run_cmd "$REG" network disconnect cfront cb
  expect_err_has "container ${b:0:12} is not connected to network cfront"
  run_cmd "$REG" network disconnect cfront ca
  expect_err_has "network cfront is its --network"
  run_cmd "$REG" network disconnect cback "$hostid"
  expect_err_has "is not connected to network cback"
  run_cmd "$REG" network connect cback
  expect_rc 2
  run_cmd "$REG" network rm cback
  expect_err_has "network cback: in use by container"
  expect_eq "$(net_snapshot)" "$before" "refused connects changed the engine"
  "$REG" rm -f "$hostid" "$c" >/dev/null
  # Disconnected: the interface, the address and the names go.
  run_cmd "$REG" network disconnect cback ca
  expect_rc 0
  expect_eq "$(net_addr ca cback)" "" "ca still has an address on cback"
  run_cmd "$REG" exec ca "$PY" -c 'import os; print(os.listdir("/sys/class/net"))'
  case "$out" in *eth1*) fail "eth1 left in ca: $out" ;; esac
  run_cmd "$REG" exec cb "$PY" -c 'print(open("/etc/hosts").read())'
  case "$out" in *"	ca "*) fail "cb's /etc/hosts still names ca" ;; esac
  run_cmd "$REG" exec ca "$PY" -c 'print(open("/etc/hosts").read())'
  case "$out" in *"	cb "*) fail "ca's /etc/hosts still names cb" ;; esac
  expect_eq "$(grep -rl "$a" "$ROOT"/networks/*/ | grep -c "/${BRIDGE}-")" 1 "ca's addresses after disconnect"
  # Connected again: kept over a regd crash; a killed monitor gives all back.
  "$REG" network connect cback ca || fail "connect again"
  aip=$(net_addr ca cback)
  kill -KILL "$REGD_PID"
  wait "$REGD_PID" 2>/dev/null
  REGD_PID=
  start_regd
  expect_eq "$(net_addr ca cback)" "$aip" "ca's address on cback after regd's restart"
  run_cmd "$REG" exec cb "$PY" -c 'import urllib.request; print(urllib.request.urlopen("http://ca/", timeout=5).read().decode())'
  expect_out_has "hello from ${a:0:12}"
  kill -KILL "$("$REG" inspect ca | sed -n 's/.*"MonitorPid": \([0-9]*\).*/\1/p')"
  sleep 0.2
  local i
  for i in $(seq 50); do
    "$REG" ps -a >/dev/null
    [ -z "$(grep -rl "$a" "$ROOT"/networks/*/ ; ip -br link | awk '{print $1}' | grep "^rv${a:0:6}")" ] && break
    sleep 0.1
  done
  expect_eq "$(grep -rl "$a" "$ROOT"/networks/*/)" "" "addresses left by a container whose monitor was killed"
  expect_eq "$(ip -br link | awk '{print $1}' | grep "^rv${a:0:6}")" "" "veths left by a container whose monitor was killed"
  run_cmd "$REG" exec cb "$PY" -c 'print(open("/etc/hosts").read())'
  expect_out_has "localhost"
  case "$out" in *"	ca "*) fail "cb's /etc/hosts still names the lost ca" ;; esac
  # rm of a connected container leaves nothing either.
  "$REG" rm -f ca >/dev/null
  a=$("$REG" run -d --name ca --network cfront -t base@1 -- /bin/sleep 1000)
  "$REG" network connect cback ca || fail "connect a new ca"
  "$REG" rm -f ca cb >/dev/null
  for i in $(seq 50); do
    [ -z "$(grep -rl "$a" "$ROOT"/networks/*/; ip -br link | awk '{print $1}' | grep "^rv${a:0:6}")" ] && break
    sleep 0.1
  done
  expect_eq "$(grep -rl "$a" "$ROOT"/networks/*/)" "" "addresses left after rm"
  expect_eq "$(ip -br link | awk '{print $1}' | grep "^rv${a:0:6}")" "" "veths left after rm"
  run_cmd "$REG" network rm cfront cback
  expect_rc 0
}
ALL="$ALL t_net_connect"

# Docker's rules present: a private dockerd (its own network and mount
# namespace), its FORWARD policy set to DROP as Docker sets it when it
# turns IP forwarding on, and a regd started in the same network
# namespace. Containers reach an "outside" host (a namespace of the
# test's, linked to Docker's), published ports answer it, and reg's rules
# in DOCKER-USER come and go with its bridges.
t_net_docker_forward_drop () {
  docker_private_stop # another suite's, without iptables rules
  docker_private_start "" || return
  local dns="nsenter -t $DOCKER_NETNS_PID -n" ns=rt${NET_ID}x oip=${NET_BASE%.*}.$((${NET_BASE##*.} + 7))
  local srv p id rules
  $dns iptables -P FORWARD DROP
  ip netns add "$ns"
  $dns ip link add "rt${NET_ID}dh" type veth peer name "rt${NET_ID}dp" netns "$ns"
  $dns ip addr add "$oip.1/24" dev "rt${NET_ID}dh"
  $dns ip link set "rt${NET_ID}dh" up
  ip -n "$ns" addr add "$oip.2/24" dev "rt${NET_ID}dp"
  ip -n "$ns" link set "rt${NET_ID}dp" up
  ip -n "$ns" link set lo up
  ip -n "$ns" route add default via "$oip.1"
  ip netns exec "$ns" "$PY" -c "$(echo "$HTTP80" | sed 's/open("\/etc\/hostname").read().strip()/"outside"/')" &
  srv=$!
  stop_regd
  REGD_ENTER="$dns" start_regd
  local outbound="import time, urllib.request
for _ in range(\$1):
    try:
        print(urllib.request.urlopen('http://$oip.2/', timeout=2).read().decode()); break
    except OSError as e: time.sleep(0.1); err = e
else: print('failed', err)"
  run_cmd "$REG" run --rm -t py@3.11 -- "$PY" -c "${outbound//\$1/50}"
  expect_out "hello from outside peer $oip.1"
  rules=$($dns nft list chain ip filter DOCKER-USER)
  case "$rules" in *"iifname \"$BRIDGE\" accept comment \"reg $BRIDGE\""*) ;; *) fail "no reg rule in DOCKER-USER: $rules" ;; esac
  run_cmd $dns nft list chain ip filter FORWARD
  expect_out_has "policy drop"
  # A published port answers the other host.
  p=$(net_free_port)
  id=$("$REG" run -d -p "$p:80" -t py@3.11 -- "$PY" -c "$HTTP80")
  run_cmd ip netns exec "$ns" sh -c "for i in \$(seq 50); do curl -s -m 2 http://$oip.1:$p/ && exit 0; sleep 0.1; done; exit 1"
  expect_out_has "hello from ${id:0:12} peer $oip.2"
  "$REG" rm -f "$id" >/dev/null
  # Rules deleted behind regd's back (a Docker that made its chain
  # again): regd's next start puts them back.
  $dns nft -a list chain ip filter DOCKER-USER | sed -n "s/.*comment \"reg $BRIDGE\" # handle \([0-9]*\)/\1/p" |
    while read -r h; do $dns nft delete rule ip filter DOCKER-USER handle "$h"; done
  run_cmd $dns nft list chain ip filter DOCKER-USER
  case "$out" in *"reg $BRIDGE"*) fail "reg's rules were not deleted: $out" ;; esac
  stop_regd
  REGD_ENTER="$dns" start_regd
  run_cmd $dns nft list chain ip filter DOCKER-USER
  expect_eq "$(echo "$out" | grep -c "comment \"reg $BRIDGE\"")" 3 "reg's rules after regd's start"
  run_cmd "$REG" run --rm -t py@3.11 -- "$PY" -c "${outbound//\$1/50}"
  expect_out "hello from outside peer $oip.1"
  # A user network's bridge gets its rules, and network rm takes them.
  "$REG" network create --subnet "$(user_subnet 2)" dnet >/dev/null || fail "network create dnet"
  run_cmd "$REG" run --rm --network dnet -t py@3.11 -- "$PY" -c "${outbound//\$1/50}"
  expect_out "hello from outside peer $oip.1"
  run_cmd $dns nft list chain ip filter DOCKER-USER
  expect_out_has "reg ${BRIDGE}-"
  "$REG" network rm dnet >/dev/null
  run_cmd $dns nft list chain ip filter DOCKER-USER
  case "$out" in *"reg ${BRIDGE}-"*) fail "a removed network's rules stay in DOCKER-USER: $out" ;; esac
  expect_out_has "reg $BRIDGE\""
  stop_regd
  kill "$srv" 2>/dev/null
  wait "$srv" 2>/dev/null
  ip netns del "$ns"
  docker_private_stop
  start_regd
}
ALL="$ALL t_net_docker_forward_drop"
