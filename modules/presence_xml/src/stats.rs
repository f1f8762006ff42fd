//! The statistics operators read (`kamcmd stats.get_statistics presence_xml:`, xhttp_prom):
//! PUBLISH bodies refused and the authorization decisions for watchers. The README's
//! "Counters" section lists them.

use kamailio::Counter;

pub static BODIES_REFUSED: Counter =
    Counter::new("bodies_refused", "PUBLISH bodies refused (415 not XML, 400 not PIDF with strict_pidf)");
pub static WATCHERS_ALLOWED: Counter = Counter::new("watchers_allowed", "Authorization decisions: active (allow, or force_active)");
pub static WATCHERS_BLOCKED: Counter =
    Counter::new("watchers_blocked", "Authorization decisions: terminated (block, or no rule left for an active watcher)");
pub static WATCHERS_POLITE_BLOCKED: Counter = Counter::new("watchers_polite_blocked", "Authorization decisions: polite-block");
pub static WATCHERS_PENDING: Counter =
    Counter::new("watchers_pending", "Authorization decisions: pending (confirm, no rule, or no pres-rules document)");
pub static AUTH_ERRORS: Counter = Counter::new("auth_errors", "Authorization decisions that failed (pres-rules unreadable)");

/// Every statistic of the module, registered before mod_init.
pub static ALL: &[&Counter] =
    &[&BODIES_REFUSED, &WATCHERS_ALLOWED, &WATCHERS_BLOCKED, &WATCHERS_POLITE_BLOCKED, &WATCHERS_PENDING, &AUTH_ERRORS];
