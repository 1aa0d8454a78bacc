#!/usr/bin/env bash
# pam_jit in a Debian 12 VM with SELinux enforcing, journald and auditd: the
# real sudo allowed and denied, file contexts, crash recovery, no AVC
# denial on jit's paths, the journal's mirror lines checked by jit-verify;
# jit's SSH certificates with the guest's sshd (jit-ctl enable --ssh, a
# login, a revocation through jit-ctl ssh-krl refused by sshd);
# the signing service's unit under real systemd (hardening, SIGKILL and
# restart under load, the ledger complete); 10 real power cuts of the guest
# under a sudo stream (JIT_VM_POWERCUT_ROUNDS=50 for the longer run).
# See tests/vm/run.sh and docs/vm.md (QEMU: KVM where it works, else TCG).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash tests/vm/run.sh
