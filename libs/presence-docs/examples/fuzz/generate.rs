//! Grammar-aware generation of fuzz inputs: PIDF publications (tuples, persons, devices, RPID
//! activities, notes, foreign namespaces, DOCTYPEs), pres-rules documents with conditions that
//! often match the generated watcher, dialog-info and reginfo bodies, and date-times, built
//! from the shapes they take in practice and then, some of the time, mutated byte by byte.
//! Everything follows from one 64-bit seed and the input's index.

use fuzzing::{mutate_bytes, mutate_string, Rng};

/// One fuzz case: the publications of a presentity and what the operations on them take.
#[derive(Debug, Clone)]
pub struct Input {
    /// Publications, oldest first.
    pub bodies: Vec<Vec<u8>>,
    /// A publication being removed (may be out of range).
    pub off_index: Option<usize>,
    /// Single-body mode: the element looked at and the priorities.
    pub element: String,
    pub priorities: String,
    /// `pres_check_basic` and `pres_check_activities` arguments.
    pub status: String,
    pub activity: String,
    /// A pres-rules document and who asks, when, in which sphere.
    pub rules: Vec<u8>,
    pub user: String,
    pub domain: String,
    pub now: i64,
    pub sphere: Option<String>,
    pub pending: bool,
    /// A dialog-info or reginfo body, its expected document element and the version to set.
    pub versioned: Vec<u8>,
    pub root: &'static str,
    pub version: i32,
    /// pua's stored tuple id and the id for a first publication.
    pub stored_tuple_id: Option<Vec<u8>>,
    pub new_id: String,
    /// A date-time as a `<validity>` holds it.
    pub date: String,
}

const PIDF_NS: &str = "urn:ietf:params:xml:ns:pidf";

const NAMESPACES: [(&str, &str); 8] = [
    ("dm", "urn:ietf:params:xml:ns:pidf:data-model"),
    ("rpid", "urn:ietf:params:xml:ns:pidf:rpid"),
    ("c", "urn:ietf:params:xml:ns:pidf:cipid"),
    ("caps", "urn:ietf:params:xml:ns:pidf:caps"),
    ("p", PIDF_NS),
    ("gp", "urn:ietf:params:xml:ns:pidf:geopriv10"),
    ("x", "urn:other"),
    ("op", "urn:oma:xml:prs:pidf:oma-pres"),
];

const USERS: [&str; 7] = ["alice", "bob", "carol", "", "a b", "é", "Bob"];
const DOMAINS: [&str; 6] = ["example.com", "EXAMPLE.com", "other.org", "", "a", "xn--h-1ga.org"];
const TUPLE_IDS: [&str; 8] = ["t1", "t2", "T1", "a8098a", "0x1f", "", "tid-with-a-long-name-x", "é"];
const BASICS: [&str; 6] = ["open", "closed", "OPEN", " open ", "", "Open-ish"];
const ACTIVITIES: [&str; 8] =
    ["away", "busy", "on-the-phone", "meeting", "unknown", "vacation", "Away", "other"];
const NOTES: [&str; 7] = ["Available", "Ringing", "On the Phone", "Away", "", "busy", "a&amp;b"];
const CLASSES: [&str; 5] = ["work", "home", "WORK", "", "x"];
const CONTACTS: [&str; 7] =
    ["sip:alice@example.com", "tel:+123", "mailto:a@b", "im:a@b", "nocolon", "", "SIP:x@y"];
const DEVICES: [&str; 5] = ["mac:8asd7f7d", "urn:uuid:1", "MAC:8ASD7F7D", "", "d"];
const SPHERES: [&str; 5] = ["work", "home", "Work", "work home", ""];

/// Builds the input numbered `index` of the run seeded with `seed`.
pub fn input(seed: u64, index: u64) -> Input {
    let mut rng = Rng::for_input(seed, index);
    let user = rng.pick(&USERS).to_string();
    let domain = rng.pick(&DOMAINS).to_string();
    let bodies: Vec<Vec<u8>> =
        (0..1 + rng.below(4)).map(|_| pidf(&mut rng).into_bytes()).collect();
    let off_index = match rng.below(10) {
        0..=5 => None,
        6 => Some(bodies.len() + rng.below(2)),
        _ => Some(rng.below(bodies.len())),
    };
    let element = rng.pick(&["note", "basic", "NOTE", "activities", "", "tuple"]).to_string();
    let priorities =
        rng.pick(&["Available|Ringing|On the Phone", "open|closed", "", "Away", "|"]).to_string();
    let status = rng.pick(&["open", "closed", "", "OP", "opened"]).to_string();
    let activity = rng.pick(&ACTIVITIES).to_string();
    let rules = pres_rules(&mut rng, &user, &domain).into_bytes();
    let now = match rng.below(6) {
        0 => 0,
        1 => i64::MAX,
        2 => i64::MIN,
        _ => 1_700_000_000 + rng.below(200_000_000) as i64 - 100_000_000,
    };
    let sphere = rng.chance(50).then(|| rng.pick(&SPHERES).to_string());
    let (root, versioned) = versioned(&mut rng);
    let version = match rng.below(6) {
        0 => -1,
        1 => i32::MAX,
        2 => i32::MIN,
        _ => rng.below(100) as i32,
    };
    let stored_tuple_id = match rng.below(6) {
        0 => Some(Vec::new()),
        1 => Some(vec![0xff, b'x']),
        2 | 3 => Some(rng.pick(&TUPLE_IDS).as_bytes().to_vec()),
        _ => None,
    };
    let new_id = rng.pick(&["0x55aa1", "new", "", "a\"b<&>\t\n", "é"]).to_string();
    let date = date_time(&mut rng);
    let mut input = Input {
        bodies,
        off_index,
        element,
        priorities,
        status,
        activity,
        rules,
        user,
        domain,
        now,
        sphere,
        pending: rng.chance(30),
        versioned: versioned.into_bytes(),
        root,
        version,
        stored_tuple_id,
        new_id,
        date,
    };
    if rng.chance(25) {
        mutate(&mut rng, &mut input);
    }
    input
}

fn filler(rng: &mut Rng) -> &'static str {
    rng.pick(&["", "\n  ", " ", "<!-- c -->", "\n<!-- a -- b? no -->\n", "<?pi x?>", "\t", "\r\n"])
}

/// A namespace prefix for an element, declared on the element itself when the document
/// element does not; `declared` are the prefixes the document element binds.
fn prefixed(rng: &mut Rng, declared: &[&str], ns: &str, name: &str) -> (String, String) {
    match declared.iter().find(|p| NAMESPACES.iter().any(|(q, u)| q == *p && *u == ns)) {
        Some(p) if rng.chance(85) => (format!("{p}:{name}"), String::new()),
        _ if rng.chance(50) => (name.to_string(), format!(" xmlns=\"{ns}\"")),
        _ => (format!("z:{name}"), format!(" xmlns:z=\"{ns}\"")),
    }
}

fn text_element(rng: &mut Rng, qname: &str, decl: &str, texts: &[&str]) -> String {
    let text = rng.pick(texts);
    match rng.below(8) {
        0 => format!("<{qname}{decl}/>"),
        1 => format!("<{qname}{decl}><![CDATA[{text}]]></{qname}>"),
        2 => format!("<{qname}{decl}>{}<!-- x -->{text}</{qname}>", filler(rng)),
        _ => format!("<{qname}{decl}>{text}</{qname}>"),
    }
}

fn id_attr(rng: &mut Rng, ids: &[&str]) -> String {
    match rng.below(10) {
        0 => String::new(),
        1 => format!(" ID='{}'", rng.pick(ids)),
        2 => format!(" x:id=\"{}\"", rng.pick(ids)),
        _ => format!(" id=\"{}\"", rng.pick(ids)),
    }
}

/// A tuple in the PIDF namespace, `pidf` being how its elements are named (`""` when it is the
/// default namespace, `"p:"` for a prefix).
fn tuple(rng: &mut Rng, pidf: &str, declared: &[&str]) -> String {
    let mut out = format!("<{pidf}tuple{}>", id_attr(rng, &TUPLE_IDS));
    if rng.chance(85) {
        out.push_str(filler(rng));
        let basic = rng.pick(&BASICS);
        match rng.below(10) {
            0 => out.push_str(&format!("<{pidf}status/>")),
            1 => out.push_str(&format!("<{pidf}status><x:geo/></{pidf}status>")),
            2 => out.push_str(&format!(
                "<{pidf}status><{pidf}wrap><{pidf}basic>open</{pidf}basic></{pidf}wrap><{pidf}basic>{basic}</{pidf}basic></{pidf}status>"
            )),
            _ => out.push_str(&format!(
                "<{pidf}status>{}<{pidf}basic>{basic}</{pidf}basic>{}</{pidf}status>",
                filler(rng),
                filler(rng)
            )),
        }
    }
    for _ in 0..rng.below(4) {
        out.push_str(filler(rng));
        match rng.below(6) {
            0 => out.push_str(&text_element(rng, &format!("{pidf}contact"), "", &CONTACTS)),
            1 => out.push_str(&text_element(rng, &format!("{pidf}note"), "", &NOTES)),
            2 => {
                let (q, d) = prefixed(rng, declared, NAMESPACES[1].1, "class");
                out.push_str(&text_element(rng, &q, &d, &CLASSES));
            }
            3 => {
                let (q, d) = prefixed(rng, declared, NAMESPACES[0].1, "deviceID");
                out.push_str(&text_element(rng, &q, &d, &DEVICES));
            }
            4 => out.push_str(&format!("<{pidf}timestamp>2025-01-02T03:04:05Z</{pidf}timestamp>")),
            _ => {
                let (q, d) = prefixed(rng, declared, NAMESPACES[3].1, "servcaps");
                out.push_str(&format!("<{q}{d}><audio>true</audio></{q}>"));
            }
        }
    }
    out.push_str(filler(rng));
    out.push_str(&format!("</{pidf}tuple>"));
    out
}

fn person(rng: &mut Rng, declared: &[&str]) -> String {
    let (q, d) = prefixed(rng, declared, NAMESPACES[0].1, "person");
    let mut out = format!("<{q}{d}{}>", id_attr(rng, &["p1", "t1", "", "P1"]));
    if rng.chance(75) {
        let (a, ad) = prefixed(rng, declared, NAMESPACES[1].1, "activities");
        if rng.chance(15) {
            out.push_str(&format!("<{a}{ad}/>"));
        } else {
            out.push_str(&format!("<{a}{ad}>"));
            for _ in 0..rng.below(3) {
                let activity = rng.pick(&ACTIVITIES);
                let (e, ed) = prefixed(rng, declared, NAMESPACES[1].1, activity);
                out.push_str(&format!("{}<{e}{ed}/>", filler(rng)));
            }
            out.push_str(&format!("</{a}>"));
        }
    }
    if rng.chance(40) {
        let (n, nd) = prefixed(rng, declared, NAMESPACES[0].1, "note");
        out.push_str(&text_element(rng, &n, &nd, &NOTES));
    }
    if rng.chance(20) {
        let (c, cd) = prefixed(rng, declared, NAMESPACES[1].1, "class");
        out.push_str(&text_element(rng, &c, &cd, &CLASSES));
    }
    out.push_str(&format!("</{q}>"));
    out
}

fn device(rng: &mut Rng, declared: &[&str]) -> String {
    let (q, d) = prefixed(rng, declared, NAMESPACES[0].1, "device");
    let (i, id) = prefixed(rng, declared, NAMESPACES[0].1, "deviceID");
    let device_id = text_element(rng, &i, &id, &DEVICES);
    format!("<{q}{d}{}>{device_id}</{q}>", id_attr(rng, &["d1", "D1", ""]))
}

/// A PIDF document: tuples, persons, devices and notes under `<presence>`, with the PIDF
/// namespace as default or behind a prefix, sometimes a DOCTYPE with an entity, sometimes not
/// PIDF at all.
pub fn pidf(rng: &mut Rng) -> String {
    let decl = rng.pick(&[
        "",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<?xml version='1.0'?>",
        "\u{FEFF}",
        "\u{FEFF}<?xml version=\"1.0\"?>\n",
    ]);
    let doctype = match rng.below(12) {
        0 => "<!DOCTYPE presence [<!ENTITY who \"sip:alice@example.com\">]>\n",
        1 => "<!DOCTYPE presence [<!ENTITY t \"<note>from &#x26;#x65;ntity</note>\">]>",
        _ => "",
    };
    let pidf = if rng.chance(20) { "p:" } else { "" };
    let mut declared: Vec<&str> = Vec::new();
    let mut attrs = String::new();
    match (pidf, rng.below(20)) {
        (_, 0) => attrs.push_str(" xmlns=\"urn:ietf:params:xml:ns:pidf:other\""),
        ("", _) => attrs.push_str(&format!(" xmlns=\"{PIDF_NS}\"")),
        _ => {
            attrs.push_str(&format!(" xmlns:p=\"{PIDF_NS}\""));
            declared.push("p");
        }
    }
    for (prefix, ns) in NAMESPACES {
        if prefix != "p" && rng.chance(45) {
            attrs.push_str(&format!(" xmlns:{prefix}=\"{ns}\""));
            declared.push(prefix);
        }
    }
    // A prefix bound to another namespace than elsewhere, so that copied elements must carry
    // their own declarations.
    if rng.chance(15) {
        for prefix in ["dm", "rpid", "c"] {
            if !declared.contains(&prefix) {
                attrs.push_str(&format!(" xmlns:{prefix}=\"urn:rebound\""));
            }
        }
    }
    if !declared.contains(&"x") && rng.chance(90) {
        attrs.push_str(" xmlns:x=\"urn:other\"");
        declared.push("x");
    }
    let entity = match rng.below(4) {
        0 if doctype.contains("who") => "&who;".to_string(),
        _ => format!("sip:{}@{}", rng.pick(&USERS), rng.pick(&DOMAINS)),
    };
    attrs.push_str(&format!(" entity=\"{entity}\""));
    let root = rng.pick(&["presence", "presence", "presence", "presence", "Presence", "pidf"]);
    let mut out = format!("{decl}{doctype}<{pidf}{root}{attrs}");
    if rng.chance(5) {
        out.push_str("/>");
        return out;
    }
    out.push('>');
    for _ in 0..rng.below(6) {
        out.push_str(filler(rng));
        match rng.below(10) {
            0..=3 => out.push_str(&tuple(rng, pidf, &declared)),
            4 | 5 => out.push_str(&person(rng, &declared)),
            6 => out.push_str(&device(rng, &declared)),
            7 => out.push_str(&text_element(rng, &format!("{pidf}note"), " xml:lang=\"en\"", &NOTES)),
            8 if doctype.contains("ENTITY t") => out.push_str("&t;"),
            _ => out.push_str("<op:service-description xmlns:op=\"urn:oma:xml:prs:pidf:oma-pres\"><op:service-id>x</op:service-id></op:service-description>"),
        }
    }
    out.push_str(filler(rng));
    out.push_str(&format!("</{pidf}{root}>"));
    if rng.chance(10) {
        out.push_str(filler(rng));
    }
    out
}

/// A date-time: mostly well-formed, with edge values in every field.
pub fn date_time(rng: &mut Rng) -> String {
    let year = rng.pick(&["2025", "1970", "0000", "9999", "999999999", "1969", "2000", "12345", "2024", "2100", "2025", "2030"]);
    let month = rng.pick(&["01", "02", "12", "13", "00", "1", "03", "06", "02", "11"]);
    let day = if rng.chance(70) { rng.pick(&["01", "15", "28"]) } else { rng.pick(&["29", "30", "31", "00", "32"]) };
    let sep = rng.pick(&["T", "T", "T", "t", " ", "X"]);
    let hour = rng.pick(&["00", "23", "12", "07", "24", "25"]);
    let minute = rng.pick(&["00", "59", "30", "60"]);
    let second = rng.pick(&["00", "59", "30", "12", "60", "61"]);
    let fraction = rng.pick(&["", "", ".5", ".000", ".", ".123456789012345678901234"]);
    let zone = rng.pick(&["Z", "z", "", "+01:00", "-23:59", "+24:00", "+05", "-00:00", "+99:99"]);
    let space = rng.pick(&["", "", " ", "\n\t"]);
    format!("{space}{year}-{month}-{day}{sep}{hour}:{minute}:{second}{fraction}{zone}{space}")
}

fn identity(rng: &mut Rng, cp: &str, user: &str, domain: &str) -> String {
    let mut out = format!("<{cp}identity>");
    for _ in 0..1 + rng.below(3) {
        match rng.below(6) {
            0..=2 => {
                let id = if rng.chance(60) {
                    format!("sip:{user}@{domain}")
                } else {
                    format!("sip:{}@{}", rng.pick(&USERS), rng.pick(&DOMAINS))
                };
                if rng.chance(5) {
                    out.push_str(&format!("<{cp}one/>"));
                } else {
                    out.push_str(&format!("<{cp}one id=\"{id}\"/>"));
                }
            }
            3 | 4 => {
                let domain_attr = match rng.below(3) {
                    0 => String::new(),
                    1 => format!(" domain=\"{domain}\""),
                    _ => format!(" domain=\"{}\"", rng.pick(&DOMAINS)),
                };
                out.push_str(&format!("<{cp}many{domain_attr}>"));
                for _ in 0..rng.below(3) {
                    match rng.below(5) {
                        0 => out.push_str(&format!("<{cp}except/>")),
                        1 | 2 => out.push_str(&format!(
                            "<{cp}except id=\"sip:{}@{}\"/>",
                            rng.pick(&USERS),
                            rng.pick(&DOMAINS)
                        )),
                        _ => out.push_str(&format!("<{cp}except domain=\"{}\"/>", rng.pick(&DOMAINS))),
                    }
                }
                out.push_str(&format!("</{cp}many>"));
            }
            _ => out.push_str("<x:any xmlns:x=\"urn:other\"/>"),
        }
    }
    out.push_str(&format!("</{cp}identity>"));
    out
}

fn conditions(rng: &mut Rng, cp: &str, user: &str, domain: &str) -> String {
    let mut out = format!("<{cp}conditions>");
    for _ in 0..rng.below(3) {
        match rng.below(8) {
            0..=3 => out.push_str(&identity(rng, cp, user, domain)),
            4 => {
                if rng.chance(50) {
                    out.push_str(&format!("<{cp}sphere value=\"{}\"/>", rng.pick(&SPHERES)));
                } else {
                    out.push_str(&format!("<{cp}sphere>{}</{cp}sphere>", rng.pick(&SPHERES)));
                }
            }
            5 | 6 => {
                out.push_str(&format!("<{cp}validity>"));
                for _ in 0..rng.below(3) {
                    let (from, until) = (date_time(rng), date_time(rng));
                    match rng.below(8) {
                        0 => out.push_str(&format!("<{cp}from>{from}</{cp}from>")),
                        1 => out.push_str(&format!("<{cp}until>{until}</{cp}until>")),
                        _ => out.push_str(&format!(
                            "<{cp}from>{from}</{cp}from><{cp}until>{until}</{cp}until>"
                        )),
                    }
                }
                out.push_str(&format!("</{cp}validity>"));
            }
            _ => out.push_str("<x:location xmlns:x=\"urn:other\"/>"),
        }
    }
    out.push_str(&format!("</{cp}conditions>"));
    out
}

fn provide(rng: &mut Rng, pr: &str, kind: &str, all: &str) -> String {
    let name = format!("{pr}provide-{kind}");
    match rng.below(8) {
        0 => format!("<{name}><{pr}{all}/></{name}>"),
        1 => format!("<{name}/>"),
        2 => format!("<{name}>{}</{name}>", rng.pick(&["true", "false", " TRUE ", "maybe"])),
        _ => {
            let mut out = format!("<{name}>");
            for _ in 0..1 + rng.below(3) {
                let (selector, value) = match rng.below(6) {
                    0 => ("class", rng.pick(&CLASSES)),
                    1 => ("deviceID", rng.pick(&DEVICES)),
                    2 => ("occurrence-id", rng.pick(&TUPLE_IDS)),
                    3 => ("occurence-id", rng.pick(&TUPLE_IDS)),
                    4 => ("service-uri", rng.pick(&CONTACTS)),
                    _ => ("service-uri-scheme", rng.pick(&["sip", "tel", "SIP", "mailto", ""])),
                };
                out.push_str(&format!("<{pr}{selector}>{value}</{pr}{selector}>"));
            }
            out.push_str(&format!("</{name}>"));
            out
        }
    }
}

fn transformations(rng: &mut Rng, cp: &str, pr: &str) -> String {
    let mut out = format!("<{cp}transformations>");
    for _ in 0..rng.below(5) {
        match rng.below(8) {
            0 => out.push_str(&provide(rng, pr, "services", "all-services")),
            1 => out.push_str(&provide(rng, pr, "devices", "all-devices")),
            2 => out.push_str(&provide(rng, pr, "persons", "all-persons")),
            3 => out.push_str(&format!("<{pr}provide-all-attributes/>")),
            4 => out.push_str(&format!(
                "<{pr}provide-unknown-attribute ns=\"urn:x\" name=\"y\">true</{pr}provide-unknown-attribute>"
            )),
            _ => {
                let what =
                    rng.pick(&["activities", "note", "class", "deviceID", "contact", "mood", "tuple", "status"]);
                let value = rng.pick(&["true", "false", "False", "", "2"]);
                out.push_str(&format!("<{pr}provide-{what}>{value}</{pr}provide-{what}>"));
            }
        }
    }
    out.push_str(&format!("</{cp}transformations>"));
    out
}

/// A pres-rules document whose identities often name the watcher.
pub fn pres_rules(rng: &mut Rng, user: &str, domain: &str) -> String {
    let (cp, cp_decl) = match rng.below(4) {
        0 => ("cr:", " xmlns:cr=\"urn:ietf:params:xml:ns:common-policy\""),
        1 => ("", ""),
        _ => ("", " xmlns=\"urn:ietf:params:xml:ns:common-policy\""),
    };
    let (pr, pr_decl) = match rng.below(4) {
        0 => ("", ""),
        1 if cp.is_empty() && !cp_decl.is_empty() => ("", ""),
        _ => ("pr:", " xmlns:pr=\"urn:ietf:params:xml:ns:pres-rules\""),
    };
    let decl = rng.pick(&["", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", "\u{FEFF}"]);
    let root = rng.pick(&["ruleset", "ruleset", "ruleset", "rules"]);
    let mut out = format!("{decl}<{cp}{root}{cp_decl}{pr_decl}>");
    for _ in 0..rng.below(5) {
        out.push_str(filler(rng));
        let id = match rng.below(5) {
            0 => String::new(),
            _ => format!(" id=\"{}\"", rng.pick(&["r1", "r2", "wp_prs_allow_own", "a&amp;b", ""])),
        };
        out.push_str(&format!("<{cp}rule{id}>"));
        if rng.chance(85) {
            out.push_str(&conditions(rng, cp, user, domain));
        }
        if rng.chance(85) {
            let token = rng.pick(&["allow", "block", "confirm", "polite-block", " allow ", "deny", ""]);
            out.push_str(&format!(
                "<{cp}actions><{pr}sub-handling>{token}</{pr}sub-handling></{cp}actions>"
            ));
        }
        if rng.chance(60) {
            out.push_str(&transformations(rng, cp, pr));
        }
        out.push_str(&format!("</{cp}rule>"));
    }
    out.push_str(&format!("</{cp}{root}>"));
    out
}

/// A dialog-info or reginfo document with or without a `version`.
fn versioned(rng: &mut Rng) -> (&'static str, String) {
    let (root, ns) = rng.pick(&[
        ("dialog-info", "urn:ietf:params:xml:ns:dialog-info"),
        ("reginfo", "urn:ietf:params:xml:ns:reginfo"),
    ]);
    let written = if rng.chance(90) { root } else { rng.pick(&["dialog-info", "reginfo", "DIALOG-INFO"]) };
    let prefix = if rng.chance(20) { "d:" } else { "" };
    let xmlns = if prefix.is_empty() { format!(" xmlns=\"{ns}\"") } else { format!(" xmlns:d=\"{ns}\"") };
    let version = match rng.below(8) {
        0 => String::new(),
        1 => " version='7'".to_string(),
        2 => " d:version=\"1\"".to_string(),
        3 => " Version=\"3\" version=\"&#x34;\"".to_string(),
        _ => format!(" version=\"{}\"", rng.below(20)),
    };
    let state = rng.pick(&["full", "partial"]);
    let decl = rng.pick(&["", "<?xml version=\"1.0\"?>\n", "\u{FEFF}"]);
    let doctype = if rng.chance(5) { "<!DOCTYPE x [<!ENTITY e \"entity\">]>" } else { "" };
    let close = rng.pick(&[">", " >", "\n>", "/>", " />"]);
    let mut out = format!("{decl}{doctype}<{prefix}{written}{xmlns}{version} state=\"{state}\"{close}");
    if !close.ends_with("/>") {
        for _ in 0..rng.below(3) {
            out.push_str(filler(rng));
            if root == "reginfo" {
                out.push_str(&format!(
                    "<{prefix}registration aor=\"sip:alice@example.com\" id=\"a7\" state=\"active\"><{prefix}contact id=\"c1\" state=\"active\" event=\"registered\"><{prefix}uri>sip:alice@pc33</{prefix}uri></{prefix}contact></{prefix}registration>"
                ));
            } else {
                out.push_str(&format!(
                    "<{prefix}dialog id=\"as7d900as8\" direction=\"initiator\"><{prefix}state>{}</{prefix}state></{prefix}dialog>",
                    if doctype.is_empty() { "confirmed" } else { "&e;" }
                ));
            }
        }
        out.push_str(&format!("</{prefix}{written}>"));
    }
    (root, out)
}

const TOKENS: [&str; 18] = [
    "<", ">", "/>", "</", "\"", "'", "&", "&amp;", "&#0;", "<!--", "-->", "<![CDATA[", "]]>",
    "xmlns:dm=\"\"", "\u{0}", "\u{FFFD}", "<tuple>", "</tuple>",
];

fn mutate(rng: &mut Rng, input: &mut Input) {
    for _ in 0..1 + rng.below(2) {
        match rng.below(6) {
            0 | 1 => {
                let i = rng.below(input.bodies.len());
                mutate_bytes(rng, &mut input.bodies[i], &TOKENS);
            }
            2 => mutate_bytes(rng, &mut input.rules, &TOKENS),
            3 => mutate_bytes(rng, &mut input.versioned, &TOKENS),
            4 => mutate_string(rng, &mut input.date, &TOKENS),
            _ => {
                mutate_string(rng, &mut input.user, &TOKENS);
                mutate_string(rng, &mut input.new_id, &TOKENS);
            }
        }
    }
}
