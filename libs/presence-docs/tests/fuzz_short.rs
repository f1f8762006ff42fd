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
    let stats = fuzzing::run(&driver::TARGET, 1_000, 20_261_206, false, None);
    assert_eq!(stats.inputs, 1_000);
    stats.assert_no_failure();
    // The generator reaches every operation, not only the parsers' error paths.
    let c = &stats.counts;
    assert!(c.pidf_bodies > 500 && c.aggregates > 330 && c.merged > 100, "{c:?}");
    assert!(c.offlines > 100 && c.single_bodies > 330, "{c:?}");
    assert!(c.transforms > 1_000 && c.transforms_removing > 330, "{c:?}");
    assert!(c.basic_matches > 30 && c.activity_matches > 5, "{c:?}");
    assert!(c.rules_parsed > 260 && c.rules_matched > 130 && c.decisions > 160, "{c:?}");
    assert!(c.presence_bodies > 130 && c.versioned_bodies > 330 && c.dates > 30, "{c:?}");
}

#[test]
fn inputs_are_deterministic() {
    for index in [0, 1, 99, 12_345] {
        let (a, b) = (generate::input(5, index), generate::input(5, index));
        assert_eq!((a.bodies, a.rules, a.versioned, a.date), (b.bodies, b.rules, b.versioned, b.date));
        assert_eq!((a.user, a.domain, a.new_id, a.now), (b.user, b.domain, b.new_id, b.now));
    }
}
