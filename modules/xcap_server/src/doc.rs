//! Operations on XCAP documents held as text (RFC 4825 §7 and §8). Nodes are located with
//! roxmltree; every edit splices the original text, so all bytes outside the edited node stay
//! exactly as they were.
//!
//! PUT and DELETE return the new document; the caller runs [`validate_document`] on it before
//! storing it, as for a whole-document PUT.

mod delete;
mod fragment;
mod locate;
mod parse;
mod put;
mod schema;
mod selection;
mod text;
mod uniqueness;
mod validate;

pub use delete::delete;
pub use parse::{MAX_ATTRIBUTES, MAX_DEPTH};
pub use put::{put_attribute, put_element, PutOutcome};
pub use selection::{select, Selection, SelectionKind};
pub use uniqueness::{services_taken, MAX_REPORTED_DUPLICATES};
pub use validate::{validate_document, validate_document_with};

#[cfg(test)]
mod samples;
#[cfg(test)]
mod tests;
