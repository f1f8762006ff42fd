#!/usr/bin/env bash
# Benchmarks our pua against the stock C pua in the real Kamailio, both in the same run, on
# 127.0.0.1 only, with test-configs/bench-pua.cfg (SQLite, db_mode 0) and a SIPp presence
# server (test-configs/sipp/bench-pua-uas.xml) per Kamailio answering every PUBLISH with 200 OK,
# a fresh SIP-ETag and the request's Expires.
#
# The driver is the test module kamtest (ours, loaded after pua in both servers): the RPC
# kamtest.pua_run calls pua's send_publish (bind_pua) for WINDOW presentities at once, and pua's
# completion callback (register_puacb) sends the next one when a reply arrives, so WINDOW
# PUBLISHes are in flight all the time, with no request per PUBLISH into Kamailio and no
# kamcmd per PUBLISH. Every PUBLISH carries a small PIDF document (event presence, source
# UL_PUBLISH). kamtest counts the answers pua reports back and times the run from its start to
# the last answer; the SIPp servers' own counts of answered PUBLISHes are checked against it.
#
# Measured, ours and stock alternating (the order flips every round):
#   1. PUBLISH throughput, ROUNDS rounds: N_INIT initial PUBLISHes of new presentities, then
#      N_MOD modifies (SIP-If-Match) of those; answered PUBLISH/s, and CPU seconds of all the
#      Kamailio processes (utime+stime from /proc/<pid>/stat of the process group, counted
#      until tm has freed the transactions) per 1,000 PUBLISHes. Medians and ours/stock.
#   2. shm per stored record: core.shmmem real_used before and after publishing SHM_RECORDS
#      new presentities (tm idle both times), divided by SHM_RECORDS.
#   3. CYCLES publish/unpublish cycles (a new presentity each, published then removed with
#      Expires: 0): real_used after minus before, in bytes (should be 0).
# Before measuring, a check on both: one PUBLISH through kt_pua_publish(), then 5 new, 5
# modifies and 5 publish/unpublish cycles, with the PUBLISHes traced by SIPp and counted.
#
# Prints a Markdown table and writes it to target/bench-pua.md (OUT). At the end, the ERROR
# and CRITICAL lines of both Kamailio logs are counted and the first ones shown.
#
# Environment: ROUNDS (default 6: even, so that each server goes first as often; the first
# of a pair measured up to 40% more CPU per PUBLISH in runs of bench-presence-xml.sh), N_INIT (20000), N_MOD (20000), WINDOW (PUBLISHes in flight,
# 32), SHM_RECORDS (10000), CYCLES (100000), NO_BUILD=1 to skip the build, KEEP=1 to keep the
# work directory (logs), PROFILE=1 (records every throughput run with perf, call graphs, into
# the work directory: r<round>-<load>.perf per server; with KEEP=1), OUT (default target/bench-pua.md). Needs kamailio, kamcmd, sipp,
# sqlite3, python3. Takes about 4 minutes with the defaults on 2 cores.
#
# The stop at the end waits 5 s per server, then kills: our pua writes every record to the
# table when it stops (the stock one does not), which takes minutes for the ~100,000 records
# a run leaves behind on SQLite.
# Also writes one line per load (ours, stock, ratio, per-round spread) to target/bench/bench-pua.tsv
# (TSV; ci/bench-lib.sh's tsv_row), which ci/bench.sh sums up.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh" # (also: cd to the repository root, top=$PWD)

rounds=${ROUNDS:-6}
n_init=${N_INIT:-20000}
n_mod=${N_MOD:-20000}
window=${WINDOW:-32}
shm_records=${SHM_RECORDS:-10000}
cycles=${CYCLES:-100000}
out_md=${OUT:-"$top/target/bench-pua.md"}
# Transactions wait 5 s in tm after their reply, about 10 KB each: at 28,000 PUBLISH/s (ours in
# the cycles on a quiet machine) some 140,000 of them, 1.4 GB, which a 1 GB pool could not hold.
shm_mb=3072

need_tools kamailio kamcmd sipp sqlite3 python3
need_stock pua
[ "$n_mod" -le 0 ] || [ "$n_init" -ge "$window" ] || die "N_INIT must be at least WINDOW (the modifies cycle over its presentities)"

make_work /tmp/bench-pua

# ---------------------------------------------------------------- build
build_release pua kamtest
copy_modules pua kamtest

# ---------------------------------------------------------------- servers
declare -A SIP=() UAS=()
servers=(ours stock)

start_uas() { # server tag [extra sipp args...]: the SIPp presence server on the server's UAS port
    local s=$1 tag=$2 d="${DIR[$1]}"
    shift 2
    (cd "$d" && exec setsid sipp -sf "$top/test-configs/sipp/bench-pua-uas.xml" -i 127.0.0.1 -bind_local \
        -p "${UAS[$s]}" -nostdin -trace_err -error_file "$d/uas-$tag.err" "$@" </dev/null >"$d/uas-$tag.out" 2>&1) &
    UAS_PID[$s]=$!
    for _ in $(seq 100); do
        kill -0 "${UAS_PID[$s]}" 2>/dev/null || { cat "$d/uas-$tag.out" >&2; die "$s: SIPp did not start"; }
        port_in_use "${UAS[$s]}" && return 0
        sleep 0.05
    done
    die "$s: SIPp does not listen on ${UAS[$s]}"
}

start_server() { # name [define]
    local name=$1 define=${2:-} d="$work/$1" sip uas
    mkdir -p "$d"
    create_sql | sqlite3 "$d/kamailio.db"
    read -r sip uas <<<"$(free_ports 2)"
    for p in "${SIP[@]}" "${UAS[@]}"; do [ "$p" = "$sip" ] || [ "$p" = "$uas" ] && die "port clash, run again"; done
    fill_cfg test-configs/bench-pua.cfg "$d/kamailio.cfg" SIP_PORT="$sip" UAS_PORT="$uas" MODDIR="$work/modules" \
        CTL="$d/ctl.sock" DB_URL="sqlite:///$d/kamailio.db"
    local args=(-m "$shm_mb")
    [ -n "$define" ] && args+=(-A "$define")
    start_kamailio "$name" "$d" "${args[@]}"
    SIP[$name]=$sip UAS[$name]=$uas
    wait_started "$name" " (or kamtest did not bind pua)" grep -q "kamtest: pua is bound" "$d/kamailio.log"
    echo "started $name: pid ${PID[$name]}, SIP 127.0.0.1:$sip, presence server (SIPp) 127.0.0.1:$uas" >&2
}

start_server ours
start_server stock STOCK_PUA

# ---------------------------------------------------------------- helpers
shm_used() { rpc "$1" core.shmmem | field real_used; }

# Next presentity number per server (every run that creates records uses new ones).
declare -A NEXT=([ours]=1 [stock]=1)
declare -A LAST=()
run() { # server mode first distinct count: one run to its end; sets LAST[...]
    local s=$1 mode=$2 first=$3 distinct=$4 count=$5 st finished=0 limit started
    # (kamcmd exits 0 on an RPC fault too, printing "error: <code> - <message>".)
    started=$(rpc "$s" kamtest.pua_run "$mode" "${UAS[$s]}" "$first" "$distinct" "$count" "$window" 3600 2>&1 || true)
    case $started in
        '' | error* | ERROR*) die "$s: kamtest.pua_run refused: $started; $(rpc "$s" kamtest.pua_stats | tr -d '\n\t')" ;;
    esac
    limit=$((600 + count / 20)) # tenths of a second: 60 s plus 200 PUBLISHes/s at the least
    for _ in $(seq "$limit"); do
        sleep 0.1
        st=$(rpc "$s" kamtest.pua_stats)
        finished=$(field done <<<"$st")
        [ "$finished" -ge "$count" ] && break
    done
    still_alive "$s" "during a run (mode $mode)"
    if [ "$finished" -lt "$count" ]; then
        echo "bench-pua: $s: the run (mode $mode, $count operations) STALLED: $(tr -d '\n\t' <<<"$st"); log tail:" >&2
        tail -n 20 "${DIR[$s]}/kamailio.log" >&2
        die "$s: stalled run"
    fi
    LAST[ok]=$(field ok <<<"$st") LAST[failed]=$(field failed <<<"$st")
    LAST[elapsed]=$(field elapsed_us <<<"$st") LAST[last_failure]=$(field last_failure <<<"$st")
}

declare -A R=()    # per server/measure: space-separated values, one per round
declare -A ONE=()  # single values

# ---------------------------------------------------------------- correctness first
for s in "${servers[@]}"; do
    start_uas "$s" check -trace_msg -message_file "${DIR[$s]}/uas-check.msg"
    sipp -sf test-configs/sipp/request.xml -s pubcheck -m 1 -i 127.0.0.1 -p 0 -nostdin \
        -trace_err -error_file "${DIR[$s]}/pubcheck.err" "127.0.0.1:${SIP[$s]}" </dev/null >"${DIR[$s]}/pubcheck.out" 2>&1 ||
        { tail -n 20 "${DIR[$s]}/kamailio.log" >&2; die "$s: the request to pubcheck was not answered 200"; }
    for _ in $(seq 50); do [ "$(rpc "$s" kamtest.pua_stats | field single_ok)" = 1 ] && break; sleep 0.1; done
    [ "$(rpc "$s" kamtest.pua_stats | field single_ok)" = 1 ] || die "$s: kt_pua_publish's PUBLISH was not answered 200: $(rpc "$s" kamtest.pua_stats | tr -d '\n\t')"
    f=${NEXT[$s]}
    run "$s" 1 "$f" 5 5;       [ "${LAST[ok]}" = 5 ] || die "$s: check: 5 new PUBLISHes: ${LAST[ok]} answered 2xx"
    run "$s" 1 "$f" 5 5;       [ "${LAST[ok]}" = 5 ] || die "$s: check: 5 modifies: ${LAST[ok]} answered 2xx"
    run "$s" 2 $((f + 5)) 5 5; [ "${LAST[ok]}" = 10 ] || die "$s: check: 5 cycles: ${LAST[ok]} of 10 answered 2xx"
    NEXT[$s]=$((f + 10))
    sleep 0.3
    stop_pid "${UAS_PID[$s]}"
    # What the presence server received: PUBLISHes, with SIP-If-Match, with Expires: 0, with a body.
    counts=$(awk '
        /message received/ { rx = 1; next } /message sent/ { rx = 0; next }
        rx && /^PUBLISH sip:/ { p++ } rx && tolower($0) ~ /^sip-if-match:/ { m++ }
        rx && /^Expires: *0\r?$/ { z++ } rx && /^Content-Type: application\/pidf\+xml/ { b++ }
        END { printf "%d %d %d %d", p, m, z, b }' "${DIR[$s]}/uas-check.msg")
    echo "$s check: PUBLISH, with SIP-If-Match, with Expires: 0, with a PIDF body: $counts (expected 21 10 5 16)" >&2
    [ "$counts" = "21 10 5 16" ] || die "$s: the presence server saw other PUBLISHes than expected (trace: ${DIR[$s]}/uas-check.msg, run with KEEP=1)"
    # From here on, the presence server without message tracing, counting what it answered.
    start_uas "$s" bench -trace_stat -stf "${DIR[$s]}/uas-stat.csv" -fd 1
done
declare -A OK_TOTAL=([ours]=0 [stock]=0)

# ---------------------------------------------------------------- 2. shm per stored record
for s in "${servers[@]}"; do
    tm_idle "$s"; sleep 0.5
    before=$(shm_used "$s")
    f=${NEXT[$s]}; NEXT[$s]=$((f + shm_records))
    run "$s" 1 "$f" "$shm_records" "$shm_records"
    OK_TOTAL[$s]=$((OK_TOTAL[$s] + LAST[ok]))
    [ "${LAST[failed]}" = 0 ] || echo "bench-pua: $s: ${LAST[failed]} of $shm_records PUBLISHes failed (last: ${LAST[last_failure]})" >&2
    tm_idle "$s"; sleep 0.5
    after=$(shm_used "$s")
    ONE[$s,shm_before]=$before ONE[$s,shm_after]=$after
    ONE[$s,shm_per_record]=$(awk -v a="$after" -v b="$before" -v n="${LAST[ok]}" 'BEGIN { printf "%.0f", (n > 0 ? (a - b) / n : 0) }')
    echo "$s: shm real_used $before -> $after bytes for ${LAST[ok]} records: ${ONE[$s,shm_per_record]} B/record" >&2
done

# ---------------------------------------------------------------- 3. publish/unpublish cycles
for s in "${servers[@]}"; do
    tm_idle "$s"; sleep 0.5
    before=$(shm_used "$s")
    f=${NEXT[$s]}; NEXT[$s]=$((f + cycles))
    t0=$(cpu_ticks "${PID[$s]}")
    run "$s" 2 "$f" "$cycles" "$cycles"
    OK_TOTAL[$s]=$((OK_TOTAL[$s] + LAST[ok]))
    ONE[$s,cyc_ok]=${LAST[ok]} ONE[$s,cyc_failed]=${LAST[failed]}
    ONE[$s,cyc_rate]=$(awk -v n="${LAST[ok]}" -v us="${LAST[elapsed]}" 'BEGIN { printf "%.0f", (us > 0 ? n / us * 1e6 : 0) }')
    tm_idle "$s"
    t1=$(cpu_ticks "${PID[$s]}")
    sleep 0.5
    after=$(shm_used "$s")
    ONE[$s,cyc_before]=$before ONE[$s,cyc_after]=$after ONE[$s,cyc_diff]=$((after - before))
    ONE[$s,cyc_cpu]=$(cpu_per_1k $((t1 - t0)) "${LAST[ok]}")
    echo "$s: $cycles cycles: ${LAST[ok]} PUBLISHes answered 2xx, ${LAST[failed]} failed, ${ONE[$s,cyc_rate]} PUBLISH/s; shm real_used $before -> $after (${ONE[$s,cyc_diff]} bytes)" >&2
done

# ---------------------------------------------------------------- 1. throughput, alternating
measure() { # server load(init|mod) first distinct count
    local s=$1 load=$2 t0 t1 u0 u1 rate cpu
    tm_idle "$s"
    t0=$(cpu_ticks "${PID[$s]}") u0=$(pid_ticks "${UAS_PID[$s]}")
    local perf_pid=
    if [ "${PROFILE:-0}" = 1 ]; then
        perf record -q -F 999 -g -p "$(pgrep -g "${PID[$s]}" | paste -sd, -)" -o "${DIR[$s]}/r$r-$load.perf" >/dev/null 2>&1 &
        perf_pid=$!
        sleep 0.3
    fi
    run "$s" 1 "$3" "$4" "$5"
    if [ -n "$perf_pid" ]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
        echo "$s $load: perf profile in ${DIR[$s]}/r$r-$load.perf (KEEP=1 keeps it)" >&2
    fi
    u1=$(pid_ticks "${UAS_PID[$s]}")
    tm_idle "$s" # the transactions' memory is freed by tm's timer: part of the cost
    t1=$(cpu_ticks "${PID[$s]}")
    OK_TOTAL[$s]=$((OK_TOTAL[$s] + LAST[ok]))
    rate=$(awk -v n="${LAST[ok]}" -v us="${LAST[elapsed]}" 'BEGIN { printf "%.0f", (us > 0 ? n / us * 1e6 : 0) }')
    cpu=$(cpu_per_1k $((t1 - t0)) "$5")
    uas=$(awk -v d=$((u1 - u0)) -v us="${LAST[elapsed]}" -v hz="$clk_tck" 'BEGIN { printf "%.0f", (us > 0 ? d / hz / (us / 1e6) * 100 : 0) }')
    add "$s,$load,rate" "$rate"; add "$s,$load,cpu" "$cpu"; add "$s,$load,uas" "$uas"
    add "$s,$load,failed" "${LAST[failed]}"
    echo "$s $load: ${LAST[ok]} of $5 answered 2xx (${LAST[failed]} failed) in ${LAST[elapsed]} us: $rate PUBLISH/s, Kamailio CPU $cpu s/1k, SIPp server at ${uas}% of a core" >&2
}

for r in $(seq "$rounds"); do
    order=(ours stock)
    [ $((r % 2)) = 0 ] && order=(stock ours)
    for s in "${order[@]}"; do
        f=${NEXT[$s]}; NEXT[$s]=$((f + n_init))
        measure "$s" init "$f" "$n_init" "$n_init"
        [ "$n_mod" -gt 0 ] && measure "$s" mod "$f" "$n_init" "$n_mod"
    done
done

# ---------------------------------------------------------------- cross-checks
sleep 1.5 # the SIPp servers write their statistics every second
for s in "${servers[@]}"; do
    kill -0 "${PID[$s]}" 2>/dev/null || die "$s died"
    uas_ok=$(sipp_count "${DIR[$s]}/uas-stat.csv" "SuccessfulCall(C)")
    ONE[$s,uas_ok]=$uas_ok
    echo "$s: the presence server answered $uas_ok PUBLISHes since the check, kamtest counted ${OK_TOTAL[$s]} answered 2xx" >&2
    ONE[$s,errors]=$(log_errors "$s")
done

# ---------------------------------------------------------------- report
for s in "${servers[@]}"; do
    for k in init,rate init,cpu init,uas mod,rate mod,cpu mod,uas; do
        R[$s,$k,med]=$(median "${R[$s,$k]:-}")
    done
done
init_ratio=$(ratio "${R[ours,init,rate,med]}" "${R[stock,init,rate,med]}")
mod_ratio=$(ratio "${R[ours,mod,rate,med]:-0}" "${R[stock,mod,rate,med]:-0}")
initcpu_ratio=$(ratio "${R[ours,init,cpu,med]}" "${R[stock,init,cpu,med]}")
modcpu_ratio=$(ratio "${R[ours,mod,cpu,med]:-0}" "${R[stock,mod,cpu,med]:-0}")
shm_ratio=$(ratio "${ONE[ours,shm_per_record]}" "${ONE[stock,shm_per_record]}")
cyc_ratio=$(ratio "${ONE[ours,cyc_rate]}" "${ONE[stock,cyc_rate]}")

{
    echo "Kamailio $(kamailio_version) with test-configs/bench-pua.cfg (children=4, pua db_mode 0 on SQLite, default hash_size), driven by kamtest through bind_pua with $window PUBLISHes in flight; SIPp $(sipp -v 2>/dev/null | awk '/SIPp v/ {print $2; exit}') as the presence server on the same machine; $(host_line)."
    echo
    echo "Throughput: $rounds rounds, ours and stock alternating (order flipped every round); per round $n_init initial PUBLISHes of new presentities, then $n_mod modifies (SIP-If-Match) of them. Medians, all rounds in brackets."
    echo
    echo "| server | initial PUBLISH/s | modify PUBLISH/s | CPU s / 1k initial | CPU s / 1k modify | SIPp server CPU % (initial, modify) | failed |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for s in "${servers[@]}"; do
        failed=$(total "${R[$s,init,failed]} ${R[$s,mod,failed]:-}")
        echo "| $(label "$s") | ${R[$s,init,rate,med]} (${R[$s,init,rate]}) | ${R[$s,mod,rate,med]:-} (${R[$s,mod,rate]:-}) | ${R[$s,init,cpu,med]} (${R[$s,init,cpu]}) | ${R[$s,mod,cpu,med]:-} (${R[$s,mod,cpu]:-}) | ${R[$s,init,uas,med]}, ${R[$s,mod,uas,med]:-} | $failed |"
    done
    echo "| ours / stock | $init_ratio | $mod_ratio | $initcpu_ratio | $modcpu_ratio | | |"
    echo
    echo "Memory: shm (core.shmmem real_used, tm idle) before and after storing $shm_records new presentities, and around $cycles publish/unpublish cycles (a new presentity each; the cycle rate counts both PUBLISHes)."
    echo
    echo "| server | shm B / record | real_used before → after $shm_records records | cycles: PUBLISH/s | cycles: CPU s / 1k PUBLISH | cycles: failed | real_used before → after cycles | difference (bytes) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for s in "${servers[@]}"; do
        echo "| $(label "$s") | ${ONE[$s,shm_per_record]} | ${ONE[$s,shm_before]} → ${ONE[$s,shm_after]} | ${ONE[$s,cyc_rate]} | ${ONE[$s,cyc_cpu]} | ${ONE[$s,cyc_failed]} | ${ONE[$s,cyc_before]} → ${ONE[$s,cyc_after]} | ${ONE[$s,cyc_diff]} |"
    done
    echo "| ours / stock | $shm_ratio | | $cyc_ratio | $(ratio "${ONE[ours,cyc_cpu]}" "${ONE[stock,cyc_cpu]}") | | | |"
    echo
    echo "Aims: initial PUBLISH/s ≥ 1.2 × stock: $(met "$init_ratio" 1.2 ge) ($init_ratio); modify: $(met "$mod_ratio" 1.2 ge) ($mod_ratio); shm per record ≤ stock: $(met "$shm_ratio" 1 le) ($shm_ratio); shm back where it started after the cycles: ours $([ "${ONE[ours,cyc_diff]}" = 0 ] && echo yes || echo "NO (${ONE[ours,cyc_diff]} bytes)"), stock $([ "${ONE[stock,cyc_diff]}" = 0 ] && echo yes || echo "NO (${ONE[stock,cyc_diff]} bytes)")."
    echo
    for s in "${servers[@]}"; do
        echo "$(label "$s"): the SIPp server answered ${ONE[$s,uas_ok]} PUBLISHes after the check, kamtest saw ${OK_TOTAL[$s]} 2xx; ${ONE[$s,errors]} ERROR/CRITICAL lines in the Kamailio log."
    done
} >"$work/table.md"

for s in "${servers[@]}"; do
    if [ "${ONE[$s,errors]}" -gt 0 ]; then
        echo "== $s: first ERROR/CRITICAL lines of ${DIR[$s]}/kamailio.log:" >&2
        grep -E ' (ERROR|CRITICAL|BUG|ALERT):' "${DIR[$s]}/kamailio.log" | head -n 10 >&2
    fi
done
# The machine-readable copy (target/bench/bench-pua.tsv): ours against stock (CPU s / 1k =
# ms per PUBLISH); the memory and cycle measures are single runs (no per-round spread).
tsv_row "initial PUBLISH" "${R[ours,init,rate,med]}" "${R[stock,init,rate,med]}" "PUBLISH/s" 1 "${R[ours,init,rate]}" "${R[stock,init,rate]}"
tsv_row "initial PUBLISH: Kamailio CPU" "${R[ours,init,cpu,med]}" "${R[stock,init,cpu,med]}" "CPU ms/PUBLISH" 0 "${R[ours,init,cpu]}" "${R[stock,init,cpu]}"
if [ "$n_mod" -gt 0 ]; then
    tsv_row "modify PUBLISH" "${R[ours,mod,rate,med]}" "${R[stock,mod,rate,med]}" "PUBLISH/s" 1 "${R[ours,mod,rate]}" "${R[stock,mod,rate]}"
    tsv_row "modify PUBLISH: Kamailio CPU" "${R[ours,mod,cpu,med]}" "${R[stock,mod,cpu,med]}" "CPU ms/PUBLISH" 0 "${R[ours,mod,cpu]}" "${R[stock,mod,cpu]}"
fi
tsv_row "shm per stored record" "${ONE[ours,shm_per_record]}" "${ONE[stock,shm_per_record]}" "B/record" 0
tsv_row "publish/unpublish cycles" "${ONE[ours,cyc_rate]}" "${ONE[stock,cyc_rate]}" "PUBLISH/s" 1
tsv_row "publish/unpublish cycles: Kamailio CPU" "${ONE[ours,cyc_cpu]}" "${ONE[stock,cyc_cpu]}" "CPU ms/PUBLISH" 0
publish_table
