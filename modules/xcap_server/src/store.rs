//! The `xcap` table (version 4), kept exactly as the stock module keeps it, so that
//! presence_xml, rls and xcap_client read what we write and we serve what they wrote.

use kamailio::db::{eq, DbConn, DbError, DbResult, Value};

/// The table version the schema must have.
pub const TABLE_VERSION: u32 = 4;

/// `source` of documents this server stores (xcap_client's own rows use 1).
const SOURCE_INTEGRATED: i32 = 0;

/// The row key of one document: its owner and its document URI (the path up to the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocKey<'a> {
    pub username: &'a str,
    pub domain: &'a str,
    pub doc_uri: &'a str,
}

/// A stored document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDoc {
    pub doc: Vec<u8>,
    pub etag: String,
}

/// One entry of a user's directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub doc_type: i32,
    pub doc_uri: String,
    pub etag: String,
}

fn key_conds<'a>(k: &DocKey<'a>) -> Vec<kamailio::db::Cond<'static>> {
    vec![
        eq("username", Value::Str(k.username.to_string())),
        eq("domain", Value::Str(k.domain.to_string())),
        eq("doc_uri", Value::Str(k.doc_uri.to_string())),
    ]
}

fn bytes_of(v: &Value) -> Vec<u8> {
    v.as_bytes().map(<[u8]>::to_vec).unwrap_or_default()
}

/// The rows of `key` whose `doc_uri` is exactly the key's: MySQL/MariaDB compare strings
/// without regard to case by default, so `sip:Alice@` would otherwise find `sip:alice@`'s row.
fn exact_rows(conn: &mut DbConn, table: &str, key: &DocKey, cols: &[&str]) -> DbResult<Vec<Vec<Value>>> {
    conn.use_table(table)?;
    let mut all = vec!["doc_uri"];
    all.extend_from_slice(cols);
    let rows = conn.query(&key_conds(key), &all, None)?;
    Ok(rows.into_iter().filter(|r| r[0].as_str() == Some(key.doc_uri)).map(|mut r| r.split_off(1)).collect())
}

/// The document at `key`, if stored.
pub fn fetch(conn: &mut DbConn, table: &str, key: &DocKey) -> DbResult<Option<StoredDoc>> {
    let rows = exact_rows(conn, table, key, &["doc", "etag"])?;
    Ok(rows.into_iter().next().map(|r| StoredDoc {
        doc: bytes_of(&r[0]),
        etag: r[1].as_str().unwrap_or_default().to_string(),
    }))
}

/// The entity tag of the document at `key`, if stored; the document itself is not read.
pub fn fetch_etag(conn: &mut DbConn, table: &str, key: &DocKey) -> DbResult<Option<String>> {
    let rows = exact_rows(conn, table, key, &["etag"])?;
    Ok(rows.into_iter().next().map(|r| r[0].as_str().unwrap_or_default().to_string()))
}

/// The columns a write sets besides the key: the document, its type and tag, and the source
/// and port of a document this server holds itself.
fn content(doc_type: i32, doc: &[u8], etag: &str) -> [(&'static str, Value); 5] {
    [
        ("doc", Value::Blob(doc.to_vec())),
        ("doc_type", Value::Int(doc_type)),
        ("etag", Value::Str(etag.to_string())),
        ("source", Value::Int(SOURCE_INTEGRATED)),
        ("port", Value::Int(0)),
    ]
}

/// What became of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// A new row.
    Created,
    /// The row read before was replaced (or removed).
    Replaced,
    /// Another writer changed or removed the row since it was read, or created it meanwhile
    /// (a node sharing the database, or a writer outside this server): nothing was written.
    Conflict,
}

/// Stores `doc` at `key` with the entity tag `etag`, on condition that the row is still as the
/// caller read it: tagged `expected`, or absent when `expected` is None. An UPDATE that names
/// the old tag, counted by the rows it changed (the new tag always differs, so drivers that
/// count changed rather than matched rows, as db_mysql does, count the same); else an INSERT,
/// which the unique `doc_uri` refuses when another writer created the row first. Where the
/// driver cannot count rows (db_sqlite), the lock the caller holds is what keeps writers apart,
/// and the update counts as done.
pub fn store(conn: &mut DbConn, table: &str, key: &DocKey, expected: Option<&str>, doc_type: i32, doc: &[u8], etag: &str) -> DbResult<Written> {
    conn.use_table(table)?;
    if let Some(old) = expected {
        let mut conds = key_conds(key);
        conds.push(eq("etag", Value::Str(old.to_string())));
        conn.update(&conds, &content(doc_type, doc, etag))?;
        return Ok(if conn.affected_rows() == Some(0) { Written::Conflict } else { Written::Replaced });
    }
    let inserted = conn.insert(
        &["username", "domain", "doc", "doc_type", "etag", "source", "doc_uri", "port"],
        &[
            Value::Str(key.username.to_string()),
            Value::Str(key.domain.to_string()),
            Value::Blob(doc.to_vec()),
            Value::Int(doc_type),
            Value::Str(etag.to_string()),
            Value::Int(SOURCE_INTEGRATED),
            Value::Str(key.doc_uri.to_string()),
            Value::Int(0),
        ],
    );
    match inserted {
        Ok(()) => Ok(Written::Created),
        // Refused: by the unique key when the row exists now, else for a reason of its own.
        Err(e) => match fetch_etag(conn, table, key) {
            Ok(Some(_)) => Ok(Written::Conflict),
            Ok(None) => Err(DbError(format!(
                "{e}: the database refused the new row (its own error is logged above: a value too long for its \
                 column, say, or a document URI it takes for another's, as MySQL/MariaDB do without regard to case)"
            ))),
            // Neither the write nor the read back: the database is unreachable or failing.
            Err(read) => Err(DbError(format!("{e}; reading the row back failed too: {}", read.0))),
        },
    }
}

/// Stores `doc` at `key` whatever is stored there now: for a whole document that replaces any
/// other (no precondition, no change to publish), where nothing depends on what was there. An
/// UPDATE by the key, counted by the rows it changed; none changed: an INSERT, and should
/// another writer create the row first, the UPDATE again (`Conflict` tells the caller to come
/// back). Only where the driver counts rows ([`DbConn::counts_rows`]; not db_sqlite) and the
/// database compares the key byte for byte (not MySQL/MariaDB, where the UPDATE would find
/// another user's row whose URI differs only in case: see [`exact_rows`]).
pub fn replace(conn: &mut DbConn, table: &str, key: &DocKey, doc_type: i32, doc: &[u8], etag: &str) -> DbResult<Written> {
    conn.use_table(table)?;
    conn.update(&key_conds(key), &content(doc_type, doc, etag))?;
    if conn.affected_rows().is_some_and(|n| n > 0) {
        return Ok(Written::Replaced);
    }
    match store(conn, table, key, None, doc_type, doc, etag)? {
        Written::Created => Ok(Written::Created),
        _ => Ok(Written::Conflict),
    }
}

/// Removes the document at `key` if it is still tagged `expected` (see [`store`]).
pub fn remove(conn: &mut DbConn, table: &str, key: &DocKey, expected: &str) -> DbResult<Written> {
    conn.use_table(table)?;
    let mut conds = key_conds(key);
    conds.push(eq("etag", Value::Str(expected.to_string())));
    conn.delete(&conds)?;
    Ok(if conn.affected_rows() == Some(0) { Written::Conflict } else { Written::Replaced })
}

/// Every document of a user, ordered by document type, for the xcap-directory listing.
pub fn list(conn: &mut DbConn, table: &str, username: &str, domain: &str) -> DbResult<Vec<DirEntry>> {
    conn.use_table(table)?;
    let rows = conn.query(
        &[eq("username", Value::Str(username.to_string())), eq("domain", Value::Str(domain.to_string()))],
        &["doc_type", "doc_uri", "etag"],
        Some("doc_type"),
    )?;
    Ok(rows
        .into_iter()
        .map(|r| DirEntry {
            doc_type: r[0].as_int().unwrap_or(0) as i32,
            doc_uri: r[1].as_str().unwrap_or_default().to_string(),
            etag: r[2].as_str().unwrap_or_default().to_string(),
        })
        .collect())
}

/// A document with its owner, from a scan over all users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedDoc {
    pub username: String,
    pub domain: String,
    pub doc_uri: String,
    pub doc: Vec<u8>,
}

/// Every document of `doc_type`, of all users (the server-wide uniqueness of rls-services'
/// service URIs, RFC 4826 §4.4.5).
pub fn all_of_type(conn: &mut DbConn, table: &str, doc_type: i32) -> DbResult<Vec<TypedDoc>> {
    conn.use_table(table)?;
    let rows = conn.query(&[eq("doc_type", Value::Int(doc_type))], &["username", "domain", "doc_uri", "doc"], None)?;
    Ok(rows
        .into_iter()
        .map(|r| TypedDoc {
            username: r[0].as_str().unwrap_or_default().to_string(),
            domain: r[1].as_str().unwrap_or_default().to_string(),
            doc_uri: r[2].as_str().unwrap_or_default().to_string(),
            doc: bytes_of(&r[3]),
        })
        .collect())
}
