//! xcap_server: an RFC 4825 XCAP server inside Kamailio (documents in the `xcap` table,
//! requests through xhttp).

pub mod caps;
pub mod doc;
pub mod error;
pub mod handler;
mod module;
pub mod pvar;
pub mod query;
mod stats;
pub mod store;
pub mod uri;
pub mod xcapdiff;
mod xcapdiff_publish;
