//! A throwaway PostgreSQL server for one test: its own data directory, 127.0.0.1 and a free
//! port, trust authentication, Kamailio's schema loaded; stopped when dropped.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{free_port, scratch_dir, sys_path};

const BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct Postgres {
    dir: PathBuf,
    pub port: u16,
}

/// Runs a PostgreSQL tool as the postgres user (the server refuses to run as root).
pub(super) fn as_postgres(tool: &str, args: &[&str]) -> std::process::Output {
    Command::new("runuser")
        .args(["-u", "postgres", "--", &format!("{BIN}/{tool}")])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {tool}: {e}"))
}

impl Postgres {
    /// Starts a server with database `kamailio` holding the schemas named (e.g. "presence").
    pub fn start(schemas: &[&str], sql: &str) -> Postgres {
        let dir = scratch_dir("pg");
        let data = dir.join("data");
        Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status().unwrap();
        let out = as_postgres("initdb", &["-D", data.to_str().unwrap(), "-A", "trust", "-U", "postgres", "--no-sync"]);
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let port = free_port();
        let opts = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", dir.display());
        let log = dir.join("pg.log");
        let out = as_postgres("pg_ctl", &["-D", data.to_str().unwrap(), "-o", &opts, "-l", log.to_str().unwrap(), "-w", "start"]);
        let pg = Postgres { dir, port };
        assert!(out.status.success(), "pg_ctl start: {}\n{}", String::from_utf8_lossy(&out.stderr), std::fs::read_to_string(&log).unwrap_or_default());
        pg.psql("postgres", "CREATE DATABASE kamailio;");
        let mut all = String::new();
        for s in ["standard"].iter().chain(schemas) {
            all.push_str(&std::fs::read_to_string(sys_path(&format!("/usr/share/kamailio/postgres/{s}-create.sql"))).unwrap());
        }
        all.push_str(sql);
        pg.psql("kamailio", &all);
        pg
    }

    /// Stops the server (as a failing database would), keeping its data.
    pub fn stop(&self) {
        let data = self.dir.join("data");
        let out = as_postgres("pg_ctl", &["-D", data.to_str().unwrap(), "-m", "immediate", "-w", "stop"]);
        assert!(out.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Starts it again on the same port and data.
    pub fn restart(&self) {
        let data = self.dir.join("data");
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display());
        let log = self.dir.join("pg.log");
        let out = as_postgres("pg_ctl", &["-D", data.to_str().unwrap(), "-o", &opts, "-l", log.to_str().unwrap(), "-w", "start"]);
        assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// The Kamailio DB URL of database `kamailio`.
    pub fn url(&self) -> String {
        format!("postgres://postgres:unused@127.0.0.1:{}/kamailio", self.port)
    }

    /// Runs SQL with psql; returns its unaligned, tuples-only output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])
            .output()
            .expect("run psql");
        assert!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        as_postgres("pg_ctl", &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
