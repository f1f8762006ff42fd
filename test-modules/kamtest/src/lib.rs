//! kamtest: a module used only by the foundation's end-to-end tests (never installed). Each
//! function exercises one part of the foundation inside a real, multi-process Kamailio.

use std::cell::RefCell;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};

use kamailio::db::{eq, module_db, Locking};
use kamailio::log::Level;
use kamailio::mem::{pkg_str_dup, shm_box, Pkg, Shm, ShmGlobal, ShmVec};
use kamailio::pua::{event, source, Publication, PuaApi};
use kamailio::pua_api::Hentity;
use kamailio::sl::SlApi;
use kamailio::tm::{Request, Sent, TmApi};
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

/// The PUBLISH runs driven through pua (ci/bench-pua.sh), when pua is loaded.
static PUA_RUN: ShmGlobal<PuaRun> = ShmGlobal::new();
static PUA: std::sync::OnceLock<PuaApi> = std::sync::OnceLock::new();

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
        "kt_send_plain" => kt_send_plain [0, None, REQUEST_ROUTE],
        "kt_pua_publish" => kt_pua_publish [2, Spve, ANY_ROUTE],
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
        "kamtest.pua_run" => rpc_pua_run, "Start a run of PUBLISHes through pua: mode port first distinct count window expires",
        "kamtest.pua_stats" => rpc_pua_stats, "The PUBLISH run's progress and timing",
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
    // pua is optional: only the PUBLISH benchmark loads it (before this module).
    if let Some(pua) = PuaApi::bind() {
        pua.register_callback(source::UL_PUBLISH, on_pua_reply)?;
        PUA_RUN.set(shm_box(PuaRun::default()).ok_or("out of shared memory")?);
        let _ = PUA.set(pua);
        lm_info!("kamtest: pua is bound");
    }

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
    send_message(msg, Some((on_sent, 7)))
}

/// The same MESSAGE without a completion callback (tm's own costs, for comparison).
fn kt_send_plain(msg: &mut SipMsg, _p: &[CfgParam]) -> i32 {
    send_message(msg, None)
}

fn send_message(msg: &mut SipMsg, on_complete: Option<(kamailio::tm::OnComplete, usize)>) -> i32 {
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
    match tm.send(&req, on_complete) {
        Ok(Sent::Queued) => 1,
        // event_route[tm:local-request] dropped it.
        Ok(Sent::Dropped) => 2,
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
        "total" => COUNTERS.get().map_or(PvValue::Null, |c| PvValue::Int(c.lock().total as i64)),
        "pid" => PvValue::Int(kamailio::pid().into()),
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

/// A run of PUBLISHes through pua, driven by pua's own completion callbacks: `window` chains,
/// each starting its next operation when the previous one's PUBLISH is answered, so at most
/// `window` are in flight. Operation `i` publishes `sip:pua<first + i % distinct>@127.0.0.1:<port>`
/// (a new presentity, or a modify with SIP-If-Match when it is published already); in cycle
/// mode it then removes it again (Expires: 0) before the operation counts as done.
#[repr(C)]
#[derive(Default)]
struct PuaRun {
    /// Tags callbacks with the run they belong to (late replies of an old run are ignored).
    generation: AtomicU32,
    /// 1: publish; 2: cycle (publish, then unpublish).
    mode: AtomicU32,
    port: AtomicU32,
    first: AtomicU32,
    distinct: AtomicU32,
    count: AtomicU32,
    expires: AtomicI32,
    /// The next operation to start.
    next: AtomicU32,
    /// Operations finished (answered or failed).
    done: AtomicU32,
    /// PUBLISHes answered 2xx.
    ok: AtomicU32,
    /// PUBLISHes answered otherwise, not answered, or refused by pua.
    failed: AtomicU32,
    /// The last failure's code (reply status, 0: no reply, or pua's negative code).
    last_failure: AtomicI32,
    start_us: AtomicU64,
    last_us: AtomicU64,
    /// kt_pua_publish's single PUBLISHes answered 2xx / otherwise.
    single_ok: AtomicU32,
    single_failed: AtomicU32,
}

const MODE_PUBLISH: u32 = 1;
const MODE_CYCLE: u32 = 2;

fn now_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// A small PIDF document for `uri`.
fn pidf(uri: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(256);
    b.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"");
    b.extend_from_slice(uri);
    b.extend_from_slice(b"\"><tuple id=\"kt1\"><status><basic>open</basic></status><note>benchmark</note></tuple></presence>\n");
    b
}

/// cb_param: run generation, operation index and phase (0 publish, 1 unpublish); never 0.
fn tag(generation: u32, index: u32, phase: u32) -> usize {
    ((generation as usize) << 33) | ((index as usize) << 1) | phase as usize
}

fn untag(t: usize) -> (u32, u32, u32) {
    ((t >> 33) as u32, ((t >> 1) & 0xffff_ffff) as u32, (t & 1) as u32)
}

/// Sends the PUBLISH (phase 0) or the removal (phase 1) of operation `index`.
fn pua_send(run: &PuaRun, generation: u32, index: u32, phase: u32) -> Result<(), String> {
    let pua = PUA.get().ok_or("pua is not bound")?;
    let n = run.first.load(Ordering::Relaxed) as u64 + (index % run.distinct.load(Ordering::Relaxed).max(1)) as u64;
    let uri = format!("sip:pua{n}@127.0.0.1:{}", run.port.load(Ordering::Relaxed)).into_bytes();
    let body = pidf(&uri);
    let p = Publication {
        pres_uri: &uri,
        body: (phase == 0).then_some(&body[..]),
        expires: if phase == 0 { run.expires.load(Ordering::Relaxed) } else { 0 },
        source_flag: source::UL_PUBLISH,
        event: event::PRESENCE,
        content_type: b"application/pidf+xml",
        cb_param: tag(generation, index, phase),
        ..Default::default()
    };
    pua.send_publish(&p).map_err(|e| {
        let code = match e {
            kamailio::pua::PublishError::NoBody => -10,
            kamailio::pua::PublishError::WrongEtag => 418,
            kamailio::pua::PublishError::Failed(rc) => rc,
        };
        run.last_failure.store(code, Ordering::Relaxed);
        format!("{} for {}", e, String::from_utf8_lossy(&uri))
    })
}

/// Starts the next operations of the run until one is in flight (or none is left).
fn pua_start_next(run: &PuaRun, generation: u32) {
    let count = run.count.load(Ordering::Relaxed);
    loop {
        let i = run.next.fetch_add(1, Ordering::Relaxed);
        if i >= count {
            return;
        }
        match pua_send(run, generation, i, 0) {
            Ok(()) => return,
            Err(e) => {
                lm_err!("pua run: {e}");
                run.failed.fetch_add(1, Ordering::Relaxed);
                pua_finish(run);
            }
        }
    }
}

fn pua_finish(run: &PuaRun) {
    run.done.fetch_add(1, Ordering::Relaxed);
    run.last_us.fetch_max(now_us(), Ordering::Relaxed);
}

/// pua's callback for UL_PUBLISH requests: counts, then continues the chain.
fn on_pua_reply(h: &Hentity, reply: Option<&mut SipMsg>) {
    let Some(run) = PUA_RUN.get() else { return };
    let code = reply.and_then(|m| m.status()).map_or(0, |c| c as i32);
    let ok = (200..300).contains(&code);
    if h.cb_param == 0 {
        let c = if ok { &run.single_ok } else { &run.single_failed };
        c.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let (generation, index, phase) = untag(h.cb_param);
    if generation != run.generation.load(Ordering::Relaxed) {
        return;
    }
    if ok {
        run.ok.fetch_add(1, Ordering::Relaxed);
    } else {
        run.failed.fetch_add(1, Ordering::Relaxed);
        run.last_failure.store(code, Ordering::Relaxed);
    }
    if ok && phase == 0 && run.mode.load(Ordering::Relaxed) == MODE_CYCLE {
        match pua_send(run, generation, index, 1) {
            Ok(()) => return,
            Err(e) => {
                lm_err!("pua run: removal: {e}");
                run.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    pua_finish(run);
    pua_start_next(run, generation);
}

/// `kamtest.pua_run mode port first distinct count window expires`: starts a run (mode 1
/// publish, 2 publish+unpublish cycles); answers the run's generation.
fn rpc_pua_run(rpc: &mut Rpc) {
    let Some(run) = PUA_RUN.get() else { return rpc.fault(500, "pua is not loaded") };
    let mut args = [0i32; 7];
    for a in args.iter_mut() {
        match rpc.scan_int() {
            Some(v) => *a = v,
            None => return rpc.fault(400, "mode port first distinct count window expires are required"),
        }
    }
    let [mode, port, first, distinct, count, window, expires] = args;
    if ![MODE_PUBLISH, MODE_CYCLE].contains(&(mode as u32)) || port <= 0 || first < 0 || distinct <= 0 || count < 0 || window <= 0 {
        return rpc.fault(400, "mode 1 or 2; port, distinct and window positive; first and count not negative");
    }
    let done = run.done.load(Ordering::Relaxed);
    if done < run.count.load(Ordering::Relaxed) {
        return rpc.fault(409, &format!("a run is still going ({done} of {} done)", run.count.load(Ordering::Relaxed)));
    }
    let generation = run.generation.load(Ordering::Relaxed).wrapping_add(1).max(1);
    run.mode.store(mode as u32, Ordering::Relaxed);
    run.port.store(port as u32, Ordering::Relaxed);
    run.first.store(first as u32, Ordering::Relaxed);
    run.distinct.store(distinct as u32, Ordering::Relaxed);
    run.expires.store(expires, Ordering::Relaxed);
    run.next.store(0, Ordering::Relaxed);
    run.done.store(0, Ordering::Relaxed);
    run.ok.store(0, Ordering::Relaxed);
    run.failed.store(0, Ordering::Relaxed);
    run.last_failure.store(0, Ordering::Relaxed);
    let t = now_us();
    run.start_us.store(t, Ordering::Relaxed);
    run.last_us.store(t, Ordering::Relaxed);
    run.count.store(count as u32, Ordering::Relaxed);
    run.generation.store(generation, Ordering::SeqCst);
    for _ in 0..window.min(count.max(0)) {
        pua_start_next(run, generation);
    }
    rpc.add_int(generation as i32);
}

/// `kamtest.pua_stats`: count, done, ok, failed, last_failure, elapsed_us (start to the last
/// completion), single_ok, single_failed.
fn rpc_pua_stats(rpc: &mut Rpc) {
    let Some(run) = PUA_RUN.get() else { return rpc.fault(500, "pua is not loaded") };
    let elapsed = run.last_us.load(Ordering::Relaxed).saturating_sub(run.start_us.load(Ordering::Relaxed));
    if let Some(mut s) = rpc.add_struct() {
        s.add_int("count", run.count.load(Ordering::Relaxed) as i32);
        s.add_int("done", run.done.load(Ordering::Relaxed) as i32);
        s.add_int("ok", run.ok.load(Ordering::Relaxed) as i32);
        s.add_int("failed", run.failed.load(Ordering::Relaxed) as i32);
        s.add_int("last_failure", run.last_failure.load(Ordering::Relaxed));
        s.add_int("elapsed_us", elapsed.min(i32::MAX as u64) as i32);
        s.add_int("single_ok", run.single_ok.load(Ordering::Relaxed) as i32);
        s.add_int("single_failed", run.single_failed.load(Ordering::Relaxed) as i32);
    }
}

/// `kt_pua_publish(uri, expires)`: one PUBLISH of a small PIDF document through pua (event
/// presence, source UL_PUBLISH; expires 0 removes the publication).
fn kt_pua_publish(msg: &mut SipMsg, p: &[CfgParam]) -> i32 {
    let (Some(uri), Some(expires)) = (p[0].bytes(msg), p[1].int(msg)) else { return -1 };
    let Some(pua) = PUA.get() else {
        lm_err!("kt_pua_publish: pua is not loaded");
        return -1;
    };
    let body = pidf(&uri);
    let publ = Publication {
        pres_uri: &uri,
        body: (expires != 0).then_some(&body[..]),
        expires,
        source_flag: source::UL_PUBLISH,
        event: event::PRESENCE,
        content_type: b"application/pidf+xml",
        ..Default::default()
    };
    match pua.send_publish(&publ) {
        Ok(()) => 1,
        Err(e) => {
            lm_err!("kt_pua_publish: {e}");
            -1
        }
    }
}
