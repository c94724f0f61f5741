//! The sign-in session store for tower-sessions, on our own `auth_sessions` table (SQLite or PostgreSQL).
//!
//! Rows are keyed by the SHA-256 of the session id, so the table alone cannot be turned back into cookies. The
//! signed-in user's id is copied into its own column, which lets an operator revoke all of a user's sessions.

use super::keys;
use chrono::{DateTime, Utc};
use omnisonic_store::DatabaseConnection;
use omnisonic_store::auth as store;
use sha2::{Digest, Sha256};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};
use uuid::Uuid;

/// Sign-in sessions in the database.
#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: DatabaseConnection,
}

impl DbSessionStore {
    /// A store over `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

/// Hex SHA-256 of a session id, the row key.
pub fn id_hash(id: &Id) -> String {
    let digest = Sha256::digest(id.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn backend(err: impl std::fmt::Display) -> Error {
    Error::Backend(err.to_string())
}

fn to_chrono(at: time::OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(at.unix_timestamp(), at.nanosecond()).unwrap_or_else(Utc::now)
}

fn to_time(at: DateTime<Utc>) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(at.timestamp()).unwrap_or_else(|_| time::OffsetDateTime::now_utc())
}

/// How long a session without a signed-in user lives (it carries only a CSRF token or an OAuth flow): short, so
/// visitors who never sign in do not fill the table for the whole idle timeout.
const ANONYMOUS_LIFETIME: chrono::Duration = chrono::Duration::hours(1);

fn stored(record: &Record) -> Result<store::StoredSession> {
    let user_id = record.data.get(keys::USER).and_then(|v| v.as_str()).and_then(|s| Uuid::parse_str(s).ok());
    let mut expires_at = to_chrono(record.expiry_date);
    if user_id.is_none() {
        expires_at = expires_at.min(chrono::Utc::now() + ANONYMOUS_LIFETIME);
    }
    let data = serde_json::to_string(&record.data).map_err(backend)?;
    Ok(store::StoredSession { id_hash: id_hash(&record.id), user_id, data, expires_at })
}

#[async_trait::async_trait]
impl tower_sessions::SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // Ids are 128 random bits, so a collision is all but impossible; the insert still refuses one.
        while !store::insert_session(&self.db, stored(record)?).await.map_err(backend)? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> Result<()> {
        store::update_session(&self.db, stored(record)?).await.map_err(backend)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let Some(row) = store::load_session(&self.db, &id_hash(id)).await.map_err(backend)? else {
            return Ok(None);
        };
        let data = serde_json::from_str(&row.data).map_err(backend)?;
        Ok(Some(Record { id: *id, data, expiry_date: to_time(row.expires_at) }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        store::delete_session(&self.db, &id_hash(id)).await.map_err(backend)
    }
}
