# Shared set-up for end-to-end runs of pam_jit under sudo-rs (sourced).
#
# sudo-rs (crates.io `sudo-rs`, 0.2.x) always uses the PAM service `sudo` and
# reads /etc/sudoers, so it cannot be pointed at a test stack from outside: it
# runs in a throw-away Debian 12 chroot whose /etc/pam.d/sudo is the pam_jit
# test stack. Nothing outside the temp dir and the caches below is changed:
#   /var/cache/jit-ci/sudo-rs/bin/sudo   sudo-rs, built once (cargo install)
#   /var/cache/jit-ci/chroot-bookworm-*.tar.zst  the pristine chroot (shared
#                                        with tests/ci.d/60-packages.sh)
# rs_teardown (run it from an EXIT trap) unmounts /proc, /dev/pts and /dev and
# deletes the chroot.
# Requires root, BIN (jit-signer, jit-verify, libpam_jit.so) and network access
# to crates.io and deb.debian.org the first time.

RS_CACHE=${JIT_CI_CACHE:-/var/cache/jit-ci}
RS_MIRROR=${JIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# The same package set and cache name as tests/ci.d/60-packages.sh, so one
# bootstrap serves both.
RS_CHROOT_PKGS=sudo,logrotate,selinux-policy-default,policycoreutils,setools
RS_TARBALL=$RS_CACHE/chroot-bookworm-$(printf '%s' "$RS_CHROOT_PKGS" | md5sum | cut -c1-8).tar.zst
RS_SUDO=$RS_CACHE/sudo-rs/bin/sudo
# Inside the chroot.
JR=/jit
UA=jitrs-a
UB=jitrs-b
R=
RS_MOUNTS=()

rs_die() { echo "sudo-rs e2e: $*" >&2; exit 1; }

# rs_build_sudo: cargo install sudo-rs once into the cache.
rs_build_sudo() {
    if [ -x "$RS_SUDO" ]; then echo "     sudo-rs: cached ($("$RS_SUDO" --version 2>/dev/null | head -n 1))"; return; fi
    command -v cargo >/dev/null || rs_die "cargo is not installed"
    local t
    t=$(date +%s)
    # Its own target dir: the workspace's CARGO_TARGET_DIR (tests/run.sh
    # exports it) must not collect sudo-rs's build.
    CARGO_TARGET_DIR="$RS_WORK/cargo-target" cargo install --locked sudo-rs --version '^0.2' --root "$RS_CACHE/sudo-rs" \
        >"$RS_WORK/cargo-install.log" 2>&1 || { tail -30 "$RS_WORK/cargo-install.log"; rs_die "cargo install sudo-rs failed"; }
    echo "     sudo-rs: built in $(($(date +%s) - t)) s"
}

rs_bootstrap() {
    [ -f "$RS_TARBALL" ] && return
    local t
    t=$(date +%s)
    command -v debootstrap >/dev/null || rs_die "debootstrap is not installed"
    mkdir -p "$RS_CACHE"
    debootstrap --variant=minbase --include="$RS_CHROOT_PKGS" bookworm "$RS_WORK/bootstrap" "$RS_MIRROR" \
        >"$RS_WORK/debootstrap.log" 2>&1 || { tail -20 "$RS_WORK/debootstrap.log"; rs_die "debootstrap failed"; }
    tar -C "$RS_WORK/bootstrap" --numeric-owner -cf - . | zstd -q -T0 -3 -o "$RS_TARBALL.tmp.$$"
    mv "$RS_TARBALL.tmp.$$" "$RS_TARBALL"
    rm -rf --one-file-system "$RS_WORK/bootstrap"
    echo "     bootstrap: $(($(date +%s) - t)) s"
}

rs_mount() { # TYPE-OR-BIND SRC DST
    if [ "$1" = bind ]; then mount --bind "$2" "$3"; else mount -t "$1" "$2" "$3"; fi
    RS_MOUNTS+=("$3")
}

rs_teardown() {
    local i
    for ((i = ${#RS_MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${RS_MOUNTS[$i]}" 2>/dev/null || umount -l "${RS_MOUNTS[$i]}" 2>/dev/null || true
    done
    RS_MOUNTS=()
    # Never follow anything still mounted into the chroot.
    [ -n "${RS_WORK:-}" ] && rm -rf --one-file-system "$RS_WORK"
    return 0
}

# in_root CMD...: as root in the chroot, clean environment.
in_root() {
    chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"
}

# rs_write_conf FILE(in chroot) [extra lines...]
rs_write_conf() {
    local f=$R$1; shift
    {
        echo "host_groups = e2e-hosts, other-group"
        echo "trusted_keys = $JR/keys/trusted-keys"
        echo "log = $JR/log/audit.log"
        echo "state = $JR/state/log.state"
        echo "seal_key_export = $JR/state/seal-key.initial"
        echo "syslog = no"
        for l in "$@"; do echo "$l"; done
    } > "$f"
    chmod 0644 "$f"
}

# rs_stack [module args...]: /etc/pam.d/sudo in the chroot = the pam_jit test stack.
rs_stack() {
    cat > "$R/etc/pam.d/sudo" <<PAM
# jit end-to-end test stack for sudo-rs (inside a throw-away chroot)
auth     required   pam_deny.so
account  required   $JR/pam_jit.so config=$JR/pam_jit.conf $*
session  required   $JR/pam_jit.so config=$JR/pam_jit.conf $*
PAM
    chmod 0644 "$R/etc/pam.d/sudo"
}

# rs_setup: build sudo-rs, unpack the chroot, install everything. Sets R.
rs_setup() {
    local t p u
    [ "$(id -u)" = 0 ] || rs_die "must run as root"
    PAM_SO=${PAM_SO:-$(dirname "$BIN")/pam/libpam_jit.so}
    [ -x "$BIN/jit-signer" ] && [ -x "$BIN/jit-verify" ] && [ -f "$PAM_SO" ] \
        || rs_die "BIN=$BIN lacks jit-signer or jit-verify, or $PAM_SO is missing (build first: tools/build-release.sh)"
    for t in zstd tar chroot mount setpriv python3; do
        command -v "$t" >/dev/null || rs_die "$t is not installed"
    done
    RS_WORK=$(mktemp -d /var/tmp/jit-sudo-rs.XXXXXX)
    rs_build_sudo
    rs_bootstrap
    R=$RS_WORK/root
    mkdir -p "$R"
    zstd -dc "$RS_TARBALL" | tar -C "$R" --numeric-owner -xf -
    rs_mount bind /dev "$R/dev"
    rs_mount devpts devpts "$R/dev/pts" 2>/dev/null || rs_mount bind /dev/pts "$R/dev/pts"
    rs_mount proc proc "$R/proc"
    echo "127.0.1.1 $(hostname)" >> "$R/etc/hosts"
    for p in libpam-modules libpam-runtime util-linux passwd; do
        in_root dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || { in_root apt-get -qq update >/dev/null && in_root apt-get -qq install -y "$p" >/dev/null; } \
            || rs_die "cannot install $p in the chroot"
    done
    # sudo-rs replaces Debian's sudo binary (the package's other files stay
    # inert), installed as distributions ship it: /usr/bin/sudo-rs, with `sudo`
    # a symbolic link to it. pam_jit recognises sudo-rs by /proc/self/exe's
    # final component `sudo-rs` (the kernel resolves the link).
    install -o root -g root -m 4755 "$RS_SUDO" "$R/usr/bin/sudo-rs"
    ln -sfn sudo-rs "$R/usr/bin/sudo"
    umask 022
    mkdir -p "$R$JR/keys" "$RS_WORK/signer"
    chmod 0700 "$RS_WORK/signer"
    install -o root -g root -m 0644 "$PAM_SO" "$R$JR/pam_jit.so"
    "$BIN/jit-signer" keygen --kid e2e-k1 --out "$RS_WORK/signer" >/dev/null
    install -m 0644 "$RS_WORK/signer/e2e-k1.pub" "$R$JR/keys/trusted-keys"
    rs_write_conf "$JR/pam_jit.conf"
    rs_stack
    for u in "$UA" "$UB"; do in_root useradd --create-home --shell /bin/bash "$u"; done
    cat > "$R/etc/sudoers" <<SUDOERS
# jit end-to-end test (throw-away chroot)
Defaults env_reset
Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
root ALL=(ALL:ALL) ALL
$UA ALL=(ALL:ALL) NOPASSWD: ALL
$UB ALL=(ALL:ALL) NOPASSWD: ALL
SUDOERS
    chmod 0440 "$R/etc/sudoers"
    rm -rf "$R/etc/sudoers.d"/*
}

# rs_issue [jit-signer issue args...]: a token from the trusted key (prints it).
rs_issue() { "$BIN/jit-signer" issue --ledger "$RS_WORK/signer/ledger/ledger.log" --key "$RS_WORK/signer/e2e-k1.key" "$@"; }

# as_user USER [VAR=value...] -- CMD...: CMD as USER inside the chroot, clean
# environment. stdout in $OUT, stderr in $ERR, status in $RC.
as_user() {
    local u=$1; shift
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    set +e
    chroot "$R" setpriv --reuid="$u" --regid="$u" --init-groups --reset-env \
        env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="/home/$u" USER="$u" LOGNAME="$u" \
        "${envs[@]}" "$@" </dev/null >"$OUT" 2>"$ERR"
    RC=$?
    set -e
}

# as_user_tty: like as_user, but on a pseudo-terminal (script(1)): sudo-rs
# writes PAM conversation messages to /dev/tty only, never to stderr. The
# terminal's output (command output and messages) lands in $OUT.
as_user_tty() {
    local u=$1; shift
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    set +e
    chroot "$R" setpriv --reuid="$u" --regid="$u" --init-groups --reset-env \
        env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="/home/$u" USER="$u" LOGNAME="$u" TERM=dumb \
        "${envs[@]}" script -qec "$(printf "%q " "$@")" /dev/null </dev/null >"$OUT" 2>"$ERR"
    RC=$?
    set -e
}

rs_log() { echo "$R$JR/log/audit.log"; }
log_lines() { if [ -f "$(rs_log)" ]; then wc -l < "$(rs_log)"; else echo 0; fi; }
