#!/usr/bin/env bash
# Benchmarks what publish_xcapdiff costs XCAP PUTs: two Kamailio servers with
# test-configs/xcapdiff-publish.cfg (-A BENCH: children=4, presence, pua, presence_xcapdiff and
# our xcap_server on SQLite in WAL mode, presence on a database of its own), one with
# publish_xcapdiff=0 ("off"), one with 1 ("on"), where a SIPp client is subscribed to the
# user's xcap-diff, so every publication goes all the way to a NOTIFY. On 127.0.0.1 only.
#
# ROUNDS rounds; in each, wrk PUTs one ~1 KB resource-lists document (every PUT replaces it)
# into each server in turn after a short warm-up, the order reversed every other round. Reports
# medians over the rounds (every round in the log): PUTs/s (2xx), latency p50/p99, Kamailio CPU
# per PUT, and the ratio on/off. Before: a PUT must publish on "on" and not on "off"; after:
# the publication on "on" must carry the document's last ETag. Prints a Markdown table and
# writes it to target/bench-xcapdiff.md.
#
# Environment: ROUNDS (default 6), DURATION (seconds per measured run, default 5), WARMUP
# (default 1), THREADS (wrk threads, default 2), CONNECTIONS (default 16), KEEPALIVE (default
# 1: HTTP keep-alive; 0 keeps set_reply_close()), NO_BUILD=1, KEEP=1 (keep the work directory),
# OUT (default target/bench-xcapdiff.md). Needs wrk and sipp (ci/install.sh installs them).
# Takes about 2 minutes with the defaults.
# Also writes one line per load (ours, stock, ratio, per-round spread) to target/bench/bench-xcapdiff.tsv
# (TSV; ci/bench-lib.sh's tsv_row), which ci/bench.sh sums up.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh" # (also: cd to the repository root, top=$PWD)

rounds=${ROUNDS:-6}
duration=${DURATION:-5}
warmup=${WARMUP:-1}
threads=${THREADS:-2}
conns=${CONNECTIONS:-16}
keepalive=${KEEPALIVE:-1}
out_md=${OUT:-"$top/target/bench-xcapdiff.md"}
modules=(xcap_server pua presence_xml presence_xcapdiff)

need_tools kamailio kamcmd sqlite3 curl wrk sipp python3
make_work /tmp/bench-xcapdiff

build_release "${modules[@]}"
copy_modules "${modules[@]}"

# ---------------------------------------------------------------- the document
doc="$work/index.xml"
xcapdiff_doc "$doc"
doc_bytes=$(stat -c %s "$doc")
path="/xcap-root/resource-lists/users/sip:alice@127.0.0.1/index"
ctype="application/resource-lists+xml"
cat >"$work/put.lua" <<EOF
wrk.method = "PUT"
wrk.headers["Content-Type"] = "$ctype"
local f = assert(io.open("$doc", "rb"))
wrk.body = f:read("*a")
f:close()
EOF

# ---------------------------------------------------------------- servers
declare -A PORT=() SIP=()
servers=(off on)

start_server() { # name
    local name=$1 d="$work/$1" sip http args=(-A BENCH) db
    mkdir -p "$d"
    for db in kamailio presence; do
        create_sql | sqlite3 "$d/$db.db"
        sqlite3 "$d/$db.db" "PRAGMA journal_mode=WAL;" >/dev/null
    done
    [ "$name" = off ] && args+=(-A NO_XCAPDIFF_PUBLISH)
    read -r sip http <<<"$(free_ports 2)"
    for p in "${PORT[@]}" "${SIP[@]}"; do [ "$p" = "$http" ] || [ "$p" = "$sip" ] && die "port clash, run again"; done
    fill_cfg test-configs/xcapdiff-publish.cfg "$d/kamailio.cfg" SIP_PORT="$sip" HTTP_PORT="$http" MODDIR="$work/modules" \
        CTL="$d/ctl.sock" DB_URL="sqlite:///$d/kamailio.db" PRESENCE_DB_URL="sqlite:///$d/presence.db" DEAD_PORT=0
    if [ "$keepalive" = 1 ]; then sed -i '/set_reply_close();/d; /set_reply_no_connect();/d' "$d/kamailio.cfg"; fi
    start_kamailio "$name" "$d" "${args[@]}"
    PORT[$name]=$http SIP[$name]=$sip
    wait_started "$name" "" curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$http/"
    echo "started $name: pid ${PID[$name]}, http://127.0.0.1:$http, sip:127.0.0.1:$sip" >&2
}

for s in "${servers[@]}"; do start_server "$s"; done
url() { echo "http://127.0.0.1:${PORT[$1]}$path"; }
publications() { sqlite3 "${DIR[$1]}/presence.db" "SELECT count(*) FROM presentity WHERE event = 'xcap-diff';"; }

# The subscribed client of "on": answers every NOTIFY until it is stopped.
sipp -sf test-configs/sipp/xcapdiff-watcher.xml -i 127.0.0.1 -p "$(free_port)" -m 1 -nostdin \
    -key watcher alice-phone -key presentity alice "127.0.0.1:${SIP[on]}" </dev/null >"$work/sipp.log" 2>&1 &
UAS_PID[on]=$!

# ---------------------------------------------------------------- correctness first
for s in "${servers[@]}"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Content-Type: $ctype" --data-binary "@$doc" "$(url "$s")")
    [ "$code" = 201 ] || die "$s: the first PUT answered $code"
done
sleep 1
[ "$(publications on)" = 1 ] || die "on: no xcap-diff publication after a PUT"
[ "$(publications off)" = 0 ] || die "off: an xcap-diff publication with publish_xcapdiff=0"
kill -0 "${UAS_PID[on]}" 2>/dev/null || { cat "$work/sipp.log" >&2; die "the SIPp client is gone"; }
echo "a PUT publishes on 'on' (presence holds 1 xcap-diff publication) and not on 'off'" >&2

# ---------------------------------------------------------------- measuring
to_ms() { # wrk's "1.23ms" / "456.00us" / "1.02s" -> ms
    awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 } else print v }'
}
us_per_req() { awk -v d="$1" -v n="$2" -v hz="$clk_tck" 'BEGIN { printf "%.1f", (n > 0 ? d / hz / n * 1e6 : 0) }'; }

declare -A R=()
run_load() { # server round
    local s=$1 u t0 t1 log="$work/$1-$2.wrk" reqs rps ok p50 p99 non2xx cpu
    u=$(url "$s")
    wrk -t"$threads" -c"$conns" -d"${warmup}s" -s "$work/put.lua" "$u" >/dev/null
    t0=$(cpu_ticks "${PID[$s]}")
    wrk -t"$threads" -c"$conns" -d"${duration}s" --latency -s "$work/put.lua" "$u" >"$log"
    t1=$(cpu_ticks "${PID[$s]}")
    still_alive "$s" "under the PUT load"
    reqs=$(awk '/requests in/ {print $1}' "$log")
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$log")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$log")
    ok=$(awk -v r="$rps" -v n="$reqs" -v bad="${non2xx:-0}" 'BEGIN { printf "%.0f", (n > 0 ? r * (n - bad) / n : 0) }')
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$log")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$log")")
    cpu=$(us_per_req $((t1 - t0)) "$reqs")
    add "$s,ok" "$ok"; add "$s,p50" "$p50"; add "$s,p99" "$p99"; add "$s,non2xx" "${non2xx:-0}"; add "$s,cpu" "$cpu"
    echo "round $2, $s: $ok PUT 2xx/s, p50 $p50 ms, p99 $p99 ms, non-2xx ${non2xx:-0}, Kamailio CPU $cpu us/PUT" >&2
}

for r in $(seq "$rounds"); do
    order=(off on)
    [ $((r % 2)) = 0 ] && order=(on off)
    for s in "${order[@]}"; do run_load "$s" "$r"; done
done

# After the load: the last state is published (the PUBLISH in flight and what waits have
# gone out within a second or two).
last=$(curl -s -D - -o /dev/null "$(url on)" | awk -F'"' 'tolower($0) ~ /^etag:/ {print $2}')
published=
for _ in $(seq 50); do
    published=$(sqlite3 "${DIR[on]}/presence.db" "SELECT body FROM presentity WHERE event = 'xcap-diff';")
    grep -q "new-etag=\"$last\"" <<<"$published" && break
    sleep 0.1
done
grep -q "new-etag=\"$last\"" <<<"$published" || die "on: the publication does not carry the last ETag $last: $published"
[ "$(publications on)" = 1 ] || die "on: $(publications on) xcap-diff publications instead of 1"
echo "after the load, the publication carries the document's last ETag ($last)" >&2
kill -0 "${UAS_PID[on]}" 2>/dev/null || { cat "$work/sipp.log" >&2; die "the SIPp client is gone"; }

# ---------------------------------------------------------------- report
for s in "${servers[@]}"; do for k in ok p50 p99 non2xx cpu; do R[$s,$k,med]=$(median "${R[$s,$k]}"); done; done
put_ratio=$(ratio "${R[on,ok,med]}" "${R[off,ok,med]}")
cpu_ratio=$(ratio "${R[on,cpu,med]}" "${R[off,cpu,med]}")
{
    conn_mode="set_reply_close(): one TCP connection per request"
    [ "$keepalive" = 1 ] && conn_mode="HTTP keep-alive"
    echo "$rounds rounds of wrk -t$threads -c$conns -d${duration}s --latency after a ${warmup}s warm-up, PUT of one $doc_bytes-byte resource-lists document, the two servers in turn (order reversed every other round); medians over the rounds. Kamailio $(kamailio_version) with test-configs/xcapdiff-publish.cfg -A BENCH (children=4, $conn_mode), SQLite in WAL mode; on \"on\" one SIPp client is subscribed to the user's xcap-diff; wrk on the same machine; $(host_line)."
    echo
    echo "| publish_xcapdiff | PUT 2xx/s | p50 ms | p99 ms | non-2xx | Kamailio CPU µs / PUT |"
    echo "|---|---:|---:|---:|---:|---:|"
    for s in "${servers[@]}"; do
        echo "| $([ "$s" = on ] && echo 1 || echo 0) | ${R[$s,ok,med]} | ${R[$s,p50,med]} | ${R[$s,p99,med]} | ${R[$s,non2xx,med]} | ${R[$s,cpu,med]} |"
    done
    echo
    echo "PUT throughput with publish_xcapdiff=1 / 0: $put_ratio (aim ≥ 0.80: $(met "$put_ratio" 0.80)); CPU per PUT 1 / 0: $cpu_ratio."
    echo
    echo "Every round (PUT 2xx/s; Kamailio CPU µs / PUT):"
    echo
    for s in "${servers[@]}"; do echo "- publish_xcapdiff=$([ "$s" = on ] && echo 1 || echo 0): ${R[$s,ok]}; ${R[$s,cpu]}"; done
    echo
    echo "Log lines of ERROR or worse: off $(log_errors off), on $(log_errors on)."
} >"$work/table.md"
# The machine-readable copy (target/bench/bench-xcapdiff.tsv): not ours against stock but our
# modules with publish_xcapdiff=1 (in the "ours" column) against 0 (in the "stock" column).
tsv_row "PUT, publish_xcapdiff 1 vs 0" "${R[on,ok,med]}" "${R[off,ok,med]}" "2xx/s" 1 "${R[on,ok]}" "${R[off,ok]}"
tsv_row "PUT, publish_xcapdiff 1 vs 0: Kamailio CPU" "${R[on,cpu,med]}" "${R[off,cpu,med]}" "µs/PUT" 0 "${R[on,cpu]}" "${R[off,cpu]}"
publish_table
