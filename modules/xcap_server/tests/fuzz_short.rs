//! A short run of the fuzz driver (`examples/fuzz`), so every test run exercises it: no
//! panic, no input over a second, no broken invariant.

#[path = "../examples/fuzz/driver.rs"]
mod driver;
#[path = "../examples/fuzz/generate.rs"]
mod generate;

#[test]
fn twenty_thousand_generated_inputs() {
    let stats = fuzzing::run(&driver::TARGET, 20_000, 20_261_130, false, None);
    assert_eq!(stats.inputs, 20_000);
    stats.assert_no_failure();
    // The generator reaches every operation, not only the parsers' error paths.
    assert!(stats.counts.uris_parsed > 1_000, "{stats:?}");
    assert!(stats.counts.selections > 500 && stats.counts.puts > 500 && stats.counts.deletes > 100, "{stats:?}");
    assert!(stats.counts.valid_docs > 1_000, "{stats:?}");
}

#[test]
fn inputs_are_deterministic() {
    for index in [0, 1, 99, 12_345] {
        let (a, b) = (generate::input(5, index), generate::input(5, index));
        assert_eq!((a.uri, a.selector, a.doc, a.body), (b.uri, b.selector, b.doc, b.body));
    }
}
