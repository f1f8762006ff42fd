//! A short run of the fuzz driver (`examples/fuzz`), so every test run exercises it: no
//! panic, no input over a second, no broken invariant.

#[path = "../examples/fuzz/driver.rs"]
#[allow(dead_code)]
mod driver;
#[path = "../examples/fuzz/generate.rs"]
#[allow(dead_code)]
mod generate;

#[test]
fn generated_inputs() {
    let stats = fuzzing::run(&driver::TARGET, 10_000, 20_261_206, false, None);
    assert_eq!(stats.inputs, 10_000);
    stats.assert_no_failure();
    // The generator reaches every operation, not only the parsers' error paths.
    let c = &stats.counts;
    assert!(c.passed_through > 1_000 && c.presence_bodies > 1_000 && c.versioned_bodies > 1_500, "{c:?}");
    assert!(c.publish_headers == 10_000 && c.subscribe_headers == 10_000, "{c:?}");
    assert!(c.accepted > 1_000 && c.republished > 100 && c.confirmed > 300 && c.refreshed > 300, "{c:?}");
    assert!(c.route_sets > 5_000 && c.damaged_decoded > 1_000, "{c:?}");
}

#[test]
fn inputs_are_deterministic() {
    for index in [0, 1, 99, 12_345] {
        let (a, b) = (generate::input(5, index), generate::input(5, index));
        assert_eq!((a.body, a.etag, a.record_routes, a.damaged), (b.body, b.etag, b.record_routes, b.damaged));
        assert_eq!((a.code, a.reply_etag, a.pending), (b.code, b.reply_etag, b.pending));
    }
}
