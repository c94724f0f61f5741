//! The store's error type.

use omnisonic_domain::ValidationErrors;
use sea_orm::{DbErr, SqlErr};

/// What can go wrong in a store call.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names a backend this build does not support.
    #[error("unsupported database URL scheme {scheme:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedScheme {
        /// The scheme found in the URL.
        scheme: String,
    },
    /// The row asked for does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// What was looked for (`work`, `recording`, …).
        entity: &'static str,
        /// The identifier as given.
        id: String,
    },
    /// The input breaks a rule; nothing was written.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// The write collides with existing data (a unique key); nothing was written.
    #[error("conflict on {field}: {reason}")]
    Conflict {
        /// The field that collides.
        field: String,
        /// Why.
        reason: String,
    },
    /// An active license would overlap these active licenses of the same work, territory and right.
    #[error("the license overlaps active license(s) {}", .ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    LicenseConflict {
        /// The licenses it collides with.
        ids: Vec<uuid::Uuid>,
    },
    /// The database failed; details are for logs, not clients.
    #[error("database error")]
    Database(#[source] DbErr),
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        // sea-orm recognises the violation by its code (SQLSTATE 23505; SQLite's extended codes 1555/2067).
        if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
            let field = unique_key(&err).map_or("id", conflicting_field);
            return StoreError::Conflict { field: field.to_owned(), reason: "is already taken".to_owned() };
        }
        StoreError::Database(err)
    }
}

/// The key a unique violation names: PostgreSQL reports the constraint (`recordings_isrc_key`,
/// `idx-users-email`); SQLite only its message, `UNIQUE constraint failed: recordings.isrc`, whose columns are
/// the key.
fn unique_key(err: &DbErr) -> Option<String> {
    let (DbErr::Exec(sea_orm::RuntimeErr::SqlxError(sqlx)) | DbErr::Query(sea_orm::RuntimeErr::SqlxError(sqlx))) = err
    else {
        return None;
    };
    let database = sqlx.as_database_error()?;
    if let Some(constraint) = database.constraint() {
        return Some(constraint.to_owned());
    }
    database.message().strip_prefix("UNIQUE constraint failed: ").map(str::to_owned)
}

/// The field clients are told about for a unique key's name.
fn conflicting_field(key: String) -> &'static str {
    ["isrc", "iswc", "email", "provider", "url", "alias"].into_iter().find(|f| key.contains(f)).unwrap_or("id")
}

impl From<ValidationErrors> for StoreError {
    fn from(errors: ValidationErrors) -> Self {
        StoreError::Invalid(errors)
    }
}
