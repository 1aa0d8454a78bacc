#!/usr/bin/env bash
# The VM suite, in one command (as root, on Debian 12):
#
#     bash tests/vm/run.sh
#
# Builds the packages (packaging/build.sh, as 60-packages.sh does), gets the
# Debian 12 VM image (tests/vm/image.sh: built once, cached under
# /var/cache/jit-ci/vm and rebuilt when its recipe changes), boots it once
# under QEMU with SELinux enforcing (then once per power cut), installs the
# fresh .debs in it and checks,
# each printed ok/FAIL:
#   boot      getenforce says Enforcing; the package's postinst loaded the
#             module; the test user's ssh session is staff_u:staff_r:staff_t
#   sudo      the real sudo with pam_jit by a confined user (staff_sudo_t):
#             allowed with a token, denied without, for a wrong command, a
#             use-limited token's second use, a revoked user; a break-glass use
#   labels    the log, state, lock, seal-key export, replay cache, revocation
#             state and configuration have the module's file contexts
#   recovery  a torn tail left in the log; the next sudo repairs it (recovery
#             record found:"torn_tail") under enforcing
#   ssh-cert  jit's OpenSSH certificates with the guest's sshd (ssh.service,
#             tests/vm/guest/ssh-cert.sh): jit-ctl ssh-principals and enable
#             --ssh (sshd -T, reload), the certificate logs in as a user
#             without authorized_keys; revoked by key id in the next signed
#             list, jit-ctl ssh-krl: sshd refuses it (revoked by file); the
#             contexts of /etc/ssh/jit/* (the KRL restorecon'd), no AVC
#             denial involving sshd, jit's files or the case's commands
#   avc       ausearch -m avc: no denial involving sudo's domains or jit's types
#   journald  journalctl -t jit-log has every record's mirror line at
#             authpriv.info (break-glass at emerg); jit-verify log
#             --against-syslog accepts the journal's text export
#   signer    the jit-signer .deb's unit under the guest's systemd
#             (tests/vm/guest/signer.sh): the hardening as the kernel applies
#             it, systemd-analyze security, a failing notify hook, SIGKILL
#             mid-load restarted by systemd, every token a client received in
#             the ledger, which verifies
#   power     JIT_VM_POWERCUT_ROUNDS (default 10) real power cuts: QEMU
#             SIGKILLed at a random moment of a sudo stream, the same disk
#             booted again; the log verifies with the seal key (crash
#             leftovers only), every command seen to start has its allowed
#             decision, the next sudo is allowed (tests/vm/powercut.sh)
# The guest's output is shown when a check fails. Everything is in a temp dir
# (removed on exit) apart from the image cache. docs/vm.md has the details.
set -euo pipefail
cd "$(dirname "$0")/../.."
T0=$(date +%s)
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
[ "$(id -u)" = 0 ] || { echo "vm: must run as root" >&2; exit 2; }
[ -x "$BIN/jit-signer" ] || { echo "vm: $BIN/jit-signer missing: build the workspace first" >&2; exit 2; }

WORK=$(mktemp -d /var/tmp/jit-vm.XXXXXX)
# shellcheck source=lib.sh
. tests/vm/lib.sh
cleanup() {
    vm_kill
    rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
# shellcheck source=../e2e/tally.sh
. tests/e2e/tally.sh
OUT=$WORK/out; ERR=; RC=0
secs() { echo $(($(date +%s) - $1)); }

# --- packages and image -------------------------------------------------------
t=$(date +%s)
bash packaging/build.sh "$WORK/pkgs" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; vm_die "packaging/build.sh failed"; }
DEB=$(ls "$WORK"/pkgs/libpam-jit_*_amd64.deb)
SDEB=$(ls "$WORK"/pkgs/jit-signer_*_amd64.deb)
echo "     packages: $(secs "$t") s"
t=$(date +%s)
vm_init "$WORK"
echo "     image: $(secs "$t") s ($VM_IMG)"

# The signer stays on the host: its key never enters the guest.
mkdir -p "$WORK/signer" "$WORK/in"
"$BIN/jit-signer" keygen --kid vm-k1 --out "$WORK/signer" >/dev/null
issue() { "$BIN/jit-signer" issue --ledger "$WORK/signer/ledger.log" --key "$WORK/signer/vm-k1.key" \
    --host-group vm-hosts --reason "VM suite" "$@"; }
"$BIN/jit-signer" revoke --ledger "$WORK/signer/ledger.log" --key "$WORK/signer/vm-k1.key" \
    --state "$WORK/signer/revocation" --user jitmallory --reason "VM suite" >/dev/null
cp "$WORK/signer/vm-k1.pub" "$WORK/in/signer.pub"
cp "$WORK/signer/revocation/revocation.list" "$WORK/in/revocation.list"

# --- boot ---------------------------------------------------------------------
t=$(date +%s)
vm_start
echo "     boot to ssh: $(secs "$t") s ($VM_ACCEL_USED)"

# guest_fail NAME WHY: a failed check with the guest's side shown.
guest_fail() {
    bad "$1" "$2"
    echo "     ---- guest journal, last 40 lines"
    vm_ssh root 'journalctl -b --no-pager -n 40' 2>&1 | sed 's/^/     /' || true
}

t=$(date +%s)
vm_ssh root 'mkdir -p /root/debs /root/in'
vm_put "$DEB" /root/debs/
vm_put "$WORK/in/signer.pub" "$WORK/in/revocation.list" /root/in/
if vm_script tests/vm/guest/setup.sh "$WORK/setup"; then :; else
    cat "$WORK/setup/script.log"; guest_fail "guest set-up" "tests/vm/guest/setup.sh failed"
fi
echo "     set-up in the guest: $(secs "$t") s"
fact() { sed -n "s|^$1 ||p" "$WORK/setup/script.log" | head -n 1; }
[ "$(fact getenforce)" = Enforcing ] && ok "getenforce: Enforcing" || bad "getenforce" "$(fact getenforce)"
echo "     guest: kernel $(fact kernel), $(fact sudo), systemd state $(fact system)"
[ "$(fact install)" = ok ] && ok "apt-get install of the fresh .deb" || bad "install" "$(cat "$WORK/setup/script.log")"
[ "$(fact semodule)" = jit ] && ok "postinst loaded the SELinux module jit" || bad "semodule -l" "$(fact semodule)"
[ "$(fact enable)" = ok ] && ok "jit-ctl enable" || bad "jit-ctl enable" "$(cat "$WORK/setup/script.log")"
for f in "/etc/security/pam_jit.conf jit_conf_t" "/etc/security/jit/trusted-keys jit_keys_t" \
    "/etc/security/jit/revocation/list jit_revocation_t"; do
    set -- $f
    got=$(fact "ctx $1")
    [ "$got" = "system_u:object_r:$2:s0" ] && ok "context of $1: $2" || bad "context of $1" "$got"
done

# as_alice CMD: the test user's command (one shell string) over ssh; $RC, $OUT, $ERR.
as_alice() { ERR=$WORK/err; set +e; vm_ssh jitalice "$1" </dev/null >"$OUT" 2>"$ERR"; RC=$?; set -e; }
# expect NAME WANT_RC [STDERR_SUBSTRING]: the last as_alice's result.
expect() { expect_exit "$@"; ERR=; }
# last_rec FIELD: FIELD of the log's last record.
last_rec() {
    vm_ssh root 'tail -n 1 /var/log/jit/audit.log' | python3 -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$1"
}

as_alice 'id -Z'
grep -qx 'staff_u:staff_r:staff_t:s0-s0:c0.c1023' "$OUT" && ok "test user logs in as staff_u:staff_r:staff_t" \
    || bad "test user's context" "$(cat "$OUT" "$ERR")"

tok=$(issue --user jitalice --command /usr/bin/true)
as_alice "JIT_TOKEN=$tok sudo -n /usr/bin/true"
expect "sudo allowed with a token (enforcing)" 0
as_alice 'sudo -n /usr/bin/true'
expect "sudo denied without a token" 1 "jit: denied: no JIT token"
as_alice "JIT_TOKEN=$tok sudo -n /usr/bin/id"
expect "sudo denied for a command the token does not grant" 1 "command not granted: /usr/bin/id"
tok=$(issue --user jitalice --command '/usr/bin/id -Z')
as_alice "JIT_TOKEN=$tok sudo -n /usr/bin/id -Z"
expect "sudo allowed: id -Z" 0
echo "     the command sudo ran had context: $(cat "$OUT")"
tok=$(issue --user jitalice --command /usr/bin/true --max-uses 1)
as_alice "JIT_TOKEN=$tok sudo -n /usr/bin/true"
expect "use-limited token: first use" 0
as_alice "JIT_TOKEN=$tok sudo -n /usr/bin/true"
expect "use-limited token: second use refused (replay cache)" 1 "already used 1 of 1 times"
tok=$(issue --user jitmallory --command /usr/bin/true)
ERR=$WORK/err; set +e; vm_ssh jitmallory "JIT_TOKEN=$tok sudo -n /usr/bin/true" </dev/null >"$OUT" 2>"$ERR"; RC=$?; set -e
expect "revoked user denied (revocation list)" 1 "revoked"
tok=$(issue --user jitalice --command /usr/bin/true --break-glass)
as_alice "JIT_TOKEN=$tok sudo -n /usr/bin/true"
expect "break-glass use allowed" 0 "BREAK-GLASS"

# --- file contexts of what the writer created inside sudo -------------------------
vm_ssh root 'stat -c "%n %C" /var/log/jit /var/log/jit/audit.log /var/lib/jit /var/lib/jit/log.state /var/lib/jit/log.state.lock /var/lib/jit/seal-key.initial /var/lib/jit/replay /var/lib/jit/revocation-state' >"$WORK/ctx" 2>&1 || true
for f in "/var/log/jit/audit.log jit_log_t" "/var/lib/jit/log.state jit_state_t" "/var/lib/jit/log.state.lock jit_state_t" \
    "/var/lib/jit/seal-key.initial jit_state_t" "/var/lib/jit/replay jit_replay_t" "/var/lib/jit/revocation-state jit_revocation_state_t"; do
    set -- $f
    got=$(sed -n "s|^$1 ||p" "$WORK/ctx")
    # The SELinux user of a new file is its creator's (staff_u here): only
    # the type and role are the policy's.
    case "$got" in
        *:object_r:"$2":s0) ok "context of $1: $got" ;;
        *) bad "context of $1" "${got:-$(cat "$WORK/ctx")}" ;;
    esac
done

# --- crash recovery under enforcing ---------------------------------------------------
# A torn tail as a crash in the middle of a write leaves it: part of a
# record, no newline. The next sudo must cut it and record that.
vm_ssh root 'printf "{\"seq\":99,\"kind\":\"decis" >> /var/log/jit/audit.log'
tok=$(issue --user jitalice --command /usr/bin/true)
as_alice "JIT_TOKEN=$tok sudo -n /usr/bin/true"
expect "sudo after a torn tail: allowed (enforcing)" 0
found=$(vm_ssh root 'grep -c "\"found\":\"torn_tail\"" /var/log/jit/audit.log' || true)
[ "$found" = 1 ] && ok "the torn tail was cut and a recovery record written" \
    || guest_fail "torn tail recovery record" "found $found recovery records"

# --- SSH certificates with the guest's sshd (tests/vm/guest/ssh-cert.sh) ----------------
# The SSH CA, like the signer, stays on the build machine: the guest gets its
# public key. jitcert has no authorized_keys: only the certificate logs in.
t=$(date +%s)
mkdir -p "$WORK/sshc"
"$BIN/jit-signer" keygen --kid vm-ssh-ca --out "$WORK/signer" >/dev/null
"$BIN/jit-signer" export-pub --ssh --key "$WORK/signer/vm-ssh-ca.key" >"$WORK/in/user-ca.pub"
ssh-keygen -q -t ed25519 -N '' -C jit-vm-cert -f "$WORK/sshc/id"
issue --ssh-ca "$WORK/signer/vm-ssh-ca.key" --ssh-key "$WORK/sshc/id.pub" --user jitcert --json \
    >"$WORK/sshc/issue.json" 2>"$WORK/sshc/issue.err" || vm_die "jit-signer issue --ssh-key failed: $(cat "$WORK/sshc/issue.err")"
KID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ssh_certificate"]["key_id"])' "$WORK/sshc/issue.json")
# ssh_phase PHASE: the guest script's phase; its lines in $WORK/ssh-PHASE/script.log.
ssh_phase() {
    if vm_script tests/vm/guest/ssh-cert.sh "$WORK/ssh-$1" "$1"; then :; else
        cat "$WORK/ssh-$1/script.log"; guest_fail "ssh-cert: guest script ($1)" "tests/vm/guest/ssh-cert.sh $1 failed"
    fi
}
# cfact PHASE KEY: that phase's fact; ssh_bad PHASE NAME WHY: a failure with the phase's output.
cfact() { sed -n "s|^$2 ||p" "$WORK/ssh-$1/script.log" | head -n 1; }
ssh_bad() { bad "$2" "$3"; echo "     ---- tests/vm/guest/ssh-cert.sh $1"; sed 's/^/     /' "$WORK/ssh-$1/script.log"; }
# as_cert CMD: jitcert's command over a fresh ssh connection with the key and its certificate.
as_cert() { ERR=$WORK/err; set +e; vm_ssh_key "$WORK/sshc/id" jitcert "$1" </dev/null >"$OUT" 2>"$ERR"; RC=$?; set -e; }
vm_put "$WORK/in/user-ca.pub" /root/in/
ssh_phase enable
[ "$(cfact enable authorized_keys)" = none ] && [ "$(cfact enable principals)" = "jitcert@vm-hosts " ] \
    && ok "ssh-cert: jit-ctl ssh-principals jitcert wrote jitcert@vm-hosts (pam_jit.conf's host group); no authorized_keys" \
    || ssh_bad enable "ssh-cert: principals" "authorized_keys $(cfact enable authorized_keys), principals $(cfact enable principals)"
[ "$(cfact enable enable_ssh)" = ok ] && [ "$(cfact enable reloaded)" = yes ] && [ "$(cfact enable ssh_service)" = "active pid_same yes" ] \
    && ok "ssh-cert: jit-ctl enable --ssh (KRL, snippet, sshd -t and -T): ssh.service reloaded by systemd, still active" \
    || ssh_bad enable "ssh-cert: jit-ctl enable --ssh" "enable $(cfact enable enable_ssh), reloaded $(cfact enable reloaded), $(cfact enable ssh_service)"
[ "$(cfact enable "sshd_T trustedusercakeys")" = /etc/ssh/jit/user-ca.pub ] \
    && [ "$(cfact enable "sshd_T authorizedprincipalsfile")" = /etc/ssh/jit/principals/%u ] \
    && [ "$(cfact enable "sshd_T revokedkeys")" = /etc/ssh/jit/revoked.krl ] \
    && ok "ssh-cert: sshd -T for jitcert: jit's TrustedUserCAKeys, AuthorizedPrincipalsFile and RevokedKeys" \
    || ssh_bad enable "ssh-cert: sshd -T" "$(grep '^sshd_T' "$WORK/ssh-enable/script.log" | tr '\n' ' ')"
# What jit-ctl wrote: the type the policy gives the path (matchpathcon), one
# sshd_t reads (etc_t); the KRL, restorecon'd, the policy's context exactly.
for f in /etc/ssh/jit /etc/ssh/jit/user-ca.pub /etc/ssh/jit/principals /etc/ssh/jit/principals/jitcert \
    /etc/ssh/jit/revoked.krl /etc/ssh/sshd_config.d/jit.conf; do
    got=$(cfact enable "ctx $f"); want=$(cfact enable "want $f")
    case "$f:$got" in
        /etc/ssh/jit/revoked.krl:"$want") ok "ssh-cert: context of $f: $got (restorecon)" ;;
        /etc/ssh/jit/revoked.krl:*) ssh_bad enable "ssh-cert: context of $f" "$got, policy: $want" ;;
        *:*:object_r:etc_t:s0) [ "${want#*:object_r:}" = etc_t:s0 ] && ok "ssh-cert: context of $f: $got" \
            || ssh_bad enable "ssh-cert: context of $f" "$got, policy: $want" ;;
        *) ssh_bad enable "ssh-cert: context of $f" "$got, policy: $want" ;;
    esac
done
as_cert 'id -un'
if [ "$RC" = 0 ] && [ "$(cat "$OUT")" = jitcert ]; then ok "ssh-cert: jitcert logs in to the guest's sshd with the certificate"
else bad "ssh-cert: jitcert logs in with the certificate" "exit status $RC, wanted 0 and id -un jitcert"; fi
ERR=

# Revoked by key id (the grant's id), in the next signed list.
"$BIN/jit-signer" revoke --ledger "$WORK/signer/ledger.log" --key "$WORK/signer/vm-k1.key" \
    --state "$WORK/signer/revocation" --ssh-key-id "$KID" --reason "VM suite" >/dev/null
cp "$WORK/signer/revocation/revocation.list" "$WORK/in/revocation-ssh.list"
vm_put "$WORK/in/revocation-ssh.list" "$WORK/sshc/id-cert.pub" /root/in/
ssh_phase revoke
case "$(cfact revoke accepted)" in
    *"Accepted publickey for jitcert "*" ED25519-CERT "*" ID $KID "*) ok "ssh-cert: sshd logged the login with the certificate (key id $KID)" ;;
    *) ssh_bad revoke "ssh-cert: sshd's line for the login" "$(cfact revoke accepted)" ;;
esac
# avc_ok PHASE NAME: ausearch ran; no denial involving sshd, jit's files or the case's commands.
avc_ok() {
    local rc; rc=$(cfact "$1" "avc_$2_rc")
    if { [ "$rc" = 0 ] || [ "$rc" = 1 ]; } && [ "$(cfact "$1" "avc_$2_ours")" = 0 ]; then
        ok "ssh-cert: no AVC denial involving sshd, jit's files or the case's commands $3 (ausearch and journal; $(cfact "$1" "avc_$2_other") others)"
    else
        ssh_bad "$1" "ssh-cert: AVC denials $3" "ausearch rc $rc: $(cat "$WORK/ssh-$1/avc-$2-ours.txt" "$WORK/ssh-$1/avc-$2.err" 2>/dev/null)"
    fi
}
avc_ok revoke enable "from enable --ssh to the login"
read -r v1 v2 <<<"$(cfact revoke krl_version)"
[ "$(cfact revoke ssh_krl)" = ok ] && [ "${v2:-0}" -gt "${v1:-0}" ] \
    && ok "ssh-cert: jit-ctl ssh-krl after the new list: KRL from list version $v2 (was $v1)" \
    || ssh_bad revoke "ssh-cert: jit-ctl ssh-krl" "$(cfact revoke ssh_krl), versions $v1 -> $v2"
list=$(cfact revoke list)
[ "$(cfact revoke "ctx /etc/ssh/jit/revoked.krl")" = system_u:object_r:etc_t:s0 ] \
    && [ "$(cfact revoke "want /etc/ssh/jit/revoked.krl")" = system_u:object_r:etc_t:s0 ] \
    && ok "ssh-cert: restorecon gave the new KRL system_u:object_r:etc_t:s0" \
    || ssh_bad revoke "ssh-cert: context of the new KRL" "$(cfact revoke "ctx /etc/ssh/jit/revoked.krl"), policy $(cfact revoke "want /etc/ssh/jit/revoked.krl")"
case "$(cfact revoke "ctx $list"):$(cfact revoke ctx_state)" in
    *:object_r:jit_revocation_t:s0:*:object_r:jit_revocation_state_t:s0)
        ok "ssh-cert: the list $list is jit_revocation_t, the revocation state jit-krl rewrote jit_revocation_state_t" ;;
    *) ssh_bad revoke "ssh-cert: contexts of the list and the revocation state" "$(cfact revoke "ctx $list"), $(cfact revoke ctx_state)" ;;
esac
case "$(cfact revoke keygen_Q)" in
    [1-9]*REVOKED*) ok "ssh-cert: ssh-keygen -Q: the KRL revokes the certificate" ;;
    *) ssh_bad revoke "ssh-cert: ssh-keygen -Q" "$(cfact revoke keygen_Q)" ;;
esac
as_cert 'id -un'
expect "ssh-cert: the revoked certificate's login is refused" 255 "Permission denied"
ssh_phase final
case "$(cfact final refused)" in
    *"ED25519-CERT "*" revoked by file /etc/ssh/jit/revoked.krl"*)
        [ "$(cfact final accepted_after)" = 0 ] && ok "ssh-cert: sshd refused it: $(cfact final refused | sed 's/.*\(revoked by file\)/\1/')" \
            || ssh_bad final "ssh-cert: sshd accepted jitcert after the revocation" "$(cfact final accepted_after)" ;;
    *) ssh_bad final "ssh-cert: sshd's line for the refusal" "$(cfact final refused)" ;;
esac
avc_ok final revoke "from the new list to the refused login"
echo "     ssh certificates in the guest: $(secs "$t") s"

# --- evidence from the guest ---------------------------------------------------------
t=$(date +%s)
if vm_script tests/vm/guest/collect.sh "$WORK/res"; then :; else
    cat "$WORK/res/script.log"; bad "guest collect script" "failed"
fi
echo "     collecting in the guest: $(secs "$t") s"
# AVC denials. A denial that involves jit's types, or sudo's domains, fails
# the run, with one exception that is not jit's: pam_limits (in Debian's own
# /etc/pam.d/sudo and in sudo-jit) reads /proc/1/limits and the policy does
# not let sudo's domains search init's /proc entry. Others this boot
# (systemd-tmpfiles, udevd, ... : docs/vm.md) are listed, not failed.
touch "$WORK/res/avc.txt" "$WORK/res/avc-journal.txt"
ar=$(sed -n 's/^ausearch_rc //p' "$WORK/res/script.log")
n_all=$(grep -c '^type=AVC' "$WORK/res/avc.txt" || true)
n_j=$(wc -l < "$WORK/res/avc-journal.txt")
# (The journal also holds the denials from before auditd started.)
if [ "$(sed -n 's/^auditd //p' "$WORK/res/script.log")" = active ] && { [ "$ar" = 0 ] || [ "$ar" = 1 ]; }; then
    ok "auditd active; ausearch -m AVC ran ($n_all denials; the journal has $n_j, boot included)"
else
    bad "ausearch" "auditd $(sed -n 's/^auditd //p' "$WORK/res/script.log"), ausearch rc $ar, $n_all denials, journal $n_j: $(cat "$WORK/res/ausearch.err")"
fi
LIMITS='{ search } for .* comm="sudo" name="1" .* tcontext=system_u:system_r:init_t:s0 tclass=dir'
ours=$({ grep '^type=AVC' "$WORK/res/avc.txt"; cat "$WORK/res/avc-journal.txt"; } | grep -E 'sudo_t|jit_' | grep -Ev "$LIMITS" || true)
if [ -z "$ours" ]; then ok "no AVC denial involving jit's types or sudo's domains (other than pam_limits' /proc/1)"
else bad "AVC denials on jit's paths" "$ours"; fi
[ "$n_all" != 0 ] && { echo "     AVC denials this boot (count, permissions, command, source -> target class):"; grep '^type=AVC' "$WORK/res/avc.txt" \
    | sed -n 's/.*avc:  denied  \({[^}]*}\) for .* comm=\("[^"]*"\).* scontext=\([^ ]*\) tcontext=\([^ ]*\) tclass=\([^ ]*\).*/\1 \2 \3 -> \4 \5/p' | sort | uniq -c | sed 's/^/     /'; }

# journald: every record's mirror line at the documented priority.
if python3 tests/vm/check-journal.py "$WORK/res/audit.log" "$WORK/res/journal.json" >"$OUT" 2>&1; then
    ok "journalctl -t jit-log: $(cat "$OUT")"
else bad "journalctl -t jit-log: every record's mirror line at its priority" "$(cat "$OUT")"; fi
rc=$(sed -n 's/^verify_rc //p' "$WORK/res/script.log")
[ "$rc" = 0 ] && ok "jit-verify log --against-syslog (journalctl -o short-iso export): intact" \
    || bad "jit-verify log --against-syslog on the journal export" "rc=$rc: $(cat "$WORK/res/verify.out" 2>/dev/null)"
rc=$(sed -n 's/^verify_cut_rc //p' "$WORK/res/script.log")
[ "$rc" = 1 ] && ok "jit-verify --against-syslog: a log cut after its last mirrored record is caught (tampered)" \
    || bad "jit-verify --against-syslog on a cut log" "rc=$rc: $(cat "$WORK/res/verify-cut.out" 2>/dev/null)"

# --- the signing service under the guest's systemd ---------------------------------
t=$(date +%s)
vm_put "$SDEB" /root/debs/
if vm_script tests/vm/guest/signer.sh "$WORK/svc"; then :; else
    cat "$WORK/svc/script.log"; guest_fail "signer: guest script" "tests/vm/guest/signer.sh failed"
fi
echo "     signing service in the guest: $(secs "$t") s"
sfact() { sed -n "s|^$1 ||p" "$WORK/svc/script.log" | head -n 1; }
svc_bad() { bad "$1" "$2"; echo "     ---- tests/vm/guest/signer.sh"; sed 's/^/     /' "$WORK/svc/script.log"; }
[ "$(sfact install)" = ok ] && [ "$(sfact started)" = ok ] \
    && ok "signer: the .deb's unit started by systemd (enable --now), socket up" \
    || svc_bad "signer: install and start" "install $(sfact install), started $(sfact started)"
[ "$(sfact proc_user)" = jit-signer ] && [ "$(sfact proc_nonewprivs)" = 1 ] && [ "$(sfact proc_seccomp)" = 2 ] \
    && [ "$(sfact proc_capeff)" = 0000000000000000 ] && [ "$(sfact proc_capbnd)" = 0000000000000000 ] \
    && ok "signer: the running service is user jit-signer, no_new_privs, seccomp filter, no capabilities (effective and bounding)" \
    || svc_bad "signer: process hardening" "user $(sfact proc_user) nnp $(sfact proc_nonewprivs) seccomp $(sfact proc_seccomp) capeff $(sfact proc_capeff) capbnd $(sfact proc_capbnd)"
[ "$(sfact proc_mntns)" = own ] && [ "$(sfact proc_netns)" = own ] && [ "$(sfact etc_in_ns)" = read-only ] \
    && ok "signer: own mount and network namespaces; /etc read-only in it, even for root (ProtectSystem=strict)" \
    || svc_bad "signer: namespaces" "mnt $(sfact proc_mntns) net $(sfact proc_netns) /etc $(sfact etc_in_ns)"
echo "     signer: SELinux context of the service: $(sfact proc_label)"
exposure=$(sed -n 's/.*Overall exposure level for jit-signer.service: \([0-9.]*\).*/\1/p' "$WORK/svc/security.txt" 2>/dev/null)
if [ -n "$exposure" ] && awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
    ok "signer: systemd-analyze security (the running unit): exposure $exposure (at most 2.0)"
else svc_bad "signer: systemd-analyze security" "exposure '$exposure': $(tail -n 3 "$WORK/svc/security.txt" 2>/dev/null)"; fi
echo "     signer: systemd-analyze security, settings it marks exposed:"
grep -F '✗' "$WORK/svc/security.txt" 2>/dev/null | sed 's/   */  /g; s/^/     /'
read -r h1 _ <<<"$(sfact hook_request)"
[ "$h1" = ok ] && [ "$(sfact hook_ran)" = yes ] && [ "$(sfact hook_logged)" = yes ] \
    && [ "$(sfact hook_after)" = "restarts=0 pid_same=yes state=active" ] \
    && ok "signer: a failing notify hook (exit 1): token issued, hook ran in the sandbox, failure logged, service not restarted" \
    || svc_bad "signer: failing notify hook" "request $(sfact hook_request) ran $(sfact hook_ran) logged $(sfact hook_logged) after $(sfact hook_after)"
read -r r1 r2 _ <<<"$(sfact restart)"
[ "$r1" = ok ] && ok "signer: systemctl kill -s KILL mid-load: restarted by systemd (Restart=on-failure) in $r2 ms" \
    || svc_bad "signer: restart after SIGKILL" "$(sfact restart)"
read -r k1 k2 _ <<<"$(sfact tokens)"
[ "$(sfact after_kill)" = ok ] \
    && ok "signer: clients got tokens before ($k1) and after ($k2 in all) the kill; failed calls during the restart: $(sfact failed_calls)" \
    || svc_bad "signer: tokens after the restart" "$(sfact after_kill)"
if python3 - "$WORK/svc/seen.txt" "$WORK/svc/ledger.log" >"$OUT" 2>&1 <<'PY'
import json, sys
seen = [l.strip() for l in open(sys.argv[1]) if l.strip()]
recs = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
issued = {r["token_id"] for r in recs if r["kind"] == "issued"}
missing = [t for t in seen if t not in issued]
rec = sum(1 for r in recs if r["kind"] == "recovery")
if missing or not seen:
    print(f"{len(missing)} of {len(seen)} tokens the clients received are not in the ledger: {missing[:5]}")
    sys.exit(1)
print(f"all {len(seen)} tokens the clients received are issued records of the ledger "
      f"({len(issued)} issued records, {len(issued) - len(set(seen))} issued but not received; {rec} recovery records)")
PY
then ok "signer: $(cat "$OUT")"; else svc_bad "signer: every token a client received is in the ledger" "$(cat "$OUT")"; fi
[ "$(sfact ledger_verify_rc)" = 0 ] && ok "signer: jit-verify log --seal-key --state on the ledger: intact" \
    || svc_bad "signer: ledger verification" "rc $(sfact ledger_verify_rc): $(cat "$WORK/svc/verify.txt" 2>/dev/null)"
[ "$(sfact final)" = "active 1" ] && ok "signer: active at the end, restarted once" \
    || svc_bad "signer: final state" "$(sfact final)"
[ "$(sfact avc)" = 0 ] && ok "signer: no AVC denial for the service or its hook" \
    || svc_bad "signer: AVC denials" "$(cat "$WORK/svc/avc.txt" 2>/dev/null)"
echo "     signer: $(sfact hook_failures_logged) hook failures logged, $(sfact notify_events) events notified"

# --- power cuts (tests/vm/powercut.sh) -----------------------------------------------
# shellcheck source=powercut.sh
. tests/vm/powercut.sh
ROUNDS=${JIT_VM_POWERCUT_ROUNDS:-10}
t=$(date +%s)
if pc_setup; then
    done_rounds=0
    for r in $(seq 1 "$ROUNDS"); do
        pc_round "$r" || { bad "power cuts" "round $r could not go on; $done_rounds of $ROUNDS rounds done"; break; }
        done_rounds=$r
    done
    echo "     power cuts: $done_rounds of $ROUNDS rounds in $(secs "$t") s"
    echo "     crash leftovers jit-verify reported after the cuts (count, kinds): $(printf '%s\n' "${PC_FOUND[@]}" | sort | uniq -c | awk '{ printf "%s %s; ", $1, $2 }')"
    echo "     recovery records the first sudo wrote (count, found): $(printf '%s\n' "${PC_REPAIRED[@]}" | sort | uniq -c | awk '{ printf "%s %s; ", $1, $2 }')"
fi

t=$(date +%s)
vm_stop
echo "     power-off: $(secs "$t") s"
echo
tally_end vm " in $(secs "$T0") s"
