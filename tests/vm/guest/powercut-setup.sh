#!/usr/bin/env bash
# Runs as root inside the test VM once, before the power-cut rounds
# (tests/vm/powercut.sh): the user whose sudo stream the host cuts the power
# under, and the two programs of that stream.
#
#   jitpower   a user with the SELinux default login mapping (unconfined_u):
#              the command sudo runs must write to the second serial port,
#              which a confined staff_t command may not; SELinux stays
#              enforcing and the writer is the same pam_jit. Logs in with the
#              run's key; NOPASSWD in sudoers, so pam_jit alone decides.
#   /usr/local/sbin/jit-mark ID    the command the stream runs through sudo:
#              writes "jit-mark ID" to /dev/ttyS1 (the host reads it from the
#              serial file), so the host knows which commands started
#   /usr/local/sbin/jit-stream ROUND NAME   sudo in a loop until the power goes:
#              three allowed (token in ~/.jit-token, never on a command line)
#              then one denied (no token: a written record), and again
# The token comes from the host in /root/in/power.token.
set -euo pipefail
exec 2>&1
useradd -m -s /bin/bash jitpower
install -d -m 0700 -o jitpower -g jitpower /home/jitpower/.ssh
install -m 0600 -o jitpower -g jitpower /root/.ssh/authorized_keys /home/jitpower/.ssh/authorized_keys
install -m 0600 -o jitpower -g jitpower /root/in/power.token /home/jitpower/.jit-token
rm -f /root/in/power.token
restorecon -RF /home/jitpower
echo 'jitpower ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/vm-power
chmod 0440 /etc/sudoers.d/vm-power
visudo -cq
cat > /usr/local/sbin/jit-mark <<'EOS'
#!/bin/sh
# The command of the power-cut stream: tells the host (second serial port) it started.
printf 'jit-mark %s\n' "$1" > /dev/ttyS1
EOS
cat > /usr/local/sbin/jit-stream <<'EOS'
#!/bin/bash
# jit-stream ROUND NAME: sudo invocations until the power is cut.
tok=$(cat ~/.jit-token)
i=0
while :; do
    i=$((i + 1))
    if [ $((i % 4)) = 0 ]; then
        sudo -n /usr/local/sbin/jit-mark "$1-$2-$i-denied" >/dev/null 2>&1
    else
        JIT_TOKEN=$tok sudo -n /usr/local/sbin/jit-mark "$1-$2-$i" >/dev/null 2>&1
    fi
done
EOS
chmod 0755 /usr/local/sbin/jit-mark /usr/local/sbin/jit-stream
restorecon /usr/local/sbin/jit-mark /usr/local/sbin/jit-stream
echo "semanage_login $(semanage login -l | awk '$1 == "__default__" { print $2 }')"
# On disk before the first cut: none of this set-up is under test.
sync
echo "powercut_setup ok"
