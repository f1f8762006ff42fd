#!/usr/bin/env bash
# Obtains the Kamailio source tree of the selected target from Debian's source package and
# unpacks it, Debian's patches applied, into a cache outside the git tree. Prints the tree's
# path. The build reads headers from there (KAMAILIO_SRC); it never touches the network itself.
#
# KAMAILIO_TARGET selects the Kamailio: 5.6 (default; the version of the installed `kamailio`
# package, Debian 12) or 6.0 (the version installed in the Debian 13 root of
# ci/kamailio-root.sh). The source package comes from the machine's own Debian mirror through
# a private apt configuration, so the machine's sources and package set never change. Its
# tarballs are checked against the sha256 sums of the .dsc (the mirror has no .asc for some).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
target=${KAMAILIO_TARGET:-5.6}
die() { echo "fetch.sh: $*" >&2; exit 1; }

case "$target" in
    5.6)
        suite=bookworm
        version=$(dpkg-query -W -f='${Version}' kamailio 2>/dev/null || true)
        [ -n "$version" ] || die "the kamailio package is not installed (apt-get install kamailio)"
        ;;
    6.0)
        suite=trixie
        wrapper=$(bash "$top/ci/kamailio-root.sh" | tail -n 1)
        version=$(cat "$(dirname "$wrapper")/version")
        ;;
    *) die "KAMAILIO_TARGET=$target is not a supported target (5.6 or 6.0)" ;;
esac
case "$version" in
    "$target".*) ;;
    *) die "KAMAILIO_TARGET=$target, but the Kamailio to build for is $version" ;;
esac
upstream=${version%%-*}
cache=${KAMAILIO_SRC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kamailio-src}
tree="$cache/$version/kamailio-$upstream"

if [ -f "$tree/src/core/sr_module.h" ]; then
    echo "$tree"
    exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$tree/src/core/sr_module.h" ]; then
    echo "$tree"
    exit 0
fi

# A private apt configuration holding only Debian's source list of that release.
mirror=$(bash "$top/ci/debian-mirror.sh")
apt_dir=$cache/apt-$suite
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" \
    > "$apt_dir/sources.list"
apt_opts=(
    -o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
    -o "Dir::State::status=/dev/null" -o "APT::Get::Only-Source=true" -o "APT::Sandbox::User=root"
)
work=$(mktemp -d "$cache/.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
uris() { apt-get "${apt_opts[@]}" source --print-uris -qq "kamailio=$version" 2>/dev/null | grep "^'"; }
list=$(uris || { apt-get "${apt_opts[@]}" update -qq >&2 && uris; }) ||
    die "the source package kamailio=$version is not on $mirror ($suite), or the mirror cannot be reached"
# Each line: 'URL' file size hash. The signature (.asc) is not on every mirror, and the
# sha256 sums of the .dsc vouch for the tarballs, so it is not fetched.
while read -r url file _; do
    url=${url//\'/}
    case "$file" in *.asc) continue ;; esac
    curl -fsS -o "$work/$file" "$url" || die "cannot download $url"
done <<< "$list"

dsc=$work/kamailio_${version#*:}.dsc
[ -f "$dsc" ] || die "no $(basename "$dsc") was downloaded"
# The Checksums-Sha256 field of the .dsc: " <sha256> <size> <file>" lines.
awk '/^Checksums-Sha256:/ { on = 1; next } /^[^ ]/ { on = 0 } on && NF == 3 && $3 !~ /\.asc$/ { print $1 "  " $3 }' "$dsc" \
    > "$work/sums"
[ -s "$work/sums" ] || die "$(basename "$dsc") lists no sha256 sums"
(cd "$work" && sha256sum --quiet -c sums >&2) || die "the source tarballs do not match the sha256 sums of $(basename "$dsc")"

orig=$(awk '{ print $2 }' "$work/sums" | grep '\.orig\.tar\.')
debian=$(awk '{ print $2 }' "$work/sums" | grep '\.debian\.tar\.')
mkdir "$work/unpack"
tar -xf "$work/$orig" -C "$work/unpack"
src=$(find "$work/unpack" -mindepth 1 -maxdepth 1 -type d | head -n 1)
[ -f "$src/src/core/sr_module.h" ] || die "$orig holds no Kamailio source tree"
tar -xf "$work/$debian" -C "$src"
if [ -f "$src/debian/patches/series" ]; then
    grep -v '^\s*#' "$src/debian/patches/series" | while read -r p _; do
        [ -n "$p" ] || continue
        patch -s --no-backup-if-mismatch -p1 -d "$src" < "$src/debian/patches/$p" >&2 || die "Debian patch $p does not apply"
    done
fi
mkdir -p "$cache/$version"
rm -rf "$tree"
mv "$src" "$tree"
echo "$tree"
