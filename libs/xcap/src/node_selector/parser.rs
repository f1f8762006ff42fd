//! The node selector grammar of RFC 4825 §6.3, read left to right without backtracking.

use super::{AttributeTest, Name, NameTest, NodeSelector, SelectorError, Step, Terminal};
use crate::xml_name::{is_name_char, is_name_start_char, XML_NAMESPACE};
use crate::xml_text::unescape_references;

pub(super) fn parse(
    text: &str,
    bindings: &[(String, String)],
    default_ns: Option<&str>,
) -> Result<NodeSelector, SelectorError> {
    let mut parser = Parser { text, pos: 0, bindings, default_ns };
    parser.eat('/');
    if parser.at_end() {
        return Err(SelectorError::Empty);
    }
    let mut steps = Vec::new();
    loop {
        if let Some(terminal) = parser.terminal()? {
            if steps.is_empty() {
                return Err(
                    parser.syntax("an element step before the attribute or namespace selector")
                );
            }
            if !parser.at_end() {
                return Err(parser.syntax("end of selector after the terminal selector"));
            }
            return Ok(NodeSelector { steps, terminal: Some(terminal) });
        }
        steps.push(parser.step()?);
        if parser.at_end() {
            return Ok(NodeSelector { steps, terminal: None });
        }
        if !parser.eat('/') {
            return Err(parser.unsupported("'/', '[' or end of selector"));
        }
    }
}

struct Parser<'t, 'b> {
    text: &'t str,
    /// Always on a char boundary: it only moves past whole chars.
    pos: usize,
    bindings: &'b [(String, String)],
    default_ns: Option<&'b str>,
}

impl Parser<'_, '_> {
    fn rest(&self) -> &str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn at_end(&self) -> bool {
        self.rest().is_empty()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        self.eat_str(c.encode_utf8(&mut [0; 4]))
    }

    fn eat_str(&mut self, s: &str) -> bool {
        let found = self.rest().starts_with(s);
        if found {
            self.pos += s.len();
        }
        found
    }

    fn expect(&mut self, c: char, expected: &'static str) -> Result<(), SelectorError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.syntax(expected))
        }
    }

    fn syntax(&self, expected: &'static str) -> SelectorError {
        SelectorError::Syntax { offset: self.pos, expected }
    }

    /// A step that does not start like one is an extension selector (`text()`, `..`,
    /// `child::x`); anything else that breaks the grammar is a syntax error.
    fn unsupported(&self, expected: &'static str) -> SelectorError {
        let segment_start =
            self.text.get(..self.pos).and_then(|s| s.rfind('/')).map_or(0, |i| i + 1);
        let segment = self.text.get(segment_start..).unwrap_or_default();
        let segment = segment.split('/').next().unwrap_or_default();
        if segment.contains("::") || segment.contains('(') || segment.starts_with('.') {
            SelectorError::Extension(segment.to_string())
        } else {
            self.syntax(expected)
        }
    }

    /// `@name` or `namespace::*`, when the selector continues with one.
    fn terminal(&mut self) -> Result<Option<Terminal>, SelectorError> {
        if self.eat('@') {
            let (prefix, local) = self.qname()?;
            return Ok(Some(Terminal::Attribute(self.attribute_name(prefix, local)?)));
        }
        if self.eat_str("namespace::*") {
            return Ok(Some(Terminal::Namespaces));
        }
        Ok(None)
    }

    fn step(&mut self) -> Result<Step, SelectorError> {
        let name = if self.eat('*') {
            NameTest::Any
        } else if self.peek().is_some_and(is_name_start_char) {
            let (prefix, local) = self.qname()?;
            NameTest::Name(self.element_name(prefix, local)?)
        } else {
            return Err(self.unsupported("an element name or '*'"));
        };
        let mut step = Step { name, position: None, attribute: None };
        while self.eat('[') {
            if self.eat('@') {
                if step.attribute.is_some() {
                    return Err(self.syntax("a single attribute test per step"));
                }
                step.attribute = Some(self.attribute_test()?);
            } else if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                if step.position.is_some() || step.attribute.is_some() {
                    return Err(self.syntax("the position before the attribute test, once"));
                }
                step.position = Some(self.position()?);
            } else {
                return Err(self.unsupported("a position or an attribute test"));
            }
            self.expect(']', "']'")?;
        }
        Ok(step)
    }

    fn position(&mut self) -> Result<u32, SelectorError> {
        let start = self.pos;
        let digits = self.rest().chars().take_while(char::is_ascii_digit).count();
        self.pos += digits;
        match self.text.get(start..self.pos).and_then(|d| d.parse::<u32>().ok()) {
            // `[0]` is well-formed: like XPath, it selects no element.
            None => Err(SelectorError::Syntax {
                offset: start,
                expected: "a position from 0 to 4294967295",
            }),
            Some(n) => Ok(n),
        }
    }

    /// After `[@`: `name="value"` or `name='value'`.
    fn attribute_test(&mut self) -> Result<AttributeTest, SelectorError> {
        let (prefix, local) = self.qname()?;
        let name = self.attribute_name(prefix, local)?;
        self.expect('=', "'=' in the attribute test")?;
        let quote = match self.bump() {
            Some(q @ ('"' | '\'')) => q,
            _ => return Err(self.syntax("a quoted attribute value")),
        };
        let raw_len = self.rest().find(quote).ok_or_else(|| self.syntax("the closing quote"))?;
        let raw = self.rest().get(..raw_len).unwrap_or_default();
        let value = unescape_references(raw);
        self.pos += raw_len + quote.len_utf8();
        Ok(AttributeTest { name, value })
    }

    /// `NCName` or `NCName:NCName`, as (prefix, local part).
    fn qname(&mut self) -> Result<(Option<String>, String), SelectorError> {
        let first = self.ncname()?;
        if self.rest().starts_with(':')
            && self.rest().get(1..).is_some_and(|r| r.starts_with(is_name_start_char))
        {
            self.bump();
            let local = self.ncname()?;
            return Ok((Some(first), local));
        }
        Ok((None, first))
    }

    fn ncname(&mut self) -> Result<String, SelectorError> {
        if !self.peek().is_some_and(is_name_start_char) {
            return Err(self.syntax("an XML name"));
        }
        let len: usize =
            self.rest().chars().take_while(|&c| is_name_char(c)).map(char::len_utf8).sum();
        let name = self.rest().get(..len).unwrap_or_default().to_string();
        self.pos += len;
        Ok(name)
    }

    fn element_name(&self, prefix: Option<String>, local: String) -> Result<Name, SelectorError> {
        let namespace = match &prefix {
            Some(p) => Some(self.namespace_of(p)?),
            None => self.default_ns.map(str::to_string),
        };
        Ok(Name { prefix, local, namespace })
    }

    fn attribute_name(&self, prefix: Option<String>, local: String) -> Result<Name, SelectorError> {
        let namespace = match &prefix {
            Some(p) => Some(self.namespace_of(p)?),
            None => None,
        };
        Ok(Name { prefix, local, namespace })
    }

    fn namespace_of(&self, prefix: &str) -> Result<String, SelectorError> {
        if let Some((_, uri)) = self.bindings.iter().rev().find(|(p, _)| p == prefix) {
            return Ok(uri.clone());
        }
        if prefix == "xml" {
            return Ok(XML_NAMESPACE.to_string());
        }
        Err(SelectorError::UnboundPrefix(prefix.to_string()))
    }
}
