//! Email + password sign-in for development: argon2 hashes (password-auth), per-account and per-IP attempt
//! limits, one message for every failure, and the same work whether or not the account exists.

use super::{AuthFailure, AuthRuntime};
use omnisonic_domain::account::{MAX_PASSWORD_LEN, normalize_email};
use omnisonic_store::DatabaseConnection;
use omnisonic_store::auth as store;
use omnisonic_store::entities::user;
use std::net::{IpAddr, Ipv6Addr};

/// The key an address is limited under: IPv4 as is, IPv6 by its /64 (one host usually holds a whole /64, so
/// per-/128 limits would let it rotate addresses freely).
pub(super) fn ip_bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let segments = v6.segments();
                IpAddr::V6(Ipv6Addr::new(segments[0], segments[1], segments[2], segments[3], 0, 0, 0, 0))
            }
        },
    }
}

impl AuthRuntime {
    /// Counts an attempt against the client's address.
    pub(super) fn admit_ip(&self, ip: IpAddr) -> Result<(), AuthFailure> {
        self.per_ip.admit(&ip_bucket(ip)).map_err(AuthFailure::RateLimited)
    }

    /// Counts a password attempt against a (normalised, so bounded) account address.
    fn admit_account(&self, email: &str) -> Result<(), AuthFailure> {
        self.per_account.admit(&email.to_owned()).map_err(AuthFailure::RateLimited)
    }

    /// Counts a sign-in link sent to an address. Separate from password attempts, so asking for links cannot
    /// lock an account's password sign-in, and the other way round.
    pub(super) fn admit_link(&self, email: &str) -> Result<(), AuthFailure> {
        self.per_link_address.admit(&email.to_owned()).map_err(AuthFailure::RateLimited)
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
        self.admit_ip(ip)?;
        // Not an address: no account can match. Refused before it becomes a limiter key (bounded memory).
        let email = normalize_email(email).map_err(|_| AuthFailure::InvalidCredentials)?;
        self.admit_account(&email)?;
        if password.is_empty() || password.len() > MAX_PASSWORD_LEN {
            return Err(AuthFailure::InvalidCredentials);
        }
        let user = store::user_by_email(db, &email).await?;
        let known = user.as_ref().and_then(|u| u.password_hash.clone());
        let password = password.to_owned();
        let decoy = std::sync::Arc::clone(&self.decoy);
        // argon2 takes tens of milliseconds of CPU by design: keep it off the async workers.
        let verified = tokio::task::spawn_blocking(move || {
            let hash = known.unwrap_or_else(|| {
                decoy.get_or_init(|| omnisonic_app::accounts::hash_password(&super::csrf::new_token())).clone()
            });
            password_auth::verify_password(password, &hash).is_ok()
        })
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

#[cfg(test)]
mod tests {
    use super::ip_bucket;
    use std::net::IpAddr;

    #[test]
    fn ipv6_hosts_share_their_64_and_mapped_ipv4_is_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        let other: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(ip_bucket(a), ip_bucket(b));
        assert_ne!(ip_bucket(a), ip_bucket(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(ip_bucket(mapped), "192.0.2.7".parse::<IpAddr>().expect("ip"));
    }
}
