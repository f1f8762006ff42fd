//! The documents this module mirrors in the `xcap` table (version 4): rows with `source` 1,
//! keyed by their full document URL in `doc_uri`, as presence_xml and rls read them.

use kamailio::db::{eq, DbConn, DbError, DbResult, Value};

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

/// The rows whose `doc_uri` is exactly `uri`: (`id`, `cols`). The URL is compared again here,
/// byte for byte, as SQLite and PostgreSQL compare it: MySQL/MariaDB compare strings without
/// regard to case by default, so `sip:Alice@`'s URL would otherwise find `sip:alice@`'s row.
fn exact_rows(conn: &mut DbConn, table: &str, uri: &str, cols: &[&str]) -> DbResult<Vec<(Value, Vec<Value>)>> {
    conn.use_table(table)?;
    let mut all = vec!["doc_uri", "id"];
    all.extend_from_slice(cols);
    let rows = conn.query(&[uri_cond(uri)], &all, None)?;
    Ok(rows
        .into_iter()
        .filter(|r| r[0].as_str() == Some(uri))
        .map(|mut r| {
            let rest = r.split_off(2);
            (r.pop().unwrap_or(Value::Null), rest)
        })
        .collect())
}

/// The ids of the rows of exactly `uri`.
fn ids(conn: &mut DbConn, table: &str, uri: &str) -> DbResult<Vec<Value>> {
    Ok(exact_rows(conn, table, uri, &[])?.into_iter().map(|(id, _)| id).collect())
}

/// Inserts the document, or replaces the row with the same document URL.
pub fn upsert(conn: &mut DbConn, table: &str, row: &Row) -> DbResult<()> {
    let values = [
        Value::Str(row.username.to_string()),
        Value::Str(row.domain.to_string()),
        Value::Int(row.doc_type),
        Value::Blob(row.doc.as_bytes().to_vec()),
        Value::Str(row.etag.unwrap_or_default().to_string()),
        Value::Str(row.doc_uri.to_string()),
        Value::Int(row.port as i32),
    ];
    let ids = ids(conn, table, row.doc_uri)?;
    if ids.is_empty() {
        let mut cols = COLUMNS.to_vec();
        cols.push("source");
        let mut vals = values.to_vec();
        vals.push(Value::Int(SOURCE_CLIENT));
        conn.insert(&cols, &vals).map_err(|e| {
            DbError(format!("{e} (is another document's URL the same but for case? MySQL/MariaDB compare without regard to case)"))
        })
    } else {
        let mut set: Vec<(&str, Value)> = COLUMNS.iter().copied().zip(values).collect();
        set.push(("source", Value::Int(SOURCE_CLIENT)));
        ids.into_iter().try_for_each(|id| conn.update(&[eq("id", id)], &set))
    }
}

/// The stored copy of a document URL.
pub fn by_uri(conn: &mut DbConn, table: &str, uri: &str) -> DbResult<Option<StoredDoc>> {
    Ok(exact_rows(conn, table, uri, &COLUMNS)?.first().map(|(_, r)| to_stored(r)))
}

/// Every row this module keeps current.
pub fn mirrored(conn: &mut DbConn, table: &str) -> DbResult<Vec<StoredDoc>> {
    conn.use_table(table)?;
    let rows = conn.query(&[eq("source", Value::Int(SOURCE_CLIENT))], &COLUMNS, None)?;
    Ok(rows.iter().map(|r| to_stored(r)).collect())
}

/// Records a new entity tag for an unchanged document.
pub fn set_etag(conn: &mut DbConn, table: &str, uri: &str, etag: Option<&str>) -> DbResult<()> {
    let set = [("etag", Value::Str(etag.unwrap_or_default().to_string()))];
    ids(conn, table, uri)?.into_iter().try_for_each(|id| conn.update(&[eq("id", id)], &set))
}

/// Forgets a document the server no longer has.
pub fn remove(conn: &mut DbConn, table: &str, uri: &str) -> DbResult<()> {
    ids(conn, table, uri)?.into_iter().try_for_each(|id| conn.delete(&[eq("id", id)]))
}
