//! Every error the service returns is JSON: `{"error": "..."}` with a 4xx or 5xx status.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

// ANCHOR: api_error
/// What can go wrong in a handler, and the status code each case maps to.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// The client sent something we cannot use (400 or 422, chosen by the caller).
    BadRequest(StatusCode, String),
    /// No such book, or no such route.
    NotFound(String),
    /// An upstream service did not answer in time.
    UpstreamTimeout {
        service: &'static str,
        after_ms: u64,
    },
    /// An upstream service answered with an error or could not be reached. The reason is
    /// safe to show: it names neither a host nor the upstream's own message.
    UpstreamFailed {
        service: &'static str,
        reason: String,
    },
    /// Too busy right now (503 with `Retry-After`): a limit is full, or no database
    /// connection became free in time.
    Overloaded(String),
    /// Anything else: logged on the server, reported without details.
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(status, _) => *status,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            ApiError::UpstreamFailed { .. } => StatusCode::BAD_GATEWAY,
            ApiError::Overloaded(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(&self) -> String {
        match self {
            ApiError::BadRequest(_, msg) | ApiError::NotFound(msg) | ApiError::Overloaded(msg) => {
                msg.clone()
            }
            ApiError::UpstreamTimeout { service, after_ms } => {
                format!("upstream `{service}` did not answer within {after_ms} ms")
            }
            ApiError::UpstreamFailed { service, reason } => {
                format!("upstream `{service}` failed: {reason}")
            }
            ApiError::Internal(_) => "internal server error".to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!("internal error: {detail}");
        }
        let body = Json(json!({ "error": self.message() }));
        if let ApiError::Overloaded(_) = &self {
            return (self.status(), [(header::RETRY_AFTER, "1")], body).into_response();
        }
        (self.status(), body).into_response()
    }
}
// ANCHOR_END: api_error

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            // Every pool connection stayed busy for the whole acquire timeout: overload, not a bug.
            sqlx::Error::PoolTimedOut => ApiError::Overloaded("the database is busy".to_string()),
            e => ApiError::Internal(format!("database: {e}")),
        }
    }
}

// ANCHOR: api_json
/// `Json<T>`, but a rejection (bad syntax, missing field, wrong type, body too large) becomes an
/// `ApiError`, so the client gets `{"error": ...}` instead of axum's plain-text message.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            // 400 for malformed JSON, 415 without a JSON content type,
            // 422 for a missing field or a wrong type, 413 for a body over the limit.
            Err(rejection) => Err(ApiError::BadRequest(
                rejection.status(),
                rejection.body_text(),
            )),
        }
    }
}
// ANCHOR_END: api_json

// ANCHOR: json_errors
/// Outermost layer: an error response that is not JSON yet (a 503 from the timeout layer, a 413
/// from the body limit, a 405, a query-string rejection) is rewritten as `{"error": ...}`. Its
/// other headers (`Allow`, `Retry-After`, `WWW-Authenticate`, ...) are kept.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body).trim().to_string();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    // The new body has its own type and length.
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    let mut rewritten = Json(json!({ "error": message })).into_response();
    rewritten.headers_mut().extend(parts.headers);
    *rewritten.status_mut() = status;
    rewritten
}
// ANCHOR_END: json_errors
