#!/bin/sh
# The README's first command: install dependencies, build, install reg and
# regd, start regd, create a Python template from Debian's python3 and run a
# container whose Python prints a greeting.
set -e
cd "$(dirname "$0")/.."
scripts/deps.sh
make -j"$(nproc)"
make install
if ! reg version >/dev/null 2>&1; then
  mkdir -p /var/log
  nohup regd >>/var/log/regd.log 2>&1 &
  i=0
  until reg version >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 100 ] || { echo "demo: regd did not start, see /var/log/regd.log" >&2; exit 1; }
    sleep 0.1
  done
fi
# Debian's interpreter, not a pyenv shim that may come first on PATH.
PY=$(readlink -f /usr/bin/python3)
VER=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# A second run of the demo uses the template the first one made.
if reg template inspect "python@$VER" >/dev/null 2>&1; then
  echo "+ python@$VER: already made (reg template rm python@$VER makes it again)"
else
  echo "+ reg template create python@$VER $PY /usr/lib/python$VER --entrypoint $PY"
  reg template create "python@$VER" "$PY" "/usr/lib/python$VER" --entrypoint "$PY"
fi
echo "+ reg run --rm -t python@$VER -- $PY -c 'print(...)'"
reg run --rm -t "python@$VER" -- "$PY" -c \
  'import platform, sys; print("Hello from Python %s in a reg container (%s)" % (sys.version.split()[0], platform.node()))'
reg system df
