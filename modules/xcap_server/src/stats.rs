//! The statistics operators read (`kamcmd stats.get_statistics xcap_server:`, xhttp_prom):
//! requests by method and status class, the refusals worth telling apart, lost write races
//! and database errors. The README's "Counters" section lists them.

use kamailio::Counter;

use crate::handler::{Method, Refusal, Response};

pub static GET_2XX: Counter = Counter::new("get_2xx", "GET requests answered 2xx");
pub static GET_3XX: Counter = Counter::new("get_3xx", "GET requests answered 3xx (304 Not Modified)");
pub static GET_4XX: Counter = Counter::new("get_4xx", "GET requests answered 4xx");
pub static GET_5XX: Counter = Counter::new("get_5xx", "GET requests answered 5xx");
pub static PUT_2XX: Counter = Counter::new("put_2xx", "PUT requests answered 2xx");
pub static PUT_3XX: Counter = Counter::new("put_3xx", "PUT requests answered 3xx");
pub static PUT_4XX: Counter = Counter::new("put_4xx", "PUT requests answered 4xx");
pub static PUT_5XX: Counter = Counter::new("put_5xx", "PUT requests answered 5xx");
pub static DELETE_2XX: Counter = Counter::new("delete_2xx", "DELETE requests answered 2xx");
pub static DELETE_3XX: Counter = Counter::new("delete_3xx", "DELETE requests answered 3xx");
pub static DELETE_4XX: Counter = Counter::new("delete_4xx", "DELETE requests answered 4xx");
pub static DELETE_5XX: Counter = Counter::new("delete_5xx", "DELETE requests answered 5xx");
pub static VALIDATION_REFUSALS: Counter =
    Counter::new("validation_refusals", "PUTs and DELETEs refused with 409 because the document or node is not acceptable");
pub static MEDIA_TYPE_REFUSALS: Counter = Counter::new("media_type_refusals", "PUTs refused with 415 for their Content-Type");
pub static NODE_CONFLICTS: Counter =
    Counter::new("node_conflicts", "Requests refused with 409 no-parent, cannot-insert or cannot-delete");
pub static UNIQUENESS_CONFLICTS: Counter =
    Counter::new("uniqueness_conflicts", "PUTs refused with 409 uniqueness-failure (a value another document holds)");
pub static PRECONDITION_FAILURES: Counter = Counter::new("precondition_failures", "Requests answered 412 (If-Match or If-None-Match)");
pub static RACES_LOST: Counter =
    Counter::new("races_lost", "Writes that found another writer's change since they read the document (each made again)");
pub static RETRIES_EXHAUSTED: Counter = Counter::new("retries_exhausted", "Writes answered 503 after losing 16 races in a row");
pub static DB_ERRORS: Counter = Counter::new("db_errors", "Database operations that failed");

/// Every statistic of the module, registered before mod_init.
pub static ALL: &[&Counter] = &[
    &GET_2XX,
    &GET_3XX,
    &GET_4XX,
    &GET_5XX,
    &PUT_2XX,
    &PUT_3XX,
    &PUT_4XX,
    &PUT_5XX,
    &DELETE_2XX,
    &DELETE_3XX,
    &DELETE_4XX,
    &DELETE_5XX,
    &VALIDATION_REFUSALS,
    &MEDIA_TYPE_REFUSALS,
    &NODE_CONFLICTS,
    &UNIQUENESS_CONFLICTS,
    &PRECONDITION_FAILURES,
    &RACES_LOST,
    &RETRIES_EXHAUSTED,
    &DB_ERRORS,
];

/// The counter of a method's answers in the status class of `status` (1xx never happens).
fn by_class(method: Method, status: u16) -> Option<&'static Counter> {
    let row = match method {
        Method::Get => [&GET_2XX, &GET_3XX, &GET_4XX, &GET_5XX],
        Method::Put => [&PUT_2XX, &PUT_3XX, &PUT_4XX, &PUT_5XX],
        Method::Delete => [&DELETE_2XX, &DELETE_3XX, &DELETE_4XX, &DELETE_5XX],
    };
    match status {
        200..=599 => Some(row[(status / 100 - 2) as usize]),
        _ => None,
    }
}

/// Counts one answered request.
pub fn count(method: Method, r: &Response) {
    if let Some(c) = by_class(method, r.status) {
        c.inc();
    }
    let refusal = match r.refusal {
        Some(Refusal::Invalid) => Some(&VALIDATION_REFUSALS),
        Some(Refusal::MediaType) => Some(&MEDIA_TYPE_REFUSALS),
        Some(Refusal::Node) => Some(&NODE_CONFLICTS),
        Some(Refusal::Uniqueness) => Some(&UNIQUENESS_CONFLICTS),
        Some(Refusal::Precondition) => Some(&PRECONDITION_FAILURES),
        Some(Refusal::TooManyRaces) => Some(&RETRIES_EXHAUSTED),
        None => None,
    };
    if let Some(c) = refusal {
        c.inc();
    }
    if r.races_lost > 0 {
        RACES_LOST.add(r.races_lost as i64);
    }
}

/// Passes a database result through, counting a failure.
pub fn db<T, E>(r: Result<T, E>) -> Result<T, E> {
    if r.is_err() {
        DB_ERRORS.inc();
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_method_and_class_has_its_counter() {
        assert_eq!(by_class(Method::Get, 304).map(Counter::name), Some("get_3xx"));
        assert_eq!(by_class(Method::Put, 201).map(Counter::name), Some("put_2xx"));
        assert_eq!(by_class(Method::Put, 409).map(Counter::name), Some("put_4xx"));
        assert_eq!(by_class(Method::Delete, 503).map(Counter::name), Some("delete_5xx"));
        assert_eq!(by_class(Method::Get, 100).map(Counter::name), None);
        let mut names: Vec<&str> = ALL.iter().map(|c| c.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len(), "names are unique");
        assert!(ALL.iter().all(|c| c.name().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')));
    }
}
