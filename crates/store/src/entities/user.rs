//! `users`: a person who signs in (spec 1.1's `User`).

use sea_orm::entity::prelude::*;

/// A user row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Lower-cased email address; unique when present.
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL from the provider.
    pub image: Option<String>,
    /// When the email address was proven (provider said verified, or an email link was used).
    pub email_verified_at: Option<DateTimeUtc>,
    /// argon2 PHC string for development credentials; `None` for users who only use OAuth or email links.
    pub password_hash: Option<String>,
    /// Set when an operator disabled the user: no sign-in, existing sign-in sessions revoked.
    pub disabled_at: Option<DateTimeUtc>,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
}

/// Relations of a user.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Provider accounts linked to the user.
    #[sea_orm(has_many = "super::account::Entity")]
    Account,
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
