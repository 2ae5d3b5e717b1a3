# Attack surface (issue 13): the TLS port under a connection flood and
# unauthenticated bodies, secrets in the store, the monitor's CPU and log
# bounds, templates that clash with the container skeleton. Sourced by
# run.sh; figures in docs/reliability.md.

# api METHOD PATH [BODY]: a raw request on the UNIX socket; $out is the
# body, $code the HTTP status.
api () {
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
    api POST /v1/templates "$body"
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

ALL="$ALL t_skeleton_clash t_import_fifo"
