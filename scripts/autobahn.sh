#!/usr/bin/env bash
# Autobahn|Testsuite conformance run for rfc6455.
#
# Usage: bash scripts/autobahn.sh [all|install|servers|clients|check]
#   all (default)  install wstest if needed, build the examples, test the three echo
#                  servers (fuzzingclient) and both clients (fuzzingserver), check.
#   install        only install wstest into the cache venv (idempotent).
#   servers        install + build + server tests + check servers only.
#   clients        install + build + client tests + check clients only.
#   check          only run scripts/autobahn_check.py on existing reports.
#
# Environment:
#   AUTOBAHN_VENV      wstest virtualenv (default ~/.cache/rfc6455/ab27)
#   AUTOBAHN_DEFLATE=1 build with --features deflate and add cases 12.* and 13.*
#   AUTOBAHN_CASES     JSON list of case patterns, overrides the default
#   AUTOBAHN_EXCLUDE   JSON list of case patterns to exclude (default [])
#   AUTOBAHN_REPORTS   report root (default <repo>/reports); writes servers/ and clients/
#   AUTOBAHN_TIMEOUT   seconds allowed for each wstest / client run (default 900, 2400 with deflate)
#   AUTOBAHN_PORT_TOKIO_SERVER, AUTOBAHN_PORT_BLOCKING_SERVER, AUTOBAHN_PORT_MIO_SERVER,
#   AUTOBAHN_PORT_FUZZINGSERVER
#                      loopback ports (defaults 9101, 9102, 9107, 9103; a busy port is replaced by a free one)
#   PYTHON27           python2.7 interpreter (default $(pyenv root)/versions/2.7.18/bin/python2.7)
#   AUTOBAHN_VARIANTS  tokio,blocking,mio (default) or some of them; mio is a server only
#                      (examples/echo_server_mio, the event loop over mio written on the public API)
#   AUTOBAHN_SELFTEST=1  test the harness itself: use the Python `websockets` reference
#                      echo server / client from tests/interop instead of the Rust examples
#                      (no cargo build; agents are named selftest-*)
#
# All traffic is on 127.0.0.1. Exits non-zero on any failure.
set -euo pipefail

MODE="${1:-all}"
case "$MODE" in all | install | servers | clients | check) ;; *)
    echo "usage: $0 [all|install|servers|clients|check]" >&2
    exit 2
    ;;
esac

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${RFC6455_CACHE:-$HOME/.cache/rfc6455}"
AB_VENV="${AUTOBAHN_VENV:-$CACHE/ab27}"
REPORTS="${AUTOBAHN_REPORTS:-$REPO/reports}"
WORK="$REPORTS/autobahn-work"
DEFLATE="${AUTOBAHN_DEFLATE:-0}"
export AUTOBAHN_DEFLATE="$DEFLATE"
if [[ "$DEFLATE" == 1 ]]; then
    DEFAULT_TIMEOUT=2400
    DEFAULT_CASES='["1.*","2.*","3.*","4.*","5.*","6.*","7.*","8.*","9.*","10.*","12.*","13.*"]'
else
    DEFAULT_TIMEOUT=900
    DEFAULT_CASES='["1.*","2.*","3.*","4.*","5.*","6.*","7.*","8.*","9.*","10.*"]'
fi
TIMEOUT="${AUTOBAHN_TIMEOUT:-$DEFAULT_TIMEOUT}"
CASES="${AUTOBAHN_CASES:-$DEFAULT_CASES}"
EXCLUDE="${AUTOBAHN_EXCLUDE:-[]}"

# Each variant is an adapter: its echo server (fuzzingclient agent) and, for
# the crate's own adapters, its Autobahn client (fuzzingserver agent). `mio`
# is examples/echo_server_mio, an event loop over mio written only against
# the public API of the core; it has no client.
SERVER_AGENTS=() SERVER_EXAMPLES=() CLIENT_AGENTS=() CLIENT_EXAMPLES=()
VARIANTS="${AUTOBAHN_VARIANTS:-tokio,blocking,mio}"
for v in ${VARIANTS//,/ }; do
    case "$v" in
    tokio)
        SERVER_AGENTS+=(rfc6455-tokio-server) SERVER_EXAMPLES+=(echo_server)
        CLIENT_AGENTS+=(rfc6455-tokio-client) CLIENT_EXAMPLES+=(autobahn_client)
        ;;
    blocking)
        SERVER_AGENTS+=(rfc6455-blocking-server) SERVER_EXAMPLES+=(echo_server_blocking)
        CLIENT_AGENTS+=(rfc6455-blocking-client) CLIENT_EXAMPLES+=(autobahn_client_blocking)
        ;;
    mio) SERVER_AGENTS+=(rfc6455-mio-server) SERVER_EXAMPLES+=(echo_server_mio) ;;
    *) echo "unknown variant '$v' in AUTOBAHN_VARIANTS" >&2; exit 2 ;;
    esac
done
SELFTEST="${AUTOBAHN_SELFTEST:-0}"
if [[ "$SELFTEST" == 1 ]]; then
    SERVER_AGENTS=(selftest-python-server-a selftest-python-server-b)
    SERVER_EXAMPLES=(python_echo_server python_echo_server)
    CLIENT_AGENTS=(selftest-python-client)
    CLIENT_EXAMPLES=(python_autobahn_client)
fi
if ((${#CLIENT_AGENTS[@]} == 0)); then
    # Only variants without a client (mio): `all` is `servers`.
    [[ "$MODE" == clients ]] && { echo "no client among the variants $VARIANTS" >&2; exit 2; }
    [[ "$MODE" == all ]] && MODE=servers
fi
PY_VENV="${INTEROP_VENV:-$CACHE/venv-websockets}"

log() { printf '[autobahn %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# ---------------------------------------------------------------- processes
PIDS=()
cleanup() {
    local rc=$?
    local pid
    for pid in "${PIDS[@]:-}"; do
        [[ -n "$pid" ]] || continue
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
        fi
    done
    # Give them a moment, then force.
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

# pick_port PREFERRED -> PREFERRED if nothing listens there, else a free ephemeral port
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

# wait_port PORT PID WHAT [SECONDS]: poll until PORT accepts TCP, fail if PID dies.
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

# wait_pid_timeout PID SECONDS: wait for a background job; kill it and return 124 on timeout.
wait_pid_timeout() {
    local pid=$1 secs=$2
    local deadline=$((SECONDS + secs))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            log "pid $pid still running after ${secs}s, killing it"
            kill "$pid" 2>/dev/null || true
            sleep 1
            kill -9 "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            return 124
        fi
        sleep 0.2
    done
    local rc=0
    wait "$pid" || rc=$?
    return "$rc"
}

# ---------------------------------------------------------------- install
find_python27() {
    if [[ -n "${PYTHON27:-}" ]]; then
        echo "$PYTHON27"
        return
    fi
    local root
    if command -v pyenv >/dev/null 2>&1; then
        root="$(pyenv root)"
    else
        root="${PYENV_ROOT:-$HOME/.pyenv}"
    fi
    local cand
    for cand in "$root"/versions/2.7.18/bin/python2.7 "$root"/versions/2.7*/bin/python2.7 \
        "$(command -v python2.7 2>/dev/null || true)"; do
        if [[ -n "$cand" && -x "$cand" ]]; then
            echo "$cand"
            return
        fi
    done
    die "no python2.7 found (Autobahn|Testsuite needs Python 2.7; set PYTHON27=/path/to/python2.7)"
}

fuzzing_py() { echo "$AB_VENV/lib/python2.7/site-packages/autobahntestsuite/fuzzing.py"; }

patch_fuzzing() {
    local f
    f="$(fuzzing_py)"
    [[ -f "$f" ]] || die "$f not found"
    if ! grep -q "interface='127.0.0.1'" "$f"; then
        # The file has CRLF line endings; the pattern is mid-line so they are preserved.
        sed -i "s/listenWS(factory, sslContext)/listenWS(factory, sslContext, interface='127.0.0.1')/" "$f"
        grep -q "interface='127.0.0.1'" "$f" || die "could not patch $f to listen on 127.0.0.1 only"
        rm -f "${f}c"
        log "patched fuzzing.py: fuzzingserver listens on 127.0.0.1 only"
    fi
}

install_wstest() {
    local marker="$AB_VENV/.rfc6455-installed"
    if [[ -f "$marker" && -x "$AB_VENV/bin/wstest" ]]; then
        patch_fuzzing
        log "wstest already installed in $AB_VENV ($(cat "$marker"))"
        return
    fi
    local py27 t0=$SECONDS
    py27="$(find_python27)"
    log "installing Autobahn|Testsuite into $AB_VENV (python: $py27; takes ~40 s)"
    mkdir -p "$CACHE"
    local ve="$CACHE/venv-virtualenv"
    if [[ ! -x "$ve/bin/virtualenv" ]]; then
        rm -rf "$ve"
        python3 -m venv "$ve"
        # virtualenv >= 20.22 can no longer create Python 2.7 environments.
        timeout 600 "$ve/bin/pip" install --quiet --disable-pip-version-check 'virtualenv<20.22'
    fi
    rm -rf "$AB_VENV"
    timeout 300 "$ve/bin/virtualenv" --quiet -p "$py27" "$AB_VENV"
    timeout 900 "$AB_VENV/bin/pip" install --quiet --disable-pip-version-check --no-python-version-warning \
        'autobahntestsuite==25.10.1' 2>&1 | grep -v -i -e deprecat -e 'python 2.7' >&2 || true
    [[ -x "$AB_VENV/bin/wstest" ]] || die "pip install autobahntestsuite failed (no $AB_VENV/bin/wstest)"
    patch_fuzzing
    "$AB_VENV/bin/wstest" --help >/dev/null 2>&1 || die "$AB_VENV/bin/wstest does not run"
    "$AB_VENV/bin/pip" freeze 2>/dev/null | grep -i '^autobahntestsuite==' >"$marker" || echo installed >"$marker"
    log "installed wstest in $((SECONDS - t0))s"
}

# List the case ids that the patterns select, using wstest's own matching, into a file.
expected_cases() {
    local out=$1
    "$AB_VENV/bin/python" - "$CASES" "$EXCLUDE" >"$out" <<'EOF'
import json, sys
from autobahntestsuite.case import Cases, CaseCategories, CaseSubCategories, CaseSetname, CaseBasename
from autobahntestsuite.caseset import CaseSet
spec = {"cases": json.loads(sys.argv[1]), "exclude-cases": json.loads(sys.argv[2])}
case_set = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories)
for cid in case_set.parseSpecCases(spec):
    print(cid)
EOF
    [[ -s "$out" ]] || die "no Autobahn cases match $CASES"
    log "$(wc -l <"$out") cases selected: $CASES (excluding $EXCLUDE)"
}

# ---------------------------------------------------------------- build
EXAMPLES_DIR=""
build_examples() {
    if [[ "$SELFTEST" == 1 ]]; then
        if [[ ! -x "$PY_VENV/bin/python" ]] || ! "$PY_VENV/bin/python" -c 'import websockets' 2>/dev/null; then
            log "installing Python websockets into $PY_VENV"
            rm -rf "$PY_VENV"
            python3 -m venv "$PY_VENV"
            timeout 600 "$PY_VENV/bin/pip" install --quiet --disable-pip-version-check websockets
        fi
        return
    fi
    local args=(build --release --examples)
    [[ "$DEFLATE" == 1 ]] && args+=(--features deflate)
    log "cargo ${args[*]}"
    (cd "$REPO" && timeout 1800 cargo "${args[@]}") || die "cargo ${args[*]} failed"
    local target
    target="$(cd "$REPO" && cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    EXAMPLES_DIR="$target/release/examples"
    local ex
    for ex in "${SERVER_EXAMPLES[@]}" "${CLIENT_EXAMPLES[@]}"; do
        [[ -x "$EXAMPLES_DIR/$ex" ]] || die "example binary $EXAMPLES_DIR/$ex is missing"
    done
}

# run_example NAME ARGS...: exec an example binary (or, in self-test mode, a reference peer).
run_example() {
    local name=$1
    shift
    if [[ "$SELFTEST" == 1 ]]; then
        exec "$PY_VENV/bin/python" "$REPO/tests/interop/$name.py" "$@"
    fi
    exec "$EXAMPLES_DIR/$name" "$@"
}

# ---------------------------------------------------------------- runs
FAILED=0

run_servers() {
    local ports=() i pid port
    mkdir -p "$WORK"
    rm -rf "$REPORTS/servers"
    local defaults=()
    for i in "${!SERVER_EXAMPLES[@]}"; do
        if [[ "${SERVER_EXAMPLES[$i]}" == echo_server_blocking ]]; then
            defaults+=("${AUTOBAHN_PORT_BLOCKING_SERVER:-9102}")
        elif [[ "${SERVER_EXAMPLES[$i]}" == echo_server_mio ]]; then
            # Not 9103-9106: .ci/run gives those to its fuzzingservers.
            defaults+=("${AUTOBAHN_PORT_MIO_SERVER:-9107}")
        else
            defaults+=("$(( ${AUTOBAHN_PORT_TOKIO_SERVER:-9101} + i ))")
        fi
    done
    for i in "${!SERVER_EXAMPLES[@]}"; do
        port="$(pick_port "${defaults[$i]}")"
        ports+=("$port")
        (run_example "${SERVER_EXAMPLES[$i]}" "127.0.0.1:$port") \
            >"$WORK/${SERVER_AGENTS[$i]}.log" 2>&1 &
        pid=$!
        PIDS+=("$pid")
        wait_port "$port" "$pid" "${SERVER_EXAMPLES[$i]}"
    done
    local servers_json="" sep=""
    for i in "${!SERVER_AGENTS[@]}"; do
        servers_json+="$sep{\"agent\": \"${SERVER_AGENTS[$i]}\", \"url\": \"ws://127.0.0.1:${ports[$i]}\"}"
        sep=", "
    done
    cat >"$WORK/fuzzingclient.json" <<EOF
{
  "outdir": "$REPORTS/servers",
  "servers": [$servers_json],
  "cases": $CASES,
  "exclude-cases": $EXCLUDE,
  "exclude-agent-cases": {}
}
EOF
    log "wstest -m fuzzingclient against ${SERVER_AGENTS[*]} (log: $WORK/fuzzingclient.log)"
    local t0=$SECONDS rc=0
    (cd "$WORK" && timeout "$TIMEOUT" "$AB_VENV/bin/wstest" -m fuzzingclient -s "$WORK/fuzzingclient.json") \
        >"$WORK/fuzzingclient.log" 2>&1 || rc=$?
    log "fuzzingclient finished in $((SECONDS - t0))s (exit $rc)"
    if ((rc != 0)); then
        tail -n 30 "$WORK/fuzzingclient.log" >&2 || true
        log "FAIL: wstest fuzzingclient exited with $rc"
        FAILED=1
    fi
    for i in "${!SERVER_AGENTS[@]}"; do
        pid="${PIDS[$((${#PIDS[@]} - ${#SERVER_AGENTS[@]} + i))]}"
        if ! kill -0 "$pid" 2>/dev/null; then
            log "FAIL: ${SERVER_EXAMPLES[$i]} died during the run; tail of its log:"
            tail -n 30 "$WORK/${SERVER_AGENTS[$i]}.log" >&2 || true
            FAILED=1
        fi
    done
}

# Ask the fuzzingserver to write the reports for AGENT (as a client would at the end),
# so that a client that crashed still shows up with the cases it did run.
update_reports() {
    local port=$1 agent=$2
    python3 - "$port" "$agent" <<'EOF' || log "could not call /updateReports for $2"
import base64, os, socket, sys
port, agent = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=30)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /updateReports?agent=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
           % (agent, port, key)).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    chunk = s.recv(4096)
    if not chunk:
        sys.exit("connection closed during handshake")
    buf += chunk
if b" 101 " not in buf.split(b"\r\n", 1)[0]:
    sys.exit("handshake refused: %r" % buf[:200])
# The server closes once the reports are written; answer with a masked close frame.
try:
    while s.recv(4096):
        pass
except OSError:
    pass
try:
    s.sendall(b"\x88\x80\x00\x00\x00\x00")
except OSError:
    pass
s.close()
EOF
}

run_clients() {
    local port pid i rc t0 cpid
    mkdir -p "$WORK"
    rm -rf "$REPORTS/clients"
    port="$(pick_port "${AUTOBAHN_PORT_FUZZINGSERVER:-9103}")"
    cat >"$WORK/fuzzingserver.json" <<EOF
{
  "url": "ws://127.0.0.1:$port",
  "outdir": "$REPORTS/clients",
  "cases": $CASES,
  "exclude-cases": $EXCLUDE,
  "exclude-agent-cases": {}
}
EOF
    log "starting wstest -m fuzzingserver on 127.0.0.1:$port (log: $WORK/fuzzingserver.log)"
    # -u 0: no web server serving the HTML reports.
    (cd "$WORK" && exec timeout "$TIMEOUT" "$AB_VENV/bin/wstest" -m fuzzingserver -s "$WORK/fuzzingserver.json" -u 0) \
        >"$WORK/fuzzingserver.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_port "$port" "$pid" "wstest fuzzingserver" 120
    for i in "${!CLIENT_AGENTS[@]}"; do
        log "running ${CLIENT_EXAMPLES[$i]} as ${CLIENT_AGENTS[$i]} (log: $WORK/${CLIENT_AGENTS[$i]}.log)"
        t0=$SECONDS
        rc=0
        (run_example "${CLIENT_EXAMPLES[$i]}" "ws://127.0.0.1:$port" "${CLIENT_AGENTS[$i]}") \
            >"$WORK/${CLIENT_AGENTS[$i]}.log" 2>&1 &
        cpid=$!
        PIDS+=("$cpid")
        # The client gets the same time budget as wstest; timeout(1) cannot wrap a shell function.
        wait_pid_timeout "$cpid" "$TIMEOUT" || rc=$?
        log "${CLIENT_EXAMPLES[$i]} finished in $((SECONDS - t0))s (exit $rc)"
        if ((rc != 0)); then
            log "FAIL: ${CLIENT_EXAMPLES[$i]} exited with $rc; tail of its log:"
            tail -n 30 "$WORK/${CLIENT_AGENTS[$i]}.log" >&2 || true
            FAILED=1
            update_reports "$port" "${CLIENT_AGENTS[$i]}"
        fi
        kill -0 "$pid" 2>/dev/null || die "wstest fuzzingserver died; see $WORK/fuzzingserver.log"
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

check() {
    local what=$1 args=()
    if [[ -s "$WORK/expected-cases.txt" ]]; then
        args+=(--expected-cases "$WORK/expected-cases.txt")
    fi
    if [[ "$what" == all || "$what" == servers ]]; then
        args+=(--servers "$(IFS=,; echo "${SERVER_AGENTS[*]}")")
    fi
    if [[ "$what" == all || "$what" == clients ]]; then
        args+=(--clients "$(IFS=,; echo "${CLIENT_AGENTS[*]}")")
    fi
    python3 "$REPO/scripts/autobahn_check.py" --reports "$REPORTS" "${args[@]}" || FAILED=1
}

# ---------------------------------------------------------------- main
T_START=$SECONDS
if [[ "$MODE" == check ]]; then
    check all
    exit "$FAILED"
fi

install_wstest
[[ "$MODE" == install ]] && exit 0

mkdir -p "$WORK"
expected_cases "$WORK/expected-cases.txt"
build_examples

if [[ "$MODE" == all || "$MODE" == servers ]]; then
    run_servers
fi
if [[ "$MODE" == all || "$MODE" == clients ]]; then
    run_clients
fi
check "$MODE"
if ((FAILED)); then
    log "FAILED after $((SECONDS - T_START))s"
    exit 1
fi
log "all Autobahn checks passed in $((SECONDS - T_START))s"
