//! Grammar-aware generation of fuzz inputs: XCAP URIs, node selectors, documents of the
//! application usages and PUT bodies, built from the shapes they take in practice and then,
//! some of the time, mutated byte by byte. Everything follows from one 64-bit seed.

use fuzzing::{mutate_bytes, mutate_string, Rng};
use xcap::auid::Auid;

/// One fuzz case: a request URI, a node selector with its bindings, a stored document and a
/// PUT body.
#[derive(Debug, Clone)]
pub struct Input {
    pub uri: String,
    pub root: String,
    pub auid: Auid,
    pub selector: String,
    pub bindings: Vec<(String, String)>,
    pub doc: Vec<u8>,
    pub body: String,
}

const NAMESPACES: [(&str, &str); 7] = [
    ("rl", "urn:ietf:params:xml:ns:resource-lists"),
    ("rs", "urn:ietf:params:xml:ns:rls-services"),
    ("cp", "urn:ietf:params:xml:ns:common-policy"),
    ("pr", "urn:ietf:params:xml:ns:pres-rules"),
    ("t", "urn:test:default-namespace"),
    ("x", "urn:other"),
    ("xml", "http://www.w3.org/XML/1998/namespace"),
];

const ELEMENTS: [&str; 24] = [
    "resource-lists",
    "list",
    "entry",
    "entry-ref",
    "external",
    "display-name",
    "rls-services",
    "service",
    "resource-list",
    "packages",
    "package",
    "ruleset",
    "rule",
    "conditions",
    "identity",
    "one",
    "actions",
    "sub-handling",
    "transformations",
    "root",
    "el1",
    "el2",
    "el3",
    "presence",
];

const ATTRIBUTES: [&str; 10] =
    ["name", "uri", "ref", "anchor", "id", "att", "domain", "lang", "x", "y"];

const VALUES: [&str; 14] = [
    "friends",
    "sip:bob@example.com",
    "sip:a@b",
    "first",
    "second",
    "third",
    "2",
    "",
    "a b",
    "&amp;",
    "&quot;q&quot;",
    "&#x41;",
    "é",
    "http://h/p?x=1",
];

const AUID_NAMES: [&str; 13] = [
    "resource-lists",
    "rls-services",
    "pres-rules",
    "org.openmobilealliance.pres-rules",
    "pidf-manipulation",
    "xcap-caps",
    "org.openmobilealliance.user-profile",
    "org.openmobilealliance.pres-content",
    "org.openmobilealliance.search",
    "org.openmobilealliance.xcap-directory",
    "test-app",
    "",
    "RESOURCE-LISTS",
];

const ROOTS: [&str; 4] = ["/xcap-root/", "/xcap-root", "/", "/a/b/"];

/// Builds the input numbered `index` of the run seeded with `seed`.
pub fn input(seed: u64, index: u64) -> Input {
    let mut rng = Rng::for_input(seed, index);
    let auid = rng.pick(&Auid::ALL);
    let root = rng.pick(&ROOTS).to_string();
    let mut bindings = bindings(&mut rng);
    let doc = document(&mut rng, auid.default_namespace());
    let derived =
        if rng.chance(70) { derive(&mut rng, &doc, auid.default_namespace()) } else { None };
    let (selector, body) = match derived {
        Some(derived) => {
            bindings.extend(derived.bindings);
            (derived.selector, derived.body)
        }
        None => {
            let body =
                if rng.chance(70) { element(&mut rng, 0, 3) } else { attribute_value(&mut rng) };
            (selector(&mut rng), body)
        }
    };
    let uri = uri(&mut rng, &root, &selector, &bindings);
    let mut input = Input { uri, root, auid, selector, bindings, doc: doc.into_bytes(), body };
    if rng.chance(25) {
        mutate(&mut rng, &mut input);
    }
    input
}

/// A selector built from the document's own elements, and a body that fits it.
struct Derived {
    selector: String,
    bindings: Vec<(String, String)>,
    body: String,
}

/// Walks down the document from its root to a random element, naming each step by its name
/// (or `*`), its position and an attribute it has, then points at that element, a new sibling,
/// or one of its attributes.
fn derive(rng: &mut Rng, doc: &str, default_ns: &str) -> Option<Derived> {
    let document = roxmltree::Document::parse(doc).ok()?;
    let mut bindings = Vec::new();
    let mut steps = Vec::new();
    let mut node = document.root_element();
    let depth = 1 + rng.below(4);
    let mut name_of = |rng: &mut Rng, element: roxmltree::Node| -> (String, bool) {
        if rng.chance(15) {
            return ("*".to_string(), true);
        }
        let tag = element.tag_name();
        let name = match tag.namespace() {
            Some(ns) if ns == default_ns => tag.name().to_string(),
            Some(ns) => {
                let prefix = format!("p{}", bindings.len());
                bindings.push((prefix.clone(), ns.to_string()));
                format!("{prefix}:{}", tag.name())
            }
            None => tag.name().to_string(),
        };
        (name, false)
    };
    for level in 0..depth {
        let (name, any) = name_of(rng, node);
        let mut step = name;
        if level > 0 && rng.chance(40) {
            let parent = node.parent()?;
            let same =
                |c: &roxmltree::Node| c.is_element() && (any || c.tag_name() == node.tag_name());
            let position = parent.children().filter(same).position(|c| c == node)? + 1;
            step.push_str(&format!("[{position}]"));
        }
        if rng.chance(40) {
            if let Some(attribute) = node.attributes().next() {
                if attribute.namespace().is_none() {
                    step.push_str(&format!(
                        "[@{}=\"{}\"]",
                        attribute.name(),
                        escape(attribute.value())
                    ));
                }
            }
        }
        steps.push(step);
        let children: Vec<_> = node.children().filter(|c| c.is_element()).collect();
        if children.is_empty() || level + 1 == depth {
            break;
        }
        node = children[rng.below(children.len())];
    }
    let mut body = doc.get(node.range()).unwrap_or_default().to_string();
    match rng.below(10) {
        // An attribute of the element: existing or new.
        0..=2 => {
            let name = match node.attributes().next() {
                Some(a) if rng.chance(50) && a.namespace().is_none() => a.name().to_string(),
                _ => rng.pick(&ATTRIBUTES).to_string(),
            };
            steps.push(format!("@{name}"));
            body = attribute_value(rng);
        }
        // A new child of the element.
        3..=5 => {
            let name = rng.pick(&ELEMENTS);
            let value = rng.pick(&["new", "first", "x y", "2"]);
            let mut step = if rng.chance(20) { "*".to_string() } else { name.to_string() };
            if rng.chance(40) {
                step.push_str(&format!("[{}]", rng.below(4)));
            }
            step.push_str(&format!("[@att=\"{value}\"]"));
            steps.push(step);
            body = format!("<{name} att=\"{value}\"/>");
        }
        // The element itself, replaced by a changed copy or a generated one.
        6 | 7 => body = body.replacen("/>", " />", 1),
        _ => {}
    }
    let selector = format!("/{}", steps.join("/"));
    Some(Derived { selector, bindings, body })
}

/// `value` for a double-quoted attribute value.
fn escape(value: &str) -> String {
    value.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;")
}

fn bindings(rng: &mut Rng) -> Vec<(String, String)> {
    (0..rng.below(4))
        .map(|_| {
            let (prefix, ns) = rng.pick(&NAMESPACES);
            let ns = if rng.chance(10) { "urn:else" } else { ns };
            (prefix.to_string(), ns.to_string())
        })
        .collect()
}

fn qname(rng: &mut Rng, names: &[&str]) -> String {
    let local = if rng.chance(3) { random_name(rng) } else { rng.pick(names).to_string() };
    if rng.chance(15) {
        format!("{}:{local}", rng.pick(&NAMESPACES).0)
    } else {
        local
    }
}

fn random_name(rng: &mut Rng) -> String {
    let chars = ["a", "b", "Z", "_", "-", ".", "1", "é", "\u{10000}", ":"];
    let mut name = String::from(rng.pick(&["a", "_", "é", "X"]));
    for _ in 0..rng.below(6) {
        name.push_str(rng.pick(&chars));
    }
    name
}

fn position(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => "0".into(),
        1 => "4294967295".into(),
        2 => "4294967296".into(),
        3 => "007".into(),
        _ => (1 + rng.below(5)).to_string(),
    }
}

fn quoted(rng: &mut Rng, value: &str) -> String {
    match rng.below(5) {
        0 => format!("'{value}'"),
        1 => format!("\"{value}"),
        _ => format!("\"{value}\""),
    }
}

/// A node selector: element steps with positions and attribute tests, then maybe a terminal.
pub fn selector(rng: &mut Rng) -> String {
    let mut out = String::new();
    if rng.chance(60) {
        out.push('/');
    }
    let steps = 1 + rng.below(5);
    for i in 0..steps {
        if i > 0 {
            out.push('/');
        }
        match rng.below(20) {
            0 => out.push_str(rng.pick(&["text()", "..", ".", "child::a", "comment()", ""])),
            1..=4 => out.push('*'),
            _ => out.push_str(&qname(rng, &ELEMENTS)),
        }
        if rng.chance(35) {
            out.push_str(&format!("[{}]", position(rng)));
        }
        if rng.chance(35) {
            let value = rng.pick(&VALUES).to_string();
            out.push_str(&format!("[@{}={}]", qname(rng, &ATTRIBUTES), quoted(rng, &value)));
        }
        if rng.chance(3) {
            out.push_str(rng.pick(&["[]", "[", "]", "[@]", "[1][2]", "[ 1]"]));
        }
    }
    match rng.below(10) {
        0..=2 => out.push_str(&format!("/@{}", qname(rng, &ATTRIBUTES))),
        3 => out.push_str("/namespace::*"),
        _ => {}
    }
    out
}

/// Percent-encodes some of the characters a client would, and sometimes more.
fn encode(rng: &mut Rng, text: &str) -> String {
    let mode = rng.below(4);
    let mut out = String::new();
    for c in text.chars() {
        let escape = match mode {
            0 => false,
            1 => matches!(c, '[' | ']' | '"' | ' ' | '<' | '>'),
            2 => !c.is_ascii_alphanumeric() && c != '/',
            _ => rng.chance(20),
        };
        if escape {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&if rng.chance(50) {
                    format!("%{b:02X}")
                } else {
                    format!("%{b:02x}")
                });
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn uri(rng: &mut Rng, root: &str, selector: &str, bindings: &[(String, String)]) -> String {
    let mut out = if rng.chance(90) { root.to_string() } else { "/other/".to_string() };
    if !out.ends_with('/') {
        out.push('/');
    }
    out.push_str(rng.pick(&AUID_NAMES));
    out.push('/');
    out.push_str(rng.pick(&["users", "users", "users", "global", "Users", ""]));
    out.push('/');
    let user =
        rng.pick(&["sip:alice@example.com", "sip:bob@example.com", "alice", "sip:a%2Fb@x", ""]);
    out.push_str(user);
    for _ in 0..rng.below(4) {
        out.push('/');
        out.push_str(rng.pick(&[
            "index",
            "..",
            ".",
            "%2E%2E",
            "%2e",
            "dir",
            "directory.xml",
            "",
            "~~",
            "%7E%7E",
        ]));
    }
    if rng.chance(70) {
        out.push_str(rng.pick(&["/~~/", "/~~", "~~", "~~/", "/~~//"]));
        let selector = selector.trim_start_matches('/');
        out.push_str(&encode(rng, selector));
    }
    if rng.chance(30) {
        out.push('?');
        let query: Vec<String> =
            bindings.iter().map(|(p, ns)| format!("xmlns({p}={ns})")).collect();
        let query = match rng.below(4) {
            0 => "target=sip:a@b&domain=example.com".to_string(),
            1 => "xmlns(".to_string(),
            _ => query.join(""),
        };
        out.push_str(&encode(rng, &query));
    }
    out
}

fn attribute_value(rng: &mut Rng) -> String {
    let mut value = rng.pick(&VALUES).to_string();
    if rng.chance(20) {
        value.push_str(rng.pick(&["\"", "'", "<", "&", "&bogus;", "&#0;", "\u{0}"]));
    }
    value
}

fn attributes(rng: &mut Rng) -> String {
    let mut out = String::new();
    for _ in 0..rng.below(3) {
        let name = qname(rng, &ATTRIBUTES);
        let value = rng.pick(&VALUES);
        out.push_str(&format!(
            " {name}={}",
            if rng.chance(80) { format!("\"{value}\"") } else { format!("'{value}'") }
        ));
    }
    if rng.chance(15) {
        let (prefix, ns) = rng.pick(&NAMESPACES);
        if prefix != "xml" {
            out.push_str(&format!(" xmlns:{prefix}=\"{ns}\""));
        }
    }
    if rng.chance(5) {
        out.push_str(&format!(" xmlns=\"{}\"", rng.pick(&NAMESPACES).1));
    }
    out
}

fn filler(rng: &mut Rng) -> &'static str {
    rng.pick(&[
        "",
        "\n  ",
        " ",
        "<!-- comment -->",
        "\n<!-- c -->\n",
        "<?pi x?>",
        "text",
        "&amp;",
        "<![CDATA[<x>]]>",
        "\t",
    ])
}

/// An element with random attributes and children, up to `max_depth` levels below `depth`.
pub fn element(rng: &mut Rng, depth: usize, max_depth: usize) -> String {
    let name = qname(rng, &ELEMENTS);
    let attrs = attributes(rng);
    if depth >= max_depth || rng.chance(30) {
        return format!("<{name}{attrs}/>");
    }
    let mut out = format!("<{name}{attrs}>");
    for _ in 0..rng.below(4) {
        out.push_str(filler(rng));
        out.push_str(&element(rng, depth + 1, max_depth));
    }
    out.push_str(filler(rng));
    out.push_str(&format!("</{name}>"));
    out
}

/// A document: the usage's namespace as default namespace (mostly) and random elements, or
/// deep nesting near the limit.
pub fn document(rng: &mut Rng, default_ns: &str) -> String {
    let decl = rng.pick(&[
        "",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<?xml version='1.0'?>",
        "\u{FEFF}",
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
    ]);
    if rng.chance(1) {
        let depth = 120 + rng.below(20);
        return format!("{decl}<a>{}{}", "<a>".repeat(depth), "</a>".repeat(depth + 1));
    }
    let root =
        rng.pick(&["resource-lists", "rls-services", "ruleset", "root", "presence", "cr:ruleset"]);
    let ns = if rng.chance(80) { default_ns } else { rng.pick(&NAMESPACES).1 };
    let xmlns = match root.split_once(':') {
        Some((prefix, _)) => format!(" xmlns:{prefix}=\"{ns}\""),
        None => format!(" xmlns=\"{ns}\""),
    };
    let extra: String = (0..rng.below(3))
        .map(|_| {
            let (p, n) = rng.pick(&NAMESPACES);
            if p == "xml" {
                String::new()
            } else {
                format!(" xmlns:{p}=\"{n}\"")
            }
        })
        .collect();
    let mut out = format!("{decl}<{root}{xmlns}{extra}>");
    for _ in 0..rng.below(5) {
        out.push_str(filler(rng));
        out.push_str(&element(rng, 1, 4));
    }
    out.push_str(filler(rng));
    out.push_str(&format!("</{root}>"));
    out
}

const TOKENS: [&str; 16] = [
    "<", ">", "/>", "</", "\"", "'", "&", "[", "]", "/", "~~", "%", "%00", "..", "\u{0}",
    "\u{FFFD}",
];

fn mutate(rng: &mut Rng, input: &mut Input) {
    match rng.below(5) {
        0 => mutate_string(rng, &mut input.uri, &TOKENS),
        1 => mutate_string(rng, &mut input.selector, &TOKENS),
        2 => mutate_bytes(rng, &mut input.doc, &TOKENS),
        3 => mutate_string(rng, &mut input.body, &TOKENS),
        _ => {
            mutate_string(rng, &mut input.uri, &TOKENS);
            mutate_string(rng, &mut input.selector, &TOKENS);
            mutate_bytes(rng, &mut input.doc, &TOKENS);
            mutate_string(rng, &mut input.body, &TOKENS);
        }
    }
}
