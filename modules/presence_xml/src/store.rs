//! Where rules documents come from: the `xcap` table (filled by xcap_server or mirrored by
//! xcap_client), and, for pres-rules missing there, the configured XCAP servers through
//! xcap_client.

use kamailio::db::{eq, module_db, DbConn, Value};
use kamailio::xcap::doc_type;
use kamailio::xcap_client_api::{UserDoc, XcapClient};
use kamailio::{lm_warn, Error};

use crate::servers::XcapServer;

/// The `xcap` table version presence_xml reads.
pub const TABLE_VERSION: u32 = 4;

/// Bytes as text (lossy), for DB values and log lines.
pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The document of `kind` in the table: by its URI when given, else by owner. The key is
/// compared again here, byte for byte, as SQLite and PostgreSQL compare it: MySQL/MariaDB
/// compare strings without regard to case by default, so `sip:Alice@` would otherwise get
/// `sip:alice@`'s rules.
fn from_table(table: &str, user: &[u8], domain: &[u8], kind: i32, file_uri: Option<&[u8]>) -> Result<Option<Vec<u8>>, Error> {
    let key: Vec<(&str, String)> = match file_uri {
        Some(uri) => vec![("doc_uri", text(uri))],
        None => vec![("username", text(user)), ("domain", text(domain))],
    };
    module_db::with(|c: &mut DbConn| -> Result<Option<Vec<u8>>, Error> {
        c.use_table(table)?;
        let mut conds = vec![eq("doc_type", Value::Int(kind))];
        conds.extend(key.iter().map(|(col, v)| eq(col, Value::Str(v.clone()))));
        let mut cols: Vec<&str> = key.iter().map(|(col, _)| *col).collect();
        cols.push("doc");
        let rows = c.query(&conds, &cols, None)?;
        let exact = rows.iter().find(|r| key.iter().zip(r.iter()).all(|((_, want), got)| got.as_bytes() == Some(want.as_bytes())));
        Ok(exact.and_then(|r| r.last()).and_then(Value::as_bytes).map(<[u8]>::to_vec))
    })
}

/// The presentity's pres-rules: from the table, else (with `client`) from the first XCAP
/// server that has them.
pub fn pres_rules(table: &str, user: &[u8], domain: &[u8], client: Option<(&XcapClient, &[XcapServer])>) -> Result<Option<Vec<u8>>, Error> {
    if let Some(doc) = from_table(table, user, domain, doc_type::PRES_RULES, None)? {
        return Ok(Some(doc));
    }
    let Some((client, servers)) = client else { return Ok(None) };
    let mut xid = b"sip:".to_vec();
    xid.extend_from_slice(user);
    xid.push(b'@');
    xid.extend_from_slice(domain);
    for s in servers {
        let doc = UserDoc { root: &s.root, port: s.port as u32, auid: "pres-rules", doc_type: doc_type::PRES_RULES, xid: &xid, filename: "index" };
        match client.get_new_doc(&doc, user, domain) {
            Ok(Some(doc)) => return Ok(Some(doc)),
            Ok(None) => {}
            Err(e) => lm_warn!("pres-rules of {} from {}: {e}", text(&xid), s.root),
        }
    }
    Ok(None)
}

/// A pidf-manipulation document of the presentity (from the table only).
pub fn pidf_manipulation(table: &str, user: &[u8], domain: &[u8], file_uri: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    from_table(table, user, domain, doc_type::PIDF_MANIPULATION, (!file_uri.is_empty()).then_some(file_uri))
}
