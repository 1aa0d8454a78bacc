#!/usr/bin/env bash
# Runs as root inside the test VM (tests/vm/run.sh copies it in with the
# freshly built .debs in /root/debs and the signer's public key and
# revocation list in /root/in). Installs the host package with its real
# maintainer scripts, configures and enables jit, and creates the test user
# jitalice, mapped to the SELinux user staff_u (so her sudo runs in
# staff_sudo_t, as a confined administrator's does), who may log in with the
# run's ssh key. Prints one "KEY VALUE" line per fact the host checks.
set -euo pipefail
exec 2>&1
echo "getenforce $(getenforce)"
echo "system $(systemctl is-system-running --wait 2>/dev/null || true)"
echo "kernel $(uname -r)"
echo "sudo $(sudo -V | head -n 1)"
t=$(date +%s)
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /root/debs/libpam-jit_*.deb >"$JIT_VM_OUT/apt.log" 2>&1 \
    || { cat "$JIT_VM_OUT/apt.log"; echo "install FAIL"; exit 1; }
echo "install ok"
echo "install_secs $(($(date +%s) - t))"
semodule -l | grep -qx jit && echo "semodule jit" || echo "semodule missing"
sed -i 's/^host_groups = .*/host_groups = vm-hosts/' /etc/security/pam_jit.conf
cat /root/in/signer.pub >> /etc/security/jit/trusted-keys
install -d -m 0755 /etc/security/jit/revocation
install -m 0644 /root/in/revocation.list /etc/security/jit/revocation/list
restorecon -R /etc/security
jit-ctl enable >"$JIT_VM_OUT/enable.log" 2>&1 && echo "enable ok" || { cat "$JIT_VM_OUT/enable.log"; echo "enable FAIL"; }
# Test users, confined: staff_u, log in with the run's key.
# One semanage transaction for both (each one rebuilds the policy: slow under TCG).
printf 'login -a -s staff_u -r s0-s0:c0.c1023 %s\n' jitalice jitmallory > /root/seusers.semanage
for u in jitalice jitmallory; do useradd -m -s /bin/bash "$u"; done
t=$(date +%s)
semanage import -f /root/seusers.semanage
echo "semanage_secs $(($(date +%s) - t))"
for u in jitalice jitmallory; do
    install -d -m 0700 -o "$u" -g "$u" "/home/$u/.ssh"
    install -m 0600 -o "$u" -g "$u" /root/.ssh/authorized_keys "/home/$u/.ssh/authorized_keys"
    restorecon -RF "/home/$u"
done
printf 'jitalice ALL=(ALL:ALL) NOPASSWD: ALL\njitmallory ALL=(ALL:ALL) NOPASSWD: ALL\n' > /etc/sudoers.d/vm-users
chmod 0440 /etc/sudoers.d/vm-users
visudo -cq && echo "sudoers ok"
for f in /etc/security/pam_jit.conf /etc/security/jit/trusted-keys /etc/security/jit/revocation/list; do
    echo "ctx $f $(stat -c %C "$f")"
done
