//! Generation of fuzz inputs for xcap_client's handling of HTTP answers: interim and final
//! header blocks with every shape of ETag (quoted, weak, bare, empty, repeated, folded, not
//! UTF-8), redirects, wrong lengths, XCAP documents and bodies that are not UTF-8 or reach the
//! size limit, transfers that fail or are cut short, and the stored row a refresh compares
//! with; then, some of the time, mutated byte by byte. Everything follows from one 64-bit seed
//! and the input's index.

use fuzzing::{mutate_bytes, Rng};
use xcap_client::fetch::MAX_BODY;
use xcap_client::refresh::StoredDoc;

/// One fuzz case: an answer as libcurl hands it over, and the row it refreshes.
#[derive(Debug, Clone)]
pub struct Input {
    pub url: String,
    /// Header lines of every response, interim ones first, each with its line ending.
    pub head: Vec<u8>,
    pub body: Vec<u8>,
    /// Sizes of the body chunks as delivered (the last one takes the rest).
    pub chunks: Vec<usize>,
    /// A libcurl error code when the transfer failed (cut short, timed out, too large).
    pub transfer_error: Option<u32>,
    /// The final status, or a libcurl error when it cannot be read.
    pub status: Result<u32, u32>,
    pub stored: Option<StoredDoc>,
    /// An entity tag as given for a condition (stored, or by a caller).
    pub raw_etag: String,
}

const ETAGS: [&str; 22] = [
    "\"xcap-1234:5\"",
    "\"abc\"",
    "W/\"abc\"",
    "w/\"abc\"",
    "abc",
    "\"\"",
    "",
    "  \"spaced\"  ",
    "\"a b\"",
    "\"a\"b\"",
    "\"ä1\"",
    "\"a",
    "a\"",
    "\"\u{7f}\"",
    "\"\u{85}\"",
    "W/",
    "W/abc",
    "\"W/\"x\"\"",
    "\"*\"",
    "*",
    "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"",
    "\"a\tb\"",
];

const DOCS: [&str; 6] = [
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<cr:ruleset xmlns:cr=\"urn:ietf:params:xml:ns:common-policy\"><cr:rule id=\"a\"/></cr:ruleset>",
    "<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"><list name=\"friends\"><entry uri=\"sip:bob@example.com\"/></list></resource-lists>",
    "<ruleset/>",
    "",
    "<entry uri=\"sip:é@example.com\"/>",
    "\u{FEFF}<a/>",
];

const STATUSES: [(u32, &str); 24] = [
    (200, "OK"),
    (200, "OK"),
    (200, "OK"),
    (200, "OK"),
    (200, "OK"),
    (200, "OK"),
    (200, "OK"),
    (200, "OK"),
    (200, "OK"),
    (200, "OK"),
    (200, "OK"),
    (304, "Not Modified"),
    (404, "Not Found"),
    (301, "Moved Permanently"),
    (302, "Found"),
    (307, "Temporary Redirect"),
    (401, "Unauthorized"),
    (409, "Conflict"),
    (412, "Precondition Failed"),
    (500, "Internal Server Error"),
    (503, "Service Unavailable"),
    (204, "No Content"),
    (206, "Partial Content"),
    (0, ""),
];

fn header_block(rng: &mut Rng, status: u32, reason: &str, body_len: usize) -> String {
    let version = rng.pick(&["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2"]);
    let mut out = format!("{version} {status} {reason}\r\n");
    let eol = |rng: &mut Rng| rng.pick(&["\r\n", "\r\n", "\r\n", "\n"]);
    for _ in 0..rng.below(7) {
        let line = match rng.below(12) {
            0..=3 => {
                let name = rng.pick(&["ETag", "ETag", "etag", "ETAG", "ETag ", " ETag", "E-Tag", "X-ETag"]);
                let sep = rng.pick(&[": ", ":", ":  ", " : "]);
                format!("{name}{sep}{}", rng.pick(&ETAGS))
            }
            4 => format!("Content-Length: {}", if rng.chance(80) { body_len } else { rng.below(100) }),
            5 => "Content-Type: application/xcap-el+xml; charset=utf-8".to_string(),
            6 => "Transfer-Encoding: chunked".to_string(),
            7 => format!("Location: {}", rng.pick(&["http://other/x", "/xcap-root/x", ""])),
            8 => "Cache-Control: no-cache".to_string(),
            9 => "ETag: \"folded\r\n continued\"".to_string(),
            10 => "ETag: \"\u{e9}t\u{e9}\"".to_string(),
            _ => "Server: test".to_string(),
        };
        out.push_str(&line);
        out.push_str(eol(rng));
    }
    out.push_str("\r\n");
    out
}

fn stored(rng: &mut Rng, body: &[u8]) -> StoredDoc {
    let doc = if rng.chance(50) {
        String::from_utf8_lossy(body).into_owned()
    } else {
        rng.pick(&DOCS).to_string()
    };
    let etag = match rng.below(5) {
        0 => None,
        1 => Some(format!("{}\r\n", rng.pick(&ETAGS))),
        _ => Some(rng.pick(&ETAGS).to_string()),
    };
    StoredDoc {
        username: rng.pick(&["alice", "", "bob"]).to_string(),
        domain: rng.pick(&["example.com", ""]).to_string(),
        doc_type: rng.pick(&[2, 4, 8, 0]),
        doc,
        etag,
        doc_uri: rng
            .pick(&[
                "http://xcap.example.com/pres-rules/users/sip:alice@example.com/index",
                "https://xcap.example.com:8443/xcap-root/resource-lists/users/sip:a@b/index",
                "http://[::1]/rls-services/global/index",
                "xcap.example.com/pres-rules/users/sip:alice@example.com/index",
                "ftp://h/x",
                "http://h:99999/x",
                "http://h:80/x",
                "",
            ])
            .to_string(),
        port: rng.pick(&[0, 80, 443, 8080, 65535]),
    }
}

/// Builds the input numbered `index` of the run seeded with `seed`.
pub fn input(seed: u64, index: u64) -> Input {
    let mut rng = Rng::for_input(seed, index);
    let mut body = match rng.below(1000) {
        0 => vec![b'a'; MAX_BODY - 1 + rng.below(3)],
        _ => rng.pick(&DOCS).as_bytes().to_vec(),
    };
    if rng.chance(10) {
        body.extend_from_slice(rng.pick(&[&b"\xff\xfe"[..], b"\xc3", b"\xed\xa0\x80"]));
    }
    let (status, reason) = rng.pick(&STATUSES);
    let mut head = String::new();
    for _ in 0..rng.below(3) {
        if rng.chance(30) {
            let (interim, why) = rng.pick(&[(100, "Continue"), (101, "Switching Protocols"), (102, "Processing")]);
            head.push_str(&header_block(&mut rng, interim, why, 0));
        }
    }
    head.push_str(&header_block(&mut rng, status, reason, body.len()));
    let mut head = head.into_bytes();
    if rng.chance(5) {
        head.extend_from_slice(b"X-Bin: \xff\xfe\r\nETag: \"after-binary\"\r\n");
    }
    let chunks = (0..rng.below(5)).map(|_| rng.below(64)).collect();
    let transfer_error = match rng.below(40) {
        0 => Some(18), // CURLE_PARTIAL_FILE: the answer was cut short
        1 => Some(28), // CURLE_OPERATION_TIMEDOUT
        2 => Some(63), // CURLE_FILESIZE_EXCEEDED
        3 => Some(56), // CURLE_RECV_ERROR
        4 => Some(8),  // CURLE_WEIRD_SERVER_REPLY
        _ => None,
    };
    let status = if rng.chance(2) { Err(43) } else { Ok(status) };
    let stored = rng.chance(70).then(|| stored(&mut rng, &body));
    let raw_etag = rng.pick(&ETAGS).to_string();
    let mut input = Input {
        url: "http://xcap.example.com/pres-rules/users/sip:alice@example.com/index".to_string(),
        head,
        body,
        chunks,
        transfer_error,
        status,
        stored,
        raw_etag,
    };
    if rng.chance(25) {
        match rng.below(4) {
            0 => mutate_bytes(&mut rng, &mut input.head, &TOKENS),
            1 if input.body.len() < 4096 => mutate_bytes(&mut rng, &mut input.body, &TOKENS),
            2 => {
                let mut raw = std::mem::take(&mut input.raw_etag).into_bytes();
                mutate_bytes(&mut rng, &mut raw, &TOKENS);
                input.raw_etag = String::from_utf8_lossy(&raw).into_owned();
            }
            _ => {
                // An answer cut short inside its header block.
                let cut = rng.below(input.head.len() + 1);
                input.head.truncate(cut);
                input.body.clear();
                input.transfer_error = Some(18);
            }
        }
    }
    input
}

const TOKENS: [&str; 12] = ["\r\n", "\n", ":", "\"", "W/", "ETag: ", "HTTP/1.1 200 OK\r\n", " ", "\t", "\u{0}", "\u{7f}", ","];

