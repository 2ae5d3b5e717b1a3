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

# Garbage collection runs on a fresh second engine (suite_registry's regd2),
# so that `prune -a` and "nothing left" are about this test's objects only.
gc_count () { find "$ROOT2/store/objects" -type f | wc -l; }

t_prune () {
  reset_regd2
  local private=$T/gc-private
  printf 'only in gc@1 %s\n' "$$" >"$private"
  chmod 0600 "$private"
  reg2 template create gcbase@1 /bin/sh /bin/true /bin/sleep /bin/cat >/dev/null || fail "create gcbase@1"
  reg2 template create gc@1 "$private" --requires gcbase@1 >/dev/null || fail "create gc@1"
  reg2 template create gcapp@1 /bin/echo --requires gc@1 >/dev/null || fail "create gcapp@1"
  run_cmd reg2 run --rm -t gcapp@1 -- /bin/cat "$private"
  expect_out "only in gc@1 $$"
  # rm leaves the objects; verify and df tell.
  reg2 template rm gcapp@1 >/dev/null || fail "rm gcapp@1"
  local digest obj
  digest=$(sha256sum "$private" | cut -c1-64)
  obj=$ROOT2/store/objects/sha256/${digest:0:2}/${digest:2}
  run_cmd reg2 store verify
  expect_rc 0
  expect_out_has "0 corrupt, 1 unreferenced (reg system prune removes them)"
  run_cmd reg2 system df
  expect_out_has "1 unreferenced"
  expect_out_has "Environments:  1 (1 unused)"
  # A stopped and a running container.
  local stopped running
  stopped=$(reg2 run -d -t gc@1 -- /bin/true)
  reg2 wait "$stopped" >/dev/null
  running=$(reg2 run -d -t gcbase@1 -- /bin/sleep 100)
  run_cmd reg2 system df
  expect_out_has "(1 running, 1 stopped)"
  run_cmd reg2 container prune
  expect_rc 0
  expect_out_has "deleted container ${stopped:0:12}"
  expect_out_has "Deleted 1 containers, 0 templates, 0 environments, 0 objects"
  run_cmd reg2 inspect "$stopped"
  expect_rc 1
  # template prune: the unused environments and the unreferenced object.
  [ -e "$obj" ] || fail "gc@1's own object is gone too early"
  run_cmd reg2 template prune
  expect_rc 0
  expect_out_has "Deleted 0 containers, 0 templates, 2 environments, 1 objects"
  run_cmd reg2 store verify
  expect_out_has "0 corrupt, 0 unreferenced"
  # prune -a: templates no container uses, dependents first; gcbase@1 is
  # used by the running container and stays, with its objects.
  run_cmd reg2 system prune -a
  expect_rc 0
  expect_out_has "deleted template gc@1"
  case "$out" in *"template gcbase@1"*) fail "prune -a took a template in use" ;; esac
  [ -e "$obj" ] && fail "object of a pruned template left: $obj"
  run_cmd reg2 exec "$running" /bin/cat /proc/self/comm
  expect_out "cat"
  run_cmd reg2 run --rm -t gcbase@1 -- /bin/true
  expect_rc 0
  run_cmd reg2 store verify
  expect_out_has "0 corrupt, 0 unreferenced"
  # With nothing left, nothing stays.
  reg2 rm -f "$running" >/dev/null
  run_cmd reg2 system prune -a
  expect_out_has "deleted template gcbase@1"
  expect_eq "$(gc_count)" "0" "objects after pruning an empty engine"
  expect_eq "$(ls -A "$ROOT2/envs")" "" "environments after pruning an empty engine"
  run_cmd reg2 system df
  expect_out_has "Objects:       0"
}

t_prune_bad () {
  reset_regd2
  reg2 template create gcb@1 /bin/true >/dev/null || fail "create gcb@1"
  reg2 template rm gcb@1 >/dev/null
  local before
  before=$(snapshot2)
  # A template whose references cannot be read refuses the prune.
  mkdir -p "$ROOT2/templates/broken"
  printf 'name: [unclosed\n' >"$ROOT2/templates/broken/1.ret"
  before=$(snapshot2)
  run_cmd reg2 system prune
  expect_rc 1
  expect_err_has "cannot tell what every template references (fix or remove the template): template broken@1"
  expect_eq "$(snapshot2)" "$before" "a refused prune changed the engine"
  reg2 template rm broken@1 >/dev/null || fail "rm broken@1"
  run_cmd "$REG" -H "unix://$SOCK2" template prune -x
  expect_rc 2
  run_cmd curl -s --unix-socket "$SOCK2" -X POST -d '{"Data": 1}' http://x/v1/system/prune
  case "$out" in *'Data\" must be a boolean'*) ;; *) fail "bad prune body: $out" ;; esac
  run_cmd reg2 template prune
  expect_out_has "Deleted 0 containers, 0 templates, 0 environments,"
  expect_eq "$(gc_count)" "0" "objects left"
}

# Prune while runs, template creates and removals go on: nothing in use is
# lost (every run gives its output), and the store verifies clean after.
t_prune_concurrent () {
  reset_regd2
  reg2 template create gcc@1 /bin/sh /bin/cat /bin/echo /bin/true >/dev/null || fail "create gcc@1"
  local i pids=() failed=$T/gc-failed
  : >"$failed"
  (for i in $(seq 20); do
     o=$(reg2 run --rm -t gcc@1 -- /bin/echo "run $i" 2>&1)
     [ "$o" = "run $i" ] || echo "run $i: $o" >>"$failed"
   done) &
  pids+=($!)
  (for i in $(seq 6); do
     printf 'churn %s %s\n' "$i" "$$" >"$T/gc-churn-$i"
     reg2 template create "churn$i@1" "$T/gc-churn-$i" --requires gcc@1 >/dev/null 2>>"$failed" ||
       echo "create churn$i@1" >>"$failed"
     o=$(reg2 run --rm -t "churn$i@1" -- /bin/cat "$T/gc-churn-$i" 2>&1)
     [ "$o" = "churn $i $$" ] || echo "churn run $i: $o" >>"$failed"
     reg2 template rm "churn$i@1" >/dev/null 2>>"$failed" || echo "rm churn$i@1" >>"$failed"
   done) &
  pids+=($!)
  (for i in $(seq 10); do
     reg2 system prune >/dev/null 2>>"$failed" || echo "prune $i" >>"$failed"
   done) &
  pids+=($!)
  for i in "${pids[@]}"; do
    timeout 240 tail --pid="$i" -f /dev/null
  done
  expect_eq "$(cat "$failed")" "" "failures under concurrent prune"
  reg2 system prune >/dev/null || fail "final prune"
  run_cmd reg2 store verify
  expect_rc 0
  expect_out_has "0 corrupt, 0 unreferenced"
  run_cmd reg2 run --rm -t gcc@1 -- /bin/echo after
  expect_out "after"
}

ALL="$ALL t_prune t_prune_bad t_prune_concurrent"

# Accounts: templates carry the host's passwd/group lines; a container's
# /etc/passwd and /etc/group are root, nobody and its templates' accounts;
# -u NAME[:GROUP] resolves through them.
t_template_users () {
  run_cmd "$REG" template create acc@1 /bin/sh /bin/cat /usr/bin/id --user www-data --group daemon
  expect_rc 0
  run_cmd "$REG" template inspect acc@1
  expect_out_has "format: '2'"
  expect_out_has "users: ['www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin']"
  expect_out_has "groups: ['daemon:x:1:', 'www-data:x:33:']"
  run_cmd "$REG" run --rm -t acc@1 -- /bin/cat /etc/passwd /etc/group
  expect_out "root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
root:x:0:
nogroup:x:65534:
daemon:x:1:
www-data:x:33:"
  run_cmd "$REG" run --rm -u www-data -t acc@1 -- /usr/bin/id
  expect_out "uid=33(www-data) gid=33(www-data) groups=33(www-data)"
  run_cmd "$REG" run --rm -u www-data:daemon -t acc@1 -- /usr/bin/id
  expect_out "uid=33(www-data) gid=1(daemon) groups=1(daemon)"
  run_cmd "$REG" run --rm -u nobody -t acc@1 -- /usr/bin/id -un
  expect_out "nobody"
  # Every environment has root and nobody.
  run_cmd "$REG" run --rm -t base@1 -- /usr/bin/id
  expect_out "uid=0(root) gid=0(root) groups=0(root)"
  # Bad accounts: named, nothing left behind.
  local before
  before=$(snapshot)
  run_cmd "$REG" template create accbad@1 /bin/cat --user no-such-user-$$
  expect_rc 1
  expect_err_has "template accbad@1: user no-such-user-$$: not in /etc/passwd"
  run_cmd "$REG" template create accbad@1 /bin/cat --group no-such-group-$$
  expect_rc 1
  expect_err_has "template accbad@1: group no-such-group-$$: not in /etc/group"
  run_cmd "$REG" run --rm -u www-data:nogroup-x -t acc@1 -- /usr/bin/id
  expect_rc 125
  expect_err_has "no group \"nogroup-x\" in the templates' accounts"
  bad_ret no-format "\"users\" and \"groups\" need format: '2'" 'name: accbad
version: "1"
users: ["a:x:1:1::/:/bin/sh"]'
  bad_ret bad-line 'users: "a:x:one:1::/:/bin/sh" is not a passwd(5) line' "name: accbad
version: \"1\"
format: '2'
users: ['a:x:one:1::/:/bin/sh']"
  bad_ret bad-format 'format "3": this engine reads formats 1 and 2' "name: accbad
version: \"1\"
format: '3'"
  bad_ret twice 'account "a" listed twice' "name: accbad
version: \"1\"
format: '2'
groups: ['a:x:1:', 'a:x:2:']"
  expect_eq "$(snapshot)" "$before" "bad accounts changed the engine"
  # Two templates that define one account differently cannot run together.
  printf "name: acc2\nversion: '1'\nformat: '2'\nusers: ['www-data:x:34:34::/:/bin/sh']\n" >"$T/acc2.ret"
  "$REG" template add "$T/acc2.ret" >/dev/null || fail "add acc2@1"
  run_cmd "$REG" run --rm -t acc@1 -t acc2@1 -- /usr/bin/id
  expect_rc 125
  expect_err_has "templates acc@1 and acc2@1 define user www-data differently"
  "$REG" template rm acc@1 acc2@1 >/dev/null
}

ALL="$ALL t_template_users"
