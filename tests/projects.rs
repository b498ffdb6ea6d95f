//! Runs the solutions of projects 1, 3, 4, 5 and 7 (src/reference/projects.md), and the starters of
//! projects 3, 4 and 7, and checks what they print. `cargo test` builds every example first.

mod common;

use common::{line_starting, number_after, run_example, stdout_of};

#[test]
fn project1_concurrent_calls_beat_sequential_ones() {
    let out = stdout_of(&run_example("project1_solution", &[]));
    for name in ["weather", "news", "stocks", "sports", "traffic"] {
        assert!(
            out.contains(&format!("{name}: ok")),
            "{name} missing:\n{out}"
        );
    }
    // Results in the order of the services (the program itself also asserts that both strategies
    // return the same list).
    let order: Vec<usize> = ["weather", "news", "stocks", "sports", "traffic"]
        .iter()
        .map(|name| out.find(&format!("  {name}: ok")).expect("listed above"))
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "results out of order:\n{out}"
    );
    let sequential = number_after(line_starting(&out, "sequential:"), "sequential:");
    let concurrent = number_after(line_starting(&out, "concurrent:"), "concurrent:");
    // Latencies sum to 510 ms; the slowest is 150 ms (a ratio of 0.29).
    assert!(
        sequential >= 500.0,
        "sequential took {sequential} ms:\n{out}"
    );
    assert!(
        concurrent < sequential * 0.5,
        "concurrent {concurrent} ms is not under half of sequential {sequential} ms"
    );
    // The error path: a service that is down makes the concurrent call fail at once (the first
    // error cancels the calls still in flight, the slowest of which takes 150 ms).
    let down = line_starting(&out, "one service down:");
    assert!(down.contains("error (ConnectionRefused)"), "{down}");
    assert!(
        number_after(down, "after") < 120.0,
        "the error came late: {down}"
    );
}

#[test]
fn project3_starter_shows_the_bugs_and_solution_fixes_them() {
    let starter = stdout_of(&run_example("project3_starter", &[]));
    let failures = starter.lines().filter(|l| l.contains(": FAIL")).count();
    assert_eq!(
        failures, 5,
        "the starter should show all five bugs:\n{starter}"
    );
    assert!(starter.contains("0/5 checks passed"), "{starter}");

    let solution = stdout_of(&run_example("project3_solution", &[]));
    for n in 1..=5 {
        let l = line_starting(&solution, &format!("bug {n} "));
        assert!(l.contains(": ok"), "bug {n} not fixed: {l}");
    }
    assert!(solution.contains("5/5 checks passed"), "{solution}");
    assert!(solution.contains("alice 80 bob 120"), "{solution}");
}

#[test]
fn project4_retry_concurrency_limit_and_cancellation_work() {
    let out = stdout_of(&run_example("project4_solution", &[]));
    let retry = line_starting(&out, "retry: quote");
    assert!(retry.contains("on attempt 3"), "{retry}");
    assert_eq!(out.matches("timed out after 50ms").count(), 2, "{out}");

    let rate = line_starting(&out, "concurrency limit:");
    assert!(rate.contains("peak 3 in flight"), "{rate}");
    // 12 jobs of 30 ms, 3 at a time: at least 4 rounds.
    assert!(number_after(rate, "(limit 3),") >= 115.0, "{rate}");

    let cancel = line_starting(&out, "cancel: 3 workers");
    assert_eq!(
        out.matches("flushed").count(),
        3,
        "every worker cleans up:\n{out}"
    );
    // ...and it does so because the token fired: the workers ran until they were cancelled.
    assert_eq!(
        out.matches("and closed (token cancelled: true)").count(),
        3,
        "every worker must run until the token is cancelled:\n{out}"
    );
    assert!(number_after(cancel, "took") < 50.0, "{cancel}");
}

#[test]
fn project5_figures_are_present_and_sane() {
    let out = stdout_of(&run_example("project5_solution", &[]));
    let time = |workload: &str, approach: &str| {
        let l = out
            .lines()
            .find(|l| {
                let mut words = l.split_whitespace();
                words.next() == Some(workload) && words.next() == Some(approach)
            })
            .unwrap_or_else(|| panic!("no {workload} {approach} line:\n{out}"));
        number_after(l, approach)
    };
    let (io_sync, io_threads, io_async) = (
        time("io", "sync"),
        time("io", "threads"),
        time("io", "async"),
    );
    // 20 waits of 25 ms: 500 ms one after another, about 25 ms when they overlap.
    assert!(io_sync >= 480.0, "io sync {io_sync} ms");
    assert!(
        io_async < io_sync * 0.3,
        "io async {io_async} vs sync {io_sync}"
    );
    assert!(
        io_threads < io_sync * 0.3,
        "io threads {io_threads} vs sync {io_sync}"
    );

    let (cpu_sync, cpu_async, cpu_rayon) = (
        time("cpu", "sync"),
        time("cpu", "async-1-thread"),
        time("cpu", "rayon"),
    );
    for t in [cpu_sync, cpu_async, cpu_rayon] {
        assert!(
            t > 0.0 && t < 10_000.0,
            "cpu figure {t} ms out of range:\n{out}"
        );
    }
    // Async on one thread cannot beat plain sequential code on pure computation: the two do the
    // same work on one core. (The margin absorbs a busy machine slowing one run and not the other.)
    assert!(
        cpu_async > cpu_sync * 0.3,
        "cpu async {cpu_async} vs sync {cpu_sync}"
    );

    let memory = line_starting(&out, "memory");
    let bytes = number_after(memory, "async future state");
    assert!(bytes > 0.0 && bytes < 4096.0, "{memory}");
    // The async variants ran on a single-threaded runtime, as the statement requires.
    assert!(out.contains("every async task ran on 1 thread(s)"), "{out}");
}

#[test]
fn project7_server_meets_all_five_requirements() {
    let out = stdout_of(&run_example("project7_solution", &[]));
    assert!(!out.contains("FAIL"), "{out}");

    // 1. Concurrent: a silent client does not hold up a second one.
    let concurrency = line_starting(&out, "concurrency:");
    assert!(
        concurrency.contains("got \"NIL\" while a silent client stayed connected: true"),
        "{concurrency}"
    );

    // 2. Correct under load: no lost update, every client reads its own key back.
    assert!(
        line_starting(&out, "clients:").contains("hits = 200 "),
        "lost updates:\n{out}"
    );
    assert!(out.contains("keys: 20 of 20"), "{out}");

    // 3. Bounded: with 64 connections open the 65th waits, and is served once one leaves.
    let cap = line_starting(&out, "cap:");
    assert!(
        cap.contains("65th client served while 64 were open: false; after one left: \"200\""),
        "{cap}"
    );

    // 4. Idle timeout (1 s in the demo).
    let idle = line_starting(&out, "idle:");
    assert!(idle.contains("ERR idle timeout"), "{idle}");
    assert!(number_after(idle, "after") >= 990.0, "{idle}");

    // INCR past i64::MAX answers an error and does not poison the store.
    let overflow = line_starting(&out, "overflow:");
    assert!(
        overflow.contains("\"ERR overflow\"; then GET big -> \"9223372036854775807\""),
        "{overflow}"
    );

    // 5. Graceful shutdown: every open connection says goodbye, and `serve` returns only after
    //    the lingering connection task (it waits up to 100 ms for its client to hang up) is done.
    let shutdown = line_starting(&out, "shutdown: open client");
    assert!(shutdown.contains("BYE shutting down"), "{out}");
    assert!(
        number_after(shutdown, "server stopped in") >= 90.0,
        "serve returned before its connection task finished: {shutdown}"
    );
    assert!(
        out.contains("connection tasks still running when serve returned: 0"),
        "{out}"
    );
    assert!(out.contains("served 92 connections"), "{out}");
}

#[test]
fn project7_starter_fails_the_steps_it_does_not_implement() {
    let out = stdout_of(&run_example("project7_starter", &[]));
    for step in ["concurrency", "cap", "idle", "shutdown"] {
        assert!(
            out.contains(&format!("{step}: FAIL")),
            "the starter should fail the {step} step:\n{out}"
        );
    }
    // What the starter already gets right (execute, one client at a time) still works.
    assert!(
        line_starting(&out, "clients:").contains("hits = 200 "),
        "{out}"
    );
    assert!(
        line_starting(&out, "overflow:").contains("\"ERR overflow\""),
        "{out}"
    );
}
