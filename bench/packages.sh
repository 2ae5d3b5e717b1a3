# Sourced by bench/run.sh before it enters the bench's namespaces (these
# steps need the network): the packages, scripts/deps.sh, and a debootstrap
# minbase rootfs per package for the Docker images (kept in $WORK).
export DEBIAN_FRONTEND=noninteractive
# The five services (their packages, images and templates) only for the
# parts that use them: volume and services. Start-up, storm and marginal
# need python3's image and template only.
SERVICE_PARTS=0
case " $PARTS " in *" volume "* | *" services "*) SERVICE_PARTS=1 ;; esac
HOST_PKGS="hyperfine bubblewrap runc crun docker.io debootstrap python3 gnuplot-nox wrk curl"
[ $SERVICE_PARTS = 0 ] || HOST_PKGS="$HOST_PKGS nginx redis-server mariadb-server nodejs"
need=""
for p in $HOST_PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
  # Installing nginx, redis and mariadb must not start their services:
  # policy-rc.d refuses every start during the install only.
  had_policy=0
  [ -e /usr/sbin/policy-rc.d ] && had_policy=1
  [ $had_policy = 1 ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $need || { [ $had_policy = 1 ] || rm -f /usr/sbin/policy-rc.d; exit 1; }
  [ $had_policy = 1 ] || rm -f /usr/sbin/policy-rc.d
fi
# Anything a package started anyway (no systemd here: their pid files).
for pf in /run/nginx.pid /run/redis/redis-server.pid /run/mysqld/mysqld.pid; do
  [ -s "$pf" ] && kill "$(cat "$pf")" 2>/dev/null || true
done
scripts/deps.sh
mkdir -p "$WORK"
PACKAGES="python3 nodejs nginx redis-server mariadb-server"
[ $SERVICE_PARTS = 1 ] || PACKAGES=python3
for pkg in $PACKAGES; do
  rootfs=$WORK/rootfs-$pkg
  if [ ! -f "$rootfs/.bench-done" ]; then
    rm -rf "$rootfs"
    debootstrap --variant=minbase --include="$pkg" bookworm "$rootfs" http://deb.debian.org/debian >"$WORK/debootstrap-$pkg.log"
    touch "$rootfs/.bench-done"
  fi
done
