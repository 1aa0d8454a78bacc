#!/usr/bin/env bash
# The test suite: unit and integration tests (cargo test), then every
# end-to-end script in tests/ci.d/ in name order. Run as root: the end-to-end
# tests drive the real sudo as an unprivileged test user.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "tests/run.sh: run as root (the end-to-end tests drive the real sudo)" >&2
    exit 2
fi
bash tools/install-deps.sh || exit 1
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

echo "== cargo test"
bash tools/build-release.sh || exit 1
cargo test --workspace --release --locked || exit 1

passed=0; failed=0; failed_names=()
for t in tests/ci.d/*.sh; do
    [ -e "$t" ] || continue
    echo "== $t"
    # One end-to-end script at a time on this machine: they share fixed
    # users, PAM service and sudoers names (tests/e2e/lib.sh).
    if flock /run/jit-e2e.lock bash "$t"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1)); failed_names+=("$t")
    fi
done
echo
for n in "${failed_names[@]}"; do echo "FAILED: $n"; done
echo "e2e: $passed passed, $failed failed"
[ "$failed" = 0 ]
