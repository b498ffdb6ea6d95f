//! Checks exercise 11 (chapter "Async I/O and protocols"): a length-prefixed `Decoder` fed three
//! bytes at a time. The starter consumes a frame's header before its payload has arrived, so it
//! loses its place in the stream; the solution must decode all four messages intact and refuse the
//! oversized frame by its header, before waiting for 60,000 bytes that never come.

mod common;

const MESSAGES: [&str; 4] = ["hello", "partial frames", "are normal", "on a real network"];

fn output_of(name: &str) -> String {
    common::stdout_of(&common::run_example(name, &[]))
}

/// The messages printed as `frame N: "..."` lines, in order, and the last line.
fn decoded(stdout: &str) -> (Vec<String>, String) {
    let frames = stdout
        .lines()
        .filter_map(|l| {
            l.split_once(": \"")
                .filter(|(head, _)| head.starts_with("frame "))
        })
        .map(|(_, rest)| rest.trim_end_matches('"').to_string())
        .collect();
    let last = stdout.lines().last().unwrap_or_default().to_string();
    (frames, last)
}

#[test]
fn exercise11_solution_decodes_partial_frames_and_refuses_an_oversized_one() {
    let stdout = output_of("exercise11_solution");
    let (frames, last) = decoded(&stdout);
    assert_eq!(
        frames, MESSAGES,
        "every message, intact and in order:\n{stdout}"
    );
    assert_eq!(
        last, "4 frames decoded, then: frame of 60000 bytes is over the 1024-byte limit",
        "the 60,000-byte header must be refused by the limit, not end as a truncated frame:\n{stdout}"
    );
}

#[test]
fn exercise11_starter_loses_its_place() {
    // The starter is the bug to fix: it must not already pass the solution's checks.
    let stdout = output_of("exercise11_starter");
    let (frames, last) = decoded(&stdout);
    assert!(
        frames != MESSAGES || !last.contains("over the 1024-byte limit"),
        "the starter should lose frames that arrive in pieces, but it decodes them all:\n{stdout}"
    );
}
