//! Events of a studio session's room, typed, with one serializer: `{"type": "<kind>", "data": {...}}` on the
//! pub/sub channel `session:<id>`, which the realtime gateway forwards to the room's WebSockets.

use omnisonic_platform::PubSub;
use serde::Serialize;
use uuid::Uuid;

pub mod catalogue;

/// The pub/sub channel of a studio session's room.
pub fn session_channel(session_id: Uuid) -> String {
    omnisonic_domain::channels::session(session_id)
}

/// Something that happened in a studio session, as its room hears it.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", content = "data")]
pub enum SessionEvent {
    /// The session's title, tempo or sample rate changed (`data`: the session as the page shows it).
    #[serde(rename = "session.updated")]
    SessionUpdated(serde_json::Value),
    /// A track changed (`data`: the track as the page shows it).
    #[serde(rename = "track.updated")]
    TrackUpdated(serde_json::Value),
    /// A connection joined, is here, or left (`data`: event, sessionId, connectionId, userId, name).
    #[serde(rename = "presence")]
    Presence(serde_json::Value),
    /// An export was queued or made progress.
    #[serde(rename = "export.progress")]
    ExportProgress(ExportProgress),
    /// An export's file is ready.
    #[serde(rename = "export.completed")]
    ExportCompleted(ExportCompleted),
    /// An export failed for good.
    #[serde(rename = "export.failed")]
    ExportFailed(ExportFailed),
}

impl SessionEvent {
    /// Whether only the session's owner may hear it (exports are private to their owner).
    pub fn owner_only(&self) -> bool {
        matches!(self, Self::ExportProgress(_) | Self::ExportCompleted(_) | Self::ExportFailed(_))
    }

    /// Its `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::SessionUpdated(_) => "session.updated",
            Self::TrackUpdated(_) => "track.updated",
            Self::Presence(_) => "presence",
            Self::ExportProgress(_) => "export.progress",
            Self::ExportCompleted(_) => "export.completed",
            Self::ExportFailed(_) => "export.failed",
        }
    }

    /// The message as sent on the channel and to clients, with the current request id as `requestId` when the
    /// event happens on behalf of a request (see [`crate::trace`]).
    pub fn to_message(&self) -> String {
        let Some(request_id) = crate::trace::request_id() else {
            return serde_json::to_string(self).unwrap_or_default();
        };
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut message)) => {
                message.insert("requestId".to_owned(), serde_json::Value::String(request_id));
                serde_json::Value::Object(message).to_string()
            }
            _ => serde_json::to_string(self).unwrap_or_default(),
        }
    }
}

/// `export.progress`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportProgress {
    /// The export.
    pub export_id: Uuid,
    /// Its session.
    pub session_id: Uuid,
    /// 0–99 while mixing (100 comes with `export.completed`).
    pub progress: u8,
    /// `pending` or `processing`.
    pub status: &'static str,
}

/// `export.completed`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportCompleted {
    /// The export.
    pub export_id: Uuid,
    /// Its session.
    pub session_id: Uuid,
    /// `wav`, `flac` or `mp3`.
    pub format: String,
    /// Bytes.
    pub file_size: u64,
    /// Always 100.
    pub progress: u8,
    /// Where the owner downloads it.
    pub download_url: String,
}

/// `export.failed`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportFailed {
    /// The export.
    pub export_id: Uuid,
    /// Its session.
    pub session_id: Uuid,
    /// Why, for the user.
    pub error: String,
}

/// Publishes `event` to a studio session's room. A failure is logged, never the caller's problem: events are at
/// most once, and what matters is in the tables.
pub async fn publish_to_session(pubsub: &PubSub, session_id: Uuid, event: &SessionEvent) {
    if let Err(err) = pubsub.publish(&session_channel(session_id), &event.to_message()).await {
        tracing::warn!(error = %err, kind = event.kind(), "could not publish a realtime event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_as_type_and_data() {
        let (export_id, session_id) = (Uuid::nil(), Uuid::max());
        let event =
            SessionEvent::ExportProgress(ExportProgress { export_id, session_id, progress: 7, status: "pending" });
        let value: serde_json::Value = serde_json::from_str(&event.to_message()).expect("json");
        assert_eq!(
            value,
            serde_json::json!({"type": "export.progress", "data": {"exportId": export_id, "sessionId": session_id, "progress": 7, "status": "pending"}})
        );
        assert!(event.owner_only());
        let update = SessionEvent::TrackUpdated(serde_json::json!({"name": "Kick"}));
        assert_eq!(update.to_message(), r#"{"type":"track.updated","data":{"name":"Kick"}}"#);
        assert!(!update.owner_only());
    }

    #[tokio::test]
    async fn an_event_on_behalf_of_a_request_names_it() {
        let update = SessionEvent::TrackUpdated(serde_json::json!({"name": "Kick"}));
        let message = crate::trace::with_request_id("req-7".to_owned(), async { update.to_message() }).await;
        let value: serde_json::Value = serde_json::from_str(&message).expect("json");
        assert_eq!(value["requestId"], "req-7");
        assert_eq!(value["type"], "track.updated");
    }
}
