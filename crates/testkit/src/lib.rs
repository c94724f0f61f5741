//! Test doubles that Omnisonic's behaviour and end-to-end tests run against instead of real third-party services.
//!
//! [`OAuthProvider`] is a small but real OAuth 2.0 / OpenID Connect authorization server on loopback. It speaks
//! the GitHub, Discord and Google dialects the app signs in with, so the whole sign-in flow (redirect, authorize,
//! callback, token exchange, user info) runs over real HTTP. It is deliberately strict: it refuses what the real
//! providers refuse (replayed or expired codes, a wrong PKCE verifier or redirect URI, bad client credentials, a
//! token used at another provider), because tests rely on it to catch a client that gets the protocol wrong.
//!
//! The `oauth-provider` binary serves the same provider for the Playwright suite. [`databases`] gives store-level
//! tests both real databases (SQLite and PostgreSQL) without HTTP.

pub mod databases;
pub mod oauth_provider;
pub mod services;

pub use oauth_provider::{ClientRegistration, OAuthProvider};
