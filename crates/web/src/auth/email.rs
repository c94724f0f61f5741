//! Passwordless sign-in: a one-time link sent by email (spec 1.1's `VerificationToken`).
//!
//! Only the token's hash is stored; a link works once (redeeming deletes the row) and for a short time. Opening
//! the link shows a confirmation button rather than signing in on `GET`, so mail scanners that prefetch links
//! cannot use it up. The page that asks for a link says the same whether or not an account exists.

use super::{AuthFailure, AuthRuntime};
use omnisonic_domain::account::normalize_email;
use omnisonic_store::auth::{self as store, NewUser};
use omnisonic_store::entities::user;
use omnisonic_store::{DatabaseConnection, StoreError};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// Hex SHA-256 of a token, as stored.
fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

impl AuthRuntime {
    /// Whether sign-in links are offered: configured on, and a mailer to send them.
    pub fn email_links_enabled(&self) -> bool {
        self.config.email_links && self.mailer.is_some()
    }

    /// Creates a one-time token for `email` and mails the link. Rate-limited like password attempts.
    pub async fn send_sign_in_link(
        &self,
        db: &DatabaseConnection,
        ip: IpAddr,
        email: &str,
        callback_url: &str,
    ) -> Result<(), AuthFailure> {
        let Some(mailer) = self.mailer.as_ref().filter(|_| self.config.email_links) else {
            return Err(AuthFailure::EmailLinksDisabled);
        };
        self.admit_ip(ip)?;
        let email = normalize_email(email).map_err(|_| AuthFailure::InvalidEmail)?;
        self.admit_link(&email)?;
        let token = super::csrf::new_token();
        let expires = chrono::Utc::now()
            + chrono::Duration::from_std(self.config.email_link_ttl).unwrap_or(chrono::Duration::minutes(15));
        store::create_verification_token(db, &email, &token_hash(&token), expires).await?;
        let base = self.config.public_url.as_str().trim_end_matches('/');
        let callback: String = url::form_urlencoded::byte_serialize(callback_url.as_bytes()).collect();
        let link = format!("{base}/auth/callback/email?token={token}&callbackUrl={callback}");
        let minutes = self.config.email_link_ttl.as_secs().div_ceil(60);
        let text = format!(
            "Hello,\n\nUse this link to sign in to Omnisonic at {base}:\n\n{link}\n\nIt works once, within {minutes} \
             minutes. If you did not ask for it, ignore this email: nobody can sign in without the link.\n"
        );
        mailer.send(&email, "Sign in to Omnisonic", text).await?;
        Ok(())
    }

    /// Uses up a link's token: the user it signs in (created on first sign-in, with the address proven).
    pub async fn redeem_sign_in_link(&self, db: &DatabaseConnection, token: &str) -> Result<user::Model, AuthFailure> {
        if !self.email_links_enabled() {
            return Err(AuthFailure::EmailLinksDisabled);
        }
        let email = store::consume_verification_token(db, &token_hash(token)).await?.ok_or(AuthFailure::LinkExpired)?;
        if let Some(user) = store::user_by_email(db, &email).await? {
            store::mark_email_verified(db, user.id).await?;
            return Ok(user);
        }
        let new = NewUser { email: Some(email.clone()), email_verified: true, ..NewUser::default() };
        match store::create_user(db, new).await {
            Ok(user) => Ok(user),
            // Two links for one new address redeemed at once: the other request created the user.
            Err(StoreError::Conflict { .. }) => store::user_by_email(db, &email).await?.ok_or(AuthFailure::LinkExpired),
            Err(err) => Err(err.into()),
        }
    }
}
