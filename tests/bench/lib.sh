# Sourced by the benchmark scripts (tests/bench/*.sh, tests/soak/run.sh), from the
# repository's root: building a benchmark, and starting a release pairsync.

# bench_binary NAME: builds `cargo bench --bench NAME` (which links target/release/pairsync
# too) and prints the benchmark executable's path.
bench_binary() {
  cargo bench --bench "$1" --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -n 1
}

# start_pairsync LOG [VAR=VALUE…]: starts target/release/pairsync in the background with
# these settings (by default PAIRSYNC_BIND=127.0.0.1:0 and RUST_LOG=warn plus the start
# lines), appending its log to LOG; once it listens, sets SERVER_PID, SERVER_PORT and
# SERVER_URL. Returns 1 when it did not start within 10 s.
start_pairsync() {
  local log=$1
  shift
  local before
  before=$(grep -c 'listening on' "$log" 2>/dev/null || true)
  env PAIRSYNC_BIND=127.0.0.1:0 RUST_LOG=warn,pairsync::startup=info "$@" \
    target/release/pairsync >>"$log" 2>&1 &
  SERVER_PID=$!
  local now
  for _ in $(seq 200); do
    now=$(grep -c 'listening on' "$log" 2>/dev/null || true)
    [ "${now:-0}" -gt "${before:-0}" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  SERVER_PORT=$(grep 'listening on' "$log" | tail -n 1 |
    sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p')
  if [ "${now:-0}" -le "${before:-0}" ] || [ -z "$SERVER_PORT" ]; then
    echo "pairsync did not start:" >&2
    tail -n 20 "$log" >&2
    return 1
  fi
  SERVER_URL="http://127.0.0.1:$SERVER_PORT"
}

# stop_pid PID: SIGTERM, then waits for the process (a child of this shell) to exit.
stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# raise_open_files N: raises the soft open-files limit to N, or to the hard limit.
raise_open_files() {
  ulimit -n "$1" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
}
