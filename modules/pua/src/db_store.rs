//! The store of `db_mode` 2: the `pua` table is the only copy of the records, shared by every
//! process of this instance and by other Kamailio instances on the same database.
//!
//! Every method runs on this process's connection. The DB API has no bit tests, no LIKE and
//! no COUNT, so rows are selected by the string columns they are keyed by (presentity URI, id,
//! etag, Call-ID, tags) and the flag/event bits are checked in Rust with the same `matches`
//! methods as the memory store. Writes that read first (bump, the lookup-delete-insert of an
//! accepted publication, confirming a dialog, the sweep) run in one transaction that locks the
//! table for writing (`db_table_lock_write`), so that two instances cannot both miss a
//! publication and both insert one: a key never ends up with two rows. Where the driver has
//! no transactions (db_sqlite) the statements run one after the other; such a database serves
//! one instance, whose processes then race only as far as SQLite's own locking allows.
//!
//! Rows are identified for updates and deletes by their `id` column (the primary key).

use kamailio::db::{eq, module_db, Cond, DbConn, DbError, DbResult, Locking, Op};
use kamailio::Value;

use crate::record::{DialogId, PubKey, Record, RecordView, SubKey};
use crate::store::{sweep_decision, Store, StoreError, StoreResult, Sweep};


/// What the lookups select: the primary key first, then the data columns.
const COLS: [&str; 19] = [
    "id",
    "pres_uri",
    "pres_id",
    "event",
    "expires",
    "desired_expires",
    "flag",
    "etag",
    "tuple_id",
    "watcher_uri",
    "call_id",
    "to_tag",
    "from_tag",
    "cseq",
    "record_route",
    "contact",
    "remote_contact",
    "version",
    "extra_headers",
];

/// The data columns, in the order [`to_row`] writes them (every column but `id`).
pub const DATA_COLS: &[&str] = COLS.split_at(1).1;

/// A string column's value. Records hold bytes; SIP values are ASCII, anything else is
/// written as UTF-8 with replacement characters.
fn text(b: &[u8]) -> Value {
    Value::Str(String::from_utf8_lossy(b).into_owned())
}

/// A signed integer column's value.
fn int(i: i32) -> Value {
    Value::Int(i)
}

/// An unsigned field in a signed INT column: stored with the same bits (as the C module
/// does), read back with [`read_u32`], so every value round-trips.
fn uint(u: u32) -> Value {
    Value::Int(u as i32)
}

/// An integer read back: NULL, or anything that is not a number, is 0; numbers given as
/// strings (some drivers) are parsed.
fn read_int(v: &Value) -> i64 {
    match v {
        Value::Double(d) => *d as i64,
        v => v.as_int().unwrap_or(0),
    }
}

fn read_u32(v: &Value) -> u32 {
    read_int(v) as u32
}

fn read_i32(v: &Value) -> i32 {
    read_int(v) as i32
}

/// A string read back: NULL is empty; numbers (a driver that typed the column by its
/// content) are written out.
fn read_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Null => Vec::new(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::BigInt(i) | Value::DateTime(i) => i.to_string().into_bytes(),
        Value::Double(d) => d.to_string().into_bytes(),
        v => v.as_bytes().map(<[u8]>::to_vec).unwrap_or_default(),
    }
}

/// The row of a record: every data column, never NULL (empty strings and 0). The record's
/// `content_type` and `outbound_proxy` have no column in the `pua` table and are not
/// persisted: a record read back has them empty (the module's defaults apply).
pub fn to_row(r: &Record) -> Vec<(&'static str, Value)> {
    vec![
        ("pres_uri", text(&r.pres_uri)),
        ("pres_id", text(&r.id)),
        ("event", int(r.event)),
        ("expires", uint(r.expires)),
        ("desired_expires", uint(r.desired_expires)),
        ("flag", int(r.flag)),
        ("etag", text(&r.etag)),
        ("tuple_id", text(&r.tuple_id)),
        ("watcher_uri", text(&r.watcher_uri)),
        ("call_id", text(&r.call_id)),
        ("to_tag", text(&r.to_tag)),
        ("from_tag", text(&r.from_tag)),
        ("cseq", uint(r.cseq)),
        ("record_route", text(&r.record_route)),
        ("contact", text(&r.contact)),
        ("remote_contact", text(&r.remote_contact)),
        ("version", int(r.version)),
        ("extra_headers", text(&r.extra_headers)),
    ]
}

/// The record of a row whose values are those of the columns `cols` (by name; other
/// columns, such as `id`, are ignored; missing ones stay empty/0).
pub fn from_row(cols: &[&str], row: &[Value]) -> Record {
    let mut r = Record::default();
    for (name, v) in cols.iter().zip(row) {
        match *name {
            "pres_uri" => r.pres_uri = read_bytes(v),
            "pres_id" => r.id = read_bytes(v),
            "event" => r.event = read_i32(v),
            "expires" => r.expires = read_u32(v),
            "desired_expires" => r.desired_expires = read_u32(v),
            "flag" => r.flag = read_i32(v),
            "etag" => r.etag = read_bytes(v),
            "tuple_id" => r.tuple_id = read_bytes(v),
            "watcher_uri" => r.watcher_uri = read_bytes(v),
            "call_id" => r.call_id = read_bytes(v),
            "to_tag" => r.to_tag = read_bytes(v),
            "from_tag" => r.from_tag = read_bytes(v),
            "cseq" => r.cseq = read_u32(v),
            "record_route" => r.record_route = read_bytes(v),
            "contact" => r.contact = read_bytes(v),
            "remote_contact" => r.remote_contact = read_bytes(v),
            "version" => r.version = read_i32(v),
            "extra_headers" => r.extra_headers = read_bytes(v),
            _ => {}
        }
    }
    r
}

/// Inserts the row of `r` into the table in use.
pub(crate) fn insert_record(c: &mut DbConn, r: &Record) -> DbResult<()> {
    let (cols, vals): (Vec<&str>, Vec<Value>) = to_row(r).into_iter().unzip();
    c.insert(&cols, &vals)
}

/// A row as selected with [`COLS`]: its primary key (as the driver gave it, to be passed back
/// in `WHERE id = ...`) and its record.
pub(crate) type Row = (Value, Record);

fn decode(rows: Vec<Vec<Value>>) -> Vec<Row> {
    rows.into_iter()
        .map(|row| {
            let id = row.first().cloned().unwrap_or(Value::Null);
            (id, from_row(&COLS, &row))
        })
        .collect()
}

/// Selects the rows (oldest first, as the memory store finds the first one inserted).
pub(crate) fn select(c: &mut DbConn, conds: &[Cond]) -> DbResult<Vec<Row>> {
    Ok(decode(c.query(conds, &COLS, Some("id"))?))
}

pub(crate) fn by_id(id: &Value) -> [Cond<'static>; 1] {
    [eq("id", id.clone())]
}

/// Adds `key = v` to a selection whose rows are checked again in Rust, unless `v` is empty:
/// an empty value must also select rows where the column is NULL (they read back as empty).
fn narrow(c: &mut Vec<Cond<'static>>, key: &'static str, v: &[u8]) {
    if !v.is_empty() {
        c.push(eq(key, text(v)));
    }
}

/// The candidates of a publication lookup: same presentity, same id when the key names one,
/// same etag when given (flags and events are checked on the records, with all the rest).
fn pub_conds(pres_uri: &[u8], id: &[u8], etag: Option<&[u8]>) -> Vec<Cond<'static>> {
    let mut c = Vec::new();
    narrow(&mut c, "pres_uri", pres_uri);
    narrow(&mut c, "pres_id", id);
    narrow(&mut c, "etag", etag.unwrap_or_default());
    c
}

/// The candidates of a subscription lookup.
fn sub_conds(key: &SubKey) -> Vec<Cond<'static>> {
    let mut c = Vec::new();
    narrow(&mut c, "pres_uri", &key.pres_uri);
    narrow(&mut c, "watcher_uri", &key.watcher_uri);
    narrow(&mut c, "pres_id", &key.id);
    narrow(&mut c, "remote_contact", key.remote_contact.as_deref().unwrap_or_default());
    c
}

/// Subscriptions (rows with a watcher) with this Call-ID [and local tag], of `pres_uri` when
/// it is known. `watcher_uri != ''` also leaves out NULL watchers, which read back as
/// publications: the rows selected are exactly those `is_subscription` accepts.
fn call_id_conds(pres_uri: &[u8], call_id: &[u8], from_tag: Option<&[u8]>) -> Vec<Cond<'static>> {
    let mut c = vec![eq("call_id", text(call_id)), Cond { key: "watcher_uri", op: Op::Ne, value: text(b"") }];
    if !pres_uri.is_empty() {
        c.push(eq("pres_uri", text(pres_uri)));
    }
    if let Some(t) = from_tag {
        c.push(eq("from_tag", text(t)));
    }
    c
}

/// The candidates for dialog `id`, of `pres_uri` when it is known.
fn dialog_conds(pres_uri: &[u8], id: &DialogId) -> Vec<Cond<'static>> {
    let mut c = Vec::new();
    narrow(&mut c, "call_id", &id.call_id);
    narrow(&mut c, "to_tag", &id.to_tag);
    narrow(&mut c, "from_tag", &id.from_tag);
    narrow(&mut c, "pres_uri", pres_uri);
    c
}

/// What a refresh of a publication changes on the record holding the old etag (as the
/// memory store does; the outbound proxy has no column).
fn refresh_set(rec: &Record) -> Vec<(&'static str, Value)> {
    let mut set = vec![("etag", text(&rec.etag)), ("expires", uint(rec.expires)), ("desired_expires", uint(rec.desired_expires))];
    if !rec.tuple_id.is_empty() {
        set.push(("tuple_id", text(&rec.tuple_id)));
    }
    set
}

/// What the sweep does with the rows that end within `update_period`: the keys of the rows to
/// delete, and the records to refresh (not dialogs still waiting for their first reply, which
/// are left to that reply or its timeout).
fn plan_sweep(rows: Vec<Row>, now: u32, update_period: u32, min_expires: u32) -> (Vec<Value>, Vec<(Value, Record)>) {
    let mut remove = Vec::new();
    let mut due = Vec::new();
    for (id, r) in rows {
        match sweep_decision(r.expires, r.desired_expires, now, update_period, min_expires) {
            Sweep::Keep => {}
            Sweep::Refresh if r.is_temporary() => {}
            Sweep::Refresh => due.push((id, r)),
            Sweep::Remove => remove.push(id),
        }
    }
    (remove, due)
}

/// The first bound of the sweep's selection, `expires < now + update_period`, saturated to
/// the column's range.
fn sweep_bound(now: u32, update_period: u32) -> Value {
    Value::Int((now as i64 + update_period as i64).min(i32::MAX as i64) as i32)
}

/// The presentity URIs of the rows whose id starts with `did` (given as `(pres_id,
/// pres_uri)` rows).
fn subs_uris(rows: Vec<Vec<Value>>, did: &[u8]) -> Vec<Vec<u8>> {
    rows.into_iter()
        .filter_map(|row| {
            let id = read_bytes(row.first()?);
            let uri = read_bytes(row.get(1)?);
            (!id.is_empty() && id.starts_with(did) && !uri.is_empty()).then_some(uri)
        })
        .collect()
}

pub(crate) fn store_err(e: DbError) -> StoreError {
    crate::stats::DB_ERRORS.inc();
    StoreError(e.0)
}

/// The database store.
pub struct DbStore {
    table: String,
    locking: Locking,
}

impl DbStore {
    /// The store on `table`; `lock_write` (`db_table_lock_write`): transactions lock the table
    /// for writing (without it, two instances may race and duplicate a publication).
    pub fn new(table: &str, lock_write: bool) -> DbStore {
        DbStore { table: table.to_string(), locking: if lock_write { Locking::Write } else { Locking::None } }
    }

    /// Runs `f` on this process's connection, on the table.
    fn run<T>(&self, f: impl FnOnce(&mut DbConn) -> DbResult<T>) -> StoreResult<T> {
        module_db::with(|c: &mut DbConn| {
            c.use_table(&self.table)?;
            f(c)
        })
        .map_err(store_err)
    }

    /// Runs `f` in one transaction (the table is selected first: the write lock is taken on
    /// the connection's current table).
    fn atomic<T>(&self, f: impl FnOnce(&mut DbConn) -> DbResult<T>) -> StoreResult<T> {
        self.run(|c| c.transaction(self.locking, f))
    }
}

impl Store for DbStore {
    fn publication(&self, key: &PubKey, etag: Option<&[u8]>, bump: bool) -> StoreResult<Option<Record>> {
        let conds = pub_conds(&key.pres_uri, &key.id, etag);
        let find = |c: &mut DbConn| -> DbResult<Option<Row>> { Ok(select(c, &conds)?.into_iter().find(|(_, r)| key.matches(r, etag))) };
        if !bump {
            return self.run(|c| Ok(find(c)?.map(|(_, r)| r)));
        }
        self.atomic(|c| {
            let Some((id, mut r)) = find(c)? else { return Ok(None) };
            r.version = r.version.wrapping_add(1);
            c.update(&by_id(&id), &[("version", int(r.version))])?;
            Ok(Some(r))
        })
    }

    fn publication_accepted(&self, key: &PubKey, old_etag: Option<&[u8]>, rec: Record) -> StoreResult<()> {
        self.atomic(|c| {
            if let Some(old) = old_etag {
                let found = select(c, &pub_conds(&key.pres_uri, &key.id, Some(old)))?.into_iter().find(|(_, r)| key.matches(r, Some(old)));
                if let Some((id, _)) = found {
                    return c.update(&by_id(&id), &refresh_set(&rec));
                }
            }
            // Replace every record with the same key (its id, empty included).
            let exact = PubKey { id: rec.id.clone(), ..key.clone() };
            for (id, r) in select(c, &pub_conds(&key.pres_uri, &rec.id, None))? {
                if exact.same(&r) {
                    c.delete(&by_id(&id))?;
                }
            }
            insert_record(c, &rec)
        })
    }

    fn remove_publication(&self, key: &PubKey, etag: Option<&[u8]>) -> StoreResult<()> {
        self.atomic(|c| {
            for (id, r) in select(c, &pub_conds(&key.pres_uri, &key.id, etag))? {
                if key.matches(&r, etag) {
                    c.delete(&by_id(&id))?;
                }
            }
            Ok(())
        })
    }

    fn subscription(&self, key: &SubKey) -> StoreResult<Option<Record>> {
        self.run(|c| Ok(select(c, &sub_conds(key))?.into_iter().map(|(_, r)| r).find(|r| key.matches(r))))
    }

    fn insert(&self, rec: Record) -> StoreResult<()> {
        self.run(|c| insert_record(c, &rec))
    }

    fn dialog_by_call_id(&self, pres_uri: &[u8], call_id: &[u8], from_tag: Option<&[u8]>) -> StoreResult<Option<Record>> {
        self.run(|c| {
            let rows = select(c, &call_id_conds(pres_uri, call_id, from_tag))?;
            Ok(rows.into_iter().map(|(_, r)| r).find(|r| r.is_subscription() && r.call_id == call_id && from_tag.is_none_or(|t| r.from_tag == t)))
        })
    }

    fn confirm_dialog(&self, rec: Record) -> StoreResult<()> {
        self.atomic(|c| {
            c.delete(&call_id_conds(&rec.pres_uri, &rec.call_id, None))?;
            insert_record(c, &rec)
        })
    }

    fn dialog(&self, pres_uri: &[u8], id: &DialogId) -> StoreResult<Option<Record>> {
        self.run(|c| Ok(select(c, &dialog_conds(pres_uri, id))?.into_iter().map(|(_, r)| r).find(|r| id.matches(r))))
    }

    fn update_dialog(&self, pres_uri: &[u8], id: &DialogId, expires: u32, cseq: u32, remote_contact: Option<&[u8]>) -> StoreResult<bool> {
        self.atomic(|c| {
            let Some((key, _)) = select(c, &dialog_conds(pres_uri, id))?.into_iter().find(|(_, r)| id.matches(r)) else {
                return Ok(false);
            };
            let mut set = vec![("expires", uint(expires)), ("cseq", uint(cseq))];
            if let Some(rc) = remote_contact {
                set.push(("remote_contact", text(rc)));
            }
            c.update(&by_id(&key), &set)?;
            Ok(true)
        })
    }

    fn remove_dialog(&self, pres_uri: &[u8], call_id: &[u8]) -> StoreResult<()> {
        self.run(|c| c.delete(&call_id_conds(pres_uri, call_id, None)))
    }

    fn subs_list(&self, did: &[u8]) -> StoreResult<Vec<Vec<u8>>> {
        // The DB API has no LIKE, and a range on pres_id would depend on the database's
        // collation: every row's (pres_id, pres_uri) is read and the prefix tested here.
        self.run(|c| Ok(subs_uris(c.query(&[], &["pres_id", "pres_uri"], None)?, did)))
    }

    fn sweep(&self, now: u32, update_period: u32, min_expires: u32) -> StoreResult<Vec<Record>> {
        self.atomic(|c| {
            let rows = select(c, &[Cond { key: "expires", op: Op::Lt, value: sweep_bound(now, update_period) }])?;
            let (remove, due) = plan_sweep(rows, now, update_period, min_expires);
            for id in &remove {
                c.delete(&by_id(id))?;
            }
            // A lease: the other instances sharing the table (whose sweeps run at other times)
            // leave a record this sweep refreshes alone until its reply sets the real expiry.
            let lease = sweep_bound(now, update_period.saturating_mul(2));
            for (id, _) in &due {
                c.update(&by_id(id), &[("expires", lease.clone())])?;
            }
            Ok(due.into_iter().map(|(_, d)| d).collect())
        })
    }

    fn count(&self) -> StoreResult<usize> {
        self.run(|c| Ok(c.query(&[], &["id"], None)?.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Record {
        Record {
            id: b"UL_PUBLISH.cid".to_vec(),
            pres_uri: b"sip:alice@x".to_vec(),
            event: 1,
            flag: 64,
            expires: 1_700_000_000,
            desired_expires: 1_700_003_600,
            etag: b"a.1234".to_vec(),
            tuple_id: b"t1".to_vec(),
            outbound_proxy: Vec::new(),
            extra_headers: b"X-A: b\r\n".to_vec(),
            content_type: Vec::new(),
            version: 5,
            watcher_uri: b"sip:w@x".to_vec(),
            call_id: b"cid@h".to_vec(),
            to_tag: b"tt".to_vec(),
            from_tag: b"ft".to_vec(),
            cseq: 12,
            record_route: b"<sip:p1;lr>,<sip:p2;lr>".to_vec(),
            contact: b"sip:me@h".to_vec(),
            remote_contact: b"sip:them@h".to_vec(),
        }
    }

    fn split(row: Vec<(&'static str, Value)>) -> (Vec<&'static str>, Vec<Value>) {
        row.into_iter().unzip()
    }

    #[test]
    fn rows_round_trip_by_column_name() {
        let r = full();
        let (cols, vals) = split(to_row(&r));
        assert_eq!(cols, DATA_COLS);
        assert_eq!(from_row(&cols, &vals), r);
        // Order does not matter, unknown columns are ignored.
        let (mut cols, mut vals) = (cols, vals);
        cols.reverse();
        vals.reverse();
        cols.insert(3, "id");
        vals.insert(3, Value::Int(77));
        assert_eq!(from_row(&cols, &vals), r);
        assert_eq!(&COLS[1..], DATA_COLS);
    }

    #[test]
    fn rows_never_hold_nulls_and_drop_what_has_no_column() {
        let r = Record { content_type: b"application/pidf+xml".to_vec(), outbound_proxy: b"sip:o".to_vec(), ..Default::default() };
        let row = to_row(&r);
        assert_eq!(row.len(), 18);
        assert!(row.iter().all(|(_, v)| *v != Value::Null));
        assert_eq!(row.iter().find(|(k, _)| *k == "tuple_id").unwrap().1, Value::Str(String::new()));
        let (cols, vals) = split(row);
        assert_eq!(from_row(&cols, &vals), Record::default());
    }

    #[test]
    fn unsigned_values_beyond_i32_round_trip() {
        let r = Record { expires: u32::MAX - 5, desired_expires: 1 << 31, cseq: u32::MAX, ..Default::default() };
        let (cols, vals) = split(to_row(&r));
        assert_eq!(from_row(&cols, &vals), r);
    }

    #[test]
    fn nulls_read_as_empty_and_zero() {
        let vals = vec![Value::Null; COLS.len()];
        assert_eq!(from_row(&COLS, &vals), Record::default());
        // A short row leaves the rest empty.
        assert_eq!(from_row(&COLS, &[Value::Int(1), Value::Str("sip:a".into())]).pres_uri, b"sip:a");
    }

    #[test]
    fn integers_given_as_strings_are_parsed() {
        let cols = ["expires", "event", "flag", "cseq", "version", "desired_expires", "pres_id", "etag"];
        let vals = [
            Value::Str("1700000000".into()),
            Value::Str(" 32 ".into()),
            Value::BigInt(1024),
            Value::Str("junk".into()),
            Value::Double(3.0),
            Value::Str("-1".into()),
            Value::Int(42),
            Value::Blob(b"e1".to_vec()),
        ];
        let r = from_row(&cols, &vals);
        assert_eq!((r.expires, r.event, r.flag, r.cseq, r.version), (1_700_000_000, 32, 1024, 0, 3));
        assert_eq!(r.desired_expires, u32::MAX);
        assert_eq!((&r.id[..], &r.etag[..]), (&b"42"[..], &b"e1"[..]));
    }

    fn keys(c: &[Cond<'static>]) -> Vec<(&'static str, Op, Value)> {
        c.iter().map(|c| (c.key, c.op, c.value.clone())).collect()
    }

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    #[test]
    fn lookups_select_by_strings_only() {
        assert_eq!(keys(&pub_conds(b"sip:a", b"", None)), vec![("pres_uri", Op::Eq, s("sip:a"))]);
        // An empty value selects NULLs too: the records are checked again in Rust.
        assert_eq!(keys(&pub_conds(b"sip:a", b"", Some(b""))), vec![("pres_uri", Op::Eq, s("sip:a"))]);
        assert_eq!(
            keys(&pub_conds(b"sip:a", b"i", Some(b"e"))),
            vec![("pres_uri", Op::Eq, s("sip:a")), ("pres_id", Op::Eq, s("i")), ("etag", Op::Eq, s("e"))]
        );
        let sk = SubKey { pres_uri: b"p".to_vec(), watcher_uri: b"w".to_vec(), remote_contact: Some(b"c".to_vec()), ..Default::default() };
        assert_eq!(
            keys(&sub_conds(&sk)),
            vec![("pres_uri", Op::Eq, s("p")), ("watcher_uri", Op::Eq, s("w")), ("remote_contact", Op::Eq, s("c"))]
        );
        assert_eq!(
            keys(&call_id_conds(b"", b"c1", Some(b"l"))),
            vec![("call_id", Op::Eq, s("c1")), ("watcher_uri", Op::Ne, s("")), ("from_tag", Op::Eq, s("l"))]
        );
        let id = DialogId { call_id: b"c".to_vec(), from_tag: b"l".to_vec(), to_tag: b"r".to_vec() };
        assert_eq!(keys(&dialog_conds(b"p", &id)).len(), 4);
        assert_eq!(keys(&dialog_conds(b"", &id)).len(), 3);
    }

    #[test]
    fn a_refresh_keeps_the_tuple_id_when_none_is_given() {
        let rec = Record { etag: b"e2".to_vec(), expires: 10, desired_expires: 20, ..Default::default() };
        assert_eq!(refresh_set(&rec).iter().map(|(k, _)| *k).collect::<Vec<_>>(), ["etag", "expires", "desired_expires"]);
        let rec = Record { tuple_id: b"t".to_vec(), ..rec };
        assert_eq!(refresh_set(&rec).last().unwrap(), &("tuple_id", s("t")));
    }

    #[test]
    fn rows_decode_with_their_key() {
        let r = full();
        let mut row = vec![Value::Int(9)];
        row.extend(to_row(&r).into_iter().map(|(_, v)| v));
        let rows = decode(vec![row]);
        assert_eq!(rows, vec![(Value::Int(9), r)]);
    }

    #[test]
    fn the_sweep_removes_ended_rows_by_key_and_refreshes_the_rest() {
        let publ = |expires, desired| Record { pres_uri: b"sip:a".to_vec(), expires, desired_expires: desired, ..Default::default() };
        let temp = Record { watcher_uri: b"sip:w".to_vec(), ..publ(1020, 0) };
        let rows = vec![
            (Value::Int(1), publ(900, 900)),
            (Value::Int(2), publ(1020, 0)),
            (Value::Int(3), temp),
            (Value::Int(4), publ(1100, 0)),
            (Value::Int(5), publ(995, 995)),
        ];
        let (remove, due) = plan_sweep(rows, 1000, 50, 0);
        assert_eq!(remove, vec![Value::Int(1)]);
        assert_eq!(due, vec![(Value::Int(2), publ(1020, 0))]);
        assert_eq!(sweep_bound(1000, 50), Value::Int(1050));
        assert_eq!(sweep_bound(u32::MAX, 50), Value::Int(i32::MAX));
    }

    #[test]
    fn subs_lists_select_by_id_prefix() {
        let rows = vec![
            vec![s("did1;a"), s("sip:b@x")],
            vec![s("did2"), s("sip:c@x")],
            vec![s("did1;b"), s("sip:a@x")],
            vec![s("did1;c"), Value::Null],
            vec![Value::Null, s("sip:d@x")],
        ];
        assert_eq!(subs_uris(rows.clone(), b"did1"), vec![b"sip:b@x".to_vec(), b"sip:a@x".to_vec()]);
        assert_eq!(subs_uris(rows, b"").len(), 3);
    }

    #[test]
    fn the_store_is_made_with_its_locking() {
        assert_eq!(DbStore::new("pua", true).locking, Locking::Write);
        let d = DbStore::new("pua2", false);
        assert_eq!((d.table.as_str(), d.locking), ("pua2", Locking::None));
    }
}
