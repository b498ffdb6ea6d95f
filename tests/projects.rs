//! Runs the solutions of projects 1, 3, 4, 5 and 7 (src/reference/projects.md) and checks what
//! they print. Build them first:
//! cargo build --example project1_solution --example project3_starter --example project3_solution \
//!   --example project4_solution --example project5_solution --example project7_solution

mod common;

fn stdout_of(name: &str, args: &[&str]) -> String {
    let output = common::run_example(name, args);
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// The line that starts with `prefix`.
fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{out}"))
}

/// The first number (digits and dots) after `marker` in `text`.
fn number_after(text: &str, marker: &str) -> f64 {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not found in {text:?}"))
        + marker.len();
    let digits: String = text[start..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {marker:?} in {text:?}"))
}

#[test]
fn project1_concurrent_calls_beat_sequential_ones() {
    let out = stdout_of("project1_solution", &[]);
    for name in ["weather", "news", "stocks", "sports", "traffic"] {
        assert!(
            out.contains(&format!("{name}: ok")),
            "{name} missing:\n{out}"
        );
    }
    let sequential = number_after(line(&out, "sequential:"), "sequential:");
    let concurrent = number_after(line(&out, "concurrent:"), "concurrent:");
    // Latencies sum to 510 ms; the slowest is 150 ms. Allow a wide margin for a busy machine.
    assert!(
        sequential >= 500.0,
        "sequential took {sequential} ms:\n{out}"
    );
    assert!(
        concurrent < sequential * 0.6,
        "concurrent {concurrent} ms is not clearly faster than sequential {sequential} ms"
    );
}

#[test]
fn project3_starter_shows_the_bugs_and_solution_fixes_them() {
    let starter = stdout_of("project3_starter", &[]);
    let failures = starter.lines().filter(|l| l.contains(": FAIL")).count();
    assert!(
        failures >= 4,
        "the starter should show its bugs:\n{starter}"
    );

    let solution = stdout_of("project3_solution", &[]);
    for n in 1..=5 {
        let l = line(&solution, &format!("bug {n} "));
        assert!(l.contains(": ok"), "bug {n} not fixed: {l}");
    }
    assert!(solution.contains("5/5 checks passed"), "{solution}");
    assert!(solution.contains("alice 80 bob 120"), "{solution}");
}

#[test]
fn project4_retry_rate_limit_and_cancellation_work() {
    let out = stdout_of("project4_solution", &[]);
    let retry = line(&out, "retry: quote");
    assert!(retry.contains("on attempt 3"), "{retry}");
    assert_eq!(out.matches("timed out after 50ms").count(), 2, "{out}");

    let rate = line(&out, "rate limit:");
    assert!(rate.contains("peak 3 in flight"), "{rate}");
    // 12 jobs of 30 ms, 3 at a time: at least 4 rounds.
    assert!(number_after(rate, "(limit 3),") >= 115.0, "{rate}");

    let cancel = line(&out, "cancel: 3 workers");
    assert_eq!(
        out.matches("flushed").count(),
        3,
        "every worker cleans up:\n{out}"
    );
    assert!(number_after(cancel, "took") < 50.0, "{cancel}");
}

#[test]
fn project5_figures_are_present_and_sane() {
    let out = stdout_of("project5_solution", &[]);
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

    let memory = line(&out, "memory");
    let bytes = number_after(memory, "async task state");
    assert!(bytes > 0.0 && bytes < 4096.0, "{memory}");
}

#[test]
fn project7_server_is_correct_times_out_and_shuts_down() {
    let out = stdout_of("project7_solution", &[]);
    assert!(!out.contains("FAIL"), "{out}");
    assert!(
        line(&out, "clients:").contains("hits = 200 "),
        "lost updates:\n{out}"
    );
    assert!(out.contains("keys: 20 of 20"), "{out}");
    let idle = line(&out, "idle:");
    assert!(idle.contains("ERR idle timeout"), "{idle}");
    assert!(number_after(idle, "after") >= 190.0, "{idle}");
    assert!(
        line(&out, "shutdown:").contains("BYE shutting down"),
        "{out}"
    );
    assert!(out.contains("served 23 connections"), "{out}");
}
