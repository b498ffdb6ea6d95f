//! Checks exercise 9 (Async functions in traits, and async closures): the solution prints the line
//! each part proves, and the starter, whose `todo!()`s are not filled in, does not. Also runs the
//! chapter's `trait-variant` example, which is not on the Playground and so is tested here.

mod common;

use std::process::Output;

/// The four lines of a correct solution, one per part.
const EXPECTED: [&str; 4] = [
    "spawn: 5 records in 50ms",
    r#"dyn: ["fast:3", "slow:3"]"#,
    "retry: ok after 3 calls",
    "tree: 6 nodes, 36 bytes",
];

/// Whether a run of an exercise program did what the exercise asks: it exited successfully (so
/// its own assertions held) and printed every expected line.
fn solves_the_exercise(output: &Output) -> bool {
    let stdout = common::stdout_of(output);
    output.status.success()
        && EXPECTED
            .iter()
            .all(|line| stdout.lines().any(|l| l == *line))
}

#[test]
fn exercise10_solution_proves_all_four_parts() {
    let output = common::run_example("exercise10_solution", &[]);
    let stdout = common::stdout_of(&output);
    for line in EXPECTED {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing `{line}` in:\n{stdout}"
        );
    }
    assert!(solves_the_exercise(&output));
}

#[test]
fn exercise10_starter_does_not_solve_it_yet() {
    let output = common::run_with_timeout(
        common::example_command("exercise10_starter"),
        common::EXAMPLE_TIMEOUT,
    )
    .expect("the starter runs to completion (it stops at its first todo!())");
    assert!(
        !solves_the_exercise(&output),
        "the starter already satisfies the exercise:\n{}",
        common::stdout_of(&output)
    );
    // It fails at the first part, not because it could not start.
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("not yet implemented"),
        "the starter should stop at a todo!():\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn trait_variant_example_spawns_the_send_variant() {
    let output = common::run_example("trait_variant_store", &[]);
    let stdout = common::stdout_of(&output);
    assert!(
        stdout.contains(r#"Some("a@remote") Some("b@remote") in 25ms"#),
        "{stdout}"
    );
    assert!(stdout.contains(r#"local: Some("c@remote")"#), "{stdout}");
}
