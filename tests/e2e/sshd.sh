# An sshd of the test's own, for end-to-end scripts (sourced after lib.sh):
# its own configuration, host key and pid file, on 127.0.0.1 at a free high
# port chosen by the kernel; the system's /etc/ssh and port 22 are never
# used. Clients use the real ssh with a configuration of the test's own
# (BatchMode, one key per user, the test's known_hosts).
#
#   sshd_setup DIR USER...   write DIR/sshd_config (Include DIR/sshd_config.d/*.conf),
#                            a host key, and per user a key and DIR/client-USER/config
#                            (the user's) with the host aliases jit-e2e-web-1
#                            (SendEnv JIT_TOKEN), jit-e2e-plain and jit-e2e-signer;
#                            sets SSHD_DIR and SSH_PORT
#   sshd_start               start it (SSHD_PID) and wait until it accepts logins
#   sshd_wait WHAT           poll (bounded: 10 s) until it accepts a login again
#   sshd_stop                stop it; remove /run/sshd if sshd_setup made it
#   on_host ALIAS [VAR=value...] -- [ssh options...] COMMAND
#                            ssh (as root, clean environment plus VARs) with
#                            DIR/ssh_config to ALIAS; $OUT, $ERR, $RC as for
#                            as_user; sshd's log lines of this attempt in
#                            DIR/attempt.log; $before: audit log lines before
SSHD=/usr/sbin/sshd
SSHD_PID=
SSHD_MADE_PRIVSEP=no

sshd_setup() {
    local dir=$1 u alias; shift
    [ -x "$SSHD" ] || e2e_die "$SSHD missing (Debian package openssh-server: tools/install-deps.sh)"
    command -v ssh >/dev/null || e2e_die "ssh missing (Debian package openssh-client)"
    SSHD_DIR=$dir
    SSHD_USERS=("$@")
    # sshd needs its privilege separation directory; made only if missing.
    if [ ! -d /run/sshd ]; then
        install -d -m 0755 /run/sshd
        SSHD_MADE_PRIVSEP=yes
    fi
    install -d -m 0755 "$dir" "$dir/sshd_config.d" "$dir/authorized_keys"
    ssh-keygen -q -t ed25519 -N '' -C jit-e2e-host -f "$dir/host_key"
    SSH_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    {
        echo "# jit end-to-end sshd (removed after the run)"
        echo "Include $dir/sshd_config.d/*.conf"
        echo "ListenAddress 127.0.0.1"
        echo "Port $SSH_PORT"
        echo "HostKey $dir/host_key"
        echo "PidFile $dir/sshd.pid"
        echo "AuthorizedKeysFile $dir/authorized_keys/%u"
        echo "AllowUsers $*"
        printf '%s\n' "PubkeyAuthentication yes" "PasswordAuthentication no" \
            "KbdInteractiveAuthentication no" "UsePAM no" "PermitRootLogin no" "StrictModes yes" \
            "X11Forwarding no" "AllowTcpForwarding no" "PrintMotd no"
    } > "$dir/sshd_config"
    "$SSHD" -t -f "$dir/sshd_config" || e2e_die "the test's sshd configuration does not check"
    echo "jit-e2e-web-1 $(cut -d' ' -f1-2 "$dir/host_key.pub")" > "$dir/known_hosts"
    for u in "$@"; do
        # Key authentication only: a password of '*' is no password, but
        # unlike useradd's '!' it does not lock the account (UsePAM no).
        usermod -p '*' "$u"
        install -d -o "$u" -m 0700 "$dir/client-$u"
        ssh-keygen -q -t ed25519 -N '' -C "jit-e2e-$u" -f "$dir/client-$u/key"
        chown "$u" "$dir/client-$u/key" "$dir/client-$u/key.pub"
        install -m 0644 "$dir/client-$u/key.pub" "$dir/authorized_keys/$u"
        for alias in jit-e2e-web-1 jit-e2e-plain jit-e2e-signer; do
            printf '%s\n' "Host $alias" "    HostName 127.0.0.1" "    Port $SSH_PORT" "    User $u" \
                "    HostKeyAlias jit-e2e-web-1" "    IdentityFile $dir/client-$u/key" \
                "    IdentitiesOnly yes" "    BatchMode yes" "    StrictHostKeyChecking yes" \
                "    UserKnownHostsFile $dir/known_hosts" "    GlobalKnownHostsFile /dev/null" \
                "    ConnectTimeout 10" "    LogLevel ERROR"
            # Only the web-* host entry sends the token, as docs/ssh.md advises.
            if [ "$alias" = jit-e2e-web-1 ]; then echo "    SendEnv JIT_TOKEN"; fi
        done > "$dir/client-$u/config"
        chown "$u" "$dir/client-$u/config"
    done
}

sshd_start() {
    "$SSHD" -f "$SSHD_DIR/sshd_config" -D -e 2>"$SSHD_DIR/sshd.log" &
    SSHD_PID=$!
    sshd_wait "start"
}

sshd_wait() {
    local i u=${SSHD_USERS[0]}
    for i in $(seq 100); do
        kill -0 "$SSHD_PID" 2>/dev/null || e2e_die "sshd exited ($1): $(tail -n 5 "$SSHD_DIR/sshd.log")"
        if [ -s "$SSHD_DIR/sshd.pid" ] && ssh -F "$SSHD_DIR/client-$u/config" jit-e2e-plain true \
            </dev/null >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    e2e_die "sshd does not accept logins on 127.0.0.1:$SSH_PORT ($1): $(tail -n 5 "$SSHD_DIR/sshd.log")"
}

sshd_stop() {
    if [ -n "$SSHD_PID" ]; then
        kill "$SSHD_PID" 2>/dev/null || true
        wait "$SSHD_PID" 2>/dev/null || true
        SSHD_PID=
    fi
    if [ "$SSHD_MADE_PRIVSEP" = yes ]; then
        rmdir /run/sshd 2>/dev/null || true
        SSHD_MADE_PRIVSEP=no
    fi
}

on_host() {
    local alias=$1 n; shift
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    n=$(wc -l < "$SSHD_DIR/sshd.log")
    before=$(log_lines)
    set +e
    env -i PATH=/usr/bin:/bin HOME=/nonexistent "${envs[@]}" \
        timeout 60 ssh -F "$SSHD_DIR/ssh_config" "$alias" "$@" </dev/null >"$OUT" 2>"$ERR"
    RC=$?
    set -e
    tail -n "+$((n + 1))" "$SSHD_DIR/sshd.log" > "$SSHD_DIR/attempt.log"
}
