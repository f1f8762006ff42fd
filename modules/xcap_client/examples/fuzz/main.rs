//! Fuzzes xcap_client's handling of HTTP answers (header lines, ETags, body chunks, size limit,
//! failed transfers, status) and the refresh decision with generated inputs, on stable Rust:
//!
//! ```text
//! cargo run --release -p xcap_client --example fuzz-xcap-client -- <count> <seed> [<seconds>]
//! cargo run --release -p xcap_client --example fuzz-xcap-client -- show <seed> <index>
//! ```
//!
//! Prints throughput, the slowest input and the resident set size at the start, middle and
//! end (stopping early after `<seconds>` if given); exits with status 1 when an input
//! panicked, took more than a second of CPU time or broke an invariant (each failure names its input
//! index, which `show` prints). The run loop and the command line are the `fuzzing` crate's.

mod driver;
mod generate;

fn main() -> std::process::ExitCode {
    fuzzing::main(&driver::TARGET)
}
