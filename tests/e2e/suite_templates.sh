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
  # gcapp@1's environment is layered over gc@1's closure (envgen.h): two.
  expect_out_has "Environments:  2 (2 unused)"
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
  expect_out_has "Deleted 1 container, 0 templates, 0 environments, 0 objects"
  run_cmd reg2 inspect "$stopped"
  expect_rc 1
  # template prune: the unused environments and the unreferenced object.
  [ -e "$obj" ] || fail "gc@1's own object is gone too early"
  run_cmd reg2 template prune
  expect_rc 0
  expect_out_has "Deleted 0 containers, 0 templates, 2 environments, 1 object;"
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

# An app template (one template that requires others) gets a layered
# environment: its own files over its base's full environment, which every
# version shares (envgen.h). The container sees what a full environment
# would show: the files, the base's directory modes, the accounts.
t_env_layered () {
  reset_regd2
  local d=$T/layered
  mkdir -p "$d/srv"
  printf 'version one\n' >"$d/srv/app.txt"
  reg2 template create lbase@1 /bin/sh /bin/cat /bin/ls /usr/bin/stat /bin/sleep /bin/echo \
    >/dev/null || fail "create lbase@1"
  reg2 template create lapp@1 "$d/srv/app.txt" --requires lbase@1 >/dev/null || fail "create lapp@1"
  run_cmd reg2 run --rm -t lapp@1 -- /bin/cat "$d/srv/app.txt"
  expect_out "version one"
  local envs layered
  envs=$(ls "$ROOT2/envs")
  expect_eq "$(echo "$envs" | wc -l)" "2" "environments after one app (app layer + base)"
  layered=$(cd "$ROOT2/envs" && ls -d */base | cut -d/ -f1)
  [ -n "$layered" ] || fail "no layered environment: $envs"
  expect_eq "$(find "$ROOT2/envs/$layered/layer" -type f | wc -l)" "1" "files in the app's layer"
  # Directories on the way keep the base's modes (/tmp is 1777 there).
  run_cmd reg2 run --rm -t lapp@1 -- /usr/bin/stat -c '%a %U' /tmp "$d" /root
  expect_out "$(printf '1777 root\n755 root\n700 root')"
  run_cmd reg2 run --rm -t lapp@1 -- /bin/ls /bin/sh /proc/self/comm
  expect_rc 0
  # A second version: one more layer, the same base.
  printf 'version two\n' >"$d/srv/app.txt"
  reg2 template create lapp@2 "$d/srv/app.txt" --requires lbase@1 --user nobody >/dev/null ||
    fail "create lapp@2"
  run_cmd reg2 run --rm -t lapp@2 -- /bin/cat "$d/srv/app.txt" /etc/passwd
  expect_out_has "version two"
  expect_out_has "nobody:x:"
  expect_eq "$(ls "$ROOT2/envs" | wc -l)" "3" "environments after two versions"
  expect_eq "$(ls -d "$ROOT2"/envs/*/base | wc -l)" "2" "layered environments"
  # reg diff of a stopped container on a layered environment: its own
  # change only.
  local id
  id=$(reg2 run -d -t lapp@1 -- /bin/sh -c "echo x >/new; echo y >$d/srv/app.txt") ||
    fail "run -d"
  reg2 wait "$id" >/dev/null
  run_cmd reg2 diff "$id"
  expect_out_has "A /new"
  expect_out_has "C $d/srv/app.txt"
  case "$out" in *"A /bin"* | *"A /tmp"* | *"A $d"*) fail "diff shows the environment: $out" ;; esac
  # reg install into a running container on a layered environment, and
  # uninstall: the next starts use full environments of the new closures.
  reg2 template create lextra@1 /usr/bin/head >/dev/null || fail "create lextra@1"
  local live
  live=$(reg2 run -d -t lapp@1 -- /bin/sleep 100) || fail "run -d live"
  run_cmd reg2 install "$live" lextra@1
  expect_rc 0
  run_cmd reg2 exec "$live" /usr/bin/head -n1 "$d/srv/app.txt"
  expect_out "version one"
  reg2 stop -t 0 "$live" >/dev/null
  reg2 start "$live" >/dev/null
  run_cmd reg2 exec "$live" /usr/bin/head -n1 "$d/srv/app.txt"
  expect_out "version one"
  reg2 stop -t 0 "$live" >/dev/null
  run_cmd reg2 uninstall "$live" lextra@1
  expect_rc 0
  reg2 start "$live" >/dev/null
  run_cmd reg2 exec "$live" /bin/cat "$d/srv/app.txt"
  expect_out "version one"
  run_cmd reg2 exec "$live" /usr/bin/head -n1 "$d/srv/app.txt"
  expect_rc 127
  reg2 rm -f "$live" >/dev/null
  reg2 template rm lextra@1 >/dev/null
  # A prune keeps the base while a container uses a layer on it.
  run_cmd reg2 template prune
  expect_rc 0
  run_cmd reg2 start -a "$id"
  expect_rc 0
  [ -d "$ROOT2/envs/$(readlink "$ROOT2/envs/$layered/base" | cut -d/ -f2)" ] ||
    fail "the base of a used layered environment was pruned"
  reg2 rm "$id" >/dev/null
  # An engine root whose full environment of that closure exists (made by
  # an earlier version, or with two templates) keeps using it.
  reg2 system prune >/dev/null
  id=$(reg2 generate -t lapp@1 -t lbase@1 -- /bin/cat "$d/srv/app.txt") || fail "generate"
  [ -e "$ROOT2/envs/$(ls "$ROOT2/envs")/proc" ] || fail "two templates: not a full environment"
  run_cmd reg2 run --rm -t lapp@1 -- /bin/cat "$d/srv/app.txt"
  expect_out "version one"
  expect_eq "$(ls "$ROOT2/envs" | wc -l)" "1" "environments: the full one reused"
  reg2 rm "$id" >/dev/null
  run_cmd reg2 system prune -a
  expect_eq "$(ls -A "$ROOT2/envs")" "" "environments after pruning"
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

# Prune while runs, template creates, pulls and removals go on: nothing in
# use is lost (every run gives its output), and the store verifies clean
# after.
t_prune_concurrent () {
  reset_regd2
  reg2 template create gcc@1 /bin/sh /bin/cat /bin/echo /bin/true >/dev/null || fail "create gcc@1"
  local i pids=() failed=$T/gc-failed layout=$T/gc-layout
  printf 'pulled %s\n' "$$" >"$T/gc-pull"
  "$REG" template create gcpull@1 /bin/cat "$T/gc-pull" >/dev/null || fail "create gcpull@1"
  "$REG" push --layout "$layout" gcpull@1 gc/pull:1 >/dev/null || fail "push gcpull@1"
  "$REG" template rm gcpull@1 >/dev/null
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
  (for i in $(seq 15); do
     reg2 system prune >/dev/null 2>>"$failed" || echo "prune $i" >>"$failed"
   done) &
  pids+=($!)
  # Pulls: from an image layout the main engine pushed, again and again,
  # each pulled template run and removed (so its objects become garbage).
  (for i in $(seq 6); do
     reg2 pull --layout "$layout" gc/pull:1 >/dev/null 2>>"$failed" || echo "pull $i" >>"$failed"
     o=$(reg2 run --rm -t gcpull@1 -- /bin/cat "$T/gc-pull" 2>&1)
     [ "$o" = "pulled $$" ] || echo "pulled run $i: $o" >>"$failed"
     reg2 template rm gcpull@1 >/dev/null 2>>"$failed" || echo "rm gcpull@1 $i" >>"$failed"
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

ALL="$ALL t_prune t_env_layered t_prune_bad t_prune_concurrent"

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
  # Supplementary groups: the user's memberships in the templates'
  # /etc/group, as login(1) and Docker give them, and --group-add.
  printf '%s\n' "name: accgrp" 'version: "1"' "format: '2'" "requires: ['acc@1']" \
    "groups: ['staff:x:50:nobody,www-data', 'audio:x:29:www-data']" >"$T/accgrp.ret"
  run_cmd "$REG" template add "$T/accgrp.ret"
  expect_rc 0
  run_cmd "$REG" run --rm -u www-data -t accgrp@1 -- /usr/bin/id
  expect_out "uid=33(www-data) gid=33(www-data) groups=33(www-data),29(audio),50(staff)"
  run_cmd "$REG" run --rm -u 65534 -t accgrp@1 -- /usr/bin/id -G
  expect_out "65534 50"
  run_cmd "$REG" run --rm --group-add audio --group-add 4242 -t accgrp@1 -- /usr/bin/id -G
  expect_out "0 29 4242"
  local gid
  gid=$("$REG" generate --group-add staff -t accgrp@1 -- /bin/true)
  run_cmd "$REG" inspect -f '{{json .Groups}}' "$gid"
  expect_out "[50]"
  "$REG" rm "$gid" >/dev/null
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
  run_cmd "$REG" run --rm --group-add nogroup-x -t acc@1 -- /usr/bin/id
  expect_rc 125
  expect_err_has "--group-add \"nogroup-x\": no such group in the templates' accounts"
  expect_eq "$(snapshot)" "$before" "bad accounts: engine state changed"
  bad_ret no-format "\"users\", \"groups\", \"expose\", \"stop-signal\" and \"dir MODE\" need format: '2'" 'name: accbad
version: "1"
users: ["a:x:1:1::/:/bin/sh"]'
  bad_ret bad-line 'users: "a:x:one:1::/:/bin/sh" is not a passwd(5) line' "name: accbad
version: \"1\"
format: '2'
users: ['a:x:one:1::/:/bin/sh']"
  bad_ret bad-format 'format "5": this engine reads formats 1, 2, 3 and 4' "name: accbad
version: \"1\"
format: '5'"
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
  "$REG" template rm accgrp@1 acc@1 acc2@1 >/dev/null
}

ALL="$ALL t_template_users"

# ---- recipes (examples/templates/, docs/recipes.md) ----
# The servers run on the host network, so that the test reaches them on
# loopback.

RECIPES=$HERE/../../examples/templates

# Poll `cmd` until it succeeds: at most 60 tries, 0.25 s apart.
retry () {
  local i
  for i in $(seq 60); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  return 1
}

recipe_create () {
  run_cmd "$REG" template create -f "$RECIPES/$1.yaml"
  expect_rc 0
  expect_out_has "$2"
}

t_recipe_nginx () {
  recipe_create nginx nginx@1.22
  run_cmd "$REG" template inspect nginx@1.22
  expect_out_has "stop-signal: SIGQUIT"
  expect_out_has "expose: ['80/tcp']"
  expect_out_has "users: ['www-data:x:33:33:"
  local port id web=$T/recipe-nginx
  port=$(free_port)
  mkdir -p "$web/html"
  echo "served by nginx $$" >"$web/html/index.html"
  cat >"$web/nginx.conf" <<CONF
user www-data;
worker_processes 1;
pid /run/nginx.pid;
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  server { listen 127.0.0.1:$port; root /app/html; }
}
CONF
  id=$("$REG" run -d --network host --project "$web" -t nginx@1.22 -- /usr/sbin/nginx -c /app/nginx.conf -g 'daemon off;')
  retry curl -fs "http://127.0.0.1:$port/" || fail "nginx did not serve: $("$REG" logs "$id" 2>&1 | tail -5)"
  run_cmd curl -fs "http://127.0.0.1:$port/"
  expect_out "served by nginx $$"
  # The workers run as www-data (user www-data; in nginx.conf).
  local pid user worker=""
  for pid in $("$REG" top "$id" | awk 'NR > 1 {print $1}'); do
    user=$(ps -o user= -p "$pid" 2>/dev/null)
    case "$(ps -o args= -p "$pid" 2>/dev/null)" in *"worker process"*) worker=$user ;; esac
  done
  expect_eq "$worker" "www-data" "user of nginx's worker"
  "$REG" rm -f "$id" >/dev/null
}

t_recipe_redis () {
  recipe_create redis redis@7.0
  local port id
  port=$(free_port)
  id=$("$REG" run -d --network host -u redis -t redis@7.0 -- /usr/bin/redis-server --port "$port" --bind 127.0.0.1 --save '' --dir /var/lib/redis)
  retry redis-cli -p "$port" ping || fail "redis did not answer: $("$REG" logs "$id" 2>&1 | tail -5)"
  run_cmd redis-cli -p "$port" set recipe "$$"
  expect_out "OK"
  run_cmd redis-cli -p "$port" get recipe
  expect_out "$$"
  "$REG" rm -f "$id" >/dev/null
}

t_recipe_postgresql () {
  recipe_create postgresql postgresql@15
  local port id
  port=$(free_port)
  id=$("$REG" run -d --network host -u postgres -t postgresql@15 -- /bin/sh -c "initdb -D /var/lib/postgresql/data -A trust -U postgres --no-locale -E UTF8 >/dev/null && exec postgres -D /var/lib/postgresql/data -h 127.0.0.1 -p $port -k /run/postgresql")
  retry psql -h 127.0.0.1 -p "$port" -U postgres -Atc 'select 1' ||
    fail "postgres did not answer: $("$REG" logs "$id" 2>&1 | tail -5)"
  run_cmd psql -h 127.0.0.1 -p "$port" -U postgres -Atc "select sum(v) from (values (40), (2)) as t (v)"
  expect_out "42"
  "$REG" rm -f "$id" >/dev/null
}

t_recipe_python () {
  recipe_create python python@3.11
  local port id
  port=$(free_port)
  run_cmd "$REG" run --rm -t python@3.11 -- /usr/bin/python3.11 -c 'import json, sqlite3, ssl, decimal; print(json.dumps(sqlite3.connect(":memory:").execute("select 6*7").fetchone()))'
  expect_out "[42]"
  id=$("$REG" run -d --network host -t python@3.11 -- /usr/bin/python3.11 -m http.server --bind 127.0.0.1 "$port" --directory /usr/lib/python3.11/json)
  retry curl -fs "http://127.0.0.1:$port/__init__.py" || fail "python did not serve: $("$REG" logs "$id" 2>&1 | tail -5)"
  run_cmd curl -fs "http://127.0.0.1:$port/__init__.py"
  expect_out_has "JSON (JavaScript Object Notation)"
  "$REG" rm -f "$id" >/dev/null
}

t_recipe_node () {
  recipe_create node node@20
  local port id
  port=$(free_port)
  id=$("$REG" run -d --network host -t node@20 -- /usr/bin/node -e "require('http').createServer((q, s) => s.end(new Intl.NumberFormat('de-DE').format(1234.5))).listen($port, '127.0.0.1')")
  retry curl -fs "http://127.0.0.1:$port/" || fail "node did not serve: $("$REG" logs "$id" 2>&1 | tail -5)"
  run_cmd curl -fs "http://127.0.0.1:$port/"
  expect_out "1.234,5"
  "$REG" rm -f "$id" >/dev/null
}

bad_recipe () {
  local name=$1 want=$2 text=$3 before
  before=$(snapshot)
  printf '%s\n' "$text" >"$T/bad-recipe.yaml"
  run_cmd "$REG" template create -f "$T/bad-recipe.yaml"
  [ "$rc" = 1 ] || fail "$name: exit $rc, want 1"
  expect_err_has "$want"
  expect_eq "$(snapshot)" "$before" "$name: engine state changed"
}

t_recipe_bad () {
  echo "unique $$ $RANDOM" >"$T/recipe-new-file"
  bad_recipe unknown-key 'recipe bad-recipe.yaml: unknown key "file" (known: name, version, paths,' 'name: r
version: "1"
file: [/bin/true]'
  bad_recipe missing-path "template r@1: path /no/such/thing does not exist" "name: r
version: '1'
paths: [$T/recipe-new-file, /no/such/thing]"
  bad_recipe outside-root 'recipe bad-recipe.yaml: paths: "/usr/../../etc/shadow" is not an absolute, normalized host path' 'name: r
version: "1"
paths: [/usr/../../etc/shadow]'
  bad_recipe relative 'paths: "etc/passwd" is not an absolute, normalized host path' 'name: r
version: "1"
paths: [etc/passwd]'
  bad_recipe no-paths '"paths" must name at least one host file or directory' 'name: r
version: "1"'
  bad_recipe no-version 'recipe bad-recipe.yaml: missing "version"' 'name: r
paths: [/bin/true]'
  bad_recipe not-a-list '"paths" must be a list of strings' 'name: r
version: "1"
paths: /bin/true'
  bad_recipe bad-port 'expose: "99999/tcp" is not PORT[/tcp|udp]' 'name: r
version: "1"
paths: [/bin/true]
expose: [99999]'
  bad_recipe bad-dir "directory \"/var/x 4755 root\": want PATH [MODE [USER[:GROUP]]]" 'name: r
version: "1"
paths: [/bin/true]
dirs: [/var/x 4755 root]'
  bad_recipe bad-owner 'template r@1: files "/var/x": owner "nosuch" is not root, nobody or an account of the template' 'name: r
version: "1"
paths: [/bin/true]
dirs: [/var/x 0750 nosuch]'
  bad_recipe excluded-named "path /bin/true is both named and excluded" 'name: r
version: "1"
paths: [/bin/true]
exclude: ["/bin/*"]'
  bad_recipe yaml 'recipe bad-recipe.yaml: YAML error at line' 'name: [r'
  run_cmd "$REG" template create -f "$T/no-such-recipe.yaml"
  expect_rc 1
  expect_err_has "cannot open $T/no-such-recipe.yaml"
  run_cmd "$REG" template create -f "$RECIPES/node.yaml" node@1 /bin/true
  expect_rc 2
  expect_err_has "-f RECIPE takes no other argument but --force"
}

ALL="$ALL t_recipe_nginx t_recipe_redis t_recipe_postgresql t_recipe_python t_recipe_node t_recipe_bad"

# ---- traced templates (docs/trace.md) ----

t_trace_nginx () {
  local port id www=$T/trace-www conf=$T/trace-nginx.conf
  port=$(free_port)
  mkdir -p "$www"
  echo "traced nginx $$" >"$www/index.html"
  cat >"$conf" <<CONF
user www-data;
worker_processes 1;
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  server { listen 127.0.0.1:$port; root $www; }
}
CONF
  # The plain closure, with the configuration and the site: nginx still
  # misses what its configuration names and where it logs.
  "$REG" template create nginxplain@1 /usr/sbin/nginx "$conf" "$www" --user www-data >/dev/null ||
    fail "create nginxplain@1"
  run_cmd timeout 60 "$REG" run --rm --network host -t nginxplain@1 -- /usr/sbin/nginx -c "$conf" -g 'daemon off;'
  expect_ne "$rc" 0 "nginx from the plain closure"
  expect_err_has 'open() "/etc/nginx/mime.types" failed'
  # Traced until it served one request.
  run_cmd "$REG" template create nginxtr@1 --user www-data --trace --trace-timeout 30 \
    --trace-answer "127.0.0.1:$port" --trace-send 'GET / HTTP/1.0\r\n\r\n' --trace-stop-signal SIGQUIT \
    -- /usr/sbin/nginx -c "$conf" -g 'daemon off;'
  expect_rc 0
  run_cmd "$REG" template inspect nginxtr@1
  expect_out_has "/etc/nginx/mime.types: sha256:"
  expect_out_has "$www/index.html: sha256:"
  expect_out_has "/var/log/nginx: dir"
  expect_out_has "/var/lib/nginx: dir"
  id=$("$REG" run -d --network host -t nginxtr@1 -- /usr/sbin/nginx -c "$conf" -g 'daemon off;')
  retry curl -fs "http://127.0.0.1:$port/" || fail "traced nginx did not serve: $("$REG" logs "$id" 2>&1 | tail -5)"
  run_cmd curl -fs "http://127.0.0.1:$port/"
  expect_out "traced nginx $$"
  "$REG" rm -f "$id" >/dev/null
  "$REG" template rm nginxplain@1 nginxtr@1 >/dev/null
}

t_trace_redis () {
  local port id
  port=$(free_port)
  local cmd=(/usr/bin/redis-server /etc/redis/redis.conf --port "$port" --bind 127.0.0.1 --daemonize no --supervised no)
  "$REG" template create redisplain@1 /usr/bin/redis-server /etc/redis/redis.conf >/dev/null ||
    fail "create redisplain@1"
  run_cmd timeout 60 "$REG" run --rm --network host -t redisplain@1 -- "${cmd[@]}"
  expect_ne "$rc" 0 "redis from the plain closure"
  run_cmd "$REG" template create redistr@1 --trace --trace-answer "127.0.0.1:$port" --trace-send 'PING\r\n' -- "${cmd[@]}"
  expect_rc 0
  id=$("$REG" run -d --network host -t redistr@1 -- "${cmd[@]}")
  retry redis-cli -p "$port" ping || fail "traced redis did not answer: $("$REG" logs "$id" 2>&1 | tail -5)"
  run_cmd redis-cli -p "$port" ping
  expect_out "PONG"
  "$REG" rm -f "$id" >/dev/null
  # The traced recipe, on a free port.
  port=$(free_port)
  sed "s/6399/$port/g" "$RECIPES/redis-traced.yaml" >"$T/redis-traced.yaml"
  recipe_create_file "$T/redis-traced.yaml" redis-traced@7.0
  id=$("$REG" run -d --network host -t redis-traced@7.0 -- /usr/bin/redis-server /etc/redis/redis.conf --port "$port" --bind 127.0.0.1 --daemonize no --supervised no)
  retry redis-cli -p "$port" ping || fail "redis-traced did not answer: $("$REG" logs "$id" 2>&1 | tail -5)"
  "$REG" rm -f "$id" >/dev/null
  "$REG" template rm redisplain@1 redistr@1 redis-traced@7.0 >/dev/null
}

recipe_create_file () {
  run_cmd "$REG" template create -f "$1"
  expect_rc 0
  expect_out_has "$2"
}

bad_trace () {
  local name=$1 want=$2 before
  shift 2
  before=$(snapshot)
  run_cmd "$REG" template create trbad@1 --trace "$@"
  expect_rc 1
  expect_err_has "$want"
  expect_eq "$(snapshot)" "$before" "$name: engine state changed"
}

t_trace_bad () {
  local port
  port=$(free_port)
  bad_trace fails 'template trbad@1: trace: /bin/false failed (exit status 1)' -- /bin/false
  bad_trace hangs 'template trbad@1: trace: /bin/sleep did not finish within 1 s' --trace-timeout 1 -- /bin/sleep 30
  bad_trace no-answer "/bin/sleep did not answer on 127.0.0.1:$port within 1 s" \
    --trace-timeout 1 --trace-answer "127.0.0.1:$port" -- /bin/sleep 30
  bad_trace exits-first "/bin/true exited (status 0) before answering on 127.0.0.1:$port" \
    --trace-answer "127.0.0.1:$port" -- /bin/true
  bad_trace missing 'trace: /no/such/command failed (exit status 127) (its output ended: reg-trace: /no/such/command: No such file or directory)' -- /no/such/command
  bad_trace bad-answer 'trace: answer address "nowhere" is not HOST:PORT' --trace-answer nowhere -- /bin/true
  bad_trace bad-signal 'trace: stop signal "NOPE" is not a signal' --trace-stop-signal NOPE -- /bin/true
  run_cmd "$REG" template create trbad@1 --trace
  expect_rc 2
  expect_err_has '--trace needs the command after "--"'
  run_cmd "$REG" template create trbad@1 /bin/true --trace-timeout 3
  expect_rc 2
  expect_err_has "--trace-* options need --trace"
  # A recipe whose trace hangs past its limit leaves nothing either.
  local before
  before=$(snapshot)
  printf 'name: trbad\nversion: "1"\ntrace: {command: [/bin/sleep, "30"], timeout: 1}\n' >"$T/trbad.yaml"
  run_cmd "$REG" template create -f "$T/trbad.yaml"
  expect_rc 1
  expect_err_has "template trbad@1: trace: /bin/sleep did not finish within 1 s"
  expect_eq "$(snapshot)" "$before" "a recipe with a hanging trace changed the engine"
}

ALL="$ALL t_trace_nginx t_trace_redis t_trace_bad"
