//! The token endpoint: trades an authorization code for an access token (and, for Google, an ID token) after the
//! checks a real provider makes: single use, age, flavour, client, redirect URI and PKCE verifier.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::FlavourCtx;
use super::flavour::Flavour;
use super::id_token::{self, IdTokenClaims};
use super::params::Params;
use super::state::{AccessGrant, CodeGrant, ProviderState, Redemption, random_token};

/// How long an authorization code stays valid, as at the real providers (GitHub: 10 minutes; here shorter).
const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// `expires_in` of Discord access tokens (7 days).
const DISCORD_TOKEN_LIFETIME_SECS: u64 = 604_800;
/// `expires_in` of Google access tokens.
const GOOGLE_TOKEN_LIFETIME_SECS: u64 = 3599;
/// Lifetime of Google ID tokens.
const ID_TOKEN_LIFETIME_SECS: u64 = 3600;

/// `POST` to the flavour's token endpoint.
pub(super) async fn exchange(State(ctx): State<FlavourCtx>, headers: HeaderMap, body: Bytes) -> Response {
    let mut state = ctx.shared.lock();
    let outcome = exchange_code(&ctx, &mut state, &headers, &body);
    match outcome {
        Ok(body) => {
            state.exchanges_succeeded += 1;
            let no_cache = [(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")];
            (no_cache, Json(body)).into_response()
        }
        Err(error) => {
            state.exchanges_refused += 1;
            drop(state);
            tracing::info!(
                provider = ctx.flavour.display_name(),
                error = error.code,
                description = %error.description,
                "token exchange refused"
            );
            error.into_response(ctx.flavour)
        }
    }
}

/// Runs under the state lock, so that checking and spending a code is one step.
fn exchange_code(
    ctx: &FlavourCtx,
    state: &mut ProviderState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, TokenError> {
    let form = Params::from_form(headers, body).map_err(TokenError::invalid_request)?;

    // Presenting a code spends it, whatever else is wrong with the request, as at the real providers.
    let redemption = form.get("code").map(|code| (code, state.redeem_code(code)));

    match (ctx.flavour, form.get("grant_type")) {
        (_, Some("authorization_code")) | (Flavour::GitHub, None) => {}
        (_, None) => return Err(TokenError::invalid_request("grant_type is required")),
        (_, Some(other)) => {
            return Err(TokenError::unsupported_grant_type(format!("grant_type `{other}` is not supported")));
        }
    }

    let credentials = client_credentials(headers, &form)?;
    let client = &ctx.shared.client;
    if credentials.client_id != client.client_id || credentials.client_secret != client.client_secret {
        return Err(TokenError::invalid_client("unknown client or wrong client secret", credentials.basic));
    }

    let (code, grant) = match redemption {
        None => return Err(TokenError::invalid_request("code is required")),
        Some((_, Redemption::Unknown)) => return Err(TokenError::invalid_grant("unknown authorization code")),
        Some((_, Redemption::Replayed)) => {
            return Err(TokenError::invalid_grant("the authorization code was already used; its tokens are revoked"));
        }
        Some((code, Redemption::Fresh(grant))) => (code, grant),
    };
    check_grant(ctx.flavour, &grant, &credentials.client_id, &form)?;

    let scope = ctx.flavour.join_scopes(&grant.scopes);
    let access_token = match ctx.flavour {
        Flavour::GitHub => format!("gho_{}", random_token(27)),
        Flavour::Discord => random_token(24),
        Flavour::Google => format!("ya29.{}", random_token(48)),
    };
    let response = match ctx.flavour {
        Flavour::GitHub => json!({ "access_token": access_token, "token_type": "bearer", "scope": scope }),
        Flavour::Discord => json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": DISCORD_TOKEN_LIFETIME_SECS,
            "refresh_token": random_token(24),
            "scope": scope,
        }),
        Flavour::Google => json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": GOOGLE_TOKEN_LIFETIME_SECS,
            "scope": scope,
            "id_token": google_id_token(ctx, state, &grant)?,
        }),
    };
    let access = AccessGrant { flavour: ctx.flavour, login: grant.login, scopes: grant.scopes };
    state.issue_access_token(code, access_token, access);
    Ok(response)
}

/// The code must be young, issued by this flavour to this client for this redirect URI, and match the PKCE
/// challenge it was issued with.
fn check_grant(flavour: Flavour, grant: &CodeGrant, client_id: &str, form: &Params) -> Result<(), TokenError> {
    if grant.issued_at.elapsed() > CODE_LIFETIME {
        return Err(TokenError::invalid_grant("the authorization code has expired"));
    }
    if grant.flavour != flavour {
        return Err(TokenError::invalid_grant("the authorization code was issued by another provider"));
    }
    if grant.client_id != client_id {
        return Err(TokenError::invalid_grant("the authorization code was issued to another client"));
    }
    match form.get("redirect_uri") {
        None => return Err(TokenError::invalid_grant("redirect_uri is required: it was sent at authorize")),
        Some(uri) if uri != grant.redirect_uri => {
            return Err(TokenError::invalid_grant("redirect_uri differs from the one sent at authorize"));
        }
        Some(_) => {}
    }
    match (&grant.code_challenge, form.get("code_verifier")) {
        (None, None) => Ok(()),
        (None, Some(_)) => {
            Err(TokenError::invalid_grant("code_verifier sent, but no code_challenge was sent at authorize"))
        }
        (Some(_), None) => Err(TokenError::invalid_grant("code_verifier is required: a code_challenge was sent")),
        (Some(_), Some(verifier)) if !is_valid_verifier(verifier) => {
            Err(TokenError::invalid_grant("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]"))
        }
        (Some(challenge), Some(verifier)) => {
            if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == *challenge {
                Ok(())
            } else {
                Err(TokenError::invalid_grant("code_verifier does not match the code_challenge"))
            }
        }
    }
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn google_id_token(ctx: &FlavourCtx, state: &mut ProviderState, grant: &CodeGrant) -> Result<String, TokenError> {
    let user = state.user(&grant.login).clone();
    let nonce = state.next_nonce.take().or_else(|| grant.nonce.clone());
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let has_scope = |scope: &str| grant.scopes.iter().any(|s| s == scope);
    let email = if has_scope("email") { user.email } else { None };
    let claims = IdTokenClaims {
        iss: format!("{}/google", ctx.shared.base_url),
        sub: user.id.to_string(),
        aud: grant.client_id.clone(),
        azp: grant.client_id.clone(),
        exp: now + ID_TOKEN_LIFETIME_SECS,
        iat: now,
        nonce,
        email_verified: email.as_ref().map(|_| true),
        email,
        name: has_scope("profile").then_some(user.name),
    };
    id_token::sign(&claims, &ctx.shared.client.client_secret)
        .map_err(|error| TokenError::server_error(format!("could not encode the ID token: {error}")))
}

/// How the client authenticated: HTTP Basic (`client_secret_basic`) or form fields (`client_secret_post`).
struct ClientCredentials {
    client_id: String,
    client_secret: String,
    basic: bool,
}

/// Reads the client's credentials; using both methods at once is refused (RFC 6749 §2.3).
fn client_credentials(headers: &HeaderMap, form: &Params) -> Result<ClientCredentials, TokenError> {
    let basic = match headers.get(AUTHORIZATION) {
        None => None,
        Some(value) => Some(parse_basic(value).ok_or_else(|| {
            TokenError::invalid_client("the Authorization header is not valid HTTP Basic credentials", true)
        })?),
    };
    let in_body = form.get("client_secret");
    match (basic, in_body) {
        (Some(_), Some(_)) => {
            Err(TokenError::invalid_request("client credentials sent both in the Authorization header and the body"))
        }
        (Some((client_id, client_secret)), None) => {
            if form.get("client_id").is_some_and(|id| id != client_id) {
                return Err(TokenError::invalid_request("client_id in the body differs from the Authorization header"));
            }
            Ok(ClientCredentials { client_id, client_secret, basic: true })
        }
        (None, Some(secret)) => match form.get("client_id") {
            Some(id) => {
                Ok(ClientCredentials { client_id: id.to_owned(), client_secret: secret.to_owned(), basic: false })
            }
            None => Err(TokenError::invalid_client("client_secret without client_id", false)),
        },
        (None, None) => Err(TokenError::invalid_client("no client authentication", false)),
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))`, per RFC 6749 §2.3.1.
fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    let value = value.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id), form_decode(secret)))
}

fn form_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("v={text}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// An OAuth error response (RFC 6749 §5.2).
struct TokenError {
    status: StatusCode,
    code: &'static str,
    description: String,
    /// The client tried HTTP Basic, so a 401 carries a `WWW-Authenticate: Basic` challenge.
    basic_challenge: bool,
}

impl TokenError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self { status, code, description: description.into(), basic_challenge: false }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    fn invalid_client(description: impl Into<String>, basic_challenge: bool) -> Self {
        Self { basic_challenge, ..Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description) }
    }

    fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", description)
    }

    fn server_error(description: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", description)
    }

    fn into_response(self, flavour: Flavour) -> Response {
        // GitHub names every bad-code failure `bad_verification_code`.
        let code = match (flavour, self.code) {
            (Flavour::GitHub, "invalid_grant") => "bad_verification_code",
            (_, code) => code,
        };
        let body = Json(json!({ "error": code, "error_description": self.description }));
        let mut response = (self.status, [(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")], body).into_response();
        if self.basic_challenge && self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"oauth\""));
        }
        response
    }
}
