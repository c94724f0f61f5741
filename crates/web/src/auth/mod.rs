//! Sign-in and ownership: OAuth providers (GitHub, Google, Discord), development credentials, server-side
//! sessions, CSRF protection and the [`Viewer`] extractor every protected handler asks for.
//!
//! Sessions are tower-sessions sessions stored in our own `auth_sessions` table ([`store::DbSessionStore`]);
//! the cookie carries only a random id. Routes live under `/auth/*` and, for NextAuth-style clients, the same
//! handlers under `/api/auth/*`.

mod config;
mod credentials;
pub mod csrf;
mod email;
mod limiter;
mod oauth;
pub mod revocation;
mod routes;
mod store;
pub mod tokens;
mod viewer;

pub use config::{AuthConfig, ClientSecret, ProviderConfig, ProviderKind};
pub use store::DbSessionStore;
pub use viewer::{ApiUser, SignedIn, Viewer, redirect_to_sign_in};

use omnisonic_store::DatabaseConnection;
use std::net::IpAddr;
use std::sync::Arc;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// Keys of the values kept in a session.
pub(crate) mod keys {
    /// The signed-in user's id.
    pub const USER: &str = "uid";
    /// Unix time of the sign-in, for the absolute expiry.
    pub const SIGNED_IN_AT: &str = "signed_in_at";
    /// The CSRF token.
    pub const CSRF: &str = "csrf";
    /// Unix time the idle expiry was last pushed forward.
    pub const TOUCHED_AT: &str = "touched_at";
    /// An OAuth sign-in in progress.
    pub const OAUTH: &str = "oauth";
}

/// The session cookie's name.
pub const COOKIE_NAME: &str = "omnisonic_session";

/// Sign-in's shared runtime: the configuration, an HTTP client for providers, cached OpenID discovery and the
/// credentials rate limiters.
pub struct AuthRuntime {
    /// What the operator configured.
    pub config: AuthConfig,
    /// Sends sign-in links.
    mailer: Option<omnisonic_platform::Mailer>,
    http: reqwest::Client,
    google: tokio::sync::OnceCell<oauth::Endpoints>,
    per_account: limiter::SlidingWindow<String>,
    per_link_address: limiter::SlidingWindow<String>,
    per_ip: limiter::SlidingWindow<IpAddr>,
    /// A real hash of nothing, verified against when the account does not exist, so a miss takes as long as a
    /// wrong password and response times do not tell which emails have accounts. Made on first use: argon2 takes
    /// 19 MiB while hashing, which a server that never sees a password should not pay for.
    decoy: Arc<std::sync::OnceLock<String>>,
}

impl std::fmt::Debug for AuthRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRuntime").field("config", &self.config).finish_non_exhaustive()
    }
}

impl AuthRuntime {
    /// Builds the runtime; `mailer` sends email sign-in links (they are off without one). Fails only when the
    /// provider HTTP client cannot be built.
    pub fn new(config: AuthConfig, mailer: Option<omnisonic_platform::Mailer>) -> Result<Arc<Self>, reqwest::Error> {
        install_tls_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("omnisonic/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(15))
            // Token endpoints must not redirect (RFC 6749 §3.2 gives them no reason to); following one could
            // replay the code and secret elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let per_account = limiter::SlidingWindow::new(config.attempts_per_account, config.rate_window);
        let per_link_address = limiter::SlidingWindow::new(config.attempts_per_account, config.rate_window);
        let per_ip = limiter::SlidingWindow::new(config.attempts_per_ip, config.rate_window);
        Ok(Arc::new(Self {
            config,
            mailer,
            http,
            google: tokio::sync::OnceCell::new(),
            per_account,
            per_link_address,
            per_ip,
            decoy: Arc::new(std::sync::OnceLock::new()),
        }))
    }

    /// The tower-sessions layer for these settings: `HttpOnly`, `SameSite=Lax`, `Secure` on https, idle expiry.
    pub fn session_layer(&self, db: DatabaseConnection) -> SessionManagerLayer<DbSessionStore> {
        let idle = time::Duration::try_from(self.config.idle_timeout).unwrap_or(time::Duration::days(7));
        SessionManagerLayer::new(DbSessionStore::new(db))
            .with_name(COOKIE_NAME)
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(self.config.secure_cookies())
            .with_path("/")
            .with_expiry(Expiry::OnInactivity(idle))
    }
}

/// Middleware: keeps only the readable pairs of each `Cookie` header. The cookie parser reads a header that is
/// not valid UTF-8 as no cookies at all, so one stray byte in an unrelated cookie (set by another app on the same
/// domain) signed the visitor out; now only that pair is dropped.
pub async fn drop_unreadable_cookies(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::HeaderValue;
    use axum::http::header::COOKIE;
    let headers = request.headers_mut();
    if headers.get_all(COOKIE).iter().any(|value| value.to_str().is_err()) {
        let cleaned: Vec<HeaderValue> = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| {
                let pairs: Vec<&str> = value
                    .as_bytes()
                    .split(|b| *b == b';')
                    .filter_map(|pair| std::str::from_utf8(pair).ok())
                    .filter(|pair| pair.chars().all(|c| c == '\t' || (' '..='~').contains(&c)))
                    .collect();
                HeaderValue::from_str(&pairs.join(";")).ok()
            })
            .collect();
        headers.remove(COOKIE);
        for value in cleaned {
            headers.append(COOKIE, value);
        }
    }
    next.run(request).await
}

/// Middleware: answers to requests that carry a session (or start one) are `Cache-Control: private, no-store`:
/// they may hold a CSRF token or personal data, and no shared cache may keep them. Static assets keep their own
/// caching.
pub async fn no_store_with_session(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE};
    let prefix = format!("{COOKIE_NAME}=");
    let has_session = request
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|cookies| cookies.split(';').any(|c| c.trim_start().starts_with(&prefix)));
    let is_asset = request.uri().path().starts_with("/assets/");
    let mut response = next.run(request).await;
    if !is_asset && (has_session || response.headers().contains_key(SET_COOKIE)) {
        response.headers_mut().insert(CACHE_CONTROL, axum::http::HeaderValue::from_static("private, no-store"));
    }
    response
}

/// Installs ring as the process's TLS crypto provider (idempotent). reqwest is built without a default provider
/// (its default, aws-lc, needs cmake and a longer C build); every HTTP client in the process needs one installed
/// before it is built.
pub fn install_tls_provider() {
    omnisonic_platform::install_tls_provider();
}

/// Why a sign-in did not complete, as shown to the person.
#[derive(Debug, thiserror::Error)]
pub enum AuthFailure {
    /// An OAuth flow failed.
    #[error(transparent)]
    OAuth(#[from] oauth::OAuthError),
    /// Email or password is wrong, or the account cannot use a password (deliberately one message).
    #[error("Email or password is incorrect.")]
    InvalidCredentials,
    /// Too many attempts.
    #[error("Too many sign-in attempts. Please wait {} and try again.", human_wait(*.0))]
    RateLimited(std::time::Duration),
    /// Credentials sign-in is off.
    #[error("Email and password sign-in is not enabled on this server.")]
    CredentialsDisabled,
    /// Email-link sign-in is off.
    #[error("Sign-in by email link is not enabled on this server.")]
    EmailLinksDisabled,
    /// Not an email address.
    #[error("Enter a valid email address.")]
    InvalidEmail,
    /// The emailed link was used, expired or never existed.
    #[error("This sign-in link has expired or was already used. Ask for a new one below.")]
    LinkExpired,
    /// The mail could not be sent.
    #[error("The sign-in email could not be sent. Please try again in a moment.")]
    MailFailed(#[from] omnisonic_platform::MailError),
    /// The user is disabled.
    #[error("This account is disabled. Contact your administrator.")]
    Disabled,
    /// First sign-in with a provider whose email belongs to an existing user: never linked automatically.
    #[error(
        "An account with this email address already exists. Sign in the way you did before, then link {0} from \
         your account page."
    )]
    EmailTaken(&'static str),
    /// The provider account is linked to another user.
    #[error("That {0} account is already linked to another Omnisonic user.")]
    LinkedElsewhere(&'static str),
    /// The session store failed.
    #[error("Sign-in is unavailable right now. Please try again.")]
    Session(#[from] tower_sessions::session::Error),
    /// The database failed.
    #[error("Sign-in is unavailable right now. Please try again.")]
    Store(#[from] omnisonic_store::StoreError),
    /// Anything else.
    #[error("Sign-in is unavailable right now. Please try again.")]
    Internal(#[from] crate::ApiError),
}

fn human_wait(wait: std::time::Duration) -> String {
    let secs = wait.as_secs().max(1);
    if secs < 120 { format!("{secs} seconds") } else { format!("{} minutes", secs.div_ceil(60)) }
}

pub use routes::router;
