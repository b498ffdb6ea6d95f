//! A small line-based key-value server and its client (chapter 10, "Async I/O and protocols").
//!
//! `cargo run --example kv_protocol` starts the server on a free port, runs one client session,
//! shows what a client over the connection cap is told, shuts the server down and prints its
//! report. `tests/kv_protocol.rs` includes this file and tests each limit.
//!
//! The protocol, one command per line, one reply per line:
//!
//! | request           | reply                           |
//! | ----------------- | ------------------------------- |
//! | `SET key value`   | `OK`                            |
//! | `GET key`         | `VALUE value` or `NIL`          |
//! | `DEL key`         | `DELETED` or `NIL`              |
//! | `QUIT`            | `BYE`, then the server closes   |
//!
//! Every resource is bounded: connections (a semaphore), the length of a line (the codec), keys,
//! values and the number of keys (the store), the time a client may stay silent (a read timeout)
//! and the time a shutdown may take (a grace period). Error replies are short fixed strings: what
//! went wrong inside the server is never sent to the client.
#![allow(dead_code)] // the example and its tests (which include this file) use different parts

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;
use tokio_util::codec::{Framed, LinesCodec, LinesCodecError};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Every limit of the server in one place.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections served at once; one more is told `ERR server busy` and closed.
    pub max_connections: usize,
    /// The longest request line, in bytes, without its newline.
    pub max_line: usize,
    pub max_key: usize,
    pub max_value: usize,
    /// How many keys the store holds at most.
    pub max_keys: usize,
    /// How long a connection may stay silent (and a reply may take to send) before it is closed.
    pub idle_timeout: Duration,
    /// After shutdown starts: how long open connections may go on before they are dropped.
    pub grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 256,
            max_line: 1024,
            max_key: 64,
            max_value: 512,
            max_keys: 10_000,
            idle_timeout: Duration::from_secs(30),
            grace: Duration::from_secs(5),
        }
    }
}

// ANCHOR: store
/// The shared map. A std `Mutex` is right here: no lock is ever held across an `.await`.
pub struct Store {
    map: Mutex<HashMap<String, String>>,
    limits: Limits,
}

impl Store {
    pub fn new(limits: Limits) -> Self {
        Store {
            map: Mutex::new(HashMap::new()),
            limits,
        }
    }

    /// One request line in, one reply line out, and whether to close the connection after it.
    pub fn execute(&self, line: &str) -> (String, bool) {
        let mut parts = line.splitn(3, ' ');
        let command = parts.next().unwrap_or("");
        let key = parts.next();
        let value = parts.next();
        let reply = match (command, key, value) {
            ("QUIT", None, None) => return ("BYE".into(), true),
            ("GET" | "DEL" | "SET", Some(k), _) if k.len() > self.limits.max_key => {
                "ERR key too long".into()
            }
            ("GET", Some(k), None) => match self.map.lock().unwrap().get(k) {
                Some(v) => format!("VALUE {v}"),
                None => "NIL".into(),
            },
            ("DEL", Some(k), None) => match self.map.lock().unwrap().remove(k) {
                Some(_) => "DELETED".into(),
                None => "NIL".into(),
            },
            ("SET", Some(_), Some(v)) if v.len() > self.limits.max_value => {
                "ERR value too long".into()
            }
            ("SET", Some(k), Some(v)) => {
                let mut map = self.map.lock().unwrap();
                if map.len() >= self.limits.max_keys && !map.contains_key(k) {
                    "ERR store full".into()
                } else {
                    map.insert(k.to_owned(), v.to_owned());
                    "OK".into()
                }
            }
            ("GET" | "DEL" | "SET" | "QUIT", _, _) => "ERR wrong number of arguments".into(),
            _ => "ERR unknown command".into(),
        };
        (reply, false)
    }
}
// ANCHOR_END: store

/// What a finished server reports.
#[derive(Debug, PartialEq, Eq)]
pub struct Report {
    /// Connections accepted and served.
    pub served: usize,
    /// Connections turned away because the server was at its cap.
    pub rejected_busy: usize,
    /// Connections still open when the grace period ran out, and so dropped.
    pub dropped_at_deadline: usize,
}

// ANCHOR: accept
/// Serve `listener` until `shutdown` is cancelled, then stop accepting, give the open connections
/// `limits.grace` to finish, and drop the ones that are still open.
pub async fn run(listener: TcpListener, limits: Limits, shutdown: CancellationToken) -> Report {
    let store = Arc::new(Store::new(limits.clone()));
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let tracker = TaskTracker::new();
    let hard_stop = CancellationToken::new(); // cancelled when the grace period is over
    let (mut served, mut rejected_busy) = (0, 0);

    loop {
        let (socket, _peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(_) => {
                    // E.g. too many open files: back off instead of spinning, then go on.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            // At the cap: say so without waiting (try_write never blocks), and close.
            let _ = socket.try_write(b"ERR server busy\n");
            rejected_busy += 1;
            continue;
        };
        served += 1;
        let (store, limits, hard_stop) = (store.clone(), limits.clone(), hard_stop.clone());
        tracker.spawn(async move {
            serve_connection(socket, &store, &limits, &hard_stop).await;
            drop(permit); // the slot is free again
        });
    }

    drop(listener); // stop accepting: new clients now get "connection refused"
    tracker.close();
    let dropped_at_deadline = match timeout(limits.grace, tracker.wait()).await {
        Ok(()) => 0,
        Err(_) => {
            let open = tracker.len();
            hard_stop.cancel(); // every connection still open says goodbye and closes
            tracker.wait().await;
            open
        }
    };
    Report {
        served,
        rejected_busy,
        dropped_at_deadline,
    }
}
// ANCHOR_END: accept

// ANCHOR: connection
/// One client: read a line (at most `max_line` bytes, at most `idle_timeout` of silence), answer
/// it, repeat. Returns when the client quits or hangs up, breaks a limit, or `hard_stop` fires.
async fn serve_connection(
    socket: TcpStream,
    store: &Store,
    limits: &Limits,
    hard_stop: &CancellationToken,
) {
    let codec = LinesCodec::new_with_max_length(limits.max_line);
    let mut lines = Framed::new(socket, codec);
    loop {
        // FramedRead's next() is cancel-safe: a timeout or a shutdown loses no partial line.
        let next = tokio::select! {
            _ = hard_stop.cancelled() => {
                let _ = send(&mut lines, "ERR server shutting down", limits).await;
                return;
            }
            next = timeout(limits.idle_timeout, lines.next()) => next,
        };
        let line = match next {
            Err(_elapsed) => {
                let _ = send(&mut lines, "ERR idle timeout", limits).await;
                return;
            }
            Ok(None) => return, // the client hung up
            Ok(Some(Err(LinesCodecError::MaxLineLengthExceeded))) => {
                let _ = send(&mut lines, "ERR line too long", limits).await;
                return;
            }
            Ok(Some(Err(_))) => {
                // Invalid UTF-8 or an I/O error: the details stay in the server.
                let _ = send(&mut lines, "ERR bad request", limits).await;
                return;
            }
            Ok(Some(Ok(line))) => line,
        };
        let (reply, close) = store.execute(&line);
        if send(&mut lines, &reply, limits).await.is_err() || close {
            return;
        }
    }
}

/// Send one reply, giving up after `idle_timeout` (a client that never reads cannot hold us).
async fn send(
    lines: &mut Framed<TcpStream, LinesCodec>,
    reply: &str,
    limits: &Limits,
) -> io::Result<()> {
    match timeout(limits.idle_timeout, lines.send(reply)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(io::Error::other("send failed")),
        Err(_) => Err(io::ErrorKind::TimedOut.into()),
    }
}
// ANCHOR_END: connection

// ANCHOR: client
/// The client side: one request line out, one reply line back.
pub struct Client {
    lines: Framed<TcpStream, LinesCodec>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> io::Result<Client> {
        let socket = TcpStream::connect(addr).await?;
        // Replies are short; a reply longer than 4 KiB means something is wrong.
        let lines = Framed::new(socket, LinesCodec::new_with_max_length(4096));
        Ok(Client { lines })
    }

    /// Send `request` and wait for one reply; `None` if the server closed the connection.
    pub async fn request(&mut self, request: &str) -> io::Result<Option<String>> {
        self.lines.send(request).await.map_err(io::Error::other)?;
        self.reply().await
    }

    /// The next line from the server, or `None` once it has closed the connection.
    pub async fn reply(&mut self) -> io::Result<Option<String>> {
        match self.lines.next().await {
            Some(Ok(line)) => Ok(Some(line)),
            Some(Err(e)) => Err(io::Error::other(e)),
            None => Ok(None),
        }
    }
}
// ANCHOR_END: client

// ANCHOR: main
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let limits = Limits {
        max_connections: 1,
        idle_timeout: Duration::from_secs(2),
        grace: Duration::from_millis(500),
        ..Limits::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(run(listener, limits, shutdown.clone()));

    let mut client = Client::connect(addr).await?;
    for request in [
        "SET city Lisbon",
        "GET city",
        "DEL city",
        "GET city",
        "FLY away",
    ] {
        let reply = client.request(request).await?.unwrap_or_default();
        println!("> {request:<16} < {reply}");
    }

    // The cap is one connection, and `client` holds it.
    let mut second = Client::connect(addr).await?;
    println!(
        "second client   < {}",
        second.reply().await?.unwrap_or_default()
    );

    println!(
        "> {:<16} < {}",
        "QUIT",
        client.request("QUIT").await?.unwrap_or_default()
    );
    shutdown.cancel();
    let report = server.await.expect("the server task panicked");
    println!("{report:?}");
    Ok(())
}
// ANCHOR_END: main
