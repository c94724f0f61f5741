//! A loopback OAuth 2.0 / OpenID Connect provider speaking the GitHub, Discord and Google dialects.
//!
//! Tests start one with [`OAuthProvider::spawn`], point the app's `GITHUB_BASE_URL`, `GITHUB_API_URL`,
//! `DISCORD_BASE_URL` and `GOOGLE_ISSUER_URL` at it, and steer sign-ins with the one-shot knobs
//! ([`OAuthProvider::approve_next_as`], [`OAuthProvider::deny_next`], [`OAuthProvider::tamper_next_nonce`]).
//! Without a knob, the authorization endpoint shows a small sign-in form that a browser test fills in.
//!
//! Routes (all on one server):
//!
//! | Flavour | Authorize (GET form, POST decision) | Token (POST) | User info (GET) |
//! |---------|-------------------------------------|--------------|-----------------|
//! | GitHub  | `/github/login/oauth/authorize` | `/github/login/oauth/access_token` | `/github/api/user`, `/github/api/user/emails` |
//! | Discord | `/discord/oauth2/authorize` | `/discord/api/oauth2/token` | `/discord/api/users/@me` |
//! | Google  | `/google/authorize` | `/google/token` | `/google/userinfo` |
//!
//! Google also serves `/google/.well-known/openid-configuration` and `/google/jwks`; GitHub serves placeholder
//! avatars at `/github/avatar/{login}.png`.

mod authorize;
mod flavour;
mod id_token;
mod params;
mod state;
mod token;
mod user_api;

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use flavour::Flavour;
use state::{NextDecision, Shared};

/// The OAuth client the provider accepts, under every flavour. There is no redirect URI allow-list: any absolute
/// `http(s)` redirect URI is accepted at authorize, and the token request must repeat it exactly.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRegistration {
    /// The `client_id` the app sends.
    pub client_id: String,
    /// The secret the app authenticates with at the token endpoint; it also keys the Google ID token's HS256 MAC.
    pub client_secret: String,
}

impl fmt::Debug for ClientRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRegistration")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

/// A running provider. It serves in a background task until dropped.
pub struct OAuthProvider {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl fmt::Debug for OAuthProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthProvider").field("addr", &self.addr).field("client", &self.shared.client).finish()
    }
}

impl OAuthProvider {
    /// Binds `127.0.0.1:0` and serves in a background tokio task. The same client registration is accepted by all
    /// three provider flavours.
    pub async fn spawn(client: ClientRegistration) -> io::Result<OAuthProvider> {
        Self::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), client).await
    }

    /// Like [`OAuthProvider::spawn`], on a given address (the `oauth-provider` binary uses this). An unspecified
    /// address (`0.0.0.0`) is reported as loopback in the URLs, since those must be dialable.
    pub async fn bind(addr: SocketAddr, client: ClientRegistration) -> io::Result<OAuthProvider> {
        let listener = TcpListener::bind(addr).await?;
        let mut addr = listener.local_addr()?;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() { Ipv4Addr::LOCALHOST.into() } else { Ipv6Addr::LOCALHOST.into() });
        }
        let shared = Arc::new(Shared::new(client, format!("http://{addr}")));
        let app = router(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "the test OAuth provider stopped serving");
            }
        });
        Ok(OAuthProvider { addr, shared, server })
    }

    /// The address the provider listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The base URL standing in for `https://github.com` (the app's `GITHUB_BASE_URL`).
    pub fn github_base_url(&self) -> String {
        format!("{}/github", self.shared.base_url)
    }

    /// The base URL standing in for `https://api.github.com` (the app's `GITHUB_API_URL`).
    pub fn github_api_url(&self) -> String {
        format!("{}/github/api", self.shared.base_url)
    }

    /// The base URL standing in for `https://discord.com` (the app's `DISCORD_BASE_URL`).
    pub fn discord_base_url(&self) -> String {
        format!("{}/discord", self.shared.base_url)
    }

    /// The OpenID Connect issuer standing in for `https://accounts.google.com` (the app's `GOOGLE_ISSUER_URL`).
    pub fn google_issuer_url(&self) -> String {
        format!("{}/google", self.shared.base_url)
    }

    /// The next valid authorization request (any flavour) is approved immediately as `login`, without showing the
    /// form. One-shot: it is consumed by the next authorization request that passes validation. Replaces a pending
    /// [`OAuthProvider::deny_next`].
    pub fn approve_next_as(&self, login: &str) {
        self.shared.lock().next_decision = Some(NextDecision::Approve(login.to_owned()));
    }

    /// The next valid authorization request (any flavour) is denied: a redirect with `error=access_denied`.
    /// One-shot, like [`OAuthProvider::approve_next_as`], which it replaces if pending.
    pub fn deny_next(&self) {
        self.shared.lock().next_decision = Some(NextDecision::Deny);
    }

    /// The ID-token `nonce` of the next successful Google token response is replaced by `nonce` (one-shot), to
    /// test that the client checks the nonce.
    pub fn tamper_next_nonce(&self, nonce: &str) {
        self.shared.lock().next_nonce = Some(nonce.to_owned());
    }

    /// How many token exchanges `(succeeded, were refused)` so far, over all flavours.
    pub fn token_exchanges(&self) -> (usize, usize) {
        let state = self.shared.lock();
        (state.exchanges_succeeded, state.exchanges_refused)
    }

    /// Sets (`Some`) or clears (`None`) the email the provider reports for `login`; the default is
    /// `{login}@example.test`. Creates the user if it does not exist yet.
    pub fn set_email(&self, login: &str, email: Option<&str>) {
        self.shared.lock().user(login).email = email.map(str::to_owned);
    }
}

impl Drop for OAuthProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// What every handler gets: the shared state and the flavour its route belongs to.
#[derive(Clone)]
struct FlavourCtx {
    shared: Arc<Shared>,
    flavour: Flavour,
}

fn router(shared: Arc<Shared>) -> Router {
    let ctx = |flavour| FlavourCtx { shared: Arc::clone(&shared), flavour };
    let authorize = || get(authorize::show).post(authorize::decide);

    let github = Router::new()
        .route(Flavour::GitHub.authorize_path(), authorize())
        .route("/login/oauth/access_token", post(token::exchange))
        .route("/api/user", get(user_api::github_user))
        .route("/api/user/emails", get(user_api::github_emails))
        .route("/avatar/{file}", get(user_api::github_avatar))
        .with_state(ctx(Flavour::GitHub));
    let discord = Router::new()
        .route(Flavour::Discord.authorize_path(), authorize())
        .route("/api/oauth2/token", post(token::exchange))
        .route("/api/users/@me", get(user_api::discord_me))
        .with_state(ctx(Flavour::Discord));
    let google = Router::new()
        .route("/.well-known/openid-configuration", get(user_api::google_configuration))
        .route(Flavour::Google.authorize_path(), authorize())
        .route("/token", post(token::exchange))
        .route("/userinfo", get(user_api::google_userinfo))
        .route("/jwks", get(user_api::google_jwks))
        .with_state(ctx(Flavour::Google));

    Router::new()
        .nest(Flavour::GitHub.prefix(), github)
        .nest(Flavour::Discord.prefix(), discord)
        .nest(Flavour::Google.prefix(), google)
}
