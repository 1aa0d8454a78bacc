#!/usr/bin/env bash
# Run every cargo-fuzz target for SECONDS each (default 20: the brief CI run;
# use 600 or more for a real campaign). Seeds come from fuzz/corpus/TARGET
# (committed, derived from the golden vectors); new inputs go to
# $JIT_FUZZ_WORK/corpus/TARGET outside the repository. A crash fails the run
# and leaves its input in fuzz/artifacts/TARGET/ — turn it into a regression test.
# cargo-fuzz needs nightly features: RUSTC_BOOTSTRAP=1 enables them on stable.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-20}
CACHE=${JIT_CI_CACHE:-/var/cache/jit-ci}
WORK=${JIT_FUZZ_WORK:-/var/tmp/jit-fuzz}
export PATH="$CACHE/cargo-bin/bin:$HOME/.cargo/bin:$PATH"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$CACHE/fuzz-target"
if ! command -v cargo-fuzz >/dev/null; then
    cargo install --locked --root "$CACHE/cargo-bin" cargo-fuzz@0.13.2
fi
targets=${JIT_FUZZ_TARGETS:-$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^jit-fuzz$')}
cd fuzz
for t in $targets; do
    mkdir -p "$WORK/corpus/$t" "corpus/$t"
    echo "== fuzz $t for ${SECONDS_EACH}s"
    cargo fuzz run -O "$t" "$WORK/corpus/$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_EACH" -max_len=16384 -print_final_stats=1 2>&1 \
        | grep -E '^(Done|stat::number_of_executed_units|==|.*(panicked|SUMMARY|crash-|ERROR))' || true
    if [ -n "$(ls -A "artifacts/$t" 2>/dev/null)" ]; then
        echo "fuzz: $t found crashes: $(ls "artifacts/$t")" >&2
        exit 1
    fi
done
echo "fuzz: no crashes"
