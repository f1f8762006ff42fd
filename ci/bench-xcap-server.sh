#!/usr/bin/env bash
# Benchmarks our xcap_server against the stock C xcap_server and against the host's ceiling
# (xhttp answering with the same document and no XCAP work), all three in the real Kamailio
# with test-configs/bench-xcap.cfg on fresh SQLite databases, on 127.0.0.1 only; with PG=1
# also ours and stock on one throwaway PostgreSQL server (a database each).
#
# ROUNDS rounds; in each, for GET of one ~2 KB resource-lists document and then for PUT of the
# same document (every PUT replaces it), every server in turn after a short warm-up, the order
# of the servers reversed every other round. Reports medians over the rounds (every round listed
# too): requests/s, 2xx/s, latency p50/p99, non-2xx responses, socket errors, Kamailio CPU
# per request (utime+stime of all its processes, and the stime part), PostgreSQL's CPU per
# request (its postmaster and backends) for the PostgreSQL servers, the ratios ours/stock and
# ours/ceiling; then shm and pkg memory. Prints a Markdown table and writes it to
# target/bench-xcap-server.md.
#
# Environment: ROUNDS (default 6: even, so that each server goes first as often), DURATION
# (seconds per measured run, default 5), WARMUP (default 1), THREADS (wrk threads, default 2),
# CONNECTIONS (default 16), PUT_DOCS (default 1: every PUT replaces the same document; N > 1
# spreads the PUTs over N users' documents, so that writes to different documents may
# proceed at once), PG=1 to add the PostgreSQL servers (PostgreSQL with its default
# durability: fsync and synchronous_commit on), SQLITE_JOURNAL (e.g. WAL: set on the SQLite
# files before the start with the sqlite3 tool; the mode persists in the file; an operator
# sets it with db_sqlite's db_set_journal_mode), SQLITE_TMPFS=1 (the SQLite files on
# /dev/shm: no sync reaches a disk, as with SQLite's synchronous=OFF, which db_sqlite cannot
# set; the bound of what syncs cost),
# PUT_NO_WRITE=1 (a trigger on the SQLite files turns every UPDATE of the xcap table into a
# no-op, RAISE(IGNORE): the PUT path without the database's write, journal and flush, to
# tell the database's share of a PUT from the rest), KEEPALIVE
# (default 1: HTTP keep-alive; 0 puts set_reply_close()/set_reply_no_connect() back, one TCP
# connection per request), NO_BUILD=1 to skip the build, KEEP=1 to keep the work directory
# (logs), OUT (default target/bench-xcap-server.md).
# Needs wrk (ci/install.sh installs it, and PostgreSQL). Takes about 4 minutes with the
# defaults, 7 with PG=1.
#
# Throughput ratios use 2xx responses per second: the stock module answers most concurrent
# PUTs on SQLite with 500 ("database is locked"), which wrk counts as requests too. With
# KEEPALIVE=0 Kamailio closes the connection after each reply without a "Connection: close"
# header, so wrk counts one read error per request and reconnects; that costs the client, not
# the server, and is the same for all servers.
# Also writes one line per load (ours, stock, ratio, per-round spread) to target/bench/bench-xcap-server.tsv
# (TSV; ci/bench-lib.sh's tsv_row), which ci/bench.sh sums up.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh" # (also: cd to the repository root, top=$PWD)

rounds=${ROUNDS:-6}
duration=${DURATION:-5}
warmup=${WARMUP:-1}
threads=${THREADS:-2}
conns=${CONNECTIONS:-16}
out_md=${OUT:-"$top/target/bench-xcap-server.md"}
keepalive=${KEEPALIVE:-1}
with_pg=${PG:-0}
put_docs=${PUT_DOCS:-1}
journal=${SQLITE_JOURNAL:-}
no_write=${PUT_NO_WRITE:-0}

need_tools kamailio kamcmd sqlite3 curl wrk python3
need_stock xcap_server
if [ "$with_pg" = 1 ]; then need_postgres; fi

make_work "$([ "${SQLITE_TMPFS:-0}" = 1 ] && echo /dev/shm || echo /tmp)/bench-xcap"
trap 'stop_postgres; cleanup' EXIT

# ---------------------------------------------------------------- build
build_release xcap_server
copy_modules xcap_server

# ---------------------------------------------------------------- the document (~2 KB)
doc="$work/index.xml"
resource_lists_doc "$doc"
doc_bytes=$(stat -c %s "$doc")
xuid="sip:alice@example.com"
path="/xcap-root/resource-lists/users/$xuid/index"
ctype="application/resource-lists+xml"

# PUT_DOCS > 1: the PUTs go round-robin to that many users' documents (u1@example.com, ...),
# each written by one request at a time but several at once.
cat >"$work/put.lua" <<EOF
wrk.method = "PUT"
wrk.headers["Content-Type"] = "$ctype"
local f = assert(io.open("$doc", "rb"))
wrk.body = f:read("*a")
f:close()
local docs, n = $put_docs, 0
if docs > 1 then
    request = function()
        n = n + 1
        return wrk.format(nil, "/xcap-root/resource-lists/users/sip:u" .. (n % docs + 1) .. "@example.com/index")
    end
end
EOF

# ---------------------------------------------------------------- PostgreSQL
if [ "$with_pg" = 1 ]; then
    start_postgres
    for db in ours stock; do postgres_db "$db"; done
fi

# pg_ticks: utime+stime (clock ticks) of the PostgreSQL postmaster and its children (backends).
pg_ticks() {
    local pm
    pm=$(head -n 1 "$pg_data/postmaster.pid")
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
        awk -v pm="$pm" '{ pid = $1; sub(/^.*\) /, ""); if (pid == pm || $2 == pm) t += $12 + $13 } END { printf "%d", t }'
}

# sys_ticks pgid: stime (clock ticks) of every process in the process group.
sys_ticks() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
        awk -v pgid="$1" '{ sub(/^.*\) /, ""); if ($3 == pgid) t += $13 } END { printf "%d", t }'
}

# ---------------------------------------------------------------- servers
declare -A PORT=()
servers=(ours stock ceiling)
[ "$with_pg" = 1 ] && servers+=(ours-pg stock-pg)

server_label() {
    case $1 in
        ours) echo "ours (Rust), SQLite";; stock) echo "stock (C), SQLite";; ceiling) echo "ceiling (xhttp only)";;
        ours-pg) echo "ours (Rust), PostgreSQL";; stock-pg) echo "stock (C), PostgreSQL";;
    esac
}

start_server() { # name
    local name=$1 d="$work/$1" sip http url args=()
    mkdir -p "$d"
    case $name in
        *-pg) url="postgres://postgres:unused@127.0.0.1:$pg_port/${name%-pg}"; args+=(-A WITH_POSTGRES) ;;
        *)
            create_sql | sqlite3 "$d/kamailio.db"
            if [ -n "$journal" ]; then sqlite3 "$d/kamailio.db" "PRAGMA journal_mode=$journal;" >/dev/null; fi
            if [ "$no_write" = 1 ]; then
                sqlite3 "$d/kamailio.db" "CREATE TRIGGER xcap_no_write BEFORE UPDATE ON xcap BEGIN SELECT RAISE(IGNORE); END;"
            fi
            url="sqlite:///$d/kamailio.db" ;;
    esac
    case $name in
        stock*) args+=(-A STOCK_XCAP) ;;
        ceiling) args+=(-A CEILING) ;;
    esac
    read -r sip http <<<"$(free_ports 2)"
    for p in "${PORT[@]}"; do [ "$p" = "$http" ] && die "port clash, run again"; done
    fill_cfg test-configs/bench-xcap.cfg "$d/kamailio.cfg" SIP_PORT="$sip" HTTP_PORT="$http" MODDIR="$work/modules" \
        CTL="$d/ctl.sock" DB_URL="$url"
    if [ "$keepalive" = 1 ]; then sed -i '/set_reply_close();/d; /set_reply_no_connect();/d' "$d/kamailio.cfg"; fi
    start_kamailio "$name" "$d" "${args[@]}"
    PORT[$name]=$http
    wait_started "$name" "" curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$http/"
    echo "started $name: pid ${PID[$name]}, http://127.0.0.1:$http" >&2
}

for s in "${servers[@]}"; do start_server "$s"; done

# The ceiling holds the document in $shv(doc).
rpc ceiling pv.shvSet doc str "$(cat "$doc")" >/dev/null || die "cannot set \$shv(doc) on the ceiling server"

url() { echo "http://127.0.0.1:${PORT[$1]}$path"; }

# ---------------------------------------------------------------- correctness first
for s in "${servers[@]}"; do
    [ "$s" = ceiling ] && continue
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
echo "GET returns 200 and the same $doc_bytes-byte body from all ${#servers[@]} servers" >&2

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

# us_per_req ticks count: CPU microseconds per request, 1 decimal (0 if count is 0).
us_per_req() { awk -v d="$1" -v n="$2" -v hz="$clk_tck" 'BEGIN { printf "%.1f", (n > 0 ? d / hz / n * 1e6 : 0) }'; }

declare -A R=()
run_load() { # server load(get|put) round
    local s=$1 load=$2 u lua=() t0 t1 st0 st1 pg0=0 pg1=0 log="$work/$1-$2-$3.wrk"
    u=$(url "$s")
    [ "$load" = put ] && lua=(-s "$work/put.lua")
    wrk -t"$threads" -c"$conns" -d"${warmup}s" "${lua[@]}" "$u" >/dev/null
    [[ $s == *-pg ]] && pg0=$(pg_ticks)
    t0=$(cpu_ticks "${PID[$s]}") st0=$(sys_ticks "${PID[$s]}")
    wrk -t"$threads" -c"$conns" -d"${duration}s" --latency "${lua[@]}" "$u" >"$log"
    t1=$(cpu_ticks "${PID[$s]}") st1=$(sys_ticks "${PID[$s]}")
    [[ $s == *-pg ]] && pg1=$(pg_ticks)
    still_alive "$s" "under $load load"
    local reqs rps ok_rps p50 p99 non2xx sockerr cpu sys pgcpu=
    reqs=$(awk '/requests in/ {print $1}' "$log")
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$log")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$log")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$log")")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$log")
    sockerr=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$log")
    # 2xx per second: wrk's rate scaled by the share of 2xx (and 3xx) responses.
    ok_rps=$(awk -v r="$rps" -v n="$reqs" -v bad="${non2xx:-0}" 'BEGIN { printf "%.0f", (n > 0 ? r * (n - bad) / n : 0) }')
    cpu=$(us_per_req $((t1 - t0)) "$reqs") sys=$(us_per_req $((st1 - st0)) "$reqs")
    [[ $s == *-pg ]] && pgcpu=$(us_per_req $((pg1 - pg0)) "$reqs")
    add "$s,$load,rps" "$rps"; add "$s,$load,ok" "$ok_rps"; add "$s,$load,p50" "$p50"; add "$s,$load,p99" "$p99"
    add "$s,$load,non2xx" "${non2xx:-0}"; add "$s,$load,sockerr" "${sockerr:-0}"
    add "$s,$load,cpu" "$cpu"; add "$s,$load,sys" "$sys"
    [ -n "$pgcpu" ] && add "$s,$load,pgcpu" "$pgcpu"
    echo "round $3, $s $load: ${rps} req/s (${ok_rps} 2xx/s), p50 ${p50} ms, p99 ${p99} ms, non-2xx ${non2xx:-0}, socket errors ${sockerr:-0}, Kamailio CPU ${cpu} us/req (sys ${sys})${pgcpu:+, PostgreSQL CPU $pgcpu us/req}" >&2
}

for s in "${servers[@]}"; do
    R[$s,idle,shm]=$(shm_used "$s") R[$s,idle,pkg]=$(pkg_used "$s") R[$s,idle,modshm]=$(mod_shm "$s")
done
# Each load on every server in turn, so that they see the same conditions; the order of the
# servers is reversed every other round (the first of a sequence tends to measure differently).
reversed=()
for ((i = ${#servers[@]} - 1; i >= 0; i--)); do reversed+=("${servers[$i]}"); done
for r in $(seq "$rounds"); do
    order=("${servers[@]}")
    [ $((r % 2)) = 0 ] && order=("${reversed[@]}")
    for load in get put; do
        for s in "${order[@]}"; do run_load "$s" "$load" "$r"; done
    done
done
for s in "${servers[@]}"; do
    R[$s,load,shm]=$(shm_used "$s") R[$s,load,pkg]=$(pkg_used "$s") R[$s,load,modshm]=$(mod_shm "$s")
done

# The document must be intact after the PUT loads.
for s in "${servers[@]}"; do
    [ "$s" = ceiling ] && continue
    curl -s -o "$work/$s.after" "$(url "$s")"
    cmp -s "$doc" "$work/$s.after" || die "$s: the document changed under the PUT load"
done

# ---------------------------------------------------------------- report
med() { # med key printf-format: the median over the rounds
    local m
    m=$(median "${R[$1]:-}")
    if [ "$m" = n/a ]; then echo "$m"; else printf "$2" "$m"; fi
}
for s in "${servers[@]}"; do
    for load in get put; do
        for k in rps ok non2xx sockerr; do R[$s,$load,$k,med]=$(med "$s,$load,$k" %.0f); done
        for k in p50 p99; do R[$s,$load,$k,med]=$(med "$s,$load,$k" %.2f); done
        for k in cpu sys pgcpu; do R[$s,$load,$k,med]=$(med "$s,$load,$k" %.1f); done
    done
done
get_vs_stock=$(ratio "${R[ours,get,ok,med]}" "${R[stock,get,ok,med]}")
get_vs_ceiling=$(ratio "${R[ours,get,ok,med]}" "${R[ceiling,get,ok,med]}")
put_vs_stock=$(ratio "${R[ours,put,ok,med]}" "${R[stock,put,ok,med]}")
put_vs_ceiling=$(ratio "${R[ours,put,ok,med]}" "${R[ceiling,put,ok,med]}")
put_cpu_vs_get=$(ratio "${R[ours,put,cpu,med]}" "${R[ours,get,cpu,med]}")

{
    conn_mode="set_reply_close(): one TCP connection per request"
    [ "$keepalive" = 1 ] && conn_mode="HTTP keep-alive"
    db_line="SQLite${journal:+ (journal_mode=$journal)}"
    [ "${SQLITE_TMPFS:-0}" = 1 ] && db_line="$db_line on tmpfs"
    [ "$no_write" = 1 ] && db_line="$db_line, PUT_NO_WRITE=1: every UPDATE of xcap a no-op (RAISE(IGNORE) trigger)"
    [ "$with_pg" = 1 ] && db_line="$db_line; PostgreSQL $(pg_version) (defaults: fsync, synchronous_commit on)"
    echo "$rounds rounds of wrk -t$threads -c$conns -d${duration}s --latency after a ${warmup}s warm-up, GET then PUT of one $doc_bytes-byte resource-lists document$([ "$put_docs" -gt 1 ] && echo " (the PUTs spread over $put_docs documents)"), servers in turn (order reversed every other round); medians over the rounds. Kamailio $(kamailio_version) with test-configs/bench-xcap.cfg (children=4, $conn_mode); $db_line; wrk on the same machine; $(host_line)."
    echo
    echo "| server | load | req/s | 2xx/s | p50 ms | p99 ms | non-2xx | socket errors | Kamailio CPU µs / req | of it system | PostgreSQL CPU µs / req |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for s in "${servers[@]}"; do
        for load in get put; do
            echo "| $(server_label "$s") | ${load^^} | ${R[$s,$load,rps,med]} | ${R[$s,$load,ok,med]} | ${R[$s,$load,p50,med]} | ${R[$s,$load,p99,med]} | ${R[$s,$load,non2xx,med]} | ${R[$s,$load,sockerr,med]} | ${R[$s,$load,cpu,med]} | ${R[$s,$load,sys,med]} | $([[ $s == *-pg ]] && echo "${R[$s,$load,pgcpu,med]}") |"
        done
    done
    echo
    echo "| 2xx throughput ratio | GET | PUT |"
    echo "|---|---:|---:|"
    echo "| ours / stock (SQLite) | $get_vs_stock | $put_vs_stock |"
    echo "| ours / ceiling | $get_vs_ceiling | $put_vs_ceiling |"
    if [ "$with_pg" = 1 ]; then
        echo "| ours / stock (PostgreSQL) | $(ratio "${R[ours-pg,get,ok,med]}" "${R[stock-pg,get,ok,med]}") | $(ratio "${R[ours-pg,put,ok,med]}" "${R[stock-pg,put,ok,med]}") |"
    fi
    echo
    pg_part=
    [ "$with_pg" = 1 ] && pg_part=", $(ratio "${R[ours-pg,put,cpu,med]}" "${R[ours-pg,get,cpu,med]}") × on PostgreSQL"
    echo "Our PUT costs $put_cpu_vs_get × our GET in Kamailio CPU on SQLite$pg_part."
    echo
    echo "Aims (GET): ≥ 1.5 × stock: $(met "$get_vs_stock" 1.5) ($get_vs_stock); ≥ 0.8 × ceiling: $(met "$get_vs_ceiling" 0.8) ($get_vs_ceiling)."
    echo
    echo "Every round (2xx/s; Kamailio CPU µs / req):"
    echo
    for s in "${servers[@]}"; do
        for load in get put; do
            echo "- $(server_label "$s") ${load^^}: ${R[$s,$load,ok]}; ${R[$s,$load,cpu]}"
        done
    done
    echo
    echo "| server | shm real_used KiB idle → after the loads | xcap_server shm B | pkg real_used KiB (all processes) idle → after |"
    echo "|---|---:|---:|---:|"
    for s in "${servers[@]}"; do
        echo "| $(server_label "$s") | ${R[$s,idle,shm]} → ${R[$s,load,shm]} | ${R[$s,idle,modshm]} → ${R[$s,load,modshm]} | ${R[$s,idle,pkg]} → ${R[$s,load,pkg]} |"
    done
    has_method pkg.stats || { echo; echo "pkg.stats is not available in this Kamailio; pkg is n/a."; }
} >"$work/table.md"
# The machine-readable copy (target/bench/bench-xcap-server.tsv): 2xx/s and Kamailio CPU per
# request, ours against stock, per load and database.
for sfx in "" -pg; do
    [ -n "$sfx" ] && [ "$with_pg" != 1 ] && continue
    db=SQLite
    [ -n "$sfx" ] && db=PostgreSQL
    for load in get put; do
        name=${load^^}
        [ "$load" = put ] && [ "$put_docs" -gt 1 ] && name="PUT over $put_docs users' documents"
        tsv_row "$name ($db)" "${R[ours$sfx,$load,ok,med]}" "${R[stock$sfx,$load,ok,med]}" "2xx/s" 1 "${R[ours$sfx,$load,ok]}" "${R[stock$sfx,$load,ok]}"
        tsv_row "$name ($db): Kamailio CPU" "${R[ours$sfx,$load,cpu,med]}" "${R[stock$sfx,$load,cpu,med]}" "µs/req" 0 "${R[ours$sfx,$load,cpu]}" "${R[stock$sfx,$load,cpu]}"
    done
done
publish_table
