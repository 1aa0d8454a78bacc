# Shared set-up for end-to-end runs against the real Debian sudo (tests and demo).
#
# Everything it changes is named after $E2E (default "jit-e2e") and removed by
# e2e_teardown, which callers run from an EXIT trap:
#   users        $E2E-a (NOPASSWD: ALL), $E2E-b (password rule: the token
#                authenticates), $E2E-c (module misconfigured on purpose)
#   PAM service  /etc/pam.d/$E2E, /etc/pam.d/$E2E-bad
#   sudoers      /etc/sudoers.d/$E2E (pam_service / pam_login_service for those
#                users only, so sudo's own stack /etc/pam.d/sudo is never used
#                or touched)
#   files        /run/$E2E/ (module, config, keys, log, state, signer ledger)
# Requires root, BIN (directory with jit-signer and jit-verify) and the module
# PAM_SO (default: the cold-start build next to BIN, BIN/../pam/libpam_jit.so;
# tools/build-release.sh builds both).

E2E=${E2E:-jit-e2e}
PAM_SO=${PAM_SO:-$(dirname "$BIN")/pam/libpam_jit.so}
ROOT=/run/$E2E
UA=$E2E-a
UB=$E2E-b
UC=$E2E-c

e2e_die() { echo "e2e: $*" >&2; exit 1; }

e2e_setup() {
    [ "$(id -u)" = 0 ] || e2e_die "must run as root"
    [ -x "$BIN/jit-signer" ] && [ -x "$BIN/jit-verify" ] \
        || e2e_die "BIN=$BIN lacks jit-signer or jit-verify (build first: tools/build-release.sh)"
    [ -f "$PAM_SO" ] || e2e_die "$PAM_SO missing (build first: tools/build-release.sh)"
    command -v sudo >/dev/null || e2e_die "sudo is not installed"
    e2e_teardown quiet
    umask 022
    mkdir -p "$ROOT/keys" "$ROOT/signer"
    chmod 0755 "$ROOT" "$ROOT/keys"
    chmod 0700 "$ROOT/signer"
    install -m 0644 "$PAM_SO" "$ROOT/pam_jit.so"
    for u in "$UA" "$UB" "$UC"; do
        useradd --create-home --shell /bin/bash "$u"
    done
    "$BIN/jit-signer" keygen --kid e2e-k1 --out "$ROOT/signer" >/dev/null
    "$BIN/jit-signer" keygen --kid e2e-k2 --out "$ROOT/signer" >/dev/null
    # Only k1 is trusted; k2 is a real key the host does not know.
    install -m 0644 "$ROOT/signer/e2e-k1.pub" "$ROOT/keys/trusted-keys"
    e2e_write_conf "$ROOT/pam_jit.conf"
    cat > "/etc/pam.d/$E2E" <<EOF
# jit end-to-end test stack (removed after the run)
auth     sufficient $ROOT/pam_jit.so config=$ROOT/pam_jit.conf
auth     required   pam_deny.so
account  required   $ROOT/pam_jit.so config=$ROOT/pam_jit.conf
session  required   $ROOT/pam_jit.so config=$ROOT/pam_jit.conf
EOF
    cat > "/etc/pam.d/$E2E-bad" <<EOF
# jit end-to-end test stack with a configuration path given per test
account  required   $ROOT/pam_jit.so config=$ROOT/bad.conf
session  required   $ROOT/pam_jit.so config=$ROOT/bad.conf
EOF
    local tmp
    tmp=$(mktemp)
    cat > "$tmp" <<EOF
# jit end-to-end test users only (removed after the run)
Defaults:$UA, $UB pam_service=$E2E, pam_login_service=$E2E
Defaults:$UC pam_service=$E2E-bad, pam_login_service=$E2E-bad
Defaults:$UA, $UB, $UC !lecture, pam_acct_mgmt, pam_session
# $UA resolves commands through its own PATH, so PATH tricks are reachable.
Defaults:$UA !secure_path
$UA ALL=(ALL:ALL) NOPASSWD: ALL
$UB ALL=(ALL:ALL) ALL
$UC ALL=(ALL:ALL) NOPASSWD: ALL
EOF
    visudo -cqf "$tmp" || e2e_die "generated sudoers drop-in does not parse"
    install -m 0440 "$tmp" "/etc/sudoers.d/$E2E"
    rm -f "$tmp"
}

# e2e_write_conf FILE [extra lines...]
e2e_write_conf() {
    local f=$1; shift
    {
        echo "host_groups = e2e-hosts, other-group"
        echo "trusted_keys = $ROOT/keys/trusted-keys"
        echo "log = $ROOT/log/audit.log"
        echo "state = $ROOT/state/log.state"
        echo "seal_key_export = $ROOT/state/seal-key.initial"
        echo "replay_cache = $ROOT/state/replay"
        echo "revocation_list = $ROOT/keys/revocation/list"
        echo "revocation_state = $ROOT/state/revocation-state"
        echo "syslog = no"
        for l in "$@"; do echo "$l"; done
    } > "$f"
    chmod 0644 "$f"
}

e2e_teardown() {
    rm -f "/etc/sudoers.d/$E2E" "/etc/pam.d/$E2E" "/etc/pam.d/$E2E-bad"
    for u in "$UA" "$UB" "$UC"; do
        if id "$u" >/dev/null 2>&1; then
            pkill -KILL -u "$u" 2>/dev/null || true
            userdel --remove "$u" 2>/dev/null || true
        fi
        rm -rf "/run/sudo/ts/$u" "/var/lib/sudo/ts/$u" "/var/lib/sudo/lectured/$u"
    done
    rm -rf "$ROOT"
    [ "${1:-}" = quiet ] || true
}

# The signer's issuance ledger (every jit-signer issue or revoke of a run
# records there; exported so no test falls back to /var/lib/jit-signer).
E2E_LEDGER=$ROOT/signer/ledger/ledger.log
export JIT_LEDGER=$E2E_LEDGER

# e2e_issue [jit-signer issue args...]: a token from key k1 (prints it).
e2e_issue() {
    "$BIN/jit-signer" issue --ledger "$E2E_LEDGER" --key "$ROOT/signer/e2e-k1.key" "$@"
}

# as_user USER [VAR=value...] -- CMD...: run CMD as USER with a clean environment.
# Writes stdout to $OUT, stderr to $ERR, exit status to $RC.
OUT=$(mktemp); ERR=$(mktemp); RC=0
as_user() { _as_user plain "$@"; }

# as_user_tty USER [VAR=value...] -- 'SHELL COMMAND': like as_user, but the
# command (one string, for a shell) runs on a pseudo-terminal (script(1)).
as_user_tty() { _as_user tty "$@"; }

_as_user() {
    local mode=$1 u=$2; shift 2
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    local home
    home=$(getent passwd "$u" | cut -d: -f6)
    local run=("$@")
    [ "$mode" = tty ] && run=(script -qec "$*" /dev/null)
    set +e
    setpriv --reuid="$u" --regid="$u" --init-groups --reset-env \
        env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" USER="$u" LOGNAME="$u" TERM=dumb \
        "${envs[@]}" "${run[@]}" </dev/null >"$OUT" 2>"$ERR"
    RC=$?
    set -e
}

# last_record FIELD [N]: FIELD of the N-th last record (default 1) of the test log.
last_record() {
    /usr/bin/python3 - "$ROOT/log/audit.log" "$1" "${2:-1}" <<'EOF'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
rec = json.loads(lines[-int(sys.argv[3])])
v = rec.get(sys.argv[2])
print("" if v is None else (json.dumps(v) if not isinstance(v, str) else v))
EOF
}

log_lines() { if [ -f "$ROOT/log/audit.log" ]; then wc -l < "$ROOT/log/audit.log"; else echo 0; fi; }

# syslog_listen SOCKET OUT [PREFIX...]: a datagram listener stands in for
# syslogd on SOCKET (mode 0666), writing each message it receives as a line
# of OUT; PREFIX is a command to run it under (the bench: `chrt -o 0`, an
# ordinary-priority daemon). Returns once it is bound. syslog_stop SOCKET
# stops it after everything sent before is read (local datagrams are
# ordered, so the STOP datagram is last).
syslog_listen() {
    local sock=$1 out=$2; shift 2
    coproc SYSL { "$@" /usr/bin/python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
with open(sys.argv[2], "w") as out:
    while True:
        m = s.recv(65536).decode("utf-8", "replace")
        if m == "STOP":
            break
        out.write(m + "\n")
' "$sock" "$out"; }
    SYSL_LISTENER=$SYSL_PID
    local ready
    read -r ready <&"${SYSL[0]}"
    [ "$ready" = ready ] || e2e_die "syslog listener did not start"
    chmod 0666 "$sock"
}
# Idempotent and never failing, so an EXIT trap under `set -e` that calls it
# again still reaches the teardown after it; the socket is removed.
syslog_stop() {
    [ -S "$1" ] || return 0
    /usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b"STOP", sys.argv[1])' "$1" 2>/dev/null || true
    wait "${SYSL_LISTENER:-}" 2>/dev/null || true
    rm -f "$1"
}
