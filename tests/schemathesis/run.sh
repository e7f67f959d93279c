#!/usr/bin/env bash
# Checks the server against its own OpenAPI document with Schemathesis (pinned in
# requirements.txt beside this script, installed into a virtualenv under target/): every
# check but positive data acceptance (JSON Schema cannot say that two names must differ,
# that a remaining time is at most the duration, nor that `60000.0` is no whole number: the
# descriptions do), over generated requests, the links from a created room to every
# operation on it, and each event of real streams. It fails on any finding: a 5xx, an
# answer or event that does not match the document, an undocumented status, a request that
# breaks the document and is accepted, a panic. Installs python3-venv and curl with apt-get
# when they are missing.
#   bash tests/schemathesis/run.sh [BINARY]     (default target/release/pairsync)
# PAIRSYNC_SCHEMATHESIS_EXAMPLES (default 100) and PAIRSYNC_SCHEMATHESIS_SEED (default 1)
# change the number of examples per operation and the seed.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROOT=$(pwd)
BIN=${1:-target/release/pairsync}
HERE=tests/schemathesis
VENV=target/schemathesis-venv
EXAMPLES=${PAIRSYNC_SCHEMATHESIS_EXAMPLES:-100}
SEED=${PAIRSYNC_SCHEMATHESIS_SEED:-1}
# The whole run stops after this many seconds, findings or not.
TIME_LIMIT_S=180
TOKEN=schemathesis-admin-token

[ -x "$BIN" ] || { echo "no pairsync binary at $BIN (cargo build --release)"; exit 1; }

missing=()
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The virtualenv, made again when the pinned requirements change.
stamp=$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)
if [ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  echo "$stamp" >"$VENV/.requirements"
fi

T=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; then
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$T"
}
trap cleanup EXIT

# The server on a free port (0: it picks one and logs it) and a database of its own.
# Running timers never pause for want of streams.
PAIRSYNC_BIND=127.0.0.1:0 DATABASE_URL="$T/pairsync.db" PAIRSYNC_ADMIN_TOKEN=$TOKEN \
  PAIRSYNC_PAUSE_WHEN_EMPTY=never RUST_LOG=warn,pairsync::startup=info \
  "$BIN" >"$T/server.log" 2>&1 &
SERVER_PID=$!
PORT=""
for _ in $(seq 100); do
  PORT=$(sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$T/server.log" 2>/dev/null || true)
  [ -n "$PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
[ -n "$PORT" ] || { cat "$T/server.log"; echo "the server did not start"; exit 1; }
BASE=http://127.0.0.1:$PORT

# The room whose stream every generated `connect` request opens: running, for 24 hours.
PAIRSYNC_STREAM_ROOM=$(curl -sf -X POST "$BASE/api/pair-room" \
  -d '{"navigator": "Ann", "driver": "Bob", "timerDuration": 86400000}' |
  sed -n 's/.*"accessCode":"\([A-Za-z0-9_-]*\)".*/\1/p')
[ -n "$PAIRSYNC_STREAM_ROOM" ] || { echo "the stream's room could not be made"; exit 1; }
curl -sf -X PATCH "$BASE/api/$PAIRSYNC_STREAM_ROOM/timer/start"
export PAIRSYNC_STREAM_ROOM

# Run from the scratch directory, where Schemathesis and Hypothesis leave their caches. One
# worker: with several threads, Hypothesis meets a thread-safety bug of Python 3.11's parser.
status=0
(cd "$T" && timeout "$TIME_LIMIT_S" "$ROOT/$VENV/bin/schemathesis" --no-color \
  --config-file "$ROOT/$HERE/schemathesis.toml" \
  run "$BASE/api/openapi.json" \
  --exclude-checks positive_data_acceptance \
  --header "Authorization: Bearer $TOKEN" \
  --max-examples "$EXAMPLES" --seed "$SEED" --workers 1) || status=$?
if [ "$status" != 0 ]; then
  echo "--- last lines of the server's log"
  tail -n 30 "$T/server.log"
  [ "$status" = 124 ] && echo "schemathesis did not finish within $TIME_LIMIT_S s"
  echo "schemathesis: the server does not match its OpenAPI document (exit $status)"
  exit 1
fi
# A panic is a finding too, even where no answer showed it (in a room's actor, say).
if grep -n 'panicked' "$T/server.log"; then
  echo "schemathesis: the server panicked"
  exit 1
fi
echo "schemathesis: no finding"
