//! Email + password sign-in for development: argon2 hashes (password-auth), per-account and per-IP attempt
//! limits, one message for every failure, and the same work whether or not the account exists.

use super::{AuthFailure, AuthRuntime};
use governor::clock::{Clock, DefaultClock};
use omnisonic_domain::account::{MAX_PASSWORD_LEN, normalize_email};
use omnisonic_store::DatabaseConnection;
use omnisonic_store::auth as store;
use omnisonic_store::entities::user;
use std::net::IpAddr;

/// Distinct keys a limiter may hold before idle ones are dropped (bounds memory under an address spray).
const MAX_TRACKED_KEYS: usize = 100_000;

impl AuthRuntime {
    /// Counts an attempt against the IP's and the account's limits.
    pub(super) fn admit(&self, ip: IpAddr, email: &str) -> Result<(), AuthFailure> {
        if self.per_ip.len() > MAX_TRACKED_KEYS {
            self.per_ip.retain_recent();
        }
        if self.per_account.len() > MAX_TRACKED_KEYS {
            self.per_account.retain_recent();
        }
        let now = DefaultClock::default().now();
        self.per_ip.check_key(&ip).map_err(|wait| AuthFailure::RateLimited(wait.wait_time_from(now)))?;
        self.per_account
            .check_key(&email.to_owned())
            .map_err(|wait| AuthFailure::RateLimited(wait.wait_time_from(now)))?;
        Ok(())
    }

    /// The user these credentials belong to.
    pub async fn check_credentials(
        &self,
        db: &DatabaseConnection,
        ip: IpAddr,
        email: &str,
        password: &str,
    ) -> Result<user::Model, AuthFailure> {
        if !self.config.credentials {
            return Err(AuthFailure::CredentialsDisabled);
        }
        let email = normalize_email(email).unwrap_or_else(|_| email.trim().to_lowercase());
        self.admit(ip, &email)?;
        if password.is_empty() || password.len() > MAX_PASSWORD_LEN {
            return Err(AuthFailure::InvalidCredentials);
        }
        let user = store::user_by_email(db, &email).await?;
        let hash = user.as_ref().and_then(|u| u.password_hash.clone()).unwrap_or_else(|| self.decoy_hash.clone());
        let password = password.to_owned();
        // argon2 takes tens of milliseconds of CPU by design: keep it off the async workers.
        let verified = tokio::task::spawn_blocking(move || password_auth::verify_password(password, &hash).is_ok())
            .await
            .unwrap_or(false);
        match user {
            Some(user) if verified && user.password_hash.is_some() => {
                if user.disabled_at.is_some() {
                    return Err(AuthFailure::Disabled);
                }
                Ok(user)
            }
            _ => Err(AuthFailure::InvalidCredentials),
        }
    }
}
