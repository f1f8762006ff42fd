//! The documents this module mirrors in the `xcap` table (version 4): rows with `source` 1,
//! keyed by their full document URL in `doc_uri`, as presence_xml and rls read them.

use kamailio::db::{eq, DbConn, DbResult, Value};

use crate::refresh::StoredDoc;

/// The table version the schema must have.
pub const TABLE_VERSION: u32 = 4;

/// `source` of rows this module keeps current (the integrated server's rows have 0).
const SOURCE_CLIENT: i32 = 1;

const COLUMNS: [&str; 7] = ["username", "domain", "doc_type", "doc", "etag", "doc_uri", "port"];

/// A document to record.
pub struct Row<'a> {
    pub username: &'a str,
    pub domain: &'a str,
    pub doc_type: i32,
    pub doc: &'a str,
    pub etag: Option<&'a str>,
    pub doc_uri: &'a str,
    pub port: u16,
}

fn uri_cond(uri: &str) -> kamailio::db::Cond<'static> {
    eq("doc_uri", Value::Str(uri.to_string()))
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn to_stored(r: &[Value]) -> StoredDoc {
    let etag = text(&r[4]);
    StoredDoc {
        username: text(&r[0]),
        domain: text(&r[1]),
        doc_type: r[2].as_int().unwrap_or(0) as i32,
        doc: text(&r[3]),
        etag: (!etag.is_empty()).then_some(etag),
        doc_uri: text(&r[5]),
        port: r[6].as_int().and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
    }
}

/// Inserts the document, or replaces the row with the same document URL.
pub fn upsert(conn: &mut DbConn, table: &str, row: &Row) -> DbResult<()> {
    conn.use_table(table)?;
    let values = [
        Value::Str(row.username.to_string()),
        Value::Str(row.domain.to_string()),
        Value::Int(row.doc_type),
        Value::Blob(row.doc.as_bytes().to_vec()),
        Value::Str(row.etag.unwrap_or_default().to_string()),
        Value::Str(row.doc_uri.to_string()),
        Value::Int(row.port as i32),
    ];
    if conn.query(&[uri_cond(row.doc_uri)], &["id"], None)?.is_empty() {
        let mut cols = COLUMNS.to_vec();
        cols.push("source");
        let mut vals = values.to_vec();
        vals.push(Value::Int(SOURCE_CLIENT));
        conn.insert(&cols, &vals)
    } else {
        let mut set: Vec<(&str, Value)> = COLUMNS.iter().copied().zip(values).collect();
        set.push(("source", Value::Int(SOURCE_CLIENT)));
        conn.update(&[uri_cond(row.doc_uri)], &set)
    }
}

/// The stored copy of a document URL.
pub fn by_uri(conn: &mut DbConn, table: &str, uri: &str) -> DbResult<Option<StoredDoc>> {
    conn.use_table(table)?;
    Ok(conn.query(&[uri_cond(uri)], &COLUMNS, None)?.first().map(|r| to_stored(r)))
}

/// Every row this module keeps current.
pub fn mirrored(conn: &mut DbConn, table: &str) -> DbResult<Vec<StoredDoc>> {
    conn.use_table(table)?;
    let rows = conn.query(&[eq("source", Value::Int(SOURCE_CLIENT))], &COLUMNS, None)?;
    Ok(rows.iter().map(|r| to_stored(r)).collect())
}

/// Records a new entity tag for an unchanged document.
pub fn set_etag(conn: &mut DbConn, table: &str, uri: &str, etag: Option<&str>) -> DbResult<()> {
    conn.use_table(table)?;
    conn.update(&[uri_cond(uri)], &[("etag", Value::Str(etag.unwrap_or_default().to_string()))])
}

/// Forgets a document the server no longer has.
pub fn remove(conn: &mut DbConn, table: &str, uri: &str) -> DbResult<()> {
    conn.use_table(table)?;
    conn.delete(&[uri_cond(uri)])
}
