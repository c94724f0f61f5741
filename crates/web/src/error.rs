//! One error type for every REST handler, rendered as RFC 9457 problem+json with a stable `code`.
//!
//! Clients get the code, a title and a safe detail; for server errors the cause goes to the log (with the request
//! id), never to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use omnisonic_domain::{FieldError, ValidationErrors};
use omnisonic_store::StoreError;
use serde::Serialize;

/// The body of a problem+json response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type; `https://omnisonic.dev/problems/{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short, human summary of the problem type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// A stable machine-readable code (`validation_failed`, `not_found`, …).
    pub code: String,
    /// Per-field errors, for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<FieldError>,
}

/// Every way a REST request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Fields are invalid; nothing was written.
    #[error("validation failed")]
    Validation(ValidationErrors),
    /// The body is not well-formed JSON.
    #[error("malformed body: {0}")]
    MalformedBody(String),
    /// The body is not of a type this endpoint accepts.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// The body is larger than this endpoint accepts.
    #[error("payload too large")]
    PayloadTooLarge,
    /// Nothing here.
    #[error("{0} not found")]
    NotFound(String),
    /// A unique key is taken.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request needs a signed-in user.
    #[error("sign-in required")]
    Unauthenticated,
    /// Signed in, but not allowed to do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A state-changing request without the session's CSRF token.
    #[error("CSRF token missing or wrong")]
    CsrfFailed,
    /// The method is not allowed on this path.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Over a rate limit; try again after this many seconds.
    #[error("too many requests: {detail}")]
    TooManyRequests {
        /// What the limit is.
        detail: String,
        /// Seconds until the next request can succeed (the `Retry-After` header).
        retry_after: u64,
    },
    /// The request is well-formed but its content cannot be processed (a file without the required columns).
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// A dependency (the database) is not available.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the cause is logged.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// `validation_failed` for one field.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        let mut errors = ValidationErrors::default();
        errors.add(field, reason);
        Self::Validation(errors)
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "Validation failed"),
            Self::MalformedBody(_) => (StatusCode::BAD_REQUEST, "malformed_body", "Malformed request body"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Unsupported media type")
            }
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "Payload too large"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", "Not found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            Self::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated", "Sign-in required"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            Self::CsrfFailed => (StatusCode::FORBIDDEN, "csrf_failed", "CSRF check failed"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable"),
            Self::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests"),
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", "Cannot process the content"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal server error"),
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let (status, code, title) = self.parts();
        let detail = match self {
            Self::Validation(errors) => errors.to_string(),
            Self::MalformedBody(d)
            | Self::UnsupportedMediaType(d)
            | Self::Conflict(d)
            | Self::Unavailable(d)
            | Self::Unprocessable(d)
            | Self::Forbidden(d) => d.clone(),
            Self::TooManyRequests { detail, retry_after } => format!("{detail}; try again in {retry_after} s"),
            Self::NotFound(what) => format!("{what} not found"),
            Self::PayloadTooLarge => "the request body exceeds this endpoint's limit".to_owned(),
            Self::MethodNotAllowed => "this method is not allowed on this resource".to_owned(),
            Self::Unauthenticated => {
                "sign in first: send the session cookie from /api/auth/callback/credentials or an OAuth sign-in, \
                 or a personal API token (/settings/tokens) as `Authorization: Bearer oms_…`"
                    .to_owned()
            }
            Self::CsrfFailed => {
                "state-changing requests need the session's CSRF token in the X-CSRF-Token header (GET /api/auth/csrf)"
                    .to_owned()
            }
            Self::Internal(_) => {
                "something went wrong on our side; the request id identifies it in our logs".to_owned()
            }
        };
        let errors = match self {
            Self::Validation(errors) => errors.0.clone(),
            _ => Vec::new(),
        };
        Problem {
            kind: format!("https://omnisonic.dev/problems/{code}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            code: code.to_owned(),
            errors,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { entity, id } => Self::NotFound(format!("{entity} {id}")),
            StoreError::Invalid(errors) => Self::Validation(errors),
            StoreError::Conflict { field, reason } => Self::Conflict(format!("{field} {reason}")),
            err @ StoreError::LicenseConflict { .. } => Self::Conflict(err.to_string()),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}

/// The one place an application error becomes a REST problem.
impl From<omnisonic_app::AppError> for ApiError {
    fn from(err: omnisonic_app::AppError) -> Self {
        use omnisonic_app::AppError;
        match err {
            AppError::Invalid(errors) => Self::Validation(errors),
            AppError::NotFound(what) => Self::NotFound(what),
            AppError::Forbidden(why) => Self::Forbidden(why),
            AppError::Conflict(why) => Self::Conflict(why),
            AppError::Unavailable { what, source } => Self::Unavailable(format!("{what}: {source}")),
            AppError::Store(err) => err.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(error = %cause, source = ?cause.source(), "request failed");
        }
        let problem = self.problem();
        let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(problem)).into_response();
        if let Self::TooManyRequests { retry_after, .. } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
        }
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        response
    }
}

/// The router's answer to a known path with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
