//! Exercise 6 of "Async vs Threads vs Processes": async and threads both overlap I/O waits, and
//! threads, rayon and processes all compute the same answer for the CPU-bound job.

mod common;

use std::collections::HashMap;

fn number(f: &HashMap<String, String>, key: &str) -> f64 {
    f[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key}={} is not a number", f[key]))
}

#[test]
fn async_and_threads_overlap_io_and_every_cpu_method_agrees() {
    let out = common::stdout_of(&common::run_example("exercise6_solution", &[]));

    let io = common::fields(&out, "io");
    let requests = number(&io, "requests");
    let latency = number(&io, "latency_ms");
    let sequential = number(&io, "sequential_ms");
    assert!(
        sequential >= requests * latency * 0.95,
        "one at a time, the waits add up:\n{out}"
    );
    for key in ["threads_ms", "async_ms"] {
        let t = number(&io, key);
        assert!(
            t >= latency * 0.95,
            "{key}: no request is faster than the server:\n{out}"
        );
        assert!(
            t < sequential / 3.0,
            "{key}: concurrent requests overlap their waits:\n{out}"
        );
    }

    let cpu = common::fields(&out, "cpu");
    assert_eq!(
        cpu["agree"], "true",
        "sequential, rayon and processes agree:\n{out}"
    );
    let expected = match cpu["limit"].as_str() {
        "200000" => "17984",   // debug build
        "2000000" => "148933", // release build
        other => panic!("unexpected limit {other}"),
    };
    assert_eq!(
        cpu["primes"], expected,
        "the prime count below {}:\n{out}",
        cpu["limit"]
    );
    assert!(number(&cpu, "process_start_ms") > 0.0, "{out}");
}
