//! Checks exercise 07 (chapter "Pinning": a batcher whose deadline keeps slipping). Both programs
//! run on tokio's paused clock, so the times they print are exact. The solution must flush every
//! batch by the time its oldest item has waited 100 ms; the starter, whose `sleep` is recreated on
//! every turn of its `select!` loop, must not.

mod common;

/// The arrival times in examples/exercise8_*.rs (ms after the start), one per item.
const ARRIVALS_MS: [u64; 18] = [
    0, 30, 60, 90, 120, 150, 180, 210, 300, 310, 320, 330, 340, 350, 360, 500, 530, 560,
];
const WINDOW_MS: u64 = 100;
const MAX_BATCH: usize = 5;

/// One `flush at 100ms: 4 items [0, 1, 2, 3], oldest waited 100ms` line.
#[derive(Debug)]
struct Flush {
    at_ms: u64,
    ids: Vec<usize>,
    waited_ms: u64,
}

/// "100ms" -> 100, "0ns" -> 0 (a paused clock prints whole milliseconds).
fn millis(text: &str) -> u64 {
    if text == "0ns" {
        return 0;
    }
    text.strip_suffix("ms")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("`{text}` is not a whole number of milliseconds"))
}

fn flushes(name: &str) -> Vec<Flush> {
    let stdout = common::stdout_of(&common::run_example(name, &[]));
    let parsed: Vec<Flush> = stdout
        .lines()
        .filter(|l| l.starts_with("flush at "))
        .map(|line| {
            let (at, rest) = line["flush at ".len()..]
                .split_once(": ")
                .unwrap_or_else(|| panic!("{name}: cannot read `{line}`"));
            let ids = rest
                .split_once('[')
                .and_then(|(_, r)| r.split_once(']'))
                .map(|(list, _)| list)
                .unwrap_or_else(|| panic!("{name}: no [ids] in `{line}`"));
            let ids = ids
                .split(", ")
                .map(|n| {
                    n.parse()
                        .unwrap_or_else(|_| panic!("{name}: bad id in `{line}`"))
                })
                .collect();
            let waited = rest
                .rsplit_once("oldest waited ")
                .map(|(_, w)| w.trim())
                .unwrap_or_else(|| panic!("{name}: no `oldest waited` in `{line}`"));
            Flush {
                at_ms: millis(at),
                ids,
                waited_ms: millis(waited),
            }
        })
        .collect();
    assert!(
        !parsed.is_empty(),
        "{name} printed no flush lines:\n{stdout}"
    );
    parsed
}

/// What a correct batcher does with these arrivals; `Err` says what is wrong.
fn check(batches: &[Flush]) -> Result<(), String> {
    let all: Vec<usize> = batches.iter().flat_map(|b| b.ids.iter().copied()).collect();
    if all != (0..ARRIVALS_MS.len()).collect::<Vec<_>>() {
        return Err(format!(
            "every item must be flushed once, in order; got {all:?}"
        ));
    }
    for (i, b) in batches.iter().enumerate() {
        let oldest = ARRIVALS_MS[b.ids[0]];
        let newest = ARRIVALS_MS[*b.ids.last().unwrap()];
        if b.ids.len() > MAX_BATCH {
            return Err(format!("batch {b:?} holds more than {MAX_BATCH} items"));
        }
        if b.waited_ms != b.at_ms - oldest {
            return Err(format!(
                "batch {b:?}: the printed wait does not match the arrivals"
            ));
        }
        if b.waited_ms > WINDOW_MS {
            return Err(format!(
                "batch {b:?}: its oldest item waited more than {WINDOW_MS} ms"
            ));
        }
        let last = i == batches.len() - 1;
        if b.ids.len() == MAX_BATCH {
            // A full batch goes out the moment its last item arrives.
            if b.at_ms != newest {
                return Err(format!(
                    "full batch {b:?} was not flushed when it filled up"
                ));
            }
        } else if !last && b.waited_ms != WINDOW_MS {
            // A batch that is neither full nor the last one waits out its whole window.
            return Err(format!(
                "batch {b:?} was flushed before its {WINDOW_MS} ms were up"
            ));
        }
    }
    Ok(())
}

#[test]
fn exercise8_solution_flushes_every_batch_within_its_window() {
    let batches = flushes("exercise8_solution");
    if let Err(problem) = check(&batches) {
        panic!("{problem}\nall flushes: {batches:#?}");
    }
    // With these arrivals: two windows of 4 items, a burst that fills a batch, then 2 and 3.
    let sizes: Vec<usize> = batches.iter().map(|b| b.ids.len()).collect();
    assert_eq!(sizes, [4, 4, 5, 2, 3], "{batches:#?}");
}

#[test]
fn exercise8_starter_lets_the_deadline_slip() {
    // The starter recreates its sleep on every turn of the loop, so with items every 30 ms the
    // 100 ms deadline never fires and batches are flushed only when full, too late.
    let batches = flushes("exercise8_starter");
    let problem = check(&batches).expect_err("the starter should not pass the solution's checks");
    assert!(
        batches.iter().any(|b| b.waited_ms > WINDOW_MS),
        "the starter's bug is a wait past the window ({problem}): {batches:#?}"
    );
}
