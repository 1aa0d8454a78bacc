#!/usr/bin/env python3
"""After a power cut: MARKERS (one command id per line, each a command the
host saw start through the guest's second serial port before it killed QEMU)
against the log as the cut left it (LOG) and jit-verify's report of it
(REPORT, jit-verify log --json with the seal key and the state).

Prints one line: the verification's exit and outcome, the kinds and classes
of its findings other than earlier recovery records (what this cut left),
how many started commands were found; exits 1 when a finding is not a crash leftover
(class "torn"/"note") or a started command has no allowed decision record."""
import json
import sys

report = json.load(open(sys.argv[1], encoding="utf-8"))
markers = [m.strip() for m in open(sys.argv[3], encoding="utf-8") if m.strip()]
allowed = set()
for line in open(sys.argv[2], encoding="utf-8", errors="replace"):
    try:
        r = json.loads(line)
    except ValueError:
        continue  # a torn tail: jit-verify's report says what it is
    if r.get("kind") == "decision" and r.get("allowed") is True:
        argv = r.get("argv") or []
        if len(argv) == 2 and argv[0].endswith("jit-mark"):
            allowed.add(argv[1])
problems = []
findings = report.get("findings", [])
for f in findings:
    if f.get("class") not in ("torn", "note"):
        problems.append(f"finding {f.get('kind')} is class {f.get('class')}: {f.get('detail')}")
if report.get("exit_code") not in (0, 3):
    problems.append(f"jit-verify exit {report.get('exit_code')} ({report.get('outcome')})")
missing = [m for m in markers if m not in allowed]
if missing:
    problems.append(f"started but not in the log: {' '.join(missing)}")
# The recovery records earlier repairs wrote are notes on every later report;
# what this cut left is the rest.
kinds = ",".join(sorted({f"{f.get('kind')}/{f.get('class')}" for f in findings if f.get("kind") != "recovery"})) or "none"
print(f"exit {report.get('exit_code')} ({report.get('outcome')}), crash leftovers {kinds}, "
      f"{len(markers)} started commands all in the log as allowed decisions"
      if not problems else "; ".join(problems))
sys.exit(1 if problems else 0)
