#!/usr/bin/env bash
# The release build of what ships, in two cargo invocations:
#
#   jit-signer, jit-verify, jit-krl  TARGET/release/  cargo build --release
#   pam_jit.so              TARGET/pam/libpam_jit.so
#                           cargo build --config pam_jit/cold-start.toml --profile pam
#
# (TARGET: CARGO_TARGET_DIR, default ./target.) The module's cold-start
# settings (no SIMD code and no CPU feature probes in BLAKE3, SHA-512 and
# curve25519) must not reach the command-line tools, and cargo merges a
# crate's features and the compiler flags over everything one invocation
# builds; hence two invocations. Packages, tests, benches and the demo all
# use this build. Extra arguments (-q, -v) go to both invocations.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked "$@" -p jit-signer -p jit-verify -p jit-krl
cargo build --config pam_jit/cold-start.toml --profile pam --locked "$@" -p pam_jit
