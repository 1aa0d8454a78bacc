#!/usr/bin/env bash
# Fleet forwarding through two real rsyslogd: a host daemon with the shipped
# forwarding snippet (installed by `jit-ctl enable --forward`) relays the
# writer's mirror lines over RELP to a collector daemon with the shipped
# collector configuration. The collector's per-host, per-log file holds every
# record whole, identical to the host log's line; a 30 s collector outage
# loses nothing (with the host daemon restarted meanwhile, at most the one
# line in flight, docs/fleet.md); jit-verify fleet checks the collector's
# tree against the host's log.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/e2e/tally.sh
T="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --locked -q -p jit-core --example log_append || exit 1
cargo build --release --locked -q -p jit-verify || exit 1
APP="$T/release/examples/log_append"
JV="$T/release/jit-verify"
RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
[ -x "$RSYSLOGD" ] || { echo "FAIL: rsyslogd not installed"; exit 1; }
for m in imrelp omrelp; do
    compgen -G "/usr/lib*/rsyslog/$m.so" >/dev/null || compgen -G "/usr/lib/*/rsyslog/$m.so" >/dev/null \
        || { echo "FAIL: rsyslog's $m module is missing (package rsyslog-relp)"; exit 1; }
done

W=$(mktemp -d)
hpid=""; cpid=""
stop() {  # stop PID: TERM, then wait (bounded) until it is gone
    [ -n "$1" ] || return 0
    kill "$1" 2>/dev/null
    for _ in $(seq 1 500); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.01; done
    kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null
}
cleanup() { stop "$hpid"; stop "$cpid"; rm -rf "$W"; }
trap cleanup EXIT

# A free port on 127.0.0.1.
port=""
for p in $(shuf -i 20000-60000 -n 20); do
    ss -Hltn "sport = :$p" | grep -q . || { port=$p; break; }
done
[ -n "$port" ] || { echo "FAIL: no free port"; exit 1; }

# The collector: the shipped configuration, its port and output directory
# moved into the test's directory.
mkdir -p "$W/c" "$W/h" "$W/h.d" "$W/fleet"
{
    echo "global(workDirectory=\"$W/c\")"
    sed -e "s|port=\"2514\"|port=\"$port\" address=\"127.0.0.1\"|" \
        -e "s|/var/log/jit-fleet/|$W/fleet/|" packaging/rsyslog/jit-collector.conf
} >"$W/collector.conf"
start_collector() {
    "$RSYSLOGD" -n -f "$W/collector.conf" -i "$W/c/rsyslog.pid" 2>>"$W/c/stderr" &
    cpid=$!
    for _ in $(seq 1 1000); do ss -Hltn "sport = :$port" | grep -q . && return 0; sleep 0.01; done
    echo "FAIL: the collector does not listen on $port: $(cat "$W/c/stderr")"; exit 1
}
# The host: a private socket, its own log file, and the snippet jit-ctl
# installs.
cat >"$W/host.conf" <<CONF
global(workDirectory="$W/h")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$W/log.sock" CreatePath="on" RateLimit.Interval="0")
authpriv.* action(type="omfile" file="$W/h/local.log")
include(file="$W/h.d/*.conf")
CONF
start_host() {
    rm -f "$W/log.sock"
    "$RSYSLOGD" -n -f "$W/host.conf" -i "$W/h/rsyslog.pid" 2>>"$W/h/stderr" &
    hpid=$!
    for _ in $(seq 1 1000); do [ -S "$W/log.sock" ] && return 0; sleep 0.01; done
    echo "FAIL: the host daemon did not create its socket: $(cat "$W/h/stderr")"; exit 1
}
ctl() {
    JIT_CTL_FORWARD_SOURCE=packaging/rsyslog/jit-forward.conf \
    JIT_CTL_FORWARD_SNIPPET="$W/h.d/60-jit-forward.conf" \
    JIT_CTL_RSYSLOG_CONFIG="$W/host.conf" JIT_CTL_RSYSLOG_RESTART=: \
        sh packaging/sbin/jit-ctl "$@" >"$W/ctl.out" 2>&1
}

ctl enable --forward "127.0.0.1:$port" && grep -q "target=\"127.0.0.1\" port=\"$port\" tls=\"off\"" "$W/h.d/60-jit-forward.conf" \
    && ok "jit-ctl enable --forward installs the snippet (rsyslogd -N1 checked)" \
    || bad "jit-ctl enable --forward" "$(cat "$W/ctl.out")"
cp "$W/h.d/60-jit-forward.conf" "$W/first.conf"
ctl enable --forward "127.0.0.1:$port" && cmp -s "$W/first.conf" "$W/h.d/60-jit-forward.conf" && grep -q "already forwarding" "$W/ctl.out" \
    && ok "jit-ctl enable --forward again: idempotent" || bad "jit-ctl enable --forward again" "$(cat "$W/ctl.out")"
ctl enable --forward '127.0.0.1"; x:1' && bad "jit-ctl refuses a hostile collector name" "$(cat "$W/ctl.out")" \
    || { cmp -s "$W/first.conf" "$W/h.d/60-jit-forward.conf" && ok "jit-ctl refuses a hostile collector name, snippet unchanged" \
         || bad "jit-ctl hostile name changed the snippet"; }
[ -z "$(ls -A "$W/h.d" | grep -v '^60-jit-forward.conf$')" ] && ok "no temporary files left in the snippet directory" \
    || bad "temporary files left: $(ls -A "$W/h.d")"

start_collector
start_host

args=(--log "$W/audit.log" --state "$W/log.state" --export "$W/seal-key.initial" --host db-01 --syslog "$W/log.sock")
"$APP" "${args[@]}" --count 20 || exit 1
"$APP" "${args[@]}" --user "$(printf 'x jit-log[1]: jit-log v1 log=%s seq=0 rec={} \x7f é' "$(printf 'f%.0s' {1..32})")" || exit 1
# Just under the limit (a message of about 6.9 KiB): it must pass both
# daemons whole at rsyslog's default maxMessageSize.
"$APP" "${args[@]}" --arg "$(head -c 6400 /dev/zero | tr '\0' b)" || exit 1
"$APP" "${args[@]}" --arg "$(head -c 9000 /dev/zero | tr '\0' a)" || exit 1
log_id=$(head -n 1 "$W/audit.log" | jq -r .log_id)

# Wait (bounded) until the collector's file for this log holds N lines.
wait_lines() {
    local f
    for _ in $(seq 1 1500); do
        f=$(ls "$W"/fleet/*/"$log_id.log" 2>/dev/null | head -n 1)
        [ -n "$f" ] && [ "$(wc -l <"$f")" -ge "$1" ] && return 0
        sleep 0.02
    done
    return 1
}
# The collector's records equal the log's lines (rec= exactly, rec64=
# decoded, rec-omitted= only for the long one, its length right); duplicates
# (RELP may resend on reconnect) must be identical copies.
same_records() {
    python3 - "$1" "$W/audit.log" <<'PY'
import base64, re, sys
got = {}
for l in open(sys.argv[1], encoding="utf-8"):
    l = l.rstrip("\n")
    p = l.find("jit-log v1 log=")
    m = re.match(r"jit-log v1 log=\S+ seq=(\d+) (?:\S+ )*?(rec=|rec64=|rec-omitted=)", l[p:])
    if p < 0 or not m:
        sys.exit(f"unparsed collector line: {l[:200]}")
    tail = l[p + m.end():]
    r = tail if m[2] == "rec=" else base64.b64decode(tail).decode() if m[2] == "rec64=" else ("omitted", int(tail))
    seq = int(m[1])
    if seq in got and got[seq] != r:
        sys.exit(f"seq {seq} twice, differently")
    got[seq] = r
log = [l.rstrip("\n") for l in open(sys.argv[2], encoding="utf-8")]
for i, l in enumerate(log):
    r = got.get(i)
    if r == ("omitted", len(l.encode())) and len(l) > 7000:
        continue
    if r != l:
        sys.exit(f"seq {i}: collector has {str(r)[:200]!r}, log has {l[:200]!r}")
if len(got) != len(log):
    sys.exit(f"collector has {len(got)} records, log {len(log)}")
PY
}

n=$(wc -l <"$W/audit.log")
if wait_lines "$n"; then ok "collector received all $n records"; else bad "collector received $(cat "$W"/fleet/*/*.log 2>/dev/null | wc -l) of $n"; fi
f=$(ls "$W"/fleet/*/"$log_id.log" 2>/dev/null | head -n 1)
[ -n "$f" ] && [ "$(basename "$(dirname "$f")")" = "$(ls "$W/fleet")" ] \
    && ok "one file per host and log: fleet/$(basename "$(dirname "$f")")/$log_id.log" || bad "collector file layout: $(find "$W/fleet")"
why=$(same_records "$f" 2>&1) && ok "each collected record is whole and identical to the log's line" || bad "collected records" "$why"
rc=0; out=$("$JV" log --seal-key "$W/seal-key.initial" --against-syslog "$f" "$W/audit.log" 2>&1) || rc=$?
[ "$rc" = 0 ] && ok "jit-verify log --against-syslog the collector's file: intact" || bad "against-syslog collector file (exit $rc)" "$out"

# Collector down for 30 s, records written meanwhile (some right away, some
# after the host daemon's retry interval of 5 s has passed several times);
# collector back: nothing lost (RELP keeps what it sent unacknowledged, the
# queue holds the rest). The 30 s are the outage being tested, not a wait for
# something to happen.
stop "$cpid"; cpid=""
down_at=$(date +%s)
"$APP" "${args[@]}" --count 5 --tag outage || exit 1
while [ $(( $(date +%s) - down_at )) -lt 20 ]; do sleep 1; done
"$APP" "${args[@]}" --count 5 --tag outage-late || exit 1
while [ $(( $(date +%s) - down_at )) -lt 30 ]; do sleep 1; done
start_collector
"$APP" "${args[@]}" --count 2 --tag after || exit 1
n=$(wc -l <"$W/audit.log")
if wait_lines "$n"; then ok "after a 30 s collector outage the collector has all $n records"; else bad "after the outage: $(wc -l <"$f") of $n"; fi
why=$(same_records "$f" 2>&1) && ok "nothing lost or changed across the collector outage" || bad "records across the outage" "$why"

# The host daemon restarted during an outage: the queue is saved to disk and
# sent when both are back. The line RELP had already sent into the broken
# connection when the outage began is held in librelp's memory, not in the
# queue, and a restart loses it (docs/fleet.md): at most that one line.
stop "$cpid"; cpid=""
"$APP" "${args[@]}" --count 10 --tag outage2 || exit 1
stop "$hpid"; hpid=""
compgen -G "$W/h/jit-forward*" >/dev/null && ok "host daemon saved its queue on shutdown" || bad "no queue file in $W/h: $(ls "$W/h")"
start_collector
start_host
"$APP" "${args[@]}" --count 2 --tag after2 || exit 1
n=$(wc -l <"$W/audit.log")
if wait_lines "$((n - 1))"; then ok "after a host restart during an outage the collector has at least $((n - 1)) of $n records"; else bad "host restart during an outage: $(wc -l <"$f") of $n"; fi
why=$(same_records "$f" 2>&1) && echo "note: host restart during the outage lost nothing" \
    || { grep -q "collector has 'None'" <<<"$why" && [ "$(wc -l <"$f")" -ge $((n - 1)) ] \
         && echo "note: host restart during the outage: $why (the in-flight line, docs/fleet.md)" \
         || bad "records across a host restart" "$why"; }

# jit-verify fleet over the collector's tree, with the host's own log.
# Everything the collector holds verifies and matches the host's log (a line
# the host restart lost above is a gap the host's log fills): exit 0.
# The collector holds the host's last record before the checks start.
for _ in $(seq 1 1500); do grep -q " seq=$((n - 1)) " "$f" && break; sleep 0.02; done
fleet() {  # fleet ARGS...: run jit-verify fleet --json, keep rc and JSON
    RC=0; "$JV" fleet --json "$@" >"$W/fleet.json" 2>"$W/fleet.err" || RC=$?
}
fj() { jq -e "$@" "$W/fleet.json" >/dev/null; }
fleet --seal-key "$W/seal-key.initial" --max-silence 1h "$W/fleet" "$W/audit.log"
[ "$RC" = 0 ] && fj '.json_version == 1 and (.logs | length) == 1 and .logs[0].forward_integrity_checked
    and .logs[0].host_checked and .logs[0].records >= '"$((n - 1))"' and .logs[0].silent == false' \
    && ok "jit-verify fleet: the collector's copy and the host's log verify and agree (exit 0)" \
    || bad "jit-verify fleet on the real tree (exit $RC)" "$(head -c 1500 "$W/fleet.json") $(cat "$W/fleet.err")"
why=$(jq -r '.logs[0].gaps[] | select(.host_has != true) | "\(.first)..\(.last)"' "$W/fleet.json" 2>&1)
[ -z "$why" ] && ok "jit-verify fleet: every gap in the collector's copy is in the host's log" || bad "gaps the host does not fill" "$why"

# Duplicates from a retry (RELP resends unacknowledged lines after a
# reconnect: the collector writes them again): counted, not tampering.
cp -a "$W/fleet" "$W/fleet-dup"
fd=$(ls "$W"/fleet-dup/*/"$log_id.log")
head -n 5 "$fd" | tail -n 3 >>"$fd"
fleet --seal-key "$W/seal-key.initial" "$W/fleet-dup" "$W/audit.log"
[ "$RC" = 0 ] && fj '.logs[0].duplicates >= 3 and .logs[0].outcome == "intact"' \
    && ok "jit-verify fleet: lines resent by RELP are duplicates, not tampering (exit 0)" \
    || bad "fleet with resent lines (exit $RC)" "$(head -c 1500 "$W/fleet.json")"

# A record rewritten on the host after it was forwarded: tampered, naming the seq.
sed '5s/"user":"ci"/"user":"cx"/' "$W/audit.log" >"$W/rewritten.log"
fleet "$W/fleet" "$W/rewritten.log"
[ "$RC" = 1 ] && fj '[.logs[0].findings[] | select(.kind == "host_mismatch" and .class == "tampered" and .seq == 4)] | length >= 1' \
    && ok "jit-verify fleet: a record rewritten on the host after forwarding is TAMPERED (seq 4, exit 1)" \
    || bad "fleet with a rewritten host record (exit $RC)" "$(head -c 1500 "$W/fleet.json")"

# The host's log cut after forwarding: tampered, naming host and seq.
head -n "$((n - 2))" "$W/audit.log" >"$W/cut.log"
fleet "$W/fleet" "$W/cut.log"
[ "$RC" = 1 ] && fj '[.logs[0].findings[] | select(.kind == "host_cut" and .class == "tampered" and (.seq == '"$((n - 2))"' or .seq == '"$((n - 1))"'))] | length == 2' \
    && fj '[.logs[0].findings[] | select(.kind == "host_cut") | .detail | test("^host ")] | all' \
    && ok "jit-verify fleet: the host's log cut after forwarding is TAMPERED (seqs $((n - 2)) and $((n - 1)), exit 1)" \
    || bad "fleet with a cut host log (exit $RC)" "$(head -c 1500 "$W/fleet.json")"

# The host stops sending: its daemon stopped, records still written on the
# host. Two hours later (--now) with --max-silence 1h it is flagged silent:
# exit 4, not tampering; the records the collector lacks are in its log.
stop "$hpid"; hpid=""
"$APP" --log "$W/audit.log" --state "$W/log.state" --export "$W/seal-key.initial" --host db-01 --count 3 --tag unsent || exit 1
fleet --seal-key "$W/seal-key.initial" --max-silence 1h --now "@$(( $(date +%s) + 7200 ))" "$W/fleet" "$W/audit.log"
[ "$RC" = 4 ] && fj '.logs[0].silent and .hosts[0].silent and .logs[0].outcome == "attention"
    and ([.logs[0].findings[] | select(.kind == "silent" and .class == "warning")] | length == 1)
    and ([.logs[0].findings[] | select(.class == "tampered")] | length == 0)' \
    && ok "jit-verify fleet: a host that stopped sending is flagged silent (exit 4, not tampered)" \
    || bad "fleet with a silent host (exit $RC)" "$(head -c 1500 "$W/fleet.json")"
fleet --seal-key "$W/seal-key.initial" --max-silence 1h "$W/fleet" "$W/audit.log"
[ "$RC" = 0 ] && ok "jit-verify fleet: the same host is not silent within --max-silence (exit 0)" \
    || bad "fleet within --max-silence (exit $RC)" "$(head -c 1500 "$W/fleet.json")"

ctl disable --forward && [ ! -e "$W/h.d/60-jit-forward.conf" ] && [ -z "$(ls -A "$W/h.d")" ] \
    && ok "jit-ctl disable --forward removes the snippet" || bad "jit-ctl disable --forward" "$(cat "$W/ctl.out")"

tally_end "log forward"
