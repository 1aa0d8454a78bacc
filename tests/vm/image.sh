#!/usr/bin/env bash
# Build the Debian 12 test VM image from Debian packages only, or reuse the
# cached one:
#
#     bash tests/vm/image.sh        prints the image directory on stdout
#
# The image lives in $JIT_CI_CACHE/vm/<key>/ (default /var/cache/jit-ci/vm),
# <key> being a hash of this file and tests/vm/image/ (the recipe): any change
# to them builds a new image; older ones are removed. The directory holds
#   root.img        raw ext4 root file system, SELinux labels set offline
#   vmlinuz initrd.img   the guest kernel and initrd (direct kernel boot)
#   ssh_host_ed25519_key.pub   the guest's host key (for known_hosts)
# Tests never write to it: tests/vm/lib.sh boots a qcow2 overlay in its temp dir.
#
# Recipe (docs/vm.md): debootstrap bookworm with a stock kernel, systemd,
# journald, openssh-server, sudo, SELinux (reference policy, enforcing) and
# auditd; an ssh key unit that installs the public key given on the kernel
# command line (jitvm.key=...) at each boot; labels written with setfiles
# against the image's own policy; mkfs.ext4 -d copies them as xattrs.
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE=${JIT_CI_CACHE:-/var/cache/jit-ci}/vm
MIRROR=${JIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PKGS=linux-image-amd64,systemd-sysv,udev,dbus,libpam-systemd,openssh-server,sudo,selinux-basics,selinux-policy-default,policycoreutils-python-utils,auditd,kmod,iproute2,python3

# Only the image directory goes to stdout (callers capture it); everything
# the tools print goes to stderr (mkfs.ext4 -d prints even with -q).
exec 3>&1 1>&2
say() { echo "vm/image: $*" >&2; }
die() { say "$*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"
for t in debootstrap setfiles mkfs.ext4 chroot sha256sum; do
    command -v "$t" >/dev/null || die "$t is not installed (see .ci/apt-packages.txt)"
done

KEY=$( { cat tests/vm/image.sh; find tests/vm/image -type f | LC_ALL=C sort | xargs cat; echo "$PKGS"; } \
    | sha256sum | cut -c1-16)
DIR=$CACHE/$KEY
if [ -f "$DIR/complete" ]; then
    echo "$DIR" >&3
    exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
[ -f "$DIR/complete" ] && { echo "$DIR" >&3; exit 0; }
T0=$(date +%s)
WORK=$(mktemp -d "$CACHE/.build.XXXXXX")
MOUNTED=()
cleanup() {
    local m
    for m in "${MOUNTED[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
R=$WORK/root

say "debootstrap (about 2 minutes; log in $WORK/debootstrap.log while it runs)"
debootstrap --variant=minbase --include="$PKGS" bookworm "$R" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -30 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
say "debootstrap: $(($(date +%s) - T0)) s"

KVER=$(basename "$(ls "$R"/boot/vmlinuz-* | sort -V | tail -1)" | sed 's/^vmlinuz-//')
echo vm > "$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 vm\n' > "$R/etc/hosts"
echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' > "$R/etc/fstab"
sed -i 's/^SELINUX=.*/SELINUX=enforcing/' "$R/etc/selinux/config"
grep -qx 'SELINUX=enforcing' "$R/etc/selinux/config" || die "no SELINUX= line in /etc/selinux/config"
mkdir -p "$R/etc/systemd/network"
printf '[Match]\nName=en*\n[Network]\nDHCP=yes\n' > "$R/etc/systemd/network/10-dhcp.network"
# Root logs in with the run's key only.
passwd -R "$R" -l root >/dev/null
install -d -m 0700 "$R/root/.ssh"
printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\nUseDNS no\n' > "$R/etc/ssh/sshd_config.d/jit-vm.conf"
# The initrd built during debootstrap has no fsck without this.
echo FSTYPE=ext4 > "$R/etc/initramfs-tools/conf.d/rootfstype"
mkdir -p "$R/var/log/journal"
# Guest helpers (tests/vm/image/).
install -m 0755 tests/vm/image/jit-vm-key "$R/usr/local/sbin/jit-vm-key"
install -m 0644 tests/vm/image/jit-vm-key.service "$R/etc/systemd/system/jit-vm-key.service"
mount -t proc proc "$R/proc"; MOUNTED+=("$R/proc")
chroot "$R" systemctl enable systemd-networkd jit-vm-key.service >/dev/null 2>&1
# Nothing on the console a test does not read; no apt timers waking up during a run.
chroot "$R" systemctl mask serial-getty@ttyS0.service serial-getty@ttyS1.service \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer man-db.timer >/dev/null 2>&1
chroot "$R" update-initramfs -u -k "$KVER" >"$WORK/initramfs.log" 2>&1 \
    || { cat "$WORK/initramfs.log" >&2; die "update-initramfs failed"; }
umount "$R/proc"; MOUNTED=()
chroot "$R" apt-get clean
rm -rf "$R"/var/lib/apt/lists/*

# Labels last, after every change to the tree.
setfiles -m -F -r "$R" -c "$R"/etc/selinux/default/policy/policy.* \
    "$R/etc/selinux/default/contexts/files/file_contexts" "$R" \
    || die "setfiles failed"
mkdir -p "$WORK/out"
cp "$R/boot/vmlinuz-$KVER" "$WORK/out/vmlinuz"
cp "$R/boot/initrd.img-$KVER" "$WORK/out/initrd.img"
cp "$R/etc/ssh/ssh_host_ed25519_key.pub" "$WORK/out/"
mkfs.ext4 -q -F -L root -d "$R" "$WORK/out/root.img" 3G || die "mkfs.ext4 -d failed"
echo "$KVER" > "$WORK/out/kernel-version"
touch "$WORK/out/complete"
rm -rf "$DIR"
mv "$WORK/out" "$DIR"
# Only the current image is kept.
for old in "$CACHE"/*/; do
    [ "${old%/}" = "$DIR" ] || rm -rf --one-file-system "$old"
done
say "image built in $(($(date +%s) - T0)) s: $DIR"
echo "$DIR" >&3
