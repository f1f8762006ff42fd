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
    let stats = fuzzing::run(&driver::TARGET, 20_000, 20_261_206, false, None);
    assert_eq!(stats.inputs, 20_000);
    stats.assert_no_failure();
    // The generator reaches every outcome, not only the error paths.
    let c = &stats.counts;
    assert!(c.documents > 4_000 && c.documents_with_etag > 1_000, "{c:?}");
    assert!(c.not_modified > 300 && c.not_found > 300 && c.status_errors > 1_000, "{c:?}");
    assert!(c.too_large > 100 && c.not_utf8 > 100 && c.transport_errors > 1_000, "{c:?}");
    assert!(c.updated > 1_000 && c.retagged > 300 && c.unchanged > 1_000 && c.gone > 300, "{c:?}");
    assert!(c.conditions > 10_000, "{c:?}");
}

#[test]
fn inputs_are_deterministic() {
    for index in [0, 1, 99, 12_345] {
        let (a, b) = (generate::input(5, index), generate::input(5, index));
        assert_eq!((a.head, a.body, a.chunks, a.raw_etag), (b.head, b.body, b.chunks, b.raw_etag));
        assert_eq!((a.transfer_error, a.status, a.stored), (b.transfer_error, b.status, b.stored));
    }
}
