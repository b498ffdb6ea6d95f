//! Chapter "Testing async code": the `#[tokio::test]` functions of `examples/tokio_test_mocks.rs`
//! (compiled here as a module, so that `cargo test` runs them), and the turmoil and loom programs
//! run as the chapter runs them, their output and exit status checked.

mod common;

// The example's `main` is not called here; its `tests` module is what runs.
#[allow(dead_code)]
#[path = "../examples/tokio_test_mocks.rs"]
mod tokio_test_mocks;

use common::{example_command, run_example, run_with_timeout, stdout_of, EXAMPLE_TIMEOUT};

#[test]
fn tokio_test_mocks_main_prints_the_conversation() {
    let out = stdout_of(&run_example("tokio_test_mocks", &[]));
    assert_eq!(
        out,
        "> HELLO ada\n< hi ada\n> HELLO alan\n< hi alan\n> PING\n< error\nanswered 3\n"
    );
}

#[test]
fn turmoil_client_gets_through_after_the_partition() {
    let out = stdout_of(&run_example("turmoil_partition", &["1"]));
    let lines: Vec<&str> = out.lines().collect();
    // Refused at once while partitioned, at the backoff times 0, 100, 300, 700, 1500 ms.
    for (i, at) in [0, 100, 300, 700, 1500].iter().enumerate() {
        assert_eq!(
            lines[i],
            format!("attempt {} at {at}ms: connection refused", i + 1),
            "{out}"
        );
    }
    assert_eq!(lines[5], "2000ms: link repaired", "{out}");
    assert!(
        lines[6].starts_with("attempt 6 at 3100ms: got \"pong\""),
        "{out}"
    );
    assert!(lines[7].starts_with("seed 1: done at "), "{out}");
}

#[test]
fn turmoil_same_seed_same_run() {
    let a = stdout_of(&run_example("turmoil_partition", &["7"]));
    let b = stdout_of(&run_example("turmoil_partition", &["7"]));
    assert_eq!(a, b, "two runs with seed 7 differ");
    // Another seed draws other latencies: the reply arrives at another virtual time.
    let c = stdout_of(&run_example("turmoil_partition", &["2"]));
    let reply = |s: &str| {
        s.lines()
            .find(|l| l.contains("got"))
            .unwrap_or("")
            .to_string()
    };
    assert_ne!(
        reply(&a),
        reply(&c),
        "seeds 7 and 2 gave the same latencies:\n{a}\n{c}"
    );
}

#[test]
fn turmoil_held_messages_time_out_instead() {
    let out = stdout_of(&run_example("turmoil_partition", &["1", "--hold"]));
    assert!(
        out.starts_with("attempt 1 at 0ms: timed out\nattempt 2 at 400ms: timed out\n"),
        "{out}"
    );
    assert!(out.contains("2000ms: link released\n"), "{out}");
    assert!(out.contains("got \"pong\""), "{out}");
}

#[test]
fn turmoil_without_retries_the_simulation_fails() {
    let mut cmd = example_command("turmoil_partition");
    cmd.args(["1", "--no-retry"]);
    let out = run_with_timeout(cmd, EXAMPLE_TIMEOUT).unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stdout_of(&out),
        "attempt 1 at 0ms: connection refused\nseed 1: failed at 0ms: no reply after 1 attempts\n"
    );
}

#[test]
fn loom_passes_the_release_acquire_slot() {
    let start = std::time::Instant::now();
    let out = stdout_of(&run_example("loom_slot", &["fixed"]));
    assert!(
        out.starts_with("fixed: ") && out.contains("executions explored, every one passed"),
        "{out}"
    );
    // A small model: it explores a handful of executions, in well under a second of debug build.
    assert!(
        start.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn loom_catches_the_relaxed_slot() {
    let mut cmd = example_command("loom_slot");
    cmd.arg("relaxed").env("RUST_BACKTRACE", "0");
    let out = run_with_timeout(cmd, EXAMPLE_TIMEOUT).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(101), "loom should panic:\n{stderr}");
    assert!(
        stderr.contains("Causality violation: Concurrent read and write accesses."),
        "{stderr}"
    );
    assert!(
        stdout_of(&out).is_empty(),
        "the model never finished, so no summary line"
    );
}
