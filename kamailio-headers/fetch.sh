#!/usr/bin/env bash
# Obtain the Kamailio source tree that matches the installed `kamailio` package from Debian's
# source package and unpack it into a cache outside the git tree. Prints the tree's path.
# The build reads headers from there (KAMAILIO_SRC); it never touches the network itself.
set -euo pipefail

version=$(dpkg-query -W -f='${Version}' kamailio 2>/dev/null || true)
if [ -z "$version" ]; then
    echo "fetch.sh: the kamailio package is not installed (apt-get install kamailio)" >&2
    exit 1
fi
upstream=${version%%-*}
cache=${KAMAILIO_SRC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kamailio-src}
tree="$cache/$version/kamailio-$upstream"

if [ -f "$tree/src/core/sr_module.h" ]; then
    echo "$tree"
    exit 0
fi

# apt-get source needs a deb-src entry and dpkg-source (dpkg-dev) to unpack.
if ! apt-get source --print-uris "kamailio=$version" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        cat > /etc/apt/sources.list.d/kamailio-headers-src.sources <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
        apt-get update -qq >&2
    else
        echo "fetch.sh: no deb-src entry for kamailio; add one for bookworm main (as root)" >&2
        exit 1
    fi
fi
command -v dpkg-source >/dev/null || { echo "fetch.sh: dpkg-dev is missing" >&2; exit 1; }

mkdir -p "$cache"
work=$(mktemp -d "$cache/.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get source -qq "kamailio=$version" >&2)
mkdir -p "$cache/$version"
rm -rf "$tree"
mv "$work/kamailio-$upstream" "$tree"
echo "$tree"
