//! Project 5 (solution): sync vs threads vs async, measured on the same two workloads.
//!
//! - I/O-bound: 20 jobs that each wait 25 ms (a stand-in for a network call).
//! - CPU-bound: 8 jobs that each count primes (pure computation, no waiting).
//!
//! Each workload runs three ways and prints its wall-clock time, then a memory figure: how many
//! bytes one async task's state takes, against the stack a thread reserves.
//!
//! Run: cargo run --example project5_solution [-- JOBS]   (JOBS = I/O jobs, default 20)

use std::collections::HashSet;
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use rayon::prelude::*;

const IO_WAIT: Duration = Duration::from_millis(25);
const CPU_JOBS: u64 = 8;
const CPU_LIMIT: u64 = 20_000; // each CPU job counts the primes below this number

fn count_primes(limit: u64) -> u64 {
    (2..limit)
        .filter(|n| (2..).take_while(|d| d * d <= *n).all(|d| n % d != 0))
        .count() as u64
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

/// The threads the async tasks ran on: the single-threaded runtime must use exactly one.
static ASYNC_THREADS: Mutex<Option<HashSet<ThreadId>>> = Mutex::new(None);

fn note_thread() {
    let mut threads = ASYNC_THREADS.lock().unwrap();
    threads
        .get_or_insert_with(HashSet::new)
        .insert(std::thread::current().id());
}

// ANCHOR: io
fn io_sync(jobs: usize) {
    for _ in 0..jobs {
        std::thread::sleep(IO_WAIT); // one wait after the other
    }
}

fn io_threads(jobs: usize) {
    // One OS thread per job: the waits overlap, each thread costs a stack and a kernel object.
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| std::thread::sleep(IO_WAIT));
        }
    });
}

fn io_async(jobs: usize) {
    // One thread in total: a current-thread runtime interleaves every wait.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..jobs {
            set.spawn(async {
                note_thread();
                tokio::time::sleep(IO_WAIT).await;
            });
        }
        while let Some(done) = set.join_next().await {
            done.expect("task panicked");
        }
    });
}
// ANCHOR_END: io

// ANCHOR: cpu
fn cpu_sync() -> u64 {
    (0..CPU_JOBS).map(|_| count_primes(CPU_LIMIT)).sum()
}

fn cpu_async_one_thread() -> u64 {
    // Async gives no speed-up here: nothing waits, so there is nothing to overlap.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..CPU_JOBS {
            set.spawn(async {
                note_thread();
                count_primes(CPU_LIMIT)
            });
        }
        let mut total = 0;
        while let Some(done) = set.join_next().await {
            total += done.expect("task panicked");
        }
        total
    })
}

fn cpu_rayon() -> u64 {
    // No GIL in Rust: rayon's threads compute on every core at once.
    (0..CPU_JOBS)
        .into_par_iter()
        .map(|_| count_primes(CPU_LIMIT))
        .sum()
}
// ANCHOR_END: cpu

fn main() {
    let jobs: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("JOBS must be a number"))
        .unwrap_or(20);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{jobs} I/O jobs of {IO_WAIT:?}, {CPU_JOBS} CPU jobs, {cores} cores");
    println!("{:<9} {:<15} {:>9}", "workload", "approach", "time");

    let ((), io_s) = timed(|| io_sync(jobs));
    let ((), io_t) = timed(|| io_threads(jobs));
    let ((), io_a) = timed(|| io_async(jobs));
    for (name, t) in [("sync", io_s), ("threads", io_t), ("async", io_a)] {
        println!("{:<9} {:<15} {:>6.1} ms", "io", name, ms(t));
    }

    let (a, cpu_s) = timed(cpu_sync);
    let (b, cpu_a) = timed(cpu_async_one_thread);
    let (c, cpu_r) = timed(cpu_rayon);
    assert!(a == b && b == c, "all three count the same primes");
    for (name, t) in [("sync", cpu_s), ("async-1-thread", cpu_a), ("rayon", cpu_r)] {
        println!("{:<9} {:<15} {:>6.1} ms", "cpu", name, ms(t));
    }

    // ANCHOR: memory
    // What one more concurrent job costs: an async task stores its future's state (the variables
    // alive across its awaits) plus a small header of tokio's; a thread reserves 2 MiB of address
    // space for its stack by default (std's documented value, not a measurement), of which a
    // parked thread touches only a few KiB.
    let one_task = async {
        tokio::time::sleep(IO_WAIT).await;
    };
    let future_bytes = std::mem::size_of_val(&one_task);
    // ANCHOR_END: memory
    drop(one_task);
    println!(
        "memory    async future state {future_bytes} bytes, thread stack {} KiB reserved (std's default)",
        2 * 1024
    );
    let threads = ASYNC_THREADS
        .lock()
        .unwrap()
        .as_ref()
        .map_or(0, HashSet::len);
    println!("async     every async task ran on {threads} thread(s)");
    println!(
        "verdict   io: async {:.1}x faster than sync on 1 thread; cpu: rayon {:.1}x, async {:.1}x",
        io_s.as_secs_f64() / io_a.as_secs_f64(),
        cpu_s.as_secs_f64() / cpu_r.as_secs_f64(),
        cpu_s.as_secs_f64() / cpu_a.as_secs_f64(),
    );
}
