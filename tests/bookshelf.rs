//! Tests for examples/bookshelf (the service of "Async web services") and examples/load_generator,
//! over loopback with a real HTTP client and a real WebSocket client.
//!
//! cargo build --example bookshelf --example load_generator && cargo test --test bookshelf

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// A running bookshelf process. Dropping it kills the process, so a failing test leaves nothing.
struct Service {
    child: Child,
    url: String,
    output: Arc<Mutex<String>>,
}

impl Service {
    fn start(db: &Path, extra: &[&str]) -> Service {
        Service::start_with_env(db, extra, &[])
    }

    fn start_with_env(db: &Path, extra: &[&str], env: &[(&str, &str)]) -> Service {
        let mut cmd = common::example_command("bookshelf");
        cmd.envs(env.iter().copied());
        cmd.args(["--addr", "127.0.0.1:0", "--db"])
            .arg(db)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start examples/bookshelf");
        let output = Arc::new(Mutex::new(String::new()));
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let out = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = url_tx.send(url.trim().to_string());
                }
                let mut out = out.lock().unwrap();
                out.push_str(&line);
                out.push('\n');
            }
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        let err = output.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            err.lock().unwrap().push_str(&text);
        });
        let mut service = Service {
            child,
            url: String::new(),
            output,
        };
        match url_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => service.url = url,
            Err(_) => panic!(
                "bookshelf printed no `listening on` line within 30 s; output:\n{}",
                service.output()
            ),
        }
        assert!(
            service.url.starts_with("http://127.0.0.1:"),
            "{}",
            service.url
        );
        service
    }

    fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Send SIGINT, as Ctrl-C in a terminal would.
    fn interrupt(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill(2) on our own child process with a valid signal.
        let sent = unsafe { libc::kill(pid, libc::SIGINT) };
        assert_eq!(sent, 0, "sending SIGINT to the service failed");
    }

    fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Let the reader threads collect the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "bookshelf did not exit within {limit:?}; output:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("books.db");
    (dir, db)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("reqwest client")
}

async fn add_book(c: &reqwest::Client, s: &Service, title: &str) -> Value {
    let r = c
        .post(s.at("/books"))
        .json(&json!({ "title": title, "author": "Ada", "year": 2024 }))
        .send()
        .await
        .expect("POST /books");
    assert_eq!(r.status(), 201, "POST /books");
    r.json().await.expect("book JSON")
}

async fn get_json(c: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = c.get(url).send().await.expect("GET");
    let status = r.status().as_u16();
    (status, r.json().await.expect("JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers() {
    let (_dir, db) = temp_db();
    let s = Service::start(
        &db,
        &[
            "--reviews-delay-ms",
            "10",
            "--stock-delay-ms",
            "10",
            "--demo-endpoints",
        ],
    );
    let c = client();

    let (status, health) = get_json(&c, &s.at("/health")).await;
    assert_eq!((status, health), (200, json!({ "status": "ok" })));

    let dune = add_book(&c, &s, "Dune").await;
    let emma = add_book(&c, &s, "Emma").await;
    let id = dune["id"].as_i64().unwrap();
    assert_eq!(dune["title"], "Dune");
    assert_eq!(dune["year"], 2024);

    let (status, list) = get_json(&c, &s.at("/books")).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    let (status, one) = get_json(&c, &s.at(&format!("/books/{id}"))).await;
    assert_eq!((status, one["title"].as_str()), (200, Some("Dune")));

    // The fan-out endpoint: the book plus both upstreams' data.
    let (status, overview) = get_json(&c, &s.at(&format!("/books/{id}/overview"))).await;
    assert_eq!(status, 200, "{overview}");
    assert_eq!(overview["book"]["title"], "Dune");
    assert_eq!(overview["reviews"]["book_id"], id, "{overview}");
    assert_eq!(overview["stock"]["book_id"], id, "{overview}");
    for mode in ["sequential", "strict"] {
        let url = s.at(&format!("/books/{id}/overview?mode={mode}"));
        let (status, body) = get_json(&c, &url).await;
        assert_eq!(status, 200, "{mode}: {body}");
        assert_eq!(body["stock"]["book_id"], id, "{mode}: {body}");
    }

    // The cached endpoint: a miss, then a hit.
    let (status, rating) = get_json(&c, &s.at(&format!("/books/{id}/rating"))).await;
    assert_eq!((status, &rating["book_id"]), (200, &json!(id)), "{rating}");
    let (_, again) = get_json(&c, &s.at(&format!("/books/{id}/rating"))).await;
    assert_eq!(rating, again);

    // The streamed export: one JSON object per line.
    let r = c.get(s.at("/books/export")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let text = r.text().await.unwrap();
    let titles: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["title"].to_string())
        .collect();
    assert_eq!(titles, ["\"Dune\"", "\"Emma\""], "{text}");

    // The demo endpoints all answer (one request at a time is fine even for the bad one).
    for path in [
        "/slow?ms=10",
        "/slow-blocking?ms=10",
        "/slow-spawn-blocking?ms=10",
    ] {
        let (status, body) = get_json(&c, &s.at(path)).await;
        assert_eq!(
            (status, body["slept_ms"].as_u64()),
            (200, Some(10)),
            "{path}"
        );
    }

    let (status, stats) = get_json(&c, &s.at("/stats")).await;
    assert_eq!(status, 200);
    assert_eq!(stats["books"], 2, "{stats}");
    assert_eq!(stats["rating_cache"]["fills"], 1, "{stats}");
    assert_eq!(stats["rating_cache"]["hits"], 1, "{stats}");
    assert!(
        stats["upstream_calls"]["reviews"].as_u64().unwrap() >= 4,
        "{stats}"
    );
    assert!(
        stats["background_job_runs"].as_u64().unwrap() >= 1,
        "{stats}"
    );

    // Delete, then the book is gone.
    let emma_id = emma["id"].as_i64().unwrap();
    let r = c
        .delete(s.at(&format!("/books/{emma_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (status, err) = get_json(&c, &s.at(&format!("/books/{emma_id}"))).await;
    assert_eq!(status, 404);
    assert_eq!(err["error"], format!("no book with id {emma_id}"));
}

/// Each case: (method, path, content type, body, expected status).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_json_4xx_and_no_panic() {
    let (_dir, db) = temp_db();
    let mut s = Service::start(&db, &["--body-limit", "1024"]);
    let c = client();
    let book = add_book(&c, &s, "Kept").await;
    let id = book["id"].as_i64().unwrap();
    let big = format!(r#"{{"title": "{}", "author": "x"}}"#, "a".repeat(4096));
    let json_ct = "application/json";
    let cases: Vec<(&str, String, &str, String, u16)> = vec![
        (
            "POST",
            "/books".into(),
            json_ct,
            r#"{"title": "Dune", "#.into(),
            400,
        ),
        (
            "POST",
            "/books".into(),
            json_ct,
            "not json at all".into(),
            400,
        ),
        (
            "POST",
            "/books".into(),
            json_ct,
            r#"{"title": "Dune"}"#.into(),
            422,
        ),
        (
            "POST",
            "/books".into(),
            json_ct,
            r#"{"title": 7, "author": "x"}"#.into(),
            422,
        ),
        (
            "POST",
            "/books".into(),
            json_ct,
            r#"{"title": "a", "author": "b", "year": "old"}"#.into(),
            422,
        ),
        (
            "POST",
            "/books".into(),
            json_ct,
            r#"{"title": " ", "author": "b"}"#.into(),
            422,
        ),
        (
            "POST",
            "/books".into(),
            "text/plain",
            r#"{"title": "a", "author": "b"}"#.into(),
            415,
        ),
        ("POST", "/books".into(), json_ct, big, 413),
        ("GET", "/no/such/route".into(), json_ct, String::new(), 404),
        ("GET", "/books/abc".into(), json_ct, String::new(), 400),
        ("GET", "/books/999999".into(), json_ct, String::new(), 404),
        (
            "GET",
            format!("/books/{id}/overview?mode=fast"),
            json_ct,
            String::new(),
            400,
        ),
        ("GET", "/books?limit=0".into(), json_ct, String::new(), 422),
        ("GET", "/slow?ms=99999".into(), json_ct, String::new(), 422),
        ("PUT", "/books".into(), json_ct, "{}".into(), 405),
    ];
    for (method, path, content_type, body, expected) in cases {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = c
            .request(method.clone(), s.at(&path))
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status().as_u16();
        let ct = r.headers().get("content-type").cloned();
        let text = r.text().await.unwrap();
        let short = &body[..body.len().min(60)];
        assert_eq!(status, expected, "{method} {path} {short:?} -> {text}");
        assert_eq!(
            ct.as_ref().map(|v| v.to_str().unwrap()),
            Some("application/json"),
            "{method} {path}: {text}"
        );
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: body is not JSON ({e}): {text}"));
        let msg = v["error"].as_str().unwrap_or_default();
        assert!(!msg.is_empty(), "{method} {path}: no error message: {text}");
    }
    // Still alive and well.
    assert!(s.is_running(), "the service died:\n{}", s.output());
    let (status, _) = get_json(&c, &s.at(&format!("/books/{id}"))).await;
    assert_eq!(status, 200);
    assert!(!s.output().contains("panicked"), "{}", s.output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn middleware_timeout_and_streamed_body_limit_answer_in_json() {
    let (_dir, db) = temp_db();
    let s = Service::start(
        &db,
        &["--body-limit", "1024", "--request-timeout-ms", "150"],
    );
    let c = client();

    // TimeoutLayer: a handler slower than the request limit becomes a JSON 503.
    let start = Instant::now();
    let (status, body) = get_json(&c, &s.at("/slow?ms=1000")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body, json!({ "error": "service unavailable" }));
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );

    // A body without Content-Length (chunked) is cut off while it is read: JSON 413. The server
    // answers and closes the connection before the client has sent the whole body, so on a busy
    // machine the client can still be writing when the connection goes ("broken pipe") and never
    // read the answer. That is the server cutting the body off too; try again until the answer is
    // heard, and accept no other error.
    let mut answer = None;
    for _ in 0..5 {
        let chunks: Vec<Result<String, std::io::Error>> = (0..64)
            .map(|i| {
                Ok(if i == 0 {
                    r#"{"title": ""#.to_string()
                } else {
                    "a".repeat(64)
                })
            })
            .collect();
        let sent = c
            .post(s.at("/books"))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
            .send()
            .await;
        match sent {
            Ok(r) => {
                answer = Some(r);
                break;
            }
            Err(e) => {
                let cut_off = format!("{e:?}");
                assert!(
                    cut_off.contains("BrokenPipe") || cut_off.contains("ConnectionReset"),
                    "the only acceptable failure is the server closing mid-body: {cut_off}"
                );
            }
        }
    }
    let r = answer.expect("in five tries, the client never heard the server's answer");
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("length limit exceeded"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_200_simultaneous_requests() {
    let (_dir, db) = temp_db();
    let s = Service::start(&db, &["--reviews-delay-ms", "20", "--stock-delay-ms", "20"]);
    let c = client();
    let id = add_book(&c, &s, "Crowd").await["id"].as_i64().unwrap();
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..200 {
        let c = c.clone();
        let url = match i % 4 {
            0 => s.at(&format!("/books/{id}/overview")),
            1 => s.at(&format!("/books/{id}")),
            2 => s.at(&format!("/books/{id}/rating")),
            _ => s.at("/slow?ms=1000"),
        };
        requests.spawn(async move { c.get(&url).send().await.map(|r| r.status().as_u16()) });
    }
    let start = Instant::now();
    let mut ok = 0;
    while let Some(done) = requests.join_next().await {
        assert_eq!(done.unwrap().expect("request failed"), 200);
        ok += 1;
    }
    assert_eq!(ok, 200);
    // Fifty of them wait a whole second each: one after another that would be 50 s. Under 10 s
    // means that at least five seconds' worth of them, and in practice all fifty, overlapped.
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_waits_overlap_across_requests() {
    let (_dir, db) = temp_db();
    let s = Service::start(
        &db,
        &["--reviews-delay-ms", "100", "--stock-delay-ms", "100"],
    );
    let c = client();
    let id = add_book(&c, &s, "Overlap").await["id"].as_i64().unwrap();
    // Warm up: open connections to the service and to its upstreams.
    get_json(&c, &s.at(&format!("/books/{id}/overview"))).await;

    // 20 requests, each waiting 100 ms on two upstreams: together, not one after another.
    let start = Instant::now();
    let url = s.at(&format!("/books/{id}/overview"));
    let all = futures::future::join_all((0..20).map(|_| get_json(&c, &url))).await;
    let elapsed = start.elapsed();
    for (status, body) in &all {
        assert_eq!(*status, 200);
        assert_eq!(body["reviews"]["book_id"], id, "{body}");
        assert_eq!(body["stock"]["book_id"], id, "{body}");
    }
    assert!(
        elapsed < Duration::from_secs(1),
        "20 overlapping requests took {elapsed:?} (one after another would be 4 s)"
    );

    // Exercise 5's measurement: join! (about 100 ms) against sequential awaits (about 200 ms).
    // The best of three runs each, so that a busy machine does not decide the comparison.
    let time = |mode: &'static str| {
        let (c, url) = (
            c.clone(),
            s.at(&format!("/books/{id}/overview?mode={mode}")),
        );
        async move {
            let mut best = Duration::MAX;
            for _ in 0..3 {
                let start = Instant::now();
                let (status, _) = get_json(&c, &url).await;
                assert_eq!(status, 200);
                best = best.min(start.elapsed());
            }
            best
        }
    };
    let sequential = time("sequential").await;
    let concurrent = time("concurrent").await;
    assert!(
        sequential >= Duration::from_millis(200),
        "sequential {sequential:?}"
    );
    assert!(
        concurrent < sequential.mul_f64(0.8),
        "concurrent {concurrent:?} vs sequential {sequential:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_collapses_50_concurrent_misses_into_one_call() {
    let (_dir, db) = temp_db();
    // A slow upstream (2 s), so that all fifty requests arrive while the one fill is running.
    let s = Service::start(
        &db,
        &[
            "--reviews-delay-ms",
            "2000",
            "--upstream-timeout-ms",
            "5000",
        ],
    );
    let c = client();
    let id = add_book(&c, &s, "Cached").await["id"].as_i64().unwrap();
    let url = s.at(&format!("/books/{id}/rating"));
    let answers = futures::future::join_all((0..50).map(|_| get_json(&c, &url))).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body, &answers[0].1);
    }
    let (_, stats) = get_json(&c, &s.at("/stats")).await;
    assert_eq!(stats["upstream_calls"]["reviews"], 1, "{stats}");
    assert_eq!(stats["rating_cache"]["fills"], 1, "{stats}");
    // The other 49 waited for that fill (none found a finished value): they were concurrent.
    assert_eq!(stats["rating_cache"]["joined"], 49, "{stats}");
    assert_eq!(stats["rating_cache"]["hits"], 0, "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_upstream_becomes_a_504_and_the_other_still_answers() {
    let (_dir, db) = temp_db();
    let s = Service::start(
        &db,
        &[
            "--reviews-delay-ms",
            "20",
            "--stock-delay-ms",
            "30000",
            "--upstream-timeout-ms",
            "2000",
        ],
    );
    let c = client();
    let id = add_book(&c, &s, "Partial").await["id"].as_i64().unwrap();

    let start = Instant::now();
    let (status, body) = get_json(&c, &s.at(&format!("/books/{id}/overview"))).await;
    let elapsed = start.elapsed();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["reviews"]["book_id"], id,
        "reviews data still there: {body}"
    );
    assert_eq!(body["stock"]["status"], 504, "{body}");
    assert_eq!(
        body["stock"]["error"], "upstream `stock` did not answer within 2000 ms",
        "{body}"
    );
    assert!(elapsed < Duration::from_secs(6), "took {elapsed:?}");

    // All-or-nothing mode: the whole request is a 504.
    let (status, body) = get_json(&c, &s.at(&format!("/books/{id}/overview?mode=strict"))).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(
        body,
        json!({ "error": "upstream `stock` did not answer within 2000 ms" })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_streams_book_events_and_closes_on_shutdown() {
    let (_dir, db) = temp_db();
    let mut s = Service::start(&db, &[]);
    let c = client();
    let ws_url = s.url.replacen("http://", "ws://", 1) + "/ws";
    let (mut ws, _) = tokio_tungstenite::connect_async(&ws_url)
        .await
        .expect("connect ws");

    async fn next_json(
        ws: &mut (impl futures::Stream<Item = tokio_tungstenite::tungstenite::Result<Message>> + Unpin),
    ) -> Value {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
                .await
                .expect("a WebSocket message within 5 s")
                .expect("stream open")
                .expect("valid message");
            if let Message::Text(text) = msg {
                return serde_json::from_str(text.as_str()).expect("JSON event");
            }
        }
    }

    assert_eq!(next_json(&mut ws).await, json!({ "type": "hello" }));
    let book = add_book(&c, &s, "Streamed").await;
    let event = next_json(&mut ws).await;
    assert_eq!(event["type"], "book_added", "{event}");
    assert_eq!(event["book"], book);
    let id = book["id"].as_i64().unwrap();
    c.delete(s.at(&format!("/books/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        next_json(&mut ws).await,
        json!({ "type": "book_deleted", "id": id })
    );
    // A client message is ignored, not fatal.
    ws.send(Message::Text("hi".into())).await.unwrap();

    // Ctrl-C: the server sends a Close frame (1001, going away) and exits cleanly.
    s.interrupt();
    let close = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                other => panic!("expected a Close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("Close frame within 5 s")
    .expect("a close frame with a code");
    assert_eq!(u16::from(close.code), 1001);
    let status = s.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "exit {status}:\n{}", s.output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_in_flight_work_and_keeps_writes() {
    let (_dir, db) = temp_db();
    let mut s = Service::start(
        &db,
        &["--reviews-delay-ms", "700", "--upstream-timeout-ms", "5000"],
    );
    let c = client();
    let book = add_book(&c, &s, "Durable").await; // acknowledged: 201
    let id = book["id"].as_i64().unwrap();

    // A request that is still waiting on its upstream when Ctrl-C arrives.
    let url = s.at(&format!("/books/{id}/overview"));
    let in_flight = tokio::spawn({
        let c = c.clone();
        async move { get_json(&c, &url).await }
    });
    // Wait until the request is inside the handler, waiting on the reviews service.
    let waiting_since = Instant::now();
    loop {
        let (_, stats) = get_json(&c, &s.at("/stats")).await;
        if stats["upstream_calls"]["reviews"].as_u64() >= Some(1) {
            break;
        }
        assert!(waiting_since.elapsed() < Duration::from_secs(10), "{stats}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.interrupt();
    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, 200, "the in-flight request was finished: {body}");
    assert_eq!(body["reviews"]["book_id"], id, "{body}");

    let exit = s.wait_exit(Duration::from_secs(15));
    let out = s.output();
    assert!(exit.success(), "exit {exit}:\n{out}");
    assert!(out.contains("shutting down"), "{out}");
    assert!(out.contains("background job stopped"), "{out}");
    assert!(out.contains("shutdown complete"), "{out}");
    drop(s);

    // Restart on the same file: the acknowledged write is there.
    let s2 = Service::start(&db, &[]);
    let (status, again) = get_json(&c, &s2.at(&format!("/books/{id}"))).await;
    assert_eq!(status, 200);
    assert_eq!(again, book);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_path_comes_from_the_environment() {
    let (_dir, db) = temp_db();
    let mut cmd = common::example_command("bookshelf");
    cmd.env("BOOKSHELF_DB", &db)
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("start bookshelf");
    let stdout = child.stdout.take().unwrap();
    let mut guard = Service {
        child,
        url: String::new(),
        output: Arc::default(),
    };
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = String::new();
    while let Some(Ok(line)) = lines.next() {
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("database: ") {
            break;
        }
    }
    assert!(
        seen.contains(&format!("database: {}", db.display())),
        "{seen}"
    );
    assert!(db.exists(), "the database file was created");
    assert!(guard.is_running());
}

#[test]
fn load_generator_reports_rates_and_percentiles() {
    let out = common::run_example(
        "load_generator",
        &[
            "--warmup",
            "20",
            "--users",
            "20",
            "--requests",
            "60",
            "--max-secs",
            "5",
            "--ms",
            "10",
            "--endpoints",
            "slow,slow-blocking,overview",
        ],
    );
    let text = common::stdout_of(&out);
    assert!(text.contains("p50 ms") && text.contains("p99 ms"), "{text}");
    for path in ["/slow?ms=10", "/slow-blocking?ms=10", "/books/1/overview"] {
        let row = text
            .lines()
            .find(|l| l.starts_with(path))
            .unwrap_or_else(|| panic!("no row for {path}:\n{text}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols[1], "60", "all 60 requests answered: {row}");
        assert_eq!(cols[2], "0", "no errors: {row}");
    }
}

/// The load generator's arguments for a small run: 20 users send 100 requests of 20 ms to the
/// awaiting handler and to the blocking one.
const SMALL_LOAD: [&str; 12] = [
    "--warmup",
    "20",
    "--users",
    "20",
    "--requests",
    "100",
    "--max-secs",
    "10",
    "--ms",
    "20",
    "--endpoints",
    "slow,slow-blocking",
];

/// The numbers of the load generator's row for `endpoint` (the row whose first column starts
/// with it), after that column: requests, errors, secs, req/s, p50 ms, p90 ms, p99 ms.
fn load_row(stdout: &str, endpoint: &str) -> Vec<f64> {
    let line = stdout
        .lines()
        .find(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|e| e.starts_with(endpoint))
        })
        .unwrap_or_else(|| panic!("no row for {endpoint} in:\n{stdout}"));
    line.split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap_or(f64::NAN))
        .collect()
}

/// The load generator (examples/load_generator.rs), at a small size: it starts its own bookshelf,
/// answers every request, and shows the lesson of the chapter's table: a handler that blocks the
/// executor is many times slower under concurrent load than one that awaits.
#[test]
fn load_generator_measures_async_against_blocking_handlers() {
    let output = common::run_example("load_generator", &SMALL_LOAD);
    let stdout = common::stdout_of(&output);
    let awaiting = load_row(&stdout, "/slow?");
    let blocking = load_row(&stdout, "/slow-blocking?");
    for (name, r) in [("/slow", &awaiting), ("/slow-blocking", &blocking)] {
        assert_eq!(r[0], 100.0, "{name}: every request answered:\n{stdout}");
        assert_eq!(r[1], 0.0, "{name}: no errors:\n{stdout}");
    }
    // 20 users, 20 ms each: awaiting, they overlap (p50 near 20 ms); blocking, the runtime's few
    // worker threads serve them a couple at a time (p50 near 200 ms on two cores).
    assert!(
        blocking[4] > 2.0 * awaiting[4],
        "blocking p50 {} ms should be far above awaiting p50 {} ms:\n{stdout}",
        blocking[4],
        awaiting[4]
    );
}

// ---------------------------------------------------------------------------------------------
// Misbehaving clients and upstreams. Each test below reproduces one way a public service is
// attacked or simply mistreated, and checks that the bookshelf stays within its limits.
// ---------------------------------------------------------------------------------------------

/// Fill the books table with `n` rows of about 200 bytes each, straight through SQLite: an export
/// of them is far larger than what the kernel's socket buffers can hold for a client that stops
/// reading.
async fn seed_books(db: &Path, n: u32) {
    use sqlx::sqlite::SqliteConnectOptions;
    use std::str::FromStr;
    let options = SqliteConnectOptions::from_str("sqlite:")
        .unwrap()
        .filename(db)
        .busy_timeout(Duration::from_secs(10));
    let pool = sqlx::SqlitePool::connect_with(options)
        .await
        .expect("open db");
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) \
         INSERT INTO books (title, author, year) \
         SELECT 'Title ' || i || ' ' || hex(zeroblob(80)), 'Author ' || i, 2000 FROM n",
    )
    .bind(n)
    .execute(&pool)
    .await
    .expect("seed books");
    pool.close().await;
}

/// A TCP connection to the service with a tiny receive buffer, so that it holds little of what
/// the server sends once it stops reading.
async fn small_buffer_connection(s: &Service) -> tokio::net::TcpStream {
    let addr: std::net::SocketAddr = s.url.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(addr).await.expect("connect")
}

/// Start `GET /books/export`, read the first bytes of the answer, then stop reading (and keep the
/// connection open) for as long as the returned stream lives.
async fn stuck_export(s: &Service) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = small_buffer_connection(s).await;
    conn.write_all(b"GET /books/export HTTP/1.1\r\nHost: bookshelf\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut first))
        .await
        .expect("the export starts within 10 s")
        .expect("read");
    let head = String::from_utf8_lossy(&first[..n]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    conn
}

/// A WebSocket client that reads its `hello`, then never reads again (nor answers pings).
async fn stuck_websocket(s: &Service) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let conn = small_buffer_connection(s).await;
    let ws_url = s.url.replacen("http://", "ws://", 1) + "/ws";
    let (mut ws, _) = tokio_tungstenite::client_async(ws_url, conn)
        .await
        .expect("WebSocket handshake");
    let hello = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("hello within 5 s");
    assert!(matches!(hello, Some(Ok(Message::Text(_)))), "{hello:?}");
    ws
}

async fn stats(c: &reqwest::Client, s: &Service) -> Value {
    get_json(c, &s.at("/stats")).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_has_a_deadline_with_clients_that_stopped_reading() {
    let (_dir, db) = temp_db();
    let mut s = Service::start(&db, &["--body-limit", "2000000"]);
    let c = client();
    seed_books(&db, 150_000).await;
    let _export = stuck_export(&s).await;
    let _ws = stuck_websocket(&s).await;
    // Large events, far more than the socket buffers hold: the server's sends to the silent
    // WebSocket client block.
    for i in 0..20 {
        let r = c
            .post(s.at("/books"))
            .json(&json!({ "title": format!("{i} {}", "x".repeat(900_000)), "author": "Big" }))
            .send()
            .await
            .expect("POST a large book");
        assert_eq!(r.status(), 201);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let interrupted = Instant::now();
    s.interrupt();
    // The default grace period is 5 s: the process must be gone well before 20 s.
    let exit = s.wait_exit(Duration::from_secs(20));
    let out = s.output();
    assert!(exit.success(), "exit {exit}:\n{out}");
    eprintln!("{out}");
    assert!(out.contains("abandon"), "says what it abandoned:\n{out}");
    assert!(
        interrupted.elapsed() >= Duration::from_secs(4),
        "the grace period was honoured ({:?}):\n{out}",
        interrupted.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigint_exits_at_once() {
    let (_dir, db) = temp_db();
    let mut s = Service::start(&db, &[]);
    let c = client();
    seed_books(&db, 150_000).await;
    let _export = stuck_export(&s).await;
    // A request the drain waits for: two seconds of work, well inside the 5 s grace period.
    let slow = tokio::spawn({
        let (c, url) = (c.clone(), s.at("/slow?ms=2000"));
        async move { c.get(url).send().await.map(|r| r.status().as_u16()) }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.interrupt();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s.is_running(), "still draining after the first SIGINT");
    s.interrupt();
    let exit = s.wait_exit(Duration::from_secs(4));
    // 130 = 128 + SIGINT: the second signal ended it, not the end of the grace period.
    assert_eq!(exit.code(), Some(130), "{exit}:\n{}", s.output());
    assert!(
        slow.await.unwrap().is_err(),
        "the slow request was abandoned"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stuck_exports_do_not_starve_other_requests() {
    let (_dir, db) = temp_db();
    let s = Service::start(&db, &["--db-connections", "2"]);
    let c = client();
    seed_books(&db, 150_000).await;
    let _a = stuck_export(&s).await;
    let _b = stuck_export(&s).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..3 {
        let start = Instant::now();
        let (status, body) = get_json(&c, &s.at("/books/1")).await;
        assert_eq!(status, 200, "after {:?}: {body}", start.elapsed());
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "{:?}",
            start.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_exports_are_capped() {
    let (_dir, db) = temp_db();
    let s = Service::start(&db, &["--max-exports", "2"]);
    let c = client();
    seed_books(&db, 150_000).await;
    let _a = stuck_export(&s).await;
    let _b = stuck_export(&s).await;
    let r = c.get(s.at("/books/export")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"), "{:?}", r.headers());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_rejects_large_messages() {
    let (_dir, db) = temp_db();
    let s = Service::start(&db, &[]);
    let ws_url = s.url.replacen("http://", "ws://", 1) + "/ws";
    let (mut ws, _) = tokio_tungstenite::connect_async(&ws_url).await.unwrap();
    let _hello = ws.next().await;
    let _ = ws.send(Message::Text("x".repeat(100_000).into())).await;
    // The server must end the connection (a Close frame, an error or the end of the stream).
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the server kept a socket that sent 100 kB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_sockets_are_capped_and_silent_peers_dropped() {
    let (_dir, db) = temp_db();
    let s = Service::start(&db, &["--max-websockets", "2", "--ws-ping-ms", "200"]);
    let c = client();
    let _a = stuck_websocket(&s).await;
    let _b = stuck_websocket(&s).await;
    let ws_url = s.url.replacen("http://", "ws://", 1) + "/ws";
    let third = tokio_tungstenite::connect_async(&ws_url).await;
    match third {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 503),
        other => panic!("a third socket was accepted: {other:?}"),
    }
    // Neither silent client answers pings: both are dropped after the pong deadline.
    let since = Instant::now();
    loop {
        if stats(&c, &s).await["websocket_clients"] == 0 {
            break;
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "{}",
            stats(&c, &s).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_request_gets_its_timeout() {
    let (_dir, db) = temp_db();
    let s = Service::start(
        &db,
        &["--max-concurrency", "1", "--request-timeout-ms", "500"],
    );
    let c = client();
    let url = s.at("/slow?ms=2000");
    let timed = futures::future::join_all((0..8).map(|_| {
        let (c, url) = (c.clone(), url.clone());
        async move {
            let start = Instant::now();
            let (status, body) = get_json(&c, &url).await;
            (status, body, start.elapsed())
        }
    }))
    .await;
    // One at a time, a queue of 8 behind a 500 ms limit would end after 4 s.
    let slowest = timed.iter().map(|t| t.2).max().unwrap();
    assert!(
        slowest < Duration::from_millis(2500),
        "the last answer came after {slowest:?}"
    );
    for (status, body, _) in &timed {
        assert_eq!(*status, 503, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_misses_during_an_outage_share_one_failed_call() {
    let (_dir, db) = temp_db();
    let s = Service::start(
        &db,
        &["--reviews-delay-ms", "3000", "--upstream-timeout-ms", "300"],
    );
    let c = client();
    let id = add_book(&c, &s, "Outage").await["id"].as_i64().unwrap();
    let url = s.at(&format!("/books/{id}/rating"));
    let timed = futures::future::join_all((0..50).map(|_| {
        let (c, url) = (c.clone(), url.clone());
        async move {
            let start = Instant::now();
            let (status, _) = get_json(&c, &url).await;
            (status, start.elapsed())
        }
    }))
    .await;
    let slowest = timed.iter().map(|t| t.1).max().unwrap();
    let stats = stats(&c, &s).await;
    assert!(
        timed.iter().all(|t| t.0 == 504),
        "{:?}",
        timed.iter().map(|t| t.0).collect::<Vec<_>>()
    );
    assert!(
        slowest < Duration::from_secs(5),
        "the last caller waited {slowest:?}"
    );
    assert!(
        stats["upstream_calls"]["reviews"].as_u64().unwrap() <= 2,
        "one call for all, not one each: {stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fill_is_cached_briefly() {
    let (_dir, db) = temp_db();
    let s = Service::start(
        &db,
        &[
            "--reviews-delay-ms",
            "3000",
            "--upstream-timeout-ms",
            "200",
            "--cache-failure-ttl-ms",
            "60000",
        ],
    );
    let c = client();
    let id = add_book(&c, &s, "Down").await["id"].as_i64().unwrap();
    let url = s.at(&format!("/books/{id}/rating"));
    assert_eq!(get_json(&c, &url).await.0, 504);
    let start = Instant::now();
    assert_eq!(get_json(&c, &url).await.0, 504);
    assert!(
        start.elapsed() < Duration::from_millis(150),
        "answered from the cache"
    );
    assert_eq!(stats(&c, &s).await["upstream_calls"]["reviews"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratings_are_cached_only_for_books_that_exist() {
    let (_dir, db) = temp_db();
    let s = Service::start(&db, &["--reviews-delay-ms", "1"]);
    let c = client();
    for id in [424_242, 424_243, 424_244] {
        let (status, body) = get_json(&c, &s.at(&format!("/books/{id}/rating"))).await;
        assert_eq!(status, 404, "{body}");
    }
    let stats = stats(&c, &s).await;
    assert_eq!(stats["upstream_calls"]["reviews"], 0, "{stats}");
    assert_eq!(stats["rating_cache"]["entries"], 0, "{stats}");
}

/// An upstream that misbehaves: `/reviews/{id}` answers 500, `/stock/{id}` answers a valid stock
/// record padded to 8 MB.
async fn start_bad_upstream() -> String {
    use axum::routing::get;
    let huge = format!(
        r#"{{"book_id": 1, "in_stock": 1, "price_cents": 100, "pad": "{}"}}"#,
        "x".repeat(8 << 20)
    );
    let app = axum::Router::new()
        .route(
            "/reviews/{id}",
            get(|| async {
                (
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "secret detail",
                )
            }),
        )
        .route(
            "/stock/{id}",
            get(move || {
                let huge = huge.clone();
                async move { ([("content-type", "application/json")], huge) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_failures_hide_internals_and_bodies_are_capped() {
    let (_dir, db) = temp_db();
    let upstream = start_bad_upstream().await;
    let s = Service::start(
        &db,
        &[
            "--reviews-url",
            &upstream,
            "--stock-url",
            &upstream,
            "--upstream-timeout-ms",
            "5000",
        ],
    );
    let c = client();
    let id = add_book(&c, &s, "Leaky").await["id"].as_i64().unwrap();
    let (status, body) = get_json(&c, &s.at(&format!("/books/{id}/overview"))).await;
    assert_eq!(status, 200, "{body}");
    let text = body.to_string();
    assert!(
        !text.contains("127.0.0.1") && !text.contains("http://"),
        "{text}"
    );
    assert!(!text.contains("secret"), "{text}");
    assert_eq!(body["reviews"]["status"], 502, "{body}");
    assert_eq!(
        body["stock"]["status"], 502,
        "an 8 MB answer is refused: {body}"
    );
    let (status, body) = get_json(&c, &s.at(&format!("/books/{id}/overview?mode=strict"))).await;
    assert_eq!(status, 502, "{body}");
    assert!(!body.to_string().contains("127.0.0.1"), "{body}");
}

/// The blocking handler's penalty depends on how many worker threads the service has. The load
/// generator pins the service to two, so the shape holds on a machine with any number of cores
/// (here: a runtime that would otherwise start 16 workers).
#[test]
fn load_test_shape_holds_with_many_cores() {
    let mut cmd = common::example_command("load_generator");
    cmd.env("TOKIO_WORKER_THREADS", "16").args(SMALL_LOAD);
    let output = common::run_with_timeout(cmd, common::EXAMPLE_TIMEOUT).expect("load generator");
    assert!(output.status.success(), "{output:?}");
    let stdout = common::stdout_of(&output);
    // p50 ms, the fifth number of each row.
    let (awaiting, blocking) = (
        load_row(&stdout, "/slow?")[4],
        load_row(&stdout, "/slow-blocking?")[4],
    );
    assert!(
        blocking > 2.0 * awaiting,
        "blocking p50 {blocking} ms vs awaiting {awaiting} ms:\n{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_slowloris_connections_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_dir, db) = temp_db();
    let s = Service::start(&db, &[]);
    let mut silent = small_buffer_connection(&s).await;
    let mut slowloris = small_buffer_connection(&s).await;
    slowloris
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // The default header-read timeout is 10 s: both are closed well before 20 s.
    for (name, conn) in [("silent", &mut silent), ("slowloris", &mut slowloris)] {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_secs(20), conn.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(_)) | Ok(Err(_))),
            "the server kept a {name} connection open for 20 s"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_is_not_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_dir, db) = temp_db();
    let s = Service::start(&db, &[]);
    let mut conn = small_buffer_connection(&s).await;
    // The HTTP/2 connection preface, then an empty SETTINGS frame.
    conn.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf))
        .await
        .map(|r| r.unwrap_or(0))
        .unwrap_or(0);
    // An HTTP/2 server answers with its own SETTINGS frame (type 4 in the frame's fourth byte).
    assert!(
        n < 9 || buf[3] != 4,
        "the server spoke HTTP/2: {:?}",
        &buf[..n]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_endpoints_are_off_by_default() {
    let (_dir, db) = temp_db();
    let s = Service::start(&db, &[]);
    let c = client();
    for path in ["/slow-blocking?ms=10", "/slow-spawn-blocking?ms=10"] {
        let (status, body) = get_json(&c, &s.at(path)).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_database_is_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = common::example_command("bookshelf");
    cmd.current_dir(dir.path())
        .env_remove("BOOKSHELF_DB")
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("start bookshelf");
    let stdout = child.stdout.take().unwrap();
    let _guard = Service {
        child,
        url: String::new(),
        output: Arc::default(),
    };
    let mut seen = String::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("database: ") {
            break;
        }
    }
    assert!(dir.path().join("bookshelf.db").exists(), "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_checks_the_database_and_a_panic_is_a_500() {
    let (_dir, db) = temp_db();
    let mut s = Service::start(&db, &["--demo-endpoints"]);
    let c = client();
    let (status, body) = get_json(&c, &s.at("/ready")).await;
    assert_eq!((status, body), (200, json!({ "status": "ready" })));
    let (status, body) = get_json(&c, &s.at("/panic")).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body, json!({ "error": "internal server error" }));
    assert!(s.is_running());
    assert_eq!(get_json(&c, &s.at("/health")).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_traced_on_stderr() {
    let (_dir, db) = temp_db();
    let mut s = Service::start_with_env(&db, &[], &[("RUST_LOG", "tower_http=debug")]);
    let c = client();
    assert_eq!(get_json(&c, &s.at("/health")).await.0, 200);
    s.interrupt(); // stderr is collected when the process ends
    s.wait_exit(Duration::from_secs(20));
    let out = s.output();
    assert!(out.contains("started processing request"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_dir, db) = temp_db();
    let s = Service::start(&db, &["--header-read-timeout-ms", "500"]);
    let mut conn = small_buffer_connection(&s).await;
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = conn.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    // Kept alive, then idle: closed by the header-read timeout of the next request.
    let start = Instant::now();
    let read = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "still open after 10 s: {read:?}"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(400),
        "{:?}",
        start.elapsed()
    );
}

/// The closing handshake, seen from a client that does not answer the server's Close: the server
/// waits for the client's Close (up to a second) before it drops the connection, instead of
/// closing the TCP connection right after its own Close frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_goodbye_waits_for_the_clients_close() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_dir, db) = temp_db();
    let mut s = Service::start(&db, &[]);
    let mut conn = small_buffer_connection(&s).await;
    // A hand-made upgrade request, so that nothing answers the server's frames for us.
    conn.write_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let read_until =
        |seen: &[u8], pattern: &[u8]| seen.windows(pattern.len()).any(|w| w == pattern);
    while !read_until(&seen, b"\"hello\"") {
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf))
            .await
            .expect("the hello within 10 s")
            .unwrap();
        assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    s.interrupt();
    // A Close frame (0x88) with code 1001 (0x03 0xE9), then, a second later, the end of the stream.
    let mut close_seen_at = None;
    let ended_at = loop {
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf))
            .await
            .expect("the server closes within 10 s")
            .unwrap_or(0);
        if n == 0 {
            break Instant::now();
        }
        seen.extend_from_slice(&buf[..n]);
        if close_seen_at.is_none() && read_until(&seen, &[0x03, 0xE9]) {
            close_seen_at = Some(Instant::now());
        }
    };
    let close_seen_at = close_seen_at.expect("a Close frame with code 1001");
    let waited = ended_at - close_seen_at;
    assert!(
        waited >= Duration::from_millis(800),
        "the server dropped the connection {waited:?} after its Close, without waiting for ours"
    );
    let _ = s.wait_exit(Duration::from_secs(20));
}

/// An export that the server stops early (here: shutdown) must not look complete: the body ends in
/// an error (no final chunk), not in a clean end of stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_cut_short_ends_in_an_error() {
    let (_dir, db) = temp_db();
    let s = Service::start(&db, &[]);
    seed_books(&db, 150_000).await;
    let c = client();
    let r = c.get(s.at("/books/export")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut body = r.bytes_stream();
    let first = body.next().await.expect("a first chunk").expect("data");
    assert!(!first.is_empty());
    s.interrupt();
    let mut read = first.len();
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(bytes) => read += bytes.len(),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    })
    .await
    .expect("the body ends within 20 s");
    assert!(
        ended.is_err(),
        "a cut-short export ended cleanly after {read} bytes"
    );
}
