//! Checks the solution of exercise 7 (Production patterns): timeout with retry, a semaphore
//! limit and graceful cancellation. The example asserts its own claims; this test runs it and
//! checks the line it prints for each pattern. (Project 6 is tested by tests/resilient_fetcher.rs.)

mod common;

#[test]
fn exercise7_solution_proves_the_three_patterns() {
    let output = common::run_example("exercise7_solution", &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(r#"retry: "answer from call 3" after 3 calls"#),
        "{stdout}"
    );
    assert!(
        stdout.contains("limit: 12 jobs, at most 3 at once, in 200ms"),
        "{stdout}"
    );
    let cancel = stdout
        .lines()
        .find(|l| l.starts_with("cancel: "))
        .unwrap_or_else(|| panic!("no cancel line in {stdout}"));
    // "cancel: 16 jobs started, 16 finished, all workers stopped 20ms after the signal"
    let words: Vec<&str> = cancel.split_whitespace().collect();
    assert_eq!(words[1], words[4], "every started job finished: {cancel}");
    assert!(cancel.contains("stopped 20ms after the signal"), "{cancel}");
}
