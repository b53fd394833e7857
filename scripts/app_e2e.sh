#!/usr/bin/env bash
# End-to-end test of examples/app_server: builds it (feature axum), starts
# `app_server 127.0.0.1:0 --token T1 --token T2 --demo` and runs
# tests/interop/app_e2e.mjs against it: JSON refusals (401/403), the realtime
# API with Node `ws` (echo, close codes 4003/4002/4001), headless Chromium
# viewing the demo session (frames render, a click reaches the demo producer
# and shows in its frames), and, in a session the test produces, a viewer
# that stops reading next to Chromium (which keeps its frame rate, while the
# server's memory stays bounded). The server is observed from outside; its
# output is read for the URL only.
#
# Installs what it needs: playwright-core and ws (`npm ci` in tests/interop)
# and Debian's chromium (apt-get) if $CHROMIUM (default /usr/bin/chromium) is
# missing. Needs node and npm. The server's output is left in
# reports/app_e2e/server.log (gitignored). Prints one line per check; exits
# non-zero on any failure; every step is bounded by a timeout
# (APP_E2E_TIMEOUT, 150 s, bounds the Node test).
set -euo pipefail
cd "$(dirname "$0")/.."

IDIR=tests/interop
WORK=reports/app_e2e
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM
TEST_TIMEOUT=${APP_E2E_TIMEOUT:-150}
export APP_E2E_TIMEOUT=$TEST_TIMEOUT

fail() {
    echo "app e2e: FAILED ($*)" >&2
    exit 1
}

rm -rf "$WORK"
mkdir -p "$WORK"

# ------------------------------------------------------------------ install
command -v node >/dev/null 2>&1 || fail "node not found"
if [[ ! -d "$IDIR/node_modules/playwright-core" || ! -d "$IDIR/node_modules/ws" ]]; then
    command -v npm >/dev/null 2>&1 || fail "npm not found"
    (cd "$IDIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 600 npm ci --no-audit --no-fund --loglevel=error) >&2 ||
        fail "npm ci failed in $IDIR"
fi
if [[ ! -x "$CHROMIUM" ]]; then
    [[ "$CHROMIUM" == /usr/bin/chromium ]] || fail "no Chromium at $CHROMIUM"
    command -v apt-get >/dev/null 2>&1 || fail "no Chromium at $CHROMIUM and no apt-get"
    apt=(apt-get)
    [[ "$(id -u)" != 0 ]] && apt=(sudo -n apt-get)
    echo "app e2e: installing chromium from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    # On a fresh machine the package lists may be missing: update, then retry.
    if ! timeout 900 "${apt[@]}" install -y --no-install-recommends chromium >"$WORK/apt.log" 2>&1; then
        timeout 300 "${apt[@]}" update >>"$WORK/apt.log" 2>&1 || true
        timeout 900 "${apt[@]}" install -y --no-install-recommends chromium >>"$WORK/apt.log" 2>&1 ||
            { tail -n 5 "$WORK/apt.log" >&2; fail "apt-get install chromium failed"; }
    fi
    [[ -x "$CHROMIUM" ]] || fail "chromium installed, but $CHROMIUM is missing"
fi

# ------------------------------------------------------------------ build
timeout 1800 cargo build --quiet --features axum --example app_server --example reconnecting_client ||
    fail "cargo build"
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TARGET/debug/examples/app_server

# ------------------------------------------------------------------ server
LOG=$WORK/server.log
"$BIN" 127.0.0.1:0 --token T1 --token T2 --demo >"$LOG" 2>&1 &
SERVER=$!
stop_server() {
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
}
trap stop_server EXIT

URL=
for _ in $(seq 1 100); do
    URL=$(sed -n 's/^app_server listening on \(http:\/\/[^ ]*\)$/\1/p' "$LOG")
    [[ -n "$URL" ]] && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$LOG" >&2; fail "server exited"; }
    sleep 0.1
done
[[ -n "$URL" ]] || { cat "$LOG" >&2; fail "server did not start"; }

# ------------------------------------------------------------------ test
# The test has its own overall timeout; this one is a backstop.
if ! timeout $((TEST_TIMEOUT + 30)) node "$IDIR/app_e2e.mjs" "$URL" "$SERVER"; then
    echo "---- server output ($LOG)" >&2
    tail -n 40 "$LOG" >&2
    exit 1
fi
kill -0 "$SERVER" 2>/dev/null || { cat "$LOG" >&2; fail "the server died during the test"; }
