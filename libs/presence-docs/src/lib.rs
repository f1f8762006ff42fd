//! Presence documents as plain Rust, shared by the presence modules and tested without
//! Kamailio: PIDF bodies (aggregation, offline state, single-body choice, transformations,
//! status checks) and pres-rules, the common-policy authorization rules (RFC 4745, RFC 5025).

pub mod pidf;
pub mod rules;
