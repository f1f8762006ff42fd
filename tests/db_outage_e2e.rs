//! The database goes away under load and comes back: XCAP PUTs (xcap_server) and PUBLISHes
//! through pua in db_mode 2 (pua_rpc's pua.publish) keep flowing, from one thread each, while
//! the database is unusable for 10 s.
//!
//! - PostgreSQL: a private server of this test (tests/harness/postgres.rs), stopped
//!   (`pg_ctl -m immediate stop`) and started again on the same port and data.
//! - SQLite: the database file and its directory get the immutable attribute (`chattr +i`;
//!   the tests run as root, whom file modes do not stop): reads go on, every write fails
//!   (no journal can be created, the file cannot be written).
//!
//! Asserted: during the outage every request is answered with an error (XCAP 500/503, an
//! error from pua.publish) within 5 s, and the modules log errors; no Kamailio process dies
//! (the `core.psx` count is the same before and after); after the database is back, service is
//! normal again within 10 s without a restart (the time it took is printed); every request
//! acknowledged with success is in the database afterwards (each XCAP document with the ETag
//! of its 2xx, each publication with the SIP-ETag pua.publish answered).
//!
//! On SQLite the PUBLISH still goes out during the outage (the lookup only reads), and the
//! publication cannot be stored once the 200 comes: `unstorable_publication` shows that ours
//! does not acknowledge it and that stock pua does.

mod harness;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness::db::{Backend, TestDb};
use harness::postgres::Postgres;
use harness::pua::{pidf, publish, publish_uas};
use harness::{scratch_dir, Kamailio, Setup};

const OUTAGE: Duration = Duration::from_secs(10);
const LATENCY_BOUND: Duration = Duration::from_secs(5);
const RECOVERY_BOUND: Duration = Duration::from_secs(10);

/// What makes the database unusable and usable again.
enum Outage {
    Postgres(Postgres),
    /// The directory of the SQLite files, and the databases of the XCAP server and of pua (one
    /// each: two servers writing one SQLite file would also fail on each other's locks).
    Sqlite(PathBuf, TestDb, TestDb),
}

impl Outage {
    fn begin(&self) {
        match self {
            Outage::Postgres(pg) => pg.stop(),
            // The directory first: then no file (a journal, say) can come or go while the
            // files are listed and made immutable one by one.
            Outage::Sqlite(dir, ..) => {
                chattr("+i", dir);
                for f in sqlite_files(dir) {
                    chattr("+i", &f);
                }
            }
        }
    }

    fn end(&self) {
        match self {
            Outage::Postgres(pg) => pg.restart(),
            // The files while the directory still keeps them in place, the directory last.
            Outage::Sqlite(dir, ..) => {
                for f in sqlite_files(dir) {
                    chattr("-i", &f);
                }
                chattr("-i", dir);
            }
        }
    }
}

impl Drop for Outage {
    fn drop(&mut self) {
        // A failed test must not leave files nobody can remove.
        if let Outage::Sqlite(dir, ..) = self {
            let _ = Command::new("chattr").arg("-i").arg(&*dir).status();
            for f in sqlite_files(dir) {
                let _ = Command::new("chattr").arg("-i").arg(f).status();
            }
        }
    }
}

fn sqlite_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect()).unwrap_or_default()
}

fn chattr(flag: &str, path: &Path) {
    let st = Command::new("chattr").arg(flag).arg(path).status().expect("run chattr");
    assert!(st.success(), "chattr {flag} {} failed (a file system without the immutable attribute?)", path.display());
}

/// One request of the load: when it started and ended, and whether it was acknowledged (with
/// the ETag it was acknowledged with) or refused (with what).
struct Done {
    start: Instant,
    end: Instant,
    key: String,
    result: Result<String, String>,
}

/// Runs `one(n)` for n = 0, 1, ... until `stop`, recording each.
fn load(stop: Arc<AtomicBool>, log: Arc<Mutex<Vec<Done>>>, one: impl Fn(usize) -> (String, Result<String, String>)) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        let (key, result) = one(n);
        log.lock().unwrap().push(Done { start, end: Instant::now(), key, result });
        n += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
}

const LIST: &str = r#"<?xml version="1.0" encoding="UTF-8"?><resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="l"/></resource-lists>"#;

fn psx_count(k: &Kamailio) -> usize {
    k.rpc(&["core.psx"]).lines().filter(|l| l.trim_start().starts_with("IDX:")).count()
}

fn outage(backend: Backend) {
    let t0 = Instant::now();
    let uas = publish_uas(&[]);
    let outage = match backend {
        Backend::Postgres => Outage::Postgres(Postgres::start(&["presence"], "")),
        Backend::Sqlite => {
            let dir = scratch_dir("outage-sqlite").join("db");
            std::fs::create_dir_all(&dir).unwrap();
            let db = |name: &str| TestDb::create(Backend::Sqlite, &dir.join(name), &["presence"], "");
            Outage::Sqlite(dir.clone(), db("xcap.db"), db("pua.db"))
        }
        Backend::MariaDb => unreachable!(),
    };
    let setup = |config: &'static str, modules: &'static [&'static str], defines: &'static [&'static str], db: Option<&TestDb>| {
        let mut s = Setup::new(config, modules);
        s.defines = defines;
        match &outage {
            Outage::Postgres(pg) => s.db_url = Some(pg.url()),
            Outage::Sqlite(..) => s.db = db.cloned(),
        }
        Kamailio::start(s)
    };
    let (xcap_db, pua_db) = match &outage {
        Outage::Sqlite(_, x, p) => (Some(x), Some(p)),
        Outage::Postgres(_) => (None, None),
    };
    let xcap = setup("xcap.cfg", &["xcap_server"], &[], xcap_db);
    let pua = setup("pua.cfg", &["pua"], &["PUA_DB_MODE=2"], pua_db);
    let psx = (psx_count(&xcap), psx_count(&pua));

    let stop = Arc::new(AtomicBool::new(false));
    let puts = Arc::new(Mutex::new(Vec::new()));
    let pubs = Arc::new(Mutex::new(Vec::new()));
    let (k_x, k_p) = (Arc::new(xcap), Arc::new(pua));
    let port = uas.port;
    let threads = [
        {
            let (stop, log, k) = (stop.clone(), puts.clone(), k_x.clone());
            std::thread::spawn(move || {
                load(stop, log, |n| {
                    let path = format!("/xcap-root/resource-lists/users/sip:u{n}@example.com/index");
                    let r = k.http(&["-X", "PUT", "-H", "Content-Type: application/resource-lists+xml", "--data-binary", LIST], &path);
                    let res = if (200..300).contains(&r.code) {
                        Ok(r.header("ETag").unwrap_or_default().trim_matches('"').to_string())
                    } else {
                        Err(r.code.to_string())
                    };
                    (format!("u{n}@example.com"), res)
                })
            })
        },
        {
            let (stop, log, k) = (stop.clone(), pubs.clone(), k_p.clone());
            std::thread::spawn(move || {
                load(stop, log, |n| {
                    let uri = format!("sip:p{n}@127.0.0.1:{port}");
                    let p = publish(&k, &uri, 3600, None, None, Some(&pidf(&uri, "open", "n")));
                    // Acknowledged = answered with the 200's SIP-ETag. pua_rpc answers an empty
                    // result when pua reports the PUBLISH as failed without a reply of its own
                    // (what ours does when it cannot store what the server accepted).
                    let res = match (p.error(), harness::json_field(&p.raw, "SIP-ETag")) {
                        (Some(e), _) => Err(e),
                        (None, Some(etag)) => Ok(etag),
                        (None, None) => Err(format!("no SIP-ETag: {}", p.raw)),
                    };
                    (uri, res)
                })
            })
        },
    ];

    std::thread::sleep(Duration::from_secs(3));
    outage.begin();
    let down = Instant::now();
    std::thread::sleep(OUTAGE);
    let up_begin = Instant::now();
    outage.end();
    let up = Instant::now();
    // Recovery: the first request started after the database came back that succeeds, for each.
    let recovered = |log: &Mutex<Vec<Done>>| log.lock().unwrap().iter().find(|d| d.start >= up && d.result.is_ok()).map(|d| d.end - up);
    let deadline = up + RECOVERY_BOUND;
    while (recovered(&puts).is_none() || recovered(&pubs).is_none()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("a load thread failed");
    }
    let (mut xcap, mut pua) = (Arc::into_inner(k_x).unwrap(), Arc::into_inner(k_p).unwrap());
    let (puts, pubs) = (std::mem::take(&mut *puts.lock().unwrap()), std::mem::take(&mut *pubs.lock().unwrap()));

    fn report<'a>(backend: Backend, name: &str, log: &'a [Done], down: Instant, up_begin: Instant, up: Instant) -> (Vec<&'a Done>, Duration) {
        let during: Vec<&Done> = log.iter().filter(|d| d.start >= down && d.end <= up_begin).collect();
        let max = log.iter().map(|d| d.end - d.start).max().unwrap_or_default();
        let ok = log.iter().filter(|d| d.result.is_ok()).count();
        eprintln!(
            "{backend:?} {name}: {} requests, {ok} acknowledged, {} during the outage (all refused: {}), slowest {max:?}, recovered after {:?}",
            log.len(),
            during.len(),
            during.iter().all(|d| d.result.is_err()),
            log.iter().find(|d| d.start >= up && d.result.is_ok()).map(|d| d.end - up),
        );
        (during, max)
    }
    let (x_during, x_max) = report(backend, "XCAP PUT", &puts, down, up_begin, up);
    let (p_during, p_max) = report(backend, "pua.publish", &pubs, down, up_begin, up);

    // During the outage: errors, quickly.
    assert!(x_during.len() >= 3 && p_during.len() >= 3, "too few requests during the outage");
    for d in &x_during {
        assert!(matches!(d.result.as_ref().map_err(String::as_str), Err("500" | "503")), "XCAP PUT of {} during the outage: {:?}", d.key, d.result);
    }
    for d in &p_during {
        assert!(d.result.is_err(), "pua.publish {} during the outage was acknowledged: {:?}", d.key, d.result);
    }
    assert!(x_max < LATENCY_BOUND, "an XCAP PUT took {x_max:?}");
    assert!(p_max < LATENCY_BOUND, "a pua.publish took {p_max:?}");
    assert!(xcap.log_text().contains("ERROR: xcap_server"), "no error logged:\n{}", xcap.log_text());
    assert!(pua.log_text().contains("ERROR: pua"), "no error logged:\n{}", pua.log_text());

    // Nothing died.
    assert!(xcap.is_running() && pua.is_running());
    assert_eq!((psx_count(&xcap), psx_count(&pua)), psx, "the process count changed");

    // Back to normal, without a restart.
    let rx = puts.iter().find(|d| d.start >= up && d.result.is_ok()).map(|d| d.end - up);
    let rp = pubs.iter().find(|d| d.start >= up && d.result.is_ok()).map(|d| d.end - up);
    assert!(rx.is_some() && rp.is_some(), "no recovery within {RECOVERY_BOUND:?}: XCAP {rx:?}, pua {rp:?}");
    // Every request after the first success is a success again.
    for log in [&puts, &pubs] {
        let first = log.iter().position(|d| d.start >= up && d.result.is_ok()).unwrap();
        let failed: Vec<_> = log[first..].iter().filter(|d| d.result.is_err()).map(|d| (&d.key, &d.result)).collect();
        assert!(failed.is_empty(), "failures after recovery: {failed:?}");
    }

    // Every acknowledged request is stored, with the ETag it was acknowledged with.
    let rows = |db: Option<&TestDb>, q: &str| -> std::collections::HashSet<String> {
        let text = match &outage {
            Outage::Postgres(pg) => pg.psql("kamailio", q),
            Outage::Sqlite(..) => db.unwrap().sql(q),
        };
        text.lines().map(String::from).collect()
    };
    let xcap_rows = rows(xcap_db, "SELECT username || '@' || domain || '|' || etag FROM xcap;");
    let pua_rows = rows(pua_db, "SELECT pres_uri || '|' || etag FROM pua;");
    for (log, stored) in [(&puts, &xcap_rows), (&pubs, &pua_rows)] {
        let lost: Vec<String> = log
            .iter()
            .filter_map(|d| d.result.as_ref().ok().map(|e| format!("{}|{e}", d.key)))
            .filter(|k| !stored.contains(k))
            .collect();
        assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    }
    eprintln!("{backend:?}: {:?} in all", t0.elapsed());
    xcap.stop();
    pua.stop();
}

#[test]
fn postgres() {
    outage(Backend::Postgres);
}

#[test]
fn sqlite() {
    outage(Backend::Sqlite);
}

/// pua in db_mode 2 on an SQLite database that reads but cannot be written: the lookup of a new
/// publication works, the PUBLISH goes out and the presence server answers 200, then storing
/// the publication fails. Ours logs it and pua.publish answers without a SIP-ETag (as for any
/// failed PUBLISH); stock, as observed, answers with the 200's SIP-ETag although no row holds
/// it (the acknowledged publication is unknown to pua afterwards).
fn unstorable_publication(stock: bool) {
    let uas = publish_uas(&[]);
    let dir = scratch_dir("outage-sqlite").join("db");
    std::fs::create_dir_all(&dir).unwrap();
    let db = TestDb::create(Backend::Sqlite, &dir.join("pua.db"), &["presence"], "");
    let outage = Outage::Sqlite(dir, db.clone(), db.clone());
    let mut s = Setup::new("pua.cfg", if stock { &[] } else { &["pua"] });
    s.defines = if stock { &["PUA_DB_MODE=2", "STOCK_PUA"] } else { &["PUA_DB_MODE=2"] };
    s.db = Some(db.clone());
    let mut k = Kamailio::start(s);
    let uri = format!("sip:alice@127.0.0.1:{}", uas.port);
    outage.begin();
    let p = publish(&k, &uri, 3600, None, None, Some(&pidf(&uri, "open", "n")));
    outage.end();
    assert_eq!(uas.requests("PUBLISH").len(), 1, "the PUBLISH went out");
    assert_eq!(db.sql("SELECT count(*) FROM pua;").trim(), "0", "nothing stored");
    if stock {
        assert!(harness::json_field(&p.raw, "SIP-ETag").is_some(), "stock acknowledges: {}", p.raw);
    } else {
        assert!(p.error().is_none() && !p.raw.contains("SIP-ETag"), "{}", p.raw);
        assert!(k.log_text().contains("the publication cannot be stored"), "{}", k.log_text());
    }
    assert!(k.is_running());
    // Writable again: a publication is acknowledged and stored.
    let p = publish(&k, &uri, 3600, None, None, Some(&pidf(&uri, "open", "n")));
    let etag = harness::json_field(&p.raw, "SIP-ETag").unwrap_or_else(|| panic!("{}", p.raw));
    assert_eq!(db.sql("SELECT etag FROM pua;").trim(), etag);
}

#[test]
fn sqlite_unstorable_publication_ours() {
    unstorable_publication(false);
}

#[test]
fn sqlite_unstorable_publication_stock() {
    unstorable_publication(true);
}
