//! Events pushed to WebSocket clients, and the WebSocket endpoint that streams them.

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use crate::db::Book;
use crate::routes::AppState;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    BookAdded { book: Book },
    BookDeleted { id: i64 },
}

// ANCHOR: ws
/// `GET /ws`: upgrade to a WebSocket and send every event as a JSON text message.
pub async fn ws_handler(ws: WebSocketUpgrade, State(app): State<AppState>) -> Response {
    // Subscribe before answering, so no event published after the 101 is missed.
    let events = app.events.subscribe();
    let shutdown = app.shutdown.clone();
    // The socket lives in its own task after the upgrade; tracking it lets shutdown wait for it.
    let tracker = app.tracker.clone();
    ws.on_upgrade(move |socket| tracker.track_future(stream_events(socket, events, shutdown)))
}

async fn stream_events(
    mut socket: WebSocket,
    mut events: broadcast::Receiver<Event>,
    shutdown: CancellationToken,
) {
    if send_json(&mut socket, &serde_json::json!({ "type": "hello" }))
        .await
        .is_err()
    {
        return;
    }
    // Why the loop ends decides how: when the server is going away, it says goodbye first.
    let going_away = loop {
        tokio::select! {
            // Shutdown is checked first: once it has begun, goodbye wins over pending events.
            biased;
            _ = shutdown.cancelled() => break true,
            event = events.recv() => match event {
                Ok(event) => {
                    if send_json(&mut socket, &event).await.is_err() {
                        break false; // the client went away
                    }
                }
                // This client fell more than the channel's capacity behind: tell it, carry on.
                Err(RecvError::Lagged(missed)) => {
                    let note = serde_json::json!({ "type": "lagged", "missed": missed });
                    if send_json(&mut socket, &note).await.is_err() {
                        break false;
                    }
                }
                // The event channel closes only when the server itself is going away.
                Err(RecvError::Closed) => break true,
            },
            incoming = socket.recv() => match incoming {
                // Pings are answered by axum; other client messages are ignored.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break false,
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
/// second at most, so one silent client cannot hold up the shutdown.
async fn say_goodbye(mut socket: WebSocket) {
    let bye = CloseFrame {
        code: close_code::AWAY,
        reason: "server shutting down".into(),
    };
    if socket.send(Message::Close(Some(bye))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}
// ANCHOR_END: ws

async fn send_json<T: Serialize>(socket: &mut WebSocket, value: &T) -> Result<(), axum::Error> {
    let text = serde_json::to_string(value).expect("events serialize");
    socket.send(Message::Text(text.into())).await
}
