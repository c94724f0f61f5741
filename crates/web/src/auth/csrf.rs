//! CSRF protection: a synchronizer token per session, required on every state-changing request that a browser
//! could be tricked into sending with our cookie.
//!
//! The token comes in the `X-CSRF-Token` header (htmx and scripts; `hx-headers` on `<body>` sets it) or as the
//! `csrf_token` field of a urlencoded form (plain forms without JavaScript). It is required when the session is
//! signed in — that is the ambient authority a forged request would borrow — and on the sign-in endpoints
//! themselves, so nobody can be signed in to an attacker's account (login CSRF). Anonymous requests elsewhere
//! carry no authority and pass.

use super::keys;
use crate::ApiError;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderName, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

/// The header scripts send the token in.
pub const HEADER: HeaderName = HeaderName::from_static("x-csrf-token");

/// The form field plain forms send the token in.
pub const FIELD: &str = "csrf_token";

/// Largest urlencoded body the check will read to find the token (forms here are a few hundred bytes).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// A fresh random token (256 bits).
pub fn new_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The session's token, created (and the session with it) when there is none yet.
pub async fn token(session: &Session) -> Result<String, tower_sessions::session::Error> {
    if let Some(token) = session.get::<String>(keys::CSRF).await? {
        return Ok(token);
    }
    let token = new_token();
    session.insert(keys::CSRF, &token).await?;
    Ok(token)
}

fn is_sign_in_endpoint(path: &str) -> bool {
    let rest = path.strip_prefix("/api").unwrap_or(path);
    rest.starts_with("/auth/signin") || rest.starts_with("/auth/callback")
}

/// Middleware: rejects a state-changing request whose token is missing or wrong with `403`.
pub async fn verify(session: Session, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let stored = async {
        let signed_in = session.get::<uuid::Uuid>(keys::USER).await?.is_some();
        Ok::<_, tower_sessions::session::Error>((signed_in, session.get::<String>(keys::CSRF).await?))
    };
    let (signed_in, expected) = match stored.await {
        Ok(found) => found,
        Err(err) => return ApiError::Internal(Box::new(err)).into_response(),
    };
    // Signed part URLs are capabilities on their own (and a cross-site PUT needs a CORS preflight we never grant).
    // A request with one of our API tokens borrows no ambient authority (a browser never attaches a bearer token
    // by itself), and the Viewer then uses the token alone, never the cookie. Other `Authorization` headers (a
    // proxy's cached Basic credentials, which browsers do resend) get no such pass.
    if request.uri().path().starts_with("/api/files/") || super::tokens::from_headers(request.headers()).is_some() {
        return next.run(request).await;
    }
    if !signed_in && !is_sign_in_endpoint(request.uri().path()) {
        return next.run(request).await;
    }
    let Some(expected) = expected else {
        return rejection(&request);
    };
    let (request, provided) = match provided_token(request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let matches = provided.is_some_and(|p| bool::from(p.as_bytes().ct_eq(expected.as_bytes())));
    if matches { next.run(request).await } else { rejection(&request) }
}

/// The token from the header, else from a urlencoded body (which is read, bounded, and put back).
async fn provided_token(request: Request) -> Result<(Request, Option<String>), Response> {
    if let Some(value) = request.headers().get(&HEADER) {
        let token = value.to_str().ok().map(str::to_owned);
        return Ok((request, token));
    }
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    if content_type.starts_with("multipart/form-data") {
        return Ok(multipart_token(request, &content_type).await);
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Ok((request, None));
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| ApiError::PayloadTooLarge.into_response())?;
    let token = url::form_urlencoded::parse(&bytes).find(|(k, _)| k == FIELD).map(|(_, v)| v.into_owned());
    Ok((Request::from_parts(parts, Body::from(bytes)), token))
}

/// The token from a `multipart/form-data` body whose first part is the `csrf_token` field (our upload forms put
/// it first). Only the bytes up to the end of that part are read (at most [`MAX_FORM_BYTES`]); they are put back
/// in front of the rest of the body, which streams on unread, so a 100 MB file is never buffered for this check.
async fn multipart_token(request: Request, content_type: &str) -> (Request, Option<String>) {
    use futures::StreamExt;
    let Some(boundary) = content_type.split(';').find_map(|p| p.trim().strip_prefix("boundary=")) else {
        return (request, None);
    };
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let (parts, body) = request.into_parts();
    let mut stream = body.into_data_stream();
    let mut head = bytes::BytesMut::new();
    let mut token = None;
    let mut failed = None;
    loop {
        match first_part_token(&head, &delimiter) {
            FirstPart::Token(found) => {
                token = Some(found);
                break;
            }
            FirstPart::Other => break,
            FirstPart::Incomplete if head.len() > MAX_FORM_BYTES => break,
            FirstPart::Incomplete => match stream.next().await {
                Some(Ok(chunk)) => head.extend_from_slice(&chunk),
                Some(Err(err)) => {
                    failed = Some(err);
                    break;
                }
                None => break,
            },
        }
    }
    let front = futures::stream::once(futures::future::ready(Ok::<_, axum::Error>(head.freeze())));
    let rest: futures::stream::BoxStream<'static, Result<bytes::Bytes, axum::Error>> = match failed {
        Some(err) => futures::stream::once(futures::future::ready(Err(err))).boxed(),
        None => stream.boxed(),
    };
    (Request::from_parts(parts, Body::from_stream(front.chain(rest))), token)
}

enum FirstPart {
    Token(String),
    Other,
    Incomplete,
}

fn first_part_token(head: &[u8], delimiter: &str) -> FirstPart {
    let Ok(text) = std::str::from_utf8(head).or_else(|e| std::str::from_utf8(&head[..e.valid_up_to()])) else {
        return FirstPart::Other;
    };
    let Some(start) = text.find(delimiter) else { return FirstPart::Incomplete };
    let after = &text[start + delimiter.len()..];
    let Some(headers_end) = after.find("\r\n\r\n") else { return FirstPart::Incomplete };
    let headers = &after[..headers_end];
    if !headers.to_ascii_lowercase().contains(&format!("name=\"{FIELD}\"")) {
        return FirstPart::Other;
    }
    let value = &after[headers_end + 4..];
    match value.find(&format!("\r\n{delimiter}")) {
        Some(end) => FirstPart::Token(value[..end].to_owned()),
        None => FirstPart::Incomplete,
    }
}

fn rejection(request: &Request) -> Response {
    tracing::warn!(path = %request.uri().path(), "CSRF token missing or wrong");
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html {
        let body = "<!doctype html><title>Form expired · Omnisonic</title><h1>This form has expired</h1>\
            <p>For your security the form could not be sent. Go back, reload the page and try again.</p>";
        return (StatusCode::FORBIDDEN, Html(body)).into_response();
    }
    ApiError::CsrfFailed.into_response()
}

/// Whether a token a client sent is the session's, compared in constant time.
pub(crate) fn tokens_match(expected: &str, provided: &str) -> bool {
    bool::from(provided.as_bytes().ct_eq(expected.as_bytes()))
}
