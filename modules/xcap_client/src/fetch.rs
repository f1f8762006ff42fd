//! HTTP(S) GET of XCAP documents with libcurl, conditional on an entity tag when asked.

use std::fmt;
use std::time::Duration;

use curl::easy::{Easy, List};

use crate::answer::{self, condition_header, read_header, transport, Received};

/// Largest document accepted. XCAP documents (rules, buddy lists) are a few kilobytes; the
/// body ends up in a worker's private memory pool, so a runaway server must not fill it.
pub const MAX_BODY: usize = 1 << 20;

/// How long a fetch may take. It runs inside a SIP worker (a `getNewDoc` while handling a
/// SUBSCRIBE) or the refresh timer, which serve nothing else meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Name resolution and TCP/TLS connection setup.
    pub connect: Duration,
    /// The whole transfer, connection setup included.
    pub total: Duration,
}

/// A reachable XCAP server answers a small GET within milliseconds. 2 s of connecting still
/// rides out one lost SYN (retried after 1 s); 5 s in all bounds how long a dead or hung server
/// can stall a worker, well inside a SUBSCRIBE client's transaction timeout (32 s).
impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(2),
            total: Duration::from_secs(5),
        }
    }
}

/// The precondition sent with a GET; the tag is given bare or as stored, and sent quoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition<'a> {
    None,
    /// Only if the document still has this tag (otherwise the server answers 412).
    IfMatch(&'a str),
    /// Only if the document changed since this tag (otherwise the server answers 304).
    IfNoneMatch(&'a str),
}

/// The outcome of a GET the server answered in a way this module understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched {
    /// 200: the whole document and its entity tag (bare), if the server sent one.
    Document { body: String, etag: Option<String> },
    /// 304: the document still has the tag sent in If-None-Match.
    NotModified,
    /// 404: the server has no such document.
    NotFound,
}

/// Why a fetch produced no [`Fetched`]; each message names the URL.
#[derive(Debug)]
pub enum FetchError {
    /// Not an http or https URL.
    Scheme { url: String },
    /// The tag for the condition holds characters a quoted entity tag cannot.
    Etag { url: String, etag: String },
    /// Connecting, TLS, timing out, or any other transfer failure libcurl reports.
    Transport { url: String, error: curl::Error },
    /// The body would exceed [`MAX_BODY`].
    TooLarge { url: String },
    /// The body is not UTF-8, as XCAP documents and the `xcap` table's text column must be.
    NotUtf8 { url: String },
    /// Any status other than 200, 304 and 404.
    Status { url: String, code: u32 },
    /// Not asked: the server gave no answer lately and is backed off (see `backoff`).
    BackedOff { host: String, retry_in: Duration, failures: u32 },
}

impl FetchError {
    /// True when the server gave no HTTP answer at all: no connection, no name, a timeout,
    /// a connection closed or broken without a response, or a back-off for such failures.
    pub fn is_no_answer(&self) -> bool {
        match self {
            FetchError::BackedOff { .. } => true,
            FetchError::Transport { error, .. } => {
                error.is_couldnt_connect()
                    || error.is_couldnt_resolve_host()
                    || error.is_operation_timedout()
                    || error.is_got_nothing()
                    || error.is_recv_error()
                    || error.is_send_error()
                    || error.is_ssl_connect_error()
            }
            _ => false,
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Scheme { url } => {
                write!(f, "XCAP GET {url}: only http and https are supported")
            }
            FetchError::Etag { url, etag } => {
                write!(f, "XCAP GET {url}: unusable entity tag {etag:?}")
            }
            FetchError::Transport { url, error } => {
                write!(f, "XCAP GET {url} failed: {}", error.description())?;
                match error.extra_description() {
                    Some(extra) => write!(f, " ({extra})"),
                    None => Ok(()),
                }
            }
            FetchError::TooLarge { url } => {
                write!(f, "XCAP GET {url}: document larger than {MAX_BODY} bytes")
            }
            FetchError::NotUtf8 { url } => write!(f, "XCAP GET {url}: document is not UTF-8"),
            FetchError::Status { url, code } => {
                write!(f, "XCAP GET {url}: unexpected HTTP status {code}")
            }
            FetchError::BackedOff { host, retry_in, failures } if retry_in.is_zero() => write!(
                f,
                "XCAP server {host} is not answering ({failures} failure(s) in a row); another process is trying it now"
            ),
            FetchError::BackedOff { host, retry_in, failures } => write!(
                f,
                "XCAP server {host} is not answering ({failures} failure(s) in a row); next attempt in {} s",
                retry_in.as_secs_f64().ceil()
            ),
        }
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FetchError::Transport { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// One libcurl handle per process: consecutive fetches reuse its open connections.
/// Create it in the process that uses it (after fork), never share it between processes.
#[derive(Debug)]
pub struct Fetcher {
    easy: Easy,
    /// CA certificates for HTTPS servers instead of the system's.
    ca_file: Option<std::path::PathBuf>,
}

impl Default for Fetcher {
    fn default() -> Self {
        Self::new()
    }
}

impl Fetcher {
    pub fn new() -> Self {
        Fetcher { easy: Easy::new(), ca_file: None }
    }

    /// Verifies HTTPS servers against the CA certificates in `path` (PEM) instead of the
    /// system's; certificates are always verified.
    pub fn with_ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// GETs `url` under `condition`, within `timeouts`. Zero durations count as 1 ms, since
    /// libcurl reads zero as "no limit".
    pub fn fetch(
        &mut self,
        url: &str,
        condition: Condition<'_>,
        timeouts: Timeouts,
    ) -> Result<Fetched, FetchError> {
        let scheme = url.split_once("://").map(|(scheme, _)| scheme);
        if !scheme
            .is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"))
        {
            return Err(FetchError::Scheme {
                url: url.to_owned(),
            });
        }
        let mut headers = List::new();
        if let Some(line) = condition_header(condition, url)? {
            headers
                .append(&line)
                .map_err(|error| transport(url, error))?;
        }

        let mut received = Received::default();
        let transfer = self.transfer(url, headers, timeouts, &mut received);
        let easy = &mut self.easy;
        answer::outcome(url, received, transfer, || easy.response_code())
    }

    fn transfer(
        &mut self,
        url: &str,
        headers: List,
        timeouts: Timeouts,
        received: &mut Received,
    ) -> Result<(), curl::Error> {
        let floor = Duration::from_millis(1);
        // A reset drops the previous request's options but keeps the connection cache.
        self.easy.reset();
        self.easy.url(url)?;
        self.easy.get(true)?;
        self.easy.http_headers(headers)?;
        if let Some(ca) = &self.ca_file {
            self.easy.cainfo(ca)?;
        }
        self.easy.connect_timeout(timeouts.connect.max(floor))?;
        self.easy.timeout(timeouts.total.max(floor))?;
        // Refuses an announced oversized body before reading it; the write callback catches the rest.
        self.easy.max_filesize(MAX_BODY as u64)?;

        let mut transfer = self.easy.transfer();
        transfer.write_function(|chunk| {
            // Taking fewer bytes than offered makes libcurl abort the transfer.
            let kept = answer::append_chunk(&mut received.body, &mut received.too_large, chunk);
            Ok(if kept { chunk.len() } else { 0 })
        })?;
        transfer.header_function(|line| {
            read_header(line, &mut received.etag);
            true
        })?;
        transfer.perform()
    }
}

#[cfg(test)]
mod tests;
