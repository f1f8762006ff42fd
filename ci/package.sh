#!/usr/bin/env bash
# Builds the modules in release mode and packs them as a Debian package that replaces the
# stock modules of the same names: target/kamailio-rs-modules_<version>_<arch>.deb, or in the
# directory given as the first argument. Prints the modules it packed, then the package's
# path last. The package depends on exactly the installed Kamailio version, the only one
# whose module ABI the modules accept. Needs: cargo, kamailio, dpkg-dev.
# Packaging files: packaging/deb/ (control.in, preinst.in, postinst.in, postrm.in, copyright).
set -euo pipefail
umask 022
outdir=$(realpath -m "${1:-$(dirname "$0")/../target}")
cd "$(dirname "$0")/.."

modules=(xcap_client xcap_server presence_xml pua presence_xcapdiff)
pkg=kamailio-rs-modules

kamailio_version=$(dpkg-query -W -f='${Version}' kamailio 2>/dev/null || true)
[ -n "$kamailio_version" ] || { echo "package.sh: the kamailio package is not installed" >&2; exit 1; }
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
KAMAILIO_SRC=${KAMAILIO_SRC:-$(bash kamailio-headers/fetch.sh)}
export KAMAILIO_SRC
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

# Library dependencies from the modules' ELF headers; Kamailio itself is pinned exactly.
printf 'Source: %s\n\nPackage: %s\nArchitecture: %s\n' "$pkg" "$pkg" "$arch" > "$work/debian/control"
objects=()
for m in "${packed[@]}"; do objects+=("debian/$pkg$moddir/$m.so"); done
shlibs=$(cd "$work" && dpkg-shlibdeps -O -xkamailio -l"/usr/lib/$multiarch/kamailio" "${objects[@]}" |
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
