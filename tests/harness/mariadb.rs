//! A throwaway MariaDB server for one test: its own data directory, 127.0.0.1 and a free port,
//! a database `kamailio` with Kamailio's MySQL schema and the user Kamailio's modules default
//! to (`kamailio`/`kamailiorw`); stopped and removed when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, scratch_dir, sys_path};

pub struct MariaDb {
    dir: PathBuf,
    child: Option<Child>,
    pub port: u16,
}

impl MariaDb {
    /// Starts a server with database `kamailio` holding the schemas named (e.g. "presence").
    pub fn start(schemas: &[&str], sql: &str) -> MariaDb {
        let dir = scratch_dir("mariadb");
        let data = dir.join("data");
        let out = Command::new("mariadb-install-db")
            .arg(format!("--datadir={}", data.display()))
            .args(["--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"])
            .stdin(Stdio::null())
            .output()
            .expect("run mariadb-install-db (apt-get install mariadb-server)");
        assert!(out.status.success(), "mariadb-install-db: {}", String::from_utf8_lossy(&out.stderr));
        let port = free_port();
        let mut db = MariaDb { dir, child: None, port };
        db.launch();
        db.sql_as_root(
            "CREATE DATABASE kamailio; \
             CREATE USER 'kamailio'@'%' IDENTIFIED BY 'kamailiorw'; \
             GRANT ALL ON kamailio.* TO 'kamailio'@'%';",
        );
        let mut all = String::new();
        for s in ["standard"].iter().chain(schemas) {
            all.push_str(&std::fs::read_to_string(sys_path(&format!("/usr/share/kamailio/mysql/{s}-create.sql"))).unwrap());
        }
        all.push_str(sql);
        db.sql(&all);
        db
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("mysqld.sock")
    }

    fn launch(&mut self) {
        let log = std::fs::File::create(self.dir.join("mariadb.log")).unwrap();
        let child = Command::new("/usr/sbin/mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!("--pid-file={}", self.dir.join("mariadb.pid").display()))
            .args(["--user=root", "--bind-address=127.0.0.1", "--skip-name-resolve", "--innodb-flush-log-at-trx-commit=2"])
            .arg(format!("--port={}", self.port))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start mariadbd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.ping() {
            assert!(Instant::now() < deadline, "mariadbd did not start:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn ping(&self) -> bool {
        Command::new("mariadb-admin")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-uroot", "ping"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mariadb.log")).unwrap_or_default()
    }

    /// Stops the server at once (as a failing database would), keeping its data.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and data.
    pub fn restart(&mut self) {
        self.launch();
    }

    /// The Kamailio DB URL of database `kamailio`, as the stock modules' default spells it.
    pub fn url(&self) -> String {
        format!("mysql://kamailio:kamailiorw@127.0.0.1:{}/kamailio", self.port)
    }

    fn client(&self, user: &[&str], db: Option<&str>, sql: &str) -> String {
        let out = Command::new("mariadb")
            .arg(format!("--socket={}", self.socket().display()))
            .args(user)
            .args(db)
            .args(["--batch", "--skip-column-names", "-e", sql])
            .output()
            .expect("run mariadb");
        assert!(out.status.success(), "mariadb: {}\n{sql}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn sql_as_root(&self, sql: &str) -> String {
        self.client(&["-uroot"], None, sql)
    }

    /// Runs SQL in database `kamailio`; returns the rows, tab-separated, without a header.
    pub fn sql(&self, sql: &str) -> String {
        self.client(&["-uroot"], Some("kamailio"), sql)
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
