//! The `xcap` table (version 4), kept exactly as the stock module keeps it, so that
//! presence_xml, rls and xcap_client read what we write and we serve what they wrote.

use kamailio::db::{eq, DbConn, DbResult, Value};

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

/// The document at `key`, if stored.
pub fn fetch(conn: &mut DbConn, table: &str, key: &DocKey) -> DbResult<Option<StoredDoc>> {
    conn.use_table(table)?;
    let rows = conn.query(&key_conds(key), &["doc", "etag"], None)?;
    Ok(rows.into_iter().next().map(|r| StoredDoc {
        doc: bytes_of(&r[0]),
        etag: r[1].as_str().unwrap_or_default().to_string(),
    }))
}

/// Stores `doc` at `key` (insert or replace); true when it was created.
pub fn store(conn: &mut DbConn, table: &str, key: &DocKey, doc_type: i32, doc: &[u8], etag: &str) -> DbResult<bool> {
    conn.use_table(table)?;
    let exists = !conn.query(&key_conds(key), &["id"], None)?.is_empty();
    if exists {
        conn.update(
            &key_conds(key),
            &[
                ("doc", Value::Blob(doc.to_vec())),
                ("doc_type", Value::Int(doc_type)),
                ("etag", Value::Str(etag.to_string())),
                ("source", Value::Int(SOURCE_INTEGRATED)),
                ("port", Value::Int(0)),
            ],
        )?;
    } else {
        conn.insert(
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
        )?;
    }
    Ok(!exists)
}

/// Removes the document at `key`.
pub fn remove(conn: &mut DbConn, table: &str, key: &DocKey) -> DbResult<()> {
    conn.use_table(table)?;
    conn.delete(&key_conds(key))
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
