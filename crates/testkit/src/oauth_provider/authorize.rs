//! The authorization endpoint: validates the request like the real providers, then approves or denies it (at once
//! when a test set a one-shot decision, otherwise through a small sign-in form) and redirects back with a code.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{CACHE_CONTROL, LOCATION};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use url::Url;

use super::FlavourCtx;
use super::flavour::Flavour;
use super::params::Params;
use super::state::{CodeGrant, NextDecision};

/// `GET …/authorize`: the browser arrives from the app.
pub(super) async fn show(State(ctx): State<FlavourCtx>, RawQuery(query): RawQuery) -> Response {
    let params = match Params::parse(query.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(problem) => return error_page(ctx.flavour, &problem),
    };
    let request = match AuthorizeRequest::validate(&ctx, params) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(ctx.flavour),
    };
    let next = ctx.shared.lock().next_decision.take();
    match next {
        Some(NextDecision::Approve(login)) => approve(&ctx, &request, &login),
        Some(NextDecision::Deny) => deny(&request),
        None => login_page(ctx.flavour, &request, None, StatusCode::OK),
    }
}

/// `POST …/authorize`: the sign-in form comes back with the original parameters, `login` and `decision`.
pub(super) async fn decide(State(ctx): State<FlavourCtx>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match Params::from_form(&headers, &body) {
        Ok(form) => form,
        Err(problem) => return error_page(ctx.flavour, &problem),
    };
    let request = match AuthorizeRequest::validate(&ctx, form.without(&["login", "decision"])) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(ctx.flavour),
    };
    match form.get("decision") {
        Some("deny") => deny(&request),
        Some("approve") => match form.get("login").map(str::trim) {
            Some(login) if is_valid_login(login) => approve(&ctx, &request, login),
            _ => login_page(
                ctx.flavour,
                &request,
                Some("Enter a username of up to 39 letters, digits, '-', '_' or '.'."),
                StatusCode::BAD_REQUEST,
            ),
        },
        _ => error_page(ctx.flavour, "`decision` must be `approve` or `deny`"),
    }
}

/// An authorization request that passed every check.
struct AuthorizeRequest {
    /// Everything that was sent, carried through the sign-in form as hidden inputs.
    params: Params,
    client_id: String,
    /// Parsed, to append the response parameters to.
    redirect_uri: Url,
    /// As sent: the token request must repeat exactly this string.
    raw_redirect_uri: String,
    state: String,
    scopes: Vec<String>,
    code_challenge: Option<String>,
    nonce: Option<String>,
}

/// Why an authorization request is refused, and how the refusal reaches the user.
enum Refusal {
    /// The client or its redirect URI cannot be trusted: an error page, never a redirect (RFC 6749 §4.1.2.1).
    Page(String),
    /// Anything else goes back to the client with `error`, `error_description` and `state`.
    Redirect { redirect_uri: Url, state: String, error: &'static str, description: String },
}

impl Refusal {
    fn page(problem: impl Into<String>) -> Box<Self> {
        Box::new(Refusal::Page(problem.into()))
    }

    fn into_response(self, flavour: Flavour) -> Response {
        match self {
            Refusal::Page(problem) => error_page(flavour, &problem),
            Refusal::Redirect { redirect_uri, state, error, description } => {
                tracing::info!(provider = flavour.display_name(), error, %description, "authorization refused");
                redirect_with(redirect_uri, &[("error", error), ("error_description", &description), ("state", &state)])
            }
        }
    }
}

impl AuthorizeRequest {
    fn validate(ctx: &FlavourCtx, params: Params) -> Result<Self, Box<Refusal>> {
        let flavour = ctx.flavour;
        let client_id = match params.get("client_id") {
            None => return Err(Refusal::page("The request has no `client_id`.")),
            Some(id) if id != ctx.shared.client.client_id => {
                return Err(Refusal::page(format!("Unknown client_id `{id}`: no application is registered under it.")));
            }
            Some(id) => id.to_owned(),
        };
        let raw_redirect_uri =
            params.get("redirect_uri").ok_or_else(|| Refusal::page("The request has no `redirect_uri`."))?;
        let redirect_uri = Url::parse(raw_redirect_uri)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.fragment().is_none())
            .ok_or_else(|| {
                Refusal::page(format!(
                    "redirect_uri `{raw_redirect_uri}` is not an absolute http(s) URL without a fragment."
                ))
            })?;
        let state = params
            .get("state")
            .ok_or_else(|| Refusal::page("The request has no `state`: it must carry one against CSRF."))?
            .to_owned();

        let refuse = |error: &'static str, description: &str| {
            Box::new(Refusal::Redirect {
                redirect_uri: redirect_uri.clone(),
                state: state.clone(),
                error,
                description: description.to_owned(),
            })
        };

        if flavour.requires_response_type() {
            match params.get("response_type") {
                None => return Err(refuse("invalid_request", "response_type is required")),
                Some("code") => {}
                Some(_) => return Err(refuse("unsupported_response_type", "only response_type=code is supported")),
            }
        }

        let code_challenge = match (params.get("code_challenge"), params.get("code_challenge_method")) {
            (None, None) => None,
            (_, Some(method)) if method != "S256" => {
                return Err(refuse("invalid_request", "code_challenge_method must be S256"));
            }
            (None, Some(_)) => return Err(refuse("invalid_request", "code_challenge_method without code_challenge")),
            (Some(_), None) => {
                return Err(refuse("invalid_request", "code_challenge_method is required (only S256 is supported)"));
            }
            (Some(challenge), Some(_)) if !is_s256_challenge(challenge) => {
                return Err(refuse(
                    "invalid_request",
                    "code_challenge must be BASE64URL-NOPAD(SHA256(code_verifier)): 43 characters",
                ));
            }
            (Some(challenge), Some(_)) => Some(challenge.to_owned()),
        };

        let scopes = flavour.parse_scopes(params.get("scope").unwrap_or(""));
        match flavour {
            Flavour::GitHub => {}
            Flavour::Discord if scopes.is_empty() => return Err(refuse("invalid_scope", "scope is required")),
            Flavour::Discord => {}
            Flavour::Google if !scopes.iter().any(|s| s == "openid") => {
                return Err(refuse("invalid_scope", "scope must include openid"));
            }
            Flavour::Google => {}
        }

        let nonce = params.get("nonce").map(str::to_owned);
        if flavour == Flavour::Google && nonce.is_none() {
            return Err(refuse("invalid_request", "nonce is required"));
        }

        let raw_redirect_uri = raw_redirect_uri.to_owned();
        Ok(Self { params, client_id, redirect_uri, raw_redirect_uri, state, scopes, code_challenge, nonce })
    }
}

/// An S256 challenge is a SHA-256 digest in base64url without padding: exactly 43 characters of that alphabet.
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Logins look like GitHub's: short, and safe to put in an email address and a URL.
fn is_valid_login(login: &str) -> bool {
    (1..=39).contains(&login.len())
        && login.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn approve(ctx: &FlavourCtx, request: &AuthorizeRequest, login: &str) -> Response {
    let code = {
        let mut state = ctx.shared.lock();
        state.user(login);
        state.issue_code(CodeGrant {
            flavour: ctx.flavour,
            client_id: request.client_id.clone(),
            redirect_uri: request.raw_redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            nonce: request.nonce.clone(),
            scopes: request.scopes.clone(),
            login: login.to_owned(),
            issued_at: Instant::now(),
        })
    };
    redirect_with(request.redirect_uri.clone(), &[("code", &code), ("state", &request.state)])
}

fn deny(request: &AuthorizeRequest) -> Response {
    redirect_with(
        request.redirect_uri.clone(),
        &[("error", "access_denied"), ("error_description", "The user denied the request."), ("state", &request.state)],
    )
}

/// `303 See Other` to `url` with `params` appended to its query (its own query parameters are kept).
fn redirect_with(mut url: Url, params: &[(&str, &str)]) -> Response {
    url.query_pairs_mut().extend_pairs(params);
    (StatusCode::SEE_OTHER, [(LOCATION, url.to_string()), (CACHE_CONTROL, "no-store".to_owned())]).into_response()
}

fn login_page(flavour: Flavour, request: &AuthorizeRequest, problem: Option<&str>, status: StatusCode) -> Response {
    let title = format!("Test {} sign-in", flavour.display_name());
    let hidden: String = request
        .params
        .pairs()
        .map(|(name, value)| {
            format!("      <input type=\"hidden\" name=\"{}\" value=\"{}\">\n", escape(name), escape(value))
        })
        .collect();
    let problem = problem.map(|p| format!("    <p role=\"alert\">{}</p>\n", escape(p))).unwrap_or_default();
    let scope = if request.scopes.is_empty() { "none".to_owned() } else { request.scopes.join(" ") };
    let action = format!("{}{}", flavour.prefix(), flavour.authorize_path());
    let body = format!(
        "<!doctype html>
<html lang=\"en\">
<head><meta charset=\"utf-8\"><title>{title}</title></head>
<body>
  <main>
    <h1>{title}</h1>
    <p>The application <code>{client_id}</code> asks to sign you in (scope: {scope}).</p>
{problem}    <form method=\"post\" action=\"{action}\">
{hidden}      <label for=\"login\">Username</label>
      <input id=\"login\" name=\"login\" required autocomplete=\"username\" autofocus>
      <button type=\"submit\" name=\"decision\" value=\"approve\">Authorize</button>
      <button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Cancel</button>
    </form>
  </main>
</body>
</html>
",
        title = escape(&title),
        client_id = escape(&request.client_id),
        scope = escape(&scope),
    );
    (status, [(CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

/// A 400 page for requests that must not be redirected back (unknown client, missing or bad `redirect_uri`, …).
fn error_page(flavour: Flavour, problem: &str) -> Response {
    tracing::info!(provider = flavour.display_name(), problem, "authorization request rejected with an error page");
    let title = format!("Test {} sign-in: error", flavour.display_name());
    let body = format!(
        "<!doctype html>
<html lang=\"en\">
<head><meta charset=\"utf-8\"><title>{title}</title></head>
<body><main><h1>{title}</h1><p>{problem}</p></main></body>
</html>
",
        title = escape(&title),
        problem = escape(problem),
    );
    (StatusCode::BAD_REQUEST, Html(body)).into_response()
}

/// Escapes text for HTML element content and double-quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
