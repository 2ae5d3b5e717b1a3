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

ALL="$ALL t_net_modes t_net_etc_files t_net_bad_inputs"
