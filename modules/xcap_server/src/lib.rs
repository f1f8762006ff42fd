//! xcap_server: an RFC 4825 XCAP server inside Kamailio (documents in the `xcap` table,
//! requests through xhttp).

pub mod auid;
pub mod caps;
pub mod doc;
pub mod error;
pub mod etag;
pub mod handler;
mod module;
pub mod percent;
pub mod pvar;
pub mod query;
pub mod selector;
pub mod store;
pub mod uri;
pub mod xcapdiff;
mod xcapdiff_publish;
mod xml_name;
mod xml_text;
