//! Two stand-in upstream services (reviews and stock), each a small axum server on 127.0.0.1:0
//! with a configurable delay, and the client side: one HTTP call with its own timeout.

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

/// A running fake upstream: where it listens and how many requests it has served.
#[derive(Clone)]
pub struct Upstream {
    pub name: &'static str,
    pub base_url: String,
    pub calls: Arc<AtomicU64>,
}

#[derive(Clone)]
struct FakeState {
    delay: Duration,
    calls: Arc<AtomicU64>,
}

async fn fake_reviews(State(s): State<FakeState>, Path(id): Path<i64>) -> Json<Reviews> {
    s.calls.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(s.delay).await; // a slow service: waiting, not working
    Json(Reviews {
        book_id: id,
        rating: 3.0 + (id % 20) as f64 / 10.0,
        count: (id * 7 % 50) as u32 + 1,
    })
}

async fn fake_stock(State(s): State<FakeState>, Path(id): Path<i64>) -> Json<Stock> {
    s.calls.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(s.delay).await;
    Json(Stock {
        book_id: id,
        in_stock: (id % 5) as u32,
        price_cents: 999 + (id % 10) as u32 * 100,
    })
}

/// Start one fake upstream on 127.0.0.1:0. It stops when `shutdown` is cancelled.
pub async fn start_fake(
    name: &'static str,
    delay: Duration,
    shutdown: CancellationToken,
) -> std::io::Result<Upstream> {
    let calls = Arc::new(AtomicU64::new(0));
    let state = FakeState {
        delay,
        calls: calls.clone(),
    };
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
    Ok(Upstream {
        name,
        base_url: format!("http://{addr}"),
        calls,
    })
}

// ANCHOR: fetch
/// GET `{base_url}{path}` and decode the JSON, giving up after `limit`.
/// The timeout is a value: `Elapsed` becomes `ApiError::UpstreamTimeout` (504).
pub async fn fetch_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    upstream: &Upstream,
    path: String,
    limit: Duration,
) -> Result<T, ApiError> {
    let url = format!("{}{}", upstream.base_url, path);
    let call = async {
        let response = client.get(&url).send().await?.error_for_status()?;
        response.json::<T>().await
    };
    match tokio::time::timeout(limit, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(ApiError::UpstreamFailed {
            service: upstream.name,
            reason: e.to_string(),
        }),
        // Dropping `call` here cancels the request: the connection is closed, nothing leaks.
        Err(_elapsed) => Err(ApiError::UpstreamTimeout {
            service: upstream.name,
            after_ms: limit.as_millis() as u64,
        }),
    }
}
// ANCHOR_END: fetch
