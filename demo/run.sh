#!/usr/bin/env bash
# The jit demo, end to end on this machine (run as root on Debian 12):
# install dependencies, build, make a signing key, trust it, issue a token,
# run one sudo that the token allows and one it does not, revoke the token,
# use a single-use break-glass token, let a team use the signing service
# (request, approval by another user, collection; an SSH login to a real sshd
# with a certificate from the same grant, and sudo there), verify the audit log
# (break-glass uses listed for review), and ask the issuance ledgers who held
# access and how approvals went.
# Everything is isolated (a demo user, a dedicated PAM service and sudoers
# drop-in, files under /run/jit-demo) and removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
echo "== building (release)"
bash tools/build-release.sh -q
BIN=$CARGO_TARGET_DIR/release
E2E=jit-demo
# shellcheck source=../tests/e2e/lib.sh
. tests/e2e/lib.sh
# shellcheck source=../tests/e2e/signer.sh
. tests/e2e/signer.sh
# shellcheck source=../tests/e2e/sshd.sh
. tests/e2e/sshd.sh
trap 'signer_teardown; sshd_stop; e2e_teardown; rm -f "$OUT" "$ERR"' EXIT
e2e_setup
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; }

say "1. a signing key (on the signer machine) and the host's trusted-keys file"
show "jit-signer keygen --kid e2e-k1 --out $ROOT/signer"
cat "$ROOT/keys/trusted-keys"

say "2. a token for $UA: /usr/bin/id as root, host group e2e-hosts, 30 minutes"
show "jit-signer issue --ledger ledger.log --key e2e-k1.key --user $UA --host-group e2e-hosts --command /usr/bin/id --ttl 30m --reason 'demo' --ticket DEMO-1"
TOKEN=$(e2e_issue --user "$UA" --host-group e2e-hosts --command /usr/bin/id --ttl 30m --reason "demo" --ticket DEMO-1)
echo "${TOKEN:0:60}..."
"$BIN/jit-signer" inspect --trusted-keys "$ROOT/keys/trusted-keys" "$TOKEN" || true

say "3. allowed: $UA runs: JIT_TOKEN=... sudo -n /usr/bin/id"
as_user "$UA" JIT_TOKEN="$TOKEN" -- sudo -n /usr/bin/id
cat "$OUT" "$ERR"; echo "exit status: $RC"
[ "$RC" = 0 ] || e2e_die "the allowed sudo failed"

say "4. denied: the same token does not cover: sudo -n /usr/bin/cat /etc/shadow"
as_user "$UA" JIT_TOKEN="$TOKEN" -- sudo -n /usr/bin/cat /etc/shadow
cat "$OUT" "$ERR"; echo "exit status: $RC"
[ "$RC" != 0 ] || e2e_die "the denied sudo succeeded"

say "5. revoked: the signer revokes that token; the host gets the signed list"
show "jit-signer revoke --key e2e-k1.key --token \$TOKEN --reason 'demo: access no longer needed'"
"$BIN/jit-signer" revoke --key "$ROOT/signer/e2e-k1.key" --state "$ROOT/signer/revocation" \
    --token "$TOKEN" --reason "demo: access no longer needed"
mkdir -p -m 0755 "$ROOT/keys/revocation"
install -m 0644 "$ROOT/signer/revocation/revocation.list" "$ROOT/keys/revocation/list"
as_user "$UA" JIT_TOKEN="$TOKEN" -- sudo -n /usr/bin/id
cat "$OUT" "$ERR"; echo "exit status: $RC"
[ "$RC" != 0 ] || e2e_die "the revoked token still works"

say "6. break-glass: an emergency token is single-use, alerted and flagged for review"
show "jit-signer issue --break-glass --user $UA --host-group e2e-hosts --command /usr/bin/id --ttl 15m --reason 'INC-9 db down, nobody to approve'"
BG=$(e2e_issue --break-glass --user "$UA" --host-group e2e-hosts --command /usr/bin/id --ttl 15m \
    --reason "INC-9 db down, nobody to approve")
as_user "$UA" JIT_TOKEN="$BG" -- sudo -n /usr/bin/id
cat "$OUT" "$ERR"; echo "exit status: $RC"
[ "$RC" = 0 ] || e2e_die "the break-glass sudo failed"
echo "-- the same token again:"
as_user "$UA" JIT_TOKEN="$BG" -- sudo -n /usr/bin/id
cat "$OUT" "$ERR"; echo "exit status: $RC"
[ "$RC" != 0 ] || e2e_die "the break-glass token was used twice"

say "7. a team over SSH: the signing service holds the keys; $UA asks for a login and a command, $UB approves"
cat > "$ROOT/policy.toml" <<EOF
[[rule]]
name = "demo-id"
users = ["$UA"]
host_groups = ["e2e-hosts"]
commands = ["/usr/bin/id"]
max_ttl = "1h"
approvers = ["$UB"]
ssh = true          # an OpenSSH certificate from the same grant: log in as yourself
EOF
chmod 0644 "$ROOT/policy.toml"
"$BIN/jit-signer" keygen --kid demo-ssh-ca --out "$ROOT/signer" >/dev/null
signer_setup jit-demo-svc "$ROOT/policy.toml"
install -o jit-demo-svc -m 0600 "$ROOT/signer/demo-ssh-ca.key" "$ROOT/svc/ssh-ca.key"
SVC_ARGS=(--ssh-ca "$ROOT/svc/ssh-ca.key")
signer_start
show "jit-signer serve --policy policy.toml --key e2e-k1.key --ssh-ca ssh-ca.key   # as its own user, socket $SOCK"
# The host: an sshd of the demo's own on 127.0.0.1 that trusts the CA and
# accepts $UA@e2e-hosts for $UA; $UA has no authorized_keys entry.
S=$ROOT/ssh
sshd_setup "$S" "$UA"
"$BIN/jit-signer" export-pub --key "$ROOT/signer/demo-ssh-ca.key" --ssh > "$S/ca.pub"
install -d -m 0755 "$S/principals"
echo "$UA@e2e-hosts" > "$S/principals/$UA"
chmod 0644 "$S/ca.pub" "$S/principals/$UA"
printf '%s\n' "TrustedUserCAKeys $S/ca.pub" "AuthorizedPrincipalsFile $S/principals/%u" \
    "AcceptEnv JIT_TOKEN" > "$S/sshd_config.d/jit.conf"
sshd_start
rm -f "$S/authorized_keys/$UA"
KEY=$S/client-$UA/key
show "jit-signer request --ssh-key ~/.ssh/id_ed25519.pub --host-group e2e-hosts --command /usr/bin/id --reason 'DEMO-2 check ids'   # as $UA"
as_user "$UA" JIT_SIGNER_SOCKET="$SOCK" -- "$BIN/jit-signer" request --ssh-key "$KEY.pub" \
    --host-group e2e-hosts --command /usr/bin/id --reason "DEMO-2 check ids"
cat "$OUT" "$ERR"
RID=$(head -n 1 "$OUT")
show "jit-signer requests   # as $UB"
as_user "$UB" JIT_SIGNER_SOCKET="$SOCK" -- "$BIN/jit-signer" requests
cat "$OUT"
show "jit-signer approve $RID   # as $UB"
as_user "$UB" JIT_SIGNER_SOCKET="$SOCK" -- "$BIN/jit-signer" approve "$RID"
cat "$OUT" "$ERR"
[ "$RC" = 0 ] || e2e_die "the approval failed"
show "jit-signer fetch $RID --ssh-key ~/.ssh/id_ed25519.pub   # as $UA: the token, and the certificate beside the key"
as_user "$UA" JIT_SIGNER_SOCKET="$SOCK" -- "$BIN/jit-signer" fetch "$RID" --ssh-key "$KEY.pub"
TEAM_TOKEN=$(head -n 1 "$OUT")
echo "${TEAM_TOKEN:0:60}..."
cat "$ERR"
ssh-keygen -L -f "$KEY-cert.pub" | grep -E "Key ID|Serial|Valid:|$UA@e2e-hosts"
show "JIT_TOKEN=... ssh web-1 sudo -n /usr/bin/id   # as $UA: the certificate logs in, the token runs sudo"
as_user "$UA" JIT_TOKEN="$TEAM_TOKEN" -- ssh -F "$S/client-$UA/config" jit-e2e-web-1 sudo -n /usr/bin/id
cat "$OUT" "$ERR"; echo "exit status: $RC"
[ "$RC" = 0 ] || e2e_die "the approved certificate and token did not log in and run sudo"
grep -F "Accepted publickey for $UA" "$S/sshd.log" | tail -n 1 | sed 's/^.*\(Accepted publickey\)/sshd: \1/'

say "8. the audit log"
/usr/bin/python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    print(r["seq"], r["time"], r["kind"], r.get("user", ""), r.get("command", ""),
          {True: "ALLOWED", False: "DENIED"}.get(r.get("allowed"), ""), r.get("reason_code", ""),
          "BREAK-GLASS" if r.get("break_glass") else "")
' "$ROOT/log/audit.log"

say "9. jit-verify log with the initial seal key and the state file"
show "jit-verify log --seal-key seal-key.initial --state log.state audit.log"
"$BIN/jit-verify" log --seal-key "$ROOT/state/seal-key.initial" --state "$ROOT/state/log.state" "$ROOT/log/audit.log"

say "10. the issuance ledgers (the operator's and the service's): who held access, and how it was used"
show "jit-verify standing --at now --ledger ledger.log service-ledger.log"
"$BIN/jit-verify" standing --at now --ledger "$E2E_LEDGER" "$SLEDGER"
show "jit-verify report --ledger ledger.log service-ledger.log --log audit.log"
"$BIN/jit-verify" report --ledger "$E2E_LEDGER" "$SLEDGER" --log "$ROOT/log/audit.log"
say "demo complete; cleaning up"
