//! The one error type of use-cases. Each transport maps it once: REST to problem+json codes, GraphQL to
//! `extensions.code`, pages to their status pages, the CLI to a message and a non-zero exit.

use omnisonic_domain::ValidationErrors;
use omnisonic_store::StoreError;

/// Why a use-case did not happen. Nothing was changed unless the variant says otherwise.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input breaks a rule; each field is named.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The caller may not do this (not the owner, wrong role).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The state does not allow it now (not finished yet, already taken).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A service the use-case needs is down; trying again later may work.
    #[error("unavailable: {what}")]
    Unavailable {
        /// What could not be reached, for clients ("the job queue").
        what: String,
        /// The cause, for logs.
        #[source]
        source: omnisonic_platform::BoxError,
    },
    /// The store failed or refused (its own variants carry not-found, conflicts and validation).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppError {
    /// One invalid field.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        let mut errors = ValidationErrors::default();
        errors.add(field, reason);
        Self::Invalid(errors)
    }
}

impl From<ValidationErrors> for AppError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Invalid(errors)
    }
}
