#!/usr/bin/env bash
# pam_jit in a Debian 12 VM with SELinux enforcing, journald and auditd: the
# real sudo allowed and denied, file contexts, crash recovery, no AVC
# denial on jit's paths, the journal's mirror lines checked by jit-verify.
# See tests/vm/run.sh and docs/vm.md (QEMU: KVM where it works, else TCG).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash tests/vm/run.sh
