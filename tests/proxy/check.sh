#!/usr/bin/env bash
# Runs pairsync behind nginx with docs/nginx.conf (ports and paths substituted) and checks
# that the event stream is not buffered and that X-Forwarded-For reaches the server.
# Needs nginx (on PATH or /usr/sbin/nginx), curl and python3; installs nothing.
#   PAIRSYNC_BIN=target/release/pairsync bash tests/proxy/check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${PAIRSYNC_BIN:-target/release/pairsync}
# How late a tick may arrive through nginx: the contract's "a few ms" (5) plus 30 ms, less
# than the 40 ms the test suites allow a loaded machine (tests/README.md, "Timing"); early
# is never allowed.
LATE_TOLERANCE_MS=35
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PASSED=0
fail() {
  echo "FAIL: $*"
  for f in "$T"/pairsync.log "$T"/error.log; do
    [ -s "$f" ] && { echo "--- last lines of $(basename "$f")"; tail -n 15 "$f"; }
  done
  echo "$PASSED passed, 1 failed"
  exit 1
}
ok() { echo "ok - $*"; PASSED=$((PASSED + 1)); }

T=$(mktemp -d)
PS_PID="" NG_PID="" SSE_PID=""
stop() { # stop PID: TERM, up to 5 s, then KILL
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}
cleanup() { stop "$SSE_PID"; stop "$NG_PID"; stop "$PS_PID"; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$BIN" ] || fail "no pairsync binary at $BIN (run cargo build --release, or set PAIRSYNC_BIN)"
[ -x "$NGINX" ] || fail "nginx not found on PATH nor at /usr/sbin/nginx (apt-get install nginx-light)"
command -v python3 >/dev/null || fail "python3 not found"
command -v curl >/dev/null || fail "curl not found"

# pairsync on a free port (0: it picks one and logs it), trusting nginx on 127.0.0.1.
DATABASE_URL="$T/pairsync.db" PAIRSYNC_BIND=127.0.0.1:0 PAIRSYNC_TRUSTED_PROXIES=127.0.0.1 \
  PAIRSYNC_CREATE_PER_MINUTE=2 RUST_LOG=info "$BIN" >"$T/pairsync.log" 2>&1 &
PS_PID=$!
PORT=""
for _ in $(seq 100); do
  PORT=$(sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$T/pairsync.log" 2>/dev/null || true)
  [ -n "$PORT" ] && break
  kill -0 "$PS_PID" 2>/dev/null || fail "pairsync exited at start"
  sleep 0.1
done
[ -n "$PORT" ] || fail "pairsync did not log its address within 10 s"

# nginx on another free port, with pid, logs and temp files in $T.
NPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ "$(id -u)" = 0 ]; then USER_LINE="user root;"; else USER_LINE=""; fi
sed -e "s/__LISTEN_PORT__/$NPORT/g" -e "s/127\.0\.0\.1:8080/127.0.0.1:$PORT/" \
    -e "s#/run/nginx\.pid#$T/nginx.pid#" -e "s#/var/log/nginx/#$T/#" -e "s#/var/lib/nginx/#$T/#" \
    -e "s/^user .*/$USER_LINE/" docs/nginx.conf >"$T/nginx.conf"
grep -q "__LISTEN_PORT__" "$T/nginx.conf" && fail "a placeholder was left in the rendered nginx.conf"
grep -q "server 127\.0\.0\.1:$PORT;" "$T/nginx.conf" || fail "the upstream 127.0.0.1:8080 was not found in docs/nginx.conf"
"$NGINX" -t -q -p "$T" -c "$T/nginx.conf" -e "$T/error.log" 2>>"$T/error.log" \
  || fail "nginx -t refused the rendered docs/nginx.conf"
ok "docs/nginx.conf passes nginx -t (nginx :$NPORT -> pairsync :$PORT)"
"$NGINX" -p "$T" -c "$T/nginx.conf" -e "$T/error.log" -g "daemon off;" 2>>"$T/error.log" &
NG_PID=$!
BASE="http://127.0.0.1:$NPORT"
for _ in $(seq 50); do
  [ "$(curl -s -m 1 -o /dev/null -w '%{http_code}' "$BASE/healthz")" = 200 ] && break
  kill -0 "$NG_PID" 2>/dev/null || fail "nginx exited at start"
  sleep 0.1
done
[ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$BASE/healthz")" = 200 ] \
  || fail "GET /healthz through nginx is not 200 within 5 s"

create() { # create [curl args...] -> prints "STATUS BODY"
  curl -s -m 5 -w ' %{http_code}' -X POST "$BASE/api/pair-room" -H 'content-type: application/json' \
    -d '{"navigator":"Ann","driver":"Bob","timerDuration":3000}' "$@"
}
OUT=$(create) || fail "POST /api/pair-room through nginx failed"
[ "${OUT##* }" = 201 ] || fail "POST /api/pair-room through nginx: expected 201, got: $OUT"
CODE=$(sed -n 's/.*"accessCode":"\([A-Za-z0-9_-]*\)".*/\1/p' <<<"$OUT")
[ -n "$CODE" ] || fail "no accessCode in: $OUT"
ok "POST /api/pair-room through nginx is 201"

# The stream, with curl -sN through nginx (asking for gzip, which must not be applied);
# python3 times each line's arrival and starts the timer once the stream is open.
curl -sN -m 15 -D "$T/sse.headers" -H 'Accept-Encoding: gzip' "$BASE/api/$CODE/connect" >"$T/sse.out" 2>/dev/null &
SSE_PID=$!
python3 - "$T/sse.out" "$BASE" "$CODE" "$LATE_TOLERANCE_MS" >"$T/py.out" <<'PY' || { cat "$T/py.out"; PASSED=$((PASSED + $(grep -c '^ok - ' "$T/py.out" || true))); fail "the stream through nginx"; }
import json, sys, time, urllib.request
path, base, code, tolerance = sys.argv[1:]
tolerance = int(tolerance)
def now(): return time.time() * 1000
def fail(msg): print("FAIL:", msg); sys.exit(1)
events, buf, pos, event, started = [], b"", 0, {}, False
limit = time.monotonic() + 12
with open(path, "rb") as f:
    while time.monotonic() < limit:
        chunk = f.read()
        if not chunk:
            time.sleep(0.002); continue
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            line = line.decode("utf-8", "replace").rstrip("\r")
            if line == "":
                if "event" in event: events.append((now(), event["event"], event.get("data", "")))
                event = {}
                continue
            key, _, value = line.partition(":")
            event[key] = value[1:] if value.startswith(" ") else value
        if not started and any(e[1] == "state" for e in events):
            req = urllib.request.Request(f"{base}/api/{code}/timer/start", method="PATCH")
            if urllib.request.urlopen(req, timeout=5).status != 204: fail("start is not 204")
            started = True
        if ("timer", "stop") in [(e[1], e[2]) for e in events]: break
names = [e[1] for e in events]
if names[:3] != ["connect", "remaining-time", "state"]: fail(f"stream through nginx began {names[:3]} (gzipped?)")
print("ok - the stream through nginx opens with connect, remaining-time, state")
running = [json.loads(e[2]) for e in events if e[1] == "state" and '"running"' in e[2]]
if not running: fail("no running state event after start")
deadline = running[0]["deadlineAt"]
ticks = [(t, int(d)) for t, n, d in events if n == "remaining-time" and int(d) < 3000]
if [v for _, v in ticks] != [2000, 1000, 0]: fail(f"ticks were {[v for _, v in ticks]}, want [2000, 1000, 0]")
for t, v in ticks:
    late = t - (deadline - v)
    if late < 0: fail(f"remaining-time: {v} arrived {-late:.1f} ms before its due time")
    if late > tolerance: fail(f"remaining-time: {v} arrived {late:.0f} ms after its due time (tolerance {tolerance} ms)")
    print(f"ok - remaining-time: {v} arrived through nginx {late:.0f} ms after its due time")
if ("timer", "stop") not in [(e[1], e[2]) for e in events]: fail("no timer: stop (time-up) within 12 s")
print("ok - the time-up (timer: stop) arrived through nginx")
PY
cat "$T/py.out"
PASSED=$((PASSED + $(grep -c '^ok - ' "$T/py.out")))
stop "$SSE_PID"; SSE_PID=""
HEAD=$(tr -d '\r' <"$T/sse.headers" | tr 'A-Z' 'a-z')
grep -q '^content-type: text/event-stream' <<<"$HEAD" || fail "the stream's content-type through nginx is not text/event-stream"
grep -q '^content-encoding: gzip' <<<"$HEAD" && fail "nginx gzipped the event stream"
ok "the stream through nginx is text/event-stream, not gzipped"

# X-Forwarded-For: nginx appends its peer; pairsync (trusting 127.0.0.1) rate-limits 203.0.113.9.
S1=$(create -H 'X-Forwarded-For: 203.0.113.9'); S2=$(create -H 'X-Forwarded-For: 203.0.113.9')
S3=$(create -H 'X-Forwarded-For: 203.0.113.9')
[ "${S1##* } ${S2##* } ${S3##* }" = "201 201 429" ] \
  || fail "3 creations as 203.0.113.9 (2 a minute allowed): got ${S1##* } ${S2##* } ${S3##* }, want 201 201 429"
grep -q '"rate_limited"' <<<"$S3" || fail "the 429 is not rate_limited: $S3"
ok "X-Forwarded-For reaches pairsync: the 3rd creation as 203.0.113.9 is 429 rate_limited"
S4=$(create -H 'X-Forwarded-For: 198.51.100.7')
[ "${S4##* }" = 201 ] || fail "a creation as 198.51.100.7 after that: expected 201, got ${S4##* }"
ok "another client (198.51.100.7) is not limited by 203.0.113.9's bucket"

echo "$PASSED passed, 0 failed"
