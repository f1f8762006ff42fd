//! Presence documents as plain Rust, shared by the presence modules and tested without
//! Kamailio: PIDF bodies (aggregation, offline state, single-body choice, transformations,
//! status checks), the bodies a presence user agent publishes (`publish`: PIDF tuple ids,
//! dialog-info and reginfo versions), and pres-rules, the common-policy authorization rules
//! (RFC 4745, RFC 5025).

pub mod pidf;
pub mod publish;
pub mod rules;
mod xml;

pub use xml::DocError;
