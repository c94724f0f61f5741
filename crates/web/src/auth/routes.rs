//! The sign-in routes, mounted under `/auth` and again under `/api/auth` (NextAuth's paths), plus `/account`.
//!
//! | route | does |
//! |---|---|
//! | `GET  signin` | sign-in page: provider buttons and, when on, the credentials form |
//! | `POST signin/{provider}` | starts an OAuth flow (CSRF-checked) and redirects to the provider |
//! | `GET  callback/{provider}` | the provider's redirect back: completes sign-in or account linking |
//! | `POST callback/credentials` | email + password sign-in (CSRF-checked, rate-limited) |
//! | `POST signin/email` | mails a one-time sign-in link (CSRF-checked, rate-limited) |
//! | `GET/POST callback/email` | the link's confirmation page / redeems it and signs in |
//! | `GET/POST signout` | confirm page / sign out (revokes the session server-side) |
//! | `GET  session` | JSON: who am I |
//! | `GET  csrf`, `GET providers` | JSON for scripted clients |

use super::oauth::Callback;
use super::viewer::{sign_in, sign_out};
use super::{AuthFailure, ProviderKind, Viewer, csrf};
use crate::AppState;
use crate::pages::{Chrome, render, render_allowing_form_targets};
use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use omnisonic_domain::account::{MAX_NAME_CHARS, normalize_email};
use omnisonic_store::StoreError;
use omnisonic_store::auth::{self as store, NewUser};
use omnisonic_store::entities::user;
use serde::Deserialize;
use serde_json::json;
use std::net::{IpAddr, SocketAddr};

/// Routes of sign-in, sign-out and the account page.
pub fn router() -> Router<AppState> {
    let routes = Router::new()
        .route("/signin", get(signin_page))
        .route("/signin/email", post(request_email_link))
        .route("/signin/{provider}", post(start_oauth))
        .route("/callback/credentials", post(credentials_sign_in))
        .route("/callback/email", get(confirm_email_link).post(redeem_email_link))
        .route("/callback/{provider}", get(oauth_callback))
        .route("/signout", get(signout_page).post(signout))
        .route("/session", get(session_json))
        .route("/csrf", get(csrf_json))
        .route("/providers", get(providers_json));
    Router::new().nest("/auth", routes.clone()).nest("/api/auth", routes).route("/account", get(account_page))
}

/// Where to go after signing in, when nobody said.
const DEFAULT_AFTER_SIGN_IN: &str = "/studio";

/// A local path to return to, or the default: never another origin (`//evil`, `https://…`, `/\evil`), and
/// nothing a browser would rewrite into one (tabs and newlines are dropped by URL parsers: `/\t/evil` is
/// `//evil` to them). The path is re-serialised from a parsed URL, so what goes into `Location` is canonical.
fn safe_callback(raw: Option<&str>) -> String {
    const LOCAL: &str = "http://omnisonic.invalid/";
    let candidate = raw.filter(|path| {
        path.starts_with('/')
            && !path.starts_with("//")
            && !path.contains('\\')
            && !path.chars().any(|c| c.is_control() || c.is_whitespace())
    });
    let parsed = candidate.and_then(|path| url::Url::parse(LOCAL).ok()?.join(path).ok());
    match parsed {
        // The check is on the normalised result, which is what the browser follows: `/.//evil.com` and
        // `/..//evil.com` pass every test above but normalise to `//evil.com`, which a browser reads as another host.
        Some(url)
            if url.scheme() == "http"
                && url.host_str() == Some("omnisonic.invalid")
                && url.port().is_none()
                && !url.path().starts_with("//") =>
        {
            match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_owned(),
            }
        }
        _ => DEFAULT_AFTER_SIGN_IN.to_owned(),
    }
}

fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_owned())]).into_response()
}

/// The client's address, from the connection (forwarded headers are not trusted).
pub(crate) struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        Ok(ClientIp(ip))
    }
}

struct ProviderButton {
    id: &'static str,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "auth/signin.html")]
struct SignInPage {
    chrome: Chrome,
    providers: Vec<ProviderButton>,
    credentials: bool,
    email_links: bool,
    callback_url: String,
    form_csrf: String,
    email: String,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct SignInQuery {
    #[serde(rename = "callbackUrl")]
    callback_url: Option<String>,
}

async fn sign_in_page_response(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    callback_url: String,
    email: String,
    error: Option<String>,
) -> Response {
    let form_csrf = match csrf::token(&viewer.session).await {
        Ok(token) => token,
        Err(err) => return crate::ApiError::Internal(Box::new(err)).into_response(),
    };
    let providers =
        state.auth.config.providers.iter().map(|p| ProviderButton { id: p.kind.id(), label: p.kind.label() }).collect();
    let page = SignInPage {
        chrome: Chrome::new("signin", viewer),
        providers,
        credentials: state.auth.config.credentials,
        email_links: state.auth.email_links_enabled(),
        callback_url,
        form_csrf,
        email,
        error,
    };
    render_allowing_form_targets(status, &page, &state.auth.config.provider_origins())
}

async fn signin_page(State(state): State<AppState>, viewer: Viewer, Query(query): Query<SignInQuery>) -> Response {
    let callback_url = safe_callback(query.callback_url.as_deref());
    sign_in_page_response(&state, &viewer, StatusCode::OK, callback_url, String::new(), None).await
}

fn failure_status(failure: &AuthFailure) -> StatusCode {
    match failure {
        AuthFailure::InvalidCredentials => StatusCode::UNAUTHORIZED,
        AuthFailure::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        AuthFailure::Disabled | AuthFailure::CredentialsDisabled | AuthFailure::EmailLinksDisabled => {
            StatusCode::FORBIDDEN
        }
        AuthFailure::InvalidEmail => StatusCode::UNPROCESSABLE_ENTITY,
        AuthFailure::LinkExpired => StatusCode::BAD_REQUEST,
        AuthFailure::MailFailed(_) => StatusCode::SERVICE_UNAVAILABLE,
        AuthFailure::EmailTaken(_) | AuthFailure::LinkedElsewhere(_) => StatusCode::CONFLICT,
        AuthFailure::Session(_) | AuthFailure::Store(_) | AuthFailure::Internal(_) => StatusCode::SERVICE_UNAVAILABLE,
        AuthFailure::OAuth(_) => StatusCode::BAD_REQUEST,
    }
}

/// The sign-in page again, with what went wrong; `429`s carry `Retry-After`.
async fn failure_page(state: &AppState, viewer: &Viewer, failure: AuthFailure, email: String) -> Response {
    match &failure {
        AuthFailure::Session(_) | AuthFailure::Store(_) | AuthFailure::Internal(_) | AuthFailure::MailFailed(_) => {
            tracing::error!(error = ?failure, "sign-in failed");
        }
        AuthFailure::OAuth(err) => {
            tracing::warn!(error = %err, source = ?std::error::Error::source(err), "OAuth sign-in refused")
        }
        other => tracing::info!(reason = %other, "sign-in refused"),
    }
    let status = failure_status(&failure);
    let retry_after = match &failure {
        AuthFailure::RateLimited(wait) => Some(wait.as_secs().max(1)),
        _ => None,
    };
    let mut response = sign_in_page_response(
        state,
        viewer,
        status,
        DEFAULT_AFTER_SIGN_IN.to_owned(),
        email,
        Some(failure.to_string()),
    )
    .await;
    if let Some(secs) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

#[derive(Debug, Default, Deserialize)]
struct StartForm {
    #[serde(rename = "callbackUrl")]
    callback_url: Option<String>,
    /// `1` when a signed-in user links this provider to their account.
    #[serde(default)]
    link: Option<String>,
}

async fn start_oauth(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(provider): Path<String>,
    Form(form): Form<StartForm>,
) -> Response {
    let Some(kind) = ProviderKind::from_id(&provider) else {
        return crate::ApiError::NotFound(format!("sign-in provider {provider}")).into_response();
    };
    let link_to = viewer.user_id().filter(|_| form.link.as_deref() == Some("1"));
    let callback_url =
        if link_to.is_some() { "/account".to_owned() } else { safe_callback(form.callback_url.as_deref()) };
    match state.auth.start(&viewer.session, kind, callback_url, link_to).await {
        Ok(url) => see_other(&url),
        Err(failure) => failure_page(&state, &viewer, failure, String::new()).await,
    }
}

async fn oauth_callback(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(provider): Path<String>,
    Query(callback): Query<Callback>,
) -> Response {
    let Some(kind) = ProviderKind::from_id(&provider) else {
        return crate::ApiError::NotFound(format!("sign-in provider {provider}")).into_response();
    };
    match complete_oauth(&state, &viewer, kind, &callback).await {
        Ok(location) => see_other(&location),
        Err(failure) => failure_page(&state, &viewer, failure, String::new()).await,
    }
}

async fn complete_oauth(
    state: &AppState,
    viewer: &Viewer,
    kind: ProviderKind,
    callback: &Callback,
) -> Result<String, AuthFailure> {
    let (profile, pending) = state.auth.finish(&viewer.session, kind, callback).await?;
    let existing = store::user_for_account(&state.db, kind.id(), &profile.account_id).await?;
    if let Some(link_to) = pending.link_to {
        // Linking: only for the user who started it, still signed in.
        if viewer.user_id() != Some(link_to) {
            return Err(super::oauth::OAuthError::NoPendingSignIn.into());
        }
        match existing {
            Some(user) if user.id == link_to => {}
            Some(_) => return Err(AuthFailure::LinkedElsewhere(kind.label())),
            None => store::link_account(&state.db, link_to, kind.id(), &profile.account_id).await?,
        }
        tracing::info!(user_id = %link_to, provider = kind.id(), "provider linked");
        return Ok(pending.callback_url);
    }
    let user = match existing {
        Some(user) => user,
        None => {
            // Stored like every other address (trimmed, lower-cased), or not at all, so lookups by email agree.
            let email = profile.email.as_deref().and_then(|e| normalize_email(e).ok());
            let new = NewUser {
                email_verified: email.is_some(),
                email,
                name: profile.name.map(|n| n.trim().chars().take(MAX_NAME_CHARS).collect()),
                image: profile.image.filter(|url| url.len() <= 2048),
                password_hash: None,
            };
            match store::create_user_with_account(&state.db, new, kind.id(), &profile.account_id).await {
                Ok(user) => user,
                Err(StoreError::Conflict { field, .. }) if field == "email" => {
                    return Err(AuthFailure::EmailTaken(kind.label()));
                }
                Err(err) => return Err(err.into()),
            }
        }
    };
    finish_sign_in(viewer, &user).await?;
    Ok(pending.callback_url)
}

async fn finish_sign_in(viewer: &Viewer, user: &user::Model) -> Result<(), AuthFailure> {
    if user.disabled_at.is_some() {
        return Err(AuthFailure::Disabled);
    }
    sign_in(&viewer.session, user).await?;
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
struct CredentialsForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(rename = "callbackUrl")]
    callback_url: Option<String>,
}

async fn credentials_sign_in(
    State(state): State<AppState>,
    viewer: Viewer,
    ClientIp(ip): ClientIp,
    Form(form): Form<CredentialsForm>,
) -> Response {
    let checked = state.auth.check_credentials(&state.db, ip, &form.email, &form.password).await;
    let result = match checked {
        Ok(user) => finish_sign_in(&viewer, &user).await,
        Err(failure) => Err(failure),
    };
    match result {
        Ok(()) => see_other(&safe_callback(form.callback_url.as_deref())),
        Err(failure) => failure_page(&state, &viewer, failure, form.email.trim().to_owned()).await,
    }
}

#[derive(Debug, Default, Deserialize)]
struct EmailLinkForm {
    #[serde(default)]
    email: String,
    #[serde(rename = "callbackUrl")]
    callback_url: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/check_email.html")]
struct CheckEmailPage {
    chrome: Chrome,
    email: String,
}

async fn request_email_link(
    State(state): State<AppState>,
    viewer: Viewer,
    ClientIp(ip): ClientIp,
    Form(form): Form<EmailLinkForm>,
) -> Response {
    let callback_url = safe_callback(form.callback_url.as_deref());
    match state.auth.send_sign_in_link(&state.db, ip, &form.email, &callback_url).await {
        // The same answer whether or not the address has an account.
        Ok(()) => render(
            StatusCode::OK,
            &CheckEmailPage { chrome: Chrome::new("signin", &viewer), email: form.email.trim().to_lowercase() },
        ),
        Err(failure) => failure_page(&state, &viewer, failure, form.email.trim().to_owned()).await,
    }
}

#[derive(Debug, Default, Deserialize)]
struct EmailLinkQuery {
    #[serde(default)]
    token: String,
    #[serde(rename = "callbackUrl")]
    callback_url: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/confirm_email.html")]
struct ConfirmEmailPage {
    chrome: Chrome,
    form_csrf: String,
    token: String,
    callback_url: String,
}

async fn confirm_email_link(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<EmailLinkQuery>,
) -> Response {
    if query.token.is_empty() {
        return failure_page(&state, &viewer, AuthFailure::LinkExpired, String::new()).await;
    }
    let form_csrf = match csrf::token(&viewer.session).await {
        Ok(token) => token,
        Err(err) => return crate::ApiError::Internal(Box::new(err)).into_response(),
    };
    let mut response = render(
        StatusCode::OK,
        &ConfirmEmailPage {
            chrome: Chrome::new("signin", &viewer),
            form_csrf,
            token: query.token,
            callback_url: safe_callback(query.callback_url.as_deref()),
        },
    );
    // The page carries the token: keep it out of caches and of other sites' Referer headers.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

async fn redeem_email_link(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<EmailLinkQuery>,
) -> Response {
    let result = match state.auth.redeem_sign_in_link(&state.db, &form.token).await {
        Ok(user) => finish_sign_in(&viewer, &user).await,
        Err(failure) => Err(failure),
    };
    match result {
        Ok(()) => see_other(&safe_callback(form.callback_url.as_deref())),
        Err(failure) => failure_page(&state, &viewer, failure, String::new()).await,
    }
}

#[derive(Template)]
#[template(path = "auth/signout.html")]
struct SignOutPage {
    chrome: Chrome,
}

async fn signout_page(viewer: Viewer) -> Response {
    render(StatusCode::OK, &SignOutPage { chrome: Chrome::new("", &viewer) })
}

async fn signout(State(state): State<AppState>, viewer: Viewer) -> Response {
    if let Some(signed_in) = &viewer.signed_in {
        tracing::info!(user_id = %signed_in.user.id, "signed out");
    }
    match sign_out(&viewer.session).await {
        Ok(()) => {
            // The session row is gone; the sockets opened with it close as soon as they hear of it.
            if let Some(signed_in) = &viewer.signed_in {
                omnisonic_app::accounts::announce_sign_in_ended(&state.app.pubsub, signed_in.user.id).await;
            }
            see_other("/")
        }
        Err(err) => err.into_response(),
    }
}

async fn session_json(viewer: Viewer) -> Response {
    let body = match &viewer.signed_in {
        Some(s) => json!({
            "user": {"id": s.user.id, "name": s.user.name, "email": s.user.email, "image": s.user.image},
            "expires": viewer.session.expiry_date().format(&time::format_description::well_known::Rfc3339).ok(),
        }),
        None => json!({ "user": null, "expires": null }),
    };
    let mut response = Json(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn csrf_json(viewer: Viewer) -> Response {
    match csrf::token(&viewer.session).await {
        Ok(token) => {
            let mut response = Json(json!({ "csrfToken": token })).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(err) => crate::ApiError::Internal(Box::new(err)).into_response(),
    }
}

async fn providers_json(State(state): State<AppState>) -> Json<serde_json::Value> {
    let mut providers = serde_json::Map::new();
    for p in &state.auth.config.providers {
        providers.insert(
            p.kind.id().to_owned(),
            json!({
                "id": p.kind.id(), "name": p.kind.label(), "type": "oauth",
                "signinUrl": format!("/auth/signin/{}", p.kind.id()),
                "callbackUrl": state.auth.config.callback_url(p.kind),
            }),
        );
    }
    if state.auth.email_links_enabled() {
        providers.insert(
            "email".to_owned(),
            json!({"id": "email", "name": "Email link", "type": "email",
                   "signinUrl": "/auth/signin/email", "callbackUrl": "/auth/callback/email"}),
        );
    }
    if state.auth.config.credentials {
        providers.insert(
            "credentials".to_owned(),
            json!({"id": "credentials", "name": "Email and password", "type": "credentials",
                   "signinUrl": "/auth/signin", "callbackUrl": "/auth/callback/credentials"}),
        );
    }
    Json(serde_json::Value::Object(providers))
}

struct LinkedProvider {
    id: &'static str,
    label: &'static str,
    linked: bool,
}

#[derive(Template)]
#[template(path = "auth/account.html")]
struct AccountPage {
    chrome: Chrome,
    name: String,
    email: String,
    providers: Vec<LinkedProvider>,
    has_password: bool,
}

async fn account_page(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> Response {
    let signed_in = match viewer.require_page(&uri) {
        Ok(s) => s.clone(),
        Err(redirect) => return redirect,
    };
    let accounts = match store::accounts_of(&state.db, signed_in.user.id).await {
        Ok(accounts) => accounts,
        Err(err) => return crate::ApiError::from(err).into_response(),
    };
    let providers = state
        .auth
        .config
        .providers
        .iter()
        .map(|p| LinkedProvider {
            id: p.kind.id(),
            label: p.kind.label(),
            linked: accounts.iter().any(|a| a.provider == p.kind.id()),
        })
        .collect();
    let page = AccountPage {
        chrome: Chrome::new("account", &viewer),
        name: signed_in.display_name(),
        email: signed_in.user.email.clone().unwrap_or_default(),
        providers,
        has_password: signed_in.user.password_hash.is_some(),
    };
    render_allowing_form_targets(StatusCode::OK, &page, &state.auth.config.provider_origins())
}

#[cfg(test)]
mod tests {
    use super::{DEFAULT_AFTER_SIGN_IN, safe_callback};

    #[test]
    fn callbacks_stay_on_this_site_after_normalisation() {
        assert_eq!(safe_callback(Some("/studio?x=1")), "/studio?x=1");
        assert_eq!(safe_callback(Some("/a/../b")), "/b");
        for hostile in
            ["/.//evil.com", "/..//evil.com", "/./..//evil.com/x", "//evil.com", "/\\evil.com", "https://evil.com"]
        {
            assert_eq!(safe_callback(Some(hostile)), DEFAULT_AFTER_SIGN_IN, "{hostile}");
        }
    }
}
