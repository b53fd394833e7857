#!/usr/bin/env bash
# End-to-end echo load and idle memory per connection: rfc6455 (tokio and
# blocking examples) against tokio-tungstenite, fastwebsockets,
# tokio-websockets and a raw TCP echo. See BENCHMARKS.md, "End-to-end echo load".
#
#   bash scripts/echo_load.sh [all|echo|idle]
#
# Environment: ECHO_LOAD_DURATION (5 s), ECHO_LOAD_WARMUP (1 s), ECHO_LOAD_ROUNDS
# (1; each case is run that many times, stacks interleaved, best kept),
# ECHO_LOAD_STACKS (space-separated subset of the names below), IDLE_CONNS (1000).
# Loopback only; the server runs on core 0 (taskset -c 0), the load on core 1.
# Every run is bounded (timeout) and everything started is killed on exit.
# Writes reports/echo_load.md (and reports/echo_load-work/ logs).
set -euo pipefail

MODE=${1:-all}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${ECHO_LOAD_DURATION:-5}
WARMUP=${ECHO_LOAD_WARMUP:-1}
ROUNDS=${ECHO_LOAD_ROUNDS:-1}
IDLE_CONNS=${IDLE_CONNS:-1000}
REPORT=$ROOT/reports/echo_load.md
WORK=$ROOT/reports/echo_load-work
BIN=$ROOT/benches/load/target/release
mkdir -p "$WORK"
# Hard bound of one load run: warm-up + measurement + a minute of setup slack.
RUN_LIMIT=$(awk -v w="$WARMUP" -v d="$DURATION" 'BEGIN { printf "%d", w + d + 60 }')

# name binary port
ALL_STACKS="rfc6455-tokio rfc6455-blocking tungstenite fastwebsockets tokio-websockets raw-tcp"
STACKS=${ECHO_LOAD_STACKS:-$ALL_STACKS}
binary() {
    case $1 in
        rfc6455-tokio) echo echo_rfc6455_tokio ;;
        rfc6455-blocking) echo echo_rfc6455_blocking ;;
        tungstenite) echo echo_tungstenite ;;
        fastwebsockets) echo echo_fastwebsockets ;;
        tokio-websockets) echo echo_tokio_websockets ;;
        raw-tcp) echo echo_raw_tcp ;;
        *) echo "unknown stack $1" >&2; exit 2 ;;
    esac
}
CASES=("100 20" "10 1024" "10 16384" "4 1048576")
case_name() { # conns size
    local s=$2
    if ((s >= 1048576)); then s="$((s / 1048576)) MiB"; elif ((s >= 1024)); then s="$((s / 1024)) KiB"; else s="$s B"; fi
    echo "$1 × $s"
}

# Idle connections need two descriptors each (client and server side).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (($(ulimit -n) < IDLE_CONNS + 100)); then
    echo "ulimit -n $(ulimit -n) is too low for IDLE_CONNS=$IDLE_CONNS" >&2
    exit 1
fi

SERVER_PID=
cleanup() { if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi; SERVER_PID=; }
trap cleanup EXIT INT TERM

PORT=9311
start_server() { # stack; sets SERVER_PID and ADDR
    PORT=$((PORT + 1))
    ((PORT > 9399)) && PORT=9312
    ADDR=127.0.0.1:$PORT
    local log=$WORK/server-$1.log
    taskset -c 0 "$BIN/$(binary "$1")" "$ADDR" >"$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        grep -q listening "$log" 2>/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "server $1 did not start; log:" >&2
    cat "$log" >&2
    exit 1
}
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }

echo "building benches/load (release)..." >&2
cargo build --release --quiet --manifest-path "$ROOT/benches/load/Cargo.toml"

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
    echo "# End-to-end echo load"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($CPU), $(uname -r), rustc $(rustc --version | cut -d' ' -f2)."
    echo "Load average at start: $(cut -d' ' -f1-3 /proc/loadavg). Server on core 0, load on core 1;"
    echo "${WARMUP} s warm-up then ${DURATION} s measured; best of ${ROUNDS} round(s), stacks interleaved."
    echo
} >"$REPORT"

declare -A RATE CPU
if [[ $MODE == all || $MODE == echo ]]; then
    for c in "${CASES[@]}"; do
        read -r conns size <<<"$c"
        for ((round = 1; round <= ROUNDS; round++)); do
            for stack in $STACKS; do
                raw=()
                [[ $stack == raw-tcp ]] && raw=(--raw)
                start_server "$stack"
                out=$(taskset -c 1 timeout "$RUN_LIMIT" "$BIN/load" echo "$ADDR" "$conns" "$size" \
                    "${raw[@]}" --warmup "$WARMUP" --duration "$DURATION" --pid "$SERVER_PID" \
                    2>>"$WORK/load-$stack.log") || {
                    echo "load against $stack failed ($(case_name "$conns" "$size")); see $WORK/load-$stack.log" >&2
                    out="msgs_per_s=0"
                }
                cleanup
                r=$(field msgs_per_s <<<"$out")
                cpu=$(field server_cpu_us_per_msg <<<"$out")
                echo "$(case_name "$conns" "$size") $stack round $round: $r msgs/s, server ${cpu:-?} µs CPU/msg" >&2
                key="$conns/$size/$stack"
                if [[ -z ${RATE[$key]:-} ]] || ((r > RATE[$key])); then RATE[$key]=$r; fi
                if [[ -n $cpu ]] && { [[ -z ${CPU[$key]:-} ]] || awk -v a="$cpu" -v b="${CPU[$key]}" 'BEGIN { exit !(a < b) }'; }; then
                    CPU[$key]=$cpu
                fi
            done
        done
    done
    {
        echo "## Messages per second (one message in flight per connection)"
        echo
        printf "| case |"; for s in $STACKS; do printf " %s |" "$s"; done; echo
        printf "|---|"; for _ in $STACKS; do printf -- "---:|"; done; echo
        for c in "${CASES[@]}"; do
            read -r conns size <<<"$c"
            printf "| %s |" "$(case_name "$conns" "$size")"
            for s in $STACKS; do printf " %s |" "${RATE[$conns/$size/$s]}"; done
            echo
        done
        if [[ " $STACKS " == *" rfc6455-tokio "* ]]; then
            echo
            echo "## rfc6455-tokio ÷ each stack (above 1.00: rfc6455-tokio is faster)"
            echo
            printf "| case |"; for s in $STACKS; do [[ $s == rfc6455-tokio ]] || printf " %s |" "$s"; done; echo
            printf "|---|"; for s in $STACKS; do [[ $s == rfc6455-tokio ]] || printf -- "---:|"; done; echo
            for c in "${CASES[@]}"; do
                read -r conns size <<<"$c"
                printf "| %s |" "$(case_name "$conns" "$size")"
                ours=${RATE[$conns/$size/rfc6455-tokio]}
                for s in $STACKS; do
                    [[ $s == rfc6455-tokio ]] && continue
                    theirs=${RATE[$conns/$size/$s]}
                    if ((theirs > 0)); then printf " %s |" "$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')"; else printf " n/a |"; fi
                done
                echo
            done
        fi
        echo
        echo "## Server CPU per echo (µs user + system over the measured window, lowest of the rounds)"
        echo
        echo "Less sensitive than msgs/s to other processes on the cores. Last column group: each peer ÷ rfc6455-tokio (above 1.00: rfc6455-tokio uses less CPU)."
        echo
        printf "| case |"; for s in $STACKS; do printf " %s |" "$s"; done
        for s in $STACKS; do [[ $s == rfc6455-tokio ]] || printf " %s ÷ ours |" "$s"; done; echo
        printf "|---|"; for _ in $STACKS; do printf -- "---:|"; done
        for s in $STACKS; do [[ $s == rfc6455-tokio ]] || printf -- "---:|"; done; echo
        for c in "${CASES[@]}"; do
            read -r conns size <<<"$c"
            printf "| %s |" "$(case_name "$conns" "$size")"
            for s in $STACKS; do printf " %s |" "${CPU[$conns/$size/$s]:-n/a}"; done
            ours=${CPU[$conns/$size/rfc6455-tokio]:-}
            for s in $STACKS; do
                [[ $s == rfc6455-tokio ]] && continue
                theirs=${CPU[$conns/$size/$s]:-}
                if [[ -n $ours && -n $theirs ]]; then printf " %s |" "$(awk -v a="$theirs" -v b="$ours" 'BEGIN { printf "%.2f", a / b }')"; else printf " n/a |"; fi
            done
            echo
        done
        echo
    } >>"$REPORT"
fi

if [[ $MODE == all || $MODE == idle ]]; then
    declare -A MEM
    IDLE_STACKS=
    for stack in $STACKS; do [[ $stack == raw-tcp ]] || IDLE_STACKS+="$stack "; done
    for size in 20 65536; do
        for stack in $IDLE_STACKS; do
            start_server "$stack"
            out=$(taskset -c 1 timeout 120 "$BIN/load" idle "$ADDR" "$IDLE_CONNS" "$size" --pid "$SERVER_PID" \
                2>>"$WORK/idle-$stack.log") || {
                echo "idle probe against $stack failed; see $WORK/idle-$stack.log" >&2
                out="kib_per_conn=n/a"
            }
            cleanup
            MEM[$size/$stack]=$(field kib_per_conn <<<"$out")
            echo "idle $IDLE_CONNS conns after one $size-byte echo, $stack: ${MEM[$size/$stack]} KiB/conn ($out)" >&2
        done
    done
    {
        echo "## Server RSS per idle upgraded connection (KiB; $IDLE_CONNS connections, VmRSS after − before)"
        echo
        printf "| each connection first echoed |"; for s in $IDLE_STACKS; do printf " %s |" "$s"; done; echo
        printf "|---|"; for _ in $IDLE_STACKS; do printf -- "---:|"; done; echo
        for size in 20 65536; do
            if ((size == 20)); then printf "| one 20 B message |"; else printf "| one 64 KiB message |"; fi
            for s in $IDLE_STACKS; do printf " %s |" "${MEM[$size/$s]}"; done
            echo
        done
        echo
    } >>"$REPORT"
fi

echo "Load average at end: $(cut -d' ' -f1-3 /proc/loadavg)." >>"$REPORT"
cat "$REPORT"
echo "(written to ${REPORT#"$ROOT"/})" >&2
