#!/usr/bin/env bash
# Benchmark: `jit-verify fleet` with every host's seal key over a collector's
# tree, beside a bare BLAKE3 hash of every line once (the same crate, as many
# threads as the machine has: the jit-core example bench_fleet) and `b3sum`
# over the same bytes, alternately in the same run. Prints the medians and
# min-max of the runs, records/s, the ratio of fleet to the bare hash, and
# each command's peak RSS.
#
# Issue targets on the 2-core development VM: at least 2.5 M records/s, at
# most 1.5 times the bare hash, at most 64 MiB peak RSS.
#
# Usage: BIN=target/release bash tests/bench/fleet-bench.sh [HOSTS] [RECORDS] [RUNS]
#
# Defaults: 1,000 hosts x 10,000 records (10 M records of about 700 bytes;
# about 9 GB of collector lines), 3 runs. The tree is written by bench_fleet
# (the real writer, then the collector's line format) into a temporary
# directory under ${TMPDIR:-/var/tmp} and removed at the end; with
# JIT_BENCH_FLEET_DIR=DIR it is written to DIR once and reused by later runs.
# The files are read once before timing, so with enough memory every run
# reads them from the page cache.
set -euo pipefail
cd "$(dirname "$0")/../.."
HOSTS=${1:-1000}
N=${2:-10000}
RUNS=${3:-3}
T=${CARGO_TARGET_DIR:-$PWD/target}
BIN=${BIN:-$T/release}
die() { echo "fleet-bench: $*" >&2; exit 1; }
command -v b3sum >/dev/null || die "needs b3sum (Debian package b3sum)"
[ -x /usr/bin/time ] || die "needs /usr/bin/time (Debian package time) for the peak RSS"
[ -x "$BIN/jit-verify" ] || die "$BIN/jit-verify missing (build first)"
cargo build -q --release --locked -p jit-core --example bench_fleet
GEN=$T/release/examples/bench_fleet

if [ -n "${JIT_BENCH_FLEET_DIR:-}" ]; then
    DIR=$JIT_BENCH_FLEET_DIR
    mkdir -p "$DIR"
else
    DIR=$(mktemp -d "${TMPDIR:-/var/tmp}/jit-fleet-bench.XXXXXX")
    trap 'rm -rf "$DIR"' EXIT
fi
if [ ! -e "$DIR/done" ]; then
    rm -rf "$DIR/central" "$DIR/keys"
    "$GEN" gen "$DIR" "$HOSTS" "$N"
    touch "$DIR/done"
fi

RT=()
[ "$(id -u)" = 0 ] && RT=(chrt -f 50)
"${RT[@]}" /usr/bin/python3 - "$BIN/jit-verify" "$GEN" "$DIR" "$RUNS" <<'PY'
import glob, os, statistics, subprocess, sys, tempfile, time
verify, gen, d, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
files = sorted(glob.glob(os.path.join(d, "central", "*", "*.log")))
keys = sorted(glob.glob(os.path.join(d, "keys", "*.seal-key")))
n, size = 0, 0
for p in files:  # into the page cache; count the lines
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            n += chunk.count(b"\n")
            size += len(chunk)
fleet = [verify, "fleet"]
for k in keys:
    fleet += ["--seal-key", k]
fleet.append(os.path.join(d, "central"))
cmds = {
    "jit-verify fleet": fleet,
    "bare BLAKE3 per line": [gen, "hash", d],
    "b3sum": ["b3sum", "--no-names"] + files,
}
rss_file = tempfile.NamedTemporaryFile(prefix="fleet-bench-rss.")
def once(argv):
    # Peak RSS through /usr/bin/time: a child forked from this Python
    # would report Python's own pages as its high-water mark.
    argv = ["/usr/bin/time", "-f", "%M", "-o", rss_file.name] + argv
    t = time.perf_counter_ns()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = (time.perf_counter_ns() - t) / 1e9
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"fleet-bench: {argv[5]} {argv[6]} exited {code}: {err.decode()[-500:]}")
    with open(rss_file.name) as f:
        rss_kib = int(f.read().split()[-1])
    return wall, ru.ru_utime + ru.ru_stime, rss_kib / 1024
for argv in cmds.values():  # warm-up
    once(argv)
times = {k: [] for k in cmds}
for i in range(runs):
    order = list(cmds) if i % 2 == 0 else list(reversed(cmds))
    for k in order:
        times[k].append(once(cmds[k]))
print(f"{len(files)} logs, {n} records, {size / 1e9:.2f} GB of collector lines "
      f"({size // max(n, 1)} bytes a line); {runs} runs each, alternating")
med = {}
for k, ts in times.items():
    wall, cpu, rss = [w for w, _, _ in ts], [c for _, c, _ in ts], [r for _, _, r in ts]
    med[k] = statistics.median(wall)
    print(f"{k:22} wall {med[k]:.2f} s ({min(wall):.2f}-{max(wall):.2f}), "
          f"cpu {statistics.median(cpu):.2f} s, peak RSS {max(rss):.1f} MiB: "
          f"{n / med[k] / 1e6:.2f} M records/s")
f, h = med["jit-verify fleet"], med["bare BLAKE3 per line"]
rss = max(r for _, _, r in times["jit-verify fleet"])
print(f"jit-verify fleet: {n / f / 1e6:.2f} M records/s (target >= 2.5), "
      f"{f / h:.2f}x the bare hash (target <= 1.5), peak RSS {rss:.1f} MiB (target <= 64)")
PY
