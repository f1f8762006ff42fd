//! The Kamailio side of pua: parameters, the `bind_pua` and `bind_libxml_api` exports, the
//! stores, the refresh timer, persistence, `pua_update_contact()` and the `pua.cleanup` RPC.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use kamailio::db::module_db;
use kamailio::mem::{shm_box, Shm};
use kamailio::pua_api::{self, BodyProcessor, DialogRef, Publish, PuaProvider, Subscribe};
use kamailio::tm::TmApi;
use kamailio::target::SERIES;
use kamailio::{libxml_api, lm_err, lm_info, lm_warn, module, sys, timer, CfgParam, Error, IntParam, Rank, Rpc, ShmGlobal, SipMsg, StrParam};

use crate::db_store::DbStore;
use crate::events::{self, Processor};
use crate::persist;
use crate::record::{DialogId, RecordView};
use crate::store::{MemStore, Store};
use crate::ua;

/// The `pua` table version this module reads and writes.
const TABLE_VERSION: u32 = 7;

static HASH_SIZE: IntParam = IntParam::new(-1);
static DB_URL: StrParam = StrParam::new("mysql://kamailio:kamailiorw@localhost/kamailio");
static DB_TABLE: StrParam = StrParam::new("pua");
static MIN_EXPIRES: IntParam = IntParam::new(0);
static DEFAULT_EXPIRES: IntParam = IntParam::new(3600);
static UPDATE_PERIOD: IntParam = IntParam::new(100);
static OUTBOUND_PROXY: StrParam = StrParam::new("");
static DLGINFO_INCREASE_VERSION: IntParam = IntParam::new(0);
static REGINFO_INCREASE_VERSION: IntParam = IntParam::new(0);
static CHECK_REMOTE_CONTACT: IntParam = IntParam::new(1);
static DB_MODE: IntParam = IntParam::new(0);
static FETCH_ROWS: IntParam = IntParam::new(500);
static DB_TABLE_LOCK_WRITE: IntParam = IntParam::new(1);

module! {
    name: "pua",
    params: {
        "hash_size" => HASH_SIZE,
        "db_url" => DB_URL,
        "db_table" => DB_TABLE,
        "min_expires" => MIN_EXPIRES,
        "default_expires" => DEFAULT_EXPIRES,
        "update_period" => UPDATE_PERIOD,
        "outbound_proxy" => OUTBOUND_PROXY,
        "dlginfo_increase_version" => DLGINFO_INCREASE_VERSION,
        "reginfo_increase_version" => REGINFO_INCREASE_VERSION,
        "check_remote_contact" => CHECK_REMOTE_CONTACT,
        "db_mode" => DB_MODE,
        "fetch_rows" => FETCH_ROWS,
        "db_table_lock_write" => DB_TABLE_LOCK_WRITE,
    },
    functions: { "pua_update_contact" => cfg_update_contact [0, None, REQUEST_ROUTE] },
    apis: {
        "bind_libxml_api" => bind_libxml_api [1, sys::libxml_api_t],
        "bind_pua" => bind_pua [1, sys::pua_api_t],
    },
    rpc: { "pua.cleanup" => rpc_cleanup, "Refresh what is due and remove expired records now" },
    kemi: { "pua_update_contact" => kemi_update_contact [0] },
    counters: crate::stats::ALL,
    init: mod_init,
    child_init: child_init,
    destroy: destroy,
}

static TM: OnceLock<TmApi> = OnceLock::new();
static MEM: ShmGlobal<MemStore<Shm>> = ShmGlobal::new();
static DB: OnceLock<DbStore> = OnceLock::new();
/// Counts changes to the memory store, so the timer writes the table only when needed.
static CHANGES: ShmGlobal<AtomicU64> = ShmGlobal::new();
/// The change count the last save wrote (timer process only).
static SAVED: AtomicU64 = AtomicU64::new(0);

pub fn now() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as u32).unwrap_or(0)
}

pub fn default_expires() -> i32 {
    DEFAULT_EXPIRES.get()
}

pub fn min_expires() -> i32 {
    MIN_EXPIRES.get()
}

pub fn outbound_proxy() -> String {
    OUTBOUND_PROXY.get().into_owned()
}

pub fn check_remote_contact() -> bool {
    CHECK_REMOTE_CONTACT.get() == 1
}

pub fn tm() -> Result<&'static TmApi, Error> {
    TM.get().ok_or_else(|| Error::from("tm is not bound"))
}

/// The store for this db_mode.
pub fn store() -> Option<&'static dyn Store> {
    if let Some(m) = MEM.get() {
        return Some(m);
    }
    match DB.get() {
        Some(d) => Some(d),
        None => {
            lm_err!("pua is not initialised");
            None
        }
    }
}

/// How many records there are, for the `records` statistic (read in the reading process: the
/// memory table's buckets, or in db_mode 2 a query on this process's connection).
pub fn record_count() -> i64 {
    let store = MEM.get().map(|m| m as &dyn Store).or_else(|| DB.get().map(|d| d as &dyn Store));
    store.and_then(|s| s.count().ok()).map_or(0, |n| n as i64)
}

/// Notes that the memory store changed (db_mode 0 saves it at the next timer run).
pub fn changed() {
    if let Some(c) = CHANGES.get() {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

fn mod_init() -> Result<(), Error> {
    if MIN_EXPIRES.get() < 0 {
        MIN_EXPIRES.set(0);
    }
    if DEFAULT_EXPIRES.get() < 600 {
        lm_warn!("default_expires {} is below 600 s; 3600 is used", DEFAULT_EXPIRES.get());
        DEFAULT_EXPIRES.set(3600);
    }
    let period = UPDATE_PERIOD.get();
    if period < 0 || (1..=5).contains(&period) {
        return Err(Error::from(format!("update_period must be 0 (no timer) or more than 5 seconds, not {period}")));
    }
    if !(0..=1).contains(&CHECK_REMOTE_CONTACT.get()) {
        return Err(Error::from(format!("check_remote_contact must be 0 or 1, not {}", CHECK_REMOTE_CONTACT.get())));
    }
    if DB_MODE.get() != 0 && DB_MODE.get() != 2 {
        lm_err!("db_mode {} is not supported; 0 (memory, saved to the table) is used", DB_MODE.get());
        DB_MODE.set(0);
    }
    if FETCH_ROWS.get() <= 0 {
        return Err(Error::from(format!("fetch_rows must be positive, not {}", FETCH_ROWS.get())));
    }
    let hs = HASH_SIZE.get();
    if hs > 24 {
        return Err(Error::from(format!("hash_size {hs} is too large (at most 24, for 2^24 buckets)")));
    }
    let buckets = if hs <= 1 { 512 } else { 1usize << hs };

    let tm = TmApi::bind()?;
    let _ = TM.set(tm);
    let table = DB_TABLE.get().into_owned();
    module_db::bind(&DB_URL.get(), Some((&table, TABLE_VERSION)))?;

    if DB_MODE.get() == 2 {
        let _ = DB.set(DbStore::new(&table, DB_TABLE_LOCK_WRITE.get() == 1));
    } else {
        let mem = MemStore::new(buckets, Shm).map_err(|e| Error::from(e.to_string()))?;
        let mem = shm_box(mem).ok_or_else(|| Error::from("out of shared memory for the record table"))?;
        MEM.set(mem);
        CHANGES.set(shm_box(AtomicU64::new(0)).ok_or_else(|| Error::from("out of shared memory"))?);
        let rows = persist::load(&table).map_err(|e| Error::from(format!("cannot load the {table} table: {e}")))?;
        let n = rows.len();
        let store = store().ok_or("no store")?;
        for r in rows {
            store.insert(r).map_err(|e| Error::from(e.to_string()))?;
        }
        lm_info!("{n} records loaded from the {table} table");
    }
    // Stock 5.6 numbers reg bodies on dlginfo_increase_version (configurations relying on that
    // keep it, and reginfo_increase_version does what its documentation says too); 6.0 reads
    // reginfo_increase_version alone.
    let dlginfo = DLGINFO_INCREASE_VERSION.get() != 0;
    let reginfo = REGINFO_INCREASE_VERSION.get() != 0;
    let six = SERIES.at_least_6_0();
    events::register_builtin(dlginfo, reginfo || (dlginfo && !six), six);

    if period > 0 {
        timer::register(|_| sweep(), (period - 5) as u32)?;
        if DB_MODE.get() == 0 {
            timer::register(|_| save(), period as u32)?;
        }
    }
    Ok(())
}

fn child_init(rank: Rank) -> Result<(), Error> {
    Ok(module_db::connect(rank)?)
}

fn destroy() {
    // Saved here too, so a graceful stop loses nothing the timer had not written yet. The core
    // calls this in the main process once every other process has ended.
    if MEM.get().is_some() && kamailio::process_no() == 0 {
        write_if_changed(|mem| {
            let (records, held) = mem.snapshot_at_exit();
            if held > 0 {
                lm_err!("{held} buckets of the record table are still locked by a process that ended inside them; their records are not saved");
            }
            records
        });
    }
    pua_api::release_callbacks();
    module_db::close();
}

/// Writes the memory store to the table when it changed since the last save.
fn save() {
    write_if_changed(MemStore::snapshot);
}

/// Writes the records `snapshot` reads to the table when the memory store changed since the
/// last save.
fn write_if_changed(snapshot: impl FnOnce(&MemStore<Shm>) -> Vec<crate::record::Record>) {
    let (Some(mem), Some(changes)) = (MEM.get(), CHANGES.get()) else { return };
    let seen = changes.load(Ordering::Relaxed);
    if seen == SAVED.load(Ordering::Relaxed) {
        return;
    }
    match persist::save(&DB_TABLE.get(), &snapshot(mem), now()) {
        Ok(_) => SAVED.store(seen, Ordering::Relaxed),
        Err(e) => lm_err!("cannot save the records to the {} table: {e}", DB_TABLE.get()),
    }
}

/// Refreshes what is due and removes what has ended.
fn sweep() {
    let Some(store) = store() else { return };
    // Refreshes change records when their replies come; the sweep itself only removes.
    let count = || MEM.get().and_then(|m| m.count().ok());
    let before = count();
    match store.sweep(now(), UPDATE_PERIOD.get().max(0) as u32, MIN_EXPIRES.get() as u32) {
        Ok(due) => {
            if count() != before {
                changed();
            }
            ua::refresh(due);
        }
        Err(e) => lm_err!("refresh sweep: {e}"),
    }
}

fn rpc_cleanup(_rpc: &mut Rpc) {
    sweep();
}

fn bind_pua(api: &mut sys::pua_api_t) -> i32 {
    pua_api::fill_api::<Provider>(api)
}

fn bind_libxml_api(api: &mut sys::libxml_api_t) -> i32 {
    libxml_api::fill_api(api)
}

/// The provider behind `bind_pua`.
struct Provider;

impl PuaProvider for Provider {
    fn send_publish(p: Publish) -> i32 {
        ua::send_publish(p)
    }

    fn send_subscribe(s: Subscribe) -> i32 {
        ua::send_subscribe(s)
    }

    fn is_dialog(d: &DialogRef) -> i32 {
        let Some(store) = store() else { return -1 };
        let id = DialogId { call_id: d.call_id.clone(), from_tag: d.from_tag.clone(), to_tag: d.to_tag.clone() };
        if !d.to_tag.is_empty() {
            match store.dialog(&d.pres_uri, &id) {
                Ok(Some(r)) if r.flag & d.flag != 0 => return 0,
                Ok(_) => {}
                Err(e) => {
                    lm_err!("is_dialog: {e}");
                    return -1;
                }
            }
        }
        match store.dialog_by_call_id(&d.pres_uri, &d.call_id, Some(&d.from_tag)) {
            Ok(Some(r)) if r.is_temporary() => 1,
            _ => -1,
        }
    }

    fn get_record_id(d: &DialogRef) -> Result<Option<Vec<u8>>, Error> {
        let store = store().ok_or("pua is not initialised")?;
        let id = DialogId { call_id: d.call_id.clone(), from_tag: d.from_tag.clone(), to_tag: d.to_tag.clone() };
        let found = match store.dialog(&d.pres_uri, &id).map_err(|e| Error::from(e.0))? {
            Some(r) => Some(r),
            // A dialog still waiting for its first reply has no remote tag yet.
            None => store.dialog_by_call_id(&d.pres_uri, &d.call_id, Some(&d.from_tag)).map_err(|e| Error::from(e.0))?,
        };
        Ok(found.map(|r| r.id))
    }

    fn add_event(flag: i32, name: &str, content_type: &str, processor: Option<BodyProcessor>) -> i32 {
        events::add(flag, name, content_type, processor.map_or(Processor::PassThrough, Processor::External))
    }

    fn get_subs_list(did: &[u8]) -> Vec<Vec<u8>> {
        store().and_then(|s| s.subs_list(did).map_err(|e| lm_err!("get_subs_list: {e}")).ok()).unwrap_or_default()
    }
}

fn cfg_update_contact(msg: &mut SipMsg, _: &[CfgParam]) -> i32 {
    update_contact(msg)
}

fn kemi_update_contact(msg: &mut SipMsg, _: &[String]) -> i32 {
    update_contact(msg)
}

/// For a NOTIFY inside one of our SUBSCRIBE dialogs: its Contact becomes the dialog's
/// remote target, so the next refresh goes there. The NOTIFY comes from the presence server:
/// its From tag is the dialog's remote tag and its To tag ours.
fn update_contact(msg: &mut SipMsg) -> i32 {
    let Some(call_id) = msg.call_id().map(<[u8]>::to_vec) else {
        lm_err!("pua_update_contact: no Call-ID");
        return -1;
    };
    let Some((from_uri, from_tag)) = msg.from().map(|(u, t)| (u.to_vec(), t.to_vec())) else {
        lm_err!("pua_update_contact: no valid From");
        return -1;
    };
    let Some((_, to_tag)) = msg.to().map(|(u, t)| (u.to_vec(), t.to_vec())) else {
        lm_err!("pua_update_contact: no valid To");
        return -1;
    };
    if from_tag.is_empty() || to_tag.is_empty() {
        lm_err!("pua_update_contact: the request is not inside a dialog (a tag is missing)");
        return -1;
    }
    let contact = match msg.contact_uri() {
        Ok(Some(c)) => c.to_vec(),
        _ => {
            lm_err!("pua_update_contact: no valid Contact");
            return -1;
        }
    };
    let Some(store) = store() else { return -1 };
    let id = DialogId { call_id, from_tag: to_tag, to_tag: from_tag };
    // The server may write the presentity's URI differently: then every bucket is searched.
    let found = store.dialog(&from_uri, &id).and_then(|r| match r {
        None => store.dialog(b"", &id),
        some => Ok(some),
    });
    match found {
        Ok(Some(r)) => match store.update_dialog(&r.pres_uri, &id, r.expires, r.cseq, Some(&contact)) {
            Ok(true) => {
                changed();
                1
            }
            Ok(false) => -1,
            Err(e) => {
                lm_err!("pua_update_contact: {e}");
                -1
            }
        },
        Ok(None) => {
            lm_err!("pua_update_contact: no subscription dialog for this NOTIFY");
            -1
        }
        Err(e) => {
            lm_err!("pua_update_contact: {e}");
            -1
        }
    }
}
