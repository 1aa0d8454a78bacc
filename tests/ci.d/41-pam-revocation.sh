#!/usr/bin/env bash
# Signed revocation lists (docs/revocation.md) under the real Debian sudo:
# jit-signer revoke writes the lists, the host reads them from
# revocation_list, and every case asserts sudo's exit status, what the user
# saw and the decision record. Run as: flock /run/jit-e2e.lock bash tests/ci.d/41-pam-revocation.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
# shellcheck source=../e2e/lib.sh
. tests/e2e/lib.sh
command -v faketime >/dev/null || e2e_die "faketime is not installed (Debian package faketime)"
trap 'e2e_teardown; rm -f "$OUT" "$ERR"' EXIT
e2e_setup

# shellcheck source=../e2e/tally.sh
. tests/e2e/tally.sh

LIST=$ROOT/keys/revocation/list
STATE=$ROOT/state/revocation-state
SIGNER_STATE=$ROOT/signer/revocation
mkdir -p "$ROOT/keys/revocation"; chmod 0755 "$ROOT/keys/revocation"
# e2e_write_conf points revocation_list and revocation_state at $LIST and $STATE.
grep -qx "revocation_list = $LIST" "$ROOT/pam_jit.conf" || e2e_die "lib.sh does not configure $LIST"
# User C's stack reads bad.conf: here the same, sound configuration.
e2e_write_conf "$ROOT/bad.conf"

# expect NAME WANT_RC STDERR_SUBSTRING WANT_CODE: exit status, message, and
# the reason code of the last decision record written by this run.
expect() {
    local name=$1 want_rc=$2 want_err=$3 want_code=$4 got
    if [ "$RC" != "$want_rc" ]; then bad "$name" "exit status $RC, wanted $want_rc"; return; fi
    if [ -n "$want_err" ] && ! grep -qF -- "$want_err" "$ERR"; then
        bad "$name" "stderr lacks '$want_err'"; return
    fi
    if [ "$(log_lines)" = "$before" ]; then bad "$name" "no record written"; return; fi
    got=$(/usr/bin/python3 - "$ROOT/log/audit.log" "$before" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8").read().splitlines()[int(sys.argv[2]):]]
d = [r for r in recs if r["kind"] == "decision"]
print(f'{d[-1].get("allowed")} {d[-1].get("reason_code")}' if d else "none")
EOF
)
    [ "$got" = "$want_code" ] || { bad "$name" "last decision '$got', wanted '$want_code'"; return; }
    ok "$name"
}
run() { before=$(log_lines); as_user "$@"; }
revoke() { "$BIN/jit-signer" revoke --key "$ROOT/signer/e2e-k1.key" --state "$SIGNER_STATE" "$@" >/dev/null; }
install_list() { install -m 0644 "$1" "$LIST"; }

HG=(--host-group e2e-hosts)
T1=$(e2e_issue --user "$UA" "${HG[@]}" --command /usr/bin/true --reason "rev one")
T2=$(faketime -f '-120s' "$BIN/jit-signer" issue --key "$ROOT/signer/e2e-k1.key" --user "$UA" "${HG[@]}" \
    --command /usr/bin/true --reason "rev two")
TC=$(e2e_issue --user "$UC" "${HG[@]}" --command /usr/bin/true --reason "rev c")
id_of() { "$BIN/jit-signer" inspect --json "$1" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["claims"]["cti"])'; }

# --- a host that has never seen a list ------------------------------------------
run "$UA" JIT_TOKEN="$T1" -- sudo -n /usr/bin/true
expect "never-seen host without a list: allowed (deny_once_seen)" 0 "" "True ok"
[ -e "$STATE" ] && bad "no state without a list" "$STATE exists" || ok "no revocation state written without a list"

# --- by token id -------------------------------------------------------------------
revoke --token-id "$(id_of "$T1")"
install_list "$SIGNER_STATE/revocation.list"
cp "$SIGNER_STATE/revocation.list" "$ROOT/v1.list"
run "$UA" JIT_TOKEN="$T1" -- sudo -n /usr/bin/true
expect "revoked by token id: denied" 1 "is revoked (revocation list version 1)" "False revoked"
[ "$(last_record token_id)" = "$(id_of "$T1")" ] && ok "revoked: the record names the token" \
    || bad "revoked record" "token_id $(last_record token_id)"
run "$UA" JIT_TOKEN="$T2" -- sudo -n /usr/bin/true
expect "another token of the same user: allowed" 0 "" "True ok"
grep -qF "(revocation list version 1)" <<<"$(last_record message 3)" && ok "allowed record names the list version" \
    || bad "allowed record" "$(last_record message 3)"
stat -c '%a %U %G' "$STATE" | grep -qx '600 root root' && ok "revocation state 0600 root:root" \
    || bad "state mode" "$(stat -c '%a %U %G' "$STATE")"
grep -q '^jit-revocation-state-v1 1 [0-9a-f]\{64\}$' "$STATE" && ok "state records version 1" \
    || bad "state content" "$(cat "$STATE")"

# --- by user -------------------------------------------------------------------------
revoke --user "$UC"
install_list "$SIGNER_STATE/revocation.list"
cp "$SIGNER_STATE/revocation.list" "$ROOT/v2.list"
run "$UC" JIT_TOKEN="$TC" -- sudo -n /usr/bin/true
expect "revoked user: denied" 1 "every token of user $UC is revoked" "False revoked"
run "$UA" JIT_TOKEN="$T2" -- sudo -n /usr/bin/true
expect "other user unaffected by a user revocation" 0 "" "True ok"
run "$UA" JIT_TOKEN="$T1" -- sudo -n /usr/bin/true
expect "token id revocation carried into version 2" 1 "is revoked" "False revoked"

# --- watermark -------------------------------------------------------------------------
revoke --user "$UA" --before "@$(( $(date +%s) - 60 ))"
install_list "$SIGNER_STATE/revocation.list"
cp "$SIGNER_STATE/revocation.list" "$ROOT/v3.list"
run "$UA" JIT_TOKEN="$T2" -- sudo -n /usr/bin/true
expect "watermark: token issued before T denied" 1 "issued before" "False revoked"
T3=$(e2e_issue --user "$UA" "${HG[@]}" --command /usr/bin/true --reason "after the watermark")
run "$UA" JIT_TOKEN="$T3" -- sudo -n /usr/bin/true
expect "watermark: token issued after T allowed" 0 "" "True ok"

# --- rollback and equivocation ------------------------------------------------------------
install_list "$ROOT/v2.list"
run "$UA" JIT_TOKEN="$T3" -- sudo -n /usr/bin/true
expect "rollback to version 2: every token denied" 1 "older than version 3" "False revocation_rollback"
cp -a "$SIGNER_STATE" "$ROOT/fork"
"$BIN/jit-signer" revoke --key "$ROOT/signer/e2e-k1.key" --state "$ROOT/fork" --token-id "$(id_of "$T1")" --user nobody-else >/dev/null
cp -a "$ROOT/fork/revocation.list" "$ROOT/fork.list"
revoke --user someone-else
install_list "$SIGNER_STATE/revocation.list"
run "$UA" JIT_TOKEN="$T3" -- sudo -n /usr/bin/true
expect "version 4 accepted" 0 "" "True ok"
install_list "$ROOT/fork.list"
run "$UA" JIT_TOKEN="$T3" -- sudo -n /usr/bin/true
expect "another list with version 4: denied (equivocation)" 1 "differs from the version 4" "False revocation_equivocation"
install_list "$SIGNER_STATE/revocation.list"
run "$UA" JIT_TOKEN="$T3" -- sudo -n /usr/bin/true
expect "the current list again: allowed" 0 "" "True ok"

# --- bad lists deny everything ---------------------------------------------------------------
echo garbage > "$LIST"
run "$UA" JIT_TOKEN="$T3" -- sudo -n /usr/bin/true
expect "garbage list: denied" 1 "revocation list $LIST is unusable" "False revocation_list_invalid"
"$BIN/jit-signer" revoke --key "$ROOT/signer/e2e-k2.key" --state "$ROOT/k2state" --user x >/dev/null
install_list "$ROOT/k2state/revocation.list"
run "$UA" JIT_TOKEN="$T3" -- sudo -n /usr/bin/true
expect "list signed by an untrusted key: denied" 1 "unknown_kid" "False revocation_list_invalid"
"$BIN/jit-signer" inspect - >/dev/null 2>&1 <<<"$(tr -d '\n' < "$SIGNER_STATE/revocation.list")" \
    && bad "a list is not a token" "inspect accepted a list" || ok "jit-signer inspect rejects a list as a token"
run "$UA" JIT_TOKEN="$(tr -d '\n' < "$SIGNER_STATE/revocation.list")" -- sudo -n /usr/bin/true
expect "a list presented as a token: denied" 1 "" "False unknown_claim"
printf '%s\n' "$T3" > "$LIST"
run "$UA" JIT_TOKEN="$T3" -- sudo -n /usr/bin/true
expect "a token presented as a list: denied" 1 "wrong_typ" "False revocation_list_invalid"
install_list "$SIGNER_STATE/revocation.list"; chmod 0666 "$LIST"
run "$UA" JIT_TOKEN="$T3" -- sudo -n /usr/bin/true
expect "world-writable list: denied" 1 "writable by group or others" "False revocation_list_invalid"
chmod 0644 "$LIST"; mv "$LIST" "$ROOT/keys/revocation/real"; ln -s real "$LIST"
run "$UA" JIT_TOKEN="$T3" -- sudo -n /usr/bin/true
expect "symlinked list: denied" 1 "symbolic link" "False revocation_list_invalid"
rm "$LIST"; mv "$ROOT/keys/revocation/real" "$LIST"
run "$UA" JIT_TOKEN="$T3" -- sudo -n /usr/bin/true
expect "sound list restored: allowed" 0 "" "True ok"

# --- missing list ------------------------------------------------------------------------------
rm "$LIST"
run "$UA" JIT_TOKEN="$T3" -- sudo -n /usr/bin/true
expect "missing list after one was seen: denied by default" 1 "has accepted version 4 before" "False revocation_list_missing"
e2e_write_conf "$ROOT/pam_jit.conf" "revocation_missing = allow"
run "$UA" JIT_TOKEN="$T3" -- sudo -n /usr/bin/true
expect "missing list with revocation_missing = allow: allowed" 0 "" "True ok"
e2e_write_conf "$ROOT/pam_jit.conf" "revocation_missing = deny"
rm -f "$STATE"
run "$UA" JIT_TOKEN="$T3" -- sudo -n /usr/bin/true
expect "never-seen host with revocation_missing = deny: denied" 1 "requires one" "False revocation_list_missing"
e2e_write_conf "$ROOT/pam_jit.conf"
run "$UA" JIT_TOKEN="$T3" -- sudo -n /usr/bin/true
expect "never-seen host (state removed) under the default: allowed" 0 "" "True ok"

# --- concurrency: 16 sudo invocations accept version 5 at once -----------------------------------
revoke --user late-user
install_list "$SIGNER_STATE/revocation.list"
before=$(log_lines); pids=()
for i in $(seq 1 16); do
    setpriv --reuid="$UA" --regid="$UA" --init-groups env -i PATH=/usr/bin:/bin JIT_TOKEN="$T3" \
        sudo -n /usr/bin/true </dev/null >/dev/null 2>&1 &
    pids+=($!)
done
n_ok=0; for p in "${pids[@]}"; do wait "$p" && n_ok=$((n_ok + 1)); done
if [ "$n_ok" = 16 ] && grep -q '^jit-revocation-state-v1 5 ' "$STATE"; then
    ok "16 concurrent invocations accept version 5 and record it once"
else
    RC=$n_ok; bad "concurrent acceptance" "$n_ok allowed, state $(cat "$STATE")"
fi

# --- the signer's view ----------------------------------------------------------------------------
set +e
"$BIN/jit-signer" revoke --state "$SIGNER_STATE" --show --trusted-keys "$ROOT/keys/trusted-keys" >"$OUT" 2>"$ERR"
RC=$?
set -e
[ "$RC" = 0 ] && grep -q '^version: *5$' "$OUT" && grep -qF "$UC" "$OUT" && grep -qF "$(id_of "$T1")" "$OUT" \
    && ok "revoke --show prints and verifies the current list" || bad "revoke --show" "$(cat "$OUT")"
set +e
"$BIN/jit-signer" revoke --state "$SIGNER_STATE" --show --list "$ROOT/k2state/revocation.list" \
    --trusted-keys "$ROOT/keys/trusted-keys" >"$OUT" 2>"$ERR"
RC=$?
set -e
[ "$RC" = 1 ] && grep -q 'unknown_kid' "$OUT" && ok "revoke --show rejects a list from an untrusted key (exit 1)" \
    || bad "revoke --show untrusted" "rc $RC $(cat "$OUT")"

set +e
"$BIN/jit-verify" log --seal-key "$ROOT/state/seal-key.initial" --state "$ROOT/state/log.state" "$ROOT/log/audit.log" >"$OUT" 2>"$ERR"
RC=$?
set -e
[ "$RC" = 0 ] && ok "jit-verify: the log with revocation decisions is intact" || bad "jit-verify" "exit $RC"

echo
tally_end pam-revocation
