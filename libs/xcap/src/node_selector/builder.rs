//! Building a node selector step by step, as an XCAP client does to address one element or
//! attribute of a document (RFC 4825 §6.3), with its namespace bindings (§6.4).
//!
//! Built like the `int_node_sel` / `add_step` / `add_terminal` calls of the `bind_xcap` API;
//! dropping the value is `free_node_sel`.
//!
//! The builder checks names with its own lenient test (any alphabetic start, then letters,
//! digits, `-._` or any non-ASCII non-space character) and passes extension text through
//! verbatim: a client may address what a server's [`NodeSelector`](super::NodeSelector)
//! parser refuses, and the server answers for it.

use std::fmt;
use std::num::NonZeroU32;

/// An attribute predicate of a step: the element must carry `name` with exactly `value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttrTest<'a> {
    pub name: &'a str,
    pub value: &'a str,
}

/// Why a step or terminal selector was refused; the selector is left as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// Not an XML (qualified) name, or a prefixed name given together with a namespace.
    InvalidName(String),
    /// The `*` wildcard matches any element and cannot be namespace-qualified.
    NamespacedWildcard,
    /// Extension text is empty or holds `/`, which would split it into several steps.
    InvalidExtension(String),
    /// A terminal selector needs at least one step before it.
    NoStep,
    /// Nothing may follow the terminal selector.
    AfterTerminal,
    /// A terminal selector is exactly one of attribute, namespace or extension.
    TerminalChoice,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::InvalidName(name) => {
                write!(f, "invalid XML name {name:?} in node selector")
            }
            BuildError::NamespacedWildcard => {
                f.write_str("a wildcard step cannot have a namespace")
            }
            BuildError::InvalidExtension(text) => {
                write!(f, "invalid node selector extension {text:?}")
            }
            BuildError::NoStep => f.write_str("a terminal selector needs a step before it"),
            BuildError::AfterTerminal => f.write_str("nothing may follow a terminal selector"),
            BuildError::TerminalChoice => f.write_str(
                "a terminal selector takes exactly one of attribute, namespace or extension",
            ),
        }
    }
}

impl std::error::Error for BuildError {}

/// A node selector under construction: steps from the document root down, an optional
/// terminal selector, and the namespaces the step names are bound to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSelectorBuilder {
    steps: Vec<String>,
    terminal: Option<String>,
    /// Namespace URIs in binding order; the one at index `i` has prefix `prefix(i)`.
    namespaces: Vec<String>,
}

impl NodeSelectorBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// True while no step was added: such a selector selects the whole document.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Appends one step. `name` `None` (or `*`) matches any element; `namespace` qualifies the
    /// name (an empty one counts as none: unprefixed names use the application's default
    /// namespace); `position` picks the n-th match; `attr_test` filters on an attribute value;
    /// `extra` is appended verbatim to the step, as further predicates (empty means none).
    pub fn add_step(
        &mut self,
        name: Option<&str>,
        namespace: Option<&str>,
        position: Option<NonZeroU32>,
        attr_test: Option<AttrTest<'_>>,
        extra: Option<&str>,
    ) -> Result<(), BuildError> {
        if self.terminal.is_some() {
            return Err(BuildError::AfterTerminal);
        }
        let name = name.filter(|name| *name != "*");
        let namespace = namespace.filter(|ns| !ns.is_empty());
        let extra = extra.filter(|extra| !extra.is_empty());
        match (name, namespace) {
            (None, Some(_)) => return Err(BuildError::NamespacedWildcard),
            (Some(name), Some(_)) => check_name(name, false)?,
            (Some(name), None) => check_name(name, true)?,
            (None, None) => {}
        }
        if let Some(test) = attr_test {
            check_name(test.name, true)?;
        }
        if let Some(extra) = extra {
            check_extension(extra)?;
        }

        let mut step = match (name, namespace) {
            (Some(name), Some(ns)) => format!("{}:{name}", self.bind(ns)),
            (Some(name), None) => name.to_owned(),
            (None, _) => "*".to_owned(),
        };
        // RFC 4825's by-pos-attr production puts the position before the attribute test.
        if let Some(position) = position {
            step.push_str(&format!("[{position}]"));
        }
        if let Some(test) = attr_test {
            step.push_str(&format!(
                "[@{}=\"{}\"]",
                test.name,
                escape_att_value(test.value)
            ));
        }
        if let Some(extra) = extra {
            step.push_str(extra);
        }
        self.steps.push(step);
        Ok(())
    }

    /// Ends the selector on a terminal selector: exactly one of `attr_sel` (an attribute name,
    /// with or without its leading `@`), `namespace_sel` (any value selects the in-scope
    /// namespaces, `namespace::*`, its only form) or `extension_sel` (verbatim text).
    pub fn add_terminal(
        &mut self,
        attr_sel: Option<&str>,
        namespace_sel: Option<&str>,
        extension_sel: Option<&str>,
    ) -> Result<(), BuildError> {
        if self.terminal.is_some() {
            return Err(BuildError::AfterTerminal);
        }
        if self.steps.is_empty() {
            return Err(BuildError::NoStep);
        }
        let terminal = match (attr_sel, namespace_sel, extension_sel) {
            (Some(attr), None, None) => {
                let attr = attr.strip_prefix('@').unwrap_or(attr);
                check_name(attr, true)?;
                format!("@{attr}")
            }
            (None, Some(_), None) => "namespace::*".to_owned(),
            (None, None, Some(extension)) => {
                check_extension(extension)?;
                extension.to_owned()
            }
            _ => return Err(BuildError::TerminalChoice),
        };
        self.terminal = Some(terminal);
        Ok(())
    }

    /// The selector proper, steps and terminal joined by `/`, not yet percent-encoded.
    pub fn path(&self) -> String {
        let mut parts: Vec<&str> = self.steps.iter().map(String::as_str).collect();
        parts.extend(self.terminal.as_deref());
        parts.join("/")
    }

    /// The namespace bindings as the query RFC 4825 §6.4 wants, `xmlns(a=uri)xmlns(b=uri)`,
    /// or `None` when no step is namespace-qualified.
    pub fn namespace_query(&self) -> Option<String> {
        if self.namespaces.is_empty() {
            return None;
        }
        let bindings = self.namespaces.iter().enumerate();
        Some(
            bindings
                .map(|(i, ns)| format!("xmlns({}={})", prefix(i), escape_xpointer(ns)))
                .collect(),
        )
    }

    /// The prefix of `namespace`, binding a new one on first use so that a namespace
    /// used by several steps is declared once.
    fn bind(&mut self, namespace: &str) -> String {
        let index = match self.namespaces.iter().position(|ns| ns == namespace) {
            Some(index) => index,
            None => {
                self.namespaces.push(namespace.to_owned());
                self.namespaces.len() - 1
            }
        };
        prefix(index)
    }
}

/// Shows the selector with its query, `path?xmlns(...)`, before percent-encoding.
impl fmt::Display for NodeSelectorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())?;
        match self.namespace_query() {
            Some(query) => write!(f, "?{query}"),
            None => Ok(()),
        }
    }
}

/// Prefixes `a` to `z`, then `aa`, `ab`, ... so the number of namespaces is not limited.
fn prefix(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(char::from(b'a' + (index % 26) as u8));
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.iter().rev().collect()
}

/// Accepts an XML name: an NCName, or a QName (`prefix:local`) when `allow_prefix` is set.
fn check_name(name: &str, allow_prefix: bool) -> Result<(), BuildError> {
    let is_ncname = |part: &str| {
        let mut chars = part.chars();
        let start_ok = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_');
        let name_char = |c: char| {
            c.is_alphanumeric() || "-._".contains(c) || (!c.is_ascii() && !c.is_whitespace())
        };
        let rest_ok = chars.all(name_char);
        start_ok && rest_ok
    };
    let valid = match name.split_once(':') {
        Some((prefix, local)) => allow_prefix && is_ncname(prefix) && is_ncname(local),
        None => is_ncname(name),
    };
    if valid {
        Ok(())
    } else {
        Err(BuildError::InvalidName(name.to_owned()))
    }
}

fn check_extension(text: &str) -> Result<(), BuildError> {
    if text.is_empty() || text.contains('/') {
        Err(BuildError::InvalidExtension(text.to_owned()))
    } else {
        Ok(())
    }
}

/// Writes a value as the inside of an XML double-quoted AttValue.
fn escape_att_value(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

/// Escapes the characters the XPointer xmlns() scheme reserves inside its data.
fn escape_xpointer(namespace: &str) -> String {
    namespace
        .replace('^', "^^")
        .replace('(', "^(")
        .replace(')', "^)")
}

#[cfg(test)]
mod tests;
