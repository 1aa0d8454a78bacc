#!/usr/bin/env bash
# Runs as root inside the test VM after the sudo checks: copies out the
# evidence the host checks (tests/vm/run.sh) and runs jit-verify against the
# journal. Prints "KEY VALUE" lines.
set -uo pipefail
exec 2>&1
O=$JIT_VM_OUT
cp /var/log/jit/audit.log "$O/audit.log"
# AVC denials of this boot from auditd's log (ausearch exits 1 when nothing
# matches; --input-logs, else it reads its stdin, a pipe here), and the same from the journal (journald reads the kernel's audit
# messages too) as a cross-check that auditd saw them.
echo "auditd $(systemctl is-active auditd)"
ausearch --input-logs -m AVC,USER_AVC,SELINUX_ERR -ts boot --raw >"$O/avc.txt" 2>"$O/ausearch.err"
echo "ausearch_rc $?"
journalctl -b -o cat --no-pager _TRANSPORT=audit | grep -F 'avc:  denied' >"$O/avc-journal.txt"
journalctl -t jit-log -o json --no-pager >"$O/journal.json"
journalctl -t jit-log -o short-iso --no-pager >"$O/journal.txt"
echo "journal_lines $(wc -l <"$O/journal.txt")"
# The journal's text export as the syslog anchor (jit-verify reads the
# mirror line out of any line that holds it).
jit-verify log --seal-key /var/lib/jit/seal-key.initial --state /var/lib/jit/log.state \
    --against-syslog "$O/journal.txt" /var/log/jit/audit.log >"$O/verify.out" 2>&1
echo "verify_rc $?"
# The same log with its last record cut off: the journal still holds that
# record's line, so the cut is seen without the state file.
head -n -1 /var/log/jit/audit.log >/root/cut.log
jit-verify log --seal-key /var/lib/jit/seal-key.initial \
    --against-syslog "$O/journal.txt" /root/cut.log >"$O/verify-cut.out" 2>&1
echo "verify_cut_rc $?"
rm -f /root/cut.log
