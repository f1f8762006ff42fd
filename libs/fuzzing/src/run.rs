//! The run loop: every input under `catch_unwind`, timed, with a watchdog for hangs; and the
//! drivers' command line.

use std::fmt::Debug;
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpu_time::ThreadTime;

use crate::{Counts, Target};

/// An input that takes more of the processor than this counts as a hang. What counts is the
/// thread's CPU time: on a loaded machine, wall-clock time also holds the time the process
/// waited for a processor.
pub const SLOW: Duration = Duration::from_secs(1);
/// The watchdog ends the process when one input takes this long (a real hang).
const STUCK: Duration = Duration::from_secs(30);
/// `current` while no input runs yet, and once the run is over.
const IDLE: u64 = u64::MAX;
const DONE: u64 = u64::MAX - 1;

/// What went wrong with one input.
#[derive(Debug, Clone)]
pub struct Failure {
    pub index: u64,
    pub what: String,
}

/// Totals of a run.
#[derive(Debug, Default)]
pub struct Stats<C> {
    pub inputs: u64,
    pub elapsed: Duration,
    /// The longest wall-clock time one input took, and which input that was.
    pub max_time: Duration,
    pub slowest: u64,
    /// The most CPU time one input took, and which input that was.
    pub max_cpu: Duration,
    pub costliest: u64,
    pub counts: C,
    /// VmRSS in kB at the start, middle and end of the run.
    pub rss_kb: [u64; 3],
    pub failures: Vec<Failure>,
}

impl<C> Stats<C> {
    /// Panics with every failure when there is one (for the drivers' short runs in tests).
    pub fn assert_no_failure(&self) {
        let failures: Vec<String> =
            self.failures.iter().map(|f| format!("input {}: {}", f.index, f.what)).collect();
        assert!(failures.is_empty(), "{failures:#?}");
    }
}

/// The resident set size of this process, in kB.
pub fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs inputs `0..count` of `seed` through `target`, stopping early once `limit` has passed (the
/// middle RSS is then taken at half of it). `progress` prints every failure and a line every
/// tenth of the run.
pub fn run<I: Debug + 'static, C: Counts>(
    target: &Target<I, C>,
    count: u64,
    seed: u64,
    progress: bool,
    limit: Option<Duration>,
) -> Stats<C> {
    let previous_hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let current = Arc::new(AtomicU64::new(IDLE));
    let started_at = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let make = target.input;
    let watchdog = {
        let (current, started_at) = (Arc::clone(&current), Arc::clone(&started_at));
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(200));
            let index = current.load(Ordering::Acquire);
            if index == DONE {
                return;
            }
            let since = Duration::from_micros(started_at.load(Ordering::Acquire));
            if index != IDLE && start.elapsed().saturating_sub(since) > STUCK {
                eprintln!("input {index} of seed {seed} runs for more than {STUCK:?}: hang");
                eprintln!("{:#?}", make(seed, index));
                std::process::exit(2);
            }
        })
    };

    let mut stats: Stats<C> = Stats { rss_kb: [rss_kb(), 0, 0], ..Stats::default() };
    for index in 0..count {
        started_at.store(start.elapsed().as_micros() as u64, Ordering::Release);
        current.store(index, Ordering::Release);
        let (t0, cpu0) = (Instant::now(), ThreadTime::now());
        let case = (target.input)(seed, index);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| (target.exercise)(&case)));
        let (took, cpu) = (t0.elapsed(), cpu0.elapsed());
        stats.inputs += 1;
        if took > stats.max_time {
            stats.max_time = took;
            stats.slowest = index;
        }
        if cpu > stats.max_cpu {
            stats.max_cpu = cpu;
            stats.costliest = index;
        }
        let mut failure = (cpu > SLOW).then(|| format!("took {cpu:?} of CPU ({took:?} wall-clock)"));
        match outcome {
            Ok(Ok(counts)) => stats.counts.add(&counts),
            Ok(Err(what)) => failure = Some(what),
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                failure = Some(format!("panic: {message}"));
            }
        }
        if let Some(what) = failure {
            if progress {
                println!("input {index}: {what}");
            }
            stats.failures.push(Failure { index, what });
        }
        let elapsed = start.elapsed();
        if stats.rss_kb[1] == 0 && (index == count / 2 || limit.is_some_and(|l| elapsed >= l / 2)) {
            stats.rss_kb[1] = rss_kb();
        }
        if limit.is_some_and(|l| elapsed >= l) {
            if progress {
                println!("time limit reached after {} inputs", index + 1);
            }
            break;
        }
        if progress && count >= 10 && (index + 1) % (count / 10) == 0 {
            println!(
                "{:>10} inputs  {:>8.0} inputs/s  max {:?} CPU (input {}), {:?} wall (input {})  RSS {} kB  failures {}",
                index + 1,
                (index + 1) as f64 / elapsed.as_secs_f64(),
                stats.max_cpu,
                stats.costliest,
                stats.max_time,
                stats.slowest,
                rss_kb(),
                stats.failures.len()
            );
        }
    }
    current.store(DONE, Ordering::Release);
    let _ = watchdog.join();
    panic::set_hook(previous_hook);
    stats.elapsed = start.elapsed();
    stats.rss_kb[2] = rss_kb();
    stats
}

/// The command line of a driver (see the crate's documentation). Prints throughput, the
/// slowest input (and what it costs replayed alone), the resident set size at the start,
/// middle and end, the counts and the failures; fails when an input panicked, took longer
/// than [`SLOW`] or broke an invariant (each failure names its input, which `show` prints).
pub fn main<I: Debug + 'static, C: Counts>(target: &Target<I, C>) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64| -> u64 {
        args.get(i).map_or(default, |a| a.parse().unwrap_or_else(|_| panic!("not a number: {a}")))
    };
    if args.first().map(String::as_str) == Some("show") {
        let case = (target.input)(number(1, 1), number(2, 0));
        println!("{case:#?}");
        for line in (target.describe)(&case) {
            println!("{line}");
        }
        println!("result: {:?}", (target.exercise)(&case).map(|_| "ok"));
        return ExitCode::SUCCESS;
    }
    let (count, seed) = (number(0, 1_000_000), number(1, 1));
    println!("fuzzing {count} inputs from seed {seed}");
    let limit = args.get(2).map(|_| Duration::from_secs(number(2, 0)));
    let stats = run(target, count, seed, true, limit);
    let secs = stats.elapsed.as_secs_f64();
    println!("inputs:            {}", stats.inputs);
    println!("time:              {secs:.1} s ({:.0} inputs/s)", stats.inputs as f64 / secs);
    println!("max CPU per input: {:?} (input {})", stats.max_cpu, stats.costliest);
    println!("max wall-clock:    {:?} (input {})", stats.max_time, stats.slowest);
    // Wall-clock maxima include time the process was not scheduled; replaying the slowest
    // input alone shows what it costs by itself.
    let replay = (0..3)
        .map(|_| {
            let case = (target.input)(seed, stats.slowest);
            let t0 = Instant::now();
            let _ = (target.exercise)(&case);
            t0.elapsed()
        })
        .min()
        .unwrap_or_default();
    println!("slowest replayed:  {replay:?} wall-clock, alone");
    println!("RSS start/mid/end: {} / {} / {} kB", stats.rss_kb[0], stats.rss_kb[1], stats.rss_kb[2]);
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

#[cfg(test)]
mod tests {
    use super::*;

    crate::counts! {
        struct Seen { even, odd }
    }

    /// Inputs are their own index; odd multiples of 7 break an invariant, 9 panics.
    const NUMBERS: Target<u64, Seen> = Target { input: |_, index| index, exercise, describe: |_| Vec::new() };

    fn exercise(n: &u64) -> Result<Seen, String> {
        match n {
            9 => panic!("nine"),
            n if n % 14 == 7 => Err(format!("{n} is an odd multiple of 7")),
            n => Ok(Seen { even: u64::from(n % 2 == 0), odd: n % 2 }),
        }
    }

    #[test]
    fn a_run_sums_the_counts_and_names_each_failure() {
        let stats = run(&NUMBERS, 30, 1, false, None);
        assert_eq!(stats.inputs, 30);
        assert_eq!(stats.counts, Seen { even: 15, odd: 12 });
        let failures: Vec<(u64, &str)> = stats.failures.iter().map(|f| (f.index, f.what.as_str())).collect();
        assert_eq!(
            failures,
            [(7, "7 is an odd multiple of 7"), (9, "panic: nine"), (21, "21 is an odd multiple of 7")]
        );
        assert!(stats.rss_kb.iter().all(|&kb| kb > 0), "{:?}", stats.rss_kb);
        assert!(stats.slowest < 30 && stats.costliest < 30);
        assert!(stats.max_cpu <= stats.max_time.max(Duration::from_millis(20)), "{stats:?}");
        let result = panic::catch_unwind(|| stats.assert_no_failure());
        assert!(result.is_err());
    }

    /// Input 1 spins for longer than [`SLOW`] of CPU time.
    const COSTLY: Target<u64, Seen> = Target {
        input: |_, index| index,
        exercise: |n| {
            let t0 = ThreadTime::now();
            while *n == 1 && t0.elapsed() <= SLOW {
                std::hint::spin_loop();
            }
            Ok(Seen::default())
        },
        describe: |_| Vec::new(),
    };

    #[test]
    fn an_input_that_takes_more_than_a_second_of_cpu_fails() {
        let stats = run(&COSTLY, 3, 1, false, None);
        assert_eq!(stats.failures.len(), 1, "{stats:?}");
        assert_eq!(stats.failures[0].index, 1);
        assert!(stats.failures[0].what.contains("of CPU"), "{stats:?}");
        assert_eq!(stats.costliest, 1);
        assert!(stats.max_cpu > SLOW);
    }

    #[test]
    fn a_time_limit_ends_the_run() {
        let stats = run(&NUMBERS, u64::MAX - 2, 1, false, Some(Duration::ZERO));
        assert_eq!(stats.inputs, 1);
    }
}
