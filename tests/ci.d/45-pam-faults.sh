#!/usr/bin/env bash
# Fault injection under the real sudo: the log's file system full (a 256 KiB
# tmpfs: ENOSPC), read-only, or its directory deleted; the state file missing,
# truncated or corrupt; clocks far apart. Each must end in a denial with a
# clear reason, sudo exiting normally (no crash), and no damage to the records
# already written (jit-verify reports them intact, or at worst a torn tail that
# the next writer repairs — never tampering).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
E2E=jit-fault
# shellcheck source=../e2e/lib.sh
. tests/e2e/lib.sh
FS=$ROOT/fs
cleanup() {
    umount "$FS" 2>/dev/null || true
    e2e_teardown
    rm -f "$OUT" "$ERR"
}
trap cleanup EXIT
e2e_setup
mkdir -p "$FS"
mount -t tmpfs -o size=256k,mode=0755 jit-fault "$FS"
e2e_write_conf "$ROOT/pam_jit.conf"
sed -i "s|^log = .*|log = $FS/log/audit.log|; s|^state = .*|state = $FS/state/log.state|; s|^seal_key_export = .*|seal_key_export = $FS/state/seal-key.initial|" "$ROOT/pam_jit.conf"

# shellcheck source=../e2e/tally.sh
. tests/e2e/tally.sh
SEGMENTS=""   # earlier segments of the log, oldest first
TOKEN=$(e2e_issue --user "$UA" --host-group e2e-hosts --command /usr/bin/true --reason faults)

# verify_log NAME ALLOWED_EXITS: the records written so far are not damaged.
verify_log() {
    local rc=0
    # shellcheck disable=SC2086
    "$BIN/jit-verify" log --seal-key "$FS/state/seal-key.initial" $SEGMENTS "$FS/log/audit.log" >"$ROOT/verify.out" 2>&1 || rc=$?
    case " $2 " in
        *" $rc "*) ok "$1: records intact (jit-verify exit $rc)" ;;
        *) RC=$rc; bad "$1: records" "jit-verify exit $rc: $(tail -n 3 "$ROOT/verify.out")" ;;
    esac
}

# denied NAME STDERR_SUBSTRING: sudo refused normally, saying why.
denied() {
    as_user "$UA" JIT_TOKEN="$TOKEN" -- sudo -n /usr/bin/true
    if [ "$RC" = 1 ] && grep -qF -- "$2" "$ERR" && grep -q '^jit: denied' "$ERR"; then
        ok "$1: denied ($(grep -m1 '^jit: denied' "$ERR" | cut -c1-110))"
    else
        bad "$1" "wanted exit 1 and '$2'"
    fi
}
allowed() {
    as_user "$UA" JIT_TOKEN="$TOKEN" -- sudo -n /usr/bin/true
    [ "$RC" = 0 ] && ok "$1" || bad "$1" "wanted exit 0"
}

allowed "baseline: allowed with the log on a small file system"
records_before=$(wc -l < "$FS/log/audit.log")

# --- ENOSPC -------------------------------------------------------------------
# Appends that still fit in the log's last page succeed: keep going until
# the file system really refuses, then the answer must be a denial.
dd if=/dev/zero of="$FS/filler" bs=1k 2>/dev/null || true
for _ in $(seq 1 200); do
    as_user "$UA" JIT_TOKEN="$TOKEN" -- sudo -n /usr/bin/true
    [ "$RC" = 0 ] || break
done
if [ "$RC" = 1 ] && grep -q '^jit: denied: cannot write the audit log' "$ERR" && grep -qi 'no space' "$ERR"; then
    ok "file system full: denied ($(grep -m1 '^jit: denied' "$ERR" | cut -c1-110))"
else
    bad "file system full" "wanted exit 1 with ENOSPC in the message"
fi
verify_log "file system full" "0 3"
rm -f "$FS/filler"
allowed "space freed: allowed again"
verify_log "after ENOSPC recovery" "0"
[ "$(wc -l < "$FS/log/audit.log")" -gt "$records_before" ] && ok "records kept growing after recovery" \
    || bad "after ENOSPC" "log did not grow"

# --- read-only -------------------------------------------------------------------
# The denial cannot be recorded in the log, so it leaves a trace at
# authpriv.err on the configured syslog socket (a listener stands in).
syslog_listen "$ROOT/syslog.sock" "$ROOT/syslog.txt"
echo "syslog_socket = $ROOT/syslog.sock" >> "$ROOT/pam_jit.conf"
mount -o remount,ro "$FS"
denied "read-only file system" "cannot write the audit log"
mount -o remount,rw "$FS"
syslog_stop "$ROOT/syslog.sock"
if grep -q "^<83>jit-log\[[0-9]*\]: jit-unrecorded v1 event=decision allowed=no reason=audit_log_unwritable user=$UA uid=$(id -u "$UA") command=/usr/bin/true: .*[Rr]ead-only file system.*; the decision (allowed, reason ok) was not recorded" "$ROOT/syslog.txt" \
    && [ "$(wc -l < "$ROOT/syslog.txt")" = 1 ]; then
    ok "read-only file system: the unrecorded denial traced at authpriv.err"
else
    bad "read-only file system: syslog trace" "$(cat "$ROOT/syslog.txt")"
fi
rm -f "$ROOT/syslog.sock" "$ROOT/syslog.txt"
verify_log "read-only file system" "0"
allowed "writable again: allowed"

# --- state file missing, truncated, corrupt ----------------------------------------
cp -a "$FS/state/log.state" "$ROOT/state.saved"
rm "$FS/state/log.state"
denied "state file missing" "cannot write the audit log"
head -c 100 "$ROOT/state.saved" > "$FS/state/log.state"; chmod 0600 "$FS/state/log.state"
denied "state file truncated" "cannot write the audit log"
head -c 512 /dev/urandom > "$FS/state/log.state"
denied "state file corrupt" "cannot write the audit log"
cp -a "$ROOT/state.saved" "$FS/state/log.state"
verify_log "state faults" "0"
allowed "state restored: allowed"

# --- log directory deleted ------------------------------------------------------------
# To the writer this is indistinguishable from logrotate's rename + create:
# sudo keeps working, and the new file starts with a `continue` record linked
# to the previous head, so the missing segment is evident to the auditor.
mv "$FS/log" "$ROOT/log.saved"
allowed "log directory deleted: sudo keeps working"
first_kind=$(head -n 1 "$FS/log/audit.log" | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["kind"])')
[ "$first_kind" = continue ] && ok "log directory deleted: new segment starts with a continue record" \
    || bad "log deleted" "first record is $first_kind"
set +e
"$BIN/jit-verify" log --seal-key "$FS/state/seal-key.initial" "$FS/log/audit.log" >"$ROOT/verify.out" 2>&1
RC=$?
set -e
[ "$RC" = 1 ] && ok "log directory deleted: the new segment alone shows the missing predecessor" \
    || bad "log deleted alone" "jit-verify exit $RC: $(tail -n 2 "$ROOT/verify.out")"
SEGMENTS="$ROOT/log.saved/audit.log"
verify_log "log directory deleted: old and new segments together" "0"
mv "$FS/log/audit.log" "$ROOT/log.saved/audit.log.moved-back"
cp "$ROOT/log.saved/audit.log" "$FS/log/audit.log"
denied "an old segment put back in place of the current one" "cannot write the audit log"
mv "$ROOT/log.saved/audit.log.moved-back" "$FS/log/audit.log"
allowed "current segment restored: allowed"

# --- the audit lock held by a stopped or stuck process ---------------------------------
# The lock is taken inside users' own sudo processes, which they can stop
# (kill -STOP: sudo's real uid is theirs). A blocking wait would then hang
# every sudo on the host. A holder found stopped is continued by the next
# sudo; one that never lets go makes the next sudo give up after 10 s with a
# denial naming it. The holder here is flock(1) exec'ing a shell, so the
# shell's pid is the one /proc/locks shows.
LOCK="$FS/state/log.state.lock"
# hold_lock SCRIPT: start the holder; $holder is its pid, $hfd its output
# (duplicated: bash drops the coproc's own descriptors when it exits).
hold_lock() {
    coproc HOLDER { exec flock --no-fork "$LOCK" sh -c "echo locked; $1"; }
    holder=$HOLDER_PID
    exec {hfd}<&"${HOLDER[0]}"
    read -r line <&"$hfd"
    [ "$line" = locked ] || e2e_die "lock holder did not start"
}
hold_lock 'kill -STOP $$; echo resumed'
while [ "$(cut -d' ' -f3 "/proc/$holder/stat")" != T ]; do :; done
allowed "a stopped process holding the audit lock is continued: allowed"
read -r line <&"$hfd" || line=""
[ "$line" = resumed ] && ok "the stopped holder was continued and finished" \
    || bad "stopped holder" "it printed '$line'"
wait "$holder" || true
exec {hfd}<&-
hold_lock 'exec sleep 600'
denied "the audit lock held for over 10 s" "held for over 10 s by pid $holder (sleep, uid 0, sleeping)"
kill "$holder"; wait "$holder" || true
exec {hfd}<&-
allowed "the lock released: allowed"
verify_log "lock faults" "0"

# --- clocks far apart ----------------------------------------------------------------
# sudo is setuid, so its clock cannot be faked per process; a host clock far
# behind or ahead of the signer's is the same as tokens from far away in time.
tok=$(faketime -f '+3650d' "$BIN/jit-signer" issue --ledger "$E2E_LEDGER" --key "$ROOT/signer/e2e-k1.key" --user "$UA" --host-group e2e-hosts --command /usr/bin/true --reason t)
as_user "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
[ "$RC" = 1 ] && grep -q 'not valid for another' "$ERR" && ok "host clock 10 years behind the signer: denied" \
    || bad "clock behind" "rc=$RC"
tok=$(faketime -f '-3650d' "$BIN/jit-signer" issue --ledger "$E2E_LEDGER" --key "$ROOT/signer/e2e-k1.key" --user "$UA" --host-group e2e-hosts --command /usr/bin/true --reason t)
as_user "$UA" JIT_TOKEN="$tok" -- sudo -n /usr/bin/true
[ "$RC" = 1 ] && grep -q 'expired' "$ERR" && ok "host clock 10 years ahead of the signer: denied" \
    || bad "clock ahead" "rc=$RC"
verify_log "end of run" "0"

echo
tally_end pam-faults
