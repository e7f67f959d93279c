#!/usr/bin/env bash
# The fan-out benchmark on three pairsync processes sharing one fresh PostgreSQL database:
# starts the three (release build), runs SHARDS benchmark processes at once (each creates
# and streams its slice of the rooms, spreading each room's streams over the three, and
# starts its timers at one shared instant), merges their samples, and stops the servers.
#   PAIRSYNC_TEST_POSTGRES=postgres://postgres:pw@127.0.0.1/postgres \
#     ROOMS=300 PER_ROOM=10 SHARDS=1 bash tests/bench/cluster.sh
# Also: DURATION_MS (10000), START_DELAY_S (seconds from launch to the base instant of the
# timers' starts, 30), PLAN (the benchmark's start-plan flags, e.g. "--phase-spread
# --start-over-ms 6000" to pace the starts over six seconds with their deadlines spread
# over the second; all at once by default), OUT (directory for logs and samples; a new one
# by default), BOUNDS (the merge's bounds, e.g. "--max-spread-p99-ms 5 --max-change-p99-ms
# 100": a figure over one fails the run), PAIRSYNC_BIN (the server; target/release/pairsync,
# built with the benchmark, by default) and PROFILE (`bench`, the default, builds the
# benchmark optimised; `test` builds it as the test suites are, in seconds after them).
# Exit status: the merge's.
set -euo pipefail
cd "$(dirname "$0")/../.."

ADMIN=${PAIRSYNC_TEST_POSTGRES:?set PAIRSYNC_TEST_POSTGRES to a PostgreSQL admin URL}
ROOMS=${ROOMS:-300}
PER_ROOM=${PER_ROOM:-10}
SHARDS=${SHARDS:-1}
DURATION_MS=${DURATION_MS:-10000}
START_DELAY_S=${START_DELAY_S:-30}
PLAN=${PLAN:-}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
ulimit -n 20000 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"

BOUNDS=${BOUNDS:-}
PROFILE=${PROFILE:-bench}
# Built first: the optimised benchmark's build relinks target/release/pairsync.
case "$PROFILE" in
  bench) BENCH=$(cargo bench --locked --bench fanout --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p') ;;
  test) BENCH=$(cargo test --locked --bench fanout --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p') ;;
  *) echo "FAIL: PROFILE is bench or test, not $PROFILE"; exit 1 ;;
esac
[ -x "$BENCH" ] || { echo "FAIL: the benchmark did not build"; exit 1; }
BIN=${PAIRSYNC_BIN:-target/release/pairsync}
[ -x "$BIN" ] || { echo "FAIL: no pairsync binary at $BIN"; exit 1; }

DB="pairsync_bench_$(date +%s)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$ADMIN" -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql "$ADMIN" -q -c "CREATE DATABASE $DB" >/dev/null
URLS=()
for i in 1 2 3; do
  DATABASE_URL="${ADMIN%/*}/$DB" PAIRSYNC_BIND=127.0.0.1:0 RUST_LOG=warn,pairsync::startup=info \
    PAIRSYNC_MAX_SUBSCRIBERS_PER_ROOM=1000 PAIRSYNC_MAX_STREAMS_PER_CLIENT=0 \
    "$BIN" >"$OUT/server$i.log" 2>&1 &
  PIDS+=($!)
  PORT=""
  for _ in $(seq 100); do
    PORT=$(sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$OUT/server$i.log" 2>/dev/null || true)
    [ -n "$PORT" ] && break
    sleep 0.1
  done
  [ -n "$PORT" ] || { echo "FAIL: server $i did not start"; cat "$OUT/server$i.log"; exit 1; }
  URLS+=("http://127.0.0.1:$PORT")
done
SERVER_PIDS=$(IFS=,; echo "${PIDS[*]}")
SERVER_URLS=$(IFS=,; echo "${URLS[*]}")
sleep 1
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server RSS KiB before the run: $(for p in "${PIDS[@]}"; do grep VmRSS /proc/"$p"/status | awk '{printf "%s ", $2}'; done)"

START_AT=$(( $(date +%s%3N) + START_DELAY_S * 1000 ))
CLIENTS=()
FILES=()
for s in $(seq 0 $((SHARDS - 1))); do
  # shellcheck disable=SC2086
  "$BENCH" $PLAN --url "$SERVER_URLS" --rooms "$ROOMS" --streams-per-room "$PER_ROOM" \
    --duration-ms "$DURATION_MS" --shard "$s/$SHARDS" --start-at "$START_AT" \
    --source-ips "127.0.0.$((2 + 2 * s)),127.0.0.$((3 + 2 * s))" --server-pid "$SERVER_PIDS" \
    --samples-out "$OUT/shard$s.samples" >"$OUT/shard$s.out" 2>"$OUT/shard$s.err" &
  CLIENTS+=($!)
  FILES+=("$OUT/shard$s.samples")
done
for c in "${CLIENTS[@]}"; do wait "$c" || true; done
for s in $(seq 0 $((SHARDS - 1))); do
  echo "--- shard $s/$SHARDS"
  cat "$OUT/shard$s.out"
  tail -n 5 "$OUT/shard$s.err"
done
echo "--- merged"
# shellcheck disable=SC2086
"$BENCH" --merge "$(IFS=,; echo "${FILES[*]}")" $BOUNDS
