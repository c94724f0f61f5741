//! Typed GraphQL errors: every error carries a stable `extensions.code`, mapped from the same store errors as
//! the REST problem codes.

use async_graphql::{Error, ErrorExtensions};
use omnisonic_store::StoreError;

/// The stable codes clients can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The input is invalid; `extensions.errors` lists the fields.
    BadUserInput,
    /// The thing asked for does not exist.
    NotFound,
    /// A write collides with existing data.
    Conflict,
    /// The operation needs a signed-in user.
    Unauthenticated,
    /// Signed in, but not allowed.
    Forbidden,
    /// A connection tried to hold more subscriptions than allowed.
    TooManySubscriptions,
    /// Something failed on our side; details are in the server log.
    Internal,
}

impl ErrorCode {
    /// The code as it appears in `extensions.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict => "CONFLICT",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::TooManySubscriptions => "TOO_MANY_SUBSCRIPTIONS",
            Self::Internal => "INTERNAL",
        }
    }
}

/// An error with `code` and a message safe to show.
pub(crate) fn coded(code: ErrorCode, message: impl Into<String>) -> Error {
    Error::new(message).extend_with(|_, e| e.set("code", code.as_str()))
}

/// A bad-input error naming the field.
pub(crate) fn bad_input(field: &str, reason: impl std::fmt::Display) -> Error {
    let reason = reason.to_string();
    let field = field.to_owned();
    Error::new(format!("{field}: {reason}")).extend_with(move |_, e| {
        e.set("code", ErrorCode::BadUserInput.as_str());
        e.set("field", field.as_str());
    })
}

/// Maps a store error to a typed GraphQL error, logging what clients must not see.
pub(crate) fn from_store(err: StoreError) -> Error {
    match err {
        StoreError::NotFound { entity, id } => coded(ErrorCode::NotFound, format!("{entity} {id} not found")),
        StoreError::Invalid(errors) => {
            let message = errors.to_string();
            let list: Vec<async_graphql::Value> = errors
                .0
                .iter()
                .map(|e| {
                    let mut m = async_graphql::indexmap::IndexMap::new();
                    m.insert(async_graphql::Name::new("field"), async_graphql::Value::from(e.field.as_str()));
                    m.insert(async_graphql::Name::new("reason"), async_graphql::Value::from(e.reason.as_str()));
                    async_graphql::Value::Object(m)
                })
                .collect();
            Error::new(message).extend_with(move |_, e| {
                e.set("code", ErrorCode::BadUserInput.as_str());
                e.set("errors", async_graphql::Value::List(list.clone()));
            })
        }
        StoreError::Conflict { field, reason } => coded(ErrorCode::Conflict, format!("{field} {reason}")),
        StoreError::LicenseConflict { ids } => {
            let message = StoreError::LicenseConflict { ids: ids.clone() }.to_string();
            let list: Vec<async_graphql::Value> =
                ids.iter().map(|id| async_graphql::Value::from(id.to_string())).collect();
            Error::new(message).extend_with(move |_, e| {
                e.set("code", ErrorCode::Conflict.as_str());
                e.set("conflictingLicenseIds", async_graphql::Value::List(list.clone()));
            })
        }
        other => {
            tracing::error!(error = ?other, "store failure in a GraphQL resolver");
            coded(ErrorCode::Internal, "internal error")
        }
    }
}
