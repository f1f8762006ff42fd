//! kamtest: a module used only by the foundation's end-to-end tests (never installed). Each
//! function exercises one part of the foundation inside a real, multi-process Kamailio.

use std::cell::RefCell;

use kamailio::db::{eq, module_db, Locking};
use kamailio::log::Level;
use kamailio::mem::{pkg_str_dup, shm_box, Pkg, Shm, ShmGlobal, ShmVec};
use kamailio::sl::SlApi;
use kamailio::tm::{Request, TmApi};
use kamailio::{lm_dbg, lm_err, lm_info, lm_notice, lm_warn, module, timer, CfgParam, Error, IntParam, ParamValue, PvValue, Rank, Rpc, ShmMutex, SipMsg, StrParam, Value};

/// Process slots counted separately (Kamailio process numbers are small).
const SLOTS: usize = 256;

/// Shared counters, in shm behind the core's lock.
#[repr(C)]
struct Counters {
    total: u64,
    per_process: [u32; SLOTS],
}

/// What tm reported for the requests kt_send sent: (completions, last status).
#[repr(C)]
struct TmReport {
    completed: u32,
    last_code: i32,
}

static COUNTERS: ShmGlobal<ShmMutex<Counters>> = ShmGlobal::new();
static TICKS: ShmGlobal<ShmMutex<u64>> = ShmGlobal::new();
/// Notes from any worker: an ordinary collection living in shared memory.
static NOTES: ShmGlobal<ShmMutex<ShmVec<ShmVec<u8>>>> = ShmGlobal::new();
static TM_REPORT: ShmGlobal<ShmMutex<TmReport>> = ShmGlobal::new();

/// Where `kt_count` starts (checked in mod_init: must not be negative).
static COUNTER_START: IntParam = IntParam::new(0);
/// Timer interval in seconds; 0 disables the timer.
static TIMER_INTERVAL: IntParam = IntParam::new(0);
/// Database URL; empty disables the DB functions.
static DB_URL: StrParam = StrParam::new("");
/// Table for `kt_db_insert`.
static DB_TABLE: StrParam = StrParam::new("kamtest");
/// The version the table must have in the `version` table.
static DB_TABLE_VERSION: IntParam = IntParam::new(1);

static SL: std::sync::OnceLock<SlApi> = std::sync::OnceLock::new();
static TM: std::sync::OnceLock<TmApi> = std::sync::OnceLock::new();

thread_local! {
    /// Labels given with the `label` USE_FUNC parameter.
    static LABELS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// `$kt(note)`, settable from the script (per process).
    static NOTE: RefCell<Option<String>> = const { RefCell::new(None) };
}

module! {
    name: "kamtest",
    params: {
        "counter_start" => COUNTER_START,
        "timer_interval" => TIMER_INTERVAL,
        "db_url" => DB_URL,
        "db_table" => DB_TABLE,
        "db_table_version" => DB_TABLE_VERSION,
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
        "kt_note" => kt_note [0, None, REQUEST_ROUTE],
        "kt_send" => kt_send [0, None, REQUEST_ROUTE],
    },
    rpc: {
        "kamtest.counter" => rpc_counter, "Counter total and the number of processes that counted",
        "kamtest.echo" => rpc_echo, "Echo a string and an optional number",
        "kamtest.db_rows" => rpc_db_rows, "Rows in the test table and distinct writer pids",
        "kamtest.ticks" => rpc_ticks, "Timer ticks so far",
        "kamtest.labels" => rpc_labels, "The label parameters",
        "kamtest.notes" => rpc_notes, "Notes stored in shared memory: count and distinct",
        "kamtest.notes_clear" => rpc_notes_clear, "Free all notes",
        "kamtest.pkg" => rpc_pkg, "Sum 0..n in a pkg-allocated vector",
        "kamtest.log" => rpc_log, "Log a line at a level (err, warn, notice, info, dbg)",
        "kamtest.tm" => rpc_tm, "Requests sent through tm: completions and last status",
    },
    pvs: {
        "kt" => pv_kt, pv_kt_set;
    },
    kemi: {
        "kt_kemi_len" => kemi_len [2],
        "kt_kemi_count" => kemi_count [0],
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
    NOTES.set(shm_box(ShmMutex::new(ShmVec::new_in(Shm))).ok_or("out of shared memory")?);
    TM_REPORT.set(shm_box(ShmMutex::new(TmReport { completed: 0, last_code: 0 })).ok_or("out of shared memory")?);
    let _ = SL.set(SlApi::bind()?);
    let _ = TM.set(TmApi::bind()?);

    let url = DB_URL.get();
    // (The KEMI test config runs without a database.)
    if !url.is_empty() {
        module_db::bind(&url, Some((&DB_TABLE.get(), DB_TABLE_VERSION.get() as u32)))?;
    }
    let interval = TIMER_INTERVAL.get();
    if interval > 0 {
        timer::register(on_tick, interval as u32)?;
    }
    lm_info!("kamtest ready (counter at {start}, labels {:?})", LABELS.with(|l| l.borrow().clone()));
    Ok(())
}

fn child_init(rank: Rank) -> Result<(), Error> {
    Ok(module_db::connect(rank)?)
}

fn destroy() {
    module_db::close();
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
    let r = module_db::with(|conn| {
        conn.use_table(&DB_TABLE.get())?;
        conn.transaction(Locking::None, |conn| conn.insert(&["pid", "call_id"], &row))
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
    let event = msg.event().map(lossy).unwrap_or_default();
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

/// Stores this request's Call-ID as a note in shared memory.
fn kt_note(msg: &mut SipMsg, _p: &[CfgParam]) -> i32 {
    let (Some(notes), Some(call_id)) = (NOTES.get(), msg.call_id()) else { return -1 };
    let mut note = ShmVec::new_in(Shm);
    if note.try_reserve(call_id.len()).is_err() {
        return -1;
    }
    note.extend_from_slice(call_id);
    let mut g = notes.lock();
    if g.try_reserve(1).is_err() {
        return -1;
    }
    g.push(note);
    1
}

/// Sends a MESSAGE through tm to the request's Contact; the outcome lands in TM_REPORT.
fn kt_send(msg: &mut SipMsg, _p: &[CfgParam]) -> i32 {
    let Some(contact) = msg.header_str("Contact") else { return -1 };
    let target = contact.trim().trim_start_matches('<').split('>').next().unwrap_or_default().to_string();
    let Some(tm) = TM.get() else { return -1 };
    let req = Request {
        method: "MESSAGE",
        ruri: &target,
        to: &target,
        from: "sip:kamtest@127.0.0.1",
        headers: "X-Kamtest: tm\r\nContent-Type: text/plain\r\n",
        body: b"sent through tm",
        next_hop: None,
    };
    match tm.send(&req, Some((on_sent, 7))) {
        Ok(()) => 1,
        Err(e) => {
            lm_err!("kt_send: {e}");
            -1
        }
    }
}

fn on_sent(code: i32, reply: Option<&mut SipMsg>, cookie: usize) {
    let Some(r) = TM_REPORT.get() else { return };
    // The cookie and the reply both arrive: record the code only when they are consistent.
    let seen = reply.and_then(|m| m.status()).map_or(code, |s| s as i32);
    let mut g = r.lock();
    g.completed += 1;
    g.last_code = if cookie == 7 && seen == code { code } else { -code };
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn pv_kt(_msg: &mut SipMsg, name: &str) -> PvValue {
    match name {
        "total" => COUNTERS.get().map_or(PvValue::Null, |c| PvValue::Int(c.lock().total as i32)),
        "pid" => PvValue::Int(kamailio::pid()),
        "module" => PvValue::Str("kamtest".into()),
        "note" => NOTE.with(|n| n.borrow().clone()).map_or(PvValue::Null, PvValue::Str),
        _ => PvValue::Null,
    }
}

/// `$kt(note) = value` stores a string; `$null` clears it. Other names are read-only.
fn pv_kt_set(_msg: &mut SipMsg, name: &str, value: PvValue) -> Result<(), Error> {
    if name != "note" {
        return Err(Error::from(format!("{name} is read-only")));
    }
    let v = match value {
        PvValue::Null => None,
        PvValue::Str(s) => Some(s),
        PvValue::Int(i) => Some(i.to_string()),
    };
    NOTE.with(|n| *n.borrow_mut() = v);
    Ok(())
}

/// KEMI: the total length of two strings.
fn kemi_len(_msg: &mut SipMsg, p: &[String]) -> i32 {
    p.iter().map(|s| s.len() as i32).sum()
}

/// KEMI: kt_count for scripts in a KEMI language.
fn kemi_count(msg: &mut SipMsg, _p: &[String]) -> i32 {
    kt_count(msg, &[])
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
    let r = module_db::with(|conn| {
        conn.use_table(&DB_TABLE.get())?;
        conn.query(&conds, &["pid", "call_id"], Some("pid"))
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

fn rpc_notes(rpc: &mut Rpc) {
    let Some(notes) = NOTES.get() else { return rpc.fault(500, "not initialised") };
    let (count, distinct) = {
        let g = notes.lock();
        let mut all: Vec<&[u8]> = g.iter().map(|n| n.as_slice()).collect();
        all.sort();
        all.dedup();
        (g.len(), all.len())
    };
    if let Some(mut s) = rpc.add_struct() {
        s.add_int("count", count as i32);
        s.add_int("distinct", distinct as i32);
    }
}

fn rpc_notes_clear(rpc: &mut Rpc) {
    let Some(notes) = NOTES.get() else { return rpc.fault(500, "not initialised") };
    // Freed from this process although other processes allocated them: shm is shared.
    let mut g = notes.lock();
    g.clear();
    g.shrink_to_fit();
    rpc.add_int(g.len() as i32);
}

/// `kamtest.pkg n`: a pkg vector of 0..n summed, and a pkg `str` copied and freed.
fn rpc_pkg(rpc: &mut Rpc) {
    let n = rpc.scan_int().unwrap_or(1000).max(0) as u64;
    let mut v = allocator_api2::vec::Vec::new_in(Pkg);
    for i in 0..n {
        if v.try_reserve(1).is_err() {
            return rpc.fault(500, "out of pkg memory");
        }
        v.push(i);
    }
    let sum: u64 = v.iter().sum();
    drop(v);
    let Some(copy) = pkg_str_dup(b"pkg copy") else { return rpc.fault(500, "out of pkg memory") };
    rpc.add_str(&sum.to_string());
    rpc.add_str(&String::from_utf8_lossy(copy.as_bytes()));
}

fn rpc_log(rpc: &mut Rpc) {
    let (Some(level), Some(text)) = (rpc.scan_str(), rpc.scan_str()) else {
        return rpc.fault(400, "level and text are required");
    };
    match level.as_str() {
        "err" => lm_err!("{text}"),
        "warn" => lm_warn!("{text}"),
        "notice" => lm_notice!("{text}"),
        "info" => lm_info!("{text}"),
        "dbg" => lm_dbg!("{text}"),
        _ => return rpc.fault(400, "unknown level"),
    }
    rpc.add_int(kamailio::log::enabled(Level::Dbg) as i32);
}

fn rpc_tm(rpc: &mut Rpc) {
    let Some(r) = TM_REPORT.get() else { return rpc.fault(500, "not initialised") };
    let (completed, last) = {
        let g = r.lock();
        (g.completed, g.last_code)
    };
    if let Some(mut s) = rpc.add_struct() {
        s.add_int("completed", completed as i32);
        s.add_int("last_code", last);
    }
}

fn rpc_labels(rpc: &mut Rpc) {
    for l in LABELS.with(|l| l.borrow().clone()) {
        rpc.add_str(&l);
    }
}
