#!/usr/bin/env bash
# The fan-out benchmark on pairsync and on nginx + nchan at one size, with the same flags:
# each run starts a fresh pairsync (release build, fresh SQLite database) and measures it,
# then a fresh nginx + nchan (tests/bench/nchan.conf) and measures it, RUNS times.
#   ROOMS=1800 PER_ROOM=10 RUNS=3 bash tests/bench/compare.sh
# Also: DURATION_MS (10000), PLAN (fanout's start-plan flags, "--phase-spread"),
# SOURCE_IPS (127.0.0.2,127.0.0.3), HTTP_CONNECTIONS (64), NCHAN_PORT (8090),
# OUT (directory for logs and outputs; a new one by default), EXTRA (more fanout flags).
# Needs nginx and its nchan module: apt-get install -y nginx libnginx-mod-nchan.
# Exit status: 1 when any run was not clean.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh

ROOMS=${ROOMS:-300}
PER_ROOM=${PER_ROOM:-60}
RUNS=${RUNS:-1}
DURATION_MS=${DURATION_MS:-10000}
PLAN=${PLAN:---phase-spread}
SOURCE_IPS=${SOURCE_IPS:-127.0.0.2,127.0.0.3}
HTTP_CONNECTIONS=${HTTP_CONNECTIONS:-64}
NCHAN_PORT=${NCHAN_PORT:-8090}
EXTRA=${EXTRA:-}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
raise_open_files 20000

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] && [ -f /usr/lib/nginx/modules/ngx_nchan_module.so ] ||
  { echo "FAIL: needs nginx and nchan: apt-get install -y nginx libnginx-mod-nchan"; exit 1; }
BENCH=$(bench_binary fanout)
[ -x "$BENCH" ] || { echo "FAIL: the benchmark did not build"; exit 1; }

SERVER_PID=""
MASTER=""
cleanup() {
  [ -n "$SERVER_PID" ] && stop_pid "$SERVER_PID"
  [ -n "$MASTER" ] && kill -QUIT "$MASTER" 2>/dev/null || true
}
trap cleanup EXIT

# shellcheck disable=SC2206
FLAGS=(--rooms "$ROOMS" --streams-per-room "$PER_ROOM" --duration-ms "$DURATION_MS"
  --source-ips "$SOURCE_IPS" --http-connections "$HTTP_CONNECTIONS" $PLAN $EXTRA)
status=0
for run in $(seq 1 "$RUNS"); do
  echo "=== run $run of $RUNS: pairsync (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  rm -f "$OUT"/pairsync.db*
  start_pairsync "$OUT/pairsync.log" DATABASE_URL="$OUT/pairsync.db" \
    PAIRSYNC_MAX_SUBSCRIBERS_PER_ROOM=1000 PAIRSYNC_MAX_STREAMS_PER_CLIENT=0
  sleep 1
  "$BENCH" --url "$SERVER_URL" --server-pid "$SERVER_PID" "${FLAGS[@]}" \
    | tee "$OUT/pairsync-$run.out" || status=1
  stop_pid "$SERVER_PID"
  SERVER_PID=""

  echo "=== run $run of $RUNS: nginx + nchan (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  mkdir -p "$OUT/nginx"
  sed -e "s#@DIR@#$OUT/nginx#g" -e "s#@PORT@#$NCHAN_PORT#g" tests/bench/nchan.conf \
    >"$OUT/nginx/nginx.conf"
  "$NGINX" -c "$OUT/nginx/nginx.conf" -p "$OUT/nginx/"
  for _ in $(seq 100); do [ -s "$OUT/nginx/nginx.pid" ] && break; sleep 0.05; done
  MASTER=$(cat "$OUT/nginx/nginx.pid")
  sleep 1
  "$BENCH" --mode nchan --url "http://127.0.0.1:$NCHAN_PORT" \
    --server-pid "$MASTER,$(pgrep -d, -P "$MASTER")" "${FLAGS[@]}" \
    | tee "$OUT/nchan-$run.out" || status=1
  kill -QUIT "$MASTER"
  for _ in $(seq 200); do kill -0 "$MASTER" 2>/dev/null || break; sleep 0.05; done
  MASTER=""
done
echo "=== outputs in $OUT"
exit "$status"
