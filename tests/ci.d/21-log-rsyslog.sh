#!/usr/bin/env bash
# A real rsyslogd (private socket, private config) receives the writer's syslog
# mirror; `jit-verify log --against-syslog` passes, then fails after the log is cut.
set -euo pipefail
cd "$(dirname "$0")/../.."
T="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --locked -q -p jit-core --example log_append
cargo build --release --locked -q -p jit-verify
APP="$T/release/examples/log_append"
JV="$T/release/jit-verify"
RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
[ -x "$RSYSLOGD" ] || { echo "FAIL: rsyslogd not installed"; exit 1; }

W=$(mktemp -d)
rpid=""
cleanup() { [ -n "$rpid" ] && kill "$rpid" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
cat >"$W/rsyslog.conf" <<CONF
global(workDirectory="$W")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$W/log.sock" CreatePath="on" RateLimit.Interval="0")
template(name="fields" type="string" string="%programname%|%procid%|%syslogfacility-text%|%syslogseverity-text%|%msg%\n")
authpriv.* action(type="omfile" file="$W/collected.log")
authpriv.* action(type="omfile" file="$W/fields.log" template="fields")
CONF
"$RSYSLOGD" -n -f "$W/rsyslog.conf" -i "$W/rsyslog.pid" &
rpid=$!
for _ in $(seq 1 1000); do [ -S "$W/log.sock" ] && break; sleep 0.01; done
[ -S "$W/log.sock" ] || { echo "FAIL: rsyslogd did not create its socket"; exit 1; }

N=40
args=(--log "$W/audit.log" --state "$W/log.state" --export "$W/seal-key.initial" --host db-01 --syslog "$W/log.sock")
"$APP" "${args[@]}" --count "$N"
want=$((N + 1))  # + the start record
for _ in $(seq 1 1000); do
    [ "$(grep -c 'jit-log v1 log=' "$W/collected.log" 2>/dev/null || echo 0)" -ge "$want" ] && break
    sleep 0.01
done
got=$(grep -c 'jit-log v1 log=' "$W/collected.log" || true)
[ "$got" -ge "$want" ] || { echo "FAIL: rsyslog received $got of $want mirror lines"; exit 1; }
# The daemon parsed the line as syslog(3)'s: program jit-log with its pid,
# facility authpriv, severity info, the anchor as the message (it adds the
# time and host itself).
grep -Eq '^jit-log\|[0-9]+\|authpriv\|info\| ?jit-log v1 log=[0-9a-f]{32} seq=0 ' "$W/fields.log" \
    || { echo "FAIL: rsyslog did not parse the mirror line as program jit-log"; head -3 "$W/fields.log"; exit 1; }

out=$("$JV" log --json --seal-key "$W/seal-key.initial" --against-syslog "$W/collected.log" "$W/audit.log") && rc=0 || rc=$?
[ "$rc" = 0 ] || { echo "FAIL: against-syslog on intact log exited $rc: $out"; exit 1; }
[ "$(jq -r .syslog_checked <<<"$out")" = true ] || { echo "FAIL: syslog not checked"; exit 1; }

# Cut the last 5 records (as root could): the chain alone still verifies, syslog does not.
head -n $((want - 5)) "$W/audit.log" >"$W/cut.log"
rc=0; "$JV" log --seal-key "$W/seal-key.initial" "$W/cut.log" >/dev/null || rc=$?
[ "$rc" = 0 ] || { echo "FAIL: the cut log should pass the chain alone (exit $rc)"; exit 1; }
rc=0; out=$("$JV" log --against-syslog "$W/collected.log" "$W/cut.log") || rc=$?
[ "$rc" = 1 ] || { echo "FAIL: truncation not caught by syslog anchor (exit $rc)"; exit 1; }
grep -q syslog_beyond_end <<<"$out" || { echo "FAIL: wrong finding: $out"; exit 1; }
echo "ok: rsyslog anchor"
