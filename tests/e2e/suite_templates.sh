# Templates for real services (issue 17): safe names, garbage collection.

t_template_overwrite () {
  "$REG" template create ow@1 /bin/cat >/dev/null || fail "create ow@1"
  local before
  before=$(snapshot)
  # An installed name@version is not silently replaced, by create or add.
  run_cmd "$REG" template create ow@1 /bin/ls
  expect_rc 1
  expect_err_has "template ow@1: already exists (remove it first, or use --force to replace it)"
  "$REG" template inspect ow@1 >"$T/ow.ret"
  run_cmd "$REG" template add "$T/ow.ret"
  expect_rc 1
  expect_err_has "template ow@1: already exists"
  expect_eq "$(snapshot)" "$before" "a refused overwrite changed the engine"
  # --force replaces it.
  run_cmd "$REG" template create ow@1 /bin/ls --force
  expect_rc 0
  run_cmd "$REG" template inspect ow@1
  expect_out_has "/bin/ls"
  case "$out" in *"/bin/cat:"*) fail "--force kept the old files" ;; esac
  run_cmd "$REG" template add --force "$T/ow.ret"
  expect_rc 0
  # Not while a container uses it, directly or through requires.
  "$REG" template create owapp@1 /bin/echo --requires ow@1 >/dev/null || fail "create owapp@1"
  local id
  id=$("$REG" generate -t owapp@1 -- /bin/echo hi) || fail "create container"
  before=$(snapshot)
  run_cmd "$REG" template create ow@1 /bin/ls --force
  expect_rc 1
  expect_err_has "template ow@1: cannot replace it: in use by container ${id:0:12}"
  run_cmd "$REG" template add --force "$T/ow.ret"
  expect_rc 1
  expect_err_has "template ow@1: cannot replace it: in use by container ${id:0:12}"
  run_cmd "$REG" template rm ow@1
  expect_rc 1
  expect_err_has "template ow@1: in use by container ${id:0:12}"
  expect_eq "$(snapshot)" "$before" "a refused forced overwrite changed the engine"
  run_cmd "$REG" start -a "$id"
  expect_out "hi"
  "$REG" rm "$id" >/dev/null
  "$REG" template rm owapp@1 ow@1 >/dev/null || fail "rm templates"
}

ALL="$ALL t_template_overwrite"
