//! GraphQL subscriptions over WebSocket at `/graphql/ws`, speaking `graphql-transport-ws` (the protocol of the
//! `graphql-ws` library; https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md).
//!
//! We speak the protocol ourselves over the schema's `execute_stream` instead of using async-graphql's adapter,
//! because the protocol's close codes are part of its contract and the adapter answers some errors with others
//! (1002/1011 where the protocol says 4400/4401/4403, no 4408 init timeout, no 4409 on a reused id).
//!
//! Authentication: the upgrade carries the session cookie, and must come from our own origin when it comes from a
//! browser. A signed-in connection acts as its user only when `connection_init`'s payload also carries the
//! session's CSRF token (`{"csrfToken": …}`), which only our own pages can read; without it the connection is
//! anonymous, and a wrong token closes it with 4403.
//!
//! Limits: [`MAX_SUBSCRIPTIONS`] operations at once per connection (more get a `TOO_MANY_SUBSCRIPTIONS` error),
//! messages up to [`MAX_CLIENT_MESSAGE`] bytes, `connection_init` within [`INIT_TIMEOUT`], and an outbound queue
//! of [`OUTBOUND_QUEUE`] messages: a client too slow to drain it is closed with 1008 rather than buffered without
//! bound.

use crate::AppState;
use crate::auth::Viewer;
use crate::subscription_groups::{GroupEvent, Membership};
use axum::Router;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use futures::StreamExt;
use omnisonic_graphql::{Actor, ErrorCode};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::task::AbortHandle;

/// The subprotocol spoken.
pub const SUBPROTOCOL: &str = "graphql-transport-ws";
/// Operations one connection may run at once.
pub const MAX_SUBSCRIPTIONS: usize = 32;
/// Largest message a client may send.
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// How long a client has to send `connection_init`.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Messages queued for one client before it counts as too slow.
pub const OUTBOUND_QUEUE: usize = 256;
/// How long one message may take to go out before the client counts as gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the server pings (the client answers with a pong; `graphql-ws` does so by itself).
const PING_EVERY: Duration = Duration::from_secs(20);

/// The protocol's close codes.
mod close {
    pub const BAD_REQUEST: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const SUBPROTOCOL_NOT_ACCEPTABLE: u16 = 4406;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const SUBSCRIBER_EXISTS: u16 = 4409;
    pub const TOO_MANY_INITS: u16 = 4429;
    pub const POLICY: u16 = 1008;
}

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/graphql/ws", get(upgrade))
}

async fn upgrade(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let ws = match crate::websocket::accept(&headers, &state, ws) {
        Ok(ws) => ws,
        Err(refused) => return refused,
    };
    let ws = ws.protocols([SUBPROTOCOL]);
    let speaks_protocol = ws.selected_protocol().is_some();
    let sign_in = viewer.signed_in.as_ref().map(|s| crate::auth::revocation::SignIn::of(&viewer.session, s));
    let session = viewer.signed_in.map(|s| (s.user.id, s.csrf));
    // Small buffers: a subscriber mostly idles, and ten thousand of them must not each hold 256 KiB of defaults.
    let ws = ws.read_buffer_size(8 * 1024).write_buffer_size(0);
    ws.max_message_size(MAX_CLIENT_MESSAGE).on_upgrade(move |mut socket| async move {
        if speaks_protocol {
            serve(socket, state, session, sign_in).await;
        } else {
            close_with(&mut socket, close::SUBPROTOCOL_NOT_ACCEPTABLE, "Subprotocol not acceptable").await;
        }
    })
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<serde_json::Value>,
    },
    Ping {
        #[serde(default)]
        #[allow(dead_code)]
        payload: Option<serde_json::Value>,
    },
    Pong {
        #[serde(default)]
        #[allow(dead_code)]
        payload: Option<serde_json::Value>,
    },
    Subscribe {
        id: String,
        payload: Box<async_graphql::Request>,
    },
    Complete {
        id: String,
    },
}

/// What operation tasks send to the connection's loop. Each carries its operation's id and generation: after a
/// client `complete` (or a finished operation) the id may be used again, and a late message of the old operation
/// must neither reach the client nor end the new one.
enum Outbound {
    /// A `next` for the client.
    Next { id: String, generation: u64, message: String },
    /// The operation's last message (`complete` or `error`): sent, and the operation forgotten, in one step.
    Last { id: String, generation: u64, message: String },
}

/// A running operation.
struct Operation {
    generation: u64,
    task: AbortHandle,
}

async fn close_with(socket: &mut WebSocket, code: u16, reason: &str) {
    // A close frame's reason is at most 123 bytes; cut on a character boundary.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let reason = &reason[..end];
    let frame = CloseFrame { code, reason: Utf8Bytes::from(reason.to_owned()) };
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}

/// Sends one message; `false` when the client is gone or has not taken it within [`SEND_TIMEOUT`] (a client
/// that stopped reading must not hold the connection's loop).
async fn deliver(socket: &mut WebSocket, message: Message) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await, Ok(Ok(())))
}

fn text(value: serde_json::Value) -> Message {
    Message::Text(Utf8Bytes::from(value.to_string()))
}

/// Whether the connection's user may still act: not disabled (signing out or being disabled ends a session; a
/// socket opened before is checked again at each new operation).
async fn still_allowed(state: &AppState, actor: Actor) -> bool {
    let Some(user) = actor.0 else { return true };
    matches!(omnisonic_store::auth::get_user(&state.db, user).await, Ok(Some(u)) if u.disabled_at.is_none())
}

/// Runs one connection until it closes.
async fn serve(
    mut socket: WebSocket,
    state: AppState,
    session: Option<(uuid::Uuid, String)>,
    sign_in: Option<crate::auth::revocation::SignIn>,
) {
    let (out_tx, mut out_rx) = mpsc::channel::<Outbound>(OUTBOUND_QUEUE);
    let link = Link { out: out_tx, too_slow: std::sync::Arc::new(tokio::sync::Notify::new()) };
    let mut operations: HashMap<String, Operation> = HashMap::new();
    let mut generations = 0u64;
    let mut actor: Option<Actor> = None;
    let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
    tokio::pin!(init_deadline);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    // Registered once: a fresh `notified()` per turn of the loop would take the Notify's lock twice per message.
    let too_slow = link.too_slow.clone();
    let too_slow = too_slow.notified();
    tokio::pin!(too_slow);

    // A connection acting as its user closes when that sign-in ends (sign-out, user disabled).
    let signed_out = async {
        match &sign_in {
            Some(sign_in) => sign_in.ended(&state).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(signed_out);

    let outcome: Option<(u16, String)> = loop {
        tokio::select! {
            () = &mut signed_out, if actor.is_some_and(|a| a.0.is_some()) => {
                break Some((close::FORBIDDEN, "Forbidden: the sign-in has ended".into()));
            }
            () = &mut init_deadline, if actor.is_none() => {
                break Some((close::INIT_TIMEOUT, "Connection initialisation timeout".into()));
            }
            () = &mut too_slow => {
                tracing::info!("GraphQL WebSocket client too slow to read its messages; closing");
                break Some((close::POLICY, "too slow".into()));
            }
            _ = ping.tick() => {
                if !deliver(&mut socket, text(serde_json::json!({"type": "ping"}))).await {
                    break None;
                }
            }
            Some(out) = out_rx.recv() => {
                let (id, generation, message, last) = match out {
                    Outbound::Next { id, generation, message } => (id, generation, message, false),
                    Outbound::Last { id, generation, message } => (id, generation, message, true),
                };
                if operations.get(&id).is_none_or(|op| op.generation != generation) {
                    continue; // an operation the client already completed
                }
                if last {
                    operations.remove(&id);
                }
                if !deliver(&mut socket, Message::Text(Utf8Bytes::from(message))).await {
                    break None;
                }
            }
            incoming = socket.recv() => {
                let message = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => break Some((close::BAD_REQUEST, "Binary messages are not supported".into())),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break None,
                    Some(Ok(_)) => continue,
                };
                let parsed: ClientMessage = match serde_json::from_str(message.as_str()) {
                    Ok(parsed) => parsed,
                    Err(err) => break Some((close::BAD_REQUEST, format!("Invalid message received: {err}"))),
                };
                match parsed {
                    ClientMessage::ConnectionInit { payload } => {
                        if actor.is_some() {
                            break Some((close::TOO_MANY_INITS, "Too many initialisation requests".into()));
                        }
                        match authenticate(session.as_ref(), payload.as_ref()) {
                            Ok(who) => actor = Some(who),
                            Err(()) => break Some((close::FORBIDDEN, "Forbidden".into())),
                        }
                        if !deliver(&mut socket, text(serde_json::json!({"type": "connection_ack"}))).await {
                            break None;
                        }
                    }
                    ClientMessage::Ping { .. } => {
                        if !deliver(&mut socket, text(serde_json::json!({"type": "pong"}))).await {
                            break None;
                        }
                    }
                    ClientMessage::Pong { .. } => {}
                    ClientMessage::Subscribe { id, payload } => {
                        let Some(actor) = actor else {
                            break Some((close::UNAUTHORIZED, "Unauthorized".into()));
                        };
                        if operations.contains_key(&id) {
                            break Some((close::SUBSCRIBER_EXISTS, format!("Subscriber for {id} already exists")));
                        }
                        if !still_allowed(&state, actor).await {
                            break Some((close::FORBIDDEN, "Forbidden".into()));
                        }
                        if operations.len() >= MAX_SUBSCRIPTIONS {
                            let refused = serde_json::json!({"type": "error", "id": id, "payload": [{
                                "message": format!("this connection already runs {MAX_SUBSCRIPTIONS} operations, the most allowed"),
                                "extensions": {"code": ErrorCode::TooManySubscriptions.as_str()},
                            }]});
                            if !deliver(&mut socket, text(refused)).await {
                                break None;
                            }
                            continue;
                        }
                        generations += 1;
                        let task = match state.subscription_groups.join(&state.schema, &state.db, &payload, actor) {
                            Some(membership) => tokio::spawn(forward(membership, id.clone(), generations, link.clone())),
                            None => {
                                let request =
                                    omnisonic_graphql::prepare_subscription(*payload, &state.db, actor);
                                tokio::spawn(run_operation(
                                    state.schema.clone(),
                                    request,
                                    id.clone(),
                                    generations,
                                    link.clone(),
                                ))
                            }
                        };
                        operations.insert(id, Operation { generation: generations, task: task.abort_handle() });
                    }
                    ClientMessage::Complete { id } => {
                        if let Some(op) = operations.remove(&id) {
                            op.task.abort();
                        }
                    }
                }
            }
        }
    };
    for op in operations.values() {
        op.task.abort();
    }
    if let Some((code, reason)) = outcome {
        close_with(&mut socket, code, &reason).await;
    }
}

/// Who the connection acts as: the session's user when the init payload proves it with the session's CSRF token.
fn authenticate(session: Option<&(uuid::Uuid, String)>, payload: Option<&serde_json::Value>) -> Result<Actor, ()> {
    let token = payload.and_then(|p| p.get("csrfToken")).and_then(|t| t.as_str());
    match (session, token) {
        (_, None) => Ok(Actor(None)),
        (Some((user, csrf)), Some(token)) if crate::auth::csrf::tokens_match(csrf, token) => Ok(Actor(Some(*user))),
        _ => Err(()),
    }
}

/// Runs one operation of this connection alone, forwarding its results like a shared one's.
async fn run_operation(
    schema: omnisonic_graphql::OmnisonicSchema,
    request: async_graphql::Request,
    id: String,
    generation: u64,
    link: Link,
) {
    let events = crate::subscription_groups::operation_events(&schema, request);
    futures::pin_mut!(events);
    let quoted_id = serde_json::Value::from(id.as_str()).to_string();
    while let Some(event) = events.next().await {
        if !deliver_event(&event, &id, &quoted_id, generation, &link).await {
            return;
        }
    }
}

/// Queues one protocol event for the client under its operation id; `false` once the operation is over (its
/// last message sent) or the client is gone.
async fn deliver_event(event: &GroupEvent, id: &str, quoted_id: &str, generation: u64, link: &Link) -> bool {
    let id = id.to_owned();
    match event {
        GroupEvent::Next(payload) => {
            let message = format!(r#"{{"type":"next","id":{quoted_id},"payload":{payload}}}"#);
            link.queue(Outbound::Next { id, generation, message })
        }
        GroupEvent::Failed(errors) => {
            let message = format!(r#"{{"type":"error","id":{quoted_id},"payload":{errors}}}"#);
            link.last(Outbound::Last { id, generation, message }).await;
            false
        }
        GroupEvent::Complete => {
            let message = format!(r#"{{"type":"complete","id":{quoted_id}}}"#);
            link.last(Outbound::Last { id, generation, message }).await;
            false
        }
    }
}

/// Forwards a shared subscription's results to this connection under the client's operation id.
async fn forward(membership: Membership, id: String, generation: u64, link: Link) {
    let Membership { group: _keep_alive, mut events } = membership;
    let quoted_id = serde_json::Value::from(id.as_str()).to_string();
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::debug!(missed, "a subscriber fell behind its group");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => Arc::new(GroupEvent::Complete),
        };
        if !deliver_event(&event, &id, &quoted_id, generation, &link).await {
            return;
        }
    }
}

/// The connection's side of an operation: where its messages go, and how it says the client is too slow.
#[derive(Clone)]
struct Link {
    out: mpsc::Sender<Outbound>,
    too_slow: std::sync::Arc<tokio::sync::Notify>,
}

impl Link {
    /// Queues a `next`; `false` when the client is gone or too slow (then the connection closes).
    fn queue(&self, message: Outbound) -> bool {
        match self.out.try_send(message) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.too_slow.notify_one();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Queues an operation's last message, waiting for room: it must not be lost, or the id would stay taken.
    async fn last(&self, message: Outbound) {
        let _ = self.out.send(message).await;
    }
}
