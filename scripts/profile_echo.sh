#!/usr/bin/env bash
# Instructions and system calls per echo, server side, for each stack's echo
# server under the echo load (the servers and load generator of
# benches/load): the repeatable counterpart of scripts/echo_load.sh's timings.
#
#   bash scripts/profile_echo.sh [CONNSxSIZE ...]     (default: 100x20 10x1024 10x16384 4x1048576)
#
# Environment:
#   PROFILE_STACKS   stacks to profile [rfc6455-tokio tokio-websockets fastwebsockets tungstenite sockudo-ws]
#   PROFILE_SECONDS  measured seconds per run [4]
#
# - Instructions: valgrind --tool=callgrind, instrumentation switched on
#   once the server listens (startup excluded), the total divided by the
#   echoes the load generator counted. glibc's memcpy is told not to use
#   `rep movsb` (GLIBC_TUNABLES), which callgrind counts once per byte, so
#   that copies count as the vector loop they would otherwise run. User
#   space only: the kernel's work per system call is not in these counts.
# - System calls: strace -c -f on the running server, divided by the echoes.
# Loopback only; every run bounded by timeouts. Prints a Markdown table.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
read -r -a CASES <<<"${*:-100x20 10x1024 10x16384 4x1048576}"
read -r -a STACKS <<<"${PROFILE_STACKS:-rfc6455-tokio tokio-websockets fastwebsockets tungstenite sockudo-ws}"
SECS=${PROFILE_SECONDS:-4}
BIN=$ROOT/benches/load/target/release
WORK=$ROOT/reports/profile_echo
mkdir -p "$WORK"
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
command -v strace >/dev/null || { echo "strace is needed (apt-get install strace)" >&2; exit 2; }
(cd "$ROOT/benches/load" && cargo build --release --quiet)

server_bin() {
    case $1 in
    rfc6455-tokio) echo "$BIN/echo_rfc6455_tokio" ;;
    tokio-websockets) echo "$BIN/echo_tokio_websockets" ;;
    fastwebsockets) echo "$BIN/echo_fastwebsockets" ;;
    tungstenite) echo "$BIN/echo_tungstenite" ;;
    sockudo-ws) echo "$BIN/echo_sockudo" ;;
    *) echo "unknown stack $1" >&2; exit 2 ;;
    esac
}

free_port() {
    local port=$((20000 + RANDOM % 20000))
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    echo "$port"
}

wait_listening() { # port pid
    for _ in $(seq 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# Echoes completed in a load run, from its msgs_per_s.
echoes() { echo $(($(grep -o 'msgs_per_s=[0-9]*' <<<"$1" | cut -d= -f2) * SECS)); }

instructions() { # stack conns size -> instructions per echo
    local port out pid file
    port=$(free_port)
    rm -f "$WORK/callgrind.$1".*
    GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=100000000 \
        valgrind --tool=callgrind --instr-atstart=no \
        --callgrind-out-file="$WORK/callgrind.$1.%p" "$(server_bin "$1")" "127.0.0.1:$port" \
        >/dev/null 2>"$WORK/valgrind.$1.log" &
    pid=$!
    wait_listening "$port" "$pid" || { echo "n/a"; kill "$pid" 2>/dev/null; return; }
    callgrind_control -i on "$pid" >/dev/null 2>&1
    out=$(timeout $((SECS + 60)) "$BIN/load" echo "127.0.0.1:$port" "$2" "$3" --warmup 0 --duration "$SECS" 2>&1)
    callgrind_control -d "$pid" >/dev/null 2>&1
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    file=$(ls "$WORK/callgrind.$1".*.1 | head -1)
    local ir
    ir=$(sed -n 's/^totals: //p' "$file" | head -1)
    echo $((ir / $(echoes "$out")))
}

syscalls() { # stack conns size -> "reads writes total" per echo
    local port pid out tracer
    port=$(free_port)
    "$(server_bin "$1")" "127.0.0.1:$port" >/dev/null 2>&1 &
    pid=$!
    wait_listening "$port" "$pid" || { echo "n/a"; kill "$pid" 2>/dev/null; return; }
    timeout $((SECS + 60)) strace -c -f -p "$pid" -o "$WORK/strace.$1.txt" 2>/dev/null &
    tracer=$!
    sleep 0.5 # strace attaching to every thread (not a synchronisation: it only widens the window)
    out=$(timeout $((SECS + 60)) "$BIN/load" echo "127.0.0.1:$port" "$2" "$3" --warmup 0 --duration "$SECS" 2>&1)
    kill -INT "$tracer"
    wait "$tracer" 2>/dev/null || true
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    awk -v e="$(echoes "$out")" '
        $NF ~ /^(read|recvfrom|recvmsg|readv)$/ { r += $4 }
        $NF ~ /^(write|writev|sendto|sendmsg)$/ { w += $4 }
        NR > 2 && $NF != "total" && $4 + 0 > 0 { t += $4 }
        END { printf "%.2f %.2f %.2f", r / e, w / e, t / e }' "$WORK/strace.$1.txt"
}

echo "# Instructions and system calls per echo (server side)"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, rustc $(rustc --version | cut -d' ' -f2); ${SECS} s per run."
echo
echo "| case | stack | instructions / echo | reads / echo | writes / echo | system calls / echo |"
echo "|---|---|---:|---:|---:|---:|"
for case in "${CASES[@]}"; do
    conns=${case%x*}
    size=${case#*x}
    for stack in "${STACKS[@]}"; do
        ir=$(instructions "$stack" "$conns" "$size")
        read -r reads writes total <<<"$(syscalls "$stack" "$conns" "$size")"
        echo "| $conns × $size B | $stack | $ir | $reads | $writes | $total |"
    done
done
