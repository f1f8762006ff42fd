//! The Kamailio side of xcap_server: parameters, `xcaps_put/get/del` (config functions and
//! KEMI), `$xcapuri`, the per-process DB connection and the replies through sl.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use kamailio::db::{module_db, DbConn, Locking};
use kamailio::lock::ShmLock;
use kamailio::mem::{shm_box, ShmGlobal};
use kamailio::msg::parse_uri;
use kamailio::sl::SlApi;
use kamailio::{lm_err, lm_info, module, CfgParam, Error, IntParam, ParamValue, PvValue, Rank, SipMsg, StrParam};

use crate::handler::{self, Request, Response};
use crate::pvar::{self, XcapUriKey};
use crate::stats;
use crate::store;
use crate::uri::XcapUri;

static DB_URL: StrParam = StrParam::new("mysql://kamailio:kamailiorw@localhost/kamailio");
static XCAP_TABLE: StrParam = StrParam::new("xcap");
static XCAP_ROOT: StrParam = StrParam::new("/xcap-root/");
/// Documents may be up to `buf_size - 1` bytes, as with the stock module.
static BUF_SIZE: IntParam = IntParam::new(8192);
/// -1: https for requests that came over TLS, else http; 0: http; 1: https.
static DIRECTORY_SCHEME: IntParam = IntParam::new(-1);
static DIRECTORY_HOSTNAME: StrParam = StrParam::new("");
/// 1: every change of a user's documents is published (through pua) as an xcap-diff.
static PUBLISH_XCAPDIFF: IntParam = IntParam::new(0);
/// 1: a PUT body's Content-Type must fit the resource (else 415); 0: any is accepted, as
/// by the stock module, but an element or attribute PUT must carry one (else 415).
static STRICT_CONTENT_TYPE: IntParam = IntParam::new(0);
/// 1: a document that breaks its usage's schema is refused (409); 0: stored if well-formed,
/// as by the stock module.
static SCHEMA_VALIDATION: IntParam = IntParam::new(1);

/// `xml_ns` bindings (prefix, namespace), usable in node selectors without an `xmlns()`
/// query. Set while the config is parsed, before the fork.
static XML_NS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

static SL: OnceLock<SlApi> = OnceLock::new();
/// When this server started, for entity tags unique across restarts.
static START_TIME: OnceLock<u64> = OnceLock::new();

/// Where the driver cannot count the rows an UPDATE changed (db_sqlite), documents are read,
/// changed and written under one of these locks (by document URI), so that concurrent requests
/// in different workers do not lose each other's changes. Where it can, no lock is held across
/// the database's round trips: the write is conditional on the entity tag read before, and a
/// lost race is retried (`handler::with_retries`), as between nodes sharing the database.
const LOCK_STRIPES: usize = 64;
static LOCKS: ShmGlobal<[ShmLock; LOCK_STRIPES]> = ShmGlobal::new();
/// SQLite takes one writer at a time and db_sqlite sets no busy timeout, so a write that
/// meets another fails ("database is locked"): on SQLite all documents share one lock. Set
/// in mod_init, before the fork.
static ONE_WRITER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// The database compares the key columns byte for byte (not MySQL/MariaDB): a whole document
/// may then be written by its key without reading it first. Set in mod_init.
static EXACT_KEYS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

thread_local! {
    static ETAG_COUNTER: Cell<u64> = const { Cell::new(0) };
    /// `$xcapuri(name=>...)` state, per name, in this process.
    static XCAPURI: RefCell<HashMap<String, XcapUri>> = RefCell::new(HashMap::new());
}

module! {
    name: "xcap_server",
    params: {
        "db_url" => DB_URL,
        "xcap_table" => XCAP_TABLE,
        "xcap_root" => XCAP_ROOT,
        "buf_size" => BUF_SIZE,
        "directory_scheme" => DIRECTORY_SCHEME,
        "directory_hostname" => DIRECTORY_HOSTNAME,
        "publish_xcapdiff" => PUBLISH_XCAPDIFF,
        "strict_content_type" => STRICT_CONTENT_TYPE,
        "schema_validation" => SCHEMA_VALIDATION,
    },
    param_fns: { "xml_ns" => Str add_xml_ns },
    functions: {
        "xcaps_put" => w_xcaps_put [3, Spve, REQUEST_ROUTE],
        "xcaps_get" => w_xcaps_get [2, Spve, REQUEST_ROUTE],
        "xcaps_del" => w_xcaps_del [2, Spve, REQUEST_ROUTE],
    },
    pvs: { "xcapuri" => pv_get_xcapuri, pv_set_xcapuri },
    kemi: {
        "xcaps_put" => ki_xcaps_put [3],
        "xcaps_get" => ki_xcaps_get [2],
        "xcaps_del" => ki_xcaps_del [2],
    },
    counters: stats::ALL,
    init: mod_init,
    child_init: child_init,
    destroy: destroy,
}

/// `prefix=namespace`, or a bare namespace (bound to no prefix, so it is ignored).
fn add_xml_ns(v: ParamValue) -> Result<(), Error> {
    let ParamValue::Str(s) = v else { return Err(Error::from("xml_ns takes a string")) };
    match s.split_once('=') {
        Some((prefix, ns)) if !prefix.trim().is_empty() && !ns.trim().is_empty() => {
            XML_NS.lock().map_err(|_| Error::from("xml_ns"))?.push((prefix.trim().to_string(), ns.trim().to_string()));
            Ok(())
        }
        Some(_) => Err(Error::from(format!("xml_ns must be prefix=namespace, not {s:?}"))),
        None => Ok(()),
    }
}

fn mod_init() -> Result<(), Error> {
    let scheme = DIRECTORY_SCHEME.get();
    if !(-1..=1).contains(&scheme) {
        return Err(Error::from(format!("directory_scheme must be -1, 0 or 1, not {scheme}")));
    }
    if BUF_SIZE.get() <= 1 {
        return Err(Error::from(format!("buf_size must be more than 1, not {}", BUF_SIZE.get())));
    }
    if XCAP_ROOT.get().is_empty() {
        return Err(Error::from("xcap_root must not be empty"));
    }
    match PUBLISH_XCAPDIFF.get() {
        0 => {}
        1 => crate::xcapdiff_publish::init(list_documents, &XCAP_ROOT.get())?,
        v => return Err(Error::from(format!("publish_xcapdiff must be 0 or 1, not {v}"))),
    }
    module_db::bind(&DB_URL.get(), Some((&XCAP_TABLE.get(), store::TABLE_VERSION)))?;
    let _ = SL.set(SlApi::bind()?);
    LOCKS.set(shm_box(std::array::from_fn(|_| ShmLock::new())).ok_or("out of shared memory")?);
    ONE_WRITER.store(DB_URL.get().starts_with("sqlite:"), std::sync::atomic::Ordering::Relaxed);
    EXACT_KEYS.store(!kamailio::db::compares_case_blind(&DB_URL.get()), std::sync::atomic::Ordering::Relaxed);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let _ = START_TIME.set(now);
    Ok(())
}

fn child_init(rank: Rank) -> Result<(), Error> {
    Ok(module_db::connect(rank)?)
}

fn destroy() {
    module_db::close();
}

fn w_xcaps_put(msg: &mut SipMsg, p: &[CfgParam]) -> i32 {
    let (Some(uri), Some(path), Some(doc)) = (p[0].string(msg), p[1].string(msg), p[2].bytes(msg)) else {
        lm_err!("xcaps_put: cannot evaluate the parameters");
        return -1;
    };
    xcaps(msg, handler::Method::Put, &uri, &path, Some(&doc))
}

fn w_xcaps_get(msg: &mut SipMsg, p: &[CfgParam]) -> i32 {
    let (Some(uri), Some(path)) = (p[0].string(msg), p[1].string(msg)) else {
        lm_err!("xcaps_get: cannot evaluate the parameters");
        return -1;
    };
    xcaps(msg, handler::Method::Get, &uri, &path, None)
}

fn w_xcaps_del(msg: &mut SipMsg, p: &[CfgParam]) -> i32 {
    let (Some(uri), Some(path)) = (p[0].string(msg), p[1].string(msg)) else {
        lm_err!("xcaps_del: cannot evaluate the parameters");
        return -1;
    };
    xcaps(msg, handler::Method::Delete, &uri, &path, None)
}

fn ki_xcaps_put(msg: &mut SipMsg, p: &[String]) -> i32 {
    xcaps(msg, handler::Method::Put, &p[0], &p[1], Some(p[2].as_bytes()))
}

fn ki_xcaps_get(msg: &mut SipMsg, p: &[String]) -> i32 {
    xcaps(msg, handler::Method::Get, &p[0], &p[1], None)
}

fn ki_xcaps_del(msg: &mut SipMsg, p: &[String]) -> i32 {
    xcaps(msg, handler::Method::Delete, &p[0], &p[1], None)
}

/// Handles one XCAP request and replies. Returns 1 after a reply, -2 after 412 or 304, -1
/// after a server error (500), and -1 without a reply for an empty URI or path.
fn xcaps(msg: &mut SipMsg, method: handler::Method, owner: &str, path: &str, body: Option<&[u8]>) -> i32 {
    if owner.is_empty() || path.is_empty() {
        lm_err!("xcaps: empty owner URI or path");
        return -1;
    }
    let owner_uri = parse_uri(owner);
    // One pass over the headers; several may carry entity tags.
    let headers: Vec<(String, String)> = msg
        .headers()
        .into_iter()
        .map(|(n, v)| (String::from_utf8_lossy(n).to_ascii_lowercase(), String::from_utf8_lossy(v).trim().to_string()))
        .collect();
    let values = |name: &str| -> Vec<&str> { headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect() };
    let if_match = values("if-match");
    let if_none_match = values("if-none-match");
    let content_type = values("content-type").first().map(|v| v.to_string());
    let scheme = match DIRECTORY_SCHEME.get() {
        0 => "http",
        1 => "https",
        _ if msg.received_over_tls() => "https",
        _ => "http",
    };
    let hostname = match DIRECTORY_HOSTNAME.get() {
        h if !h.is_empty() => h.into_owned(),
        _ => match values("host").first() {
            Some(host) => host.to_string(),
            None => msg.local_address(),
        },
    };
    let extra_ns = XML_NS.lock().map(|v| v.clone()).unwrap_or_default();
    let directory_base = format!("{scheme}://{hostname}");
    let req = Request {
        method,
        owner: owner_uri.as_ref().map(|u| (u.user.as_str(), u.host.as_str())),
        path,
        xcap_root: &XCAP_ROOT.get(),
        body,
        content_type: content_type.as_deref(),
        strict_content_type: STRICT_CONTENT_TYPE.get() != 0,
        schema_validation: SCHEMA_VALIDATION.get() != 0,
        if_match: &if_match,
        if_none_match: &if_none_match,
        max_doc_bytes: (BUF_SIZE.get() - 1) as usize,
        directory_base: &directory_base,
        extra_namespaces: &extra_ns,
        exact_changes: crate::xcapdiff_publish::enabled(),
    };
    let response = module_db::with(|conn| {
        let mut env = Env { conn, table: XCAP_TABLE.get().into_owned() };
        Ok::<_, Error>(handler::handle(&req, &mut env))
    })
    .unwrap_or_else(|e| {
        // No connection in this process.
        stats::DB_ERRORS.inc();
        lm_err!("xcaps: {e}");
        Response::server_error()
    });
    stats::count(method, &response);
    if let Some(line) = &response.log {
        if response.status >= 500 {
            lm_err!("{line} (owner {owner:?}, path {path:?})");
        } else {
            lm_info!("{line}");
        }
    }
    let rc = reply(msg, &response);
    // After the reply: the client never waits for presence.
    if let (Some(change), Some(_)) = (&response.change, &owner_uri) {
        if crate::xcapdiff_publish::enabled() {
            publish_change(owner, change, &directory_base);
        }
    }
    rc
}

/// Publishes what `change` did to the owner's documents (when the owner's PUBLISH goes).
fn publish_change(owner: &str, change: &handler::Change, directory_base: &str) {
    crate::xcapdiff_publish::publish(owner, &format!("{directory_base}{}", XCAP_ROOT.get()), change);
}

/// The documents of the owner `uri` (document path, entity tag), for its xcap-diff.
fn list_documents(uri: &str) -> Result<Vec<(String, String)>, String> {
    let owner = parse_uri(uri).ok_or_else(|| format!("{uri:?} is not a SIP URI"))?;
    let docs = stats::db(module_db::with(|conn| store::list(conn, &XCAP_TABLE.get(), &owner.user, &owner.host).map_err(|e| Error::from(e.0))))
        .map_err(|e| e.to_string())?;
    Ok(docs.into_iter().map(|d| (d.doc_uri, d.etag)).collect())
}

/// Sends the response; the return value the script sees.
fn reply(msg: &mut SipMsg, r: &Response) -> i32 {
    let headers: Vec<(&str, &str)> = r.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let Some(sl) = SL.get() else { return -1 };
    if let Err(e) = sl.reply(msg, r.status as u32, r.reason, &headers, r.body.as_deref()) {
        lm_err!("xcaps: {e}");
        return -1;
    }
    match r.status {
        304 | 412 => -2,
        500..=599 => -1,
        _ => 1,
    }
}

/// The storage and locks the request handler works with.
struct Env<'a> {
    conn: &'a mut DbConn,
    table: String,
}

impl handler::Storage for Env<'_> {
    fn fetch(&mut self, key: &store::DocKey) -> Result<Option<store::StoredDoc>, String> {
        stats::db(store::fetch(self.conn, &self.table, key)).map_err(|e| e.0)
    }
    fn fetch_etag(&mut self, key: &store::DocKey) -> Result<Option<String>, String> {
        stats::db(store::fetch_etag(self.conn, &self.table, key)).map_err(|e| e.0)
    }
    fn store(&mut self, key: &store::DocKey, expected: Option<&str>, doc_type: i32, doc: &[u8], etag: &str) -> Result<store::Written, String> {
        stats::db(store::store(self.conn, &self.table, key, expected, doc_type, doc, etag)).map_err(|e| e.0)
    }
    fn replaces(&mut self) -> bool {
        self.conn.counts_rows() && EXACT_KEYS.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn replace(&mut self, key: &store::DocKey, doc_type: i32, doc: &[u8], etag: &str) -> Result<store::Written, String> {
        store::replace(self.conn, &self.table, key, doc_type, doc, etag).map_err(|e| e.0)
    }
    fn remove(&mut self, key: &store::DocKey, expected: &str) -> Result<store::Written, String> {
        stats::db(store::remove(self.conn, &self.table, key, expected)).map_err(|e| e.0)
    }
    fn list(&mut self, username: &str, domain: &str) -> Result<Vec<store::DirEntry>, String> {
        stats::db(store::list(self.conn, &self.table, username, domain)).map_err(|e| e.0)
    }
    fn all_of_type(&mut self, doc_type: i32) -> Result<Vec<store::TypedDoc>, String> {
        stats::db(store::all_of_type(self.conn, &self.table, doc_type)).map_err(|e| e.0)
    }
    fn new_etag(&mut self) -> String {
        let n = ETAG_COUNTER.with(|c| {
            c.set(c.get() + 1);
            c.get()
        });
        xcap::etag::new_etag(START_TIME.get().copied().unwrap_or(0), kamailio::pid() as u32, n)
    }
    fn locked<T>(&mut self, doc_uri: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let Some(locks) = LOCKS.get() else { return f(self) };
        if self.conn.counts_rows() {
            return f(self);
        }
        let stripe = if ONE_WRITER.load(std::sync::atomic::Ordering::Relaxed) {
            0
        } else {
            doc_uri.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)) % LOCK_STRIPES
        };
        locks[stripe].lock();
        // Released also if `f` panics (the panic is caught further up).
        struct Release<'l>(&'l ShmLock);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.unlock();
            }
        }
        let _release = Release(&locks[stripe]);
        f(self)
    }
    fn exclusive<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Result<T, String> {
        // A transaction holding the table's write lock where the driver has transactions
        // (PostgreSQL, MySQL); db_sqlite has none, and one lock serves all documents there.
        stats::db(self.conn.use_table(&self.table)).map_err(|e| e.0)?;
        let started = stats::db(self.conn.start_transaction(Locking::Write)).map_err(|e| e.0)?;
        let r = f(self);
        if started {
            stats::db(self.conn.end_transaction()).map_err(|e| e.0)?;
        }
        Ok(r)
    }
}

fn pv_get_xcapuri(_msg: &mut SipMsg, name: &str) -> PvValue {
    let Some((id, key)) = pvar::parse_pv_name(name) else { return PvValue::Null };
    XCAPURI.with(|m| match m.borrow().get(id).and_then(|u| u.pv_value(key)) {
        Some(pvar::PvValue::Str(s)) => PvValue::Str(s.to_string()),
        Some(pvar::PvValue::Int(i)) => PvValue::Int(i.into()),
        None => PvValue::Null,
    })
}

/// `$xcapuri(name=>data) = path` parses the path; only `data` can be set.
fn pv_set_xcapuri(_msg: &mut SipMsg, name: &str, value: PvValue) -> Result<(), Error> {
    let Some((id, key)) = pvar::parse_pv_name(name) else {
        return Err(Error::from(format!("bad name {name:?}: expected name=>key")));
    };
    if key != XcapUriKey::Data {
        return Err(Error::from("only the data key can be set"));
    }
    // Whatever happens, the old value must not survive into this request.
    XCAPURI.with(|m| m.borrow_mut().remove(id));
    let PvValue::Str(path) = value else { return Ok(()) };
    let parsed = XcapUri::parse(&path, &XCAP_ROOT.get()).map_err(|e| Error::from(format!("{path}: {e}")))?;
    XCAPURI.with(|m| m.borrow_mut().insert(id.to_string(), parsed));
    Ok(())
}
