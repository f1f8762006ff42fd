//! The Kamailio DB API (`db_bind_mod`), so that every DB backend module works: bind by URL
//! in `mod_init`, open one connection per process after the fork, and run typed queries.

use std::ffi::c_int;
use std::fmt;

use crate::{kstr, sys};

/// A DB error with what failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError(pub String);

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

pub type DbResult<T> = Result<T, DbError>;

fn err<T>(what: impl Into<String>) -> DbResult<T> {
    Err(DbError(what.into()))
}

/// A column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i32),
    BigInt(i64),
    Double(f64),
    Str(String),
    Blob(Vec<u8>),
    DateTime(i64),
}

impl Value {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i as i64),
            Value::BigInt(i) | Value::DateTime(i) => Some(*i),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Str(s) => Some(s.as_bytes()),
            Value::Blob(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Blob(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }
}

/// A comparison in a WHERE clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl Op {
    fn as_c(self) -> sys::db_op_t {
        match self {
            Op::Eq => c"=".as_ptr(),
            Op::Ne => c"!=".as_ptr(),
            Op::Lt => c"<".as_ptr(),
            Op::Gt => c">".as_ptr(),
            Op::Le => c"<=".as_ptr(),
            Op::Ge => c">=".as_ptr(),
        }
    }
}

/// One `key op value` condition.
#[derive(Debug, Clone)]
pub struct Cond<'a> {
    pub key: &'a str,
    pub op: Op,
    pub value: Value,
}

/// `key = value`.
pub fn eq(key: &str, value: Value) -> Cond<'_> {
    Cond { key, op: Op::Eq, value }
}

/// Table locking for transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locking {
    None,
    Write,
}

/// A bound DB driver (from `mod_init`, inherited by every process).
#[derive(Clone, Copy)]
pub struct Db {
    funcs: sys::db_func_t,
}

// SAFETY: a table of function pointers into the driver module, identical in every process.
unsafe impl Send for Db {}
unsafe impl Sync for Db {}

impl Db {
    /// Binds the driver module named by the URL's scheme (it must be loaded).
    pub fn bind(url: &str) -> DbResult<Db> {
        let mut funcs = sys::db_func_t::default();
        let u = kstr::view(url.as_bytes());
        // SAFETY: db_bind_mod reads the URL and fills the function table.
        if unsafe { sys::db_bind_mod(&u, &mut funcs) } < 0 {
            return err(format!("cannot bind a DB driver for {}", redact(url)));
        }
        Ok(Db { funcs })
    }

    /// True if the driver can query, insert, update and delete.
    pub fn has_basic_caps(&self) -> bool {
        let all = sys::DB_CAP_QUERY | sys::DB_CAP_INSERT | sys::DB_CAP_DELETE | sys::DB_CAP_UPDATE;
        self.funcs.cap & all == all
    }

    /// Opens a connection (do it in each process after the fork, not in mod_init).
    pub fn connect(&self, url: &str) -> DbResult<DbConn> {
        let init = self.funcs.init.ok_or_else(|| DbError("the DB driver has no init".into()))?;
        let u = kstr::view(url.as_bytes());
        // SAFETY: the driver copies what it needs from the URL.
        let con = unsafe { init(&u) };
        if con.is_null() {
            return err(format!("cannot connect to {}", redact(url)));
        }
        Ok(DbConn { funcs: self.funcs, con, table: Box::new((kstr::empty(), Vec::new())) })
    }
}

/// Hides the password of a DB URL in log lines.
/// Whether the database behind `url` compares strings without regard to case: MySQL/MariaDB do
/// by default (their usual collations), so `WHERE doc_uri = 'sip:Alice@…'` finds `sip:alice@…`;
/// SQLite and PostgreSQL compare byte for byte. Callers re-check keys, or avoid writes keyed by
/// such a comparison, where it matters.
pub fn compares_case_blind(url: &str) -> bool {
    url.starts_with("mysql:")
}

pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A connection, private to the process that opened it. Closed when dropped.
pub struct DbConn {
    funcs: sys::db_func_t,
    con: *mut sys::db1_con_t,
    // The driver keeps a pointer to the table name: it must stay at a fixed address.
    table: Box<(sys::str_, Vec<u8>)>,
}

/// Values of one query, converted to DB API structures that borrow from them.
struct Vals(Vec<sys::db_val_t>);

impl Vals {
    fn new(vals: impl Iterator<Item = impl std::borrow::Borrow<Value>>) -> Vals {
        Vals(vals.map(|v| to_c(v.borrow())).collect())
    }
    fn ptr(&mut self) -> *mut sys::db_val_t {
        if self.0.is_empty() { std::ptr::null_mut() } else { self.0.as_mut_ptr() }
    }
}

/// Keys as `str` values plus the pointer array the API takes.
struct Keys(Vec<sys::str_>, Vec<sys::db_key_t>);

impl Keys {
    fn new<'a>(names: impl Iterator<Item = &'a str>) -> Keys {
        let strs: Vec<sys::str_> = names.map(|n| kstr::view(n.as_bytes())).collect();
        let mut k = Keys(strs, Vec::new());
        k.1 = k.0.iter_mut().map(|s| s as *mut sys::str_).collect();
        k
    }
    fn ptr(&mut self) -> *mut sys::db_key_t {
        if self.1.is_empty() { std::ptr::null_mut() } else { self.1.as_mut_ptr() }
    }
}

fn to_c(v: &Value) -> sys::db_val_t {
    let mut c = sys::db_val_t::default();
    match v {
        Value::Null => {
            c.type_ = sys::DB1_STR;
            c.nul = 1;
        }
        Value::Int(i) => {
            c.type_ = sys::DB1_INT;
            c.val.int_val = *i;
        }
        Value::BigInt(i) => {
            c.type_ = sys::DB1_BIGINT;
            c.val.ll_val = *i;
        }
        Value::Double(d) => {
            c.type_ = sys::DB1_DOUBLE;
            c.val.double_val = *d;
        }
        Value::Str(s) => {
            c.type_ = sys::DB1_STR;
            c.val.str_val = kstr::view(s.as_bytes());
        }
        Value::Blob(b) => {
            c.type_ = sys::DB1_BLOB;
            c.val.blob_val = kstr::view(b);
        }
        Value::DateTime(t) => {
            c.type_ = sys::DB1_DATETIME;
            c.val.time_val = *t as _;
        }
    }
    c
}

/// # Safety
/// `v` is a value of a result the driver has not freed yet.
unsafe fn from_c(v: &sys::db_val_t) -> Value {
    if v.nul != 0 {
        return Value::Null;
    }
    match v.type_ {
        sys::DB1_INT => Value::Int(v.val.int_val),
        sys::DB1_UINT | sys::DB1_BITMAP => Value::BigInt(v.val.uint_val as i64),
        sys::DB1_BIGINT => Value::BigInt(v.val.ll_val),
        sys::DB1_UBIGINT => Value::BigInt(v.val.ull_val as i64),
        sys::DB1_DOUBLE => Value::Double(v.val.double_val),
        sys::DB1_DATETIME => Value::DateTime(v.val.time_val),
        sys::DB1_STRING => {
            if v.val.string_val.is_null() {
                Value::Null
            } else {
                Value::Str(std::ffi::CStr::from_ptr(v.val.string_val).to_string_lossy().into_owned())
            }
        }
        sys::DB1_STR => Value::Str(String::from_utf8_lossy(kstr::bytes(&v.val.str_val)).into_owned()),
        sys::DB1_BLOB => Value::Blob(kstr::bytes(&v.val.blob_val).to_vec()),
        _ => Value::Null,
    }
}

impl DbConn {
    fn check(&self, rc: c_int, what: &str) -> DbResult<()> {
        if rc < 0 {
            let t = String::from_utf8_lossy(&self.table.1).into_owned();
            return err(format!("{what} on table {t} failed"));
        }
        Ok(())
    }

    /// Selects the table the next statements work on.
    pub fn use_table(&mut self, table: &str) -> DbResult<()> {
        if self.table.1 != table.as_bytes() {
            self.table.1 = table.as_bytes().to_vec();
            self.table.0 = kstr::view(&self.table.1);
        }
        let f = self.funcs.use_table.ok_or_else(|| DbError("the DB driver has no use_table".into()))?;
        // SAFETY: the table str lives in self.table at a fixed heap address.
        let rc = unsafe { f(self.con, &self.table.0) };
        self.check(rc, "use_table")
    }

    /// Checks the table's row in the `version` table.
    pub fn check_table_version(&mut self, table: &str, version: u32) -> DbResult<()> {
        let t = kstr::view(table.as_bytes());
        // SAFETY: the function table and connection are valid; the name is read during the call.
        let rc = unsafe { sys::db_check_table_version(&mut self.funcs, self.con, &t, version) };
        if rc < 0 {
            return err(format!(
                "table {table} has the wrong version or is missing (version {version} expected)"
            ));
        }
        Ok(())
    }

    /// SELECT `cols` WHERE all `conds` hold [ORDER BY `order`].
    pub fn query(&mut self, conds: &[Cond], cols: &[&str], order: Option<&str>) -> DbResult<Vec<Vec<Value>>> {
        self.query_with(conds, cols, order, |rows| rows)
    }

    /// As [`DbConn::query`], with `on_rows` run on the rows before the driver frees its result set.
    /// What `on_rows` allocates in pkg memory (a document handed to a C caller, say) then lies above
    /// the result's blocks, and the hole they leave when freed serves the request's later small
    /// allocations: q_malloc's first-fit search finds them there instead of walking its
    /// thousands of empty size buckets up to the heap's top fragment, as it does when the
    /// result's blocks have already merged back into that fragment.
    pub fn query_with<T>(&mut self, conds: &[Cond], cols: &[&str], order: Option<&str>, on_rows: impl FnOnce(Vec<Vec<Value>>) -> T) -> DbResult<T> {
        let f = self.funcs.query.ok_or_else(|| DbError("the DB driver cannot query".into()))?;
        let free = self.funcs.free_result.ok_or_else(|| DbError("the DB driver cannot free results".into()))?;
        let mut keys = Keys::new(conds.iter().map(|c| c.key));
        let mut ops: Vec<sys::db_op_t> = conds.iter().map(|c| c.op.as_c()).collect();
        let mut vals = Vals::new(conds.iter().map(|c| &c.value));
        let mut ckeys = Keys::new(cols.iter().copied());
        let mut order_s = order.map(|o| kstr::view(o.as_bytes()));
        let order_p = order_s.as_mut().map_or(std::ptr::null_mut(), |s| s as *mut sys::str_);
        let mut res: *mut sys::db1_res_t = std::ptr::null_mut();
        let ops_p = if ops.is_empty() { std::ptr::null_mut() } else { ops.as_mut_ptr() };
        // SAFETY: all arrays hold `conds.len()` / `cols.len()` entries and outlive the call.
        let rc = unsafe {
            f(self.con, keys.ptr(), ops_p, vals.ptr(), ckeys.ptr(), conds.len() as c_int, cols.len() as c_int, order_p, &mut res)
        };
        self.check(rc, "query")?;
        let mut rows = Vec::new();
        // SAFETY: the driver returned a result set that is valid until free_result.
        unsafe {
            if let Some(r) = res.as_ref() {
                for i in 0..r.n.max(0) as usize {
                    let row = &*r.rows.add(i);
                    let vals = (0..row.n.max(0) as usize).map(|j| from_c(&*row.values.add(j))).collect();
                    rows.push(vals);
                }
            }
        }
        // Freed also if `on_rows` panics (the panic is caught further up).
        struct FreeResult(unsafe extern "C" fn(*mut sys::db1_con_t, *mut sys::db1_res_t) -> c_int, *mut sys::db1_con_t, *mut sys::db1_res_t);
        impl Drop for FreeResult {
            fn drop(&mut self) {
                if !self.2.is_null() {
                    // SAFETY: the result set the driver returned on this connection, freed once.
                    unsafe { (self.0)(self.1, self.2) };
                }
            }
        }
        let _free = FreeResult(free, self.con, res);
        Ok(on_rows(rows))
    }

    /// INSERT one row.
    pub fn insert(&mut self, cols: &[&str], vals: &[Value]) -> DbResult<()> {
        assert_eq!(cols.len(), vals.len(), "insert: as many values as columns");
        let f = self.funcs.insert.ok_or_else(|| DbError("the DB driver cannot insert".into()))?;
        let mut keys = Keys::new(cols.iter().copied());
        let mut v = Vals::new(vals.iter());
        // SAFETY: arrays of `cols.len()` entries, valid during the call.
        let rc = unsafe { f(self.con, keys.ptr(), v.ptr(), cols.len() as c_int) };
        self.check(rc, "insert")
    }

    /// UPDATE SET `set` WHERE all `conds` hold.
    pub fn update(&mut self, conds: &[Cond], set: &[(&str, Value)]) -> DbResult<()> {
        let f = self.funcs.update.ok_or_else(|| DbError("the DB driver cannot update".into()))?;
        let mut keys = Keys::new(conds.iter().map(|c| c.key));
        let mut ops: Vec<sys::db_op_t> = conds.iter().map(|c| c.op.as_c()).collect();
        let mut vals = Vals::new(conds.iter().map(|c| &c.value));
        let mut ukeys = Keys::new(set.iter().map(|(k, _)| *k));
        let mut uvals = Vals::new(set.iter().map(|(_, v)| v));
        let ops_p = if ops.is_empty() { std::ptr::null_mut() } else { ops.as_mut_ptr() };
        // SAFETY: arrays sized as passed, valid during the call.
        let rc = unsafe {
            f(self.con, keys.ptr(), ops_p, vals.ptr(), ukeys.ptr(), uvals.ptr(), conds.len() as c_int, set.len() as c_int)
        };
        self.check(rc, "update")
    }

    /// DELETE WHERE all `conds` hold (every row when empty).
    pub fn delete(&mut self, conds: &[Cond]) -> DbResult<()> {
        let f = self.funcs.delete.ok_or_else(|| DbError("the DB driver cannot delete".into()))?;
        let mut keys = Keys::new(conds.iter().map(|c| c.key));
        let mut ops: Vec<sys::db_op_t> = conds.iter().map(|c| c.op.as_c()).collect();
        let mut vals = Vals::new(conds.iter().map(|c| &c.value));
        let ops_p = if ops.is_empty() { std::ptr::null_mut() } else { ops.as_mut_ptr() };
        // SAFETY: arrays sized as passed, valid during the call.
        let rc = unsafe { f(self.con, keys.ptr(), ops_p, vals.ptr(), conds.len() as c_int) };
        self.check(rc, "delete")
    }

    /// Whether the driver tells how many rows a statement changed (PostgreSQL, MySQL; not
    /// SQLite): what a conditional UPDATE needs to know whether it won.
    pub fn counts_rows(&self) -> bool {
        self.funcs.affected_rows.is_some()
    }

    /// Rows changed by the last statement, where the driver tells.
    pub fn affected_rows(&mut self) -> Option<i32> {
        let f = self.funcs.affected_rows?;
        // SAFETY: valid connection.
        let n = unsafe { f(self.con) };
        (n >= 0).then_some(n)
    }

    /// Starts a transaction; Ok(false) when the driver has none.
    pub fn start_transaction(&mut self, locking: Locking) -> DbResult<bool> {
        let Some(f) = self.funcs.start_transaction else { return Ok(false) };
        let l = match locking {
            Locking::None => sys::DB_LOCKING_NONE,
            Locking::Write => sys::DB_LOCKING_WRITE,
        };
        // SAFETY: valid connection.
        let rc = unsafe { f(self.con, l) };
        self.check(rc, "start transaction").map(|_| true)
    }

    pub fn end_transaction(&mut self) -> DbResult<()> {
        let Some(f) = self.funcs.end_transaction else { return Ok(()) };
        // SAFETY: valid connection.
        let rc = unsafe { f(self.con) };
        self.check(rc, "commit")
    }

    pub fn abort_transaction(&mut self) -> DbResult<()> {
        let Some(f) = self.funcs.abort_transaction else { return Ok(()) };
        // SAFETY: valid connection.
        let rc = unsafe { f(self.con) };
        self.check(rc, "rollback")
    }

    /// Runs `f` in a transaction (when the driver has them): committed on Ok, rolled back
    /// on Err.
    pub fn transaction<T>(&mut self, locking: Locking, f: impl FnOnce(&mut DbConn) -> DbResult<T>) -> DbResult<T> {
        let started = self.start_transaction(locking)?;
        match f(self) {
            Ok(v) => {
                if started {
                    self.end_transaction()?;
                }
                Ok(v)
            }
            Err(e) => {
                if started {
                    let _ = self.abort_transaction();
                }
                Err(e)
            }
        }
    }
}

impl Drop for DbConn {
    fn drop(&mut self) {
        if let Some(close) = self.funcs.close {
            // SAFETY: the connection was opened by this driver and is closed once.
            unsafe { close(self.con) };
        }
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("mysql://kamailio:secret@localhost/kamailio"), "mysql://kamailio:***@localhost/kamailio");
        assert_eq!(redact("sqlite:///var/lib/k.db"), "sqlite:///var/lib/k.db");
    }

    #[test]
    fn values_round_trip_through_c() {
        for v in [Value::Int(-7), Value::BigInt(1 << 40), Value::Str("ä x".into()), Value::Blob(vec![0, 1, 2]), Value::Null, Value::Double(1.5)] {
            let c = to_c(&v);
            // SAFETY: `c` borrows from `v`, which is alive.
            assert_eq!(unsafe { from_c(&c) }, if let Value::Null = v { Value::Null } else { v.clone() });
        }
    }

    #[test]
    fn value_accessors() {
        assert_eq!(Value::Str(" 12 ".into()).as_int(), Some(12));
        assert_eq!(Value::Blob(b"abc".to_vec()).as_str(), Some("abc"));
        assert_eq!(Value::Null.as_bytes(), None);
    }
}

/// The module's database: bound once in `mod_init`, then one connection in each process
/// that serves requests, timers or RPC, opened after the fork. Each module library has its own.
pub mod module_db {
    use std::cell::RefCell;
    use std::sync::OnceLock;

    use super::{Db, DbConn, DbError, DbResult};
    use crate::module::Rank;

    static BOUND: OnceLock<(Db, String)> = OnceLock::new();

    thread_local! {
        static CONN: RefCell<Option<DbConn>> = const { RefCell::new(None) };
    }

    /// In mod_init: binds the driver named by `url`, requires query/insert/update/delete, and
    /// checks `(table, version)` in the `version` table when given. The connection used for the
    /// check is closed again: connections must not cross the fork.
    pub fn bind(url: &str, table_version: Option<(&str, u32)>) -> DbResult<()> {
        let db = Db::bind(url)?;
        if !db.has_basic_caps() {
            return Err(DbError("the DB driver cannot query, insert, update and delete".into()));
        }
        if let Some((table, version)) = table_version {
            db.connect(url)?.check_table_version(table, version)?;
        }
        let _ = BOUND.set((db, url.to_string()));
        Ok(())
    }

    /// In child_init: opens this process's connection (for ranks that serve).
    pub fn connect(rank: Rank) -> DbResult<()> {
        let Some((db, url)) = BOUND.get() else { return Ok(()) };
        if rank.is_serving() {
            let conn = db.connect(url)?;
            CONN.with(|c| *c.borrow_mut() = Some(conn));
        }
        Ok(())
    }

    /// In destroy: closes this process's connection.
    pub fn close() {
        CONN.with(|c| c.borrow_mut().take());
    }

    /// Runs `f` with this process's connection.
    pub fn with<T, E: From<DbError>>(f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E> {
        CONN.with(|c| match c.borrow_mut().as_mut() {
            Some(conn) => f(conn),
            None => Err(DbError("no DB connection in this process".into()).into()),
        })
    }

    /// Runs `f` with this process's connection, or with one opened for the call and closed
    /// after it where the process has none (mod_init, and destroy in the main process).
    pub fn with_or_open<T, E: From<DbError>>(f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E> {
        if CONN.with(|c| c.borrow().is_some()) {
            return with(f);
        }
        let Some((db, url)) = BOUND.get() else {
            return Err(DbError("the DB is not bound".into()).into());
        };
        let mut conn = db.connect(url)?;
        f(&mut conn)
    }
}
