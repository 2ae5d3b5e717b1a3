# Sourced by bench/run.sh (and bench/quick.sh). Part 2: start-up of
# `run --rm … /bin/true`, RUNS sequential runs per engine (hyperfine, no
# shell), side by side in one run; where reg's client time goes; and the
# per-phase breakdown of one start from the marks regd records
# (regd --debug-timing, bench/phases.py).

# bubblewrap on the same template's files: the environment regd generated
# for true@1 (the lower layer every true@1 container starts from).
CLOSURE=$("$REG" inspect "$("$REG" generate -t true@1 -- /bin/true)" | sed -n 's/.*"Closure": "\([0-9a-f]*\)".*/\1/p')
"$REG" ps -aq | xargs -r "$REG" rm >/dev/null
ENV_TRUE=$T/root/envs/$CLOSURE
[ -x "$ENV_TRUE/bin/true" ] || [ -x "$ENV_TRUE/usr/bin/true" ] || { echo "bench: no environment for true@1 at $ENV_TRUE" >&2; exit 1; }
BWRAP="bwrap --unshare-all --ro-bind $ENV_TRUE / --proc /proc --dev /dev /bin/true"
echo "$BWRAP" >"$R/bwrap-command.txt"

# reg with its defaults (the bridge, its namespace from regd's pool), and
# on the host network and with no network, for the bridge's cost.
engines=(-n unshare "unshare -mpiuf --mount-proc /bin/true"
  -n bwrap "$BWRAP"
  -n reg "$REG run --rm -t true@1 -- /bin/true"
  -n "reg host" "$REG run --rm --network host -t true@1 -- /bin/true"
  -n "reg none" "$REG run --rm --network none -t true@1 -- /bin/true")
if [ "${QUICK:-0}" != 1 ]; then
  engines+=(-n runc "runc run -b $BUNDLE reg-bench-runc"
    -n docker "docker run --rm --label reg-bench --network none reg-bench/python3 /bin/true")
  # crun, on the same bundle, where it runs: Debian 12's crun 1.8.1 refuses
  # a hybrid cgroup host whose unified hierarchy has controllers.
  if crun run -b "$BUNDLE" reg-bench-crun >"$R/crun-probe.txt" 2>&1; then
    engines+=(-n crun "crun run -b $BUNDLE reg-bench-crun")
  fi
fi
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$R/startup.json" "${engines[@]}" >"$R/hyperfine.txt"

hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$R/client.json" \
  -n "reg version (client start + 1 request)" "$REG version" \
  -n "reg binary, no request (--help)" "$REG --help" >/dev/null

# The phases: regd runs with --debug-timing $R/timing.log (bench/setup.sh).
python3 bench/phases.py "$R/timing.log" "$RUNS" "$R/phases.json" -- \
  "$REG" run --rm -t true@1 -- /bin/true >"$R/phases.txt"
