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

/// The document of `kind` in the table: by its URI when given, else by owner.
fn from_table(table: &str, user: &[u8], domain: &[u8], kind: i32, file_uri: Option<&[u8]>) -> Result<Option<Vec<u8>>, Error> {
    module_db::with(|c: &mut DbConn| -> Result<Option<Vec<u8>>, Error> {
        c.use_table(table)?;
        let mut conds = vec![eq("doc_type", Value::Int(kind))];
        match file_uri {
            Some(uri) => conds.push(eq("doc_uri", Value::Str(text(uri)))),
            None => {
                conds.push(eq("username", Value::Str(text(user))));
                conds.push(eq("domain", Value::Str(text(domain))));
            }
        }
        let rows = c.query(&conds, &["doc"], None)?;
        Ok(rows.first().and_then(|r| r.first()).and_then(Value::as_bytes).map(<[u8]>::to_vec))
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
