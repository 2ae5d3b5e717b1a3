# Sourced by bench/run.sh. Part 2: start-up of `run --rm … /bin/true`,
# RUNS sequential runs per engine (hyperfine, no shell), and where reg's
# client time goes.
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$R/startup.json" \
  -n unshare "unshare -mpiuf --mount-proc /bin/true" \
  -n reg "$REG run --rm -t true@1 -- /bin/true" \
  -n runc "runc run -b $BUNDLE reg-bench-runc" \
  -n docker "docker run --rm --label reg-bench --network none reg-bench/python3 /bin/true" >"$R/hyperfine.txt"

hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$R/client.json" \
  -n "reg version (client start + 1 request)" "$REG version" \
  -n "reg binary, no request (--help)" "$REG --help" >/dev/null
