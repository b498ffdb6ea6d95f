//! Two stand-in upstream services (reviews and stock), each a small axum server on 127.0.0.1:0
//! with a configurable delay, and the client side: one HTTP call with its own timeout and a cap
//! on the size of the answer.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reviews {
    pub book_id: i64,
    pub rating: f64,
    pub count: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stock {
    pub book_id: i64,
    pub in_stock: u32,
    pub price_cents: u32,
}

/// An upstream service: where it listens, and how many calls the bookshelf has sent it.
#[derive(Clone)]
pub struct Upstream {
    pub name: &'static str,
    pub base_url: String,
    pub calls: Arc<AtomicU64>,
}

#[derive(Clone)]
struct FakeState {
    delay: Duration,
}

async fn fake_reviews(State(s): State<FakeState>, Path(id): Path<i64>) -> Json<Reviews> {
    tokio::time::sleep(s.delay).await; // a slow service: waiting, not working
    Json(Reviews {
        book_id: id,
        rating: 3.0 + (id % 20) as f64 / 10.0,
        count: (id * 7 % 50) as u32 + 1,
    })
}

async fn fake_stock(State(s): State<FakeState>, Path(id): Path<i64>) -> Json<Stock> {
    tokio::time::sleep(s.delay).await;
    Json(Stock {
        book_id: id,
        in_stock: (id % 5) as u32,
        price_cents: 999 + (id % 10) as u32 * 100,
    })
}

/// The upstream called `name`: the service at `url` if one is given, else a fake one started on
/// 127.0.0.1:0 that answers after `delay` and stops when `shutdown` is cancelled.
pub async fn connect(
    name: &'static str,
    url: Option<String>,
    delay: Duration,
    shutdown: &CancellationToken,
) -> std::io::Result<Upstream> {
    let base_url = match url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => start_fake(name, delay, shutdown.clone()).await?,
    };
    Ok(Upstream {
        name,
        base_url,
        calls: Arc::new(AtomicU64::new(0)),
    })
}

async fn start_fake(
    name: &'static str,
    delay: Duration,
    shutdown: CancellationToken,
) -> std::io::Result<String> {
    let state = FakeState { delay };
    let app = match name {
        "reviews" => Router::new().route("/reviews/{id}", get(fake_reviews)),
        _ => Router::new().route("/stock/{id}", get(fake_stock)),
    }
    .with_state(state);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
    });
    Ok(format!("http://{addr}"))
}

/// The HTTP client for every upstream call: no redirects (an upstream that redirects is
/// misconfigured, and following it would call a host nobody chose).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

// ANCHOR: fetch
/// The largest upstream answer read, in bytes. A timeout bounds time, not size: without a cap,
/// a misbehaving upstream could make us buffer gigabytes within the time limit.
pub const MAX_UPSTREAM_BODY: usize = 64 * 1024;

/// GET `{base_url}{path}` and decode the JSON, giving up after `limit`.
/// The timeout is a value: `Elapsed` becomes `ApiError::UpstreamTimeout` (504). The details of
/// any other failure (they name internal hosts) are logged here, not sent to the client.
pub async fn fetch_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    upstream: &Upstream,
    path: String,
    limit: Duration,
) -> Result<T, ApiError> {
    let url = format!("{}{}", upstream.base_url, path);
    upstream.calls.fetch_add(1, Ordering::Relaxed);
    let call = async {
        let mut response = client.get(&url).send().await.map_err(Failure::Transport)?;
        if !response.status().is_success() {
            return Err(Failure::Status(response.status().as_u16()));
        }
        if response.content_length().unwrap_or(0) > MAX_UPSTREAM_BODY as u64 {
            return Err(Failure::TooLarge);
        }
        // Read the body piece by piece, and stop as soon as it grows past the cap.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(Failure::Transport)? {
            if body.len() + chunk.len() > MAX_UPSTREAM_BODY {
                return Err(Failure::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice::<T>(&body).map_err(|_| Failure::Invalid)
    };
    match tokio::time::timeout(limit, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(failure)) => {
            // The full story, URL and upstream message included, goes to the log.
            let detail = match &failure {
                Failure::Transport(e) => e.to_string(),
                other => other.public_reason(),
            };
            tracing::warn!("upstream {} failed ({url}): {detail}", upstream.name);
            Err(ApiError::UpstreamFailed {
                service: upstream.name,
                reason: failure.public_reason(),
            })
        }
        // Dropping `call` here cancels the request: the connection is closed, nothing leaks.
        Err(_elapsed) => Err(ApiError::UpstreamTimeout {
            service: upstream.name,
            after_ms: limit.as_millis() as u64,
        }),
    }
}

/// Why an upstream call failed, in full (for the log).
enum Failure {
    Transport(reqwest::Error),
    Status(u16),
    TooLarge,
    Invalid,
}

impl Failure {
    /// What the client may know: no URL, no upstream message.
    fn public_reason(&self) -> String {
        match self {
            Failure::Transport(_) => "could not be reached".to_string(),
            Failure::Status(code) => format!("answered {code}"),
            Failure::TooLarge => format!("answer larger than {MAX_UPSTREAM_BODY} bytes"),
            Failure::Invalid => "answer was not the expected JSON".to_string(),
        }
    }
}
// ANCHOR_END: fetch
