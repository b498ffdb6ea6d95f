//! Tests of the key-value server of chapter 10 (`examples/kv_protocol.rs`): the protocol itself, and
//! each limit the chapter claims, each by a test that would fail if the limit were missing.

mod common;

#[path = "../examples/kv_protocol.rs"]
mod server;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use server::{Client, Limits, Report};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

/// How long a test waits for something that should happen at once, before it calls it a failure.
const PATIENCE: Duration = Duration::from_secs(5);

struct Running {
    addr: SocketAddr,
    shutdown: CancellationToken,
    server: JoinHandle<Report>,
}

async fn start(limits: Limits) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(server::run(listener, limits, shutdown.clone()));
    Running {
        addr,
        shutdown,
        server,
    }
}

async fn request(client: &mut Client, line: &str) -> Option<String> {
    timeout(PATIENCE, client.request(line))
        .await
        .unwrap_or_else(|_| panic!("no reply to {line:?} within {PATIENCE:?}"))
        .unwrap()
}

/// The next line from the server, or None at end of stream; panics after PATIENCE.
async fn reply(client: &mut Client) -> Option<String> {
    timeout(PATIENCE, client.reply())
        .await
        .expect("the server said nothing")
        .unwrap()
}

#[tokio::test]
async fn get_set_del_and_the_store_limits() {
    let limits = Limits {
        max_key: 8,
        max_value: 16,
        max_keys: 2,
        ..Limits::default()
    };
    let running = start(limits).await;
    let mut c = Client::connect(running.addr).await.unwrap();
    let script = [
        ("GET a", "NIL"),
        ("SET a one two", "OK"),
        ("GET a", "VALUE one two"),
        ("SET b 2", "OK"),
        ("SET c 3", "ERR store full"),
        ("SET a replaced", "OK"), // replacing a key does not count as a new one
        ("DEL b", "DELETED"),
        ("DEL b", "NIL"),
        ("SET c 3", "OK"),
        ("GET averyverylongkey", "ERR key too long"),
        ("SET k 01234567890123456", "ERR value too long"),
        ("GET", "ERR wrong number of arguments"),
        ("PING", "ERR unknown command"),
    ];
    for (line, expected) in script {
        assert_eq!(
            request(&mut c, line).await.as_deref(),
            Some(expected),
            "after {line:?}"
        );
    }
    assert_eq!(request(&mut c, "QUIT").await.as_deref(), Some("BYE"));
    assert_eq!(reply(&mut c).await, None, "the server closes after BYE");
}

#[tokio::test]
async fn a_client_over_the_cap_is_told_busy_and_a_freed_slot_is_reused() {
    let running = start(Limits {
        max_connections: 2,
        ..Limits::default()
    })
    .await;
    let mut first = Client::connect(running.addr).await.unwrap();
    let mut second = Client::connect(running.addr).await.unwrap();
    // A reply proves each connection has been accepted and holds a permit.
    assert_eq!(request(&mut first, "GET x").await.as_deref(), Some("NIL"));
    assert_eq!(request(&mut second, "GET x").await.as_deref(), Some("NIL"));

    // The third connects (the kernel accepts it) and, without sending anything, is told why it is
    // closed. Without the cap this read would wait, and the timeout would fail the test.
    let mut third = Client::connect(running.addr).await.unwrap();
    assert_eq!(reply(&mut third).await.as_deref(), Some("ERR server busy"));
    assert_eq!(
        reply(&mut third).await,
        None,
        "and then the connection is closed"
    );

    // One client leaves; its permit returns, and a new client is served.
    assert_eq!(request(&mut first, "QUIT").await.as_deref(), Some("BYE"));
    assert_eq!(reply(&mut first).await, None);
    let start = Instant::now();
    loop {
        let mut fourth = Client::connect(running.addr).await.unwrap();
        match request(&mut fourth, "GET x").await.as_deref() {
            Some("NIL") => break,
            // The permit is dropped just after BYE is sent: a very fast client can still be early.
            Some("ERR server busy") | None if start.elapsed() < PATIENCE => {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            other => panic!("the freed slot was not reused: {other:?}"),
        }
    }
    assert_eq!(request(&mut second, "QUIT").await.as_deref(), Some("BYE"));
    running.shutdown.cancel();
    let report = timeout(PATIENCE, running.server).await.unwrap().unwrap();
    assert!(report.rejected_busy >= 1, "{report:?}");
    assert_eq!(report.dropped_at_deadline, 0, "{report:?}");
}

#[tokio::test]
async fn an_over_long_line_is_refused_and_the_connection_closed() {
    let running = start(Limits {
        max_line: 64,
        ..Limits::default()
    })
    .await;
    let mut c = Client::connect(running.addr).await.unwrap();
    assert_eq!(request(&mut c, "SET short ok").await.as_deref(), Some("OK"));
    // 200 bytes: within the key and value limits, over the line limit. Without the codec's limit
    // the server would store it and answer OK.
    let long = format!("SET k {}", "v".repeat(194));
    assert_eq!(
        request(&mut c, &long).await.as_deref(),
        Some("ERR line too long")
    );
    assert_eq!(
        reply(&mut c).await,
        None,
        "the connection is closed after the error"
    );
    let mut again = Client::connect(running.addr).await.unwrap();
    assert_eq!(
        request(&mut again, "GET k").await.as_deref(),
        Some("NIL"),
        "nothing was stored"
    );
}

#[tokio::test]
async fn invalid_utf8_gets_a_reply_that_leaks_nothing() {
    let running = start(Limits::default()).await;
    let mut raw = TcpStream::connect(running.addr).await.unwrap();
    raw.write_all(b"GET \xff\xfe\n").await.unwrap();
    let mut answer = String::new();
    timeout(PATIENCE, raw.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    // The codec's own message ("Unable to decode input as UTF8") stays inside the server.
    assert_eq!(answer, "ERR bad request\n");
}

#[tokio::test]
async fn a_silent_client_is_disconnected_and_an_active_one_is_not() {
    let idle = Duration::from_millis(300);
    let running = start(Limits {
        idle_timeout: idle,
        ..Limits::default()
    })
    .await;
    let mut silent = Client::connect(running.addr).await.unwrap();
    let mut active = Client::connect(running.addr).await.unwrap();
    let start = Instant::now();

    // The active client speaks every 100 ms for 900 ms: three times the idle limit in total, but
    // never 300 ms of silence. The timeout is per read, not per connection.
    for i in 0..9 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            request(&mut active, "GET x").await.as_deref(),
            Some("NIL"),
            "request {i}"
        );
    }
    // Without the read timeout the silent client would wait forever and `reply` would panic.
    assert_eq!(
        reply(&mut silent).await.as_deref(),
        Some("ERR idle timeout")
    );
    assert_eq!(reply(&mut silent).await, None);
    assert!(
        start.elapsed() >= idle,
        "closed after {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn shutdown_stops_accepting_and_lets_a_connection_finish() {
    let grace = Duration::from_secs(3);
    let running = start(Limits {
        grace,
        ..Limits::default()
    })
    .await;
    let mut in_flight = Client::connect(running.addr).await.unwrap();
    assert_eq!(
        request(&mut in_flight, "SET job started").await.as_deref(),
        Some("OK")
    );

    running.shutdown.cancel();
    // The listener is closed: a new client is refused (after at most a moment for the accept loop
    // to see the cancellation). Without the shutdown branch it would be accepted forever.
    let start = Instant::now();
    loop {
        match TcpStream::connect(running.addr).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
            _ if start.elapsed() < PATIENCE => tokio::time::sleep(Duration::from_millis(10)).await,
            other => panic!("still accepting after shutdown: {other:?}"),
        }
    }
    // The connection that was open goes on being served during the grace period...
    assert_eq!(
        request(&mut in_flight, "SET job done").await.as_deref(),
        Some("OK")
    );
    assert_eq!(
        request(&mut in_flight, "GET job").await.as_deref(),
        Some("VALUE done")
    );
    assert_eq!(
        request(&mut in_flight, "QUIT").await.as_deref(),
        Some("BYE")
    );
    // ...and once it has left, the server ends at once, well before the deadline.
    let report = timeout(PATIENCE, running.server).await.unwrap().unwrap();
    assert_eq!(
        report,
        Report {
            served: 1,
            rejected_busy: 0,
            dropped_at_deadline: 0
        }
    );
    assert!(
        start.elapsed() < grace,
        "waited for the deadline: {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn at_the_deadline_lingering_connections_are_dropped() {
    let grace = Duration::from_millis(300);
    let limits = Limits {
        grace,
        idle_timeout: Duration::from_secs(60),
        ..Limits::default()
    };
    let running = start(limits).await;
    let mut lingering = Client::connect(running.addr).await.unwrap();
    assert_eq!(
        request(&mut lingering, "GET x").await.as_deref(),
        Some("NIL")
    );

    let start = Instant::now();
    running.shutdown.cancel();
    // The client says nothing more. Without the deadline the server would wait for it (for up to
    // its 60 s idle timeout), and this timeout would fail.
    let report = timeout(PATIENCE, running.server)
        .await
        .expect("no deadline")
        .unwrap();
    let took = start.elapsed();
    assert_eq!(report.dropped_at_deadline, 1, "{report:?}");
    assert!(
        took >= grace,
        "dropped before the grace period ended: {took:?}"
    );
    assert_eq!(
        reply(&mut lingering).await.as_deref(),
        Some("ERR server shutting down")
    );
    assert_eq!(reply(&mut lingering).await, None);
}

#[test]
fn the_example_runs_a_session() {
    let stdout = common::stdout_of(&common::run_example("kv_protocol", &[]));
    let expected = "\
> SET city Lisbon  < OK
> GET city         < VALUE Lisbon
> DEL city         < DELETED
> GET city         < NIL
> FLY away         < ERR unknown command
second client   < ERR server busy
> QUIT             < BYE
Report { served: 1, rejected_busy: 1, dropped_at_deadline: 0 }
";
    assert_eq!(stdout, expected);
}
