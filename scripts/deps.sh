#!/bin/sh
# Install what reg needs to build, test and run on Debian 12 (as root).
#   scripts/deps.sh          build + runtime dependencies
#   scripts/deps.sh --test   also what the tests use
#   scripts/deps.sh --fuzz   also clang and libFuzzer (make fuzz)
set -e
export DEBIAN_FRONTEND=noninteractive
PKGS="build-essential pkg-config libyaml-dev libjansson-dev libmicrohttpd-dev
  libcurl4-openssl-dev libhttp-parser-dev libssl-dev libelf-dev libcap-dev libseccomp-dev libarchive-dev
  libsqlite3-dev zlib1g-dev libmnl-dev libnftables-dev python3"
if [ "${1:-}" = "--fuzz" ]; then
  PKGS="$PKGS clang libclang-rt-14-dev"
fi
if [ "${1:-}" = "--test" ]; then
  PKGS="$PKGS nftables libcmocka-dev cppcheck clang-format openssl curl util-linux
  golang-github-containers-common docker-registry skopeo apache2-utils python3-jwt
  python3-cryptography jq sqlite3 iproute2 chromium chromium-driver python3-selenium
  libjs-bootstrap5 libjs-chart.js libjs-xterm node-xterm
  procps e2fsprogs nginx redis-server postgresql-15 python3.11 nodejs docker.io iptables
  libcap2-bin"
  # (procps: pgrep; e2fsprogs: chattr, in the reliability tests.
  # nginx ... nodejs: examples/templates/ recipes are tested end to end; the
  # tests start their own servers on free loopback ports. docker.io: the
  # image tests and t_net_docker_forward_drop run a private dockerd in its
  # own namespaces, never on the host's network (lib.sh); iptables: the
  # latter sets its FORWARD policy, as Docker does; libcap2-bin: setcap and
  # getcap for the image tests' file capabilities)
fi
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing
fi
