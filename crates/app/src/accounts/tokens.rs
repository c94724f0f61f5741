//! Personal API tokens: 32 random bytes behind a recognisable prefix, shown once when made; the database keeps
//! only the SHA-256 (a token has 256 bits of entropy, so a fast hash is enough: there is nothing to brute-force).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// What every token starts with, so secret scanners and people can recognise one.
pub const PREFIX: &str = "oms_";
/// Longest token name.
pub const MAX_NAME_CHARS: usize = 100;

/// A new token: the secret to show once, its hash to store, and its recognisable start for lists.
pub struct NewToken {
    /// The token itself.
    pub secret: String,
    /// Hex SHA-256 of the token.
    pub hash: String,
    /// Its first characters (`oms_` and 8 more).
    pub prefix: String,
}

/// Makes a fresh token.
pub fn generate() -> NewToken {
    let secret = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()));
    let prefix = secret.chars().take(PREFIX.len() + 8).collect();
    NewToken { hash: hash(&secret), prefix, secret }
}

/// Hex SHA-256 of a token, as stored.
pub fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a token's name: 1 to [`MAX_NAME_CHARS`] characters once trimmed.
pub fn validate_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("give the token a name, such as the machine or script that will use it".to_owned());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("at most {MAX_NAME_CHARS} characters"));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let a = generate();
        let b = generate();
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with(PREFIX) && a.secret.len() == PREFIX.len() + 43);
        assert_eq!(a.hash, hash(&a.secret));
        assert_eq!(a.hash.len(), 64);
        assert!(a.secret.starts_with(&a.prefix));
        assert!(validate_name("  ").is_err());
        assert_eq!(validate_name(" CI ").as_deref(), Ok("CI"));
    }
}
