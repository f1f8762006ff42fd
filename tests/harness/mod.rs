//! Starts the real Kamailio of the build's target with our modules from `test-configs/`, on
//! 127.0.0.1 and free ports, and drives it with SIPp, raw UDP SIP and `kamcmd`. The server is
//! stopped by PID when the handle drops; its log is printed when a test fails.
//!
//! The target is the one the workspace was built for (`KAMAILIO_TARGET`): 5.6 runs the host's
//! `/usr/sbin/kamailio`; 6.0 runs Debian 13's through the wrapper of `ci/kamailio-root.sh`,
//! which sees the host's temporary directory and this repository at the same paths, so that
//! configs, databases, sockets and modules are shared as they are on 5.6. Files of the
//! target's own installation (stock modules, schema scripts) are read under [`sysroot`].
//!
//! Two environment variables serve runs under a checker such as valgrind (ci/memcheck.sh):
//! `KAMAILIO_WRAPPER`, a command (words split on white space) that every server is started
//! through, in front of the Kamailio binary (on 6.0 the root's wrapper puts it in front of the
//! root's binary, so it runs inside the root); and `KAMAILIO_TIMEOUT_SCALE`, a factor (default
//! 1) for the harness's waits on a server, see [`scaled`]. Unset, servers start as they always did.
#![allow(dead_code)]

pub mod db;
pub mod postgres;
pub mod pua;
pub mod xcap;

use std::net::{TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The Kamailio series the workspace was built for: "5.6" or "6.0".
pub const TARGET: &str = env!("KAMAILIO_TARGET");
/// The command that runs the target's Kamailio with `/usr/sbin/kamailio`'s arguments.
pub const KAMAILIO: &str = env!("KAMAILIO_BIN");
/// The stock module directory, as Kamailio sees it (prefix [`sysroot`] to read it from here).
pub const STOCK_MODULE_DIR: &str = "/usr/lib/x86_64-linux-gnu/kamailio/modules";

/// The command that servers are started through (`KAMAILIO_WRAPPER`), split into words; empty
/// when unset.
pub fn wrapper() -> Vec<String> {
    std::env::var("KAMAILIO_WRAPPER").map(|w| w.split_whitespace().map(String::from).collect()).unwrap_or_default()
}

/// `KAMAILIO_TIMEOUT_SCALE` (a positive number; 1 when unset or not a positive number).
pub fn timeout_scale() -> f64 {
    parse_scale(std::env::var("KAMAILIO_TIMEOUT_SCALE").ok().as_deref())
}

fn parse_scale(v: Option<&str>) -> f64 {
    v.and_then(|v| v.trim().parse::<f64>().ok()).filter(|f| f.is_finite() && *f > 0.0).unwrap_or(1.0)
}

/// A wait on a server, stretched by [`timeout_scale`] for a server that runs slower than
/// natively (under valgrind). Unchanged by default.
pub fn scaled(d: Duration) -> Duration {
    d.mul_f64(timeout_scale())
}

/// True when the tests run against Kamailio 6.0.
pub fn is_6_0() -> bool {
    TARGET == "6.0"
}

/// The directory the target's Kamailio sees as `/`: the host's for 5.6, the Debian 13 root
/// (named in the file `root` beside its wrapper) for 6.0.
pub fn sysroot() -> PathBuf {
    if !is_6_0() {
        return PathBuf::from("/");
    }
    let file = Path::new(KAMAILIO).with_file_name("root");
    let root = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e} (run `bash ci/kamailio-root.sh`)", file.display()));
    PathBuf::from(root.trim())
}

/// A path of the target's installation, readable from here.
pub fn sys_path(path: &str) -> PathBuf {
    sysroot().join(path.trim_start_matches('/'))
}

/// The target's stock module directory, readable from here.
pub fn stock_modules() -> PathBuf {
    sys_path(STOCK_MODULE_DIR)
}

/// The target's SQLite schema scripts (`<name>-create.sql`).
pub fn sqlite_schema() -> PathBuf {
    sys_path("/usr/share/kamailio/db_sqlite")
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The cargo profile directory the test binary was built into (target/debug or target/release).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>").to_path_buf()
}

/// The built module `name` (cargo's lib<name>.so); panics with a hint when it is missing.
pub fn module_so(name: &str) -> PathBuf {
    let p = target_dir().join(format!("lib{name}.so"));
    assert!(p.is_file(), "{} is missing: run `cargo build --workspace` before the tests (ci/test.sh does)", p.display());
    p
}

/// A UDP port that was free a moment ago on 127.0.0.1 (and free for TCP too).
pub fn free_port() -> u16 {
    loop {
        let u = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = u.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory for one server.
pub fn scratch_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "krs-{tag}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// How to start one server.
#[derive(Clone)]
pub struct Setup<'a> {
    /// Config template under test-configs/.
    pub config: &'a str,
    /// Our modules to make loadable from @MODDIR@.
    pub modules: &'a [&'a str],
    /// Extra @NAME@ substitutions.
    pub vars: Vec<(&'a str, String)>,
    /// `-A` defines.
    pub defines: &'a [&'a str],
    /// Kamailio's schema scripts to load into the SQLite database (e.g. "presence").
    pub schemas: &'a [&'a str],
    /// Extra SQL for the database.
    pub sql: &'a str,
    /// Start on a copy of this SQLite database instead of a new one.
    pub db_from: Option<PathBuf>,
    /// Use this database URL (e.g. a PostgreSQL server's) instead of a new SQLite file.
    pub db_url: Option<String>,
    /// 6.0 only: run the Kamailio of this copy of the Debian 13 root instead of the cached one.
    pub sysroot: Option<PathBuf>,
    /// Run on this database (shared with other servers) instead of a fresh one.
    pub db: Option<db::TestDb>,
}

impl<'a> Setup<'a> {
    pub fn new(config: &'a str, modules: &'a [&'a str]) -> Self {
        Setup { config, modules, vars: Vec::new(), defines: &[], schemas: &[], sql: "", db_from: None, db_url: None, sysroot: None, db: None }
    }
}

/// A running Kamailio.
pub struct Kamailio {
    child: Option<Child>,
    pub dir: PathBuf,
    pub sip_port: u16,
    /// A second free port, for configs that listen for HTTP (@HTTP_PORT@).
    pub http_port: u16,
    pub ctl: PathBuf,
    pub db: PathBuf,
    pub log: PathBuf,
    /// The database it runs on, unless the setup gave only a URL.
    test_db: Option<db::TestDb>,
}

/// A server that failed to start: its exit status and log.
pub struct StartFailure {
    pub code: Option<i32>,
    pub log: String,
}

impl Kamailio {
    /// Starts a server and waits until it answers RPC and SIP; panics with its log otherwise.
    pub fn start(setup: Setup) -> Kamailio {
        // A free port can be taken by another process between its choice and Kamailio's bind
        // (tests run in parallel): then again, on other ports.
        let mut attempts = 0;
        loop {
            attempts += 1;
            match Self::launch(setup.clone(), true) {
                Ok(k) => return k,
                Err(f) if attempts < 3 && f.log.contains("Address already in use") => continue,
                Err(f) => panic!("kamailio did not start (exit {:?}); its log:\n{}", f.code, f.log),
            }
        }
    }

    /// Starts a server that is expected to refuse to start; returns how it failed.
    pub fn start_expecting_failure(setup: Setup) -> StartFailure {
        match Self::launch(setup, false) {
            Ok(k) => panic!("kamailio started although it should not have; its log:\n{}", k.log_text()),
            Err(f) => f,
        }
    }

    fn launch(setup: Setup, expect_up: bool) -> Result<Kamailio, StartFailure> {
        let dir = scratch_dir(setup.config.trim_end_matches(".cfg"));
        let moddir = dir.join("modules");
        std::fs::create_dir_all(&moddir).unwrap();
        for m in setup.modules {
            std::os::unix::fs::symlink(module_so(m), moddir.join(format!("{m}.so"))).unwrap();
        }
        let db = dir.join("kamailio.db");
        // A fresh database of this thread's back end (db::run_on), unless the setup names one.
        let test_db = if let Some(shared) = &setup.db {
            Some(shared.clone())
        } else if setup.db_url.is_some() {
            None
        } else if let Some(from) = &setup.db_from {
            std::fs::copy(from, &db).expect("copy the database");
            Some(db::TestDb::sqlite_file(&db))
        } else {
            Some(db::TestDb::create(db::backend(), &db, setup.schemas, setup.sql))
        };
        let db_url = setup.db_url.clone().or_else(|| test_db.as_ref().map(db::TestDb::url));
        let sip_port = free_port();
        let http_port = loop {
            let p = free_port();
            if p != sip_port {
                break p;
            }
        };
        let ctl = dir.join("ctl.sock");
        let mut cfg = std::fs::read_to_string(repo().join("test-configs").join(setup.config)).unwrap();
        let mut vars = vec![
            ("SIP_PORT", sip_port.to_string()),
            ("HTTP_PORT", http_port.to_string()),
            ("MODDIR", moddir.display().to_string()),
            ("CTL", ctl.display().to_string()),
            ("DB_URL", db_url.clone().unwrap()),
            ("CONFIGS", repo().join("test-configs").display().to_string()),
        ];
        vars.extend(setup.vars.iter().map(|(k, v)| (*k, v.clone())));
        for (k, v) in &vars {
            cfg = cfg.replace(&format!("@{k}@"), v);
        }
        assert!(!cfg.contains("@SIP_PORT@"), "unfilled placeholder");
        let cfg_path = dir.join("kamailio.cfg");
        std::fs::write(&cfg_path, cfg).unwrap();

        let log = dir.join("kamailio.log");
        // Through KAMAILIO_WRAPPER, when set: on 5.6 in front of the binary here; the 6.0
        // wrapper reads it from the environment and puts it in front of the root's binary.
        let through = wrapper();
        let mut cmd = match through.split_first() {
            Some((first, rest)) if !is_6_0() => {
                let mut c = Command::new(first);
                c.args(rest).arg(KAMAILIO);
                c
            }
            _ => Command::new(KAMAILIO),
        };
        if let Some(root) = &setup.sysroot {
            assert!(is_6_0(), "only the 6.0 wrapper runs another root");
            cmd.env("KAMAILIO_ROOT", root);
        }
        cmd.arg("-f").arg(&cfg_path).args(["-DD", "-E"]).arg("-w").arg(&dir).arg("-Y").arg(&dir);
        for d in setup.defines {
            cmd.args(["-A", d]);
        }
        // The configs load the PostgreSQL and MySQL drivers on these defines.
        if db_url.as_deref().is_some_and(|u| u.starts_with("postgres")) {
            cmd.args(["-A", "WITH_POSTGRES"]);
        }
        if db_url.as_deref().is_some_and(|u| u.starts_with("mysql")) {
            cmd.args(["-A", "WITH_MYSQL"]);
        }
        // Its own process group, so that stopping it by PID also stops its workers.
        // One handle for both streams, so that they share the file offset.
        let logf = std::fs::File::create(&log).unwrap();
        cmd.process_group(0).stdin(Stdio::null()).stdout(logf.try_clone().unwrap()).stderr(logf);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {KAMAILIO}: {e}"));
        let mut k = Kamailio { child: Some(child), dir, sip_port, http_port, ctl, db, log, test_db };

        let deadline = Instant::now() + scaled(Duration::from_secs(if expect_up { 20 } else { 10 }));
        loop {
            if let Some(status) = k.child.as_mut().unwrap().try_wait().unwrap() {
                k.child = None;
                return Err(StartFailure { code: status.code(), log: k.log_text() });
            }
            if expect_up && k.ctl.exists() && k.rpc_ok(&["core.uptime"]).is_ok() && k.sip_answers() {
                return Ok(k);
            }
            if Instant::now() > deadline {
                if expect_up {
                    let log = k.log_text();
                    return Err(StartFailure { code: None, log: format!("(timed out)\n{log}") });
                }
                return Ok(k);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// True once a worker answers any SIP request.
    fn sip_answers(&self) -> bool {
        let req = sip_request("OPTIONS", "ping", &[], b"");
        self.send_udp(&req, scaled(Duration::from_millis(500))).is_some()
    }

    /// The server log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The main process's PID.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while the main process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// `kamcmd` against this server: Ok(stdout) or Err(stdout+stderr).
    pub fn rpc_ok(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("kamcmd")
            .arg("-s")
            .arg(format!("unix:{}", self.ctl.display()))
            .args(args)
            .output()
            .expect("run kamcmd");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // kamcmd exits 0 on an RPC fault too, printing "error: <code> - <message>".
        if out.status.success() && !text.starts_with("error:") {
            Ok(text)
        } else {
            Err(format!("{text}{}", String::from_utf8_lossy(&out.stderr)))
        }
    }

    /// `kamcmd`, panicking with the server log on failure.
    pub fn rpc(&self, args: &[&str]) -> String {
        self.rpc_ok(args).unwrap_or_else(|e| panic!("kamcmd {args:?} failed: {e}"))
    }

    /// Sends one datagram and returns the first reply, if one comes within `wait`.
    pub fn send_udp(&self, data: &[u8], wait: Duration) -> Option<String> {
        let s = UdpSocket::bind("127.0.0.1:0").ok()?;
        s.set_read_timeout(Some(scaled(wait))).ok()?;
        let req = String::from_utf8_lossy(data).replace("@LOCAL@", &s.local_addr().ok()?.to_string());
        s.send_to(req.as_bytes(), ("127.0.0.1", self.sip_port)).ok()?;
        let mut buf = vec![0u8; 65535];
        let n = s.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    /// Sends a request built by [`sip_request`] and returns the parsed reply.
    pub fn request(&self, method: &str, user: &str, headers: &[(&str, &str)], body: &[u8]) -> SipReply {
        let req = sip_request(method, user, headers, body);
        let raw = self
            .send_udp(&req, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("no reply to {method} sip:{user}@; log:\n{}", self.log_text()));
        SipReply::parse(&raw)
    }

    /// Sends a request, reads its reply, then answers the first request the server sends back
    /// to the same socket with 200 OK. Returns (reply, the server's request).
    pub fn request_and_serve(&self, method: &str, user: &str, headers: &[(&str, &str)]) -> (SipReply, String) {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(scaled(Duration::from_secs(5)))).unwrap();
        let local = s.local_addr().unwrap().to_string();
        let req = String::from_utf8_lossy(&sip_request(method, user, headers, b"")).replace("@LOCAL@", &local);
        s.send_to(req.as_bytes(), ("127.0.0.1", self.sip_port)).unwrap();
        let mut buf = vec![0u8; 65535];
        let mut reply = None;
        let mut incoming = None;
        while reply.is_none() || incoming.is_none() {
            let n = s.recv(&mut buf).unwrap_or_else(|e| panic!("waiting for SIP from the server: {e}; log:\n{}", self.log_text()));
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if text.starts_with("SIP/2.0 ") {
                reply = Some(SipReply::parse(&text));
            } else {
                let ok = answer_ok(&text);
                s.send_to(ok.as_bytes(), ("127.0.0.1", self.sip_port)).unwrap();
                incoming = Some(text);
            }
        }
        (reply.unwrap(), incoming.unwrap())
    }

    /// curl against this server's HTTP port: (status line, headers, body).
    pub fn http(&self, args: &[&str], path: &str) -> SipReply {
        let url = format!("http://127.0.0.1:{}{path}", self.http_port);
        let out = Command::new("curl")
            .args(["-s", "-i", "--max-time", &scaled(Duration::from_secs(10)).as_secs().to_string()])
            .args(args)
            .arg(&url)
            .output()
            .expect("run curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "curl {args:?} {url} failed: {text}; log:\n{}", self.log_text());
        // With authentication curl prints the challenge too: the answer is the last response.
        let last = text.match_indices("\r\n\r\nHTTP/1.").map(|(i, _)| i + 4).last().unwrap_or(0);
        SipReply::parse(&text[last..])
    }

    /// Runs SIPp with a scenario from test-configs/sipp against this server.
    pub fn sipp(&self, scenario: &str, args: &[&str]) -> Output {
        let port = free_port().to_string();
        let target = format!("127.0.0.1:{}", self.sip_port);
        let scen = repo().join("test-configs/sipp").join(scenario);
        let out = Command::new("sipp")
            .arg("-sf")
            .arg(&scen)
            .args(["-i", "127.0.0.1", "-p", &port, "-nostdin", "-timeout", &format!("{}s", scaled(Duration::from_secs(60)).as_secs()), "-timeout_error"])
            .arg("-trace_err")
            .arg("-error_file")
            .arg(self.dir.join("sipp-errors"))
            .args(args)
            .arg(&target)
            .current_dir(&self.dir)
            .output()
            .expect("run sipp");
        out
    }

    /// `watcher` SUBSCRIBEs to `event` of `presentity` with SIPp; returns the NOTIFY it got.
    pub fn subscribe(&self, event: &str, watcher: &str, presentity: &str, expires_header: &str) -> String {
        let trace = self.dir.join(format!("subscribe-{}.log", SEQ.fetch_add(1, Ordering::Relaxed)));
        let out = self.sipp(
            "subscribe.xml",
            &[
                "-key", "event", event, "-key", "watcher", watcher, "-key", "presentity", presentity,
                "-key", "expires_header", expires_header, "-m", "1",
                "-trace_msg", "-message_file", trace.to_str().unwrap(),
            ],
        );
        assert_sipp_ok(&out, self);
        let messages = std::fs::read_to_string(&trace).expect("sipp message trace");
        messages
            .split("----------------------------------------------- ")
            .find(|m| m.contains("NOTIFY sip:"))
            .unwrap_or_else(|| panic!("no NOTIFY in the trace:\n{messages}"))
            .to_string()
    }

    /// Runs SQL against this server's SQLite database and returns sqlite3's output.
    pub fn sql(&self, q: &str) -> String {
        match &self.test_db {
            Some(d) => d.sql(q),
            None => sqlite(&self.db, q),
        }
    }

    /// The database this server runs on, to start another server on it.
    pub fn database(&self) -> db::TestDb {
        self.test_db.clone().expect("a server started on a database URL only")
    }

    /// Stops the server by PID (its process group), waiting for it to exit.
    pub fn stop(&mut self) {
        self.stop_within(Duration::from_secs(10));
    }

    /// Sends SIGTERM to the server's process group and waits up to `wait` for the main process
    /// to exit. Returns its exit status when it exited by itself (a graceful stop ends with
    /// status 0), None when it had to be killed or had already been stopped. Whatever is left
    /// of the group is killed afterwards.
    pub fn stop_within(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        let pid = c.id() as i32;
        // SAFETY: signalling the process group we created for this server.
        unsafe { libc::kill(-pid, libc::SIGTERM) };
        let deadline = Instant::now() + scaled(wait);
        let mut status = c.try_wait().ok().flatten();
        while status.is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            status = c.try_wait().ok().flatten();
        }
        // SAFETY: as above; whatever is left of the group goes.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let _ = c.wait();
        status
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("==== kamailio log ({}) ====\n{}", self.log.display(), self.log_text());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub(crate) fn sqlite(db: &Path, sql: &str) -> String {
    let mut child = Command::new("sqlite3")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sqlite3");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(sql.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "sqlite3 failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The integer `name: value` line of a kamcmd structure reply.
pub fn rpc_field(reply: &str, name: &str) -> i64 {
    reply
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{name}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {reply:?}"))
}

/// The state and seconds left in a NOTIFY's Subscription-State.
pub fn subscription_state(notify: &str) -> (String, u32) {
    let line = notify.lines().find(|l| l.starts_with("Subscription-State:")).expect("Subscription-State header");
    let v = line["Subscription-State:".len()..].trim();
    let (state, params) = v.split_once(';').unwrap_or((v, ""));
    let secs = params.split(';').find_map(|p| p.strip_prefix("expires=")).and_then(|e| e.parse().ok()).unwrap_or(0);
    (state.to_string(), secs)
}

/// A 200 OK for a request the server sent us.
fn answer_ok(req: &str) -> String {
    let mut out = String::from("SIP/2.0 200 OK\r\n");
    for l in req.split("\r\n") {
        let name = l.split(':').next().unwrap_or_default().trim().to_ascii_lowercase();
        if ["via", "from", "to", "call-id", "cseq"].contains(&name.as_str()) {
            out.push_str(l);
            if name == "to" && !l.contains(";tag=") {
                out.push_str(";tag=krs-test");
            }
            out.push_str("\r\n");
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

static CALL: AtomicUsize = AtomicUsize::new(0);

/// A request to sip:<user>@127.0.0.1 from sip:tester@127.0.0.1. `@LOCAL@` is replaced by the
/// sending socket's address.
pub fn sip_request(method: &str, user: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let n = CALL.fetch_add(1, Ordering::Relaxed);
    let call_id = format!("{}-{n}@krs-test", std::process::id());
    let mut r = format!(
        "{method} sip:{user}@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP @LOCAL@;branch=z9hG4bK-krs-{n}-{}\r\n\
         From: <sip:tester@127.0.0.1>;tag=from-{n}\r\n\
         To: <sip:{user}@127.0.0.1>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 {method}\r\n\
         Max-Forwards: 70\r\n\
         Contact: <sip:tester@@LOCAL@>\r\n",
        std::process::id()
    );
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut out = r.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A SIP reply: status, reason, headers and body.
#[derive(Debug)]
pub struct SipReply {
    pub code: u32,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl SipReply {
    pub fn parse(raw: &str) -> SipReply {
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap_or_default();
        let mut parts = status.splitn(3, ' ');
        let _version = parts.next();
        let code = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
        let reason = parts.next().unwrap_or_default().to_string();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        SipReply { code, reason, headers, body: body.to_string() }
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Asserts that SIPp finished with every call successful; shows its output otherwise.
pub fn assert_sipp_ok(out: &Output, k: &Kamailio) {
    assert!(
        out.status.success(),
        "sipp failed ({:?})\nstdout:\n{}\nstderr:\n{}\nerrors:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(k.dir.join("sipp-errors")).unwrap_or_default()
    );
}

// ---- Background SIPp servers, message traces and JSON-RPC (used by the pua tests) ----

impl Kamailio {
    /// `kamcmd`, given up after `wait` (a command whose reply never comes must not hang a test).
    pub fn rpc_within(&self, args: &[&str], wait: Duration) -> Result<String, String> {
        let out = Command::new("timeout")
            .arg(format!("{}", scaled(wait).as_secs().max(1)))
            .arg("kamcmd")
            .arg("-s")
            .arg(format!("unix:{}", self.ctl.display()))
            .args(args)
            .output()
            .expect("run timeout kamcmd");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() && !text.starts_with("error:") {
            Ok(text)
        } else {
            Err(format!("{text}{} (exit {:?})", String::from_utf8_lossy(&out.stderr), out.status.code()))
        }
    }

    /// A JSON-RPC request over HTTP to `/RPC` on the HTTP port (jsonrpcs + xhttp), for commands
    /// that reply late (RPC delayed replies, which kamcmd's binrpc transport cannot carry).
    /// `params` are JSON values, already encoded (see [`json_str`]). Returns the response body,
    /// or Err when no HTTP response came within `wait`.
    pub fn jsonrpc(&self, method: &str, params: &[String], wait: Duration) -> Result<String, String> {
        jsonrpc_at(self.http_port, method, params, wait)
    }

    /// Waits up to `wait` for the main process to exit; true if it did.
    pub fn wait_exit(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + scaled(wait);
        while self.is_running() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        true
    }
}

/// [`Kamailio::jsonrpc`] against the server listening for HTTP on `http_port` (for threads
/// that must not hold the server's handle, e.g. while another thread stops it).
pub fn jsonrpc_at(http_port: u16, method: &str, params: &[String], wait: Duration) -> Result<String, String> {
    let n = CALL.fetch_add(1, Ordering::Relaxed);
    let req = format!(r#"{{"jsonrpc":"2.0","method":{},"params":[{}],"id":{n}}}"#, json_str(method), params.join(","));
    let url = format!("http://127.0.0.1:{http_port}/RPC");
    let out = Command::new("curl")
        .args(["-s", "--max-time", &format!("{}", scaled(wait).as_secs_f64()), "-H", "Content-Type: application/json", "--data-binary", &req])
        .arg(&url)
        .output()
        .expect("run curl");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("curl exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr)))
    }
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The value of `"name": value` in a flat JSON text (a string without its quotes, or a number).
pub fn json_field(text: &str, name: &str) -> Option<String> {
    let key = format!("\"{name}\"");
    let at = text.find(&key)? + key.len();
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start();
    if let Some(s) = rest.strip_prefix('"') {
        let mut v = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some(v),
                '\\' => v.push(chars.next()?),
                c => v.push(c),
            }
        }
        None
    } else {
        Some(rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.').collect())
    }
}

/// One SIP message from a SIPp `-trace_msg` file.
#[derive(Debug, Clone)]
pub struct SipMsg {
    /// True for what SIPp received, false for what it sent.
    pub received: bool,
    /// "PUBLISH sip:... SIP/2.0" or "SIP/2.0 200 OK".
    pub first_line: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl SipMsg {
    /// The request method ("" for a reply).
    pub fn method(&self) -> &str {
        if self.first_line.starts_with("SIP/2.0") {
            ""
        } else {
            self.first_line.split(' ').next().unwrap_or_default()
        }
    }

    /// The Request-URI ("" for a reply).
    pub fn ruri(&self) -> &str {
        if self.method().is_empty() {
            ""
        } else {
            self.first_line.split(' ').nth(1).unwrap_or_default()
        }
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The tag parameter of a From/To header value.
    pub fn tag(&self, name: &str) -> Option<String> {
        let v = self.header(name)?;
        v.split(';').find_map(|p| p.trim().strip_prefix("tag=")).map(|t| t.trim().to_string())
    }

    /// The CSeq number.
    pub fn cseq(&self) -> u32 {
        self.header("CSeq").and_then(|v| v.split_whitespace().next()).and_then(|n| n.parse().ok()).unwrap_or(0)
    }

    /// The whole message, for assertion messages.
    pub fn text(&self) -> String {
        let mut s = format!("{}\n", self.first_line);
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\n"));
        }
        s.push('\n');
        s.push_str(&self.body);
        s
    }
}

/// Parses a SIPp `-trace_msg` file into its messages.
pub fn parse_sipp_trace(text: &str) -> Vec<SipMsg> {
    let mut out = Vec::new();
    for chunk in text.split("----------------------------------------------- ").skip(1) {
        let mut lines = chunk.split('\n').map(|l| l.trim_end_matches('\r'));
        let _timestamp = lines.next();
        let Some(kind) = lines.next() else { continue };
        let received = kind.contains("received");
        // A blank line, then the message.
        let rest: Vec<&str> = lines.skip_while(|l| l.is_empty()).collect();
        let Some((first, after)) = rest.split_first() else { continue };
        let mut headers = Vec::new();
        let mut i = 0;
        while i < after.len() && !after[i].is_empty() {
            if let Some((k, v)) = after[i].split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
            i += 1;
        }
        let body = after.get(i + 1..).map(|b| b.join("\n")).unwrap_or_default().trim_end().to_string();
        out.push(SipMsg { received, first_line: first.to_string(), headers, body });
    }
    out
}

/// A SIPp scenario from test-configs/sipp running in the background as a UAS on its own
/// 127.0.0.1 port, tracing every message to a file; killed (by PID) when dropped.
pub struct SippServer {
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    pub trace: PathBuf,
}

impl SippServer {
    /// Starts `scenario` with extra SIPp arguments (e.g. `-set name value`) in a directory of
    /// its own; waits until it listens.
    pub fn start(scenario: &str, args: &[&str]) -> SippServer {
        let port = free_port();
        let dir = scratch_dir(&format!("sipp-{}", scenario.trim_end_matches(".xml")));
        let trace = dir.join("messages.log");
        let errors = dir.join("errors.log");
        let child = Command::new("sipp")
            .arg("-sf")
            .arg(repo().join("test-configs/sipp").join(scenario))
            .args(["-i", "127.0.0.1", "-bind_local", "-p", &port.to_string(), "-nostdin", "-trace_msg", "-message_file"])
            .arg(&trace)
            .args(["-trace_err", "-error_file"])
            .arg(&errors)
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sipp");
        let mut s = SippServer { child: Some(child), port, dir, trace };
        // It listens once the port cannot be bound any more.
        let deadline = Instant::now() + Duration::from_secs(5);
        while UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            if let Some(status) = s.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("sipp {scenario} exited at start-up ({status}): {}", std::fs::read_to_string(&errors).unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "sipp {scenario} did not start listening on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    /// Every message traced so far.
    pub fn messages(&self) -> Vec<SipMsg> {
        parse_sipp_trace(&std::fs::read_to_string(&self.trace).unwrap_or_default())
    }

    /// The requests of `method` this server received so far, retransmissions left out.
    pub fn requests(&self, method: &str) -> Vec<SipMsg> {
        let mut seen = std::collections::HashSet::new();
        self.messages()
            .into_iter()
            .filter(|m| m.received && m.method() == method)
            .filter(|m| seen.insert((m.header("Call-ID").map(String::from), m.header("CSeq").map(String::from), m.header("Via").map(String::from))))
            .collect()
    }

    /// Waits up to `wait` until at least `n` requests of `method` have arrived; returns them all.
    pub fn wait_requests(&self, method: &str, n: usize, wait: Duration) -> Vec<SipMsg> {
        let deadline = Instant::now() + scaled(wait);
        loop {
            let r = self.requests(method);
            if r.len() >= n || Instant::now() > deadline {
                return r;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits up to `wait` until SIPp has sent a reply to every request it received.
    pub fn wait_answered(&self, wait: Duration) {
        let deadline = Instant::now() + scaled(wait);
        loop {
            let m = self.messages();
            let received = m.iter().filter(|m| m.received && !m.method().is_empty()).count();
            let answered = m.iter().filter(|m| !m.received && m.method().is_empty()).count();
            if answered >= received || Instant::now() > deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The whole trace, for assertion messages.
    pub fn trace_text(&self) -> String {
        std::fs::read_to_string(&self.trace).unwrap_or_default()
    }
}

impl Drop for SippServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!("==== sipp trace ({}) ====\n{}", self.trace.display(), self.trace_text());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
