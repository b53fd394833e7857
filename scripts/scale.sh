#!/usr/bin/env bash
# Scale: one server process holding thousands of concurrent WebSocket
# connections from a load generator in another process (benches/load's
# `scale`), with keepalive pings every second. See BENCHMARKS.md ("Scale")
# and scripts/README.md.
#
#   bash scripts/scale.sh            # the benchmark: 1,000 / 5,000 / 15,000, peers too
#   bash scripts/scale.sh --short    # the CI check: 2,000 connections, rfc6455 only
#
# For each stack, the server runs on core 0 and the generator on core 1:
#   - hold: connections opened in stages (SCALE_STAGES), 128 handshakes in
#     flight (handshakes per second, and the server's CPU per handshake);
#     at each stage, after SCALE_SETTLE s, SCALE_WINDOW s of keepalive alone
#     (the server's CPU per ping answered, from /proc/PID/stat) and its
#     VmRSS minus the one before the first connection, per connection; then
#     an echo round (every connection sends one 32-byte message and must
#     get it back). After the last stage SCALE_HOLD s with an echo round
#     every 5 s and VmRSS read every second.
#   - broadcast: SCALE_BROADCAST receivers on a fan-out server (with the
#     same keepalive for rfc6455), 20 messages of 1 KiB one at a time, each
#     timed from the producer's send until every receiver has it.
# Pass/fail (exit status 1): a connection dropped or failed, an echo or a
# broadcast message missing or wrong, or (keepalive on) a connection not
# pinged during the hold. Timings are reported, never judged.
#
# Environment (defaults: full | --short):
#   SCALE_STACKS      hold stacks [rfc6455-tokio rfc6455-tokio-nokeepalive tungstenite
#                     fastwebsockets tokio-websockets sockudo-ws uws | rfc6455-tokio]
#   SCALE_BROADCAST_STACKS  [rfc6455-tokio tungstenite fastwebsockets tokio-websockets
#                     sockudo-ws uws | rfc6455-tokio]
#   SCALE_STAGES      [1000,5000,15000 | 500,2000]
#   SCALE_BROADCAST   receivers [15000 | 2000]
#   SCALE_KEEPALIVE   rfc6455's --keepalive INTERVAL,TIMEOUT [1,5]
#   SCALE_SETTLE, SCALE_WINDOW, SCALE_HOLD   seconds [2, 5, 20 | 1, 2, 5]
#   SCALE_REPORT      [reports/scale.md]
# Loopback only; each run connects from four source addresses of its own in
# 127.0.0.0/8 (so runs never wait for each other's TIME_WAIT ports, and no
# address has more than a quarter of the connections). Every
# run is bounded (timeout) and everything started is killed on exit.
set -euo pipefail

SHORT=0
case ${1:-} in
    --short) SHORT=1 ;;
    "") ;;
    *)
        echo "usage: $0 [--short]" >&2
        exit 2
        ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
q() { if ((SHORT)); then echo "$2"; else echo "$1"; fi; }
PEERS="tungstenite fastwebsockets tokio-websockets sockudo-ws uws"
STACKS=${SCALE_STACKS:-$(q "rfc6455-tokio rfc6455-tokio-nokeepalive $PEERS" rfc6455-tokio)}
BROADCAST_STACKS=${SCALE_BROADCAST_STACKS:-$(q "rfc6455-tokio $PEERS" rfc6455-tokio)}
STAGES=${SCALE_STAGES:-$(q 1000,5000,15000 500,2000)}
BROADCAST=${SCALE_BROADCAST:-$(q 15000 2000)}
KEEPALIVE=${SCALE_KEEPALIVE:-1,5}
SETTLE=${SCALE_SETTLE:-$(q 2 1)}
WINDOW=${SCALE_WINDOW:-$(q 5 2)}
HOLD=${SCALE_HOLD:-$(q 20 5)}
REPORT=${SCALE_REPORT:-$ROOT/reports/scale.md}
WORK=$ROOT/reports/scale-work
BIN=$ROOT/benches/load/target/release
UWS=$ROOT/benches/load/uws
mkdir -p "$WORK" "$(dirname "$REPORT")"

MAX=${STAGES##*,}
((BROADCAST > MAX)) && MAX=$BROADCAST
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (($(ulimit -n) < MAX + 100)); then
    echo "ulimit -n $(ulimit -n) (hard $(ulimit -Hn)) is too low for $MAX connections per process" >&2
    exit 1
fi

# The server command for a stack (hold or broadcast); @ is the address.
server_cmd() {
    case $1/$2 in
        rfc6455-tokio/hold) echo "$BIN/echo_rfc6455_tokio @ --keepalive $KEEPALIVE" ;;
        rfc6455-tokio-nokeepalive/hold) echo "$BIN/echo_rfc6455_tokio @" ;;
        rfc6455-tokio/broadcast) echo "$BIN/fanout_rfc6455 @ --keepalive $KEEPALIVE" ;;
        tungstenite/hold) echo "$BIN/echo_tungstenite @" ;;
        tungstenite/broadcast) echo "$BIN/fanout_tungstenite @" ;;
        fastwebsockets/hold) echo "$BIN/echo_fastwebsockets @" ;;
        fastwebsockets/broadcast) echo "$BIN/fanout_fastwebsockets @" ;;
        tokio-websockets/hold) echo "$BIN/echo_tokio_websockets @" ;;
        tokio-websockets/broadcast) echo "$BIN/fanout_tokio_websockets @" ;;
        sockudo-ws/hold) echo "$BIN/echo_sockudo @" ;;
        sockudo-ws/broadcast) echo "$BIN/fanout_sockudo @" ;;
        uws/hold) echo "node $UWS/echo.mjs @" ;;
        uws/broadcast) echo "node $UWS/fanout.mjs @" ;;
        *)
            echo "no $2 server for stack $1" >&2
            exit 2
            ;;
    esac
}
for s in $STACKS; do server_cmd "$s" hold >/dev/null; done
for s in $BROADCAST_STACKS; do server_cmd "$s" broadcast >/dev/null; done

SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=
}
trap cleanup EXIT INT TERM

PORT=9520
SOURCE=20
start_server() { # stack mode; sets SERVER_PID, ADDR and FROM
    while :; do
        PORT=$((PORT + 1))
        ((PORT > 9599)) && PORT=9521
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
    done
    ADDR=127.0.0.1:$PORT
    # Four source addresses of its own per run, a quarter of the
    # connections each: connect's search for a free source port slows
    # down as one address's ports fill (a client-side cost).
    ((SOURCE > 240)) && SOURCE=20
    FROM=127.0.0.$((SOURCE + 1)),127.0.0.$((SOURCE + 2)),127.0.0.$((SOURCE + 3)),127.0.0.$((SOURCE + 4))
    SOURCE=$((SOURCE + 4))
    local log=$WORK/server-$1-$2.log cmd
    read -r -a cmd <<<"$(server_cmd "$1" "$2")"
    taskset -c 0 "${cmd[@]/#@/$ADDR}" >"$log" 2>&1 &
    SERVER_PID=$!
    # The banner is the event; the loop only bounds how long it may take.
    for _ in $(seq 200); do
        grep -q listening "$log" 2>/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "server $1 ($2) did not start; log:" >&2
    cat "$log" >&2
    exit 1
}
field() { sed -n "s/.*\<$1=\([^ ]*\).*/\1/p" | head -1; }

echo "building benches/load (release)..." >&2
if ((SHORT)) && [[ $STACKS == rfc6455-tokio && $BROADCAST_STACKS == rfc6455-tokio ]]; then
    # Only what the check runs, without the peers' dependencies.
    cargo build --release --quiet --manifest-path "$ROOT/benches/load/Cargo.toml" \
        --no-default-features --bin scale --bin echo_rfc6455_tokio --bin fanout_rfc6455
else
    cargo build --release --quiet --manifest-path "$ROOT/benches/load/Cargo.toml"
fi
if [[ " $STACKS $BROADCAST_STACKS " == *" uws "* && ! -d $UWS/node_modules/@trufflesuite/uws-js-unofficial ]]; then
    echo "installing uWebSockets.js (npm ci in benches/load/uws)..." >&2
    (cd "$UWS" && timeout 300 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || {
        echo "npm ci failed; leave uws out of SCALE_STACKS and SCALE_BROADCAST_STACKS" >&2
        exit 1
    }
fi

FAILURES=()
declare -A V
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for stack in $STACKS; do
    start_server "$stack" hold
    pings=()
    [[ $stack == rfc6455-tokio ]] && pings=(--pings)
    log=$WORK/hold-$stack.log
    echo "hold: $stack ($STAGES)..." >&2
    if ! taskset -c 1 timeout 900 "$BIN/scale" hold "$ADDR" --stages "$STAGES" "${pings[@]}" \
        --pid "$SERVER_PID" --bind "$FROM" --settle "$SETTLE" --window "$WINDOW" --hold "$HOLD" \
        >"$log" 2>"$WORK/hold-$stack.err"; then
        FAILURES+=("hold $stack")
        echo "hold against $stack FAILED; see $log and ${log%.log}.err:" >&2
        tail -5 "$WORK/hold-$stack.err" >&2
    fi
    cleanup
    cat "$log" >&2
    for n in ${STAGES//,/ }; do
        line=$(grep "^stage conns=$n " "$log" || true)
        for k in handshakes_per_s cpu_us_per_handshake rss_per_conn_b cpu_us_per_ping pings_per_s echo_round_ms connect_wait_share ping_wait_share; do
            V[$k/$n/$stack]=$(field "$k" <<<"$line")
        done
    done
    line=$(grep '^hold ' "$log" || true)
    for k in rss_per_conn_max_b echo_round_max_ms unpinged; do V[$k/$stack]=$(field "$k" <<<"$line"); done
    line=$(grep '^result ' "$log" || true)
    for k in dropped connect_failed wrong pings ping_gap_max_ms; do V[$k/$stack]=$(field "$k" <<<"$line"); done
done

for stack in $BROADCAST_STACKS; do
    start_server "$stack" broadcast
    pings=()
    [[ $stack == rfc6455-tokio ]] && pings=(--pings)
    log=$WORK/broadcast-$stack.log
    echo "broadcast: $stack ($BROADCAST receivers)..." >&2
    if ! taskset -c 1 timeout 600 "$BIN/scale" broadcast "$ADDR" "$BROADCAST" --size 1024 "${pings[@]}" \
        --pid "$SERVER_PID" --bind "$FROM" >"$log" 2>"$WORK/broadcast-$stack.err"; then
        FAILURES+=("broadcast $stack")
        echo "broadcast with $stack FAILED; see $log and ${log%.log}.err:" >&2
        tail -5 "$WORK/broadcast-$stack.err" >&2
    fi
    cleanup
    cat "$log" >&2
    line=$(grep '^broadcast ' "$log" || true)
    for k in handshakes_per_s cpu_us_per_handshake rss_per_conn_b ms_min ms_median ms_max server_cpu_ms_per_broadcast wait_share; do
        V[b$k/$stack]=$(field "$k" <<<"$line")
    done
    line=$(grep '^result ' "$log" || true)
    V[bdropped/$stack]=$(field dropped <<<"$line")
done

row() { # title key-prefix stage stacks
    local s
    printf "| %s |" "$1"
    for s in $4; do printf " %s |" "${V[$2$3/$s]:-n/a}"; done
    echo
}
header() { # stacks
    local s
    printf "| |"
    for s in $1; do printf " %s |" "$s"; done
    echo
    printf "|---|"
    for _ in $1; do printf -- "---:|"; done
    echo
}
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
    echo "# Scale: $STAGES connections held, keepalive $KEEPALIVE (rfc6455-tokio)"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores ($CPU_MODEL), $(uname -r), rustc $(rustc --version | cut -d' ' -f2), node $(node --version 2>/dev/null || echo n/a)."
    echo "Load average at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg). Server on core 0, generator on core 1."
    echo "\"wait share\": the share of the time the server's thread was runnable but waiting for a CPU (/proc/PID/schedstat): other processes on the machine."
    echo
    header "$STACKS"
    for n in ${STAGES//,/ }; do
        row "handshakes/s to $n" handshakes_per_s/ "$n" "$STACKS"
        row "server CPU µs per handshake to $n" cpu_us_per_handshake/ "$n" "$STACKS"
        row "wait share while connecting to $n" connect_wait_share/ "$n" "$STACKS"
    done
    for n in ${STAGES//,/ }; do row "RSS B/conn at $n" rss_per_conn_b/ "$n" "$STACKS"; done
    row "RSS B/conn, highest in the hold" rss_per_conn_max_b "" "$STACKS"
    for n in ${STAGES//,/ }; do
        row "pings/s at $n" pings_per_s/ "$n" "$STACKS"
        row "server CPU µs per ping at $n" cpu_us_per_ping/ "$n" "$STACKS"
        row "wait share while pinging at $n" ping_wait_share/ "$n" "$STACKS"
    done
    for n in ${STAGES//,/ }; do row "echo round ms at $n" echo_round_ms/ "$n" "$STACKS"; done
    row "echo round ms, slowest in the hold" echo_round_max_ms "" "$STACKS"
    row "longest gap between two pings, ms" ping_gap_max_ms "" "$STACKS"
    row "pings answered" pings "" "$STACKS"
    row "connections dropped" dropped "" "$STACKS"
    row "connections failed to open" connect_failed "" "$STACKS"
    row "wrong echoes" wrong "" "$STACKS"
    row "connections not pinged in the hold" unpinged "" "$STACKS"
    echo
    echo "## Broadcast: $BROADCAST receivers, 20 messages of 1 KiB, one at a time"
    echo
    header "$BROADCAST_STACKS"
    row "handshakes/s" bhandshakes_per_s "" "$BROADCAST_STACKS"
    row "server CPU µs per handshake" bcpu_us_per_handshake "" "$BROADCAST_STACKS"
    row "RSS B/conn" brss_per_conn_b "" "$BROADCAST_STACKS"
    row "ms to reach all, fastest" bms_min "" "$BROADCAST_STACKS"
    row "ms to reach all, median" bms_median "" "$BROADCAST_STACKS"
    row "ms to reach all, slowest" bms_max "" "$BROADCAST_STACKS"
    row "server CPU ms per broadcast" bserver_cpu_ms_per_broadcast "" "$BROADCAST_STACKS"
    row "wait share" bwait_share "" "$BROADCAST_STACKS"
    row "receivers dropped" bdropped "" "$BROADCAST_STACKS"
    if ((${#FAILURES[@]})); then
        echo
        echo "FAILED: ${FAILURES[*]} (logs in reports/scale-work/)"
    fi
} >"$REPORT"
cat "$REPORT"
echo "(written to ${REPORT#"$ROOT"/})" >&2
if ((${#FAILURES[@]})); then
    echo "${#FAILURES[@]} run(s) failed: ${FAILURES[*]}" >&2
    exit 1
fi
echo "scale: every connection held and answering, none dropped"
