#!/bin/sh
# Two naming rules, checked by `make lint` (docs/build.md):
#
# 1. An exported function of the engine (src/lib/MODULE.c) is named
#    reg_MODULE_<verb> (or reg_MODULE itself), so its prefix says where it
#    lives. A file MODULE_PART.c (engine_copy.c) belongs to MODULE.
#    "Exported" = defined at column 0 without `static` (the GNU style
#    clang-format keeps). scripts/names-allowed.txt lists the violations
#    not fixed yet, one "file: name" a line; it may only shrink: a new
#    violation fails, and so does a listed one that is gone (delete the line).
# 2. Paths under the engine root are spelled in src/lib/root.c only
#    (root.h): a "%s/envs"-style format anywhere else fails.
set -eu
cd "$(dirname "$0")/.."
allowed=scripts/names-allowed.txt
found=$(mktemp)
trap 'rm -f "$found"' EXIT

for f in src/lib/*.c; do
  m=$(basename "$f" .c)
  awk -v m="$m" -v f="$f" '
    /^reg_[a-z0-9_]+ \(/ {
      name = $1
      base = m; sub(/_.*/, "", base)
      if (prev !~ /^static/ && index(name, "reg_" m "_") != 1 && name != "reg_" m \
          && index(name, "reg_" base "_") != 1)
        print f ": " name
    }
    { prev = $0 }' "$f"
done | sort >"$found"

status=0
new=$(sort "$allowed" | comm -13 - "$found")
gone=$(sort "$allowed" | comm -23 - "$found")
if [ -n "$new" ]; then
  echo "check-names: functions named for another module than their file's (reg_<module>_<verb>):" >&2
  echo "$new" | sed 's/^/  /' >&2
  status=1
fi
if [ -n "$gone" ]; then
  echo "check-names: fixed, so delete from $allowed:" >&2
  echo "$gone" | sed 's/^/  /' >&2
  status=1
fi

places='store|templates|envs|containers|networks|volumes|images|events|regd\.lock'
paths=$(grep -nE "\"%s/($places)" src/*/*.c | grep -v '^src/lib/root\.c:' || true)
if [ -n "$paths" ]; then
  echo "check-names: a path under the engine root formatted outside src/lib/root.c (use reg_root_path):" >&2
  echo "$paths" | sed 's/^/  /' >&2
  status=1
fi
exit $status
