# The signing service of an end-to-end script (sourced after lib.sh):
# `jit-signer serve` as its own user, holding a copy of the e2e key, with its
# ledger and requests under $ROOT/svc and its socket in $ROOT/svc-run.
#
#   signer_setup USER POLICY  create the service user USER (removed by
#                             signer_teardown) and its directories; sets SVC,
#                             SOCK, SLEDGER
#   signer_start [PREFIX...]  run the service (under PREFIX, e.g. faketime)
#                             and wait until it answers; SVC_ARGS (an array)
#                             holds further `serve` options
#   signer_stop               SIGKILL it
#   signer_teardown           stop it and remove its user
SVC_PID=
SVC_ARGS=()

signer_setup() {
    SVC=$1
    SVC_POLICY=$2
    id "$SVC" >/dev/null 2>&1 && userdel --remove "$SVC"
    useradd --system --no-create-home --shell /usr/sbin/nologin "$SVC"
    # The service's own directory: the key (0600, its user's), the ledger,
    # the requests; the socket in a directory anyone can traverse.
    install -d -o "$SVC" -g "$SVC" -m 0700 "$ROOT/svc"
    install -o "$SVC" -m 0600 "$ROOT/signer/e2e-k1.key" "$ROOT/svc/k1.key"
    install -d -o "$SVC" -g "$SVC" -m 0755 "$ROOT/svc-run"
    SOCK=$ROOT/svc-run/socket
    SLEDGER=$ROOT/svc/ledger.log
}

signer_start() {
    setpriv --reuid="$SVC" --regid="$SVC" --init-groups --reset-env \
        env -i PATH=/usr/bin:/bin "$@" "$BIN/jit-signer" serve --socket "$SOCK" --state-dir "$ROOT/svc" \
        --policy "$SVC_POLICY" --key "$ROOT/svc/k1.key" --ledger "$SLEDGER" --signer-name e2e-signer \
        "${SVC_ARGS[@]}" </dev/null >/dev/null 2>>"$ROOT/serve.log" &
    SVC_PID=$!
    local i
    for i in $(seq 1 200); do
        if "$BIN/jit-signer" status --socket "$SOCK" >/dev/null 2>&1; then return 0; fi
        kill -0 "$SVC_PID" 2>/dev/null || e2e_die "jit-signer serve exited: $(tail -3 "$ROOT/serve.log")"
        sleep 0.05
    done
    e2e_die "jit-signer serve did not answer within 10 s"
}

signer_stop() {
    [ -n "${SVC_PID:-}" ] || return 0
    kill -KILL "$SVC_PID" 2>/dev/null || true
    wait "$SVC_PID" 2>/dev/null || true
    SVC_PID=
}

signer_teardown() {
    signer_stop
    if [ -n "${SVC:-}" ] && id "$SVC" >/dev/null 2>&1; then
        pkill -KILL -u "$SVC" 2>/dev/null || true
        userdel --remove "$SVC" 2>/dev/null || true
    fi
}
