//! Exercise 6 (solution): compare async, threads and processes on the jobs each is made for.
//!
//! Run it with `cargo run --release --example exercise6_solution`.
//!
//! Part 1, I/O: 20 requests to a local server (127.0.0.1) that takes 50 ms to answer each one,
//! sent one after another, from 20 OS threads with blocking sockets, and from 20 tokio tasks.
//! Part 2, CPU: count the primes below a limit sequentially, with rayon's threads, and with one
//! worker process per core (this program re-executes itself with `--worker`), and measure what
//! starting a process costs.
//!
//! It prints two summary lines that `tests/exercises_06f.rs` checks:
//!
//! ```text
//! io: requests=20 latency_ms=50 sequential_ms=1013.2 threads_ms=53.1 async_ms=52.0
//! cpu: limit=200000 workers=2 sequential_ms=... rayon_ms=... processes_ms=... process_start_ms=... primes=17984 agree=true
//! ```

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

const REQUESTS: usize = 20;
const LATENCY: Duration = Duration::from_millis(50);

// ---------------------------------------------------------------------------------------------
// Part 1: I/O-bound work
// ---------------------------------------------------------------------------------------------

/// A slow server on its own thread: reads one line, waits `LATENCY`, answers one line.
fn start_server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("address"))
                .expect("send address");
            loop {
                let (socket, _) = listener.accept().await.expect("accept");
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut line = String::new();
                    let mut reader = tokio::io::BufReader::new(read);
                    if reader.read_line(&mut line).await.is_ok() {
                        tokio::time::sleep(LATENCY).await; // the slow backend
                        let reply = format!("pong {}\n", line.trim().trim_start_matches("ping "));
                        let _ = write.write_all(reply.as_bytes()).await;
                    }
                });
            }
        });
    });
    rx.recv().expect("the server's address")
}

/// One request with a blocking socket: the calling thread sleeps until the answer arrives.
fn request_blocking(addr: SocketAddr, i: usize) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    writeln!(stream, "ping {i}").expect("write");
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).expect("read");
    line.trim().to_string()
}

/// The same request with a tokio socket: the task is parked, the thread serves other tasks.
async fn request_async(addr: SocketAddr, i: usize) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(format!("ping {i}\n").as_bytes())
        .await
        .expect("write");
    let mut line = String::new();
    tokio::io::BufReader::new(stream)
        .read_line(&mut line)
        .await
        .expect("read");
    line.trim().to_string()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn row(label: &str, ms: f64) {
    println!("  {label:<36} {ms:>8.1} ms");
}

fn io_part() {
    let addr = start_server();

    let start = Instant::now();
    let sequential: Vec<String> = (0..REQUESTS).map(|i| request_blocking(addr, i)).collect();
    let sequential_ms = ms(start.elapsed());

    let start = Instant::now();
    let threaded: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..REQUESTS)
            .map(|i| s.spawn(move || request_blocking(addr, i)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a thread panicked"))
            .collect()
    });
    let threads_ms = ms(start.elapsed());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let start = Instant::now();
    let concurrent: Vec<String> = runtime.block_on(async {
        let handles: Vec<_> = (0..REQUESTS)
            .map(|i| tokio::spawn(request_async(addr, i)))
            .collect();
        let mut replies = Vec::new();
        for h in handles {
            replies.push(h.await.expect("a task panicked"));
        }
        replies
    });
    let async_ms = ms(start.elapsed());

    let expected: Vec<String> = (0..REQUESTS).map(|i| format!("pong {i}")).collect();
    assert_eq!(sequential, expected, "sequential replies");
    assert_eq!(threaded, expected, "threaded replies");
    assert_eq!(concurrent, expected, "async replies");

    println!(
        "I/O: {REQUESTS} requests, each answered after {} ms",
        LATENCY.as_millis()
    );
    row("sequential, one at a time", sequential_ms);
    row(
        &format!("{REQUESTS} OS threads, blocking sockets"),
        threads_ms,
    );
    row(&format!("{REQUESTS} tokio tasks on one thread"), async_ms);
    println!(
        "io: requests={REQUESTS} latency_ms={} sequential_ms={sequential_ms:.1} threads_ms={threads_ms:.1} async_ms={async_ms:.1}",
        LATENCY.as_millis()
    );
}

// ---------------------------------------------------------------------------------------------
// Part 2: CPU-bound work
// ---------------------------------------------------------------------------------------------

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

/// Count with `workers` child processes, each running this program with `--worker`.
fn count_with_processes(limit: u64, workers: u64) -> u64 {
    let exe = std::env::current_exe().expect("this program's path");
    let children: Vec<_> = (0..workers)
        .map(|i| {
            Command::new(&exe)
                .args([
                    "--worker",
                    &limit.to_string(),
                    &i.to_string(),
                    &workers.to_string(),
                ])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("start a worker process")
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().expect("a worker process");
            assert!(out.status.success(), "a worker failed: {}", out.status);
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<u64>()
                .expect("a worker prints its count")
        })
        .sum()
}

fn cpu_part(limit: u64) {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;

    let start = Instant::now();
    let sequential = (0..limit).filter(|&n| is_prime(n)).count() as u64;
    let sequential_ms = ms(start.elapsed());

    rayon::join(|| (), || ()); // start rayon's thread pool before timing it
    let start = Instant::now();
    let parallel = (0..limit).into_par_iter().filter(|&n| is_prime(n)).count() as u64;
    let rayon_ms = ms(start.elapsed());

    let start = Instant::now();
    let by_processes = count_with_processes(limit, workers);
    let processes_ms = ms(start.elapsed());

    // What a process costs before it does any work: start one that exits at once.
    let exe = std::env::current_exe().expect("this program's path");
    let start = Instant::now();
    let status = Command::new(&exe)
        .arg("--noop")
        .status()
        .expect("start a process");
    let process_start_ms = ms(start.elapsed());
    assert!(status.success());

    let agree = sequential == parallel && parallel == by_processes;
    println!();
    println!("CPU: count the primes below {limit}");
    row("sequential, one thread", sequential_ms);
    row(
        &format!("rayon, {} threads", rayon::current_num_threads()),
        rayon_ms,
    );
    row(&format!("{workers} worker processes"), processes_ms);
    row("starting one empty process", process_start_ms);
    println!(
        "cpu: limit={limit} workers={workers} sequential_ms={sequential_ms:.1} rayon_ms={rayon_ms:.1} \
         processes_ms={processes_ms:.1} process_start_ms={process_start_ms:.1} primes={sequential} agree={agree}"
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--noop") => return,
        Some("--worker") => {
            let num = |i: usize| -> u64 { args[i].parse().expect("--worker LIMIT START STEP") };
            println!("{}", count_primes_share(num(1), num(2), num(3)));
            return;
        }
        _ => {}
    }
    // A debug build is about ten times slower at arithmetic: keep its job small.
    let limit = if cfg!(debug_assertions) {
        200_000
    } else {
        2_000_000
    };
    io_part();
    cpu_part(limit);
}
