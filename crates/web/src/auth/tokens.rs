//! Personal API tokens: `Authorization: Bearer oms_…` signs a machine client in as the token's owner, on every
//! route that asks for a [`super::Viewer`] (REST and `/graphql`).
//!
//! A token is 32 random bytes, shown once when it is made; the database keeps only its SHA-256 (a token has 256
//! bits of entropy, so a fast hash is enough: there is nothing to brute-force). A request that carries one
//! (`Authorization: Bearer oms_…`) is signed in by the token alone, never by the session cookie, and needs no
//! CSRF token: a browser never attaches a bearer token by itself, so it carries no ambient authority. Any other
//! `Authorization` header (Basic credentials of a proxy in front of us, another system's bearer token) is ignored:
//! browsers do resend cached Basic credentials cross-site, so such requests keep the cookie and the CSRF check.
//! A token-signed request cannot manage tokens: a leaked token must not be able to mint its successor.

use omnisonic_app::accounts::tokens::PREFIX;

/// The token of an `Authorization: Bearer …` header value; `None` for any other scheme.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The Omnisonic API token a request carries (`Authorization: Bearer oms_…`), if it carries one.
pub fn from_headers(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    bearer(value).filter(|token| token.starts_with(PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_bearer_tokens_sign_in() {
        let a = omnisonic_app::accounts::tokens::generate();
        assert_eq!(bearer("Bearer  oms_x "), Some("oms_x"));
        assert_eq!(bearer("Basic abc"), None);
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("authorization", "Bearer eyJhbGciOi.other-system".parse().expect("header"));
        assert_eq!(from_headers(&headers), None, "another system's bearer token is not ours");
        headers.insert("authorization", format!("Bearer {}", a.secret).parse().expect("header"));
        assert_eq!(from_headers(&headers), Some(a.secret.as_str()));
    }
}
