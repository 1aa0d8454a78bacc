#!/usr/bin/env bash
# Benchmark: the signing service (jit-signer serve, key file) through its
# socket, auto-approved requests (the caller is on call) that collect their
# token in the same answer (`request --wait`); beside `jit-signer issue`'s in-process
# issuance (sign + durable ledger record, one process per token, the
# process start subtracted: `jit-signer --version` timed alike) in the same
# run. Prints, over RUNS runs, medians and min-max of:
#   - tokens/s with C concurrent clients (default 16), N tokens per run;
#   - one client's request-to-token latency (median of N sequential tokens).
# Issue 17's targets: >= 2,000 tokens/s with 16 clients, median <= 2 ms.
# The same service also signs OpenSSH certificates (--ssh-ca): each run
# also times grants of a certificate alone and of a token with its
# certificate, alternating with the token runs, and prints the ratios
# (issue 19's target: certificates within 2x of tokens, same run).
# The ledger and the requests are on ${TMPDIR:-/var/tmp} (a disk here). The
# clients are one user, so the per-user limit is raised (--max-calls-per-user).
# Usage: BIN=target/release bash tests/bench/signer-service.sh [N] [RUNS] [C]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-400}
RUNS=${2:-5}
C=${3:-16}
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
[ -x "$BIN/jit-signer" ] || { echo "build jit-signer first (tools/build-release.sh)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/jit-svc-bench.XXXXXX")
SPID=
cleanup() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
me=$(id -un)
"$BIN/jit-signer" keygen --kid bench --out "$tmp/keys" >/dev/null
echo "$me" > "$tmp/oncall"
"$BIN/jit-signer" keygen --kid bench-ssh-ca --out "$tmp/keys" >/dev/null
ssh-keygen -q -t ed25519 -N '' -C bench -f "$tmp/id_ed25519"
cat > "$tmp/policy.toml" <<EOF
[[oncall]]
name = "bench"
file = "$tmp/oncall"

[[rule]]
name = "bench"
users = ["$me"]
host_groups = ["web"]
commands = ["/usr/bin/systemctl restart nginx"]
max_ttl = "1h"
approvers = ["nobody"]
auto_approve = "bench"
ssh = true
EOF
"$BIN/jit-signer" serve --socket "$tmp/socket" --state-dir "$tmp/state" --policy "$tmp/policy.toml" \
    --key "$tmp/keys/bench.key" --ledger "$tmp/ledger/ledger.log" --max-connections 256 \
    --max-calls-per-user 64 --ssh-ca "$tmp/keys/bench-ssh-ca.key" \
    2>/dev/null &
SPID=$!
for _ in $(seq 1 200); do "$BIN/jit-signer" status --socket "$tmp/socket" >/dev/null 2>&1 && break; sleep 0.05; done

/usr/bin/python3 - "$tmp/socket" "$N" "$RUNS" "$C" "$BIN/jit-signer" "$tmp" "$(cat "$tmp/id_ed25519.pub")" <<'PY'
import json, socket, statistics, struct, subprocess, sys, threading, time
sock, n, runs, c, signer, tmp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
SSH_KEY = sys.argv[7]
ASK = {"host_groups": ["web"], "commands": ["/usr/bin/systemctl restart nginx"], "shell": False,
       "run_as": ["root"], "run_as_groups": [], "ttl": 1800, "not_before": None,
       "reason": "INC-4711 nginx 502 after config push", "ticket": None, "max_uses": None}

def call(body):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    b = json.dumps(body).encode()
    s.sendall(struct.pack(">I", len(b)) + b)
    head = b""
    while len(head) < 4:
        head += s.recv(4 - len(head))
    want = struct.unpack(">I", head)[0]
    data = b""
    while len(data) < want:
        data += s.recv(want - len(data))
    s.close()
    a = json.loads(data)
    if not a["ok"]:
        raise RuntimeError(f"{a['error']}: {a['message']}")
    return a

ASKS = {
    "token": ASK,
    "cert": dict(ASK, commands=[], ssh={"key": SSH_KEY}),
    "both": dict(ASK, ssh={"key": SSH_KEY}),
}

def token(kind="token"):
    # As `jit-signer request --wait` does: an on-call request comes back
    # with its token (and certificate) in the one answer.
    a = call({"v": 1, "op": "request", "ask": ASKS[kind], "collect": True})
    assert a.get("token") or kind == "cert"
    assert a.get("certificate") or kind == "token"

def rate(clients, total, kind="token"):
    per = total // clients
    errors = []
    def worker():
        try:
            for _ in range(per):
                token(kind)
        except Exception as e:  # a failed call fails the bench, not just its thread
            errors.append(e)
    ts = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in ts: t.start()
    for t in ts: t.join()
    if errors:
        raise SystemExit(f"signer-service bench: {len(errors)} client(s) failed: {errors[0]}")
    return per * clients / (time.perf_counter() - t0)

def latency(total):
    v = []
    for _ in range(total):
        t0 = time.perf_counter()
        token()
        v.append(time.perf_counter() - t0)
    return statistics.median(v) * 1e3

def issue_rate(total):
    def timed(argv):
        t0 = time.perf_counter()
        for _ in range(total):
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        return (time.perf_counter() - t0) / total
    per = timed([signer, "issue", "--key", f"{tmp}/keys/bench.key", "--ledger", f"{tmp}/issue-ledger/ledger.log",
                 "--user", "alice", "--host-group", "web", "--command", "/usr/bin/systemctl restart nginx",
                 "--reason", "bench", "--ttl", "30m"])
    start = timed([signer, "--version"])
    return 1 / max(per - start, 1e-9), per * 1e3

rate(c, 64)  # warm-up
rate(c, 64, "both")
rs, ls, irs, cs, bs = [], [], [], [], []
for i in range(runs):
    rs.append(rate(c, n))
    cs.append(rate(c, n, "cert"))
    bs.append(rate(c, n, "both"))
    ls.append(latency(min(n, 200)))
    irs.append(issue_rate(50))
def show(name, v, unit):
    print(f"{name:44} median {statistics.median(v):9.1f} {unit} ({min(v):.1f}-{max(v):.1f})")
print(f"{runs} runs; {n} tokens per rate run, {c} clients; ledger and requests on {tmp}")
show(f"service, {c} clients: tokens/s", rs, "/s")
print("  each run: " + " ".join(f"{r:.0f}" for r in rs))
show("service, 1 client: request-to-token latency", ls, "ms")
show("in-process issue (sign + ledger): tokens/s", [r for r, _ in irs], "/s")
print(f"ratio service rate / in-process issue rate: {statistics.median(rs) / statistics.median([r for r, _ in irs]):.2f}")
show(f"service, {c} clients: certificates alone/s", cs, "/s")
show(f"service, {c} clients: token + certificate/s", bs, "/s")
rc = statistics.median(rs) / statistics.median(cs)
rb = statistics.median(rs) / statistics.median(bs)
print(f"ratio token rate / certificate rate: {rc:.2f}; token rate / token+certificate rate: {rb:.2f}")
print("  per run (token/cert): " + " ".join(f"{t / x:.2f}" for t, x in zip(rs, cs)))
print(f"targets: >= 2000 tokens/s with 16 clients: {'met' if statistics.median(rs) >= 2000 else 'NOT met'}; "
      f"median latency <= 2 ms: {'met' if statistics.median(ls) <= 2 else 'NOT met'}; "
      f"certificates within 2x of tokens: {'met' if max(rc, rb) <= 2 else 'NOT met'}")
PY
