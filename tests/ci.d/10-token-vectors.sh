#!/usr/bin/env bash
# Token format cross-checks (docs/token-format.md):
#  1. regenerate docs/vectors with the seeded generator and diff (byte-identical);
#     the generator itself fails if the Rust verifier's outcome differs from the
#     expected one for any vector;
#  2. the independent Python verifier (cbor2 + cryptography) must reach the
#     expected outcome on every vector;
#  3. tokens freshly issued by the jit-signer binary, and corrupted variants of
#     them, must get the same outcome from Rust (`xtask decide`: jit-core's
#     decision) and Python.
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
SIGNER="$TARGET/release/jit-signer"
XTASK="$TARGET/release/xtask"   # development tasks: vector generator, decide
PY=/usr/bin/python3
VERIFY=tests/interop/verify_token.py

fail() { echo "10-token-vectors: FAIL: $*" >&2; exit 1; }
[ -x "$SIGNER" ] || fail "$SIGNER not built (tests/run.sh builds it with cargo build --release)"
cargo build --release --locked -q -p xtask || fail "cannot build xtask"
"$PY" -c 'import cbor2, cryptography' || fail "python3-cbor2 / python3-cryptography missing"

tmp=$(mktemp -d)
export JIT_LEDGER="$tmp/ledger/ledger.log"   # jit-signer records every issue
trap 'rm -rf "$tmp"' EXIT

echo "-- regenerate vectors and diff"
"$XTASK" gen-vectors --out "$tmp/vectors" || fail "generator failed (Rust outcome differs from expected?)"
# docs/vectors/log/ belongs to the log vectors (tests/ci.d/22-log-vectors.sh).
diff -r -x log docs/vectors "$tmp/vectors" || fail "docs/vectors differs from the generator's output"
nvec=$(ls docs/vectors/*.token | wc -l)
[ "$nvec" -ge 40 ] || fail "only $nvec vectors"

echo "-- Python verifier over the vectors"
"$PY" "$VERIFY" vectors docs/vectors > "$tmp/py.txt" || { cat "$tmp/py.txt"; fail "Python disagrees on a vector"; }
tail -1 "$tmp/py.txt"

echo "-- Python revocation verifier over docs/vectors/revocation (docs/revocation.md)"
command -v b3sum >/dev/null || fail "b3sum not installed"
"$PY" tests/interop/verify_revocation.py vectors docs/vectors/revocation || fail "Python disagrees on a revocation vector"

echo "-- Python service protocol decoder over docs/vectors/service (docs/signer-service.md)"
"$PY" tests/interop/verify_service.py docs/vectors/service/vectors.json || fail "Python disagrees on a service protocol vector"

echo "-- Python SSH certificate checker over docs/vectors/ssh (docs/ssh-cert.md)"
"$PY" tests/interop/verify_ssh_cert.py docs/vectors/ssh || fail "Python disagrees on an SSH certificate vector"
nssh=$(ls docs/vectors/ssh/*-cert.pub | wc -l)
[ "$nssh" -ge 8 ] || fail "only $nssh SSH certificate vectors"

echo "-- fresh tokens from jit-signer: Rust vs Python"
"$SIGNER" keygen --kid ci-1 --out "$tmp/keys" >/dev/null
KEY="$tmp/keys/ci-1.key"
PUB="$tmp/keys/ci-1.pub"
now=$(date +%s)
compare() { # token now invocation-json label
    local tok=$1 at=$2 inv=$3 label=$4 rust py
    rust=$("$XTASK" decide --trusted-keys "$PUB" --now "@$at" --invocation "$inv" "$tok" \
        | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["reason"])') || true
    py=$("$PY" "$VERIFY" token --trusted-keys "$PUB" --now "$at" --invocation "$inv" "$tok" \
        | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["reason"])') || true
    [ -n "$rust" ] && [ -n "$py" ] || fail "$label: no outcome (rust='$rust' python='$py')"
    [ "$rust" = "$py" ] || fail "$label: Rust says $rust, Python says $py (token $tok)"
    checked=$((checked + 1))
    last=$rust
}
checked=0
inv_exec='{"user":"alice","host_groups":["web"],"action":{"exec":["/usr/bin/systemctl","restart","my unit"]},"run_as_user":"root","run_as_group":null}'
inv_any='{"user":"alice","host_groups":["web"],"action":{"exec":["/usr/bin/journalctl","-u","nginx","-f"]},"run_as_user":"root","run_as_group":null}'
inv_shell='{"user":"alice","host_groups":["web"],"action":{"shell":{"login":true,"argv":["/bin/bash"]}},"run_as_user":"postgres","run_as_group":"adm"}'
inv_edit='{"user":"alice","host_groups":["web"],"action":{"edit":["/etc/hosts"]},"run_as_user":"root","run_as_group":null}'
inv_bob='{"user":"bob","host_groups":["web"],"action":"list","run_as_user":"root","run_as_group":null}'

t1=$("$SIGNER" issue --key "$KEY" --user alice --host-group web --host-group eu \
    --command "/usr/bin/systemctl restart 'my unit'" --command "/usr/bin/journalctl -u nginx ..." \
    --reason "CI interop" --ticket CI-1 --ttl 30m)
t2=$("$SIGNER" issue --key "$KEY" --user alice --host-group web --shell --edit /etc/hosts \
    --run-as root --run-as postgres --run-as-group adm --approver bob --break-glass \
    --reason "CI interop, every claim" --ttl 2h)
t3=$("$SIGNER" issue --key "$KEY" --user alice --host-group web --command /bin/true \
    --not-before +1h --ttl 1m --reason "CI future")
for inv in "$inv_exec" "$inv_any" "$inv_shell" "$inv_edit" "$inv_bob"; do
    for tok in "$t1" "$t2" "$t3"; do
        for at in "$now" "$((now + 3600))" "$((now + 3600 + 60 + 59))" "$((now + 3600 + 120))" "$((now + 86400))"; do
            compare "$tok" "$at" "$inv" "fresh token at $at"
        done
    done
done
compare "$t1" "$now" "$inv_exec" "t1 exec"; [ "$last" = ok ] || fail "fresh token t1 not accepted: $last"
compare "$t2" "$now" "$inv_shell" "t2 shell"; [ "$last" = ok ] || fail "fresh token t2 not accepted: $last"
compare "$t2" "$now" "$inv_edit" "t2 edit"; [ "$last" = ok ] || fail "fresh token t2 edit not accepted: $last"
compare "$t3" "$now" "$inv_exec" "t3 early"; [ "$last" = not_yet_valid ] || fail "t3: $last"
compare "$t1" "$((now + 86400))" "$inv_exec" "t1 late"; [ "$last" = expired ] || fail "t1 late: $last"

# inspect (Rust, no invocation) must also accept the fresh tokens.
for tok in "$t1" "$t2"; do
    "$SIGNER" inspect --trusted-keys "$PUB" "$tok" >/dev/null || fail "inspect rejects a fresh token"
done

echo "-- corrupted fresh tokens: Rust vs Python"
alphabet=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_
rejected=0
for tok in "$t1" "$t2"; do
    len=${#tok}
    for ((i = 0; i < len; i += 4)); do
        c=${tok:i:1}
        j=$(( (i * 7 + 5) % 64 ))
        r=${alphabet:j:1}
        [ "$r" = "$c" ] && r=${alphabet:$(( (j + 1) % 64 )):1}
        bad="${tok:0:i}${r}${tok:i+1}"
        compare "$bad" "$now" "$inv_exec" "corrupt@$i"
        [ "$last" != ok ] && rejected=$((rejected + 1))
    done
    compare "${tok}A" "$now" "$inv_exec" "appended char"
    compare "${tok:0:len-1}" "$now" "$inv_exec" "dropped char"
done
[ "$rejected" -gt 80 ] || fail "too few corrupted tokens rejected ($rejected)"
echo "-- fresh revocation lists from jit-signer revoke, and corrupted variants: Rust vs Python"
"$SIGNER" revoke --key "$KEY" --state "$tmp/rev" --token "$t1" --token "$t2" --user mallory \
    --user alice --before >/dev/null || fail "revoke failed"
"$SIGNER" revoke --key "$KEY" --state "$tmp/rev" --token-id 00112233445566778899aabbccddeeff >/dev/null \
    || fail "second revoke failed"
# Certificates and keys (docs/revocation.md §2.1): the corrupted variants
# below are made from this list, which holds every kind of entry.
ssh-keygen -q -t ed25519 -N '' -C ci-ca -f "$tmp/ssh-ca"
ssh-keygen -q -t rsa -b 2048 -N '' -C ci-user -f "$tmp/ssh-user"
"$SIGNER" revoke --key "$KEY" --state "$tmp/rev" --ssh-serial 7 --ssh-serial 4711 --ssh-ca "$tmp/ssh-ca.pub" \
    --ssh-key-id grant-ci --ssh-key "$tmp/ssh-user.pub" \
    --ssh-key "$(ssh-keygen -l -f "$tmp/ssh-ca.pub" | cut -d' ' -f2)" >/dev/null || fail "SSH revoke failed"
list_cmp() { # FILE label
    local rust py
    rust=$("$SIGNER" revoke --state "$tmp/rev" --show --list "$1" --trusted-keys "$PUB" --json 2>/dev/null \
        | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["reason"])') || true
    py=$("$PY" tests/interop/verify_revocation.py list --trusted-keys "$PUB" "$1" \
        | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["reason"])') || true
    [ -n "$rust" ] && [ -n "$py" ] || fail "$2: no outcome (rust='$rust' python='$py')"
    [ "$rust" = "$py" ] || fail "$2: Rust says $rust, Python says $py"
    last=$rust; lists=$((lists + 1))
}
lists=0
list_cmp "$tmp/rev/revocation.list" "fresh list"; [ "$last" = ok ] || fail "fresh list rejected: $last"
lt=$(tr -d '\n' < "$tmp/rev/revocation.list")
for ((i = 0; i < ${#lt}; i += 3)); do
    c=${lt:i:1}; j=$(( (i * 7 + 5) % 64 )); r=${alphabet:j:1}
    [ "$r" = "$c" ] && r=${alphabet:$(( (j + 1) % 64 )):1}
    printf '%s\n' "${lt:0:i}${r}${lt:i+1}" > "$tmp/bad.list"
    list_cmp "$tmp/bad.list" "list corrupt@$i"
    [ "$last" = ok ] && fail "corrupted list accepted at $i"
done
echo "   $lists lists: Rust and Python agree"

echo "10-token-vectors: ok ($nvec vectors; $checked Rust/Python comparisons agree)"
