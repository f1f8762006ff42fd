//! kamtest: a module used only by the foundation's end-to-end tests (never installed). Each
//! function exercises one part of the foundation inside a real, multi-process Kamailio.

use std::cell::RefCell;

use kamailio::db::{eq, Locking};
use kamailio::mem::{shm_box, ShmGlobal};
use kamailio::sl::SlApi;
use kamailio::{lm_info, module, timer, CfgParam, Db, DbConn, Error, IntParam, ParamValue, PvValue, Rank, Rpc, ShmMutex, SipMsg, StrParam, Value};

/// Process slots counted separately (Kamailio process numbers are small).
const SLOTS: usize = 256;

/// Shared counters, in shm behind the core's lock.
#[repr(C)]
struct Counters {
    total: u64,
    per_process: [u32; SLOTS],
}

static COUNTERS: ShmGlobal<ShmMutex<Counters>> = ShmGlobal::new();
static TICKS: ShmGlobal<ShmMutex<u64>> = ShmGlobal::new();

/// Where `kt_count` starts (checked in mod_init: must not be negative).
static COUNTER_START: IntParam = IntParam::new(0);
/// Timer interval in seconds; 0 disables the timer.
static TIMER_INTERVAL: IntParam = IntParam::new(0);
/// Database URL; empty disables the DB functions.
static DB_URL: StrParam = StrParam::new("");
/// Table for `kt_db_insert`.
static DB_TABLE: StrParam = StrParam::new("kamtest");

static DB: std::sync::OnceLock<Db> = std::sync::OnceLock::new();
static SL: std::sync::OnceLock<SlApi> = std::sync::OnceLock::new();

thread_local! {
    /// This process's DB connection, opened in child_init.
    static CONN: RefCell<Option<DbConn>> = const { RefCell::new(None) };
    /// Labels given with the `label` USE_FUNC parameter.
    static LABELS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

module! {
    name: "kamtest",
    params: {
        "counter_start" => COUNTER_START,
        "timer_interval" => TIMER_INTERVAL,
        "db_url" => DB_URL,
        "db_table" => DB_TABLE,
    },
    param_fns: {
        "label" => Str add_label,
    },
    functions: {
        "kt_count" => kt_count [0, None, REQUEST_ROUTE],
        "kt_panic" => kt_panic [0, None, ANY_ROUTE],
        "kt_db_insert" => kt_db_insert [0, None, REQUEST_ROUTE],
        "kt_echo" => kt_echo [0, None, REQUEST_ROUTE],
        "kt_reply" => kt_reply [3, Spve, REQUEST_ROUTE],
        "kt_add" => kt_add [2, Igp, ANY_ROUTE],
    },
    rpc: {
        "kamtest.counter" => rpc_counter, "Counter total and the number of processes that counted",
        "kamtest.echo" => rpc_echo, "Echo a string and an optional number",
        "kamtest.db_rows" => rpc_db_rows, "Rows in the test table and distinct writer pids",
        "kamtest.ticks" => rpc_ticks, "Timer ticks so far",
        "kamtest.labels" => rpc_labels, "The label parameters",
    },
    pvs: {
        "kt" => pv_kt,
    },
    init: mod_init,
    child_init: child_init,
    destroy: destroy,
}

fn add_label(v: ParamValue) -> Result<(), Error> {
    match v {
        ParamValue::Str(s) if !s.trim().is_empty() => {
            LABELS.with(|l| l.borrow_mut().push(s.to_string()));
            Ok(())
        }
        _ => Err(Error::from("label must be a non-empty string")),
    }
}

fn mod_init() -> Result<(), Error> {
    let start = COUNTER_START.get();
    if start < 0 {
        return Err(Error::from(format!("counter_start must be 0 or more, not {start}")));
    }
    let counters = Counters { total: start as u64, per_process: [0; SLOTS] };
    COUNTERS.set(shm_box(ShmMutex::new(counters)).ok_or("out of shared memory")?);
    TICKS.set(shm_box(ShmMutex::new(0u64)).ok_or("out of shared memory")?);
    let _ = SL.set(SlApi::bind()?);

    let url = DB_URL.get();
    if !url.is_empty() {
        let db = Db::bind(&url)?;
        // Check the table now, then close: connections must not cross the fork.
        let mut conn = db.connect(&url)?;
        conn.use_table(&DB_TABLE.get())?;
        conn.query(&[], &["pid"], None)?;
        drop(conn);
        let _ = DB.set(db);
    }
    let interval = TIMER_INTERVAL.get();
    if interval > 0 {
        timer::register(on_tick, interval as u32)?;
    }
    lm_info!("kamtest ready (counter at {start}, labels {:?})", LABELS.with(|l| l.borrow().clone()));
    Ok(())
}

fn child_init(rank: Rank) -> Result<(), Error> {
    if !rank.is_serving() {
        return Ok(());
    }
    if let Some(db) = DB.get() {
        let mut conn = db.connect(&DB_URL.get())?;
        conn.use_table(&DB_TABLE.get())?;
        CONN.with(|c| *c.borrow_mut() = Some(conn));
    }
    Ok(())
}

fn destroy() {
    CONN.with(|c| c.borrow_mut().take());
}

fn on_tick(_ticks: u32) {
    if let Some(t) = TICKS.get() {
        *t.lock() += 1;
    }
}

fn kt_count(_msg: &mut SipMsg, _p: &[CfgParam]) -> i32 {
    let Some(c) = COUNTERS.get() else { return -1 };
    let slot = kamailio::process_no() as usize % SLOTS;
    let mut g = c.lock();
    g.total += 1;
    g.per_process[slot] += 1;
    1
}

fn kt_panic(_msg: &mut SipMsg, _p: &[CfgParam]) -> i32 {
    panic!("kt_panic was called");
}

fn kt_db_insert(msg: &mut SipMsg, _p: &[CfgParam]) -> i32 {
    let call_id = msg.call_id().map(|c| String::from_utf8_lossy(c).into_owned()).unwrap_or_default();
    let row = [Value::Int(kamailio::pid()), Value::Str(call_id)];
    let r = CONN.with(|c| match c.borrow_mut().as_mut() {
        Some(conn) => conn.transaction(Locking::None, |conn| conn.insert(&["pid", "call_id"], &row)).map_err(Error::from),
        None => Err(Error::from("no DB connection in this process")),
    });
    match r {
        Ok(()) => 1,
        Err(e) => {
            kamailio::lm_err!("kt_db_insert: {e}");
            -1
        }
    }
}

/// Replies 200 with what the parsers found, as headers, and the request body echoed back.
fn kt_echo(msg: &mut SipMsg, _p: &[CfgParam]) -> i32 {
    let method = String::from_utf8_lossy(msg.method()).into_owned();
    let ruri = String::from_utf8_lossy(msg.ruri()).into_owned();
    let (from, from_tag) = msg.from().map(|(u, t)| (lossy(u), lossy(t))).unwrap_or_default();
    let to = msg.to().map(|(u, _)| lossy(u)).unwrap_or_default();
    let call_id = msg.call_id().map(lossy).unwrap_or_default();
    let event = msg.header_str("Event").unwrap_or_default();
    let expires = msg.expires().map(|e| e.to_string()).unwrap_or_else(|| "none".into());
    let body = msg.body().to_vec();
    let Some(sl) = SL.get() else { return -1 };
    let ctype = msg.header_str("Content-Type").unwrap_or_else(|| "text/plain".into());
    let headers = [
        ("X-Method", method.as_str()),
        ("X-Ruri", ruri.as_str()),
        ("X-From", from.as_str()),
        ("X-From-Tag", from_tag.as_str()),
        ("X-To", to.as_str()),
        ("X-Call-ID", call_id.as_str()),
        ("X-Event", event.as_str()),
        ("X-Expires", expires.as_str()),
        ("Content-Type", ctype.as_str()),
    ];
    match sl.reply(msg, 200, "Echo", &headers, (!body.is_empty()).then_some(&body[..])) {
        Ok(()) => 1,
        Err(e) => {
            kamailio::lm_err!("kt_echo: {e}");
            -1
        }
    }
}

/// `kt_reply(code, reason, body)` with pseudo-variables in every parameter.
fn kt_reply(msg: &mut SipMsg, p: &[CfgParam]) -> i32 {
    let (Some(code), Some(reason), Some(body)) = (p[0].int(msg), p[1].string(msg), p[2].bytes(msg)) else {
        return -1;
    };
    let Some(sl) = SL.get() else { return -1 };
    let pid = kamailio::pid().to_string();
    let headers = [("X-Kamtest-Pid", pid.as_str()), ("Content-Type", "text/plain")];
    match sl.reply(msg, code as u32, &reason, &headers, Some(&body)) {
        Ok(()) => 1,
        Err(_) => -1,
    }
}

/// `kt_add(a, b)`: true when a + b is positive, so the script can branch on integer fixups.
fn kt_add(msg: &mut SipMsg, p: &[CfgParam]) -> i32 {
    match (p[0].int(msg), p[1].int(msg)) {
        (Some(a), Some(b)) if a + b > 0 => 1,
        _ => -1,
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn pv_kt(_msg: &mut SipMsg, name: &str) -> PvValue {
    match name {
        "total" => COUNTERS.get().map_or(PvValue::Null, |c| PvValue::Int(c.lock().total as i32)),
        "pid" => PvValue::Int(kamailio::pid()),
        "module" => PvValue::Str("kamtest".into()),
        _ => PvValue::Null,
    }
}

fn rpc_counter(rpc: &mut Rpc) {
    let Some(c) = COUNTERS.get() else { return rpc.fault(500, "not initialised") };
    let (total, processes) = {
        let g = c.lock();
        (g.total, g.per_process.iter().filter(|&&n| n > 0).count())
    };
    if let Some(mut s) = rpc.add_struct() {
        s.add_int("total", total as i32);
        s.add_int("processes", processes as i32);
    }
}

fn rpc_echo(rpc: &mut Rpc) {
    let Some(s) = rpc.scan_str() else { return rpc.fault(400, "a string parameter is required") };
    let n = rpc.scan_int();
    rpc.add_str(&s);
    if let Some(n) = n {
        rpc.add_int(n * 2);
    }
}

/// `kamtest.db_rows [pid]`: every row, or one writer's rows.
fn rpc_db_rows(rpc: &mut Rpc) {
    let only = rpc.scan_int();
    let conds: Vec<_> = only.map(|pid| eq("pid", Value::Int(pid))).into_iter().collect();
    let r = CONN.with(|c| match c.borrow_mut().as_mut() {
        Some(conn) => conn.query(&conds, &["pid", "call_id"], Some("pid")).map_err(Error::from),
        None => Err(Error::from("no DB connection in the RPC process")),
    });
    match r {
        Ok(rows) => {
            let mut pids: Vec<i64> = rows.iter().filter_map(|r| r[0].as_int()).collect();
            pids.dedup();
            let bad = rows.iter().filter(|r| r[1].as_str().is_none_or(str::is_empty)).count();
            if let Some(mut s) = rpc.add_struct() {
                s.add_int("rows", rows.len() as i32);
                s.add_int("pids", pids.len() as i32);
                s.add_int("empty_call_ids", bad as i32);
            }
        }
        Err(e) => rpc.fault(500, &e.0),
    }
}

fn rpc_ticks(rpc: &mut Rpc) {
    match TICKS.get() {
        Some(t) => {
            let n = *t.lock();
            rpc.add_int(n as i32);
        }
        None => rpc.fault(500, "not initialised"),
    }
}

fn rpc_labels(rpc: &mut Rpc) {
    for l in LABELS.with(|l| l.borrow().clone()) {
        rpc.add_str(&l);
    }
}
