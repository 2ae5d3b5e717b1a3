# Sourced by bench/run.sh. Part 1: template volume vs Docker image size.
python3 "$REPO/bench/volume.py" "$T/root" $TEMPLATES >"$R/volume.json"
: >"$R/images.dat"
for pkg in $PACKAGES; do
  echo "$pkg $(docker image inspect "reg-bench/$pkg" --format '{{.Size}}')" >>"$R/images.dat"
done
