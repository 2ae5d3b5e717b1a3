# reg-hub's embedded registry (issue 20, docs/hub.md "The registry"):
# templates put into the hub's OCI layout with `reg-hub registry import`,
# read over the distribution API on the hub's HTTPS listener with Docker's
# token flow, by curl, skopeo and a real regd (`reg pull`). Uses the hub and
# helpers of suite_hub.sh, and the second engine of suite_registry.sh.

# rget PATH [curl args]: $code, $body and $hdr (the reply's headers) of a
# request to the hub's registry, verified against the hub's certificate.
rget () {
  local p=$1
  shift
  code=$(curl -s --max-time 30 --cacert "$HUB_HOME/data/tls/cert.pem" -o "$HUB_DIR/rbody" \
    -D "$HUB_DIR/rhdr" -w '%{http_code}' "$@" "$HUB_URL$p")
  body=$(cat "$HUB_DIR/rbody")
  hdr=$(tr -d '\r' <"$HUB_DIR/rhdr")
}

# The hub's layout as files and contents: what a refused request must not change.
hub_layout_snapshot () {
  (cd "$HUB_HOME/data/registry" && find . -type f | sort | xargs sha256sum) | sha256sum
}

t_hub_registry () {
  hub_setup || return
  local data=$HUB_HOME/data host=${HUB_URL#https://} src=$T/hubreg-src
  # The hub's templates: made on this engine, pushed to a layout, imported.
  "$REG" template create hregbase@1 /bin/sh /bin/echo >/dev/null || fail "create hregbase@1"
  "$REG" template create hregapp@1 --requires hregbase@1 /bin/cat >/dev/null ||
    fail "create hregapp@1"
  # Its required base goes along, to the sibling repository.
  run_cmd "$REG" push --layout "$src" hregapp@1 templates/hregapp:1
  expect_rc 0
  run_cmd "$HUB_BIN" registry import "$src" --data "$data"
  expect_rc 0
  expect_out_has "templates/hregapp:1"
  expect_out_has "templates/hregbase:1"
  # Importing the same again changes nothing; another template under a
  # taken tag is refused, nothing changed.
  local before
  before=$(hub_layout_snapshot)
  run_cmd "$HUB_BIN" registry import "$src" --data "$data"
  expect_rc 0
  expect_eq "$(hub_layout_snapshot)" "$before" "a repeated import changed the layout"
  "$REG" template create hregother@1 /bin/ls >/dev/null || fail "create hregother@1"
  run_cmd "$REG" push --layout "$T/hubreg-other" hregother@1 templates/hregapp:1
  expect_rc 0
  run_cmd "$HUB_BIN" registry import "$T/hubreg-other" --data "$data"
  expect_rc 1
  expect_err_has "templates/hregapp:1: the hub's registry has another manifest under this tag"
  run_cmd "$HUB_BIN" registry import "$T/no-such-layout" --data "$data"
  expect_rc 1
  expect_err_has "not an OCI image layout"
  expect_eq "$(hub_layout_snapshot)" "$before" "a refused import changed the layout"

  # No anonymous access: 401 with Docker's Bearer challenge.
  rget /v2/
  expect_code 401 "/v2/ without a token"
  case "$hdr" in *"WWW-Authenticate: Bearer realm=\"https://$host/v2/token\",service=\"reg-hub\""*) ;;
    *) fail "no Bearer challenge: $hdr" ;; esac
  expect_body_has '"code":"UNAUTHORIZED"'
  rget /v2/templates/hregapp/manifests/1
  expect_code 401 "a manifest without a token"
  rget /v2/token
  expect_code 401 "the token endpoint without credentials"
  case "$hdr" in *'WWW-Authenticate: Basic realm="reg-hub"'*) ;; *) fail "no Basic challenge: $hdr" ;; esac
  rget /v2/ -H "Authorization: Bearer d.1.99999999999.$(printf '%064d' 0)"
  expect_code 401 "a forged token"
  # An API token is a pull credential (with its owner's name).
  hub_login admin "$HUB_ADMIN_PW"
  api POST /api/v1/tokens '{"Name": "registry"}'
  expect_code 201 "API token"
  local api_token api_token_id token
  api_token=$(echo "$body" | jq -r .Token) api_token_id=$(echo "$body" | jq -r .Id)
  rget "/v2/token?service=reg-hub&scope=repository:templates/hregapp:pull" -u "admin:rht_wrong"
  expect_code 401 "a wrong API token"
  expect_body_has '"code":"DENIED"'
  rget "/v2/token?service=reg-hub&scope=repository:templates/hregapp:pull" -u "viewer9:$api_token"
  expect_code 401 "an API token with another user's name"
  rget "/v2/token?service=reg-hub&scope=repository:templates/hregapp:pull,push" -u "admin:$api_token"
  expect_code 200 "a pull token"
  token=$(echo "$body" | jq -r .token)
  expect_eq "$(echo "$body" | jq -r .expires_in)" 300 "token lifetime"
  local auth="Authorization: Bearer $token"
  rget /v2/ -H "$auth"
  expect_code 200 "/v2/ with the token"
  case "$hdr" in *"Docker-Distribution-API-Version: registry/2.0"*) ;; *) fail "no API version: $hdr" ;; esac
  rget /v2/templates/hregapp/tags/list -H "$auth"
  expect_code 200 "tags"
  expect_body '{"name":"templates/hregapp","tags":["1"]}' "tags"
  rget /v2/templates/hregapp/manifests/1 -H "$auth"
  expect_code 200 "manifest"
  expect_body_has '"org.reg.template":"hregapp@1"'
  local digest
  digest=sha256:$(sha256sum "$HUB_DIR/rbody" | cut -d' ' -f1)
  case "$hdr" in *"Docker-Content-Digest: $digest"*) ;; *) fail "manifest digest header: $hdr" ;; esac
  case "$hdr" in *"Content-Type: application/vnd.oci.image.manifest.v1+json"*) ;; *) fail "manifest type: $hdr" ;; esac
  rget "/v2/templates/hregapp/manifests/$digest" -H "$auth" -I
  expect_code 200 "manifest by digest (HEAD)"
  local blob
  rget /v2/templates/hregapp/manifests/1 -H "$auth"
  blob=$(echo "$body" | jq -r .config.digest)
  rget "/v2/templates/hregapp/blobs/$blob" -H "$auth"
  expect_code 200 "config blob"
  expect_eq "sha256:$(sha256sum "$HUB_DIR/rbody" | cut -d' ' -f1)" "$blob" "blob content"
  expect_body_has "name: hregapp"

  # Bad names, tags and digests: 400 before any file is touched; unknown ones 404.
  before=$(hub_layout_snapshot)
  rget /v2/Templates/HREG/manifests/1 -H "$auth"
  expect_code 400 "an upper-case name"
  expect_body_has '"code":"NAME_INVALID"'
  rget /v2/templates/../../../etc/manifests/passwd -H "$auth" --path-as-is
  expect_code 400 "a name with .."
  expect_body_has '"code":"NAME_INVALID"'
  rget /v2/templates/%2e%2e/%2e%2e/manifests/1 -H "$auth" --path-as-is
  expect_code 400 "an escaped .."
  rget "/v2/templates/hregapp/manifests/..%2f..%2fhub.db" -H "$auth" --path-as-is
  expect_code 400 "a tag with a path"
  expect_body_has '"code":"TAG_INVALID"'
  rget /v2/templates/hregapp/blobs/sha256:../../../hub.db -H "$auth" --path-as-is
  expect_code 400 "a digest with a path"
  expect_body_has '"code":"DIGEST_INVALID"'
  rget "/v2/templates/hregapp/blobs/sha256:$(printf '%064d' 0)" -H "$auth"
  expect_code 404 "an unknown blob"
  expect_body_has '"code":"BLOB_UNKNOWN"'
  rget "/v2/templates/nothing/blobs/$blob" -H "$auth"
  expect_code 404 "a blob of an unknown repository"
  rget /v2/templates/hregapp/manifests/2 -H "$auth"
  expect_code 404 "an unknown tag"
  expect_body_has '"code":"MANIFEST_UNKNOWN"'
  rget /v2/templates/nothing/tags/list -H "$auth"
  expect_code 404 "tags of an unknown repository"
  rget "/v2/templates/hregapp/tags/list?n=x" -H "$auth"
  expect_code 400 "a bad page size"
  # No push through HTTP: 401 without a token, 405 with one; nothing written.
  rget /v2/templates/evil/blobs/uploads/ -X POST
  expect_code 401 "an anonymous push"
  rget /v2/templates/evil/blobs/uploads/ -X POST -H "$auth"
  expect_code 405 "a push with a pull token"
  expect_body_has "the hub's registry is read-only"
  rget /v2/templates/hregapp/manifests/1 -X PUT -H "$auth" \
    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary '{"schemaVersion":2}'
  expect_code 405 "a manifest PUT"
  rget "/v2/templates/hregapp/manifests/1" -X DELETE -H "$auth"
  expect_code 405 "a DELETE"
  expect_eq "$(hub_layout_snapshot)" "$before" "refused requests changed the layout"

  # A damaged blob is never served as if it were whole.
  local hex=${blob#sha256:} f=$data/registry/blobs/sha256/${blob#sha256:}
  cp "$f" "$T/hreg-blob.bak"
  printf 'X' | dd of="$f" bs=1 seek=3 conv=notrunc 2>/dev/null
  curl -s --max-time 30 --cacert "$data/tls/cert.pem" -H "$auth" -o "$T/hreg-got" \
    "$HUB_URL/v2/templates/hregapp/blobs/$blob"
  rc=$?
  [ "$rc" != 0 ] || fail "a damaged blob was served in full (curl rc 0)"
  grep -q "blob sha256:$hex has digest" "$HUB_HOME/hub.log" || fail "the damaged blob is not logged"
  cp "$T/hreg-blob.bak" "$f"

  # skopeo reads it (the Docker transport, token flow, the hub's CA).
  mkdir -p "$T/hreg-certs" && cp "$data/tls/cert.pem" "$T/hreg-certs/ca.crt"
  run_cmd skopeo inspect --raw --cert-dir "$T/hreg-certs" --creds "admin:$api_token" \
    "docker://$host/templates/hregapp:1"
  expect_rc 0
  expect_out_has '"org.reg.template":"hregapp@1"'
  run_cmd skopeo copy --src-cert-dir "$T/hreg-certs" --src-creds "admin:$api_token" \
    "docker://$host/templates/hregbase:1" "oci:$T/hreg-skopeo:base"
  expect_rc 0
  run_cmd skopeo inspect --creds "nobody:rht_x" --cert-dir "$T/hreg-certs" \
    "docker://$host/templates/hregapp:1"
  expect_rc 1

  # A device's pull credential: a real regd pulls and runs the template.
  api POST /api/v1/devices "$(device_body hreg-device 1)"
  expect_code 201 "add the pulling device"
  local dev_id cred_user cred_pw cfg=$T/hreg-auth.json nobody=$T/hreg-nobody.json
  dev_id=$(echo "$body" | jq -r .Id)
  run_cmd "$HUB_BIN" registry credential hreg-device --data "$data"
  expect_rc 0
  cred_user=$(echo "$out" | sed -n 1p) cred_pw=$(echo "$out" | sed -n 2p)
  expect_eq "$cred_user" "device-$dev_id" "credential user"
  run_cmd "$HUB_BIN" registry credential no-such-device --data "$data"
  expect_rc 1
  expect_err_has "device no-such-device: no such device"
  # The hub's CA travels with the request (--ca, "Ca" in regd's API: a
  # remote client cannot write the device's certs.d).
  reset_regd2
  before=$(snapshot2)
  local ca=$data/tls/cert.pem
  REG_CONFIG=$nobody run_cmd reg2 pull "$host/templates/hregapp:1"
  expect_rc 1
  expect_err_has "certificate"
  REG_CONFIG=$nobody run_cmd reg2 pull --ca "$ca" "$host/templates/hregapp:1"
  expect_rc 1
  expect_err_has "run reg login $host"
  echo "not a certificate" >"$T/hreg-bad.pem"
  REG_CONFIG=$nobody run_cmd reg2 pull --ca "$T/hreg-bad.pem" "$host/templates/hregapp:1"
  expect_rc 1
  expect_err_has "registry $host: the CA given holds no PEM certificate"
  REG_CONFIG=$nobody run_cmd reg2 pull --ca "$T/no-such.pem" "$host/templates/hregapp:1"
  expect_rc 2
  expect_err_has "--ca $T/no-such.pem"
  REG_CONFIG=$nobody run_cmd reg2 pull --ca "$ca" --insecure "$host/templates/hregapp:1"
  expect_rc 1
  expect_err_has "a CA was given with --insecure"
  REG_CONFIG=$nobody run_cmd reg2 pull --ca "$ca" templates/hregapp:1
  expect_rc 1
  expect_err_has "names a layout, not a registry"
  printf '%s\n' "${cred_pw}x" | REG_CONFIG=$cfg "$REG" login "$host" -u "$cred_user" --password-stdin >/dev/null
  REG_CONFIG=$cfg run_cmd reg2 pull --ca "$ca" "$host/templates/hregapp:1"
  expect_rc 1
  expect_err_has "refused (HTTP 401)"
  expect_eq "$(snapshot2)" "$before" "a refused pull changed the store"
  printf '%s\n' "$cred_pw" | REG_CONFIG=$cfg "$REG" login "$host" -u "$cred_user" --password-stdin >/dev/null
  REG_CONFIG=$cfg run_cmd reg2 pull --ca "$ca" "$host/templates/hregapp:1"
  expect_rc 0
  expect_out_has "hregapp@1"
  expect_out_has "hregbase@1"
  run_cmd reg2 run --rm -t hregapp@1 -- /bin/sh -c 'echo pulled-from-the-hub'
  expect_rc 0
  expect_out "pulled-from-the-hub"
  # The device's pull token dies with the device; the API token's with it.
  rget "/v2/token?service=reg-hub" -u "$cred_user:$cred_pw"
  expect_code 200 "the device's token"
  local dev_token
  dev_token=$(echo "$body" | jq -r .token)
  api DELETE "/api/v1/devices/$dev_id"
  expect_code 204 "remove the pulling device"
  rget /v2/ -H "Authorization: Bearer $dev_token"
  expect_code 401 "a removed device's token"
  rget "/v2/token?service=reg-hub" -u "$cred_user:$cred_pw"
  expect_code 401 "a removed device's credential"
  api DELETE "/api/v1/tokens/$api_token_id"
  rget /v2/ -H "$auth"
  expect_code 401 "a revoked API token's pull token"
}
ALL="$ALL t_hub_registry"
