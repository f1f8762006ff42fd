//! xcap_client end to end: a Kamailio XCAP server holds pres-rules; a second Kamailio runs
//! presence and the stock presence_xml (integrated_xcap_server=0), which gets the rules
//! through our xcap_client's bind_xcap API.
//!
//! The tests that mirror documents into the `xcap` table run on SQLite, PostgreSQL and MariaDB
//! (both servers on the back end of the test); the others on SQLite.

mod harness;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use harness::{subscription_state, Kamailio, Setup};

const RULES_DOC: &str = "/xcap-root/pres-rules/users/sip:alice@127.0.0.1/index";

fn rules(action: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
  <cr:rule id="bob">
    <cr:conditions><cr:identity><cr:one id="sip:bob@127.0.0.1"/></cr:identity></cr:conditions>
    <cr:actions><sub-handling>{action}</sub-handling></cr:actions>
    <cr:transformations/>
  </cr:rule>
</cr:ruleset>
"#
    )
}

/// The XCAP server: the stock xcap_server in its own Kamailio.
fn xcap_server() -> Kamailio {
    let mut s = Setup::new("xcap.cfg", &[]);
    s.defines = &["STOCK_XCAP"];
    s.schemas = &["presence"];
    Kamailio::start(s)
}

fn put_rules(server: &Kamailio, action: &str) {
    let r = server.http(
        &["-X", "PUT", "-H", "Content-Type: application/auth-policy+xml", "--data-binary", &rules(action)],
        RULES_DOC,
    );
    assert!(r.code == 200 || r.code == 201, "PUT pres-rules: {r:?}");
}

/// presence + presence_xml + xcap_client, pointed at `xcap_server` ("host/root:port").
fn presence(xcap_server: String, query_period: u32, defines: &'static [&'static str], modules: &'static [&'static str]) -> Kamailio {
    let mut s = Setup::new("presence-xcap-client.cfg", modules);
    s.vars.push(("XCAP_SERVER", xcap_server.clone()));
    s.vars.push(("QUERY_PERIOD", query_period.to_string()));
    s.vars.push(("XCAP_ROOT_URL", xcap_server));
    s.defines = defines;
    s.schemas = &["presence", "rls"];
    Kamailio::start(s)
}

fn ours(server: &Kamailio, query_period: u32) -> Kamailio {
    presence(format!("127.0.0.1/xcap-root:{}", server.http_port), query_period, &[], &["xcap_client"])
}

fn doc_url(server: &Kamailio) -> String {
    format!("http://127.0.0.1:{}{RULES_DOC}", server.http_port)
}

/// The watcher status presence stored for bob (1 active, 2 pending, 3 terminated) and its reason.
fn bob_status(k: &Kamailio) -> String {
    k.sql("SELECT status, reason FROM watchers WHERE watcher_username='bob';").trim().to_string()
}

/// The document mirrored in the client's table, as hex (the column is binary).
fn mirrored_doc(k: &Kamailio) -> String {
    k.sql(&format!("SELECT {} FROM xcap;", k.database().hex("doc"))).trim().to_string()
}

/// The upper-case hex of a text, as [`harness::db::TestDb::hex`] shows a binary column.
fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02X}")).collect()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + harness::scaled(Duration::from_secs(10));
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

on_every_backend!(pres_rules_on_the_xcap_server_authorize_a_watcher);

fn pres_rules_on_the_xcap_server_authorize_a_watcher() {
    let server = xcap_server();
    put_rules(&server, "allow");
    let k = ours(&server, 100);

    let notify = k.subscribe("presence", "bob", "alice", "Expires: 300");
    println!("NOTIFY to bob:\n{notify}");
    assert_eq!(subscription_state(&notify).0, "active");
    // The document is mirrored in the client's xcap table as the stock schema expects.
    let row = k.sql("SELECT username, domain, doc_type, source, port, doc_uri, etag FROM xcap;");
    let server_etag = server.sql("SELECT etag FROM xcap;").trim().to_string();
    assert_eq!(
        row.trim(),
        format!("alice|127.0.0.1|2|1|{}|{}|{server_etag}", server.http_port, doc_url(&server)),
        "the stored ETag has no quotes or line ends"
    );
    // Nobody else is authorized by these rules.
    let notify = k.subscribe("presence", "carol", "alice", "Expires: 300");
    assert_ne!(subscription_state(&notify).0, "active");
}

#[test]
fn without_rules_on_the_server_the_watcher_waits() {
    let server = xcap_server();
    let k = ours(&server, 100);
    let notify = k.subscribe("presence", "bob", "alice", "Expires: 300");
    assert_eq!(subscription_state(&notify).0, "pending");
    assert_eq!(k.sql("SELECT COUNT(*) FROM xcap;").trim(), "0");
}

on_every_backend!(refresh_through_kamcmd_applies_a_changed_document);

fn refresh_through_kamcmd_applies_a_changed_document() {
    let server = xcap_server();
    put_rules(&server, "allow");
    let mut k = ours(&server, 1000);
    assert_eq!(subscription_state(&k.subscribe("presence", "bob", "alice", "Expires: 300")).0, "active");
    assert!(bob_status(&k).starts_with('1'), "{}", bob_status(&k));

    put_rules(&server, "block");
    let url = doc_url(&server);
    let port = server.http_port.to_string();
    assert_eq!(k.rpc(&["xcap_client.refreshXcapDoc", &url, &port]).trim(), "updated");
    println!("kamcmd xcap_client.refreshXcapDoc {url} {port} -> updated; bob: {}", bob_status(&k));
    // presence_xml's callback re-evaluated bob: the rules now block him.
    assert_eq!(bob_status(&k), "3|rejected");
    assert_eq!(k.sql("SELECT etag FROM xcap;").trim(), server.sql("SELECT etag FROM xcap;").trim());
    assert!(mirrored_doc(&k).contains(&hex(">block<")), "{}", mirrored_doc(&k));
    // Asked again: the server answers 304 and nothing changes.
    assert_eq!(k.rpc(&["xcap_client.refreshXcapDoc", &url, &port]).trim(), "unchanged");
    assert!(k.is_running());
}

on_every_backend!(the_periodic_query_applies_a_changed_document_and_a_304_changes_nothing);

fn the_periodic_query_applies_a_changed_document_and_a_304_changes_nothing() {
    let server = xcap_server();
    put_rules(&server, "allow");
    let k = ours(&server, 1);
    assert_eq!(subscription_state(&k.subscribe("presence", "bob", "alice", "Expires: 300")).0, "active");
    let first = k.sql("SELECT etag FROM xcap;").trim().to_string();
    // A few periods with nothing new: no change is applied.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(k.sql("SELECT etag FROM xcap;").trim(), first);
    assert!(!k.log_text().contains("changed;"), "a 304 was taken for a change:\n{}", k.log_text());

    put_rules(&server, "block");
    wait_for("the timer to apply the new rules", || bob_status(&k) == "3|rejected");
    assert_ne!(k.sql("SELECT etag FROM xcap;").trim(), first);
}

on_every_backend!(a_user_differing_in_case_is_another_users_document);

/// A document URL names its user exactly: refreshing `sip:Alice@`'s URL, which the server (our
/// xcap_server, which finds documents by their exact URI) does not have, leaves `sip:alice@`'s
/// mirrored copy alone, also on MySQL/MariaDB, which compare strings without regard to case.
fn a_user_differing_in_case_is_another_users_document() {
    let server = harness::xcap::ours(&[]);
    put_rules(&server, "allow");
    let k = ours(&server, 1000);
    assert_eq!(subscription_state(&k.subscribe("presence", "bob", "alice", "Expires: 300")).0, "active");
    let mirrored = k.sql("SELECT doc_uri, etag FROM xcap;");
    assert!(mirrored.starts_with(&doc_url(&server)), "{mirrored}");
    let other = doc_url(&server).replace("sip:alice@", "sip:Alice@");
    assert_eq!(k.rpc(&["xcap_client.refreshXcapDoc", &other, &server.http_port.to_string()]).trim(), "gone");
    assert_eq!(k.sql("SELECT doc_uri, etag FROM xcap;"), mirrored);
}

/// A server that accepts connections and never answers.
fn hanging_server() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[test]
fn a_dead_or_hanging_server_gives_a_clear_error_and_the_worker_goes_on() {
    // Nothing listens on this port.
    let closed = harness::free_port();
    let k = presence(format!("127.0.0.1/xcap-root:{closed}"), 100, &[], &["xcap_client"]);
    assert_eq!(subscription_state(&k.subscribe("presence", "bob", "alice", "Expires: 300")).0, "pending");
    assert!(k.log_text().contains(&format!("127.0.0.1:{closed}")), "no error naming the server:\n{}", k.log_text());
    drop(k);

    // Accepts and never answers: the fetch gives up after fetch_timeout (5 s by default).
    let (listener, port) = hanging_server();
    let k = presence(format!("127.0.0.1/xcap-root:{port}"), 100, &[], &["xcap_client"]);
    let started = Instant::now();
    let notify = k.subscribe("presence", "bob", "alice", "Expires: 300");
    let took = started.elapsed();
    assert_eq!(subscription_state(&notify).0, "pending");
    assert!(took < Duration::from_secs(9), "the SUBSCRIBE waited {took:?} for a hung XCAP server");
    let log = k.log_text();
    assert!(log.contains("getNewDoc pres-rules for alice@127.0.0.1"), "no error line:\n{log}");
    // Both workers still serve.
    for _ in 0..4 {
        assert_eq!(k.request("OPTIONS", "anyone", &[], b"").code, 200);
    }
    drop(listener);
}

#[test]
fn rls_binds_the_api() {
    let server = xcap_server();
    let k = presence(format!("127.0.0.1/xcap-root:{}", server.http_port), 100, &["WITH_RLS"], &["xcap_client"]);
    let log = k.log_text();
    assert!(!log.contains("ERROR: rls"), "{log}");
    assert_eq!(k.request("OPTIONS", "anyone", &[], b"").code, 200);
}

/// Differential: the same fetch through the stock xcap_client fails (its curl header
/// callback aborts every transfer), so the watcher is never authorized. Deliberate difference:
/// ours fetches the document.
#[test]
fn the_stock_module_fails_the_same_fetch() {
    let server = xcap_server();
    put_rules(&server, "allow");
    let stock = presence(format!("127.0.0.1/xcap-root:{}", server.http_port), 100, &["STOCK_XCAP_CLIENT"], &[]);
    assert_eq!(subscription_state(&stock.subscribe("presence", "bob", "alice", "Expires: 300")).0, "pending");
    assert_eq!(stock.sql("SELECT COUNT(*) FROM xcap;").trim(), "0");
    let ours = ours(&server, 100);
    assert_eq!(subscription_state(&ours.subscribe("presence", "bob", "alice", "Expires: 300")).0, "active");
}

/// A small HTTPS server (Python's ssl) holding alice's pres-rules; killed on drop. It also
/// stops by itself after two minutes.
struct HttpsServer {
    child: std::process::Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl HttpsServer {
    fn start(rules: &str) -> HttpsServer {
        let dir = harness::scratch_dir("https");
        let run = |args: &[&str]| {
            let out = std::process::Command::new("openssl").args(args).current_dir(&dir).output().unwrap();
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        run(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "1",
              "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]);
        std::fs::write(dir.join("rules.xml"), rules).unwrap();
        std::fs::write(
            dir.join("server.py"),
            r#"import http.server, signal, ssl, sys
signal.alarm(120)
doc = open("rules.xml", "rb").read()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/xcap-root/pres-rules/users/sip:alice@127.0.0.1/index":
            self.send_response(200)
            self.send_header("Content-Type", "application/auth-policy+xml")
            self.send_header("ETag", '"v1"')
            self.send_header("Content-Length", str(len(doc)))
            self.end_headers()
            self.wfile.write(doc)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("cert.pem", "key.pem")
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#,
        )
        .unwrap();
        let port = harness::free_port();
        let child = std::process::Command::new("python3").arg("server.py").arg(port.to_string()).current_dir(&dir).spawn().unwrap();
        // Wait until it accepts connections.
        let deadline = Instant::now() + harness::scaled(Duration::from_secs(10));
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the HTTPS server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        HttpsServer { child, port, dir }
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn fetches_over_https_verifying_the_server_certificate() {
    let tls = HttpsServer::start(&rules("allow"));
    let xcap_server = format!("https://127.0.0.1/xcap-root:{}", tls.port);
    let setup = |ca: Option<String>| {
        let mut s = Setup::new("presence-xcap-client.cfg", &["xcap_client"]);
        s.vars.push(("XCAP_SERVER", xcap_server.clone()));
        s.vars.push(("XCAP_ROOT_URL", xcap_server.clone()));
        s.vars.push(("QUERY_PERIOD", "100".into()));
        s.schemas = &["presence"];
        if let Some(ca) = ca {
            s.vars.push(("TLS_CA_FILE", ca));
            s.defines = &["WITH_TLS_CA"];
        }
        Kamailio::start(s)
    };
    // Trusting the server's certificate: the rules arrive over TLS.
    let k = setup(Some(tls.dir.join("cert.pem").display().to_string()));
    assert_eq!(subscription_state(&k.subscribe("presence", "bob", "alice", "Expires: 300")).0, "active");
    let row = k.sql("SELECT doc_uri, etag FROM xcap;");
    assert_eq!(row.trim(), format!("https://127.0.0.1:{}{RULES_DOC}|v1", tls.port));
    drop(k);

    // With only the system's CAs the self-signed certificate is refused: no rules, pending.
    let k = setup(None);
    assert_eq!(subscription_state(&k.subscribe("presence", "bob", "alice", "Expires: 300")).0, "pending");
    assert!(k.log_text().contains("getNewDoc pres-rules for alice@127.0.0.1"), "{}", k.log_text());
    assert_eq!(k.sql("SELECT COUNT(*) FROM xcap;").trim(), "0");
}

/// How the fake XCAP server of the back-off tests treats a connection.
const CLOSE: u8 = 0;
const ANSWER_304: u8 = 1;

/// An XCAP server that either accepts and closes every connection at once (no answer) or
/// answers every request with 304 and closes; it counts both. Stops when dropped.
struct FakeServer {
    port: u16,
    mode: std::sync::Arc<std::sync::atomic::AtomicU8>,
    closed: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    answered: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FakeServer {
    fn start() -> FakeServer {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
        use std::sync::Arc;
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let s = FakeServer {
            port,
            mode: Arc::new(AtomicU8::new(CLOSE)),
            closed: Arc::new(AtomicUsize::new(0)),
            answered: Arc::new(AtomicUsize::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (mode, closed, answered, stop) = (s.mode.clone(), s.closed.clone(), s.answered.clone(), s.stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Ok((mut c, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                if mode.load(Ordering::Relaxed) == CLOSE {
                    closed.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                c.set_nonblocking(false).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match c.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                answered.fetch_add(1, Ordering::Relaxed);
                let _ = c.write_all(b"HTTP/1.1 304 Not Modified\r\nETag: \"e1\"\r\nConnection: close\r\n\r\n");
            }
        });
        s
    }

    fn closed(&self) -> usize {
        self.closed.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn answered(&self) -> usize {
        self.answered.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// `docs` mirrored rows of pres-rules documents on `http://127.0.0.1:<port>`.
fn mirrored_rows(port: u16, docs: usize) -> String {
    (0..docs)
        .map(|i| {
            format!(
                "INSERT INTO xcap (username, domain, doc, doc_type, etag, source, doc_uri, port) VALUES \
                 ('u{i}', '127.0.0.1', '<ruleset/>', 2, 'e1', 1, \
                 'http://127.0.0.1:{port}/xcap-root/pres-rules/users/sip:u{i}@127.0.0.1/index', {port});\n"
            )
        })
        .collect()
}

/// Our client refreshing `docs` documents of `http://127.0.0.1:<port>` every second, backing
/// off for `base`, then up to `max` seconds.
fn refreshing(port: u16, docs: usize, base: u32, max: u32) -> Kamailio {
    let rows: &'static str = Box::leak(mirrored_rows(port, docs).into_boxed_str());
    let mut s = Setup::new("presence-xcap-client.cfg", &["xcap_client"]);
    s.vars.push(("XCAP_SERVER", format!("127.0.0.1/xcap-root:{port}")));
    s.vars.push(("XCAP_ROOT_URL", format!("127.0.0.1/xcap-root:{port}")));
    s.vars.push(("QUERY_PERIOD", "1".into()));
    s.vars.push(("BACKOFF_BASE", base.to_string()));
    s.vars.push(("BACKOFF_MAX", max.to_string()));
    s.defines = &["WITH_BACKOFF"];
    s.schemas = &["presence"];
    s.sql = rows;
    Kamailio::start(s)
}

/// A server that gives no answer is asked once per back-off period, not once per document and
/// pass; its documents are skipped and stay; its first answer ends the back-off. The refresh
/// runs in a process of its own.
#[test]
fn a_server_giving_no_answer_is_backed_off_and_its_answer_resets_that() {
    const DOCS: usize = 20;
    let server = FakeServer::start();
    let k = refreshing(server.port, DOCS, 2, 4);
    assert!(k.rpc(&["core.psx"]).contains("XCAP_CLIENT REFRESH"), "{}", k.rpc(&["core.psx"]));

    // Refresh passes every second for 9 s, 20 documents each: without back-off about 180
    // connections; with it, attempts at about 1, 3, 7 s (periods 2, 4, 4 s).
    std::thread::sleep(Duration::from_secs(9));
    let attempts = server.closed();
    println!("connections in 9 s of refresh passes over {DOCS} documents: {attempts}");
    assert!((2..=5).contains(&attempts), "{attempts} connections:\n{}", k.log_text());
    let log = k.log_text();
    let host = format!("http://127.0.0.1:{}", server.port);
    assert!(log.contains(&format!("document(s) of {host} skipped")), "{log}");
    assert!(log.contains(&format!("XCAP server {host} did not answer")), "{log}");
    assert_eq!(k.sql("SELECT COUNT(*) FROM xcap;").trim(), DOCS.to_string(), "the stored copies stay");

    // While backed off, the RPC answers at once with the reason.
    let url = format!("{host}/xcap-root/pres-rules/users/sip:u0@127.0.0.1/index");
    let started = Instant::now();
    let err = k.rpc_ok(&["xcap_client.refreshXcapDoc", &url, &server.port.to_string()]).unwrap_err();
    println!("refreshXcapDoc while backed off ({:?}): {err}", started.elapsed());
    assert!(err.contains("503") && err.contains("not answering"), "{err}");

    // The server answers again: at its next attempt the back-off ends and every document is
    // asked again (304 each).
    server.mode.store(ANSWER_304, std::sync::atomic::Ordering::Relaxed);
    wait_for_within("every document to be asked again", Duration::from_secs(12), || server.answered() >= DOCS);
    assert!(k.sql("SELECT COUNT(*) FROM xcap;").trim() == DOCS.to_string());
}

fn wait_for_within(what: &str, wait: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + harness::scaled(wait);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A listener whose accept queue is full, so that the kernel drops further SYNs: connecting to
/// it times out, as to a black-holed host.
fn full_backlog_listener() -> (std::os::fd::OwnedFd, u16, Vec<std::net::TcpStream>) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a socket this function owns.
    let (fd, port) = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(libc::bind(fd, &addr as *const _ as *const libc::sockaddr, len), 0);
        assert_eq!(libc::listen(fd, 0), 0);
        let mut len = len;
        assert_eq!(libc::getsockname(fd, &mut addr as *mut _ as *mut libc::sockaddr, &mut len), 0);
        (std::os::fd::OwnedFd::from_raw_fd(fd), u16::from_be(addr.sin_port))
    };
    let fillers = (0..3)
        .filter_map(|_| std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(300)).ok())
        .collect();
    (fd, port, fillers)
}

/// `refreshXcapDoc` for a server that does not accept connections: a 503 within the connect
/// timeout (refused: at once; connect timing out: `connect_timeout`, 2 s by default).
#[test]
fn refresh_rpc_to_a_dead_server_fails_within_the_connect_timeout() {
    let (_listener, blackhole, _fillers) = full_backlog_listener();
    let closed = harness::free_port();
    let k = refreshing(closed, 0, 5, 300);
    for (port, what, bound) in [(closed, "refused", Duration::from_secs(1)), (blackhole, "timing out", Duration::from_secs(4))] {
        let url = format!("http://127.0.0.1:{port}/xcap-root/pres-rules/users/sip:alice@127.0.0.1/index");
        let started = Instant::now();
        let err = k.rpc_ok(&["xcap_client.refreshXcapDoc", &url, &port.to_string()]).unwrap_err();
        let took = started.elapsed();
        println!("refreshXcapDoc, connection {what}, after {took:?}: {err}");
        assert!(err.contains("503") && err.contains("XCAP server not answering"), "{err}");
        assert!(took < bound, "{what}: {took:?}");
        // Asked again at once: backed off, answered without trying.
        let started = Instant::now();
        let err = k.rpc_ok(&["xcap_client.refreshXcapDoc", &url, &port.to_string()]).unwrap_err();
        assert!(err.contains("503") && err.contains("next attempt in"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
