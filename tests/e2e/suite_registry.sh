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
  "$REGD" --root "$ROOT2" --socket "$SOCK2" $(net_opts 1) >>"$T/regd2.log" 2>&1 &
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
  wait_removals "$ROOT2"
  (cd "$ROOT2" && find store/objects templates envs containers -mindepth 1 -maxdepth 3 \
     ! -name lock | sort; ls -A store/tmp) | sha256sum
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
  local p
  for p in $AUX_PIDS; do
    kill -TERM "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  REGD2_PID= REGISTRY_PID= AUX_PIDS=
  docker_private_stop
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
  # A file keeps its mtime through push and pull (Python's .pyc check).
  run_cmd reg2 run --rm -t base@1 -- /usr/bin/stat -c %Y /bin/echo
  expect_out "$(stat -c %Y /bin/echo)"
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
  expect_err_has "other/image:1: image for (no os)/(no architecture), not linux/amd64"
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

# ---- HTTPS, Basic and Bearer authentication ----
#
# A throwaway CA signs the registries' certificate; each engine trusts it
# through its own <root>/certs.d/HOST:PORT/ca.crt, never the host's store.

AUX_PIDS=
AUX_PORT=

make_pki () {
  local d=$T/pki
  [ -f "$d/server.crt" ] && return 0
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=reg e2e CA" \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>>"$d/log" &&
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$d/server.key" -out "$d/server.csr" 2>>"$d/log" &&
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$d/server.ext" &&
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/server.ext" -out "$d/server.crt" 2>>"$d/log" ||
    { fail "openssl could not make the test PKI: $(cat "$d/log")"; return 1; }
}

trust_ca () { # ROOT HOST:PORT
  mkdir -p "$1/certs.d/$2" && cp "$T/pki/ca.crt" "$1/certs.d/$2/ca.crt"
}

# docker-registry over TLS with the given auth section; sets AUX_PORT.
start_aux_registry () { # NAME AUTH-YAML
  command -v docker-registry >/dev/null || { fail "docker-registry not installed (scripts/deps.sh --test)"; return 1; }
  AUX_PORT=$(free_port)
  mkdir -p "$T/$1-data"
  cat >"$T/$1.yml" <<CFG
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $T/$1-data}}
http:
  addr: 127.0.0.1:$AUX_PORT
  tls: {certificate: $T/pki/server.crt, key: $T/pki/server.key}
auth: $2
CFG
  docker-registry serve "$T/$1.yml" >>"$T/$1.log" 2>&1 &
  AUX_PIDS="$AUX_PIDS $!"
  for _ in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/pki/ca.crt" \
      "https://127.0.0.1:$AUX_PORT/v2/")" = 401 ] && return 0
    sleep 0.1
  done
  fail "docker-registry $1 did not come up: $(cat "$T/$1.log")"
  return 1
}

login () { # CONFIG HOST PASSWORD
  printf '%s\n' "$3" | REG_CONFIG=$1 "$REG" login "$2" -u alice --password-stdin >/dev/null ||
    fail "reg login $2"
}

t_registry_tls_basic () {
  make_pki || return
  command -v htpasswd >/dev/null || { fail "htpasswd not installed (apache2-utils, scripts/deps.sh --test)"; return; }
  htpasswd -Bbn alice s3cret >"$T/htpasswd"
  start_aux_registry basic "{htpasswd: {realm: reg-e2e, path: $T/htpasswd}}" || return
  local host=127.0.0.1:$AUX_PORT cfg=$T/basic-auth.json nobody=$T/nobody.json
  "$REG" template create tls@1 /bin/echo >/dev/null || fail "create tls@1"
  # The registry's CA is not trusted yet.
  REG_CONFIG=$nobody run_cmd "$REG" push tls@1 "$host/s/tls:1"
  expect_rc 1
  expect_err_has "registry $host"
  expect_err_has "certificate"
  expect_err_has "certs.d/HOST[:PORT]/ca.crt"
  trust_ca "$ROOT" "$host"
  # Trusted, but no credentials: a 401 naming the registry and reg login.
  REG_CONFIG=$nobody run_cmd "$REG" push tls@1 "$host/s/tls:1"
  expect_rc 1
  expect_err_has "registry $host"
  expect_err_has "access denied (HTTP 401"
  expect_err_has "run reg login $host"
  # A wrong password.
  login "$cfg" "$host" wrong
  REG_CONFIG=$cfg run_cmd "$REG" push tls@1 "$host/s/tls:1"
  expect_rc 1
  expect_err_has "access denied (HTTP 401"
  expect_err_has "check the user and password given to reg login $host"
  # The right one: the file is private, the push goes through.
  login "$cfg" "$host" s3cret
  expect_eq "$(stat -c %a "$cfg")" 600 "credentials file mode"
  REG_CONFIG=$cfg run_cmd "$REG" push tls@1 "$host/s/tls:1"
  expect_rc 0
  expect_out_has "$host/s/tls:1 sha256:"
  run_cmd curl -fs --cacert "$T/pki/ca.crt" -u alice:s3cret \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' "https://$host/v2/s/tls/manifests/1"
  expect_out_has '"org.reg.template":"tls@1"'
  # Pull into the second engine, which trusts the CA through its own root.
  reset_regd2
  trust_ca "$ROOT2" "$host"
  local before
  before=$(snapshot2)
  REG_CONFIG=$nobody run_cmd reg2 pull "$host/s/tls:1"
  expect_rc 1
  expect_err_has "registry $host"
  expect_err_has "run reg login $host"
  expect_eq "$(snapshot2)" "$before" "a denied pull changed the store"
  # A CA file that is not one: named.
  echo "not a certificate" >"$ROOT2/certs.d/$host/broken.crt"
  REG_CONFIG=$cfg run_cmd reg2 pull "$host/s/tls:1"
  expect_rc 1
  expect_err_has "CA file $ROOT2/certs.d/$host/broken.crt holds no PEM certificate"
  rm "$ROOT2/certs.d/$host/broken.crt"
  expect_eq "$(snapshot2)" "$before" "a pull with a broken CA file changed the store"
  REG_CONFIG=$cfg run_cmd reg2 pull "$host/s/tls:1"
  expect_rc 0
  expect_out_has "tls@1"
  run_cmd reg2 run --rm -t tls@1 -- /bin/echo over-tls
  expect_rc 0
  expect_out "over-tls"
  # After logout: 401 again, nothing changes.
  REG_CONFIG=$cfg run_cmd "$REG" logout "$host"
  expect_rc 0
  grep -q alice "$cfg" && fail "credentials kept after logout"
  before=$(snapshot2)
  REG_CONFIG=$cfg run_cmd reg2 pull "$host/s/tls:1"
  expect_rc 1
  expect_err_has "access denied (HTTP 401"
  expect_err_has "run reg login $host"
  expect_eq "$(snapshot2)" "$before" "a pull after logout changed the store"
}

# A token server (Distribution's token auth): checks Basic credentials
# (alice/s3cret) and issues RS256 JWTs for the scopes asked for — none to
# anonymous callers. Logs "USER SERVICE SCOPE..." per request.
write_token_server () {
  cat >"$T/token_server.py" <<'PY'
import base64, http.server, json, ssl, sys, time, urllib.parse, uuid
import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
port, cert, key, sign_cert, sign_key, log = sys.argv[1:7]
signer = open(sign_key).read()
chain = [base64.b64encode(x509.load_pem_x509_certificate(open(sign_cert, "rb").read())
                          .public_bytes(Encoding.DER)).decode()]
class H(http.server.BaseHTTPRequestHandler):
    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        service, scopes, user = q.get("service", [""])[0], q.get("scope", []), ""
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            name, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            if (name, password) != ("alice", "s3cret"):
                with open(log, "a") as f:
                    print("denied", name, file=f)
                return self.reply(401, {"details": "wrong user or password"})
            user = name
        with open(log, "a") as f:
            print(user or "-", service, *scopes, file=f)
        access = []
        for s in scopes if user else []:
            kind, _, rest = s.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {"iss": "reg-e2e-issuer", "sub": user, "aud": service, "iat": now,
                  "nbf": now - 10, "exp": now + 300, "jti": uuid.uuid4().hex, "access": access}
        token = jwt.encode(claims, signer, algorithm="RS256", headers={"x5c": chain})
        self.reply(200, {"token": token, "expires_in": 300})
    def log_message(self, *a):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
PY
}

t_registry_bearer () {
  make_pki || return
  # Debian's python3 (python3-jwt, python3-cryptography), whatever PATH says.
  local py=/usr/bin/python3
  "$py" -c 'import jwt, cryptography' 2>/dev/null ||
    { fail "python3-jwt / python3-cryptography not installed (scripts/deps.sh --test)"; return; }
  local d=$T/pki
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=reg e2e token signer" \
    -keyout "$d/token.key" -out "$d/token.crt" 2>>"$d/log" || { fail "token signing key"; return; }
  write_token_server
  local tport tlog=$T/token.log
  tport=$(free_port)
  "$py" "$T/token_server.py" "$tport" "$d/server.crt" "$d/server.key" "$d/token.crt" \
    "$d/token.key" "$tlog" >>"$T/token_server.log" 2>&1 &
  AUX_PIDS="$AUX_PIDS $!"
  local realm=https://127.0.0.1:$tport/token
  for _ in $(seq 100); do
    curl -fs --cacert "$d/ca.crt" "$realm?service=probe" >/dev/null && break
    sleep 0.1
  done
  start_aux_registry bearer "{token: {realm: \"$realm\", service: reg-e2e, issuer: reg-e2e-issuer, rootcertbundle: $d/token.crt}}" || return
  local host=127.0.0.1:$AUX_PORT cfg=$T/bearer-auth.json nobody=$T/nobody.json
  trust_ca "$ROOT" "$host"
  "$REG" template create bsrc@1 /bin/cat >/dev/null && "$REG" template create bdst@1 /bin/ls >/dev/null ||
    fail "create bearer templates"
  local libc
  libc=$(libc_digest bsrc@1)
  # Anonymous: the challenge is followed, the token grants nothing, the
  # registry says no.
  REG_CONFIG=$nobody run_cmd "$REG" push bsrc@1 "$host/b/src:1"
  expect_rc 1
  expect_err_has "access denied (HTTP 401"
  expect_err_has "run reg login $host"
  grep -q "^- reg-e2e repository:b/src:" "$tlog" || fail "no anonymous token request: $(cat "$tlog")"
  # A wrong password: the token server refuses.
  login "$cfg" "$host" wrong
  REG_CONFIG=$cfg run_cmd "$REG" push bsrc@1 "$host/b/src:1"
  expect_rc 1
  expect_err_has "token server $realm refused (HTTP 401)"
  expect_err_has "check the user and password given to reg login $host"
  # Logged in: push, then a second repository gets libc by a mount, with a
  # token whose scope includes pull access to the source repository.
  login "$cfg" "$host" s3cret
  REG_CONFIG=$cfg run_cmd "$REG" push bsrc@1 "$host/b/src:1"
  expect_rc 0
  expect_out_has "$host/b/src:1 sha256:"
  REG_CONFIG=$cfg run_cmd "$REG" push bdst@1 "$host/b/dst:1"
  expect_rc 0
  expect_out_has "${libc:0:12}: mounted"
  grep -Eq "^alice reg-e2e repository:b/dst:[a-z,]*push[a-z,]* repository:b/src:pull$" "$tlog" ||
    fail "no mount token with the source repository's scope: $(cat "$tlog")"
  # Pull: anonymous denied with nothing changed, then with the login.
  reset_regd2
  trust_ca "$ROOT2" "$host"
  local before
  before=$(snapshot2)
  REG_CONFIG=$nobody run_cmd reg2 pull "$host/b/dst:1"
  expect_rc 1
  expect_err_has "run reg login $host"
  expect_eq "$(snapshot2)" "$before" "a denied pull changed the store"
  REG_CONFIG=$cfg run_cmd reg2 pull "$host/b/dst:1"
  expect_rc 0
  expect_out_has "bdst@1"
  run_cmd reg2 run --rm -t bdst@1 -- /bin/ls /bin/ls
  expect_rc 0
  expect_out "/bin/ls"
  # Logged out: denied again.
  REG_CONFIG=$cfg run_cmd "$REG" logout "$host"
  REG_CONFIG=$cfg run_cmd reg2 pull "$host/b/src:1"
  expect_rc 1
  expect_err_has "run reg login $host"
}

# ---- output: bars on a terminal, lines otherwise, the result alone with -q ----

t_registry_progress () {
  start_registry || return
  run_cmd "$REG" push --insecure -q base@1 "$REGISTRY/p/base:1"
  expect_rc 0
  # A terminal (script(1) gives reg a pty): one bar per blob with bytes,
  # total and rate, then the result.
  reset_regd2
  run_cmd script -qec "REG_HOST=unix://$SOCK2 $REG pull --insecure $REGISTRY/p/base:1" /dev/null
  expect_rc 0
  local esc=$'\033' cr=$'\r'
  case "$out" in *"$esc[2K"*) ;; *) fail "no bar redrawn on a terminal: ${out:0:300}" ;; esac
  # The bars as lines, cursor movements and line erasures taken out.
  local bars
  bars=$(echo "$out" | tr '\r' '\n' | sed 's/\x1b\[[0-9]*[A-Z]//g')
  echo "$bars" |
    grep -Eq "^[0-9a-f]{12}: downloaded +\[=+\] [0-9.]+ [kMG]?B/[0-9.]+ [kMG]?B [0-9.]+ [kMG]?B/s$" ||
    fail "no bar with bytes/total/rate: $(echo "$bars" | head -c 600)"
  case "$bars" in *": uploading"*) fail "a pull shows uploads: $(echo "$bars" | head -c 300)" ;; esac
  local nbars
  nbars=$(echo "$bars" | grep -Eo "^[0-9a-f]{12}: " | sort -u | wc -l)
  local nlayers
  nlayers=$(curl -fs -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REGISTRY/v2/p/base/manifests/1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["layers"]))')
  [ "$nbars" -ge "$nlayers" ] || fail "$nbars bars for $nlayers blobs"
  local last
  last=$(echo "$out" | tr -d '\r' | grep -v '^$' | tail -n 2)
  case "$last" in *"base@1"*"downloaded "*" blobs"*) ;; *) fail "output does not end with the result: '$last'" ;; esac
  # Not a terminal: plain lines, no escapes, no carriage returns.
  reset_regd2
  run_cmd reg2 pull --insecure "$REGISTRY/p/base:1"
  expect_rc 0
  case "$out" in *"$esc"* | *"$cr"*) fail "terminal control in non-TTY output" ;; esac
  local bad
  bad=$(echo "$out" | grep -Ev '^[0-9a-f]{12}: (downloaded|present)$|^[a-z0-9.-]+@[^ ]+: saved$|^base@1$|^downloaded [0-9]+ blobs \([0-9]+ bytes\)$')
  expect_eq "$bad" "" "unexpected non-TTY lines"
  expect_out_has "downloaded"
  # -q: the result only.
  reset_regd2
  run_cmd reg2 pull -q --insecure "$REGISTRY/p/base:1"
  expect_rc 0
  expect_out "base@1"
  # Already present: still named, with -q on a terminal too.
  run_cmd reg2 pull --insecure "$REGISTRY/p/base:1"
  expect_rc 0
  expect_out_has "base@1: already present"
  expect_out_has "downloaded 0 blobs"
  reset_regd2
  run_cmd script -qec "REG_HOST=unix://$SOCK2 $REG pull -q --insecure $REGISTRY/p/base:1" /dev/null
  expect_rc 0
  expect_eq "$(echo "$out" | tr -d '\r')" "base@1" "-q on a terminal"
  run_cmd script -qec "REG_HOST=unix://$SOCK2 $REG pull -q --insecure $REGISTRY/p/base:1" /dev/null
  expect_rc 0
  expect_eq "$(echo "$out" | tr -d '\r')" "base@1" "-q on a terminal, already present"
}

t_registry_digest () {
  start_registry || return
  run_cmd "$REG" push --insecure -q base@1 "$REGISTRY/g/base:1"
  expect_rc 0
  local digest
  digest=$(echo "$out" | awk -v r="$REGISTRY/g/base:1" '$1 == r {print $2}')
  case "$digest" in sha256:????????????????????????????????????????????????????????????????) ;;
    *) fail "no manifest digest in '$out'"; return ;; esac
  reset_regd2
  local before
  before=$(snapshot2)
  # A digest no manifest of the repository has: not found, nothing changes.
  local other=sha256:$(printf other | sha256sum | cut -c1-64)
  run_cmd reg2 pull --insecure "$REGISTRY/g/base@$other"
  expect_rc 1
  expect_err_has "$REGISTRY/g/base@$other"
  expect_err_has "not found"
  run_cmd reg2 pull --insecure "$REGISTRY/g/base@sha256:1234"
  expect_rc 1
  expect_err_has 'malformed digest "sha256:1234"'
  expect_eq "$(snapshot2)" "$before" "a bad digest pull changed the store"
  # The pushed digest: the same template.
  run_cmd reg2 pull --insecure "$REGISTRY/g/base@$digest"
  expect_rc 0
  expect_out_has "base@1"
  expect_eq "$(reg2 template inspect base@1 | sha256sum)" "$("$REG" template inspect base@1 | sha256sum)" \
    "template pulled by digest differs"
  # A push names a tag.
  run_cmd "$REG" push --insecure base@1 "$REGISTRY/g/base@$digest"
  expect_rc 1
  expect_err_has "a push needs a tag"
  # A layout too: found by digest within its repository only.
  local dir=$T/digest-layout
  run_cmd "$REG" push -q --layout "$dir" base@1 one/base:1
  expect_rc 0
  digest=$(echo "$out" | awk '$1 == "one/base:1" {print $2}')
  reset_regd2
  before=$(snapshot2)
  run_cmd reg2 pull --layout "$dir" "two/base@$digest"
  expect_rc 1
  expect_err_has "two/base@$digest: no such manifest in layout $dir"
  expect_eq "$(snapshot2)" "$before" "a pull of a digest of another repository changed the store"
  run_cmd reg2 pull -q --layout "$dir" "one/base@$digest"
  expect_rc 0
  expect_out "base@1"
}

# The second regd's sanitizer reports fail the run, as the main regd's do
# (run.sh calls this after the tests).
registry_finish () {
  registry_cleanup
  if [ -f "$T/regd2.log" ] &&
    grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T/regd2.log" >/dev/null; then
    echo "FAIL sanitizers reported errors in the second regd (suite_registry):" >&2
    cat "$T/regd2.log" >&2
    FAILED=$((FAILED + 1))
  fi
}
FINISH="${FINISH:-} registry_finish"

# run.sh's own cleanup stops the main regd; this stops ours too, whichever
# tests ran, also when the run is interrupted.
trap 'registry_cleanup; cleanup' EXIT

ALL="$ALL t_registry_layout_roundtrip t_registry_remote_roundtrip t_registry_dedup t_registry_tamper t_registry_bad_input t_registry_login t_registry_tls_basic t_registry_bearer t_registry_progress t_registry_digest"
