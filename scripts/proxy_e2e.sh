#!/usr/bin/env bash
# End-to-end test of examples/proxy.rs: two proxies chained (client → A →
# B → upstream), the client and the upstream in tests/proxy_e2e.rs. Checks
# 200 MB each way at once and a single 256 MiB frame (byte for byte, with
# each proxy's peak RSS under 64 MiB), closes with codes and reasons from
# either end, the upstream's refusal and 502 with the upstream down, pings
# and pongs end to end, and that an abrupt end on one side closes the
# other (no connection left in either proxy).
#
# Needs cargo only. The test log is left in reports/proxy_e2e/ (gitignored).
# Prints a summary of the measured figures; exits non-zero on any failure.
# PROXY_E2E_TIMEOUT (300 s) bounds the test run.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=reports/proxy_e2e
LOG=$WORK/test.log
TEST_PID=

# The test run is its own process group (timeout's): ending it ends the
# proxies it started too, even if the harness could not.
cleanup() {
    if [[ -n "$TEST_PID" ]]; then
        kill -- -"$TEST_PID" 2>/dev/null || true
        wait "$TEST_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "proxy e2e: FAILED ($*)" >&2
    exit 1
}

rm -rf "$WORK"
mkdir -p "$WORK"

started=$SECONDS
# The executable's path as cargo reports it (wherever the target directory is).
PROXY_BIN=$(cargo build --release --example proxy --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1) || fail "cargo build --example proxy"
[[ -x "$PROXY_BIN" ]] || fail "no proxy executable in cargo's output"
cargo test --quiet --release --test proxy_e2e --no-run || fail "cargo test --no-run"
build_seconds=$((SECONDS - started))

started=$SECONDS
status=0
timeout "${PROXY_E2E_TIMEOUT:-300}" env PROXY_BIN="$PROXY_BIN" \
    cargo test --release --test proxy_e2e -- --nocapture --test-threads=1 \
    >"$LOG" 2>&1 &
TEST_PID=$!
wait "$TEST_PID" || status=$?
TEST_PID=
test_seconds=$((SECONDS - started))
cat "$LOG"
((status == 0)) || fail "cargo test --test proxy_e2e exited with $status; log in $LOG"
# A harness that skipped (PROXY_BIN unset) would pass without testing.
! grep -q 'proxy_e2e: skipped' "$LOG" || fail "the tests were skipped"

echo
echo "proxy e2e: summary"
echo "  build (proxy and harness, release): ${build_seconds} s; tests: ${test_seconds} s"
grep -o 'measured: .*' "$LOG" | sed 's/^measured: /  /'
echo "proxy e2e: OK"
