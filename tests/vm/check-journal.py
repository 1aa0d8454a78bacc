#!/usr/bin/env python3
"""Every record of AUDIT_LOG has its mirror line in JOURNAL_JSON
(journalctl -t jit-log -o json), with facility authpriv (10) and the
documented priority: 6 (info), 0 (emerg) for a break-glass decision.
Prints a one-line summary; exits 1 with the differences otherwise."""
import json
import sys

records = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
entries = []
for l in open(sys.argv[2], encoding="utf-8"):
    if l.strip():
        e = json.loads(l)
        m = e.get("MESSAGE")
        if isinstance(m, list):  # journald exports non-UTF-8 / binary messages as byte arrays
            m = bytes(m).decode("utf-8", "replace")
        entries.append((m or "", e.get("PRIORITY"), e.get("SYSLOG_FACILITY")))
problems = []
emerg = 0
for r in records:
    want = "0" if r.get("kind") == "decision" and r.get("break_glass") is True else "6"
    key = f" seq={r['seq']} hash={r['hash']} "
    found = [e for e in entries if key in e[0]]
    if not found:
        problems.append(f"seq {r['seq']} ({r['kind']}): no journal entry")
        continue
    for m, prio, fac in found:
        if prio != want or fac != "10":
            problems.append(f"seq {r['seq']} ({r['kind']}): PRIORITY {prio} SYSLOG_FACILITY {fac}, wanted {want} 10")
        elif " rec=" not in m and " rec64=" not in m:
            problems.append(f"seq {r['seq']}: mirror line without the record")
    if want == "0":
        emerg += 1
if problems or not records:
    print("\n".join(problems) or "no records")
    sys.exit(1)
print(f"{len(records)} records, each mirrored at authpriv.info ({emerg} break-glass at emerg)")
