//! Project 7 (solution): a small key-value server, built like a production service.
//!
//! A line protocol over TCP (one command per line):
//!   SET key value  -> OK          GET key -> the value, or NIL
//!   INCR key       -> new number  QUIT    -> BYE (and the server closes the connection)
//!
//! What makes it "production": one task per connection, shared state behind a mutex that is never
//! held across an `.await` (and never poisoned by a bad command), a cap on open connections
//! (semaphore), an idle timeout per client, and a graceful shutdown with a deadline
//! (CancellationToken + TaskTracker) that lets every connection say goodbye.
//!
//! Run the demo (server + clients, then shutdown):  cargo run --example project7_solution
//! Run only the server until Ctrl-C:                 cargo run --example project7_solution -- serve 127.0.0.1:7070
//! and talk to it with, e.g., `nc 127.0.0.1 7070`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const MAX_CONNECTIONS: usize = 64;
/// How long a connection may take to say goodbye once shutdown has begun.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(100);

/// Everything the connection tasks share.
struct Shared {
    db: Mutex<HashMap<String, String>>,
    connections: AtomicU64,
    commands: AtomicU64,
    /// Connection tasks that have started and not finished yet.
    open: AtomicU64,
    idle_timeout: Duration,
}

impl Shared {
    fn new(idle_timeout: Duration) -> Self {
        Shared {
            db: Mutex::new(HashMap::new()),
            connections: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            open: AtomicU64::new(0),
            idle_timeout,
        }
    }
}

/// Counts a connection task as open from its creation until it is dropped, however it ends.
struct OpenConnection(Arc<Shared>);

impl OpenConnection {
    fn new(shared: &Arc<Shared>) -> Self {
        shared.open.fetch_add(1, Ordering::SeqCst);
        OpenConnection(shared.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

// ANCHOR: execute
/// Run one command against the store. A plain function, not async: the lock is taken and released
/// inside it, so it can never be held across an `.await`. Nothing in it can panic while the lock is
/// held, so the mutex is never poisoned; should it be anyway, the data is still used, since every
/// command leaves the map consistent.
fn execute(shared: &Shared, line: &str) -> String {
    shared.commands.fetch_add(1, Ordering::Relaxed);
    let mut parts = line.split_whitespace();
    let mut db = shared.db.lock().unwrap_or_else(PoisonError::into_inner);
    match (parts.next(), parts.next(), parts.next()) {
        (Some("SET"), Some(key), Some(value)) => {
            db.insert(key.to_string(), value.to_string());
            "OK".to_string()
        }
        (Some("GET"), Some(key), None) => db.get(key).cloned().unwrap_or_else(|| "NIL".into()),
        (Some("INCR"), Some(key), None) => {
            let current = db.get(key).map_or(Ok(0), |v| v.parse::<i64>());
            match current.map(|n| n.checked_add(1)) {
                Ok(Some(next)) => {
                    db.insert(key.to_string(), next.to_string());
                    next.to_string()
                }
                Ok(None) => "ERR overflow".to_string(), // i64::MAX + 1: an error reply, not a panic
                Err(_) => "ERR not a number".to_string(),
            }
        }
        _ => format!("ERR unknown command: {line}"),
    }
}
// ANCHOR_END: execute

// ANCHOR: connection
/// Serve one client until it quits, goes idle, disconnects, or the server shuts down.
async fn handle_connection(stream: TcpStream, shared: Arc<Shared>, shutdown: CancellationToken) {
    let _open = OpenConnection::new(&shared);
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    loop {
        let next = tokio::select! {
            _ = shutdown.cancelled() => {
                // Say goodbye and let the client hang up first, within a deadline: a client that
                // never reads or never closes cannot hold up the shutdown.
                let _ = timeout(SHUTDOWN_GRACE, async {
                    writer.write_all(b"BYE shutting down\n").await?;
                    while lines.next_line().await?.is_some() {}
                    Ok::<_, std::io::Error>(())
                })
                .await;
                return;
            }
            next = timeout(shared.idle_timeout, lines.next_line()) => next,
        };
        let line = match next {
            Err(_elapsed) => {
                let _ = writer.write_all(b"ERR idle timeout\n").await;
                return;
            }
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) | Ok(Err(_)) => return, // client closed the connection, or a read error
        };
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
// ANCHOR_END: connection

// ANCHOR: serve
/// Accept connections until `shutdown` fires; then wait for every connection task to finish.
async fn serve(listener: TcpListener, shared: Arc<Shared>, shutdown: CancellationToken) {
    let tracker = TaskTracker::new();
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        // Wait for a free slot first: past the cap, new connections are not accepted; the kernel
        // holds them in its accept backlog.
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            permit = limit.clone().acquire_owned() => permit.expect("semaphore closed"),
        };
        let stream = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: pause instead of spinning on the error.
                    eprintln!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        shared.connections.fetch_add(1, Ordering::Relaxed);
        let (shared, shutdown) = (shared.clone(), shutdown.clone());
        tracker.spawn(async move {
            handle_connection(stream, shared, shutdown).await;
            drop(permit); // the slot frees when the connection ends
        });
    }
    drop(listener); // stop accepting at once
    tracker.close();
    tracker.wait().await; // every connection has said goodbye
}
// ANCHOR_END: serve

/// A tiny client: send each command, read one reply line per command.
async fn client(addr: SocketAddr, commands: &[&str]) -> std::io::Result<Vec<String>> {
    let mut conn = Conn::open(addr).await?;
    let mut replies = Vec::new();
    for command in commands {
        replies.push(conn.ask(command).await?);
    }
    Ok(replies)
}

/// One client connection that stays open as long as the value lives.
struct Conn {
    lines: Lines<BufReader<OwnedReadHalf>>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Conn {
    async fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        let (reader, writer) = TcpStream::connect(addr).await?.into_split();
        let lines = BufReader::new(reader).lines();
        Ok(Conn { lines, writer })
    }

    async fn send(&mut self, command: &str) -> std::io::Result<()> {
        self.writer
            .write_all(format!("{command}\n").as_bytes())
            .await
    }

    /// The next line from the server ("" once it has closed the connection).
    async fn reply(&mut self) -> std::io::Result<String> {
        Ok(self.lines.next_line().await?.unwrap_or_default())
    }

    async fn ask(&mut self, command: &str) -> std::io::Result<String> {
        self.send(command).await?;
        self.reply().await
    }
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
    let shared = Arc::new(Shared::new(Duration::from_millis(1000)));
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(listener, shared.clone(), shutdown.clone()));

    // 1. A silent client must not hold up the others: while it stays connected, saying nothing,
    //    a second client is answered.
    let silent = TcpStream::connect(addr).await?;
    let second = step("concurrency", client(addr, &["GET anything"])).await;
    if let Some(replies) = second {
        let mut byte = [0u8; 1];
        // Nothing has arrived for the silent client and its connection is still open.
        let still_open = matches!(silent.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
        println!(
            "concurrency: second client got {:?} while a silent client stayed connected: {still_open}",
            replies?[0]
        );
    }
    drop(silent);

    // 2. Twenty clients at once, each incrementing a shared counter ten times.
    let start = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for id in 0..20 {
        clients.spawn(async move {
            let set = format!("SET client{id} {}", id * id);
            let get = format!("GET client{id}");
            let mut commands = vec![set.as_str()];
            commands.extend(["INCR hits"; 10]);
            commands.extend([get.as_str(), "QUIT"]);
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
        let hits = client(addr, &["GET hits"]).await?.remove(0);
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

    // 3. The cap: with 64 connections open, a 65th is not served until one of them hangs up.
    let cap_step = async {
        let mut held = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            let mut conn = Conn::open(addr).await?;
            conn.ask("GET hits").await?; // answered: the server has taken this connection
            held.push(conn);
        }
        let mut extra = Conn::open(addr).await?;
        extra.send("GET hits").await?;
        let served_early = timeout(Duration::from_millis(150), extra.reply())
            .await
            .is_ok();
        drop(held.pop()); // one of the 64 hangs up: its slot frees
        let later = extra.reply().await?;
        Ok::<_, std::io::Error>((served_early, later))
    };
    if let Some(result) = step("cap", cap_step).await {
        let (served_early, later) = result?;
        println!(
            "cap: 65th client served while 64 were open: {served_early}; after one left: {later:?}"
        );
    }

    // 4. A client that connects and says nothing is cut off after the idle timeout.
    let start = Instant::now();
    let mut lazy = Conn::open(addr).await?;
    if let Some(reply) = step("idle", lazy.reply()).await {
        println!(
            "idle: lazy client got {:?} after {:.0} ms",
            reply?,
            start.elapsed().as_secs_f64() * 1000.0
        );
    }
    drop(lazy);

    // 5. INCR past i64::MAX is an error reply, and the store keeps working for everyone.
    let overflow_step = async {
        let replies = client(addr, &["SET big 9223372036854775807", "INCR big"]).await?;
        let after = client(addr, &["GET big"]).await?;
        Ok::<_, std::io::Error>((replies[1].clone(), after[0].clone()))
    };
    if let Some(result) = step("overflow", overflow_step).await {
        let (incr, get) = result?;
        println!("overflow: INCR at i64::MAX -> {incr:?}; then GET big -> {get:?}");
    }

    // 6. Graceful shutdown while a client is still connected. The client reads its goodbye but
    //    does not hang up, so its connection task lingers for the grace period: `serve` must wait.
    let shutdown_step = async {
        let mut open = Conn::open(addr).await?;
        open.ask("GET hits").await?; // an answer: the server has accepted this connection
        let start = Instant::now();
        shutdown.cancel();
        let goodbye = open.reply().await?;
        server.await.expect("server panicked");
        let took = start.elapsed();
        let still_open = shared.open.load(Ordering::SeqCst);
        Ok::<_, std::io::Error>((goodbye, took, still_open, open))
    };
    if let Some(result) = step("shutdown", shutdown_step).await {
        let (goodbye, took, still_open, _open) = result?;
        println!(
            "shutdown: open client got {goodbye:?}; server stopped in {:.1} ms",
            took.as_secs_f64() * 1000.0
        );
        println!("shutdown: connection tasks still running when serve returned: {still_open}");
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
    let shared = Arc::new(Shared::new(Duration::from_secs(60)));
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(listener, shared, shutdown.clone()));
    tokio::signal::ctrl_c().await?;
    shutdown.cancel();
    server.await.expect("server panicked");
    println!("stopped cleanly");
    Ok(())
}
