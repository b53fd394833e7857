#!/usr/bin/env bash
# Interop of the rfc6455 echo servers with real peers:
#   python  - Python `websockets` (tests/interop/python_client.py)
#   node    - Node `ws`           (tests/interop/node_client.mjs)
#   chromium- headless Chromium   (tests/interop/chromium_client.mjs, via playwright-core)
#
# Each peer echoes messages of 0 B to 4 MiB, then, on a connection with the peer's
# default limits, messages at the peer's own limit: Node ws and Chromium a 20 MB
# binary and a 20 MB multi-byte text message (longer than the servers' 16 MiB
# max_send_frame_size, so every echo is fragmented, compressed with permessage-deflate
# too), Python websockets 1 MiB ones (its default max_size; it refuses larger).
# Node ws checks the frames of those echoes on the wire (INTEROP_MAX_SEND_FRAME).
#
# Usage: bash scripts/interop.sh
#
# Installs what it needs (idempotent): a venv with `websockets` under the cache dir,
# `npm ci` in tests/interop (package.json + package-lock.json are checked in), and
# Debian's chromium if /usr/bin/chromium is missing. Builds the examples, starts
# echo_server and echo_server_blocking on loopback ports, runs every peer against
# each server, prints a summary. A peer that cannot be installed is skipped with a
# message; any peer failure makes the script exit 1.
#
# Environment:
#   INTEROP_PEERS            comma-separated subset of python,node,chromium (default: all)
#   INTEROP_DEFLATE=1        build with --features deflate; implies INTEROP_EXPECT_DEFLATE=1
#   INTEROP_EXPECT_DEFLATE   1: clients require permessage-deflate, 0: require it absent,
#                            unset: only report the negotiated extensions
#   INTEROP_REQUIRE_ALL=1    fail (instead of skip) when a peer cannot be installed
#   INTEROP_PEER_TIMEOUT     seconds per peer run (default 180)
#   INTEROP_PORT_TOKIO_SERVER, INTEROP_PORT_BLOCKING_SERVER  (defaults 9201, 9202;
#                            a busy port is replaced by a free one)
#   INTEROP_VENV             Python venv (default ~/.cache/rfc6455/venv-websockets)
#   INTEROP_VARIANTS         tokio,blocking (default) or just one of them
#   INTEROP_SELFTEST=1       test the harness itself against the reference Python and
#                            Node echo servers in tests/interop (no cargo build)
#   CHROMIUM                 browser binary (default /usr/bin/chromium)
#   INTEROP_MAX_SEND_FRAME   largest data frame node_client.mjs accepts in an echo, which
#                            must split a longer one (default: 16777216, the echo servers'
#                            Config::default().max_send_frame_size; unset in self-test,
#                            whose reference servers send one frame per message)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IDIR="$REPO/tests/interop"
CACHE="${RFC6455_CACHE:-$HOME/.cache/rfc6455}"
PY_VENV="${INTEROP_VENV:-$CACHE/venv-websockets}"
LOGDIR="$REPO/reports/interop"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export INTEROP_PEER_TIMEOUT="${INTEROP_PEER_TIMEOUT:-180}"
DEFLATE="${INTEROP_DEFLATE:-0}"
if [[ "$DEFLATE" == 1 && -z "${INTEROP_EXPECT_DEFLATE:-}" ]]; then
    export INTEROP_EXPECT_DEFLATE=1
fi
SELFTEST="${INTEROP_SELFTEST:-0}"
if [[ "$SELFTEST" != 1 ]]; then
    # The echo examples run on Config::default(): 16 MiB frames out (and in), 64 MiB messages.
    export INTEROP_MAX_SEND_FRAME="${INTEROP_MAX_SEND_FRAME:-16777216}"
fi
IFS=, read -r -a PEERS <<<"${INTEROP_PEERS:-python,node,chromium}"

if [[ "$SELFTEST" == 1 ]]; then
    SERVER_NAMES=(selftest-python-server selftest-node-server)
else
    # INTEROP_VARIANTS=tokio or =blocking restricts the run to one adapter.
    SERVER_NAMES=()
    case ",${INTEROP_VARIANTS:-tokio,blocking}," in *,tokio,*) SERVER_NAMES+=(echo_server) ;; esac
    case ",${INTEROP_VARIANTS:-tokio,blocking}," in *,blocking,*) SERVER_NAMES+=(echo_server_blocking) ;; esac
    ((${#SERVER_NAMES[@]})) || { echo "INTEROP_VARIANTS must list tokio and/or blocking" >&2; exit 2; }
fi

log() { printf '[interop %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

PIDS=()
cleanup() {
    local rc=$? pid
    for pid in "${PIDS[@]:-}"; do
        if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi
    done
    for pid in "${PIDS[@]:-}"; do
        [[ -n "$pid" ]] || continue
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -9 "$pid" 2>/dev/null || true
    done
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
pick_port() {
    if port_in_use "$1"; then
        local p
        p="$(free_port)"
        log "port $1 is busy, using $p instead"
        echo "$p"
    else
        echo "$1"
    fi
}
wait_port() {
    local port=$1 pid=$2 what=$3 secs=${4:-60}
    local deadline=$((SECONDS + secs))
    while ! port_in_use "$port"; do
        kill -0 "$pid" 2>/dev/null || die "$what (pid $pid) exited before listening on 127.0.0.1:$port"
        ((SECONDS < deadline)) || die "$what did not listen on 127.0.0.1:$port within ${secs}s"
        sleep 0.1
    done
    log "$what is listening on 127.0.0.1:$port"
}

want_peer() {
    local p
    for p in "${PEERS[@]}"; do [[ "$p" == "$1" ]] && return 0; done
    return 1
}

# ---------------------------------------------------------------- install
declare -A SKIP=() # peer -> reason it is skipped

skip_peer() {
    local peer=$1 reason=$2
    if [[ "${INTEROP_REQUIRE_ALL:-0}" == 1 ]]; then
        die "$peer cannot be installed: $reason (INTEROP_REQUIRE_ALL=1)"
    fi
    SKIP[$peer]="$reason"
    log "SKIP $peer: $reason"
}

install_python() {
    if [[ -x "$PY_VENV/bin/python" ]] && "$PY_VENV/bin/python" -c 'import websockets' 2>/dev/null; then
        log "python websockets $("$PY_VENV/bin/python" -c 'import websockets; print(websockets.__version__)') in $PY_VENV"
        return 0
    fi
    log "installing Python websockets into $PY_VENV"
    rm -rf "$PY_VENV"
    mkdir -p "$(dirname "$PY_VENV")"
    python3 -m venv "$PY_VENV" &&
        timeout 600 "$PY_VENV/bin/pip" install --quiet --disable-pip-version-check websockets &&
        "$PY_VENV/bin/python" -c 'import websockets' 2>/dev/null
}

install_node_modules() {
    command -v node >/dev/null 2>&1 || return 1
    command -v npm >/dev/null 2>&1 || return 1
    local stamp="$IDIR/node_modules/.package-lock.json"
    if [[ -f "$stamp" && "$stamp" -nt "$IDIR/package-lock.json" && -d "$IDIR/node_modules/ws" &&
        -d "$IDIR/node_modules/playwright-core" ]]; then
        log "node modules up to date in $IDIR/node_modules"
        return 0
    fi
    log "npm ci in $IDIR"
    (cd "$IDIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 600 npm ci --no-audit --no-fund --loglevel=error) >&2
}

install_chromium() {
    [[ -x "$CHROMIUM" ]] && return 0
    if [[ "$CHROMIUM" != /usr/bin/chromium ]]; then
        return 1
    fi
    command -v apt-get >/dev/null 2>&1 || return 1
    log "installing chromium from Debian (apt-get)"
    local apt=(apt-get)
    [[ "$(id -u)" != 0 ]] && apt=(sudo -n apt-get)
    if ! DEBIAN_FRONTEND=noninteractive timeout 900 "${apt[@]}" install -y --no-install-recommends chromium >"$LOGDIR/apt-chromium.log" 2>&1; then
        # The package lists may be missing on a fresh machine.
        DEBIAN_FRONTEND=noninteractive timeout 300 "${apt[@]}" update >>"$LOGDIR/apt-chromium.log" 2>&1 || true
        DEBIAN_FRONTEND=noninteractive timeout 900 "${apt[@]}" install -y --no-install-recommends chromium >>"$LOGDIR/apt-chromium.log" 2>&1 ||
            { tail -n 5 "$LOGDIR/apt-chromium.log" >&2; return 1; }
    fi
    [[ -x "$CHROMIUM" ]]
}

install_peers() {
    mkdir -p "$LOGDIR"
    if want_peer python; then
        install_python || skip_peer python "could not install the websockets package into $PY_VENV"
    fi
    if want_peer node || want_peer chromium; then
        if ! install_node_modules; then
            want_peer node && skip_peer node "node/npm missing or 'npm ci' failed in $IDIR"
            want_peer chromium && skip_peer chromium "node/npm missing or 'npm ci' failed in $IDIR (needed for playwright-core)"
        fi
    fi
    if want_peer chromium && [[ -z "${SKIP[chromium]:-}" ]]; then
        install_chromium || skip_peer chromium "$CHROMIUM is missing and 'apt-get install chromium' failed (see $LOGDIR/apt-chromium.log)"
    fi
    if [[ "$SELFTEST" == 1 ]]; then
        [[ -z "${SKIP[python]:-}" ]] || die "self-test needs the Python venv"
        [[ -d "$IDIR/node_modules/ws" ]] || die "self-test needs the node modules"
    fi
}

# ---------------------------------------------------------------- build
EXAMPLES_DIR=""
build_examples() {
    [[ "$SELFTEST" == 1 ]] && return 0
    local args=(build --release --examples)
    [[ "$DEFLATE" == 1 ]] && args+=(--features deflate)
    log "cargo ${args[*]}"
    (cd "$REPO" && timeout 1800 cargo "${args[@]}") || die "cargo ${args[*]} failed"
    local target
    target="$(cd "$REPO" && cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    EXAMPLES_DIR="$target/release/examples"
    local ex
    for ex in "${SERVER_NAMES[@]}"; do
        [[ -x "$EXAMPLES_DIR/$ex" ]] || die "example binary $EXAMPLES_DIR/$ex is missing"
    done
}

start_server() {
    local name=$1 port=$2
    case "$name" in
    selftest-python-server) exec "$PY_VENV/bin/python" "$IDIR/python_echo_server.py" "127.0.0.1:$port" ;;
    selftest-node-server) exec node "$IDIR/node_echo_server.mjs" "127.0.0.1:$port" ;;
    *) exec "$EXAMPLES_DIR/$name" "127.0.0.1:$port" ;;
    esac
}

peer_cmd() {
    case "$1" in
    python) echo "$PY_VENV/bin/python $IDIR/python_client.py" ;;
    node) echo "node $IDIR/node_client.mjs" ;;
    chromium) echo "node $IDIR/chromium_client.mjs" ;;
    *) return 1 ;;
    esac
}

# ---------------------------------------------------------------- main
T_START=$SECONDS
for p in "${PEERS[@]}"; do
    peer_cmd "$p" >/dev/null || die "unknown peer '$p' in INTEROP_PEERS (known: python,node,chromium)"
done
mkdir -p "$LOGDIR"
install_peers
build_examples

PORTS=()
SERVER_PIDS=()
for i in "${!SERVER_NAMES[@]}"; do
    if [[ "${SERVER_NAMES[$i]}" == echo_server_blocking ]]; then
        port="$(pick_port "${INTEROP_PORT_BLOCKING_SERVER:-9202}")"
    else
        port="$(pick_port "$((${INTEROP_PORT_TOKIO_SERVER:-9201} + i))")"
    fi
    (start_server "${SERVER_NAMES[$i]}" "$port") >"$LOGDIR/${SERVER_NAMES[$i]}.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    SERVER_PIDS+=("$pid")
    PORTS+=("$port")
    wait_port "$port" "$pid" "${SERVER_NAMES[$i]}"
done

FAILED=0
RESULTS=()
for i in "${!SERVER_NAMES[@]}"; do
    server="${SERVER_NAMES[$i]}"
    url="ws://127.0.0.1:${PORTS[$i]}"
    for peer in "${PEERS[@]}"; do
        if [[ -n "${SKIP[$peer]:-}" ]]; then
            RESULTS+=("SKIP  $server <- $peer: ${SKIP[$peer]}")
            continue
        fi
        log "$peer -> $server ($url)"
        out="$LOGDIR/$server.$peer.log"
        rc=0
        # shellcheck disable=SC2046
        timeout -k 10 "$INTEROP_PEER_TIMEOUT" $(peer_cmd "$peer") "$url" >"$out" 2>&1 || rc=$?
        line="$(grep -E '^(PASS|FAIL) ' "$out" | tail -n 1 || true)"
        if ((rc == 0)) && [[ "$line" == PASS* ]]; then
            RESULTS+=("PASS  $server <- $peer: ${line#PASS }")
        else
            FAILED=1
            if ((rc == 124)); then
                line="timed out after ${INTEROP_PEER_TIMEOUT}s"
            elif [[ -z "$line" ]]; then
                line="exit $rc, no result line; last output: $(tail -n 3 "$out" | tr '\n' ' ')"
            fi
            RESULTS+=("FAIL  $server <- $peer: ${line#FAIL } (log: $out)")
        fi
        if ! kill -0 "${SERVER_PIDS[$i]}" 2>/dev/null; then
            FAILED=1
            RESULTS+=("FAIL  $server died (after $peer); tail of its log: $(tail -n 5 "$LOGDIR/$server.log" | tr '\n' ' ')")
            break
        fi
    done
done

echo
echo "== interop summary (INTEROP_EXPECT_DEFLATE=${INTEROP_EXPECT_DEFLATE:-unset}; logs in $LOGDIR)"
printf '%s\n' "${RESULTS[@]}"
if ((FAILED)); then
    log "FAILED after $((SECONDS - T_START))s"
    exit 1
fi
log "all interop peers passed (skipped: ${#SKIP[@]}) in $((SECONDS - T_START))s"
