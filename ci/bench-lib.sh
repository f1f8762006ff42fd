# Helpers shared by the benchmark scripts ci/bench-*.sh, which source this file first thing
# (. "$(dirname "$0")/bench-lib.sh"); it changes to the repository root and sets $top.
# KAMAILIO_TARGET (5.6 or 6.0, ci/target-env.sh) selects the Kamailio whose stock modules ours
# are measured against: both servers of a run are that Kamailio.
# They run under `set -euo pipefail` and keep their state in the arrays declared here (PID,
# CTL, DIR, UAS_PID, SIPP_PID) and in the script's own $work, $top, $out_md and R.

bench=$(basename "$0" .sh) # the prefix of the messages: bench-pua, bench-xcap-server, ...
cd "$(dirname "$0")/.."    # the scripts run from the repository root
top=$PWD
# shellcheck source=ci/target-env.sh
source ci/target-env.sh
# The target's schema scripts and stock modules, as read from here (the paths the server maps
# its modules from, also for 6.0 in its root).
schema=$kamailio_sysroot/usr/share/kamailio/db_sqlite
stock_dir=${kamailio_sysroot%/}/usr/lib/x86_64-linux-gnu/kamailio/modules
clk_tck=$(getconf CLK_TCK)
declare -A PID=()     # Kamailio per server: pid = pgid (stopped as a group)
declare -A CTL=()     # kamcmd control socket per server
declare -A DIR=()     # work directory per server (kamailio.cfg, kamailio.log, ...)
declare -A UAS_PID=() # SIPp servers per Kamailio server, if any
SIPP_PID=             # the SIPp client running, if any

# ---------------------------------------------------------------- set-up and tear-down

# die message...: prints "<script>: message" on stderr and exits 1.
die() { echo "$bench: $*" >&2; exit 1; }

# need_tools tool...: dies unless every tool is on PATH.
need_tools() { local tool; for tool; do command -v "$tool" >/dev/null || die "$tool is missing (bash ci/install.sh installs what is needed)"; done; }

# need_stock module...: dies unless the stock C module <module>.so is installed.
need_stock() { local m; for m; do [ -f "$stock_dir/$m.so" ] || die "the stock $stock_dir/$m.so is missing"; done; }

# stop_pid pid [group]: TERM to the process (or its process group), up to 5 s, then KILL; reaps it.
stop_pid() {
    local p=$1 target=$1
    [ "${2:-}" = group ] && target="-$1"
    kill -0 "$p" 2>/dev/null || return 0
    kill -TERM -- "$target" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null || true; return 0; }; sleep 0.1; done
    kill -KILL -- "$target" 2>/dev/null || true
    wait "$p" 2>/dev/null || true # (no "Killed" notice)
}

# cleanup: the EXIT trap: stops the SIPp client, the Kamailio groups and the SIPp servers; removes $work unless KEEP=1.
cleanup() {
    local s
    [ -n "$SIPP_PID" ] && stop_pid "$SIPP_PID"
    for s in "${!PID[@]}"; do stop_pid "${PID[$s]}" group; done
    for s in "${!UAS_PID[@]}"; do stop_pid "${UAS_PID[$s]}"; done
    if [ "${KEEP:-}" = 1 ]; then echo "$bench: work directory kept: $work" >&2; else rm -rf "$work"; fi
}

# make_work prefix: creates the work directory $work (prefix.XXXXXX) and traps EXIT (cleanup), INT and TERM.
make_work() {
    work=$(mktemp -d "$1.XXXXXX")
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

# build_release crate...: cargo build --release of the crates with the Kamailio headers, unless NO_BUILD=1.
build_release() {
    [ "${NO_BUILD:-}" = 1 ] && return 0
    local c args=()
    for c; do args+=(-p "$c"); done
    cargo build --release "${args[@]}" >&2
}

# copy_modules module...: $CARGO_TARGET_DIR/release/lib<module>.so to $work/modules/<module>.so (a copy, not a link: a rebuild during the run must not change a loaded library).
copy_modules() {
    local m so
    mkdir -p "$work/modules"
    for m; do
        so="$CARGO_TARGET_DIR/release/lib$m.so"
        [ -f "$so" ] || die "$so is missing (build failed?)"
        cp "$so" "$work/modules/$m.so"
    done
}

# resource_lists_doc file: writes the ~2 KB resource-lists document the XCAP PUT benchmarks send
# (three lists, fifteen entries with display names, an external).
resource_lists_doc() {
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
    } >"$1"
}

# xcapdiff_doc file: writes the ~1 KB resource-lists document (one list of ten entries with
# display names) that ci/bench-xcapdiff.sh and ci/callgrind-xcapdiff.sh PUT.
xcapdiff_doc() {
    {
        printf '<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">\n  <list name="friends">\n'
        for n in bob carol dave erin frank grace heidi ivan judy mallory; do
            printf '    <entry uri="sip:%s@example.com">\n      <display-name>%s</display-name>\n    </entry>\n' "$n" "${n^}"
        done
        printf '  </list>\n</resource-lists>\n'
    } >"$1"
}

# ---------------------------------------------------------------- servers

# free_port: prints a port of 127.0.0.1 that is free for UDP and for TCP.
free_port() {
    python3 -c 'import socket
while True:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0)); p = u.getsockname()[1]
    t = socket.socket()
    try:
        t.bind(("127.0.0.1", p)); print(p); break
    except OSError: pass'
}

# free_ports n: prints n distinct ports (each as free_port gives them) on one line.
free_ports() {
    local ports=() p
    while [ "${#ports[@]}" -lt "$1" ]; do
        p=$(free_port)
        [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
    done
    echo "${ports[*]}"
}

# port_in_use port: succeeds if someone has bound the UDP port on 127.0.0.1.
port_in_use() {
    python3 -c 'import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    u.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)' "$1"
}

# label server: the server's name in the tables.
label() { case $1 in ours) echo "ours (Rust)";; stock) echo "stock (C)";; ceiling) echo "ceiling (xhttp only)";; esac; }

# rpc server command [arg...]: kamcmd on the server's control socket.
rpc() { local s=$1; shift; kamcmd -s "${CTL[$s]}" "$@"; }

# field key: the value of the first "key: value" line on stdin (kamcmd's output).
field() { awk -v k="$1:" '$1 == k { print $2; exit }'; }

# create_sql: the SQL that creates Kamailio's standard and presence tables (SQLite).
create_sql() { cat "$schema/standard-create.sql" "$schema/presence-create.sql"; }

# fill_cfg template out KEY=value...: writes out, the template with every @KEY@ replaced by value; dies if a placeholder is left.
fill_cfg() {
    local template=$1 out=$2 kv expr=()
    shift 2
    for kv; do expr+=(-e "s#@${kv%%=*}@#${kv#*=}#g"); done
    sed "${expr[@]}" "$template" >"$out"
    if grep -q '@[A-Z_]*@' "$out"; then die "unfilled placeholder in $out"; fi
}

# start_kamailio name dir [kamailio arg...]: Kamailio on dir/kamailio.cfg in its own session and process group (setsid: pgid = pid), logging to dir/kamailio.log; sets PID, CTL and DIR of name.
start_kamailio() {
    local name=$1 d=$2
    shift 2
    setsid "$KAMAILIO_BIN" -f "$d/kamailio.cfg" -DD -E -w "$d" -Y "$d" "$@" </dev/null >"$d/kamailio.log" 2>&1 &
    PID[$name]=$! CTL[$name]="unix:$d/ctl.sock" DIR[$name]=$d
}

# wait_started name note [probe...]: up to 10 s for kamcmd core.uptime (and the probe) to succeed, else the log's tail and exit 1 (note follows "did not start"); then checks the process group.
wait_started() {
    local name=$1 note=$2 ok=
    shift 2
    for _ in $(seq 100); do
        kill -0 "${PID[$name]}" 2>/dev/null || break
        if rpc "$name" core.uptime >/dev/null 2>&1 && { [ $# = 0 ] || "$@"; }; then ok=1; break; fi
        sleep 0.1
    done
    if [ -z "$ok" ]; then
        echo "$bench: the $name server did not start$note; the tail of its log:" >&2
        tail -n 30 "${DIR[$name]}/kamailio.log" >&2
        exit 1
    fi
    [ "$(ps -o pgid= -p "${PID[$name]}" | tr -d ' ')" = "${PID[$name]}" ] || die "$name: not in its own process group"
}

# still_alive server what: dies, with the tail of its log, if the server's Kamailio is gone ("<server> died <what>").
still_alive() { kill -0 "${PID[$1]}" 2>/dev/null || { tail -n 30 "${DIR[$1]}/kamailio.log" >&2; die "$1 died $2"; }; }

# tm_idle server: waits (up to $tm_idle_s seconds, default 30) until tm holds no transaction.
tm_idle() {
    local s=$1 st limit=${tm_idle_s:-30}
    for _ in $(seq $((limit * 10))); do
        st=$(rpc "$s" tm.stats)
        [ "$(field current <<<"$st")" = 0 ] && [ "$(field waiting <<<"$st")" = 0 ] && return 0
        sleep 0.1
    done
    local msg short
    msg="$s: tm still holds transactions after $limit s: $(tr -d '\n\t' <<<"$st")"
    short=$(grep -c 'could not allocate shared memory' "${DIR[$s]}/kamailio.log" || true)
    [ "${short:-0}" = 0 ] || msg+="; the log has $short shm allocation failures: the pool (-m) is too small for the load"
    die "$msg"
}

# log_errors server: how many ERROR/CRITICAL/BUG/ALERT lines the server's Kamailio log has.
log_errors() { grep -cE ' (ERROR|CRITICAL|BUG|ALERT):' "${DIR[$1]}/kamailio.log" || true; }

# sipp_count csv column: the column's value (e.g. SuccessfulCall(C)) on the last line of a SIPp -trace_stat file.
sipp_count() { awk -F';' -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i } END { print $c + 0 }' "$1"; }

# ---------------------------------------------------------------- PostgreSQL

# A throwaway PostgreSQL server of the script's own, in $work/pg (need_postgres, start_postgres;
# the script's EXIT trap calls stop_postgres before cleanup).
pg_bin= pg_data= pg_port=

# need_postgres: dies unless PostgreSQL (server, psql) and the target's stock db_postgres are installed; sets pg_bin.
need_postgres() {
    need_tools psql runuser
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -x "$pg_bin/pg_ctl" ] || die "PostgreSQL is missing (bash ci/install.sh installs it)"
    [ -f "$stock_dir/db_postgres.so" ] || die "db_postgres is missing (kamailio-postgres-modules)"
}

# start_postgres [server option...]: a new cluster in $work/pg/data (trust authentication, user
# postgres) served on 127.0.0.1:$pg_port only (a free port; its socket in $work/pg), with
# PostgreSQL's default settings but the options given (e.g. -c fsync=off); sets pg_data and pg_port.
start_postgres() {
    chmod 711 "$work" # the postgres user reaches its directory inside
    mkdir -p "$work/pg"
    chown postgres:postgres "$work/pg"
    pg_data=$work/pg/data
    runuser -u postgres -- "$pg_bin/initdb" -D "$pg_data" -A trust -U postgres --no-sync >"$work/pg/initdb.log" 2>&1 ||
        { cat "$work/pg/initdb.log" >&2; die "initdb failed"; }
    pg_port=$(free_port)
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -l "$work/pg/pg.log" -w \
        -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1${*:+ $*}" start >/dev/null ||
        { cat "$work/pg/pg.log" >&2; die "PostgreSQL did not start"; }
    echo "PostgreSQL $(pg_version) on 127.0.0.1:$pg_port" >&2
}

# stop_postgres: stops the server of start_postgres (immediate), if it was started.
stop_postgres() { [ -n "$pg_data" ] && runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true; }

# pg_version: the version of the PostgreSQL server.
pg_version() { "$pg_bin/postgres" --version | awk '{print $3}'; }

# psql_db db [psql arg...]: psql as postgres on database db of the server, stopping at the first error; unaligned, tuples only.
psql_db() { local db=$1; shift; psql -h 127.0.0.1 -p "$pg_port" -U postgres -qAt -v ON_ERROR_STOP=1 "$@" "$db"; }

# postgres_db name: creates database name on the server with the target's standard and presence tables.
postgres_db() {
    psql_db postgres -c "CREATE DATABASE $1;" >/dev/null
    cat "$kamailio_sysroot"/usr/share/kamailio/postgres/{standard,presence}-create.sql | psql_db "$1" >/dev/null
}

# ---------------------------------------------------------------- measuring

# cpu_ticks pgid: utime+stime (clock ticks) of every process in the process group.
cpu_ticks() {
    # /proc/PID/stat after the ")" of the command name: state ppid pgrp ... utime(14) stime(15)
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
        awk -v pgid="$1" '{ sub(/^.*\) /, ""); if ($3 == pgid) t += $12 + $13 } END { printf "%d", t }'
}

# pid_ticks pid: utime+stime (clock ticks) of one process, 0 once it is gone.
pid_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# cpu_per_1k ticks count: CPU seconds per 1,000 of count, 3 decimals (0 if count is 0).
cpu_per_1k() { awk -v d="$1" -v n="$2" -v hz="$clk_tck" 'BEGIN { printf "%.3f", (n > 0 ? d / hz / n * 1000 : 0) }'; }

# add key value: appends a round's value to R[key] (space-separated).
add() { R[$1]="${R[$1]:-}${R[$1]:+ }$2"; }

# median "v1 v2 ...": the median of the values, n/a if there are none.
median() { tr ' ' '\n' <<<"$1" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# total "v1 v2 ...": the sum of the values.
total() { tr ' ' '\n' <<<"$1" | awk '{ t += $1 } END { print t + 0 }'; }

# ---------------------------------------------------------------- report

# ratio a b: a / b with 2 decimals, 0 if b is 0.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# met ratio aim [ge|le]: "met" if the ratio is at least (ge, the default) or at most (le) the aim, else "NOT met".
met() { awk -v r="$1" -v t="$2" -v dir="${3:-ge}" 'BEGIN { ok = (dir == "ge" ? r >= t : r <= t); print (ok ? "met" : "NOT met") }'; }

# kamailio_version: the target Kamailio's version.
kamailio_version() { "$KAMAILIO_BIN" -v 2>/dev/null | awk 'NR==1 {print $3}'; }

# host_line: "<n> cores, <CPU model>; <date UTC>", for the first line of a table.
host_line() { echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(date -u '+%Y-%m-%d %H:%M UTC')"; }

# tsv_row load ours stock unit higher ["ours per round" "stock per round"]: appends a line for
# the machine-readable copy of the results ($work/table.tsv, written by publish_table): load,
# ours, stock ("-" if there is no stock value), unit, ours/stock (3 decimals, "-" if stock is
# 0 or missing), higher (1: a higher value is better, 0: a lower one), and the min and max of
# the per-round ratios ours/stock (the values of the same round paired; "-" without rounds).
tsv_row() {
    awk -v name="$1" -v o="$2" -v s="$3" -v unit="$4" -v hib="$5" -v ro="${6:-}" -v rs="${7:-}" 'BEGIN {
        r = (s != "-" && s != "n/a" && s != "" && o != "n/a" && o != "" && s + 0 > 0) ? sprintf("%.3f", o / s) : "-"
        n = split(ro, a, " "); m = split(rs, b, " "); lo = ""; hi = ""
        for (i = 1; i <= n && i <= m; i++) if (b[i] + 0 > 0) { q = a[i] / b[i]; if (lo == "" || q < lo) lo = q; if (hi == "" || q > hi) hi = q }
        printf "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", name, (o == "" ? "-" : o), (s == "" ? "-" : s), unit, r, hib,
            (lo == "" ? "-" : sprintf("%.3f", lo)), (hi == "" ? "-" : sprintf("%.3f", hi))
    }' >>"$work/table.tsv"
}

# publish_table: copies $work/table.md to $out_md and prints it; if the script wrote tsv_row
# lines, also writes them, under a header line, to TSV (default target/bench/<script>.tsv).
publish_table() {
    mkdir -p "$(dirname "$out_md")"
    cp "$work/table.md" "$out_md"
    if [ -f "$work/table.tsv" ]; then
        local out_tsv=${TSV:-"$top/target/bench/$bench.tsv"}
        mkdir -p "$(dirname "$out_tsv")"
        { printf '# load\tours\tstock\tunit\tours/stock\thigher_is_better\tround_ratio_min\tround_ratio_max\n'; cat "$work/table.tsv"; } >"$out_tsv"
        echo "$bench: machine-readable results written to ${out_tsv#"$top"/}" >&2
    fi
    echo
    cat "$out_md"
    echo
    echo "(written to ${out_md#"$top"/})"
}
