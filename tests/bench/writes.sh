#!/usr/bin/env bash
# Write throughput on PostgreSQL: starts three pairsync processes on one fresh PostgreSQL
# database, runs the write benchmark (ROOMS rooms created beforehand, then a start storm of
# one PATCH …/timer/start per room at once over CONNECTIONS keep-alive connections spread
# evenly over the three, then a stop storm the same way), and stops the servers and drops
# the database.
#   PAIRSYNC_TEST_POSTGRES=postgres://postgres:pw@127.0.0.1/postgres ROOMS=5400 \
#     bash tests/bench/writes.sh
# With SQLITE=1 it measures one process on a fresh SQLite file instead (PROCESSES=1, no
# PostgreSQL needed; the file is read with python3's sqlite3 module).
# Also: BIN (the pairsync binary to measure; ${CARGO_TARGET_DIR:-target}/release/pairsync
# by default, so that one script measures two builds), PROCESSES (3), CONNECTIONS (96),
# STOP (1; 0 skips the stop storm), OUT (directory for the logs; a new one by default), and
# any further benchmark flags as arguments. Exit status: the benchmark's (1 when an
# acknowledged command is not in the database), 2 on bad settings.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh

ADMIN=${PAIRSYNC_TEST_POSTGRES:-}
SQLITE=${SQLITE:-0}
ROOMS=${ROOMS:-5400}
PROCESSES=${PROCESSES:-3}
[ "$SQLITE" = 1 ] && PROCESSES=1
CONNECTIONS=${CONNECTIONS:-96}
STOP=${STOP:-1}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/pairsync}
OUT=${OUT:-$(mktemp -d)}
bad() { echo "writes.sh: $1" >&2; exit 2; }
[ -n "$ADMIN" ] || [ "$SQLITE" = 1 ] || bad "set PAIRSYNC_TEST_POSTGRES to a PostgreSQL admin URL (or SQLITE=1)"
[[ "$ROOMS" =~ ^[1-9][0-9]*$ ]] || bad "ROOMS must be a positive whole number"
[[ "$PROCESSES" =~ ^[1-9][0-9]*$ ]] || bad "PROCESSES must be a positive whole number"
[[ "$CONNECTIONS" =~ ^[1-9][0-9]*$ ]] || bad "CONNECTIONS must be a positive whole number"
[ $((CONNECTIONS % PROCESSES)) -eq 0 ] || bad "CONNECTIONS must be a multiple of PROCESSES"
[[ "$STOP" =~ ^[01]$ ]] || bad "STOP must be 0 or 1"
mkdir -p "$OUT"
raise_open_files 20000

# Built first: the benchmark's build relinks the default binary.
BENCH=$(bench_binary writes)
[ -x "$BENCH" ] || { echo "FAIL: the benchmark did not build"; exit 1; }
[ -x "$BIN" ] || bad "BIN=$BIN is not an executable"

DB="pairsync_writes_$(date +%s)_$$"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  [ "$SQLITE" = 1 ] || psql "$ADMIN" -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
if [ "$SQLITE" = 1 ]; then
  DB_URL="$OUT/$DB.db"
else
  psql "$ADMIN" -q -c "CREATE DATABASE $DB" >/dev/null
  DB_URL="${ADMIN%/*}/$DB"
fi
URLS=()
for i in $(seq "$PROCESSES"); do
  env DATABASE_URL="$DB_URL" PAIRSYNC_BIND=127.0.0.1:0 RUST_LOG=warn,pairsync::startup=info \
    PAIRSYNC_PAUSE_WHEN_EMPTY=never "$BIN" >"$OUT/server$i.log" 2>&1 &
  PIDS+=($!)
  PORT=""
  for _ in $(seq 200); do
    PORT=$(sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$OUT/server$i.log" 2>/dev/null || true)
    [ -n "$PORT" ] && break
    kill -0 "${PIDS[-1]}" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$PORT" ] || { echo "FAIL: server $i did not start"; tail -n 20 "$OUT/server$i.log"; exit 1; }
  URLS+=("http://127.0.0.1:$PORT")
done
sleep 1

echo "binary: $BIN ($(sha256sum "$BIN" | cut -c1-12)), commit $(git rev-parse --short HEAD)"
echo "machine: nproc $(nproc), $(free -g | awk '/^Mem:/ {print $2 " GiB total, " $7 " GiB available"}')"
echo "uptime before: $(uptime)"
echo "busiest other processes before (%CPU since each started):"
ps -eo pid,pcpu,etime,comm --sort=-pcpu | awk 'NR > 1 && NR <= 7 {print "  " $0}'
STOP_FLAG=()
[ "$STOP" = 1 ] || STOP_FLAG=(--no-stop)
status=0
"$BENCH" --url "$(IFS=,; echo "${URLS[*]}")" --server-pid "$(IFS=,; echo "${PIDS[*]}")" \
  --database-url "$DB_URL" --rooms "$ROOMS" --connections "$CONNECTIONS" \
  "${STOP_FLAG[@]}" "$@" || status=$?
echo "uptime after: $(uptime)"
for i in $(seq "$PROCESSES"); do
  n=$(grep -c -v 'listening on\|pairsync::startup' "$OUT/server$i.log" || true)
  [ "${n:-0}" -eq 0 ] || echo "server $i logged $n lines besides its start: $OUT/server$i.log"
done
exit "$status"
