#!/usr/bin/env bash
# A token sent over SSH (docs/ssh.md), end to end with the real OpenSSH: an
# sshd of this test's own (own configuration, host key, pid file, on
# 127.0.0.1 at a free high port; the system's /etc/ssh and port 22 are never
# used) and the real ssh client with its own -F configuration (BatchMode, the
# test user's own key, StrictHostKeyChecking against the test's known_hosts).
# The test user logs in and runs sudo -n through the e2e PAM service
# (tests/e2e/lib.sh). sshd accepts JIT_TOKEN only once `jit-ctl enable --ssh`
# (pointed at this sshd's files) has installed the packaged snippet
# packaging/ssh/sshd-jit.conf; `jit-ctl disable` removes it again.
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

sshd_setup "$S" "$UA"
sshd_start
[ "$(cat "$S/sshd.pid")" = "$SSHD_PID" ] && ok "sshd of the test started on 127.0.0.1:$SSH_PORT (own config, key, pid file)" \
    || bad "sshd pid file" "$(cat "$S/sshd.pid") is not $SSHD_PID"
# The client runs as root here, with the test user's key and configuration.
cp "$S/client-$UA/config" "$S/ssh_config"
wait_sshd() { sshd_wait "$@"; }

# on_host ALIAS [VAR=value...] -- REMOTE COMMAND: ssh as the test user (the
# client runs with exactly these variables); stdout, stderr and the status
# go to $OUT, $ERR and $RC as for as_user.
on_host() {
    local alias=$1; shift
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    before=$(log_lines)
    set +e
    env -i PATH=/usr/bin:/bin HOME=/nonexistent "${envs[@]}" \
        ssh -F "$S/ssh_config" "$alias" "$@" </dev/null >"$OUT" 2>"$ERR"
    RC=$?
    set -e
}

# last_decision: "allowed reason_code" of the last decision record.
last_decision() {
    /usr/bin/python3 - "$ROOT/log/audit.log" "$before" <<'EOF'
import json, sys
try:
    lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
except FileNotFoundError:
    lines = []
d = [json.loads(l) for l in lines[int(sys.argv[2]):]]
d = [r for r in d if r["kind"] == "decision"]
print(f'{d[-1]["allowed"]} {d[-1]["reason_code"]}' if d else "none")
EOF
}

# check NAME WANT_RC WANT_DECISION [STDERR_SUBSTRING...]
check() {
    local name=$1 want_rc=$2 want_dec=$3; shift 3
    local got s
    got=$(last_decision)
    if [ "$RC" != "$want_rc" ]; then bad "$name" "exit status $RC, wanted $want_rc"; return; fi
    if [ "$got" != "$want_dec" ]; then bad "$name" "last decision '$got', wanted '$want_dec'"; return; fi
    for s in "$@"; do
        grep -qF -- "$s" "$ERR" || { bad "$name" "stderr lacks '$s'"; return; }
    done
    ok "$name"
}

TOK=$(e2e_issue --user "$UA" --host-group e2e-hosts --command "/usr/bin/id -un" --reason "e2e ssh")

# --- before jit-ctl enable --ssh: sshd drops JIT_TOKEN ------------------------
on_host jit-e2e-web-1 JIT_TOKEN="$TOK" -- sudo -n /usr/bin/id -un
check "SendEnv without AcceptEnv: denied, told how to send the token" 1 "False no_token" \
    "no JIT token" "SendEnv JIT_TOKEN" "AcceptEnv JIT_TOKEN"
grep -qF "$TOK" "$ERR" && bad "no token over ssh: the message holds no token" "token on stderr" || true

# A snippet that breaks sshd's configuration is refused and put back; sshd
# keeps running with its checked configuration. No SSH CA key (a path that
# does not exist, whatever the machine has in /etc/ssh/jit): JIT_TOKEN only,
# certificates are 48-ssh-krl.sh's.
ctl() {
    JIT_CTL_SSHD_CONFIG="$S/sshd_config" JIT_CTL_SSH_SNIPPET="$S/sshd_config.d/jit.conf" \
        JIT_CTL_SSHD_PIDFILE="$S/sshd.pid" JIT_CTL_DROPIN="$S/no-sudoers-dropin" \
        JIT_CTL_SSH_CA="$S/no-ssh-ca.pub" sh packaging/sbin/jit-ctl "$@"
}
printf 'AcceptEnv JIT_TOKEN\nNoSuchSshdOption yes\n' > "$S/broken-snippet"
set +e
JIT_CTL_SSH_SOURCE="$S/broken-snippet" ctl enable --ssh >"$OUT" 2>"$ERR"; RC=$?
set -e
if [ "$RC" = 1 ] && [ ! -e "$S/sshd_config.d/jit.conf" ] && grep -q "does not check" "$ERR" \
    && [ -z "$(ls -A "$S/sshd_config.d")" ] && "$SSHD" -t -f "$S/sshd_config"; then
    ok "jit-ctl enable --ssh: a snippet failing sshd -t is not left in place, nothing reloaded"
else
    bad "jit-ctl enable --ssh with a broken snippet" "rc $RC, dir: $(ls -A "$S/sshd_config.d")"
fi

# --- jit-ctl enable --ssh: the packaged snippet, checked, sshd reloaded -------
set +e
JIT_CTL_SSH_SOURCE=packaging/ssh/sshd-jit.conf ctl enable --ssh >"$OUT" 2>"$ERR"; RC=$?
set -e
if [ "$RC" = 0 ] && cmp -s packaging/ssh/sshd-jit.conf "$S/sshd_config.d/jit.conf" \
    && grep -q "reloaded sshd (pid $SSHD_PID)" "$OUT"; then
    ok "jit-ctl enable --ssh: snippet installed, sshd -t passed, sshd reloaded"
else
    bad "jit-ctl enable --ssh" "rc $RC: $(cat "$OUT")"
fi
wait_sshd "reload after enable --ssh"
"$SSHD" -T -f "$S/sshd_config" -C user="$UA",host=localhost,addr=127.0.0.1 >"$S/sshd-T" 2>&1 || true
grep -qix 'acceptenv JIT_TOKEN' "$S/sshd-T" && ok "sshd -T: AcceptEnv JIT_TOKEN in effect" \
    || bad "sshd -T" "no acceptenv JIT_TOKEN: $(grep -i acceptenv "$S/sshd-T"; tail -n 3 "$S/sshd-T")"
set +e
ctl status >"$OUT" 2>"$ERR"; RC=$?
set -e
if [ "$RC" = 3 ] && [ "$(head -n 1 "$OUT")" = disabled ] \
    && grep -qxF "ssh: sshd accepts JIT_TOKEN ($S/sshd_config.d/jit.conf)" "$OUT"; then
    ok "jit-ctl status: first line unchanged (sudo enforcement), then says sshd accepts JIT_TOKEN"
else
    bad "jit-ctl status after enable --ssh" "rc $RC: $(cat "$OUT" "$ERR")"
fi

on_host jit-e2e-web-1 JIT_TOKEN="$TOK" -- sudo -n /usr/bin/id -un
check "SendEnv JIT_TOKEN + AcceptEnv: sudo -n allowed over ssh" 0 "True ok"
grep -qx root "$OUT" && ok "over ssh: the command ran as root" || bad "over ssh: command output" "$(cat "$OUT")"

on_host jit-e2e-web-1 JIT_TOKEN="$TOK" -- sudo -n /usr/bin/id -gn
check "over ssh: a command the token does not grant is denied" 1 "False command_not_granted" \
    "this token grants: /usr/bin/id -un"

on_host jit-e2e-plain JIT_TOKEN="$TOK" -- sudo -n /usr/bin/id -un
check "a host entry without SendEnv: denied, told to add SendEnv" 1 "False no_token" \
    "SendEnv JIT_TOKEN"

on_host jit-e2e-web-1 -- sudo -n /usr/bin/id -un
check "no token in the client's environment: denied, told to add SendEnv" 1 "False no_token" \
    "SendEnv JIT_TOKEN"

# What docs/ssh.md warns about: ssh -v shows the token it sends.
before=$(log_lines)
set +e
env -i PATH=/usr/bin:/bin HOME=/nonexistent JIT_TOKEN="$TOK" \
    ssh -v -o LogLevel=DEBUG1 -F "$S/ssh_config" jit-e2e-web-1 true </dev/null >"$OUT" 2>"$ERR"
set -e
grep -qF "setting env JIT_TOKEN = \"$TOK\"" "$ERR" && ok "ssh -v prints the token it sends (documented warning)" \
    || bad "ssh -v" "the token was not in the debug output"

# --- jit-ctl disable: snippet removed, sshd reloaded, token dropped again -----
set +e
ctl disable >"$OUT" 2>"$ERR"; RC=$?
set -e
if [ "$RC" = 0 ] && [ -z "$(ls -A "$S/sshd_config.d")" ] && grep -q "reloaded sshd (pid $SSHD_PID)" "$OUT"; then
    ok "jit-ctl disable: snippet removed, sshd reloaded"
else
    bad "jit-ctl disable" "rc $RC: $(cat "$OUT") $(ls -A "$S/sshd_config.d")"
fi
set +e
ctl status >"$OUT" 2>"$ERR"
set -e
grep -qxF "ssh: off (jit-ctl enable --ssh)" "$OUT" && ok "jit-ctl status after disable: ssh off" \
    || bad "jit-ctl status after disable" "$(cat "$OUT" "$ERR")"
wait_sshd "reload after disable"
on_host jit-e2e-web-1 JIT_TOKEN="$TOK" -- sudo -n /usr/bin/id -un
check "after jit-ctl disable: the token no longer arrives" 1 "False no_token" "SendEnv JIT_TOKEN"

echo
tally_end pam-ssh
