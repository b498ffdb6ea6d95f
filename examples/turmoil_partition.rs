//! A client with retries against a server, on turmoil's simulated network (chapter "Testing async
//! code").
//!
//! Run with `cargo run --example turmoil_partition -- [SEED] [--hold] [--no-retry]`. Two simulated hosts,
//! `server` and `client`, run in one process on turmoil's virtual clock. The link between them is
//! partitioned (every message dropped) for the first 2 s of the simulation, then repaired. The
//! client asks `ping` with a 300 ms timeout per attempt and retries with exponential backoff
//! (100, 200, 400, ... ms), so it gets through once the link is back. Message latency is random
//! (0 to 100 ms by default), drawn from a generator seeded with SEED (1 if not given): the same
//! seed gives the same run, line for line.
//!
//! With `--hold` the link holds messages for those 2 s instead of dropping them (turmoil's
//! `hold`/`release`): attempts time out rather than being refused. With `--no-retry` the client
//! gives up after its first attempt, the simulation ends with the client's error, and the program
//! exits with status 1.

use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use turmoil::net::{TcpListener, TcpStream};

const PORT: u16 = 9000;
const PARTITION: Duration = Duration::from_secs(2);

// ANCHOR: server
/// The server: answer each line `ping` with `pong`, one connection at a time.
async fn server() -> turmoil::Result {
    let listener = TcpListener::bind(("0.0.0.0", PORT)).await?;
    loop {
        let (stream, _peer) = listener.accept().await?;
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        while let Some(line) = lines.next_line().await? {
            if line == "ping" {
                write.write_all(b"pong\n").await?;
            }
        }
    }
}
// ANCHOR_END: server

/// One attempt: connect, send `ping`, read one line.
async fn ask() -> std::io::Result<String> {
    let stream = TcpStream::connect(("server", PORT)).await?;
    let (read, mut write) = stream.into_split();
    write.write_all(b"ping\n").await?;
    let mut reply = String::new();
    BufReader::new(read).read_line(&mut reply).await?;
    Ok(reply.trim_end().to_string())
}

// ANCHOR: client
/// The client: up to `attempts` tries, each bounded by a 300 ms timeout, with doubling backoff.
async fn client(attempts: u32) -> turmoil::Result {
    let mut backoff = Duration::from_millis(100);
    for attempt in 1..=attempts {
        let at = turmoil::elapsed().as_millis(); // the simulation's virtual clock
        match tokio::time::timeout(Duration::from_millis(300), ask()).await {
            Ok(Ok(reply)) => {
                let done = turmoil::elapsed().as_millis();
                println!("attempt {attempt} at {at}ms: got {reply:?} at {done}ms");
                return Ok(());
            }
            Ok(Err(e)) => println!("attempt {attempt} at {at}ms: {}", e.kind()),
            Err(_) => println!("attempt {attempt} at {at}ms: timed out"),
        }
        if attempt < attempts {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
    Err(format!("no reply after {attempts} attempts").into())
}
// ANCHOR_END: client

// ANCHOR: main
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seed: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1);
    let attempts = if args.iter().any(|a| a == "--no-retry") {
        1
    } else {
        8
    };
    let hold = args.iter().any(|a| a == "--hold");

    let mut sim = turmoil::Builder::new()
        .rng_seed(seed) // message latencies are drawn from this seed
        .simulation_duration(Duration::from_secs(30))
        .build();
    sim.host("server", server);
    sim.client("client", client(attempts));

    // The link is cut (or holds every message) from the start; mend it after 2 s of virtual time.
    if hold {
        sim.hold("client", "server");
    } else {
        sim.partition("client", "server");
    }
    let mut repaired = false;
    let result = loop {
        if !repaired && sim.elapsed() >= PARTITION {
            if hold {
                println!("{}ms: link released", sim.elapsed().as_millis());
                sim.release("client", "server");
            } else {
                println!("{}ms: link repaired", sim.elapsed().as_millis());
                sim.repair("client", "server");
            }
            repaired = true;
        }
        match sim.step() {
            Ok(true) => break Ok(()), // every client finished
            Ok(false) => continue,    // one more tick (1 ms of virtual time)
            Err(e) => break Err(e),   // a host returned an error
        }
    };
    match result {
        Ok(()) => println!("seed {seed}: done at {}ms", sim.elapsed().as_millis()),
        Err(e) => {
            println!(
                "seed {seed}: failed at {}ms: {e}",
                sim.elapsed().as_millis()
            );
            std::process::exit(1);
        }
    }
}
// ANCHOR_END: main
