#!/usr/bin/env bash
# Golden log vectors: (1) regenerate with the seeded generator and diff against
# docs/vectors/log; (2) re-check intact.log against the spec with independent tools
# (b3sum, xxd, jq): hash = derive_key("jit log record hash v1", line minus 150-byte suffix),
# seal = keyed(k_i, hash), k_{i+1} = derive_key("jit log seal key evolve v1", k_i);
# (3) the CLI exits as expected.json says for every case.
set -euo pipefail
cd "$(dirname "$0")/../.."
T="${CARGO_TARGET_DIR:-$PWD/target}"
for t in b3sum xxd jq; do command -v $t >/dev/null || { echo "FAIL: $t not installed"; exit 1; }; done
cargo build --release --locked -q -p jit-core --example gen_log_vectors
cargo build --release --locked -q -p jit-verify
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
V=docs/vectors/log

"$T/release/examples/gen_log_vectors" "$W/gen" 2>/dev/null
for f in "$W"/gen/*; do
    cmp "$f" "$V/$(basename "$f")" || { echo "FAIL: regenerated $(basename "$f") differs from $V"; exit 1; }
done
[ "$(ls "$W/gen" | wc -l)" = "$(ls "$V" | grep -vc README.md)" ] || { echo "FAIL: file sets differ"; exit 1; }

# Independent check of the exact bytes hashed and sealed, for the host-log
# vector and the issuance-ledger vector (same format, same key).
recheck() {
    key_hex=$(sed -n 's/.* key=\([0-9a-f]\{64\}\)$/\1/p' "$V/seal-key.initial")
    echo "$key_hex" | xxd -r -p >"$W/k"
    prev=$(printf '0%.0s' $(seq 1 64))
    n=0
    while IFS= read -r line; do
        printf '%s\n' "$line" >"$W/line"
        len=$(stat -c %s "$W/line")
        head -c $((len - 150)) "$W/line" >"$W/body"
        want_hash=$(jq -r .hash <<<"$line"); want_seal=$(jq -r .seal <<<"$line")
        [ "$(jq -r .prev <<<"$line")" = "$prev" ] || { echo "FAIL: $1 record $n prev"; exit 1; }
        [ "$(jq -r .seq <<<"$line")" = "$n" ] || { echo "FAIL: $1 record $n seq"; exit 1; }
        h=$(b3sum --no-names --derive-key "jit log record hash v1" "$W/body")
        [ "$h" = "$want_hash" ] || { echo "FAIL: $1 record $n hash $h != $want_hash"; exit 1; }
        echo "$h" | xxd -r -p >"$W/h"
        s=$(b3sum --no-names --keyed "$W/h" <"$W/k")
        [ "$s" = "$want_seal" ] || { echo "FAIL: $1 record $n seal"; exit 1; }
        b3sum --raw --derive-key "jit log seal key evolve v1" "$W/k" >"$W/k2"; mv "$W/k2" "$W/k"
        prev=$h; n=$((n + 1))
    done <"$V/$1"
    echo "spec re-check: $n records of $1 match (b3sum)"
}
recheck ledger.log
[ "$(jq -r .kind "$V/ledger.log" | sort -u | tr '\n' ' ')" = "issued refused revoked start " ] \
    || { echo "FAIL: ledger.log does not hold every ledger kind"; exit 1; }
recheck intact.log
# The state's key is k_n.
[ "$(xxd -p -c 256 "$W/k")" = "$(xxd -s $(( ( (n - 1) % 2) * 256 + 48)) -l 32 -p -c 256 "$V/intact.state")" ] \
    || { echo "FAIL: intact.state does not hold k_$n"; exit 1; }
# It repeats the key id (first 16 bytes of derive_key("jit log seal key id v1", k0))
# and holds the log's size after its head record (u64 le).
slot=$(( ( (n - 1) % 2) * 256 ))
sed -n 's/.* key=\([0-9a-f]\{64\}\)$/\1/p' "$V/seal-key.initial" | xxd -r -p >"$W/k0"
[ "$(b3sum --no-names --derive-key "jit log seal key id v1" "$W/k0" | cut -c1-32)" \
    = "$(xxd -s $((slot + 120)) -l 16 -p "$V/intact.state")" ] \
    || { echo "FAIL: intact.state does not repeat the key id"; exit 1; }
[ "$(xxd -s $((slot + 112)) -l 8 -e -g 8 "$V/intact.state" | awk '{print $2}')" \
    = "$(printf '%016x' "$(stat -c %s "$V/intact.log")")" ] \
    || { echo "FAIL: intact.state does not hold intact.log's size"; exit 1; }

# The CLI gives every case its expected exit code.
jq -c '.[]' "$V/expected.json" | while IFS= read -r c; do
    args=(log)
    [ "$(jq -r .seal_key <<<"$c")" = true ] && args+=(--seal-key "$V/seal-key.initial")
    st=$(jq -r .state <<<"$c"); [ "$st" != null ] && args+=(--state "$V/$st")
    mapfile -t files < <(jq -r '.files[]' <<<"$c")
    rc=0; "$T/release/jit-verify" "${args[@]}" "${files[@]/#/$V/}" >/dev/null || rc=$?
    want=$(jq -r .exit_code <<<"$c")
    [ "$rc" = "$want" ] || { echo "FAIL: $(jq -r .name <<<"$c"): exit $rc, expected $want"; exit 1; }
done
echo "ok: log vectors"
