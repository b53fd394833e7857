#!/usr/bin/env bash
# End-to-end test of WebSockets over HTTP/2 (RFC 8441) with a real browser:
# builds examples/h2_echo with features h2 + rustls, makes a self-signed
# certificate for 127.0.0.1, starts `h2_echo 127.0.0.1:0 --tls CERT KEY` and
# runs tests/interop/h2_e2e.mjs (Node + playwright-core driving headless
# Chromium, which trusts the certificate by its public-key hash). The test
# checks the echoes and closes in the page and, from Chromium's net log,
# that the page's WebSockets went as extended CONNECT streams on the page's
# HTTP/2 connection and that the server answered every frame. The server is
# observed from outside only (its output is kept for diagnosis).
#
# Installs what it needs: playwright-core (`npm ci` in tests/interop) and
# Debian's chromium (apt-get) if $CHROMIUM (default /usr/bin/chromium) is
# missing. Needs node, npm and openssl. The certificate, key, server output
# and Chromium's net log are left in reports/h2_e2e/ (gitignored). Exits
# non-zero on any failure; every step is bounded by a timeout
# (H2_E2E_TIMEOUT, 120 s, bounds the browser test).
set -euo pipefail
cd "$(dirname "$0")/.."

IDIR=tests/interop
WORK=reports/h2_e2e
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM
TEST_TIMEOUT=${H2_E2E_TIMEOUT:-120}
export H2_E2E_TIMEOUT=$TEST_TIMEOUT

fail() {
    echo "h2 e2e: FAILED ($*)" >&2
    exit 1
}

rm -rf "$WORK"
mkdir -p "$WORK"

# ------------------------------------------------------------------ install
command -v node >/dev/null 2>&1 || fail "node not found"
command -v openssl >/dev/null 2>&1 || fail "openssl not found"
if [[ ! -d "$IDIR/node_modules/playwright-core" ]]; then
    command -v npm >/dev/null 2>&1 || fail "npm not found"
    (cd "$IDIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 600 npm ci --no-audit --no-fund --loglevel=error) >&2 ||
        fail "npm ci failed in $IDIR"
fi
if [[ ! -x "$CHROMIUM" ]]; then
    [[ "$CHROMIUM" == /usr/bin/chromium ]] || fail "no Chromium at $CHROMIUM"
    command -v apt-get >/dev/null 2>&1 || fail "no Chromium at $CHROMIUM and no apt-get"
    apt=(apt-get)
    [[ "$(id -u)" != 0 ]] && apt=(sudo -n apt-get)
    echo "h2 e2e: installing chromium from Debian" >&2
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
timeout 1800 cargo build --quiet --features h2,rustls --example h2_echo || fail "cargo build"
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TARGET/debug/examples/h2_echo

# ------------------------------------------------------------------ certificate
# Self-signed, P-256, for 127.0.0.1. Chromium trusts it through the SHA-256 of
# its SubjectPublicKeyInfo (--ignore-certificate-errors-spki-list), not a CA.
CERT=$WORK/cert.pem
KEY=$WORK/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$KEY" -out "$CERT" 2>"$WORK/openssl.log" || { cat "$WORK/openssl.log" >&2; fail "openssl req"; }
SPKI=$(openssl x509 -in "$CERT" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)
[[ -n "$SPKI" ]] || fail "could not hash the certificate's public key"

# ------------------------------------------------------------------ server
LOG=$WORK/server.log
"$BIN" 127.0.0.1:0 --tls "$CERT" "$KEY" >"$LOG" 2>&1 &
SERVER=$!
stop_server() {
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
}
trap stop_server EXIT

URL=
for _ in $(seq 1 100); do
    URL=$(sed -n 's/^h2_echo listening on \(https:\/\/[^ ]*\)$/\1/p' "$LOG")
    [[ -n "$URL" ]] && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$LOG" >&2; fail "server exited"; }
    sleep 0.1
done
[[ -n "$URL" ]] || { cat "$LOG" >&2; fail "server did not start"; }

# ------------------------------------------------------------------ test
# The test has its own overall timeout; this one is a backstop.
if ! timeout $((TEST_TIMEOUT + 30)) node "$IDIR/h2_e2e.mjs" "$URL" "$SPKI" "$PWD/$WORK/netlog.json"; then
    echo "---- server output ($LOG)" >&2
    tail -n 40 "$LOG" >&2
    exit 1
fi
kill -0 "$SERVER" 2>/dev/null || { cat "$LOG" >&2; fail "the server died during the test"; }
