//! `user_roles`: what a user may change beyond their own studio (`editor`, `accountant`).

use sea_orm::entity::prelude::*;

/// A role granted to a user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_roles")]
pub struct Model {
    /// The user.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// The role's name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub role: String,
    /// When it was granted.
    pub granted_at: DateTimeUtc,
}

/// Relations of a role grant (none navigated).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
