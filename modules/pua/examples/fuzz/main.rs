//! Fuzzes pua's pure logic (body processors, header lines, reply decisions, route sets, the
//! state carried to a reply) with generated inputs, on stable Rust:
//!
//! ```text
//! cargo run --release -p pua --example fuzz-pua -- <count> <seed> [<seconds>]
//! cargo run --release -p pua --example fuzz-pua -- show <seed> <index>
//! ```
//!
//! Prints throughput, the slowest input and the resident set size at the start, middle and
//! end (stopping early after `<seconds>` if given); exits with status 1 when an input panicked, took longer than a second or broke an
//! invariant (each failure names its input index, which `show` prints).

mod driver;
mod generate;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64| -> u64 {
        args.get(i).map_or(default, |a| a.parse().unwrap_or_else(|_| panic!("not a number: {a}")))
    };
    if args.first().map(String::as_str) == Some("show") {
        let (seed, index) = (number(1, 1), number(2, 0));
        let case = generate::input(seed, index);
        println!("{case:#?}");
        println!("body as text: {}", String::from_utf8_lossy(&case.body));
        println!("result: {:?}", driver::exercise(&case).map(|_| "ok"));
        return ExitCode::SUCCESS;
    }
    let (count, seed) = (number(0, 1_000_000), number(1, 1));
    println!("fuzzing {count} inputs from seed {seed}");
    let limit = args.get(2).map(|_| std::time::Duration::from_secs(number(2, 0)));
    let stats = match limit {
        Some(_) => driver::run_for(count, seed, true, limit),
        None => driver::run(count, seed, true),
    };
    let secs = stats.elapsed.as_secs_f64();
    println!("inputs:            {}", stats.inputs);
    println!("time:              {secs:.1} s ({:.0} inputs/s)", stats.inputs as f64 / secs);
    println!("max per input:     {:?} (input {})", stats.max_time, stats.slowest);
    // Wall-clock maxima include time the process was not scheduled; replaying the slowest
    // input alone shows what it costs by itself.
    let replay = (0..3)
        .map(|_| {
            let case = generate::input(seed, stats.slowest);
            let t0 = std::time::Instant::now();
            let _ = driver::exercise(&case);
            t0.elapsed()
        })
        .min()
        .unwrap_or_default();
    println!("slowest replayed:  {replay:?}");
    println!(
        "RSS start/mid/end: {} / {} / {} kB",
        stats.rss_kb[0], stats.rss_kb[1], stats.rss_kb[2]
    );
    println!("operations:        {:?}", stats.counts);
    println!("failures:          {}", stats.failures.len());
    for failure in stats.failures.iter().take(20) {
        println!("  input {}: {}", failure.index, failure.what);
    }
    if stats.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
