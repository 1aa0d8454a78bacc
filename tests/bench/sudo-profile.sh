#!/usr/bin/env bash
# Where pam_jit's time goes: instruction counts (valgrind callgrind; exact and
# independent of machine load) of one `sudo -n /usr/bin/true` by root through
# a stack with pam_jit (account + session) and through the same stack with
# pam_permit.so, plus pam_jit's own functions from an unstripped build.
# valgrind refuses setuid binaries, so root runs a non-setuid copy of sudo
# (euid is 0 anyway). Root's service is selected by a temporary drop-in
# /etc/sudoers.d/zz-jit-profile-root, removed on exit. The configuration is
# the shipped one in what matters here: the syslog mirror is on.
# Usage (root): bash tests/bench/sudo-profile.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || { echo "sudo-profile: needs valgrind (Debian package valgrind)" >&2; exit 2; }
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
PROF_TARGET=${PROF_TARGET:-/var/tmp/jit-profile-target}
# The module built as shipped (tools/build-release.sh), unstripped.
CARGO_PROFILE_PAM_STRIP=false CARGO_PROFILE_PAM_DEBUG=1 \
    cargo build -q --config pam_jit/cold-start.toml --profile pam --locked -p pam_jit --target-dir "$PROF_TARGET"
E2E=jit-profile
# shellcheck source=../e2e/lib.sh
. tests/e2e/lib.sh
WORK=$(mktemp -d)
cleanup() {
    syslog_stop "$ROOT/syslog.sock"
    rm -f /etc/sudoers.d/zz-jit-profile-root; e2e_teardown; rm -rf "$WORK" "$OUT" "$ERR"
}
trap cleanup EXIT
e2e_setup
# The shipped configuration: every record mirrored to syslog (a listener
# stands in for the daemon).
syslog_listen "$ROOT/syslog.sock" "$ROOT/syslog.txt"
sed -i "s|^syslog = no$|syslog = yes|" "$ROOT/pam_jit.conf"
echo "syslog_socket = $ROOT/syslog.sock" >> "$ROOT/pam_jit.conf"
install -m 0644 "$PROF_TARGET/pam/libpam_jit.so" "$ROOT/pam_jit.so"
printf 'account required %s config=%s\nsession required %s config=%s\n' \
    "$ROOT/pam_jit.so" "$ROOT/pam_jit.conf" "$ROOT/pam_jit.so" "$ROOT/pam_jit.conf" > "/etc/pam.d/$E2E"
printf 'account required pam_permit.so\nsession required pam_permit.so\n' > "/etc/pam.d/$E2E-bad"
TOKEN=$(e2e_issue --user root --host-group e2e-hosts --command /usr/bin/true --reason profile)
install -d "$WORK/bin"; install -m 0755 "$(command -v sudo)" "$WORK/bin/sudo"
for svc in "$E2E-bad" "$E2E"; do
    printf 'Defaults:root pam_service=%s, pam_login_service=%s\n' "$svc" "$svc" > /etc/sudoers.d/zz-jit-profile-root
    chmod 0440 /etc/sudoers.d/zz-jit-profile-root
    env -i PATH=/usr/bin:/bin JIT_TOKEN="$TOKEN" sudo -n /usr/bin/true   # warm-up; creates the log
    env -i PATH=/usr/bin:/bin JIT_TOKEN="$TOKEN" valgrind --tool=callgrind \
        --callgrind-out-file="$WORK/$svc.cg" "$WORK/bin/sudo" -n /usr/bin/true 2>"$WORK/$svc.err"
done
total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'; }
permit=$(total "$WORK/$E2E-bad.cg"); jit=$(total "$WORK/$E2E.cg")
echo "instructions, pam_permit stack: $permit"
echo "instructions, pam_jit stack:    $jit (ratio $(awk -v a="$jit" -v b="$permit" 'BEGIN { printf "%.3f", a / b }'))"
echo "inclusive instructions in the pam_jit stack:"
callgrind_annotate --inclusive=yes "$WORK/$E2E.cg" 2>/dev/null | grep -E \
    'dl_open_worker \[|_dl_relocate_object \[|pam_jit::module::handle \[|jit_core::token::decide \[|verify_strict \[|TrustedKeys::parse \[|jit_core::log::writer::append \[|jit_core::config::Config::load \[|jit_core::sudo::determine \[' \
    | sed -E 's/ +\(/ (/; s/\[.*\]//'
echo "dynamic loading in the pam_permit stack:"
callgrind_annotate --inclusive=yes "$WORK/$E2E-bad.cg" 2>/dev/null | grep -E 'dl_open_worker \[|_dl_relocate_object \[' | sed -E 's/\[.*\]//'
