#!/usr/bin/env bash
# The whole test suite, on every supported Kamailio: unit tests and end-to-end tests against
# the real Kamailio, first 5.6.3 (Debian 12, this machine's /usr/sbin/kamailio), then 6.0.1
# (Debian 13, in the root of ci/kamailio-root.sh). KAMAILIO_TARGET=5.6 or 6.0 runs just that
# one. Each target builds into its own target directory (ci/target-env.sh). A target that
# cannot be set up (e.g. Debian's mirror is unreachable for the 6.0 root) fails with its
# reason while the other still runs and reports on its own. Ends with one line per target and
# a total 'N passed, N failed' line.
set -uo pipefail
cd "$(dirname "$0")/.."

targets=${KAMAILIO_TARGET:-5.6 6.0}
summary=()
total_passed=0
total_failed=0
status=0
for target in $targets; do
    log=$(mktemp)
    start=$(date +%s)
    echo "==== Kamailio $target ===="
    (
        set -e
        export KAMAILIO_TARGET=$target
        # shellcheck source=ci/target-env.sh
        source ci/target-env.sh
        echo "ci/test.sh: Kamailio $target: $("$KAMAILIO_BIN" -V | head -n 1), headers $KAMAILIO_SRC, building into $CARGO_TARGET_DIR"
        # The end-to-end tests load the built .so files, so build them before testing.
        cargo build --workspace
        # This includes tests/package_e2e.rs, which builds the Debian package with
        # ci/package.sh (a release build of the modules) and installs it into a scratch root.
        cargo test --workspace
    ) 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    seconds=$(( $(date +%s) - start ))
    read -r passed failed < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' "$log")
    rm -f "$log"
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
