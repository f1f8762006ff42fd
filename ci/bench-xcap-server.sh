#!/usr/bin/env bash
# Benchmarks our xcap_server against the stock C xcap_server and against the host's ceiling
# (xhttp answering with the same document and no XCAP work), all three in the real Kamailio
# with test-configs/bench-xcap.cfg on fresh SQLite databases, on 127.0.0.1 only.
#
# For each server: wrk GET of one ~2 KB resource-lists document, then wrk PUT of the same
# document (every PUT replaces it), after a short warm-up each. Reports requests/s, latency
# p50/p90/p99, non-2xx responses, socket errors, server CPU seconds per 1,000 requests
# (utime+stime of all its processes), shm and pkg memory, and the ratios ours/stock and
# ours/ceiling. Prints a Markdown table and writes it to target/bench-xcap-server.md.
#
# Environment: DURATION (seconds per measured run, default 10), WARMUP (default 2),
# THREADS (wrk threads, default 2), CONNECTIONS (default 16), NO_BUILD=1 to skip the build,
# KEEPALIVE=1 to drop set_reply_close()/set_reply_no_connect() from the event route (HTTP
# keep-alive instead of one TCP connection per request), KEEP=1 to keep the work directory (logs),
# OUT (default target/bench-xcap-server.md).
# Needs wrk (ci/install.sh installs it). Takes about 1.5 minutes with the defaults.
#
# Throughput ratios and the aims use 2xx responses per second: the stock module answers most
# concurrent PUTs with 500 (SQLite "database is locked"), which wrk counts as requests too.
# With set_reply_close() Kamailio closes the connection after each reply without a
# "Connection: close" header, so wrk counts one read error per request and reconnects; that
# costs the client, not the server, and is the same for all three servers.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh" # (also: cd to the repository root, top=$PWD)

duration=${DURATION:-10}
warmup=${WARMUP:-2}
threads=${THREADS:-2}
conns=${CONNECTIONS:-16}
out_md=${OUT:-"$top/target/bench-xcap-server.md"}
keepalive=${KEEPALIVE:-0}

need_tools kamailio kamcmd sqlite3 curl wrk python3
need_stock xcap_server

make_work /tmp/bench-xcap

# ---------------------------------------------------------------- build
build_release xcap_server
copy_modules xcap_server

# ---------------------------------------------------------------- the document (~2 KB)
doc="$work/index.xml"
{
    printf '<?xml version="1.0" encoding="UTF-8"?>\n'
    printf '<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">\n'
    printf '  <list name="friends">\n    <display-name>Friends</display-name>\n'
    for n in "alice:Alice Liddell" "bob:Bob Marley" "carol:Carol King" "dave:Dave Brubeck" "erin:Erin Brockovich"; do
        printf '    <entry uri="sip:%s@example.com">\n      <display-name>%s</display-name>\n    </entry>\n' "${n%%:*}" "${n#*:}"
    done
    printf '  </list>\n  <list name="colleagues">\n    <display-name>Colleagues &amp; Partners</display-name>\n'
    for n in "frank:Frank Zappa" "grace:Grace Hopper" "heidi:Heidi Klum" "ivan:Ivan Petrov" "judy:Judy Garland"; do
        printf '    <entry uri="sip:%s@example.org">\n      <display-name>%s</display-name>\n    </entry>\n' "${n%%:*}" "${n#*:}"
    done
    printf '  </list>\n  <list name="family">\n    <display-name>Family</display-name>\n'
    for n in "mallory:Mallory Smith" "oscar:Oscar Smith" "peggy:Peggy Smith" "trent:Trent Smith" "victor:Victor Smith"; do
        printf '    <entry uri="sip:%s@example.net">\n      <display-name>%s</display-name>\n    </entry>\n' "${n%%:*}" "${n#*:}"
    done
    printf '    <external anchor="http://xcap.example.com/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%%5b@name=%%22friends%%22%%5d"/>\n'
    printf '  </list>\n</resource-lists>'
} >"$doc"
doc_bytes=$(stat -c %s "$doc")
xuid="sip:alice@example.com"
path="/xcap-root/resource-lists/users/$xuid/index"
ctype="application/resource-lists+xml"

cat >"$work/put.lua" <<EOF
wrk.method = "PUT"
wrk.headers["Content-Type"] = "$ctype"
local f = assert(io.open("$doc", "rb"))
wrk.body = f:read("*a")
f:close()
EOF

# ---------------------------------------------------------------- servers
declare -A PORT=()
servers=(ours stock ceiling)

start_server() { # name [define]
    local name=$1 define=${2:-} d="$work/$1" sip http
    mkdir -p "$d"
    create_sql | sqlite3 "$d/kamailio.db"
    read -r sip http <<<"$(free_ports 2)"
    for p in "${PORT[@]}"; do [ "$p" = "$http" ] && die "port clash, run again"; done
    fill_cfg test-configs/bench-xcap.cfg "$d/kamailio.cfg" SIP_PORT="$sip" HTTP_PORT="$http" MODDIR="$work/modules" \
        CTL="$d/ctl.sock" DB_URL="sqlite:///$d/kamailio.db"
    if [ "$keepalive" = 1 ]; then sed -i '/set_reply_close();/d; /set_reply_no_connect();/d' "$d/kamailio.cfg"; fi
    local args=()
    [ -n "$define" ] && args+=(-A "$define")
    start_kamailio "$name" "$d" "${args[@]}"
    PORT[$name]=$http
    wait_started "$name" "" curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$http/"
    echo "started $name: pid ${PID[$name]}, http://127.0.0.1:$http" >&2
}

start_server ours
start_server stock STOCK_XCAP
start_server ceiling CEILING

# The ceiling holds the document in $shv(doc).
rpc ceiling pv.shvSet doc str "$(cat "$doc")" >/dev/null || die "cannot set \$shv(doc) on the ceiling server"

url() { echo "http://127.0.0.1:${PORT[$1]}$path"; }

# ---------------------------------------------------------------- correctness first
for s in ours stock; do
    code=$(curl -s -o "$work/$s.put1" -w '%{http_code}' -X PUT -H "Content-Type: $ctype" --data-binary "@$doc" "$(url "$s")")
    [ "$code" = 201 ] || [ "$code" = 200 ] || { cat "$work/$s.put1" >&2; tail -n 20 "${DIR[$s]}/kamailio.log" >&2; die "$s: first PUT answered $code"; }
    code2=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Content-Type: $ctype" --data-binary "@$doc" "$(url "$s")")
    echo "$s: PUT answered $code, then $code2" >&2
    [ "$code2" = 200 ] || die "$s: second PUT answered $code2"
done
for s in "${servers[@]}"; do
    code=$(curl -s -o "$work/$s.get" -w '%{http_code}' "$(url "$s")")
    [ "$code" = 200 ] || die "$s: GET answered $code"
    cmp -s "$doc" "$work/$s.get" || { diff "$doc" "$work/$s.get" | head >&2; die "$s: GET returned another body"; }
done
echo "GET returns 200 and the same $doc_bytes-byte body from all three" >&2

# ---------------------------------------------------------------- measuring
# Memory: core.shmmem (shm) and pkg.stats (per process pkg) where this Kamailio has them.
methods=$(rpc ours system.listMethods 2>/dev/null || true)
has_method() { grep -qx "$1" <<<"$methods"; }
shm_used() { # real_used in KiB
    rpc "$1" core.shmmem 2>/dev/null | awk '/real_used:/ {printf "%d", $2/1024}'
}
pkg_used() { # sum of real_used over all processes, KiB
    if has_method pkg.stats; then
        rpc "$1" pkg.stats 2>/dev/null | awk '/real_used:/ {s += $2} END {printf "%d", s/1024}'
    else
        echo "n/a"
    fi
}
mod_shm() { # bytes of shm the xcap_server module holds (mod.stats: the second block is shm)
    if has_method mod.stats; then
        rpc "$1" mod.stats xcap_server shm 2>/dev/null | awk '/Total:/ {t = $2} END {printf "%d", t}'
    else
        echo "n/a"
    fi
}

to_ms() { # wrk's "1.23ms" / "456.00us" / "1.02s" -> ms
    awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
        else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.0f", v * 60000 }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 } else print v }'
}

declare -A R=()
run_load() { # server load(get|put)
    local s=$1 load=$2 u lua=() t0 t1 log="$work/$1-$2.wrk"
    u=$(url "$s")
    [ "$load" = put ] && lua=(-s "$work/put.lua")
    wrk -t"$threads" -c"$conns" -d"${warmup}s" "${lua[@]}" "$u" >/dev/null
    t0=$(cpu_ticks "${PID[$s]}")
    wrk -t"$threads" -c"$conns" -d"${duration}s" --latency "${lua[@]}" "$u" >"$log"
    t1=$(cpu_ticks "${PID[$s]}")
    still_alive "$s" "under $load load"
    local reqs rps ok_rps p50 p90 p99 non2xx sockerr
    reqs=$(awk '/requests in/ {print $1}' "$log")
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$log")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$log")")
    p90=$(to_ms "$(awk '$1 == "90%" {print $2}' "$log")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$log")")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$log")
    sockerr=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$log")
    # 2xx per second: wrk's rate scaled by the share of 2xx (and 3xx) responses.
    ok_rps=$(awk -v r="$rps" -v n="$reqs" -v bad="${non2xx:-0}" 'BEGIN { printf "%.0f", (n > 0 ? r * (n - bad) / n : 0) }')
    R[$s,$load,ok]=$ok_rps
    R[$s,$load,rps]=$rps R[$s,$load,p50]=$p50 R[$s,$load,p90]=$p90 R[$s,$load,p99]=$p99
    R[$s,$load,non2xx]=${non2xx:-0} R[$s,$load,sockerr]=${sockerr:-0} R[$s,$load,reqs]=$reqs
    R[$s,$load,cpu]=$(cpu_per_1k $((t1 - t0)) "$reqs")
    R[$s,$load,shm]=$(shm_used "$s") R[$s,$load,pkg]=$(pkg_used "$s") R[$s,$load,modshm]=$(mod_shm "$s")
    echo "$s $load: ${rps} req/s (${ok_rps} 2xx/s), p50 ${p50} ms, p99 ${p99} ms, non-2xx ${R[$s,$load,non2xx]}, socket errors ${R[$s,$load,sockerr]}, CPU ${R[$s,$load,cpu]} s/1k" >&2
}

for s in "${servers[@]}"; do
    R[$s,idle,shm]=$(shm_used "$s") R[$s,idle,pkg]=$(pkg_used "$s") R[$s,idle,modshm]=$(mod_shm "$s")
done
# One load on the three servers in turn, then the next, so that they see the same conditions.
for load in get put; do
    for s in "${servers[@]}"; do run_load "$s" "$load"; done
done

# The document must be intact after the PUT load.
for s in ours stock; do
    curl -s -o "$work/$s.after" "$(url "$s")"
    cmp -s "$doc" "$work/$s.after" || die "$s: the document changed under the PUT load"
done

# ---------------------------------------------------------------- report
get_vs_stock=$(ratio "${R[ours,get,ok]}" "${R[stock,get,ok]}")
get_vs_ceiling=$(ratio "${R[ours,get,ok]}" "${R[ceiling,get,ok]}")
put_vs_stock=$(ratio "${R[ours,put,ok]}" "${R[stock,put,ok]}")
put_vs_ceiling=$(ratio "${R[ours,put,ok]}" "${R[ceiling,put,ok]}")

{
    conn_mode="set_reply_close(): one TCP connection per request"
    [ "$keepalive" = 1 ] && conn_mode="KEEPALIVE=1: HTTP keep-alive"
    echo "wrk -t$threads -c$conns -d${duration}s --latency after a ${warmup}s warm-up, GET then PUT of one $doc_bytes-byte resource-lists document; Kamailio $(kamailio_version) with test-configs/bench-xcap.cfg (children=4, $conn_mode), SQLite; wrk on the same machine; $(host_line)."
    echo
    echo "| server | load | req/s | 2xx/s | p50 ms | p90 ms | p99 ms | non-2xx | socket errors | server CPU s / 1k req | shm real_used KiB | xcap_server shm B | pkg real_used KiB (all processes) |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for s in "${servers[@]}"; do
        echo "| $(label "$s") | idle | | | | | | | | | ${R[$s,idle,shm]} | ${R[$s,idle,modshm]} | ${R[$s,idle,pkg]} |"
        for load in get put; do
            echo "| $(label "$s") | ${load^^} | ${R[$s,$load,rps]} | ${R[$s,$load,ok]} | ${R[$s,$load,p50]} | ${R[$s,$load,p90]} | ${R[$s,$load,p99]} | ${R[$s,$load,non2xx]} | ${R[$s,$load,sockerr]} | ${R[$s,$load,cpu]} | ${R[$s,$load,shm]} | ${R[$s,$load,modshm]} | ${R[$s,$load,pkg]} |"
        done
    done
    echo
    echo "| 2xx throughput ratio | GET | PUT |"
    echo "|---|---:|---:|"
    echo "| ours / stock | $get_vs_stock | $put_vs_stock |"
    echo "| ours / ceiling | $get_vs_ceiling | $put_vs_ceiling |"
    echo
    echo "Aims (GET): ≥ 1.5 × stock: $(met "$get_vs_stock" 1.5) ($get_vs_stock); ≥ 0.8 × ceiling: $(met "$get_vs_ceiling" 0.8) ($get_vs_ceiling)."
    has_method pkg.stats || { echo; echo "pkg.stats is not available in this Kamailio; pkg is n/a."; }
} >"$work/table.md"
publish_table
