# Templates through OCI registries and image-layout directories (issue 4,
# docs/registry.md): push from this engine, pull into a second, fresh engine
# root (its own regd), run a container from what was pulled. The registry is
# Debian's docker-registry (distribution 2.8) on 127.0.0.1 with a temporary
# storage directory; skopeo checks the artifacts are valid OCI.

ROOT2=$T/root2
SOCK2=$T/reg2.sock
REGD2_PID=
REGISTRY_PID=
REGISTRY=
REGDATA=$T/registry

start_regd2 () {
  [ -n "$REGD2_PID" ] && return 0
  "$REGD" --root "$ROOT2" --socket "$SOCK2" >>"$T/regd2.log" 2>&1 &
  REGD2_PID=$!
  for _ in $(seq 200); do
    [ -S "$SOCK2" ] && REG_HOST=unix://$SOCK2 "$REG" version >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  fail "second regd did not come up: $(cat "$T/regd2.log")"
}

# A fresh second engine: every pull starts from an empty store.
reset_regd2 () {
  if [ -n "$REGD2_PID" ]; then
    kill -TERM "$REGD2_PID" 2>/dev/null
    wait "$REGD2_PID" 2>/dev/null
    REGD2_PID=
  fi
  rm -rf "$ROOT2"
  start_regd2
}

reg2 () { REG_HOST=unix://$SOCK2 "$REG" "$@"; }

snapshot2 () {
  (cd "$ROOT2" && find store/objects templates envs containers -mindepth 1 -maxdepth 3 \
     ! -name lock | sort; ls -A store/tmp) | sha256sum
}

free_port () {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_registry () {
  [ -n "$REGISTRY_PID" ] && return 0
  command -v docker-registry >/dev/null || { fail "docker-registry not installed (scripts/deps.sh --test)"; return 1; }
  local port
  port=$(free_port)
  mkdir -p "$REGDATA"
  cat >"$T/registry.yml" <<CFG
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $REGDATA}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
CFG
  docker-registry serve "$T/registry.yml" >>"$T/registry.log" 2>&1 &
  REGISTRY_PID=$!
  REGISTRY=127.0.0.1:$port
  for _ in $(seq 100); do
    curl -fs "http://$REGISTRY/v2/" >/dev/null && return 0
    sleep 0.1
  done
  fail "docker-registry did not come up: $(cat "$T/registry.log")"
}

registry_cleanup () {
  [ -n "$REGD2_PID" ] && { kill -TERM "$REGD2_PID" 2>/dev/null; wait "$REGD2_PID" 2>/dev/null; }
  [ -n "$REGISTRY_PID" ] && { kill -TERM "$REGISTRY_PID" 2>/dev/null; wait "$REGISTRY_PID" 2>/dev/null; }
  REGD2_PID= REGISTRY_PID=
}

# Blob file in the registry's storage.
registry_blob () { echo "$REGDATA/docker/registry/v2/blobs/sha256/${1:0:2}/$1/data"; }

# The digest of a lib or files layer of a pushed manifest.
layer_digest () { # REPO:TAG MEDIA-TYPE-SUBSTRING
  curl -fs -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REGISTRY/v2/${1%%:*}/manifests/${1##*:}" |
    python3 -c 'import json,sys; m=json.load(sys.stdin); print([l["digest"][7:] for l in m["layers"] if sys.argv[1] in l["mediaType"]][0])' "$2"
}

libc_digest () { # TEMPLATE
  "$REG" template inspect "$1" | sed -n "s/.*libc@6: {object: '\{0,1\}sha256:\([0-9a-f]*\).*/\1/p"
}

t_registry_layout_roundtrip () {
  local dir=$T/usb
  run_cmd "$REG" push --layout "$dir" base@1 templates/base:1
  expect_rc 0
  expect_out_has "templates/base:1 sha256:"
  [ -f "$dir/oci-layout" ] && [ -f "$dir/index.json" ] || fail "no OCI layout in $dir"
  # Again: nothing moves.
  run_cmd "$REG" push --layout "$dir" base@1 templates/base:1
  expect_rc 0
  expect_out_has "uploaded 0 blobs"
  # skopeo reads the layout as OCI.
  run_cmd skopeo inspect --raw "oci:$dir:templates/base:1"
  expect_rc 0
  expect_out_has '"application/vnd.reg.template.v1+yaml"'
  reset_regd2
  run_cmd reg2 pull --layout "$dir" templates/base:1
  expect_rc 0
  expect_out_has "base@1"
  run_cmd reg2 run --rm -t base@1 -- /bin/echo pulled-from-layout
  expect_rc 0
  expect_out "pulled-from-layout"
  expect_eq "$(reg2 template inspect base@1 | sha256sum)" "$("$REG" template inspect base@1 | sha256sum)" \
    "pulled RET differs from pushed"
  # Pulling again downloads nothing and changes nothing.
  local before
  before=$(snapshot2)
  run_cmd reg2 pull --layout "$dir" templates/base:1
  expect_rc 0
  expect_out_has "downloaded 0 blobs"
  expect_eq "$(snapshot2)" "$before" "second pull changed the store"
  # The default layout under the engine root, and tags.
  run_cmd "$REG" push -q base@1 local/base:1
  expect_rc 0
  [ -f "$ROOT/layout/index.json" ] || fail "default layout not under the engine root"
  run_cmd "$REG" template ls local/base
  expect_rc 0
  expect_out "1"
}

t_registry_remote_roundtrip () {
  start_registry || return
  "$REG" template create app@1 /bin/ls --requires base@1 >/dev/null || fail "create app@1"
  run_cmd "$REG" push --insecure app@1 "$REGISTRY/t/app:1"
  expect_rc 0
  # Requires go along, to the sibling repository.
  expect_out_has "$REGISTRY/t/base:1 sha256:"
  expect_out_has "$REGISTRY/t/app:1 sha256:"
  run_cmd skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/t/app:1"
  expect_rc 0
  expect_out_has '"mediaType":"application/vnd.oci.image.manifest.v1+json"'
  expect_out_has '"org.reg.lib":"libc@6"'
  run_cmd "$REG" template ls --insecure "$REGISTRY/t/app"
  expect_rc 0
  expect_out "1"
  reset_regd2
  run_cmd reg2 pull --insecure "$REGISTRY/t/app:1"
  expect_rc 0
  expect_out_has "app@1"
  expect_out_has "base@1"
  run_cmd reg2 run --rm -t app@1 -- /bin/ls /bin/echo
  expect_rc 0
  expect_out "/bin/echo"
}

t_registry_dedup () {
  start_registry || return
  "$REG" template create dedup-a@1 /bin/cat >/dev/null && "$REG" template create dedup-b@1 /bin/echo >/dev/null ||
    fail "create dedup templates"
  local libc
  libc=$(libc_digest dedup-a@1)
  [ -n "$libc" ] || fail "no libc in dedup-a@1"
  run_cmd "$REG" push --insecure dedup-a@1 "$REGISTRY/d/a:1"
  expect_rc 0
  # The second push sends no libc: the registry has it (mounted from d/a).
  run_cmd "$REG" push --insecure dedup-b@1 "$REGISTRY/d/b:1"
  expect_rc 0
  expect_out_has "${libc:0:12}: mounted"
  case "$out" in *"${libc:0:12}: uploaded"*) fail "libc uploaded again" ;; esac
  # Pulling both downloads libc once.
  reset_regd2
  run_cmd reg2 pull --insecure "$REGISTRY/d/a:1"
  expect_rc 0
  expect_out_has "${libc:0:12}: downloaded"
  run_cmd reg2 pull --insecure "$REGISTRY/d/b:1"
  expect_rc 0
  expect_out_has "${libc:0:12}: present"
  case "$out" in *"${libc:0:12}: downloaded"*) fail "libc downloaded twice" ;; esac
}

t_registry_tamper () {
  start_registry || return
  "$REG" template create tamper@1 /bin/cat >/dev/null
  run_cmd "$REG" push --insecure -q tamper@1 "$REGISTRY/x/tamper:1"
  expect_rc 0
  local blob
  blob=$(layer_digest x/tamper:1 files)
  [ -n "$blob" ] || { fail "no files layer"; return; }
  local f
  f=$(registry_blob "$blob")
  cp "$f" "$T/blob.orig"
  printf 'X' | dd of="$f" bs=1 seek=20 conv=notrunc 2>/dev/null
  reset_regd2
  local before
  before=$(snapshot2)
  run_cmd reg2 pull --insecure "$REGISTRY/x/tamper:1"
  expect_rc 1
  expect_err_has "blob sha256:$blob"
  expect_err_has "digest mismatch"
  expect_eq "$(snapshot2)" "$before" "a failed pull changed the store"
  run_cmd reg2 template ls
  case "$out" in *tamper*) fail "tampered template listed" ;; esac
  # A truncated blob: named, nothing kept.
  head -c 100 "$T/blob.orig" >"$f"
  run_cmd reg2 pull --insecure "$REGISTRY/x/tamper:1"
  expect_rc 1
  expect_err_has "blob sha256:$blob"
  expect_err_has "truncated"
  expect_eq "$(snapshot2)" "$before" "a truncated pull changed the store"
  cp "$T/blob.orig" "$f"
}

t_registry_bad_input () {
  start_registry || return
  start_regd2
  local before
  before=$(snapshot2)
  # An unknown reference.
  run_cmd reg2 pull --insecure "$REGISTRY/nothing/here:1"
  expect_rc 1
  expect_err_has "nothing/here:1"
  expect_err_has "not found"
  # A malformed one.
  run_cmd reg2 pull "$REGISTRY/Bad/UPPER:1"
  expect_rc 1
  expect_err_has "malformed repository"
  # A registry that is down.
  run_cmd reg2 pull --insecure "127.0.0.1:$(free_port)/t/app:1"
  expect_rc 1
  expect_err_has "connect to server"
  # 401 with a Basic challenge and no credentials.
  local port
  port=$(free_port)
  python3 - "$port" >/dev/null 2>&1 <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="test"')
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_HEAD = do_GET
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
  local py=$!
  for _ in $(seq 50); do curl -s "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
  run_cmd reg2 pull --insecure "127.0.0.1:$port/t/app:1"
  expect_rc 1
  expect_err_has "access denied (HTTP 401"
  expect_err_has "reg login"
  kill "$py" 2>/dev/null
  wait "$py" 2>/dev/null
  # A manifest of another media type: a plain OCI image, in a layout.
  python3 - "$T/other-layout" <<'PY'
import hashlib, json, os, sys
d = sys.argv[1]
os.makedirs(d + "/blobs/sha256", exist_ok=True)
def blob(b):
    h = hashlib.sha256(b).hexdigest()
    open(f"{d}/blobs/sha256/{h}", "wb").write(b)
    return h, len(b)
c, cs = blob(b"{}")
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": "sha256:" + c, "size": cs}, "layers": []}).encode()
mh, ms = blob(m)
open(d + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": "sha256:" + mh, "size": ms,
           "annotations": {"org.opencontainers.image.ref.name": "other/image:1"}}]},
          open(d + "/index.json", "w"))
PY
  run_cmd reg2 pull --layout "$T/other-layout" other/image:1
  expect_rc 1
  expect_err_has "config of media type application/vnd.oci.image.config.v1+json is not a reg template"
  # --layout with a registry host; push of an unknown template.
  run_cmd reg2 pull --layout "$T/usb" "$REGISTRY/t/app:1"
  expect_rc 1
  expect_err_has "--layout takes a reference without a registry host"
  run_cmd reg2 push nosuch@1 local/nosuch:1
  expect_rc 1
  expect_err_has "nosuch@1"
  expect_eq "$(snapshot2)" "$before" "bad input changed the store"
}

t_registry_login () {
  local cfg=$T/auth.json
  run_cmd sh -c "echo secret | REG_CONFIG=$cfg $REG login -u alice --password-stdin reg.example:5000"
  expect_rc 0
  expect_eq "$(stat -c %a "$cfg")" "600" "credentials file mode"
  grep -q alice "$cfg" || fail "user not stored"
  run_cmd env REG_CONFIG="$cfg" "$REG" logout reg.example:5000
  expect_rc 0
  grep -q alice "$cfg" && fail "credentials kept after logout"
  run_cmd env REG_CONFIG="$cfg" "$REG" logout reg.example:5000
  expect_rc 1
  expect_err_has "not logged in"
}

# run.sh's own cleanup stops the main regd; this stops ours too, whichever
# tests ran.
trap 'registry_cleanup; cleanup' EXIT

ALL="$ALL t_registry_layout_roundtrip t_registry_remote_roundtrip t_registry_dedup t_registry_tamper t_registry_bad_input t_registry_login"
