#!/usr/bin/env bash
# SIEM export end to end (docs/export.md): records written by the real sudo
# through pam_jit (allowed, denied, break-glass, session close, a rotation)
# and by the real jit-signer (issued, refused, revoked) are exported with
# `jit-verify export` as OCSF and as ECS, and every line is checked by the
# independent validator (tests/interop/validate_siem.py) against the vendored
# published schemas (tests/interop/schemas/). A synthetic fleet of 40 hosts'
# central copies is checked by fleet, merged by query and exported the same
# way. Fails loudly when python3, PyYAML or the schema files are missing.
# Run as: flock /run/jit-e2e.lock bash tests/ci.d/24-export-siem.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
# shellcheck source=../e2e/lib.sh
. tests/e2e/lib.sh
command -v python3 >/dev/null || e2e_die "python3 is not installed: the export cannot be validated"
python3 -c 'import yaml' 2>/dev/null || e2e_die "PyYAML is not installed (Debian package python3-yaml)"
command -v jq >/dev/null || e2e_die "jq is not installed (Debian package jq)"
VALIDATE=tests/interop/validate_siem.py
for f in "$VALIDATE" tests/interop/schemas/ocsf-1.8.0/dictionary.json tests/interop/schemas/ecs-8.17.0/fields.csv; do
    [ -f "$f" ] || e2e_die "$f is missing: the export cannot be validated"
done
W=$(mktemp -d)
trap 'e2e_teardown; rm -rf "$W"; rm -f "$OUT" "$ERR"' EXIT
e2e_setup

# shellcheck source=../e2e/tally.sh
. tests/e2e/tally.sh
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name" "$*"; fi; }

V="$BIN/jit-verify"
LOG=$ROOT/log/audit.log
HG=(--host-group e2e-hosts)

# --- the signer: two grants, a refusal, a revocation -------------------------
TOK=$(e2e_issue --user "$UA" "${HG[@]}" --command /usr/bin/true --reason "siem export" --ticket SIEM-1)
BG=$(e2e_issue --user "$UA" "${HG[@]}" --command /usr/bin/true --break-glass --reason "INC-9 on-call")
rc=0; e2e_issue --user "$UA" "${HG[@]}" --command /usr/bin/true --ttl 25h --reason "too long" \
    >/dev/null 2>&1 || rc=$?
check "refused request recorded (exit 2)" test "$rc" = 2
BG_ID=$("$BIN/jit-signer" inspect --json "$BG" | jq -r .claims.cti)
"$BIN/jit-signer" revoke --key "$ROOT/signer/e2e-k1.key" --state "$ROOT/signer/revocation" \
    --token-id "$BG_ID" --reason "break-glass over" >/dev/null

# --- the host: allowed, denied, break-glass, then a rotation -----------------
as_user "$UA" JIT_TOKEN="$TOK" -- sudo -n /usr/bin/true
check "sudo with the token: allowed" test "$RC" = 0
as_user "$UA" JIT_TOKEN="$TOK" -- sudo -n /usr/bin/id
check "sudo of an ungranted command: denied" test "$RC" != 0
as_user "$UA" JIT_TOKEN="$BG" -- sudo -n /usr/bin/true
check "break-glass use: allowed" test "$RC" = 0
mv "$LOG" "$LOG.1"
as_user "$UA" -- sudo -n /usr/bin/true
check "sudo without a token after the rotation: denied" test "$RC" != 0

# --- export and validate ------------------------------------------------------
for fmt in ocsf ecs; do
    out=$W/$fmt.ndjson
    rc=0; "$V" export --format "$fmt" --output "$out" "$LOG" "$LOG.1" --ledger "$E2E_LEDGER" \
        --seal-key "$ROOT/state/seal-key.initial" --seal-key "${E2E_LEDGER%.log}.seal-key.initial" 2>"$W/err" || rc=$?
    check "export --format $fmt: exit 0" test "$rc" = 0
    check "export --format $fmt: forward integrity checked for the log and the ledger" \
        bash -c '! grep -q "NOT checked" "$1"' _ "$W/err"
    check "export --format $fmt: one line per event" test "$(wc -l <"$out")" -ge 12
    if python3 "$VALIDATE" "$fmt" "$out" >"$W/v.txt" 2>&1; then
        ok "$fmt: every line valid against the published schema ($(tail -n1 "$W/v.txt"))"
    else
        bad "$fmt: validation" "$(head -n 20 "$W/v.txt")"
    fi
    check "$fmt: no token text in the export" bash -c '! grep -qF -- "$1" "$3" && ! grep -qF -- "$2" "$3"' _ "$TOK" "$BG" "$out"
done
O=$W/ocsf.ndjson
kinds=$(jq -r '"\(.type_uid)/\(.status_id // 0)"' "$O" | sort -u | tr '\n' ' ')
for want in 100701/1 300207/2 300202/1 100806/0 100805/0 300501/1 300501/2 300502/1; do
    check "ocsf: $want present" grep -qw -- "$want" <<<"$kinds"
done
check "ocsf: the break-glass use is severity High" \
    test "$(jq -r 'select(.type_uid==100701 and .unmapped.jit.break_glass) | .severity_id' "$O")" = 4
check "ocsf: the launch names the invoking and the target user" \
    test "$(jq -r 'select(.type_uid==100701) | "\(.actor.user.name) \(.process.user.name)"' "$O" | sort -u)" = "$UA root"
check "ocsf: the revocation names the break-glass grant's owner" \
    test "$(jq -r 'select(.type_uid==300502) | "\(.user.name) \(.unmapped.jit.revoked.token_id)"' "$O")" = "$UA $BG_ID"
E=$W/ecs.ndjson
check "ecs: the denial has user, effective user, command line, host, outcome" \
    test "$(jq -r 'select(.event.action=="sudo-denied" and .process.executable=="/usr/bin/id") |
        "\(.user.name) \(.user.effective.name) \(.process.command_line) \(.host.name) \(.event.outcome)"' "$E")" \
    = "$UA root /usr/bin/id $(jq -r 'select(.kind=="start") | .host' "$LOG.1") failure"

# --- a synthetic fleet: 40 hosts' central copies (the real writer's records in
# the collector's line format, tests/bench's generator) ------------------------
cargo build -q --release --locked -p jit-core --example bench_fleet
GEN=${CARGO_TARGET_DIR:-$PWD/target}/release/examples/bench_fleet
"$GEN" gen "$W/syn" 40 25 >/dev/null
jqe() { jq "$@" >/dev/null; }
keys=(); for k in "$W"/syn/keys/*.seal-key; do keys+=(--seal-key "$k"); done
rc=0; "$V" fleet --json "${keys[@]}" "$W/syn/central" >"$W/syn.json" 2>"$W/err" || rc=$?
check "synthetic fleet: 40 logs intact with their seal keys (exit 0)" \
    jqe -e '(.logs | length) == 40 and ([.logs[] | select(.outcome == "intact" and .forward_integrity_checked and .records == 25)] | length) == 40' "$W/syn.json"
check "synthetic fleet: fleet exit 0" test "$rc" = 0
rc=0; "$V" query --json "$W/syn/central" >"$W/syn.q" 2>"$W/err" || rc=$?
check "synthetic fleet: query answers 1000 records (exit 0)" test "$rc:$(wc -l <"$W/syn.q")" = "0:1000"
check "synthetic fleet: query merges the 40 logs by time, then host, then seq" \
    jqe -s -e '[.[] | [.time, .host, .seq]] as $k | $k == ($k | sort) and ([.[].host] | unique | length) == 40' "$W/syn.q"
rc=0; "$V" export --format ocsf "${keys[@]}" --output "$W/syn.ocsf" "$W/syn/central" 2>"$W/err" || rc=$?
check "synthetic fleet: export --format ocsf with every seal key (exit 0)" test "$rc" = 0
if python3 "$VALIDATE" ocsf "$W/syn.ocsf" >"$W/v.txt" 2>&1; then
    ok "synthetic fleet: every OCSF line valid ($(tail -n1 "$W/v.txt"))"
else
    bad "synthetic fleet: OCSF validation" "$(head -n 20 "$W/v.txt")"
fi
check "synthetic fleet: one launch per allowed decision" \
    test "$(jq -r 'select(.type_uid == 100701) | .device.hostname' "$W/syn.ocsf" | wc -l)" = 960

# --- fail closed ----------------------------------------------------------------
cp "$LOG.1" "$W/edited.log"
sed -i "2s/\"$UA\"/\"${UA%a}x\"/" "$W/edited.log"
rc=0; "$V" export --format ocsf --output "$W/no.ndjson" "$W/edited.log" "$LOG" 2>"$W/err" || rc=$?
check "an edited log: exit 1" test "$rc" = 1
check "an edited log: nothing written" test ! -e "$W/no.ndjson"
check "an edited log: says it does not verify" grep -q "does not verify" "$W/err"

tally_end "siem export e2e"
