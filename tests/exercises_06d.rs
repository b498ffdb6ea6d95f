//! Exercise 4 of "Common Bugs and Debugging": the starter shows three bugs, the solution fixes them.
//!
//! Both programs print the same three report lines:
//!
//! ```text
//! sales: customers=20 stock=10 sold=10 left=0 oversold=0
//! heartbeat: ticks=25 max_gap_ms=19
//! audits: spawned=10 ok=9 failed_observed=1
//! ```

mod common;

use std::collections::HashMap;

/// The numbers of the report line that starts with `prefix:`.
fn fields(stdout: &str, prefix: &str) -> HashMap<String, i64> {
    common::fields(stdout, prefix)
        .into_iter()
        .map(|(k, v)| {
            let n = v
                .parse()
                .unwrap_or_else(|_| panic!("`{k}={v}` in the `{prefix}:` line is not a number"));
            (k, n)
        })
        .collect()
}

#[test]
fn the_solution_fixes_all_three_bugs() {
    let out = common::stdout_of(&common::run_example("exercise4_solution", &[]));

    // 1. The race: never sell more than the stock, and sell all of it.
    let sales = fields(&out, "sales");
    assert_eq!(sales["oversold"], 0, "the shop oversold:\n{out}");
    assert_eq!(
        sales["sold"], sales["stock"],
        "every item is sold exactly once:\n{out}"
    );
    assert_eq!(sales["left"], 0, "{out}");

    // 2. The blocked executor: the 10 ms heartbeat never stalls behind the 300 ms report. The
    // bound leaves room for a busy machine (a debug build, real time, a panic on the same
    // thread) and still fails the starter, whose gap is the whole 300 ms.
    let heartbeat = fields(&out, "heartbeat");
    assert!(
        heartbeat["max_gap_ms"] < 200,
        "the heartbeat stalled for {} ms: the executor is still blocked:\n{out}",
        heartbeat["max_gap_ms"]
    );
    assert!(
        heartbeat["ticks"] >= 10,
        "the heartbeat kept ticking:\n{out}"
    );

    // 3. The panic in a background task is observed, and the other audits are counted.
    let audits = fields(&out, "audits");
    assert_eq!(
        audits["failed_observed"], 1,
        "the panicking audit was not reported:\n{out}"
    );
    assert_eq!(
        audits["ok"] + audits["failed_observed"],
        audits["spawned"],
        "{out}"
    );
    assert!(
        out.contains("audit failure observed: sale record for customer 3 is corrupt"),
        "the failure is logged with its message:\n{out}"
    );
}

#[test]
fn the_starter_shows_the_three_bugs() {
    let out = common::stdout_of(&common::run_example("exercise4_starter", &[]));

    let sales = fields(&out, "sales");
    assert!(
        sales["oversold"] > 0,
        "the starter's race should oversell:\n{out}"
    );

    let heartbeat = fields(&out, "heartbeat");
    assert!(
        heartbeat["max_gap_ms"] >= 250,
        "the starter's blocking report should stall the heartbeat:\n{out}"
    );

    let audits = fields(&out, "audits");
    assert_eq!(audits["failed_observed"], 0, "{out}");
    assert!(
        audits["ok"] < audits["spawned"],
        "an audit silently went missing in the starter:\n{out}"
    );
}
