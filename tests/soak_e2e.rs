//! The soak test, short: `ci/soak.sh 120` runs its mixed load (XCAP, PUBLISH and SUBSCRIBE
//! dialogs with NOTIFY fan-out through SIPp, pua publications through pua_rpc, pres-rules
//! changes) for two minutes against the real Kamailio of the build's target with the modules
//! this test binary was built with (SO_DIR: the same profile's lib<module>.so), samples memory
//! and table rows every 5 s, drains, and writes its report; the test reads the report's figures:
//! no error, no crash, memory flat once warm, the tables bounded by what is live and emptied
//! of what expired, and the load actually done.
//!
//! The verdict's own arithmetic is tested apart on made-up samples (`ci/soak-report.py`): a
//! leaking shm and a table that keeps expired rows must fail it, a flat run must pass.

mod harness;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use harness::{repo, scratch_dir, target_dir, TARGET};

/// The report's `figure: <name> <value>` lines.
fn figures(md: &str) -> HashMap<String, String> {
    md.lines()
        .filter_map(|l| l.strip_prefix("figure: "))
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn num(f: &HashMap<String, String>, key: &str, md: &str) -> f64 {
    f.get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no figure {key} in the report:\n{md}"))
}

/// Debian's python3, which has matplotlib (ci/install.sh installs it).
fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

#[test]
fn two_minutes_of_mixed_load_leave_no_error_no_leak_and_only_live_rows() {
    let out = scratch_dir("soak");
    let run = Command::new("bash")
        .arg(repo().join("ci/soak.sh"))
        .arg("120")
        .env("KAMAILIO_TARGET", TARGET)
        .env("SO_DIR", target_dir())
        .env("OUT_DIR", &out)
        .env("SAMPLE", "5")
        .env("KEEP", "1") // its work directory (logs, databases, SIPp files) stays when the test fails
        .env_remove("MODULES")
        .env_remove("SCALE")
        .output()
        .expect("run ci/soak.sh");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let name = format!("soak-ours-{TARGET}");
    let md_path = out.join(format!("{name}.md"));
    let md = std::fs::read_to_string(&md_path)
        .unwrap_or_else(|e| panic!("{}: {e}\nstdout:\n{stdout}\nstderr:\n{stderr}", md_path.display()));
    let ctx = format!("report:\n{md}\nstdout:\n{stdout}\nstderr (tail):\n{}", tail(&stderr, 40));
    assert!(stdout.contains(&format!("report: {}", md_path.display())), "the script prints the report's path\n{ctx}");
    let png = out.join(format!("{name}.png"));
    assert!(stdout.contains(&format!("plot: {}", png.display())), "the script prints the plot's path\n{ctx}");
    assert!(std::fs::metadata(&png).map(|m| m.len() > 10_000).unwrap_or(false), "no plot at {}\n{ctx}", png.display());
    let png_head = std::fs::read(&png).unwrap();
    assert_eq!(&png_head[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", png.display());

    let f = figures(&md);
    // The load ran: every kind of request was answered as expected many times.
    assert!(num(&f, "sipp_publish_ok", &md) >= 300.0, "PUBLISH lives done\n{ctx}");
    assert!(num(&f, "sipp_watch_ok", &md) >= 150.0, "SUBSCRIBE dialogs done\n{ctx}");
    assert!(num(&f, "client_ok", &md) >= 2000.0, "XCAP and pua_rpc requests done\n{ctx}");
    // The live records were there, and went.
    for t in ["presentity", "active_watchers", "pua", "watchers", "xcap"] {
        assert!(num(&f, &format!("rows_max_{t}"), &md) > 0.0, "the {t} table never had a row\n{ctx}");
    }
    for t in ["presentity", "active_watchers", "pua"] {
        assert_eq!(num(&f, &format!("rows_final_{t}"), &md), 0.0, "{t} keeps rows of what expired\n{ctx}");
    }
    assert_eq!(num(&f, "errors", &md), 0.0, "errors\n{ctx}");
    assert_eq!(num(&f, "crashes", &md), 0.0, "crashes\n{ctx}");
    assert_eq!(f.get("memory_flat").map(String::as_str), Some("yes"), "memory grows once warm\n{ctx}");
    assert_eq!(f.get("tables_bounded").map(String::as_str), Some("yes"), "tables not bounded by what is live\n{ctx}");
    assert!(md.contains("verdict: PASS"), "{ctx}");
    assert!(run.status.success(), "ci/soak.sh exits non-zero although its figures pass\n{ctx}");
    let _ = std::fs::remove_dir_all(&out);
    if let Some(work) = stderr.lines().find_map(|l| l.strip_prefix("soak: work directory kept: ")) {
        let _ = std::fs::remove_dir_all(work.trim());
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs ci/soak-report.py on made-up samples: shm in use as a function of time during the
/// load and after the drain, the rows of presentity after the drain, a process's private
/// memory as a function of time. Returns (exit success, report).
fn report_on(shm: impl Fn(f64) -> f64, shm_final: f64, presentity_final: u32, heap: impl Fn(f64) -> f64) -> (bool, String) {
    let dir = scratch_dir("soak-report");
    let mut tsv = String::from("t\tphase\tseries\tvalue\n");
    let mut t = 0.0;
    while t <= 600.0 {
        let ticks = (t * 10.0) as u64;
        tsv += &format!("{t}\tload\tshm used\t{}\n", shm(t) as u64);
        tsv += &format!("{t}\tload\tpkg 100\t{}\n", 900_000 + (t as u64 % 3) * 1000);
        tsv += &format!("{t}\tload\trss 100\t{}\n", 20_000_000 + t as u64 * 1000);
        tsv += &format!("{t}\tload\theap 100\t{}\n", heap(t) as u64);
        tsv += &format!("{t}\tload\tcpu ticks\t{ticks}\n");
        for (tb, v) in [("xcap", 150), ("presentity", 200), ("active_watchers", 50), ("watchers", 30), ("pua", 60)] {
            tsv += &format!("{t}\tload\trows {tb}\t{v}\n");
        }
        t += 20.0;
    }
    tsv += &format!("640\tfinal\tshm used\t{}\n", shm_final as u64);
    tsv += "640\tfinal\tpkg 100\t900000\n";
    // What malloc keeps after the drain is not judged: it keeps what it was given back.
    tsv += &format!("640\tfinal\theap 100\t{}\n", heap(600.0) as u64 + 5_000_000);
    for (tb, v) in [("xcap", 150), ("presentity", presentity_final), ("active_watchers", 0), ("watchers", 30), ("pua", 0)] {
        tsv += &format!("640\tfinal\trows {tb}\t{v}\n");
    }
    std::fs::write(dir.join("samples.tsv"), tsv).unwrap();
    let run = r#"{"target": "x", "kamailio": "x", "modules": "ours", "duration": 600, "sample": 20, "warmup": 120,
        "scale": 1, "load_end": 600, "drain_s": 40, "drain_max": 120,
        "rates": {"xcap": 20, "pres_rules": 0.5, "publish_lives": 4, "subscribe_dialogs": 2, "pua_lives": 2},
        "hot": 10, "watchers": 30, "pairs": 30, "xcap_users": 200, "live_docs": 150,
        "sipp": {"publish": {"ok": 100, "failed": 0, "unexpected": 0, "out_of_call": 0, "retransmissions": 0},
                 "watch": {"ok": 100, "failed": 0, "unexpected": 0, "out_of_call": 0, "retransmissions": 0}},
        "client_exit": 0, "kamcmd_errors": 0, "log_errors": 0, "crash_lines": 0, "dead_processes": 0, "processes": 1,
        "alive": true, "mem_tol_kb": 256, "mem_tol_pct": 2, "clk_tck": 100}"#;
    std::fs::write(dir.join("run.json"), run).unwrap();
    std::fs::write(dir.join("client.json"), r#"{"errors": 0, "counts": {"ok:xcap GET": 5000}}"#).unwrap();
    let out = Command::new(python())
        .arg(repo().join("ci/soak-report.py"))
        .args(["--run", "run.json", "--samples", "samples.tsv", "--client", "client.json", "--md", "r.md", "--png", "r.png"])
        .current_dir(&dir)
        .output()
        .expect("run ci/soak-report.py");
    let md = std::fs::read_to_string(dir.join("r.md")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.success(), md)
}

#[test]
fn the_verdict_fails_on_a_leak_and_on_rows_left_behind() {
    // Flat with noise (±200 KB), back to where it started after the drain: passes.
    let flat = |t: f64| 8e6 + 2e5 * ((t / 20.0) as u64 % 3) as f64 - 2e5;
    let heap = |t: f64| 3e6 + 1e5 * ((t / 20.0) as u64 % 2) as f64;
    let (ok, md) = report_on(flat, flat(0.0), 0, heap);
    assert!(ok && md.contains("verdict: PASS"), "a flat run must pass:\n{md}");
    assert!(md.contains("| private 100 ("), "the private memory is judged:\n{md}");
    // 1 KB/s more shm (about 3.5 MB an hour), kept after the drain: fails on shm.
    let (ok, md) = report_on(|t| 8e6 + 1024.0 * t, 8e6 + 1024.0 * 600.0, 0, heap);
    assert!(!ok && md.contains("verdict: FAIL") && md.contains("shm in use: grew"), "a leak must fail:\n{md}");
    assert!(md.contains("figure: memory_flat no"), "{md}");
    // Flat while loaded, but 1 MB more once everything is gone: fails on what is retained.
    let (ok, md) = report_on(flat, flat(0.0) + 1e6, 0, heap);
    assert!(!ok && md.contains("shm in use: 976.6 KB more after the drain"), "retained memory must fail:\n{md}");
    // Publications left after the drain: fails on the tables.
    let (ok, md) = report_on(|_| 8e6, 8e6, 3, heap);
    assert!(!ok && md.contains("presentity: 3 rows after the drain, expected 0"), "rows left must fail:\n{md}");
    assert!(md.contains("figure: tables_bounded no"), "{md}");
    // A process whose private memory grows by 1 KB/s (what malloc'd memory a NOTIFY body
    // leaks would do), while shm and pkg stay flat: fails on that process.
    let (ok, md) = report_on(flat, flat(0.0), 0, |t| 3e6 + 1024.0 * t);
    assert!(!ok && md.contains("private 100 (?): grew"), "a leak of private memory must fail:\n{md}");
}
