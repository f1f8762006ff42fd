//! What the fuzz drivers of the workspace share, on stable Rust and without Kamailio.
//!
//! A driver is an example of its crate that declares a [`Target`]: a grammar-aware generator
//! of inputs (driven by [`Rng`], mutated with [`mutate_bytes`]) and an `exercise` that runs one
//! input through the crate's logic and checks the invariants between the results. [`run`]
//! drives a target over many inputs: it catches panics, times every input, ends the process
//! when one hangs, and records the resident set size. [`main`] is the drivers' command line:
//!
//! ```text
//! <driver> <count> <seed> [<seconds>]     fuzz inputs 0..count of seed (for at most seconds)
//! <driver> show <seed> <index>            print one input and what exercising it gives
//! ```

mod counts;
mod rng;
mod run;

pub use counts::Counts;
pub use rng::{mutate_bytes, mutate_string, Rng};
pub use run::{main, rss_kb, run, Failure, Stats, SLOW};

/// One fuzz target: how its inputs are made and what is done with each.
pub struct Target<I, C> {
    /// Input `index` of `seed`: the same numbers always give the same input.
    pub input: fn(seed: u64, index: u64) -> I,
    /// Runs one input through every operation, counting what succeeded; `Err` when an
    /// invariant does not hold.
    pub exercise: fn(&I) -> Result<C, String>,
    /// Lines `show` prints after the input itself, such as its bodies as text.
    pub describe: fn(&I) -> Vec<String>,
}
