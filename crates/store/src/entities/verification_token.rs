//! `verification_tokens`: one-time email sign-in links (spec 1.1's `VerificationToken`). Only a hash is stored.

use sea_orm::entity::prelude::*;

/// A verification token row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "verification_tokens")]
pub struct Model {
    /// Hex SHA-256 of the token sent by email.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    /// The email address it was sent to (lower-cased).
    pub identifier: String,
    /// When the link stops working.
    pub expires_at: DateTimeUtc,
    /// When it was issued.
    pub created_at: DateTimeUtc,
}

/// Verification tokens relate to nothing the store navigates.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
