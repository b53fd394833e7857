#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each (default 30).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Installs cargo-fuzz if missing. libFuzzer's sanitizer flags need nightly
# features; RUSTC_BOOTSTRAP=1 lets the stable compiler accept them. New
# inputs go to fuzz/target/corpus/<target> (not checked in); the hand-made
# seeds in fuzz/corpus/<target> are read only. Crashes land in
# fuzz/artifacts/<target>/. Before fuzzing, each target replays the inputs
# kept in fuzz/regressions/ and fuzz/artifacts-found/ whose names start with
# "<target>-" (set RFC6455_FUZZ_STRICT=1 to make the known crate issues they
# document fail). Prints the execution count per target and exits non-zero
# if any target found a crash (or failed to build).
set -uo pipefail

SECONDS_PER_TARGET=${1:-30}
shift || true
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/fuzz" || exit 2
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked || exit 2
fi

if [ $# -gt 0 ]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <(cargo fuzz list)
fi

cargo fuzz build || exit 2

LOGS=$(mktemp -d)
failed=()
summary=()
for t in "${TARGETS[@]}"; do
    work="$ROOT/fuzz/target/corpus/$t"
    mkdir -p "$work"
    echo "== $t (${SECONDS_PER_TARGET}s)" >&2
    mapfile -t saved < <(find "$ROOT/fuzz/regressions" "$ROOT/fuzz/artifacts-found" \
        -maxdepth 1 -type f -name "$t-*" ! -name '*.md' 2>/dev/null | sort)
    if [ ${#saved[@]} -gt 0 ] &&
        ! cargo fuzz run "$t" "${saved[@]}" -- -runs=1 >"$LOGS/$t.replay.log" 2>&1; then
        failed+=("$t")
        summary+=("$(printf '%-26s %12s        FAILED (a saved input crashes)' "$t" -)")
        grep -E 'panicked|ERROR|SUMMARY|Running:' "$LOGS/$t.replay.log" | head -20 >&2
        cp "$LOGS/$t.replay.log" "$ROOT/fuzz/target/$t.replay.log"
        echo "full log: fuzz/target/$t.replay.log" >&2
        continue
    fi
    cargo fuzz run "$t" "$work" "$ROOT/fuzz/corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 >"$LOGS/$t.log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$LOGS/$t.log" | grep -o '[0-9]*$' | tail -1)
    execs=${execs:-?}
    if [ $rc -ne 0 ]; then
        failed+=("$t")
        summary+=("$(printf '%-26s %12s execs  FAILED (exit %d)' "$t" "$execs" "$rc")")
        grep -E 'panicked|ERROR|SUMMARY|Test unit written|artifact_prefix' "$LOGS/$t.log" | head -20 >&2
        cp "$LOGS/$t.log" "$ROOT/fuzz/target/$t.last.log"
        echo "full log: fuzz/target/$t.last.log" >&2
    else
        summary+=("$(printf '%-26s %12s execs  ok' "$t" "$execs")")
    fi
done
rm -rf "$LOGS"

echo
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "crashes in: ${failed[*]}" >&2
    exit 1
fi
