//! XCAP node selectors (RFC 4825 §6.3): which element, attribute or namespace set of a
//! document a URI points at. [`NodeSelector`] is one parsed from a URI, with every name
//! already expanded to its namespace (what a server works on); [`NodeSelectorBuilder`]
//! writes one step by step (what a client puts in a URI).

pub mod builder;
mod parser;

pub use builder::{AttrTest, BuildError, NodeSelectorBuilder};

use std::fmt;

use crate::xml_text::escape_text;

/// A parsed node selector: element steps from the root element down, then optionally a
/// terminal attribute or namespace selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSelector {
    /// At least one step; the first one selects the root element.
    pub steps: Vec<Step>,
    /// What the selector ends on, when it is not the element itself.
    pub terminal: Option<Terminal>,
}

/// One element step: `name`, `name[n]`, `name[@a="v"]` or `name[n][@a="v"]`, `*` for any name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: NameTest,
    /// 1-based position among the parent's child elements that pass the name test; 0 selects
    /// nothing.
    pub position: Option<u32>,
    /// Attribute equality test, applied after the position.
    pub attribute: Option<AttributeTest>,
}

/// The element name a step accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameTest {
    /// `*`: any element.
    Any,
    Name(Name),
}

/// A qualified name as written, with the namespace its prefix (or the default) stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub prefix: Option<String>,
    pub local: String,
    /// `None` for a name in no namespace.
    pub namespace: Option<String>,
}

/// `[@name="value"]`; `value` has its character and entity references replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeTest {
    pub name: Name,
    pub value: String,
}

/// The last part of a selector that does not select an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Terminal {
    /// `@name`: one attribute of the selected element.
    Attribute(Name),
    /// `namespace::*`: the namespace bindings in scope at the selected element (RFC 4825 §10).
    Namespaces,
}

/// Why a node selector was refused; all of these answer 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectorError {
    /// Nothing to select.
    Empty,
    /// The text does not follow the grammar at byte `offset`.
    Syntax { offset: usize, expected: &'static str },
    /// An extension selector (any other XPath-like step); none is defined here.
    Extension(String),
    /// A prefix with no `xmlns()` binding in the query.
    UnboundPrefix(String),
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectorError::Empty => f.write_str("empty node selector"),
            SelectorError::Syntax { offset, expected } => {
                write!(f, "node selector syntax error at byte {offset}: expected {expected}")
            }
            SelectorError::Extension(step) => {
                write!(f, "unsupported extension selector '{step}'")
            }
            SelectorError::UnboundPrefix(prefix) => {
                write!(f, "namespace prefix '{prefix}' has no xmlns() binding")
            }
        }
    }
}

impl std::error::Error for SelectorError {}

impl NodeSelector {
    /// Parses a percent-decoded node selector, with or without the leading `/` the `node` URI
    /// part carries. Prefixes resolve through `bindings` (a later binding wins) and unprefixed
    /// element names to `default_ns`; unprefixed attribute names are in no namespace.
    pub fn parse(
        node: &str,
        bindings: &[(String, String)],
        default_ns: Option<&str>,
    ) -> Result<NodeSelector, SelectorError> {
        parser::parse(node, bindings, default_ns)
    }

    /// The selector for the element steps only (what an attribute or namespace selector
    /// hangs on).
    pub fn element(&self) -> NodeSelector {
        NodeSelector { steps: self.steps.clone(), terminal: None }
    }
}

impl fmt::Display for NodeSelector {
    /// The selector in URI-ready (but not percent-encoded) form, without a leading `/`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            write!(f, "{step}")?;
        }
        match &self.terminal {
            Some(Terminal::Attribute(name)) => write!(f, "/@{name}"),
            Some(Terminal::Namespaces) => f.write_str("/namespace::*"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            NameTest::Any => f.write_str("*")?,
            NameTest::Name(name) => write!(f, "{name}")?,
        }
        if let Some(position) = self.position {
            write!(f, "[{position}]")?;
        }
        if let Some(test) = &self.attribute {
            write!(f, "[@{}={}]", test.name, quoted(&test.value))?;
        }
        Ok(())
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.prefix {
            Some(prefix) => write!(f, "{prefix}:{}", self.local),
            None => f.write_str(&self.local),
        }
    }
}

impl Name {
    /// Does this name equal the expanded name (`namespace`, `local`)?
    pub fn matches(&self, namespace: Option<&str>, local: &str) -> bool {
        self.local == local && self.namespace.as_deref() == namespace
    }
}

/// `value` as an XML attribute value literal, quoted with `'` when that avoids escaping `"`.
fn quoted(value: &str) -> String {
    let escaped = escape_text(value);
    if value.contains('"') && !value.contains('\'') {
        format!("'{escaped}'")
    } else {
        format!("\"{}\"", escaped.replace('"', "&quot;"))
    }
}

#[cfg(test)]
mod tests;
