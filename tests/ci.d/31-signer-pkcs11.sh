#!/usr/bin/env bash
# jit-signer with its Ed25519 key in a PKCS#11 token (SoftHSM2), end to end:
# the key is generated inside a throwaway token (SOFTHSM2_CONF points at a
# temporary directory; /etc/softhsm and /var/lib/softhsm are never touched),
# cannot be read out, signs tokens that jit-signer, the independent Python
# verifier and pam_jit under the real sudo accept, and every misuse is
# refused: wrong PIN, a PIN file readable by others, two keys with one label,
# RSA / P-256 keys, a key replaced in the token (hosts reject), a private key
# swapped under its public key (the signer refuses to publish).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
# shellcheck source=../e2e/lib.sh
. tests/e2e/lib.sh
MODULE=/usr/lib/softhsm/libsofthsm2.so
[ -f "$MODULE" ] || e2e_die "$MODULE missing (Debian package softhsm2)"
command -v softhsm2-util >/dev/null || e2e_die "softhsm2-util missing (Debian package softhsm2)"
command -v pkcs11-tool >/dev/null || e2e_die "pkcs11-tool missing (Debian package opensc)"
/usr/bin/python3 -c 'import cbor2, cryptography' || e2e_die "python3-cbor2 / python3-cryptography missing"

HSM=$(mktemp -d /tmp/jit-softhsm.XXXXXX)
export JIT_LEDGER="$HSM/ledger/ledger.log"   # the issuance ledger of this run
trap 'e2e_teardown; rm -rf "$HSM"; rm -f "$OUT" "$ERR"' EXIT
e2e_setup

# shellcheck source=../e2e/tally.sh
. tests/e2e/tally.sh

# --- a throwaway token ----------------------------------------------------------
mkdir "$HSM/tokens"
cat > "$HSM/softhsm2.conf" <<EOF
directories.tokendir = $HSM/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
export SOFTHSM2_CONF=$HSM/softhsm2.conf
unset JIT_PKCS11_PIN
PIN=e2e-user-pin-4711
softhsm2-util --init-token --free --label jit-e2e --so-pin e2e-so-pin --pin "$PIN" >/dev/null
umask 077
printf '%s\n' "$PIN" > "$HSM/pin"
umask 022
TOKEN_URI="pkcs11:token=jit-e2e?module-path=$MODULE"
KEY_URI="pkcs11:token=jit-e2e;object=e2e-hsm1?module-path=$MODULE"
tool() { pkcs11-tool --module "$MODULE" --token-label jit-e2e --login --pin "$PIN" "$@"; }

# signer ARGS...: run jit-signer as root; stdout/stderr/status in $OUT/$ERR/$RC.
signer() { set +e; "$BIN/jit-signer" "$@" >"$OUT" 2>"$ERR"; RC=$?; set -e; }
# hsm_issue URI [extra issue args...]: a token for $UA, /usr/bin/true on e2e-hosts.
hsm_issue() {
    local uri=$1; shift
    signer issue --pkcs11 "$uri" --pin-file "$HSM/pin" --user "$UA" --host-group e2e-hosts \
        --command /usr/bin/true --reason "e2e hsm" "$@"
}
# want NAME RC STDERR-SUBSTRING: check the last signer run.
want() {
    if [ "$RC" != "$2" ]; then bad "$1" "exit $RC, wanted $2"; return; fi
    if [ -n "$3" ] && ! grep -qF -- "$3" "$ERR"; then bad "$1" "stderr lacks '$3'"; return; fi
    ok "$1"
}

# --- key generated in the token ------------------------------------------------
signer keygen --kid e2e-hsm1 --pkcs11 "$TOKEN_URI" --pin-file "$HSM/pin"
want "keygen in the token" 0 ""
LINE=$(cat "$OUT")
case "$LINE" in
    "e2e-hsm1 ed25519 "???????????????????????????????????????????) ok "keygen prints the trusted-keys line" ;;
    *) bad "keygen output" "$LINE" ;;
esac
cat "$OUT" >> "$ROOT/keys/trusted-keys"
tool --list-objects --type privkey >"$OUT" 2>"$ERR" || true
if grep -q "EC_EDWARDS" "$OUT" && grep -qF "Access:     sensitive, always sensitive, never extractable, local" "$OUT" \
    && [ "$(grep -c 'Private Key Object' "$OUT")" = 1 ]; then
    ok "private key: EC_EDWARDS, sensitive, never extractable, generated on the token"
else RC=-; bad "private key attributes" "$(cat "$OUT")"; fi
pub_hex=$(tool --list-objects --type pubkey 2>/dev/null | sed -n 's/^ *EC_POINT: *0420//p')
line_hex=$(printf '%s' "${LINE##* }" | tr '_-' '/+' | { cat; printf '='; } | base64 -d | xxd -p -c 64)
[ -n "$pub_hex" ] && [ "$pub_hex" = "$line_hex" ] && ok "trusted-keys line carries the token's CKA_EC_POINT" \
    || { RC=-; bad "public key" "token $pub_hex, line $line_hex"; }
signer export-pub --pkcs11 "$KEY_URI" --pin-file "$HSM/pin"
[ "$RC" = 0 ] && [ "$(cat "$OUT")" = "$LINE" ] && ok "export-pub prints the same line" || bad "export-pub" "differs"
signer keygen --kid e2e-hsm1 --pkcs11 "$TOKEN_URI" --pin-file "$HSM/pin"
want "second keygen with the same label is refused" 3 "refusing"

# --- issue through the token; every verifier accepts -----------------------------
hsm_issue "$KEY_URI"
want "issue through the token" 0 ""
TOK=$(cat "$OUT")
signer inspect --trusted-keys "$ROOT/keys/trusted-keys" "$TOK"
want "jit-signer inspect --trusted-keys accepts it" 0 ""
grep -q '^kid: *e2e-hsm1$' "$OUT" && ok "token kid is the key label" || bad "kid" "$(head -3 "$OUT")"
set +e
/usr/bin/python3 tests/interop/verify_token.py token --trusted-keys "$ROOT/keys/trusted-keys" "$TOK" >"$OUT" 2>"$ERR"
RC=$?
set -e
[ "$RC" = 0 ] && grep -q '"ok"' "$OUT" && ok "independent Python verifier accepts it" || bad "python verifier" "$(cat "$OUT")"

# --- the real sudo ---------------------------------------------------------------
# sudo_as_a TOKEN CMD...: run sudo -n CMD as $UA with the token; remembers
# the log position so decision_is looks at this run's records only.
sudo_as_a() { local t=$1; shift; before=$(log_lines); as_user "$UA" JIT_TOKEN="$t" -- sudo -n "$@"; }
# decision_is "true ok": allowed flag and reason code of the (only) decision
# record written by the last sudo_as_a run.
decision_is() {
    local got
    got=$(/usr/bin/python3 - "$ROOT/log/audit.log" "$before" <<'PY'
import json, sys
try:
    lines = open(sys.argv[1], encoding="utf-8").read().splitlines()[int(sys.argv[2]):]
except FileNotFoundError:
    lines = []
decs = [json.loads(l) for l in lines if json.loads(l)["kind"] == "decision"]
print(" ".join(f"{str(d.get('allowed')).lower()} {d.get('reason_code')}" for d in decs))
PY
)
    [ "$got" = "$1" ] || { echo "     decisions: '$got'"; return 1; }
}
sudo_as_a "$TOK" /usr/bin/true
if [ "$RC" = 0 ] && decision_is "true ok"; then ok "sudo: the granted command runs"
else bad "sudo allowed" "see decisions above"; fi
sudo_as_a "$TOK" /usr/bin/id
if [ "$RC" != 0 ] && grep -qF "command not granted" "$ERR" && decision_is "false command_not_granted"; then
    ok "sudo: another command is denied"
else bad "sudo denied" "see decisions above"; fi

# --- PIN handling ------------------------------------------------------------------
printf '0000\n' > "$HSM/bad-pin"; chmod 600 "$HSM/bad-pin"
signer export-pub --pkcs11 "$KEY_URI" --pin-file "$HSM/bad-pin"
want "wrong PIN is refused" 5 "wrong PIN"
set +e; JIT_PKCS11_PIN=0000 "$BIN/jit-signer" export-pub --pkcs11 "$KEY_URI" >"$OUT" 2>"$ERR"; RC=$?; set -e
want "wrong PIN from JIT_PKCS11_PIN is refused" 5 "wrong PIN"
chmod 644 "$HSM/pin"
hsm_issue "$KEY_URI"
want "PIN file with mode 0644 is refused" 4 "group or others"
[ ! -s "$OUT" ] || bad "0644 PIN file" "a token was printed"
chmod 600 "$HSM/pin"
signer issue --pkcs11 "pkcs11:token=jit-e2e;object=e2e-hsm1?module-path=$MODULE&pin-value=$PIN" \
    --user "$UA" --host-group e2e-hosts --command /usr/bin/true --reason r
want "PIN in the URI is refused" 2 "never goes on a command line"

# --- keys that must not be used ------------------------------------------------------
tool --keypairgen --key-type EC:edwards25519 --label dup --id 01 >/dev/null 2>&1
tool --keypairgen --key-type EC:edwards25519 --label dup --id 02 >/dev/null 2>&1
hsm_issue "pkcs11:token=jit-e2e;object=dup?module-path=$MODULE"
want "two keys with the same label are refused" 4 "several keys match"
tool --keypairgen --key-type rsa:2048 --label rsa-1 --id 10 >/dev/null 2>&1
hsm_issue "pkcs11:token=jit-e2e;object=rsa-1?module-path=$MODULE"
want "an RSA key is refused" 4 "mechanism not supported"
tool --keypairgen --key-type EC:prime256v1 --label p256-1 --id 11 >/dev/null 2>&1
hsm_issue "pkcs11:token=jit-e2e;object=p256-1?module-path=$MODULE"
want "an EC P-256 key is refused" 4 "mechanism not supported"
hsm_issue "pkcs11:token=jit-other;object=e2e-hsm1?module-path=$MODULE"
want "unknown token is refused" 5 "token not found"
hsm_issue "pkcs11:token=jit-e2e;object=e2e-hsm9?module-path=$MODULE"
want "unknown key is refused" 4 "key not found"

# --- the key replaced in the token: hosts reject what it signs ------------------------
tool --delete-object --type privkey --label e2e-hsm1 >/dev/null 2>&1
tool --delete-object --type pubkey --label e2e-hsm1 >/dev/null 2>&1
signer keygen --kid e2e-hsm1 --pkcs11 "$TOKEN_URI" --pin-file "$HSM/pin"
want "another Ed25519 key generated under the same label" 0 ""
[ "$(cat "$OUT")" != "$LINE" ] || bad "replaced key" "same public key"
hsm_issue "$KEY_URI"
want "the signer issues with the replaced key (it has no pinned key to compare)" 0 ""
TOK2=$(cat "$OUT")
sudo_as_a "$TOK2" /usr/bin/true
if [ "$RC" != 0 ] && decision_is "false bad_signature"; then
    ok "sudo: a token from the replaced key is rejected (bad_signature)"
else bad "replaced key at the host" "see decisions above"; fi
set +e
/usr/bin/python3 tests/interop/verify_token.py token --trusted-keys "$ROOT/keys/trusted-keys" "$TOK2" >"$OUT" 2>"$ERR"
RC=$?
set -e
[ "$RC" = 1 ] && grep -q bad_signature "$OUT" && ok "Python verifier rejects it too" || bad "python replaced" "$(cat "$OUT")"

# --- a private key swapped under its public key: the signer refuses to publish --------
# (pkcs11-tool --list-objects does not filter by label: take the ID after it.)
id=$(tool --list-objects --type privkey 2>/dev/null \
    | awk '/^ *label: *e2e-hsm1$/ { f = 1; next } f && /^ *ID:/ { print $2; exit }')
[ -n "$id" ] || e2e_die "cannot find the id of key e2e-hsm1"
tool --keypairgen --key-type EC:edwards25519 --label e2e-hsm1 --id ee >/dev/null 2>&1
tool --delete-object --type privkey --id "$id" >/dev/null 2>&1
tool --delete-object --type pubkey --id ee >/dev/null 2>&1
tool --set-id "$id" --id ee --type privkey >/dev/null 2>&1
hsm_issue "$KEY_URI"
want "signature from another key than the token's public key is refused" 5 "does not verify under its public key"
[ ! -s "$OUT" ] || bad "swapped key" "a token was printed"

echo
tally_end signer-pkcs11
