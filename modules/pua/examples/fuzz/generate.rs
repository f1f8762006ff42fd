//! Grammar-aware generation of fuzz inputs for pua's pure logic: bodies for each event's
//! processor (PIDF, dialog-info, reginfo, anything), the values a request's headers are built
//! from, the values read out of PUBLISH and SUBSCRIBE replies (status, Expires, SIP-ETag, To
//! tag, Contact, CSeq, Record-Route) and the state a request carries to its reply, then, some
//! of the time, mutated byte by byte. Everything follows from one 64-bit seed and the index.

use fuzzing::{mutate_bytes, Rng};
use pua::pending::Pending;
use pua::record::Record;

/// Which processor runs on the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    PassThrough,
    Presence,
    DialogInfo,
    Reginfo,
}

/// One fuzz case.
#[derive(Debug, Clone)]
pub struct Input {
    pub kind: Kind,
    pub body: Vec<u8>,
    pub version: i32,
    pub tuple_id: Vec<u8>,
    pub new_id: String,
    /// What the request's header lines are built from.
    pub event: String,
    pub expires: i32,
    pub min_expires: i32,
    pub etag: Option<Vec<u8>>,
    pub content_type: Option<Vec<u8>>,
    pub extra: Option<Vec<u8>>,
    pub contact: Vec<u8>,
    /// A final reply as pua reads it.
    pub code: i32,
    pub reply_expires: Option<u32>,
    pub reply_etag: Option<Vec<u8>>,
    pub has_body: bool,
    pub flag: i32,
    pub to_tag: Vec<u8>,
    pub reply_contact: Option<Vec<u8>>,
    pub cseq: Option<u32>,
    pub initial: bool,
    /// Record-Route header values, in order.
    pub record_routes: Vec<Vec<u8>>,
    /// The state sent along with the request, and a damaged copy of its encoding.
    pub pending: Pending,
    pub damaged: Vec<u8>,
}

const EVENTS: [&str; 8] =
    ["presence", "dialog", "dialog;sla", "message-summary", "presence.winfo", "reg", "xcap-diff", "as-feature-event"];

/// Entity tags as a server sends them and the header parser hands them over (trimmed; a
/// folded value keeps its line break and the whitespace after it).
const ETAGS: [&str; 10] = [
    "a.1234567890-1", "\"quoted\"", "Zz9", "x\r\n y", "with space", "é", "\t", ";", "e,f", "0",
];

const URIS: [&str; 7] = [
    "sip:alice@example.com",
    "sip:bob@10.0.0.1:5060;transport=tcp",
    "sips:[2001:db8::1]:5061",
    "tel:+1234",
    "sip:a@b;lr",
    "<sip:x@y>",
    "",
];

fn pick_bytes(rng: &mut Rng, items: &[&str]) -> Vec<u8> {
    rng.pick(items).as_bytes().to_vec()
}

fn id_attr(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => String::new(),
        1 => format!(" id=\"{}\"", "t".repeat(40 + rng.below(20))),
        2 => " ID='T1'".to_string(),
        _ => format!(" id=\"{}\"", rng.pick(&["t1", "a8098a", "", "0x1f", "é"])),
    }
}

fn filler(rng: &mut Rng) -> &'static str {
    rng.pick(&["", "\n  ", " ", "<!-- c -->", "<?pi x?>", "\t", "\r\n"])
}

/// A PIDF body: tuples and persons, with and without ids, the PIDF namespace as default or
/// behind a prefix.
fn pidf(rng: &mut Rng) -> String {
    let decl = rng.pick(&["", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", "\u{FEFF}"]);
    let doctype = if rng.chance(5) { "<!DOCTYPE presence [<!ENTITY t \"<tuple/>\">]>" } else { "" };
    let p = if rng.chance(20) { "p:" } else { "" };
    let ns = if p.is_empty() {
        " xmlns=\"urn:ietf:params:xml:ns:pidf\""
    } else {
        " xmlns:p=\"urn:ietf:params:xml:ns:pidf\""
    };
    let mut out = format!(
        "{decl}{doctype}<{p}presence{ns} xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" entity=\"sip:alice@example.com\">"
    );
    for _ in 0..rng.below(5) {
        out.push_str(filler(rng));
        match rng.below(6) {
            0..=2 => {
                let id = id_attr(rng);
                let basic = rng.pick(&["open", "closed"]);
                let close = rng.pick(&[">", " >", "\n>"]);
                out.push_str(&format!(
                    "<{p}tuple{id}{close}<{p}status><{p}basic>{basic}</{p}basic></{p}status><{p}contact>sip:alice@pc</{p}contact></{p}tuple>"
                ));
            }
            3 => out.push_str(&format!("<{p}tuple{}/>", id_attr(rng))),
            4 => {
                let id = id_attr(rng);
                out.push_str(&format!("<dm:person{id}><rpid:activities><rpid:away/></rpid:activities></dm:person>"));
            }
            _ if !doctype.is_empty() => out.push_str("&t;"),
            _ => out.push_str(&format!("<{p}note xml:lang=\"en\">Away</{p}note>")),
        }
    }
    out.push_str(&format!("</{p}presence>"));
    out
}

/// A dialog-info or reginfo body with or without a `version`.
fn versioned(rng: &mut Rng, root: &str, ns: &str) -> String {
    let version = match rng.below(6) {
        0 => String::new(),
        1 => " version='7'".to_string(),
        2 => " Version=\"3\"".to_string(),
        _ => format!(" version=\"{}\"", rng.below(20)),
    };
    let close = rng.pick(&[">", " >", "\n>", "/>", " />"]);
    let decl = rng.pick(&["", "<?xml version=\"1.0\"?>\n", "\u{FEFF}"]);
    let mut out = format!("{decl}<{root} xmlns=\"{ns}\"{version} state=\"full\" entity=\"sip:alice@example.com\"{close}");
    if !close.ends_with("/>") {
        for _ in 0..rng.below(3) {
            out.push_str(filler(rng));
            out.push_str(if root == "reginfo" {
                "<registration aor=\"sip:alice@example.com\" id=\"a7\" state=\"active\"/>"
            } else {
                "<dialog id=\"d1\" direction=\"initiator\"><state>confirmed</state></dialog>"
            });
        }
        out.push_str(&format!("</{root}>"));
    }
    out
}

/// A Record-Route value: entries with display names, quotes and parameters, sometimes
/// unbalanced.
fn record_route(rng: &mut Rng) -> Vec<u8> {
    let mut entries = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let uri = rng.pick(&["sip:p1.example.com;lr", "sip:10.0.0.1;lr;r2=on", "sip:[::1]:5070;lr", "sip:p;lr;x=\"a,b\""]);
        entries.push(match rng.below(8) {
            0 => format!("\"Proxy, One\" <{uri}>"),
            1 => format!("Proxy <{uri}>;x=1"),
            2 => format!("<{uri}>;ftag=a,b"),
            3 => rng.pick(&["\"unbalanced <sip:a>", "<sip:a", "sip:a>", "\\\"x"]).to_string(),
            _ => format!("<{uri}>"),
        });
    }
    let sep = rng.pick(&[",", ", ", " ,\t", ",,"]);
    entries.join(sep).into_bytes()
}

fn pending(rng: &mut Rng, body: &[u8]) -> Pending {
    let rec = Record {
        id: pick_bytes(rng, &["UL_PUBLISH.abc", "", "rls.1"]),
        pres_uri: pick_bytes(rng, &URIS),
        event: 1 << rng.below(10),
        flag: 1 << rng.below(12),
        expires: rng.next_u64() as u32,
        desired_expires: rng.next_u64() as u32,
        etag: pick_bytes(rng, &ETAGS),
        tuple_id: pick_bytes(rng, &["t1", ""]),
        outbound_proxy: pick_bytes(rng, &["", "sip:proxy"]),
        extra_headers: pick_bytes(rng, &["", "X-A: 1\r\n"]),
        content_type: pick_bytes(rng, &["application/pidf+xml", ""]),
        version: rng.next_u64() as i32,
        watcher_uri: pick_bytes(rng, &URIS),
        call_id: pick_bytes(rng, &["abc-1-2@pua", ""]),
        to_tag: pick_bytes(rng, &["tt", ""]),
        from_tag: pick_bytes(rng, &["ft", ""]),
        cseq: rng.next_u64() as u32,
        record_route: pick_bytes(rng, &["", "<sip:p;lr>,<sip:q;lr>"]),
        contact: pick_bytes(rng, &URIS),
        remote_contact: pick_bytes(rng, &URIS),
    };
    Pending {
        rec,
        etag: pick_bytes(rng, &ETAGS),
        body: if rng.chance(50) { body.to_vec() } else { Vec::new() },
        expires: rng.next_u64() as i32,
        cb_param: rng.next_u64(),
        from_consumer: rng.chance(50),
        initial: rng.chance(50),
    }
}

fn small_i32(rng: &mut Rng) -> i32 {
    match rng.below(8) {
        0 => i32::MAX,
        1 => i32::MIN,
        2 => -1,
        3 => 0,
        _ => rng.below(7200) as i32,
    }
}

/// Builds the input numbered `index` of the run seeded with `seed`.
pub fn input(seed: u64, index: u64) -> Input {
    let mut rng = Rng::for_input(seed, index);
    let kind = rng.pick(&[Kind::PassThrough, Kind::Presence, Kind::Presence, Kind::DialogInfo, Kind::Reginfo]);
    let other_root = rng_root(&mut rng);
    let body = match (kind, rng.below(10)) {
        (_, 0) => versioned(&mut rng, other_root, "urn:other"),
        (Kind::DialogInfo, _) => versioned(&mut rng, "dialog-info", "urn:ietf:params:xml:ns:dialog-info"),
        (Kind::Reginfo, _) => versioned(&mut rng, "reginfo", "urn:ietf:params:xml:ns:reginfo"),
        _ => pidf(&mut rng),
    };
    let mut body = body.into_bytes();
    let pending = pending(&mut rng, &body);
    let mut damaged = pending.encode();
    mutate_bytes(&mut rng, &mut damaged, &TOKENS);
    let code = rng.pick(&[100, 180, 200, 202, 299, 300, 404, 412, 423, 481, 489, 500, 503, 603, 0, -1, 999]);
    let mut input = Input {
        kind,
        version: small_i32(&mut rng),
        tuple_id: if rng.chance(50) { Vec::new() } else { pick_bytes(&mut rng, &["t1", "stored", "\u{7f}", "T1"]) },
        new_id: rng.pick(&["0x1f2e3d", "0x55aa", ""]).to_string(),
        event: rng.pick(&EVENTS).to_string(),
        expires: small_i32(&mut rng),
        min_expires: small_i32(&mut rng),
        etag: rng.chance(60).then(|| pick_bytes(&mut rng, &ETAGS)),
        content_type: rng.chance(70).then(|| pick_bytes(&mut rng, &["application/pidf+xml", "", "application/dialog-info+xml"])),
        extra: rng.chance(40).then(|| pick_bytes(&mut rng, &["X-A: 1", "X-A: 1\r\n", "  \r\n", "P-Asserted-Identity: <sip:a@b>\r\nX-B: 2\r\n", ""])),
        contact: pick_bytes(&mut rng, &URIS),
        code,
        reply_expires: match rng.below(5) {
            0 => None,
            1 => Some(0),
            2 => Some(u32::MAX),
            _ => Some(rng.below(7200) as u32),
        },
        reply_etag: rng.chance(80).then(|| pick_bytes(&mut rng, &ETAGS)),
        has_body: !body.is_empty() && rng.chance(80),
        flag: rng.pick(&[0, 1, 2, 64, 128, 256, 1024]),
        to_tag: if rng.chance(75) { pick_bytes(&mut rng, &["as7d9", "1", "t-é"]) } else { Vec::new() },
        reply_contact: rng.chance(80).then(|| pick_bytes(&mut rng, &URIS)),
        cseq: rng.chance(85).then(|| rng.next_u64() as u32),
        initial: rng.chance(50),
        record_routes: (0..rng.below(4)).map(|_| record_route(&mut rng)).collect(),
        pending,
        damaged,
        body: Vec::new(),
    };
    if rng.chance(25) {
        mutate_bytes(&mut rng, &mut body, &TOKENS);
    }
    if rng.chance(10) {
        let i = rng.below(input.record_routes.len() + 1);
        if let Some(rr) = input.record_routes.get_mut(i) {
            mutate_bytes(&mut rng, rr, &TOKENS);
        }
    }
    if rng.chance(10) {
        if let Some(etag) = input.etag.as_mut() {
            mutate_bytes(&mut rng, etag, &TOKENS);
        }
    }
    input.body = body;
    input
}

fn rng_root(rng: &mut Rng) -> &'static str {
    rng.pick(&["presence", "dialog-info", "reginfo", "DIALOG-INFO"])
}

const TOKENS: [&str; 14] = [
    "<", ">", "/>", "</", "\"", "'", "&", "&#0;", "<!--", "\u{0}", "\r\n", ",", "<tuple>", " id=\"x\"",
];

