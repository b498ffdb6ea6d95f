//! A line-based key-value server and a client talking to it over loopback (chapter 10).
//!
//! `cargo run --example kv_protocol` starts the server on a free port, runs one client session,
//! shows what a client over the connection cap is told, shuts the server down and prints its report.
//! The server and the client are in `server.rs`; `tests/kv_protocol.rs` tests each limit.

mod server;

use std::time::Duration;

use server::{Client, Limits};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

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
    let server = tokio::spawn(server::run(listener, limits, shutdown.clone()));

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
