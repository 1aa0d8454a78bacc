#!/usr/bin/env bash
# pam_jit under the real Debian sudo, run by unprivileged test users through a
# dedicated PAM service (see tests/e2e/lib.sh). Every case asserts sudo's exit
# status, what the user saw, and the audit record written.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
# shellcheck source=../e2e/lib.sh
. tests/e2e/lib.sh
command -v faketime >/dev/null || e2e_die "faketime is not installed (Debian package faketime)"
# A copy of sudo under another name (below) needs a file system without nosuid;
# it lives here, outside /run (in a directory Debian always has, so nothing
# is left behind), and goes with the other test state.
ALIAS_DIR=/usr/local/lib/jit-e2e-sudo-alias
# A second sudoers drop-in and PAM stack for one case (noninteractive_auth).
NIA_DROPIN=/etc/sudoers.d/$E2E-nia
NIA_STACK=/etc/pam.d/$E2E-nia
trap 'e2e_teardown; rm -rf "$ALIAS_DIR"; rm -f "$NIA_DROPIN" "$NIA_DROPIN.tmp" "$NIA_STACK" "$OUT" "$ERR"' EXIT
e2e_setup

# shellcheck source=../e2e/tally.sh
. tests/e2e/tally.sh

# decisions_since N: "allowed reason_code hook" of each decision record after line N.
decisions_since() {
    /usr/bin/python3 - "$ROOT/log/audit.log" "$1" <<'EOF'
import json, sys
try:
    lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
except FileNotFoundError:
    lines = []
for l in lines[int(sys.argv[2]):]:
    r = json.loads(l)
    if r["kind"] == "decision":
        hook = "auth" if r.get("message", "").startswith("authenticate:") else "acct"
        print(r.get("allowed"), r.get("reason_code"), hook, r.get("command", "-"), r.get("user", "-"), r.get("run_as_user", "-"))
EOF
}

# expect NAME WANT_RC STDERR_SUBSTRING WANT_LAST_DECISION
#   Runs after an as_user call whose log position was saved in $before.
#   WANT_LAST_DECISION is "True CODE" / "False CODE" for the last acct decision,
#   or "none" when no record can be written (the module cannot find its log).
expect() {
    local name=$1 want_rc=$2 want_err=$3 want_dec=$4
    if [ "$RC" != "$want_rc" ]; then bad "$name" "exit status $RC, wanted $want_rc"; return; fi
    if [ -n "$want_err" ] && ! grep -qF -- "$want_err" "$ERR"; then
        bad "$name" "stderr lacks '$want_err'"; return
    fi
    local decs last
    decs=$(decisions_since "$before")
    last=$(printf '%s\n' "$decs" | { grep ' acct ' || true; } | tail -n 1 | cut -d' ' -f1-2)
    if [ "$want_dec" = none ]; then
        if [ -n "$decs" ]; then bad "$name" "unexpected records: $decs"; return; fi
    elif [ "$last" != "$want_dec" ]; then
        bad "$name" "last decision '$last', wanted '$want_dec' (records: $decs)"; return
    fi
    # A denial must never leave an allowed acct decision behind.
    if [ "$want_rc" != 0 ] && printf '%s\n' "$decs" | grep -q '^True .* acct'; then
        bad "$name" "an allowed decision was logged for a denied run"; return
    fi
    ok "$name"
}

run() { before=$(log_lines); as_user "$@"; }
run_tty() { before=$(log_lines); as_user_tty "$@"; }

HG=(--host-group e2e-hosts)
TRUE_TOK=$(e2e_issue --user "$UA" "${HG[@]}" --command /usr/bin/true --reason "e2e allowed")

# --- allowed, and what is recorded -------------------------------------------
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n /usr/bin/true
expect "allowed: exact command" 0 "" "True ok"
kinds=$(/usr/bin/python3 -c 'import json,sys; print(" ".join(json.loads(l)["kind"] for l in open(sys.argv[1]).read().splitlines()[int(sys.argv[2]):]))' "$ROOT/log/audit.log" "$before")
case "$kinds" in
    "decision session_close" | "start decision session_close") ok "allowed: decision (the session's start) and session close recorded, nothing else" ;;
    *) bad "allowed: session records" "kinds after run: $kinds" ;;
esac
rec=$(decisions_since "$before" | tail -n 1)
[ "$rec" = "True ok acct /usr/bin/true $UA root" ] && ok "allowed: record names command, user, run-as" \
    || bad "allowed: record fields" "$rec"
[ -n "$(last_record session_secs)" ] && ok "allowed: session duration recorded" || bad "session duration" "missing"
decisions_since "$before" | grep -q ' auth ' && bad "NOPASSWD: no authenticate" "authenticate ran" \
    || ok "NOPASSWD rule: decided in acct_mgmt without authenticate"

# Everything the writer created inside sudo (whose egid is the user's group)
# belongs to root:root with the documented modes.
owners=$(stat -c '%n %a %U %G' "$ROOT/log" "$ROOT/log/audit.log" "$ROOT/state" "$ROOT/state/log.state" \
    "$ROOT/state/log.state.lock" "$ROOT/state/seal-key.initial" | sed "s|$ROOT/||" | tr '\n' ',')
[ "$owners" = "log 700 root root,log/audit.log 600 root root,state 700 root root,state/log.state 600 root root,state/log.state.lock 600 root root,state/seal-key.initial 400 root root," ] \
    && ok "files created inside sudo are root:root with the documented modes" || bad "log file ownership" "$owners"

run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n true
expect "allowed: bare name resolved by sudo" 0 "" "True ok"

# --- time ------------------------------------------------------------------
tok=$(faketime -f '-2h' "$BIN/jit-signer" issue --ledger "$E2E_LEDGER" --key "$ROOT/signer/e2e-k1.key" --user "$UA" "${HG[@]}" --command /usr/bin/true --reason t --ttl 1h)
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
expect "expired" 1 "expired" "False expired"
tok=$(faketime -f '+2h' "$BIN/jit-signer" issue --ledger "$E2E_LEDGER" --key "$ROOT/signer/e2e-k1.key" --user "$UA" "${HG[@]}" --command /usr/bin/true --reason t)
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
expect "not yet valid" 1 "not valid" "False not_yet_valid"
tok=$(faketime -f '-3630s' "$BIN/jit-signer" issue --ledger "$E2E_LEDGER" --key "$ROOT/signer/e2e-k1.key" --user "$UA" "${HG[@]}" --command /usr/bin/true --reason t --ttl 1h)
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
expect "leeway: expired 30 s ago is inside 60 s" 0 "" "True ok"
tok=$(faketime -f '-3690s' "$BIN/jit-signer" issue --ledger "$E2E_LEDGER" --key "$ROOT/signer/e2e-k1.key" --user "$UA" "${HG[@]}" --command /usr/bin/true --reason t --ttl 1h)
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
expect "leeway: expired 90 s ago is outside 60 s" 1 "expired" "False expired"

# --- change-bound, scheduled access (a nightly job's window) -----------------------
# Issued in advance for a window that opens later, tied to a change ticket.
# Two hours and half a minute ahead: the denial says "2 h" however long the
# issue-to-sudo gap is under load (the remaining time is rounded down).
tok=$(e2e_issue --user "$UA" "${HG[@]}" --command /usr/bin/true --not-before "@$(( $(date +%s) + 7230 ))" --ttl 1h \
    --ticket CHG-4711 --reason "nightly reindex")
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
expect "scheduled window not yet open" 1 "not valid for another 2 h" "False not_yet_valid"
# The same kind of token issued two hours ago: its window is open now.
tok=$(faketime -f '-2h' "$BIN/jit-signer" issue --ledger "$E2E_LEDGER" --key "$ROOT/signer/e2e-k1.key" --user "$UA" "${HG[@]}" \
    --command /usr/bin/true --not-before +2h --ttl 1h --ticket CHG-4711 --reason "nightly reindex")
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
expect "scheduled window open" 0 "" "True ok"
t=$(/usr/bin/python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; d=[x for x in r if x["kind"]=="decision"][-1]; print(d.get("ticket"), d.get("token_reason"))' "$ROOT/log/audit.log")
[ "$t" = "CHG-4711 nightly reindex" ] && ok "scheduled window: the record names the change ticket and reason" \
    || bad "scheduled record" "$t"

# --- who and where -----------------------------------------------------------
tok=$(e2e_issue --user "$UB" "${HG[@]}" --command /usr/bin/true --reason t)
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
expect "someone else's token" 1 "this token is for $UB" "False wrong_user"
tok=$(e2e_issue --user "${UA}x" "${HG[@]}" --command /usr/bin/true --reason t)
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
expect "token for a longer user name" 1 "this token is for" "False wrong_user"
tok=$(e2e_issue --user "$UA" --host-group db-prod --command /usr/bin/true --reason t)
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
expect "wrong host group" 1 "host" "False host_not_granted"

# --- commands ----------------------------------------------------------------
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n /usr/bin/id
expect "wrong command" 1 "command not granted: /usr/bin/id" "False command_not_granted"
# The denial says what the token grants instead (few grants listed, many counted).
grep -qxF "jit: denied: command not granted: /usr/bin/id; this token grants: /usr/bin/true" "$ERR" \
    && ok "wrong command: the denial lists what the token grants" || bad "wrong command: grants listed" "$(cat "$ERR")"
many=(); for i in 1 2 3 4 5 6; do many+=(--command "/usr/bin/tool$i"); done
tok=$(e2e_issue --user "$UA" "${HG[@]}" "${many[@]}" --reason t)
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/id
expect "wrong command, many grants: counted" 1 "this token grants 6 commands (jit-signer inspect lists them)" "False command_not_granted"
# What sudo adds to every denial in acct_mgmt, whatever the module answers
# (docs/pam-module.md, "What the user sees"): exactly these lines, also for
# this NOPASSWD user. If sudo changes them, the documentation must follow.
run "$UA" -- sudo -n /usr/bin/true
printf '%s\n' "jit: denied: no JIT token: set JIT_TOKEN to a token issued by jit-signer (e.g. JIT_TOKEN=... sudo CMD)" \
    "sudo: PAM account management error: Permission denied" "sudo: a password is required" > "$ROOT/want.err"
cmp -s "$ROOT/want.err" "$ERR" && ok "a denial prints jit's reason and exactly sudo's two documented lines" \
    || bad "sudo's lines after a denial" "$(cat "$ERR")"
rm -f "$ROOT/want.err"
tok=$(e2e_issue --user "$UA" "${HG[@]}" --command "/bin/echo hello" --reason t)
run "$UA" JIT_TOKEN="$tok" -- sudo -n /bin/echo hello
expect "exact arguments" 0 "" "True ok"
grep -qx hello "$OUT" && ok "exact arguments: command really ran" || bad "command output" "no hello"
run "$UA" JIT_TOKEN="$tok" -- sudo -n /bin/echo hello world
expect "extra argument" 1 "command not granted" "False command_not_granted"
run "$UA" JIT_TOKEN="$tok" -- sudo -n /bin/echo
expect "fewer arguments" 1 "command not granted" "False command_not_granted"
run "$UA" JIT_TOKEN="$tok" -- sudo -n /bin/echo hello ""
expect "extra empty argument" 1 "command not granted" "False command_not_granted"
tok=$(e2e_issue --user "$UA" "${HG[@]}" --command "/bin/echo 'a b'" --reason t)
run "$UA" JIT_TOKEN="$tok" -- sudo -n /bin/echo "a b"
expect "argument with a space" 0 "" "True ok"
run "$UA" JIT_TOKEN="$tok" -- sudo -n /bin/echo a b
expect "two arguments do not match one with a space" 1 "command not granted" "False command_not_granted"

# PATH trick: this user's sudoers entry resolves through the user's PATH.
home_a=$(getent passwd "$UA" | cut -d: -f6)
install -d -o "$UA" -g "$UA" "$home_a/bin"
printf '#!/bin/sh\necho pwned\n' > "$home_a/bin/true"
chown "$UA:$UA" "$home_a/bin/true"; chmod 0755 "$home_a/bin/true"
run "$UA" JIT_TOKEN="$TRUE_TOK" PATH="$home_a/bin:/usr/bin:/bin" -- sudo -n true
expect "PATH trick" 1 "command not granted: $home_a/bin/true" "False command_not_granted"
grep -q pwned "$OUT" && bad "PATH trick" "the user's program ran" || true

# Truncated SUDO_COMMAND: sudo reports only 4096 bytes of the arguments. With
# arguments repeating every 7 bytes and sudo finding "tool" as
# "$home_a/tool x/tool" (the user's PATH entry "$home_a/tool x"), the whole
# argument text is also a suffix of the truncated report, which once left
# "$home_a/tool" as the command: a grant for "$home_a/tool ..." ran the
# user's "$home_a/tool x/tool".
install -d -o "$UA" -g "$UA" "$home_a/tool x"
printf '#!/bin/sh\necho pwned\n' > "$home_a/tool x/tool"
chown "$UA:$UA" "$home_a/tool x/tool"; chmod 0755 "$home_a/tool x/tool"
tool_tok=$(e2e_issue --user "$UA" "${HG[@]}" --command "$home_a/tool ..." --reason "e2e tool")
tool_args=(); for _ in $(seq 586); do tool_args+=(x/tool); done; tool_args+=(x)
run "$UA" JIT_TOKEN="$tool_tok" PATH="$home_a/tool x:/usr/bin:/bin" -- sudo -n tool "${tool_args[@]}"
expect "arguments past SUDO_COMMAND's 4096 bytes" 1 "sudo reports only the first 4096" "False command_undetermined"
grep -q pwned "$OUT" && bad "arguments past SUDO_COMMAND's 4096 bytes" "the user's program ran" || true

# The rules are chosen by sudo 1.9's getenv hook (the sudo executable defines
# getenv), not by the executable's name: this sudo, copied under the name
# sudo-rs and started with argv[0] "sudo", still gets the sudo 1.9 rules, so
# a bare name is resolved by sudo through the user's PATH (this user's sudoers
# entry has !secure_path) and reported in SUDO_COMMAND. Chosen by the name,
# the sudo-rs rules would deny a bare name.
[ -d /usr/local/lib ] || e2e_die "/usr/local/lib is missing"
install -d -m 0755 "$ALIAS_DIR"
install -o root -g root -m 4755 "$(command -v sudo)" "$ALIAS_DIR/sudo-rs"
findmnt -no OPTIONS -T "$ALIAS_DIR" | grep -qw nosuid && e2e_die "$ALIAS_DIR is on a nosuid file system"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- bash -c 'exec -a sudo "$0" -n true' "$ALIAS_DIR/sudo-rs"
expect "sudo 1.9 named sudo-rs: sudo 1.9 rules (bare name resolved by sudo)" 0 "" "True ok"
rec=$(decisions_since "$before" | tail -n 1)
[ "$rec" = "True ok acct /usr/bin/true $UA root" ] && ok "sudo 1.9 named sudo-rs: record names /usr/bin/true" \
    || bad "sudo 1.9 named sudo-rs: record" "$rec"
rm -rf "$ALIAS_DIR"

run "$UA" JIT_TOKEN="$TRUE_TOK" SUDO_COMMAND=/usr/bin/true -- sudo -n /usr/bin/id
expect "spoofed SUDO_COMMAND (different command)" 1 "command not granted: /usr/bin/id" "False command_not_granted"
run "$UA" JIT_TOKEN="$TRUE_TOK" SUDO_COMMAND=/usr/bin/true -- sudo -n /usr/bin/true
expect "SUDO_COMMAND in the user's environment is refused" 1 "unset it" "False command_undetermined"

run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n FOO=bar /usr/bin/true
expect "VAR=value word" 1 "environment" "False command_undetermined"
# An undetermined command leaves sudo's argv in the record (escaped, bounded).
[ "$(last_record message)" = "setting environment variables through sudo (FOO=…) is not allowed with jit tokens (sudo's argv: sudo -n FOO=bar /usr/bin/true)" ] \
    && ok "VAR=value word: the record has sudo's argv" || bad "VAR=value word: record" "$(last_record message)"
# A token given as a sudo argument is neither echoed nor logged (its id would
# be, once it verifies; here nothing verifies it).
run "$UA" -- sudo -n JIT_TOKEN="$TRUE_TOK" /usr/bin/true
expect "sudo JIT_TOKEN=<token> CMD" 1 "(JIT_TOKEN=…) is not allowed" "False command_undetermined"
if grep -qF "$TRUE_TOK" "$ERR" "$OUT"; then bad "sudo JIT_TOKEN=<token> CMD: token echoed" "$(cat "$ERR")"
elif grep -qF "$TRUE_TOK" "$ROOT/log/audit.log"; then bad "sudo JIT_TOKEN=<token> CMD: token in the audit log"
elif last_record message | grep -qF "(sudo's argv: sudo -n JIT_TOKEN=<token not logged> /usr/bin/true)"; then
    ok "sudo JIT_TOKEN=<token> CMD: the token is neither shown nor logged, the record has the argv without it"
else bad "sudo JIT_TOKEN=<token> CMD: record" "$(last_record message)"; fi
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n LD_PRELOAD=/tmp/x.so /usr/bin/true
expect "LD_PRELOAD word" 1 "environment" "False command_undetermined"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n -E /usr/bin/true
expect "-E" 1 "environment" "False command_undetermined"
last_record message | grep -qF "(sudo's argv: sudo -n -E /usr/bin/true)" \
    && ok "-E: the record has sudo's argv" || bad "-E: record" "$(last_record message)"
# A token grants a command line, not a working directory.
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n -D / /usr/bin/true
expect "-D (working directory)" 1 "-D/--chdir is not allowed" "False command_undetermined"
last_record message | grep -qF "(sudo's argv: sudo -n -D / /usr/bin/true)" \
    && ok "-D: the record has sudo's argv" || bad "-D: record" "$(last_record message)"
grep -qF "sudo's argv" "$ERR" && bad "-D: the argv is for the record, not the user" "$(cat "$ERR")" || true

# --- run-as, shells, sudoedit, -l, -v -----------------------------------------
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n -u nobody /usr/bin/true
expect "-u not granted" 1 "nobody" "False run_as_not_granted"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n -u root /usr/bin/true
expect "-u root granted by default" 0 "" "True ok"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n -u root -g nogroup /usr/bin/true
expect "-g not granted" 1 "nogroup" "False run_as_group_not_granted"
# -g without -u: sudo runs the command as the invoking user (sudoers), which
# a token for root does not cover.
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n -g nogroup /usr/bin/true
expect "-g alone runs as the invoking user" 1 "$UA" "False run_as_not_granted"
tok=$(e2e_issue --user "$UA" "${HG[@]}" --command "/usr/bin/id -gn" --run-as "$UA" --run-as-group nogroup --reason t)
run "$UA" JIT_TOKEN="$tok" -- sudo -n -g nogroup /usr/bin/id -gn
expect "-g alone granted as the invoking user with that group" 0 "" "True ok"
grep -qx nogroup "$OUT" || bad "-g alone granted as the invoking user with that group" "id -gn printed $(cat "$OUT")"
tok=$(e2e_issue --user "$UA" "${HG[@]}" --command /usr/bin/true --run-as nobody --reason t)
run "$UA" JIT_TOKEN="$tok" -- sudo -n -u nobody /usr/bin/true
expect "-u granted" 0 "" "True ok"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n -s
expect "-s without a shell grant" 1 "this token does not grant a shell; this token grants: /usr/bin/true" "False shell_not_granted"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n -i /usr/bin/true
expect "-i without a shell grant" 1 "shell" "False shell_not_granted"
tok=$(e2e_issue --user "$UA" "${HG[@]}" --command /bin/bash --reason t)
run "$UA" JIT_TOKEN="$tok" -- sudo -n -s
expect "a /bin/bash grant is not a shell grant" 1 "shell" "False shell_not_granted"
tok=$(e2e_issue --user "$UA" "${HG[@]}" --shell --reason t)
run "$UA" JIT_TOKEN="$tok" -- sudo -n -i /usr/bin/id -un
expect "-i with a shell grant" 0 "" "True ok"
grep -qx root "$OUT" && ok "-i with a shell grant ran as root" || bad "-i output" "not root"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n -e /etc/hosts
expect "sudoedit without a grant" 1 "" "False edit_not_granted"
tok=$(e2e_issue --user "$UA" "${HG[@]}" --command "sudoedit /etc/hosts" --reason t)
run "$UA" JIT_TOKEN="$tok" SUDO_EDITOR=/bin/true -- sudo -n -e /etc/hosts
expect "sudoedit with a grant" 0 "" "True ok"
run "$UA" JIT_TOKEN="$tok" SUDO_EDITOR=/bin/true -- sudo -n -e /etc/shadow
expect "sudoedit of another file" 1 "this token grants: sudoedit /etc/hosts" "False edit_not_granted"
run "$UA" JIT_TOKEN="$tok" SUDO_EDITOR=/bin/true -- sudo -n sudoedit /etc/hosts
expect "sudo sudoedit FILE: told to run sudoedit FILE" 1 "run \`sudoedit /etc/hosts\` (or \`sudo -e /etc/hosts\`) instead" "False command_undetermined"
grep -q "give the full path" "$ERR" && bad "sudo sudoedit FILE" "still told to give the full path" || true
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n -l
expect "-l with a valid token" 0 "" "True ok"
run "$UA" -- sudo -n -l
expect "-l without a token" 1 "no JIT token" "False no_token"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n -v
expect "-v with a valid token" 0 "" "True ok"
run "$UA" -- sudo -n -v
expect "-v without a token" 1 "no JIT token" "False no_token"

# --- use-limited tokens (replay cache) -------------------------------------------
tok=$(e2e_issue --user "$UA" "${HG[@]}" --command /usr/bin/true --max-uses 2 --reason t)
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
expect "use-limited token: first use" 0 "" "True ok"
run "$UA" JIT_TOKEN="$tok" -- sudo -n -l
expect "use-limited token: sudo -l does not count" 0 "" "True ok"
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
expect "use-limited token: second (last) use" 0 "" "True ok"
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
expect "use-limited token: third use refused" 1 "already used 2 of 2 times" "False uses_exhausted"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n /usr/bin/true
expect "unlimited token unaffected" 0 "" "True ok"
stat -c '%a %U %G' "$ROOT/state/replay" | grep -qx '600 root root' && ok "replay cache 0600 root:root" \
    || bad "replay cache mode" "$(stat -c '%a %U %G' "$ROOT/state/replay")"
tok=$(e2e_issue --user "$UA" "${HG[@]}" --command /usr/bin/true --max-uses 3 --reason t)
before=$(log_lines); pids=()
for i in $(seq 1 8); do
    setpriv --reuid="$UA" --regid="$UA" --init-groups env -i PATH=/usr/bin:/bin JIT_TOKEN="$tok" \
        sudo -n /usr/bin/true </dev/null >/dev/null 2>&1 &
    pids+=($!)
done
n_ok=0; for p in "${pids[@]}"; do wait "$p" && n_ok=$((n_ok + 1)); done
n_rec=$(decisions_since "$before" | { grep -c '^True ok acct' || true; })
[ "$n_ok" = 3 ] && [ "$n_rec" = 3 ] && ok "8 concurrent uses of a 3-use token: exactly 3 allowed" \
    || { RC=$n_ok; bad "concurrent use-limited" "$n_ok allowed, $n_rec allowed records"; }
printf 'not a cache\n' > "$ROOT/state/replay"
tok=$(e2e_issue --user "$UA" "${HG[@]}" --command /usr/bin/true --max-uses 1 --reason t)
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
expect "corrupt replay cache: use-limited token refused" 1 "corrupt" "False replay_cache_unusable"
rm -f "$ROOT/state/replay"

# --- break-glass: single-use, alerted at authpriv.emerg, flagged for review ------
# A datagram listener stands in for syslogd on the configured socket.
syslog_listen "$ROOT/syslog.sock" "$ROOT/syslog.txt"
e2e_write_conf "$ROOT/pam_jit.conf" "syslog_socket = $ROOT/syslog.sock"
tok=$(e2e_issue --user "$UA" "${HG[@]}" --command /usr/bin/true --break-glass --reason "INC-7 db down, on-call")
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
expect "break-glass: first use allowed, user told" 0 "BREAK-GLASS access: this single use is recorded" "True ok"
bg_seq=$(python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
r = [r for r in recs if r["kind"] == "decision"][-1]
print(r["seq"] if r.get("break_glass") is True else "unflagged")' "$ROOT/log/audit.log")
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
expect "break-glass: second use refused" 1 "already used 1 of 1 times" "False uses_exhausted"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n /usr/bin/true
expect "break-glass: an ordinary token is not alerted" 0 "" "True ok"
syslog_stop "$ROOT/syslog.sock"
n_emerg=$(grep -c '^<80>.*BREAK-GLASS' "$ROOT/syslog.txt" || true)
n_all=$(wc -l < "$ROOT/syslog.txt")
if [ "$n_emerg" = 2 ] && [ "$n_all" = 2 ] && grep -q "^<80>.* seq=$bg_seq .*BREAK-GLASS allowed=yes user=$UA run_as=root" "$ROOT/syslog.txt" \
    && grep -q '^<80>.*BREAK-GLASS allowed=no' "$ROOT/syslog.txt"; then
    ok "break-glass: both decisions alerted at authpriv.emerg (syslog = no), nothing else sent"
else
    RC=-; bad "break-glass syslog" "$n_emerg emerg of $n_all lines: $(cat "$ROOT/syslog.txt")"
fi
# The alert carries the record whole, after the alert words: the log's line.
if /usr/bin/python3 - "$ROOT/syslog.txt" "$ROOT/log/audit.log" "$bg_seq" <<'EOF'
import json, sys
seq = int(sys.argv[3])
line = [l.rstrip("\n") for l in open(sys.argv[2], encoding="utf-8") if json.loads(l)["seq"] == seq][-1]
sent = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8") if f" seq={seq} " in l]
sys.exit(not (len(sent) == 1 and " BREAK-GLASS " in sent[0] and sent[0].endswith(" needs_review=yes rec=" + line)))
EOF
then
    ok "break-glass: the emerg line carries the record whole"
else
    RC=-; bad "break-glass syslog record" "$(cat "$ROOT/syslog.txt")"
fi
e2e_write_conf "$ROOT/pam_jit.conf"
rm -f "$ROOT/syslog.sock" "$ROOT/syslog.txt"
set +e
"$BIN/jit-verify" log --json "$ROOT/log/audit.log" >"$OUT" 2>"$ERR"; RC=$?
set -e
if [ "$RC" = 0 ] && python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
items = v["needs_review"]
assert [i["allowed"] for i in items] == [True, False], items
assert items[0]["seq"] == int(sys.argv[2]) and items[0]["token_reason"] == "INC-7 db down, on-call", items
' "$OUT" "$bg_seq"; then ok "break-glass: jit-verify log lists both decisions as needing review"
else bad "jit-verify needs_review" "exit $RC"; fi
"$BIN/jit-verify" log "$ROOT/log/audit.log" >"$OUT" 2>"$ERR" || true
grep -q "NEEDS REVIEW: 2 break-glass decision(s)" "$OUT" && ok "break-glass: shown as NEEDS REVIEW" \
    || bad "NEEDS REVIEW line" "$(cat "$OUT")"
[ "$("$BIN/jit-verify" query --break-glass "$ROOT/log/audit.log" | tail -n +2 | grep -c .)" -ge 2 ] \
    && ok "break-glass: query --break-glass finds them" || bad "query --break-glass" "too few"

# --- bad tokens ----------------------------------------------------------------
run "$UA" -- sudo -n /usr/bin/true
expect "no token" 1 "no JIT token" "False no_token"
# Flip one character inside the signature (the last 86 characters).
mid=$(( ${#TRUE_TOK} - 10 ))
c=${TRUE_TOK:$mid:1}; [ "$c" = A ] && r=B || r=A
tampered="${TRUE_TOK:0:$mid}$r${TRUE_TOK:$((mid + 1))}"
run "$UA" JIT_TOKEN="$tampered" -- sudo -n /usr/bin/true
expect "tampered token" 1 "" "False bad_signature"
# One flipped character in the claims: rejected before any use, whatever the reason.
mid=$(( ${#TRUE_TOK} / 2 ))
c=${TRUE_TOK:$mid:1}; [ "$c" = A ] && r=B || r=A
run "$UA" JIT_TOKEN="${TRUE_TOK:0:$mid}$r${TRUE_TOK:$((mid + 1))}" -- sudo -n /usr/bin/true
last=$(decisions_since "$before" | tail -n 1 | cut -d' ' -f1-2)
case "$last" in "False "*) ok "tampered claims ($last)" ;; *) bad "tampered claims" "$last" ;; esac
tok=$("$BIN/jit-signer" issue --ledger "$E2E_LEDGER" --key "$ROOT/signer/e2e-k2.key" --user "$UA" "${HG[@]}" --command /usr/bin/true --reason t)
run "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
expect "unknown kid" 1 "e2e-k2" "False unknown_kid"
run "$UA" JIT_TOKEN='this is not a token!' -- sudo -n /usr/bin/true
expect "garbage token" 1 "" "False bad_base64"
big=$(head -c 20000 /dev/zero | tr '\0' 'A')
run "$UA" JIT_TOKEN="$big" -- sudo -n /usr/bin/true
expect "oversized token" 1 "" "False oversized"
cp "$ROOT/keys/trusted-keys" "$ROOT/keys.saved"
echo "$(cat "$ROOT/keys.saved") not-after=@$(( $(date +%s) - 60 ))" > "$ROOT/keys/trusted-keys"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n /usr/bin/true
expect "key outside its window" 1 "" "False key_expired"
chmod 0666 "$ROOT/keys/trusted-keys"; cp "$ROOT/keys.saved" "$ROOT/keys/trusted-keys"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n /usr/bin/true
expect "world-writable trusted keys" 1 "trusted keys unusable" "False keys_unusable"
chmod 0644 "$ROOT/keys/trusted-keys"; chown "$UA" "$ROOT/keys/trusted-keys"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n /usr/bin/true
expect "user-owned trusted keys" 1 "not root" "False keys_unusable"
chown root "$ROOT/keys/trusted-keys"
rm "$ROOT/keys/trusted-keys"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- sudo -n /usr/bin/true
expect "missing trusted keys" 1 "trusted keys unusable" "False keys_unusable"
install -m 0644 "$ROOT/keys.saved" "$ROOT/keys/trusted-keys"

# --- broken configuration and log (user C's stack reads $ROOT/bad.conf) --------
CTOK=$(e2e_issue --user "$UC" "${HG[@]}" --command /usr/bin/true --reason t)
rm -f "$ROOT/bad.conf"
run "$UC" JIT_TOKEN="$CTOK" -- sudo -n /usr/bin/true
expect "missing config" 1 "configuration unusable" none
e2e_write_conf "$ROOT/bad.conf"; chmod 0666 "$ROOT/bad.conf"
run "$UC" JIT_TOKEN="$CTOK" -- sudo -n /usr/bin/true
expect "world-writable config" 1 "writable by group or others" none
chmod 0644 "$ROOT/bad.conf"; chown "$UC" "$ROOT/bad.conf"
run "$UC" JIT_TOKEN="$CTOK" -- sudo -n /usr/bin/true
expect "user-owned config" 1 "not root" none
ln -sf "$ROOT/pam_jit.conf" "$ROOT/bad.conf"
run "$UC" JIT_TOKEN="$CTOK" -- sudo -n /usr/bin/true
expect "symlinked config" 1 "symbolic link" none
rm -f "$ROOT/bad.conf"; e2e_write_conf "$ROOT/bad.conf" "colour = blue"
run "$UC" JIT_TOKEN="$CTOK" -- sudo -n /usr/bin/true
expect "unknown config key" 1 "unknown key" none
touch "$ROOT/not-a-dir"
rm -f "$ROOT/bad.conf"
{
    echo "host_groups = e2e-hosts"
    echo "trusted_keys = $ROOT/keys/trusted-keys"
    echo "log = $ROOT/not-a-dir/audit.log"
    echo "state = $ROOT/state-bad/log.state"
    echo "seal_key_export = $ROOT/state-bad/seal-key.initial"
    echo "syslog = no"
} > "$ROOT/bad.conf"
run "$UC" JIT_TOKEN="$CTOK" -- sudo -n /usr/bin/true
expect "unwritable log" 1 "cannot write the audit log" none
e2e_write_conf "$ROOT/bad.conf"
run "$UC" JIT_TOKEN="$CTOK" -- sudo -n /usr/bin/true
expect "user C allowed once the config is sound" 0 "" "True ok"

# --- the timestamp cache must not carry a decision over ----------------------
# User B's rule needs a password: the token authenticates the first sudo (no
# password asked); the second, on the same terminal a moment later, finds the
# cached timestamp (no authenticate) and carries no token: acct_mgmt denies.
BTOK=$(e2e_issue --user "$UB" "${HG[@]}" --command /usr/bin/true --reason t)
run_tty "$UB" JIT_TOKEN="$BTOK" -- 'sudo /usr/bin/true; echo first=$?; env -u JIT_TOKEN sudo -n /usr/bin/true; echo second=$?'
if grep -q 'first=0' "$OUT" && grep -q 'second=1' "$OUT"; then
    decs=$(decisions_since "$before")
    if [ "$(printf '%s\n' "$decs" | cut -d' ' -f1-3 | tr '\n' ,)" = "True ok auth,True ok acct,False no_token acct," ]; then
        ok "timestamp cache: token authenticates, second sudo denied in acct_mgmt"
    else
        bad "timestamp cache" "records: $decs"
    fi
else
    bad "timestamp cache" "output: $(cat "$OUT")"
fi
run_tty "$UB" JIT_TOKEN="$TRUE_TOK" -- 'sudo -k; sudo /usr/bin/true; echo rc=$?'
grep -q 'rc=1' "$OUT" && ok "authenticate: someone else's token does not stand in for a password" \
    || bad "authenticate with a wrong token" "$(cat "$OUT")"

# --- sudo -n and a rule that needs a password (docs/pam-module.md, "sudo -n") --
# Without noninteractive_auth sudo refuses before PAM: no module runs, no
# record. With it (a drop-in of this test, for user B only), sudo -n runs
# authenticate: here a stack of this test with the token as a sufficient
# alternative to Debian's password modules (common-auth), and a password
# that B has, to show that sudo -n still reads none.
# Each case runs in a shell of its own after sudo -K: no cached timestamp.
run "$UB" JIT_TOKEN="$BTOK" -- bash -c 'sudo -K; sudo -n /usr/bin/true'
expect "sudo -n, password rule: refused by sudo before PAM" 1 "a password is required" none
echo "$UB:e2e-Pw-$$" | chpasswd
cat > "$NIA_STACK" <<EOF
# jit end-to-end test stack: token or password (removed after the run)
auth     sufficient $ROOT/pam_jit.so config=$ROOT/pam_jit.conf
@include common-auth
account  required   $ROOT/pam_jit.so config=$ROOT/pam_jit.conf
session  required   $ROOT/pam_jit.so config=$ROOT/pam_jit.conf
EOF
printf 'Defaults:%s noninteractive_auth, pam_service=%s, pam_login_service=%s\n' "$UB" "$E2E-nia" "$E2E-nia" > "$NIA_DROPIN.tmp"
visudo -cqf "$NIA_DROPIN.tmp" || e2e_die "noninteractive_auth drop-in does not parse"
install -m 0440 "$NIA_DROPIN.tmp" "$NIA_DROPIN"; rm -f "$NIA_DROPIN.tmp"
run "$UB" JIT_TOKEN="$BTOK" -- bash -c 'sudo -K; sudo -n /usr/bin/true'
expect "sudo -n, password rule, noninteractive_auth: the token authenticates" 0 "" "True ok"
[ "$(decisions_since "$before" | cut -d' ' -f1-3 | tr '\n' ,)" = "True ok auth,True ok acct," ] \
    && ok "noninteractive_auth: decided in authenticate and acct_mgmt" || bad "noninteractive_auth records" "$(decisions_since "$before")"
run "$UB" -- bash -c 'sudo -K; sudo -n /usr/bin/true'
expect "sudo -n, noninteractive_auth, no token: still refused" 1 "a password is required" none
# -n still reads no password, not even B's right one from stdin with -S.
before=$(log_lines)
set +e
echo "e2e-Pw-$$" | setpriv --reuid="$UB" --regid="$UB" --init-groups --reset-env \
    env -i PATH=/usr/bin:/bin HOME=/ bash -c 'sudo -K; sudo -n -S /usr/bin/true' >"$OUT" 2>"$ERR"
RC=$?
set -e
expect "sudo -n -S, noninteractive_auth: no password read, refused" 1 "a password is required" none
rm -f "$NIA_DROPIN" "$NIA_STACK"

# --- scripts and concurrency -----------------------------------------------------
printf '#!/bin/sh\nset -e\nsudo -n /usr/bin/true\necho job-done\n' > "$home_a/job.sh"
chown "$UA" "$home_a/job.sh"; chmod 0755 "$home_a/job.sh"
run "$UA" JIT_TOKEN="$TRUE_TOK" -- "$home_a/job.sh"
expect "sudo -n in a script" 0 "" "True ok"
grep -qx job-done "$OUT" && ok "script finished" || bad "script" "no job-done"

before=$(log_lines)
pids=()
for i in $(seq 1 32); do
    setpriv --reuid="$UA" --regid="$UA" --init-groups env -i PATH=/usr/bin:/bin JIT_TOKEN="$TRUE_TOK" \
        sudo -n /usr/bin/true </dev/null >/dev/null 2>"$ROOT/conc.$i.err" &
    pids+=($!)
done
conc_fail=0
for p in "${pids[@]}"; do wait "$p" || conc_fail=$((conc_fail + 1)); done
n=$(decisions_since "$before" | { grep -c '^True ok acct' || true; })
if [ "$conc_fail" = 0 ] && [ "$n" = 32 ]; then ok "32 concurrent sudo invocations allowed and recorded"
else RC=$conc_fail; bad "concurrency" "$conc_fail failed, $n allowed records"; fi

# --- the log verifies -----------------------------------------------------------
set +e
"$BIN/jit-verify" log --seal-key "$ROOT/state/seal-key.initial" --state "$ROOT/state/log.state" "$ROOT/log/audit.log" >"$OUT" 2>"$ERR"
RC=$?
set -e
[ "$RC" = 0 ] && ok "jit-verify: whole log intact with seal key and state ($(log_lines) records)" \
    || bad "jit-verify" "exit $RC"

echo
tally_end pam-sudo
