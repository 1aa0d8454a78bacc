#!/usr/bin/env bash
# pam_jit under sudo-rs (crates.io `sudo-rs`, 0.2.x): a second, independent sudo.
# sudo-rs only uses the PAM service `sudo`, so it runs in a throw-away Debian 12
# chroot whose /etc/pam.d/sudo is the pam_jit test stack (tests/e2e/sudo-rs.sh).
# Every case asserts sudo's exit status, what the user saw on the terminal and
# the audit record written. The chroot is unmounted and deleted on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
T0=$(date +%s)
# shellcheck source=../e2e/sudo-rs.sh
. tests/e2e/sudo-rs.sh
OUT=$(mktemp); ERR=$(mktemp); RC=0
trap 'rs_teardown; rm -f "$OUT" "$ERR"' EXIT
rs_setup
echo "     set-up: $(($(date +%s) - T0)) s"

# shellcheck source=../e2e/tally.sh
. tests/e2e/tally.sh

# decisions_since N: "allowed reason_code command user run_as" per decision after line N.
decisions_since() {
    python3 - "$(rs_log)" "$1" <<'PY'
import json, sys
try:
    lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
except FileNotFoundError:
    lines = []
for l in lines[int(sys.argv[2]):]:
    r = json.loads(l)
    if r["kind"] == "decision":
        print(r.get("allowed"), r.get("reason_code"), r.get("command", "-"), r.get("user", "-"), r.get("run_as_user", "-"))
PY
}

# expect NAME WANT_RC TTY_SUBSTRING WANT_LAST_DECISION ("True ok" / "False CODE")
expect() {
    local name=$1 want_rc=$2 want_msg=$3 want_dec=$4 decs last
    if [ "$RC" != "$want_rc" ]; then bad "$name" "exit status $RC, wanted $want_rc"; return; fi
    if [ -n "$want_msg" ] && ! grep -qF -- "$want_msg" "$OUT"; then
        bad "$name" "terminal lacks '$want_msg'"; return
    fi
    decs=$(decisions_since "$before")
    last=$(printf '%s\n' "$decs" | tail -n 1 | cut -d' ' -f1-2)
    if [ "$last" != "$want_dec" ]; then
        bad "$name" "last decision '$last', wanted '$want_dec' (records: $decs)"; return
    fi
    if [ "$want_rc" != 0 ] && printf '%s\n' "$decs" | grep -q '^True'; then
        bad "$name" "an allowed decision was logged for a denied run"; return
    fi
    ok "$name"
}
run() { before=$(log_lines); as_user_tty "$@"; }

HG=(--host-group e2e-hosts)
TRUE_TOK=$(rs_issue --user "$UA" "${HG[@]}" --command /usr/bin/true --reason "sudo-rs e2e")

# --- the binary really is sudo-rs, recognised by its exe --------------------------
run "$UA" -- sudo -V
grep -q 'sudo-rs 0\.2\.' "$OUT" && ok "sudo is sudo-rs 0.2 ($(head -n 1 "$OUT" | tr -d '\r'))" \
    || bad "sudo -V" "not sudo-rs"

# --- allowed ----------------------------------------------------------------------------
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n /usr/bin/true
expect "allowed: absolute path" 0 "" "True ok"
rec=$(decisions_since "$before" | tail -n 1)
[ "$rec" = "True ok /usr/bin/true $UA root" ] && ok "allowed: record names command, user, run-as" \
    || bad "allowed: record fields" "$rec"
tty=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]).read().splitlines()[int(sys.argv[2]):] if "\"decision\"" in l][-1].get("tty", "-"))' "$(rs_log)" "$before")
case "$tty" in /dev/pts/*) ok "allowed: PAM_TTY recorded ($tty)" ;; *) bad "PAM_TTY" "tty '$tty'" ;; esac
kinds=$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["kind"] for l in open(sys.argv[1]).read().splitlines()[int(sys.argv[2]):]))' "$(rs_log)" "$before")
case "$kinds" in
    "decision session_close" | "start decision session_close") ok "allowed: decision (the session's start) and session close recorded, nothing else" ;;
    *) bad "allowed: session records" "kinds: $kinds" ;;
esac
tok=$(rs_issue --user "$UA" "${HG[@]}" --command "/bin/echo hello 'a b'" --reason t)
run "$UA" JIT_TOKEN="$tok" -- sudo -n -- /bin/echo hello "a b"
expect "allowed: exact argv after --" 0 "" "True ok"
# What the command printed is checked without script(1): under load, script
# can lose the last output of a short command when its stdin is at EOF (seen
# once on this check's sibling below). sudo-rs needs no terminal to allow.
out_of() { as_user "$@"; tr -d '\0\r' <"$OUT"; }
[ "$(out_of "$UA" JIT_TOKEN="$tok" -- sudo -n -- /bin/echo hello "a b")" = "hello a b" ] \
    && ok "allowed: command really ran" || bad "command output" "no 'hello a b'"

# --- denied -------------------------------------------------------------------------------
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n /usr/bin/id
expect "wrong command" 1 "command not granted: /usr/bin/id" "False command_not_granted"
run "$UA" JIT_TOKEN="$tok" -- sudo -n /bin/echo hello "a b" extra
expect "extra argument" 1 "command not granted" "False command_not_granted"
run "$UA" JIT_TOKEN="$tok" -- sudo -n /bin/echo hello a b
expect "argument boundaries are exact" 1 "command not granted" "False command_not_granted"
tok=$(rs_issue --user "$UB" "${HG[@]}" --command /usr/bin/true --reason t)
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
expect "someone else's token" 1 "this token is for $UB" "False wrong_user"
run "$UA" -- sudo -n /usr/bin/true
expect "no token" 1 "no JIT token" "False no_token"
run "$UA" JIT_TOKEN="$TRUE_TOK" SUDO_COMMAND=/usr/bin/true -- sudo -n /usr/bin/id
expect "spoofed SUDO_COMMAND does not help" 1 "command not granted: /usr/bin/id" "False command_not_granted"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n -u nobody /usr/bin/true
expect "-u not granted" 1 "nobody" "False run_as_not_granted"
tok=$(rs_issue --user "$UA" "${HG[@]}" --command "/usr/bin/id -un" --run-as nobody --reason t)
run "$UA" JIT_TOKEN="$tok" -- sudo -n -u nobody /usr/bin/id -un
expect "-u granted" 0 "" "True ok"
[ "$(out_of "$UA" JIT_TOKEN="$tok" -- sudo -n -u nobody /usr/bin/id -un)" = nobody ] \
    && ok "-u granted: ran as nobody" || bad "-u output" "not nobody"
SHELL_TOK=$(rs_issue --user "$UA" "${HG[@]}" --shell --reason t)
run "$UA" JIT_TOKEN="$SHELL_TOK" -- sudo -n -s
expect "-s denied even with a shell grant" 1 "under sudo-rs, shells" "False command_undetermined"
run "$UA" JIT_TOKEN="$SHELL_TOK" -- sudo -n -i /usr/bin/true
expect "-i denied even with a shell grant" 1 "under sudo-rs, shells" "False command_undetermined"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n true
expect "bare command name (resolved through PATH)" 1 "absolute path" "False command_undetermined"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n FOO=bar /usr/bin/true
expect "VAR=value word" 1 "environment" "False command_undetermined"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n -l
expect "-l outside the subset" 1 "only -n" "False command_undetermined"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n /usr/bin/../bin/true
expect "non-canonical path" 1 "not canonical" "False command_undetermined"

# --- the selection is by the executed file's name, and fails closed -----------------
# The same sudo-rs installed under the name `sudo` is taken for sudo 1.9, whose
# rules need SUDO_COMMAND from sudo's getenv hook: every invocation is denied.
rm "$R/usr/bin/sudo"
install -o root -g root -m 4755 "$RS_SUDO" "$R/usr/bin/sudo"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n /usr/bin/true
expect "sudo-rs not named sudo-rs: denied (sudo 1.9 rules)" 1 "SUDO_COMMAND missing" "False command_undetermined"
run "$UA" JIT_TOKEN="$TRUE_TOK" SUDO_COMMAND=/usr/bin/true -- sudo -n /usr/bin/true
expect "... and a SUDO_COMMAND of the user's does not stand in" 1 "unset it" "False command_undetermined"

# --- the log verifies ---------------------------------------------------------------------
set +e
"$BIN/jit-verify" log --seal-key "$R$JR/state/seal-key.initial" --state "$R$JR/state/log.state" "$(rs_log)" >"$OUT" 2>"$ERR"
RC=$?
set -e
[ "$RC" = 0 ] && ok "jit-verify: whole log intact ($(log_lines) records)" || bad "jit-verify" "exit $RC"

echo "     runtime: $(($(date +%s) - T0)) s"
echo
tally_end pam-sudo-rs
