#!/usr/bin/env bash
# Runs as root inside the test VM (tests/vm/run.sh copies it in with the
# fresh jit-signer .deb in /root/debs): the signing service as packaged,
# started by the guest's real systemd with the unit's hardening.
#
#   1. install the .deb; a key and a policy with an on-call auto-approval
#      rule for the user jitload (so one call gets a token); a notify hook
#      that records each event and then fails (exit 1); enable --now
#   2. the hardening as the kernel sees it in the running service
#      (/proc/PID/status, namespaces, a read-only /etc in its mount
#      namespace), and `systemd-analyze security jit-signer.service`
#   3. a request under the failing hook: the token is issued, the hook ran,
#      its failure is in the journal, the service was not restarted
#   4. load: three clients (as jitload) asking in a loop; when each has got
#      a token, `systemctl kill -s KILL jit-signer`; systemd restarts it;
#      the clients go on until each has got two more tokens
#   5. every token id a client received is in the ledger, which jit-verify
#      verifies with its seal key and state
# Prints "KEY VALUE" lines the host checks; the clients' token ids, the
# ledger and the analysis go to $JIT_VM_OUT. No token is written anywhere:
# a client keeps only the token id from the service's answer.
set -uo pipefail
exec 2>&1
O=$JIT_VM_OUT
say() { echo "$*"; }
# wait_for SECONDS COMMAND...: poll COMMAND every 0.2 s until it succeeds; 1 on timeout.
wait_for() {
    local end=$(($(date +%s) + $1)); shift
    until "$@"; do
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.2
    done
}
prop() { systemctl show -p "$1" --value jit-signer.service; }
# The token id from a `jit-signer request --json` answer on stdin (pretty-printed JSON).
token_id() { grep -o '"token_id": *"[0-9a-f]\{32\}"' | grep -o '[0-9a-f]\{32\}'; }
# cnt FILE: its non-empty lines, 0 when it does not exist yet.
cnt() { local n; n=$(grep -c . "$1" 2>/dev/null); echo "${n:-0}"; }

# --- 1. install and configure ---------------------------------------------------
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /root/debs/jit-signer_*.deb >"$O/apt.log" 2>&1 \
    || { cat "$O/apt.log"; say "install FAIL"; exit 1; }
say "install ok"
useradd -m -s /bin/bash jitload
jit-signer keygen --kid vm-svc --out /etc/jit-signer >/dev/null
chown jit-signer:jit-signer /etc/jit-signer/vm-svc.key
echo jitload > /etc/jit-signer/oncall
cat > /etc/jit-signer/policy.toml <<'EOF'
[[rule]]
name = "vm-load"
users = ["jitload"]
host_groups = ["vm-hosts"]
commands = ["/usr/bin/true"]
max_ttl = "1h"
approvers = ["root"]
auto_approve = "vm-oncall"

[[oncall]]
name = "vm-oncall"
file = "/etc/jit-signer/oncall"
EOF
# The hook runs as the service user inside the unit's sandbox: the state
# directory is one of the few places it may write.
install -d /usr/local/lib
cat > /usr/local/lib/jit-vm-notify <<'EOF'
#!/bin/sh
# Test notify hook: append the event (one JSON line), then fail.
{ cat; echo; } >> /var/lib/jit-signer/vm-notify.jsonl
exit 1
EOF
chmod 0755 /usr/local/lib/jit-vm-notify
sed -i 's|^JIT_SIGNER_OPTS=.*|JIT_SIGNER_OPTS="--key /etc/jit-signer/vm-svc.key --notify /usr/local/lib/jit-vm-notify"|' /etc/default/jit-signer
restorecon -R /etc/jit-signer /usr/local/lib 2>/dev/null
systemctl enable --now jit-signer.service >"$O/enable.log" 2>&1 || { cat "$O/enable.log"; }
if wait_for 60 test -S /run/jit-signer/socket && [ "$(prop ActiveState)" = active ]; then
    say "started ok"
else
    say "started FAIL $(prop ActiveState) $(prop SubState)"
    systemctl status --no-pager jit-signer.service
    journalctl -b -u jit-signer --no-pager | tail -n 30
    exit 1
fi
PID=$(prop MainPID)

# --- 2. the hardening, seen from the kernel -------------------------------------
st() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$PID/status"; }
say "proc_user $(ps -o user= -p "$PID")"
say "proc_label $(ps -o label= -p "$PID")"
say "proc_nonewprivs $(st NoNewPrivs)"
say "proc_seccomp $(st Seccomp)"
say "proc_capeff $(st CapEff)"
say "proc_capbnd $(st CapBnd)"
[ "$(readlink "/proc/$PID/ns/mnt")" != "$(readlink /proc/1/ns/mnt)" ] && say "proc_mntns own" || say "proc_mntns shared"
[ "$(readlink "/proc/$PID/ns/net")" != "$(readlink /proc/1/ns/net)" ] && say "proc_netns own" || say "proc_netns shared"
# ProtectSystem=strict: even root is refused a write to /etc in its mount namespace.
if nsenter -t "$PID" -m -- sh -c 'touch /etc/jit-vm-probe' >"$O/probe.err" 2>&1; then
    say "etc_in_ns writable"; rm -f /etc/jit-vm-probe
else
    grep -q 'Read-only file system' "$O/probe.err" && say "etc_in_ns read-only" || say "etc_in_ns $(head -c 200 "$O/probe.err")"
fi
systemd-analyze security --no-pager jit-signer.service >"$O/security.txt" 2>&1
say "security_rc $?"

# --- 3. a request under the failing hook ------------------------------------------
ask() {
    runuser -u jitload -- jit-signer request --host-group vm-hosts --command /usr/bin/true \
        --reason "VM suite" --ttl 10m --wait=60s --json 2>>"$O/ask.err" \
        | token_id
}
tid=$(ask)
[ -n "$tid" ] && say "hook_request ok $tid" || say "hook_request FAIL $(tail -n 3 "$O/ask.err")"
hook_ran() { [ -n "$tid" ] && grep -q "\"event\":\"auto_approved\".*\"token_id\":\"$tid\"" /var/lib/jit-signer/vm-notify.jsonl 2>/dev/null; }
hook_logged() { journalctl -b -u jit-signer --no-pager -o cat | grep -q "notify /usr/local/lib/jit-vm-notify for auto_approved of .*exit status: 1"; }
wait_for 30 hook_ran && say "hook_ran yes" || say "hook_ran no"
wait_for 30 hook_logged && say "hook_logged yes" || say "hook_logged no"
say "hook_after restarts=$(prop NRestarts) pid_same=$([ "$(prop MainPID)" = "$PID" ] && echo yes || echo no) state=$(prop ActiveState)"

# --- 4. load, SIGKILL, restart ----------------------------------------------------
D=/home/jitload/load
runuser -u jitload -- mkdir -m 0700 "$D"
cat > "$D/client.sh" <<'EOF'
#!/bin/bash
# One client: ask, keep the token id of each token received (never the
# token), count the failed calls by exit code; until $D/stop exists.
n=$1; d=$2
while [ ! -e "$d/stop" ]; do
    out=$(jit-signer request --host-group vm-hosts --command /usr/bin/true --reason "VM load" \
        --ttl 10m --wait=60s --json 2>>"$d/err-$n"); rc=$?
    if [ "$rc" = 0 ]; then
        printf '%s\n' "$out" | grep -o '"token_id": *"[0-9a-f]\{32\}"' | grep -o '[0-9a-f]\{32\}' >>"$d/seen-$n"
    else
        echo "$rc" >>"$d/fail-$n"
        sleep 0.1   # the client's retry pause while the service is down
    fi
done
EOF
chmod 0755 "$D/client.sh"
count() { cat "$D"/seen-* 2>/dev/null | grep -c . ; }
each_at_least() { local n; for n in 1 2 3; do [ "$(cnt "$D/seen-$n")" -ge "$1" ] || return 1; done; }
pids=()
for n in 1 2 3; do
    runuser -u jitload -- "$D/client.sh" "$n" "$D" &
    pids+=($!)
done
if ! wait_for 180 each_at_least 1; then
    say "load FAIL no tokens before the kill: $(count) $(cat "$D"/err-* 2>/dev/null | tail -n 3)"
fi
before=$(count)
declare -A at_kill
for n in 1 2 3; do at_kill[$n]=$(cnt "$D/seen-$n"); done
t0=$(date +%s%N)
systemctl kill -s KILL jit-signer.service
restarted() {
    [ "$(prop NRestarts)" -ge 1 ] && [ "$(prop ActiveState)" = active ] \
        && [ "$(prop MainPID)" != "$PID" ] && [ "$(prop MainPID)" != 0 ] && [ -S /run/jit-signer/socket ]
}
if wait_for 60 restarted; then
    say "restart ok $(( ($(date +%s%N) - t0) / 1000000 ))"
else
    say "restart FAIL restarts=$(prop NRestarts) state=$(prop ActiveState)/$(prop SubState)"
fi
say "restarts $(prop NRestarts)"
more_after_kill() {
    local n
    for n in 1 2 3; do
        [ "$(cnt "$D/seen-$n")" -ge $((at_kill[$n] + 2)) ] || return 1
    done
}
wait_for 180 more_after_kill && say "after_kill ok" || say "after_kill FAIL $(count) tokens, $before at the kill"
touch "$D/stop"
for p in "${pids[@]}"; do wait "$p"; done
say "tokens $before $(count)"
say "failed_calls $(cat "$D"/fail-* 2>/dev/null | grep -c .) (exit codes, count: $(cat "$D"/fail-* 2>/dev/null | sort | uniq -c | awk '{ printf "%s %s; ", $2, $1 }'))"
# Every token id a client received: the loads' and the hook check's.
{ cat "$D"/seen-*; [ -n "$tid" ] && echo "$tid"; } > "$O/seen.txt"
cat "$D"/err-* > "$O/client-err.txt" 2>/dev/null

# --- 5. the ledger -----------------------------------------------------------------
L=/var/lib/jit-signer/ledger.log
cp "$L" "$O/ledger.log"
jit-verify log --seal-key /var/lib/jit-signer/ledger.seal-key.initial --state /var/lib/jit-signer/ledger.state "$L" >"$O/verify.txt" 2>&1
say "ledger_verify_rc $?"
journalctl -b -u jit-signer --no-pager >"$O/journal.txt"
say "hook_failures_logged $(grep -c 'notify /usr/local/lib/jit-vm-notify .*exit status: 1' "$O/journal.txt")"
say "notify_events $(grep -c '"event"' /var/lib/jit-signer/vm-notify.jsonl)"
say "final $(prop ActiveState) $(prop NRestarts)"
# AVC denials of the service or its hook this boot (the journal holds the
# kernel's audit messages; comm is the program's name).
journalctl -b -o cat --no-pager _TRANSPORT=audit | grep -F 'avc:  denied' | grep -E 'comm="(jit-signer|jit-vm-notify|sh|cat)"' >"$O/avc.txt"
say "avc $(grep -c . "$O/avc.txt")"
