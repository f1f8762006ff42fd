//! The statistics operators read (`kamcmd stats.get_statistics pua:`, xhttp_prom): the
//! records held, the requests sent, their final replies by class, the timer's refreshes and
//! database errors. The README's "Counters" section lists them.

use kamailio::Counter;

pub static RECORDS: Counter =
    Counter::gauge("records", "Publications and subscription dialogs held now (db_mode 2: rows of the table)", crate::module::record_count);
pub static PUBLISH_SENT: Counter = Counter::new("publish_sent", "PUBLISH requests sent (refreshes included)");
pub static SUBSCRIBE_SENT: Counter = Counter::new("subscribe_sent", "SUBSCRIBE requests sent (refreshes and unsubscribes included)");
pub static REPLIES_2XX: Counter = Counter::new("replies_2xx", "Final replies 2xx to PUBLISH and SUBSCRIBE");
pub static REPLIES_3XX: Counter = Counter::new("replies_3xx", "Final replies 3xx to PUBLISH and SUBSCRIBE");
pub static REPLIES_4XX: Counter = Counter::new("replies_4xx", "Final replies 4xx to PUBLISH and SUBSCRIBE (timeouts included, as 408)");
pub static REPLIES_5XX: Counter = Counter::new("replies_5xx", "Final replies 5xx to PUBLISH and SUBSCRIBE");
pub static REPLIES_6XX: Counter = Counter::new("replies_6xx", "Final replies 6xx to PUBLISH and SUBSCRIBE");
pub static REPLIES_TIMEOUT: Counter = Counter::new("replies_timeout", "PUBLISH and SUBSCRIBE that got no reply (tm's local 408)");
pub static REFRESHES: Counter = Counter::new("refreshes", "PUBLISH and SUBSCRIBE refreshes sent by the refresh timer (or pua.cleanup)");
pub static DB_ERRORS: Counter = Counter::new("db_errors", "Database operations that failed");

/// Every statistic of the module, registered before mod_init.
pub static ALL: &[&Counter] = &[
    &RECORDS,
    &PUBLISH_SENT,
    &SUBSCRIBE_SENT,
    &REPLIES_2XX,
    &REPLIES_3XX,
    &REPLIES_4XX,
    &REPLIES_5XX,
    &REPLIES_6XX,
    &REPLIES_TIMEOUT,
    &REFRESHES,
    &DB_ERRORS,
];

/// The counter of a final reply's class.
fn class(code: i32) -> Option<&'static Counter> {
    match code {
        200..=299 => Some(&REPLIES_2XX),
        300..=399 => Some(&REPLIES_3XX),
        400..=499 => Some(&REPLIES_4XX),
        500..=599 => Some(&REPLIES_5XX),
        600..=699 => Some(&REPLIES_6XX),
        _ => None,
    }
}

/// Counts a final reply; `received` is false when tm made it up (no reply came).
pub fn reply(code: i32, received: bool) {
    if let Some(c) = class(code) {
        c.inc();
    }
    if !received && code == 408 {
        REPLIES_TIMEOUT.inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_count_by_class() {
        let name = |code| class(code).map(Counter::name);
        assert_eq!([name(200), name(202), name(302), name(408), name(412), name(503), name(603)], [
            Some("replies_2xx"),
            Some("replies_2xx"),
            Some("replies_3xx"),
            Some("replies_4xx"),
            Some("replies_4xx"),
            Some("replies_5xx"),
            Some("replies_6xx")
        ]);
        assert_eq!(name(100), None);
    }
}
