use super::*;

const P: Policy = Policy { base_ms: 1000, max_ms: 8000, attempt_ms: 3000 };
const H: &str = "http://xcap.example.com:8080";

#[test]
fn a_host_never_failing_is_always_fetched() {
    let mut t = HostTable::new();
    assert_eq!(t.admit(H, 0, &P), Admit::Go);
    t.answered(H);
    assert_eq!(t.admit(H, 1, &P), Admit::Go);
}

#[test]
fn a_failure_skips_the_host_for_the_base_period() {
    let mut t = HostTable::new();
    assert_eq!(t.failed(H, 100, &P), Some((1, 1000)));
    assert_eq!(t.admit(H, 100, &P), Admit::Skip { retry_in_ms: 1000, failures: 1 });
    assert_eq!(t.admit(H, 1099, &P), Admit::Skip { retry_in_ms: 1, failures: 1 });
    assert_eq!(t.admit(H, 1100, &P), Admit::Go);
    // Other hosts are not affected.
    assert_eq!(t.admit("http://other:80", 100, &P), Admit::Go);
}

#[test]
fn one_attempt_per_period_then_the_period_doubles_up_to_the_cap() {
    let mut t = HostTable::new();
    let mut now = 0;
    t.failed(H, now, &P);
    let mut periods = Vec::new();
    for _ in 0..6 {
        now += 100_000;
        assert_eq!(t.admit(H, now, &P), Admit::Go);
        // While that attempt runs, everyone else is turned away.
        assert_eq!(t.admit(H, now + 1, &P), Admit::Skip { retry_in_ms: 0, failures: periods.len() as u32 + 1 });
        let (_, period) = t.failed(H, now + 10, &P).unwrap();
        periods.push(period);
    }
    assert_eq!(periods, [2000, 4000, 8000, 8000, 8000, 8000]);
}

#[test]
fn an_answer_resets_the_back_off() {
    let mut t = HostTable::new();
    t.failed(H, 0, &P);
    assert_eq!(t.admit(H, 1000, &P), Admit::Go);
    t.failed(H, 1000, &P);
    assert_eq!(t.admit(H, 3000, &P), Admit::Go);
    t.answered(H);
    assert_eq!(t.admit(H, 3001, &P), Admit::Go);
    assert_eq!(t.failed(H, 3002, &P), Some((1, 1000)), "counting starts again from the base");
}

#[test]
fn concurrent_failures_count_once() {
    let mut t = HostTable::new();
    // Three workers started while the host was not yet backed off; all three fail.
    assert_eq!(t.failed(H, 0, &P), Some((1, 1000)));
    assert_eq!(t.failed(H, 10, &P), Some((1, 990)));
    assert_eq!(t.failed(H, 20, &P), Some((1, 980)));
}

#[test]
fn an_attempt_that_never_reports_frees_the_host_after_its_deadline() {
    let mut t = HostTable::new();
    t.failed(H, 0, &P);
    assert_eq!(t.admit(H, 1000, &P), Admit::Go);
    assert_eq!(t.admit(H, 3999, &P), Admit::Skip { retry_in_ms: 0, failures: 1 });
    assert_eq!(t.admit(H, 4000, &P), Admit::Go);
}

#[test]
fn a_zero_base_turns_the_back_off_off() {
    let off = Policy { base_ms: 0, ..P };
    let mut t = HostTable::new();
    assert_eq!(t.failed(H, 0, &off), None);
    assert_eq!(t.admit(H, 0, &off), Admit::Go);
}

#[test]
fn a_full_table_makes_room_with_the_host_whose_period_ends_first() {
    let mut t = HostTable::new();
    for i in 0..HOSTS {
        t.failed(&format!("http://h{i}:80"), i as u64 * 10, &P);
    }
    t.failed(H, 5000, &P);
    assert_eq!(t.admit("http://h0:80", 5000, &P), Admit::Go, "h0 was evicted");
    assert!(matches!(t.admit(H, 5000, &P), Admit::Skip { .. }));
    assert!(matches!(t.admit("http://h1:80", 100, &P), Admit::Skip { .. }));
}

#[test]
fn keys_too_long_are_not_tracked() {
    let mut t = HostTable::new();
    let long = format!("http://{}:80", "a".repeat(KEY_MAX));
    assert_eq!(t.failed(&long, 0, &P), None);
    assert_eq!(t.admit(&long, 0, &P), Admit::Go);
}

#[test]
fn the_period_saturates() {
    let p = Policy { base_ms: 5000, max_ms: 300_000, attempt_ms: 1 };
    assert_eq!(p.period_ms(1), 5000);
    assert_eq!(p.period_ms(7), 300_000);
    assert_eq!(p.period_ms(u32::MAX), 300_000);
    // A cap below the base keeps the base.
    assert_eq!(Policy { max_ms: 10, ..p }.period_ms(3), 5000);
}

#[test]
fn backed_off_counts_the_hosts_failing_until_they_answer() {
    let mut t = HostTable::new();
    assert_eq!(t.backed_off(), 0);
    t.failed(H, 0, &P);
    t.failed(H, 10, &P);
    t.failed("http://other:80", 0, &P);
    assert_eq!(t.backed_off(), 2);
    // Its period over, a host stays counted until it answers.
    assert_eq!(t.admit(H, 100_000, &P), Admit::Go);
    assert_eq!(t.backed_off(), 2);
    t.answered(H);
    assert_eq!(t.backed_off(), 1);
}
