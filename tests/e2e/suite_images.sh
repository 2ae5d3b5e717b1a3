# Regular OCI and Docker images (issue 18, docs/images.md): images built on
# this machine from host files by tests/e2e/mkimage.py (no Docker, no
# network) into an OCI layout, some pushed to Debian's docker-registry with
# skopeo (as OCI and as Docker schema 2), pulled into a fresh second engine
# (suite_registry.sh's regd2), run, and their objects counted. Hostile
# images are refused with nothing left behind.

IMAGES=$T/images
MKIMAGE=$HERE/mkimage.py

# Build SCENARIO into $IMAGES; prints the image's distinct object count.
mkimage () { python3 "$MKIMAGE" "$IMAGES" "$1" || fail "mkimage $1"; }

objects2 () { find "$ROOT2/store/objects" -type f | wc -l; }

# The store, the templates and the staging area as a list (a failure then
# shows what changed). Not containers/: an --rm container may still be
# going away (containers/.removing-ID) when its `reg run` has returned.
listing2 () {
  (cd "$ROOT2" && find store/objects templates envs -mindepth 1 -maxdepth 3 ! -name lock | sort
   ls -A store/tmp)
}

t_images_layout () {
  local n_base n_py before
  n_base=$(mkimage base)
  n_py=$(mkimage py)
  reset_regd2
  run_cmd reg2 pull --layout "$IMAGES" images/base:1
  expect_rc 0
  expect_out_has "images.base@1"
  expect_out_has "applied"
  expect_eq "$(objects2)" "$n_base" "objects after the first pull"
  # The second image shares the base layer: it is not downloaded again (its
  # recorded entries are replayed), and only the new files are stored.
  run_cmd reg2 pull --layout "$IMAGES" images/py:1
  expect_rc 0
  expect_out_has "images.py@1"
  expect_out_has "downloaded 1 blob ("
  expect_out_has ": present"
  expect_eq "$(objects2)" "$n_py" "objects after the second pull (base shared)"
  # Run defaults from the config: Entrypoint + Cmd, Env, ExposedPorts, StopSignal.
  run_cmd reg2 run --rm -t images.py@1
  expect_rc 0
  expect_out "hello from an image"
  run_cmd reg2 run --rm -t images.py@1 -- /bin/sh -c 'echo "$PYTHONDONTWRITEBYTECODE $LANG"'
  expect_out "1 C.UTF-8"
  run_cmd reg2 run --rm -t images.py@1 -- "$(readlink -f /usr/bin/python3)" -I -S -c \
    'import json; print(json.dumps({"python": "runs"}))'
  expect_rc 0
  expect_out '{"python": "runs"}'
  run_cmd reg2 template inspect images.py@1
  expect_out_has "stop-signal: SIGINT"
  expect_out_has "8080/tcp"
  # Pulling again moves nothing and changes nothing.
  before=$(listing2)
  run_cmd reg2 pull --layout "$IMAGES" images/py:1
  expect_rc 0
  expect_out_has "images.py@1: already present"
  expect_out_has "downloaded 0 blobs"
  expect_eq "$(listing2)" "$before" "a second pull changed the store"
  # An index selects linux/amd64 (the arm64 entry comes first).
  mkimage multiarch >/dev/null
  run_cmd reg2 pull -q --layout "$IMAGES" images/multiarch:1
  expect_rc 0
  run_cmd reg2 run --rm -t images.multiarch@1
  expect_out "amd64 picked"
  # A Docker manifest list likewise.
  run_cmd reg2 pull -q --layout "$IMAGES" images/multiarch-docker:1
  expect_rc 0
  run_cmd reg2 run --rm -t images.multiarch-docker@1
  expect_out "amd64 picked"
}

# Whiteouts, opaque directories, hard links, symlinks, modes and owners.
t_images_layers () {
  mkimage multi >/dev/null
  reset_regd2
  run_cmd reg2 pull --layout "$IMAGES" images/multi:1
  expect_rc 0
  # Modes, owners, set-ID bits and the capability arrive (RET format 4);
  # only the user.* attribute is reported as not carried.
  expect_err_has "images.multi@1: not carried into the template (docs/images.md): 0 symlink owners, 1 entry with extended attributes other than security.capability"
  run_cmd reg2 run --rm -t images.multi@1 -- /bin/sh -c \
    'cat /data/hl; ls /data; echo ---; ls /opq /data/dir; readlink /data/link; cat /data/abs
     stat -c "%a %u %g %n" /data/priv /data/suid /data/owned /data/ping /tmp; getcap /data/ping'
  expect_rc 0
  expect_out "content a
a.txt
abs
dir
hl
link
owned
ping
priv
suid
---
/data/dir:

/opq:
new
a.txt
content a
700 1000 1000 /data/priv
4755 0 0 /data/suid
644 1000 1000 /data/owned
755 0 0 /data/ping
1777 0 0 /tmp
/data/ping cap_net_raw=ep"
  run_cmd reg2 template inspect images.multi@1
  expect_out_has "format: '4'"
  expect_out_has " 4755 0:0"
  expect_out_has " 0644 1000:1000"
  expect_out_has " 0755 0:0 cap=0100000200200000000000000000000000000000"
  # Each variant is one inode in the store, checked by store verify; gc
  # knows them by name: kept while the template names them, then pruned.
  run_cmd reg2 store verify
  expect_rc 0
  expect_out_has "0 corrupt, 0 unreferenced"
  # As a reg template (push, pull into an empty engine): the files blob
  # carries the variants' content, the puller makes them from their names.
  run_cmd reg2 push -q --layout "$T/multi-tmpl" images.multi@1 t/multi:1
  expect_rc 0
  local want n
  want=$(reg2 template inspect images.multi@1 | sha256sum)
  n=$(objects2)
  reset_regd2
  run_cmd reg2 pull -q --layout "$T/multi-tmpl" t/multi:1
  expect_rc 0
  expect_eq "$(reg2 template inspect images.multi@1 | sha256sum)" "$want" "template after push and pull"
  expect_eq "$(objects2)" "$n" "objects after push and pull"
  run_cmd reg2 run --rm -t images.multi@1 -- /bin/sh -c 'stat -c "%a %u" /data/suid; getcap /data/ping'
  expect_out "4755 0
/data/ping cap_net_raw=ep"
  run_cmd reg2 system prune
  expect_rc 0
  expect_eq "$(objects2)" "$n" "prune took objects of an installed image"
  run_cmd reg2 system prune -a
  expect_out_has "deleted template images.multi@1"
  expect_eq "$(objects2)" 0 "objects left after the image's template went"
  # A hard link is the same object as its target.
  run_cmd reg2 template inspect images.multi@1
  expect_eq "$(echo "$out" | sed -n 's|^  /data/hl: ||p')" "$(echo "$out" | sed -n 's|^  /data/a.txt: ||p')" \
    "hard link and target"
}

# Through docker-registry: OCI and Docker schema 2 manifests; -t IMAGE-REF
# pulls when missing and combines with a template.
t_images_registry () {
  start_registry || return
  mkimage base >/dev/null
  mkimage py >/dev/null
  run_cmd skopeo copy --dest-tls-verify=false "oci:$IMAGES:images/py:1" "docker://$REGISTRY/images/py:1"
  expect_rc 0
  run_cmd skopeo copy --format v2s2 --dest-tls-verify=false "oci:$IMAGES:images/base:1" \
    "docker://$REGISTRY/images/base-docker:1"
  expect_rc 0
  run_cmd skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/images/base-docker:1"
  expect_out_has "application/vnd.docker.distribution.manifest.v2+json"
  # On a terminal: a bar per layer with bytes, total and rate (none left
  # unfinished: the config has none), then a line per layer applied.
  reset_regd2
  run_cmd script -qec "REG_HOST=unix://$SOCK2 $REG pull --insecure $REGISTRY/images/py:1" /dev/null
  expect_rc 0
  local bars nbars
  bars=$(echo "$out" | tr '\r' '\n' | sed 's/\x1b\[[0-9]*[A-Z]//g')
  nbars=$(echo "$bars" | grep -E "^[0-9a-f]{12}: downloaded +\[=+\] [0-9.]+ [kMG]?B/[0-9.]+ [kMG]?B " |
    grep -Eo "^[0-9a-f]{12}" | sort -u | wc -l)
  expect_eq "$nbars" 2 "finished bars for 2 layers: $(echo "$bars" | head -c 600)"
  nbars=$(echo "$bars" | grep -E "^[0-9a-f]{12}: download" | grep -Eo "^[0-9a-f]{12}" | sort -u | wc -l)
  expect_eq "$nbars" 2 "bars (none for the config): $(echo "$bars" | head -c 600)"
  expect_eq "$(echo "$bars" | grep -Ec "^[0-9a-f]{12}: applied")" 2 "applied lines"
  expect_out_has "images.py@1"
  run_cmd reg2 run --rm -t images.py@1
  expect_out "hello from an image"
  # Docker's form: reg run IMAGE-REF [CMD...].
  run_cmd reg2 run --rm "$REGISTRY/images/py:1"
  expect_rc 0
  expect_out "hello from an image"
  # -t IMAGE-REF: pulled (Docker schema 2) on first use, with a template beside it.
  mkdir -p "$T/tools" && printf '#!/bin/sh\necho tool ran in "$(cat /etc/os-release)"\n' >"$T/tools/tool.sh"
  chmod +x "$T/tools/tool.sh"
  reg2 template create tools@1 "$T/tools/tool.sh" >/dev/null || fail "create tools@1"
  run_cmd reg2 run --rm -t "$REGISTRY/images/base-docker:1" -t tools@1 -- "$T/tools/tool.sh"
  expect_rc 0
  expect_out "tool ran in NAME=reg-e2e"
  run_cmd reg2 template ls
  expect_out_has "images.base-docker@1"
  # Second use: nothing moves (the pull finds the template it made).
  local before
  before=$(listing2)
  run_cmd reg2 run --rm -t "$REGISTRY/images/base-docker:1" -t tools@1 -- /bin/echo again
  expect_out "again"
  expect_eq "$(listing2)" "$before" "second run of an image changed the store or templates"
  run_cmd reg2 run --rm -t "$REGISTRY/images/nosuch:1" -- /bin/true
  expect_rc 125
  expect_err_has "not found"
  run_cmd reg2 run --rm "$REGISTRY/images/base-docker:1" /bin/echo positional
  expect_rc 0
  expect_out "positional"
  run_cmd reg2 run --rm "$REGISTRY/images/nosuch:1" /bin/true
  expect_rc 125
  expect_err_has "not found"
}

# Hostile images: refused naming the cause, nothing left behind.
t_images_hostile () {
  local s before
  for s in traversal device symlink-escape bad-digest onbuild huge-entry many-layers; do
    mkimage "$s" >/dev/null
  done
  reset_regd2
  before=$(snapshot2)
  run_cmd reg2 pull --layout "$IMAGES" bad/traversal:1
  expect_rc 1
  expect_err_has 'entry "../../evil": path escapes the root'
  run_cmd reg2 pull --layout "$IMAGES" bad/device:1
  expect_rc 1
  expect_err_has "entry /data/null: a device node, FIFO or socket"
  run_cmd reg2 pull --layout "$IMAGES" bad/symlink:1
  expect_rc 1
  expect_err_has "entry /esc/planted: passes through /esc, which is a symlink"
  run_cmd reg2 pull --layout "$IMAGES" bad/digest:1
  expect_rc 1
  expect_err_has "digest mismatch"
  run_cmd reg2 pull --layout "$IMAGES" bad/onbuild:1
  expect_rc 1
  expect_err_has "config OnBuild is set"
  # Absurd sizes and counts: a header claiming 3 GiB (refused before a byte
  # of it is read), 1001 layers.
  run_cmd reg2 pull --layout "$IMAGES" bad/huge:1
  expect_rc 1
  expect_err_has "entry /data/huge: 3221225472 bytes is over the 2147483648 byte bound per entry"
  run_cmd reg2 pull --layout "$IMAGES" bad/layers:1
  expect_rc 1
  expect_err_has "over 1000 layers"
  expect_eq "$(snapshot2)" "$before" "a hostile image changed the store"
  [ ! -e "$ROOT2/tmp/planted" ] || fail "symlink escape planted a file"
}

# reg image load -i FILE: docker save archives (legacy and Docker 25+) and
# OCI archives, made by mkarchive.py from the layout images; the same
# verification and dedup as a pull; hostile archives leave nothing.
t_images_load () {
  local n_py before a=$T/archives
  mkimage base >/dev/null
  n_py=$(mkimage py)
  mkdir -p "$a"
  python3 "$HERE/mkarchive.py" "$IMAGES" legacy "$a/legacy.tar" images/base:1=base-e2e:1 \
    images/py:1=images/py:1 || fail "mkarchive legacy"
  python3 "$HERE/mkarchive.py" "$IMAGES" docker25 "$a/d25.tar" images/py:1=images/py:1 || fail "mkarchive docker25"
  python3 "$HERE/mkarchive.py" "$IMAGES" oci "$a/oci.tar" images/py:1=oci/py:2 || fail "mkarchive oci"
  python3 "$HERE/mkarchive.py" "$IMAGES" evil "$a/evil.tar" images/base:1=evil:1 || fail "mkarchive evil"
  python3 "$HERE/mkarchive.py" "$IMAGES" tampered "$a/tampered.tar" images/base:1=t:1 || fail "mkarchive tampered"
  reset_regd2
  # Legacy docker save, two images sharing the base layer (linked by a
  # symlink in the archive); a short name is Docker Hub's library/.
  run_cmd reg2 image load -i "$a/legacy.tar"
  expect_rc 0
  expect_out_has "library.base-e2e@1"
  expect_out_has "images.py@1"
  expect_eq "$(objects2)" "$n_py" "objects after loading both images (base shared)"
  run_cmd reg2 run --rm -t images.py@1
  expect_out "hello from an image"
  run_cmd reg2 run --rm -t library.base-e2e@1 -- /bin/cat /etc/os-release
  expect_out "NAME=reg-e2e"
  before=$(listing2)
  run_cmd reg2 image load -i "$a/legacy.tar"
  expect_rc 0
  expect_out_has "images.py@1: already present"
  expect_eq "$(listing2)" "$before" "loading again changed the store"
  # Docker 25+ (an OCI layout with manifest.json) and an OCI archive.
  reset_regd2
  run_cmd reg2 image load -q -i "$a/d25.tar"
  expect_rc 0
  expect_out "images.py@1"
  run_cmd reg2 run --rm -t images.py@1
  expect_out "hello from an image"
  run_cmd reg2 image load -i "$a/oci.tar"
  expect_rc 0
  expect_out_has "oci.py@2"
  expect_eq "$(objects2)" "$n_py" "an OCI archive of the same image added objects"
  run_cmd reg2 run --rm -t oci.py@2
  expect_out "hello from an image"
  # Hostile or broken archives: refused, nothing left behind.
  before=$(listing2)
  run_cmd reg2 image load -i "$a/evil.tar"
  expect_rc 1
  expect_err_has 'entry "../evil": path escapes the archive'
  run_cmd reg2 image load -i "$a/tampered.tar"
  expect_rc 1
  expect_err_has "the config's diff_id is sha256:"
  expect_err_has "(corrupt or tampered)"
  run_cmd reg2 image load -i "$MKIMAGE"
  expect_rc 1
  expect_err_has "not a tar archive"
  run_cmd reg2 image load -i "$a/nosuch.tar"
  expect_rc 1
  expect_err_has "nosuch.tar: No such file or directory"
  run_cmd reg2 image load
  expect_rc 2
  expect_err_has "-i FILE is required"
  expect_eq "$(listing2)" "$before" "a refused archive changed the store"
  [ ! -e "$ROOT2/store/evil" ] && [ ! -e "$ROOT2/store/tmp/evil" ] || fail "../evil was written"
}

# reg push --as-image: a template and what it requires as a regular OCI
# image, pulled and run by a private Docker engine (lib.sh) from a second
# docker-registry inside its network namespace that serves the same
# storage as the one reg pushed to.
t_images_export () {
  start_registry || return
  docker_private_start || return
  mkdir -p "$T/exp"
  printf '#!%s\nimport os, sys\nprint("python runs in docker:", os.environ["GREETING"], *sys.argv[1:])\n' \
    "$PY" >"$T/exp/hello.py"
  chmod +x "$T/exp/hello.py"
  run_cmd "$REG" template create exp@1 "$T/exp/hello.py" --requires py@3.11 --env GREETING=hi \
    --entrypoint "$T/exp/hello.py" --stop-signal SIGINT
  expect_rc 0
  run_cmd "$REG" push --as-image exp@1 "$REGISTRY/exp/hello:1"
  expect_rc 0
  expect_out_has "$REGISTRY/exp/hello:1 sha256:"
  local digest=${out##*sha256:}
  digest=${digest%%$'\n'*}
  # The same template again: the same blobs, nothing uploaded.
  run_cmd "$REG" push --as-image exp@1 "$REGISTRY/exp/hello:1"
  expect_rc 0
  expect_out_has "uploaded 0 blobs"
  expect_out_has "sha256:$digest"
  run_cmd skopeo inspect --tls-verify=false "docker://$REGISTRY/exp/hello:1"
  expect_out_has '"org.reg.template": "exp@1"'
  nsenter -t "$DOCKER_NETNS_PID" -n docker-registry serve "$T/registry.yml" >>"$T/registry.log" 2>&1 &
  AUX_PIDS="$AUX_PIDS $!"
  local _
  for _ in $(seq 100); do
    nsenter -t "$DOCKER_NETNS_PID" -n curl -fs "http://$REGISTRY/v2/" >/dev/null && break
    sleep 0.1
  done
  run_cmd dock pull "$REGISTRY/exp/hello:1"
  expect_rc 0
  run_cmd dock run --rm --network none "$REGISTRY/exp/hello:1"
  expect_rc 0
  expect_out "python runs in docker: hi"
  # A command replaces the whole argv, as with reg run.
  run_cmd dock run --rm --network none "$REGISTRY/exp/hello:1" "$T/exp/hello.py" more
  expect_out "python runs in docker: hi more"
  run_cmd dock image inspect -f '{{.Config.StopSignal}} {{index .Config.Labels "org.reg.template"}}' \
    "$REGISTRY/exp/hello:1"
  expect_out "SIGINT exp@1"
  # A layer per template: a second app on the same base template shares
  # the base's layer (one blob in the registry, one layer in Docker), and
  # its push uploads only its own layer and its config.
  printf '#!%s\nprint("second app")\n' "$PY" >"$T/exp/two.py"
  chmod +x "$T/exp/two.py"
  run_cmd "$REG" template create exp2@1 "$T/exp/two.py" --requires py@3.11 --entrypoint "$T/exp/two.py"
  expect_rc 0
  run_cmd "$REG" push --as-image exp2@1 "$REGISTRY/exp/two:1"
  expect_rc 0
  expect_out_has "uploaded 2 blobs"
  run_cmd dock pull "$REGISTRY/exp/two:1"
  expect_rc 0
  run_cmd dock run --rm --network none "$REGISTRY/exp/two:1"
  expect_out "second app"
  local one two
  one=$(dock image inspect -f '{{range .RootFS.Layers}}{{println .}}{{end}}' "$REGISTRY/exp/hello:1")
  two=$(dock image inspect -f '{{range .RootFS.Layers}}{{println .}}{{end}}' "$REGISTRY/exp/two:1")
  expect_eq "$(echo "$one" | grep -c sha256)" 2 "layers of exp/hello (py@3.11, exp@1)"
  expect_eq "$(echo "$two" | grep -c sha256)" 2 "layers of exp/two (py@3.11, exp2@1)"
  expect_eq "$(echo "$one" | head -1)" "$(echo "$two" | head -1)" "the base layer, shared"
  [ "$(echo "$one" | sed -n 2p)" != "$(echo "$two" | sed -n 2p)" ] || fail "the apps' own layers are one"
  run_cmd dock history --no-trunc --format '{{.CreatedBy}}' "$REGISTRY/exp/two:1"
  expect_out "reg push --as-image: exp2@1
reg push --as-image: py@3.11"
  # reg pulls its own export back as an image (the label arrives).
  reset_regd2
  run_cmd reg2 pull "$REGISTRY/exp/hello:1"
  expect_rc 0
  run_cmd reg2 run --rm -t exp.hello@1
  expect_out "python runs in docker: hi"
  run_cmd reg2 pull "$REGISTRY/exp/two:1"
  expect_rc 0
  expect_out_has ": present"
  run_cmd reg2 run --rm -t exp.two@1
  expect_out "second app"
  "$REG" template rm exp2@1 >/dev/null
  run_cmd "$REG" push --as-image nosuch@1 "$REGISTRY/exp/nosuch:1"
  expect_rc 1
  expect_err_has "template nosuch@1: not found"
  "$REG" template rm exp@1 >/dev/null
}

# The rest of an image config's run defaults (format 3): WorkingDir (made
# when the layers lack it), User by name through the image's /etc/passwd,
# an anonymous volume per Volumes entry, Labels in inspect, Healthcheck as
# reg's health check; each overridden by the run's own options.
t_images_defaults () {
  local vol id
  mkimage defaults >/dev/null
  reset_regd2
  run_cmd reg2 pull --layout "$IMAGES" images/defaults:1
  expect_rc 0
  run_cmd reg2 template inspect images.defaults@1
  expect_out_has "format: '3'"
  expect_out_has "workdir: /srv/app"
  expect_out_has "user: app"
  expect_out_has "volumes: [/data]"
  expect_out_has "org.example.role: test"
  expect_out_has "interval: '200ms'"
  run_cmd reg2 run --rm -t images.defaults@1
  expect_rc 0
  expect_out "/srv/app
1234
2345"
  run_cmd reg2 run --rm -u 0 -w / -t images.defaults@1
  expect_out "/
0
0"
  run_cmd reg2 run -d --name dflt -t images.defaults@1 -- /bin/sh -c 'echo kept >/data/f; exec sleep 60'
  expect_rc 0
  run_cmd reg2 inspect -f '{{json .Config.Labels}}' dflt
  expect_out '{"b":"","org.example.role":"test"}'
  vol=$(reg2 inspect -f '{{range .Mounts}}{{.Name}} {{.Destination}}{{end}}' dflt)
  case "$vol" in [0-9a-f]*" /data") ;; *) fail "no anonymous volume at /data: '$vol'" ;; esac
  for id in $(seq 50); do
    [ "$(reg2 inspect -f '{{.State.Health.Status}}' dflt)" = healthy ] && break
    sleep 0.2
  done
  run_cmd reg2 inspect -f '{{.State.Health.Status}}' dflt
  expect_out "healthy"
  reg2 rm -f dflt >/dev/null
  # The anonymous volume outlives its container (as Docker's without rm
  # -v) until a prune; those of the --rm runs above went with them.
  run_cmd reg2 volume ls -q
  expect_out "${vol%% *}"
  reg2 volume prune -f >/dev/null
  # A mount at the volume's path replaces it.
  run_cmd reg2 run --rm -v named:/data -t images.defaults@1 -- /bin/sh -c 'ls /data; echo ok'
  expect_out "ok"
  run_cmd reg2 volume ls -q
  expect_out "named"
}

# Images built by the Docker engine (a private dockerd, lib.sh): a rootfs
# made from host files (python3, dash, coreutils and their libs: instant,
# where debootstrap takes minutes and a network; docs/images.md) imported
# with `docker import`, and a multi-layer Dockerfile on it whose RUN steps
# delete a file and a directory of the layer below (whiteouts), empty a
# directory and refill it (an opaque directory, as Docker writes it), make
# a hard link and symlinks. Pushed by docker to docker-registry, pulled and
# run by reg; `docker save` of it loaded by `reg image load`.
t_images_docker () {
  start_registry || return
  docker_private_start || return
  mkimage py >/dev/null
  # The py image's layers as one rootfs tar for docker import.
  python3 - "$IMAGES" "$T/rootfs.tar" <<'PY' || fail "rootfs tar"
import gzip, io, json, os, sys, tarfile
layout, out = sys.argv[1], sys.argv[2]
idx = json.load(open(os.path.join(layout, "index.json")))
d = [e for e in idx["manifests"] if e["annotations"]["org.opencontainers.image.ref.name"] == "images/py:1"][0]
blob = lambda h: open(os.path.join(layout, "blobs", "sha256", h[7:]), "rb").read()
m = json.loads(blob(d["digest"]))
names = set()
with tarfile.open(out, "w") as o:
    for l in m["layers"]:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(l["digest"])))) as t:
            for i in t.getmembers():
                if i.name not in names:
                    names.add(i.name)
                    o.addfile(i, t.extractfile(i) if i.isreg() else None)
    # What the RUN steps below need beyond the py image: chown, chmod, cp,
    # setcap and getcap, and their libraries (at the paths ld.so searches).
    import subprocess
    tools = ["/bin/chown", "/bin/chmod", "/bin/cp", "/sbin/setcap", "/sbin/getcap"]
    libs = set()
    for p in tools:
        for w in subprocess.run(["ldd", p], capture_output=True, text=True).stdout.split():
            if w.startswith("/"):
                libs.add(w)
    for p in tools + sorted(libs):
        name = os.path.realpath(p).strip("/") if p in tools else "usr/lib/x86_64-linux-gnu/" + os.path.basename(p)
        if name in names or p.startswith("/lib64"):
            continue
        names.add(name)
        i = o.gettarinfo(os.path.realpath(p), name)
        i.uid = i.gid = 0
        i.uname = i.gname = ""
        with open(os.path.realpath(p), "rb") as f:
            o.addfile(i, f)
PY
  run_cmd dock import "$T/rootfs.tar" e2e/pybase:1
  expect_rc 0
  mkdir -p "$T/ctx"
  cat >"$T/ctx/Dockerfile" <<DOCKERFILE
FROM e2e/pybase:1
RUN mkdir -p /data/gone /data/opq && echo old >/data/old && echo x >/data/gone/x \
 && echo below >/data/opq/below && echo content >/data/a
RUN rm /data/old && rm -r /data/gone && rm -r /data/opq && mkdir /data/opq \
 && echo fresh >/data/opq/fresh && ln /data/a /data/hl && ln -s a /data/rel \
 && ln -s /data/a /data/abs
# Owners, set-ID bits, a file capability (RET format 4; docs/images.md).
RUN cp /usr/bin/id /data/suid-id && chmod 4755 /data/suid-id \
 && echo mine >/data/mine && chown 1000:1001 /data/mine && chmod 0640 /data/mine \
 && cp /bin/cat /data/ping && setcap cap_net_raw+ep /data/ping \
 && mkdir /data/shared && chown 0:50 /data/shared && chmod 2775 /data/shared
ENV GREETING=docker-built
WORKDIR /data
CMD ["$PY", "-I", "-S", "-c", "import os; print('python runs,', os.environ['GREETING'], os.getcwd())"]
DOCKERFILE
  run_cmd env DOCKER_BUILDKIT=0 docker -H "unix://$DOCKER_DIR/docker.sock" build --network none \
    -q -t "$REGISTRY/e2e/dockerbuilt:1" "$T/ctx"
  expect_rc 0
  nsenter -t "$DOCKER_NETNS_PID" -n docker-registry serve "$T/registry.yml" >>"$T/registry.log" 2>&1 &
  AUX_PIDS="$AUX_PIDS $!"
  local _
  for _ in $(seq 100); do
    nsenter -t "$DOCKER_NETNS_PID" -n curl -fs "http://$REGISTRY/v2/" >/dev/null && break
    sleep 0.1
  done
  run_cmd dock push "$REGISTRY/e2e/dockerbuilt:1"
  expect_rc 0
  reset_regd2
  run_cmd reg2 pull "$REGISTRY/e2e/dockerbuilt:1"
  expect_rc 0
  run_cmd reg2 run --rm -t e2e.dockerbuilt@1
  expect_rc 0
  expect_out "python runs, docker-built /data"
  run_cmd reg2 run --rm -t e2e.dockerbuilt@1 -- /bin/sh -c \
    'ls /data; ls /data/opq; cat /data/hl; readlink /data/rel /data/abs; stat -c %i /data/a /data/hl | uniq | wc -l'
  expect_out "a
abs
hl
mine
opq
ping
rel
shared
suid-id
fresh
content
a
/data/a
1"
  local attrs='stat -c "%a %u %g %n" /data/suid-id /data/mine /data/ping /data/shared; getcap /data/ping'
  local want_attrs="4755 0 0 /data/suid-id
640 1000 1001 /data/mine
755 0 0 /data/ping
2775 0 50 /data/shared
/data/ping cap_net_raw=ep"
  run_cmd reg2 run --rm -t e2e.dockerbuilt@1 -- /bin/sh -c "$attrs"
  expect_rc 0
  expect_out "$want_attrs"
  # With --privileged (no no_new_privs) the set-user-ID bit acts: id run as
  # uid 2000 reports the file owner's effective uid... root's here.
  run_cmd reg2 run --rm --privileged -u 2000 -t e2e.dockerbuilt@1 -- /data/suid-id -u
  expect_out "0"
  run_cmd reg2 run --rm -u 2000 -t e2e.dockerbuilt@1 -- /data/suid-id -u
  expect_out "2000"
  # --security-opt no-new-privileges=false (Docker's default): the bit and
  # the file capability act, the seccomp filter still applies.
  run_cmd reg2 run --rm --security-opt no-new-privileges=false -u 2000 -t e2e.dockerbuilt@1 -- /data/suid-id -u
  expect_rc 0
  expect_out "0"
  run_cmd reg2 run --rm --security-opt no-new-privileges=false --cap-add NET_RAW -u 2000 \
    -t e2e.dockerbuilt@1 -- /data/ping /proc/self/status
  expect_rc 0
  expect_out_has $'CapEff:\t0000000000002000'
  expect_out_has $'NoNewPrivs:\t0'
  expect_out_has $'Seccomp:\t2'
  run_cmd reg2 run --rm --cap-add NET_RAW -u 2000 -t e2e.dockerbuilt@1 -- /data/ping /proc/self/status
  expect_out_has $'CapEff:\t0000000000000000'
  expect_out_has $'NoNewPrivs:\t1'
  run_cmd reg2 store verify
  expect_rc 0
  # Back to Docker: --as-image carries them (the capability as a pax xattr).
  run_cmd reg2 push --as-image e2e.dockerbuilt@1 "$REGISTRY/e2e/roundtrip:1"
  expect_rc 0
  run_cmd dock pull "$REGISTRY/e2e/roundtrip:1"
  expect_rc 0
  run_cmd dock run --rm --network none "$REGISTRY/e2e/roundtrip:1" /bin/sh -c "$attrs"
  expect_rc 0
  expect_out "$want_attrs"
  # docker save (this dockerd's format) through reg image load, into a
  # fresh engine: the same template.
  local want
  want=$(reg2 template inspect e2e.dockerbuilt@1 | sha256sum)
  run_cmd dock save -o "$T/saved.tar" "$REGISTRY/e2e/dockerbuilt:1"
  expect_rc 0
  reset_regd2
  run_cmd reg2 image load -i "$T/saved.tar"
  expect_rc 0
  expect_out_has "e2e.dockerbuilt@1"
  expect_eq "$(reg2 template inspect e2e.dockerbuilt@1 | sha256sum)" "$want" "loaded and pulled templates differ"
  run_cmd reg2 run --rm -t e2e.dockerbuilt@1
  expect_out "python runs, docker-built /data"
}

# The issue's "nginx serves" for an image built by the Docker engine: the
# host's nginx, its ELF closure, passwd/group and a configuration of its
# own as a root filesystem (tests/e2e/mkimage.py nginx-rootfs: host files,
# instant and offline, where a debootstrap tree needs Debian's mirror and
# minutes; bench/images.sh serves from debootstrap-built images), ADDed by
# a Dockerfile with EXPOSE, STOPSIGNAL and CMD, pushed by docker to
# docker-registry; reg pulls it and runs it with -P on its bridge: the
# exposed port is published, curl gets the page through loopback, and reg
# stop sends the image's SIGQUIT (nginx logs it and exits 0).
# Wait (up to 5 s) until the second engine has N volumes: a --rm run's
# monitor removes its anonymous volumes just after the run returns.
vols_settle () {
  local _
  for _ in $(seq 50); do
    [ "$(reg2 volume ls -q | wc -l)" = "$1" ] && return
    sleep 0.1
  done
}

t_images_nginx () {
  start_registry || return
  docker_private_start || return
  mkdir -p "$T/ngx"
  python3 "$MKIMAGE" "$T/ngx" nginx-rootfs || { fail "nginx rootfs"; return; }
  cat >"$T/ngx/Dockerfile" <<'DOCKERFILE'
FROM scratch
ADD nginx-rootfs.tar /
EXPOSE 80
STOPSIGNAL SIGQUIT
VOLUME /srv/www
CMD ["/usr/sbin/nginx", "-g", "daemon off;"]
DOCKERFILE
  run_cmd env DOCKER_BUILDKIT=0 docker -H "unix://$DOCKER_DIR/docker.sock" build --network none \
    -q -t "$REGISTRY/e2e/nginx:1" "$T/ngx"
  expect_rc 0
  nsenter -t "$DOCKER_NETNS_PID" -n docker-registry serve "$T/registry.yml" >>"$T/registry.log" 2>&1 &
  AUX_PIDS="$AUX_PIDS $!"
  local _ port
  for _ in $(seq 100); do
    nsenter -t "$DOCKER_NETNS_PID" -n curl -fs "http://$REGISTRY/v2/" >/dev/null && break
    sleep 0.1
  done
  run_cmd dock push "$REGISTRY/e2e/nginx:1"
  expect_rc 0
  reset_regd2
  run_cmd reg2 pull -q "$REGISTRY/e2e/nginx:1"
  expect_rc 0
  run_cmd reg2 template inspect e2e.nginx@1
  expect_out_has "80/tcp"
  expect_out_has "stop-signal: SIGQUIT"
  # -P: the image's ExposedPorts, on a free host port.
  run_cmd reg2 run -d --name ngx -P "$REGISTRY/e2e/nginx:1"
  expect_rc 0
  port=$(reg2 port ngx 80/tcp)
  port=${port##*:}
  case "$port" in [1-9]*) ;; *) fail "80/tcp not published: '$port'" ;; esac
  run_cmd get "http://127.0.0.1:$port/"
  expect_out "nginx from a docker-built image"
  run_cmd reg2 stop ngx
  expect_rc 0
  run_cmd reg2 inspect -f '{{.State.ExitCode}}' ngx
  expect_out "0"
  run_cmd reg2 logs ngx
  expect_err_has "signal 3 (SIGQUIT) received"
  # VOLUME /srv/www: a new anonymous volume initialised with the image's
  # files there (nginx served its page from it), owners, modes and the
  # symlink kept, each file a copy of its own (not the store's inode).
  local vol want_vol='644 0 0 /srv/www/index.html
750 33 33 /srv/www/sub
640 33 33 /srv/www/sub/private
777 0 0 /srv/www/link
1'
  vol=$(reg2 inspect -f '{{range .Mounts}}{{.Name}} {{.Destination}}{{end}}' ngx)
  case "$vol" in [0-9a-f]*" /srv/www") vol=${vol%% *} ;; *) fail "no anonymous volume at /srv/www: '$vol'" ;; esac
  run_cmd reg2 run --rm -v "$vol:/srv/www" "$REGISTRY/e2e/nginx:1" /bin/sh -c \
    'stat -c "%a %u %g %n" /srv/www/index.html /srv/www/sub /srv/www/sub/private /srv/www/link; stat -c %h /srv/www/index.html'
  expect_out "$want_vol"
  # rm without -v keeps it (Docker's rule); a named volume stays with -v.
  run_cmd reg2 rm ngx
  expect_rc 0
  run_cmd reg2 volume ls -q
  expect_out "$vol"
  run_cmd reg2 run -d --name ngx2 -v keep:/srv/www "$REGISTRY/e2e/nginx:1"
  expect_rc 0
  run_cmd reg2 volume ls -q
  expect_out "$vol
keep"
  # A named volume that is empty is initialised too.
  run_cmd reg2 run --rm -v keep:/srv/www "$REGISTRY/e2e/nginx:1" /bin/cat /srv/www/index.html
  expect_out "nginx from a docker-built image"
  # rm -v of a running container without -f: refused, nothing removed.
  run_cmd reg2 rm -v ngx2
  expect_rc 1
  expect_err_has "it is running"
  run_cmd reg2 rm -fv ngx2
  expect_rc 0
  run_cmd reg2 volume ls -q
  expect_out "$vol
keep"
  # A volume with anything in it is not filled: mine gets a file where the
  # image has nothing (so nothing is copied), then keeps only that file.
  run_cmd reg2 run --rm -v mine:/nothing "$REGISTRY/e2e/nginx:1" /bin/sh -c 'ls -A /nothing; echo mine >/nothing/f'
  expect_rc 0
  expect_out ""
  run_cmd reg2 run --rm -v mine:/srv/www "$REGISTRY/e2e/nginx:1" /bin/ls -A /srv/www
  expect_out "f"
  # rm -v takes the anonymous volume it made, and only that.
  run_cmd reg2 run -d --name ngx3 "$REGISTRY/e2e/nginx:1"
  expect_rc 0
  local vol3
  vol3=$(reg2 inspect -f '{{range .Mounts}}{{.Name}}{{end}}' ngx3)
  run_cmd reg2 rm -f -v ngx3
  expect_rc 0
  [ -e "$ROOT2/volumes/$vol3" ] && fail "rm -v left the anonymous volume $vol3"
  vols_settle 3
  run_cmd reg2 volume ls -q
  expect_out "$vol
keep
mine"
  run_cmd reg2 rm -v nosuch
  expect_rc 1
  expect_err_has "nosuch"
  # A volume over a file of the image: nothing is copied, the mount fails
  # clearly, the container goes (--rm) and the named volume stays, empty,
  # as Docker keeps a named volume.
  run_cmd reg2 run --rm -v vf:/srv/www/index.html "$REGISTRY/e2e/nginx:1" /bin/true
  expect_rc 125
  expect_err_has "mount target /srv/www/index.html (a symlink or file is in the way): Not a directory"
  expect_eq "$(ls -A "$ROOT2/volumes/vf/_data")" "" "a volume over a file got files"
  wait_removals "$ROOT2"
  expect_eq "$(reg2 ps -aq)" "" "containers left by a failed --rm run"
  reg2 volume rm vf >/dev/null
  # Run with --rm: the anonymous volume goes with the container.
  run_cmd reg2 run --rm "$REGISTRY/e2e/nginx:1" /bin/cat /srv/www/sub/private
  expect_out "www-data's"
  vols_settle 3
  run_cmd reg2 volume ls -q
  expect_out "$vol
keep
mine"
  reg2 volume rm "$vol" keep mine >/dev/null
}

# regd --link-host-files and images: an image file byte for byte the
# host's file at the same path (here: libc, python3, its modules, which
# mkimage.py takes from the host) becomes the host's own inode, under the
# rules templates follow; a file that differs (/etc/os-release) or does
# not qualify is the store's copy; the container runs; removing the root
# leaves the host's files as they were.
t_images_link_host () {
  local root3=$T/root-lh sock3=$T/reg-lh.sock pid3 libc py obj nlink_before
  libc=$(readlink -f /usr/lib/x86_64-linux-gnu/libc.so.6)
  py=$(readlink -f /usr/bin/python3)
  nlink_before=$(stat -c %h "$libc")
  mkimage py >/dev/null
  "$REGD" --root "$root3" --socket "$sock3" $(net_opts 2) --link-host-files >>"$T/regd-lh.log" 2>&1 &
  pid3=$!
  local reg3="env REG_HOST=unix://$sock3 $REG"
  for _ in $(seq 200); do $reg3 version >/dev/null 2>&1 && break; sleep 0.05; done
  run_cmd $reg3 pull -q --layout "$IMAGES" images/py:1
  expect_rc 0
  if [ "$(stat -c %d "$root3")" = "$(stat -c %d "$libc")" ]; then
    obj=$(ls "$root3"/store/objects/sha256/*/"$(sha256sum "$libc" | cut -c3-64)"*)
    expect_eq "$(stat -c %i "$obj")" "$(stat -c %i "$libc")" "libc's object is the host's inode"
    obj=$(ls "$root3"/store/objects/sha256/*/"$(sha256sum "$py" | cut -c3-64)".x)
    expect_eq "$(stat -c %i "$obj")" "$(stat -c %i "$py")" "python3's object is the host's inode"
  fi
  obj=$(ls "$root3"/store/objects/sha256/*/"$(printf 'NAME=reg-e2e\n' | sha256sum | cut -c3-64)")
  expect_eq "$(stat -c '%h %a %u' "$obj")" "1 444 0" "the image's own os-release, a copy"
  run_cmd $reg3 run --rm -t images.py@1
  expect_rc 0
  expect_out "hello from an image"
  run_cmd $reg3 store verify
  expect_out_has " 0 corrupt"
  kill -TERM "$pid3"
  wait "$pid3" 2>/dev/null
  grep -q "ERROR: .*Sanitizer" "$T/regd-lh.log" && fail "regd --link-host-files: $(grep -m1 'ERROR: ' "$T/regd-lh.log")"
  rm -rf "$root3"
  expect_eq "$(stat -c %h "$libc")" "$nlink_before" "links of the host's libc after the root is gone"
}

# A volume initialised from a layered environment (an app on its base,
# envgen.h): the base's files and the app's layer over them, as the
# container sees them; and --as-image of such an app (a private full tree
# is walked, then removed).
t_images_volume_layered () {
  reset_regd2
  reg2 template create vbase@1 /bin/sh /bin/cat /bin/ls >/dev/null || fail "create vbase@1"
  reg2 template create vapp@1 /bin/echo --requires vbase@1 >/dev/null || fail "create vapp@1"
  run_cmd reg2 run --rm -v lv:/bin -t vapp@1 -- /bin/ls /bin
  expect_rc 0
  expect_out "cat
dash
echo
ls
sh"
  ls -d "$ROOT2"/envs/*/base >/dev/null 2>&1 || fail "vapp@1's environment is not layered"
  expect_eq "$(ls "$ROOT2/volumes/lv/_data" | tr '\n' ' ')" "cat dash echo ls sh " \
    "the volume: the base's files and the app's"
  mkdir -p "$T/vlay"
  run_cmd reg2 push --as-image --layout "$T/vlay" vapp@1 vl/app:1
  expect_rc 0
  [ -z "$(ls -A "$ROOT2/envs" | grep '^\.gen-')" ] || fail "a private tree left in envs: $(ls -A "$ROOT2/envs")"
  reg2 volume rm lv >/dev/null
}

ALL="$ALL t_images_layout t_images_layers t_images_registry t_images_hostile t_images_load t_images_export t_images_defaults t_images_docker t_images_nginx t_images_link_host t_images_volume_layered"
