#!/usr/bin/env bash
# Prints the Debian mirror this machine's apt already uses (the repository of its Debian
# release, read from apt's own view of its sources), e.g. http://deb.debian.org/debian/.
# The scripts that reach Debian 13 use it, so that no host is written down anywhere.
set -euo pipefail

mirror=$(apt-get indextargets --format '$(LABEL) $(RELEASE) $(REPO_URI)' 2>/dev/null |
    awk '$1 == "Debian" && $2 !~ /-/ { print $3; exit }')
if [ -z "$mirror" ]; then
    # No index downloaded yet: read the sources themselves.
    mirror=$( (cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true) |
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { print $i; exit } }')
fi
if [ -z "$mirror" ]; then
    mirror=$( (cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true) |
        awk 'tolower($1) == "uris:" && $2 !~ /security/ { print $2; exit }')
fi
if [ -z "$mirror" ]; then
    echo "debian-mirror.sh: no Debian mirror in this machine's apt sources" >&2
    exit 1
fi
echo "${mirror%/}/"
