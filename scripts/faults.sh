#!/usr/bin/env bash
# The fault suite (tests/faults.rs) in two network namespaces of its own: a
# server namespace and a client namespace joined by a veth pair
# (10.77.0.1/24 and 10.77.0.2/24, nothing routed anywhere else), removed at
# exit. Cases: a cable cut, a blackhole during the close handshake, the
# link coming back under reconnecting clients, 5% loss, a 1 Mbit/s link, a
# reset in the middle of a frame; against the tokio and the blocking
# adapter on both sides and the mio example's server.
#
# Needs root, `ip` (iproute2, with netns), `iptables` (installed with apt-get
# when missing) and `tc` with the htb and tbf qdiscs. Anything the machine
# refuses fails the run, loudly: it never skips. Builds the harness in the
# test profile with --all-features (what `cargo test --all-features` built
# already). The log is left in reports/faults/ (gitignored); the summary
# table (case x adapter x side: bound, measured, pass) ends the output.
# `bash scripts/faults.sh [FILTER]` runs the tests whose names contain FILTER
# (cable_cut, close_handshake_blackhole, link_comes_back, loss, slow_link,
# reset_mid_frame). FAULTS_TIMEOUT (300 s) bounds the test run; inside it, every wait of the
# harness is bounded (30 s).
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=reports/faults
LOG=$WORK/test.log
NS_SERVER=rfc6455-faults-s
NS_CLIENT=rfc6455-faults-c
DEV_SERVER=rfc6455-fs
DEV_CLIENT=rfc6455-fc
IP_SERVER=10.77.0.1
IP_CLIENT=10.77.0.2
TEST_PID=

fail() {
    echo "faults: FAILED ($*)" >&2
    exit 1
}

cleanup() {
    if [[ -n "$TEST_PID" ]]; then
        kill -- -"$TEST_PID" 2>/dev/null || true
        wait "$TEST_PID" 2>/dev/null || true
    fi
    # Deleting a namespace deletes the veth end in it, and so the pair.
    ip netns del "$NS_SERVER" 2>/dev/null || true
    ip netns del "$NS_CLIENT" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$WORK"
mkdir -p "$WORK"

# ---------------------------------------------------------------- the machine
[[ $(id -u) == 0 ]] || fail "needs root for network namespaces, iptables and tc"
command -v ip >/dev/null || fail "no ip (iproute2)"
command -v tc >/dev/null || fail "no tc (iproute2)"
if ! command -v iptables >/dev/null; then
    echo "faults: installing iptables"
    if ! { apt-get install -y -qq iptables >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq iptables >/dev/null 2>&1; }; }; then
        fail "iptables is missing and apt-get could not install it"
    fi
fi

# Left over from a run that was killed.
ip netns del "$NS_SERVER" 2>/dev/null || true
ip netns del "$NS_CLIENT" 2>/dev/null || true

step() {
    "$@" 2>"$WORK/step.err" || fail "\`$*\` refused: $(cat "$WORK/step.err")"
}
step ip netns add "$NS_SERVER"
step ip netns add "$NS_CLIENT"
step ip link add "$DEV_SERVER" netns "$NS_SERVER" type veth peer name "$DEV_CLIENT" netns "$NS_CLIENT"
step ip -n "$NS_SERVER" addr add "$IP_SERVER/24" dev "$DEV_SERVER"
step ip -n "$NS_CLIENT" addr add "$IP_CLIENT/24" dev "$DEV_CLIENT"
for ns in "$NS_SERVER" "$NS_CLIENT"; do
    step ip -n "$ns" link set lo up
done
step ip -n "$NS_SERVER" link set "$DEV_SERVER" up
step ip -n "$NS_CLIENT" link set "$DEV_CLIENT" up
# What the cases use, tried once here so that a refusal names itself.
step ip netns exec "$NS_SERVER" iptables -w -A INPUT -i "$DEV_SERVER" \
    -m statistic --mode random --probability 0.05 -j DROP
step ip netns exec "$NS_SERVER" iptables -w -F INPUT
step ip netns exec "$NS_SERVER" tc qdisc add dev "$DEV_SERVER" root handle 1: htb default 999
step ip netns exec "$NS_SERVER" tc class add dev "$DEV_SERVER" parent 1: classid 1:2 htb rate 1gbit quantum 60000
step ip netns exec "$NS_SERVER" tc qdisc add dev "$DEV_SERVER" parent 1:2 handle 2: tbf rate 1mbit burst 5kb latency 100ms
step ip netns exec "$NS_SERVER" tc filter add dev "$DEV_SERVER" parent 1: protocol ip prio 1 u32 match ip sport 1 0xffff flowid 1:2
step ip netns exec "$NS_SERVER" tc qdisc del dev "$DEV_SERVER" root
echo "faults: namespaces $NS_SERVER ($IP_SERVER on $DEV_SERVER) and $NS_CLIENT ($IP_CLIENT on $DEV_CLIENT)"

# ---------------------------------------------------------------- build
started=$SECONDS
MIO_BIN=$(cargo build --all-features --example echo_server_mio --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1) || fail "cargo build --example echo_server_mio"
[[ -x "$MIO_BIN" ]] || fail "no echo_server_mio executable in cargo's output"
cargo test --quiet --all-features --test faults --no-run || fail "cargo test --test faults --no-run"
build_seconds=$((SECONDS - started))

# ---------------------------------------------------------------- run
started=$SECONDS
status=0
# In its own process group (setsid), so that ending it ends what it started.
setsid timeout "${FAULTS_TIMEOUT:-300}" env \
    FAULTS_NETNS="$NS_SERVER,$NS_CLIENT" \
    FAULTS_DEVS="$DEV_SERVER,$DEV_CLIENT" \
    FAULTS_ADDRS="$IP_SERVER,$IP_CLIENT" \
    FAULTS_MIO_BIN="$MIO_BIN" \
    cargo test --all-features --test faults -- --nocapture --test-threads=1 ${1:+"$1"} \
    >"$LOG" 2>&1 &
TEST_PID=$!
wait "$TEST_PID" || status=$?
TEST_PID=
test_seconds=$((SECONDS - started))
grep -v '^faults-row|' "$LOG" || true
# A harness that skipped would pass without testing.
! grep -q 'faults: .* skipped' "$LOG" || fail "the tests were skipped"
ran=$(sed -n 's/^test result: .*\. \([0-9]*\) passed;.*/\1/p' "$LOG" | tail -n 1)

echo
echo "faults: summary (each time bound plus 0.50 s of slack)"
{
    echo "case|adapter|side|bound|measured|pass"
    grep '^faults-row|' "$LOG" | cut -d'|' -f2-
} | awk -F'|' '
    { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR }
    END {
        for (r = 1; r <= n; r++) {
            line = ""
            for (i = 1; i <= 6; i++) line = line sprintf("%-" w[i] "s", cell[r, i]) (i < 6 ? "  " : "")
            print line
            if (r == 1) { line = ""; for (i = 1; i <= 6; i++) { d = ""; for (k = 0; k < w[i]; k++) d = d "-"; line = line d (i < 6 ? "  " : "") } print line }
        }
    }'
echo
echo "faults: build ${build_seconds} s, tests ${test_seconds} s, ${ran:-0} tests passed"
((status == 0)) || fail "cargo test --test faults exited with $status; log in $LOG"
grep -q '^faults-row|' "$LOG" || fail "no case reported"
! grep -q '^faults-row|.*|FAIL$' "$LOG" || fail "a case failed"
echo "faults: OK"
