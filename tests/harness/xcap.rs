//! Helpers for the xcap_server end-to-end tests: test-configs/xcap.cfg with our module or the
//! stock one, and the documents several tests store.

use super::db::{Backend, TestDb};
use super::{Kamailio, Setup};

/// A resource-lists document with one list of one entry.
pub const FRIENDS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
  <list name="friends">
    <entry uri="sip:bob@example.com"/>
  </list>
</resource-lists>
"#;

/// [`FRIENDS`] with a display name for the entry.
pub const FRIENDS_NAMED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
  <list name="friends">
    <entry uri="sip:bob@example.com"><display-name>Bob</display-name></entry>
  </list>
</resource-lists>
"#;

/// test-configs/xcap.cfg with our xcap_server and the given defines.
pub fn ours(defines: &'static [&'static str]) -> Kamailio {
    start(defines, &["xcap_server"])
}

/// test-configs/xcap.cfg with the stock xcap_server.
pub fn stock() -> Kamailio {
    start(&["STOCK_XCAP"], &[])
}

fn start(defines: &'static [&'static str], modules: &'static [&'static str]) -> Kamailio {
    let mut s = Setup::new("xcap.cfg", modules);
    s.defines = defines;
    s.schemas = &["presence"];
    Kamailio::start(s)
}

/// The stored rows (URI, doc as hex, ETag) in URI order, on any back end: to show that a
/// refused request changed nothing.
pub fn stored(k: &Kamailio) -> String {
    k.sql(&format!("SELECT doc_uri, {}, etag FROM xcap ORDER BY doc_uri;", k.database().hex("doc")))
}

/// An SQL literal of `bytes` for a blob column of `db`'s back end.
pub fn blob_literal(db: &TestDb, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    match db.backend() {
        Backend::Postgres => format!("decode('{hex}', 'hex')"),
        Backend::Sqlite | Backend::MariaDb => format!("X'{hex}'"),
    }
}
