//! What an HTTP answer to an XCAP GET becomes, from what libcurl hands over: header lines one
//! at a time (those of an interim 100 Continue too), body chunks, whether the transfer
//! completed and the final status. Plain Rust, so that any answer can be tested without a
//! server.

use xcap::etag;

use crate::fetch::{Condition, FetchError, Fetched, MAX_BODY};

/// What the transfer callbacks collect: every body chunk and the final response's entity tag.
#[derive(Debug, Default)]
pub struct Received {
    pub body: Vec<u8>,
    pub etag: Option<String>,
    /// A chunk was refused because the body would exceed [`MAX_BODY`].
    pub too_large: bool,
}

/// Keeps the ETag of the final response: a status line starts a new response (after a 100
/// Continue, say), so it forgets the tag of the previous one.
pub fn read_header(line: &[u8], etag: &mut Option<String>) {
    let Ok(line) = std::str::from_utf8(line) else {
        return;
    };
    if line.starts_with("HTTP/") {
        *etag = None;
    } else if let Some((name, value)) = line.split_once(':') {
        if name.trim().eq_ignore_ascii_case("etag") {
            *etag = etag::opaque(value).map(str::to_owned);
        }
    }
}

/// Appends a body chunk unless the body would then exceed [`MAX_BODY`]; false (and nothing
/// appended) when it would, which makes libcurl abort the transfer.
pub fn append_chunk(body: &mut Vec<u8>, too_large: &mut bool, chunk: &[u8]) -> bool {
    if body.len() + chunk.len() > MAX_BODY {
        *too_large = true;
        return false;
    }
    body.extend_from_slice(chunk);
    true
}

/// The outcome of a GET of `url` once the transfer ended with `transfer`; `status` reads the
/// final status (asked only after a complete transfer).
pub fn outcome(
    url: &str,
    received: Received,
    transfer: Result<(), curl::Error>,
    status: impl FnOnce() -> Result<u32, curl::Error>,
) -> Result<Fetched, FetchError> {
    match transfer {
        Err(error) if received.too_large || error.is_filesize_exceeded() => {
            return Err(FetchError::TooLarge { url: url.to_owned() });
        }
        Err(error) => return Err(transport(url, error)),
        Ok(()) => {}
    }
    match status().map_err(|error| transport(url, error))? {
        200 => {
            let body = String::from_utf8(received.body)
                .map_err(|_| FetchError::NotUtf8 { url: url.to_owned() })?;
            Ok(Fetched::Document { body, etag: received.etag })
        }
        304 => Ok(Fetched::NotModified),
        404 => Ok(Fetched::NotFound),
        code => Err(FetchError::Status { url: url.to_owned(), code }),
    }
}

/// The header line that sends `condition`, the tag quoted; none for no condition.
pub fn condition_header(condition: Condition<'_>, url: &str) -> Result<Option<String>, FetchError> {
    let (name, raw) = match condition {
        Condition::None => return Ok(None),
        Condition::IfMatch(raw) => ("If-Match", raw),
        Condition::IfNoneMatch(raw) => ("If-None-Match", raw),
    };
    let tag = etag::opaque(raw).ok_or_else(|| FetchError::Etag {
        url: url.to_owned(),
        etag: raw.to_owned(),
    })?;
    Ok(Some(format!("{name}: \"{tag}\"")))
}

pub(crate) fn transport(url: &str, error: curl::Error) -> FetchError {
    FetchError::Transport { url: url.to_owned(), error }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: u32) -> curl::Error {
        curl::Error::new(code)
    }

    #[test]
    fn chunks_up_to_the_limit_are_kept() {
        let (mut body, mut too_large) = (Vec::new(), false);
        assert!(append_chunk(&mut body, &mut too_large, &vec![b'a'; MAX_BODY - 1]));
        assert!(append_chunk(&mut body, &mut too_large, b"b"));
        assert!(!too_large && body.len() == MAX_BODY);
        assert!(!append_chunk(&mut body, &mut too_large, b"c"));
        assert!(too_large && body.len() == MAX_BODY);
    }

    #[test]
    fn outcomes() {
        let url = "http://h/x";
        let got = |r: Received, t: Result<(), curl::Error>, s: u32| outcome(url, r, t, || Ok(s));
        let doc = Received { body: b"<a/>".to_vec(), etag: Some("e".into()), too_large: false };
        assert_eq!(got(doc, Ok(()), 200).unwrap(), Fetched::Document { body: "<a/>".into(), etag: Some("e".into()) });
        assert_eq!(got(Received::default(), Ok(()), 304).unwrap(), Fetched::NotModified);
        assert_eq!(got(Received::default(), Ok(()), 404).unwrap(), Fetched::NotFound);
        assert!(matches!(got(Received::default(), Ok(()), 302), Err(FetchError::Status { code: 302, .. })));
        let bad = Received { body: vec![0xff], ..Received::default() };
        assert!(matches!(got(bad, Ok(()), 200), Err(FetchError::NotUtf8 { .. })));
        // CURLE_WRITE_ERROR after a refused chunk, CURLE_FILESIZE_EXCEEDED, CURLE_PARTIAL_FILE.
        let big = Received { too_large: true, ..Received::default() };
        assert!(matches!(got(big, Err(error(23)), 200), Err(FetchError::TooLarge { .. })));
        assert!(matches!(got(Received::default(), Err(error(63)), 200), Err(FetchError::TooLarge { .. })));
        assert!(matches!(got(Received::default(), Err(error(18)), 200), Err(FetchError::Transport { .. })));
        assert!(matches!(outcome(url, Received::default(), Ok(()), || Err(error(43))), Err(FetchError::Transport { .. })));
    }

    #[test]
    fn condition_headers() {
        assert_eq!(condition_header(Condition::None, "u").unwrap(), None);
        assert_eq!(condition_header(Condition::IfMatch("W/\"a\""), "u").unwrap().as_deref(), Some("If-Match: \"a\""));
        assert_eq!(condition_header(Condition::IfNoneMatch("a\r\n"), "u").unwrap().as_deref(), Some("If-None-Match: \"a\""));
        assert!(matches!(condition_header(Condition::IfMatch("a b"), "u"), Err(FetchError::Etag { .. })));
    }
}
