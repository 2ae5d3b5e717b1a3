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

ALL="$ALL t_stats_stopped t_inspect_empty t_plurals t_registry_loopback t_second_regd_socket"
