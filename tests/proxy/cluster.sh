#!/usr/bin/env bash
# Runs three pairsync processes on one PostgreSQL database behind nginx with docs/nginx.conf,
# its upstream block replaced by docs/nginx-cluster.conf (ports substituted), and checks that
# streams spread over the three by plain round robin all get a command's events, and a
# delete's close. Needs nginx, python3 and PAIRSYNC_TEST_POSTGRES (an admin URL, as for the
# integration suite); installs nothing.
#   PAIRSYNC_TEST_POSTGRES=postgres://postgres:pw@127.0.0.1/postgres bash tests/proxy/cluster.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${PAIRSYNC_BIN:-target/release/pairsync}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
ADMIN=${PAIRSYNC_TEST_POSTGRES:?set PAIRSYNC_TEST_POSTGRES to a PostgreSQL admin URL}
[ -x "$BIN" ] || { echo "FAIL: no pairsync binary at $BIN"; exit 1; }
T=$(mktemp -d)
DB="pairsync_proxy_$$"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$ADMIN" -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT

psql "$ADMIN" -q -c "CREATE DATABASE $DB" >/dev/null
URL="${ADMIN%/*}/$DB"
PORTS=()
for i in 1 2 3; do
  DATABASE_URL="$URL" PAIRSYNC_BIND=127.0.0.1:0 PAIRSYNC_TRUSTED_PROXIES=127.0.0.1 \
    PAIRSYNC_ADMIN_TOKEN=proxy-token RUST_LOG=info "$BIN" >"$T/p$i.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    # The log appears when the process's shell opens it, maybe after this first look.
    PORT=$(sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$T/p$i.log" 2>/dev/null || true)
    [ -n "$PORT" ] && break
    sleep 0.1
  done
  [ -n "$PORT" ] || { echo "FAIL: process $i did not start"; cat "$T/p$i.log"; exit 1; }
  PORTS+=("$PORT")
done

NPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ "$(id -u)" = 0 ]; then USER_LINE="user root;"; else USER_LINE=""; fi
python3 - "$T" "$NPORT" "$USER_LINE" "${PORTS[@]}" <<'PY'
import re, sys
t, nport, user, *ports = sys.argv[1:]
conf = open("docs/nginx.conf").read()
block = open("docs/nginx-cluster.conf").read()
block = block[block.index("    upstream pairsync {"):]
for old, new in zip(["8081", "8082", "8083"], ports):
    block = block.replace(f"127.0.0.1:{old}", f"127.0.0.1:{new}")
conf, n = re.subn(r"    upstream pairsync \{.*?\n    \}\n", lambda _: block, conf, flags=re.S)
assert n == 1, "the upstream block of docs/nginx.conf was not found"
conf = conf.replace("__LISTEN_PORT__", nport).replace("/run/nginx.pid", f"{t}/nginx.pid")
conf = conf.replace("/var/log/nginx/", f"{t}/").replace("/var/lib/nginx/", f"{t}/")
conf = re.sub(r"^user .*$", user, conf, flags=re.M)
open(f"{t}/nginx.conf", "w").write(conf)
PY
"$NGINX" -t -q -p "$T" -c "$T/nginx.conf" -e "$T/error.log"
"$NGINX" -p "$T" -c "$T/nginx.conf" -e "$T/error.log" -g "daemon off;" &
PIDS+=($!)
echo "ok - docs/nginx.conf with docs/nginx-cluster.conf passes nginx -t (:$NPORT -> ${PORTS[*]})"

python3 - "http://127.0.0.1:$NPORT" "${PORTS[@]}" <<'PY'
import http.client, json, sys, threading, time, urllib.request
base, *ports = sys.argv[1:]
host, port = base.split("//")[1].split(":")
passed = 0
def ok(msg):
    global passed; passed += 1; print("ok -", msg)
def fail(msg):
    print("FAIL:", msg); print(f"{passed} passed, 1 failed"); sys.exit(1)
def now(): return time.time() * 1000
# The contract: a change reaches every process's streams within 100 ms, and a tick comes "a
# few ms late at most" (5); plus 30 ms, less than the 40 ms the test suites allow a loaded
# machine (tests/README.md, "Timing").
ACROSS_MS, TICK_LATE_MS = 100 + 30, 5 + 30
def call(method, path, body=None, target=(host, int(port)), token=None):
    conn = http.client.HTTPConnection(*target, timeout=10)
    headers = {"content-type": "application/json"}
    if token: headers["authorization"] = f"Bearer {token}"
    conn.request(method, path, json.dumps(body) if body else None, headers)
    res = conn.getresponse(); data = res.read(); conn.close()
    return res.status, (json.loads(data) if data else None)
for _ in range(50):
    try:
        if call("GET", "/readyz")[0] == 200: break
    except OSError: pass
    time.sleep(0.1)
status, body = call("POST", "/api/pair-room", {"navigator": "Ann", "driver": "Bob", "timerDuration": 60000})
if status != 201: fail(f"create through nginx: {status} {body}")
code = body["accessCode"]
# Six streams through nginx: round robin spreads them over the three processes.
streams = []
class Stream(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True); self.events = []; self.stamps = []; self.ready = threading.Event()
    def run(self):
        conn = http.client.HTTPConnection(host, int(port), timeout=20)
        conn.request("GET", f"/api/{code}/connect"); res = conn.getresponse()
        event = {}
        while True:
            line = res.readline()
            if not line: return
            line = line.decode().rstrip("\r\n")
            if line == "":
                # Presence ("who is here") is told whenever the watchers change, on its own
                # schedule across processes; the timer's sequence is what this test follows.
                if "event" in event and event["event"] != "presence":
                    self.events.append((event["event"], event.get("data", "")))
                    self.stamps.append(now())
                    if event["event"] == "state": self.ready.set()
                event = {}; continue
            k, _, v = line.partition(":"); event[k] = v[1:] if v.startswith(" ") else v
for _ in range(6):
    s = Stream(); s.start(); streams.append(s)
for s in streams:
    if not s.ready.wait(10): fail("a stream through nginx got no greeting")
per_process = []
for p in ports:
    st, room = call("GET", f"/rooms/{code}", target=("127.0.0.1", int(p)), token="proxy-token")
    per_process.append(room["subscribers"] if st == 200 else 0)
if sum(per_process) != 6 or sum(1 for n in per_process if n > 0) < 2:
    fail(f"streams were not spread over the processes: {per_process}")
ok(f"six streams through nginx spread over the processes: {per_process}")
seen = [len(s.events) for s in streams]
if call("PATCH", f"/api/{code}/timer/start")[0] != 204: fail("start through nginx")
answered = now()
# The start, its state and the first tick on every stream.
wait_until = time.time() + 3
while time.time() < wait_until and not all(len(s.events) >= n + 3 for s, n in zip(streams, seen)):
    time.sleep(0.02)
told = [(s.events[n:n + 3], s.stamps[n:n + 3]) for s, n in zip(streams, seen)]
if not all(len(e) == 3 and e[0] == ("timer", "start") and e[1][0] == "state" and e[2] == ("remaining-time", "59000") for e, _ in told):
    fail(f"not every stream got timer: start, state, remaining-time: 59000: {[e for e, _ in told]}")
late = max(t[0] for _, t in told) - answered
if late > ACROSS_MS: fail(f"a start reached a stream {late:.0f} ms after its answer (the bound is {ACROSS_MS} ms)")
ok(f"a start through nginx reaches every stream on every process within {late:.0f} ms of its answer")
deadline = json.loads(told[0][0][1][1])["deadlineAt"]
ticks = [t[2] - (deadline - 59000) for _, t in told]
if min(ticks) < 0: fail(f"the first tick came {-min(ticks):.1f} ms early")
if max(ticks) > TICK_LATE_MS: fail(f"the first tick came {max(ticks):.1f} ms late (the bound is {TICK_LATE_MS} ms)")
ok(f"the first tick reaches every stream on every process on time: {min(ticks):.1f} to {max(ticks):.1f} ms after its due time")
if call("DELETE", f"/api/pair-room/{code}")[0] != 204: fail("delete through nginx")
for s in streams: s.join(5)
if not all(("close", "OK") in s.events and not s.is_alive() for s in streams):
    fail("not every stream got close: OK and ended")
ok("a delete through nginx closes every stream on every process")
for _ in range(6):
    if call("GET", f"/api/pair-room/{code}")[0] != 404: fail("a deleted room answered other than 404")
ok("the deleted room is 404 through every process")
print(f"{passed + 1} passed, 0 failed")
PY
