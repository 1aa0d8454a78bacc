#!/usr/bin/env bash
# Fleet forwarding through two real rsyslogd: a host daemon with the shipped
# forwarding snippet (installed by `jit-ctl enable --forward`) relays the
# writer's mirror lines over RELP to a collector daemon with the shipped
# collector configuration. The collector's per-host, per-log file holds every
# record whole, identical to the host log's line; a 30 s collector outage
# loses nothing (with the host daemon restarted meanwhile, at most the one
# line in flight, docs/fleet.md); jit-verify fleet checks the collector's
# tree against the host's log. Then the real sudo through pam_jit sends its
# mirror lines through the same two daemons, and the auditor's questions are
# answered from the collector's tree: fleet, query (merged by time, the same
# answer as from the host's log) and export (validated against the published
# schemas).
# Run as: flock /run/jit-e2e.lock bash tests/ci.d/23-log-forward.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/e2e/tally.sh
T="${CARGO_TARGET_DIR:-$PWD/target}"
BIN=${BIN:-$T/release}
# shellcheck source=../e2e/lib.sh
. tests/e2e/lib.sh
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
cleanup() { stop "$hpid"; stop "$cpid"; e2e_teardown; rm -rf "$W"; rm -f "$OUT" "$ERR"; }
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
same_records() {  # same_records COLLECTOR_FILE [HOST_LOG]
    python3 - "$1" "${2:-$W/audit.log}" <<'PY'
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

# --- The real sudo through pam_jit, as host web-07, its mirror lines
# through the same two daemons (the host daemon back). Then the auditor's
# questions from the collector's tree alone.
start_host
e2e_setup
e2e_write_conf "$ROOT/pam_jit.conf" "syslog_socket = $W/log.sock" "hostname = web-07"
sed -i 's/^syslog = no$/syslog = yes/' "$ROOT/pam_jit.conf"
sudo_as() { as_user "$@"; set +e; }  # lib.sh's as_user leaves errexit on
TOK=$(e2e_issue --user "$UA" --host-group e2e-hosts --command /usr/bin/true --reason "fleet audit" --ticket FLEET-1)
BG=$(e2e_issue --user "$UA" --host-group e2e-hosts --command /usr/bin/true --break-glass --reason "INC-7 on-call")
sudo_as "$UA" JIT_TOKEN="$TOK" -- sudo -n /usr/bin/true; r1=$RC
sudo_as "$UA" JIT_TOKEN="$TOK" -- sudo -n /usr/bin/id; r2=$RC
sudo_as "$UA" JIT_TOKEN="$BG" -- sudo -n /usr/bin/true; r3=$RC
[ "$r1" = 0 ] && [ "$r2" != 0 ] && [ "$r3" = 0 ] && ok "real sudo on web-07: allowed, denied, break-glass allowed" \
    || bad "real sudo on web-07: $r1 $r2 $r3" "$(cat "$ERR")"
SLOG=$ROOT/log/audit.log
sid=$(head -n 1 "$SLOG" | jq -r .log_id)
sn=$(wc -l <"$SLOG")
sf=""
for _ in $(seq 1 1500); do
    sf=$(ls "$W"/fleet/*/"$sid.log" 2>/dev/null | head -n 1)
    [ -n "$sf" ] && [ "$(wc -l <"$sf")" -ge "$sn" ] && break
    sleep 0.02
done
why=$(same_records "$sf" "$SLOG" 2>&1) && ok "sudo's $sn records reached the collector whole, one file for web-07's log" \
    || bad "sudo's records at the collector ($sf)" "$why"
fleet --seal-key "$W/seal-key.initial" --seal-key "$ROOT/state/seal-key.initial" "$W/fleet" "$W/audit.log" "$SLOG"
[ "$RC" = 0 ] && fj '(.logs | length) == 2 and ([.logs[] | select(.log_id == "'"$sid"'" and .forward_integrity_checked and .host_checked and .outcome == "intact")] | length) == 1' \
    && ok "jit-verify fleet: both hosts' logs intact from the collector's tree, web-07's sealed and compared with its log" \
    || bad "fleet with the sudo log (exit $RC)" "$(head -c 1500 "$W/fleet.json") $(cat "$W/fleet.err")"
# Who ran what as root on web-07: the same answer from the collector's copy
# as from the host's own log, line for line.
q() { RC=0; "$JV" query --json "$@" >"$W/q.out" 2>"$W/q.err" || RC=$?; }
q --host web-07 "$SLOG"; cp "$W/q.out" "$W/q.host"
q --host web-07 "$W/fleet"
[ "$RC" = 0 ] && [ -s "$W/q.out" ] && cmp -s "$W/q.out" "$W/q.host" \
    && ok "jit-verify query --host web-07 over the collector's tree: the host log's answer, line for line" \
    || bad "query from the collector (exit $RC)" "$(cat "$W/q.err") $(diff "$W/q.host" "$W/q.out" | head -n 10)"
q --user "$UA" --decision deny --run-as root "$W/fleet"
[ "$RC" = 0 ] && [ "$(jq -r '"\(.host) \(.user) \(.command) \(.allowed)"' "$W/q.out")" = "web-07 $UA /usr/bin/id false" ] \
    && ok "jit-verify query --user --decision deny over the collector: the one denial" \
    || bad "query a denial from the collector (exit $RC)" "$(cat "$W/q.out" "$W/q.err")"
q "$W/fleet"
[ "$RC" = 0 ] && jq -s -e '(map(.host) | unique) == ["db-01", "web-07"] and ([.[].time] == ([.[].time] | sort))' "$W/q.out" >/dev/null \
    && ok "jit-verify query over the whole tree: both hosts, merged by time" \
    || bad "query over the whole tree (exit $RC)" "$(head -c 600 "$W/q.out") $(cat "$W/q.err")"
# A central line rewritten: query refuses (exit 1) and says where.
cp -a "$W/fleet" "$W/fleet-edit"
ef=$(ls "$W"/fleet-edit/*/"$sid.log")
sed -i "2s/\"user\":\"$UA\"/\"user\":\"${UA%a}x\"/" "$ef"
q "$W/fleet-edit"
[ "$RC" = 1 ] && [ ! -s "$W/q.out" ] && grep -q "TAMPERED \[bad_hash\].*$sid.log:2: seq 1" "$W/q.err" \
    && ok "jit-verify query refuses a rewritten central copy (exit 1, names the file, line and seq)" \
    || bad "query over an edited central copy (exit $RC)" "$(head -c 600 "$W/q.out") $(cat "$W/q.err")"
# Export from the collector's tree, validated against the published schemas.
if python3 -c 'import yaml' 2>/dev/null; then
    for fmt in ocsf ecs; do
        rc=0; "$JV" export --format "$fmt" --seal-key "$ROOT/state/seal-key.initial" --output "$W/$fmt.ndjson" "$W/fleet" 2>"$W/x.err" || rc=$?
        if [ "$rc" = 0 ] && python3 tests/interop/validate_siem.py "$fmt" "$W/$fmt.ndjson" >"$W/v.txt" 2>&1; then
            ok "export --format $fmt over the collector's tree: every line valid ($(tail -n 1 "$W/v.txt"))"
        else
            bad "export --format $fmt over the collector (exit $rc)" "$(cat "$W/x.err") $(head -n 20 "$W/v.txt")"
        fi
    done
    jq -e -s '[.[] | select(.type_uid == 100701 and .device.hostname == "web-07")] | length == 2' "$W/ocsf.ndjson" >/dev/null \
        && ok "ocsf from the collector: web-07's two launches" \
        || bad "ocsf launches of web-07" "$(jq -c 'select(.type_uid == 100701) | [.device.hostname, .actor.user.name]' "$W/ocsf.ndjson" | head)"
else
    bad "PyYAML is not installed (Debian package python3-yaml): the export cannot be validated"
fi

ctl disable --forward && [ ! -e "$W/h.d/60-jit-forward.conf" ] && [ -z "$(ls -A "$W/h.d")" ] \
    && ok "jit-ctl disable --forward removes the snippet" || bad "jit-ctl disable --forward" "$(cat "$W/ctl.out")"

tally_end "log forward"
