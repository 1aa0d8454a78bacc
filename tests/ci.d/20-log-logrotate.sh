#!/usr/bin/env bash
# Real logrotate (rename + create) rotating the audit log while a writer appends:
# the chain must verify across all segments, and a missing segment must not.
set -euo pipefail
cd "$(dirname "$0")/../.."
T="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --locked -q -p jit-core --example log_append
cargo build --release --locked -q -p jit-verify
APP="$T/release/examples/log_append"
JV="$T/release/jit-verify"
command -v logrotate >/dev/null || { echo "FAIL: logrotate not installed"; exit 1; }
command -v jq >/dev/null || { echo "FAIL: jq not installed"; exit 1; }

W=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
mkdir -p "$W/log" "$W/lib"
LOG="$W/log/audit.log"
args=(--log "$LOG" --state "$W/lib/log.state" --export "$W/lib/seal-key.initial")
cat >"$W/logrotate.conf" <<CONF
$LOG {
    rotate 20
    create 0600 root root
    nocompress
    missingok
}
CONF

"$APP" "${args[@]}" --count 1 --tag first
N=6000
"$APP" "${args[@]}" --count "$N" --tag stream &
pid=$!

wait_lines() { # wait (bounded) until the live file has at least $1 lines
    local i
    for i in $(seq 1 2000); do
        [ "$(wc -l <"$LOG" 2>/dev/null || echo 0)" -ge "$1" ] && return 0
        kill -0 "$pid" 2>/dev/null || { echo "FAIL: writer ended before rotation point"; return 1; }
        sleep 0.005
    done
    echo "FAIL: log did not grow"; return 1
}

rotations=0
for r in 1 2 3; do
    wait_lines 200
    logrotate -s "$W/logrotate.status" -f "$W/logrotate.conf"
    kill -0 "$pid" 2>/dev/null || { echo "FAIL: rotation $r was not mid-stream"; exit 1; }
    rotations=$((rotations + 1))
done
wait "$pid"; pid=""
"$APP" "${args[@]}" --count 1 --tag last

# Segments oldest first: order by the seq of each segment's first record
# (logrotate may also leave a *.backup segment if the writer re-created the file first).
mapfile -t segs < <(for f in "$W"/log/audit.log*; do echo "$(head -n1 "$f" | jq -r .seq) $f"; done | sort -n | cut -d' ' -f2)
echo "segments: ${#segs[@]}"
[ "${#segs[@]}" -ge 4 ] || { echo "FAIL: expected >= 4 segments after $rotations rotations"; exit 1; }
for f in "${segs[@]:1}"; do
    [ "$(head -n1 "$f" | jq -r .kind)" = continue ] || { echo "FAIL: $f does not start with a continue record"; exit 1; }
done
[ "$(stat -c %a "$LOG")" = 600 ] || { echo "FAIL: live log mode $(stat -c %a "$LOG")"; exit 1; }

out=$("$JV" log --json --seal-key "$W/lib/seal-key.initial" --state "$W/lib/log.state" "${segs[@]}") && rc=0 || rc=$?
[ "$rc" = 0 ] || { echo "FAIL: verify across segments exited $rc: $out"; exit 1; }
records=$(jq -r .records <<<"$out")
decisions=$(cat "${segs[@]}" | jq -r 'select(.kind=="decision") | .message' | sort -u | wc -l)
[ "$decisions" = $((N + 2)) ] || { echo "FAIL: $decisions distinct decisions, expected $((N + 2))"; exit 1; }
echo "verified $records records across ${#segs[@]} segments"

# A missing middle segment is tampering (exit 1).
unset 'segs[2]'
rc=0; "$JV" log "${segs[@]}" >/dev/null || rc=$?
[ "$rc" = 1 ] || { echo "FAIL: missing segment: exit $rc, expected 1"; exit 1; }
echo "ok: logrotate mid-stream"
