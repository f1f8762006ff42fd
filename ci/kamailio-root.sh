#!/usr/bin/env bash
# Builds, once, a Debian 13 (trixie) root with the unmodified Kamailio 6.0 packages of Debian
# installed in it, cached outside the tree, and prints the path of a wrapper command that runs
# that root's /usr/sbin/kamailio with the same arguments as the host's /usr/sbin/kamailio.
#
# Debian 13's Kamailio needs glibc 2.38, so it cannot run directly on Debian 12. The wrapper
# enters the root in a private mount namespace (unshare) where the system's temporary
# directory, this repository and the cargo target directory are bind-mounted at the same
# paths; the mounts exist only inside that namespace and vanish with the server, so nothing
# outside ever sees them. The network (loopback) is shared, and the process the wrapper
# starts keeps its PID (unshare and chroot exec), so a harness stops it by PID as usual.
# At run time KAMAILIO_ROOT_BIND (colon-separated directories) adds more paths, and
# KAMAILIO_ROOT runs the Kamailio of another Debian 13 root (a copy of this one, e.g. one a
# test installs a package into). KAMAILIO_WRAPPER, when set, is a command (e.g. valgrind with
# its options) that the wrapper puts in front of the root's /usr/sbin/kamailio, so that it runs
# inside the root too (ci/memcheck.sh).
#
# Environment: KAMAILIO_ROOT_CACHE (default ~/.cache/kamailio-root); KAMAILIO_ROOT_EXTRA,
# more packages (space-separated) to install into the root, e.g. valgrind for ci/memcheck.sh
# (installed into a cached root that lacks them, and kept there). Needs root, debootstrap
# (installed when missing) and the machine's Debian mirror (ci/debian-mirror.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
suite=trixie
want=6.0
packages=(
    kamailio kamailio-presence-modules kamailio-xml-modules kamailio-sqlite-modules
    kamailio-postgres-modules kamailio-mysql-modules kamailio-utils-modules kamailio-lua-modules
)
# shellcheck disable=SC2206 # a list of package names, split on white space
packages+=(${KAMAILIO_ROOT_EXTRA:-})
cache=${KAMAILIO_ROOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kamailio-root}
root=$cache/$suite
die() { echo "kamailio-root.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot and mount namespaces)"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

# Never delete a directory that something is mounted under: rm -rf would follow the mount.
safe_remove() {
    if findmnt -rn -o TARGET | grep -q "^$1\(/\|$\)"; then
        die "$1 has mounts under it; unmount them before it can be rebuilt"
    fi
    rm -rf "$1"
}

# Runs a command inside the root with /dev and /proc, in a private mount namespace.
in_root() {
    unshare --mount --propagation private /bin/sh -c '
        r=$1; shift
        mount --rbind /dev "$r/dev" && mount -t proc proc "$r/proc" && exec chroot "$r" "$@"' \
        sh "$root" "$@"
}

# Package state read from the root's dpkg database directly (no need to enter the root).
root_query() { dpkg-query --admindir="$root/var/lib/dpkg" "$@" 2>/dev/null || true; }

if [ ! -f "$root/.complete" ]; then
    command -v debootstrap >/dev/null || {
        echo "kamailio-root.sh: installing debootstrap" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2 ||
            { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2; } ||
            die "debootstrap cannot be installed"
    }
    mirror=$(bash ci/debian-mirror.sh)
    echo "kamailio-root.sh: building a Debian 13 ($suite) root in $root from $mirror" >&2
    safe_remove "$root"
    build=$cache/$suite.build
    safe_remove "$build"
    debootstrap --variant=minbase "$suite" "$build" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
        tail -n 20 "$cache/debootstrap.log" >&2
        die "debootstrap of $suite from $mirror failed (is the mirror reachable?); log: $cache/debootstrap.log"
    }
    cp /etc/hosts /etc/resolv.conf "$build/etc/"
    # The packages' maintainer scripts must not start a Kamailio inside the root.
    printf '#!/bin/sh\nexit 101\n' > "$build/usr/sbin/policy-rc.d"
    chmod 0755 "$build/usr/sbin/policy-rc.d"
    root_saved=$root
    root=$build
    in_root apt-get update -qq >&2 || die "apt-get update inside the $suite root failed (mirror $mirror)"
    in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${packages[@]}" >"$cache/apt.log" 2>&1 || {
        tail -n 20 "$cache/apt.log" >&2
        die "installing ${packages[*]} inside the $suite root failed; log: $cache/apt.log"
    }
    in_root apt-get clean
    root=$root_saved
    mv "$build" "$root"
    touch "$root/.complete"
fi

# A root cached by an earlier version of this script may lack a package added to the list since.
installed=$(root_query -W -f='${Package} ${Status}\n' "${packages[@]}")
missing=()
for p in "${packages[@]}"; do
    grep -qx "$p install ok installed" <<<"$installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "kamailio-root.sh: installing ${missing[*]} into $root" >&2
    { in_root apt-get update -qq && in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" && in_root apt-get clean; } >"$cache/apt.log" 2>&1 || {
        tail -n 20 "$cache/apt.log" >&2
        die "installing ${missing[*]} inside the $suite root failed; log: $cache/apt.log"
    }
fi

version=$(root_query -W -f='${Version}' kamailio)
case "$version" in
    "$want".*) ;;
    *) die "the root $root holds kamailio ${version:-(none)}, not Kamailio $want; remove $root to rebuild it" ;;
esac

# The wrapper, written for this checkout: it mounts this repository and the target dir.
binds=("${TMPDIR:-/tmp}" "$top")
target_dir=${CARGO_TARGET_DIR:-$top/target}
case "$target_dir" in "$top"/*) ;; *) binds+=("$(realpath -m "$target_dir")") ;; esac
wrapdir=$top/target/kamailio-$want
mkdir -p "$wrapdir"
wrapper=$wrapdir/kamailio
{
    echo '#!/bin/sh'
    echo "# Runs Debian 13's Kamailio $version from $root with the arguments given;"
    echo '# written by ci/kamailio-root.sh.'
    printf 'root=${KAMAILIO_ROOT:-%q}\n' "$root"
    printf 'binds=%q\n' "$(IFS=:; echo "${binds[*]}")"
    cat <<'WRAP'
binds="$binds:${KAMAILIO_ROOT_BIND:-}"
exec unshare --mount --propagation private /bin/sh -c '
    r=$1; binds=$2; shift 2
    mount --rbind /dev "$r/dev" || exit 1
    mount -t proc proc "$r/proc" || exit 1
    IFS=:
    for d in $binds; do
        [ -n "$d" ] && [ -d "$d" ] || continue
        mkdir -p "$r$d" && mount --rbind "$d" "$r$d" || exit 1
    done
    exec chroot "$r" /bin/sh -c "cd \"\$0\" 2>/dev/null || cd /; exec \${KAMAILIO_WRAPPER:-} /usr/sbin/kamailio \"\$@\"" "$PWD" "$@"
' sh "$root" "$binds" "$@"
WRAP
} > "$wrapper.tmp"
chmod 0755 "$wrapper.tmp"
mv "$wrapper.tmp" "$wrapper"
echo "$version" > "$wrapdir/version"
echo "$root" > "$wrapdir/root"
echo "$wrapper"
