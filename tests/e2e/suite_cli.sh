# The CLI's edges (issue 21): stats of a stopped container, inspect of an
# empty name, plurals, loopback registries over plain HTTP, a second regd on
# a live socket. Sourced by run.sh.

t_stats_stopped () {
  local id
  id=$("$REG" run -d -t base@1 -- /bin/true)
  "$REG" wait "$id" >/dev/null
  run_cmd "$REG" stats --no-stream "$id"
  expect_rc 1
  expect_err_has "container $id is stopped: only a running container has stats"
  case "$out" in *"CONTAINER ID"*) fail "stats printed a table for a stopped container" ;; esac
  # Streaming (the default) ends too, with the same answer.
  run_cmd timeout 10 "$REG" stats "$id"
  expect_rc 1
  expect_err_has "is stopped"
  "$REG" rm "$id" >/dev/null
}

t_inspect_empty () {
  local id
  id=$("$REG" generate -t base@1 -- /bin/true)
  run_cmd "$REG" inspect ""
  expect_rc 1
  expect_err_has "an empty name is no container"
  expect_out ""
  # The API too: an empty segment is no "all".
  run_cmd curl -s --unix-socket "$SOCK" -o /dev/null -w "%{http_code}" "http://regd/v1/containers/"
  expect_out "400"
  "$REG" rm "$id" >/dev/null
}

t_plurals () {
  echo x >"$T/onefile"
  run_cmd "$REG" template create one@1 "$T/onefile"
  expect_rc 0
  expect_out_has "(1 file, 0 libs)"
  "$REG" template rm one@1 >/dev/null
  local id
  id=$("$REG" run -d -t base@1 -- /bin/sleep 30)
  run_cmd "$REG" ps
  case "$out" in *" 1 seconds"* | *" 1 minutes"*) fail "ps says '1 seconds': $out" ;; esac
  "$REG" rm -f "$id" >/dev/null
}

# Docker's rule: a loopback registry may speak plain HTTP without
# --insecure; elsewhere a TLS handshake against plain HTTP names --insecure.
t_registry_loopback () {
  start_registry || return
  "$REG" template create lo@1 /bin/true >/dev/null
  local port=${REGISTRY##*:}
  run_cmd "$REG" push lo@1 "127.0.0.1:$port/t/lo:1"
  expect_rc 0
  run_cmd "$REG" push lo@1 "localhost:$port/t/lo:2"
  expect_rc 0
  # 0.0.0.0 reaches the same loopback registry but is no loopback name.
  run_cmd "$REG" push lo@1 "0.0.0.0:$port/t/lo:3"
  expect_rc 1
  expect_err_has "the TLS handshake failed: the registry may speak plain HTTP"
  expect_err_has "--insecure"
  "$REG" template rm lo@1 >/dev/null
}

# A second regd: refused on a live socket (even for another root), the
# first untouched; at exit a regd removes only its own socket; bad
# configuration is refused before the socket is touched.
t_second_regd_socket () {
  local ino before
  ino=$(stat -c %i "$SOCK")
  run_cmd timeout 20 "$REGD" --root "$T/root2" --socket "$SOCK"
  expect_rc 1
  expect_err_has "$SOCK already answers: another regd serves it"
  expect_eq "$(stat -c %i "$SOCK")" "$ino" "the live socket was replaced"
  run_cmd "$REG" version
  expect_rc 0
  run_cmd timeout 20 "$REGD" --root "$T/root3" --socket "$SOCK" --tls-listen 127.0.0.1:1 \
    --tls-cert /no/such/cert.pem --tls-key /no/such/key.pem --token-file /no/such/token
  expect_rc 2
  expect_err_has "--tls-cert /no/such/cert.pem"
  [ -e "$T/root3" ] && fail "a regd with bad configuration made its root"
  expect_eq "$(stat -c %i "$SOCK")" "$ino" "bad configuration touched the live socket"
  # A's socket removed by hand, B takes the path; A's exit leaves B's.
  local s2=$T/two.sock pa pb
  "$REGD" --root "$T/rootA" --socket "$s2" >>"$T/regd-ab.log" 2>&1 &
  pa=$!
  for _ in $(seq 100); do REG_HOST=unix://$s2 "$REG" version >/dev/null 2>&1 && break; sleep 0.05; done
  rm -f "$s2"
  "$REGD" --root "$T/rootB" --socket "$s2" >>"$T/regd-ab.log" 2>&1 &
  pb=$!
  for _ in $(seq 100); do REG_HOST=unix://$s2 "$REG" version >/dev/null 2>&1 && break; sleep 0.05; done
  kill -TERM "$pa"
  wait "$pa"
  run_cmd env REG_HOST="unix://$s2" "$REG" version
  expect_rc 0
  [ -S "$s2" ] || fail "regd A removed regd B's socket at exit"
  kill -TERM "$pb"
  wait "$pb"
  [ -e "$s2" ] && fail "regd B left its own socket"
  rm -rf "$T/rootA" "$T/rootB" "$T/root2"
  true
}

t_inspect_format () {
  local id
  id=$("$REG" generate --name fmt1 -e A=1 -t base@1 -- /bin/true)
  run_cmd "$REG" inspect -f '{{.State.Status}}' fmt1
  expect_rc 0
  expect_out "generated"
  run_cmd "$REG" inspect --format '{{json .Config.Cmd}} {{.Name}}' fmt1 "$id"
  expect_out '["/bin/true"] fmt1
["/bin/true"] fmt1'
  run_cmd "$REG" inspect -f '{{range .Config.Env}}{{.}};{{end}}' fmt1
  expect_out_has "A=1;"
  run_cmd "$REG" inspect -f '{{if .Tty}}tty{{else}}no tty{{end}} {{len .Mounts}}' fmt1
  expect_out "no tty 0"
  # A bad template: an error naming what is wrong, and no output.
  run_cmd "$REG" inspect -f '{{.State' fmt1
  expect_rc 1
  expect_err_has '"{{" without "}}"'
  expect_out ""
  run_cmd "$REG" inspect -f '{{.State.Nope}}' fmt1
  expect_rc 1
  expect_err_has '.State has no field "Nope"'
  run_cmd "$REG" inspect -f '{{bogus .Name}}' fmt1
  expect_rc 1
  expect_err_has "unknown function"
  "$REG" rm "$id" >/dev/null
}

t_ps_options () {
  local a b c
  a=$("$REG" generate --name ps1 -t base@1 -- /bin/true)
  b=$("$REG" run -d --name ps2 -t base@1 -- /bin/sh -c 'echo x > /f; exit 3')
  "$REG" wait ps2 >/dev/null
  c=$("$REG" run -d --name ps3 -t base@1 -- /bin/sleep 60)
  run_cmd "$REG" ps -l -q
  expect_out "${c:0:12}"
  run_cmd "$REG" ps -n 2 --format '{{.Names}}'
  expect_out "ps3
ps2"
  run_cmd "$REG" ps --filter status=exited --filter name=ps --format '{{.Names}} {{.Status}}'
  expect_out "ps2 exited (3)"
  run_cmd "$REG" ps --filter name=ps --filter status=running --filter status=created --format '{{.Names}}'
  expect_out "ps3
ps1"
  run_cmd "$REG" ps --filter exited=3 -q
  expect_out "${b:0:12}"
  run_cmd "$REG" ps -s --filter id="${b:0:10}"
  expect_rc 0
  expect_out_has "SIZE"
  expect_out_has "kB"
  run_cmd "$REG" ps --format 'table {{.ID}}\t{{.Names}}' --filter name=ps1
  expect_out "$(printf 'CONTAINER ID\tNAMES\n%s\tps1' "${a:0:12}")"
  # Bad input: clear errors.
  run_cmd "$REG" ps --filter bogus=1
  expect_rc 2
  expect_err_has 'bad filter "bogus=1"'
  run_cmd "$REG" ps --filter status=nope
  expect_rc 2
  expect_err_has "no such status"
  run_cmd "$REG" ps -n 0
  expect_rc 2
  run_cmd "$REG" ps --format '{{.Nope}}'
  expect_rc 1
  expect_err_has 'has no field "Nope"'
  "$REG" rm -f "$a" "$b" "$c" >/dev/null
}

t_env_file () {
  local f=$T/envfile before
  printf '# a comment\n\nA=1\nB=two words=and equals\nFROM_CLIENT\nUNSET_HERE\n' >"$f"
  run_cmd env FROM_CLIENT=yes "$REG" run --rm --env-file "$f" -t base@1 -- /usr/bin/env
  expect_rc 0
  expect_out_has "A=1"
  expect_out_has "B=two words=and equals"
  expect_out_has "FROM_CLIENT=yes"
  case "$out" in *UNSET_HERE*) fail "an unset variable was passed" ;; esac
  local id
  id=$("$REG" run -d -t base@1 -- /bin/sleep 30)
  run_cmd "$REG" exec --env-file "$f" "$id" /usr/bin/env
  expect_out_has "B=two words=and equals"
  "$REG" rm -f "$id" >/dev/null
  before=$(snapshot)
  printf 'OK=1\nBAD KEY=1\n' >"$f"
  run_cmd "$REG" run --rm --env-file "$f" -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "$f:2: \"BAD KEY=1\" is not KEY=VALUE or KEY"
  run_cmd "$REG" run --rm --env-file "$T/no-such-envfile" -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "no-such-envfile: No such file or directory"
  expect_eq "$(snapshot)" "$before" "a bad --env-file changed the engine"
}

t_rename () {
  local id other t0
  t0=$(date +%s.%N)
  id=$("$REG" generate --name old1 -t base@1 -- /bin/true)
  other=$("$REG" generate --name taken1 -t base@1 -- /bin/true)
  run_cmd "$REG" rename old1 new1
  expect_rc 0
  run_cmd "$REG" inspect -f '{{.Name}}' new1
  expect_out "new1"
  run_cmd "$REG" inspect old1
  expect_rc 1
  # The old name is free at once.
  run_cmd "$REG" generate --name old1 -t base@1 -- /bin/true
  expect_rc 0
  "$REG" rm old1 >/dev/null
  run_cmd "$REG" events --since "$t0" --until "$(date +%s.%N)" --filter event=rename
  expect_out_has "container rename $id (name=new1, template=base@1, oldName=old1)"
  # Bad input: nothing renamed.
  run_cmd "$REG" rename new1 taken1
  expect_rc 1
  expect_err_has 'container name "taken1" is already in use'
  run_cmd "$REG" rename new1 "a b"
  expect_rc 1
  expect_err_has 'container name "a b"'
  run_cmd "$REG" rename nosuchctr x1
  expect_rc 1
  expect_err_has "nosuchctr"
  run_cmd "$REG" inspect -f '{{.Name}}' "$id"
  expect_out "new1"
  "$REG" rm "$id" "$other" >/dev/null
}

ALL="$ALL t_stats_stopped t_inspect_empty t_plurals t_registry_loopback t_second_regd_socket
  t_inspect_format t_ps_options t_env_file t_rename t_help"

# --help and reg help come from the table that drives each command's
# parser: every command has both, they agree, and every option they list
# is one the parser knows. Options go after the arguments too.
t_help () {
  local cmds cmd opt arg h1 h2 n=0
  cmds=$("$REG" help | sed -n 's/^  \([a-z]*\) .*/\1/p' | grep -v '^help$')
  [ "$(echo "$cmds" | wc -l)" -ge 30 ] || fail "reg help lists only: $cmds"
  for cmd in $cmds; do
    h1=$("$REG" help "$cmd" 2>&1) || fail "reg help $cmd: exit $?"
    h2=$("$REG" "$cmd" --help 2>&1) || fail "reg $cmd --help: exit $?"
    expect_eq "$h2" "$h1" "reg $cmd --help and reg help $cmd"
    case "$h1" in usage:*) ;; *) fail "reg help $cmd: no usage: ${h1:0:200}" ;; esac
    # Every option listed is known to the parser (given before --help, so
    # nothing runs).
    while read -r opt arg; do
      [ -n "$opt" ] || continue
      n=$((n + 1))
      if [ -n "$arg" ]; then
        run_cmd "$REG" "$cmd" "$opt" 1 --help
      else
        run_cmd "$REG" "$cmd" "$opt" --help
      fi
      case "$err" in *"unknown option"*) fail "reg $cmd: $opt is in the help, not in the parser" ;; esac
    done < <(echo "$h1" | sed -n 's/^ *\(-[a-zA-Z], \)\{0,1\}\(--[a-z-]*\)\( [^ ]*\)\{0,1\}\( .*\)\{0,1\}$/\2 \3/p')
  done
  [ "$n" -ge 60 ] || fail "only $n options checked"
  # Subcommands of the groups.
  run_cmd "$REG" help volume create
  expect_out_has "usage: reg volume create [NAME]"
  run_cmd "$REG" volume ls --help
  expect_out_has "--quiet"
  run_cmd "$REG" help nosuchcommand
  expect_rc 2
  expect_err_has 'no command "nosuchcommand"'
  run_cmd "$REG" stop --bogus x
  expect_rc 2
  expect_err_has "unknown option --bogus"
  expect_err_has "usage: reg stop"
  # Options after the positional arguments, as Docker takes them.
  run_cmd "$REG" ps --filter name=nothing-here -a --format '{{.Names}}'
  expect_rc 0
  local id
  id=$("$REG" generate -t base@1 -- /bin/true)
  run_cmd "$REG" rm "$id" -f
  expect_rc 0
  run_cmd "$REG" push base@1 t/base:1 --layout "$T/layout-after"
  expect_rc 0
  [ -d "$T/layout-after" ] || fail "push ... --layout DIR (after the arguments) was not taken"
}
