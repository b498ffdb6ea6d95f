//! Project 5 (starter): sync vs threads vs async, measured on the same two workloads.
//!
//! - I/O-bound: 20 jobs that each wait 25 ms (a stand-in for a network call).
//! - CPU-bound: 8 jobs that each count primes (pure computation, no waiting).
//!
//! Each workload runs three ways and prints its wall-clock time, then a memory figure: how many
//! bytes one async task's state takes, against the stack a thread reserves.
//!
//! Only the sync versions are written. Fill in the four TODO functions, then compare the figures.
//!
//! Run: cargo run --example project5_starter [-- JOBS]   (JOBS = I/O jobs, default 20)

use std::time::{Duration, Instant};

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

fn io_sync(jobs: usize) {
    for _ in 0..jobs {
        std::thread::sleep(IO_WAIT); // one wait after the other
    }
}

fn io_threads(jobs: usize) {
    // TODO: one std::thread per job (std::thread::scope), each sleeping IO_WAIT.
    io_sync(jobs)
}

fn io_async(jobs: usize) {
    // TODO: a current-thread tokio runtime running `jobs` tasks of tokio::time::sleep(IO_WAIT).
    io_sync(jobs)
}

fn cpu_sync() -> u64 {
    (0..CPU_JOBS).map(|_| count_primes(CPU_LIMIT)).sum()
}

fn cpu_async_one_thread() -> u64 {
    // TODO: the same jobs as tokio tasks on a current-thread runtime.
    cpu_sync()
}

fn cpu_rayon() -> u64 {
    // TODO: the same jobs with rayon's `into_par_iter()`.
    cpu_sync()
}

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

    // TODO: measure one async task's state with std::mem::size_of_val on an `async` block.
    let future_bytes = 0;
    println!(
        "memory    async task state {future_bytes} bytes, thread stack {} KiB (default)",
        2 * 1024
    );
    println!(
        "verdict   io: async {:.1}x faster than sync on 1 thread; cpu: rayon {:.1}x, async {:.1}x",
        io_s.as_secs_f64() / io_a.as_secs_f64(),
        cpu_s.as_secs_f64() / cpu_r.as_secs_f64(),
        cpu_s.as_secs_f64() / cpu_a.as_secs_f64(),
    );
}
