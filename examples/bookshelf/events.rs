//! Events pushed to WebSocket clients, and the WebSocket endpoint that streams them.

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{interval_at, timeout, Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::db::Book;
use crate::error::ApiError;
use crate::routes::AppState;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    BookAdded { book: Book },
    BookDeleted { id: i64 },
}

// ANCHOR: ws
/// The largest message or frame a client may send (it has nothing to say but pongs and a Close).
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;

/// `GET /ws`: upgrade to a WebSocket and send every event as a JSON text message.
pub async fn ws_handler(ws: WebSocketUpgrade, State(app): State<AppState>) -> Response {
    // One permit per open socket, held by the socket's task: a full house gets a 503.
    let Ok(permit) = app.websockets.clone().try_acquire_owned() else {
        return ApiError::Overloaded("too many WebSocket clients".to_string()).into_response();
    };
    // Subscribe before answering, so no event published after the 101 is missed.
    let events = app.events.subscribe();
    let limits = SocketLimits {
        send_timeout: app.send_timeout,
        ping_every: app.ws_ping,
    };
    let shutdown = app.shutdown.clone();
    // The socket lives in its own task after the upgrade; tracking it lets shutdown wait for it.
    let tracker = app.tracker.clone();
    ws.max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .read_buffer_size(MAX_CLIENT_MESSAGE) // instead of 128 KiB per connection
        .on_upgrade(move |socket| {
            tracker.track_future(async move {
                stream_events(socket, events, shutdown, limits).await;
                drop(permit);
            })
        })
}

#[derive(Clone, Copy)]
struct SocketLimits {
    /// Longest wait for the client to take one message.
    send_timeout: Duration,
    /// A ping goes out this often; no pong by the next one means the peer is gone.
    ping_every: Duration,
}

async fn stream_events(
    mut socket: WebSocket,
    mut events: broadcast::Receiver<Event>,
    shutdown: CancellationToken,
    limits: SocketLimits,
) {
    let mut ping = interval_at(Instant::now() + limits.ping_every, limits.ping_every);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut pong_due = false;
    let mut next = Some(json_message(&serde_json::json!({ "type": "hello" })));
    // Why the loop ends decides how: when the server is going away, it says goodbye first.
    let going_away = loop {
        // 1. Send what is due. Every send is bounded, and shutdown is heard while it waits.
        if let Some(message) = next.take() {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break true,
                sent = timeout(limits.send_timeout, socket.send(message)) => match sent {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break false, // the client went away
                    Err(_) => break false,     // the client stopped reading
                },
            }
        }
        // 2. Wait for the next thing to do.
        tokio::select! {
            // Shutdown is checked first: once it has begun, goodbye wins over pending events.
            biased;
            _ = shutdown.cancelled() => break true,
            event = events.recv() => match event {
                Ok(event) => next = Some(json_message(&event)),
                // This client fell more than the channel's capacity behind: tell it, carry on.
                Err(RecvError::Lagged(missed)) => {
                    next = Some(json_message(&serde_json::json!({ "type": "lagged", "missed": missed })));
                }
                // The event channel closes only when the server itself is going away.
                Err(RecvError::Closed) => break true,
            },
            _ = ping.tick() => {
                if pong_due {
                    break false; // no pong since the last ping: a dead or silent peer
                }
                pong_due = true;
                next = Some(Message::Ping(Default::default()));
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Pong(_))) => pong_due = false,
                // Too large (over MAX_CLIENT_MESSAGE), malformed, closed: the end.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break false,
                // Pings are answered by axum; other client messages are ignored.
                Some(Ok(_)) => {}
            },
        }
    };
    if going_away {
        say_goodbye(socket).await;
    }
}

/// Send a Close frame (1001, "going away"), then complete the closing handshake: read (and drop)
/// what the client still sends, up to its own Close. Closing the connection with its messages
/// unread would make the OS answer with a reset, and the client could lose our Close frame. A
/// second at most, the send included, so one silent client cannot hold up the shutdown.
async fn say_goodbye(mut socket: WebSocket) {
    let bye = CloseFrame {
        code: close_code::AWAY,
        reason: "server shutting down".into(),
    };
    let _ = timeout(Duration::from_secs(1), async {
        if socket.send(Message::Close(Some(bye))).await.is_err() {
            return;
        }
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}
// ANCHOR_END: ws

fn json_message<T: Serialize>(value: &T) -> Message {
    Message::Text(
        serde_json::to_string(value)
            .expect("events serialize")
            .into(),
    )
}
