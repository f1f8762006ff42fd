#!/usr/bin/env bash
# The end-to-end tests with every Kamailio process under valgrind's memcheck, on each Kamailio
# target (5.6, then 6.0; KAMAILIO_TARGET=5.6 or 6.0 runs just that one), and a Markdown report
# of memcheck's errors by module and function, with the verdict: our modules must have none.
#
#   bash ci/memcheck.sh [TEST_BINARY...]      e.g. bash ci/memcheck.sh xcap_server_e2e pua_e2e
#
# Without arguments it runs every tests/*_e2e.rs except package_e2e (it builds and installs the
# release Debian package: the same code, and minutes of building) and db_outage_e2e (it bounds
# the latency of requests during a database outage, which a server under valgrind cannot keep)
# and soak_e2e (ci/soak.sh starts its servers itself, not through the harness's wrapper).
# Tests that bound a latency themselves fail under valgrind too: the report lists each binary's
# failures, and the exit status does not depend on them (a crash shows as a memcheck error).
#
# The harness starts each server through KAMAILIO_WRAPPER (valgrind and its options here; on
# 6.0 the root's wrapper runs it inside the Debian 13 root, which gets Debian 13's valgrind,
# KAMAILIO_ROOT_EXTRA of ci/kamailio-root.sh) and stretches its waits on a server by
# KAMAILIO_TIMEOUT_SCALE. One valgrind log per process (--trace-children=yes, vg.<pid>.log).
#
# Leaks: only definite leaks are reported (--leak-check=full --show-leak-kinds=definite), at
# each process's exit. Kamailio allocates from its own pkg and shm pools, which valgrind sees
# as a few big blocks, so what it can check is what is malloc'd (libc, libxml2, our Rust heap)
# and reads of uninitialised memory; still-reachable memory at exit is the normal state of a
# server and is not reported. ci/memcheck.supp suppresses documented noise of the stock core,
# never a frame of our modules.
#
# Environment:
#   MEMCHECK_THREADS        test threads per binary (default 2: the machine has 2 cores)
#   MEMCHECK_TIMEOUT_SCALE  factor for the harness's waits (default 10)
#   MEMCHECK_TEST_ARGS      more arguments for the test binaries (after --), e.g. a name filter
#   MEMCHECK_VALGRIND_ARGS  more valgrind options, e.g. --track-origins=yes (slower)
#   MEMCHECK_REPORT         the report (default target/memcheck-report.md)
# Each target's logs stay in $CARGO_TARGET_DIR/memcheck/logs until the next run.
#
# Exit status: 0 when our modules have no memcheck error on every target run, 1 otherwise (or
# when a target cannot be set up or built).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD

if [ $# -gt 0 ]; then
    tests=("$@")
else
    tests=()
    for f in tests/*_e2e.rs; do
        t=$(basename "$f" .rs)
        case "$t" in package_e2e | db_outage_e2e | soak_e2e) continue ;; esac
        tests+=("$t")
    done
fi
for t in "${tests[@]}"; do
    [ -f "tests/$t.rs" ] || { echo "memcheck.sh: no test binary $t (tests/$t.rs)" >&2; exit 1; }
done
command -v valgrind >/dev/null || {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >&2 ||
        { echo "memcheck.sh: valgrind is missing and cannot be installed" >&2; exit 1; }
}

threads=${MEMCHECK_THREADS:-2}
scale=${MEMCHECK_TIMEOUT_SCALE:-10}
report=${MEMCHECK_REPORT:-$top/target/memcheck-report.md}
targets=${KAMAILIO_TARGET:-5.6 6.0}
mkdir -p "$(dirname "$report")"
sections=()
verdicts=()
status=0
for target in $targets; do
    start=$(date +%s)
    echo "==== memcheck: Kamailio $target: ${tests[*]} ===="
    section=$(mktemp)
    (
        set -e
        export KAMAILIO_TARGET=$target
        [ "$target" = 6.0 ] && export KAMAILIO_ROOT_EXTRA="${KAMAILIO_ROOT_EXTRA:-} valgrind"
        # shellcheck source=ci/target-env.sh
        source ci/target-env.sh
        echo "memcheck.sh: Kamailio $target: $("$KAMAILIO_BIN" -V | head -n 1), building into $CARGO_TARGET_DIR"
        cargo build --workspace
        test_flags=()
        for t in "${tests[@]}"; do test_flags+=(--test "$t"); done
        cargo test --no-run "${test_flags[@]}"
        # Under the target directory: inside the repository, so the 6.0 root sees it too.
        out=$CARGO_TARGET_DIR/memcheck
        rm -rf "$out/logs"
        mkdir -p "$out/logs"
        : > "$out/results"
        export KAMAILIO_WRAPPER="valgrind --tool=memcheck --trace-children=yes --num-callers=40 \
--fullpath-after= --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
-s --suppressions=$top/ci/memcheck.supp --log-file=$out/logs/vg.%p.log ${MEMCHECK_VALGRIND_ARGS:-}"
        export KAMAILIO_TIMEOUT_SCALE=$scale
        for t in "${tests[@]}"; do
            t0=$(date +%s)
            log=$out/$t.out
            # shellcheck disable=SC2086 # MEMCHECK_TEST_ARGS: words on purpose
            rc=0
            cargo test --test "$t" -- --test-threads="$threads" ${MEMCHECK_TEST_ARGS:-} >"$log" 2>&1 || rc=$?
            read -r passed failed < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' "$log")
            echo "$t $rc $passed $failed $(( $(date +%s) - t0 ))" | tee -a "$out/results"
            if [ "$rc" -ne 0 ]; then
                grep -E '^test .* FAILED$|^    [a-z_:]+$' "$log" | sed 's/^/    /' | head -n 40 || true
            fi
        done
        rc=0
        python3 ci/memcheck-report.py "$target" "$out/logs" "$out/results" "$top" > "$out/report.md" || rc=$?
        cp "$out/report.md" "$section"
        exit $rc
    )
    rc=$?
    seconds=$(( $(date +%s) - start ))
    if [ -s "$section" ]; then
        sections+=("$(cat "$section")")
        verdicts+=("$(tail -n 1 "$section") (${seconds}s with the build)")
    else
        sections+=("## Kamailio $target"$'\n\n'"Not run: the target could not be set up or built (exit $rc).")
        verdicts+=("memcheck $target: NOT RUN (exit $rc)")
    fi
    rm -f "$section"
    [ "$rc" -eq 0 ] || status=1
done

{
    echo "# memcheck of the end-to-end tests"
    echo
    echo "Run of \`bash ci/memcheck.sh ${*:-}\` at $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'),"
    echo "${threads} test threads, waits scaled by ${scale}. Verdict: our modules must have no error."
    echo
    for v in "${verdicts[@]}"; do echo "- $v"; done
    echo
    for s in "${sections[@]}"; do
        # The section's last line is its verdict, already listed above.
        printf '%s\n\n' "$(sed '$d' <<<"$s")"
    done
} > "$report"
echo "==== memcheck summary (report: $report) ===="
printf '%s\n' "${verdicts[@]}"
[ "$status" -eq 0 ] && echo "memcheck: our modules are clean" || echo "memcheck: FAILED"
exit $status
