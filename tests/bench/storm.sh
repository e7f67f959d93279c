#!/usr/bin/env bash
# The reconnect storm: starts a release pairsync on a fresh SQLite database, runs the
# storm benchmark against it, and restarts the server when the benchmark asks (SIGUSR1):
# SIGTERM, wait for the exit, start again on the same database and port. The instants go
# to restart.log (epoch µs), which the benchmark reads.
#   ROOMS=1800 PER_ROOM=10 bash tests/bench/storm.sh
# Also: DURATION_MS (120000), PLAN (start-plan flags, "--phase-spread"), SOURCE_IPS
# (127.0.0.2,127.0.0.3), OUT (directory for the logs; a new one by default), and any
# further storm flags as arguments (e.g. --goal-ms 5000 --on-time-ms 100).
# Exit status: the benchmark's.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh

ROOMS=${ROOMS:-200}
PER_ROOM=${PER_ROOM:-10}
DURATION_MS=${DURATION_MS:-120000}
PLAN=${PLAN:---phase-spread}
SOURCE_IPS=${SOURCE_IPS:-127.0.0.2,127.0.0.3}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
raise_open_files 20000

BENCH=$(bench_binary storm)
[ -x "$BENCH" ] || { echo "FAIL: the benchmark did not build"; exit 1; }
SETTINGS=(DATABASE_URL="$OUT/storm.db" PAIRSYNC_MAX_SUBSCRIBERS_PER_ROOM=1000
  PAIRSYNC_MAX_STREAMS_PER_CLIENT=0)
LOG="$OUT/restart.log"
: >"$LOG"
start_pairsync "$OUT/server.log" "${SETTINGS[@]}" || exit 1
echo "listening $(date +%s%6N) $SERVER_PID" >>"$LOG"
PORT=$SERVER_PORT

restart() {
  echo "term $(date +%s%6N)" >>"$LOG"
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID"
  local code=$?
  echo "exited $(date +%s%6N) $code" >>"$LOG"
  start_pairsync "$OUT/server.log" "${SETTINGS[@]}" PAIRSYNC_BIND="127.0.0.1:$PORT" || return
  echo "listening $(date +%s%6N) $SERVER_PID" >>"$LOG"
}
trap restart USR1
BENCH_PID=""
trap 'kill "$SERVER_PID" 2>/dev/null; [ -n "$BENCH_PID" ] && kill "$BENCH_PID" 2>/dev/null' EXIT

echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086
"$BENCH" --url "$SERVER_URL" --rooms "$ROOMS" --streams-per-room "$PER_ROOM" \
  --duration-ms "$DURATION_MS" --source-ips "$SOURCE_IPS" $PLAN \
  --restart-signal $$ --restart-log "$LOG" "$@" &
BENCH_PID=$!
# `wait` returns early whenever the restart signal arrives; wait again until the
# benchmark itself has exited.
while :; do
  wait "$BENCH_PID"
  status=$?
  kill -0 "$BENCH_PID" 2>/dev/null || break
done
echo "server log and restart instants in $OUT"
exit "$status"
