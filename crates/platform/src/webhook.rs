//! Signed webhooks, the Standard Webhooks way (<https://www.standardwebhooks.com>): every request carries
//! `webhook-id` (the same on every retry of one message, so receivers can drop repeats), `webhook-timestamp`
//! (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. Secrets are written
//! `whsec_<base64>`, 24 to 64 bytes once decoded.
//!
//! [`verify`] is what a receiver does: our tests' receivers use it, and operators can point to it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The header names.
pub const ID_HEADER: &str = "webhook-id";
/// Unix seconds when the message was signed.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// `v1,<signature>`, several separated by spaces while a secret is being rotated.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// How far a receiver lets a timestamp be from its clock (replay window), in seconds.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

const PREFIX: &str = "whsec_";

/// A signing secret.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

// Never print a secret.
impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

/// What is wrong with a secret or a signed request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The secret is not `whsec_` and base64 of 24–64 bytes.
    #[error("a signing secret is \"whsec_\" followed by base64 of 24 to 64 bytes")]
    BadSecret,
    /// The timestamp is not a number.
    #[error("webhook-timestamp is not a Unix time")]
    BadTimestamp,
    /// The timestamp is too far from now (a replay, or a wrong clock).
    #[error("webhook-timestamp is {0} s away from now, more than the tolerance")]
    Stale(i64),
    /// No `v1` signature matches.
    #[error("no webhook-signature matches the body")]
    Mismatch,
}

impl WebhookSecret {
    /// Reads `whsec_<base64>`.
    pub fn parse(text: &str) -> Result<Self, WebhookError> {
        let encoded = text.trim().strip_prefix(PREFIX).ok_or(WebhookError::BadSecret)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| WebhookError::BadSecret)?;
        Self::from_bytes(bytes)
    }

    /// A secret of raw bytes (24 to 64 of them), e.g. freshly drawn from a CSPRNG.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, WebhookError> {
        if (24..=64).contains(&bytes.len()) { Ok(Self(bytes)) } else { Err(WebhookError::BadSecret) }
    }

    /// The `whsec_<base64>` form, to show its owner once and to store.
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }

    /// The `webhook-signature` value for one message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }
}

/// The three headers of a signed message: `(name, value)` pairs to add to the request.
pub fn headers(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> [(&'static str, String); 3] {
    [
        (ID_HEADER, id.to_owned()),
        (TIMESTAMP_HEADER, timestamp.to_string()),
        (SIGNATURE_HEADER, secret.sign(id, timestamp, body)),
    ]
}

/// Checks a received message: the timestamp within [`TOLERANCE_SECONDS`] of `now` (Unix seconds) and one of the
/// space-separated `v1,` signatures matching (compared in constant time).
pub fn verify(
    secret: &WebhookSecret,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
) -> Result<(), WebhookError> {
    let timestamp: i64 = timestamp.trim().parse().map_err(|_| WebhookError::BadTimestamp)?;
    let skew = now.saturating_sub(timestamp);
    if skew.abs() > TOLERANCE_SECONDS {
        return Err(WebhookError::Stale(skew));
    }
    let expected = secret.mac(id, timestamp, body);
    let matches = signatures
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .any(|given| given.ct_eq(&expected).into());
    if matches { Ok(()) } else { Err(WebhookError::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in the Standard Webhooks specification.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1_614_265_330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_the_specifications_example() {
        let secret = WebhookSecret::parse(SPEC_SECRET).expect("secret");
        assert_eq!(secret.sign(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY), SPEC_SIGNATURE);
        assert_eq!(secret.expose(), SPEC_SECRET);
        let [id, timestamp, signature] = headers(&secret, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY);
        assert_eq!(id, (ID_HEADER, SPEC_ID.to_owned()));
        assert_eq!(timestamp, (TIMESTAMP_HEADER, "1614265330".to_owned()));
        assert_eq!(signature, (SIGNATURE_HEADER, SPEC_SIGNATURE.to_owned()));
    }

    #[test]
    fn verification_accepts_the_right_message_only() {
        let secret = WebhookSecret::parse(SPEC_SECRET).expect("secret");
        let ts = "1614265330";
        let now = SPEC_TIMESTAMP + 10;
        assert_eq!(verify(&secret, SPEC_ID, ts, SPEC_SIGNATURE, SPEC_BODY, now), Ok(()));
        // Rotation: any of several signatures may match.
        let several = format!("v1,bm9wZQ== {SPEC_SIGNATURE}");
        assert_eq!(verify(&secret, SPEC_ID, ts, &several, SPEC_BODY, now), Ok(()));
        let tampered = br#"{"test": 2432232315}"#;
        assert_eq!(verify(&secret, SPEC_ID, ts, SPEC_SIGNATURE, tampered, now), Err(WebhookError::Mismatch));
        assert_eq!(verify(&secret, "msg_other", ts, SPEC_SIGNATURE, SPEC_BODY, now), Err(WebhookError::Mismatch));
        let other = WebhookSecret::from_bytes(vec![7; 32]).expect("secret");
        assert_eq!(verify(&other, SPEC_ID, ts, SPEC_SIGNATURE, SPEC_BODY, now), Err(WebhookError::Mismatch));
        assert_eq!(verify(&secret, SPEC_ID, ts, "v2,abc", SPEC_BODY, now), Err(WebhookError::Mismatch));
        assert_eq!(verify(&secret, SPEC_ID, "soon", SPEC_SIGNATURE, SPEC_BODY, now), Err(WebhookError::BadTimestamp));
    }

    #[test]
    fn timestamps_outside_the_tolerance_are_refused_at_the_edge() {
        let secret = WebhookSecret::parse(SPEC_SECRET).expect("secret");
        let ts = "1614265330";
        let ok = |now| verify(&secret, SPEC_ID, ts, SPEC_SIGNATURE, SPEC_BODY, now);
        assert_eq!(ok(SPEC_TIMESTAMP + TOLERANCE_SECONDS), Ok(()));
        assert_eq!(ok(SPEC_TIMESTAMP - TOLERANCE_SECONDS), Ok(()));
        assert_eq!(ok(SPEC_TIMESTAMP + TOLERANCE_SECONDS + 1), Err(WebhookError::Stale(TOLERANCE_SECONDS + 1)));
        assert_eq!(ok(SPEC_TIMESTAMP - TOLERANCE_SECONDS - 1), Err(WebhookError::Stale(-TOLERANCE_SECONDS - 1)));
    }

    #[test]
    fn secrets_are_checked_and_never_printed() {
        assert_eq!(WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), Err(WebhookError::BadSecret));
        assert_eq!(WebhookSecret::parse("whsec_not base64!"), Err(WebhookError::BadSecret));
        assert_eq!(WebhookSecret::from_bytes(vec![1; 23]), Err(WebhookError::BadSecret));
        assert_eq!(WebhookSecret::from_bytes(vec![1; 65]), Err(WebhookError::BadSecret));
        assert!(WebhookSecret::from_bytes(vec![1; 24]).is_ok() && WebhookSecret::from_bytes(vec![1; 64]).is_ok());
        let secret = WebhookSecret::parse(SPEC_SECRET).expect("secret");
        assert!(!format!("{secret:?}").contains("MfKQ"));
    }
}
