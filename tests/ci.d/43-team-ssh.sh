#!/usr/bin/env bash
# A team, over SSH only (docs/jit-signer.md "From a laptop", docs/ssh.md):
# two engineers ($UA requests, $UC is another engineer) and an approver ($UB)
# on separate accounts reach the signing service with `jit-signer --remote`
# through a real sshd on 127.0.0.1 (tests/e2e/sshd.sh), where the service
# names each caller by their SSH login; the approved token goes to the host
# with SendEnv, and the real sudo behind the e2e PAM service allows the
# command. Nothing is pasted but the command asked for.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
# shellcheck source=../e2e/lib.sh
. tests/e2e/lib.sh
# shellcheck source=../e2e/sshd.sh
. tests/e2e/sshd.sh
# shellcheck source=../e2e/signer.sh
. tests/e2e/signer.sh
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

POLICY=$ROOT/policy.toml
cat > "$POLICY" <<EOF
[[rule]]
name = "whoami-as-root"
users = ["$UA", "$UC"]
host_groups = ["e2e-hosts"]
commands = ["/usr/bin/id -un"]
max_ttl = "1h"
approvers = ["$UB"]
EOF
chmod 0644 "$POLICY"
signer_setup jit-e2e-svc "$POLICY"
signer_start

sshd_setup "$S" "$UA" "$UB" "$UC"
# What `jit-ctl enable --ssh` installs (tests/ci.d/42-pam-ssh.sh tests it).
install -m 0644 packaging/ssh/sshd-jit.conf "$S/sshd_config.d/jit.conf"
sshd_start

# remote USER ARGS...: `jit-signer ARGS --remote jit-e2e-signer` as USER, through
# the test's ssh configuration; the signer host is this machine's sshd.
remote() {
    local u=$1; shift
    as_user "$u" JIT_SIGNER_SSH="ssh -F $S/client-$u/config" JIT_SIGNER_REMOTE="$BIN/jit-signer" -- \
        "$BIN/jit-signer" "$@" --remote jit-e2e-signer --socket "$SOCK"
}

remote "$UB" status
expect_exit "remote status: the approver reaches the service over ssh" 0
grep -q "you are $UB;" "$OUT" && ok "remote status: the service names the caller by the SSH login" \
    || bad "remote caller" "$(cat "$OUT")"

# The requester asks and waits, over ssh, in the background.
WOUT=$ROOT/wait.out
setpriv --reuid="$UA" --regid="$UA" --init-groups --reset-env \
    env -i PATH=/usr/bin:/bin HOME="/home/$UA" JIT_SIGNER_SSH="ssh -F $S/client-$UA/config" \
    JIT_SIGNER_REMOTE="$BIN/jit-signer" \
    "$BIN/jit-signer" request --remote jit-e2e-signer --socket "$SOCK" --host-group e2e-hosts \
    --command "/usr/bin/id -un" --reason "INC-4711 who am I" --wait=120s \
    </dev/null >"$WOUT" 2>"$ROOT/wait.err" &
WPID=$!

# The approver sees it (polling, bounded) ...
ID=
for _ in $(seq 1 200); do
    remote "$UB" requests --json
    ID=$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["requests"]; print(r[0]["id"] if r else "")' "$OUT" 2>/dev/null || true)
    [ -n "$ID" ] && break
    sleep 0.05
done
[ -n "$ID" ] && ok "remote requests: the approver sees the pending request" || bad "remote requests" "none listed"

# ... another engineer cannot approve or collect it ...
remote "$UC" approve "$ID"
expect_exit "remote approve: another engineer is no approver" 7 "is not an approver"
remote "$UC" fetch "$ID"
expect_exit "remote fetch: another engineer cannot collect the token" 9 "only the requester collects its token"
remote "$UA" approve "$ID"
expect_exit "remote approve: nor can the requester" 7 "cannot approve their own request"

# ... the approver approves, and the waiting requester gets the token.
remote "$UB" approve "$ID"
expect_exit "remote approve: by the approver" 0
set +e; wait "$WPID"; WRC=$?; set -e; WPID=
TOK=$(head -n 1 "$WOUT")
if [ "$WRC" = 0 ] && "$BIN/jit-signer" inspect --trusted-keys "$ROOT/keys/trusted-keys" "$TOK" >/dev/null 2>&1; then
    ok "remote request --wait: the requester receives the approved token"
else bad "remote request --wait" "exit $WRC: $(head -c 300 "$ROOT/wait.err")"; fi

# The token goes to the host with SendEnv; the real sudo allows the command.
before=$(log_lines)
set +e
setpriv --reuid="$UA" --regid="$UA" --init-groups --reset-env \
    env -i PATH=/usr/bin:/bin HOME="/home/$UA" JIT_TOKEN="$TOK" \
    ssh -F "$S/client-$UA/config" jit-e2e-web-1 sudo -n /usr/bin/id -un </dev/null >"$OUT" 2>"$ERR"
RC=$?; set -e
expect_exit "over ssh: sudo with the collected token" 0
grep -qx root "$OUT" && ok "over ssh: the command ran as root" || bad "command output" "$(cat "$OUT")"
rec=$(/usr/bin/python3 - "$ROOT/log/audit.log" "$before" <<'EOF'
import json, sys
d = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8").read().splitlines()[int(sys.argv[2]):]]
d = [r for r in d if r["kind"] == "decision"]
print(d[-1].get("allowed"), d[-1].get("user"), d[-1].get("approver")) if d else print("none")
EOF
)
[ "$rec" = "True $UA $UB" ] && ok "host log: allowed, the requester, the approver" || bad "host record" "$rec"

# The one ledger holds the approval with both people.
/usr/bin/python3 - "$SLEDGER" "$UA" "$UB" <<'EOF' && ok "ledger: requester and approver from their SSH logins" || bad "ledger" "no issued record for $UA approved by $UB"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
sys.exit(0 if any(r["kind"] == "issued" and r.get("requester") == sys.argv[2] and r.get("approver") == sys.argv[3] and r.get("requested") for r in recs) else 1)
EOF

# A signer host ssh cannot reach: a clear error, exit 6.
as_user "$UA" JIT_SIGNER_SSH="ssh -F $S/client-$UA/config -o ConnectTimeout=2 -p 1" -- \
    "$BIN/jit-signer" status --remote 127.0.0.1
expect_exit "remote: an unreachable signer host is exit 6" 6 "no answer from jit-signer relay"

tally_end 43-team-ssh
