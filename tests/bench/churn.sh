#!/usr/bin/env bash
# The churn benchmark against a release pairsync on a fresh SQLite database, with the
# idle settings lowered so that the forgotten rooms are paused and unloaded within
# seconds: PAIRSYNC_PAUSE_WHEN_EMPTY and PAIRSYNC_ROOM_IDLE_MS = IDLE_MS (2000).
#   CYCLES=100000 bash tests/bench/churn.sh
# Also: CONCURRENCY (8), SAMPLE_EVERY (10000), OUT (directory for the logs; a new one by
# default), and any further churn flags as arguments. Exit status: the benchmark's.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh

CYCLES=${CYCLES:-100000}
CONCURRENCY=${CONCURRENCY:-8}
SAMPLE_EVERY=${SAMPLE_EVERY:-10000}
IDLE_MS=${IDLE_MS:-2000}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
raise_open_files 20000

BENCH=$(bench_binary churn)
[ -x "$BENCH" ] || { echo "FAIL: the benchmark did not build"; exit 1; }
start_pairsync "$OUT/server.log" DATABASE_URL="$OUT/churn.db" \
  PAIRSYNC_PAUSE_WHEN_EMPTY="$IDLE_MS" PAIRSYNC_ROOM_IDLE_MS="$IDLE_MS"
trap 'stop_pid "$SERVER_PID"' EXIT
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
"$BENCH" --url "$SERVER_URL" --server-pid "$SERVER_PID" --cycles "$CYCLES" \
  --concurrency "$CONCURRENCY" --sample-every "$SAMPLE_EVERY" \
  --settle-ms $((4 * IDLE_MS + 30000)) "$@" || status=$?
echo "server log in $OUT"
exit "$status"
