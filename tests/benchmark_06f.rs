//! The benchmark of "Async vs Threads vs Processes", run in its quick `--small` mode: its output must
//! be complete, well formed and physically sane. (The chapter's figures come from a release run of
//! the full benchmark; this test only guards the program that produces them.)

mod common;

/// One row of the sleepers table:
/// `kind n started spawn_ms wake_ms finish_ms rss virt per_unit per_unit_range status...`.
#[derive(Debug)]
struct Row {
    started: usize,
    wake_ms: f64,
    finish_ms: f64,
    peak_rss_mib: f64,
    peak_virt_mib: f64,
    per_unit: String,
    status: String,
}

fn sleeper_row(out: &str, kind: &str, n: usize) -> Row {
    let line = out
        .lines()
        .find(|l| {
            let mut cols = l.split_whitespace();
            cols.next() == Some(kind) && cols.next() == Some(&n.to_string())
        })
        .unwrap_or_else(|| panic!("no row for {kind} n={n} in:\n{out}"));
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert!(cols.len() >= 11, "row too short: {line}");
    let num = |i: usize| -> f64 {
        cols[i]
            .parse()
            .unwrap_or_else(|_| panic!("column {i} of `{line}` is not a number"))
    };
    Row {
        started: cols[2].parse().expect("started"),
        wake_ms: num(4),
        finish_ms: num(5),
        peak_rss_mib: num(6),
        peak_virt_mib: num(7),
        per_unit: cols[8].to_string(),
        status: cols[10..].join(" "),
    }
}

#[test]
fn small_benchmark_output_is_well_formed_and_sane() {
    let out = common::stdout_of(&common::run_example("concurrency_benchmark", &["--small"]));

    assert!(
        out.contains("machine: "),
        "the machine is described:\n{out}"
    );
    assert!(out.contains("logical CPUs, model: "), "{out}");
    assert!(out.contains("thread stacks: thread-64k = 64 KiB"), "{out}");
    assert!(out.contains("thread limits: "), "{out}");

    for n in [100, 1_000] {
        for kind in ["tokio-task", "thread-64k", "thread-default"] {
            let row = sleeper_row(&out, kind, n);
            assert_eq!(row.status, "ok", "{kind} n={n}: {row:?}");
            assert_eq!(row.started, n, "{kind} n={n}: all units started");
            // Every unit sleeps 100 ms after the gate opens; ending comes after waking.
            assert!(
                row.wake_ms >= 99.0 && row.wake_ms < 10_000.0,
                "{kind} n={n}: wake {} ms",
                row.wake_ms
            );
            assert!(row.finish_ms >= row.wake_ms, "{kind} n={n}: {row:?}");
            assert!(
                row.peak_rss_mib > 0.5,
                "{kind} n={n}: a peak RSS was measured"
            );
            assert!(
                row.peak_virt_mib >= row.peak_rss_mib,
                "{kind} n={n}: virtual >= resident"
            );
            // Per-unit memory is derived only from 10,000 units and more (noise below that).
            assert_eq!(row.per_unit, "-", "{kind} n={n}");
        }
    }

    // Sanity of the comparisons the chapter draws, with wide margins.
    let task = sleeper_row(&out, "tokio-task", 1_000);
    let small = sleeper_row(&out, "thread-64k", 1_000);
    let default = sleeper_row(&out, "thread-default", 1_000);
    assert!(
        task.peak_rss_mib < small.peak_rss_mib,
        "1,000 tasks use less memory than 1,000 threads: {task:?} vs {small:?}"
    );
    assert!(
        default.peak_virt_mib > small.peak_virt_mib + 500.0,
        "2 MiB stacks reserve far more address space than 64 KiB ones: {default:?} vs {small:?}"
    );

    // The CPU job: three rows that found the same number of primes.
    assert!(
        out.contains("== CPU-bound job: count the primes below 100000"),
        "{out}"
    );
    let mut counts = Vec::new();
    for method in ["sequential", "rayon", "spawn_blocking"] {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(method))
            .unwrap_or_else(|| panic!("no {method} row in:\n{out}"));
        let cols: Vec<&str> = line.split_whitespace().collect();
        // method threads median_ms range_ms speedup primes
        assert_eq!(cols.len(), 6, "{line}");
        let ms: f64 = cols[2].parse().expect("ms");
        assert!(ms > 0.0, "{line}");
        let (min, max) = cols[3].split_once('-').expect("a range");
        let (min, max): (f64, f64) = (min.parse().unwrap(), max.parse().unwrap());
        assert!(
            min <= ms && ms <= max,
            "the median lies in the range: {line}"
        );
        assert!(cols[4].ends_with('x'), "{line}");
        counts.push(cols[5].parse::<u64>().expect("primes"));
    }
    assert_eq!(
        counts,
        vec![9592; 3],
        "there are 9,592 primes below 100,000"
    );
    assert!(out.contains("results agree: true"), "{out}");
}
