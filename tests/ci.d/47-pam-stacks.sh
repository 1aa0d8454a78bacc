#!/usr/bin/env bash
# The packaged PAM stacks (packaging/pam.d/sudo-jit for Debian, sudo-jit.rpm
# for RHEL) must reach pam_jit's account check for every user, local ones
# included. On RHEL 9 the default authselect profiles end system-auth's
# account section with "sufficient pam_localuser.so" (and "sufficient
# pam_usertype.so issystem"): pulled in with "include", a success there ends
# the whole account stack before pam_jit, and every command of a local user
# is then refused at session (no decision was made). Each stack runs here
# under the real libpam, given with pam_start_confdir (a private directory:
# nothing under /etc is read or changed), with pam_jit pointed at a missing
# configuration: reaching it means a denial naming the configuration.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# shellcheck source=../e2e/tally.sh
. tests/e2e/tally.sh
SO=${PAM_SO:-$(dirname "$BIN")/pam/libpam_jit.so}
[ -f "$SO" ] || { echo "47-pam-stacks: $SO missing (build first)" >&2; exit 1; }
D=$WORK/pam.d
mkdir -p "$D"

# RHEL 9's system-auth as authselect's sssd profile writes it, without the
# pam_sss lines (no SSSD here); its account section is the point.
cat > "$D/system-auth" <<'EOF'
auth        required      pam_env.so
auth        sufficient    pam_unix.so nullok
auth        required      pam_deny.so
account     required      pam_unix.so
account     sufficient    pam_localuser.so
account     sufficient    pam_usertype.so issystem
account     required      pam_permit.so
password    sufficient    pam_unix.so yescrypt shadow use_authtok
password    required      pam_deny.so
session     optional      pam_keyinit.so revoke
session     required      pam_limits.so
session     required      pam_unix.so
EOF
# Debian's own files, copied.
for f in common-auth common-account common-password common-session-noninteractive; do
    cp "/etc/pam.d/$f" "$D/$f"
done
# The packaged stacks, with pam_jit's path made absolute (and a missing
# configuration) and include targets made absolute: libpam resolves them
# outside the confdir.
sed -E "s|pam_jit\.so|$SO config=$WORK/missing.conf|; s#^(auth|account|password|session)( +)(include|substack)( +)([a-z-]+)#\1\2\3\4$D/\5#" \
    packaging/pam.d/sudo-jit.rpm > "$D/sudo-jit-rpm"
sed -E "s|pam_jit\.so|$SO config=$WORK/missing.conf|; s#^@include ([a-z-]+)#@include $D/\1#" \
    packaging/pam.d/sudo-jit > "$D/sudo-jit-deb"
grep -q "$SO" "$D/sudo-jit-rpm" && grep -q "$SO" "$D/sudo-jit-deb" || { echo "47-pam-stacks: stack rewrite failed" >&2; exit 1; }

set +e
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=tests/e2e /usr/bin/python3 - "$D" > "$WORK/out" 2> "$WORK/err" <<'PY'
import sys
import pam_harness
for service in ("sudo-jit-rpm", "sudo-jit-deb"):
    h = pam_harness.start(service, "root", sys.argv[1])
    pam_harness.said.clear()
    rc = h.call("pam_acct_mgmt")
    print(f"{service} {h.strerror(rc)} | {' | '.join(pam_harness.said)}", flush=True)
    h.end()
PY
rc=$?
set -e
cat "$WORK/out"
[ "$rc" = 0 ] || bad "libpam harness" "python exited $rc: $(head -c 400 "$WORK/err")"
for s in rpm deb; do
    line=$(grep "^sudo-jit-$s " "$WORK/out" || true)
    case "$line" in
        *"Permission denied | jit: denied: configuration unusable"*)
            ok "$s stack: pam_jit decides the account check of a local user (root)" ;;
        *) bad "$s stack" "pam_jit's account check was not reached: $line" ;;
    esac
done

echo
tally_end 47-pam-stacks
