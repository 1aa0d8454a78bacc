#!/usr/bin/env bash
# pam_jit.so links GCC's unwinder statically (pam_jit/build.rs) instead of
# depending on libgcc_s.so.1. This proves, on the built objects:
#   - the release module has no libgcc_s dependency and exports only the
#     pam_sm_* entry points (no unwinder symbols that could interpose);
#   - a panic inside the module (a test build with the panic-probe feature and
#     the module argument panic_probe) is caught at the FFI boundary: the real
#     libpam gets PAM_ABORT from every hook, the calling process lives on, and
#     the same handle then runs the module normally (a denial, not a crash).
# The PAM stack is given to libpam with pam_start_confdir (a private
# directory), so nothing under /etc is read or changed.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
PROBE_TARGET=${PROBE_TARGET:-${CARGO_TARGET_DIR:-$PWD/target}/panic-probe}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# shellcheck source=../e2e/tally.sh
. tests/e2e/tally.sh

# The module as shipped: the cold-start build (tools/build-release.sh).
SO=${PAM_SO:-$(dirname "$BIN")/pam/libpam_jit.so}
[ -f "$SO" ] || { echo "46-pam-unwind: $SO missing (build first)" >&2; exit 1; }
needed=$(readelf -d "$SO" | awk '/NEEDED/ {print $NF}' | tr -d '[]' | sort | tr '\n' ' ')
if [ "$needed" = "ld-linux-x86-64.so.2 libc.so.6 libpam.so.0 " ]; then
    ok "release module needs only libpam, libc and ld.so ($needed)"
else
    bad "release module dependencies" "got: $needed"
fi
exported=$(nm -D --defined-only "$SO" | awk '{print $NF}' | sort | tr '\n' ' ')
if [ "$exported" = "pam_sm_acct_mgmt pam_sm_authenticate pam_sm_chauthtok pam_sm_close_session pam_sm_open_session pam_sm_setcred " ]; then
    ok "release module exports only the pam_sm_* entry points"
else
    bad "release module exports" "got: $exported"
fi
echo "building the panic-probe test module in $PROBE_TARGET"
cargo build -q --config pam_jit/cold-start.toml --profile pam --locked -p pam_jit \
    --features panic-probe --target-dir "$PROBE_TARGET"
PROBE=$PROBE_TARGET/pam/libpam_jit.so
if readelf -d "$PROBE" | grep -q 'libgcc_s'; then
    bad "probe module links like the release one" "it needs libgcc_s"
else
    ok "probe module links like the release one (no libgcc_s)"
fi

mkdir -p "$WORK/pam.d"
for h in auth account session; do
    echo "$h required $PROBE panic_probe"
done > "$WORK/pam.d/jit-panic"
for h in auth account session; do
    echo "$h required $PROBE config=$WORK/missing.conf"
done > "$WORK/pam.d/jit-nopanic"

# One process: libpam loads the module, each hook panics, then a second
# handle runs the same module without the probe. Prints one line per call.
set +e
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=tests/e2e /usr/bin/python3 - "$WORK/pam.d" > "$WORK/out" 2> "$WORK/err" <<'PY'
import sys
import pam_harness
def run(service):
    h = pam_harness.start(service, "nobody", sys.argv[1])
    for name in ("pam_authenticate", "pam_acct_mgmt", "pam_open_session", "pam_close_session"):
        rc = h.call(name)
        print(f"{service} {name} {h.strerror(rc)}", flush=True)
    h.end()
run("jit-panic")
run("jit-nopanic")
print("said: " + " | ".join(pam_harness.said))
print("alive")
PY
rc=$?
set -e
cat "$WORK/out"
[ "$rc" = 0 ] && grep -qx alive "$WORK/out" && ok "the process calling libpam lives on after the panics" \
    || bad "process survives" "python exited $rc: $(head -c 400 "$WORK/err")"
for f in pam_authenticate pam_acct_mgmt pam_open_session pam_close_session; do
    if grep -qx "jit-panic $f Critical error - immediate abort" "$WORK/out"; then
        ok "$f: a panic in the module is PAM_ABORT"
    else
        bad "$f under panic" "$(grep "jit-panic $f" "$WORK/out" || echo 'no line')"
    fi
done
n=$(grep -c "deliberate panic" "$WORK/err" || true)
[ "$n" = 4 ] && ok "each of the 4 panics was reported on stderr by the default hook (caught, not unwound into libpam)" \
    || bad "panic messages" "$n in stderr: $(head -c 400 "$WORK/err")"
if grep -qx "jit-nopanic pam_acct_mgmt Permission denied" "$WORK/out" \
    && grep -q "configuration unusable" "$WORK/out"; then
    ok "afterwards the module still decides (denial with its reason, not a crash)"
else
    bad "module after panics" "$(cat "$WORK/out")"
fi

echo
tally_end 46-pam-unwind
