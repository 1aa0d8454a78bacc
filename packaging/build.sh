#!/usr/bin/env bash
# Build the jit packages from a clean clone, in one command:
#
#     bash packaging/build.sh [OUTDIR]
#
# OUTDIR (default: TARGET/packages, TARGET being cargo's target directory,
# CARGO_TARGET_DIR or ./target) receives
#     libpam-jit_VERSION-1_amd64.deb    host: pam_jit.so, jit-verify, jit-ctl, ...
#     jit-signer_VERSION-1_amd64.deb    signing machine: jit-signer
#     pam_jit-VERSION-1.x86_64.rpm      host (RPM layout: /usr/lib64/security)
#     jit-signer-VERSION-1.x86_64.rpm
#
# Steps: release build (tools/build-release.sh: the tools with --release, the
# module in its own cargo invocation with its cold-start settings; a no-op when
# CI built already), the module, man pages and completions staged into
# TARGET/release/jit-pkg/, the SELinux
# module (selinux-policy-dev), cargo-deb --no-build, rpmbuild with
# packaging/rpm/jit.spec. Missing tools are installed when run as root:
# Debian packages from .ci/apt-packages.txt-style names with apt-get, and
# cargo-deb with `cargo install --locked` under JIT_TOOLS_ROOT
# (default /var/cache/jit-ci/cargo-bin, kept between CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CARGO_DEB_VERSION=3.8.0
TOOLS_ROOT=${JIT_TOOLS_ROOT:-/var/cache/jit-ci/cargo-bin}
export PATH="$TOOLS_ROOT/bin:$HOME/.cargo/bin:$PATH"

say() { echo "build.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# --- tools -----------------------------------------------------------------
need_apt=()
command -v rpmbuild >/dev/null || need_apt+=(rpm)
[ -f /usr/share/selinux/devel/Makefile ] || need_apt+=(selinux-policy-dev)
command -v make >/dev/null || need_apt+=(make)
command -v strip >/dev/null || need_apt+=(binutils)
command -v dpkg-shlibdeps >/dev/null || need_apt+=(dpkg-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing Debian packages: ${need_apt[*]} (install them, or run as root)"
    say "installing ${need_apt[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
if ! cargo deb --version 2>/dev/null | grep -qF "$CARGO_DEB_VERSION"; then
    say "installing cargo-deb $CARGO_DEB_VERSION into $TOOLS_ROOT"
    mkdir -p "$TOOLS_ROOT"
    CARGO_TARGET_DIR="$TOOLS_ROOT/build" cargo install --quiet --locked \
        --root "$TOOLS_ROOT" --version "=$CARGO_DEB_VERSION" cargo-deb
    rm -rf "$TOOLS_ROOT/build"
fi

# --- build -----------------------------------------------------------------
TARGET=$(cargo metadata --format-version 1 --no-deps --locked \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
REL=$TARGET/release
OUT=${1:-$TARGET/packages}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
VERSION=$(cargo metadata --format-version 1 --no-deps --locked \
    | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "pam_jit"))')
# Reproducible timestamps (man page gzip headers, package mtimes).
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH

say "tools/build-release.sh, and xtask for the man pages (target: $TARGET)"
bash tools/build-release.sh
cargo build --release --locked -p xtask
for f in "$REL/jit-signer" "$REL/jit-verify" "$REL/jit-krl" "$REL/xtask" "$TARGET/pam/libpam_jit.so"; do
    [ -f "$f" ] || die "$f was not built"
done

STAGE=$REL/jit-pkg
rm -rf "$STAGE"
mkdir -p "$STAGE/man" "$STAGE/completions" "$STAGE/selinux"
# The module as built by its own invocation (profile pam, TARGET/pam/).
install -m 0644 "$TARGET/pam/libpam_jit.so" "$STAGE/pam_jit.so"

# --- man pages and completions ----------------------------------------------
for m in packaging/man/pam_jit.8 packaging/man/pam_jit.conf.5 packaging/man/jit-ctl.8; do
    gzip -9n < "$m" > "$STAGE/man/$(basename "$m").gz"
done
# jit-signer(1), jit-verify(1), one page per subcommand, and the completions
# come from the clap definitions, rendered by the workspace's development
# tasks (xtask gen-docs BIN --out DIR; xtask itself is not packaged).
for b in jit-signer jit-verify; do
    "$REL/xtask" gen-docs "$b" --out "$STAGE/gen/$b" >/dev/null \
        || die "xtask gen-docs $b failed: cannot generate its man pages and completions"
    for f in "$b.1" "$b.bash" "_$b" "$b.fish"; do
        [ -s "$STAGE/gen/$b/$f" ] || die "xtask gen-docs $b did not write $f"
    done
    for m in "$STAGE/gen/$b"/*.1; do
        gzip -9n < "$m" > "$STAGE/man/$(basename "$m").gz"
    done
    cp "$STAGE/gen/$b/$b.bash" "$STAGE/gen/$b/_$b" "$STAGE/gen/$b/$b.fish" "$STAGE/completions/"
done
rm -rf "$STAGE/gen"

# --- SELinux module ----------------------------------------------------------
setmp=$(mktemp -d)
trap 'rm -rf "$setmp"' EXIT
cp selinux/jit.te selinux/jit.fc selinux/jit.if "$setmp/"
make -s -C "$setmp" -f /usr/share/selinux/devel/Makefile jit.pp >/dev/null \
    || die "building the SELinux module failed"
cp "$setmp/jit.pp" "$STAGE/selinux/jit.pp"
cp selinux/jit.te selinux/jit.fc selinux/jit.if "$STAGE/selinux/"

# --- .deb --------------------------------------------------------------------
# cargo-deb's `depends = "$auto"` runs dpkg-shlibdeps on each binary alone and
# lists every answer, so a package whose binaries need different glibc
# versions depends on libc6 twice ("libc6 (>= 2.34), libc6 (>= 2.35)").
# dpkg-shlibdeps over all of a package's ELF files at once, as dh_shlibdeps
# does, names each library once with the highest version: that becomes the
# package's Depends (both packages' depends are "$auto" alone). Only the
# control file changes; the files are repacked as they are, owned by root.
fix_depends() { # DEB
    local deb=$1 d want have
    d=$(mktemp -d)
    dpkg-deb -R "$deb" "$d/pkg"
    mkdir "$d/debian" && : >"$d/debian/control"   # dpkg-shlibdeps wants one
    mapfile -t elves < <(find "$d/pkg" -path "$d/pkg/DEBIAN" -prune -o -type f -print |
        while read -r f; do [ "$(head -c 4 "$f")" = $'\x7fELF' ] && echo "$f"; done)
    [ ${#elves[@]} -gt 0 ] || die "$deb: no ELF file to compute Depends from"
    want=$(cd "$d" && dpkg-shlibdeps -O "${elves[@]}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
    [ -n "$want" ] || die "$deb: dpkg-shlibdeps found no dependency"
    have=$(dpkg-deb -f "$deb" Depends)
    if [ "$have" != "$want" ]; then
        sed -i "s/^Depends: .*/Depends: $want/" "$d/pkg/DEBIAN/control"
        dpkg-deb --root-owner-group -Zxz -b "$d/pkg" "$deb" >/dev/null
    fi
    rm -rf "$d"
}
say "cargo deb (libpam-jit, jit-signer)"
cargo deb --no-build --locked -p pam_jit -o "$OUT" >/dev/null
cargo deb --no-build --locked -p jit-signer -o "$OUT" >/dev/null
for deb in "$OUT"/libpam-jit_*.deb "$OUT"/jit-signer_*.deb; do
    fix_depends "$deb"
done

# --- .rpm --------------------------------------------------------------------
say "rpmbuild (pam_jit, jit-signer)"
top=$setmp/rpm
mkdir -p "$top"/{BUILD,RPMS,SOURCES,SPECS,SRPMS,BUILDROOT}
rpmbuild --quiet -bb \
    --define "_topdir $top" \
    --define "jit_version $VERSION" \
    --define "jit_src $ROOT" \
    --define "jit_rel $REL" \
    --define "_build_id_links none" \
    --define "_binary_payload w9.gzdio" \
    --define "use_source_date_epoch_as_buildtime 1" \
    --define "clamp_mtime_to_source_date_epoch 1" \
    --target x86_64-linux \
    packaging/rpm/jit.spec >/dev/null
cp "$top"/RPMS/x86_64/*.rpm "$OUT/"

say "packages in $OUT:"
ls -1 "$OUT" >&2
