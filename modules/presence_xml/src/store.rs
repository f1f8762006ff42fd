//! Where rules documents come from: the `xcap` table (filled by xcap_server or mirrored by
//! xcap_client), and, for pres-rules missing there, the configured XCAP servers through
//! xcap_client.

use std::sync::atomic::{AtomicBool, Ordering};

use kamailio::db::{eq, module_db, DbConn, Value};
use kamailio::mem::{pkg_str_dup, PkgStr};
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

/// Whether the database compares the key columns without regard to case: MySQL/MariaDB do by
/// default, SQLite and PostgreSQL compare byte for byte. Set in mod_init, before the fork.
static CASE_BLIND: AtomicBool = AtomicBool::new(false);

/// Notes how the database behind `db_url` compares strings.
pub fn init(db_url: &str) {
    CASE_BLIND.store(kamailio::db::compares_case_blind(db_url), Ordering::Relaxed);
}

/// The document of `kind` in the table: by its URI when given, else by owner. Where the
/// database compares strings without regard to case (MySQL/MariaDB), the key is read back and
/// compared again here, byte for byte, so that `sip:Alice@` never gets `sip:alice@`'s rules;
/// elsewhere only the document is read, as every column read costs the worker's private
/// memory allocations in the driver on every request.
fn from_table(table: &str, user: &[u8], domain: &[u8], kind: i32, file_uri: Option<&[u8]>) -> Result<Option<PkgStr>, Error> {
    let key: Vec<(&str, String)> = match file_uri {
        Some(uri) => vec![("doc_uri", text(uri))],
        None => vec![("username", text(user)), ("domain", text(domain))],
    };
    let recheck = CASE_BLIND.load(Ordering::Relaxed);
    module_db::with(|c: &mut DbConn| -> Result<Option<PkgStr>, Error> {
        c.use_table(table)?;
        let mut conds = vec![eq("doc_type", Value::Int(kind))];
        conds.extend(key.iter().map(|(col, v)| eq(col, Value::Str(v.clone()))));
        let mut cols: Vec<&str> = if recheck { key.iter().map(|(col, _)| *col).collect() } else { Vec::new() };
        cols.push("doc");
        // Copied for presence while the driver's result set is still allocated.
        c.query_with(&conds, &cols, None, |rows| {
            let exact = rows.iter().find(|r| !recheck || key.iter().zip(r.iter()).all(|((_, want), got)| got.as_bytes() == Some(want.as_bytes())));
            exact.and_then(|r| r.last()).and_then(Value::as_bytes).map(for_presence).transpose()
        })?
    })
}

/// `doc` in pkg memory, for presence.
fn for_presence(doc: &[u8]) -> Result<PkgStr, Error> {
    pkg_str_dup(doc).ok_or_else(|| Error::from(format!("out of pkg memory for a document of {} bytes", doc.len())))
}

/// The presentity's pres-rules: from the table, else (with `client`) from the first XCAP
/// server that has them.
pub fn pres_rules(table: &str, user: &[u8], domain: &[u8], client: Option<(&XcapClient, &[XcapServer])>) -> Result<Option<PkgStr>, Error> {
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
            Ok(Some(doc)) => return for_presence(&doc).map(Some),
            Ok(None) => {}
            Err(e) => lm_warn!("pres-rules of {} from {}: {e}", text(&xid), s.root),
        }
    }
    Ok(None)
}

/// A pidf-manipulation document of the presentity (from the table only).
pub fn pidf_manipulation(table: &str, user: &[u8], domain: &[u8], file_uri: &[u8]) -> Result<Option<PkgStr>, Error> {
    from_table(table, user, domain, doc_type::PIDF_MANIPULATION, (!file_uri.is_empty()).then_some(file_uri))
}
