# Sourced by the ci/ scripts (from the repository root): selects the Kamailio target and sets up
# its environment. KAMAILIO_TARGET=5.6 (default; Debian 12's Kamailio on this machine) or 6.0
# (Debian 13's, in the root of ci/kamailio-root.sh). Installs what is missing (ci/install.sh)
# and exports:
#   KAMAILIO_TARGET   the target
#   KAMAILIO_SRC      its header tree (kamailio-headers/fetch.sh)
#   KAMAILIO_BIN      the command that runs its Kamailio: /usr/sbin/kamailio or the root's wrapper
#   CARGO_TARGET_DIR  where it builds: target/ for 5.6, target/kamailio-6.0/ for 6.0, so both
#                     builds sit side by side
# and sets kamailio_sysroot, the directory that Kamailio sees as / (for its stock modules and
# schema scripts): / for 5.6, the Debian 13 root for 6.0.
KAMAILIO_TARGET=${KAMAILIO_TARGET:-5.6}
case "$KAMAILIO_TARGET" in
    5.6 | 6.0) ;;
    *) echo "$(basename "$0"): KAMAILIO_TARGET=$KAMAILIO_TARGET is not a supported target (5.6 or 6.0)" >&2; exit 1 ;;
esac
export KAMAILIO_TARGET
KAMAILIO_SRC=$(bash ci/install.sh | tail -n 1)
[ -n "$KAMAILIO_SRC" ] || { echo "$(basename "$0"): no Kamailio $KAMAILIO_TARGET headers" >&2; exit 1; }
export KAMAILIO_SRC
if [ "$KAMAILIO_TARGET" = 6.0 ]; then
    export CARGO_TARGET_DIR=$PWD/target/kamailio-6.0
    export KAMAILIO_BIN=$CARGO_TARGET_DIR/kamailio
    kamailio_sysroot=$(cat "$CARGO_TARGET_DIR/root")
else
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
    export KAMAILIO_BIN=/usr/sbin/kamailio
    kamailio_sysroot=/
fi
