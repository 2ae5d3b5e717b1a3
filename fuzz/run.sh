#!/bin/bash
# Run libFuzzer targets one after another (make fuzz):
#   fuzz/run.sh SECONDS TARGET...
# Each target starts from its committed seeds (fuzz/corpus/TARGET) plus what
# earlier runs found (build/fuzz/corpus/TARGET), uses fuzz/TARGET.dict when
# there is one, and leaves crashing inputs in build/fuzz/crashes/. The CPU
# time each run got is appended to build/fuzz/runs.log. Exit 1 on any
# crash, leak or timeout.
set -u
cd "$(dirname "$0")/.."
secs=$1
shift
mkdir -p build/fuzz/crashes
failed=0
for t in "$@"; do
  work=build/fuzz/corpus/$t
  mkdir -p "$work" "fuzz/corpus/$t"
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=("-dict=fuzz/$t.dict")
  # -max_total_time is wall time; on a busy machine the fuzzer gets less,
  # so the CPU time it did get (user+system) is what runs.log records.
  TIMEFORMAT='%U %S'
  {
    time "build/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="build/fuzz/crashes/$t-" -print_final_stats=1 "${dict[@]}" \
      "$work" "fuzz/corpus/$t" >"build/fuzz/$t.log" 2>&1
    rc=$?
  } 2>"build/fuzz/$t.time"
  cpu=$(awk '{ printf "%d", $1 + $2 }' "build/fuzz/$t.time")
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build/fuzz/$t.log" | tail -1)
  echo "$(date -u +%FT%TZ) $t wall=${secs}s cpu=${cpu}s runs=${runs:-?} rc=$rc" >>build/fuzz/runs.log
  if [ "$rc" = 0 ]; then
    echo "fuzz $t: ${cpu}s CPU, ${runs:-?} inputs, no crash"
  else
    echo "fuzz $t: FAILED (exit $rc); see build/fuzz/$t.log and build/fuzz/crashes/" >&2
    tail -30 "build/fuzz/$t.log" >&2
    failed=1
  fi
done
exit $failed
