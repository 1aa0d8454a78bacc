#!/usr/bin/env bash
# Benchmark: `jit-verify log` with the seal key and the state file on a log of
# real-sized decision records (about 700 bytes each; 1,000,000 by default),
# beside `b3sum` over the same file, alternately in the same run. Prints the
# medians and min-max of the runs, records/s, and the ratio of the two
# (issue target: at least 1.5 M records/s on the 2-core development VM).
#
# Usage: BIN=target/release bash tests/bench/verify-bench.sh [RECORDS] [RUNS]
#
# BIN holds the jit-verify under test (default: CARGO_TARGET_DIR/release).
# The log is written by the jit-core example bench_log (built here) into a
# temporary directory under ${TMPDIR:-/var/tmp} and removed at the end; with
# JIT_BENCH_LOG_DIR=DIR it is written to DIR once and reused by later runs.
# The file is read once before timing, so every run reads it from the page
# cache. Wall time is the measure (records/s, the ratio); the CPU time
# (user + system, all threads) of each run is printed beside it, as a check
# on what a run on a busy machine spent waiting.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000000}
RUNS=${2:-5}
T=${CARGO_TARGET_DIR:-$PWD/target}
BIN=${BIN:-$T/release}
die() { echo "verify-bench: $*" >&2; exit 1; }
command -v b3sum >/dev/null || die "needs b3sum (Debian package b3sum)"
[ -x "$BIN/jit-verify" ] || die "$BIN/jit-verify missing (build first)"

if [ -n "${JIT_BENCH_LOG_DIR:-}" ]; then
    DIR=$JIT_BENCH_LOG_DIR
    mkdir -p "$DIR"
else
    DIR=$(mktemp -d "${TMPDIR:-/var/tmp}/jit-verify-bench.XXXXXX")
    trap 'rm -rf "$DIR"' EXIT
fi
LOG=$DIR/audit.log
if [ ! -s "$LOG" ]; then
    cargo build -q --release --locked -p jit-core --example bench_log
    "$T/release/examples/bench_log" "$DIR" "$N"
fi

# As root, the timed runs get SCHED_FIFO priority (like sudo-bench.sh), so
# other work on this 2-core machine does not decide the wall times.
RT=()
[ "$(id -u)" = 0 ] && RT=(chrt -f 50)
"${RT[@]}" /usr/bin/python3 - "$BIN/jit-verify" "$DIR" "$RUNS" <<'PY'
import os, statistics, subprocess, sys, time
verify, d, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
log = os.path.join(d, "audit.log")
with open(log, "rb") as f:  # into the page cache; count the records
    n = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
size = os.path.getsize(log)
cmds = {
    "jit-verify log": [verify, "log", "--seal-key", os.path.join(d, "seal-key.initial"),
                       "--state", os.path.join(d, "log.state"), log],
    "b3sum": ["b3sum", "--no-names", log],
    "b3sum --num-threads 1": ["b3sum", "--no-names", "--num-threads", "1", log],
}
def once(argv):
    t = time.perf_counter_ns()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = (time.perf_counter_ns() - t) / 1e9
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"verify-bench: {argv[0]} exited {p.returncode}: {err.decode()[-500:]}")
    return wall, ru.ru_utime + ru.ru_stime
for argv in cmds.values():  # warm-up
    once(argv)
times = {k: [] for k in cmds}
for i in range(runs):
    order = list(cmds) if i % 2 == 0 else list(reversed(cmds))
    for k in order:
        times[k].append(once(cmds[k]))
print(f"{n} records, {size / 1e6:.0f} MB ({size // n} bytes a record); {runs} runs each, alternating")
med = {}
for k, ts in times.items():
    wall, cpu = [w for w, _ in ts], [c for _, c in ts]
    med[k] = (statistics.median(wall), statistics.median(cpu))
    print(f"{k:22} wall {med[k][0]:.3f} s ({min(wall):.3f}-{max(wall):.3f}), "
          f"cpu {med[k][1]:.3f} s ({min(cpu):.3f}-{max(cpu):.3f}): "
          f"{n / med[k][0] / 1e6:.2f} M records/s")
v, b, b1 = med["jit-verify log"], med["b3sum"], med["b3sum --num-threads 1"]
print(f"ratio jit-verify log / b3sum: {v[0] / b[0]:.2f}x; / b3sum --num-threads 1: {v[0] / b1[0]:.2f}x")
print(f"jit-verify log: {n / v[0] / 1e6:.2f} M records/s (target >= 1.5)")
PY
