#!/usr/bin/env bash
# Counts the instructions an XCAP PUT costs the whole Kamailio with publish_xcapdiff 0 and 1:
# test-configs/xcapdiff-publish.cfg -A PROFILE (one worker of each kind, HTTP keep-alive) run
# under `valgrind --tool=callgrind`, which follows Kamailio's forks (one profile per process,
# written at exit; callgrind_control reaches only the main process, not the forked ones). A
# SIPp client is subscribed to alice's xcap-diff. Per mode, two runs: WARMUP PUTs, a pause,
# then PUTS sequential PUTs of the ~1 KB resource-lists document of ci/bench-xcapdiff.sh over
# one connection (curl) and SETTLE seconds for what waits to be published (the 1 s timer);
# then the same without the PUTs, pausing as long. Per process and per PUT: (first run -
# second run) / PUTS. Instruction counts do not depend on what else the machine runs (the
# number of PUBLISHes does: pacing is by wall-clock time, and valgrind is slow). Reports
# every process, the total, own instructions per shared object, inclusive costs of the
# functions that matter in the HTTP worker, and the SIP transactions tm made meanwhile (a
# PUBLISH is 3: pua's, presence's, the NOTIFY).
#
# Environment: PUTS (default 100), WARMUP (default 20), SETTLE (default 3), MODES ("0 1"),
# NO_BUILD=1, KEEP=1 (keep the work directory with the profiles). Output also in
# target/callgrind-xcapdiff.md. Uses target/release's modules (built unless NO_BUILD=1).
# Takes about 3 minutes.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh" # (also: cd to the repository root, top=$PWD)
puts=${PUTS:-100}
warmup=${WARMUP:-20}
settle=${SETTLE:-3}
modes=${MODES:-"0 1"}
modules=(xcap_server pua presence_xml presence_xcapdiff)

# valgrind runs the host's binary; Debian 13's Kamailio would need it inside its root.
[ "$KAMAILIO_TARGET" = 5.6 ] || die "callgrind profiles run on Kamailio 5.6 only (KAMAILIO_TARGET=$KAMAILIO_TARGET)"
need_tools kamailio kamcmd valgrind callgrind_annotate sqlite3 curl sipp python3
make_work /tmp/callgrind-xcapdiff
build_release "${modules[@]}"
copy_modules "${modules[@]}"

doc="$work/index.xml"
xcapdiff_doc "$doc"
path="/xcap-root/resource-lists/users/sip:alice@127.0.0.1/index"
ctype="application/resource-lists+xml"

# put_n url n: n sequential PUTs over one keep-alive connection; dies unless all are 2xx.
put_n() {
    local url=$1 n=$2 args=() codes
    for _ in $(seq "$n"); do args+=("$url"); done
    codes=$(curl -s -o /dev/null -w '%{http_code}\n' -X PUT -H "Content-Type: $ctype" --data-binary "@$doc" "${args[@]}")
    [ "$(grep -c '^20[01]$' <<<"$codes")" = "$n" ] || die "not every PUT succeeded: $(sort <<<"$codes" | uniq -c | tr '\n' ' ')"
}

# tm_total ctl: transactions tm created so far.
tm_total() { kamcmd -s "unix:$1" tm.stats | awk '$1 == "created:" { print $2 }'; }

# Function patterns reported for the HTTP worker (inclusive, per PUT).
parts='xcap_server::module::xcaps$|xcap_server::handler::handle$|xcap_server::module::publish_change|xcap_server::xcapdiff_publish::|xcap_server::xcapdiff::|xcap_server::store::list$|pua::.*send_publish|^send_publish$|^tcp_read_req$|^receive_msg$|^t_uac'

# run mode name n idle: a server with publish_xcapdiff=mode: WARMUP PUTs, a pause, n PUTs (or,
# with n=0, a pause of idle seconds instead), SETTLE seconds, then stopped; its profiles (one
# per process, written at exit) in $work/p<mode>-<name>, with procs.tsv (pid, description).
# Writes the seconds the n PUTs took to its secs file.
run() {
    local mode=$1 name=$2 n=$3 idle=$4 d="$work/p$1-$2" sip http kpid url t0 t1 args=(-A PROFILE)
    mkdir -p "$d"
    for db in kamailio presence; do
        create_sql | sqlite3 "$d/$db.db"
        sqlite3 "$d/$db.db" "PRAGMA journal_mode=WAL;" >/dev/null
    done
    read -r sip http <<<"$(free_ports 2)"
    fill_cfg test-configs/xcapdiff-publish.cfg "$d/kamailio.cfg" SIP_PORT="$sip" HTTP_PORT="$http" MODDIR="$work/modules" \
        CTL="$d/ctl.sock" DB_URL="sqlite:///$d/kamailio.db" PRESENCE_DB_URL="sqlite:///$d/presence.db" DEAD_PORT=0
    sed -i '/set_reply_close();/d; /set_reply_no_connect();/d' "$d/kamailio.cfg"
    [ "$mode" = 0 ] && args+=(-A NO_XCAPDIFF_PUBLISH)
    setsid valgrind --tool=callgrind --callgrind-out-file="$d/cg.%p" \
        kamailio -f "$d/kamailio.cfg" -DD -E -w "$d" -Y "$d" "${args[@]}" </dev/null >"$d/kamailio.log" 2>&1 &
    kpid=$!
    PID[cg]=$kpid # (stopped by the EXIT trap if this run does not get to stop it)
    url="http://127.0.0.1:$http$path"
    for _ in $(seq 600); do
        curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$http/" && kamcmd -s "unix:$d/ctl.sock" core.uptime >/dev/null 2>&1 && break
        kill -0 "$kpid" 2>/dev/null || { tail -n 30 "$d/kamailio.log" >&2; die "publish_xcapdiff=$mode: Kamailio died"; }
        sleep 0.2
    done
    sipp -sf test-configs/sipp/xcapdiff-watcher.xml -i 127.0.0.1 -p "$(free_port)" -m 1 -nostdin \
        -key watcher alice-phone -key presentity alice "127.0.0.1:$sip" </dev/null >"$d/sipp.log" 2>&1 &
    UAS_PID[cg]=$!
    put_n "$url" "$warmup"
    sleep "$settle"
    kamcmd -s "unix:$d/ctl.sock" core.psx | awk '$1 == "PID:" {pid = $2} $1 == "DSC:" { $1 = ""; print pid "\t" substr($0, 2) }' >"$d/procs.tsv"
    tm_total "$d/ctl.sock" >"$d/tm0"
    t0=$(date +%s.%N)
    if [ "$n" -gt 0 ]; then put_n "$url" "$n"; else sleep "$idle"; fi
    t1=$(date +%s.%N)
    sleep "$settle"
    tm_total "$d/ctl.sock" >"$d/tm1"
    stop_pid "${UAS_PID[cg]}"
    # Under valgrind every process writes its profile at exit: up to 30 s before the KILL.
    kill -TERM -- "-$kpid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$kpid" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$kpid" group
    unset 'PID[cg]' 'UAS_PID[cg]'
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }' >"$d/secs"
}

report="$work/report.md"
echo "$puts sequential keep-alive PUTs of a $(stat -c %s "$doc")-byte resource-lists document to alice (one SIPp xcap-diff watcher subscribed), after $warmup of warm-up, then ${settle} s for what waits to go out; per PUT: (run with the PUTs - run with a pause as long instead) / $puts, from each process's instructions at exit; Kamailio $(kamailio -v 2>/dev/null | awk 'NR==1 {print $3}') with test-configs/xcapdiff-publish.cfg -A PROFILE under callgrind; $(date -u '+%Y-%m-%d %H:%M UTC')." >"$report"

for mode in $modes; do
    run "$mode" puts "$puts" 0
    run "$mode" idle 0 "$(cat "$work/p$mode-puts/secs")"
    python3 - "$work/p$mode-puts" "$work/p$mode-idle" "$puts" "$mode" "$parts" >>"$report" <<'PY'
import glob, os, re, subprocess, sys
puts_dir, idle_dir, n, mode, parts = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], re.compile(sys.argv[5])

def procs(d):
    """description -> total instructions, and description -> profile file."""
    tot, files = {}, {}
    for line in open(os.path.join(d, "procs.tsv")):
        pid, dsc = line.rstrip("\n").split("\t", 1)
        dsc = re.sub(r" sock=\S+", "", dsc)  # (the ports differ between the runs)
        f = os.path.join(d, "cg.%s" % pid)
        if not os.path.exists(f):
            continue
        for l in open(f, errors="replace"):
            if l.startswith(("summary:", "totals:")):
                tot[dsc] = int(l.split()[1])
                break
        files[dsc] = f
    return tot, files

def inclusive(f):
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", f], capture_output=True, text=True).stdout
    costs = {}
    for l in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.*)", l)
        if not m or m.group(2).startswith(("=>", "<", "*")):
            continue
        name = m.group(2).split(" [")[0]
        name = re.sub(r"^[^:]*:", "", name, count=1) if name.startswith("???:") or ".rs:" in name.split(" ")[0] or ".c:" in name.split(" ")[0] else name
        # (a function listed under several source files: the same inclusive cost each time)
        costs[name] = max(costs.get(name, 0), int(m.group(1).replace(",", "")))
    return costs

def by_object(f):
    """Self cost per shared object (file name) of one profile."""
    out = subprocess.run(["callgrind_annotate", "--auto=no", "--threshold=100", f], capture_output=True, text=True).stdout
    costs = {}
    for l in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+(.*)", l)
        if not m or "PROGRAM TOTALS" in l:
            continue
        o = re.search(r"\[([^\]]+)\]\s*$", m.group(2))
        obj = os.path.basename(o.group(1)) if o else "(unknown)"
        costs[obj] = costs.get(obj, 0) + int(m.group(1).replace(",", ""))
    return costs

bp, bf = procs(puts_dir)
ip, _ = procs(idle_dir)
tm = lambda d: int(open(os.path.join(d, "tm1")).read() or 0) - int(open(os.path.join(d, "tm0")).read() or 0)
print("\n### publish_xcapdiff=%s\n" % mode)
print("SIP transactions tm created during the PUTs: %d (%.2f per PUT); without PUTs: %d.\n" % (tm(puts_dir), tm(puts_dir) / n, tm(idle_dir)))
print("| process | instructions / PUT |\n|---|---:|")
total = 0
for dsc in bp:
    d = (bp[dsc] - ip.get(dsc, 0)) / n
    total += d
    if abs(d) >= 1000:
        print("| %s | %.0fk |" % (dsc, d / 1000))
print("| **all processes** | **%.0fk** |\n" % (total / 1000))
_, ifiles = procs(idle_dir)
objs = {}
for dsc, f in bf.items():
    for o, c in by_object(f).items():
        objs[o] = objs.get(o, 0) + c
    if dsc in ifiles:
        for o, c in by_object(ifiles[dsc]).items():
            objs[o] = objs.get(o, 0) - c
print("All processes, own instructions per shared object, per PUT: " + ", ".join("%s %.0fk" % (o, c / n / 1000) for c, o in sorted(((c, o) for o, c in objs.items()), reverse=True) if abs(c / n) >= 2000) + ".\n")
worker = next((d for d in bf if d.startswith("tcp receiver")), None)
if worker:
    b = inclusive(bf[worker])
    _, idf = procs(idle_dir)
    i = inclusive(idf[worker]) if worker in idf else {}
    print("HTTP worker (%s), inclusive per PUT (callgrind_annotate --inclusive=yes), functions that matter:\n" % worker)
    rows = sorted(((b[k] - i.get(k, 0)) / n, k) for k in b if parts.search(k))
    for c, k in reversed(rows):
        if c >= 1000:
            print("- %.0fk `%s`" % (c / 1000, k[:150]))
PY
done

mkdir -p target
cp "$report" target/callgrind-xcapdiff.md
cat "$report"
