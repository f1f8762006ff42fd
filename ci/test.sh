#!/usr/bin/env bash
# The whole test suite, on every supported Kamailio: unit tests and end-to-end tests against
# the real Kamailio, first 5.6.3 (Debian 12, this machine's /usr/sbin/kamailio), then 6.0.1
# (Debian 13, in the root of ci/kamailio-root.sh). KAMAILIO_TARGET=5.6 or 6.0 runs just that
# one. Each target builds into its own target directory (ci/target-env.sh). A target that
# cannot be set up (e.g. Debian's mirror is unreachable for the 6.0 root) fails with its
# reason while the other still runs and reports on its own. Ends with one line per target and
# a total 'N passed, N failed' line.
#
# The targets run side by side: most of an end-to-end test's time is spent waiting on SIP and
# expiry timers, so the second suite fills the cores the first leaves idle (each prefixes its
# lines with its target, e.g. "[6.0] "). What installs software (ci/install.sh, the 6.0 root)
# runs first, one target after the other. SEQUENTIAL=1 runs one target after the other, with
# its output as it comes.
set -uo pipefail
cd "$(dirname "$0")/.."

targets=${KAMAILIO_TARGET:-5.6 6.0}
summary=()
total_passed=0
total_failed=0
status=0

# One target's suite: set-up, build, tests.
suite() {
    set -e
    export KAMAILIO_TARGET=$1
    # shellcheck source=ci/target-env.sh
    source ci/target-env.sh
    echo "ci/test.sh: Kamailio $1: $("$KAMAILIO_BIN" -V | head -n 1), headers $KAMAILIO_SRC, building into $CARGO_TARGET_DIR"
    # The end-to-end tests load the built .so files, so build them before testing.
    cargo build --workspace
    # This includes tests/package_e2e.rs, which builds the Debian package with
    # ci/package.sh (a release build of the modules) and installs it into a scratch root.
    cargo test --workspace
}

# A suite in a subshell, ending with a line that gives its exit status and time.
run() {
    local t0 r
    t0=$(date +%s)
    # Not `(suite) || r=$?`: bash ignores set -e inside a command whose status is tested.
    (suite "$1")
    r=$?
    echo "ci/test.sh: Kamailio $1: exit $r after $(($(date +%s) - t0)) s"
    return "$r"
}

set -- $targets
parallel=false
[ $# -gt 1 ] && [ "${SEQUENTIAL:-0}" != 1 ] && parallel=true
declare -A log job
if $parallel; then
    # Installation first, one at a time (apt and dpkg take one caller at a time).
    for target in "$@"; do
        echo "==== Kamailio $target: set-up ===="
        (export KAMAILIO_TARGET=$target && source ci/target-env.sh >/dev/null) || true
    done
    echo "==== Kamailio $*: side by side ===="
    for target in "$@"; do
        log[$target]=$(mktemp)
        (
            run "$target" 2>&1 | tee "${log[$target]}" | sed -u "s/^/[$target] /"
            exit "${PIPESTATUS[0]}"
        ) &
        job[$target]=$!
    done
    for target in "$@"; do wait "${job[$target]}" || true; done
else
    for target in "$@"; do
        log[$target]=$(mktemp)
        echo "==== Kamailio $target ===="
        run "$target" 2>&1 | tee "${log[$target]}"
    done
fi
for target in "$@"; do
    read -r passed failed < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' "${log[$target]}")
    read -r rc seconds < <(awk -v t="$target" '$1 == "ci/test.sh:" && $3 == t":" && $4 == "exit" { r = $5; s = $7 } END { print (r == "" ? 1 : r), s + 0 }' "${log[$target]}")
    rm -f "${log[$target]}"
    if [ "$rc" -ne 0 ]; then
        status=1
        [ "$failed" -gt 0 ] || failed=1
        summary+=("Kamailio $target: FAILED (exit $rc): $passed passed, $failed failed in ${seconds}s")
    else
        summary+=("Kamailio $target: $passed passed, $failed failed in ${seconds}s")
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
done
echo "==== summary ===="
printf '%s\n' "${summary[@]}"
echo "$total_passed passed, $total_failed failed"
exit $status
