#!/usr/bin/env bash
# End-to-end load over loopback, rfc6455 side by side with other stacks:
# echo load, idle memory per connection, and broadcast fan-out. See
# BENCHMARKS.md ("End-to-end echo load", "Broadcast fan-out") and
# scripts/README.md.
#
#   bash scripts/echo_load.sh [all|echo|idle|fanout]
#
# Stacks (ECHO_LOAD_STACKS, space-separated; default all of them):
#   rfc6455-tokio rfc6455-blocking tungstenite fastwebsockets tokio-websockets
#   sockudo-ws uws raw-tcp
# (rfc6455-blocking and raw-tcp have no fan-out server; raw-tcp is not in idle.)
#
# Environment (defaults in brackets; ECHO_LOAD_QUICK=1 switches to the second
# value, for a smoke run):
#   ECHO_LOAD_DURATION   measured seconds per run [5 | 1]
#   ECHO_LOAD_WARMUP     warm-up seconds per run [1 | 0.5]
#   ECHO_LOAD_ROUNDS     each case run that many times, stacks interleaved,
#                        best kept [1]
#   ECHO_LOAD_CASES      echo cases, CONNSxSIZE [100x20 10x1024 10x16384 4x1048576]
#   IDLE_CONNS           idle-memory connections [1000 | 200]
#   IDLE_SIZES           message each idle connection first echoes [20 65536]
#   FANOUT_CASES         fan-out cases, RECEIVERSxSIZE
#                        [1000x1024 1000x100000 5000x1024 5000x100000 | 1000x1024 1000x100000]
#   FANOUT_STALL         then every tenth receiver stops reading: at least
#                        this many seconds [6 | 2] ...
#   FANOUT_STALL_MIB     ... and until this many MiB went towards each of
#                        them [16 | 8] ...
#   FANOUT_STALL_MAX     ... but at most this many seconds [30 | 10]
#   FANOUT_WINDOW        producer messages in flight [32 KiB ÷ size, 2 to 8]
#   ECHO_LOAD_REPORT     report file [reports/echo_load.md]
# Loopback only; the server runs on core 0 (taskset -c 0), the load on core 1.
# Every run is bounded (timeout) and everything started is killed on exit.
# A failed run is reported and the others go on; the exit status is then 1.
# Logs go to reports/echo_load-work/.
set -euo pipefail

MODE=${1:-all}
case $MODE in all | echo | idle | fanout) ;; *)
    echo "usage: $0 [all|echo|idle|fanout]" >&2
    exit 2
    ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=${ECHO_LOAD_QUICK:-0}
q() { if [[ $QUICK == 1 ]]; then echo "$2"; else echo "$1"; fi; }
DURATION=${ECHO_LOAD_DURATION:-$(q 5 1)}
WARMUP=${ECHO_LOAD_WARMUP:-$(q 1 0.5)}
ROUNDS=${ECHO_LOAD_ROUNDS:-1}
IDLE_CONNS=${IDLE_CONNS:-$(q 1000 200)}
IDLE_SIZES=${IDLE_SIZES:-20 65536}
read -r -a CASES <<<"${ECHO_LOAD_CASES:-100x20 10x1024 10x16384 4x1048576}"
read -r -a FANOUT_CASES <<<"${FANOUT_CASES:-$(q "1000x1024 1000x100000 5000x1024 5000x100000" "1000x1024 1000x100000")}"
FANOUT_STALL=${FANOUT_STALL:-$(q 6 2)}
FANOUT_STALL_MIB=${FANOUT_STALL_MIB:-$(q 16 8)}
FANOUT_STALL_MAX=${FANOUT_STALL_MAX:-$(q 30 10)}
FANOUT_WINDOW=${FANOUT_WINDOW:-}
REPORT=${ECHO_LOAD_REPORT:-$ROOT/reports/echo_load.md}
WORK=$ROOT/reports/echo_load-work
BIN=$ROOT/benches/load/target/release
UWS=$ROOT/benches/load/uws
mkdir -p "$WORK" "$(dirname "$REPORT")"
# Hard bounds of one run: its phases plus setup slack.
RUN_LIMIT=$(awk -v w="$WARMUP" -v d="$DURATION" 'BEGIN { printf "%d", w + d + 60 }')
FANOUT_LIMIT=$(awk -v w="$WARMUP" -v d="$DURATION" -v s="$FANOUT_STALL" -v m="$FANOUT_STALL_MAX" \
    'BEGIN { printf "%d", w + d + (s > m ? s : m) + 150 }')

ALL_STACKS="rfc6455-tokio rfc6455-blocking tungstenite fastwebsockets tokio-websockets sockudo-ws uws raw-tcp"
STACKS=${ECHO_LOAD_STACKS:-$ALL_STACKS}
# The server command for a stack in a mode (echo, idle or fanout); empty if
# the stack has none for that mode. The listen address is appended.
server_cmd() {
    case $1/$2 in
        rfc6455-tokio/fanout) echo "$BIN/fanout_rfc6455" ;;
        rfc6455-tokio/*) echo "$BIN/echo_rfc6455_tokio" ;;
        rfc6455-blocking/fanout) ;;
        rfc6455-blocking/*) echo "$BIN/echo_rfc6455_blocking" ;;
        tungstenite/fanout) echo "$BIN/fanout_tungstenite" ;;
        tungstenite/*) echo "$BIN/echo_tungstenite" ;;
        fastwebsockets/fanout) echo "$BIN/fanout_fastwebsockets" ;;
        fastwebsockets/*) echo "$BIN/echo_fastwebsockets" ;;
        tokio-websockets/fanout) echo "$BIN/fanout_tokio_websockets" ;;
        tokio-websockets/*) echo "$BIN/echo_tokio_websockets" ;;
        sockudo-ws/fanout) echo "$BIN/fanout_sockudo" ;;
        sockudo-ws/*) echo "$BIN/echo_sockudo" ;;
        uws/fanout) echo "node $UWS/fanout.mjs" ;;
        uws/*) echo "node $UWS/echo.mjs" ;;
        raw-tcp/echo) echo "$BIN/echo_raw_tcp" ;;
        raw-tcp/*) ;;
        *)
            echo "unknown stack $1 (known: $ALL_STACKS)" >&2
            exit 2
            ;;
    esac
}
stacks_for() { # mode
    local s out=
    for s in $STACKS; do [[ -n $(server_cmd "$s" "$1") ]] && out+="$s "; done
    echo "$out"
}
for s in $STACKS; do server_cmd "$s" echo >/dev/null; done

human_size() {
    local s=$1
    if ((s >= 1048576 && s % 1048576 == 0)); then echo "$((s / 1048576)) MiB"
    elif ((s >= 1024 && s % 1024 == 0)); then echo "$((s / 1024)) KiB"
    elif ((s >= 1000 && s % 1000 == 0)); then echo "$((s / 1000)) KB"
    else echo "$s B"; fi
}
case_name() { echo "$1 × $(human_size "$2")"; } # conns size
split_case() { # CONNSxSIZE -> "conns size"
    if [[ ! $1 =~ ^([0-9]+)x([0-9]+)$ ]]; then
        echo "bad case '$1' (want CONNSxSIZE, e.g. 100x20)" >&2
        exit 2
    fi
    echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
}

# Each connection takes a descriptor in the server and one in the load.
NEED_FDS=0
if [[ $MODE == all || $MODE == idle ]]; then NEED_FDS=$IDLE_CONNS; fi
if [[ $MODE == all || $MODE == fanout ]]; then
    for c in "${FANOUT_CASES[@]}"; do
        read -r n _ <<<"$(split_case "$c")"
        ((n > NEED_FDS)) && NEED_FDS=$n
    done
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (($(ulimit -n) < NEED_FDS + 100)); then
    echo "ulimit -n $(ulimit -n) (hard $(ulimit -Hn)) is too low for $NEED_FDS connections" >&2
    exit 1
fi

SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=
}
trap cleanup EXIT INT TERM

PORT=9311
start_server() { # stack mode; sets SERVER_PID and ADDR
    # The next port nothing listens on (other tools may hold some).
    while :; do
        PORT=$((PORT + 1))
        ((PORT > 9399)) && PORT=9312
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
    done
    ADDR=127.0.0.1:$PORT
    local log=$WORK/server-$1-$2.log cmd
    read -r -a cmd <<<"$(server_cmd "$1" "$2")"
    taskset -c 0 "${cmd[@]}" "$ADDR" >"$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 200); do
        grep -q listening "$log" 2>/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "server $1 ($2) did not start; log:" >&2
    cat "$log" >&2
    exit 1
}
field() { sed -n "s/.*\<$1=\([^ ]*\).*/\1/p"; }
lower() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

echo "building benches/load (release)..." >&2
cargo build --release --quiet --manifest-path "$ROOT/benches/load/Cargo.toml"
if [[ " $STACKS " == *" uws "* ]]; then
    if [[ ! -d $UWS/node_modules/@trufflesuite/uws-js-unofficial ]]; then
        echo "installing uWebSockets.js (npm ci in benches/load/uws)..." >&2
        (cd "$UWS" && timeout 300 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || {
            echo "npm ci failed; leave uws out of ECHO_LOAD_STACKS to run without it" >&2
            exit 1
        }
    fi
fi

CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
    echo "# End-to-end load: echo, idle memory, broadcast fan-out"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($CPU_MODEL), $(uname -r), rustc $(rustc --version | cut -d' ' -f2), node $(node --version 2>/dev/null || echo n/a)."
    echo "Load average at start: $(cut -d' ' -f1-3 /proc/loadavg). Server on core 0, load on core 1;"
    echo "${WARMUP} s warm-up then ${DURATION} s measured; best of ${ROUNDS} round(s), stacks interleaved."
    echo
} >"$REPORT"

# A table: first column the cases, then one column per stack, then one
# "÷ ours" column per peer (rfc6455-tokio's figure over theirs with
# ratio=ours/theirs, or theirs over ours with ratio=theirs/ours).
#   table TITLE CASES_ARRAY_NAME STACKS VALUES_ARRAY_NAME KEY_PREFIX RATIO
# (RATIO: ours/theirs, theirs/ours or none; an empty TITLE prints none).
table() {
    local -n cases_ref=$2 values=$4
    local stacks=$3 ratio=$6 c s n size ours theirs with_ratio=0
    [[ " $stacks " == *" rfc6455-tokio "* && $ratio != none ]] && with_ratio=1
    if [[ -n $1 ]]; then
        echo "$1"
        echo
    fi
    printf "| case |"
    for s in $stacks; do printf " %s |" "$s"; done
    if ((with_ratio)); then for s in $stacks; do [[ $s == rfc6455-tokio ]] || printf " %s ÷ ours |" "$s"; done; fi
    echo
    printf "|---|"
    for _ in $stacks; do printf -- "---:|"; done
    if ((with_ratio)); then for s in $stacks; do [[ $s == rfc6455-tokio ]] || printf -- "---:|"; done; fi
    echo
    for c in "${cases_ref[@]}"; do
        read -r n size <<<"$(split_case "$c")"
        printf "| %s |" "$(case_name "$n" "$size")"
        for s in $stacks; do printf " %s |" "${values[$5$n/$size/$s]:-n/a}"; done
        if ((with_ratio)); then
            ours=${values[$5$n/$size/rfc6455-tokio]:-}
            for s in $stacks; do
                [[ $s == rfc6455-tokio ]] && continue
                theirs=${values[$5$n/$size/$s]:-}
                if [[ -n $ours && -n $theirs && $ours != n/a && $theirs != n/a ]] && lower 0 "$ours" && lower 0 "$theirs"; then
                    if [[ $ratio == theirs/ours ]]; then
                        printf " %s |" "$(awk -v a="$theirs" -v b="$ours" 'BEGIN { printf "%.2f", a / b }')"
                    else
                        printf " %s |" "$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')"
                    fi
                else
                    printf " n/a |"
                fi
            done
        fi
        echo
    done
    echo
}

# Runs that failed (reported, the others go on; the exit status is 1).
FAILURES=()

# Keeps the best (highest or lowest) value of a key over rounds.
declare -A V
keep() { # key value high|low
    [[ -z $2 ]] && return 0
    local old=${V[$1]:-}
    if [[ -z $old || $old == n/a ]] || { [[ $3 == high ]] && lower "$old" "$2"; } || { [[ $3 == low ]] && lower "$2" "$old"; }; then
        V[$1]=$2
    fi
}

if [[ $MODE == all || $MODE == echo ]]; then
    ECHO_STACKS=$(stacks_for echo)
    for c in "${CASES[@]}"; do
        read -r conns size <<<"$(split_case "$c")"
        for ((round = 1; round <= ROUNDS; round++)); do
            for stack in $ECHO_STACKS; do
                raw=()
                [[ $stack == raw-tcp ]] && raw=(--raw)
                start_server "$stack" echo
                out=$(taskset -c 1 timeout "$RUN_LIMIT" "$BIN/load" echo "$ADDR" "$conns" "$size" \
                    "${raw[@]}" --warmup "$WARMUP" --duration "$DURATION" --pid "$SERVER_PID" \
                    2>>"$WORK/load-$stack.log") || {
                    echo "load against $stack failed ($(case_name "$conns" "$size")); see $WORK/load-$stack.log" >&2
                    FAILURES+=("echo $(case_name "$conns" "$size") $stack")
                    out="msgs_per_s=0"
                }
                cleanup
                r=$(field msgs_per_s <<<"$out")
                cpu=$(field server_cpu_us_per_msg <<<"$out")
                echo "echo $(case_name "$conns" "$size") $stack round $round: $r msgs/s, server ${cpu:-?} µs CPU/msg" >&2
                keep "rate$conns/$size/$stack" "$r" high
                keep "cpu$conns/$size/$stack" "$cpu" low
            done
        done
    done
    {
        table "## Echo: messages per second (one message in flight per connection; last columns: rfc6455-tokio ÷ each, above 1.00: rfc6455-tokio is faster)" \
            CASES "$ECHO_STACKS" V rate ours/theirs
        echo "## Echo: server CPU per echo (µs user + system over the measured window, lowest of the rounds)"
        echo
        echo "Less sensitive than msgs/s to other processes on the cores. Last columns: each peer ÷ rfc6455-tokio (above 1.00: rfc6455-tokio uses less CPU)."
        echo
        table "" CASES "$ECHO_STACKS" V cpu theirs/ours
    } >>"$REPORT"
fi

if [[ $MODE == all || $MODE == idle ]]; then
    IDLE_STACKS=$(stacks_for idle)
    # shellcheck disable=SC2034 # read by table() through a nameref
    read -r -a IDLE_CASES <<<"$(for s in $IDLE_SIZES; do printf '%sx%s ' "$IDLE_CONNS" "$s"; done)"
    for size in $IDLE_SIZES; do
        for stack in $IDLE_STACKS; do
            start_server "$stack" idle
            out=$(taskset -c 1 timeout 120 "$BIN/load" idle "$ADDR" "$IDLE_CONNS" "$size" --pid "$SERVER_PID" \
                2>>"$WORK/idle-$stack.log") || {
                echo "idle probe against $stack failed; see $WORK/idle-$stack.log" >&2
                FAILURES+=("idle $size $stack")
                out="kib_per_conn=n/a"
            }
            cleanup
            V[mem$IDLE_CONNS/$size/$stack]=$(field kib_per_conn <<<"$out")
            echo "idle $IDLE_CONNS conns after one $size-byte echo, $stack: ${V[mem$IDLE_CONNS/$size/$stack]} KiB/conn ($out)" >&2
        done
    done
    table "## Server RSS per idle upgraded connection (KiB; connections × the message each first echoed; VmRSS after − before, ÷ connections)" \
        IDLE_CASES "$IDLE_STACKS" V mem none >>"$REPORT"
fi

if [[ $MODE == all || $MODE == fanout ]]; then
    FANOUT_STACKS=$(stacks_for fanout)
    for c in "${FANOUT_CASES[@]}"; do
        read -r receivers size <<<"$(split_case "$c")"
        for ((round = 1; round <= ROUNDS; round++)); do
            for stack in $FANOUT_STACKS; do
                start_server "$stack" fanout
                out=$(taskset -c 1 timeout "$FANOUT_LIMIT" "$BIN/fanout" "$ADDR" "$receivers" "$size" \
                    --warmup "$WARMUP" --duration "$DURATION" --stall "$FANOUT_STALL" \
                    --stall-mib "$FANOUT_STALL_MIB" --stall-max "$FANOUT_STALL_MAX" \
                    ${FANOUT_WINDOW:+--window "$FANOUT_WINDOW"} --pid "$SERVER_PID" 2>>"$WORK/fanout-$stack.log") || {
                    echo "fan-out against $stack failed ($(case_name "$receivers" "$size")); see $WORK/fanout-$stack.log" >&2
                    FAILURES+=("fanout $(case_name "$receivers" "$size") $stack")
                    out="msgs_per_s=0"
                }
                cleanup
                echo "$out" >>"$WORK/fanout-$stack.log"
                r=$(field msgs_per_s <<<"$out")
                cpu=$(field server_cpu_us_per_msg <<<"$out")
                echo "fanout $(case_name "$receivers" "$size") $stack round $round: $r deliveries/s, server ${cpu:-?} µs CPU/delivery," \
                    "ratio $(field delivery_ratio <<<"$out"), load CPU $(field load_cpu_share <<<"$out")," \
                    "stalled RSS $(field rss_stall_start_kib <<<"$out") → $(field rss_stall_end_kib <<<"$out") KiB" >&2
                k=$receivers/$size/$stack
                keep "frate$k" "$r" high
                keep "fcpu$k" "$cpu" low
                # The rest from the round with the best rate.
                if [[ ${V[frate$k]} == "$r" ]]; then
                    V[fratio$k]=$(field delivery_ratio <<<"$out")
                    V[fload$k]=$(field load_cpu_share <<<"$out")
                    V[ftimeouts$k]=$(field window_timeouts <<<"$out")
                    start=$(field rss_stall_start_kib <<<"$out")
                    end=$(field rss_stall_end_kib <<<"$out")
                    growth=$(field rss_stall_growth_kib <<<"$out")
                    V[frss$k]=$([[ -n $start ]] && awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f → %.1f MiB", a / 1024, b / 1024 }')
                    V[fgrowth$k]=$growth
                    V[fsratio$k]=$(field stall_delivery_ratio <<<"$out")
                    V[fsmib$k]=$(field stall_sent_mib <<<"$out")
                    V[fwindow$k]=$(field window <<<"$out")
                fi
            done
        done
    done
    {
        echo "## Broadcast fan-out"
        echo
        echo "One producer (path /produce) sends binary messages, at most W in flight (it waits until every reading receiver has one of the last W; W = ${FANOUT_WINDOW:-32 KiB ÷ message size, between 2 and 8}); the server relays each to every receiver (path /). Receivers count whole messages, check the first byte for byte and the sequence numbers. Then every tenth receiver stops reading (receive buffer fixed at 256 KiB) for at least ${FANOUT_STALL} s and until ${FANOUT_STALL_MIB} MiB went towards each of them, at most ${FANOUT_STALL_MAX} s."
        echo
        table "### Messages delivered per second (summed over receivers; last columns: rfc6455-tokio ÷ each)" \
            FANOUT_CASES "$FANOUT_STACKS" V frate ours/theirs
        table "### Server CPU per delivered message (µs, lowest of the rounds; last columns: each ÷ rfc6455-tokio)" \
            FANOUT_CASES "$FANOUT_STACKS" V fcpu theirs/ours
        table "### Delivered ÷ (delivered + skipped, from sequence gaps) while measured (below 1: the server dropped messages)" \
            FANOUT_CASES "$FANOUT_STACKS" V fratio none
        table "### Load generator's share of its core (near 1.00: the load, not the server, was the limit)" \
            FANOUT_CASES "$FANOUT_STACKS" V fload none
        table "### Messages in flight (W)" \
            FANOUT_CASES "$FANOUT_STACKS" V fwindow none
        table "### Producer waits that timed out (1 s each; should be 0)" \
            FANOUT_CASES "$FANOUT_STACKS" V ftimeouts none
        table "### MiB sent towards each receiver that stopped reading (below ~6 the kernel's socket buffers may have taken it all, and the rows below say little)" \
            FANOUT_CASES "$FANOUT_STACKS" V fsmib none
        table "### Server RSS while a tenth of the receivers do not read: first → last sample" \
            FANOUT_CASES "$FANOUT_STACKS" V frss none
        table "### RSS growth over the second half of that phase (KiB; about 0 when memory per stuck receiver is bounded)" \
            FANOUT_CASES "$FANOUT_STACKS" V fgrowth none
        table "### Delivered ÷ (delivered + skipped) to the receivers still reading, in that phase" \
            FANOUT_CASES "$FANOUT_STACKS" V fsratio none
    } >>"$REPORT"
fi

{
    echo "Load average at end: $(cut -d' ' -f1-3 /proc/loadavg)."
    if ((${#FAILURES[@]})); then
        echo
        echo "FAILED runs (figures 0 or n/a; logs in reports/echo_load-work/):"
        printf -- '- %s\n' "${FAILURES[@]}"
    fi
} >>"$REPORT"
cat "$REPORT"
echo "(written to ${REPORT#"$ROOT"/})" >&2
if ((${#FAILURES[@]})); then
    echo "${#FAILURES[@]} run(s) failed: ${FAILURES[*]}" >&2
    exit 1
fi
