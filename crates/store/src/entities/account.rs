//! `accounts`: a provider identity (GitHub, Google, Discord) linked to a user (spec 1.1's `Account`).
//!
//! Provider access tokens are used once, during sign-in, and never stored.

use sea_orm::entity::prelude::*;

/// An account row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The user it signs in as.
    pub user_id: Uuid,
    /// `github`, `google` or `discord`.
    pub provider: String,
    /// The provider's stable id for the person (never the email).
    pub provider_account_id: String,
    /// When it was linked.
    pub created_at: DateTimeUtc,
}

/// Relations of an account.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The user.
    #[sea_orm(belongs_to = "super::user::Entity", from = "Column::UserId", to = "super::user::Column::Id")]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
