//! Checks the exercise solutions of chapters 6a-6c ("Your first async program", "Understanding
//! `.await`", "Running many tasks") by running each example and reading what it prints.
//!
//! Build the examples first: `cargo build --example exercise1_solution --example
//! exercise2_solution --example exercise3_solution`, then `cargo test --test exercises_06abc`.

mod common;

use common::{line_starting, number_after, run_example, stdout_of};

#[test]
fn exercise1_five_services_concurrently() {
    let out = stdout_of(&run_example("exercise1_solution", &[]));
    // All five results, in the order of the list.
    let services: Vec<&str> = out
        .lines()
        .filter(|l| l.ends_with(": 200 OK"))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        services,
        ["users", "orders", "stock", "prices", "reviews"],
        "output:\n{out}"
    );
    // Five 200 ms waits: about 1,000 ms one by one, about 200 ms together.
    let sequential = number_after(line_starting(&out, "sequential:"), "sequential:");
    let concurrent = number_after(line_starting(&out, "concurrent:"), "concurrent:");
    let speedup = number_after(line_starting(&out, "speedup:"), "speedup:");
    assert!(sequential >= 1000.0, "sequential took {sequential} ms");
    assert!(concurrent < 600.0, "concurrent took {concurrent} ms");
    assert!(
        speedup >= 3.0,
        "expected close to 5x, got {speedup}x\n{out}"
    );
}

#[test]
fn exercise2_every_future_awaited() {
    let out = stdout_of(&run_example("exercise2_solution", &[]));
    assert!(
        out.contains("ledger: 3 of 3 entries"),
        "every sale recorded:\n{out}"
    );
    assert!(
        out.contains("receipts: 3 of 3 sent"),
        "every receipt sent:\n{out}"
    );
    assert!(out.contains("total: 1000 cents"), "the total:\n{out}");
}

#[test]
fn exercise3_results_in_completion_order() {
    let out = stdout_of(&run_example("exercise3_solution", &[]));
    // Lines look like "done 81 ms: http://example.test/small -> 200 (latency 80 ms)".
    let mut times = Vec::new();
    let mut latencies = Vec::new();
    for line in out.lines().filter(|l| l.starts_with("done ")) {
        times.push(number_after(line, "done "));
        let latency = line
            .rsplit("(latency ")
            .next()
            .and_then(|s| s.trim_end_matches(" ms)").parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no latency in {line:?}"));
        latencies.push(latency);
    }
    assert_eq!(latencies.len(), 6, "six results:\n{out}");
    // Printed as they arrived: fastest first, although the list starts with the slowest.
    assert_eq!(
        latencies,
        [20, 80, 140, 200, 260, 320],
        "completion order:\n{out}"
    );
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "printed times never go down: {times:?}"
    );
    // The first result was printed long before the slowest one finished.
    assert!(
        times[0] < 200.0,
        "the 20 ms result was printed at {} ms",
        times[0]
    );
    // Concurrent: about the slowest fetch (320 ms), not the sum (1,020 ms).
    let total = number_after(line_starting(&out, "total:"), "total:");
    assert!(total < 700.0, "total {total} ms\n{out}");
}
