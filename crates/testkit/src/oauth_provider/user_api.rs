//! What a client reads with an access token — GitHub's `/user` and `/user/emails`, Discord's `/users/@me`,
//! Google's `userinfo` — plus Google's discovery document and (empty) key set, and GitHub's avatars.
//!
//! A token is only good at the flavour that issued it, and scopes matter as at the real providers: GitHub's email
//! list needs `user:email` (or `user`), Discord needs `identify` and shows the email only with `email`, Google shows
//! the email only with `email` and the name only with `profile`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::FlavourCtx;
use super::flavour::Flavour;
use super::state::{AccessGrant, User};

/// `GET /github/api/user`.
pub(super) async fn github_user(State(ctx): State<FlavourCtx>, headers: HeaderMap) -> Response {
    let (_, user) = match github_authenticate(&ctx, &headers) {
        Ok(found) => found,
        Err(refusal) => return refusal.into_response(),
    };
    Json(json!({
        "id": user.id,
        "login": user.login,
        "name": user.name,
        "email": user.email,
        "avatar_url": format!("{}/github/avatar/{}.png", ctx.shared.base_url, user.login),
    }))
    .into_response()
}

/// `GET /github/api/user/emails`.
pub(super) async fn github_emails(State(ctx): State<FlavourCtx>, headers: HeaderMap) -> Response {
    let (grant, user) = match github_authenticate(&ctx, &headers) {
        Ok(found) => found,
        Err(refusal) => return refusal.into_response(),
    };
    if !grant.has_scope("user:email") && !grant.has_scope("user") {
        // GitHub answers 404 rather than 403 when the token lacks the scope.
        return (StatusCode::NOT_FOUND, Json(json!({ "message": "Not Found" }))).into_response();
    }
    let emails: Vec<_> = user
        .email
        .iter()
        .map(|email| json!({ "email": email, "primary": true, "verified": true, "visibility": "private" }))
        .collect();
    Json(emails).into_response()
}

/// `GET /github/avatar/{login}.png`: a placeholder picture so pages showing the avatar load without errors.
pub(super) async fn github_avatar(Path(file): Path<String>) -> Response {
    let login = file.strip_suffix(".png").unwrap_or(&file);
    let initial: String =
        login.chars().take(1).flat_map(char::to_uppercase).filter(char::is_ascii_alphanumeric).collect();
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\" viewBox=\"0 0 64 64\">\
         <rect width=\"64\" height=\"64\" fill=\"#5b6ee1\"/>\
         <text x=\"32\" y=\"42\" font-size=\"32\" text-anchor=\"middle\" fill=\"#fff\">{initial}</text></svg>"
    );
    ([(CONTENT_TYPE, "image/svg+xml")], svg).into_response()
}

/// `GET /discord/api/users/@me`.
pub(super) async fn discord_me(State(ctx): State<FlavourCtx>, headers: HeaderMap) -> Response {
    let unauthorized = || (StatusCode::UNAUTHORIZED, Json(json!({ "message": "401: Unauthorized", "code": 0 })));
    let Some((grant, user)) = authenticate(&ctx, &headers) else {
        return unauthorized().into_response();
    };
    if !grant.has_scope("identify") {
        return unauthorized().into_response();
    }
    let mut body = json!({
        "id": user.id.to_string(),
        "username": user.login,
        "global_name": user.name,
        "avatar": null,
        "discriminator": "0",
    });
    if grant.has_scope("email") {
        body["email"] = json!(user.email);
        body["verified"] = json!(true);
    }
    Json(body).into_response()
}

/// `GET /google/userinfo`.
pub(super) async fn google_userinfo(State(ctx): State<FlavourCtx>, headers: HeaderMap) -> Response {
    let Some((grant, user)) = authenticate(&ctx, &headers) else {
        let challenge = [(WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")];
        let body = Json(json!({ "error": "invalid_token", "error_description": "Invalid Credentials" }));
        return (StatusCode::UNAUTHORIZED, challenge, body).into_response();
    };
    let mut body = json!({ "sub": user.id.to_string() });
    if grant.has_scope("email")
        && let Some(email) = &user.email
    {
        body["email"] = json!(email);
        body["email_verified"] = json!(true);
    }
    if grant.has_scope("profile") {
        body["name"] = json!(user.name);
    }
    Json(body).into_response()
}

/// `GET /google/.well-known/openid-configuration`.
pub(super) async fn google_configuration(State(ctx): State<FlavourCtx>) -> Response {
    let issuer = format!("{}/google", ctx.shared.base_url);
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["HS256"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "grant_types_supported": ["authorization_code"],
        "claims_supported": ["aud", "email", "email_verified", "exp", "iat", "iss", "name", "nonce", "sub"],
    }))
    .into_response()
}

/// `GET /google/jwks`: empty, because ID tokens are signed HS256 with the client secret.
pub(super) async fn google_jwks() -> Response {
    Json(json!({ "keys": [] })).into_response()
}

/// Why GitHub's API turns a request away.
enum GitHubRefusal {
    /// GitHub refuses requests without a `User-Agent` before it looks at credentials.
    NoUserAgent,
    /// No token, or not one GitHub issued.
    BadCredentials,
}

impl IntoResponse for GitHubRefusal {
    fn into_response(self) -> Response {
        match self {
            GitHubRefusal::NoUserAgent => {
                let message =
                    "Request forbidden by administrative rules. Please make sure your request has a User-Agent header.";
                (StatusCode::FORBIDDEN, Json(json!({ "message": message }))).into_response()
            }
            GitHubRefusal::BadCredentials => {
                (StatusCode::UNAUTHORIZED, Json(json!({ "message": "Bad credentials", "status": "401" })))
                    .into_response()
            }
        }
    }
}

fn github_authenticate(ctx: &FlavourCtx, headers: &HeaderMap) -> Result<(AccessGrant, User), GitHubRefusal> {
    if headers.get(USER_AGENT).is_none_or(|agent| agent.is_empty()) {
        return Err(GitHubRefusal::NoUserAgent);
    }
    authenticate(ctx, headers).ok_or(GitHubRefusal::BadCredentials)
}

/// The grant and user behind the request's access token, if it is one this flavour issued.
fn authenticate(ctx: &FlavourCtx, headers: &HeaderMap) -> Option<(AccessGrant, User)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let scheme_ok = scheme.eq_ignore_ascii_case("bearer")
        || (ctx.flavour == Flavour::GitHub && scheme.eq_ignore_ascii_case("token"));
    if !scheme_ok {
        return None;
    }
    let mut state = ctx.shared.lock();
    let grant = state.access_grant(token.trim()).filter(|grant| grant.flavour == ctx.flavour)?;
    let user = state.user(&grant.login).clone();
    Some((grant, user))
}
