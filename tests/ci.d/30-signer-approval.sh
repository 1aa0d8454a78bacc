#!/usr/bin/env bash
# The signing service and two-person approval (docs/signer-service.md,
# docs/signer-policy.md), with real Unix users: `jit-signer serve` runs as
# its own user and alone holds the key and the ledger; the requester ($UA,
# the e2e sudo user) asks with `jit-signer request`, other users approve,
# reject or try to cheat through the socket; the requester collects the token
# with `fetch` and uses it with the real sudo, and the host's audit record
# names the approver. Also: the service SIGKILLed during approvals (a token
# is recorded in the ledger or does not exist), and a ledger it cannot write.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
# shellcheck source=../e2e/lib.sh
. tests/e2e/lib.sh
# shellcheck source=../e2e/signer.sh
. tests/e2e/signer.sh
RB=jit-req-b   # approver
RC_=jit-req-c  # not an approver, tries to cheat
cleanup() {
    signer_teardown
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

POLICY=$ROOT/policy.toml
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
signer_setup jit-e2e-svc "$POLICY"
S=$BIN/jit-signer
signer_start

call() { local u=$1; shift; as_user "$u" JIT_SIGNER_SOCKET="$SOCK" -- "$S" "$@"; }
req() { call "$UA" request --host-group e2e-hosts --reason "e2e approval" "$@"; }

# --- requests inside and outside the policy -------------------------------
req --command /usr/bin/true --ttl 1h
expect_exit "request: allowed by a rule" 0 "jit-signer approve"
ID=$(head -n 1 "$OUT")
[[ $ID =~ ^[0-9a-f]{32}$ ]] && ok "request: only the id on stdout" || bad "request id" "got '$ID'"
call root status "$ID" --json
st=$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["request"]; print(r["requester"], r["state"], r["rule"])' "$OUT")
[ "$st" = "$UA pending true-with-approval" ] && ok "request: the service named the requester itself (SO_PEERCRED)" \
    || bad "request owner" "$st"

req --host-group other-group --command /usr/bin/true
expect_exit "request: one ungranted host group refused (exit 7, rule named)" 7 \
    "rule true-with-approval: host group other-group is not granted"
req --command "/usr/bin/true --version"
expect_exit "request: extra argument refused" 7 "command /usr/bin/true --version is not granted"
req --command /usr/bin/true --ttl 2h1s
expect_exit "request: TTL one second over refused" 7 "exceeds max_ttl"
req --command /usr/bin/true --run-as "$RB"
expect_exit "request: ungranted run-as refused" 7 "run-as user $RB is not granted"
call "$RC_" request --host-group e2e-hosts --command /usr/bin/true --reason x
expect_exit "request: user named by no rule refused" 7 "no rule names user $RC_"

# --- who may approve, see and collect -------------------------------------
call "$UA" approve "$ID"
expect_exit "approve: own request refused although listed as approver" 7 "cannot approve their own request"
call "$RC_" approve "$ID"
expect_exit "approve: non-approver refused" 7 "$RC_ is not an approver"
call "$UA" fetch "$ID"
expect_exit "fetch: not decided yet (exit 11)" 11 "waiting for an approver"
call "$RC_" fetch "$ID"
expect_exit "fetch: someone else's request refused" 9 "only the requester collects its token"
call "$RC_" status "$ID"
expect_exit "status: not visible to a stranger" 9 "no request"
call "$RB" requests --json
if [ "$RC" = 0 ] && grep -q "$ID" "$OUT"; then ok "requests: an approver sees it"; else bad "requests (approver)"; fi
call "$RC_" requests --json
if [ "$RC" = 0 ] && ! grep -q "$ID" "$OUT"; then ok "requests: a non-approver does not"; else bad "requests (stranger)"; fi

# A client that names someone else in its call: refused as malformed, the
# kernel's identity stands.
cat > "$ROOT/lie.py" <<'EOF'
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
body = json.dumps({"v": 1, "op": "approve", "id": sys.argv[2], "approver": "root", "requester": sys.argv[3]}).encode()
s.sendall(struct.pack(">I", len(body)) + body)
n = struct.unpack(">I", s.recv(4))[0]
print(json.loads(s.recv(n))["error"])
EOF
chmod 0644 "$ROOT/lie.py"
as_user "$RC_" -- /usr/bin/python3 "$ROOT/lie.py" "$SOCK" "$ID" "$UA"
[ "$(cat "$OUT")" = malformed ] && ok "socket: a call naming a user is refused (malformed)" \
    || bad "socket: lying caller" "$(cat "$OUT")"

# root: requests and approves its own request -> refused
call root request --host-group e2e-hosts --command /usr/bin/true --reason root
expect_exit "request: by root" 0
RID=$(head -n 1 "$OUT")
call root approve "$RID"
expect_exit "approve: root cannot approve its own request" 7 "cannot approve their own request"

# --- a ledger the service cannot write: nothing changes, retry works -------
chmod 0400 "$SLEDGER"
call "$RB" approve "$ID"
expect_exit "approve: ledger unwritable -> unavailable, exit 6" 6 "nothing was issued, retry"
chmod 0600 "$SLEDGER"
call "$UA" fetch "$ID"
expect_exit "fetch: the request is still pending after the failed approval" 11

# --- approval, collection, replay -------------------------------------------
call "$RB" approve "$ID"
expect_exit "approve: by another listed approver" 0
grep -q "jit-signer fetch $ID" "$OUT" && ok "approve: says how the requester collects it" || bad "approve output"
call "$UA" fetch "$ID"
expect_exit "fetch: the requester collects the token" 0
TOK=$(head -n 1 "$OUT")
"$S" inspect --json --trusted-keys "$ROOT/keys/trusted-keys" "$TOK" > "$ROOT/inspect.json"
got=$(/usr/bin/python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["claims"]; print(c.get("approver"), c.get("sub"), c.get("max_uses"))' "$ROOT/inspect.json")
[ "$got" = "$RB $UA 3" ] && ok "token: names approver and requester, max_uses from the rule" \
    || bad "token claims" "approver/sub/max_uses = $got"
call "$UA" fetch "$ID"
expect_exit "fetch: the token is handed over once" 9 "already collected"
call "$RB" approve "$ID"
expect_exit "approve: replay of an approved request refused" 9 "already decided"
grep -qF "$TOK" "$ROOT/serve.log" && bad "serve log: holds a token" || ok "serve log: no token in the service's log"

req --command "/usr/bin/id -u"
RJ=$(head -n 1 "$OUT")
call "$RB" reject "$RJ" --reason "use the runbook"
expect_exit "reject: by an approver" 0
call "$UA" fetch "$RJ"
expect_exit "fetch: a rejected request says why (exit 12)" 12 "use the runbook"
call "$RB" approve "$RJ"
expect_exit "approve: a rejected request cannot be approved" 9 "already decided"

# Approval through a group: $RC_ becomes a lead (looked up at each call).
usermod -aG jit-req-leads "$RC_"
req --command "/usr/bin/id -u"
GID_=$(head -n 1 "$OUT")
call "$RC_" approve "$GID_"
expect_exit "approve: by a member of approver_groups" 0
call "$UA" fetch --json "$GID_"
got=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["request"]["decided_by"])' "$OUT")
[ "$got" = "$RC_" ] && ok "fetch: group approver named" || bad "group approver" "$got"

# --- request --wait: the token arrives when an approver approves ------------
WAITOUT=$ROOT/wait.out
setpriv --reuid="$UA" --regid="$UA" --init-groups --reset-env \
    env -i PATH=/usr/bin:/bin HOME="/home/$UA" JIT_SIGNER_SOCKET="$SOCK" \
    "$S" request --host-group e2e-hosts --command /usr/bin/true --reason waiting --wait=60s \
    </dev/null >"$WAITOUT" 2>"$ROOT/wait.err" &
WPID=$!
WID=
for _ in $(seq 1 200); do
    WID=$(grep -o 'request [0-9a-f]\{32\}' "$ROOT/wait.err" 2>/dev/null | head -1 | cut -d' ' -f2) || true
    [ -n "$WID" ] && break
    sleep 0.05
done
call "$RB" approve "$WID"
expect_exit "request --wait: approved while the requester waits" 0
set +e; wait "$WPID"; WRC=$?; set -e
wtok=$(head -n 1 "$WAITOUT")
if [ "$WRC" = 0 ] && "$S" inspect --trusted-keys "$ROOT/keys/trusted-keys" "$wtok" >/dev/null 2>&1; then
    ok "request --wait: prints the token once approved"
else bad "request --wait" "exit $WRC, stdout '$(head -c 80 "$WAITOUT")'"; fi

# --- expiry: an hour later, an undecided request cannot be approved ---------
req --command /usr/bin/true
EX=$(head -n 1 "$OUT")
signer_stop
signer_start faketime -f "+2h"
call "$RB" approve "$EX"
expect_exit "approve: expired request refused (exit 13)" 13 "expired"
call "$UA" fetch "$EX"
expect_exit "fetch: expired" 13
signer_stop
signer_start

# --- issue --policy -------------------------------------------------------
set +e
"$S" issue --policy "$POLICY" --key "$ROOT/signer/e2e-k1.key" --user "$UA" --host-group e2e-hosts \
    --command /usr/bin/true --reason direct >"$OUT" 2>"$ERR"; RC=$?; set -e
expect_exit "issue --policy: a grant needing approval is refused" 7 "requires approval: use jit-signer request"
set +e
"$S" issue --policy "$POLICY" --key "$ROOT/signer/e2e-k1.key" --user "$UA" --host-group e2e-hosts \
    --shell --ttl 30m --break-glass --reason "db down" --json >"$OUT" 2>"$ERR"; RC=$?; set -e
expect_exit "issue --policy: break-glass under a break-glass rule" 0
mu=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["claims"].get("max_uses"))' "$OUT")
[ "$mu" = 1 ] && ok "break-glass token is single-use" || bad "break-glass max_uses" "$mu"
set +e
"$S" issue --policy "$POLICY" --key "$ROOT/signer/e2e-k1.key" --user "$UA" --host-group e2e-hosts \
    --shell --ttl 31m --break-glass --reason "db down" >"$OUT" 2>"$ERR"; RC=$?; set -e
expect_exit "issue --policy: break-glass TTL over the rule refused" 7 "rule break-glass: TTL"

# --- the host decides: the collected token with the real sudo ----------------
# The approved (use-limited) token is the host's very first sudo: the module
# creates its state directory for the replay cache (this once denied).
as_user "$UA" JIT_TOKEN="$TOK" -- sudo -n /usr/bin/true
expect_exit "sudo: the collected token runs the approved command" 0
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

# --- SIGKILL during approvals: a recorded token, or nothing ------------------
# 12 requests (a requester may have 16 pending); $RB approves them one after
# the other while the service is
# killed at 5 points; after each restart the state must hold: every request
# the service says is approved has its token's `issued` record in the ledger.
KILLIDS=()
for i in $(seq 1 12); do
    call "$UA" request --host-group e2e-hosts --command /usr/bin/true --reason "kill $i"
    [ "$RC" = 0 ] || bad "SIGKILL: request $i" "exit $RC"
    KILLIDS+=("$(head -n 1 "$OUT")")
done
for round in 1 2 3 4 5; do
    ( for id in "${KILLIDS[@]}"; do
          setpriv --reuid="$RB" --regid="$RB" --init-groups --reset-env env -i PATH=/usr/bin:/bin \
              JIT_SIGNER_SOCKET="$SOCK" "$S" approve "$id" >/dev/null 2>&1 || true
      done ) &
    APID=$!
    # Let some approvals through (each is one call; no timing is asserted).
    for _ in $(seq 1 "$round"); do "$S" status --socket "$SOCK" >/dev/null 2>&1 || true; done
    signer_stop
    wait "$APID" 2>/dev/null || true
    signer_start
done
again=0
for id in "${KILLIDS[@]}"; do
    call "$RB" approve "$id"
    case "$RC" in 0) again=$((again + 1));; 9) ;; *) bad "SIGKILL: approve after restart" "exit $RC";; esac
done
inv=$(/usr/bin/python3 - "$ROOT/svc" "$SLEDGER" <<'EOF'
import glob, json, sys
issued = set()
for l in open(sys.argv[2], encoding="utf-8"):
    r = json.loads(l)
    if r.get("kind") == "issued":
        issued.add(r.get("token_id"))
approved = 0
for f in glob.glob(sys.argv[1] + "/requests/*.json"):
    e = json.load(open(f))
    if e["state"] in ("approved", "fetched"):
        approved += 1
        if e.get("token_id") not in issued:
            print("token without a ledger record:", e["id"]); sys.exit(0)
print("ok", approved, "approved")
EOF
)
case "$inv" in
    "ok "*) ok "SIGKILL: every approved request's token is in the ledger ($inv)";;
    *) bad "SIGKILL invariant" "$inv";;
esac
set +e
"$BIN/jit-verify" log "$SLEDGER" >"$OUT" 2>"$ERR"; RC=$?; set -e
expect_exit "SIGKILL: the service's ledger verifies" 0

# --- the issuance ledger: every approval, rejection and refusal -------------
# ledger_has FILE PYTHON-EXPR: some record r of FILE satisfies the expression.
ledger_has() {
    /usr/bin/python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
sys.exit(0 if any(eval(sys.argv[2], {}, {"r": r}) for r in recs) else 1)' "$1" "$2"
}
ledger_has "$SLEDGER" "r['kind'] == 'issued' and r.get('requester') == '$UA' and r.get('approver') == '$RB' and r.get('rule') == 'true-with-approval'" \
    && ok "ledger: the approval is an issued record (requester, approver, rule)" || bad "ledger issued" "$SLEDGER"
ledger_has "$SLEDGER" "r['kind'] == 'refused' and r.get('reason_code') == 'rejected' and r.get('requester') == '$UA'" \
    && ok "ledger: the rejection is a refused record" || bad "ledger rejected" "$SLEDGER"
ledger_has "$SLEDGER" "r['kind'] == 'refused' and r.get('reason_code') == 'self_approval'" \
    && ok "ledger: the self-approval attempt is a refused record" || bad "ledger self_approval" "-"
ledger_has "$SLEDGER" "r['kind'] == 'refused' and r.get('reason_code') == 'not_an_approver' and r.get('rule') == 'true-with-approval'" \
    && ok "ledger: a non-approver's attempt is a refused record naming the rule" || bad "ledger not_an_approver" "-"
ledger_has "$JIT_LEDGER" "r['kind'] == 'refused' and r.get('reason_code') == 'policy' and r.get('rule') == 'true-with-approval'" \
    && ok "ledger: issue --policy refusal recorded with its rule" || bad "ledger policy refusal" "-"
set +e
"$BIN/jit-verify" standing --at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --ledger "$SLEDGER" >"$OUT" 2>"$ERR"; RC=$?; set -e
expect_exit "ledger: standing reads the one service ledger" 0
grep -q "$UA" "$OUT" && ok "standing: lists the requester's approved grants" || bad "standing" "$(head -c 300 "$OUT")"

set +e
"$BIN/jit-verify" report --ledger "$SLEDGER" --json >"$OUT" 2>"$ERR"; RC=$?; set -e
expect_exit "report: the service ledger" 0
got=$(/usr/bin/python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["approvals"]
l = a["latency"] or {}
print(a["by_person"] >= 12, a["by_auto"], l.get("count", 0) >= 12, l.get("max_secs", -1) >= 0)' "$OUT")
[ "$got" = "True 0 True True" ] && ok "report: approvals by people, and request-to-approval latency" \
    || bad "report approvals" "$got"
set +e
"$BIN/jit-verify" report --ledger "$SLEDGER" >"$OUT" 2>"$ERR"; RC=$?; set -e
grep -q "request to approval: median" "$OUT" && ok "report: latency in the text output" || bad "report text" "$(head -c 400 "$OUT")"

tally_end 30-signer-approval
