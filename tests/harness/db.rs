//! The database a test's Kamailio runs on: an SQLite file (the default), or a database of its
//! own on a PostgreSQL or MariaDB server. Each test binary starts at most one server of each
//! kind, on first use, and gives every test a fresh database on it (the target's Kamailio schema
//! loaded), so that a test costs a CREATE DATABASE rather than a server start; the servers are
//! stopped when the test binary exits.
//!
//! A test runs on another back end by running inside [`run_on`] (the `on_every_backend!`
//! macro makes one test per back end of a function): every [`super::Kamailio`] started on that
//! thread without a database of its own then gets a fresh database of that back end, and
//! `Kamailio::sql` reads it. [`TestDb`] is the handle for tests that share one database among
//! several servers (restarts, several nodes).

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::postgres::as_postgres;
use super::{free_port, scratch_dir, sys_path};

/// A database back end the modules are tested on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MariaDb,
}

thread_local! {
    static BACKEND: Cell<Backend> = const { Cell::new(Backend::Sqlite) };
}

/// The back end of the servers this test thread starts.
pub fn backend() -> Backend {
    BACKEND.with(Cell::get)
}

/// Runs `test` with every server it starts on a fresh database of `backend`.
pub fn run_on(backend: Backend, test: fn()) {
    BACKEND.with(|b| b.set(backend));
    test();
}

/// One test per back end of each function named: `<name>::sqlite`, `<name>::postgres`,
/// `<name>::mariadb`.
#[macro_export]
macro_rules! on_every_backend {
    ($($f:ident),+ $(,)?) => {
        $crate::tests_on_backends!([sqlite => Sqlite, postgres => Postgres, mariadb => MariaDb] $($f),+);
    };
}

/// One test per database server back end of each function named: `<name>::postgres`,
/// `<name>::mariadb` (for what SQLite, a file of one machine, does not do: several nodes).
#[macro_export]
macro_rules! on_server_backends {
    ($($f:ident),+ $(,)?) => {
        $crate::tests_on_backends!([postgres => Postgres, mariadb => MariaDb] $($f),+);
    };
}

/// `mod <f> { #[test] fn <name>() { run_on(Backend::<b>, super::<f>) } ... }` for each function.
#[macro_export]
macro_rules! tests_on_backends {
    ($backends:tt $($f:ident),+) => {
        $($crate::tests_on_backends!(@one $backends $f);)+
    };
    (@one [$($name:ident => $b:ident),+] $f:ident) => {
        mod $f {
            use $crate::harness::db::{run_on, Backend};
            $(
                #[test]
                fn $name() {
                    run_on(Backend::$b, super::$f)
                }
            )+
        }
    };
}

/// A test's database; clones share it. A server database is dropped with the last clone.
#[derive(Clone)]
pub struct TestDb(Arc<Inner>);

enum Inner {
    Sqlite(PathBuf),
    Server { server: &'static Server, name: String },
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    /// A fresh database of `backend` with Kamailio's `standard` schema and those named, then `sql`.
    /// An SQLite database is the file `sqlite_file`.
    pub fn create(backend: Backend, sqlite_file: &Path, schemas: &[&str], sql: &str) -> TestDb {
        let server = match backend {
            Backend::Sqlite => {
                let mut all = String::new();
                for s in ["standard"].iter().chain(schemas) {
                    all.push_str(&std::fs::read_to_string(super::sqlite_schema().join(format!("{s}-create.sql"))).unwrap());
                }
                all.push_str(sql);
                super::sqlite(sqlite_file, &all);
                return TestDb(Arc::new(Inner::Sqlite(sqlite_file.to_path_buf())));
            }
            Backend::Postgres => Server::shared(&POSTGRES, Kind::Postgres),
            Backend::MariaDb => Server::shared(&MARIADB, Kind::MariaDb),
        };
        let name = format!("kt_{}_{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        server.admin(&format!("CREATE DATABASE {name};"));
        let dir = match server.kind {
            Kind::Postgres => "/usr/share/kamailio/postgres",
            Kind::MariaDb => "/usr/share/kamailio/mysql",
        };
        let mut all = String::new();
        for s in ["standard"].iter().chain(schemas) {
            all.push_str(&std::fs::read_to_string(sys_path(&format!("{dir}/{s}-create.sql"))).unwrap());
        }
        all.push_str(sql);
        server.run(Some(&name), &all);
        TestDb(Arc::new(Inner::Server { server, name }))
    }

    /// An existing SQLite database file.
    pub fn sqlite_file(path: &Path) -> TestDb {
        TestDb(Arc::new(Inner::Sqlite(path.to_path_buf())))
    }

    /// The back end.
    pub fn backend(&self) -> Backend {
        match &*self.0 {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Server { server, .. } => match server.kind {
                Kind::Postgres => Backend::Postgres,
                Kind::MariaDb => Backend::MariaDb,
            },
        }
    }

    /// The Kamailio DB URL.
    pub fn url(&self) -> String {
        match &*self.0 {
            Inner::Sqlite(p) => format!("sqlite:///{}", p.display()),
            Inner::Server { server, name } => match server.kind {
                Kind::Postgres => format!("postgres://postgres:unused@127.0.0.1:{}/{name}", server.port),
                Kind::MariaDb => format!("mysql://kamailio:kamailiorw@127.0.0.1:{}/{name}", server.port),
            },
        }
    }

    /// An SQL expression of this back end for the upper-case hex of a binary column.
    pub fn hex(&self, col: &str) -> String {
        match self.backend() {
            Backend::Postgres => format!("upper(encode({col}, 'hex'))"),
            Backend::Sqlite | Backend::MariaDb => format!("hex({col})"),
        }
    }

    /// Runs SQL; returns the rows one a line, columns separated by `|`, NULL as empty (as
    /// sqlite3 prints them, whatever the back end).
    pub fn sql(&self, q: &str) -> String {
        match &*self.0 {
            Inner::Sqlite(p) => super::sqlite(p, q),
            Inner::Server { server, name } => server.run(Some(name), q),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Inner::Server { server, name } = self {
            if !std::thread::panicking() {
                server.admin(&format!("DROP DATABASE IF EXISTS {name};"));
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Postgres,
    MariaDb,
}

/// A database server shared by the tests of this test binary.
struct Server {
    kind: Kind,
    dir: PathBuf,
    port: u16,
    /// mariadbd's process (PostgreSQL runs as a daemon of pg_ctl).
    child: Mutex<Option<std::process::Child>>,
}

static POSTGRES: OnceLock<Server> = OnceLock::new();
static MARIADB: OnceLock<Server> = OnceLock::new();

extern "C" fn stop_servers() {
    for s in [&POSTGRES, &MARIADB] {
        if let Some(s) = s.get() {
            s.stop();
        }
    }
}

impl Server {
    fn shared(cell: &'static OnceLock<Server>, kind: Kind) -> &'static Server {
        cell.get_or_init(|| {
            static AT_EXIT: std::sync::Once = std::sync::Once::new();
            // SAFETY: registers a plain function, run once when the test binary exits.
            AT_EXIT.call_once(|| unsafe {
                libc::atexit(stop_servers);
            });
            match kind {
                Kind::Postgres => Server::postgres(),
                Kind::MariaDb => Server::mariadb(),
            }
        })
    }

    fn postgres() -> Server {
        let dir = scratch_dir("pg-shared");
        let data = dir.join("data");
        Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status().unwrap();
        let out = as_postgres("initdb", &["-D", data.to_str().unwrap(), "-A", "trust", "-U", "postgres", "--no-sync"]);
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let port = free_port();
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300",
            dir.display()
        );
        let log = dir.join("pg.log");
        let out = as_postgres("pg_ctl", &["-D", data.to_str().unwrap(), "-o", &opts, "-l", log.to_str().unwrap(), "-w", "start"]);
        assert!(
            out.status.success(),
            "pg_ctl start: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Server { kind: Kind::Postgres, dir, port, child: Mutex::new(None) }
    }

    fn mariadb() -> Server {
        let dir = scratch_dir("mariadb-shared");
        let data = dir.join("data");
        // Its own temporary directory: servers set up at the same time must not share files.
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let out = Command::new("mariadb-install-db")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args(["--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"])
            .stdin(Stdio::null())
            .output()
            .expect("run mariadb-install-db (apt-get install mariadb-server)");
        assert!(out.status.success(), "mariadb-install-db: {}", String::from_utf8_lossy(&out.stderr));
        let port = free_port();
        let log = std::fs::File::create(dir.join("mariadb.log")).unwrap();
        let child = Command::new("/usr/sbin/mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
            .arg(format!("--pid-file={}", dir.join("mariadb.pid").display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args([
                "--user=root",
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--innodb-flush-log-at-trx-commit=2",
                "--innodb-doublewrite=0",
                "--max-connections=500",
            ])
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start mariadbd");
        let s = Server { kind: Kind::MariaDb, dir, port, child: Mutex::new(Some(child)) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !s.mariadb_client(None, "SELECT 1;").status.success() {
            assert!(
                Instant::now() < deadline,
                "mariadbd did not start:\n{}",
                std::fs::read_to_string(s.dir.join("mariadb.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        s.admin("CREATE USER 'kamailio'@'%' IDENTIFIED BY 'kamailiorw'; GRANT ALL ON *.* TO 'kamailio'@'%';");
        s
    }

    fn mariadb_client(&self, db: Option<&str>, sql: &str) -> std::process::Output {
        Command::new("mariadb")
            .arg(format!("--socket={}", self.dir.join("mysqld.sock").display()))
            .args(["-uroot", "--batch", "--raw", "--skip-column-names"])
            .args(db)
            .args(["-e", sql])
            .output()
            .expect("run mariadb")
    }

    /// SQL outside any test database.
    fn admin(&self, sql: &str) {
        let db = match self.kind {
            Kind::Postgres => Some("postgres"),
            Kind::MariaDb => None,
        };
        self.run(db, sql);
    }

    /// Runs SQL in database `db`; rows as sqlite3 prints them.
    fn run(&self, db: Option<&str>, sql: &str) -> String {
        let out = match self.kind {
            Kind::Postgres => Command::new("psql")
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", db.unwrap_or("postgres")])
                .args(["-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])
                .output()
                .expect("run psql"),
            Kind::MariaDb => self.mariadb_client(db, sql),
        };
        assert!(out.status.success(), "{sql}\n{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        match self.kind {
            Kind::Postgres => text,
            Kind::MariaDb => text
                .lines()
                .map(|l| l.split('\t').map(|f| if f == "NULL" { "" } else { f }).collect::<Vec<_>>().join("|") + "\n")
                .collect(),
        }
    }

    fn stop(&self) {
        match self.kind {
            Kind::Postgres => {
                let data = self.dir.join("data");
                as_postgres("pg_ctl", &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"]);
            }
            Kind::MariaDb => {
                if let Some(mut c) = self.child.lock().ok().and_then(|mut c| c.take()) {
                    let _ = c.kill();
                    let _ = c.wait();
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
