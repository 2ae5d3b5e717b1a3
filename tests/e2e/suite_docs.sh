# The documentation's examples (issue 21): every command block of README.md
# and docs/*.md opened with "```sh runnable" runs here, against the test's
# regd, and must succeed, so the docs cannot drift from the code. A block
# runs in a fresh directory with bash -e (-o pipefail), `reg` on PATH; it
# must clean up what it makes (checked: the engine's containers, templates
# and volumes are as before). Sourced by run.sh.

t_docs_runnable () {
  local root dir n=0 f start
  root=$(cd "$HERE/../.." && pwd)
  dir=$T/docs-blocks
  rm -rf "$dir"
  mkdir -p "$dir"
  for f in "$root"/README.md "$root"/docs/*.md; do
    local rel=${f#"$root"/}
    awk -v out="$dir" -v name="$rel" -v flat="${rel//\//_}" '
      /^```sh runnable[ \t]*$/ { file = sprintf("%s/%s.%d.sh", out, flat, NR);
                                  print "# " name ":" NR > file; inside = 1; next }
      inside && /^```[ \t]*$/ { inside = 0; close(file); next }
      inside { print > file }' "$f"
  done
  local before after blk
  before=$("$REG" ps -a -q | sort; "$REG" template ls | sort; "$REG" volume ls -q | sort)
  for blk in "$dir"/*.sh; do
    [ -f "$blk" ] || continue
    n=$((n + 1))
    start=$(head -1 "$blk")
    mkdir -p "$dir/run.$n"
    run_cmd env PATH="$REG_BIN:$PATH" bash -c "cd '$dir/run.$n' && set -e -o pipefail && . '$blk'"
    [ "$rc" = 0 ] || fail "docs block ${start#\# } failed (exit $rc): ${err:0:400} (stdout: ${out:0:300})"
  done
  [ "$n" -ge 3 ] || fail "only $n runnable blocks found in README.md and docs/*.md"
  after=$("$REG" ps -a -q | sort; "$REG" template ls | sort; "$REG" volume ls -q | sort)
  expect_eq "$after" "$before" "the docs' blocks left containers, templates or volumes behind"
}

ALL="$ALL t_docs_runnable"
