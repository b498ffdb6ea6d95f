//! Tokio tasks vs OS threads for many concurrent waits, and three ways to run a CPU-bound job.
//!
//! Run it with `cargo run --release --example concurrency_benchmark` (a few minutes), or with
//! `--small` for a quick check (100 and 1,000 sleepers, a smaller CPU job, fewer repetitions).
//! `--repeat R` sets the number of measured runs per case (default 5; 3 with `--small`).
//!
//! Part 1, concurrent sleepers. For N = 1,000, 10,000 and 100,000 it starts N units of concurrency
//! of one kind: tokio tasks, OS threads with a 64 KiB stack, or OS threads with the standard
//! library's default stack (2 MiB unless `RUST_MIN_STACK` says otherwise). Every unit first waits at
//! a closed gate, so that all N are alive at the same moment; then the gate opens and each unit
//! sleeps 100 ms and ends. It reports:
//!
//! - `spawn_ms`: time to start all N units and have every one of them waiting at the gate (the
//!   last unit to arrive signals it: no polling, so tasks and threads are timed the same way);
//! - `wake_ms`: time from opening the gate until the last unit has woken from its sleep (ideal:
//!   100 ms; tokio's timer has millisecond granularity, so a task's 100 ms sleep can last 101 ms);
//! - `finish_ms`: time from opening the gate until all N have ended and been joined (thread exits
//!   and joins included);
//! - `peak_rss_MiB` / `peak_virt_MiB`: the process's peak resident and virtual memory, read from
//!   `VmHWM` and `VmPeak` in /proc/self/status;
//! - `per_unit_KiB`: peak resident memory above an idle process of the same kind, divided by N,
//!   for N >= 10,000 only (below that the difference is within the noise of the baseline).
//!
//! Each case runs in a fresh child process (this program re-executes itself with
//! `--case KIND N`), so that the peaks of different cases never mix. Each case runs once as a
//! warm-up (discarded), then `--repeat` times; the table shows the median of each column and the
//! range (min-max) of `per_unit_KiB`.
//!
//! The sleepers measure the cheapest possible wait: a timer. A unit that holds a network
//! connection also costs a file descriptor, kernel socket buffers and user-space buffers, which
//! this benchmark does not measure.
//!
//! Threads are not free: each one takes a process id and a few memory mappings. Before it starts
//! N threads the benchmark reads the kernel's limits, and if N would come close to exhausting them
//! for every other process on the machine, it does not try, and says so. `--force` tries anyway.
//!
//! Part 2, a CPU-bound job: count the primes below a limit sequentially, with `rayon`, and with one
//! `tokio::task::spawn_blocking` call per core. One warm-up run, then `--repeat` runs each: the
//! table shows the median and the range.

use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long each sleeper sleeps once the gate opens.
const SLEEP: Duration = Duration::from_millis(100);
/// The stack size of the "small stack" threads.
const SMALL_STACK: usize = 64 * 1024;
/// The standard library's default stack size for spawned threads.
const STD_DEFAULT_STACK: usize = 2 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Measurements inside a child process
// ---------------------------------------------------------------------------------------------

/// What one case measured; printed by the child as a `CASE key=value ...` line.
#[derive(Debug, Default, Clone)]
struct CaseResult {
    kind: String,
    n: usize,
    started: usize,
    spawn_ms: f64,
    wake_ms: f64,
    finish_ms: f64,
    vmhwm_kib: u64,
    vmpeak_kib: u64,
    status: String,
}

impl CaseResult {
    fn to_line(&self) -> String {
        format!(
            "CASE kind={} n={} started={} spawn_ms={:.3} wake_ms={:.3} finish_ms={:.3} vmhwm_kib={} vmpeak_kib={} status={}",
            self.kind,
            self.n,
            self.started,
            self.spawn_ms,
            self.wake_ms,
            self.finish_ms,
            self.vmhwm_kib,
            self.vmpeak_kib,
            self.status
        )
    }

    fn from_line(line: &str) -> Option<CaseResult> {
        let rest = line.strip_prefix("CASE ")?;
        // `status` is last and may contain spaces.
        let (fields, status) = rest.split_once(" status=")?;
        let mut r = CaseResult {
            status: status.to_string(),
            ..Default::default()
        };
        for kv in fields.split_whitespace() {
            let (k, v) = kv.split_once('=')?;
            match k {
                "kind" => r.kind = v.to_string(),
                "n" => r.n = v.parse().ok()?,
                "started" => r.started = v.parse().ok()?,
                "spawn_ms" => r.spawn_ms = v.parse().ok()?,
                "wake_ms" => r.wake_ms = v.parse().ok()?,
                "finish_ms" => r.finish_ms = v.parse().ok()?,
                "vmhwm_kib" => r.vmhwm_kib = v.parse().ok()?,
                "vmpeak_kib" => r.vmpeak_kib = v.parse().ok()?,
                _ => {}
            }
        }
        Some(r)
    }
}

/// A field of /proc/self/status in KiB (`VmHWM`: peak resident set, `VmPeak`: peak virtual size).
fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// When the last unit woke up, as nanoseconds after `base`.
fn record_wake(base: Instant, last_wake: &AtomicU64) {
    last_wake.fetch_max(base.elapsed().as_nanos() as u64, Ordering::SeqCst);
}

/// N tokio tasks on a multi-threaded runtime (one worker per core).
fn case_tokio(n: usize) -> CaseResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let mut r = runtime.block_on(async move {
        let gate = Arc::new(tokio::sync::RwLock::new(()));
        let closed = gate.clone().write_owned().await;
        let arrived = Arc::new(AtomicUsize::new(0));
        let all_in = Arc::new(tokio::sync::Notify::new());
        let base = Instant::now();
        let last_wake = Arc::new(AtomicU64::new(0));

        let start = Instant::now();
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            let (gate, arrived, all_in) = (gate.clone(), arrived.clone(), all_in.clone());
            let last_wake = last_wake.clone();
            handles.push(tokio::spawn(async move {
                if arrived.fetch_add(1, Ordering::SeqCst) + 1 == n {
                    all_in.notify_one(); // the last one in says so (a permit, if nobody waits yet)
                }
                drop(gate.read().await); // parked here until the gate opens
                tokio::time::sleep(SLEEP).await;
                record_wake(base, &last_wake);
            }));
        }
        if n > 0 {
            all_in.notified().await;
        }
        let spawn_ms = ms(start.elapsed());

        let open = Instant::now();
        drop(closed);
        for handle in handles {
            handle.await.expect("a sleeper task failed");
        }
        let finish_ms = ms(open.elapsed());
        let woke = Duration::from_nanos(last_wake.load(Ordering::SeqCst));
        CaseResult {
            started: n,
            spawn_ms,
            wake_ms: ms(woke.saturating_sub(open - base)),
            finish_ms,
            status: "ok".to_string(),
            ..Default::default()
        }
    });
    r.vmhwm_kib = proc_status_kib("VmHWM");
    r.vmpeak_kib = proc_status_kib("VmPeak");
    r
}

/// N OS threads with the given stack size (`None`: the standard library's default).
fn case_threads(n: usize, stack: Option<usize>) -> CaseResult {
    let gate = Arc::new(std::sync::RwLock::new(()));
    let closed = gate.write().expect("the gate");
    // Arrivals are counted under a mutex; the condition variable wakes the parent on each.
    let arrived = Arc::new((std::sync::Mutex::new(0usize), std::sync::Condvar::new()));
    let base = Instant::now();
    let last_wake = Arc::new(AtomicU64::new(0));

    let start = Instant::now();
    let mut handles = Vec::with_capacity(n);
    let mut status = "ok".to_string();
    for i in 0..n {
        let (gate, arrived, last_wake) = (gate.clone(), arrived.clone(), last_wake.clone());
        let mut builder = std::thread::Builder::new();
        if let Some(size) = stack {
            builder = builder.stack_size(size);
        }
        let spawned = builder.spawn(move || {
            *arrived.0.lock().unwrap() += 1;
            arrived.1.notify_all();
            drop(gate.read().expect("the gate"));
            std::thread::sleep(SLEEP);
            record_wake(base, &last_wake);
        });
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                status = format!("spawn failed at thread {}: {e}", i + 1);
                break;
            }
        }
    }
    let started = handles.len();
    drop(
        arrived
            .1
            .wait_while(arrived.0.lock().unwrap(), |count| *count < started)
            .unwrap(),
    );
    let spawn_ms = ms(start.elapsed());

    let open = Instant::now();
    drop(closed);
    for handle in handles {
        handle.join().expect("a sleeper thread panicked");
    }
    let finish_ms = ms(open.elapsed());
    let woke = Duration::from_nanos(last_wake.load(Ordering::SeqCst));
    CaseResult {
        started,
        spawn_ms,
        wake_ms: ms(woke.saturating_sub(open - base)),
        finish_ms,
        vmhwm_kib: proc_status_kib("VmHWM"),
        vmpeak_kib: proc_status_kib("VmPeak"),
        status,
        ..Default::default()
    }
}

/// An idle process of the same kind, for the baseline memory.
fn case_idle(kind: &str) -> CaseResult {
    if kind == "idle-tokio" {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_time()
            .build()
            .expect("a tokio runtime");
        runtime.block_on(async { tokio::time::sleep(Duration::from_millis(1)).await });
    }
    CaseResult {
        vmhwm_kib: proc_status_kib("VmHWM"),
        vmpeak_kib: proc_status_kib("VmPeak"),
        status: "ok".to_string(),
        ..Default::default()
    }
}

fn run_case(kind: &str, n: usize) {
    let mut r = match kind {
        "tokio-task" => case_tokio(n),
        "thread-64k" => case_threads(n, Some(SMALL_STACK)),
        "thread-default" => case_threads(n, None),
        "idle-std" | "idle-tokio" => case_idle(kind),
        other => panic!("unknown case {other}"),
    };
    r.kind = kind.to_string();
    r.n = n;
    println!("{}", r.to_line());
}

// ---------------------------------------------------------------------------------------------
// The parent: machine facts, limits, running the cases, the CPU job
// ---------------------------------------------------------------------------------------------

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

fn read_number(path: &str) -> Option<u64> {
    read_trimmed(path)?.parse().ok()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, m)| m.trim().to_string())
            })
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// Threads (scheduling entities) alive on the whole machine right now, from /proc/loadavg.
fn threads_in_use() -> Option<u64> {
    let loadavg = read_trimmed("/proc/loadavg")?;
    let field = loadavg.split_whitespace().nth(3)?; // "running/total"
    field.split_once('/')?.1.parse().ok()
}

/// The cgroup's process limit (`pids.max`, set by systemd's `TasksMax` or a container's
/// `--pids-limit`) and its current use, if this process is in a cgroup v2 with one.
fn cgroup_pids() -> Option<(u64, u64)> {
    let cgroup = read_trimmed("/proc/self/cgroup")?;
    let path = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = format!("/sys/fs/cgroup{path}");
    let max = read_number(&format!("{dir}/pids.max"))?; // "max" (no limit) does not parse
    let current = read_number(&format!("{dir}/pids.current"))?;
    Some((max, current))
}

/// The soft "Max processes" limit of this process (threads count against it), if not unlimited.
fn max_processes() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max processes"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// How many more threads we may start without endangering the rest of the machine, and why.
struct ThreadBudget {
    safe: u64,
    explanation: String,
}

fn thread_budget() -> ThreadBudget {
    let pid_max = read_number("/proc/sys/kernel/pid_max").unwrap_or(u64::MAX);
    let threads_max = read_number("/proc/sys/kernel/threads-max").unwrap_or(u64::MAX);
    let map_count = read_number("/proc/sys/vm/max_map_count").unwrap_or(u64::MAX);
    let in_use = threads_in_use().unwrap_or(0);
    let nproc = max_processes();
    // Every thread needs a process id, and its stack plus guard page take about two memory maps.
    let mut free = pid_max.min(threads_max).saturating_sub(in_use);
    if let Some(limit) = nproc {
        free = free.min(limit.saturating_sub(in_use));
    }
    free = free.min(map_count / 2);
    let cgroup = cgroup_pids();
    if let Some((max, current)) = cgroup {
        free = free.min(max.saturating_sub(current));
    }
    ThreadBudget {
        // Leave half of what is free to everyone else.
        safe: free / 2,
        explanation: format!(
            "pid_max={pid_max}, threads-max={threads_max}, vm.max_map_count={map_count}, \
             threads in use={in_use}, max processes={}, cgroup pids={}",
            nproc.map_or("unlimited".to_string(), |n| n.to_string()),
            cgroup.map_or("no limit".to_string(), |(max, cur)| format!("{cur}/{max}"))
        ),
    }
}

fn run_child(kind: &str, n: usize) -> CaseResult {
    let exe = std::env::current_exe().expect("this program's path");
    let output = Command::new(exe)
        .args(["--case", kind, &n.to_string()])
        .output()
        .expect("could not start a child process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let parsed = stdout.lines().find_map(CaseResult::from_line);
    match parsed {
        Some(r) if output.status.success() => r,
        _ => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.lines().last().unwrap_or("").trim().to_string();
            CaseResult {
                kind: kind.to_string(),
                n,
                status: format!("child failed ({}): {last}", output.status),
                ..Default::default()
            }
        }
    }
}

fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n % 2 == 0 {
        return n == 2;
    }
    let mut d = 3;
    while d * d <= n {
        if n % d == 0 {
            return false;
        }
        d += 2;
    }
    true
}

/// Primes below `limit` in share `share` of `shares`. Blocks of 1,000 numbers are dealt out in
/// turn, so every share gets small and large numbers alike and the shares cost about the same.
/// (Dealing out single numbers would not: with two shares, one would get all the even numbers.)
fn count_primes_share(limit: u64, share: u64, shares: u64) -> u64 {
    const BLOCK: u64 = 1_000;
    let mut count = 0;
    let mut block = share;
    while block * BLOCK < limit {
        let start = block * BLOCK;
        let end = (start + BLOCK).min(limit);
        count += (start..end).filter(|&n| is_prime(n)).count() as u64;
        block += shares;
    }
    count
}

/// Median, min and max of some measurements.
fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (median, values[0], values[n - 1])
}

/// One warm-up run, then `repeat` timed runs: (median, min, max) in ms, and the result.
fn timed_runs(repeat: usize, mut f: impl FnMut() -> u64) -> ((f64, f64, f64), u64) {
    let result = f(); // warm-up: caches, page faults, the thread pools' start
    let mut times = Vec::new();
    for _ in 0..repeat {
        let start = Instant::now();
        assert_eq!(f(), result, "every run finds the same answer");
        times.push(ms(start.elapsed()));
    }
    (spread(times), result)
}

fn cpu_job(limit: u64, cores: usize, repeat: usize) {
    use rayon::prelude::*;

    println!();
    println!("== CPU-bound job: count the primes below {limit} (median of {repeat} runs after a warm-up) ==");
    println!(
        "{:<16} {:>8} {:>10} {:>17} {:>9} {:>8}",
        "method", "threads", "median_ms", "range_ms", "speedup", "primes"
    );

    let (seq_ms, seq) = timed_runs(repeat, || {
        (0..limit).filter(|&n| is_prime(n)).count() as u64
    });
    let (rayon_ms, par) = timed_runs(repeat, || {
        (0..limit).into_par_iter().filter(|&n| is_prime(n)).count() as u64
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .build()
        .expect("a tokio runtime");
    let (blocking_ms, blk) = timed_runs(repeat, || {
        runtime.block_on(async {
            let chunks = cores as u64;
            let mut handles = Vec::new();
            for i in 0..chunks {
                handles.push(tokio::task::spawn_blocking(move || {
                    count_primes_share(limit, i, chunks)
                }));
            }
            let mut total = 0;
            for h in handles {
                total += h.await.expect("a blocking chunk panicked");
            }
            total
        })
    });

    let rows = [
        ("sequential", 1, seq_ms, seq),
        ("rayon", rayon::current_num_threads(), rayon_ms, par),
        ("spawn_blocking", cores, blocking_ms, blk),
    ];
    for (name, threads, (median, min, max), primes) in rows {
        println!(
            "{:<16} {:>8} {:>10.1} {:>17} {:>8.2}x {:>8}",
            name,
            threads,
            median,
            format!("{min:.1}-{max:.1}"),
            seq_ms.0 / median,
            primes
        );
    }
    let agree = seq == par && par == blk;
    println!("results agree: {agree}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--case") {
        let kind = args.get(1).expect("--case KIND N");
        let n = args
            .get(2)
            .and_then(|s| s.parse().ok())
            .expect("--case KIND N");
        run_case(kind, n);
        return;
    }
    let small = args.iter().any(|a| a == "--small");
    let force = args.iter().any(|a| a == "--force");
    let repeat: usize = args
        .iter()
        .position(|a| a == "--repeat")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(if small { 3 } else { 5 })
        .max(1);
    let sizes: &[usize] = if small {
        &[100, 1_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    let prime_limit: u64 = if small { 100_000 } else { 3_000_000 };

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let default_stack = std::env::var("RUST_MIN_STACK")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(STD_DEFAULT_STACK);
    let budget = thread_budget();

    println!("Concurrency benchmark: tokio tasks vs OS threads, and CPU-bound work");
    println!("machine: {cores} logical CPUs, model: {}", cpu_model());
    if let Some(load) = read_trimmed("/proc/loadavg") {
        println!("load average before the run: {load}");
    }
    println!(
        "build: {}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!(
        "mode: {} (sleepers: {:?}; each waits at a gate, then sleeps {} ms; {repeat} runs per case after a warm-up)",
        if small { "small" } else { "full" },
        sizes,
        SLEEP.as_millis()
    );
    println!(
        "thread stacks: thread-64k = {} KiB, thread-default = {} KiB (the standard library's default)",
        SMALL_STACK / 1024,
        default_stack / 1024
    );
    println!(
        "thread limits: {}; safe to start now: {}",
        budget.explanation, budget.safe
    );
    println!();
    println!("== Concurrent sleepers (each run in a fresh process; medians) ==");
    println!(
        "{:<15} {:>7} {:>8} {:>10} {:>9} {:>10} {:>13} {:>14} {:>13} {:>15}  status",
        "kind",
        "n",
        "started",
        "spawn_ms",
        "wake_ms",
        "finish_ms",
        "peak_rss_MiB",
        "peak_virt_MiB",
        "per_unit_KiB",
        "per_unit_range"
    );

    // Runs `kind` once to warm up, then `repeat` times; the median of each column.
    let runs = |kind: &str, n: usize| -> Vec<CaseResult> {
        let _warm_up = run_child(kind, n);
        (0..repeat).map(|_| run_child(kind, n)).collect()
    };
    let median_of = |runs: &[CaseResult], f: fn(&CaseResult) -> f64| -> f64 {
        spread(runs.iter().map(f).collect()).0
    };
    let idle_std = runs("idle-std", 0);
    let idle_tokio = runs("idle-tokio", 0);
    let idle_rss = |runs: &[CaseResult]| median_of(runs, |r| r.vmhwm_kib as f64);
    for (name, idle) in [("idle-std", &idle_std), ("idle-tokio", &idle_tokio)] {
        println!(
            "{:<15} {:>7} {:>8} {:>10} {:>9} {:>10} {:>13.1} {:>14.1} {:>13} {:>15}  {}",
            name,
            0,
            0,
            "-",
            "-",
            "-",
            idle_rss(idle) / 1024.0,
            median_of(idle, |r| r.vmpeak_kib as f64) / 1024.0,
            "-",
            "-",
            idle[0].status
        );
    }

    for &n in sizes {
        for kind in ["tokio-task", "thread-64k", "thread-default"] {
            let is_thread = kind.starts_with("thread");
            if is_thread && n as u64 > budget.safe && !force {
                println!(
                    "{:<15} {:>7} {:>8} {:>10} {:>9} {:>10} {:>13} {:>14} {:>13} {:>15}  not attempted: {} threads \
                     would exceed the {} this machine can spare (see thread limits above; --force tries)",
                    kind, n, 0, "-", "-", "-", "-", "-", "-", "-", n, budget.safe
                );
                continue;
            }
            let results = runs(kind, n);
            let failed = results.iter().find(|r| r.status != "ok");
            let r = failed.unwrap_or(&results[0]);
            let baseline = idle_rss(if is_thread { &idle_std } else { &idle_tokio });
            let (per_unit, range) = if r.started > 0 && n >= 10_000 && failed.is_none() {
                let (median, min, max) = spread(
                    results
                        .iter()
                        .map(|r| (r.vmhwm_kib as f64 - baseline).max(0.0) / r.started as f64)
                        .collect(),
                );
                (format!("{median:.2}"), format!("{min:.2}-{max:.2}"))
            } else {
                ("-".to_string(), "-".to_string())
            };
            println!(
                "{:<15} {:>7} {:>8} {:>10.2} {:>9.1} {:>10.1} {:>13.1} {:>14.1} {:>13} {:>15}  {}",
                r.kind,
                r.n,
                r.started,
                median_of(&results, |r| r.spawn_ms),
                median_of(&results, |r| r.wake_ms),
                median_of(&results, |r| r.finish_ms),
                median_of(&results, |r| r.vmhwm_kib as f64) / 1024.0,
                median_of(&results, |r| r.vmpeak_kib as f64) / 1024.0,
                per_unit,
                range,
                r.status
            );
        }
    }

    cpu_job(prime_limit, cores, repeat);
}
