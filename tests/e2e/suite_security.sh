# Escape and abuse tests, and noisy neighbours (issue 6). Sourced by run.sh.
#
# Each escape runs in a default container and must fail with the expected
# errno or effect, and the host must be unchanged. So that a probe cannot
# "fail" for the wrong reason (a typo, a missing file), the same probe is run
# where it must succeed (--privileged, an added capability, or the container
# probing itself) and the two outcomes are compared.

# A python helper for raw syscalls: sc(name, nr, args...) prints
# "name <return> <errno>".
SC_PY='import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def sc(name, nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(nr, *args)
    print(name, 0 if r >= 0 else r, ctypes.get_errno() if r < 0 else 0)
'

# the state of the store and of the generated environments: every object
# and every entry of envs/ with its inode, mode, size and link target.
store_state () {
  (cd "$ROOT" && find store/objects envs -printf '%p %i %m %s %l\n' | sort) | sha256sum
}

# Environments are generated on first use: make both before a snapshot.
warm_envs () {
  "$REG" run --rm -t base@1 -- /bin/true >/dev/null 2>&1
  "$REG" run --rm -t py@3.11 -- "$PY" -c pass >/dev/null 2>&1
}

expect_store_intact () {
  local what=$1 before=$2
  expect_eq "$(store_state)" "$before" "store or environments changed by $what"
  run_cmd "$REG" store verify
  expect_rc 0
  expect_out_has " 0 corrupt"
}

t_escape_mount () {
  # mount (a bind of /), umount of /proc, and the new mount API (fsopen,
  # open_tree): EPERM by default; the same calls work with --privileged.
  local probe="$SC_PY"'
os.makedirs("/tmp/m", exist_ok=True)
sc("bind", 165, b"/", b"/tmp/m", None, 4096 | 16384, None)   # MS_BIND|MS_REC
sc("fsopen", 430, b"tmpfs", 0)
sc("open_tree", 428, -100, b"/", 1)                          # OPEN_TREE_CLONE
sc("umount", 166, b"/proc", 2)                               # MNT_DETACH
print("proc-still-there", os.path.exists("/proc/self/status"))'
  local before
  warm_envs
  before=$(store_state)
  run_cmd "$REG" run --rm -t py@3.11 -- "$PY" -c "$probe"
  expect_rc 0
  expect_out "bind -1 1
fsopen -1 1
open_tree -1 1
umount -1 1
proc-still-there True"
  run_cmd "$REG" run --rm --privileged -t py@3.11 -- "$PY" -c "$probe"
  expect_rc 0
  expect_out "bind 0 0
fsopen 0 0
open_tree 0 0
umount 0 0
proc-still-there False"
  expect_store_intact "mount probes" "$before"
}

t_escape_pivot_root () {
  # pivot_root: EPERM by default, a path error (the call was made) when
  # privileged. The classic chroot break-out (chroot into a subdirectory,
  # climb with .., chroot .) is allowed (CAP_SYS_CHROOT, as in Docker) but
  # only reaches the container's own root: the old root was detached.
  local probe="$SC_PY"'
os.makedirs("/tmp/new/old", exist_ok=True)
sc("pivot_root", 155, b"/tmp/new", b"/tmp/new/old")
fd = os.open("/", os.O_RDONLY)
os.chroot("/tmp/new")
os.fchdir(fd)
for _ in range(64):
    os.chdir("..")
os.chroot(".")
print("chroot-escape sees", sorted(os.listdir("/")))
print("host-etc", os.path.exists("/etc/debian_version"), os.path.exists("/etc/shadow"))'
  run_cmd "$REG" run --rm -t py@3.11 -- "$PY" -c "$probe"
  expect_rc 0
  expect_out_has "pivot_root -1 1"
  expect_out_has "host-etc False False"
  expect_out_has "chroot-escape sees ['app', 'dev', 'etc', 'lib64', 'proc', 'root', 'run', 'sys', 'tmp', 'usr']"
  run_cmd "$REG" run --rm --privileged -t py@3.11 -- "$PY" -c "$probe"
  expect_rc 0
  # EBUSY or EINVAL (/tmp/new is not a mount point): the call got past
  # seccomp to the kernel.
  case "$out" in "pivot_root -1 "[0-9]*) ;; *) fail "privileged pivot_root did not run: $out" ;; esac
  case "$out" in "pivot_root -1 1"$'\n'*) fail "privileged pivot_root got EPERM: $out" ;; esac
  expect_out_has "host-etc False False"
  # The host itself has what the break-out looked for.
  [ -e /etc/debian_version ] || fail "the host has no /etc/debian_version: the probe proves nothing"
}

t_escape_sysrq () {
  # /proc/sysrq-trigger is mounted read-only (Docker's list) where it exists;
  # this kernel may not have it, so the write must fail either way, and the
  # mechanism that covers it is checked on /proc/sys, which always exists:
  # a read-only mount in the container, not in a --privileged one.
  local probe='test -e /proc/self/status && echo proc-mounted
test -e /proc/sysrq-trigger && echo sysrq-present
echo h > /proc/sysrq-trigger && echo WROTE
while read -r id parent dev root mp opts rest; do
  case "$mp" in /proc/sys|/proc/sysrq-trigger) echo "mount $mp ${opts%%,*}";; esac
done < /proc/self/mountinfo'
  run_cmd "$REG" run --rm -t base@1 -- /bin/sh -c "$probe"
  expect_out_has "proc-mounted"
  expect_out_has "mount /proc/sys ro"
  case "$out" in *WROTE*) fail "wrote /proc/sysrq-trigger: $out" ;; esac
  if [ -e /proc/sysrq-trigger ]; then
    expect_out_has "sysrq-present"
    expect_out_has "mount /proc/sysrq-trigger ro"
    expect_err_has "Read-only file system"
  else
    case "$out" in *sysrq-present*) fail "/proc/sysrq-trigger in the container but not on the host" ;; esac
    expect_err_has "/proc/sysrq-trigger"
  fi
  # Privileged: no read-only /proc/sys (the probe reads mountinfo right).
  # It does not write sysrq-trigger, which would reach the host kernel.
  run_cmd "$REG" run --rm --privileged -t base@1 -- /bin/sh -c "${probe/echo h >/: >}"
  expect_out_has "proc-mounted"
  case "$out" in *"mount /proc/sys ro"*) fail "--privileged has a read-only /proc/sys: $out" ;; esac
}

t_escape_kernel_module () {
  # init_module, finit_module, delete_module: EPERM by default; with
  # --privileged the kernel sees the calls and rejects the bad arguments.
  local probe="$SC_PY"'
sc("init_module", 175, None, 0, b"")
sc("finit_module", 313, -1, b"", 0)
sc("delete_module", 176, b"reg_no_such_module", 0o4000)'
  run_cmd "$REG" run --rm -t py@3.11 -- "$PY" -c "$probe"
  expect_out "init_module -1 1
finit_module -1 1
delete_module -1 1"
  # Privileged: the kernel answers (ENOSYS where it has no module support,
  # as here; EBADF, ENOENT, ... otherwise), never seccomp's EPERM.
  run_cmd "$REG" run --rm --privileged -t py@3.11 -- "$PY" -c "$probe"
  expect_rc 0
  local call
  for call in init_module finit_module delete_module; do
    case "$out" in *"$call -1 "[0-9]*) ;; *) fail "privileged $call did not run: $out" ;; esac
    case "$out" in *"$call -1 1"|*"$call -1 1"$'\n'*) fail "privileged $call got EPERM: $out" ;; esac
  done
}

t_escape_ptrace () {
  # A host process and another container's process are outside the PID
  # namespace: kill, ptrace and pidfd_open give ESRCH, and nothing gets
  # traced. The container's own child can be traced (the probe works).
  local host_pid other other_pid
  sleep 1000 &
  host_pid=$!
  other=$("$REG" run -d -t base@1 -- /bin/sleep 1000)
  other_pid=$("$REG" inspect "$other" | sed -n 's/.*"Pid": *\([0-9]*\).*/\1/p' | head -1)
  [ -n "$other_pid" ] && [ "$other_pid" -gt 0 ] || fail "no Pid for container $other"
  local probe="$SC_PY"'
import time, signal
for label, pid in (("host", int(sys.argv[1])), ("other", int(sys.argv[2]))):
    try:
        os.kill(pid, 0)
        print(label, "kill", 0)
    except OSError as e:
        print(label, "kill", e.errno)
    sc(label + " attach", 101, 16, pid, 0, 0)                # PTRACE_ATTACH
    sc(label + " seize", 101, 0x4206, pid, 0, 0)             # PTRACE_SEIZE
    sc(label + " pidfd_open", 434, pid, 0)
child = os.fork()
if child == 0:
    time.sleep(30)
    os._exit(0)
sc("child attach", 101, 16, child, 0, 0)
os.kill(child, signal.SIGKILL)'
  run_cmd "$REG" run --rm -t py@3.11 -- "$PY" -c "$probe" "$host_pid" "$other_pid"
  expect_rc 0
  expect_out "host kill 3
host attach -1 3
host seize -1 3
host pidfd_open -1 3
other kill 3
other attach -1 3
other seize -1 3
other pidfd_open -1 3
child attach 0 0"
  local p
  for p in "$host_pid" "$other_pid"; do
    expect_eq "$(sed -n 's/^TracerPid:\s*//p' "/proc/$p/status")" "0" "TracerPid of $p"
    expect_eq "$(sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$p/status")" "S" "state of $p"
  done
  kill "$host_pid"
  wait "$host_pid" 2>/dev/null
  "$REG" rm -f "$other" >/dev/null
}

t_escape_open_by_handle () {
  # The "shocker" escape: a file handle of a host file, opened relative to a
  # bind mount of the same host filesystem. Refused by default (seccomp and
  # no CAP_DAC_READ_SEARCH); with --privileged the same probe reads the
  # host file, so the handle and the probe are right.
  mkdir -p "$T/obh/pub" "$T/obh/hidden"
  echo "host-secret-$RANDOM$RANDOM" >"$T/obh/hidden/secret"
  local secret handle
  secret=$(cat "$T/obh/hidden/secret")
  handle=$(python3 - "$T/obh/hidden/secret" <<'PY'
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(8 + 128)
ctypes.memmove(buf, (128).to_bytes(4, "little"), 4)
mnt = ctypes.c_int()
r = libc.name_to_handle_at(-100, sys.argv[1].encode(), buf, ctypes.byref(mnt), 0)
assert r == 0, ctypes.get_errno()
n = int.from_bytes(buf.raw[:4], "little")
print(buf.raw[:8 + n].hex())
PY
)
  [ -n "$handle" ] || fail "no file handle for the host file"
  local probe='import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
h = bytes.fromhex(sys.argv[1])
buf = ctypes.create_string_buffer(h, len(h))
mfd = os.open("/pub", os.O_RDONLY)
ctypes.set_errno(0)
fd = libc.open_by_handle_at(mfd, buf, os.O_RDONLY)
print("open_by_handle_at", 0 if fd >= 0 else fd, ctypes.get_errno() if fd < 0 else 0)
if fd >= 0:
    print("read", os.read(fd, 200).decode().strip())
nb = ctypes.create_string_buffer(8 + 128)
ctypes.memmove(nb, (128).to_bytes(4, "little"), 4)
mnt = ctypes.c_int()
ctypes.set_errno(0)
r = libc.name_to_handle_at(-100, b"/pub", nb, ctypes.byref(mnt), 0)
print("name_to_handle_at", r, ctypes.get_errno() if r < 0 else 0)'
  run_cmd "$REG" run --rm -v "$T/obh/pub:/pub:ro" -t py@3.11 -- "$PY" -c "$probe" "$handle"
  expect_rc 0
  expect_out "open_by_handle_at -1 1
name_to_handle_at -1 1"
  case "$out" in *"$secret"*) fail "a default container read the host file by handle" ;; esac
  run_cmd "$REG" run --rm --privileged -v "$T/obh/pub:/pub:ro" -t py@3.11 -- "$PY" -c "$probe" "$handle"
  expect_out_has "open_by_handle_at 0 0"
  expect_out_has "read $secret"
}

t_escape_mknod () {
  # A block device (the host's disk, 8:0) and /dev/mem (char 1:1) cannot be
  # made; nothing appears in the upper layer on the host. With
  # --cap-add MKNOD the same probe makes them (and the upper layer shows it).
  local probe='import os, stat
for name, kind, dev in (("sda", stat.S_IFBLK, os.makedev(8, 0)), ("mem", stat.S_IFCHR, os.makedev(1, 1))):
    try:
        os.mknod("/tmp/" + name, kind | 0o600, dev)
        print(name, "made")
    except OSError as e:
        print(name, "errno", e.errno)'
  local id
  id=$("$REG" run -d --name mknod-default -t py@3.11 -- "$PY" -c "$probe")
  "$REG" wait "$id" >/dev/null 2>&1
  run_cmd "$REG" logs "$id"
  expect_out "sda errno 1
mem errno 1"
  local full
  full=$(cd "$ROOT/containers" && ls -d "$id"* | head -1)
  [ -d "$ROOT/containers/$full/upper" ] || fail "no upper layer at containers/$id*"
  run_cmd find "$ROOT/containers/$full/upper" \( -type b -o -type c \) ! -perm 0000
  expect_eq "$out" "" "device nodes in the default container's upper layer"
  "$REG" rm -f "$id" >/dev/null
  id=$("$REG" run -d --name mknod-capped --cap-add MKNOD -t py@3.11 -- "$PY" -c "$probe")
  "$REG" wait "$id" >/dev/null 2>&1
  run_cmd "$REG" logs "$id"
  expect_out "sda made
mem made"
  full=$(cd "$ROOT/containers" && ls -d "$id"* | head -1)
  [ -b "$ROOT/containers/$full/upper/tmp/sda" ] || fail "--cap-add MKNOD: no block device in the upper layer"
  "$REG" rm -f "$id" >/dev/null
}

# Sniffs the host's loopback for a marker sent from the host: prints
# "packet ERRNO" and "icmp ERRNO" when the sockets are refused, "captured"
# when the marker was seen (bounded: 10 s).
SNIFF_PY='import socket, sys, time
marker = sys.argv[1].encode()
try:
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    print("icmp 0")
except OSError as e:
    print("icmp", e.errno)
try:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
except OSError as e:
    print("packet", e.errno)
    sys.exit(0)
s.bind(("lo", 0))
s.settimeout(0.5)
end = time.time() + 10
while time.time() < end:
    try:
        if marker in s.recv(65535):
            print("captured")
            break
    except socket.timeout:
        pass'

t_escape_sniff () {
  # A default container on the host network cannot open raw or AF_PACKET
  # sockets (no CAP_NET_RAW, as in Podman); with --cap-add NET_RAW the same
  # probe captures a UDP datagram the host sends on its loopback.
  local marker="reg-sniff-$RANDOM$RANDOM" port=$(free_port)
  run_cmd "$REG" run --rm --network host -t py@3.11 -- "$PY" -c "$SNIFF_PY" "$marker"
  expect_rc 0
  expect_out "icmp 1
packet 1"
  # The guard run: the host sends the marker to an unused loopback port
  # (bounded: 100 datagrams over 10 s) while the container listens.
  python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(100):
    s.sendto(sys.argv[1].encode(), ("127.0.0.1", int(sys.argv[2])))
    time.sleep(0.1)' "$marker" "$port" &
  local sender=$!
  run_cmd "$REG" run --rm --network host --cap-add NET_RAW -t py@3.11 -- "$PY" -c "$SNIFF_PY" "$marker"
  kill "$sender" 2>/dev/null
  wait "$sender" 2>/dev/null
  expect_rc 0
  expect_out "icmp 0
captured"
}

t_escape_store_write () {
  # libc is one store object shared by every template. Writing it through
  # /proc/self/root, a hard link, a re-open of a read-only fd through
  # /proc/self/fd, or truncating it, changes only the container's copy
  # (overlay copy-up): the container sees its write, the store and every
  # environment keep their bytes, and a new container sees the original.
  local lib=/usr/lib/x86_64-linux-gnu/libc.so.6 digest obj before trick
  digest=$(sha256sum "$lib" | cut -c1-64)
  obj=$(ls "$ROOT"/store/objects/sha256/"${digest:0:2}"/"${digest:2}"* | head -1)
  [ -f "$obj" ] || fail "no store object for $lib"
  warm_envs
  before=$(store_state)
  local probe='import os, sys
lib = "/usr/lib/x86_64-linux-gnu/libc.so.6"
trick = sys.argv[1]
def write(path):
    fd = os.open(path, os.O_WRONLY)
    os.pwrite(fd, b"PWN!", 0)
    os.close(fd)
try:
    if trick == "procroot":
        write("/proc/self/root" + lib)
    elif trick == "hardlink":
        os.link(lib, "/tmp/hl")
        write("/tmp/hl")
    elif trick == "fdreopen":
        ro = os.open(lib, os.O_RDONLY)
        write("/proc/self/fd/%d" % ro)
    elif trick == "truncate":
        os.truncate("/proc/self/root" + lib, 4)
        write(lib)
    print(trick, "wrote")
except OSError as e:
    print(trick, "errno", e.errno)
print("container sees", open(lib, "rb").read(4))'
  for trick in procroot hardlink fdreopen truncate; do
    run_cmd "$REG" run --rm -t py@3.11 -- "$PY" -c "$probe" "$trick"
    expect_out "$trick wrote
container sees b'PWN!'"
    expect_eq "$(sha256sum <"$obj" | cut -c1-64)" "$digest" "store object bytes after $trick"
  done
  run_cmd "$REG" run --rm -t py@3.11 -- "$PY" -c "print(open('$lib', 'rb').read(4))"
  expect_out "b'\x7fELF'"
  expect_store_intact "writes to libc" "$before"
}

t_escape_volume_symlink () {
  # A container replaces the parent of its -v target (or the target file)
  # with a symlink to a host path; the next start must not follow it: no
  # directory or file is made on the host, and the start fails clearly.
  mkdir -p "$T/vsym/src" "$T/vsym/host"
  echo vol >"$T/vsym/src/f"
  local sleeper='import time; time.sleep(1000)' id
  id=$("$REG" run -d --name vsym-dir -v "$T/vsym/src:/opt/link/data" -t py@3.11 -- "$PY" -c "$sleeper")
  run_cmd "$REG" exec vsym-dir "$PY" -c "import os
print(open('/opt/link/data/f').read().strip())
os.rename('/opt/link', '/opt/old')
os.symlink('$T/vsym/host', '/opt/link')
print(os.readlink('/opt/link'))"
  expect_out "vol
$T/vsym/host"
  "$REG" stop -t 0 vsym-dir >/dev/null
  run_cmd "$REG" start vsym-dir
  expect_ne "$rc" 0 "start with a symlinked -v parent"
  expect_err_has "a symlink or file is in the way"
  run_cmd ls -A "$T/vsym/host"
  expect_eq "$out" "" "host directory behind the symlink"
  "$REG" rm -f vsym-dir >/dev/null
  # The target file itself: its directory is moved away (the bind moves
  # with it) and a new one holds a relative link climbing to a host path.
  id=$("$REG" run -d --name vsym-file -v "$T/vsym/src/f:/opt/d/file" -t py@3.11 -- "$PY" -c "$sleeper")
  run_cmd "$REG" exec vsym-file "$PY" -c "import os
os.rename('/opt/d', '/opt/old')
os.mkdir('/opt/d')
os.symlink('../../../../../../../../..$T/vsym/host/victim', '/opt/d/file')
print(os.readlink('/opt/d/file'))"
  expect_out "../../../../../../../../..$T/vsym/host/victim"
  "$REG" stop -t 0 vsym-file >/dev/null
  run_cmd "$REG" start vsym-file
  expect_ne "$rc" 0 "start with a symlinked -v file target"
  expect_err_has "mount target /opt/d/file: Too many levels of symbolic links"
  run_cmd ls -A "$T/vsym/host"
  expect_eq "$out" "" "host directory behind the file symlink"
  "$REG" rm -f vsym-file >/dev/null
  # Removing the containers removed their symlinks, not what they point to.
  [ -d "$T/vsym/host" ] || fail "rm -f of a container with a symlink to $T/vsym/host removed it"
}

t_escape_install_symlink () {
  # `reg install` into a stopped container writes the upper layer on the
  # host: symlinks planted by the container (a final component pointing to
  # a host file, a relative parent climbing to a host directory) must not
  # be followed there; nor in a running container.
  mkdir -p "$T/isym/victim-dir"
  echo "host original" >"$T/isym/victim-dir/victim"
  printf '#!/bin/sh\necho planted\n' >"$T/isym/planted"
  "$REG" template create iplant@1 "$T/isym/planted" >/dev/null || fail "create iplant@1"
  local d
  d=$(sha256sum "$T/isym/planted" | cut -c1-64)
  printf 'name: ifinal\nversion: "1"\nfiles:\n  /srv/tool: sha256:%s\n' "$d" >"$T/isym/final.ret"
  printf 'name: iparent\nversion: "1"\nfiles:\n  /srv/rel/planted: sha256:%s\n' "$d" >"$T/isym/parent.ret"
  "$REG" template add "$T/isym/final.ret" >/dev/null || fail "add ifinal@1"
  "$REG" template add "$T/isym/parent.ret" >/dev/null || fail "add iparent@1"
  local id
  id=$("$REG" run -d --name isym -t py@3.11 -- "$PY" -c 'import time; time.sleep(1000)')
  run_cmd "$REG" exec isym "$PY" -c "import os
os.makedirs('/srv')
os.symlink('$T/isym/victim-dir/victim', '/srv/tool')
os.symlink('../../../../../../../../..$T/isym/victim-dir', '/srv/rel')"
  expect_rc 0
  run_cmd "$REG" install isym ifinal@1
  expect_ne "$rc" 0 "install over a planted symlink"
  expect_err_has "/srv/tool"
  run_cmd "$REG" install isym iparent@1
  expect_ne "$rc" 0 "install under a planted symlinked directory"
  expect_err_has "/srv/rel"
  expect_eq "$(cat "$T/isym/victim-dir/victim")" "host original" "host file after install"
  expect_eq "$(ls -A "$T/isym/victim-dir")" "victim" "host directory after install"
  grep -q " $T/isym" /proc/self/mountinfo && fail "a mount appeared on the host under $T/isym"
  # Stopped: install only records the template; the next start gets the
  # file from the environment, under the container's own symlink.
  "$REG" stop -t 0 isym >/dev/null
  run_cmd "$REG" install isym ifinal@1
  expect_rc 0
  run_cmd "$REG" start isym
  expect_rc 0
  expect_eq "$(cat "$T/isym/victim-dir/victim")" "host original" "host file after a start with ifinal@1"
  expect_eq "$(ls -A "$T/isym/victim-dir")" "victim" "host directory after a start with ifinal@1"
  "$REG" rm -f isym >/dev/null
  # The placeholder an install leaves in the upper layer is removed on the
  # host before the next start: the container moves the placeholder's
  # directory away and plants a symlink to a host directory holding an
  # empty file of the same name. The clean-up must not follow it.
  : >"$T/isym/victim-dir/planted"
  printf 'name: iplace\nversion: "1"\nfiles:\n  /srv2/planted: sha256:%s\n' "$d" >"$T/isym/place.ret"
  "$REG" template add "$T/isym/place.ret" >/dev/null || fail "add iplace@1"
  id=$("$REG" run -d --name isym2 -t py@3.11 -- "$PY" -c 'import time; time.sleep(1000)')
  run_cmd "$REG" install isym2 iplace@1
  expect_rc 0
  run_cmd "$REG" exec isym2 "$PY" -c "import os
os.rename('/srv2', '/srv2-old')
os.symlink('$T/isym/victim-dir', '/srv2')
print(sorted(os.listdir('/srv2-old')))"
  expect_out "['planted']"
  "$REG" stop -t 0 isym2 >/dev/null
  "$REG" start isym2 >/dev/null 2>&1
  "$REG" stop -t 0 isym2 >/dev/null 2>&1
  [ -e "$T/isym/victim-dir/planted" ] || fail "HOLE: the placeholder clean-up followed a container symlink and deleted the host file $T/isym/victim-dir/planted"
  expect_eq "$(cat "$T/isym/victim-dir/victim")" "host original" "host file after the placeholder clean-up"
  "$REG" rm -f isym2 >/dev/null
  "$REG" template rm ifinal@1 iparent@1 iplace@1 iplant@1 >/dev/null
}

t_escape_other_container () {
  # A's upper layer holds a secret. B sees none of A's processes, so
  # /proc/<pid>/root cannot lead into A, and the paths mountinfo reveals
  # (upperdir=...) do not exist inside B. The same probe run in A finds the
  # secret through /proc/1/root, so the probe works.
  local secret="a-secret-$RANDOM$RANDOM" a b a_pid
  a=$("$REG" run -d --name upper-a -t py@3.11 -- "$PY" -c "
open('/secret.txt', 'w').write('$secret')
import time; time.sleep(1000)")
  a_pid=$("$REG" inspect "$a" | sed -n 's/.*"Pid": *\([0-9]*\).*/\1/p' | head -1)
  local full
  full=$(cd "$ROOT/containers" && ls -d "$a"* | head -1)
  for _ in $(seq 100); do [ -f "$ROOT/containers/$full/upper/secret.txt" ] && break; sleep 0.1; done
  expect_eq "$(cat "$ROOT/containers/$full/upper/secret.txt" 2>/dev/null)" "$secret" "A's upper layer on the host"
  local probe='import os, re, sys
a_id, a_pid = sys.argv[1], sys.argv[2]
pids = sorted(p for p in os.listdir("/proc") if p.isdigit())
print("processes", len(pids))
found = []
for p in pids + [a_pid]:
    for path in ("/proc/%s/root/secret.txt" % p, "/proc/%s/cwd/secret.txt" % p):
        try:
            found.append(path + "=" + open(path).read())
        except OSError:
            pass
upper = re.search(r"upperdir=([^,\s]+)", open("/proc/self/mountinfo").read())
if upper:
    guess = re.sub(r"/containers/[^/]+/upper", "/containers/%s/upper" % a_id, upper.group(1))
    for path in (guess + "/secret.txt", "/proc/1/root" + guess + "/secret.txt"):
        try:
            found.append(path + "=" + open(path).read())
        except OSError:
            pass
for dirpath, dirs, files in os.walk("/"):
    if dirpath in ("/proc", "/sys"):
        dirs[:] = []
    if "secret.txt" in files:
        found.append(os.path.join(dirpath, "secret.txt"))
print("found", found)'
  run_cmd "$REG" run --rm -t py@3.11 -- "$PY" -c "$probe" "$full" "$a_pid"
  expect_rc 0
  expect_out "processes 1
found []"
  case "$out" in *"$secret"*) fail "B read A's secret" ;; esac
  run_cmd "$REG" exec upper-a "$PY" -c "$probe" "$full" "$a_pid"
  expect_out_has "/proc/1/root/secret.txt=$secret"
  "$REG" rm -f upper-a >/dev/null
}

# ---- noisy neighbours ----

. "$HERE/neighbours_jobs.sh"

# cg_file CONTROLLER FILE ID: a container's cgroup file (v1 or v2).
cg_file () {
  if [ -d /sys/fs/cgroup/memory ]; then
    echo "/sys/fs/cgroup/$1/reg/$3/$2"
  else
    echo "/sys/fs/cgroup/reg/$3/$2"
  fi
}

# counter FILE KEY: the value of "KEY N" in a flat-keyed cgroup file.
counter () { awk -v k="$2" '$1 == k {print $2}' "$1" 2>/dev/null; }

full_id () { "$REG" inspect "$1" | sed -n 's/.*"Id": *"\([0-9a-f]*\)".*/\1/p' | head -1; }

# B's fixed job next to a running bomb: it must finish with the right
# result (within a generous bound; its time is measured by
# bench/neighbours.sh, not asserted here).
run_victim () {
  run_cmd timeout 300 "$REG" run --rm --name neighbour-b -t py@3.11 -- "$PY" -c "$1"
  [ "$rc" = 124 ] && fail "B did not finish within 300 s next to the bomb"
  expect_rc 0
  expect_out_has "$2"
  "$REG" rm -f neighbour-b >/dev/null 2>&1
}

# kill_cgroup PROCS: SIGKILL every process listed in a cgroup.procs file
# until none is left (at most 60 s). The safety net of the bomb tests, so
# that a failed removal cannot leave a bomb on the machine.
kill_cgroup () {
  local p left
  for _ in $(seq 60); do
    left=$(cat "$1" 2>/dev/null)   # (cgroup files have no size: not -s)
    [ -n "$left" ] || return 0
    for p in $left; do kill -KILL "$p" 2>/dev/null; done
    sleep 1
  done
}

# remove_bomb NAME PROCS [EXE]: rm -f must end A: its cgroup (whose
# cgroup.procs file is PROCS) is gone and, if EXE is given, no process of
# EXE is left on the host.
remove_bomb () {
  local id=$1 procs=$2 exe=${3:-} left
  run_cmd timeout 120 "$REG" rm -f "$id"
  expect_rc 0
  if [ "$rc" != 0 ]; then
    # (Known: reg kills only the container's first process, and a fork
    # bomb's first process can be stuck in the kernel inside fork.)
    kill_cgroup "$procs"
    "$REG" rm -f "$id" >/dev/null 2>&1
  fi
  for _ in $(seq 240); do
    left=$( (cat "$procs" 2>/dev/null
      [ -z "$exe" ] || for p in /proc/[0-9]*; do [ "$(readlink "$p/exe" 2>/dev/null)" = "$exe" ] && echo "$p"; done) | wc -l)
    [ "$left" = 0 ] && break
    sleep 0.5
  done
  expect_eq "$left" "0" "processes of $id left after rm -f"
  [ -e "$procs" ] && fail "the cgroup of $id is left after rm -f: $procs"
  kill_cgroup "$procs"
}

t_neighbour_fork_bomb () {
  # A fork bomb in A under the default pids limit (512) while B runs a
  # CPU-bound job: B finishes with its result; A was held at the limit the
  # whole time (forks refused, A still running) and rm -f ends it all.
  printf '%s\n' "$FORK_BOMB_C" >"$T/forkbomb.c"
  ${CC:-cc} -O2 -o "$T/forkbomb" "$T/forkbomb.c" || { fail "cannot build the fork bomb"; return; }
  "$REG" template create forkbomb@1 "$T/forkbomb" >/dev/null || fail "create forkbomb@1"
  local a pids
  a=$("$REG" run -d --name bomb-fork -t forkbomb@1 -- "$T/forkbomb")
  a=$(full_id "$a")
  pids=$(cg_file pids pids.current "$a")
  expect_eq "$(cat "$(cg_file pids pids.max "$a")")" "512" "A's pids limit"
  for _ in $(seq 600); do [ "$(cat "$pids" 2>/dev/null || echo 0)" -ge 500 ] && break; sleep 0.2; done
  [ "$(cat "$pids")" -ge 500 ] || fail "the fork bomb did not reach 500 processes: $(cat "$pids")"
  run_victim "$CPU_JOB_PY" "$CPU_JOB_OUT"
  [ "$(cat "$pids")" -le 512 ] || fail "A has $(cat "$pids") processes, above its limit"
  local refused
  refused=$(counter "$(cg_file pids pids.events "$a")" max)
  [ "${refused:-0}" -gt 0 ] || fail "no fork of A was refused (pids.events max: '$refused')"
  run_cmd "$REG" inspect bomb-fork
  expect_out_has '"Status": "running"'
  remove_bomb bomb-fork "$(cg_file pids cgroup.procs "$a")" "$T/forkbomb"
  "$REG" template rm forkbomb@1 >/dev/null
}

t_neighbour_malloc_bomb () {
  # A malloc bomb in A with --memory 64m while B touches 200 MiB twice and
  # copies it 60 times: B finishes with its result; A's children are
  # OOM-killed again and again inside A's limit, A itself keeps running.
  local a oom usage
  a=$("$REG" run -d --name bomb-malloc -m 64m -t py@3.11 -- "$PY" -c "$MALLOC_BOMB_PY")
  a=$(full_id "$a")
  if [ -d /sys/fs/cgroup/memory ]; then
    oom=$(cg_file memory memory.oom_control "$a")
  else
    oom=$(cg_file memory memory.events "$a")
  fi
  for _ in $(seq 600); do [ "$(counter "$oom" oom_kill)" -ge 1 ] 2>/dev/null && break; sleep 0.2; done
  local before_b
  before_b=$(counter "$oom" oom_kill)
  [ "${before_b:-0}" -ge 1 ] || fail "the malloc bomb was never OOM-killed (oom_kill '$before_b')"
  run_victim "$MEMORY_JOB_PY" "$MEMORY_JOB_OUT"
  [ "$(counter "$oom" oom_kill)" -gt "${before_b:-0}" ] || fail "A was not OOM-killed while B ran: oom_kill $before_b -> $(counter "$oom" oom_kill)"
  if [ -d /sys/fs/cgroup/memory ]; then
    usage=$(cat "$(cg_file memory memory.max_usage_in_bytes "$a")")
    [ "$usage" -le $((64 << 20)) ] || fail "A used $usage bytes, above its 64 MiB limit"
  fi
  run_cmd "$REG" inspect bomb-malloc
  expect_out_has '"Status": "running"'
  remove_bomb bomb-malloc "$(cg_file memory cgroup.procs "$a")"
}

ALL="$ALL t_escape_mount t_escape_pivot_root t_escape_sysrq t_escape_kernel_module t_escape_ptrace
  t_escape_open_by_handle t_escape_mknod t_escape_sniff t_escape_store_write t_escape_volume_symlink
  t_escape_install_symlink t_escape_other_container t_neighbour_fork_bomb t_neighbour_malloc_bomb"
