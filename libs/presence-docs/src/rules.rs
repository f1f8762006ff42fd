//! pres-rules: common-policy authorization rules (RFC 4745) with the presence
//! authorization extensions (RFC 5025), parsed once and evaluated per watcher.
//!
//! The reference is stock Kamailio 5.6.3 `presence_xml`: `pres_watcher_allowed` and
//! `get_rule_node` (xcap_auth.c:49-371) for authorization and rule matching,
//! `xml_parse_dateTime` (pidf.c:137-195) for validity times and `get_final_notify_body`
//! (notify_body.c:225-509) for which transformations exist. Where stock is broken this
//! module follows the RFCs; every such departure is listed here and has a test named
//! `differs_*`:
//!
//! 1. Rule order: [`Rules::matching`] keeps stock's first match in document order
//!    (xcap_auth.c:354-355). RFC 4745 §10 combines every matching rule; that is
//!    [`Rules::matching_combined`], for a strict mode.
//! 2. A rule without `<conditions>` (or with an empty one) matches everyone (RFC 4745:
//!    the conditions are a conjunction, an empty conjunction holds). Stock aborts the
//!    whole search and no rule applies at all, not even later ones (xcap_auth.c:171-175).
//! 3. A rule without `<identity>` applies to any identity (RFC 4745 §7.1: the identity
//!    condition only restricts when present). Stock skips it (xcap_auth.c:261-265).
//! 4. A condition element this module does not know (another namespace, such as OMA's
//!    `external-list`, `other-identity` or `anonymous-request`, or an unknown common-policy
//!    name) makes its rule never apply: common-policy is privacy-safe only if conditions
//!    that are not understood evaluate to FALSE. Stock ignores them; since such rules
//!    usually have no `<identity>`, stock skips them as well, so with (3) this keeps
//!    OMA documents behaving as on stock instead of applying, say, an
//!    `anonymous-request` block rule to everyone.
//! 5. `<validity>`: the "currently valid" flag is per rule. Stock never resets it, so
//!    once one rule had a current interval every later rule's validity passes
//!    (xcap_auth.c:151, 228, 232).
//! 6. Validity times are converted to UTC honouring `Z` and `±hh:mm` exactly. Stock
//!    fills a `struct tm` with `strptime`, converts it with `mktime` (the server's local
//!    zone, with an uninitialised `tm_isdst`) and then applies the offset
//!    (pidf.c:146-194), so every time is off by the server's UTC offset. A time without
//!    a zone is taken as UTC (stock: local time).
//! 7. Malformed validity (a `<from>` without its `<until>`, an `<until>` without a
//!    `<from>`, a date-time that does not parse) makes [`Rules::parse`] fail. Stock
//!    aborts the search when it reaches such a rule (xcap_auth.c:194-224), except that a
//!    date-time that does not parse yields 0 (1970) which its `< 0` checks never catch.
//! 8. `<sphere>` compares the `value` attribute (RFC 4745 §7.2: `<sphere value="work"/>`).
//!    Stock compares the element's text content (xcap_auth.c:245), which is empty for
//!    every RFC document, so a sphere rule never applied while the presentity had a
//!    sphere. The text content is still used when there is no `value` attribute; a
//!    value holding several whitespace-separated tokens matches any of them. Like stock
//!    (xcap_auth.c:257-258) a sphere condition holds when the presentity has no sphere,
//!    and the comparison ignores ASCII case.
//! 9. `<identity>` is the disjunction of its `<one>` and `<many>` children (RFC 4745
//!    §7.1). Stock lets an `<except>` inside `<many>` veto a `<one>` that already
//!    matched (xcap_auth.c:280, 324).
//! 10. `<many domain="d">` matches only watchers of domain `d` (ASCII case ignored).
//!     Stock's test joins the length and content comparisons with `&&` instead of `||`,
//!     so any watcher domain of the same length, or one that is a prefix of `d`, also
//!     matches (xcap_auth.c:301-306). Stock compares the From domain; this module only knows the
//!     watcher's domain.
//! 11. `<except id="...">` excludes that URI. Stock compares `strlen(id) - 1` with the
//!     watcher URI's length, so an exact `except id` never excluded anyone
//!     (xcap_auth.c:321-322).
//! 12. Only `cp:rule` children of `cp:ruleset` are rules, and the root must be
//!     `cp:ruleset`. Stock searches the whole document for any element named `ruleset`
//!     and treats every non-text child as a rule, so a comment between rules (no
//!     `conditions`) aborted the search (xcap_auth.c:159-175). Element names are
//!     matched by namespace URI, never by prefix, and case-sensitively; an element in no
//!     namespace is read by its local name, as stock reads every element, so documents
//!     written without namespaces keep working.
//! 13. `<sub-handling>`: surrounding whitespace is ignored and the value must be one of
//!     the four tokens. Stock compares prefixes (`strncmp`), so `allowed` was `allow`
//!     and ` allow` an error (xcap_auth.c:116-131). An unknown value is kept and
//!     [`decide`] reports it as an error, as stock returns -1 for it.
//!
//! Kept from stock: a matching rule without `<sub-handling>` (or without `<actions>`)
//! leaves the subscription pending (xcap_auth.c:90-106), which is RFC 5025's `confirm`;
//! `<one id>` is an exact, case-sensitive comparison with `sip:user@domain`
//! (xcap_auth.c:154, 278-279); validity intervals include both ends
//! (xcap_auth.c:199, 226); `provide-*` elements whose text is `true`/`false` (any
//! case) provide all/none (notify_body.c:299-322), selectors compare ignoring ASCII
//! case (notify_body.c:385-469).



/// Namespace of RFC 4745 common policy.
pub const NS_COMMON_POLICY: &str = "urn:ietf:params:xml:ns:common-policy";
/// Namespace of RFC 5025 presence authorization rules.
pub const NS_PRES_RULES: &str = "urn:ietf:params:xml:ns:pres-rules";

/// A pres-rules document that is not usable.
pub type RulesError = crate::DocError;

fn err<T>(msg: impl Into<String>) -> Result<T, RulesError> {
    Err(crate::DocError(msg.into()))
}

/// Who asks. The watcher URI is `sip:user@domain`, as stock builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watcher<'a> {
    pub user: &'a str,
    pub domain: &'a str,
}

impl Watcher<'_> {
    /// `sip:user@domain`.
    pub fn uri(&self) -> String {
        format!("sip:{}@{}", self.user, self.domain)
    }
}

/// RFC 5025 `<sub-handling>`, ordered from least to most permissive (RFC 5025 gives
/// them the values 0, 10, 20, 30 for combining).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SubHandling {
    Block,
    Confirm,
    PoliteBlock,
    Allow,
}

impl SubHandling {
    /// The XML token.
    pub fn as_str(self) -> &'static str {
        match self {
            SubHandling::Block => "block",
            SubHandling::Confirm => "confirm",
            SubHandling::PoliteBlock => "polite-block",
            SubHandling::Allow => "allow",
        }
    }

    fn from_token(s: &str) -> Option<SubHandling> {
        match s {
            "block" => Some(SubHandling::Block),
            "confirm" => Some(SubHandling::Confirm),
            "polite-block" => Some(SubHandling::PoliteBlock),
            "allow" => Some(SubHandling::Allow),
            _ => None,
        }
    }
}

/// What one `provide-services` / `provide-devices` / `provide-persons` grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provide {
    /// `<all-services/>` (`all-devices`, `all-persons`), or stock's text `true`.
    All,
    /// An empty element, or stock's text `false`: none of this kind.
    None,
    /// The elements any of these selectors admits.
    Some(Vec<Selector>),
}

/// One RFC 5025 selector inside a `provide-*` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// `<class>`: the element's `class` child.
    Class(String),
    /// `<deviceID>`: the element's `deviceID` child.
    DeviceId(String),
    /// `<occurrence-id>` (and, with [`Spelling::Both`], the older spelling `<occurence-id>`):
    /// the element's `id` attribute.
    OccurrenceId(String),
    /// `<service-uri>`: the tuple's `contact`.
    ServiceUri(String),
    /// `<service-uri-scheme>`: the scheme of the tuple's `contact`.
    ServiceUriScheme(String),
}

/// What a PIDF element (tuple, device, person) exposes to selectors; for the PIDF side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ElementInfo<'a> {
    /// Text of its `class` child.
    pub class: Option<&'a str>,
    /// Text of its `deviceID` child.
    pub device_id: Option<&'a str>,
    /// Its `id` attribute.
    pub id: Option<&'a str>,
    /// Text of its `contact` child (tuples).
    pub contact: Option<&'a str>,
}

impl Selector {
    /// Whether this selector admits the element. Comparisons ignore ASCII case and
    /// surrounding whitespace, as stock's `xmlStrcasecmp` (notify_body.c:385-469); the
    /// scheme is the contact up to its first `:` (none when there is no `:`; stock reads
    /// past its 16-byte buffer then).
    pub fn matches(&self, e: &ElementInfo<'_>) -> bool {
        fn eq(want: &str, have: Option<&str>) -> bool {
            have.is_some_and(|h| h.trim().eq_ignore_ascii_case(want.trim()))
        }
        match self {
            Selector::Class(v) => eq(v, e.class),
            Selector::DeviceId(v) => eq(v, e.device_id),
            Selector::OccurrenceId(v) => eq(v, e.id),
            Selector::ServiceUri(v) => eq(v, e.contact),
            Selector::ServiceUriScheme(v) => eq(
                v,
                e.contact
                    .and_then(|c| c.trim().split_once(':'))
                    .map(|(scheme, _)| scheme),
            ),
        }
    }
}

impl Provide {
    /// Whether an element of this kind is provided.
    pub fn admits(&self, e: &ElementInfo<'_>) -> bool {
        match self {
            Provide::All => true,
            Provide::None => false,
            Provide::Some(sels) => sels.iter().any(|s| s.matches(e)),
        }
    }

    /// RFC 4745 §10 / RFC 5025: the union of two grants.
    pub fn union(&self, other: &Provide) -> Provide {
        match (self, other) {
            (Provide::All, _) | (_, Provide::All) => Provide::All,
            (Provide::None, x) | (x, Provide::None) => x.clone(),
            (Provide::Some(a), Provide::Some(b)) => {
                let mut v = a.clone();
                for s in b {
                    if !v.contains(s) {
                        v.push(s.clone());
                    }
                }
                Provide::Some(v)
            }
        }
    }
}

/// The `<transformations>` of a rule. `None` for a kind means the rule has no
/// `provide-*` element for it: stock then leaves those elements as they are
/// (notify_body.c:264-275), RFC 5025 would withhold them; the PIDF side decides.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Transformations {
    pub services: Option<Provide>,
    pub devices: Option<Provide>,
    pub persons: Option<Provide>,
    /// `<provide-all-attributes/>` is present.
    pub all_attributes: bool,
    /// The other RFC 5025 boolean `provide-X` permissions (`provide-activities`,
    /// `provide-mood`, `provide-note`, ...) as (`X`, value), in document order; values
    /// other than `true`/`false` (any case) are left out, as is `provide-unknown-attribute`.
    /// Stock removes the first element named `X` anywhere in the document when the
    /// value is false (notify_body.c:284-309).
    pub attributes: Vec<(String, bool)>,
}

impl Transformations {
    fn union(&self, other: &Transformations) -> Transformations {
        fn u(a: &Option<Provide>, b: &Option<Provide>) -> Option<Provide> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.union(b)),
                (Some(x), None) | (None, Some(x)) => Some(x.clone()),
                (None, None) => None,
            }
        }
        let mut attributes = self.attributes.clone();
        for (name, value) in &other.attributes {
            match attributes.iter_mut().find(|(n, _)| n == name) {
                Some((_, v)) => *v |= *value,
                None => attributes.push((name.clone(), *value)),
            }
        }
        Transformations {
            services: u(&self.services, &other.services),
            devices: u(&self.devices, &other.devices),
            persons: u(&self.persons, &other.persons),
            all_attributes: self.all_attributes || other.all_attributes,
            attributes,
        }
    }
}

/// The rule (or, combined, the rules) that applies to a watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The rule's `id` (combined: the first matching rule's).
    pub rule_id: Option<String>,
    /// `None` when the rule has no `<sub-handling>` (combined: none of them has one).
    pub sub_handling: Option<SubHandling>,
    pub transformations: Transformations,
    /// A `<sub-handling>` value that is none of the four tokens (trimmed), which
    /// [`decide`] turns into an error like stock's -1.
    pub invalid_sub_handling: Option<String>,
}

/// Subscription state, as stock's `pres_watcher_allowed` sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Pending,
    Terminated,
}

/// Subscription state and reason for the matched rule (xcap_auth.c:79-131).
///
/// * no rule: `(Terminated, None)`, where `None` stands for the operator's
///   `xcapauth_userdel_reason` (default "probation"), unless the subscription is
///   currently pending, which stays `(Pending, None)`;
/// * `block` → `(Terminated, "rejected")`, `confirm` → `(Pending, None)`,
///   `polite-block` → `(Active, "polite-block")`, `allow` → `(Active, None)`;
/// * a rule without `<sub-handling>` → `(Pending, None)` (stock sets pending before it
///   looks at the actions, xcap_auth.c:90-106; RFC 5025's `confirm`);
/// * an unknown `<sub-handling>` value → error (stock returns -1, xcap_auth.c:128-131).
pub fn decide(
    m: Option<&Matched>,
    currently_pending: bool,
) -> Result<(Status, Option<&'static str>), RulesError> {
    let Some(m) = m else {
        return Ok(if currently_pending {
            (Status::Pending, None)
        } else {
            (Status::Terminated, None)
        });
    };
    if let Some(bad) = &m.invalid_sub_handling {
        return err(format!("unknown sub-handling value {bad:?}"));
    }
    Ok(match m.sub_handling {
        None | Some(SubHandling::Confirm) => (Status::Pending, None),
        Some(SubHandling::Block) => (Status::Terminated, Some("rejected")),
        Some(SubHandling::PoliteBlock) => (Status::Active, Some("polite-block")),
        Some(SubHandling::Allow) => (Status::Active, None),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Many {
    domain: Option<String>,
    except_ids: Vec<String>,
    except_domains: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Identity {
    ones: Vec<String>,
    manys: Vec<Many>,
}

impl Identity {
    fn matches(&self, uri: &str, domain: &str) -> bool {
        self.ones.iter().any(|id| id == uri)
            || self.manys.iter().any(|m| {
                m.domain
                    .as_deref()
                    .is_none_or(|d| d.eq_ignore_ascii_case(domain))
                    && !m.except_ids.iter().any(|id| id == uri)
                    && !m
                        .except_domains
                        .iter()
                        .any(|d| d.eq_ignore_ascii_case(domain))
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Condition {
    Identity(Identity),
    /// The sphere value (attribute, or text content when there is none).
    Sphere(String),
    /// Closed intervals [from, until] in unix seconds; any of them.
    Validity(Vec<(i64, i64)>),
    /// Something not understood: never holds.
    Unknown(String),
}

impl Condition {
    fn holds(&self, uri: &str, w: &Watcher<'_>, now: i64, sphere: Option<&str>) -> bool {
        match self {
            Condition::Identity(id) => id.matches(uri, w.domain),
            Condition::Sphere(value) => match sphere {
                None => true,
                Some(current) => {
                    let current = current.trim();
                    let value = value.trim();
                    value.eq_ignore_ascii_case(current)
                        || value
                            .split_ascii_whitespace()
                            .any(|t| t.eq_ignore_ascii_case(current))
                }
            },
            Condition::Validity(intervals) => intervals
                .iter()
                .any(|&(from, until)| from <= now && now <= until),
            Condition::Unknown(_) => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    id: Option<String>,
    conditions: Vec<Condition>,
    sub_handling: Option<Result<SubHandling, String>>,
    transformations: Transformations,
}

impl Rule {
    fn applies(&self, uri: &str, w: &Watcher<'_>, now: i64, sphere: Option<&str>) -> bool {
        self.conditions.iter().all(|c| c.holds(uri, w, now, sphere))
    }

    fn matched(&self) -> Matched {
        let (sub_handling, invalid_sub_handling) = match &self.sub_handling {
            None => (None, None),
            Some(Ok(s)) => (Some(*s), None),
            Some(Err(bad)) => (None, Some(bad.clone())),
        };
        Matched {
            rule_id: self.id.clone(),
            sub_handling,
            transformations: self.transformations.clone(),
            invalid_sub_handling,
        }
    }
}

/// A parsed pres-rules document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    rules: Vec<Rule>,
}

type Node<'a, 'i> = roxmltree::Node<'a, 'i>;

/// True if the element is in namespace `ns`, or in none: documents written without
/// namespaces work with stock (which matches local names only), so they are read the same.
fn in_ns(n: &Node<'_, '_>, ns: &str) -> bool {
    n.tag_name().namespace().is_none_or(|x| x == ns)
}

fn is(n: &Node<'_, '_>, ns: &str, name: &str) -> bool {
    n.is_element() && in_ns(n, ns) && n.tag_name().name() == name
}

fn elements<'a, 'i>(n: &Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(|c| c.is_element())
}

/// All descendant text, like libxml2's `xmlNodeGetContent`.
fn text_content(n: &Node<'_, '_>) -> String {
    n.descendants()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
        .collect()
}

fn qname(n: &Node<'_, '_>) -> String {
    match n.tag_name().namespace() {
        Some(ns) => format!("{{{ns}}}{}", n.tag_name().name()),
        None => n.tag_name().name().to_string(),
    }
}

/// Which spellings of RFC 5025's `<occurrence-id>` selector a document may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Spelling {
    /// The RFC's `occurrence-id` and `occurence-id`, the only one Kamailio 5.6 reads, so that
    /// documents written for either work.
    #[default]
    Both,
    /// Only the RFC's, as Kamailio 6.0 reads it; `occurence-id` is an unknown element.
    RfcOnly,
}

impl Rules {
    /// Parses a pres-rules document: UTF-8 XML whose root is common-policy's `ruleset`.
    /// Both spellings of `occurrence-id` are read.
    pub fn parse(doc: &[u8]) -> Result<Rules, RulesError> {
        Rules::parse_with(doc, Spelling::Both)
    }

    /// Parses a pres-rules document, reading `occurrence-id` in the given spellings.
    pub fn parse_with(doc: &[u8], spelling: Spelling) -> Result<Rules, RulesError> {
        let text = std::str::from_utf8(doc)
            .map_err(|e| crate::DocError(format!("pres-rules document is not UTF-8: {e}")))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.starts_with('\u{feff}') {
            return err("pres-rules document is not well-formed XML: a second byte-order mark");
        }
        let opts = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        let xml = roxmltree::Document::parse_with_options(text, opts)
            .map_err(|e| crate::DocError(format!("pres-rules document is not well-formed XML: {e}")))?;
        let root = xml.root_element();
        if !is(&root, NS_COMMON_POLICY, "ruleset") {
            return err(format!(
                "pres-rules root element is {}, not {{{NS_COMMON_POLICY}}}ruleset",
                qname(&root)
            ));
        }
        let mut rules = Vec::new();
        for r in elements(&root).filter(|n| is(n, NS_COMMON_POLICY, "rule")) {
            rules.push(parse_rule(&r, spelling)?);
        }
        Ok(Rules { rules })
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// No rules at all (nobody matches).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether a rule has a `<sphere>` condition: only then does the presentity's current
    /// sphere matter to [`Rules::matching`].
    pub fn has_sphere_condition(&self) -> bool {
        self.rules.iter().any(|r| r.conditions.iter().any(|c| matches!(c, Condition::Sphere(_))))
    }

    /// The rules' ids in document order.
    pub fn rule_ids(&self) -> Vec<Option<&str>> {
        self.rules.iter().map(|r| r.id.as_deref()).collect()
    }

    /// The rule that applies to `w` at unix time `now` with the presentity's current
    /// sphere, or None: the first in document order whose conditions all hold (stock).
    pub fn matching(&self, w: &Watcher, now: i64, sphere: Option<&str>) -> Option<Matched> {
        let uri = w.uri();
        self.rules
            .iter()
            .find(|r| r.applies(&uri, w, now, sphere))
            .map(Rule::matched)
    }

    /// RFC 4745 §10 combination of every rule that applies: the most permissive
    /// sub-handling (block < confirm < polite-block < allow; rules without one do not
    /// take part), the union of the `provide-*` grants, `provide-all-attributes` and the
    /// boolean permissions if any rule grants them. `rule_id` is the first matching
    /// rule's; an unknown sub-handling value in any matching rule is carried along
    /// (the first one) so that [`decide`] fails.
    pub fn matching_combined(
        &self,
        w: &Watcher,
        now: i64,
        sphere: Option<&str>,
    ) -> Option<Matched> {
        let uri = w.uri();
        let mut acc: Option<Matched> = None;
        for r in self
            .rules
            .iter()
            .filter(|r| r.applies(&uri, w, now, sphere))
        {
            let m = r.matched();
            acc = Some(match acc {
                None => m,
                Some(a) => Matched {
                    rule_id: a.rule_id,
                    sub_handling: a.sub_handling.max(m.sub_handling),
                    transformations: a.transformations.union(&m.transformations),
                    invalid_sub_handling: a.invalid_sub_handling.or(m.invalid_sub_handling),
                },
            });
        }
        acc
    }
}

fn parse_rule(r: &Node<'_, '_>, spelling: Spelling) -> Result<Rule, RulesError> {
    let mut rule = Rule {
        id: r.attribute("id").map(str::to_string),
        conditions: Vec::new(),
        sub_handling: None,
        transformations: Transformations::default(),
    };
    let what = |id: &Option<String>| match id {
        Some(id) => format!("rule {id:?}"),
        None => "rule without id".to_string(),
    };
    for part in elements(r) {
        if is(&part, NS_COMMON_POLICY, "conditions") {
            for c in elements(&part) {
                let cond = parse_condition(&c)
                    .map_err(|e| crate::DocError(format!("{}: {}", what(&rule.id), e.0)))?;
                rule.conditions.push(cond);
            }
        } else if is(&part, NS_COMMON_POLICY, "actions") {
            for a in elements(&part) {
                if is(&a, NS_PRES_RULES, "sub-handling") && rule.sub_handling.is_none() {
                    let v = text_content(&a);
                    let v = v.trim();
                    rule.sub_handling =
                        Some(SubHandling::from_token(v).ok_or_else(|| v.to_string()));
                }
            }
        } else if is(&part, NS_COMMON_POLICY, "transformations") {
            parse_transformations(&part, &mut rule.transformations, spelling);
        }
    }
    Ok(rule)
}

fn parse_condition(c: &Node<'_, '_>) -> Result<Condition, RulesError> {
    if is(c, NS_COMMON_POLICY, "identity") {
        let mut id = Identity::default();
        for child in elements(c) {
            if is(&child, NS_COMMON_POLICY, "one") {
                match child.attribute("id") {
                    Some(v) => id.ones.push(v.to_string()),
                    None => return err("<one> without id"),
                }
            } else if is(&child, NS_COMMON_POLICY, "many") {
                let mut many = Many {
                    domain: child.attribute("domain").map(str::to_string),
                    except_ids: Vec::new(),
                    except_domains: Vec::new(),
                };
                for ex in elements(&child).filter(|e| is(e, NS_COMMON_POLICY, "except")) {
                    match (ex.attribute("id"), ex.attribute("domain")) {
                        (Some(v), _) => many.except_ids.push(v.to_string()),
                        (None, Some(d)) => many.except_domains.push(d.to_string()),
                        (None, None) => return err("<except> without id or domain"),
                    }
                }
                id.manys.push(many);
            }
            // Other children are alternatives this module cannot match: they add nothing.
        }
        Ok(Condition::Identity(id))
    } else if is(c, NS_COMMON_POLICY, "sphere") {
        Ok(Condition::Sphere(match c.attribute("value") {
            Some(v) => v.to_string(),
            None => text_content(c),
        }))
    } else if is(c, NS_COMMON_POLICY, "validity") {
        let mut intervals = Vec::new();
        let mut from: Option<i64> = None;
        for t in elements(c) {
            if is(&t, NS_COMMON_POLICY, "from") {
                if from.is_some() {
                    return err("<validity>: <from> not followed by <until>");
                }
                from = Some(parse_date_time_elem(&t)?);
            } else if is(&t, NS_COMMON_POLICY, "until") {
                let Some(f) = from.take() else {
                    return err("<validity>: <until> without <from>");
                };
                intervals.push((f, parse_date_time_elem(&t)?));
            }
        }
        if from.is_some() {
            return err("<validity>: <from> not followed by <until>");
        }
        Ok(Condition::Validity(intervals))
    } else {
        Ok(Condition::Unknown(qname(c)))
    }
}

fn parse_date_time_elem(t: &Node<'_, '_>) -> Result<i64, RulesError> {
    let s = text_content(t);
    parse_date_time(&s).ok_or_else(|| {
        crate::DocError(format!(
            "<validity>: <{}> is not a date-time: {:?}",
            t.tag_name().name(),
            s
        ))
    })
}

fn parse_provide(p: &Node<'_, '_>, all: &str, spelling: Spelling) -> Provide {
    let mut sels = Vec::new();
    let mut has_elements = false;
    for c in elements(p) {
        has_elements = true;
        if !in_ns(&c, NS_PRES_RULES) {
            continue;
        }
        let v = || text_content(&c).trim().to_string();
        match c.tag_name().name() {
            n if n == all => return Provide::All,
            "class" => sels.push(Selector::Class(v())),
            "deviceID" => sels.push(Selector::DeviceId(v())),
            "occurrence-id" => sels.push(Selector::OccurrenceId(v())),
            "occurence-id" if spelling == Spelling::Both => sels.push(Selector::OccurrenceId(v())),
            "service-uri" => sels.push(Selector::ServiceUri(v())),
            "service-uri-scheme" => sels.push(Selector::ServiceUriScheme(v())),
            _ => {}
        }
    }
    if !has_elements {
        let t = text_content(p);
        if t.trim().eq_ignore_ascii_case("true") {
            return Provide::All;
        }
    }
    if sels.is_empty() {
        Provide::None
    } else {
        Provide::Some(sels)
    }
}

fn parse_transformations(t: &Node<'_, '_>, out: &mut Transformations, spelling: Spelling) {
    for p in elements(t).filter(|p| in_ns(p, NS_PRES_RULES)) {
        let name = p.tag_name().name();
        let slot = match name {
            "provide-services" => Some((&mut out.services, "all-services")),
            "provide-devices" => Some((&mut out.devices, "all-devices")),
            "provide-persons" => Some((&mut out.persons, "all-persons")),
            _ => None,
        };
        if let Some((slot, all)) = slot {
            let got = parse_provide(&p, all, spelling);
            *slot = Some(match slot.take() {
                Some(prev) => prev.union(&got),
                None => got,
            });
        } else if name == "provide-all-attributes" {
            out.all_attributes = true;
        } else if name == "provide-unknown-attribute" {
            // Needs its ns/name attributes; not represented.
        } else if let Some(what) = name.strip_prefix("provide-") {
            let v = text_content(&p);
            let v = v.trim();
            let value = if v.eq_ignore_ascii_case("true") {
                true
            } else if v.eq_ignore_ascii_case("false") {
                false
            } else {
                continue;
            };
            match out.attributes.iter_mut().find(|(n, _)| n == what) {
                Some((_, old)) => *old |= value,
                None => out.attributes.push((what.to_string(), value)),
            }
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// An RFC 3339 / xs:dateTime (`YYYY-MM-DDThh:mm:ss[.frac][Z|±hh:mm]`, `T`, `t` or a
/// space between date and time, surrounding whitespace ignored) as unix seconds in
/// UTC, the fraction dropped. Without a zone the time is taken as UTC. `24:00:00` is
/// the end of the day and a leap second `:60` the next second.
pub fn parse_date_time(s: &str) -> Option<i64> {
    struct Cur<'a>(&'a [u8]);
    impl Cur<'_> {
        fn digits(&mut self, n: usize) -> Option<i64> {
            if self.0.len() < n || !self.0[..n].iter().all(u8::is_ascii_digit) {
                return None;
            }
            let v = self.0[..n]
                .iter()
                .fold(0i64, |a, b| a * 10 + i64::from(b - b'0'));
            self.0 = &self.0[n..];
            Some(v)
        }
        fn lit(&mut self, c: &[u8]) -> Option<u8> {
            let first = *self.0.first()?;
            if c.contains(&first) {
                self.0 = &self.0[1..];
                Some(first)
            } else {
                None
            }
        }
    }
    let s = s.trim();
    let ylen = s.bytes().take_while(u8::is_ascii_digit).count();
    if !(4..=9).contains(&ylen) {
        return None;
    }
    let mut c = Cur(s.as_bytes());
    let year = c.digits(ylen)?;
    c.lit(b"-")?;
    let month = c.digits(2)?;
    c.lit(b"-")?;
    let day = c.digits(2)?;
    c.lit(b"Tt ")?;
    let hour = c.digits(2)?;
    c.lit(b":")?;
    let minute = c.digits(2)?;
    c.lit(b":")?;
    let second = c.digits(2)?;
    let mut fraction_zero = true;
    if c.lit(b".").is_some() {
        let n = c.0.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        fraction_zero = c.0[..n].iter().all(|&b| b == b'0');
        c.0 = &c.0[n..];
    }
    let offset = match c.lit(b"Zz+-") {
        None => 0,
        Some(b'Z' | b'z') => 0,
        Some(sign) => {
            let oh = c.digits(2)?;
            c.lit(b":")?;
            let om = c.digits(2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if sign == b'-' {
                -o
            } else {
                o
            }
        }
    };
    if !c.0.is_empty() {
        return None;
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || minute > 59
        || second > 60
    {
        return None;
    }
    if hour > 24 || (hour == 24 && (minute != 0 || second != 0 || !fraction_zero)) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// True if a rule of `r` applies to alice at the RFC 3339 time `t`.
    fn alice_matches_at(r: &Rules, t: &str) -> bool {
        r.matching(&ALICE, parse_date_time(t).unwrap(), None).is_some()
    }

    #[test]
    fn a_document_without_namespaces_is_read_by_local_names() {
        let doc = br#"<ruleset><rule id="a"><conditions><identity><one id="sip:bob@x"/></identity></conditions><actions><sub-handling>allow</sub-handling></actions><transformations><provide-services><all-services/></provide-services></transformations></rule></ruleset>"#;
        let r = Rules::parse(doc).unwrap();
        let m = r.matching(&Watcher { user: "bob", domain: "x" }, 0, None).unwrap();
        assert_eq!(m.sub_handling, Some(SubHandling::Allow));
        assert_eq!(m.transformations.services, Some(Provide::All));
        assert!(r.matching(&Watcher { user: "eve", domain: "x" }, 0, None).is_none());
    }

    const ALICE: Watcher<'static> = Watcher {
        user: "alice",
        domain: "example.com",
    };
    const BOB: Watcher<'static> = Watcher {
        user: "bob",
        domain: "example.com",
    };
    const CAROL: Watcher<'static> = Watcher {
        user: "carol",
        domain: "other.org",
    };
    /// 2024-06-01T12:00:00Z
    const NOW: i64 = 1_717_243_200;

    /// A ruleset with the usual prefixes around `body`.
    fn doc(body: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy"
            xmlns:pr="urn:ietf:params:xml:ns:pres-rules">{body}</cr:ruleset>"#
        )
    }

    fn rules(body: &str) -> Rules {
        Rules::parse(doc(body).as_bytes()).expect("parses")
    }

    /// A rule with the given conditions and sub-handling.
    fn rule(id: &str, conditions: &str, sub: &str) -> String {
        format!(
            r#"<cr:rule id="{id}"><cr:conditions>{conditions}</cr:conditions>
<cr:actions><pr:sub-handling>{sub}</pr:sub-handling></cr:actions></cr:rule>"#
        )
    }

    fn one(uri: &str) -> String {
        format!(r#"<cr:identity><cr:one id="{uri}"/></cr:identity>"#)
    }

    fn id_of(r: &Rules, w: &Watcher, now: i64, sphere: Option<&str>) -> Option<String> {
        r.matching(w, now, sphere)
            .map(|m| m.rule_id.unwrap_or_default())
    }

    fn sub_of(r: &Rules, w: &Watcher) -> Option<SubHandling> {
        r.matching(w, NOW, None).and_then(|m| m.sub_handling)
    }

    fn validity(from: &str, until: &str) -> String {
        format!("<cr:validity><cr:from>{from}</cr:from><cr:until>{until}</cr:until></cr:validity>")
    }

    // ---- parsing -------------------------------------------------------------------

    #[test]
    fn parses_rfc5025_example() {
        let r = Rules::parse(
            br#"<?xml version="1.0" encoding="UTF-8"?>
   <cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules"
    xmlns:pr="urn:ietf:params:xml:ns:pres-rules"
    xmlns:cr="urn:ietf:params:xml:ns:common-policy">
    <cr:rule id="a">
     <cr:conditions>
      <cr:identity>
       <cr:one id="sip:user@example.com"/>
      </cr:identity>
     </cr:conditions>
     <cr:actions>
      <pr:sub-handling>allow</pr:sub-handling>
     </cr:actions>
     <cr:transformations>
      <pr:provide-services>
       <pr:service-uri-scheme>sip</pr:service-uri-scheme>
       <pr:service-uri-scheme>mailto</pr:service-uri-scheme>
      </pr:provide-services>
      <pr:provide-persons>
       <pr:all-persons/>
      </pr:provide-persons>
      <pr:provide-activities>true</pr:provide-activities>
      <pr:provide-user-input>bare</pr:provide-user-input>
      <pr:provide-unknown-attribute ns="urn:vendor-specific:foo-namespace"
           name="foo">true</pr:provide-unknown-attribute>
     </cr:transformations>
    </cr:rule>
   </cr:ruleset>"#,
        )
        .unwrap();
        assert_eq!(r.len(), 1);
        let m = r
            .matching(
                &Watcher {
                    user: "user",
                    domain: "example.com",
                },
                NOW,
                None,
            )
            .unwrap();
        assert_eq!(m.rule_id.as_deref(), Some("a"));
        assert_eq!(m.sub_handling, Some(SubHandling::Allow));
        assert_eq!(m.invalid_sub_handling, None);
        assert_eq!(
            m.transformations,
            Transformations {
                services: Some(Provide::Some(vec![
                    Selector::ServiceUriScheme("sip".into()),
                    Selector::ServiceUriScheme("mailto".into()),
                ])),
                devices: None,
                persons: Some(Provide::All),
                all_attributes: false,
                attributes: vec![("activities".into(), true)],
            }
        );
    }

    #[test]
    fn any_prefix_and_default_namespaces() {
        let r = Rules::parse(
            br#"<ruleset xmlns="urn:ietf:params:xml:ns:common-policy">
  <rule id="x"><conditions><identity><one id="sip:alice@example.com"/></identity></conditions>
   <actions><sub-handling xmlns="urn:ietf:params:xml:ns:pres-rules">allow</sub-handling></actions>
  </rule></ruleset>"#,
        )
        .unwrap();
        assert_eq!(sub_of(&r, &ALICE), Some(SubHandling::Allow));
        let r = Rules::parse(
            br#"<q:ruleset xmlns:q="urn:ietf:params:xml:ns:common-policy" xmlns:z="urn:ietf:params:xml:ns:pres-rules">
  <q:rule id="x"><q:conditions/><q:actions><z:sub-handling>block</z:sub-handling></q:actions></q:rule></q:ruleset>"#,
        )
        .unwrap();
        assert_eq!(sub_of(&r, &ALICE), Some(SubHandling::Block));
    }

    #[test]
    fn elements_in_wrong_namespace_are_not_recognised() {
        // sub-handling in the common-policy namespace is not RFC 5025's.
        let r = rules(
            r#"<cr:rule id="a"><cr:conditions/><cr:actions><cr:sub-handling>allow</cr:sub-handling></cr:actions></cr:rule>"#,
        );
        let m = r.matching(&ALICE, NOW, None).unwrap();
        assert_eq!(m.sub_handling, None);
        // A rule in the pres-rules namespace is not a rule.
        let r = rules(
            r#"<pr:rule id="a"><cr:conditions/><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></pr:rule>"#,
        );
        assert!(r.is_empty());
        assert_eq!(r.matching(&ALICE, NOW, None), None);
    }

    #[test]
    fn malformed_documents_are_errors() {
        for bad in [
            &b""[..],
            b"not xml",
            b"<cr:ruleset xmlns:cr=\"urn:ietf:params:xml:ns:common-policy\">",
            b"<cr:ruleset xmlns:cr=\"urn:ietf:params:xml:ns:common-policy\"></cr:rules>",
            b"<x:ruleset><x:rule/></x:ruleset>", // unbound prefix
            b"\xff\xfe<ruleset/>",
        ] {
            assert!(
                Rules::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn wrong_root_is_an_error() {
        let e = Rules::parse(b"<x:ruleset xmlns:x=\"urn:other\"><x:rule id=\"a\"/></x:ruleset>").unwrap_err();
        assert!(e.0.contains("ruleset"), "{e}");
        assert!(Rules::parse(
            b"<rl:resource-lists xmlns:rl=\"urn:ietf:params:xml:ns:resource-lists\"/>"
        )
        .is_err());
        assert!(
            Rules::parse(b"<pr:ruleset xmlns:pr=\"urn:ietf:params:xml:ns:pres-rules\"/>").is_err()
        );
        // ruleset nested somewhere else (stock finds it anywhere) is still the wrong root.
        assert!(Rules::parse(
            b"<a><cr:ruleset xmlns:cr=\"urn:ietf:params:xml:ns:common-policy\"/></a>"
        )
        .is_err());
        let e = crate::DocError("x".into());
        assert_eq!(e.to_string(), "x");
        let _: &dyn std::error::Error = &e;
    }

    #[test]
    fn bom_and_empty_ruleset() {
        let mut d = "\u{feff}".to_string();
        d.push_str(&doc(""));
        let r = Rules::parse(d.as_bytes()).unwrap();
        assert!(r.is_empty());
        assert_eq!(r.matching(&ALICE, NOW, None), None);
        assert_eq!(r.matching_combined(&ALICE, NOW, None), None);
        // A second mark is not XML (libxml refuses it; roxmltree would skip it).
        assert!(Rules::parse(format!("\u{feff}{d}").as_bytes()).is_err());
    }

    #[test]
    fn rule_without_id_and_ids_listed() {
        let r = rules(&format!(
            r#"{}<cr:rule><cr:conditions/></cr:rule>"#,
            rule("first", &one("sip:bob@example.com"), "allow")
        ));
        assert_eq!(r.rule_ids(), vec![Some("first"), None]);
        let m = r.matching(&ALICE, NOW, None).unwrap();
        assert_eq!(m.rule_id, None);
        assert_eq!(m.sub_handling, None);
        assert_eq!(m.transformations, Transformations::default());
    }

    // ---- identity ------------------------------------------------------------------

    #[test]
    fn one_matches_exact_uri_only() {
        let r = rules(&rule("a", &one("sip:alice@example.com"), "allow"));
        assert_eq!(id_of(&r, &ALICE, NOW, None).as_deref(), Some("a"));
        assert_eq!(r.matching(&BOB, NOW, None), None);
        // Case-sensitive and exact, as stock (xcap_auth.c:278-279).
        assert_eq!(
            r.matching(
                &Watcher {
                    user: "Alice",
                    domain: "example.com"
                },
                NOW,
                None
            ),
            None
        );
        assert_eq!(
            r.matching(
                &Watcher {
                    user: "alice",
                    domain: "example.co"
                },
                NOW,
                None
            ),
            None
        );
        let r = rules(&rule("a", &one("alice@example.com"), "allow"));
        assert_eq!(r.matching(&ALICE, NOW, None), None);
    }

    #[test]
    fn several_ones_any_matches() {
        let r = rules(&rule(
            "a",
            r#"<cr:identity><cr:one id="sip:bob@example.com"/><cr:one id="sip:alice@example.com"/></cr:identity>"#,
            "allow",
        ));
        assert!(r.matching(&ALICE, NOW, None).is_some());
        assert!(r.matching(&BOB, NOW, None).is_some());
        assert!(r.matching(&CAROL, NOW, None).is_none());
    }

    #[test]
    fn one_without_id_is_an_error() {
        let e = Rules::parse(
            doc(&rule("a", "<cr:identity><cr:one/></cr:identity>", "allow")).as_bytes(),
        )
        .unwrap_err();
        assert!(e.0.contains("\"a\""), "{e}");
    }

    #[test]
    fn many_without_domain_matches_everyone() {
        let r = rules(&rule("a", "<cr:identity><cr:many/></cr:identity>", "allow"));
        for w in [ALICE, BOB, CAROL] {
            assert!(r.matching(&w, NOW, None).is_some());
        }
    }

    #[test]
    fn many_with_domain() {
        let r = rules(&rule(
            "a",
            r#"<cr:identity><cr:many domain="example.com"/></cr:identity>"#,
            "allow",
        ));
        assert!(r.matching(&ALICE, NOW, None).is_some());
        assert!(r.matching(&CAROL, NOW, None).is_none());
        // Domains ignore ASCII case.
        assert!(r
            .matching(
                &Watcher {
                    user: "x",
                    domain: "EXAMPLE.com"
                },
                NOW,
                None
            )
            .is_some());
    }

    #[test]
    fn differs_many_domain_same_length_or_prefix_does_not_match() {
        // Stock (xcap_auth.c:301-306) accepts any domain of the same length ("example.org"
        // for "example.com") and any prefix of the rule's domain ("example.co"); a longer
        // domain starting with it ("example.com.evil") was already refused.
        let r = rules(&rule(
            "a",
            r#"<cr:identity><cr:many domain="example.com"/></cr:identity>"#,
            "allow",
        ));
        assert!(r
            .matching(
                &Watcher {
                    user: "x",
                    domain: "example.org"
                },
                NOW,
                None
            )
            .is_none());
        assert!(r
            .matching(
                &Watcher {
                    user: "x",
                    domain: "example.co"
                },
                NOW,
                None
            )
            .is_none());
        assert!(r
            .matching(
                &Watcher {
                    user: "x",
                    domain: "example.com.evil"
                },
                NOW,
                None
            )
            .is_none());
    }

    #[test]
    fn many_with_except_id() {
        let r = rules(&rule(
            "a",
            r#"<cr:identity><cr:many domain="example.com"><cr:except id="sip:bob@example.com"/></cr:many></cr:identity>"#,
            "allow",
        ));
        assert!(r.matching(&ALICE, NOW, None).is_some());
        assert!(r.matching(&BOB, NOW, None).is_none());
        assert!(r.matching(&CAROL, NOW, None).is_none());
    }

    #[test]
    fn differs_except_id_excludes_exactly() {
        // Stock compares strlen(id) - 1 with the URI length (xcap_auth.c:321-322): an
        // exact except id never excluded anyone, one with a trailing extra character did.
        let r = rules(&rule(
            "a",
            r#"<cr:identity><cr:many><cr:except id="sip:bob@example.comX"/></cr:many></cr:identity>"#,
            "allow",
        ));
        assert!(r.matching(&BOB, NOW, None).is_some());
        let r = rules(&rule(
            "a",
            r#"<cr:identity><cr:many><cr:except id="sip:bob@example.com"/></cr:many></cr:identity>"#,
            "allow",
        ));
        assert!(r.matching(&BOB, NOW, None).is_none());
        assert!(r.matching(&ALICE, NOW, None).is_some());
    }

    #[test]
    fn many_with_except_domain() {
        let r = rules(&rule(
            "a",
            r#"<cr:identity><cr:many><cr:except domain="other.org"/><cr:except domain="spam.net"/></cr:many></cr:identity>"#,
            "allow",
        ));
        assert!(r.matching(&ALICE, NOW, None).is_some());
        assert!(r.matching(&CAROL, NOW, None).is_none());
        assert!(r
            .matching(
                &Watcher {
                    user: "x",
                    domain: "Spam.NET"
                },
                NOW,
                None
            )
            .is_none());
    }

    #[test]
    fn except_without_id_or_domain_is_an_error() {
        assert!(Rules::parse(
            doc(&rule(
                "a",
                "<cr:identity><cr:many><cr:except/></cr:many></cr:identity>",
                "allow"
            ))
            .as_bytes()
        )
        .is_err());
    }

    #[test]
    fn several_manys_any_matches() {
        let r = rules(&rule(
            "a",
            r#"<cr:identity><cr:many domain="other.org"/><cr:many domain="example.com"><cr:except id="sip:bob@example.com"/></cr:many></cr:identity>"#,
            "allow",
        ));
        assert!(r.matching(&ALICE, NOW, None).is_some());
        assert!(r.matching(&CAROL, NOW, None).is_some());
        assert!(r.matching(&BOB, NOW, None).is_none());
    }

    #[test]
    fn differs_one_is_not_vetoed_by_except_of_many() {
        // Stock (xcap_auth.c:280, 324) lets the except of a later many undo the one match.
        let r = rules(&rule(
            "a",
            r#"<cr:identity><cr:one id="sip:bob@example.com"/><cr:many><cr:except id="sip:bob@example.com"/></cr:many></cr:identity>"#,
            "allow",
        ));
        assert!(r.matching(&BOB, NOW, None).is_some());
    }

    #[test]
    fn empty_identity_matches_nobody() {
        let r = rules(&rule("a", "<cr:identity/>", "allow"));
        assert!(r.matching(&ALICE, NOW, None).is_none());
    }

    #[test]
    fn differs_rule_without_identity_matches_anyone() {
        // Stock skips it (xcap_auth.c:261-265) and goes on with the next rule.
        let r = rules(&format!(
            "{}{}",
            rule(
                "no-identity",
                r#"<cr:sphere value="work"/>"#,
                "polite-block"
            ),
            rule("b", &one("sip:alice@example.com"), "allow"),
        ));
        assert_eq!(
            id_of(&r, &ALICE, NOW, Some("work")).as_deref(),
            Some("no-identity")
        );
        assert_eq!(id_of(&r, &CAROL, NOW, None).as_deref(), Some("no-identity"));
        // When its other conditions fail the search goes on.
        assert_eq!(id_of(&r, &ALICE, NOW, Some("home")).as_deref(), Some("b"));
        assert_eq!(id_of(&r, &CAROL, NOW, Some("home")), None);
    }

    #[test]
    fn differs_rule_without_conditions_matches_everyone() {
        // Stock aborts the whole search at such a rule (xcap_auth.c:171-175): Bob would
        // get no rule at all, Alice still the first.
        let r = rules(&format!(
            "{}{}{}",
            rule("a", &one("sip:alice@example.com"), "allow"),
            r#"<cr:rule id="catch-all"><cr:actions><pr:sub-handling>block</pr:sub-handling></cr:actions></cr:rule>"#,
            rule("c", &one("sip:bob@example.com"), "allow"),
        ));
        assert_eq!(id_of(&r, &ALICE, NOW, None).as_deref(), Some("a"));
        assert_eq!(id_of(&r, &BOB, NOW, None).as_deref(), Some("catch-all"));
        assert_eq!(sub_of(&r, &CAROL), Some(SubHandling::Block));
        // An empty <conditions/> is the same.
        let r = rules(&rule("e", "", "confirm"));
        assert_eq!(sub_of(&r, &CAROL), Some(SubHandling::Confirm));
    }

    #[test]
    fn differs_unknown_condition_never_holds() {
        // OMA's conditions: stock ignores unknown conditions, but skips these rules for
        // lacking <identity>. Here they never apply, so the block rule does not catch
        // everyone.
        let r = rules(&format!(
            r#"<cr:rule id="anon" xmlns:ocp="urn:oma:xml:xdm:common-policy"><cr:conditions><ocp:anonymous-request/></cr:conditions>
<cr:actions><pr:sub-handling>block</pr:sub-handling></cr:actions></cr:rule>
<cr:rule id="other" xmlns:ocp="urn:oma:xml:xdm:common-policy"><cr:conditions><ocp:other-identity/></cr:conditions>
<cr:actions><pr:sub-handling>confirm</pr:sub-handling></cr:actions></cr:rule>{}"#,
            rule("own", &one("sip:alice@example.com"), "allow")
        ));
        assert_eq!(id_of(&r, &ALICE, NOW, None).as_deref(), Some("own"));
        assert_eq!(r.matching(&BOB, NOW, None), None);
        // Also an unknown name in the common-policy namespace, even beside an identity.
        let r = rules(&rule(
            "a",
            &format!("{}<cr:future-condition/>", one("sip:alice@example.com")),
            "allow",
        ));
        assert_eq!(r.matching(&ALICE, NOW, None), None);
    }

    #[test]
    fn other_children_of_identity_are_ignored() {
        let r = rules(&rule(
            "a",
            r#"<cr:identity xmlns:x="urn:x"><x:whatever/><cr:one id="sip:alice@example.com"/></cr:identity>"#,
            "allow",
        ));
        assert!(r.matching(&ALICE, NOW, None).is_some());
        assert!(r.matching(&BOB, NOW, None).is_none());
    }

    // ---- sphere --------------------------------------------------------------------

    #[test]
    fn sphere_matches_current_sphere() {
        let r = rules(&rule(
            "a",
            &format!(
                r#"{}<cr:sphere value="work"/>"#,
                one("sip:alice@example.com")
            ),
            "allow",
        ));
        assert!(r.matching(&ALICE, NOW, Some("work")).is_some());
        assert!(
            r.matching(&ALICE, NOW, Some("WORK")).is_some(),
            "case ignored, as stock"
        );
        assert!(r.matching(&ALICE, NOW, Some("home")).is_none());
        assert!(r.matching(&BOB, NOW, Some("work")).is_none());
        assert!(r.has_sphere_condition());
        // The word alone (an id, another namespace's element) is no sphere condition.
        let r = rules(&rule("sphere", &format!(r#"{}<x:sphere xmlns:x="urn:x"/>"#, one("sip:sphere@example.com")), "allow"));
        assert!(!r.has_sphere_condition());
    }

    #[test]
    fn sphere_holds_when_presentity_has_none() {
        // Stock (xcap_auth.c:243-258): no sphere published → the condition holds.
        let r = rules(&rule("a", r#"<cr:sphere value="work"/>"#, "allow"));
        assert!(r.matching(&ALICE, NOW, None).is_some());
    }

    #[test]
    fn differs_sphere_uses_value_attribute() {
        // Stock compares the element's (empty) text (xcap_auth.c:245), so this rule never
        // applied while the presentity had a sphere.
        let r = rules(&rule("a", r#"<cr:sphere value="work"/>"#, "allow"));
        assert!(r.matching(&ALICE, NOW, Some("work")).is_some());
        // Text content still works when there is no value attribute (stock's form).
        let r = rules(&rule("a", r#"<cr:sphere>home</cr:sphere>"#, "allow"));
        assert!(r.matching(&ALICE, NOW, Some("home")).is_some());
        assert!(r.matching(&ALICE, NOW, Some("work")).is_none());
        // Several tokens: any of them.
        let r = rules(&rule("a", r#"<cr:sphere value="work  home"/>"#, "allow"));
        assert!(r.matching(&ALICE, NOW, Some("home")).is_some());
        assert!(r.matching(&ALICE, NOW, Some("work")).is_some());
        assert!(r.matching(&ALICE, NOW, Some("away")).is_none());
        let r = rules(&rule("a", r#"<cr:sphere value="at the office"/>"#, "allow"));
        assert!(r.matching(&ALICE, NOW, Some("at the office")).is_some());
    }

    // ---- validity ------------------------------------------------------------------

    #[test]
    fn date_times() {
        assert_eq!(parse_date_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_date_time("2024-06-01T12:00:00Z"), Some(NOW));
        assert_eq!(parse_date_time("2024-06-01t12:00:00z"), Some(NOW));
        assert_eq!(parse_date_time("2024-06-01 12:00:00Z"), Some(NOW));
        assert_eq!(parse_date_time("  2024-06-01T12:00:00Z\n"), Some(NOW));
        assert_eq!(
            parse_date_time("2024-06-01T12:00:00"),
            Some(NOW),
            "no zone: UTC"
        );
        assert_eq!(parse_date_time("2024-06-01T12:00:00.999Z"), Some(NOW));
        assert_eq!(parse_date_time("2024-06-01T14:00:00+02:00"), Some(NOW));
        assert_eq!(parse_date_time("2024-06-01T07:30:00-04:30"), Some(NOW));
        assert_eq!(parse_date_time("2024-06-01T12:00:00.5+00:00"), Some(NOW));
        assert_eq!(parse_date_time("2024-06-01T12:00:00-00:00"), Some(NOW));
        assert_eq!(parse_date_time("2024-06-02T01:00:00+13:00"), Some(NOW));
        assert_eq!(parse_date_time("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        assert_eq!(parse_date_time("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(parse_date_time("1969-12-31T23:59:59Z"), Some(-1));
        assert_eq!(
            parse_date_time("2024-05-31T24:00:00Z"),
            parse_date_time("2024-06-01T00:00:00Z")
        );
        assert_eq!(parse_date_time("2016-12-31T23:59:60Z"), Some(1_483_228_800));
        assert_eq!(parse_date_time("2038-01-19T03:14:08Z"), Some(1 << 31));
        assert_eq!(
            parse_date_time("10000-01-01T00:00:00Z"),
            Some(253_402_300_800)
        );
        for bad in [
            "",
            "2024-06-01",
            "2024-06-01T12:00Z",
            "24-06-01T12:00:00Z",
            "2024-6-01T12:00:00Z",
            "2024-06-01X12:00:00Z",
            "2024-13-01T12:00:00Z",
            "2024-00-01T12:00:00Z",
            "2023-02-29T12:00:00Z",
            "1900-02-29T12:00:00Z",
            "2024-04-31T12:00:00Z",
            "2024-06-00T12:00:00Z",
            "2024-06-01T25:00:00Z",
            "2024-06-01T24:00:01Z",
            "2024-06-01T12:60:00Z",
            "2024-06-01T12:00:61Z",
            "2024-06-01T12:00:00.Z",
            "2024-06-01T12:00:00+0200",
            "2024-06-01T12:00:00+2:00",
            "2024-06-01T12:00:00+24:00",
            "2024-06-01T12:00:00+02:60",
            "2024-06-01T12:00:00ZZ",
            "2024-06-01T12:00:00Z x",
            "2024-06-01T12:00:00 Z",
            "-2024-06-01T12:00:00Z",
            "２０２４-06-01T12:00:00Z",
        ] {
            assert_eq!(parse_date_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn validity_interval_inclusive() {
        let r = rules(&rule(
            "a",
            &validity("2024-06-01T11:00:00Z", "2024-06-01T13:00:00Z"),
            "allow",
        ));
        assert!(r.matching(&ALICE, NOW, None).is_some());
        assert!(
            r.matching(&ALICE, NOW - 3600, None).is_some(),
            "from included"
        );
        assert!(
            r.matching(&ALICE, NOW + 3600, None).is_some(),
            "until included"
        );
        assert!(r.matching(&ALICE, NOW - 3601, None).is_none());
        assert!(r.matching(&ALICE, NOW + 3601, None).is_none());
    }

    #[test]
    fn differs_validity_offsets_are_utc() {
        // 11:00Z..13:00Z written with offsets; stock shifts everything by the server's
        // local zone (mktime, pidf.c:194).
        let r = rules(&rule(
            "a",
            &validity("2024-06-01T13:00:00+02:00", "2024-06-01T08:00:00-05:00"),
            "allow",
        ));
        assert!(r.matching(&ALICE, NOW - 3600, None).is_some());
        assert!(r.matching(&ALICE, NOW + 3600, None).is_some());
        assert!(r.matching(&ALICE, NOW - 3601, None).is_none());
        assert!(r.matching(&ALICE, NOW + 3601, None).is_none());
        // With Z and a fraction.
        let r = rules(&rule(
            "a",
            &validity("2024-06-01T12:00:00.000Z", "2024-06-01T12:00:00.999Z"),
            "allow",
        ));
        assert!(r.matching(&ALICE, NOW, None).is_some());
        assert!(r.matching(&ALICE, NOW + 1, None).is_none());
    }

    #[test]
    fn validity_any_interval() {
        let r = rules(&rule(
            "a",
            "<cr:validity>\
               <cr:from>2024-01-01T00:00:00Z</cr:from><cr:until>2024-01-02T00:00:00Z</cr:until>\
               <cr:from>2024-06-01T00:00:00Z</cr:from><cr:until>2024-06-02T00:00:00Z</cr:until>\
             </cr:validity>",
            "allow",
        ));
        assert!(r.matching(&ALICE, NOW, None).is_some());
        assert!(alice_matches_at(&r, "2024-01-01T12:00:00Z"));
        assert!(!alice_matches_at(&r, "2024-03-01T12:00:00Z"));
        assert!(!alice_matches_at(&r, "2025-01-01T00:00:00Z"));
    }

    #[test]
    fn empty_validity_never_holds() {
        let r = rules(&rule("a", "<cr:validity/>", "allow"));
        assert!(r.matching(&ALICE, NOW, None).is_none());
    }

    #[test]
    fn differs_validity_flag_is_per_rule() {
        // Stock never resets `valid` (xcap_auth.c:151, 228): after rule "now" had a
        // current interval, rule "past" would count as valid too. Here "now" does not
        // match Bob (identity) but its validity was evaluated first.
        let r = rules(&format!(
            "{}{}",
            rule(
                "now",
                &format!(
                    "{}{}",
                    validity("2024-06-01T00:00:00Z", "2024-06-02T00:00:00Z"),
                    one("sip:alice@example.com")
                ),
                "allow"
            ),
            rule(
                "past",
                &format!(
                    "{}{}",
                    validity("2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z"),
                    one("sip:bob@example.com")
                ),
                "allow"
            ),
        ));
        assert_eq!(id_of(&r, &ALICE, NOW, None).as_deref(), Some("now"));
        assert_eq!(r.matching(&BOB, NOW, None), None);
    }

    #[test]
    fn differs_malformed_validity_is_an_error() {
        // Stock aborts the search when it reaches these (xcap_auth.c:194-224), or for an
        // unparsable time reads 1970 (pidf.c:146-156 return 0, never < 0).
        for v in [
            "<cr:validity><cr:from>2024-06-01T00:00:00Z</cr:from></cr:validity>",
            "<cr:validity><cr:until>2024-06-01T00:00:00Z</cr:until></cr:validity>",
            "<cr:validity><cr:from>2024-06-01T00:00:00Z</cr:from><cr:from>2024-06-01T00:00:00Z</cr:from><cr:until>2024-06-02T00:00:00Z</cr:until></cr:validity>",
            "<cr:validity><cr:from>yesterday</cr:from><cr:until>2024-06-02T00:00:00Z</cr:until></cr:validity>",
            "<cr:validity><cr:from>2024-06-01T00:00:00Z</cr:from><cr:until>tomorrow</cr:until></cr:validity>",
        ] {
            let e = Rules::parse(doc(&rule("v", v, "allow")).as_bytes()).unwrap_err();
            assert!(e.0.contains("validity"), "{e}");
        }
    }

    // ---- combinations and order ----------------------------------------------------

    #[test]
    fn all_conditions_must_hold() {
        let r = rules(&rule(
            "a",
            &format!(
                r#"{}<cr:sphere value="work"/>{}"#,
                one("sip:alice@example.com"),
                validity("2024-06-01T00:00:00Z", "2024-06-02T00:00:00Z")
            ),
            "allow",
        ));
        assert!(r.matching(&ALICE, NOW, Some("work")).is_some());
        assert!(r.matching(&ALICE, NOW, None).is_some());
        assert!(r.matching(&ALICE, NOW, Some("home")).is_none());
        assert!(r.matching(&ALICE, NOW + 86400 * 2, Some("work")).is_none());
        assert!(r.matching(&BOB, NOW, Some("work")).is_none());
        // Two identity conditions: both must hold.
        let r = rules(&rule(
            "a",
            r#"<cr:identity><cr:many domain="example.com"/></cr:identity><cr:identity><cr:one id="sip:bob@example.com"/></cr:identity>"#,
            "allow",
        ));
        assert!(r.matching(&BOB, NOW, None).is_some());
        assert!(r.matching(&ALICE, NOW, None).is_none());
    }

    #[test]
    fn first_match_in_document_order() {
        let r = rules(&format!(
            "{}{}{}",
            rule("block-bob", &one("sip:bob@example.com"), "block"),
            rule(
                "domain",
                r#"<cr:identity><cr:many domain="example.com"/></cr:identity>"#,
                "allow"
            ),
            rule(
                "everyone",
                "<cr:identity><cr:many/></cr:identity>",
                "confirm"
            ),
        ));
        assert_eq!(id_of(&r, &BOB, NOW, None).as_deref(), Some("block-bob"));
        assert_eq!(sub_of(&r, &BOB), Some(SubHandling::Block));
        assert_eq!(id_of(&r, &ALICE, NOW, None).as_deref(), Some("domain"));
        assert_eq!(id_of(&r, &CAROL, NOW, None).as_deref(), Some("everyone"));
        // Reversed order: the catch-all wins for everyone.
        let r = rules(&format!(
            "{}{}",
            rule(
                "everyone",
                "<cr:identity><cr:many/></cr:identity>",
                "confirm"
            ),
            rule("block-bob", &one("sip:bob@example.com"), "block"),
        ));
        assert_eq!(id_of(&r, &BOB, NOW, None).as_deref(), Some("everyone"));
    }

    #[test]
    fn differs_comments_and_foreign_elements_between_rules() {
        // Stock treats every non-text child of ruleset as a rule; a comment has no
        // <conditions> and aborts the search (xcap_auth.c:164-175).
        let r = rules(&format!(
            "<!-- first --><x:meta xmlns:x=\"urn:x\"/>{}<!-- second -->{}",
            rule("a", &one("sip:alice@example.com"), "allow"),
            rule("b", &one("sip:bob@example.com"), "block"),
        ));
        assert_eq!(r.len(), 2);
        assert_eq!(id_of(&r, &BOB, NOW, None).as_deref(), Some("b"));
    }

    #[test]
    fn matching_combined_takes_most_permissive_and_unions() {
        let r = rules(&format!(
            r#"{}{}
<cr:rule id="c"><cr:conditions><cr:identity><cr:many domain="example.com"/></cr:identity></cr:conditions>
 <cr:actions><pr:sub-handling>polite-block</pr:sub-handling></cr:actions>
 <cr:transformations>
  <pr:provide-services><pr:class>work</pr:class></pr:provide-services>
  <pr:provide-persons/>
  <pr:provide-devices><pr:deviceID>urn:x</pr:deviceID></pr:provide-devices>
  <pr:provide-note>false</pr:provide-note>
 </cr:transformations></cr:rule>
<cr:rule id="d"><cr:conditions><cr:identity><cr:one id="sip:bob@example.com"/></cr:identity></cr:conditions>
 <cr:transformations>
  <pr:provide-services><pr:class>home</pr:class><pr:class>work</pr:class></pr:provide-services>
  <pr:provide-all-attributes/>
  <pr:provide-note>true</pr:provide-note>
 </cr:transformations></cr:rule>"#,
            rule("a", &one("sip:bob@example.com"), "block"),
            rule("b", "<cr:identity><cr:many/></cr:identity>", "confirm"),
        ));
        // First match: Bob is blocked.
        let first = r.matching(&BOB, NOW, None).unwrap();
        assert_eq!(first.rule_id.as_deref(), Some("a"));
        assert_eq!(first.sub_handling, Some(SubHandling::Block));
        // Combined: a, b, c, d all apply; the most permissive wins.
        let m = r.matching_combined(&BOB, NOW, None).unwrap();
        assert_eq!(m.rule_id.as_deref(), Some("a"));
        assert_eq!(m.sub_handling, Some(SubHandling::PoliteBlock));
        assert_eq!(
            m.transformations,
            Transformations {
                services: Some(Provide::Some(vec![
                    Selector::Class("work".into()),
                    Selector::Class("home".into()),
                ])),
                devices: Some(Provide::Some(vec![Selector::DeviceId("urn:x".into())])),
                persons: Some(Provide::None),
                all_attributes: true,
                attributes: vec![("note".into(), true)],
            }
        );
        // Carol only gets b.
        let m = r.matching_combined(&CAROL, NOW, None).unwrap();
        assert_eq!(m.rule_id.as_deref(), Some("b"));
        assert_eq!(m.sub_handling, Some(SubHandling::Confirm));
        assert_eq!(m.transformations, Transformations::default());
        // No rule at all.
        let r2 = rules(&rule("a", &one("sip:bob@example.com"), "allow"));
        assert_eq!(r2.matching_combined(&ALICE, NOW, None), None);
    }

    #[test]
    fn matching_combined_sub_handling_order_and_absence() {
        let all = ["block", "confirm", "polite-block", "allow"];
        for (i, a) in all.iter().enumerate() {
            for (j, b) in all.iter().enumerate() {
                let r = rules(&format!("{}{}", rule("x", "", a), rule("y", "", b)));
                let m = r.matching_combined(&ALICE, NOW, None).unwrap();
                assert_eq!(m.sub_handling.map(SubHandling::as_str), Some(all[i.max(j)]));
            }
        }
        // A rule without sub-handling takes no part.
        let r = rules(&format!(
            r#"<cr:rule id="x"><cr:conditions/></cr:rule>{}"#,
            rule("y", "", "block")
        ));
        assert_eq!(
            r.matching_combined(&ALICE, NOW, None).unwrap().sub_handling,
            Some(SubHandling::Block)
        );
        let r = rules(r#"<cr:rule id="x"><cr:conditions/></cr:rule><cr:rule id="y"/>"#);
        assert_eq!(
            r.matching_combined(&ALICE, NOW, None).unwrap().sub_handling,
            None
        );
        // An invalid value in any applying rule is carried to decide().
        let r = rules(&format!(
            "{}{}",
            rule("x", "", "allow"),
            rule("y", "", "bogus")
        ));
        let m = r.matching_combined(&ALICE, NOW, None).unwrap();
        assert_eq!(m.invalid_sub_handling.as_deref(), Some("bogus"));
        assert!(decide(Some(&m), false).is_err());
    }

    #[test]
    fn provide_union() {
        let s = |v: &str| Provide::Some(vec![Selector::Class(v.into())]);
        assert_eq!(Provide::All.union(&Provide::None), Provide::All);
        assert_eq!(Provide::None.union(&s("a")), s("a"));
        assert_eq!(s("a").union(&Provide::All), Provide::All);
        assert_eq!(Provide::None.union(&Provide::None), Provide::None);
        assert_eq!(
            s("a").union(&s("b")),
            Provide::Some(vec![
                Selector::Class("a".into()),
                Selector::Class("b".into())
            ])
        );
        assert_eq!(s("a").union(&s("a")), s("a"));
    }

    // ---- actions and decide --------------------------------------------------------

    #[test]
    fn sub_handling_values() {
        for (tok, want) in [
            ("block", SubHandling::Block),
            ("confirm", SubHandling::Confirm),
            ("polite-block", SubHandling::PoliteBlock),
            ("allow", SubHandling::Allow),
            ("\n   allow  \n", SubHandling::Allow),
        ] {
            let r = rules(&rule("a", "", tok));
            let m = r.matching(&ALICE, NOW, None).unwrap();
            assert_eq!(m.sub_handling, Some(want), "{tok:?}");
            assert_eq!(m.invalid_sub_handling, None);
            assert_eq!(want.as_str(), tok.trim());
        }
    }

    #[test]
    fn differs_sub_handling_exact_tokens() {
        // Stock compares prefixes (xcap_auth.c:116-131): "allowed" was allow, "blocked"
        // block; here they are unknown values, which decide() reports like stock's -1.
        for tok in ["allowed", "blocked", "Allow", "", "polite"] {
            let r = rules(&rule("a", "", tok));
            let m = r.matching(&ALICE, NOW, None).unwrap();
            assert_eq!(m.sub_handling, None, "{tok:?}");
            assert_eq!(m.invalid_sub_handling.as_deref(), Some(tok));
            assert!(decide(Some(&m), false).is_err());
            assert!(decide(Some(&m), true).is_err());
        }
    }

    #[test]
    fn first_sub_handling_of_a_rule_counts() {
        let r = rules(
            r#"<cr:rule id="a"><cr:actions><pr:sub-handling>allow</pr:sub-handling><pr:sub-handling>block</pr:sub-handling></cr:actions></cr:rule>"#,
        );
        assert_eq!(sub_of(&r, &ALICE), Some(SubHandling::Allow));
    }

    #[test]
    fn decide_every_case() {
        let m = |s: Option<SubHandling>| Matched {
            rule_id: Some("r".into()),
            sub_handling: s,
            transformations: Transformations::default(),
            invalid_sub_handling: None,
        };
        // No rule: terminated with the operator's reason unless pending (xcap_auth.c:80-87).
        assert_eq!(decide(None, false), Ok((Status::Terminated, None)));
        assert_eq!(decide(None, true), Ok((Status::Pending, None)));
        for pending in [false, true] {
            assert_eq!(
                decide(Some(&m(Some(SubHandling::Block))), pending),
                Ok((Status::Terminated, Some("rejected")))
            );
            assert_eq!(
                decide(Some(&m(Some(SubHandling::Confirm))), pending),
                Ok((Status::Pending, None))
            );
            assert_eq!(
                decide(Some(&m(Some(SubHandling::PoliteBlock))), pending),
                Ok((Status::Active, Some("polite-block")))
            );
            assert_eq!(
                decide(Some(&m(Some(SubHandling::Allow))), pending),
                Ok((Status::Active, None))
            );
            // No sub-handling: pending, as stock (xcap_auth.c:90-106).
            assert_eq!(decide(Some(&m(None)), pending), Ok((Status::Pending, None)));
        }
    }

    #[test]
    fn rule_without_actions_or_sub_handling_is_pending() {
        for r in [
            r#"<cr:rule id="a"><cr:conditions/></cr:rule>"#,
            r#"<cr:rule id="a"><cr:conditions/><cr:actions/></cr:rule>"#,
            r#"<cr:rule id="a"><cr:conditions/><cr:actions xmlns:x="urn:x"><x:other>allow</x:other></cr:actions></cr:rule>"#,
        ] {
            let r = rules(r);
            let m = r.matching(&ALICE, NOW, None).unwrap();
            assert_eq!(m.sub_handling, None);
            assert_eq!(decide(Some(&m), false), Ok((Status::Pending, None)));
        }
    }

    #[test]
    fn end_to_end_decisions() {
        let r = rules(&format!(
            "{}{}{}",
            rule("bob", &one("sip:bob@example.com"), "block"),
            rule("carol", &one("sip:carol@other.org"), "polite-block"),
            rule(
                "domain",
                r#"<cr:identity><cr:many domain="example.com"/></cr:identity>"#,
                "allow"
            ),
        ));
        let d = |w: &Watcher, p| decide(r.matching(w, NOW, None).as_ref(), p).unwrap();
        assert_eq!(d(&BOB, false), (Status::Terminated, Some("rejected")));
        assert_eq!(d(&CAROL, false), (Status::Active, Some("polite-block")));
        assert_eq!(d(&ALICE, true), (Status::Active, None));
        let dave = Watcher {
            user: "dave",
            domain: "elsewhere.net",
        };
        assert_eq!(d(&dave, false), (Status::Terminated, None));
        assert_eq!(d(&dave, true), (Status::Pending, None));
    }

    // ---- transformations -----------------------------------------------------------

    fn transformations(t: &str) -> Transformations {
        let r = rules(&format!(
            r#"<cr:rule id="t"><cr:conditions/><cr:transformations>{t}</cr:transformations></cr:rule>"#
        ));
        r.matching(&ALICE, NOW, None).unwrap().transformations
    }

    #[test]
    fn provide_all_kinds() {
        let t = transformations(
            "<pr:provide-services><pr:all-services/></pr:provide-services>\
             <pr:provide-devices><pr:all-devices/></pr:provide-devices>\
             <pr:provide-persons><pr:all-persons/></pr:provide-persons>\
             <pr:provide-all-attributes/>",
        );
        assert_eq!(
            t,
            Transformations {
                services: Some(Provide::All),
                devices: Some(Provide::All),
                persons: Some(Provide::All),
                all_attributes: true,
                attributes: vec![],
            }
        );
        assert_eq!(transformations(""), Transformations::default());
        let none =
            Rules::parse(doc(r#"<cr:rule id="t"><cr:conditions/></cr:rule>"#).as_bytes()).unwrap();
        assert_eq!(
            none.matching(&ALICE, NOW, None).unwrap().transformations,
            Transformations::default()
        );
    }

    #[test]
    fn provide_selectors() {
        let t = transformations(
            "<pr:provide-services>\
               <pr:service-uri>sip:alice@example.com</pr:service-uri>\
               <pr:service-uri-scheme> tel </pr:service-uri-scheme>\
               <pr:occurrence-id>t1</pr:occurrence-id>\
               <pr:class>work</pr:class>\
             </pr:provide-services>\
             <pr:provide-devices>\
               <pr:deviceID>urn:uuid:d1</pr:deviceID>\
               <pr:occurence-id>d2</pr:occurence-id>\
               <pr:class>phone</pr:class>\
             </pr:provide-devices>\
             <pr:provide-persons>\
               <pr:occurrence-id>p1</pr:occurrence-id>\
               <pr:class>public</pr:class>\
             </pr:provide-persons>",
        );
        assert_eq!(
            t.services,
            Some(Provide::Some(vec![
                Selector::ServiceUri("sip:alice@example.com".into()),
                Selector::ServiceUriScheme("tel".into()),
                Selector::OccurrenceId("t1".into()),
                Selector::Class("work".into()),
            ]))
        );
        assert_eq!(
            t.devices,
            Some(Provide::Some(vec![
                Selector::DeviceId("urn:uuid:d1".into()),
                Selector::OccurrenceId("d2".into()),
                Selector::Class("phone".into()),
            ]))
        );
        assert_eq!(
            t.persons,
            Some(Provide::Some(vec![
                Selector::OccurrenceId("p1".into()),
                Selector::Class("public".into()),
            ]))
        );
        assert!(!t.all_attributes);
    }

    #[test]
    fn rfc_only_spelling_ignores_occurence_id() {
        let body = r#"<cr:rule id="t"><cr:conditions/><cr:transformations>
               <pr:provide-devices><pr:occurence-id>d2</pr:occurence-id></pr:provide-devices>
               <pr:provide-persons><pr:occurrence-id>p1</pr:occurrence-id></pr:provide-persons>
             </cr:transformations></cr:rule>"#;
        let parsed = |spelling| {
            Rules::parse_with(doc(body).as_bytes(), spelling).unwrap().matching(&ALICE, NOW, None).unwrap().transformations
        };
        let rfc = parsed(Spelling::RfcOnly);
        assert_eq!(rfc.devices, Some(Provide::None));
        assert_eq!(rfc.persons, Some(Provide::Some(vec![Selector::OccurrenceId("p1".into())])));
        let both = parsed(Spelling::Both);
        assert_eq!(both.devices, Some(Provide::Some(vec![Selector::OccurrenceId("d2".into())])));
        assert_eq!(both.persons, rfc.persons);
    }

    #[test]
    fn provide_empty_and_boolean_text() {
        let t = transformations(
            "<pr:provide-services/>\
             <pr:provide-devices>FALSE</pr:provide-devices>\
             <pr:provide-persons> True </pr:provide-persons>",
        );
        assert_eq!(t.services, Some(Provide::None));
        assert_eq!(t.devices, Some(Provide::None));
        assert_eq!(t.persons, Some(Provide::All));
    }

    #[test]
    fn provide_all_wins_over_selectors_and_foreign_children_are_ignored() {
        let t = transformations(
            "<pr:provide-services xmlns:x=\"urn:x\"><pr:class>a</pr:class><pr:all-services/></pr:provide-services>\
             <pr:provide-persons xmlns:x=\"urn:x\"><x:class>a</x:class><pr:all-devices/></pr:provide-persons>\
             <cr:provide-devices><pr:all-devices/></cr:provide-devices>",
        );
        assert_eq!(t.services, Some(Provide::All));
        // all-devices inside provide-persons is not all-persons; the foreign class is not a selector.
        assert_eq!(t.persons, Some(Provide::None));
        // provide-devices in the wrong namespace is not recognised.
        assert_eq!(t.devices, None);
    }

    #[test]
    fn repeated_provide_elements_are_united() {
        let t = transformations(
            "<pr:provide-services><pr:class>a</pr:class></pr:provide-services>\
             <pr:provide-services><pr:class>b</pr:class></pr:provide-services>",
        );
        assert_eq!(
            t.services,
            Some(Provide::Some(vec![
                Selector::Class("a".into()),
                Selector::Class("b".into())
            ]))
        );
    }

    #[test]
    fn boolean_attribute_permissions() {
        let t = transformations(
            "<pr:provide-activities>true</pr:provide-activities>\
             <pr:provide-mood>FALSE</pr:provide-mood>\
             <pr:provide-user-input>thresholds</pr:provide-user-input>\
             <pr:provide-note>false</pr:provide-note>\
             <pr:provide-note>true</pr:provide-note>",
        );
        assert_eq!(
            t.attributes,
            vec![
                ("activities".into(), true),
                ("mood".into(), false),
                ("note".into(), true)
            ]
        );
    }

    #[test]
    fn selectors_admit_elements() {
        let tuple = ElementInfo {
            class: Some("Work"),
            device_id: None,
            id: Some("t1"),
            contact: Some(" SIP:alice@example.com "),
        };
        assert!(Selector::Class("work".into()).matches(&tuple));
        assert!(Selector::OccurrenceId("T1".into()).matches(&tuple));
        assert!(Selector::ServiceUri("sip:alice@example.com".into()).matches(&tuple));
        assert!(Selector::ServiceUriScheme("sip".into()).matches(&tuple));
        assert!(!Selector::ServiceUriScheme("tel".into()).matches(&tuple));
        assert!(!Selector::DeviceId("x".into()).matches(&tuple));
        let nocolon = ElementInfo {
            contact: Some("nocolon"),
            ..Default::default()
        };
        assert!(!Selector::ServiceUriScheme("nocolon".into()).matches(&nocolon));
        let device = ElementInfo {
            device_id: Some("urn:uuid:d1"),
            ..Default::default()
        };
        assert!(Selector::DeviceId("URN:UUID:D1".into()).matches(&device));
        assert!(!Selector::Class("x".into()).matches(&device));
        assert!(Provide::All.admits(&device));
        assert!(!Provide::None.admits(&device));
        assert!(Provide::Some(vec![
            Selector::Class("x".into()),
            Selector::DeviceId("urn:uuid:d1".into())
        ])
        .admits(&device));
        assert!(!Provide::Some(vec![]).admits(&device));
    }

    #[test]
    fn watcher_uri() {
        assert_eq!(ALICE.uri(), "sip:alice@example.com");
    }

    #[test]
    fn dtd_is_tolerated() {
        let d = format!(
            "<!DOCTYPE ruleset>{}",
            doc(&rule("a", "", "allow")).replace(r#"<?xml version="1.0" encoding="UTF-8"?>"#, "")
        );
        let r = Rules::parse(d.as_bytes()).unwrap();
        assert_eq!(sub_of(&r, &ALICE), Some(SubHandling::Allow));
    }
}
