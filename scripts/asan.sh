#!/usr/bin/env bash
# AddressSanitizer over the code around the crate's `unsafe` blocks:
#   src/proto/mask.rs        the AVX2 unmasking loop (payloads of 128 bytes and up)
#   src/proto/text.rs,       text whose UTF-8 was validated, taken unchecked
#   src/proto/connection/receive.rs
#   src/tokio/stream.rs      reads into a buffer's uninitialised capacity
#
#   bash scripts/asan.sh [--no-fuzz]
#
# 1. A canary: a two-line program that overflows a heap buffer, built with
#    the same flags, must be stopped by ASan (else the step proves nothing).
# 2. The unit tests and the test binaries that drive those paths (the core's
#    connection tests, both adapters over loopback, broadcast, streaming,
#    the chunking properties), built with -Zsanitizer=address (nightly
#    flags on the stable toolchain through RUSTC_BOOTSTRAP=1; --target so
#    that build scripts and proc macros stay uninstrumented; no doctests),
#    leak detection on.
# 3. Unless --no-fuzz: every fuzz target replays its corpus once (the seeds
#    of fuzz/corpus/<target> and whatever scripts/fuzz.sh found into
#    fuzz/target/corpus/<target>), in cargo-fuzz's build, which is
#    instrumented with ASan too (`-s address`, its default).
# The behaviour suite (tests/behaviour, ~1 min, mostly waiting on timers) is
# left out to keep this step short; the adapters' own tests cover the tokio
# read path. Exits non-zero on any ASan report or test failure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
FUZZ=1
case ${1:-} in
    --no-fuzz) FUZZ=0 ;;
    "") ;;
    *)
        echo "usage: $0 [--no-fuzz]" >&2
        exit 2
        ;;
esac
TARGET=x86_64-unknown-linux-gnu
export RUSTC_BOOTSTRAP=1
export ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1

SYSROOT=$(rustc --print sysroot)
if ! ls "$SYSROOT/lib/rustlib/$TARGET/lib/"*asan* >/dev/null 2>&1; then
    echo "no ASan runtime in $SYSROOT/lib/rustlib/$TARGET/lib (librustc-*_rt.asan.a)" >&2
    exit 1
fi

echo "== canary: ASan must catch a heap overflow" >&2
CANARY=$(mktemp -d)
trap 'rm -rf "$CANARY"' EXIT
cat >"$CANARY/canary.rs" <<'EOF'
fn main() {
    let v = vec![0u8; 8];
    let i = std::hint::black_box(8);
    // SAFETY: none; this is the overflow ASan must report.
    println!("{}", unsafe { *v.as_ptr().add(i) });
}
EOF
rustc -Zsanitizer=address --target "$TARGET" -g -o "$CANARY/canary" "$CANARY/canary.rs"
if "$CANARY/canary" >"$CANARY/out" 2>&1 || ! grep -q 'AddressSanitizer: heap-buffer-overflow' "$CANARY/out"; then
    echo "the canary's overflow was not reported: ASan is not working here" >&2
    cat "$CANARY/out" >&2
    exit 1
fi
echo "caught: $(grep -m1 -o 'AddressSanitizer: heap-buffer-overflow.*' "$CANARY/out")" >&2

echo "== unit and connection tests under ASan" >&2
RUSTFLAGS="-Zsanitizer=address" cargo test --target "$TARGET" \
    --lib --test connection --test tokio --test blocking --test broadcast --test streaming \
    --test properties

if ((FUZZ)); then
    echo "== fuzz corpora under ASan (cargo-fuzz's build)" >&2
    cd "$ROOT/fuzz"
    if ! cargo fuzz --version >/dev/null 2>&1; then
        cargo install cargo-fuzz --locked
    fi
    cargo fuzz build -s address
    total=0
    for t in $(cargo fuzz list); do
        dirs=("corpus/$t")
        [[ -d target/corpus/$t ]] && dirs+=("target/corpus/$t")
        n=$(find "${dirs[@]}" -type f | wc -l)
        if ! cargo fuzz run -s address "$t" "${dirs[@]}" -- -runs=0 >"$CANARY/$t.log" 2>&1; then
            grep -E 'ERROR|SUMMARY|panicked' "$CANARY/$t.log" | head -20 >&2
            echo "fuzz target $t failed on its corpus under ASan" >&2
            exit 1
        fi
        echo "$t: $n inputs, no report" >&2
        total=$((total + n))
    done
    echo "fuzz corpora: $total inputs over $(cargo fuzz list | wc -l) targets, no ASan report" >&2
fi
echo "asan: no AddressSanitizer report"
