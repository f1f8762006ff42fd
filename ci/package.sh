#!/usr/bin/env bash
# Builds the modules in release mode and packs them as a Debian package that replaces the
# stock modules of the same names: kamailio-rs-modules_<version>_<arch>.deb in the cargo target
# directory (target/, or target/kamailio-6.0/ for KAMAILIO_TARGET=6.0), or in the directory
# given as the first argument. Prints the modules it packed, then the package's path last.
# The package depends on exactly the target's installed Kamailio version, the only one whose
# module ABI the modules accept: this machine's for 5.6, the Debian 13 root's
# (ci/kamailio-root.sh) for 6.0, whose package names and library versions the Depends name too.
# Environment: KAMAILIO_TARGET (5.6 or 6.0). Sets the target up as the other ci/ scripts do
# (ci/target-env.sh: installs what is missing, the headers, for 6.0 the Debian 13 root).
# Packaging files: packaging/deb/ (control.in, preinst.in, postinst.in, postrm.in, copyright).
set -euo pipefail
umask 022
outdir=
[ $# -eq 0 ] || outdir=$(realpath -m "$1")
cd "$(dirname "$0")/.."
# shellcheck source=ci/target-env.sh
source ci/target-env.sh
outdir=${outdir:-$(realpath -m "${CARGO_TARGET_DIR:-target}")}
# The dpkg database of the system the package is for: the target's Kamailio and libraries.
admindir=${kamailio_sysroot%/}/var/lib/dpkg

modules=(xcap_client xcap_server presence_xml pua presence_xcapdiff)
pkg=kamailio-rs-modules

kamailio_version=$(dpkg-query --admindir="$admindir" -W -f='${Version}' kamailio 2>/dev/null || true)
[ -n "$kamailio_version" ] || { echo "package.sh: the kamailio package is not installed in $kamailio_sysroot" >&2; exit 1; }
for tool in cargo dpkg-deb dpkg-shlibdeps dpkg-architecture strip; do
    command -v "$tool" >/dev/null || { echo "package.sh: $tool is missing (dpkg-dev, binutils, Rust)" >&2; exit 1; }
done
version=$(awk '/^\[/ { section = $0 } section == "[workspace.package]" && $1 == "version" { gsub(/"/, "", $3); print $3 }' Cargo.toml)
[ -n "$version" ] || { echo "package.sh: no version in [workspace.package] of Cargo.toml" >&2; exit 1; }
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
moddir=/usr/lib/$multiarch/kamailio/modules

# The modules of this workspace; one that is not here is not built and not packed.
present=()
for m in "${modules[@]}"; do
    [ -f "modules/$m/Cargo.toml" ] && present+=("$m")
done
[ ${#present[@]} -gt 0 ] || { echo "package.sh: no module crates under modules/" >&2; exit 1; }
cargo build --release $(printf -- '-p %s ' "${present[@]}")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/debian/$pkg
docdir=$root/usr/share/doc/$pkg
install -d "$root$moddir" "$docdir" "$root/DEBIAN"
packed=()
for m in "${present[@]}"; do
    so=${CARGO_TARGET_DIR:-target}/release/lib$m.so
    [ -f "$so" ] || continue
    install -m 0644 "$so" "$root$moddir/$m.so"
    # As dh_strip does for shared objects; the dynamic symbols Kamailio looks up stay.
    strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root$moddir/$m.so"
    if [ -f "modules/$m/README.md" ]; then
        gzip -9n < "modules/$m/README.md" > "$docdir/README.$m.md.gz"
        chmod 0644 "$docdir/README.$m.md.gz"
    fi
    packed+=("$m")
done
gzip -9n < README.md > "$docdir/README.md.gz"
chmod 0644 "$docdir/README.md.gz"
install -m 0644 packaging/deb/copyright "$docdir/copyright"

# Library dependencies from the modules' ELF headers, as the target's dpkg knows them: with
# --admindir, the path of each library the modules need (found here, by soname) is looked up
# in the target's database, and the owning package's symbols or shlibs file there gives the
# dependency; a library that the target has under another path has no owner there and fails
# the build. Kamailio itself is pinned exactly. (On 6.0 it warns about "diversions involved":
# that is Debian 13's libc6 diverting /lib64/ld-linux-x86-64.so.2 for merged /usr; libc6 owns
# the dynamic loader either way.)
printf 'Source: %s\n\nPackage: %s\nArchitecture: %s\n' "$pkg" "$pkg" "$arch" > "$work/debian/control"
objects=()
for m in "${packed[@]}"; do objects+=("debian/$pkg$moddir/$m.so"); done
shlibs=$(cd "$work" && dpkg-shlibdeps -O --admindir="$admindir" -xkamailio -l"/usr/lib/$multiarch/kamailio" "${objects[@]}" |
    sed -n 's/^shlibs:Depends=//p')
depends="kamailio (= $kamailio_version)${shlibs:+, $shlibs}"
rm "$work/debian/control"

maintainer=${DEBEMAIL:+${DEBFULLNAME:-kamailio-rs} <$DEBEMAIL>}
maintainer=${maintainer:-$(git log -1 --format='%an <%ae>' 2>/dev/null || true)}
maintainer=${maintainer:-kamailio-rs <root@localhost>}
installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
subst() {
    sed -e "s#@VERSION@#$version#g; s#@ARCH@#$arch#g; s#@DEPENDS@#$depends#g" \
        -e "s#@MAINTAINER@#$maintainer#g; s#@INSTALLED_SIZE@#$installed_size#g" \
        -e "s#@KAMAILIO_VERSION@#$kamailio_version#g; s#@MODDIR@#$moddir#g; s#@MODULES@#${packed[*]}#g" "$1"
}
subst packaging/deb/control.in > "$root/DEBIAN/control"
for script in preinst postinst postrm; do
    subst "packaging/deb/$script.in" > "$root/DEBIAN/$script"
    chmod 0755 "$root/DEBIAN/$script"
done
(cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

# Same sources, same package: file times come from the last commit.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
mkdir -p "$outdir"
deb=$outdir/${pkg}_${version}_$arch.deb
# Built beside its final name and renamed, so that a reader never sees half a package.
dpkg-deb --root-owner-group --build "$root" "$work/$pkg.deb" >/dev/null
mv "$work/$pkg.deb" "$deb.tmp.$$"
mv "$deb.tmp.$$" "$deb"
echo "package.sh: packed ${packed[*]} for kamailio $kamailio_version"
echo "$deb"
