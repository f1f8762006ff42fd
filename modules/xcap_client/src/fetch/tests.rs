use std::io;
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use super::*;
use crate::test_http::{respond, respond_chunked, TestServer};

const DOC: &str =
    "<?xml version=\"1.0\"?><ruleset xmlns=\"urn:ietf:params:xml:ns:common-policy\"/>";

fn serve_doc(headers: &'static [&'static str]) -> TestServer {
    TestServer::start(move |_, stream| respond(stream, "200 OK", headers, DOC.as_bytes()))
}

fn get(url: &str, condition: Condition<'_>) -> Result<Fetched, FetchError> {
    Fetcher::new().fetch(url, condition, Timeouts::default())
}

fn etag_of(header: &'static str) -> Option<String> {
    let server =
        TestServer::start(move |_, stream| respond(stream, "200 OK", &[header], DOC.as_bytes()));
    match get(&server.url("/doc"), Condition::None).unwrap() {
        Fetched::Document { etag, .. } => etag,
        other => panic!("not a document: {other:?}"),
    }
}

#[test]
fn document_sent_in_chunks_arrives_whole() {
    let chunks: Vec<Vec<u8>> = (0..6u8).map(|i| vec![b'a' + i; 40_000]).collect();
    let expected: String = chunks
        .iter()
        .map(|c| String::from_utf8(c.clone()).unwrap())
        .collect();
    let server = TestServer::start(move |_, stream| {
        let slices: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        respond_chunked(stream, &["ETag: \"c1\""], &slices)
    });
    let fetched = get(&server.url("/doc"), Condition::None).unwrap();
    assert_eq!(
        fetched,
        Fetched::Document {
            body: expected,
            etag: Some("c1".into())
        }
    );
}

#[test]
fn request_is_a_plain_get_of_the_path() {
    let server = serve_doc(&[]);
    let url = server.url("/pres-rules/users/sip:alice@example.com/index");
    let fetched = get(&url, Condition::None).unwrap();
    assert_eq!(
        fetched,
        Fetched::Document {
            body: DOC.into(),
            etag: None
        }
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(
        requests[0].target,
        "/pres-rules/users/sip:alice@example.com/index"
    );
    assert_eq!(requests[0].header("If-Match"), None);
    assert_eq!(requests[0].header("If-None-Match"), None);
}

#[test]
fn quoted_etag_is_captured_bare() {
    assert_eq!(etag_of("ETag: \"xcap-42\""), Some("xcap-42".into()));
}

#[test]
fn weak_etag_is_captured_bare() {
    assert_eq!(etag_of("ETag: W/\"v7\""), Some("v7".into()));
}

#[test]
fn lowercase_etag_header_with_trailing_spaces() {
    assert_eq!(etag_of("etag: \"v8\"   "), Some("v8".into()));
    assert_eq!(etag_of("ETAG:\"v9\""), Some("v9".into()));
}

#[test]
fn unusable_etag_is_dropped() {
    assert_eq!(etag_of("ETag: \"a\"b\""), None);
    assert_eq!(etag_of("X-ETag-Info: \"v1\""), None);
}

#[test]
fn if_none_match_is_a_real_quoted_header_and_304_is_not_modified() {
    let server = TestServer::start(|request, stream| match request.header("If-None-Match") {
        Some("\"v1\"") => respond(stream, "304 Not Modified", &["ETag: \"v1\""], b""),
        _ => respond(stream, "200 OK", &["ETag: \"v1\""], DOC.as_bytes()),
    });
    let url = server.url("/doc");
    assert_eq!(
        get(&url, Condition::IfNoneMatch("v1")).unwrap(),
        Fetched::NotModified
    );
    let requests = server.requests();
    assert_eq!(requests[0].header("If-None-Match"), Some("\"v1\""));
    assert_eq!(requests[0].header("If-Match"), None);
}

#[test]
fn stored_tag_with_quotes_and_line_ending_is_sent_clean() {
    let server = TestServer::start(|_, stream| respond(stream, "304 Not Modified", &[], b""));
    assert_eq!(
        get(&server.url("/doc"), Condition::IfNoneMatch("\"v1\"\r\n")).unwrap(),
        Fetched::NotModified
    );
    assert_eq!(server.requests()[0].header("If-None-Match"), Some("\"v1\""));
}

#[test]
fn if_match_is_sent() {
    let server = TestServer::start(|request, stream| match request.header("If-Match") {
        Some("\"v2\"") => respond(stream, "200 OK", &["ETag: \"v2\""], DOC.as_bytes()),
        _ => respond(stream, "412 Precondition Failed", &[], b""),
    });
    let url = server.url("/doc");
    let fetched = get(&url, Condition::IfMatch("v2")).unwrap();
    assert_eq!(
        fetched,
        Fetched::Document {
            body: DOC.into(),
            etag: Some("v2".into())
        }
    );
    assert_eq!(server.requests()[0].header("If-None-Match"), None);
    match get(&url, Condition::IfMatch("other")) {
        Err(FetchError::Status { code: 412, .. }) => {}
        other => panic!("expected 412, got {other:?}"),
    }
}

#[test]
fn tag_that_cannot_be_quoted_is_refused_before_sending() {
    let server = serve_doc(&[]);
    let url = server.url("/doc");
    for raw in ["a\"b", "a\r\nX-Injected: 1", ""] {
        match get(&url, Condition::IfNoneMatch(raw)) {
            Err(FetchError::Etag { etag, .. }) => assert_eq!(etag, raw),
            other => panic!("{raw:?}: {other:?}"),
        }
    }
    assert!(server.requests().is_empty());
}

#[test]
fn not_found() {
    let server =
        TestServer::start(|_, stream| respond(stream, "404 Not Found", &[], b"no such document"));
    assert_eq!(
        get(&server.url("/doc"), Condition::None).unwrap(),
        Fetched::NotFound
    );
}

#[test]
fn server_error_is_a_status_error() {
    let server =
        TestServer::start(|_, stream| respond(stream, "500 Internal Server Error", &[], b"oops"));
    let url = server.url("/doc");
    let error = get(&url, Condition::None).unwrap_err();
    assert!(
        matches!(error, FetchError::Status { code: 500, .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("XCAP GET {url}: unexpected HTTP status 500")
    );
}

#[test]
fn redirects_are_not_followed() {
    let server = TestServer::start(|_, stream| {
        respond(
            stream,
            "301 Moved Permanently",
            &["Location: /elsewhere"],
            b"",
        )
    });
    let error = get(&server.url("/doc"), Condition::None).unwrap_err();
    assert!(
        matches!(error, FetchError::Status { code: 301, .. }),
        "{error:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn silent_server_fails_within_the_total_timeout() {
    let server = TestServer::start(|_, _| {
        thread::sleep(Duration::from_secs(4));
        Err(io::ErrorKind::TimedOut.into())
    });
    let timeouts = Timeouts {
        connect: Duration::from_secs(1),
        total: Duration::from_secs(1),
    };
    let url = server.url("/doc");
    let started = Instant::now();
    let error = Fetcher::new()
        .fetch(&url, Condition::None, timeouts)
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        elapsed < timeouts.total + Duration::from_secs(2),
        "took {elapsed:?}"
    );
    match &error {
        FetchError::Transport { error, .. } => assert!(error.is_operation_timedout(), "{error:?}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(
        error
            .to_string()
            .starts_with(&format!("XCAP GET {url} failed: Timeout was reached")),
        "{error}"
    );
}

#[test]
fn closed_port_fails_fast() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/doc");
    let started = Instant::now();
    let error = get(&url, Condition::None).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    match &error {
        FetchError::Transport { error, .. } => assert!(error.is_couldnt_connect(), "{error:?}"),
        other => panic!("expected a connection failure, got {other:?}"),
    }
    assert!(
        error
            .to_string()
            .starts_with(&format!("XCAP GET {url} failed: ")),
        "{error}"
    );
}

#[test]
fn announced_oversized_body_is_refused() {
    let server =
        TestServer::start(|_, stream| respond(stream, "200 OK", &[], &vec![b'x'; MAX_BODY + 1]));
    let url = server.url("/doc");
    let error = get(&url, Condition::None).unwrap_err();
    assert!(matches!(error, FetchError::TooLarge { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("XCAP GET {url}: document larger than 1048576 bytes")
    );
}

#[test]
fn streamed_oversized_body_is_refused() {
    let server = TestServer::start(|_, stream| {
        let chunk = vec![b'x'; 300_000];
        respond_chunked(stream, &[], &[&chunk, &chunk, &chunk, &chunk])
    });
    let error = get(&server.url("/doc"), Condition::None).unwrap_err();
    assert!(matches!(error, FetchError::TooLarge { .. }), "{error:?}");
}

#[test]
fn body_of_exactly_the_limit_is_accepted() {
    let server =
        TestServer::start(|_, stream| respond(stream, "200 OK", &[], &vec![b'x'; MAX_BODY]));
    match get(&server.url("/doc"), Condition::None).unwrap() {
        Fetched::Document { body, .. } => assert_eq!(body.len(), MAX_BODY),
        other => panic!("{other:?}"),
    }
}

#[test]
fn body_that_is_not_utf8_is_refused() {
    let server = TestServer::start(|_, stream| respond(stream, "200 OK", &[], b"<a>\xff</a>"));
    let error = get(&server.url("/doc"), Condition::None).unwrap_err();
    assert!(matches!(error, FetchError::NotUtf8 { .. }), "{error:?}");
}

#[test]
fn one_fetcher_reuses_its_connection() {
    let server = TestServer::start(|request, stream| {
        let body = format!("<doc path=\"{}\"/>", request.target);
        respond(stream, "200 OK", &["ETag: \"r\""], body.as_bytes())
    });
    let mut fetcher = Fetcher::new();
    for path in ["/first", "/second"] {
        let fetched = fetcher
            .fetch(&server.url(path), Condition::None, Timeouts::default())
            .unwrap();
        let expected = Fetched::Document {
            body: format!("<doc path=\"{path}\"/>"),
            etag: Some("r".into()),
        };
        assert_eq!(fetched, expected);
    }
    assert_eq!(server.requests().len(), 2);
    assert_eq!(server.connections(), 1);
}

#[test]
fn condition_does_not_leak_into_the_next_fetch() {
    let server = TestServer::start(|request, stream| match request.header("If-None-Match") {
        Some(_) => respond(stream, "304 Not Modified", &[], b""),
        None => respond(stream, "200 OK", &[], DOC.as_bytes()),
    });
    let mut fetcher = Fetcher::new();
    let url = server.url("/doc");
    assert_eq!(
        fetcher
            .fetch(&url, Condition::IfNoneMatch("v1"), Timeouts::default())
            .unwrap(),
        Fetched::NotModified
    );
    let second = fetcher
        .fetch(&url, Condition::None, Timeouts::default())
        .unwrap();
    assert!(matches!(second, Fetched::Document { .. }), "{second:?}");
}

#[test]
fn only_http_and_https_are_fetched() {
    for url in [
        "ftp://127.0.0.1/doc",
        "file:///etc/passwd",
        "127.0.0.1/doc",
        "",
    ] {
        let error = get(url, Condition::None).unwrap_err();
        assert!(
            matches!(error, FetchError::Scheme { .. }),
            "{url:?}: {error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("XCAP GET {url}: only http and https are supported")
        );
    }
}

#[test]
fn libcurl_can_do_https() {
    assert!(curl::Version::get().feature_ssl());
}

#[test]
fn default_timeouts_are_short() {
    let timeouts = Timeouts::default();
    assert_eq!(timeouts.connect, Duration::from_secs(2));
    assert_eq!(timeouts.total, Duration::from_secs(5));
}

#[test]
fn header_lines_are_read_case_insensitively_and_reset_per_response() {
    let mut etag = None;
    read_header(b"HTTP/1.1 100 Continue\r\n", &mut etag);
    read_header(b"eTaG: W/\"a\" \r\n", &mut etag);
    assert_eq!(etag.as_deref(), Some("a"));
    read_header(b"HTTP/1.1 200 OK\r\n", &mut etag);
    assert_eq!(etag, None);
    read_header(b"Content-Type: application/xml\r\n", &mut etag);
    read_header(b"\xff\xfe: x\r\n", &mut etag);
    read_header(b"ETag\r\n", &mut etag);
    assert_eq!(etag, None);
}
