//! Shared state, the handlers, and the router with its tower middleware.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::SqlitePool;
use tokio::sync::{broadcast, mpsc, oneshot, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::cache::Cache;
use crate::db::{self, Book, NewBook};
use crate::error::{json_errors, ApiError, ApiJson};
use crate::events::{ws_handler, Event};
use crate::upstream::{fetch_json, Reviews, Stock, Upstream};

// ANCHOR: state
/// Everything a handler may need. Cloned per request, so every field is cheap to clone
/// (a pool handle, an `Arc`, a channel sender, a token).
#[derive(Clone)]
pub struct AppState {
    pub pool: SqlitePool,
    pub http: reqwest::Client,
    pub reviews: Upstream,
    pub stock: Upstream,
    pub upstream_timeout: Duration,
    pub rating_cache: Arc<Cache<Reviews, ApiError>>,
    pub events: broadcast::Sender<Event>,
    /// One permit per export streaming, one per open WebSocket.
    pub exports: Arc<Semaphore>,
    pub websockets: Arc<Semaphore>,
    /// Longest wait for a slow client to take one more export line or event; ping period.
    pub send_timeout: Duration,
    pub ws_ping: Duration,
    pub shutdown: CancellationToken,
    pub tracker: TaskTracker,
    pub job_runs: Arc<AtomicU64>,
}
// ANCHOR_END: state

/// The limits the middleware enforces.
pub struct Limits {
    pub request_timeout: Duration,
    pub body_limit: usize,
    pub max_concurrency: usize,
    pub send_timeout: Duration,
    pub ws_ping: Duration,
    pub demo_endpoints: bool,
}

// ANCHOR: router
pub fn router(state: AppState, limits: &Limits) -> Router {
    let mut routes = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/books", get(list_books).post(create_book))
        .route("/books/export", get(export_books))
        .route("/books/{id}", get(get_book).delete(delete_book))
        .route("/books/{id}/overview", get(overview))
        .route("/books/{id}/rating", get(cached_rating))
        .route("/ws", get(ws_handler))
        .route("/stats", get(stats))
        .route("/slow", get(slow));
    if limits.demo_endpoints {
        // Demonstrations only: anyone who can reach them can stall the runtime's threads.
        routes = routes
            .route("/slow-blocking", get(slow_blocking))
            .route("/slow-spawn-blocking", get(slow_spawn_blocking))
            .route("/panic", get(panic_demo));
    }
    let turns = Arc::new(Semaphore::new(limits.max_concurrency));
    routes
        .fallback(unknown_route)
        .with_state(state)
        .layer(
            // In a ServiceBuilder the first layer listed is the outermost: it sees the
            // request first and the response last.
            ServiceBuilder::new()
                // One log line per request and response (RUST_LOG=tower_http=debug).
                .layer(TraceLayer::new_for_http())
                .layer(axum::middleware::from_fn(catch_panics))
                // The deadline covers the wait for a turn below it, not only the handler.
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    limits.request_timeout,
                ))
                .layer(from_fn_with_state(turns, wait_for_a_turn))
                .layer(RequestBodyLimitLayer::new(limits.body_limit))
                .layer(DefaultBodyLimit::max(limits.body_limit)),
        )
        // Each `.layer` call wraps everything before it: this one is outside the stack above.
        .layer(axum::middleware::map_response(json_errors))
}

/// The concurrency limit: at most `max_concurrency` requests in their handlers, the others wait
/// here, in order. The wait happens inside the request's future, so the timeout around this
/// layer bounds it. (tower's `ConcurrencyLimit` waits in `poll_ready` instead, before any
/// timeout layered around it has started its clock.)
async fn wait_for_a_turn(
    State(turns): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    let _turn = turns
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    next.run(request).await
}
// ANCHOR_END: router

/// Liveness: the process answers. (It does not touch the database: a database outage should
/// not make an orchestrator restart every replica.)
async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: this replica can serve, its database answers. An orchestrator sends traffic only
/// to ready replicas.
async fn ready(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    sqlx::query("SELECT 1").execute(&app.pool).await?;
    Ok(Json(json!({ "status": "ready" })))
}

/// A handler that panics (with --demo-endpoints), to show `catch_panics` at work.
async fn panic_demo() -> &'static str {
    panic!("a bug in a handler")
}

/// A panic in a handler becomes a 500 for that request. (Without this layer hyper would drop
/// the connection without an answer. Either way, the process survives only with
/// `panic = "unwind"`, Rust's default: with `panic = "abort"` in the release profile, the
/// first panic ends it.)
async fn catch_panics(request: Request, next: Next) -> Response {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(next.run(request))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(_) => ApiError::Internal("a handler panicked".to_string()).into_response(),
    }
}

async fn unknown_route() -> ApiError {
    ApiError::NotFound("no such route".to_string())
}

fn book_not_found(id: i64) -> ApiError {
    ApiError::NotFound(format!("no book with id {id}"))
}

#[derive(Deserialize)]
struct ListParams {
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    100
}

async fn list_books(
    State(app): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<Book>>, ApiError> {
    if !(1..=1000).contains(&params.limit) {
        return Err(ApiError::BadRequest(
            StatusCode::UNPROCESSABLE_ENTITY,
            "limit must be between 1 and 1000".to_string(),
        ));
    }
    Ok(Json(db::list_books(&app.pool, params.limit).await?))
}

// ANCHOR: create
/// `POST /books`: the extractors run first (state, then the JSON body); the handler only runs
/// if they all succeed.
async fn create_book(
    State(app): State<AppState>,
    ApiJson(new): ApiJson<NewBook>,
) -> Result<(StatusCode, Json<Book>), ApiError> {
    if new.title.trim().is_empty() || new.author.trim().is_empty() {
        return Err(ApiError::BadRequest(
            StatusCode::UNPROCESSABLE_ENTITY,
            "title and author must not be empty".to_string(),
        ));
    }
    let book = db::insert_book(&app.pool, &new).await?;
    // No subscribers is fine: send only fails when nobody listens.
    let _ = app.events.send(Event::BookAdded { book: book.clone() });
    Ok((StatusCode::CREATED, Json(book)))
}
// ANCHOR_END: create

async fn get_book(
    State(app): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Book>, ApiError> {
    let book = db::get_book(&app.pool, id).await?;
    book.map(Json).ok_or_else(|| book_not_found(id))
}

async fn delete_book(
    State(app): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if db::delete_book(&app.pool, id).await? {
        let _ = app.events.send(Event::BookDeleted { id });
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(book_not_found(id))
    }
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Mode {
    /// `join!`: both calls at once; each part is data or its own error.
    #[default]
    Concurrent,
    /// One call after the other (for comparison only).
    Sequential,
    /// `try_join!`: both calls at once; the first error fails the whole request.
    Strict,
}

#[derive(Deserialize)]
struct OverviewParams {
    #[serde(default)]
    mode: Mode,
}

// ANCHOR: overview
/// `GET /books/{id}/overview`: the book from the database, plus reviews and stock from two
/// upstream services, called at the same time.
async fn overview(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Query(params): Query<OverviewParams>,
) -> Result<Json<Value>, ApiError> {
    let book = db::get_book(&app.pool, id)
        .await?
        .ok_or_else(|| book_not_found(id))?;

    // Two futures; nothing is sent yet (futures are lazy).
    let limit = app.upstream_timeout;
    let reviews = fetch_json::<Reviews>(&app.http, &app.reviews, format!("/reviews/{id}"), limit);
    let stock = fetch_json::<Stock>(&app.http, &app.stock, format!("/stock/{id}"), limit);

    let (reviews, stock) = match params.mode {
        // Both wait at the same time: about max(a, b), and each keeps its own result.
        Mode::Concurrent => tokio::join!(reviews, stock),
        // Awaiting one after the other: a + b.
        Mode::Sequential => (reviews.await, stock.await),
        // The first error wins and the other call is dropped (cancelled).
        Mode::Strict => {
            let (r, s) = tokio::try_join!(reviews, stock)?;
            (Ok(r), Ok(s))
        }
    };
    Ok(Json(json!({
        "book": book,
        "reviews": part(reviews),
        "stock": part(stock),
    })))
}

/// One upstream's share of the answer: its data, or its error with the status it stands for.
fn part<T: Serialize>(result: Result<T, ApiError>) -> Value {
    match result {
        Ok(data) => json!(data),
        Err(e) => json!({ "error": e.message(), "status": e.status().as_u16() }),
    }
}
// ANCHOR_END: overview

// ANCHOR: cached
/// `GET /books/{id}/rating`: the reviews summary through the cache. Fifty clients asking at
/// once for a cold key cause one upstream call, not fifty, and share its outcome.
async fn cached_rating(
    State(app): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Reviews>, ApiError> {
    // Only books that exist get a cache entry: a client walking through ids finds 404s, and
    // neither the cache nor the upstream grows with its curiosity.
    if db::get_book(&app.pool, id).await?.is_none() {
        return Err(book_not_found(id));
    }
    let (http, reviews, limit) = (app.http.clone(), app.reviews.clone(), app.upstream_timeout);
    let fill = move || async move {
        fetch_json::<Reviews>(&http, &reviews, format!("/reviews/{id}"), limit).await
    };
    Ok(Json(app.rating_cache.get_or_fill(id, fill).await?))
}
// ANCHOR_END: cached

// ANCHOR: export
/// Rows read per query. Each page takes a pool connection for one short query and gives it
/// back before the first line is sent, so a slow reader holds no connection.
const EXPORT_PAGE: i64 = 500;

/// `GET /books/export`: every book as one JSON line, streamed page by page. Memory stays flat
/// however many rows there are: the channel holds at most 16 lines.
async fn export_books(State(app): State<AppState>) -> Result<Response, ApiError> {
    // A few exports at a time; a full house is answered at once, not queued.
    let Ok(permit) = app.exports.clone().try_acquire_owned() else {
        return Err(ApiError::Overloaded(
            "too many exports in progress".to_string(),
        ));
    };
    let (tx, rx) = mpsc::channel::<Result<String, std::io::Error>>(16);
    // Sent only when the last row is out: without it, the body ends in an error, so that a
    // client can tell a complete export from one cut short.
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let (pool, shutdown, patience) = (app.pool.clone(), app.shutdown.clone(), app.send_timeout);
    app.tracker.spawn(async move {
        let _permit = permit;
        let mut after = 0; // keyset pagination: the last id sent
        loop {
            let page = match db::books_after(&pool, after, EXPORT_PAGE).await {
                Ok(page) if page.is_empty() => break,
                Ok(page) => page,
                Err(e) => return tracing::error!("export stopped: database: {e}"),
            };
            after = page.last().map_or(after, |book| book.id);
            for book in page {
                let line = serde_json::to_string(&book).expect("books serialize") + "\n";
                // `send` waits while the channel is full: the client's pace sets the pace.
                // The wait is bounded, and shutdown interrupts it.
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => return println!("export stopped: shutting down"),
                    sent = tokio::time::timeout(patience, tx.send(Ok(line))) => match sent {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => return, // the client hung up
                        Err(_) => return tracing::warn!("export stopped: the client stopped reading"),
                    },
                }
            }
        }
        let _ = done_tx.send(());
    });
    let cut_short = futures::stream::once(done_rx).filter_map(|done| async move {
        done.is_err()
            .then(|| Err(std::io::Error::other("export cut short")))
    });
    let body = Body::from_stream(ReceiverStream::new(rx).chain(cut_short));
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}
// ANCHOR_END: export

async fn stats(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    let books = db::count_books(&app.pool).await?;
    Ok(Json(json!({
        "books": books,
        "upstream_calls": {
            "reviews": app.reviews.calls.load(Ordering::Relaxed),
            "stock": app.stock.calls.load(Ordering::Relaxed),
        },
        "rating_cache": {
            "hits": app.rating_cache.hits.load(Ordering::Relaxed),
            "joined": app.rating_cache.joined.load(Ordering::Relaxed),
            "fills": app.rating_cache.fills.load(Ordering::Relaxed),
            "entries": app.rating_cache.entry_count(),
        },
        "background_job_runs": app.job_runs.load(Ordering::Relaxed),
        "websocket_clients": app.events.receiver_count(),
        "exports_available": app.exports.available_permits(),
    })))
}

#[derive(Deserialize)]
struct SlowParams {
    #[serde(default = "default_ms")]
    ms: u64,
}

fn default_ms() -> u64 {
    20
}

fn check_ms(ms: u64) -> Result<Duration, ApiError> {
    if ms > 2000 {
        return Err(ApiError::BadRequest(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ms must be at most 2000".to_string(),
        ));
    }
    Ok(Duration::from_millis(ms))
}

// ANCHOR: slow
/// `GET /slow?ms=20`: waits without holding a thread. Thousands can wait at once.
async fn slow(Query(p): Query<SlowParams>) -> Result<Json<Value>, ApiError> {
    tokio::time::sleep(check_ms(p.ms)?).await;
    Ok(Json(
        json!({ "slept_ms": p.ms, "how": "tokio::time::sleep" }),
    ))
}

/// `GET /slow-blocking?ms=20`: THE ANTI-PATTERN, kept as a demonstration. `std::thread::sleep`
/// parks the runtime's worker thread, and every other task on that thread waits with it.
async fn slow_blocking(Query(p): Query<SlowParams>) -> Result<Json<Value>, ApiError> {
    std::thread::sleep(check_ms(p.ms)?); // never do this in async code
    Ok(Json(
        json!({ "slept_ms": p.ms, "how": "std::thread::sleep" }),
    ))
}

/// `GET /slow-spawn-blocking?ms=20`: the fix when blocking code cannot be avoided: run it on
/// tokio's blocking thread pool and await the result.
async fn slow_spawn_blocking(Query(p): Query<SlowParams>) -> Result<Json<Value>, ApiError> {
    let pause = check_ms(p.ms)?;
    tokio::task::spawn_blocking(move || std::thread::sleep(pause))
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task: {e}")))?;
    Ok(Json(json!({ "slept_ms": p.ms, "how": "spawn_blocking" })))
}
// ANCHOR_END: slow
