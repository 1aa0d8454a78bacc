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
# Hostile and long records: a user name with syslog-looking structure,
# another mirror marker, a DEL (sent as rec64=), non-ASCII; an argument that
# makes the record too long for a syslog line (sent as rec-omitted=).
"$APP" "${args[@]}" --user "$(printf 'x jit-log[1]: jit-log v1 log=%s seq=0 rec={} \x7f é' "$(printf 'f%.0s' {1..32})")"
"$APP" "${args[@]}" --arg "$(head -c 9000 /dev/zero | tr '\0' a)"
N=$((N + 2))
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
grep -Eq '^jit-log\|[0-9]+\|authpriv\|info\| ?jit-log v1 log=[0-9a-f]{32} seq=0 hash=[0-9a-f]{64} kind=start rec=\{' "$W/fields.log" \
    || { echo "FAIL: rsyslog did not parse the mirror line as program jit-log"; head -3 "$W/fields.log"; exit 1; }
# Each record reached the file whole: after ` rec=` the line as the log holds it.
python3 - "$W/collected.log" "$W/audit.log" <<'PY' || exit 1
import sys
import base64, re
col = []
for l in open(sys.argv[1], encoding="utf-8"):
    l = l.rstrip("\n")
    p = l.find("jit-log v1 log=")
    if p < 0:
        continue
    m = re.match(r"((?:\S+ )*?)(rec=|rec64=|rec-omitted=)", l[p:])
    tail = l[p + m.end():]
    col.append(tail if m[2] == "rec=" else base64.b64decode(tail).decode() if m[2] == "rec64=" else ("omitted", int(tail)))
log = [l.rstrip("\n") for l in open(sys.argv[2], encoding="utf-8")]
if [c for c in col if isinstance(c, tuple)] != [("omitted", len(log[-1].encode()))] or "rec64=" not in open(sys.argv[1]).read():
    print("FAIL: expected the long record omitted and the DEL record in base64"); sys.exit(1)
col[-1] = log[-1]
if col != log:
    print(f"FAIL: collected records differ from the log ({len(col)} vs {len(log)})")
    for a, b in zip(col, log):
        if a != b:
            print(" syslog:", a[:300]); print(" log:   ", b[:300]); break
    sys.exit(1)
PY

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
# A record whose hash is kept but whose line differs (its seal rewritten, as
# root could without the seal key): the chain alone passes, the whole copy
# in syslog does not.
python3 - "$W/audit.log" "$W/reseal.log" <<'PY'
import sys
ls = open(sys.argv[1], "rb").read().split(b"\n")[:-1]
l = ls[3]
ls[3] = l[:-3] + (b"0" if l[-3:-2] != b"0" else b"1") + l[-2:]
open(sys.argv[2], "wb").write(b"\n".join(ls) + b"\n")
PY
rc=0; "$JV" log "$W/reseal.log" >/dev/null || rc=$?
[ "$rc" = 0 ] || { echo "FAIL: the re-sealed log should pass the plain chain (exit $rc)"; exit 1; }
rc=0; out=$("$JV" log --against-syslog "$W/collected.log" "$W/reseal.log") || rc=$?
[ "$rc" = 1 ] && grep -q syslog_mismatch <<<"$out" || { echo "FAIL: a changed record line not caught by its whole syslog copy (exit $rc): $out"; exit 1; }
echo "ok: rsyslog anchor, whole records"
