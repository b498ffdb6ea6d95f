//! Checks exercise 13 (chapter "Inside the runtime"): an import loop on a `current_thread`
//! runtime whose awaits never spend tokio's cooperative budget, beside a heartbeat task. The
//! starter keeps the thread for all 20,000 records; the solution must let the heartbeat in at
//! least every 128 records, import the same records (same checksum), and not yield after every
//! record. The test runs both programs and reads the line each prints:
//! `20000 records imported, checksum 199990000, longest gap 128 records, heartbeat turns 157`.

mod common;

/// The numbers of the report line, in order.
#[derive(Debug)]
struct Report {
    imported: u64,
    checksum: u64,
    longest_gap: u64,
    heartbeat_turns: u64,
}

/// The sum of the record ids 0..20,000: what every correct import adds up to.
const CHECKSUM: u64 = 19_999 * 20_000 / 2;

fn report_of(name: &str) -> (Report, String) {
    let stdout = common::stdout_of(&common::run_example(name, &[]));
    let numbers = common::numbers_on_line(&stdout, " records imported, ", 4);
    let report = Report {
        imported: numbers[0],
        checksum: numbers[1],
        longest_gap: numbers[2],
        heartbeat_turns: numbers[3],
    };
    (report, stdout)
}

/// What a correct import achieves.
fn problems(r: &Report) -> Vec<String> {
    let mut problems = Vec::new();
    if r.imported != 20_000 || r.checksum != CHECKSUM {
        problems.push(format!(
            "{} records imported with checksum {} (expected 20000 and {CHECKSUM})",
            r.imported, r.checksum
        ));
    }
    if r.longest_gap > 128 {
        problems.push(format!(
            "the heartbeat waited {} records in a row (at most 128)",
            r.longest_gap
        ));
    }
    if r.heartbeat_turns < 2 {
        problems.push(format!(
            "the heartbeat had {} turns: it never ran during the import",
            r.heartbeat_turns
        ));
    }
    if r.heartbeat_turns >= 1_000 {
        problems.push(format!(
            "the heartbeat had {} turns: the loop yields far more often than it needs to",
            r.heartbeat_turns
        ));
    }
    problems
}

#[test]
fn exercise13_solution_lets_the_heartbeat_in() {
    let (report, stdout) = report_of("exercise13_solution");
    let problems = problems(&report);
    assert!(problems.is_empty(), "{problems:?}\n{stdout}");
}

#[test]
fn exercise13_starter_starves_the_heartbeat() {
    // The starter is the bug to fix: the import keeps the thread from the first record to the last.
    let (report, stdout) = report_of("exercise13_starter");
    assert_eq!(
        (report.imported, report.checksum),
        (20_000, CHECKSUM),
        "the starter imports every record:\n{stdout}"
    );
    assert_eq!(
        report.longest_gap, 20_000,
        "the starter should keep the thread for all 20,000 records:\n{stdout}"
    );
    assert!(
        !problems(&report).is_empty(),
        "the starter passes the solution's checks:\n{stdout}"
    );
}
