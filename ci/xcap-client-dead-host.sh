#!/usr/bin/env bash
# Does xcap_client's periodic refresh delay the core's timers when its XCAP server is dead?
# DOCS (1000) mirrored documents in the xcap table point at a server whose accept queue is
# full, so that connecting times out (as to a black-holed host). Kamailio runs presence,
# presence_xml, xcap_client (ours, then the stock module of the same Kamailio) with
# query_period QUERY_PERIOD (5 s), and an rtimer timer that logs a tick every second from the
# core's timer process, where presence's clean-up and the stock refresh run. For DURATION
# (60 s) each, it prints the ticks seen, the longest gap between ticks (including the time
# since the last one), and for ours the connection attempts its back-off let through.
# A measurement, not a test: it asserts nothing. KAMAILIO_TARGET=6.0 runs against 6.0.1.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"

DOCS=${DOCS:-1000}
QUERY_PERIOD=${QUERY_PERIOD:-5}
DURATION=${DURATION:-60}
SERVERS=${SERVERS:-ours stock}

need_tools kamcmd sqlite3 python3
need_stock xcap_client presence presence_xml rtimer xlog
make_work /tmp/xcap-client-dead-host
build_release xcap_client
copy_modules xcap_client

# The dead server: listen(0) and two connections never accepted fill the accept queue; the
# kernel then drops further SYNs and every connect times out.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
port = s.getsockname()[1]
fill = []
for _ in range(3):
    c = socket.socket(); c.settimeout(0.3)
    try:
        c.connect(("127.0.0.1", port)); fill.append(c)
    except OSError:
        pass
print(port, flush=True)
time.sleep(100000)' >"$work/dead-port" &
UAS_PID[dead]=$!
for _ in $(seq 50); do [ -s "$work/dead-port" ] && break; sleep 0.1; done
dead=$(cat "$work/dead-port")
[ -n "$dead" ] || die "the dead server did not start"
if python3 -c 'import socket, sys
c = socket.socket(); c.settimeout(1)
try:
    c.connect(("127.0.0.1", int(sys.argv[1]))); sys.exit(0)
except OSError:
    sys.exit(1)' "$dead"; then die "connecting to the dead server on port $dead does not time out"; fi
echo "$bench: dead XCAP server on 127.0.0.1:$dead (connecting times out); $DOCS documents, query_period $QUERY_PERIOD s, $DURATION s per server; Kamailio $(kamailio_version)"

rows() {
    echo "BEGIN;"
    for i in $(seq 1 "$DOCS"); do
        echo "INSERT INTO xcap (username, domain, doc, doc_type, etag, source, doc_uri, port) VALUES ('u$i', '127.0.0.1', '<ruleset/>', 2, 'e1', 1, 'http://127.0.0.1:$dead/xcap-root/pres-rules/users/sip:u$i@127.0.0.1/index', $dead);"
    done
    echo "COMMIT;"
}

# ticks log: the tick times (seconds) logged, one a line.
ticks() { sed -n 's/.*TICK \([0-9.]*\)$/\1/p' "$1"; }

printf '\n| xcap_client | ticks in %s s (expected ~%s) | longest gap between ticks (s) | connection attempts to the dead server |\n|---|---|---|---|\n' "$DURATION" "$DURATION"
for name in $SERVERS; do
    d=$work/$name
    mkdir -p "$d"
    create_sql | sqlite3 "$d/kamailio.db"
    rows | sqlite3 "$d/kamailio.db"
    args=()
    [ "$name" = stock ] && args=(-A STOCK_XCAP_CLIENT)
    fill_cfg test-configs/xcap-client-dead-host.cfg "$d/kamailio.cfg" SIP_PORT="$(free_port)" MODDIR="$work/modules" \
        CTL="$d/ctl.sock" DB_URL="sqlite:///$d/kamailio.db" QUERY_PERIOD="$QUERY_PERIOD" DEAD_PORT="$dead"
    start_kamailio "$name" "$d" "${args[@]}"
    wait_started "$name" ""
    start=$(date +%s.%N)
    sleep "$DURATION"
    still_alive "$name" "during the run"
    end=$(date +%s.%N)
    stop_pid "${PID[$name]}" group
    unset 'PID[$name]'
    gap=$( (ticks "$d/kamailio.log"; echo "$end") | awk -v start="$start" '$1 >= start { if (prev) { g = $1 - prev; if (g > max) max = g } prev = $1 } END { printf "%.1f", max }')
    n=$(ticks "$d/kamailio.log" | awk -v start="$start" '$1 >= start' | wc -l)
    if [ "$name" = ours ]; then
        attempts=$(grep -c "XCAP server http://127.0.0.1:$dead did not answer" "$d/kamailio.log" || true)
        skipped=$(grep -c "document(s) of http://127.0.0.1:$dead skipped" "$d/kamailio.log" || true)
        what="$attempts (passes that skipped the server's documents: $skipped)"
    else
        what="one per document, each up to the kernel's SYN retries (libcurl's default connect timeout is 300 s)"
    fi
    printf '| %s | %s | %s | %s |\n' "$(label "$name")" "$n" "$gap" "$what"
done
