//! Project 7 (starter): a small key-value server, to be made production-ready.
//!
//! A line protocol over TCP (one command per line):
//!   SET key value  -> OK          GET key -> the value, or NIL
//!   INCR key       -> new number  QUIT    -> BYE (and the server closes the connection)
//!
//! What makes it "production": one task per connection, shared state behind a mutex that is never
//! held across an `.await`, a cap on open connections (semaphore), an idle timeout per client,
//! and a graceful shutdown (CancellationToken + TaskTracker) that lets every connection say goodbye.
//!
//! As it stands the server handles one client at a time, never times out and ignores shutdown:
//! the demo's "idle" and "shutdown" steps fail. Rewrite `handle_connection` and `serve` (the
//! TODOs); `execute`, the client and the demo are done.
//!
//! Run the demo (server + clients, then shutdown):  cargo run --example project7_starter
//! Run only the server until Ctrl-C:                 cargo run --example project7_starter -- serve 127.0.0.1:7070
//! and talk to it with, e.g., `nc 127.0.0.1 7070`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

const MAX_CONNECTIONS: usize = 64;

/// Everything the connection tasks share.
struct Shared {
    db: Mutex<HashMap<String, String>>,
    connections: AtomicU64,
    commands: AtomicU64,
    idle_timeout: Duration,
}

/// Run one command against the store. A plain function, not async: the lock is taken and released
/// inside it, so it can never be held across an `.await`.
fn execute(shared: &Shared, line: &str) -> String {
    shared.commands.fetch_add(1, Ordering::Relaxed);
    let mut parts = line.split_whitespace();
    let mut db = shared.db.lock().unwrap();
    match (parts.next(), parts.next(), parts.next()) {
        (Some("SET"), Some(key), Some(value)) => {
            db.insert(key.to_string(), value.to_string());
            "OK".to_string()
        }
        (Some("GET"), Some(key), None) => db.get(key).cloned().unwrap_or_else(|| "NIL".into()),
        (Some("INCR"), Some(key), None) => {
            let current = db.get(key).map_or(Ok(0), |v| v.parse::<i64>());
            match current {
                Ok(n) => {
                    db.insert(key.to_string(), (n + 1).to_string());
                    (n + 1).to_string()
                }
                Err(_) => "ERR not a number".to_string(),
            }
        }
        _ => format!("ERR unknown command: {line}"),
    }
}

/// Serve one client until it quits or disconnects.
async fn handle_connection(stream: TcpStream, shared: Arc<Shared>, shutdown: CancellationToken) {
    // TODO: give each read at most `shared.idle_timeout` (answer "ERR idle timeout" and close),
    // and when `shutdown` fires, answer "BYE shutting down" and close (tokio::select!).
    let _ = (&shutdown, shared.idle_timeout);
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim() == "QUIT" {
            let _ = writer.write_all(b"BYE\n").await;
            return;
        }
        let reply = execute(&shared, &line);
        if writer
            .write_all(format!("{reply}\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Accept connections until `shutdown` fires.
async fn serve(listener: TcpListener, shared: Arc<Shared>, shutdown: CancellationToken) {
    // TODO: serve each connection in its own task (TaskTracker), cap the open connections at
    // MAX_CONNECTIONS (Semaphore), stop accepting when `shutdown` fires, then wait for every
    // connection task to finish.
    let _ = (&shutdown, MAX_CONNECTIONS);
    while let Ok((stream, _peer)) = listener.accept().await {
        shared.connections.fetch_add(1, Ordering::Relaxed);
        handle_connection(stream, shared.clone(), shutdown.clone()).await; // one at a time
    }
}

/// A tiny client: send each command, read one reply line per command.
async fn client(addr: SocketAddr, commands: &[String]) -> std::io::Result<Vec<String>> {
    let stream = TcpStream::connect(addr).await?;
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    let mut replies = Vec::new();
    for command in commands {
        writer.write_all(format!("{command}\n").as_bytes()).await?;
        replies.push(lines.next_line().await?.unwrap_or_default());
    }
    Ok(replies)
}

/// Give a demo step at most two seconds, so that an unfinished server cannot hang the demo.
async fn step<T>(name: &str, fut: impl std::future::Future<Output = T>) -> Option<T> {
    let result = timeout(Duration::from_secs(2), fut).await;
    if result.is_err() {
        println!("{name}: FAIL - did not finish within 2 s");
    }
    result.ok()
}

async fn demo() -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("listening on {addr}");
    let shared = Arc::new(Shared {
        db: Mutex::new(HashMap::new()),
        connections: AtomicU64::new(0),
        commands: AtomicU64::new(0),
        idle_timeout: Duration::from_millis(200),
    });
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(listener, shared.clone(), shutdown.clone()));

    // 1. Twenty clients at once, each incrementing a shared counter ten times.
    let start = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for id in 0..20 {
        clients.spawn(async move {
            let mut commands = vec![format!("SET client{id} {}", id * id)];
            commands.extend((0..10).map(|_| "INCR hits".to_string()));
            commands.push(format!("GET client{id}"));
            commands.push("QUIT".to_string());
            let replies = client(addr, &commands).await?;
            let own_value_ok = replies[11] == (id * id).to_string();
            Ok::<bool, std::io::Error>(own_value_ok)
        });
    }
    let all_clients = async {
        let mut read_back = 0;
        while let Some(joined) = clients.join_next().await {
            read_back += joined.expect("client panicked")? as u32;
        }
        let hits = client(addr, &["GET hits".to_string()]).await?.remove(0);
        Ok::<_, std::io::Error>((read_back, hits))
    };
    if let Some(result) = step("clients", all_clients).await {
        let (read_back, hits) = result?;
        println!(
            "clients: 20 clients x 10 INCR -> hits = {hits} (expected 200) in {:.0} ms",
            start.elapsed().as_secs_f64() * 1000.0
        );
        println!("keys: {read_back} of 20 clients read back their own value");
    }

    // 2. A client that connects and says nothing is cut off after the idle timeout.
    let start = Instant::now();
    let lazy = TcpStream::connect(addr).await?;
    let mut lazy_lines = BufReader::new(lazy).lines();
    if let Some(reply) = step("idle", lazy_lines.next_line()).await {
        println!(
            "idle: lazy client got {:?} after {:.0} ms",
            reply?.unwrap_or_default(),
            start.elapsed().as_secs_f64() * 1000.0
        );
    }
    drop(lazy_lines);

    // 3. Graceful shutdown while a client is still connected.
    let shutdown_step = async {
        let open = TcpStream::connect(addr).await?;
        let (reader, mut writer) = open.into_split(); // keep `writer`: dropping it would hang up
        let mut open_lines = BufReader::new(reader).lines();
        writer.write_all(b"GET hits\n").await?;
        open_lines.next_line().await?; // an answer: the server has accepted this connection
        let start = Instant::now();
        shutdown.cancel();
        let goodbye = open_lines.next_line().await?.unwrap_or_default();
        server.await.expect("server panicked");
        Ok::<_, std::io::Error>((goodbye, start.elapsed()))
    };
    if let Some(result) = step("shutdown", shutdown_step).await {
        let (goodbye, took) = result?;
        println!(
            "shutdown: open client got {goodbye:?}; server stopped in {:.1} ms",
            took.as_secs_f64() * 1000.0
        );
    }
    println!(
        "served {} connections, {} commands",
        shared.connections.load(Ordering::Relaxed),
        shared.commands.load(Ordering::Relaxed)
    );
    Ok(())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("serve") {
        return demo().await;
    }
    let addr = args.get(1).map_or("127.0.0.1:7070", String::as_str);
    let listener = TcpListener::bind(addr).await?;
    println!("listening on {}, Ctrl-C to stop", listener.local_addr()?);
    let shared = Arc::new(Shared {
        db: Mutex::new(HashMap::new()),
        connections: AtomicU64::new(0),
        commands: AtomicU64::new(0),
        idle_timeout: Duration::from_secs(60),
    });
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(listener, shared, shutdown.clone()));
    tokio::signal::ctrl_c().await?;
    shutdown.cancel();
    server.await.expect("server panicked");
    println!("stopped cleanly");
    Ok(())
}
