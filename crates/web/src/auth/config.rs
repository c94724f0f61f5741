//! What the operator configures about sign-in: the public URL, the OAuth providers and their endpoints, whether
//! development credentials are on, and how long a sign-in lasts. Plain data, filled in by the binary's settings.

use std::time::Duration;
use url::Url;

/// A supported sign-in provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// GitHub OAuth app.
    GitHub,
    /// Google, over OpenID Connect.
    Google,
    /// Discord OAuth2.
    Discord,
}

impl ProviderKind {
    /// Every provider, in the order the sign-in page lists them.
    pub const ALL: [ProviderKind; 3] = [ProviderKind::GitHub, ProviderKind::Google, ProviderKind::Discord];

    /// The id used in URLs and the `accounts` table.
    pub fn id(self) -> &'static str {
        match self {
            Self::GitHub => "github",
            Self::Google => "google",
            Self::Discord => "discord",
        }
    }

    /// The name people know it by.
    pub fn label(self) -> &'static str {
        match self {
            Self::GitHub => "GitHub",
            Self::Google => "Google",
            Self::Discord => "Discord",
        }
    }

    /// The provider with this URL id.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.id() == id)
    }
}

/// One configured OAuth provider.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// Which provider.
    pub kind: ProviderKind,
    /// The OAuth client id.
    pub client_id: String,
    /// The OAuth client secret; redacted in `Debug`.
    pub client_secret: ClientSecret,
    /// GitHub: `https://github.com`; Discord: `https://discord.com`; Google: the issuer, `https://accounts.google.com`.
    pub base_url: Url,
    /// GitHub's API base (`https://api.github.com`); unused by the others.
    pub api_url: Option<Url>,
}

/// A client secret that never shows in logs.
#[derive(Clone)]
pub struct ClientSecret(pub String);

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

/// Everything about sign-in the web layer needs.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// The URL people reach the app at (`AUTH_URL`); callback URLs are built from it, and cookies are `Secure`
    /// when it is https.
    pub public_url: Url,
    /// OAuth providers that have a client id and secret.
    pub providers: Vec<ProviderConfig>,
    /// Email + password sign-in (development).
    pub credentials: bool,
    /// Passwordless sign-in with a one-time link sent by email.
    pub email_links: bool,
    /// How long an emailed sign-in link works.
    pub email_link_ttl: Duration,
    /// A sign-in ends after this long without a request.
    pub idle_timeout: Duration,
    /// A sign-in ends this long after it started, however active.
    pub max_age: Duration,
    /// Credentials sign-in attempts allowed per account per [`AuthConfig::rate_window`].
    pub attempts_per_account: u32,
    /// Credentials sign-in attempts allowed per client IP per [`AuthConfig::rate_window`].
    pub attempts_per_ip: u32,
    /// The window the attempt limits refill over.
    pub rate_window: Duration,
}

impl AuthConfig {
    /// Development defaults for `public_url`: credentials on, no providers.
    pub fn development(public_url: Url) -> Self {
        Self {
            public_url,
            providers: Vec::new(),
            credentials: true,
            email_links: true,
            email_link_ttl: Duration::from_secs(15 * 60),
            idle_timeout: Duration::from_secs(7 * 24 * 3600),
            max_age: Duration::from_secs(30 * 24 * 3600),
            attempts_per_account: 5,
            attempts_per_ip: 20,
            rate_window: Duration::from_secs(15 * 60),
        }
    }

    /// Whether cookies must be `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// The configured provider of this kind.
    pub fn provider(&self, kind: ProviderKind) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.kind == kind)
    }

    /// The origins a sign-in form may end up at (the providers' authorize pages), for the pages' CSP.
    pub fn provider_origins(&self) -> String {
        let mut origins: Vec<String> =
            self.providers.iter().map(|p| p.base_url.origin().ascii_serialization()).collect();
        origins.sort();
        origins.dedup();
        origins.retain(|o| o != "null");
        origins.join(" ")
    }

    /// Where a provider sends people back to.
    pub fn callback_url(&self, kind: ProviderKind) -> String {
        format!("{}/auth/callback/{}", self.public_url.as_str().trim_end_matches('/'), kind.id())
    }
}
