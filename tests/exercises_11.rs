//! Checks exercise 12 (chapter "Testing async code"): a test of a retry loop, rewritten to run on
//! tokio's paused clock. The solution must print every attempt at its exact virtual time and
//! `ok after 3 attempts in 950ms`, and finish in well under the 950 ms it simulates; the starter,
//! on the real clock, does neither.

mod common;

use std::time::{Duration, Instant};

/// What the retry loop does, to the millisecond, on a virtual clock.
const EXACT: &str = "\
attempt 1 at 0ms: timed out at 300ms
attempt 2 at 400ms: timed out at 700ms
attempt 3 at 900ms: ok at 950ms
ok after 3 attempts in 950ms
";

/// Run the example; return what it printed and how long it took in real time.
fn run(name: &str) -> (String, Duration) {
    let start = Instant::now();
    let output = common::run_example(name, &[]);
    (common::stdout_of(&output), start.elapsed())
}

#[test]
fn exercise12_solution_is_exact_and_instant() {
    let (out, real) = run("exercise12_solution");
    assert_eq!(
        out, EXACT,
        "the solution must print the exact virtual times"
    );
    assert!(
        real < Duration::from_millis(500),
        "the solution took {real:?} of real time: the clock is not paused"
    );
}

#[test]
fn exercise12_starter_waits_and_drifts() {
    let (out, real) = run("exercise12_starter");
    // The starter does get its reply, on the third attempt...
    assert!(out.contains("ok after 3 attempts in "), "{out}");
    // ...but it waits for every timeout and backoff on the real clock.
    assert!(
        real >= Duration::from_millis(950),
        "the starter finished in {real:?}: it should wait the full 950 ms"
    );
    assert_ne!(
        out, EXACT,
        "the starter printed the exact times on a real clock:\n{out}"
    );
}
