#!/usr/bin/env bash
# Benchmark: SSH certificates (docs/ssh-cert.md).
#  1. in process (cargo bench -p jit-core --bench ssh_cert): profile, sign and
#     the check after signing, with a key file; prints the median rate of 5 x
#     2000 issuances against the target of >= 10,000 certificates/s, beside
#     in-process token issuance of the same run;
#  2. `jit-signer issue` as the key holder runs it, one process each, ledger
#     recorded and the certificate file written: the median of RUNS runs of N
#     sequential issuances, for a certificate alone, certificate + token, and
#     a token alone, interleaved so all three see the same load.
# Through the signing service: phase 2 (the service does not issue
# certificates yet).
# Usage: BIN=target/release bash tests/bench/ssh-cert-bench.sh [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-50}
RUNS=${2:-5}
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
[ -x "$BIN/jit-signer" ] || { echo "build first: tools/build-release.sh" >&2; exit 1; }

echo "== 1. in process (cargo bench -p jit-core --bench ssh_cert)"
cargo bench -q -p jit-core --bench ssh_cert -- --noplot 2>&1 \
    | grep -E '^ssh_cert|time:|in-process' | sed 's/^/   /'

tmp=$(mktemp -d)
export JIT_LEDGER="$tmp/ledger/ledger.log"   # issuance is recorded, as in production
trap 'rm -rf "$tmp"' EXIT
"$BIN/jit-signer" keygen --kid bench-tok --out "$tmp/keys" >/dev/null
"$BIN/jit-signer" keygen --kid bench-ca --out "$tmp/keys" >/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$tmp/id"

common=(--user alice --host-group web --reason 'INC-4711 nginx 502 after config push')
cert=(--ssh-ca "$tmp/keys/bench-ca.key" --ssh-key "$tmp/id.pub")
tok=(--key "$tmp/keys/bench-tok.key" --command '/usr/bin/systemctl restart nginx' --ttl 30m)

# run_rate ARGS...: issuances/s of N sequential `jit-signer issue ARGS`.
run_rate() {
    local t0 t1
    t0=$(date +%s%N)
    for _ in $(seq "$N"); do "$BIN/jit-signer" issue "$@" "${common[@]}" >/dev/null 2>&1; done
    t1=$(date +%s%N)
    echo "$N $t0 $t1" | awk '{ printf "%.1f\n", $1 / (($3 - $2) / 1e9) }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

rc=(); rb=(); rt=()
for _ in $(seq "$RUNS"); do
    rc+=("$(run_rate "${cert[@]}")")
    rb+=("$(run_rate "${cert[@]}" "${tok[@]}")")
    rt+=("$(run_rate "${tok[@]}")")
done
"$BIN/jit-signer" issue "${cert[@]}" "${common[@]}" 2>/dev/null
ssh-keygen -L -f "$tmp/id-cert.pub" >/dev/null || { echo "the last certificate does not read" >&2; exit 1; }
echo "== 2. jit-signer issue, one process each (median of $RUNS x $N, key files, ledger recorded)"
printf '   certificate alone:     %s /s\n' "$(printf '%s\n' "${rc[@]}" | median)"
printf '   certificate + token:   %s /s\n' "$(printf '%s\n' "${rb[@]}" | median)"
printf '   token alone:           %s /s\n' "$(printf '%s\n' "${rt[@]}" | median)"
