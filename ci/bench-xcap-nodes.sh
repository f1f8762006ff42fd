#!/usr/bin/env bash
# Several Kamailio nodes on one shared database: our xcap_server (every write conditional on
# the entity tag it read) against the stock C xcap_server (read, then write), three nodes each,
# in the real Kamailio with test-configs/bench-xcap.cfg, for each database server back end in
# DBS: a throwaway PostgreSQL and/or MariaDB server on 127.0.0.1 (a free port), with a fresh
# database (Kamailio's standard and presence tables) per scenario:
#
# 1. Races, ours and stock:
#    - conditional PUTs: ROUNDS_RACE rounds; each reads the ETag and the entries of one
#      resource-lists document (GET through one node, in turn), then PUTs at the same moment
#      through every node (one curl --parallel: three connections at once) that document plus
#      an entry of the node's own, with If-Match: the ETag read. Counts 2xx, 412 and other
#      answers, the rounds with more than one 2xx (the ETag chain forked: one of the
#      acknowledged changes was overwritten) and, at the end, the acknowledged entries missing
#      from the document (lost changes) and its rows in the xcap table.
#    - element PUTs without If-Match: ELEM_ROUNDS times, on a new document with an empty list,
#      every node at once inserts ELEMENTS entries of its own into the list (one curl per node,
#      its PUTs one after the other); counts the acknowledged entries missing at the end.
# 2. Throughput, ours only: PUTs of a ~2 KB document spread over PUT_DOCS users' documents
#    (wrk with a Lua script, as ci/bench-xcap-server.sh does), DURATION seconds after a WARMUP
#    seconds' warm-up, with three wrk processes of CONNECTIONS/3 connections each, all to one
#    node, then one per node; ROUNDS rounds, the order of the two set-ups swapped every other
#    round. Reports medians of 2xx/s and non-2xx (with their status codes) and three/one.
#
# Prints a Markdown report and writes it to target/bench-xcap-nodes.md.
#
# Environment: DBS (default "postgres mariadb"), ROUNDS_RACE (default 100), ELEM_ROUNDS
# (default 5), ELEMENTS (per node and round, default 10), ROUNDS (default 3), DURATION
# (default 10), WARMUP (default 1), CONNECTIONS (total, a multiple of 3, default 12), PUT_DOCS
# (default 200), DB_FSYNC (default 1: the database servers' default durability; 0: PostgreSQL
# fsync=off, synchronous_commit=off, MariaDB innodb_flush_log_at_trx_commit=2,
# innodb_doublewrite=0), NO_BUILD=1, KEEP=1 (keep the work directory: logs), OUT (default
# target/bench-xcap-nodes.md), KAMAILIO_TARGET (5.6 or 6.0; the database servers run on the
# host). Needs wrk, curl, PostgreSQL and MariaDB (mariadb-server). About 5 minutes with the
# defaults.
# Also writes one line per load (ours, stock, ratio, per-round spread) to target/bench/bench-xcap-nodes.tsv
# (TSV; ci/bench-lib.sh's tsv_row), which ci/bench.sh sums up.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh" # (also: cd to the repository root, top=$PWD)

dbs=${DBS:-"postgres mariadb"}
rounds_race=${ROUNDS_RACE:-100}
elem_rounds=${ELEM_ROUNDS:-5}
elements=${ELEMENTS:-10}
rounds=${ROUNDS:-3}
duration=${DURATION:-10}
warmup=${WARMUP:-1}
conns=${CONNECTIONS:-12}
put_docs=${PUT_DOCS:-200}
db_fsync=${DB_FSYNC:-1}
out_md=${OUT:-"$top/target/bench-xcap-nodes.md"}
nodes=3

[ $((conns % nodes)) = 0 ] && [ "$conns" -gt 0 ] || die "CONNECTIONS=$conns is not a positive multiple of $nodes"
for n in "$rounds_race" "$elem_rounds" "$elements" "$rounds" "$duration" "$put_docs"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "counts must be positive integers (got $n)"
done
need_tools kamailio kamcmd curl wrk python3
need_stock xcap_server
for b in $dbs; do
    case $b in
        postgres) need_postgres ;;
        mariadb)
            need_tools mariadb mariadb-install-db
            [ -x /usr/sbin/mariadbd ] || die "/usr/sbin/mariadbd is missing (apt-get install mariadb-server)"
            need_stock db_mysql ;;
        *) die "DBS: unknown back end $b (postgres, mariadb)" ;;
    esac
done

make_work /tmp/bench-xcap-nodes
BG=() # curl and wrk processes running in the background
stop_bg() { local p; for p in "${BG[@]}"; do stop_pid "$p"; done; BG=(); }
stop_all_kamailio() { local s; for s in "${!PID[@]}"; do stop_pid "${PID[$s]}" group; unset "PID[$s]"; done; }
trap 'stop_bg; stop_all_kamailio; stop_mariadb; stop_postgres; cleanup' EXIT

build_release xcap_server
copy_modules xcap_server
kam_version=$(kamailio_version)

# ---------------------------------------------------------------- MariaDB (throwaway server)
my_dir=$work/mariadb my_pid= my_port=

# my_sql db [mariadb arg...]: the mariadb client as root over the server's socket (db "" for none); tab-separated rows.
my_sql() { local db=$1; shift; mariadb --socket="$my_dir/mysqld.sock" -uroot --batch --raw --skip-column-names "$@" ${db:+"$db"}; }

start_mariadb() {
    local opts=()
    [ "$db_fsync" = 0 ] && opts+=(--innodb-flush-log-at-trx-commit=2 --innodb-doublewrite=0)
    mkdir -p "$my_dir"
    mariadb-install-db --datadir="$my_dir/data" --user=root --auth-root-authentication-method=normal --skip-test-db \
        </dev/null >"$my_dir/install.log" 2>&1 || { cat "$my_dir/install.log" >&2; die "mariadb-install-db failed"; }
    my_port=$(free_port)
    /usr/sbin/mariadbd --no-defaults --datadir="$my_dir/data" --socket="$my_dir/mysqld.sock" \
        --pid-file="$my_dir/mariadbd.pid" --port="$my_port" --bind-address=127.0.0.1 --user=root \
        --skip-name-resolve "${opts[@]}" </dev/null >"$my_dir/mariadbd.log" 2>&1 &
    my_pid=$!
    for _ in $(seq 300); do # up to 30 s
        kill -0 "$my_pid" 2>/dev/null || break
        if my_sql "" -e "SELECT 1;" >/dev/null 2>&1; then break; fi
        sleep 0.1
    done
    my_sql "" -e "SELECT 1;" >/dev/null 2>&1 || { tail -n 20 "$my_dir/mariadbd.log" >&2; die "MariaDB did not start"; }
    my_sql "" -e "CREATE USER 'kamailio'@'%' IDENTIFIED BY 'kamailiorw'; GRANT ALL ON *.* TO 'kamailio'@'%';"
    echo "MariaDB $(my_version) on 127.0.0.1:$my_port (pid $my_pid)" >&2
}
stop_mariadb() { if [ -n "$my_pid" ]; then stop_pid "$my_pid"; my_pid=; fi; }
my_version() { /usr/sbin/mariadbd --version | awk '{ sub(/-.*/, "", $3); print $3 }'; }

# ---------------------------------------------------------------- back ends
start_db() { # back end
    case $1 in
        postgres) if [ "$db_fsync" = 0 ]; then start_postgres -c fsync=off -c synchronous_commit=off; else start_postgres; fi ;;
        mariadb) start_mariadb ;;
    esac
}
stop_db() { case $1 in postgres) stop_postgres; pg_data= ;; mariadb) stop_mariadb ;; esac; }
db_label() {
    case $1 in
        postgres) echo "PostgreSQL $(pg_version)" ;;
        mariadb) echo "MariaDB $(my_version)" ;;
    esac
}
new_db() { # back end, name: a database with the target's standard and presence tables
    case $1 in
        postgres) postgres_db "$2" ;;
        mariadb)
            my_sql "" -e "CREATE DATABASE $2;"
            cat "$kamailio_sysroot"/usr/share/kamailio/mysql/{standard,presence}-create.sql | my_sql "$2" ;;
    esac
}
db_url() { # back end, name
    case $1 in
        postgres) echo "postgres://postgres:unused@127.0.0.1:$pg_port/$2" ;;
        mariadb) echo "mysql://kamailio:kamailiorw@127.0.0.1:$my_port/$2" ;;
    esac
}
db_query() { # back end, name, SQL: the rows
    case $1 in
        postgres) psql_db "$2" -c "$3" ;;
        mariadb) my_sql "$2" -e "$3" ;;
    esac
}

# ---------------------------------------------------------------- nodes
NODE=()     # the running nodes' names
NODE_URL=() # and their http://127.0.0.1:port
declare -A ERRS=() # back end,scenario -> ERROR lines in the nodes' logs

# start_nodes back end, scenario, server (ours|stock): a fresh database <scenario> and three nodes on it.
start_nodes() {
    local b=$1 sc=$2 srv=$3 i name d sip http url args=()
    new_db "$b" "$sc"
    url=$(db_url "$b" "$sc")
    case $b in postgres) args+=(-A WITH_POSTGRES) ;; mariadb) args+=(-A WITH_MYSQL) ;; esac
    [ "$srv" = stock ] && args+=(-A STOCK_XCAP)
    NODE=() NODE_URL=()
    for i in $(seq 0 $((nodes - 1))); do
        name="$b-$sc-n$i" d="$work/$b/$sc/n$i"
        mkdir -p "$d"
        read -r sip http <<<"$(free_ports 2)"
        for u in "${NODE_URL[@]}"; do [ "${u##*:}" = "$http" ] && die "port clash, run again"; done
        fill_cfg test-configs/bench-xcap.cfg "$d/kamailio.cfg" SIP_PORT="$sip" HTTP_PORT="$http" MODDIR="$work/modules" \
            CTL="$d/ctl.sock" DB_URL="$url"
        sed -i '/set_reply_close();/d; /set_reply_no_connect();/d' "$d/kamailio.cfg" # HTTP keep-alive
        start_kamailio "$name" "$d" "${args[@]}"
        NODE+=("$name") NODE_URL+=("http://127.0.0.1:$http")
    done
    for i in "${!NODE[@]}"; do
        wait_started "${NODE[$i]}" "" curl -s -o /dev/null --max-time 1 "${NODE_URL[$i]}/"
    done
    echo "$b, $sc: $nodes nodes with the $srv xcap_server on $url" >&2
}

# stop_nodes back end, scenario: stops the nodes; keeps their ERROR lines but the core's tcp_read
# ones (a client closing its connections: wrk at the end of a run, curl).
stop_nodes() {
    local b=$1 sc=$2 name f="$work/$1-$2.errors"
    : >"$f"
    for name in "${NODE[@]}"; do
        grep -hE ' (ERROR|CRITICAL|BUG|ALERT):' "${DIR[$name]}/kamailio.log" | grep -v 'core/tcp_read\.c' | sed -E 's/^ *[0-9]+\([0-9]+\) //' >>"$f" || true
        stop_pid "${PID[$name]}" group
        unset "PID[$name]"
    done
    ERRS[$b,$sc]=$(wc -l <"$f")
    NODE=() NODE_URL=()
}

# ---------------------------------------------------------------- documents
RL="application/resource-lists+xml"

# lists uri...: a resource-lists document whose list "friends" holds entries of these URIs.
lists() {
    local u
    printf '<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="friends">'
    for u; do printf '<entry uri="%s"/>' "$u"; done
    printf '</list></resource-lists>\n'
}
doc_path() { echo "/xcap-root/resource-lists/users/sip:$1@example.com/index"; }
uris_of() { grep -o 'uri="[^"]*"' "$1" | sed 's/^uri="//; s/"$//' || true; }

# put_doc url file: an unconditional PUT of the document; dies unless 200 or 201.
put_doc() {
    local code
    code=$(curl -s -g --max-time 10 -o "$work/put.out" -w '%{http_code}' -X PUT -H "Content-Type: $RL" --data-binary "@$2" "$1")
    case $code in 200 | 201) ;; *) cat "$work/put.out" >&2; die "PUT $1 answered $code"; esac
}

# missing_count acked-file doc-file: how many URIs of the first file (one a line) the document lacks.
missing_count() {
    local n=0 u
    while read -r u; do [ -n "$u" ] && ! grep -qF "uri=\"$u\"" "$2" && n=$((n + 1)); done <"$1"
    echo "$n"
}

# code_list "c c c": the non-2xx codes as "412×3, 500×1" (none: -).
code_list() {
    tr ' ' '\n' <<<"$1" | awk 'NF && $1 !~ /^2/ { n[$1]++ } END { s = ""; for (c in n) s = s (s ? ", " : "") c "×" n[c]; print (s ? s : "-") }'
}

declare -A R=()

# ---------------------------------------------------------------- 1a. conditional PUT race
race_cond() { # back end, server
    local b=$1 srv=$2 sc="cond_$2" d code etag r i n_ok other_codes="" attempts=0 ok=0 pre=0 other=0 forked=0 none=0
    local doc user=race cur=()
    d="$work/$b/$sc"
    start_nodes "$b" "$sc" "$srv"
    doc=$(doc_path $user)
    lists >"$d/start.xml"
    put_doc "${NODE_URL[0]}$doc" "$d/start.xml"
    : >"$d/acked"
    for r in $(seq "$rounds_race"); do
        code=$(curl -s -g --max-time 10 -D "$d/get.hdr" -o "$d/get.xml" -w '%{http_code}' "${NODE_URL[$((r % nodes))]}$doc")
        [ "$code" = 200 ] || die "$b, $srv, round $r: GET answered $code"
        etag=$(awk 'tolower($1) == "etag:" { sub(/\r$/, ""); print $2; exit }' "$d/get.hdr")
        [ -n "$etag" ] || die "$b, $srv, round $r: no ETag in the GET"
        mapfile -t cur < <(uris_of "$d/get.xml")
        local args=()
        for i in $(seq 0 $((nodes - 1))); do
            lists "${cur[@]}" "sip:r$r-n$i@example.com" >"$d/put$i.xml"
            [ "$i" -gt 0 ] && args+=(--next)
            args+=(-s -g --max-time 10 -X PUT -H "Content-Type: $RL" -H "If-Match: $etag" --data-binary "@$d/put$i.xml"
                -o /dev/null -w "$i %{http_code}\n" "${NODE_URL[$i]}$doc")
        done
        curl --silent --parallel --parallel-immediate --parallel-max "$nodes" "${args[@]}" >"$d/codes" 2>/dev/null || true
        n_ok=0
        while read -r i code; do
            attempts=$((attempts + 1))
            case $code in
                2??) ok=$((ok + 1)) n_ok=$((n_ok + 1)); echo "sip:r$r-n$i@example.com" >>"$d/acked" ;;
                412) pre=$((pre + 1)) ;;
                *) other=$((other + 1)) other_codes="$other_codes $code" ;;
            esac
        done <"$d/codes"
        [ "$(wc -l <"$d/codes")" = "$nodes" ] || die "$b, $srv, round $r: curl reported $(wc -l <"$d/codes") transfers"
        [ "$n_ok" -gt 1 ] && forked=$((forked + 1))
        [ "$n_ok" = 0 ] && none=$((none + 1))
    done
    curl -s -g --max-time 10 -o "$d/final.xml" "${NODE_URL[0]}$doc"
    R[$b,$srv,cond]="$attempts|$ok|$pre|$other|$(code_list "$other_codes")|$forked|$none|$(wc -l <"$d/acked")|$(missing_count "$d/acked" "$d/final.xml")|$(db_query "$b" "$sc" "SELECT COUNT(*) FROM xcap WHERE doc_uri LIKE '%$user@example.com/index';")"
    echo "$b, $srv, conditional race: ${R[$b,$srv,cond]}" >&2
    stop_nodes "$b" "$sc"
}

# ---------------------------------------------------------------- 1b. element PUT race
race_elem() { # back end, server
    local b=$1 srv=$2 sc="elem_$2" d k i j user doc sel p attempts=0 ok=0 other=0 lost=0 acked=0 all_codes="" rows=""
    d="$work/$b/$sc"
    start_nodes "$b" "$sc" "$srv"
    for k in $(seq "$elem_rounds"); do
        user="elem$k" doc=$(doc_path "elem$k")
        lists >"$d/start.xml"
        put_doc "${NODE_URL[0]}$doc" "$d/start.xml"
        local pids=()
        for i in $(seq 0 $((nodes - 1))); do
            local args=()
            for j in $(seq "$elements"); do
                [ "$j" -gt 1 ] && args+=(--next)
                sel="$doc/~~/resource-lists/list%5B@name=%22friends%22%5D/entry%5B@uri=%22sip:k$k-n$i-$j@example.com%22%5D"
                args+=(-s -g --max-time 10 -X PUT -H "Content-Type: application/xcap-el+xml"
                    --data-binary "<entry uri=\"sip:k$k-n$i-$j@example.com\"/>" -o /dev/null -w "$j %{http_code}\n" "${NODE_URL[$i]}$sel")
            done
            curl "${args[@]}" >"$d/codes$i" &
            pids+=($!) BG+=($!)
        done
        for p in "${pids[@]}"; do wait "$p" || true; done
        BG=()
        : >"$d/acked"
        for i in $(seq 0 $((nodes - 1))); do
            while read -r j code; do
                attempts=$((attempts + 1)) all_codes="$all_codes $code"
                case $code in 2??) ok=$((ok + 1)); echo "sip:k$k-n$i-$j@example.com" >>"$d/acked" ;; *) other=$((other + 1)) ;; esac
            done <"$d/codes$i"
        done
        curl -s -g --max-time 10 -o "$d/final.xml" "${NODE_URL[0]}$doc"
        acked=$((acked + $(wc -l <"$d/acked")))
        lost=$((lost + $(missing_count "$d/acked" "$d/final.xml")))
        rows="$rows $(db_query "$b" "$sc" "SELECT COUNT(*) FROM xcap WHERE doc_uri LIKE '%$user@example.com/index';")"
    done
    R[$b,$srv,elem]="$attempts|$ok|$other|$(code_list "$all_codes")|$acked|$lost|$(tr ' ' '\n' <<<"$rows" | awk 'NF { m = ($1 > m ? $1 : m) } END { print m + 0 }')"
    echo "$b, $srv, element race: ${R[$b,$srv,elem]}" >&2
    stop_nodes "$b" "$sc"
}

# ---------------------------------------------------------------- 2. throughput
# The ~2 KB document of ci/bench-xcap-server.sh.
body="$work/index.xml"
resource_lists_doc "$body"
# PUTs round-robin over the users' documents u1..u<PUT_DOCS>; wrk process <i> of <n> (the
# script's arguments) starts at document i*PUT_DOCS/n, so the processes spread over them. Prints
# the non-2xx status codes as "codes: 503=2 ..." at the end.
cat >"$work/put.lua" <<EOF
wrk.method = "PUT"
wrk.headers["Content-Type"] = "$RL"
local f = assert(io.open("$body", "rb"))
wrk.body = f:read("*a")
f:close()
local docs, threads = $put_docs, {}
function setup(thread) table.insert(threads, thread) end
function init(args)
    n = math.floor((tonumber(args[1]) or 0) * docs / (tonumber(args[2]) or 1))
    codes = {}
end
function request()
    n = n + 1
    return wrk.format(nil, "/xcap-root/resource-lists/users/sip:u" .. (n % docs + 1) .. "@example.com/index")
end
function response(status, headers, body)
    if status >= 300 then codes[status] = (codes[status] or 0) + 1 end
end
function done(summary, latency, requests)
    local all, s = {}, ""
    for _, t in ipairs(threads) do
        for c, k in pairs(t:get("codes") or {}) do all[c] = (all[c] or 0) + k end
    end
    for c, k in pairs(all) do s = s .. " " .. c .. "=" .. k end
    io.write("codes:" .. s .. "\n")
end
EOF

# sum_codes "503=2 500=1 503=4": the codes of put.lua summed, "503×6, 500×1" (none: -).
sum_codes() {
    tr ' ' '\n' <<<"$1" | awk -F= 'NF == 2 { n[$1] += $2 } END { s = ""; for (c in n) s = s (s ? ", " : "") c "×" n[c]; print (s ? s : "-") }'
}

# tp_run back end, set-up (one|three), round: three wrk processes at once, to node 0 or one per node.
tp_run() {
    local b=$1 setup=$2 r=$3 i u secs log ok=0 bad=0 codes="" reqs rps non2xx
    for secs in "$warmup" "$duration"; do
        BG=()
        for i in $(seq 0 $((nodes - 1))); do
            u=${NODE_URL[0]}
            [ "$setup" = three ] && u=${NODE_URL[$i]}
            wrk -t1 -c$((conns / nodes)) -d"${secs}s" --timeout 10s -s "$work/put.lua" "$u/" -- "$i" "$nodes" >"$work/$b-tp-$setup-$r-$i.wrk" 2>&1 &
            BG+=($!)
        done
        for i in "${BG[@]}"; do wait "$i" || die "$b: wrk failed ($(cat "$work/$b-tp-$setup-$r-"*.wrk | head -c 400))"; done
        BG=()
    done
    for name in "${NODE[@]}"; do still_alive "$name" "under the PUT load"; done
    for i in $(seq 0 $((nodes - 1))); do
        log="$work/$b-tp-$setup-$r-$i.wrk"
        reqs=$(awk '/requests in/ {print $1}' "$log")
        rps=$(awk '/^Requests\/sec:/ {print $2}' "$log")
        non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$log")
        ok=$(awk -v a="$ok" -v r="$rps" -v n="$reqs" -v x="${non2xx:-0}" 'BEGIN { printf "%.1f", a + (n > 0 ? r * (n - x) / n : 0) }')
        bad=$((bad + ${non2xx:-0}))
        codes="$codes $(awk '/^codes:/ { $1 = ""; print }' "$log")"
    done
    ok=$(printf '%.0f' "$ok")
    add "$b,$setup,ok" "$ok"
    add "$b,$setup,bad" "$bad"
    R[$b,$setup,codes]="${R[$b,$setup,codes]:-}$codes"
    echo "$b, round $r, $setup node(s): $ok 2xx/s, $bad non-2xx ($(sum_codes "$codes"))" >&2
}

throughput() { # back end
    local b=$1 r
    start_nodes "$b" tp ours
    for r in $(seq "$rounds"); do
        if [ $((r % 2)) = 1 ]; then tp_run "$b" one "$r"; tp_run "$b" three "$r"; else tp_run "$b" three "$r"; tp_run "$b" one "$r"; fi
    done
    R[$b,tp,rows]=$(db_query "$b" tp "SELECT COUNT(*) FROM xcap;")
    stop_nodes "$b" tp
}

# ---------------------------------------------------------------- run
declare -A DBVER=()
for b in $dbs; do
    start_db "$b"
    DBVER[$b]=$(db_label "$b")
    for srv in ours stock; do
        race_cond "$b" "$srv"
        race_elem "$b" "$srv"
    done
    throughput "$b"
    stop_db "$b"
done

# ---------------------------------------------------------------- report
label2() { case $1 in ours) echo "ours (Rust)" ;; stock) echo "stock (C)" ;; esac; }
{
    durab="the servers' default durability (fsync on)"
    [ "$db_fsync" = 0 ] && durab="fsync off (PostgreSQL fsync=off, synchronous_commit=off; MariaDB innodb_flush_log_at_trx_commit=2, innodb_doublewrite=0)"
    echo "# xcap_server on $nodes Kamailio nodes sharing one database"
    echo
    echo "Kamailio $kam_version (KAMAILIO_TARGET=$KAMAILIO_TARGET) with test-configs/bench-xcap.cfg (children=4, HTTP keep-alive), $nodes nodes per scenario on one fresh database of a throwaway server on 127.0.0.1 ($(for b in $dbs; do printf '%s; ' "${DBVER[$b]}"; done)$durab); clients (curl, wrk) on the same machine; $(host_line)."
    echo
    echo "## Conditional PUT race"
    echo
    echo "$rounds_race rounds: the ETag and entries of one resource-lists document read (GET, through each node in turn), then one PUT per node at the same moment (curl --parallel, three connections at once), each the document read plus an entry of its own, with If-Match: the ETag read. At most one PUT per round may succeed; a round with more than one 2xx forked the ETag chain, and all but one of its acknowledged entries are overwritten. *Lost* = acknowledged (2xx) entries missing from the final document."
    echo
    echo "| back end | server | PUTs | 2xx | 412 | other | rounds with > 1 2xx (forked) | rounds with no 2xx | acknowledged entries | lost | rows for the document |"
    echo "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"
    for b in $dbs; do
        for srv in ours stock; do
            IFS='|' read -r att ok pre other olist forked none acked lost rows <<<"${R[$b,$srv,cond]}"
            echo "| ${DBVER[$b]} | $(label2 $srv) | $att | $ok | $pre | $other$([ "$other" != 0 ] && echo " ($olist)") | $forked | $none | $acked | **$lost** | $rows |"
        done
    done
    echo
    echo "## Element PUT race (no If-Match)"
    echo
    echo "$elem_rounds round(s), each on a new document with an empty list: every node at once inserts $elements entries of its own into the list (element PUTs, one after the other per node). *Lost* = acknowledged entries missing from the final document."
    echo
    echo "| back end | server | PUTs | 2xx | other | acknowledged entries | lost | rows per document (max) |"
    echo "|---|---|---:|---:|---|---:|---:|---:|"
    for b in $dbs; do
        for srv in ours stock; do
            IFS='|' read -r att ok other olist acked lost rows <<<"${R[$b,$srv,elem]}"
            echo "| ${DBVER[$b]} | $(label2 $srv) | $att | $ok | $other$([ "$other" != 0 ] && echo " ($olist)") | $acked | **$lost** | $rows |"
        done
    done
    echo
    echo "## PUT throughput, one node vs three (ours)"
    echo
    echo "PUTs of a $(stat -c %s "$body")-byte resource-lists document spread over $put_docs users' documents; three wrk processes at once (-t1 -c$((conns / nodes)) each, $conns connections in all), all to one node, then one per node; ${duration} s after a ${warmup} s warm-up, $rounds rounds (order swapped every other round); medians over the rounds. All nodes, the database server and wrk share this machine's $(nproc) cores, so three/one is not a scale-out: it shows the cost of coordinating the nodes through the database (conditional writes, redone losers), together with three nodes having three times the Kamailio workers (children=4 each) that wait on the database at once."
    echo
    echo "| back end | nodes | 2xx/s | non-2xx per run | non-2xx codes (all runs) | every round (2xx/s) |"
    echo "|---|---:|---:|---:|---|---|"
    for b in $dbs; do
        for setup in one three; do
            n=1; [ $setup = three ] && n=$nodes
            echo "| ${DBVER[$b]} | $n | $(median "${R[$b,$setup,ok]}") | $(median "${R[$b,$setup,bad]}") | $(sum_codes "${R[$b,$setup,codes]:-}") | ${R[$b,$setup,ok]} |"
        done
    done
    echo
    for b in $dbs; do
        echo "- ${DBVER[$b]}: three / one = **$(ratio "$(median "${R[$b,three,ok]}")" "$(median "${R[$b,one,ok]}")")** (rows in the xcap table at the end: ${R[$b,tp,rows]}, of $put_docs documents)"
    done
    echo
    echo "## Errors in the Kamailio logs"
    echo
    echo "ERROR (CRITICAL, BUG, ALERT) lines of the nodes of each scenario, without the core's tcp_read errors of clients closing their connections (wrk at the end of a run)."
    echo
    echo "| back end | scenario | ERROR lines (all nodes) |"
    echo "|---|---|---:|"
    for b in $dbs; do
        for sc in cond_ours cond_stock elem_ours elem_stock tp; do echo "| ${DBVER[$b]} | $sc | ${ERRS[$b,$sc]} |"; done
    done
    for b in $dbs; do
        for sc in cond_ours cond_stock elem_ours elem_stock tp; do
            [ "${ERRS[$b,$sc]}" = 0 ] && continue
            echo
            echo "${DBVER[$b]}, $sc, the most frequent (count, line without time and pid):"
            echo
            echo '```'
            sed -E 's/[0-9a-f]{8,}/<hex>/g; s/[0-9]{5,}/<n>/g' "$work/$b-$sc.errors" | sort | uniq -c | sort -rn | head -n 5 | cut -c1-600
            echo '```'
        done
    done
} >"$work/table.md"
# The machine-readable copy (target/bench/bench-xcap-nodes.tsv): the races' losses, ours against
# stock (lower is better; one run each, no per-round spread), and our throughput (no stock).
for b in $dbs; do
    IFS='|' read -r _ _ _ _ _ forked_o _ _ lost_o _ <<<"${R[$b,ours,cond]}"
    IFS='|' read -r _ _ _ _ _ forked_s _ _ lost_s _ <<<"${R[$b,stock,cond]}"
    tsv_row "${DBVER[$b]}: conditional PUT race, forked rounds" "$forked_o" "$forked_s" "rounds" 0
    tsv_row "${DBVER[$b]}: conditional PUT race, lost entries" "$lost_o" "$lost_s" "entries" 0
    IFS='|' read -r _ _ _ _ _ lost_o _ <<<"${R[$b,ours,elem]}"
    IFS='|' read -r _ _ _ _ _ lost_s _ <<<"${R[$b,stock,elem]}"
    tsv_row "${DBVER[$b]}: element PUT race, lost entries" "$lost_o" "$lost_s" "entries" 0
    tsv_row "${DBVER[$b]}: PUT, 1 node (ours only)" "$(median "${R[$b,one,ok]}")" - "2xx/s" 1
    tsv_row "${DBVER[$b]}: PUT, 3 nodes (ours only)" "$(median "${R[$b,three,ok]}")" - "2xx/s" 1
done
publish_table
