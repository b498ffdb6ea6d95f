//! Checks exercise 8 (chapter "Streams"): a crawler that fetches through `buffer_unordered(4)`
//! and saves each page in the loop body. The starter's fetches stall in the buffer while it saves,
//! and the simulated server drops them; the solution must lose none, keep at most four fetches in
//! flight, save every page, and stay concurrent. The test runs both programs and reads the summary
//! line each prints:
//! `12 pages fetched, 12 saved, 0 failed, peak 4 in flight, in 520ms`.

mod common;

/// The numbers of the summary line, in order: fetched, saved, failed, peak, milliseconds.
#[derive(Debug)]
struct Summary {
    fetched: u64,
    saved: u64,
    failed: u64,
    peak: u64,
    ms: u64,
}

fn summary_of(name: &str) -> (Summary, String) {
    let stdout = common::stdout_of(&common::run_example(name, &[]));
    let numbers = common::numbers_on_line(&stdout, " pages fetched, ", 5);
    let summary = Summary {
        fetched: numbers[0],
        saved: numbers[1],
        failed: numbers[2],
        peak: numbers[3],
        ms: numbers[4],
    };
    (summary, stdout)
}

/// What a correct crawler achieves: every page fetched and saved, none lost, at most four in
/// flight, and faster than doing one page at a time (about 1,140 ms on the paused clock).
fn problems(s: &Summary) -> Vec<String> {
    let mut problems = Vec::new();
    if s.fetched != 12 || s.saved != 12 {
        problems.push(format!(
            "{} of 12 pages fetched, {} saved",
            s.fetched, s.saved
        ));
    }
    if s.failed != 0 {
        problems.push(format!("{} fetches failed", s.failed));
    }
    if s.peak == 0 || s.peak > 4 {
        problems.push(format!("peak {} in flight (the limit is 4)", s.peak));
    }
    if s.ms >= 700 {
        problems.push(format!(
            "{} ms: the fetches no longer overlap the saves",
            s.ms
        ));
    }
    problems
}

#[test]
fn exercise9_solution_loses_no_page() {
    let (summary, stdout) = summary_of("exercise9_solution");
    let problems = problems(&summary);
    assert!(problems.is_empty(), "{problems:?}\n{stdout}");
}

#[test]
fn exercise9_starter_shows_the_stall() {
    // The starter is the bug to fix: its fetches stall in the buffer and some are dropped.
    let (summary, stdout) = summary_of("exercise9_starter");
    assert!(
        summary.failed > 0 && !problems(&summary).is_empty(),
        "the starter should lose pages to the stall, but it passes the solution's checks:\n{stdout}"
    );
    assert_eq!(
        summary.fetched + summary.failed,
        12,
        "every page is either fetched or failed:\n{stdout}"
    );
}
