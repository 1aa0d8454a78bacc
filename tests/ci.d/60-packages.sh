#!/usr/bin/env bash
# The packages end to end (issue 5), each step against the real thing:
#   build     packaging/build.sh (the one documented command) into a temp dir
#   lint      lintian (no errors or warnings) and rpmlint with packaging/rpm/rpmlint.toml
#   .deb      in a Debian 12 chroot: install (inert), enable, a real sudo by an
#             unprivileged user allowed with a token from the workspace's
#             jit-signer and denied without, logrotate with the packaged config
#             and jit-verify across the segments, upgrade over locally edited
#             conffiles (--force-confdef --force-confold), removal refused while
#             another sudoers file selects the stack, remove, purge, purge while
#             enabled; sudo works for root and a plain sudoers user after each
#   .rpm      installed with its scriptlets into such a root (rpm --root), every
#             %attr/%dir of the spec (rpmspec -P) checked against the installed
#             files, rpm -V, erase while enabled
#   SELinux   postinst loads the module where SELinux is enabled (selinuxenabled
#             faked in the chroot), sesearch asserts the allow rules of sudo's
#             domains (read config/keys, append log) and the absence of write,
#             unlink, rename on the log; matchpathcon asserts the file contexts;
#             postrm unloads it
# Everything happens in chroots under a temp dir; /proc and /dev bind mounts are
# unmounted on exit whatever happens. The pristine chroot is cached as a tarball
# under /var/cache/jit-ci so later runs do not re-bootstrap.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
T0=$(date +%s)
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
CACHE=${JIT_CI_CACHE:-/var/cache/jit-ci}
MIRROR=${JIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CHROOT_PKGS=sudo,logrotate,selinux-policy-default,policycoreutils,setools
TARBALL=$CACHE/chroot-bookworm-$(printf '%s' "$CHROOT_PKGS" | md5sum | cut -c1-8).tar.zst

die() { echo "60-packages: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"
for t in debootstrap lintian rpmlint rpm rpmbuild rpmspec zstd dpkg-deb python3 mount chroot; do
    command -v "$t" >/dev/null || die "$t is not installed (see .ci/apt-packages.txt)"
done
[ -x "$BIN/jit-signer" ] || die "$BIN/jit-signer missing: build the workspace first"

WORK=$(mktemp -d /var/tmp/jit-pkg-test.XXXXXX)
MOUNTS=()
cleanup() {
    local i
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}" 2>/dev/null || true
    done
    # Never follow anything still mounted into the chroots.
    rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

# shellcheck source=../e2e/tally.sh
. tests/e2e/tally.sh
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

# --- build and lint -------------------------------------------------------------
t=$(date +%s)
bash packaging/build.sh "$WORK/out" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; die "packaging/build.sh failed"; }
echo "     build: $(($(date +%s) - t)) s"
DEB=$(ls "$WORK"/out/libpam-jit_*_amd64.deb)
SDEB=$(ls "$WORK"/out/jit-signer_*_amd64.deb)
RPM=$(ls "$WORK"/out/pam_jit-*.x86_64.rpm)
SRPM=$(ls "$WORK"/out/jit-signer-*.x86_64.rpm)

if lintian -I --pedantic --fail-on error,warning "$DEB" "$SDEB" >"$WORK/lintian" 2>&1 \
    && ! grep -E '^(E|W):' "$WORK/lintian"; then
    ok "lintian: no errors or warnings"
else
    bad "lintian" "$(grep -E '^(E|W):' "$WORK/lintian" | head -20)"
fi
if rpmlint -c packaging/rpm/rpmlint.toml "$RPM" "$SRPM" >"$WORK/rpmlint" 2>&1 \
    && grep -q ' 0 errors, 0 warnings' "$WORK/rpmlint"; then
    ok "rpmlint: no errors or warnings"
else
    bad "rpmlint" "$(grep -E ': (E|W): |errors' "$WORK/rpmlint" | head -20)"
fi
# The binaries in the packages are stripped.
mkdir -p "$WORK/x"
dpkg-deb -x "$DEB" "$WORK/x"
if file "$WORK/x/usr/bin/jit-verify" "$WORK/x/lib/x86_64-linux-gnu/security/pam_jit.so" | grep -q 'not stripped'; then
    bad "deb: binaries stripped"
else
    ok "deb: binaries stripped"
fi
deps=$(dpkg-deb -f "$DEB" Depends)
case "$deps" in *libc6*) ok "deb: Depends from shlibdeps ($deps)" ;; *) bad "deb: Depends" "$deps" ;; esac
# One entry per library (cargo-deb's $auto alone listed libc6 once per binary).
for d in "$DEB" "$SDEB"; do
    deps=$(dpkg-deb -f "$d" Depends)
    dups=$(tr ',' '\n' <<<"$deps" | sed 's/^ *//; s/ .*//' | sort | uniq -d | tr '\n' ' ')
    [ -z "$dups" ] && ok "deb: $(basename "$d"): each library once in Depends" \
        || bad "deb: $(basename "$d"): Depends names $dups more than once" "$deps"
done

# --- chroots ------------------------------------------------------------------------
if [ ! -f "$TARBALL" ]; then
    t=$(date +%s)
    echo "     bootstrapping $TARBALL (once)"
    mkdir -p "$CACHE"
    debootstrap --variant=minbase --include="$CHROOT_PKGS" bookworm "$WORK/bootstrap" "$MIRROR" \
        >"$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log"; die "debootstrap failed"; }
    tar -C "$WORK/bootstrap" --numeric-owner -cf - . | zstd -q -T0 -3 -o "$TARBALL.tmp.$$"
    mv "$TARBALL.tmp.$$" "$TARBALL"
    rm -rf --one-file-system "$WORK/bootstrap"
    echo "     bootstrap: $(($(date +%s) - t)) s"
fi

# mk_root NAME: a fresh chroot at $WORK/NAME with /dev and /proc; sets R.
mk_root() {
    R=$WORK/$1
    mkdir -p "$R"
    zstd -dc "$TARBALL" | tar -C "$R" --numeric-owner -xf -
    mount --bind /dev "$R/dev"; MOUNTS+=("$R/dev")
    mount -t proc proc "$R/proc"; MOUNTS+=("$R/proc")
    echo "127.0.1.1 $(hostname)" >> "$R/etc/hosts"
}
# in_root CMD...: as root in the chroot, clean environment. Output to $WORK/o, $WORK/e; status $RC.
in_root() {
    set +e
    chroot "$R" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive "$@" </dev/null >"$WORK/o" 2>"$WORK/e"
    RC=$?
    set -e
}
# as_user USER [VAR=value...] -- CMD...: as USER in the chroot, clean environment.
as_user() {
    local u=$1; shift
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    set +e
    chroot --userspec="$u:$u" "$R" /usr/bin/env -i PATH=/usr/bin:/bin HOME="/home/$u" \
        USER="$u" LOGNAME="$u" "${envs[@]}" "$@" </dev/null >"$WORK/o" 2>"$WORK/e"
    RC=$?
    set -e
}
rc_is() { [ "$RC" = "$1" ] || { echo "     rc=$RC stdout=$(head -c 300 "$WORK/o") stderr=$(head -c 500 "$WORK/e")"; return 1; }; }
err_has() { grep -qF -- "$1" "$WORK/e" || { echo "     stderr lacks '$1': $(head -c 500 "$WORK/e")"; return 1; }; }
not_out_has() { ! grep -qF -- "$1" "$WORK/o" || { echo "     stdout has '$1': $(grep -F -- "$1" "$WORK/o" | head -c 500)"; return 1; }; }
not_err_has() { ! grep -qF -- "$1" "$WORK/e" || { echo "     stderr has '$1': $(head -c 500 "$WORK/e")"; return 1; }; }
mode_is() { # PATH MODE OWNER GROUP (in $R)
    local got
    got=$(stat -c '%a %U %G' "$R$1" 2>/dev/null) || { echo "     $1 missing"; return 1; }
    [ "$got" = "$2 $3 $4" ] || { echo "     $1: $got, wanted $2 $3 $4"; return 1; }
}
absent() { [ ! -e "$R$1" ] || { echo "     $1 exists"; return 1; }; }
present() { [ -e "$R$1" ] || { echo "     $1 missing"; return 1; }; }

# sudo_works STEP: root (its normal stack) and the plain sudoers user bob.
sudo_works() {
    in_root sudo -n /usr/bin/true
    check "$1: root's sudo works" rc_is 0
    as_user bob -- sudo -n /usr/bin/true
    check "$1: plain sudoers user's sudo works" rc_is 0
}

# --- the .deb -----------------------------------------------------------------------------
t=$(date +%s)
mk_root deb
DROOT=$R
cp "$DEB" "$SDEB" "$R/tmp/"
in_root useradd -m -s /bin/bash alice
in_root useradd -m -s /bin/bash bob
printf 'alice ALL=(ALL:ALL) NOPASSWD: ALL\nbob ALL=(ALL:ALL) NOPASSWD: ALL\n' > "$R/etc/sudoers.d/ci-users"
chmod 0440 "$R/etc/sudoers.d/ci-users"
sudo_works "before install"

# Keys and tokens from the workspace's jit-signer (on the host: the signing
# key never enters the host chroot).
mkdir -p "$WORK/signer"
"$BIN/jit-signer" keygen --kid ci-k1 --out "$WORK/signer" >/dev/null
issue() { "$BIN/jit-signer" issue --ledger "$WORK/signer/ledger/ledger.log" --key "$WORK/signer/ci-k1.key" --host-group ci-hosts --reason "packaging CI" "$@"; }
TOK_TRUE=$(issue --user alice --command /usr/bin/true)

in_root dpkg -i "/tmp/$(basename "$DEB")" "/tmp/$(basename "$SDEB")"
check "install: dpkg -i" rc_is 0
in_root jit-ctl status
check "install: inert (jit-ctl status says disabled, exit 3)" rc_is 3
check "install: no sudoers drop-in" absent /etc/sudoers.d/zz-jit
as_user alice -- sudo -n /usr/bin/true
check "install: alice's sudo works without a token (inert)" rc_is 0
sudo_works "install"
check "install: pam_jit.so 0644 at the multiarch path" mode_is /lib/x86_64-linux-gnu/security/pam_jit.so 644 root root
check "install: /var/log/jit 0700 root" mode_is /var/log/jit 700 root root
check "install: /var/lib/jit 0700 root" mode_is /var/lib/jit 700 root root
check "install: /etc/security/jit 0755 root" mode_is /etc/security/jit 755 root root
check "install: pam_jit.conf 0644 root" mode_is /etc/security/pam_jit.conf 644 root root
check "install: drop-in source 0644" mode_is /usr/share/jit/sudoers-zz-jit 644 root root
# The sshd snippet is shipped inert: only under /usr/share/jit, holding one
# directive (AcceptEnv JIT_TOKEN); jit-ctl enable --ssh installs it (tested
# with a real sshd in 42-pam-ssh.sh).
check "install: sshd snippet source 0644" mode_is /usr/share/jit/sshd-jit.conf 644 root root
check "install: sshd snippet inert (nothing in /etc/ssh/sshd_config.d)" absent /etc/ssh/sshd_config.d/jit.conf
[ "$(grep -v '^[[:space:]]*\(#.*\)\{0,1\}$' "$R/usr/share/jit/sshd-jit.conf")" = "AcceptEnv JIT_TOKEN" ] \
    && ok "install: sshd snippet holds AcceptEnv JIT_TOKEN only" || bad "install: sshd snippet contents"
# The certificate snippet likewise (TrustedUserCAKeys, AuthorizedPrincipalsFile,
# RevokedKeys as @...@ placeholders jit-ctl fills in), and the KRL writer is a
# helper under /usr/libexec/jit; nothing in /etc/ssh/jit until an image
# builder installs the CA key (tested with a real sshd in 48-ssh-krl.sh).
check "install: certificate snippet source 0644" mode_is /usr/share/jit/sshd-jit-cert.conf 644 root root
[ "$(grep -v '^[[:space:]]*\(#.*\)\{0,1\}$' "$R/usr/share/jit/sshd-jit-cert.conf" | cut -d' ' -f1 | tr '\n' ' ')" \
    = "TrustedUserCAKeys AuthorizedPrincipalsFile RevokedKeys " ] \
    && ok "install: certificate snippet holds the three directives only" || bad "install: certificate snippet contents"
check "install: jit-krl helper" mode_is /usr/libexec/jit/jit-krl 755 root root
check "install: no /etc/ssh/jit until the CA key is installed" absent /etc/ssh/jit
# The rsyslog forwarding snippet and the collector configuration are shipped
# inert too: only under /usr/share/jit; jit-ctl enable --forward installs the
# host one (tested with real daemons in 23-log-forward.sh).
check "install: rsyslog forward snippet source 0644" mode_is /usr/share/jit/rsyslog-jit-forward.conf 644 root root
check "install: rsyslog collector config 0644" mode_is /usr/share/jit/rsyslog-jit-collector.conf 644 root root
check "install: forwarding inert (nothing in /etc/rsyslog.d)" absent /etc/rsyslog.d/60-jit-forward.conf
check "install: jit-verify" mode_is /usr/bin/jit-verify 755 root root
check "install: jit-signer (signer package)" mode_is /usr/bin/jit-signer 755 root root
for m in /usr/share/man/man8/pam_jit.8.gz /usr/share/man/man5/pam_jit.conf.5.gz /usr/share/man/man8/jit-ctl.8.gz \
    /usr/share/man/man1/jit-verify.1.gz /usr/share/man/man1/jit-verify-log.1.gz /usr/share/man/man1/jit-signer.1.gz \
    /usr/share/bash-completion/completions/jit-verify /usr/share/zsh/vendor-completions/_jit-verify \
    /usr/share/fish/vendor_completions.d/jit-verify.fish /usr/share/bash-completion/completions/jit-signer \
    /usr/share/selinux/packages/jit.pp /etc/logrotate.d/jit /etc/pam.d/sudo-jit \
    /usr/share/doc/jit-signer/signer-policy.md /usr/share/doc/jit-signer/jit-signer.md \
    /usr/share/doc/libpam-jit/ssh.md /usr/share/doc/libpam-jit/revocation.md /usr/share/doc/libpam-jit/fleet.md \
    /usr/share/doc/libpam-jit/log-format.md /usr/share/doc/libpam-jit/export.md \
    /usr/share/doc/libpam-jit/json.md; do
    check "install: $m" present "$m"
done
# --- the signer package: the service's user, unit, directories, and a run --
in_root getent passwd jit-signer
check "signer: system user jit-signer" rc_is 0
check "signer: /etc/jit-signer 0755 root" mode_is /etc/jit-signer 755 root root
check "signer: unit installed" present /usr/lib/systemd/system/jit-signer.service
check "signer: not enabled by the install" absent /etc/systemd/system/multi-user.target.wants/jit-signer.service
check "signer: /etc/default/jit-signer" present /etc/default/jit-signer
check "signer: signer-service.md installed" present /usr/share/doc/jit-signer/signer-service.md
check "signer: ssh-cert.md installed" present /usr/share/doc/jit-signer/ssh-cert.md
# systemd-analyze verify, clean (no warning either): the packaged unit and
# binary in a scratch root holding this machine's systemd units.
UV=$WORK/unit-verify
mkdir -p "$UV/usr/bin" "$UV/usr/lib/systemd" "$UV/etc/systemd/system"
cp -a /lib/systemd/system "$UV/usr/lib/systemd/"
cp "$R/usr/bin/jit-signer" "$UV/usr/bin/"
cp "$R/usr/lib/systemd/system/jit-signer.service" "$UV/etc/systemd/system/"
if v=$(systemd-analyze verify --man=no --root="$UV" /etc/systemd/system/jit-signer.service 2>&1) && [ -z "$v" ]; then
    ok "signer: systemd-analyze verify is clean"
else bad "signer: systemd-analyze verify" "$v"; fi
exposure=$(systemd-analyze security --offline=yes --root="$UV" /etc/systemd/system/jit-signer.service 2>/dev/null \
    | sed -n 's/.*Overall exposure level for jit-signer.service: \([0-9.]*\).*/\1/p')
if [ -n "$exposure" ] && awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
    ok "signer: systemd-analyze security exposure $exposure (at most 2.0)"
else bad "signer: systemd-analyze security" "exposure '$exposure'"; fi
# The unit's own command line, run as the unit would (its user, its
# directories; no systemd in a chroot): alice asks, bob approves, alice
# collects the token.
cat > "$R/etc/jit-signer/policy.toml" <<'EOF'
[[rule]]
name = "ci"
users = ["alice"]
host_groups = ["ci-hosts"]
commands = ["/usr/bin/true"]
max_ttl = "1h"
approvers = ["bob"]
EOF
in_root jit-signer keygen --kid svc-ci --out /etc/jit-signer
in_root chown jit-signer:jit-signer /etc/jit-signer/svc-ci.key
sed -i 's|^JIT_SIGNER_OPTS=.*|JIT_SIGNER_OPTS="--key /etc/jit-signer/svc-ci.key"|' "$R/etc/default/jit-signer"
install -d -o "$(chroot "$R" id -u jit-signer)" -m 0755 "$R/run/jit-signer"
install -d -o "$(chroot "$R" id -u jit-signer)" -m 0700 "$R/var/lib/jit-signer"
# What the unit's StateDirectory= makes, and the default file's list directory.
install -d -o "$(chroot "$R" id -u jit-signer)" -m 0700 "$R/var/lib/jit-signer/revocation"
# shellcheck disable=SC1091
REVDIR=$(. "$R/etc/default/jit-signer"; echo "$JIT_REVOCATION_DIR")
EXEC=$(sed -n 's/^ExecStart=//p' "$R/usr/lib/systemd/system/jit-signer.service")
# shellcheck disable=SC1091
JIT_SIGNER_OPTS=$(. "$R/etc/default/jit-signer"; echo "$JIT_SIGNER_OPTS")
EXEC=${EXEC//\$JIT_SIGNER_OPTS/$JIT_SIGNER_OPTS}
# shellcheck disable=SC2086
chroot --userspec=jit-signer:jit-signer "$R" /usr/bin/env -i PATH=/usr/bin:/bin JIT_REVOCATION_DIR="$REVDIR" $EXEC \
    </dev/null >/dev/null 2>"$WORK/serve.err" &
SPID=$!
for _ in $(seq 1 200); do
    chroot "$R" jit-signer status >/dev/null 2>&1 && break
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.05
done
as_user alice -- jit-signer request --host-group ci-hosts --command /usr/bin/true --reason "packaging CI"
check "signer: alice's request through the packaged unit's command line" rc_is 0
RQ=$(head -n 1 "$WORK/o")
as_user bob -- jit-signer approve "$RQ"
check "signer: bob approves" rc_is 0
as_user alice -- jit-signer fetch "$RQ"
check "signer: alice collects the token" rc_is 0
check "signer: serve consults the default file's revocation directory" \
    grep -qF "no revocation list in /var/lib/jit-signer/revocation yet" "$WORK/serve.err"
in_root sh -c "jit-signer inspect --json '$(head -n 1 "$WORK/o")' | grep -q '\"approver\": \"bob\"'"
check "signer: the token names bob as approver" rc_is 0
# (Owner names as the chroot knows them: its jit-signer uid is not the host's.)
in_root stat -c '%a %U %G' /var/lib/jit-signer/ledger.log /var/lib/jit-signer/requests
check "signer: ledger and requests in the state directory, the service user's" \
    diff <(printf '600 jit-signer jit-signer\n700 jit-signer jit-signer\n') "$WORK/o"
kill -KILL "$SPID" 2>/dev/null || true
wait "$SPID" 2>/dev/null || true

# What --help points at is installed: no docs/... paths of the source tree.
for b in jit-signer jit-verify; do
    in_root sh -c "for s in '' \$($b --help | sed -n 's/^  \\([a-z-]*\\)  .*/\\1/p'); do $b \$s --help; done"
    check "install: $b --help names no source-tree docs" not_out_has "docs/"
    while read -r d; do
        check "install: $b --help points at $d, installed" present "$d"
    done < <(grep -o '/usr/share/doc/[^ )]*' "$WORK/o" | sort -u)
done
conff=$(chroot "$R" dpkg-query -W -f='${Conffiles}' libpam-jit | awk '{print $1}' | sort | tr '\n' ' ')
[ "$conff" = "/etc/logrotate.d/jit /etc/pam.d/sudo-jit /etc/security/jit/trusted-keys /etc/security/pam_jit.conf " ] \
    && ok "install: conffiles" || bad "install: conffiles" "$conff"

in_root jit-ctl --version
check "jit-ctl --version" rc_is 0
check "jit-ctl --version: the package's version" \
    grep -qx "jit-ctl $(dpkg-deb -f "$DEB" Version | sed 's/-[^-]*$//')" "$WORK/o"
# This chroot has no sshd (an sshd installed here would start on the
# machine's port 22): enable --ssh refuses and changes nothing.
in_root jit-ctl enable --ssh
check "enable --ssh: refused without sshd" rc_is 1
check "enable --ssh: says why" err_has "sshd not found"
check "enable --ssh: refused, nothing in /etc/ssh/sshd_config.d" absent /etc/ssh/sshd_config.d/jit.conf

# enable
in_root jit-ctl enable
check "enable: refused while unconfigured" rc_is 1
check "enable: says why" err_has "placeholder host group"
check "enable: says what to fix" err_has "set host_groups"
check "enable: does not suggest --force" not_err_has "--force"
check "enable: refused, no drop-in" absent /etc/sudoers.d/zz-jit
# Configure the host as an image build would (local edits of two conffiles).
sed -i 's/^host_groups = .*/host_groups = ci-hosts/' "$R/etc/security/pam_jit.conf"
in_root jit-ctl enable
check "enable: refused without a trusted key" rc_is 1
cat "$WORK/signer/ci-k1.pub" >> "$R/etc/security/jit/trusted-keys"
# A configuration pam_jit would refuse (group-writable, as after a careless
# copy in an image build) would deny every sudo: enable refuses it.
chmod 0664 "$R/etc/security/pam_jit.conf"
in_root jit-ctl enable
check "enable: refused when pam_jit would refuse the configuration" rc_is 1
check "enable: says why (the module's rule)" err_has "writable by group or others"
check "enable: does not suggest --force (it would deny every sudo)" not_err_has "--force"
check "enable: refused, still no drop-in" absent /etc/sudoers.d/zz-jit
chmod 0644 "$R/etc/security/pam_jit.conf"
in_root jit-verify config
check "jit-verify config: accepts the configured host" rc_is 0
in_root jit-ctl enable
check "enable: jit-ctl enable" rc_is 0
check "enable: drop-in 0440 root" mode_is /etc/sudoers.d/zz-jit 440 root root
in_root jit-ctl enable
check "enable: idempotent" rc_is 0
in_root visudo -c
check "enable: visudo -c passes" rc_is 0
in_root jit-ctl status
check "enable: status enabled" rc_is 0
# RHEL's /etc/sudoers.d is 0750: an unprivileged caller (a monitoring agent)
# cannot see the drop-in, and must not be told "disabled".
mode=$(stat -c %a "$R/etc/sudoers.d")
chmod 0750 "$R/etc/sudoers.d"
in_root setpriv --reuid=65534 --regid=65534 --clear-groups jit-ctl status
chmod "$mode" "$R/etc/sudoers.d"
check "status: unprivileged caller who cannot read sudoers.d gets an error, not 'disabled'" rc_is 1
check "status: says to run as root" err_has "run as root"
# dpkg's deconfigure (and a remove that is aborted) takes the drop-in away
# before pam_jit.so could go; it must come back when the package stays.
in_root /var/lib/dpkg/info/libpam-jit.prerm deconfigure in-favour other-pkg 1.0
check "deconfigure: drop-in taken away" absent /etc/sudoers.d/zz-jit
in_root /var/lib/dpkg/info/libpam-jit.postinst abort-deconfigure in-favour other-pkg 1.0
check "abort-deconfigure: enforcement restored" present /etc/sudoers.d/zz-jit
in_root /var/lib/dpkg/info/libpam-jit.prerm remove
in_root /var/lib/dpkg/info/libpam-jit.postinst abort-remove
check "abort-remove: enforcement restored" present /etc/sudoers.d/zz-jit
in_root /var/lib/dpkg/info/libpam-jit.prerm deconfigure in-favour other-pkg 1.0
in_root /var/lib/dpkg/info/libpam-jit.postinst configure 0.1.0-1
check "configure after a deconfigure: enforcement restored" mode_is /etc/sudoers.d/zz-jit 440 root root
check "configure after a deconfigure: nothing held back" absent /etc/sudoers.d/.zz-jit.held
in_root jit-ctl status
check "configure after a deconfigure: status enabled" rc_is 0

# deny_allow STEP: alice denied without a token / with a token for another
# command, allowed with one for this command; the decision is logged.
deny_allow() {
    as_user alice -- sudo -n /usr/bin/true
    check "$1: alice denied without a token" rc_is 1
    check "$1: the module says why" err_has "jit: denied"
    as_user alice JIT_TOKEN="$TOK_TRUE" -- sudo -n /usr/bin/id -u
    check "$1: alice denied: token for another command" rc_is 1
    as_user alice JIT_TOKEN="$TOK_TRUE" -- sudo -n /usr/bin/true
    check "$1: alice allowed with a token (real sudo)" rc_is 0
    as_user bob -- sudo -n /usr/bin/true
    check "$1: bob (no token) denied" rc_is 1
}
deny_allow "enabled"
# The module creates the first log inside sudo, whose effective gid is the
# invoking user's group; the writer gives what it creates to root:root.
got=$(stat -c '%a %U %G' "$R/var/log/jit/audit.log" 2>&1)
[ "$got" = "600 root root" ] && ok "enabled: audit log 0600 root root" || bad "enabled: audit log 0600 root root" "$got"

# logrotate with the packaged configuration on the live log; the chain
# verifies across the segments with the packaged jit-verify.
in_root logrotate -f /etc/logrotate.d/jit
check "logrotate: runs" rc_is 0
check "logrotate: renamed segment" present /var/log/jit/audit.log.1
check "logrotate: new log created 0600 root" mode_is /var/log/jit/audit.log 600 root root
as_user alice JIT_TOKEN="$TOK_TRUE" -- sudo -n /usr/bin/true
check "logrotate: sudo after rotation allowed" rc_is 0
in_root jit-verify log /var/log/jit/audit.log.1 /var/log/jit/audit.log
check "logrotate: jit-verify passes across the segments" rc_is 0
grep -q '"continue"' "$R/var/log/jit/audit.log" && ok "logrotate: new segment starts with a continue record" \
    || bad "logrotate: continue record" "$(head -c 300 "$R/var/log/jit/audit.log")"

# disable / enable
in_root jit-ctl disable
check "disable: jit-ctl disable" rc_is 0
check "disable: drop-in removed" absent /etc/sudoers.d/zz-jit
in_root jit-ctl disable
check "disable: idempotent" rc_is 0
as_user alice -- sudo -n /usr/bin/true
check "disable: alice's sudo works without a token" rc_is 0
sudo_works "disabled"
# A drop-in that does not parse never goes live (visudo -cf first).
cp "$R/usr/share/jit/sudoers-zz-jit" "$WORK/dropin.good"
echo 'Defaults pam_service sudo-jit this is not sudoers' >> "$R/usr/share/jit/sudoers-zz-jit"
in_root jit-ctl enable
check "enable: broken drop-in refused" rc_is 1
check "enable: broken drop-in, says why" err_has "does not parse"
check "enable: broken drop-in never installed" absent /etc/sudoers.d/zz-jit
check "enable: no temporary file left" absent /etc/sudoers.d/.zz-jit.new
sudo_works "broken drop-in refused"
cp "$WORK/dropin.good" "$R/usr/share/jit/sudoers-zz-jit"
in_root jit-ctl enable
check "re-enable" rc_is 0

# upgrade over locally edited conffiles: version -2 changes pam_jit.conf and
# the drop-in; the local configuration is kept, the new drop-in installed.
rm -rf "$WORK/repack"
dpkg-deb -R "$DEB" "$WORK/repack"
ver=$(dpkg-deb -f "$DEB" Version)
sed -i "s/^Version: .*/Version: ${ver%-*}-2/" "$WORK/repack/DEBIAN/control"
echo "# changed in -2" >> "$WORK/repack/etc/security/pam_jit.conf"
echo "# drop-in of -2" >> "$WORK/repack/usr/share/jit/sudoers-zz-jit"
dpkg-deb -b --root-owner-group "$WORK/repack" "$R/tmp/libpam-jit-2.deb" >/dev/null
in_root dpkg -i --force-confdef --force-confold /tmp/libpam-jit-2.deb
check "upgrade: non-interactive dpkg -i over edited conffiles" rc_is 0
[ "$(chroot "$R" dpkg-query -W -f='${Version}' libpam-jit)" = "${ver%-*}-2" ] && ok "upgrade: new version installed" \
    || bad "upgrade: version"
grep -q '^host_groups = ci-hosts' "$R/etc/security/pam_jit.conf" && ok "upgrade: local pam_jit.conf kept" \
    || bad "upgrade: local pam_jit.conf kept"
grep -q 'ci-k1' "$R/etc/security/jit/trusted-keys" && ok "upgrade: local trusted-keys kept" || bad "upgrade: trusted-keys kept"
check "upgrade: new conffile version set aside" present /etc/security/pam_jit.conf.dpkg-dist
grep -q 'drop-in of -2' "$R/etc/sudoers.d/zz-jit" && ok "upgrade: enabled host got the new drop-in" \
    || bad "upgrade: drop-in refreshed"
check "upgrade: drop-in still 0440" mode_is /etc/sudoers.d/zz-jit 440 root root
deny_allow "upgraded"

# Removal is refused while another sudoers file selects the jit stack by hand
# (sudo would fail for those users once pam_jit.so is gone).
printf 'Defaults:bob pam_service=sudo-jit\n' > "$R/etc/sudoers.d/local-jit"
chmod 0440 "$R/etc/sudoers.d/local-jit"
in_root dpkg -r libpam-jit
check "remove refused: dpkg -r fails" rc_is 1
check "remove refused: names the file" err_has "/etc/sudoers.d/local-jit"
st=$(chroot "$R" dpkg-query -W -f='${Status}' libpam-jit)
# dpkg keeps the package installed (the selection becomes "deinstall").
case "$st" in *" ok installed") true ;; *) false ;; esac && ok "remove refused: package still installed" || bad "remove refused: package state" "$st"
check "remove refused: module still there" present /lib/x86_64-linux-gnu/security/pam_jit.so
as_user alice JIT_TOKEN="$TOK_TRUE" -- sudo -n /usr/bin/true
check "remove refused: sudo still enforced and working" rc_is 0
rm -f "$R/etc/sudoers.d/local-jit"

# remove while enabled
in_root dpkg -r libpam-jit
check "remove: dpkg -r while enabled" rc_is 0
check "remove: drop-in gone" absent /etc/sudoers.d/zz-jit
check "remove: no enabled state kept for a later install" absent /etc/sudoers.d/.zz-jit.held
check "remove: module gone" absent /lib/x86_64-linux-gnu/security/pam_jit.so
check "remove: conffiles kept" present /etc/security/pam_jit.conf
check "remove: audit log kept" present /var/log/jit/audit.log
as_user alice -- sudo -n /usr/bin/true
check "remove: alice's sudo works" rc_is 0
sudo_works "remove"

# purge
in_root dpkg -P libpam-jit
check "purge: dpkg -P" rc_is 0
check "purge: pam_jit.conf gone" absent /etc/security/pam_jit.conf
check "purge: stack gone" absent /etc/pam.d/sudo-jit
check "purge: /etc/security/jit gone" absent /etc/security/jit
check "purge: audit log kept (evidence)" present /var/log/jit/audit.log.1
check "purge: writer state kept" present /var/lib/jit/log.state
sudo_works "purge"

# purge straight from enabled
in_root dpkg -i "/tmp/$(basename "$DEB")"
check "reinstall" rc_is 0
in_root jit-ctl enable --force
check "reinstall: enable --force while unconfigured" rc_is 0
as_user alice JIT_TOKEN="$TOK_TRUE" -- sudo -n /usr/bin/true
check "reinstall: unconfigured module denies" rc_is 1
check "reinstall: with the configuration error" err_has "host group"
in_root dpkg -P libpam-jit
check "purge while enabled" rc_is 0
check "purge while enabled: drop-in gone" absent /etc/sudoers.d/zz-jit
sudo_works "purge while enabled"
as_user alice -- sudo -n /usr/bin/true
check "purge while enabled: alice's sudo works" rc_is 0
# An upgrade whose drop-in does not parse keeps the previous, valid drop-in
# (enforcement stays on, sudo keeps parsing its configuration) and warns.
in_root dpkg -i "/tmp/$(basename "$DEB")"
in_root jit-ctl enable --force
check "bad upgrade: enabled before" rc_is 0
cp "$R/etc/sudoers.d/zz-jit" "$WORK/dropin.before"
rm -rf "$WORK/repack3"
dpkg-deb -R "$DEB" "$WORK/repack3"
sed -i "s/^Version: .*/Version: ${ver%-*}-3/" "$WORK/repack3/DEBIAN/control"
echo 'Defaults pam_service sudo-jit this is not sudoers' >> "$WORK/repack3/usr/share/jit/sudoers-zz-jit"
dpkg-deb -b --root-owner-group "$WORK/repack3" "$R/tmp/libpam-jit-3.deb" >/dev/null
in_root dpkg -i --force-confdef --force-confold /tmp/libpam-jit-3.deb
check "bad upgrade: dpkg -i succeeds" rc_is 0
check "bad upgrade: warns" err_has "packaged drop-in was not installed"
cmp -s "$WORK/dropin.before" "$R/etc/sudoers.d/zz-jit" && ok "bad upgrade: previous drop-in kept" \
    || bad "bad upgrade: previous drop-in kept"
check "bad upgrade: no temporary files left" absent /etc/sudoers.d/.zz-jit.new
check "bad upgrade: no backup left" absent /etc/sudoers.d/.zz-jit.old
in_root visudo -c
check "bad upgrade: sudoers still parses" rc_is 0
as_user alice -- sudo -n /usr/bin/true
check "bad upgrade: still enforced (the module answers)" err_has "jit: denied"
in_root dpkg -P libpam-jit
check "bad upgrade: purge" rc_is 0
sudo_works "bad upgrade, purged"
echo "     deb chroot: $(($(date +%s) - t)) s"

# --- the .rpm -----------------------------------------------------------------------------
t=$(date +%s)
mk_root rpm
RPMQ=(rpm --root "$R" --dbpath /var/lib/rpm)
# As in the SELinux section below: let the scriptlets' semodule branch run
# (rpm gives scriptlets PATH=/sbin:/bin:/usr/sbin:/usr/bin, so replace the
# real selinuxenabled of this throw-away root).
printf '#!/bin/sh\nexit 0\n' > "$R/usr/sbin/selinuxenabled"
chmod 0755 "$R/usr/sbin/selinuxenabled"
mkdir -p "$R/var/lib/rpm"
"${RPMQ[@]}" --initdb
if "${RPMQ[@]}" --nodeps -ivh "$RPM" "$SRPM" >"$WORK/o" 2>&1; then ok "rpm: install with scriptlets"; else bad "rpm: install" "$(cat "$WORK/o")"; fi
if out=$("${RPMQ[@]}" -V --nodeps pam_jit jit-signer 2>&1) && [ -z "$out" ]; then ok "rpm: rpm -V clean"; else bad "rpm: rpm -V" "$out"; fi
# Every file line of the spec's %files sections, macros expanded by rpmspec.
rpmspec -P --target x86_64-linux --define "jit_version 0" --define "jit_src /" --define "jit_rel /" \
    packaging/rpm/jit.spec > "$WORK/spec.parsed" 2>/dev/null
if out=$(python3 - "$R" "$WORK/spec.parsed" <<'EOF'
import glob, os, pwd, grp, re, stat, sys
root, spec = sys.argv[1], sys.argv[2]
files, checked, errors = False, 0, []
for line in open(spec):
    line = line.strip()
    if line.startswith("%files"):
        files = True; continue
    if line.startswith("%") and not re.match(r"%(attr|dir|config|doc|license)\b", line):
        files = False; continue
    if not files or not line:
        continue
    m = re.search(r"%attr\((\d+),(\w+),(\w+)\)", line)
    is_dir = "%dir" in line
    path = line.split()[-1]
    found = glob.glob(root + path)
    if not found:
        errors.append(f"{path}: not installed"); continue
    for f in found:
        st = os.lstat(f)
        checked += 1
        if is_dir and not stat.S_ISDIR(st.st_mode):
            errors.append(f"{path}: not a directory")
        if not is_dir and not stat.S_ISREG(st.st_mode):
            errors.append(f"{path}: not a regular file")
        if m:
            mode, user, group = m.groups()
            got = (oct(stat.S_IMODE(st.st_mode))[2:], pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name)
            if got != (mode.lstrip("0") or "0", user, group):
                errors.append(f"{path}: {got}, spec says {mode} {user} {group}")
print(f"{checked} files checked")
for e in errors:
    print(e)
sys.exit(1 if errors or checked < 20 else 0)
EOF
); then ok "rpm: files, modes, owners as in the spec ($out)"; else bad "rpm: files vs spec" "$out"; fi
check "rpm: PAM module at /usr/lib64/security" mode_is /usr/lib64/security/pam_jit.so 644 root root
check "rpm: /var/log/jit owned 0700" mode_is /var/log/jit 700 root root
check "rpm: /var/lib/jit owned 0700" mode_is /var/lib/jit 700 root root
for d in /etc/security/jit /usr/share/jit /var/log/jit /var/lib/jit; do
    "${RPMQ[@]}" -qf "$d" >/dev/null 2>&1 && ok "rpm: $d owned by the package" || bad "rpm: $d owned by the package"
done
in_root jit-ctl status
check "rpm: installed inert" rc_is 3
in_root semodule -l
grep -qx 'jit' "$WORK/o" && ok "rpm: %post loaded the SELinux module" || bad "rpm: %post semodule -i"
in_root jit-ctl enable --force
check "rpm: jit-ctl enable" rc_is 0
echo "evidence" > "$R/var/log/jit/audit.log"
if "${RPMQ[@]}" --nodeps -e pam_jit >"$WORK/o" 2>&1; then ok "rpm: erase while enabled"; else bad "rpm: erase" "$(cat "$WORK/o")"; fi
check "rpm: erase removed the drop-in (%preun)" absent /etc/sudoers.d/zz-jit
check "rpm: erase removed the module" absent /usr/lib64/security/pam_jit.so
check "rpm: erase kept the audit log" present /var/log/jit/audit.log
check "rpm: erase removed the empty state dir" absent /var/lib/jit
in_root sudo -n /usr/bin/true
check "rpm: root's sudo works after erase" rc_is 0
in_root semodule -l
grep -qx 'jit' "$WORK/o" && bad "rpm: %postun unloaded the SELinux module" || ok "rpm: %postun unloaded the SELinux module"
echo "     rpm root: $(($(date +%s) - t)) s"

# --- SELinux ---------------------------------------------------------------------------------
t=$(date +%s)
mk_root selinux
cp "$DEB" "$R/tmp/"
# No SELinux kernel here: make the maintainer scripts believe it is enabled so
# that their semodule branch runs for real against the chroot's policy store.
printf '#!/bin/sh\nexit 0\n' > "$R/usr/local/sbin/selinuxenabled"
chmod 0755 "$R/usr/local/sbin/selinuxenabled"
in_root dpkg -i "/tmp/$(basename "$DEB")"
check "selinux: install runs semodule -i" rc_is 0
in_root semodule -l
grep -qx 'jit' "$WORK/o" && ok "selinux: module jit loaded by postinst" || bad "selinux: module loaded" "$(grep jit "$WORK/o")"
POL=/etc/selinux/default/policy/policy.33
# perms DOMAIN TYPE CLASS: the union of permissions all allow rules grant.
perms() {
    chroot "$R" sesearch -A -s "$1" -t "$2" -c "$3" "$POL" 2>/dev/null \
        | sed -n 's/.*{ \(.*\) };.*/\1/p; s/.*:[a-z_]* \([a-z_]*\);$/\1/p' | tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' '
}
# grants DOMAIN TYPE CLASS "must have" "must not have"
grants() {
    local have p
    have=" $(perms "$1" "$2" "$3")"
    for p in $4; do
        case "$have" in *" $p "*) ;; *) echo "     $1 -> $2:$3 lacks $p (has:$have)"; return 1 ;; esac
    done
    for p in $5; do
        case "$have" in *" $p "*) echo "     $1 -> $2:$3 has $p (has:$have)"; return 1 ;; esac
    done
}
# replay_transition DOMAIN: a file named replay.new created by DOMAIN in
# /var/lib/jit gets jit_replay_t (a name-based type_transition).
# The rules are read whole before grep looks at them: `sesearch | grep -q`
# under pipefail fails at random when grep exits first and sesearch gets
# SIGPIPE (seen once the policy had two name transitions).
transitions() { chroot "$R" sesearch -T -s "$1" -t jit_state_t -c file "$POL" 2>/dev/null; }
replay_transition() {
    local t; t=$(transitions "$1")
    grep -q 'jit_replay_t.*replay\.new' <<<"$t" \
        || { echo "     no type_transition to jit_replay_t for replay.new"; return 1; }
}
revstate_transition() {
    local t; t=$(transitions "$1")
    grep -q 'jit_revocation_state_t.*revocation-state\.new' <<<"$t" \
        || { echo "     no type_transition to jit_revocation_state_t for revocation-state.new"; return 1; }
}
NOWRITE="write append create unlink rename link setattr"
for dom in staff_sudo_t sysadm_sudo_t user_sudo_t; do
    check "selinux: $dom reads the config, no more" grants "$dom" jit_conf_t file "open read getattr" "$NOWRITE"
    check "selinux: $dom reads the keys, no more" grants "$dom" jit_keys_t file "open read getattr" "$NOWRITE"
    check "selinux: $dom reads revocation lists, no more" grants "$dom" jit_revocation_t file "open read getattr" "$NOWRITE"
    # write: ftruncate of a torn tail after a crash (selinux/README.md).
    check "selinux: $dom appends to the log and can cut a torn tail, no unlink/rename" \
        grants "$dom" jit_log_t file "open append getattr create write" "unlink rename link relabelfrom"
    check "selinux: $dom cannot remove or replace the log" \
        grants "$dom" jit_log_t dir "search add_name" "remove_name rename rmdir reparent"
    check "selinux: $dom rewrites and locks the state" \
        grants "$dom" jit_state_t file "open read write lock create" "unlink rename"
    check "selinux: $dom replaces the replay cache atomically" \
        grants "$dom" jit_replay_t file "open read write create rename unlink" "relabelfrom"
    check "selinux: $dom creates replay.new as jit_replay_t" replay_transition "$dom"
    check "selinux: $dom replaces the revocation state atomically" \
        grants "$dom" jit_revocation_state_t file "open read write create rename unlink" "relabelfrom"
    check "selinux: $dom creates revocation-state.new as jit_revocation_state_t" revstate_transition "$dom"
done
want_ctx() { # PATH TYPE
    local got
    got=$(chroot "$R" matchpathcon "$1" 2>&1 | awk '{print $2}')
    [ "$got" = "system_u:object_r:$2:s0" ] || { echo "     $1: $got"; return 1; }
}
check "selinux: context of pam_jit.conf" want_ctx /etc/security/pam_jit.conf jit_conf_t
check "selinux: context of trusted-keys" want_ctx /etc/security/jit/trusted-keys jit_keys_t
check "selinux: context of revocation lists" want_ctx /etc/security/jit/revocation/list jit_revocation_t
check "selinux: context of the log" want_ctx /var/log/jit/audit.log jit_log_t
check "selinux: context of a rotated segment" want_ctx /var/log/jit/audit.log.1 jit_log_t
check "selinux: context of the state" want_ctx /var/lib/jit/log.state jit_state_t
check "selinux: context of the lock file" want_ctx /var/lib/jit/log.state.lock jit_state_t
check "selinux: context of the replay cache" want_ctx /var/lib/jit/replay jit_replay_t
check "selinux: context of the revocation state" want_ctx /var/lib/jit/revocation-state jit_revocation_state_t
check "selinux: other logs unchanged" want_ctx /var/log/syslog var_log_t
in_root dpkg -P libpam-jit
check "selinux: purge runs semodule -r" rc_is 0
in_root semodule -l
grep -qx 'jit' "$WORK/o" && bad "selinux: module removed by postrm" || ok "selinux: module removed by postrm"
echo "     selinux chroot: $(($(date +%s) - t)) s"

echo
tally_end 60-packages " in $(($(date +%s) - T0)) s"
