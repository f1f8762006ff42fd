//! The persistence of `db_mode` 0: memory is authoritative and the `pua` table is this
//! instance's copy of it, read once at start-up and rewritten from memory by the timer and at
//! shutdown. The row mapping is the database store's ([`to_row`](crate::db_store::to_row),
//! [`from_row`]), so the two modes read each other's tables.
//!
//! Both functions work on this process's connection, or on one opened for the call where the
//! process has none (mod_init, destroy in the main process).

use std::collections::HashMap;

use kamailio::db::{module_db, DbConn, DbResult, Locking};
use kamailio::Value;

use crate::db_store::{by_id, from_row, insert_record, select, store_err, Row, DATA_COLS};
use crate::record::Record;
use crate::store::StoreError;

/// Every row of `table`, as records (without content type and outbound proxy, which have no
/// column). Rows are returned whether or not they have ended: the refresh sweep decides what
/// to do with them, as it does for records in memory. The table is left as it is; the next
/// [`save`] rewrites it.
pub fn load(table: &str) -> Result<Vec<Record>, StoreError> {
    module_db::with_or_open(|c: &mut DbConn| -> DbResult<Vec<Record>> {
        c.use_table(table)?;
        Ok(c.query(&[], DATA_COLS, None)?.iter().map(|row| from_row(DATA_COLS, row)).collect())
    })
    .map_err(store_err)
}

/// True if `r` is still worth writing at `now`: its grant has not ended. `expires` is always
/// an absolute time, so a record whose expires is 0 has ended long ago (it never got a grant)
/// and is not written either; this is the C module's test (`expires - now < 0`: skipped).
/// Records that ended less than 10 s ago, which the sweep still keeps in memory for a late
/// refresh, are dropped too: after a restart they would be removed at once anyway.
pub fn is_live(r: &Record, now: u32) -> bool {
    r.expires >= now
}

/// The records [`save`] writes.
pub fn to_save(records: &[Record], now: u32) -> impl Iterator<Item = &Record> {
    records.iter().filter(move |r| is_live(r, now))
}

/// A record as its row reads back: the table has no columns for the content type and the
/// outbound proxy.
fn as_stored(r: &Record) -> Record {
    Record { content_type: Vec::new(), outbound_proxy: Vec::new(), ..r.clone() }
}

/// What makes the table hold exactly `live`: the ids of the rows to delete (rows no record
/// matches) and the records to insert (records no row matches). Rows equal to a record stay.
pub fn plan_save<'a>(rows: Vec<Row>, live: impl Iterator<Item = &'a Record>) -> (Vec<Value>, Vec<&'a Record>) {
    let mut wanted: HashMap<Record, Vec<&Record>> = HashMap::new();
    for r in live {
        wanted.entry(as_stored(r)).or_default().push(r);
    }
    let mut delete = Vec::new();
    for (id, row) in rows {
        match wanted.get_mut(&row).and_then(Vec::pop) {
            Some(_) => {}
            None => delete.push(id),
        }
    }
    let insert = wanted.into_values().flatten().collect();
    (delete, insert)
}

/// Makes `table` hold exactly the records of `records` that have not ended at `now`, writing
/// only the difference: rows that match no record are deleted, records that match no row are
/// inserted (in one transaction where the driver has them). A save that is cut short (a stop
/// that is killed) leaves the rows it has not reached as they were. No lock is taken: no one
/// else writes this instance's table. Returns how many rows were deleted and inserted.
pub fn save(table: &str, records: &[Record], now: u32) -> Result<(usize, usize), StoreError> {
    module_db::with_or_open(|c: &mut DbConn| -> DbResult<(usize, usize)> {
        c.use_table(table)?;
        c.transaction(Locking::None, |c| {
            let rows = select(c, &[])?;
            let (delete, insert) = plan_save(rows, to_save(records, now));
            for id in &delete {
                c.delete(&by_id(id))?;
            }
            for r in &insert {
                insert_record(c, r)?;
            }
            Ok((delete.len(), insert.len()))
        })
    })
    .map_err(store_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_save_writes_only_the_difference() {
        let kept = rec("kept", 2000);
        let changed_old = Record { etag: b"e1".to_vec(), ..rec("changed", 2000) };
        let changed_new = Record { etag: b"e2".to_vec(), outbound_proxy: b"sip:p".to_vec(), ..rec("changed", 2000) };
        let gone = rec("gone", 2000);
        let rows = vec![(Value::Int(1), kept.clone()), (Value::Int(2), changed_old), (Value::Int(3), gone), (Value::Int(4), kept.clone())];
        let new = rec("new", 2000);
        let live = [kept.clone(), changed_new.clone(), new.clone()];
        let (delete, insert) = plan_save(rows, live.iter());
        // One "kept" row is a duplicate: it goes too.
        let mut delete = delete;
        delete.sort_by_key(|v| v.as_int());
        assert_eq!(delete, vec![Value::Int(2), Value::Int(3), Value::Int(4)]);
        let mut ids: Vec<&[u8]> = insert.iter().map(|r| &r.id[..]).collect();
        ids.sort();
        assert_eq!(ids, vec![&b"changed"[..], b"new"]);
        // Nothing to do when the table already holds the records.
        let rows = vec![(Value::Int(1), kept.clone())];
        let same = [Record { content_type: b"a/b".to_vec(), ..kept }];
        let (d, i) = plan_save(rows, same.iter());
        assert!(d.is_empty() && i.is_empty());
    }

    fn rec(id: &str, expires: u32) -> Record {
        Record { id: id.into(), pres_uri: b"sip:a@x".to_vec(), flag: 64, event: 1, expires, ..Default::default() }
    }

    fn saved(records: &[Record], now: u32) -> Vec<&str> {
        to_save(records, now).map(|r| std::str::from_utf8(&r.id).unwrap()).collect()
    }

    #[test]
    fn only_records_that_have_not_ended_are_written() {
        let records = [rec("past", 999), rec("now", 1000), rec("future", 5000), rec("zero", 0), rec("grace", 995)];
        assert_eq!(saved(&records, 1000), ["now", "future"]);
        assert_eq!(saved(&records, 0), ["past", "now", "future", "zero", "grace"]);
        assert_eq!(saved(&records, u32::MAX), Vec::<&str>::new());
        assert!(saved(&[], 1000).is_empty());
    }

    #[test]
    fn temporary_dialogs_and_forever_records_follow_their_grant() {
        let temp = Record { watcher_uri: b"sip:w".to_vec(), call_id: b"c".to_vec(), ..rec("t", 1064) };
        let forever = Record { desired_expires: 0, ..rec("f", 900) };
        assert!(is_live(&temp, 1000));
        assert!(!is_live(&forever, 1000));
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        use crate::db_store::to_row;
        let r = Record { tuple_id: b"t".to_vec(), etag: b"e".to_vec(), version: 2, ..rec("x", 2000) };
        let (cols, vals): (Vec<&str>, Vec<kamailio::Value>) = to_row(&r).into_iter().unzip();
        assert_eq!(cols, DATA_COLS);
        assert_eq!(from_row(DATA_COLS, &vals), r);
    }
}
