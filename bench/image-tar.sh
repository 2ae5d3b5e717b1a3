#!/bin/bash
# image-tar.sh ROOTFS: a tar on stdout of a debootstrap tree as a Docker
# user's image holds it. Debian's official images and the usual
# `RUN apt-get update && apt-get install -y … && rm -rf /var/lib/apt/lists/*`
# keep neither the downloaded packages (the images' apt configuration
# deletes them: docker-clean) nor the package lists; debootstrap leaves both
# (about 35-65 MB of .deb files and 50 MB of lists per tree). Also left out:
# the bench's own marker.
set -euo pipefail
[ $# = 1 ] && [ -d "$1" ] || { echo "usage: image-tar.sh ROOTFS" >&2; exit 2; }
exec tar -C "$1" --exclude=./.bench-done --exclude='./var/cache/apt/archives/*.deb' \
  --exclude='./var/lib/apt/lists/*' --exclude='./var/cache/apt/*.bin' -c .
