# Storage (issue 21): named volumes, --mount, --tmpfs. Sourced by run.sh.

# The mount line of PATH in the container's /proc/self/mountinfo.
MOUNTINFO_OF='while read -r l; do case "$l" in *" $0 "*) echo "$l";; esac; done < /proc/self/mountinfo'

t_volumes () {
  run_cmd "$REG" volume create data1
  expect_rc 0
  expect_out "data1"
  run_cmd "$REG" volume ls
  expect_out_has "data1"
  expect_out_has "0 containers"
  run_cmd "$REG" volume inspect data1
  expect_rc 0
  expect_out_has "\"Mountpoint\": \"$ROOT/volumes/data1/_data\""
  # Data outlives the container that wrote it.
  run_cmd "$REG" run --rm -v data1:/data -t base@1 -- /bin/sh -c 'echo kept > /data/f'
  expect_rc 0
  run_cmd "$REG" run --rm --mount type=volume,source=data1,target=/v,readonly -t base@1 -- \
    /bin/sh -c 'cat /v/f; echo x > /v/g'
  expect_out_has "kept"
  expect_err_has "Read-only file system"
  # -v NAME:/path makes the volume when it does not exist, as Docker's.
  run_cmd "$REG" run --rm -v auto1:/a -t base@1 -- /bin/sh -c 'echo a > /a/x'
  expect_rc 0
  [ -f "$ROOT/volumes/auto1/_data/x" ] || fail "-v auto1:/a did not create the volume"
  # In use (even by a container that is not running): rm is refused, 409,
  # naming the container, and the data stays.
  local id
  id=$("$REG" generate -v data1:/data -t base@1 -- /bin/true)
  run_cmd "$REG" volume rm data1
  expect_rc 1
  expect_err_has "volume data1 is in use by container ${id:0:12}"
  [ -f "$ROOT/volumes/data1/_data/f" ] || fail "volume rm of a volume in use lost its data"
  run_cmd "$REG" volume inspect data1
  expect_out_has "\"$id\""
  # prune removes only the unused ones.
  "$REG" volume create unused1 >/dev/null
  run_cmd "$REG" volume prune -f
  expect_rc 0
  expect_out_has "unused1"
  expect_out_has "auto1"
  case "$out" in *data1*) fail "prune removed a volume in use" ;; esac
  [ -d "$ROOT/volumes/data1/_data" ] || fail "prune removed data1"
  "$REG" rm "$id" >/dev/null
  run_cmd "$REG" volume rm data1
  expect_rc 0
  [ -e "$ROOT/volumes/data1" ] && fail "volume rm left $ROOT/volumes/data1"
  run_cmd "$REG" volume ls -q
  expect_out ""
  ls -A "$ROOT/volumes" | grep -q . && fail "volumes/ not empty: $(ls -A "$ROOT/volumes")"
  true
}

t_bad_volumes () {
  local before
  before=$(snapshot)
  run_cmd "$REG" volume create "-bad"
  expect_rc 2
  run_cmd "$REG" volume create "a b"
  expect_rc 1
  expect_err_has 'volume name "a b"'
  run_cmd "$REG" volume rm nosuchvol
  expect_rc 1
  expect_err_has "no such volume: nosuchvol"
  run_cmd "$REG" volume inspect nosuchvol
  expect_rc 1
  expect_err_has "no such volume: nosuchvol"
  run_cmd "$REG" run --rm -v "a b:/x" -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has 'volume name "a b"'
  run_cmd "$REG" run --rm --mount type=volume,src=..,dst=/x -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has 'volume name ".."'
  # A failed create takes back the volume it would have made.
  run_cmd "$REG" run --rm -v fresh1:/x -w relative -t base@1 -- /bin/true
  expect_rc 125
  run_cmd "$REG" run --rm -v fresh2:/x -t nothere@1 -- /bin/true
  expect_rc 125
  expect_eq "$(snapshot)" "$before" "bad volume inputs changed the engine"
  [ -e "$ROOT/volumes/fresh1" ] || [ -e "$ROOT/volumes/fresh2" ] && fail "a failed run left its volume"
  true
}

t_mount_tmpfs () {
  local d=$T/bindsrc
  mkdir -p "$d"
  echo hostfile >"$d/f"
  # --read-only with a writable /tmp: the service pattern.
  run_cmd "$REG" run --rm --read-only --tmpfs /tmp -t base@1 -- /bin/sh -c \
    'echo ok > /tmp/x && cat /tmp/x; stat -c %a /tmp; stat -f -c %T /tmp; echo no > /y'
  expect_out_has "ok"
  expect_out_has "1777"
  expect_out_has "tmpfs"
  expect_err_has "Read-only file system"
  # Docker's --tmpfs defaults: noexec, nosuid, nodev; options size and mode.
  run_cmd "$REG" run --rm --tmpfs /run/t:size=1m,mode=700 -t base@1 -- /bin/sh -c \
    "$MOUNTINFO_OF; stat -c %a /run/t; head -c 2000000 /dev/zero > /run/t/big" /run/t
  expect_rc 1
  expect_out_has "nosuid,nodev,noexec"
  expect_out_has "size=1024k"
  expect_out_has "700"
  expect_err_has "No space left on device"
  run_cmd "$REG" run --rm --tmpfs /t:exec,ro -t base@1 -- /bin/sh -c "$MOUNTINFO_OF" /t
  expect_out_has " ro,nosuid,nodev"
  case "$out" in *noexec*) fail "--tmpfs /t:exec mounted noexec" ;; esac
  # --mount, Docker's key=value form and aliases.
  run_cmd "$REG" run --rm --mount type=tmpfs,dst=/scratch,tmpfs-size=2m,tmpfs-mode=1770 \
    -t base@1 -- /bin/sh -c "$MOUNTINFO_OF; stat -c %a /scratch" /scratch
  expect_out_has "size=2048k"
  expect_out_has "1770"
  run_cmd "$REG" run --rm --mount "type=bind,src=$d,destination=/b,ro" -t base@1 -- \
    /bin/sh -c 'cat /b/f; echo x > /b/g'
  expect_out_has "hostfile"
  expect_err_has "Read-only file system"
  [ -e "$d/g" ] && fail "read-only --mount bind was written"
  run_cmd "$REG" run --rm --mount "type=bind,source=$d,target=/b" -t base@1 -- /bin/sh -c 'echo w > /b/g'
  expect_rc 0
  [ -f "$d/g" ] || fail "--mount bind was not written through"
  # Recorded: inspect shows each mount's type.
  local id
  id=$("$REG" generate --tmpfs /tmp --mount "type=bind,src=$d,dst=/b" -t base@1 -- /bin/true)
  run_cmd "$REG" inspect "$id"
  expect_out_has '"Type": "tmpfs"'
  expect_out_has '"Type": "bind"'
  "$REG" rm "$id" >/dev/null
  "$REG" volume rm "$("$REG" volume ls -q)" >/dev/null 2>&1
  true
}

t_bad_mounts () {
  local before
  before=$(snapshot)
  run_cmd "$REG" run --rm --mount type=nfs,src=x,dst=/x -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "type=nfs: want bind, volume or tmpfs"
  run_cmd "$REG" run --rm --mount "type=bind,src=$T" -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "a target (target=/path) is required"
  run_cmd "$REG" run --rm --mount "type=bind,src=$T,dst=/x,color=red" -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has 'unknown or incomplete key "color"'
  run_cmd "$REG" run --rm --mount type=tmpfs,src=/x,dst=/y -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "a tmpfs takes no source"
  run_cmd "$REG" run --rm --mount type=tmpfs,dst=/y,tmpfs-size=lots -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "tmpfs-size=lots"
  run_cmd "$REG" run --rm --tmpfs relative -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "--tmpfs relative: want an absolute container path"
  run_cmd "$REG" run --rm --tmpfs /x:size=abc -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has 'option "size=abc"'
  run_cmd "$REG" run --rm --tmpfs /x:mode=999 -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has 'option "mode=999"'
  run_cmd "$REG" run --rm --tmpfs /x/../y -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "/x/../y"
  run_cmd "$REG" run --rm -v "$T:/x" --tmpfs /x -t base@1 -- /bin/true
  expect_rc 125
  expect_err_has "mount target /x given twice"
  expect_eq "$(snapshot)" "$before" "bad mount inputs changed the engine"
}

ALL="$ALL t_volumes t_bad_volumes t_mount_tmpfs t_bad_mounts"

# reg cp in both directions, running and stopped; the escapes refused.
t_cp () {
  local id h=$T/cp
  rm -rf "$h"; mkdir -p "$h/in/sub" "$h/outdir"
  echo hostdata >"$h/in/sub/f"
  echo single >"$h/single"
  id=$("$REG" run -d --name cpw -t base@1 -- /bin/sh -c \
    'mkdir -p /srv/d; echo one > /srv/d/a; ln -s a /srv/d/l; ln -s ../../../../../etc /srv/esc; ln -s /etc /srv/abs; touch /srv/ready; sleep 100')
  for _ in $(seq 100); do "$REG" cp cpw:/srv/ready - >/dev/null 2>&1 && break; sleep 0.05; done
  # Out: a directory to a new name, a file into an existing directory.
  run_cmd "$REG" cp cpw:/srv/d "$h/out"
  expect_rc 0
  expect_eq "$(cat "$h/out/a" 2>&1)" "one" "cp out: file content"
  expect_eq "$(readlink "$h/out/l")" "a" "cp out: a symlink stays a symlink"
  run_cmd "$REG" cp cpw:/srv/d/a "$h/outdir"
  expect_rc 0
  expect_eq "$(cat "$h/outdir/a" 2>&1)" "one" "cp out into a directory"
  # "-": a tar archive on stdout.
  run_cmd sh -c "'$REG' cp cpw:/srv/d/a - | tar -xOf -"
  expect_rc 0
  expect_out "one"
  # In: a directory to a new name, a file into an existing directory.
  run_cmd "$REG" cp "$h/in" cpw:/srv/copied
  expect_rc 0
  run_cmd "$REG" cp "$h/single" cpw:/srv/d/
  expect_rc 0
  run_cmd "$REG" exec cpw /bin/cat /srv/copied/sub/f /srv/d/single
  expect_out "hostdata
single"
  # Escapes: through "..", through a relative symlink that climbs out,
  # through an absolute one; in both directions. Nothing on the host moves.
  local probe=reg-cp-probe-$$
  for p in /../etc/passwd /srv/esc/passwd /srv/abs/passwd; do
    run_cmd "$REG" cp "cpw:$p" "$h/leak"
    expect_rc 1
    expect_err_has "escapes the container's root"
    [ -e "$h/leak" ] && fail "cp out of $p wrote $h/leak"
  done
  echo bad >"$h/$probe"
  for p in /srv/esc/ /srv/abs/ /srv/esc/$probe; do
    run_cmd "$REG" cp "$h/$probe" "cpw:$p"
    expect_rc 1
    expect_err_has "escapes the container's root"
  done
  [ -e "/etc/$probe" ] && { rm -f "/etc/$probe"; fail "cp into the container wrote the host's /etc"; }
  # A crafted archive: "..", and a file through a symlink it made.
  "$PY" -c 'import tarfile, io, sys
t = tarfile.open(fileobj=sys.stdout.buffer, mode="w|")
i = tarfile.TarInfo("../evil"); i.size = 1; t.addfile(i, io.BytesIO(b"x")); t.close()' >"$h/dotdot.tar"
  "$PY" -c 'import tarfile, io, sys
t = tarfile.open(fileobj=sys.stdout.buffer, mode="w|")
l = tarfile.TarInfo("lnk"); l.type = tarfile.SYMTYPE; l.linkname = "/etc"; t.addfile(l)
i = tarfile.TarInfo("lnk/'"$probe"'"); i.size = 1; t.addfile(i, io.BytesIO(b"x")); t.close()' >"$h/through.tar"
  run_cmd sh -c "'$REG' cp - cpw:/srv < '$h/dotdot.tar'"
  expect_rc 1
  expect_err_has '".." is refused'
  run_cmd sh -c "'$REG' cp - cpw:/srv < '$h/through.tar'"
  expect_rc 1
  expect_err_has "its directory is a symlink or not a directory: refused"
  [ -e "/etc/$probe" ] && { rm -f "/etc/$probe"; fail "a crafted archive wrote the host's /etc"; }
  # Stopped: copies work on its layers; its mounts are not there.
  "$REG" stop -t 0 cpw >/dev/null
  run_cmd "$REG" cp "$h/single" cpw:/srv/after-stop
  expect_rc 0
  run_cmd sh -c "'$REG' cp cpw:/srv/after-stop - | tar -xOf -"
  expect_rc 0
  expect_out "single"
  # ... and the container starts again over the layers the copy wrote.
  "$REG" start cpw >/dev/null
  run_cmd "$REG" exec cpw /bin/cat /srv/after-stop
  expect_out "single"
  # Bad input: clear errors.
  run_cmd "$REG" cp "$h/single" "$h/other"
  expect_rc 2
  expect_err_has "give exactly one CONTAINER:PATH"
  run_cmd "$REG" cp nosuchctr:/x -
  expect_rc 1
  expect_err_has "nosuchctr"
  run_cmd "$REG" cp cpw:relative -
  expect_rc 1
  expect_err_has "must be absolute"
  run_cmd "$REG" cp cpw:/no/such -
  expect_rc 1
  expect_err_has "no such file or directory in the container: /no/such"
  "$REG" rm -f "$id" >/dev/null
}

t_cp_stopped_mounts () {
  local id
  id=$("$REG" generate --tmpfs /scratch -t base@1 -- /bin/true)
  run_cmd "$REG" cp "$id:/scratch/f" -
  expect_rc 1
  expect_err_has "/scratch/f is on its mount /scratch, which exists only while it runs"
  "$REG" rm "$id" >/dev/null
}

t_diff () {
  local id lib=/usr/lib/python3.11
  id=$("$REG" run -d -t py@3.11 -- "$PY" -c "import os
open('$lib/added_by_test.py', 'w').write('x')
open('$lib/antigravity.py', 'a').write('# changed')
os.remove('$lib/this.py')")
  "$REG" wait "$id" >/dev/null
  run_cmd "$REG" diff "$id"
  expect_rc 0
  expect_out_has "C $lib
"
  expect_out_has "A $lib/added_by_test.py"
  expect_out_has "C $lib/antigravity.py"
  expect_out_has "D $lib/this.py"
  case "$out" in *"/proc"* | *"/dev"*) fail "diff shows the runtime's mount points" ;; esac
  run_cmd "$REG" diff nosuchctr
  expect_rc 1
  expect_err_has "nosuchctr"
  "$REG" rm "$id" >/dev/null
}

ALL="$ALL t_cp t_cp_stopped_mounts t_diff"
