#!/usr/bin/env bash
# ci/soak.sh [SECONDS]: a mixed load for SECONDS (default 3600) against the real Kamailio with
# our five modules (MODULES=stock: the stock C modules of the same Kamailio, for comparison),
# test-configs/soak.cfg, on 127.0.0.1 only; KAMAILIO_TARGET=5.6|6.0 as for every ci/ script.
# The tables live on a throwaway PostgreSQL server of the script's own (DB=postgres, the
# default) or in SQLite files (DB=sqlite): db_sqlite sets no busy timeout, and the stock
# presence module writes its tables from its worker, its timers and the route of the XCAP
# PUTs, so on a busy machine two of them now and then meet and one fails with "database is
# locked" (an ERROR line and a 500), which is no fault of the modules under test.
#
# The load, all at fixed rates (SCALE multiplies every rate, default 1):
#   - XCAP (ci/soak-client.py): 20 requests/s of GET, element GET, PUT (a third with If-Match)
#     and DELETE over 200 users' resource-lists documents, every answer checked against what
#     the client wrote; 0.5 pres-rules PUTs/s (three rule sets in turn, allow, allow sip: only,
#     polite-block of one watcher) for the 10 watched presentities h1..h10, each followed in
#     the route by pres_update_watchers and pres_refresh_watchers (NOTIFYs to their watchers).
#   - PUBLISH (SIPp, test-configs/sipp/soak-publish.xml): 4 publication lives/s, each an
#     initial PUBLISH (Expires 30), a refresh after 10 s, a modify after 5 s more, then a
#     removal after 5 s (half of them) or nothing (the other half expire at the server). Half
#     of the lives publish for h1..h10, half for p1..p50.
#   - SUBSCRIBE (SIPp, test-configs/sipp/soak-watcher.xml): 2 dialogs/s from 30 watchers to
#     h1..h10, answering every NOTIFY (the fan-out of the publications and rule changes):
#     two thirds SUBSCRIBE with Expires 60, refresh after 15 s and un-SUBSCRIBE after 30 s; a
#     third SUBSCRIBE with Expires 20 and wait for the server's terminated NOTIFY.
#   - pua (ci/soak-client.py through pua_rpc's pua.publish over JSON-RPC): 2 publication
#     lives/s towards this same Kamailio's presence (half for h1..h10): publish (Expires 30),
#     modify after 5 s, refresh after 5 s more, removal after 5 s more for half of them (the
#     others expire).
# With the release build the load costs Kamailio about 5% of one core (the report gives the
# measured figure): a small fraction of the maxima ci/bench-*.sh measure for each kind of
# request alone (e.g. 25,000 XCAP GET/s, 1,200 XCAP PUT/s on SQLite, 5,000 PUBLISH/s, 1,300
# SUBSCRIBE dialogs/s, 15,000 pua PUBLISH/s, each with one or two cores busy); SCALE=10
# brings it to about half of one core.
#
# Every SAMPLE seconds (default SECONDS/30, between 5 and 60) it records Kamailio's shm
# (core.shmmem), each process's pkg (kex's pkg.stats: a process refreshes its figures when it
# runs a route), each process's VmRSS and RssAnon (/proc), the CPU the processes used, and the rows of
# the tables xcap, pua, presentity, active_watchers and watchers (sqlite3). When the load
# has ended it keeps sampling until what expires has been removed (at most DRAIN seconds,
# default 120), then writes a Markdown report and a PNG plot of the series
# (ci/soak-report.py, Debian's python3 with matplotlib) into OUT_DIR (default target/soak/):
# soak-<ours|stock>-<target>.md and .png, the samples as .tsv, and prints both paths.
#
# The verdict (the script exits 1 when it fails; the report says why):
#   - errors 0: XCAP and pua_rpc answers other than the expected ones, HTTP failures, SIPp
#     failed calls and messages outside any call, kamcmd failures while sampling,
#     ERROR/CRITICAL/BUG/ALERT lines in Kamailio's log (but for the lines of a race inside the
#     stock presence module, counted apart: publ_notify() or pres_refresh_watchers() copies a
#     presentity's watchers, and notify() fails to update one that an un-SUBSCRIBE or an
#     expiry removed meanwhile);
#   - crashes 0: no Kamailio process gone during the run, no crash line in the log;
#   - memory flat once warm, for shm in use and each process's pkg in use: after WARMUP
#     seconds (default SECONDS/5 between 60 and 300) the least-squares slope times the time
#     sampled is at most MEM_TOL_KB (default 256 KB), MEM_TOL_PCT (default 2) percent of the
#     series' mean or twice the residuals' standard deviation (the swing of what is alive),
#     whichever is larger; and after the drain, with every record expired and removed and tm
#     idle, at most MEM_TOL_KB above what it was before the load; each process's private
#     memory (RssAnon: malloc'd memory, libxml2's and the Rust heap's, which pkg and shm do
#     not show) flat once warm by the same measure (not after the drain: malloc keeps what
#     was freed); RSS as a whole is reported, not judged: it grows as processes first touch
#     pages of the shared heap;
#   - tables bounded: after the warm-up presentity, active_watchers and pua never hold more
#     rows than the load's rates times the longest life of a record (its expiry plus the
#     cleaning timer's period, +20%), watchers no more than the watcher/presentity pairs of
#     the load, xcap no more than its documents; after the drain presentity, active_watchers
#     and pua are empty and xcap holds exactly the documents the client left.
#
# Environment: MODULES (ours, stock), DB (postgres, sqlite), SCALE (1), SAMPLE, WARMUP, DRAIN, MEM_TOL_KB,
# MEM_TOL_PCT, OUT_DIR, SO_DIR (where lib<module>.so are: default, a release build made
# here, unless NO_BUILD=1 and then $CARGO_TARGET_DIR/release), KEEP=1 (keep the work
# directory: logs, databases, SIPp files), TRACE=1 (SIPp traces every message into the work
# directory: <tag>.msg). Needs kamailio, kamcmd, sipp, sqlite3, python3, PostgreSQL (ci/install.sh
# installs them).
set -euo pipefail
# The script is one compound command, which bash reads whole before it runs: a change to the
# file during a long run does not reach that run.
{
. "$(dirname "$0")/bench-lib.sh" # (also: cd to the repository root, top=$PWD)

duration=${1:-3600}
[[ $duration =~ ^[1-9][0-9]*$ ]] || die "usage: ci/soak.sh [SECONDS] (a positive number of seconds)"
modules=${MODULES:-ours}
case $modules in ours | stock) ;; *) die "MODULES must be ours or stock" ;; esac
db=${DB:-postgres}
case $db in postgres | sqlite) ;; *) die "DB must be postgres or sqlite" ;; esac
scale=${SCALE:-1}
clamp() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { v = int(v); if (v < lo) v = lo; if (v > hi) v = hi; print v }'; }
sample=${SAMPLE:-$(clamp $((duration / 30)) 5 60)}
warmup=${WARMUP:-$(clamp $((duration / 5)) 60 300)}
drain_max=${DRAIN:-120}
out_dir=${OUT_DIR:-$top/target/soak}
name="soak-$modules-$KAMAILIO_TARGET"
mul() { awk -v a="$1" -v b="$scale" 'BEGIN { printf "%g", a * b }'; }
xcap_rate=$(mul 20) rules_rate=$(mul 0.5) pub_rate=$(mul 4) sub_rate=$(mul 2) pua_rate=$(mul 2)
hot=10 watchers=30 xcap_users=200 pub_users=50 pua_users=50

need_tools kamailio kamcmd sipp sqlite3 python3
[ "$db" = postgres ] && need_postgres
py=/usr/bin/python3
[ -x "$py" ] || py=python3
if ! "$py" -c 'import matplotlib' 2>/dev/null; then
    echo "$bench: installing python3-matplotlib for the plot" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib >&2 ||
        { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib >&2; } ||
        die "python3-matplotlib could not be installed"
fi
soak_modules=(xcap_server presence_xml pua presence_xcapdiff)
[ "$modules" = stock ] && need_stock xcap_server presence_xml pua presence pua_rpc

base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
make_work "$base/soak"
CLIENT_PID=
# The EXIT trap: the load's clients first (cleanup stops Kamailio and the SIPp processes).
soak_cleanup() {
    local p
    [ -n "$CLIENT_PID" ] && stop_pid "$CLIENT_PID"
    for p in "${LOAD_PID[@]}"; do stop_pid "$p"; done
    for s in "${!PID[@]}"; do stop_pid "${PID[$s]}" group; done
    stop_postgres
    cleanup
}
declare -a LOAD_PID=()
trap soak_cleanup EXIT

# ---------------------------------------------------------------- modules
if [ "$modules" = ours ]; then
    if [ -n "${SO_DIR:-}" ]; then
        mkdir -p "$work/modules"
        for m in "${soak_modules[@]}"; do
            [ -f "$SO_DIR/lib$m.so" ] || die "$SO_DIR/lib$m.so is missing (cargo build --workspace)"
            cp "$SO_DIR/lib$m.so" "$work/modules/$m.so"
        done
    else
        build_release "${soak_modules[@]}"
        copy_modules "${soak_modules[@]}"
    fi
    moddir=$work/modules
else
    moddir=/usr/lib/x86_64-linux-gnu/kamailio/modules # as Kamailio sees it (6.0: in its root)
fi

# ---------------------------------------------------------------- server
d=$work/server
mkdir -p "$d"
args=(-m 256)
if [ "$db" = postgres ]; then
    start_postgres -c fsync=off
    postgres_db soak
    url="postgres://postgres@127.0.0.1:$pg_port/soak"
    dbs=(XCAP_DB="$url" PRESENCE_DB="$url" PUA_DB="$url")
    args+=(-A WITH_POSTGRES)
else
    for f in xcap presence pua; do
        { create_sql; echo "PRAGMA journal_mode=WAL;"; } | sqlite3 "$d/$f.db" >/dev/null
    done
    dbs=(XCAP_DB="sqlite:///$d/xcap.db" PRESENCE_DB="sqlite:///$d/presence.db" PUA_DB="sqlite:///$d/pua.db")
fi
read -r sip_port http_port <<<"$(free_ports 2)"
fill_cfg test-configs/soak.cfg "$d/kamailio.cfg" SIP_PORT="$sip_port" HTTP_PORT="$http_port" MODDIR="$moddir" \
    CTL="$d/ctl.sock" "${dbs[@]}"
[ "$modules" = stock ] && args+=(-A STOCK)
start_kamailio server "$d" "${args[@]}"
wait_started server ""
# Which modules it runs: the libraries its main process maps (by inode: a 6.0 server in its
# root may name our files by other paths).
for m in xcap_server presence_xml pua; do
    if [ "$modules" = ours ]; then
        ino=$(awk -v m="/$m.so" 'substr($6, length($6) - length(m) + 1) == m { print $5 }' "/proc/${PID[server]}/maps" | sort -u)
        [ "$ino" = "$(stat -c %i "$work/modules/$m.so")" ] || die "the server does not run our $m.so"
    else
        grep -q " $stock_dir/$m.so\$\| /usr/lib/x86_64-linux-gnu/kamailio/modules/$m.so\$" "/proc/${PID[server]}/maps" ||
            die "the server does not run the stock $m.so"
    fi
done
echo "$bench: Kamailio $(kamailio_version) with $modules modules: pid ${PID[server]}, SIP 127.0.0.1:$sip_port, HTTP 127.0.0.1:$http_port; $duration s, SAMPLE $sample s, WARMUP $warmup s, SCALE $scale" >&2

# group_pids: the PIDs of the Kamailio processes (its process group), one a line.
group_pids() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
        awk -v pgid="${PID[server]}" '{ pid = $1; sub(/^.*\) /, ""); if ($3 == pgid) print pid }' | sort -n
}
sleep 1
group_pids >"$work/pids.start"
# pid, then the process's description (for the plot's legend), one process a line.
rpc server pkg.stats | awk '$1 == "pid:" { pid = $2 } $1 == "desc:" { $1 = ""; sub(/^ /, ""); print pid "\t" $0 }' >"$work/procs.tsv"

# ---------------------------------------------------------------- load
sipp_rate() { awk -v r="$1" 'BEGIN { printf "-r %d -rp 1000000", r * 1000 + 0.5 }'; } # calls/s as SIPp takes fractions
calls() { awk -v r="$1" -v s="$duration" 'BEGIN { n = int(r * s); print (n > 0 ? n : 1) }'; }
# Publication lives: h1..h10 and p1..p50 alternate, a tel: contact every 5th (withheld by
# the sip:-only rules), removal and expiry alternate (the 100 lines have an even count).
{
    echo SEQUENTIAL
    for i in $(seq 100); do
        if [ $((i % 2)) = 1 ]; then u="h$(((i / 2) % hot + 1))"; else u="p$(((i / 2) % pub_users + 1))"; fi
        if [ $((i % 5)) = 0 ]; then c="tel:+1555$(printf '%06d' "$i")"; else c="sip:$u-dev$i@127.0.0.1"; fi
        echo "$u;$c;$(((i / 2) % 2))"
    done
} >"$work/publish.csv"
# Dialogs: watcher w<j> of h<j mod 10>; every third lets the server expire it.
{
    echo SEQUENTIAL
    for i in $(seq 90); do
        w=$(((i - 1) % watchers + 1)) h=$(((i * 7) % hot + 1))
        if [ $((i % 3)) = 0 ]; then echo "h$h;w$w;20;100000;100000;50"; else echo "h$h;w$w;60;15;30;55"; fi
    done
} >"$work/watch.csv"
pairs=$(tail -n +2 "$work/watch.csv" | cut -d';' -f1,2 | sort -u | wc -l)

client=(python3 "$top/ci/soak-client.py" --http-port "$http_port" --sip-port "$sip_port" --hot "$hot"
    --xcap-users "$xcap_users" --pua-users "$pua_users")
"${client[@]}" setup --out "$work/setup.json" || die "the pres-rules set-up failed: $(cat "$work/setup.json.errors" 2>/dev/null)"

sipp_load() { # tag scenario inf rate
    local tag=$1 scen=$2 inf=$3 rate=$4
    # shellcheck disable=SC2046
    (cd "$work" && exec sipp -sf "$top/test-configs/sipp/$scen" -inf "$inf" -i 127.0.0.1 -p "$(free_port)" -nostdin -nd \
        $(sipp_rate "$rate") -m "$(calls "$rate")" -l 100000 -recv_timeout 15000 \
        -timeout "$((duration + 300))s" -timeout_error -buff_size 4194304 \
        -trace_err -error_file "$work/$tag.err" ${TRACE:--max_log_size 2000000} -trace_stat -stf "$work/$tag.csv" -fd "$sample" \
        ${TRACE:+-trace_msg -message_file "$work/$tag.msg"} "127.0.0.1:$sip_port" </dev/null >"$work/$tag.out" 2>&1) &
    LOAD_PID+=($!)
}
# UDP datagrams the kernel dropped for full receive buffers (all of this network namespace's
# sockets: informational, the retransmissions of SIP absorb them).
udp_drops() { awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { print $6 }' /proc/net/snmp; }
# Those of Kamailio's SIP socket alone (/proc/net/udp: local address, ..., drops last).
sip_drops() { awk -v p="$(printf '%04X' "$sip_port")" 'NR > 1 && $2 ~ (":" p "$") { d += $NF } END { print d + 0 }' /proc/net/udp; }
drops0=$(udp_drops)
t_start=$(date +%s.%N)
sipp_load publish soak-publish.xml "$work/publish.csv" "$pub_rate"
sipp_load watch soak-watcher.xml "$work/watch.csv" "$sub_rate"
"${client[@]}" run --seconds "$duration" --xcap-rate "$xcap_rate" --rules-rate "$rules_rate" --pua-rate "$pua_rate" \
    --out "$work/client.json" >"$work/client.out" 2>&1 &
CLIENT_PID=$!

# ---------------------------------------------------------------- sampling
kamcmd_errors=0
samples=$work/samples.tsv
printf 't\tphase\tseries\tvalue\n' >"$samples"
elapsed() { awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
rows() { # file table: the table's rows (-1 if they cannot be counted); file: the SQLite file's name
    if [ "$db" = postgres ]; then
        psql_db soak -c "SELECT count(*) FROM $2;" 2>>"$work/db.err" || echo -1
    else
        sqlite3 "$d/$1.db" "SELECT count(*) FROM $2;" 2>>"$work/db.err" || echo -1
    fi
}
take_sample() { # phase
    local t phase=$1 out p rss
    t=$(elapsed)
    {
        if out=$(rpc server core.shmmem 2>>"$work/kamcmd.err"); then
            printf '%s\t%s\tshm used\t%s\n' "$t" "$phase" "$(field real_used <<<"$out")"
        else
            kamcmd_errors=$((kamcmd_errors + 1))
        fi
        if out=$(rpc server pkg.stats 2>>"$work/kamcmd.err"); then
            # One block per process: pid, rank, used, free, real_used, ... desc.
            awk -v t="$t" -v ph="$phase" '$1 == "pid:" { pid = $2 } $1 == "real_used:" { printf "%s\t%s\tpkg %s\t%s\n", t, ph, pid, $2 }' <<<"$out"
        else
            kamcmd_errors=$((kamcmd_errors + 1))
        fi
        for p in $(group_pids); do
            # VmRSS, and RssAnon: the process's private memory (what malloc holds, libxml2's
            # and the Rust heap's, and the pkg pool's pages as they are touched).
            awk -v t="$t" -v ph="$phase" -v p="$p" '$1 == "VmRSS:" { printf "%s\t%s\trss %s\t%d\n", t, ph, p, $2 * 1024 }
                $1 == "RssAnon:" { printf "%s\t%s\theap %s\t%d\n", t, ph, p, $2 * 1024 }' "/proc/$p/status" 2>/dev/null || true
        done
        printf '%s\t%s\tcpu ticks\t%s\n' "$t" "$phase" "$(cpu_ticks "${PID[server]}")"
        printf '%s\t%s\trows xcap\t%s\n' "$t" "$phase" "$(rows xcap xcap)"
        printf '%s\t%s\trows pua\t%s\n' "$t" "$phase" "$(rows pua pua)"
        for tb in presentity active_watchers watchers; do printf '%s\t%s\trows %s\t%s\n' "$t" "$phase" "$tb" "$(rows presence "$tb")"; done
    } >>"$samples"
}
load_running() {
    local p
    kill -0 "$CLIENT_PID" 2>/dev/null && return 0
    for p in "${LOAD_PID[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done
    return 1
}
alive() { kill -0 "${PID[server]}" 2>/dev/null; }
take_sample load
next=$sample
limit=$((duration + 300))
overrun=false
while load_running && alive; do
    sleep 1
    e=$(elapsed)
    if awk -v e="$e" -v n="$next" 'BEGIN { exit !(e >= n) }'; then
        # tail: the clients finish what they started after SECONDS (not in the slopes).
        if awk -v e="$e" -v d="$duration" 'BEGIN { exit !(e > d) }'; then take_sample tail; else take_sample load; fi
        next=$((next + sample))
    fi
    awk -v e="$e" -v l="$limit" 'BEGIN { exit !(e > l) }' && {
        # The clients fell behind (an overloaded machine, or a server that stopped answering):
        # stop them, so the drain and the report still come; the verdict fails on it.
        echo "$bench: the load did not end within $limit s; stopping its clients" >&2
        overrun=true
        stop_pid "$CLIENT_PID"
        break
    }
done
load_end=$(elapsed)
rc_client=0
$overrun || wait "$CLIENT_PID" || rc_client=$?
CLIENT_PID=
for p in "${LOAD_PID[@]}"; do stop_pid "$p"; done
LOAD_PID=()
echo "$bench: load ended after $load_end s; draining (at most $drain_max s)" >&2

# ---------------------------------------------------------------- drain
live_docs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("xcap_docs_live", -1))' "$work/client.json" 2>/dev/null || echo -1)
drained() { # the tables hold only the documents left, and tm no transaction
    [ "$(rows presence presentity)" = 0 ] && [ "$(rows presence active_watchers)" = 0 ] &&
        [ "$(rows pua pua)" = 0 ] && [ "$(rows xcap xcap)" = "$live_docs" ] &&
        [ "$(rpc server tm.stats 2>/dev/null | field current)" = 0 ]
}
drain_step=$((sample < 5 ? sample : 5))
drain_t0=$SECONDS
while alive && ! drained && [ $((SECONDS - drain_t0)) -lt "$drain_max" ]; do
    take_sample drain
    sleep "$drain_step"
done
alive && take_sample final
drain_s=$((SECONDS - drain_t0))
sip_drops=$(sip_drops)

# ---------------------------------------------------------------- errors and crashes
dead=0
group_pids >"$work/pids.end"
dead=$(comm -23 "$work/pids.start" "$work/pids.end" | wc -l)
log=${DIR[server]}/kamailio.log
log_err=$(log_errors server)
# A race inside the stock presence module, whichever modules run beside it: publ_notify() (a
# publication) or query_db_notify() (pres_refresh_watchers, after a pres-rules change) copies
# a presentity's watchers, then notify() updates each in presence's hash table, and fails
# ("updating subscription record") when an un-SUBSCRIBE or an expiry removed it in between;
# its callers then log their own line each. Counted apart, not as errors of the modules under
# test: the notify() line, and a caller's line that follows it in the same process.
presence_race=$(awk '
    match($0, /^ *[0-9]+\(([0-9]+)\) /) { pid = substr($0, RSTART, RLENGTH) } !/ (ERROR|CRITICAL|BUG|ALERT):/ { next }
    / ERROR: presence \[notify\.c:[0-9]+\]: notify\(\): updating subscription record in hash table$/ { n++; race[pid] = 1; next }
    race[pid] && / ERROR: presence \[(notify|presence)\.c:[0-9]+\]: (publ_notify\(\): Could not send notify for presence|query_db_notify\(\): Could not send notify for \[event\]=presence|pres_refresh_watchers\(\): sending Notify requests)$/ { n++; next }
    { race[pid] = 0 }
    END { print n + 0 }' "$log")
crash_lines=$(grep -cE 'exited by a signal|core dumped|Segmentation fault|terminated by signal|BUG:' "$log" || true)
sipp_stat() { # tag column
    [ -f "$work/$1.csv" ] && sipp_count "$work/$1.csv" "$2" || echo -1
}
{
    echo "{"
    echo "\"target\": \"$KAMAILIO_TARGET\", \"kamailio\": \"$(kamailio_version)\", \"modules\": \"$modules\", \"db\": \"$db\","
    echo "\"duration\": $duration, \"sample\": $sample, \"warmup\": $warmup, \"scale\": $scale,"
    echo "\"load_end\": $load_end, \"load_overrun\": $overrun, \"drain_s\": $drain_s, \"drain_max\": $drain_max,"
    echo "\"rates\": {\"xcap\": $xcap_rate, \"pres_rules\": $rules_rate, \"publish_lives\": $pub_rate, \"subscribe_dialogs\": $sub_rate, \"pua_lives\": $pua_rate},"
    echo "\"hot\": $hot, \"watchers\": $watchers, \"pairs\": $pairs, \"xcap_users\": $xcap_users, \"live_docs\": $live_docs,"
    echo "\"sipp\": {"
    for tag in publish watch; do
        echo "\"$tag\": {\"ok\": $(sipp_stat "$tag" 'SuccessfulCall(C)'), \"failed\": $(sipp_stat "$tag" 'FailedCall(C)'),"
        echo " \"unexpected\": $(sipp_stat "$tag" 'FailedUnexpectedMessage(C)'), \"out_of_call\": $(sipp_stat "$tag" 'OutOfCallMsgs(C)'),"
        echo " \"retransmissions\": $(sipp_stat "$tag" 'Retransmissions(C)')}$([ "$tag" = publish ] && echo ,)"
    done
    echo "},"
    echo "\"client_exit\": $rc_client, \"kamcmd_errors\": $kamcmd_errors, \"log_errors\": $((log_err - presence_race)), \"presence_race_lines\": $presence_race,"
    echo "\"crash_lines\": $crash_lines, \"dead_processes\": $dead, \"processes\": $(wc -l <"$work/pids.start"),"
    echo "\"alive\": $(alive && echo true || echo false), \"udp_rcvbuf_drops\": $(($(udp_drops) - drops0)), \"sip_socket_drops\": $sip_drops,"
    echo "\"mem_tol_kb\": ${MEM_TOL_KB:-256}, \"mem_tol_pct\": ${MEM_TOL_PCT:-2}, \"clk_tck\": $clk_tck"
    echo "}"
} >"$work/run.json"
grep -E ' (ERROR|CRITICAL|BUG|ALERT):|exited by a signal|core dumped' "$log" | sed -E 's/^ *[0-9]+\([0-9]+\) //' |
    sort | uniq -c | sort -rn | head -n 20 >"$work/log-errors.txt" || true

mkdir -p "$out_dir"
cp "$samples" "$out_dir/$name.tsv"
rc=0
"$py" "$top/ci/soak-report.py" --run "$work/run.json" --samples "$samples" --client "$work/client.json" \
    --client-errors "$work/client.json.errors" --log-errors "$work/log-errors.txt" --procs "$work/procs.tsv" --sipp-errors "$work/publish.err" "$work/watch.err" \
    --md "$out_dir/$name.md" --png "$out_dir/$name.png" || rc=$?
echo "$bench: report: ${out_dir#"$top"/}/$name.md"
echo "$bench: plot: ${out_dir#"$top"/}/$name.png"
exit "$rc"
}
