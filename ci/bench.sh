#!/usr/bin/env bash
# Runs every benchmark of the repository one after another, each comparing our modules with
# the stock C modules of the target Kamailio in the same run, alternating in rounds as they do
# on their own: ci/bench-xcap-server.sh (with PG=1 unless PG=0), ci/bench-xcap-spread.sh,
# ci/bench-presence-xml.sh, ci/bench-pua.sh,
# ci/bench-xcapdiff.sh, ci/bench-xcap-nodes.sh. Then sums them up in target/bench/:
#   report.md     for every load: ours, stock, ours/stock, the ratio stated so that > 1 means
#                 ours is better (throughput as is, CPU per request, memory and losses as
#                 stock/ours) and the spread of the per-round ratios (min–max); the Kamailio
#                 version, the date and the machine;
#   ratios.png    a horizontal bar chart of those better-is-higher ratios, a line at 1.0
#                 (matplotlib: installed with apt-get, python3-matplotlib, when missing);
#   bench-<name>.md, .tsv, .log   each benchmark's own Markdown table, its machine-readable
#                 rows (ci/bench-lib.sh's tsv_row) and its output.
# A benchmark that fails is named in the report (with the tail of its log) and the others run.
#
# Environment: QUICK=1 (ROUNDS=2 and short runs: about 6 minutes on 2 cores, for a look, not
# for numbers to quote), ROUNDS (passed to every benchmark; their defaults otherwise),
# KAMAILIO_TARGET (5.6, the default, or 6.0: both servers of every benchmark run that
# Kamailio), BENCHES (the benchmarks to run, default "xcap-server xcap-spread presence-xml pua xcapdiff
# xcap-nodes"), BENCH_DIR (default target/bench), REPORT_ONLY=1 (writes the report and the
# chart again from the last run's files, runs nothing), and whatever the single benchmarks take
# (DURATION, PG=1, DBS, ...), passed through. Takes about 30 minutes without QUICK (the
# scripts' own estimates).
set -uo pipefail
. "$(dirname "$0")/bench-lib.sh" # (also: cd to the repository root, top=$PWD; KAMAILIO_TARGET set-up)

benches=${BENCHES:-"xcap-server xcap-spread presence-xml pua xcapdiff xcap-nodes"}
out_dir=${BENCH_DIR:-"$top/target/bench"}
quick=${QUICK:-0}
mkdir -p "$out_dir"

# quick_env name: the settings of QUICK=1 for a benchmark (what the environment sets wins).
quick_env() {
    echo "ROUNDS=${ROUNDS:-2}"
    case $1 in
        xcap-server | xcap-spread | xcapdiff) echo "DURATION=${DURATION:-3}" "WARMUP=${WARMUP:-1}" ;;
        presence-xml) echo "PUB_CALLS=${PUB_CALLS:-1500}" "SUB_CALLS=${SUB_CALLS:-1000}" "AGG_CALLS=${AGG_CALLS:-500}" ;;
        pua) echo "N_INIT=${N_INIT:-6000}" "N_MOD=${N_MOD:-6000}" "SHM_RECORDS=${SHM_RECORDS:-2000}" "CYCLES=${CYCLES:-10000}" ;;
        xcap-nodes) echo "ROUNDS_RACE=${ROUNDS_RACE:-30}" "ELEM_ROUNDS=${ELEM_ROUNDS:-2}" "DURATION=${DURATION:-3}" ;;
    esac
}

# runs.tsv: one line per benchmark: name, status (ok / failed (exit n)), seconds, settings.
t_all=$(date +%s)
benches_run=$benches
if [ "${REPORT_ONLY:-}" = 1 ]; then benches_run=; else : >"$out_dir/runs.tsv"; fi
for name in $benches_run; do
    script="ci/bench-$name.sh"
    [ -f "$script" ] || die "no benchmark $script (BENCHES)"
    settings=()
    if [ "$quick" = 1 ]; then read -r -a settings <<<"$(quick_env "$name" | tr '\n' ' ')"
    elif [ -n "${ROUNDS:-}" ]; then settings=("ROUNDS=$ROUNDS"); fi
    # The XCAP loads on PostgreSQL too, unless PG=0.
    [ "$name" = xcap-server ] && settings+=("PG=${PG:-1}")
    rm -f "$out_dir/bench-$name.md" "$out_dir/bench-$name.tsv"
    echo "bench: $name${settings[*]:+ (${settings[*]})}, output in ${out_dir#"$top"/}/bench-$name.log" >&2
    t0=$(date +%s)
    rc=0
    env "${settings[@]}" OUT="$out_dir/bench-$name.md" TSV="$out_dir/bench-$name.tsv" \
        bash "$script" >"$out_dir/bench-$name.log" 2>&1 </dev/null || rc=$?
    secs=$(($(date +%s) - t0))
    status=ok
    [ "$rc" = 0 ] || status="failed (exit $rc)"
    [ "$rc" = 0 ] && [ ! -f "$out_dir/bench-$name.tsv" ] && status="no results"
    printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$secs" "${settings[*]:-defaults}" >>"$out_dir/runs.tsv"
    echo "bench: $name: $status after $secs s" >&2
    [ "$rc" = 0 ] || tail -n 15 "$out_dir/bench-$name.log" | sed 's/^/    /' >&2
done
total_s=$(($(date +%s) - t_all))

# ---------------------------------------------------------------- report and chart
# Debian's python3-matplotlib is for Debian's python3 (the python3 on PATH may be another).
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
if ! "$py" -c 'import matplotlib' 2>/dev/null; then
    echo "bench: installing python3-matplotlib for the chart" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib >&2 ||
        { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib >&2; } ||
        echo "bench: python3-matplotlib could not be installed; no chart" >&2
fi

mode="ROUNDS=${ROUNDS:-default}"
[ "$quick" = 1 ] && mode="QUICK=1 (ROUNDS=${ROUNDS:-2}, short runs: indicative only)"
host=$(host_line)
# run.txt: the run's duration, machine line (with the date) and mode, for REPORT_ONLY=1.
if [ "${REPORT_ONLY:-}" = 1 ]; then
    { read -r total_s; read -r host; read -r mode; } <"$out_dir/run.txt" || die "no ${out_dir#"$top"/}/run.txt of a run"
else
    printf '%s\n%s\n%s\n' "$total_s" "$host" "$mode" >"$out_dir/run.txt"
fi
"$py" - "$out_dir" "$(kamailio_version)" "$KAMAILIO_TARGET" "$host" "$mode" "$total_s" "$benches" <<'EOF'
import math, os, sys

out_dir, kam_version, target, host, mode, total_s, benches = sys.argv[1:8]
benches = benches.split()
TITLES = {
    "xcap-server": ("xcap_server: XCAP GET and PUT of one document", "ci/bench-xcap-server.sh"),
    "xcap-spread": ("xcap_server: XCAP GET, and PUTs spread over many users' documents", "ci/bench-xcap-spread.sh"),
    "presence-xml": ("presence_xml: PUBLISH, SUBSCRIBE dialogs, NOTIFY bodies", "ci/bench-presence-xml.sh"),
    "pua": ("pua: PUBLISH loads and shm per record", "ci/bench-pua.sh"),
    "xcapdiff": ("presence_xcapdiff: what publishing xcap-diff costs a PUT", "ci/bench-xcapdiff.sh"),
    "xcap-nodes": ("xcap_server on three nodes sharing one database", "ci/bench-xcap-nodes.sh"),
}
SHORT = {"xcap-server": "xcap", "xcap-spread": "xcap spread", "presence-xml": "presence_xml", "pua": "pua", "xcapdiff": "xcapdiff", "xcap-nodes": "nodes"}
NOT_VS_STOCK = {"xcapdiff"}  # ours with publish_xcapdiff=1 against ours with 0
NOTES = {
    "xcap-server": "2xx/s counts 2xx answers only; the CPU per request counts every request, 2xx or not, and the stock "
                   "module answers most concurrent PUTs on SQLite with 500 (\"database is locked\"), which cost little: "
                   "for PUT, compare 2xx/s (the own table lists req/s and 2xx/s).",
    "xcap-spread": "As above, with the PUTs spread over many users' documents (PUT_DOCS) from fewer clients.",
    "xcap-nodes": "The races' counts come from one run each (lower is better; ∞: ours lost none where stock lost some), "
                  "the throughput is ours only (one node against three): none of them is in the chart.",
}

runs = {}
for line in open(os.path.join(out_dir, "runs.tsv"), encoding="utf-8"):
    name, status, secs, settings = line.rstrip("\n").split("\t")
    runs[name] = (status, int(secs), settings)

def num(v):
    try:
        return float(v)
    except ValueError:
        return None

def fmt(x):
    if x is None:
        return "–"
    if math.isinf(x):
        return "∞"
    return f"{x:.2f}"

def better(ratio, hib, ours, stock):
    """The ratio stated so that > 1 means ours is better (None: not defined)."""
    if ratio is None:
        if stock == 0 and ours == 0:
            return 1.0  # both none (e.g. no lost entries on either)
        return None
    if hib:
        return ratio
    return math.inf if ratio == 0 else 1 / ratio

rows = {}  # bench -> list of dicts
for b in benches:
    path = os.path.join(out_dir, f"bench-{b}.tsv")
    rows[b] = []
    if not os.path.exists(path):
        continue
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        load, ours, stock, unit, ratio, hib, lo, hi = line.rstrip("\n").split("\t")
        hib = hib == "1"
        o, s, r, lo, hi = num(ours), num(stock), num(ratio), num(lo), num(hi)
        bt = better(r, hib, o, s)
        if lo is not None and hi is not None:
            blo, bhi = (lo, hi) if hib else ((1 / hi if hi > 0 else math.inf), (1 / lo if lo > 0 else math.inf))
        else:
            blo = bhi = None
        rows[b].append(dict(load=load, ours=ours, stock=stock, unit=unit, ratio=r, hib=hib, better=bt, lo=blo, hi=bhi))

md = []
md.append("# Benchmarks: our modules against the stock C modules")
md.append("")
md.append(f"Kamailio {kam_version} (KAMAILIO_TARGET={target}); {host}; {mode}; "
          f"all benchmarks took {int(total_s) // 60} min {int(total_s) % 60} s. Generated by `ci/bench.sh`.")
md.append("")
md.append("Every benchmark runs our modules and the stock ones in the same Kamailio version on this machine, "
          "in alternating rounds; values are medians over the rounds. **ratio** is stated so that **> 1 means ours is "
          "better**: for a throughput it is ours/stock, for a cost (CPU per request, memory per record, lost entries) "
          "stock/ours; the column *ratio is* says which. *per-round spread* is the min–max of the same ratio "
          "computed round by round (ours and stock of one round ran back to back); – where the measure is a single run. "
          "The chart `ratios.png` shows the ratios.")
md.append("")
md.append("| benchmark | status | time | settings |")
md.append("|---|---|---:|---|")
for b in benches:
    st, secs, settings = runs.get(b, ("not run", 0, ""))
    md.append(f"| {b} | {st} | {secs // 60} min {secs % 60:02d} s | {settings} |")
md.append("")

for b in benches:
    title, script = TITLES.get(b, (b, f"ci/bench-{b}.sh"))
    md.append(f"## {title}")
    md.append("")
    st = runs.get(b, ("not run",))[0]
    if not rows[b]:
        md.append(f"`{script}`: {st}; no results. The end of its output (`bench-{b}.log`):")
        md.append("")
        md.append("```")
        log = os.path.join(out_dir, f"bench-{b}.log")
        if os.path.exists(log):
            md.extend(l.rstrip("\n") for l in open(log, encoding="utf-8", errors="replace").readlines()[-15:])
        md.append("```")
        md.append("")
        continue
    col_o, col_s = ("publish_xcapdiff=1", "publish_xcapdiff=0") if b in NOT_VS_STOCK else ("ours", "stock")
    md.append(f"`{script}`, its own table: [`bench-{b}.md`](bench-{b}.md).")
    if b in NOT_VS_STOCK:
        md.append("Not ours against stock: our modules with `publish_xcapdiff=1` against the same with 0 "
                  "(the cost of publishing; the aim is a PUT throughput ratio ≥ 0.80).")
    if b in NOTES:
        md.append(NOTES[b])
    md.append("")
    md.append(f"| load | unit | {col_o} | {col_s} | ratio is | ratio (> 1: {col_o} better) | per-round spread |")
    md.append("|---|---|---:|---:|---|---:|---|")
    for r in rows[b]:
        if r["stock"] == "-":
            how, rat = "– (ours only)", "–"
        else:
            how = f"{col_o}/{col_s} (higher is better)" if r["hib"] else f"{col_s}/{col_o} (lower is better)"
            rat = fmt(r["better"])
            if r["better"] is not None and not math.isinf(r["better"]):
                rat = f"**{rat}**"
            if r["ratio"] is None and r["better"] == 1.0:
                rat += " (both 0)"
            elif r["better"] is not None and math.isinf(r["better"]):
                rat += f" (ours 0)"
        spread = f"{fmt(r['lo'])}–{fmt(r['hi'])}" if r["lo"] is not None else "–"
        md.append(f"| {r['load']} | {r['unit']} | {r['ours']} | {r['stock']} | {how} | {rat} | {spread} |")
    md.append("")

# The chart: every finite ratio of a load with a stock value.
bars = []
for b in benches:
    for r in rows[b]:
        if r["stock"] == "-" or r["better"] is None or math.isinf(r["better"]) or (r["ratio"] is None):
            continue
        bars.append((f"{SHORT.get(b, b)}: {r['load']}", r["better"], r["lo"], r["hi"], b in NOT_VS_STOCK))
left_out = [f"{SHORT.get(b, b)}: {r['load']}" for b in benches for r in rows[b]
            if r["stock"] != "-" and (r["better"] is None or math.isinf(r["better"]) or r["ratio"] is None)]
png = os.path.join(out_dir, "ratios.png")
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    if os.path.exists(png):
        os.remove(png)
    if bars:
        bars.reverse()  # the first load at the top
        fig, ax = plt.subplots(figsize=(10, 0.36 * len(bars) + 1.6))
        y = range(len(bars))
        vals = [v for _, v, _, _, _ in bars]
        colors = ["#9e9e9e" if nvs else ("#2e7d32" if v >= 1 else "#c62828") for _, v, _, _, nvs in bars]
        his = [h for *_, h, _ in bars if h is not None and not math.isinf(h)]
        los = [l for _, _, l, _, _ in bars if l is not None and l > 0]
        top, bottom = max(vals + his), min(vals + los)
        log = top / max(bottom, 1e-9) > 8  # a wide range: a log scale, bars from 1.0
        if log:
            ax.set_xscale("log")
            ax.barh(list(y), [v - 1 for v in vals], left=1, color=colors, height=0.7)
        else:
            ax.barh(list(y), vals, color=colors, height=0.7)
        for i, (_, v, lo, hi, _) in enumerate(bars):
            if lo is not None and hi is not None and not math.isinf(hi):
                ax.plot([lo, hi], [i, i], color="black", linewidth=1)
                ax.plot([lo, lo], [i - 0.15, i + 0.15], color="black", linewidth=1)
                ax.plot([hi, hi], [i - 0.15, i + 0.15], color="black", linewidth=1)
            right = max(v, hi if hi is not None and not math.isinf(hi) else v)
            left = min(v, lo if lo is not None else v)
            if log and v < 1:
                ax.text(left / 1.04, i, f"{v:.2f}", va="center", ha="right", fontsize=8)
            elif log:
                ax.text(right * 1.04, i, f"{v:.2f}", va="center", fontsize=8)
            else:
                ax.text(right + top * 0.01, i, f"{v:.2f}", va="center", fontsize=8)
        ax.axvline(1.0, color="black", linestyle="--", linewidth=1)
        ax.set_yticks(list(y))
        ax.set_yticklabels([l for l, *_ in bars], fontsize=8)
        if log:
            ax.set_xlim(min(bottom, 1) / 1.6, max(top, 1) * 1.6)
        else:
            ax.set_xlim(0, max(top, 1) * 1.12 + 0.05)
        ax.set_xlabel("ratio, > 1: ours better (throughput ours/stock; CPU, memory stock/ours); bars: per-round min–max" + ("; log scale" if log else ""))
        ax.set_title(f"Ours vs stock, Kamailio {kam_version}; {host.split('; ')[-1]}"
                     + ("; QUICK run" if mode.startswith("QUICK") else ""), fontsize=10, pad=22)
        from matplotlib.patches import Patch
        handles = [Patch(color="#2e7d32", label="ours better"), Patch(color="#c62828", label="stock better")]
        if any(nvs for *_, nvs in bars):
            handles.append(Patch(color="#9e9e9e", label="xcapdiff: publish_xcapdiff 1 vs 0 (not vs stock)"))
        ax.legend(handles=handles,
                      loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, frameon=False)
        fig.tight_layout()
        fig.savefig(png, dpi=110, bbox_inches="tight")
        md.append(f"![ratios](ratios.png)")
        md.append("")
        if left_out:
            md.append("Not in the chart (no finite ratio): " + "; ".join(left_out) + ".")
            md.append("")
except ImportError:
    md.append("No chart: python3-matplotlib is missing.")
    md.append("")

open(os.path.join(out_dir, "report.md"), "w", encoding="utf-8").write("\n".join(md))
print("\n".join(md))
EOF
echo "bench: written ${out_dir#"$top"/}/report.md$([ -f "$out_dir/ratios.png" ] && echo " and ${out_dir#"$top"/}/ratios.png")" >&2
grep -q $'\tok\t' "$out_dir/runs.tsv" && ! grep -qv $'\tok\t' "$out_dir/runs.tsv"
