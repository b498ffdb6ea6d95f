//! Project 1 (solution): call five "APIs" one after another, then all at once, and compare.
//!
//! The five services are small TCP servers on 127.0.0.1 started by this program. Each one answers
//! a request after its own latency, like a remote API would.
//!
//! Run: cargo run --example project1_solution

use std::time::{Duration, Instant};

use futures::future::try_join_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One fake API: a name, the port it listens on, and how long it takes to answer.
struct Service {
    name: &'static str,
    addr: std::net::SocketAddr,
}

/// Start a loopback server that answers every connection with `{name}: ok` after `latency`.
async fn start_service(name: &'static str, latency: Duration) -> std::io::Result<Service> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            // One task per connection: the server itself never waits for a slow client.
            tokio::spawn(async move {
                let mut request = [0u8; 64];
                let _ = socket.read(&mut request).await;
                tokio::time::sleep(latency).await; // the "remote" work
                let _ = socket.write_all(format!("{name}: ok").as_bytes()).await;
            });
        }
    });
    Ok(Service { name, addr })
}

// ANCHOR: fetch
/// Send one request and read the whole answer: two awaits, each one a point where the task
/// lets others run while the network is busy.
async fn fetch(service: &Service) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(service.addr).await?;
    stream.write_all(b"GET\n").await?;
    let mut body = String::new();
    stream.read_to_string(&mut body).await?;
    Ok(body)
}
// ANCHOR_END: fetch

// ANCHOR: sequential
async fn fetch_sequentially(services: &[Service]) -> std::io::Result<Vec<String>> {
    let mut results = Vec::new();
    for service in services {
        results.push(fetch(service).await?); // the next request starts after this one ends
    }
    Ok(results)
}
// ANCHOR_END: sequential

// ANCHOR: concurrent
async fn fetch_concurrently(services: &[Service]) -> std::io::Result<Vec<String>> {
    // Build the five futures first (nothing runs yet: futures are lazy), then drive them all
    // at once. Results come back in the order of `services`; the first error cancels the rest.
    try_join_all(services.iter().map(fetch)).await
}
// ANCHOR_END: concurrent

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let specs = [
        ("weather", 120),
        ("news", 80),
        ("stocks", 150),
        ("sports", 100),
        ("traffic", 60),
    ];
    let mut services = Vec::new();
    for (name, ms) in specs {
        services.push(start_service(name, Duration::from_millis(ms)).await?);
    }
    let names: Vec<&str> = services.iter().map(|s| s.name).collect();
    println!("services: {}", names.join(", "));

    let start = Instant::now();
    let sequential = fetch_sequentially(&services).await?;
    let sequential_time = start.elapsed();

    let start = Instant::now();
    let concurrent = fetch_concurrently(&services).await?;
    let concurrent_time = start.elapsed();

    assert_eq!(
        sequential, concurrent,
        "both strategies return the same answers"
    );
    for line in &concurrent {
        println!("  {line}");
    }
    let speedup = sequential_time.as_secs_f64() / concurrent_time.as_secs_f64();
    println!(
        "sequential: {:.1} ms",
        sequential_time.as_secs_f64() * 1000.0
    );
    println!(
        "concurrent: {:.1} ms",
        concurrent_time.as_secs_f64() * 1000.0
    );
    println!("speedup: {speedup:.1}x");

    // One more service, and it is down: its port refuses connections. The concurrent version must
    // return that error, and at once, without waiting for the slower calls still in flight.
    let closed = TcpListener::bind("127.0.0.1:0").await?;
    let down = Service {
        name: "down",
        addr: closed.local_addr()?,
    };
    drop(closed);
    services.push(down);
    let start = Instant::now();
    let outcome = fetch_concurrently(&services).await;
    let verdict = match &outcome {
        Ok(_) => "no error".to_string(),
        Err(e) => format!("error ({:?})", e.kind()),
    };
    println!(
        "one service down: {verdict} after {:.0} ms",
        start.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}
