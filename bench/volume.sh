# Sourced by bench/run.sh. Part 1: template volume vs Docker image size.
python3 "$REPO/bench/volume.py" "$T/root" $TEMPLATES >"$R/volume.json"
: >"$R/images.dat"
for pkg in $PACKAGES; do
  echo "$pkg $(docker image inspect "reg-bench/$pkg" --format '{{.Size}}')" >>"$R/images.dat"
done
# What bench/image-tar.sh leaves out of each image: debootstrap's
# downloaded packages and package lists (bytes), for the comparison with
# images that keep them (the measure in use when issue 15 set 12%).
: >"$R/aptcache.dat"
for pkg in $PACKAGES; do
  echo "$pkg $(find "$WORK/rootfs-$pkg/var/cache/apt" "$WORK/rootfs-$pkg/var/lib/apt/lists" -type f \
    \( -name '*.deb' -o -name '*.bin' -o -path '*/lists/*' \) -printf '%s\n' | awk '{s += $1} END {print s + 0}')" >>"$R/aptcache.dat"
done
