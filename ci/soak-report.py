#!/usr/bin/python3
"""ci/soak.sh's report: reads the run's facts (run.json), the samples (t, phase, series, value)
and the HTTP client's counts; writes the Markdown report and the PNG plot; exits 1 when the
verdict fails (errors, crashes, memory not flat once warm, tables not bounded by what is live).

Series: "shm used" (core.shmmem real_used), "pkg <pid>" (pkg.stats real_used), "rss <pid>"
(VmRSS), "heap <pid>" (RssAnon: private memory, what malloc holds), "cpu ticks" (the process group's utime+stime), "rows <table>". Phases: load (the
load runs), drain (it has ended, records expire), final (the last sample).

Slopes are least squares over the load samples taken at or after the warm-up. A memory series
is flat when its slope times that span is at most max(MEM_TOL_KB, MEM_TOL_PCT % of the series'
mean there, twice the residuals' standard deviation), and its final value (after the drain,
when every record has expired and gone) is at most MEM_TOL_KB above its first (before the load);
a process's private memory (heap) is judged on its slope only, since malloc keeps memory it
was given back. The machine-readable verdict is the line `verdict: PASS|FAIL`
and the lines `figure: <name> <value>` near the top of the Markdown file.
"""
import argparse
import json
import math
import os
import re
import time

ap = argparse.ArgumentParser()
ap.add_argument("--run", required=True)
ap.add_argument("--samples", required=True)
ap.add_argument("--client", required=True)
ap.add_argument("--client-errors")
ap.add_argument("--log-errors")
ap.add_argument("--procs")
ap.add_argument("--sipp-errors", nargs="*", default=[])
ap.add_argument("--md", required=True)
ap.add_argument("--png", required=True)
a = ap.parse_args()

run = json.load(open(a.run))
try:
    client = json.load(open(a.client))
except (OSError, ValueError):
    client = {"errors": -1, "counts": {}}
procs = {}
if a.procs and os.path.exists(a.procs):
    for line in open(a.procs):
        pid, _, desc = line.rstrip("\n").partition("\t")
        procs[pid] = desc

series = {}  # name -> [(t, phase, value)]
with open(a.samples) as f:
    next(f)
    for line in f:
        t, phase, name, value = line.rstrip("\n").split("\t")
        try:
            series.setdefault(name, []).append((float(t), phase, float(value)))
        except ValueError:
            pass

warmup = run["warmup"]
tol_kb = run["mem_tol_kb"]
tol_pct = run["mem_tol_pct"]


def warm(name):
    return [(t, v) for t, ph, v in series.get(name, []) if ph == "load" and t >= warmup]


def slope(points):
    """Least-squares slope (per second) of [(t, v)]; None with fewer than 3 points."""
    if len(points) < 3:
        return None
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    if den == 0:
        return None
    return sum((t - mt) * (v - mv) for t, v in points) / den


def fmt_kb(b):
    return f"{b / 1024:,.1f}"


failures = []
figures = {}

# ---------------------------------------------------------------- memory
mem_rows = []
mem_ok = True


def judge(name, label, after_drain=True):
    global mem_ok
    pts = warm(name)
    s = slope(pts)
    if s is None:
        mem_rows.append(f"| {label} | - | - | - | - | - | - | too few samples after the warm-up |")
        failures.append(f"{label}: too few samples after the warm-up ({len(pts)})")
        mem_ok = False
        return
    span = pts[-1][0] - pts[0][0]
    mean = sum(v for _, v in pts) / len(pts)
    t0 = pts[0][0]
    intercept = mean - s * (sum(t for t, _ in pts) / len(pts))
    sigma = math.sqrt(sum((v - (intercept + s * t)) ** 2 for t, v in pts) / max(1, len(pts) - 2))
    growth = s * span
    # Growth beyond the noise: the records alive at a moment make the series swing (sigma, the
    # residuals' standard deviation); only a trend above twice that counts.
    tol = max(tol_kb * 1024, tol_pct / 100 * mean, 2 * sigma)
    ok = growth <= tol
    if not ok:
        mem_ok = False
        failures.append(f"{label}: grew {fmt_kb(growth)} KB over {span:.0f} s after the warm-up (tolerance {fmt_kb(tol)} KB)")
    # What stays once everything expired and was removed (the final sample, after the drain)
    # against the first sample, before the load.
    allpts = series.get(name, [])
    before = allpts[0][2] if allpts else float("nan")
    final = [v for _, ph, v in allpts if ph == "final"]
    retained = (final[-1] - before) if final else float("nan")
    rok = not after_drain or (not math.isnan(retained) and retained <= tol_kb * 1024)
    if not rok:
        mem_ok = False
        failures.append(f"{label}: {fmt_kb(retained)} KB more after the drain than before the load (tolerance {tol_kb} KB)")
    vals = [v for _, v in pts]
    mem_rows.append(
        f"| {label} | {fmt_kb(before)} | {fmt_kb(min(vals))}–{fmt_kb(max(vals))} | {s * 60 / 1024:+.2f} | "
        f"{growth / 1024:+.1f} (tolerance {fmt_kb(tol)}) | {'-' if not final else fmt_kb(final[-1])} | "
        f"{f'{retained / 1024:+.1f}' if after_drain else 'not judged'} | "
        f"{'flat' if ok and rok else 'GROWS'} |"
    )
    return s


def proc_label(pid):
    return f"pkg {pid} ({procs.get(pid, '?')})"


shm_slope = judge("shm used", "shm in use")
figures["shm_slope_kb_per_min"] = round(shm_slope * 60 / 1024, 3) if shm_slope is not None else "n/a"
pkg_names = sorted((n for n in series if n.startswith("pkg ")), key=lambda n: int(n.split()[1]))
worst_pkg = 0.0
for n in pkg_names:
    s = judge(n, proc_label(n.split()[1]))
    if s is not None:
        worst_pkg = max(worst_pkg, s)
figures["pkg_max_slope_kb_per_min"] = round(worst_pkg * 60 / 1024, 3)
heap_names = sorted((n for n in series if n.startswith("heap ")), key=lambda n: int(n.split()[1]))
worst_heap = 0.0
for n in heap_names:
    pid = n.split()[1]
    s = judge(n, f"private {pid} ({procs.get(pid, '?')})", after_drain=False)
    if s is not None:
        worst_heap = max(worst_heap, s)
figures["heap_max_slope_kb_per_min"] = round(worst_heap * 60 / 1024, 3) if heap_names else "n/a"

rss_rows = []
rss_names = sorted((n for n in series if n.startswith("rss ")), key=lambda n: int(n.split()[1]))
worst_rss = 0.0
for n in rss_names:
    pts = warm(n)
    s = slope(pts)
    pid = n.split()[1]
    if s is None:
        continue
    worst_rss = max(worst_rss, s)
    rss_rows.append(f"| {pid} ({procs.get(pid, '?')}) | {fmt_kb(pts[0][1])} | {fmt_kb(pts[-1][1])} | {s * 60 / 1024:+.2f} |")
figures["rss_max_slope_kb_per_min"] = round(worst_rss * 60 / 1024, 3)

# ---------------------------------------------------------------- tables
r = run["rates"]
# The longest a row can live (s): a publication of the SIPp load expires 30 s after its last
# PUBLISH (15 s into its life), a pua one 31 s after its refresh (10 s in); presence removes
# expired publications every 10 s. A dialog lasts at most 55 s (the scenario's limit), its
# row goes at the next write-back (10 s). pua drops a record 10 s after it ended, at its next
# timer run (15 s). +20% and 10 rows for the rates' jitter.
bounds = {
    "presentity": math.ceil(1.2 * (r["publish_lives"] * 55 + r["pua_lives"] * 51)) + 10,
    "active_watchers": math.ceil(1.2 * r["subscribe_dialogs"] * 65) + 10,
    "pua": math.ceil(1.2 * r["pua_lives"] * 76) + 10,
    "watchers": run["pairs"],
    "xcap": run["xcap_users"] + run["hot"],
}
final_expect = {"presentity": 0, "active_watchers": 0, "pua": 0, "xcap": run["live_docs"]}
table_rows = []
tables_ok = True
for tb in ["xcap", "presentity", "active_watchers", "watchers", "pua"]:
    name = "rows " + tb
    pts = warm(name)
    allpts = series.get(name, [])
    mx = max((v for t, _, v in allpts if t >= warmup), default=float("nan"))
    s = slope(pts)
    final = [v for _, ph, v in allpts if ph == "final"]
    final_v = final[-1] if final else (allpts[-1][2] if allpts else float("nan"))
    ok = not math.isnan(mx) and mx <= bounds[tb] and all(v >= 0 for _, _, v in allpts)
    if not ok:
        failures.append(f"{tb}: {mx:.0f} rows after the warm-up, bound {bounds[tb]}")
    exp = final_expect.get(tb)
    if exp is not None and final_v != exp:
        ok = False
        failures.append(f"{tb}: {final_v:.0f} rows after the drain, expected {exp}")
    if tb == "watchers" and final_v > bounds[tb]:
        ok = False
        failures.append(f"watchers: {final_v:.0f} rows after the drain, more than the {bounds[tb]} pairs")
    tables_ok &= ok
    figures[f"rows_max_{tb}"] = int(mx) if not math.isnan(mx) else -1
    figures[f"rows_final_{tb}"] = int(final_v) if not math.isnan(final_v) else -1
    table_rows.append(
        f"| {tb} | {mx:.0f} | {bounds[tb]} | {'-' if s is None else f'{s * 60:+.2f}'} | {final_v:.0f} | "
        f"{'= ' + str(exp) if exp is not None else '≤ ' + str(bounds[tb])} | {'ok' if ok else 'NOT BOUNDED'} |"
    )

# ---------------------------------------------------------------- errors, crashes, CPU
sipp = run["sipp"]
err_items = [
    ("XCAP and pua_rpc answers not as expected, HTTP failures (client)", client.get("errors", -1)),
    ("client exit status", run["client_exit"]),
    ("SIPp failed PUBLISH lives", sipp["publish"]["failed"]),
    ("SIPp failed SUBSCRIBE dialogs", sipp["watch"]["failed"]),
    ("SIPp messages outside any call (PUBLISH, SUBSCRIBE)", sipp["publish"]["out_of_call"] + sipp["watch"]["out_of_call"]),
    ("kamcmd failures while sampling", run["kamcmd_errors"]),
    ("ERROR/CRITICAL/BUG/ALERT lines in Kamailio's log (but the stock presence race below)", run["log_errors"]),
]
if run.get("load_overrun"):
    failures.append(f"the load did not end within {run['duration'] + 300} s: its clients fell behind and were stopped")
errors = 0
for label, n in err_items:
    if n != 0:
        errors += abs(n)
        failures.append(f"{label}: {n}")
for tag in ("publish", "watch"):
    if sipp[tag]["ok"] <= 0:
        errors += 1
        failures.append(f"SIPp {tag}: no successful call")
crashes = run["dead_processes"] + run["crash_lines"] + (0 if run["alive"] else 1)
if crashes:
    failures.append(f"crashes: {run['dead_processes']} processes gone, {run['crash_lines']} crash lines, main process {'alive' if run['alive'] else 'GONE'}")
figures["sipp_publish_ok"] = sipp["publish"]["ok"]
figures["sipp_watch_ok"] = sipp["watch"]["ok"]
figures["client_ok"] = sum(v for k, v in client.get("counts", {}).items() if k.startswith("ok:"))
figures["errors"] = errors
figures["crashes"] = crashes
figures["memory_flat"] = "yes" if mem_ok else "no"
figures["tables_bounded"] = "yes" if tables_ok else "no"

cpu = series.get("cpu ticks", [])
cpu_load = [(t, v) for t, ph, v in cpu if ph == "load"]
cpu_pct = 0.0
if len(cpu_load) >= 2 and cpu_load[-1][0] > cpu_load[0][0]:
    cpu_pct = (cpu_load[-1][1] - cpu_load[0][1]) / run["clk_tck"] / (cpu_load[-1][0] - cpu_load[0][0]) * 100
figures["kamailio_cpu_pct_of_one_core"] = round(cpu_pct, 1)

verdict = "PASS" if not failures else "FAIL"

# ---------------------------------------------------------------- plot
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 1, figsize=(11, 14), sharex=True)

    def draw(ax, names, scale, label_of, title, unit):
        for n in names:
            pts = series.get(n, [])
            if pts:
                ax.plot([p[0] / 60 for p in pts], [p[2] / scale for p in pts], marker=".", linewidth=1, label=label_of(n))
        ax.set_title(title)
        ax.set_ylabel(unit)
        ax.axvline(warmup / 60, color="grey", linestyle="--", linewidth=1)
        ax.axvline(run["duration"] / 60, color="grey", linestyle="-.", linewidth=1)
        ax.axvline(run["load_end"] / 60, color="black", linestyle=":", linewidth=1)
        ax.grid(True, alpha=0.3)
        if len(names) > 1:
            ax.legend(fontsize=7, ncol=2)

    draw(axes[0], ["shm used"], 1024 * 1024, lambda n: "shm in use", "shm in use (core.shmmem real_used)", "MiB")
    draw(axes[1], pkg_names, 1024, lambda n: f"{n.split()[1]} {procs.get(n.split()[1], '')[:28]}", "pkg in use per process (pkg.stats real_used)", "KiB")
    if heap_names:
        draw(axes[2], heap_names, 1024 * 1024, lambda n: f"{n.split()[1]} {procs.get(n.split()[1], '')[:28]}", "private memory per process (RssAnon)", "MiB")
    else:
        draw(axes[2], rss_names, 1024 * 1024, lambda n: f"{n.split()[1]} {procs.get(n.split()[1], '')[:28]}", "RSS per process (VmRSS)", "MiB")
    draw(axes[3], [f"rows {t}" for t in ["xcap", "presentity", "active_watchers", "watchers", "pua"]], 1, lambda n: n[5:], "table rows", "rows")
    axes[3].set_xlabel("minutes (dashed: end of the warm-up; dash-dot: no new load after SECONDS; dotted: the load has ended, then the drain)")
    fig.suptitle(f"soak: {run['modules']} modules, Kamailio {run['kamailio']}, {run['duration']} s at SCALE {run['scale']}: {verdict}")
    fig.tight_layout()
    fig.savefig(a.png, dpi=80)
    plt.close(fig)
    png_note = f"![series]({os.path.basename(a.png)})"
except Exception as e:  # the report still says what was measured
    failures.append(f"plot: {e}")
    verdict = "FAIL"
    png_note = f"(no plot: {e})"


# ---------------------------------------------------------------- Markdown
# SIPp's error file: events one after another, each starting with a date and a tab; these
# are not errors: the watcher's 1-s waits, SIPp's note on open files, its notes that it was
# late (a busy machine), and retransmissions reaching a call that has ended.
BENIGN = re.compile(r"jumping to label|Maximum number of open sockets|Overload warning|Dead call .* \(successful\)|The following events occurred")


def read_lines(path, n=10, sipp=False):
    if not path or not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        text = f.read()
    if not sipp:
        return text.splitlines()[:n]
    events = re.split(r"(?=\d{4}-\d\d-\d\d\t)", text)
    return [e.replace("\n", " ")[:300] for e in events if e.strip() and not BENIGN.search(e)][:n]


cc = client.get("counts", {})
lines = [
    f"# Soak: {run['modules']} modules on Kamailio {run['kamailio']} ({run['target']})",
    "",
    f"verdict: {verdict}",
    "",
]
lines += [f"figure: {k} {v}" for k, v in figures.items()]
lines += [
    "",
    f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores. Load for {run['duration']} s "
    f"(ended after {run['load_end']:.0f} s), samples every {run['sample']} s, warm-up {run['warmup']} s, then "
    f"{run['drain_s']} s of drain (at most {run['drain_max']}). Kamailio used {cpu_pct:.1f}% of one core during the load. "
    f"Database: {run.get('db', '?')}. UDP datagrams dropped by the kernel for full receive buffers meanwhile: "
    f"{run.get('sip_socket_drops', '?')} at Kamailio's SIP socket, {run.get('udp_rcvbuf_drops', '?')} in the whole "
    f"network namespace (other runs' sockets included). A drop costs a retransmission, or a transaction when all of "
    f"them are dropped: an overloaded machine shows here first.",
    "",
    "Rates (SCALE " + str(run["scale"]) + "): "
    f"XCAP {r['xcap']} requests/s over {run['xcap_users']} users, pres-rules PUT {r['pres_rules']}/s over {run['hot']} presentities, "
    f"SIPp publication lives {r['publish_lives']}/s, SIPp subscription dialogs {r['subscribe_dialogs']}/s "
    f"({run['pairs']} watcher/presentity pairs), pua publication lives {r['pua_lives']}/s.",
    "",
    "Done: "
    + ", ".join(f"{k[3:]} {v}" for k, v in sorted(cc.items()) if k.startswith("ok:"))
    + f"; pua lives {cc.get('pua lives', 0)}; SIPp PUBLISH lives {sipp['publish']['ok']} ok, dialogs {sipp['watch']['ok']} ok"
    + f" (retransmissions {sipp['publish']['retransmissions']}, {sipp['watch']['retransmissions']}).",
    "",
    "## Verdict",
    "",
]
lines += [f"- {f}" for f in failures] if failures else ["- errors 0, crashes 0, memory flat once warm, tables bounded by what is live"]
lines += [
    "",
    png_note,
    "",
    f"## Memory (KB). Flat: after the warm-up, the least-squares slope times the span sampled is at most "
    f"max({tol_kb} KB, {tol_pct}% of the mean, twice the residuals' standard deviation), and after the drain "
    f"(every record expired and removed) the series is at most {tol_kb} KB above its value before the load "
    f"(not for a process's private memory: malloc keeps what it was given back)",
    "",
    "| series | before the load | min–max after the warm-up | slope KB/min | growth over the span | after the drain | retained | |",
    "|---|---:|---:|---:|---:|---:|---:|---|",
] + mem_rows
lines += [
    "",
    "RSS (reported, not judged: a process's RSS grows as it first touches pages of the shared heap):",
    "",
    "| process | first KB | last KB | slope KB/min |",
    "|---|---:|---:|---:|",
] + rss_rows
lines += [
    "",
    "## Tables",
    "",
    "| table | max rows after the warm-up (load and drain) | bound | slope rows/min | rows after the drain | expected | |",
    "|---|---:|---:|---:|---:|---|---|",
] + table_rows
lines += ["", "## Errors and crashes", "", "| what | count |", "|---|---:|"]
lines += [f"| {label} | {n} |" for label, n in err_items]
lines += [
    f"| not counted: ERROR lines of a race inside the stock presence module (publ_notify or pres_refresh_watchers, then "
    f"notify() finds the watcher removed by an un-SUBSCRIBE or expiry meanwhile, and its callers' lines) | "
    f"{run.get('presence_race_lines', 0)} |",
    f"| processes gone (of {run['processes']}) | {run['dead_processes']} |",
    f"| crash lines in the log | {run['crash_lines']} |",
    f"| main process alive at the end | {'yes' if run['alive'] else 'NO'} |",
]
for title, path, sipp_file in [("client", a.client_errors, False), ("Kamailio log (count, line)", a.log_errors, False)] + [
    ("SIPp " + os.path.basename(p), p, True) for p in a.sipp_errors
]:
    first = read_lines(path, sipp=sipp_file)
    if first:
        lines += ["", f"First lines of the {title} errors:", "", "```"] + first + ["```"]
with open(a.md, "w") as f:
    f.write("\n".join(lines) + "\n")
print(f"soak: {verdict}" + ("" if not failures else ": " + "; ".join(failures)))
raise SystemExit(0 if verdict == "PASS" else 1)
