#!/usr/bin/env bash
# Soak: minutes of connection churn against the tokio and the blocking echo
# servers at once (examples/echo_server.rs and echo_server_blocking.rs, both
# with --keepalive 2,10), every message accounted for, each server's RSS and
# open descriptors sampled every second. See BENCHMARKS.md ("Soak") and the
# header of benches/load/src/bin/soak.rs for the scenarios.
#
#   bash scripts/soak.sh [SECONDS]   # default 600
#   bash scripts/soak.sh --short     # 60 s, the CI check
#
# Fails (exit status 1) unless, for each server: every echo came back
# unchanged and every scenario went as described; messages sent = echoed +
# abandoned (a message written just before a deliberate reset), every ping
# answered; after the warm-up (max(10 s, a fifth of the run); 30 s with
# --short) the last
# third's highest RSS is at most the first third's highest + max(10 %,
# 2 MiB), and its highest descriptor count at most the first third's + 12;
# and once the client has closed everything, the server's descriptors come
# back to where they started within 20 s.
#
# The blocking server runs a thread per connection, and glibc gives threads
# their own malloc arenas (up to 8 per core), each keeping the largest
# buffers it has seen: its RSS climbs for about 90 s of this churn, then
# stays (BENCHMARKS.md, "Soak"); with one arena it is flat from the first
# 30 s. A 60 s run ends before that climb does, so --short runs the blocking
# server with MALLOC_ARENA_MAX=1, where growth could only be the server's
# (SOAK_BLOCKING_ENV overrides; empty for none), and takes the first 30 s
# as warm-up (SOAK_WARMUP): even one arena grows until the largest echoes
# (3 MiB slow reads) have come by, ~11 MiB by 30 s in the runs measured.
# A full run uses the allocator's defaults, as users run it, and the
# default warm-up.
#
# Environment: SOAK_WORKERS (24 per server), SOAK_LONG_LIVED (16 per
# server), SOAK_SEED (6455), SOAK_REPORT (reports/soak.md; the per-second
# series goes to reports/soak-series.csv). Loopback only (sources
# 127.0.0.10-17); bounded in time; everything started is killed on exit.
set -euo pipefail

SHORT=0
case ${1:-600} in
    --short)
        DURATION=60
        SHORT=1
        ;;
    *[!0-9]* | "")
        echo "usage: $0 [SECONDS | --short]" >&2
        exit 2
        ;;
    *) DURATION=${1:-600} ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPORT=${SOAK_REPORT:-$ROOT/reports/soak.md}
WORK=$ROOT/reports/soak-work
SERIES=$ROOT/reports/soak-series.csv
BIN=$ROOT/benches/load/target/release
mkdir -p "$WORK" "$(dirname "$REPORT")"

PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}
trap cleanup EXIT INT TERM

echo "building benches/load (release, rfc6455's servers and the soak client)..." >&2
cargo build --release --quiet --manifest-path "$ROOT/benches/load/Cargo.toml" \
    --no-default-features --bin soak --bin echo_rfc6455_tokio --bin echo_rfc6455_blocking

if ((SHORT)); then
    BLOCKING_ENV=${SOAK_BLOCKING_ENV-MALLOC_ARENA_MAX=1}
    WARMUP=${SOAK_WARMUP:-30}
else
    BLOCKING_ENV=${SOAK_BLOCKING_ENV-}
    WARMUP=${SOAK_WARMUP:-}
fi

PORT=9600
start() { # name binary [VAR=value...]; appends to TARGETS
    while :; do
        PORT=$((PORT + 1))
        ((PORT > 9699)) && PORT=9601
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
    done
    local log=$WORK/server-$1.log
    env "${@:3}" "$BIN/$2" "127.0.0.1:$PORT" --keepalive 2,10 >"$log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    # The banner is the event; the loop only bounds how long it may take.
    for _ in $(seq 200); do
        if grep -q listening "$log" 2>/dev/null; then
            TARGETS+=(--target "$1=127.0.0.1:$PORT,$pid")
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "server $1 did not start; log:" >&2
    cat "$log" >&2
    exit 1
}
TARGETS=()
start tokio echo_rfc6455_tokio
read -r -a blocking_env <<<"$BLOCKING_ENV"
start blocking echo_rfc6455_blocking "${blocking_env[@]}"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "soak: ${DURATION} s against the tokio and blocking echo servers..." >&2
status=0
"$BIN/soak" "${TARGETS[@]}" --duration "$DURATION" --series "$SERIES" ${WARMUP:+--warmup "$WARMUP"} \
    --workers "${SOAK_WORKERS:-24}" --long-lived "${SOAK_LONG_LIVED:-16}" --seed "${SOAK_SEED:-6455}" \
    >"$WORK/soak.out" 2>"$WORK/soak.err" || status=$?
cleanup

field() { sed -n "s/.*\<$1=\([^ ]*\).*/\1/p" | head -1; }
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
    echo "# Soak: ${DURATION} s of churn against the tokio and blocking echo servers"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores ($CPU_MODEL), $(uname -r), rustc $(rustc --version | cut -d' ' -f2)."
    echo "Load average at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "Blocking server's environment: ${BLOCKING_ENV:-none (the allocator defaults)}."
    echo
    echo "| | tokio | blocking |"
    echo "|---|---:|---:|"
    for k in connections sent echoed abandoned mib pings_sent pongs server_pings clean_closes resets eofs refused slow \
        abandoned_handshakes wrong unexpected rss_base_kib rss_warmup_max_kib rss_first_max_kib rss_last_max_kib \
        rss_allowed_kib fds_base fds_first_max fds_last_max fds_allowed fds_end drained_s warmup_s verdict; do
        printf "| %s | %s | %s |\n" "$k" \
            "$(grep 'name=tokio ' "$WORK/soak.out" | field "$k")" \
            "$(grep 'name=blocking ' "$WORK/soak.out" | field "$k")"
    done
    echo
    echo "RSS (KiB) and open descriptors, sampled at tenths of the run:"
    echo
    echo "| seconds | tokio RSS | tokio fds | blocking RSS | blocking fds |"
    echo "|---:|---:|---:|---:|---:|"
    awk -F, -v d="$DURATION" 'NR > 1 {
            slot = int($1 / (d / 10) + 0.5); if (($1 - slot * d / 10) ^ 2 > 0.36) next
            if ($2 == "tokio") { tr[slot] = $3; tf[slot] = $4 } else { br[slot] = $3; bf[slot] = $4 }
            t[slot] = $1
        }
        END { for (s = 0; s <= 10; s++) if (s in t) printf "| %.0f | %s | %s | %s | %s |\n", t[s], tr[s], tf[s], br[s], bf[s] }' "$SERIES"
    if [[ -s $WORK/soak.err ]]; then
        echo
        echo "Client's stderr (first lines):"
        echo
        echo '```'
        head -20 "$WORK/soak.err"
        echo '```'
    fi
} >"$REPORT"
cat "$REPORT"
echo "(written to ${REPORT#"$ROOT"/}; series in ${SERIES#"$ROOT"/})" >&2
if ((status != 0)); then
    echo "soak FAILED (see the verdict row and reports/soak-work/)" >&2
    exit 1
fi
echo "soak: every message accounted for, RSS and descriptors flat, descriptors drained"
