#!/usr/bin/env bash
# Soak: a release pairsync on a fresh SQLite database for MINUTES minutes under a steady
# load and churn all along, not part of CI:
# - steady: the fan-out benchmark, ROOMS × PER_ROOM streams (6,000) on rooms whose timer
#   runs the whole soak (deadline phases spread over the second), plus STALLED streams
#   that read their greeting and then nothing; every tick of every stream is checked;
# - churn: the churn benchmark, CHURN_RATE cycles a second (CHURN_CONCURRENCY at once),
#   each a room created, CHURN_STREAMS streams opened, its timer started, paused and
#   started again, its ticks watched, one stream reconnected, the streams closed and the
#   room deleted (10 % left to be forgotten, IDLE_MS after their last stream);
# - every SAMPLE_S seconds: the server's RSS, open files, live rooms and streams.
# At the end it waits for the live rooms and streams to reach 0 and prints a summary
# table: RSS and open files flat, no error, every tick on time (at most LATE_LIMIT_MS
# late). Exit status 1 when a line of the summary failed.
#   bash tests/soak/run.sh                                   # 30 minutes, 6,000 streams
#   MINUTES=2 ROOMS=20 PER_ROOM=10 bash tests/soak/run.sh     # a short check
# Also: IDLE_MS (5000), RSS_GROWTH_PERCENT (10), FD_SLACK (48), SOURCE_IPS
# (127.0.0.2,127.0.0.3), OUT (directory for the logs; a new one by default).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh

MINUTES=${MINUTES:-30}
ROOMS=${ROOMS:-100}
PER_ROOM=${PER_ROOM:-60}
STALLED=${STALLED:-5}
CHURN_RATE=${CHURN_RATE:-5}
CHURN_CONCURRENCY=${CHURN_CONCURRENCY:-16}
CHURN_STREAMS=${CHURN_STREAMS:-3}
IDLE_MS=${IDLE_MS:-5000}
LATE_LIMIT_MS=${LATE_LIMIT_MS:-250}
RSS_GROWTH_PERCENT=${RSS_GROWTH_PERCENT:-10}
FD_SLACK=${FD_SLACK:-48}
SAMPLE_S=${SAMPLE_S:-60}
SOURCE_IPS=${SOURCE_IPS:-127.0.0.2,127.0.0.3}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
raise_open_files 20000

FANOUT=$(bench_binary fanout)
CHURN=$(bench_binary churn)
[ -x "$FANOUT" ] && [ -x "$CHURN" ] || { echo "FAIL: the benchmarks did not build"; exit 1; }
start_pairsync "$OUT/server.log" DATABASE_URL="$OUT/soak.db" \
  PAIRSYNC_PAUSE_WHEN_EMPTY="$IDLE_MS" PAIRSYNC_ROOM_IDLE_MS="$IDLE_MS" \
  PAIRSYNC_MAX_SUBSCRIBERS_PER_ROOM=1000 PAIRSYNC_MAX_STREAMS_PER_CLIENT=0 || exit 1
FANOUT_PID=""
CHURN_PID=""
trap 'for p in $FANOUT_PID $CHURN_PID; do kill "$p" 2>/dev/null; done; stop_pid "$SERVER_PID"' EXIT

# sample LABEL: one line of $OUT/samples: label, seconds, RSS KiB, open files, live rooms,
# streams, streams dropped for not reading.
BEGIN=$(date +%s)
metric() { sed -n "s/^$1 \([0-9.e+]*\)$/\1/p" "$OUT/metrics" | head -n 1; }
sample() {
  curl -s --max-time 10 "$SERVER_URL/metrics" >"$OUT/metrics" || : >"$OUT/metrics"
  printf '%-8s %6s %10s %6s %6s %7s %7s\n' "$1" "$(($(date +%s) - BEGIN))" \
    "$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status")" \
    "$(find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)" \
    "$(metric pairsync_rooms_live)" "$(metric pairsync_sse_streams)" \
    "$(metric pairsync_streams_dropped_total)" | tee -a "$OUT/samples"
}
printf '%-8s %6s %10s %6s %6s %7s %7s\n' point seconds "RSS KiB" files rooms streams dropped
sample before

DURATION_MS=$((MINUTES * 60000))
"$FANOUT" --url "$SERVER_URL" --server-pid "$SERVER_PID" --rooms "$ROOMS" \
  --streams-per-room "$PER_ROOM" --duration-ms "$DURATION_MS" --phase-spread \
  --stalled-streams "$STALLED" --source-ips "$SOURCE_IPS" >"$OUT/fanout.out" 2>"$OUT/fanout.err" &
FANOUT_PID=$!
"$CHURN" --url "$SERVER_URL" --server-pid "$SERVER_PID" --run-for-ms "$DURATION_MS" \
  --rate "$CHURN_RATE" --concurrency "$CHURN_CONCURRENCY" --streams-per-room "$CHURN_STREAMS" \
  --pause --hold-ms 2500 --reconnect --sample-every 0 --settle-ms 0 \
  --source-ips "$SOURCE_IPS" >"$OUT/churn.out" 2>"$OUT/churn.err" &
CHURN_PID=$!

minute=0
while kill -0 "$FANOUT_PID" 2>/dev/null && kill -0 "$CHURN_PID" 2>/dev/null; do
  sleep 1
  if [ $(($(date +%s) - BEGIN)) -ge $(((minute + 1) * SAMPLE_S)) ]; then
    minute=$((minute + 1))
    kill -0 "$FANOUT_PID" 2>/dev/null && kill -0 "$CHURN_PID" 2>/dev/null && sample "run-$minute"
  fi
done
wait "$FANOUT_PID"
fanout_status=$?
wait "$CHURN_PID"
churn_status=$?
FANOUT_PID=""
CHURN_PID=""
sample ended
for _ in $(seq $(((4 * IDLE_MS + 30000) / 500))); do
  sample settling >/dev/null
  [ "$(metric pairsync_rooms_live)" = 0 ] && [ "$(metric pairsync_sse_streams)" = 0 ] && break
  sleep 0.5
done
sample settled

# The summary.
failed=0
line() {
  printf '%-44s %-6s %s\n' "$1" "$([ "$2" = 1 ] && echo pass || echo FAIL)" "$3"
  [ "$2" = 1 ] || failed=1
}
col() { awk -v l="$1" -v c="$2" '$1 ~ l {print $c}' "$OUT/samples"; }
run_rss=$(col '^run-' 3)
run_files=$(col '^run-' 4)
first_rss=$(echo "$run_rss" | head -n 1)
max_rss=$(echo "$run_rss" | sort -n | tail -n 1)
min_files=$(echo "$run_files" | sort -n | head -n 1)
max_files=$(echo "$run_files" | sort -n | tail -n 1)
before_files=$(col '^before' 4)
settled_files=$(col '^settled' 4)
settled_rooms=$(col '^settled' 5)
settled_streams=$(col '^settled' 6)
max_of() { sed -n 's/.*tick lateness ms: .*max \([0-9.]*\).*/\1/p' "$1" | head -n 1; }
fanout_max=$(max_of "$OUT/fanout.out")
churn_max=$(max_of "$OUT/churn.out")
on_time() { awk -v m="${1:-nan}" -v l="$LATE_LIMIT_MS" 'BEGIN {print (m != "nan" && m + 0 <= l) ? 1 : 0}'; }

echo
echo "soak summary: $MINUTES min, $((ROOMS * PER_ROOM)) steady streams + $STALLED stalled, churn $CHURN_RATE/s (outputs in $OUT)"
if [ -n "$first_rss" ]; then
  growth=$(awk -v a="$first_rss" -v b="$max_rss" 'BEGIN {printf "%.1f", (b - a) * 100 / a}')
  line "RSS flat (growth after the first sample < $RSS_GROWTH_PERCENT %)" \
    "$(awk -v g="$growth" -v l="$RSS_GROWTH_PERCENT" 'BEGIN {print (g < l) ? 1 : 0}')" \
    "first $first_rss KiB, highest $max_rss KiB ($growth %)"
  line "open files flat (range during the run <= $FD_SLACK)" \
    "$([ $((max_files - min_files)) -le "$FD_SLACK" ] && echo 1)" \
    "$min_files to $max_files during the run"
else
  line "RSS and open files sampled during the run" 0 "no sample: the run was shorter than SAMPLE_S"
fi
line "open files back after the run (<= before + $FD_SLACK)" \
  "$([ "${settled_files:-99999}" -le $((before_files + FD_SLACK)) ] && echo 1)" \
  "$before_files before, $settled_files settled"
line "live rooms and streams back to 0" \
  "$([ "$settled_rooms" = 0 ] && [ "$settled_streams" = 0 ] && echo 1)" \
  "$settled_rooms rooms, $settled_streams streams"
line "steady streams: clean run (no error, no tick missed)" \
  "$([ "$fanout_status" = 0 ] && echo 1)" "$(grep '^result:' "$OUT/fanout.out")"
line "churn: no cycle failed" "$([ "$churn_status" = 0 ] && echo 1)" \
  "$(grep '^check: no cycle failed' "$OUT/churn.out" | sed 's/^check: no cycle failed: [A-Za-z]* //')"
line "every steady tick on time (<= $LATE_LIMIT_MS ms)" "$(on_time "$fanout_max")" \
  "$(grep '^tick lateness' "$OUT/fanout.out")"
line "every churn tick on time (<= $LATE_LIMIT_MS ms)" "$(on_time "$churn_max")" \
  "$(grep '^tick lateness' "$OUT/churn.out")"
grep '^stalled streams' "$OUT/fanout.out"
echo "result: $([ "$failed" = 0 ] && echo "clean soak" || echo FAILED)"
exit "$failed"
