#!/usr/bin/env bash
# Supply-chain checks with cargo-deny and the committed deny.toml: licences,
# bans (including duplicate versions) and sources always; advisories only when
# a RustSec database copy is available (CARGO_DENY_DB or ~/.cargo/advisory-dbs),
# since this machine cannot reach GitHub.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${JIT_CI_CACHE:-/var/cache/jit-ci}
export PATH="$CACHE/cargo-bin/bin:$HOME/.cargo/bin:$PATH"
if ! command -v cargo-deny >/dev/null; then
    cargo install --locked --root "$CACHE/cargo-bin" cargo-deny@0.16.2
fi
cargo deny --workspace --locked check licenses bans sources
if [ -d "${CARGO_DENY_DB:-$HOME/.cargo/advisory-dbs}" ] && [ -n "$(ls -A "${CARGO_DENY_DB:-$HOME/.cargo/advisory-dbs}" 2>/dev/null)" ]; then
    cargo deny --workspace --locked check --disable-fetch advisories
else
    echo "deny: advisories not checked (no RustSec database copy on this machine)"
fi
