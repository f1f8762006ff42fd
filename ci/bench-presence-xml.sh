#!/usr/bin/env bash
# Benchmarks our presence_xml against the stock C presence_xml, both under the stock presence
# module in the real Kamailio, in the same run, on 127.0.0.1 only, with
# test-configs/bench-presence-xml.cfg (SQLite) and SIPp clients
# (test-configs/sipp/bench-presence-xml-*.xml). Not part of the tests; run it by hand.
#
# Every presentity has a pres-rules document in the xcap table (written before Kamailio
# starts, integrated_xcap_server=1): a first rule blocks two other identities, the second
# allows the domain 127.0.0.1 (identity `many` with an `except`, after ten `one` ids that do not
# match) with transformations (provide-services by service-uri-scheme "sip", all persons, all
# devices, provide-activities), so every NOTIFY body goes through apply_auth, which must drop
# the tuples whose contact is a tel: URI (every 5th tuple).
#
# Measured, ours and stock alternating on each load (the order flips every round), ROUNDS rounds:
#   1. PUBLISH: PUB_CALLS publication lives (initial PUBLISH with a PIDF body, modify with
#      SIP-If-Match and another body, removal with Expires 0) spread over PUB_USERS
#      presentities, WINDOW calls in flight: answered 2xx PUBLISH/s and Kamailio CPU seconds per
#      1,000 PUBLISHes (presence asks presence_xml to check each body and fetches the rules).
#   2. SUBSCRIBE: SUB_CALLS dialogs of new watchers (presence consults the watchers table
#      first and asks presence_xml for the rules only for a watcher it has not seen) to SUB_USERS
#      presentities with SUB_PUBS publications each: SUBSCRIBE, 200, NOTIFY (active, PIDF body
#      aggregated and transformed) answered 200, un-SUBSCRIBE, 200, NOTIFY (terminated, no body)
#      answered 200. Dialogs/s and CPU seconds per 1,000 dialogs.
#   3. NOTIFY body cost: for each N of AGG_PUBS (1 10 50), a presentity with N publications
#      (distinct tuple ids, published before the rounds); AGG_CALLS dialogs as in 2; CPU
#      milliseconds per NOTIFY with a body (per dialog: one SUBSCRIBE, one body built by
#      aggregation + transformations, and the un-SUBSCRIBE with its body-less NOTIFY).
# CPU is utime+stime of all Kamailio processes (/proc/<pid>/stat of its process group), counted
# until tm has freed the run's transactions. Medians over the rounds and their ratio
# ours/stock, and the median of the per-round ratios (both servers ran each load back to back).
#
# Before measuring, on both servers: a few publication lives traced and counted, the set-up
# publications counted, and one dialog per presentity traced: its first NOTIFY must be active
# and carry a well-formed PIDF body with exactly the expected tuples (the N publications minus
# the tel: ones) and no tel: contact; both servers' tuple sets must be equal. During the rounds
# the SIPp client fails a call whose first NOTIFY is not active with a PIDF body. At the end the
# ERROR/CRITICAL/WARNING lines of both Kamailio logs are counted.
#
# One SIP worker (CHILDREN=1) by default: db_sqlite sets no busy timeout, so two workers writing
# the presentity or watchers table at once make one of them fail at once with "database is
# locked" (presence then answers 500, or has answered 200 and leaves a removed publication in
# the table): with children=4 half of the set-up PUBLISHes failed. With one worker the
# throughput is that of one core, i.e. the inverse of the CPU per request, and SIPp has the
# other core (on 2 cores). The databases and logs live on /dev/shm (tmpfs), in WAL mode, so that
# SQLite's syncs to disk do not weigh on the measurement.
#
# What both servers spend alike weighs on every ratio: with the defaults, perf shows the SIP
# worker spending a third to a half of its time in Kamailio's q_malloc (pkg), mostly for
# db_sqlite's result rows when presence reads the publications for a NOTIFY, and in SQLite.
# PUBL_CACHE=2 MEM=tlsf take most of that away and show more of what presence_xml costs.
#
# Prints a Markdown table and writes it to target/bench-presence-xml.md (OUT).
# Environment: ROUNDS (default 6: even, so that each server goes first as often; the first
# of a pair measured up to 40% more CPU per PUBLISH in runs of bench-presence-xml.sh), PUB_CALLS (4000), SUB_CALLS (3000), AGG_CALLS (1500),
# AGG_PUBS ("1 10 50"), LOADS (the loads to measure, default all: pub sub agg1 agg10 agg50), WINDOW (calls in flight, 32), PUB_USERS (100), SUB_USERS (20),
# SUB_PUBS (2), CHILDREN (1), PUBL_CACHE (1: publications in SQLite, presence's default; 2: in
# shared memory), MEM (Kamailio's memory manager for shm and pkg, -x/-X: tlsf or fm; default
# q_malloc), NO_BUILD=1 to skip the build, KEEP=1 to keep the work directory (logs, traces),
# PROFILE=1 also records every measured run with perf (call stacks) and reports presence_xml's
# own CPU per request: the share of samples inside the callbacks it gave presence, times the
# run's CPU (what the module costs, apart from presence, the core and the database, which weigh
# alike on both servers; a PUBLISH spends about three quarters of its CPU outside presence_xml);
# it needs perf and adds about a minute per round. HEAP=1 measures the SIP worker's pkg heap
# instead of timing anything: after the checks, and again after PUB_CALLS publication lives,
# each server's worker dumps its q_malloc heap (cfg_rpc's mem_dump_pkg, every fragment with
# the function that allocated it) into heap-<server>-<when>.txt of the work directory, and
# ci/pkg-heap.py compares them (target/bench/heap-presence-xml.md); then the script ends.
# OUT. Needs kamailio, kamcmd, sipp, sqlite3, python3. About 9 minutes with the defaults on 2
# cores (each run ends with tm's 5 s wait), 6 with PUBL_CACHE=2 MEM=tlsf.
# Also writes one line per load (ours, stock, ratio, per-round spread) to target/bench/bench-presence-xml.tsv
# (TSV; ci/bench-lib.sh's tsv_row), which ci/bench.sh sums up.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh" # (also: cd to the repository root, top=$PWD)

rounds=${ROUNDS:-6}
pub_calls=${PUB_CALLS:-4000}
sub_calls=${SUB_CALLS:-3000}
agg_calls=${AGG_CALLS:-1500}
read -r -a agg_pubs <<<"${AGG_PUBS:-1 10 50}"
window=${WINDOW:-32}
children=${CHILDREN:-1}
profile=${PROFILE:-0}
heap=${HEAP:-0}
publ_cache=${PUBL_CACHE:-1}
case $publ_cache in 1) subs_db_mode=0 ;; 2) subs_db_mode=2 ;; *) die "PUBL_CACHE must be 1 or 2" ;; esac
mem=${MEM:-}
pub_users=${PUB_USERS:-100}
sub_users=${SUB_USERS:-20}
sub_pubs=${SUB_PUBS:-2}
out_md=${OUT:-"$top/target/bench-presence-xml.md"}
shm_mb=512
# SIPp's socket buffers (its default, 64 KB, overflows with 32 NOTIFYs of 10 KB in flight when
# SIPp is not scheduled for a moment; the kernel caps it at net.core.rmem_max).
sipp_buf=4194304
scen_dir="$top/test-configs/sipp"

tm_idle_s=60 # tm_idle's limit

need_tools kamailio kamcmd sipp sqlite3 python3
need_stock presence_xml presence
for n in "${agg_pubs[@]}"; do [[ $n =~ ^[1-9][0-9]*$ ]] || die "AGG_PUBS: '$n' is not a positive number"; done

base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
make_work "$base/bench-presence-xml"

# ---------------------------------------------------------------- build
build_release presence_xml xcap_server presence_xcapdiff
copy_modules presence_xml

# ---------------------------------------------------------------- documents and client data
domain=127.0.0.1
# The pres-rules of every presentity.
cat >"$work/pres-rules.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
  <cr:rule id="blocked">
    <cr:conditions>
      <cr:identity>
        <cr:one id="sip:spam@example.com"/>
        <cr:one id="sip:telemarketing@example.net"/>
      </cr:identity>
    </cr:conditions>
    <cr:actions><sub-handling>block</sub-handling></cr:actions>
    <cr:transformations/>
  </cr:rule>
  <cr:rule id="friends-and-colleagues">
    <cr:conditions>
      <cr:identity>
        <cr:one id="sip:alice@example.com"/>
        <cr:one id="sip:bob@example.com"/>
        <cr:one id="sip:carol@example.com"/>
        <cr:one id="sip:dave@example.com"/>
        <cr:one id="sip:erin@example.com"/>
        <cr:one id="sip:frank@example.org"/>
        <cr:one id="sip:grace@example.org"/>
        <cr:one id="sip:heidi@example.org"/>
        <cr:one id="sip:ivan@example.org"/>
        <cr:one id="sip:judy@example.org"/>
        <cr:many domain="127.0.0.1">
          <cr:except id="sip:mallory@127.0.0.1"/>
        </cr:many>
      </cr:identity>
    </cr:conditions>
    <cr:actions><sub-handling>allow</sub-handling></cr:actions>
    <cr:transformations>
      <provide-services><service-uri-scheme>sip</service-uri-scheme></provide-services>
      <provide-persons><all-persons/></provide-persons>
      <provide-devices><all-devices/></provide-devices>
      <provide-activities>true</provide-activities>
    </cr:transformations>
  </cr:rule>
</cr:ruleset>
EOF
# Tuple i of a presentity: id t<i>, contact tel: when i is a multiple of 5 (withheld by the
# rules), sip: otherwise.
contact() { # user i
    if [ $(($2 % 5)) = 0 ]; then echo "tel:+1555$(printf '%06d' "$2")"; else echo "sip:$1-dev$2@$domain"; fi
}
expected_tuples() { echo $(($1 - $1 / 5)); }

users=()
for k in $(seq "$pub_users"); do users+=("pub$k"); done
for k in $(seq "$sub_users"); do users+=("sub$k"); done
for n in "${agg_pubs[@]}"; do users+=("agg$n"); done

# SIPp injection files (field0 user; field1 tuple id; field2 contact).
{
    echo SEQUENTIAL
    for k in $(seq "$pub_users"); do echo "pub$k;d$k;$(contact "pub$k" "$k")"; done
} >"$work/publish.csv"
{
    echo SEQUENTIAL
    for k in $(seq "$sub_users"); do
        for i in $(seq "$sub_pubs"); do echo "sub$k;t$i;$(contact "sub$k" "$i")"; done
    done
    for n in "${agg_pubs[@]}"; do
        for i in $(seq "$n"); do echo "agg$n;t$i;$(contact "agg$n" "$i")"; done
    done
} >"$work/seed.csv"
seed_count=$(($(wc -l <"$work/seed.csv") - 1))
{
    echo SEQUENTIAL
    for k in $(seq "$sub_users"); do echo "sub$k"; done
} >"$work/sub.csv"
for n in "${agg_pubs[@]}"; do printf 'SEQUENTIAL\nagg%s\n' "$n" >"$work/agg$n.csv"; done

# ---------------------------------------------------------------- servers
declare -A SIP=()
servers=(ours stock)
db() { sqlite3 "${DIR[$1]}/kamailio.db" "$2"; }
publications() { # server [user prefix]: how many publications presence holds
    if [ "$publ_cache" = 2 ]; then
        rpc "$1" presence.presentity_list | awk -v p="${2:-}" '$1 == "user:" && index($2, p) == 1 { n++ } END { print n + 0 }'
    else
        db "$1" "SELECT count(*) FROM presentity WHERE username LIKE '${2:-}%';"
    fi
}

start_server() { # name [define]
    local name=$1 define=${2:-} d="$work/$1" sip u
    mkdir -p "$d"
    {
        create_sql
        echo "PRAGMA journal_mode=WAL;"
        echo "BEGIN;"
        for u in "${users[@]}"; do
            echo "INSERT INTO xcap (username, domain, doc, doc_type, etag, source, doc_uri, port) VALUES ('$u', '$domain', readfile('$work/pres-rules.xml'), 2, 'e-$u', 1, '/xcap-root/pres-rules/users/sip:$u@$domain/index', 0);"
        done
        echo "COMMIT;"
    } | sqlite3 "$d/kamailio.db" >/dev/null
    sip=$(free_port)
    for p in "${SIP[@]}"; do [ "$p" = "$sip" ] && die "port clash, run again"; done
    fill_cfg test-configs/bench-presence-xml.cfg "$d/kamailio.cfg" SIP_PORT="$sip" MODDIR="$work/modules" CHILDREN="$children" \
        PUBL_CACHE="$publ_cache" SUBS_DB_MODE="$subs_db_mode" CTL="$d/ctl.sock" DB_URL="sqlite:///$d/kamailio.db"
    local args=(-m "$shm_mb")
    [ -n "$define" ] && args+=(-A "$define")
    [ "$heap" = 1 ] && args+=(-A HEAP)
    [ -n "$mem" ] && args+=(-x "$mem" -X "$mem")
    start_kamailio "$name" "$d" "${args[@]}"
    SIP[$name]=$sip
    wait_started "$name" ""
    echo "started $name: pid ${PID[$name]}, SIP 127.0.0.1:$sip" >&2
}

start_server ours OUR_PRESENCE_XML
start_server stock
# Which presence_xml each server runs: the library mapped by its main process (by inode: a
# 6.0 server in its root may name our file by another path).
maps_presence_xml() { grep -o '[^ ]*/presence_xml\.so$' "/proc/$1/maps" 2>/dev/null | sort -u; }
maps_inode() { awk '$6 ~ /presence_xml\.so$/ { print $5 }' "/proc/$1/maps" 2>/dev/null | sort -u; }
[ "$(maps_inode "${PID[ours]}")" = "$(stat -c %i "$work/modules/presence_xml.so")" ] || die "ours does not run our presence_xml.so: $(maps_presence_xml "${PID[ours]}")"
[ "$(maps_presence_xml "${PID[stock]}")" = "$stock_dir/presence_xml.so" ] || die "stock does not run the stock presence_xml.so: $(maps_presence_xml "${PID[stock]}")"

# ---------------------------------------------------------------- helpers
# sipp_run server scenario inf calls tag [extra args]: one SIPp UAC run to its end, WINDOW calls
# in flight. Sets LAST[ok], LAST[failed], LAST[elapsed] (s), LAST[client] (SIPp's CPU, % of
# a core). Never dies on failed calls (the caller decides).
declare -A LAST=()
sipp_run() {
    local s=$1 scen=$2 inf=$3 calls=$4 tag=$5 d="${DIR[$1]}" t0 t1 c0 c1 c rc limit
    shift 5
    limit=$((60 + calls / 20))
    rm -f "$d/$tag.csv"
    t0=$(date +%s%N)
    (cd "$d" && exec sipp -sf "$scen_dir/$scen" -inf "$inf" -i 127.0.0.1 -p "$(free_port)" -nostdin \
        -m "$calls" -l "$window" -r 100000 -recv_timeout 10000 -timeout "${limit}s" -timeout_error -buff_size "$sipp_buf" \
        -trace_err -error_file "$d/$tag.err" -trace_stat -stf "$d/$tag.csv" -fd 3600 \
        "$@" "127.0.0.1:${SIP[$s]}" </dev/null >"$d/$tag.out" 2>&1) &
    SIPP_PID=$!
    c0=$(pid_ticks "$SIPP_PID")
    c1=$c0
    while kill -0 "$SIPP_PID" 2>/dev/null; do
        c=$(pid_ticks "$SIPP_PID")
        [ "$c" -gt "$c1" ] && c1=$c # (0 once it has exited)
        sleep 0.05
    done
    rc=0
    wait "$SIPP_PID" || rc=$?
    SIPP_PID=
    t1=$(date +%s%N)
    still_alive "$s" "during $tag"
    [ -f "$d/$tag.csv" ] || { cat "$d/$tag.out" >&2; die "$s: SIPp ($tag) wrote no statistics (exit $rc)"; }
    LAST[ok]=$(sipp_count "$d/$tag.csv" "SuccessfulCall(C)")
    LAST[failed]=$(sipp_count "$d/$tag.csv" "FailedCall(C)")
    LAST[elapsed]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    LAST[client]=$(awk -v d=$((c1 - c0)) -v e="${LAST[elapsed]}" -v hz="$clk_tck" 'BEGIN { printf "%.0f", (e > 0 ? d / hz / e * 100 : 0) }')
    LAST[rc]=$rc
}

declare -A R=()    # per server/measure: space-separated values, one per round
declare -A ONE=()

# check_notifies trace expected_tuples label: the first NOTIFY of every call in a SIPp trace
# must be active with a PIDF body holding exactly the expected tuples (ids t<i> of the sip:
# contacts, in any order); prints "<tuples> <body bytes> <sorted ids>".
check_notifies() {
    python3 - "$@" <<'EOF'
import re, sys
import xml.etree.ElementTree as ET
trace, expected, label = sys.argv[1], int(sys.argv[2]), sys.argv[3]
PIDF = "{urn:ietf:params:xml:ns:pidf}"
text = open(trace, encoding="utf-8", errors="replace").read()
firsts = {}
for chunk in text.split("----------------------------------------------- ")[1:]:
    lines = chunk.split("\n", 2)
    if len(lines) < 3 or "received" not in lines[1]:
        continue
    msg = lines[2].lstrip("\r\n").replace("\r\n", "\n")
    if not msg.startswith("NOTIFY "):
        continue
    head, _, body = msg.partition("\n\n")
    hdrs = {}
    for l in head.split("\n")[1:]:
        k, _, v = l.partition(":")
        hdrs.setdefault(k.strip().lower(), v.strip())
    cid = hdrs.get("call-id") or hdrs.get("i")
    firsts.setdefault(cid, (hdrs, body))
if not firsts:
    sys.exit(f"{label}: no NOTIFY in {trace}")
result = None
for cid, (hdrs, body) in firsts.items():
    state = hdrs.get("subscription-state", "")
    if not state.startswith("active"):
        sys.exit(f"{label}: NOTIFY of {cid} is {state!r}, not active")
    if "application/pidf+xml" not in hdrs.get("content-type", ""):
        sys.exit(f"{label}: NOTIFY of {cid} has Content-Type {hdrs.get('content-type')!r}")
    body = body.rstrip("\n")
    try:
        root = ET.fromstring(body.encode())
    except ET.ParseError as e:
        sys.exit(f"{label}: NOTIFY body of {cid} is not well-formed ({e}):\n{body[:2000]}")
    if root.tag != PIDF + "presence":
        sys.exit(f"{label}: NOTIFY body of {cid} has the root {root.tag}")
    tuples = root.findall(PIDF + "tuple")
    ids = sorted(t.get("id") for t in tuples)
    contacts = [(c.text or "").strip() for c in root.iter(PIDF + "contact")]
    if any(c.startswith("tel:") for c in contacts):
        sys.exit(f"{label}: NOTIFY body of {cid} still has a tel: contact (transformations not applied)")
    if len(tuples) != expected or len(set(ids)) != len(ids):
        sys.exit(f"{label}: NOTIFY body of {cid} has {len(tuples)} tuples ({ids}), expected {expected}:\n{body[:3000]}")
    result = f"{len(tuples)} {len(body.encode())} {','.join(ids)}"
print(result)
EOF
}

# ---------------------------------------------------------------- correctness first
for s in "${servers[@]}"; do
    d=${DIR[$s]}
    # A few publication lives, traced.
    sipp_run "$s" bench-presence-xml-publish.xml "$work/publish.csv" 5 pubcheck -trace_msg -message_file "$d/pubcheck.msg"
    [ "${LAST[ok]}" = 5 ] || { cat "$d/pubcheck.err" >&2 || true; die "$s: check: ${LAST[ok]} of 5 publication lives succeeded"; }
    counts=$(awk '
        /message received/ { rx = 1; next } /message sent/ { rx = 0; next }
        rx && /^SIP\/2.0 200/ { ok++ } rx && /^SIP-ETag:/ { e++ }
        !rx && /^PUBLISH sip:/ { p++ } !rx && /^Content-Type: application\/pidf\+xml/ { b++ }
        END { printf "%d %d %d %d", p, b, ok, e }' "$d/pubcheck.msg")
    echo "$s check: PUBLISHes sent, with a PIDF body, 200 received, with SIP-ETag: $counts (expected 15 10 15 15)" >&2
    [ "$counts" = "15 10 15 15" ] || die "$s: other PUBLISH exchanges than expected (trace: $d/pubcheck.msg, run with KEEP=1)"
    left=$(publications "$s" pub)
    [ "$left" = 0 ] || die "$s: $left publications left in the presentity table after the removals"
    # The publications the SUBSCRIBE loads read.
    sipp_run "$s" bench-presence-xml-seed.xml "$work/seed.csv" "$seed_count" seed
    [ "${LAST[ok]}" = "$seed_count" ] || { head "$d/seed.err" >&2 || true; die "$s: set-up: ${LAST[ok]} of $seed_count PUBLISHes succeeded"; }
    stored=$(publications "$s")
    [ "$stored" = "$seed_count" ] || die "$s: set-up: $stored publications in the presentity table, expected $seed_count"
    echo "$s: $seed_count set-up publications stored" >&2
    # One traced dialog per kind of presentity.
    for n in sub "${agg_pubs[@]}"; do
        if [ "$n" = sub ]; then inf="$work/sub.csv" want=$(expected_tuples "$sub_pubs") kind=sub
        else inf="$work/agg$n.csv" want=$(expected_tuples "$n") kind="agg$n"; fi
        sipp_run "$s" bench-presence-xml-subscribe.xml "$inf" 1 "check-$kind" -key wprefix check -trace_msg -message_file "$d/check-$kind.msg"
        [ "${LAST[ok]}" = 1 ] || { cat "$d/check-$kind.err" >&2 || true; tail -n 20 "$d/kamailio.log" >&2; die "$s: check dialog to $kind failed"; }
        res=$(check_notifies "$d/check-$kind.msg" "$want" "$s $kind") || die "$s: wrong NOTIFY (trace: $d/check-$kind.msg, run with KEEP=1)"
        read -r nt bytes ids <<<"$res"
        ONE[$s,$kind,tuples]=$nt ONE[$s,$kind,bytes]=$bytes ONE[$s,$kind,ids]=$ids
        echo "$s check $kind: NOTIFY active, $nt tuples (of $([ "$kind" = sub ] && echo "$sub_pubs" || echo "$n") published), body $bytes bytes" >&2
    done
done
for kind in sub $(printf 'agg%s ' "${agg_pubs[@]}"); do
    [ "${ONE[ours,$kind,ids]}" = "${ONE[stock,$kind,ids]}" ] || die "$kind: the NOTIFY tuples differ: ours ${ONE[ours,$kind,ids]}, stock ${ONE[stock,$kind,ids]}"
done
echo "NOTIFY bodies: the same tuples from both servers" >&2

# ---------------------------------------------------------------- profiling (PROFILE=1)
# What presence_xml itself costs inside a request: perf samples (with call stacks) of all the
# server's processes during a measured run; the share of them whose stack passes through one
# of the callbacks presence_xml gave presence (the same entry points on both servers), times
# the run's CPU per unit, is the module's own CPU per unit.
declare -A PERF_PID=()
callbacks_ours='^kamailio::presence_events::(agg_nbody|apply_auth|auth_status|check_publish|free_body|rules_doc|pidf_doc)$'
callbacks_stock='^(pres_agg_nbody|pres_agg_nbody_empty|pres_apply_auth|pres_watcher_allowed|xml_publ_handl|free_xml_body|get_rules_doc)$'
profile_start() { # server tag
    local pids
    pids=$(pgrep -g "${PID[$1]}" | paste -sd, -)
    perf record -q -F 499 --call-graph dwarf,16384 -p "$pids" -o "${DIR[$1]}/$2.perf" >/dev/null 2>&1 &
    PERF_PID[$1]=$!
    sleep 0.3
}
profile_stop() { # server
    kill -INT "${PERF_PID[$1]}" 2>/dev/null || true
    wait "${PERF_PID[$1]}" 2>/dev/null || true
}
profile_share() { # server tag: prints the callbacks' share (%) of the samples
    local re=$callbacks_stock f="${DIR[$1]}/$2.perf"
    [ "$1" = ours ] && re=$callbacks_ours
    perf report -i "$f" --children --sort sym --stdio -g none 2>/dev/null |
        awk -v re="$re" '$1 ~ /%$/ && $3 == "[.]" { sym = $0; sub(/^.*\[\.\] /, "", sym); sub(/ *$/, "", sym); if (sym ~ re) t += $1 + 0 } END { printf "%.2f", t }'
    [ "${PERF_KEEP:-0}" = 1 ] || rm -f "$f"
}
if [ "$profile" = 1 ]; then
    need_tools perf
    perf record -q -F 99 -o /dev/null true 2>/dev/null || die "PROFILE=1: perf record does not work here"
fi

# ---------------------------------------------------------------- measuring
# proc_ticks pgid: "pid ticks" of every process of the group (PROC_CPU=1 prints the per-process
# CPU of every measured run).
proc_ticks() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pgid="$1" '{ pid = $1; sub(/^.*\) /, ""); if ($3 == pgid) print pid, $12 + $13 }'
}
measure() { # server load scenario inf calls unit_per_call
    local s=$1 load=$2 scen=$3 inf=$4 calls=$5 per=$6 t0 t1 rate cpu extra=()
    [ "$scen" = bench-presence-xml-subscribe.xml ] && extra=(-key wprefix "r${round}${load}x")
    tm_idle "$s"
    [ "$profile" = 1 ] && profile_start "$s" "r$round-$load"
    t0=$(cpu_ticks "${PID[$s]}")
    [ "${PROC_CPU:-0}" = 1 ] && proc_ticks "${PID[$s]}" >"${DIR[$s]}/ticks0"
    sipp_run "$s" "$scen" "$inf" "$calls" "r$round-$load" "${extra[@]}"
    tm_idle "$s" # the transactions' memory is freed by tm's timer: part of the cost
    t1=$(cpu_ticks "${PID[$s]}")
    if [ "${PROC_CPU:-0}" = 1 ]; then
        proc_ticks "${PID[$s]}" >"${DIR[$s]}/ticks1"
        rpc "$s" core.psx | awk '$1 == "PID:" { p = $2 } $1 == "DSC:" { $1 = ""; print p, $0 }' >"${DIR[$s]}/psx"
        echo "round $round $s $load: CPU ticks per process: $(awk 'FILENAME ~ /psx$/ { d[$1] = $2 " " $3 " " $4; next } FILENAME ~ /ticks0$/ { a[$1] = $2; next } { t = $2 - a[$1]; if (t > 0) printf "%s (%s) %d; ", $1, d[$1], t }' "${DIR[$s]}/psx" "${DIR[$s]}/ticks0" "${DIR[$s]}/ticks1")" >&2
    fi
    local units=$((LAST[ok] * per))
    rate=$(awk -v n="$units" -v e="${LAST[elapsed]}" 'BEGIN { printf "%.0f", (e > 0 ? n / e : 0) }')
    # CPU per 1,000 units (s), or per unit in ms: the same number.
    cpu=$(cpu_per_1k $((t1 - t0)) "$units")
    add "$s,$load,rate" "$rate"; add "$s,$load,cpu" "$cpu"; add "$s,$load,client" "${LAST[client]}"
    add "$s,$load,failed" "${LAST[failed]}"
    if [ "$profile" = 1 ]; then
        local share
        profile_stop "$s"
        share=$(profile_share "$s" "r$round-$load")
        add "$s,$load,module" "$(awk -v c="$cpu" -v p="$share" 'BEGIN { printf "%.4f", c * p / 100 }')"
        echo "round $round $s $load: presence_xml's callbacks ${share}% of the sampled Kamailio CPU" >&2
    fi
    echo "round $round $s $load: ${LAST[ok]} of $calls calls ok (${LAST[failed]} failed) in ${LAST[elapsed]} s: $rate/s, Kamailio CPU $cpu s/1k, SIPp client at ${LAST[client]}% of a core" >&2
    if [ "${LAST[failed]}" -gt 0 ]; then
        echo "bench-presence-xml: $s $load: ${LAST[failed]} failed calls; first errors:" >&2
        head -n 5 "${DIR[$s]}/r$round-$load.err" >&2 2>/dev/null || true
    fi
}

# ---------------------------------------------------------------- pkg heap (HEAP=1)
# heap_dump server tag: the SIP worker's q_malloc heap, every fragment, into heap-<server>-<tag>.txt.
heap_dump() {
    local s=$1 tag=$2 d="${DIR[$1]}" pid before
    pid=$(rpc "$s" core.psx | awk '$1 == "PID:" { p = $2 } /DSC:.*receiver child=0/ { print p; exit }')
    [ -n "$pid" ] || die "$s: no SIP worker in core.psx"
    before=$(wc -l <"$d/kamailio.log")
    rpc "$s" cfg.set_now_int core mem_summary 1 >/dev/null
    rpc "$s" cfg.set_now_int core mem_status_mode 1 >/dev/null
    rpc "$s" cfg.set_now_int core mem_dump_pkg "$pid" >/dev/null
    # The worker takes the new setting (and dumps) when it next receives a message.
    python3 -c 'import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-heap\r\nFrom: <sip:h@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: heap\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", ("127.0.0.1", int(sys.argv[1])))' "${SIP[$s]}"
    for _ in $(seq 100); do
        tail -n +"$before" "$d/kamailio.log" | grep -q "qm_status: -----" && break
        sleep 0.1
    done
    tail -n +"$before" "$d/kamailio.log" | grep "($pid)" | sed -n '/Memory status (pkg)/,/qm_status: -----/p' >"$work/heap-$s-$tag.txt"
    rpc "$s" cfg.set_now_int core mem_dump_pkg 0 >/dev/null
    [ -s "$work/heap-$s-$tag.txt" ] || die "$s: the worker $pid dumped no heap"
}
# shm_dump server tag: the shared memory heap, every fragment, into shm-<server>-<tag>.txt.
shm_dump() {
    local s=$1 tag=$2 d="${DIR[$1]}" before
    before=$(wc -l <"$d/kamailio.log")
    rpc "$s" cfg.set_now_int core mem_status_mode 1 >/dev/null
    rpc "$s" cfg.set_now_int core mem_dump_shm 1 >/dev/null
    for _ in $(seq 100); do
        tail -n +"$before" "$d/kamailio.log" | grep -q "qm_status: -----" && break
        sleep 0.1
    done
    tail -n +"$before" "$d/kamailio.log" | sed -n '/Memory status (shm)/,/qm_status: -----/p' >"$work/shm-$s-$tag.txt"
    [ -s "$work/shm-$s-$tag.txt" ] || die "$s: no shm dump"
}
if [ "$heap" = 1 ]; then
    mkdir -p "$top/target/bench"
    for s in "${servers[@]}"; do heap_dump "$s" warm; shm_dump "$s" warm; done
    # Every pkg allocation of five publication lives (15 PUBLISHes), as q_malloc logs them
    # with memdbg at a shown level: who allocates, how much, and how far the search went.
    for s in "${servers[@]}"; do
        before=$(wc -l <"${DIR[$s]}/kamailio.log")
        rpc "$s" cfg.set_now_int core memdbg 2 >/dev/null
        sipp_run "$s" bench-presence-xml-publish.xml "$work/publish.csv" 5 heaptrace
        rpc "$s" cfg.set_now_int core memdbg 3 >/dev/null
        tail -n +"$before" "${DIR[$s]}/kamailio.log" | grep -E "qm_(malloc|free|realloc)\(|-th hit" >"$work/allocs-$s.txt" || true
        # And of three SUBSCRIBE dialogs of new watchers.
        before=$(wc -l <"${DIR[$s]}/kamailio.log")
        rpc "$s" cfg.set_now_int core memdbg 2 >/dev/null
        sipp_run "$s" bench-presence-xml-subscribe.xml "$work/sub.csv" 3 heaptrace-sub -key wprefix heap
        rpc "$s" cfg.set_now_int core memdbg 3 >/dev/null
        tail -n +"$before" "${DIR[$s]}/kamailio.log" | grep -E "qm_(malloc|free|realloc)\(|-th hit" >"$work/allocs-sub-$s.txt" || true
    done
    for s in "${servers[@]}"; do
        round=0
        measure "$s" pub bench-presence-xml-publish.xml "$work/publish.csv" "$pub_calls" 3
        heap_dump "$s" after-publish
    done
    {
        echo "# The SIP worker's pkg heap, ours (A) and stock (B), $(kamailio_version)"
        echo
        echo "## After the checks and the set-up publications"
        python3 "$top/ci/pkg-heap.py" "$work/heap-ours-warm.txt" "$work/heap-stock-warm.txt"
        echo
        echo "## After $pub_calls more publication lives"
        python3 "$top/ci/pkg-heap.py" "$work/heap-ours-after-publish.txt" "$work/heap-stock-after-publish.txt"
        echo
        echo "## Shared memory after the checks and the set-up publications"
        python3 "$top/ci/pkg-heap.py" "$work/shm-ours-warm.txt" "$work/shm-stock-warm.txt"
        echo
        echo "## Allocations of five publication lives (15 PUBLISHes), SIP worker and others"
        python3 "$top/ci/pkg-heap.py" --allocs "$work/allocs-ours.txt" "$work/allocs-stock.txt" "$(sed -n 's/.*qm_status(): (\(0x[0-9a-f]*\)).*/\1/p' "$work/heap-ours-warm.txt" | head -1)" "$(sed -n 's/.*qm_status(): (\(0x[0-9a-f]*\)).*/\1/p' "$work/heap-stock-warm.txt" | head -1)"
        echo
        echo "## Allocations of three SUBSCRIBE dialogs of new watchers"
        python3 "$top/ci/pkg-heap.py" --allocs "$work/allocs-sub-ours.txt" "$work/allocs-sub-stock.txt" "$(sed -n 's/.*qm_status(): (\(0x[0-9a-f]*\)).*/\1/p' "$work/heap-ours-warm.txt" | head -1)" "$(sed -n 's/.*qm_status(): (\(0x[0-9a-f]*\)).*/\1/p' "$work/heap-stock-warm.txt" | head -1)"
    } | tee "$top/target/bench/heap-presence-xml.md"
    echo "heap dumps in $work (KEEP=1 keeps them); summary in target/bench/heap-presence-xml.md" >&2
    exit 0
fi

loads=(pub sub)
for n in "${agg_pubs[@]}"; do loads+=("agg$n"); done
if [ -n "${LOADS:-}" ]; then
    read -r -a want <<<"$LOADS"
    kept=()
    for load in "${loads[@]}"; do [[ " ${want[*]} " == *" $load "* ]] && kept+=("$load"); done
    [ ${#kept[@]} -gt 0 ] || die "LOADS: none of '$LOADS' is a load (${loads[*]})"
    loads=("${kept[@]}")
fi
for round in $(seq "$rounds"); do
    order=(ours stock)
    [ $((round % 2)) = 0 ] && order=(stock ours)
    for load in "${loads[@]}"; do
        for s in "${order[@]}"; do
            case $load in
                pub) measure "$s" pub bench-presence-xml-publish.xml "$work/publish.csv" "$pub_calls" 3 ;;
                sub) measure "$s" sub bench-presence-xml-subscribe.xml "$work/sub.csv" "$sub_calls" 1 ;;
                agg*) measure "$s" "$load" bench-presence-xml-subscribe.xml "$work/$load.csv" "$agg_calls" 1 ;;
            esac
        done
    done
done

# ---------------------------------------------------------------- cross-checks
for s in "${servers[@]}"; do
    kill -0 "${PID[$s]}" 2>/dev/null || die "$s died"
    ONE[$s,stored]=$(publications "$s")
    ONE[$s,errors]=$(log_errors "$s")
    ONE[$s,warnings]=$(grep -cE ' WARNING:' "${DIR[$s]}/kamailio.log" || true)
    echo "$s: ${ONE[$s,stored]} publications stored at the end (expected $seed_count), ${ONE[$s,errors]} ERROR lines, ${ONE[$s,warnings]} WARNING lines" >&2
done

# ---------------------------------------------------------------- report
set +u # (LOADS may have left loads out: their cells stay empty)
for s in "${servers[@]}"; do
    for load in "${loads[@]}"; do
        for k in rate cpu client; do R[$s,$load,$k,med]=$(median "${R[$s,$load,$k]:-}"); done
    done
done
cell() { echo "${R[$1,$2,$3,med]:-} (${R[$1,$2,$3]:-})"; }
# The median of the per-round ratios ours/stock (each round ran both back to back, so this
# cancels most of what the machine's other load does to both).
paired() { # load metric
    paste -d' ' <(tr ' ' '\n' <<<"${R[ours,$1,$2]}") <(tr ' ' '\n' <<<"${R[stock,$1,$2]}") |
        awk '$2 > 0 { print $1 / $2 }' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else printf "%.2f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

{
    echo "Kamailio $(kamailio_version) with the stock presence module and test-configs/bench-presence-xml.cfg (children=$children, SQLite on tmpfs, $([ "$publ_cache" = 2 ] && echo "publ_cache 2: publications in shared memory, subs_db_mode 2" || echo "publ_cache 1: publications in SQLite, subscriptions in memory"), memory manager ${mem:-q_malloc (default)}); SIPp $(sipp -v 2>/dev/null | awk '/SIPp v/ {sub(/\.$/, "", $2); print $2; exit}') clients with $window calls in flight on the same machine; $(host_line)."
    echo
    echo "$rounds rounds, ours and stock alternating on each load (order flipped every round); medians, all rounds in brackets. CPU: all Kamailio processes, until tm has freed the transactions."
    echo
    echo "| server | PUBLISH 2xx/s | CPU s / 1k PUBLISH | SUBSCRIBE dialogs/s | CPU s / 1k dialogs | SIPp client CPU % (PUBLISH, SUBSCRIBE) | failed calls |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for s in "${servers[@]}"; do
        failed=0
        for load in "${loads[@]}"; do failed=$((failed + $(total "${R[$s,$load,failed]}"))); done
        echo "| $(label "$s") | $(cell "$s" pub rate) | $(cell "$s" pub cpu) | $(cell "$s" sub rate) | $(cell "$s" sub cpu) | ${R[$s,pub,client,med]:-}, ${R[$s,sub,client,med]:-} | $failed |"
    done
    pub_ratio=$(ratio "${R[ours,pub,rate,med]}" "${R[stock,pub,rate,med]}")
    sub_ratio=$(ratio "${R[ours,sub,rate,med]}" "${R[stock,sub,rate,med]}")
    echo "| ours / stock (medians) | $pub_ratio | $(ratio "${R[ours,pub,cpu,med]}" "${R[stock,pub,cpu,med]}") | $sub_ratio | $(ratio "${R[ours,sub,cpu,med]}" "${R[stock,sub,cpu,med]}") | | |"
    echo "| ours / stock (median of per-round ratios) | $(paired pub rate) | $(paired pub cpu) | $(paired sub rate) | $(paired sub cpu) | | |"
    echo
    echo "PUBLISH: $pub_calls publication lives per run (initial with a PIDF body, modify with another, removal) over $pub_users presentities with pres-rules. SUBSCRIBE: $sub_calls dialogs per run of new watchers (SUBSCRIBE, NOTIFY active with the body, un-SUBSCRIBE, NOTIFY terminated) to $sub_users presentities with $sub_pubs publications each; the NOTIFY body went through apply_auth."
    echo
    echo "NOTIFY body cost: $agg_calls dialogs per run to one presentity with N publications (distinct tuple ids); CPU per dialog = per NOTIFY with a body (it also carries the SUBSCRIBE, the un-SUBSCRIBE and its body-less NOTIFY, the same work on both servers)."
    echo
    hdr="| server |" sep="|---|"
    for n in "${agg_pubs[@]}"; do hdr+=" N=$n: dialogs/s | N=$n: CPU ms / NOTIFY |"; sep+="---:|---:|"; done
    echo "$hdr"
    echo "$sep"
    for s in "${servers[@]}"; do
        row="| $(label "$s") |"
        for n in "${agg_pubs[@]}"; do row+=" $(cell "$s" "agg$n" rate) | $(cell "$s" "agg$n" cpu) |"; done
        echo "$row"
    done
    row="| ours / stock (medians) |"
    for n in "${agg_pubs[@]}"; do row+=" $(ratio "${R[ours,agg$n,rate,med]}" "${R[stock,agg$n,rate,med]}") | $(ratio "${R[ours,agg$n,cpu,med]}" "${R[stock,agg$n,cpu,med]}") |"; done
    echo "$row"
    row="| ours / stock (median of per-round ratios) |"
    for n in "${agg_pubs[@]}"; do row+=" $(paired "agg$n" rate) | $(paired "agg$n" cpu) |"; done
    echo "$row"
    echo
    if [ "${#agg_pubs[@]}" -ge 2 ]; then
        lo=${agg_pubs[0]} hi=${agg_pubs[-1]}
        marg() { awk -v a="${R[$1,agg$hi,cpu,med]}" -v b="${R[$1,agg$lo,cpu,med]}" -v n=$((hi - lo)) 'BEGIN { printf "%.0f", (n > 0 ? (a - b) / n * 1000 : 0) }'; }
        echo "CPU per additional publication in the body, (N=$hi − N=$lo) / $((hi - lo)): ours $(marg ours) µs, stock $(marg stock) µs ($(ratio "$(marg ours)" "$(marg stock)") × stock)."
        echo
    fi
    row="| NOTIFY body checked before the rounds | sub ($sub_pubs pub.) |"
    sep="|---|---:|"
    for n in "${agg_pubs[@]}"; do row+=" N=$n |"; sep+="---:|"; done
    echo "$row"
    echo "$sep"
    for s in "${servers[@]}"; do
        row="| $(label "$s"): tuples, bytes | ${ONE[$s,sub,tuples]}, ${ONE[$s,sub,bytes]} |"
        for n in "${agg_pubs[@]}"; do row+=" ${ONE[$s,agg$n,tuples]}, ${ONE[$s,agg$n,bytes]} |"; done
        echo "$row"
    done
    echo
    aims="Aims, on the ratios of the medians (the median of the per-round ratios in brackets): PUBLISH 2xx/s ≥ 1.2 × stock: $(met "$pub_ratio" 1.2 ge) ($pub_ratio) [$(paired pub rate)]; SUBSCRIBE dialogs/s ≥ 1.2 × stock: $(met "$sub_ratio" 1.2 ge) ($sub_ratio) [$(paired sub rate)]"
    for n in "${agg_pubs[@]}"; do
        r=$(ratio "${R[ours,agg$n,cpu,med]}" "${R[stock,agg$n,cpu,med]}")
        aims+="; CPU per NOTIFY, N=$n, ≤ 0.8 × stock: $(met "$r" 0.8 le) ($r) [$(paired "agg$n" cpu)]"
    done
    echo "$aims."
    if [ "$profile" = 1 ]; then
        echo
        echo "presence_xml's own CPU (PROFILE=1: perf samples of the Kamailio processes whose call stack passes through one of the module's presence callbacks, times the CPU per unit above), medians:"
        echo
        echo "| server | µs / PUBLISH | µs / SUBSCRIBE dialog |$(for n in "${agg_pubs[@]}"; do printf ' µs / NOTIFY, N=%s |' "$n"; done)"
        echo "|---|---:|---:|$(for n in "${agg_pubs[@]}"; do printf -- '---:|'; done)"
        for s in "${servers[@]}"; do
            row="| $(label "$s") |"
            for load in "${loads[@]}"; do row+=" $(awk -v v="$(median "${R[$s,$load,module]:-}")" 'BEGIN { printf "%.0f", v * 1000 }') |"; done
            echo "$row"
        done
        row="| ours / stock |"
        own=""
        for load in "${loads[@]}"; do
            r=$(ratio "$(median "${R[ours,$load,module]:-}")" "$(median "${R[stock,$load,module]:-}")")
            row+=" $r |"
            case $load in agg*) own+="${own:+; }N=${load#agg}: $(met "$r" 0.8 le) ($r)" ;; esac
        done
        echo "$row"
        echo
        echo "The module's own CPU per NOTIFY ≤ 0.8 × stock's: $own."
    fi
    echo
    for s in "${servers[@]}"; do
        echo "$(label "$s"): ${ONE[$s,errors]} ERROR/CRITICAL lines and ${ONE[$s,warnings]} WARNING lines in the Kamailio log; ${ONE[$s,stored]} publications stored at the end (expected $seed_count)."
    done
} >"$work/table.md"

for s in "${servers[@]}"; do
    if [ "${ONE[$s,errors]}" -gt 0 ] || [ "${ONE[$s,warnings]}" -gt 0 ]; then
        echo "== $s: first ERROR/CRITICAL/WARNING lines of ${DIR[$s]}/kamailio.log:" >&2
        grep -E ' (ERROR|CRITICAL|BUG|ALERT|WARNING):' "${DIR[$s]}/kamailio.log" | head -n 10 >&2
    fi
done
# The machine-readable copy (target/bench/bench-presence-xml.tsv): rate and Kamailio CPU per
# unit, ours against stock, per load (CPU s / 1k = ms per unit).
for load in "${loads[@]}"; do
    case $load in
        pub) name=PUBLISH unit_rate="2xx/s" unit_cpu="CPU ms/PUBLISH" ;;
        sub) name="SUBSCRIBE dialog" unit_rate="dialogs/s" unit_cpu="CPU ms/dialog" ;;
        *) name="NOTIFY, ${load#agg} pub." unit_rate="dialogs/s" unit_cpu="CPU ms/NOTIFY" ;;
    esac
    tsv_row "$name" "${R[ours,$load,rate,med]}" "${R[stock,$load,rate,med]}" "$unit_rate" 1 "${R[ours,$load,rate]}" "${R[stock,$load,rate]}"
    tsv_row "$name: Kamailio CPU" "${R[ours,$load,cpu,med]}" "${R[stock,$load,cpu,med]}" "$unit_cpu" 0 "${R[ours,$load,cpu]}" "${R[stock,$load,cpu]}"
done
publish_table
