//! The statistics operators read (`kamcmd stats.get_statistics xcap_client:`, xhttp_prom):
//! the requests made to XCAP servers and how they were answered, the documents a refresh
//! found changed, and the servers backed off. The README's "Counters" section lists them.

use kamailio::Counter;

use crate::fetch::{FetchError, Fetched};

pub static FETCHES: Counter =
    Counter::new("fetches", "GET requests sent to XCAP servers (getNewDoc, the periodic refresh, refreshXcapDoc)");
pub static NOT_MODIFIED: Counter = Counter::new("not_modified", "Fetches answered 304 Not Modified");
pub static NOT_FOUND: Counter = Counter::new("not_found", "Fetches answered 404 Not Found");
pub static HTTP_ERRORS: Counter =
    Counter::new("http_errors", "Fetches answered with another status than 200, 304 and 404, or a 200 whose document was unusable");
pub static FAILURES: Counter =
    Counter::new("failures", "Fetches that got no HTTP answer (no connection, timeout, connection closed, TLS refused)");
pub static DOCUMENTS_UPDATED: Counter =
    Counter::new("documents_updated", "Documents a refresh found changed, stored, and passed to the update callbacks");
pub static BACKOFF_SKIPS: Counter = Counter::new("backoff_skips", "Fetches not made because the XCAP server was backed off");
pub static BACKED_OFF_HOSTS: Counter =
    Counter::gauge("backed_off_hosts", "XCAP servers that gave no answer to their last request (backed off)", crate::module::backed_off_hosts);

/// Every statistic of the module, registered before mod_init.
pub static ALL: &[&Counter] =
    &[&FETCHES, &NOT_MODIFIED, &NOT_FOUND, &HTTP_ERRORS, &FAILURES, &DOCUMENTS_UPDATED, &BACKOFF_SKIPS, &BACKED_OFF_HOSTS];

/// What a fetch's result counts: whether a request was sent (`fetches`), and the counter of
/// its outcome, if it has one (a 200 with a usable document has none).
pub fn of_result(result: &Result<Fetched, FetchError>) -> (bool, Option<&'static Counter>) {
    match result {
        Ok(Fetched::Document { .. }) => (true, None),
        Ok(Fetched::NotModified) => (true, Some(&NOT_MODIFIED)),
        Ok(Fetched::NotFound) => (true, Some(&NOT_FOUND)),
        Err(FetchError::Status { .. } | FetchError::TooLarge { .. } | FetchError::NotUtf8 { .. }) => (true, Some(&HTTP_ERRORS)),
        Err(FetchError::Transport { .. }) => (true, Some(&FAILURES)),
        Err(FetchError::BackedOff { .. }) => (false, Some(&BACKOFF_SKIPS)),
        // Refused before anything was sent.
        Err(FetchError::Scheme { .. } | FetchError::Etag { .. }) => (false, None),
    }
}

/// Counts a fetch's result.
pub fn fetched(result: &Result<Fetched, FetchError>) {
    let (sent, outcome) = of_result(result);
    if sent {
        FETCHES.inc();
    }
    if let Some(c) = outcome {
        c.inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn names(r: Result<Fetched, FetchError>) -> Vec<&'static str> {
        let (sent, outcome) = of_result(&r);
        sent.then_some("fetches").into_iter().chain(outcome.map(Counter::name)).collect()
    }

    #[test]
    fn each_result_counts_once_in_its_place() {
        let url = || "http://x/".to_string();
        assert_eq!(names(Ok(Fetched::Document { body: String::new(), etag: None })), ["fetches"]);
        assert_eq!(names(Ok(Fetched::NotModified)), ["fetches", "not_modified"]);
        assert_eq!(names(Ok(Fetched::NotFound)), ["fetches", "not_found"]);
        assert_eq!(names(Err(FetchError::Status { url: url(), code: 503 })), ["fetches", "http_errors"]);
        assert_eq!(names(Err(FetchError::TooLarge { url: url() })), ["fetches", "http_errors"]);
        assert_eq!(names(Err(FetchError::NotUtf8 { url: url() })), ["fetches", "http_errors"]);
        let refused = curl::Error::new(7);
        assert_eq!(names(Err(FetchError::Transport { url: url(), error: refused })), ["fetches", "failures"]);
        let skip = FetchError::BackedOff { host: url(), retry_in: Duration::ZERO, failures: 1 };
        assert_eq!(names(Err(skip)), ["backoff_skips"]);
        assert!(names(Err(FetchError::Scheme { url: url() })).is_empty());
        assert!(names(Err(FetchError::Etag { url: url(), etag: "\"".into() })).is_empty());
    }

    #[test]
    fn the_gauge_is_the_only_gauge() {
        assert_eq!(ALL.iter().filter(|c| c.is_gauge()).map(|c| c.name()).collect::<Vec<_>>(), ["backed_off_hosts"]);
    }
}
