//! The vocabulary of XCAP (RFC 4825) shared by the XCAP server and the XCAP client, as plain
//! Rust: application usages and document types, percent-encoding of URI parts, entity tags
//! and preconditions, node selectors (parsed from a URI or built step by step), XML names
//! and text escaping.

pub mod auid;
pub mod etag;
pub mod node_selector;
pub mod percent;
pub mod xml_name;
pub mod xml_text;
