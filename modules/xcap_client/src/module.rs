//! The Kamailio side of xcap_client: parameters, the `bind_xcap` API, the mirrored rows in
//! the `xcap` table, the periodic refresh and the `xcap_client.refreshXcapDoc` RPC.

use std::cell::RefCell;
use std::num::NonZeroU32;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kamailio::db::{module_db, DbConn};
use kamailio::xcap::{self, DocRequest, Tree, XcapProvider, IF_MATCH, IF_NONE_MATCH};
use ::xcap::node_selector::{AttrTest, NodeSelectorBuilder};
use kamailio::mem::shm_box;
use kamailio::{lm_err, lm_info, lm_warn, module, sys, Error, IntParam, Rank, Rpc, ShmGlobal, ShmMutex, StrParam, TimerProcess};

use crate::backoff::{Admit, HostTable, Policy};
use crate::fetch::{Condition, FetchError, Fetched, Fetcher, Timeouts};
use crate::refresh::{decide, Refresh, StoredDoc};
use crate::stats;
use crate::store;
use crate::url::{self, DocSelector, DocTree};

static DB_URL: StrParam = StrParam::new("mysql://kamailio:kamailiorw@localhost/kamailio");
static XCAP_TABLE: StrParam = StrParam::new("xcap");
/// Non-zero: refresh the mirrored documents every `query_period` seconds.
static PERIODICAL_QUERY: IntParam = IntParam::new(1);
static QUERY_PERIOD: IntParam = IntParam::new(100);
/// Milliseconds to connect to an XCAP server.
static CONNECT_TIMEOUT: IntParam = IntParam::new(2000);
/// Milliseconds for a whole fetch: a dead or hung server holds a worker at most this long.
static FETCH_TIMEOUT: IntParam = IntParam::new(5000);
/// PEM file of CA certificates for HTTPS XCAP servers; empty: the system's.
static TLS_CA_FILE: StrParam = StrParam::new("");
/// Seconds a server that gave no answer is left alone after its first failure; the period
/// doubles with each further failure in a row. 0: no back-off.
static HOST_BACKOFF_BASE: IntParam = IntParam::new(5);
/// The longest back-off, in seconds.
static HOST_BACKOFF_MAX: IntParam = IntParam::new(300);

/// The periodic refresh runs in a process of its own: a pass that waits for dead servers
/// delays no other module's timers.
static REFRESH: TimerProcess = TimerProcess::new(c"XCAP_CLIENT REFRESH");
/// The backed-off servers, shared by every process that fetches.
static BACKOFF: ShmGlobal<ShmMutex<HostTable>> = ShmGlobal::new();
/// The back-off's clock: monotonic and the same in every process (set before the fork).
static EPOCH: OnceLock<Instant> = OnceLock::new();

thread_local! {
    /// This process's HTTP handle, kept for connection reuse.
    static FETCHER: RefCell<Fetcher> = RefCell::new(match TLS_CA_FILE.get() {
        ca if ca.is_empty() => Fetcher::new(),
        ca => Fetcher::new().with_ca_file(ca.into_owned()),
    });
}

module! {
    name: "xcap_client",
    params: {
        "db_url" => DB_URL,
        "xcap_table" => XCAP_TABLE,
        "periodical_query" => PERIODICAL_QUERY,
        "query_period" => QUERY_PERIOD,
        "connect_timeout" => CONNECT_TIMEOUT,
        "fetch_timeout" => FETCH_TIMEOUT,
        "tls_ca_file" => TLS_CA_FILE,
        "host_backoff_base" => HOST_BACKOFF_BASE,
        "host_backoff_max" => HOST_BACKOFF_MAX,
    },
    apis: { "bind_xcap" => bind_xcap [1, sys::xcap_api_t] },
    rpc: {
        "xcap_client.refreshXcapDoc" => rpc_refresh,
            "Refetch a document now: document URI (as stored in the xcap table) and XCAP server port",
    },
    counters: crate::stats::ALL,
    init: mod_init,
    child_init: child_init,
    destroy: destroy,
}

fn bind_xcap(api: &mut sys::xcap_api_t) -> i32 {
    xcap::fill_api::<Client>(api)
}

fn mod_init() -> Result<(), Error> {
    if QUERY_PERIOD.get() <= 0 && PERIODICAL_QUERY.get() != 0 {
        return Err(Error::from(format!("query_period must be a positive number of seconds, not {}", QUERY_PERIOD.get())));
    }
    let ca = TLS_CA_FILE.get();
    if !ca.is_empty() && !std::path::Path::new(ca.as_ref()).is_file() {
        return Err(Error::from(format!("tls_ca_file {ca} is not a readable file")));
    }
    for (name, p) in [("connect_timeout", &CONNECT_TIMEOUT), ("fetch_timeout", &FETCH_TIMEOUT)] {
        if p.get() <= 0 {
            return Err(Error::from(format!("{name} must be a positive number of milliseconds, not {}", p.get())));
        }
    }
    for (name, p) in [("host_backoff_base", &HOST_BACKOFF_BASE), ("host_backoff_max", &HOST_BACKOFF_MAX)] {
        if p.get() < 0 {
            return Err(Error::from(format!("{name} must be 0 or a positive number of seconds, not {}", p.get())));
        }
    }
    module_db::bind(&DB_URL.get(), Some((&XCAP_TABLE.get(), store::TABLE_VERSION)))?;
    EPOCH.get_or_init(Instant::now);
    let table = shm_box(ShmMutex::new(HostTable::new())).ok_or_else(|| Error::from("no shared memory for the back-off table"))?;
    BACKOFF.set(table);
    if PERIODICAL_QUERY.get() != 0 {
        REFRESH.register(|_| refresh_all(), QUERY_PERIOD.get() as u32)?;
    }
    Ok(())
}

fn child_init(rank: Rank) -> Result<(), Error> {
    REFRESH.fork(rank)?;
    Ok(module_db::connect(rank)?)
}

fn destroy() {
    module_db::close();
}

fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_millis(CONNECT_TIMEOUT.get() as u64),
        total: Duration::from_millis(FETCH_TIMEOUT.get() as u64),
    }
}

fn policy() -> Policy {
    let secs = |p: &IntParam| p.get().max(0) as u64 * 1000;
    Policy {
        base_ms: secs(&HOST_BACKOFF_BASE),
        max_ms: secs(&HOST_BACKOFF_MAX),
        attempt_ms: FETCH_TIMEOUT.get().max(0) as u64 + 1000,
    }
}

fn now_ms() -> u64 {
    EPOCH.get().map_or(0, |e| e.elapsed().as_millis() as u64)
}

/// The `backed_off_hosts` gauge: the servers in the back-off table.
pub fn backed_off_hosts() -> i64 {
    BACKOFF.get().map_or(0, |t| t.lock().backed_off() as i64)
}

/// Fetches `url` (see [`fetch_uncounted`]) and counts the result.
fn fetch(url: &str, cond: Condition) -> Result<Fetched, FetchError> {
    let result = fetch_uncounted(url, cond);
    stats::fetched(&result);
    result
}

/// Fetches `url` unless its server is backed off, and tells the back-off how the server did.
fn fetch_uncounted(url: &str, cond: Condition) -> Result<Fetched, FetchError> {
    let policy = policy();
    let tracked = BACKOFF.get().filter(|_| policy.base_ms > 0).zip(url::host_key(url).ok());
    if let Some((table, host)) = &tracked {
        if let Admit::Skip { retry_in_ms, failures } = table.lock().admit(host, now_ms(), &policy) {
            return Err(FetchError::BackedOff { host: host.clone(), retry_in: Duration::from_millis(retry_in_ms), failures });
        }
    }
    let result = FETCHER.with(|f| f.borrow_mut().fetch(url, cond, timeouts()));
    if let Some((table, host)) = &tracked {
        match &result {
            Err(e) if e.is_no_answer() => {
                let backed_off = table.lock().failed(host, now_ms(), &policy);
                if let Some((failures, period)) = backed_off {
                    lm_warn!("XCAP server {host} did not answer ({failures} failure(s) in a row): not asked again for {} s", period.div_ceil(1000));
                }
            }
            // Refused before anything was sent: says nothing about the server.
            Err(FetchError::Etag { .. }) => {}
            _ => table.lock().answered(host),
        }
    }
    result
}

/// Runs `f` with this process's DB connection and the table name.
fn with_conn<T>(f: impl FnOnce(&mut DbConn, &str) -> Result<T, Error>) -> Result<T, Error> {
    module_db::with(|conn| f(conn, &XCAP_TABLE.get()))
}

/// The provider behind `bind_xcap`.
struct Client;

impl XcapProvider for Client {
    type NodeSel = NodeSelectorBuilder;

    fn add_step(sel: &mut NodeSelectorBuilder, name: Option<&str>, ns: Option<&str>, pos: i32, attr: Option<(&str, &str)>, extra: Option<&str>) -> bool {
        let position = u32::try_from(pos).ok().and_then(NonZeroU32::new);
        let attr = attr.map(|(name, value)| AttrTest { name, value });
        sel.add_step(name, ns, position, attr, extra).map_err(|e| lm_err!("add_step: {e}")).is_ok()
    }

    fn add_terminal(sel: &mut NodeSelectorBuilder, attr: Option<&str>, ns: Option<&str>, extra: Option<&str>) -> bool {
        sel.add_terminal(attr, ns, extra).map_err(|e| lm_err!("add_terminal: {e}")).is_ok()
    }

    fn get_new_doc(req: &DocRequest, node: Option<&NodeSelectorBuilder>, user: &str, domain: &str) -> Option<Vec<u8>> {
        match get_new_doc(req, node, user, domain) {
            Ok(doc) => doc.map(String::into_bytes),
            Err(e) => {
                lm_err!("getNewDoc {} for {user}@{domain}: {e}", req.auid);
                None
            }
        }
    }
}

/// Fetches a document, records it in the `xcap` table (so the refresh keeps it current), and
/// returns it. A 304 to a conditional request returns the stored copy.
fn get_new_doc(req: &DocRequest, node: Option<&NodeSelectorBuilder>, user: &str, domain: &str) -> Result<Option<String>, Error> {
    // rls asks for its services document without a file name; RFC 4826 names it "index".
    let filename = if req.filename.is_empty() { "index" } else { req.filename.as_str() };
    let sel = DocSelector {
        auid: &req.auid,
        xid: (req.tree == Tree::Users).then_some(req.xid.as_str()),
        filename,
    };
    let port = u16::try_from(req.port).map_err(|_| Error::from(format!("port {} is out of range", req.port)))?;
    let url = url::document_url(&req.xcap_root, port, &sel, node.filter(|n| !n.is_empty())).map_err(|e| Error::from(e.to_string()))?;
    let cond = match (req.etag.as_deref(), req.match_type) {
        (Some(tag), IF_MATCH) => Condition::IfMatch(tag),
        (Some(tag), IF_NONE_MATCH) => Condition::IfNoneMatch(tag),
        _ => Condition::None,
    };
    match fetch(&url, cond).map_err(|e| Error::from(e.to_string()))? {
        Fetched::Document { body, etag } => {
            let row = store::Row { username: user, domain, doc_type: req.doc_type, doc: &body, etag: etag.as_deref(), doc_uri: &url, port };
            if let Err(e) = with_conn(|c, t| store::upsert(c, t, &row).map_err(Error::from)) {
                // The caller still gets the document; only the mirroring failed.
                lm_warn!("could not record {url} in the xcap table: {e}");
            }
            Ok(Some(body))
        }
        Fetched::NotModified => with_conn(|c, t| store::by_uri(c, t, &url).map_err(Error::from)).map(|r| r.map(|s| s.doc)),
        Fetched::NotFound => Ok(None),
    }
}

/// What one refresh did, for the log and the RPC reply.
fn apply(stored: Option<&StoredDoc>, outcome: Refresh, doc_type: i32, xid: &str, doc_uri: &str, port: u16, owner: (&str, &str)) -> Result<&'static str, Error> {
    match outcome {
        Refresh::Unchanged => Ok("unchanged"),
        Refresh::Retagged { etag } => {
            with_conn(|c, t| store::set_etag(c, t, doc_uri, etag.as_deref()).map_err(Error::from))?;
            Ok("unchanged")
        }
        Refresh::Updated { doc, etag } => {
            let row = store::Row { username: owner.0, domain: owner.1, doc_type, doc: &doc, etag: etag.as_deref(), doc_uri, port };
            with_conn(|c, t| store::upsert(c, t, &row).map_err(Error::from))?;
            stats::DOCUMENTS_UPDATED.inc();
            let ran = xcap::run_callbacks(doc_type, xid, doc.as_bytes());
            lm_info!("{doc_uri} changed; {ran} update callback(s) run");
            Ok("updated")
        }
        Refresh::Gone => {
            if stored.is_some() {
                with_conn(|c, t| store::remove(c, t, doc_uri).map_err(Error::from))?;
            }
            Ok("gone")
        }
        Refresh::Failed(e) => Err(Error::from(e.to_string())),
    }
}

/// The periodic refresh (its own timer process): every mirrored document, asked
/// conditionally. Documents of a backed-off server are skipped, with one log line per server.
fn refresh_all() {
    let rows = match with_conn(|c, t| store::mirrored(c, t).map_err(Error::from)) {
        Ok(rows) => rows,
        Err(e) => return lm_err!("refresh: cannot read the xcap table: {e}"),
    };
    // Per backed-off server: documents skipped, and why.
    let mut skipped: Vec<(String, usize, String)> = Vec::new();
    for row in rows {
        let result = row.fetch_url().map_err(|e| Error::from(e.to_string())).and_then(|u| {
            let fetched = fetch(&u, row.condition());
            if let Err(e @ FetchError::BackedOff { host, .. }) = &fetched {
                match skipped.iter_mut().find(|(h, ..)| h == host) {
                    Some(entry) => entry.1 += 1,
                    None => skipped.push((host.clone(), 1, e.to_string())),
                }
                return Ok("skipped");
            }
            let outcome = decide(Some(&row), fetched);
            let xid = row.xid().to_string();
            apply(Some(&row), outcome, row.doc_type, &xid, &row.doc_uri, row.port, (&row.username, &row.domain))
        });
        if let Err(e) = result {
            lm_err!("refresh of {} failed: {e}; the stored copy stays", row.doc_uri);
        }
    }
    for (host, count, why) in skipped {
        lm_warn!("refresh: {count} document(s) of {host} skipped, the stored copies stay: {why}");
    }
}

/// `xcap_client.refreshXcapDoc <doc-uri> <port>`: refetches one document now.
fn rpc_refresh(rpc: &mut Rpc) {
    let Some(doc_uri) = rpc.scan_str() else { return rpc.fault(500, "Not enough parameters") };
    let port = match rpc.scan_int().map(u16::try_from) {
        None => 0,
        Some(Ok(p)) => p,
        Some(Err(_)) => return rpc.fault(400, "Invalid port"),
    };
    let parsed = match url::parse_doc_uri(&doc_uri) {
        Ok(p) => p,
        Err(e) => return rpc.fault(500, &format!("Failed parsing url: {e}")),
    };
    let (owner, xid) = match &parsed.tree {
        DocTree::Users(x) => ((x.user.clone(), x.domain.clone()), x.to_string()),
        DocTree::Global => ((String::new(), String::new()), String::new()),
    };
    let stored = with_conn(|c, t| store::by_uri(c, t, &doc_uri).map_err(Error::from)).unwrap_or_else(|e| {
        lm_warn!("refreshXcapDoc: cannot read the stored copy: {e}");
        None
    });
    let port = stored.as_ref().map_or(port, |s| if port != 0 { port } else { s.port });
    let url = match url::with_port(&doc_uri, port) {
        Ok(u) => u,
        Err(e) => return rpc.fault(500, &format!("Failed parsing url: {e}")),
    };
    let cond = stored.as_ref().map_or(Condition::None, StoredDoc::condition);
    let fetched = fetch(&url, cond);
    // Within the connect timeout, or at once while the server is backed off.
    if let Err(e) = fetched.as_ref() {
        if e.is_no_answer() {
            return rpc.fault(503, &format!("XCAP server not answering: {e}"));
        }
    }
    let outcome = decide(stored.as_ref(), fetched);
    let doc_type = parsed.doc_type.flag();
    match apply(stored.as_ref(), outcome, doc_type, &xid, &doc_uri, port, (&owner.0, &owner.1)) {
        Ok(what) => rpc.add_str(what),
        Err(e) => rpc.fault(500, &format!("Failed http get: {e}")),
    }
}
