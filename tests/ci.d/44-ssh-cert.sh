#!/usr/bin/env bash
# SSH certificates from a grant (docs/ssh-cert.md), end to end with the real
# OpenSSH: an sshd of this test's own (tests/e2e/sshd.sh: 127.0.0.1, a free
# high port, own configuration, host key and pid file) that trusts the test's
# CA (TrustedUserCAKeys) and names the accepted principals per user
# (AuthorizedPrincipalsFile in the test directory); the test user has no
# authorized_keys once sshd is up, so only a certificate logs in. Every
# certificate comes from `jit-signer issue --ssh-key` (the key holder's path)
# and is read back with `ssh-keygen -L`. Outcomes are asserted on ssh's exit
# status and output and on sshd's own log lines, never on timing.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
# shellcheck source=../e2e/lib.sh
. tests/e2e/lib.sh
# shellcheck source=../e2e/sshd.sh
. tests/e2e/sshd.sh

S=$ROOT/ssh
cleanup() {
    sshd_stop
    e2e_teardown
    rm -f "$OUT" "$ERR"
}
trap cleanup EXIT
e2e_setup
# shellcheck source=../e2e/tally.sh
. tests/e2e/tally.sh

# The CA (a key of its own, docs/ssh-cert.md §1) and a second CA no host trusts.
"$BIN/jit-signer" keygen --kid e2e-ssh-ca --out "$ROOT/signer" >/dev/null
"$BIN/jit-signer" keygen --kid e2e-ssh-rogue --out "$ROOT/signer" >/dev/null
CA=$ROOT/signer/e2e-ssh-ca.key
ROGUE=$ROOT/signer/e2e-ssh-rogue.key

sshd_setup "$S" "$UA"
install -d -m 0755 "$S/principals"
"$BIN/jit-signer" export-pub --key "$CA" --ssh > "$S/ca.pub"
echo "$UA@e2e-hosts" > "$S/principals/$UA"
chmod 0644 "$S/ca.pub" "$S/principals/$UA"
# Included before the main configuration, so these win over its values
# (sshd takes the first): forwarding is allowed by sshd, so a refusal below
# comes from the certificate; JIT_TOKEN is accepted (what jit-ctl enable
# --ssh installs); VERBOSE logs certificate refusals with their reason.
cat > "$S/sshd_config.d/cert.conf" <<EOF
TrustedUserCAKeys $S/ca.pub
AuthorizedPrincipalsFile $S/principals/%u
AllowTcpForwarding yes
AcceptEnv JIT_TOKEN
LogLevel VERBOSE
EOF
"$SSHD" -t -f "$S/sshd_config" || e2e_die "sshd configuration with the CA does not check"
sshd_start
"$SSHD" -T -f "$S/sshd_config" -C user="$UA",host=localhost,addr=127.0.0.1 >"$S/sshd-T" 2>&1 || true
if grep -qix "trustedusercakeys $S/ca.pub" "$S/sshd-T" && grep -qix "allowtcpforwarding yes" "$S/sshd-T"; then
    ok "sshd of the test: TrustedUserCAKeys and AuthorizedPrincipalsFile of its own, forwarding allowed by sshd"
else
    bad "sshd -T" "$(grep -iE 'trustedusercakeys|allowtcpforwarding|authorizedprincipalsfile' "$S/sshd-T")"
fi
# From now on only a certificate logs the user in.
rm -f "$S/authorized_keys/$UA"
cp "$S/client-$UA/config" "$S/ssh_config"
KEY=$S/client-$UA/key
CERT=$KEY-cert.pub

# [HG=GROUP] issue_cert [jit-signer issue args...]: a certificate for the
# test user's key from the key holder (host group e2e-hosts unless HG); sets GID (the grant id = key id) and SERIAL; the
# JSON answer is in $S/issue.json.
issue_cert() {
    set +e
    "$BIN/jit-signer" issue --ledger "$E2E_LEDGER" --ssh-ca "$CA" --ssh-key "$KEY.pub" \
        --user "$UA" --host-group "${HG:-e2e-hosts}" --reason "e2e ssh cert" --json "$@" \
        >"$S/issue.json" 2>"$ERR"
    RC=$?
    set -e
    GID=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ssh_certificate"]["key_id"])' "$S/issue.json" 2>/dev/null || true)
    SERIAL=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ssh_certificate"]["serial"])' "$S/issue.json" 2>/dev/null || true)
    [ "$RC" = 0 ] && [ -n "$GID" ] || e2e_die "issue --ssh-key failed (rc $RC): $(cat "$ERR")"
}

# keygen_l NAME LINE...: `ssh-keygen -L` of the current certificate holds
# every LINE (whole lines, leading blanks ignored).
keygen_l() {
    local name=$1 l; shift
    if ! ssh-keygen -L -f "$CERT" >"$S/keygen-L" 2>&1; then
        bad "$name: ssh-keygen -L" "$(cat "$S/keygen-L")"; return
    fi
    for l in "$@"; do
        sed 's/^[[:space:]]*//; s/[[:space:]]*$//' "$S/keygen-L" | grep -qxF -- "$l" \
            || { bad "$name: ssh-keygen -L" "no line '$l' in: $(cat "$S/keygen-L")"; return; }
    done
    ok "$name: ssh-keygen -L reads it (${*:1:2} ...)"
}

# refused NAME [SSHD_LOG_SUBSTRING]: the last attempt was refused (ssh exit
# 255, nothing ran) and sshd logged no acceptance, and its refusal reason if given.
refused() {
    local name=$1
    if [ "$RC" != 255 ] || [ -s "$OUT" ]; then bad "$name" "ssh exit $RC, output '$(head -c 200 "$OUT")'"; return; fi
    if grep -q "Accepted publickey" "$S/attempt.log"; then bad "$name" "sshd accepted: $(grep Accepted "$S/attempt.log")"; return; fi
    if [ -n "${2:-}" ] && ! grep -qF -- "$2" "$S/attempt.log"; then
        bad "$name" "sshd's log lacks '$2': $(tail -n 5 "$S/attempt.log")"; return
    fi
    ok "$name"
}

# accepted NAME: the last attempt logged in with the certificate of grant $GID.
accepted_line() {
    grep -F "Accepted publickey for $UA from 127.0.0.1" "$S/attempt.log" | grep -F "ID $GID (serial $SERIAL)" \
        | grep -qF "CA ED25519"
}

# --- without a certificate: the key alone is refused --------------------------
on_host jit-e2e-plain -- /usr/bin/id -un
refused "no authorized_keys and no certificate: the plain key is refused"

# --- the right principal logs in; sshd's log names the grant ------------------
issue_cert
keygen_l "certificate" "Type: ssh-ed25519-cert-v01@openssh.com user certificate" "Key ID: \"$GID\"" \
    "Serial: $SERIAL" "$UA@e2e-hosts" "Critical Options: (none)" "permit-pty"
[ "$(stat -c %a "$CERT")" = 644 ] && ok "certificate written beside the key as key-cert.pub, mode 0644" \
    || bad "certificate file mode" "$(stat -c %a "$CERT")"
on_host jit-e2e-plain -- /usr/bin/id -un
if [ "$RC" = 0 ] && [ "$(cat "$OUT")" = "$UA" ] && accepted_line; then
    ok "certificate for $UA@e2e-hosts logs in; sshd logs key id = grant id and serial"
else
    bad "certificate login" "rc $RC, log: $(grep -E 'Accepted|error' "$S/attempt.log" | head -3)"
fi

# --- refused certificates ------------------------------------------------------
HG=other-group issue_cert
keygen_l "wrong principal" "$UA@other-group"
on_host jit-e2e-plain -- /usr/bin/id -un
refused "principal $UA@other-group (another host group) is refused" "does not contain an authorized principal"

issue_cert --not-before +1h
keygen_l "not yet valid" "Key ID: \"$GID\""
on_host jit-e2e-plain -- /usr/bin/id -un
refused "certificate not yet valid (--not-before +1h) is refused" "Certificate invalid: not yet valid"

issue_cert --now "@$(( $(date +%s) - 7200 ))" --ssh-ttl 1h
keygen_l "expired" "Key ID: \"$GID\""
on_host jit-e2e-plain -- /usr/bin/id -un
refused "expired certificate (a window of 2 h to 1 h ago) is refused" "Certificate invalid: expired"

issue_cert --ssh-source-address 127.0.0.2/32
keygen_l "source-address" "source-address 127.0.0.2/32"
on_host jit-e2e-plain -- /usr/bin/id -un
refused "source-address 127.0.0.2/32, connecting from 127.0.0.1: refused" "source address"
issue_cert --ssh-source-address 127.0.0.1/32
on_host jit-e2e-plain -- /usr/bin/id -un
[ "$RC" = 0 ] && accepted_line && ok "source-address 127.0.0.1/32 from 127.0.0.1: logs in" \
    || bad "source-address match" "rc $RC"

set +e
"$BIN/jit-signer" issue --ledger "$E2E_LEDGER" --ssh-ca "$ROGUE" --ssh-key "$KEY.pub" --user "$UA" \
    --host-group e2e-hosts --reason "e2e rogue CA" >/dev/null 2>"$ERR"
RC=$?
set -e
[ "$RC" = 0 ] || e2e_die "issue with the rogue CA failed: $(cat "$ERR")"
ROGUE_ID=$(ssh-keygen -L -f "$CERT" | sed -n 's/^[[:space:]]*Key ID: "\(.*\)"$/\1/p')
on_host jit-e2e-plain -- /usr/bin/id -un
if [ "$RC" = 255 ] && ! grep -q "Accepted publickey" "$S/attempt.log" && [ -n "$ROGUE_ID" ]; then
    ok "certificate from a CA sshd does not trust is refused"
else bad "untrusted CA" "rc $RC"; fi

# The CA is a key of its own: the token key as the CA is refused.
set +e
"$BIN/jit-signer" issue --ledger "$E2E_LEDGER" --key "$ROOT/signer/e2e-k1.key" --ssh-ca "$ROOT/signer/e2e-k1.key" \
    --ssh-key "$KEY.pub" --user "$UA" --host-group e2e-hosts --command /usr/bin/id --reason "e2e same key" \
    >"$OUT" 2>"$ERR"
RC=$?
set -e
expect_exit "the token signing key as the SSH CA is refused (a key of its own)" 2 "a key of its own"

# A byte of the signed part flipped (in the nonce, byte 40): the signature
# no longer verifies. ssh-keygen refuses to read it; so do ssh and sshd.
issue_cert
/usr/bin/python3 - "$CERT" <<'EOF'
import base64, sys
p = sys.argv[1]
t, b, c = open(p).read().split(" ", 2)
raw = bytearray(base64.b64decode(b))
raw[40] ^= 0x01
open(p, "w").write(" ".join([t, base64.b64encode(bytes(raw)).decode(), c]))
EOF
if ssh-keygen -L -f "$CERT" >/dev/null 2>&1; then bad "tampered: ssh-keygen -L" "read a tampered certificate"
else ok "tampered certificate: ssh-keygen -L refuses it"; fi
on_host jit-e2e-plain -- /usr/bin/id -un
refused "tampered certificate (one byte of the signed part flipped) is refused"

# --- force-command: only that command, no port forwarding ----------------------
issue_cert --ssh-force-command "/bin/echo forced-command-ran"
keygen_l "force-command" "force-command /bin/echo forced-command-ran" "permit-pty"
grep -q "permit-port-forwarding" "$S/keygen-L" && bad "force-command extensions" "forwarding extension present" || true
on_host jit-e2e-plain -- /usr/bin/id -un
if [ "$RC" = 0 ] && [ "$(cat "$OUT")" = "forced-command-ran" ] && accepted_line; then
    ok "force-command certificate: asked for id -un, ran only the forced command"
else bad "force-command" "rc $RC, output '$(cat "$OUT")'"; fi
on_host jit-e2e-plain -- -W "127.0.0.1:$SSH_PORT"
if [ "$RC" = 255 ] && ! grep -q "SSH-2.0" "$OUT" && grep -qi "prohibited\|refused\|failed" "$ERR" "$S/attempt.log"; then
    ok "force-command certificate: ssh -W (direct-tcpip) is refused"
else bad "force-command -W" "rc $RC, out '$(head -c 100 "$OUT")'"; fi
on_host jit-e2e-plain -- -N -o ExitOnForwardFailure=yes -R "127.0.0.1:0:127.0.0.1:$SSH_PORT"
[ "$RC" = 255 ] && ok "force-command certificate: ssh -N -R (remote forwarding) is refused" \
    || bad "force-command -R" "rc $RC"
# The control: the same sshd forwards for a certificate that allows it.
issue_cert --ssh-extension permit-pty --ssh-extension permit-port-forwarding
on_host jit-e2e-plain -- -W "127.0.0.1:$SSH_PORT"
grep -q "^SSH-2.0-" "$OUT" && ok "control: a certificate with permit-port-forwarding can ssh -W (sshd allows forwarding)" \
    || bad "control -W" "rc $RC, out '$(head -c 100 "$OUT")'"

# --- one grant, both credentials: login with the certificate, sudo with the token
issue_cert --key "$ROOT/signer/e2e-k1.key" --command "/usr/bin/id -un"
TOK=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$S/issue.json")
CTI=$("$BIN/jit-signer" inspect --json "$TOK" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["claims"]["cti"])')
[ "$CTI" = "$GID" ] && ok "one grant: the token's cti is the certificate's key id ($GID)" \
    || bad "grant id" "cti $CTI, key id $GID"
on_host jit-e2e-web-1 JIT_TOKEN="$TOK" -- sudo -n /usr/bin/id -un
rec=$(/usr/bin/python3 - "$ROOT/log/audit.log" "$before" <<'EOF'
import json, sys
d = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8").read().splitlines()[int(sys.argv[2]):]]
d = [r for r in d if r["kind"] == "decision"]
print(d[-1].get("allowed"), d[-1].get("user"), d[-1].get("token_id")) if d else print("none")
EOF
)
if [ "$RC" = 0 ] && [ "$(cat "$OUT")" = root ] && accepted_line; then
    ok "logged in with the certificate, sudo with the token of the same grant ran as root"
else bad "certificate + token" "rc $RC, out '$(cat "$OUT")', err '$(head -c 300 "$ERR")'"; fi
[ "$rec" = "True $UA $GID" ] && ok "audit record: allowed, $UA, token id = the grant id sshd logged" \
    || bad "audit record" "$rec"
on_host jit-e2e-web-1 JIT_TOKEN="$TOK" -- sudo -n /usr/bin/id -gn
[ "$RC" = 1 ] && ok "inside the session, a command the grant does not hold is denied by pam_jit" \
    || bad "other command" "rc $RC"

# --- refusals are recorded; the ledger verifies ----------------------------------
ssh-keygen -q -t dsa -N '' -f "$S/dsa" 2>/dev/null || ssh-keygen -q -t rsa -b 1024 -N '' -f "$S/dsa"
set +e
"$BIN/jit-signer" issue --ledger "$E2E_LEDGER" --ssh-ca "$CA" --ssh-key "$S/dsa.pub" --user "$UA" \
    --host-group e2e-hosts --reason "e2e weak key" >"$OUT" 2>"$ERR"
RC=$?
set -e
[ ! -e "$S/dsa-cert.pub" ] || bad "weak key" "a certificate was written"
expect_exit "a DSA (or 1024-bit RSA) key is refused, no certificate" 2 "--ssh-key"
/usr/bin/python3 - "$E2E_LEDGER" "$GID" <<'EOF' && ok "ledger: ssh_cert records name grant id, serial, principals; the refusal has its code" || bad "ledger records"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
c = [r for r in recs if r["kind"] == "ssh_cert"]
last = [r for r in c if r["token_id"] == sys.argv[2]]
ref = [r for r in recs if r["kind"] == "refused"]
assert len(c) >= 10, len(c)
assert last and last[0]["principals"] == [f"{last[0]['user']}@e2e-hosts"] and last[0]["serial"].isdigit()
assert ref and ref[-1]["reason_code"] in ("ssh_key_type_refused", "ssh_rsa_key_size"), ref[-1]
i = recs.index(last[0])
assert recs[i - 1]["kind"] == "issued" and recs[i - 1]["token_id"] == sys.argv[2]
EOF
set +e
"$BIN/jit-verify" log "$E2E_LEDGER" >"$OUT" 2>"$ERR"; RC=$?
set -e
expect_exit "jit-verify log: the ledger with ssh_cert records is intact" 0
set +e
"$BIN/jit-verify" standing --at now --ledger "$E2E_LEDGER" >"$OUT" 2>"$ERR"; RC=$?
set -e
expect_exit "jit-verify standing answers over a ledger with ssh_cert records" 0
grep -qF "$GID" "$OUT" && ok "standing lists the token of the grant" || bad "standing" "$(head -c 300 "$OUT")"
set +e
"$BIN/jit-verify" standing --json --at now --ledger "$E2E_LEDGER" >"$OUT" 2>"$ERR"; RC=$?
set -e
jq -e --arg g "$GID" '([.ssh_live[] | select(.key_id == $g and (.principals | length) > 0)] | length == 1)
    and ([.live[] | select(.token_id == $g)] | length == 1)' "$OUT" >/dev/null \
    && ok "standing --json: the grant's certificate and token are both live, under one id" \
    || bad "standing --json ssh_live" "grant $GID: $(jq -c --arg g "$GID" '{ssh: [.ssh_live[] | select(.key_id == $g) | {principals, valid_after, valid_before}], tokens: [.live[] | select(.token_id == $g) | .expires], at}' "$OUT")"
set +e
"$BIN/jit-verify" report --json --ledger "$E2E_LEDGER" >"$OUT" 2>"$ERR"; RC=$?
set -e
n_certs=$(jq -s '[.[] | select(.kind == "ssh_cert")] | length' "$E2E_LEDGER")
jq -e --argjson n "$n_certs" '$n > 0 and .totals.ssh_certs_issued == $n' "$OUT" >/dev/null \
    && ok "report counts every certificate the ledger records ($n_certs)" \
    || bad "report ssh_certs_issued" "$(head -c 600 "$OUT")"

# The certificates reach a SIEM: the ledger exported as OCSF validates
# against the published schema, one Assign Privileges event per certificate.
set +e
"$BIN/jit-verify" export --format ocsf --ledger "$E2E_LEDGER" --output "$S/ledger.ocsf" 2>"$ERR"; RC=$?
set -e
expect_exit "jit-verify export --format ocsf of the ledger with ssh_cert records" 0
if /usr/bin/python3 tests/interop/validate_siem.py ocsf "$S/ledger.ocsf" >"$S/v.txt" 2>&1; then
    ok "the export validates against OCSF 1.8.0 ($(tail -n 1 "$S/v.txt"))"
else
    bad "OCSF validation of the ledger export" "$(head -n 20 "$S/v.txt")"
fi
[ "$(jq -s --arg g "$GID" '[.[] | select(.type_uid == 300501 and .unmapped.jit.token_id == $g and (.privileges[0] | startswith("ssh login as principal ")))] | length' "$S/ledger.ocsf")" = 1 ] \
    && ok "the grant's certificate is one OCSF Assign Privileges event naming its principals" \
    || bad "ssh_cert in the OCSF export" "$(jq -c 'select(.unmapped.jit.serial != null) | [.type_uid, .privileges]' "$S/ledger.ocsf" | head -3)"

echo
tally_end ssh-cert
