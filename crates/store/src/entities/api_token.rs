//! `api_tokens`: personal API tokens for machine clients. Only the SHA-256 of a token is stored.

use sea_orm::entity::prelude::*;

/// An API token row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Whose token it is: requests with it act as this user.
    pub user_id: Uuid,
    /// The owner's label for it ("CI importer").
    pub name: String,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// The token's first characters, to recognise it in a list.
    pub prefix: String,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// When it was last used (to the minute).
    pub last_used_at: Option<DateTimeUtc>,
    /// When it was revoked; a revoked token signs nobody in.
    pub revoked_at: Option<DateTimeUtc>,
}

/// Relations: none navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
