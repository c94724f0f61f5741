//! Accounts: password hashes, personal API tokens, and telling every node that a user's sign-ins have ended.
//! The pages, the sign-in routes and `omnisonic user|token` call these.

pub mod tokens;

use crate::AppError;
use omnisonic_platform::PubSub;
use omnisonic_store::DatabaseConnection;
use omnisonic_store::entities::api_token;
use uuid::Uuid;

/// The pub/sub channel on which nodes hear that a user's sign-ins may have ended (sign-out, disable).
pub const SIGN_IN_ENDED_CHANNEL: &str = "auth:revoked";

/// An argon2id hash of `password` in PHC format, with OWASP's m = 7 MiB, t = 5, p = 1 — one of its equivalent
/// recommended settings, chosen over the 19 MiB default because the memory is held by the allocator after each
/// sign-in and counts against the server's RSS budget (issue 4's upload benchmark). Hashes made with other
/// parameters (e.g. the default) still verify: the parameters travel in the PHC string. Deliberately slow: call
/// it on a blocking thread.
pub fn hash_password(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(7 * 1024, 5, 1, None).expect("valid argon2 parameters");
    let argon2 = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::generate(&mut rand_core::OsRng);
    argon2.hash_password(password.as_bytes(), &salt).expect("argon2 hashing of an in-memory password").to_string()
}

/// Tells every node that `user`'s sign-ins may have ended (signed out, disabled), so their sockets re-check at
/// once. Failures are logged: the periodic re-check still ends the sockets.
pub async fn announce_sign_in_ended(pubsub: &PubSub, user: Uuid) {
    let message = serde_json::json!({ "user": user }).to_string();
    if let Err(err) = pubsub.publish(SIGN_IN_ENDED_CHANNEL, &message).await {
        tracing::warn!(error = %err, "could not announce an ended sign-in; open sockets close at their next re-check");
    }
}

/// Makes a personal API token for `user` named `name`: the stored row, and the secret, which is shown once and
/// never stored. A bad name is `AppError::Invalid` on `name`.
pub async fn create_api_token(
    db: &DatabaseConnection,
    user: Uuid,
    name: &str,
) -> Result<(api_token::Model, String), AppError> {
    let name = tokens::validate_name(name).map_err(|reason| AppError::invalid("name", reason))?;
    let token = tokens::generate();
    let row = omnisonic_store::api_tokens::create(db, user, &name, &token.hash, &token.prefix).await?;
    tracing::info!(user_id = %user, token_id = %row.id, "API token created");
    Ok((row, token.secret))
}
