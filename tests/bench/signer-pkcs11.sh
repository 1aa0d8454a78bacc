#!/usr/bin/env bash
# Benchmark: `jit-signer issue` as operators run it, one process per token,
# with the key in a throwaway SoftHSM2 token (--pkcs11, module load + login +
# C_Sign + verification each time) versus a key file (--key). Prints the
# median of RUNS runs of N sequential issuances, as tokens/s, for both.
# In-process figures (session already open): cargo bench -p jit-signer --bench pkcs11.
# Usage: BIN=target/release bash tests/bench/signer-pkcs11.sh [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-50}
RUNS=${2:-5}
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
MODULE=/usr/lib/softhsm/libsofthsm2.so
[ -x "$BIN/jit-signer" ] || { echo "build jit-signer first" >&2; exit 1; }
[ -f "$MODULE" ] || { echo "$MODULE missing (Debian package softhsm2)" >&2; exit 1; }

tmp=$(mktemp -d)
export JIT_LEDGER="$tmp/ledger/ledger.log"   # issuance is recorded, as in production
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
    "$tmp" > "$tmp/softhsm2.conf"
export SOFTHSM2_CONF=$tmp/softhsm2.conf
unset JIT_PKCS11_PIN
softhsm2-util --init-token --free --label bench --so-pin bench-so --pin bench-user >/dev/null
(umask 077; echo bench-user > "$tmp/pin")
"$BIN/jit-signer" keygen --kid bench-hsm --pkcs11 "pkcs11:token=bench?module-path=$MODULE" \
    --pin-file "$tmp/pin" >/dev/null
"$BIN/jit-signer" keygen --kid bench-file --out "$tmp/keys" >/dev/null

common=(--user alice --host-group web --command '/usr/bin/systemctl restart nginx'
        --reason 'INC-4711 nginx 502 after config push' --ttl 30m)
hsm=(--pkcs11 "pkcs11:token=bench;object=bench-hsm?module-path=$MODULE" --pin-file "$tmp/pin")
file=(--key "$tmp/keys/bench-file.key")

# run_rate ARGS...: tokens/s of N sequential `jit-signer issue ARGS`.
run_rate() {
    local t0 t1
    t0=$(date +%s%N)
    for _ in $(seq "$N"); do "$BIN/jit-signer" issue "$@" "${common[@]}" >/dev/null; done
    t1=$(date +%s%N)
    echo "$N $t0 $t1" | awk '{ printf "%.1f\n", $1 / (($3 - $2) / 1e9) }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

rh=(); rf=()
for _ in $(seq "$RUNS"); do   # alternate so both see the same machine load
    rh+=("$(run_rate "${hsm[@]}")")
    rf+=("$(run_rate "${file[@]}")")
done
mh=$(printf '%s\n' "${rh[@]}" | median)
mf=$(printf '%s\n' "${rf[@]}" | median)
echo "jit-signer issue, one process per token (median of $RUNS x $N):"
echo "  --pkcs11 (SoftHSM2): $mh tokens/s   runs: ${rh[*]}"
echo "  --key file:          $mf tokens/s   runs: ${rf[*]}"
