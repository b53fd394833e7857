#!/usr/bin/env bash
# The decode comparison of benches/compare, each library and stream in its
# own process, interleaved over rounds: the table of BENCHMARKS.md ("The same
# bytes through each Rust stack").
#
#   bash scripts/decode_compare.sh
#
# Environment:
#   DECODE_ROUNDS    rounds, every (stream, library) once per round [3]
#   DECODE_SECONDS   criterion measurement seconds per run [3]
#
# Why one process per run: criterion runs every benchmark of a binary in one
# process, one after the other, and glibc's allocator adapts to what came
# before (its mmap threshold rises with the largest block freed). A library
# measured right after another one that freed large blocks then allocates
# differently from one measured first: the same library's 1 MiB stream moved
# between 73 and 116 µs depending on its place in the run. A fresh process
# per run gives every library the same start.
#
# Prints a Markdown table: the median of each run (criterion's estimate),
# lowest over the rounds, in µs per stream.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${DECODE_ROUNDS:-3}
SECS=${DECODE_SECONDS:-3}
STREAMS=(1000x16B 1000x125B 16x64KiB 2x1024KiB)
LIBS=(rfc6455 rfc6455_prefilled tungstenite fastwebsockets tokio_websockets)
cd "$ROOT/benches/compare"
cargo bench --bench decode --no-run --quiet 2>/dev/null
BIN=$(cargo bench --bench decode --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "decode" and m.get("executable"):
        print(m["executable"])')
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
for round in $(seq "$ROUNDS"); do
    for stream in "${STREAMS[@]}"; do
        for lib in "${LIBS[@]}"; do
            "$BIN" --bench --warm-up-time 1 --measurement-time "$SECS" "^decode/$stream/$lib\$" >/dev/null 2>&1
            est="target/criterion/decode_$stream/$lib/new/estimates.json"
            python3 -c 'import json,sys; print(sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))["median"]["point_estimate"] / 1000)' \
                "$stream" "$lib" "$est" >>"$OUT"
            echo "round $round: $stream $lib done" >&2
        done
    done
done
python3 - "$OUT" "$ROUNDS" <<'EOF'
import sys
best = {}
for line in open(sys.argv[1]):
    stream, lib, us = line.split()
    best[(stream, lib)] = min(float(us), best.get((stream, lib), float("inf")))
streams = ["1000x16B", "1000x125B", "16x64KiB", "2x1024KiB"]
libs = ["rfc6455", "rfc6455_prefilled", "tungstenite", "fastwebsockets", "tokio_websockets"]
peers = ["tungstenite", "fastwebsockets", "tokio_websockets"]
print(f"Lowest median of {sys.argv[2]} rounds, µs per stream (lower is better); "
      "÷ columns: the peer's time over rfc6455's (above 1.00: rfc6455 is faster).")
print()
print("| stream | " + " | ".join(libs) + " | " + " | ".join("÷ " + p for p in peers) + " |")
print("|---|" + "---:|" * (len(libs) + len(peers)))
for s in streams:
    ours = best[(s, "rfc6455")]
    cells = [f"{best[(s, l)]:.1f}" for l in libs]
    ratios = [f"{best[(s, p)] / ours:.2f}" for p in peers]
    print(f"| {s} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
EOF
