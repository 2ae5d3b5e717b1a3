# Sourced by bench/run.sh inside the bench's own namespaces: a private
# dockerd, Docker images from the debootstrap rootfs trees (made by
# bench/packages.sh), the runc bundle, a private regd and the reg templates.
# Defines REG, REGD_PID, T (temporary root), R (results), WORK.

SERVICE_PARTS=0
case " $PARTS " in *" volume "* | *" services "*) SERVICE_PARTS=1 ;; esac
make -s -j"$(nproc)"
REG=$REPO/build/reg REGD=$REPO/build/regd

# A dockerd of the bench's own, in the bench's network and mount namespace
# (bench/run.sh): its own socket, data and exec roots and pid file, never
# the host's daemon, socket or firewall. Its images stay in $WORK/docker
# between runs.
DOCKER_DIR=$WORK/docker
mkdir -p "$DOCKER_DIR"
export DOCKER_HOST=unix://$DOCKER_DIR/docker.sock
dockerd --host "$DOCKER_HOST" --data-root "$DOCKER_DIR/data" --exec-root "$DOCKER_DIR/exec" \
  --pidfile "$DOCKER_DIR/docker.pid" >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 200); do docker info >/dev/null 2>&1 && break; sleep 0.3; done
docker info >/dev/null 2>&1 || { echo "bench: the private dockerd did not come up ($WORK/dockerd.log)" >&2; exit 1; }

# One Docker image per package, each a Debian bookworm minbase + that
# package (the paper's non-homologous images: nothing shared between them).
# PACKAGES: the Debian package of each service; the image is reg-bench/PKG.
# The image is the tree as a Docker user's image has it (bench/image-tar.sh:
# without the apt caches). IMAGE_BUILD labels how an image was made, so an
# image of an earlier recipe left in $WORK/docker is made again.
PACKAGES="python3 nodejs nginx redis-server mariadb-server"
[ $SERVICE_PARTS = 1 ] || PACKAGES=python3
IMAGE_BUILD=2
for pkg in $PACKAGES; do
  rootfs=$WORK/rootfs-$pkg
  if [ "$(docker image inspect -f '{{index .Config.Labels "reg-bench-build"}}' "reg-bench/$pkg" 2>/dev/null)" != "$IMAGE_BUILD" ]; then
    "$REPO/bench/image-tar.sh" "$rootfs" | docker import --change "LABEL reg-bench-build=$IMAGE_BUILD" - "reg-bench/$pkg" >/dev/null
  fi
done
docker image prune -f >/dev/null # the earlier recipe's images, now untagged
ROOTFS=$WORK/rootfs-python3

# runc bundle on the python3 rootfs.
BUNDLE=$WORK/bundle
if [ ! -f "$BUNDLE/config.json" ]; then
  mkdir -p "$BUNDLE"
  (cd "$BUNDLE" && runc spec)
  python3 - "$BUNDLE/config.json" "$ROOTFS" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["root"]["path"] = sys.argv[2]
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["root"]["readonly"] = True
json.dump(c, open(p, "w"), indent=2)
PY
fi

# A private regd on a temporary root: the bench never touches /var/lib/reg.
T=$(mktemp -d /var/tmp/reg-bench-root.XXXXXX)
R=$WORK/results
# A run of every part starts from nothing; a subset (PARTS=...) keeps the
# other parts' results of the previous run, so the document stays whole.
case "$PARTS" in "volume startup storm services marginal") rm -rf "$R" ;; esac
mkdir -p "$R"
"$REGD" --root "$T/root" --socket "$T/reg.sock" --debug-timing "$R/timing.log" >"$T/regd.log" 2>&1 &
REGD_PID=$!
export REG_HOST=unix://$T/reg.sock
# A second regd, same binaries, with --link-host-files: its store objects are
# the host's own files where they qualify (docs/architecture.md). Used by the
# memory part only, as the engine's other mode.
"$REGD" --root "$T/rootlink" --socket "$T/reglink.sock" --link-host-files >"$T/regdlink.log" 2>&1 &
REGDLINK_PID=$!
REGLINK_HOST=unix://$T/reglink.sock
for _ in $(seq 200); do "$REG" version >/dev/null 2>&1 && REG_HOST=$REGLINK_HOST "$REG" version >/dev/null 2>&1 && break; sleep 0.05; done

# reg templates of the same software, from the host's installed packages.
# The ELF closure is found by reg; data files are listed explicitly.
PY=$(readlink -f /usr/bin/python3)
PYVER=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ $SERVICE_PARTS = 1 ]; then
NODE=$(readlink -f "$(command -v node)")
NODEVER=$("$NODE" --version | tr -d v)
NGINXVER=$(dpkg-query -W -f='${Version}' nginx | sed 's/[-+~].*//')
# redis-server is a link to redis-check-rdb, which looks at its argv[0].
REDIS=/usr/bin/redis-server
REDISVER=$(dpkg-query -W -f='${Version}' redis-server | sed 's/^[0-9]*://; s/[-+~].*//')
MARIADBVER=$(dpkg-query -W -f='${Version}' mariadb-server | sed 's/^[0-9]*://; s/[-+~].*//')
MARIADB_PLUGIN=$(/usr/sbin/mariadbd --no-defaults --help --verbose 2>/dev/null | awk '$1=="plugin-dir" {print $2}')
MARIADB_PLUGIN=${MARIADB_PLUGIN%/}
[ -n "$MARIADB_PLUGIN" ] || MARIADB_PLUGIN=/usr/lib/mysql/plugin
fi

# make_templates: every template of the bench, in the engine REG_HOST names.
make_templates () {
"$REG" template create true@1 /bin/true >/dev/null
"$REG" template create sleep@1 /bin/sleep >/dev/null
# python: the binary and its standard library as the packages the Docker
# image installs provide it (python3 pulls pythonX.Y, its -minimal and
# libpythonX.Y-minimal/-stdlib), with the byte-code compiled at install
# time: not what other packages put in the same directory on this host
# (the test suite, idlelib and tkinter of libpythonX.Y-testsuite, lib2to3,
# distutils, ensurepip, the static libpython of -dev), which the image does
# not have (bench/pkgfiles.py).
mapfile -t STDLIB < <(python3 "$REPO/bench/pkgfiles.py" "/usr/lib/python$PYVER" "python$PYVER" \
  "python$PYVER-minimal" "libpython$PYVER-minimal" "libpython$PYVER-stdlib")
"$REG" template create "python@$PYVER" "$PY" "${STDLIB[@]}" --entrypoint "$PY" >/dev/null
if [ $SERVICE_PARTS = 1 ]; then
# (Debian's nodejs keeps its bundled modules in /usr/share/nodejs; npm is
# another package, in neither the image nor the template.)
NODE_DATA=()
[ -d /usr/share/nodejs ] && NODE_DATA+=(/usr/share/nodejs)
"$REG" template create "node@$NODEVER" "$NODE" "${NODE_DATA[@]}" --entrypoint "$NODE" >/dev/null
# nginx looks its worker user up: /etc/passwd and /etc/group go with it.
NGINX_DATA=(/etc/nginx /etc/passwd /etc/group)
for d in /usr/lib/nginx /usr/share/nginx; do [ -d "$d" ] && NGINX_DATA+=("$d"); done
"$REG" template create "nginx@$NGINXVER" /usr/sbin/nginx "${NGINX_DATA[@]}" --entrypoint /usr/sbin/nginx >/dev/null
"$REG" template create "redis@$REDISVER" "$REDIS" "$(readlink -f "$REDIS")" --entrypoint "$REDIS" >/dev/null
"$REG" template create "mariadb@$MARIADBVER" /usr/sbin/mariadbd /usr/share/mysql "$MARIADB_PLUGIN" \
  /etc/passwd /etc/group --entrypoint /usr/sbin/mariadbd >/dev/null
fi
"$REG" run --rm -t true@1 -- /bin/true # generate the environment once
}
TEMPLATES="python@$PYVER"
[ $SERVICE_PARTS = 0 ] || TEMPLATES="python@$PYVER node@$NODEVER nginx@$NGINXVER redis@$REDISVER mariadb@$MARIADBVER"
NODE=${NODE:-}
make_templates
REG_HOST=$REGLINK_HOST make_templates

# Stops what the bench started: reg containers (private regd), Docker
# containers labelled reg-bench, bare services, the regd.
bench_cleanup () {
  set +e
  for h in "$REG_HOST" "$REGLINK_HOST"; do
    for id in $(REG_HOST=$h "$REG" ps -aq 2>/dev/null); do REG_HOST=$h "$REG" rm -f "$id" >/dev/null 2>&1; done
  done
  docker ps -aq --filter label=reg-bench | xargs -r docker rm -f >/dev/null 2>&1
  [ -n "${DOCKERD_PID:-}" ] && kill "$DOCKERD_PID" 2>/dev/null && wait "$DOCKERD_PID" 2>/dev/null
  [ -n "${BARE_PIDS:-}" ] && kill $BARE_PIDS 2>/dev/null
  for p in ${MARGINAL_PIDS:-}; do kill -- "-$p" 2>/dev/null; done
  kill "$REGD_PID" "$REGDLINK_PID" 2>/dev/null
  wait "$REGD_PID" "$REGDLINK_PID" 2>/dev/null
  rm -rf "$T"
  true
}
