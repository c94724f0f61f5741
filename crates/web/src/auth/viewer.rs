//! Who is asking: the [`Viewer`] extractor, and signing in and out.
//!
//! A sign-in lives in the tower-sessions session: the user id, when the sign-in happened (for the absolute
//! expiry) and the CSRF token. The user row is re-read on every request that asks for the viewer, so disabling a
//! user takes effect at once, and an expired or revoked sign-in clears itself.

use super::{csrf, keys};
use crate::{ApiError, AppState};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use omnisonic_store::auth as store;
use omnisonic_store::entities::user;
use tower_sessions::Session;
use uuid::Uuid;

/// A signed-in user.
#[derive(Clone)]
pub struct SignedIn {
    /// The user row, fresh from the database.
    pub user: user::Model,
    /// This session's CSRF token, for forms.
    pub csrf: String,
    /// Signed in by a personal API token rather than a session.
    pub via_token: bool,
}

// By hand: the derived form would print the CSRF token and the password hash into any log that shows it.
impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn").field("user_id", &self.user.id).finish_non_exhaustive()
    }
}

impl SignedIn {
    /// The name other users may see (presence in a shared room): the display name, never the email address.
    pub fn public_name(&self) -> String {
        self.user.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "A collaborator".to_owned())
    }

    /// The name to show: display name, else email, else "Signed-in user".
    pub fn display_name(&self) -> String {
        self.user.name.clone().or_else(|| self.user.email.clone()).unwrap_or_else(|| "Signed-in user".to_owned())
    }
}

/// The request's session and, when signed in, the user.
#[derive(Clone, Debug)]
pub struct Viewer {
    /// The session (created lazily: nothing is stored until something is written to it).
    pub session: Session,
    /// The signed-in user, if any.
    pub signed_in: Option<SignedIn>,
}

impl Viewer {
    /// The user id, when signed in.
    pub fn user_id(&self) -> Option<Uuid> {
        self.signed_in.as_ref().map(|s| s.user.id)
    }

    /// The signed-in user, or a redirect to the sign-in page that comes back to `uri` afterwards.
    pub fn require_page(&self, uri: &Uri) -> Result<&SignedIn, Response> {
        self.signed_in.as_ref().ok_or_else(|| redirect_to_sign_in(uri))
    }
}

/// A signed-in user, for API handlers: anonymous requests are answered `401 unauthenticated` problem+json before
/// the body is read.
#[derive(Clone, Debug)]
pub struct ApiUser(pub SignedIn);

impl<S> FromRequestParts<S> for ApiUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        viewer.signed_in.map(ApiUser).ok_or_else(|| ApiError::Unauthenticated.into_response())
    }
}

/// `303` to `/auth/signin?callbackUrl=…` for the page the visitor wanted.
pub fn redirect_to_sign_in(uri: &Uri) -> Response {
    let wanted = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let location = format!(
        "/auth/signin?callbackUrl={}",
        url::form_urlencoded::byte_serialize(wanted.as_bytes()).collect::<String>()
    );
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

impl<S> FromRequestParts<S> for Viewer
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(viewer) = parts.extensions.get::<Viewer>() {
            return Ok(viewer.clone());
        }
        let session = Session::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let app = AppState::from_ref(state);
        let signed_in = match super::tokens::from_headers(&parts.headers) {
            // A machine client: its token decides, never the cookie (see `tokens`).
            Some(token) => Some(token_user(&app, token).await.map_err(IntoResponse::into_response)?),
            None => load_signed_in(&app, &session).await.map_err(IntoResponse::into_response)?,
        };
        let viewer = Viewer { session, signed_in };
        parts.extensions.insert(viewer.clone());
        Ok(viewer)
    }
}

/// The user an API token signs in; `401` for an unknown or revoked token.
async fn token_user(app: &AppState, token: &str) -> Result<SignedIn, ApiError> {
    match omnisonic_store::api_tokens::authenticate(&app.db, &omnisonic_app::accounts::tokens::hash(token)).await? {
        Some((_, user)) => Ok(SignedIn { user, csrf: String::new(), via_token: true }),
        None => Err(ApiError::Unauthenticated),
    }
}

async fn load_signed_in(app: &AppState, session: &Session) -> Result<Option<SignedIn>, ApiError> {
    let Some(user_id) = session.get::<Uuid>(keys::USER).await.map_err(internal)? else {
        return Ok(None);
    };
    let signed_in_at = session.get::<i64>(keys::SIGNED_IN_AT).await.map_err(internal)?.unwrap_or(0);
    let max_age = i64::try_from(app.auth.config.max_age.as_secs()).unwrap_or(i64::MAX);
    let user = store::get_user(&app.db, user_id).await?;
    let still_valid = Utc::now().timestamp().saturating_sub(signed_in_at) < max_age;
    match user {
        Some(user) if still_valid && user.disabled_at.is_none() => {
            let csrf = csrf::token(session).await.map_err(internal)?;
            keep_alive(app, session).await.map_err(internal)?;
            Ok(Some(SignedIn { user, csrf, via_token: false }))
        }
        _ => {
            // Expired, disabled or deleted: end the sign-in for good (deletes the row, clears the cookie).
            session.flush().await.map_err(internal)?;
            Ok(None)
        }
    }
}

/// Pushes the idle expiry forward. tower-sessions only re-saves a session (and so its expiry) when it changed;
/// touching a timestamp marks it changed. It is touched once per quarter of the idle timeout, or once a minute if
/// that is shorter: an active user is never signed out, and a busy page does not write on every request. Only requests that look
/// at the viewer count as activity; static assets do not.
async fn keep_alive(app: &AppState, session: &Session) -> Result<(), tower_sessions::session::Error> {
    let now = Utc::now().timestamp();
    let every = i64::try_from(app.auth.config.idle_timeout.as_secs() / 4).unwrap_or(60).clamp(0, 60);
    let touched = session.get::<i64>(keys::TOUCHED_AT).await?.unwrap_or(0);
    if now.saturating_sub(touched) >= every {
        session.insert(keys::TOUCHED_AT, now).await?;
    }
    Ok(())
}

fn internal(err: tower_sessions::session::Error) -> ApiError {
    ApiError::Internal(Box::new(err))
}

/// Signs `user` in on this session: a new session id (so an id planted before sign-in is worthless), a new CSRF
/// token, and the sign-in time for the absolute expiry.
pub async fn sign_in(session: &Session, user: &user::Model) -> Result<(), ApiError> {
    session.cycle_id().await.map_err(internal)?;
    session.remove_value(keys::OAUTH).await.map_err(internal)?;
    session.insert(keys::USER, user.id).await.map_err(internal)?;
    session.insert(keys::SIGNED_IN_AT, Utc::now().timestamp()).await.map_err(internal)?;
    session.insert(keys::CSRF, csrf::new_token()).await.map_err(internal)?;
    tracing::info!(user_id = %user.id, "signed in");
    Ok(())
}

/// Signs out: deletes the session server-side (its cookie stops working everywhere) and expires the cookie.
pub async fn sign_out(session: &Session) -> Result<(), ApiError> {
    session.flush().await.map_err(internal)
}
