#!/bin/sh
# Deploy an app to reg-hub from a CI job: upload it, then wait for the
# result. Exit status 0 only when every target device is healthy.
#
#   REG_HUB_URL=https://hub.example:8443 REG_HUB_TOKEN=rht_... [REG_HUB_CA=hub-ca.pem] \
#     examples/ci/deploy.sh APP PATH-TO-APP-DIR-OR-FILE deploy.json
#
# A directory is packed as APP.tar.gz first. Needs curl and jq. The token is
# an API token (hub UI: Users and tokens, or POST /api/v1/tokens).
set -eu
app=$1 src=$2 config=$3
: "${REG_HUB_URL:?set REG_HUB_URL}" "${REG_HUB_TOKEN:?set REG_HUB_TOKEN}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -d "$src" ]; then
  tar -C "$src" -czf "$tmp/$app.tar.gz" .
  src=$tmp/$app.tar.gz
fi
# The token goes in a header file, not on the command line (ps shows that).
printf 'Authorization: Bearer %s\n' "$REG_HUB_TOKEN" >"$tmp/auth"
hub () {
  curl -sS --fail-with-body ${REG_HUB_CA:+--cacert "$REG_HUB_CA"} -H "@$tmp/auth" "$@"
}
reply=$(hub -F "file=@$src" -F "config=@$config" "$REG_HUB_URL/api/v1/apps/$app/deployments")
id=$(echo "$reply" | jq -r .Id)
echo "deployment $id: $(echo "$reply" | jq -r .Template)"
while :; do
  d=$(hub "$REG_HUB_URL/api/v1/deployments/$id")
  state=$(echo "$d" | jq -r .State)
  case $state in
  succeeded | failed) break ;;
  esac
  sleep 1
done
echo "$d" | jq -r '.Devices[] | "\(.DeviceName): \(.State) pull \(.PullBytes // 0) B in \(.PullSeconds // "-") s\(if .Error then " — " + .Error else "" end)"'
echo "deployment $id: $state$(echo "$d" | jq -r 'if .Error then " — " + .Error else "" end')"
[ "$state" = succeeded ]
