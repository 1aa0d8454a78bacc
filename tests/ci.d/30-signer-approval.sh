#!/usr/bin/env bash
# Signer policy and two-person approval (docs/signer-policy.md), with real
# Unix users: the requester ($UA, the e2e sudo user) asks with
# `jit-signer request`, other users approve, reject or try to cheat; the
# approved token is then used with the real sudo (tests/e2e/lib.sh) and the
# host's audit record names the approver.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
# shellcheck source=../e2e/lib.sh
. tests/e2e/lib.sh
RB=jit-req-b   # approver
RC_=jit-req-c  # not an approver, tries to forge requests
cleanup() {
    for u in "$RB" "$RC_"; do
        if id "$u" >/dev/null 2>&1; then
            pkill -KILL -u "$u" 2>/dev/null || true
            userdel --remove "$u" 2>/dev/null || true
        fi
    done
    getent group jit-req-leads >/dev/null && groupdel jit-req-leads
    e2e_teardown
    rm -f "$OUT" "$ERR"
}
trap cleanup EXIT
e2e_setup
for u in "$RB" "$RC_"; do
    id "$u" >/dev/null 2>&1 && userdel --remove "$u"
    useradd --create-home --shell /bin/bash "$u"
done
getent group jit-req-leads >/dev/null && groupdel jit-req-leads
groupadd jit-req-leads

# shellcheck source=../e2e/tally.sh
. tests/e2e/tally.sh
# expect NAME WANT_RC [STDERR_SUBSTRING]
expect() {
    if [ "$RC" != "$2" ]; then bad "$1" "exit status $RC, wanted $2"; return; fi
    if [ -n "${3:-}" ] && ! grep -qF -- "$3" "$ERR"; then bad "$1" "stderr lacks '$3'"; return; fi
    ok "$1"
}

SPOOL=$ROOT/spool
POLICY=$ROOT/policy.toml
install -d -o root -g root -m 1733 "$SPOOL"
cat > "$POLICY" <<EOF
[[rule]]
name = "true-with-approval"
users = ["$UA", "root"]
host_groups = ["e2e-hosts"]
commands = ["/usr/bin/true", "/usr/bin/id ..."]
max_ttl = "2h"
max_uses = 3
# $UA and root are approvers too: they still cannot approve their own requests.
approvers = ["$RB", "$UA", "root"]
approver_groups = ["jit-req-leads"]

[[rule]]
name = "break-glass"
users = ["$UA"]
host_groups = ["e2e-hosts"]
shell = true
max_ttl = "30m"
approval = false
break_glass = true
EOF
chmod 0644 "$POLICY"
# The approver's own copy of the signing key (key files must be mode 0600).
install -d -o "$RB" -m 0700 "$ROOT/key-b"
install -o "$RB" -m 0600 "$ROOT/signer/e2e-k1.key" "$ROOT/key-b/k1.key"
ENVS=(JIT_POLICY="$POLICY" JIT_SPOOL="$SPOOL")
S=$BIN/jit-signer

req() { as_user "$UA" "${ENVS[@]}" -- "$S" request --host-group e2e-hosts --reason "e2e approval" "$@"; }
# Each approver account writes its own issuance ledger (ledger files are
# 0600 to their writer); root's is lib.sh's $JIT_LEDGER.
ledger_of() { install -d -o "$1" -m 0700 "$ROOT/ledger-$1"; echo "JIT_LEDGER=$ROOT/ledger-$1/ledger.log"; }
approve() { local u=$1; shift; as_user "$u" "${ENVS[@]}" "$(ledger_of "$u")" -- "$S" approve --key "$ROOT/key-b/k1.key" "$@"; }

# --- requests inside and outside the policy -------------------------------
req --command /usr/bin/true --ttl 1h
expect "request: allowed by a rule" 0
ID=$(head -n 1 "$OUT")
[[ $ID =~ ^[0-9a-f]{32}$ ]] && ok "request: id printed" || bad "request id" "got '$ID'"
owner=$(stat -c %U "$SPOOL/$ID.req")
[ "$owner" = "$UA" ] && ok "request: file owned by the requester (kernel-set)" || bad "owner" "$owner"

req --host-group other-group --command /usr/bin/true
expect "request: one ungranted host group refused (exit 7, rule named)" 7 \
    "rule true-with-approval: host group other-group is not granted"
req --command "/usr/bin/true --version"
expect "request: extra argument refused" 7 "command /usr/bin/true --version is not granted"
req --command /usr/bin/true --ttl 2h1s
expect "request: TTL one second over refused" 7 "exceeds max_ttl"
req --command /usr/bin/true --run-as "$RB"
expect "request: ungranted run-as refused" 7 "run-as user $RB is not granted"
as_user "$RC_" "${ENVS[@]}" -- "$S" request --host-group e2e-hosts --command /usr/bin/true --reason x
expect "request: user named by no rule refused" 7 "no rule names user $RC_"

# --- who may approve ------------------------------------------------------
approve "$UA" "$ID"
expect "approve: own request refused although listed as approver" 7 "cannot approve their own request"
approve "$RC_" "$ID"
expect "approve: non-approver refused" 7 "$RC_ is not an approver"

# root: requests and approves its own request -> refused
set +e
JIT_POLICY=$POLICY JIT_SPOOL=$SPOOL "$S" request --host-group e2e-hosts --command /usr/bin/true --reason root >"$OUT" 2>"$ERR"
RC=$?; set -e
expect "request: by root" 0
RID=$(head -n 1 "$OUT")
set +e
JIT_POLICY=$POLICY JIT_SPOOL=$SPOOL "$S" approve --key "$ROOT/signer/e2e-k1.key" "$RID" >"$OUT" 2>"$ERR"
RC=$?; set -e
expect "approve: root cannot approve its own request" 7 "cannot approve their own request"

# --- forged, copied, linked, altered requests -----------------------------
# $RC_ cannot replace, remove or rename $UA's request (sticky, root-owned spool) ...
as_user "$RC_" -- /bin/sh -c "cp '$ROOT/policy.toml' '$SPOOL/$ID.req' || mv -f '$SPOOL/$ID.req' '$SPOOL/x.req' || rm -f '$SPOOL/$ID.req'"
if [ "$RC" != 0 ] && [ "$(stat -c %U "$SPOOL/$ID.req")" = "$UA" ]; then
    ok "spool: another user cannot replace, rename or remove a request"
else bad "spool: foreign request tampering" "file now owned by $(stat -c %U "$SPOOL/$ID.req")"; fi
# ... so it copies the request (new nonce) into the spool as its own file.
# (The owner check runs before the id/hash check, so any file name will do.)
forged=$(/usr/bin/python3 - "$SPOOL/$ID.req" <<'EOF'
import json, sys
d = json.loads(open(sys.argv[1]).read())
d["nonce"] = "ff" * 16
sys.stdout.write(json.dumps(d, separators=(",", ":")) + "\n")
EOF
)
printf '%s' "$forged" > "$ROOT/forged.json"
chmod 0644 "$ROOT/forged.json"
FID=$(/usr/bin/python3 -c 'import os; print(os.urandom(16).hex())')
as_user "$RC_" -- /bin/sh -c "umask 022; cat '$ROOT/forged.json' > '$SPOOL/$FID.req'"
approve "$RB" "$FID"
expect "approve: a copy of someone's request is not theirs (owner checked)" 9 "owned by uid"
as_user "$RC_" -- ln -s "$SPOOL/$ID.req" "$SPOOL/$(printf '%032x' 7).req"
approve "$RB" "$(printf '%032x' 7)"
expect "approve: symlinked request refused" 9 "opening request"
ln "$SPOOL/$ID.req" "$ROOT/hardlink"
approve "$RB" "$ID"
expect "approve: request with a second hard link refused" 9 "hard links"
rm -f "$ROOT/hardlink"
chmod 0664 "$SPOOL/$ID.req"
approve "$RB" "$ID"
expect "approve: group-writable request refused" 9 "group- or world-writable"
chmod 0644 "$SPOOL/$ID.req"
approve "$RB" 0123
expect "approve: malformed id refused" 9 "not a request id"

# --- listing ------------------------------------------------------------------
set +e
JIT_SPOOL=$SPOOL "$S" requests --json >"$OUT" 2>"$ERR"; RC=$?; set -e
if [ "$RC" = 0 ] && grep -q "$ID" "$OUT" && ! grep -q "$FID" "$OUT"; then
    ok "requests: lists the pending request, not the forged one"
else bad "requests listing" "id missing or forged listed"; fi

# --- approval, token, replay ------------------------------------------------
approve "$RB" --json "$ID"
expect "approve: by another listed approver" 0
TOK=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$OUT")
"$S" inspect --json --trusted-keys "$ROOT/keys/trusted-keys" "$TOK" > "$ROOT/inspect.json"
got=$(/usr/bin/python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["claims"]; print(c.get("approver"), c.get("sub"), c.get("max_uses"))' "$ROOT/inspect.json")
[ "$got" = "$RB $UA 3" ] && ok "token: names approver and requester, max_uses from the rule" \
    || bad "token claims" "approver/sub/max_uses = $got"
approve "$RB" "$ID"
expect "approve: replay of an approved request refused" 9 "already decided"

req --command "/usr/bin/id -u"
RJ=$(head -n 1 "$OUT")
as_user "$RB" "${ENVS[@]}" "$(ledger_of "$RB")" -- "$S" reject "$RJ"
expect "reject: by an approver" 0
approve "$RB" "$RJ"
expect "approve: a rejected request cannot be approved" 9 "already decided"

# Approval through a group: $RC_ becomes a lead.
usermod -aG jit-req-leads "$RC_"
install -d -o "$RC_" -m 0700 "$ROOT/key-c"
install -o "$RC_" -m 0600 "$ROOT/signer/e2e-k1.key" "$ROOT/key-c/k1.key"
req --command "/usr/bin/id -u"
GID_=$(head -n 1 "$OUT")
as_user "$RC_" "${ENVS[@]}" "$(ledger_of "$RC_")" -- "$S" approve --json --key "$ROOT/key-c/k1.key" "$GID_"
expect "approve: by a member of approver_groups" 0
got=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["claims"].get("approver"))' "$OUT")
[ "$got" = "$RC_" ] && ok "token: group approver named" || bad "group approver" "$got"

req --command /usr/bin/true --now "@$(( $(date +%s) - 3700 ))"
EX=$(head -n 1 "$OUT")
approve "$RB" "$EX"
expect "approve: expired request refused" 9 "expired"

# --- issue --policy -------------------------------------------------------
set +e
"$S" issue --policy "$POLICY" --key "$ROOT/signer/e2e-k1.key" --user "$UA" --host-group e2e-hosts \
    --command /usr/bin/true --reason direct >"$OUT" 2>"$ERR"; RC=$?; set -e
expect "issue --policy: a grant needing approval is refused" 7 "requires approval: use jit-signer request"
set +e
"$S" issue --policy "$POLICY" --key "$ROOT/signer/e2e-k1.key" --user "$UA" --host-group e2e-hosts \
    --shell --ttl 30m --break-glass --reason "db down" --json >"$OUT" 2>"$ERR"; RC=$?; set -e
expect "issue --policy: break-glass under a break-glass rule" 0
mu=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["claims"].get("max_uses"))' "$OUT")
[ "$mu" = 1 ] && ok "break-glass token is single-use" || bad "break-glass max_uses" "$mu"
set +e
"$S" issue --policy "$POLICY" --key "$ROOT/signer/e2e-k1.key" --user "$UA" --host-group e2e-hosts \
    --shell --ttl 31m --break-glass --reason "db down" >"$OUT" 2>"$ERR"; RC=$?; set -e
expect "issue --policy: break-glass TTL over the rule refused" 7 "rule break-glass: TTL"

# --- the host decides: the approved token with the real sudo ----------------
# The approved (use-limited) token is the host's very first sudo: the module
# creates its state directory for the replay cache (this once denied).
as_user "$UA" JIT_TOKEN="$TOK" -- sudo -n /usr/bin/true
expect "sudo: approved token runs the approved command" 0
appr=$(/usr/bin/python3 - "$ROOT/log/audit.log" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8").read().splitlines()]
dec = [r for r in recs if r.get("kind") == "decision" and r.get("allowed")]
print(dec[-1].get("approver") if dec else "none")
EOF
)
[ "$appr" = "$RB" ] && ok "sudo: the audit record names the approver" || bad "audit approver" "got '$appr'"
as_user "$UA" JIT_TOKEN="$TOK" -- sudo -n /usr/bin/id -u
[ "$RC" != 0 ] && ok "sudo: a command outside the approved request is denied" \
    || bad "sudo: unapproved command" "ran"

# --- the issuance ledger: every approval, rejection and refusal -------------
# ledger_has FILE PYTHON-EXPR: some record r of FILE satisfies the expression.
ledger_has() {
    /usr/bin/python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
sys.exit(0 if any(eval(sys.argv[2], {}, {"r": r}) for r in recs) else 1)' "$1" "$2"
}
LB=$ROOT/ledger-$RB/ledger.log
ledger_has "$LB" "r['kind'] == 'issued' and r.get('requester') == '$UA' and r.get('approver') == '$RB' and r.get('rule') == 'true-with-approval'" \
    && ok "ledger: the approval is an issued record (requester, approver, rule)" || bad "ledger issued" "$LB"
ledger_has "$LB" "r['kind'] == 'refused' and r.get('reason_code') == 'rejected' and r.get('requester') == '$UA'" \
    && ok "ledger: the rejection is a refused record" || bad "ledger rejected" "$LB"
ledger_has "$ROOT/ledger-$UA/ledger.log" "r['kind'] == 'refused' and r.get('reason_code') == 'self_approval'" \
    && ok "ledger: the self-approval attempt is a refused record" || bad "ledger self_approval" "-"
ledger_has "$ROOT/ledger-$RC_/ledger.log" "r['kind'] == 'refused' and r.get('reason_code') == 'not_an_approver' and r.get('rule') == 'true-with-approval'" \
    && ok "ledger: a non-approver's attempt is a refused record naming the rule" || bad "ledger not_an_approver" "-"
ledger_has "$JIT_LEDGER" "r['kind'] == 'refused' and r.get('reason_code') == 'policy' and r.get('rule') == 'true-with-approval'" \
    && ok "ledger: issue --policy refusal recorded with its rule" || bad "ledger policy refusal" "-"
set +e
"$BIN/jit-verify" log "$LB" >"$OUT" 2>"$ERR"; RC=$?; set -e
expect "ledger: the approver's ledger verifies" 0

tally_end 30-signer-approval
