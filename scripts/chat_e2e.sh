#!/usr/bin/env bash
# End-to-end test of the browser chat example (examples/chat): builds it,
# starts it on a free loopback port, and runs tests/interop/chat_e2e.mjs
# (Node + playwright-core driving two headless Chromium pages, plus a
# cross-origin page that must be refused).
#
# Needs node/npm (playwright-core is installed with `npm ci` in tests/interop
# if missing) and Chromium at $CHROMIUM (default /usr/bin/chromium). Set
# CHAT_E2E_SKIP_MISSING=1 to skip, rather than fail, when they are absent.
set -euo pipefail
cd "$(dirname "$0")/.."

IDIR=tests/interop
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM

missing() {
    if [[ "${CHAT_E2E_SKIP_MISSING:-0}" == 1 ]]; then
        echo "chat e2e: SKIPPED ($*)"
        exit 0
    fi
    echo "chat e2e: FAILED ($*)" >&2
    exit 1
}

command -v node >/dev/null 2>&1 || missing "node not found"
[[ -x "$CHROMIUM" ]] || missing "no Chromium at $CHROMIUM"
if [[ ! -d "$IDIR/node_modules/playwright-core" ]]; then
    command -v npm >/dev/null 2>&1 || missing "npm not found"
    (cd "$IDIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 600 npm ci --no-audit --no-fund --loglevel=error) >&2 ||
        missing "npm ci failed in $IDIR"
fi

cargo build --quiet --features hyper --example chat
BIN=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/examples/chat

LOG=$(mktemp)
"$BIN" 127.0.0.1:0 >"$LOG" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -f "$LOG"' EXIT

URL=
for _ in $(seq 1 100); do
    URL=$(sed -n 's/^chat listening on \(http:\/\/[^ ]*\)$/\1/p' "$LOG")
    [[ -n "$URL" ]] && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$LOG" >&2; echo "chat e2e: FAILED (server exited)" >&2; exit 1; }
    sleep 0.1
done
[[ -n "$URL" ]] || { echo "chat e2e: FAILED (server did not start)" >&2; exit 1; }

timeout 180 node "$IDIR/chat_e2e.mjs" "$URL"

# The server refused by Origin twice: the raw foreign upgrade and the
# cross-origin page (whose browser only sees a failed connection).
REFUSED=$(grep -c 'refused a WebSocket: .*origin is not allowed' "$LOG" || true)
if [[ "$REFUSED" -lt 2 ]]; then
    cat "$LOG" >&2
    echo "chat e2e: FAILED (server logged $REFUSED origin refusals, want 2)" >&2
    exit 1
fi
echo "chat e2e: server refused $REFUSED cross-origin upgrades with 403"
