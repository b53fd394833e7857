#!/usr/bin/env bash
# End-to-end test of examples/reconnecting_client.rs against
# examples/app_server.rs: the client connects and its heartbeats are
# answered; the server is killed (SIGKILL) and the client retries with
# backoff; the server comes back on the same port and the client reconnects
# by itself; then the server expires the client's token (close 4001) and the
# client gives up with exit code 0.
#
# Needs cargo and python3 only. Logs are left in reports/reconnecting_e2e/
# (gitignored). Prints one line per step; exits non-zero on any failure.
# Every wait polls a log for a line against a deadline (RECONNECTING_E2E_WAIT,
# 15 s per step), so nothing waits on a fixed sleep.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=reports/reconnecting_e2e
WAIT=${RECONNECTING_E2E_WAIT:-15}
SERVER=
CLIENT=

fail() {
    echo "reconnecting e2e: FAILED ($*)" >&2
    for log in "$WORK"/*.log; do
        echo "---- $log" >&2
        tail -n 30 "$log" >&2
    done
    exit 1
}

cleanup() {
    for pid in $CLIENT $SERVER; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

rm -rf "$WORK"
mkdir -p "$WORK"

# count FILE REGEX: how many lines of FILE match REGEX (extended).
count() {
    grep -cE "$2" "$1" 2>/dev/null || true
}

# wait_for PID FILE REGEX N WHAT: waits until FILE, the output of process
# PID, has N lines matching REGEX. Fails at the deadline, or at once if PID
# has exited.
wait_for() {
    local pid=$1 file=$2 regex=$3 n=$4 what=$5
    local deadline=$((SECONDS + WAIT))
    until (($(count "$file" "$regex") >= n)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            # It may have printed the line just before exiting.
            (($(count "$file" "$regex") >= n)) && return 0
            fail "process $pid exited while waiting for $what"
        fi
        ((SECONDS < deadline)) || fail "no $what within $WAIT s"
        sleep 0.05
    done
}

# start_server ADDR LOG: starts app_server on ADDR; sets SERVER and PORT.
start_server() {
    local addr=$1 log=$2
    "$BIN/app_server" "$addr" --token T1 --token T2 >"$log" 2>&1 &
    SERVER=$!
    wait_for "$SERVER" "$log" '^app_server listening on http://' 1 "server start ($log)"
    PORT=$(sed -n 's/^app_server listening on http:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$log")
    [[ -n "$PORT" ]] || fail "no port in $log"
}

# post URL: the HTTP status of a POST with the caller token T2.
post() {
    python3 - "$1" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], method="POST", headers={"Authorization": "Bearer T2"})
try:
    print(urllib.request.urlopen(req, timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
}

pass() { echo "PASS $*"; }

# ------------------------------------------------------------------ build
timeout 1800 cargo build --quiet --features axum --example app_server --example reconnecting_client ||
    fail "cargo build"
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TARGET/debug/examples

# ------------------------------------------------------------------ test
CLIENT_LOG=$WORK/client.log
: >"$CLIENT_LOG"
# The first server picks a free port; the second one reuses it.
start_server 127.0.0.1:0 "$WORK/server1.log"
pass "server 1 listening on 127.0.0.1:$PORT"

"$BIN/reconnecting_client" "ws://127.0.0.1:$PORT/api/ws" --token T1 --heartbeat 0.3 --dead-after 2 \
    --backoff 0.2,1 --keepalive 1,2 >"$CLIENT_LOG" 2>&1 &
CLIENT=$!
wait_for "$CLIENT" "$CLIENT_LOG" '^connected$' 1 "first connection"
wait_for "$CLIENT" "$CLIENT_LOG" '^heartbeat answered: ' 1 "answered heartbeat"
pass "client connected, heartbeats answered"

kill -KILL "$SERVER"
wait "$SERVER" 2>/dev/null || true
wait_for "$CLIENT" "$CLIENT_LOG" '^session ended: ' 1 "end of the session after SIGKILL"
# One retry after the lost session, then at least two after refused connects.
wait_for "$CLIENT" "$CLIENT_LOG" '^retrying in .*Connection refused' 2 "retries of refused connects"
pass "server killed: $(grep -m1 '^session ended: ' "$CLIENT_LOG"); $(count "$CLIENT_LOG" '^retrying in ') retries so far"

start_server "127.0.0.1:$PORT" "$WORK/server2.log"
wait_for "$CLIENT" "$CLIENT_LOG" '^connected$' 2 "reconnection"
BEATS=$(count "$CLIENT_LOG" '^heartbeat answered: ')
wait_for "$CLIENT" "$CLIENT_LOG" '^heartbeat answered: ' $((BEATS + 2)) "heartbeats after reconnecting"
pass "server 2 on the same port: client reconnected, heartbeats answered again"

STATUS=$(post "http://127.0.0.1:$PORT/admin/expire?token=T1")
[[ "$STATUS" == 204 ]] || fail "POST /admin/expire answered $STATUS, want 204"
GIVE_UP='giving up: closed by the peer with 4001 "token expired"'
wait_for "$CLIENT" "$CLIENT_LOG" "^$GIVE_UP\$" 1 "giving up after 4001"
deadline=$((SECONDS + WAIT))
while kill -0 "$CLIENT" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "the client did not exit after giving up"
    sleep 0.05
done
CODE=0
wait "$CLIENT" || CODE=$?
CLIENT=
[[ "$CODE" == 0 ]] || fail "client exit code $CODE, want 0"
[[ "$(tail -n 1 "$CLIENT_LOG")" == "$GIVE_UP" ]] || fail "the client's last line is not: $GIVE_UP"
pass "token expired: client printed '$GIVE_UP' and exited 0"
echo "reconnecting e2e: OK"
