# shellcheck shell=bash
# Real power cuts, sourced by tests/vm/run.sh after its functional checks
# (same guest, same overlay; tests/vm/lib.sh). docs/vm.md, "Power cuts".
#
#   pc_setup          in the running guest: the user jitpower, the stream and
#                     marker programs (tests/vm/guest/powercut-setup.sh), a
#                     token for them; the log's initial seal key copied to the
#                     host (the auditor's copy: everything is verified on the
#                     host with it)
#   pc_round R        in the running guest: two sudo streams as jitpower
#                     (tests/vm/guest/powercut-setup.sh); once the first
#                     command of the round has started (its marker is in the
#                     serial file), wait a random 0 to JIT_VM_POWERCUT_MAX_DELAY
#                     (default 6) seconds and SIGKILL QEMU (vm_kill: the guest's
#                     page cache is lost; the overlay keeps what QEMU wrote,
#                     with cache=writeback every guest flush included); then
#                     boot the same overlay again and check, each ok/FAIL:
#     - the log as the cut left it verifies with the seal key and the state,
#       exit 0 or 3, every finding a crash leftover (class torn/note), none
#       reported as tampering (tests/vm/check-powercut.py)
#     - every command whose marker the host read before the kill has its
#       allowed decision in that log
#     - a sudo with the token is allowed after the reboot, nobody having
#       repaired anything by hand
#     - the log then verifies intact (exit 0): the writer repaired what the cut
#       left and said so in recovery records
# Randomness: $RANDOM seeded from JIT_VM_POWERCUT_SEED (printed; default the
# time), so a failing round's delays can be replayed.

PC_DIR=
PC_FOUND=()
PC_REPAIRED=()
pc_setup() {
    PC_DIR=$WORK/powercut
    mkdir -p "$PC_DIR"
    issue --user jitpower --command '/usr/local/sbin/jit-mark ...' --ttl 24h >"$PC_DIR/power.token"
    vm_put "$PC_DIR/power.token" /root/in/power.token
    rm -f "$PC_DIR/power.token"
    if vm_script tests/vm/guest/powercut-setup.sh "$PC_DIR/setup"; then
        ok "power cuts: set-up (user jitpower, $(sed -n 's/^semanage_login //p' "$PC_DIR/setup/script.log") by default)"
    else
        cat "$PC_DIR/setup/script.log"; guest_fail "power cuts: set-up" "tests/vm/guest/powercut-setup.sh failed"
        return 1
    fi
    vm_get /var/lib/jit/seal-key.initial "$PC_DIR/seal-key"
    chmod 0600 "$PC_DIR/seal-key"
    JIT_VM_POWERCUT_SEED=${JIT_VM_POWERCUT_SEED:-$(date +%s)}
    RANDOM=$JIT_VM_POWERCUT_SEED
    echo "     power cuts: seed $JIT_VM_POWERCUT_SEED (JIT_VM_POWERCUT_SEED), cache=$VM_CACHE"
}

# pc_get DIR: the log and the state as they are on the guest's disk now.
pc_get() {
    mkdir -p "$1"
    vm_get /var/log/jit/audit.log "$1/audit.log" && vm_get /var/lib/jit/log.state "$1/log.state"
}

# pc_verify DIR: jit-verify log --json with the seal key and the state; $? is its exit.
pc_verify() {
    "$BIN/jit-verify" log --json --seal-key "$PC_DIR/seal-key" --state "$1/log.state" "$1/audit.log" >"$1/verify.json" 2>"$1/verify.err"
}

pc_round() {
    local r=$1 d=$PC_DIR/round-$1 t t_boot delay deadline rc serial rep
    mkdir -p "$d"
    t=$(date +%s)
    # Two streams, detached from the ssh session (they run until the power goes).
    if ! vm_ssh jitpower "setsid -f /usr/local/sbin/jit-stream $r a </dev/null >/dev/null 2>&1; setsid -f /usr/local/sbin/jit-stream $r b </dev/null >/dev/null 2>&1"; then
        guest_fail "power cut $r: start the sudo streams" "ssh failed"; return 1
    fi
    serial=$VM_SERIAL
    deadline=$(($(date +%s) + 120))
    until tr -d '\r' <"$serial" | grep -q "^jit-mark $r-"; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            guest_fail "power cut $r: a command of the stream started" "no marker on the serial port in 120 s"; return 1
        fi
        sleep 0.2
    done
    delay=$((RANDOM % (${JIT_VM_POWERCUT_MAX_DELAY:-6} * 1000 + 1)))
    sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
    vm_kill
    tr -d '\r' <"$serial" | sed -n "s/^jit-mark \\($r-[ab]-[0-9]*\\)\$/\\1/p" >"$d/markers"
    t_boot=$(date +%s)
    vm_start
    echo "     power cut $r: killed $delay ms after the first command, $(grep -c . "$d/markers") commands had started; boot to ssh $(secs "$t_boot") s"
    if ! pc_get "$d/cut"; then guest_fail "power cut $r: copy the log out" "scp failed"; return 1; fi
    rc=0; pc_verify "$d/cut" || rc=$?
    if python3 tests/vm/check-powercut.py "$d/cut/verify.json" "$d/cut/audit.log" "$d/markers" >"$d/check" 2>&1; then
        ok "power cut $r: log verifies with the seal key, crash leftovers only; every started command's decision is in it: $(cat "$d/check")"
        PC_FOUND+=("$(sed -n 's/.*, crash leftovers \([^ ]*\), .*/\1/p' "$d/check")")
    else
        echo "     ---- the log's last lines as the cut left them"
        tail -n 5 "$d/cut/audit.log" | cut -c1-300 | sed 's/^/     /'
        guest_fail "power cut $r: the log after the cut (jit-verify exit $rc)" "$(cat "$d/check") $(head -c 400 "$d/cut/verify.err")"
    fi
    ERR=$WORK/err; set +e
    vm_ssh jitpower "JIT_TOKEN=\$(cat ~/.jit-token) sudo -n /usr/local/sbin/jit-mark $r-check" </dev/null >"$OUT" 2>"$ERR"
    RC=$?; set -e
    if [ "$RC" = 0 ]; then ok "power cut $r: sudo allowed after the reboot"
    else guest_fail "power cut $r: sudo allowed after the reboot" "exit $RC"; fi
    ERR=
    if pc_get "$d/after" && { pc_verify "$d/after"; rc=$?; [ "$rc" = 0 ]; }; then
        # The recovery records that sudo's writer added: its account of the cut.
        rep=$(python3 - "$d/cut/audit.log" "$d/after/audit.log" <<'PY'
import json, sys
def recs(p):
    out = []
    for l in open(p, encoding="utf-8", errors="replace"):
        try:
            out.append(json.loads(l))
        except ValueError:
            pass
    return out
old = {r["seq"] for r in recs(sys.argv[1]) if r.get("kind") == "recovery"}
new = [r["found"] for r in recs(sys.argv[2]) if r.get("kind") == "recovery" and r["seq"] not in old]
print(",".join(new) or "none")
PY
        )
        PC_REPAIRED+=("$rep")
        ok "power cut $r: the log verifies intact after that sudo ($(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$d/after/verify.json") records; recovery records it added: $rep)"
    else
        guest_fail "power cut $r: the log after the first sudo" "jit-verify exit ${rc:-?}: $(head -c 600 "$d/after/verify.json") $(head -c 300 "$d/after/verify.err")"
    fi
    echo "     power cut $r: round $(secs "$t") s"
}
