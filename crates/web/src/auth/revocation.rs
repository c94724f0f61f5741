//! Ending open sockets with the sign-in they were opened with.
//!
//! A WebSocket (`/realtime`, `/graphql/ws`) is authenticated once, at its upgrade; after that no request carries
//! the cookie again. So each signed-in socket watches its sign-in: signing out or disabling the user publishes a
//! nudge on the pub/sub channel [`CHANNEL`] (in process, or through Redis to every node), and each socket of that
//! user re-checks its sign-in at once — its session row still there, the user not disabled — and closes when it
//! has ended. Every [`RECHECK_EVERY`] the socket re-checks anyway, which covers a nudge that could not arrive (a
//! command-line `user disable` against an embedded deployment, whose pub/sub lives in the server's memory).

use crate::AppState;
use crate::auth::SignedIn;
use std::time::Duration;
use tower_sessions::Session;
use uuid::Uuid;

/// The pub/sub channel that carries "this user's sign-ins may have ended" nudges.
pub const CHANNEL: &str = omnisonic_app::accounts::SIGN_IN_ENDED_CHANNEL;
/// How often a socket re-checks its sign-in without a nudge.
pub const RECHECK_EVERY: Duration = Duration::from_secs(60);

/// The sign-in a socket was opened with.
#[derive(Clone, Debug)]
pub struct SignIn {
    user: Uuid,
    /// The session row's key; `None` for an API token (whose user is still checked).
    session: Option<String>,
}

impl SignIn {
    /// The sign-in behind a request's viewer.
    pub fn of(session: &Session, signed_in: &SignedIn) -> Self {
        let session = if signed_in.via_token { None } else { session.id().map(|id| super::store::id_hash(&id)) };
        Self { user: signed_in.user.id, session }
    }

    /// Whether the sign-in still holds: its session row is there (signing out deletes it, and disabling a user
    /// deletes all of theirs), or for an API token, its user is not disabled. One primary-key lookup. A database
    /// error counts as "still holds": a blip must not disconnect everybody, and the next check decides.
    async fn holds(&self, state: &AppState) -> bool {
        let checked = match &self.session {
            Some(hash) => omnisonic_store::auth::load_session(&state.db, hash)
                .await
                .map(|row| row.is_some_and(|row| row.user_id == Some(self.user))),
            None => omnisonic_store::auth::get_user(&state.db, self.user)
                .await
                .map(|user| user.is_some_and(|u| u.disabled_at.is_none())),
        };
        checked.unwrap_or_else(|err| {
            tracing::warn!(error = ?err, "could not re-check a socket's sign-in");
            true
        })
    }

    /// Completes when this sign-in has ended.
    pub async fn ended(&self, state: &AppState) {
        let mut nudges = Some(state.app.pubsub.subscribe(CHANNEL));
        // Spread the sockets' re-checks over the period, so ten thousand of them are a steady trickle of lookups
        // rather than a burst.
        let offset = RECHECK_EVERY.mul_f64(rand::random::<f64>());
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + offset, RECHECK_EVERY);
        let me = self.user.to_string();
        loop {
            let nudge = async {
                match nudges.as_mut() {
                    Some(nudges) => nudges.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                message = nudge => match message {
                    Some(message) if message.contains(&me) => {}
                    Some(_) => continue,
                    // The channel closed (pub/sub shut down): keep the periodic check.
                    None => {
                        nudges = None;
                        continue;
                    }
                },
                _ = every.tick() => {}
            }
            if !self.holds(state).await {
                return;
            }
        }
    }
}
