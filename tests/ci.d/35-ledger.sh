#!/usr/bin/env bash
# The issuance ledger end to end: the real jit-signer issues two tokens and
# refuses a request (all three recorded in its ledger), one token is used with
# the real sudo through pam_jit (tests/e2e/lib.sh), then jit-verify report
# over the ledger and that host log counts it as used and the other as unused,
# standing lists both as live, and one edited ledger byte makes standing and
# report refuse, naming the failing line.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
# shellcheck source=../e2e/lib.sh
. tests/e2e/lib.sh
command -v jq >/dev/null || e2e_die "jq is not installed (Debian package jq)"
trap 'e2e_teardown; rm -f "$OUT" "$ERR"' EXIT
e2e_setup

# shellcheck source=../e2e/tally.sh
. tests/e2e/tally.sh
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name" "$*"; fi; }

V="$BIN/jit-verify"
LEDGER=$E2E_LEDGER
HOSTLOG=$ROOT/log/audit.log

# --- issue: two tokens and a refusal ----------------------------------------
used=$(e2e_issue --user "$UA" --host-group e2e-hosts --command /usr/bin/true --reason "ledger e2e used" --json)
unused=$(e2e_issue --user "$UB" --host-group e2e-hosts --command /usr/bin/id --ttl 30m \
    --approver carol --reason "ledger e2e unused" --json)
USED_TOK=$(jq -r .token <<<"$used"); USED_ID=$(jq -r .claims.cti <<<"$used")
UNUSED_ID=$(jq -r .claims.cti <<<"$unused")
rc=0; refused=$(e2e_issue --user "$UA" --host-group e2e-hosts --command /usr/bin/true --ttl 25h \
    --reason "too long" 2>/dev/null) || rc=$?
check "refused request: exit 2, no token" test "$rc:$refused" = "2:"
check "ledger: start, issued, issued, refused" \
    test "$(jq -r .kind "$LEDGER" | tr '\n' ' ')" = "start issued issued refused "
check "ledger: issued records carry the token ids" \
    test "$(jq -r 'select(.kind=="issued") | .token_id' "$LEDGER" | tr '\n' ' ')" = "$USED_ID $UNUSED_ID "
check "ledger: refusal has its reason code" \
    test "$(jq -r 'select(.kind=="refused") | .reason_code' "$LEDGER")" = ttl_out_of_range
rc=0
"$V" log --seal-key "${LEDGER%.log}.seal-key.initial" --state "${LEDGER%.log}.state" "$LEDGER" >/dev/null || rc=$?
check "jit-verify log: the ledger verifies like a host log (key + state)" test "$rc" = 0

# No record, no token: an unwritable ledger means nothing is printed, exit 6.
mkdir -p "$ROOT/blocked"; : >"$ROOT/blocked/file"
rc=0; tok=$("$BIN/jit-signer" issue --ledger "$ROOT/blocked/file/ledger.log" --key "$ROOT/signer/e2e-k1.key" \
    --user "$UA" --host-group e2e-hosts --command /usr/bin/true --reason x 2>/dev/null) || rc=$?
check "unwritable ledger: exit 6 and no token" test "$rc:$tok" = "6:"

# --- use one token with the real sudo; one denial ----------------------------
as_user "$UA" JIT_TOKEN="$USED_TOK" -- sudo -n /usr/bin/true
check "sudo with the used token: allowed" test "$RC" = 0
as_user "$UA" JIT_TOKEN="$USED_TOK" -- sudo -n /usr/bin/id
check "sudo of an ungranted command: denied" test "$RC" != 0
# A token whose issuance went to another ledger (as from another signer, or
# one made outside jit-signer): the report must point at it.
other=$("$BIN/jit-signer" issue --ledger "$ROOT/other/ledger.log" --key "$ROOT/signer/e2e-k1.key" \
    --user "$UA" --host-group e2e-hosts --command /usr/bin/true --reason other --json)
OTHER_ID=$(jq -r .claims.cti <<<"$other")
as_user "$UA" JIT_TOKEN="$(jq -r .token <<<"$other")" -- sudo -n /usr/bin/true
check "sudo with the other ledger's token: allowed" test "$RC" = 0

# --- report --------------------------------------------------------------------
KEY=${LEDGER%.log}.seal-key.initial
rc=0; rep=$("$V" report --ledger "$LEDGER" --seal-key "$KEY" --log "$HOSTLOG" --json) || rc=$?
check "report: exit 0 (ledger and host log verify)" test "$rc" = 0
check "report: ledger forward integrity checked" test "$(jq -r .ledger_verification.forward_integrity_checked <<<"$rep")" = true
u() { jq -r --arg u "$1" ".users[] | select(.user==\$u) | $2" <<<"$rep"; }
g() { jq -r --arg t "$1" ".grants[] | select(.token_id==\$t) | $2" <<<"$rep"; }
check "report: the used token counted as used once" test "$(g "$USED_ID" .uses)" = 1
check "report: the used token was used on this host" test "$(g "$USED_ID" '.hosts|length')" = 1
check "report: TTL used of the used token is >= 0 and < 60 s" \
    jq -e --arg t "$USED_ID" '.grants[] | select(.token_id==$t) | .ttl_used_secs >= 0 and .ttl_used_secs < 60' >/dev/null <<<"$rep"
check "report: the other token is unused" test "$(g "$UNUSED_ID" .uses)" = 0
check "report: $UA 1 grant used, none unused" test "$(u "$UA" '"\(.grants_used) \(.unused_grants|length)"')" = "1 0"
check "report: $UB has the unused grant" test "$(u "$UB" '.unused_grants[0]')" = "$UNUSED_ID"
check "report: TTL granted 1h + 30m" test "$(jq -r .totals.ttl_granted_secs <<<"$rep")" = 5400
check "report: the refusal counted for $UA" test "$(u "$UA" .refused_by_reason.ttl_out_of_range)" = 1
check "report: the host denial counted for $UA" test "$(u "$UA" .host_denials)" -ge 1
check "report: the token missing from this ledger is listed" \
    test "$(jq -r '[.not_in_ledger[].token_id] | join(" ")' <<<"$rep")" = "$OTHER_ID"
rc=0; text=$("$V" report --ledger "$LEDGER" --log "$HOSTLOG") || rc=$?
check "report (text): lists the unused grant" grep -q "$UNUSED_ID" <<<"$text"

# --- standing ------------------------------------------------------------------
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
rc=0; st=$("$V" standing --at "$now" --ledger "$LEDGER" --seal-key "$KEY" --json) || rc=$?
check "standing: exit 0" test "$rc" = 0
check "standing now: both tokens live" \
    test "$(jq -r '[.live[].token_id] | sort | join(" ")' <<<"$st")" = "$(printf '%s\n' "$USED_ID" "$UNUSED_ID" | sort | tr '\n' ' ' | sed 's/ $//')"
check "standing: the unused grant names its approver and host group" \
    test "$(jq -r --arg t "$UNUSED_ID" '.live[] | select(.token_id==$t) | "\(.approver) \(.host_groups[0])"' <<<"$st")" = "carol e2e-hosts"
check "standing --user $UB: only $UB's grant" \
    test "$("$V" standing --at "$now" --ledger "$LEDGER" --user "$UB" --json | jq -r '[.live[].token_id] | join(" ")')" = "$UNUSED_ID"
check "standing --host-group other-group: nobody" \
    test "$("$V" standing --at "$now" --ledger "$LEDGER" --host-group other-group --json | jq -r '.live | length')" = 0
later=$(date -u -d '+45 min' +%Y-%m-%dT%H:%M:%SZ)
check "standing in 45 min: only the 1 h token" \
    test "$("$V" standing --at "$later" --ledger "$LEDGER" --json | jq -r '[.live[].token_id] | join(" ")')" = "$USED_ID"

# --- one edited byte: standing and report refuse with the line ----------------
mkdir -p "$ROOT/tampered"
T=$ROOT/tampered/ledger.log
cp "$LEDGER" "$T"
# Line 3 is the second issued record: change one character of its user name.
python3 - "$T" "$UB" <<'EOF'
import sys
p, user = sys.argv[1], sys.argv[2].encode()
lines = open(p, "rb").read().split(b"\n")
i = lines[2].index(b'"user":"' + user) + len(b'"user":"')
lines[2] = lines[2][:i] + bytes([lines[2][i] ^ 0x01]) + lines[2][i + 1:]
open(p, "wb").write(b"\n".join(lines))
EOF
check "tampered copy differs in exactly one byte" test "$(cmp -l "$LEDGER" "$T" | wc -l)" = 1
for sub in standing report; do
    args=(standing --at "$now" --ledger "$T")
    [ $sub = report ] && args=(report --ledger "$T" --log "$HOSTLOG")
    rc=0; "$V" "${args[@]}" >"$OUT" 2>"$ERR" || rc=$?
    check "$sub on the edited ledger: exit 1" test "$rc" = 1
    check "$sub on the edited ledger: no answer on stdout" test ! -s "$OUT"
    check "$sub on the edited ledger: names line 3" grep -qF "TAMPERED [bad_hash] $T:3: " "$ERR"
done
rc=0; "$V" standing --at "$now" --ledger "$T" --unverified >"$OUT" 2>"$ERR" || rc=$?
check "standing --unverified: answers, loudly, exit 1" \
    test "$rc:$(head -n1 "$OUT")" = "1:UNVERIFIED LEDGER: this answer may be false"

tally_end "ledger e2e"
