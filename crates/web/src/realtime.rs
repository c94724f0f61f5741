//! The realtime gateway: `GET /realtime` upgrades to a WebSocket on which a signed-in client joins studio-session
//! rooms and receives their events — `export.progress`, `export.completed`, `export.failed`, `session.updated`,
//! `track.updated` and `presence`.
//!
//! Protocol (JSON text frames, `{"type": …, "data": …}` server → client):
//! - client → server: `{"type":"join","sessionId":…}`, `{"type":"leave","sessionId":…}`, `{"type":"ping"}`;
//!   `/realtime?session=ID` joins one room at connect.
//! - server → client: `joined` / `left` acknowledgements, `pong`, `error` (with a `code`), and the room events.
//! - presence: joining publishes `presence` `{event:"join"}`; everyone already in the room answers `{event:"here"}`,
//!   so the newcomer learns who is there; leaving (or disconnecting) publishes `{event:"leave"}`.
//!
//! Rooms are pub/sub channels (`session:<id>`), so an event published by a worker in another process reaches every
//! socket on every web node when pub/sub runs on Redis.
//!
//! Who sees what: anyone signed in may join a session's room (as anyone may view it on the pages), but only the
//! session's owner receives its `export.*` events, and presence shows display names, never email addresses. A
//! socket closes (code 4401) when the sign-in it was opened with ends: sign-out or the user being disabled.
//!
//! Limits: who may join is checked per room; at most
//! [`MAX_ROOMS`] rooms per connection; the server pings every [`PING_EVERY`] and drops a client silent for
//! [`IDLE_LIMIT`]; each connection has an outbound queue of [`OUTBOUND_QUEUE`] messages, and a client too slow to
//! drain it is disconnected (close code 1008) rather than buffered without bound. The upgrade request must come
//! from our own origin (cross-site WebSocket hijacking would otherwise ride on the session cookie).

use crate::AppState;
use crate::auth::Viewer;
use axum::Router;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::{SinkExt, StreamExt};
use omnisonic_app::events::session_channel;
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Rooms one connection may be in at once.
pub const MAX_ROOMS: usize = 16;
/// Messages queued for one client before it counts as too slow and is dropped.
pub const OUTBOUND_QUEUE: usize = 256;
/// How often the server pings.
pub const PING_EVERY: Duration = Duration::from_secs(20);
/// A client that sends nothing (not even a pong) for this long is dropped.
pub const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// Largest message a client may send.
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;

/// A realtime event as sent to clients: `{"type": kind, "data": data}`.
pub fn event(kind: &str, data: serde_json::Value) -> String {
    serde_json::json!({ "type": kind, "data": data }).to_string()
}

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/realtime", get(upgrade))
}

#[derive(Debug, Default, Deserialize)]
struct ConnectQuery {
    session: Option<String>,
}

async fn upgrade(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(query): Query<ConnectQuery>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Some(me) = viewer.signed_in else {
        return crate::ApiError::Unauthenticated.into_response();
    };
    let ws = match crate::websocket::accept(&headers, &state, ws) {
        Ok(ws) => ws,
        Err(refused) => return refused,
    };
    let client = Client {
        connection_id: Uuid::now_v7(),
        user_id: me.user.id,
        name: me.public_name(),
        sign_in: crate::auth::revocation::SignIn::of(&viewer.session, &me),
    };
    let first_room = query.session;
    ws.max_message_size(MAX_CLIENT_MESSAGE).on_upgrade(move |socket| serve(socket, state, client, first_room))
}

#[derive(Clone)]
struct Client {
    connection_id: Uuid,
    user_id: Uuid,
    /// What others in a room see: the display name, never the email address.
    name: String,
    /// The sign-in this socket rides on: when it ends (sign-out, user disabled), the socket closes.
    sign_in: crate::auth::revocation::SignIn,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum ClientMessage {
    #[serde(rename_all = "camelCase")]
    Join {
        session_id: String,
    },
    #[serde(rename_all = "camelCase")]
    Leave {
        session_id: String,
    },
    Ping,
}

fn reply(kind: &str, data: serde_json::Value) -> Message {
    Message::Text(Utf8Bytes::from(event(kind, data)))
}

fn error_message(code: &str, detail: impl Into<String>) -> Message {
    reply("error", serde_json::json!({ "code": code, "detail": detail.into() }))
}

/// Why the forwarders stopped the connection.
enum Stop {
    TooSlow,
}

async fn serve(socket: WebSocket, state: AppState, client: Client, first_room: Option<String>) {
    let (sink, mut stream) = socket.split();
    let (out_tx, out_rx) = mpsc::channel::<Message>(OUTBOUND_QUEUE);
    let (stop_tx, mut stop_rx) = mpsc::channel::<Stop>(1);
    let mut rooms: HashMap<Uuid, tokio::task::JoinHandle<()>> = HashMap::new();

    // A close request jumps the queue: it interrupts even a send blocked on a client that stopped reading.
    let (close_tx, close_rx) = tokio::sync::oneshot::channel::<CloseFrame>();
    let writer = tokio::spawn(write_out(sink, out_rx, close_rx));

    if let Some(room) = first_room {
        join(&state, &client, &room, &mut rooms, &out_tx, &stop_tx).await;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut last_heard = tokio::time::Instant::now();
    let ended = client.sign_in.ended(&state);
    tokio::pin!(ended);
    let close = loop {
        tokio::select! {
            () = &mut ended => {
                break Some(CloseFrame { code: 4401, reason: Utf8Bytes::from_static("signed out") });
            }
            incoming = stream.next() => {
                let Some(Ok(message)) = incoming else { break None };
                last_heard = tokio::time::Instant::now();
                match message {
                    Message::Text(text) => match serde_json::from_str::<ClientMessage>(text.as_str()) {
                        Ok(ClientMessage::Join { session_id }) => {
                            join(&state, &client, &session_id, &mut rooms, &out_tx, &stop_tx).await;
                        }
                        Ok(ClientMessage::Leave { session_id }) => {
                            if let Ok(id) = Uuid::parse_str(&session_id)
                                && let Some(task) = rooms.remove(&id)
                            {
                                task.abort();
                                announce(&state, &client, id, "leave").await;
                                let _ = out_tx.try_send(reply("left", serde_json::json!({ "sessionId": id })));
                            }
                        }
                        Ok(ClientMessage::Ping) => {
                            let _ = out_tx.try_send(reply("pong", serde_json::json!({})));
                        }
                        Err(err) => {
                            let _ = out_tx.try_send(error_message("bad_message", err.to_string()));
                        }
                    },
                    Message::Binary(_) => {
                        let _ = out_tx.try_send(error_message("bad_message", "send JSON text frames"));
                    }
                    Message::Close(_) => break None,
                    Message::Ping(_) | Message::Pong(_) => {}
                }
            }
            Some(Stop::TooSlow) = stop_rx.recv() => {
                tracing::info!(user_id = %client.user_id, "realtime client too slow; disconnected");
                break Some(CloseFrame { code: 1008, reason: Utf8Bytes::from_static("too slow: messages were piling up") });
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > IDLE_LIMIT {
                    break Some(CloseFrame { code: 1001, reason: Utf8Bytes::from_static("idle") });
                }
                if out_tx.try_send(Message::Ping(Default::default())).is_err() {
                    break Some(CloseFrame { code: 1008, reason: Utf8Bytes::from_static("too slow: messages were piling up") });
                }
            }
        }
    };
    for (room, task) in rooms.drain() {
        task.abort();
        announce(&state, &client, room, "leave").await;
    }
    if let Some(frame) = close {
        let _ = close_tx.send(frame);
    }
    drop(out_tx);
    // The writer gives a stuck client CLOSE_GRACE to take the close frame, then the socket is dropped.
    let _ = writer.await;
}

/// How long a client gets to take its close frame before the connection is simply dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Sends the client's queue in order, until the queue ends (a normal close) or a close frame is requested (which
/// goes out at once, ahead of anything still queued).
async fn write_out(
    mut sink: futures::stream::SplitSink<WebSocket, Message>,
    mut out: mpsc::Receiver<Message>,
    mut close: tokio::sync::oneshot::Receiver<CloseFrame>,
) {
    let frame = 'write: loop {
        let message = tokio::select! {
            biased;
            frame = &mut close => break 'write frame.ok(),
            message = out.recv() => match message {
                Some(message) => message,
                None => break 'write None,
            },
        };
        tokio::select! {
            biased;
            frame = &mut close => break 'write frame.ok(),
            sent = sink.send(message) => {
                if sent.is_err() {
                    return;
                }
            }
        }
    };
    let closing = async {
        match frame {
            Some(frame) => sink.send(Message::Close(Some(frame))).await,
            None => sink.close().await,
        }
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, closing).await;
}

async fn announce(state: &AppState, client: &Client, room: Uuid, what: &str) {
    state
        .publish_to_session(
            room,
            &omnisonic_app::events::SessionEvent::Presence(serde_json::json!({
                "event": what,
                "sessionId": room,
                "connectionId": client.connection_id,
                "userId": client.user_id,
                "name": client.name,
            })),
        )
        .await;
}

async fn join(
    state: &AppState,
    client: &Client,
    raw: &str,
    rooms: &mut HashMap<Uuid, tokio::task::JoinHandle<()>>,
    out: &mpsc::Sender<Message>,
    stop: &mpsc::Sender<Stop>,
) {
    let Ok(room) = Uuid::parse_str(raw.trim()) else {
        let _ = out.try_send(error_message("not_found", format!("no studio session {raw:?}")));
        return;
    };
    if rooms.contains_key(&room) {
        let _ = out.try_send(reply("joined", serde_json::json!({ "sessionId": room })));
        return;
    }
    if rooms.len() >= MAX_ROOMS {
        let _ = out.try_send(error_message("too_many_rooms", format!("at most {MAX_ROOMS} rooms per connection")));
        return;
    }
    // Anyone signed in may view a session (as on the pages); it must exist.
    let owner = match omnisonic_store::studio::get_session(&state.db, room).await {
        Ok(session) => omnisonic_app::access::is_owner(&session, client.user_id),
        Err(omnisonic_store::StoreError::NotFound { .. }) => {
            let _ = out.try_send(error_message("not_found", format!("no studio session {room}")));
            return;
        }
        Err(err) => {
            tracing::warn!(error = ?err, "could not check a studio session for the realtime gateway");
            let _ = out.try_send(error_message("unavailable", "try again"));
            return;
        }
    };
    let subscription = match state.app.pubsub.subscribe_confirmed(&session_channel(room)).await {
        Ok(subscription) => subscription,
        Err(err) => {
            tracing::warn!(error = %err, "realtime subscription failed");
            let _ = out.try_send(error_message("unavailable", "try again"));
            return;
        }
    };
    let task =
        tokio::spawn(forward(subscription, state.clone(), client.clone(), room, owner, out.clone(), stop.clone()));
    rooms.insert(room, task);
    let _ = out.try_send(reply("joined", serde_json::json!({ "sessionId": room })));
    announce(state, client, room, "join").await;
}

/// Whether a room message is about the session's exports, which only the owner sees (the page hides them from
/// everyone else too).
fn owner_only(message: &str) -> bool {
    // Cheap test first: most room messages are not about exports, and those need no parsing.
    message.contains("\"export.")
        && serde_json::from_str::<serde_json::Value>(message)
            .is_ok_and(|v| v["type"].as_str().is_some_and(|t| t.starts_with("export.")))
}

/// Forwards a room's messages to the client's queue; answers other connections' presence joins. Export events
/// reach the session's owner only.
async fn forward(
    mut subscription: omnisonic_platform::Subscription,
    state: AppState,
    client: Client,
    room: Uuid,
    owner: bool,
    out: mpsc::Sender<Message>,
    stop: mpsc::Sender<Stop>,
) {
    while let Some(message) = subscription.recv().await {
        if &*message == omnisonic_platform::pubsub::PROBE || (!owner && owner_only(&message)) {
            continue;
        }
        if message.contains("\"presence\"")
            && let Ok(value) = serde_json::from_str::<serde_json::Value>(&message)
            && value["type"] == "presence"
            && value["data"]["event"] == "join"
            && value["data"]["connectionId"] != serde_json::json!(client.connection_id)
        {
            announce(&state, &client, room, "here").await;
        }
        match out.try_send(Message::Text(Utf8Bytes::from(&*message))) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                let _ = stop.try_send(Stop::TooSlow);
                return;
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
    }
}
