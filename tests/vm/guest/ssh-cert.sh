#!/usr/bin/env bash
# Runs as root inside the test VM, after the sudo checks: jit's OpenSSH user
# certificates with the guest's real sshd (systemd's ssh.service) under
# SELinux enforcing. tests/vm/run.sh signs on the build machine (the CA key
# never enters the guest) and logs in between the phases; each phase prints
# "KEY VALUE" lines the host checks.
#
#   enable   the CA's public key (/root/in/user-ca.pub) installed as
#            /etc/ssh/jit/user-ca.pub; the user jitcert (no authorized_keys);
#            jit-ctl ssh-principals jitcert; jit-ctl enable --ssh (KRL, snippet,
#            sshd -T, reload); sshd -T's view; the contexts of what jit-ctl
#            wrote
#   revoke   (after the login with the certificate) sshd's journal line for
#            it and the AVC denials so far; the signed list with the
#            certificate's key id (/root/in/revocation-ssh.list) installed at
#            pam_jit.conf's revocation_list; jit-ctl ssh-krl; the contexts of
#            the KRL and the revocation state; ssh-keygen -Q on the KRL
#   final    (after the refused login) sshd's journal line for the refusal and
#            the AVC denials since the revocation
#
# AVC denials are taken from auditd (ausearch) and, as a cross-check, from the
# journal, from a marker (epoch seconds) written by the previous phase on;
# only those that involve sshd, jit's files or the commands of this case are
# printed as "avc_ours"; the others as "avc_other".
set -uo pipefail
exec 2>&1
O=$JIT_VM_OUT
say() { echo "$*"; }
D=/etc/ssh/jit
KRL=$D/revoked.krl
# ctx PATH...: "ctx PATH CONTEXT" and "want PATH CONTEXT" (what the loaded
# policy says it should be: matchpathcon) for each.
ctx() {
    local f
    for f in "$@"; do
        say "ctx $f $(stat -c %C "$f" 2>&1)"
        say "want $f $(matchpathcon -n "$f" 2>&1)"
    done
}
# avc NAME: the denials stamped at or after the marker /root/ssh-cert.NAME,
# from auditd and from the journal; "avc_NAME_rc", "avc_NAME_ours N",
# "avc_NAME_other N"; the lines in $O/avc-NAME*.txt.
OURS='sshd|ssh-keygen|jit|restorecon|revoked\.krl|user-ca\.pub|principals'
avc() {
    local m rc
    m=$(cat "/root/ssh-cert.$1")
    ausearch --input-logs -m AVC,USER_AVC,SELINUX_ERR -ts boot --raw >"$O/avc-$1-all.txt" 2>"$O/avc-$1.err"
    rc=$?
    say "avc_$1_rc $rc"
    # msg=audit(SECONDS.MILLIS:SERIAL): keep the denials (not the SYSCALL,
    # EXECVE... records of the same events) from the marker on.
    awk -v m="$m" '/^type=(AVC|USER_AVC|SELINUX_ERR) / && match($0, /msg=audit\([0-9]+/) {
        if (substr($0, RSTART + 10, RLENGTH - 10) + 0 >= m) print }' "$O/avc-$1-all.txt" >"$O/avc-$1.txt"
    journalctl -b -o cat --no-pager --since "@$m" _TRANSPORT=audit | grep -F 'avc:  denied' >"$O/avc-$1-journal.txt"
    say "avc_$1_ours $(cat "$O/avc-$1.txt" "$O/avc-$1-journal.txt" | grep -Ec "$OURS")"
    say "avc_$1_other $(grep -Evc "$OURS" "$O/avc-$1.txt")"
    cat "$O/avc-$1.txt" "$O/avc-$1-journal.txt" | grep -E "$OURS" >"$O/avc-$1-ours.txt"
}
# sshd_lines NAME: sshd's journal lines from the marker NAME on, in $O/sshd-NAME.log.
sshd_lines() {
    journalctl -b -o cat --no-pager --since "@$(cat "/root/ssh-cert.$1")" -t sshd >"$O/sshd-$1.log" 2>&1
}

case "${1:-}" in
enable)
    date +%s >/root/ssh-cert.enable
    install -d -m 0755 "$D"
    install -m 0644 /root/in/user-ca.pub "$D/user-ca.pub"
    useradd -m -s /bin/bash jitcert
    say "authorized_keys $(ls /home/jitcert/.ssh/authorized_keys 2>/dev/null || echo none)"
    if jit-ctl ssh-principals jitcert >"$O/principals.log" 2>&1; then
        say "principals $(tr '\n' ' ' <"$D/principals/jitcert")"
    else
        say "principals FAIL $(tr '\n' ' ' <"$O/principals.log")"
    fi
    pid0=$(systemctl show -p MainPID --value ssh.service)
    if jit-ctl enable --ssh >"$O/enable-ssh.log" 2>&1; then say "enable_ssh ok"; else say "enable_ssh FAIL"; fi
    cat "$O/enable-ssh.log"
    grep -q '^jit-ctl: reloaded ssh.service$' "$O/enable-ssh.log" && say "reloaded yes" || say "reloaded no"
    # A reload keeps the main pid (SIGHUP: sshd re-executes itself).
    say "ssh_service $(systemctl is-active ssh.service) pid_same $([ "$(systemctl show -p MainPID --value ssh.service)" = "$pid0" ] && echo yes || echo no)"
    sshd -T -C user=jitcert,host=localhost,addr=127.0.0.1 >"$O/sshd-T.txt" 2>&1
    for k in trustedusercakeys authorizedprincipalsfile revokedkeys; do
        say "sshd_T $k $(grep -i "^$k " "$O/sshd-T.txt" | cut -d' ' -f2-)"
    done
    ctx "$D" "$D/user-ca.pub" "$D/principals" "$D/principals/jitcert" "$KRL" /etc/ssh/sshd_config.d/jit.conf
    ls -Z "$D" "$D/principals" >"$O/ls-Z.txt" 2>&1
    ;;
revoke)
    sshd_lines enable
    grep -F 'Accepted publickey for jitcert ' "$O/sshd-enable.log" | head -n 1 | sed 's/^/accepted /'
    avc enable
    date +%s >/root/ssh-cert.revoke
    list=$(sed -n 's/^[[:space:]]*revocation_list[[:space:]]*=[[:space:]]*//p' /etc/security/pam_jit.conf | tail -n 1)
    list=${list:-/etc/security/jit/revocation/list}
    say "list $list"
    # As an administrator installs a new list (in place of the previous one).
    install -m 0644 /root/in/revocation-ssh.list "$list"
    v0=$(od -An -tx1 -j12 -N8 "$KRL" | tr -d ' \n')
    if jit-ctl ssh-krl >"$O/ssh-krl.log" 2>&1; then say "ssh_krl ok"; else say "ssh_krl FAIL"; fi
    cat "$O/ssh-krl.log"
    say "krl_version $((0x$v0)) $((0x$(od -An -tx1 -j12 -N8 "$KRL" | tr -d ' \n')))"
    ctx "$KRL" "$list"
    say "ctx_state $(stat -c %C /var/lib/jit/revocation-state 2>&1)"
    ssh-keygen -Q -f "$KRL" /root/in/id-cert.pub >"$O/keygen-Q.txt" 2>&1
    say "keygen_Q $? $(tr '\n' ' ' <"$O/keygen-Q.txt")"
    ls -Z "$D" >>"$O/ls-Z.txt" 2>&1
    ;;
final)
    sshd_lines revoke
    grep -F 'revoked by file' "$O/sshd-revoke.log" | head -n 1 | sed 's/^/refused /'
    say "accepted_after $(grep -c 'Accepted publickey for jitcert ' "$O/sshd-revoke.log")"
    avc revoke
    ;;
*)
    say "usage: ssh-cert.sh enable|revoke|final"; exit 2 ;;
esac
exit 0
