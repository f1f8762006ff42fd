#!/usr/bin/env bash
# Installs what is missing on a Debian 12 machine (as root): Kamailio and the stock modules we
# load beside ours, SIPp, SQLite, the build tools, matplotlib (the plots of ci/soak.sh and
# ci/bench.sh), and the Kamailio headers (from Debian's source package, into a cache outside
# the tree). With KAMAILIO_TARGET=6.0 also the Debian 13
# root with Kamailio 6.0 (ci/kamailio-root.sh) and 6.0's headers; the host's packages are
# needed then too (kamcmd, SIPp, curl, PostgreSQL stay on the host). Prints the header tree's
# path last.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
    kamailio kamailio-presence-modules kamailio-xml-modules kamailio-sqlite-modules
    kamailio-utils-modules sip-tester sqlite3 curl clang libclang-dev dpkg-dev pkg-config
    libcurl4-openssl-dev libxml2-dev kamailio-lua-modules wrk postgresql kamailio-postgres-modules
    debootstrap mariadb-server kamailio-mysql-modules python3-matplotlib
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install.sh: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >&2
fi
command -v cargo >/dev/null || { echo "install.sh: cargo (Rust) is required" >&2; exit 1; }
# The package starts a system Kamailio on 5060; it is not ours and is not needed.
if systemctl is-active --quiet kamailio 2>/dev/null; then systemctl stop kamailio >&2 || true; fi

# For 6.0 this builds the Debian 13 root first (ci/kamailio-root.sh), whose Kamailio it is.
bash kamailio-headers/fetch.sh
