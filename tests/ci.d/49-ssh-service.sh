#!/usr/bin/env bash
# JIT SSH through the signing service (docs/ssh-cert.md, docs/signer-policy.md
# "SSH certificates", docs/signer-service.md): an engineer ($UA) with no
# authorized_keys entry on the host asks once for a login and a sudo command,
# an approver ($UB) approves, and the engineer logs in to a real sshd with the
# certificate and runs the command through the real sudo and pam_jit with the
# token of the same grant. Then: what the policy refuses, an on-call
# certificate alone with a forced command, fetch, the ledger, standing and
# report, and revocation reaching sshd as a KRL written from the verified
# list. The service runs as its own user with its own CA key; sshd is this
# test's (tests/e2e/sshd.sh: 127.0.0.1, a free high port). Outcomes are
# asserted on exit statuses, outputs, files and sshd's log, never on timing.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
# shellcheck source=../e2e/lib.sh
. tests/e2e/lib.sh
# shellcheck source=../e2e/sshd.sh
. tests/e2e/sshd.sh
# shellcheck source=../e2e/signer.sh
. tests/e2e/signer.sh
[ -x "$BIN/jit-krl" ] || e2e_die "$BIN/jit-krl missing (tools/build-release.sh builds it)"

S=$ROOT/ssh
WPID=
cleanup() {
    [ -n "$WPID" ] && kill "$WPID" 2>/dev/null
    signer_teardown
    sshd_stop
    e2e_teardown
    rm -f "$OUT" "$ERR"
}
trap cleanup EXIT
e2e_setup
# shellcheck source=../e2e/tally.sh
. tests/e2e/tally.sh

# --- the signer: a token key and a CA key of its own, a policy with SSH rules ---
"$BIN/jit-signer" keygen --kid e2e-ssh-ca --out "$ROOT/signer" >/dev/null
ONCALL=$ROOT/oncall
echo "$UA" > "$ONCALL"
POLICY=$ROOT/policy.toml
cat > "$POLICY" <<EOF
[[oncall]]
name = "pager"
file = "$ONCALL"

[[rule]]
name = "runbook"
users = ["$UA"]
host_groups = ["other-group"]
max_ttl = "1h"
approvers = ["$UB"]
auto_approve = "pager"
ssh = true
ssh_extensions = []
ssh_force_command = "/bin/echo runbook-ran"
ssh_source_address = "127.0.0.1/32"

[[rule]]
name = "web-login"
users = ["$UA", "$UB"]
host_groups = ["e2e-hosts"]
commands = ["/usr/bin/id -un"]
max_ttl = "2h"
approvers = ["$UB", "$UC"]
ssh = true
ssh_max_ttl = "1h"
EOF
chmod 0644 "$POLICY" "$ONCALL"
signer_setup jit-e2e-svc "$POLICY"
install -o jit-e2e-svc -m 0600 "$ROOT/signer/e2e-ssh-ca.key" "$ROOT/svc/ssh-ca.key"

# The token key refused as the CA: the CA is a key of its own.
set +e
setpriv --reuid=jit-e2e-svc --regid=jit-e2e-svc --init-groups --reset-env env -i PATH=/usr/bin:/bin \
    "$BIN/jit-signer" serve --socket "$ROOT/svc-run/other" --state-dir "$ROOT/svc" --policy "$POLICY" \
    --key "$ROOT/svc/k1.key" --ssh-ca "$ROOT/svc/k1.key" --ledger "$SLEDGER" </dev/null >"$OUT" 2>"$ERR"
RC=$?
set -e
expect_exit "serve refuses the token key as the SSH CA" 2 "a key of its own"

SVC_ARGS=(--ssh-ca "$ROOT/svc/ssh-ca.key")
signer_start

# --- the host: sshd trusting the CA, principals per user, a KRL; no authorized_keys
sshd_setup "$S" "$UA"
install -d -m 0755 "$S/principals"
"$BIN/jit-signer" export-pub --key "$ROOT/signer/e2e-ssh-ca.key" --ssh > "$S/ca.pub"
printf '%s\n' "$UA@e2e-hosts" "$UA@other-group" > "$S/principals/$UA"
chmod 0644 "$S/ca.pub" "$S/principals/$UA"
KRL=$S/revoked.krl
"$BIN/jit-krl" --config "$ROOT/pam_jit.conf" --krl "$KRL" >/dev/null \
    || e2e_die "jit-krl could not write the empty KRL"
cat > "$S/sshd_config.d/cert.conf" <<EOF
TrustedUserCAKeys $S/ca.pub
AuthorizedPrincipalsFile $S/principals/%u
RevokedKeys $KRL
AllowTcpForwarding yes
AcceptEnv JIT_TOKEN
LogLevel VERBOSE
EOF
"$SSHD" -t -f "$S/sshd_config" || e2e_die "sshd configuration with the CA does not check"
sshd_start
rm -f "$S/authorized_keys/$UA"
cp "$S/client-$UA/config" "$S/ssh_config"
KEY=$S/client-$UA/key
CERT=$KEY-cert.pub

svc() { local u=$1; shift; as_user "$u" -- "$BIN/jit-signer" "$@" --socket "$SOCK"; }
# key_id / serial of the current certificate, as ssh-keygen -L reads it.
cert_field() { ssh-keygen -L -f "$CERT" | sed -n "s/^[[:space:]]*$1: \"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p"; }

on_host jit-e2e-plain -- /usr/bin/id -un
[ "$RC" = 255 ] && ! grep -q "Accepted publickey" "$S/attempt.log" \
    && ok "no authorized_keys and no certificate: $UA cannot log in" || bad "plain key" "rc $RC"

# --- request once, approved, log in with the certificate, sudo with the token ---
setpriv --reuid="$UA" --regid="$UA" --init-groups --reset-env env -i PATH=/usr/bin:/bin HOME=/nonexistent \
    "$BIN/jit-signer" request --socket "$SOCK" --ssh-key "$KEY.pub" --host-group e2e-hosts \
    --command "/usr/bin/id -un" --reason "e2e ssh login INC-1" --wait=5m \
    </dev/null >"$S/wait.out" 2>"$S/wait.err" &
WPID=$!
ID=
for _ in $(seq 1 200); do
    svc "$UB" requests --json
    ID=$(jq -r --arg u "$UA" '[.requests[] | select(.requester == $u and .ask.ssh != null)][0].id // empty' "$OUT" 2>/dev/null || true)
    [ -n "$ID" ] && break
    sleep 0.05
done
[ -n "$ID" ] || e2e_die "the request never reached the approver: $(cat "$S/wait.err")"
svc "$UB" requests
FP=$(ssh-keygen -l -f "$KEY.pub" | cut -d' ' -f2)
grep -qF "SSH certificate for ssh-ed25519 $FP, logins $UA (own), extensions default" "$OUT" \
    && ok "requests: the approver sees the key's fingerprint, the login and the extensions" \
    || bad "requests listing" "$(cat "$OUT")"
svc "$UA" approve "$ID"
expect_exit "the requester cannot approve their own certificate request" 7 "own request"
svc "$UB" approve "$ID"
expect_exit "$UB approves the request" 0
set +e; wait "$WPID"; WRC=$?; set -e; WPID=
TOK=$(cat "$S/wait.out")
if [ "$WRC" = 0 ] && [ -s "$CERT" ] && [ "$(wc -l < "$S/wait.out")" = 1 ]; then
    ok "request --wait: the token on stdout, the certificate written beside the key"
else bad "request --wait" "rc $WRC: $(cat "$S/wait.err")"; fi
GID=$(cert_field "Key ID")
SERIAL=$(cert_field "Serial")
CTI=$("$BIN/jit-signer" inspect --json "$TOK" | jq -r .claims.cti)
EXP=$("$BIN/jit-signer" inspect --json "$TOK" | jq -r .claims.exp)
[ "$CTI" = "$GID" ] && ok "one grant: the token's id is the certificate's key id ($GID)" \
    || bad "grant id" "cti $CTI, key id $GID"
ssh-keygen -L -f "$CERT" > "$S/keygen-L"
VB=$(sed -n 's/^[[:space:]]*Valid: from \(.*\) to \(.*\)$/\2/p' "$S/keygen-L")
[ "$(date -d "$VB" +%s)" = "$EXP" ] && ok "the certificate expires with the token ($(date -u -d "@$EXP" +%FT%TZ))" \
    || bad "validity" "cert to $VB, token exp $EXP"
grep -qx "[[:space:]]*$UA@e2e-hosts" "$S/keygen-L" && grep -qx "[[:space:]]*permit-pty" "$S/keygen-L" \
    && ok "principal $UA@e2e-hosts, extension permit-pty (ssh-keygen -L)" || bad "principals" "$(cat "$S/keygen-L")"
on_host jit-e2e-web-1 JIT_TOKEN="$TOK" -- sudo -n /usr/bin/id -un
rec=$(/usr/bin/python3 - "$ROOT/log/audit.log" "$before" <<'EOF'
import json, sys
d = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8").read().splitlines()[int(sys.argv[2]):]]
d = [r for r in d if r["kind"] == "decision"]
print(d[-1].get("allowed"), d[-1].get("user"), d[-1].get("token_id"), d[-1].get("approver")) if d else print("none")
EOF
)
if [ "$RC" = 0 ] && [ "$(cat "$OUT")" = root ] \
    && grep -F "Accepted publickey for $UA from 127.0.0.1" "$S/attempt.log" | grep -qF "ID $GID (serial $SERIAL)"; then
    ok "logged in with the approved certificate (sshd names grant $GID) and sudo ran the granted command as root"
else bad "login + sudo" "rc $RC, out '$(cat "$OUT")', err '$(head -c 300 "$ERR")'"; fi
[ "$rec" = "True $UA $GID $UB" ] && ok "audit record: allowed, $UA, the grant id sshd logged, approver $UB" \
    || bad "audit record" "$rec"
on_host jit-e2e-web-1 JIT_TOKEN="$TOK" -- sudo -n /usr/bin/id -gn
[ "$RC" = 1 ] && ok "in the session, a command the grant does not hold is denied" || bad "other command" "rc $RC"

# --- what the policy refuses, at request time --------------------------------
req() { svc "$UA" request --ssh-key "$KEY.pub" --reason "e2e refusal" "$@"; }
req --host-group e2e-hosts --ssh-login root
expect_exit "a login the rule does not grant (root) is refused" 7 "SSH login root is not granted"
req --host-group e2e-hosts --ttl 2h
expect_exit "a certificate longer than ssh_max_ttl is refused (the token's max_ttl would allow it)" 7 "exceeds ssh_max_ttl"
req --host-group e2e-hosts --ssh-extension permit-port-forwarding
expect_exit "an extension the rule does not list is refused" 7 "SSH extension permit-port-forwarding is not granted"
req --host-group other-group --ssh-force-command /bin/sh
expect_exit "the rule's force-command cannot be replaced" 7 "force-command must be the rule's"
req --host-group e2e-hosts --host-group other-group
expect_exit "host groups of two rules do not combine" 7 "is not granted"
svc "$UA" request --ssh-key "$KEY.pub" --host-group other-group --not-before +30d --reason "e2e later"
expect_exit "a certificate alone is bounded by max_not_before like a token" 7 "exceeds max_not_before"
ssh-keygen -q -t rsa -b 1024 -N '' -f "$S/client-$UA/weak" && chown "$UA" "$S/client-$UA/weak"*
svc "$UA" request --ssh-key "$S/client-$UA/weak.pub" --host-group e2e-hosts --reason "e2e weak key"
expect_exit "a 1024-bit RSA key: the client refuses it before calling" 2 "only 2048 to 16384 bits"
# A client that does not check: the service refuses the same key itself, with the profile's code.
as_user "$UA" -- /usr/bin/python3 -c '
import json, socket, struct, sys
ask = {"host_groups": ["e2e-hosts"], "commands": [], "shell": False, "run_as": ["root"],
       "run_as_groups": [], "ttl": 1800, "not_before": None, "reason": "raw client",
       "ticket": None, "max_uses": None, "ssh": {"key": sys.argv[2]}}
body = json.dumps({"v": 1, "op": "request", "ask": ask}).encode()
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(struct.pack(">I", len(body)) + body)
n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
print(s.recv(n, socket.MSG_WAITALL).decode())
' "$SOCK" "$(cat "$S/client-$UA/weak.pub")"
jq -e '.ok == false and .error == "bad_ask" and (.message | contains("ssh_rsa_key_size"))' "$OUT" >/dev/null \
    && ok "a raw call with a 1024-bit RSA key: the service answers bad_ask (ssh_rsa_key_size)" \
    || bad "raw weak key" "$(cat "$OUT" "$ERR")"
install -o "$UC" -m 0644 "$KEY.pub" "$ROOT/uc-key.pub"
svc "$UC" request --ssh-key "$ROOT/uc-key.pub" --host-group e2e-hosts --reason "e2e outsider"
expect_exit "a user no rule names is refused" 7 "no rule names user $UC"

# --- on call: a certificate alone, auto-approved, forced command, source-address
rm -f "$CERT"
svc "$UA" request --ssh-key "$KEY.pub" --host-group other-group --reason "e2e runbook" --wait=1m
expect_exit "on call: a certificate alone is approved at once" 0
[ ! -s "$OUT" ] && [ -s "$CERT" ] && ok "a certificate alone: no token on stdout, the certificate beside the key" \
    || bad "certificate alone" "stdout '$(head -c 100 "$OUT")'"
ssh-keygen -L -f "$CERT" > "$S/keygen-L"
grep -qx "[[:space:]]*force-command /bin/echo runbook-ran" "$S/keygen-L" \
    && grep -qx "[[:space:]]*source-address 127.0.0.1/32" "$S/keygen-L" \
    && grep -A1 "Extensions:" "$S/keygen-L" | grep -q "(none)" \
    && ok "the rule's force-command and source-address are signed, and no extension" \
    || bad "runbook certificate" "$(cat "$S/keygen-L")"
GID2=$(cert_field "Key ID")
on_host jit-e2e-plain -- /usr/bin/id -un
[ "$RC" = 0 ] && [ "$(cat "$OUT")" = runbook-ran ] && ok "it logs in and runs only the forced command" \
    || bad "forced command" "rc $RC, out '$(cat "$OUT")'"
on_host jit-e2e-plain -- -W "127.0.0.1:$SSH_PORT"
[ "$RC" = 255 ] && ! grep -q "SSH-2.0" "$OUT" && ok "and cannot open a port forward (ssh -W)" || bad "-W" "rc $RC"
jq -e --arg g "$GID2" 'select(.kind == "ssh_cert" and .token_id == $g) | .approver == "auto:pager" and .rule == "runbook"' \
    "$SLEDGER" >/dev/null && ok "ledger: the on-call certificate is recorded as approved by auto:pager under rule runbook" \
    || bad "auto-approval record" "$(grep -F "$GID2" "$SLEDGER" | head -c 400)"
! jq -e --arg g "$GID2" 'select(.kind == "issued" and .token_id == $g)' "$SLEDGER" >/dev/null \
    && ok "no token was issued for a certificate alone" || bad "certificate alone" "an issued record exists"

# --- fetch: the certificate once, only for the key it certifies -----------------
svc "$UA" request --ssh-key "$KEY.pub" --host-group e2e-hosts --command "/usr/bin/id -un" --reason "e2e fetch"
ID3=$(cat "$OUT")
svc "$UB" approve "$ID3"
expect_exit "approve for fetch" 0
ssh-keygen -q -t ed25519 -N '' -f "$S/client-$UA/other" && chown "$UA" "$S/client-$UA/other"*
svc "$UA" fetch "$ID3" --ssh-key "$S/client-$UA/other.pub"
expect_exit "fetch --ssh-key with another key: not written beside it, exit 10" 10 "not for the key"
[ ! -e "$S/client-$UA/other-cert.pub" ] && [ "$(wc -l < "$OUT")" = 2 ] \
    && [ "$(sed -n 2p "$OUT" | cut -d' ' -f1)" = ssh-ed25519-cert-v01@openssh.com ] \
    && ok "nothing written beside the other key; the token and the certificate are on stdout, not lost" \
    || bad "other key" "$(head -c 300 "$OUT")"
svc "$UA" fetch "$ID3" --ssh-key "$KEY.pub"
expect_exit "the credentials are handed over once" 9 "already collected"
svc "$UA" request --ssh-key "$KEY.pub" --host-group e2e-hosts --command "/usr/bin/id -un" --reason "e2e fetch 2"
ID4=$(cat "$OUT")
svc "$UB" approve "$ID4"
rm -f "$CERT"
svc "$UA" fetch "$ID4" --ssh-key "$KEY.pub" --json
expect_exit "fetch --ssh-key" 0
jq -e --arg c "$CERT" '.token != null and .certificate_file == $c and (.request.ssh.principals == ["'"$UA"'@e2e-hosts"])' "$OUT" >/dev/null \
    && [ "$(cut -d' ' -f1,2 "$CERT")" = "$(jq -r .certificate "$OUT" | cut -d' ' -f1,2)" ] \
    && ok "fetch --ssh-key --json: token, certificate and its file; the request names the principals" \
    || bad "fetch --json" "$(head -c 600 "$OUT")"
GID4=$(cert_field "Key ID")

# --- the ledger, standing and report see both -----------------------------------
/usr/bin/python3 - "$SLEDGER" "$GID" "$UA" "$UB" <<'EOF' && ok "ledger: the grant's issued and ssh_cert records, requester, approver and rule" || bad "ledger records"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
g, ua, ub = sys.argv[2:]
i = [r for r in recs if r.get("token_id") == g and r["kind"] == "issued"]
c = [r for r in recs if r.get("token_id") == g and r["kind"] == "ssh_cert"]
assert len(i) == 1 and len(c) == 1, (i, c)
for r in i + c:
    assert r["requester"] == ua and r["approver"] == ub and r["rule"] == "web-login", r
assert c[0]["principals"] == [f"{ua}@e2e-hosts"] and c[0]["serial"].isdigit() and c[0]["exp"] == i[0]["exp"]
EOF
set +e; "$BIN/jit-verify" log "$SLEDGER" >"$OUT" 2>"$ERR"; RC=$?; set -e
expect_exit "jit-verify log: the service's ledger is intact" 0
set +e; "$BIN/jit-verify" standing --json --at now --ledger "$SLEDGER" >"$OUT" 2>"$ERR"; RC=$?; set -e
jq -e --arg g "$GID" --arg r "$GID2" '([.ssh_live[] | select(.key_id == $g)] | length == 1)
    and ([.live[] | select(.token_id == $g)] | length == 1)
    and ([.ssh_live[] | select(.key_id == $r)] | length == 1)' "$OUT" >/dev/null \
    && ok "standing --at now: the grant's certificate and token, and the on-call certificate, are live" \
    || bad "standing" "$(head -c 600 "$OUT")"
set +e; "$BIN/jit-verify" report --json --ledger "$SLEDGER" >"$OUT" 2>"$ERR"; RC=$?; set -e
n_certs=$(jq -s '[.[] | select(.kind == "ssh_cert")] | length' "$SLEDGER")
jq -e --argjson n "$n_certs" '$n == 4 and .totals.ssh_certs_issued == $n' "$OUT" >/dev/null \
    && ok "report counts the 4 certificates the service issued" || bad "report" "$n_certs: $(head -c 400 "$OUT")"

# --- revocation reaches sshd: revoke --user, the verified list, the KRL ---------
signer_stop   # one writer of the ledger at a time in this test
"$BIN/jit-signer" revoke --key "$ROOT/signer/e2e-k1.key" --state "$ROOT/signer/revocation" \
    --ledger "$SLEDGER" --user "$UA" --user "$UC" --reason "e2e offboarding" >"$OUT" 2>"$ERR" \
    || e2e_die "revoke --user failed: $(cat "$ERR")"
mkdir -p "$ROOT/keys/revocation" && chmod 0755 "$ROOT/keys/revocation"
install -m 0644 "$ROOT/signer/revocation/revocation.list" "$ROOT/keys/revocation/list"
set +e; "$BIN/jit-krl" --config "$ROOT/pam_jit.conf" --krl "$KRL" >"$OUT" 2>"$ERR"; RC=$?; set -e
expect_exit "jit-krl writes the KRL from the verified list" 0
if ssh-keygen -Q -f "$KRL" "$CERT" >"$S/q.txt" 2>&1; then
    bad "KRL" "the certificate is not in it: $(cat "$S/q.txt")"
else ok "ssh-keygen -Q: the fetched certificate ($GID4) is revoked by the KRL"; fi
on_host jit-e2e-web-1 -- /usr/bin/id -un
[ "$RC" = 255 ] && grep -q "revoked by file $KRL" "$S/attempt.log" \
    && ok "after revoke --user, sshd refuses $UA's certificate: revoked by file $KRL" \
    || bad "revoked login" "rc $RC: $(tail -n 3 "$S/attempt.log")"

# The service consults the signer's own list: the revoked user gets nothing new.
install -d -o jit-e2e-svc -m 0700 "$ROOT/svc/revocation"
install -o jit-e2e-svc -m 0600 "$ROOT/signer/revocation/revocation.list" "$ROOT/svc/revocation/revocation.list"
set +e
setpriv --reuid=jit-e2e-svc --regid=jit-e2e-svc --init-groups --reset-env env -i PATH=/usr/bin:/bin \
    "$BIN/jit-signer" serve --socket "$ROOT/svc-run/other" --state-dir "$ROOT/svc" --policy "$POLICY" \
    --key "$ROOT/svc/k1.key" --ledger "$SLEDGER" --revocation-dir "$ROOT/svc/no-such-dir" </dev/null >"$OUT" 2>"$ERR"
RC=$?
set -e
expect_exit "serve refuses a --revocation-dir that does not exist (a typo would revoke nothing)" 3 "is not a directory"
SVC_ARGS=(--ssh-ca "$ROOT/svc/ssh-ca.key" --revocation-dir "$ROOT/svc/revocation")
signer_start
grep -q "revocation list version 1 of $ROOT/svc/revocation (2 users revoked)" "$ROOT/serve.log" \
    && ok "serve logs the revocation list it consults" || bad "serve log" "$(tail -n 3 "$ROOT/serve.log")"
rm -f "$CERT"
svc "$UA" request --ssh-key "$KEY.pub" --host-group other-group --reason "e2e after revocation" --wait=1m
expect_exit "the service refuses the revoked user a new certificate (the on-call path included)" 7 "user_revoked"
[ ! -e "$CERT" ] && ok "no certificate was written" || bad "revoked user" "a certificate was written"
svc "$UB" request --host-group e2e-hosts --command "/usr/bin/id -un" --reason "e2e revoked approver"
ID5=$(cat "$OUT")
svc "$UC" approve "$ID5"
expect_exit "a revoked user approves nothing ($UC is an approver of the rule)" 7 "approver $UC is revoked"
jq -s -e --arg u "$UA" --arg c "$UC" 'any(.[]; .kind == "refused" and .user == $u and .reason_code == "user_revoked")
    and any(.[]; .kind == "refused" and .approver == $c and .reason_code == "approver_revoked")' "$SLEDGER" >/dev/null \
    && ok "the refusals are in the ledger with their own codes (user_revoked, approver_revoked)" \
    || bad "refusal record" "$(jq -c 'select(.kind == "refused") | [.user, .reason_code]' "$SLEDGER" | tail -n 3)"

echo
tally_end ssh-service
