//! The Kamailio side of presence_xml: parameters, the events registered with presence, the
//! `pres_check_basic()` / `pres_check_activities()` functions, the `bind_presence_xml` API,
//! and the link to xcap_client for pres-rules kept on an external XCAP server.

use std::sync::{Mutex, OnceLock};

use kamailio::db::module_db;
use kamailio::msg::parse_uri;
use kamailio::presence::{PresenceApi, Registered};
use kamailio::presence_events::{register, Callbacks, EventHandler, EventSpec};
use kamailio::presence_xml_api::{self, PresenceXmlChecks};
use kamailio::sl::SlApi;
use kamailio::xcap::doc_type;
use kamailio::xcap_client_api::XcapClient;
use kamailio::{lm_err, lm_info, module, sys, CfgParam, Error, IntParam, ParamValue, Rank, SipMsg, StrParam};
use presence_docs::pidf;

use crate::events::{Bla, Presence, Winfo, XcapDiff};
use crate::servers::{self, XcapServer};
use crate::store;

static DB_URL: StrParam = StrParam::new("mysql://kamailio:kamailiorw@localhost/kamailio");
static XCAP_TABLE: StrParam = StrParam::new("xcap");
static FORCE_ACTIVE: IntParam = IntParam::new(0);
static INTEGRATED_XCAP_SERVER: IntParam = IntParam::new(0);
static DISABLE_PRESENCE: IntParam = IntParam::new(0);
static DISABLE_WINFO: IntParam = IntParam::new(0);
static DISABLE_BLA: IntParam = IntParam::new(1);
static DISABLE_XCAPDIFF: IntParam = IntParam::new(0);
static PASSIVE_MODE: IntParam = IntParam::new(0);
static XCAPAUTH_USERDEL_REASON: StrParam = StrParam::new("probation");
static FORCE_DUMMY_PRESENCE: IntParam = IntParam::new(0);
static FORCE_PRESENCE_SINGLE_BODY: IntParam = IntParam::new(0);
static PRESENCE_SINGLE_BODY_PRIORITIES: StrParam = StrParam::new("Available|Ringing|On the Phone");
static PRESENCE_SINGLE_BODY_LOOKUP_ELEMENT: StrParam = StrParam::new("note");
static DEFAULT_EXPIRES: IntParam = IntParam::new(3600);
/// 1: a PUBLISHed presence document that is not PIDF is refused with 400 (default: accepted,
/// as stock does, and left out of NOTIFY bodies).
static STRICT_PIDF: IntParam = IntParam::new(0);

module! {
    name: "presence_xml",
    params: {
        "db_url" => DB_URL,
        "xcap_table" => XCAP_TABLE,
        "force_active" => FORCE_ACTIVE,
        "integrated_xcap_server" => INTEGRATED_XCAP_SERVER,
        "disable_presence" => DISABLE_PRESENCE,
        "disable_winfo" => DISABLE_WINFO,
        "disable_bla" => DISABLE_BLA,
        "disable_xcapdiff" => DISABLE_XCAPDIFF,
        "passive_mode" => PASSIVE_MODE,
        "xcapauth_userdel_reason" => XCAPAUTH_USERDEL_REASON,
        "force_dummy_presence" => FORCE_DUMMY_PRESENCE,
        "force_presence_single_body" => FORCE_PRESENCE_SINGLE_BODY,
        "presence_single_body_priorities" => PRESENCE_SINGLE_BODY_PRIORITIES,
        "presence_single_body_lookup_element" => PRESENCE_SINGLE_BODY_LOOKUP_ELEMENT,
        "default_expires" => DEFAULT_EXPIRES,
        "strict_pidf" => STRICT_PIDF,
    },
    param_fns: { "xcap_server" => Str add_xcap_server },
    functions: {
        "pres_check_basic" => cfg_check_basic [2, Spve, ANY_ROUTE],
        "pres_check_activities" => cfg_check_activities [2, Spve, ANY_ROUTE],
    },
    apis: { "bind_presence_xml" => bind_presence_xml [1, sys::presence_xml_api_t] },
    kemi: {
        "pres_check_basic" => kemi_check_basic [2],
        "pres_check_activities" => kemi_check_activities [2],
    },
    counters: crate::stats::ALL,
    init: mod_init,
    child_init: child_init,
    destroy: destroy,
}

/// Collected while the config is parsed (main process), read-only after the fork.
static SERVERS: Mutex<Vec<XcapServer>> = Mutex::new(Vec::new());
static SERVER_LIST: OnceLock<Vec<XcapServer>> = OnceLock::new();
static PRESENCE: OnceLock<PresenceApi> = OnceLock::new();
static SL: OnceLock<SlApi> = OnceLock::new();
static XCAP_CLIENT: OnceLock<XcapClient> = OnceLock::new();

fn add_xcap_server(v: ParamValue) -> Result<(), Error> {
    let ParamValue::Str(s) = v else { return Err(Error::from("xcap_server takes a string")) };
    let server = servers::parse(s).map_err(Error::from)?;
    SERVERS.lock().map_err(|_| Error::from("xcap_server list poisoned"))?.push(server);
    Ok(())
}

pub fn force_active() -> bool {
    FORCE_ACTIVE.get() != 0
}
pub fn dummy_presence() -> bool {
    FORCE_DUMMY_PRESENCE.get() != 0
}
pub fn single_body() -> bool {
    FORCE_PRESENCE_SINGLE_BODY.get() != 0
}
pub fn strict_pidf() -> bool {
    STRICT_PIDF.get() != 0
}
pub fn priorities() -> String {
    PRESENCE_SINGLE_BODY_PRIORITIES.get().into_owned()
}
pub fn lookup_element() -> String {
    PRESENCE_SINGLE_BODY_LOOKUP_ELEMENT.get().into_owned()
}
pub fn userdel_reason() -> &'static [u8] {
    XCAPAUTH_USERDEL_REASON.bytes()
}
pub fn xcap_table() -> String {
    XCAP_TABLE.get().into_owned()
}
pub fn presence() -> Option<&'static PresenceApi> {
    PRESENCE.get()
}
pub fn sl() -> Option<&'static SlApi> {
    SL.get()
}
/// xcap_client and the servers to ask, when pres-rules may live outside the table.
pub fn xcap_client() -> Option<(&'static XcapClient, &'static [XcapServer])> {
    Some((XCAP_CLIENT.get()?, SERVER_LIST.get()?.as_slice()))
}

fn add<H: EventHandler>(api: &PresenceApi, name: &str, content_type: &str, etag_not_new: bool, callbacks: Callbacks) -> Result<(), Error> {
    let spec = EventSpec { name, content_type, default_expires: DEFAULT_EXPIRES.get().max(0) as u32, etag_not_new, callbacks };
    if register::<H>(api, &spec)? == Registered::AlreadyPresent {
        lm_info!("event {name} was registered by another module first; that registration stays");
    }
    Ok(())
}

fn mod_init() -> Result<(), Error> {
    if PASSIVE_MODE.get() != 0 {
        return Ok(());
    }
    if DEFAULT_EXPIRES.get() <= 0 {
        return Err(Error::from(format!("default_expires must be positive, not {}", DEFAULT_EXPIRES.get())));
    }
    let _ = SL.set(SlApi::bind()?);
    let api = PresenceApi::bind().ok_or_else(|| Error::from("presence must be loaded before presence_xml"))?;
    let _ = PRESENCE.set(api);
    if DISABLE_PRESENCE.get() == 0 {
        let cb = Callbacks { aggregate: true, authorize: true, check_publish: true, free_body: true };
        add::<Presence>(&api, "presence", "application/pidf+xml", false, cb)?;
    }
    if DISABLE_WINFO.get() == 0 {
        add::<Winfo>(&api, "presence.winfo", "application/watcherinfo+xml", false, Callbacks { free_body: true, ..Default::default() })?;
    }
    if DISABLE_BLA.get() == 0 {
        add::<Bla>(&api, "dialog;sla", "application/dialog-info+xml", true, Callbacks { check_publish: true, free_body: true, ..Default::default() })?;
    }
    if DISABLE_XCAPDIFF.get() == 0 {
        add::<XcapDiff>(&api, "xcap-diff", "application/xcap-diff+xml", false, Callbacks::default())?;
    }
    if force_active() {
        return Ok(());
    }
    module_db::bind(&DB_URL.get(), Some((&XCAP_TABLE.get(), store::TABLE_VERSION)))?;
    store::init(&DB_URL.get());
    let servers = std::mem::take(&mut *SERVERS.lock().map_err(|_| Error::from("xcap_server list poisoned"))?);
    if INTEGRATED_XCAP_SERVER.get() == 0 {
        if servers.is_empty() {
            return Err(Error::from("no xcap_server is set (needed unless integrated_xcap_server=1 or force_active=1)"));
        }
        let client = XcapClient::bind().ok_or_else(|| Error::from("xcap_client must be loaded when integrated_xcap_server=0"))?;
        client.register_callback(doc_type::PRES_RULES, rules_updated)?;
        let _ = XCAP_CLIENT.set(client);
    }
    let _ = SERVER_LIST.set(servers);
    Ok(())
}

fn child_init(rank: Rank) -> Result<(), Error> {
    if PASSIVE_MODE.get() != 0 || force_active() {
        return Ok(());
    }
    Ok(module_db::connect(rank)?)
}

fn destroy() {
    module_db::close();
}

/// xcap_client refreshed someone's pres-rules: presence re-evaluates their watchers.
fn rules_updated(_doc_type: i32, xid: &[u8], doc: &[u8]) {
    if let Some(p) = presence() {
        if let Err(e) = p.update_watchers_status(xid, "presence", doc) {
            lm_err!("updating the watchers of {}: {e}", String::from_utf8_lossy(xid));
        }
    }
}

fn bind_presence_xml(api: &mut sys::presence_xml_api_t) -> i32 {
    presence_xml_api::fill_api::<Checks>(api)
}

struct Checks;

impl PresenceXmlChecks for Checks {
    fn check_basic(_msg: &mut SipMsg, pres_uri: &[u8], status: &[u8]) -> i32 {
        match current_document(pres_uri) {
            Some(doc) => pidf::check_basic(&doc, &String::from_utf8_lossy(status)),
            None => -1,
        }
    }

    fn check_activities(_msg: &mut SipMsg, pres_uri: &[u8], activity: &[u8]) -> i32 {
        match current_document(pres_uri) {
            Some(doc) => pidf::check_activities(&doc, &String::from_utf8_lossy(activity)),
            None => -1,
        }
    }
}

/// The presentity's current presence document, as presence aggregates it.
fn current_document(pres_uri: &[u8]) -> Option<Vec<u8>> {
    let uri = String::from_utf8_lossy(pres_uri);
    if parse_uri(&uri).is_none() {
        lm_err!("{uri} is not a SIP URI");
        return None;
    }
    presence()?.get_presentity(pres_uri, "presence")
}

fn two(msg: &mut SipMsg, p: &[CfgParam]) -> Option<(Vec<u8>, Vec<u8>)> {
    Some((p.first()?.bytes(msg)?, p.get(1)?.bytes(msg)?))
}

fn cfg_check_basic(msg: &mut SipMsg, p: &[CfgParam]) -> i32 {
    match two(msg, p) {
        Some((uri, status)) => Checks::check_basic(msg, &uri, &status),
        None => -1,
    }
}

fn cfg_check_activities(msg: &mut SipMsg, p: &[CfgParam]) -> i32 {
    match two(msg, p) {
        Some((uri, activity)) => Checks::check_activities(msg, &uri, &activity),
        None => -1,
    }
}

fn kemi_check_basic(msg: &mut SipMsg, p: &[String]) -> i32 {
    Checks::check_basic(msg, p[0].as_bytes(), p[1].as_bytes())
}

fn kemi_check_activities(msg: &mut SipMsg, p: &[String]) -> i32 {
    Checks::check_activities(msg, p[0].as_bytes(), p[1].as_bytes())
}
