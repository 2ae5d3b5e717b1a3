# Security options (issue 6): --cap-add/--cap-drop, --user, --read-only,
# --security-opt seccomp=FILE.json (Docker's profile format). Sourced by
# run.sh.

CAPS_PROBE='while read k v rest; do case "$k" in CapEff:|CapBnd:|NoNewPrivs:) echo "$k $v";; esac; done < /proc/self/status'
MOUNT_PROBE='import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
os.makedirs("/tmp/m", exist_ok=True)
r = libc.mount(b"none", b"/tmp/m", b"tmpfs", 0, None)
print("mount", r, ctypes.get_errno())'

t_cap_add_drop () {
  run_cmd "$REG" run --rm --cap-drop CHOWN -t base@1 -- /bin/sh -c "$CAPS_PROBE"
  expect_out "CapEff: 00000000a00405fa
CapBnd: 00000000a00405fa
NoNewPrivs: 1"
  # Docker's spelling and ours: with or without CAP_, any case.
  run_cmd "$REG" run --rm --cap-add cap_mknod -t base@1 -- /bin/sh -c "$CAPS_PROBE"
  expect_out_has "CapEff: 00000000a80405fb"
  run_cmd "$REG" run --rm --cap-drop ALL --cap-add NET_BIND_SERVICE -t base@1 -- /bin/sh -c "$CAPS_PROBE"
  expect_out_has "CapEff: 0000000000000400"
  expect_out_has "CapBnd: 0000000000000400"
  # CAP_SYS_ADMIN also lifts the seccomp rules Docker ties to it (mount).
  run_cmd "$REG" run --rm -t py@3.11 -- "$PY" -c "$MOUNT_PROBE"
  expect_out "mount -1 1"
  run_cmd "$REG" run --rm --cap-add SYS_ADMIN -t py@3.11 -- "$PY" -c "$MOUNT_PROBE"
  expect_out "mount 0 0"
  # Kept in the record: a later start and every exec get the same set.
  local id
  id=$("$REG" generate --cap-drop ALL -t base@1 -- /bin/sh -c "$CAPS_PROBE")
  run_cmd "$REG" start -a "$id"
  expect_out_has "CapEff: 0000000000000000"
  run_cmd "$REG" inspect "$id"
  expect_out_has '"CapDrop": ['
  "$REG" rm -f "$id" >/dev/null
  id=$("$REG" run -d --cap-drop ALL -t base@1 -- /bin/sleep 100)
  run_cmd "$REG" exec "$id" /bin/sh -c "$CAPS_PROBE"
  expect_out_has "CapEff: 0000000000000000"
  "$REG" rm -f "$id" >/dev/null
  # Bad names: an error naming the option and the name, nothing created.
  local before
  before=$(snapshot)
  run_cmd "$REG" run --rm --cap-add NOPE -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "--cap-add NOPE: unknown capability"
  run_cmd "$REG" run --rm --cap-drop '' -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "--cap-drop : unknown capability"
  expect_eq "$(snapshot)" "$before" "engine changed by a bad capability"
}

t_user () {
  run_cmd "$REG" run --rm -u 1000:1001 -t base@1 -- /bin/sh -c "id -u; id -g; $CAPS_PROBE"
  expect_out "1000
1001
CapEff: 0000000000000000
CapBnd: 00000000a00405fb
NoNewPrivs: 1"
  # Not root: the lower layer (store objects) and / cannot be written.
  run_cmd "$REG" run --rm --user 1000 -t base@1 -- /bin/sh -c 'touch /bin/sh'
  expect_ne "$rc" 0 "user 1000 wrote /bin/sh"
  expect_err_has "Permission denied"
  local id
  id=$("$REG" run -d -u 4242 -t base@1 -- /bin/sleep 100)
  run_cmd "$REG" exec "$id" /usr/bin/id -u
  expect_out "4242"
  "$REG" rm -f "$id" >/dev/null
  local before
  before=$(snapshot)
  for bad in ':5' 99999999999 1:; do
    run_cmd "$REG" run --rm -u "$bad" -t base@1 -- /bin/true
    expect_rc 125
    expect_err_has "--user \"$bad\": must be UID or UID:GID"
  done
  # Names resolve through the templates' accounts (base@1 has none).
  for bad in www -1; do
    run_cmd "$REG" run --rm -u "$bad" -t base@1 -- /bin/true
    expect_rc 125
    expect_err_has "--user \"$bad\": no user \"$bad\" in the templates' accounts"
  done
  run_cmd "$REG" run --rm -u 1000:x -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "--user \"1000:x\": no group \"x\" in the templates' accounts"
  expect_eq "$(snapshot)" "$before" "engine changed by a bad --user"
}

t_read_only () {
  mkdir -p "$T/rw"
  run_cmd "$REG" run --rm --read-only -v "$T/rw:/data" -t base@1 -- /bin/sh -c \
    'touch /x; echo "root $?"; touch /dev/shm/x; echo "shm $?"; touch /data/f; echo "bind $?"'
  expect_out "root 1
shm 0
bind 0"
  expect_err_has "Read-only file system"
  [ -f "$T/rw/f" ] || fail "the rw bind of a --read-only container was not writable"
  run_cmd "$REG" run --rm -t base@1 -- /bin/sh -c 'touch /x && echo ok'
  expect_out "ok"
}

t_seccomp_profile () {
  # A profile of our own: mkdir refused with EACCES, everything else allowed.
  cat >"$T/deny-mkdir.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
EOF
  run_cmd "$REG" run --rm --security-opt "seccomp=$T/deny-mkdir.json" -t base@1 -- /bin/mkdir /tmp/d
  expect_rc 1
  expect_err_has "Permission denied"
  run_cmd "$REG" run --rm -t base@1 -- /bin/mkdir /tmp/d
  expect_rc 0
  # A real Docker-format profile (podman's, from containers-common): an
  # allow-list with rules included by capability.
  local profile=/usr/share/containers/seccomp.json
  if [ -f "$profile" ]; then
    run_cmd "$REG" run --rm --security-opt "seccomp=$profile" -t py@3.11 -- "$PY" -c "$MOUNT_PROBE"
    expect_out "mount -1 1"
    run_cmd "$REG" run --rm --cap-add SYS_ADMIN --security-opt "seccomp=$profile" -t py@3.11 -- \
      "$PY" -c "$MOUNT_PROBE"
    expect_out "mount 0 0"
    run_cmd "$REG" run --rm --security-opt "seccomp=$profile" -t base@1 -- /bin/sh -c 'echo hi | wc -c'
    expect_out "3"
  else
    fail "$profile missing (scripts/deps.sh --test installs golang-github-containers-common)"
  fi
  # Bad profiles: the reason, nothing created.
  local before
  before=$(snapshot)
  echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [' >"$T/bad1.json"
  echo '{"defaultAction": "SCMP_ACT_FOO"}' >"$T/bad2.json"
  echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscals": []}' >"$T/bad3.json"
  echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]}' >"$T/bad4.json"
  run_cmd "$REG" run --rm --security-opt "seccomp=$T/bad1.json" -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "seccomp profile: malformed JSON at line"
  run_cmd "$REG" run --rm --security-opt "seccomp=$T/bad2.json" -t base@1 -- /bin/true
  expect_err_has 'seccomp profile: defaultAction: action "SCMP_ACT_FOO" is not supported'
  run_cmd "$REG" run --rm --security-opt "seccomp=$T/bad3.json" -t base@1 -- /bin/true
  expect_err_has 'seccomp profile: unknown field "syscals"'
  run_cmd "$REG" run --rm --security-opt "seccomp=$T/bad4.json" -t base@1 -- /bin/true
  expect_err_has 'seccomp profile: syscalls[0]: args[0] needs index 0..5'
  run_cmd "$REG" run --rm --security-opt "seccomp=$T/none.json" -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "--security-opt seccomp=$T/none.json:"
  expect_eq "$(snapshot)" "$before" "engine changed by a bad seccomp profile"
}

# --userns=private needs subordinate IDs of user "reg": the test adds a
# range if the machine has none, and takes it away again. /etc/subuid is
# the machine's: two test runs at once (CI beside a developer's run) take
# turns on a lock, or one would take away the range the other checks.
t_userns () {
  local lock
  exec {lock}>/run/lock/reg-e2e-subid.lock
  flock "$lock"
  userns_checks
  exec {lock}>&-
}

userns_checks () {
  local added=""
  if ! grep -q '^reg:' /etc/subuid 2>/dev/null || ! grep -q '^reg:' /etc/subgid 2>/dev/null; then
    # Nothing to check without a range, which is the first case.
    run_cmd "$REG" run --rm --userns private -t base@1 -- /bin/true
    expect_rc 125
    expect_err_has 'no subordinate IDs for user "reg"'
    grep -q '^reg:' /etc/subuid 2>/dev/null || { echo "reg:300000:65536" >>/etc/subuid; added="$added subuid"; }
    grep -q '^reg:' /etc/subgid 2>/dev/null || { echo "reg:300000:65536" >>/etc/subgid; added="$added subgid"; }
  fi
  local base
  base=$(sed -n 's/^reg:\([0-9]*\):.*/\1/p' /etc/subuid | head -1)
  run_cmd "$REG" run --rm --userns private -t base@1 -- /bin/sh -c \
    'id -u; read a b c < /proc/self/uid_map; echo "$a $b"; stat -c "%u %g" /usr/bin/id /; touch /x && echo wrote'
  expect_out "0
0 $base
0 0
0 0
wrote"
  # Seen from the host: the container's root is an unprivileged user, and
  # what it writes in its upper layer belongs to that user; the store
  # objects, shown to it as root's through an idmapped mount, are not
  # changed on disk.
  local id pid obj
  id=$("$REG" run -d --userns private -t base@1 -- /bin/sh -c 'touch /made; exec /bin/sleep 100')
  sleep 0.3
  pid=$("$REG" inspect "$id" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(d["State"]["Pid"])')
  run_cmd grep '^Uid:' "/proc/$pid/status"
  expect_out_has "$base"
  expect_eq "$(stat -c %u "$ROOT/containers/$id/upper/made")" "$base" "owner of a file made in the container"
  obj=$(find "$ROOT/store/objects" -type f | head -1)
  expect_eq "$(stat -c %u "$obj")" "0" "store object owner"
  run_cmd "$REG" exec "$id" /bin/sh -c 'id -u; touch /by-exec'
  expect_out "0"
  expect_eq "$(stat -c %u "$ROOT/containers/$id/upper/by-exec")" "$base" "owner of a file made by exec"
  "$REG" rm -f "$id" >/dev/null
  # An app's layered environment (envgen.h): each lower layer idmapped.
  printf 'layered %s\n' "$$" >"$T/userns-app.txt"
  "$REG" template create usapp@1 "$T/userns-app.txt" --requires base@1 >/dev/null || fail "usapp@1"
  run_cmd "$REG" run --rm --userns private -t usapp@1 -- /bin/sh -c "cat $T/userns-app.txt; stat -c %u /bin/sh"
  expect_out "layered $$
0"
  "$REG" template rm usapp@1 >/dev/null
  # Its mount namespace belongs to the host's user namespace: even with
  # CAP_SYS_ADMIN (in its own namespace) it cannot mount.
  run_cmd "$REG" run --rm --userns private --cap-add SYS_ADMIN -t py@3.11 -- "$PY" -c "$MOUNT_PROBE"
  expect_out "mount -1 1"
  run_cmd "$REG" store verify
  expect_rc 0
  local before
  before=$(snapshot)
  run_cmd "$REG" run --rm --userns maybe -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has '--userns "maybe": must be "private" or "host"'
  run_cmd "$REG" run --rm --userns private --privileged -t base@1 -- /bin/true
  expect_err_has "--privileged and --userns=private do not go together"
  expect_eq "$(snapshot)" "$before" "engine changed by a bad --userns"
  case "$added" in *subuid*) sed -i '/^reg:300000:65536$/d' /etc/subuid ;; esac
  case "$added" in *subgid*) sed -i '/^reg:300000:65536$/d' /etc/subgid ;; esac
}

t_link_host_files () {
  # regd --link-host-files: root-owned, read-only host files become store
  # objects themselves (one inode for host and containers); anything else is
  # still copied; taking the engine root away leaves the host's files alone.
  local root3=$T/root3 sock3=$T/reg3.sock pid3 true_bin libc private
  true_bin=$(readlink -f /bin/true)
  libc=$(readlink -f /usr/lib/x86_64-linux-gnu/libc.so.6)
  private=$T/private-tool
  printf '#!/bin/sh\necho private %s\n' "$$" >"$private"
  chmod 0700 "$private"   # not readable by all: must be copied
  local nlink_before sum_before
  nlink_before=$(stat -c %h "$libc")
  sum_before=$(sha256sum <"$libc")
  "$REGD" --root "$root3" --socket "$sock3" $(net_opts 2) --link-host-files >>"$T/regd3.log" 2>&1 &
  pid3=$!
  local reg3="env REG_HOST=unix://$sock3 $REG"
  for _ in $(seq 200); do $reg3 version >/dev/null 2>&1 && break; sleep 0.05; done
  run_cmd $reg3 template create lh@1 /bin/true /bin/ls "$private"
  expect_rc 0
  local obj_true obj_libc obj_private
  obj_true=$(ls "$root3"/store/objects/sha256/*/"$(sha256sum "$true_bin" | cut -c3-64)".x)
  obj_libc=$(ls "$root3"/store/objects/sha256/*/"$(sha256sum "$libc" | cut -c3-64)"*)
  obj_private=$(ls "$root3"/store/objects/sha256/*/"$(sha256sum "$private" | cut -c3-64)".x)
  if [ "$(stat -c %d "$root3")" = "$(stat -c %d "$libc")" ]; then
    expect_eq "$(stat -c %i "$obj_true")" "$(stat -c %i "$true_bin")" "store object of /bin/true is the host's inode"
    expect_eq "$(stat -c %i "$obj_libc")" "$(stat -c %i "$libc")" "store object of libc is the host's inode"
    run_cmd $reg3 run --rm -t lh@1 -- /bin/ls -iL /usr/lib/x86_64-linux-gnu/libc.so.6
    expect_rc 0
    case "$out" in "$(stat -c %i "$libc")"*) ;; *) fail "container's libc inode '$out' is not the host's $(stat -c %i "$libc")" ;; esac
  fi
  expect_ne "$(stat -c %i "$obj_private")" "$(stat -c %i "$private")" "a private file is copied"
  expect_eq "$(stat -c %a "$obj_private")" "555" "mode of the copied executable"
  run_cmd $reg3 store verify
  expect_out_has " 0 corrupt"
  kill -TERM "$pid3"
  wait "$pid3" 2>/dev/null
  grep -q "ERROR: .*Sanitizer" "$T/regd3.log" && fail "regd --link-host-files: $(grep -m1 'ERROR: ' "$T/regd3.log")"
  rm -rf "$root3"
  expect_eq "$(stat -c %h "$libc")" "$nlink_before" "links of the host's libc after the root is gone"
  expect_eq "$(sha256sum <"$libc")" "$sum_before" "host libc's content"
}

t_damaged_state () {
  # A container whose state file is damaged (a crash, a disk error, a hand
  # edit) is listed as dead, refuses everything with a message that says
  # how out, and rm -f removes it: its processes, cgroups, name and files.
  local id cg
  id=$("$REG" run -d --name dmg -t base@1 -- /bin/sleep 300)
  [ ${#id} = 64 ] || fail "run -d printed '$id'"
  sleep 0.3
  cg=/sys/fs/cgroup/pids/reg/$id
  [ -d /sys/fs/cgroup/pids ] || cg=/sys/fs/cgroup/reg/$id
  [ -n "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] || fail "no process in $cg"
  local mon
  mon=$("$REG" inspect dmg | "$PY" -c 'import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(d["State"]["MonitorPid"])')
  printf '{"Id": "%s", "State": ' "$id" >"$ROOT/containers/$id/state.json"
  run_cmd "$REG" ps -a
  expect_out_has "${id:0:12}"
  expect_out_has "dead"
  run_cmd "$REG" inspect dmg
  expect_rc 1
  expect_err_has "state file"
  expect_err_has "is damaged (\`reg rm -f\` removes the container)"
  run_cmd "$REG" rm dmg
  expect_rc 1
  expect_err_has "damaged"
  [ -d "$ROOT/containers/$id" ] || fail "rm without -f removed a damaged container"
  run_cmd "$REG" rm -f dmg
  expect_rc 0
  [ -e "$ROOT/containers/$id" ] && fail "the damaged container's directory is still there"
  [ -e "$ROOT/containers/.names/dmg" ] && fail "the damaged container's name is still taken"
  [ -d "$cg" ] && fail "its cgroup $cg is still there"
  for _ in $(seq 50); do kill -0 "$mon" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$mon" 2>/dev/null && fail "its monitor $mon still runs"
  run_cmd "$REG" ps -a
  expect_rc 0
  case "$out" in *"${id:0:12}"*) fail "still listed: $out" ;; esac
  run_cmd "$REG" run --rm --name dmg -t base@1 -- /bin/true
  expect_rc 0
}

ALL="$ALL t_cap_add_drop t_user t_read_only t_seccomp_profile t_userns t_link_host_files t_damaged_state"
